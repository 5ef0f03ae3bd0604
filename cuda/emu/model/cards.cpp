#include "cuda/emu/model/cards.hpp"

#include <cstdlib>

#include "cuda/common/known_devices.hpp"

namespace dsconv::emu::model {

// Sources (every value uncalibrated until a GPU run compares it with Nsight Compute):
//  [A100]  NVIDIA A100 Tensor Core GPU datasheet and architecture whitepaper (2020): SXM4 40GB, 1410 MHz
//          boost, 1555 GB/s HBM2, 312 TFLOPS dense FP16 tensor; the L2 delivers 5120 bytes/clock
//          (whitepaper, "2.3x the L2 read bandwidth of V100").
//  [H100]  NVIDIA H100 datasheet and Hopper whitepaper (2022): SXM5 80GB, 3.35 TB/s HBM3, 989 TFLOPS
//          dense FP16 tensor, FP32 67 TFLOPS = 132 SMs x 128 FMA x 2 x 1.98 GHz (hence the clock).
//  [H200]  NVIDIA H200 datasheet (2024): the same GH100 (132 SMs, the same FP32 and tensor peaks) with
//          4.8 TB/s HBM3e.
//  [A10]   NVIDIA A10 datasheet (sm_86): 600 GB/s GDDR6, FP32 31.2 TFLOPS = 72 SMs x 128 x 2 x 1.695 GHz,
//          125 TFLOPS dense FP16 tensor.
//  [L4]    NVIDIA L4 datasheet (sm_89): 300 GB/s GDDR6, FP32 30.3 TFLOPS = 58 SMs x 128 x 2 x 2.04 GHz,
//          121 TFLOPS dense FP16 tensor (242 with sparsity).
//  [FMA]   CUDA C++ Programming Guide, "Arithmetic Instructions" throughput table: 64 FP32 FMAs per SM
//          per clock on 8.0, 128 on 8.6, 8.9 and 9.0.
//  [LAT]   Hardware table of Ultrasonics Sonochemistry 99 (2023) 106546, table 3 (microbenchmark
//          literature for V100/A100/H100): L2 hit ~200 cycles, global memory ~400 cycles, L2 5120 B/clk
//          on H100 as on A100. Used for every card: the same order as Luo et al., "Benchmarking and
//          Dissecting the Nvidia Hopper GPU Architecture" (arXiv:2402.13499), to be replaced by measurement;
//          an L1 hit ~33 cycles (the same papers' order for Ampere and Hopper).
//  [COPY]  Assumption: a device-to-device copy reaches 90% of the peak DRAM bandwidth; bench/gpu_check.sh
//          measures the real figure on the first GPU run.
//  [L2GA]  Assumption: NVIDIA publishes no L2 bandwidth for GA102/AD104; 2048 bytes/clock (V100's figure
//          in the A100 whitepaper's comparison) stands in for it, used only for those cards' L2 term.
//  [L1]    CUDA C++ Programming Guide, "Shared Memory" per compute capability: a unified L1 + shared memory
//          of 256 KB per SM on 9.0, 192 KB on 8.0, 128 KB on 8.6 and 8.9, the shared-memory carveout one of
//          0, 8, 16, 32, 64, 100, 132, 164, 196 or 228 KB up to the SM's maximum.
// clang-format off
const std::vector<Card>& cards() {
  static const std::vector<Card> kCards = {
    // key      arch     name               GHz    DRAM GB/s copy  L2 B/clk L2 lat DRAM lat FMA/clk tensor TF L1+smem KiB L1 lat
    {"h100",  "sm_90", "H100 SXM5 80GB",  1.980, 3352.0,  0.90, 5120.0,  200.0, 400.0,   128,    989.0, 256, 33.0},  // [H100][FMA][LAT][COPY][L1]
    {"h200",  "sm_90", "H200 SXM 141GB",  1.980, 4800.0,  0.90, 5120.0,  200.0, 400.0,   128,    989.0, 256, 33.0},  // [H200][FMA][LAT][COPY][L1]
    {"a100",  "sm_80", "A100 SXM4 40GB",  1.410, 1555.0,  0.90, 5120.0,  200.0, 400.0,    64,    312.0, 192, 33.0},  // [A100][FMA][LAT][COPY][L1]
    {"sm_86", "sm_86", "A10 (sm_86)",     1.695,  600.0,  0.90, 2048.0,  200.0, 400.0,   128,    125.0, 128, 33.0},  // [A10][FMA][LAT][COPY][L2GA][L1]
    {"sm_89", "sm_89", "L4 (sm_89)",      2.040,  300.0,  0.90, 2048.0,  200.0, 400.0,   128,    121.0, 128, 33.0},  // [L4][FMA][LAT][COPY][L2GA][L1]
  };
  return kCards;
}
// clang-format on

const Card* find_card(std::string_view key) {
  if (key == "sm_80") key = "a100";
  if (key == "sm_90") key = "h100";
  for (const Card& c : cards()) {
    if (key == c.key) return &c;
  }
  return nullptr;
}

std::string card_keys() {
  std::string s;
  for (const Card& c : cards()) s += std::string(s.empty() ? "" : ", ") + c.key;
  return s;
}

const detail::DeviceInfo& card_limits(const Card& card) {
  const detail::DeviceInfo* d = cuda::known_device(card.arch);
  if (d == nullptr) std::abort();  // every card names an architecture of known_devices.hpp (a unit test checks)
  return *d;
}

double copy_bandwidth(const Card& c) { return c.dram_gbps * 1e9 * c.copy_efficiency; }
double l2_bandwidth(const Card& c) { return c.l2_bytes_per_clock * c.clock_ghz * 1e9; }
double fma_rate(const Card& c) {
  return static_cast<double>(card_limits(c).sm_count) * c.fp32_fma_per_clock * c.clock_ghz * 1e9;
}
double wavefront_rate_per_sm(const Card& c) { return c.clock_ghz * 1e9; }

double l1_bytes_per_block(const Card& c, int blocks, int64_t smem_per_block) {
  if (blocks <= 0) return 0;
  static constexpr int64_t kCarveoutsKiB[] = {0, 8, 16, 32, 64, 100, 132, 164, 196, 228};
  const int64_t unified = static_cast<int64_t>(c.l1_smem_kib) * 1024;
  const int64_t max_smem = card_limits(c).smem_per_sm;
  const int64_t need = static_cast<int64_t>(blocks) * smem_per_block;
  int64_t carveout = max_smem;
  for (int64_t kib : kCarveoutsKiB) {
    if (kib * 1024 >= need && kib * 1024 <= max_smem) {
      carveout = kib * 1024;
      break;
    }
  }
  const int64_t l1 = unified - carveout;
  return l1 > 0 ? static_cast<double>(l1) / blocks : 0.0;
}

}  // namespace dsconv::emu::model
