#include "orchestrator/compose/references.h"

namespace berth::compose {

std::vector<ServiceReference> service_references(const YAML::Node& service) {
  std::vector<ServiceReference> refs;
  if (const YAML::Node depends_on = service["depends_on"]; depends_on && depends_on.IsMap()) {
    for (const auto& entry : depends_on) refs.push_back({entry.first.Scalar(), "depends_on"});
  }
  if (const YAML::Node links = service["links"]; links && links.IsSequence()) {
    // "db" or "db:alias"
    for (const auto& link : links) {
      const std::string& text = link.Scalar();
      refs.push_back({text.substr(0, text.find(':')), "links"});
    }
  }
  if (const YAML::Node from = service["volumes_from"]; from && from.IsSequence()) {
    // "svc", "svc:ro"; "container:name" names a container outside the project.
    for (const auto& entry : from) {
      const std::string& text = entry.Scalar();
      if (text.starts_with("container:")) continue;
      refs.push_back({text.substr(0, text.find(':')), "volumes_from"});
    }
  }
  for (const char* key : {"network_mode", "ipc", "pid"}) {
    const YAML::Node value = service[key];
    if (value && value.IsScalar() && value.Scalar().starts_with("service:")) {
      refs.push_back({value.Scalar().substr(8), key});
    }
  }
  return refs;
}

}  // namespace berth::compose
