#include "cuda/emu/model/occupancy.hpp"

#include <algorithm>
#include <cmath>

namespace dsconv::emu::model {

namespace {
int64_t round_up(int64_t v, int64_t unit) { return (v + unit - 1) / unit * unit; }
}  // namespace

Occupancy occupancy(const detail::DeviceInfo& d, const OccupancyInput& in) {
  Occupancy o;
  const int max_threads_per_block = 1024;
  if (in.threads_per_block < 1 || in.threads_per_block > max_threads_per_block) {
    o.reason = "a block of " + std::to_string(in.threads_per_block) + " threads (1 to 1024 can run)";
    return o;
  }
  if (in.registers_per_thread > kMaxRegistersPerThread) {
    o.reason = std::to_string(in.registers_per_thread) + " registers per thread (at most 255)";
    return o;
  }
  if (in.smem_per_block > d.smem_per_block_optin) {
    o.reason = std::to_string(in.smem_per_block) + " bytes of shared memory per block, over the " +
               std::to_string(d.smem_per_block_optin) + " a block can have on " + d.name;
    return o;
  }
  o.warps_per_block = (in.threads_per_block + 31) / 32;
  const int max_warps = d.max_threads_per_sm / 32;
  o.by_warps = max_warps / o.warps_per_block;
  o.by_blocks = d.max_blocks_per_sm;
  if (in.registers_per_thread > 0) {
    const int64_t per_warp = round_up(static_cast<int64_t>(in.registers_per_thread) * 32, kRegisterAllocationUnit);
    const int64_t warps_per_partition = (d.regs_per_sm / kSubPartitions) / per_warp;
    o.by_registers = static_cast<int>(warps_per_partition * kSubPartitions / o.warps_per_block);
  } else {
    o.by_registers = o.by_blocks;  // unknown: not a limit (the row says the registers are unknown)
  }
  // The system reserves smem_reserved_per_block (1 KiB) of every block's shared memory on 8.0+.
  const int64_t smem = round_up(in.smem_per_block + d.smem_reserved_per_block, kSharedAllocationUnit);
  o.by_shared = smem > 0 ? static_cast<int>(d.smem_per_sm / smem) : o.by_blocks;
  o.blocks_per_sm = std::min({o.by_registers, o.by_shared, o.by_warps, o.by_blocks});
  if (o.blocks_per_sm == o.by_registers && in.registers_per_thread > 0) {
    o.limiter = "registers";
  } else if (o.blocks_per_sm == o.by_shared) {
    o.limiter = "shared memory";
  } else if (o.blocks_per_sm == o.by_warps) {
    o.limiter = "threads";
  } else {
    o.limiter = "blocks";
  }
  if (o.blocks_per_sm == 0) {
    o.reason = "no block fits an SM (limited by " + o.limiter + ")";
    return o;
  }
  o.launchable = true;
  o.warps_per_sm = o.blocks_per_sm * o.warps_per_block;
  o.fraction = static_cast<double>(o.warps_per_sm) / max_warps;
  return o;
}

Waves waves(const detail::DeviceInfo& d, const Occupancy& occ, int64_t blocks) {
  Waves w;
  if (!occ.launchable || blocks <= 0) return w;
  const double slots = static_cast<double>(occ.blocks_per_sm) * d.sm_count;
  w.waves = static_cast<double>(blocks) / slots;
  const double last = w.waves - std::floor(w.waves);
  w.tail = last == 0 ? 1.0 : last;
  return w;
}

}  // namespace dsconv::emu::model
