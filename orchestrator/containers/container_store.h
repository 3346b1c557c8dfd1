// Containers on disk: berth's record of each container (persistent, under <root>) and its
// live state (ephemeral, under <runroot>), found by name, id or id prefix.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "runtime/container_spec.h"
#include "runtime/container_state.h"

namespace berth::containers {

/// What berth keeps about a container from create to rm (<root>/containers/<id>/container.json).
struct ContainerRecord {
  std::string id;  // 64 hex digits; also the OCI runtime's container id
  std::string name;
  std::string created;                  // RFC 3339
  std::string image;                    // as the user typed it
  std::string image_id;                 // "sha256:..." (the config digest)
  std::string runtime;                  // "crun" or "runc"
  std::vector<std::string> lower_dirs;  // the image's unpacked layers, top first
  bool auto_remove = false;             // --rm
  runtime::ContainerSpec spec;
  nlohmann::json image_config;  // the image config's "config" object, for inspect
};

/// The directories of one container (see docs/ARCHITECTURE.md, "Containers").
struct ContainerPaths {
  std::string record_dir;  // <root>/containers/<id>
  std::string run_dir;     // <runroot>/containers/<id>
  std::string record() const { return record_dir + "/container.json"; }
  std::string log() const { return record_dir + "/container.log"; }
  std::string upper() const { return record_dir + "/diff"; }
  std::string work() const { return record_dir + "/work"; }
  std::string links() const { return record_dir + "/l"; }
  std::string bundle() const { return run_dir + "/bundle"; }
  std::string rootfs() const { return run_dir + "/rootfs"; }
  std::string etc() const { return run_dir + "/etc"; }
  std::string state() const { return run_dir + "/state.json"; }
  std::string stopping() const { return run_dir + "/stopping"; }
};

class ContainerStore {
 public:
  ContainerStore(std::string root, std::string runroot);

  const std::string& root() const { return m_root; }
  const std::string& runroot() const { return m_runroot; }
  ContainerPaths paths(const std::string& id) const;
  /// Where removed containers' directories wait to be deleted (runtime/trash.h).
  std::string trash_dir() const { return m_root + "/trash"; }

  /// The runtime's own state directory (`--root` of crun/runc).
  std::string runtime_root(const std::string& runtime) const;

  /// A new random id.
  static std::string new_id();
  /// A Docker-style random name ("eager_turing") that no container has.
  std::string new_name() const;
  /// Claims `name` for `id`; berth::Error `Conflict. The container name "/<name>" is already
  /// in use by container "<id>". You have to remove (or rename) that container to be able
  /// to reuse that name.` (Docker's text) when taken. Names follow Docker's rule
  /// [a-zA-Z0-9][a-zA-Z0-9_.-]*; anything else is `Invalid container name (<name>), only
  /// [a-zA-Z0-9][a-zA-Z0-9_.-] are allowed`.
  void claim_name(const std::string& name, const std::string& id) const;
  void release_name(const std::string& name) const;
  /// The file that holds a name's claim.
  std::string name_path(const std::string& name) const;

  void save(const ContainerRecord& record) const;
  std::vector<ContainerRecord> list() const;
  /// By exact name, full id, or unique id prefix; berth::Error `No such container: <x>`
  /// when none, `multiple containers match "<x>"` when ambiguous.
  ContainerRecord find(std::string_view name_or_id) const;

  /// The live state: state.json as the monitor wrote it, corrected when the processes it
  /// names are gone (a monitor killed -9 leaves "running" behind): then "exited" if the
  /// container is gone too, with `monitor_lost` set.
  struct LiveState {
    runtime::ContainerState state;
    bool monitor_lost = false;  // the monitor died while the container was running
  };
  LiveState live_state(const std::string& id) const;

  /// Removes the record and run directories (the caller unmounted and deleted the rest).
  void remove_dirs(const std::string& id) const;

 private:
  std::string m_root;
  std::string m_runroot;
};

/// The cgroup berth gives a container's runtime (the spec's linux.cgroupsPath).
std::string cgroups_path(const std::string& id);

nlohmann::json to_json(const runtime::ContainerSpec& spec);
runtime::ContainerSpec spec_from_json(const nlohmann::json& value);

}  // namespace berth::containers
