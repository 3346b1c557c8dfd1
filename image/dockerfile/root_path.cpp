#include "image/dockerfile/root_path.h"

#include <fcntl.h>
#include <unistd.h>

#include <array>
#include <cerrno>
#include <cstddef>
#include <vector>

#include "util/unique_fd.h"

namespace berth::image::dockerfile {

namespace {

/// The kernel's limit on symlinks followed in one lookup.
constexpr int k_max_symlinks = 40;

/// Pushes the elements of `path` so that the first one is popped first.
void push_elements(std::vector<std::string>& todo, std::string_view path) {
  std::vector<std::string> elements;
  while (!path.empty()) {
    const auto slash = path.find('/');
    const std::string_view element = path.substr(0, slash);
    path = slash == std::string_view::npos ? std::string_view{} : path.substr(slash + 1);
    if (!element.empty() && element != ".") {
      elements.emplace_back(element);
    }
  }
  todo.insert(todo.end(), elements.rbegin(), elements.rend());
}

bool read_link(int dir, const std::string& name, std::string* target) {
  std::array<char, 4096> buffer{};
  const ssize_t length = ::readlinkat(dir, name.c_str(), buffer.data(), buffer.size());
  if (length < 0) {
    return false;
  }
  if (static_cast<std::size_t>(length) == buffer.size()) {
    errno = ENAMETOOLONG;
    return false;
  }
  target->assign(buffer.data(), static_cast<std::size_t>(length));
  return true;
}

}  // namespace

RootPath resolve_in_root(int root_fd, std::string_view path) {
  RootPath result;
  std::vector<std::string> todo;  // elements still to resolve, the next one last
  push_elements(todo, path);
  std::vector<std::string> parts;  // resolved directories, each open in `dirs`
  std::vector<Fd> dirs;
  std::vector<std::string> missing;  // the elements from the first one that does not exist
  bool leaf = false;                 // the last element resolved is not a directory
  int symlinks = 0;
  while (!todo.empty()) {
    const std::string element = std::move(todo.back());
    todo.pop_back();
    if (!missing.empty()) {
      if (element == "..") {
        missing.pop_back();
      } else {
        missing.push_back(element);
      }
      continue;
    }
    if (leaf) {
      // Something below a file ("file/x", even "file/..") does not exist, as the kernel says.
      result.error = ENOTDIR;
      return result;
    }
    if (element == "..") {
      if (!parts.empty()) {
        parts.pop_back();
        dirs.pop_back();
      }
      continue;
    }
    const int dir = dirs.empty() ? root_fd : dirs.back().get();
    struct stat st {};
    if (::fstatat(dir, element.c_str(), &st, AT_SYMLINK_NOFOLLOW) != 0) {
      if (errno != ENOENT) {
        result.error = errno;
        return result;
      }
      missing.push_back(element);
      continue;
    }
    if (S_ISLNK(st.st_mode)) {
      std::string target;
      if (++symlinks > k_max_symlinks) {
        result.error = ELOOP;
        return result;
      }
      if (!read_link(dir, element, &target)) {
        result.error = errno;
        return result;
      }
      if (target.empty()) {
        result.error = ENOENT;
        return result;
      }
      if (target.front() == '/') {
        parts.clear();
        dirs.clear();
      }
      push_elements(todo, target);
      continue;
    }
    if (S_ISDIR(st.st_mode)) {
      Fd opened(::openat(dir, element.c_str(), O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC));
      if (!opened) {
        result.error = errno;
        return result;
      }
      parts.push_back(element);
      dirs.push_back(std::move(opened));
      continue;
    }
    parts.push_back(element);
    result.st = st;
    leaf = true;
  }
  for (const auto* list : {&parts, &missing}) {
    for (const std::string& element : *list) {
      result.path = join_path(result.path, element);
    }
  }
  if (!missing.empty()) {
    return result;
  }
  result.exists = true;
  if (!leaf && ::fstat(dirs.empty() ? root_fd : dirs.back().get(), &result.st) != 0) {
    result.error = errno;
    result.exists = false;
  }
  return result;
}

std::string join_path(std::string_view dir, std::string_view name) {
  if (dir.empty()) {
    return std::string(name);
  }
  std::string joined;
  joined.reserve(dir.size() + 1 + name.size());
  joined.append(dir);
  joined += '/';
  joined.append(name);
  return joined;
}

std::string parent_path(std::string_view path) {
  const auto slash = path.rfind('/');
  return slash == std::string_view::npos ? std::string() : std::string(path.substr(0, slash));
}

std::string base_name(std::string_view path) {
  const auto slash = path.rfind('/');
  return std::string(slash == std::string_view::npos ? path : path.substr(slash + 1));
}

}  // namespace berth::image::dockerfile
