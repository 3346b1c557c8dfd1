#include "image/manifest.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "util/error.h"
#include "util/sha256.h"

namespace berth::image {
namespace {

std::string digest_of(std::string_view data) {
  return "sha256:" + sha256_hex(data);
}

/// Minified with keys kept in the order written, as to_json must produce it.
std::string compact(std::string_view text) {
  return nlohmann::ordered_json::parse(text).dump();
}

std::string error_of(const auto& action) {
  try {
    action();
  } catch (const Error& e) {
    return e.what();
  }
  return "(no error)";
}

// The shape of a Docker image manifest, version 2, schema 2, with made-up values.
std::string docker_manifest_json() {
  return R"({
    "schemaVersion": 2,
    "mediaType": "application/vnd.docker.distribution.manifest.v2+json",
    "config": {
      "mediaType": "application/vnd.docker.container.image.v1+json",
      "digest": ")" +
         digest_of("config") + R"(",
      "size": 1469
    },
    "layers": [
      {
        "mediaType": "application/vnd.docker.image.rootfs.diff.tar.gzip",
        "digest": ")" +
         digest_of("layer 1") + R"(",
        "size": 3370706
      },
      {
        "mediaType": "application/vnd.docker.image.rootfs.diff.tar.gzip",
        "digest": ")" +
         digest_of("layer 2") + R"(",
        "size": 1024
      }
    ]
  })";
}

// The shape of the OCI image spec's manifest example, with made-up values.
std::string oci_manifest_json() {
  return R"({
    "schemaVersion": 2,
    "mediaType": "application/vnd.oci.image.manifest.v1+json",
    "config": {
      "mediaType": "application/vnd.oci.image.config.v1+json",
      "digest": ")" +
         digest_of("oci config") + R"(",
      "size": 7023
    },
    "layers": [
      {
        "mediaType": "application/vnd.oci.image.layer.v1.tar+gzip",
        "digest": ")" +
         digest_of("oci layer 1") + R"(",
        "size": 32654
      },
      {
        "mediaType": "application/vnd.oci.image.layer.v1.tar+zstd",
        "digest": ")" +
         digest_of("oci layer 2") + R"(",
        "size": 16724,
        "annotations": {
          "org.opencontainers.image.title": "layer.tar.zst"
        }
      }
    ],
    "annotations": {
      "com.example.key1": "value1",
      "com.example.key2": "value2"
    }
  })";
}

// The shape of the OCI image spec's index example, with made-up values and more platforms.
std::string oci_index_json() {
  return R"({
    "schemaVersion": 2,
    "mediaType": "application/vnd.oci.image.index.v1+json",
    "manifests": [
      {
        "mediaType": "application/vnd.oci.image.manifest.v1+json",
        "digest": ")" +
         digest_of("amd64") + R"(",
        "size": 7143,
        "platform": {"architecture": "amd64", "os": "linux"}
      },
      {
        "mediaType": "application/vnd.oci.image.manifest.v1+json",
        "digest": ")" +
         digest_of("arm v7") + R"(",
        "size": 7682,
        "platform": {"architecture": "arm", "os": "linux", "variant": "v7"}
      },
      {
        "mediaType": "application/vnd.oci.image.manifest.v1+json",
        "digest": ")" +
         digest_of("arm64 v8") + R"(",
        "size": 7682,
        "platform": {"architecture": "arm64", "os": "linux", "variant": "v8"}
      },
      {
        "mediaType": "application/vnd.oci.image.manifest.v1+json",
        "digest": ")" +
         digest_of("attestation") + R"(",
        "size": 566,
        "platform": {"architecture": "unknown", "os": "unknown"},
        "annotations": {
          "vnd.docker.reference.digest": ")" +
         digest_of("amd64") + R"(",
          "vnd.docker.reference.type": "attestation-manifest"
        }
      }
    ]
  })";
}

