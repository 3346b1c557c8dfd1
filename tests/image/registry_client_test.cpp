#include "image/registry_client.h"

#include <sys/stat.h>

#include <atomic>
#include <cstdlib>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "image/digest.h"
#include "image/registry_auth.h"
#include "tests/support/registry_server.h"
#include "tests/support/run_berth.h"
#include "util/base64.h"
#include "util/error.h"

namespace berth::image {
namespace {

using berth::testing::CannedResponse;
using berth::testing::RegistryAuth;
using berth::testing::RegistryServer;
using berth::testing::RegistryUser;
using berth::testing::SeenRequest;
using berth::testing::TempDir;
using berth::testing::TinyHttpServer;
using ::testing::StartsWith;

/// Sets an environment variable for the life of the object.
class ScopedEnv {
 public:
  ScopedEnv(const char* name, const std::string& value) : m_name(name) {
    if (const char* old = std::getenv(name)) m_old = old;
    ::setenv(name, value.c_str(), 1);
  }
  ~ScopedEnv() {
    if (m_old) {
      ::setenv(m_name, m_old->c_str(), 1);
    } else {
      ::unsetenv(m_name);
    }
  }
  ScopedEnv(const ScopedEnv&) = delete;
  ScopedEnv& operator=(const ScopedEnv&) = delete;

