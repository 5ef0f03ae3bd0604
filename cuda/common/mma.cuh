// Tensor cores for every kernel family: one warp-wide matrix multiply-accumulate, D = A·B + C, with
// m16n8k16 tiles of f16 or bf16 and f32 accumulation (PTX `mma.sync.aligned.m16n8k16.row.col`, sm_80
// and later), behind a wrapper whose emulated branch reproduces the instruction's documented per-lane
// fragment layouts, so that a kernel written against it runs on the CPU emulator unchanged.
//
// Fragments (PTX ISA, "Matrix Fragments for mma.m16n8k16 with floating point type"). For lane L of the
// warp, group = L / 4 and quad = L % 4:
//   A, 16x16 row-major, 8 halves in 4 registers: element e (0..7) of the thread is
//       row = group + 8 * ((e / 2) % 2),  col = 2 * quad + e % 2 + 8 * (e / 4)
//     (registers a[0] = e0,e1  a[1] = e2,e3  a[2] = e4,e5  a[3] = e6,e7; the lower-numbered element in
//     the low 16 bits);
//   B, 16x8 "col" (k-major per column), 4 halves in 2 registers: element e (0..3) is
//       k = 2 * quad + e % 2 + 8 * (e / 2),  n = group;
//   C and D, 16x8 f32, 4 floats: element e (0..3) is
//       row = group + 8 * (e / 2),  col = 2 * quad + e % 2.
// mma_a_row/mma_a_col/mma_b_k/mma_b_n/mma_c_row/mma_c_col below compute exactly these, for kernels that
// stage fragments and for the tests.
//
// Numerics: the products of f16 (or bf16) inputs are exact in f32; the hardware's order and rounding of the
// f32 accumulation are not specified, so results may differ from the emulator's (which adds the 16 products
// to C in k order, in f32) by the f32 rounding of a 17-term sum: tests compare with a tolerance.
#pragma once

#include <cstdint>
#include <cstring>

#include "cuda/common/hd.hpp"
#include "cuda/emu/cuda_compat.hpp"

#if defined(DSCONV_CUDA_EMULATION)
namespace dsconv::emu::model {
// The performance model's counter (cuda/emu/model/counter.cpp), present only in its instrumented build.
void count_mma_flops(uint64_t flops) __attribute__((weak));
}  // namespace dsconv::emu::model
#endif

