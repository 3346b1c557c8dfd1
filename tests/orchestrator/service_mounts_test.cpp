// A project's storage as berth makes it: volumes, mounts, secrets and configs of services.
#include "orchestrator/service_mounts.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "tests/orchestrator/project_fixture.h"
#include "tests/support/error_of.h"

namespace berth::orchestrator {
namespace {

using runtime::MountSpec;
using testing::error_of;
using ::testing::HasSubstr;

class ServiceMounts : public testing::ProjectTest {};

TEST_F(ServiceMounts, ProjectVolumesHaveComposesNamesAndLabels) {
  const auto project = load(R"(
services: {db: {image: pg}}
volumes:
  data:
    labels: {tier: db}
    driver_opts: {type: tmpfs, device: tmpfs, o: size=1m}
  named: {name: exact-name}
  outside: {external: true}
)");
  const auto volumes = project_volumes(project);
  ASSERT_EQ(volumes.size(), 3u);
  EXPECT_EQ(volumes[0].key, "data");
  EXPECT_EQ(volumes[0].spec.name, "shop_data");
  EXPECT_EQ(volumes[0].spec.options.at("o"), "size=1m");
  EXPECT_EQ(volumes[0].spec.labels,
            (std::map<std::string, std::string>{{"com.docker.compose.project", "shop"},
                                                {"com.docker.compose.volume", "data"},
                                                {"tier", "db"}}));
  EXPECT_EQ(volumes[1].spec.name, "exact-name");
  EXPECT_TRUE(volumes[2].external);
  EXPECT_EQ(volumes[2].spec.name, "outside");
  EXPECT_TRUE(volumes[2].spec.labels.empty());
}

TEST_F(ServiceMounts, ShortAndLongVolumeSyntax) {
  const auto project = load(R"(
services:
  web:
    image: app
    volumes:
      - data:/data:ro
      - ./src:/src
      - /anonymous
      - type: volume
        source: data
        target: /sub
        volume: {nocopy: true, subpath: a/b}
      - type: bind
        source: ./conf
        target: /conf
        bind: {propagation: rshared}
      - type: tmpfs
        target: /t
        tmpfs: {size: 2g, mode: 01777}
    volumes_from: [db, "db:ro", "container:legacy"]
  db: {image: pg, container_name: the-db}
volumes: {data: {}}
)");
  const auto out = service_mounts(project, "web");
  ASSERT_EQ(out.mounts.size(), 6u);
  EXPECT_EQ(out.mounts[0].type, MountSpec::Type::volume);
  EXPECT_EQ(out.mounts[0].source, "shop_data");
  EXPECT_TRUE(out.mounts[0].read_only);
  EXPECT_EQ(out.mounts[1].type, MountSpec::Type::bind);
  EXPECT_EQ(out.mounts[1].source, m_dir.path() + "/src");
  EXPECT_TRUE(out.mounts[1].create_host_path);  // short syntax, as Compose
  EXPECT_EQ(out.mounts[2].source, "");          // anonymous
  EXPECT_EQ(out.mounts[2].target, "/anonymous");
  EXPECT_TRUE(out.mounts[3].nocopy);
  EXPECT_EQ(out.mounts[3].subpath, "a/b");
  EXPECT_FALSE(out.mounts[4].create_host_path);  // long syntax without it
  EXPECT_EQ(out.mounts[4].options, std::vector<std::string>{"rshared"});
  EXPECT_EQ(out.mounts[5].type, MountSpec::Type::tmpfs);
  EXPECT_EQ(out.mounts[5].tmpfs_size, std::int64_t{2} << 30);
  EXPECT_EQ(out.mounts[5].tmpfs_mode, 01777u);
  EXPECT_EQ(out.volumes_from, (std::vector<std::string>{"the-db", "the-db:ro", "legacy"}));
}

TEST_F(ServiceMounts, SecretsAndConfigsFromFilesEnvironmentAndContent) {
  m_dir.write("pw.txt", "hunter2\n");
  m_dir.write("app.conf", "debug=1\n");
  const auto project = load(R"(
services:
  web:
    image: app
    secrets:
      - pw
      - {source: token, target: tok, uid: "1000", gid: "1001", mode: 0400}
      - {source: pw, target: /etc/pw-copy, mode: 0440}
    configs:
      - conf
      - {source: inline, target: /etc/inline.conf}
secrets:
  pw: {file: ./pw.txt}
  token: {environment: TOKEN}
configs:
  conf: {file: ./app.conf}
  inline: {content: "port=$${PORT}"}
)",
                            {{"TOKEN", "s3cret"}});
  const auto out = service_mounts(project, "web");
  // Files as they are: read-only binds, live.
  ASSERT_EQ(out.mounts.size(), 2u);
  EXPECT_EQ(out.mounts[0].source, m_dir.path() + "/pw.txt");
  EXPECT_EQ(out.mounts[0].target, "/run/secrets/pw");
  EXPECT_TRUE(out.mounts[0].read_only);
  EXPECT_EQ(out.mounts[1].target, "/conf");  // a config's default target is /<name>
  // Content berth writes.
  ASSERT_EQ(out.files.size(), 3u);
  EXPECT_EQ(out.files[0].target, "/run/secrets/tok");
  EXPECT_EQ(out.files[0].content, "s3cret");
  EXPECT_EQ(out.files[0].uid, 1000u);
  EXPECT_EQ(out.files[0].gid, 1001u);
  EXPECT_EQ(out.files[0].mode, 0400u);
  EXPECT_EQ(out.files[1].target, "/etc/pw-copy");  // a file with a mode is copied
  EXPECT_EQ(out.files[1].content, "hunter2\n");
  EXPECT_EQ(out.files[1].mode, 0440u);
  EXPECT_EQ(out.files[2].target, "/etc/inline.conf");
  EXPECT_EQ(out.files[2].content, "port=${PORT}");
  EXPECT_EQ(out.files[2].mode, 0444u);
}

TEST_F(ServiceMounts, ExternalOrUnsetSourcesAreErrorsNamingThem) {
  const auto external = load(R"(
services: {web: {image: app, secrets: [vault]}}
secrets: {vault: {external: true}}
)");
  EXPECT_THAT(error_of([&] { service_mounts(external, "web"); }),
              HasSubstr("service \"web\": secret \"vault\" is external"));
  const auto unset = load(R"(
services: {web: {image: app, configs: [c]}}
configs: {c: {environment: NOT_SET_HERE}}
)");
  EXPECT_THAT(error_of([&] { service_mounts(unset, "web"); }),
              HasSubstr("service \"web\": config \"c\" comes from the environment variable "
                        "NOT_SET_HERE, which is not set"));
}

}  // namespace
}  // namespace berth::orchestrator
