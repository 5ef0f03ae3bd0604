// Host-side tests of the depthwise tile arithmetic (cuda/depthwise/traits.hpp): halo sizes, shared
// memory, thread counts, the generic kernels' filter-row chunking and the tap-skipping ranges. The
// kernels, the launchers and the selection all read these numbers, so an error here is an error there.
#include <gtest/gtest.h>

#include <algorithm>
#include <cstdint>
#include <random>
#include <string>

#include "cuda/depthwise/traits.hpp"

namespace dsconv::cuda::dw {
namespace {

// Compile-time evaluation is part of the contract (template tile sizes come from it).
static_assert(halo_extent(8, 3, 1, 1) == 10, "3x3 stride 1 over 8 outputs reads 10 inputs");
static_assert(halo_extent(8, 3, 2, 1) == 17, "stride 2 reads (8-1)*2 + 3 inputs");
static_assert(halo_extent(8, 3, 1, 18) == 44, "rate 18 spans (3-1)*18 + 1 + 7");
static_assert(nhwc_specialization_exists(3, 1) && !nhwc_specialization_exists(9, 1), "specialization list");

TEST(DepthwiseTraits, HaloExtent) {
  EXPECT_EQ(halo_extent(1, 1, 1, 1), 1);
  EXPECT_EQ(halo_extent(1, 31, 1, 1), 31);
  EXPECT_EQ(halo_extent(16, 7, 1, 1), 22);
  EXPECT_EQ(halo_extent(8, 7, 2, 1), 21);
  EXPECT_EQ(halo_extent(4, 5, 3, 2), 18);  // (4-1)*3 + (5-1)*2 + 1
}

TEST(DepthwiseTraits, Specialized3x3Stride1) {
  using Tr = NhwcSpecializedTraits<float, 3, 1>;
  EXPECT_EQ(Tr::kTileH, 8);
  EXPECT_EQ(Tr::kTileW, 16);
  EXPECT_EQ(Tr::kHaloH, 10);
  EXPECT_EQ(Tr::kHaloW, 18);
  EXPECT_EQ(Tr::kThreadInRows, 6);  // 4 output rows + 2
  EXPECT_EQ(Tr::kThreadInCols, 6);
  EXPECT_EQ(Tr::kThreads, 16 * 2 * 4);
  EXPECT_EQ(Tr::kLoadVec, 4);
  EXPECT_EQ(Tr::kSmemBytes, (10 * 18 * 32 + 9 * 32) * 4);
  EXPECT_TRUE(Tr::kFilterInRegisters);
}

// The small tiles: half the outputs and threads of the large ones, the same register blocks.
TEST(DepthwiseTraits, SpecializedSmallTiles) {
  using S1 = NhwcSpecializedTraits<float, 3, 1, true>;
  EXPECT_EQ(S1::kTileH, 8);
  EXPECT_EQ(S1::kTileW, 8);
  EXPECT_EQ(S1::kThreads, 16 * 2 * 2);
  EXPECT_EQ(S1::kSmemBytes, (10 * 10 * 32 + 9 * 32) * 4);
  EXPECT_EQ(S1::kInputItemsPerThread, ceil_div(10 * 10 * 8, 64));
  using S2 = NhwcSpecializedTraits<uint16_t, 7, 2, true>;
  EXPECT_EQ(S2::kTileH, 4);
  EXPECT_EQ(S2::kTileW, 8);
  EXPECT_EQ(S2::kHaloH, 13);
  EXPECT_EQ(S2::kHaloW, 21);
  EXPECT_EQ(S2::kThreads, 64);
  EXPECT_EQ(S2::kFilterItemsPerThread, 25);  // 49 taps x 32 channels over 64 threads, rounded up
}

TEST(DepthwiseTraits, Specialized7x7Stride2SixteenBit) {
  // 16-bit data: 8-wide loads, and the staged tile stays 16-bit with a pad pixel after every kRegW * S = 8
  // columns (21 columns take 23 slots); the filter taps stay f32.
  using Tr = NhwcSpecializedTraits<uint16_t, 7, 2>;
  using Tr32 = NhwcSpecializedTraits<float, 7, 2>;
  EXPECT_EQ(Tr::kLoadVec, 8);
  EXPECT_EQ(Tr::kVecsPerPixel, 4);
  EXPECT_EQ(Tr::kHaloH, 21);
  EXPECT_EQ(Tr::kHaloW, 21);
  EXPECT_TRUE(Tr::kStage16);
  EXPECT_EQ(Tr::kPadEvery, 8);
  EXPECT_EQ(Tr::kStagedW, 23);
  EXPECT_EQ(Tr::kSmemBytes, 21 * 23 * 32 * 2 + 49 * 32 * 4);
  EXPECT_EQ(Tr32::kStagedW, 21);
  EXPECT_EQ(Tr32::kSmemBytes, (21 * 21 * 32 + 49 * 32) * 4);
  // The two half-warps of a warp start kRegW * S columns apart: an odd number of slots on any window column.
  for (int col = 0; col < Tr::kHaloW - Tr::kRegW * 2; ++col) {
    EXPECT_EQ((nhwc_staged_slot(col + Tr::kRegW * 2, Tr::kPadEvery) - nhwc_staged_slot(col, Tr::kPadEvery)) % 2, 1);
  }
  EXPECT_FALSE(Tr::kFilterInRegisters);  // 98 floats per channel pair: read from shared memory
}

template <int K, int S, bool kSmall, class T>
void check_specialization() {
  using Tr = NhwcSpecializedTraits<T, K, S, kSmall>;
  SCOPED_TRACE("k" + std::to_string(K) + "s" + std::to_string(S) + (kSmall ? " small" : " large") +
               (sizeof(T) == 2 ? " 16-bit" : " f32"));
  EXPECT_EQ(Tr::kHaloH, (Tr::kTileH - 1) * S + K);
  EXPECT_EQ(Tr::kHaloW, (Tr::kTileW - 1) * S + K);
  EXPECT_EQ(Tr::kThreads % 32, 0);
  EXPECT_EQ(Tr::kStripsH * Tr::kRegH, Tr::kTileH);
  EXPECT_EQ(Tr::kStripsW * Tr::kRegW, Tr::kTileW);
  EXPECT_LE(Tr::kSmemBytes, kMaxSmemBytesPerBlock);
  // A thread's window lies inside the staged halo.
  EXPECT_LE((Tr::kTileH - Tr::kRegH) * S + Tr::kThreadInRows, Tr::kHaloH);
  EXPECT_LE((Tr::kTileW - Tr::kRegW) * S + Tr::kThreadInCols, Tr::kHaloW);
  EXPECT_TRUE(nhwc_specialization_exists(K, S));
  // Every thread's cp.async copies and filter taps are in flight at once: bounded (the emulator holds 64).
  EXPECT_EQ(Tr::kInputItemsPerThread, ceil_div(Tr::kHaloH * Tr::kHaloW * Tr::kVecsPerPixel, Tr::kThreads));
  EXPECT_LE(Tr::kInputItemsPerThread, 64);
  EXPECT_EQ(Tr::kFilterItemsPerThread, ceil_div(K * K * Tr::kChunk, Tr::kThreads));
  if constexpr (Tr::kStage16) {  // the two half-warps of a warp read slots an odd number of pixels apart
    for (int col = 0; col + Tr::kRegW * S < Tr::kHaloW; ++col) {
      EXPECT_EQ((nhwc_staged_slot(col + Tr::kRegW * S, Tr::kPadEvery) - nhwc_staged_slot(col, Tr::kPadEvery)) % 2, 1);
    }
  }
}

TEST(DepthwiseTraits, EverySpecializationIsConsistent) {
  int count = 0;
#define DSCONV_DW_CHECK(K_, S_)                                                              \
  check_specialization<K_, S_, false, float>(), check_specialization<K_, S_, true, float>(), \
      check_specialization<K_, S_, false, uint16_t>(), check_specialization<K_, S_, true, uint16_t>(), ++count;
  DSCONV_DW_NHWC_SPECIALIZATIONS(DSCONV_DW_CHECK)
#undef DSCONV_DW_CHECK
  EXPECT_EQ(count, 6);
  EXPECT_FALSE(nhwc_specialization_exists(3, 3));
  EXPECT_FALSE(nhwc_specialization_exists(1, 1));
}

TEST(DepthwiseTraits, GenericNhwcWholeFilterWhenSmall) {
  const GenericGeometry g = nhwc_generic_geometry(8, 16, 3, 3, 1, 1, 2, 2, kGenericSmemBudgetBytes);
  ASSERT_TRUE(g.fits);
  EXPECT_EQ(g.chunk_kh, 3);
  EXPECT_EQ(g.region_h, 7 + 2 * 2 + 1);
  EXPECT_EQ(g.region_w, 15 + 2 * 2 + 1);
  EXPECT_EQ(g.region_pitch, g.region_w * 32);
  EXPECT_EQ(g.smem_bytes, (12 * 20 + 3 * 3) * 32 * 4);
}

// 16-bit data stays 16-bit in the staged tile, with one pad pixel after every kRegW columns: the two
// half-warps of a warp (register blocks kRegW columns apart) then read slots an odd number of 64-byte
// pixels apart, in different halves of the banks, at odd strides. The filter taps stay f32.
TEST(DepthwiseTraits, GenericNhwcStages16BitDataPadded) {
  constexpr NhwcStaging f32 = nhwc_generic_staging<true>(4), f16 = nhwc_generic_staging<true>(2);
  EXPECT_EQ(f32.elem_bytes, 4);
  EXPECT_EQ(f32.pad_every, 0);
  EXPECT_EQ(f16.elem_bytes, 2);
  EXPECT_EQ(f16.pad_every, NhwcGenericTraits<true>::kRegW);
  EXPECT_EQ(nhwc_generic_staging<false>(2).pad_every, NhwcGenericTraits<false>::kRegW);
  // Slots: 0..7 -> 0..7, 8 -> 9, 15 -> 16, 16 -> 18; 20 columns take 22 slots.
  EXPECT_EQ(nhwc_staged_slot(7, 8), 7);
  EXPECT_EQ(nhwc_staged_slot(8, 8), 9);
  EXPECT_EQ(nhwc_staged_slot(16, 8), 18);
  EXPECT_EQ(nhwc_staged_cols(20, 8), 22);
  EXPECT_EQ(nhwc_staged_cols(20, 0), 20);
  for (int64_t reg_w : {4, 8}) {
    for (int64_t stride : {1, 3}) {
      for (int64_t col = 0; col < 64; ++col) {
        const int64_t apart = nhwc_staged_slot(col + reg_w * stride, reg_w) - nhwc_staged_slot(col, reg_w);
        EXPECT_EQ(apart % 2, 1) << "reg_w " << reg_w << " stride " << stride << " col " << col;
      }
    }
  }
  // The dilation-2 tile of GenericNhwcWholeFilterWhenSmall in f16: 12 rows x 22 slots x 32 x 2 bytes + f32 taps.
  const GenericGeometry g =
      nhwc_generic_geometry(8, 16, 3, 3, 1, 1, 2, 2, kGenericSmemBudgetBytes, kMaxSmemBytesPerBlock, f16);
  ASSERT_TRUE(g.fits);
  EXPECT_EQ(g.region_w, 20);
  EXPECT_EQ(g.region_pitch, 22 * 32);
  EXPECT_EQ(g.smem_bytes, 12 * 22 * 32 * 2 + 3 * 3 * 32 * 4);
  // Half the bytes per filter row: a 31x31 f16 pass takes more rows than f32's.
  EXPECT_GT(
      nhwc_generic_geometry(8, 16, 31, 31, 1, 1, 1, 1, kGenericSmemBudgetBytes, kMaxSmemBytesPerBlock, f16).chunk_kh,
      nhwc_generic_geometry(8, 16, 31, 31, 1, 1, 1, 1, kGenericSmemBudgetBytes).chunk_kh);
}

// The narrow sliding tile (lattice classes at most 8 outputs wide): 8x8 outputs, one 8-wide strip and eight
// one-row strips of 128 threads, so a warp's two half-warps own consecutive rows. 16-bit rows are then an
// odd number of 64-byte slots apart (no pad along W, which has one strip): the halves read different bank
// halves at any filter width. f32 rows need no padding (a pixel is a whole bank row).
TEST(DepthwiseTraits, GenericNhwcNarrowTileIsOneStripOfRows) {
  using Tr = NhwcGenericTraits<true, true>;
  static_assert(Tr::kTileH == 8 && Tr::kTileW == 8 && Tr::kThreads == 128);
  static_assert(Tr::kRegH == 1 && Tr::kRegW == 8 && Tr::kStripsW == 1);
  static_assert(Tr::kTileH == NhwcGenericTraits<true>::kTileH);
  constexpr NhwcStaging f16 = nhwc_generic_staging<true, true>(2), f32 = nhwc_generic_staging<true, true>(4);
  EXPECT_EQ(f16.elem_bytes, 2);
  EXPECT_EQ(f16.pad_every, 0);
  EXPECT_TRUE(f16.odd_pitch);
  EXPECT_EQ(f32.elem_bytes, 4);
  EXPECT_FALSE(f32.odd_pitch);
  EXPECT_FALSE(nhwc_generic_staging<true>(2).odd_pitch);
  EXPECT_EQ(nhwc_row_slots(12, f16), 13);
  EXPECT_EQ(nhwc_row_slots(11, f16), 11);
  EXPECT_EQ(nhwc_row_slots(12, f32), 12);
  EXPECT_EQ(nhwc_row_slots(20, nhwc_generic_staging<true>(2)), 22);  // the wide tile's pads, unchanged
  for (int64_t kw = 1; kw <= 9; ++kw) {
    const GenericGeometry g = nhwc_generic_geometry(Tr::kTileH, Tr::kTileW, kw, kw, 1, 1, 1, 1, kGenericSmemBudgetBytes,
                                                    kMaxSmemBytesPerBlock, f16);
    ASSERT_TRUE(g.fits);
    EXPECT_EQ(g.region_w, Tr::kTileW + kw - 1);
    EXPECT_EQ(g.region_pitch / kNhwcChannelChunk % 2, 1) << "kw " << kw;
    EXPECT_GE(g.region_pitch, g.region_w * kNhwcChannelChunk);
  }
  // MobileNetV3's 5x5 on the lattice: 12 rows x 13 slots x 32 x 2 bytes + f32 taps (the 8x16 tile: 12 x 22).
  const GenericGeometry g =
      nhwc_generic_geometry(8, 8, 5, 5, 1, 1, 1, 1, kGenericSmemBudgetBytes, kMaxSmemBytesPerBlock, f16);
  EXPECT_EQ(g.smem_bytes, 12 * 13 * 32 * 2 + 5 * 5 * 32 * 4);
}

TEST(DepthwiseTraits, GenericNhwcChunksLargeFilters) {
  // 31x31: the chunk is the largest number of filter rows that fits the budget.
  const GenericGeometry g = nhwc_generic_geometry(8, 16, 31, 31, 1, 1, 1, 1, kGenericSmemBudgetBytes);
  ASSERT_TRUE(g.fits);
  EXPECT_GT(g.chunk_kh, 1);
  EXPECT_LT(g.chunk_kh, 31);
  EXPECT_LE(g.smem_bytes, kGenericSmemBudgetBytes);
  EXPECT_GT(nhwc_generic_smem_bytes(8, 16, g.chunk_kh + 1, 31, 1, 1, 1, 1), kGenericSmemBudgetBytes);
  EXPECT_EQ(g.smem_bytes, nhwc_generic_smem_bytes(8, 16, g.chunk_kh, 31, 1, 1, 1, 1));
  EXPECT_EQ(g.region_h, 7 + g.chunk_kh);

  // Rate 18 on an 8x8 tile: two filter rows would need 26 staged rows; one does.
  const GenericGeometry r = nhwc_generic_geometry(8, 8, 3, 3, 1, 1, 18, 18, kGenericSmemBudgetBytes);
  ASSERT_TRUE(r.fits);
  EXPECT_EQ(r.chunk_kh, 1);
  EXPECT_EQ(r.region_h, 8);
  EXPECT_EQ(r.region_w, 44);
}

TEST(DepthwiseTraits, GenericNhwcOverBudgetTakesOneRowAtATime) {
  // Stride 3, dilation 8: one filter row stages 22 rows x 38 columns x 32 channels x 4 bytes, over the
  // budget but within a block's maximum.
  const int64_t one_row = nhwc_generic_smem_bytes(8, 8, 1, 3, 3, 3, 8, 8);
  EXPECT_EQ(one_row, (22 * 38 + 3) * 32 * 4);
  ASSERT_GT(one_row, kGenericSmemBudgetBytes);
  const GenericGeometry g = nhwc_generic_geometry(8, 8, 3, 3, 3, 3, 8, 8, kGenericSmemBudgetBytes);
  ASSERT_TRUE(g.fits);
  EXPECT_EQ(g.chunk_kh, 1);
  EXPECT_EQ(g.smem_bytes, one_row);
}

TEST(DepthwiseTraits, GenericNhwcReportsWhatDoesNotFit) {
  // Stride 3, dilation 100: one filter row stages 22 rows x 222 columns: more than a block has.
  const GenericGeometry g = nhwc_generic_geometry(8, 8, 3, 3, 3, 3, 100, 100, kGenericSmemBudgetBytes);
  EXPECT_FALSE(g.fits);
  EXPECT_GT(nhwc_generic_smem_bytes(8, 8, 1, 3, 3, 3, 100, 100), kMaxSmemBytesPerBlock);
}

TEST(DepthwiseTraits, NchwPaddedRows) {
  // One pad element after each group of kRegW columns (and one at the end).
  EXPECT_EQ(nchw_padded_cols(8, 8), 10);
  EXPECT_EQ(nchw_padded_cols(46, 8), 46 + 5 + 1);
  const GenericGeometry g = nchw_generic_geometry(2, 16, 32, 5, 5, 1, 1, 1, 1, 8, kGenericSmemBudgetBytes);
  ASSERT_TRUE(g.fits);
  EXPECT_EQ(g.chunk_kh, 5);
  EXPECT_EQ(g.planes, 2);
  EXPECT_EQ(g.region_w, 36);
  EXPECT_EQ(g.region_pitch, nchw_padded_cols(36, 8));
  EXPECT_EQ(g.smem_bytes, 2 * (20 * g.region_pitch + 5 * 5) * 4);
}

TEST(DepthwiseTraits, NchwRowsRegionAndPitch) {
  // A band of 8 output rows at stride 1 reads 10 input rows of a 3x3 filter, 8 + 4 * 3 at rate 3 (5x5),
  // 7 * 2 + 5 at stride 2.
  EXPECT_EQ(nchw_rows_region_rows(8, 3, 1, 1), 10);
  EXPECT_EQ(nchw_rows_region_rows(8, 5, 1, 3), 8 + 4 * 3);
  EXPECT_EQ(nchw_rows_region_rows(8, 5, 2, 1), 7 * 2 + 5);
  // The pitch holds the rows and up to a vector less one of lead, in whole 16-byte vectors: 10 rows of 112 f32
  // (1120 + 3 -> 1124), of 14 f16 (140 + 7 -> 152), of 7 f32 (70 + 3 -> 76).
  EXPECT_EQ(nchw_rows_min_pitch(10, 112, 4), 1124);
  EXPECT_EQ(nchw_rows_min_pitch(10, 14, 2), 152);
  EXPECT_EQ(nchw_rows_min_pitch(10, 7, 4), 76);
  EXPECT_EQ(nchw_rows_min_pitch(10, 7, 4) % 4, 0);
  // Planes of 16-bit data, then each plane's taps as f32, 26 apart at 5x5.
  EXPECT_EQ(nchw_rows_smem_bytes(4, 152, 5, 2), 4 * 152 * 2 + 4 * 26 * 4);
  // The taps' pitch for 16 planes of a TF filter: K * K rounded up to even. A warp's stores of two neighbouring
  // taps of 16 planes meet in no bank, and its loads of one tap of 8 planes lie in 8 banks.
  for (int k : {3, 5, 7}) {
    const int pitch = nchw_rows_tap_pitch(k);
    EXPECT_EQ(pitch, k * k + 1);
    for (int z = 0; z < 16; ++z) {
      for (int z2 = 0; z2 < 16; ++z2) EXPECT_NE((z * pitch) % 32, (z2 * pitch + 1) % 32) << k << " " << z << " " << z2;
      for (int z2 = 0; z2 < z && z < 8; ++z2) EXPECT_NE((z * pitch) % 32, (z2 * pitch) % 32) << k << " " << z;
    }
  }
  // Pairs: 16-bit, stride 1, outputs more than 16 wide.
  EXPECT_EQ(nchw_rows_cols(2, 1, 17), 2);
  EXPECT_EQ(nchw_rows_cols(2, 1, 16), 1);
  EXPECT_EQ(nchw_rows_cols(2, 2, 56), 1);
  EXPECT_EQ(nchw_rows_cols(4, 1, 56), 1);
  // Quads: 16-bit, stride 1, dilation_w 2, 3x3 and 5x5 only.
  EXPECT_TRUE(nchw_rows_quads_fit(2, 5, 1, 2));
  EXPECT_TRUE(nchw_rows_quads_fit(2, 3, 1, 2));
  EXPECT_FALSE(nchw_rows_quads_fit(2, 7, 1, 2));
  EXPECT_FALSE(nchw_rows_quads_fit(2, 5, 2, 2));
  EXPECT_FALSE(nchw_rows_quads_fit(2, 5, 1, 3));
  EXPECT_FALSE(nchw_rows_quads_fit(4, 5, 1, 2));
  // Staged columns a slot reads per row, and the words that hold them: one column K, a pair K + stride (K + 1
  // 2 apart), a quad 2K + 2 (12 at 5x5: 7 words, one more than the 6 it spans where it starts on a word).
  EXPECT_EQ(nchw_rows_span(5, 1, 1), 5);
  EXPECT_EQ(nchw_rows_span(5, 1, 2), 6);
  EXPECT_EQ(nchw_rows_span(5, 2, 2), 7);
  EXPECT_EQ(nchw_rows_span(5, 1, 4), 12);
  EXPECT_EQ(nchw_rows_span(3, 1, 4), 8);
  EXPECT_EQ(nchw_rows_span_words(nchw_rows_span(5, 1, 4)), 7);
  // A slot's first column: one column u; pairs 3 apart 0, 1, 2, 6, 7, 8, ...; quads 4u.
  EXPECT_EQ(nchw_rows_slot_base(1, 3, 5), 5);
  EXPECT_EQ(nchw_rows_slot_base(2, 3, 2), 2);
  EXPECT_EQ(nchw_rows_slot_base(2, 3, 4), 7);
  EXPECT_EQ(nchw_rows_slot_base(2, 1, 4), 8);
  EXPECT_EQ(nchw_rows_slot_base(4, 2, 3), 12);
  // Rows a thread: 8 at stride 1, 4 at stride 2 and for quads (whose 32 sums spill at 8 rows).
  EXPECT_EQ(nchw_rows_reg_h(1, 2), 8);
  EXPECT_EQ(nchw_rows_reg_h(2, 2), 4);
  EXPECT_EQ(nchw_rows_reg_h(1, 4), 4);
  EXPECT_EQ((NchwRowsTraits<5, 1>::kRegH), 8);
  // Blocks an SM the kernels are built for: the rotated 5x5 reads take 3, pairs and quads alike.
  EXPECT_EQ(nchw_rows_min_blocks(5, true, true, 2), 3);
  EXPECT_EQ(nchw_rows_min_blocks(5, true, true, 4), 3);
  EXPECT_EQ(nchw_rows_min_blocks(5, true, false, 4), 4);
  EXPECT_EQ(nchw_rows_min_blocks(3, true, true, 4), 4);
  EXPECT_EQ(nchw_rows_min_blocks(3, true, false, 2), 5);
  // Every rows kernel holds its taps for the most planes a block has.
  using Tr7 = NchwRowsTraits<7, 1>;
  EXPECT_GE(Tr7::kTapItems * Tr7::kThreads, Tr7::kMaxPlanes * 49);
}

// valid_taps against a brute-force scan of every tap and output.
TEST(DepthwiseTraits, ValidTapsMatchBruteForce) {
  std::mt19937_64 rng(12345);
  SCOPED_TRACE("seed 12345");
  for (int iter = 0; iter < 4000; ++iter) {
    const int64_t in = 1 + static_cast<int64_t>(rng() % 40);
    const int64_t k = 1 + static_cast<int64_t>(rng() % 9);
    const int64_t s = 1 + static_cast<int64_t>(rng() % 4);
    const int64_t d = 1 + static_cast<int64_t>(rng() % 20);
    const int64_t pad = static_cast<int64_t>(rng() % 30);
    const int64_t out = 1 + static_cast<int64_t>(rng() % 40);
    const int64_t b = static_cast<int64_t>(rng() % static_cast<uint64_t>(out));
    const int64_t e = b + 1 + static_cast<int64_t>(rng() % static_cast<uint64_t>(out - b));
    int64_t first = k, last = 0;
    for (int64_t t = 0; t < k; ++t) {
      bool useful = false;
      for (int64_t o = b; o < e; ++o) {
        const int64_t pos = o * s - pad + t * d;
        useful = useful || (pos >= 0 && pos < in);
      }
      if (useful) first = std::min(first, t), last = std::max(last, t + 1);
    }
    const TapRange r = valid_taps(b, e, in, k, s, d, pad);
    SCOPED_TRACE("in " + std::to_string(in) + " k " + std::to_string(k) + " s " + std::to_string(s) + " d " +
                 std::to_string(d) + " pad " + std::to_string(pad) + " outputs [" + std::to_string(b) + ", " +
                 std::to_string(e) + ")");
    // Never excludes a useful tap. For one output (the direct kernel, which reads global memory with
    // no further bounds check) the useful taps are an interval and the range is exactly it; for a
    // block of outputs it is an interval that may also hold taps every output steps over.
    if (first < last) {
      ASSERT_LE(r.first, first);
      ASSERT_GE(r.last, last);
    }
    if (e - b == 1) {
      if (first >= last) {
        ASSERT_GE(r.first, r.last) << "expected no useful tap";
      } else {
        ASSERT_EQ(r.first, first);
        ASSERT_EQ(r.last, last);
      }
    }
    // Its ends are useful unless nothing is: first reaches row >= 0 for the last output, last-1 reaches
    // a row < in for the first output.
    if (r.first < r.last) {
      ASSERT_GE((e - 1) * s - pad + r.first * d, 0);
      ASSERT_LT(b * s - pad + (r.last - 1) * d, in);
    }
  }
}

TEST(DepthwiseTraits, ValidTapsSkipPaddingOnlyTaps) {
  // Rate 18, 3x3, SAME on 33: pad 18. Output rows 0..7 reach rows -18..-11 with tap 0: skipped.
  const TapRange top = valid_taps(0, 8, 33, 3, 1, 18, 18);
  EXPECT_EQ(top.first, 1);
  EXPECT_EQ(top.last, 3);
  // Rows 24..32: tap 2 reaches 42..50, beyond the input.
  const TapRange bottom = valid_taps(24, 33, 33, 3, 1, 18, 18);
  EXPECT_EQ(bottom.first, 0);
  EXPECT_EQ(bottom.last, 2);
  // Explicit padding wider than the filter reach: nothing to compute.
  const TapRange none = valid_taps(0, 1, 4, 3, 1, 1, 5);
  EXPECT_GE(none.first, none.last);
}

// lattice_taps and lattice_count against a brute-force scan: outputs first + step * i (i < count, below
// `out`), filter dilated by step * dil, stride 1.
TEST(DepthwiseTraits, LatticeTapsMatchBruteForce) {
  std::mt19937_64 rng(2718);
  SCOPED_TRACE("seed 2718");
  for (int iter = 0; iter < 4000; ++iter) {
    const int64_t in = 1 + static_cast<int64_t>(rng() % 40);
    const int64_t k = 1 + static_cast<int64_t>(rng() % 7);
    const int64_t step = 1 + static_cast<int64_t>(rng() % 12);
    const int64_t dil = 1 + static_cast<int64_t>(rng() % 3);
    const int64_t pad = static_cast<int64_t>(rng() % 30);
    const int64_t out = 1 + static_cast<int64_t>(rng() % 40);
    const int64_t first = static_cast<int64_t>(rng() % static_cast<uint64_t>(out + 3));
    const int64_t n = 1 + static_cast<int64_t>(rng() % 9);
    SCOPED_TRACE("in " + std::to_string(in) + " k " + std::to_string(k) + " step " + std::to_string(step) + " dil " +
                 std::to_string(dil) + " pad " + std::to_string(pad) + " out " + std::to_string(out) + " first " +
                 std::to_string(first) + " n " + std::to_string(n));
    int64_t count = 0;
    while (count < n && first + step * count < out) ++count;
    ASSERT_EQ(lattice_count(first, n, step, out), count);
    int64_t lo = k, hi = 0;
    for (int64_t t = 0; t < k; ++t) {
      bool useful = false;
      for (int64_t i = 0; i < count; ++i) {
        const int64_t pos = first + step * i - pad + t * step * dil;
        useful = useful || (pos >= 0 && pos < in);
      }
      if (useful) lo = std::min(lo, t), hi = std::max(hi, t + 1);
    }
    const TapRange r = lattice_taps(first, count, in, k, step, dil, pad);
    if (lo >= hi) {
      ASSERT_GE(r.first, r.last) << "expected no useful tap";
      continue;
    }
    ASSERT_LE(r.first, lo);
    ASSERT_GE(r.last, hi);
    if (count == 1) {  // one output: exactly its useful taps
      ASSERT_EQ(r.first, lo);
      ASSERT_EQ(r.last, hi);
    }
    ASSERT_GE(r.first, 0);
    ASSERT_LE(r.last, k);
  }
}

TEST(DepthwiseTraits, LatticeTapsOfDeepLabRate18) {
  // 3x3 at rate 18, SAME on 33 (pad 18), step 18: outputs 5, 23 read rows -13/5/23, 5/23/41.
  const TapRange r = lattice_taps(5, 2, 33, 3, 18, 1, 18);
  EXPECT_EQ(r.first, 0);
  EXPECT_EQ(r.last, 3);
  // Output 5 alone: tap 0 reads row -13 (padding).
  EXPECT_EQ(lattice_taps(5, 1, 33, 3, 18, 1, 18).first, 1);
  // A class whose outputs are all past the map: nothing.
  const TapRange none = lattice_taps(40, lattice_count(40, 8, 18, 33), 33, 3, 18, 1, 18);
  EXPECT_GE(none.first, none.last);
}

// The large-filter tensor-core kernel's pitches, checked the way the hardware serves a warp: the 32 words
// of a B fragment load (8 plane rows rows8 apart x 4 words, and the k + 8 half 4 words on), and the 32
// scalar stores of each C fragment element (8 columns x 4 output rows), land in 32 distinct banks for
// every tile and filter width. The lane layouts are those of mma.sync m16n8k16 (cuda/common/mma.cuh).
TEST(DepthwiseTraits, LargeMmaFragmentsAreConflictFree) {
  using Tr = LargeMmaTraits;
  for (const Tr::Shape s : Tr::kShapes) {
    for (int64_t kw = Tr::kMinKernelW; kw <= Tr::kMaxKernelW; ++kw) {
      SCOPED_TRACE("tile " + std::to_string(Tr::tile_h(s)) + "x" + std::to_string(Tr::tile_w(s)) + ", width " +
                   std::to_string(kw));
      const int64_t pitch_words = Tr::pitch(kw, s) / 2;
      ASSERT_EQ(Tr::pitch(kw, s) % 2, 0);
      ASSERT_GE(Tr::pitch(kw, s), Tr::cols(kw, s));
      for (int half = 0; half < 2; ++half) {
        bool bank[32] = {};
        for (int lane = 0; lane < 32; ++lane) {
          const int64_t word = s.rows8 * (lane / 4) * pitch_words + lane % 4 + 4 * half;
          EXPECT_FALSE(bank[word % 32]) << "B load, lane " << lane;
          bank[word % 32] = true;
        }
      }
      for (int g = 0; g < s.rows8; ++g) {
        for (int e = 0; e < 4; ++e) {
          bool bank[32] = {};
          for (int lane = 0; lane < 32; ++lane) {
            const int64_t row = s.rows8 * (2 * (lane % 4) + e % 2) + g, col = lane / 4 + 8 * (e / 2);
            const int64_t word = row * Tr::out_pitch(s) + col;
            EXPECT_FALSE(bank[word % 32]) << "C store, element " << e << ", lane " << lane;
            bank[word % 32] = true;
          }
        }
      }
    }
  }
}

TEST(DepthwiseTraits, LargeMmaStepsAndSharedMemory) {
  using Tr = LargeMmaTraits;
  // k-steps cover 16 + kw - 1 input columns per m-tile of 16 outputs.
  EXPECT_EQ(Tr::ksteps(17), 2);
  EXPECT_EQ(Tr::ksteps(18), 3);
  EXPECT_EQ(Tr::ksteps(33), 3);
  EXPECT_EQ(Tr::ksteps(34), 4);
  const Tr::Shape wide{2, 4}, small{1, 1};
  // 31x31, 16x64: 8 planes of 46 rows x 100 elements, 8 x 31 x 32 filter pair words.
  EXPECT_EQ(Tr::smem_bytes(31, 31, wide), 8 * 46 * 100 * 2 + 8 * 31 * 32 * 4);
  // 41x41, 8x16: planes of 48 rows x 72, the filter pairs 54 KiB: over sm_86's 99 KiB per block.
  EXPECT_EQ(Tr::smem_bytes(41, 41, small), 8 * 48 * 72 * 2 + 8 * 41 * 42 * 4);
  EXPECT_GT(Tr::smem_bytes(41, 41, small), 99 * 1024);
  // A 1-row filter on a narrow tile: the f32 results (8 x 8 rows x 20 floats) take as much as the planes.
  EXPECT_EQ(Tr::smem_bytes(1, 13, small), 8 * 8 * 20 * 4 + 8 * 1 * 14 * 4);
}

}  // namespace
}  // namespace dsconv::cuda::dw
