// What the project-wide operations (up, down, stop, start, ...) share: the per-project lock,
// progress callable from many threads, actions on containers side by side, and the failure
// report of a run over the dependency graph.
#pragma once

#include <chrono>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "orchestrator/containers/container_store.h"
#include "orchestrator/scheduler.h"
#include "util/file_lock.h"

namespace berth::containers {

using ProgressFn = std::function<void(const std::string&)>;

/// Serialises changes to one project (Compose's rule: a second `up` or `down` waits instead
/// of interleaving); other projects go on at once. When another berth holds it, `progress`
/// says so before waiting.
std::unique_ptr<FileLock> lock_project(const ContainerStore& store, const std::string& project,
                                       const ProgressFn& progress);

/// The caller's progress, callable from several threads at once.
ProgressFn serialised(const ProgressFn& progress);

/// `action` on every record, each on a thread of its own; the first error is rethrown once
/// all have ended.
void for_each_at_once(const std::vector<ContainerRecord>& records,
                      const std::function<void(const ContainerRecord&)>& action);

using ContainerAction = std::function<void(const ContainerRecord&)>;

/// `action` on every container, service by service over `graph` (dependencies first, or
/// dependents first with `reverse`), a service's containers side by side. A service the graph
/// does not know (no file, or an orphan) has nothing to wait for. A failure fails the
/// services waiting on it; all are reported (report()).
/// `before_service`, when given, runs once per service before its containers' actions (and
/// its error fails the service as theirs would).
void in_service_order(const orchestrator::ServiceGraph& graph,
                      const std::vector<ContainerRecord>& containers, bool reverse,
                      const ContainerAction& action, const ProgressFn& progress,
                      const std::function<void(const std::string&)>& before_service = {});

/// Stops `containers` (some of a project's), dependents first as `graph` says (a service
/// it does not know stops at once), a service's replicas side by side; each with its grace
/// period, or `timeout`. Progress: `Container x  Stopping`, `Stopped`. A stopped container
/// is passed over.
void stop_in_order(const ContainerStore& store, const orchestrator::ServiceGraph& graph,
                   const std::vector<ContainerRecord>& containers,
                   std::optional<std::chrono::seconds> timeout, const ProgressFn& progress);

/// Compose's warning about containers of services the files no longer declare.
std::string orphan_warning(const std::vector<std::string>& containers);

/// The failures of a run, each on the progress, the first (with a count of the rest) thrown.
void report(const std::vector<orchestrator::TaskFailure>& failures, const ProgressFn& progress);

}  // namespace berth::containers
