// Placeholder until the benchmark subcommands are written: both report that they do not exist yet.
#include <cstdio>

#include "bench/driver/commands.hpp"
#include "bench/driver/common.hpp"

namespace dsconv::driver {

int cmd_bench(int argc, char** argv) {
  (void)argc;
  (void)argv;
  std::fprintf(stderr, "dsconv bench: not yet built\n");
  return kExitUsage;
}

int cmd_default() {
  std::fprintf(stderr, "dsconv: the default benchmark set is not yet built; see dsconv --help\n");
  return kExitUsage;
}

}  // namespace dsconv::driver
