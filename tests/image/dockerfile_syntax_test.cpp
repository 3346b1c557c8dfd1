#include "image/dockerfile/syntax.h"

#include <fmt/format.h>
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "util/error.h"

namespace berth::image::dockerfile {
namespace {

/// One instruction on one line, everything the parser found:
/// `<line>:<KEYWORD> --flag=value --bare <text>` or `... ["exec","form"]`, then its heredocs
/// as ` <<NAME{content}` (`<<-` when tabs are stripped, `'NAME'` when not expanded).
std::string dump(const Instruction& instruction) {
  std::string out = fmt::format("{}:{}", instruction.line, instruction.keyword);
  for (const Flag& flag : instruction.flags) {
    out += " --" + flag.name + (flag.has_value ? "=" + flag.value : "");
  }
  if (instruction.json_form) {
    std::vector<std::string> quoted;
    for (const std::string& arg : instruction.args) {
      quoted.push_back("\"" + arg + "\"");
    }
    out += fmt::format(" [{}]", fmt::join(quoted, ","));
  } else {
    out += " <" + instruction.text + ">";
  }
  for (const Heredoc& heredoc : instruction.heredocs) {
    const std::string name = heredoc.expand ? heredoc.name : "'" + heredoc.name + "'";
    out += fmt::format(" <<{}{}{{{}}}", heredoc.chomp_tabs ? "-" : "", name, heredoc.content);
  }
  return out;
}

/// The whole file: global ARGs, then each stage as `stage <base> as <name>` followed by its
/// FROM and its instructions.
std::vector<std::string> dump(const Dockerfile& dockerfile) {
  std::vector<std::string> lines;
  for (const Instruction& arg : dockerfile.global_args) {
    lines.push_back("global " + dump(arg));
  }
  for (const Stage& stage : dockerfile.stages) {
    lines.push_back(fmt::format("stage {} as {}", stage.base, stage.name));
    lines.push_back(dump(stage.from));
    for (const Instruction& instruction : stage.instructions) {
      lines.push_back(dump(instruction));
    }
  }
  return lines;
}

struct ParseCase {
  std::string what;
  std::string text;
  std::vector<std::string> expected;
};

TEST(DockerfileSyntax, ParsesInstructions) {
  const std::vector<ParseCase> cases = {
      {"minimal",
       "FROM alpine\nRUN echo hi\n",
       {"stage alpine as ", "1:FROM <alpine>", "2:RUN <echo hi>"}},
      {"keywords and AS in any case, stage names lowered",
       "from alpine:3 As Build\nrun echo\nCmd x\n",
       {"stage alpine:3 as build", "1:FROM <alpine:3 As Build>", "2:RUN <echo>", "3:CMD <x>"}},
      {"every keyword",
       "FROM a\nRUN r\nCMD c\nLABEL l=1\nMAINTAINER m\nEXPOSE 80\nENV e=1\nADD a b\nCOPY c d\n"
       "ENTRYPOINT e\nVOLUME /v\nUSER u\nWORKDIR /w\nARG a\nONBUILD RUN o\nSTOPSIGNAL s\n"
       "HEALTHCHECK NONE\nSHELL [\"sh\"]\n",
       {"stage a as ", "1:FROM <a>", "2:RUN <r>", "3:CMD <c>", "4:LABEL <l=1>", "5:MAINTAINER <m>",
        "6:EXPOSE <80>", "7:ENV <e=1>", "8:ADD <a b>", "9:COPY <c d>", "10:ENTRYPOINT <e>",
        "11:VOLUME </v>", "12:USER <u>", "13:WORKDIR </w>", "14:ARG <a>", "15:ONBUILD <RUN o>",
        "16:STOPSIGNAL <s>", "17:HEALTHCHECK <NONE>", "18:SHELL [\"sh\"]"}},
      {"blank lines, comments and indentation between instructions",
       "\n# a comment\nFROM a\n\n   # indented comment\n\t RUN x   \n",
       {"stage a as ", "3:FROM <a>", "6:RUN <x>"}},
      {"a # after the instruction is not a comment",
       "FROM a\nRUN echo # not a comment\n",
       {"stage a as ", "1:FROM <a>", "2:RUN <echo # not a comment>"}},
      {"global ARGs and stages",
       "ARG V=1\nARG B\nFROM img:$V AS one\nRUN a\nFROM one\nRUN b\n",
       {"global 1:ARG <V=1>", "global 2:ARG <B>", "stage img:$V as one", "3:FROM <img:$V AS one>",
        "4:RUN <a>", "stage one as ", "5:FROM <one>", "6:RUN <b>"}},
      {"stage names with digits, dots, dashes",
       "FROM a AS b-1.x_y\n",
       {"stage a as b-1.x_y", "1:FROM <a AS b-1.x_y>"}},
      {"CRLF line ends and a byte order mark",
       "\xEF\xBB\xBF"
       "FROM a\r\nRUN x \\\r\n  y\r\n",
       {"stage a as ", "1:FROM <a>", "2:RUN <x   y>"}},
      {"no final line break", "FROM a\nRUN x", {"stage a as ", "1:FROM <a>", "2:RUN <x>"}},
  };
  for (const ParseCase& c : cases) {
    EXPECT_EQ(dump(parse(c.text, "Dockerfile")), c.expected) << c.what;
  }
}

TEST(DockerfileSyntax, JoinsContinuationLines) {
  const std::vector<ParseCase> cases = {
      {"continuation keeps the blanks around it",
       "FROM a\nRUN echo a \\\n    b\nRUN c\n",
       {"stage a as ", "1:FROM <a>", "2:RUN <echo a     b>", "4:RUN <c>"}},
      {"blanks after the backslash",
       "FROM a\nRUN a\\  \t\nb\n",
       {"stage a as ", "1:FROM <a>", "2:RUN <ab>"}},
      {"comment and blank lines inside are dropped",
       "FROM a\nRUN a \\\n  # a comment\n\n    \n  b \\\n#c\n  c\nRUN d\n",
       {"stage a as ", "1:FROM <a>", "2:RUN <a   b   c>", "9:RUN <d>"}},
      {"an escaped backslash does not continue",
       "FROM a\nRUN echo \\\\\nRUN x\n",
       {"stage a as ", "1:FROM <a>", "2:RUN <echo \\\\>", "3:RUN <x>"}},
      {"a backslash alone on a line continues",
       "FROM a\nRUN a \\\n\\\nb\n",
       {"stage a as ", "1:FROM <a>", "2:RUN <a b>"}},
      {"continuation at the end of the file",
       "FROM a\nRUN echo \\",
       {"stage a as ", "1:FROM <a>", "2:RUN <echo>"}},
      {"continued keyword and flags",
       "FROM a\nCOPY \\\n --from=a \\\n x y\n",
       {"stage a as ", "1:FROM <a>", "2:COPY --from=a <x y>"}},
  };
  for (const ParseCase& c : cases) {
    EXPECT_EQ(dump(parse(c.text, "Dockerfile")), c.expected) << c.what;
  }
}

TEST(DockerfileSyntax, ReadsParserDirectives) {
  struct DirectiveCase {
    std::string what;
    std::string text;
    char escape;
    std::vector<std::string> notes;
    std::vector<std::string> expected;
  };
  const std::string k_syntax_note =
      "Dockerfile:1: # syntax=docker/dockerfile:1 is ignored: berth builds with its own "
      "frontend";
  const std::vector<DirectiveCase> cases = {
      {"escape backtick continues lines, backslash is literal",
       "# escape=`\nFROM a\nCOPY . C:\\app\\\nRUN dir `\n  c:\\\n",
       '`',
       {},
       {"stage a as ", "2:FROM <a>", "3:COPY <. C:\\app\\>", "4:RUN <dir   c:\\>"}},
      {"spaces and case in a directive",
       "  #  ESCAPE = `  \nFROM a\nRUN a `\nb\n",
       '`',
       {},
       {"stage a as ", "2:FROM <a>", "3:RUN <a b>"}},
      {"escape backslash explicitly",
       "# escape=\\\nFROM a\n",
       '\\',
       {},
       {"stage a as ", "2:FROM <a>"}},
      {"syntax gives a note",
       "# syntax=docker/dockerfile:1\nFROM a\n",
       '\\',
       {k_syntax_note},
       {"stage a as ", "2:FROM <a>"}},
      {"syntax, check and escape together",
       "# syntax=docker/dockerfile:1\n# check=skip=all\n# escape=`\nFROM a\n",
       '`',
       {k_syntax_note},
       {"stage a as ", "4:FROM <a>"}},
      {"after a comment a directive is a comment",
       "# hello\n# escape=`\nFROM a\nRUN a `\n",
       '\\',
       {},
       {"stage a as ", "3:FROM <a>", "4:RUN <a `>"}},
      {"after a blank line too", "\n# escape=`\nFROM a\n", '\\', {}, {"stage a as ", "3:FROM <a>"}},
      {"after an unknown directive too",
       "# foo=bar\n# escape=`\nFROM a\n",
       '\\',
       {},
       {"stage a as ", "3:FROM <a>"}},
      {"after an instruction too",
       "FROM a\n# escape=`\n# syntax=x\nRUN a `\n",
       '\\',
       {},
       {"stage a as ", "1:FROM <a>", "4:RUN <a `>"}},
  };
  for (const DirectiveCase& c : cases) {
    const Dockerfile dockerfile = parse(c.text, "Dockerfile");
    EXPECT_EQ(dockerfile.escape, c.escape) << c.what;
    EXPECT_EQ(dockerfile.notes, c.notes) << c.what;
    EXPECT_EQ(dump(dockerfile), c.expected) << c.what;
  }
}

TEST(DockerfileSyntax, ReadsFlags) {
  const std::vector<ParseCase> cases = {
      {"FROM --platform",
       "FROM --platform=$BUILDPLATFORM golang:1 AS build\n",
       {"stage golang:1 as build", "1:FROM --platform=$BUILDPLATFORM <golang:1 AS build>"}},
      {"several flags, bare and with values",
       "FROM a\nRUN --mount=type=cache,target=/x --network=none go build\n"
       "COPY --from=build --link /a /b\n",
       {"stage a as ", "1:FROM <a>", "2:RUN --mount=type=cache,target=/x --network=none <go build>",
        "3:COPY --from=build --link </a /b>"}},
      {"quotes and backslashes in a flag are removed",
       "FROM a\nRUN --mount=\"type=bind,target=/a b\" --x='1 2' --y=a\\ b ls\n",
       {"stage a as ", "1:FROM <a>", "2:RUN --mount=type=bind,target=/a b --x=1 2 --y=a b <ls>"}},
      {"an empty value",
       "FROM a\nCOPY --chown= a b\n",
       {"stage a as ", "1:FROM <a>", "2:COPY --chown= <a b>"}},
      {"a lone -- ends the flags",
       "FROM a\nRUN --network=none -- --not-a-flag x\n",
       {"stage a as ", "1:FROM <a>", "2:RUN --network=none <--not-a-flag x>"}},
      {"flags only before the arguments",
       "FROM a\nRUN echo --no\n",
       {"stage a as ", "1:FROM <a>", "2:RUN <echo --no>"}},
      {"a single dash is an argument",
       "FROM a\nRUN -x --y\n",
       {"stage a as ", "1:FROM <a>", "2:RUN <-x --y>"}},
      {"flags and no arguments",
       "FROM a\nRUN --network=none\n",
       {"stage a as ", "1:FROM <a>", "2:RUN --network=none <>"}},
  };
  for (const ParseCase& c : cases) {
    EXPECT_EQ(dump(parse(c.text, "Dockerfile")), c.expected) << c.what;
  }
}

TEST(DockerfileSyntax, ReadsJsonForms) {
  const std::vector<ParseCase> cases = {
      {"exec forms",
       "FROM a\nCMD [\"echo\", \"hi\"]\nENTRYPOINT [\"/bin/sh\",\"-c\"]\nRUN [\"a\"]\n"
       "COPY [\"a b\", \"/dst/\"]\nADD [\"x\",\"y\"]\nVOLUME [\"/data\"]\n"
       "SHELL [\"/bin/bash\", \"-c\"]\nRUN [ ]\n",
       {"stage a as ", "1:FROM <a>", "2:CMD [\"echo\",\"hi\"]", "3:ENTRYPOINT [\"/bin/sh\",\"-c\"]",
        "4:RUN [\"a\"]", "5:COPY [\"a b\",\"/dst/\"]", "6:ADD [\"x\",\"y\"]",
        "7:VOLUME [\"/data\"]", "8:SHELL [\"/bin/bash\",\"-c\"]", "9:RUN []"}},
      {"JSON escapes",
       "FROM a\nCMD [\"a\\\"b\", \"\\u00e9\\n\"]\n",
       {"stage a as ", "1:FROM <a>", "2:CMD [\"a\"b\",\"\xC3\xA9\n\"]"}},
      {"JSON after flags",
       "FROM a\nRUN --network=none [\"ls\"]\n",
       {"stage a as ", "1:FROM <a>", "2:RUN --network=none [\"ls\"]"}},
      {"not JSON falls back to the shell form",
       "FROM a\nCMD [echo hi]\nCMD [\"a\", 1]\nCMD [\"a\"] x\nCMD [\"a\"\nENTRYPOINT {\"a\": 1}\n",
       {"stage a as ", "1:FROM <a>", "2:CMD <[echo hi]>", "3:CMD <[\"a\", 1]>", "4:CMD <[\"a\"] x>",
        "5:CMD <[\"a\">", "6:ENTRYPOINT <{\"a\": 1}>"}},
      {"JSON only for the instructions that take it",
       "FROM a\nENV [\"a\"]\nHEALTHCHECK --interval=5s CMD [\"curl\", \"x\"]\n"
       "WORKDIR [\"/w\"]\n",
       {"stage a as ", "1:FROM <a>", "2:ENV <[\"a\"]>",
        "3:HEALTHCHECK --interval=5s <CMD [\"curl\", \"x\"]>", "4:WORKDIR <[\"/w\"]>"}},
  };
  for (const ParseCase& c : cases) {
    EXPECT_EQ(dump(parse(c.text, "Dockerfile")), c.expected) << c.what;
  }
}

TEST(DockerfileSyntax, ReadsHeredocs) {
  const std::vector<ParseCase> cases = {
      {"RUN <<EOF",
       "FROM a\nRUN <<EOF\necho $HOME\n  indented\n\nEOF\nRUN x\n",
       {"stage a as ", "1:FROM <a>", "2:RUN <<<EOF> <<EOF{echo $HOME\n  indented\n\n}",
        "7:RUN <x>"}},
      {"<<- strips leading tabs, also from the delimiter",
       "FROM a\nRUN <<-EOF\n\techo a\n\t\t b\n  c\n\tEOF\n",
       {"stage a as ", "1:FROM <a>", "2:RUN <<<-EOF> <<-EOF{echo a\n b\n  c\n}"}},
      {"quoted delimiters are not expanded",
       "FROM a\nRUN <<'EOF'\n$a\nEOF\nRUN <<\"END\"\n$b\nEND\nRUN <<E\"O\"F\nc\nEOF\n",
       {"stage a as ", "1:FROM <a>", "2:RUN <<<'EOF'> <<'EOF'{$a\n}",
        "5:RUN <<<\"END\"> <<'END'{$b\n}", "8:RUN <<<E\"O\"F> <<'EOF'{c\n}"}},
      {"several in one instruction, read in order",
       "FROM a\nRUN <<A <<-B cat /dev/fd/3\na\nA\n\tb\n\tB\nRUN x\n",
       {"stage a as ", "1:FROM <a>", "2:RUN <<<A <<-B cat /dev/fd/3> <<A{a\n} <<-B{b\n}",
        "7:RUN <x>"}},
      {"after a command, with a file descriptor",
       "FROM a\nRUN python3 <<EOF\nprint(1)\nEOF\nRUN cat 3<<X\ny\nX\n",
       {"stage a as ", "1:FROM <a>", "2:RUN <python3 <<EOF> <<EOF{print(1)\n}",
        "5:RUN <cat 3<<X> <<X{y\n}"}},
      {"COPY and ADD, with flags",
       "FROM a\nCOPY --chmod=755 <<EOF /usr/bin/run\n#!/bin/sh\nEOF\nADD <<one <<two /d/\n1\none\n"
       "2\ntwo\n",
       {"stage a as ", "1:FROM <a>", "2:COPY --chmod=755 <<<EOF /usr/bin/run> <<EOF{#!/bin/sh\n}",
        "5:ADD <<<one <<two /d/> <<one{1\n} <<two{2\n}"}},
      {"the body is not instructions, comments or continuations",
       "FROM a\nRUN <<EOF\n# not a comment\nFROM x \\\n\nEOF\nRUN y\n",
       {"stage a as ", "1:FROM <a>", "2:RUN <<<EOF> <<EOF{# not a comment\nFROM x \\\n\n}",
        "7:RUN <y>"}},
      {"an empty body, CRLF, and a delimiter with blanks is not one",
       "FROM a\r\nRUN <<EOF\r\nEOF \r\nEOF\r\nRUN <<X\r\nX\r\n",
       {"stage a as ", "1:FROM <a>", "2:RUN <<<EOF> <<EOF{EOF \n}", "5:RUN <<<X> <<X{}"}},
      {"after a continuation",
       "FROM a\nRUN cat \\\n  <<EOF\nhi\nEOF\n",
       {"stage a as ", "1:FROM <a>", "2:RUN <cat   <<EOF> <<EOF{hi\n}"}},
      {"not heredocs: quoted, bare <<, exec form, other instructions",
       "FROM a\nRUN echo \"<<EOF\" '<<X' << Y a<<b <<\nRUN [\"cat\", \"<<EOF\"]\n"
       "ENV a <<EOF\nCMD cat <<EOF\n",
       {"stage a as ", "1:FROM <a>", "2:RUN <echo \"<<EOF\" '<<X' << Y a<<b <<>",
        "3:RUN [\"cat\",\"<<EOF\"]", "4:ENV <a <<EOF>", "5:CMD <cat <<EOF>"}},
  };
  for (const ParseCase& c : cases) {
    EXPECT_EQ(dump(parse(c.text, "Dockerfile")), c.expected) << c.what;
  }
}

TEST(DockerfileSyntax, KeepsOnbuildTriggers) {
  const std::vector<ParseCase> cases = {
      {"a trigger as written",
       "FROM a\nONBUILD RUN echo hi\nonbuild copy --from=x a b\n",
       {"stage a as ", "1:FROM <a>", "2:ONBUILD <RUN echo hi>", "3:ONBUILD <copy --from=x a b>"}},
      {"a trigger in JSON form",
       "FROM a\nONBUILD CMD [\"x\"]\n",
       {"stage a as ", "1:FROM <a>", "2:ONBUILD <CMD [\"x\"]>"}},
      {"a heredoc trigger, stored with its body",
       "FROM a\nONBUILD RUN <<EOF\necho hi\nEOF\nRUN x\n",
       {"stage a as ", "1:FROM <a>", "2:ONBUILD <RUN <<EOF\necho hi\nEOF> <<EOF{echo hi\n}",
        "5:RUN <x>"}},
  };
  for (const ParseCase& c : cases) {
    EXPECT_EQ(dump(parse(c.text, "Dockerfile")), c.expected) << c.what;
  }
}

TEST(DockerfileSyntax, KeepsTheOriginalText) {
  const Dockerfile dockerfile = parse(
      "from   alpine   AS  b\nrun   --network=none  echo  hi  \nCOPY <<EOF /x\nbody\nEOF\n"
      "RUN a \\\n  b\n",
      "Dockerfile");
  EXPECT_EQ(dockerfile.stages[0].from.original, "FROM alpine   AS  b");
  EXPECT_EQ(dockerfile.stages[0].base, "alpine");
  const std::vector<Instruction>& instructions = dockerfile.stages[0].instructions;
  ASSERT_EQ(instructions.size(), 3u);
  EXPECT_EQ(instructions[0].original, "RUN --network=none  echo  hi");
  EXPECT_EQ(instructions[0].text, "echo  hi");
  EXPECT_EQ(instructions[1].original, "COPY <<EOF /x");
  EXPECT_EQ(instructions[2].original, "RUN a   b");
}

struct ErrorCase {
  std::string text;
  std::string error;
};

TEST(DockerfileSyntax, RefusesBadFiles) {
  const std::vector<ErrorCase> cases = {
      {"", "Dockerfile: file with no instructions"},
      {"# only a comment\n\n   \n", "Dockerfile: file with no instructions"},
      {"ARG a\n", "Dockerfile: no FROM: the file has no stage to build"},
      {"FROM a\nRUNN x\n", "Dockerfile:2: unknown instruction: RUNN"},
      {"FROM a\nrunn x\n", "Dockerfile:2: unknown instruction: runn"},
      {"FROM a\nRUN a \\\n  b\nFOO \\\n  x\n", "Dockerfile:4: unknown instruction: FOO"},
      {"FROM a\nRUN <<EOF\nx\nEOF\nBAD\n", "Dockerfile:5: unknown instruction: BAD"},
      {"COPY a b\nFROM x\n", "Dockerfile:1: no FROM before COPY"},
      {"# c\n\nenv a=b\nFROM x\n", "Dockerfile:3: no FROM before ENV"},
      {"ARG a\nONBUILD RUN x\n", "Dockerfile:2: no FROM before ONBUILD"},
      {"FROM\n", "Dockerfile:1: FROM requires either one or three arguments"},
      {"FROM a b\n", "Dockerfile:1: FROM requires either one or three arguments"},
      {"FROM a AS\n", "Dockerfile:1: FROM requires either one or three arguments"},
      {"FROM a AS b c\n", "Dockerfile:1: FROM requires either one or three arguments"},
      {"FROM a IS b\n", "Dockerfile:1: FROM requires either one or three arguments"},
      {"FROM a AS 1x\n",
       "Dockerfile:1: invalid name for build stage: \"1x\", name can't start with a number or "
       "contain symbols"},
      {"FROM a AS b$c\n",
       "Dockerfile:1: invalid name for build stage: \"b$c\", name can't start with a number or "
       "contain symbols"},
      {"FROM a AS x\nRUN y\nFROM b AS X\n", "Dockerfile:3: duplicate stage name \"x\""},
      {"FROM a\nRUN <<EOF\nabc\n", "Dockerfile:2: unterminated heredoc <<EOF"},
      {"FROM a\nRUN <<-EOF\nabc\n EOF\n", "Dockerfile:2: unterminated heredoc <<-EOF"},
      {"FROM a\nRUN <<A <<B\nA\nb\n", "Dockerfile:2: unterminated heredoc <<B"},
      {"FROM a\nCOPY \\\n<<EOF /x\n", "Dockerfile:2: unterminated heredoc <<EOF"},
      {"FROM a\nONBUILD RUN <<EOF\n", "Dockerfile:2: unterminated heredoc <<EOF"},
      {"FROM a\nSHELL /bin/sh -c\n",
       "Dockerfile:2: SHELL requires the arguments to be in JSON form"},
      {"FROM a\nSHELL [\"a\", 1]\n",
       "Dockerfile:2: SHELL requires the arguments to be in JSON form"},
      {"FROM a\nSHELL []\n", "Dockerfile:2: SHELL requires at least one argument"},
      {"FROM a\nSHELL\n", "Dockerfile:2: SHELL requires at least one argument"},
      {"FROM a\nONBUILD ONBUILD RUN x\n",
       "Dockerfile:2: Chaining ONBUILD via `ONBUILD ONBUILD` isn't allowed"},
      {"FROM a\nONBUILD from b\n", "Dockerfile:2: FROM isn't allowed as an ONBUILD trigger"},
      {"FROM a\nONBUILD MAINTAINER me\n",
       "Dockerfile:2: MAINTAINER isn't allowed as an ONBUILD trigger"},
      {"FROM a\nONBUILD\n", "Dockerfile:2: ONBUILD requires at least one argument"},
      {"FROM a\nENV\n", "Dockerfile:2: ENV requires at least one argument"},
      {"FROM a\nLABEL\n", "Dockerfile:2: LABEL requires at least one argument"},
      {"FROM a\nARG\n", "Dockerfile:2: ARG requires at least one argument"},
      {"FROM a\nEXPOSE\n", "Dockerfile:2: EXPOSE requires at least one argument"},
      {"FROM a\nVOLUME []\n", "Dockerfile:2: VOLUME requires at least one argument"},
      {"FROM a\nHEALTHCHECK\n", "Dockerfile:2: HEALTHCHECK requires at least one argument"},
      {"FROM a\nUSER\n", "Dockerfile:2: USER requires exactly one argument"},
      {"FROM a\nWORKDIR --x=1\n", "Dockerfile:2: WORKDIR requires exactly one argument"},
      {"FROM a\nSTOPSIGNAL\n", "Dockerfile:2: STOPSIGNAL requires exactly one argument"},
      {"FROM a\nMAINTAINER\n", "Dockerfile:2: MAINTAINER requires exactly one argument"},
      {"FROM a\nCOPY onlyone\n",
       "Dockerfile:2: COPY requires at least two arguments, but only one was provided. "
       "Destination could not be determined"},
      {"FROM a\nADD [\"x\"]\n",
       "Dockerfile:2: ADD requires at least two arguments, but only one was provided. "
       "Destination could not be determined"},
      {"FROM a\nCOPY --from=b\n",
       "Dockerfile:2: COPY requires at least two arguments, but only one was provided. "
       "Destination could not be determined"},
      {"FROM a\nCOPY a <<EOF\nx\nEOF\n",
       "Dockerfile:2: COPY cannot accept a heredoc as a destination"},
      {"# escape=x\nFROM a\n", "Dockerfile:1: invalid escape token 'x' does not match ` or \\"},
      {"# escape=`\n# escape=\\\nFROM a\n",
       "Dockerfile:2: only one escape parser directive can be used"},
      {"# syntax=a\n# SYNTAX=b\nFROM a\n",
       "Dockerfile:2: only one syntax parser directive can be used"},
  };
  for (const ErrorCase& c : cases) {
    try {
      parse(c.text, "Dockerfile");
      ADD_FAILURE() << "accepted: " << c.text;
    } catch (const Error& e) {
      EXPECT_EQ(std::string(e.what()), c.error) << c.text;
    }
  }
}

TEST(DockerfileSyntax, NamesTheFileInErrors) {
  try {
    parse("FROM a\nBAD\n", "build/app.Dockerfile");
    ADD_FAILURE() << "accepted";
  } catch (const Error& e) {
    EXPECT_EQ(std::string(e.what()), "build/app.Dockerfile:2: unknown instruction: BAD");
  }
}

TEST(DockerfileSyntax, FindsFlags) {
  const Dockerfile dockerfile =
      parse("FROM a\nCOPY --from=build --link --chown=1 --from=other x y\n", "Dockerfile");
  const Instruction& copy = dockerfile.stages[0].instructions[0];
  const Flag* from = find_flag(copy, "from");
  ASSERT_NE(from, nullptr);
  EXPECT_EQ(from->value, "build");
  EXPECT_TRUE(from->has_value);
  const Flag* link = find_flag(copy, "link");
  ASSERT_NE(link, nullptr);
  EXPECT_EQ(link->value, "");
  EXPECT_FALSE(link->has_value);
  EXPECT_EQ(find_flag(copy, "chmod"), nullptr);
  EXPECT_EQ(find_flag(copy, "--from"), nullptr);
}

TEST(DockerfileSyntax, ChecksFlags) {
  struct FlagCase {
    std::string text;
    std::vector<std::string_view> allowed;
    std::string error;  // "" when accepted
  };
  const std::vector<FlagCase> cases = {
      {"COPY --from=a --link x y", {"from", "link"}, ""},
      {"COPY x y", {}, ""},
      {"RUN --mount=type=cache,target=/a --mount=type=tmpfs,target=/b x", {"mount"}, ""},
      {"COPY --foo=1 x y", {"from"}, "Dockerfile:4: unknown flag: --foo"},
      {"RUN --from x", {}, "Dockerfile:4: unknown flag: --from"},
      {"COPY --from=a --from=b x y", {"from"}, "Dockerfile:4: duplicate flag: --from"},
      {"COPY --link --link x y", {"link"}, "Dockerfile:4: duplicate flag: --link"},
  };
  for (const FlagCase& c : cases) {
    const Dockerfile dockerfile = parse("FROM a\n\n\n" + c.text + "\n", "Dockerfile");
    const Instruction& instruction = dockerfile.stages[0].instructions[0];
    // check_flags takes an initializer_list, as the builder writes it; the table holds
    // at most two names.
    const auto check = [&] {
      if (c.allowed.empty()) {
        check_flags(instruction, {}, "Dockerfile");
      } else if (c.allowed.size() == 1) {
        check_flags(instruction, {c.allowed[0]}, "Dockerfile");
      } else {
        check_flags(instruction, {c.allowed[0], c.allowed[1]}, "Dockerfile");
      }
    };
    if (c.error.empty()) {
      EXPECT_NO_THROW(check()) << c.text;
      continue;
    }
    try {
      check();
      ADD_FAILURE() << "accepted: " << c.text;
    } catch (const Error& e) {
      EXPECT_EQ(std::string(e.what()), c.error) << c.text;
    }
  }
}

}  // namespace
}  // namespace berth::image::dockerfile
