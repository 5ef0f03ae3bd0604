// The CPU emulator's device-side API: what nvcc gives device code, as host C++. Included only through
// cuda/emu/cuda_compat.hpp under DSCONV_CUDA_EMULATION; cuda/emu/README.md describes the model.
//
// Built-in variables are per emulated thread. Everything a warp or a block does together
// (__syncthreads, __syncwarp, shuffles, votes) goes through the executor in cuda/emu/executor.cpp,
// which also reports misuse (a barrier some threads never reach, a shuffle whose mask names an
// exited lane) with a message and abort() instead of hanging.
#pragma once

#include <math.h>

#include <chrono>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <tuple>
#include <type_traits>
#include <utility>

#include <cuda_bf16.h>
#include <cuda_fp16.h>
#include <cuda_runtime_api.h>

// ---------------------------------------------------------------------------------------------
// Declaration keywords. __host__, __device__, __global__, __forceinline__, __align__ and
// __grid_constant__ already come from the toolkit's host_defines.h in their host-compiler form.
// ---------------------------------------------------------------------------------------------

// Blocks of a launch run one after another and launches are serialized, so one static instance per
// variable is exactly "one per resident block". Dynamic shared memory: DSCONV_DYNAMIC_SMEM.
#undef __shared__
#define __shared__ static
#ifndef __launch_bounds__
#define __launch_bounds__(...)
#endif

#if defined(__SANITIZE_THREAD__)
#define DSCONV_EMU_TSAN 1
#elif defined(__has_feature)
#if __has_feature(thread_sanitizer)
#define DSCONV_EMU_TSAN 1
#endif
#endif

// Initial-exec TLS: these are read on every index computation of every kernel, and the library that
// defines them is never dlopen'ed late enough to matter.
#define DSCONV_EMU_TLS __attribute__((tls_model("initial-exec")))

extern __thread uint3 threadIdx DSCONV_EMU_TLS;
extern __thread uint3 blockIdx DSCONV_EMU_TLS;
extern __thread dim3 blockDim DSCONV_EMU_TLS;
extern __thread dim3 gridDim DSCONV_EMU_TLS;
static constexpr int warpSize = 32;

