// The performance model's pure rules with known answers: sectors and wavefronts of hand-built warp
// requests, occupancy limited by each resource, waves, the roofline's terms, the card table and the
// ptxas report reader. Each expected value is derived in the comment beside it.
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "cuda/common/known_devices.hpp"
#include "cuda/emu/model/cards.hpp"
#include "cuda/emu/model/occupancy.hpp"
#include "cuda/emu/model/ptxas_report.hpp"
#include "cuda/emu/model/roofline.hpp"
#include "cuda/emu/model/rules.hpp"

namespace dsconv::model_test {
namespace {

using namespace emu::model;

std::vector<LaneAccess> warp(unsigned size, uint64_t base, uint64_t step, unsigned lanes = 32) {
  std::vector<LaneAccess> v;
  for (unsigned l = 0; l < lanes; ++l) v.push_back(LaneAccess{l, base + l * step, size});
  return v;
}

int sectors_of(const std::vector<LaneAccess>& v) {
  std::vector<uint64_t> s;
  global_sectors(v.data(), static_cast<int>(v.size()), &s);
  return static_cast<int>(s.size());
}

SharedCost shared_of(const std::vector<LaneAccess>& v) {
  return shared_wavefronts(v.data(), static_cast<int>(v.size()));
}

TEST(ModelRules, GlobalSectors) {
  EXPECT_EQ(sectors_of(warp(4, 0, 4)), 4);      // 128 contiguous bytes, 128-aligned
  EXPECT_EQ(sectors_of(warp(4, 16, 4)), 5);     // the same bytes shifted by 16 straddle one more sector
  EXPECT_EQ(sectors_of(warp(16, 0, 16)), 16);   // 512 contiguous bytes
  EXPECT_EQ(sectors_of(warp(4, 0, 32)), 32);    // one lane per sector
  EXPECT_EQ(sectors_of(warp(4, 0, 0)), 1);      // every lane the same word
  EXPECT_EQ(sectors_of(warp(2, 0, 2)), 2);      // 64 bytes of halves
  EXPECT_EQ(sectors_of(warp(8, 28, 0, 1)), 2);  // one 8-byte access across a sector boundary
}

TEST(ModelRules, SharedFourByteAccesses) {
  EXPECT_EQ(shared_of(warp(4, 0, 4)).wavefronts, 1);     // 32 lanes, 32 banks
  EXPECT_EQ(shared_of(warp(4, 0, 128)).wavefronts, 32);  // word 32l: all in bank 0
  EXPECT_EQ(shared_of(warp(4, 0, 8)).wavefronts, 2);     // word 2l: banks 0,2,..,30 twice
  EXPECT_EQ(shared_of(warp(4, 0, 132)).wavefronts, 1);   // word 33l: bank l
  EXPECT_EQ(shared_of(warp(4, 20, 0)).wavefronts, 1);    // broadcast
  EXPECT_EQ(shared_of(warp(1, 0, 1)).wavefronts, 1);     // 32 bytes in 8 words: no conflict
  EXPECT_EQ(shared_of(warp(4, 0, 128)).ideal, 1);
  EXPECT_EQ(shared_of(warp(4, 0, 128, 4)).wavefronts, 4);  // four lanes, bank 0: 4-way
}

TEST(ModelRules, SharedEightAndSixteenByteAccesses) {
  // 8 bytes: half-warps; 16 bytes: quarter-warps; one wavefront per phase when conflict-free.
  EXPECT_EQ(shared_of(warp(8, 0, 8)).wavefronts, 2);
  EXPECT_EQ(shared_of(warp(8, 0, 8)).ideal, 2);
  EXPECT_EQ(shared_of(warp(8, 0, 8, 16)).wavefronts, 1);  // only the first half-warp
  EXPECT_EQ(shared_of(warp(8, 0, 16)).wavefronts, 4);     // banks repeat after 8 lanes: 2 per half
  EXPECT_EQ(shared_of(warp(16, 0, 16)).wavefronts, 4);
  EXPECT_EQ(shared_of(warp(16, 0, 32)).wavefronts, 8);    // banks repeat after 4 lanes: 2 per quarter
  EXPECT_EQ(shared_of(warp(16, 0, 128)).wavefronts, 32);  // every lane at bank 0..3: 8 per quarter
  EXPECT_EQ(shared_of(warp(16, 0, 128)).ideal, 4);
  // The specialized kernels' f32 reads: 16 lanes per pixel read 16 x 8 contiguous bytes, the two
  // pixels of a warp 32 x 32 x 4 bytes apart (a channel chunk further): conflict-free.
  std::vector<LaneAccess> v;
  for (unsigned l = 0; l < 32; ++l) v.push_back(LaneAccess{l, (l / 16) * 4096 + (l % 16) * 8, 8});
  EXPECT_EQ(shared_of(v).wavefronts, 2);
}

TEST(ModelRules, CardsUseTheKnownDeviceLimits) {
  for (const Card& c : cards()) {
    SCOPED_TRACE(c.key);
    ASSERT_NE(cuda::known_device(c.arch), nullptr);
    EXPECT_EQ(find_card(c.key), &c);
    EXPECT_GT(c.dram_gbps, 0);
    EXPECT_GT(c.clock_ghz, 0);
  }
  const Card* h100 = find_card("h100");
  const Card* h200 = find_card("h200");
  ASSERT_NE(h100, nullptr);
  ASSERT_NE(h200, nullptr);
  EXPECT_EQ(card_limits(*h100).sm_count, 132);
  EXPECT_EQ(card_limits(*h200).sm_count, 132);
  EXPECT_EQ(h100->dram_gbps, 3352.0);
  EXPECT_EQ(h200->dram_gbps, 4800.0);
  EXPECT_EQ(find_card("sm_90"), h100);
  EXPECT_EQ(find_card("sm_80"), find_card("a100"));
  EXPECT_EQ(find_card("v100"), nullptr);
  // H100's FP32 peak: 132 SMs x 128 FMA x 1.98 GHz = 33.45e12 FMA/s (67 TFLOPS in the datasheet).
  EXPECT_NEAR(fma_rate(*h100), 132 * 128 * 1.98e9, 1e6);
}

const detail::DeviceInfo& sm(const char* arch) { return *cuda::known_device(arch); }

TEST(ModelRules, OccupancyLimitedByRegisters) {
  // 128 registers x 256 threads = 32768 of 65536: 2 blocks (16 warps) per SM.
  const Occupancy o = occupancy(sm("sm_90"), {256, 128, 0});
  EXPECT_TRUE(o.launchable);
  EXPECT_EQ(o.blocks_per_sm, 2);
  EXPECT_EQ(o.warps_per_sm, 16);
  EXPECT_EQ(o.limiter, "registers");
  // 33 registers round up to 40 (allocation unit 256 per warp = 8 per thread): 65536 / (40 x 256) = 6.4,
  // 6 blocks of 8 warps.
  const Occupancy g = occupancy(sm("sm_90"), {256, 33, 0});
  EXPECT_EQ(g.blocks_per_sm, 6);
  EXPECT_EQ(g.limiter, "registers");
}

TEST(ModelRules, OccupancyLimitedBySharedMemory) {
  // 100 KiB + the 1 KiB the system reserves per block = 103424 bytes; 228 KiB = 233472 per SM: 2 blocks.
  const Occupancy o = occupancy(sm("sm_90"), {128, 32, 100 * 1024});
  EXPECT_EQ(o.blocks_per_sm, 2);
  EXPECT_EQ(o.limiter, "shared memory");
  // On sm_86 (100 KiB per SM, 99 KiB per block at most): the same block fits nowhere.
  const Occupancy a10 = occupancy(sm("sm_86"), {128, 32, 100 * 1024});
  EXPECT_FALSE(a10.launchable);
  EXPECT_NE(a10.reason.find("shared memory"), std::string::npos);
  // 48 KiB + 1 KiB on sm_86: 100 KiB / 49 KiB = 2.04, 2 blocks.
  EXPECT_EQ(occupancy(sm("sm_86"), {128, 32, 48 * 1024}).blocks_per_sm, 2);
}

TEST(ModelRules, OccupancyLimitedByThreadsAndBlocks) {
  // 1024-thread blocks: 2048 threads per SM on sm_90 -> 2 blocks; 1536 on sm_86 -> 1.
  const Occupancy o = occupancy(sm("sm_90"), {1024, 16, 0});
  EXPECT_EQ(o.blocks_per_sm, 2);
  EXPECT_EQ(o.limiter, "threads");
  EXPECT_EQ(occupancy(sm("sm_86"), {1024, 16, 0}).blocks_per_sm, 1);
  // One-warp blocks: 64 fit by threads, 32 by the block limit of sm_90 (16 on sm_86).
  const Occupancy b = occupancy(sm("sm_90"), {32, 16, 0});
  EXPECT_EQ(b.blocks_per_sm, 32);
  EXPECT_EQ(b.limiter, "blocks");
  EXPECT_EQ(occupancy(sm("sm_86"), {32, 16, 0}).blocks_per_sm, 16);
  // Unknown registers (0) are not a limit.
  EXPECT_EQ(occupancy(sm("sm_90"), {256, 0, 0}).blocks_per_sm, 8);
  EXPECT_FALSE(occupancy(sm("sm_90"), {256, 256, 0}).launchable);
}

TEST(ModelRules, WavesAndTail) {
  const Occupancy o = occupancy(sm("sm_90"), {256, 128, 0});  // 2 blocks per SM: 264 slots
  const Waves w = waves(sm("sm_90"), o, 300);
  EXPECT_NEAR(w.waves, 300.0 / 264.0, 1e-12);
  EXPECT_NEAR(w.tail, 36.0 / 264.0, 1e-12);
  EXPECT_EQ(waves(sm("sm_90"), o, 528).tail, 1.0);
}

LaunchRecord record(double blocks, unsigned threads) {
  LaunchRecord r;
  r.total_blocks = static_cast<uint64_t>(blocks);
  r.sampled_blocks = r.total_blocks;
  r.block[0] = threads;
  return r;
}

TEST(ModelRules, RooflineDramBound) {
  const Card& h100 = *find_card("h100");
  LaunchRecord r = record(1320, 256);
  r.dram_read_bytes = 100e6;
  r.dram_write_bytes = 100e6;
  r.global_load_sectors = 100e6 / 32;
  r.global_store_sectors = 100e6 / 32;
  EstimateInput in;
  in.registers_per_thread = 32;
  in.ideal_bytes = 200e6;
  const Estimate e = estimate(r, h100, in);
  ASSERT_TRUE(e.valid);
  EXPECT_EQ(e.bound, "dram");
  // 200 MB at 0.9 x 3352 GB/s = 66.3 us; ideal traffic then reaches 100% of the copy bandwidth.
  EXPECT_NEAR(e.time_us, 200e6 / (0.9 * 3352e9) * 1e6, 1e-6);
  EXPECT_NEAR(e.pct_copy_bw, 100.0, 1e-9);
  // The same traffic on H200's 4.8 TB/s takes 3352 / 4800 of the time.
  EXPECT_NEAR(estimate(r, *find_card("h200"), in).time_us, e.time_us * 3352.0 / 4800.0, 1e-6);
}

TEST(ModelRules, RooflineFmaBoundCountsTheBusiestSm) {
  const Card& h100 = *find_card("h100");
  // 133 blocks on 132 SMs: one SM runs 2 blocks, so the FMA term is 2 blocks' work at one SM's rate.
  LaunchRecord r = record(133, 128);
  r.fmas = 133 * 1e6;
  const Estimate e = estimate(r, h100, {});
  EXPECT_EQ(e.bound, "fma");
  EXPECT_NEAR(e.t_fma, 2e6 / (128 * 1.98e9), 1e-15);
}

TEST(ModelRules, RooflineSharedMemoryAndLatencyTerms) {
  const Card& h100 = *find_card("h100");
  LaunchRecord r = record(132, 128);
  r.smem_wavefronts = 132 * 1e5;  // 1e5 wavefronts per SM at 1 per clock
  const Estimate s = estimate(r, h100, {});
  EXPECT_EQ(s.bound, "smem");
  EXPECT_NEAR(s.t_smem, 1e5 / 1.98e9, 1e-15);
  // Latency: one block per SM, 4 warps, one 128-byte request in flight per warp, all from DRAM:
  // 132 x 4 x 128 bytes in flight per 400 cycles; 10 MB need 10e6 / 67584 round trips of 202 ns, after
  // the first round trip.
  LaunchRecord l = record(132, 128);
  l.global_load_requests = 10e6 / 128;
  l.global_load_sectors = 10e6 / 32;
  l.dram_read_bytes = 10e6;
  l.load_batches = 1;
  l.batched_loads = 1;
  l.max_batches_per_thread = 1;
  l.block_chain_batches = 132;
  const Estimate e = estimate(l, h100, {});
  EXPECT_EQ(e.bound, "in-flight");
  EXPECT_NEAR(e.t_latency, 10e6 / (132 * 4 * 128.0) * 400 / 1.98e9, 1e-12);
  EXPECT_NEAR(e.time_us, (10e6 / (132 * 4 * 128.0) + 1) * 400 / 1.98e9 * 1e6, 1e-6);
  // A chain of 1000 serial round trips per block outlasts it.
  l.block_chain_batches = 132 * 1000.0;
  const Estimate c = estimate(l, h100, {});
  EXPECT_EQ(c.bound, "chain");
  EXPECT_NEAR(c.time_us, 1000 * 400 / 1.98e9 * 1e6, 1e-6);
  EXPECT_NEAR(e.bytes_in_flight_per_sm, 4 * 128.0, 1e-9);
}

// L1: the unified L1 + shared memory less the carveout the driver picks (the smallest size that holds the
// resident blocks' shared memory), shared by the resident blocks; repeats whose phase footprint fits are
// served, a proportional part of the others.
TEST(ModelRules, L1ServesRepeatsThatFitTheBlocksShare) {
  const Card& h100 = *find_card("h100");
  EXPECT_EQ(l1_bytes_per_block(h100, 1, 0), 256.0 * 1024);
  EXPECT_EQ(l1_bytes_per_block(h100, 1, 101 * 1024), (256.0 - 132) * 1024);     // carveout 132 KiB
  EXPECT_EQ(l1_bytes_per_block(h100, 4, 17 * 1024), (256.0 - 100) * 1024 / 4);  // 68 KiB: carveout 100 KiB
  EXPECT_EQ(l1_bytes_per_block(*find_card("sm_86"), 2, 40 * 1024), (128.0 - 100) * 1024 / 2);
  EXPECT_EQ(l1_bytes_per_block(h100, 0, 0), 0.0);

  // 132 blocks of 128 threads, one per SM, no shared memory but the system's 1 KiB: carveout 8 KiB, L1 248 KiB.
  LaunchRecord r = record(132, 128);
  r.global_load_requests = 1000;
  r.global_load_sectors = 4000;
  r.l1_repeat_sectors = 3000;
  r.l1_repeat_footprint = 3000 * 64e3;  // 64 KB phases: they fit
  Estimate e = estimate(r, h100, {});
  EXPECT_EQ(e.l1_hit_bytes, 3000 * 32.0);
  EXPECT_EQ(e.l2_load_bytes, 1000 * 32.0);
  r.l1_repeat_footprint = 3000 * 496.0 * 1024;  // 496 KiB phases: half of each fits
  e = estimate(r, h100, {});
  EXPECT_EQ(e.l1_hit_bytes, 3000 * 32.0 * 0.5);
  EXPECT_EQ(e.l2_load_bytes, 4000 * 32.0 - 1500 * 32.0);
  EXPECT_EQ(e.l2_bytes, e.l2_load_bytes + e.l2_store_bytes);
}

TEST(ModelRules, PtxasReport) {
  const std::string text =
      "# ptxas resource usage\n"
      "arch      regs spill_store spill_load  stack     smem  kernel\n"
      "sm_80       40           0          0      0        0  void ns::(anonymous namespace)::k<float, 3>(ns::P)\n"
      "sm_90       64           0          0      0     1024  void ns::(anonymous namespace)::k<float, 3>(ns::P)\n"
      "sm_90       72           2          2     16        0  void ns::other(int)\n"
      "garbage\n";
  std::string error;
  const PtxasReport r = PtxasReport::parse(text, &error);
  EXPECT_NE(error.find("line 6"), std::string::npos) << error;
  ASSERT_EQ(r.rows().size(), 3u);
  const KernelResources* k = r.find("ns::(anonymous namespace)::k<float, 3>(ns::P)", "sm_90");
  ASSERT_NE(k, nullptr);
  EXPECT_EQ(k->registers, 64);
  EXPECT_EQ(k->static_smem_bytes, 1024);
  EXPECT_EQ(r.find("void  ns::(anonymous namespace)::k<float, 3>(ns::P)", "sm_80")->registers, 40);
  EXPECT_EQ(r.find("ns::(anonymous namespace)::k<float, 3>(ns::P)", "sm_89")->registers, 40);  // first listed
  EXPECT_EQ(r.find("ns::missing()", "sm_90"), nullptr);
  std::string missing;
  EXPECT_TRUE(PtxasReport::load("/nonexistent/ptxas_report.txt", &missing).rows().empty());
  EXPECT_NE(missing.find("/nonexistent/ptxas_report.txt"), std::string::npos);
}

}  // namespace
}  // namespace dsconv::model_test
