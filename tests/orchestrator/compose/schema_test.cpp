#include "orchestrator/compose/schema.h"

#include <string>
#include <vector>

#include <gtest/gtest.h>
#include <yaml-cpp/yaml.h>

#include "util/error.h"

namespace berth::compose::schema {
namespace {

// The message validate_document throws for `yaml`, or "" when it passes.
std::string error_of(const std::string& yaml) {
  try {
    validate_document(YAML::Load(yaml), "compose.yaml");
  } catch (const Error& e) {
    return e.what();
  }
  return "";
}

// A service named web with `body` (indented by 4) under it.
std::string service(const std::string& body) {
  return "services:\n  web:\n" + body;
}

// Every top-level key and nearly every service key of the specification, in their long and
// short forms.
constexpr const char* k_everything = R"(
version: "3.9"
name: everything
include:
  - other.yaml
  - path: [a.yaml, b.yaml]
    env_file: a.env
    project_directory: ./sub
x-common: &common
  anything: [goes, {here: 1}]
services:
  web:
    develop:
      watch:
        - path: ./src
          action: sync+restart
          target: /app
          ignore: [node_modules]
          include: "*.js"
          exec:
            command: ["echo", "hi"]
            user: root
            privileged: true
            working_dir: /
            environment: {A: 1}
          x-note: ok
    deploy:
      mode: replicated
      endpoint_mode: vip
      replicas: 2
      labels: [a=b]
      rollback_config: {parallelism: 1, delay: 10s, failure_action: pause, monitor: 5s,
                        max_failure_ratio: 0.5, order: stop-first}
      update_config: {parallelism: "2", order: start-first, x-y: 1}
      resources:
        limits: {cpus: "0.5", memory: 50M, pids: 100}
        reservations:
          cpus: 0.25
          memory: 20M
          generic_resources:
            - discrete_resource_spec: {kind: gpu, value: 2}
          devices:
            - capabilities: [gpu]
              driver: nvidia
              count: all
              device_ids: ["0"]
              options: {a: b}
      restart_policy: {condition: on-failure, delay: 5s, max_attempts: 3, window: 120s}
      placement:
        constraints: [node.role==manager]
        preferences: [{spread: node.labels.zone}]
        max_replicas_per_node: 1
    annotations: {com.example: x}
    attach: false
    build:
      context: .
      dockerfile: Dockerfile
      dockerfile_inline: FROM scratch
      entitlements: [network.host]
      args: [A=1, B]
      ssh: [default]
      labels: {a: b}
      cache_from: [a]
      cache_to: [b]
      no_cache: "true"
      additional_contexts: {base: ../base}
      network: host
      provenance: mode=max
      sbom: true
      pull: yes
      target: prod
      shm_size: 2g
      extra_hosts: {somehost: 162.242.195.82}
      isolation: default
      privileged: false
      secrets: [token, {source: key, target: /k, uid: "1", gid: "1", mode: 0440}]
      tags: [a:b]
      ulimits: {nofile: 1024}
      platforms: [linux/amd64]
      x-build: ext
    blkio_config:
      weight: 300
      weight_device: [{path: /dev/sda, weight: 400}]
      device_read_bps: [{path: /dev/sda, rate: 12mb}]
      device_read_iops: [{path: /dev/sda, rate: 120}]
      device_write_bps: [{path: /dev/sda, rate: "1024k"}]
      device_write_iops: [{path: /dev/sda, rate: 30}]
    cap_add: [ALL]
    cap_drop: [NET_ADMIN]
    cgroup: host
    cgroup_parent: m-executor
    command: bundle exec thin -p 3000
    configs: [cfg, {source: cfg2, target: /c, mode: "0444"}]
    container_name: my-web
    cpu_count: 2
    cpu_percent: 50
    cpu_shares: 73
    cpu_quota: "50000"
    cpu_period: 100000
    cpu_rt_period: 1000
    cpu_rt_runtime: 950
    cpus: 1.5
    cpuset: 0-3
    credential_spec: {config: my_config, file: f.json, registry: r}
    depends_on:
      db:
        condition: service_healthy
        restart: true
        required: false
    device_cgroup_rules: ["c 1:3 mr"]
    devices: ["/dev/ttyUSB0:/dev/ttyUSB0", {source: /dev/a, target: /dev/b, permissions: rwm}]
    dns: 8.8.8.8
    dns_opt: [use-vc]
    dns_search: [example.com]
    domainname: foo.com
    entrypoint: [/code/entrypoint.sh, -p, "3000"]
    env_file: [a.env, {path: b.env, required: false, format: raw}]
    label_file: labels.txt
    environment:
      RACK_ENV: development
      SHOW: true
      EMPTY:
      NUMBER: 1.5
    expose: [3000, "8000"]
    external_links: [redis_1]
    extra_hosts: ["somehost:162.242.195.82", "otherhost=50.31.209.229"]
    gpus: all
    group_add: [mail, 42]
    healthcheck:
      test: [CMD, curl, -f, http://localhost]
      interval: 1m30s
      timeout: 10s
      retries: 3
      start_period: 40s
      start_interval: 5s
      disable: false
    hostname: foo
    image: redis:latest
    init: true
    ipc: shareable
    isolation: default
    labels: [com.example=1]
    links: [db:database]
    logging:
      driver: syslog
      options: {syslog-address: "tcp://192.168.0.42:123", max-size: 10, empty: null}
    mac_address: 02:42:ac:11:65:43
    mem_limit: 1g
    mem_reservation: 512m
    mem_swappiness: 60
    memswap_limit: -1
    network_mode: bridge
    models: [llm]
    networks:
      front:
        aliases: [web]
        interface_name: eth0
        ipv4_address: 172.16.238.10
        ipv6_address: 2001:3984:3989::10
        link_local_ips: [57.123.22.11]
        mac_address: 02:42:ac:11:65:43
        driver_opts: {a: 1}
        priority: 1000
        gw_priority: 1
      back:
    oom_kill_disable: false
    oom_score_adj: -500
    pid: host
    pids_limit: -1
    platform: linux/amd64
    ports:
      - 3000
      - "8000:8000"
      - "127.0.0.1:8001-8002:8001-8002/udp"
      - target: 80
        published: "8080"
        host_ip: 127.0.0.1
        protocol: tcp
        mode: host
        name: http
        app_protocol: http
        x-port: 1
    post_start: [{command: ./start.sh, user: root}]
    pre_stop: [{command: [./stop.sh]}]
    privileged: true
    profiles: [debug]
    pull_policy: every_12h
    pull_refresh_after: 1h
    read_only: false
    restart: unless-stopped
    runtime: runc
    scale: 1
    security_opt: [label=user:USER]
    shm_size: 64M
    secrets: [server-certificate]
    sysctls: {net.core.somaxconn: 1024}
    stdin_open: true
    stop_grace_period: 1m30s
    stop_signal: SIGUSR1
    storage_opt: {size: 1G}
    tmpfs: [/run, /tmp]
    tty: true
    ulimits:
      nproc: 65535
      nofile: {soft: 20000, hard: 40000}
    use_api_socket: true
    user: "1000"
    uts: host
    userns_mode: host
    volumes:
      - /var/lib/mysql
      - ./cache:/tmp/cache:ro
      - type: bind
        source: ./static
        target: /opt/app/static
        read_only: true
        consistency: cached
        bind: {propagation: rprivate, create_host_path: true, recursive: enabled, selinux: z}
      - type: volume
        source: db
        target: /data
        volume: {nocopy: true, subpath: sub, labels: {a: b}}
      - type: tmpfs
        target: /t
        tmpfs: {size: 10000, mode: 1777}
      - type: image
        source: alpine
        target: /i
        image: {subpath: etc}
    volumes_from: [other:ro]
    working_dir: /code
    x-web: *common
  db:
    image: postgres
    build: ./db
    depends_on: [cache]
    deploy:
    develop:
    networks: [back]
    command:
    env_file: db.env
    extends: {service: base, file: base.yaml}
    provider:
      type: model
      options: {model: ai/smollm2, flags: [a, 1, true]}
    models:
      llm: {endpoint_var: URL, model_var: NAME}
    gpus: [{driver: nvidia, count: 1}]
  cache:
    image: redis
    extends: base
    healthcheck: {test: "redis-cli ping"}
models:
  llm:
    model: ai/smollm2
    name: small
    context_size: 4096
    runtime_flags: [--verbose]
networks:
  front:
    name: front-net
    driver: bridge
    driver_opts: {com.docker.network.bridge.name: br0, mtu: 1500}
    ipam:
      driver: default
      config:
        - subnet: 172.28.0.0/16
          ip_range: 172.28.5.0/24
          gateway: 172.28.5.254
          aux_addresses: {host1: 172.28.1.5}
      options: {foo: bar}
    internal: false
    enable_ipv4: true
    enable_ipv6: "false"
    attachable: true
    labels: {a: b}
    x-net: 1
  back:
  outside:
    external: true
  legacy:
    external: {name: real}
volumes:
  db:
  data:
    name: my-data
    driver: local
    driver_opts: {type: nfs, o: "addr=10.40.0.199,nolock,soft,rw"}
    labels: [a=b]
    external: false
secrets:
  server-certificate:
    file: ./server.cert
  token:
    environment: TOKEN
    name: tok
    labels: {a: b}
    driver: d
    driver_opts: {a: 1}
    template_driver: golang
  key:
    external: true
configs:
  cfg:
    content: hello
  cfg2:
    file: ./c.txt
    name: c
    environment: CFG
    labels: [a=b]
    template_driver: golang
    external: false
x-last: 1
)";

TEST(Schema, EverythingPasses) {
  EXPECT_EQ(error_of(k_everything), "");
}

TEST(Schema, MinimalDocumentsPass) {
  EXPECT_EQ(error_of("services:\n  web:\n    image: nginx\n"), "");
  EXPECT_EQ(error_of("x-only: 1\n"), "");
  EXPECT_EQ(error_of("name: p\nservices: {}\n"), "");
}

TEST(Schema, DocumentMustBeAMapping) {
  EXPECT_EQ(error_of("- a\n- b\n"), "compose.yaml:1:1: must be a mapping, not a sequence");
}

// ---- unknown keys --------------------------------------------------------------------------

TEST(Schema, UnknownTopLevelKey) {
  EXPECT_EQ(error_of("name: p\nservice:\n  web: {}\n"),
            "compose.yaml:2:1: service: unknown key, did you mean \"services\"?");
  EXPECT_EQ(error_of("name: p\nfoo: 1\n"), "compose.yaml:2:1: foo: unknown key");
}

TEST(Schema, UnknownServiceKey) {
  EXPECT_EQ(error_of(service("    image: a\n    imagee: b\n")),
            "compose.yaml:4:5: services.web.imagee: unknown key, did you mean \"image\"?");
  EXPECT_EQ(error_of(service("    image: a\n    log_driver: syslog\n")),
            "compose.yaml:4:5: services.web.log_driver: unknown key");
}

TEST(Schema, UnknownBuildKey) {
  EXPECT_EQ(error_of(service("    build:\n      context: .\n      dockerfil: D\n")),
            "compose.yaml:5:7: services.web.build.dockerfil: unknown key, "
            "did you mean \"dockerfile\"?");
}

TEST(Schema, UnknownDeployKeys) {
  EXPECT_EQ(error_of(service("    deploy:\n      replica: 2\n")),
            "compose.yaml:4:7: services.web.deploy.replica: unknown key, "
            "did you mean \"replicas\"?");
  EXPECT_EQ(error_of(service("    deploy:\n      resources:\n        limits: {memroy: 1g}\n")),
            "compose.yaml:5:18: services.web.deploy.resources.limits.memroy: unknown key, "
            "did you mean \"memory\"?");
}

TEST(Schema, UnknownNetworkAndVolumeKeys) {
  EXPECT_EQ(error_of("networks:\n  front:\n    drivers: bridge\n"),
            "compose.yaml:3:5: networks.front.drivers: unknown key, did you mean \"driver\"?");
  EXPECT_EQ(error_of("volumes:\n  db:\n    size: 1g\n"),
            "compose.yaml:3:5: volumes.db.size: unknown key");
  EXPECT_EQ(error_of(service("    networks:\n      front:\n        alias: [a]\n")),
            "compose.yaml:5:9: services.web.networks.front.alias: unknown key, "
            "did you mean \"aliases\"?");
}

TEST(Schema, UnknownKeysInLongForms) {
  EXPECT_EQ(error_of(service("    ports:\n      - target: 80\n        publish: 8080\n")),
            "compose.yaml:5:9: services.web.ports[0].publish: unknown key, "
            "did you mean \"published\"?");
  EXPECT_EQ(error_of(service("    volumes:\n      - type: bind\n        bind: {create: true}\n")),
            "compose.yaml:5:16: services.web.volumes[0].bind.create: unknown key");
  EXPECT_EQ(error_of(service("    healthcheck:\n      tests: [NONE]\n")),
            "compose.yaml:4:7: services.web.healthcheck.tests: unknown key, "
            "did you mean \"test\"?");
  EXPECT_EQ(error_of("secrets:\n  s:\n    files: ./a\n"),
            "compose.yaml:3:5: secrets.s.files: unknown key, did you mean \"file\"?");
  EXPECT_EQ(error_of("configs:\n  c:\n    contents: a\n"),
            "compose.yaml:3:5: configs.c.contents: unknown key, did you mean \"content\"?");
  EXPECT_EQ(error_of("models:\n  m:\n    model: a\n    size: 1\n"),
            "compose.yaml:4:5: models.m.size: unknown key");
}

// ---- extension keys ------------------------------------------------------------------------

TEST(Schema, ExtensionKeysWhereTheSpecAllowsThem) {
  EXPECT_EQ(error_of(service("    image: a\n    x-any: {deep: [1, {2: 3}]}\n")), "");
  EXPECT_EQ(error_of(service("    ports:\n      - target: 80\n        x-note: 1\n")), "");
  EXPECT_EQ(error_of(service("    build:\n      context: .\n      x-b: 1\n")), "");
  EXPECT_EQ(error_of("networks:\n  n:\n    x-n: 1\nvolumes:\n  v:\n    x-v: 1\n"), "");
  EXPECT_EQ(error_of(service("    deploy:\n      x-d: 1\n      resources: {x-r: 1}\n")), "");
}

TEST(Schema, ExtensionKeysRejectedWhereTheSpecHasNone) {
  EXPECT_EQ(error_of(service("    blkio_config:\n      x-b: 1\n")),
            "compose.yaml:4:7: services.web.blkio_config.x-b: unknown key "
            "(extension keys x-* are not allowed here)");
  EXPECT_EQ(error_of(service("    extends:\n      service: a\n      x-e: 1\n")),
            "compose.yaml:5:7: services.web.extends.x-e: unknown key "
            "(extension keys x-* are not allowed here)");
  EXPECT_EQ(error_of(service("    env_file:\n      - path: a\n        x-e: 1\n")),
            "compose.yaml:5:9: services.web.env_file[0].x-e: unknown key "
            "(extension keys x-* are not allowed here)");
  EXPECT_EQ(error_of("include:\n  - path: a.yaml\n    x-i: 1\n"),
            "compose.yaml:3:5: include[0].x-i: unknown key "
            "(extension keys x-* are not allowed here)");
}

// ---- names ---------------------------------------------------------------------------------

TEST(Schema, InvalidEntryNames) {
  EXPECT_EQ(error_of("services:\n  my web:\n    image: a\n"),
            "compose.yaml:2:3: services.my web: invalid name: only letters, digits, \".\", "
            "\"_\" and \"-\" are allowed");
  EXPECT_EQ(error_of("volumes:\n  a/b:\n"),
            "compose.yaml:2:3: volumes.a/b: invalid name: only letters, digits, \".\", \"_\" "
            "and \"-\" are allowed");
  // The specification leaves top-level networks open to other names.
  EXPECT_EQ(error_of("networks:\n  a/b:\n"), "");
}

// ---- types ---------------------------------------------------------------------------------

TEST(Schema, WrongContainerKinds) {
  EXPECT_EQ(error_of(service("    image: a\n    ports:\n      web: 80\n")),
            "compose.yaml:5:7: services.web.ports: must be a sequence, not a mapping");
  EXPECT_EQ(error_of(service("    image: [a]\n")),
            "compose.yaml:3:12: services.web.image: must be a string, not a sequence");
  EXPECT_EQ(error_of(service("    environment: FOO=1\n")),
            "compose.yaml:3:18: services.web.environment: must be a sequence or a mapping, "
            "not \"FOO=1\"");
  EXPECT_EQ(error_of(service("    command: {a: b}\n")),
            "compose.yaml:3:14: services.web.command: must be a string or a sequence, "
            "not a mapping");
  EXPECT_EQ(error_of(service("    build: [a]\n")),
            "compose.yaml:3:12: services.web.build: must be a string or a mapping, "
            "not a sequence");
  EXPECT_EQ(error_of("services: [web]\n"),
            "compose.yaml:1:11: services: must be a mapping, not a sequence");
  EXPECT_EQ(error_of(service("    ports:\n      - [80]\n")),
            "compose.yaml:4:9: services.web.ports[0]: must be a string or a mapping, "
            "not a sequence");
}

TEST(Schema, Booleans) {
  EXPECT_EQ(error_of(service("    privileged: yes please\n")),
            "compose.yaml:3:17: services.web.privileged: must be a boolean, "
            "not \"yes please\"");
  for (const char* value :
       {"true", "False", "TRUE", "yes", "No", "on", "off", "y", "n", "\"true\"", "'false'"}) {
    EXPECT_EQ(error_of(service(std::string("    read_only: ") + value + "\n")), "") << value;
  }
  EXPECT_EQ(error_of(service("    tty: 1\n")),
            "compose.yaml:3:10: services.web.tty: must be a boolean, not \"1\"");
}

TEST(Schema, StrictBooleansTakeOnlyPlainYaml12Forms) {
  EXPECT_EQ(error_of(service("    use_api_socket: True\n")), "");
  EXPECT_EQ(error_of(service("    use_api_socket: yes\n")),
            "compose.yaml:3:21: services.web.use_api_socket: must be a boolean, not \"yes\"");
  EXPECT_EQ(error_of(service("    use_api_socket: \"true\"\n")),
            "compose.yaml:3:21: services.web.use_api_socket: must be a boolean, "
            "not the string \"true\"");
  EXPECT_EQ(
      error_of(service("    depends_on:\n      db: {condition: service_started, required: on}\n")),
      "compose.yaml:4:50: services.web.depends_on.db.required: must be a boolean, not \"on\"");
}

TEST(Schema, Integers) {
  EXPECT_EQ(error_of(service("    scale: \"3\"\n")), "");
  EXPECT_EQ(error_of(service("    scale: -1\n")), "");
  EXPECT_EQ(error_of(service("    scale: three\n")),
            "compose.yaml:3:12: services.web.scale: must be an integer, not \"three\"");
  EXPECT_EQ(error_of(service("    scale: 1.5\n")),
            "compose.yaml:3:12: services.web.scale: must be an integer, not \"1.5\"");
  EXPECT_EQ(error_of(service("    ports:\n      - target: http\n")),
            "compose.yaml:4:17: services.web.ports[0].target: must be an integer, not \"http\"");
  EXPECT_EQ(error_of(service("    ulimits:\n      nofile: {soft: a, hard: 1}\n")),
            "compose.yaml:4:22: services.web.ulimits.nofile.soft: must be an integer, "
            "not \"a\"");
  EXPECT_EQ(error_of("models:\n  m:\n    model: a\n    context_size: \"4096\"\n"),
            "compose.yaml:4:19: models.m.context_size: must be an integer, "
            "not the string \"4096\"");
}

TEST(Schema, IntegerRanges) {
  EXPECT_EQ(error_of(service("    cpu_percent: 100\n")), "");
  EXPECT_EQ(error_of(service("    cpu_percent: 101\n")),
            "compose.yaml:3:18: services.web.cpu_percent: must be between 0 and 100, not 101");
  EXPECT_EQ(error_of(service("    oom_score_adj: \"-1001\"\n")),
            "compose.yaml:3:20: services.web.oom_score_adj: must be between -1000 and 1000, "
            "not -1001");
  EXPECT_EQ(error_of(service("    cpu_count: -1\n")),
            "compose.yaml:3:16: services.web.cpu_count: must be at least 0, not -1");
  EXPECT_EQ(error_of(service("    cpu_percent: 99999999999999999999999\n")),
            "compose.yaml:3:18: services.web.cpu_percent: must be between 0 and 100, "
            "not 99999999999999999999999");
}

TEST(Schema, Numbers) {
  for (const char* value : {"1", "0.5", "\"1.5\"", ".5", "-2", "1e3", "+1.0"}) {
    EXPECT_EQ(error_of(service(std::string("    cpus: ") + value + "\n")), "") << value;
  }
  EXPECT_EQ(error_of(service("    cpus: half\n")),
            "compose.yaml:3:11: services.web.cpus: must be a number, not \"half\"");
  EXPECT_EQ(error_of(service("    cpus: 1.\n")), "");
  EXPECT_EQ(error_of(service("    cpus: .\n")),
            "compose.yaml:3:11: services.web.cpus: must be a number, not \".\"");
}

TEST(Schema, StringsAcceptAnyScalarButNotNull) {
  EXPECT_EQ(error_of(service("    user: 1000\n    hostname: true\n")), "");
  EXPECT_EQ(error_of(service("    image:\n    user: a\n")),
            "compose.yaml:3:5: services.web.image: must be a string, not null");
  EXPECT_EQ(error_of(service("    image: ~\n")),
            "compose.yaml:3:5: services.web.image: must be a string, not null");
  EXPECT_EQ(error_of(service("    image: \"null\"\n")), "");
  EXPECT_EQ(error_of(service("    pid: null\n")), "");
}

TEST(Schema, NullWhereTheSpecAllowsIt) {
  EXPECT_EQ(error_of("services:\n  web:\n    command:\n    deploy:\n    develop:\n"
                     "networks:\n  n:\nvolumes:\n  v:\n"),
            "");
  EXPECT_EQ(error_of("secrets:\n  s:\n"),
            "compose.yaml:2:3: secrets.s: must be a mapping, not null");
  EXPECT_EQ(error_of(service("    environment:\n      A:\n      B: ~\n")), "");
  EXPECT_EQ(error_of(service("    healthcheck:\n")),
            "compose.yaml:3:5: services.web.healthcheck: must be a mapping, not null");
}

TEST(Schema, Enums) {
  EXPECT_EQ(error_of(service("    cgroup: hots\n")),
            "compose.yaml:3:13: services.web.cgroup: must be one of \"host\", \"private\", "
            "not \"hots\"");
  EXPECT_EQ(error_of(service("    volumes:\n      - type: bnd\n        target: /a\n")),
            "compose.yaml:4:15: services.web.volumes[0].type: must be one of \"bind\", "
            "\"volume\", \"tmpfs\", \"cluster\", \"npipe\", \"image\", not \"bnd\"");
  EXPECT_EQ(error_of(service("    gpus: some\n")),
            "compose.yaml:3:11: services.web.gpus: must be \"all\" or a sequence, not \"some\"");
  EXPECT_EQ(error_of(service("    depends_on:\n      db:\n        condition: started\n")),
            "compose.yaml:5:20: services.web.depends_on.db.condition: must be one of "
            "\"service_started\", \"service_healthy\", \"service_completed_successfully\", "
            "not \"started\"");
}

TEST(Schema, RequiredKeys) {
  EXPECT_EQ(error_of(service("    volumes:\n      - source: a\n        target: /a\n")),
            "compose.yaml:4:9: services.web.volumes[0]: missing required key \"type\"");
  EXPECT_EQ(error_of(service("    depends_on:\n      db: {required: false}\n")),
            "compose.yaml:4:11: services.web.depends_on.db: missing required key "
            "\"condition\"");
  EXPECT_EQ(error_of(service("    ulimits:\n      nofile: {soft: 1}\n")),
            "compose.yaml:4:15: services.web.ulimits.nofile: missing required key \"hard\"");
  EXPECT_EQ(error_of("models:\n  m: {name: x}\n"),
            "compose.yaml:2:6: models.m: missing required key \"model\"");
  EXPECT_EQ(error_of(service("    post_start: [{user: root}]\n")),
            "compose.yaml:3:18: services.web.post_start[0]: missing required key \"command\"");
  EXPECT_EQ(
      error_of(service("    deploy:\n      resources:\n        reservations:\n"
                       "          devices: [{count: 1}]\n")),
      "compose.yaml:6:21: services.web.deploy.resources.reservations.devices[0]: needs one of "
      "the keys \"capabilities\", \"driver\"");
}

TEST(Schema, UniqueItems) {
  EXPECT_EQ(error_of(service("    cap_add: [A, B, A]\n")),
            "compose.yaml:3:21: services.web.cap_add[2]: duplicate of item [0]");
  EXPECT_EQ(error_of(service("    ports:\n      - \"80:80\"\n      - 80:80\n")),
            "compose.yaml:5:9: services.web.ports[1]: duplicate of item [0]");
  EXPECT_EQ(error_of(service("    ports:\n      - {target: 80}\n      - {target: 80}\n")),
            "compose.yaml:5:9: services.web.ports[1]: duplicate of item [0]");
  // A number and a string are different items, as they are in JSON.
  EXPECT_EQ(error_of(service("    expose: [80, \"80\"]\n")), "");
  EXPECT_EQ(error_of(service("    ports:\n      - {target: 80}\n      - {target: 81}\n")), "");
  // Not unique in the specification.
  EXPECT_EQ(error_of(service("    build: {context: ., tags: [a, a]}\n")), "");
}

TEST(Schema, ResetValuesAreNotChecked) {
  EXPECT_EQ(error_of(service("    ports: !reset {}\n    image: !reset\n")), "");
  EXPECT_EQ(error_of(service("    ports: !override {a: b}\n")),
            "compose.yaml:3:12: services.web.ports: must be a sequence, not a mapping");
  EXPECT_EQ(error_of(service("    ports: !override [\"80:80\"]\n")), "");
}

TEST(Schema, OpenMappings) {
  EXPECT_EQ(error_of(service("    storage_opt: {size: 1G, any.key: x}\n")), "");
  EXPECT_EQ(error_of(service("    logging: {options: {a: 1, b: null}}\n")), "");
  EXPECT_EQ(error_of("secrets:\n  s:\n    external: {name: a, other: b}\n"), "");
  EXPECT_EQ(error_of("volumes:\n  v:\n    external: {name: a, other: b}\n"),
            "compose.yaml:3:25: volumes.v.external.other: unknown key");
}

TEST(Schema, NonStringKeys) {
  EXPECT_EQ(error_of("services:\n  ? [a]\n  : {}\n"),
            "compose.yaml:2:5: services: keys must be strings, not a sequence");
}

TEST(Schema, LongValuesAreShortenedInMessages) {
  const std::string value(100, 'z');
  EXPECT_EQ(error_of(service("    tty: " + value + "\n")),
            "compose.yaml:3:10: services.web.tty: must be a boolean, not \"" +
                std::string(60, 'z') + "\"...");
}

TEST(Schema, DeepExtensionValuesAreNotWalked) {
  std::string deep = "x-deep: ";
  for (int i = 0; i < 5000; ++i) {
    deep += "[";
  }
  for (int i = 0; i < 5000; ++i) {
    deep += "]";
  }
  // yaml-cpp may refuse such nesting itself; the check must not crash either way.
  try {
    const YAML::Node document = YAML::Load(deep + "\n");
    EXPECT_NO_THROW(validate_document(document, "compose.yaml"));
  } catch (const YAML::Exception&) {
  }
}

TEST(Schema, DeepDuplicateComparisonIsBounded) {
  std::string nested = "1";
  for (int i = 0; i < 300; ++i) {
    nested = "{x-a: " + nested + "}";
  }
  const std::string port = "{target: 80, x-n: " + nested + "}";
  const std::string yaml = service("    ports: [" + port + ", " + port + "]\n");
  const std::string error = error_of(yaml);
  EXPECT_NE(error.find("nested more than 200 levels deep"), std::string::npos) << error;
}

TEST(Schema, AliasBombsInDuplicateChecksAreBounded) {
  // Two distinct but equal trees of 10^8 leaves, reached through aliases from two port entries.
  std::string yaml = "x-l0: &l0 [a]\nx-m0: &m0 [a]\n";
  for (int level = 1; level <= 8; ++level) {
    for (const char* name : {"l", "m"}) {
      std::vector<std::string> refs(10, std::string("*") + name + std::to_string(level - 1));
      yaml += std::string("x-") + name + std::to_string(level) + ": &" + name +
              std::to_string(level) + " [";
      for (std::size_t i = 0; i < refs.size(); ++i) {
        yaml += (i == 0 ? "" : ", ") + refs[i];
      }
      yaml += "]\n";
    }
  }
  yaml += "services:\n  web:\n    ports: [{target: 80, x-a: *l8}, {target: 80, x-a: *m8}]\n";
  const std::string error = error_of(yaml);
  EXPECT_NE(error.find("value too large to compare with the other items of its sequence"),
            std::string::npos)
      << error;
  // The same node reached twice is a duplicate without walking it.
  EXPECT_EQ(error_of(yaml.substr(0, yaml.find("services:")) +
                     "services:\n  web:\n    ports: [{target: 80, x-a: *l8}, "
                     "{target: 80, x-a: *l8}]\n"),
            "compose.yaml:21:37: services.web.ports[1]: duplicate of item [0]");
}

TEST(Schema, LongListsAreCheckedQuickly) {
  std::string yaml = service("    ports:\n");
  for (int i = 0; i < 5000; ++i) {
    yaml += "      - target: " + std::to_string(i) + "\n";
  }
  EXPECT_EQ(error_of(yaml), "");
  yaml += "      - target: 17\n";
  EXPECT_EQ(error_of(yaml),
            "compose.yaml:5004:9: services.web.ports[5000]: duplicate of item [17]");
}

// ---- canonical output kinds ----------------------------------------------------------------

ScalarKind kind_at(std::vector<std::string> path) {
  return canonical_scalar_kind(path);
}

TEST(CanonicalScalarKind, Services) {
  EXPECT_EQ(kind_at({"services", "web", "ports", "0", "target"}), ScalarKind::Integer);
  EXPECT_EQ(kind_at({"services", "web", "ports", "0", "published"}), ScalarKind::String);
  EXPECT_EQ(kind_at({"services", "web", "ports", "0", "protocol"}), ScalarKind::String);
  EXPECT_EQ(kind_at({"services", "web", "volumes", "1", "read_only"}), ScalarKind::Boolean);
  EXPECT_EQ(kind_at({"services", "web", "volumes", "0", "bind", "create_host_path"}),
            ScalarKind::Boolean);
  EXPECT_EQ(kind_at({"services", "web", "cpus"}), ScalarKind::Number);
  EXPECT_EQ(kind_at({"services", "web", "deploy", "resources", "limits", "cpus"}),
            ScalarKind::Number);
  EXPECT_EQ(kind_at({"services", "web", "deploy", "resources", "limits", "memory"}),
            ScalarKind::String);
  EXPECT_EQ(kind_at({"services", "web", "deploy", "replicas"}), ScalarKind::Integer);
  EXPECT_EQ(kind_at({"services", "web", "mem_limit"}), ScalarKind::String);
  EXPECT_EQ(kind_at({"services", "web", "stop_grace_period"}), ScalarKind::String);
  EXPECT_EQ(kind_at({"services", "web", "healthcheck", "interval"}), ScalarKind::String);
  EXPECT_EQ(kind_at({"services", "web", "healthcheck", "retries"}), ScalarKind::Integer);
  EXPECT_EQ(kind_at({"services", "web", "healthcheck", "test", "0"}), ScalarKind::String);
  EXPECT_EQ(kind_at({"services", "web", "environment", "FOO"}), ScalarKind::String);
  EXPECT_EQ(kind_at({"services", "web", "build", "args", "VERSION"}), ScalarKind::String);
  EXPECT_EQ(kind_at({"services", "web", "command", "1"}), ScalarKind::String);
  EXPECT_EQ(kind_at({"services", "web", "expose", "0"}), ScalarKind::String);
  EXPECT_EQ(kind_at({"services", "web", "depends_on", "db", "required"}), ScalarKind::Boolean);
  EXPECT_EQ(kind_at({"services", "web", "depends_on", "db", "condition"}), ScalarKind::String);
  EXPECT_EQ(kind_at({"services", "web", "ulimits", "nofile", "soft"}), ScalarKind::Integer);
  EXPECT_EQ(kind_at({"services", "web", "privileged"}), ScalarKind::Boolean);
  EXPECT_EQ(kind_at({"services", "web", "networks", "front"}), ScalarKind::Null);
  EXPECT_EQ(kind_at({"services", "web", "networks", "front", "priority"}), ScalarKind::Integer);
  EXPECT_EQ(kind_at({"services", "web", "secrets", "0", "mode"}), ScalarKind::String);
  EXPECT_EQ(kind_at({"services", "web", "extra_hosts", "0"}), ScalarKind::String);
}

TEST(CanonicalScalarKind, TopLevel) {
  EXPECT_EQ(kind_at({"name"}), ScalarKind::String);
  EXPECT_EQ(kind_at({"networks", "front", "external"}), ScalarKind::Boolean);
  EXPECT_EQ(kind_at({"networks", "front", "driver_opts", "mtu"}), ScalarKind::String);
  EXPECT_EQ(kind_at({"volumes", "db", "name"}), ScalarKind::String);
  EXPECT_EQ(kind_at({"secrets", "s", "file"}), ScalarKind::String);
  EXPECT_EQ(kind_at({"models", "m", "context_size"}), ScalarKind::Integer);
}

TEST(CanonicalScalarKind, ExtensionsAndUnknownPathsAreAny) {
  EXPECT_EQ(kind_at({"x-common", "a"}), ScalarKind::Any);
  EXPECT_EQ(kind_at({"services", "web", "x-meta", "n"}), ScalarKind::Any);
  EXPECT_EQ(kind_at({"services", "web", "ports", "0", "x-n"}), ScalarKind::Any);
  EXPECT_EQ(kind_at({"services", "web", "no_such_key"}), ScalarKind::Any);
  EXPECT_EQ(kind_at({"services", "web", "ports", "first"}), ScalarKind::Any);
  EXPECT_EQ(kind_at({"services", "web"}), ScalarKind::Any);
  EXPECT_EQ(kind_at({}), ScalarKind::Any);
}

}  // namespace
}  // namespace berth::compose::schema
