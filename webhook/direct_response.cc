#include "webhook/direct_response.h"

#include <charconv>

namespace ambient_guard {
namespace {

std::string_view statusLine(int status) {
  switch (status) {
    case 200:
      return "HTTP/1.1 200 OK\r\n";
    case 400:
      return "HTTP/1.1 400 Bad Request\r\n";
    default:
      return "HTTP/1.1 500 Internal Server Error\r\n";
  }
}

}  // namespace

DirectRequest directRequest(const RequestHead& head) {
  DirectRequest none;
  if (head.method != "POST") {
    return none;
  }
  // cpp-httplib percent-decodes the path (and header values) and refuses a target with two '?'.
  const std::string_view target = head.target;
  const size_t query = target.find('?');
  if (target.find('%') != std::string_view::npos ||
      (query != std::string_view::npos &&
       target.find('?', query + 1) != std::string_view::npos)) {
    return none;
  }
  const std::string_view path = target.substr(0, query);
  DirectRequest r;
  if (path == "/validate") {
    r.route = DirectRoute::kValidate;
  } else if (path == "/mutate") {
    r.route = DirectRoute::kMutate;
  } else {
    return none;
  }
  bool have_type = false;
  bool have_connection = false;
  bool have_accept = false;
  std::string_view connection;
  std::string_view rest = head.normalized;
  rest.remove_prefix(std::min(rest.size(), rest.find("\r\n") + 2));  // the request line
  while (!rest.empty()) {
    const size_t eol = std::min(rest.find("\r\n"), rest.size());
    const std::string_view line = rest.substr(0, eol);
    rest.remove_prefix(std::min(rest.size(), eol + 2));
    const size_t colon = line.find(':');
    if (colon == std::string_view::npos) {
      return none;  // parseRequestHead refuses these; never guess
    }
    const std::string_view name = line.substr(0, colon);
    const std::string_view value = trimOws(line.substr(colon + 1));
    // cpp-httplib drops a header without a value and decodes '%' in values.
    if (value.empty() || value.find('%') != std::string_view::npos) {
      return none;
    }
    if (equalsIgnoreCase(name, "content-type")) {
      if (!have_type) {
        r.content_type = value;
        have_type = true;
      }
    } else if (equalsIgnoreCase(name, "connection")) {
      if (!have_connection) {
        connection = value;
        have_connection = true;
      }
    } else if (equalsIgnoreCase(name, "accept-encoding")) {
      if (!have_accept) {
        r.accepts_compression = value.find("br") != std::string_view::npos ||
                                value.find("gzip") != std::string_view::npos;
        have_accept = true;
      }
    } else if (equalsIgnoreCase(name, "range") || equalsIgnoreCase(name, "content-encoding")) {
      return none;  // partial content, and decoding: cpp-httplib's
    }
  }
  r.connection_close = connection == "close";
  r.close_after = head.http10 && connection != "Keep-Alive";
  return r;
}

void writeDirectResponse(std::string& out, int status, std::string_view content_type,
                         std::string_view body, bool close, std::string_view keep_alive) {
  char length[24];
  const auto [end, ec] = std::to_chars(length, length + sizeof(length), body.size());
  out.clear();
  out.reserve(160 + content_type.size() + keep_alive.size() + body.size());
  out.append(statusLine(status));
  if (close) {
    out.append("Connection: close\r\n");
  }
  out.append("Content-Length: ").append(length, end).append("\r\nContent-Type: ");
  out.append(content_type).append("\r\n");
  if (!close) {
    out.append("Keep-Alive: ").append(keep_alive).append("\r\n");
  }
  out.append("\r\n").append(body);
}

}  // namespace ambient_guard
