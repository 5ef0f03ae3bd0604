// Generic tiled NHWC depthwise forward kernel: any filter size, stride, dilation, channel multiplier
// and padding.
//
// A block covers NhwcGenericTraits' output tile x 32 output channels. The filter is walked in chunks of
// rows (GenericGeometry::chunk_kh, sized on the host to the shared-memory budget): per chunk the block
// stages the input rows those filter rows read (f32, or 16-bit data as it is: NhwcStaging), and the
// chunk's taps as f32. Input channels are staged
// replicated per output channel (channel oc reads input channel oc / M), so the arithmetic is the same
// for every multiplier. Filter rows, chunks and columns that read only padding are skipped (a block
// skips the chunks its whole tile cannot reach; a thread skips the taps its own outputs cannot).
// On sm_80 and later the input is staged by cp.async with the filter's first loads beside it (one round
// trip for a chunk, where the register-staged batches took several).
// kSlideW (stride_w == dilation_w == 1) keeps a window of inputs along W in registers, so a tap costs one
// new shared-memory load per output row instead of one per output.
//
// kNarrow (sliding, lattice only): the 8x8 tile of one 8-wide strip and eight one-row strips, for residue
// classes at most 8 outputs wide (traits.hpp, NhwcGenericTraits); its 16-bit rows are an odd number of slots
// apart instead of padded along W.
//
// kLattice (stride 1, dilation d > 1): a block computes outputs spaced p.lat_h x p.lat_w apart (a step
// that divides the dilation; one residue class of the output grid), so the input it stages is spaced
// the same and the filter it applies there is dilated by d / step only: with step == d the staged tile
// is the dense filter's halo (tile + k - 1 rows) instead of tile + (k - 1) * d, which is what cuts the
// input a DeepLab atrous layer stages per output from 3-7x to about 1.2x (offers.cpp, lattice_steps_for).
#include <type_traits>

#include "cuda/common/async_copy.cuh"
#include "cuda/common/static_switch.hpp"
#include "cuda/depthwise/device_ops.cuh"

