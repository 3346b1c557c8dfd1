#include "tests/support/background_berth.h"

#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstring>
#include <filesystem>
#include <stdexcept>
#include <thread>

#include "tests/support/run_berth.h"

namespace berth::testing {

namespace {

/// NULL-terminated `char*` views of strings it owns, for posix_spawn.
class CStrings {
 public:
  explicit CStrings(std::vector<std::string> strings) : m_strings(std::move(strings)) {
    for (auto& text : m_strings) m_pointers.push_back(text.data());
    m_pointers.push_back(nullptr);
  }
  char** get() { return m_pointers.data(); }

 private:
  std::vector<std::string> m_strings;
  std::vector<char*> m_pointers;
};

std::string file_text(const std::string& path) {
  return std::filesystem::exists(path) ? read_text(path) : "";
}

}  // namespace

BackgroundBerth::BackgroundBerth(const std::vector<std::string>& args, const std::string& dir,
                                 const std::map<std::string, std::string>& env) {
  // A directory of its own: two background commands of one test never share a file.
  char output_dir[] = "/tmp/berth-background-XXXXXX";
  if (::mkdtemp(output_dir) == nullptr) throw std::runtime_error("BackgroundBerth: mkdtemp");
  m_out_path = std::string(output_dir) + "/out";
  m_err_path = std::string(output_dir) + "/err";

  std::vector<std::string> argv{BERTH_BINARY};
  argv.insert(argv.end(), args.begin(), args.end());
  std::map<std::string, std::string> variables{{"PATH", "/usr/sbin:/usr/bin:/sbin:/bin"},
                                               {"HOME", "/root"}};
  for (const auto& [key, value] : env) variables[key] = value;
  std::vector<std::string> envp;
  for (const auto& [key, value] : variables) envp.push_back(key + "=" + value);
  CStrings argv_c(std::move(argv));
  CStrings envp_c(std::move(envp));

  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_addopen(&actions, STDIN_FILENO, "/dev/null", O_RDONLY, 0);
  posix_spawn_file_actions_addopen(&actions, STDOUT_FILENO, m_out_path.c_str(),
                                   O_WRONLY | O_CREAT | O_TRUNC, 0600);
  posix_spawn_file_actions_addopen(&actions, STDERR_FILENO, m_err_path.c_str(),
                                   O_WRONLY | O_CREAT | O_TRUNC, 0600);
  posix_spawn_file_actions_addchdir_np(&actions, dir.c_str());
  const int error =
      ::posix_spawn(&m_pid, argv_c.get()[0], &actions, nullptr, argv_c.get(), envp_c.get());
  posix_spawn_file_actions_destroy(&actions);
  if (error != 0) {
    throw std::runtime_error(std::string("BackgroundBerth: ") + std::strerror(error));
  }
}

BackgroundBerth::~BackgroundBerth() {
  if (!m_reaped) {
    ::kill(m_pid, SIGKILL);
    ::waitpid(m_pid, nullptr, 0);
  }
  std::error_code ignored;
  std::filesystem::remove_all(std::filesystem::path(m_out_path).parent_path(), ignored);
}

std::string BackgroundBerth::out() const {
  return file_text(m_out_path);
}

std::string BackgroundBerth::err() const {
  return file_text(m_err_path);
}

bool BackgroundBerth::wait_for_output(const std::function<bool(const std::string&)>& done,
                                      std::chrono::milliseconds limit) const {
  const auto deadline = std::chrono::steady_clock::now() + limit;
  while (!done(out())) {
    if (std::chrono::steady_clock::now() >= deadline) return false;
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  return true;
}

void BackgroundBerth::signal(int number) const {
  if (!m_reaped) ::kill(m_pid, number);
}

int BackgroundBerth::wait(std::chrono::milliseconds limit) {
  const auto deadline = std::chrono::steady_clock::now() + limit;
  int status = 0;
  for (;;) {
    if (m_reaped) return m_exit_code;
    const pid_t done = ::waitpid(m_pid, &status, WNOHANG);
    if (done == m_pid) break;
    if (std::chrono::steady_clock::now() >= deadline) return -1;
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  m_reaped = true;
  m_exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
  return m_exit_code;
}

}  // namespace berth::testing
