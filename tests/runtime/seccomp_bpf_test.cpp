#include "runtime/seccomp_bpf.h"

#include <linux/filter.h>
#include <linux/seccomp.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <functional>
#include <string>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "tests/support/run_berth.h"
#include "util/base64.h"
#include "util/fs.h"

namespace berth::runtime {
namespace {

using nlohmann::json;
using testing::TempDir;

/// Everything allowed except: mkdir/mkdirat (EACCES); umask(022) and umask(077), two
/// conditions on one argument (ENOTSUP).
json small_profile() {
  return {{"defaultAction", "SCMP_ACT_ALLOW"},
          {"architectures", {"SCMP_ARCH_X86_64", "SCMP_ARCH_X86", "SCMP_ARCH_X32"}},
          {"syscalls",
           {{{"names", {"mkdir", "mkdirat", "a_syscall_no_kernel_has"}},
             {"action", "SCMP_ACT_ERRNO"},
             {"errnoRet", EACCES}},
            {{"names", {"umask"}},
             {"action", "SCMP_ACT_ERRNO"},
             {"errnoRet", ENOTSUP},
             {"args",
              {{{"index", 0}, {"value", 022}, {"op", "SCMP_CMP_EQ"}},
               {{"index", 0}, {"value", 077}, {"op", "SCMP_CMP_EQ"}}}}},
            // The default action again: left out, as the runtimes do (libseccomp refuses it).
            {{"names", {"getpid"}}, {"action", "SCMP_ACT_ALLOW"}}}}};
}

/// The errno `probe` ends with (0: it succeeded) in a child process under `program`.
int errno_under_filter(const std::string& program, const std::function<long()>& probe) {
  const pid_t child = ::fork();
  if (child == 0) {
    sock_fprog filter{static_cast<unsigned short>(program.size() / sizeof(sock_filter)),
                      reinterpret_cast<sock_filter*>(const_cast<char*>(program.data()))};
    if (::prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0 ||
        ::syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER, 0, &filter) != 0) {
      ::_exit(255);
    }
    ::_exit(probe() < 0 ? errno : 0);
  }
  int status = 0;
  ::waitpid(child, &status, 0);
  return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

TEST(SeccompBpf, TheCompiledProgramFiltersWhatTheRulesSay) {
  const auto program = compile_seccomp_bpf(small_profile());
  ASSERT_TRUE(program.has_value());
  const TempDir dir;
  const std::string made = dir.path() + "/made";
  EXPECT_EQ(errno_under_filter(*program, [&] { return ::mkdir(made.c_str(), 0755); }), EACCES);
  EXPECT_FALSE(fs::is_directory(made));
  // umask itself cannot fail: the filter answers, or the kernel does.
  EXPECT_EQ(errno_under_filter(*program, [] { return ::syscall(SYS_umask, 022); }), ENOTSUP);
  EXPECT_EQ(errno_under_filter(*program, [] { return ::syscall(SYS_umask, 077); }), ENOTSUP);
  EXPECT_EQ(errno_under_filter(*program, [] { return ::syscall(SYS_umask, 027); }), 0);
  EXPECT_EQ(errno_under_filter(*program, [] { return ::syscall(SYS_getpid); }), 0);
}

TEST(SeccompBpf, WhatOnlyTheRuntimeCanDoIsLeftToIt) {
  json notify = small_profile();
  notify["syscalls"][0]["action"] = "SCMP_ACT_NOTIFY";
  EXPECT_EQ(compile_seccomp_bpf(notify), std::nullopt);
  json listener = small_profile();
  listener["listenerPath"] = "/run/listener.sock";
  EXPECT_EQ(compile_seccomp_bpf(listener), std::nullopt);
  // Malformed: the runtime compiles it and says what is wrong in its own words.
  json unknown_action = small_profile();
  unknown_action["defaultAction"] = "SCMP_ACT_SHRUG";
  EXPECT_EQ(compile_seccomp_bpf(unknown_action), std::nullopt);
  json errno_on_allow = small_profile();
  errno_on_allow["syscalls"][2]["errnoRet"] = 1;
  EXPECT_EQ(compile_seccomp_bpf(errno_on_allow), std::nullopt);
  json bad_index = small_profile();
  bad_index["syscalls"][1]["args"][0]["index"] = 6;
  EXPECT_EQ(compile_seccomp_bpf(bad_index), std::nullopt);
}

TEST(SeccompBpf, TheAnnotationCarriesTheCachedProgram) {
  const TempDir dir;
  const std::string cache = dir.path() + "/seccomp";
  json spec{{"linux", {{"seccomp", small_profile()}}}};
  add_precompiled_seccomp(spec, cache);
  const std::string annotation = spec["annotations"]["run.oci.seccomp_bpf_data"];
  EXPECT_EQ(base64_decode(annotation), compile_seccomp_bpf(small_profile()));

  // The program is kept under a name of its own: the next spec reads it from there.
  std::vector<std::string> cached;
  for (const auto& entry : std::filesystem::directory_iterator(cache)) {
    cached.push_back(entry.path());
  }
  ASSERT_EQ(cached.size(), 1u);
  EXPECT_EQ(base64_encode(fs::read_file(cached[0])), annotation);
  fs::write_file_atomic(cached[0], std::string(8, '\0'));  // a program no compiler made
  json again{{"linux", {{"seccomp", small_profile()}}}};
  add_precompiled_seccomp(again, cache);
  EXPECT_EQ(again["annotations"]["run.oci.seccomp_bpf_data"], base64_encode(std::string(8, '\0')));

  // A broken cache entry (not whole instructions) is compiled again.
  fs::write_file_atomic(cached[0], "123");
  json mended{{"linux", {{"seccomp", small_profile()}}}};
  add_precompiled_seccomp(mended, cache);
  EXPECT_EQ(mended["annotations"]["run.oci.seccomp_bpf_data"], annotation);
}

TEST(SeccompBpf, NoFilterNoAnnotation) {
  const TempDir dir;
  json unconfined{{"linux", {{"namespaces", json::array()}}}};
  add_precompiled_seccomp(unconfined, dir.path() + "/seccomp");
  EXPECT_FALSE(unconfined.contains("annotations"));
  json notify{{"linux", {{"seccomp", small_profile()}}}};
  notify["linux"]["seccomp"]["syscalls"][0]["action"] = "SCMP_ACT_NOTIFY";
  add_precompiled_seccomp(notify, dir.path() + "/seccomp");
  EXPECT_FALSE(notify.contains("annotations"));
}

}  // namespace
}  // namespace berth::runtime
