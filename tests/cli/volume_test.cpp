// `berth volume ...` and containers' volumes end to end, as root, on crun and on runc: data
// that outlives its containers, copy-up, anonymous volumes' lifetime, read-only binds, tmpfs
// limits, removal refused while in use, prune, and a removal killed half-way.
#include <sys/stat.h>
#include <unistd.h>

#include <filesystem>
#include <string>

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "image/store.h"
#include "orchestrator/compose/loader.h"
#include "orchestrator/containers/lifecycle.h"
#include "orchestrator/containers/volumes.h"
#include "orchestrator/service_mounts.h"
#include "tests/cli/container_fixture.h"
#include "tests/support/error_of.h"
#include "tests/support/shell.h"

namespace berth::testing {
namespace {

using nlohmann::json;
using testing::error_of;
using ::testing::HasSubstr;
using ::testing::Not;
namespace stdfs = std::filesystem;

class VolumeCli : public ContainerCli {
 protected:
  /// An image "app:1": bb:1 plus /srv/app (1000:1000, 0750) holding `config` (0640, "v1")
  /// and a hard link to it, and `VOLUME /cache` with a file in it.
  void make_app_image() {
    const std::string tar = m_work.path() + "/app.tar";
    make_busybox_rootfs_tar(tar, "app");
    const std::string dir = m_work.path() + "/app-content";
    stdfs::create_directories(dir + "/srv/app");
    stdfs::create_directories(dir + "/cache");
    m_work.write("app-content/srv/app/config", "v1\n");
    m_work.write("app-content/cache/warm", "cached\n");
    const auto appended =
        shell("cd " + dir + " && chmod 0750 srv/app && chmod 0640 srv/app/config && " +
              "ln srv/app/config srv/app/config.link && tar -rf " + tar +
              " --numeric-owner --owner=1000 --group=1000 ./srv ./cache 2>&1");
    ASSERT_EQ(appended.status, 0) << appended.text;
    const auto imported = berth({"image", "import", "-c", "VOLUME /cache", tar, "app:1"});
    ASSERT_EQ(imported.exit_code, 0) << imported.err;
  }

  std::vector<std::string> volume_names() { return split_lines(berth({"volume", "ls", "-q"}).out); }

