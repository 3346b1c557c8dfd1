#include "image/registry_auth.h"

#include <fcntl.h>
#include <pwd.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cctype>
#include <cerrno>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <filesystem>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "image/http.h"
#include "util/base64.h"
#include "util/error.h"
#include "util/strings.h"
#include "util/fs.h"

namespace berth::image {
namespace {

// Docker keeps the key order of config.json; so does berth when it rewrites the file.
using Json = nlohmann::ordered_json;

constexpr std::size_t k_max_token_reply = 1 << 20;

std::string lowercase(std::string_view text) {
  std::string out(text);
  for (char& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

/// RFC 7230 tchar: the characters of a token such as an auth scheme or parameter name.
bool is_token_char(char c) {
  return std::isalnum(static_cast<unsigned char>(c)) != 0 ||
         std::strchr("!#$%&'*+-.^_`|~", c) != nullptr;
}

class ChallengeParser {
 public:
  explicit ChallengeParser(std::string_view text) : m_text(text) {}

  std::vector<Challenge> parse() {
    std::vector<Challenge> challenges;
    for (;;) {
      skip_separators();
      const std::string scheme = token();
      if (scheme.empty()) break;
      Challenge challenge{lowercase(scheme), {}};
      parse_params(challenge);
      challenges.push_back(std::move(challenge));
    }
    return challenges;
  }

 private:
  bool at_end() const { return m_pos >= m_text.size(); }
  char peek() const { return m_text[m_pos]; }

  void skip_spaces() {
    while (!at_end() && (peek() == ' ' || peek() == '\t')) ++m_pos;
  }
  void skip_separators() {
    while (!at_end() && (peek() == ' ' || peek() == '\t' || peek() == ',')) ++m_pos;
  }

  std::string token() {
    const std::size_t start = m_pos;
    while (!at_end() && is_token_char(peek())) ++m_pos;
    return std::string(m_text.substr(start, m_pos - start));
  }

  std::string quoted() {
    std::string value;
    ++m_pos;  // the opening quote
    while (!at_end() && peek() != '"') {
      if (peek() == '\\' && m_pos + 1 < m_text.size()) ++m_pos;
      value.push_back(peek());
      ++m_pos;
    }
    if (!at_end()) ++m_pos;  // the closing quote
    return value;
  }

  /// Reads `name=value` pairs until the text ends or a token not followed by '=' starts the
  /// next challenge.
  void parse_params(Challenge& challenge) {
    for (;;) {
      skip_separators();
      const std::size_t start = m_pos;
      const std::string name = token();
      skip_spaces();
      if (name.empty() || at_end() || peek() != '=') {
        m_pos = start;
        return;
      }
      ++m_pos;
      skip_spaces();
      std::string value = (!at_end() && peek() == '"') ? quoted() : token();
      challenge.params[lowercase(name)] = std::move(value);
    }
  }

  std::string_view m_text;
  std::size_t m_pos = 0;
};

std::string without_query(const std::string& url) {
  return url.substr(0, url.find('?'));
}

/// The host a config.json "auths" key names: "https://index.docker.io/v1/" ->
/// "index.docker.io", "localhost:5000" -> "localhost:5000".
std::string key_host(std::string_view key) {
  for (std::string_view scheme : {"https://", "http://"}) {
    if (key.starts_with(scheme)) key.remove_prefix(scheme.size());
  }
  return lowercase(key.substr(0, key.find('/')));
}

bool key_matches(std::string_view key, std::string_view domain) {
  const std::string host = key_host(key);
  if (domain == "docker.io") {
    return host == "docker.io" || host == "index.docker.io" || host == "registry-1.docker.io";
  }
  return host == lowercase(domain);
}

std::string parse_error_reason(const std::exception& e) {
  // nlohmann prefixes "[json.exception.parse_error.101] "; the rest is the useful part.
  std::string_view what = e.what();
  if (what.starts_with('[')) {
    const auto end = what.find("] ");
    if (end != std::string_view::npos) what.remove_prefix(end + 2);
  }
  return std::string(what);
}

/// The config file as JSON; an empty object when it does not exist.
Json read_config(const std::string& path) {
  const auto text = fs::read_file_if_exists(path);
  if (!text) return Json::object();
  Json config;
  try {
    config = Json::parse(*text);
  } catch (const Json::parse_error& e) {
    throw Error(fmt::format("{}: invalid JSON: {}", path, parse_error_reason(e)));
  }
  if (!config.is_object()) throw Error(fmt::format("{}: not a JSON object", path));
  if (config.contains("auths") && !config["auths"].is_object()) {
    throw Error(fmt::format("{}: \"auths\" is not an object", path));
  }
  return config;
}

/// Removes the temp file unless it was renamed into place.
class TempFile {
 public:
  explicit TempFile(const std::string& target) : m_path(target + ".XXXXXX") {
    m_fd = ::mkstemp(m_path.data());
    if (m_fd < 0) throw Error(fmt::format("{}: {}", m_path, std::strerror(errno)));
  }
  ~TempFile() {
    if (m_fd >= 0) ::close(m_fd);
    if (!m_renamed) ::unlink(m_path.c_str());
  }
  TempFile(const TempFile&) = delete;
  TempFile& operator=(const TempFile&) = delete;

  void write_all(std::string_view data) {
    while (!data.empty()) {
      const ssize_t n = ::write(m_fd, data.data(), data.size());
      if (n < 0) {
        if (errno == EINTR) continue;
        fail();
      }
      data.remove_prefix(static_cast<std::size_t>(n));
    }
  }
  void commit(const std::string& target) {
    if (::fchmod(m_fd, 0600) != 0 || ::fsync(m_fd) != 0) fail();
    const int fd = m_fd;
    m_fd = -1;
    if (::close(fd) != 0) fail();
    if (::rename(m_path.c_str(), target.c_str()) != 0) {
      throw Error(fmt::format("{}: {}", target, std::strerror(errno)));
    }
    m_renamed = true;
  }

 private:
  [[noreturn]] void fail() const {
    throw Error(fmt::format("{}: {}", m_path, std::strerror(errno)));
  }
  std::string m_path;
  int m_fd = -1;
  bool m_renamed = false;
};

void write_config(const std::string& path, const Json& config) {
  // Like Docker, a directory made for the file is private to its owner.
  const std::string dir = fs::dirname(path);
  if (!fs::is_directory(dir)) {
    std::error_code error;
    std::filesystem::create_directories(fs::dirname(dir), error);
    if (error) throw Error(fmt::format("{}: {}", fs::dirname(dir), error.message()));
    if (::mkdir(dir.c_str(), 0700) != 0 && errno != EEXIST) {
      throw Error(fmt::format("{}: {}", dir, std::strerror(errno)));
    }
  }
  TempFile temp(path);
  temp.write_all(config.dump(1, '\t') + "\n");  // Docker's layout: tab-indented
  temp.commit(path);
}

/// Removes every "auths" entry for `domain`; true when there was one.
bool erase_entries(Json& config, std::string_view domain) {
  if (!config.contains("auths")) return false;
  Json& auths = config["auths"];
  std::vector<std::string> doomed;
  for (const auto& [key, value] : auths.items()) {
    if (key_matches(key, domain)) doomed.push_back(key);
  }
  for (const std::string& key : doomed) auths.erase(key);
  return !doomed.empty();
}

std::optional<Credentials> credentials_of(const Json& entry, const std::string& key,
                                          const std::string& path) {
  if (!entry.is_object()) return std::nullopt;
  const auto auth = entry.find("auth");
  if (auth != entry.end() && auth->is_string() && !auth->get<std::string>().empty()) {
    const auto decoded = base64_decode(auth->get<std::string>());
    const auto colon = decoded ? decoded->find(':') : std::string::npos;
    if (colon == std::string::npos) {
      throw Error(fmt::format("{}: invalid \"auth\" for \"{}\"", path, key));
    }
    return Credentials{decoded->substr(0, colon), decoded->substr(colon + 1)};
  }
  const auto username = entry.find("username");
  const auto password = entry.find("password");
  if (username != entry.end() && username->is_string() && password != entry.end() &&
      password->is_string()) {
    return Credentials{username->get<std::string>(), password->get<std::string>()};
  }
  return std::nullopt;
}

}  // namespace

std::string Challenge::param(const std::string& name) const {
  const auto found = params.find(name);
  return found == params.end() ? std::string() : found->second;
}

std::vector<Challenge> parse_challenges(std::string_view header) {
  return ChallengeParser(header).parse();
}

std::string basic_authorization(const Credentials& credentials) {
  return "Basic " + base64_encode(credentials.username + ":" + credentials.password);
}

TokenReply request_token(HttpClient& http, const Challenge& challenge,
                         const std::vector<std::string>& scopes, const Credentials& credentials) {
  const std::string realm = challenge.param("realm");
  std::vector<std::string> query;
  if (const std::string service = challenge.param("service"); !service.empty()) {
    query.push_back("service=" + http.escape(service));
  }
  for (const std::string& scope : scopes) query.push_back("scope=" + http.escape(scope));
  if (!credentials.empty()) query.push_back("account=" + http.escape(credentials.username));

  HttpRequest request;
  request.url = realm;
  for (std::size_t i = 0; i < query.size(); ++i) {
    const bool first = i == 0 && realm.find('?') == std::string::npos;
    request.url += (first ? "?" : "&") + query[i];
  }
  request.headers.push_back("Accept: application/json");
  if (!credentials.empty()) {
    request.headers.push_back("Authorization: " + basic_authorization(credentials));
  }
  request.max_body_size = k_max_token_reply;

  const HttpResponse response = http.perform(request);
  TokenReply reply;
  reply.status = response.status;
  reply.url = without_query(realm);
  if (response.status != 200) {
    reply.message = error_message_of(response.body);
    return reply;
  }
  const auto json = nlohmann::json::parse(response.body, nullptr, false);
  if (json.is_object()) {
    for (const char* field : {"token", "access_token"}) {
      const auto found = json.find(field);
      if (found != json.end() && found->is_string() && !found->get<std::string>().empty()) {
        reply.token = found->get<std::string>();
        return reply;
      }
    }
  }
  throw Error(fmt::format("token server {} sent no token", reply.url));
}

std::optional<std::string> TokenCache::find(const std::string& scope) const {
  const std::lock_guard lock(m_mutex);
  const auto found = m_tokens.find(scope);
  if (found == m_tokens.end()) return std::nullopt;
  return found->second;
}

void TokenCache::store(const std::string& scope, std::string token) {
  const std::lock_guard lock(m_mutex);
  m_tokens[scope] = std::move(token);
}

std::string error_message_of(std::string_view body) {
  const auto json = nlohmann::json::parse(body, nullptr, false);
  if (!json.is_object()) return {};
  const auto errors = json.find("errors");
  if (errors != json.end() && errors->is_array() && !errors->empty() && (*errors)[0].is_object()) {
    const auto& first = (*errors)[0];
    for (const char* field : {"message", "code"}) {
      const auto found = first.find(field);
      if (found != first.end() && found->is_string() && !found->get<std::string>().empty()) {
        return found->get<std::string>();
      }
    }
  }
  for (const char* field : {"details", "error"}) {
    const auto found = json.find(field);
    if (found != json.end() && found->is_string()) return found->get<std::string>();
  }
  return {};
}

std::string docker_config_path() {
  if (const char* dir = std::getenv("DOCKER_CONFIG"); dir != nullptr && *dir != '\0') {
    return std::string(dir) + "/config.json";
  }
  std::string home;
  if (const char* env = std::getenv("HOME"); env != nullptr && *env != '\0') {
    home = env;
  } else if (const passwd* entry = ::getpwuid(::getuid()); entry != nullptr) {
    home = entry->pw_dir;
  }
  return home + "/.docker/config.json";
}

std::string credentials_key(std::string_view domain) {
  if (domain == "docker.io") return "https://index.docker.io/v1/";
  return std::string(domain);
}

std::optional<Credentials> load_credentials(std::string_view domain) {
  const std::string path = docker_config_path();
  const Json config = read_config(path);
  const auto auths = config.find("auths");
  if (auths == config.end()) return std::nullopt;
  // Docker's own key first, then any other spelling of the same host.
  const std::string preferred = credentials_key(domain);
  if (const auto entry = auths->find(preferred); entry != auths->end()) {
    if (auto credentials = credentials_of(*entry, preferred, path)) return credentials;
  }
  for (const auto& [key, entry] : auths->items()) {
    if (key == preferred || !key_matches(key, domain)) continue;
    if (auto credentials = credentials_of(entry, key, path)) return credentials;
  }
  return std::nullopt;
}

void store_credentials(std::string_view domain, const Credentials& credentials) {
  const std::string path = docker_config_path();
  Json config = read_config(path);
  erase_entries(config, domain);
  config["auths"][credentials_key(domain)] =
      Json{{"auth", base64_encode(credentials.username + ":" + credentials.password)}};
  write_config(path, config);
}

bool erase_credentials(std::string_view domain) {
  const std::string path = docker_config_path();
  Json config = read_config(path);
  if (!erase_entries(config, domain)) return false;
  write_config(path, config);
  return true;
}

std::string login_domain(std::string_view registry) {
  std::string_view host = registry;
  for (std::string_view scheme : {"https://", "http://"}) {
    if (host.starts_with(scheme)) host.remove_prefix(scheme.size());
  }
  host = host.substr(0, host.find('/'));
  const std::string domain = lower(host);
  if (domain.empty() || domain == "docker.io" || domain == "index.docker.io" ||
      domain == "registry-1.docker.io") {
    return "docker.io";
  }
  return domain;
}

}  // namespace berth::image