namespace dsconv::emu {

// How a block's threads run. kFibers: one OS thread switches between per-thread stacks at barriers and
// warp collectives (fast, deterministic; a missing barrier gives a wrong answer). kThreads: one OS
// thread per emulated thread (for ThreadSanitizer, which then reports a missing barrier as a race).
enum class Mode { kFibers, kThreads };
const char* to_string(Mode m);
// The mode later launches use: DSCONV_EMU_MODE=fibers|threads, else the build's default (threads
// under ThreadSanitizer, fibers otherwise).
Mode mode();
// For tests. Returns false and keeps the current mode when `m` cannot run in this build (fibers
// under ThreadSanitizer).
bool set_mode(Mode m);

// The current launch's dynamic shared memory (16-byte aligned; filled with 0xff bytes, NaN as float,
// at the start of every block so that reading it before writing shows).
void* dynamic_smem();

void sync_block();
int sync_block_count(int predicate);  // number of threads of the block whose predicate is non-zero

enum class WarpOp : int {
  kSync,
  kShflIdx,
  kShflUp,
  kShflDown,
  kShflXor,
  kBallot,
  kAny,
  kAll,
  kMatchAny,
  kMatchAll,
  kReduceAdd,
  kReduceMin,
  kReduceMax,
  kReduceAnd,
  kReduceOr,
  kReduceXor,
};
inline constexpr size_t kWarpValueBytes = 16;

// One lane's part in a warp collective. `arg` is the source lane / delta / lane mask of a shuffle or
// the predicate of a vote; `width` the shuffle's segment width; `is_signed` selects signed
// comparisons for __reduce_min/max_sync.
struct WarpRequest {
  WarpOp op = WarpOp::kSync;
  unsigned mask = 0;
  int arg = 0;
  int width = 32;
  bool is_signed = false;
  size_t bytes = 0;
  alignas(16) unsigned char value[kWarpValueBytes] = {};
};

struct WarpReply {
  alignas(16) unsigned char value[kWarpValueBytes] = {};
  unsigned bits = 0;  // ballot / match result
  bool flag = false;  // any / all / match_all predicate
};

// Blocks until every lane named in req.mask (that exists in this warp) has made the same call, then
// returns this lane's result. Lanes that exited, or that call with another op or mask, are reported
// and abort the process.
WarpReply warp_collective(const WarpRequest& req);
unsigned active_mask();

using KernelThunk = void (*)(const void* closure);
// Runs every block of a launch before returning (the emulated device is synchronous). Errors are the
// ones a GPU launch reports, returned (not left for cudaGetLastError, which the real launch helper
// has already called): cudaErrorInvalidConfiguration for bad grid/block sizes, cudaErrorInvalidValue
// for too much dynamic shared memory, cudaErrorInvalidResourceHandle for a stream that
// cudaStreamCreate did not make.
cudaError_t launch_erased(const void* kernel, dim3 grid, dim3 block, size_t dynamic_smem_bytes, cudaStream_t stream,
                          KernelThunk thunk, const void* closure);

// Sets the runtime's last-error state (cudaGetLastError); used by the runtime calls.
cudaError_t record_error(cudaError_t e);

template <class T>
T warp_exchange(WarpOp op, unsigned mask, const T& v, int arg, int width) {
  static_assert(sizeof(T) <= kWarpValueBytes, "warp shuffles move at most 16 bytes per lane");
  WarpRequest r;
  r.op = op;
  r.mask = mask;
  r.arg = arg;
  r.width = width;
  r.bytes = sizeof(T);
  std::memcpy(r.value, static_cast<const void*>(&v), sizeof(T));
  const WarpReply rep = warp_collective(r);
  T out = v;
  std::memcpy(static_cast<void*>(&out), rep.value, sizeof(T));
  return out;
}

template <class T>
unsigned warp_reduce(WarpOp op, unsigned mask, T v) {
  static_assert(std::is_integral_v<T> && sizeof(T) == 4, "__reduce_*_sync takes int or unsigned");
  WarpRequest r;
  r.op = op;
  r.mask = mask;
  r.is_signed = std::is_signed_v<T>;
  r.bytes = sizeof(T);
  std::memcpy(r.value, &v, sizeof(T));
  const WarpReply rep = warp_collective(r);
  unsigned out;
  std::memcpy(&out, rep.value, sizeof(out));
  return out;
}

// a*b + c rounded once to a 16-bit float type, as the hardware fma does. The product of two 16-bit
// values is exact in double; TwoSum recovers the error of the addition so that a sum that lands on
// a tie between two 16-bit neighbours is broken the way the exact sum would be.
template <class R, class ToNarrow, class ToWide>
R fma_round_once(double a, double b, double c, ToNarrow to_narrow, ToWide to_wide) {
  const double p = a * b;
  const double s = p + c;
  const double bv = s - p;
  const double e = (p - (s - bv)) + (c - bv);
  const R r = to_narrow(s);
  if (e == 0 || !std::isfinite(s)) return r;
  const double rd = to_wide(r);
  if (rd == s) return r;
  const double other = 2 * s - rd;  // the neighbour on the far side of s, when s is exactly a midpoint
  if (!std::isfinite(other) || to_wide(to_narrow(other)) != other) return r;
  const R o = to_narrow(other);
  return (e > 0) == (other > rd) ? o : r;
}

}  // namespace dsconv::emu

// ---------------------------------------------------------------------------------------------
// Block and warp synchronization, shuffles and votes
// ---------------------------------------------------------------------------------------------

inline void __syncthreads() { ::dsconv::emu::sync_block(); }
inline int __syncthreads_count(int predicate) { return ::dsconv::emu::sync_block_count(predicate); }
inline int __syncthreads_and(int predicate) {
  return ::dsconv::emu::sync_block_count(predicate) == static_cast<int>(blockDim.x * blockDim.y * blockDim.z);
}
inline int __syncthreads_or(int predicate) { return ::dsconv::emu::sync_block_count(predicate) != 0; }

inline void __syncwarp(unsigned mask = 0xffffffffu) {
  ::dsconv::emu::WarpRequest r;
  r.op = ::dsconv::emu::WarpOp::kSync;
  r.mask = mask;
  (void)::dsconv::emu::warp_collective(r);
}