  std::string data_path(const std::string& volume) {
    return m_work.path() + "/root/volumes/" + volume + "/_data";
  }
};

TEST_P(VolumeCli, NamedVolumeDataOutlivesItsContainers) {
  const auto created = berth({"volume", "create", "--label", "tier=db", "data"});
  ASSERT_EQ(created.exit_code, 0) << created.err;
  EXPECT_EQ(created.out, "data\n");
  // Creating it again is no error and changes nothing, as with Docker.
  EXPECT_EQ(berth({"volume", "create", "data"}).out, "data\n");
  auto write = run({"-v", "data:/var/lib/db", "bb:1", "sh", "-c", "echo rows > /var/lib/db/t"});
  ASSERT_EQ(write.exit_code, 0) << write.err;
  // A new container, a named volume made on first use, and --mount's syntax.
  ASSERT_EQ(berth({"container", "create", "--name", "reader", "--mount",
                   "type=volume,source=data,target=/db,readonly", "bb:1", "cat", "/db/t"})
                .exit_code,
            0);
  const auto read = berth({"container", "start", "-a", "reader"});
  EXPECT_EQ(read.out, "rows\n") << read.err;
  const json mounts = inspect("reader")["Mounts"];
  ASSERT_EQ(mounts.size(), 1u);
  EXPECT_EQ(mounts[0]["Type"], "volume");
  EXPECT_EQ(mounts[0]["Name"], "data");
  EXPECT_EQ(mounts[0]["RW"], false);
  EXPECT_EQ(berth({"container", "rm", "reader"}).exit_code, 0);

  const json volume = json::parse(berth({"volume", "inspect", "data"}).out).at(0);
  EXPECT_EQ(volume["Driver"], "local");
  EXPECT_EQ(volume["Labels"]["tier"], "db");
  EXPECT_EQ(volume["Mountpoint"], data_path("data"));
  EXPECT_EQ(read_text(data_path("data") + "/t"), "rows\n");
  EXPECT_EQ(berth({"volume", "ls", "--filter", "label=tier=db", "-q"}).out, "data\n");
  EXPECT_EQ(berth({"volume", "ls", "--filter", "label=tier=web", "-q"}).out, "");
  const auto line = json::parse(berth({"volume", "ls", "--format", "json"}).out);
  EXPECT_EQ(line["Name"], "data");
  EXPECT_EQ(line["Labels"], "tier=db");

  EXPECT_EQ(berth({"volume", "rm", "data"}).out, "data\n");
  EXPECT_EQ(volume_names(), std::vector<std::string>{});
  EXPECT_FALSE(stdfs::exists(m_work.path() + "/root/volumes/data"));
  const auto missing = berth({"volume", "inspect", "data"});
  EXPECT_EQ(missing.exit_code, 1);
  EXPECT_THAT(missing.err, HasSubstr("No such volume: data"));
  EXPECT_EQ(berth({"volume", "rm", "-f", "data"}).exit_code, 0);
}

TEST_P(VolumeCli, BadVolumeInputIsOneClearLine) {
  const auto bad_name = berth({"volume", "create", "/x"});
  EXPECT_EQ(bad_name.exit_code, 1);
  EXPECT_THAT(bad_name.err, HasSubstr("\"/x\" includes invalid characters for a local volume"));
  const auto bad_option = berth({"volume", "create", "--opt", "color=red", "v1"});
  EXPECT_THAT(bad_option.err, HasSubstr("create v1: invalid option: \"color\""));
  const auto half = berth({"volume", "create", "--opt", "type=tmpfs", "v1"});
  EXPECT_THAT(half.err, HasSubstr("create v1: missing required option: \"device\""));
  const auto driver = berth({"volume", "create", "-d", "nfs", "v1"});
  EXPECT_THAT(driver.err, HasSubstr("volume driver \"nfs\" is not available"));
  const auto mode = run({"-v", "v1:/data:bogus", "bb:1", "true"});
  EXPECT_EQ(mode.exit_code, 1);
  EXPECT_THAT(mode.err, HasSubstr("invalid -v \"v1:/data:bogus\": invalid mode: bogus"));
  const auto subpath =
      run({"--mount", "type=volume,src=v1,dst=/d,volume-subpath=../up", "bb:1", "true"});
  EXPECT_THAT(subpath.err, HasSubstr("subpath \"../up\": must not leave the volume"));
  // Nothing of those was made.
  EXPECT_EQ(volume_names(), std::vector<std::string>{});
  EXPECT_EQ(berth({"container", "ls", "-a", "-q"}).out, "");
}

TEST_P(VolumeCli, CopyUpGivesAnEmptyVolumeTheImageContentOnce) {
  make_app_image();
  const auto first = run({"-v", "appdata:/srv/app", "app:1", "sh", "-c",
                          "ls -ln /srv/app | sed 1d | cut -c1-34; stat -c '%u:%g %a' /srv/app "
                          "/srv/app/config; cat /srv/app/config"});
  ASSERT_EQ(first.exit_code, 0) << first.err;
  EXPECT_THAT(first.out, HasSubstr("1000:1000 750\n1000:1000 640\nv1\n"));
  // The hard link stays one file with two names.
  EXPECT_THAT(first.out, HasSubstr("-rw-r-----    2 1000     1000"));
  struct stat st {};
  ASSERT_EQ(::stat(data_path("appdata").c_str(), &st), 0);
  EXPECT_EQ(st.st_uid, 1000u);
  EXPECT_EQ(st.st_mode & 07777, 0750u);

  // Once copied, never again: a volume emptied by its user stays empty.
  ASSERT_EQ(run({"-v", "appdata:/srv/app", "app:1", "sh", "-c", "rm /srv/app/*"}).exit_code, 0);
  EXPECT_EQ(run({"-v", "appdata:/srv/app", "app:1", "ls", "/srv/app"}).out, "");
  // And a volume with content keeps it, whatever the image has at the target.
  ASSERT_EQ(run({"-v", "mine:/srv/app", "bb:1", "sh", "-c", "echo own > /srv/app/own"}).exit_code,
            0);
  EXPECT_EQ(run({"-v", "mine:/srv/app", "app:1", "ls", "/srv/app"}).out, "own\n");
  // nocopy: nothing copied.
  EXPECT_EQ(run({"-v", "bare:/srv/app:nocopy", "app:1", "ls", "/srv/app"}).out, "");
}

TEST_P(VolumeCli, AnonymousVolumesFollowDockersLifetime) {
  make_app_image();
  // The image's VOLUME /cache, and -v /scratch: each a new volume, labelled anonymous.
  ASSERT_EQ(berth({"container", "create", "--name", "keeper", "-v", "/scratch", "app:1", "true"})
                .exit_code,
            0);
  const json mounts = inspect("keeper")["Mounts"];
  ASSERT_EQ(mounts.size(), 2u);
  const std::vector<std::string> anonymous = volume_names();
  ASSERT_EQ(anonymous.size(), 2u);
  for (const auto& name : anonymous) {
    EXPECT_EQ(name.size(), 64u);
    const json volume = json::parse(berth({"volume", "inspect", name}).out).at(0);
    EXPECT_TRUE(volume["Labels"].contains("com.docker.volume.anonymous")) << volume.dump();
  }
  // A plain rm keeps them; rm -v removes them.
  const auto started = berth({"container", "start", "-a", "keeper"});
  ASSERT_EQ(started.exit_code, 0) << started.err;
  ASSERT_EQ(berth({"container", "create", "--name", "other", "-v", "/scratch", "app:1", "true"})
                .exit_code,
            0);
  EXPECT_EQ(berth({"container", "rm", "keeper"}).exit_code, 0);
  EXPECT_EQ(volume_names().size(), 4u);
  EXPECT_EQ(berth({"container", "rm", "-v", "other"}).exit_code, 0);
  EXPECT_EQ(volume_names(), anonymous);
  // The image's content was copied into its VOLUME.
  bool warm = false;
  for (const auto& name : anonymous) warm = warm || stdfs::exists(data_path(name) + "/warm");
  EXPECT_TRUE(warm);

  // --rm takes its anonymous volumes along, never a named one.
  const auto ran = run({"-v", "named:/named", "app:1", "ls", "/cache"});
  EXPECT_EQ(ran.out, "warm\n") << ran.err;
  EXPECT_TRUE(eventually([&] { return volume_names().size() == 3u; }));
  EXPECT_THAT(volume_names(), ::testing::Contains("named"));
}

TEST_P(VolumeCli, BindMountsReadOnlyAndCreated) {
  const std::string host = m_work.path() + "/host";
  m_work.write("host/kept", "original\n");
  const auto refused =
      run({"-v", host + ":/b:ro", "bb:1", "sh", "-c", "echo changed > /b/kept; echo new > /b/new"});
  EXPECT_NE(refused.exit_code, 0);
  EXPECT_THAT(refused.err, HasSubstr("Read-only file system"));
  EXPECT_EQ(read_text(host + "/kept"), "original\n");
  EXPECT_FALSE(stdfs::exists(host + "/new"));
  EXPECT_EQ(run({"-v", host + ":/b", "bb:1", "sh", "-c", "echo new > /b/new"}).exit_code, 0);
  EXPECT_EQ(read_text(host + "/new"), "new\n");
  // -v makes a missing host directory, --mount refuses it (both as Docker).
  const std::string made = m_work.path() + "/made/here";
  EXPECT_EQ(run({"-v", made + ":/m", "bb:1", "true"}).exit_code, 0);
  EXPECT_TRUE(stdfs::is_directory(made));
  const auto missing =
      run({"--mount", "type=bind,src=" + m_work.path() + "/nope,dst=/m", "bb:1", "true"});
  EXPECT_EQ(missing.exit_code, 1);
  EXPECT_THAT(missing.err,
              HasSubstr("bind source path does not exist: " + m_work.path() + "/nope"));
  EXPECT_FALSE(stdfs::exists(m_work.path() + "/nope"));
}

TEST_P(VolumeCli, TmpfsSizeLimitsAreEnforced) {
  const auto tmpfs = run({"--tmpfs", "/t:size=1m", "bb:1", "sh", "-c",
                          "dd if=/dev/zero of=/t/big bs=1024 count=2048 2>&1; exit 0"});
  EXPECT_THAT(tmpfs.out, HasSubstr("No space left on device"));
  // A volume of the local driver on a tmpfs, as `driver_opts` make one: shared by two
  // containers while they run, unmounted when the last one ends.
  ASSERT_EQ(berth({"volume", "create", "--opt", "type=tmpfs", "--opt", "device=tmpfs", "--opt",
                   "o=size=1m", "scratch"})
                .exit_code,
            0);
  ASSERT_EQ(berth({"container", "run", "-d", "--name", "holder", "-v", "scratch:/s", "bb:1", "sh",
                   "-c", "echo shared > /s/f; sleep 1000"})
                .exit_code,
            0);
  EXPECT_TRUE(eventually([&] { return stdfs::exists(data_path("scratch") + "/f"); }));
  const auto full = run({"-v", "scratch:/s", "bb:1", "sh", "-c",
                         "cat /s/f; dd if=/dev/zero of=/s/big bs=1024 count=2048 2>&1; exit 0"});
  EXPECT_THAT(full.out, HasSubstr("shared\n"));
  EXPECT_THAT(full.out, HasSubstr("No space left on device"));
  EXPECT_TRUE(shell("mountpoint -q " + data_path("scratch")).status == 0)
      << "the running holder's tmpfs went with the other container";
  EXPECT_EQ(berth({"container", "rm", "-f", "holder"}).exit_code, 0);
  EXPECT_FALSE(shell("mountpoint -q " + data_path("scratch")).status == 0);
  EXPECT_EQ(berth({"volume", "rm", "scratch"}).exit_code, 0);
}

TEST_P(VolumeCli, AVolumeInUseCannotBeRemoved) {
  ASSERT_EQ(berth({"container", "create", "--name", "user", "-v", "precious:/p", "bb:1", "true"})
                .exit_code,
            0);
  const auto refused = berth({"volume", "rm", "precious"});
  EXPECT_EQ(refused.exit_code, 1);
  EXPECT_THAT(refused.err, HasSubstr("remove precious: volume is in use by container user ("));
  EXPECT_EQ(berth({"volume", "rm", "-f", "precious"}).exit_code, 1);
  EXPECT_EQ(volume_names(), std::vector<std::string>{"precious"});
  EXPECT_EQ(berth({"container", "rm", "user"}).exit_code, 0);
  EXPECT_EQ(berth({"volume", "rm", "precious"}).exit_code, 0);
}

TEST_P(VolumeCli, PruneRemovesOnlyUnusedVolumes) {
  ASSERT_EQ(berth({"container", "create", "--name", "user", "-v", "used:/u", "-v", "/anon-used",
                   "bb:1", "true"})
                .exit_code,
            0);
  ASSERT_EQ(berth({"volume", "create", "idle"}).exit_code, 0);
  ASSERT_EQ(berth({"volume", "create", "--label", "keep=1", "idle-kept"}).exit_code, 0);
  const std::string anonymous = split_lines(berth({"volume", "create"}).out).at(0);
  m_work.write("root/volumes/" + anonymous + "/_data/file", "12345");
  // Without --all only anonymous volumes go (Docker 23's rule).
  const auto pruned = berth({"volume", "prune", "-f"});
  EXPECT_EQ(pruned.out, "Deleted Volumes:\n" + anonymous + "\n\nTotal reclaimed space: 5B\n");
  const auto all = berth({"volume", "prune", "-a", "--filter", "label!=keep"});
  EXPECT_EQ(all.out, "Deleted Volumes:\nidle\n\nTotal reclaimed space: 0B\n");
  const auto names = volume_names();
  EXPECT_EQ(names.size(), 3u);  // used, the anonymous one in use, idle-kept
  EXPECT_THAT(names, ::testing::Contains("used"));
  EXPECT_THAT(names, ::testing::Contains("idle-kept"));
  EXPECT_EQ(berth({"volume", "ls", "-q", "--filter", "dangling=true"}).out, "idle-kept\n");
}

TEST_P(VolumeCli, AKilledRemovalLeavesTheWholeVolumeOrNothing) {
  for (const std::string point : {"volume-remove-checked", "volume-trashed"}) {
    SCOPED_TRACE(point);
    ASSERT_EQ(berth({"volume", "create", "big"}).exit_code, 0);
    const auto filled = run({"-v", "big:/big", "bb:1", "sh", "-c",
                             "for i in 1 2 3 4 5 6 7 8 9 10; do mkdir /big/$i; "
                             "for j in 1 2 3 4 5 6 7 8 9 10; do echo $i$j > /big/$i/$j; done; "
                             "done"});
    ASSERT_EQ(filled.exit_code, 0) << filled.err;
    m_extra_env["BERTH_FAILPOINT"] = point;
    EXPECT_EQ(berth({"volume", "rm", "big"}).exit_code, 128 + 9);
    m_extra_env.clear();
    if (point == std::string("volume-remove-checked")) {
      // Killed before the move: the volume is all there.
      EXPECT_EQ(volume_names(), std::vector<std::string>{"big"});
      EXPECT_EQ(run({"-v", "big:/big", "bb:1", "sh", "-c", "cat /big/*/* | wc -l"}).out, "100\n");
      ASSERT_EQ(berth({"volume", "rm", "big"}).exit_code, 0);
    } else {
      // Killed after it: gone from every listing at once, and its files go at the next sweep.
      EXPECT_EQ(volume_names(), std::vector<std::string>{});
      EXPECT_FALSE(stdfs::exists(m_work.path() + "/root/volumes/big"));
      EXPECT_FALSE(stdfs::is_empty(m_work.path() + "/root/trash"));
      EXPECT_EQ(berth({"volume", "prune"}).exit_code, 0);
    }
  }
}

TEST_P(VolumeCli, SymlinksInAVolumeNeverLeadOutOfIt) {
  const auto planted = run({"-v", "vol:/v", "bb:1", "sh", "-c",
                            "mkdir -p /v/dir/inner && echo in > /v/dir/inner/f && "
                            "ln -s /etc /v/escape && ln -s /v/dir /v/dir-link"});
  ASSERT_EQ(planted.exit_code, 0) << planted.err;
  const auto subdir = run(
      {"--mount", "type=volume,src=vol,dst=/s,volume-subpath=dir/inner", "bb:1", "cat", "/s/f"});
  EXPECT_EQ(subdir.out, "in\n") << subdir.err;
  for (const std::string path : {"escape", "escape/passwd", "dir-link/inner"}) {
    const auto refused =
        run({"--mount", "type=volume,src=vol,dst=/s,volume-subpath=" + path, "bb:1", "ls", "/s"});
    EXPECT_EQ(refused.exit_code, 125) << path;
    EXPECT_THAT(refused.err, HasSubstr("volume vol: subpath \"" + path + "\""));
    EXPECT_THAT(refused.out, Not(HasSubstr("passwd")));
  }
  // Removing the volume deletes the links, never what they point at.
  EXPECT_EQ(berth({"volume", "rm", "vol"}).exit_code, 0);
  EXPECT_TRUE(stdfs::exists("/etc/passwd"));
}

TEST_P(VolumeCli, VolumesFromSharesAnotherContainersMounts) {
  const std::string host = m_work.path() + "/shared";
  m_work.write("shared/h", "host\n");
  ASSERT_EQ(berth({"container", "create", "--name", "source", "-v", "box:/box", "-v",
                   host + ":/host", "bb:1", "true"})
                .exit_code,
            0);
  ASSERT_EQ(run({"-v", "box:/box", "bb:1", "sh", "-c", "echo boxed > /box/b"}).exit_code, 0);
  const auto read = run({"--volumes-from", "source", "bb:1", "cat", "/box/b", "/host/h"});
  EXPECT_EQ(read.out, "boxed\nhost\n") << read.err;
  const auto read_only = run({"--volumes-from", "source:ro", "bb:1", "touch", "/box/x"});
  EXPECT_NE(read_only.exit_code, 0);
  EXPECT_THAT(read_only.err, HasSubstr("Read-only file system"));
  const auto unknown = run({"--volumes-from", "nobody", "bb:1", "true"});
  EXPECT_THAT(unknown.err, HasSubstr("No such container: nobody"));
}

TEST_P(VolumeCli, ComposeSecretsAndConfigsAreReadOnlyFiles) {
  // A service's storage as `up` will make it: the loader, then the container library.
  m_work.write("project/pw.txt", "hunter2\n");
  m_work.write("project/compose.yaml", R"(
services:
  web:
    image: bb:1
    volumes: [data:/data]
    secrets:
      - pw
      - {source: token, target: tok, uid: "1000", gid: "1000", mode: 0400}
    configs:
      - {source: greeting, target: /etc/greeting}
volumes: {data: {}}
secrets:
  pw: {file: ./pw.txt}
  token: {environment: TOKEN}
configs:
  greeting: {content: hello}
)");
  compose::LoadOptions load;
  load.working_dir = m_work.path() + "/project";
  load.environment = std::map<std::string, std::string>{{"TOKEN", "s3cret"}, {"HOME", "/root"}};
  const compose::Project project = compose::load_project(load);
  const auto storage = orchestrator::service_mounts(project, "web");
  runtime::ContainerSpec spec;
  spec.name = "web";
  spec.image = "bb:1";
  spec.mounts = storage.mounts;
  spec.command =
      std::vector<std::string>{"sh", "-c",
                               "cat /run/secrets/pw /run/secrets/tok /etc/greeting; echo; "
                               "stat -c '%u:%g %a' /run/secrets/tok /etc/greeting; ls /data; "
                               "echo x > /run/secrets/pw || echo refused"};
  containers::CreateOptions options;
  options.runtime = GetParam();
  options.files = storage.files;
  const containers::ContainerStore store(m_work.path() + "/root", m_work.path() + "/run");
  containers::create_container(image::ImageStore(m_work.path() + "/root"), store, spec, options);
  const auto started = berth({"container", "start", "-a", "web"});
  EXPECT_EQ(started.out, "hunter2\ns3crethello\n1000:1000 400\n0:0 444\nrefused\n") << started.err;
  EXPECT_THAT(started.err, HasSubstr("Read-only file system"));
  // The volume is the project's, and the secret's content is not in the record.
  EXPECT_EQ(volume_names(), std::vector<std::string>{"project_data"});
  const std::string record = read_text(m_work.path() + "/root/containers/" +
                                       inspect("web")["Id"].get<std::string>() + "/container.json");
  EXPECT_THAT(record, Not(HasSubstr("s3cret")));
}

TEST_P(VolumeCli, ComposeProjectVolumesAreMadeOnceAndExternalOnesMustExist) {
  m_work.write("shop/compose.yaml", R"(
services: {db: {image: bb:1, volumes: [data:/data, outside:/o]}}
volumes:
  data: {labels: {tier: db}}
  outside: {external: true, name: legacy-data}
)");
  compose::LoadOptions load;
  load.working_dir = m_work.path() + "/shop";
  load.environment = std::map<std::string, std::string>{{"HOME", "/root"}};
  const auto volumes = orchestrator::project_volumes(compose::load_project(load));
  const containers::ContainerStore store(m_work.path() + "/root", m_work.path() + "/run");
  EXPECT_THAT(error_of([&] { containers::ensure_project_volumes(store, volumes); }),
              HasSubstr("external volume \"legacy-data\" not found"));
  EXPECT_EQ(volume_names(), std::vector<std::string>{});  // nothing made
  ASSERT_EQ(berth({"volume", "create", "legacy-data"}).exit_code, 0);
  EXPECT_EQ(containers::ensure_project_volumes(store, volumes), std::vector<std::string>{});
  const json made = json::parse(berth({"volume", "inspect", "shop_data"}).out).at(0);
  EXPECT_EQ(made["Labels"]["com.docker.compose.project"], "shop");
  EXPECT_EQ(made["Labels"]["com.docker.compose.volume"], "data");
  EXPECT_EQ(made["Labels"]["tier"], "db");
  // Again: nothing to do, no warning; a same-named volume of nobody's gets Compose's warning.
  EXPECT_EQ(containers::ensure_project_volumes(store, volumes), std::vector<std::string>{});
  ASSERT_EQ(berth({"volume", "rm", "shop_data"}).exit_code, 0);
  ASSERT_EQ(berth({"volume", "create", "shop_data"}).exit_code, 0);
  const auto warnings = containers::ensure_project_volumes(store, volumes);
  ASSERT_EQ(warnings.size(), 1u);
  EXPECT_THAT(warnings[0], HasSubstr("volume \"shop_data\" already exists but was not created"));

  // down -v: the project's labelled volumes go, unless in use; external and foreign ones stay.
  ASSERT_EQ(berth({"volume", "rm", "shop_data"}).exit_code, 0);
  containers::ensure_project_volumes(store, volumes);
  ASSERT_EQ(berth({"volume", "create", "--label", "com.docker.compose.project=shop", "shop_logs"})
                .exit_code,
            0);
  ASSERT_EQ(berth({"container", "create", "--name", "reader", "-v", "shop_logs:/l", "bb:1", "true"})
                .exit_code,
            0);
  EXPECT_EQ(containers::remove_project_volumes(store, "shop"),
            std::vector<std::string>{"shop_logs"});
  EXPECT_EQ(volume_names(), (std::vector<std::string>{"legacy-data", "shop_logs"}));
}

TEST_P(VolumeCli, ABindBackedVolumeLeavesItsDeviceAlone) {
  const std::string device = m_work.path() + "/device";
  m_work.write("device/kept", "mine\n");
  ASSERT_EQ(berth({"volume", "create", "--opt", "type=none", "--opt", "o=bind", "--opt",
                   "device=" + device, "bound"})
                .exit_code,
            0);
  const auto wrote = run({"-v", "bound:/b", "bb:1", "sh", "-c", "cat /b/kept; echo new > /b/new"});
  EXPECT_EQ(wrote.out, "mine\n") << wrote.err;
  EXPECT_EQ(read_text(device + "/new"), "new\n");
  EXPECT_FALSE(shell("mountpoint -q " + data_path("bound")).status == 0);
  EXPECT_EQ(berth({"volume", "rm", "bound"}).exit_code, 0);
  EXPECT_EQ(read_text(device + "/kept"), "mine\n");
  EXPECT_EQ(read_text(device + "/new"), "new\n");
}

INSTANTIATE_TEST_SUITE_P(Runtimes, VolumeCli, ::testing::Values("crun", "runc"),
                         [](const auto& info) { return info.param; });

}  // namespace
}  // namespace berth::testing
