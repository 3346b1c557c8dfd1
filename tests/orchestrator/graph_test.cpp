#include "orchestrator/graph.h"

#include <set>
#include <string>
#include <utility>
#include <vector>

#include <gtest/gtest.h>

#include "util/error.h"

namespace berth::orchestrator {
namespace {

using Names = std::vector<std::string>;
using NameSet = std::set<std::string>;

// Adds every service of `names`, then the edges as {dependent, dependency} pairs.
ServiceGraph make_graph(const Names& names,
                        const std::vector<std::pair<std::string, std::string>>& edges) {
  ServiceGraph graph;
  for (const std::string& name : names) {
    graph.add_service(name);
  }
  for (const auto& [service, dependency] : edges) {
    graph.add_dependency(service, dependency);
  }
  return graph;
}

std::string cycle_error(const ServiceGraph& graph) {
  try {
    graph.start_order();
  } catch (const Error& e) {
    return e.what();
  }
  return "no error";
}

// compose-go graph_test.go's example graph: C->A, C->B, E->B, D->C, D->E, F->D, G->A, where
// X->Y means "Y depends on X" there; here written as {dependent, dependency}.
ServiceGraph example_graph() {
  return make_graph(
      {"A", "B", "C", "D", "E", "F", "G"},
      {{"A", "C"}, {"B", "C"}, {"B", "E"}, {"C", "D"}, {"E", "D"}, {"D", "F"}, {"A", "G"}});
}

TEST(ServiceGraph, EmptyGraphHasEmptyOrders) {
  const ServiceGraph graph;
  EXPECT_EQ(graph.start_order(), Names{});
  EXPECT_EQ(graph.stop_order(), Names{});
  EXPECT_FALSE(graph.contains("web"));
}

TEST(ServiceGraph, IndependentServicesAreOrderedByName) {
  const ServiceGraph graph = make_graph({"web", "db", "cache"}, {});
  EXPECT_EQ(graph.start_order(), (Names{"cache", "db", "web"}));
  EXPECT_EQ(graph.stop_order(), (Names{"web", "db", "cache"}));
}

TEST(ServiceGraph, AddServiceTwiceKeepsItsEdges) {
  ServiceGraph graph = make_graph({"web", "db"}, {{"web", "db"}});
  graph.add_service("web");
  graph.add_service("db");
  EXPECT_EQ(graph.dependencies("web"), NameSet{"db"});
  EXPECT_EQ(graph.start_order(), (Names{"db", "web"}));
}

TEST(ServiceGraph, ChainStartsAtTheBottom) {
  // compose-go TestInDependencyUpCommandOrder / ReverseDown: test1 -> test2 -> test3.
  const ServiceGraph graph =
      make_graph({"test1", "test2", "test3"}, {{"test1", "test2"}, {"test2", "test3"}});
  EXPECT_EQ(graph.start_order(), (Names{"test3", "test2", "test1"}));
  EXPECT_EQ(graph.stop_order(), (Names{"test1", "test2", "test3"}));
}

TEST(ServiceGraph, ChainAgainstNameOrder) {
  const ServiceGraph graph = make_graph({"a", "b", "c"}, {{"a", "b"}, {"b", "c"}});
  EXPECT_EQ(graph.start_order(), (Names{"c", "b", "a"}));
}

TEST(ServiceGraph, Diamond) {
  // app depends on api and worker, both depend on db.
  const ServiceGraph graph =
      make_graph({"app", "api", "worker", "db"},
                 {{"app", "api"}, {"app", "worker"}, {"api", "db"}, {"worker", "db"}});
  EXPECT_EQ(graph.start_order(), (Names{"db", "api", "worker", "app"}));
  EXPECT_EQ(graph.stop_order(), (Names{"app", "worker", "api", "db"}));
}

TEST(ServiceGraph, ForestInterleavesTreesByName) {
  const ServiceGraph graph =
      make_graph({"b1", "b2", "a1", "a2", "lonely"}, {{"b1", "b2"}, {"a1", "a2"}});
  // Ready at first: a2, b2, lonely; each start may make a dependent ready, smallest first.
  EXPECT_EQ(graph.start_order(), (Names{"a2", "a1", "b2", "b1", "lonely"}));
}

TEST(ServiceGraph, ExampleGraphOrder) {
  const ServiceGraph graph = example_graph();
  EXPECT_EQ(graph.start_order(), (Names{"F", "D", "C", "E", "B", "G", "A"}));
}

TEST(ServiceGraph, MultipleParentsAppearOnce) {
  // compose-go TestTraversalWithMultipleParents: one service depending on 100 others.
  ServiceGraph graph;
  graph.add_service("dependent");
  for (int i = 1; i <= 100; ++i) {
    graph.add_dependency("dependent", "svc_" + std::to_string(i));
  }
  const Names order = graph.start_order();
  ASSERT_EQ(order.size(), 101u);
  EXPECT_EQ(order.back(), "dependent");
  EXPECT_EQ(NameSet(order.begin(), order.end()).size(), 101u);
}

TEST(ServiceGraph, LongChainDoesNotRecurse) {
  ServiceGraph graph;
  constexpr int k_length = 20000;
  for (int i = 0; i + 1 < k_length; ++i) {
    graph.add_dependency("s" + std::to_string(i), "s" + std::to_string(i + 1));
  }
  const Names order = graph.start_order();
  ASSERT_EQ(order.size(), static_cast<std::size_t>(k_length));
  EXPECT_EQ(order.front(), "s" + std::to_string(k_length - 1));
  EXPECT_EQ(order.back(), "s0");
  EXPECT_EQ(graph.with_dependencies({"s0"}).size(), static_cast<std::size_t>(k_length));
  graph.add_dependency("s" + std::to_string(k_length - 1), "s0");
  EXPECT_THROW(graph.start_order(), Error);
}

TEST(ServiceGraph, AddDependencyAddsUnknownNames) {
  ServiceGraph graph;
  graph.add_dependency("web", "db");
  EXPECT_TRUE(graph.contains("web"));
  EXPECT_TRUE(graph.contains("db"));
  EXPECT_FALSE(graph.contains("cache"));
  EXPECT_EQ(graph.dependencies("web"), NameSet{"db"});
  EXPECT_EQ(graph.dependents("db"), NameSet{"web"});
  EXPECT_EQ(graph.dependencies("db"), NameSet{});
  EXPECT_EQ(graph.dependents("web"), NameSet{});
}

TEST(ServiceGraph, DuplicateEdgeIsOneEdge) {
  ServiceGraph graph = make_graph({"web", "db"}, {{"web", "db"}, {"web", "db"}});
  EXPECT_EQ(graph.start_order(), (Names{"db", "web"}));
}

TEST(ServiceGraph, UnknownServiceQueriesThrow) {
  const ServiceGraph graph = make_graph({"web"}, {});
  EXPECT_THROW(graph.dependencies("nope"), Error);
  try {
    graph.dependents("nope");
    FAIL() << "expected an error";
  } catch (const Error& e) {
    EXPECT_STREQ(e.what(), "unknown service \"nope\"");
  }
  EXPECT_THROW(graph.with_dependencies({"web", "nope"}), Error);
}

TEST(ServiceGraph, SelfDependency) {
  const ServiceGraph graph = make_graph({"a"}, {{"a", "a"}});
  EXPECT_EQ(cycle_error(graph), "dependency cycle: a -> a");
  EXPECT_THROW(graph.stop_order(), Error);
}

TEST(ServiceGraph, TwoCycle) {
  const ServiceGraph graph = make_graph({"b", "a"}, {{"b", "a"}, {"a", "b"}});
  EXPECT_EQ(cycle_error(graph), "dependency cycle: a -> b -> a");
}

TEST(ServiceGraph, ThreeCycleIsRotatedToItsSmallestName) {
  // web -> db -> cache -> web: smallest is cache.
  const ServiceGraph graph =
      make_graph({"web", "db", "cache"}, {{"web", "db"}, {"db", "cache"}, {"cache", "web"}});
  EXPECT_EQ(cycle_error(graph), "dependency cycle: cache -> web -> db -> cache");
}

TEST(ServiceGraph, CycleBehindAnAcyclicPart) {
  // a depends on the cycle x <-> y but is not on it; z is fine.
  const ServiceGraph graph =
      make_graph({"a", "x", "y", "z"}, {{"a", "x"}, {"x", "y"}, {"y", "x"}, {"a", "z"}});
  EXPECT_EQ(cycle_error(graph), "dependency cycle: x -> y -> x");
}

TEST(ServiceGraph, CycleWithATail) {
  // b -> c -> d -> c: the walk from b enters the cycle c <-> d.
  const ServiceGraph graph = make_graph({"b", "c", "d"}, {{"b", "c"}, {"c", "d"}, {"d", "c"}});
  EXPECT_EQ(cycle_error(graph), "dependency cycle: c -> d -> c");
}

TEST(ServiceGraph, TwoCyclesReportTheOneReachedFromTheSmallestName) {
  const ServiceGraph graph =
      make_graph({"p", "q", "m", "n"}, {{"p", "q"}, {"q", "p"}, {"m", "n"}, {"n", "m"}});
  EXPECT_EQ(cycle_error(graph), "dependency cycle: m -> n -> m");
}

TEST(ServiceGraph, CycleFollowsSmallestDependency) {
  // a depends on b and c; both lead back to a. The walk takes b first.
  const ServiceGraph graph =
      make_graph({"a", "b", "c"}, {{"a", "b"}, {"a", "c"}, {"b", "a"}, {"c", "a"}});
  EXPECT_EQ(cycle_error(graph), "dependency cycle: a -> b -> a");
}

TEST(ServiceGraph, ExampleGraphWithCycle) {
  // compose-go Test_detectCycle adds the edge B->D (D depends on B) to the example graph.
  ServiceGraph graph = example_graph();
  graph.add_dependency("D", "B");
  EXPECT_EQ(cycle_error(graph), "dependency cycle: B -> C -> D -> B");
}

TEST(ServiceGraph, WithDependencies) {
  // compose-go TestWith_RootNodesAndUp (its edges point the other way, so its "down" is our
  // dependencies).
  const ServiceGraph graph = example_graph();
  EXPECT_EQ(graph.with_dependencies({"F", "G"}), (NameSet{"F", "G"}));
  EXPECT_EQ(graph.with_dependencies({"E"}), (NameSet{"D", "E", "F"}));
  EXPECT_EQ(graph.with_dependencies({"B"}), (NameSet{"B", "C", "D", "E", "F"}));
  EXPECT_EQ(graph.with_dependencies({"A"}), (NameSet{"A", "C", "D", "F", "G"}));
  EXPECT_EQ(graph.with_dependencies({"A", "B"}), (NameSet{"A", "B", "C", "D", "E", "F", "G"}));
  EXPECT_EQ(graph.with_dependencies({}), NameSet{});
}

TEST(ServiceGraph, WithDependenciesSurvivesCycles) {
  const ServiceGraph graph = make_graph({"a", "b", "c"}, {{"a", "b"}, {"b", "a"}});
  EXPECT_EQ(graph.with_dependencies({"a"}), (NameSet{"a", "b"}));
}

TEST(ServiceGraph, DependenciesAndDependents) {
  const ServiceGraph graph = example_graph();
  EXPECT_EQ(graph.dependencies("B"), (NameSet{"C", "E"}));
  EXPECT_EQ(graph.dependents("D"), (NameSet{"C", "E"}));
  EXPECT_EQ(graph.dependents("A"), NameSet{});
}

}  // namespace
}  // namespace berth::orchestrator