template <class T>
inline T __shfl_sync(unsigned mask, T var, int srcLane, int width = warpSize) {
  return ::dsconv::emu::warp_exchange(::dsconv::emu::WarpOp::kShflIdx, mask, var, srcLane, width);
}
template <class T>
inline T __shfl_up_sync(unsigned mask, T var, unsigned delta, int width = warpSize) {
  return ::dsconv::emu::warp_exchange(::dsconv::emu::WarpOp::kShflUp, mask, var, static_cast<int>(delta), width);
}
template <class T>
inline T __shfl_down_sync(unsigned mask, T var, unsigned delta, int width = warpSize) {
  return ::dsconv::emu::warp_exchange(::dsconv::emu::WarpOp::kShflDown, mask, var, static_cast<int>(delta), width);
}
template <class T>
inline T __shfl_xor_sync(unsigned mask, T var, int laneMask, int width = warpSize) {
  return ::dsconv::emu::warp_exchange(::dsconv::emu::WarpOp::kShflXor, mask, var, laneMask, width);
}

inline unsigned __ballot_sync(unsigned mask, int predicate) {
  ::dsconv::emu::WarpRequest r;
  r.op = ::dsconv::emu::WarpOp::kBallot;
  r.mask = mask;
  r.arg = predicate != 0;
  return ::dsconv::emu::warp_collective(r).bits;
}
inline int __any_sync(unsigned mask, int predicate) {
  ::dsconv::emu::WarpRequest r;
  r.op = ::dsconv::emu::WarpOp::kAny;
  r.mask = mask;
  r.arg = predicate != 0;
  return ::dsconv::emu::warp_collective(r).flag;
}
inline int __all_sync(unsigned mask, int predicate) {
  ::dsconv::emu::WarpRequest r;
  r.op = ::dsconv::emu::WarpOp::kAll;
  r.mask = mask;
  r.arg = predicate != 0;
  return ::dsconv::emu::warp_collective(r).flag;
}
inline unsigned __activemask() { return ::dsconv::emu::active_mask(); }

template <class T>
inline unsigned __match_any_sync(unsigned mask, T value) {
  static_assert(sizeof(T) == 4 || sizeof(T) == 8, "__match_any_sync takes 32- or 64-bit values");
  ::dsconv::emu::WarpRequest r;
  r.op = ::dsconv::emu::WarpOp::kMatchAny;
  r.mask = mask;
  r.bytes = sizeof(T);
  std::memcpy(r.value, &value, sizeof(T));
  return ::dsconv::emu::warp_collective(r).bits;
}
template <class T>
inline unsigned __match_all_sync(unsigned mask, T value, int* pred) {
  static_assert(sizeof(T) == 4 || sizeof(T) == 8, "__match_all_sync takes 32- or 64-bit values");
  ::dsconv::emu::WarpRequest r;
  r.op = ::dsconv::emu::WarpOp::kMatchAll;
  r.mask = mask;
  r.bytes = sizeof(T);
  std::memcpy(r.value, &value, sizeof(T));
  const ::dsconv::emu::WarpReply rep = ::dsconv::emu::warp_collective(r);
  *pred = rep.flag;
  return rep.bits;
}

#define DSCONV_EMU_REDUCE(name, op)                                                                           \
  inline unsigned name(unsigned mask, unsigned value) { return ::dsconv::emu::warp_reduce(op, mask, value); } \
  inline int name(unsigned mask, int value) { return static_cast<int>(::dsconv::emu::warp_reduce(op, mask, value)); }
DSCONV_EMU_REDUCE(__reduce_add_sync, ::dsconv::emu::WarpOp::kReduceAdd)
DSCONV_EMU_REDUCE(__reduce_min_sync, ::dsconv::emu::WarpOp::kReduceMin)
DSCONV_EMU_REDUCE(__reduce_max_sync, ::dsconv::emu::WarpOp::kReduceMax)
#undef DSCONV_EMU_REDUCE
inline unsigned __reduce_and_sync(unsigned mask, unsigned value) {
  return ::dsconv::emu::warp_reduce(::dsconv::emu::WarpOp::kReduceAnd, mask, value);
}
inline unsigned __reduce_or_sync(unsigned mask, unsigned value) {
  return ::dsconv::emu::warp_reduce(::dsconv::emu::WarpOp::kReduceOr, mask, value);
}
inline unsigned __reduce_xor_sync(unsigned mask, unsigned value) {
  return ::dsconv::emu::warp_reduce(::dsconv::emu::WarpOp::kReduceXor, mask, value);
}

