// The roofline estimate of one counted launch on one card: modelled time as the largest of the
// throughput and latency terms, waves and the tail applied, and the modelled share of the card's copy
// bandwidth. A model (uncalibrated until a GPU run): cuda/emu/model/README.md says what it leaves out.
#pragma once

#include <cstdint>
#include <string>

#include "cuda/emu/model/cards.hpp"
#include "cuda/emu/model/launch_record.hpp"
#include "cuda/emu/model/occupancy.hpp"

namespace dsconv::emu::model {

struct EstimateInput {
  int registers_per_thread = 0;   // from the ptxas report; 0 = unknown
  int64_t static_smem_bytes = 0;  // from the ptxas report (the emulator sees only dynamic shared memory)
  double ideal_bytes = 0;         // each input byte read once, each output byte written once
};

struct Estimate {
  bool valid = false;  // false: the kernel cannot run on the card (occupancy.reason says why)
  Occupancy occ;
  Waves waves;
  // Traffic and efficiency.
  double l2_load_bytes = 0, l2_store_bytes = 0, l2_bytes = 0;  // sectors * 32, less what L1 serves
  double l1_hit_bytes = 0;  // repeated loads of a block phase that its share of L1 holds (LaunchRecord)
  double dram_bytes = 0;
  double global_requests = 0;
  double sectors_per_request = 0;  // loads and stores together
  double smem_requests = 0;
  double smem_wavefronts_per_request = 0;
  double smem_bank_conflicts = 0;  // wavefronts beyond the ideal
  // Memory-level parallelism (Little's law).
  double loads_in_flight_per_thread = 0;     // mean global loads a thread issues before it waits
  double bytes_in_flight_per_sm = 0;         // resident warps x loads in flight x bytes per request
  double bytes_in_flight_needed_per_sm = 0;  // copy bandwidth per SM x memory latency
  double latency_ns = 0;                     // the blend of L2 and DRAM latency the loads see
  // Terms, seconds. Throughput terms (the roofline) overlap: time = the largest of them plus t_fill, or
  // t_chain when that is longer.
  double t_dram = 0, t_l2 = 0, t_smem = 0, t_fma = 0, t_tensor = 0;
  double t_latency = 0;  // Little's law: load bytes / (bytes in flight / latency)
  double t_fill = 0;     // one round trip before the first bytes arrive (when the kernel loads at all)
  double t_chain = 0;    // waves x the mean block's serial round trips
  double time_us = 0;
  std::string bound;       // "dram", "l2", "smem", "fma", "tensor", "in-flight" (Little), "chain"
  double pct_copy_bw = 0;  // ideal_bytes / time as a percentage of the card's copy bandwidth
};

Estimate estimate(const LaunchRecord& r, const Card& card, const EstimateInput& in);

}  // namespace dsconv::emu::model