 private:
  const char* m_name;
  std::optional<std::string> m_old;
};

/// The message of the berth::Error `action` throws; fails the test when it throws nothing.
template <typename Action>
std::string error_of(Action&& action) {
  try {
    action();
  } catch (const Error& e) {
    return e.what();
  }
  ADD_FAILURE() << "no berth::Error thrown";
  return {};
}

RegistryOptions options_with(Credentials credentials = {}) {
  RegistryOptions options;
  options.credentials = std::move(credentials);
  options.retry_delay = std::chrono::milliseconds(1);
  return options;
}

/// A blob kept in a temp file, as the store would hand it to put_blob.
struct TestBlob {
  std::string content;
  Digest digest;
  std::string path;
};

TestBlob make_blob(const TempDir& dir, const std::string& content) {
  const Digest digest = Digest::of(content);
  return {content, digest, dir.write(digest.hex(), content)};
}

std::string download(RegistryClient& client, const std::string& repository, const TestBlob& blob) {
  std::string received;
  client.get_blob(
      repository,
      Descriptor{"application/octet-stream",
                 blob.digest,
                 static_cast<std::int64_t>(blob.content.size()),
                 {},
                 {}},
      [&](const void* data, std::size_t size) {
        received.append(static_cast<const char*>(data), size);
      },
      [&] { received.clear(); });
  return received;
}

void upload(RegistryClient& client, const std::string& repository, const TestBlob& blob) {
  client.put_blob(repository, blob.digest, static_cast<std::int64_t>(blob.content.size()),
                  blob.path);
}

/// An OCI image manifest naming a config and one layer.
std::string manifest_json(const TestBlob& config, const TestBlob& layer) {
  const nlohmann::ordered_json manifest = {
      {"schemaVersion", 2},
      {"mediaType", media::oci_manifest},
      {"config",
       {{"mediaType", media::oci_config},
        {"digest", config.digest.str()},
        {"size", config.content.size()}}},
      {"layers",
       {{{"mediaType", media::oci_layer_gzip},
         {"digest", layer.digest.str()},
         {"size", layer.content.size()}}}},
  };
  return manifest.dump();
}

// --- transport choice, berth's config ------------------------------------------------------

TEST(RegistrySchemeTest, LoopbackAndListedRegistriesArePlainHttp) {
  const std::vector<std::string> none;
  EXPECT_EQ(registry_scheme("localhost", none), "http");
  EXPECT_EQ(registry_scheme("localhost:5000", none), "http");
  EXPECT_EQ(registry_scheme("127.0.0.1:5000", none), "http");
  EXPECT_EQ(registry_scheme("127.3.2.1", none), "http");
  EXPECT_EQ(registry_scheme("[::1]:5000", none), "http");
  EXPECT_EQ(registry_scheme("docker.io", none), "https");
  EXPECT_EQ(registry_scheme("ghcr.io", none), "https");
  EXPECT_EQ(registry_scheme("128.0.0.1:5000", none), "https");
  EXPECT_EQ(registry_scheme("127.0.0.1.example.com:5000", none), "https");
  EXPECT_EQ(registry_scheme("localhost.example.com", none), "https");

  const std::vector<std::string> insecure = {"reg.lan:5000", "build.lan"};
  EXPECT_EQ(registry_scheme("reg.lan:5000", insecure), "http");
  EXPECT_EQ(registry_scheme("reg.lan:5001", insecure), "https");
  EXPECT_EQ(registry_scheme("reg.lan", insecure), "https");
  EXPECT_EQ(registry_scheme("build.lan", insecure), "http");
  EXPECT_EQ(registry_scheme("build.lan:443", insecure), "http");
}

TEST(InsecureRegistriesTest, ReadsBerthConfigAndNamesItWhenMalformed) {
  const TempDir dir;
  {
    const ScopedEnv env("BERTH_CONFIG", dir.path() + "/missing.json");
    EXPECT_TRUE(insecure_registries().empty());
  }
  {
    const std::string path =
        dir.write("good.json", R"({"insecure-registries":["reg.lan:5000","10.0.0.2"],"x":1})");
    const ScopedEnv env("BERTH_CONFIG", path);
    EXPECT_EQ(insecure_registries(), (std::vector<std::string>{"reg.lan:5000", "10.0.0.2"}));
    EXPECT_EQ(RegistryClient("reg.lan:5000", options_with()).base_url(), "http://reg.lan:5000");
    EXPECT_EQ(RegistryClient("reg.lan:5001", options_with()).base_url(), "https://reg.lan:5001");
  }
  {
    const std::string path = dir.write("bad.json", "{");
    const ScopedEnv env("BERTH_CONFIG", path);
    EXPECT_EQ(error_of([] { insecure_registries(); }),
              path +
                  ": invalid JSON: parse error at line 1, column 2: syntax error while "
                  "parsing object key - unexpected end of input; expected string literal");
  }
  {
    const std::string path = dir.write("wrong.json", R"({"insecure-registries":"reg.lan"})");
    const ScopedEnv env("BERTH_CONFIG", path);
    EXPECT_EQ(error_of([] { insecure_registries(); }),
              path + ": \"insecure-registries\" must be a list of strings");
  }
}

TEST(RegistryClientTest, DockerHubIsServedByRegistry1) {
  const TempDir dir;
  const ScopedEnv env("BERTH_CONFIG", dir.path() + "/missing.json");
  EXPECT_EQ(RegistryClient("docker.io", options_with()).base_url(), "https://registry-1.docker.io");
  EXPECT_EQ(RegistryClient("localhost:5000", options_with()).base_url(), "http://localhost:5000");
}

// --- challenges -------------------------------------------------------------------------

TEST(ChallengeTest, ParsesDockerStyleChallenges) {
  struct Case {
    std::string header;
    std::vector<Challenge> expected;
  };
  const std::vector<Case> cases = {
      {R"(Bearer realm="https://auth.docker.io/token",service="registry.docker.io",scope="repository:library/redis:pull")",
       {{"bearer",
         {{"realm", "https://auth.docker.io/token"},
          {"service", "registry.docker.io"},
          {"scope", "repository:library/redis:pull"}}}}},
      {R"(Basic realm="Registry Realm")", {{"basic", {{"realm", "Registry Realm"}}}}},
      {R"(basic REALM=plain)", {{"basic", {{"realm", "plain"}}}}},
      {R"(Bearer realm="a,b", scope="repository:x:pull,push" , error="insufficient_scope")",
       {{"bearer",
         {{"realm", "a,b"},
          {"scope", "repository:x:pull,push"},
          {"error", "insufficient_scope"}}}}},
      {R"(Bearer realm="say \"hi\"\\there")", {{"bearer", {{"realm", R"(say "hi"\there)"}}}}},
      {R"(Basic realm="one", Bearer realm="two",service="s")",
       {{"basic", {{"realm", "one"}}}, {"bearer", {{"realm", "two"}, {"service", "s"}}}}},
      {"Negotiate", {{"negotiate", {}}}},
      {"", {}},
  };
  for (const Case& c : cases) {
    EXPECT_EQ(parse_challenges(c.header), c.expected) << c.header;
  }
}

TEST(ChallengeTest, ErrorMessagesComeFromTheJsonBody) {
  EXPECT_EQ(
      error_message_of(
          R"({"errors":[{"code":"MANIFEST_UNKNOWN","message":"manifest unknown"},{"code":"X","message":"second"}]})"),
      "manifest unknown");
  EXPECT_EQ(error_message_of(R"({"errors":[{"code":"DENIED"}]})"), "DENIED");
  EXPECT_EQ(error_message_of(R"({"details":"incorrect username or password"})"),
            "incorrect username or password");
  EXPECT_EQ(error_message_of("<html>bad gateway</html>"), "");
}

// --- Docker's config.json ---------------------------------------------------------------

TEST(DockerConfigTest, StoresAndErasesCredentialsKeepingEverythingElse) {
  const TempDir dir;
  const ScopedEnv env("DOCKER_CONFIG", dir.path() + "/docker");
  const std::string path = dir.path() + "/docker/config.json";
  EXPECT_EQ(docker_config_path(), path);
  EXPECT_EQ(load_credentials("localhost:5000"), std::nullopt);
  EXPECT_FALSE(erase_credentials("localhost:5000"));

  store_credentials("localhost:5000", {"alice", "s3cr:et"});
  struct stat st {};
  ASSERT_EQ(::stat(path.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600u);
  ASSERT_EQ(::stat((dir.path() + "/docker").c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0700u);
  EXPECT_EQ(nlohmann::json::parse(berth::testing::read_text(path)),
            nlohmann::json::parse(R"({"auths":{"localhost:5000":{"auth":")" +
                                  base64_encode("alice:s3cr:et") + R"("}}})"));
  EXPECT_EQ(load_credentials("localhost:5000"), (Credentials{"alice", "s3cr:et"}));

