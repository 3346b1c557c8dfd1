#include "orchestrator/compose/canonical.h"

#include <string>
#include <string_view>

#include <fmt/format.h>
#include <gtest/gtest.h>
#include <yaml-cpp/yaml.h>

#include "tests/support/yaml_test_util.h"
#include "util/error.h"

namespace berth::compose {
namespace {

using berth::testing::render_yaml;

const CanonicalContext k_ctx{"compose.yaml", "/project", "/home/me"};

std::string expected(std::string_view yaml) {
  return render_yaml(YAML::Load(std::string{yaml}));
}

/// Canonicalises a whole document and checks that a second pass changes nothing.
YAML::Node canon(std::string_view yaml) {
  const YAML::Node once = canonicalize(YAML::Load(std::string{yaml}), k_ctx);
  EXPECT_EQ(render_yaml(canonicalize(once, k_ctx)), render_yaml(once))
      << "not idempotent: " << yaml;
  return once;
}

std::string error_of(std::string_view yaml) {
  try {
    canon(yaml);
  } catch (const Error& e) {
    return e.what();
  }
  return "no error";
}

std::string service_doc(std::string_view key, std::string_view value) {
  return fmt::format("services:\n  web:\n    {}: {}\n", key, value);
}

/// Canonicalises `services.web.<key>: <value>`; checks that a second pass changes nothing.
std::string service_key(std::string_view key, std::string_view value) {
  const YAML::Node once = canon(service_doc(key, value));
  const YAML::Node twice = canonicalize(once, k_ctx);
  const std::string result = render_yaml(once["services"]["web"][std::string{key}]);
  EXPECT_EQ(render_yaml(twice), render_yaml(once)) << "not idempotent for " << key << ": " << value;
  return result;
}

std::string service_error(std::string_view key, std::string_view value) {
  return error_of(service_doc(key, value));
}

// ---- build ----------------------------------------------------------------------------------

TEST(CanonicalBuild, StringBecomesAbsoluteContext) {
  EXPECT_EQ(service_key("build", "./dir"), expected(R"({context: "/project/dir"})"));
  EXPECT_EQ(service_key("build", "dir"), expected(R"({context: "/project/dir"})"));
  EXPECT_EQ(service_key("build", "."), expected(R"({context: "/project"})"));
  EXPECT_EQ(service_key("build", "../other/./app/"), expected(R"({context: "/other/app"})"));
  EXPECT_EQ(service_key("build", "/abs/x/../y"), expected(R"({context: "/abs/y"})"));
  EXPECT_EQ(service_key("build", "~/src"), expected(R"({context: "/home/me/src"})"));
}

TEST(CanonicalBuild, RemoteContextsAreKept) {
  for (const char* url : {"https://github.com/a/b.git", "http://x/y.tar.gz", "git@github.com:a/b",
                          "github.com/a/b", "git://host/repo", "ssh://host/repo"}) {
    EXPECT_EQ(service_key("build", fmt::format("\"{}\"", url)),
              expected(fmt::format(R"({{context: "{}"}})", url)));
  }
}

TEST(CanonicalBuild, MappingGetsContextFirstAndCanonicalChildren) {
  EXPECT_EQ(service_key("build", "{dockerfile: Dockerfile.dev}"),
            expected(R"({context: "/project", dockerfile: Dockerfile.dev})"));
  EXPECT_EQ(service_key("build",
                        "{target: prod, context: ../up, args: [A=1, B], labels: {x: 1}, "
                        "shm_size: 1g, extra_hosts: [\"h:1.2.3.4\"], ssh: [default, k=./id], "
                        "additional_contexts: [base=../base, img=docker-image://alpine], "
                        "secrets: [s], ulimits: {nofile: 5}}"),
            expected(R"({context: "/up", target: prod, args: {A: "1", B: ~}, labels: {x: "1"},
                   shm_size: "1073741824", extra_hosts: ["h=1.2.3.4"],
                   ssh: {default: ~, k: "/project/id"},
                   additional_contexts: {base: "/base", img: "docker-image://alpine"},
                   secrets: [{source: "s"}], ulimits: {nofile: {soft: 5, hard: 5}}})"));
}

TEST(CanonicalBuild, SshMapping) {
  EXPECT_EQ(service_key("build", "{ssh: {default: , key: ~/.ssh/id}}"),
            expected(R"({context: "/project", ssh: {default: ~, key: "/home/me/.ssh/id"}})"));
  EXPECT_EQ(service_error("build", "{ssh: [mykey]}"),
            "compose.yaml:3:19: services.web.build.ssh[0]: invalid ssh key \"mykey\": expected "
            "default or <id>=<path>");
}

// ---- map-or-list keys -----------------------------------------------------------------------

TEST(CanonicalMapping, ListBecomesMap) {
  // Environment keeps `B` unset (null): it is looked up in the shell later.
  EXPECT_EQ(service_key("environment", "[A=1, B, C=, D=x=y, \"E=two words\"]"),
            expected(R"({A: "1", B: ~, C: "", D: "x=y", E: "two words"})"));
  EXPECT_EQ(service_key("environment", "{A: ~, B: !reset}"), expected(R"({A: ~, B: !reset })"));
  // Labels and their kind are strings only, so `B` is "" as in compose-go.
  for (const char* key : {"labels", "annotations", "sysctls"}) {
    EXPECT_EQ(service_key(key, "[A=1, B, C=, D=x=y, \"E=two words\"]"),
              expected(R"({A: "1", B: "", C: "", D: "x=y", E: "two words"})"))
        << key;
    EXPECT_EQ(service_key(key, "{A: ~, B: !reset}"), expected(R"({A: "", B: !reset })")) << key;
  }
}

TEST(CanonicalMapping, MapValuesBecomeStringsAndNullStaysNull) {
  EXPECT_EQ(service_key("environment", "{A: 1, B: true, C: , D: s, E: ~, F: \"\", G: 1.50}"),
            expected(R"({A: "1", B: "true", C: ~, D: "s", E: ~, F: "", G: "1.50"})"));
}

TEST(CanonicalMapping, LaterListEntryWins) {
  EXPECT_EQ(service_key("environment", "[A=1, B=2, A=3]"), expected(R"({A: "3", B: "2"})"));
}

TEST(CanonicalMapping, Errors) {
  EXPECT_EQ(service_error("environment", "{A: [1]}"),
            "compose.yaml:3:22: services.web.environment.A: expected a string, number, boolean "
            "or null, got sequence");
  EXPECT_EQ(service_error("labels", "[{a: b}]"),
            "compose.yaml:3:14: services.web.labels[0]: expected a string, got mapping");
  EXPECT_EQ(service_error("labels", "abc"),
            "compose.yaml:3:13: services.web.labels: expected a mapping, got string");
}

// ---- command, entrypoint --------------------------------------------------------------------

TEST(CanonicalCommand, StringIsSplitLikeAShell) {
  for (const char* key : {"command", "entrypoint"}) {
    EXPECT_EQ(service_key(key, "echo hi"), expected(R"(["echo", "hi"])")) << key;
    EXPECT_EQ(service_key(key, R"('sh -c "echo ''a b''"')"),
              expected(R"(["sh", "-c", "echo 'a b'"])"));
    EXPECT_EQ(service_key(key, "\"\""), expected("[]"));
  }
}

TEST(CanonicalCommand, ListItemsBecomeStrings) {
  EXPECT_EQ(service_key("command", "[echo, 1, true, \"x y\"]"),
            expected(R"(["echo", "1", "true", "x y"])"));
  EXPECT_EQ(service_key("command", "[]"), expected("[]"));
}

TEST(CanonicalCommand, NullStaysNull) {
  EXPECT_EQ(service_key("command", ""), "~");
  EXPECT_EQ(service_key("entrypoint", "null"), "~");
}

TEST(CanonicalCommand, Errors) {
  EXPECT_EQ(service_error("command", "\"echo 'hi\""),
            "compose.yaml:3:14: services.web.command: cannot split \"echo 'hi\" into words: "
            "unterminated single quote");
  EXPECT_EQ(service_error("entrypoint", "[a, [b]]"),
            "compose.yaml:3:21: services.web.entrypoint[1]: expected a string, got sequence");
}

// ---- depends_on -----------------------------------------------------------------------------

TEST(CanonicalDependsOn, ListGetsDefaults) {
  EXPECT_EQ(service_key("depends_on", "[db, cache]"),
            expected(R"({db: {condition: "service_started", required: true},
                         cache: {condition: "service_started", required: true}})"));
}

TEST(CanonicalDependsOn, MapFillsMissingFieldsAndKeepsRestart) {
  EXPECT_EQ(service_key("depends_on", "{db: {condition: service_healthy}}"),
            expected(R"({db: {condition: service_healthy, required: true}})"));
  EXPECT_EQ(service_key("depends_on", "{db: {restart: true, required: false}}"),
            expected(R"({db: {condition: "service_started", required: false, restart: true}})"));
  EXPECT_EQ(service_key("depends_on", "{db: {}}"),
            expected(R"({db: {condition: "service_started", required: true}})"));
}

TEST(CanonicalDependsOn, Errors) {
  EXPECT_EQ(service_error("depends_on", "{db: }"),
            "compose.yaml:3:22: services.web.depends_on.db: expected a mapping, got null");
}

// ---- devices --------------------------------------------------------------------------------

TEST(CanonicalDevices, ShortForms) {
  EXPECT_EQ(service_key("devices", "[/dev/a, \"/dev/a:/dev/b\", \"/dev/a:/dev/b:r\"]"),
            expected(R"([{source: "/dev/a", target: "/dev/a", permissions: "rwm"},
                         {source: "/dev/a", target: "/dev/b", permissions: "rwm"},
                         {source: "/dev/a", target: "/dev/b", permissions: "r"}])"));
}

TEST(CanonicalDevices, LongFormGetsDefaults) {
  EXPECT_EQ(service_key("devices", "[{permissions: rw, source: /dev/x}, {source: /a, target: /b}]"),
            expected(R"([{source: /dev/x, target: "/dev/x", permissions: rw},
                         {source: /a, target: /b, permissions: "rwm"}])"));
}

TEST(CanonicalDevices, Errors) {
  EXPECT_EQ(service_error("devices", "[\"a:b:c:d\"]"),
            "compose.yaml:3:15: services.web.devices[0]: invalid device \"a:b:c:d\": too many "
            "colons, use the long syntax");
}

// ---- string or list -------------------------------------------------------------------------

TEST(CanonicalStringOrList, StringBecomesList) {
  EXPECT_EQ(service_key("dns", "8.8.8.8"), expected(R"(["8.8.8.8"])"));
  EXPECT_EQ(service_key("dns", "[1.1.1.1, 8.8.8.8]"), expected(R"(["1.1.1.1", "8.8.8.8"])"));
  EXPECT_EQ(service_key("dns_search", "example.com"), expected(R"(["example.com"])"));
  EXPECT_EQ(service_key("tmpfs", "/run"), expected(R"(["/run"])"));
  EXPECT_EQ(service_key("tmpfs", "[/run, \"/tmp:size=64m\"]"),
            expected(R"(["/run", "/tmp:size=64m"])"));
  EXPECT_EQ(service_key("label_file", "./labels"), expected(R"(["/project/labels"])"));
  EXPECT_EQ(service_key("label_file", "[a, /b]"), expected(R"(["/project/a", "/b"])"));
}

TEST(CanonicalExpose, NumbersBecomeStrings) {
  EXPECT_EQ(service_key("expose", "[80, \"90\", 3000-3005, 53/udp]"),
            expected(R"(["80", "90", "3000-3005", "53/udp"])"));
}

// ---- env_file -------------------------------------------------------------------------------

TEST(CanonicalEnvFile, StringAndListOfStrings) {
  EXPECT_EQ(service_key("env_file", ".env"),
            expected(R"([{path: "/project/.env", required: true}])"));
  EXPECT_EQ(service_key("env_file", "[a.env, ./b.env, ~/c.env, /x/../d.env]"),
            expected(R"([{path: "/project/a.env", required: true},
                         {path: "/project/b.env", required: true},
                         {path: "/home/me/c.env", required: true},
                         {path: "/d.env", required: true}])"));
}

TEST(CanonicalEnvFile, LongForm) {
  EXPECT_EQ(service_key("env_file", "[{format: raw, required: false, path: c.env}, {path: d}]"),
            expected(R"([{path: "/project/c.env", required: false, format: raw},
                         {path: "/project/d", required: true}])"));
}

// ---- extra_hosts ----------------------------------------------------------------------------

TEST(CanonicalExtraHosts, ListForms) {
  EXPECT_EQ(service_key("extra_hosts",
                        "[\"somehost:162.242.195.82\", otherhost=50.31.209.229, "
                        "\"v6:::1\", \"v6b=::1\", \"br=[::1]\", \"multi=1.1.1.1,2.2.2.2\", "
                        "\"gw:host-gateway\"]"),
            expected(R"(["somehost=162.242.195.82", "otherhost=50.31.209.229", "v6=::1",
                         "v6b=::1", "br=::1", "multi=1.1.1.1", "multi=2.2.2.2",
                         "gw=host-gateway"])"));
}

TEST(CanonicalExtraHosts, MapFormInInputOrder) {
  EXPECT_EQ(service_key("extra_hosts",
                        "{zed: 162.242.195.82, v6: \"::1\", multi: [1.1.1.1, \"[::2]\"], "
                        "empty: }"),
            expected(R"(["zed=162.242.195.82", "v6=::1", "multi=1.1.1.1", "multi=::2",
                         "empty="])"));
}

TEST(CanonicalExtraHosts, Errors) {
  EXPECT_EQ(service_error("extra_hosts", "[nohost]"),
            "compose.yaml:3:19: services.web.extra_hosts[0]: invalid extra host \"nohost\": "
            "missing IP address");
  EXPECT_EQ(service_error("extra_hosts", "[\"=1.2.3.4\"]"),
            "compose.yaml:3:19: services.web.extra_hosts[0]: invalid extra host \"=1.2.3.4\": "
            "bad host name \"\"");
}

// ---- healthcheck, stop_grace_period ---------------------------------------------------------

TEST(CanonicalHealthcheck, StringTestAndDurations) {
  EXPECT_EQ(service_key("healthcheck",
                        "{test: curl -f http://x, interval: 1m30s, timeout: 90s, "
                        "start_period: 1.5s, start_interval: 300ms, retries: 3}"),
            expected(R"({test: ["CMD-SHELL", "curl -f http://x"], interval: "1m30s",
                         timeout: "1m30s", start_period: "1.5s", start_interval: "300ms",
                         retries: 3})"));
}

TEST(CanonicalHealthcheck, ListTestIsKept) {
  EXPECT_EQ(service_key("healthcheck", "{test: [CMD, curl, -f, \"http://x\"]}"),
            expected(R"({test: ["CMD", "curl", "-f", "http://x"]})"));
  EXPECT_EQ(service_key("healthcheck", "{test: [NONE]}"), expected(R"({test: ["NONE"]})"));
}

TEST(CanonicalHealthcheck, DisableSetsTestNone) {
  EXPECT_EQ(service_key("healthcheck", "{disable: true}"),
            expected(R"({disable: true, test: ["NONE"]})"));
  EXPECT_EQ(service_key("healthcheck", "{test: [CMD, x], disable: true, interval: 10s}"),
            expected(R"({test: ["NONE"], disable: true, interval: "10s"})"));
  EXPECT_EQ(service_key("healthcheck", "{test: [CMD, x], disable: false}"),
            expected(R"({test: ["CMD", "x"], disable: false})"));
}

TEST(CanonicalHealthcheck, Errors) {
  EXPECT_EQ(service_error("healthcheck", "{interval: 10}"),
            "compose.yaml:3:29: services.web.healthcheck.interval: invalid duration \"10\"");
  EXPECT_EQ(service_error("healthcheck", "{timeout: 10x}"),
            "compose.yaml:3:28: services.web.healthcheck.timeout: invalid duration \"10x\"");
}

TEST(CanonicalDuration, StopGracePeriod) {
  EXPECT_EQ(service_key("stop_grace_period", "1m30s"), expected(R"("1m30s")"));
  EXPECT_EQ(service_key("stop_grace_period", "90s"), expected(R"("1m30s")"));
  EXPECT_EQ(service_key("stop_grace_period", "1.5s"), expected(R"("1.5s")"));
  EXPECT_EQ(service_key("stop_grace_period", "300ms"), expected(R"("300ms")"));
  EXPECT_EQ(service_key("stop_grace_period", "0"), expected(R"("0s")"));
  EXPECT_EQ(service_key("stop_grace_period", "1h"), expected(R"("1h0m0s")"));
  EXPECT_EQ(service_key("stop_grace_period", "1d"), expected(R"("24h0m0s")"));
  EXPECT_EQ(service_error("stop_grace_period", "90"),
            "compose.yaml:3:24: services.web.stop_grace_period: invalid duration \"90\"");
}

// ---- byte sizes, cpus -----------------------------------------------------------------------

TEST(CanonicalBytes, ServiceKeys) {
  EXPECT_EQ(service_key("mem_limit", "512m"), expected(R"("536870912")"));
  EXPECT_EQ(service_key("mem_limit", "\"1gb\""), expected(R"("1073741824")"));
  EXPECT_EQ(service_key("mem_limit", "1024"), expected(R"("1024")"));
  EXPECT_EQ(service_key("mem_reservation", "1.5g"), expected(R"("1610612736")"));
  EXPECT_EQ(service_key("memswap_limit", "-1"), expected(R"("-1")"));
  EXPECT_EQ(service_key("shm_size", "64M"), expected(R"("67108864")"));
  EXPECT_EQ(service_error("mem_limit", "12q"),
            "compose.yaml:3:16: services.web.mem_limit: invalid byte size \"12q\"");
}

TEST(CanonicalCpus, PrintedLikeComposeFloat32) {
  EXPECT_EQ(service_key("cpus", "\"1.50\""), expected("1.5"));
  EXPECT_EQ(service_key("cpus", "0.1"), expected("0.1"));
  EXPECT_EQ(service_key("cpus", "2"), expected("2"));
  EXPECT_EQ(service_key("cpus", "1000000"), expected("1e+06"));
  EXPECT_EQ(service_error("cpus", "many"),
            "compose.yaml:3:11: services.web.cpus: invalid cpus \"many\"");
}

TEST(CanonicalDeploy, ResourcesDurationsAndLabels) {
  EXPECT_EQ(service_key("deploy",
                        "{replicas: 2, labels: [a=b], resources: {limits: {memory: 512m, "
                        "cpus: \"0.50\", pids: 5}, reservations: {memory: 1g, cpus: 2}}, "
                        "restart_policy: {condition: on-failure, delay: 5s, window: 120s}, "
                        "update_config: {delay: 90s, monitor: 1m}, rollback_config: {delay: 0}}"),
            expected(R"({replicas: 2, labels: {a: "b"},
                   resources: {limits: {memory: "536870912", cpus: 0.5, pids: 5},
                               reservations: {memory: "1073741824", cpus: 2}},
                   restart_policy: {condition: on-failure, delay: "5s", window: "2m0s"},
                   update_config: {delay: "1m30s", monitor: "1m0s"},
                   rollback_config: {delay: "0s"}})"));
}

// ---- networks -------------------------------------------------------------------------------

TEST(CanonicalNetworks, ListBecomesMapOfNulls) {
  EXPECT_EQ(service_key("networks", "[front, back]"), expected("{front: ~, back: ~}"));
}

TEST(CanonicalNetworks, MapIsKept) {
  EXPECT_EQ(service_key("networks", "{front: {aliases: [a], priority: 2}, back: }"),
            expected("{front: {aliases: [a], priority: 2}, back: ~}"));
}

// ---- ports ----------------------------------------------------------------------------------

TEST(CanonicalPorts, HostAndContainer) {
  const std::string one =
      expected(R"([{mode: "ingress", target: 80, published: "8080", protocol: "tcp"}])");
  EXPECT_EQ(service_key("ports", "[\"8080:80\"]"), one);
  EXPECT_EQ(service_key("ports", "[8080:80]"), one);  // YAML 1.1 sexagesimal: just a string
}

TEST(CanonicalPorts, ContainerOnly) {
  const std::string one = expected(R"([{mode: "ingress", target: 80, protocol: "tcp"}])");
  EXPECT_EQ(service_key("ports", "[80]"), one);
  EXPECT_EQ(service_key("ports", "[\"80\"]"), one);
  EXPECT_EQ(service_key("ports", "[\"80-82\"]"),
            expected(R"([{mode: "ingress", target: 80, protocol: "tcp"},
                         {mode: "ingress", target: 81, protocol: "tcp"},
                         {mode: "ingress", target: 82, protocol: "tcp"}])"));
}

TEST(CanonicalPorts, RangesExpandToOneEntryPerPort) {
  EXPECT_EQ(service_key("ports", "[\"8000-8002:80-82\"]"),
            expected(R"([{mode: "ingress", target: 80, published: "8000", protocol: "tcp"},
                         {mode: "ingress", target: 81, published: "8001", protocol: "tcp"},
                         {mode: "ingress", target: 82, published: "8002", protocol: "tcp"}])"));
  EXPECT_EQ(service_key("ports", "[\"127.0.0.1:8080-8081:80-81/udp\"]"),
            expected(R"([{mode: "ingress", host_ip: "127.0.0.1", target: 80, published: "8080",
                          protocol: "udp"},
                         {mode: "ingress", host_ip: "127.0.0.1", target: 81, published: "8081",
                          protocol: "udp"}])"));
}

TEST(CanonicalPorts, HostRangeForOneContainerPortIsKeptAsARange) {
  EXPECT_EQ(service_key("ports", "[\"8000-8002:80\"]"),
            expected(R"([{mode: "ingress", target: 80, published: "8000-8002",
                          protocol: "tcp"}])"));
}

TEST(CanonicalPorts, HostIp) {
  EXPECT_EQ(service_key("ports", "[\"0.0.0.0:80:80/tcp\"]"),
            expected(R"([{mode: "ingress", host_ip: "0.0.0.0", target: 80, published: "80",
                          protocol: "tcp"}])"));
  EXPECT_EQ(service_key("ports", "[\"127.0.0.1::80\"]"),
            expected(R"([{mode: "ingress", host_ip: "127.0.0.1", target: 80,
                          protocol: "tcp"}])"));
  const std::string v6 = expected(
      R"([{mode: "ingress", host_ip: "::1", target: 80, published: "8080", protocol: "tcp"}])");
  EXPECT_EQ(service_key("ports", "[\"[::1]:8080:80\"]"), v6);
  EXPECT_EQ(service_key("ports", "[\"::1:8080:80\"]"), v6);
}

