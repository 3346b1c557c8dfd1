#include "orchestrator/containers/project_containers.h"

#include <algorithm>
#include <charconv>
#include <tuple>

#include "orchestrator/service_mounts.h"
#include "orchestrator/service_spec.h"

namespace berth::containers {

std::string label_of(const ContainerRecord& record, const char* key) {
  const auto found = record.spec.labels.find(key);
  return found == record.spec.labels.end() ? "" : found->second;
}

std::string service_of(const ContainerRecord& record) {
  return label_of(record, orchestrator::k_service_label);
}

int number_of(const ContainerRecord& record) {
  const std::string text = label_of(record, orchestrator::k_number_label);
  int number = 0;
  std::from_chars(text.data(), text.data() + text.size(), number);
  return number;
}

bool is_oneoff(const ContainerRecord& record) {
  return label_of(record, orchestrator::k_oneoff_label) == "True";
}

bool is_active(const std::string& status) {
  return status == "running" || status == "restarting" || status == "paused";
}

std::vector<ContainerRecord> project_containers(const ContainerStore& store,
                                                const std::string& project,
                                                const ProjectContainerFilter& filter) {
  std::vector<ContainerRecord> found;
  for (auto& record : store.list()) {
    if (label_of(record, orchestrator::k_project_label) != project) continue;
    if (is_oneoff(record) && !filter.oneoff) continue;
    if (!filter.services.empty() && std::find(filter.services.begin(), filter.services.end(),
                                              service_of(record)) == filter.services.end()) {
      continue;
    }
    found.push_back(std::move(record));
  }
  auto key = [](const ContainerRecord& record) {
    return std::make_tuple(service_of(record), is_oneoff(record), number_of(record), record.name);
  };
  std::sort(found.begin(), found.end(),
            [&](const ContainerRecord& a, const ContainerRecord& b) { return key(a) < key(b); });
  return found;
}

}  // namespace berth::containers