  // Another tool's settings and other registries survive berth's writes.
  dir.write("docker/config.json",
            R"({"HttpHeaders":{"User-Agent":"x"},"auths":{"https://index.docker.io/v1/":)"
            R"({"auth":")" +
                base64_encode("hub:pw") +
                R"("},"https://ghcr.io":)"
                R"({"username":"gh","password":"tok"},"localhost:5000":{"auth":"old"}},)"
                R"("credsStore":""})");
  EXPECT_EQ(load_credentials("docker.io"), (Credentials{"hub", "pw"}));
  EXPECT_EQ(load_credentials("ghcr.io"), (Credentials{"gh", "tok"}));
  store_credentials("localhost:5000", {"bob", "pw2"});
  store_credentials("ghcr.io", {"gh2", "tok2"});
  EXPECT_EQ(load_credentials("localhost:5000"), (Credentials{"bob", "pw2"}));
  EXPECT_EQ(load_credentials("ghcr.io"), (Credentials{"gh2", "tok2"}));
  auto written = nlohmann::json::parse(berth::testing::read_text(path));
  EXPECT_EQ(written["HttpHeaders"], nlohmann::json::parse(R"({"User-Agent":"x"})"));
  EXPECT_EQ(written["credsStore"], "");
  EXPECT_FALSE(written["auths"].contains("https://ghcr.io"));
  EXPECT_TRUE(written["auths"].contains("ghcr.io"));

  EXPECT_TRUE(erase_credentials("docker.io"));
  EXPECT_FALSE(erase_credentials("docker.io"));
  EXPECT_EQ(load_credentials("docker.io"), std::nullopt);
  written = nlohmann::json::parse(berth::testing::read_text(path));
  EXPECT_EQ(written["auths"].size(), 2u);
  EXPECT_EQ(written["HttpHeaders"], nlohmann::json::parse(R"({"User-Agent":"x"})"));
  ASSERT_EQ(::stat(path.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600u);

  store_credentials("docker.io", {"hub2", "pw"});
  written = nlohmann::json::parse(berth::testing::read_text(path));
  EXPECT_TRUE(written["auths"].contains("https://index.docker.io/v1/"));
}

