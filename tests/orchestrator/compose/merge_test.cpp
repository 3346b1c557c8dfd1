#include "orchestrator/compose/merge.h"

#include <string>
#include <string_view>

#include <gtest/gtest.h>
#include <yaml-cpp/yaml.h>

#include "tests/support/yaml_test_util.h"
#include "util/error.h"

namespace berth::compose {
namespace {

using berth::testing::render_yaml;

std::string canonical(std::string_view yaml) {
  return render_yaml(YAML::Load(std::string(yaml)));
}

std::string merged(std::string_view base, std::string_view over) {
  return render_yaml(merge_documents(YAML::Load(std::string(base)), YAML::Load(std::string(over))));
}

std::string merged_unique(std::string_view base, std::string_view over) {
  YAML::Node out = merge_documents(YAML::Load(std::string(base)), YAML::Load(std::string(over)));
  enforce_unicity(out);
  return render_yaml(out);
}

std::string unique(std::string_view yaml) {
  YAML::Node doc = YAML::Load(std::string(yaml));
  enforce_unicity(doc);
  return render_yaml(doc);
}

std::string merge_error(std::string_view base, std::string_view over) {
  try {
    merge_documents(YAML::Load(std::string(base)), YAML::Load(std::string(over)));
  } catch (const Error& e) {
    return e.what();
  }
  return "no error";
}

std::string unicity_error(std::string_view yaml) {
  try {
    YAML::Node doc = YAML::Load(std::string(yaml));
    enforce_unicity(doc);
  } catch (const Error& e) {
    return e.what();
  }
  return "no error";
}

// ----- plain rules -------------------------------------------------------------------------

TEST(MergeDocuments, ScalarsReplacedAcrossSeveralFiles) {
  const YAML::Node one = YAML::Load("services: {test: {image: foo, scale: 1}}");
  const YAML::Node two = YAML::Load("services: {test: {image: bar}}");
  const YAML::Node three = YAML::Load("services: {test: {scale: 2}}");
  EXPECT_EQ(render_yaml(merge_documents(merge_documents(one, two), three)),
            "{services: {test: {image: bar, scale: 2}}}");
}

TEST(MergeDocuments, MappingsMergeKeepingBaseOrderThenNewKeys) {
  EXPECT_EQ(merged("services: {a: {image: x, user: root}}\nname: p",
                   "services: {b: {image: y}, a: {init: true, image: z}}\nversion: '3'"),
            "{services: {a: {image: z, user: root, init: true}, b: {image: y}}, name: p, "
            "version: \"3\"}");
}

TEST(MergeDocuments, SequencesAppendWithoutIdenticalEntries) {
  EXPECT_EQ(merged(R"(
services:
  test:
    image: foo
    dns: [8.8.8.8]
    cap_add: [NET_ADMIN]
    volumes: [{type: volume, source: data, target: /data}]
)",
                   R"(
services:
  test:
    dns: [8.8.8.8, 9.9.9.9]
    cap_add: [NET_ADMIN, SYS_PTRACE]
    volumes: [{type: volume, source: data, target: /data}]
)"),
            canonical(R"(
services:
  test:
    image: foo
    dns: [8.8.8.8, 9.9.9.9]
    cap_add: [NET_ADMIN, SYS_PTRACE]
    volumes: [{type: volume, source: data, target: /data}]
)"));
}

TEST(MergeDocuments, SequenceEntriesThatDifferAreBothKept) {
  // Without unicity both stay; identity is exact, not "same target".
  EXPECT_EQ(merged("services: {t: {volumes: [{type: volume, source: a, target: /d}]}}",
                   "services: {t: {volumes: [{type: volume, source: b, target: /d}]}}"),
            "{services: {t: {volumes: [{type: volume, source: a, target: /d}, "
            "{type: volume, source: b, target: /d}]}}}");
}

TEST(MergeDocuments, UnkeyedListsOfMappingsAppend) {
  EXPECT_EQ(merged("services: {t: {deploy: {resources: {reservations: {devices: "
                   "[{driver: nvidia, count: 1}]}}}}}",
                   "services: {t: {deploy: {resources: {reservations: {devices: "
                   "[{driver: other}]}}}}}"),
            "{services: {t: {deploy: {resources: {reservations: {devices: "
            "[{driver: nvidia, count: 1}, {driver: other}]}}}}}}");
}

TEST(MergeDocuments, MergingTheSameOverrideTwiceIsIdempotent) {
  const YAML::Node base = YAML::Load(R"(
services:
  test:
    dns: [8.8.8.8]
    env_file: [{path: /p/common.env, required: true}]
    extra_hosts: [host1=127.0.0.1]
)");
  const YAML::Node over = YAML::Load(R"(
services:
  test:
    dns: [9.9.9.9]
    env_file: [{path: /p/common.env, required: true}, {path: /p/test.env, required: true}]
    extra_hosts: [host1=127.0.0.1, host2=127.0.0.2]
)");
  const YAML::Node once = merge_documents(base, over);
  EXPECT_EQ(render_yaml(merge_documents(once, over)), render_yaml(once));
  EXPECT_EQ(render_yaml(once), canonical(R"(
services:
  test:
    dns: [8.8.8.8, 9.9.9.9]
    env_file: [{path: /p/common.env, required: true}, {path: /p/test.env, required: true}]
    extra_hosts: [host1=127.0.0.1, host2=127.0.0.2]
)"));
}

TEST(MergeDocuments, NullOverrideKeepsBaseValue) {
  EXPECT_EQ(merged("services: {t: {image: foo, cap_add: [A], build: {context: /c}}}",
                   "services: {t: {image: ~, cap_add: null, build: }}"),
            "{services: {t: {image: foo, cap_add: [A], build: {context: /c}}}}");
}

TEST(MergeDocuments, NullBaseTakesOverride) {
  EXPECT_EQ(
      merged("services: {t: {image: ~, cap_add: ~}}", "services: {t: {image: foo, cap_add: [A]}}"),
      "{services: {t: {image: foo, cap_add: [A]}}}");
}

TEST(MergeDocuments, QuotedScalarsStayQuoted) {
  EXPECT_EQ(merged("services: {t: {environment: {A: \"true\"}}}",
                   "services: {t: {environment: {B: \"1\"}, tty: true}}"),
            "{services: {t: {environment: {A: \"true\", B: \"1\"}, tty: true}}}");
}

TEST(MergeDocuments, ExtensionsMergeLikeAnyMapping) {
  EXPECT_EQ(merged("x-common: {a: 1, list: [x]}", "x-common: {b: 2, list: [y]}"),
            "{x-common: {a: 1, list: [x, y], b: 2}}");
}

TEST(MergeDocuments, TopLevelResourcesMergePerKey) {
  EXPECT_EQ(merged(R"(
networks: {front: {driver: bridge, labels: {a: "1"}}, back: {}}
volumes: {data: {driver: local}}
secrets: {token: {file: /s/token}}
configs: {conf: {file: /c/a}}
)",
                   R"(
networks: {front: {driver_opts: {mtu: "1400"}, labels: {b: "2"}}, extra: {external: true}}
volumes: {data: {driver: nfs}, logs: {}}
secrets: {token: {environment: TOKEN}}
configs: {conf: {file: /c/b}}
)"),
            canonical(R"(
networks:
  front: {driver: bridge, labels: {a: "1", b: "2"}, driver_opts: {mtu: "1400"}}
  back: {}
  extra: {external: true}
volumes: {data: {driver: nfs}, logs: {}}
secrets: {token: {file: /s/token, environment: TOKEN}}
configs: {conf: {file: /c/b}}
)"));
}

TEST(MergeDocuments, MismatchedKindsAreAnError) {
  EXPECT_EQ(
      merge_error("services: {web: {deploy: {resources: {}}}}", "services: {web: {deploy: [x]}}"),
      "services.web.deploy: cannot merge a sequence into a mapping");
  EXPECT_EQ(merge_error("services: {web: {cap_add: [A]}}", "services: {web: {cap_add: B}}"),
            "services.web.cap_add: cannot merge a string into a sequence");
  EXPECT_EQ(merge_error("[1]", "services: {}"), "a compose file must be a mapping, got a sequence");
}

TEST(MergeDocuments, EmptyOverrideFileKeepsBase) {
  EXPECT_EQ(render_yaml(merge_documents(YAML::Load("services: {web: {image: x}}"), YAML::Node())),
            "{services: {web: {image: x}}}");
  EXPECT_EQ(render_yaml(merge_documents(YAML::Node(), YAML::Node())), "{}");
}

TEST(MergeDocuments, KeyValueMappingOverListIsAnError) {
  EXPECT_EQ(merge_error("services: {web: {environment: [A=1]}}",
                        "services: {web: {environment: {A: \"2\"}}}"),
            "services.web.environment: cannot merge a mapping into a sequence");
}

TEST(MergeDocuments, DottedServiceNamesStillMatchRules) {
  EXPECT_EQ(merged("services: {a.b: {command: [x, y]}}", "services: {a.b: {command: [z]}}"),
            "{services: {a.b: {command: [z]}}}");
}

// ----- replaced values -----------------------------------------------------------------------

TEST(MergeDocuments, CommandEntrypointAndHealthcheckTestAreReplaced) {
  EXPECT_EQ(merged(R"(
services:
  t:
    command: [echo, foo]
    entrypoint: [/bin/sh, -c]
    healthcheck: {test: [CMD, curl, a], interval: 10s}
)",
                   R"(
services:
  t:
    command: [echo, bar]
    entrypoint: [/entry]
    healthcheck: {test: [CMD-SHELL, curl b]}
)"),
            canonical(R"(
services:
  t:
    command: [echo, bar]
    entrypoint: [/entry]
    healthcheck: {test: [CMD-SHELL, curl b], interval: 10s}
)"));
}

TEST(MergeDocuments, ReplacedValuesTakeANullOverride) {
  EXPECT_EQ(
      merged("services: {t: {command: [a], entrypoint: [b]}}", "services: {t: {command: null}}"),
      "{services: {t: {command: ~, entrypoint: [b]}}}");
}

// ----- KEY=VALUE maps --------------------------------------------------------------------------

TEST(MergeDocuments, EnvironmentMergesByKeyAndNullReplaces) {
  EXPECT_EQ(merged("services: {t: {environment: {A: \"1\", B: \"2\", C: ~}}}",
                   "services: {t: {environment: {B: \"3\", A: ~, D: \"4\"}}}"),
            "{services: {t: {environment: {A: ~, B: \"3\", C: ~, D: \"4\"}}}}");
}

TEST(MergeDocuments, KeyValueMapsAllMergeByKey) {
  EXPECT_EQ(merged(R"(
services:
  t:
    labels: {a: "1", b: "2"}
    annotations: {a: "1"}
    sysctls: {net.core.somaxconn: "1024"}
    deploy: {labels: {a: "1"}}
    build: {context: /c, args: {V: "1", W: "1"}, labels: {a: "1"}, additional_contexts: {x: /x}}
volumes: {data: {labels: {a: "1"}}}
)",
                   R"(
services:
  t:
    labels: {b: "3"}
    annotations: {b: "2"}
    sysctls: {net.core.somaxconn: "2048"}
    deploy: {labels: {a: "2"}}
    build: {args: {W: "2", X: ~}, labels: {b: "1"}, additional_contexts: {x: /y}}
volumes: {data: {labels: {a: ~}}}
)"),
            canonical(R"(
services:
  t:
    labels: {a: "1", b: "3"}
    annotations: {a: "1", b: "2"}
    sysctls: {net.core.somaxconn: "2048"}
    deploy: {labels: {a: "2"}}
    build: {context: /c, args: {V: "1", W: "2", X: ~}, labels: {a: "1", b: "1"},
            additional_contexts: {x: /y}}
volumes: {data: {labels: {a: ~}}}
)"));
}

TEST(MergeDocuments, KeyValueListsKeepTheLastEntryForAKey) {
  // Not canonical, but compose-go accepts it: the override's last word wins in place.
  EXPECT_EQ(merged("services: {t: {environment: [MODE=release, X=1]}}",
                   "services: {t: {environment: [MODE=debug, MODE=release, Y]}}"),
            "{services: {t: {environment: [MODE=release, X=1, Y]}}}");
  EXPECT_EQ(merged("services: {t: {labels: [MODE=debug, MODE=release]}}",
                   "services: {t: {labels: [MODE=debug]}}"),
            "{services: {t: {labels: [MODE=debug]}}}");
}

// ----- logging ---------------------------------------------------------------------------------

TEST(MergeDocuments, LoggingSameDriverMergesOptions) {
  EXPECT_EQ(merged(R"(
services:
  t:
    logging: {driver: syslog, options: {syslog-address: "tcp://192.168.0.42:123", tag: a}}
)",
                   R"(
services:
  t:
    logging: {driver: syslog, options: {syslog-address: "tcp://127.0.0.1:123"}}
)"),
            canonical(R"(
services:
  t:
    logging: {driver: syslog, options: {syslog-address: "tcp://127.0.0.1:123", tag: a}}
)"));
}

TEST(MergeDocuments, LoggingDistinctDriverReplacesEverything) {
  EXPECT_EQ(merged("services: {t: {logging: {driver: local, options: {max-size: \"10m\"}}}}",
                   "services: {t: {logging: {driver: syslog, options: {syslog-address: "
                   "\"tcp://127.0.0.1:123\"}}}}"),
            "{services: {t: {logging: {driver: syslog, options: {syslog-address: "
            "\"tcp://127.0.0.1:123\"}}}}}");
}

TEST(MergeDocuments, LoggingWithoutDriverOnEitherSideMerges) {
  EXPECT_EQ(merged("services: {t: {logging: {options: {max-size: \"10m\"}}}}",
                   "services: {t: {logging: {options: {max-file: \"3\"}}}}"),
            "{services: {t: {logging: {options: {max-size: \"10m\", max-file: \"3\"}}}}}");
  EXPECT_EQ(merged("services: {t: {logging: {driver: local, options: {max-size: \"10m\"}}}}",
                   "services: {t: {logging: {options: {max-file: \"3\"}}}}"),
            "{services: {t: {logging: {driver: local, options: {max-size: \"10m\", "
            "max-file: \"3\"}}}}}");
  EXPECT_EQ(merged("services: {t: {logging: {options: {max-size: \"10m\"}}}}",
                   "services: {t: {logging: {driver: json-file, options: {max-file: \"3\"}}}}"),
            "{services: {t: {logging: {options: {max-size: \"10m\", max-file: \"3\"}, "
            "driver: json-file}}}}");
}

// ----- build, depends_on, networks, ulimits ----------------------------------------------------

TEST(MergeDocuments, BuildMergesAsAMapping) {
  EXPECT_EQ(merged(R"(
services:
  t:
    build: {context: /a, dockerfile: Dockerfile, args: {A: "1"}, tags: ["x:1"]}
)",
                   R"(
services:
  t:
    build: {context: /b, args: {B: "2"}, tags: ["x:2"], dockerfile_inline: "FROM x"}
)"),
            canonical(R"(
services:
  t:
    build: {context: /b, dockerfile: Dockerfile, args: {A: "1", B: "2"}, tags: ["x:1", "x:2"],
            dockerfile_inline: "FROM x"}
)"));
}

TEST(MergeDocuments, BuildStringStandsForContext) {
  EXPECT_EQ(
      merged("services: {t: {build: {context: /a, target: dev}}}", "services: {t: {build: /b}}"),
      "{services: {t: {build: {context: /b, target: dev}}}}");
}

TEST(MergeDocuments, DependsOnMergesPerService) {
  EXPECT_EQ(merged(R"(
services:
  t:
    depends_on:
      db: {condition: service_healthy, required: true}
      cache: {condition: service_started, required: true}
)",
                   R"(
services:
  t:
    depends_on:
      db: {required: false, restart: true}
      queue: {condition: service_started, required: true}
)"),
            canonical(R"(
services:
  t:
    depends_on:
      db: {condition: service_healthy, required: false, restart: true}
      cache: {condition: service_started, required: true}
      queue: {condition: service_started, required: true}
)"));
}

TEST(MergeDocuments, NullOverrideOfMappingLikeAttributesKeepsBase) {
  for (const std::string attribute : {"networks", "models", "depends_on"}) {
    EXPECT_EQ(merged("services: {t: {image: foo, " + attribute + ": {runtime: {a: b}}}}",
                     "services: {t: {" + attribute + ": null}}"),
              "{services: {t: {image: foo, " + attribute + ": {runtime: {a: b}}}}}")
        << attribute;
    EXPECT_EQ(merged("services: {t: {image: foo, " + attribute + ": null}}",
                     "services: {t: {" + attribute + ": {runtime: {a: b}}}}"),
              "{services: {t: {image: foo, " + attribute + ": {runtime: {a: b}}}}}")
        << attribute;
  }
}

TEST(MergeDocuments, ListFormsOfMappingAttributesAreConverted) {
  EXPECT_EQ(merged("services: {t: {networks: [front, back], depends_on: [db]}}",
                   "services: {t: {networks: {front: {aliases: [f]}}, depends_on: [cache]}}"),
            "{services: {t: {networks: {front: {aliases: [f]}, back: ~}, depends_on: "
            "{db: {condition: service_started, required: true}, "
            "cache: {condition: service_started, required: true}}}}}");
}

TEST(MergeDocuments, ServiceNetworksMergeAndNullKeepsSettings) {
  EXPECT_EQ(merged(R"(
services:
  t:
    networks:
      network1: {aliases: [alias1, alias2], link_local_ips: [57.123.22.11, 57.123.22.13]}
      network2: {aliases: [alias1, alias3]}
      network3: ~
)",
                   R"(
services:
  t:
    networks:
      network1: {aliases: [alias3, alias1], link_local_ips: [57.123.22.12, 57.123.22.13]}
      network2: ~
      network3: {priority: 10}
      network4: ~
)"),
            canonical(R"(
services:
  t:
    networks:
      network1:
        aliases: [alias1, alias2, alias3]
        link_local_ips: [57.123.22.11, 57.123.22.13, 57.123.22.12]
      network2: {aliases: [alias1, alias3]}
      network3: {priority: 10}
      network4: ~
)"));
}

TEST(MergeDocuments, UlimitsMergePerLimit) {
  EXPECT_EQ(merged(R"(
services:
  t:
    ulimits:
      nofile: {soft: 20000, hard: 40000}
      locks: {soft: 20000, hard: 40000}
      short_over_long: {soft: 100, hard: 200}
      long_over_short: 100
      short_over_short: 100
)",
                   R"(
services:
  t:
    ulimits:
      nofile: {soft: 10000, hard: 40000}
      locks: {hard: 65535}
      short_over_long: 500
      long_over_short: {soft: 500}
      short_over_short: 500
      nproc: {soft: 65535, hard: 65535}
)"),
            canonical(R"(
services:
  t:
    ulimits:
      nofile: {soft: 10000, hard: 40000}
      locks: {soft: 20000, hard: 65535}
      short_over_long: 500
      long_over_short: {soft: 500}
      short_over_short: 500
      nproc: {soft: 65535, hard: 65535}
)"));
}

// ----- string lists ----------------------------------------------------------------------------

TEST(MergeDocuments, ExtraHostsAppendSkippingIdenticalEntries) {
  EXPECT_EQ(merged("services: {t: {extra_hosts: [example.com=1.2.3.4, a=1.1.1.1]}}",
                   "services: {t: {extra_hosts: [localhost=127.0.0.1, a=1.1.1.1, a=2.2.2.2]}}"),
            "{services: {t: {extra_hosts: [example.com=1.2.3.4, a=1.1.1.1, "
            "localhost=127.0.0.1, a=2.2.2.2]}}}");
}

TEST(MergeDocuments, StringListsAcceptALoneString) {
  EXPECT_EQ(merged("services: {t: {dns: 8.8.8.8, tmpfs: [/run], dns_search: [a.example]}}",
                   "services: {t: {dns: [9.9.9.9], tmpfs: /tmp, dns_opt: [use-vc]}}"),
            "{services: {t: {dns: [8.8.8.8, 9.9.9.9], tmpfs: [/run, /tmp], "
            "dns_search: [a.example], dns_opt: [use-vc]}}}");
}

TEST(MergeDocuments, IpamConfigMergesBySubnet) {
  EXPECT_EQ(merged(R"(
networks:
  n:
    ipam:
      driver: default
      config: [{subnet: 10.0.0.0/24, gateway: 10.0.0.1, ip_range: 10.0.0.0/25}]
)",
                   R"(
networks:
  n:
    ipam:
      config: [{subnet: 10.0.0.0/24, gateway: 10.0.0.254}, {subnet: 10.1.0.0/24}]
)"),
            canonical(R"(
networks:
  n:
    ipam:
      driver: default
      config: [{subnet: 10.0.0.0/24, gateway: 10.0.0.254, ip_range: 10.0.0.0/25},
               {subnet: 10.1.0.0/24}]
)"));
}

// ----- !reset and !override ----------------------------------------------------------------------

TEST(MergeDocuments, ResetRemovesKeysAtAnyDepth) {
  EXPECT_EQ(merged(R"(
services:
  web: {image: nginx, ports: [{target: 80, published: "8080"}], environment: {A: "1", B: "2"},
        build: {context: /c, args: {X: "1", Y: "2"}}}
  worker: {image: w}
volumes: {data: {}}
x-meta: {a: 1}
)",
                   R"(
services:
  web:
    ports: !reset []
    environment: {A: !reset}
    build: {args: {Y: !reset ~}}
  worker: !reset
volumes: !reset {}
x-meta: {a: !reset null}
)"),
            canonical(R"(
services:
  web: {image: nginx, environment: {B: "2"}, build: {context: /c, args: {X: "1"}}}
x-meta: {}
)"));
}

TEST(MergeDocuments, ResetOfAMissingKeyLeavesNothing) {
  EXPECT_EQ(merged("services: {web: {image: nginx}}",
                   "services: {web: {command: !reset [], healthcheck: {test: !reset []}}, "
                   "new: {image: x, dns: !reset [1.1.1.1]}}"),
            "{services: {web: {image: nginx, healthcheck: {}}, new: {image: x}}}");
}

TEST(MergeDocuments, OverrideReplacesWithoutMerging) {
  EXPECT_EQ(merged(R"(
services:
  web:
    image: nginx
    ports: [{target: 80, published: "8080"}]
    environment: {A: "1", B: "2"}
    build: {context: /c, args: {X: "1"}}
    logging: {driver: local, options: {a: "1"}}
    command: [a]
)",
                   R"(
services:
  web:
    ports: !override [{target: 81, published: "8081"}]
    environment: !override {C: "3"}
    build: {args: !override {Z: "9"}}
    logging: {options: !override {b: "2"}}
    command: !override
    image: !override httpd
)"),
            canonical(R"(
services:
  web:
    image: httpd
    ports: [{target: 81, published: "8081"}]
    environment: {C: "3"}
    build: {context: /c, args: {Z: "9"}}
    logging: {driver: local, options: {b: "2"}}
    command: ~
)"));
}

TEST(MergeDocuments, OverrideOfAWholeService) {
  EXPECT_EQ(merged("services: {web: {image: nginx, ports: [{target: 80}]}, db: {image: pg}}",
                   "services: {web: !override {image: httpd}}"),
            "{services: {web: {image: httpd}, db: {image: pg}}}");
}

TEST(MergeDocuments, TagsInsideNewValuesAreConsumed) {
  EXPECT_EQ(merged("services: {}",
                   "services: {web: {image: !override nginx, environment: {A: \"1\", B: !reset},"
                   " networks: !override {front: ~}}}"),
            "{services: {web: {image: nginx, environment: {A: \"1\"}, networks: {front: ~}}}}");
}

TEST(MergeDocuments, TagsOnSequenceItemsAreStrippedButItemsKept) {
  // compose-go does not remove sequence items (its reset processor skips them).
  EXPECT_EQ(merged("services: {web: {dns: [1.1.1.1]}}",
                   "services: {web: {dns: [!reset 8.8.8.8, !override 9.9.9.9]}}"),
            "{services: {web: {dns: [1.1.1.1, 8.8.8.8, 9.9.9.9]}}}");
}

TEST(MergeDocuments, OverEmptyBaseJustStripsTags) {
  const YAML::Node doc = YAML::Load(R"(
services:
  web:
    image: !override nginx
    ports: !override [{target: 80}]
    environment: {A: !reset "1", B: "2"}
    volumes: !reset []
networks: !override {front: {}}
)");
  EXPECT_EQ(render_yaml(merge_documents(YAML::Node(YAML::NodeType::Map), doc)),
            "{services: {web: {image: nginx, ports: [{target: 80}], environment: {B: \"2\"}}}, "
            "networks: {front: {}}}");
}

TEST(MergeDocuments, TagsLeftInTheBaseAreConsumedToo) {
  // An extended service read from another file may still carry its own tags.
  EXPECT_EQ(merged("services: {web: {image: !override a, user: !reset root, dns: [x]}}",
                   "services: {web: {dns: !reset []}}"),
            "{services: {web: {image: a}}}");
}

// ----- copies ----------------------------------------------------------------------------------

TEST(MergeDocuments, InputsAreUntouched) {
  const char* base_text = R"(
services:
  web: {image: nginx, ports: [{target: 80, published: "8080"}], environment: {A: "1"}}
volumes: {data: !reset {}}
)";
  const char* over_text = R"(
services:
  web: {ports: [{target: 80, published: "8080", host_ip: 127.0.0.1}], environment: {A: !reset}}
  db: {image: pg, command: !override [run]}
)";
  const YAML::Node base = YAML::Load(base_text);
  const YAML::Node over = YAML::Load(over_text);
  const std::string base_before = render_yaml(base);
  const std::string over_before = render_yaml(over);
  YAML::Node out = merge_documents(base, over);
  enforce_unicity(out);
  EXPECT_EQ(render_yaml(base), base_before);
  EXPECT_EQ(render_yaml(over), over_before);
}

TEST(MergeDocuments, ResultSharesNoNodeWithTheInputs) {
  const YAML::Node base = YAML::Load("services: {web: {image: nginx, dns: [a], user: root}}");
  const YAML::Node over = YAML::Load("services: {db: {image: pg, dns: [b]}}");
  YAML::Node out = merge_documents(base, over);
  out["services"]["web"]["image"] = "changed";
  out["services"]["web"]["dns"].push_back("c");
  out["services"]["db"]["dns"].push_back("d");
  out["services"]["db"]["image"] = "changed";
  EXPECT_EQ(render_yaml(base), "{services: {web: {image: nginx, dns: [a], user: root}}}");
  EXPECT_EQ(render_yaml(over), "{services: {db: {image: pg, dns: [b]}}}");
}

TEST(MergeDocuments, AliasesInTheBaseBecomeIndependentCopies) {
  const YAML::Node base = YAML::Load(R"(
x-env: &env {A: "1"}
services:
  a: {environment: *env}
  b: {environment: *env}
)");
  YAML::Node out = merge_documents(base, YAML::Load("services: {a: {environment: {B: \"2\"}}}"));
  out["services"]["b"]["environment"]["C"] = "3";
  EXPECT_EQ(render_yaml(out),
            "{x-env: {A: \"1\"}, services: {a: {environment: {A: \"1\", B: \"2\"}}, "
            "b: {environment: {A: \"1\", C: 3}}}}");
  EXPECT_EQ(render_yaml(base["x-env"]), "{A: \"1\"}");
}

// ----- extends ---------------------------------------------------------------------------------

TEST(MergeServices, LocalServiceOverBaseService) {
  const YAML::Node base = YAML::Load(R"(
image: base
command: [run, base]
environment: {A: "1", B: "2"}
ports: [{target: 80, published: "8080"}]
logging: {driver: local, options: {max-size: "1m"}}
)");
  const YAML::Node local = YAML::Load(R"(
command: [run, local]
environment: {B: "3"}
ports: [{target: 81}]
logging: {driver: syslog}
user: !reset
extends: {service: base}
)");
  EXPECT_EQ(render_yaml(merge_services(base, local)), canonical(R"(
image: base
command: [run, local]
environment: {A: "1", B: "3"}
ports: [{target: 80, published: "8080"}, {target: 81}]
logging: {driver: syslog}
extends: {service: base}
)"));
}

TEST(MergeServices, ResetAndOverrideApply) {
  EXPECT_EQ(render_yaml(merge_services(YAML::Load("{image: a, dns: [x], cap_add: [A]}"),
                                       YAML::Load("{dns: !reset [], cap_add: !override [B]}"))),
            "{image: a, cap_add: [B]}");
}

TEST(MergeServices, ErrorsNameKeysWithinTheService) {
  try {
    merge_services(YAML::Load("{build: {context: /a}}"), YAML::Load("{build: [x]}"));
    FAIL() << "no error";
  } catch (const Error& e) {
    EXPECT_STREQ(e.what(), "build: expected a mapping or a string, got a sequence");
  }
  try {
    merge_services(YAML::Load("[a]"), YAML::Load("{image: x}"));
    FAIL() << "no error";
  } catch (const Error& e) {
    EXPECT_STREQ(e.what(), "a service definition must be a mapping, got a sequence");
  }
}

// ----- unicity -----------------------------------------------------------------------------------

TEST(EnforceUnicity, EnvironmentListKeepsLaterEntryInPlace) {
  EXPECT_EQ(unique(R"(
services:
  test:
    environment: [FOO=BAR, BAR=QIX, QIX=, ZOT, FOO=ZOT, QIX, ZOT=]
)"),
            "{services: {test: {environment: [FOO=ZOT, BAR=QIX, QIX, ZOT=]}}}");
}

TEST(EnforceUnicity, VolumesByTarget) {
  EXPECT_EQ(unique(R"(
services:
  test:
    volumes:
      - {type: bind, source: /p, target: /foo}
      - {type: volume, source: foo, target: /bar}
      - {type: volume, source: src, target: /foo, read_only: true}
)"),
            canonical(R"(
services:
  test:
    volumes:
      - {type: volume, source: src, target: /foo, read_only: true}
      - {type: volume, source: foo, target: /bar}
)"));
}

TEST(EnforceUnicity, PortsByHostIpPublishedTargetProtocol) {
  EXPECT_EQ(unique(R"(
services:
  test:
    ports:
      - {target: 80, host_ip: 127.0.0.1, published: "8080", protocol: tcp, mode: host}
      - {target: 81, published: "8080", protocol: tcp}
      - {target: 80, host_ip: 127.0.0.2, published: "8080", protocol: tcp}
      - {target: 81, published: "8080", protocol: tcp, mode: ingress}
      - {target: 81, published: "8080", protocol: udp}
      - {target: 81, host_ip: 0.0.0.0, published: "8080"}
      - {target: 82}
      - {target: 82, mode: ingress}
)"),
            canonical(R"(
services:
  test:
    ports:
      - {target: 80, host_ip: 127.0.0.1, published: "8080", protocol: tcp, mode: host}
      - {target: 81, host_ip: 0.0.0.0, published: "8080"}
      - {target: 80, host_ip: 127.0.0.2, published: "8080", protocol: tcp}
      - {target: 81, published: "8080", protocol: udp}
      - {target: 82, mode: ingress}
)"));
}

TEST(EnforceUnicity, ShortPortStringsByValue) {
  EXPECT_EQ(unique("services: {t: {ports: [\"9080:80\", \"9081:81\", \"9080:80\", \"5000\"]}}"),
            "{services: {t: {ports: [\"9080:80\", \"9081:81\", \"5000\"]}}}");
}

TEST(EnforceUnicity, PortPublishedByTwoFilesIsKeptOnce) {
  EXPECT_EQ(merged_unique(R"(
services:
  web:
    ports:
      - {mode: ingress, target: 80, published: "8080", protocol: tcp}
      - {mode: ingress, target: 443, published: "8443", protocol: tcp}
)",
                          R"(
services:
  web:
    ports:
      - {mode: host, target: 80, published: "8080", protocol: tcp}
      - {mode: ingress, target: 443, published: "8443", protocol: tcp}
      - {mode: ingress, target: 9000, protocol: tcp}
)"),
            canonical(R"(
services:
  web:
    ports:
      - {mode: host, target: 80, published: "8080", protocol: tcp}
      - {mode: ingress, target: 443, published: "8443", protocol: tcp}
      - {mode: ingress, target: 9000, protocol: tcp}
)"));
}

TEST(EnforceUnicity, VolumeOverriddenByTarget) {
  EXPECT_EQ(merged_unique(R"(
services:
  web:
    volumes:
      - {type: bind, source: /p/data, target: /data, bind: {create_host_path: true}}
      - {type: volume, source: logs, target: /logs, volume: {}}
)",
                          R"(
services:
  web:
    volumes:
      - {type: volume, source: data, target: /data, volume: {nocopy: true}}
      - {type: tmpfs, target: /tmp}
)"),
            canonical(R"(
services:
  web:
    volumes:
      - {type: volume, source: data, target: /data, volume: {nocopy: true}}
      - {type: volume, source: logs, target: /logs, volume: {}}
      - {type: tmpfs, target: /tmp}
)"));
}

TEST(EnforceUnicity, SecretsAndConfigsByTargetOrSource) {
  EXPECT_EQ(unique(R"(
services:
  t:
    secrets:
      - {source: a}
      - {source: b, target: /run/secrets/a, mode: "0400"}
      - {source: c, target: /etc/c}
    configs:
      - {source: a}
      - {source: b, target: /a}
      - {source: a, target: /etc/a}
)"),
            canonical(R"(
services:
  t:
    secrets:
      - {source: b, target: /run/secrets/a, mode: "0400"}
      - {source: c, target: /etc/c}
    configs:
      - {source: b, target: /a}
      - {source: a, target: /etc/a}
)"));
}

TEST(EnforceUnicity, EnvFilesDevicesAndValueLists) {
  EXPECT_EQ(unique(R"(
services:
  t:
    env_file:
      [{path: /p/a.env, required: true}, {path: /p/b.env}, {path: /p/a.env, required: false}]
    devices:
      - {source: /dev/a, target: /dev/x, permissions: rwm}
      - {source: /dev/b, target: /dev/x, permissions: r}
    expose: ["80", "81", "80"]
    cap_add: [A, B, A]
    cap_drop: [C, C]
    dns: [1.1.1.1, 8.8.8.8, 1.1.1.1]
    dns_search: [a, a]
    profiles: [dev, dev]
    links: [db, db]
    tmpfs: [/run, /run]
    networks: {front: {aliases: [x, y, x], link_local_ips: ["fe80::1", "fe80::1"]}}
    build: {tags: ["a:1", "a:1"]}
)"),
            canonical(R"(
services:
  t:
    env_file: [{path: /p/a.env, required: false}, {path: /p/b.env}]
    devices: [{source: /dev/b, target: /dev/x, permissions: r}]
    expose: ["80", "81"]
    cap_add: [A, B]
    cap_drop: [C]
    dns: [1.1.1.1, 8.8.8.8]
    dns_search: [a]
    profiles: [dev]
    links: [db]
    tmpfs: [/run]
    networks: {front: {aliases: [x, y], link_local_ips: ["fe80::1"]}}
    build: {tags: ["a:1"]}
)"));
}

TEST(EnforceUnicity, OtherSequencesAndMappingsAreLeftAlone) {
  const char* text = R"(
services:
  t:
    command: [a, a]
    extra_hosts: [a=1, a=1]
    environment: {A: "1"}
    deploy: {placement: {constraints: [x, x]}}
x-list: {ports: [1, 1]}
)";
  EXPECT_EQ(unique(text), canonical(text));
}

TEST(EnforceUnicity, EntriesWithoutTheirKeyAreAnError) {
  EXPECT_EQ(unicity_error("services: {web: {volumes: [{type: bind, target: /a}, {type: tmpfs}]}}"),
            "services.web.volumes[1]: volume has no target");
  EXPECT_EQ(unicity_error("services: {web: {ports: [{published: \"80\"}]}}"),
            "services.web.ports[0]: port has no target");
  EXPECT_EQ(unicity_error("services: {web: {env_file: [{required: true}]}}"),
            "services.web.env_file[0]: env_file entry has no path");
  EXPECT_EQ(unicity_error("services: {web: {cap_add: [{a: b}]}}"),
            "services.web.cap_add[0]: expected a KEY=VALUE string, got a mapping");
}

}  // namespace
}  // namespace berth::compose
