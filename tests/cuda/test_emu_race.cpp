// A kernel with a planted missing __syncthreads(): every thread reads both neighbours' shared-memory
// elements right after writing its own. On a GPU that is a race; the emulator must make it visible:
//  - fiber mode (default): deterministically wrong results (a thread runs to its next barrier before
//    the next one starts, so a neighbour's element is not written yet);
//  - threads mode under ThreadSanitizer: a data race report. This file is also built as the program
//    dsconv_emu_race_probe (DSCONV_EMU_RACE_PROBE_MAIN) that a ctest of the TSan build runs,
//    passing only if ThreadSanitizer reports the race (cuda/CMakeLists.txt).
#include <cstdio>
#include <vector>

#include "cuda/emu/cuda_compat.hpp"

namespace {

constexpr int kThreads = 64;

template <bool kWithBarrier>
__global__ void neighbour_sum(const int* in, int* out) {
  __shared__ int s[kThreads];
  const int t = static_cast<int>(threadIdx.x);
  const int i = static_cast<int>(blockIdx.x) * kThreads + t;
  s[t] = in[i];
  if (kWithBarrier) __syncthreads();
  // Both neighbours, so that the bug shows whichever order the threads run in.
  out[i] = s[(t + 1) % kThreads] + s[(t + kThreads - 1) % kThreads];
}

std::vector<int> expected_neighbour_sums(const std::vector<int>& in) {
  std::vector<int> out(in.size());
  for (size_t b = 0; b < in.size() / kThreads; ++b)
    for (int t = 0; t < kThreads; ++t)
      out[b * kThreads + t] = in[b * kThreads + (t + 1) % kThreads] + in[b * kThreads + (t + kThreads - 1) % kThreads];
  return out;
}

}  // namespace

#if defined(DSCONV_EMU_RACE_PROBE_MAIN)

int main() {
  if (dsconv::emu::mode() != dsconv::emu::Mode::kThreads) {
    std::printf("race probe error: the emulator runs in %s mode; the probe needs threads (DSCONV_EMU_MODE=threads)\n",
                dsconv::emu::to_string(dsconv::emu::mode()));
    return 1;
  }
  std::vector<int> in(kThreads);
  for (int i = 0; i < kThreads; ++i) in[static_cast<size_t>(i)] = 3 * i + 1;
  int *d_in = nullptr, *d_out = nullptr;
  if (cudaMalloc(reinterpret_cast<void**>(&d_in), in.size() * sizeof(int)) != cudaSuccess ||
      cudaMalloc(reinterpret_cast<void**>(&d_out), in.size() * sizeof(int)) != cudaSuccess ||
      cudaMemcpy(d_in, in.data(), in.size() * sizeof(int), cudaMemcpyHostToDevice) != cudaSuccess) {
    std::printf("race probe error: emulated memory calls failed\n");
    return 1;
  }
  const cudaError_t err = dsconv::cuda::launch(neighbour_sum<false>, dim3(1), dim3(kThreads), 0, nullptr, d_in, d_out);
  if (err != cudaSuccess) {
    std::printf("race probe error: launch failed: %s\n", cudaGetErrorString(err));
    return 1;
  }
  std::printf("race probe: ran a %d-thread block with a missing __syncthreads() in threads mode\n", kThreads);
  return 0;
}

#else

#include "cuda/test_emu_support.hpp"

namespace dsconv::emu_test {
namespace {

std::vector<int> run_neighbour_sum(bool with_barrier, const std::vector<int>& in) {
  DeviceArray<int> d_in(in), d_out(in.size());
  d_out.fill_bytes(0);
  const unsigned blocks = static_cast<unsigned>(in.size() / kThreads);
  const cudaError_t err = with_barrier ? dsconv::cuda::launch(neighbour_sum<true>, dim3(blocks), dim3(kThreads), 0,
                                                              nullptr, d_in.get(), d_out.get())
                                       : dsconv::cuda::launch(neighbour_sum<false>, dim3(blocks), dim3(kThreads), 0,
                                                              nullptr, d_in.get(), d_out.get());
  EXPECT_EQ(err, cudaSuccess) << cudaGetErrorString(err);
  return d_out.download();
}

// Inputs never seen before by this kernel, so that stale shared memory from an earlier launch or
// block cannot happen to hold the right values.
std::vector<int> fresh_input(int blocks) {
  static int launch = 0;
  ++launch;
  std::vector<int> in(static_cast<size_t>(blocks) * kThreads);
  for (size_t i = 0; i < in.size(); ++i) in[i] = 1000 * launch + static_cast<int>(3 * i + 1);
  return in;
}

TEST(EmuRace, WithTheBarrierTheNeighbourSumIsExact) {
  EMU_REQUIRE_DEVICE();
  for (const ModeCase& mc : modes_to_test()) {
    SCOPED_TRACE(mc.name);
    ModeScope scope(mc);
    const std::vector<int> in = fresh_input(4);
    EXPECT_EQ(run_neighbour_sum(true, in), expected_neighbour_sums(in));
  }
}

#if defined(DSCONV_CUDA_EMULATION)
TEST(EmuRace, MissingSyncthreadsGivesWrongResultsWithFibers) {
  ModeScope scope(ModeCase{"fibers", emu::Mode::kFibers});
  if (emu::mode() != emu::Mode::kFibers) GTEST_SKIP() << "fiber mode is not available in this build (ThreadSanitizer)";
  // Several blocks and launches: the emulator alternates the order in which threads first run, and
  // both orders must expose the missing barrier.
  for (int launch = 0; launch < 3; ++launch) {
    const std::vector<int> in = fresh_input(4);
    const std::vector<int> got = run_neighbour_sum(false, in), want = expected_neighbour_sums(in);
    for (size_t b = 0; b < 4; ++b) {
      int wrong = 0;
      for (int t = 0; t < kThreads; ++t) wrong += got[b * kThreads + t] != want[b * kThreads + t];
      // Only the thread that runs last in the block sees both neighbours written.
      EXPECT_GE(wrong, kThreads - 1) << "launch " << launch << " block " << b;
    }
  }
}
#endif

}  // namespace
}  // namespace dsconv::emu_test

#endif
