// berth's named volumes, Docker's local driver: one directory per volume under
// `<root>/volumes/<name>/`, holding `volume.json` (the record) and `_data` (what containers
// see). A volume appears whole or not at all: it is built in the trash directory and renamed
// into place, and it leaves by a rename into the trash before it is deleted.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "util/file_lock.h"

namespace berth::volume {

/// The label Docker (23 and later) gives volumes made for one container (`-v /path`, an
/// image's VOLUME); `volume prune` without --all removes only these.
inline constexpr std::string_view k_anonymous_label = "com.docker.volume.anonymous";

struct VolumeSpec {
  std::string name;  // "" makes an anonymous volume: 64 random hex digits and the label
  std::string driver = "local";
  std::map<std::string, std::string> labels;
  /// The local driver's options: `type`, `device` and `o`, as for mount(8) (see
  /// local_mount.h). None: a plain directory.
  std::map<std::string, std::string> options;
};

struct VolumeRecord {
  std::string name;
  std::string driver = "local";
  std::string created;  // RFC 3339
  std::map<std::string, std::string> labels;
  std::map<std::string, std::string> options;
  /// An image's content was copied into it once (copy-up); never again afterwards.
  bool copied_up = false;

  bool anonymous() const { return labels.contains(std::string(k_anonymous_label)); }
};

nlohmann::json to_json(const VolumeRecord& record);
VolumeRecord volume_record_from_json(const nlohmann::json& value);

class VolumeStore {
 public:
  /// `root` is berth's root; volumes live in `<root>/volumes`, removed ones pass through
  /// `<root>/trash` (the same filesystem, so both moves are renames).
  explicit VolumeStore(std::string root);

  std::string volume_dir(const std::string& name) const;
  /// `<root>/volumes/<name>/_data`: the volume's content, the container's mount source.
  std::string data_path(const std::string& name) const;

  /// Creates the volume. One that exists already is returned as it is, as Docker does,
  /// unless it has another driver. Errors name the volume: an invalid name (Docker's rule
  /// [a-zA-Z0-9][a-zA-Z0-9_.-]+), a driver other than local, an unknown or incomplete option.
  VolumeRecord create(const VolumeSpec& spec) const;
  std::optional<VolumeRecord> find(std::string_view name) const;
  /// `No such volume: <name>` when there is none.
  VolumeRecord get(std::string_view name) const;
  /// Sorted by name.
  std::vector<VolumeRecord> list() const;
  /// Records that image content was copied into the volume.
  void mark_copied_up(const std::string& name) const;

  /// Takes the volume out of sight (a rename into the trash), then deletes it. The caller
  /// holds the exclusive lock and has checked that no container uses it; a volume whose
  /// directory is a mount (driver options) is unmounted first. A berth killed half-way
  /// leaves the whole volume or nothing under its name; the rest goes at the next sweep.
  void remove(const std::string& name) const;
  /// Deletes what removals cut short left in the trash.
  void sweep() const;

  /// The bytes of the volume's files (symlinks are not followed).
  std::uint64_t disk_usage(const std::string& name) const;

  /// Serialises a volume's removal against containers being created with it: creates hold
  /// it shared while they check their volumes and save their record, removals exclusive.
  FileLock lock_shared() const;
  FileLock lock_exclusive() const;

 private:
  std::string m_root;
  std::string m_dir;  // <root>/volumes
};

/// Docker's volume name rule, at least two characters.
bool valid_volume_name(std::string_view name);

}  // namespace berth::volume
