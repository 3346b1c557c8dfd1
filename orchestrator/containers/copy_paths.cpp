#include "orchestrator/containers/copy_paths.h"

#include <algorithm>

#include <fmt/format.h>

#include "orchestrator/compose/canonical.h"
#include "util/error.h"

namespace berth::containers {

namespace {

bool has_trailing_separator(std::string_view path) {
  return !path.empty() && path.back() == '/';
}

/// Go's filepath.Base: the last element, trailing slashes ignored; "/" for the root.
std::string base_name(std::string_view path) {
  if (path.empty()) return ".";
  while (path.size() > 1 && path.back() == '/') path.remove_suffix(1);
  if (path == "/") return "/";
  const auto slash = path.rfind('/');
  return std::string(slash == std::string_view::npos ? path : path.substr(slash + 1));
}

/// Go's filepath.Dir: everything before the last element, cleaned.
std::string dir_name(std::string_view path) {
  const auto slash = path.rfind('/');
  if (slash == std::string_view::npos) return ".";
  return clean_path(path.substr(0, slash + 1));
}

}  // namespace

CopyEndpoint split_copy_arg(std::string_view arg) {
  if (arg.starts_with('/')) return {"", std::string(arg)};
  const auto colon = arg.find(':');
  if (colon == std::string_view::npos || arg.starts_with('.')) return {"", std::string(arg)};
  return {std::string(arg.substr(0, colon)), std::string(arg.substr(colon + 1))};
}

std::string clean_path(std::string_view path) {
  return compose::clean_path(path);
}

bool names_contents(std::string_view path) {
  return base_name(path) == ".";
}

bool asserts_directory(std::string_view path) {
  return has_trailing_separator(path) || names_contents(path);
}

std::string absolute_copy_path(std::string_view path, std::string_view base) {
  std::string joined = path.starts_with('/') ? std::string(path) : fmt::format("{}/{}", base, path);
  std::string cleaned = clean_path(joined);
  // Docker's PreserveTrailingDotOrSeparator: the cleaning must not change what is copied.
  if (names_contents(path) && !names_contents(cleaned)) {
    if (!has_trailing_separator(cleaned)) cleaned += '/';
    cleaned += '.';
  }
  if (has_trailing_separator(path) && !has_trailing_separator(cleaned)) cleaned += '/';
  return cleaned;
}

std::pair<std::string, std::string> split_dir_entry(std::string_view path) {
  std::string cleaned = clean_path(path);
  if (names_contents(path) && cleaned != "/") cleaned += "/.";
  // The root's contents are what a copy of "/" means.
  if (cleaned == "/") return {"/", "."};
  return {dir_name(cleaned), base_name(cleaned)};
}

std::string join_link_target(std::string_view link, std::string_view target) {
  if (target.starts_with('/')) return clean_path(target);
  return clean_path(fmt::format("{}/{}", split_dir_entry(link).first, target));
}

PathInfo resolve_destination(const std::string& path, const PathStatFn& lstat) {
  constexpr int k_max_links = 10;  // Docker's limit
  std::string current = path;
  auto found = lstat(current);
  for (int followed = 0; found && found->is_symlink; ++followed) {
    if (followed == k_max_links) throw Error("too many symlinks in " + path);
    current = join_link_target(current, found->link_target);
    found = lstat(current);
  }
  if (!found) return {current, false, false};
  if (!found->is_dir && asserts_directory(current)) throw Error(current + ": not a directory");
  return {current, true, found->is_dir};
}

CopyPlan plan_copy(const std::string& source_name, bool source_is_dir, const PathInfo& dest) {
  if (dest.exists && dest.is_dir) return {dest.path, source_name};
  if (dest.exists && source_is_dir) {
    throw Error(fmt::format("cannot copy directory: {} is not a directory", dest.path));
  }
  auto [dir, entry] = split_dir_entry(dest.path);
  // A single file onto a missing "dir/": the directory must exist (Docker creates no
  // parents, and a file cannot become one).
  if (!dest.exists && !source_is_dir && asserts_directory(dest.path)) {
    throw Error(fmt::format("no such directory: {}", dest.path));
  }
  return {std::move(dir), std::move(entry)};
}

bool mount_is_read_only(const runtime::MountSpec& mount) {
  return mount.read_only ||
         std::find(mount.options.begin(), mount.options.end(), "ro") != mount.options.end();
}

const runtime::MountSpec* covering_mount(const std::vector<runtime::MountSpec>& mounts,
                                         std::string_view path) {
  const std::string wanted = clean_path(path);
  const runtime::MountSpec* best = nullptr;
  std::size_t best_length = 0;
  for (const auto& mount : mounts) {
    const std::string target = clean_path(mount.target);
    const bool holds = wanted == target || target == "/" ||
                       (wanted.starts_with(target) && wanted[target.size()] == '/');
    if (holds && (best == nullptr || target.size() > best_length)) {
      best = &mount;
      best_length = target.size();
    }
  }
  return best;
}

}  // namespace berth::containers
