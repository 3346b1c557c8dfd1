// The build's progress, in BuildKit's plain format: every vertex (a FROM, RUN, COPY, ADD or
// WORKDIR step, the export) gets a number; its lines are "#<n> <text>", a step's output lines
// "#<n> <seconds> <line>", and it ends with "#<n> DONE 0.4s", "#<n> CACHED" or
// "#<n> ERROR: <why>". Stages build in parallel, so lines of different vertices interleave;
// the numbers keep them apart.
#pragma once

#include <chrono>
#include <condition_variable>
#include <cstdio>
#include <map>
#include <mutex>
#include <string>
#include <string_view>
#include <thread>
#include <utility>
#include <vector>

#include "orchestrator/builder/build.h"

namespace berth::builder {

class BuildOutput {
 public:
  /// Quiet prints nothing.
  BuildOutput(std::FILE* out, ProgressMode mode, std::string prefix);
  ~BuildOutput();
  BuildOutput(const BuildOutput&) = delete;
  BuildOutput& operator=(const BuildOutput&) = delete;

  class Vertex {
   public:
    /// A line of the step's output (a RUN's), with the seconds since the step began.
    void output(std::string_view text);
    /// Text the step is to say itself ("transferring context: 2.1kB done").
    void note(std::string_view text);
    void cached();
    void done();
    /// The failure, then (as BuildKit) a block with the step's last lines of output.
    void error(std::string_view why);

   private:
    friend class BuildOutput;
    Vertex(BuildOutput* owner, int number, std::string title);
    BuildOutput* m_owner;
    int m_number;
    std::chrono::steady_clock::time_point m_start;
    std::string m_title;
    std::string m_partial;            // an output line not yet ended by "\n"
    std::vector<std::string> m_tail;  // the last lines of output, for an error
  };

  /// A new vertex, its title printed ("[2/5] RUN make").
  Vertex begin(std::string_view title);
  /// A line of its own, outside any vertex (a warning).
  void message(std::string_view text);

 private:
  void print(const std::string& line, bool step_output);
  /// tty: the vertex's one line, once it ended with `status`.
  void finish(int number, std::string_view status);
  /// tty: the status line again (the caller holds m_mutex).
  void draw_status();

  std::FILE* m_out;
  ProgressMode m_mode;
  std::string m_prefix;
  std::mutex m_mutex;
  int m_next = 1;
  // tty only: the vertices running, and the thread that redraws the status line.
  std::map<int, std::pair<std::string, std::chrono::steady_clock::time_point>> m_running;
  std::chrono::steady_clock::time_point m_start = std::chrono::steady_clock::now();
  int m_finished = 0;
  bool m_stop = false;
  std::condition_variable m_wake;
  std::thread m_ticker;
};

}  // namespace berth::builder
