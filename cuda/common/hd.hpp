// Macros every kernel family's plain-C++ headers use: functions callable from host and device (the
// constexpr traits that selection, launchers, kernels and host tests all read), and loop unrolling.
// Under the emulator (host compiler) both are empty: everything is host code there.
#pragma once

#if defined(__CUDACC__)
#define DSCONV_HD __host__ __device__
#define DSCONV_UNROLL _Pragma("unroll")
#else
#define DSCONV_HD
#define DSCONV_UNROLL
#endif
