// Large depthwise filters on tensor cores: NHWC, f16/bf16 storage, f32 accumulation, stride 1, dilation 1,
// multiplier 1, filter width 13..41 (RepLKNet's 13, 27, 29, 31), any height up to 41, any padding.
//
// Per channel, filter row kr maps input rows to output rows through a Toeplitz band (traits.hpp,
// LargeMmaTraits): for an n-tile of 8 output columns starting at column 8j of the tile,
//   D[m][n] += sum_k A[m][k] * B[k][n],   A[m][k] = in[m + kr][8j + k],   B[k][n] = W[kr][k - n] (0 <= k - n < KW)
// in ksteps(KW) m16n8k16 products. B is the same for every n-tile and output row, so a warp builds it
// once per filter row and reuses it for its 4 n-tiles; A fragments are 32-bit loads from the staged plane.
// Of the 16 * ksteps products per output and filter row, KW are useful (31 of 48 for 31x31): the tensor
// cores' rate more than pays for the band's zeros.
//
// A block: 8 warps, one channel each, a 16 x 32 output tile. It stages the input tile (16 + KH - 1 rows x
// 72 columns, zero outside the image) of its 8 channels as 16-bit planes with 16-byte global loads of
// whole pixels (8 channels), and the 8 filters; after the products it stages the f32 results in the same
// memory and applies the epilogue (bias, residual, activation) per pixel, storing 16 bytes per pixel.
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

