#include "image/dockerfile/syntax.h"

#include <fmt/format.h>

#include <algorithm>
#include <array>
#include <set>

#include "image/dockerfile/heredoc.h"
#include "image/dockerfile/instruction_line.h"
#include "image/dockerfile/line_reader.h"
#include "util/error.h"
#include "util/strings.h"

namespace berth::image::dockerfile {
namespace {

constexpr std::array<std::string_view, 18> k_keywords = {
    "FROM",    "RUN", "CMD",     "LABEL",      "MAINTAINER",  "EXPOSE",
    "ENV",     "ADD", "COPY",    "ENTRYPOINT", "VOLUME",      "USER",
    "WORKDIR", "ARG", "ONBUILD", "STOPSIGNAL", "HEALTHCHECK", "SHELL"};

/// The instructions whose arguments may be a JSON array. HEALTHCHECK's may too, after its
/// `CMD`, which the builder reads from the text.
constexpr std::array<std::string_view, 7> k_json_keywords = {
    "RUN", "CMD", "ENTRYPOINT", "SHELL", "VOLUME", "COPY", "ADD"};

constexpr std::array<std::string_view, 3> k_heredoc_keywords = {"RUN", "COPY", "ADD"};

/// Flags that may be given more than once (Docker's "strings" flags).
constexpr std::array<std::string_view, 3> k_repeatable_flags = {"mount", "exclude", "device"};

template <std::size_t N>
bool contains(const std::array<std::string_view, N>& list, std::string_view word) {
  return std::find(list.begin(), list.end(), word) != list.end();
}

/// Reports problems as `<file>:<line>: <reason>`.
class Failure {
 public:
  explicit Failure(const std::string& file_name) : m_file_name(file_name) {}

  [[noreturn]] void at(int line, std::string_view reason) const {
    throw Error(fmt::format("{}:{}: {}", m_file_name, line, reason));
  }