TEST(CanonicalPorts, Protocols) {
  EXPECT_EQ(service_key("ports", "[\"53:53/UDP\", 80/sctp, \"81/\"]"),
            expected(R"([{mode: "ingress", target: 53, published: "53", protocol: "udp"},
                         {mode: "ingress", target: 80, protocol: "sctp"},
                         {mode: "ingress", target: 81, protocol: "tcp"}])"));
}

TEST(CanonicalPorts, LongFormKeepsFieldsInCanonicalOrder) {
  EXPECT_EQ(service_key("ports", "[{target: 80, published: 8080}]"),
            expected(R"([{mode: "ingress", target: 80, published: "8080", protocol: "tcp"}])"));
  EXPECT_EQ(service_key("ports",
                        "[{x-note: 1, name: web, app_protocol: http, protocol: udp, "
                        "published: \"8000-8001\", target: \"80\", host_ip: 127.0.0.1, "
                        "mode: host}]"),
            expected(R"([{mode: host, host_ip: 127.0.0.1, target: 80, published: "8000-8001",
                          protocol: udp, app_protocol: http, name: web, x-note: 1}])"));
}

TEST(CanonicalPorts, Errors) {
  const auto port_error = [](std::string_view item) {
    return service_error("ports", fmt::format("[\"8080:80\", {}]", item));
  };
  EXPECT_EQ(port_error("\"80x\""),
            "compose.yaml:3:24: services.web.ports[1]: invalid port \"80x\"");
  EXPECT_EQ(port_error("\"70000\""),
            "compose.yaml:3:24: services.web.ports[1]: invalid port \"70000\"");
  EXPECT_EQ(port_error("\"82-80\""),
            "compose.yaml:3:24: services.web.ports[1]: invalid port \"82-80\"");
  EXPECT_EQ(port_error("\"\""), "compose.yaml:3:24: services.web.ports[1]: invalid port \"\"");
  EXPECT_EQ(port_error("\"x:80\""),
            "compose.yaml:3:24: services.web.ports[1]: invalid port \"x:80\"");
  EXPECT_EQ(port_error("\"80/xyz\""),
            "compose.yaml:3:24: services.web.ports[1]: invalid port \"80/xyz\": unknown "
            "protocol \"xyz\"");
  EXPECT_EQ(port_error("\"1.2.3:80:80\""),
            "compose.yaml:3:24: services.web.ports[1]: invalid port \"1.2.3:80:80\": invalid "
            "host IP \"1.2.3\"");
  EXPECT_EQ(port_error("\"[::1:80:80\""),
            "compose.yaml:3:24: services.web.ports[1]: invalid port \"[::1:80:80\": invalid "
            "host IP \"[::1\"");
  EXPECT_EQ(port_error("\"8000-8002:80-81\""),
            "compose.yaml:3:24: services.web.ports[1]: invalid port \"8000-8002:80-81\": host "
            "port range \"8000-8002\" and container port range \"80-81\" differ in length");
  EXPECT_EQ(port_error("\"8080:80-81\""),
            "compose.yaml:3:24: services.web.ports[1]: invalid port \"8080:80-81\": host "
            "port range \"8080\" and container port range \"80-81\" differ in length");
  EXPECT_EQ(port_error("[80]"),
            "compose.yaml:3:24: services.web.ports[1]: expected a string, got sequence");
  EXPECT_EQ(port_error("{target: x}"),
            "compose.yaml:3:33: services.web.ports[1].target: invalid port \"x\"");
  EXPECT_EQ(service_error("ports", "\"80:80\""),
            "compose.yaml:3:12: services.web.ports: expected a sequence, got string");
}

