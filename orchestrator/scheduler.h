// Runs one task per service over the dependency graph: each service as soon as the ones it
// waits for are done (not level by level), a bounded number at a time, on threads. `up`
// walks dependencies first, `down` dependents first.
#pragma once

#include <cstddef>
#include <functional>
#include <string>
#include <vector>

#include "orchestrator/graph.h"

namespace berth::orchestrator {

struct ScheduleOptions {
  std::size_t parallel = 0;  // at most this many tasks at once; 0: no bound
  bool reverse = false;      // a service waits for its dependents instead (down)
  /// True for an edge whose failure does not stop the waiting service (depends_on with
  /// `required: false`): it still waits for the other one to end, then runs anyway.
  std::function<bool(const std::string& waiting, const std::string& waited)> optional_edge;
};

struct TaskFailure {
  std::string service;
  std::string message;
};

/// Runs `task(service)` for every service of `graph`, each once the services it waits for
/// have succeeded. A task fails by throwing; the services waiting on it are not run and fail
/// with `not started: dependency "b" failed` (the chain, nearest first: `"b" <- "a"`).
/// Independent branches run to their end. Returns the failures in start order; empty when
/// every task succeeded. Throws berth::Error for a cycle, before running anything.
std::vector<TaskFailure> run_graph(const ServiceGraph& graph,
                                   const std::function<void(const std::string&)>& task,
                                   const ScheduleOptions& options = {});

}  // namespace berth::orchestrator