TEST(DockerConfigTest, MalformedFilesAreNamed) {
  const TempDir dir;
  const ScopedEnv env("DOCKER_CONFIG", dir.path());
  const std::string path = dir.write("config.json", R"({"auths":{"reg.lan":{"auth":"!!"}}})");
  EXPECT_EQ(error_of([] { load_credentials("reg.lan"); }),
            path + ": invalid \"auth\" for \"reg.lan\"");
  dir.write("config.json", "[1]");
  EXPECT_EQ(error_of([] {
              store_credentials("reg.lan", {"a", "b"});
            }),
            path + ": not a JSON object");
  EXPECT_EQ(berth::testing::read_text(path), "[1]");
}

TEST(DockerConfigTest, HomeIsTheDefault) {
  const ScopedEnv no_docker_config("DOCKER_CONFIG", "");
  const ScopedEnv home("HOME", "/home/someone");
  EXPECT_EQ(docker_config_path(), "/home/someone/.docker/config.json");
}

TEST(Base64Test, RoundTrips) {
  EXPECT_EQ(base64_encode("user:pass"), "dXNlcjpwYXNz");
  EXPECT_EQ(base64_decode("dXNlcjpwYXNz"), "user:pass");
  EXPECT_EQ(base64_decode("a"), std::nullopt);
}

// --- against a real registry -------------------------------------------------------------

TEST(RegistryClientTest, PushesAndPullsBlobsAndManifests) {
  const RegistryServer registry;
  const TempDir dir;
  RegistryClient client(registry.host_port(), options_with());
  EXPECT_EQ(client.base_url(), registry.url());
  const TestBlob config = make_blob(dir, R"({"architecture":"amd64","os":"linux"})");
  std::string big(3 << 20, '\0');
  for (std::size_t i = 0; i < big.size(); ++i) big[i] = static_cast<char>(i * 7919 % 251);
  const TestBlob layer = make_blob(dir, big);

  EXPECT_FALSE(client.has_blob("team/app", layer.digest));
  upload(client, "team/app", layer);
  upload(client, "team/app", config);
  EXPECT_TRUE(client.has_blob("team/app", layer.digest));
  EXPECT_EQ(download(client, "team/app", layer), big);

  const std::string manifest = manifest_json(config, layer);
  const Digest manifest_digest = Digest::of(manifest);
  client.put_manifest("team/app", "v1", manifest, std::string(media::oci_manifest));

  for (const std::string& ref : {std::string("v1"), manifest_digest.str()}) {
    const auto head = client.head_manifest("team/app", ref);
    ASSERT_TRUE(head.has_value()) << ref;
    EXPECT_EQ(head->digest, manifest_digest);
    EXPECT_EQ(head->size, static_cast<std::int64_t>(manifest.size()));
    EXPECT_EQ(head->media_type, media::oci_manifest);
    const FetchedManifest fetched = client.get_manifest("team/app", ref);
    EXPECT_EQ(fetched.body, manifest);
    EXPECT_EQ(fetched.digest, manifest_digest);
    EXPECT_EQ(fetched.media_type, media::oci_manifest);
  }
}