// ---- secrets, configs, ulimits --------------------------------------------------------------

TEST(CanonicalFileMounts, ShortAndLong) {
  for (const char* key : {"secrets", "configs"}) {
    EXPECT_EQ(service_key(key,
                          "[db_pass, {mode: 0440, x-y: 1, gid: \"2\", uid: \"1\", target: /t, "
                          "source: s}]"),
              expected(R"([{source: "db_pass"},
                           {source: s, target: /t, uid: "1", gid: "2", mode: "0440", x-y: 1}])"))
        << key;
  }
}

TEST(CanonicalFileMounts, ModeBecomesOctalString) {
  // A plain number is the mode itself (Go's YAML reader: decimal, 0o/0x/0b, leading 0 octal);
  // a quoted one is octal digits. Kept as text, 288 would read back as octal "288".
  for (const char* key : {"secrets", "configs"}) {
    EXPECT_EQ(service_key(key,
                          "[{source: a, mode: 288}, {source: b, mode: 0o440}, "
                          "{source: c, mode: 0x120}, {source: d, mode: 0440}, "
                          "{source: e, mode: \"440\"}, {source: f, mode: \"0440\"}, "
                          "{source: g, mode: 440}, {source: h, mode: 0}, "
                          "{source: i, mode: +0b111}]"),
              expected(R"([{source: a, mode: "0440"}, {source: b, mode: "0440"},
                           {source: c, mode: "0440"}, {source: d, mode: "0440"},
                           {source: e, mode: "0440"}, {source: f, mode: "0440"},
                           {source: g, mode: "0670"}, {source: h, mode: "00"},
                           {source: i, mode: "07"}])"))
        << key;
  }
  EXPECT_EQ(
      service_key("secrets", "[{source: a, mode: !override 256}, {source: b, mode: !reset 1}]"),
      expected(R"([{source: a, mode: !override 256}, {source: b, mode: !reset 1}])"));
  EXPECT_EQ(service_key("build", "{secrets: [{source: s, mode: 256}]}"),
            expected(R"({context: "/project", secrets: [{source: s, mode: "0400"}]})"));
}

