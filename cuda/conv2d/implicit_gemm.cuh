// The implicit-GEMM engine of the conv2d and separable families (the GEMM and its tile: params.hpp).
//
// A block owns a bm x bn output tile (pixels x output channels; params.hpp, Tile) and walks K in chunks of
// kBK = 32:
//   - conv2d (Producer::kGather): chunk (tap, channels c0..c0+31) gathers, for each of the tile's pixels,
//     the input at the tap's dilated offset, zero outside the image (any stride, dilation and padding).
//     Taps that read only padding for every pixel of the tile are skipped: with DeepLab's rate 18 on a
//     33 x 33 map most of a 3 x 3 filter falls outside for most tiles;
//   - fused separable (Producer::kDepthwise): chunk (mid channels j0..j0+31) is the depthwise output of the
//     tile's pixels, accumulated in f32 over the depthwise taps and rounded to the storage type, so the
//     intermediate never leaves the chip.
// Staging, two ways (Tile::stages):
//   - double-buffered through registers (every producer, layout and dtype): the next chunk's global loads
//     (or depthwise products) are issued into registers before this chunk's products, and stored to the
//     other buffer after them, with one barrier per chunk;
//   - cp.async in kStages stages (NHWC 16-bit conv2d; cuda/common/async_copy.cuh): chunk i + kStages - 1
//     is copied straight into shared memory while chunk i is multiplied, one wait and one barrier per
//     chunk. No register holds the operands on their way, which pays for 64 x 64 warp tiles; their
//     fragments are read with ldmatrix (B k-major, through .trans).
// f16/bf16 multiply on tensor cores (cuda/common/mma.cuh, f32 accumulation): each warp a 32 x 32 (narrow
// tile), 64 x 32 (tall, wide) or 64 x 64 (cp.async tiles) block of m16n8k16 products per 16 of K. f32
// multiplies on FMA units: each thread 4 pixels x 8 channels from float4 reads. The result goes through
// shared memory, 64 columns at a time, so that the epilogue (bias, residual, activation) reads and writes
// whole 16-byte vectors of a pixel's channels (NHWC) or runs of pixels (NCHW).
//
// Shared-memory banks: the fragment reads are conflict-free by the pitches (params.hpp). The 16-byte
// staging stores are made so too: a quarter-warp's 8 stores of A cover rows m and m + 4 (bank offsets 0 and
// 16 with the 20-word pitch), and of B one row, where lanes 4..7 of the quarter store their second 16 bytes
// first (so the quarter covers 32 distinct banks instead of twice the same 16).
#pragma once

#include <cstdint>
#include <cstring>
#include <type_traits>

#include "cuda/common/async_copy.cuh"
#include "cuda/common/device_types.cuh"
#include "cuda/common/memory_ops.cuh"
#include "cuda/common/mma.cuh"
#include "cuda/common/static_switch.hpp"
#include "cuda/conv2d/params.hpp"
#include "cuda/emu/cuda_compat.hpp"

