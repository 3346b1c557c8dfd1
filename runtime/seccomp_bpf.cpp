#include "runtime/seccomp_bpf.h"

#include <seccomp.h>
#include <sys/mman.h>
#include <unistd.h>

#include <array>
#include <cctype>
#include <cerrno>
#include <cstdint>
#include <filesystem>
#include <memory>
#include <string_view>

#include <fmt/format.h>

#include "util/base64.h"
#include "util/error.h"
#include "util/fs.h"
#include "util/sha256.h"

namespace berth::runtime {

namespace {

using json = nlohmann::json;

/// Bumped when the way berth compiles changes, so older cached programs are not reused.
constexpr std::string_view k_compiler_revision = "1";

/// A libseccomp action, or nullopt for one berth leaves to the runtime (NOTIFY) or does not
/// know. `errno_ret` applies to ERRNO and TRACE only, as in the runtime spec.
std::optional<std::uint32_t> action_value(std::string_view name, std::uint32_t errno_ret) {
  if (name == "SCMP_ACT_ALLOW") return SCMP_ACT_ALLOW;
  if (name == "SCMP_ACT_ERRNO") return SCMP_ACT_ERRNO(errno_ret);
  if (name == "SCMP_ACT_TRACE") return SCMP_ACT_TRACE(errno_ret);
  if (name == "SCMP_ACT_KILL" || name == "SCMP_ACT_KILL_THREAD") return SCMP_ACT_KILL_THREAD;
  if (name == "SCMP_ACT_KILL_PROCESS") return SCMP_ACT_KILL_PROCESS;
  if (name == "SCMP_ACT_TRAP") return SCMP_ACT_TRAP;
  if (name == "SCMP_ACT_LOG") return SCMP_ACT_LOG;
  return std::nullopt;
}

/// A non-negative integer, however the JSON holds it (parsed text gives unsigned, code that
/// builds a spec often signed).
std::optional<std::uint64_t> natural(const json& value) {
  if (value.is_number_unsigned()) return value.get<std::uint64_t>();
  if (value.is_number_integer() && value.get<std::int64_t>() >= 0) {
    return static_cast<std::uint64_t>(value.get<std::int64_t>());
  }
  return std::nullopt;
}

bool takes_errno(std::string_view action) {
  return action == "SCMP_ACT_ERRNO" || action == "SCMP_ACT_TRACE";
}

/// The action of an object with "action"/"defaultAction" and an optional errno field.
std::optional<std::uint32_t> read_action(const json& object, const char* action_key,
                                         const char* errno_key) {
  const auto action = object.find(action_key);
  if (action == object.end() || !action->is_string()) return std::nullopt;
  std::uint32_t errno_ret = EPERM;
  if (const auto value = object.find(errno_key); value != object.end()) {
    const auto number = natural(*value);
    if (!number || *number > 4095 || !takes_errno(action->get<std::string>())) {
      return std::nullopt;
    }
    errno_ret = static_cast<std::uint32_t>(*number);
  }
  return action_value(action->get<std::string>(), errno_ret);
}

std::optional<scmp_compare> compare_op(std::string_view name) {
  if (name == "SCMP_CMP_NE") return SCMP_CMP_NE;
  if (name == "SCMP_CMP_LT") return SCMP_CMP_LT;
  if (name == "SCMP_CMP_LE") return SCMP_CMP_LE;
  if (name == "SCMP_CMP_EQ") return SCMP_CMP_EQ;
  if (name == "SCMP_CMP_GE") return SCMP_CMP_GE;
  if (name == "SCMP_CMP_GT") return SCMP_CMP_GT;
  if (name == "SCMP_CMP_MASKED_EQ") return SCMP_CMP_MASKED_EQ;
  return std::nullopt;
}

/// "SCMP_ARCH_X86_64" -> libseccomp's token for "x86_64"; 0 when unknown.
std::uint32_t arch_token(std::string name) {
  constexpr std::string_view prefix = "SCMP_ARCH_";
  if (name.starts_with(prefix)) name.erase(0, prefix.size());
  for (char& c : name) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return seccomp_arch_resolve_name(name.c_str());
}

std::optional<std::vector<scmp_arg_cmp>> read_conditions(const json& rule) {
  std::vector<scmp_arg_cmp> conditions;
  const auto args = rule.find("args");
  if (args == rule.end() || args->is_null()) return conditions;
  if (!args->is_array() || args->size() > 6) return std::nullopt;
  for (const json& arg : *args) {
    if (!arg.is_object() || !arg.contains("index") || !arg.contains("op") ||
        !arg["op"].is_string()) {
      return std::nullopt;
    }
    const auto op = compare_op(arg["op"].get<std::string>());
    const auto index = natural(arg["index"]);
    const auto value = natural(arg.value("value", json(0)));
    const auto value_two = natural(arg.value("valueTwo", json(0)));
    if (!op || !index || *index >= 6 || !value || !value_two) return std::nullopt;
    scmp_arg_cmp condition{};
    condition.arg = static_cast<unsigned>(*index);
    condition.op = *op;
    condition.datum_a = *value;
    condition.datum_b = *value_two;
    conditions.push_back(condition);
  }
  return conditions;
}

/// libseccomp joins a rule's conditions with AND and refuses two on one argument; the
/// runtimes read such a rule as one alternative per condition.
bool repeats_an_argument(const std::vector<scmp_arg_cmp>& conditions) {
  std::array<bool, 6> seen{};
  for (const auto& condition : conditions) {
    if (seen[condition.arg]) return true;
    seen[condition.arg] = true;
  }
  return false;
}

struct FilterDeleter {
  void operator()(void* filter) const { seccomp_release(filter); }
};

/// The exported program: libseccomp 2.5 writes it only to a file descriptor.
std::optional<std::string> export_program(scmp_filter_ctx filter) {
  const int fd = ::memfd_create("berth-seccomp", MFD_CLOEXEC);
  if (fd < 0) return std::nullopt;
  std::string program;
  if (seccomp_export_bpf(filter, fd) == 0 && ::lseek(fd, 0, SEEK_SET) == 0) {
    char buffer[16384];
    ssize_t n;
    while ((n = ::read(fd, buffer, sizeof buffer)) > 0) {
      program.append(buffer, static_cast<std::size_t>(n));
    }
    if (n < 0) program.clear();
  }
  ::close(fd);
  if (program.empty() || program.size() % 8 != 0) return std::nullopt;  // 8 = sock_filter
  return program;
}

}  // namespace

std::optional<std::string> compile_seccomp_bpf(const json& seccomp) {
  if (!seccomp.is_object() || seccomp.contains("listenerPath")) return std::nullopt;
  const auto default_action = read_action(seccomp, "defaultAction", "defaultErrnoRet");
  if (!default_action) return std::nullopt;
  std::unique_ptr<void, FilterDeleter> filter(seccomp_init(*default_action));
  if (!filter) return std::nullopt;

  if (const auto architectures = seccomp.find("architectures");
      architectures != seccomp.end() && architectures->is_array()) {
    for (const json& name : *architectures) {
      if (!name.is_string()) return std::nullopt;
      const std::uint32_t token = arch_token(name.get<std::string>());
      if (token == 0) return std::nullopt;
      const int added = seccomp_arch_add(filter.get(), token);
      if (added != 0 && added != -EEXIST) return std::nullopt;
    }
  }

  const auto syscalls = seccomp.find("syscalls");
  if (syscalls != seccomp.end() && syscalls->is_array()) {
    for (const json& rule : *syscalls) {
      if (!rule.is_object() || !rule.contains("names") || !rule["names"].is_array()) {
        return std::nullopt;
      }
      const auto action = read_action(rule, "action", "errnoRet");
      const auto conditions = read_conditions(rule);
      if (!action || !conditions) return std::nullopt;
      if (*action == *default_action) continue;  // libseccomp refuses such a rule
      const bool one_rule_per_condition = repeats_an_argument(*conditions);
      for (const json& name : rule["names"]) {
        if (!name.is_string()) return std::nullopt;
        const int number = seccomp_syscall_resolve_name(name.get<std::string>().c_str());
        if (number == __NR_SCMP_ERROR) continue;  // newer than this libseccomp: skipped
        int added = 0;
        if (!one_rule_per_condition) {
          added =
              seccomp_rule_add_array(filter.get(), *action, number,
                                     static_cast<unsigned>(conditions->size()), conditions->data());
        } else {
          for (const auto& condition : *conditions) {
            added = seccomp_rule_add_array(filter.get(), *action, number, 1, &condition);
            if (added != 0) break;
          }
        }
        if (added != 0) return std::nullopt;
      }
    }
  }
  return export_program(filter.get());
}

void add_precompiled_seccomp(json& spec, const std::string& cache_dir) {
  const json* seccomp = nullptr;
  if (const auto linux_section = spec.find("linux"); linux_section != spec.end()) {
    if (const auto found = linux_section->find("seccomp"); found != linux_section->end()) {
      seccomp = &*found;
    }
  }
  if (seccomp == nullptr || seccomp->is_null()) return;

  // Keyed by the rules and by the libseccomp that compiles them: an upgrade may know more
  // syscall names, and its program must replace the old one.
  const scmp_version* version = seccomp_version();
  const std::string key =
      sha256_hex(fmt::format("{}\n{}.{}.{}\n{}", k_compiler_revision, version->major,
                             version->minor, version->micro, seccomp->dump()));
  const std::string path = cache_dir + "/" + key + ".bpf";
  std::optional<std::string> program = fs::read_file_if_exists(path);
  if (!program || program->empty() || program->size() % 8 != 0) {
    program = compile_seccomp_bpf(*seccomp);
    if (!program) return;
    try {
      std::filesystem::create_directories(cache_dir);
      fs::write_file_atomic(path, *program, 0600);
    } catch (const std::exception&) {
      // Only the next start's speed depends on the cache; this one has its program.
    }
  }
  spec["annotations"]["run.oci.seccomp_bpf_data"] = base64_encode(*program);
}

}  // namespace berth::runtime