// ---------------------------------------------------------------------------------------------
// Memory: read-only / cache-hinted loads and stores, fences
// ---------------------------------------------------------------------------------------------

template <class T>
inline T __ldg(const T* p) {
  return *p;
}
template <class T>
inline T __ldca(const T* p) {
  return *p;
}
template <class T>
inline T __ldcg(const T* p) {
  return *p;
}
template <class T>
inline T __ldcs(const T* p) {
  return *p;
}
template <class T>
inline T __ldlu(const T* p) {
  return *p;
}
template <class T>
inline T __ldcv(const T* p) {
  return *p;
}
template <class T>
inline void __stwb(T* p, T v) {
  *p = v;
}
template <class T>
inline void __stcg(T* p, T v) {
  *p = v;
}
template <class T>
inline void __stcs(T* p, T v) {
  *p = v;
}
template <class T>
inline void __stwt(T* p, T v) {
  *p = v;
}

// ThreadSanitizer does not model standalone fences (GCC warns); a compiler barrier keeps the order
// there, and the emulator's own synchronization already orders blocks.
#if defined(DSCONV_EMU_TSAN)
inline void __threadfence_block() { __atomic_signal_fence(__ATOMIC_SEQ_CST); }
inline void __threadfence() { __atomic_signal_fence(__ATOMIC_SEQ_CST); }
inline void __threadfence_system() { __atomic_signal_fence(__ATOMIC_SEQ_CST); }
#else
inline void __threadfence_block() { __atomic_thread_fence(__ATOMIC_SEQ_CST); }
inline void __threadfence() { __atomic_thread_fence(__ATOMIC_SEQ_CST); }
inline void __threadfence_system() { __atomic_thread_fence(__ATOMIC_SEQ_CST); }
#endif

// ---------------------------------------------------------------------------------------------
// Atomics: relaxed read-modify-writes, like CUDA's. Real atomics even with fibers, so that the
// threads mode (and ThreadSanitizer) see them as such.
// ---------------------------------------------------------------------------------------------

namespace dsconv::emu {
template <class T, class F>
inline T atomic_update(T* address, F f) {
  T old;
  __atomic_load(address, &old, __ATOMIC_RELAXED);
  T desired = f(old);
  while (!__atomic_compare_exchange(address, &old, &desired, false, __ATOMIC_RELAXED, __ATOMIC_RELAXED))
    desired = f(old);
  return old;
}
}  // namespace dsconv::emu

#define DSCONV_EMU_ATOMIC_INT(T)                                                            \
  inline T atomicAdd(T* a, T v) { return __atomic_fetch_add(a, v, __ATOMIC_RELAXED); }      \
  inline T atomicSub(T* a, T v) { return __atomic_fetch_sub(a, v, __ATOMIC_RELAXED); }      \
  inline T atomicExch(T* a, T v) { return __atomic_exchange_n(a, v, __ATOMIC_RELAXED); }    \
  inline T atomicAnd(T* a, T v) { return __atomic_fetch_and(a, v, __ATOMIC_RELAXED); }      \
  inline T atomicOr(T* a, T v) { return __atomic_fetch_or(a, v, __ATOMIC_RELAXED); }        \
  inline T atomicXor(T* a, T v) { return __atomic_fetch_xor(a, v, __ATOMIC_RELAXED); }      \
  inline T atomicMin(T* a, T v) {                                                           \
    return ::dsconv::emu::atomic_update(a, [v](T o) { return v < o ? v : o; });             \
  }                                                                                         \
  inline T atomicMax(T* a, T v) {                                                           \
    return ::dsconv::emu::atomic_update(a, [v](T o) { return v > o ? v : o; });             \
  }                                                                                         \
  inline T atomicCAS(T* a, T compare, T v) {                                                \
    __atomic_compare_exchange_n(a, &compare, v, false, __ATOMIC_RELAXED, __ATOMIC_RELAXED); \
    return compare;                                                                         \
  }
