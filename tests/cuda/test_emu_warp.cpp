// Warp-level operations, bit for bit: every shuffle variant and width against a model written from
// the CUDA programming guide's definitions, votes and ballots, __match_*_sync and __reduce_*_sync,
// partial masks, partial warps, and __syncwarp as a barrier within a warp.
#include <cstdint>
#include <cstring>
#include <vector>

#include "cuda/test_emu_support.hpp"

namespace dsconv::emu_test {
namespace {

enum ShuffleKind : int { kIdx, kUp, kDown, kXor };

// The guide's words: __shfl_sync reads lane srcLane % width of the caller's width-group;
// __shfl_up_sync the lane delta below (own value if that leaves the group); __shfl_down_sync the lane
// delta above (same rule); __shfl_xor_sync lane ^ laneMask, own value if that lies in a later group.
int model_source(ShuffleKind kind, int lane, int arg, int width) {
  const int group = lane / width * width;
  switch (kind) {
    case kIdx:
      return group + arg % width;
    case kUp:
      return lane - group >= arg ? lane - arg : lane;
    case kDown:
      return lane - group + arg < width ? lane + arg : lane;
    case kXor:
      return (lane ^ arg) >= group + width ? lane : (lane ^ arg);
  }
  return lane;
}

struct ShuffleCase {
  ShuffleKind kind;
  int arg;
  int width;
};

// Each lane shuffles three types at once: int (lane * 37 + 5), double (lane + 0.25) and __half2.
__global__ void shuffle_all(const ShuffleCase* cases, int* out_int, double* out_double, __half2* out_half2) {
  const ShuffleCase c = cases[blockIdx.x];
  const int lane = static_cast<int>(threadIdx.x);
  const int vi = lane * 37 + 5;
  const double vd = lane + 0.25;
  const __half2 vh = __floats2half2_rn(static_cast<float>(lane), static_cast<float>(-lane));
  int ri = 0;
  double rd = 0;
  __half2 rh = vh;
  const unsigned full = 0xffffffffu;
  switch (c.kind) {
    case kIdx:
      ri = __shfl_sync(full, vi, c.arg, c.width);
      rd = __shfl_sync(full, vd, c.arg, c.width);
      rh = __shfl_sync(full, vh, c.arg, c.width);
      break;
    case kUp:
      ri = __shfl_up_sync(full, vi, static_cast<unsigned>(c.arg), c.width);
      rd = __shfl_up_sync(full, vd, static_cast<unsigned>(c.arg), c.width);
      rh = __shfl_up_sync(full, vh, static_cast<unsigned>(c.arg), c.width);
      break;
    case kDown:
      ri = __shfl_down_sync(full, vi, static_cast<unsigned>(c.arg), c.width);
      rd = __shfl_down_sync(full, vd, static_cast<unsigned>(c.arg), c.width);
      rh = __shfl_down_sync(full, vh, static_cast<unsigned>(c.arg), c.width);
      break;
    case kXor:
      ri = __shfl_xor_sync(full, vi, c.arg, c.width);
      rd = __shfl_xor_sync(full, vd, c.arg, c.width);
      rh = __shfl_xor_sync(full, vh, c.arg, c.width);
      break;
  }
  const int i = static_cast<int>(blockIdx.x) * 32 + lane;
  out_int[i] = ri;
  out_double[i] = rd;
  out_half2[i] = rh;
}

TEST(EmuWarp, ShufflesMatchTheProgrammingGuideForEveryWidth) {
  EMU_REQUIRE_DEVICE();
  std::vector<ShuffleCase> cases;
  for (int width : {1, 2, 4, 8, 16, 32}) {
    for (int arg : {0, 1, 3, 5, 16, 31, 37}) cases.push_back({kIdx, arg, width});
    for (int arg : {0, 1, 2, 5, 16, 31}) cases.push_back({kUp, arg, width});
    for (int arg : {0, 1, 2, 5, 16, 31}) cases.push_back({kDown, arg, width});
    for (int arg : {0, 1, 3, 8, 17, 31}) cases.push_back({kXor, arg, width});
  }
  const size_t n = cases.size() * 32;
  for (const ModeCase& mc : modes_to_test()) {
    SCOPED_TRACE(mc.name);
    ModeScope scope(mc);
    DeviceArray<ShuffleCase> d_cases(cases);
    DeviceArray<int> d_int(n);
    DeviceArray<double> d_double(n);
    DeviceArray<__half2> d_half2(n);
    ASSERT_TRUE(d_cases.ok() && d_int.ok() && d_double.ok() && d_half2.ok());
    EMU_ASSERT_CUDA(dsconv::cuda::launch(shuffle_all, dim3(static_cast<unsigned>(cases.size())), dim3(32), 0, nullptr,
                                         d_cases.get(), d_int.get(), d_double.get(), d_half2.get()));
    const std::vector<int> gi = d_int.download();
    const std::vector<double> gd = d_double.download();
    const std::vector<__half2> gh = d_half2.download();
    for (size_t k = 0; k < cases.size(); ++k) {
      const ShuffleCase& c = cases[k];
      for (int lane = 0; lane < 32; ++lane) {
        const int src = model_source(c.kind, lane, c.arg, c.width);
        const size_t i = k * 32 + static_cast<size_t>(lane);
        ASSERT_EQ(gi[i], src * 37 + 5) << "kind " << c.kind << " arg " << c.arg << " width " << c.width << " lane "
                                       << lane;
        ASSERT_EQ(gd[i], src + 0.25) << "kind " << c.kind << " arg " << c.arg << " width " << c.width;
        const float2 h = __half22float2(gh[i]);
        ASSERT_EQ(h.x, static_cast<float>(src)) << "kind " << c.kind << " arg " << c.arg << " width " << c.width;
        ASSERT_EQ(h.y, static_cast<float>(-src));
      }
    }
  }
}

// The classic warp reduction, and two disjoint half-warp groups shuffling under their own masks.
__global__ void warp_reductions(const int* in, int* full_sum, int* half_sums) {
  const int lane = static_cast<int>(threadIdx.x % 32);
  const int warp = static_cast<int>(threadIdx.x / 32);
  const int v = in[threadIdx.x];
  int s = v;
  for (int offset = 16; offset > 0; offset /= 2) s += __shfl_down_sync(0xffffffffu, s, static_cast<unsigned>(offset));
  if (lane == 0) full_sum[warp] = s;
  const unsigned half_mask = lane < 16 ? 0x0000ffffu : 0xffff0000u;
  int h = v;
  for (int m = 8; m > 0; m /= 2) h += __shfl_xor_sync(half_mask, h, m);
  half_sums[threadIdx.x] = h;
}

TEST(EmuWarp, ReductionsWithFullAndPartialMasksAreExact) {
  EMU_REQUIRE_DEVICE();
  std::vector<int> in(128);
  for (size_t i = 0; i < in.size(); ++i) in[i] = static_cast<int>((i * 7919) % 201) - 100;
  std::vector<int> expect_full(4, 0), expect_half(128, 0);
  for (size_t i = 0; i < 128; ++i) expect_full[i / 32] += in[i];
  for (size_t i = 0; i < 128; ++i)
    for (size_t j = i / 16 * 16; j < i / 16 * 16 + 16; ++j) expect_half[i] += in[j];
  for (const ModeCase& mc : modes_to_test()) {
    SCOPED_TRACE(mc.name);
    ModeScope scope(mc);
    DeviceArray<int> d_in(in), d_full(4), d_half(128);
    EMU_ASSERT_CUDA(
        dsconv::cuda::launch(warp_reductions, dim3(1), dim3(128), 0, nullptr, d_in.get(), d_full.get(), d_half.get()));
    EXPECT_EQ(d_full.download(), expect_full);
    EXPECT_EQ(d_half.download(), expect_half);
  }
}

// Votes over a predicate pattern; lanes with lane % 3 == 0 sit out of the masked votes.
__global__ void votes(const int* pred, unsigned* out) {
  const int lane = static_cast<int>(threadIdx.x % 32);
  const int p = pred[threadIdx.x];
  unsigned* o = out + 6 * threadIdx.x;
  o[0] = __ballot_sync(0xffffffffu, p);
  o[1] = static_cast<unsigned>(__any_sync(0xffffffffu, p));
  o[2] = static_cast<unsigned>(__all_sync(0xffffffffu, p));
  unsigned mask = 0;
  for (int l = 0; l < 32; ++l) mask |= (l % 3 != 0 ? 1u : 0u) << l;
  if (lane % 3 != 0) {
    o[3] = __ballot_sync(mask, p);
    o[4] = static_cast<unsigned>(__any_sync(mask, p));
    o[5] = static_cast<unsigned>(__all_sync(mask, p));
  } else {
    o[3] = o[4] = o[5] = 0xdeadbeefu;
  }
}

TEST(EmuWarp, BallotAnyAllAreExact) {
  EMU_REQUIRE_DEVICE();
  // Warp 0: a mixed pattern; warp 1: all true; warp 2: all false; warp 3: true only where lane % 3 != 0.
  std::vector<int> pred(128, 0);
  for (int l = 0; l < 32; ++l) {
    pred[static_cast<size_t>(l)] = (l * 5 + 1) % 7 < 3 ? l + 1 : 0;
    pred[static_cast<size_t>(32 + l)] = 9;
    pred[static_cast<size_t>(96 + l)] = l % 3 != 0;
  }
  std::vector<unsigned> expect(6 * 128);
  unsigned mask = 0;
  for (int l = 0; l < 32; ++l) mask |= (l % 3 != 0 ? 1u : 0u) << l;
  for (int w = 0; w < 4; ++w) {
    unsigned ballot = 0;
    for (int l = 0; l < 32; ++l) ballot |= (pred[static_cast<size_t>(32 * w + l)] != 0 ? 1u : 0u) << l;
    for (int l = 0; l < 32; ++l) {
      unsigned* e = &expect[6 * static_cast<size_t>(32 * w + l)];
      e[0] = ballot;
      e[1] = ballot != 0;
      e[2] = ballot == 0xffffffffu;
      if (l % 3 != 0) {
        e[3] = ballot & mask;
        e[4] = (ballot & mask) != 0;
        e[5] = (ballot & mask) == mask;
      } else {
        e[3] = e[4] = e[5] = 0xdeadbeefu;
      }
    }
  }
  for (const ModeCase& mc : modes_to_test()) {
    SCOPED_TRACE(mc.name);
    ModeScope scope(mc);
    DeviceArray<int> d_pred(pred);
    DeviceArray<unsigned> d_out(expect.size());
    EMU_ASSERT_CUDA(dsconv::cuda::launch(votes, dim3(1), dim3(128), 0, nullptr, d_pred.get(), d_out.get()));
    EXPECT_EQ(d_out.download(), expect);
  }
}

// A block of 40 threads: the second warp has 8 lanes, and the mask names only those.
__global__ void partial_warp(int* out) {
  const unsigned lane = threadIdx.x % 32;
  const unsigned mask = threadIdx.x < 32 ? 0xffffffffu : 0x000000ffu;
  int v = static_cast<int>(threadIdx.x) + 1;
  for (int m = 1; m < (threadIdx.x < 32 ? 32 : 8); m *= 2) v += __shfl_xor_sync(mask, v, m);
  out[threadIdx.x] = v;
  out[40 + threadIdx.x] = static_cast<int>(__ballot_sync(mask, lane % 2 == 0));
}

TEST(EmuWarp, PartialWarpWithAMatchingMask) {
  EMU_REQUIRE_DEVICE();
  std::vector<int> expect(80);
  for (int t = 0; t < 40; ++t) {
    expect[static_cast<size_t>(t)] = t < 32 ? 32 * 33 / 2 : (33 + 40) * 8 / 2;
    expect[static_cast<size_t>(40 + t)] = static_cast<int>(t < 32 ? 0x55555555u : 0x55u);
  }
  for (const ModeCase& mc : modes_to_test()) {
    SCOPED_TRACE(mc.name);
    ModeScope scope(mc);
    DeviceArray<int> out(80);
    EMU_ASSERT_CUDA(dsconv::cuda::launch(partial_warp, dim3(1), dim3(40), 0, nullptr, out.get()));
    EXPECT_EQ(out.download(), expect);
  }
}

__global__ void match_and_reduce(unsigned* out) {
  const unsigned lane = threadIdx.x;
  unsigned* o = out + 8 * lane;
  o[0] = __match_any_sync(0xffffffffu, lane % 5);
  int all_pred = -1;
  o[1] = __match_all_sync(0xffffffffu, 42u, &all_pred);
  o[2] = static_cast<unsigned>(all_pred);
  o[3] = __match_all_sync(0xffffffffu, lane / 16, &all_pred);
  o[4] = static_cast<unsigned>(all_pred);
  o[5] = __reduce_add_sync(0xffffffffu, lane * 3u);
  o[6] = static_cast<unsigned>(__reduce_min_sync(0xffffffffu, static_cast<int>(lane) - 7));
  o[7] = static_cast<unsigned>(__reduce_max_sync(0xffffffffu, lane % 2 ? 0xfffffff0u : lane));
}

TEST(EmuWarp, MatchAndReduceAreExact) {
  EMU_REQUIRE_DEVICE();
  std::vector<unsigned> expect(8 * 32);
  for (unsigned l = 0; l < 32; ++l) {
    unsigned same = 0;
    for (unsigned k = 0; k < 32; ++k) same |= (k % 5 == l % 5 ? 1u : 0u) << k;
    unsigned* e = &expect[8 * l];
    e[0] = same;
    e[1] = 0xffffffffu;
    e[2] = 1;
    e[3] = 0;
    e[4] = 0;
    e[5] = 3u * (31 * 32 / 2);
    e[6] = static_cast<unsigned>(-7);
    e[7] = 0xfffffff0u;  // unsigned comparison
  }
  for (const ModeCase& mc : modes_to_test()) {
    SCOPED_TRACE(mc.name);
    ModeScope scope(mc);
    DeviceArray<unsigned> out(expect.size());
    EMU_ASSERT_CUDA(dsconv::cuda::launch(match_and_reduce, dim3(1), dim3(32), 0, nullptr, out.get()));
    EXPECT_EQ(out.download(), expect);
  }
}

// __syncwarp orders shared-memory traffic inside a warp; each warp uses its own slice.
__global__ void syncwarp_exchange(const int* in, int* out) {
  __shared__ int s[64];
  const int t = static_cast<int>(threadIdx.x);
  const int base = t / 32 * 32;
  s[t] = in[t];
  __syncwarp();
  out[t] = s[base + 31 - (t - base)];
  __syncwarp();
  s[t] = out[t] * 2;
  __syncwarp();
  out[64 + t] = s[base + (t - base + 1) % 32];
}

TEST(EmuWarp, SyncwarpOrdersSharedMemoryWithinAWarp) {
  EMU_REQUIRE_DEVICE();
  std::vector<int> in(64);
  for (int i = 0; i < 64; ++i) in[static_cast<size_t>(i)] = i * i - 40;
  std::vector<int> expect(128);
  for (int t = 0; t < 64; ++t) {
    const int base = t / 32 * 32;
    expect[static_cast<size_t>(t)] = in[static_cast<size_t>(base + 31 - (t - base))];
  }
  for (int t = 0; t < 64; ++t) {
    const int base = t / 32 * 32;
    expect[static_cast<size_t>(64 + t)] = 2 * expect[static_cast<size_t>(base + (t - base + 1) % 32)];
  }
  for (const ModeCase& mc : modes_to_test()) {
    SCOPED_TRACE(mc.name);
    ModeScope scope(mc);
    DeviceArray<int> d_in(in), d_out(128);
    EMU_ASSERT_CUDA(dsconv::cuda::launch(syncwarp_exchange, dim3(1), dim3(64), 0, nullptr, d_in.get(), d_out.get()));
    EXPECT_EQ(d_out.download(), expect);
  }
}

#if defined(DSCONV_CUDA_EMULATION)

// Misuse that hangs or is undefined on a GPU is reported by the emulator.
__global__ void shuffle_after_some_lanes_exit(int* out) {
  if (threadIdx.x >= 16) return;
  out[threadIdx.x] = __shfl_xor_sync(0xffffffffu, static_cast<int>(threadIdx.x), 1);
}

__global__ void lanes_disagree_on_the_mask(int* out) {
  const unsigned mask = threadIdx.x == 3 ? 0x0000ffffu : 0xffffffffu;
  out[threadIdx.x] = __shfl_sync(mask, static_cast<int>(threadIdx.x), 0);
}

__global__ void lane_outside_its_mask(int* out) {
  out[threadIdx.x] = __shfl_sync(0x1u, static_cast<int>(threadIdx.x), 0);
}

template <class... P>
void launch_one_warp(void (*kernel)(P...)) {
  int* out = nullptr;
  (void)cudaMalloc(reinterpret_cast<void**>(&out), 32 * sizeof(int));
  (void)dsconv::cuda::launch(kernel, dim3(1), dim3(32), 0, nullptr, out);
}

TEST(EmuWarpDeathTest, MisusedWarpCollectivesAbortWithAClearMessage) {
  GTEST_FLAG_SET(death_test_style, "threadsafe");
  for (const ModeCase& mc : modes_to_test()) {
    SCOPED_TRACE(mc.name);
    ModeScope scope(mc);
    EXPECT_DEATH(launch_one_warp(shuffle_after_some_lanes_exit),
                 "deadlock: .*16 have exited.*lanes 0x0000ffff wait in __shfl_xor_sync\\(mask 0xffffffff\\)");
    EXPECT_DEATH(launch_one_warp(lanes_disagree_on_the_mask), "lanes of warp 0 disagree");
    EXPECT_DEATH(launch_one_warp(lane_outside_its_mask), "__shfl_sync\\(mask 0x00000001\\) called by lane [1-9]");
  }
}

#endif

}  // namespace
}  // namespace dsconv::emu_test