TEST(Manifest, ParsesDockerSchema2) {
  const Manifest manifest = parse_manifest(docker_manifest_json(), "manifest redis:7");
  EXPECT_EQ(manifest.media_type, media::docker_manifest);
  EXPECT_EQ(manifest.config.media_type, media::docker_config);
  EXPECT_EQ(manifest.config.digest.str(), digest_of("config"));
  EXPECT_EQ(manifest.config.size, 1469);
  ASSERT_EQ(manifest.layers.size(), 2u);
  EXPECT_EQ(manifest.layers[0].media_type, media::docker_layer_gzip);
  EXPECT_EQ(manifest.layers[0].digest.str(), digest_of("layer 1"));
  EXPECT_EQ(manifest.layers[0].size, 3370706);
  EXPECT_EQ(manifest.layers[1].digest.str(), digest_of("layer 2"));
  EXPECT_FALSE(manifest.layers[0].platform.has_value());
  EXPECT_TRUE(manifest.annotations.empty());
  EXPECT_TRUE(media::is_manifest(manifest.media_type));
  EXPECT_FALSE(media::is_index(manifest.media_type));
  // Written back, it is the same document without the whitespace.
  EXPECT_EQ(to_json(manifest), compact(docker_manifest_json()));
}

TEST(Manifest, ParsesOciWithAnnotations) {
  const Manifest manifest = parse_manifest(oci_manifest_json(), "manifest app:1");
  EXPECT_EQ(manifest.media_type, media::oci_manifest);
  EXPECT_EQ(manifest.config.media_type, media::oci_config);
  ASSERT_EQ(manifest.layers.size(), 2u);
  EXPECT_EQ(manifest.layers[1].media_type, media::oci_layer_zstd);
  EXPECT_EQ(manifest.layers[1].annotations.at("org.opencontainers.image.title"), "layer.tar.zst");
  EXPECT_EQ(manifest.annotations.size(), 2u);
  EXPECT_EQ(manifest.annotations.at("com.example.key2"), "value2");
  EXPECT_EQ(to_json(manifest), compact(oci_manifest_json()));
}

TEST(Manifest, MissingMediaTypeMeansOci) {
  const std::string text = R"({"schemaVersion":2,"config":{"mediaType":"a","digest":")" +
                           digest_of("c") + R"(","size":0},"layers":[]})";
  const Manifest manifest = parse_manifest(text, "manifest x");
  EXPECT_EQ(manifest.media_type, media::oci_manifest);
  EXPECT_TRUE(manifest.layers.empty());
}

TEST(Manifest, WritesCompactInDockerKeyOrder) {
  Manifest manifest;
  manifest.media_type = media::oci_manifest;
  manifest.config = {std::string(media::oci_config), Digest::of("c"), 2, std::nullopt, {}};
  manifest.layers.push_back(
      {std::string(media::oci_layer_tar), Digest::of("l"), 10, std::nullopt, {{"k", "v"}}});
  manifest.annotations = {{"b", "2"}, {"a", "1"}};
  const std::string expected =
      R"({"schemaVersion":2,"mediaType":"application/vnd.oci.image.manifest.v1+json",)"
      R"("config":{"mediaType":"application/vnd.oci.image.config.v1+json","digest":")" +
      digest_of("c") +
      R"(","size":2},"layers":[{"mediaType":"application/vnd.oci.image.layer.v1.tar",)"
      R"("digest":")" +
      digest_of("l") +
      R"(","size":10,"annotations":{"k":"v"}}],)"
      R"("annotations":{"a":"1","b":"2"}})";
  EXPECT_EQ(to_json(manifest), expected);

  // And it reads back to the same document.
  const Manifest again = parse_manifest(expected, "manifest");
  EXPECT_EQ(again.config.digest, Digest::of("c"));
  EXPECT_EQ(again.layers.at(0).annotations.at("k"), "v");
  EXPECT_EQ(to_json(again), expected);
}

