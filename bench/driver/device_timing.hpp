// Device-side timing for `dsconv bench`: CUDA events around each sample, the device's name, and the
// device-to-device copy bandwidth that device rows are compared with (% of copy). Only in builds
// with the cuda backend (real or emulated; the emulator's events read the host clock).
#pragma once

#include "dsconv/config.h"

#if defined(DSCONV_HAVE_CUDA)

#include <cstddef>
#include <memory>
#include <string>

#include "bench/driver/timing.hpp"

namespace dsconv::driver {

// Events recorded on `stream` (a cudaStream_t) before and after a sample's runs.
class DeviceEventTimer final : public SampleTimer {
 public:
  static Result<std::unique_ptr<DeviceEventTimer>> create(void* stream);
  ~DeviceEventTimer() override;
  Status begin() override;
  Result<double> end_ms() override;

 private:
  DeviceEventTimer() = default;
  void* stream_ = nullptr;
  void* start_ = nullptr;  // cudaEvent_t
  void* stop_ = nullptr;
};

// The current device's name ("NVIDIA H100 80GB HBM3"), or the error's text.
std::string device_name();

// GB/s of a device-to-device copy of `bytes` on `stream` (bytes read + bytes written per second),
// timed like the kernels (events, warm-up, median).
Result<double> measure_copy_gbps(void* stream, size_t bytes, const TimingOptions& timing);

}  // namespace dsconv::driver

#endif
