#include "runtime/event_journal.h"

#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <exception>
#include <filesystem>

#include <nlohmann/json.hpp>

#include "util/clock.h"
#include "util/unique_fd.h"

namespace berth::runtime {

namespace {

using nlohmann::json;

std::string errno_text(const std::string& what) {
  return what + ": " + std::strerror(errno);
}

bool same_file(const struct stat& a, const struct stat& b) {
  return a.st_dev == b.st_dev && a.st_ino == b.st_ino;
}

}  // namespace

std::string journal_line(const JournalEvent& event) {
  const json record{{"time", event.time},
                    {"type", event.type},
                    {"action", event.action},
                    {"id", event.id},
                    {"attributes", event.attributes}};
  // A label is the user's text: invalid UTF-8 becomes U+FFFD rather than no event at all.
  return record.dump(-1, ' ', false, json::error_handler_t::replace) + "\n";
}

std::optional<JournalEvent> parse_journal_line(std::string_view line) {
  const json record = json::parse(line, nullptr, false);
  if (!record.is_object()) return std::nullopt;
  const auto text = [&](const char* key) {
    const auto found = record.find(key);
    return found != record.end() && found->is_string() ? found->get<std::string>() : "";
  };
  JournalEvent event;
  event.time = text("time");
  event.type = text("type");
  event.action = text("action");
  event.id = text("id");
  if (event.time.empty() || event.action.empty() || event.id.empty()) return std::nullopt;
  if (const auto attributes = record.find("attributes");
      attributes != record.end() && attributes->is_object()) {
    for (const auto& [key, value] : attributes->items()) {
      if (value.is_string()) event.attributes[key] = value.get<std::string>();
    }
  }
  return event;
}

std::optional<std::string> append_event(const std::string& path, JournalEvent event,
                                        std::size_t limit) noexcept {
  try {
    if (event.time.empty()) event.time = now_rfc3339();
    const std::string line = journal_line(event);
    // A writer that opened the file just before another rotated it finds, once it holds the
    // lock, that the name is another file's now, and starts again with that one. Three
    // rotations in a row would take megabytes of events written meanwhile.
    for (int attempt = 0; attempt < 3; ++attempt) {
      Fd fd(::open(path.c_str(), O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0600));
      if (!fd && errno == ENOENT) {
        // The first event of a fresh run root may come before anything else made it.
        std::error_code ignored;
        std::filesystem::create_directories(std::filesystem::path(path).parent_path(), ignored);
        fd.reset(::open(path.c_str(), O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0600));
      }
      if (!fd) return errno_text(path);
      while (::flock(fd.get(), LOCK_EX) != 0) {
        if (errno != EINTR) return errno_text(path);
      }
      struct stat opened {};
      struct stat named {};
      if (::fstat(fd.get(), &opened) != 0) return errno_text(path);
      if (::stat(path.c_str(), &named) != 0 || !same_file(opened, named)) continue;
      const ssize_t written = ::write(fd.get(), line.data(), line.size());
      if (written < 0) return errno_text(path);
      if (static_cast<std::size_t>(written) != line.size()) {
        return path + ": short write";  // a torn line, which readers skip
      }
      // Rotated under the lock, after this line: the old generation is complete once the
      // name is the new file's, which is what a reader following the journal relies on.
      if (static_cast<std::size_t>(opened.st_size) + line.size() > limit) {
        const std::string previous = path + std::string(k_journal_previous_suffix);
        if (::rename(path.c_str(), previous.c_str()) != 0) return errno_text(previous);
      }
      return std::nullopt;  // closing the descriptor releases the lock
    }
    return path + ": rotated again and again while appending";
  } catch (const std::exception& e) {
    return std::string(e.what());
  }
}

}  // namespace berth::runtime
