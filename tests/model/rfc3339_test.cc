// parseRfc3339 reads metadata.creationTimestamp as Go's time.RFC3339 does (metav1.Time): the
// oldest-object rules order by it.
#include <gtest/gtest.h>

#include "model/decode.h"

namespace ambient_guard {
namespace {

TEST(Rfc3339, ReadsKubernetesTimestamps) {
  EXPECT_EQ(parseRfc3339("1970-01-01T00:00:00Z"), 0);
  EXPECT_EQ(parseRfc3339("2024-05-01T10:00:00Z"), 1714557600);
  EXPECT_EQ(parseRfc3339("2000-02-29T23:59:59Z"), 951868799);
  EXPECT_EQ(parseRfc3339("2023-01-01T00:00:00Z"), 1672531200);
  EXPECT_EQ(parseRfc3339("1969-12-31T23:59:59Z"), -1);
  EXPECT_EQ(parseRfc3339("2024-05-01t10:00:00z"), 1714557600);
}

TEST(Rfc3339, AgreesWithTimegmOverManyDates) {
  for (int64_t t = -86400LL * 365 * 3; t < 86400LL * 365 * 80; t += 86400 * 7 + 3671) {
    const time_t tt = static_cast<time_t>(t);
    std::tm tm{};
    gmtime_r(&tt, &tm);
    char buf[32];
    std::strftime(buf, sizeof(buf), "%Y-%m-%dT%H:%M:%SZ", &tm);
    ASSERT_EQ(parseRfc3339(buf), t) << buf;
  }
}

TEST(Rfc3339, AppliesOffsetsAndIgnoresFractions) {
  EXPECT_EQ(parseRfc3339("2024-05-01T12:00:00+02:00"), 1714557600);
  EXPECT_EQ(parseRfc3339("2024-05-01T05:30:00-04:30"), 1714557600);
  EXPECT_EQ(parseRfc3339("2024-05-01T10:00:00.123456789Z"), 1714557600);
}

TEST(Rfc3339, RefusesWhatGoRefuses) {
  for (const char* bad :
       {"", "2024-05-01", "2024-05-01T10:00:00", "2024-5-1T10:00:00Z", " 2024-05-01T10:00:00Z",
        "2024-05-01T10:00:00Zjunk", "2024-13-01T10:00:00Z", "2023-02-29T10:00:00Z",
        "2024-04-31T10:00:00Z", "2024-05-01T24:00:00Z", "2024-05-01T10:60:00Z",
        "2024-05-01T10:00:60Z", "2024-05-01T10:00:00.Z", "2024-05-01T10:00:00+0200",
        "+024-05-01T10:00:00Z", "2024-05-01 10:00:00Z"}) {
    EXPECT_EQ(parseRfc3339(bad), std::nullopt) << bad;
  }
}

}  // namespace
}  // namespace ambient_guard
