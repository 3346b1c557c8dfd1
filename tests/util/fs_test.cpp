#include "util/fs.h"

#include <gtest/gtest.h>

#include "tests/support/run_berth.h"
#include "util/error.h"
#include "util/sha256.h"

namespace berth {
namespace {

TEST(Fs, AbsoluteNormalisesLexically) {
  EXPECT_EQ(fs::absolute("x", "/a/b"), "/a/b/x");
  EXPECT_EQ(fs::absolute("./x/../y", "/a/b"), "/a/b/y");
  EXPECT_EQ(fs::absolute("../../../..", "/a/b"), "/");
  EXPECT_EQ(fs::absolute("/abs//p/./q/", "/ignored"), "/abs/p/q");
  EXPECT_EQ(fs::absolute("", "/a/b"), "/a/b");
}

TEST(Fs, DirnameAndBasename) {
  EXPECT_EQ(fs::dirname("/a/b"), "/a");
  EXPECT_EQ(fs::dirname("/a"), "/");
  EXPECT_EQ(fs::basename("/a/b"), "b");
  EXPECT_EQ(fs::basename("/"), "");
}

TEST(Fs, ReadFileNamesThePathOnFailure) {
  testing::TempDir dir;
  const std::string file = dir.write("f.txt", "hello\n");
  EXPECT_EQ(fs::read_file(file), "hello\n");
  EXPECT_FALSE(fs::read_file_if_exists(dir.path() + "/missing"));
  try {
    fs::read_file(dir.path() + "/missing");
    FAIL() << "no error";
  } catch (const Error& e) {
    EXPECT_EQ(std::string(e.what()), dir.path() + "/missing: no such file");
  }
  // A directory or device is refused instead of read (no hang on /dev/zero).
  EXPECT_THROW(fs::read_file(dir.path()), Error);
  EXPECT_THROW(fs::read_file("/dev/zero"), Error);
}

TEST(Sha256, KnownDigests) {
  EXPECT_EQ(sha256_hex(""), "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
  EXPECT_EQ(sha256_hex("abc"), "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
}

}  // namespace
}  // namespace berth
