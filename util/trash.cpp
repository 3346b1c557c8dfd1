#include "util/trash.h"

#include <unistd.h>

#include <atomic>
#include <cstdio>
#include <filesystem>
#include <system_error>

#include <fmt/format.h>

#include "util/process.h"

namespace berth {

namespace stdfs = std::filesystem;

std::string new_trash_entry(const std::string& trash_dir) {
  static std::atomic<unsigned> counter{0};
  const int pid = ::getpid();
  std::error_code ignored;
  stdfs::create_directories(trash_dir, ignored);
  return fmt::format("{}/{}.{}.{}", trash_dir, pid, process_start_time(pid).value_or(0), counter++);
}

std::optional<std::string> move_to_trash(const std::string& path, const std::string& trash_dir) {
  const std::string target = new_trash_entry(trash_dir);
  if (std::rename(path.c_str(), target.c_str()) != 0) {
    return std::nullopt;
  }
  return target;
}

void sweep_trash(const std::string& trash_dir) {
  std::error_code error;
  for (stdfs::directory_iterator it(trash_dir, error), end; !error && it != end;
       it.increment(error)) {
    const std::string name = it->path().filename();
    int pid = 0;
    unsigned long long start_time = 0;
    // A name berth did not write is not berth's to judge: it stays.
    if (std::sscanf(name.c_str(), "%d.%llu.", &pid, &start_time) != 2 || pid <= 0) {
      continue;
    }
    if (!same_process_alive(pid, start_time)) {
      std::error_code ignored;
      stdfs::remove_all(it->path(), ignored);
    }
  }
}

}  // namespace berth
