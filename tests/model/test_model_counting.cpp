// The counter on synthetic kernels whose traffic is known from first principles: each expectation is
// derived in the comment beside it from the kernel's access pattern and the hardware rule (32-byte
// sectors, 32 banks of 4 bytes, 8-byte accesses per half-warp, 16-byte per quarter-warp).
#include <gtest/gtest.h>

#include <cstdint>
#include <string>
#include <vector>

#include "cuda/emu/model/capture.hpp"
#include "tests/model/model_kernels.hpp"

namespace dsconv::model_test {
namespace {

using emu::model::LaunchRecord;
using emu::model::SiteRecord;

// Device memory for a test (emulated cudaMalloc: what the model counts as global memory).
class Device {
 public:
  ~Device() {
    for (void* p : ptrs_) cudaFree(p);
  }
  float* floats(size_t n) {
    void* p = nullptr;
    EXPECT_EQ(cudaMalloc(&p, n * sizeof(float)), cudaSuccess);
    EXPECT_EQ(cudaMemset(p, 0, n * sizeof(float)), cudaSuccess);
    ptrs_.push_back(p);
    return static_cast<float*>(p);
  }

 private:
  std::vector<void*> ptrs_;
};

// Counts what `launch` runs; exactly one launch is expected.
template <class F>
LaunchRecord count_one(F launch, uint64_t max_blocks = 0) {
  emu::model::CaptureOptions o;
  o.max_blocks = max_blocks;
  std::string error;
  EXPECT_TRUE(emu::model::begin_capture(o, &error)) << error;
  const cudaError_t e = launch();
  std::vector<LaunchRecord> r = emu::model::end_capture();
  EXPECT_EQ(e, cudaSuccess);
  EXPECT_EQ(r.size(), 1u);
  return r.empty() ? LaunchRecord{} : r[0];
}

TEST(ModelCounting, CoalescedCopyIsFourSectorsPerRequestAndDramIsIdeal) {
  Device d;
  const int n = 64 * 256;  // 64 blocks of 256 threads, 8 warps each
  float* x = d.floats(n);
  float* y = d.floats(n);
  const LaunchRecord r = count_one([&] { return copy_f32(x, y, n, 256); });
  // Each warp loads once and stores once: n / 32 requests of each.
  EXPECT_EQ(r.global_load_requests, n / 32);
  EXPECT_EQ(r.global_store_requests, n / 32);
  // 32 lanes x 4 bytes = 128 contiguous bytes starting at a multiple of 128 (cudaMalloc aligns to 256): 4 sectors.
  EXPECT_EQ(r.global_load_sectors / r.global_load_requests, 4.0);
  EXPECT_EQ(r.global_store_sectors / r.global_store_requests, 4.0);
  // Every byte read once and written once: DRAM traffic equals the ideal n * 4 bytes each way.
  EXPECT_EQ(r.dram_read_bytes, n * 4.0);
  EXPECT_EQ(r.dram_write_bytes, n * 4.0);
  EXPECT_EQ(r.global_load_bytes, n * 4.0);
  EXPECT_TRUE(r.exact);
  EXPECT_EQ(r.total_blocks, 64u);
  EXPECT_EQ(r.sampled_blocks, 64u);
  EXPECT_EQ(r.smem_load_requests + r.smem_store_requests, 0.0);
}

TEST(ModelCounting, StridedGatherTouchesOneSectorPerLane) {
  Device d;
  const int n = 32 * 8;
  const int stride = 8;  // 8 floats = 32 bytes: every lane's element starts its own sector
  float* x = d.floats(static_cast<size_t>(n) * stride);
  float* y = d.floats(n);
  const LaunchRecord r = count_one([&] { return gather_f32(x, y, n, stride, 64); });
  EXPECT_EQ(r.global_load_requests, n / 32);
  EXPECT_EQ(r.global_load_sectors / r.global_load_requests, 32.0);
  EXPECT_EQ(r.global_store_sectors / r.global_store_requests, 4.0);
  // L2 -> SM moves 32 bytes for each 4 bytes asked: 8x the requested bytes; DRAM reads n distinct sectors.
  EXPECT_EQ(r.global_load_sectors * 32.0, 8.0 * r.global_load_bytes);
  EXPECT_EQ(r.dram_read_bytes, n * 32.0);
}

TEST(ModelCounting, PartialWarpStillOneRequest) {
  Device d;
  const int n = 40;  // one full warp and one of 8 active lanes in a 64-thread block
  float* x = d.floats(64);
  float* y = d.floats(64);
  const LaunchRecord r = count_one([&] { return copy_f32(x, y, n, 64); });
  EXPECT_EQ(r.global_load_requests, 2.0);
  // Lanes 32..39: 8 x 4 = 32 bytes at byte 128 of the allocation: 1 sector; the full warp 4.
  EXPECT_EQ(r.global_load_sectors, 5.0);
}

TEST(ModelCounting, ThirtyTwoWayBankConflict) {
  Device d;
  float* y = d.floats(32);
  for (bool static_smem : {false, true}) {
    SCOPED_TRACE(static_smem ? "static __shared__" : "dynamic shared memory");
    // Word lane * 32 is in bank (lane * 32) % 32 = 0 for every lane: 32 distinct words in one bank,
    // 32 wavefronts for the store request and 32 for the load request, 1 each ideally.
    const LaunchRecord r = count_one([&] { return smem_strided_f32(y, 32, static_smem); });
    EXPECT_EQ(r.smem_store_requests, 1.0);
    EXPECT_EQ(r.smem_load_requests, 1.0);
    EXPECT_EQ(r.smem_wavefronts, 64.0);
    EXPECT_EQ(r.smem_ideal_wavefronts, 2.0);
    // Stride 33 puts lane l in bank l % 32: conflict-free.
    const LaunchRecord free = count_one([&] { return smem_strided_f32(y, 33, static_smem); });
    EXPECT_EQ(free.smem_wavefronts, 2.0);
  }
}

TEST(ModelCounting, WorstSharedSiteIsNamedBySourceLine) {
  Device d;
  float* y = d.floats(32);
  const LaunchRecord r = count_one([&] { return smem_strided_f32(y, 32, false); });
  const SiteRecord* worst = nullptr;
  for (const SiteRecord& s : r.sites) {
    if (s.shared &&
        (worst == nullptr || s.wavefronts - s.ideal_wavefronts > worst->wavefronts - worst->ideal_wavefronts))
      worst = &s;
  }
  ASSERT_NE(worst, nullptr);
  EXPECT_EQ(worst->wavefronts - worst->ideal_wavefronts, 31.0);
  EXPECT_NE(worst->where.find("model_kernels.cpp:"), std::string::npos) << worst->where;
  EXPECT_NE(r.kernel.find("smem_strided_dynamic"), std::string::npos) << r.kernel;
}

TEST(ModelCounting, BroadcastIsOneWavefront) {
  Device d;
  float* y = d.floats(32);
  const LaunchRecord r = count_one([&] { return smem_broadcast_f32(y, 5); });
  // Lane 0's store is one request of one wavefront; 32 lanes reading one word are one wavefront.
  EXPECT_EQ(r.smem_store_requests, 1.0);
  EXPECT_EQ(r.smem_load_requests, 1.0);
  EXPECT_EQ(r.smem_wavefronts, 2.0);
  EXPECT_EQ(r.smem_ideal_wavefronts, 2.0);
}

TEST(ModelCounting, EightByteAccessesAreServedPerHalfWarp) {
  Device d;
  float* y = d.floats(32);
  // Contiguous float2: each half-warp asks 16 x 8 = 128 bytes in 32 distinct banks: 2 wavefronts per
  // request (the ideal), for the store and for the load.
  const LaunchRecord dense = count_one([&] { return smem_f32x2(y, 1); });
  EXPECT_EQ(dense.smem_store_requests, 1.0);
  EXPECT_EQ(dense.smem_load_requests, 1.0);
  EXPECT_EQ(dense.smem_wavefronts, 4.0);
  EXPECT_EQ(dense.smem_ideal_wavefronts, 4.0);
  // float2 index 2l: lane l's words are 4l and 4l+1, banks 4l % 32: lanes l and l+8 of a half-warp share
  // banks, 2 words per bank, 2 wavefronts per half-warp: 4 per request, 2 of them conflicts.
  const LaunchRecord strided = count_one([&] { return smem_f32x2(y, 2); });
  EXPECT_EQ(strided.smem_wavefronts, 8.0);
  EXPECT_EQ(strided.smem_ideal_wavefronts, 4.0);
}

TEST(ModelCounting, SixteenByteAccessesAreServedPerQuarterWarp) {
  Device d;
  float* y = d.floats(32);
  // Contiguous float4: 8 lanes x 16 bytes = 128 bytes per quarter-warp: 4 wavefronts per request.
  const LaunchRecord dense = count_one([&] { return smem_f32x4(y, 1); });
  EXPECT_EQ(dense.smem_store_requests, 1.0);
  EXPECT_EQ(dense.smem_load_requests, 1.0);
  EXPECT_EQ(dense.smem_wavefronts, 8.0);
  EXPECT_EQ(dense.smem_ideal_wavefronts, 8.0);
  // float4 index 2l (32 bytes apart): banks 8l % 32 repeat after 4 lanes, 2 words per bank in each
  // quarter: 8 wavefronts per request. This is the f16 staging store pattern of the specialized kernels.
  const LaunchRecord strided = count_one([&] { return smem_f32x4(y, 2); });
  EXPECT_EQ(strided.smem_wavefronts, 16.0);
  EXPECT_EQ(strided.smem_ideal_wavefronts, 8.0);
}

TEST(ModelCounting, EveryFmafIsCounted) {
  Device d;
  const int n = 300;  // 3 blocks of 128; 84 threads of the last block return early
  float* x = d.floats(n);
  float* y = d.floats(n);
  for (int k : {0, 1, 7}) {
    const LaunchRecord r = count_one([&] { return fma_chain(x, y, n, k); });
    EXPECT_EQ(r.fmas, static_cast<double>(n) * k) << "k = " << k;
  }
}

TEST(ModelCounting, LoadsInFlightEndWhereTheThreadWaits) {
  Device d;
  const int n = 256;
  float* x = d.floats(4 * n);
  float* y = d.floats(n);
  // Four loads issued before the store that uses them: one batch of 4 per thread.
  const LaunchRecord four = count_one([&] { return four_loads_then_store(x, y, n); });
  EXPECT_EQ(four.load_batches, n);
  EXPECT_EQ(four.batched_loads, 4.0 * n);
  EXPECT_EQ(four.max_batches_per_thread, 1.0);
  // Each load feeds an FMA before the next load is issued (program order): 4 batches of 1.
  const LaunchRecord alternating = count_one([&] { return load_fma_alternating(x, y, n); });
  EXPECT_EQ(alternating.load_batches, 4.0 * n);
  EXPECT_EQ(alternating.batched_loads, 4.0 * n);
  EXPECT_EQ(alternating.max_batches_per_thread, 4.0);
  EXPECT_EQ(alternating.block_chain_batches, 4.0 * (n / 128));  // every block's longest chain is 4
  EXPECT_EQ(alternating.fmas, 4.0 * n);
}

TEST(ModelCounting, AsyncCopiesAreInFlightUntilTheirWait) {
  Device d;
  float* x = d.floats(1536);
  float* y = d.floats(32);
  const LaunchRecord r = count_one([&] { return async_copy_groups(x, y); });
  // Three copy instructions read global memory (the zero fill reads nothing): 512 contiguous bytes each,
  // 16 sectors; four write 16 bytes a lane to shared memory, 4 conflict-free quarter-warp wavefronts each.
  EXPECT_EQ(r.global_load_requests, 3.0);
  EXPECT_EQ(r.global_load_sectors, 48.0);
  EXPECT_EQ(r.smem_store_requests, 4.0);
  EXPECT_EQ(r.smem_load_requests, 3.0);
  EXPECT_EQ(r.smem_wavefronts, 4 * 4.0 + 3 * 1.0);
  // wait<1> finds three loads in flight and waits for the older group, issued a group ahead: half a round
  // trip; wait<0> finds the last one and waits a whole round trip. The shared read between them, a store
  // and the copies themselves end no batch.
  EXPECT_EQ(r.load_batches, 2.0 * 32);
  EXPECT_EQ(r.batched_loads, 4.0 * 32);
  EXPECT_EQ(r.max_batches_per_thread, 1.5);
  EXPECT_EQ(r.block_chain_batches, 1.5);
}

TEST(ModelCounting, OrdinaryLoadsBeforeAWaitTravelWithTheCopies) {
  Device d;
  float* x = d.floats(1024);
  float* y = d.floats(32);
  const LaunchRecord r = count_one([&] { return async_copy_beside_load(x, y); });
  EXPECT_EQ(r.global_load_requests, 2.0);
  // The register load and the copy are in flight together when the thread waits: one batch of two loads
  // per thread, one round trip (not one for the load and another for the copy).
  EXPECT_EQ(r.load_batches, 32.0);
  EXPECT_EQ(r.batched_loads, 2.0 * 32);
  EXPECT_EQ(r.max_batches_per_thread, 1.0);
  EXPECT_EQ(r.block_chain_batches, 1.0);
}

// L1: a block's ordinary loads of sectors it already loaded in the same phase are repeats, with the
// phase's distinct footprint; a barrier starts a new phase; cp.async bypasses L1.
TEST(ModelCounting, RepeatedLoadsOfABlockPhaseAreL1Repeats) {
  Device d;
  float* x = d.floats(1024);
  float* y = d.floats(64);
  // Two warps x 3 repetitions x 4 sectors (128 bytes a warp) = 24 sectors, 4 of them distinct: 20 repeats,
  // each needing the phase's 128 bytes.
  LaunchRecord r = count_one([&] { return repeated_loads(x, y, 3, 1, false, false); });
  EXPECT_EQ(r.global_load_sectors, 24.0);
  EXPECT_EQ(r.l1_repeat_sectors, 20.0);
  EXPECT_EQ(r.l1_repeat_footprint, 20.0 * 128);
  // Period 3: every repetition reads other words, so only the second warp repeats the first: 3 x 4.
  r = count_one([&] { return repeated_loads(x, y, 3, 3, false, false); });
  EXPECT_EQ(r.l1_repeat_sectors, 12.0);
  EXPECT_EQ(r.l1_repeat_footprint, 12.0 * 3 * 128);
  // A barrier after each repetition: three phases of 8 sectors, 4 distinct in each.
  r = count_one([&] { return repeated_loads(x, y, 3, 1, true, false); });
  EXPECT_EQ(r.global_load_sectors, 24.0);
  EXPECT_EQ(r.l1_repeat_sectors, 12.0);
  EXPECT_EQ(r.l1_repeat_footprint, 12.0 * 128);
  // cp.async: 16 sectors a warp request, none of them an L1 repeat.
  r = count_one([&] { return repeated_loads(x, y, 3, 1, false, true); });
  EXPECT_EQ(r.global_load_sectors, 2 * 3 * 16.0);
  EXPECT_EQ(r.l1_repeat_sectors, 0.0);
}

TEST(ModelCounting, SampledUniformLaunchScalesToTheExactCounts) {
  Device d;
  const int n = 100 * 128;  // 100 identical blocks
  float* x = d.floats(n);
  float* y = d.floats(n);
  const LaunchRecord exact = count_one([&] { return copy_f32(x, y, n, 128); });
  const LaunchRecord sampled = count_one([&] { return copy_f32(x, y, n, 128); }, 10);
  EXPECT_FALSE(sampled.exact);
  EXPECT_EQ(sampled.sampled_blocks, 10u);
  EXPECT_EQ(sampled.total_blocks, 100u);
  // Every block does the same work, and the strata's weights add up to the grid: the scaled counts
  // equal the exact ones.
  EXPECT_DOUBLE_EQ(sampled.global_load_requests, exact.global_load_requests);
  EXPECT_DOUBLE_EQ(sampled.global_store_sectors, exact.global_store_sectors);
  EXPECT_DOUBLE_EQ(sampled.dram_read_bytes, exact.dram_read_bytes);
  EXPECT_DOUBLE_EQ(sampled.dram_write_bytes, exact.dram_write_bytes);
}

TEST(ModelCounting, SampledDramCountsSharedSectorsOnceAndIsBoundedByTheAllocation) {
  Device d;
  const int n = 64 * 128;
  float* y = d.floats(n);
  // Every thread reads x[0] (gather with stride 0): the whole launch reads one sector. Every sampled
  // block touches it, so it is counted once, not once per block the sample stands for.
  float* x = d.floats(n);
  const LaunchRecord same = count_one([&] { return gather_f32(x, y, n, 0, 128); }, 8);
  EXPECT_FALSE(same.exact);
  EXPECT_EQ(same.dram_read_bytes, 32.0);
  // y[i] = x[i] + x[i + 32]: block b reads floats [128b, 128b + 160), overlapping block b+1 by 32 floats;
  // the launch reads floats [0, n + 32) once: (n + 32) * 4 bytes. The sampled blocks (8 of 64, rarely
  // adjacent) each count their 160 floats, 8 x 160 x 8 = 10240 floats scaled, more than the (n + 32)
  // floats the allocation has: the bound gives the exact answer.
  float* w = d.floats(n + 32);
  const LaunchRecord exact = count_one([&] { return shifted_pair_sum(w, y, n, 32); });
  EXPECT_EQ(exact.dram_read_bytes, (n + 32) * 4.0);
  const LaunchRecord sampled = count_one([&] { return shifted_pair_sum(w, y, n, 32); }, 8);
  EXPECT_EQ(sampled.dram_read_bytes, (n + 32) * 4.0);
  EXPECT_EQ(sampled.dram_write_bytes, exact.dram_write_bytes);
}

TEST(ModelCounting, CaptureIsExclusiveAndLaunchesOutsideItAreNotCounted) {
  Device d;
  float* x = d.floats(64);
  float* y = d.floats(64);
  ASSERT_EQ(copy_f32(x, y, 64, 64), cudaSuccess);  // not captured
  std::string error;
  ASSERT_TRUE(emu::model::begin_capture({}, &error));
  EXPECT_FALSE(emu::model::begin_capture({}, &error));
  EXPECT_NE(error.find("already"), std::string::npos);
  ASSERT_EQ(copy_f32(x, y, 64, 64), cudaSuccess);
  ASSERT_EQ(copy_f32(x, y, 32, 32), cudaSuccess);
  const std::vector<LaunchRecord> r = emu::model::end_capture();
  ASSERT_EQ(r.size(), 2u);
  EXPECT_EQ(r[0].global_load_requests, 2.0);
  EXPECT_EQ(r[1].global_load_requests, 1.0);
  EXPECT_TRUE(emu::model::end_capture().empty());
}

}  // namespace
}  // namespace dsconv::model_test
