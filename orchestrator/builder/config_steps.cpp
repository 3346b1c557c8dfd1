// The instructions that change only the image config: they add no layer and no vertex.
#include <fmt/format.h>
#include <fmt/ranges.h>

#include "image/dockerfile/lexer.h"
#include "orchestrator/builder/build_session.h"
#include "util/error.h"

namespace berth::builder {

using image::dockerfile::Instruction;
using nlohmann::json;

namespace {

namespace df = image::dockerfile;

/// The command of CMD, ENTRYPOINT and HEALTHCHECK CMD: the exec form as written, the shell
/// form run by the stage's SHELL.
json command_of(const StageRun& run, const Instruction& instruction, std::string_view text,
                bool json_form, const std::vector<std::string>& args) {
  if (json_form) return args;
  json command = json::array();
  const json& shell = run.state.config().value("Shell", json());
  if (shell.is_array() && !shell.empty()) {
    command = shell;
  } else {
    command = {"/bin/sh", "-c"};
  }
  (void)instruction;
  command.push_back(std::string(text));
  return command;
}

/// Go's duration syntax as HEALTHCHECK's flags take it ("30s", "1m30s", "500ms"), in
/// nanoseconds.
std::int64_t parse_duration(const StageRun& run, const Instruction& instruction,
                            std::string_view flag, std::string_view text) {
  std::int64_t total = 0;
  std::size_t i = 0;
  if (text.empty()) run.fail(instruction, fmt::format("--{}: empty duration", flag));
  while (i < text.size()) {
    std::size_t start = i;
    while (i < text.size() && (std::isdigit(static_cast<unsigned char>(text[i])) || text[i] == '.'))
      ++i;
    if (start == i) run.fail(instruction, fmt::format("--{}: invalid duration {}", flag, text));
    const double number = std::stod(std::string(text.substr(start, i - start)));
    std::size_t unit_start = i;
    while (i < text.size() && std::isalpha(static_cast<unsigned char>(text[i]))) ++i;
    const std::string_view unit = text.substr(unit_start, i - unit_start);
    double scale = 0;
    if (unit == "ns")
      scale = 1;
    else if (unit == "us" || unit == "µs")
      scale = 1e3;
    else if (unit == "ms")
      scale = 1e6;
    else if (unit == "s")
      scale = 1e9;
    else if (unit == "m")
      scale = 60e9;
    else if (unit == "h")
      scale = 3600e9;
    else
      run.fail(instruction, fmt::format("--{}: invalid duration {}", flag, text));
    total += static_cast<std::int64_t>(number * scale);
  }
  return total;
}

void healthcheck(StageRun& run, const Instruction& instruction) {
  df::check_flags(instruction, {"interval", "timeout", "start-period", "start-interval", "retries"},
                  run.session.file_name);
  json& config = run.state.config();
  std::string text = instruction.text;
  if (!instruction.json_form) {
    const auto first = text.find_first_of(" \t");
    const std::string keyword = text.substr(0, first);
    if (keyword.size() == 4 && strcasecmp(keyword.c_str(), "NONE") == 0) {
      if (first != std::string::npos && text.find_first_not_of(" \t", first) != std::string::npos)
        run.fail(instruction, "HEALTHCHECK NONE takes no arguments");
      config["Healthcheck"] = {{"Test", {"NONE"}}};
      return;
    }
  }
  // The parser keeps `CMD ...` as the text; its exec form is the JSON after CMD.
  const auto first = text.find_first_of(" \t");
  const std::string keyword = text.substr(0, first);
  if (strcasecmp(keyword.c_str(), "CMD") != 0) {
    run.fail(instruction, "HEALTHCHECK requires CMD or NONE");
  }
  std::string rest = first == std::string::npos ? "" : text.substr(first);
  rest.erase(0, rest.find_first_not_of(" \t"));
  if (rest.empty()) run.fail(instruction, "HEALTHCHECK CMD requires a command");
  json test = json::array();
  try {
    const json parsed = json::parse(rest);
    if (!parsed.is_array() || parsed.empty()) throw json::other_error::create(0, "", nullptr);
    for (const auto& word : parsed) test.push_back(word.get<std::string>());
    test.insert(test.begin(), "CMD");
  } catch (const json::exception&) {
    test = {"CMD-SHELL", rest};
  }
  json check = {{"Test", test}};
  const auto duration = [&](const char* flag, const char* key) {
    if (const auto* found = df::find_flag(instruction, flag))
      check[key] = parse_duration(run, instruction, flag, found->value);
  };
  duration("interval", "Interval");
  duration("timeout", "Timeout");
  duration("start-period", "StartPeriod");
  duration("start-interval", "StartInterval");
  if (const auto* retries = df::find_flag(instruction, "retries")) {
    try {
      const int value = std::stoi(retries->value);
      if (value < 0) throw std::invalid_argument("negative");
      check["Retries"] = value;
    } catch (const std::exception&) {
      run.fail(instruction, fmt::format("--retries: not a number: {}", retries->value));
    }
  }
  config["Healthcheck"] = check;
}

void arg(StageRun& run, const Instruction& instruction) {
  const auto lookup = run.lookup();
  for (auto& [name, value] :
       df::parse_key_values("ARG", instruction.text, lookup, run.session.file.escape)) {
    std::optional<std::string> resolved = value;
    if (const auto given = run.session.options.build_args.find(name);
        given != run.session.options.build_args.end()) {
      resolved = given->second;
      run.session.use_arg(name);
    } else if (!value) {
      // `ARG name` in a stage takes the value of the global ARG of that name.
      if (const auto global = run.session.global_args.find(name);
          global != run.session.global_args.end()) {
        resolved = global->second;
      }
    }
    run.state.args[name] = resolved;
  }
}

/// A path as WORKDIR and friends take it: relative ones from the current working directory.
std::string from_workdir(const StageRun& run, const std::string& path) {
  if (!path.empty() && path.front() == '/') return path;
  std::string base = run.state.config().value("WorkingDir", std::string());
  if (base.empty() || base.back() != '/') base.push_back('/');
  return base + path;
}

}  // namespace

std::string absolute_workdir(const StageRun& run, const std::string& path) {
  return from_workdir(run, path);
}

bool config_instruction(StageRun& run, const Instruction& instruction) {
  const std::string& keyword = instruction.keyword;
  const char escape = run.session.file.escape;
  json& config = run.state.config();
  const auto lookup = run.lookup();
  bool empty_layer = true;
  if (keyword == "ARG") {
    arg(run, instruction);
    // Recorded as BuildKit records it; the values reach the cache through the steps using
    // them (RUN's environment, COPY's expanded words).
    run.state.add_history(instruction.original, true);
    return true;
  } else if (keyword == "ENV") {
    for (const auto& [name, value] : df::parse_key_values("ENV", instruction.text, lookup, escape))
      run.state.set_env(name, value.value_or(""));
  } else if (keyword == "LABEL") {
    for (const auto& [name, value] :
         df::parse_key_values("LABEL", instruction.text, lookup, escape))
      config["Labels"][name] = value.value_or("");
  } else if (keyword == "EXPOSE") {
    for (std::string port : df::expand_words(instruction.text, lookup, escape)) {
      if (port.find('/') == std::string::npos) port += "/tcp";
      const std::string number = port.substr(0, port.find('/'));
      const std::string proto = port.substr(port.find('/') + 1);
      if (number.empty() || number.find_first_not_of("0123456789-") != std::string::npos ||
          (proto != "tcp" && proto != "udp" && proto != "sctp")) {
        run.fail(instruction, fmt::format("invalid containerPort: {}", port));
      }
      config["ExposedPorts"][port] = json::object();
    }
  } else if (keyword == "USER") {
    config["User"] = df::expand_word(instruction.text, lookup, escape);
  } else if (keyword == "VOLUME") {
    const std::vector<std::string> paths = instruction.json_form
                                               ? instruction.args
                                               : df::expand_words(instruction.text, lookup, escape);
    if (paths.empty()) run.fail(instruction, "VOLUME specified can not be an empty string");
    for (const auto& path : paths) {
      if (path.empty()) run.fail(instruction, "VOLUME specified can not be an empty string");
      config["Volumes"][path] = json::object();
    }
  } else if (keyword == "CMD") {
    config["Cmd"] =
        command_of(run, instruction, instruction.text, instruction.json_form, instruction.args);
    run.cmd_set = true;
  } else if (keyword == "ENTRYPOINT") {
    config["Entrypoint"] =
        command_of(run, instruction, instruction.text, instruction.json_form, instruction.args);
    // Docker: an ENTRYPOINT drops a CMD that came from the base image.
    if (!run.cmd_set) config.erase("Cmd");
  } else if (keyword == "SHELL") {
    if (!instruction.json_form || instruction.args.empty())
      run.fail(instruction, "SHELL requires the arguments to be in JSON form");
    config["Shell"] = instruction.args;
  } else if (keyword == "STOPSIGNAL") {
    config["StopSignal"] = df::expand_word(instruction.text, lookup, escape);
  } else if (keyword == "HEALTHCHECK") {
    healthcheck(run, instruction);
  } else if (keyword == "ONBUILD") {
    config["OnBuild"].push_back(instruction.text);
  } else if (keyword == "MAINTAINER") {
    run.state.image["author"] = instruction.text;
  } else {
    return false;
  }
  run.state.advance(fmt::format("{} {}", keyword, config.dump()));
  run.state.add_history(instruction.original, empty_layer);
  return true;
}

}  // namespace berth::builder
