// `berth image ...` end to end: the binary, a real registry server on loopback, images the
// test makes from Debian's busybox-static, and podman for archive interoperability.
#include <signal.h>
#include <spawn.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <thread>

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "tests/support/busybox_image.h"
#include "tests/support/registry_server.h"
#include "tests/support/run_berth.h"
#include "util/sha256.h"

namespace berth::testing {
namespace {

using nlohmann::json;
using ::testing::HasSubstr;

/// A private berth root per test, and the rootfs tar the test's images are made from.
class ImageCli : public ::testing::Test {
 protected:
  void SetUp() override {
    if (!have_static_busybox()) GTEST_SKIP() << "needs /bin/busybox from busybox-static";
    m_rootfs = m_work.path() + "/rootfs.tar";
    make_busybox_rootfs_tar(m_rootfs, "image-cli");
  }

  RunResult berth(const std::vector<std::string>& args, const std::string& root_name = "root",
                  const std::string& stdin_text = "") {
    return run_berth(args, m_work.path(), environment(root_name), stdin_text);
  }
  std::map<std::string, std::string> environment(const std::string& root_name) const {
    return {{"BERTH_ROOT", root(root_name)},
            {"DOCKER_CONFIG", m_work.path() + "/docker-config"},
            {"BERTH_CONFIG", m_work.path() + "/no-berth-config.json"}};
  }
  std::string root(const std::string& name = "root") const { return m_work.path() + "/" + name; }

  json inspect(const std::string& name, const std::string& root_name = "root") {
    const auto result = berth({"image", "inspect", name}, root_name);
    EXPECT_EQ(result.exit_code, 0) << result.err;
    return json::parse(result.out).at(0);
  }