TEST(RegistryClientTest, MissingThingsGiveDockersTexts) {
  const RegistryServer registry;
  RegistryClient client(registry.host_port(), options_with());
  const std::string domain = registry.host_port();
  const Digest unknown = Digest::of("nothing");

  EXPECT_EQ(client.head_manifest("team/app", "nope"), std::nullopt);
  EXPECT_EQ(error_of([&] { client.get_manifest("team/app", "nope"); }),
            "manifest for " + domain + "/team/app:nope not found: manifest unknown");
  EXPECT_EQ(
      error_of([&] { client.get_manifest("team/app", unknown.str()); }),
      "manifest for " + domain + "/team/app@" + unknown.str() + " not found: manifest unknown");
  EXPECT_FALSE(client.has_blob("team/app", unknown));
  const TestBlob missing{"nothing", unknown, ""};
  EXPECT_EQ(error_of([&] { download(client, "team/app", missing); }),
            "registry " + domain + " answered 404 for GET " + registry.url() +
                "/v2/team/app/blobs/" + unknown.str() + ": blob unknown to registry");
}

TEST(RegistryClientTest, RegistryErrorsCarryTheRegistrysMessage) {
  const RegistryServer registry;
  const TempDir dir;
  RegistryClient client(registry.host_port(), options_with());
  const TestBlob config = make_blob(dir, "{}");
  const TestBlob layer = make_blob(dir, "layer");
  EXPECT_EQ(error_of([&] {
              client.put_manifest("team/app", "v1", manifest_json(config, layer),
                                  std::string(media::oci_manifest));
            }),
            "registry " + registry.host_port() + " answered 400 for PUT " + registry.url() +
                "/v2/team/app/manifests/v1: blob unknown to registry");
}

TEST(RegistryClientTest, MountsBlobsFromAnotherRepository) {
  const RegistryServer registry;
  const TempDir dir;
  RegistryClient client(registry.host_port(), options_with());
  const TestBlob blob = make_blob(dir, "shared layer");
  upload(client, "team/base", blob);

  EXPECT_TRUE(client.mount_blob("team/app", blob.digest, "team/base"));
  EXPECT_TRUE(client.has_blob("team/app", blob.digest));
  EXPECT_EQ(download(client, "team/app", blob), "shared layer");

  const TestBlob other = make_blob(dir, "not in base");
  EXPECT_FALSE(client.mount_blob("team/other", other.digest, "team/base"));
  EXPECT_FALSE(client.has_blob("team/other", other.digest));
}

TEST(RegistryClientTest, ParallelTransfersShareOneClient) {
  const RegistryServer registry(RegistryAuth::token, {{"alice", "wonder"}});
  const TempDir dir;
  RegistryClient client(registry.host_port(), options_with({"alice", "wonder"}));
  std::vector<TestBlob> blobs;
  for (int i = 0; i < 8; ++i) blobs.push_back(make_blob(dir, std::string(100000 + i, 'a' + i)));
  std::vector<std::thread> threads;
  std::atomic<int> good{0};
  for (const TestBlob& blob : blobs) {
    threads.emplace_back([&, blob] {
      upload(client, "team/app", blob);
      if (download(client, "team/app", blob) == blob.content) ++good;
    });
  }
  for (std::thread& thread : threads) thread.join();
  EXPECT_EQ(good.load(), 8);
}

// --- authentication ---------------------------------------------------------------------

