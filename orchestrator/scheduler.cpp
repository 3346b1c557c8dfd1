#include "orchestrator/scheduler.h"

#include <condition_variable>
#include <exception>
#include <map>
#include <mutex>
#include <thread>

#include <fmt/format.h>

namespace berth::orchestrator {

namespace {

enum class State { waiting, running, succeeded, failed };

struct Node {
  State state = State::waiting;
  std::size_t unmet = 0;  // services it still waits for
  std::string message;    // why it failed
  std::string chain;      // for a service not started: the failed ones, nearest first
};

}  // namespace

std::vector<TaskFailure> run_graph(const ServiceGraph& graph,
                                   const std::function<void(const std::string&)>& task,
                                   const ScheduleOptions& options) {
  std::vector<std::string> order = graph.start_order();  // throws on a cycle
  if (options.reverse) order = graph.stop_order();
  const auto waits_for = [&](const std::string& service) -> const std::set<std::string>& {
    return options.reverse ? graph.dependents(service) : graph.dependencies(service);
  };
  const auto released_by = [&](const std::string& service) -> const std::set<std::string>& {
    return options.reverse ? graph.dependencies(service) : graph.dependents(service);
  };

  std::mutex mutex;
  std::condition_variable changed;
  std::map<std::string, Node> nodes;
  for (const auto& service : order) nodes[service].unmet = waits_for(service).size();
  std::size_t running = 0;
  std::size_t finished = 0;
  std::vector<std::thread> workers;

  // Under the lock: a failed service fails every service waiting on it, transitively.
  std::function<void(const std::string&)> fail_waiting = [&](const std::string& failed) {
    for (const auto& next : released_by(failed)) {
      Node& node = nodes[next];
      if (node.state != State::waiting) continue;
      if (options.optional_edge && options.optional_edge(next, failed)) {
        --node.unmet;
        continue;
      }
      node.state = State::failed;
      node.chain = fmt::format("\"{}\"{}", failed,
                               nodes[failed].chain.empty() ? "" : " <- " + nodes[failed].chain);
      node.message = fmt::format("not started: dependency {} failed", node.chain);
      ++finished;
      fail_waiting(next);
    }
  };

  std::unique_lock lock(mutex);
  while (finished < order.size()) {
    for (const auto& service : order) {
      Node& node = nodes[service];
      if (node.state != State::waiting || node.unmet > 0) continue;
      if (options.parallel > 0 && running >= options.parallel) break;
      node.state = State::running;
      ++running;
      workers.emplace_back([&, service] {
        std::string error;
        try {
          task(service);
        } catch (const std::exception& e) {
          error = e.what();
          if (error.empty()) error = "failed";
        }
        const std::lock_guard done(mutex);
        Node& me = nodes[service];
        --running;
        ++finished;
        if (error.empty()) {
          me.state = State::succeeded;
          for (const auto& next : released_by(service)) --nodes[next].unmet;
        } else {
          me.state = State::failed;
          me.message = error;
          fail_waiting(service);
        }
        changed.notify_all();
      });
    }
    if (finished < order.size()) changed.wait(lock);
  }
  lock.unlock();
  for (auto& worker : workers) worker.join();

  std::vector<TaskFailure> failures;
  for (const auto& service : order) {
    if (nodes[service].state == State::failed) {
      failures.push_back({service, nodes[service].message});
    }
  }
  return failures;
}

}  // namespace berth::orchestrator
