#include "cuda/emu/model/roofline.hpp"

#include <algorithm>
#include <cmath>

#include "cuda/emu/model/rules.hpp"

namespace dsconv::emu::model {

Estimate estimate(const LaunchRecord& r, const Card& card, const EstimateInput& in) {
  Estimate e;
  const detail::DeviceInfo& dev = card_limits(card);
  const int64_t threads = static_cast<int64_t>(r.block[0]) * r.block[1] * r.block[2];
  OccupancyInput oi;
  oi.threads_per_block = static_cast<int>(threads);
  oi.registers_per_thread = in.registers_per_thread;
  oi.smem_per_block = static_cast<int64_t>(r.dynamic_smem_bytes) + in.static_smem_bytes;
  e.occ = occupancy(dev, oi);
  const int64_t blocks = static_cast<int64_t>(r.total_blocks);
  e.waves = waves(dev, e.occ, blocks);

  const double sector = static_cast<double>(kSectorBytes);
  // L1 serves a block phase's repeated loads when the phase's footprint fits the block's share of L1, a
  // proportional part of them when it does not.
  if (r.l1_repeat_sectors > 0 && e.occ.launchable) {
    const int resident =
        std::max(1, std::min(e.occ.blocks_per_sm, static_cast<int>(std::ceil(static_cast<double>(r.total_blocks) /
                                                                             static_cast<double>(dev.sm_count)))));
    const double l1 = l1_bytes_per_block(card, resident, oi.smem_per_block + dev.smem_reserved_per_block);
    const double footprint = r.l1_repeat_footprint / r.l1_repeat_sectors;
    e.l1_hit_bytes = r.l1_repeat_sectors * sector * (footprint > 0 ? std::min(1.0, l1 / footprint) : 1.0);
  }
  e.l2_load_bytes = r.global_load_sectors * sector - e.l1_hit_bytes;
  e.l2_store_bytes = r.global_store_sectors * sector;
  e.l2_bytes = e.l2_load_bytes + e.l2_store_bytes;
  e.dram_bytes = r.dram_read_bytes + r.dram_write_bytes;
  e.global_requests = r.global_load_requests + r.global_store_requests;
  e.sectors_per_request =
      e.global_requests > 0 ? (r.global_load_sectors + r.global_store_sectors) / e.global_requests : 0;
  e.smem_requests = r.smem_load_requests + r.smem_store_requests;
  e.smem_wavefronts_per_request = e.smem_requests > 0 ? r.smem_wavefronts / e.smem_requests : 0;
  e.smem_bank_conflicts = r.smem_wavefronts - r.smem_ideal_wavefronts;
  if (!e.occ.launchable || blocks <= 0) return e;
  e.valid = true;

  const double sms = dev.sm_count;
  const double clock = card.clock_ghz * 1e9;
  // Per-SM resources (shared-memory wavefronts, FMA pipes) serve the blocks one SM runs: the busiest
  // SM runs ceil(blocks / SMs) of them, which is where waves, the tail and an under-filled grid show.
  const double busiest_sm_blocks = std::ceil(static_cast<double>(blocks) / sms);
  const double per_block = 1.0 / static_cast<double>(blocks);
  e.t_smem = r.smem_wavefronts * per_block * busiest_sm_blocks / wavefront_rate_per_sm(card);
  e.t_fma = r.fmas * per_block * busiest_sm_blocks / (card.fp32_fma_per_clock * clock);
  e.t_tensor = r.mma_flops * per_block * busiest_sm_blocks / (card.tensor_tflops * 1e12 / sms);
  // Chip-wide resources.
  e.t_dram = e.dram_bytes / copy_bandwidth(card);
  e.t_l2 = e.l2_bytes / l2_bandwidth(card);

  // Latency: loads see L1 latency for the share L1 serves, DRAM latency for the share that misses L2, L2
  // latency for the rest.
  const double requested = r.global_load_sectors * sector;
  const double l1_share = requested > 0 ? e.l1_hit_bytes / requested : 0;
  const double miss = requested > 0 ? std::min(1.0 - l1_share, r.dram_read_bytes / requested) : 0;
  const double latency_s = (l1_share * card.l1_latency_cycles + miss * card.dram_latency_cycles +
                            (1 - l1_share - miss) * card.l2_latency_cycles) /
                           clock;
  e.latency_ns = latency_s * 1e9;
  if (r.global_load_requests > 0 && r.load_batches > 0) {
    e.loads_in_flight_per_thread = r.batched_loads / r.load_batches;
    const double bytes_per_request = e.l2_load_bytes / r.global_load_requests;  // per warp
    const double resident_blocks = std::min(static_cast<double>(blocks), e.occ.blocks_per_sm * sms);
    const double busy_sms = std::min(sms, static_cast<double>(blocks));
    const double warps = resident_blocks * e.occ.warps_per_block;
    const double in_flight = warps * e.loads_in_flight_per_thread * bytes_per_request;
    e.bytes_in_flight_per_sm = in_flight / busy_sms;
    e.bytes_in_flight_needed_per_sm = copy_bandwidth(card) / sms * card.dram_latency_cycles / clock;
    // Little's law: a device with `in_flight` bytes outstanding moves in_flight / latency bytes per second.
    e.t_latency = e.l2_load_bytes * latency_s / in_flight;
    // A block lasts at least its slowest thread's batches of serial round trips, and the waves of blocks
    // on an SM's slots run one after another.
    e.t_chain = std::ceil(e.waves.waves) * (r.block_chain_batches / static_cast<double>(blocks)) * latency_s;
    // However well the transfers overlap, the first bytes arrive one round trip after the launch.
    e.t_fill = latency_s;
  }

  struct Term {
    double t;
    const char* name;
  };
  // Throughput terms overlap perfectly (the roofline); the first round trip comes before them all; a
  // chain of serial round trips is a bound of its own.
  const Term terms[] = {{e.t_dram, "dram"}, {e.t_l2, "l2"},         {e.t_smem, "smem"},
                        {e.t_fma, "fma"},   {e.t_tensor, "tensor"}, {e.t_latency, "in-flight"}};
  const Term* worst = &terms[0];
  for (const Term& t : terms) {
    if (t.t > worst->t) worst = &t;
  }
  double time = worst->t + (worst->t > 0 ? e.t_fill : 0);
  e.bound = worst->name;
  if (e.t_chain > time) {
    time = e.t_chain;
    e.bound = "chain";
  }
  e.time_us = time * 1e6;
  e.pct_copy_bw = time > 0 ? in.ideal_bytes / time / copy_bandwidth(card) * 100.0 : 0;
  return e;
}

}  // namespace dsconv::emu::model
