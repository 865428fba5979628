// Shared<T>, SharedVector<T> and InternTable<T>: copies share one value, writes copy on write
// and never show through another holder, the table hands out one copy per distinct value (also
// from many threads at once) and sweep() forgets copies nobody holds. Labels, built on them,
// still behaves as a value.
#include "model/shared_value.h"

#include <gtest/gtest.h>

#include <string>
#include <thread>
#include <vector>

#include "model/objects.h"

namespace ambient_guard {
namespace {

using Strings = std::vector<std::string>;

TEST(Shared, CopiesShareAndWritesCopyOnWrite) {
  Shared<Strings> a(Strings{"x", "y"});
  Shared<Strings> b = a;
  EXPECT_TRUE(a.same(b));
  b.mutate().push_back("z");
  EXPECT_FALSE(a.same(b));
  EXPECT_EQ(*a.get(), (Strings{"x", "y"}));
  EXPECT_EQ(*b.get(), (Strings{"x", "y", "z"}));
  // The only holder writes in place.
  const Strings* before = b.get();
  b.mutate().push_back("w");
  EXPECT_EQ(b.get(), before);
}

TEST(Shared, EmptyHandleCreatesOnWrite) {
  Shared<Strings> a;
  EXPECT_TRUE(a.null());
  EXPECT_EQ(a.get(), nullptr);
  a.mutate().push_back("x");
  ASSERT_NE(a.get(), nullptr);
  EXPECT_EQ(*a.get(), Strings{"x"});
  a.reset();
  EXPECT_TRUE(a.null());
}

TEST(SharedVector, ReadsLikeAVector) {
  SharedVector<std::string> v;
  EXPECT_TRUE(v.empty());
  EXPECT_EQ(v.begin(), v.end());
  v.push_back("a");
  v.emplace_back("b");
  ASSERT_EQ(v.size(), 2u);
  EXPECT_EQ(v[0], "a");
  EXPECT_EQ(v.back(), "b");
  const std::vector<std::string>& as_vector = v;
  EXPECT_EQ(as_vector, (Strings{"a", "b"}));
  Strings seen(v.begin(), v.end());
  EXPECT_EQ(seen, (Strings{"a", "b"}));
  v = Strings{};
  EXPECT_TRUE(v.empty());
  EXPECT_TRUE(v.handle().null());
}

TEST(SharedVector, CopyIsIndependentValue) {
  SharedVector<std::string> a = Strings{"mesh"};
  SharedVector<std::string> b = a;
  EXPECT_TRUE(a.handle().same(b.handle()));
  b.push_back("ingress");
  EXPECT_EQ(a, Strings{"mesh"});
  EXPECT_EQ(b, (Strings{"mesh", "ingress"}));
  b.mutate().clear();
  EXPECT_EQ(a.size(), 1u);
}

TEST(SharedVector, ShrinkDropsEmptyBlockAndSpareCapacity) {
  SharedVector<std::string> v;
  v.mutate();  // a block with nothing in it, as a decoder that collects into mutate() leaves
  EXPECT_FALSE(v.handle().null());
  v.shrink();
  EXPECT_TRUE(v.handle().null());
  v.mutate().reserve(64);
  v.push_back("x");
  v.shrink();
  EXPECT_EQ(v.handle().get()->capacity(), 1u);
  EXPECT_EQ(v, Strings{"x"});
}

TEST(InternTable, EqualValuesShareOneCopy) {
  InternTable<Strings> table;
  Shared<Strings> a(Strings{"app", "v1"});
  Shared<Strings> b(Strings{"app", "v1"});
  Shared<Strings> c(Strings{"app", "v2"});
  Shared<Strings> none;
  EXPECT_FALSE(a.same(b));
  table.intern(a);
  table.intern(b);
  table.intern(c);
  table.intern(none);
  EXPECT_TRUE(a.same(b));
  EXPECT_FALSE(a.same(c));
  EXPECT_TRUE(none.null());
  EXPECT_EQ(*b.get(), (Strings{"app", "v1"}));
  EXPECT_EQ(table.size(), 2u);
  // A holder that writes gets its own copy; the table's copy and the other holder keep theirs.
  b.mutate().push_back("extra");
  EXPECT_EQ(*a.get(), (Strings{"app", "v1"}));
  Shared<Strings> d(Strings{"app", "v1"});
  table.intern(d);
  EXPECT_TRUE(d.same(a));
}

TEST(InternTable, SweepForgetsCopiesNobodyHolds) {
  InternTable<Strings> table;
  Shared<Strings> kept(Strings{"kept"});
  {
    Shared<Strings> gone(Strings{"gone"});
    table.intern(kept);
    table.intern(gone);
    EXPECT_EQ(table.sweep(), 2u);
  }
  EXPECT_EQ(table.sweep(), 1u);
  EXPECT_EQ(*kept.get(), Strings{"kept"});
  Shared<Strings> again(Strings{"kept"});
  table.intern(again);
  EXPECT_TRUE(again.same(kept));
}

TEST(InternTable, ManyThreadsGetTheSameCopy) {
  InternTable<Strings> table;
  constexpr int kThreads = 4;
  constexpr int kRounds = 2000;
  std::vector<std::vector<Shared<Strings>>> held(kThreads);
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < kRounds; ++i) {
        Shared<Strings> s(Strings{"value-" + std::to_string(i % 10)});
        table.intern(s);
        if (i % 3 == 0) {
          held[t].push_back(s);  // the others are dropped at once, on this thread
        }
        if (i % 500 == 0) {
          table.sweep();
        }
      }
    });
  }
  for (auto& th : threads) {
    th.join();
  }
  table.sweep();
  EXPECT_EQ(table.size(), 10u);
  for (const auto& list : held) {
    for (const auto& s : list) {
      Shared<Strings> probe(*s.get());
      table.intern(probe);
      EXPECT_TRUE(probe.same(s)) << (*s.get())[0];
    }
  }
}

TEST(Labels, CopiesAreIndependentValues) {
  Labels a({{"app", "reviews"}, {"version", "v1"}});
  Labels b = a;
  EXPECT_TRUE(a.handle().same(b.handle()));
  b.set("version", "v2");
  b.erase("app");
  EXPECT_EQ(*a.get("version"), "v1");
  EXPECT_EQ(*a.get("app"), "reviews");
  EXPECT_EQ(b.str(), "version=v2");
  EXPECT_NE(a, b);
  b.erase("version");
  EXPECT_TRUE(b.empty());
  EXPECT_TRUE(b.handle().null());
  EXPECT_EQ(b, Labels());
}

TEST(Labels, SortedAndLastDuplicateWins) {
  Labels l({{"zone", "a"}, {"app", "x"}, {"zone", "b"}});
  ASSERT_EQ(l.size(), 2u);
  EXPECT_EQ(l.items()[0].first, "app");
  EXPECT_EQ(*l.get("zone"), "b");
  Labels same = l;
  same.set("zone", "b");  // no change keeps sharing
  EXPECT_TRUE(same.handle().same(l.handle()));
  EXPECT_TRUE(l.contains(Labels(Labels::Items{{"zone", "b"}})));
  EXPECT_FALSE(l.contains(Labels(Labels::Items{{"zone", "a"}})));
}

}  // namespace
}  // namespace ambient_guard
