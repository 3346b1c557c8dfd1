// The Dockerfile's syntax: lines, continuations, comments, parser directives, heredocs and
// instructions with their flags, grouped into stages. Nothing is expanded here: variables
// are substituted when the builder runs a step (image/dockerfile/lexer.h), because their
// values depend on the ENV and ARG instructions before it.
#pragma once

#include <initializer_list>
#include <string>
#include <string_view>
#include <vector>

namespace berth::image::dockerfile {

/// A `--name=value` flag before an instruction's arguments (`COPY --from=build`), or a bare
/// `--name` (`COPY --link`, value empty, `has_value` false). Values are unexpanded.
struct Flag {
  std::string name;  // without the dashes, as written ("from", "chown", "mount")
  std::string value;
  bool has_value = false;
};

/// A here-document (`RUN <<EOF`, `COPY <<EOF /dst`): its body, and how the word was quoted.
struct Heredoc {
  std::string name;         // the delimiter word, unquoted ("EOF")
  std::string content;      // the body, every line ending in "\n"; tabs stripped for `<<-`
  bool expand = true;       // false when the delimiter was quoted ('EOF' or "EOF")
  bool chomp_tabs = false;  // `<<-`
};

struct Instruction {
  std::string keyword;  // upper case: "RUN", "COPY", ...
  int line = 0;         // the first line of the instruction, 1-based
  std::vector<Flag> flags;
  /// The exec (JSON array) form: `args` holds the array's strings, `text` is empty.
  bool json_form = false;
  std::vector<std::string> args;
  /// The shell form: the arguments after the flags, continuations joined (a continuation's
  /// backslash-newline removed, comment lines inside it dropped), leading and trailing blanks
  /// trimmed, unexpanded. For a heredoc instruction this is the first line (`<<EOF /dst`).
  /// For ONBUILD it is the trigger as Docker stores it in the image's config: "RUN echo hi",
  /// and for a heredoc trigger its first line, then each body and delimiter line
  /// ("RUN <<EOF\necho hi\nEOF"), the heredocs also in `heredocs`.
  std::string text;
  std::vector<Heredoc> heredocs;
  /// What docker records in the history's created_by: the keyword, the flags and the
  /// arguments as written, continuations joined (the keyword in upper case, one blank after
  /// it). For a heredoc instruction, its first line only.
  std::string original;
};

/// One `FROM ... [AS name]` and the instructions up to the next FROM.
struct Stage {
  Instruction from;  // the FROM itself (flags: "platform")
  std::string base;  // unexpanded image reference, "scratch" or an earlier stage name
  std::string name;  // lower-cased `AS` name, "" when none
  std::vector<Instruction> instructions;
};

struct Dockerfile {
  std::vector<Instruction> global_args;  // ARG instructions before the first FROM
  std::vector<Stage> stages;
  char escape = '\\';  // the `# escape=` directive
  /// Notes for the user about accepted but ignored things ("# syntax=... is ignored: berth
  /// builds with its own frontend"), each prefixed with `<file>:<line>: `.
  std::vector<std::string> notes;
};

/// Parses `text`. Errors are berth::Error `<file_name>:<line>: <reason>`, the line being the
/// one at fault, e.g. `Dockerfile:3: unknown instruction: RUNN`, `Dockerfile:1: no FROM
/// before COPY` (only ARG may come before the first FROM), `Dockerfile:7: FROM requires
/// either one or three arguments`, `Dockerfile:9: unterminated heredoc <<EOF`, an empty
/// file `Dockerfile: file with no instructions`, a JSON form that is not an array of
/// strings is taken as shell form (Docker's rule). Also Docker's other checks that need no
/// expansion: bad parser directives, argument counts (`ENV requires at least one argument`,
/// `USER requires exactly one argument`, `COPY requires at least two arguments, ...`),
/// `SHELL requires the arguments to be in JSON form`, refused ONBUILD triggers, invalid and
/// duplicate stage names, and `Dockerfile: no FROM: the file has no stage to build`.
Dockerfile parse(std::string_view text, const std::string& file_name);

/// The flag `--<name>` of `instruction` (the first one, for a flag that may repeat like
/// `--mount`), nullptr when it has none.
const Flag* find_flag(const Instruction& instruction, std::string_view name);

/// Refuses flags that the instruction does not take, or that it takes once but are given
/// twice (only `--mount`, `--exclude` and `--device` may repeat): berth::Error
/// `<file_name>:<line>: unknown flag: --foo`, `<file_name>:<line>: duplicate flag: --from`.
void check_flags(const Instruction& instruction, std::initializer_list<std::string_view> allowed,
                 const std::string& file_name);

}  // namespace berth::image::dockerfile
