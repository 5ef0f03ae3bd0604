// The one way a kernel family's launchers enqueue a kernel and ready it at plan creation: a launch
// configuration, prepare (once per kernel and device: module loaded, shared-memory limit set) and
// launch through dsconv::cuda::launch, with CUDA errors turned into a Status that names the kernel.
#pragma once

#include <cstdint>
#include <string>

#include "cuda/common/runtime.hpp"
#include "cuda/emu/cuda_compat.hpp"

namespace dsconv::cuda {

// Blocks (1-D grid), threads per block and dynamic shared memory of one launch.
struct LaunchConfig {
  int64_t grid = 1;
  int block = 1;
  int64_t smem_bytes = 0;
};

// Checks `cfg` against what any launch allows (the device's own shared-memory limit was checked by the
// offer that chose the kernel; the launch reports a violation as a device error).
inline Status check_launch_config(const char* what, const LaunchConfig& cfg) {
  if (cfg.grid < 1 || cfg.grid > 0x7fffffff || cfg.block < 1 || cfg.block > 1024 || cfg.smem_bytes < 0 ||
      cfg.smem_bytes > 0x7fffffff) {
    return Status(StatusCode::kInternalError, std::string("bad launch configuration for ") + what + ": grid " +
                                                  std::to_string(cfg.grid) + ", block " + std::to_string(cfg.block) +
                                                  ", shared memory " + std::to_string(cfg.smem_bytes));
  }
  return Status::ok();
}

// At plan creation, for the kernel the plan will launch (see prepare_kernel in cuda/emu/cuda_compat.hpp).
template <class... KArgs>
Status prepare_launch(void (*kernel)(KArgs...), const char* what, const LaunchConfig& cfg) {
  if (Status s = check_launch_config(what, cfg); !s) return s;
  DSCONV_CUDA_TRY(prepare_kernel(reinterpret_cast<const void*>(kernel)), std::string("preparing ") + what);
  return Status::ok();
}

#if defined(__CUDACC__) || defined(DSCONV_CUDA_EMULATION)
// Enqueues kernel<<<cfg>>>(args...) on `stream` (a cudaStream_t). Never synchronizes, never allocates.
// Only kernel files (.cu) can launch: host code calls a family's launch function defined in one.
template <class... KArgs, class... Args>
Status launch_checked(void (*kernel)(KArgs...), const char* what, const LaunchConfig& cfg, void* stream,
                      Args&&... args) {
  if (Status s = check_launch_config(what, cfg); !s) return s;
  DSCONV_CUDA_TRY(
      launch(kernel, dim3(static_cast<unsigned>(cfg.grid)), dim3(static_cast<unsigned>(cfg.block)),
             static_cast<size_t>(cfg.smem_bytes), static_cast<cudaStream_t>(stream), std::forward<Args>(args)...),
      std::string("launching ") + what);
  return Status::ok();
}
#endif

}  // namespace dsconv::cuda
