#include "volume/volume_store.h"

#include <sys/stat.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <system_error>

#include <fmt/format.h>

#include "util/clock.h"
#include "util/error.h"
#include "util/failpoint.h"
#include "util/fs.h"
#include "util/random.h"
#include "util/trash.h"
#include "volume/local_mount.h"

namespace berth::volume {

namespace {

namespace stdfs = std::filesystem;
using nlohmann::json;

constexpr const char* k_record_file = "volume.json";
constexpr const char* k_data_dir = "_data";

}  // namespace

bool valid_volume_name(std::string_view name) {
  if (name.size() < 2 || !std::isalnum(static_cast<unsigned char>(name[0]))) return false;
  return std::all_of(name.begin(), name.end(), [](char c) {
    return std::isalnum(static_cast<unsigned char>(c)) || c == '_' || c == '.' || c == '-';
  });
}

json to_json(const VolumeRecord& record) {
  return {{"Name", record.name},     {"Driver", record.driver},   {"CreatedAt", record.created},
          {"Labels", record.labels}, {"Options", record.options}, {"CopiedUp", record.copied_up}};
}

VolumeRecord volume_record_from_json(const json& value) {
  VolumeRecord record;
  record.name = value.at("Name").get<std::string>();
  record.driver = value.value("Driver", "local");
  record.created = value.value("CreatedAt", "");
  record.labels = value.value("Labels", std::map<std::string, std::string>{});
  record.options = value.value("Options", std::map<std::string, std::string>{});
  record.copied_up = value.value("CopiedUp", false);
  return record;
}

VolumeStore::VolumeStore(std::string root) : m_root(std::move(root)), m_dir(m_root + "/volumes") {}

std::string VolumeStore::volume_dir(const std::string& name) const {
  return m_dir + "/" + name;
}

std::string VolumeStore::data_path(const std::string& name) const {
  return volume_dir(name) + "/" + k_data_dir;
}

VolumeRecord VolumeStore::create(const VolumeSpec& spec) const {
  VolumeRecord record;
  record.name = spec.name.empty() ? random_hex(64) : spec.name;
  record.driver = spec.driver.empty() ? "local" : spec.driver;
  record.labels = spec.labels;
  record.options = spec.options;
  if (spec.name.empty()) record.labels[std::string(k_anonymous_label)] = "";
  if (!valid_volume_name(record.name)) {
    throw Error(fmt::format(
        "create {}: \"{}\" includes invalid characters for a local volume name, only "
        "\"[a-zA-Z0-9][a-zA-Z0-9_.-]\" are allowed. If you intended to pass a host directory, "
        "use absolute path",
        record.name, record.name));  // Docker's words
  }
  if (record.driver != "local") {
    throw Error(
        fmt::format("create {}: volume driver \"{}\" is not available: berth has the "
                    "local driver only",
                    record.name, record.driver));
  }
  try {
    local_mount_of(record.options);
  } catch (const Error& e) {
    wrap(e, "create " + record.name);
  }
  if (auto existing = find(record.name)) return *existing;

  // Built out of sight, then renamed into place: a killed create leaves a trash entry, which
  // the next sweep deletes, never a volume without its record.
  const std::string building = new_trash_entry(m_root + "/trash");
  stdfs::create_directories(building + "/" + k_data_dir);
  ::chmod((building + "/" + k_data_dir).c_str(), 0755);
  record.created = now_rfc3339();
  fs::write_file_atomic(building + "/" + k_record_file, to_json(record).dump(2) + "\n");
  stdfs::create_directories(m_dir);
  failpoint("volume-built");
  if (std::rename(building.c_str(), volume_dir(record.name).c_str()) != 0) {
    const int error = errno;
    std::error_code ignored;
    stdfs::remove_all(building, ignored);
    // Another create of the same name won the race: its volume is the one.
    if (error == EEXIST || error == ENOTEMPTY) {
      if (auto existing = find(record.name)) return *existing;
    }
    throw Error(fmt::format("create {}: {}", record.name, std::strerror(error)));
  }
  return record;
}

std::optional<VolumeRecord> VolumeStore::find(std::string_view name) const {
  if (!valid_volume_name(name)) return std::nullopt;
  const auto text = fs::read_file_if_exists(volume_dir(std::string(name)) + "/" + k_record_file);
  if (!text) return std::nullopt;
  try {
    return volume_record_from_json(json::parse(*text));
  } catch (const std::exception& e) {
    throw Error(fmt::format("volume {}: unreadable record: {}", name, e.what()));
  }
}

VolumeRecord VolumeStore::get(std::string_view name) const {
  if (auto record = find(name)) return *record;
  throw Error(fmt::format("No such volume: {}", name));
}

std::vector<VolumeRecord> VolumeStore::list() const {
  std::vector<VolumeRecord> records;
  std::error_code error;
  for (stdfs::directory_iterator it(m_dir, error), end; !error && it != end; it.increment(error)) {
    if (auto record = find(it->path().filename().string())) records.push_back(std::move(*record));
  }
  std::sort(records.begin(), records.end(),
            [](const VolumeRecord& a, const VolumeRecord& b) { return a.name < b.name; });
  return records;
}

void VolumeStore::mark_copied_up(const std::string& name) const {
  VolumeRecord record = get(name);
  if (record.copied_up) return;
  record.copied_up = true;
  fs::write_file_atomic(volume_dir(name) + "/" + k_record_file, to_json(record).dump(2) + "\n");
}

void VolumeStore::remove(const std::string& name) const {
  get(name);
  unmount_local(data_path(name));
  // Never delete through a mount: that would be someone else's data (a bind's device).
  if (has_mount_under(volume_dir(name))) {
    throw Error(fmt::format("remove {}: something is still mounted in {}", name, volume_dir(name)));
  }
  failpoint("volume-remove-checked");
  const auto moved = move_to_trash(volume_dir(name), m_root + "/trash");
  if (!moved) {
    throw Error(
        fmt::format("remove {}: cannot move it out of {}: {}", name, m_dir, std::strerror(errno)));
  }
  failpoint("volume-trashed");
  std::error_code ignored;
  stdfs::remove_all(*moved, ignored);  // what stays is the next sweep's
}

void VolumeStore::sweep() const {
  sweep_trash(m_root + "/trash");
}

std::uint64_t VolumeStore::disk_usage(const std::string& name) const {
  std::uint64_t bytes = 0;
  std::error_code error;
  // The iterator never follows directory symlinks, and symlink_status never follows any.
  for (stdfs::recursive_directory_iterator it(data_path(name), error), end; !error && it != end;
       it.increment(error)) {
    std::error_code ignored;
    const auto status = it->symlink_status(ignored);
    if (stdfs::is_regular_file(status)) {
      struct stat st {};
      if (::lstat(it->path().c_str(), &st) == 0) bytes += static_cast<std::uint64_t>(st.st_size);
    }
  }
  return bytes;
}

FileLock VolumeStore::lock_shared() const {
  stdfs::create_directories(m_dir);
  return FileLock(m_dir + "/.lock", FileLock::Shared{});
}

FileLock VolumeStore::lock_exclusive() const {
  stdfs::create_directories(m_dir);
  return FileLock(m_dir + "/.lock");
}

}  // namespace berth::volume
