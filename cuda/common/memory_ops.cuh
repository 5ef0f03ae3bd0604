// Vector memory accesses every kernel family shares: loads and stores of plain vector types at aligned
// addresses, 16 raw bytes of f32/f16/bf16 widened to f32, and pair/quad stores that round to the storage
// type. Compiled by nvcc, and by the host compiler in the emulation build, where vector accesses go
// through memcpy so that no object is read through a foreign type. The emulator's differences live here
// and in cuda/emu, not in the kernels.
#pragma once

#include <cstdint>
#include <cstring>

#include "cuda/common/hd.hpp"
#include "cuda/emu/cuda_compat.hpp"

namespace dsconv::cuda {

// A load or store of a plain vector type V at an address aligned to sizeof(V) (the caller checked).
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
  DSCONV_UNROLL
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
  DSCONV_UNROLL
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

// 16 / sizeof(T) adjacent elements (4 floats, 8 halves) at a 16-byte aligned address, in one 16-byte store:
// a warp's stores of whole vectors touch each 32-byte sector once, where two 8-byte halves would touch it
// twice.
template <class T>
__device__ __forceinline__ void store16(T* p, const float* v);
template <>
__device__ __forceinline__ void store16<float>(float* p, const float* v) {
  store_aligned(p, make_float4(v[0], v[1], v[2], v[3]));
}
template <class T>
__device__ __forceinline__ unsigned pack2(float a, float b);
template <>
__device__ __forceinline__ unsigned pack2<__half>(float a, float b) {
  const __half2_raw r = __floats2half2_rn(a, b);
  return static_cast<unsigned>(r.x) | (static_cast<unsigned>(r.y) << 16);
}
template <>
__device__ __forceinline__ unsigned pack2<__nv_bfloat16>(float a, float b) {
  const __nv_bfloat162_raw r = __floats2bfloat162_rn(a, b);
  return static_cast<unsigned>(r.x) | (static_cast<unsigned>(r.y) << 16);
}
template <>
__device__ __forceinline__ void store16<__half>(__half* p, const float* v) {
  store_aligned(p, make_uint4(pack2<__half>(v[0], v[1]), pack2<__half>(v[2], v[3]), pack2<__half>(v[4], v[5]),
                              pack2<__half>(v[6], v[7])));
}
template <>
__device__ __forceinline__ void store16<__nv_bfloat16>(__nv_bfloat16* p, const float* v) {
  store_aligned(p, make_uint4(pack2<__nv_bfloat16>(v[0], v[1]), pack2<__nv_bfloat16>(v[2], v[3]),
                              pack2<__nv_bfloat16>(v[4], v[5]), pack2<__nv_bfloat16>(v[6], v[7])));
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
__device__ __forceinline__ float4 load_smem4(const float* p) {
#if defined(DSCONV_CUDA_EMULATION)
  float4 v;
  std::memcpy(&v, p, sizeof(v));
  return v;
#else
  return *reinterpret_cast<const float4*>(p);
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

// One 32-bit word of shared memory (not load_aligned: __ldg is for global memory only).
__device__ __forceinline__ unsigned load_smem_word(const void* p) {
#if defined(DSCONV_CUDA_EMULATION)
  unsigned w;
  std::memcpy(&w, p, sizeof(w));
  return w;
#else
  return *static_cast<const unsigned*>(p);
#endif
}

// One 32-bit word of two 16-bit values of type T (the low half first), widened.
__device__ __forceinline__ float2 widen_word(unsigned w, const __half*) {
  __half2_raw raw;
  raw.x = static_cast<unsigned short>(w & 0xffffu);
  raw.y = static_cast<unsigned short>(w >> 16);
  return __half22float2(__half2(raw));
}
__device__ __forceinline__ float2 widen_word(unsigned w, const __nv_bfloat16*) {
  return make_float2(bits_to_float(w << 16), bits_to_float(w & 0xffff0000u));
}

// Two adjacent staged elements as floats: a float2, or one 32-bit word of two 16-bit values, widened.
__device__ __forceinline__ float2 load_smem_pair(const float* p) { return load_smem2(p); }
__device__ __forceinline__ float2 load_smem_pair(const __half* p) { return widen_word(load_smem_word(p), p); }
__device__ __forceinline__ float2 load_smem_pair(const __nv_bfloat16* p) { return widen_word(load_smem_word(p), p); }

__device__ __forceinline__ void fma2(float2& acc, const float2& x, const float2& w) {
  acc.x = fmaf(x.x, w.x, acc.x);
  acc.y = fmaf(x.y, w.y, acc.y);
}

}  // namespace dsconv::cuda