TEST(CanonicalFileMounts, ModeErrors) {
  EXPECT_EQ(service_error("secrets", "[{source: s, mode: \"0o440\"}]"),
            "compose.yaml:3:33: services.web.secrets[0].mode: invalid mode \"0o440\"");
  EXPECT_EQ(service_error("configs", "[{source: s, mode: rw}]"),
            "compose.yaml:3:33: services.web.configs[0].mode: invalid mode \"rw\"");
  EXPECT_EQ(service_error("secrets", "[{source: s, mode: -1}]"),
            "compose.yaml:3:33: services.web.secrets[0].mode: invalid mode \"-1\"");
}

TEST(CanonicalUlimits, SingleNumberSetsSoftAndHard) {
  EXPECT_EQ(service_key("ulimits", "{nofile: 1024, nproc: {hard: 20, soft: 10}}"),
            expected(R"({nofile: {soft: 1024, hard: 1024}, nproc: {soft: 10, hard: 20}})"));
  EXPECT_EQ(service_error("ulimits", "{nofile: lots}"),
            "compose.yaml:3:23: services.web.ulimits.nofile: invalid ulimit \"lots\"");
}

// ---- volumes --------------------------------------------------------------------------------

TEST(CanonicalVolumes, Bind) {
  EXPECT_EQ(service_key("volumes", "[\"./data:/data:ro\"]"),
            expected(R"([{type: "bind", source: "/project/data", target: "/data",
                          read_only: true, bind: {create_host_path: true}}])"));
  EXPECT_EQ(service_key("volumes", "[\"/host:/c\", \"../up:/c:rw\", \"~/x:/c\", \"~:/c\"]"),
            expected(R"([{type: "bind", source: "/host", target: "/c",
                          bind: {create_host_path: true}},
                         {type: "bind", source: "/up", target: "/c",
                          bind: {create_host_path: true}},
                         {type: "bind", source: "/home/me/x", target: "/c",
                          bind: {create_host_path: true}},
                         {type: "bind", source: "/home/me", target: "/c",
                          bind: {create_host_path: true}}])"));
  EXPECT_EQ(service_key("volumes", "[\"./a/../b/./c:/c/./d/\"]"),
            expected(R"([{type: "bind", source: "/project/b/c", target: "/c/d",
                          bind: {create_host_path: true}}])"));
}

