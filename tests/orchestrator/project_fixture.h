// Tests of what is computed from a loaded project: a compose file written to a temporary
// directory and loaded as project "shop" with an injected environment.
#pragma once

#include <map>
#include <string>

#include <gtest/gtest.h>

#include "orchestrator/compose/loader.h"
#include "tests/support/run_berth.h"

namespace berth::testing {

class ProjectTest : public ::testing::Test {
 protected:
  compose::Project load(const std::string& yaml, std::map<std::string, std::string> env = {}) {
    m_dir.write("compose.yaml", yaml);
    compose::LoadOptions options;
    options.working_dir = m_dir.path();
    options.project_name = "shop";
    env.emplace("HOME", "/home/user");
    options.environment = env;
    return compose::load_project(options);
  }

  TempDir m_dir;
};

}  // namespace berth::testing
