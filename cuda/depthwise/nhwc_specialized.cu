// Specialized NHWC depthwise forward kernels: filter size and stride are template constants
// (DSCONV_DW_NHWC_SPECIALIZATIONS), dilation 1, multiplier 1, any padding, any C.
//
// A block covers an output tile (NhwcTileConfig: a large one, and a small one for grids under a block per
// SM) x 32 channels. It stages the input tile and its halo into shared memory (16-byte copies coalesced
// along C, by cp.async on sm_80 and later, all in flight at once; f32, or 16-bit data as it is, padded:
// NhwcStaging in traits.hpp), plus the chunk's filter taps as f32, loaded beside the copies;
// then each thread computes kRegH x kRegW outputs for a pair of adjacent channels, sliding over the
// staged rows: every input row segment is read once from shared memory and feeds every output row
// and filter tap that uses it, from registers.
#include <type_traits>

#include "cuda/common/async_copy.cuh"
#include "cuda/common/static_switch.hpp"
#include "cuda/depthwise/device_ops.cuh"

namespace dsconv::cuda::dw {
namespace {

// kFullEpilogue: a residual or an activation beyond the clamps (silu, hswish, gelu); false keeps the
// common epilogue's register budget (see store_nhwc_pair_tile).
template <class T, int K, int S, bool kSmall, bool kFullEpilogue>
__global__ void __launch_bounds__(NhwcSpecializedTraits<T, K, S, kSmall>::kThreads)
    dw_fwd_nhwc_specialized_kernel(DwParams p) {
  using Tr = NhwcSpecializedTraits<T, K, S, kSmall>;
  constexpr int kChunk = Tr::kChunk;
  constexpr int kVec = Tr::kLoadVec;
  using Sg = std::conditional_t<Tr::kStage16, T, float>;  // the staged input's element
  // The staged slot of window column j (kPadEvery divides a window's first column: traits.hpp).
  const auto slot = [](int j) { return static_cast<int>(nhwc_staged_slot(j, Tr::kPadEvery)) * kChunk; };
  DSCONV_DYNAMIC_SMEM(float, smem);
  Sg* const s_in = reinterpret_cast<Sg*>(smem);  // [kHaloH][kStagedW][kChunk]
  float* const s_w = reinterpret_cast<float*>(reinterpret_cast<unsigned char*>(smem) +
                                              static_cast<size_t>(Tr::kSmemInputElements) * sizeof(Sg));
  // [K*K][kChunk]

  // The host proved H*W*C, OH*OW*C, the filter size below 2^31 and the tile count at most 2^30 (offers.cpp).
  const int H = static_cast<int>(p.h), W = static_cast<int>(p.w), C = static_cast<int>(p.c);
  const int OH = static_cast<int>(p.oh), OW = static_cast<int>(p.ow);
  const int tiles_w = static_cast<int>(p.tiles_w), tiles_h = static_cast<int>(p.tiles_h);
  const int chunks = static_cast<int>(p.groups);
  const int total = static_cast<int>(p.n * p.tiles_h * p.tiles_w * p.groups);
  const int tap_stride = static_cast<int>(p.w_tap_stride), oc_stride = static_cast<int>(p.w_oc_stride);
  const int pad_top = static_cast<int>(p.pad_top), pad_left = static_cast<int>(p.pad_left);
  const T* __restrict__ const xg = static_cast<const T*>(p.x);
  const T* __restrict__ const wg = static_cast<const T*>(p.filter);
  const T* __restrict__ const bg = static_cast<const T*>(p.bias);
  T* const yg = static_cast<T*>(p.y);  // not __restrict__: the residual may be y itself

  const int tid = static_cast<int>(threadIdx.x);
  const int cl = (tid % Tr::kLanesPerPixel) * Tr::kChannelsPerThread;  // channel pair within the chunk
  const int strip = tid / Tr::kLanesPerPixel;
  const int ry0 = (strip / Tr::kStripsW) * Tr::kRegH;  // the thread's outputs within the tile
  const int rx0 = (strip % Tr::kStripsW) * Tr::kRegW;

  for (int tile = static_cast<int>(blockIdx.x); tile < total; tile += static_cast<int>(gridDim.x)) {
    const auto [n, ty, tx, chunk] = decompose_nhwc_tile(tile, chunks, tiles_w, tiles_h);
    const int c0 = chunk * kChunk;
    const int oy0 = ty * Tr::kTileH, ox0 = tx * Tr::kTileW;
    const int iy0 = oy0 * S - pad_top, ix0 = ox0 * S - pad_left;
    const T* __restrict__ const xn = xg + static_cast<int64_t>(n) * (H * W * C);

    __syncthreads();  // the previous tile's readers are done with shared memory
    constexpr int kItems = Tr::kHaloH * Tr::kHaloW * Tr::kVecsPerPixel;  // 16-byte vectors of the halo
    // Item i is vector i % kVecsPerPixel of halo pixel i / kVecsPerPixel; it lands at s_in + *at.
    const auto locate = [&](int i, int* offset, int* c, int* at) {
      const int v = i % Tr::kVecsPerPixel;
      const int px = i / Tr::kVecsPerPixel;
      const int hy = px / Tr::kHaloW, hx = px - hy * Tr::kHaloW;
      const int iy = iy0 + hy, ix = ix0 + hx;
      *c = c0 + v * kVec;
      if constexpr (Tr::kPadEvery == 0) {
        *at = i * kVec;  // unpadded: the items in order
      } else {
        *at = hy * Tr::kStagedW * kChunk + slot(hx) + v * kVec;
      }
      const bool inside =
          static_cast<unsigned>(iy) < static_cast<unsigned>(H) && static_cast<unsigned>(ix) < static_cast<unsigned>(W);
      *offset = inside ? (iy * W + ix) * C + *c : -1;
    };
    const bool async = p.vec_in && p.async_in;
    if (async) {
      // cp.async (sm_80+): every vector of the halo is in flight at once, straight into shared memory,
      // while the filter loads below go out too; one round trip for the whole staging.
      for (int i = tid; i < kItems; i += Tr::kThreads) {
        int offset, c, at;
        locate(i, &offset, &c, &at);
        const bool fill = offset >= 0 && c < C;
        cp_async16(s_in + at, fill ? static_cast<const void*>(xn + offset) : static_cast<const void*>(xg), fill);
      }
      cp_async_commit();
    } else if (p.vec_in || p.narrow_in != 0) {
      // 16 bytes of the item at a time, through registers: one 16-byte load (vec_in: C % kVec == 0 and x
      // 16-byte aligned, so a vector that starts below C ends within it; devices before sm_80), or two
      // 8-byte or four 4-byte ones (narrow_in: C a multiple of their elements, x aligned to them).
      const auto load_item = [&](int offset, int c) {
        uint4 r = make_uint4(0u, 0u, 0u, 0u);
        if (offset < 0) return r;
        if (p.vec_in) {
          if (c < C) r = load_raw16(xn + offset);
        } else if (p.narrow_in == 8) {
          constexpr int kHalf = kVec / 2;
          if (c < C) {
            const uint2 a = load_aligned<uint2>(xn + offset);
            r.x = a.x, r.y = a.y;
          }
          if (c + kHalf < C) {
            const uint2 b = load_aligned<uint2>(xn + offset + kHalf);
            r.z = b.x, r.w = b.y;
          }
        } else {  // 4 bytes: a pair of 16-bit values
          constexpr int kQuarter = kVec / 4;
          unsigned w[4];
          DSCONV_UNROLL
          for (int q = 0; q < 4; ++q)
            w[q] = c + q * kQuarter < C ? load_aligned<unsigned>(xn + offset + q * kQuarter) : 0u;
          r = make_uint4(w[0], w[1], w[2], w[3]);
        }
        return r;
      };
      for (int base = tid; base < kItems; base += kStageBatch * Tr::kThreads) {
        uint4 raw[kStageBatch];
        int at[kStageBatch];
        DSCONV_UNROLL
        for (int j = 0; j < kStageBatch; ++j) {
          const int i = base + j * Tr::kThreads;
          int offset, c;
          locate(i, &offset, &c, &at[j]);
          raw[j] = i < kItems ? load_item(offset, c) : make_uint4(0u, 0u, 0u, 0u);
        }
        DSCONV_UNROLL
        for (int j = 0; j < kStageBatch; ++j) {
          const int i = base + j * Tr::kThreads;
          if (i < kItems) {
            if constexpr (Tr::kStage16) {
              store_aligned(s_in + at[j], raw[j]);  // 8 values as loaded: one 16-byte store
            } else {
              float vals[kVec];
              unpack16<T>(raw[j], vals);
              store_smem4(s_in + at[j], vals[0], vals[1], vals[2], vals[3]);
            }
          }
        }
      }
    } else {  // element-wise: odd C (f32: C not even) or a misaligned view
      for (int i = tid; i < kItems; i += Tr::kThreads) {
        int offset, c, at;
        locate(i, &offset, &c, &at);
        if constexpr (Tr::kStage16) {
          DSCONV_UNROLL
          for (int e = 0; e < kVec; ++e) s_in[at + e] = offset >= 0 && c + e < C ? xn[offset + e] : from_float<Sg>(0.f);
        } else {
          float vals[kVec];
          DSCONV_UNROLL
          for (int e = 0; e < kVec; ++e) vals[e] = offset >= 0 && c + e < C ? to_float(xn[offset + e]) : 0.f;
          store_smem4(s_in + at, vals[0], vals[1], vals[2], vals[3]);
        }
      }
    }
    // The chunk's taps: every load of the thread first, then the stores (one round trip, not one per tap).
    float taps[Tr::kFilterItemsPerThread];
    DSCONV_UNROLL
    for (int j = 0; j < Tr::kFilterItemsPerThread; ++j) {
      const int i = tid + j * Tr::kThreads;
      const int ch = i % kChunk, tap = i / kChunk;
      const int c = c0 + ch;
      taps[j] = i < K * K * kChunk && c < C ? to_float(wg[tap * tap_stride + c * oc_stride]) : 0.f;
    }
    if (async) cp_async_wait<0>();
    DSCONV_UNROLL
    for (int j = 0; j < Tr::kFilterItemsPerThread; ++j) {
      const int i = tid + j * Tr::kThreads;
      if (i < K * K * kChunk) s_w[i] = taps[j];
    }
    __syncthreads();

    const int oy_base = oy0 + ry0, ox_base = ox0 + rx0;
    const int c = c0 + cl;
    if (oy_base < OH && ox_base < OW && c < C) {
      float2 acc[Tr::kRegH][Tr::kRegW];
      DSCONV_UNROLL
      for (int r = 0; r < Tr::kRegH; ++r) {
        DSCONV_UNROLL
        for (int o = 0; o < Tr::kRegW; ++o) acc[r][o] = make_float2(0.f, 0.f);
      }
      float2 wreg[Tr::kFilterInRegisters ? K * K : 1];
      if constexpr (Tr::kFilterInRegisters) {
        DSCONV_UNROLL
        for (int tap = 0; tap < K * K; ++tap) wreg[tap] = load_smem2(s_w + tap * kChunk + cl);
      }
      // Input row ir of the thread's window feeds output row r through filter row ir - r*S.
      DSCONV_UNROLL
      for (int ir = 0; ir < Tr::kThreadInRows; ++ir) {
        const Sg* const row = s_in + (ry0 * S + ir) * Tr::kStagedW * kChunk + slot(rx0 * S) + cl;
        float2 xr[Tr::kThreadInCols];
        DSCONV_UNROLL
        for (int j = 0; j < Tr::kThreadInCols; ++j) xr[j] = load_smem_pair(row + slot(j));
        DSCONV_UNROLL
        for (int r = 0; r < Tr::kRegH; ++r) {
          const int kr = ir - r * S;
          if (kr < 0 || kr >= K) continue;  // resolved at compile time
          DSCONV_UNROLL
          for (int kc = 0; kc < K; ++kc) {
            float2 wv;
            if constexpr (Tr::kFilterInRegisters) {
              wv = wreg[kr * K + kc];
            } else {
              wv = load_smem2(s_w + (kr * K + kc) * kChunk + cl);
            }
            DSCONV_UNROLL
            for (int o = 0; o < Tr::kRegW; ++o) fma2(acc[r][o], xr[o * S + kc], wv);
          }
        }
      }

      store_nhwc_pair_tile<T, Tr::kRegH, Tr::kRegW, kFullEpilogue>(acc, bg, yg, n, c, C, oy_base, ox_base, OH, OW, p);
    }
  }
}

}  // namespace

// The (kernel, stride) specializations of DSCONV_DW_NHWC_SPECIALIZATIONS as template constants: the same
// list the offer accepts from.
template <class Fn>
Result<KernelFn> dispatch_nhwc_specialization(int kernel, int stride, Fn&& fn) {
#define DSCONV_DW_CASE(K_, S_) \
  if (kernel == (K_) && stride == (S_)) return fn(std::integral_constant<int, K_>{}, std::integral_constant<int, S_>{});
  DSCONV_DW_NHWC_SPECIALIZATIONS(DSCONV_DW_CASE)
#undef DSCONV_DW_CASE
  return Status(StatusCode::kInternalError, "depthwise: no NHWC specialization for kernel " + std::to_string(kernel) +
                                                " stride " + std::to_string(stride));
}

Result<KernelFn> resolve_nhwc_specialized(const KernelChoice& k, const LaunchConfig& cfg, const DwParams&) {
  return dispatch_dtype(k.dtype, [&](auto type_tag) -> Result<KernelFn> {
    using T = typename decltype(type_tag)::type;
    return dispatch_nhwc_specialization(k.kernel, k.stride, [&](auto kernel_c, auto stride_c) -> Result<KernelFn> {
      constexpr int K = decltype(kernel_c)::value;
      constexpr int S = decltype(stride_c)::value;
      return dispatch_bool(k.small_tile, [&](auto small_c) -> Result<KernelFn> {
        constexpr bool kSmall = decltype(small_c)::value;
        using Tr = NhwcSpecializedTraits<T, K, S, kSmall>;
        if (cfg.block != Tr::kThreads || cfg.smem_bytes != Tr::kSmemBytes) {
          return Status(StatusCode::kInternalError, "depthwise: NHWC specialized launch disagrees with its traits");
        }
        return dispatch_bool(k.full_epilogue, [&](auto full_c) -> Result<KernelFn> {
          return &dw_fwd_nhwc_specialized_kernel<T, K, S, kSmall, decltype(full_c)::value>;
        });
      });
    });
  });
}

}  // namespace dsconv::cuda::dw
