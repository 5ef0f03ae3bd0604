// The cards the performance model can describe: what it needs beyond the architectural limits of
// cuda/common/known_devices.hpp (SMs, shared memory, threads, blocks and registers per SM come from
// there, one source of truth): clocks, DRAM and L2 bandwidth, latencies, FMA and tensor-core peaks.
// Every value is data with its source in cards.cpp; none has been calibrated on a GPU yet.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "src/dispatch/device_info.hpp"

namespace dsconv::emu::model {

struct Card {
  const char* key;             // what --device takes: "h100", "h200", "a100", "sm_86", "sm_89"
  const char* arch;            // known_device(arch) gives the limits: "sm_90"
  const char* name;            // "H100 SXM5 80GB"
  double clock_ghz;            // SM clock the model runs at (the boost clock)
  double dram_gbps;            // peak DRAM bandwidth, 1e9 bytes/s
  double copy_efficiency;      // device-to-device copy bandwidth / peak DRAM bandwidth (assumed)
  double l2_bytes_per_clock;   // L2 -> SM bandwidth of the whole chip, bytes per SM clock
  double l2_latency_cycles;    // a load that hits in L2, SM clocks
  double dram_latency_cycles;  // a load that misses L2, SM clocks
  int fp32_fma_per_clock;      // FP32 fused multiply-adds per SM per clock
  double tensor_tflops;        // dense FP16 tensor-core peak (FP32 accumulate), 1e12 FLOP/s
  int l1_smem_kib;             // the SM's unified L1 data cache + shared memory, KiB
  double l1_latency_cycles;    // a load that hits in L1, SM clocks
};

// Every card, in --device help order.
const std::vector<Card>& cards();
// The card for "h100", "h200", "a100", "sm_86", "sm_89" (also "sm_80" = a100, "sm_90" = h100); nullptr
// for anything else.
const Card* find_card(std::string_view key);
// "h100, h200, a100, sm_86, sm_89" for messages.
std::string card_keys();
// The architectural limits of a card (known_device(card.arch)); never null for a card of cards().
const detail::DeviceInfo& card_limits(const Card& card);

// Derived rates, per second.
double copy_bandwidth(const Card& c);         // bytes/s a device copy reaches: dram_gbps * copy_efficiency
double l2_bandwidth(const Card& c);           // bytes/s
double fma_rate(const Card& c);               // FP32 FMAs/s of the whole chip
double wavefront_rate_per_sm(const Card& c);  // shared-memory wavefronts/s of one SM (one per clock)
// Bytes of L1 each of `blocks` resident blocks of `smem_per_block` shared bytes (their reserve included)
// has: the unified size less the shared-memory carveout the driver picks (the smallest of its sizes that
// holds them all), shared evenly.
double l1_bytes_per_block(const Card& c, int blocks, int64_t smem_per_block);

}  // namespace dsconv::emu::model
