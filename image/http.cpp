#include "image/http.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <cstring>
#include <exception>
#include <memory>

#include <fmt/format.h>

#include "image/curl_api.h"

namespace berth::image {
namespace {

#ifdef BERTH_VERSION
constexpr const char* k_user_agent = "berth/" BERTH_VERSION;
#else
constexpr const char* k_user_agent = "berth";
#endif

constexpr int k_max_redirects = 10;

bool iequals(std::string_view a, std::string_view b) {
  return std::ranges::equal(a, b, [](char x, char y) {
    return std::tolower(static_cast<unsigned char>(x)) ==
           std::tolower(static_cast<unsigned char>(y));
  });
}

std::string_view trim(std::string_view text) {
  while (!text.empty() && (text.front() == ' ' || text.front() == '\t')) text.remove_prefix(1);
  while (!text.empty() && (text.back() == ' ' || text.back() == '\t' || text.back() == '\r' ||
                           text.back() == '\n')) {
    text.remove_suffix(1);
  }
  return text;
}

std::string lowercase(std::string text) {
  for (char& c : text) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return text;
}

template <typename Value>
void set_option(CURL* handle, CURLoption option, Value value) {
  const CURLcode code = curl().easy_setopt(handle, option, value);
  if (code != CURLE_OK) {
    throw Error(fmt::format("libcurl: cannot set option {}: {}", static_cast<int>(option),
                            curl().easy_strerror(code)));
  }
}

struct SlistDeleter {
  void operator()(curl_slist* list) const { curl().slist_free_all(list); }
};
using Slist = std::unique_ptr<curl_slist, SlistDeleter>;

struct UrlDeleter {
  void operator()(CURLU* url) const { curl().url_cleanup(url); }
};
using UrlHandle = std::unique_ptr<CURLU, UrlDeleter>;

struct CurlStringDeleter {
  void operator()(char* text) const { curl().free(text); }
};
using CurlString = std::unique_ptr<char, CurlStringDeleter>;

class FileDescriptor {
 public:
  explicit FileDescriptor(int fd) : m_fd(fd) {}
  ~FileDescriptor() {
    if (m_fd >= 0) ::close(m_fd);
  }
  FileDescriptor(const FileDescriptor&) = delete;
  FileDescriptor& operator=(const FileDescriptor&) = delete;
  int get() const { return m_fd; }

