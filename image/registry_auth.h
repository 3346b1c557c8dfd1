// Registry authentication: WWW-Authenticate challenges, bearer tokens from a registry's
// token server, and the credentials `berth login` keeps in Docker's config.json.
#pragma once

#include <map>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace berth::image {

class HttpClient;

/// One challenge of a WWW-Authenticate header: `Bearer realm="...",service="..."`.
struct Challenge {
  std::string scheme;                         // lowercase: "bearer", "basic"
  std::map<std::string, std::string> params;  // names lowercase, values unquoted

  /// The value of parameter `name` (lowercase), empty when absent.
  std::string param(const std::string& name) const;
  bool operator==(const Challenge&) const = default;
};

/// Parses a WWW-Authenticate value, which may hold several challenges (RFC 7235): quoted
/// strings with backslash escapes, commas inside quotes. Unparseable rest is ignored.
std::vector<Challenge> parse_challenges(std::string_view header);

struct Credentials {
  std::string username;
  std::string password;

  bool empty() const { return username.empty() && password.empty(); }
  bool operator==(const Credentials&) const = default;
};

/// "Basic <base64(user:password)>", the value of an Authorization header.
std::string basic_authorization(const Credentials& credentials);


/// What a token server answered: the token, or the status and its error message.
struct TokenReply {
  long status = 0;
  std::string token;    // empty unless status is 200
  std::string message;  // the server's error message, if it sent one
  std::string url;      // the token endpoint, without query
};

/// Asks the token server of a Bearer `challenge` (GET realm?service=&scope=...) for a token
/// covering `scopes` ("repository:library/redis:pull"), sending `credentials` as basic auth
/// when not empty. The token is the JSON reply's "token" or "access_token". Throws
/// HttpTransportError when the server cannot be reached, berth::Error when a 200 reply has no
/// token.
TokenReply request_token(HttpClient& http, const Challenge& challenge,
                         const std::vector<std::string>& scopes, const Credentials& credentials);

/// Bearer tokens by scope, shared by the threads of one registry client.
class TokenCache {
 public:
  std::optional<std::string> find(const std::string& scope) const;
  void store(const std::string& scope, std::string token);

 private:
  mutable std::mutex m_mutex;
  std::map<std::string, std::string> m_tokens;
};

/// The first error message of a registry's or token server's JSON error body
/// (`{"errors":[{"code":..,"message":..}]}`, `{"details":..}`, `{"error":..}`); empty when
/// there is none.
std::string error_message_of(std::string_view body);

// --- Docker's config.json ---------------------------------------------------------------

/// `$DOCKER_CONFIG/config.json`, else `~/.docker/config.json`.
std::string docker_config_path();

/// The key under "auths" Docker uses for `domain`: "https://index.docker.io/v1/" for
/// docker.io, the domain itself otherwise.
std::string credentials_key(std::string_view domain);

/// The credentials stored for `domain` ("docker.io", "localhost:5000") in the "auths" of
/// docker_config_path(): an "auth" (base64 of user:password) or "username"/"password", under
/// a key naming the host with or without scheme and path. nullopt when there are none or the
/// file does not exist; berth::Error naming the file when it is malformed.
std::optional<Credentials> load_credentials(std::string_view domain);

/// Stores credentials for `domain` (berth login) under credentials_key(domain), replacing
/// any entry for the same host. The file is rewritten atomically with mode 0600, every other
/// key kept.
void store_credentials(std::string_view domain, const Credentials& credentials);

/// Removes every entry for `domain` (berth logout); false when there was none.
bool erase_credentials(std::string_view domain);

/// The domain a `berth login`/`logout` argument names: Docker Hub for "" and its aliases
/// (index.docker.io, registry-1.docker.io, https://index.docker.io/v1/), otherwise the host
/// with scheme and path removed ("https://localhost:5000/v2/" -> "localhost:5000").
std::string login_domain(std::string_view registry);

}  // namespace berth::image
