// The emulator's block model: built-in variables per thread, __syncthreads as a barrier over the
// block (a reduction through shared memory is exact only if it is one), the __syncthreads_count /
// _and / _or reductions, and a divergent barrier reported instead of hanging.
#include <cstdint>
#include <numeric>
#include <random>
#include <vector>

#include "cuda/test_emu_support.hpp"

namespace dsconv::emu_test {
namespace {

// One record per thread: where it is and what the launch looks like from there.
struct Where {
  unsigned tx, ty, tz, bx, by, bz, bdx, bdy, bdz, gdx, gdy, gdz;
};

__global__ void record_builtins(Where* out) {
  const unsigned block = blockIdx.x + gridDim.x * (blockIdx.y + gridDim.y * blockIdx.z);
  const unsigned thread = threadIdx.x + blockDim.x * (threadIdx.y + blockDim.y * threadIdx.z);
  const unsigned i = block * blockDim.x * blockDim.y * blockDim.z + thread;
  out[i] = Where{threadIdx.x, threadIdx.y, threadIdx.z, blockIdx.x, blockIdx.y, blockIdx.z,
                 blockDim.x,  blockDim.y,  blockDim.z,  gridDim.x,  gridDim.y,  gridDim.z};
}

TEST(EmuBarrier, BuiltinVariablesArePerThread) {
  EMU_REQUIRE_DEVICE();
  const dim3 grid(3, 2, 2), block(5, 4, 3);
  const unsigned threads = 5 * 4 * 3, blocks = 3 * 2 * 2;
  for (const ModeCase& mc : modes_to_test()) {
    SCOPED_TRACE(mc.name);
    ModeScope scope(mc);
    DeviceArray<Where> out(threads * blocks);
    ASSERT_TRUE(out.ok());
    out.fill_bytes(0xff);
    EMU_ASSERT_CUDA(dsconv::cuda::launch(record_builtins, grid, block, 0, nullptr, out.get()));
    const std::vector<Where> w = out.download();
    for (unsigned b = 0; b < blocks; ++b) {
      for (unsigned t = 0; t < threads; ++t) {
        const Where& r = w[b * threads + t];
        ASSERT_EQ(r.tx, t % 5) << "block " << b << " thread " << t;
        ASSERT_EQ(r.ty, t / 5 % 4);
        ASSERT_EQ(r.tz, t / 20);
        ASSERT_EQ(r.bx, b % 3);
        ASSERT_EQ(r.by, b / 3 % 2);
        ASSERT_EQ(r.bz, b / 6);
        ASSERT_EQ(r.bdx * 100 + r.bdy * 10 + r.bdz, 543u);
        ASSERT_EQ(r.gdx * 100 + r.gdy * 10 + r.gdz, 322u);
      }
    }
  }
}

// Tree reduction through shared memory: every level reads what other threads wrote at the level
// before, so without a real barrier the sums come out wrong.
template <int kThreads>
__global__ void block_sum(const int* in, int* out, int n) {
  __shared__ int partial[kThreads];
  const int t = static_cast<int>(threadIdx.x + blockDim.x * threadIdx.y);
  const int i = static_cast<int>(blockIdx.x) * kThreads + t;
  partial[t] = i < n ? in[i] : 0;
  __syncthreads();
  // kThreads need not be a power of two: fold the part above the largest power of two first.
  int width = 1;
  while (width * 2 <= kThreads) width *= 2;
  if (t >= width) partial[t - width] += partial[t];
  __syncthreads();
  for (int stride = width / 2; stride > 0; stride /= 2) {
    if (t < stride) partial[t] += partial[t + stride];
    __syncthreads();
  }
  if (t == 0) out[blockIdx.x] = partial[0];
}

template <int kThreads>
void check_block_sum(dim3 block, int n, uint32_t seed) {
  std::mt19937 rng(seed);
  std::uniform_int_distribution<int> value(-1000, 1000);
  std::vector<int> in(static_cast<size_t>(n));
  for (int& v : in) v = value(rng);
  const int blocks = (n + kThreads - 1) / kThreads;
  std::vector<int> expect(static_cast<size_t>(blocks), 0);
  for (int i = 0; i < n; ++i) expect[static_cast<size_t>(i / kThreads)] += in[static_cast<size_t>(i)];
  for (const ModeCase& mc : modes_to_test()) {
    SCOPED_TRACE(mc.name + " seed " + std::to_string(seed));
    ModeScope scope(mc);
    DeviceArray<int> d_in(in), d_out(static_cast<size_t>(blocks));
    ASSERT_TRUE(d_in.ok() && d_out.ok());
    d_out.fill_bytes(0xff);
    EMU_ASSERT_CUDA(dsconv::cuda::launch(block_sum<kThreads>, dim3(static_cast<unsigned>(blocks)), block, 0, nullptr,
                                         d_in.get(), d_out.get(), n));
    EXPECT_EQ(d_out.download(), expect);
  }
}

TEST(EmuBarrier, SharedMemoryReductionIsExact) {
  EMU_REQUIRE_DEVICE();
  check_block_sum<256>(dim3(256), 256 * 7 + 13, 1234u);
  check_block_sum<96>(dim3(96), 96 * 5, 99u);          // three warps
  check_block_sum<128>(dim3(16, 8), 128 * 3 + 1, 7u);  // a 2-D block
  check_block_sum<33>(dim3(33), 33 * 4 - 5, 2024u);    // a partial warp
}

__global__ void count_and_or(const int* pred, int* out) {
  const int t = static_cast<int>(threadIdx.x);
  const int p = pred[blockIdx.x * blockDim.x + t];
  const int count = __syncthreads_count(p);
  const int all = __syncthreads_and(p);
  const int any = __syncthreads_or(p);
  if (t == 0) {
    out[3 * blockIdx.x + 0] = count;
    out[3 * blockIdx.x + 1] = all;
    out[3 * blockIdx.x + 2] = any;
  }
}

TEST(EmuBarrier, SyncthreadsCountAndOr) {
  EMU_REQUIRE_DEVICE();
  const int threads = 160;
  // Block 0: a sparse pattern; block 1: all true; block 2: all false (with non-1 truthy values).
  std::vector<int> pred(3 * threads, 0);
  int expect_count0 = 0;
  for (int t = 0; t < threads; ++t) {
    pred[static_cast<size_t>(t)] = (t % 7 == 3) ? t + 2 : 0;
    expect_count0 += t % 7 == 3;
    pred[static_cast<size_t>(threads + t)] = -5;
  }
  const std::vector<int> expect = {expect_count0, 0, 1, threads, 1, 1, 0, 0, 0};
  for (const ModeCase& mc : modes_to_test()) {
    SCOPED_TRACE(mc.name);
    ModeScope scope(mc);
    DeviceArray<int> d_pred(pred), d_out(9);
    ASSERT_TRUE(d_pred.ok() && d_out.ok());
    EMU_ASSERT_CUDA(dsconv::cuda::launch(count_and_or, dim3(3), dim3(threads), 0, nullptr, d_pred.get(), d_out.get()));
    EXPECT_EQ(d_out.download(), expect);
  }
}

#if defined(DSCONV_CUDA_EMULATION)

// Threads past the end return early and never reach the barrier the others wait at.
__global__ void early_return_then_barrier(int* out, int n) {
  __shared__ int s[256];
  const int t = static_cast<int>(threadIdx.x);
  if (t >= n) return;
  s[t] = t;
  __syncthreads();
  out[t] = s[n - 1 - t];
}

void launch_divergent_barrier() {
  int* out = nullptr;
  (void)cudaMalloc(reinterpret_cast<void**>(&out), 256 * sizeof(int));
  (void)dsconv::cuda::launch(early_return_then_barrier, dim3(1), dim3(256), 0, nullptr, out, 200);
}

TEST(EmuBarrierDeathTest, DivergentBarrierAbortsWithAClearMessage) {
  GTEST_FLAG_SET(death_test_style, "threadsafe");
  for (const ModeCase& mc : modes_to_test()) {
    SCOPED_TRACE(mc.name);
    ModeScope scope(mc);
    EXPECT_DEATH(launch_divergent_barrier(),
                 "deadlock: .*200 of 256 wait at __syncthreads\\(\\), 56 have exited.*divergent barrier");
  }
}

#endif

}  // namespace
}  // namespace dsconv::emu_test
