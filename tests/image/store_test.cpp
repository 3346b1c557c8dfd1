#include "image/store.h"
#include "tests/support/error_of.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <functional>
#include <map>
#include <set>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include <fmt/format.h>
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "tests/support/run_berth.h"
#include "util/error.h"
#include "util/sha256.h"

namespace berth::image {
namespace {

using testing::error_of;

namespace stdfs = std::filesystem;

Descriptor descriptor(std::string_view media_type, const Digest& digest, std::int64_t size) {
  Descriptor d;
  d.media_type = std::string(media_type);
  d.digest = digest;
  d.size = size;
  return d;
}

void shell(const std::string& command) {
  if (std::system(command.c_str()) != 0) {
    throw std::runtime_error("command failed: " + command);
  }
}

/// The names in a directory (empty when it does not exist).
std::set<std::string> entries(const std::string& dir) {
  std::set<std::string> names;
  std::error_code ignored;
  for (const auto& entry : stdfs::directory_iterator(dir, ignored)) {
    names.insert(entry.path().filename().string());
  }
  return names;
}

/// Runs `body` in a forked child; its exit status is 0 when it returned without throwing.
pid_t spawn(const std::function<void()>& body) {
  const pid_t pid = ::fork();
  if (pid == 0) {
    int code = 0;
    try {
      body();
    } catch (...) {
      code = 3;
    }
    ::_exit(code);
  }
  return pid;
}

int wait_exit_code(pid_t pid) {
  int status = 0;
  if (::waitpid(pid, &status, 0) != pid || !WIFEXITED(status)) {
    return -1;
  }
  return WEXITSTATUS(status);
}

/// A pipe whose ends close with the object.
struct Pipe {
  Pipe() {
    if (::pipe2(fds, O_CLOEXEC) != 0) {
      throw std::runtime_error("pipe failed");
    }
  }
  ~Pipe() {
    close_read();
    close_write();
  }
  void close_read() {
    if (fds[0] >= 0) {
      ::close(fds[0]);
      fds[0] = -1;
    }
  }
  void close_write() {
    if (fds[1] >= 0) {
      ::close(fds[1]);
      fds[1] = -1;
    }
  }
  void signal() { (void)!::write(fds[1], "x", 1); }
  /// True when a byte arrived, false at end of file.
  bool wait() {
    char c = 0;
    return ::read(fds[0], &c, 1) == 1;
  }
  int fds[2] = {-1, -1};
};

struct TestLayer {
  std::string blob;  // gzipped tar
  Digest diff_id;    // sha256 of the tar
};

/// A layer made by the tar CLI from `files` (relative path -> content).
TestLayer make_layer(const std::map<std::string, std::string>& files) {
  testing::TempDir work;
  shell("mkdir " + work.path() + "/root");
  for (const auto& [path, content] : files) {
    work.write("root/" + path, content);
  }
  shell(fmt::format("tar -C {0}/root -cf {0}/layer.tar . && gzip -nk {0}/layer.tar", work.path()));
  return {testing::read_text(work.path() + "/layer.tar.gz"),
          Digest::of(testing::read_text(work.path() + "/layer.tar"))};
}

struct TestImage {
  Descriptor manifest;
  Digest config;
  std::vector<Digest> layer_blobs;
};

/// Stores config, layer blobs and manifest of an image (without naming it).
TestImage add_image(const ImageStore& store, const std::vector<TestLayer>& layers,
                    const std::string& label = "") {
  nlohmann::json diff_ids = nlohmann::json::array();
  for (const auto& layer : layers) {
    diff_ids.push_back(layer.diff_id.str());
  }
  const std::string config =
      nlohmann::json{{"architecture", "amd64"},
                     {"os", "linux"},
                     {"config", {{"Labels", {{"label", label}}}}},
                     {"rootfs", {{"type", "layers"}, {"diff_ids", diff_ids}}}}
          .dump();
  TestImage image;
  Manifest manifest;
  manifest.media_type = media::oci_manifest;
  image.config = store.put_blob(config);
  manifest.config = descriptor(media::oci_config, image.config, std::ssize(config));
  for (const auto& layer : layers) {
    image.layer_blobs.push_back(store.put_blob(layer.blob));
    manifest.layers.push_back(
        descriptor(media::oci_layer_gzip, image.layer_blobs.back(), std::ssize(layer.blob)));
  }
  const std::string json = to_json(manifest);
  image.manifest = descriptor(media::oci_manifest, store.put_blob(json), std::ssize(json));
  return image;
}

// --- blobs -------------------------------------------------------------------------------

TEST(ImageStore, BlobWriterPublishesVerifiedReadOnlyBlob) {
  testing::TempDir dir;
  const ImageStore store(dir.path());
  EXPECT_EQ(store.directory(), dir.path() + "/images");
  // More than the write buffer, in uneven pieces.
  std::string data;
  for (int i = 0; data.size() < 700'000; ++i) {
    data += fmt::format("line {}\n", i);
  }
  BlobWriter writer = store.new_blob();
  for (std::size_t at = 0; at < data.size(); at += 70'001) {
    writer.write(std::string_view(data).substr(at, 70'001));
  }
  EXPECT_EQ(writer.size(), data.size());
  const Digest expected = Digest::of(data);
  EXPECT_FALSE(store.has_blob(expected));
  EXPECT_EQ(writer.commit(expected, std::ssize(data)), expected);

  EXPECT_TRUE(store.has_blob(expected));
  EXPECT_EQ(store.blob_path(expected), dir.path() + "/images/blobs/sha256/" + expected.hex());
  EXPECT_EQ(store.read_blob(expected), data);
  struct stat st {};
  ASSERT_EQ(::stat(store.blob_path(expected).c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 07777, 0444u);
  EXPECT_TRUE(entries(store.directory() + "/tmp").empty());
  EXPECT_EQ(testing::read_text(store.directory() + "/oci-layout"),
            R"({"imageLayoutVersion":"1.0.0"})");
}

TEST(ImageStore, CommitWithoutExpectationsNamesTheContent) {
  testing::TempDir dir;
  const ImageStore store(dir.path());
  BlobWriter writer = store.new_blob();
  writer.write("hello");
  EXPECT_EQ(writer.commit(), Digest::of("hello"));
  EXPECT_EQ(store.read_blob(Digest::of("hello")), "hello");
  EXPECT_THROW(writer.commit(), std::logic_error);
}

TEST(ImageStore, DigestMismatchPublishesNothing) {
  testing::TempDir dir;
  const ImageStore store(dir.path());
  const Digest expected = Digest::of("what the registry promised");
  BlobWriter writer = store.new_blob();
  writer.write("what arrived");
  EXPECT_EQ(error_of([&] { writer.commit(expected); }),
            fmt::format("blob {}: digest mismatch (got {})", expected.str(),
                        Digest::of("what arrived").str()));
  EXPECT_TRUE(entries(store.directory() + "/blobs/sha256").empty());
  EXPECT_TRUE(entries(store.directory() + "/tmp").empty());
}

TEST(ImageStore, SizeMismatchPublishesNothing) {
  testing::TempDir dir;
  const ImageStore store(dir.path());
  const Digest expected = Digest::of("12345");
  BlobWriter writer = store.new_blob();
  writer.write("1234");
  EXPECT_EQ(error_of([&] { writer.commit(expected, 5); }),
            fmt::format("blob {}: size mismatch (expected 5 bytes, got 4)", expected.str()));
  EXPECT_TRUE(entries(store.directory() + "/blobs/sha256").empty());
  EXPECT_TRUE(entries(store.directory() + "/tmp").empty());
}

TEST(ImageStore, ReadBlobOfMissingBlobNamesIt) {
  testing::TempDir dir;
  const ImageStore store(dir.path());
  const Digest missing = Digest::of("nothing");
  EXPECT_FALSE(store.has_blob(missing));
  EXPECT_EQ(error_of([&] { store.read_blob(missing); }),
            fmt::format("blob {}: not in the store", missing.str()));
}

TEST(ImageStore, AbandonedWriterLeavesNothing) {
  testing::TempDir dir;
  const ImageStore store(dir.path());
  {
    BlobWriter writer = store.new_blob();
    writer.write(std::string(400'000, 'x'));
    EXPECT_EQ(entries(store.directory() + "/tmp").size(), 1u);
    BlobWriter moved = std::move(writer);
  }
  EXPECT_TRUE(entries(store.directory() + "/tmp").empty());
  EXPECT_TRUE(entries(store.directory() + "/blobs/sha256").empty());
}

TEST(ImageStore, PutBlobAndCommitOfAnExistingBlobSucceed) {
  testing::TempDir dir;
  const ImageStore store(dir.path());
  const Digest digest = store.put_blob("{}");
  EXPECT_EQ(digest, Digest::of("{}"));
  EXPECT_EQ(store.put_blob("{}"), digest);
  BlobWriter again = store.new_blob();
  again.write("{}");
  EXPECT_EQ(again.commit(digest, 2), digest);
  EXPECT_EQ(entries(store.directory() + "/blobs/sha256"), std::set<std::string>{digest.hex()});
  EXPECT_TRUE(entries(store.directory() + "/tmp").empty());
}

TEST(ImageStore, KilledWriterLeavesNoBlobAndGarbageCollectionEmptiesTmp) {
  testing::TempDir dir;
  const ImageStore store(dir.path());
  const std::string data(2'000'000, 'k');
  const pid_t child = ::fork();
  if (child == 0) {
    BlobWriter writer = store.new_blob();
    writer.write(std::string_view(data).substr(0, data.size() / 2));
    ::_exit(1);  // no commit, no destructor: as if killed
  }
  ASSERT_EQ(wait_exit_code(child), 1);
  EXPECT_FALSE(store.has_blob(Digest::of(data)));
  EXPECT_TRUE(entries(store.directory() + "/blobs/sha256").empty());
  EXPECT_EQ(entries(store.directory() + "/tmp").size(), 1u);  // what the crash left

  const StoreLock lock = store.lock_exclusive();
  EXPECT_GE(store.collect_garbage(), 900'000);
  EXPECT_TRUE(entries(store.directory() + "/tmp").empty());
}

// --- locks -------------------------------------------------------------------------------

TEST(ImageStore, ExclusiveLockWaitsForSharedHolderInAnotherProcess) {
  testing::TempDir dir;
  const ImageStore store(dir.path());
  Pipe locked;
  Pipe release;
  const pid_t child = spawn([&] {
    locked.close_read();
    release.close_write();
    const StoreLock lock = store.lock_shared();
    locked.signal();
    release.wait();  // until the parent says so (or dies)
  });
  ASSERT_GT(child, 0);
  locked.close_write();
  release.close_read();
  ASSERT_TRUE(locked.wait());

  // Shared holders do not exclude each other.
  { const StoreLock shared = store.lock_shared(); }

  std::atomic<bool> child_released{false};
  std::atomic<bool> acquired{false};
  bool released_first = false;
  std::thread waiter([&] {
    const StoreLock lock = store.lock_exclusive();
    released_first = child_released.load();
    acquired = true;
  });
  std::this_thread::sleep_for(std::chrono::milliseconds(100));
  EXPECT_FALSE(acquired.load());
  child_released = true;
  release.close_write();
  waiter.join();
  EXPECT_EQ(wait_exit_code(child), 0);
  EXPECT_TRUE(released_first);
  EXPECT_TRUE(acquired.load());

  // The waiter's lock died with it: taking it again does not block.
  StoreLock first = store.lock_exclusive();
  StoreLock moved = std::move(first);
}

// --- references ----------------------------------------------------------------------------

TEST(ImageStore, IndexJsonIsAnOciIndexSortedByName) {
  testing::TempDir dir;
  const ImageStore store(dir.path());
  const Descriptor one = descriptor(media::oci_manifest, store.put_blob("m1"), 2);
  const Descriptor two = descriptor(media::docker_manifest, store.put_blob("m2"), 2);
  EXPECT_TRUE(store.records().empty());
  store.set_reference(parse_reference("zeta:1"), one);
  store.set_reference(parse_reference("alpha"), two);

  const std::string text = testing::read_text(store.directory() + "/index.json");
  EXPECT_TRUE(text.starts_with(
      R"({"schemaVersion":2,"mediaType":"application/vnd.oci.image.index.v1+json","manifests":[)"))
      << text;
  const auto index = nlohmann::json::parse(text);
  ASSERT_EQ(index["manifests"].size(), 2u);
  EXPECT_EQ(index["manifests"][0]["annotations"]["org.opencontainers.image.ref.name"],
            "docker.io/library/alpha:latest");
  EXPECT_EQ(index["manifests"][0]["digest"], two.digest.str());
  EXPECT_EQ(index["manifests"][0]["mediaType"], media::docker_manifest);
  EXPECT_EQ(index["manifests"][1]["annotations"]["org.opencontainers.image.ref.name"],
            "docker.io/library/zeta:1");
  EXPECT_EQ(index["manifests"][1]["size"], 2);

  const auto records = store.records();
  ASSERT_EQ(records.size(), 2u);
  EXPECT_EQ(records[0].name, "docker.io/library/alpha:latest");
  EXPECT_EQ(records[0].manifest.digest, two.digest);
  EXPECT_TRUE(records[0].manifest.annotations.empty());
  EXPECT_EQ(records[1].name, "docker.io/library/zeta:1");
  EXPECT_EQ(records[1].manifest.media_type, media::oci_manifest);
  EXPECT_TRUE(entries(store.directory() + "/tmp").empty());
}

TEST(ImageStore, SetResolveAndRemoveReferences) {
  testing::TempDir dir;
  const ImageStore store(dir.path());
  EXPECT_FALSE(store.resolve(parse_reference("redis:7")));
  EXPECT_FALSE(store.remove_reference(parse_reference("redis:7")));

  const Descriptor old_manifest = descriptor(media::oci_manifest, store.put_blob("old"), 3);
  const Descriptor new_manifest = descriptor(media::oci_manifest, store.put_blob("new"), 3);
  store.set_reference(parse_reference("redis:7"), old_manifest);
  store.set_reference(parse_reference("redis:7"), new_manifest);  // replaces
  ASSERT_EQ(store.records().size(), 1u);
  EXPECT_EQ(store.resolve(parse_reference("docker.io/library/redis:7"))->digest,
            new_manifest.digest);
  EXPECT_FALSE(store.resolve(parse_reference("redis:8")));

  // A digest reference matches its own entry, or any entry with that manifest digest.
  EXPECT_EQ(store.resolve(parse_reference("other@" + new_manifest.digest.str()))->digest,
            new_manifest.digest);
  // The image the tag left stays as a dangling one (Docker's <none>:<none>), still reachable
  // by digest, until rm or prune removes it.
  EXPECT_EQ(store.resolve(parse_reference("redis@" + old_manifest.digest.str()))->digest,
            old_manifest.digest);
  EXPECT_TRUE(store.remove_unnamed(old_manifest.digest));
  EXPECT_FALSE(store.remove_unnamed(old_manifest.digest));
  EXPECT_FALSE(store.resolve(parse_reference("redis@" + old_manifest.digest.str())));

  EXPECT_TRUE(store.remove_reference(parse_reference("redis:7")));
  EXPECT_FALSE(store.remove_reference(parse_reference("redis:7")));
  EXPECT_TRUE(store.records().empty());
  EXPECT_FALSE(store.resolve(parse_reference("redis:7")));
}

TEST(ImageStore, TwoProcessesAddingAtOnceLoseNothing) {
  testing::TempDir dir;
  const ImageStore store(dir.path());
  std::string data;
  for (int i = 0; data.size() < 300'000; ++i) {
    data += fmt::format("{} ", i);
  }
  const Digest digest = Digest::of(data);
  constexpr int k_rounds = 50;
  Pipe go;
  std::vector<pid_t> children;
  for (int writer = 0; writer < 2; ++writer) {
    children.push_back(spawn([&, writer] {
      go.close_write();
      go.wait();
      for (int round = 0; round < k_rounds; ++round) {
        const StoreLock lock = store.lock_shared();
        BlobWriter blob = store.new_blob();
        blob.write(data);
        const Digest written = blob.commit(digest, std::ssize(data));
        store.set_reference(parse_reference(fmt::format("localhost:5000/w{}:{}", writer, round)),
                            descriptor(media::oci_manifest, written, std::ssize(data)));
      }
    }));
  }
  go.close_write();  // both start at once
  for (const pid_t child : children) {
    EXPECT_EQ(wait_exit_code(child), 0);
  }

  std::set<std::string> names;
  for (const auto& record : store.records()) {
    EXPECT_EQ(record.manifest.digest, digest);
    names.insert(record.name);
  }
  EXPECT_EQ(names.size(), 2u * k_rounds);
  for (int writer = 0; writer < 2; ++writer) {
    for (int round = 0; round < k_rounds; ++round) {
      EXPECT_TRUE(names.contains(fmt::format("localhost:5000/w{}:{}", writer, round)));
    }
  }
  EXPECT_TRUE(entries(store.directory() + "/tmp").empty());
  for (const auto& name : entries(store.directory() + "/blobs/sha256")) {
    EXPECT_EQ(sha256_hex(testing::read_text(store.directory() + "/blobs/sha256/" + name)), name);
  }
}

TEST(ImageStore, FindByNameOrId) {
  testing::TempDir dir;
  const ImageStore store(dir.path());
  const TestImage redis = add_image(store, {}, "redis");
  const TestImage app = add_image(store, {}, "app");
  store.set_reference(parse_reference("redis:7"), redis.manifest);
  store.set_reference(parse_reference("redis"), redis.manifest);
  store.set_reference(parse_reference("localhost:5000/team/app:1.2"), app.manifest);

  EXPECT_EQ(store.find("redis")->digest, redis.manifest.digest);
  EXPECT_EQ(store.find("redis:7")->digest, redis.manifest.digest);
  EXPECT_EQ(store.find("docker.io/library/redis:7")->digest, redis.manifest.digest);
  EXPECT_EQ(store.find("localhost:5000/team/app:1.2")->digest, app.manifest.digest);
  EXPECT_FALSE(store.find("redis:8"));
  EXPECT_FALSE(store.find("Not A Reference"));

  const std::string id = app.config.hex();
  EXPECT_EQ(store.find(id)->digest, app.manifest.digest);
  EXPECT_EQ(store.find("sha256:" + id)->digest, app.manifest.digest);
  EXPECT_EQ(store.find(id.substr(0, 12))->digest, app.manifest.digest);
  EXPECT_EQ(store.find("sha256:" + id.substr(0, 12))->digest, app.manifest.digest);
  EXPECT_FALSE(store.find(id.substr(0, 3)));  // too short to be an id
  EXPECT_FALSE(store.find(Digest::of("no such image").hex()));
  // A manifest digest is not an image id.
  EXPECT_FALSE(store.find(redis.manifest.digest.str()));
}

TEST(ImageStore, AmbiguousIdPrefixIsAnError) {
  testing::TempDir dir;
  const ImageStore store(dir.path());
  // Two images whose ids share their first four hex digits.
  std::map<std::string, TestImage> by_prefix;
  std::vector<TestImage> pair;
  for (int i = 0; pair.empty(); ++i) {
    const TestImage image = add_image(store, {}, std::to_string(i));
    const auto [seen, inserted] = by_prefix.emplace(image.config.hex().substr(0, 4), image);
    if (!inserted) {
      pair = {seen->second, image};
    }
  }
  store.set_reference(parse_reference("first"), pair[0].manifest);
  store.set_reference(parse_reference("second"), pair[1].manifest);
  // A second name for the same image does not make its prefix ambiguous.
  store.set_reference(parse_reference("first:again"), pair[0].manifest);

  const std::string prefix = pair[0].config.hex().substr(0, 4);
  EXPECT_EQ(error_of([&] { store.find(prefix); }),
            fmt::format("image id prefix \"{}\" is ambiguous", prefix));
  EXPECT_EQ(error_of([&] { store.find("sha256:" + prefix); }),
            fmt::format("image id prefix \"sha256:{}\" is ambiguous", prefix));
  const auto longer = [](const TestImage& image) { return image.config.hex().substr(0, 20); };
  EXPECT_EQ(store.find(longer(pair[0]))->digest, pair[0].manifest.digest);
  EXPECT_EQ(store.find(longer(pair[1]))->digest, pair[1].manifest.digest);
}

TEST(ImageStore, UnnamedImagesStayInTheIndex) {
  testing::TempDir dir;
  const ImageStore store(dir.path());
  const TestImage image = add_image(store, {make_layer({{"f", "x"}})}, "unnamed");
  store.add_unnamed(image.manifest);
  store.add_unnamed(image.manifest);  // once is enough

  EXPECT_TRUE(store.records().empty());
  const auto index = nlohmann::json::parse(testing::read_text(store.directory() + "/index.json"));
  ASSERT_EQ(index["manifests"].size(), 1u);
  EXPECT_EQ(index["manifests"][0]["digest"], image.manifest.digest.str());
  EXPECT_FALSE(index["manifests"][0].contains("annotations"));

  const auto images = store.images();
  ASSERT_EQ(images.size(), 1u);
  EXPECT_EQ(images[0].id, image.config);
  EXPECT_TRUE(images[0].repo_tags.empty());
  EXPECT_TRUE(images[0].repo_digests.empty());
  EXPECT_EQ(store.find(image.config.hex().substr(0, 8))->digest, image.manifest.digest);
  {
    const StoreLock lock = store.lock_exclusive();
    EXPECT_EQ(store.collect_garbage(), 0);
  }
  EXPECT_TRUE(store.has_blob(image.layer_blobs[0]));

  // Naming it makes it an ordinary image; it is then never added unnamed again.
  store.set_reference(parse_reference("named"), image.manifest);
  store.add_unnamed(image.manifest);
  const auto named = nlohmann::json::parse(testing::read_text(store.directory() + "/index.json"));
  ASSERT_EQ(named["manifests"].size(), 1u);
  EXPECT_EQ(named["manifests"][0]["annotations"]["org.opencontainers.image.ref.name"],
            "docker.io/library/named:latest");
  EXPECT_EQ(store.records().size(), 1u);
}

// --- layers and images ----------------------------------------------------------------------

TEST(ImageStore, UnpackLayerPublishesItUnderItsChainId) {
  testing::TempDir dir;
  const ImageStore store(dir.path());
  const TestLayer base = make_layer({{"etc/os-release", "ID=test\n"}});
  const TestLayer top = make_layer({{"app/run.sh", "echo hi\n"}});
  const TestImage image = add_image(store, {base, top});
  const ImageConfig config = store.config(store.manifest(image.manifest));
  const std::vector<Digest> chain = chain_ids(config.diff_ids);
  ASSERT_EQ(chain.size(), 2u);
  EXPECT_EQ(chain[0], base.diff_id);

  EXPECT_FALSE(store.has_layer(chain[0]));
  store.unpack_layer(image.layer_blobs[0], base.diff_id, chain[0]);
  store.unpack_layer(image.layer_blobs[1], top.diff_id, chain[1]);
  store.unpack_layer(image.layer_blobs[1], top.diff_id, chain[1]);  // already there: no-op
  EXPECT_TRUE(store.has_layer(chain[0]));
  EXPECT_EQ(store.layer_path(chain[1]), dir.path() + "/images/layers/" + chain[1].hex());
  EXPECT_EQ(testing::read_text(store.layer_path(chain[0]) + "/etc/os-release"), "ID=test\n");
  EXPECT_EQ(testing::read_text(store.layer_path(chain[1]) + "/app/run.sh"), "echo hi\n");
  EXPECT_FALSE(stdfs::exists(store.layer_path(chain[1]) + "/etc"));  // only its own diff
  EXPECT_TRUE(entries(store.directory() + "/tmp").empty());

  EXPECT_EQ(store.layer_stack(config),
            (std::vector<std::string>{store.layer_path(chain[1]), store.layer_path(chain[0])}));
}

TEST(ImageStore, UnpackLayerRefusesAWrongDiffId) {
  testing::TempDir dir;
  const ImageStore store(dir.path());
  const TestLayer layer = make_layer({{"file", "content"}});
  const Digest blob = store.put_blob(layer.blob);
  const Digest claimed = Digest::of("something else");
  EXPECT_EQ(error_of([&] { store.unpack_layer(blob, claimed, claimed); }),
            fmt::format("layer {}: diff id mismatch (config says {}, content is {})", blob.str(),
                        claimed.str(), layer.diff_id.str()));
  EXPECT_FALSE(store.has_layer(claimed));
  EXPECT_TRUE(entries(store.directory() + "/layers").empty());
  EXPECT_TRUE(entries(store.directory() + "/tmp").empty());

  const Digest missing = Digest::of("no such blob");
  EXPECT_EQ(error_of([&] { store.unpack_layer(missing, layer.diff_id, layer.diff_id); }),
            fmt::format("blob {}: not in the store", missing.str()));
}

TEST(ImageStore, TwoProcessesUnpackingTheSameLayersBothSucceed) {
  testing::TempDir dir;
  const ImageStore store(dir.path());
  std::vector<std::pair<Digest, Digest>> layers;  // blob, diff id (= chain id of a base layer)
  for (int i = 0; i < 8; ++i) {
    const TestLayer layer = make_layer({{"n", std::to_string(i)}, {"d/e/f", "deep"}});
    layers.emplace_back(store.put_blob(layer.blob), layer.diff_id);
  }
  Pipe go;
  std::vector<pid_t> children;
  for (int process = 0; process < 2; ++process) {
    children.push_back(spawn([&] {
      go.close_write();
      go.wait();
      const StoreLock lock = store.lock_shared();
      for (const auto& [blob, diff_id] : layers) {
        store.unpack_layer(blob, diff_id, diff_id);
      }
    }));
  }
  go.close_write();
  for (const pid_t child : children) {
    EXPECT_EQ(wait_exit_code(child), 0);
  }
  for (int i = 0; i < 8; ++i) {
    EXPECT_EQ(testing::read_text(store.layer_path(layers[i].second) + "/n"), std::to_string(i));
  }
  EXPECT_EQ(entries(store.directory() + "/layers").size(), 8u);
  EXPECT_TRUE(entries(store.directory() + "/tmp").empty());
}

TEST(ImageStore, ImagesSummariseEachDistinctManifest) {
  testing::TempDir dir;
  const ImageStore store(dir.path());
  const TestLayer layer = make_layer({{"x", "y"}});
  const TestImage redis = add_image(store, {layer}, "redis");
  const TestImage app = add_image(store, {}, "app");
  const std::string pinned = "docker.io/library/redis@" + redis.manifest.digest.str();
  store.set_reference(parse_reference("redis:7"), redis.manifest);
  store.set_reference(parse_reference("redis:latest"), redis.manifest);
  store.set_reference(parse_reference(pinned), redis.manifest);
  store.set_reference(parse_reference("redis:7@" + redis.manifest.digest.str()), redis.manifest);
  store.set_reference(parse_reference("app"), app.manifest);

  const auto images = store.images();
  ASSERT_EQ(images.size(), 2u);
  const ImageSummary& first = images[0].id == app.config ? images[1] : images[0];
  const ImageSummary& second = images[0].id == app.config ? images[0] : images[1];
  EXPECT_EQ(first.id, redis.config);
  EXPECT_EQ(first.manifest.digest, redis.manifest.digest);
  EXPECT_EQ(first.repo_tags, (std::vector<std::string>{"docker.io/library/redis:7",
                                                       "docker.io/library/redis:latest"}));
  EXPECT_EQ(first.repo_digests, std::vector<std::string>{pinned});
  EXPECT_EQ(first.size, std::ssize(layer.blob));
  EXPECT_EQ(first.config.diff_ids, std::vector<Digest>{layer.diff_id});
  EXPECT_EQ(first.config.raw["config"]["Labels"]["label"], "redis");
  EXPECT_EQ(second.id, app.config);
  EXPECT_EQ(second.repo_tags, std::vector<std::string>{"docker.io/library/app:latest"});
  EXPECT_TRUE(second.repo_digests.empty());
  EXPECT_EQ(second.size, 0);

  const ImageSummary one = store.summary(app.manifest);
  EXPECT_EQ(one.id, app.config);
  EXPECT_EQ(one.repo_tags, second.repo_tags);
}

// --- garbage collection ----------------------------------------------------------------------

TEST(ImageStore, GarbageCollectionKeepsWhatTheIndexReaches) {
  testing::TempDir dir;
  const ImageStore store(dir.path());
  const TestLayer base = make_layer({{"base", "b"}});
  const TestLayer top = make_layer({{"top", "t"}});
  const TestImage kept = add_image(store, {base, top}, "kept");
  const TestImage dropped = add_image(store, {make_layer({{"gone", "g"}})}, "dropped");
  store.set_reference(parse_reference("kept"), kept.manifest);
  store.set_reference(parse_reference("dropped"), dropped.manifest);
  for (const TestImage* image : {&kept, &dropped}) {
    const ImageConfig config = store.config(store.manifest(image->manifest));
    const auto chain = chain_ids(config.diff_ids);
    for (std::size_t i = 0; i < chain.size(); ++i) {
      store.unpack_layer(image->layer_blobs[i], config.diff_ids[i], chain[i]);
    }
  }
  const auto kept_chain = chain_ids({base.diff_id, top.diff_id});
  ASSERT_TRUE(store.remove_reference(parse_reference("dropped")));

  // Garbage the store cannot know about: a stray blob, a layer nobody names (read-only
  // directories, a whiteout device, a symlink out of the layer), leftovers in tmp/.
  const std::string stray(1000, 's');
  const Digest stray_blob = store.put_blob(stray);
  const std::string orphan = store.layer_path(Digest::of("orphan"));
  testing::TempDir outside;
  const std::string precious = outside.write("precious", "keep me");
  shell(
      fmt::format("mkdir -p {0}/ro/sub && printf %500s x > {0}/ro/sub/file && "
                  "mknod {0}/ro/whiteout c 0 0 && ln -s {1} {0}/ro/escape && "
                  "chmod 0555 {0}/ro/sub {0}/ro && chmod 0 {0}",
                  orphan, outside.path()));
  shell(fmt::format("printf %300s x > {}/tmp/leftover && mkdir {}/tmp/layer-dead",
                    store.directory(), store.directory()));

  const StoreLock lock = store.lock_exclusive();
  const std::int64_t dropped_bytes = [&] {
    std::int64_t sum = 0;
    for (const auto& blob : dropped.layer_blobs) {
      sum += std::ssize(store.read_blob(blob));
    }
    sum += std::ssize(store.read_blob(dropped.config));
    sum += std::ssize(store.read_blob(dropped.manifest.digest));
    // The unpacked layer holds one file of one byte.
    return sum + 1;
  }();
  EXPECT_EQ(store.collect_garbage(), dropped_bytes + 1000 + 500 + 300);

  std::set<std::string> blobs{kept.manifest.digest.hex(), kept.config.hex()};
  for (const auto& blob : kept.layer_blobs) {
    blobs.insert(blob.hex());
  }
  EXPECT_EQ(entries(store.directory() + "/blobs/sha256"), blobs);
  EXPECT_FALSE(store.has_blob(stray_blob));
  EXPECT_EQ(entries(store.directory() + "/layers"),
            (std::set<std::string>{kept_chain[0].hex(), kept_chain[1].hex()}));
  EXPECT_TRUE(entries(store.directory() + "/tmp").empty());
  EXPECT_EQ(testing::read_text(precious), "keep me");
  EXPECT_EQ(store.find("kept")->digest, kept.manifest.digest);

  // With the last reference gone, everything goes.
  ASSERT_TRUE(store.remove_reference(parse_reference("kept")));
  EXPECT_GT(store.collect_garbage(), 0);
  EXPECT_TRUE(entries(store.directory() + "/blobs/sha256").empty());
  EXPECT_TRUE(entries(store.directory() + "/layers").empty());
  EXPECT_EQ(store.collect_garbage(), 0);
}

TEST(ImageStore, GarbageCollectionOfAMissingStoreIsANoOp) {
  testing::TempDir dir;
  const ImageStore store(dir.path() + "/nothing-here");
  EXPECT_EQ(store.collect_garbage(), 0);
  EXPECT_TRUE(store.records().empty());
  EXPECT_TRUE(store.images().empty());
  EXPECT_FALSE(stdfs::exists(dir.path() + "/nothing-here"));
}

}  // namespace
}  // namespace berth::image
