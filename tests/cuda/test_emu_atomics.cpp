// Atomics from every thread of several blocks, on global and shared memory: the totals are exact
// (integer-valued floats included), so a lost update shows. Run in both emulator modes; the threads
// mode really runs them concurrently.
#include <algorithm>
#include <cstdint>
#include <vector>

#include "cuda/test_emu_support.hpp"

namespace dsconv::emu_test {
namespace {

struct Counters {
  int add_int;
  unsigned add_unsigned;
  unsigned long long add_u64;
  float add_float;
  double add_double;
  int max_int;
  int min_int;
  unsigned inc_wrap;
  int cas_increments;
  int sub_int;
  unsigned or_bits;
  unsigned and_bits;
  unsigned xor_bits;
  int exch_seen;
};

__global__ void hammer(Counters* c, int* per_block) {
  __shared__ int block_total;
  const int t = static_cast<int>(threadIdx.x);
  const int g = static_cast<int>(blockIdx.x * blockDim.x) + t;
  if (t == 0) block_total = 0;
  __syncthreads();
  atomicAdd(&c->add_int, g % 11 - 5);
  atomicAdd(&c->add_unsigned, 3u);
  atomicAdd(&c->add_u64, 1ull << 33);
  atomicAdd(&c->add_float, static_cast<float>(g % 5));
  atomicAdd(&c->add_double, 0.5);
  atomicMax(&c->max_int, (g * 7919) % 1000 - 300);
  atomicMin(&c->min_int, (g * 7919) % 1000 - 300);
  atomicInc(&c->inc_wrap, 99u);                      // counts modulo 100
  int old = atomicAdd(&c->cas_increments, 0), seen;  // an atomic read: plain loads would race
  do {
    seen = old;
    old = atomicCAS(&c->cas_increments, seen, seen + 1);
  } while (old != seen);
  atomicSub(&c->sub_int, 2);
  atomicOr(&c->or_bits, 1u << (g % 32));
  atomicAnd(&c->and_bits, ~(1u << (g % 16)));
  atomicXor(&c->xor_bits, 1u << (g % 3));
  atomicExch(&c->exch_seen, g);
  atomicAdd(&block_total, t + 1);
  __syncthreads();
  if (t == 0) per_block[blockIdx.x] = block_total;
}

TEST(EmuAtomics, EveryUpdateFromEveryThreadCounts) {
  EMU_REQUIRE_DEVICE();
  const int blocks = 6, threads = 96, n = blocks * threads;
  Counters want{};
  want.max_int = -1000000;
  want.min_int = 1000000;
  want.and_bits = 0xffffffffu;
  Counters init = want;
  for (int g = 0; g < n; ++g) {
    want.add_int += g % 11 - 5;
    want.add_unsigned += 3u;
    want.add_u64 += 1ull << 33;
    want.add_float += static_cast<float>(g % 5);
    want.add_double += 0.5;
    want.max_int = std::max(want.max_int, (g * 7919) % 1000 - 300);
    want.min_int = std::min(want.min_int, (g * 7919) % 1000 - 300);
    want.inc_wrap = want.inc_wrap >= 99u ? 0u : want.inc_wrap + 1u;
    want.cas_increments += 1;
    want.sub_int -= 2;
    want.or_bits |= 1u << (g % 32);
    want.and_bits &= ~(1u << (g % 16));
    want.xor_bits ^= 1u << (g % 3);
  }
  for (const ModeCase& mc : modes_to_test()) {
    SCOPED_TRACE(mc.name);
    ModeScope scope(mc);
    DeviceArray<Counters> d_c(std::vector<Counters>{init});
    DeviceArray<int> per_block(blocks);
    ASSERT_TRUE(d_c.ok() && per_block.ok());
    EMU_ASSERT_CUDA(dsconv::cuda::launch(hammer, dim3(blocks), dim3(threads), 0, nullptr, d_c.get(), per_block.get()));
    const Counters got = d_c.download()[0];
    EXPECT_EQ(got.add_int, want.add_int);
    EXPECT_EQ(got.add_unsigned, want.add_unsigned);
    EXPECT_EQ(got.add_u64, want.add_u64);
    EXPECT_EQ(got.add_float, want.add_float);
    EXPECT_EQ(got.add_double, want.add_double);
    EXPECT_EQ(got.max_int, want.max_int);
    EXPECT_EQ(got.min_int, want.min_int);
    EXPECT_EQ(got.inc_wrap, want.inc_wrap);
    EXPECT_EQ(got.cas_increments, want.cas_increments);
    EXPECT_EQ(got.sub_int, want.sub_int);
    EXPECT_EQ(got.or_bits, want.or_bits);
    EXPECT_EQ(got.and_bits, want.and_bits);
    EXPECT_EQ(got.xor_bits, want.xor_bits);
    EXPECT_GE(got.exch_seen, 0);
    EXPECT_LT(got.exch_seen, n);
    EXPECT_EQ(per_block.download(), std::vector<int>(blocks, threads * (threads + 1) / 2));
  }
}

}  // namespace
}  // namespace dsconv::emu_test