// At least 2 blocks per SM (shared memory allows 2-3 on sm_90): up to 128 registers a thread, which
// ptxas otherwise trims to 64 and spills for.
template <class T, int KS>
__global__ void __launch_bounds__(Tr::kThreads, 2) dw_fwd_nhwc_large_mma_kernel(DwParams p) {
  DSCONV_DYNAMIC_SMEM(unsigned char, smem);
  const int KH = static_cast<int>(p.kh), KW = static_cast<int>(p.kw);
  const int rows = Tr::kTileH + KH - 1;
  T* const s_in = reinterpret_cast<T*>(smem);  // [kChannels][rows][kPitch]
  const int64_t plane_bytes = static_cast<int64_t>(Tr::kChannels) * rows * Tr::kPitch * 2;
  const int64_t out_bytes = static_cast<int64_t>(Tr::kChannels) * Tr::kTileH * Tr::kOutPitch * 4;
  const int wpitch = static_cast<int>(Tr::filter_pitch(KH, KW));
  T* const s_w = reinterpret_cast<T*>(smem + (plane_bytes > out_bytes ? plane_bytes : out_bytes));  // [ch][wpitch]
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
    const int oy0 = ty * Tr::kTileH, ox0 = tx * Tr::kTileW;
    const int iy0 = oy0 - pad_top, ix0 = ox0 - pad_left;
    const int64_t image_in = static_cast<int64_t>(n) * (H * W * C);

    __syncthreads();  // the previous tile's epilogue is done with shared memory
    // Stage: pixel i of the rows x kPitch window, all 8 channels, into the 8 planes (zero outside).
    for (int i = tid; i < rows * Tr::kPitch; i += Tr::kThreads) {
      const int r = i / Tr::kPitch, col = i - r * Tr::kPitch;
      const int iy = iy0 + r, ix = ix0 + col;
      const bool inside =
          static_cast<unsigned>(iy) < static_cast<unsigned>(H) && static_cast<unsigned>(ix) < static_cast<unsigned>(W);
      uint16_t v[Tr::kChannels];
      if (inside && p.vec_in) {  // C % 8 == 0 and x 16-byte aligned: the pixel's 8 channels in one load
        const uint4 raw = load_raw16(xg + image_in + (iy * W + ix) * C + c0);
        const uint32_t words[4] = {raw.x, raw.y, raw.z, raw.w};
        DSCONV_UNROLL
        for (int e = 0; e < Tr::kChannels; ++e) v[e] = static_cast<uint16_t>(words[e / 2] >> (16 * (e % 2)));
      } else {
        DSCONV_UNROLL
        for (int e = 0; e < Tr::kChannels; ++e)
          v[e] = inside && c0 + e < C ? bits_of(xg[image_in + (iy * W + ix) * C + c0 + e]) : uint16_t{0};
      }
      DSCONV_UNROLL
      for (int e = 0; e < Tr::kChannels; ++e)
        std::memcpy(static_cast<void*>(s_in + (e * rows + r) * Tr::kPitch + col), &v[e], 2);
    }
    // Filters, channel fastest: the 8 channels of a TF filter tap are 16 contiguous bytes.
    for (int i = tid; i < Tr::kChannels * KH * KW; i += Tr::kThreads) {
      const int e = i % Tr::kChannels, tap = i / Tr::kChannels;
      const uint16_t w = c0 + e < C ? bits_of(wg[tap * tap_stride + (c0 + e) * oc_stride]) : uint16_t{0};
      std::memcpy(static_cast<void*>(s_w + e * wpitch + tap), &w, 2);
    }
    __syncthreads();

    // The products: this warp's channel, 16 output rows x 4 n-tiles.
    float acc[Tr::kNTiles][4];
    DSCONV_UNROLL
    for (int j = 0; j < Tr::kNTiles; ++j) acc[j][0] = acc[j][1] = acc[j][2] = acc[j][3] = 0.f;
    const T* const plane = s_in + warp * rows * Tr::kPitch;
    const T* const filter = s_w + warp * wpitch;
    for (int kr = 0; kr < KH; ++kr) {
      // B: the Toeplitz band of filter row kr, B[k][n] = W[kr][k - n], for each k-step.
      uint32_t b[KS][2];
      DSCONV_UNROLL
      for (int s = 0; s < KS; ++s) {
        DSCONV_UNROLL
        for (int r = 0; r < 2; ++r) {
          uint16_t h[2];
          DSCONV_UNROLL
          for (int q = 0; q < 2; ++q) {
            const int e = 2 * r + q;
            const int t = 16 * s + mma_b_k(lane, e) - mma_b_n(lane, e);
            h[q] = 0 <= t && t < KW ? bits_of(filter[kr * KW + t]) : uint16_t{0};
          }
          b[s][r] = pack_halves(h[0], h[1]);
        }
      }
      // A: the product (j, s) reads staged columns 8j + 16s + k, so the 2 * KS + 2 distinct column offsets
      // 8o (o = j + 2s) are loaded once per filter row and shared (12 products read 8 fragments for KS = 3).
      // Rows m of a fragment read staged row m + kr; elements 2r and 2r + 1 are adjacent columns, one
      // aligned 32-bit word (kPitch and the column are even).
      const T* const rows_kr = plane + kr * Tr::kPitch;
      constexpr int kOffsets = Tr::kNTiles + 2 * (KS - 1);
      uint32_t a[kOffsets][4];
      DSCONV_UNROLL
      for (int o = 0; o < kOffsets; ++o) {
        DSCONV_UNROLL
        for (int r = 0; r < 4; ++r) {
          const int row = mma_a_row(lane, 2 * r), col = 8 * o + mma_a_col(lane, 2 * r);
          std::memcpy(&a[o][r], rows_kr + row * Tr::kPitch + col, 4);
        }
      }
      DSCONV_UNROLL
      for (int j = 0; j < Tr::kNTiles; ++j) {
        DSCONV_UNROLL
        for (int s = 0; s < KS; ++s) mma_m16n8k16<T>(acc[j], a[j + 2 * s], b[s], acc[j]);
      }
    }
    __syncthreads();  // every warp is done reading the planes: the results go where they were

    // Each lane's adjacent outputs (elements 2h, 2h + 1: columns 2q, 2q + 1) go out as one 8-byte store;
    // with rows kOutPitch = 40 floats apart the 16 lanes of a half-warp hit distinct banks.
    float* const plane_out = s_out + warp * Tr::kTileH * Tr::kOutPitch;
    DSCONV_UNROLL
    for (int j = 0; j < Tr::kNTiles; ++j) {
      DSCONV_UNROLL
      for (int h = 0; h < 2; ++h) {
        const int m = mma_c_row(lane, 2 * h), col = 8 * j + mma_c_col(lane, 2 * h);
        store_aligned(plane_out + m * Tr::kOutPitch + col, make_float2(acc[j][2 * h], acc[j][2 * h + 1]));
      }
    }
    __syncthreads();

    // Epilogue per output pixel: bias, residual, activation, 8 channels.
    const int64_t image_out = static_cast<int64_t>(n) * (OH * OW * C);
    for (int i = tid; i < Tr::kTileH * Tr::kTileW; i += Tr::kThreads) {
      const int m = i / Tr::kTileW, col = i % Tr::kTileW;
      const int oy = oy0 + m, ox = ox0 + col;
      if (oy >= OH || ox >= OW) continue;
      const int64_t at = image_out + (static_cast<int64_t>(oy) * OW + ox) * C + c0;
      float v[Tr::kChannels];
      DSCONV_UNROLL
      for (int e = 0; e < Tr::kChannels; ++e) v[e] = s_out[(e * Tr::kTileH + m) * Tr::kOutPitch + col];
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
  if (cfg.block != Tr::kThreads || cfg.smem_bytes != Tr::smem_bytes(p.kh, p.kw) || k.ksteps != Tr::ksteps(p.kw))
    return Status(StatusCode::kInternalError, "depthwise: large-filter mma launch disagrees with its traits");
  const auto pick = [&](auto type_tag) -> Result<KernelFn> {
    using T = typename decltype(type_tag)::type;
    if (k.ksteps == 2) return &dw_fwd_nhwc_large_mma_kernel<T, 2>;
    if (k.ksteps == 3) return &dw_fwd_nhwc_large_mma_kernel<T, 3>;
    return Status(StatusCode::kInternalError,
                  "depthwise: large-filter mma has no instantiation for " + std::to_string(k.ksteps) + " k-steps");
  };
  if (k.dtype == DType::kF16) return pick(TypeTag<__half>{});
  if (k.dtype == DType::kBF16) return pick(TypeTag<__nv_bfloat16>{});
  return Status(StatusCode::kInternalError, "depthwise: large-filter mma is f16/bf16 only");
}

}  // namespace dsconv::cuda::dw
