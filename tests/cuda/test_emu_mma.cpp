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

bool has_tensor_cores() {
#if defined(DSCONV_CUDA_EMULATION)
  return true;
#else
  int major = 0;
  return cudaDeviceGetAttribute(&major, cudaDevAttrComputeCapabilityMajor, 0) == cudaSuccess && major >= 8;
#endif
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
  if (!has_tensor_cores()) GTEST_SKIP() << "mma.sync m16n8k16 needs sm_80";
  check<__half>(1, 11);
  check<__half>(3, 12);
}

TEST(EmuMma, Bf16TileMatchesTheProduct) {
  EMU_REQUIRE_DEVICE();
  if (!has_tensor_cores()) GTEST_SKIP() << "mma.sync m16n8k16 needs sm_80";
  check<__nv_bfloat16>(1, 21);
  check<__nv_bfloat16>(2, 22);
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
