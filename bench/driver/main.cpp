// The dsconv driver: dispatches to the subcommands in commands.hpp.
#include <cstdio>
#include <cstring>
#include <exception>
#include <new>
#include <string>

#include "bench/driver/cli.hpp"
#include "bench/driver/commands.hpp"

namespace {

void print_help() {
  std::printf(
      "dsconv %s: depthwise, dilated (atrous) and separable 2-D convolution\n"
      "\n"
      "usage:\n"
      "  dsconv                  run the default benchmark set\n"
      "  dsconv run ...          run one convolution on .npy files, write the result as .npy\n"
      "  dsconv check ...        compare a backend with the CPU reference on random data\n"
      "  dsconv bench ...        benchmark problems on one or more backends\n"
      "  dsconv profile ...      model the cuda kernels on a GPU from the emulator (profile preset)\n"
      "  dsconv help [COMMAND]   this help, or a command's (same as dsconv COMMAND --help)\n"
      "  dsconv --version        version and the backends built in\n"
      "\n"
      "exit codes: 0 success; 1 runtime error or failed check; 2 usage error;\n"
      "            3 the chosen backend cannot run the problem (check)\n",
      dsconv::version());
}

void print_version() {
  std::printf("dsconv %s\nbackends:", dsconv::version());
  for (const std::string& b : dsconv::built_backends()) {
    std::string why;
    const bool ok = dsconv::backend_available(b, &why);
    std::printf(" %s%s", b.c_str(), ok ? "" : " (unavailable)");
  }
  std::printf("\n");
}

int dispatch(int argc, char** argv) {
  using namespace dsconv::driver;
  if (argc < 2) return cmd_default();
  const std::string cmd = argv[1];
  if (cmd == "--help" || cmd == "-h" || cmd == "help") {
    if (cmd == "help" && argc >= 3) {
      const std::string sub = argv[2];
      char help_flag[] = "--help";
      char* sub_argv[] = {argv[2], help_flag, nullptr};
      if (sub == "run") return cmd_run(2, sub_argv);
      if (sub == "check") return cmd_check(2, sub_argv);
      if (sub == "bench") return cmd_bench(2, sub_argv);
      if (sub == "profile") return cmd_profile(2, sub_argv);
      std::fprintf(stderr, "dsconv: error: no command '%s' (commands: run, check, bench, profile)\n", sub.c_str());
      return kExitUsage;
    }
    print_help();
    return kExitOk;
  }
  if (cmd == "--version") {
    print_version();
    return kExitOk;
  }
  if (cmd == "run") return cmd_run(argc - 1, argv + 1);
  if (cmd == "check") return cmd_check(argc - 1, argv + 1);
  if (cmd == "bench") return cmd_bench(argc - 1, argv + 1);
  if (cmd == "profile") return cmd_profile(argc - 1, argv + 1);
  std::fprintf(stderr,
               "dsconv: error: unknown command '%s' (commands: run, check, bench, profile; see dsconv --help)\n",
               cmd.c_str());
  return kExitUsage;
}

}  // namespace

int main(int argc, char** argv) {
  try {
    return dispatch(argc, argv);
  } catch (const std::bad_alloc&) {
    std::fprintf(stderr, "dsconv: error: out of memory\n");
  } catch (const std::exception& e) {
    std::fprintf(stderr, "dsconv: error: %s\n", e.what());
  }
  return dsconv::driver::kExitFailure;
}
