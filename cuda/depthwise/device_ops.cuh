// Device-side fragments the depthwise kernels share (the NHWC tile index, the staging batch, the tap
// ring loop, the NHWC pair epilogue). Vector loads and stores come from cuda/common/memory_ops.cuh,
// conversions and the activation from cuda/common/device_types.cuh.
#pragma once

#include <cstdint>

#include "cuda/common/device_types.cuh"
#include "cuda/common/memory_ops.cuh"
#include "cuda/depthwise/params.hpp"
#include "cuda/depthwise/traits.hpp"
#include "cuda/emu/cuda_compat.hpp"

namespace dsconv::cuda::dw {

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

// Staging loops issue kStageBatch independent 16-byte loads per thread before the first use, so that
// a block keeps kStageBatch x 16 bytes per thread in flight instead of one load's round trip per
// element: bandwidth-bound layers need that memory-level parallelism.
constexpr int kStageBatch = 4;
// cp.async staging of the generic kernels: copies per thread in one group (two groups at most in flight,
// 512 bytes a thread), and filter taps loaded per batch.
constexpr int kAsyncGroup = 16;
constexpr int kFilterBatch = 8;

// Runs step(k, s) for the taps k = 0 .. ntaps-1 with s = k % kRegW, a compile-time constant once the
// loops are unrolled: the sliding-window kernels keep kRegW staged columns in a ring buffer indexed by
// s, so that every buffer index stays static (in registers) without unrolling over ntaps itself.
template <int kRegW, class Step>
__device__ __forceinline__ void for_each_tap_in_ring(int ntaps, const Step& step) {
  int k0 = 0;
  for (; k0 + kRegW <= ntaps; k0 += kRegW) {
    DSCONV_UNROLL
    for (int s = 0; s < kRegW; ++s) step(k0 + s, s);
  }
  DSCONV_UNROLL
  for (int s = 0; s < kRegW - 1; ++s) {
    if (k0 + s < ntaps) step(k0 + s, s);
  }
}

// NHWC epilogue of a kRegH x kRegW output tile of channel pairs (c, c + 1) of image n of y [N, OH, OW, C]:
// bias, residual, activation, store. Element (r, o) of the tile is output (oy_base + r * step_y,
// ox_base + o * step_x) (steps: the lattice kernel's; 1 elsewhere). vec_out means C even and y aligned, so the pair is
// in range and aligned. The residual (p.residual, y's shape and layout) may be y itself: each element is read before
// this thread writes it. kFull = false instantiates the common epilogue only (bias and a clamp
// activation, no residual), which costs the register-blocked kernels no registers for the rest.
template <class T, int kRegH, int kRegW, bool kFull = true>
__device__ __forceinline__ void store_nhwc_pair_tile(const float2 (&acc)[kRegH][kRegW], const T* __restrict__ bias,
                                                     T* y, int n, int c, int C, int oy_base, int ox_base, int OH,
                                                     int OW, const DwParams& p, int step_y = 1, int step_x = 1) {
  float b0 = 0.f, b1 = 0.f;
  if (bias != nullptr) {
    b0 = to_float(bias[c]);
    if (c + 1 < C) b1 = to_float(bias[c + 1]);
  }
  const int64_t image = static_cast<int64_t>(n) * (OH * OW * C);
  T* const yn = y + image;
  // Bias + clamp, stored as computed (the common case keeps the plain kernel's registers).
  const auto store = [&](int r, int o, float v0, float v1) {
    const int oy = oy_base + r * step_y, ox = ox_base + o * step_x;
    T* const dst = yn + (oy * OW + ox) * C + c;
    if (p.vec_out) {
      store_pair<T>(dst, v0, v1);
    } else {
      dst[0] = from_float<T>(v0);
      if (c + 1 < C) dst[1] = from_float<T>(v1);
    }
  };
  if constexpr (!kFull) {
    DSCONV_UNROLL
    for (int r = 0; r < kRegH; ++r) {
      DSCONV_UNROLL
      for (int o = 0; o < kRegW; ++o) {
        if (oy_base + r * step_y < OH && ox_base + o * step_x < OW)
          store(r, o, activate_clamp(acc[r][o].x + b0, p.act), activate_clamp(acc[r][o].y + b1, p.act));
      }
    }
  } else {
    float2 v[kRegH][kRegW];
    DSCONV_UNROLL
    for (int r = 0; r < kRegH; ++r) {
      DSCONV_UNROLL
      for (int o = 0; o < kRegW; ++o) v[r][o] = make_float2(acc[r][o].x + b0, acc[r][o].y + b1);
    }
    if (p.residual != nullptr) {
      // Every residual load is issued before the first store: the residual may be y itself, so a load
      // after a store could not be hoisted above it, and the loads would go one round trip at a time.
      const T* const rn = static_cast<const T*>(p.residual) + image;
      DSCONV_UNROLL
      for (int r = 0; r < kRegH; ++r) {
        DSCONV_UNROLL
        for (int o = 0; o < kRegW; ++o) {
          const int oy = oy_base + r * step_y, ox = ox_base + o * step_x;
          if (oy < OH && ox < OW) {
            const int at = (oy * OW + ox) * C + c;
            v[r][o].x += to_float(rn[at]);
            if (c + 1 < C) v[r][o].y += to_float(rn[at + 1]);
          }
        }
      }
    }
    DSCONV_UNROLL
    for (int r = 0; r < kRegH; ++r) {
      DSCONV_UNROLL
      for (int o = 0; o < kRegW; ++o) {
        if (oy_base + r * step_y < OH && ox_base + o * step_x < OW)
          store(r, o, activate(v[r][o].x, p.act), activate(v[r][o].y, p.act));
      }
    }
  }
}

}  // namespace dsconv::cuda::dw
