#include "webhook/http_framing.h"

#include <algorithm>
#include <cctype>
#include <optional>
#include <vector>

namespace ambient_guard {
namespace {

bool isTokenChar(unsigned char c) {
  // RFC 9110 §5.6.2 tchar.
  return std::isalnum(c) ||
         std::string_view("!#$%&'*+-.^_`|~").find(static_cast<char>(c)) != std::string_view::npos;
}

std::string lower(std::string_view s) {
  std::string out(s);
  std::transform(out.begin(), out.end(), out.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return out;
}

RequestHead refuse(int status, std::string reason) {
  RequestHead head;
  head.refuse_status = status;
  head.reason = std::move(reason);
  return head;
}

// Returns the value of a hex digit, or -1.
int hexValue(char c) {
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

}  // namespace

std::string_view trimOws(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) {
    s.remove_prefix(1);
  }
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) {
    s.remove_suffix(1);
  }
  return s;
}

bool equalsIgnoreCase(std::string_view s, std::string_view lower) {
  if (s.size() != lower.size()) {
    return false;
  }
  for (size_t i = 0; i < s.size(); ++i) {
    const char c = s[i];
    if ((c >= 'A' && c <= 'Z' ? static_cast<char>(c - 'A' + 'a') : c) != lower[i]) {
      return false;
    }
  }
  return true;
}

int HeadScanner::scan(std::string_view buffer) {
  while (scanned_ < buffer.size()) {
    const size_t nl = buffer.find('\n', scanned_);
    const size_t end = nl == std::string_view::npos ? buffer.size() : nl + 1;
    const size_t line_length = end - line_start_;
    if (end > limits_.max_head_bytes) {
      return lines_ == 0 ? 414 : 431;
    }
    if (lines_ == 0 ? line_length > limits_.max_request_line + 2
                    : line_length > limits_.max_header_line + 2) {
      return lines_ == 0 ? 414 : 431;
    }
    scanned_ = end;
    if (nl == std::string_view::npos) {
      return 0;
    }
    const bool blank = line_length == 2 && buffer[line_start_] == '\r';
    line_start_ = end;
    ++lines_;
    if (blank && lines_ > 1) {
      head_size_ = end;
      return 200;
    }
    if (lines_ > limits_.max_headers + 1) {
      return 431;
    }
  }
  return 0;
}

RequestHead parseRequestHead(std::string_view text, const HttpLimits& limits) {
  // Lines end in CRLF; a bare LF or CR anywhere is refused rather than guessed at (the way
  // request smuggling starts).
  // Checked whole first, so that which refusal a head gets does not depend on where it breaks.
  size_t line_count = 0;
  bool last_empty = false;
  size_t pos = 0;
  while (pos < text.size()) {
    const size_t nl = text.find('\n', pos);
    if (nl == std::string_view::npos || nl == pos || text[nl - 1] != '\r') {
      return refuse(400, "request lines must end in CRLF");
    }
    std::string_view line = text.substr(pos, nl - 1 - pos);
    if (line.find('\r') != std::string_view::npos || line.find('\0') != std::string_view::npos) {
      return refuse(400, "control character in the request head");
    }
    last_empty = line.empty();
    ++line_count;
    pos = nl + 1;
  }
  if (line_count < 2 || !last_empty) {
    return refuse(400, "incomplete request head");
  }
  // Returns the line at `at` without its CRLF and moves `at` past it (lines were checked above).
  const auto nextLine = [text](size_t& at) {
    const size_t nl = text.find('\n', at);
    const std::string_view line = text.substr(at, nl - 1 - at);
    at = nl + 1;
    return line;
  };
  size_t at = 0;

  RequestHead head;
  const std::string_view request_line = nextLine(at);
  const size_t sp1 = request_line.find(' ');
  const size_t sp2 = sp1 == std::string_view::npos ? sp1 : request_line.find(' ', sp1 + 1);
  if (sp2 == std::string_view::npos || request_line.find(' ', sp2 + 1) != std::string_view::npos) {
    return refuse(400, "malformed request line");
  }
  head.method = std::string(request_line.substr(0, sp1));
  head.target = std::string(request_line.substr(sp1 + 1, sp2 - sp1 - 1));
  const std::string_view version = request_line.substr(sp2 + 1);
  if (head.method.empty() || !std::all_of(head.method.begin(), head.method.end(), [](char c) {
        return isTokenChar(static_cast<unsigned char>(c));
      })) {
    return refuse(400, "malformed method");
  }
  if (head.target.empty() || head.target.size() > limits.max_request_line) {
    return refuse(head.target.empty() ? 400 : 414, "malformed or overlong request target");
  }
  if (version != "HTTP/1.1" && version != "HTTP/1.0") {
    return refuse(version.starts_with("HTTP/") ? 505 : 400, "only HTTP/1.1 and HTTP/1.0");
  }
  head.http10 = version == "HTTP/1.0";

  bool has_length = false;
  std::vector<std::string> codings;
  head.normalized.reserve(text.size());
  head.normalized.append(request_line).append("\r\n");
  for (size_t i = 1; i + 1 < line_count; ++i) {
    const std::string_view line = nextLine(at);
    if (line.front() == ' ' || line.front() == '\t') {
      return refuse(400, "obsolete header line folding");
    }
    const size_t colon = line.find(':');
    if (colon == std::string_view::npos || colon == 0) {
      return refuse(400, "malformed header line");
    }
    const std::string_view name_text = line.substr(0, colon);
    if (!std::all_of(name_text.begin(), name_text.end(),
                     [](char c) { return isTokenChar(static_cast<unsigned char>(c)); })) {
      return refuse(400, "malformed header name");
    }
    const std::string_view value = trimOws(line.substr(colon + 1));
    if (equalsIgnoreCase(name_text, "content-length")) {
      if (value.empty() ||
          !std::all_of(value.begin(), value.end(), [](char c) { return c >= '0' && c <= '9'; })) {
        return refuse(400, "malformed Content-Length");
      }
      // More digits than a body within the limit can have: too large, whatever the value.
      const std::string_view digits =
          value.substr(std::min(value.find_first_not_of('0'), value.size()));
      uint64_t n = 0;
      if (digits.size() > 18) {
        n = UINT64_MAX;
      } else {
        for (char c : digits) {
          n = n * 10 + static_cast<uint64_t>(c - '0');
        }
      }
      if (has_length && n != head.content_length) {
        return refuse(400, "conflicting Content-Length headers");
      }
      has_length = true;
      head.content_length = n;
      continue;
    }
    if (equalsIgnoreCase(name_text, "transfer-encoding")) {
      size_t start = 0;
      while (start <= value.size()) {
        const size_t comma = std::min(value.find(',', start), value.size());
        const std::string_view coding = trimOws(value.substr(start, comma - start));
        if (!coding.empty()) {
          codings.push_back(lower(coding));
        }
        start = comma + 1;
      }
      continue;
    }
    if (equalsIgnoreCase(name_text, "expect")) {
      head.expect_continue = lower(value) == "100-continue";
      continue;
    }
    if (equalsIgnoreCase(name_text, "content-encoding")) {
      const std::string coding = lower(value);
      if (!coding.empty() && coding != "identity") {
        return refuse(415, "Content-Encoding " + std::string(value) +
                               " is not accepted; send the body uncompressed");
      }
    }
    head.normalized.append(line).append("\r\n");
  }
  if (!codings.empty()) {
    if (codings.size() != 1 || codings.front() != "chunked") {
      return refuse(501, "only the chunked transfer coding is supported");
    }
    if (has_length) {
      return refuse(400, "both Transfer-Encoding and Content-Length");
    }
    head.chunked = true;
  }
  const bool needs_body = head.method == "POST" || head.method == "PUT" || head.method == "PATCH";
  if (needs_body && !has_length && !head.chunked) {
    return refuse(411, "a " + head.method + " needs Content-Length or chunked framing");
  }
  if (head.content_length > limits.max_body_bytes) {
    return refuse(413,
                  "request body larger than " + std::to_string(limits.max_body_bytes) + " bytes");
  }
  return head;
}

ChunkedDecoder::State ChunkedDecoder::feed(std::string_view in, std::string& body,
                                           size_t& consumed) {
  // Size and trailer lines are short; a line past this is hostile.
  constexpr size_t kMaxLine = 4096;
  constexpr size_t kMaxTrailerBytes = 16384;
  size_t i = 0;
  // Appends to line_ up to its '\n'. Returns nullopt once the line is complete, kMore when the
  // input ends first, kMalformed when the line grows past kMaxLine.
  auto readLine = [&]() -> std::optional<State> {
    while (i < in.size()) {
      const char c = in[i++];
      if (c == '\n') {
        return std::nullopt;
      }
      line_.push_back(c);
      if (line_.size() > kMaxLine) {
        return State::kMalformed;
      }
    }
    return State::kMore;
  };
  // Every exit reports how much of `in` was used.
  const State state = [&]() -> State {
    while (part_ != Part::kDone) {
      switch (part_) {
        case Part::kSize: {
          if (const std::optional<State> partial = readLine()) {
            return *partial;
          }
          if (line_.empty() || line_.back() != '\r') {
            return State::kMalformed;
          }
          line_.pop_back();
          const std::string_view size_text =
              std::string_view(line_).substr(0, std::min(line_.find(';'), line_.size()));
          const std::string_view digits = trimOws(size_text);
          if (digits.empty()) {
            return State::kMalformed;
          }
          uint64_t size = 0;
          for (char c : digits) {
            const int v = hexValue(c);
            if (v < 0) {
              return State::kMalformed;
            }
            if (size > (max_body_ >> 4)) {
              return State::kTooLarge;
            }
            size = size * 16 + static_cast<uint64_t>(v);
          }
          line_.clear();
          if (size > max_body_ - body.size()) {
            return State::kTooLarge;
          }
          remaining_ = size;
          part_ = size == 0 ? Part::kTrailer : Part::kData;
          break;
        }
        case Part::kData: {
          const size_t n = static_cast<size_t>(std::min<uint64_t>(remaining_, in.size() - i));
          body.append(in.data() + i, n);
          i += n;
          remaining_ -= n;
          if (remaining_ > 0) {
            return State::kMore;
          }
          part_ = Part::kDataEnd;
          break;
        }
        case Part::kDataEnd: {
          if (const std::optional<State> partial = readLine()) {
            return *partial;
          }
          if (line_ != "\r") {
            return State::kMalformed;
          }
          line_.clear();
          part_ = Part::kSize;
          break;
        }
        case Part::kTrailer: {
          if (const std::optional<State> partial = readLine()) {
            return *partial;
          }
          trailer_bytes_ += line_.size() + 1;
          if (line_.empty() || line_.back() != '\r' || trailer_bytes_ > kMaxTrailerBytes) {
            return State::kMalformed;
          }
          const bool end = line_.size() == 1;
          line_.clear();
          if (end) {
            part_ = Part::kDone;
          }
          break;
        }
        case Part::kDone:
          break;
      }
    }
    return State::kDone;
  }();
  consumed = i;
  return state;
}

}  // namespace ambient_guard
