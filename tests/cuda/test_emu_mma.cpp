// The tensor-core wrapper (cuda/common/mma.cuh): a warp computes D = A·B + C for m16n8k16 tiles of f16 and
// bf16 with f32 accumulation. On the emulator this checks the emulated instruction and its fragment
// layouts against a CPU product; compiled as CUDA (a real build) the same test runs the hardware's mma.sync
// on a GPU, which checks the emulation against the hardware.
#include <cstdint>
#include <cstring>
#include <vector>

#include "cuda/common/mma.cuh"
#include "cuda/test_emu_support.hpp"

namespace dsconv::emu_test {
namespace {

using dsconv::cuda::mma_a_col;
using dsconv::cuda::mma_a_row;
using dsconv::cuda::mma_b_k;
using dsconv::cuda::mma_b_n;
using dsconv::cuda::mma_c_col;
using dsconv::cuda::mma_c_row;

// a: 16x16 row-major, b: 16x8 with b[k * 8 + n], c and d: 16x8 row-major; `reps` products accumulated into
// the same D (C = the previous D), so chained calls are exercised too.
template <class T>
__global__ void mma_tile(const T* a, const T* b, const float* c, float* d, int reps) {
  const int lane = static_cast<int>(threadIdx.x);
  uint32_t fa[4], fb[2];
  for (int r = 0; r < 4; ++r) {
    uint16_t lo, hi;
    std::memcpy(&lo, &a[mma_a_row(lane, 2 * r) * 16 + mma_a_col(lane, 2 * r)], 2);
    std::memcpy(&hi, &a[mma_a_row(lane, 2 * r + 1) * 16 + mma_a_col(lane, 2 * r + 1)], 2);
    fa[r] = dsconv::cuda::pack_halves(lo, hi);
  }
  for (int r = 0; r < 2; ++r) {
    uint16_t lo, hi;
    std::memcpy(&lo, &b[mma_b_k(lane, 2 * r) * 8 + mma_b_n(lane, 2 * r)], 2);
    std::memcpy(&hi, &b[mma_b_k(lane, 2 * r + 1) * 8 + mma_b_n(lane, 2 * r + 1)], 2);
    fb[r] = dsconv::cuda::pack_halves(lo, hi);
  }
  float acc[4];
  for (int e = 0; e < 4; ++e) acc[e] = c[mma_c_row(lane, e) * 8 + mma_c_col(lane, e)];
  for (int i = 0; i < reps; ++i) {
    float out[4];
    dsconv::cuda::mma_m16n8k16<T>(out, fa, fb, acc);
    for (int e = 0; e < 4; ++e) acc[e] = out[e];
  }
  for (int e = 0; e < 4; ++e) d[mma_c_row(lane, e) * 8 + mma_c_col(lane, e)] = acc[e];
}

// Small integers (|a|, |b| <= 4, |c| <= 8): every product and sum is exact in f32 whatever the order, so
// the emulator and the hardware must both give exactly the CPU's result. Seeded and printed.
template <class T>
void check(int reps, uint32_t seed) {
  SCOPED_TRACE("seed " + std::to_string(seed) + ", reps " + std::to_string(reps));
  uint32_t state = seed;
  auto next = [&](int lim) {
    state = state * 1664525u + 1013904223u;
    int v = static_cast<int>((state >> 16) % static_cast<uint32_t>(2 * lim + 1)) - lim;
    return v == 0 ? 1 : v;  // never zero: a missing term must change the result
  };
  std::vector<T> a(256), b(128);
  std::vector<float> af(256), bf(128), c(128);
  for (int i = 0; i < 256; ++i) af[static_cast<size_t>(i)] = static_cast<float>(next(4));
  for (int i = 0; i < 128; ++i) bf[static_cast<size_t>(i)] = static_cast<float>(next(4));
  for (int i = 0; i < 128; ++i) c[static_cast<size_t>(i)] = static_cast<float>(next(8));
  for (int i = 0; i < 256; ++i) a[static_cast<size_t>(i)] = T(af[static_cast<size_t>(i)]);
  for (int i = 0; i < 128; ++i) b[static_cast<size_t>(i)] = T(bf[static_cast<size_t>(i)]);
  std::vector<float> want(c);
  for (int rep = 0; rep < reps; ++rep)
    for (int m = 0; m < 16; ++m)
      for (int n = 0; n < 8; ++n) {
        double s = want[static_cast<size_t>(m * 8 + n)];
        for (int k = 0; k < 16; ++k)
          s += static_cast<double>(af[static_cast<size_t>(m * 16 + k)]) * bf[static_cast<size_t>(k * 8 + n)];
        want[static_cast<size_t>(m * 8 + n)] = static_cast<float>(s);
      }
  DeviceArray<T> da(a), db(b);
  DeviceArray<float> dc(c), dd(128);
  EMU_ASSERT_CUDA(
      dsconv::cuda::launch(mma_tile<T>, dim3(1), dim3(32), 0, nullptr, da.get(), db.get(), dc.get(), dd.get(), reps));
  EMU_ASSERT_CUDA(cudaDeviceSynchronize());
  EXPECT_EQ(dd.download(), want);
}

TEST(EmuMma, F16TileMatchesTheProduct) {
  EMU_REQUIRE_DEVICE();
  if (!device_has_sm80()) GTEST_SKIP() << "mma.sync m16n8k16 needs sm_80";
  check<__half>(1, 11);
  check<__half>(3, 12);
}

TEST(EmuMma, Bf16TileMatchesTheProduct) {
  EMU_REQUIRE_DEVICE();
  if (!device_has_sm80()) GTEST_SKIP() << "mma.sync m16n8k16 needs sm_80";
  check<__nv_bfloat16>(1, 21);
  check<__nv_bfloat16>(2, 22);
}

// TF32: a 16x8 (a[m * 8 + k]) by 8x8 (b[k * 8 + n]) product plus c, inputs rounded with to_tf32 in the
// kernel, `reps` times accumulated.
__global__ void mma_tf32_tile(const float* a, const float* b, const float* c, float* d, int reps) {
  const int lane = static_cast<int>(threadIdx.x);
  uint32_t fa[4], fb[2];
  for (int e = 0; e < 4; ++e) {
    uint32_t bits;
    std::memcpy(&bits, &a[dsconv::cuda::mma_tf32_a_row(lane, e) * 8 + dsconv::cuda::mma_tf32_a_col(lane, e)], 4);
    fa[e] = dsconv::cuda::to_tf32(bits);
  }
  for (int e = 0; e < 2; ++e) {
    uint32_t bits;
    std::memcpy(&bits, &b[dsconv::cuda::mma_tf32_b_k(lane, e) * 8 + dsconv::cuda::mma_tf32_b_n(lane, e)], 4);
    fb[e] = dsconv::cuda::to_tf32(bits);
  }
  float acc[4];
  for (int e = 0; e < 4; ++e) acc[e] = c[mma_c_row(lane, e) * 8 + mma_c_col(lane, e)];
  for (int i = 0; i < reps; ++i) {
    float out[4];
    dsconv::cuda::mma_m16n8k8_tf32(out, fa, fb, acc);
    for (int e = 0; e < 4; ++e) acc[e] = out[e];
  }
  for (int e = 0; e < 4; ++e) d[mma_c_row(lane, e) * 8 + mma_c_col(lane, e)] = acc[e];
}

// Small integers (exact in TF32 and in every f32 sum), except that each A value is scaled by 1 - 2^-12:
// for |v| <= 8 that is at most half a TF32 ulp below v, so rounding to nearest with ties away from zero
// (to_tf32) gives v back, while truncating the low 13 bits (what the tensor cores do to an unrounded
// input) gives the TF32 value below, and the product differs.
TEST(EmuMma, Tf32TileMatchesTheProductOfRoundedInputs) {
  EMU_REQUIRE_DEVICE();
  if (!device_has_sm80()) GTEST_SKIP() << "mma.sync m16n8k8 tf32 needs sm_80";
  for (uint32_t seed : {31u, 32u}) {
    SCOPED_TRACE("seed " + std::to_string(seed));
    uint32_t state = seed;
    auto next = [&](int lim) {
      state = state * 1664525u + 1013904223u;
      int v = static_cast<int>((state >> 16) % static_cast<uint32_t>(2 * lim + 1)) - lim;
      return v == 0 ? 1 : v;
    };
    std::vector<float> a(128), a_exact(128), b(64), c(128);
    for (size_t i = 0; i < 128; ++i) a_exact[i] = static_cast<float>(next(8)), a[i] = a_exact[i] * (1.f - 1.f / 4096);
    for (size_t i = 0; i < 64; ++i) b[i] = static_cast<float>(next(8));
    for (size_t i = 0; i < 128; ++i) c[i] = static_cast<float>(next(8));
    const int reps = 2;
    std::vector<float> want(c);
    for (int rep = 0; rep < reps; ++rep)
      for (int m = 0; m < 16; ++m)
        for (int n = 0; n < 8; ++n) {
          double sum = want[static_cast<size_t>(m * 8 + n)];
          for (int k = 0; k < 8; ++k)
            sum += static_cast<double>(a_exact[static_cast<size_t>(m * 8 + k)]) * b[static_cast<size_t>(k * 8 + n)];
          want[static_cast<size_t>(m * 8 + n)] = static_cast<float>(sum);
        }
    DeviceArray<float> da(a), db(b), dc(c), dd(128);
    EMU_ASSERT_CUDA(dsconv::cuda::launch(mma_tf32_tile, dim3(1), dim3(32), 0, nullptr, da.get(), db.get(), dc.get(),
                                         dd.get(), reps));
    EMU_ASSERT_CUDA(cudaDeviceSynchronize());
    EXPECT_EQ(dd.download(), want);
  }
}

// cvt.rna.tf32.f32: nearest TF32 (10 stored mantissa bits), ties away from zero; infinities stay; NaN stays
// NaN; the largest finite values round to infinity.
TEST(EmuMma, Tf32RoundingIsNearestTiesAway) {
  using dsconv::cuda::tf32_round_bits;
  EXPECT_EQ(tf32_round_bits(0x3f800000u), 0x3f800000u);                // 1
  EXPECT_EQ(tf32_round_bits(0x3f800fffu), 0x3f800000u);                // below half an ulp: down
  EXPECT_EQ(tf32_round_bits(0x3f801000u), 0x3f802000u);                // a tie: away from zero
  EXPECT_EQ(tf32_round_bits(0xbf801000u), 0xbf802000u);                // negative tie: away from zero too
  EXPECT_EQ(tf32_round_bits(0x3f801001u), 0x3f802000u);                // above half: up
  EXPECT_EQ(tf32_round_bits(0x3fffffffu), 0x40000000u);                // carries into the exponent
  EXPECT_EQ(tf32_round_bits(0x7f7fffffu), 0x7f800000u);                // largest finite: to infinity
  EXPECT_EQ(tf32_round_bits(0xff800000u), 0xff800000u);                // -inf stays
  EXPECT_EQ(tf32_round_bits(0x7f800001u) & 0x7fffffffu, 0x7fffffffu);  // a NaN stays a NaN
  EXPECT_EQ(tf32_round_bits(0x00000001u), 0x00000000u);                // the smallest subnormal: to zero
}

// The layout helpers cover every element of each matrix exactly once across the warp.
TEST(EmuMma, FragmentLayoutsCoverEachMatrixOnce) {
  std::vector<int> a(256, 0), b(128, 0), c(128, 0);
  for (int lane = 0; lane < 32; ++lane) {
    for (int e = 0; e < 8; ++e) ++a[static_cast<size_t>(mma_a_row(lane, e) * 16 + mma_a_col(lane, e))];
    for (int e = 0; e < 4; ++e) ++b[static_cast<size_t>(mma_b_k(lane, e) * 8 + mma_b_n(lane, e))];
    for (int e = 0; e < 4; ++e) ++c[static_cast<size_t>(mma_c_row(lane, e) * 8 + mma_c_col(lane, e))];
  }
  EXPECT_EQ(a, std::vector<int>(256, 1));
  EXPECT_EQ(b, std::vector<int>(128, 1));
  EXPECT_EQ(c, std::vector<int>(128, 1));
  // Spot values from the PTX ISA's figures: lane 5 (group 1, quad 1) holds A[1][2], A[1][3], A[9][2], ...
  EXPECT_EQ(mma_a_row(5, 0), 1);
  EXPECT_EQ(mma_a_col(5, 0), 2);
  EXPECT_EQ(mma_a_row(5, 2), 9);
  EXPECT_EQ(mma_a_col(5, 4), 10);
  EXPECT_EQ(mma_b_k(5, 2), 10);
  EXPECT_EQ(mma_b_n(5, 2), 1);
  EXPECT_EQ(mma_c_row(5, 3), 9);
  EXPECT_EQ(mma_c_col(5, 3), 3);
}

}  // namespace
}  // namespace dsconv::emu_test
