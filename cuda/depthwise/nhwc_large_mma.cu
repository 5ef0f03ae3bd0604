// Large depthwise filters on tensor cores: NHWC, f16/bf16 storage, f32 accumulation, stride 1, dilation 1,
// multiplier 1, filter width 13..41 (RepLKNet's 13, 27, 29, 31), any height up to 41, any padding.
//
// Per channel, filter row kr maps input rows to output rows through a Toeplitz band (traits.hpp,
// LargeMmaTraits). With output columns on M and output rows on N, for an m-tile of 16 output columns
// x0 + m and a group of 8 output rows y0 + n:
//   D[m][n] += sum_k A[m][k] * B[k][n],   A[m][k] = W[kr][16s + k - m] (0 <= 16s + k - m < KW),
//                                         B[k][n] = in[y0 + n + kr][x0 + 16s + k]
// in ksteps(KW) m16n8k16 products. A, the band, is the same for every m-tile and row group, and Toeplitz
// (A[m + 8][k + 8] = A[m][k]): a lane's 4 * ksteps registers are 2 * ksteps distinct words, each one
// aligned 32-bit load of a staged filter pair (W[t], W[t + 1]). B fragments are 32-bit loads of the staged
// plane (two adjacent columns of one row).
//
// With two row groups, group g holds the interleaved output rows 2n + g, so that group 1 at filter row
// kr reads the input rows group 0 reads at kr + 1. The loop runs over base rows b of the staged plane
// (input rows 2n + b): a warp loads B once per base for both groups, and the band of filter row b, loaded
// for group 0 at base b, serves group 1 at base b + 1. Per filter row: 2 (cols16 + ksteps - 1) B words
// and 2 ksteps band words for 2 cols16 ksteps products (0.75 wavefronts per product for 16x64 tiles and
// 31x31 filters, against 1.75 with one band load per group and 3.7 with the band as B). Of the 16 * ksteps products per
// output and filter row, KW are useful (31 of 48 for 31x31): the tensor cores' rate more than pays for the band's
// zeros. (A zero of the band still multiplies its input: an infinite input makes NaN in the outputs of its 16-column
// m-tile that the reference leaves finite.)
//
// A block: 8 warps, one channel each, a tile_h x tile_w output tile (a Shape of traits.hpp). It stages the
// input tile (tile_h + KH - 1 rows x cols, zero outside the image) of its 8 channels as 16-bit planes with
// 16-byte global loads of whole pixels (8 channels), two pixels a thread so that the stores are 32-bit,
// and the 8 filters as pair words; after the products it stages the f32 results in the planes' memory and
// applies the epilogue (bias, residual, activation) per pixel, storing 16 bytes per pixel.
#include "cuda/common/mma.cuh"
#include "cuda/common/static_switch.hpp"
#include "cuda/depthwise/device_ops.cuh"

