// What the host passes to the implicit-GEMM kernels (cuda/conv2d/implicit_gemm.cuh), and how the offers find
// the instantiation to launch. The engine serves two families: dense (dilated, strided) conv2d, whose GEMM
// operand A is gathered from the input tap by tap, and the fused separable kernel (cuda/separable/), whose A
// is the depthwise output, computed on chip. Plain C++ (no CUDA header): offers compile with the host compiler.
//
// The GEMM: rows are output pixels (M = N*OH*OW, in NHWC order whatever the layout), columns are output
// channels (O), and K runs over taps and channels (conv2d: K = KH*KW*C, tap-major) or mid channels
// (separable: K = C*M). A block computes a bm x bn tile of outputs over K in chunks of kBK.
#pragma once

#include <cstdint>
#include <string>

#include "cuda/common/activation_code.hpp"
#include "cuda/common/launch.hpp"
#include "dsconv/dsconv.hpp"

namespace dsconv::cuda::gemm {

// The block tiles. Every tile walks K in chunks of kBK = 32 and gives each thread 16 elements of A and 16
// of B to stage per chunk.
//  - f32 (FMA units): 64 pixels x 64 output channels, 128 threads, each 4 pixels x 8 channels.
//  - f16/bf16 (tensor cores, mma m16n8k16): "narrow" 64 x 64 with 4 warps of 32 x 32, or "wide" 128 x 128
//    with 8 warps of 64 x 32 (2 x 4), which reads each shared fragment for more products (1.5 fragment
//    loads per mma instead of 2) and each operand from L2 half as often, for a grid a quarter the size.
//  - f16/bf16 NHWC conv2d with cp.async staging ("async3"): 128 x 128 with 4 warps of 64 x 64, or 64 x 128
//    with 2 (for grids that would leave SMs with one block more than the others), 3 stages. No register
//    holds an operand on its way to shared memory, which leaves the registers for the larger warp tile:
//    1 fragment wavefront per mma (ldmatrix) instead of 1.5.
//  - f16/bf16 fused separable only ("64x256"): 64 x 256 with 8 warps of 32 x 64 (2 x 4), the same 1.5
//    fragment loads per mma as "wide". The fused kernel computes its pixels' depthwise values once per tile
//    of columns: one tile as wide as DeepLab's 256 outputs computes them once, from half the input reads of
//    two 128-wide tiles, at the price of reading the pointwise filter for 64 pixels instead of 128.
//  - f16/bf16 fused separable with a resident A: for mid channel counts whose depthwise values would
//    otherwise be recomputed for many column tiles (Xception's 728 -> 728). The block computes the depthwise
//    values of its pixels for every mid channel once, into shared memory (k_chunks buffers of A), and
//    multiplies them by every column tile it is given; B comes through cp.async stages. The grid is
//    persistent: one block per SM slot, each a contiguous range of the (row tile, column tile) pairs in
//    row-major order, so a block recomputes A only where its range enters a new row tile. Shared memory
//    grows with K (resident_smem_bytes). Two tiles: "resident_async4" 96 x 128, 6 warps of 32 x 64 (3 x 2),
//    4 stages of B (which hold the 96 rows' results), where its A fits: each column tile's B is read for
//    96 pixels instead of 64 (Xception's 728 mid channels: 172 KiB a block); else "resident_async3"
//    64 x 256, 8 warps of 32 x 64, 3 stages (up to 1408 mid channels on sm_90, 896 on sm_80).
//  - f32 with PlanOptions::allow_tf32 (sm_80+): the f32 tile's staging, operands rounded to TF32 as they
//    are stored, 4 warps of 32 x 32 of mma m16n8k8 (B's pitch bn + 8 keeps its fragment reads
//    conflict-free).
struct Tile {
  int bm, bn, threads;
  int stages = 2;         // 2: double-buffered through registers; more: cp.async stages
  bool tf32 = false;      // f32 on TF32 tensor cores
  bool resident = false;  // fused separable: A for every mid channel stays in shared memory (see above)
  static constexpr int kBK = 32;
  // Shared memory, `stages` buffers. 16-bit: A [stages][bm][kAPitch16] elements, k fastest (a fragment
  // register is one aligned word, an ldmatrix row 16 aligned bytes); B [stages][kBK/2][bn + 8] words, each
  // the (k, k+1) pair of one column (register staging), or [stages][kBK][bn + 8] halves, n fastest
  // (cp.async of filter rows, read by ldmatrix.trans): the same bytes. f32: A [2][bm][kAPitch32] (float4
  // reads along k), B [2][kBK][bn + 4] (float4 reads along n). Pitches chosen so that a warp's fragment
  // reads (and an ldmatrix's 8 rows) hit 32 distinct banks.
  static constexpr int kAPitch16 = kBK + 8;
  static constexpr int kAPitch32 = kBK + 4;
  // The f32 results staged for the epilogue, 64 columns at a time: [bm][kOutPitch].
  static constexpr int kOutCols = 64;
  static constexpr int kOutPitch = kOutCols + 8;

