// A small blocking HTTP client over one libcurl easy handle, for the registry client.
#pragma once

#include <cstddef>
#include <functional>
#include <limits>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "util/error.h"

namespace berth::image {

struct HttpRequest {
  std::string method = "GET";  // GET, HEAD, POST, PUT, PATCH, DELETE
  std::string url;
  std::vector<std::string> headers;  // "Name: value"
  std::string body;                  // sent when body_file is empty
  std::string body_file;             // a file streamed as the body
  /// Follow redirects (GET only). Authorization headers are dropped when a redirect leaves
  /// the origin (scheme, host and port) of `url`.
  bool follow_redirects = false;
  /// A response body kept in memory larger than this is an error.
  std::size_t max_body_size = std::numeric_limits<std::size_t>::max();
};

struct HttpResponse {
  long status = 0;
  std::vector<std::pair<std::string, std::string>> headers;  // as received, in order
  std::string body;                                          // empty when a sink took it
  std::string url;  // the URL that answered (after redirects)

  /// The first value of header `name` (case-insensitive), nullopt when absent.
  std::optional<std::string> header(std::string_view name) const;
  /// Every value of header `name` (case-insensitive), in order.
  std::vector<std::string> header_values(std::string_view name) const;
};

/// Where a successful (2xx) response body goes instead of memory. `on_start` runs once the
/// headers of such a response are in, before its first byte reaches `write`.
struct BodySink {
  std::function<void(const HttpResponse& head)> on_start;
  std::function<void(const void* data, std::size_t size)> write;
};

/// The request never got an HTTP answer: no connection, a broken or stalled transfer, a TLS
/// failure. The message is curl's, e.g. "Failed to connect to 127.0.0.1 port 1: Couldn't
/// connect to server".
class HttpTransportError : public Error {
 public:
  HttpTransportError(int curl_code, const std::string& message)
      : Error(message), m_curl_code(curl_code) {}
  int curl_code() const { return m_curl_code; }
  /// True when trying again may succeed (connection refused or broken, timeouts, DNS); false
  /// for TLS verification failures, malformed URLs and the like.
  bool transient() const;

 private:
  int m_curl_code;
};

class HttpClient {
 public:
  /// Throws berth::Error when libcurl cannot be loaded.
  HttpClient();
  ~HttpClient();
  HttpClient(const HttpClient&) = delete;
  HttpClient& operator=(const HttpClient&) = delete;

  /// Performs `request` and returns whatever status the server answered. The body of a 2xx
  /// response goes to `sink` when it has a writer, other bodies to HttpResponse::body.
  /// Throws HttpTransportError when there is no answer, and rethrows what a sink throws.
  HttpResponse perform(const HttpRequest& request, const BodySink& sink = {});

  /// Percent-encodes `text` for a URL query.
  std::string escape(std::string_view text) const;

 private:
  HttpResponse perform_once(const HttpRequest& request, const std::string& url,
                            const std::vector<std::string>& headers, const BodySink& sink,
                            std::string& redirect);
  void* m_handle = nullptr;  // CURL*
};

/// `reference` resolved against `base` like a browser would ("/v2/x" on the base's origin,
/// absolute URLs unchanged). Throws berth::Error naming both when either is malformed.
std::string resolve_url(const std::string& base, const std::string& reference);

/// "scheme://host:port" of a URL, lowercase, with the scheme's default port filled in; empty
/// when the URL cannot be parsed.
std::string url_origin(const std::string& url);

}  // namespace berth::image