TEST(RegistryAuthTest, BasicAuthUsesCredentialsAndRejectsWrongOnes) {
  const RegistryServer registry(RegistryAuth::basic, {{"alice", "wonder"}});
  const TempDir dir;
  const std::string domain = registry.host_port();
  const TestBlob blob = make_blob(dir, "basic blob");

  RegistryClient alice(domain, options_with({"alice", "wonder"}));
  upload(alice, "team/app", blob);
  EXPECT_EQ(download(alice, "team/app", blob), "basic blob");
  EXPECT_NO_THROW(alice.check_login({"alice", "wonder"}));

  RegistryClient wrong(domain, options_with({"alice", "nope"}));
  EXPECT_EQ(error_of([&] { wrong.has_blob("team/app", blob.digest); }),
            "pull access denied for team/app on " + domain + ": unauthorized");
  EXPECT_EQ(error_of([&] { upload(wrong, "team/app", blob); }),
            "push access denied for team/app on " + domain + ": unauthorized");
  EXPECT_EQ(error_of([&] {
              alice.check_login({"alice", "nope"});
            }),
            "login to " + domain + " failed: unauthorized");

  RegistryClient anonymous(domain, options_with());
  EXPECT_EQ(error_of([&] { anonymous.get_manifest("team/app", "v1"); }),
            "pull access denied for team/app on " + domain + ": unauthorized");
}

TEST(RegistryAuthTest, CredentialsComeFromDockerConfig) {
  const RegistryServer registry(RegistryAuth::basic, {{"alice", "wonder"}});
  const TempDir dir;
  const ScopedEnv docker_config("DOCKER_CONFIG", dir.path() + "/docker");
  const ScopedEnv berth_config("BERTH_CONFIG", dir.path() + "/no-berth-config.json");
  store_credentials(registry.host_port(), {"alice", "wonder"});
  RegistryClient client(registry.host_port());
  EXPECT_EQ(client.base_url(), registry.url());
  EXPECT_FALSE(client.has_blob("team/app", Digest::of("x")));
}

TEST(RegistryAuthTest, BearerTokensGrantOnlyWhatTheUserMayDo) {
  const RegistryServer registry(RegistryAuth::token,
                                {{"alice", "wonder"}, {"reader", "books", {"pull"}}});
  const TempDir dir;
  const std::string domain = registry.host_port();
  const TestBlob blob = make_blob(dir, "token blob");

  RegistryClient alice(domain, options_with({"alice", "wonder"}));
  EXPECT_NO_THROW(alice.check_login({"alice", "wonder"}));
  upload(alice, "team/app", blob);
  EXPECT_TRUE(alice.has_blob("team/app", blob.digest));

  RegistryClient reader(domain, options_with({"reader", "books"}));
  EXPECT_EQ(download(reader, "team/app", blob), "token blob");
  const TestBlob other = make_blob(dir, "reader's blob");
  EXPECT_EQ(error_of([&] { upload(reader, "team/app", other); }),
            "push access denied for team/app on " + domain + ": unauthorized");
  EXPECT_FALSE(alice.has_blob("team/app", other.digest));

  RegistryClient wrong(domain, options_with({"alice", "nope"}));
  EXPECT_EQ(error_of([&] { wrong.has_blob("team/app", blob.digest); }),
            "pull access denied for team/app on " + domain + ": unauthorized");
  EXPECT_EQ(error_of([&] {
              alice.check_login({"alice", "nope"});
            }),
            "login to " + domain + " failed: unauthorized");

  RegistryClient anonymous(domain, options_with());
  EXPECT_EQ(error_of([&] { anonymous.has_blob("team/app", blob.digest); }),
            "pull access denied for team/app on " + domain + ": unauthorized");
}

TEST(RegistryAuthTest, TokensAreCachedPerScope) {
  const RegistryServer registry(RegistryAuth::token, {{"alice", "wonder"}});
  RegistryClient client(registry.host_port(), options_with({"alice", "wonder"}));
  EXPECT_FALSE(client.has_blob("team/app", Digest::of("a")));
  const int after_first = registry.tokens_issued();
  EXPECT_EQ(after_first, 1);
  EXPECT_FALSE(client.has_blob("team/app", Digest::of("b")));
  EXPECT_EQ(client.head_manifest("team/app", "v1"), std::nullopt);
  EXPECT_EQ(registry.tokens_issued(), after_first);
  EXPECT_FALSE(client.has_blob("team/other", Digest::of("b")));
  EXPECT_EQ(registry.tokens_issued(), after_first + 1);
}