TEST(CanonicalVolumes, NamedAndAnonymous) {
  EXPECT_EQ(service_key("volumes", "[\"db:/var/lib/db\", /anon, \"a${B:-c}d:/c\"]"),
            expected(R"([{type: "volume", source: "db", target: "/var/lib/db", volume: {}},
                         {type: "volume", target: "/anon", volume: {}},
                         {type: "volume", source: "a${B:-c}d", target: "/c", volume: {}}])"));
}

TEST(CanonicalVolumes, Options) {
  EXPECT_EQ(service_key("volumes", "[\"./a:/c:z\", \"./a:/c:Z\", \"./a:/c:ro,rshared\"]"),
            expected(R"([{type: "bind", source: "/project/a", target: "/c",
                          bind: {create_host_path: true, selinux: "z"}},
                         {type: "bind", source: "/project/a", target: "/c",
                          bind: {create_host_path: true, selinux: "Z"}},
                         {type: "bind", source: "/project/a", target: "/c", read_only: true,
                          bind: {create_host_path: true, propagation: "rshared"}}])"));
  EXPECT_EQ(service_key("volumes", "[\"db:/c:nocopy\", \"db:/c:rw,ro\", \"db:/c:ro,z\"]"),
            expected(R"([{type: "volume", source: "db", target: "/c", volume: {nocopy: true}},
                         {type: "volume", source: "db", target: "/c", read_only: true,
                          volume: {}},
                         {type: "volume", source: "db", target: "/c", read_only: true,
                          bind: {selinux: "z"}, volume: {}}])"));
  // Like compose-go, unknown options are ignored.
  EXPECT_EQ(service_key("volumes", "[\"./a:/c:delegated,ro\"]"),
            expected(R"([{type: "bind", source: "/project/a", target: "/c", read_only: true,
                          bind: {create_host_path: true}}])"));
}

