#include "image/dockerfile/sources.h"

#include <fcntl.h>
#include <fmt/format.h>
#include <sys/stat.h>
#include <unistd.h>

#include <array>
#include <cerrno>
#include <cstring>
#include <map>
#include <utility>

#include "image/dockerfile/glob.h"
#include "image/dockerfile/root_path.h"
#include "image/dockerfile/source_walk.h"
#include "util/error.h"
#include "util/fs.h"
#include "util/safe_open.h"
#include "util/sha256.h"

namespace berth::image::dockerfile {

namespace {

std::vector<std::string> split_elements(std::string_view path) {
  std::vector<std::string> elements;
  while (!path.empty()) {
    const auto slash = path.find('/');
    elements.emplace_back(path.substr(0, slash));
    path = slash == std::string_view::npos ? std::string_view{} : path.substr(slash + 1);
  }
  return elements;
}

/// Walks `patterns[level...]` below the directory `dir_fd` (`lexical` as the user wrote
/// it, `resolved` where it really is, for .dockerignore), as Docker does: a wildcard
/// element matches entry names, and only real directories are walked into.
void match_level(const SourceRoot& root, int dir_fd, const std::string& lexical,
                 const std::string& resolved, const std::vector<std::string>& patterns,
                 std::size_t level, std::vector<std::string>& out) {
  const std::string& pattern = patterns[level];
  const bool last = level + 1 == patterns.size();
  for (const SourceEntry& entry : list_source_dir(root, dir_fd, resolved)) {
    if (!glob_match(pattern, entry.name)) {
      continue;
    }
    if (last) {
      out.push_back(join_path(lexical, entry.name));
    } else if (S_ISDIR(entry.st.st_mode)) {
      const std::string below = join_path(resolved, entry.name);
      const Fd dir = open_source_dir(root, dir_fd, entry.name, below);
      match_level(root, dir.get(), join_path(lexical, entry.name), below, patterns, level + 1, out);
    }
  }
}

/// Feeds the hash what copying a tree would reproduce, entry by entry: a record of name,
/// type, mode and size, then the content or link target. Records carry their lengths, so
/// two different trees never feed the same bytes.
class TreeHasher {
 public:
  explicit TreeHasher(const SourceRoot& root) : m_root(root) {}

  void add_source(const std::string& name) {
    const RootPath source = require_source(m_root, name);
    if (S_ISDIR(source.st.st_mode)) {
      const Fd dir = open_beneath(m_root.root_fd, source.path, O_RDONLY | O_DIRECTORY);
      if (!dir) {
        fail(source.path, errno);
      }
      record(name, source.st, "");
      add_children(dir.get(), source.path, name);
      return;
    }
    const Fd parent = open_beneath(m_root.root_fd, parent_path(source.path), O_PATH | O_DIRECTORY);
    if (!parent) {
      fail(parent_path(source.path), errno);
    }
    add_entry(parent.get(), base_name(source.path), source.path, name, source.st);
  }

  std::string finish() { return "sha256:" + m_hash.finish_hex(); }

 private:
  void add_children(int dir_fd, const std::string& path, const std::string& name) {
    for (const SourceEntry& entry : list_source_dir(m_root, dir_fd, path)) {
      const std::string child_path = join_path(path, entry.name);
      const std::string child_name = join_path(name, entry.name);
      if (S_ISDIR(entry.st.st_mode)) {
        const Fd child = open_source_dir(m_root, dir_fd, entry.name, child_path);
        record(child_name, entry.st, "");
        add_children(child.get(), child_path, child_name);
      } else {
        add_entry(dir_fd, entry.name, child_path, child_name, entry.st);
      }
    }
  }

