// Generic tiled NCHW depthwise forward kernel: any filter size, stride, dilation, channel multiplier and
// padding.
//
// A block of 128 threads covers, for DwParams::tz (n, output channel) planes, a spatial tile of
// ty*kRegH rows x tx*kRegW columns: threads run along W, each owning kRegW adjacent outputs of kRegH
// rows. tx, ty, tz are picked on the host to fit the output (small maps put several planes in one block).
// The filter is walked in chunks of rows (GenericGeometry::chunk_kh); per chunk the block stages, per
// plane, the input rows those filter rows read and the chunk's taps, as f32. Staged rows carry one pad
// element per kRegW columns so that lanes whose windows start kRegW apart hit different banks.
// Chunks and taps that read only padding are skipped. kSlideW (stride_w == dilation_w == 1) slides a
// window of inputs along W in registers: one new shared-memory load per tap and output row.
#include "cuda/common/static_switch.hpp"
#include "cuda/depthwise/device_ops.cuh"

namespace dsconv::cuda::dw {
namespace {

template <int kRegW>
__device__ __forceinline__ int padded_col(int col) {
  return col + col / kRegW;  // kRegW is a power of two: a shift
}

// The explicit minimum of one block per SM lifts ptxas's own occupancy target, under which the f32
// variant spilled a few bytes at 64 registers (CUDA 13.0); it then takes 73.
template <class T, bool kSlideW>
__global__ void __launch_bounds__(NchwGenericTraits<kSlideW>::kThreads, 1) dw_fwd_nchw_generic_kernel(DwParams p) {
  using Tr = NchwGenericTraits<kSlideW>;
  constexpr int kRegH = Tr::kRegH, kRegW = Tr::kRegW;
  DSCONV_DYNAMIC_SMEM(float, smem);
  const GenericGeometry& g = p.geo;
  const int plane_floats = g.region_h * g.region_pitch + g.chunk_kh * static_cast<int>(p.kw);

  // Bounds proven on the host (offers.cpp): H*W, OH*OW, N*C*M and the filter size are below 2^31, the tile
  // count at most 2^30.
  const int H = static_cast<int>(p.h), W = static_cast<int>(p.w), C = static_cast<int>(p.c);
  const int M = static_cast<int>(p.m), CM = static_cast<int>(p.cm);
  const int OH = static_cast<int>(p.oh), OW = static_cast<int>(p.ow);
  const int KH = static_cast<int>(p.kh), KW = static_cast<int>(p.kw);
  const int SH = static_cast<int>(p.sh), SW = static_cast<int>(p.sw);
  const int DH = static_cast<int>(p.dh), DW = static_cast<int>(p.dw);
  const int PT = static_cast<int>(p.pad_top), PL = static_cast<int>(p.pad_left);
  const int planes_total = static_cast<int>(p.n * p.cm);
  const int tiles_w = static_cast<int>(p.tiles_w), tiles_h = static_cast<int>(p.tiles_h);
  const int total = static_cast<int>(p.groups * p.tiles_h * p.tiles_w);
  const int tap_stride = static_cast<int>(p.w_tap_stride), oc_stride = static_cast<int>(p.w_oc_stride);
  const int region_w = g.region_w, pitch = g.region_pitch;
  const T* __restrict__ const xg = static_cast<const T*>(p.x);
  const T* __restrict__ const wg = static_cast<const T*>(p.filter);
  const T* __restrict__ const bg = static_cast<const T*>(p.bias);
  T* const yg = static_cast<T*>(p.y);  // not __restrict__: the residual may be y itself

  const int nthreads = static_cast<int>(blockDim.x);
  const int tid = static_cast<int>(threadIdx.x);
  const int txi = tid % p.tx;
  const int tyi = (tid / p.tx) % p.ty;
  const int tzi = tid / (p.tx * p.ty);  // >= tz: helps staging only

  for (int tile = static_cast<int>(blockIdx.x); tile < total; tile += static_cast<int>(gridDim.x)) {
    int t = tile;
    const int tx = t % tiles_w;
    t /= tiles_w;
    const int ty = t % tiles_h;
    const int group = t / tiles_h;
    const int oy0 = ty * g.tile_h, ox0 = tx * g.tile_w;
    const int ix0 = ox0 * SW - PL;

    const TapRange block_rows = valid_taps(oy0, min(oy0 + g.tile_h, OH), H, KH, SH, DH, PT);
    const int q = group * g.planes + tzi;  // this thread's plane (n, oc)
    const int oy_base = oy0 + tyi * kRegH, ox_base = ox0 + txi * kRegW;
    const bool active = tzi < g.planes && q < planes_total && oy_base < OH && ox_base < OW;
    const TapRange rows = valid_taps(oy_base, min(oy_base + kRegH, OH), H, KH, SH, DH, PT);
    const TapRange cols = valid_taps(ox_base, min(ox_base + kRegW, OW), W, KW, SW, DW, PL);
    const float* const s_in = smem + (active ? tzi : 0) * plane_floats;
    const float* const s_w = s_in + g.region_h * pitch;

    float acc[kRegH][kRegW];
    DSCONV_UNROLL
    for (int r = 0; r < kRegH; ++r) {
      DSCONV_UNROLL
      for (int o = 0; o < kRegW; ++o) acc[r][o] = 0.f;
    }

    for (int kr0 = static_cast<int>(block_rows.first); kr0 < block_rows.last; kr0 += g.chunk_kh) {
      const int nk = min(g.chunk_kh, static_cast<int>(block_rows.last) - kr0);
      const int region_rows = (g.tile_h - 1) * SH + (nk - 1) * DH + 1;
      const int iy0 = oy0 * SH - PT + kr0 * DH;

      __syncthreads();  // readers of the previous chunk are done
      for (int z = 0; z < g.planes; ++z) {
        const int qz = group * g.planes + z;
        if (qz >= planes_total) break;  // uniform: depends on the block's group only
        const int n = qz / CM, oc = qz - n * CM;
        const T* __restrict__ const xp = xg + (static_cast<int64_t>(n) * C + oc / M) * (H * W);
        float* const dst = smem + z * plane_floats;
        const int items = region_rows * region_w;
        for (int base = tid; base < items; base += kStageBatch * nthreads) {
          float vals[kStageBatch];
          DSCONV_UNROLL
          for (int j = 0; j < kStageBatch; ++j) {
            const int i = base + j * nthreads;
            const int hy = i / region_w, hx = i - hy * region_w;
            const int iy = iy0 + hy, ix = ix0 + hx;
            const bool inside = i < items && static_cast<unsigned>(iy) < static_cast<unsigned>(H) &&
                                static_cast<unsigned>(ix) < static_cast<unsigned>(W);
            vals[j] = inside ? to_float(xp[iy * W + ix]) : 0.f;
          }
          DSCONV_UNROLL
          for (int j = 0; j < kStageBatch; ++j) {
            const int i = base + j * nthreads;
            const int hy = i / region_w, hx = i - hy * region_w;
            if (i < items) dst[hy * pitch + padded_col<kRegW>(hx)] = vals[j];
          }
        }
        float* const wdst = dst + g.region_h * pitch;
        for (int i = tid; i < nk * KW; i += nthreads) {
          wdst[i] = to_float(wg[(kr0 * KW + i) * tap_stride + oc * oc_stride]);
        }
      }
      __syncthreads();

      if (!active) continue;
      const int kr_begin = max(kr0, static_cast<int>(rows.first));
      const int kr_end = min(kr0 + nk, static_cast<int>(rows.last));
      for (int kr = kr_begin; kr < kr_end; ++kr) {
        const float* const wrow = s_w + (kr - kr0) * KW;
        const float* in_row[kRegH];
        DSCONV_UNROLL
        for (int r = 0; r < kRegH; ++r) in_row[r] = s_in + ((tyi * kRegH + r) * SH + (kr - kr0) * DH) * pitch;
        if constexpr (kSlideW) {
          // Output o at tap kc reads staged column txi*kRegW + o + kc; columns [kc, kc + kRegW) live in
          // buf[][col % kRegW] relative to kc_first, so buffer indices are compile-time constants.
          const int kc_first = static_cast<int>(cols.first);
          const int ntaps = static_cast<int>(cols.last) - kc_first;
          const int col0 = txi * kRegW + kc_first;
          float buf[kRegH][kRegW];
          DSCONV_UNROLL
          for (int r = 0; r < kRegH; ++r) {
            DSCONV_UNROLL
            for (int j = 0; j < kRegW - 1; ++j) buf[r][j] = in_row[r][padded_col<kRegW>(col0 + j)];
          }
          // Step s of a group of kRegW taps (s is a constant once the loops below are unrolled).
          const auto step = [&](int k, int s) {
            const float wv = wrow[kc_first + k];
            const int col = padded_col<kRegW>(col0 + k + kRegW - 1);
            DSCONV_UNROLL
            for (int r = 0; r < kRegH; ++r) {
              buf[r][(s + kRegW - 1) % kRegW] = in_row[r][col];
              DSCONV_UNROLL
              for (int o = 0; o < kRegW; ++o) acc[r][o] = fmaf(buf[r][(o + s) % kRegW], wv, acc[r][o]);
            }
          };
          for_each_tap_in_ring<kRegW>(ntaps, step);
        } else {
          for (int kc = static_cast<int>(cols.first); kc < cols.last; ++kc) {
            const float wv = wrow[kc];
            int col[kRegW];
            DSCONV_UNROLL
            for (int o = 0; o < kRegW; ++o) col[o] = padded_col<kRegW>((txi * kRegW + o) * SW + kc * DW);
            DSCONV_UNROLL
            for (int r = 0; r < kRegH; ++r) {
              DSCONV_UNROLL
              for (int o = 0; o < kRegW; ++o) acc[r][o] = fmaf(in_row[r][col[o]], wv, acc[r][o]);
            }
          }
        }
      }
    }

    if (active) {
      const int n = q / CM, oc = q - n * CM;
      const float b = bg != nullptr ? to_float(bg[oc]) : 0.f;
      const int64_t plane = (static_cast<int64_t>(n) * CM + oc) * (OH * OW);
      T* const yp = yg + plane;
      // The residual may be y itself: each element is read before this thread writes it.
      const T* const rp = p.residual != nullptr ? static_cast<const T*>(p.residual) + plane : nullptr;
      DSCONV_UNROLL
      for (int r = 0; r < kRegH; ++r) {
        const int oy = oy_base + r;
        if (oy >= OH) continue;
        float v[kRegW];
        DSCONV_UNROLL
        for (int o = 0; o < kRegW; ++o) {
          float s = acc[r][o] + b;
          if (rp != nullptr && ox_base + o < OW) s += to_float(rp[oy * OW + ox_base + o]);
          v[o] = activate(s, p.act);
        }
        T* const dst = yp + oy * OW + ox_base;
        DSCONV_UNROLL
        for (int o = 0; o < kRegW; o += 4) {
          // vec_out: OW % 4 == 0 and y aligned to 4 elements; ox_base is a multiple of 4, so a quad that
          // starts inside the row ends inside it.
          if (p.vec_out) {
            if (ox_base + o < OW) store_quad<T>(dst + o, v + o);
          } else {
            DSCONV_UNROLL
            for (int e = 0; e < 4; ++e) {
              if (ox_base + o + e < OW) dst[o + e] = from_float<T>(v[o + e]);
            }
          }
        }
      }
    }
  }
}

}  // namespace

Result<KernelFn> resolve_nchw_generic(const KernelChoice& k, const LaunchConfig& cfg, const DwParams& p) {
  return dispatch_dtype(k.dtype, [&](auto type_tag) -> Result<KernelFn> {
    using T = typename decltype(type_tag)::type;
    return dispatch_bool(k.slide_w, [&](auto slide_c) -> Result<KernelFn> {
      constexpr bool kSlide = decltype(slide_c)::value;
      using Tr = NchwGenericTraits<kSlide>;
      if (cfg.block != Tr::kThreads || cfg.smem_bytes != p.geo.smem_bytes || p.tx * p.ty * p.tz > Tr::kThreads ||
          p.geo.tile_w != p.tx * Tr::kRegW || p.geo.tile_h != p.ty * Tr::kRegH || p.geo.planes != p.tz) {
        return Status(StatusCode::kInternalError, "depthwise: NCHW generic launch disagrees with its traits");
      }
      return &dw_fwd_nchw_generic_kernel<T, kSlide>;
    });
  });
}

}  // namespace dsconv::cuda::dw