namespace dsconv::cuda {

// The fragment layouts of m16n8k16 (see the top of this file). lane in 0..31.
DSCONV_HD constexpr int mma_a_row(int lane, int e) { return lane / 4 + 8 * ((e / 2) % 2); }
DSCONV_HD constexpr int mma_a_col(int lane, int e) { return 2 * (lane % 4) + e % 2 + 8 * (e / 4); }
DSCONV_HD constexpr int mma_b_k(int lane, int e) { return 2 * (lane % 4) + e % 2 + 8 * (e / 2); }
DSCONV_HD constexpr int mma_b_n(int lane, int /*e*/) { return lane / 4; }
DSCONV_HD constexpr int mma_c_row(int lane, int e) { return lane / 4 + 8 * (e / 2); }
DSCONV_HD constexpr int mma_c_col(int lane, int e) { return 2 * (lane % 4) + e % 2; }

// Flops of one m16n8k16 (a multiply and an add per product).
constexpr uint64_t kMmaM16N8K16Flops = 2ull * 16 * 8 * 16;

// Two halves (f16 or bf16 bit patterns) in one register, `lo` in the low 16 bits, as the fragments hold them.
DSCONV_HD constexpr uint32_t pack_halves(uint16_t lo, uint16_t hi) {
  return static_cast<uint32_t>(lo) | (static_cast<uint32_t>(hi) << 16);
}

namespace mma_detail {

#if defined(DSCONV_CUDA_EMULATION)
// The emulated instruction: every lane deposits its fragments in a per-warp scratch (function-local
// static shared storage: one per resident block, as blocks run one at a time), the warp synchronizes once,
// and each lane computes its four outputs from the definition. Not instrumented by the performance model
// (its accesses are the emulation's, not the kernel's): the model counts the instruction as MMA flops.
#if defined(__clang__)
#define DSCONV_MMA_NOT_COUNTED __attribute__((no_sanitize("coverage"), noinline))
#else
#define DSCONV_MMA_NOT_COUNTED __attribute__((noinline))
#endif

template <class T>
__device__ __forceinline__ float widen(uint16_t bits) {
  T h;
  std::memcpy(static_cast<void*>(&h), &bits, sizeof bits);
  return static_cast<float>(h);
}

// The calling lane's index in its warp, and the warp's fragments once every lane has deposited its own:
// [lane][0..3] = a, [lane][4..5] = b. The scratch (function-local static shared storage, one per resident
// block) is the warp's until it calls release_fragments.
using WarpFragments = uint32_t[32][6];
DSCONV_MMA_NOT_COUNTED __device__ inline const WarpFragments& gather_fragments(const uint32_t (&a)[4],
                                                                               const uint32_t (&b)[2], int* lane) {
  __shared__ uint32_t frag[32][32][6];  // [warp][lane]
  const int tid = static_cast<int>(threadIdx.x + blockDim.x * (threadIdx.y + blockDim.y * threadIdx.z));
  *lane = tid % 32;
  uint32_t* const mine = frag[tid / 32][*lane];
  mine[0] = a[0], mine[1] = a[1], mine[2] = a[2], mine[3] = a[3], mine[4] = b[0], mine[5] = b[1];
  __syncwarp();
  return frag[tid / 32];
}

// The scratch is free for the warp's next instruction; the model counts the instruction's flops once.
DSCONV_MMA_NOT_COUNTED __device__ inline void release_fragments(int lane, uint64_t flops) {
  __syncwarp();
  if (lane == 0 && dsconv::emu::model::count_mma_flops != nullptr) dsconv::emu::model::count_mma_flops(flops);
}

template <class T>
DSCONV_MMA_NOT_COUNTED __device__ inline void mma_emulated(float (&d)[4], const uint32_t (&a)[4],
                                                           const uint32_t (&b)[2], const float (&c)[4]) {
  int lane = 0;
  const WarpFragments& frag = gather_fragments(a, b, &lane);
  for (int e = 0; e < 4; ++e) {
    const int row = mma_c_row(lane, e), col = mma_c_col(lane, e);
    float acc = c[e];
    // A[row][k] is held by lane 4 * (row % 8) + (k % 8) / 2, element (k % 2) + 2 * (row / 8) + 4 * (k / 8);
    // B[k][col] by lane 4 * col + (k % 8) / 2, element (k % 2) + 2 * (k / 8). Products exact, k order.
    for (int k = 0; k < 16; ++k) {
      const int ea = (k % 2) + 2 * (row / 8) + 4 * (k / 8), eb = (k % 2) + 2 * (k / 8);
      const uint32_t wa = frag[4 * (row % 8) + (k % 8) / 2][ea / 2];
      const uint32_t wb = frag[4 * col + (k % 8) / 2][4 + eb / 2];
      const float x = widen<T>(static_cast<uint16_t>(wa >> (16 * (ea % 2))));
      const float w = widen<T>(static_cast<uint16_t>(wb >> (16 * (eb % 2))));
      acc += x * w;
    }
    d[e] = acc;
  }
  release_fragments(lane, kMmaM16N8K16Flops);
}
#endif

}  // namespace mma_detail

// D = A·B + C for one m16n8k16 tile held by the whole warp (every lane of a full warp calls it, converged).
// T is __half or __nv_bfloat16.
template <class T>
__device__ __forceinline__ void mma_m16n8k16(float (&d)[4], const uint32_t (&a)[4], const uint32_t (&b)[2],
                                             const float (&c)[4]);

template <>
__device__ __forceinline__ void mma_m16n8k16<__half>(float (&d)[4], const uint32_t (&a)[4], const uint32_t (&b)[2],
                                                     const float (&c)[4]) {
#if defined(__CUDA_ARCH__) && __CUDA_ARCH__ >= 800
  asm volatile(
      "mma.sync.aligned.m16n8k16.row.col.f32.f16.f16.f32 {%0,%1,%2,%3}, {%4,%5,%6,%7}, {%8,%9}, "
      "{%10,%11,%12,%13};\n"
      : "=f"(d[0]), "=f"(d[1]), "=f"(d[2]), "=f"(d[3])
      : "r"(a[0]), "r"(a[1]), "r"(a[2]), "r"(a[3]), "r"(b[0]), "r"(b[1]), "f"(c[0]), "f"(c[1]), "f"(c[2]), "f"(c[3]));
#elif defined(__CUDA_ARCH__)
  __trap();  // built for an older architecture: offers decline such devices before anything launches
#elif defined(DSCONV_CUDA_EMULATION)
  mma_detail::mma_emulated<__half>(d, a, b, c);
#endif  // nvcc's host pass: device code only
}

template <>
__device__ __forceinline__ void mma_m16n8k16<__nv_bfloat16>(float (&d)[4], const uint32_t (&a)[4],
                                                            const uint32_t (&b)[2], const float (&c)[4]) {
#if defined(__CUDA_ARCH__) && __CUDA_ARCH__ >= 800
  asm volatile(
      "mma.sync.aligned.m16n8k16.row.col.f32.bf16.bf16.f32 {%0,%1,%2,%3}, {%4,%5,%6,%7}, {%8,%9}, "
      "{%10,%11,%12,%13};\n"
      : "=f"(d[0]), "=f"(d[1]), "=f"(d[2]), "=f"(d[3])
      : "r"(a[0]), "r"(a[1]), "r"(a[2]), "r"(a[3]), "r"(b[0]), "r"(b[1]), "f"(c[0]), "f"(c[1]), "f"(c[2]), "f"(c[3]));
#elif defined(__CUDA_ARCH__)
  __trap();  // built for an older architecture: offers decline such devices before anything launches
#elif defined(DSCONV_CUDA_EMULATION)
  mma_detail::mma_emulated<__nv_bfloat16>(d, a, b, c);
#endif  // nvcc's host pass: device code only
}

// TF32: D = A·B + C for one m16n8k8 tile with f32 inputs rounded to TF32 (an 8-bit exponent and 10
// stored mantissa bits: PTX `mma.sync.aligned.m16n8k8.row.col.f32.tf32.tf32.f32`, sm_80 and later), f32
// accumulation. Only behind an explicit opt-in (PlanOptions::allow_tf32): it changes f32's precision.
// Fragments, for lane L (group = L / 4, quad = L % 4), one element per register:
//   A, 16x8 row-major, 4 registers: element e is row = group + 8 (e % 2), col = quad + 4 (e / 2);
//   B, 8x8 "col", 2 registers:      element e is k = quad + 4 e, n = group;
//   C and D as m16n8k16's.
DSCONV_HD constexpr int mma_tf32_a_row(int lane, int e) { return lane / 4 + 8 * (e % 2); }
DSCONV_HD constexpr int mma_tf32_a_col(int lane, int e) { return lane % 4 + 4 * (e / 2); }
DSCONV_HD constexpr int mma_tf32_b_k(int lane, int e) { return lane % 4 + 4 * e; }
DSCONV_HD constexpr int mma_tf32_b_n(int lane, int /*e*/) { return lane / 4; }
constexpr uint64_t kMmaM16N8K8Flops = 2ull * 16 * 8 * 8;

// The TF32 value nearest to the f32 `bits`, ties away from zero (PTX `cvt.rna.tf32.f32`), as f32 bits
// with the low 13 mantissa bits zero. Infinities stay, NaN becomes the canonical NaN.
DSCONV_HD constexpr uint32_t tf32_round_bits(uint32_t bits) {
  if ((bits & 0x7f800000u) == 0x7f800000u) return (bits & 0x007fffffu) != 0 ? 0x7fffffffu : bits;
  return (bits + 0x1000u) & 0xffffe000u;  // sign-magnitude: adding half an ulp rounds the magnitude
}

__device__ __forceinline__ uint32_t to_tf32(uint32_t f32_bits) {
#if defined(__CUDA_ARCH__) && __CUDA_ARCH__ >= 800
  uint32_t r;
  asm("cvt.rna.tf32.f32 %0, %1;\n" : "=r"(r) : "f"(__uint_as_float(f32_bits)));
  return r;
#else
  return tf32_round_bits(f32_bits);
#endif
}

namespace mma_detail {
#if defined(DSCONV_CUDA_EMULATION)
DSCONV_MMA_NOT_COUNTED __device__ inline void mma_tf32_emulated(float (&d)[4], const uint32_t (&a)[4],
                                                                const uint32_t (&b)[2], const float (&c)[4]) {
  int lane = 0;
  const WarpFragments& frag = gather_fragments(a, b, &lane);
  for (int e = 0; e < 4; ++e) {
    const int row = mma_c_row(lane, e), col = mma_c_col(lane, e);
    float acc = c[e];
    // A[row][k] is held by lane 4 * (row % 8) + k % 4, register (row / 8) + 2 * (k / 4); B[k][col] by lane
    // 4 * col + k % 4, register k / 4. The hardware reads 19 bits of each (the low 13 ignored); products of
    // TF32 values are exact in f32; summed in k order.
    for (int k = 0; k < 8; ++k) {
      const uint32_t wa = frag[4 * (row % 8) + k % 4][(row / 8) + 2 * (k / 4)] & 0xffffe000u;
      const uint32_t wb = frag[4 * col + k % 4][4 + k / 4] & 0xffffe000u;
      float x, w;
      std::memcpy(&x, &wa, 4);
      std::memcpy(&w, &wb, 4);
      acc += x * w;
    }
    d[e] = acc;
  }
  release_fragments(lane, kMmaM16N8K8Flops);
}
#endif
}  // namespace mma_detail

// a, b: TF32 bit patterns (to_tf32); every lane of a full warp calls it, converged.
__device__ __forceinline__ void mma_m16n8k8_tf32(float (&d)[4], const uint32_t (&a)[4], const uint32_t (&b)[2],
                                                 const float (&c)[4]) {
#if defined(__CUDA_ARCH__) && __CUDA_ARCH__ >= 800
  asm volatile(
      "mma.sync.aligned.m16n8k8.row.col.f32.tf32.tf32.f32 {%0,%1,%2,%3}, {%4,%5,%6,%7}, {%8,%9}, "
      "{%10,%11,%12,%13};\n"
      : "=f"(d[0]), "=f"(d[1]), "=f"(d[2]), "=f"(d[3])
      : "r"(a[0]), "r"(a[1]), "r"(a[2]), "r"(a[3]), "r"(b[0]), "r"(b[1]), "f"(c[0]), "f"(c[1]), "f"(c[2]), "f"(c[3]));
#elif defined(__CUDA_ARCH__)
  __trap();  // built for an older architecture: offers decline such devices before anything launches
#elif defined(DSCONV_CUDA_EMULATION)
  mma_detail::mma_tf32_emulated(d, a, b, c);
#endif  // nvcc's host pass: device code only
}

// Four 8x8 matrices of 16-bit elements from shared memory into fragments (PTX `ldmatrix.sync.aligned.m8n8
// .x4[.trans].shared.b16`, sm_75 and later). Lane L gives the address of row L % 8 of matrix L / 8: 16
// bytes, 16-byte aligned. Matrix i lands in r[i]: lane L receives
//   plain:   the pair (M_i[L / 4][2 (L % 4)], M_i[L / 4][2 (L % 4) + 1])         (word L % 4 of row L / 4)
//   .trans:  the pair (M_i[2 (L % 4)][L / 4], M_i[2 (L % 4) + 1][L / 4])         (a column, two rows)
// With rows of A (16x16, k fastest) given as row = L % 8 + 8 ((L / 8) % 2), col = 8 (L / 16), the plain
// form yields exactly mma_m16n8k16's A fragment; with rows of a k-major B ([k][n], n fastest) given as
// k = L % 8 + 8 ((L / 8) % 2), n = n0 + 8 (L / 16), the transposed form yields the B fragments of the
// column tiles n0 and n0 + 8 (r[0], r[1] and r[2], r[3]). Each matrix is one shared-memory wavefront
// when its 8 rows fall in distinct banks. Every lane of a full warp calls it, converged.
namespace mma_detail {
#if defined(DSCONV_CUDA_EMULATION)
// The emulated distribution: each lane deposits the row it read in a per-warp scratch, and takes its
// words from the rows of the others. Not counted by the model (the row reads before it are).
template <bool kTrans>
DSCONV_MMA_NOT_COUNTED __device__ inline void ldmatrix_distribute(uint32_t (&r)[4], const uint32_t (&row)[4]) {
  __shared__ uint32_t rows[32][32][4];  // [warp][lane]: the 16 bytes of the row lane gave
  const int tid = static_cast<int>(threadIdx.x + blockDim.x * (threadIdx.y + blockDim.y * threadIdx.z));
  const int warp = tid / 32, lane = tid % 32;
  for (int w = 0; w < 4; ++w) rows[warp][lane][w] = row[w];
  __syncwarp();
  for (int i = 0; i < 4; ++i) {
    if constexpr (kTrans) {
      const int col = lane / 4;  // element of each row, two rows per register
      const uint32_t w0 = rows[warp][8 * i + 2 * (lane % 4)][col / 2];
      const uint32_t w1 = rows[warp][8 * i + 2 * (lane % 4) + 1][col / 2];
      const int shift = 16 * (col % 2);
      r[i] = ((w0 >> shift) & 0xffffu) | (((w1 >> shift) & 0xffffu) << 16);
    } else {
      r[i] = rows[warp][8 * i + lane / 4][lane % 4];
    }
  }
  __syncwarp();  // the scratch is free for the warp's next instruction
}
#endif
}  // namespace mma_detail

template <bool kTrans>
__device__ __forceinline__ void ldmatrix_x4(uint32_t (&r)[4], const void* smem_row) {
#if defined(__CUDA_ARCH__) && __CUDA_ARCH__ >= 750
  const unsigned a = static_cast<unsigned>(__cvta_generic_to_shared(smem_row));
  if constexpr (kTrans) {
    asm volatile("ldmatrix.sync.aligned.m8n8.x4.trans.shared.b16 {%0,%1,%2,%3}, [%4];\n"
                 : "=r"(r[0]), "=r"(r[1]), "=r"(r[2]), "=r"(r[3])
                 : "r"(a));
  } else {
    asm volatile("ldmatrix.sync.aligned.m8n8.x4.shared.b16 {%0,%1,%2,%3}, [%4];\n"
                 : "=r"(r[0]), "=r"(r[1]), "=r"(r[2]), "=r"(r[3])
                 : "r"(a));
  }
#elif defined(__CUDA_ARCH__)
  __trap();  // built for an older architecture: offers decline such devices before anything launches
#elif defined(DSCONV_CUDA_EMULATION)
  uint32_t row[4];
  std::memcpy(row, smem_row, 16);  // one 16-byte shared access per lane: what the model counts
  mma_detail::ldmatrix_distribute<kTrans>(r, row);
#endif
}

}  // namespace dsconv::cuda
