// The scheduler with fake tasks: order, failures and their chains, the parallelism bound,
// wide levels and deep chains.
#include "orchestrator/scheduler.h"

#include <algorithm>
#include <atomic>
#include <chrono>
#include <mutex>
#include <thread>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "util/error.h"

namespace berth::orchestrator {
namespace {

using ::testing::ElementsAre;
using ::testing::IsEmpty;

/// What the fake tasks saw: the order they started and ended in, and the most at once.
class Recorder {
 public:
  std::function<void(const std::string&)> task(std::chrono::milliseconds work = {},
                                               std::set<std::string> failing = {}) {
    return [this, work, failing](const std::string& service) {
      {
        const std::lock_guard lock(m_mutex);
        m_started.push_back(service);
        m_max = std::max(m_max, ++m_running);
      }
      std::this_thread::sleep_for(work);
      const std::lock_guard lock(m_mutex);
      --m_running;
      m_ended.push_back(service);
      if (failing.contains(service)) throw Error(service + " broke");
    };
  }
  std::size_t index(const std::vector<std::string>& list, const std::string& name) const {
    return static_cast<std::size_t>(std::find(list.begin(), list.end(), name) - list.begin());
  }
  std::mutex m_mutex;
  std::vector<std::string> m_started;
  std::vector<std::string> m_ended;
  std::size_t m_running = 0;
  std::size_t m_max = 0;
};

ServiceGraph stack() {
  ServiceGraph graph;  // web -> api -> db, web -> cache, worker -> db
  graph.add_dependency("web", "api");
  graph.add_dependency("api", "db");
  graph.add_dependency("web", "cache");
  graph.add_dependency("worker", "db");
  return graph;
}

TEST(Scheduler, EachServiceStartsOnceItsDependenciesEnded) {
  Recorder recorder;
  EXPECT_THAT(run_graph(stack(), recorder.task(std::chrono::milliseconds(5))), IsEmpty());
  ASSERT_EQ(recorder.m_started.size(), 5u);
  const auto started = [&](const std::string& s) { return recorder.index(recorder.m_started, s); };
  const auto ended = [&](const std::string& s) { return recorder.index(recorder.m_ended, s); };
  // A service starts after each dependency has ended: compare against the end order.
  for (const auto& [service, dependency] : std::vector<std::pair<std::string, std::string>>{
           {"web", "api"}, {"api", "db"}, {"web", "cache"}, {"worker", "db"}}) {
    EXPECT_LT(ended(dependency), ended(service)) << service << " after " << dependency;
  }
  // Not level by level: db and cache start together, without waiting for each other.
  EXPECT_LT(started("cache"), 2u);
  EXPECT_LT(started("db"), 2u);
}

TEST(Scheduler, ReverseStopsDependentsFirst) {
  Recorder recorder;
  ScheduleOptions options;
  options.reverse = true;
  EXPECT_THAT(run_graph(stack(), recorder.task(), options), IsEmpty());
  const auto ended = [&](const std::string& s) { return recorder.index(recorder.m_ended, s); };
  EXPECT_LT(ended("web"), ended("api"));
  EXPECT_LT(ended("api"), ended("db"));
  EXPECT_LT(ended("worker"), ended("db"));
}

TEST(Scheduler, AFailureStopsItsDependentsAndNamesTheChain) {
  Recorder recorder;
  const auto failures = run_graph(stack(), recorder.task({}, {"db"}));
  ASSERT_EQ(failures.size(), 4u);
  EXPECT_EQ(failures[0].service, "db");
  EXPECT_EQ(failures[0].message, "db broke");
  std::map<std::string, std::string> by_service;
  for (const auto& failure : failures) by_service[failure.service] = failure.message;
  EXPECT_EQ(by_service["api"], "not started: dependency \"db\" failed");
  EXPECT_EQ(by_service["worker"], "not started: dependency \"db\" failed");
  EXPECT_EQ(by_service["web"], "not started: dependency \"api\" <- \"db\" failed");
  // The independent branch ran; the dependents never did.
  EXPECT_THAT(recorder.m_started, ::testing::UnorderedElementsAre("db", "cache"));
}

TEST(Scheduler, AnOptionalDependencyThatFailsDoesNotStopItsDependent) {
  Recorder recorder;
  ScheduleOptions options;
  // api needs db only optionally (depends_on required: false); worker needs it for real.
  options.optional_edge = [](const std::string& waiting, const std::string& waited) {
    return waiting == "api" && waited == "db";
  };
  const auto failures = run_graph(stack(), recorder.task({}, {"db"}), options);
  std::map<std::string, std::string> by_service;
  for (const auto& failure : failures) by_service[failure.service] = failure.message;
  EXPECT_EQ(by_service.size(), 2u);
  EXPECT_EQ(by_service["db"], "db broke");
  EXPECT_EQ(by_service["worker"], "not started: dependency \"db\" failed");
  // api still waited for db to end, then ran, and so did web after it.
  EXPECT_LT(recorder.index(recorder.m_ended, "db"), recorder.index(recorder.m_started, "api"));
  EXPECT_LT(recorder.index(recorder.m_ended, "api"), recorder.index(recorder.m_started, "web"));
}

TEST(Scheduler, WideLevelsRespectTheBound) {
  ServiceGraph graph;
  for (int i = 0; i < 40; ++i) graph.add_service("s" + std::to_string(i));
  Recorder recorder;
  ScheduleOptions options;
  options.parallel = 3;
  EXPECT_THAT(run_graph(graph, recorder.task(std::chrono::milliseconds(3)), options), IsEmpty());
  EXPECT_EQ(recorder.m_started.size(), 40u);
  EXPECT_LE(recorder.m_max, 3u);
  EXPECT_GE(recorder.m_max, 2u);  // and they did run side by side
}

TEST(Scheduler, DeepChainsRunInOrder) {
  ServiceGraph graph;
  for (int i = 1; i < 200; ++i) {
    graph.add_dependency("s" + std::to_string(i), "s" + std::to_string(i - 1));
  }
  Recorder recorder;
  EXPECT_THAT(run_graph(graph, recorder.task()), IsEmpty());
  ASSERT_EQ(recorder.m_ended.size(), 200u);
  for (int i = 0; i < 200; ++i) EXPECT_EQ(recorder.m_ended[i], "s" + std::to_string(i));
  EXPECT_EQ(recorder.m_max, 1u);
}

TEST(Scheduler, ACycleIsAnErrorBeforeAnythingRuns) {
  ServiceGraph graph;
  graph.add_dependency("a", "b");
  graph.add_dependency("b", "a");
  Recorder recorder;
  EXPECT_THROW(run_graph(graph, recorder.task()), Error);
  EXPECT_THAT(recorder.m_started, IsEmpty());
}

}  // namespace
}  // namespace berth::orchestrator
