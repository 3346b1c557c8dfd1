#include <fcntl.h>
#include <unistd.h>

#include <filesystem>
#include <functional>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "image/archive_api.h"
#include "image/gzip.h"
#include "image/layer_unpack.h"
#include "image/tar_reader.h"
#include "image/tar_writer.h"
#include "tests/image/compress_for_test.h"
#include "tests/support/error_of.h"
#include "tests/support/run_berth.h"
#include "util/error.h"

namespace berth::image {
namespace {

using testing::error_of;

namespace stdfs = std::filesystem;

/// What for_each_tar_entry saw of one entry.
struct Seen {
  std::string name;
  TarEntry::Type type;
  std::int64_t size;
  std::string link_target;
  std::string data;

  bool operator==(const Seen&) const = default;
};

std::ostream& operator<<(std::ostream& out, const Seen& seen) {
  return out << seen.name << " type " << static_cast<int>(seen.type) << " size " << seen.size
             << " -> " << seen.link_target << " data " << seen.data.size() << " bytes";
}

std::vector<Seen> read_entries(const std::string& path) {
  std::vector<Seen> seen;
  for_each_tar_entry(path, [&](TarEntry& entry) {
    seen.push_back(
        {entry.name(), entry.type(), entry.size(), entry.link_target(), entry.read_all()});
  });
  return seen;
}

/// A pax tar of `entries` (name, type, link target) written by libarchive, for names and
/// types TarWriter does not produce.
struct RawEntry {
  std::string name;
  unsigned int type = AE_IFREG;
  std::string hardlink;
};
std::string make_tar(const std::vector<RawEntry>& entries) {
  const ArchiveApi& api = archive_api();
  std::string bytes;
  const WriteArchive writer = new_write_archive();
  api.archive_write_set_format_pax(writer.get());
  EXPECT_EQ(api.archive_write_open(writer.get(), &bytes, nullptr, append_to_string, nullptr),
            ARCHIVE_OK);
  for (const auto& spec : entries) {
    const ArchiveEntry entry = new_archive_entry();
    api.archive_entry_set_pathname(entry.get(), spec.name.c_str());
    api.archive_entry_set_filetype(entry.get(), spec.type);
    api.archive_entry_set_perm(entry.get(), 0644);
    if (!spec.hardlink.empty()) api.archive_entry_set_hardlink(entry.get(), spec.hardlink.c_str());
    EXPECT_EQ(api.archive_write_header(writer.get(), entry.get()), ARCHIVE_OK);
  }
  EXPECT_EQ(api.archive_write_close(writer.get()), ARCHIVE_OK);
  return bytes;
}

/// Runs `action` with standard input reading the file `path`.
void with_stdin(const std::string& path, const std::function<void()>& action) {
  const int saved = ::dup(STDIN_FILENO);
  const int file = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  ASSERT_GE(file, 0);
  ::dup2(file, STDIN_FILENO);
  ::close(file);
  try {
    action();
  } catch (...) {
    ::dup2(saved, STDIN_FILENO);
    ::close(saved);
    throw;
  }
  ::dup2(saved, STDIN_FILENO);
  ::close(saved);
}

const std::string k_big = [] {
  std::string data;
  for (int i = 0; data.size() < 300'000; ++i) data += std::to_string(i) + ",";
  return data;
}();

// --- TarWriter and for_each_tar_entry ---------------------------------------------------------

TEST(TarWriter, WritesWhatForEachTarEntryReadsBack) {
  testing::TempDir dir;
  const std::string source = dir.write("source", k_big);
  const std::string long_name = "blobs/" + std::string(150, 'x');
  const std::string output = dir.path() + "/out.tar";
  TarWriter tar(output);
  tar.add_directory("blobs");
  tar.add_file(long_name, "long");
  tar.add_file_from_path("blobs/big", source);
  tar.add_file("empty", "");
  tar.add_symlink("latest", "blobs/big");
  tar.close();

  using Type = TarEntry::Type;
  EXPECT_EQ(read_entries(output),
            (std::vector<Seen>{{"blobs", Type::directory, 0, "", ""},
                               {long_name, Type::file, 4, "", "long"},
                               {"blobs/big", Type::file, std::ssize(k_big), "", k_big},
                               {"empty", Type::file, 0, "", ""},
                               {"latest", Type::symlink, 0, "blobs/big", ""}}));
}

TEST(TarWriter, WritesGzipDeterministically) {
  testing::TempDir dir;
  auto write = [&](const std::string& path) {
    TarWriter tar(path, TarWriter::Compression::gzip);
    tar.add_file("index.json", "{}");
    tar.add_file("data", k_big);
    tar.close();
    return testing::read_text(path);
  };
  const std::string first = write(dir.path() + "/1.tar.gz");
  EXPECT_EQ(first.substr(0, 2), "\x1f\x8b");
  EXPECT_EQ(first.substr(4, 4), std::string(4, '\0'));  // no timestamp
  EXPECT_EQ(write(dir.path() + "/2.tar.gz"), first);
  const auto seen = read_entries(dir.path() + "/1.tar.gz");
  ASSERT_EQ(seen.size(), 2u);
  EXPECT_EQ(seen[1].data, k_big);
}

TEST(TarWriter, WritesToADescriptorItLeavesOpen) {
  testing::TempDir dir;
  const std::string path = dir.path() + "/fd.tar";
  const int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  ASSERT_GE(fd, 0);
  {
    TarWriter tar(fd, "the pipe");
    tar.add_file("a", "b");
    tar.close();
  }
  EXPECT_EQ(::write(fd, "", 0), 0);  // still open
  ::close(fd);
  EXPECT_EQ(read_entries(path), (std::vector<Seen>{{"a", TarEntry::Type::file, 1, "", "b"}}));
}

TEST(TarWriter, AnArchiveNotClosedIsNotFinished) {
  testing::TempDir dir;
  const std::string path = dir.path() + "/abandoned.tar";
  {
    TarWriter tar(path);
    tar.add_file("a", "b");
  }
  // The end-of-archive blocks (and what libarchive still buffered) are never written.
  EXPECT_LT(stdfs::file_size(path), 1536u);
}

TEST(TarWriter, ErrorsNameTheArchiveAndTheEntry) {
  testing::TempDir dir;
  const std::string nowhere = dir.path() + "/no/such/dir/out.tar";
  EXPECT_EQ(error_of([&] { TarWriter tar(nowhere); }), nowhere + ": No such file or directory");

  const std::string output = dir.path() + "/out.tar";
  TarWriter tar(output);
  const std::string missing = dir.path() + "/missing";
  EXPECT_EQ(error_of([&] { tar.add_file_from_path("blobs/x", missing); }),
            output + ": entry \"blobs/x\": " + missing + ": No such file or directory");
  EXPECT_EQ(error_of([&] { tar.add_file_from_path("blobs/d", dir.path()); }),
            output + ": entry \"blobs/d\": " + dir.path() + ": not a regular file");

  const int full = ::open("/dev/full", O_WRONLY | O_CLOEXEC);
  ASSERT_GE(full, 0);
  EXPECT_EQ(error_of([&] {
              TarWriter tar(full, "/dev/full");
              tar.add_file("data", k_big);
              tar.close();
            }),
            "/dev/full: entry \"data\": No space left on device");
  ::close(full);
}

TEST(ForEachTarEntry, NormalisesNamesAndKeepsHardLinkTargets) {
  testing::TempDir dir;
  const std::string path = dir.write("in.tar", make_tar({{"./", AE_IFDIR, ""},
                                                         {"./etc//", AE_IFDIR, ""},
                                                         {"./etc/./passwd", AE_IFREG, ""},
                                                         {"etc/group", AE_IFREG, "./etc/passwd"},
                                                         {"dev/null", AE_IFCHR, ""}}));
  using Type = TarEntry::Type;
  EXPECT_EQ(read_entries(path),
            (std::vector<Seen>{{"etc", Type::directory, 0, "", ""},
                               {"etc/passwd", Type::file, 0, "", ""},
                               {"etc/group", Type::hardlink, 0, "etc/passwd", ""},
                               {"dev/null", Type::other, 0, "", ""}}));
}

TEST(ForEachTarEntry, ReadsCompressedArchivesAndStandardInput) {
  testing::TempDir dir;
  {
    TarWriter tar(dir.path() + "/plain.tar");
    tar.add_file("manifest.json", "[]");
    tar.close();
  }
  const std::string plain = testing::read_text(dir.path() + "/plain.tar");
  const std::string compressed = dir.write("compressed.tar.zst", compress(plain, Filter::zstd));
  const std::vector<Seen> expected{{"manifest.json", TarEntry::Type::file, 2, "", "[]"}};
  EXPECT_EQ(read_entries(compressed), expected);
  std::vector<Seen> from_stdin;
  with_stdin(compressed, [&] { from_stdin = read_entries("-"); });
  EXPECT_EQ(from_stdin, expected);
}

TEST(ForEachTarEntry, ReadsEntryDataInPieces) {
  testing::TempDir dir;
  const std::string path = dir.path() + "/in.tar";
  {
    TarWriter tar(path);
    tar.add_file("big", k_big);
    tar.add_file("skipped", "not read");
    tar.add_file("last", "end");
    tar.close();
  }
  std::string big;
  std::vector<std::string> names;
  for_each_tar_entry(path, [&](TarEntry& entry) {
    names.push_back(entry.name());
    if (entry.name() != "big") return;
    char buffer[1000];
    for (std::size_t n; (n = entry.read(buffer, sizeof buffer)) > 0;) big.append(buffer, n);
  });
  EXPECT_EQ(big, k_big);
  EXPECT_EQ(names, (std::vector<std::string>{"big", "skipped", "last"}));
}

TEST(ForEachTarEntry, RefusesEscapingNamesAndNonTars) {
  testing::TempDir dir;
  for (const std::string name : {"../x", "/abs", "a/../../x"}) {
    const std::string path =
        dir.write("bad.tar", make_tar({{"fine", AE_IFREG, ""}, {name, AE_IFREG, ""}}));
    EXPECT_EQ(error_of([&] { read_entries(path); }),
              path + ": entry \"" + name + "\" escapes the archive root");
  }
  const std::string link = dir.write("link.tar", make_tar({{"x", AE_IFREG, "../etc/passwd"}}));
  EXPECT_EQ(error_of([&] { read_entries(link); }), link + ": entry \"x\" escapes the archive root");
  const std::string garbage = dir.write("garbage", std::string(2000, 'z'));
  EXPECT_EQ(error_of([&] { read_entries(garbage); }), garbage + ": not a tar archive");
  with_stdin(garbage, [&] {
    EXPECT_EQ(error_of([&] { read_entries("-"); }), "standard input: not a tar archive");
  });
  EXPECT_EQ(error_of([&] { read_entries(dir.path() + "/none"); }),
            dir.path() + "/none: No such file or directory");
  EXPECT_EQ(error_of([&] { read_entries(dir.path()); }), dir.path() + ": Is a directory");
}

TEST(ForEachTarEntry, ExceptionsFromTheCallbackPropagate) {
  testing::TempDir dir;
  const std::string path = dir.path() + "/in.tar";
  {
    TarWriter tar(path);
    tar.add_file("a", "1");
    tar.add_file("b", "2");
    tar.close();
  }
  int calls = 0;
  EXPECT_EQ(error_of([&] {
              for_each_tar_entry(path, [&](TarEntry&) {
                ++calls;
                throw Error("stop");
              });
            }),
            "stop");
  EXPECT_EQ(calls, 1);
}

TEST(NormalizeEntryName, DropsDotsAndSlashesAndRefusesEscapes) {
  EXPECT_EQ(normalize_entry_name("./a//b/./c/"), "a/b/c");
  EXPECT_EQ(normalize_entry_name("./"), "");
  EXPECT_EQ(normalize_entry_name("."), "");
  EXPECT_EQ(normalize_entry_name("a..b/..c"), "a..b/..c");
  EXPECT_EQ(normalize_entry_name("../a"), std::nullopt);
  EXPECT_EQ(normalize_entry_name("a/.."), std::nullopt);
  EXPECT_EQ(normalize_entry_name("/etc"), std::nullopt);
}

// --- gzip_stream ----------------------------------------------------------------------------

TEST(GzipStream, CompressesAnyTarAndReturnsItsDiffId) {
  testing::TempDir dir;
  {
    TarWriter tar(dir.path() + "/rootfs.tar");
    tar.add_directory("etc");
    tar.add_file("etc/hostname", "box\n");
    tar.add_file("big", k_big);
    tar.close();
  }
  const std::string plain = testing::read_text(dir.path() + "/rootfs.tar");
  {
    TarWriter tar(dir.path() + "/rootfs.tar.gz", TarWriter::Compression::gzip);
    tar.add_directory("etc");
    tar.add_file("etc/hostname", "box\n");
    tar.add_file("big", k_big);
    tar.close();
  }
  dir.write("rootfs.tar.zst", compress(plain, Filter::zstd));
  const Digest expected = Digest::of(plain);

  std::string first_output;
  for (const char* input : {"rootfs.tar", "rootfs.tar.gz", "rootfs.tar.zst"}) {
    std::string output;
    const Digest diff_id =
        gzip_stream(dir.path() + "/" + input, [&](const void* data, std::size_t size) {
          output.append(static_cast<const char*>(data), size);
        });
    EXPECT_EQ(diff_id, expected) << input;
    EXPECT_EQ(output.substr(0, 2), "\x1f\x8b") << input;
    // The blob is the same tar, gzip-compressed, and always the same bytes.
    const std::string blob = dir.write(std::string(input) + ".blob", output);
    EXPECT_EQ(layer_diff_id(blob), expected) << input;
    if (first_output.empty()) first_output = output;
    EXPECT_EQ(output, first_output) << input;
  }

  std::string from_stdin;
  with_stdin(dir.path() + "/rootfs.tar.zst", [&] {
    EXPECT_EQ(gzip_stream("-",
                          [&](const void* data, std::size_t size) {
                            from_stdin.append(static_cast<const char*>(data), size);
                          }),
              expected);
  });
  EXPECT_EQ(from_stdin, first_output);
}

TEST(GzipStream, RefusesWhatIsNotAWholeTar) {
  testing::TempDir dir;
  auto ignore = [](const void*, std::size_t) {};
  const std::string garbage = dir.write("garbage", std::string(3000, 'q'));
  EXPECT_EQ(error_of([&] { gzip_stream(garbage, ignore); }), garbage + ": not a tar archive");
  with_stdin(garbage, [&] {
    EXPECT_EQ(error_of([&] { gzip_stream("-", ignore); }), "standard input: not a tar archive");
  });
  {
    TarWriter tar(dir.path() + "/whole.tar");
    tar.add_file("big", k_big);
    tar.close();
  }
  const std::string truncated =
      dir.write("truncated.tar", testing::read_text(dir.path() + "/whole.tar").substr(0, 100'000));
  // Entry data is skipped, not read, so libarchive's reason is the skip's.
  EXPECT_EQ(error_of([&] { gzip_stream(truncated, ignore); }),
            truncated + ": Truncated input file (needed 300032 bytes, only 99488 available)");
  EXPECT_EQ(error_of([&] {
              gzip_stream(dir.path() + "/whole.tar",
                          [](const void*, std::size_t) { throw Error("disk full"); });
            }),
            "disk full");
}

}  // namespace
}  // namespace berth::image
