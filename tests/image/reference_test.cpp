#include "image/reference.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "util/error.h"

namespace berth::image {
namespace {

const std::string k_hex = "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef";
const std::string k_digest = "sha256:" + k_hex;

struct Valid {
  std::string text;
  std::string domain;
  std::string path;
  std::string tag;
  std::string digest;
  std::string familiar;
};

std::vector<Valid> valid_cases() {
  return {
      {"redis", "docker.io", "library/redis", "latest", "", "redis:latest"},
      {"redis:7", "docker.io", "library/redis", "7", "", "redis:7"},
      {"team/app", "docker.io", "team/app", "latest", "", "team/app:latest"},
      {"a/b/c:1", "docker.io", "a/b/c", "1", "", "a/b/c:1"},
      {"docker.io/redis", "docker.io", "library/redis", "latest", "", "redis:latest"},
      {"docker.io/library/redis:7", "docker.io", "library/redis", "7", "", "redis:7"},
      {"index.docker.io/team/app:2", "docker.io", "team/app", "2", "", "team/app:2"},
      {"index.docker.io/redis", "docker.io", "library/redis", "latest", "", "redis:latest"},
      {"library/a/b", "docker.io", "library/a/b", "latest", "", "library/a/b:latest"},
      {"localhost/x", "localhost", "x", "latest", "", "localhost/x:latest"},
      {"localhost:5000/team/app:1.2", "localhost:5000", "team/app", "1.2", "",
       "localhost:5000/team/app:1.2"},
      // Without a '/', "localhost:5000" is the repository "localhost" with tag "5000".
      {"localhost:5000", "docker.io", "library/localhost", "5000", "", "localhost:5000"},
      {"127.0.0.1:5000/x", "127.0.0.1:5000", "x", "latest", "", "127.0.0.1:5000/x:latest"},
      {"[::1]:5000/x", "[::1]:5000", "x", "latest", "", "[::1]:5000/x:latest"},
      {"[fe80::1]/x:v", "[fe80::1]", "x", "v", "", "[fe80::1]/x:v"},
      {"ghcr.io/org/tool:v1.0-rc_2", "ghcr.io", "org/tool", "v1.0-rc_2", "",
       "ghcr.io/org/tool:v1.0-rc_2"},
      {"UPPER.io/x", "UPPER.io", "x", "latest", "", "UPPER.io/x:latest"},
      {"my-registry.example.com:443/a", "my-registry.example.com:443", "a", "latest", "",
       "my-registry.example.com:443/a:latest"},
      {"x@" + k_digest, "docker.io", "library/x", "", k_digest, "x@" + k_digest},
      {"x:7@" + k_digest, "docker.io", "library/x", "7", k_digest, "x:7@" + k_digest},
      {"a_b__c--d/f.g---h", "docker.io", "a_b__c--d/f.g---h", "latest", "",
       "a_b__c--d/f.g---h:latest"},
      // A '.' in the first component makes it a domain, which may not hold '_'.
      {"team/a_b.c", "docker.io", "team/a_b.c", "latest", "", "team/a_b.c:latest"},
      {"x:_Under.Score-1", "docker.io", "library/x", "_Under.Score-1", "", "x:_Under.Score-1"},
      {"x:" + std::string(128, 't'), "docker.io", "library/x", std::string(128, 't'), "",
       "x:" + std::string(128, 't')},
      // 255 characters in all: "localhost/" and 245 more.
      {"localhost/" + std::string(245, 'a'), "localhost", std::string(245, 'a'), "latest", "",
       "localhost/" + std::string(245, 'a') + ":latest"},
  };
}

TEST(Reference, ParsesAndNormalises) {
  for (const auto& c : valid_cases()) {
    SCOPED_TRACE(c.text);
    const Reference reference = parse_reference(c.text);
    EXPECT_EQ(reference.domain, c.domain);
    EXPECT_EQ(reference.path, c.path);
    EXPECT_EQ(reference.tag, c.tag);
    EXPECT_EQ(reference.digest, c.digest);
    EXPECT_EQ(reference.familiar(), c.familiar);
    // The stored form parses back to the same reference.
    EXPECT_EQ(parse_reference(reference.str()), reference);
  }
}

struct Invalid {
  std::string text;
  std::string error;
};

std::string invalid(const std::string& text) {
  return "invalid reference format: \"" + text + "\"";
}

std::string uppercase(const std::string& text) {
  return "invalid reference format: repository name must be lowercase: \"" + text + "\"";
}

std::vector<Invalid> invalid_cases() {
  const std::string too_long_text = "localhost/" + std::string(246, 'a');
  const std::string too_long =
      "invalid reference format: repository name must not be more "
      "than 255 characters: \"" +
      too_long_text + "\"";
  // 256 characters typed, but on docker.io the stored name is longer still.
  const std::string long_official(256, 'a');
  return {
      {"", invalid("")},
      {"Redis", uppercase("Redis")},
      {"redis:7-Alpine/x", invalid("redis:7-Alpine/x")},
      {"team/App:1", uppercase("team/App:1")},
      {"UPPER.io/X", uppercase("UPPER.io/X")},
      {"Team/app", uppercase("Team/app")},
      {"Redis:", invalid("Redis:")},
      {"redis:", invalid("redis:")},
      {":tag", invalid(":tag")},
      {"redis:-7", invalid("redis:-7")},
      {"redis:a+b", invalid("redis:a+b")},
      {"x:" + std::string(129, 't'), invalid("x:" + std::string(129, 't'))},
      {"x@sha256:short", invalid("x@sha256:short")},
      {"x@sha512:" + k_hex, invalid("x@sha512:" + k_hex)},
      {"x@" + k_digest + "x", invalid("x@" + k_digest + "x")},
      {"x@", invalid("x@")},
      {"a//b", invalid("a//b")},
      {"a/", invalid("a/")},
      {"/a", invalid("/a")},
      {"a..b", invalid("a..b")},
      {"a.-b", invalid("a.-b")},
      {"a___b", invalid("a___b")},
      {"-a", invalid("-a")},
      {"a-", invalid("a-")},
      {"a b", invalid("a b")},
      {"localhost:port/x", invalid("localhost:port/x")},
      {"localhost:/x", invalid("localhost:/x")},
      {"-bad.io/x", invalid("-bad.io/x")},
      {"bad_host.io/x", invalid("bad_host.io/x")},
      {"a_b.c/x", invalid("a_b.c/x")},
      {"a..io/x", invalid("a..io/x")},
      {"[::1/x", invalid("[::1/x")},
      {"[]:5000/x", invalid("[]:5000/x")},
      {"[::g]/x", invalid("[::g]/x")},
      {"registry.io/", invalid("registry.io/")},
      {too_long_text, too_long},
      {long_official,
       "invalid reference format: repository name must not be more than 255 "
       "characters: \"" +
           long_official + "\""},
      {k_hex,
       "invalid repository name \"" + k_hex + "\", cannot specify 64-byte hexadecimal strings"},
  };
}

TEST(Reference, RejectsMalformed) {
  for (const auto& c : invalid_cases()) {
    SCOPED_TRACE(c.text);
    try {
      parse_reference(c.text);
      ADD_FAILURE() << "accepted";
    } catch (const Error& e) {
      EXPECT_EQ(std::string(e.what()), c.error);
    }
  }
}

TEST(Reference, NameKeepsTagAndDigestEmpty) {
  const Reference name = parse_reference_name("redis");
  EXPECT_EQ(name.str(), "docker.io/library/redis");
  EXPECT_EQ(name.familiar(), "redis");
  EXPECT_EQ(parse_reference_name("redis:7").tag, "7");
  EXPECT_EQ(parse_reference_name("x@" + k_digest).str(), "docker.io/library/x@" + k_digest);
}

TEST(Reference, StringForms) {
  const Reference official = parse_reference("redis:7");
  EXPECT_EQ(official.repository(), "docker.io/library/redis");
  EXPECT_EQ(official.str(), "docker.io/library/redis:7");
  EXPECT_EQ(official.familiar_name(), "redis");

  const Reference team = parse_reference("team/app:1.2");
  EXPECT_EQ(team.str(), "docker.io/team/app:1.2");
  EXPECT_EQ(team.familiar_name(), "team/app");

  const Reference local = parse_reference("localhost:5000/team/app:1.2@" + k_digest);
  EXPECT_EQ(local.str(), "localhost:5000/team/app:1.2@" + k_digest);
  EXPECT_EQ(local.familiar(), "localhost:5000/team/app:1.2@" + k_digest);
  EXPECT_EQ(local.familiar_name(), "localhost:5000/team/app");
}

TEST(Reference, RegistryHost) {
  EXPECT_EQ(registry_host("docker.io"), "registry-1.docker.io");
  EXPECT_EQ(registry_host("localhost:5000"), "localhost:5000");
  EXPECT_EQ(registry_host("ghcr.io"), "ghcr.io");
}

}  // namespace
}  // namespace berth::image
