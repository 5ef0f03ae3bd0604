// NCHW rows kernels: square filters K = 3/5/7 and equal strides S = 1/2 as template constants
// (DSCONV_DW_NCHW_ROWS_SPECIALIZATIONS), any dilation whose row classes fit a block (offers.cpp), any
// multiplier and padding.
//
// A block of 128 threads covers DwParams::tz planes (n, output channel) x a band of geo.tile_h output rows
// x the whole output width. Threads are groups of tx lanes, one group per (plane, strip): lane x owns the
// lane slots x, x + tx, ... of a row and the group's strip kRegH output rows spaced dh apart (strip s is row
// class s % dh, block s / dh of the band), so a warp's shared-memory reads are consecutive words of one
// staged row, and each staged row a thread reads feeds every output row and filter row that uses it. A slot
// is one output column, or two (the pairs kernels, 16-bit data: at stride 1 on outputs more than 16 wide,
// nchw_rows_cols, and on narrower outputs where offers.cpp finds their reads cheaper):
// - two columns dw apart (stride 1), which share K - 1 of their K staged columns: K + 1 reads for 2K products;
// - two adjacent columns (dw 1, kWords; stride 1 or 2), whose K + S staged columns are read as the 32-bit words
//   that hold them (read_span_words): 4 reads for 10 products at 5x5, and the pair goes out as one 32-bit store
//   where aligned.
// Or four adjacent columns (quads, dw 2, kWords; stride 1, 3x3 and 5x5, 4 rows a thread): columns x and x + 2, x + 1
// and x + 3, each a pair 2 apart, read their 2K + 2 staged columns as words (7 reads for 20 products at 5x5) and go
// out as two 32-bit stores a row.
// With DwParams::warp_planes, the planes a warp holds are taken tz / warp_planes apart within the block, so that
// they share their 16-byte lead and the plane pitch keeps their reads out of each other's banks.
//
// Staging: the band's input rows of a plane are contiguous in memory, so a plane's region is one run of
// 16-byte copies (cp.async on sm_80 and later, all in flight at once, with the filter taps loaded beside
// them), placed at the same offset within a 16-byte vector as in global memory; the run's partial first
// and last vectors are copied element by element, and the rows that lie in the padding are zeroed. A view
// whose input is not 16-byte aligned, or a device without cp.async, stages element by element (kStageBatch
// loads in flight). 16-bit data stays 16-bit in shared memory; taps are staged as f32.
// Columns that fall in the padding are masked per lane and tap.
#include "cuda/common/async_copy.cuh"
#include "cuda/common/static_switch.hpp"
#include "cuda/depthwise/device_ops.cuh"