TEST(Manifest, DescriptorValue) {
  Descriptor descriptor{
      std::string(media::oci_manifest), Digest::of("m"), 5, Platform{"linux", "arm64", "v8"}, {}};
  const nlohmann::json value = to_json_value(descriptor);
  EXPECT_EQ(value["mediaType"], media::oci_manifest);
  EXPECT_EQ(value["digest"], digest_of("m"));
  EXPECT_EQ(value["size"], 5);
  EXPECT_EQ(value["platform"]["variant"], "v8");
  EXPECT_FALSE(value.contains("annotations"));

  const Descriptor back = descriptor_from_json(value, "descriptor");
  EXPECT_EQ(back.media_type, descriptor.media_type);
  EXPECT_EQ(back.digest, descriptor.digest);
  EXPECT_EQ(back.size, 5);
  EXPECT_EQ(back.platform, descriptor.platform);
}

TEST(Index, ParsesAndRoundTrips) {
  const Index index = parse_index(oci_index_json(), "index redis:7");
  EXPECT_EQ(index.media_type, media::oci_index);
  EXPECT_TRUE(media::is_index(index.media_type));
  ASSERT_EQ(index.manifests.size(), 4u);
  EXPECT_EQ(index.manifests[1].platform, (Platform{"linux", "arm", "v7"}));
  EXPECT_EQ(index.manifests[3].annotations.at("vnd.docker.reference.type"), "attestation-manifest");
  EXPECT_EQ(to_json(index), compact(oci_index_json()));
  EXPECT_EQ(to_json(parse_index(to_json(index), "index")), to_json(index));
}

TEST(Index, ParsesDockerManifestList) {
  const std::string text =
      R"({"schemaVersion":2,)"
      R"("mediaType":"application/vnd.docker.distribution.manifest.list.v2+json",)"
      R"("manifests":[{"mediaType":"application/vnd.docker.distribution.manifest.v2+json",)"
      R"("digest":")" +
      digest_of("ppc") + R"(","size":527,"platform":{"architecture":"ppc64le","os":"linux"}}]})";
  const Index index = parse_index(text, "index");
  EXPECT_EQ(index.media_type, media::docker_manifest_list);
  EXPECT_TRUE(media::is_index(index.media_type));
  EXPECT_EQ(index.manifests.at(0).media_type, media::docker_manifest);
  EXPECT_EQ(to_json(index), text);
}

TEST(Index, SelectsPlatform) {
  const Index index = parse_index(oci_index_json(), "index");
  auto selected = [&](std::string_view platform) -> std::string {
    const Descriptor* descriptor = select_platform(index, Platform::parse(platform));
    return descriptor == nullptr ? "none" : descriptor->digest.str();
  };
  EXPECT_EQ(selected("linux/amd64"), digest_of("amd64"));
  EXPECT_EQ(selected("linux/arm64/v8"), digest_of("arm64 v8"));
  EXPECT_EQ(selected("linux/arm64"), digest_of("arm64 v8"));
  EXPECT_EQ(selected("linux/arm/v7"), digest_of("arm v7"));
  EXPECT_EQ(selected("linux/arm/v6"), "none");
  EXPECT_EQ(selected("linux/s390x"), "none");
  EXPECT_EQ(selected("windows/amd64"), "none");
  // A variant wanted but none offered still matches.
  EXPECT_EQ(selected("linux/amd64/v3"), digest_of("amd64"));
}

TEST(Index, SelectPlatformPrefersExactVariant) {
  auto entry = [](std::string_view name, Platform platform) {
    return Descriptor{std::string(media::oci_manifest), Digest::of(name), 1, platform, {}};
  };
  Index index;
  index.manifests.push_back(
      Descriptor{std::string(media::oci_manifest), Digest::of("none"), 1, std::nullopt, {}});
  index.manifests.push_back(entry("arm", {"linux", "arm", ""}));
  index.manifests.push_back(entry("arm v6", {"linux", "arm", "v6"}));
  index.manifests.push_back(entry("arm v7", {"linux", "arm", "v7"}));

  EXPECT_EQ(select_platform(index, Platform::parse("linux/arm/v7")), &index.manifests[3]);
  EXPECT_EQ(select_platform(index, Platform::parse("linux/arm/v5")), &index.manifests[1]);
  // Without a wanted variant, the first os/arch match wins.
  EXPECT_EQ(select_platform(index, Platform::parse("linux/arm")), &index.manifests[1]);
  std::swap(index.manifests[1], index.manifests[2]);
  EXPECT_EQ(select_platform(index, Platform::parse("linux/arm")), &index.manifests[1]);
  EXPECT_EQ(select_platform(Index{}, Platform{}), nullptr);
}

