// cp.async (cuda/common/async_copy.cuh) and ldmatrix (cuda/common/mma.cuh) against their PTX definitions.
// On the emulator this checks the emulated instructions (and that a copy lands only at the wait that
// completes it); compiled as CUDA, the same kernels run the hardware's instructions on a GPU.
#include <cstdint>
#include <cstring>
#include <vector>

#include "cuda/common/async_copy.cuh"
#include "cuda/common/mma.cuh"
#include "cuda/test_emu_support.hpp"

namespace dsconv::emu_test {
namespace {

constexpr bool kEmulated =
#if defined(DSCONV_CUDA_EMULATION)
    true;
#else
    false;
#endif

// 32 lanes, two groups of 16-byte copies: group 0 copies src[lane] into shared vector lane, a zero fill
// where lane % 3 == 0; group 1 copies src[32 + lane] into shared vector 32 + lane. After wait<1> the
// first group is read (and, on the emulator, what the second group's destination held before); after
// wait<0> the second. `before` records a lane's own first destination before any wait.
__global__ void two_groups(const uint4* src, uint4* after_first, uint4* pending, uint4* after_second, uint4* before) {
  DSCONV_DYNAMIC_SMEM(uint4, s);
  const int lane = static_cast<int>(threadIdx.x);
  s[lane] = make_uint4(0xdeadbeefu, lane, 1u, 2u);
  s[32 + lane] = make_uint4(0xfeedfaceu, lane, 3u, 4u);
  __syncthreads();
  dsconv::cuda::cp_async16(&s[lane], lane % 3 == 0 ? src : &src[lane], lane % 3 != 0);
  dsconv::cuda::cp_async_commit();
  dsconv::cuda::cp_async16(&s[32 + lane], &src[32 + lane], true);
  dsconv::cuda::cp_async_commit();
  before[lane] = s[lane];
  dsconv::cuda::cp_async_wait<1>();
  __syncthreads();
  after_first[lane] = s[31 - lane];  // another lane's copy: published by the barrier
  pending[lane] = s[32 + lane];
  dsconv::cuda::cp_async_wait<0>();
  __syncthreads();
  after_second[lane] = s[32 + (31 - lane)];
}

TEST(EmuAsyncCopy, GroupsLandAtTheirWaitAndZeroFillsWriteZeros) {
  EMU_REQUIRE_DEVICE();
  if (!device_has_sm80()) GTEST_SKIP() << "cp.async needs sm_80";
  std::vector<uint4> src(64);
  for (uint32_t i = 0; i < 64; ++i) src[i] = make_uint4(0x1000u + i, 0x2000u + i, 0x3000u + i, 0x4000u + i);
  DeviceArray<uint4> d_src(src), first(32), pending(32), second(32), before(32);
  EMU_ASSERT_CUDA(dsconv::cuda::launch(two_groups, dim3(1), dim3(32), 64 * sizeof(uint4), nullptr, d_src.get(),
                                       first.get(), pending.get(), second.get(), before.get()));
  EMU_ASSERT_CUDA(cudaDeviceSynchronize());
  const std::vector<uint4> f = first.download(), p = pending.download(), s = second.download(), b = before.download();
  for (int lane = 0; lane < 32; ++lane) {
    SCOPED_TRACE("lane " + std::to_string(lane));
    const int from = 31 - lane;
    const uint4 want = from % 3 == 0 ? make_uint4(0u, 0u, 0u, 0u) : src[static_cast<size_t>(from)];
    EXPECT_EQ(std::memcmp(&f[static_cast<size_t>(lane)], &want, 16), 0);
    EXPECT_EQ(std::memcmp(&s[static_cast<size_t>(lane)], &src[static_cast<size_t>(32 + from)], 16), 0);
    if (kEmulated) {
      // The emulator defers each copy to its wait, as the hardware may: nothing has landed before the
      // first wait, and the second group is still pending after wait<1>.
      const uint4 old_first = make_uint4(0xdeadbeefu, static_cast<unsigned>(lane), 1u, 2u);
      const uint4 old_second = make_uint4(0xfeedfaceu, static_cast<unsigned>(lane), 3u, 4u);
      EXPECT_EQ(std::memcmp(&b[static_cast<size_t>(lane)], &old_first, 16), 0);
      EXPECT_EQ(std::memcmp(&p[static_cast<size_t>(lane)], &old_second, 16), 0);
    }
  }
}

// Four 8 x 8 matrices of 16-bit values M_i[r][c] = 256 i + 16 r + c at a pitch of 24 elements (48 bytes:
// rows 16-byte aligned), lane L giving row L % 8 of matrix L / 8; out[L][i] is register i of lane L.
template <bool kTrans>
__global__ void load_matrices(const uint16_t* m, uint32_t* out) {
  DSCONV_DYNAMIC_SMEM(uint16_t, s);
  const int lane = static_cast<int>(threadIdx.x);
  for (int i = lane; i < 4 * 8 * 24; i += 32) s[i] = m[i];
  __syncthreads();
  uint32_t r[4];
  dsconv::cuda::ldmatrix_x4<kTrans>(r, s + ((lane / 8) * 8 + lane % 8) * 24);
  for (int i = 0; i < 4; ++i) out[lane * 4 + i] = r[i];
}

template <bool kTrans>
void check_ldmatrix() {
  std::vector<uint16_t> m(4 * 8 * 24, 0xffff);
  const auto value = [](int i, int r, int c) { return static_cast<uint16_t>(256 * i + 16 * r + c); };
  for (int i = 0; i < 4; ++i)
    for (int r = 0; r < 8; ++r)
      for (int c = 0; c < 8; ++c) m[static_cast<size_t>((i * 8 + r) * 24 + c)] = value(i, r, c);
  DeviceArray<uint16_t> d_m(m);
  DeviceArray<uint32_t> out(128);
  EMU_ASSERT_CUDA(dsconv::cuda::launch(load_matrices<kTrans>, dim3(1), dim3(32), 4 * 8 * 24 * sizeof(uint16_t), nullptr,
                                       d_m.get(), out.get()));
  EMU_ASSERT_CUDA(cudaDeviceSynchronize());
  const std::vector<uint32_t> got = out.download();
  for (int lane = 0; lane < 32; ++lane) {
    for (int i = 0; i < 4; ++i) {
      // PTX ISA, ldmatrix: lane L holds row L / 4, columns 2 (L % 4) and 2 (L % 4) + 1 (plain), or column
      // L / 4 of rows 2 (L % 4) and 2 (L % 4) + 1 (.trans); the lower-numbered element in the low half.
      const int g = lane / 4, q = lane % 4;
      const uint32_t want = kTrans ? dsconv::cuda::pack_halves(value(i, 2 * q, g), value(i, 2 * q + 1, g))
                                   : dsconv::cuda::pack_halves(value(i, g, 2 * q), value(i, g, 2 * q + 1));
      EXPECT_EQ(got[static_cast<size_t>(lane * 4 + i)], want) << "lane " << lane << ", matrix " << i;
    }
  }
}

TEST(EmuLdmatrix, X4GivesEachLaneItsRowPair) {
  EMU_REQUIRE_DEVICE();
  if (!device_has_sm80()) GTEST_SKIP() << "the kernels that use ldmatrix need sm_80";
  check_ldmatrix<false>();
}

TEST(EmuLdmatrix, X4TransGivesEachLaneItsColumnPair) {
  EMU_REQUIRE_DEVICE();
  if (!device_has_sm80()) GTEST_SKIP() << "the kernels that use ldmatrix need sm_80";
  check_ldmatrix<true>();
}

}  // namespace
}  // namespace dsconv::emu_test
