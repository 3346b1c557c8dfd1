// A container's volumes: found or made at create (named, anonymous, the image's VOLUMEs,
// --volumes-from), turned into mounts at each start (copy-up, subpaths, volumes with driver
// options), released at its final exit, and the anonymous ones removed with it (rm -v, --rm).
#pragma once

#include <cstdint>
#include <set>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "orchestrator/containers/container_store.h"
#include "orchestrator/service_mounts.h"
#include "runtime/container_spec.h"
#include "volume/volume_filter.h"
#include "volume/volume_store.h"

namespace berth::containers {

/// The volumes of the containers of `store` (the same berth root).
volume::VolumeStore volume_store(const ContainerStore& store);

/// At create, with the volumes' shared lock held until the record is saved: copies the
/// mounts of each --volumes-from container (`No such container: x`; ":ro"/":rw" override
/// their mode), gives each `-v /path` and each VOLUME of the image that no mount covers a new
/// anonymous volume, and makes the named volumes that do not exist yet, as Docker does.
/// Returns the volumes it made, for the caller to remove when the create fails after all.
std::vector<std::string> prepare_volumes(const ContainerStore& store,
                                         const volume::VolumeStore& volumes,
                                         runtime::ContainerSpec& spec,
                                         const nlohmann::json& image_config);

/// At start, with the container's root filesystem mounted at `rootfs`: the spec's mounts
/// with every volume turned into a bind mount of its directory, after its driver options'
/// mount, its copy-up (an empty volume that never had one gets the image's content at the
/// target) and its subpath's staging; bind sources to create are created.
std::vector<runtime::MountSpec> resolve_mounts(const ContainerStore& store,
                                               const ContainerRecord& record,
                                               const std::string& rootfs);

/// Whether the container's volumes leave something to undo at its final exit (staged
/// subpaths, volumes with driver options).
bool volumes_need_release(const ContainerStore& store, const ContainerRecord& record);

/// Whether the container has volumes made for it alone (removed with it by --rm, rm -v).
bool has_anonymous_volumes(const ContainerRecord& record);

/// What the container's volumes hold while it runs: staged subpaths, and the mounts of
/// volumes with driver options that no other running container uses. Best effort and
/// idempotent.
void release_volumes(const ContainerStore& store, const ContainerRecord& record);

/// The containers whose mounts name volume `name`, running or not, except `except_id`.
std::vector<ContainerRecord> volume_users(const ContainerStore& store, const std::string& name,
                                          const std::string& except_id = "");

/// Removes a volume no container uses; refused with `remove <name>: volume is in use by
/// container <name> (<short id>)` otherwise.
void remove_volume(const ContainerStore& store, const std::string& name);

/// The names of the volumes some container mounts (running or not).
std::set<std::string> volumes_in_use(const ContainerStore& store);

struct VolumePruneReport {
  std::vector<std::string> removed;
  std::uint64_t reclaimed = 0;  // bytes
};

/// Removes the volumes that no container uses and `filter` passes: only anonymous ones, or
/// all of them with `all` (Docker 23's rule, so a named database is not lost to a prune).
VolumePruneReport prune_volumes(const ContainerStore& store, bool all,
                                const volume::VolumeFilter& filter);

/// Removes the anonymous volumes of a container (rm -v, --rm) that no other container uses.
/// Returns the lines of what stayed and why, for a warning.
std::vector<std::string> remove_anonymous_volumes(const ContainerStore& store,
                                                  const ContainerRecord& record);

/// Makes a compose project's volumes that do not exist yet, as `up` does. Every external one
/// is checked first, so that nothing is made when one is missing: `external volume "x" not
/// found` (Compose's words). Returns Compose's warnings for volumes of the name that exist but
/// belong to no project or another one; those are used as they are.
std::vector<std::string> ensure_project_volumes(
    const ContainerStore& store, const std::vector<orchestrator::ProjectVolume>& volumes);

/// `down -v`: removes the volumes labelled as the project's (never an external one, which
/// carries no label) that no container uses; the names of those that stay in use come back.
/// Anonymous volumes go with their containers (remove_container with remove_volumes).
std::vector<std::string> remove_project_volumes(const ContainerStore& store,
                                                const std::string& project);

/// Docker's inspect "Mounts" of a container.
nlohmann::ordered_json mounts_json(const ContainerStore& store, const ContainerRecord& record);

}  // namespace berth::containers
