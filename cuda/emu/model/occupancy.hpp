// Occupancy of one kernel on one device: resident blocks and warps per SM from the registers per
// thread (nvcc's ptxas report), the shared memory and the threads of a block, by the allocation rules
// of CUDA's occupancy calculator (cuda_occupancy.h) for compute capability 8.0 and later.
#pragma once

#include <cstdint>
#include <string>

#include "src/dispatch/device_info.hpp"

namespace dsconv::emu::model {

// Allocation granularities of compute capability 8.x and 9.0 (CUDA occupancy calculator): registers
// are allocated per warp in units of 256 from one of 4 SM sub-partitions (a warp's registers come
// from one sub-partition), shared memory per block in units of 128 bytes.
inline constexpr int kRegisterAllocationUnit = 256;
inline constexpr int kSubPartitions = 4;
inline constexpr int64_t kSharedAllocationUnit = 128;
inline constexpr int kMaxRegistersPerThread = 255;

struct OccupancyInput {
  int threads_per_block = 0;
  int registers_per_thread = 0;  // 0: unknown (not in the ptxas report); the register limit is then not applied
  int64_t smem_per_block = 0;    // static + dynamic bytes the kernel asks for (without the system's reserve)
};

struct Occupancy {
  bool launchable = false;  // false: the block cannot run on this device at all (reason says why)
  std::string reason;
  int warps_per_block = 0;
  int by_registers = 0, by_shared = 0, by_warps = 0, by_blocks = 0;  // blocks per SM each limit allows
  int blocks_per_sm = 0;
  int warps_per_sm = 0;
  double fraction = 0;  // warps_per_sm / the SM's maximum
  std::string limiter;  // "registers", "shared memory", "threads", "blocks" (the smallest; ties: this order)
};

Occupancy occupancy(const detail::DeviceInfo& device, const OccupancyInput& in);

// Waves of a grid: blocks / (blocks_per_sm * SMs), and the fraction of the last wave's slots that
// are busy (1 when the grid fills its last wave).
struct Waves {
  double waves = 0;
  double tail = 0;
};
Waves waves(const detail::DeviceInfo& device, const Occupancy& occ, int64_t blocks);

}  // namespace dsconv::emu::model