DSCONV_EMU_ATOMIC_INT(int)
DSCONV_EMU_ATOMIC_INT(unsigned int)
DSCONV_EMU_ATOMIC_INT(unsigned long long int)
#undef DSCONV_EMU_ATOMIC_INT
inline long long int atomicMin(long long int* a, long long int v) {
  return ::dsconv::emu::atomic_update(a, [v](long long int o) { return v < o ? v : o; });
}
inline long long int atomicMax(long long int* a, long long int v) {
  return ::dsconv::emu::atomic_update(a, [v](long long int o) { return v > o ? v : o; });
}
inline unsigned short int atomicCAS(unsigned short int* a, unsigned short int compare, unsigned short int v) {
  __atomic_compare_exchange_n(a, &compare, v, false, __ATOMIC_RELAXED, __ATOMIC_RELAXED);
  return compare;
}
inline unsigned int atomicInc(unsigned int* a, unsigned int limit) {
  return ::dsconv::emu::atomic_update(a, [limit](unsigned int o) { return o >= limit ? 0u : o + 1u; });
}
inline unsigned int atomicDec(unsigned int* a, unsigned int limit) {
  return ::dsconv::emu::atomic_update(a, [limit](unsigned int o) { return (o == 0u || o > limit) ? limit : o - 1u; });
}
inline float atomicAdd(float* a, float v) {
  return ::dsconv::emu::atomic_update(a, [v](float o) { return o + v; });
}
inline double atomicAdd(double* a, double v) {
  return ::dsconv::emu::atomic_update(a, [v](double o) { return o + v; });
}
inline float atomicExch(float* a, float v) {
  float old;
  __atomic_exchange(a, &v, &old, __ATOMIC_RELAXED);
  return old;
}
inline __half atomicAdd(__half* a, __half v) {
  return ::dsconv::emu::atomic_update(a, [v](__half o) { return __float2half_rn(__half2float(o) + __half2float(v)); });
}
inline __nv_bfloat16 atomicAdd(__nv_bfloat16* a, __nv_bfloat16 v) {
  return ::dsconv::emu::atomic_update(
      a, [v](__nv_bfloat16 o) { return __float2bfloat16_rn(__bfloat162float(o) + __bfloat162float(v)); });
}

// ---------------------------------------------------------------------------------------------
// Integer and float intrinsics
// ---------------------------------------------------------------------------------------------

inline int __popc(unsigned int x) { return __builtin_popcount(x); }
inline int __popcll(unsigned long long int x) { return __builtin_popcountll(x); }
inline int __clz(int x) { return x == 0 ? 32 : __builtin_clz(static_cast<unsigned>(x)); }
inline int __clzll(long long int x) { return x == 0 ? 64 : __builtin_clzll(static_cast<unsigned long long>(x)); }
inline int __ffs(int x) { return __builtin_ffs(x); }
inline int __ffsll(long long int x) { return __builtin_ffsll(x); }
inline unsigned int __brev(unsigned int x) {
  x = ((x >> 1) & 0x55555555u) | ((x & 0x55555555u) << 1);
  x = ((x >> 2) & 0x33333333u) | ((x & 0x33333333u) << 2);
  x = ((x >> 4) & 0x0f0f0f0fu) | ((x & 0x0f0f0f0fu) << 4);
  return __builtin_bswap32(x);
}
inline unsigned long long int __brevll(unsigned long long int x) {
  return (static_cast<unsigned long long>(__brev(static_cast<unsigned>(x))) << 32) |
         __brev(static_cast<unsigned>(x >> 32));
}
inline int __mul24(int a, int b) {
  const int64_t a24 = static_cast<int32_t>(static_cast<uint32_t>(a) << 8) >> 8;
  const int64_t b24 = static_cast<int32_t>(static_cast<uint32_t>(b) << 8) >> 8;
  return static_cast<int>(static_cast<uint32_t>(a24 * b24));
}
inline unsigned int __umul24(unsigned int a, unsigned int b) { return (a & 0xffffffu) * (b & 0xffffffu); }
inline int __mulhi(int a, int b) { return static_cast<int>((static_cast<int64_t>(a) * b) >> 32); }
inline unsigned int __umulhi(unsigned int a, unsigned int b) {
  return static_cast<unsigned>((static_cast<uint64_t>(a) * b) >> 32);
}
inline long long int __mul64hi(long long int a, long long int b) {
  return static_cast<long long>((static_cast<__int128>(a) * b) >> 64);
}
inline unsigned long long int __umul64hi(unsigned long long int a, unsigned long long int b) {
  return static_cast<unsigned long long>((static_cast<unsigned __int128>(a) * b) >> 64);
}
inline unsigned int __funnelshift_l(unsigned int lo, unsigned int hi, unsigned int shift) {
  const uint64_t v = (static_cast<uint64_t>(hi) << 32) | lo;
  return static_cast<unsigned>((v << (shift & 31u)) >> 32);
}
inline unsigned int __funnelshift_r(unsigned int lo, unsigned int hi, unsigned int shift) {
  const uint64_t v = (static_cast<uint64_t>(hi) << 32) | lo;
  return static_cast<unsigned>(v >> (shift & 31u));
}
inline unsigned int __byte_perm(unsigned int x, unsigned int y, unsigned int s) {
  const uint64_t v = (static_cast<uint64_t>(y) << 32) | x;
  unsigned r = 0;
  for (int i = 0; i < 4; ++i) r |= static_cast<unsigned>((v >> (8 * ((s >> (4 * i)) & 7u))) & 0xffu) << (8 * i);
  return r;
}