TEST(Platform, ParsesAndPrints) {
  EXPECT_EQ(Platform::parse("linux/amd64"), (Platform{"linux", "amd64", ""}));
  EXPECT_EQ(Platform::parse("linux/arm64/v8"), (Platform{"linux", "arm64", "v8"}));
  EXPECT_EQ(Platform::parse("linux/arm64/v8").str(), "linux/arm64/v8");
  EXPECT_EQ(Platform{}.str(), "linux/amd64");
  for (const char* bad :
       {"", "linux", "linux/", "/amd64", "linux//v8", "linux/arm64/", "a/b/c/d"}) {
    EXPECT_EQ(error_of([&] { Platform::parse(bad); }),
              "invalid platform \"" + std::string(bad) + "\": expected os/arch[/variant]");
  }
}

TEST(DetectMediaType, FieldThenFallbackThenShape) {
  const std::string with_field =
      R"({"mediaType":"application/vnd.docker.distribution.manifest.v2+json"})";
  EXPECT_EQ(detect_media_type(with_field, media::oci_index), media::docker_manifest);
  EXPECT_EQ(detect_media_type(R"({"manifests":[]})", media::docker_manifest_list),
            media::docker_manifest_list);
  EXPECT_EQ(detect_media_type(R"({"layers":[]})", media::docker_manifest), media::docker_manifest);
  EXPECT_EQ(detect_media_type(R"({"manifests":[]})"), media::oci_index);
  EXPECT_EQ(detect_media_type(R"({"config":{},"layers":[]})"), media::oci_manifest);
  // A generic Content-Type tells less than the document's shape.
  EXPECT_EQ(detect_media_type(R"({"manifests":[]})", "application/json"), media::oci_index);
  EXPECT_EQ(detect_media_type(R"({"mediaType":"","layers":[]})", "text/plain"),
            media::oci_manifest);
  // Nothing to go on: the fallback as given, for the caller to refuse by name.
  EXPECT_EQ(detect_media_type(R"({"fsLayers":[]})",
                              "application/vnd.docker.distribution.manifest.v1+prettyjws"),
            "application/vnd.docker.distribution.manifest.v1+prettyjws");
  EXPECT_EQ(detect_media_type(R"({})"), "");
  EXPECT_EQ(error_of([] { detect_media_type("[]"); }), "manifest: not a JSON object");
  EXPECT_EQ(error_of([] { detect_media_type("<html>"); }),
            "manifest: not valid JSON (line 1, column 1: syntax error while parsing value - "
            "invalid literal; last read: '<')");
}

TEST(ImageConfig, ReadsDiffIdsAndPlatform) {
  const std::string text = R"({
    "created": "2024-01-02T03:04:05Z",
    "architecture": "arm64",
    "variant": "v8",
    "os": "linux",
    "config": {"Env": ["PATH=/usr/bin"], "Cmd": ["sh"]},
    "rootfs": {"type": "layers", "diff_ids": [")" +
                           digest_of("a") + R"(", ")" + digest_of("b") + R"("]}
  })";
  const ImageConfig config = ImageConfig::parse(text, "config sha256:c");
  ASSERT_EQ(config.diff_ids.size(), 2u);
  EXPECT_EQ(config.diff_ids[0].str(), digest_of("a"));
  EXPECT_EQ(config.diff_ids[1].str(), digest_of("b"));
  EXPECT_EQ(config.platform, (Platform{"linux", "arm64", "v8"}));
  EXPECT_EQ(config.raw["config"]["Cmd"][0], "sh");
  EXPECT_EQ(config.raw["created"], "2024-01-02T03:04:05Z");
}