 private:
  int m_fd;
};

/// What the libcurl callbacks of one transfer share. Exceptions cannot cross libcurl's C
/// frames, so a callback stores what it caught and makes curl abort; perform rethrows it.
struct Transfer {
  CURL* handle = nullptr;
  HttpResponse* response = nullptr;
  const BodySink* sink = nullptr;
  bool streaming = false;  // the current response is a 2xx going to the sink
  std::size_t max_body = 0;
  bool too_large = false;
  std::exception_ptr failure;
  // The request body: from memory, or from `fd` when it is open.
  std::string_view body;
  std::size_t body_offset = 0;
  int fd = -1;
  std::string body_file;
};

std::size_t on_header(char* buffer, std::size_t size, std::size_t count, void* data) {
  auto& transfer = *static_cast<Transfer*>(data);
  const std::size_t length = size * count;
  const std::string_view raw(buffer, length);
  try {
    if (raw.starts_with("HTTP/")) {
      // A new response (after a 100 Continue): forget the headers of the previous one.
      transfer.response->headers.clear();
      transfer.streaming = false;
      return length;
    }
    const std::string_view line = trim(raw);
    if (line.empty()) {
      long status = 0;
      curl().easy_getinfo(transfer.handle, CURLINFO_RESPONSE_CODE, &status);
      transfer.response->status = status;
      if (status >= 200 && status < 300 && transfer.sink->write) {
        transfer.streaming = true;
        if (transfer.sink->on_start) transfer.sink->on_start(*transfer.response);
      }
      return length;
    }
    auto& headers = transfer.response->headers;
    if ((raw.front() == ' ' || raw.front() == '\t') && !headers.empty()) {
      headers.back().second += " " + std::string(line);  // obsolete line folding
      return length;
    }
    const auto colon = line.find(':');
    if (colon != std::string_view::npos) {
      headers.emplace_back(std::string(trim(line.substr(0, colon))),
                           std::string(trim(line.substr(colon + 1))));
    }
    return length;
  } catch (...) {
    transfer.failure = std::current_exception();
    return 0;
  }
}

std::size_t on_body(char* buffer, std::size_t size, std::size_t count, void* data) {
  auto& transfer = *static_cast<Transfer*>(data);
  const std::size_t length = size * count;
  try {
    if (transfer.streaming) {
      transfer.sink->write(buffer, length);
      return length;
    }
    std::string& body = transfer.response->body;
    if (length > transfer.max_body - body.size()) {
      transfer.too_large = true;
      return 0;
    }
    body.append(buffer, length);
    return length;
  } catch (...) {
    transfer.failure = std::current_exception();
    return 0;
  }
}

std::size_t on_read(char* buffer, std::size_t size, std::size_t count, void* data) {
  auto& transfer = *static_cast<Transfer*>(data);
  const std::size_t room = size * count;
  if (transfer.fd < 0) {
    const std::size_t n = std::min(room, transfer.body.size() - transfer.body_offset);
    std::memcpy(buffer, transfer.body.data() + transfer.body_offset, n);
    transfer.body_offset += n;
    return n;
  }
  for (;;) {
    const ssize_t n = ::read(transfer.fd, buffer, room);
    if (n >= 0) return static_cast<std::size_t>(n);
    if (errno == EINTR) continue;
    transfer.failure = std::make_exception_ptr(
        Error(fmt::format("{}: {}", transfer.body_file, std::strerror(errno))));
    return CURL_READFUNC_ABORT;
  }
}

bool is_redirect(long status) {
  return status == 301 || status == 302 || status == 303 || status == 307 || status == 308;
}

}  // namespace

bool HttpTransportError::transient() const {
  switch (m_curl_code) {
    case CURLE_COULDNT_RESOLVE_PROXY:
    case CURLE_COULDNT_RESOLVE_HOST:
    case CURLE_COULDNT_CONNECT:
    case CURLE_HTTP2:
    case CURLE_PARTIAL_FILE:
    case CURLE_OPERATION_TIMEDOUT:
    case CURLE_GOT_NOTHING:
    case CURLE_SEND_ERROR:
    case CURLE_RECV_ERROR:
    case CURLE_HTTP2_STREAM:
    case CURLE_HTTP3:
    case CURLE_QUIC_CONNECT_ERROR: return true;
    default: return false;
  }
}

std::optional<std::string> HttpResponse::header(std::string_view name) const {
  for (const auto& [key, value] : headers) {
    if (iequals(key, name)) return value;
  }
  return std::nullopt;
}

std::vector<std::string> HttpResponse::header_values(std::string_view name) const {
  std::vector<std::string> values;
  for (const auto& [key, value] : headers) {
    if (iequals(key, name)) values.push_back(value);
  }
  return values;
}

HttpClient::HttpClient() {
  m_handle = curl().easy_init();
  if (m_handle == nullptr) throw Error("libcurl: cannot create a transfer handle");
}

HttpClient::~HttpClient() {
  curl().easy_cleanup(static_cast<CURL*>(m_handle));
}

std::string HttpClient::escape(std::string_view text) const {
  const CurlString escaped(
      curl().easy_escape(static_cast<CURL*>(m_handle), text.data(), static_cast<int>(text.size())));
  if (!escaped) throw Error("libcurl: out of memory");
  return escaped.get();
}

// Redirects are followed here rather than by CURLOPT_FOLLOWLOCATION. Registries send blob
// GETs to storage backends (S3, CDNs) on other hosts with credentials in the URL, and the
// registry's Authorization header must never reach them. libcurl strips a custom
// Authorization header on a cross-host redirect only since 7.58 (and on a port change only
// since 7.83); doing it ourselves holds on any libcurl and keeps the rule visible.
HttpResponse HttpClient::perform(const HttpRequest& request, const BodySink& sink) {
  const bool follow = request.follow_redirects && request.method == "GET";
  const std::string origin = url_origin(request.url);
  std::string url = request.url;
  std::vector<std::string> headers = request.headers;
  for (int hop = 0;; ++hop) {
    std::string redirect;
    HttpResponse response = perform_once(request, url, headers, sink, redirect);
    if (!follow || !is_redirect(response.status) || redirect.empty()) return response;
    if (hop == k_max_redirects) {
      throw HttpTransportError(CURLE_TOO_MANY_REDIRECTS,
                               fmt::format("more than {} redirects", k_max_redirects));
    }
    if (url_origin(redirect) != origin) {
      std::erase_if(headers, [](const std::string& header) {
        return header.size() >= 14 &&
               iequals(std::string_view(header).substr(0, 14), "authorization:");
      });
    }
    url = std::move(redirect);
  }
}

HttpResponse HttpClient::perform_once(const HttpRequest& request, const std::string& url,
                                      const std::vector<std::string>& headers, const BodySink& sink,
                                      std::string& redirect) {
  const CurlApi& api = curl();
  auto* handle = static_cast<CURL*>(m_handle);
  // Reset keeps the connection cache: requests to one registry reuse their connection.
  api.easy_reset(handle);

  HttpResponse response;
  Transfer transfer;
  transfer.handle = handle;
  transfer.response = &response;
  transfer.sink = &sink;
  transfer.max_body = request.max_body_size;

  Slist header_list;
  // "Expect:" turns off 100-continue, which costs a round trip on every upload.
  for (const std::string& header : headers) {
    curl_slist* grown = api.slist_append(header_list.get(), header.c_str());
    if (grown == nullptr) throw Error("libcurl: out of memory");
    header_list.release();
    header_list.reset(grown);
  }
  if (curl_slist* grown = api.slist_append(header_list.get(), "Expect:")) {
    header_list.release();
    header_list.reset(grown);
  }

  char error_buffer[CURL_ERROR_SIZE] = {};
  set_option(handle, CURLOPT_URL, url.c_str());
  set_option(handle, CURLOPT_HTTPHEADER, header_list.get());
  set_option(handle, CURLOPT_ERRORBUFFER, error_buffer);
  set_option(handle, CURLOPT_NOSIGNAL, 1L);  // several threads transfer at once
  set_option(handle, CURLOPT_USERAGENT, k_user_agent);
  set_option(handle, CURLOPT_FOLLOWLOCATION, 0L);
  api.easy_setopt(handle, CURLOPT_PROTOCOLS_STR, "http,https");  // unknown before 7.85
  // Verification stays on: the system CA store, and the name must match the certificate.
  set_option(handle, CURLOPT_SSL_VERIFYPEER, 1L);
  set_option(handle, CURLOPT_SSL_VERIFYHOST, 2L);
  set_option(handle, CURLOPT_CONNECTTIMEOUT, 10L);
  // A stalled transfer is abandoned: under 1 KB/s for 30 s.
  set_option(handle, CURLOPT_LOW_SPEED_LIMIT, 1024L);
  set_option(handle, CURLOPT_LOW_SPEED_TIME, 30L);
  set_option(handle, CURLOPT_HEADERFUNCTION, &on_header);
  set_option(handle, CURLOPT_HEADERDATA, &transfer);
  set_option(handle, CURLOPT_WRITEFUNCTION, &on_body);
  set_option(handle, CURLOPT_WRITEDATA, &transfer);

  std::optional<FileDescriptor> body_fd;
  const std::string& method = request.method;
  if (method == "GET") {
    set_option(handle, CURLOPT_HTTPGET, 1L);
  } else if (method == "HEAD") {
    set_option(handle, CURLOPT_NOBODY, 1L);
  } else {
    set_option(handle, CURLOPT_CUSTOMREQUEST, method.c_str());
    if (method == "POST" || method == "PUT" || method == "PATCH") {
      curl_off_t size = 0;
      if (!request.body_file.empty()) {
        body_fd.emplace(::open(request.body_file.c_str(), O_RDONLY | O_CLOEXEC));
        struct stat st {};
        if (body_fd->get() < 0 || ::fstat(body_fd->get(), &st) != 0) {
          throw Error(fmt::format("{}: {}", request.body_file, std::strerror(errno)));
        }
        transfer.fd = body_fd->get();
        transfer.body_file = request.body_file;
        size = st.st_size;
      } else {
        transfer.body = request.body;
        size = static_cast<curl_off_t>(request.body.size());
      }
      // UPLOAD streams the body through on_read with a Content-Length; CUSTOMREQUEST keeps
      // the method (libcurl would say PUT).
      set_option(handle, CURLOPT_UPLOAD, 1L);
      set_option(handle, CURLOPT_READFUNCTION, &on_read);
      set_option(handle, CURLOPT_READDATA, &transfer);
      set_option(handle, CURLOPT_INFILESIZE_LARGE, size);
    }
  }

  const CURLcode code = api.easy_perform(handle);
  if (transfer.failure) std::rethrow_exception(transfer.failure);
  if (transfer.too_large) {
    throw Error(fmt::format("{}: response larger than {} bytes", url, request.max_body_size));
  }
  if (code != CURLE_OK) {
    throw HttpTransportError(
        code, error_buffer[0] != '\0' ? std::string(error_buffer) : api.easy_strerror(code));
  }
  api.easy_getinfo(handle, CURLINFO_RESPONSE_CODE, &response.status);
  char* effective = nullptr;
  if (api.easy_getinfo(handle, CURLINFO_EFFECTIVE_URL, &effective) == CURLE_OK && effective) {
    response.url = effective;
  } else {
    response.url = url;
  }
  char* location = nullptr;
  if (api.easy_getinfo(handle, CURLINFO_REDIRECT_URL, &location) == CURLE_OK && location) {
    redirect = location;
  }
  return response;
}

std::string resolve_url(const std::string& base, const std::string& reference) {
  const CurlApi& api = curl();
  const UrlHandle handle(api.url());
  if (!handle) throw Error("libcurl: out of memory");
  if (api.url_set(handle.get(), CURLUPART_URL, base.c_str(), 0) != CURLUE_OK ||
      api.url_set(handle.get(), CURLUPART_URL, reference.c_str(), 0) != CURLUE_OK) {
    throw Error(fmt::format("invalid URL \"{}\" (relative to {})", reference, base));
  }
  char* joined = nullptr;
  if (api.url_get(handle.get(), CURLUPART_URL, &joined, 0) != CURLUE_OK) {
    throw Error(fmt::format("invalid URL \"{}\" (relative to {})", reference, base));
  }
  const CurlString owner(joined);
  return joined;
}

std::string url_origin(const std::string& url) {
  const CurlApi& api = curl();
  const UrlHandle handle(api.url());
  if (!handle || api.url_set(handle.get(), CURLUPART_URL, url.c_str(), 0) != CURLUE_OK) {
    return {};
  }
  auto part = [&](CURLUPart which, unsigned flags) -> std::string {
    char* text = nullptr;
    if (api.url_get(handle.get(), which, &text, flags) != CURLUE_OK) return {};
    const CurlString owner(text);
    return lowercase(text);
  };
  return fmt::format("{}://{}:{}", part(CURLUPART_SCHEME, 0), part(CURLUPART_HOST, 0),
                     part(CURLUPART_PORT, CURLU_DEFAULT_PORT));
}

}  // namespace berth::image
