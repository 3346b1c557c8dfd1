#include "orchestrator/compose/validate.h"

#include <optional>

#include <fmt/format.h>

#include "orchestrator/compose/references.h"
#include "orchestrator/graph.h"
#include "util/error.h"

namespace berth::compose {

namespace {

bool defined(const YAML::Node& model, const char* kind, const std::string& key) {
  const YAML::Node resources = model[kind];
  return resources && resources.IsMap() && resources[key];
}

/// A scalar's integer value, or nullopt when absent (YAML::Node() is a defined null node,
/// so absence is tested with IsScalar, not truthiness).
std::optional<long> integer_of(const YAML::Node& node) {
  if (!node.IsDefined() || !node.IsScalar()) return std::nullopt;
  try {
    return std::stol(node.Scalar());
  } catch (const std::exception&) {
    return std::nullopt;
  }
}

long replicas_of(const std::string& name, const YAML::Node& service) {
  const auto scale = integer_of(service["scale"]);
  const YAML::Node deploy = service["deploy"];
  const auto replicas = deploy && deploy.IsMap() ? integer_of(deploy["replicas"]) : std::nullopt;
  if (scale && replicas && *scale != *replicas) {
    throw Error(fmt::format(
        "services.{}: scale ({}) and deploy.replicas ({}) disagree; set only one of them", name,
        *scale, *replicas));
  }
  return scale.value_or(replicas.value_or(1));
}

void check_service(const YAML::Node& model, const std::string& name, const YAML::Node& service) {
  if (!service["image"] && !service["build"]) {
    throw Error(
        fmt::format("service \"{}\" has neither an image nor a build context specified", name));
  }
  if (service["network_mode"] && service["networks"] && service["networks"].size() > 0) {
    throw Error(fmt::format(
        "service \"{}\" declares mutually exclusive `network_mode` and `networks`", name));
  }
  if (const YAML::Node networks = service["networks"]) {
    for (const auto& entry : networks) {
      if (!defined(model, "networks", entry.first.Scalar())) {
        throw Error(fmt::format("service \"{}\" refers to undefined network \"{}\"", name,
                                entry.first.Scalar()));
      }
    }
  }
  if (const YAML::Node volumes = service["volumes"]) {
    for (const auto& volume : volumes) {
      const YAML::Node source = volume["source"];
      if (volume["type"].Scalar() != "volume" || !source || source.Scalar().empty()) continue;
      if (!defined(model, "volumes", source.Scalar())) {
        throw Error(
            fmt::format("service \"{}\" refers to undefined volume \"{}\"", name, source.Scalar()));
      }
    }
  }
  for (const char* kind : {"secrets", "configs"}) {
    const YAML::Node mounts = service[kind];
    if (!mounts) continue;
    const std::string singular(kind, std::string_view(kind).size() - 1);
    for (const auto& mount : mounts) {
      const std::string source = mount["source"].Scalar();
      if (!defined(model, kind, source)) {
        throw Error(
            fmt::format("service \"{}\" refers to undefined {} \"{}\"", name, singular, source));
      }
    }
  }
  const YAML::Node services = model["services"];
  for (const auto& ref : service_references(service)) {
    if (!services[ref.service]) {
      throw Error(fmt::format("service \"{}\" refers to undefined service \"{}\" ({})", name,
                              ref.service, ref.kind));
    }
  }
  const long replicas = replicas_of(name, service);  // also checks scale vs deploy.replicas
  if (service["container_name"] && replicas > 1) {
    throw Error(
        fmt::format("services.{}: container_name \"{}\" cannot be used with more than one replica",
                    name, service["container_name"].Scalar()));
  }
}

}  // namespace

long service_replicas(const YAML::Node& model, const std::string& service) {
  const YAML::Node services = model["services"];
  const YAML::Node definition = services ? services[service] : YAML::Node();
  return definition ? replicas_of(service, definition) : 0;
}

void validate_model(const YAML::Node& model) {
  const YAML::Node services = model["services"];
  if (!services) return;
  for (const auto& entry : services) {
    check_service(model, entry.first.Scalar(), entry.second);
  }
}

orchestrator::ServiceGraph service_graph(const YAML::Node& model) {
  orchestrator::ServiceGraph graph;
  const YAML::Node services = model["services"];
  if (!services) return graph;
  for (const auto& entry : services) graph.add_service(entry.first.Scalar());
  for (const auto& entry : services) {
    for (const auto& ref : service_references(entry.second)) {
      graph.add_dependency(entry.first.Scalar(), ref.service);
    }
  }
  return graph;
}

std::vector<std::string> start_order(const YAML::Node& model) {
  return service_graph(model).start_order();
}

}  // namespace berth::compose
