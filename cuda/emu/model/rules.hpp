// The memory rules of the performance model: how a warp's accesses of one instruction become 32-byte
// global sectors and shared-memory wavefronts. Pure functions of the lanes' addresses, tested with
// known answers in tests/model/test_model_rules.cpp; cuda/emu/model/README.md states each rule and
// where it comes from.
#pragma once

#include <cstdint>
#include <vector>

namespace dsconv::emu::model {

// One lane's part of a warp-level request: the bytes [address, address + size).
struct LaneAccess {
  unsigned lane = 0;     // 0..31
  uint64_t address = 0;  // global: the virtual address; shared: the offset in the block's shared window
  unsigned size = 0;     // 1, 2, 4, 8 or 16
};

// Global memory is moved between L2 and the SMs in 32-byte sectors (the unit Nsight Compute's
// lts__t_sectors counts).
inline constexpr uint64_t kSectorBytes = 32;

// The distinct sectors (address / 32) that a request's lanes touch, sorted. A request is served by
// exactly these sectors whatever the lanes' order: a coalesced 4-byte-per-lane warp touches 4, a
// gather whose lanes are 32 bytes or more apart touches 32.
void global_sectors(const LaneAccess* lanes, int n, std::vector<uint64_t>* sectors);

// Shared memory: 32 banks of 4-byte words; one wavefront serves at most one word per bank, and any
// number of lanes reading the same word (broadcast). Accesses wider than 4 bytes are served in
// phases, each at most 128 bytes: 8-byte accesses per half-warp (lanes 0-15, 16-31), 16-byte accesses
// per quarter-warp (lanes 0-7, ...). A phase costs as many wavefronts as the most words any one bank
// must deliver; the ideal is one wavefront per phase that has lanes.
inline constexpr int kSharedBanks = 32;
inline constexpr int kBankBytes = 4;

struct SharedCost {
  int wavefronts = 0;
  int ideal = 0;  // wavefronts - ideal = the extra wavefronts of bank conflicts
};
SharedCost shared_wavefronts(const LaneAccess* lanes, int n);

}  // namespace dsconv::emu::model
