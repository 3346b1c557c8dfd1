#include "orchestrator/containers/project_support.h"

#include <exception>
#include <filesystem>
#include <map>
#include <mutex>
#include <thread>

#include <fmt/format.h>

#include "orchestrator/containers/lifecycle.h"
#include "orchestrator/containers/project_containers.h"
#include "util/error.h"

namespace berth::containers {

std::unique_ptr<FileLock> lock_project(const ContainerStore& store, const std::string& project,
                                       const ProgressFn& progress) {
  const std::string dir = store.root() + "/projects";
  std::filesystem::create_directories(dir);
  const std::string path = dir + "/" + project + ".lock";
  auto lock = std::make_unique<FileLock>(path, FileLock::TryOnly{});
  if (lock->held()) return lock;
  progress(fmt::format("Project {}  Waiting for another berth command on it to finish", project));
  return std::make_unique<FileLock>(path);
}

ProgressFn serialised(const ProgressFn& progress) {
  auto mutex = std::make_shared<std::mutex>();
  return [mutex, progress](const std::string& line) {
    const std::lock_guard lock(*mutex);
    progress(line);
  };
}

void for_each_at_once(const std::vector<ContainerRecord>& records,
                      const std::function<void(const ContainerRecord&)>& action) {
  std::vector<std::thread> threads;
  std::vector<std::exception_ptr> errors(records.size());
  for (std::size_t i = 0; i < records.size(); ++i) {
    threads.emplace_back([&, i] {
      try {
        action(records[i]);
      } catch (...) {
        errors[i] = std::current_exception();
      }
    });
  }
  for (auto& thread : threads) thread.join();
  for (const auto& error : errors) {
    if (error) std::rethrow_exception(error);
  }
}

void in_service_order(const orchestrator::ServiceGraph& graph,
                      const std::vector<ContainerRecord>& containers, bool reverse,
                      const ContainerAction& action, const ProgressFn& progress,
                      const std::function<void(const std::string&)>& before_service) {
  orchestrator::ServiceGraph services = graph;
  std::map<std::string, std::vector<ContainerRecord>> by_service;
  for (const auto& record : containers) {
    services.add_service(service_of(record));
    by_service[service_of(record)].push_back(record);
  }
  orchestrator::ScheduleOptions schedule;
  schedule.reverse = reverse;
  const auto failures = orchestrator::run_graph(
      services,
      [&](const std::string& service) {
        const auto found = by_service.find(service);
        if (found == by_service.end()) return;
        if (before_service) before_service(service);
        for_each_at_once(found->second, action);
      },
      schedule);
  report(failures, progress);
}

void stop_in_order(const ContainerStore& store, const orchestrator::ServiceGraph& graph,
                   const std::vector<ContainerRecord>& containers,
                   std::optional<std::chrono::seconds> timeout, const ProgressFn& print) {
  const auto progress = serialised(print);
  // A service stops once its dependents' processes are gone; their monitors release the
  // networks and mounts meanwhile, and all of that is waited for once, at the end.
  std::vector<ContainerRecord> stopped;
  std::mutex stopped_mutex;
  in_service_order(
      graph, containers, true,
      [&](const ContainerRecord& record) {
        if (!is_active(store.live_state(record.id).state.status)) return;
        progress(fmt::format("Container {}  Stopping", record.name));
        stop_container_processes(store, record, timeout);
        {
          const std::lock_guard lock(stopped_mutex);
          stopped.push_back(record);
        }
        progress(fmt::format("Container {}  Stopped", record.name));
      },
      progress);
  for_each_at_once(stopped,
                   [&](const ContainerRecord& record) { finish_stopped_container(store, record); });
}

std::string orphan_warning(const std::vector<std::string>& containers) {
  std::string names;
  for (const auto& name : containers) names += (names.empty() ? "" : " ") + name;
  return fmt::format(
      "warning: Found orphan containers ([{}]) for this project. If you removed or renamed this "
      "service in your compose file, you can run this command with the --remove-orphans flag "
      "to clean it up.",
      names);
}

void report(const std::vector<orchestrator::TaskFailure>& failures, const ProgressFn& progress) {
  if (failures.empty()) return;
  for (const auto& failure : failures) {
    progress(fmt::format("Service {}  Error: {}", failure.service, failure.message));
  }
  const auto& first = failures.front();
  throw Error(fmt::format("service \"{}\": {}{}", first.service, first.message,
                          failures.size() > 1
                              ? fmt::format(" (and {} more failures, above)", failures.size() - 1)
                              : ""));
}

}  // namespace berth::containers
