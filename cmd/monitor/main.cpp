// berth-monitor DIR: the monitor of one container, started by `berth container start/run`
// with a pipe on fd 3 for its verdict (runtime/monitor.h). A program of its own, linked
// statically and small, because one runs per container for the container's whole life.
#include <cstdio>

#include "runtime/monitor.h"
#include "util/error.h"

int main(int argc, char** argv) {
  if (argc != 2) {
    std::fputs("usage: berth-monitor CONTAINER-RUN-DIR (started by berth, not by hand)\n", stderr);
    return 2;
  }
  try {
    return berth::runtime::run_monitor(argv[1], 3);
  } catch (const std::exception& e) {
    std::fprintf(stderr, "berth-monitor: %s\n", e.what());
    return 1;
  }
}
