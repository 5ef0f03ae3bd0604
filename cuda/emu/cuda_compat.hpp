// The one portability header of dsconv's CUDA sources. Every kernel file (.cu) includes it, and so
// does host code of the cuda backend that needs CUDA types.
//
//  - nvcc (__CUDACC__): plain CUDA. <cuda_runtime.h>, <cuda_fp16.h>, <cuda_bf16.h>, the dynamic
//    shared-memory macro and the launch helper as thin wrappers.
//  - DSCONV_CUDA_EMULATION (host C++ compiler): the same kernel sources compiled as C++ and run by the
//    CPU emulator in cuda/emu/ (see cuda/emu/README.md for what it models and how to pick its mode).
//  - neither: host code of the real-CUDA build (types, runtime API and prepare_kernel; no launch helper,
//    since only nvcc can spell a launch: host code launches through a function defined in a .cu file).
//
// Kernel code must use only what both of the first two provide:
//  - dynamic shared memory through DSCONV_DYNAMIC_SMEM(T, name) (never `extern __shared__`);
//  - launches through dsconv::cuda::launch (never `<<<...>>>`); plan creation readies the kernel it will
//    launch with dsconv::cuda::prepare_kernel (module loaded, shared-memory limit set, once per device);
//  - __CUDA_ARCH__ is not defined in the emulator: code behind `#if __CUDA_ARCH__ >= ...` runs its
//    #else branch there.
#pragma once

#include <cstddef>
#include <utility>

#if defined(__CUDACC__)

#include <cuda_bf16.h>
#include <cuda_fp16.h>
#include <cuda_runtime.h>

// One byte array shared by every kernel of a translation unit; 16-byte aligned so that float4/int4
// views of it are legal.
#define DSCONV_DYNAMIC_SMEM(T, name)                                    \
  extern __shared__ __align__(16) unsigned char dsconv_dynamic_smem_[]; \
  T* name = reinterpret_cast<T*>(dsconv_dynamic_smem_)

#elif defined(DSCONV_CUDA_EMULATION)

// The toolkit's own headers, compiled as host code: types, vector types and their make_* functions,
// and __half / __nv_bfloat16 with their host conversions and operators. cuda_runtime_api.h declares the
// runtime's C functions; the emulator defines the subset listed in cuda/emu/README.md (a call to any
// other one fails to link, which is the point).
#include <cuda_bf16.h>
#include <cuda_fp16.h>
#include <cuda_runtime_api.h>

#include "cuda/emu/emu.hpp"

#define DSCONV_DYNAMIC_SMEM(T, name) T* name = reinterpret_cast<T*>(::dsconv::emu::dynamic_smem())

#else  // host code of the real-CUDA build

#include <cuda_bf16.h>
#include <cuda_fp16.h>
#include <cuda_runtime.h>

#endif

#include <mutex>
#include <set>
#include <tuple>

namespace dsconv::cuda {

// Dynamic shared memory a kernel may use without opting in (every architecture since sm_30).
constexpr size_t kDefaultDynamicSmemBytes = 48u * 1024u;

// Readies `kernel` on the current device, once per (kernel, device), thread-safe: loads its module (a
// first launch must not do that inside a caller's CUDA graph capture, and with lazy loading it would) and
// sets its dynamic shared-memory limit to the most the device allows it (the opt-in maximum less its
// static shared memory). The limit is set once, to that maximum, rather than per launch to the launch's
// size: two host threads launching one kernel with different sizes could otherwise interleave
// set/set/launch and fail the larger launch. Plan creation calls it for the kernel a plan will launch.
// A device is known by its ordinal, its opt-in maximum and its SM count: the emulator can impersonate
// another architecture on the same ordinal (DSCONV_EMU_DEVICE), or a slice of one ("sm_90:4"), which is
// a device of its own that the kernel must be readied for anew.
inline cudaError_t prepare_kernel(const void* kernel) {
  static std::mutex mu;
  static std::set<std::tuple<const void*, int, int, int>> ready;
  int device = 0;
  cudaError_t e = cudaGetDevice(&device);
  if (e != cudaSuccess) return e;
  int optin = 0, sms = 0;
  e = cudaDeviceGetAttribute(&optin, cudaDevAttrMaxSharedMemoryPerBlockOptin, device);
  if (e == cudaSuccess) e = cudaDeviceGetAttribute(&sms, cudaDevAttrMultiProcessorCount, device);
  if (e != cudaSuccess) return e;
  std::lock_guard<std::mutex> lock(mu);
  if (ready.count({kernel, device, optin, sms}) != 0) return cudaSuccess;
  cudaFuncAttributes attr{};
  e = cudaFuncGetAttributes(&attr, kernel);  // loads the kernel's module
  const int limit = optin - static_cast<int>(attr.sharedSizeBytes);
  if (e == cudaSuccess && limit > static_cast<int>(kDefaultDynamicSmemBytes))
    e = cudaFuncSetAttribute(kernel, cudaFuncAttributeMaxDynamicSharedMemorySize, limit);
  if (e != cudaSuccess) {
    (void)cudaGetLastError();  // reported once, by the return value
    return e;
  }
  ready.insert({kernel, device, optin, sms});
  return cudaSuccess;
}

}  // namespace dsconv::cuda

#if defined(__CUDACC__) || defined(DSCONV_CUDA_EMULATION)

namespace dsconv::cuda {

// Launches kernel<<<grid, block, dynamic_smem_bytes, stream>>>(args...) and returns the launch error,
// once (the runtime's last error is cleared). Above the 48 KiB default the kernel is readied first
// (prepare_kernel; a no-op after the first time on a device).
template <class... KArgs, class... Args>
cudaError_t launch(void (*kernel)(KArgs...), dim3 grid, dim3 block, size_t dynamic_smem_bytes, cudaStream_t stream,
                   Args&&... args) {
  static_assert(sizeof...(KArgs) == sizeof...(Args), "launch: argument count differs from the kernel's parameters");
  if (dynamic_smem_bytes > kDefaultDynamicSmemBytes) {
    if (const cudaError_t e = prepare_kernel(reinterpret_cast<const void*>(kernel)); e != cudaSuccess) return e;
  }
#if defined(__CUDACC__)
  kernel<<<grid, block, dynamic_smem_bytes, stream>>>(std::forward<Args>(args)...);
  const cudaError_t err = cudaGetLastError();
#else
  const cudaError_t err =
      ::dsconv::emu::launch_kernel(kernel, grid, block, dynamic_smem_bytes, stream, std::forward<Args>(args)...);
#endif
  return err;
}

}  // namespace dsconv::cuda

#endif
