// `berth image pull` in the hard cases: token authentication, multi-platform indexes, and a
// pull killed halfway.
#include <dirent.h>
#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <memory>
#include <thread>

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "image/registry_client.h"
#include "tests/support/busybox_image.h"
#include "tests/support/registry_server.h"
#include "tests/support/run_berth.h"

namespace berth::testing {
namespace {

using nlohmann::json;
using ::testing::HasSubstr;

class ImagePull : public ::testing::Test {
 protected:
  void SetUp() override {
    if (!have_static_busybox()) GTEST_SKIP() << "needs /bin/busybox from busybox-static";
    m_rootfs = m_work.path() + "/rootfs.tar";
    make_busybox_rootfs_tar(m_rootfs, "image-pull");
  }
  std::map<std::string, std::string> environment(const std::string& root_name) const {
    return {{"BERTH_ROOT", m_work.path() + "/" + root_name},
            {"DOCKER_CONFIG", m_work.path() + "/docker-config"},
            {"BERTH_CONFIG", m_work.path() + "/no-berth-config.json"}};
  }
  RunResult berth(const std::vector<std::string>& args, const std::string& root_name = "root",
                  const std::string& stdin_text = "") {
    return run_berth(args, m_work.path(), environment(root_name), stdin_text);
  }
  json inspect(const std::string& name, const std::string& root_name = "root") {
    const auto result = berth({"image", "inspect", name}, root_name);
    EXPECT_EQ(result.exit_code, 0) << result.err;
    return result.exit_code == 0 ? json::parse(result.out).at(0) : json::object();
  }
  std::string blob(const std::string& root_name, const std::string& digest) const {
    return read_text(m_work.path() + "/" + root_name + "/images/blobs/sha256/" + digest.substr(7));
  }

