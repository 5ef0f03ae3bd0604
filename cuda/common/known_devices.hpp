// The architectures dsconv is built for, as DeviceInfo: what the CUDA runtime reports on one
// representative card of each. Used by the emulator to impersonate a device (DSCONV_EMU_DEVICE), by tests
// that select kernels for a device description, and by the performance model (which adds bandwidths and
// clocks per card in its own table).
//
// Sources: CUDA C++ Programming Guide, "Features and Technical Specifications" (shared memory per SM and
// per block with opt-in, threads, blocks and registers per SM, the 1 KiB reserved per block); SM counts and
// L2 sizes from NVIDIA's datasheets/whitepapers of the named cards (A100 SXM4, A10, L4, H100 SXM5).
#pragma once

#include <string_view>

#include "src/dispatch/device_info.hpp"

namespace dsconv::cuda {

inline constexpr int64_t kKiB = 1024;

// clang-format off
inline const detail::DeviceInfo kKnownDevices[] = {
  // name                      cc      SMs  per block  opt-in       per SM       reserved  thr/SM blk/SM regs   L2
  {"sm_80 (A100 SXM4 40GB)",   8, 0,  108, 48 * kKiB, 163 * kKiB,  164 * kKiB,  1 * kKiB, 2048,  32,    65536, 40 * kKiB * kKiB},
  {"sm_86 (A10)",              8, 6,   72, 48 * kKiB,  99 * kKiB,  100 * kKiB,  1 * kKiB, 1536,  16,    65536,  6 * kKiB * kKiB},
  {"sm_89 (L4)",               8, 9,   58, 48 * kKiB,  99 * kKiB,  100 * kKiB,  1 * kKiB, 1536,  24,    65536, 48 * kKiB * kKiB},
  {"sm_90 (H100 SXM5)",        9, 0,  132, 48 * kKiB, 227 * kKiB,  228 * kKiB,  1 * kKiB, 2048,  32,    65536, 50 * kKiB * kKiB},
};
// clang-format on

// The entry for "sm_80", "sm_86", "sm_89" or "sm_90" (also "80", "90", ...); nullptr for anything else.
inline const detail::DeviceInfo* known_device(std::string_view arch) {
  if (arch.substr(0, 3) == "sm_") arch.remove_prefix(3);
  for (const detail::DeviceInfo& d : kKnownDevices) {
    const std::string_view name(d.name);
    if (name.substr(3, name.find(' ') - 3) == arch) return &d;
  }
  return nullptr;
}

}  // namespace dsconv::cuda
