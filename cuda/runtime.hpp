// The cuda backend's runtime glue (internal): CUDA errors as Status values, whether a device is
// present, and the memory/stream helpers that cuda/device_api.hpp (driver, tests) and
// tests/support/device_memory.hpp declare. Works unchanged in the real and the emulated build.
#pragma once

#include <cstddef>
#include <string>

#include "cuda/device_api.hpp"
#include "cuda/emu/cuda_compat.hpp"
#include "dsconv/dsconv.hpp"

namespace dsconv::cuda {

// Status for a failed CUDA call: "<what> failed: cudaErrorX (N): <CUDA's message>". kNoDevice for the
// errors that mean "no usable GPU or driver", kDeviceError otherwise.
Status device_error(cudaError_t err, const std::string& what);

// Whether a CUDA device can be used (probed once per process; the emulated device always can).
// Otherwise *why, when given, receives "no CUDA device: ..." with the runtime's error.
bool device_present(std::string* why);

}  // namespace dsconv::cuda

// Returns a Status from the enclosing function when a CUDA call (or dsconv::cuda::launch) fails.
#define DSCONV_CUDA_TRY(call, what)                                                                   \
  do {                                                                                                \
    const cudaError_t dsconv_cuda_err_ = (call);                                                      \
    if (dsconv_cuda_err_ != cudaSuccess) return ::dsconv::cuda::device_error(dsconv_cuda_err_, what); \
  } while (0)
