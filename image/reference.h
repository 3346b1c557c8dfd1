// Image references as users write them (`redis:7`, `localhost:5000/team/app:1.2`,
// `name@sha256:...`), parsed and normalised by Docker's rules.
#pragma once

#include <string>
#include <string_view>

namespace berth::image {

struct Reference {
  std::string domain;  // "docker.io", "localhost:5000", "ghcr.io"
  std::string path;    // "library/redis", "team/app"
  std::string tag;     // "7"; empty only when a digest is given without a tag
  std::string digest;  // "sha256:<hex>" or empty

  /// domain/path: "docker.io/library/redis".
  std::string repository() const;
  /// The fully qualified form, stable for storage: "docker.io/library/redis:7",
  /// "docker.io/library/redis@sha256:..." or "docker.io/library/redis:7@sha256:...".
  std::string str() const;
  /// The short form Docker prints: "redis:7", "team/app:1.2" (docker.io/team/app),
  /// "localhost:5000/team/app:1.2"; digest appended as "@sha256:..." when present.
  std::string familiar() const;
  /// familiar() without tag and digest: "redis", "localhost:5000/team/app".
  std::string familiar_name() const;

  bool operator==(const Reference&) const = default;
};

/// Parses and normalises a reference: a name without a domain is on docker.io, a one-part
/// docker.io path is under library/, and a reference with neither tag nor digest gets tag
/// "latest". A first component is a domain when it has a '.' or ':' or is "localhost"
/// (Docker's rule). Throws berth::Error `invalid reference format: "<text>"` (with
/// ": repository name must be lowercase" when that is the reason).
Reference parse_reference(std::string_view text);

/// Like parse_reference, but a reference without tag or digest keeps both empty (for
/// `berth image ls redis`-style filters and for `push` of all tags).
Reference parse_reference_name(std::string_view text);

/// The host a domain's registry API lives on: docker.io is registry-1.docker.io.
std::string registry_host(std::string_view domain);

}  // namespace berth::image
