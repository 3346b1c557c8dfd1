// File-system helpers with berth's error convention (every failure names the path).
#pragma once

#include <optional>
#include <string>
#include <string_view>

namespace berth::fs {

/// The whole content of a file; throws berth::Error "<path>: <reason>".
std::string read_file(const std::string& path);

/// Like read_file, but nullopt when the file does not exist.
std::optional<std::string> read_file_if_exists(const std::string& path);

/// Replaces `path` with `data` through a temp file beside it and rename(2), so a reader sees
/// the old content or the new, never half; `mode` is the new file's. Throws berth::Error
/// naming the path; the temp file never stays behind.
void write_file_atomic(const std::string& path, std::string_view data, unsigned mode = 0644);

/// True when `path` names an existing regular file (or a link to one).
bool is_file(const std::string& path);

/// True when `path` names an existing directory.
bool is_directory(const std::string& path);

/// `path` made absolute against `base` (itself absolute) and lexically normalised:
/// no ".", "..", or doubled slashes; no trailing slash except for "/".
std::string absolute(std::string_view path, std::string_view base);

/// The directory part of an absolute path ("/a/b" -> "/a", "/a" -> "/").
std::string dirname(std::string_view path);

/// The last component of a path ("/a/b" -> "b", "/" -> "").
std::string basename(std::string_view path);

/// The first executable regular file named `name` in the directories of $PATH, as execvp(3)
/// searches them; nullopt when there is none.
std::optional<std::string> find_executable(std::string_view name);

/// The process's current directory; throws berth::Error when it is gone.
std::string current_directory();

}  // namespace berth::fs
