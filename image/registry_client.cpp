#include "image/registry_client.h"

#include <arpa/inet.h>
#include <sys/stat.h>

#include <algorithm>
#include <array>
#include <cctype>
#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <mutex>
#include <thread>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "image/http.h"
#include "image/reference.h"
#include "util/error.h"
#include "util/fs.h"

namespace berth::image {
namespace {

constexpr const char* k_default_config = "/etc/berth/config.json";
constexpr int k_blob_retries = 4;
// Docker refuses manifests over 4 MiB too; anything else the registry sends in memory is an
// error document or empty.
constexpr std::size_t k_max_manifest_size = 4 << 20;
constexpr std::size_t k_max_small_body = 1 << 20;

constexpr std::array<std::string_view, 4> k_manifest_types = {
    media::oci_manifest, media::oci_index, media::docker_manifest, media::docker_manifest_list};

std::string lowercase(std::string_view text) {
  std::string out(text);
  for (char& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

std::string accept_manifests() {
  std::string header = "Accept: ";
  for (std::size_t i = 0; i < k_manifest_types.size(); ++i) {
    if (i > 0) header += ", ";
    header += k_manifest_types[i];
  }
  return header;
}

/// "application/json; charset=utf-8" -> "application/json".
std::string bare_media_type(std::string_view content_type) {
  content_type = content_type.substr(0, content_type.find(';'));
  while (!content_type.empty() && content_type.back() == ' ') content_type.remove_suffix(1);
  return lowercase(content_type);
}

bool is_manifest_type(std::string_view media_type) {
  for (std::string_view known : k_manifest_types) {
    if (known == media_type) return true;
  }
  return false;
}

/// URLs in messages lose their query: upload URLs carry opaque state, token URLs the scope.
std::string without_query(const std::string& url) {
  return url.substr(0, url.find('?'));
}

/// The host part of a domain: "localhost:5000" -> "localhost", "[::1]:5000" -> "::1".
std::string host_of(std::string_view domain) {
  if (domain.starts_with('[')) {
    const auto close = domain.find(']');
    return std::string(domain.substr(1, close == std::string_view::npos ? close : close - 1));
  }
  if (std::count(domain.begin(), domain.end(), ':') == 1) {
    return std::string(domain.substr(0, domain.find(':')));
  }
  return std::string(domain);
}

bool is_loopback(const std::string& host) {
  if (lowercase(host) == "localhost" || host == "::1") return true;
  in_addr address{};
  return ::inet_pton(AF_INET, host.c_str(), &address) == 1 && (ntohl(address.s_addr) >> 24) == 127;
}

/// The registry gave no HTTP answer. `transient` says whether trying again may help.
class Unreachable : public Error {
 public:
  Unreachable(const std::string& message, bool transient)
      : Error(message), m_transient(transient) {}
  bool transient() const { return m_transient; }

 private:
  bool m_transient;
};

/// What a request needs the token to cover, and the error when it is refused.
struct Access {
  std::vector<std::string> scopes;
  std::string denied;  // "pull access denied for library/redis on docker.io"

  std::string scope_key() const {
    std::string key;
    for (const std::string& scope : scopes) key += (key.empty() ? "" : " ") + scope;
    return key;
  }
};

bool is_success(long status) {
  return status >= 200 && status < 300;
}

/// The preferred challenge of a 401: Bearer (it carries a realm), else Basic.
std::optional<Challenge> challenge_of(const HttpResponse& response) {
  std::optional<Challenge> basic;
  for (const std::string& header : response.header_values("WWW-Authenticate")) {
    for (Challenge& challenge : parse_challenges(header)) {
      if (challenge.scheme == "bearer" && !challenge.param("realm").empty()) return challenge;
      if (challenge.scheme == "basic" && !basic) basic = std::move(challenge);
    }
  }
  return basic;
}

void wait(std::chrono::milliseconds delay) {
  std::this_thread::sleep_for(delay);
}

}  // namespace

std::string registry_scheme(std::string_view domain,
                            const std::vector<std::string>& insecure_registries) {
  const std::string host = host_of(domain);
  if (is_loopback(host)) return "http";
  for (const std::string& entry : insecure_registries) {
    const std::string listed = lowercase(entry);
    if (listed == lowercase(domain) || listed == lowercase(host)) return "http";
  }
  return "https";
}

std::vector<std::string> insecure_registries() {
  const char* env = std::getenv("BERTH_CONFIG");
  const std::string path = env != nullptr && *env != '\0' ? env : k_default_config;
  const auto text = fs::read_file_if_exists(path);
  if (!text) return {};
  nlohmann::json config;
  try {
    config = nlohmann::json::parse(*text);
  } catch (const nlohmann::json::parse_error& e) {
    // nlohmann's text starts with "[json.exception.parse_error.101] ".
    std::string_view reason = e.what();
    if (const auto end = reason.find("] "); end != std::string_view::npos) {
      reason.remove_prefix(end + 2);
    }
    throw Error(fmt::format("{}: invalid JSON: {}", path, reason));
  }
  if (!config.is_object()) throw Error(fmt::format("{}: not a JSON object", path));
  const auto list = config.find("insecure-registries");
  if (list == config.end()) return {};
  std::vector<std::string> registries;
  if (list->is_array()) {
    for (const auto& item : *list) {
      if (!item.is_string()) break;
      registries.push_back(item.get<std::string>());
    }
  }
  if (!list->is_array() || registries.size() != list->size()) {
    throw Error(fmt::format("{}: \"insecure-registries\" must be a list of strings", path));
  }
  return registries;
}

struct RegistryClient::State {
  std::string domain;
  std::string base_url;
  Credentials credentials;
  std::chrono::milliseconds retry_delay{};
  TokenCache tokens;

  std::mutex mutex;  // guards the two below
  std::optional<Challenge> challenge;
  std::vector<std::unique_ptr<HttpClient>> idle;

  /// A transfer handle for one call, back to the pool afterwards (connections are reused).
  class Lease {
   public:
    explicit Lease(State& state) : m_state(state) {
      {
        const std::lock_guard lock(state.mutex);
        if (!state.idle.empty()) {
          m_http = std::move(state.idle.back());
          state.idle.pop_back();
        }
      }
      if (!m_http) m_http = std::make_unique<HttpClient>();
    }
    ~Lease() {
      const std::lock_guard lock(m_state.mutex);
      m_state.idle.push_back(std::move(m_http));
    }
    Lease(const Lease&) = delete;
    Lease& operator=(const Lease&) = delete;
    HttpClient& operator*() const { return *m_http; }

   private:
    State& m_state;
    std::unique_ptr<HttpClient> m_http;
  };

  std::string url(const std::string& repository, std::string_view kind,
                  const std::string& reference) const {
    return fmt::format("{}/v2/{}/{}/{}", base_url, repository, kind, reference);
  }

  Access pull(const std::string& repository) const {
    return {{"repository:" + repository + ":pull"},
            fmt::format("pull access denied for {} on {}", repository, domain)};
  }
  Access push(const std::string& repository) const {
    return {{"repository:" + repository + ":pull,push"},
            fmt::format("push access denied for {} on {}", repository, domain)};
  }

  HttpResponse perform(HttpClient& http, const HttpRequest& request, const BodySink& sink = {}) {
    try {
      return http.perform(request, sink);
    } catch (const HttpTransportError& e) {
      throw Unreachable(fmt::format("cannot reach registry {} ({}): {}", domain,
                                    without_query(request.url), e.what()),
                        e.transient());
    }
  }

  /// The Authorization value `challenge` calls for: a fresh bearer token (cached for later
  /// calls when `cache`), basic credentials, or empty when there is nothing to offer.
  std::string authorization(HttpClient& http, const Challenge& challenge, const Access& access,
                            const Credentials& with, bool cache) {
    if (challenge.scheme == "basic") return with.empty() ? "" : basic_authorization(with);
    if (challenge.scheme != "bearer") return "";
    TokenReply reply;
    try {
      reply = request_token(http, challenge, access.scopes, with);
    } catch (const HttpTransportError& e) {
      throw Unreachable(fmt::format("cannot reach registry {} ({}): {}", domain,
                                    without_query(challenge.param("realm")), e.what()),
                        e.transient());
    }
    if (reply.status == 401 || reply.status == 403) throw Error(access.denied + ": unauthorized");
    if (reply.status != 200) {
      throw Error(fmt::format("registry {} answered {} for GET {}{}", domain, reply.status,
                              reply.url, reply.message.empty() ? "" : ": " + reply.message));
    }
    if (cache) tokens.store(access.scope_key(), reply.token);
    return "Bearer " + reply.token;
  }

  /// What to send before the registry has asked: nothing until a first 401 taught us its
  /// challenge, then a cached (or newly fetched) token, or the basic credentials.
  std::string known_authorization(HttpClient& http, const Access& access) {
    std::optional<Challenge> known;
    {
      const std::lock_guard lock(mutex);
      known = challenge;
    }
    if (!known) return "";
    if (known->scheme == "bearer") {
      if (auto token = tokens.find(access.scope_key())) return "Bearer " + *token;
    }
    return authorization(http, *known, access, credentials, true);
  }

  /// Sends `request` with what authentication the registry wants, answering one 401.
  HttpResponse exchange(HttpClient& http, HttpRequest request, const Access& access,
                        const BodySink& sink = {}) {
    const std::size_t plain_headers = request.headers.size();
    const std::string used = known_authorization(http, access);
    if (!used.empty()) request.headers.push_back("Authorization: " + used);
    HttpResponse response = perform(http, request, sink);
    if (response.status != 401) return response;
    const auto challenge_now = challenge_of(response);
    if (!challenge_now) return response;
    {
      const std::lock_guard lock(mutex);
      challenge = challenge_now;
    }
    const std::string fresh = authorization(http, *challenge_now, access, credentials, true);
    if (fresh.empty() || fresh == used) return response;
    request.headers.resize(plain_headers);
    request.headers.push_back("Authorization: " + fresh);
    return perform(http, request, sink);
  }

  [[noreturn]] void fail(const HttpResponse& response, const HttpRequest& request,
                         const Access& access) const {
    const std::string message = error_message_of(response.body);
    if (response.status == 401) throw Error(access.denied + ": unauthorized");
    if (response.status == 403) {
      throw Error(access.denied + ": " + (message.empty() ? "forbidden" : message));
    }
    throw Error(fmt::format("registry {} answered {} for {} {}{}", domain, response.status,
                            request.method, without_query(request.url),
                            message.empty() ? "" : ": " + message));
  }
};

RegistryClient::RegistryClient(std::string domain, RegistryOptions options)
    : m_state(std::make_unique<State>()) {
  State& state = *m_state;
  const std::string scheme =
      options.scheme ? *options.scheme : registry_scheme(domain, insecure_registries());
  state.base_url = scheme + "://" + registry_host(domain);
  state.credentials =
      options.credentials ? *options.credentials : load_credentials(domain).value_or(Credentials{});
  state.retry_delay = options.retry_delay;
  state.domain = std::move(domain);
}

RegistryClient::~RegistryClient() = default;

const std::string& RegistryClient::domain() const {
  return m_state->domain;
}

const std::string& RegistryClient::base_url() const {
  return m_state->base_url;
}

std::optional<Descriptor> RegistryClient::head_manifest(const std::string& repository,
                                                        const std::string& tag_or_digest) {
  State& state = *m_state;
  const Access access = state.pull(repository);
  HttpRequest request;
  request.method = "HEAD";
  request.url = state.url(repository, "manifests", tag_or_digest);
  request.headers.push_back(accept_manifests());
  request.max_body_size = k_max_small_body;
  HttpResponse response;
  {
    const State::Lease http(state);
    response = state.exchange(*http, request, access);
  }
  if (response.status == 404) return std::nullopt;
  if (!is_success(response.status)) state.fail(response, request, access);

  const std::string media_type = bare_media_type(response.header("Content-Type").value_or(""));
  const auto digest = response.header("Docker-Content-Digest");
  const auto length = response.header("Content-Length");
  if (!digest || !is_digest(*digest) || !length || !is_manifest_type(media_type)) {
    // Not every registry describes a manifest fully in a HEAD; the GET always does.
    const FetchedManifest fetched = get_manifest(repository, tag_or_digest);
    return Descriptor{
        fetched.media_type, fetched.digest, static_cast<std::int64_t>(fetched.body.size()), {}, {}};
  }
  return Descriptor{
      media_type, Digest::parse(*digest), std::strtoll(length->c_str(), nullptr, 10), {}, {}};
}

FetchedManifest RegistryClient::get_manifest(const std::string& repository,
                                             const std::string& tag_or_digest) {
  State& state = *m_state;
  const Access access = state.pull(repository);
  HttpRequest request;
  request.url = state.url(repository, "manifests", tag_or_digest);
  request.headers.push_back(accept_manifests());
  request.max_body_size = k_max_manifest_size;
  HttpResponse response;
  {
    const State::Lease http(state);
    response = state.exchange(*http, request, access);
  }
  const bool by_digest = is_digest(tag_or_digest);
  if (response.status == 404) {
    const Reference reference{state.domain, repository, by_digest ? "" : tag_or_digest,
                              by_digest ? tag_or_digest : ""};
    throw Error(fmt::format("manifest for {} not found: manifest unknown", reference.familiar()));
  }
  if (!is_success(response.status)) state.fail(response, request, access);

  FetchedManifest fetched;
  fetched.digest = Digest::of(response.body);
  if (by_digest && fetched.digest.str() != tag_or_digest) {
    throw Error(fmt::format("manifest {} from {}: digest mismatch (got {})", tag_or_digest,
                            state.domain, fetched.digest.str()));
  }
  const std::string content_type = bare_media_type(response.header("Content-Type").value_or(""));
  fetched.media_type = is_manifest_type(content_type)
                           ? content_type
                           : detect_media_type(response.body, content_type);
  fetched.body = std::move(response.body);
  return fetched;
}

void RegistryClient::get_blob(const std::string& repository, const Descriptor& blob,
                              const std::function<void(const void*, std::size_t)>& sink,
                              const std::function<void()>& on_restart) {
  State& state = *m_state;
  const Access access = state.pull(repository);
  const State::Lease http(state);
  std::int64_t delivered = 0;  // bytes the sink has, which a retry need not fetch again
  auto delay = state.retry_delay;

  BodySink body;
  body.on_start = [&](const HttpResponse& head) {
    if (head.status == 206) {
      // "bytes <first>-<last>/<total>": it must continue exactly where the sink stopped.
      const std::string range = head.header("Content-Range").value_or("");
      const std::string expected = fmt::format("bytes {}-", delivered);
      if (!range.starts_with(expected)) {
        throw Error(fmt::format("registry {} resumed blob {} at the wrong place ({})", state.domain,
                                blob.digest.str(), range.empty() ? "no Content-Range" : range));
      }
    } else if (delivered > 0) {
      on_restart();
      delivered = 0;
    }
  };
  body.write = [&](const void* data, std::size_t size) {
    sink(data, size);
    delivered += static_cast<std::int64_t>(size);
  };

  for (int attempt = 0;; ++attempt) {
    HttpRequest request;
    request.url = state.url(repository, "blobs", blob.digest.str());
    request.follow_redirects = true;
    request.max_body_size = k_max_small_body;
    if (delivered > 0) request.headers.push_back(fmt::format("Range: bytes={}-", delivered));
    const bool last = attempt == k_blob_retries;
    HttpResponse response;
    try {
      response = state.exchange(*http, request, access, body);
    } catch (const Unreachable& e) {
      if (last || !e.transient()) throw;
      wait(delay);
      delay *= 2;
      continue;
    }
    if (is_success(response.status)) return;
    // Everything had arrived before the connection broke.
    if (response.status == 416 && delivered > 0 && delivered == blob.size) return;
    if ((response.status >= 500 || response.status == 429) && !last) {
      wait(delay);
      delay *= 2;
      continue;
    }
    state.fail(response, request, access);
  }
}

bool RegistryClient::has_blob(const std::string& repository, const Digest& digest) {
  State& state = *m_state;
  const Access access = state.pull(repository);
  HttpRequest request;
  request.method = "HEAD";
  request.url = state.url(repository, "blobs", digest.str());
  request.max_body_size = k_max_small_body;
  HttpResponse response;
  {
    const State::Lease http(state);
    response = state.exchange(*http, request, access);
  }
  if (response.status == 404) return false;
  // A redirect to the storage backend also says the registry has it.
  if (is_success(response.status) || (response.status >= 300 && response.status < 400)) {
    return true;
  }
  state.fail(response, request, access);
}

bool RegistryClient::mount_blob(const std::string& repository, const Digest& digest,
                                const std::string& from_repository) {
  State& state = *m_state;
  Access access = state.push(repository);
  access.scopes.push_back("repository:" + from_repository + ":pull");
  const State::Lease http(state);
  HttpRequest request;
  request.method = "POST";
  request.url = fmt::format("{}/v2/{}/blobs/uploads/?mount={}&from={}", state.base_url, repository,
                            (*http).escape(digest.str()), (*http).escape(from_repository));
  request.max_body_size = k_max_small_body;
  const HttpResponse response = state.exchange(*http, request, access);
  if (response.status == 201) return true;
  if (response.status == 401 || response.status == 403) return false;
  if (response.status != 202) state.fail(response, request, access);
  // The registry opened an ordinary upload instead; cancelling it is a courtesy, so a
  // failure to do so is not an error.
  if (const auto location = response.header("Location")) {
    try {
      HttpRequest cancel;
      cancel.method = "DELETE";
      cancel.url = resolve_url(request.url, *location);
      cancel.max_body_size = k_max_small_body;
      state.exchange(*http, cancel, access);
    } catch (const Error&) {
    }
  }
  return false;
}

void RegistryClient::put_blob(const std::string& repository, const Digest& digest,
                              std::int64_t size, const std::string& path) {
  State& state = *m_state;
  struct stat st {};
  if (::stat(path.c_str(), &st) != 0) {
    throw Error(fmt::format("{}: {}", path, std::strerror(errno)));
  }
  if (st.st_size != size) {
    throw Error(fmt::format("blob {}: {} has {} bytes, expected {}", digest.str(), path,
                            static_cast<std::int64_t>(st.st_size), size));
  }
  const Access access = state.push(repository);
  const State::Lease http(state);

  HttpRequest start;
  start.method = "POST";
  start.url = fmt::format("{}/v2/{}/blobs/uploads/", state.base_url, repository);
  start.max_body_size = k_max_small_body;
  const HttpResponse started = state.exchange(*http, start, access);
  if (!is_success(started.status)) state.fail(started, start, access);
  const auto location = started.header("Location");
  if (!location) {
    throw Error(fmt::format("registry {} answered POST {} without an upload location", state.domain,
                            start.url));
  }

  HttpRequest upload;
  upload.method = "PUT";
  upload.url = resolve_url(start.url, *location);
  upload.url += (upload.url.find('?') == std::string::npos ? "?" : "&");
  upload.url += "digest=" + (*http).escape(digest.str());
  upload.headers.push_back("Content-Type: application/octet-stream");
  upload.body_file = path;
  upload.max_body_size = k_max_small_body;
  const HttpResponse done = state.exchange(*http, upload, access);
  if (!is_success(done.status)) state.fail(done, upload, access);
}

void RegistryClient::put_manifest(const std::string& repository, const std::string& tag_or_digest,
                                  const std::string& body, const std::string& media_type) {
  State& state = *m_state;
  const Access access = state.push(repository);
  HttpRequest request;
  request.method = "PUT";
  request.url = state.url(repository, "manifests", tag_or_digest);
  request.headers.push_back("Content-Type: " + media_type);
  request.body = body;
  request.max_body_size = k_max_small_body;
  HttpResponse response;
  {
    const State::Lease http(state);
    response = state.exchange(*http, request, access);
  }
  if (!is_success(response.status)) state.fail(response, request, access);
}

void RegistryClient::check_login(const Credentials& credentials) {
  State& state = *m_state;
  const Access access{{}, fmt::format("login to {} failed", state.domain)};
  const State::Lease http(state);
  HttpRequest request;
  request.url = state.base_url + "/v2/";
  request.max_body_size = k_max_small_body;
  HttpResponse response = state.perform(*http, request);
  if (response.status == 401) {
    const auto challenge = challenge_of(response);
    const std::string authorization =
        challenge ? state.authorization(*http, *challenge, access, credentials, false) : "";
    if (authorization.empty()) state.fail(response, request, access);
    request.headers.push_back("Authorization: " + authorization);
    response = state.perform(*http, request);
  }
  if (!is_success(response.status)) state.fail(response, request, access);
}

}  // namespace berth::image
