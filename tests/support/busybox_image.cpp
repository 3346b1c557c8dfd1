#include "tests/support/busybox_image.h"

#include <sys/stat.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <stdexcept>

#include "tests/support/run_berth.h"

namespace berth::testing {

namespace {

constexpr const char* k_applets[] = {
    "sh",   "ls",       "cat",     "echo",  "sleep", "nc",   "env",  "id",  "true", "false",
    "wget", "hostname", "mkdir",   "touch", "yes",   "head", "dd",   "tr",  "ps",   "kill",
    "wc",   "grep",     "unshare", "rm",    "chown", "test", "date", "pwd", "seq",  "swapon"};

void write(const std::filesystem::path& path, const std::string& content) {
  std::ofstream out(path, std::ios::binary);
  out << content;
  if (!out) throw std::runtime_error("cannot write " + path.string());
}

}  // namespace

bool have_static_busybox() {
  // Debian's busybox-static installs /bin/busybox; the dynamic `busybox` package would too,
  // but is not what the tests install. A static binary has no PT_INTERP: ask `file`-free,
  // by looking for the loader path in the binary.
  std::ifstream in("/bin/busybox", std::ios::binary);
  if (!in) return false;
  std::string head(4096, '\0');
  in.read(head.data(), static_cast<std::streamsize>(head.size()));
  return head.find("ld-linux") == std::string::npos;
}

void make_busybox_rootfs_tar(const std::string& tar_path, const std::string& marker) {
  TempDir root;
  const std::filesystem::path dir = root.path();
  std::filesystem::create_directories(dir / "bin");
  std::filesystem::create_directories(dir / "etc");
  std::filesystem::create_directories(dir / "tmp");
  ::chmod((dir / "tmp").c_str(), 01777);
  std::filesystem::copy_file("/bin/busybox", dir / "bin/busybox");
  for (const char* applet : k_applets)
    std::filesystem::create_symlink("busybox", dir / "bin" / applet);
  write(dir / "etc/passwd",
        "root:x:0:0:root:/root:/bin/sh\napp:x:1000:1000:app:/home/app:/bin/sh\n"
        "nobody:x:65534:65534:nobody:/:/bin/false\n");
  write(dir / "etc/group", "root:x:0:\napp:x:1000:\nextra:x:2000:app\nnogroup:x:65534:\n");
  write(dir / "etc/berth-test-marker", marker);
  // Fixed owner and times so the same marker gives the same tar, hence the same digests.
  const std::string command =
      "tar --sort=name --owner=0 --group=0 --numeric-owner "
      "--mtime=@1700000000 -C '" +
      dir.string() + "' -cf '" + tar_path + "' .";
  if (std::system(command.c_str()) != 0) throw std::runtime_error("failed: " + command);
}

}  // namespace berth::testing