TEST(ChainIds, FollowTheOciSpec) {
  EXPECT_TRUE(chain_ids({}).empty());
  const Digest a = Digest::of("a");
  const Digest b = Digest::of("b");
  const Digest c = Digest::of("c");
  const std::vector<Digest> chain = chain_ids({a, b, c});
  ASSERT_EQ(chain.size(), 3u);
  EXPECT_EQ(chain[0], a);
  const std::string ab = "sha256:" + sha256_hex(a.str() + " " + b.str());
  EXPECT_EQ(chain[1].str(), ab);
  EXPECT_EQ(chain[2].str(), "sha256:" + sha256_hex(ab + " " + c.str()));
  EXPECT_EQ(chain_ids({a}), std::vector<Digest>{a});
}

struct BadDocument {
  std::string json;
  std::string error;
};

std::string descriptor_json(std::string_view fields) {
  return R"({"mediaType":"m","digest":")" + digest_of("d") + R"(","size":1)" + std::string(fields) +
         "}";
}

TEST(Manifest, ErrorTexts) {
  const std::string good = descriptor_json("");
  const std::string what = "manifest sha256:abc";
  const std::vector<BadDocument> cases = {
      {"{", what + ": not valid JSON (line 1, column 2: syntax error while parsing object key - "
                   "unexpected end of input; expected string literal)"},
      {"", what + ": not valid JSON (line 1, column 1: syntax error while parsing value - "
                  "unexpected end of input; expected '[', '{', or a literal)"},
      {"[]", what + ": not a JSON object"},
      {R"({"layers":[]})", what + ": missing \"config\""},
      {R"({"config":)" + good + "}", what + ": missing \"layers\""},
      {R"({"config":[],"layers":[]})", what + ": \"config\" must be an object"},
      {R"({"config":)" + good + R"(,"layers":{}})", what + ": \"layers\" must be an array"},
      {R"({"config":)" + good + R"(,"layers":[)" + good + ",1]}",
       what + ": \"layers[1]\" must be an object"},
      {R"({"schemaVersion":1,"config":)" + good + R"(,"layers":[]})",
       what + ": \"schemaVersion\" must be 2"},
      {R"({"schemaVersion":"2","config":)" + good + R"(,"layers":[]})",
       what + ": \"schemaVersion\" must be 2"},
      {R"({"mediaType":7,"config":)" + good + R"(,"layers":[]})",
       what + ": \"mediaType\" must be a string"},
      {R"({"config":{"digest":")" + digest_of("d") + R"(","size":1},"layers":[]})",
       what + ": missing \"config.mediaType\""},
      {R"({"config":{"mediaType":1,"digest":")" + digest_of("d") + R"(","size":1},"layers":[]})",
       what + ": \"config.mediaType\" must be a string"},
      {R"({"config":{"mediaType":"m","size":1},"layers":[]})",
       what + ": missing \"config.digest\""},
      {R"({"config":{"mediaType":"m","digest":"sha256:short","size":1},"layers":[]})",
       what + ": \"config.digest\" must be a sha256 digest"},
      {R"({"config":{"mediaType":"m","digest":5,"size":1},"layers":[]})",
       what + ": \"config.digest\" must be a sha256 digest"},
      {R"({"config":)" + good + R"(,"layers":[{"mediaType":"m","digest":")" + digest_of("d") +
           R"("}]})",
       what + ": missing \"layers[0].size\""},
      {R"({"config":)" + good + R"(,"layers":[{"mediaType":"m","digest":")" + digest_of("d") +
           R"(","size":-1}]})",
       what + ": \"layers[0].size\" must be a non-negative integer"},
      {R"({"config":)" + good + R"(,"layers":[{"mediaType":"m","digest":")" + digest_of("d") +
           R"(","size":1.5}]})",
       what + ": \"layers[0].size\" must be a non-negative integer"},
      {R"({"config":)" + good + R"(,"layers":[{"mediaType":"m","digest":")" + digest_of("d") +
           R"(","size":18446744073709551615}]})",
       what + ": \"layers[0].size\" must be a non-negative integer"},
      {R"({"config":)" + good + R"(,"layers":[],"annotations":[]})",
       what + ": \"annotations\" must be an object of strings"},
      {R"({"config":)" + good + R"(,"layers":[)" + descriptor_json(R"(,"annotations":{"a":1})") +
           "]}",
       what + ": \"layers[0].annotations\" must be an object of strings"},
  };
  for (const auto& c : cases) {
    SCOPED_TRACE(c.json);
    EXPECT_EQ(error_of([&] { parse_manifest(c.json, what); }), c.error);
  }
}

