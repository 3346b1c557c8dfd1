// A compose service's container as berth creates it: names, labels, settings, networks.
#include "orchestrator/service_spec.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "tests/orchestrator/project_fixture.h"
#include "tests/support/error_of.h"

namespace berth::orchestrator {
namespace {

using ::testing::ElementsAre;
using testing::error_of;
using ::testing::HasSubstr;

class ServiceSpec : public testing::ProjectTest {};

TEST_F(ServiceSpec, NamesLabelsAndSettings) {
  const auto project = load(R"(
services:
  web:
    image: app:1
    command: ["serve", "--port", "80"]
    entrypoint: []
    environment: {MODE: prod, FROM_SHELL: null, MISSING: null}
    working_dir: /srv
    user: "1000:1000"
    labels: {team: web}
    read_only: true
    init: true
    cap_drop: [NET_RAW]
    security_opt: [no-new-privileges:true]
    mem_limit: 64m
    cpus: 0.5
    pids_limit: 100
    stop_signal: SIGINT
    stop_grace_period: 1m30s
    restart: on-failure:3
    healthcheck: {test: ["CMD", "true"], interval: 2s, retries: 5}
    ulimits: {nofile: {soft: 1024, hard: 2048}}
    tmpfs: ["/run:size=1m,mode=1777"]
    extra_hosts: ["db.local=10.0.0.5"]
    ports: ["127.0.0.1:8080:80", "9000:9000/udp", "81"]
    expose: ["3000"]
    depends_on: {db: {condition: service_healthy, restart: true}}
  db: {image: pg, container_name: the-db}
)",
                            {{"FROM_SHELL", "yes"}});
  const auto web = service_container(project, "web", 2);
  const auto& spec = web.spec;
  EXPECT_EQ(spec.name, "shop-web-2");
  EXPECT_EQ(container_name(project, "db", 1), "the-db");
  EXPECT_EQ(spec.image, "app:1");
  EXPECT_EQ(spec.command, (std::vector<std::string>{"serve", "--port", "80"}));
  EXPECT_EQ(spec.entrypoint, std::vector<std::string>{});
  EXPECT_THAT(spec.env, ElementsAre("MODE=prod", "FROM_SHELL=yes"));
  EXPECT_EQ(spec.working_dir, "/srv");
  EXPECT_EQ(spec.user, "1000:1000");
  EXPECT_TRUE(spec.read_only);
  EXPECT_TRUE(spec.init);
  EXPECT_TRUE(spec.no_new_privileges);
  EXPECT_EQ(spec.memory, 64 << 20);
  EXPECT_EQ(spec.cpus, 0.5);
  EXPECT_EQ(spec.pids_limit, 100);
  EXPECT_EQ(spec.stop_signal, "SIGINT");
  EXPECT_EQ(spec.stop_timeout, std::chrono::seconds(90));
  EXPECT_EQ(spec.restart.name, runtime::RestartPolicy::Name::on_failure);
  EXPECT_EQ(spec.restart.max_retries, 3);
  ASSERT_TRUE(spec.healthcheck.has_value());
  EXPECT_EQ(spec.healthcheck->interval, std::chrono::seconds(2));
  EXPECT_EQ(spec.healthcheck->retries, 5);
  ASSERT_EQ(spec.ulimits.size(), 1u);
  EXPECT_EQ(spec.ulimits[0].hard, 2048);
  ASSERT_EQ(spec.mounts.size(), 1u);
  EXPECT_EQ(spec.mounts[0].target, "/run");
  EXPECT_EQ(spec.mounts[0].tmpfs_size, 1 << 20);
  EXPECT_EQ(spec.mounts[0].tmpfs_mode, 01777u);
  EXPECT_THAT(spec.extra_hosts, ElementsAre("db.local:10.0.0.5"));
  EXPECT_THAT(spec.publish, ElementsAre("127.0.0.1:8080:80/tcp", "9000:9000/udp", "81/tcp"));
  EXPECT_THAT(spec.expose, ElementsAre("3000/tcp"));
  // Compose's labels, and the user's.
  EXPECT_EQ(spec.labels.at("team"), "web");
  EXPECT_EQ(spec.labels.at("com.docker.compose.project"), "shop");
  EXPECT_EQ(spec.labels.at("com.docker.compose.service"), "web");
  EXPECT_EQ(spec.labels.at("com.docker.compose.container-number"), "2");
  EXPECT_EQ(spec.labels.at("com.docker.compose.oneoff"), "False");
  EXPECT_EQ(spec.labels.at("com.docker.compose.project.working_dir"), m_dir.path());
  EXPECT_EQ(spec.labels.at("com.docker.compose.project.config_files"),
            m_dir.path() + "/compose.yaml");
  EXPECT_EQ(spec.labels.at("com.docker.compose.depends_on"), "db:service_healthy:true");
  EXPECT_EQ(spec.labels.at("com.docker.compose.config-hash").size(), 64u);
}

TEST_F(ServiceSpec, NetworksByTheirProjectNamesWithTheServiceAsAlias) {
  const auto project = load(R"(
services:
  web:
    image: app
    networks:
      front: {aliases: [www], ipv4_address: 10.5.0.9}
      back: {}
  plain: {image: app}
  sidecar: {image: app, network_mode: "service:web"}
  hermit: {image: app, network_mode: none}
networks:
  front: {ipam: {config: [{subnet: 10.5.0.0/24}]}}
  back: {name: exact-back}
)");
  const auto web = service_container(project, "web", 1).spec;
  EXPECT_EQ(web.network, "bridge");
  ASSERT_EQ(web.networks.size(), 2u);
  EXPECT_EQ(web.networks[0].network, "exact-back");
  EXPECT_THAT(web.networks[0].aliases, ElementsAre("web"));
  EXPECT_EQ(web.networks[1].network, "shop_front");
  EXPECT_THAT(web.networks[1].aliases, ElementsAre("web", "www"));
  EXPECT_EQ(web.networks[1].ipv4_address, "10.5.0.9");
  const auto plain = service_container(project, "plain", 1).spec;
  ASSERT_EQ(plain.networks.size(), 1u);
  EXPECT_EQ(plain.networks[0].network, "shop_default");
  EXPECT_EQ(service_container(project, "sidecar", 1).spec.network, "container:shop-web-1");
  EXPECT_EQ(service_container(project, "hermit", 1).spec.network, "none");
}

TEST_F(ServiceSpec, ValuesBerthCannotHonourAreErrorsNamingTheService) {
  const auto project = load(R"(
services:
  web: {image: app, restart: sometimes}
)");
  EXPECT_THAT(error_of([&] { service_container(project, "web", 1); }),
              HasSubstr("service \"web\": restart: invalid restart policy \"sometimes\""));
}

}  // namespace
}  // namespace berth::orchestrator
