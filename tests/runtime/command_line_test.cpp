#include "runtime/command_line.h"

#include <optional>
#include <string>
#include <vector>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "tests/support/error_of.h"

namespace berth::runtime {
namespace {

using nlohmann::json;
using testing::error_of;
using Args = std::vector<std::string>;

// The image config stores a shell form as ["/bin/sh", "-c", "<text>"], as `docker build` does.
const json k_shell_entry = json::array({"/bin/sh", "-c", "exec_entry p1_entry"});
const json k_exec_entry = json::array({"exec_entry", "p1_entry"});
const json k_shell_cmd = json::array({"/bin/sh", "-c", "exec_cmd p1_cmd"});
const json k_exec_cmd = json::array({"exec_cmd", "p1_cmd"});

json image(const json& entrypoint, const json& cmd) {
  return {{"Entrypoint", entrypoint}, {"Cmd", cmd}};
}

Args image_args(const json& entrypoint, const json& cmd) {
  return command_line(std::nullopt, std::nullopt, image(entrypoint, cmd));
}

// Docker's "Understand how CMD and ENTRYPOINT interact" table, row by row. Where the table
// shows "/bin/sh -c exec_entry p1_entry", the CMD words still follow as the shell's $0 and $1,
// which the shell ignores: that is what Docker runs too.
TEST(CommandLine, NoCmdRow) {
  EXPECT_EQ(error_of([] { image_args(nullptr, nullptr); }), "no command specified");
  EXPECT_EQ(image_args(k_shell_entry, nullptr), (Args{"/bin/sh", "-c", "exec_entry p1_entry"}));
  EXPECT_EQ(image_args(k_exec_entry, nullptr), (Args{"exec_entry", "p1_entry"}));
}

TEST(CommandLine, ExecFormCmdRow) {
  EXPECT_EQ(image_args(nullptr, k_exec_cmd), (Args{"exec_cmd", "p1_cmd"}));
  EXPECT_EQ(image_args(k_shell_entry, k_exec_cmd),
            (Args{"/bin/sh", "-c", "exec_entry p1_entry", "exec_cmd", "p1_cmd"}));
  EXPECT_EQ(image_args(k_exec_entry, k_exec_cmd),
            (Args{"exec_entry", "p1_entry", "exec_cmd", "p1_cmd"}));
}

TEST(CommandLine, ShellFormCmdRow) {
  EXPECT_EQ(image_args(nullptr, k_shell_cmd), (Args{"/bin/sh", "-c", "exec_cmd p1_cmd"}));
  EXPECT_EQ(image_args(k_shell_entry, k_shell_cmd),
            (Args{"/bin/sh", "-c", "exec_entry p1_entry", "/bin/sh", "-c", "exec_cmd p1_cmd"}));
  EXPECT_EQ(image_args(k_exec_entry, k_shell_cmd),
            (Args{"exec_entry", "p1_entry", "/bin/sh", "-c", "exec_cmd p1_cmd"}));
}

TEST(CommandLine, UserCommandReplacesTheImageCmdAndFollowsItsEntrypoint) {
  EXPECT_EQ(command_line(std::nullopt, Args{"echo", "hi"}, image(nullptr, k_exec_cmd)),
            (Args{"echo", "hi"}));
  EXPECT_EQ(command_line(std::nullopt, Args{"--verbose"}, image(k_exec_entry, k_exec_cmd)),
            (Args{"exec_entry", "p1_entry", "--verbose"}));
}

TEST(CommandLine, EmptyUserCommandKeepsTheImageCmd) {
  EXPECT_EQ(command_line(std::nullopt, Args{}, image(nullptr, k_exec_cmd)),
            (Args{"exec_cmd", "p1_cmd"}));
}

TEST(CommandLine, UserEntrypointResetsTheImageCmd) {
  EXPECT_EQ(command_line(Args{"/bin/top"}, std::nullopt, image(k_exec_entry, k_exec_cmd)),
            (Args{"/bin/top"}));
  EXPECT_EQ(command_line(Args{"/bin/top"}, Args{"-b"}, image(k_exec_entry, k_exec_cmd)),
            (Args{"/bin/top", "-b"}));
}

TEST(CommandLine, EmptyEntrypointClearsTheImageOne) {
  // `--entrypoint ""` (as an empty list or Docker's one empty string) with a command runs
  // just the command; without one there is nothing to run.
  EXPECT_EQ(command_line(Args{}, Args{"bash"}, image(k_exec_entry, k_exec_cmd)), (Args{"bash"}));
  EXPECT_EQ(command_line(Args{""}, Args{"bash"}, image(k_exec_entry, k_exec_cmd)), (Args{"bash"}));
  EXPECT_EQ(error_of([] { command_line(Args{}, std::nullopt, image(k_exec_entry, k_exec_cmd)); }),
            "no command specified");
  EXPECT_EQ(error_of([] { command_line(Args{""}, Args{}, image(nullptr, k_exec_cmd)); }),
            "no command specified");
}

TEST(CommandLine, MissingOrNullImageConfig) {
  EXPECT_EQ(command_line(std::nullopt, Args{"sh"}, nullptr), (Args{"sh"}));
  EXPECT_EQ(command_line(std::nullopt, Args{"sh"}, json::object()), (Args{"sh"}));
  EXPECT_EQ(error_of([] { command_line(std::nullopt, std::nullopt, json::object()); }),
            "no command specified");
}

TEST(CommandLine, MalformedImageConfig) {
  EXPECT_EQ(error_of([] { image_args(nullptr, "echo hi"); }),
            "invalid image config: Cmd must be a list of strings");
  EXPECT_EQ(error_of([] { image_args(json::array({1}), nullptr); }),
            "invalid image config: Entrypoint must be a list of strings");
}

}  // namespace
}  // namespace berth::runtime
