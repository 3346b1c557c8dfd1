#include "orchestrator/graph.h"

#include <algorithm>

#include <fmt/format.h>

#include "util/error.h"

namespace berth::orchestrator {

void ServiceGraph::add_service(const std::string& name) {
  m_nodes.try_emplace(name);
}

void ServiceGraph::add_dependency(const std::string& service, const std::string& dependency) {
  m_nodes[service].dependencies.insert(dependency);
  m_nodes[dependency].dependents.insert(service);
}

const ServiceGraph::Node& ServiceGraph::node(const std::string& name) const {
  const auto found = m_nodes.find(name);
  if (found == m_nodes.end()) {
    throw Error(fmt::format("unknown service \"{}\"", name));
  }
  return found->second;
}

// Kahn's algorithm with the ready services kept sorted, so the smallest ready name goes first.
std::vector<std::string> ServiceGraph::start_order() const {
  std::map<std::string, std::size_t> waiting;  // service -> dependencies not yet started
  std::set<std::string> ready;
  for (const auto& [name, n] : m_nodes) {
    waiting[name] = n.dependencies.size();
    if (n.dependencies.empty()) {
      ready.insert(name);
    }
  }
  std::vector<std::string> order;
  order.reserve(m_nodes.size());
  while (!ready.empty()) {
    const std::string name = *ready.begin();
    ready.erase(ready.begin());
    order.push_back(name);
    for (const std::string& dependent : m_nodes.at(name).dependents) {
      if (--waiting[dependent] == 0) {
        ready.insert(dependent);
      }
    }
  }
  if (order.size() != m_nodes.size()) {
    std::set<std::string> remaining;
    for (const auto& [name, count] : waiting) {
      if (count > 0) {
        remaining.insert(name);
      }
    }
    throw_cycle(remaining);
  }
  return order;
}

// Every service Kahn's algorithm left behind still waits on another one left behind, so
// following the smallest such dependency from any of them must come back to a service
// already on the walk: the walk from there on is a cycle. Iterative, so a long chain cannot
// exhaust the stack.
void ServiceGraph::throw_cycle(const std::set<std::string>& remaining) const {
  std::vector<std::string> walk;
  std::map<std::string, std::size_t> position;
  std::string current = *remaining.begin();
  while (!position.contains(current)) {
    position[current] = walk.size();
    walk.push_back(current);
    const auto& dependencies = m_nodes.at(current).dependencies;
    const auto next = std::find_if(dependencies.begin(), dependencies.end(),
                                   [&](const std::string& d) { return remaining.contains(d); });
    current = *next;
  }
  std::vector<std::string> cycle(walk.begin() + static_cast<std::ptrdiff_t>(position[current]),
                                 walk.end());
  std::rotate(cycle.begin(), std::min_element(cycle.begin(), cycle.end()), cycle.end());
  cycle.push_back(cycle.front());
  throw Error(fmt::format("dependency cycle: {}", fmt::join(cycle, " -> ")));
}

std::vector<std::string> ServiceGraph::stop_order() const {
  std::vector<std::string> order = start_order();
  std::reverse(order.begin(), order.end());
  return order;
}

const std::set<std::string>& ServiceGraph::dependencies(const std::string& service) const {
  return node(service).dependencies;
}

const std::set<std::string>& ServiceGraph::dependents(const std::string& service) const {
  return node(service).dependents;
}

std::set<std::string> ServiceGraph::with_dependencies(
    const std::vector<std::string>& services) const {
  std::set<std::string> result;
  std::vector<std::string> pending;
  for (const std::string& service : services) {
    node(service);  // reject unknown names up front
    pending.push_back(service);
  }
  while (!pending.empty()) {
    std::string name = std::move(pending.back());
    pending.pop_back();
    if (!result.insert(name).second) {
      continue;
    }
    for (const std::string& dependency : m_nodes.at(name).dependencies) {
      pending.push_back(dependency);
    }
  }
  return result;
}

bool ServiceGraph::contains(const std::string& name) const {
  return m_nodes.contains(name);
}

}  // namespace berth::orchestrator
