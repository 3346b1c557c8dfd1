#include "runtime/container_state.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "util/error.h"
#include "util/fs.h"

namespace berth::runtime {

namespace {

using nlohmann::json;

json to_json(const HealthResult& result) {
  return json{{"start", result.start},
              {"end", result.end},
              {"exit_code", result.exit_code},
              {"output", result.output}};
}

HealthResult health_result_from_json(const json& value) {
  HealthResult result;
  result.start = value.value("start", "");
  result.end = value.value("end", "");
  result.exit_code = value.value("exit_code", 0);
  result.output = value.value("output", "");
  return result;
}

json to_json(const ContainerState& state) {
  json health_log = json::array();
  for (const auto& result : state.health_log) {
    health_log.push_back(to_json(result));
  }
  return json{{"status", state.status},
              {"pid", state.pid},
              {"pid_start_time", state.pid_start_time},
              {"monitor_pid", state.monitor_pid},
              {"monitor_start_time", state.monitor_start_time},
              {"exit_code", state.exit_code},
              {"oom_killed", state.oom_killed},
              {"started_at", state.started_at},
              {"finished_at", state.finished_at},
              {"restart_count", state.restart_count},
              {"error", state.error},
              {"health", state.health},
              {"failing_streak", state.failing_streak},
              {"health_log", std::move(health_log)}};
}

/// Missing keys keep their defaults (an older berth wrote fewer); a key of the wrong type is
/// an error (json::type_error).
ContainerState state_from_json(const json& value) {
  if (!value.is_object()) {
    throw json::type_error::create(302, "the state is not a JSON object", &value);
  }
  ContainerState state;
  state.status = value.value("status", state.status);
  state.pid = value.value("pid", 0);
  state.pid_start_time = value.value("pid_start_time", std::uint64_t{0});
  state.monitor_pid = value.value("monitor_pid", 0);
  state.monitor_start_time = value.value("monitor_start_time", std::uint64_t{0});
  state.exit_code = value.value("exit_code", 0);
  state.oom_killed = value.value("oom_killed", false);
  state.started_at = value.value("started_at", "");
  state.finished_at = value.value("finished_at", "");
  state.restart_count = value.value("restart_count", 0);
  state.error = value.value("error", "");
  state.health = value.value("health", "");
  state.failing_streak = value.value("failing_streak", 0);
  for (const auto& result : value.value("health_log", json::array())) {
    state.health_log.push_back(health_result_from_json(result));
  }
  return state;
}

/// A temporary file next to the target, removed unless it was renamed into place.
class TempFile {
 public:
  explicit TempFile(const std::string& target) {
    const std::string dir = fs::dirname(target);
    m_path = fmt::format("{}/.{}.XXXXXX", dir, fs::basename(target));
    m_fd = ::mkostemp(m_path.data(), O_CLOEXEC);
    if (m_fd < 0) {
      throw Error(
          fmt::format("{}: cannot create a file in {}: {}", target, dir, std::strerror(errno)));
    }
  }
  ~TempFile() {
    if (m_fd >= 0) {
      ::close(m_fd);
    }
    if (!m_renamed) {
      ::unlink(m_path.c_str());
    }
  }
  TempFile(const TempFile&) = delete;
  TempFile& operator=(const TempFile&) = delete;

  int fd() const { return m_fd; }
  const std::string& path() const { return m_path; }
  void close() {
    const int fd = m_fd;
    m_fd = -1;
    if (::close(fd) != 0) {
      throw Error(fmt::format("{}: {}", m_path, std::strerror(errno)));
    }
  }
  void rename_to(const std::string& target) {
    if (::rename(m_path.c_str(), target.c_str()) != 0) {
      throw Error(fmt::format("{}: {}", target, std::strerror(errno)));
    }
    m_renamed = true;
  }

 private:
  std::string m_path;
  int m_fd = -1;
  bool m_renamed = false;
};

void write_all(int fd, std::string_view data, const std::string& path) {
  while (!data.empty()) {
    const ssize_t n = ::write(fd, data.data(), data.size());
    if (n < 0) {
      if (errno == EINTR) {
        continue;
      }
      throw Error(fmt::format("{}: {}", path, std::strerror(errno)));
    }
    data.remove_prefix(static_cast<std::size_t>(n));
  }
}

}  // namespace

std::optional<ContainerState> read_state(const std::string& path) {
  const auto text = fs::read_file_if_exists(path);
  if (!text) {
    return std::nullopt;
  }
  try {
    return state_from_json(json::parse(*text));
  } catch (const json::exception& e) {
    throw Error(fmt::format("{}: invalid container state: {}", path, e.what()));
  }
}

void write_state(const std::string& path, const ContainerState& state) {
  const std::string text = to_json(state).dump(-1, ' ', false, json::error_handler_t::replace);
  TempFile temp(path);
  // mkostemp makes the file 0600; readers (berth commands by any root shell) need no more, but
  // keep the mode the file had before a rename replaced it predictable.
  ::fchmod(temp.fd(), 0644);
  write_all(temp.fd(), text, path);
  // No fsync: the run root is a tmpfs that does not outlive a reboot. The rename alone makes a
  // reader see either the whole old state or the whole new one.
  temp.close();
  temp.rename_to(path);
}


}  // namespace berth::runtime