 private:
  const std::string& m_file_name;
};

/// Fills `args` for the exec form, or leaves the shell form's `text`.
void take_json_form(Instruction& instruction) {
  if (!contains(k_json_keywords, instruction.keyword)) {
    return;
  }
  if (std::optional<std::vector<std::string>> args = json_array(instruction.text)) {
    instruction.json_form = true;
    instruction.args = std::move(*args);
    instruction.text.clear();
  }
}

/// Docker's checks of the number of arguments, those that need no expansion.
void check_arguments(const Instruction& instruction, const Failure& fail) {
  const std::string& keyword = instruction.keyword;
  const bool empty = instruction.json_form ? instruction.args.empty() : instruction.text.empty();
  if (keyword == "SHELL") {
    if (!empty && !instruction.json_form) {
      fail.at(instruction.line, "SHELL requires the arguments to be in JSON form");
    }
  }
  if (keyword == "MAINTAINER" || keyword == "WORKDIR" || keyword == "USER" ||
      keyword == "STOPSIGNAL") {
    if (empty) {
      fail.at(instruction.line, fmt::format("{} requires exactly one argument", keyword));
    }
  } else if (keyword == "ENV" || keyword == "LABEL" || keyword == "ARG" || keyword == "EXPOSE" ||
             keyword == "VOLUME" || keyword == "ONBUILD" || keyword == "HEALTHCHECK" ||
             keyword == "SHELL") {
    if (empty) {
      fail.at(instruction.line, fmt::format("{} requires at least one argument", keyword));
    }
  } else if (keyword == "COPY" || keyword == "ADD") {
    const std::vector<std::string_view> words =
        instruction.json_form
            ? std::vector<std::string_view>(instruction.args.begin(), instruction.args.end())
            : split_blanks(instruction.text);
    if (words.size() < 2) {
      fail.at(instruction.line,
              fmt::format("{} requires at least two arguments, but only one was provided. "
                          "Destination could not be determined",
                          keyword));
    }
    if (!instruction.json_form && parse_heredoc_word(words.back())) {
      fail.at(instruction.line,
              fmt::format("{} cannot accept a heredoc as a destination", keyword));
    }
  }
}

/// Reads the bodies of the heredocs a RUN, COPY or ADD in shell form announces.
std::vector<Heredoc> heredocs_of(const Instruction& instruction, LineReader& reader, char escape,
                                 const std::string& file_name) {
  if (!contains(k_heredoc_keywords, instruction.keyword) || instruction.json_form) {
    return {};
  }
  std::vector<Heredoc> heredocs = find_heredocs(instruction.text, escape);
  read_heredoc_bodies(reader, heredocs, instruction.line, file_name);
  return heredocs;
}

/// ONBUILD's trigger: checked, and completed with its heredocs the way Docker stores it.
void take_trigger(Instruction& onbuild, LineReader& reader, char escape, const Failure& fail,
                  const std::string& file_name) {
  Instruction trigger = split_instruction(onbuild.text, onbuild.line);
  if (trigger.keyword == "ONBUILD") {
    fail.at(onbuild.line, "Chaining ONBUILD via `ONBUILD ONBUILD` isn't allowed");
  }
  if (trigger.keyword == "FROM" || trigger.keyword == "MAINTAINER") {
    fail.at(onbuild.line, fmt::format("{} isn't allowed as an ONBUILD trigger", trigger.keyword));
  }
  take_json_form(trigger);
  onbuild.heredocs = heredocs_of(trigger, reader, escape, file_name);
  for (const Heredoc& heredoc : onbuild.heredocs) {
    onbuild.text += "\n" + heredoc.content + heredoc.name;
  }
}

bool valid_stage_name(std::string_view name) {
  if (name.empty() || name.front() < 'a' || name.front() > 'z') {
    return false;
  }
  return std::all_of(name.begin(), name.end(), [](char c) {
    return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' || c == '_' || c == '.';
  });
}

Stage stage_of(Instruction from, const std::vector<Stage>& earlier, const Failure& fail) {
  const std::vector<std::string_view> words = split_blanks(from.text);
  Stage stage;
  if (words.size() == 3 && lower(words[1]) == "as") {
    stage.name = lower(words[2]);
    if (!valid_stage_name(stage.name)) {
      fail.at(from.line, fmt::format("invalid name for build stage: \"{}\", name can't start "
                                     "with a number or contain symbols",
                                     words[2]));
    }
    for (const Stage& other : earlier) {
      if (other.name == stage.name) {
        fail.at(from.line, fmt::format("duplicate stage name \"{}\"", stage.name));
      }
    }
  } else if (words.size() != 1) {
    fail.at(from.line, "FROM requires either one or three arguments");
  }
  stage.base = std::string(words.front());
  stage.from = std::move(from);
  return stage;
}

}  // namespace

Dockerfile parse(std::string_view text, const std::string& file_name) {
  const Failure fail(file_name);
  Dockerfile dockerfile;
  LineReader reader(text, file_name);
  reader.read_directives(dockerfile);
  bool any = false;
  while (const std::optional<LogicalLine> line = reader.next_instruction()) {
    any = true;
    Instruction instruction = split_instruction(line->text, line->line);
    if (!contains(k_keywords, instruction.keyword)) {
      // Named as written: `runn` is what the user has to look for.
      fail.at(line->line, fmt::format("unknown instruction: {}",
                                      line->text.substr(0, instruction.keyword.size())));
    }
    if (dockerfile.stages.empty() && instruction.keyword != "FROM" &&
        instruction.keyword != "ARG") {
      fail.at(line->line, fmt::format("no FROM before {}", instruction.keyword));
    }
    take_json_form(instruction);
    check_arguments(instruction, fail);
    if (instruction.keyword == "ONBUILD") {
      take_trigger(instruction, reader, dockerfile.escape, fail, file_name);
    } else {
      instruction.heredocs = heredocs_of(instruction, reader, dockerfile.escape, file_name);
    }
    if (instruction.keyword == "FROM") {
      dockerfile.stages.push_back(stage_of(std::move(instruction), dockerfile.stages, fail));
    } else if (dockerfile.stages.empty()) {
      dockerfile.global_args.push_back(std::move(instruction));
    } else {
      dockerfile.stages.back().instructions.push_back(std::move(instruction));
    }
  }
  if (!any) {
    throw Error(fmt::format("{}: file with no instructions", file_name));
  }
  if (dockerfile.stages.empty()) {
    throw Error(fmt::format("{}: no FROM: the file has no stage to build", file_name));
  }
  return dockerfile;
}

const Flag* find_flag(const Instruction& instruction, std::string_view name) {
  for (const Flag& flag : instruction.flags) {
    if (flag.name == name) {
      return &flag;
    }
  }
  return nullptr;
}

void check_flags(const Instruction& instruction, std::initializer_list<std::string_view> allowed,
                 const std::string& file_name) {
  const Failure fail(file_name);
  std::set<std::string_view> seen;
  for (const Flag& flag : instruction.flags) {
    if (std::find(allowed.begin(), allowed.end(), flag.name) == allowed.end()) {
      fail.at(instruction.line, fmt::format("unknown flag: --{}", flag.name));
    }
    if (!seen.insert(flag.name).second && !contains(k_repeatable_flags, flag.name)) {
      fail.at(instruction.line, fmt::format("duplicate flag: --{}", flag.name));
    }
  }
}

}  // namespace berth::image::dockerfile
