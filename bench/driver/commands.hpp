// The driver's subcommands. Each returns the process exit code. main.cpp dispatches.
#pragma once

namespace dsconv::driver {

int cmd_run(int argc, char** argv);      // run.cpp:   dsconv run ...
int cmd_check(int argc, char** argv);    // check.cpp: dsconv check ...
int cmd_bench(int argc, char** argv);    // bench.cpp: dsconv bench ...
int cmd_profile(int argc, char** argv);  // profile.cpp: dsconv profile ... (the performance model)
int cmd_default();                       // bench.cpp: `dsconv` with no arguments: the small default set

}  // namespace dsconv::driver
