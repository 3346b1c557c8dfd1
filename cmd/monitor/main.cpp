// berth-monitor DIR: the monitor of one container, started by `berth container start/run`
// with a pipe on fd 3 for its verdict and, when a command attaches, the attach socket's
// descriptor number as ATTACH-FD (runtime/monitor.h). A program of its own, linked
// statically and small, because one runs per container for the container's whole life.
#include <cstdio>
#include <cstdlib>

#include "runtime/monitor.h"
#include "util/error.h"

int main(int argc, char** argv) {
  if (argc != 2 && argc != 3) {
    std::fputs("usage: berth-monitor CONTAINER-RUN-DIR [ATTACH-FD] (started by berth)\n", stderr);
    return 2;
  }
  try {
    return berth::runtime::run_monitor(argv[1], 3, argc == 3 ? std::atoi(argv[2]) : -1);
  } catch (const std::exception& e) {
    std::fprintf(stderr, "berth-monitor: %s\n", e.what());
    return 1;
  }
}