TEST(Index, ErrorTexts) {
  const std::string what = "index localhost:5000/app:1";
  const std::vector<BadDocument> cases = {
      {"nope", what + ": not valid JSON (line 1, column 2: syntax error while parsing value - "
                      "invalid literal; last read: 'no')"},
      {"{}", what + ": missing \"manifests\""},
      {R"({"manifests":[)" + descriptor_json(R"(,"platform":"linux/amd64")") + "]}",
       what + ": \"manifests[0].platform\" must be an object"},
      {R"({"manifests":[)" + descriptor_json(R"(,"platform":{"os":"linux"})") + "]}",
       what + ": missing \"manifests[0].platform.architecture\""},
      {R"({"manifests":[)" + descriptor_json(R"(,"platform":{"architecture":"amd64"})") + "]}",
       what + ": missing \"manifests[0].platform.os\""},
      {R"({"manifests":[)" +
           descriptor_json(R"(,"platform":{"architecture":"arm","os":"linux","variant":7})") + "]}",
       what + ": \"manifests[0].platform.variant\" must be a string"},
  };
  for (const auto& c : cases) {
    SCOPED_TRACE(c.json);
    EXPECT_EQ(error_of([&] { parse_index(c.json, what); }), c.error);
  }
  EXPECT_EQ(error_of([] { descriptor_from_json(nlohmann::json::array(), "descriptor x"); }),
            "descriptor x: not a JSON object");
  EXPECT_EQ(error_of([] { descriptor_from_json(nlohmann::json::object(), "descriptor x"); }),
            "descriptor x: missing \"mediaType\"");
}

TEST(ImageConfig, ErrorTexts) {
  const std::string what = "config sha256:c";
  const std::string platform = R"("os":"linux","architecture":"amd64")";
  const std::string rootfs = R"("rootfs":{"type":"layers","diff_ids":[]})";
  const std::vector<BadDocument> cases = {
      {"{\"os\":", what + ": not valid JSON (line 1, column 7: syntax error while parsing value "
                          "- unexpected end of input; expected '[', '{', or a literal)"},
      {"\"text\"", what + ": not a JSON object"},
      {"{" + platform + "}", what + ": missing \"rootfs\""},
      {"{" + platform + R"(,"rootfs":"layers"})", what + ": \"rootfs\" must be an object"},
      {"{" + platform + R"(,"rootfs":{"diff_ids":[]}})", what + ": missing \"rootfs.type\""},
      {"{" + platform + R"(,"rootfs":{"type":"tarballs","diff_ids":[]}})",
       what + ": \"rootfs.type\" must be \"layers\""},
      {"{" + platform + R"(,"rootfs":{"type":"layers"}})", what + ": missing \"rootfs.diff_ids\""},
      {"{" + platform + R"(,"rootfs":{"type":"layers","diff_ids":"x"}})",
       what + ": \"rootfs.diff_ids\" must be an array"},
      {"{" + platform + R"(,"rootfs":{"type":"layers","diff_ids":[")" + digest_of("a") +
           R"(","sha256:ABC"]}})",
       what + ": \"rootfs.diff_ids[1]\" must be a sha256 digest"},
      {R"({"architecture":"amd64",)" + rootfs + "}", what + ": missing \"os\""},
      {R"({"os":"linux",)" + rootfs + "}", what + ": missing \"architecture\""},
      {R"({"os":"linux","architecture":["amd64"],)" + rootfs + "}",
       what + ": \"architecture\" must be a string"},
      {"{" + platform + R"(,"variant":8,)" + rootfs + "}", what + ": \"variant\" must be a string"},
  };
  for (const auto& c : cases) {
    SCOPED_TRACE(c.json);
    EXPECT_EQ(error_of([&] { ImageConfig::parse(c.json, what); }), c.error);
  }
}

}  // namespace
}  // namespace berth::image