  TempDir m_work;
  std::string m_rootfs;
};

TEST_F(ImagePull, TokenAuthGrantsWhatTheUserMayDo) {
  RegistryServer registry(RegistryAuth::token, {RegistryUser{"alice", "a-pass", {"pull", "push"}},
                                                RegistryUser{"bob", "b-pass", {"pull"}}});
  const std::string name = registry.host_port() + "/team/bb:1";
  ASSERT_EQ(berth({"image", "import", m_rootfs, name}).exit_code, 0);

  ASSERT_EQ(berth({"login", registry.host_port(), "-u", "alice", "-p", "a-pass"}).exit_code, 0);
  auto pushed = berth({"image", "push", "-q", name});
  ASSERT_EQ(pushed.exit_code, 0) << pushed.err;
  ASSERT_EQ(berth({"logout", registry.host_port()}).exit_code, 0);

  auto anonymous = berth({"image", "pull", "-q", name}, "bob");
  EXPECT_EQ(anonymous.exit_code, 1);
  EXPECT_EQ(anonymous.err, "berth: error: pull access denied for team/bb on " +
                               registry.host_port() + ": unauthorized\n");

  ASSERT_EQ(berth({"login", registry.host_port(), "-u", "bob", "-p", "b-pass"}, "bob").exit_code,
            0);
  auto pulled = berth({"image", "pull", "-q", name}, "bob");
  ASSERT_EQ(pulled.exit_code, 0) << pulled.err;
  EXPECT_EQ(pulled.out, name + "\n");
  EXPECT_EQ(inspect(name, "bob")["Id"], inspect(name)["Id"]);

  auto denied = berth({"image", "push", "-q", name}, "bob");
  EXPECT_EQ(denied.exit_code, 1);
  EXPECT_THAT(denied.err, HasSubstr("push access denied for team/bb on " + registry.host_port()));
}

TEST_F(ImagePull, AnIndexResolvesToThePlatformAsked) {
  RegistryServer registry;
  const std::string repo = registry.host_port() + "/team/multi";
  make_busybox_rootfs_tar(m_work.path() + "/arm.tar", "arm64");
  ASSERT_EQ(berth({"image", "import", m_rootfs, repo + ":amd64"}).exit_code, 0);
  ASSERT_EQ(berth({"image", "import", "--platform", "linux/arm64/v8", m_work.path() + "/arm.tar",
                   repo + ":arm64"})
                .exit_code,
            0);
  ASSERT_EQ(berth({"image", "push", "-q", repo}).exit_code, 0);  // every tag

  // An OCI index over both, as multi-platform images are published.
  const json amd = inspect(repo + ":amd64")["Descriptor"];
  const json arm = inspect(repo + ":arm64")["Descriptor"];
  json index = {
      {"schemaVersion", 2},
      {"mediaType", "application/vnd.oci.image.index.v1+json"},
      {"manifests",
       {{{"mediaType", amd["mediaType"]},
         {"digest", amd["digest"]},
         {"size", amd["size"]},
         {"platform", {{"architecture", "amd64"}, {"os", "linux"}}}},
        {{"mediaType", arm["mediaType"]},
         {"digest", arm["digest"]},
         {"size", arm["size"]},
         {"platform", {{"architecture", "arm64"}, {"os", "linux"}, {"variant", "v8"}}}}}}};
  image::RegistryClient client(registry.host_port());
  client.put_manifest("team/multi", "latest", index.dump(),
                      "application/vnd.oci.image.index.v1+json");

  auto pulled = berth({"image", "pull", "-q", repo}, "amd");
  ASSERT_EQ(pulled.exit_code, 0) << pulled.err;
  EXPECT_EQ(inspect(repo, "amd")["Id"], inspect(repo + ":amd64")["Id"]);
  auto arm_pulled = berth({"image", "pull", "-q", "--platform", "linux/arm64", repo}, "arm");
  ASSERT_EQ(arm_pulled.exit_code, 0) << arm_pulled.err;
  EXPECT_EQ(inspect(repo, "arm")["Id"], inspect(repo + ":arm64")["Id"]);
  EXPECT_EQ(inspect(repo, "arm")["Architecture"], "arm64");

  // The name's digest is the index's, as Docker records it; pulling again is a no-op.
  const json digests = inspect(repo, "amd")["RepoDigests"];
  ASSERT_EQ(digests.size(), 1u);
  EXPECT_THAT(digests[0].get<std::string>(), HasSubstr("@sha256:"));
  EXPECT_THAT(berth({"image", "pull", repo}, "amd").out, HasSubstr("Image is up to date"));

  auto none = berth({"image", "pull", "--platform", "linux/s390x", repo}, "s390x");
  EXPECT_EQ(none.exit_code, 1);
  EXPECT_EQ(none.err,
            "berth: error: no matching manifest for linux/s390x in the manifest list "
            "entries of " +
                repo + ":latest\n");
}

/// Starts berth without waiting; killed and reaped by the test.
pid_t spawn_berth(const std::vector<std::string>& args,
                  const std::map<std::string, std::string>& env, const std::string& log_path) {
  std::vector<std::string> argv_strings{BERTH_BINARY};
  argv_strings.insert(argv_strings.end(), args.begin(), args.end());
  std::vector<char*> argv;
  for (auto& arg : argv_strings) argv.push_back(arg.data());
  argv.push_back(nullptr);
  std::vector<std::string> env_strings{"PATH=/usr/sbin:/usr/bin:/sbin:/bin", "HOME=/root"};
  for (const auto& [key, value] : env) env_strings.push_back(key + "=" + value);
  std::vector<char*> envp;
  for (auto& entry : env_strings) envp.push_back(entry.data());
  envp.push_back(nullptr);
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_addopen(&actions, STDOUT_FILENO, log_path.c_str(),
                                   O_WRONLY | O_CREAT | O_TRUNC, 0600);
  posix_spawn_file_actions_adddup2(&actions, STDOUT_FILENO, STDERR_FILENO);
  pid_t pid = -1;
  const int error = posix_spawn(&pid, argv[0], &actions, nullptr, argv.data(), envp.data());
  posix_spawn_file_actions_destroy(&actions);
  return error == 0 ? pid : -1;
}

/// The size of the largest file directly in `dir` (0 when none).
std::uintmax_t largest_file(const std::string& dir) {
  std::uintmax_t largest = 0;
  std::error_code error;
  for (const auto& entry : std::filesystem::directory_iterator(dir, error)) {
    if (entry.is_regular_file(error)) largest = std::max(largest, entry.file_size(error));
  }
  return largest;
}

/// A registry that serves one image of the "source" store by hand, so a test can break or
/// corrupt the layer transfer. The image has an incompressible 4 MB file, so its layer blob
/// is big.
class HandServedImage : public ImagePull {
 protected:
  void SetUp() override {
    ImagePull::SetUp();
    if (IsSkipped()) return;
    {
      TempDir tree;
      std::filesystem::create_directories(tree.path() + "/data");
      std::ifstream random("/dev/urandom", std::ios::binary);
      std::string bytes(4 << 20, '\0');
      random.read(bytes.data(), static_cast<std::streamsize>(bytes.size()));
      std::ofstream(tree.path() + "/data/random", std::ios::binary) << bytes;
      const std::string command =
          "tar -C '" + tree.path() + "' -cf '" + m_work.path() + "/big.tar' .";
      ASSERT_EQ(std::system(command.c_str()), 0);
    }
    ASSERT_EQ(berth({"image", "import", m_work.path() + "/big.tar", "big:1"}, "source").exit_code,
              0);
    m_source = inspect("big:1", "source");
    m_manifest_digest = m_source["Descriptor"]["digest"];
    const json manifest = json::parse(blob("source", m_manifest_digest));
    m_config_digest = manifest["config"]["digest"];
    m_layer_digest = manifest["layers"][0]["digest"];
    m_layer = blob("source", m_layer_digest);
    m_server = std::make_unique<TinyHttpServer>(
        [this](const SeenRequest& request) { return answer(request); });
    m_name = m_server->host_port() + "/team/big:1";
  }

