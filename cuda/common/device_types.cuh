// Device helpers shared by every kernel family: the storage types (f32, f16, bf16) to and from the f32
// that kernels compute in, and the fused activation. One definition, so that the depthwise kernels and
// the cuDNN backend's epilogue round and propagate NaN the same way as the CPU reference.
#pragma once

#include "cuda/common/activation_code.hpp"
#include "cuda/common/hd.hpp"
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

// The activations that need a transcendental function (silu, gelu, gelu_tanh) and hswish. Not inlined:
// a tiled kernel's epilogue calls it once per output, unrolled over its register block, and inlining
// four expansions there would multiply code and register pressure for the common none/relu cases. The
// accurate expf/erff/tanhf (a few ulp), never the fast-math intrinsics; silu(-inf) = -0 and silu(+inf) =
// +inf as in the reference.
__device__ inline DSCONV_NOINLINE float activate_slow(float v, int act) {
  switch (act) {
    case kActSilu:
      return v / (1.f + expf(-v));
    case kActHswish: {
      const float r = v + 3.f < 0.f ? 0.f : v + 3.f > 6.f ? 6.f : v + 3.f;
      return v * r / 6.f;
    }
    case kActGelu:
      return 0.5f * v * (1.f + erff(v * 0.70710678118654752f));
    case kActGeluTanh:
      return 0.5f * v * (1.f + tanhf(0.79788456080286536f * (v + 0.044715f * v * v * v)));
    default:
      return v;
  }
}

// act is a code from activation_code.hpp (uniform across a launch, so the branches do not diverge).
// Comparisons rather than fmaxf/fminf, so that NaN passes through unchanged as in the reference (max(NaN,
// 0) is NaN there).
// activate_clamp: the activations that are clamps (none, relu, relu6) only; kernels instantiated for
// those epilogues call it, so that their register budget does not pay for a call.
__device__ __forceinline__ float activate_clamp(float v, int act) {
  if (act == kActRelu) return v < 0.f ? 0.f : v;
  if (act == kActRelu6) return v < 0.f ? 0.f : v > 6.f ? 6.f : v;
  return v;
}
__device__ __forceinline__ float activate(float v, int act) {
  if (act <= kActRelu6) return activate_clamp(v, act);
  return activate_slow(v, act);
}

}  // namespace dsconv::cuda