  TempDir m_work;
  std::string m_rootfs;
};

TEST_F(ImageCli, ImportMakesAnImageWithTheTarAsItsLayer) {
  // Flags first, as Docker's users write them: each --change takes one instruction.
  const auto imported = berth({"image", "import", "--change", "CMD [\"sh\"]", "--change",
                               "ENV GREETING=hello", m_rootfs, "bb:1"});
  ASSERT_EQ(imported.exit_code, 0) << imported.err;
  ASSERT_THAT(imported.out, ::testing::MatchesRegex("sha256:[0-9a-f]{64}\n"));

  const json image = inspect("bb:1");
  EXPECT_EQ(image["Id"], imported.out.substr(0, imported.out.size() - 1));
  EXPECT_EQ(image["RepoTags"], json({"bb:1"}));
  EXPECT_EQ(image["Config"]["Cmd"], json({"sh"}));
  EXPECT_EQ(image["Config"]["Env"], json({"GREETING=hello"}));
  EXPECT_EQ(image["Os"], "linux");
  EXPECT_EQ(image["Architecture"], "amd64");
  // The layer's diff id is the sha256 of the tar the user gave.
  EXPECT_EQ(image["RootFS"]["Layers"], json({"sha256:" + sha256_hex(read_text(m_rootfs))}));

  const auto listed = berth({"image", "ls"});
  ASSERT_EQ(listed.exit_code, 0) << listed.err;
  EXPECT_THAT(listed.out, ::testing::StartsWith("REPOSITORY   TAG   IMAGE ID       CREATED"));
  EXPECT_THAT(listed.out,
              HasSubstr("bb           1     " + image["Id"].get<std::string>().substr(7, 12)));
  EXPECT_EQ(berth({"image", "ls", "-q"}).out, image["Id"].get<std::string>().substr(7, 12) + "\n");
}

TEST_F(ImageCli, HistoryAndJsonListing) {
  ASSERT_EQ(berth({"image", "import", "-m", "made by a test", m_rootfs, "bb:1"}).exit_code, 0);
  const std::string id = inspect("bb:1")["Id"];
  auto history = berth({"image", "history", "bb:1"});
  ASSERT_EQ(history.exit_code, 0) << history.err;
  EXPECT_THAT(history.out, ::testing::MatchesRegex(
                               "IMAGE +CREATED +CREATED BY +SIZE +COMMENT\n" + id.substr(7, 12) +
                               " +(Less than a second|[0-9]+ seconds?) ago +berth image import +"
                               "[0-9.]+[kM]B +made by a test\n"));
  auto listed = berth({"image", "ls", "--format", "json"});
  ASSERT_EQ(listed.exit_code, 0) << listed.err;
  const json row = json::parse(listed.out);
  EXPECT_EQ(row["Repository"], "bb");
  EXPECT_EQ(row["Tag"], "1");
  EXPECT_EQ(row["ID"], id.substr(7, 12));
  EXPECT_EQ(row["Digest"], "<none>");  // never pushed or pulled: no registry digest
}

TEST_F(ImageCli, TagRemoveAndPrune) {
  ASSERT_EQ(berth({"image", "import", m_rootfs, "bb:1"}).exit_code, 0);
  ASSERT_EQ(berth({"image", "tag", "bb:1", "localhost:5000/team/bb:2"}).exit_code, 0);
  EXPECT_EQ(inspect("bb:1")["RepoTags"], json({"bb:1", "localhost:5000/team/bb:2"}));
  const std::string id = inspect("bb:1")["Id"];

  // An id names an image in two repositories: only -f removes it.
  auto refused = berth({"image", "rm", id.substr(7, 12)});
  EXPECT_EQ(refused.exit_code, 1);
  EXPECT_EQ(refused.err, "berth: error: conflict: unable to delete " + id.substr(7, 12) +
                             " (must be forced) - image is referenced in multiple repositories\n");

  auto untagged = berth({"image", "rm", "localhost:5000/team/bb:2"});
  EXPECT_EQ(untagged.exit_code, 0) << untagged.err;
  EXPECT_EQ(untagged.out, "Untagged: localhost:5000/team/bb:2\n");

  auto removed = berth({"image", "rm", "bb:1"});
  EXPECT_EQ(removed.out, "Untagged: bb:1\nDeleted: " + id + "\n");
  EXPECT_EQ(berth({"image", "ls", "-q"}).out, "");
  // Nothing of it is left on disk: no blobs, no unpacked layers.
  EXPECT_TRUE(std::filesystem::is_empty(root() + "/images/blobs/sha256"));
  EXPECT_TRUE(std::filesystem::is_empty(root() + "/images/layers"));

  auto missing = berth({"image", "rm", "nosuch:1"});
  EXPECT_EQ(missing.exit_code, 1);
  EXPECT_EQ(missing.err, "berth: error: No such image: nosuch:1\n");

  // Importing twice under one tag leaves the first image dangling; prune removes it.
  make_busybox_rootfs_tar(m_work.path() + "/other.tar", "other");
  ASSERT_EQ(berth({"image", "import", m_rootfs, "bb:1"}).exit_code, 0);
  ASSERT_EQ(berth({"image", "import", m_work.path() + "/other.tar", "bb:1"}).exit_code, 0);
  EXPECT_THAT(berth({"image", "ls"}).out, HasSubstr("<none>       <none>"));
  auto pruned = berth({"image", "prune", "-f"});
  EXPECT_EQ(pruned.exit_code, 0) << pruned.err;
  EXPECT_THAT(pruned.out, ::testing::StartsWith("Deleted Images:\ndeleted: sha256:"));
  EXPECT_THAT(pruned.out, HasSubstr("Total reclaimed space: "));
  EXPECT_EQ(berth({"image", "ls", "-q"}).out,
            inspect("bb:1")["Id"].get<std::string>().substr(7, 12) + "\n");
}

TEST_F(ImageCli, InvalidReferencesAndChangesAreOneLineErrors) {
  auto bad_name = berth({"image", "import", m_rootfs, "Bad:Name"});
  EXPECT_EQ(bad_name.exit_code, 1);
  EXPECT_EQ(bad_name.err,
            "berth: error: invalid reference format: repository name must be lowercase: "
            "\"Bad:Name\"\n");
  auto bad_change = berth({"image", "import", m_rootfs, "bb:1", "--change", "RUN make"});
  EXPECT_EQ(bad_change.exit_code, 1);
  EXPECT_THAT(bad_change.err, ::testing::StartsWith("berth: error: invalid change \"RUN make\": "
                                                    "unknown instruction RUN"));
  auto not_tar = berth({"image", "import", "-", "bb:1"}, "root", "this is not a tar");
  EXPECT_EQ(not_tar.exit_code, 1);
  EXPECT_EQ(not_tar.err, "berth: error: standard input: not a tar archive\n");
  EXPECT_EQ(berth({"image", "ls", "-q"}).out, "");  // nothing half-made
}

TEST_F(ImageCli, PushRemovePullGivesTheSameImage) {
  RegistryServer registry;
  const std::string name = registry.host_port() + "/team/bb:1";
  ASSERT_EQ(berth({"image", "import", m_rootfs, name}).exit_code, 0);
  const std::string id = inspect(name)["Id"];

  auto pushed = berth({"image", "push", name});
  ASSERT_EQ(pushed.exit_code, 0) << pushed.err;
  EXPECT_THAT(pushed.out,
              HasSubstr("The push refers to repository [" + registry.host_port() + "/team/bb]\n"));
  EXPECT_THAT(pushed.out,
              ::testing::MatchesRegex("(.|\n)*\n1: digest: sha256:[0-9a-f]{64} size: [0-9]+\n"));
  const json after_push = inspect(name);
  ASSERT_EQ(after_push["RepoDigests"].size(), 1u);
  const std::string repo_digest = after_push["RepoDigests"][0];

  // Pushed again: the registry has every layer.
  EXPECT_THAT(berth({"image", "push", name}).out, HasSubstr(": Layer already exists\n"));

  ASSERT_EQ(berth({"image", "rm", name}).exit_code, 0);
  ASSERT_EQ(berth({"image", "ls", "-q"}).out, "");

  auto pulled = berth({"image", "pull", name});
  ASSERT_EQ(pulled.exit_code, 0) << pulled.err;
  EXPECT_THAT(pulled.out, ::testing::StartsWith("1: Pulling from team/bb\n"));
  EXPECT_THAT(pulled.out, HasSubstr(": Pull complete\n"));
  EXPECT_THAT(pulled.out, HasSubstr("Status: Downloaded newer image for " + name + "\n"));
  const json image = inspect(name);
  EXPECT_EQ(image["Id"], id);
  EXPECT_EQ(image["RepoDigests"], json({repo_digest}));

  auto again = berth({"image", "pull", name});
  EXPECT_EQ(again.exit_code, 0) << again.err;
  EXPECT_THAT(again.out, HasSubstr("Status: Image is up to date for " + name + "\n"));

  // By digest, into another store.
  auto by_digest = berth({"image", "pull", "-q", repo_digest}, "other");
  EXPECT_EQ(by_digest.exit_code, 0) << by_digest.err;
  EXPECT_EQ(inspect(repo_digest, "other")["Id"], id);

  auto missing = berth({"image", "pull", registry.host_port() + "/team/nosuch:1"});
  EXPECT_EQ(missing.exit_code, 1);
  EXPECT_EQ(missing.err, "berth: error: manifest for " + registry.host_port() +
                             "/team/nosuch:1 not found: manifest unknown\n");
}

TEST_F(ImageCli, LoginThenPushToARegistryWithBasicAuth) {
  RegistryServer registry(RegistryAuth::basic, {RegistryUser{"alice", "secret"}});
  const std::string name = registry.host_port() + "/alice/bb:1";
  ASSERT_EQ(berth({"image", "import", m_rootfs, name}).exit_code, 0);

  auto denied = berth({"image", "push", "-q", name});
  EXPECT_EQ(denied.exit_code, 1);
  EXPECT_THAT(denied.err, HasSubstr("unauthorized"));

  auto wrong = berth({"login", registry.host_port(), "-u", "alice", "-p", "wrong"});
  EXPECT_EQ(wrong.exit_code, 1);
  EXPECT_EQ(wrong.err,
            "berth: error: login to " + registry.host_port() + " failed: unauthorized\n");

  auto login =
      berth({"login", registry.host_port(), "-u", "alice", "--password-stdin"}, "root", "secret\n");
  ASSERT_EQ(login.exit_code, 0) << login.err;
  EXPECT_EQ(login.out, "Login Succeeded\n");
  const auto config = m_work.path() + "/docker-config/config.json";
  EXPECT_EQ(std::filesystem::status(config).permissions() & std::filesystem::perms::all,
            std::filesystem::perms::owner_read | std::filesystem::perms::owner_write);

  auto pushed = berth({"image", "push", "-q", name});
  EXPECT_EQ(pushed.exit_code, 0) << pushed.err;
  EXPECT_EQ(berth({"logout", registry.host_port()}).out,
            "Removing login credentials for " + registry.host_port() + "\n");
  EXPECT_EQ(berth({"image", "pull", "-q", name}, "other").exit_code, 1);
}

TEST_F(ImageCli, SaveAndLoadRoundTrip) {
  ASSERT_EQ(berth({"image", "import", m_rootfs, "bb:1"}).exit_code, 0);
  const json original = inspect("bb:1");
  const std::string archive = m_work.path() + "/bb.tar";
  auto saved = berth({"image", "save", "-o", archive, "bb:1"});
  ASSERT_EQ(saved.exit_code, 0) << saved.err;

  auto loaded = berth({"image", "load", "-i", archive}, "other");
  ASSERT_EQ(loaded.exit_code, 0) << loaded.err;
  EXPECT_EQ(loaded.out, "Loaded image: bb:1\n");
  const json copy = inspect("bb:1", "other");
  EXPECT_EQ(copy["Id"], original["Id"]);
  EXPECT_EQ(copy["Descriptor"], original["Descriptor"]);  // same manifest bytes

  auto missing = berth({"image", "save", "-o", archive, "nosuch"});
  EXPECT_EQ(missing.err, "berth: error: No such image: nosuch\n");
}

/// podman with its own storage under the test's directory, so no other engine's state is
/// touched.
class PodmanInterop : public ImageCli {
 protected:
  void SetUp() override {
    ImageCli::SetUp();
    if (IsSkipped()) return;
    if (::access("/usr/bin/podman", X_OK) != 0) GTEST_SKIP() << "needs podman (installed by CI)";
  }
  int podman(const std::string& arguments) {
    const std::string command =
        "podman --root '" + m_work.path() + "/podman' --runroot '" + m_work.path() +
        "/podman-run' --storage-driver vfs --cgroup-manager cgroupfs --events-backend none " +
        arguments + " >>'" + m_work.path() + "/podman.log' 2>&1";
    return std::system(command.c_str());
  }
  std::string podman_log() { return read_text(m_work.path() + "/podman.log"); }
};

TEST_F(PodmanInterop, PodmanLoadsWhatBerthSaves) {
  ASSERT_EQ(berth({"image", "import", m_rootfs, "bb:1"}).exit_code, 0);
  const std::string id = inspect("bb:1")["Id"];
  ASSERT_EQ(berth({"image", "save", "-o", m_work.path() + "/bb.tar", "bb:1"}).exit_code, 0);
  ASSERT_EQ(podman("load -i '" + m_work.path() + "/bb.tar'"), 0) << podman_log();
  ASSERT_EQ(podman("image inspect --format '{{.Id}}' docker.io/library/bb:1"), 0) << podman_log();
  EXPECT_THAT(podman_log(), HasSubstr(id.substr(7)));
}

TEST_F(PodmanInterop, BerthLoadsWhatPodmanSaves) {
  ASSERT_EQ(berth({"image", "import", m_rootfs, "bb:1"}).exit_code, 0);
  const std::string id = inspect("bb:1")["Id"];
  ASSERT_EQ(berth({"image", "save", "-o", m_work.path() + "/bb.tar", "bb:1"}).exit_code, 0);
  ASSERT_EQ(podman("load -i '" + m_work.path() + "/bb.tar'"), 0) << podman_log();
  for (const std::string format : {"docker-archive", "oci-archive"}) {
    const std::string archive = m_work.path() + "/podman-" + format + ".tar";
    ASSERT_EQ(podman("save --format " + format + " -o '" + archive + "' docker.io/library/bb:1"), 0)
        << podman_log();
    auto loaded = berth({"image", "load", "-i", archive}, format);
    ASSERT_EQ(loaded.exit_code, 0) << loaded.err;
    EXPECT_EQ(loaded.out, "Loaded image: bb:1\n") << format;
    EXPECT_EQ(inspect("bb:1", format)["Id"], id) << format;
  }
}

}  // namespace
}  // namespace berth::testing
