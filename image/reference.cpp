#include "image/reference.h"

#include <fmt/format.h>

#include "image/digest.h"
#include "util/error.h"

namespace berth::image {
namespace {

constexpr std::string_view k_default_domain = "docker.io";
constexpr std::string_view k_legacy_default_domain = "index.docker.io";
constexpr std::string_view k_default_registry_host = "registry-1.docker.io";
constexpr std::string_view k_official_prefix = "library/";
constexpr std::string_view k_localhost = "localhost";
constexpr std::size_t k_max_name_length = 255;
constexpr std::size_t k_max_tag_length = 128;
constexpr std::size_t k_image_id_length = 64;

bool is_digit(char c) {
  return c >= '0' && c <= '9';
}

bool is_lower(char c) {
  return c >= 'a' && c <= 'z';
}

bool is_upper(char c) {
  return c >= 'A' && c <= 'Z';
}

bool is_alnum(char c) {
  return is_digit(c) || is_lower(c) || is_upper(c);
}

bool is_hex(char c) {
  return is_digit(c) || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F');
}

bool is_word(char c) {
  return is_alnum(c) || c == '_';
}

/// How a repository path fares: `uppercase` means it would be valid in lowercase, which gets
/// Docker's more helpful message.
enum class PathCheck { ok, uppercase, invalid };

/// One path component: alphanumeric runs joined by '.', '_', '__' or any number of '-'.
PathCheck check_component(std::string_view component) {
  bool uppercase = false;
  std::size_t i = 0;
  for (;;) {
    const std::size_t run = i;
    while (i < component.size() && is_alnum(component[i])) {
      uppercase = uppercase || is_upper(component[i]);
      ++i;
    }
    if (i == run) {
      return PathCheck::invalid;
    }
    if (i == component.size()) {
      break;
    }
    if (component[i] == '.') {
      ++i;
    } else if (component[i] == '_') {
      ++i;
      if (i < component.size() && component[i] == '_') {
        ++i;
      }
    } else if (component[i] == '-') {
      while (i < component.size() && component[i] == '-') {
        ++i;
      }
    } else {
      return PathCheck::invalid;
    }
  }
  return uppercase ? PathCheck::uppercase : PathCheck::ok;
}

PathCheck check_path(std::string_view path) {
  PathCheck verdict = PathCheck::ok;
  for (;;) {
    const auto slash = path.find('/');
    const PathCheck component = check_component(path.substr(0, slash));
    if (component == PathCheck::invalid) {
      return PathCheck::invalid;
    }
    if (component == PathCheck::uppercase) {
      verdict = PathCheck::uppercase;
    }
    if (slash == std::string_view::npos) {
      return verdict;
    }
    path.remove_prefix(slash + 1);
  }
}

/// A host name label: alphanumerics (either case) and '-', not starting or ending with '-'.
bool is_host_label(std::string_view label) {
  if (label.empty() || label.front() == '-' || label.back() == '-') {
    return false;
  }
  for (char c : label) {
    if (!is_alnum(c) && c != '-') {
      return false;
    }
  }
  return true;
}

bool is_host_name(std::string_view host) {
  for (;;) {
    const auto dot = host.find('.');
    if (!is_host_label(host.substr(0, dot))) {
      return false;
    }
    if (dot == std::string_view::npos) {
      return true;
    }
    host.remove_prefix(dot + 1);
  }
}

bool is_port(std::string_view port) {
  if (port.empty()) {
    return false;
  }
  for (char c : port) {
    if (!is_digit(c)) {
      return false;
    }
  }
  return true;
}

/// host[:port], where host is a dotted name or a bracketed IPv6 address.
bool is_domain(std::string_view domain) {
  std::string_view rest;
  if (domain.starts_with('[')) {
    const auto close = domain.find(']');
    if (close == std::string_view::npos || close == 1) {
      return false;
    }
    for (char c : domain.substr(1, close - 1)) {
      if (!is_hex(c) && c != ':') {
        return false;
      }
    }
    rest = domain.substr(close + 1);
  } else {
    const auto colon = domain.find(':');
    if (!is_host_name(domain.substr(0, colon))) {
      return false;
    }
    rest = colon == std::string_view::npos ? std::string_view{} : domain.substr(colon);
  }
  return rest.empty() || (rest.front() == ':' && is_port(rest.substr(1)));
}

/// Docker's rule for telling "registry.example.com/app" from "team/app".
bool looks_like_domain(std::string_view component) {
  return component.find_first_of(".:") != std::string_view::npos || component == k_localhost;
}

bool is_tag(std::string_view tag) {
  if (tag.empty() || tag.size() > k_max_tag_length || !is_word(tag.front())) {
    return false;
  }
  for (char c : tag) {
    if (!is_word(c) && c != '.' && c != '-') {
      return false;
    }
  }
  return true;
}

/// 64 lowercase hex digits: an image id, which Docker refuses to read as a repository name.
bool is_image_id(std::string_view text) {
  if (text.size() != k_image_id_length) {
    return false;
  }
  for (char c : text) {
    if (!is_digit(c) && !(c >= 'a' && c <= 'f')) {
      return false;
    }
  }
  return true;
}

Error invalid_reference(std::string_view text, std::string_view reason = {}) {
  if (reason.empty()) {
    return Error(fmt::format("invalid reference format: \"{}\"", text));
  }
  return Error(fmt::format("invalid reference format: {}: \"{}\"", reason, text));
}

Reference parse(std::string_view text, bool default_tag) {
  if (is_image_id(text)) {
    throw Error(fmt::format(
        "invalid repository name \"{}\", cannot specify 64-byte hexadecimal strings", text));
  }
  std::string_view rest = text;
  std::string_view digest;
  if (const auto at = rest.find('@'); at != std::string_view::npos) {
    digest = rest.substr(at + 1);
    rest = rest.substr(0, at);
    if (!is_digest(digest)) {
      throw invalid_reference(text);
    }
  }
  std::string_view domain = k_default_domain;
  if (const auto slash = rest.find('/');
      slash != std::string_view::npos && looks_like_domain(rest.substr(0, slash))) {
    domain = rest.substr(0, slash);
    rest = rest.substr(slash + 1);
    if (!is_domain(domain)) {
      throw invalid_reference(text);
    }
  }
  // With the domain gone, a ':' can only start the tag.
  std::string_view tag;
  if (const auto colon = rest.find(':'); colon != std::string_view::npos) {
    tag = rest.substr(colon + 1);
    rest = rest.substr(0, colon);
    if (!is_tag(tag)) {
      throw invalid_reference(text);
    }
  }
  switch (check_path(rest)) {
    case PathCheck::ok: break;
    case PathCheck::uppercase: throw invalid_reference(text, "repository name must be lowercase");
    case PathCheck::invalid: throw invalid_reference(text);
  }

  Reference reference;
  reference.domain = domain == k_legacy_default_domain ? k_default_domain : domain;
  if (reference.domain == k_default_domain && rest.find('/') == std::string_view::npos) {
    reference.path = k_official_prefix;
  }
  reference.path += rest;
  if (reference.domain.size() + 1 + reference.path.size() > k_max_name_length) {
    throw invalid_reference(text, fmt::format("repository name must not be more than {} characters",
                                              k_max_name_length));
  }
  reference.tag = tag;
  reference.digest = digest;
  if (default_tag && tag.empty() && digest.empty()) {
    reference.tag = "latest";
  }
  return reference;
}

}  // namespace

std::string Reference::repository() const {
  return domain + "/" + path;
}

std::string Reference::str() const {
  std::string out = repository();
  if (!tag.empty()) {
    out += ":" + tag;
  }
  if (!digest.empty()) {
    out += "@" + digest;
  }
  return out;
}

std::string Reference::familiar_name() const {
  if (domain != k_default_domain) {
    return repository();
  }
  // Only a direct child of library/ is an official image; "library/a/b" keeps its prefix.
  if (path.starts_with(k_official_prefix) &&
      path.find('/', k_official_prefix.size()) == std::string::npos) {
    return path.substr(k_official_prefix.size());
  }
  return path;
}

std::string Reference::familiar() const {
  std::string out = familiar_name();
  if (!tag.empty()) {
    out += ":" + tag;
  }
  if (!digest.empty()) {
    out += "@" + digest;
  }
  return out;
}

Reference parse_reference(std::string_view text) {
  return parse(text, true);
}

Reference parse_reference_name(std::string_view text) {
  return parse(text, false);
}

std::string registry_host(std::string_view domain) {
  return std::string(domain == k_default_domain ? k_default_registry_host : domain);
}

}  // namespace berth::image
