// Macros every kernel family's plain-C++ headers use: functions callable from host and device (the
// constexpr traits that selection, launchers, kernels and host tests all read), loop unrolling (or not), and
// keeping a device function out of line.
// Under the emulator (host compiler) both are empty: everything is host code there.
#pragma once

#if defined(__CUDACC__)
#define DSCONV_HD __host__ __device__
#define DSCONV_UNROLL _Pragma("unroll")
#define DSCONV_NO_UNROLL _Pragma("unroll 1")
#define DSCONV_NOINLINE __noinline__
#else
#define DSCONV_HD
#define DSCONV_UNROLL
#define DSCONV_NO_UNROLL
// Not a macro named __noinline__: libstdc++ spells __attribute__((__noinline__)) itself.
#define DSCONV_NOINLINE __attribute__((noinline))
#endif
