// What kernel selection needs to know about the device a plan will run on. Plain data, no CUDA header:
// the cuda backend fills it from the CUDA runtime (cuda/common/device.hpp), the emulator answers the same
// queries for the architecture it impersonates, and tests build it from cuda/common/known_devices.hpp.
#pragma once

#include <cstdint>
#include <string>

namespace dsconv::detail {

struct DeviceInfo {
  std::string name;  // "NVIDIA H100 80GB HBM3", or "sm_86 (emulated A10)"
  int cc_major = 0, cc_minor = 0;
  int sm_count = 0;
  int64_t smem_per_block = 0;           // without opt-in (48 KiB everywhere since sm_30)
  int64_t smem_per_block_optin = 0;     // cudaDevAttrMaxSharedMemoryPerBlockOptin: the most one block can have
  int64_t smem_per_sm = 0;              // cudaDevAttrMaxSharedMemoryPerMultiprocessor
  int64_t smem_reserved_per_block = 0;  // cudaDevAttrReservedSharedMemoryPerBlock (the system's 1 KiB)
  int max_threads_per_sm = 0;
  int max_blocks_per_sm = 0;
  int regs_per_sm = 0;
  int64_t l2_bytes = 0;

  int arch() const { return cc_major * 10 + cc_minor; }  // 90 for sm_90
  // Whether this describes a device at all (a default-constructed one does not).
  bool valid() const { return sm_count > 0 && smem_per_block_optin > 0; }
};

}  // namespace dsconv::detail