  CannedResponse answer(const SeenRequest& request) {
    CannedResponse response;
    const std::string& target = request.target;
    if (target == "/v2/") {
      response.body = "{}";
    } else if (target.ends_with("/manifests/1") ||
               target.ends_with("/manifests/" + m_manifest_digest)) {
      response.body = blob("source", m_manifest_digest);
      response.headers = {{"Content-Type", m_source["Descriptor"]["mediaType"]},
                          {"Docker-Content-Digest", m_manifest_digest}};
    } else if (target.ends_with("/blobs/" + m_config_digest)) {
      response.body = blob("source", m_config_digest);
    } else if (target.ends_with("/blobs/" + m_layer_digest)) {
      response.body = m_layer;
      if (m_corrupt) response.body[response.body.size() / 2] ^= 1;
      if (m_broken) response.cut_after = m_layer.size() / 2;
    } else {
      response.status = 404;
      response.body = R"({"errors":[{"code":"NOT_FOUND","message":"not found"}]})";
    }
    return response;
  }

  json m_source;
  std::string m_manifest_digest;
  std::string m_config_digest;
  std::string m_layer_digest;
  std::string m_layer;
  std::atomic<bool> m_broken{false};   // the layer's transfer breaks halfway
  std::atomic<bool> m_corrupt{false};  // one bit of the layer is flipped
  std::unique_ptr<TinyHttpServer> m_server;
  std::string m_name;
};

TEST_F(HandServedImage, APullKilledHalfwayLeavesNothingAndTheNextOneCompletes) {
  // The transfer breaks halfway; berth then waits before retrying, which is when it is killed.
  m_broken = true;
  const std::string log = m_work.path() + "/killed-pull.log";
  const pid_t pid = spawn_berth({"image", "pull", "-q", m_name}, environment("root"), log);
  ASSERT_GT(pid, 0);
  const std::string tmp = m_work.path() + "/root/images/tmp";
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(20);
  while (largest_file(tmp) < m_layer.size() / 4 && std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(std::chrono::milliseconds(2));
  }
  // Buffered writes reach the file in steps, so a quarter on disk means mid-transfer.
  const bool halfway = largest_file(tmp) >= m_layer.size() / 4;
  ::kill(pid, SIGKILL);
  ::waitpid(pid, nullptr, 0);
  ASSERT_TRUE(halfway) << "berth never wrote half of the layer: " << read_text(log);

  // Nothing partial is visible: no layer blob, no unpacked layer, no image.
  const std::string images = m_work.path() + "/root/images";
  EXPECT_FALSE(std::filesystem::exists(images + "/blobs/sha256/" + m_layer_digest.substr(7)));
  EXPECT_TRUE(!std::filesystem::exists(images + "/layers") ||
              std::filesystem::is_empty(images + "/layers"));
  EXPECT_EQ(berth({"image", "ls", "-q"}).out, "");

  m_broken = false;
  auto completed = berth({"image", "pull", "-q", m_name});
  ASSERT_EQ(completed.exit_code, 0) << completed.err;
  EXPECT_EQ(inspect(m_name)["Id"], m_source["Id"]);
  // The killed pull's temp file goes with the next garbage collection.
  ASSERT_EQ(berth({"image", "prune", "-f"}).exit_code, 0);
  EXPECT_TRUE(std::filesystem::is_empty(tmp));
}

TEST_F(HandServedImage, ALayerThatDoesNotMatchItsDigestIsRefused) {
  m_corrupt = true;
  auto pulled = berth({"image", "pull", "-q", m_name});
  EXPECT_EQ(pulled.exit_code, 1);
  EXPECT_THAT(pulled.err,
              ::testing::MatchesRegex("berth: error: blob " + m_layer_digest +
                                      ": digest mismatch \\(got sha256:[0-9a-f]{64}\\)\n"));
  const std::string images = m_work.path() + "/root/images";
  EXPECT_FALSE(std::filesystem::exists(images + "/blobs/sha256/" + m_layer_digest.substr(7)));
  EXPECT_EQ(berth({"image", "ls", "-q"}).out, "");
}

}  // namespace
}  // namespace berth::testing