  void add_entry(int dir_fd, const std::string& entry, const std::string& path,
                 const std::string& name, const struct stat& st) {
    if (S_ISLNK(st.st_mode)) {
      std::array<char, 4096> target{};
      const ssize_t length = ::readlinkat(dir_fd, entry.c_str(), target.data(), target.size());
      if (length < 0) {
        fail(path, errno);
      }
      record(name, st, std::string_view(target.data(), static_cast<std::size_t>(length)));
      return;
    }
    if (!S_ISREG(st.st_mode)) {
      record(name, st, "");
      return;
    }
    // A second name of a file already hashed is hashed as the hard link the copy makes.
    if (st.st_nlink > 1) {
      const auto [first, added] = m_inodes.try_emplace({st.st_dev, st.st_ino}, name);
      if (!added) {
        record(name, st, "", first->second);
        return;
      }
    }
    record(name, st, "");
    const Fd file(::openat(dir_fd, entry.c_str(), O_RDONLY | O_NOFOLLOW | O_CLOEXEC));
    if (!file) {
      fail(path, errno);
    }
    std::uint64_t total = 0;
    for (;;) {
      const ssize_t got = ::read(file.get(), m_buffer.data(), m_buffer.size());
      if (got < 0) {
        if (errno == EINTR) {
          continue;
        }
        fail(path, errno);
      }
      if (got == 0) {
        break;
      }
      m_hash.update(m_buffer.data(), static_cast<std::size_t>(got));
      total += static_cast<std::uint64_t>(got);
    }
    // What was read, in case the file changed size since its stat.
    m_hash.update(fmt::format("={};", total));
  }

  void record(std::string_view name, const struct stat& st, std::string_view target,
              std::string_view link_to = {}) {
    const char type = S_ISDIR(st.st_mode)    ? 'd'
                      : S_ISREG(st.st_mode)  ? (link_to.empty() ? 'f' : 'h')
                      : S_ISLNK(st.st_mode)  ? 'l'
                      : S_ISCHR(st.st_mode)  ? 'c'
                      : S_ISBLK(st.st_mode)  ? 'b'
                      : S_ISFIFO(st.st_mode) ? 'p'
                                             : 's';
    const auto size =
        S_ISREG(st.st_mode) && link_to.empty() ? static_cast<std::uint64_t>(st.st_size) : 0;
    const auto device =
        S_ISCHR(st.st_mode) || S_ISBLK(st.st_mode) ? static_cast<std::uint64_t>(st.st_rdev) : 0;
    const std::string_view extra = link_to.empty() ? target : link_to;
    m_hash.update(fmt::format("{}:{}{} {:o} {} {} {}:", name.size(), name, type, st.st_mode & 07777,
                              size, device, extra.size()));
    m_hash.update(extra);
  }

  [[noreturn]] void fail(const std::string& path, int error) const {
    throw Error(
        fmt::format("{}: {}: {}", m_root.label, path.empty() ? "." : path, std::strerror(error)));
  }

  const SourceRoot& m_root;
  Sha256Stream m_hash;
  std::map<std::pair<dev_t, ino_t>, std::string> m_inodes;
  std::vector<char> m_buffer = std::vector<char>(256 * 1024);
};

}  // namespace

std::vector<std::string> match_sources(const SourceRoot& root, std::string_view source) {
  // Docker's clamp: the source is taken from the root, so ".." cannot climb above it.
  const std::string cleaned = fs::absolute(source, "/").substr(1);
  const std::vector<std::string> elements = split_elements(cleaned);
  std::size_t first_wildcard = 0;
  while (first_wildcard < elements.size() && !glob_has_wildcards(elements[first_wildcard])) {
    ++first_wildcard;
  }
  if (first_wildcard == elements.size()) {
    require_source(root, cleaned.empty() ? "." : cleaned);
    return {cleaned.empty() ? "." : cleaned};
  }

  std::string prefix;
  for (std::size_t i = 0; i < first_wildcard; ++i) {
    prefix = join_path(prefix, elements[i]);
  }
  const std::vector<std::string> patterns(elements.begin() + static_cast<long>(first_wildcard),
                                          elements.end());
  std::vector<std::string> matches;
  bool well_formed = true;
  for (const std::string& pattern : patterns) {
    well_formed = well_formed && !glob_syntax_error(pattern);
  }
  const auto base = well_formed ? find_source(root, prefix.empty() ? "." : prefix) : std::nullopt;
  if (base && S_ISDIR(base->st.st_mode)) {
    const Fd dir = open_beneath(root.root_fd, base->path, O_RDONLY | O_DIRECTORY);
    if (!dir) {
      throw Error(fmt::format("{}: {}: {}", root.label, prefix.empty() ? "." : prefix,
                              std::strerror(errno)));
    }
    match_level(root, dir.get(), prefix, base->path, patterns, 0, matches);
  }
  if (matches.empty()) {
    throw Error(fmt::format("{}: \"{}\": no source files were specified", root.label, source));
  }
  return matches;
}

std::string hash_sources(const SourceRoot& root, const std::vector<std::string>& paths) {
  TreeHasher hasher(root);
  for (const std::string& path : paths) {
    hasher.add_source(path);
  }
  return hasher.finish();
}

}  // namespace berth::image::dockerfile
