// The fixture of the `berth image build` suites: ContainerCli's fresh root per runtime, and a
// build context holding a busybox rootfs.tar, so that every Dockerfile can start the way
// Debian's official images do (`FROM scratch` + `ADD rootfs.tar /`).
#pragma once

#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "tests/cli/container_fixture.h"

namespace berth::testing {

inline constexpr const char* k_busybox_base = "FROM scratch\nADD rootfs.tar /\n";

class BuildCli : public ContainerCli {
 protected:
  void SetUp() override {
    ContainerCli::SetUp();
    if (IsSkipped()) return;
    m_context = m_work.path() + "/ctx";
    std::filesystem::create_directories(m_context);
    make_busybox_rootfs_tar(m_context + "/rootfs.tar", "build");
  }

  void write_context(const std::string& relative, const std::string& content) {
    const std::string path = m_context + "/" + relative;
    std::filesystem::create_directories(std::filesystem::path(path).parent_path());
    std::ofstream(path) << content;
  }

  /// `image build --progress plain FLAGS... CONTEXT` with `dockerfile` as its Dockerfile.
  RunResult build(const std::string& dockerfile, std::vector<std::string> flags = {}) {
    write_context("Dockerfile", dockerfile);
    std::vector<std::string> args = {"image", "build", "--progress", "plain"};
    args.insert(args.end(), flags.begin(), flags.end());
    args.push_back(m_context);
    return berth(args);
  }

  /// `sh -c COMMAND` in a new container of `image`: its standard output.
  std::string in_image(const std::string& image, const std::string& command) {
    const auto run = berth({"container", "run", "--rm", image, "sh", "-c", command});
    EXPECT_EQ(run.exit_code, 0) << run.err;
    return run.out;
  }

  /// The image's config ("Env", "Cmd", ...), from image inspect.
  nlohmann::json image_config(const std::string& name) {
    const auto result = berth({"image", "inspect", name});
    EXPECT_EQ(result.exit_code, 0) << result.err;
    return result.exit_code == 0 ? nlohmann::json::parse(result.out).at(0).at("Config")
                                 : nlohmann::json::object();
  }

  std::string m_context;
};

}  // namespace berth::testing