TEST(CanonicalVolumes, LongForm) {
  EXPECT_EQ(service_key("volumes",
                        "[{type: bind, source: ./data, target: /data}, "
                        "{type: bind, source: data, target: /d, bind: {propagation: shared}}, "
                        "{type: volume, source: data, target: /v}, "
                        "{target: /t, type: tmpfs, tmpfs: {size: 64m, mode: 1777}}]"),
            expected(R"([{type: bind, source: "/project/data", target: /data},
                         {type: bind, source: "/project/data", target: /d,
                          bind: {propagation: shared}},
                         {type: volume, source: data, target: /v},
                         {type: tmpfs, target: /t, tmpfs: {size: "67108864", mode: 1777}}])"));
}

TEST(CanonicalVolumes, Errors) {
  const auto volume_error = [](std::string_view item) {
    return service_error("volumes", fmt::format("[{}]", item));
  };
  EXPECT_EQ(volume_error("\"\""),
            "compose.yaml:3:15: services.web.volumes[0]: invalid volume \"\": empty "
            "specification");
  EXPECT_EQ(volume_error("\"a::b\""),
            "compose.yaml:3:15: services.web.volumes[0]: invalid volume \"a::b\": empty "
            "section between colons");
  EXPECT_EQ(volume_error("\":/c\""),
            "compose.yaml:3:15: services.web.volumes[0]: invalid volume \":/c\": empty "
            "section between colons");
  EXPECT_EQ(volume_error("\"a:b:ro:x\""),
            "compose.yaml:3:15: services.web.volumes[0]: invalid volume \"a:b:ro:x\": too many "
            "colons");
}