// --- transport failures -----------------------------------------------------------------

struct ScriptedBlob {
  std::string content = std::string(200000, 'z');
  Digest digest = Digest::of(content);
  std::mutex mutex;
  std::vector<std::string> ranges;  // the Range header of each request ("" for none)

  std::string url_path() const { return "/v2/team/app/blobs/" + digest.str(); }
  void record(const SeenRequest& request) {
    const std::lock_guard lock(mutex);
    ranges.push_back(request.header("range"));
  }
  std::vector<std::string> seen() {
    const std::lock_guard lock(mutex);
    return ranges;
  }
};

std::string fetch(RegistryClient& client, const ScriptedBlob& blob, int& restarts) {
  std::string received;
  client.get_blob(
      "team/app",
      Descriptor{"application/octet-stream",
                 blob.digest,
                 static_cast<std::int64_t>(blob.content.size()),
                 {},
                 {}},
      [&](const void* data, std::size_t size) {
        received.append(static_cast<const char*>(data), size);
      },
      [&] {
        ++restarts;
        received.clear();
      });
  return received;
}

TEST(BlobRetryTest, ServiceUnavailableIsRetried) {
  ScriptedBlob blob;
  std::atomic<int> calls{0};
  const TinyHttpServer server([&](const SeenRequest& request) {
    blob.record(request);
    if (++calls <= 2) return CannedResponse{503, {}, R"({"errors":[{"message":"busy"}]})"};
    return CannedResponse{200, {}, blob.content};
  });
  RegistryClient client(server.host_port(), options_with());
  int restarts = 0;
  EXPECT_EQ(fetch(client, blob, restarts), blob.content);
  EXPECT_EQ(calls.load(), 3);
  EXPECT_EQ(restarts, 0);
}

TEST(BlobRetryTest, GivesUpAfterFourRetries) {
  ScriptedBlob blob;
  std::atomic<int> calls{0};
  const TinyHttpServer server([&](const SeenRequest&) {
    ++calls;
    return CannedResponse{503, {}, R"({"errors":[{"code":"UNAVAILABLE","message":"busy"}]})"};
  });
  RegistryClient client(server.host_port(), options_with());
  int restarts = 0;
  EXPECT_EQ(error_of([&] { fetch(client, blob, restarts); }),
            "registry " + server.host_port() + " answered 503 for GET " + server.url() +
                blob.url_path() + ": busy");
  EXPECT_EQ(calls.load(), 5);
}

TEST(BlobRetryTest, BrokenTransferResumesWithRange) {
  ScriptedBlob blob;
  const TinyHttpServer server([&](const SeenRequest& request) {
    blob.record(request);
    const std::string range = request.header("range");
    if (range.empty()) {
      CannedResponse whole{200, {{"Accept-Ranges", "bytes"}}, blob.content};
      whole.cut_after = 70000;
      return whole;
    }
    const std::size_t from = std::stoul(range.substr(6));
    return CannedResponse{206,
                          {{"Content-Range", "bytes " + std::to_string(from) + "-" +
                                                 std::to_string(blob.content.size() - 1) + "/" +
                                                 std::to_string(blob.content.size())}},
                          blob.content.substr(from)};
  });
  RegistryClient client(server.host_port(), options_with());
  int restarts = 0;
  EXPECT_EQ(fetch(client, blob, restarts), blob.content);
  EXPECT_EQ(restarts, 0);
  EXPECT_EQ(blob.seen(), (std::vector<std::string>{"", "bytes=70000-"}));
}

