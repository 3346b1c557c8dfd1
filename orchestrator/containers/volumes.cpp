#include "orchestrator/containers/volumes.h"

#include <unistd.h>

#include <algorithm>
#include <filesystem>
#include <system_error>

#include <fmt/format.h>

#include "util/error.h"
#include "util/file_lock.h"
#include "util/fs.h"
#include "volume/copy_up.h"
#include "volume/local_mount.h"
#include "volume/subpath.h"

namespace berth::containers {

namespace {

namespace stdfs = std::filesystem;
using nlohmann::json;
using runtime::MountSpec;

/// A mount target as a path compares: "/data/" and "/data" are one target.
std::string normal_target(const std::string& target) {
  std::string normal = stdfs::path(target).lexically_normal().string();
  while (normal.size() > 1 && normal.back() == '/') normal.pop_back();
  return normal;
}

bool has_target(const std::vector<MountSpec>& mounts, const std::string& target) {
  const std::string wanted = normal_target(target);
  for (const MountSpec& mount : mounts) {
    if (normal_target(mount.target) == wanted) return true;
  }
  return false;
}

bool is_active(const std::string& status) {
  return status == "running" || status == "restarting" || status == "paused";
}

/// `--volumes-from other[:ro|:rw]`: other's volume and bind mounts, unless the container
/// mounts something at the same target itself.
void add_volumes_from(const ContainerStore& store, runtime::ContainerSpec& spec) {
  for (const std::string& entry : spec.volumes_from) {
    std::string name = entry;
    std::optional<bool> read_only;
    if (const auto colon = entry.rfind(':'); colon != std::string::npos) {
      const std::string mode = entry.substr(colon + 1);
      if (mode != "ro" && mode != "rw") {
        throw Error(fmt::format("invalid mode for --volumes-from {}: {} (ro or rw)", entry, mode));
      }
      read_only = mode == "ro";
      name = entry.substr(0, colon);
    }
    const ContainerRecord other = store.find(name);
    for (MountSpec mount : other.spec.mounts) {
      if (mount.type == MountSpec::Type::tmpfs || has_target(spec.mounts, mount.target)) continue;
      mount.anonymous = false;  // still the other container's to remove
      if (read_only) {
        mount.read_only = *read_only;
        std::erase_if(mount.options,
                      [](const std::string& option) { return option == "ro" || option == "rw"; });
      }
      spec.mounts.push_back(std::move(mount));
    }
  }
}

/// The volume mounts' local-driver mount, if they have one.
std::optional<volume::LocalMount> local_mount(const volume::VolumeRecord& record) {
  return volume::local_mount_of(record.options);
}

/// The volume's content, ready to mount: its driver options' mount made, and the image's
/// content at `target` copied in when the volume is empty and never had a copy-up.
std::string prepare_volume_data(const volume::VolumeStore& volumes, const ContainerRecord& record,
                                const MountSpec& mount, const std::string& rootfs) {
  const auto gone = [&] {
    return Error(fmt::format("volume {} of container {} is gone: No such volume: {}", mount.source,
                             record.name, mount.source));
  };
  if (!volumes.find(mount.source)) throw gone();
  // One start at a time per volume: two copy-ups into one volume would collide. The record
  // is read under the lock, so a copy-up done meanwhile is seen.
  const FileLock lock(volumes.volume_dir(mount.source));
  const auto found = volumes.find(mount.source);
  if (!found) throw gone();
  const std::string data = volumes.data_path(found->name);
  if (const auto local = local_mount(*found)) volume::mount_local(found->name, *local, data);
  if (!mount.nocopy && mount.subpath.empty() && !found->copied_up &&
      volume::directory_is_empty(data) && volume::copy_up(rootfs, mount.target, data) &&
      !volume::directory_is_empty(data)) {
    volumes.mark_copied_up(found->name);
  }
  return data;
}

std::string staging_dir(const ContainerStore& store, const ContainerRecord& record) {
  return store.paths(record.id).run_dir + "/volumes";
}

}  // namespace

volume::VolumeStore volume_store(const ContainerStore& store) {
  return volume::VolumeStore(store.root());
}

std::vector<std::string> prepare_volumes(const ContainerStore& store,
                                         const volume::VolumeStore& volumes,
                                         runtime::ContainerSpec& spec, const json& image_config) {
  add_volumes_from(store, spec);
  // The image's VOLUMEs, where the user mounts nothing (Docker's anonymous volumes).
  if (const auto image_volumes = image_config.find("Volumes");
      image_volumes != image_config.end() && image_volumes->is_object()) {
    for (const auto& [path, ignored] : image_volumes->items()) {
      if (has_target(spec.mounts, path)) continue;
      MountSpec mount;
      mount.type = MountSpec::Type::volume;
      mount.target = path;
      spec.mounts.push_back(std::move(mount));
    }
  }
  for (const MountSpec& mount : spec.mounts) {
    if (!mount.subpath.empty()) volume::check_subpath(mount.subpath);
    if (mount.type == MountSpec::Type::bind && !mount.create_host_path &&
        !fs::is_file(mount.source) && !fs::is_directory(mount.source)) {
      throw Error(
          fmt::format("invalid mount config for type \"bind\": bind source path does not exist: {}",
                      mount.source));  // Docker's words
    }
  }
  std::vector<std::string> made;
  try {
    for (MountSpec& mount : spec.mounts) {
      if (mount.type != MountSpec::Type::volume) continue;
      if (mount.source.empty()) {
        mount.source = volumes.create({}).name;
        mount.anonymous = true;
        made.push_back(mount.source);
      } else if (!volumes.find(mount.source)) {
        volume::VolumeSpec named;
        named.name = mount.source;
        made.push_back(volumes.create(named).name);
      }
    }
  } catch (...) {
    for (const auto& name : made) {
      try {
        volumes.remove(name);
      } catch (const std::exception&) {
      }
    }
    throw;
  }
  return made;
}

std::vector<MountSpec> resolve_mounts(const ContainerStore& store, const ContainerRecord& record,
                                      const std::string& rootfs) {
  const volume::VolumeStore volumes = volume_store(store);
  std::vector<MountSpec> mounts;
  std::size_t staged = 0;
  for (MountSpec mount : record.spec.mounts) {
    if (mount.type == MountSpec::Type::bind && !fs::is_file(mount.source) &&
        !fs::is_directory(mount.source)) {
      if (!mount.create_host_path) {
        throw Error(fmt::format(
            "invalid mount config for type \"bind\": bind source path does not exist: {}",
            mount.source));  // Docker's words
      }
      std::error_code error;
      stdfs::create_directories(mount.source, error);
      if (error) {
        throw Error(
            fmt::format("cannot create the bind source {}: {}", mount.source, error.message()));
      }
    }
    if (mount.type == MountSpec::Type::volume) {
      std::string source = prepare_volume_data(volumes, record, mount, rootfs);
      if (!mount.subpath.empty()) {
        const std::string staging = fmt::format("{}/{}", staging_dir(store, record), staged++);
        volume::stage_subpath(mount.source, source, mount.subpath, staging);
        source = staging;
      }
      mount.type = MountSpec::Type::bind;
      mount.source = source;
    }
    mounts.push_back(std::move(mount));
  }
  return mounts;
}

bool volumes_need_release(const ContainerStore& store, const ContainerRecord& record) {
  const volume::VolumeStore volumes = volume_store(store);
  for (const MountSpec& mount : record.spec.mounts) {
    if (mount.type != MountSpec::Type::volume) continue;
    if (!mount.subpath.empty()) return true;
    const auto found = volumes.find(mount.source);
    if (found && local_mount(*found)) return true;
  }
  return false;
}

bool has_anonymous_volumes(const ContainerRecord& record) {
  return std::any_of(record.spec.mounts.begin(), record.spec.mounts.end(),
                     [](const MountSpec& mount) { return mount.anonymous; });
}

void release_volumes(const ContainerStore& store, const ContainerRecord& record) {
  const std::string staging = staging_dir(store, record);
  std::error_code error;
  for (stdfs::directory_iterator it(staging, error), end; !error && it != end;
       it.increment(error)) {
    volume::remove_staging(it->path().string());
  }
  ::rmdir(staging.c_str());
  const volume::VolumeStore volumes = volume_store(store);
  for (const MountSpec& mount : record.spec.mounts) {
    if (mount.type != MountSpec::Type::volume) continue;
    const auto found = volumes.find(mount.source);
    if (!found || !local_mount(*found)) continue;
    const FileLock lock(volumes.volume_dir(found->name));
    bool used = false;
    for (const auto& user : volume_users(store, found->name, record.id)) {
      used = used || is_active(store.live_state(user.id).state.status);
    }
    if (!used) volume::unmount_local(volumes.data_path(found->name));
  }
}

std::vector<ContainerRecord> volume_users(const ContainerStore& store, const std::string& name,
                                          const std::string& except_id) {
  std::vector<ContainerRecord> users;
  for (auto& record : store.list()) {
    if (record.id == except_id) continue;
    for (const MountSpec& mount : record.spec.mounts) {
      if (mount.type == MountSpec::Type::volume && mount.source == name) {
        users.push_back(record);
        break;
      }
    }
  }
  return users;
}

void remove_volume(const ContainerStore& store, const std::string& name) {
  const volume::VolumeStore volumes = volume_store(store);
  const FileLock lock = volumes.lock_exclusive();
  volumes.get(name);
  const auto users = volume_users(store, name);
  if (!users.empty()) {
    std::string names;
    for (const auto& user : users) {
      names +=
          fmt::format("{}{} ({})", names.empty() ? "" : ", ", user.name, user.id.substr(0, 12));
    }
    throw Error(fmt::format("remove {}: volume is in use by container{} {}", name,
                            users.size() > 1 ? "s" : "", names));
  }
  volumes.remove(name);
}

std::set<std::string> volumes_in_use(const ContainerStore& store) {
  std::set<std::string> names;
  for (const auto& record : store.list()) {
    for (const MountSpec& mount : record.spec.mounts) {
      if (mount.type == MountSpec::Type::volume) names.insert(mount.source);
    }
  }
  return names;
}

VolumePruneReport prune_volumes(const ContainerStore& store, bool all,
                                const volume::VolumeFilter& filter) {
  const volume::VolumeStore volumes = volume_store(store);
  const FileLock lock = volumes.lock_exclusive();
  volumes.sweep();
  const std::set<std::string> used = volumes_in_use(store);
  VolumePruneReport report;
  for (const auto& record : volumes.list()) {
    if (used.contains(record.name) || (!all && !record.anonymous())) continue;
    if (!filter.matches(record, false)) continue;
    const std::uint64_t bytes = volumes.disk_usage(record.name);
    volumes.remove(record.name);
    report.removed.push_back(record.name);
    report.reclaimed += bytes;
  }
  return report;
}

std::vector<std::string> remove_anonymous_volumes(const ContainerStore& store,
                                                  const ContainerRecord& record) {
  std::vector<std::string> kept;
  const volume::VolumeStore volumes = volume_store(store);
  const FileLock lock = volumes.lock_exclusive();
  for (const MountSpec& mount : record.spec.mounts) {
    if (mount.type != MountSpec::Type::volume || !mount.anonymous) continue;
    if (!volumes.find(mount.source)) continue;
    const auto users = volume_users(store, mount.source, record.id);
    if (!users.empty()) {
      kept.push_back(fmt::format("volume {} stays: container {} uses it too", mount.source,
                                 users.front().name));
      continue;
    }
    try {
      volumes.remove(mount.source);
    } catch (const Error& e) {
      kept.push_back(e.what());
    }
  }
  return kept;
}

std::vector<std::string> ensure_project_volumes(
    const ContainerStore& store, const std::vector<orchestrator::ProjectVolume>& volumes) {
  const volume::VolumeStore store_volumes = volume_store(store);
  for (const auto& wanted : volumes) {
    if (wanted.external && !store_volumes.find(wanted.spec.name)) {
      throw Error(fmt::format("external volume \"{}\" not found", wanted.spec.name));
    }
  }
  std::vector<std::string> warnings;
  for (const auto& wanted : volumes) {
    if (wanted.external) continue;
    const auto existing = store_volumes.find(wanted.spec.name);
    if (!existing) {
      store_volumes.create(wanted.spec);
      continue;
    }
    const auto project = wanted.spec.labels.find(orchestrator::k_project_label);
    const auto has = existing->labels.find(orchestrator::k_project_label);
    if (has == existing->labels.end()) {
      warnings.push_back(fmt::format(
          "volume \"{}\" already exists but was not created by berth or Docker Compose. Use "
          "`external: true` to use an existing volume",
          wanted.spec.name));  // Compose's words
    } else if (project != wanted.spec.labels.end() && has->second != project->second) {
      warnings.push_back(fmt::format(
          "volume \"{}\" already exists but was created for project \"{}\" (expected \"{}\"). "
          "Use `external: true` to use an existing volume",
          wanted.spec.name, has->second, project->second));
    }
  }
  return warnings;
}

std::vector<std::string> remove_project_volumes(const ContainerStore& store,
                                                const std::string& project) {
  const volume::VolumeStore volumes = volume_store(store);
  const FileLock lock = volumes.lock_exclusive();
  const std::set<std::string> used = volumes_in_use(store);
  std::vector<std::string> kept;
  for (const auto& record : volumes.list()) {
    const auto label = record.labels.find(orchestrator::k_project_label);
    if (label == record.labels.end() || label->second != project) continue;
    if (used.contains(record.name)) {
      kept.push_back(record.name);
      continue;
    }
    volumes.remove(record.name);
  }
  return kept;
}

nlohmann::ordered_json mounts_json(const ContainerStore& store, const ContainerRecord& record) {
  const volume::VolumeStore volumes = volume_store(store);
  nlohmann::ordered_json out = nlohmann::ordered_json::array();
  for (const MountSpec& mount : record.spec.mounts) {
    if (mount.type == MountSpec::Type::tmpfs) continue;  // Docker lists tmpfs mounts elsewhere
    nlohmann::ordered_json item;
    const bool volume = mount.type == MountSpec::Type::volume;
    item["Type"] = volume ? "volume" : "bind";
    if (volume) item["Name"] = mount.source;
    item["Source"] = volume ? volumes.data_path(mount.source) : mount.source;
    item["Destination"] = mount.target;
    if (volume) item["Driver"] = "local";
    item["Mode"] = "";
    const bool read_only = mount.read_only || std::find(mount.options.begin(), mount.options.end(),
                                                        "ro") != mount.options.end();
    item["RW"] = !read_only;
    std::string propagation = volume ? "" : "rprivate";
    for (const std::string& option : mount.options) {
      if (option.find("private") != std::string::npos ||
          option.find("shared") != std::string::npos || option.find("slave") != std::string::npos) {
        propagation = option;
      }
    }
    item["Propagation"] = propagation;
    out.push_back(std::move(item));
  }
  return out;
}

}  // namespace berth::containers