// ---- top level ------------------------------------------------------------------------------

TEST(CanonicalTopLevel, NetworksAndVolumes) {
  const YAML::Node out = canon(R"(
networks:
  front:
  back: {external: true}
  legacy: {external: {name: real}}
  named: {name: x, driver: bridge}
volumes:
  data:
  bound: {driver: local, driver_opts: {type: none, o: bind, device: ./data}}
  other: {driver: local, driver_opts: {o: size=1g, device: ./data}}
)");
  EXPECT_EQ(render_yaml(out["networks"]), expected(R"({front: {}, back: {external: true},
                         legacy: {external: true, name: "real"},
                         named: {name: x, driver: bridge}})"));
  EXPECT_EQ(render_yaml(out["volumes"]), expected(R"({data: {},
                         bound: {driver: local, driver_opts: {type: none, o: bind,
                                                              device: "/project/data"}},
                         other: {driver: local, driver_opts: {o: size=1g, device: ./data}}})"));
}

TEST(CanonicalTopLevel, SecretsAndConfigs) {
  const YAML::Node out = canon(R"(
secrets:
  s: {file: ./s.txt}
  e: {external: true}
  env: {environment: TOKEN}
configs:
  c: {file: /abs/./c.conf}
  h: {file: ~/h.conf}
  n:
)");
  EXPECT_EQ(render_yaml(out["secrets"]),
            expected(R"({s: {file: "/project/s.txt"}, e: {external: true},
                         env: {environment: TOKEN}})"));
  EXPECT_EQ(render_yaml(out["configs"]),
            expected(R"({c: {file: "/abs/c.conf"}, h: {file: "/home/me/h.conf"}, n: ~})"));
}

TEST(CanonicalTopLevel, LabelsBecomeMappings) {
  // As for services: one shape, so that merge can combine a list in one file with a mapping in
  // another.
  const YAML::Node out = canon(R"(
networks:
  n: {labels: [a=1, b], external: true}
volumes:
  v: {labels: {a: 1, b: }}
secrets:
  s: {file: ./s, labels: [a=1]}
configs:
  c: {labels: !override [a=1], external: {name: real}}
  r: {labels: !reset [a=1]}
)");
  EXPECT_EQ(render_yaml(out["networks"]),
            expected(R"({n: {labels: {a: "1", b: ""}, external: true}})"));
  EXPECT_EQ(render_yaml(out["volumes"]), expected(R"({v: {labels: {a: "1", b: ""}}})"));
  EXPECT_EQ(render_yaml(out["secrets"]),
            expected(R"({s: {file: "/project/s", labels: {a: "1"}}})"));
  EXPECT_EQ(render_yaml(out["configs"]),
            expected(R"({c: {labels: !override {a: "1"}, external: true, name: "real"},
                         r: {labels: !reset [a=1]}})"));
  EXPECT_EQ(error_of("volumes:\n  v: {labels: abc}\n"),
            "compose.yaml:2:15: volumes.v.labels: expected a mapping, got string");
}

