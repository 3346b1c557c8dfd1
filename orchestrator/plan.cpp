#include "orchestrator/plan.h"

#include <algorithm>
#include <set>

namespace berth::orchestrator {

namespace {

bool diverged(const DesiredContainer& want, const ObservedContainer& have) {
  if (want.config_hash != have.config_hash) return true;
  return !want.image_id.empty() && !have.image_id.empty() && want.image_id != have.image_id;
}

}  // namespace

std::vector<PlannedStep> plan_service(const std::vector<DesiredContainer>& desired,
                                      const std::vector<ObservedContainer>& observed,
                                      RecreatePolicy policy) {
  std::vector<const DesiredContainer*> ordered;
  for (const auto& want : desired) ordered.push_back(&want);
  std::sort(ordered.begin(), ordered.end(),
            [](const auto* a, const auto* b) { return a->number < b->number; });

  std::vector<PlannedStep> steps;
  std::set<const ObservedContainer*> matched;
  for (const auto* want : ordered) {
    // The container with the number, the one of the wanted name first when there are two
    // (one left behind by a changed container_name).
    const ObservedContainer* have = nullptr;
    for (const auto& candidate : observed) {
      if (candidate.number != want->number || matched.contains(&candidate)) continue;
      if (!have || candidate.name == want->name) have = &candidate;
    }
    if (!have) {
      steps.push_back({Step::create, want->name, want->number, ""});
      continue;
    }
    matched.insert(have);
    const bool recreate = policy == RecreatePolicy::force ||
                          (policy == RecreatePolicy::diverged && diverged(*want, *have));
    if (recreate) {
      steps.push_back({Step::recreate, want->name, want->number, have->name});
    } else {
      steps.push_back({have->active ? Step::keep : Step::start, have->name, have->number, ""});
    }
  }
  // The rest go: numbers beyond the replicas, highest first, and duplicates.
  std::vector<const ObservedContainer*> extra;
  for (const auto& have : observed) {
    if (!matched.contains(&have)) extra.push_back(&have);
  }
  std::sort(extra.begin(), extra.end(), [](const auto* a, const auto* b) {
    return a->number != b->number ? a->number > b->number : a->name > b->name;
  });
  for (const auto* have : extra) steps.push_back({Step::remove, have->name, have->number, ""});
  return steps;
}

std::vector<std::string> orphan_services(const std::vector<std::string>& observed,
                                         const std::vector<std::string>& declared) {
  const std::set<std::string> known(declared.begin(), declared.end());
  std::set<std::string> orphans;
  for (const auto& service : observed) {
    if (!known.contains(service)) orphans.insert(service);
  }
  return {orphans.begin(), orphans.end()};
}

}  // namespace berth::orchestrator