namespace dsconv::cuda::gemm {

// The bit pattern of one element: a float's 32 bits, or a half's 16 in the low bits.
template <class T>
__device__ __forceinline__ uint32_t bits_of(const T& v) {
  if constexpr (sizeof(T) == 4) {
    uint32_t b;
    std::memcpy(&b, &v, 4);
    return b;
  } else {
    uint16_t b;
    std::memcpy(&b, &v, 2);
    return b;
  }
}

// The storage bits of f rounded to T.
template <class T>
__device__ __forceinline__ uint32_t rounded_bits(float f) {
  return bits_of(from_float<T>(f));
}

__device__ __forceinline__ float lane_of(const float4& v, int i) {
  return i == 0 ? v.x : i == 1 ? v.y : i == 2 ? v.z : v.w;
}

// Whether some element of a0, a0 + s, ..., a0 + (count - 1) s (s >= 1) lies in [0, limit).
__device__ __forceinline__ bool progression_hits(int64_t a0, int64_t s, int64_t count, int64_t limit) {
  const int64_t j = a0 >= 0 ? 0 : (-a0 + s - 1) / s;
  return j < count && a0 + j * s < limit;
}

// NHWC A staging row of thread `tid`'s i-th vector: 16-bit tiles permute the rows within groups of 8 so
// that a quarter-warp stores rows m and m + 4 (see the top of this file).
template <bool k16, int kVecPerRow, int kRowStep>
__device__ __forceinline__ int a_row(int tid, int i) {
  const int r = tid / kVecPerRow;
  if constexpr (k16) return 8 * (r / 8) + 4 * (r % 2) + (r / 2) % 4 + kRowStep * i;
  return r + kRowStep * i;
}

// NCHW staging swizzles. A warp stages (and the NCHW epilogue reads) 32 consecutive pixels of one column,
// which at the row pitches (20 words for 16-bit A, 72 for the f32 results) would fall in 8 banks, 4-way
// conflicts. XOR-ing the column with bits of the row spreads them over 32:
//   16-bit A: word w of row m is stored at w ^ ((m / 8) % 4), within its aligned group of 4 words (a
//     fragment read's rows g..g+7 share the key, so its 4 x 8 words stay distinct);
//   results: column c of row m at c ^ ((m / 4) % 8), within its aligned group of 8 (an mma tile's float2
//     pair stays one aligned pair, its elements swapped when the key is odd).
__device__ __forceinline__ int nchw_a_word(int m, int w) { return w ^ ((m / 8) % 4); }
// Register-staged 16-bit B ([k pair][n] words, pitch bn + 8 = 8 mod 32 banks): scalar staging with lanes
// on consecutive k pairs (an OIHW filter) would hit 4 bank groups; column n of k pair kp is stored at
// n ^ b_key(kp), within its aligned group of 8 (the fragment reads' key is known at compile time).
__device__ __forceinline__ int b_key(int kp) { return 2 * ((kp / 4) % 4); }
__device__ __forceinline__ int nchw_out_col(int m, int c) { return c ^ ((m / 4) % 8); }
// A resident tile's A (params.hpp, Tile::a_pitch16): rows of one chunk's 32 halves, unpadded, whose four
// 16-byte units are stored XOR-ed with (row / 2) % 4: the half at (m, k) is at resident_a_half(m, k).
// An ldmatrix's 8 rows (m0 even) then cover 4 unit slots x 2 bank halves, all 32 banks; a fragment word
// read (8 rows x 4 words of one unit) too; a quarter-warp's 16-byte NHWC stores (2 rows, 4 units) too.
__device__ __forceinline__ int resident_a_half(int m, int k) {
  return m * Tile::kBK + (((k / 8) ^ ((m / 2) % 4)) * 8) + k % 8;
}
// NCHW stores A a word at a time from lanes on 32 consecutive rows, and reads it a word at a time (no
// ldmatrix): the words within a unit are also XOR-ed with (row / 8) % 4, so those stores cover all 32
// banks too (a fragment read's 8 rows share the key).
__device__ __forceinline__ int resident_a_half_nchw(int m, int k) {
  return resident_a_half(m, k) ^ (2 * ((m / 8) % 4));
}

template <class T, bool kNchw, Producer kProd, int BM, int BN, int NT, int kStages, bool kTf32, bool kResident>
__global__ void __launch_bounds__(NT, 1) implicit_gemm_kernel(GemmParams p) {
  constexpr bool kF32 = std::is_same<T, float>::value;
  // f32 operands (staged as f32) multiply on FMA units, or, opted in, rounded to TF32 on tensor cores.
  static_assert(!kTf32 || kF32, "TF32 multiplies f32 operands");
  constexpr bool kFma = kF32 && !kTf32;
  // kStages > 2: cp.async staging (NHWC conv2d, 16-bit; a resident tile's B), kStages buffers; else
  // double-buffered registers.
  constexpr bool kAsync = kStages > 2;
  static_assert(!kResident || (kProd == Producer::kDepthwise && !kF32 && kAsync),
                "resident A: fused separable, 16-bit, B through cp.async");
  static_assert(!kAsync || kResident || (!kF32 && !kNchw && kProd == Producer::kGather),
                "cp.async: NHWC 16-bit conv2d");
  constexpr int kBufs = kAsync ? kStages : 2;
  constexpr int BK = Tile::kBK;
  constexpr int kVec = 16 / static_cast<int>(sizeof(T));  // elements per 16-byte access
  // A thread's share of a chunk: kAElems elements of A and kBElems of B, in 32-bit words.
  // (A resident tile's B comes through cp.async, whatever its share: kBElems is not used.)
  constexpr int kAElems = BM * BK / NT, kBElems = kResident ? 16 : BN * BK / NT;
  constexpr int kAWords = kF32 ? kAElems : kAElems / 2, kBWords = kF32 ? kBElems : kBElems / 2;
  constexpr int kKStride = NT / BM;  // NCHW staging: threads walk pixels, kKStride channel columns at once
  static_assert(NT % BM == 0 && kAElems % (kF32 ? 16 : 8) == 0 && kBElems % 16 == 0,
                "whole staging vectors per thread");
  static_assert(!kF32 || (BM == 64 && BN == 64 && NT == 128), "f32: the 64 x 64 FMA tile");
  static_assert(BN % Tile::kOutCols == 0, "the epilogue stages 64 columns at a time");
  // The pitches of B as the launch's shared-memory size counts them (one source: Tile).
  constexpr Tile kTile{BM, BN, NT, kStages, kTf32};
  constexpr int kBPitch16 = kTile.b_pitch16(), kBPitch32 = kTile.b_pitch32();
  // 16-bit warps: a WM x WN grid of warps, each MT x NT8 m16n8 tiles.
  constexpr int kWarps = NT / 32, WN = kWarps >= 8 ? 4 : 2, WM = kWarps / WN;
  constexpr int MT = BM / WM / 16, NT8 = BN / WN / 8;
  // NHWC A loads: a thread loads kRows pixels x one 16-byte vector of channels.
  constexpr int kVecPerRow = BK / kVec;
  constexpr int kRows = kNchw ? 1 : BM * kVecPerRow / NT;
  constexpr int kRowStep = NT / kVecPerRow;
  static_assert(kNchw || kRows * kVec == kAElems, "NHWC staging: kRows vectors of A per thread");
  // Fused separable, NHWC 16-byte path: depthwise taps whose loads are issued together (a resident tile
  // makes all of K's A at once, one chunk after another: a 3 x 3 filter's taps in one round trip).
  constexpr int kTapGroup = kResident ? 9 : kRows >= 4 ? 2 : 5;

  DSCONV_DYNAMIC_SMEM(unsigned char, smem);
  // 16-bit operands: B as (k, k + 1) words of a column (register staging) or k-major halves (cp.async,
  // read by ldmatrix.trans).
  // A resident tile keeps one A buffer per chunk of K, and its results go to the B stages (A stays).
  // (Unpadded and swizzled: resident_a_half.)
  constexpr int kAPitchA = kResident ? Tile::kBK : Tile::kAPitch16;
  const int64_t a_bufs = kResident ? p.k_chunks : kBufs;
  uint16_t* const sA16 = reinterpret_cast<uint16_t*>(smem);
  uint32_t* const sB16 = reinterpret_cast<uint32_t*>(smem + a_bufs * BM * kAPitchA * 2);
  uint16_t* const sB16h = reinterpret_cast<uint16_t*>(sB16);
  static_assert((BM * kAPitchA * 2) % 16 == 0, "B starts 16-byte aligned");
  // f32 operands.
  float* const sA32 = reinterpret_cast<float*>(smem);
  float* const sB32 = sA32 + 2 * BM * Tile::kAPitch32;
  // The result tile, after the products.
  float* const s_out = kResident ? reinterpret_cast<float*>(sB16) : reinterpret_cast<float*>(smem);

  const int tid = static_cast<int>(threadIdx.x);
  const int H = static_cast<int>(p.h), W = static_cast<int>(p.w), C = static_cast<int>(p.c);
  const int KC = static_cast<int>(p.k_channels), O = static_cast<int>(p.o);
  const int OH = static_cast<int>(p.oh), OW = static_cast<int>(p.ow), OHW = OH * OW;
  const int KW = static_cast<int>(p.kw), taps_dw = static_cast<int>(p.kh * p.kw);
  const int M = static_cast<int>(p.m);
  const int64_t m_total = p.n * p.oh * p.ow;
  const int k_chunks = static_cast<int>(p.k_chunks);
  const int total_kb = static_cast<int>(p.gemm_taps) * k_chunks;
  const T* __restrict__ const xg = static_cast<const T*>(p.x);
  const T* __restrict__ const fg = static_cast<const T*>(p.filter);
  const T* __restrict__ const dwg = static_cast<const T*>(p.dw_filter);
  const T* __restrict__ const bg = static_cast<const T*>(p.bias);
  const T* const rg = static_cast<const T*>(p.residual);  // may be y itself: each element read before written
  T* const yg = static_cast<T*>(p.y);

  // The block's tile, and its K slice when the tile is one of the split tail's (params.hpp). A resident
  // tile's block takes its tiles one after another (set_rows, set_cols).
  int64_t tile = blockIdx.x, tail = 0;
  int slice = -1;
  if (!kResident && p.split > 1 && tile >= p.dp_tiles) {
    const int64_t u = tile - p.dp_tiles;
    tail = u / p.split;
    slice = static_cast<int>(u - tail * p.split);
    tile = p.dp_tiles + tail;
  }
  int64_t m0 = 0;
  int n0 = 0;

  // This thread's A pixels: coordinates and the image's base offset; invalid past the last pixel. And the
  // tile's rows and columns, for tap skipping: exact when the tile lies in one image row, else the rows it
  // spans (one image) or every row (several images) and every column. Uniform across the block.
  const int kq = kNchw ? 0 : tid % kVecPerRow;  // NHWC: which vector of the chunk's channels
  int iy0[kRows], ix0[kRows];
  int64_t base[kRows];
  bool valid[kRows];
  int64_t row_lo = 0, row_hi = OH - 1, col_lo = 0, col_hi = OW - 1;
  const auto set_rows = [&](int64_t row_tile) {
    m0 = row_tile * BM;
    DSCONV_UNROLL
    for (int i = 0; i < kRows; ++i) {
      const int m = kNchw ? tid % BM : a_row < !kF32 && !kResident, kVecPerRow, kRowStep > (tid, i);
      const int64_t gm = m0 + m;
      valid[i] = gm < m_total;
      const int64_t img = valid[i] ? gm / OHW : 0;
      const int rem = valid[i] ? static_cast<int>(gm - img * OHW) : 0;
      const int oy = rem / OW, ox = rem % OW;
      iy0[i] = oy * static_cast<int>(p.sh) - static_cast<int>(p.pad_top);
      ix0[i] = ox * static_cast<int>(p.sw) - static_cast<int>(p.pad_left);
      base[i] = img * (static_cast<int64_t>(H) * W * C);
    }
    row_lo = 0, row_hi = OH - 1, col_lo = 0, col_hi = OW - 1;
    const int64_t last = (m0 + BM < m_total ? m0 + BM : m_total) - 1;
    const int64_t img_a = m0 / OHW, img_b = last / OHW;
    if (img_a == img_b) {
      const int64_t ra = m0 - img_a * OHW, rb = last - img_b * OHW;
      row_lo = ra / OW, row_hi = rb / OW;
      if (row_lo == row_hi) col_lo = ra % OW, col_hi = rb % OW;
    }
  };
  const auto set_cols = [&](int64_t col_tile) { n0 = static_cast<int>(col_tile) * BN; };
  if constexpr (!kResident) {
    set_rows(tile / p.n_tiles);
    set_cols(tile % p.n_tiles);
  }
  const auto tap_reads_input = [&](int tap) {
    if constexpr (kProd == Producer::kDepthwise) {
      return true;
    } else {
      const int kr = tap / KW, kc = tap - kr * KW;
      return progression_hits(row_lo * p.sh - p.pad_top + kr * p.dh, p.sh, row_hi - row_lo + 1, H) &&
             progression_hits(col_lo * p.sw - p.pad_left + kc * p.dw, p.sw, col_hi - col_lo + 1, W);
    }
  };
  // The chunk after kb, past taps that read no input for this tile.
  const auto next_chunk = [&](int kb) {
    ++kb;
    while (kb < total_kb && kb % k_chunks == 0 && !tap_reads_input(kb / k_chunks)) kb += k_chunks;
    return kb;
  };
  // The chunks this block multiplies, [kb_first, kb_end): every executed one, or a slice's share of them
  // (slice s of S: executed chunks [s E / S, (s + 1) E / S), E = executed taps x k_chunks).
  int kb_first = next_chunk(-1), kb_end = total_kb;
  if (slice >= 0) {
    int executed_taps = 0;
    for (int tap = 0; tap < static_cast<int>(p.gemm_taps); ++tap) executed_taps += tap_reads_input(tap) ? 1 : 0;
    const int64_t executed = static_cast<int64_t>(executed_taps) * k_chunks;
    // The raw chunk index of executed chunk `ordinal` (total_kb past the last).
    const auto chunk_of = [&](int64_t ordinal) {
      if (ordinal >= executed) return total_kb;
      int want = static_cast<int>(ordinal / k_chunks);
      for (int tap = 0;; ++tap) {
        if (tap_reads_input(tap) && want-- == 0) return tap * k_chunks + static_cast<int>(ordinal % k_chunks);
      }
    };
    kb_first = chunk_of(slice * executed / p.split);
    kb_end = chunk_of((slice + 1) * executed / p.split);
  }

  uint32_t ra[kAWords], rb[kBWords];

  // --- A: this thread's 16 elements of chunk kb, into ra ---------------------------------------------
  const auto load_a = [&](int kb) {
    const int tap = kb / k_chunks, k0 = (kb - tap * k_chunks) * BK;
    if constexpr (kProd == Producer::kGather) {
      const int kr = tap / KW, kc = tap - kr * KW;
      const int dy = kr * static_cast<int>(p.dh), dx = kc * static_cast<int>(p.dw);
      DSCONV_UNROLL
      for (int i = 0; i < kRows; ++i) {
        const int iy = iy0[i] + dy, ix = ix0[i] + dx;
        const bool inside = valid[i] && static_cast<unsigned>(iy) < static_cast<unsigned>(H) &&
                            static_cast<unsigned>(ix) < static_cast<unsigned>(W);
        if constexpr (!kNchw) {
          const int ch = k0 + kq * kVec;
          const T* const src = xg + base[i] + (static_cast<int64_t>(iy) * W + ix) * C + ch;
          if (inside && p.vec_a && ch < C) {
            const uint4 v = load_raw16(src);
            ra[4 * i] = v.x, ra[4 * i + 1] = v.y, ra[4 * i + 2] = v.z, ra[4 * i + 3] = v.w;
          } else if constexpr (kF32) {
            DSCONV_UNROLL
            for (int e = 0; e < 4; ++e) ra[4 * i + e] = inside && ch + e < C ? bits_of(src[e]) : 0u;
          } else {
            DSCONV_UNROLL
            for (int e = 0; e < 4; ++e) {
              const uint32_t lo = inside && ch + 2 * e < C ? bits_of(src[2 * e]) : 0u;
              const uint32_t hi = inside && ch + 2 * e + 1 < C ? bits_of(src[2 * e + 1]) : 0u;
              ra[4 * i + e] = lo | (hi << 16);
            }
          }
        } else {
          // NCHW: threads walk pixels (coalesced along a row); k = channel.
          const int64_t plane = static_cast<int64_t>(H) * W;
          const T* const src = xg + base[0] + static_cast<int64_t>(iy) * W + ix;
          if constexpr (kF32) {
            DSCONV_UNROLL
            for (int e = 0; e < kAWords; ++e) {
              const int ch = k0 + tid / BM + kKStride * e;
              ra[e] = inside && ch < C ? bits_of(src[ch * plane]) : 0u;
            }
          } else {
            DSCONV_UNROLL
            for (int e = 0; e < kAWords; ++e) {
              const int ch = k0 + 2 * (tid / BM + kKStride * e);
              const uint32_t lo = inside && ch < C ? bits_of(src[ch * plane]) : 0u;
              const uint32_t hi = inside && ch + 1 < C ? bits_of(src[(ch + 1) * plane]) : 0u;
              ra[e] = lo | (hi << 16);
            }
          }
        }
      }
    } else {
      // The depthwise outputs of mid channels j of this thread's pixels, over every depthwise tap.
      float acc[kAElems];
      DSCONV_UNROLL
      for (int e = 0; e < kAElems; ++e) acc[e] = 0.f;
      const int64_t plane = static_cast<int64_t>(H) * W;
      int t_begin = 0;
      if constexpr (!kNchw) {
        // The 16-byte path, kTapGroup taps at a time: every load of the group is issued before the first
        // product, so that a chunk waits for ceil(taps / kTapGroup) round trips instead of one per tap.
        const int j = k0 + kq * kVec;
        if (p.vec_a && p.vec_dw) {
          t_begin = taps_dw;  // the loop below has nothing left to do
          for (int t0 = 0; t0 < taps_dw && j < KC; t0 += kTapGroup) {
            uint4 wr[kTapGroup], xr[kTapGroup][kRows];
            DSCONV_UNROLL
            for (int g = 0; g < kTapGroup; ++g) {
              const int t = t0 + g;
              const int kr = t / KW, kc = t - kr * KW;
              const int dy = kr * static_cast<int>(p.dh), dx = kc * static_cast<int>(p.dw);
              wr[g] = t < taps_dw ? load_raw16(dwg + t * p.dw_tap + j) : make_uint4(0u, 0u, 0u, 0u);
              DSCONV_UNROLL
              for (int i = 0; i < kRows; ++i) {
                const int iy = iy0[i] + dy, ix = ix0[i] + dx;
                const bool inside = t < taps_dw && valid[i] && static_cast<unsigned>(iy) < static_cast<unsigned>(H) &&
                                    static_cast<unsigned>(ix) < static_cast<unsigned>(W);
                xr[g][i] = inside ? load_raw16(xg + base[i] + (static_cast<int64_t>(iy) * W + ix) * C + j)
                                  : make_uint4(0u, 0u, 0u, 0u);
              }
            }
            DSCONV_UNROLL
            for (int g = 0; g < kTapGroup; ++g) {
              float wv[kVec];
              unpack16<T>(wr[g], wv);
              DSCONV_UNROLL
              for (int i = 0; i < kRows; ++i) {
                float xv[kVec];
                unpack16<T>(xr[g][i], xv);
                DSCONV_UNROLL
                for (int e = 0; e < kVec; ++e) acc[i * kVec + e] = fmaf(xv[e], wv[e], acc[i * kVec + e]);
              }
            }
          }
        }
      }
      for (int t = t_begin; t < taps_dw; ++t) {
        const int kr = t / KW, kc = t - kr * KW;
        const int dy = kr * static_cast<int>(p.dh), dx = kc * static_cast<int>(p.dw);
        const T* const wt = dwg + t * p.dw_tap;
        if constexpr (!kNchw) {
          const int j = k0 + kq * kVec;
          float wv[kVec];
          if (p.vec_dw && j < KC) {
            unpack16<T>(load_raw16(wt + j), wv);
          } else {
            DSCONV_UNROLL
            for (int e = 0; e < kVec; ++e) wv[e] = j + e < KC ? to_float(wt[(j + e) * p.dw_j]) : 0.f;
          }
          DSCONV_UNROLL
          for (int i = 0; i < kRows; ++i) {
            const int iy = iy0[i] + dy, ix = ix0[i] + dx;
            const bool inside = valid[i] && static_cast<unsigned>(iy) < static_cast<unsigned>(H) &&
                                static_cast<unsigned>(ix) < static_cast<unsigned>(W);
            if (!inside || j >= KC) continue;
            const T* const px = xg + base[i] + (static_cast<int64_t>(iy) * W + ix) * C;
            float xv[kVec];
            if (p.vec_a) {  // M == 1: mid channel j is input channel j
              unpack16<T>(load_raw16(px + j), xv);
            } else {
              DSCONV_UNROLL
              for (int e = 0; e < kVec; ++e) xv[e] = j + e < KC ? to_float(px[(j + e) / M]) : 0.f;
            }
            DSCONV_UNROLL
            for (int e = 0; e < kVec; ++e) acc[i * kVec + e] = fmaf(xv[e], wv[e], acc[i * kVec + e]);
          }
        } else {
          const int iy = iy0[0] + dy, ix = ix0[0] + dx;
          const bool inside = valid[0] && static_cast<unsigned>(iy) < static_cast<unsigned>(H) &&
                              static_cast<unsigned>(ix) < static_cast<unsigned>(W);
          if (!inside) continue;
          const T* const px = xg + base[0] + static_cast<int64_t>(iy) * W + ix;
          DSCONV_UNROLL
          for (int e = 0; e < kAElems; ++e) {
            // f32: k = tid / BM + s e; 16-bit: the pair (2q, 2q + 1) with q = tid / BM + s (e / 2) (s = kKStride).
            const int k = kF32 ? tid / BM + kKStride * e : 2 * (tid / BM + kKStride * (e / 2)) + e % 2;
            const int j = k0 + k;
            if (j < KC) acc[e] = fmaf(to_float(px[(j / M) * plane]), to_float(wt[j * p.dw_j]), acc[e]);
          }
        }
      }
      if constexpr (kF32) {
        DSCONV_UNROLL
        for (int e = 0; e < kAWords; ++e) ra[e] = bits_of(acc[e]);
      } else {
        DSCONV_UNROLL
        for (int e = 0; e < kAWords; ++e) ra[e] = rounded_bits<T>(acc[2 * e]) | (rounded_bits<T>(acc[2 * e + 1]) << 16);
      }
    }
  };

  // --- B: this thread's 16 elements of chunk kb's filter rows, into rb -------------------------------
  const auto load_b = [&](int kb) {
    const int tap = kb / k_chunks, k0 = (kb - tap * k_chunks) * BK;
    const T* const ft = fg + tap * p.b_tap;
    const auto elem = [&](int k, int o) -> uint32_t {
      return k < KC && o < O ? bits_of(ft[k * p.b_k + o * p.b_o]) : 0u;
    };
    if constexpr (kF32) {
      if (p.vec_b) {  // 4 rows x a float4 along O
        DSCONV_UNROLL
        for (int i = 0; i < 4; ++i) {
          const int k = k0 + tid / 16 + 8 * i, o = n0 + 4 * (tid % 16);
          uint4 v = make_uint4(0u, 0u, 0u, 0u);
          if (k < KC && o < O) v = load_raw16(ft + k * p.b_k + o);
          rb[4 * i] = v.x, rb[4 * i + 1] = v.y, rb[4 * i + 2] = v.z, rb[4 * i + 3] = v.w;
        }
      } else {
        DSCONV_UNROLL
        for (int i = 0; i < kBWords; ++i) {
          const int e = tid + NT * i;
          const int kk = p.b_k_fast ? e % BK : e / BN, nn = p.b_k_fast ? e / BK : e % BN;
          rb[i] = elem(k0 + kk, n0 + nn);
        }
      }
    } else {
      if (p.vec_b) {  // items of rows k, k + 1 x 8 columns, interleaved into (k, k + 1) words
        DSCONV_UNROLL
        for (int j = 0; j < kBWords / 8; ++j) {
          const int item = tid + NT * j;
          const int k = k0 + 2 * (item / (BN / 8)), o = n0 + 8 * (item % (BN / 8));
          uint4 r0 = make_uint4(0u, 0u, 0u, 0u), r1 = r0;
          if (k < KC && o < O) r0 = load_raw16(ft + k * p.b_k + o);
          if (k + 1 < KC && o < O) r1 = load_raw16(ft + (k + 1) * p.b_k + o);
          const uint32_t w0[4] = {r0.x, r0.y, r0.z, r0.w}, w1[4] = {r1.x, r1.y, r1.z, r1.w};
          DSCONV_UNROLL
          for (int e = 0; e < 4; ++e) {
            rb[8 * j + 2 * e] = (w0[e] & 0xffffu) | (w1[e] << 16);
            rb[8 * j + 2 * e + 1] = (w0[e] >> 16) | (w1[e] & 0xffff0000u);
          }
        }
      } else {
        DSCONV_UNROLL
        for (int i = 0; i < kBWords; ++i) {
          const int e = tid + NT * i;  // a (k pair, column) of the (kBK / 2) x BN
          const int kp = p.b_k_fast ? e % (BK / 2) : e / BN, nn = p.b_k_fast ? e / (BK / 2) : e % BN;
          rb[i] = elem(k0 + 2 * kp, n0 + nn) | (elem(k0 + 2 * kp + 1, n0 + nn) << 16);
        }
      }
    }
  };

  // --- the staged registers into buffer `buf` (a resident tile: A only, into chunk kb's buffer) ----------
  const auto store_stage = [&](int buf) {
    if constexpr (kTf32) {  // rounded once here rather than per fragment read
      DSCONV_UNROLL
      for (int e = 0; e < kAWords; ++e) ra[e] = to_tf32(ra[e]);
      DSCONV_UNROLL
      for (int e = 0; e < kBWords; ++e) rb[e] = to_tf32(rb[e]);
    }
    if constexpr (kF32) {
      float* const a = sA32 + buf * BM * Tile::kAPitch32;
      float* const b = sB32 + buf * BK * kBPitch32;
      if constexpr (!kNchw) {
        DSCONV_UNROLL
        for (int i = 0; i < kRows; ++i)
          store_aligned(a + a_row<false, kVecPerRow, kRowStep>(tid, i) * Tile::kAPitch32 + kq * kVec,
                        make_uint4(ra[4 * i], ra[4 * i + 1], ra[4 * i + 2], ra[4 * i + 3]));
      } else {
        DSCONV_UNROLL
        for (int e = 0; e < kAWords; ++e)
          std::memcpy(a + (tid % BM) * Tile::kAPitch32 + tid / BM + kKStride * e, &ra[e], 4);
      }
      if (p.vec_b) {
        DSCONV_UNROLL
        for (int i = 0; i < 4; ++i)
          store_aligned(b + (tid / 16 + 8 * i) * kBPitch32 + 4 * (tid % 16),
                        make_uint4(rb[4 * i], rb[4 * i + 1], rb[4 * i + 2], rb[4 * i + 3]));
      } else {
        DSCONV_UNROLL
        for (int i = 0; i < kBWords; ++i) {
          const int e = tid + NT * i;
          const int kk = p.b_k_fast ? e % BK : e / BN, nn = p.b_k_fast ? e / BK : e % BN;
          std::memcpy(b + kk * kBPitch32 + nn, &rb[i], 4);
        }
      }
    } else {
      uint16_t* const a = sA16 + buf * BM * kAPitchA;
      uint32_t* const b = sB16 + buf * (BK / 2) * kBPitch16;
      if constexpr (kResident && !kNchw) {
        // Rows in order (a quarter-warp: rows m, m + 1, conflict-free with the swizzle).
        DSCONV_UNROLL
        for (int i = 0; i < kRows; ++i)
          store_aligned(a + resident_a_half(a_row<false, kVecPerRow, kRowStep>(tid, i), kq * kVec),
                        make_uint4(ra[4 * i], ra[4 * i + 1], ra[4 * i + 2], ra[4 * i + 3]));
      } else if constexpr (kResident) {
        // NCHW: lanes on consecutive rows, one word each.
        DSCONV_UNROLL
        for (int e = 0; e < kAWords; ++e)
          store_aligned(a + resident_a_half_nchw(tid % BM, 2 * (tid / BM + kKStride * e)), ra[e]);
      } else if constexpr (!kNchw) {
        DSCONV_UNROLL
        for (int i = 0; i < kRows; ++i)
          store_aligned(a + a_row<true, kVecPerRow, kRowStep>(tid, i) * Tile::kAPitch16 + kq * kVec,
                        make_uint4(ra[4 * i], ra[4 * i + 1], ra[4 * i + 2], ra[4 * i + 3]));
      } else {
        DSCONV_UNROLL
        for (int e = 0; e < kAWords; ++e)
          store_aligned(a + (tid % BM) * Tile::kAPitch16 + 2 * nchw_a_word(tid % BM, tid / BM + kKStride * e), ra[e]);
      }
      if constexpr (kResident) {
        return;  // B comes through cp.async
      } else if (p.vec_b) {
        DSCONV_UNROLL
        for (int j = 0; j < kBWords / 8; ++j) {
          const int item = tid + NT * j, nv = item % (BN / 8), kp = item / (BN / 8);
          uint32_t* const dst = b + kp * kBPitch16 + 8 * nv;
          const bool swap = (nv / 4) % 2 == 1;  // lanes 4..7 of a quarter-warp: second half first
          const uint32_t* const w = rb + 8 * j;
          // b_key: word p of the group holds column p ^ key (key 2 swaps word pairs, key 4 the halves).
          const int key = b_key(kp);
          const bool pairs = (key & 2) != 0, halves = (key & 4) != 0;
          const uint4 c0 = pairs ? make_uint4(w[2], w[3], w[0], w[1]) : make_uint4(w[0], w[1], w[2], w[3]);
          const uint4 c1 = pairs ? make_uint4(w[6], w[7], w[4], w[5]) : make_uint4(w[4], w[5], w[6], w[7]);
          const uint4 lo = halves ? c1 : c0, hi = halves ? c0 : c1;
          store_aligned(dst + (swap ? 4 : 0), swap ? hi : lo);
          store_aligned(dst + (swap ? 0 : 4), swap ? lo : hi);
        }
      } else {
        DSCONV_UNROLL
        for (int i = 0; i < kBWords; ++i) {
          const int e = tid + NT * i;
          const int kp = p.b_k_fast ? e % (BK / 2) : e / BN, nn = p.b_k_fast ? e / (BK / 2) : e % BN;
          store_aligned(b + kp * kBPitch16 + (nn ^ b_key(kp)), rb[i]);
        }
      }
    }
  };

  // --- cp.async staging: chunk kb into stage `stage` (A rows as store_stage's 16-bit rows; B k-major) ----
  // A vector of padding or past the channels is a zero fill; a misaligned view (vec_a or vec_b false at
  // run time) stores its elements synchronously instead, visible after the same barrier.
  const auto issue_async = [&](int kb, int stage) {
    if constexpr (kAsync) {
      const int tap = kb / k_chunks, k0 = (kb - tap * k_chunks) * BK;
      const int kr = tap / KW, kc = tap - kr * KW;
      const int dy = kr * static_cast<int>(p.dh), dx = kc * static_cast<int>(p.dw);
      uint16_t* const a = sA16 + stage * BM * Tile::kAPitch16;
      const int ch = k0 + kq * kVec;
      DSCONV_UNROLL
      for (int i = 0; i < (kResident ? 0 : kRows); ++i) {  // a resident tile's A is on chip already
        const int iy = iy0[i] + dy, ix = ix0[i] + dx;
        const bool inside = valid[i] && static_cast<unsigned>(iy) < static_cast<unsigned>(H) &&
                            static_cast<unsigned>(ix) < static_cast<unsigned>(W);
        uint16_t* const dst = a + a_row<true, kVecPerRow, kRowStep>(tid, i) * Tile::kAPitch16 + kq * kVec;
        const T* const src = xg + base[i] + (static_cast<int64_t>(iy) * W + ix) * C + ch;
        if (p.vec_a) {
          const bool fill = inside && ch < C;
          cp_async16(dst, fill ? static_cast<const void*>(src) : static_cast<const void*>(xg), fill);
        } else {
          DSCONV_UNROLL
          for (int e = 0; e < kVec; ++e) dst[e] = static_cast<uint16_t>(inside && ch + e < C ? bits_of(src[e]) : 0u);
        }
      }
      const T* const ft = fg + tap * p.b_tap;
      uint16_t* const b = sB16h + stage * BK * kBPitch16;
      if (p.vec_b) {
        // One filter address live at a time: unrolled, the 2-warp tile's 8 copies spill.
        DSCONV_NO_UNROLL
        for (int j = 0; j < (BK * BN / 8 + NT - 1) / NT; ++j) {
          const int item = tid + NT * j, kk = item / (BN / 8), nv = item % (BN / 8);
          if ((BK * BN / 8) % NT != 0 && item >= BK * BN / 8) break;  // 96 x 128: 512 vectors for 192 threads
          const int k = k0 + kk, o = n0 + 8 * nv;
          const bool fill = k < KC && o < O;
          cp_async16(b + kk * kBPitch16 + 8 * nv, fill ? static_cast<const void*>(ft + k * p.b_k + o) : fg, fill);
        }
      } else {
        for (int e = tid; e < BK * BN; e += NT) {
          const int kk = p.b_k_fast ? e % BK : e / BN, nn = p.b_k_fast ? e / BK : e % BN;
          const int k = k0 + kk, o = n0 + nn;
          b[kk * kBPitch16 + nn] = static_cast<uint16_t>(k < KC && o < O ? bits_of(ft[k * p.b_k + o * p.b_o]) : 0u);
        }
      }
    }
  };

  // --- the products of buffer `buf` --------------------------------------------------------------------
  const int warp = tid / 32, lane = tid % 32;
  const int wm = warp / WN, wn = warp % WN;  // 16-bit: this warp's (BM / WM) x (BN / WN) block
  const int tm = tid / 8, tn = tid % 8;      // f32: pixels tm + 16i, channels 4tn + j and 32 + 4tn + j
  float acc[kFma ? 4 : MT][kFma ? 8 : NT8][kFma ? 1 : 4];
  const auto clear_acc = [&]() {
    DSCONV_UNROLL
    for (int i = 0; i < (kFma ? 4 : MT); ++i) {
      DSCONV_UNROLL
      for (int j = 0; j < (kFma ? 8 : NT8); ++j) {
        DSCONV_UNROLL
        for (int e = 0; e < (kFma ? 1 : 4); ++e) acc[i][j][e] = 0.f;
      }
    }
  };
  const auto compute = [&](int abuf, int bbuf) {
    if constexpr (kTf32) {
      // m16n8k8 per 8 of K, fragments one word each: A rows g and g + 8 (pitch 36: banks 4g + q), B rows
      // q and q + 4 (pitch bn + 8: banks 8q + g), both conflict-free.
      const float* const a = sA32 + abuf * BM * Tile::kAPitch32;
      const float* const b = sB32 + bbuf * BK * kBPitch32;
      DSCONV_UNROLL
      for (int ks = 0; ks < BK / 8; ++ks) {
        uint32_t af[MT][4];
        DSCONV_UNROLL
        for (int mt = 0; mt < MT; ++mt) {
          DSCONV_UNROLL
          for (int r = 0; r < 4; ++r) {
            const int row = (BM / WM) * wm + 16 * mt + mma_tf32_a_row(lane, r), col = 8 * ks + mma_tf32_a_col(lane, r);
            af[mt][r] = load_smem_word(a + row * Tile::kAPitch32 + col);
          }
        }
        DSCONV_UNROLL
        for (int nt = 0; nt < NT8; ++nt) {
          uint32_t bf[2];
          DSCONV_UNROLL
          for (int r = 0; r < 2; ++r) {
            const int k = 8 * ks + mma_tf32_b_k(lane, r), n = (BN / WN) * wn + 8 * nt + mma_tf32_b_n(lane, r);
            bf[r] = load_smem_word(b + k * kBPitch32 + n);
          }
          DSCONV_UNROLL
          for (int mt = 0; mt < MT; ++mt) mma_m16n8k8_tf32(acc[mt][nt], af[mt], bf, acc[mt][nt]);
        }
      }
    } else if constexpr (kF32) {
      const float* const a = sA32 + abuf * BM * Tile::kAPitch32;
      const float* const b = sB32 + bbuf * BK * kBPitch32;
      DSCONV_UNROLL
      for (int k4 = 0; k4 < BK / 4; ++k4) {
        float4 av[4];
        DSCONV_UNROLL
        for (int i = 0; i < 4; ++i) av[i] = load_smem4(a + (tm + 16 * i) * Tile::kAPitch32 + 4 * k4);
        DSCONV_UNROLL
        for (int kk = 0; kk < 4; ++kk) {
          const float4 b0 = load_smem4(b + (4 * k4 + kk) * kBPitch32 + 4 * tn);
          const float4 b1 = load_smem4(b + (4 * k4 + kk) * kBPitch32 + 32 + 4 * tn);
          DSCONV_UNROLL
          for (int i = 0; i < 4; ++i) {
            const float x = lane_of(av[i], kk);
            DSCONV_UNROLL
            for (int j = 0; j < 4; ++j) {
              acc[i][j][0] = fmaf(x, lane_of(b0, j), acc[i][j][0]);
              acc[i][4 + j][0] = fmaf(x, lane_of(b1, j), acc[i][4 + j][0]);
            }
          }
        }
      }
    } else if constexpr (kAsync) {
      // ldmatrix: A's four 8 x 8 matrices of a 16 x 16 fragment at once, and B's (k-major) two column tiles.
      // (A resident tile's A buffer abuf is chunk abuf of K; its B stage bbuf.)
      static_assert(NT8 % 2 == 0, "B fragments in pairs of column tiles");
      const uint16_t* const a = sA16 + abuf * BM * kAPitchA;
      const uint16_t* const b = sB16h + bbuf * BK * kBPitch16;
      const int lrow = lane % 8 + 8 * ((lane / 8) % 2), lcol = 8 * (lane / 16);
      DSCONV_UNROLL
      for (int ks = 0; ks < BK / 16; ++ks) {
        uint32_t af[MT][4];
        DSCONV_UNROLL
        for (int mt = 0; mt < MT; ++mt) {
          const int row0 = (BM / WM) * wm + 16 * mt;
          if constexpr (kResident && kNchw) {  // fragment words one by one (resident_a_half_nchw)
            DSCONV_UNROLL
            for (int r = 0; r < 4; ++r) {
              const int row = row0 + mma_a_row(lane, 2 * r), col = 16 * ks + mma_a_col(lane, 2 * r);
              af[mt][r] = load_smem_word(a + resident_a_half_nchw(row, col));
            }
          } else if constexpr (kResident) {
            ldmatrix_x4<false>(af[mt], a + resident_a_half(row0 + lrow, 16 * ks + lcol));
          } else {
            ldmatrix_x4<false>(af[mt], a + (row0 + lrow) * Tile::kAPitch16 + 16 * ks + lcol);
          }
        }
        DSCONV_UNROLL
        for (int np = 0; np < NT8 / 2; ++np) {
          uint32_t bq[4];
          ldmatrix_x4<true>(bq, b + (16 * ks + lrow) * kBPitch16 + (BN / WN) * wn + 16 * np + lcol);
          const uint32_t b0[2] = {bq[0], bq[1]}, b1[2] = {bq[2], bq[3]};
          DSCONV_UNROLL
          for (int mt = 0; mt < MT; ++mt) {
            mma_m16n8k16<T>(acc[mt][2 * np], af[mt], b0, acc[mt][2 * np]);
            mma_m16n8k16<T>(acc[mt][2 * np + 1], af[mt], b1, acc[mt][2 * np + 1]);
          }
        }
      }
    } else {
      const uint16_t* const a = sA16 + abuf * BM * Tile::kAPitch16;
      const uint32_t* const b = sB16 + bbuf * (BK / 2) * kBPitch16;
      DSCONV_UNROLL
      for (int ks = 0; ks < BK / 16; ++ks) {
        uint32_t af[MT][4];
        DSCONV_UNROLL
        for (int mt = 0; mt < MT; ++mt) {
          DSCONV_UNROLL
          for (int r = 0; r < 4; ++r) {
            const int row = (BM / WM) * wm + 16 * mt + mma_a_row(lane, 2 * r), col = 16 * ks + mma_a_col(lane, 2 * r);
            // NCHW: nchw_a_word's key (row / 8) % 4, with the warp's rows starting at a multiple of 32.
            static_assert(!kNchw || (BM / WM) % 32 == 0, "the swizzle key is known at compile time");
            const int key = kNchw ? (2 * mt + r % 2) % 4 : 0;
            af[mt][r] = load_smem_word(a + row * Tile::kAPitch16 + 2 * ((col / 2) ^ key));
          }
        }
        // B fragments one column tile at a time: each is used by the MT products and dropped.
        DSCONV_UNROLL
        for (int nt = 0; nt < NT8; ++nt) {
          uint32_t bf[2];
          DSCONV_UNROLL
          for (int r = 0; r < 2; ++r) {
            const int n = (BN / WN) * wn + 8 * nt + mma_b_n(lane, 2 * r), kp = (16 * ks + mma_b_k(lane, 2 * r)) / 2;
            const int key = 2 * ((2 * ks + r) % 4);  // b_key(kp): kp = 8 ks + quad + 4 r
            bf[r] = load_smem_word(b + kp * kBPitch16 + (n ^ key));
          }
          DSCONV_UNROLL
          for (int mt = 0; mt < MT; ++mt) mma_m16n8k16<T>(acc[mt][nt], af[mt], bf, acc[mt][nt]);
        }
      }
    }
  };

  // --- the K loop ----------------------------------------------------------------------------------------
  const auto k_loop = [&]() {
    if constexpr (kAsync) {
      // Chunk i is copied into stage i % kStages, kStages - 1 chunks ahead of its products. The barrier
      // after each wait both publishes chunk i's copies and tells every warp that the stage the next issue
      // overwrites (the previous chunk's) is no longer read.
      int kb_next = kb_first, issued = 0;
      DSCONV_UNROLL
      for (int s = 0; s < kStages - 1; ++s) {
        if (kb_next < kb_end) {
          issue_async(kb_next, s);
          kb_next = next_chunk(kb_next);
          ++issued;
        }
        cp_async_commit();
      }
      for (int i = 0; i < issued; ++i) {
        cp_async_wait<kStages - 2>();
        __syncthreads();
        if (kb_next < kb_end) {
          issue_async(kb_next, issued % kStages);
          kb_next = next_chunk(kb_next);
          ++issued;
        }
        cp_async_commit();
        compute(kResident ? i : i % kStages, i % kStages);
      }
      cp_async_wait<0>();  // only empty groups are left
      __syncthreads();     // every warp's last products are read before the epilogue reuses the stages
    } else {
      int kb = kb_first;
      if (kb < kb_end) {
        load_a(kb);
        load_b(kb);
        store_stage(0);
      }
      __syncthreads();
      int buf = 0;
      while (kb < kb_end) {
        const int next = next_chunk(kb);
        const bool more = next < kb_end;
        if (more) {  // in flight during the products
          load_a(next);
          load_b(next);
        }
        compute(buf, buf);
        if (more) store_stage(buf ^ 1);
        __syncthreads();
        buf ^= 1;
        kb = next;
      }
    }
  };

  // --- epilogue, 64 columns at a time: results to shared memory, then bias, residual, activation, store ---
  const auto epilogue = [&]() {
    DSCONV_UNROLL
    for (int half = 0; half < BN / Tile::kOutCols; ++half) {
      const int c0 = n0 + half * Tile::kOutCols;  // the output channel of staged column 0
      if (half > 0) __syncthreads();              // the previous columns' epilogue is done with s_out
      if constexpr (kFma) {
        DSCONV_UNROLL
        for (int i = 0; i < 4; ++i) {
          float* const row = s_out + (tm + 16 * i) * Tile::kOutPitch;
          store_smem4(row + 4 * tn, acc[i][0][0], acc[i][1][0], acc[i][2][0], acc[i][3][0]);
          store_smem4(row + 32 + 4 * tn, acc[i][4][0], acc[i][5][0], acc[i][6][0], acc[i][7][0]);
        }
      } else {
        constexpr int kWarpCols = BN / WN;
        if ((kWarpCols * wn) / Tile::kOutCols == half) {
          DSCONV_UNROLL
          for (int mt = 0; mt < MT; ++mt) {
            DSCONV_UNROLL
            for (int nt = 0; nt < NT8; ++nt) {
              DSCONV_UNROLL
              for (int h = 0; h < 2; ++h) {
                const int row = (BM / WM) * wm + 16 * mt + mma_c_row(lane, 2 * h);
                const int col = (kWarpCols * wn) % Tile::kOutCols + 8 * nt + mma_c_col(lane, 2 * h);
                const int at = kNchw ? nchw_out_col(row, col) : col;  // col is even: at ^ 1 is its pair
                const float lo = acc[mt][nt][2 * h], hi = acc[mt][nt][2 * h + 1];
                store_aligned(s_out + row * Tile::kOutPitch + (at & ~1),
                              at & 1 ? make_float2(hi, lo) : make_float2(lo, hi));
              }
            }
          }
        }
      }
      __syncthreads();

      if (slice >= 0) {
        // A slice of a split tile: its f32 sums to the workspace, row-major [BM][BN], for split_fixup_kernel.
        float* const part = p.partial + (tail * p.split + slice) * (BM * BN) + half * Tile::kOutCols;
        for (int idx = tid; idx < BM * (Tile::kOutCols / 4); idx += NT) {
          const int m = idx / (Tile::kOutCols / 4), q = 4 * (idx % (Tile::kOutCols / 4));
          const float* const row = s_out + m * Tile::kOutPitch;
          float4 v;
          if constexpr (kNchw && !kFma) {
            v = make_float4(row[nchw_out_col(m, q)], row[nchw_out_col(m, q + 1)], row[nchw_out_col(m, q + 2)],
                            row[nchw_out_col(m, q + 3)]);
          } else {
            v = load_smem4(row + q);
          }
          store_aligned(part + m * BN + q, v);
        }
        continue;
      }

      if constexpr (!kNchw) {
        // A pixel's channels are contiguous: one 16-byte vector of kVec channels per step.
        constexpr int kVecs = Tile::kOutCols / kVec;
        for (int idx = tid; idx < BM * kVecs; idx += NT) {
          const int m = idx / kVecs, v_idx = idx % kVecs, o = c0 + v_idx * kVec;
          const int64_t gm = m0 + m;
          if (gm >= m_total || o >= O) continue;
          const int64_t at = gm * O + o;
          float v[kVec];
          const float* const src = s_out + m * Tile::kOutPitch + v_idx * kVec;
          if constexpr (kVec == 4) {
            const float4 f = load_smem4(src);
            v[0] = f.x, v[1] = f.y, v[2] = f.z, v[3] = f.w;
          } else {
            // Lanes 4..7 of a quarter-warp read their second float4 first (distinct banks).
            const bool swap = (v_idx / 4) % 2 == 1;
            const float4 fa = load_smem4(src + (swap ? 4 : 0)), fb = load_smem4(src + (swap ? 0 : 4));
            const float4 lo = swap ? fb : fa, hi = swap ? fa : fb;
            v[0] = lo.x, v[1] = lo.y, v[2] = lo.z, v[3] = lo.w, v[4] = hi.x, v[5] = hi.y, v[6] = hi.z, v[7] = hi.w;
          }
          if (bg != nullptr) {
            DSCONV_UNROLL
            for (int e = 0; e < kVec; ++e) v[e] += o + e < O ? to_float(bg[o + e]) : 0.f;
          }
          if (rg != nullptr) {
            if (p.vec_res) {
              float r[kVec];
              unpack16<T>(load_raw16(rg + at), r);
              DSCONV_UNROLL
              for (int e = 0; e < kVec; ++e) v[e] += r[e];
            } else {
              DSCONV_UNROLL
              for (int e = 0; e < kVec; ++e) v[e] += o + e < O ? to_float(rg[at + e]) : 0.f;
            }
          }
          DSCONV_UNROLL
          for (int e = 0; e < kVec; ++e) v[e] = activate(v[e], p.act);
          if (p.vec_out) {
            store16<T>(yg + at, v);  // one 16-byte store: each sector once
          } else {
            DSCONV_UNROLL
            for (int e = 0; e < kVec; ++e)
              if (o + e < O) yg[at + e] = from_float<T>(v[e]);
          }
        }
      } else {
        // A channel's pixels are contiguous (within an image): threads walk pixels.
        for (int idx = tid; idx < BM * Tile::kOutCols; idx += NT) {
          const int m = idx % BM, col = idx / BM, o = c0 + col;
          const int64_t gm = m0 + m;
          if (gm >= m_total || o >= O) continue;
          const int64_t img = gm / OHW;
          const int64_t at = (img * O + o) * OHW + (gm - img * OHW);
          float v = s_out[m * Tile::kOutPitch + (kFma ? col : nchw_out_col(m, col))];
          if (bg != nullptr) v += to_float(bg[o]);
          if (rg != nullptr) v += to_float(rg[at]);
          yg[at] = from_float<T>(activate(v, p.act));
        }
      }
    }
  };

  if constexpr (kResident) {
    // The block's contiguous range of the (row tile, column tile) pairs, row-major: A (every mid channel's
    // depthwise values of the row tile's pixels) is made once per row tile the range enters, chunk by
    // chunk into its own buffer (a barrier per chunk keeps the warps' input reads, and the halo rows they
    // share, within one chunk's footprint), then multiplied by each of the row tile's column tiles.
    const int64_t pairs = p.m_tiles * p.n_tiles, blocks = gridDim.x;
    const int64_t first = blockIdx.x * pairs / blocks, end = (blockIdx.x + 1) * pairs / blocks;
    int64_t a_rows = -1;
    for (int64_t t = first; t < end; ++t) {
      const int64_t row_tile = t / p.n_tiles;
      set_cols(t - row_tile * p.n_tiles);
      if (row_tile != a_rows) {
        set_rows(row_tile);
        for (int kb = 0; kb < k_chunks; ++kb) {
          load_a(kb);
          store_stage(kb);
          __syncthreads();
        }
        a_rows = row_tile;
      }
      clear_acc();
      k_loop();
      epilogue();
      __syncthreads();  // the epilogue's reads of the results are done before the next tile's copies of B
    }
  } else {
    clear_acc();
    k_loop();
    epilogue();
  }
}

// The split tail's second launch: for each tail tile, the sum of its slices' f32 partials in slice order,
// then the epilogue the whole tiles apply (bias, residual, activation, storage type). A thread takes 4
// adjacent columns of one row (16-byte partial reads along a row, coalesced); NHWC stores them as one
// 4-element vector where O and the pointer allow, NCHW element by element. The tail is at most one wave
// of tiles, so its outputs are a small share of the layer's.
template <class T, bool kNchw>
__global__ void __launch_bounds__(kFixupThreads) split_fixup_kernel(GemmParams p) {
  const int bm = p.tile_bm, bn = p.tile_bn, quads = bn / 4;
  const int64_t per_tile = static_cast<int64_t>(bm) * quads;
  const int64_t idx = static_cast<int64_t>(blockIdx.x) * kFixupThreads + threadIdx.x;
  const int64_t tail = idx / per_tile;
  const int64_t tail_tiles = (p.m_tiles * p.n_tiles - p.dp_tiles);
  if (tail >= tail_tiles) return;
  const int rem = static_cast<int>(idx - tail * per_tile), m = rem / quads, q = 4 * (rem % quads);
  const int64_t tile = p.dp_tiles + tail;
  const int64_t gm = (tile / p.n_tiles) * bm + m, m_total = p.n * p.oh * p.ow;
  const int o = static_cast<int>(tile % p.n_tiles) * bn + q, O = static_cast<int>(p.o);
  if (gm >= m_total || o >= O) return;
  float v[4] = {0.f, 0.f, 0.f, 0.f};
  const float* part = p.partial + tail * p.split * (static_cast<int64_t>(bm) * bn) + static_cast<int64_t>(m) * bn + q;
  for (int s = 0; s < p.split; ++s, part += static_cast<int64_t>(bm) * bn) {
    const float4 f = load_aligned<float4>(part);
    v[0] += f.x, v[1] += f.y, v[2] += f.z, v[3] += f.w;
  }
  const T* const bg = static_cast<const T*>(p.bias);
  const T* const rg = static_cast<const T*>(p.residual);  // may be y itself: each element read before written
  T* const yg = static_cast<T*>(p.y);
  const int64_t ohw = p.oh * p.ow, img = gm / ohw, pix = gm - img * ohw;
  const auto at = [&](int e) { return kNchw ? (img * O + o + e) * ohw + pix : gm * O + o + e; };
  const int n = O - o < 4 ? O - o : 4;
  DSCONV_UNROLL
  for (int e = 0; e < 4; ++e) {
    if (e < n) {
      if (bg != nullptr) v[e] += to_float(bg[o + e]);
      if (rg != nullptr) v[e] += to_float(rg[at(e)]);
      v[e] = activate(v[e], p.act);
    }
  }
  if (!kNchw && p.vec_out && n == 4) {
    store_quad<T>(yg + at(0), v);
  } else {
    DSCONV_UNROLL
    for (int e = 0; e < 4; ++e)
      if (e < n) yg[at(e)] = from_float<T>(v[e]);
  }
}

// The kernel of tile kT in layout nchw (cp.async tiles: NHWC only, else null).
template <class T, Producer kProd, const Tile& kT>
KernelFn instantiation(bool nchw) {
  constexpr Tile t = kT;
  if constexpr (t.stages > 2 && !t.resident) {
    return nchw ? nullptr : &implicit_gemm_kernel<T, false, kProd, t.bm, t.bn, t.threads, t.stages, t.tf32, false>;
  } else {
    return nchw ? &implicit_gemm_kernel<T, true, kProd, t.bm, t.bn, t.threads, t.stages, t.tf32, t.resident>
                : &implicit_gemm_kernel<T, false, kProd, t.bm, t.bn, t.threads, t.stages, t.tf32, t.resident>;
  }
}

// The instantiation of `kProd` for `k`, after checking the launch against its tile.
template <Producer kProd>
Result<KernelFn> resolve_implicit_gemm(const KernelChoice& k, const LaunchConfig& cfg) {
  const Tile& t = k.tile;
  if (cfg.block != t.threads || cfg.smem_bytes != t.launch_smem_bytes(k.dtype == DType::kF32, k.k_chunks) ||
      k.producer != kProd)
    return Status(StatusCode::kInternalError, "implicit gemm: launch disagrees with the tile");
  const auto pick = [&](auto type_tag) -> KernelFn {
    using T = typename decltype(type_tag)::type;
    if constexpr (std::is_same<T, float>::value) {
      if (t == kTileF32) return instantiation<T, kProd, kTileF32>(k.nchw);
      if (t == kTileTf32) return instantiation<T, kProd, kTileTf32>(k.nchw);
    } else {
      if (t == kTileNarrow) return instantiation<T, kProd, kTileNarrow>(k.nchw);
      if (t == kTileTall) return instantiation<T, kProd, kTileTall>(k.nchw);
      if (t == kTileWide) return instantiation<T, kProd, kTileWide>(k.nchw);
      if constexpr (kProd == Producer::kGather) {  // cp.async staging: conv2d only
        if (t == kTileAsync) return instantiation<T, kProd, kTileAsync>(k.nchw);
        if (t == kTileAsyncShort) return instantiation<T, kProd, kTileAsyncShort>(k.nchw);
      } else {  // 256 columns: the fused separable kernel only
        if (t == kTileWideOut) return instantiation<T, kProd, kTileWideOut>(k.nchw);
        if (t == kTileResident) return instantiation<T, kProd, kTileResident>(k.nchw);
        if (t == kTileResidentTall) return instantiation<T, kProd, kTileResidentTall>(k.nchw);
      }
    }
    return nullptr;
  };
  const KernelFn fn = k.dtype == DType::kF16    ? pick(TypeTag<__half>{})
                      : k.dtype == DType::kBF16 ? pick(TypeTag<__nv_bfloat16>{})
                                                : pick(TypeTag<float>{});
  if (fn == nullptr) return Status(StatusCode::kInternalError, "implicit gemm: no instantiation of that tile");
  return fn;
}

}  // namespace dsconv::cuda::gemm
