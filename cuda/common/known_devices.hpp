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
// A device older than every architecture above, without cp.async or mma.sync (T4: CUDA C++ Programming
// Guide for 7.5, 64 KiB of shared memory per SM and per block, no reserved KiB; NVIDIA T4 datasheet: 40 SMs,
// 4 MiB L2). dsconv's default build does not target it, but its FMA kernels run there: the emulator can
// impersonate it (DSCONV_EMU_DEVICE=sm_75) so that the paths kept for such devices run in the tests. It is
// not in kKnownDevices, the architectures whose selection the tests check one by one.
inline const detail::DeviceInfo kPreAmpereDevice =
  {"sm_75 (T4)",               7, 5,   40, 48 * kKiB,  64 * kKiB,   64 * kKiB,  0,        1024,  16,    65536,  4 * kKiB * kKiB};
// clang-format on

// The entry for "sm_80", "sm_86", "sm_89", "sm_90" or "sm_75" (also "80", "90", ...); nullptr for anything
// else.
inline const detail::DeviceInfo* known_device(std::string_view arch) {
  if (arch.substr(0, 3) == "sm_") arch.remove_prefix(3);
  const auto matches = [&](const detail::DeviceInfo& d) {
    const std::string_view name(d.name);
    return name.substr(3, name.find(' ') - 3) == arch;
  };
  for (const detail::DeviceInfo& d : kKnownDevices) {
    if (matches(d)) return &d;
  }
  return matches(kPreAmpereDevice) ? &kPreAmpereDevice : nullptr;
}

}  // namespace dsconv::cuda