TEST(CanonicalTopLevel, LegacyExternalNameConflict) {
  EXPECT_EQ(error_of("networks:\n  n: {name: a, external: {name: b}}\n"),
            "compose.yaml:2:33: networks.n.external.name: conflicts with name \"a\"; only use "
            "name");
}

TEST(CanonicalTopLevel, UnknownKeysAreKept) {
  const std::string input = R"(
name: proj
x-common: &common {a: 1, b: [x]}
include: [other.yaml]
services:
  web:
    image: nginx
    x-custom: [1, "2"]
    restart: "no"
    extends: {file: base.yaml, service: base}
)";
  const YAML::Node out = canon(input);
  EXPECT_EQ(render_yaml(out), render_yaml(YAML::Load(input)));
}

TEST(CanonicalTopLevel, EmptyDocumentAndWrongShapes) {
  EXPECT_EQ(render_yaml(canon("")), "~");
  EXPECT_EQ(error_of("- a\n"),
            "compose.yaml:1:1: expected a mapping at the top level, got sequence");
  EXPECT_EQ(error_of("services: [web]\n"),
            "compose.yaml:1:11: services: expected a mapping, got sequence");
}

// ---- merge tags, positions, input -----------------------------------------------------------

TEST(CanonicalTags, ResetIsCopiedAndOverrideIsCanonicalised) {
  const YAML::Node out = canon(R"(
services:
  web:
    ports: !reset ["80"]
    environment: !reset
    command: !override echo hi
    volumes: !override ["./a:/a"]
    depends_on:
      db: !override {condition: service_healthy}
      cache: !reset {}
  old: !reset
networks:
  n: !reset
)");
  EXPECT_EQ(render_yaml(out["services"]["web"]),
            expected(R"({ports: !reset ["80"], environment: !reset,
                         command: !override ["echo", "hi"],
                         volumes: !override [{type: "bind", source: "/project/a", target: "/a",
                                              bind: {create_host_path: true}}],
                         depends_on: {db: !override {condition: service_healthy, required: true},
                                      cache: !reset {}}})"));
  EXPECT_EQ(render_yaml(out["services"]["old"]), "!reset ");
  EXPECT_EQ(render_yaml(out["networks"]["n"]), "!reset ");
}

TEST(CanonicalInput, IsLeftUntouched) {
  const std::string input = service_doc("ports", "[\"8080:80\", {target: 81}]") +
                            "    volumes: [\"./a:/a\"]\n    environment: [A=1]\n";
  const YAML::Node doc = YAML::Load(input);
  const std::string before = render_yaml(doc);
  const YAML::Node out = canonicalize(doc, k_ctx);
  EXPECT_EQ(render_yaml(doc), before);
  EXPECT_NE(render_yaml(out), before);
}

TEST(CanonicalInput, ErrorsDeepInTheFilePointAtTheValue) {
  EXPECT_EQ(error_of(R"(services:
  web:
    image: nginx
    ports:
      - "8080:80"
      - "80x"
)"),
            "compose.yaml:6:9: services.web.ports[1]: invalid port \"80x\"");
}

TEST(CanonicalInput, UnchangedValuesKeepTheirSourcePosition) {
  const YAML::Node out = canon("services:\n  web:\n    image: nginx\n    ports: [{target: 80}]\n");
  EXPECT_EQ(out["services"]["web"]["image"].Mark().line, 2);
  EXPECT_EQ(out["services"]["web"]["ports"][0]["target"].Mark().line, 3);
}

TEST(CanonicalInput, EmitsWithoutAnchorsFromSharedNodes) {
  const YAML::Node out = canon(R"(
services:
  web:
    build: .
    command: echo hi
    ports: ["8000-8001:80-81", {target: 90}]
    volumes: ["./a:/a:ro", "db:/db"]
    devices: [{source: /dev/x}]
    ulimits: {nofile: 10}
    healthcheck: {test: "true", disable: true}
    extra_hosts: {h: "::1"}
networks: {n: }
)");
  YAML::Emitter emitter;
  emitter << out;
  ASSERT_TRUE(emitter.good());
  EXPECT_EQ(std::string(emitter.c_str()).find('&'), std::string::npos) << emitter.c_str();
}

// ---- paths ----------------------------------------------------------------------------------

TEST(CleanPath, LikeGoPathClean) {
  EXPECT_EQ(clean_path(""), ".");
  EXPECT_EQ(clean_path("/"), "/");
  EXPECT_EQ(clean_path("//"), "/");
  EXPECT_EQ(clean_path("/a/b/../c"), "/a/c");
  EXPECT_EQ(clean_path("/../a"), "/a");
  EXPECT_EQ(clean_path("a//b/./c/"), "a/b/c");
  EXPECT_EQ(clean_path("../../a"), "../../a");
  EXPECT_EQ(clean_path("a/../.."), "..");
  EXPECT_EQ(clean_path("a/.."), ".");
  EXPECT_EQ(clean_path("./"), ".");
}

}  // namespace
}  // namespace berth::compose
