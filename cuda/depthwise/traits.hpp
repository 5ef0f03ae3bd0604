// Tile arithmetic of the depthwise kernels, in one place: tile sizes, the input halo a tile reads,
// shared-memory bytes, vector widths and thread counts. Everything is constexpr and callable from host
// and device, so the host-side selection, the launchers, the kernels and the unit tests
// (tests/cuda/test_depthwise_traits.cpp) all read the same numbers: a template tile size can never
// disagree with a runtime argument.
//
// Plain C++: no CUDA header is needed to include it.
#pragma once

#include <cstddef>
#include <cstdint>

#include "cuda/common/hd.hpp"

namespace dsconv::cuda::dw {

// ---------------------------------------------------------------------------------------------
// Shared numbers
// ---------------------------------------------------------------------------------------------

// Input extent (rows or columns) that `tile` consecutive outputs read.
DSCONV_HD constexpr int64_t halo_extent(int64_t tile, int64_t kernel, int64_t stride, int64_t dilation) {
  return (tile - 1) * stride + (kernel - 1) * dilation + 1;
}

DSCONV_HD constexpr int64_t ceil_div(int64_t a, int64_t b) { return (a + b - 1) / b; }

// Largest dynamic shared memory per block of any architecture dsconv is built for (sm_90's opt-in
// 227 KiB): a compile-time bound that every specialized tile must meet. Selection checks the limit of the
// device a plan runs on (DeviceInfo::smem_per_block_optin: 163 KiB on sm_80, 99 KiB on sm_86/sm_89).
constexpr int64_t kMaxSmemBytesPerBlock = 227 * 1024;
// The generic kernels size their filter chunks to stay under this, so that three blocks (12 warps of
// the register-heavy compute loops) fit on an sm_90 SM (228 KiB) and one block's staging overlaps the
// others' arithmetic; on a device with less shared memory per SM the budget is a third of it
// (generic_smem_budget). A problem whose one-filter-row pass exceeds the budget may still use up to the
// device's per-block maximum, one filter row at a time.
constexpr int64_t kGenericSmemBudgetBytes = 72 * 1024;
constexpr int kGenericBlocksPerSm = 3;

// The staging budget of the generic kernels on a device with `smem_per_sm` bytes of shared memory per
// SM, `reserved` of them taken per block by the system, and at most `per_block` per block.
constexpr int64_t generic_smem_budget(int64_t smem_per_sm, int64_t reserved, int64_t per_block) {
  int64_t b = smem_per_sm / kGenericBlocksPerSm - reserved;
  if (b > kGenericSmemBudgetBytes) b = kGenericSmemBudgetBytes;
  if (b > per_block) b = per_block;
  return b;
}

// NHWC blocks cover a chunk of 32 (output) channels. Inside a block each thread owns a pair of
// adjacent channels, so the 16 lanes that share a pixel read 16 x 8 bytes = 128 consecutive bytes of
// shared memory: the two halves of a warp are served in separate 64-bit phases, each conflict-free.
constexpr int kNhwcChannelChunk = 32;
constexpr int kNhwcChannelsPerThread = 2;
constexpr int kNhwcLanesPerPixel = kNhwcChannelChunk / kNhwcChannelsPerThread;

// Global loads of NHWC inputs are 16 bytes wide when pointer alignment and C allow.
template <class T>
DSCONV_HD constexpr int load_vector_width() {
  return static_cast<int>(16 / sizeof(T));
}

// The NCHW kernels stage shared memory in f32 for every storage type: conversion happens once per staged
// element instead of once per use. (The NHWC kernels keep 16-bit data 16-bit: NhwcStaging.) Filter taps are
// staged in f32 everywhere.
using SmemElement = float;

// ---------------------------------------------------------------------------------------------
// Specialized NHWC kernels: filter size, stride and the tile are compile-time.
// ---------------------------------------------------------------------------------------------

// The specializations that exist, as an X-macro: X(kernel, stride). The launcher's static switch and
// the selection's accept test both expand this one list.
// clang-format off
#define DSCONV_DW_NHWC_SPECIALIZATIONS(X) \
  X(3, 1) X(3, 2) X(5, 1) X(5, 2) X(7, 1) X(7, 2)
// clang-format on

DSCONV_HD constexpr bool nhwc_specialization_exists(int64_t kernel, int64_t stride) {
#define DSCONV_DW_MATCH(K_, S_) (kernel == (K_) && stride == (S_)) ||
  return DSCONV_DW_NHWC_SPECIALIZATIONS(DSCONV_DW_MATCH) false;
#undef DSCONV_DW_MATCH
}

// How the NHWC tiled kernels stage their input. f32 data is staged as f32. 16-bit data stays 16-bit in
// shared memory (half the staging stores and reads; converted to f32 when read into registers): a staged
// pixel of 32 channels is then 64 bytes, half a bank row, and the two half-warps of a warp, whose register
// blocks start kRegW * stride columns apart, would read the same banks; one pad pixel after every P staged
// columns puts them an odd number of slots apart, in different halves (P = kRegW * stride in the
// specialized kernels; kRegW in the generic ones, whose stride is a run-time value: odd strides). The
// filter taps stay f32.
struct NhwcStaging {
  int64_t elem_bytes = 4;  // of a staged input element
  int64_t pad_every = 0;   // one pad pixel after every pad_every columns (0: none)
  bool odd_pitch = false;  // rows an odd number of slots apart (the narrow tile's strips are rows: below)
};
// The staged slot of column `col` (pixels from the row's start), and the slots of a row of `cols` columns.
DSCONV_HD constexpr int64_t nhwc_staged_slot(int64_t col, int64_t pad_every) {
  return pad_every > 0 ? col + col / pad_every : col;
}
DSCONV_HD constexpr int64_t nhwc_staged_cols(int64_t cols, int64_t pad_every) {
  return cols > 0 ? nhwc_staged_slot(cols - 1, pad_every) + 1 : 0;
}
// Slots between the starts of two staged rows of `cols` columns: the staged columns, one more when the
// staging wants an odd pitch and they are even.
DSCONV_HD constexpr int64_t nhwc_row_slots(int64_t cols, NhwcStaging st) {
  const int64_t slots = nhwc_staged_cols(cols, st.pad_every);
  return st.odd_pitch && slots % 2 == 0 ? slots + 1 : slots;
}

// Output tile per block and outputs per thread (register blocking), per stride, in two sizes. Stride 1
// tiles are 8x16 with 4x4 outputs per thread: each staged input pixel feeds up to K*K*16/((4+K-1)^2)
// multiply-adds from registers. Stride 2 tiles are 8x8 with 2x4 per thread, which keeps the halo
// (2*8+K-2 pixels square) within 63 KiB even for 7x7. The small tiles (kSmall: 8x8 and 4x8, half the
// outputs and threads, with the same register blocks) serve grids that the large ones leave under one
// block per SM (batch 1 on the late, narrow layers): twice the blocks for about 10% more halo.
template <int S, bool kSmall>
struct NhwcTileConfig;
// clang-format off
template <> struct NhwcTileConfig<1, false> { static constexpr int kTileH = 8, kTileW = 16, kRegH = 4, kRegW = 4; };
template <> struct NhwcTileConfig<1, true>  { static constexpr int kTileH = 8, kTileW = 8,  kRegH = 4, kRegW = 4; };
template <> struct NhwcTileConfig<2, false> { static constexpr int kTileH = 8, kTileW = 8,  kRegH = 2, kRegW = 4; };
template <> struct NhwcTileConfig<2, true>  { static constexpr int kTileH = 4, kTileW = 8,  kRegH = 2, kRegW = 4; };
// clang-format on

template <class T, int K, int S, bool kSmall = false>
struct NhwcSpecializedTraits {
  using Element = T;
  using Config = NhwcTileConfig<S, kSmall>;
  static constexpr int kKernel = K;
  static constexpr int kStride = S;
  static constexpr int kDilation = 1;
  static constexpr int kTileH = Config::kTileH;  // outputs per block
  static constexpr int kTileW = Config::kTileW;
  static constexpr int kRegH = Config::kRegH;  // outputs per thread
  static constexpr int kRegW = Config::kRegW;
  static constexpr int kHaloH = static_cast<int>(halo_extent(kTileH, K, S, 1));  // staged input pixels
  static constexpr int kHaloW = static_cast<int>(halo_extent(kTileW, K, S, 1));
  // Input rows / columns one thread's kRegH x kRegW outputs read.
  static constexpr int kThreadInRows = static_cast<int>(halo_extent(kRegH, K, S, 1));
  static constexpr int kThreadInCols = static_cast<int>(halo_extent(kRegW, K, S, 1));
  static constexpr int kChunk = kNhwcChannelChunk;
  static constexpr int kChannelsPerThread = kNhwcChannelsPerThread;
  static constexpr int kLanesPerPixel = kNhwcLanesPerPixel;
  static constexpr int kStripsH = kTileH / kRegH;
  static constexpr int kStripsW = kTileW / kRegW;
  static constexpr int kThreads = kLanesPerPixel * kStripsH * kStripsW;
  static constexpr int kLoadVec = load_vector_width<T>();
  static constexpr int kVecsPerPixel = kChunk / kLoadVec;
  // 16-bit data is staged 16-bit (NhwcStaging), a pad pixel after every kRegW * S columns; a thread's
  // window starts at a multiple of that, so its slots are compile-time offsets from the window's first.
  static constexpr bool kStage16 = sizeof(T) == 2;
  static constexpr int kPadEvery = kStage16 ? kRegW * S : 0;
  static constexpr int kStagedW = static_cast<int>(nhwc_staged_cols(kHaloW, kPadEvery));  // slots per row
  static constexpr int kSmemInputElements = kHaloH * kStagedW * kChunk;
  static constexpr int kSmemFilterElements = K * K * kChunk;
  // Filter taps each thread stages (loaded together, then stored): 3 for 3x3, 7 for 5x5, 13 for 7x7.
  static constexpr int kFilterItemsPerThread = (kSmemFilterElements + kThreads - 1) / kThreads;
  // Halo vectors each thread stages: its cp.async copies in flight at once (at most 28, for 7x7 stride 2).
  static constexpr int kInputItemsPerThread = (kHaloH * kHaloW * kVecsPerPixel + kThreads - 1) / kThreads;
  static constexpr int64_t kSmemBytes =
      static_cast<int64_t>(kSmemInputElements) * (kStage16 ? 2 : 4) +
      static_cast<int64_t>(kSmemFilterElements) * static_cast<int64_t>(sizeof(SmemElement));
  // Registers hold the whole filter of a channel pair when it is small (3x3: 18, 5x5: 50 floats);
  // 7x7 (98 floats) reads each tap row from shared memory instead, to stay far from spilling.
  static constexpr bool kFilterInRegisters = K * K * kChannelsPerThread <= 50;

