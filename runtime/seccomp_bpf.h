// A container's seccomp filter compiled once, not at every start.
//
// crun compiles linux.seccomp into BPF with libseccomp at every create: about 15 ms of a
// 35 ms start on these machines for Docker's profile (bench/container-run.sh). crun 1.8's own
// cache of the result needs libgcrypt, which Debian's build lacks. berth compiles the same
// rules with the same libseccomp once, keeps the program under <root>/seccomp keyed by what
// it was compiled from, and hands it to crun through the `run.oci.seccomp_bpf_data`
// annotation (what podman does). runc has no such annotation and compiles as before.
#pragma once

#include <optional>
#include <string>

#include <nlohmann/json.hpp>

namespace berth::runtime {

/// The BPF program (struct sock_filter array) for an OCI linux.seccomp object, built with
/// crun's rule semantics: names libseccomp does not know are skipped, rules whose action is
/// the default action are left out, and conditions on one argument index repeated in a rule
/// become one rule per condition (any of them matches). nullopt when the object asks for
/// what only the runtime can do (a NOTIFY action or a listener) or is malformed: crun then
/// compiles it, and reports any error in its own words.
std::optional<std::string> compile_seccomp_bpf(const nlohmann::json& seccomp);

/// Adds the `run.oci.seccomp_bpf_data` annotation to a config.json with a linux.seccomp
/// object, from `cache_dir` (created when missing) or compiled and stored there. Leaves the
/// spec unchanged when compile_seccomp_bpf() declines.
void add_precompiled_seccomp(nlohmann::json& spec, const std::string& cache_dir);

}  // namespace berth::runtime