TEST(BlobRetryTest, ServerIgnoringRangeRestartsTheBlob) {
  ScriptedBlob blob;
  std::atomic<int> calls{0};
  const TinyHttpServer server([&](const SeenRequest& request) {
    blob.record(request);
    CannedResponse whole{200, {}, blob.content};
    if (++calls == 1) whole.cut_after = 50000;
    return whole;
  });
  RegistryClient client(server.host_port(), options_with());
  int restarts = 0;
  EXPECT_EQ(fetch(client, blob, restarts), blob.content);
  EXPECT_EQ(restarts, 1);
  EXPECT_EQ(blob.seen(), (std::vector<std::string>{"", "bytes=50000-"}));
}

TEST(BlobRedirectTest, CredentialsNeverReachAnotherHost) {
  ScriptedBlob blob;
  std::mutex mutex;
  std::vector<std::string> storage_authorization;
  const TinyHttpServer storage([&](const SeenRequest& request) {
    const std::lock_guard lock(mutex);
    storage_authorization.push_back(request.header("authorization"));
    return CannedResponse{200, {}, blob.content};
  });
  std::vector<std::string> registry_authorization;
  const TinyHttpServer registry([&](const SeenRequest& request) {
    const std::lock_guard lock(mutex);
    registry_authorization.push_back(request.header("authorization"));
    if (request.header("authorization").empty()) {
      return CannedResponse{401, {{"WWW-Authenticate", R"(Basic realm="test")"}}, ""};
    }
    return CannedResponse{307, {{"Location", storage.url() + "/bucket/blob?signature=abc"}}, ""};
  });
  RegistryClient client(registry.host_port(), options_with({"alice", "wonder"}));
  int restarts = 0;
  EXPECT_EQ(fetch(client, blob, restarts), blob.content);
  const std::lock_guard lock(mutex);
  EXPECT_EQ(registry_authorization,
            (std::vector<std::string>{"", "Basic " + base64_encode("alice:wonder")}));
  EXPECT_EQ(storage_authorization, std::vector<std::string>{""});
}

TEST(RegistryClientTest, ManifestByDigestIsVerified) {
  const std::string body = R"({"schemaVersion":2,"mediaType":")" + std::string(media::oci_index) +
                           R"(","manifests":[]})";
  const Digest claimed = Digest::of("something else");
  const TinyHttpServer server([&](const SeenRequest&) {
    return CannedResponse{200, {{"Content-Type", std::string(media::oci_index)}}, body};
  });
  RegistryClient client(server.host_port(), options_with());
  EXPECT_EQ(error_of([&] { client.get_manifest("team/app", claimed.str()); }),
            "manifest " + claimed.str() + " from " + server.host_port() +
                ": digest mismatch (got " + Digest::of(body).str() + ")");
  const FetchedManifest fetched = client.get_manifest("team/app", "latest");
  EXPECT_EQ(fetched.media_type, media::oci_index);
  EXPECT_EQ(fetched.digest, Digest::of(body));
}

TEST(RegistryClientTest, UnreachableRegistryIsNamed) {
  const int port = berth::testing::free_port();
  const std::string domain = "127.0.0.1:" + std::to_string(port);
  RegistryClient client(domain, options_with());
  EXPECT_THAT(error_of([&] { client.head_manifest("team/app", "v1"); }),
              StartsWith("cannot reach registry " + domain + " (http://" + domain +
                         "/v2/team/app/manifests/v1): Failed to connect to 127.0.0.1 port " +
                         std::to_string(port)));
}

TEST(RegistryClientTest, CertificatesAreVerified) {
  const berth::testing::UntrustedTlsServer server;
  RegistryOptions options = options_with();
  options.scheme = "https";
  RegistryClient client(server.host_port(), options);
  EXPECT_EQ(client.base_url(), "https://" + server.host_port());
  EXPECT_THAT(
      error_of([&] { client.head_manifest("team/app", "v1"); }),
      StartsWith("cannot reach registry " + server.host_port() + " (https://" + server.host_port() +
                 "/v2/team/app/manifests/v1): SSL certificate "
                 "problem: self-signed certificate"));
}

}  // namespace
}  // namespace berth::image