  static_assert(K >= 1 && S >= 1, "kernel and stride must be positive");
  static_assert(kTileH % kRegH == 0 && kTileW % kRegW == 0, "register blocks must tile the block tile");
  static_assert(kThreads % 32 == 0 && kThreads <= 1024, "block must be whole warps, at most 1024 threads");
  static_assert(kChunk % kLoadVec == 0, "a channel chunk must be whole load vectors");
  static_assert(kLoadVec * sizeof(T) == 16, "global loads are 16 bytes");
  static_assert(kSmemBytes <= kMaxSmemBytesPerBlock, "staged tile exceeds the shared memory of a block");
  static_assert(kInputItemsPerThread <= 64, "the emulator holds at most 64 cp.async copies per thread");
};

// ---------------------------------------------------------------------------------------------
// Generic tiled kernels: filter size, stride, dilation, multiplier and padding at run time. The
// thread's register block is compile-time; the filter is processed in chunks of rows so that the
// staged input rows of one chunk plus its filter rows fit kGenericSmemBudgetBytes.
// ---------------------------------------------------------------------------------------------

// Runtime geometry of one generic launch, computed on the host and passed to the kernel.
struct GenericGeometry {
  int tile_h = 0, tile_w = 0;      // outputs per block (per plane for NCHW)
  int chunk_kh = 0;                // filter rows staged per pass
  int region_h = 0, region_w = 0;  // input rows of one pass (for chunk_kh filter rows), input columns
  int region_pitch = 0;            // elements between staged rows (NCHW pads; NHWC: staged columns * 32)
  int planes = 1;                  // NCHW: (n, channel) planes per block
  int64_t smem_bytes = 0;
  bool fits = false;  // a one-filter-row chunk fits the shared memory of a block
};

// NHWC generic: a block covers tile_h x tile_w outputs x 32 output channels; each thread a pair of
// output channels and kRegH x kRegW outputs. kSlideW (stride_w == dilation_w == 1) keeps a sliding
// window of inputs along W in registers, so it takes wider register blocks.
// kNarrow (sliding only): one strip of 8 columns and eight of one row, an 8x8 tile of 128 threads, for
// maps (or lattice classes) at most 8 outputs wide, where the 8x16 tile's second strip would lie wholly
// past the map (half its threads idle, 20 staged columns for 8 outputs). A warp's two strips are then
// consecutive rows, so 16-bit staging pads the row pitch to an odd number of 64-byte slots instead of
// padding along W: the two half-warps read different halves of the banks.
template <bool kSlideW, bool kNarrow = false>
struct NhwcGenericTraits {
  static_assert(kSlideW || !kNarrow, "the narrow tile is a sliding-window tile");
  static constexpr int kRegH = kNarrow ? 1 : 2;
  static constexpr int kRegW = kSlideW ? 8 : 4;
  static constexpr int kStripsH = kNarrow ? 8 : 4;
  static constexpr int kStripsW = kNarrow ? 1 : 2;
  static constexpr int kTileH = kRegH * kStripsH;
  static constexpr int kTileW = kRegW * kStripsW;
  static constexpr int kChunk = kNhwcChannelChunk;
  static constexpr int kThreads = kNhwcLanesPerPixel * kStripsH * kStripsW;
  static_assert(kThreads % 32 == 0, "block must be whole warps");
};

template <bool kSlideW, bool kNarrow = false>
DSCONV_HD constexpr NhwcStaging nhwc_generic_staging(int64_t dtype_bytes) {
  if (dtype_bytes != 2) return NhwcStaging{4, 0, false};
  return kNarrow ? NhwcStaging{2, 0, true} : NhwcStaging{2, NhwcGenericTraits<kSlideW>::kRegW, false};
}
// Staged bytes of an NHWC generic pass over `chunk_kh` filter rows: input rows x (padded) columns x 32
// channels, plus chunk_kh x kw x 32 f32 filter taps.
DSCONV_HD constexpr int64_t nhwc_generic_smem_bytes(int64_t tile_h, int64_t tile_w, int64_t chunk_kh, int64_t kw,
                                                    int64_t sh, int64_t sw, int64_t dh, int64_t dw,
                                                    NhwcStaging st = {}) {
  return halo_extent(tile_h, chunk_kh, sh, dh) * nhwc_row_slots(halo_extent(tile_w, kw, sw, dw), st) *
             kNhwcChannelChunk * st.elem_bytes +
         chunk_kh * kw * kNhwcChannelChunk * static_cast<int64_t>(sizeof(SmemElement));
}

// Largest chunk of filter rows whose pass fits `budget`, at most kh; a single row when only the
// per-block maximum holds one; fits == false when not even that does (the caller then needs a kernel
// that does not stage).
DSCONV_HD constexpr GenericGeometry nhwc_generic_geometry(int tile_h, int tile_w, int64_t kh, int64_t kw, int64_t sh,
                                                          int64_t sw, int64_t dh, int64_t dw, int64_t budget,
                                                          int64_t max_per_block = kMaxSmemBytesPerBlock,
                                                          NhwcStaging st = {}) {
  GenericGeometry g{};
  g.tile_h = tile_h;
  g.tile_w = tile_w;
  g.planes = 1;
  int64_t chunk = 0;
  // Bytes grow linearly in the chunk: solve instead of searching, then clamp.
  const int64_t one = nhwc_generic_smem_bytes(tile_h, tile_w, 1, kw, sh, sw, dh, dw, st);
  if (one > max_per_block) return g;
  const int64_t per_row = nhwc_generic_smem_bytes(tile_h, tile_w, 2, kw, sh, sw, dh, dw, st) - one;
  chunk = one > budget ? 1 : per_row > 0 ? 1 + (budget - one) / per_row : kh;
  if (chunk > kh) chunk = kh;
  if (chunk < 1) chunk = 1;
  g.chunk_kh = static_cast<int>(chunk);
  g.region_h = static_cast<int>(halo_extent(tile_h, chunk, sh, dh));
  g.region_w = static_cast<int>(halo_extent(tile_w, kw, sw, dw));
  g.region_pitch = static_cast<int>(nhwc_row_slots(g.region_w, st)) * kNhwcChannelChunk;
  g.smem_bytes = nhwc_generic_smem_bytes(tile_h, tile_w, chunk, kw, sh, sw, dh, dw, st);
  g.fits = true;
  return g;
}

// NCHW generic: threads along W own kRegW adjacent outputs of one row (and kRegH rows); a block's
// 128 threads are laid out as tx along W, ty along H and tz planes (DwParams), chosen on the host to
// fit the output size. Staged rows are padded by one element after every kRegW columns so that lanes
// whose windows start kRegW columns apart fall into different banks. Sliding, a tap costs one weight
// broadcast and kRegH single-float row loads for kRegH*kRegW multiply-adds: four rows keep the
// shared-memory wavefronts well below the FMA rate (this is the compute-bound large-filter path).
template <bool kSlideW>
struct NchwGenericTraits {
  static constexpr int kRegH = kSlideW ? 4 : 2;
  static constexpr int kRegW = kSlideW ? 8 : 4;
  static constexpr int kThreads = 128;
  static_assert((kRegW & (kRegW - 1)) == 0, "padding arithmetic needs a power-of-two register width");
};

// Staged row length of `cols` columns with one pad element after each group of reg_w columns.
DSCONV_HD constexpr int64_t nchw_padded_cols(int64_t cols, int64_t reg_w) { return cols + cols / reg_w + 1; }

DSCONV_HD constexpr int64_t nchw_generic_smem_bytes(int64_t planes, int64_t tile_h, int64_t tile_w, int64_t chunk_kh,
                                                    int64_t kw, int64_t sh, int64_t sw, int64_t dh, int64_t dw,
                                                    int64_t reg_w) {
  return planes *
         (halo_extent(tile_h, chunk_kh, sh, dh) * nchw_padded_cols(halo_extent(tile_w, kw, sw, dw), reg_w) +
          chunk_kh * kw) *
         static_cast<int64_t>(sizeof(SmemElement));
}

DSCONV_HD constexpr GenericGeometry nchw_generic_geometry(int planes, int tile_h, int tile_w, int64_t kh, int64_t kw,
                                                          int64_t sh, int64_t sw, int64_t dh, int64_t dw, int reg_w,
                                                          int64_t budget,
                                                          int64_t max_per_block = kMaxSmemBytesPerBlock) {
  GenericGeometry g{};
  g.tile_h = tile_h;
  g.tile_w = tile_w;
  g.planes = planes;
  const int64_t one = nchw_generic_smem_bytes(planes, tile_h, tile_w, 1, kw, sh, sw, dh, dw, reg_w);
  if (one > max_per_block) return g;
  const int64_t per_row = nchw_generic_smem_bytes(planes, tile_h, tile_w, 2, kw, sh, sw, dh, dw, reg_w) - one;
  int64_t chunk = one > budget ? 1 : per_row > 0 ? 1 + (budget - one) / per_row : kh;
  if (chunk > kh) chunk = kh;
  if (chunk < 1) chunk = 1;
  g.chunk_kh = static_cast<int>(chunk);
  g.region_h = static_cast<int>(halo_extent(tile_h, chunk, sh, dh));
  g.region_w = static_cast<int>(halo_extent(tile_w, kw, sw, dw));
  g.region_pitch = static_cast<int>(nchw_padded_cols(g.region_w, reg_w));
  g.smem_bytes = nchw_generic_smem_bytes(planes, tile_h, tile_w, chunk, kw, sh, sw, dh, dw, reg_w);
  g.fits = true;
  return g;
}

// ---------------------------------------------------------------------------------------------
// NCHW rows kernels (nchw_rows.cu): square filters 3/5/7 and equal strides 1/2 as template constants
// (the NHWC specializations' list), any dilation whose row classes fit a block, any multiplier and
// padding. A block covers `planes` (n, output channel) planes x a band of band_h output rows x the whole
// width. It stages the band's input rows as they lie in memory: the rows of one plane are contiguous, so
// the staging is a contiguous run of 16-byte copies (cp.async) per plane, with no column halo, kept
// 16-bit for 16-bit data. Each thread owns one output column (lanes along W: a warp's reads are
// consecutive words) and kRegH output rows spaced dh apart, so every staged row it reads feeds every
// output row and filter row that uses it from registers.
// ---------------------------------------------------------------------------------------------

// clang-format off
#define DSCONV_DW_NCHW_ROWS_SPECIALIZATIONS(X) DSCONV_DW_NHWC_SPECIALIZATIONS(X)
// clang-format on

// 32-bit words an adjacent pair's span of 16-bit staged columns is read as (nchw_rows.cu: read_span_words): one
// more than half the span, whatever its parity.
DSCONV_HD constexpr int nchw_rows_span_words(int span) { return span / 2 + 1; }

// Four adjacent output columns a lane slot ("quads"): 16-bit data at stride 1 and dilation_w 2, 3x3 and 5x5. The
// columns (x, x + 2) and (x + 1, x + 3) each share K - 1 staged columns, and the four read their 2K + 2 staged
// columns as K + 2 words (read_span_words): 7 reads for 20 products at 5x5, against 12 element reads for two
// pairs 2 apart; they go out as two 32-bit stores.
DSCONV_HD constexpr bool nchw_rows_quads_fit(int64_t elem_bytes, int64_t k, int64_t stride, int64_t dw) {
  return elem_bytes == 2 && stride == 1 && dw == 2 && k <= 5;
}

// Staged columns a lane slot of `cols` columns reads per row (K x K filter, stride s): one column K, a pair
// (dilation_w apart, or adjacent at dilation_w 1) K + s, a quad 2K + 2 (its taps 2 apart).
DSCONV_HD constexpr int nchw_rows_span(int k, int s, int cols) { return cols == 4 ? 2 * k + 2 : k + s * (cols - 1); }

// The first output column of lane slot u of a row of `cols` columns: u, the first of a pair dilation_w (dw) apart
// (dw pairs for every 2 * dw columns), or 4u for a quad.
DSCONV_HD constexpr int64_t nchw_rows_slot_base(int cols, int64_t dw, int64_t u) {
  return cols == 1 ? u : cols == 4 ? 4 * u : (u / dw) * 2 * dw + u % dw;
}

// The NCHW rows kernels with rotated word reads (DwParams::rotate_reads): 3x3 and 5x5. 7x7 spills with them.
DSCONV_HD constexpr bool nchw_rows_rotates(int64_t k) { return k <= 5; }

// Blocks an SM the NCHW rows kernels are built for (their __launch_bounds__ minimum, which caps the registers):
// without it ptxas aims at 64 registers on its own and the f32 3x3 kernel spills (CUDA 13.0). 7x7 filters keep
// 49 taps in registers (3 blocks: 168); the 3x3 word pairs take 5 (left at 4 they use 113 registers, a block
// fewer an SM than the other 3x3 kernels); the rotated 5x5 word reads take 3 (at 4 they spill 20-24 bytes). Quads
// (cols 4) take 4 (3x3: 112-113 registers, 128 rotated; 5x5: 128), the rotated 5x5 quads 3 (168; at 4 they spill).
DSCONV_HD constexpr int nchw_rows_min_blocks(int64_t k, bool words, bool rotated, int cols) {
  if (cols == 4) return k == 5 && rotated ? 3 : 4;
  return k >= 7 || (k == 5 && rotated) ? 3 : k == 3 && words ? 5 : 4;
}

// Input rows a thread of the NCHW rows kernels reads for reg_h output rows (spaced dh apart).
DSCONV_HD constexpr int nchw_rows_in_rows(int reg_h, int s, int k) { return (reg_h - 1) * s + k; }

// Output rows a thread of the NCHW rows kernels computes (spaced dh apart): 8 at stride 1, 4 at stride 2 and for
// quads (4 columns a slot: at 8 rows their 32 sums spill).
DSCONV_HD constexpr int nchw_rows_reg_h(int s, int cols) { return s == 1 && cols < 4 ? 8 : 4; }

// Floats between two planes' taps in the NCHW rows kernels' shared memory where a block holds 16 planes of a TF
// filter (output channels contiguous): K * K rounded up to even, so that a warp's stores of two taps of its 16 planes
// meet in no bank (pitch * d is never +-1 mod 32), while its loads of one tap of up to 8 planes still lie in 8 banks.
// Elsewhere the pitch is K * K (nchw_rows.cu); the shared memory holds this one.
DSCONV_HD constexpr int nchw_rows_tap_pitch(int64_t k) { return static_cast<int>(k * k + (k * k) % 2); }

template <int K, int S>
struct NchwRowsTraits {
  static constexpr int kThreads = 128;
  static constexpr int kRegH = nchw_rows_reg_h(S, 1);             // output rows per thread, slots of 1 or 2 columns
  static constexpr int kInRows = nchw_rows_in_rows(kRegH, S, K);  // input rows a thread reads (spaced dh apart)
  static constexpr int kMaxPlanes = 16;                           // planes per block
  static constexpr int kTapPitch = nchw_rows_tap_pitch(K);
  static constexpr int kTapItems = (kMaxPlanes * K * K + kThreads - 1) / kThreads;  // filter loads a thread
};

// Output columns a lane slot owns on outputs more than 16 wide: two (the "pairs" kernels) for 16-bit data at
// stride 1, which read K + 1 staged columns for 2K products (a warp's 16-bit reads of every other column are still
// one wavefront), else one. At stride 2 a pair's reads span two wavefronts, and f32 reads of every other column
// always do. On narrower 16-bit outputs, where a warp holds groups of several planes, and at stride 2 on any
// width, offers.cpp weighs pairs against one column by the shared wavefronts of their reads per output
// (offer_nchw_rows).
DSCONV_HD constexpr int nchw_rows_cols(int64_t elem_bytes, int64_t stride, int64_t out_w) {
  return elem_bytes == 2 && stride == 1 && out_w > 16 ? 2 : 1;
}

// Input rows a band of band_h output rows reads: the halo along H only.
DSCONV_HD constexpr int64_t nchw_rows_region_rows(int64_t band_h, int64_t k, int64_t s, int64_t dh) {
  return halo_extent(band_h, k, s, dh);
}
// Elements of one plane's staged region: its rows as they lie in memory, plus up to one 16-byte vector of
// lead (the region starts where the global address does within a 16-byte vector), rounded up to whole
// vectors so that every plane's region starts 16-byte aligned.
DSCONV_HD constexpr int64_t nchw_rows_min_pitch(int64_t region_rows, int64_t w, int64_t elem_bytes) {
  return ceil_div(region_rows * w + 16 / elem_bytes - 1, 16 / elem_bytes) * (16 / elem_bytes);
}
DSCONV_HD constexpr int64_t nchw_rows_smem_bytes(int64_t planes, int64_t pitch, int64_t k, int64_t elem_bytes) {
  return planes * pitch * elem_bytes + planes * nchw_rows_tap_pitch(k) * static_cast<int64_t>(sizeof(float));
}

// ---------------------------------------------------------------------------------------------
// Large filters on tensor cores (nhwc_large_mma.cu): f16/bf16, NHWC, stride 1, dilation 1, multiplier 1.
// Per channel, one filter row kr turns input row y + kr into output row y through a Toeplitz matrix. The
// m16n8k16 product puts output columns on M and output rows on N:
//   D[m][n] += sum_k A[m][k] * B[k][n],  A[m][k] = W[kr][16s + k - m]  (the band; 0 <= 16s + k - m < KW),
//                                        B[k][n] = in[y0 + n + kr][x0 + 16s + k]  (staged input),
// for 16 output columns x0 + m and 8 output rows y0 + n, in ksteps(KW) k-steps s of 16 input columns.
// A is the same for every m-tile and row group of a filter row, and Toeplitz: a warp builds it from 2 *
// ksteps 32-bit words of filter pairs (W[t], W[t + 1]) per filter row. A block covers tile_h x tile_w
// outputs (rows8 groups of 8 interleaved rows, cols16 m-tiles of 16 columns) of kChannels channels, one
// channel per warp; it stages the input tile of those channels as one 16-bit plane per channel, the
// filters as pair words, and (reusing the planes) the f32 results for the epilogue, which reads and
// writes whole 16-byte pixels of 8 channels.
// ---------------------------------------------------------------------------------------------

struct LargeMmaTraits {
  static constexpr int kChannels = 8;  // one per warp; 16 bytes of a pixel in NHWC
  static constexpr int kThreads = 32 * kChannels;
  static constexpr int kMinKernelW = 13, kMaxKernelW = 41;  // the Toeplitz band's efficiency falls below 13
  static constexpr int kMaxKernelH = 41;
  // A warp's output tile: rows8 groups of 8 rows (MMA N) by cols16 m-tiles of 16 columns (MMA M). The
  // kernels instantiate these four, widest first; offers.cpp picks one per problem and device.
  struct Shape {
    int rows8, cols16;
  };
  static constexpr Shape kShapes[] = {{2, 4}, {2, 2}, {2, 1}, {1, 1}};
  static constexpr int tile_h(Shape s) { return 8 * s.rows8; }
  static constexpr int tile_w(Shape s) { return 16 * s.cols16; }
  // k-steps of 16 input columns that cover the band of 16 output columns: 16 + kw - 1 columns.
  static constexpr int ksteps(int64_t kw) { return static_cast<int>((kw + 15 + 15) / 16); }
  static constexpr int64_t rows(int64_t kh, Shape s) { return tile_h(s) + kh - 1; }
  // Staged columns: m-tile j's k-step s reads columns 16 (j + s) .. 16 (j + s) + 15. The kernels, whose
  // k-step count is a template argument, take the *_ks forms.
  static constexpr int cols_ks(int ks, Shape s) { return 16 * (s.cols16 + ks - 1); }
  static constexpr int64_t cols(int64_t kw, Shape s) { return cols_ks(ksteps(kw), s); }
  // A B fragment load reads 8 plane rows rows8 apart (row group g holds output rows rows8 n + g) x 4 words.
  // Plane rows cols + 8 / rows8 elements apart make rows8 (cols + 8 / rows8) / 2 words an odd multiple of
  // 4, so those 32 words land in 32 distinct banks.
  static constexpr int pitch_ks(int ks, Shape s) { return cols_ks(ks, s) + 8 / s.rows8; }
  static constexpr int64_t pitch(int64_t kw, Shape s) { return pitch_ks(ksteps(kw), s); }
  // Staged f32 results, one plane per channel, rows of tile_w + 4 / rows8 floats: a C fragment's scalar
  // stores (8 columns x 4 rows 2 rows8 apart) land in 32 distinct banks.
  static constexpr int out_pitch(Shape s) { return tile_w(s) + 4 / s.rows8; }
  // Filter pairs of one channel: word kr * (kw + 1) + t + 1 holds (W[kr][t], W[kr][t + 1]) for t = -1 .. kw - 1
  // (zero outside the filter), so that any pair a band needs is one aligned 32-bit load.
  static constexpr int64_t filter_words(int64_t kh, int64_t kw) { return kh * (kw + 1); }
  // Shared memory: the input planes, the filter pairs, and (reusing the planes) the f32 results.
  static constexpr int64_t smem_bytes(int64_t kh, int64_t kw, Shape s) {
    const int64_t planes = static_cast<int64_t>(kChannels) * rows(kh, s) * pitch(kw, s) * 2;
    const int64_t out = static_cast<int64_t>(kChannels) * tile_h(s) * out_pitch(s) * 4;
    const int64_t filters = static_cast<int64_t>(kChannels) * filter_words(kh, kw) * 4;
    return (planes > out ? planes : out) + filters;
  }
};
static_assert(LargeMmaTraits::ksteps(LargeMmaTraits::kMinKernelW) == 2 &&
                  LargeMmaTraits::ksteps(LargeMmaTraits::kMaxKernelW) == 4,
              "the kernels instantiate 2 to 4 k-steps");

// ---------------------------------------------------------------------------------------------
// Tap skipping: the filter taps of one dimension that can touch the input for outputs
// [out_begin, out_end). Taps outside [first, last) read only padding for all of those outputs and are
// skipped (large dilation on small maps). For one output the range is exact (its input positions are
// monotonic in k); for several it is the smallest interval holding every useful tap, which may also
// hold a tap whose positions all step over the input (stride larger than the input): such a tap reads
// staged zeros.
// ---------------------------------------------------------------------------------------------

struct TapRange {
  int64_t first, last;  // empty when first >= last
};

DSCONV_HD constexpr int64_t floor_div(int64_t a, int64_t b) {  // b > 0
  return a >= 0 ? a / b : -((-a + b - 1) / b);
}

DSCONV_HD constexpr TapRange valid_taps(int64_t out_begin, int64_t out_end, int64_t in, int64_t kernel, int64_t stride,
                                        int64_t dilation, int64_t pad) {
  // Lowest input position the outputs touch with tap k is out_begin*stride - pad + k*dilation, the
  // highest (out_end-1)*stride - pad + k*dilation. Tap k is useful iff highest >= 0 and lowest < in.
  const int64_t lo_pos = out_begin * stride - pad;
  const int64_t hi_pos = (out_end - 1) * stride - pad;
  int64_t first = hi_pos >= 0 ? 0 : ceil_div(-hi_pos, dilation);
  int64_t last = floor_div(in - 1 - lo_pos, dilation) + 1;
  if (first < 0) first = 0;
  if (last > kernel) last = kernel;
  return TapRange{first, last};
}

// Lattice outputs (the NHWC generic kernel's kLattice mode): how many of first, first + step, ...
// (at most n of them) are below `out`.
DSCONV_HD constexpr int64_t lattice_count(int64_t first, int64_t n, int64_t step, int64_t out) {
  if (first >= out) return 0;
  const int64_t k = ceil_div(out - first, step);
  return k < n ? k : n;
}

// Taps of one dimension that outputs first + step * i (i < count, stride 1) can use, when the filter's
// dilation is step * dil: output i reads input first - pad + step * (i + dil * k). Those inputs lie on
// one lattice, whose in-range points are j in [jlo, jhi] (input first - pad + step * j): the dense
// valid_taps over that sub-lattice, with padding jlo.
DSCONV_HD constexpr TapRange lattice_taps(int64_t first, int64_t count, int64_t in, int64_t kernel, int64_t step,
                                          int64_t dil, int64_t pad) {
  const int64_t base = first - pad;
  const int64_t jlo = -floor_div(base, step);
  const int64_t jhi = floor_div(in - 1 - base, step);
  if (count <= 0 || jhi < jlo) return TapRange{0, 0};
  return valid_taps(0, count, jhi - jlo + 1, kernel, 1, dil, jlo);
}

}  // namespace dsconv::cuda::dw
