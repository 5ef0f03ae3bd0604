// The one way the depthwise launchers enqueue a kernel: through dsconv::cuda::launch, with the error
// turned into a Status that names the kernel.
#pragma once

#include <string>

#include "cuda/depthwise/params.hpp"
#include "cuda/emu/cuda_compat.hpp"

namespace dsconv::cuda::dw {

inline Status launch_checked(void (*kernel)(DwParams), const char* what, const LaunchConfig& cfg, const DwParams& p,
                             void* stream) {
  if (cfg.grid < 1 || cfg.grid > 0x7fffffff || cfg.block < 1 || cfg.block > 1024 || cfg.smem_bytes < 0 ||
      cfg.smem_bytes > kMaxSmemBytesPerBlock) {
    return Status(StatusCode::kInternalError, std::string("depthwise: bad launch configuration for ") + what +
                                                  ": grid " + std::to_string(cfg.grid) + ", block " +
                                                  std::to_string(cfg.block) + ", shared memory " +
                                                  std::to_string(cfg.smem_bytes));
  }
  const cudaError_t err =
      ::dsconv::cuda::launch(kernel, dim3(static_cast<unsigned>(cfg.grid)), dim3(static_cast<unsigned>(cfg.block)),
                             static_cast<size_t>(cfg.smem_bytes), static_cast<cudaStream_t>(stream), p);
  if (err != cudaSuccess) {
    return Status(StatusCode::kDeviceError,
                  std::string("depthwise: launching ") + what + " failed: " + cudaGetErrorString(err));
  }
  return Status::ok();
}

}  // namespace dsconv::cuda::dw
