#include "model/json_reader.h"

#include <charconv>
#include <cmath>
#include <cstdlib>
#include <cstring>

namespace ambient_guard {
namespace {

using nlohmann::json;

class Reader {
 public:
  Reader(std::string_view text, const JsonReadOptions& opt)
      : begin_(text.data()), p_(text.data()), end_(text.data() + text.size()), opt_(opt) {}

  Result<json> read() {
    json out;
    skipSpace();
    if (!value(&out, 0, false)) {
      return Error{error_};
    }
    skipSpace();
    if (p_ != end_) {
      fail("unexpected text after the value");
      return Error{error_};
    }
    return out;
  }

 private:
  bool fail(const char* what) {
    if (error_.empty()) {
      error_ = "byte " + std::to_string(p_ - begin_) + ": " + what;
    }
    return false;
  }

  void skipSpace() {
    while (p_ != end_ && (*p_ == ' ' || *p_ == '\n' || *p_ == '\r' || *p_ == '\t')) {
      ++p_;
    }
  }

  // Parses one value into *out (or only checks it when out is null). `is_metadata`: this value
  // belongs to a "metadata" member.
  bool value(json* out, int depth, bool is_metadata) {
    if (p_ == end_) {
      return fail("unexpected end of input");
    }
    switch (*p_) {
      case '{':
        return object(out, depth + 1, is_metadata);
      case '[':
        return array(out, depth + 1);
      case '"': {
        std::string s;
        if (!string(out != nullptr ? &s : nullptr)) {
          return false;
        }
        if (out != nullptr) {
          *out = std::move(s);
        }
        return true;
      }
      case 't':
        return literal("true", out, json(true));
      case 'f':
        return literal("false", out, json(false));
      case 'n':
        return literal("null", out, json(nullptr));
      default:
        return number(out);
    }
  }

  bool literal(const char* word, json* out, json v) {
    const size_t n = std::strlen(word);
    if (static_cast<size_t>(end_ - p_) < n || std::memcmp(p_, word, n) != 0) {
      return fail("invalid literal");
    }
    p_ += n;
    if (out != nullptr) {
      *out = std::move(v);
    }
    return true;
  }

  bool object(json* out, int depth, bool is_metadata) {
    if (depth > opt_.max_depth) {
      return fail("nesting too deep");
    }
    ++p_;  // '{'
    json::object_t* obj = nullptr;
    if (out != nullptr) {
      *out = json::object();
      obj = out->get_ptr<json::object_t*>();
    }
    skipSpace();
    if (p_ != end_ && *p_ == '}') {
      ++p_;
      return true;
    }
    std::string key;
    for (;;) {
      skipSpace();
      if (p_ == end_ || *p_ != '"') {
        return fail("expected a string key");
      }
      key.clear();
      if (!string(&key)) {
        return false;
      }
      skipSpace();
      if (p_ == end_ || *p_ != ':') {
        return fail("expected ':'");
      }
      ++p_;
      skipSpace();
      const bool drop = is_metadata && opt_.drop_managed_fields && key == "managedFields";
      if (obj == nullptr || drop) {
        if (!value(nullptr, depth, false)) {
          return false;
        }
      } else {
        json v;
        if (!value(&v, depth, key == "metadata")) {
          return false;
        }
        // Like nlohmann: a repeated key keeps the last value.
        (*obj)[std::move(key)] = std::move(v);
        key = std::string();
      }
      skipSpace();
      if (p_ == end_) {
        return fail("unexpected end of input in an object");
      }
      if (*p_ == ',') {
        ++p_;
        continue;
      }
      if (*p_ == '}') {
        ++p_;
        return true;
      }
      return fail("expected ',' or '}'");
    }
  }

  bool array(json* out, int depth) {
    if (depth > opt_.max_depth) {
      return fail("nesting too deep");
    }
    ++p_;  // '['
    json::array_t* arr = nullptr;
    if (out != nullptr) {
      *out = json::array();
      arr = out->get_ptr<json::array_t*>();
    }
    skipSpace();
    if (p_ != end_ && *p_ == ']') {
      ++p_;
      return true;
    }
    for (;;) {
      skipSpace();
      if (arr != nullptr) {
        arr->emplace_back();
        if (!value(&arr->back(), depth, false)) {
          return false;
        }
      } else if (!value(nullptr, depth, false)) {
        return false;
      }
      skipSpace();
      if (p_ == end_) {
        return fail("unexpected end of input in an array");
      }
      if (*p_ == ',') {
        ++p_;
        continue;
      }
      if (*p_ == ']') {
        ++p_;
        return true;
      }
      return fail("expected ',' or ']'");
    }
  }

  static int hexDigit(char c) {
    if (c >= '0' && c <= '9') {
      return c - '0';
    }
    if (c >= 'a' && c <= 'f') {
      return c - 'a' + 10;
    }
    if (c >= 'A' && c <= 'F') {
      return c - 'A' + 10;
    }
    return -1;
  }

  bool hex4(uint32_t& out) {
    if (end_ - p_ < 4) {
      return fail("truncated \\u escape");
    }
    out = 0;
    for (int i = 0; i < 4; ++i) {
      const int d = hexDigit(p_[i]);
      if (d < 0) {
        return fail("invalid \\u escape");
      }
      out = (out << 4) | static_cast<uint32_t>(d);
    }
    p_ += 4;
    return true;
  }

