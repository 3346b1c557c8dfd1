// The fixture of the compose command suites (up, down, ps, logs, stop, ...): ContainerCli's
// fresh root and busybox image "bb:1" per runtime, a project "shop" whose compose file each
// test writes, and a `down -v` at the end whatever the test left.
#pragma once

#include <string>
#include <vector>

#include "tests/cli/container_fixture.h"

namespace berth::testing {

class ComposeCli : public ContainerCli {
 protected:
  void TearDown() override {
    if (!IsSkipped()) project({"down", "-v", "-t", "0"});
    ContainerCli::TearDown();
  }

  /// Writes the project's compose file (shop/compose.yaml).
  void write_compose(const std::string& text) { m_work.write("shop/compose.yaml", text); }

  /// berth on the project: its directory and compose file named before `args`.
  RunResult project(std::vector<std::string> args, const std::string& stdin_text = "") {
    args.insert(args.begin(), {"--project-directory", m_work.path() + "/shop", "-f",
                               m_work.path() + "/shop/compose.yaml"});
    return berth(args, stdin_text);
  }

  /// The containers `container ls` shows, one JSON line each.
  std::vector<std::string> running() {
    return split_lines(berth({"container", "ls", "--format", "json"}).out);
  }
  std::string id_of(const std::string& name) { return inspect(name)["Id"]; }
};

}  // namespace berth::testing
