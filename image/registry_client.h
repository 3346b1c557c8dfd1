// A client of one registry's OCI distribution API (/v2/...): manifests and blobs, pulled and
// pushed, with Docker's bearer-token and basic authentication.
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "image/digest.h"
#include "image/manifest.h"
#include "image/registry_auth.h"

namespace berth::image {

/// "http" for a registry reached without TLS: "localhost", 127.0.0.0/8 and ::1 (any port),
/// and the domains listed in `insecure_registries` ("host:port", or "host" for every port);
/// "https" for everything else.
std::string registry_scheme(std::string_view domain,
                            const std::vector<std::string>& insecure_registries);

/// The "insecure-registries" of berth's config file ($BERTH_CONFIG, default
/// /etc/berth/config.json): empty when the file does not exist; berth::Error naming the file
/// when it is malformed.
std::vector<std::string> insecure_registries();

struct FetchedManifest {
  std::string body;        // the bytes as served: their sha256 is the manifest's digest
  std::string media_type;  // from Content-Type, else from the document itself
  Digest digest;
};

struct RegistryOptions {
  /// nullopt: the ones stored for the domain in Docker's config.json; empty: anonymous.
  std::optional<Credentials> credentials;
  /// nullopt: registry_scheme(domain, insecure_registries()).
  std::optional<std::string> scheme;
  /// The wait before the first retry of a blob download, doubled for each next one.
  std::chrono::milliseconds retry_delay{500};
};

/// Talks to the registry of one domain ("docker.io", "localhost:5000"). Safe to use from
/// several threads at once: each call has its own transfer handle (kept in a pool for
/// connection reuse), and tokens are shared under a mutex.
///
/// Authentication follows Docker: a request goes out anonymously until the registry answers
/// 401; its challenge is remembered. Basic: the stored credentials. Bearer: a token from the
/// challenge's realm for `repository:<repo>:pull` (`pull,push` for uploads), cached per scope
/// and fetched again when the registry rejects it; the request is then retried once.
///
/// Errors are berth::Error, one line each:
///   cannot reach registry <domain> (<url>): <curl's reason>
///   pull access denied for <repo> on <domain>: unauthorized       (push for uploads)
///   manifest for <reference> not found: manifest unknown
///   registry <domain> answered <status> for <method> <url>: <the registry's message>
class RegistryClient {
 public:
  /// Reads the stored credentials and berth's config unless `options` gives them; throws
  /// berth::Error when either file is malformed.
  explicit RegistryClient(std::string domain, RegistryOptions options = {});
  ~RegistryClient();
  RegistryClient(const RegistryClient&) = delete;
  RegistryClient& operator=(const RegistryClient&) = delete;

  const std::string& domain() const;
  /// "https://registry-1.docker.io", "http://localhost:5000".
  const std::string& base_url() const;

  /// What a tag or digest names now (media type, digest, size), from a HEAD; nullopt when
  /// the registry does not know it.
  std::optional<Descriptor> head_manifest(const std::string& repository,
                                          const std::string& tag_or_digest);

  /// A manifest or index. Fetched by digest, the body is checked against it
  /// (`manifest <digest> from <domain>: digest mismatch (got sha256:...)`).
  FetchedManifest get_manifest(const std::string& repository, const std::string& tag_or_digest);

  /// Streams a blob to `sink`, following redirects to storage backends (never with the
  /// registry's credentials). Connection failures, 5xx and 429 are retried up to 4 times,
  /// waiting retry_delay, then twice as long each time. A retry resumes with a Range request
  /// after the bytes already delivered; when the server answers with the whole blob instead,
  /// `on_restart` runs first so the caller discards what it has. Checking the digest is the
  /// caller's job (BlobWriter::commit).
  void get_blob(const std::string& repository, const Descriptor& blob,
                const std::function<void(const void* data, std::size_t size)>& sink,
                const std::function<void()>& on_restart);

  /// True when the repository has the blob (HEAD).
  bool has_blob(const std::string& repository, const Digest& digest);

  /// Asks the registry to link a blob of `from_repository` into `repository` without an
  /// upload. False when it will not (the upload it opened instead is cancelled) or when the
  /// credentials do not reach `from_repository`; the caller then uploads with put_blob.
  bool mount_blob(const std::string& repository, const Digest& digest,
                  const std::string& from_repository);

  /// Uploads the file at `path` as blob `digest` in one PUT (POST, then PUT <location>).
  void put_blob(const std::string& repository, const Digest& digest, std::int64_t size,
                const std::string& path);

  /// Uploads a manifest under a tag or its digest.
  void put_manifest(const std::string& repository, const std::string& tag_or_digest,
                    const std::string& body, const std::string& media_type);

  /// Checks `credentials` against the registry for `berth login`; throws
  /// `login to <domain> failed: unauthorized` when it refuses them.
  void check_login(const Credentials& credentials);

 private:
  struct State;
  std::unique_ptr<State> m_state;
};

}  // namespace berth::image