  static void appendUtf8(std::string& s, uint32_t cp) {
    if (cp < 0x80) {
      s += static_cast<char>(cp);
    } else if (cp < 0x800) {
      s += static_cast<char>(0xC0 | (cp >> 6));
      s += static_cast<char>(0x80 | (cp & 0x3F));
    } else if (cp < 0x10000) {
      s += static_cast<char>(0xE0 | (cp >> 12));
      s += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
      s += static_cast<char>(0x80 | (cp & 0x3F));
    } else {
      s += static_cast<char>(0xF0 | (cp >> 18));
      s += static_cast<char>(0x80 | ((cp >> 12) & 0x3F));
      s += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
      s += static_cast<char>(0x80 | (cp & 0x3F));
    }
  }

  // Parses a string starting at '"' into *out (appending), or only checks it when out is null.
  bool string(std::string* out) {
    ++p_;  // '"'
    for (;;) {
      // Copy the run of plain characters in one go.
      const char* run = p_;
      while (p_ != end_ && *p_ != '"' && *p_ != '\\' && static_cast<unsigned char>(*p_) >= 0x20) {
        ++p_;
      }
      if (out != nullptr && p_ != run) {
        out->append(run, static_cast<size_t>(p_ - run));
      }
      if (p_ == end_) {
        return fail("unterminated string");
      }
      const char c = *p_;
      if (c == '"') {
        ++p_;
        return true;
      }
      if (c != '\\') {
        return fail("control character in a string");
      }
      ++p_;
      if (p_ == end_) {
        return fail("unterminated string");
      }
      const char e = *p_++;
      char plain = 0;
      switch (e) {
        case '"':
          plain = '"';
          break;
        case '\\':
          plain = '\\';
          break;
        case '/':
          plain = '/';
          break;
        case 'b':
          plain = '\b';
          break;
        case 'f':
          plain = '\f';
          break;
        case 'n':
          plain = '\n';
          break;
        case 'r':
          plain = '\r';
          break;
        case 't':
          plain = '\t';
          break;
        case 'u': {
          uint32_t cp = 0;
          if (!hex4(cp)) {
            return false;
          }
          if (cp >= 0xDC00 && cp <= 0xDFFF) {
            return fail("lone low surrogate");
          }
          if (cp >= 0xD800 && cp <= 0xDBFF) {
            uint32_t low = 0;
            if (end_ - p_ < 2 || p_[0] != '\\' || p_[1] != 'u') {
              return fail("high surrogate without a low one");
            }
            p_ += 2;
            if (!hex4(low)) {
              return false;
            }
            if (low < 0xDC00 || low > 0xDFFF) {
              return fail("high surrogate without a low one");
            }
            cp = 0x10000 + ((cp - 0xD800) << 10) + (low - 0xDC00);
          }
          if (out != nullptr) {
            appendUtf8(*out, cp);
          }
          continue;
        }
        default:
          return fail("invalid escape");
      }
      if (out != nullptr) {
        *out += plain;
      }
    }
  }

  bool number(json* out) {
    const char* start = p_;
    bool is_float = false;
    if (p_ != end_ && *p_ == '-') {
      ++p_;
    }
    if (p_ == end_ || *p_ < '0' || *p_ > '9') {
      return fail("invalid value");
    }
    if (*p_ == '0') {
      ++p_;
    } else {
      while (p_ != end_ && *p_ >= '0' && *p_ <= '9') {
        ++p_;
      }
    }
    if (p_ != end_ && *p_ == '.') {
      is_float = true;
      ++p_;
      if (p_ == end_ || *p_ < '0' || *p_ > '9') {
        return fail("invalid number");
      }
      while (p_ != end_ && *p_ >= '0' && *p_ <= '9') {
        ++p_;
      }
    }
    if (p_ != end_ && (*p_ == 'e' || *p_ == 'E')) {
      is_float = true;
      ++p_;
      if (p_ != end_ && (*p_ == '+' || *p_ == '-')) {
        ++p_;
      }
      if (p_ == end_ || *p_ < '0' || *p_ > '9') {
        return fail("invalid number");
      }
      while (p_ != end_ && *p_ >= '0' && *p_ <= '9') {
        ++p_;
      }
    }
    if (out == nullptr) {
      return true;
    }
    if (!is_float) {
      if (*start == '-') {
        int64_t v = 0;
        auto [ptr, ec] = std::from_chars(start, p_, v);
        if (ec == std::errc() && ptr == p_) {
          *out = v;
          return true;
        }
      } else {
        uint64_t v = 0;
        auto [ptr, ec] = std::from_chars(start, p_, v);
        if (ec == std::errc() && ptr == p_) {
          // nlohmann keeps values that fit int64 as signed integers.
          if (v <= static_cast<uint64_t>(INT64_MAX)) {
            *out = static_cast<int64_t>(v);
          } else {
            *out = v;
          }
          return true;
        }
      }
    }
    double d = 0;
    auto [ptr, ec] = std::from_chars(start, p_, d);
    if (ec == std::errc::result_out_of_range) {
      // Underflow rounds to zero or a denormal, as nlohmann (strtod) does; overflow is an error.
      d = std::strtod(std::string(start, p_).c_str(), nullptr);
      ec = std::isfinite(d) ? std::errc() : ec;
    }
    if (ptr != p_ || ec != std::errc()) {
      return fail("number out of range");
    }
    *out = d;
    return true;
  }

  const char* begin_;
  const char* p_;
  const char* end_;
  const JsonReadOptions& opt_;
  std::string error_;
};

}  // namespace

Result<json> readJson(std::string_view text, const JsonReadOptions& options) {
  return Reader(text, options).read();
}

}  // namespace ambient_guard
