// The services of a project and their depends_on edges: start/stop order, cycle detection and
// the dependency closure used by `up <service>`.
#pragma once

#include <map>
#include <set>
#include <string>
#include <vector>

namespace berth::orchestrator {

class ServiceGraph {
 public:
  /// Adds a service with no dependencies; adding a known one again does nothing.
  void add_service(const std::string& name);

  /// Records that `service` must start after `dependency`. Unknown names are added as services:
  /// the loader has already checked that depends_on names exist (or dropped optional ones).
  void add_dependency(const std::string& service, const std::string& dependency);

  /// Services in start order: every dependency before its dependents, ties broken by name.
  /// Throws berth::Error "dependency cycle: a -> b -> a": the first cycle met walking
  /// dependencies from the smallest name, rotated to start at its smallest name, each arrow
  /// pointing from a dependent to its dependency.
  std::vector<std::string> start_order() const;

  /// Reverse of start_order: dependents stop first. Throws like start_order.
  std::vector<std::string> stop_order() const;

  /// The services `service` depends on directly. Throws berth::Error for an unknown service.
  const std::set<std::string>& dependencies(const std::string& service) const;

  /// The services depending directly on `service`. Throws berth::Error for an unknown service.
  const std::set<std::string>& dependents(const std::string& service) const;

  /// The services plus everything they transitively depend on. Throws berth::Error for an
  /// unknown service.
  std::set<std::string> with_dependencies(const std::vector<std::string>& services) const;

  /// True when `name` was added as a service (or named in a dependency).
  bool contains(const std::string& name) const;

 private:
  struct Node {
    std::set<std::string> dependencies;
    std::set<std::string> dependents;
  };

  const Node& node(const std::string& name) const;
  [[noreturn]] void throw_cycle(const std::set<std::string>& remaining) const;

  std::map<std::string, Node> m_nodes;
};

}  // namespace berth::orchestrator
