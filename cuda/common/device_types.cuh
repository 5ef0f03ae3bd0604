// Device helpers shared by every kernel family: the storage types (f32, f16, bf16) to and from the f32
// that kernels compute in, and the fused activation. One definition, so that the depthwise kernels and
// the cuDNN backend's epilogue round and propagate NaN the same way as the CPU reference.
#pragma once

#include "cuda/common/activation_code.hpp"
#include "cuda/emu/cuda_compat.hpp"

namespace dsconv::cuda {

__device__ __forceinline__ float to_float(float v) { return v; }
__device__ __forceinline__ float to_float(__half v) { return __half2float(v); }
__device__ __forceinline__ float to_float(__nv_bfloat16 v) { return __bfloat162float(v); }

// Round to nearest even, as the reference's conversions do.
template <class T>
__device__ __forceinline__ T from_float(float v);
template <>
__device__ __forceinline__ float from_float<float>(float v) {
  return v;
}
template <>
__device__ __forceinline__ __half from_float<__half>(float v) {
  return __float2half_rn(v);
}
template <>
__device__ __forceinline__ __nv_bfloat16 from_float<__nv_bfloat16>(float v) {
  return __float2bfloat16_rn(v);
}

// act is a code from activation_code.hpp. Comparisons rather than fmaxf/fminf, so that NaN passes
// through unchanged as in the reference (max(NaN, 0) is NaN there).
__device__ __forceinline__ float activate(float v, int act) {
  if (act != kActNone) v = v < 0.f ? 0.f : v;
  if (act == kActRelu6) v = v > 6.f ? 6.f : v;
  return v;
}

}  // namespace dsconv::cuda