inline float __int_as_float(int x) {
  float f;
  std::memcpy(&f, &x, 4);
  return f;
}
inline int __float_as_int(float x) {
  int i;
  std::memcpy(&i, &x, 4);
  return i;
}
inline float __uint_as_float(unsigned int x) {
  float f;
  std::memcpy(&f, &x, 4);
  return f;
}
inline unsigned int __float_as_uint(float x) {
  unsigned i;
  std::memcpy(&i, &x, 4);
  return i;
}
inline double __longlong_as_double(long long int x) {
  double d;
  std::memcpy(&d, &x, 8);
  return d;
}
inline long long int __double_as_longlong(double x) {
  long long i;
  std::memcpy(&i, &x, 8);
  return i;
}

// The fast-math intrinsics are exact here; on a GPU they are within a few ulp. Tests compare with
// tolerances for that reason.
inline float __fdividef(float a, float b) { return a / b; }
inline float __expf(float x) { return expf(x); }
inline float __exp10f(float x) { return powf(10.0f, x); }
inline float __logf(float x) { return logf(x); }
inline float __log2f(float x) { return log2f(x); }
inline float __log10f(float x) { return log10f(x); }
inline float __sinf(float x) { return sinf(x); }
inline float __cosf(float x) { return cosf(x); }
inline float __tanf(float x) { return tanf(x); }
inline float __powf(float a, float b) { return powf(a, b); }
inline void __sincosf(float x, float* s, float* c) {
  *s = sinf(x);
  *c = cosf(x);
}
inline float __saturatef(float x) { return x != x ? 0.0f : (x < 0.0f ? 0.0f : (x > 1.0f ? 1.0f : x)); }
inline float rsqrtf(float x) { return 1.0f / sqrtf(x); }
inline double rsqrt(double x) { return 1.0 / sqrt(x); }
inline float __frcp_rn(float x) { return 1.0f / x; }
inline float __fsqrt_rn(float x) { return sqrtf(x); }
inline float __fdiv_rn(float a, float b) { return a / b; }
inline float __fadd_rn(float a, float b) { return a + b; }
inline float __fsub_rn(float a, float b) { return a - b; }
inline float __fmul_rn(float a, float b) { return a * b; }
inline float __fmaf_rn(float a, float b, float c) { return fmaf(a, b, c); }
inline double __dadd_rn(double a, double b) { return a + b; }
inline double __dmul_rn(double a, double b) { return a * b; }
inline double __fma_rn(double a, double b, double c) { return fma(a, b, c); }
inline int __float2int_rn(float x) { return static_cast<int>(nearbyintf(x)); }
inline int __float2int_rz(float x) { return static_cast<int>(x); }
inline int __float2int_rd(float x) { return static_cast<int>(floorf(x)); }
inline int __float2int_ru(float x) { return static_cast<int>(ceilf(x)); }
inline unsigned int __float2uint_rn(float x) { return static_cast<unsigned>(nearbyintf(x)); }
inline unsigned int __float2uint_rz(float x) { return static_cast<unsigned>(x); }
inline float __int2float_rn(int x) { return static_cast<float>(x); }
inline float __uint2float_rn(unsigned int x) { return static_cast<float>(x); }
inline long long int clock64() {
  return static_cast<long long>(std::chrono::steady_clock::now().time_since_epoch().count());
}

// CUDA's integer and float min/max overloads (host code has only std::min / std::max).
#define DSCONV_EMU_MINMAX(T)                       \
  inline T min(T a, T b) { return b < a ? b : a; } \
  inline T max(T a, T b) { return a < b ? b : a; }
