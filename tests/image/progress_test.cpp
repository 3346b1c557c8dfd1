#include "image/progress.h"

#include <cstdio>
#include <string>

#include <gtest/gtest.h>

namespace berth::image {
namespace {

/// What `Progress` wrote to a temporary file.
std::string written(std::FILE* file) {
  std::fflush(file);
  std::rewind(file);
  std::string text;
  char buffer[4096];
  for (std::size_t n; (n = std::fread(buffer, 1, sizeof buffer, file)) > 0;) text.append(buffer, n);
  return text;
}

TEST(Progress, PlainModePrintsOneLinePerStatusChange) {
  std::FILE* file = std::tmpfile();
  Progress progress(Progress::Mode::plain, file);
  const auto line = progress.add("6820be59bedc", "Pulling fs layer");
  progress.status(line, "Downloading");
  progress.bytes(line, 500, 1000);  // never printed without a terminal
  progress.status(line, "Downloading");  // no change, no line
  progress.status(line, "Pull complete");
  progress.message("Digest: sha256:abc");
  EXPECT_EQ(written(file),
            "6820be59bedc: Pulling fs layer\n6820be59bedc: Downloading\n"
            "6820be59bedc: Pull complete\nDigest: sha256:abc\n");
  std::fclose(file);
}

TEST(Progress, TerminalModeRedrawsTheLinesInPlace) {
  std::FILE* file = std::tmpfile();
  Progress progress(Progress::Mode::terminal, file);
  const auto first = progress.add("aaaa", "Waiting");
  progress.add("bbbb", "Waiting");
  progress.status(first, "Downloading");
  progress.bytes(first, 2'000'000, 4'000'000);
  const std::string text = written(file);
  // The second draw moves up over the one line drawn before it, the third over two.
  EXPECT_NE(text.find("\raaaa: Waiting\x1b[K\n\x1b[1A\raaaa: Waiting\x1b[K\n\rbbbb: Waiting\x1b[K\n"),
            std::string::npos)
      << text;
  EXPECT_NE(text.find("\x1b[2A\raaaa: Downloading"), std::string::npos) << text;
  std::fclose(file);
}

TEST(Progress, QuietModePrintsNothing) {
  std::FILE* file = std::tmpfile();
  Progress progress(Progress::Mode::quiet, file);
  progress.status(progress.add("aaaa", "Waiting"), "Pull complete");
  progress.message("Status: done");
  EXPECT_EQ(written(file), "");
  std::fclose(file);
}

TEST(Progress, HumanSizesUseDockersDecimalUnits) {
  EXPECT_EQ(human_size(17), "17B");
  EXPECT_EQ(human_size(1'031'667), "1.03MB");
  EXPECT_EQ(human_size(512'000), "512kB");
  EXPECT_EQ(human_size(3'070'000'000), "3.07GB");
}

}  // namespace
}  // namespace berth::image
