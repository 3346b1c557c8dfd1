// libFuzzer target: the whole compose loader on arbitrary input, read as `-f -`.
// Any input must end in a model or a berth::Error: no crash, hang or leak.
#include <cstddef>
#include <cstdint>
#include <string>

#include <spdlog/spdlog.h>

#include "orchestrator/compose/config_hash.h"
#include "orchestrator/compose/emit.h"
#include "orchestrator/compose/loader.h"
#include "util/error.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  static const bool quiet = [] {
    spdlog::set_level(spdlog::level::off);
    return true;
  }();
  (void)quiet;
  const std::string input(reinterpret_cast<const char*>(data), size);
  berth::compose::LoadOptions options;
  options.files = {"-"};
  options.project_name = "fuzz";
  options.working_dir = "/nonexistent-berth-fuzz";
  options.environment = std::map<std::string, std::string>{{"HOME", "/root"}, {"TAG", "1.0"}};
  options.read_stdin = [&input] { return input; };
  try {
    const auto project = berth::compose::load_project(options);
    // Printing and hashing must cope with whatever the loader accepted.
    (void)berth::compose::to_yaml(project.model);
    (void)berth::compose::to_json(project.model);
    for (const auto& name : project.service_names()) {
      (void)berth::compose::service_config_hash(project.model, name);
    }
  } catch (const berth::Error&) {
    // A clear refusal is the expected outcome for most inputs.
  }
  return 0;
}
