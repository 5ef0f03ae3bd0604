// What the performance model counted for one kernel launch on the emulator. Filled by the counter
// (cuda/emu/model/counter.cpp) in an instrumented build; read by the analysis (roofline.hpp) and the
// `dsconv profile` command. Counts are doubles because a sampled launch scales its blocks' counts by
// the blocks each one stands for; an unsampled launch (exact == true) holds whole numbers.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace dsconv::emu::model {

// One static access site (one load or store instruction of the emulated kernel, after inlining).
struct SiteRecord {
  uint64_t pc = 0;      // address after the instrumentation call, in this process
  std::string where;    // "nhwc_specialized.cu:128 (device_ops.cuh:151 load_smem2)", or module+offset
  bool shared = false;  // shared memory (else global)
  bool store = false;
  unsigned width = 0;     // bytes per lane
  double requests = 0;    // warp-level requests
  double sectors = 0;     // global: 32-byte sectors
  double wavefronts = 0;  // shared: wavefronts
  double ideal_wavefronts = 0;
  double bytes = 0;  // bytes the lanes asked for
};

struct LaunchRecord {
  std::string kernel;  // demangled, as nvcc's ptxas report spells it
  unsigned grid[3] = {1, 1, 1}, block[3] = {1, 1, 1};
  uint64_t dynamic_smem_bytes = 0;
  uint64_t total_blocks = 0;
  uint64_t sampled_blocks = 0;  // blocks that ran and were counted
  bool exact = true;            // every block ran: the counts are exact for the emulated execution

  // Global memory: warp-level requests, the 32-byte sectors they touch (bytes L2 <-> SM = sectors * 32)
  // and the bytes the lanes asked for.
  double global_load_requests = 0, global_load_sectors = 0, global_load_bytes = 0;
  double global_store_requests = 0, global_store_sectors = 0, global_store_bytes = 0;
  // Compulsory DRAM traffic: distinct sectors read and written in the launch, times 32. Sampled
  // launches: per allocation, min(sampled distinct sectors * blocks / sampled blocks, the allocation's
  // sectors).
  double dram_read_bytes = 0, dram_write_bytes = 0;
  // L1: sectors of ordinary global loads that the same block already loaded in the same phase (between two
  // __syncthreads), and the sum over them of that phase's distinct footprint in bytes (footprint / sectors:
  // the footprint a repeat needs L1 to hold). The analysis serves them from the L1 the card leaves a block.
  double l1_repeat_sectors = 0, l1_repeat_footprint = 0;

  // Shared memory.
  double smem_load_requests = 0, smem_store_requests = 0;
  double smem_wavefronts = 0, smem_ideal_wavefronts = 0;

  // Work: FP32 fused multiply-adds (every fmaf the kernel executed) and tensor-core FLOPs (none yet).
  double fmas = 0, mma_flops = 0;

  // Memory-level parallelism: a thread's global loads in program order, split into batches where it
  // must wait (an FMA, a store, a shared-memory access, a barrier or warp collective). threads: the
  // threads counted (scaled like the rest).
  double threads = 0;
  double load_batches = 0, batched_loads = 0;  // sums over threads
  double max_batches_per_thread = 0;           // the longest chain of waits of any counted thread
  double block_chain_batches = 0;              // sum over blocks of the longest chain of any of the block's threads

  std::vector<SiteRecord> sites;  // every site, in first-executed order
};

// The site worth naming in each space: the shared site with the most wavefronts beyond the ideal
// (bank conflicts), the global site with the most sectors beyond the bytes its lanes asked for
// (uncoalesced); nullptr when no site has any such excess.
inline const SiteRecord* worst_shared_site(const LaunchRecord& r) {
  const SiteRecord* worst = nullptr;
  double most = 0;
  for (const SiteRecord& s : r.sites) {
    const double extra = s.wavefronts - s.ideal_wavefronts;
    if (s.shared && extra > most) worst = &s, most = extra;
  }
  return worst;
}
inline const SiteRecord* worst_global_site(const LaunchRecord& r) {
  const SiteRecord* worst = nullptr;
  double most = 0;
  for (const SiteRecord& s : r.sites) {
    const double extra = s.sectors - s.bytes / 32.0;  // 32-byte sectors
    if (!s.shared && extra > most) worst = &s, most = extra;
  }
  return worst;
}

}  // namespace dsconv::emu::model
