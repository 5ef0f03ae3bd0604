// Device-side helpers of the depthwise kernels: 16-byte vector loads, paired stores, and the fragments
// the tiled kernels share (tap ring loop, NHWC pair epilogue); conversions and the activation come from
// cuda/common/device_types.cuh. Compiled by nvcc, and by the host compiler in the emulation build,
// where vector accesses go through memcpy so that no object is read through a foreign type.
#pragma once

#include <cstdint>
#include <cstring>

#include "cuda/common/device_types.cuh"
#include "cuda/depthwise/params.hpp"
#include "cuda/depthwise/traits.hpp"
#include "cuda/emu/cuda_compat.hpp"

#if defined(__CUDACC__)
#define DSCONV_DW_UNROLL _Pragma("unroll")
#else
#define DSCONV_DW_UNROLL
#endif

namespace dsconv::cuda::dw {

// A load or store of a plain vector type V at an address aligned to sizeof(V) (the caller checked).
// An NHWC tile's place in the grid-stride walk: the linear tile index enumerates
// (n, tile row, tile column, channel chunk) with the chunk fastest, so neighbouring blocks share input rows.
struct NhwcTileIndex {
  int n, ty, tx, chunk;
};
__device__ __forceinline__ NhwcTileIndex decompose_nhwc_tile(int tile, int chunks, int tiles_w, int tiles_h) {
  NhwcTileIndex r;
  r.chunk = tile % chunks;
  tile /= chunks;
  r.tx = tile % tiles_w;
  tile /= tiles_w;
  r.ty = tile % tiles_h;
  r.n = tile / tiles_h;
  return r;
}

template <class V>
__device__ __forceinline__ V load_aligned(const void* p) {
#if defined(DSCONV_CUDA_EMULATION)
  V v;
  std::memcpy(&v, p, sizeof(V));
  return v;
#else
  return __ldg(static_cast<const V*>(p));
#endif
}
template <class V>
__device__ __forceinline__ void store_aligned(void* p, const V& v) {
#if defined(DSCONV_CUDA_EMULATION)
  std::memcpy(p, &v, sizeof(V));
#else
  *static_cast<V*>(p) = v;
#endif
}

__device__ __forceinline__ float bits_to_float(unsigned u) {
#if defined(DSCONV_CUDA_EMULATION)
  float f;
  std::memcpy(&f, &u, 4);
  return f;
#else
  return __uint_as_float(u);
#endif
}

// Staging loops issue kStageBatch independent 16-byte loads per thread before the first use, so that
// a block keeps kStageBatch x 16 bytes per thread in flight instead of one load's round trip per
// element: bandwidth-bound layers need that memory-level parallelism.
constexpr int kStageBatch = 4;

// 16 raw bytes at a 16-byte aligned address.
__device__ __forceinline__ uint4 load_raw16(const void* p) { return load_aligned<uint4>(p); }

// 16 raw bytes of T (4 floats or 8 halves), widened to float.
template <class T>
__device__ __forceinline__ void unpack16(const uint4& v, float* out);
template <>
__device__ __forceinline__ void unpack16<float>(const uint4& v, float* out) {
  out[0] = bits_to_float(v.x), out[1] = bits_to_float(v.y), out[2] = bits_to_float(v.z), out[3] = bits_to_float(v.w);
}
template <>
__device__ __forceinline__ void unpack16<__half>(const uint4& v, float* out) {
  const unsigned words[4] = {v.x, v.y, v.z, v.w};
  DSCONV_DW_UNROLL
  for (int i = 0; i < 4; ++i) {
    __half2_raw raw;
    raw.x = static_cast<unsigned short>(words[i] & 0xffffu);
    raw.y = static_cast<unsigned short>(words[i] >> 16);
    const float2 f = __half22float2(__half2(raw));
    out[2 * i] = f.x, out[2 * i + 1] = f.y;
  }
}
template <>
__device__ __forceinline__ void unpack16<__nv_bfloat16>(const uint4& v, float* out) {
  const unsigned words[4] = {v.x, v.y, v.z, v.w};
  DSCONV_DW_UNROLL
  for (int i = 0; i < 4; ++i) {
    // bf16 is the upper half of an f32: widening is a shift.
    out[2 * i] = bits_to_float(words[i] << 16);
    out[2 * i + 1] = bits_to_float(words[i] & 0xffff0000u);
  }
}

// Two adjacent elements at an address aligned to 2 * sizeof(T).
template <class T>
__device__ __forceinline__ void store_pair(T* p, float a, float b);
template <>
__device__ __forceinline__ void store_pair<float>(float* p, float a, float b) {
  store_aligned(p, make_float2(a, b));
}
template <>
__device__ __forceinline__ void store_pair<__half>(__half* p, float a, float b) {
  const __half2_raw raw = __floats2half2_rn(a, b);
  store_aligned(p, static_cast<unsigned>(raw.x) | (static_cast<unsigned>(raw.y) << 16));
}
template <>
__device__ __forceinline__ void store_pair<__nv_bfloat16>(__nv_bfloat16* p, float a, float b) {
  const __nv_bfloat162_raw raw = __floats2bfloat162_rn(a, b);
  store_aligned(p, static_cast<unsigned>(raw.x) | (static_cast<unsigned>(raw.y) << 16));
}

// Four adjacent elements at an address aligned to 4 * sizeof(T).
template <class T>
__device__ __forceinline__ void store_quad(T* p, const float* v);
template <>
__device__ __forceinline__ void store_quad<float>(float* p, const float* v) {
  store_aligned(p, make_float4(v[0], v[1], v[2], v[3]));
}
template <>
__device__ __forceinline__ void store_quad<__half>(__half* p, const float* v) {
  const __half2_raw lo = __floats2half2_rn(v[0], v[1]);
  const __half2_raw hi = __floats2half2_rn(v[2], v[3]);
  store_aligned(p, make_uint2(static_cast<unsigned>(lo.x) | (static_cast<unsigned>(lo.y) << 16),
                              static_cast<unsigned>(hi.x) | (static_cast<unsigned>(hi.y) << 16)));
}
template <>
__device__ __forceinline__ void store_quad<__nv_bfloat16>(__nv_bfloat16* p, const float* v) {
  const __nv_bfloat162_raw lo = __floats2bfloat162_rn(v[0], v[1]);
  const __nv_bfloat162_raw hi = __floats2bfloat162_rn(v[2], v[3]);
  store_aligned(p, make_uint2(static_cast<unsigned>(lo.x) | (static_cast<unsigned>(lo.y) << 16),
                              static_cast<unsigned>(hi.x) | (static_cast<unsigned>(hi.y) << 16)));
}

// Shared-memory accesses of two or four floats (8- or 16-byte aligned by construction of the layouts).
__device__ __forceinline__ float2 load_smem2(const float* p) {
#if defined(DSCONV_CUDA_EMULATION)
  float2 v;
  std::memcpy(&v, p, sizeof(v));
  return v;
#else
  return *reinterpret_cast<const float2*>(p);
#endif
}
__device__ __forceinline__ void store_smem4(float* p, float a, float b, float c, float d) {
#if defined(DSCONV_CUDA_EMULATION)
  const float4 v = make_float4(a, b, c, d);
  std::memcpy(p, &v, sizeof(v));  // one 16-byte access, as the GPU's (what the performance model counts)
#else
  *reinterpret_cast<float4*>(p) = make_float4(a, b, c, d);
#endif
}

__device__ __forceinline__ void fma2(float2& acc, const float2& x, const float2& w) {
  acc.x = fmaf(x.x, w.x, acc.x);
  acc.y = fmaf(x.y, w.y, acc.y);
}

// Runs step(k, s) for the taps k = 0 .. ntaps-1 with s = k % kRegW, a compile-time constant once the
// loops are unrolled: the sliding-window kernels keep kRegW staged columns in a ring buffer indexed by
// s, so that every buffer index stays static (in registers) without unrolling over ntaps itself.
template <int kRegW, class Step>
__device__ __forceinline__ void for_each_tap_in_ring(int ntaps, const Step& step) {
  int k0 = 0;
  for (; k0 + kRegW <= ntaps; k0 += kRegW) {
    DSCONV_DW_UNROLL
    for (int s = 0; s < kRegW; ++s) step(k0 + s, s);
  }
  DSCONV_DW_UNROLL
  for (int s = 0; s < kRegW - 1; ++s) {
    if (k0 + s < ntaps) step(k0 + s, s);
  }
}

// NHWC epilogue of a kRegH x kRegW output tile of channel pairs (c, c + 1) of image n of y [N, OH, OW, C]:
// bias, activation, store. vec_out means C even and y aligned, so the pair is in range and aligned.
template <class T, int kRegH, int kRegW>
__device__ __forceinline__ void store_nhwc_pair_tile(const float2 (&acc)[kRegH][kRegW], const T* __restrict__ bias,
                                                     T* __restrict__ y, int n, int c, int C, int oy_base, int ox_base,
                                                     int OH, int OW, const DwParams& p) {
  float b0 = 0.f, b1 = 0.f;
  if (bias != nullptr) {
    b0 = to_float(bias[c]);
    if (c + 1 < C) b1 = to_float(bias[c + 1]);
  }
  T* __restrict__ const yn = y + static_cast<int64_t>(n) * (OH * OW * C);
  DSCONV_DW_UNROLL
  for (int r = 0; r < kRegH; ++r) {
    DSCONV_DW_UNROLL
    for (int o = 0; o < kRegW; ++o) {
      const int oy = oy_base + r, ox = ox_base + o;
      if (oy < OH && ox < OW) {
        const float v0 = activate(acc[r][o].x + b0, p.act);
        const float v1 = activate(acc[r][o].y + b1, p.act);
        T* const dst = yn + (oy * OW + ox) * C + c;
        if (p.vec_out) {
          store_pair<T>(dst, v0, v1);
        } else {
          dst[0] = from_float<T>(v0);
          if (c + 1 < C) dst[1] = from_float<T>(v1);
        }
      }
    }
  }
}

}  // namespace dsconv::cuda::dw
