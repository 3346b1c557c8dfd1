// What `up` does to one service's containers: the replicas the compose file wants against
// the ones the host has (found by Compose's labels), under the recreate policy of the
// command line. Pure, so that every rule of convergence is tested without a runtime.
#pragma once

#include <string>
#include <vector>

namespace berth::orchestrator {

/// Compose's --force-recreate / --no-recreate, and the default: recreate what diverged.
enum class RecreatePolicy { diverged, force, never };

struct ObservedContainer {
  std::string name;
  int number = 0;           // com.docker.compose.container-number
  std::string config_hash;  // com.docker.compose.config-hash
  std::string image_id;     // the image it was created from
  bool active = false;      // running, restarting or paused
};

struct DesiredContainer {
  std::string name;
  int number = 0;
  std::string config_hash;
  std::string image_id;  // empty when not known yet (to be pulled): never a reason to recreate
};

enum class Step {
  create,    // no container has this number: create it (and start it)
  start,     // it exists as wanted but is stopped
  keep,      // it runs as wanted: nothing to do
  recreate,  // it diverged (or --force-recreate): remove, then create anew
  remove,    // scaled away: a number beyond the replicas
};

struct PlannedStep {
  Step step;
  std::string name;  // the observed container's for keep, start and remove; else the desired
  int number = 0;
  std::string replaced;  // recreate: the observed container that goes
};

/// The steps for one service: desired containers in number order, then removals, highest
/// numbers first (as Compose scales down). A container is matched by its number; a match
/// whose config hash or image differs is recreated under `diverged`, always under `force`,
/// never under `never`.
std::vector<PlannedStep> plan_service(const std::vector<DesiredContainer>& desired,
                                      const std::vector<ObservedContainer>& observed,
                                      RecreatePolicy policy);

/// The services of `observed` that the project does not declare (`declared`: every service
/// of its files, whatever their profile), sorted: Compose's orphans.
std::vector<std::string> orphan_services(const std::vector<std::string>& observed,
                                         const std::vector<std::string>& declared);

}  // namespace berth::orchestrator
