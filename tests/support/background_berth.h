// Test support: berth running in the background (`events`, `logs -f`) while the test acts,
// its output gathered in files the test reads as it grows.
#pragma once

#include <sys/types.h>

#include <chrono>
#include <functional>
#include <map>
#include <string>
#include <vector>

namespace berth::testing {

class BackgroundBerth {
 public:
  /// Starts `berth <args>` in `dir` with `env` added to a minimal environment (PATH, HOME);
  /// standard output and error go to files in `dir`'s fresh subdirectory. Throws when it
  /// cannot start.
  BackgroundBerth(const std::vector<std::string>& args, const std::string& dir,
                  const std::map<std::string, std::string>& env);
  /// Kills berth (by its pid) if it still runs, and reaps it.
  ~BackgroundBerth();
  BackgroundBerth(const BackgroundBerth&) = delete;
  BackgroundBerth& operator=(const BackgroundBerth&) = delete;

  /// What it has written so far.
  std::string out() const;
  std::string err() const;
  /// Polls its standard output until `done` holds for it, or the time is up; whether it did.
  bool wait_for_output(const std::function<bool(const std::string&)>& done,
                       std::chrono::milliseconds limit = std::chrono::seconds(15)) const;
  /// Sends `signal` to it.
  void signal(int signal) const;
  /// Waits up to `limit` for it to exit: its exit code, 128 + the signal that ended it, or
  /// -1 if it still runs.
  int wait(std::chrono::milliseconds limit = std::chrono::seconds(15));
  pid_t pid() const { return m_pid; }

 private:
  std::string m_out_path;
  std::string m_err_path;
  pid_t m_pid = -1;
  bool m_reaped = false;
  int m_exit_code = -1;
};

}  // namespace berth::testing
