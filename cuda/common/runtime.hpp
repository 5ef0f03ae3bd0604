// The CUDA runtime glue every backend on CUDA shares (internal): the one mapping of CUDA errors to
// Status values, the one device probe, the current device's properties for selection, and
// DSCONV_CUDA_TRY. runtime.cpp also implements cuda/device_api.hpp (what the driver and the tests use).
// Works unchanged in the real and the emulated build.
#pragma once

#include <cstddef>
#include <string>

#include "cuda/device_api.hpp"
#include "cuda/emu/cuda_compat.hpp"
#include "dsconv/dsconv.hpp"
#include "src/dispatch/device_info.hpp"

namespace dsconv::cuda {

// Status for a failed CUDA call: "<what> failed: cudaErrorX (N): <CUDA's message>". kNoDevice for the
// errors that mean "no usable GPU or driver", kDeviceError otherwise.
Status device_error(cudaError_t err, const std::string& what);

// Whether a CUDA device can be used (probed once per process on a GPU; in the emulator at every call,
// since DSCONV_EMU_DEVICE may change). Otherwise *why, when given, receives "no CUDA device: ..." with
// the runtime's error.
bool device_present(std::string* why);

// The current device's properties (cudaGetDevice + cudaDeviceGetAttribute).
Status query_device_info(detail::DeviceInfo* info);

}  // namespace dsconv::cuda

// Returns a Status from the enclosing function when a CUDA call (or dsconv::cuda::launch) fails.
#define DSCONV_CUDA_TRY(call, what)                                                                   \
  do {                                                                                                \
    const cudaError_t dsconv_cuda_err_ = (call);                                                      \
    if (dsconv_cuda_err_ != cudaSuccess) return ::dsconv::cuda::device_error(dsconv_cuda_err_, what); \
  } while (0)
