// Test support: runs the built berth binary the way a user would and captures what they see.
#pragma once

#include <map>
#include <string>
#include <vector>

namespace berth::testing {

struct RunResult {
  int exit_code = -1;
  std::string out;
  std::string err;
};

/// Runs `berth <args>` in `dir` with `env` added to a minimal environment (PATH, HOME) and
/// `stdin_text` on standard input.
RunResult run_berth(const std::vector<std::string>& args, const std::string& dir,
                    const std::map<std::string, std::string>& env = {},
                    const std::string& stdin_text = "");

/// A fresh directory under /tmp, removed with everything in it when the object dies.
class TempDir {
 public:
  TempDir();
  ~TempDir();
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
  const std::string& path() const { return m_path; }
  /// Writes `content` to `relative` (parent directories created) and returns its path.
  std::string write(const std::string& relative, const std::string& content) const;

 private:
  std::string m_path;
};

std::string read_text(const std::string& path);

/// Replaces every occurrence of `from` in `text` by `to`.
std::string replace_all(std::string text, const std::string& from, const std::string& to);

}  // namespace berth::testing