namespace dsconv::cuda::dw {
namespace {

using Tr = LargeMmaTraits;

// The 16-bit pattern of an element of T.
template <class T>
__device__ __forceinline__ uint16_t bits_of(T v) {
  uint16_t b;
  std::memcpy(&b, &v, sizeof b);
  return b;
}

// The 8 consecutive 16-bit elements at p (16-byte aligned) in one load, as bit patterns.
template <class T>
__device__ __forceinline__ void load_eight(const T* p, uint16_t (&v)[Tr::kChannels]) {
  const uint4 raw = load_raw16(p);
  const uint32_t words[4] = {raw.x, raw.y, raw.z, raw.w};
  DSCONV_UNROLL
  for (int e = 0; e < Tr::kChannels; ++e) v[e] = static_cast<uint16_t>(words[e / 2] >> (16 * (e % 2)));
}

// At least 2 blocks per SM (shared memory allows 2 on sm_90 up to 31x31 with the widest tile): up to 128
// registers a thread.
template <class T, int KS, int GR, int GC>
__global__ void __launch_bounds__(Tr::kThreads, 2) dw_fwd_nhwc_large_mma_kernel(DwParams p) {
  static_assert(GR == 1 || GR == 2, "the products below serve one or two row groups");
  constexpr Tr::Shape kShape{GR, GC};
  constexpr int kTileH = Tr::tile_h(kShape), kTileW = Tr::tile_w(kShape);
  constexpr int kOffsets = GC + KS - 1;  // 16-column offsets of the B fragments: m-tile j, k-step s read j + s
  constexpr int kCols = Tr::cols_ks(KS, kShape);
  constexpr int kPitch = Tr::pitch_ks(KS, kShape);  // elements; GR kPitch / 2 words = 4 mod 8 (traits.hpp)
  constexpr int kPitchWords = kPitch / 2;
  constexpr int kOutPitch = Tr::out_pitch(kShape);
  static_assert(kCols == 16 * kOffsets, "a B fragment offset per 16 staged columns");
  DSCONV_DYNAMIC_SMEM(unsigned char, smem);
  const int KH = static_cast<int>(p.kh), KW = static_cast<int>(p.kw);
  const int rows = kTileH + KH - 1;
  const int fwords = KH * (KW + 1);
  const int64_t plane_bytes = static_cast<int64_t>(Tr::kChannels) * rows * kPitch * 2;
  const int64_t out_bytes = static_cast<int64_t>(Tr::kChannels) * kTileH * kOutPitch * 4;
  uint32_t* const s_in = reinterpret_cast<uint32_t*>(smem);  // [kChannels][rows][kPitchWords] pairs of columns
  uint32_t* const s_w =
      reinterpret_cast<uint32_t*>(smem + (plane_bytes > out_bytes ? plane_bytes : out_bytes));  // [ch][fwords]
  float* const s_out = reinterpret_cast<float*>(smem);  // [kChannels][kTileH][kOutPitch], after the products

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
  const T* const rg = static_cast<const T*>(p.residual);  // may be y itself: read before y is written
  T* const yg = static_cast<T*>(p.y);

  const int tid = static_cast<int>(threadIdx.x);
  const int warp = tid / 32, lane = tid % 32;

  for (int tile = static_cast<int>(blockIdx.x); tile < total; tile += static_cast<int>(gridDim.x)) {
    const auto [n, ty, tx, chunk] = decompose_nhwc_tile(tile, chunks, tiles_w, tiles_h);
    const int c0 = chunk * Tr::kChannels;
    const int oy0 = ty * kTileH, ox0 = tx * kTileW;
    const int iy0 = oy0 - pad_top, ix0 = ox0 - pad_left;
    const int64_t image_in = static_cast<int64_t>(n) * (H * W * C);

    // The 8 channels of input pixel (iy, ix) from c0, zero outside the image and past C.
    const auto pixel = [&](int iy, int ix, uint16_t(&v)[Tr::kChannels]) {
      const bool inside =
          static_cast<unsigned>(iy) < static_cast<unsigned>(H) && static_cast<unsigned>(ix) < static_cast<unsigned>(W);
      if (inside && p.vec_in) {  // C % 8 == 0 and x 16-byte aligned: the pixel's 8 channels in one load
        load_eight(xg + image_in + (iy * W + ix) * C + c0, v);
      } else {
        DSCONV_UNROLL
        for (int e = 0; e < Tr::kChannels; ++e)
          v[e] = inside && c0 + e < C ? bits_of(xg[image_in + (iy * W + ix) * C + c0 + e]) : uint16_t{0};
      }
    };
    // The 8 channels' filter tap (kr, t), zero outside the filter's width and past C.
    const auto tap = [&](int kr, int t, uint16_t(&v)[Tr::kChannels]) {
      const bool inside = 0 <= t && t < KW;
      if (inside && p.vec_w) {  // a TF filter, C % 8 == 0, 16-byte aligned: the tap's 8 channels in one load
        load_eight(wg + (kr * KW + t) * tap_stride + c0, v);
      } else {
        DSCONV_UNROLL
        for (int e = 0; e < Tr::kChannels; ++e)
          v[e] = inside && c0 + e < C ? bits_of(wg[(kr * KW + t) * tap_stride + (c0 + e) * oc_stride]) : uint16_t{0};
      }
    };

    __syncthreads();  // the previous tile's epilogue is done with shared memory
    // Stage: pixels (r, 2q) and (r, 2q + 1) of the rows x kCols window, all 8 channels, as one word per
    // channel plane (adjacent columns). A row takes whole warps (kSlots lanes, those past kPairs idle): a
    // warp spanning two rows would store to both, and the second row's first words share banks with the
    // first row's (the pitch is 4 mod 8 words).
    constexpr int kPairs = kCols / 2, kSlots = (kPairs + 31) / 32 * 32;
    for (int i = tid; i < rows * kSlots; i += Tr::kThreads) {
      const int r = i / kSlots, q = i - r * kSlots;
      if (q >= kPairs) continue;
      uint16_t lo[Tr::kChannels], hi[Tr::kChannels];
      pixel(iy0 + r, ix0 + 2 * q, lo);
      pixel(iy0 + r, ix0 + 2 * q + 1, hi);
      DSCONV_UNROLL
      for (int e = 0; e < Tr::kChannels; ++e) s_in[(e * rows + r) * kPitchWords + q] = pack_halves(lo[e], hi[e]);
    }
    // Filter pairs: word j of row kr holds (W[kr][j - 1], W[kr][j]).
    for (int i = tid; i < fwords; i += Tr::kThreads) {
      const int kr = i / (KW + 1), j = i - kr * (KW + 1);
      uint16_t a[Tr::kChannels], b[Tr::kChannels];
      tap(kr, j - 1, a);
      tap(kr, j, b);
      DSCONV_UNROLL
      for (int e = 0; e < Tr::kChannels; ++e) s_w[e * fwords + i] = pack_halves(a[e], b[e]);
    }
    __syncthreads();

    // The products: this warp's channel, GR row groups x GC m-tiles.
    float acc[GR][GC][4];
    DSCONV_UNROLL
    for (int g = 0; g < GR; ++g) {
      DSCONV_UNROLL
      for (int j = 0; j < GC; ++j) acc[g][j][0] = acc[g][j][1] = acc[g][j][2] = acc[g][j][3] = 0.f;
    }
    // B: lane holds rows n = mma_b_n, columns k, k + 1 (k = mma_b_k(lane, 0), even) and k + 8, k + 9.
    const uint32_t* const plane = s_in + (warp * rows + GR * mma_b_n(lane, 0)) * kPitchWords + mma_b_k(lane, 0) / 2;
    // A: the pair at a0 is (W[t0 + 16s], W[t0 + 16s + 1]), t0 = col - row of the lane's first element; a1
    // (row + 8) is the pair at t - 8, a2 (col + 8) the pair at t + 8, a3 (both) the pair at t.
    const uint32_t* const filter = s_w + warp * fwords;
    const int t0 = mma_a_col(lane, 0) - mma_a_row(lane, 0);  // -7 .. 6
    // band(kr, v): v[u] is the pair at t0 + 8 (u - 1) of filter row kr, u = 1 .. 2 KS (v[0], the pair at
    // t0 - 8 <= -2, is zero for every lane and not stored).
    const auto band = [&](int kr, uint32_t(&v)[2 * KS]) {
      const uint32_t* const frow = filter + kr * (KW + 1);
      DSCONV_UNROLL
      for (int u = 1; u <= 2 * KS; ++u) {
        const int t = t0 + 8 * (u - 1);
        v[u - 1] = -1 <= t && t < KW ? frow[t + 1] : 0u;
      }
    };
    // Row group g's products with the band v and the B fragments bf of its base.
    const auto products = [&](float(&acc_g)[GC][4], const uint32_t(&v)[2 * KS], const uint32_t(&bf)[kOffsets][2]) {
      DSCONV_UNROLL
      for (int s = 0; s < KS; ++s) {
        const uint32_t a[4] = {v[2 * s], s == 0 ? 0u : v[2 * s - 1], v[2 * s + 1], v[2 * s]};
        DSCONV_UNROLL
        for (int j = 0; j < GC; ++j) mma_m16n8k16<T>(acc_g[j], a, bf[j + s], acc_g[j]);
      }
    };
    // Base rows b = 0 .. KH + GR - 2: row group g (output rows GR n + g) takes filter row b - g, so the band
    // row group 0 loads at base b serves row group 1 at base b + 1.
    const int bases = KH + GR - 1;
    uint32_t prev[2 * KS];
    for (int b = 0; b < bases; ++b) {
      uint32_t bf[kOffsets][2];
      DSCONV_UNROLL
      for (int o = 0; o < kOffsets; ++o) {
        bf[o][0] = plane[b * kPitchWords + 8 * o];
        bf[o][1] = plane[b * kPitchWords + 8 * o + 4];
      }
      if constexpr (GR == 2) {
        if (b >= 1) products(acc[1], prev, bf);  // filter row b - 1 (the same for the whole warp, as below)
      }
      if (b < KH) {
        uint32_t v[2 * KS];
        band(b, v);
        products(acc[0], v, bf);
        DSCONV_UNROLL
        for (int u = 0; u < 2 * KS; ++u) prev[u] = v[u];
      }
    }
    __syncthreads();  // every warp is done reading the planes: the results go where they were

    // D[m][n] of row group g is output column 16j + m, row GR n + g.
    float* const plane_out = s_out + warp * kTileH * kOutPitch;
    DSCONV_UNROLL
    for (int g = 0; g < GR; ++g) {
      DSCONV_UNROLL
      for (int j = 0; j < GC; ++j) {
        DSCONV_UNROLL
        for (int e = 0; e < 4; ++e)
          plane_out[(GR * mma_c_col(lane, e) + g) * kOutPitch + 16 * j + mma_c_row(lane, e)] = acc[g][j][e];
      }
    }
    __syncthreads();

    // Epilogue per output pixel: bias, residual, activation, 8 channels.
    const int64_t image_out = static_cast<int64_t>(n) * (OH * OW * C);
    for (int i = tid; i < kTileH * kTileW; i += Tr::kThreads) {
      const int m = i / kTileW, col = i % kTileW;
      const int oy = oy0 + m, ox = ox0 + col;
      if (oy >= OH || ox >= OW) continue;
      const int64_t at = image_out + (static_cast<int64_t>(oy) * OW + ox) * C + c0;
      float v[Tr::kChannels];
      DSCONV_UNROLL
      for (int e = 0; e < Tr::kChannels; ++e) v[e] = s_out[(e * kTileH + m) * kOutPitch + col];
      if (bg != nullptr) {
        DSCONV_UNROLL
        for (int e = 0; e < Tr::kChannels; ++e) v[e] += c0 + e < C ? to_float(bg[c0 + e]) : 0.f;
      }
      const bool whole = p.vec_out && c0 + Tr::kChannels <= C;  // 8 channels in range, 16-byte aligned
      if (rg != nullptr) {
        if (whole && p.vec_res) {  // C % 8 == 0 and the residual 16-byte aligned
          float r[Tr::kChannels];
          unpack16<T>(load_raw16(rg + at), r);
          DSCONV_UNROLL
          for (int e = 0; e < Tr::kChannels; ++e) v[e] += r[e];
        } else {
          DSCONV_UNROLL
          for (int e = 0; e < Tr::kChannels; ++e) v[e] += c0 + e < C ? to_float(rg[at + e]) : 0.f;
        }
      }
      DSCONV_UNROLL
      for (int e = 0; e < Tr::kChannels; ++e) v[e] = activate(v[e], p.act);
      if (whole) {
        store_quad<T>(yg + at, v);
        store_quad<T>(yg + at + 4, v + 4);
      } else {
        DSCONV_UNROLL
        for (int e = 0; e < Tr::kChannels; ++e)
          if (c0 + e < C) yg[at + e] = from_float<T>(v[e]);
      }
    }
  }
}

}  // namespace

Result<KernelFn> resolve_nhwc_large_mma(const KernelChoice& k, const LaunchConfig& cfg, const DwParams& p) {
  if (cfg.block != Tr::kThreads || cfg.smem_bytes != Tr::smem_bytes(p.kh, p.kw, k.mma_shape) ||
      k.ksteps != Tr::ksteps(p.kw))
    return Status(StatusCode::kInternalError, "depthwise: large-filter mma launch disagrees with its traits");
  const auto by_ksteps = [&](auto type_tag, auto rows8, auto cols16) -> Result<KernelFn> {
    using T = typename decltype(type_tag)::type;
    constexpr int GR = decltype(rows8)::value, GC = decltype(cols16)::value;
    if (k.ksteps == 2) return &dw_fwd_nhwc_large_mma_kernel<T, 2, GR, GC>;
    if (k.ksteps == 3) return &dw_fwd_nhwc_large_mma_kernel<T, 3, GR, GC>;
    if (k.ksteps == 4) return &dw_fwd_nhwc_large_mma_kernel<T, 4, GR, GC>;
    return Status(StatusCode::kInternalError,
                  "depthwise: large-filter mma has no instantiation for " + std::to_string(k.ksteps) + " k-steps");
  };
  const auto by_shape = [&](auto type_tag) -> Result<KernelFn> {
    using I = std::integral_constant<int, 1>;
    using II = std::integral_constant<int, 2>;
    using IV = std::integral_constant<int, 4>;
    const Tr::Shape s = k.mma_shape;
    static_assert(sizeof(Tr::kShapes) / sizeof(Tr::kShapes[0]) == 4, "one branch per shape below");
    if (s.rows8 == 2 && s.cols16 == 4) return by_ksteps(type_tag, II{}, IV{});
    if (s.rows8 == 2 && s.cols16 == 2) return by_ksteps(type_tag, II{}, II{});
    if (s.rows8 == 2 && s.cols16 == 1) return by_ksteps(type_tag, II{}, I{});
    if (s.rows8 == 1 && s.cols16 == 1) return by_ksteps(type_tag, I{}, I{});
    return Status(StatusCode::kInternalError, "depthwise: large-filter mma has no " + std::to_string(s.rows8) + " x " +
                                                  std::to_string(s.cols16) + " tile instantiation");
  };
  if (k.dtype == DType::kF16) return by_shape(TypeTag<__half>{});
  if (k.dtype == DType::kBF16) return by_shape(TypeTag<__nv_bfloat16>{});
  return Status(StatusCode::kInternalError, "depthwise: large-filter mma is f16/bf16 only");
}

}  // namespace dsconv::cuda::dw