namespace dsconv::cuda::dw {
namespace {

// a mod b in [0, b) for any sign of a (b > 0).
__device__ __forceinline__ int pos_mod(int64_t a, int b) {
  const int r = static_cast<int>(a % b);
  return r < 0 ? r + b : r;
}

// The kSpan staged 16-bit elements from element e of s_in (e may be negative) as floats, masked by `inside`: read as
// the kSpan / 2 + 1 words that hold them (an even span from an even e needs one fewer: not read, unless kRot, where
// each lane would skip a different step; the word lies within the block's shared memory, which the taps end), each
// pair of elements funnel-shifted out of two words by e's parity. A word wholly before s_in
// (the left padding of a block's first plane) reads word 0 instead: its columns are masked. The n words are read in the
// order rot, rot + 1, ... (mod n) and rotated back in registers: with DwParams::rotate_reads, rot = -(the span's first
// word within its group) mod n, so that at each step the lanes of a group, whose spans start stride words apart, read
// words n apart, a few distinct words a request (without, they read a run of consecutive words: tx runs of a warp's
// groups of planes whose leads differ seldom keep out of each other's banks).
template <class T, int kSpan, bool kRot>
__device__ __forceinline__ void read_span_words(const T* s_in, int e, int rot, const bool (&inside)[kSpan],
                                                float (&xv)[kSpan]) {
  static_assert(sizeof(T) == 2, "words of two 16-bit elements");
  constexpr int n = nchw_rows_span_words(kSpan);  // words read
  const int wi = e >> 1;                          // floor: e's word
  const unsigned sel = (e & 1) != 0 ? 0x5432u : 0x3210u;
  unsigned wv[n];
  DSCONV_UNROLL
  for (int i = 0; i < n; ++i) {
    const int k = i + rot < n ? i + rot : i + rot - n;  // the word this step reads
    wv[i] = !kRot && kSpan % 2 == 0 && k == n - 1 && (e & 1) == 0 ? 0u : load_smem_word(s_in + 2 * max(wi + k, 0));
  }
  // Step i holds word (i + rot) mod n: rotate by rot, one power of two at a time.
  DSCONV_UNROLL
  for (int b = 1; b < n; b *= 2) {
    const bool on = (rot & b) != 0;
    unsigned t[n];
    DSCONV_UNROLL
    for (int k = 0; k < n; ++k) t[k] = on ? wv[(k + n - b) % n] : wv[k];
    DSCONV_UNROLL
    for (int k = 0; k < n; ++k) wv[k] = t[k];
  }
  DSCONV_UNROLL
  for (int i = 0; i < (kSpan + 1) / 2; ++i) {
    const float2 f = widen_word(__byte_perm(wv[i], wv[min(i + 1, n - 1)], sel), s_in);
    xv[2 * i] = inside[2 * i] ? f.x : 0.f;
    if (2 * i + 1 < kSpan) xv[2 * i + 1] = inside[2 * i + 1] ? f.y : 0.f;
  }
}

// v at `at`, and where `two` v1 at at + 1: one 32-bit store where `at` is 4-byte aligned (adjacent pairs).
template <class T>
__device__ __forceinline__ void store_adjacent(T* at, float v, float v1, bool two) {
  if (two && (reinterpret_cast<uintptr_t>(at) & 3) == 0) return store_pair(at, v, v1);
  if (two) at[1] = from_float<T>(v1);
  at[0] = from_float<T>(v);
}

// kCols: output columns a lane slot owns (1, 2: pairs, 4: quads, KernelChoice::cols), kWords: adjacent columns
// read by words (read_span_words; pairs at dilation_w 1, quads at dilation_w 2), kRot: those words read rotated
// (DwParams::rotate_reads; 3x3 and 5x5, nchw_rows_rotates). The minimum of blocks per SM, which caps the
// registers, is nchw_rows_min_blocks.
template <class T, int K, int S, int kCols, bool kWords, bool kRot>
__global__ void __launch_bounds__(NchwRowsTraits<K, S>::kThreads, nchw_rows_min_blocks(K, kWords, kRot, kCols))
    dw_fwd_nchw_rows_kernel(DwParams p) {
  using Tr = NchwRowsTraits<K, S>;
  static_assert(kCols == 1 || kCols == 2 || (kCols == 4 && kWords && S == 1), "a slot of 1, 2 or 4 columns");
  constexpr int R = nchw_rows_reg_h(S, kCols), kIn = nchw_rows_in_rows(R, S, K), kThreads = Tr::kThreads;
  constexpr int V = 16 / static_cast<int>(sizeof(T));  // elements per 16-byte vector
  // Staged columns a lane slot reads per row: unit-spaced where read by words (a quad's taps 2 apart), else
  // dilation_w apart.
  constexpr int kTapStep = kCols == 4 ? 2 : 1;  // staged columns between a column's taps
  constexpr int kSpan = nchw_rows_span(K, S, kCols);
  constexpr bool kStagedOut = K == 3 || (K == 5 && kWords);  // the kernels with the vec_out path (offers.cpp)
  DSCONV_DYNAMIC_SMEM(float, smem);
  const int P = p.tz, strips = p.ty, TX = p.tx;
  const int pitch = p.geo.region_pitch;  // elements of T between planes' regions, a multiple of V
  T* const s_in = reinterpret_cast<T*>(smem);
  float* const s_w = reinterpret_cast<float*>(reinterpret_cast<unsigned char*>(smem) +
                                              static_cast<size_t>(P) * static_cast<size_t>(pitch) * sizeof(T));

  // Bounds proven on the host (offers.cpp): H*W, OH*OW, N*C*M and the filter size below 2^31, the tile count at
  // most 2^30.
  const int H = static_cast<int>(p.h), W = static_cast<int>(p.w), C = static_cast<int>(p.c);
  const int M = static_cast<int>(p.m), CM = static_cast<int>(p.cm);
  const int OH = static_cast<int>(p.oh), OW = static_cast<int>(p.ow);
  const int DH = static_cast<int>(p.dh), DW = static_cast<int>(p.dw);
  const int PT = static_cast<int>(p.pad_top), PL = static_cast<int>(p.pad_left);
  const int planes_total = static_cast<int>(p.n * p.cm);
  const int bands = static_cast<int>(p.tiles_h);
  const int total = static_cast<int>(p.groups * p.tiles_h);
  const int band_h = p.geo.tile_h;
  const int tap_stride = static_cast<int>(p.w_tap_stride), oc_stride = static_cast<int>(p.w_oc_stride);
  const T* __restrict__ const xg = static_cast<const T*>(p.x);
  const T* __restrict__ const wg = static_cast<const T*>(p.filter);
  const T* __restrict__ const bg = static_cast<const T*>(p.bias);
  T* const yg = static_cast<T*>(p.y);  // not __restrict__: the residual may be y itself

  const int tid = static_cast<int>(threadIdx.x);
  const int lane_x = tid % TX;
  const int group = tid / TX;
  const int strip = group % strips;
  // This thread's plane within the block (>= P: staging only): its group's slot, or with warp_planes, the slot's
  // place among the planes of its warp, those planes tz / warp_planes apart.
  const int zslot = group / strips, WP = p.warp_planes;
  const int zt = WP > 0 && zslot < P ? (zslot % WP) * (P / WP) + zslot / WP : zslot;
  const int strip_row = strip % DH + DH * R * (strip / DH);  // first output row of the strip within the band

  // The input plane of output plane q (n, oc), and where plane q's region starts within its 16-byte vector.
  const auto input_plane = [&](int q) {
    const int n = q / CM, oc = q - n * CM;
    return static_cast<int64_t>(n) * C + oc / M;
  };

  for (int tile = static_cast<int>(blockIdx.x); tile < total; tile += static_cast<int>(gridDim.x)) {
    const int band = tile % bands, pgroup = tile / bands;
    const int oy0 = band * band_h;
    const int oy_end = min(oy0 + band_h, OH);
    const int r_lo = oy0 * S - PT;                           // first staged input row (may be padding)
    const int r_hi = (oy_end - 1) * S + (K - 1) * DH - PT;   // last
    const int v_lo = max(r_lo, 0), v_hi = min(r_hi, H - 1);  // the rows inside the input
    const int valid = v_hi >= v_lo ? (v_hi - v_lo + 1) * W : 0;
    const int top = (v_hi >= v_lo ? v_lo - r_lo : r_hi - r_lo + 1) * W;  // zeroed elements above, and below:
    const int bottom = v_hi >= v_lo ? (r_hi - v_hi) * W : 0;
    const int q0 = pgroup * P;
    const int planes = min(P, planes_total - q0);

    __syncthreads();  // the previous tile's readers are done with shared memory
    // Staged element (iy, ix) of block plane z lies at z * pitch + lead(z) + (iy - r_lo) * W + ix.
    const auto lead = [&](const int64_t plane_off) { return pos_mod(plane_off + static_cast<int64_t>(r_lo) * W, V); };
    const bool async = p.vec_in && p.async_in;
    if (async) {
      // Per plane, the whole 16-byte vectors of [v_lo * W, (v_hi + 1) * W) at their global alignment by cp.async,
      // then the elements of its partial first and last vector, one a lane (neighbouring lanes, neighbouring
      // elements).
      const int vecs = valid / V + 1;  // an upper bound on the whole vectors of a plane's run
      const int g0 = v_lo * W, g1 = g0 + valid;
      for (int i = tid; i < planes * vecs; i += kThreads) {
        const int z = i / vecs, k = i - z * vecs;
        const int64_t plane_off = input_plane(q0 + z) * (static_cast<int64_t>(H) * W);
        const int first = g0 + (V - pos_mod(plane_off + g0, V)) % V;  // the first whole vector
        const int lo = first + k * V;
        if (lo + V > g1) continue;
        cp_async16(s_in + z * pitch + lead(plane_off) + (lo - r_lo * W), xg + plane_off + lo, true);
      }
      // Every load of the thread first, then the stores: one round trip, beside the copies.
      constexpr int kPartials = (Tr::kMaxPlanes * 2 * V + kThreads - 1) / kThreads;
      T vals[kPartials];
      int dst[kPartials];
      DSCONV_UNROLL
      for (int j = 0; j < kPartials; ++j) {
        const int i = tid + j * kThreads;
        const int z = i / (2 * V), e = i - z * (2 * V);
        dst[j] = -1;
        if (z >= planes) continue;
        const int64_t plane_off = input_plane(q0 + z) * (static_cast<int64_t>(H) * W);
        const int first = g0 + (V - pos_mod(plane_off + g0, V)) % V;
        const int last = max(first, g1 - pos_mod(plane_off + g1, V));  // the end of the whole vectors
        // Elements [g0, first) before the whole vectors, [last, g1) after them.
        const int at = e < V ? g0 + e : last + (e - V);
        if (e < V ? at < min(first, g1) : at < g1) {
          vals[j] = xg[plane_off + at];
          dst[j] = z * pitch + lead(plane_off) + (at - r_lo * W);
        }
      }
      DSCONV_UNROLL
      for (int j = 0; j < kPartials; ++j) {
        if (dst[j] >= 0) s_in[dst[j]] = vals[j];
      }
      cp_async_commit();
    } else {
      for (int base = tid; base < planes * valid; base += kStageBatch * kThreads) {
        T vals[kStageBatch];
        DSCONV_UNROLL
        for (int j = 0; j < kStageBatch; ++j) {
          const int i = base + j * kThreads;
          const int z = i / max(valid, 1), e = i - z * valid;
          vals[j] = i < planes * valid ? xg[input_plane(q0 + z) * (static_cast<int64_t>(H) * W) + v_lo * W + e]
                                       : from_float<T>(0.f);
        }
        DSCONV_UNROLL
        for (int j = 0; j < kStageBatch; ++j) {
          const int i = base + j * kThreads;
          if (i < planes * valid) {
            const int z = i / valid, e = i - z * valid;
            const int64_t plane_off = input_plane(q0 + z) * (static_cast<int64_t>(H) * W);
            s_in[z * pitch + lead(plane_off) + (v_lo - r_lo) * W + e] = vals[j];
          }
        }
      }
    }
    // The rows in the padding read zeros: a plane's run of `top` elements at its region's start, and of `bottom`
    // after its rows inside the input. 16-bit data by the aligned 32-bit words within a run (a run's odd first or
    // last element alone): the word slots a run of n elements touches are at most n / 2 + 1.
    if (top + bottom > 0) {
      constexpr int kPer = sizeof(T) == 2 ? 2 : 1;  // elements a store item covers
      const int top_items = top > 0 ? top / kPer + kPer - 1 : 0,
                bottom_items = bottom > 0 ? bottom / kPer + kPer - 1 : 0;
      const int items = top_items + bottom_items;
      for (int i = tid; i < planes * items; i += kThreads) {
        const int z = i / items, k = i - z * items;
        const int64_t plane_off = input_plane(q0 + z) * (static_cast<int64_t>(H) * W);
        const bool in_top = k < top_items;
        const int s0 = z * pitch + lead(plane_off) + (in_top ? 0 : (v_hi + 1 - r_lo) * W);  // the run's first element
        const int n = in_top ? top : bottom;
        if constexpr (kPer == 2) {
          const int e0 = (s0 & ~1) + 2 * (in_top ? k : k - top_items);  // the item's word: elements e0, e0 + 1
          const bool lo = e0 >= s0 && e0 < s0 + n, hi = e0 + 1 >= s0 && e0 + 1 < s0 + n;
          if (lo && hi) {
            store_aligned(s_in + e0, 0u);
          } else if (lo || hi) {
            s_in[lo ? e0 : e0 + 1] = from_float<T>(0.f);
          }
        } else {
          s_in[s0 + (in_top ? k : k - top_items)] = from_float<T>(0.f);
        }
      }
    }
    // The planes' taps: every load of the thread first, then the stores. Neighbouring lanes take neighbouring
    // elements of the filter: the planes of one tap where output channels are contiguous (TF), else the taps of
    // one plane (OIHW). Tap t of block plane z lies at z * tap_pitch + t: K * K, or where a warp stores two taps of 16
    // planes (TF, kMaxPlanes planes), Tr::kTapPitch (even), so that those stores meet in no bank.
    constexpr int KK = K * K;
    const bool oc_fastest = oc_stride == 1;
    const int tap_pitch = oc_fastest && P == Tr::kMaxPlanes ? Tr::kTapPitch : KK;
    const auto tap_item = [&](int i, int* z, int* tap) {
      *z = oc_fastest ? i % P : i / KK;
      *tap = oc_fastest ? i / P : i - *z * KK;
    };
    float taps[Tr::kTapItems];
    DSCONV_UNROLL
    for (int j = 0; j < Tr::kTapItems; ++j) {
      int z, tap;
      tap_item(tid + j * kThreads, &z, &tap);
      taps[j] = z < planes && tap < KK ? to_float(wg[tap * tap_stride + ((q0 + z) % CM) * oc_stride]) : 0.f;
    }
    if (async) cp_async_wait<0>();
    DSCONV_UNROLL
    for (int j = 0; j < Tr::kTapItems; ++j) {
      int z, tap;
      tap_item(tid + j * kThreads, &z, &tap);
      if (z < P && tap < KK) s_w[z * tap_pitch + tap] = taps[j];
    }
    __syncthreads();

    const int oyb = oy0 + strip_row;  // the strip's first output row
    const bool active = zt < planes && oyb < oy_end;
    const int zc = min(zt, planes - 1);  // an inactive thread's plane: any staged one (nothing it computes is kept)
    const int q = q0 + zc;
    float w[KK];
    DSCONV_UNROLL
    for (int t = 0; t < KK; ++t) w[t] = active ? s_w[zc * tap_pitch + t] : 0.f;
    const int64_t plane_off = input_plane(q) * (static_cast<int64_t>(H) * W);
    // Staged row of input row j of the strip: strip_row * S + DH * j, clamped to the band's last staged row (a
    // row past it feeds only outputs past the map, which are not stored).
    const int plane_at = zc * pitch + lead(plane_off);  // the plane's staged element (r_lo, 0) within s_in
    const T* const s_plane = s_in + plane_at;
    const int last_row = r_hi - r_lo;
    const float b = bg != nullptr ? to_float(bg[q % CM]) : 0.f;
    const int64_t out_plane = static_cast<int64_t>(q) * (OH * OW);
    T* const yp = yg + out_plane;
    const T* const rp = p.residual != nullptr ? static_cast<const T*>(p.residual) + out_plane : nullptr;

    // Lane slot u of a row owns kCols output columns: u itself, or (16-bit data at stride 1) the pair base(u) and
    // base(u) + DW, pairs taken DW apart so that both columns of a pair read the same K + 1 staged columns, or
    // (quads, DW == 2) the four adjacent columns from 4u: (4u, 4u + 2) and (4u + 1, 4u + 3) each such a pair.
    // emit(c, r, ox, oy, v, v1, two) takes each output of the slot in the map, after bias, residual and activation:
    // v at column ox (the slot's column c) of row oy (its row r), and with kWords v1 at ox + 1 (column c + 1) where
    // `two`.
    // kWords (adjacent columns): a row's kSpan staged columns are read as the 32-bit words that hold them,
    // kSpan / 2 + 1 reads instead of kSpan, and funnel-shifted by the span's parity; a word wholly
    // before s_in (left padding of the block's first plane) reads word 0 instead, and every column in the padding
    // is masked. The last word may lie past the plane's region, within the block's shared memory (the taps follow
    // the regions).
    const auto slot_base = [&](int u) { return static_cast<int>(nchw_rows_slot_base(kCols, DW, u)); };
    const auto run_slot = [&](int u, const auto& emit) {
      const int base = slot_base(u);
      // Staged column v (v < kSpan) is input column base * S - PL + v (kWords) or + v * DW; one in the padding
      // reads column 0 instead, and is masked.
      const int ix0 = base * S - PL;
      int col[kSpan];
      bool inside[kSpan];
      DSCONV_UNROLL
      for (int v = 0; v < kSpan; ++v) {
        const int ix = ix0 + v * (kWords ? 1 : DW);
        inside[v] = static_cast<unsigned>(ix) < static_cast<unsigned>(W);
        col[v] = inside[v] ? ix : 0;
      }
      float acc[kCols][R];
      DSCONV_UNROLL
      for (int c = 0; c < kCols; ++c) {
        DSCONV_UNROLL
        for (int r = 0; r < R; ++r) acc[c][r] = 0.f;
      }
      DSCONV_UNROLL
      for (int j = 0; j < kIn; ++j) {
        const int row_at = min(strip_row * S + DH * j, last_row) * W;
        float xv[kSpan];
        if constexpr (kWords) {
          // Rotated: the words rot, rot + 1, ... of the span, rot = -(its first word within the group, base * S / 2).
          constexpr int n = nchw_rows_span_words(kSpan);
          const int rot = kRot ? (n - base * S / 2 % n) % n : 0;
          read_span_words<T, kSpan, kRot>(s_in, plane_at + row_at + ix0, rot, inside, xv);
        } else {
          const T* const row = s_plane + row_at;
          DSCONV_UNROLL
          for (int v = 0; v < kSpan; ++v) {
            const float x = to_float(row[col[v]]);
            xv[v] = inside[v] ? x : 0.f;
          }
        }
        DSCONV_UNROLL
        for (int r = 0; r < R; ++r) {
          const int kr = j - r * S;
          if (kr < 0 || kr >= K) continue;  // resolved at compile time
          DSCONV_UNROLL
          for (int c = 0; c < kCols; ++c) {
            DSCONV_UNROLL
            for (int kc = 0; kc < K; ++kc) acc[c][r] = fmaf(xv[c * S + kc * kTapStep], w[kr * K + kc], acc[c][r]);
          }
        }
      }
      // The residual may be y itself: each element is read before any thread of the block writes it.
      if constexpr (kWords) {
        // Adjacent columns two at a time (emit's `two`: the second, column ox + 1, is inside the map).
        DSCONV_UNROLL
        for (int c = 0; c < kCols; c += 2) {
          const int ox = base + c;
          const bool two = ox + 1 < OW;
          DSCONV_UNROLL
          for (int r = 0; r < R; ++r) {
            const int oy = oyb + DH * r;
            if (ox >= OW || oy >= oy_end) continue;
            float v0 = acc[c][r] + b, v1 = acc[c + 1][r] + b;
            if (rp != nullptr) {
              v0 += to_float(rp[oy * OW + ox]);
              if (two) v1 += to_float(rp[oy * OW + ox + 1]);
            }
            emit(c, r, ox, oy, activate(v0, p.act), activate(v1, p.act), two);
          }
        }
      } else {
        DSCONV_UNROLL
        for (int c = 0; c < kCols; ++c) {
          const int ox = base + c * DW;
          DSCONV_UNROLL
          for (int r = 0; r < R; ++r) {
            const int oy = oyb + DH * r;
            if (ox >= OW || oy >= oy_end) continue;
            float v = acc[c][r] + b;
            if (rp != nullptr) v += to_float(rp[oy * OW + ox]);
            emit(c, r, ox, oy, activate(v, p.act), 0.f, false);
          }
        }
      }
    };

    // Adjacent columns (kWords) of one slot a lane, out of `out` into plane `yb` (this thread's output plane in y, or
    // in the vec_out staging at y's alignment), every lane of the warp calling.
    const auto store_words = [&](T* const yb, const auto& out, bool computes) {
      // Adjacent columns, y at any alignment: every output goes out in the aligned 32-bit word that holds it,
      // whatever the row's parity (7x7 f16 planes of 49 elements start mid-word every other plane). In a row that
      // starts mid-word, a lane's words are (the previous lane's last column, its first column) by a shuffle, then
      // its columns two at a time from the second. A row's last column that starts a word is stored with the next
      // row's first column where this thread holds that row too (dilation_h 1), else alone, as is a first column
      // left alone: only a plane's first and last elements, a band's edges and rows dilation_h apart take 16-bit
      // stores.
      const int base = kCols * lane_x;
      const int y_odd = static_cast<int>((reinterpret_cast<uintptr_t>(yb) / sizeof(T)) & 1);  // yb starts mid-word
      DSCONV_UNROLL
      for (int r = 0; r < R; ++r) {
        // Every lane of the warp takes part in both shuffles (the residual was read before them).
        const float prev = __shfl_up_sync(0xffffffffu, out[kCols - 1][r], 1, TX);           // column base - 1
        const float next = __shfl_sync(0xffffffffu, out[0][r + 1 < R ? r + 1 : r], 0, TX);  // row oy + 1, column 0
        const int oy = oyb + DH * r;
        if (!computes || oy >= oy_end) continue;
        T* const row = yb + oy * OW;
        const int odd = (y_odd + oy * OW) & 1;                        // the row starts mid-word
        const bool joined = DH == 1 && r + 1 < R && oy + 1 < oy_end;  // this thread holds row oy + 1
        // Word i (i < kCols / 2) starts at column base + 2i - odd. One store instruction a word for every lane: a
        // pair, or one element (column 0 of a row that starts mid-word, unless the previous row's last column took
        // it; a row's last column that starts a word, not joined).
        DSCONV_UNROLL
        for (int i = 0; i < kCols / 2; ++i) {
          const int c0 = base + 2 * i - odd;  // the word's first column
          if (c0 >= OW) continue;
          T* at = row + c0;
          float lo = odd == 0 ? out[2 * i][r] : i == 0 ? prev : out[max(2 * i - 1, 0)][r];
          float hi = out[2 * i + 1 - odd][r];
          bool word = c0 + 1 < OW || joined;
          if (c0 + 1 >= OW) hi = next;
          if (c0 < 0) at = row, lo = hi, word = false;
          if (word) {
            store_pair(at, lo, hi);
          } else if (c0 >= 0 || DH != 1 || r == 0) {
            *at = from_float<T>(lo);
          }
        }
        // A row that starts mid-word and ends at this lane's last column: that column starts a word.
        const int last = base + kCols - 1;
        if (odd != 0 && last == OW - 1) {
          if (joined) {
            store_pair(row + last, out[kCols - 1][r], next);
          } else {
            row[last] = from_float<T>(out[kCols - 1][r]);
          }
        }
      }
    };

    const int slots = static_cast<int>(p.tiles_w);
    // One slot a lane (rows of at most TX <= 32 slots, a row's lanes within a warp): the slot's outputs are kept in
    // registers and stored after every lane of the block (vec_out) or of the warp (adjacent pairs) has them.
    bool one_slot = false;
    if constexpr (kStagedOut) one_slot = p.vec_out;
    if constexpr (kWords) one_slot = one_slot || (TX <= 32 && slots <= TX);
    if (one_slot) {
      float out[kCols][R];
      DSCONV_UNROLL
      for (int c = 0; c < kCols; ++c) {
        DSCONV_UNROLL
        for (int r = 0; r < R; ++r) out[c][r] = 0.f;
      }
      const bool computes = active && lane_x < slots;
      if (computes) {
        run_slot(lane_x, [&](int c, int r, int, int, float v, float v1, bool two) {
          out[c][r] = v;
          if (two) out[c + 1][r] = v1;
        });
      }
      // vec_out (offers.cpp): whole planes, rows narrower than a warp, y 16-byte aligned. The block's outputs are one
      // run of y, [q0 * OH * OW, (q0 + planes) * OH * OW): they go through shared memory (over the staged input, once
      // every thread is done reading it) at their global alignment, and out as whole 16-byte vectors, the partial
      // first and last element by element, instead of a few bytes a plane row.
      bool staged = false;
      if constexpr (kStagedOut) staged = p.vec_out;
      const int64_t g0 = static_cast<int64_t>(q0) * (OH * OW);
      T* const s_out = s_in + pos_mod(g0, V);  // element e of the run, at the global alignment of g0 + e
      if (staged) __syncthreads();             // every thread is done reading the staged input
      if constexpr (kWords) {
        // Adjacent columns by aligned 32-bit words, to y or to s_out (which has y's alignment).
        store_words(staged ? s_out + zt * (OH * OW) : yp, out, computes);
      } else if (staged && computes) {
        const int base = slot_base(lane_x);
        DSCONV_UNROLL
        for (int c = 0; c < kCols; ++c) {
          DSCONV_UNROLL
          for (int r = 0; r < R; ++r) {
            const int ox = base + c * DW, oy = oyb + DH * r;
            if (ox < OW && oy < oy_end) s_out[zt * (OH * OW) + oy * OW + ox] = from_float<T>(out[c][r]);
          }
        }
      }
      if (!staged) continue;
      __syncthreads();
      const int run = planes * (OH * OW);
      const int head = min((V - pos_mod(g0, V)) % V, run);  // elements before the first whole vector
      const int vecs = (run - head) / V;
      for (int i = tid; i < vecs; i += kThreads) {
        const int e = head + i * V;
        store_aligned(yg + g0 + e, load_aligned<uint4>(s_out + e));
      }
      for (int e = tid; e < head; e += kThreads) yg[g0 + e] = s_out[e];
      for (int e = head + vecs * V + tid; e < run; e += kThreads) yg[g0 + e] = s_out[e];
      continue;
    }
    if (!active) continue;
    for (int u = lane_x; u < slots; u += TX) {
      // Adjacent pairs go out as one 32-bit store where aligned (a warp's stores of a row then write each sector once).
      run_slot(u, [&](int, int, int ox, int oy, float v, float v1, bool two) {
        if constexpr (kWords) return store_adjacent(yp + oy * OW + ox, v, v1, two);
        yp[oy * OW + ox] = from_float<T>(v);
      });
    }
  }
}

}  // namespace

Result<KernelFn> resolve_nchw_rows(const KernelChoice& k, const LaunchConfig& cfg, const DwParams& p) {
  return dispatch_dtype(k.dtype, [&](auto type_tag) -> Result<KernelFn> {
    using T = typename decltype(type_tag)::type;
#define DSCONV_DW_CASE(K_, S_)                                                                                       \
  if (k.kernel == (K_) && k.stride == (S_)) {                                                                        \
    using Tr = NchwRowsTraits<K_, S_>;                                                                               \
    if (cfg.block != Tr::kThreads || p.tx * p.ty * p.tz > Tr::kThreads || p.tz > Tr::kMaxPlanes ||                   \
        p.geo.region_pitch % (16 / static_cast<int>(sizeof(T))) != 0 ||                                              \
        p.geo.tile_h != p.ty * nchw_rows_reg_h(S_, k.cols) || p.ty % p.dh != 0 ||                                    \
        cfg.smem_bytes != nchw_rows_smem_bytes(p.tz, p.geo.region_pitch, K_, sizeof(T))) {                           \
      return Status(StatusCode::kInternalError, "depthwise: NCHW rows launch disagrees with its traits");            \
    }                                                                                                                \
    if constexpr (sizeof(T) == 2) {                                                                                  \
      if constexpr (nchw_rows_rotates(K_)) {                                                                         \
        if (k.cols == 2 && p.dw == 1 && p.rotate_reads) return &dw_fwd_nchw_rows_kernel<T, K_, S_, 2, true, true>;   \
      }                                                                                                              \
      if (k.cols == 2 && p.dw == 1 && !p.rotate_reads) return &dw_fwd_nchw_rows_kernel<T, K_, S_, 2, true, false>;   \
      if constexpr ((S_) == 1) {                                                                                     \
        if (k.cols == 2 && p.dw != 1) return &dw_fwd_nchw_rows_kernel<T, K_, S_, 2, false, false>;                   \
      }                                                                                                              \
      if constexpr (nchw_rows_quads_fit(2, K_, S_, 2)) {                                                             \
        if (k.cols == 4 && p.dw == 2 && p.rotate_reads) return &dw_fwd_nchw_rows_kernel<T, K_, S_, 4, true, true>;   \
        if (k.cols == 4 && p.dw == 2 && !p.rotate_reads) return &dw_fwd_nchw_rows_kernel<T, K_, S_, 4, true, false>; \
      }                                                                                                              \
    }                                                                                                                \
    if (k.cols != 1 || p.rotate_reads) {                                                                             \
      return Status(StatusCode::kInternalError,                                                                      \
                    "depthwise: no NCHW rows kernel of " + std::to_string(k.cols) + " columns a slot here");         \
    }                                                                                                                \
    return &dw_fwd_nchw_rows_kernel<T, K_, S_, 1, false, false>;                                                     \
  }
    DSCONV_DW_NCHW_ROWS_SPECIALIZATIONS(DSCONV_DW_CASE)
#undef DSCONV_DW_CASE
    return Status(StatusCode::kInternalError, "depthwise: no NCHW rows kernel for kernel " + std::to_string(k.kernel) +
                                                  " stride " + std::to_string(k.stride));
  });
}

}  // namespace dsconv::cuda::dw
