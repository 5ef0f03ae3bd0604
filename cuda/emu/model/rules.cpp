#include "cuda/emu/model/rules.hpp"

#include <algorithm>

namespace dsconv::emu::model {

void global_sectors(const LaneAccess* lanes, int n, std::vector<uint64_t>* sectors) {
  sectors->clear();
  for (int i = 0; i < n; ++i) {
    const LaneAccess& a = lanes[i];
    if (a.size == 0) continue;
    const uint64_t first = a.address / kSectorBytes, last = (a.address + a.size - 1) / kSectorBytes;
    for (uint64_t s = first; s <= last; ++s) sectors->push_back(s);
  }
  std::sort(sectors->begin(), sectors->end());
  sectors->erase(std::unique(sectors->begin(), sectors->end()), sectors->end());
}

SharedCost shared_wavefronts(const LaneAccess* lanes, int n) {
  SharedCost cost;
  unsigned width = 0;
  for (int i = 0; i < n; ++i) width = std::max(width, lanes[i].size);
  if (width == 0) return cost;
  // 128 bytes (32 banks x 4 bytes) per phase: 32 lanes of <= 4 bytes, 16 of 8, 8 of 16.
  const unsigned lanes_per_phase = width <= 4 ? 32u : width <= 8 ? 16u : 8u;
  const unsigned phases = 32u / lanes_per_phase;
  uint64_t words[32 * 5];  // at most 32 lanes x (16 / 4 + 1) words, for an unaligned 16-byte access
  for (unsigned phase = 0; phase < phases; ++phase) {
    int count = 0;
    for (int i = 0; i < n; ++i) {
      const LaneAccess& a = lanes[i];
      if (a.size == 0 || a.lane / lanes_per_phase != phase) continue;
      const uint64_t first = a.address / kBankBytes, last = (a.address + a.size - 1) / kBankBytes;
      for (uint64_t w = first; w <= last && count < static_cast<int>(sizeof words / sizeof words[0]); ++w) {
        words[count++] = w;
      }
    }
    if (count == 0) continue;
    std::sort(words, words + count);
    const int distinct = static_cast<int>(std::unique(words, words + count) - words);
    int per_bank[kSharedBanks] = {};
    int worst = 0;
    for (int i = 0; i < distinct; ++i) worst = std::max(worst, ++per_bank[words[i] % kSharedBanks]);
    cost.wavefronts += worst;
    cost.ideal += (distinct + kSharedBanks - 1) / kSharedBanks;
  }
  return cost;
}

}  // namespace dsconv::emu::model
