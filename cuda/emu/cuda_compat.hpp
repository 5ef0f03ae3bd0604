// The one portability header of dsconv's CUDA sources. Every kernel file (.cu) includes it, and so
// does host code of the cuda backend that needs CUDA types.
//
//  - nvcc (__CUDACC__): plain CUDA. <cuda_runtime.h>, <cuda_fp16.h>, <cuda_bf16.h>, the dynamic
//    shared-memory macro and the launch helper as thin wrappers.
//  - DSCONV_CUDA_EMULATION (host C++ compiler): the same kernel sources compiled as C++ and run by the
//    CPU emulator in cuda/emu/ (see cuda/emu/README.md for what it models and how to pick its mode).
//  - neither: host code of the real-CUDA build (types and runtime API only; no launch helper, since
//    only nvcc can spell a launch).
//
// Kernel code must use only what both of the first two provide:
//  - dynamic shared memory through DSCONV_DYNAMIC_SMEM(T, name) (never `extern __shared__`);
//  - launches through dsconv::cuda::launch (never `<<<...>>>`);
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

namespace dsconv::cuda {

// Launches kernel<<<grid, block, dynamic_smem_bytes, stream>>>(args...) and returns the launch error.
// Above the 48 KiB default the kernel must first opt in to the larger dynamic shared memory.
template <class... KArgs, class... Args>
cudaError_t launch(void (*kernel)(KArgs...), dim3 grid, dim3 block, size_t dynamic_smem_bytes, cudaStream_t stream,
                   Args&&... args) {
  static_assert(sizeof...(KArgs) == sizeof...(Args), "launch: argument count differs from the kernel's parameters");
  if (dynamic_smem_bytes > 48u * 1024u) {
    const cudaError_t e =
        cudaFuncSetAttribute(kernel, cudaFuncAttributeMaxDynamicSharedMemorySize, static_cast<int>(dynamic_smem_bytes));
    if (e != cudaSuccess) {
      (void)cudaGetLastError();  // reported once, by the return value, like a launch error
      return e;
    }
  }
  kernel<<<grid, block, dynamic_smem_bytes, stream>>>(std::forward<Args>(args)...);
  return cudaGetLastError();
}

}  // namespace dsconv::cuda

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