  constexpr int b_pitch16() const { return bn + 8; }
  constexpr int b_pitch32() const { return bn + (tf32 ? 8 : 4); }
  constexpr int64_t operand_bytes(bool f32) const {
    return f32 ? 2 * (int64_t{bm} * kAPitch32 + int64_t{kBK} * b_pitch32()) * 4
               : stages * (int64_t{bm} * kAPitch16 * 2 + int64_t{kBK / 2} * b_pitch16() * 4);
  }
  constexpr bool operator==(const Tile& o) const {
    return bm == o.bm && bn == o.bn && threads == o.threads && stages == o.stages && tf32 == o.tf32 &&
           resident == o.resident;
  }
  // A resident tile's shared memory for K = k_chunks chunks: every chunk's A buffer, bm rows of kBK halves
  // unpadded (their 16-byte units swizzled instead: implicit_gemm.cuh, resident_a_half), then the B stages
  // (k-major halves), which the epilogue's f32 results reuse (they are smaller).
  constexpr int64_t resident_smem_bytes(int64_t k_chunks) const {
    return k_chunks * bm * kBK * 2 + int64_t{stages} * kBK * b_pitch16() * 2;
  }
  // The launch's dynamic shared memory.
  constexpr int64_t launch_smem_bytes(bool f32, int64_t k_chunks) const {
    return resident ? resident_smem_bytes(k_chunks) : smem_bytes(f32);
  }
  constexpr int64_t smem_bytes(bool f32) const {
    const int64_t out = int64_t{bm} * kOutPitch * 4;
    return operand_bytes(f32) > out ? operand_bytes(f32) : out;
  }
};
inline constexpr Tile kTileF32{64, 64, 128};
inline constexpr Tile kTileTf32{64, 64, 128, 2, true};
inline constexpr Tile kTileNarrow{64, 64, 128};
inline constexpr Tile kTileWide{128, 128, 256};
inline constexpr Tile kTileTall{128, 64, 128};
inline constexpr Tile kTileWideOut{64, 256, 256};
inline constexpr Tile kTileAsync{128, 128, 128, 3};
inline constexpr Tile kTileAsyncShort{64, 128, 64, 3};
inline constexpr Tile kTileResident{64, 256, 256, 3, false, true};
inline constexpr Tile kTileResidentTall{96, 128, 192, 4, false, true};
static_assert(int64_t{kTileResident.stages} * Tile::kBK * kTileResident.b_pitch16() * 2 >=
                      int64_t{kTileResident.bm} * Tile::kOutPitch * 4 &&
                  int64_t{kTileResidentTall.stages} * Tile::kBK * kTileResidentTall.b_pitch16() * 2 >=
                      int64_t{kTileResidentTall.bm} * Tile::kOutPitch * 4,
              "a resident tile's B stages hold the epilogue's results");

// How a block makes its A tile.
enum class Producer : int {
  kGather = 0,     // conv2d: the input elements of one tap and 32 channels, zero outside the image
  kDepthwise = 1,  // fused separable: 32 mid channels of the depthwise conv, accumulated in f32 on chip
};

// One launch's arguments, by value. The kernels index within an image in 32 bits and across images and
// the output in 64; the offers prove the 32-bit bounds (offers.cpp).
struct GemmParams {
  const void* x = nullptr;
  const void* filter = nullptr;     // the GEMM's B: conv2d filter, or separable's pointwise filter
  const void* dw_filter = nullptr;  // separable: the depthwise filter
  const void* bias = nullptr;       // [O] or null
  const void* residual = nullptr;   // y's shape and layout, or null; may be y itself
  void* y = nullptr;
  int64_t n = 0, h = 0, w = 0, c = 0;  // input [N,H,W,C] (or NCHW)
  int64_t m = 1;                       // depthwise multiplier (separable)
  int64_t k_channels = 0;              // channels of K per tap: C (conv2d) or C*M (separable)
  int64_t o = 0, oh = 0, ow = 0;
  int64_t kh = 1, kw = 1, sh = 1, sw = 1, dh = 1, dw = 1, pad_top = 0, pad_left = 0;
  // B element (tap, k, o) at filter[tap*b_tap + k*b_k + o*b_o]: TF [KH,KW,C,O] (C*O, O, 1), OIHW
  // [O,C,KH,KW] (1, KH*KW, C*KH*KW); separable's pointwise has one tap.
  int64_t b_tap = 0, b_k = 0, b_o = 0;
  // Separable: depthwise element (tap, mid channel j) at dw_filter[tap*dw_tap + j*dw_j].
  int64_t dw_tap = 0, dw_j = 0;
  int64_t gemm_taps = 1;  // taps of the GEMM's K: KH*KW (conv2d), 1 (separable: the producer runs them)
  int64_t m_tiles = 0, n_tiles = 0, k_chunks = 0;
  int act = kActNone;
  bool vec_a = false;     // NHWC 16-byte input loads: C % (16/sizeof(T)) == 0 (and, separable, M == 1), x aligned
  bool vec_b = false;     // 16-byte filter loads along O: b_o == 1, O % (16/sizeof(T)) == 0, filter aligned
  bool vec_dw = false;    // separable: 16-byte depthwise filter loads (TF layout, M == 1, C % vec == 0, aligned)
  bool vec_out = false;   // NHWC 16-byte output (and residual) accesses: O % (16/sizeof(T)) == 0, y aligned
  bool vec_res = false;   // as vec_out, for the residual's pointer
  bool b_k_fast = false;  // scalar B path: threads walk k (|b_k| < |b_o|) rather than o, for coalescing
  // The split tail (offers.cpp, TailSplit). The first dp_tiles tiles run whole, one block each, and so do
  // all of them when split is 1. Each later tile r (dp_tiles + r) is cut along its executed K chunks into
  // `split` slices: block dp_tiles + r * split + s runs slice s and writes its f32 sums, [tile_bm][tile_bn],
  // to partial + (r * split + s) * tile_bm * tile_bn (the Plan's workspace). split_fixup_kernel then adds
  // each tile's slices in slice order (deterministic) and applies the epilogue.
  int64_t dp_tiles = 0;
  int split = 1;
  float* partial = nullptr;
  int tile_bm = 0, tile_bn = 0;
  // A resident tile's persistent grid (0 otherwise): block b runs the (row tile, column tile) pairs
  // [b * T / G, (b + 1) * T / G) of the T = m_tiles * n_tiles, row-major, for G = grid_blocks.
  int64_t grid_blocks = 0;
};

// The template arguments of one instantiation: one of the tiles above (choose_tile's answer).
struct KernelChoice {
  DType dtype = DType::kF32;
  bool nchw = false;
  Producer producer = Producer::kGather;
  Tile tile = kTileF32;
  int64_t k_chunks = 0;  // a resident tile's K chunks, which size its shared memory
};

using KernelFn = void (*)(GemmParams);
// The split tail's second launch (implicit_gemm.cu): tail tiles x tile_bm rows x tile_bn / 4 column quads,
// kFixupThreads a block, one quad a thread.
inline constexpr int kFixupThreads = 256;
Result<KernelFn> resolve_split_fixup(DType dtype, bool nchw);
// The instantiation for `k` (defined next to the kernels: implicit_gemm.cu for kGather, the separable family's
// fused.cu for kDepthwise), after checking the launch against the tile.
Result<KernelFn> resolve_gather(const KernelChoice& k, const LaunchConfig& cfg);
Result<KernelFn> resolve_depthwise(const KernelChoice& k, const LaunchConfig& cfg);

// Enqueues `kernel` on `stream`; never synchronizes, never allocates (launch.cu).
Status launch(KernelFn kernel, const char* name, const LaunchConfig& cfg, const GemmParams& p, void* stream);

}  // namespace dsconv::cuda::gemm
