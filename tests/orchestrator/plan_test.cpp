// The convergence rules of `up` for one service: what is created, started, kept, recreated
// and removed for every combination of wanted and existing containers.
#include "orchestrator/plan.h"

#include <gtest/gtest.h>

namespace berth::orchestrator {
namespace {

DesiredContainer want(int number, const std::string& hash = "h1", const std::string& image = "") {
  return DesiredContainer{"shop-web-" + std::to_string(number), number, hash, image};
}

ObservedContainer have(int number, bool active = true, const std::string& hash = "h1",
                       const std::string& image = "") {
  return ObservedContainer{"shop-web-" + std::to_string(number), number, hash, image, active};
}

/// The steps as "create:1 keep:2 ..." for readable failures.
std::string render(const std::vector<PlannedStep>& steps) {
  std::string text;
  for (const auto& step : steps) {
    const char* names[] = {"create", "start", "keep", "recreate", "remove"};
    if (!text.empty()) text += " ";
    text += std::string(names[static_cast<int>(step.step)]) + ":" + std::to_string(step.number);
  }
  return text;
}

TEST(Plan, NothingThereCreatesEveryReplicaInNumberOrder) {
  EXPECT_EQ(render(plan_service({want(2), want(1)}, {}, RecreatePolicy::diverged)),
            "create:1 create:2");
}

TEST(Plan, AnUnchangedRunningContainerIsKeptAndAStoppedOneStarted) {
  EXPECT_EQ(
      render(plan_service({want(1), want(2)}, {have(1), have(2, false)}, RecreatePolicy::diverged)),
      "keep:1 start:2");
}

TEST(Plan, AChangedConfigOrImageIsRecreated) {
  EXPECT_EQ(render(plan_service({want(1, "h2")}, {have(1)}, RecreatePolicy::diverged)),
            "recreate:1");
  EXPECT_EQ(render(plan_service({want(1, "h1", "sha256:b")}, {have(1, true, "h1", "sha256:a")},
                                RecreatePolicy::diverged)),
            "recreate:1");
  // An image not pulled yet says nothing about divergence.
  EXPECT_EQ(render(plan_service({want(1, "h1", "")}, {have(1, true, "h1", "sha256:a")},
                                RecreatePolicy::diverged)),
            "keep:1");
}

TEST(Plan, ForceRecreatesEverythingAndNeverNothing) {
  EXPECT_EQ(render(plan_service({want(1)}, {have(1)}, RecreatePolicy::force)), "recreate:1");
  EXPECT_EQ(
      render(plan_service({want(1, "h2"), want(2, "h2")}, {have(1, false)}, RecreatePolicy::never)),
      "start:1 create:2");
}

TEST(Plan, ScalingDownRemovesTheHighestNumbersFirst) {
  const auto steps = plan_service({want(1)}, {have(3), have(1), have(2)}, RecreatePolicy::diverged);
  EXPECT_EQ(render(steps), "keep:1 remove:3 remove:2");
  EXPECT_EQ(steps[1].name, "shop-web-3");
}

TEST(Plan, ADuplicateNumberIsRemoved) {
  ObservedContainer old_name = have(1);
  old_name.name = "legacy";
  const auto steps = plan_service({want(1)}, {old_name, have(1)}, RecreatePolicy::diverged);
  EXPECT_EQ(render(steps), "keep:1 remove:1");
  EXPECT_EQ(steps[1].name, "legacy");
}

TEST(Plan, OrphansAreTheServicesTheFilesDoNotDeclare) {
  EXPECT_EQ(orphan_services({"web", "old", "db", "old", "gone"}, {"web", "db", "debug"}),
            (std::vector<std::string>{"gone", "old"}));
  EXPECT_TRUE(orphan_services({"web"}, {"web"}).empty());
}

}  // namespace
}  // namespace berth::orchestrator