DSCONV_EMU_MINMAX(int)
DSCONV_EMU_MINMAX(unsigned int)
DSCONV_EMU_MINMAX(long int)
DSCONV_EMU_MINMAX(unsigned long int)
DSCONV_EMU_MINMAX(long long int)
DSCONV_EMU_MINMAX(unsigned long long int)
#undef DSCONV_EMU_MINMAX
// Mixed signedness converts to unsigned, as CUDA's overloads do.
inline unsigned int min(int a, unsigned int b) { return min(static_cast<unsigned>(a), b); }
inline unsigned int min(unsigned int a, int b) { return min(a, static_cast<unsigned>(b)); }
inline unsigned int max(int a, unsigned int b) { return max(static_cast<unsigned>(a), b); }
inline unsigned int max(unsigned int a, int b) { return max(a, static_cast<unsigned>(b)); }
inline float min(float a, float b) { return fminf(a, b); }
inline float max(float a, float b) { return fmaxf(a, b); }
inline double min(double a, double b) { return fmin(a, b); }
inline double max(double a, double b) { return fmax(a, b); }
inline double min(float a, double b) { return fmin(a, b); }
inline double min(double a, float b) { return fmin(a, b); }
inline double max(float a, double b) { return fmax(a, b); }
inline double max(double a, float b) { return fmax(a, b); }

// ---------------------------------------------------------------------------------------------
// 16-bit float functions that cuda_fp16.h / cuda_bf16.h declare only for device code
// ---------------------------------------------------------------------------------------------

inline __half __hfma(__half a, __half b, __half c) {
  return ::dsconv::emu::fma_round_once<__half>(
      __half2float(a), __half2float(b), __half2float(c), [](double v) { return __double2half(v); },
      [](__half h) { return static_cast<double>(__half2float(h)); });
}
inline __half2 __hfma2(__half2 a, __half2 b, __half2 c) {
  return __halves2half2(__hfma(__low2half(a), __low2half(b), __low2half(c)),
                        __hfma(__high2half(a), __high2half(b), __high2half(c)));
}
inline __nv_bfloat16 __hfma(__nv_bfloat16 a, __nv_bfloat16 b, __nv_bfloat16 c) {
  return ::dsconv::emu::fma_round_once<__nv_bfloat16>(
      __bfloat162float(a), __bfloat162float(b), __bfloat162float(c), [](double v) { return __double2bfloat16(v); },
      [](__nv_bfloat16 h) { return static_cast<double>(__bfloat162float(h)); });
}
inline __nv_bfloat162 __hfma2(__nv_bfloat162 a, __nv_bfloat162 b, __nv_bfloat162 c) {
  return __halves2bfloat162(__hfma(__low2bfloat16(a), __low2bfloat16(b), __low2bfloat16(c)),
                            __hfma(__high2bfloat16(a), __high2bfloat16(b), __high2bfloat16(c)));
}

// ---------------------------------------------------------------------------------------------
// The emulated counterpart of kernel<<<grid, block, smem, stream>>>(args...); kernel code launches
// through dsconv::cuda::launch (cuda/emu/cuda_compat.hpp), which calls this.
// ---------------------------------------------------------------------------------------------

namespace dsconv::emu {

template <class... KArgs, class... Args>
cudaError_t launch_kernel(void (*kernel)(KArgs...), dim3 grid, dim3 block, size_t dynamic_smem_bytes,
                          cudaStream_t stream, Args&&... args) {
  static_assert(sizeof...(KArgs) == sizeof...(Args), "launch: argument count differs from the kernel's parameters");
  // Converted once, like a GPU launch's parameter buffer; each emulated thread then receives its own
  // copies (kernel parameters are by value), so a kernel that modifies a parameter affects only itself.
  struct Closure {
    void (*fn)(KArgs...);
    std::tuple<KArgs...> args;
  };
  const Closure closure{kernel, std::tuple<KArgs...>(std::forward<Args>(args)...)};
  return ::dsconv::emu::launch_erased(
      reinterpret_cast<const void*>(kernel), grid, block, dynamic_smem_bytes, stream,
      [](const void* c) {
        const Closure* cl = static_cast<const Closure*>(c);
        std::apply(cl->fn, cl->args);
      },
      &closure);
}

}  // namespace dsconv::emu