namespace dsconv::cuda::dw {
namespace {

template <class T, bool kSlideW, bool kNarrow, bool kLattice>
__global__ void __launch_bounds__(NhwcGenericTraits<kSlideW, kNarrow>::kThreads)
    dw_fwd_nhwc_generic_kernel(DwParams p) {
  using Tr = NhwcGenericTraits<kSlideW, kNarrow>;
  constexpr int kChunk = Tr::kChunk;
  constexpr int kRegH = Tr::kRegH, kRegW = Tr::kRegW;
  constexpr int kVec = load_vector_width<T>();
  // Staged input: S (f32, or 16-bit data as it is), columns at nhwc_staged_slot (traits.hpp, NhwcStaging).
  constexpr bool k16 = sizeof(T) == 2;
  using S = std::conditional_t<k16, T, float>;
  constexpr NhwcStaging kStaging = nhwc_generic_staging<kSlideW, kNarrow>(sizeof(T));
  constexpr int kPadEvery = static_cast<int>(kStaging.pad_every);
  constexpr bool kOddPitch = kStaging.odd_pitch;
  const auto slot = [](int col) { return static_cast<int>(nhwc_staged_slot(col, kPadEvery)) * kChunk; };
  DSCONV_DYNAMIC_SMEM(float, smem);
  const GenericGeometry& g = p.geo;
  S* const s_in = reinterpret_cast<S*>(smem);  // [region rows][staged columns][kChunk]
  float* const s_w = reinterpret_cast<float*>(reinterpret_cast<unsigned char*>(smem) +
                                              static_cast<size_t>(g.region_h) * g.region_pitch * sizeof(S));
  // [chunk_kh][KW][kChunk]

  // Bounds proven on the host (offers.cpp): H*W*C, OH*OW*CM and the filter size are below 2^31, the tile
  // count at most 2^30.
  const int H = static_cast<int>(p.h), W = static_cast<int>(p.w), C = static_cast<int>(p.c);
  const int M = static_cast<int>(p.m), CM = static_cast<int>(p.cm);
  const int OH = static_cast<int>(p.oh), OW = static_cast<int>(p.ow);
  const int KH = static_cast<int>(p.kh), KW = static_cast<int>(p.kw);
  const int SH = static_cast<int>(p.sh), SW = static_cast<int>(p.sw);
  const int DH = static_cast<int>(p.dh), DW = static_cast<int>(p.dw);
  const int PT = static_cast<int>(p.pad_top), PL = static_cast<int>(p.pad_left);
  const int tiles_w = static_cast<int>(p.tiles_w), tiles_h = static_cast<int>(p.tiles_h);
  const int chunks = static_cast<int>(p.groups);
  // Lattice: steps LY x LX between a block's outputs (and its staged inputs), LY * LX residue classes,
  // the filter dilated by DHc x DWc in the staged tile. Dense: steps 1, one class, DHc = DH.
  const int LY = kLattice ? static_cast<int>(p.lat_h) : 1, LX = kLattice ? static_cast<int>(p.lat_w) : 1;
  const int DHc = kLattice ? DH / LY : DH, DWc = kLattice ? DW / LX : DW;
  const int total = static_cast<int>(p.n * p.tiles_h * p.tiles_w * p.groups * (kLattice ? p.lat_h * p.lat_w : 1));
  const int tap_stride = static_cast<int>(p.w_tap_stride), oc_stride = static_cast<int>(p.w_oc_stride);
  const int region_w = g.region_w, pitch = g.region_pitch;
  // Element e of the unpadded staged order (rows of region_w pixels of kChunk): its place in s_in.
  const auto staged_at = [&](int e) {
    if constexpr (kPadEvery == 0 && !kOddPitch) {
      return e;
    } else {
      const int px = e / kChunk;
      const int hy = px / region_w, hx = px - hy * region_w;
      return hy * pitch + slot(hx) + (e - px * kChunk);
    }
  };
  const T* __restrict__ const xg = static_cast<const T*>(p.x);
  const T* __restrict__ const wg = static_cast<const T*>(p.filter);
  const T* __restrict__ const bg = static_cast<const T*>(p.bias);
  T* const yg = static_cast<T*>(p.y);  // not __restrict__: the residual may be y itself
  const bool vector_staging = p.vec_in && M == 1;

  const int tid = static_cast<int>(threadIdx.x);
  const int cl = (tid % kNhwcLanesPerPixel) * kNhwcChannelsPerThread;
  const int strip = tid / kNhwcLanesPerPixel;
  const int ry0 = (strip / Tr::kStripsW) * kRegH;
  const int rx0 = (strip % Tr::kStripsW) * kRegW;

  for (int tile = static_cast<int>(blockIdx.x); tile < total; tile += static_cast<int>(gridDim.x)) {
    // Lattice: the residue class (qy, qx) rides with the tile row (tiles_h rows per class).
    const auto [n, ty_all, tx, chunk] = decompose_nhwc_tile(tile, chunks, tiles_w, tiles_h * LY * LX);
    const int q = kLattice ? ty_all / tiles_h : 0;
    const int ty = kLattice ? ty_all - q * tiles_h : ty_all;
    const int oc0 = chunk * kChunk;
    // Output (oy0 + LY * i, ox0 + LX * j) is the tile's (i, j).
    const int oy0 = (kLattice ? q / LX : 0) + ty * Tr::kTileH * LY;
    const int ox0 = (kLattice ? q % LX : 0) + tx * Tr::kTileW * LX;
    const int ix0 = ox0 * SW - PL;
    const T* __restrict__ const xn = xg + static_cast<int64_t>(n) * (H * W * C);

    // Filter rows the whole tile can reach (uniform over the block: it bounds the barrier loop).
    const int oy_base = oy0 + ry0 * LY, ox_base = ox0 + rx0 * LX;
    TapRange block_rows, rows, cols;
    if constexpr (kLattice) {
      block_rows = lattice_taps(oy0, lattice_count(oy0, Tr::kTileH, LY, OH), H, KH, LY, DHc, PT);
      rows = lattice_taps(oy_base, lattice_count(oy_base, kRegH, LY, OH), H, KH, LY, DHc, PT);
      cols = lattice_taps(ox_base, lattice_count(ox_base, kRegW, LX, OW), W, KW, LX, DWc, PL);
    } else {
      block_rows = valid_taps(oy0, min(oy0 + Tr::kTileH, OH), H, KH, SH, DH, PT);
      // Taps this thread's own outputs can reach.
      rows = valid_taps(oy_base, min(oy_base + kRegH, OH), H, KH, SH, DH, PT);
      cols = valid_taps(ox_base, min(ox_base + kRegW, OW), W, KW, SW, DW, PL);
    }
    const int oc = oc0 + cl;
    const bool active = oy_base < OH && ox_base < OW && oc < CM;

    float2 acc[kRegH][kRegW];
    DSCONV_UNROLL
    for (int r = 0; r < kRegH; ++r) {
      DSCONV_UNROLL
      for (int o = 0; o < kRegW; ++o) acc[r][o] = make_float2(0.f, 0.f);
    }

    for (int kr0 = static_cast<int>(block_rows.first); kr0 < block_rows.last; kr0 += g.chunk_kh) {
      const int nk = min(g.chunk_kh, static_cast<int>(block_rows.last) - kr0);
      const int region_rows = (Tr::kTileH - 1) * SH + (nk - 1) * DHc + 1;
      const int iy0 = oy0 * SH - PT + kr0 * DH;

      __syncthreads();  // readers of the previous chunk are done
      // Staged rows are region_w pixels of kChunk elements at their slots (padded for 16-bit data).
      const bool async = vector_staging && p.async_in;
      // Vector staging (M == 1, C % kVec == 0, x 16-byte aligned): item i is 16-byte vector i % kVecsPerPixel
      // of region pixel i / kVecsPerPixel; its element offset in the image, or -1 (padding, channels past C).
      constexpr int kVecsPerPixel = kChunk / kVec;
      const int vec_items = region_rows * region_w * kVecsPerPixel;
      const auto vec_offset = [&](int i) {
        const int v = i % kVecsPerPixel;
        const int px = i / kVecsPerPixel;
        const int hy = px / region_w, hx = px - hy * region_w;
        const int iy = iy0 + hy * LY, ix = ix0 + hx * LX;
        const int c = oc0 + v * kVec;
        const bool inside = static_cast<unsigned>(iy) < static_cast<unsigned>(H) &&
                            static_cast<unsigned>(ix) < static_cast<unsigned>(W) && c < C;
        return inside ? (iy * W + ix) * C + c : -1;
      };
      if (async) {
        // cp.async (sm_80+): the region's vectors go straight to shared memory, kAsyncGroup per thread in
        // a group, at most two groups in flight (one round trip for regions of up to 2 * kAsyncGroup
        // vectors a thread: a 5x5 filter at dilation 2 stages 24).
        int group = 0;
        for (int base = tid; base < vec_items; base += kAsyncGroup * Tr::kThreads, ++group) {
          if (group >= 2) cp_async_wait<1>();
          for (int j = 0; j < kAsyncGroup; ++j) {
            const int i = base + j * Tr::kThreads;
            if (i >= vec_items) break;
            const int off = vec_offset(i);
            cp_async16(s_in + staged_at(i * kVec), off >= 0 ? static_cast<const void*>(xn + off) : xg, off >= 0);
          }
          cp_async_commit();
        }
      } else if (vector_staging) {  // through registers, kStageBatch loads a thread before their stores
        const int items = vec_items;
        for (int base = tid; base < items; base += kStageBatch * Tr::kThreads) {
          uint4 raw[kStageBatch];
          DSCONV_UNROLL
          for (int j = 0; j < kStageBatch; ++j) {
            const int i = base + j * Tr::kThreads;
            const int off = i < items ? vec_offset(i) : -1;
            raw[j] = off >= 0 ? load_raw16(xn + off) : make_uint4(0u, 0u, 0u, 0u);
          }
          DSCONV_UNROLL
          for (int j = 0; j < kStageBatch; ++j) {
            const int i = base + j * Tr::kThreads;
            if (i < items) {
              S* const dst = s_in + staged_at(i * kVec);
              if constexpr (k16) {
                store_aligned(dst, raw[j]);  // 8 values as loaded: one 16-byte store
              } else {
                static_assert(kVec == 4, "one 16-byte load is four floats");
                float vals[kVec];
                unpack16<T>(raw[j], vals);
                store_smem4(dst, vals[0], vals[1], vals[2], vals[3]);
              }
            }
          }
        }
      } else {  // element-wise, input channel oc / M replicated per output channel
        const int items = region_rows * region_w * kChunk;
        for (int base = tid; base < items; base += kStageBatch * Tr::kThreads) {
          S vals[kStageBatch];
          DSCONV_UNROLL
          for (int j = 0; j < kStageBatch; ++j) {
            const int i = base + j * Tr::kThreads;
            const int ch = i % kChunk;
            const int px = i / kChunk;
            const int hy = px / region_w, hx = px - hy * region_w;
            const int iy = iy0 + hy * LY, ix = ix0 + hx * LX;
            const int o = oc0 + ch;
            const bool inside = i < items && static_cast<unsigned>(iy) < static_cast<unsigned>(H) &&
                                static_cast<unsigned>(ix) < static_cast<unsigned>(W) && o < CM;
            vals[j] = inside ? xn[(iy * W + ix) * C + o / M] : from_float<S>(0.f);
          }
          DSCONV_UNROLL
          for (int j = 0; j < kStageBatch; ++j) {
            const int i = base + j * Tr::kThreads;
            if (i < items) s_in[staged_at(i)] = vals[j];
          }
        }
      }
      // The chunk's taps, kFilterBatch loads a thread at a time; the first batch goes out beside the copies.
      const int witems = nk * KW * kChunk;
      for (int base = tid; base < witems; base += kFilterBatch * Tr::kThreads) {
        float taps[kFilterBatch];
        DSCONV_UNROLL
        for (int j = 0; j < kFilterBatch; ++j) {
          const int i = base + j * Tr::kThreads;
          const int ch = i % kChunk;
          const int tap = i / kChunk;  // (kr - kr0) * KW + kc
          const int o = oc0 + ch;
          taps[j] = i < witems && o < CM ? to_float(wg[(kr0 * KW + tap) * tap_stride + o * oc_stride]) : 0.f;
        }
        if (async && base == tid) cp_async_wait<0>();
        DSCONV_UNROLL
        for (int j = 0; j < kFilterBatch; ++j) {
          const int i = base + j * Tr::kThreads;
          if (i < witems) s_w[i] = taps[j];
        }
      }
      if (async) cp_async_wait<0>();  // a thread without taps to load (or none left pending: a no-op)
      __syncthreads();

      if (!active) continue;
      const int kr_begin = max(kr0, static_cast<int>(rows.first));
      const int kr_end = min(kr0 + nk, static_cast<int>(rows.last));
      for (int kr = kr_begin; kr < kr_end; ++kr) {
        const float* const wrow = s_w + (kr - kr0) * KW * kChunk + cl;
        const S* in_row[kRegH];
        DSCONV_UNROLL
        for (int r = 0; r < kRegH; ++r) in_row[r] = s_in + ((ry0 + r) * SH + (kr - kr0) * DHc) * pitch + cl;
        if constexpr (kSlideW) {
          // Output o at tap kc reads staged column rx0 + o + kc. Columns [kc, kc + kRegW) live in
          // buf[][col % kRegW] relative to kc_first, so every index below is a compile-time constant.
          const int kc_first = static_cast<int>(cols.first);
          const int ntaps = static_cast<int>(cols.last) - kc_first;
          const int col0 = rx0 + kc_first;  // staged column of output 0 at tap kc_first
          float2 buf[kRegH][kRegW];
          DSCONV_UNROLL
          for (int j = 0; j < kRegW - 1; ++j) {
            const int at = slot(col0 + j);
            DSCONV_UNROLL
            for (int r = 0; r < kRegH; ++r) buf[r][j] = load_smem_pair(in_row[r] + at);
          }
          // Step s of a group of kRegW taps (s is a constant once the loops below are unrolled).
          const auto step = [&](int k, int s) {
            const float2 wv = load_smem2(wrow + (kc_first + k) * kChunk);
            const int at = slot(col0 + k + kRegW - 1);
            DSCONV_UNROLL
            for (int r = 0; r < kRegH; ++r) {
              buf[r][(s + kRegW - 1) % kRegW] = load_smem_pair(in_row[r] + at);
              DSCONV_UNROLL
              for (int o = 0; o < kRegW; ++o) fma2(acc[r][o], buf[r][(o + s) % kRegW], wv);
            }
          };
          for_each_tap_in_ring<kRegW>(ntaps, step);
        } else {
          for (int kc = static_cast<int>(cols.first); kc < cols.last; ++kc) {
            const float2 wv = load_smem2(wrow + kc * kChunk);
            const int col = rx0 * SW + kc * DWc;  // staged column of output 0 at tap kc
            int at[kRegW];
            DSCONV_UNROLL
            for (int o = 0; o < kRegW; ++o) at[o] = slot(col + o * SW);
            DSCONV_UNROLL
            for (int r = 0; r < kRegH; ++r) {
              DSCONV_UNROLL
              for (int o = 0; o < kRegW; ++o) fma2(acc[r][o], load_smem_pair(in_row[r] + at[o]), wv);
            }
          }
        }
      }
    }

    if (active) {
      store_nhwc_pair_tile<T, kRegH, kRegW>(acc, bg, yg, n, oc, CM, oy_base, ox_base, OH, OW, p, LY, LX);
    }
  }
}

}  // namespace

Result<KernelFn> resolve_nhwc_generic(const KernelChoice& k, const LaunchConfig& cfg, const DwParams& p) {
  return dispatch_dtype(k.dtype, [&](auto type_tag) -> Result<KernelFn> {
    using T = typename decltype(type_tag)::type;
    return dispatch_bool(k.slide_w, [&](auto slide_c) -> Result<KernelFn> {
      constexpr bool kSlide = decltype(slide_c)::value;
      // The narrow tile exists for the lattice's sliding kernel only (offers.cpp, nhwc_generic_shape).
      if (k.narrow_tile && (!kSlide || !k.lattice)) {
        return Status(StatusCode::kInternalError, "depthwise: the NHWC narrow tile is a sliding lattice tile");
      }
      const int threads = k.narrow_tile ? NhwcGenericTraits<true, true>::kThreads : NhwcGenericTraits<kSlide>::kThreads;
      if (cfg.block != threads || cfg.smem_bytes != p.geo.smem_bytes) {
        return Status(StatusCode::kInternalError, "depthwise: NHWC generic launch disagrees with its traits");
      }
      if (!k.lattice) return &dw_fwd_nhwc_generic_kernel<T, kSlide, false, false>;
      if (p.sh != 1 || p.sw != 1 || p.lat_h < 1 || p.lat_w < 1 || p.dh % p.lat_h != 0 || p.dw % p.lat_w != 0 ||
          (kSlide && p.dw != p.lat_w)) {
        return Status(StatusCode::kInternalError, "depthwise: NHWC lattice steps disagree with the problem");
      }
      if constexpr (kSlide) {
        if (k.narrow_tile) return &dw_fwd_nhwc_generic_kernel<T, true, true, true>;
      }
      return &dw_fwd_nhwc_generic_kernel<T, kSlide, false, true>;
    });
  });
}

}  // namespace dsconv::cuda::dw
