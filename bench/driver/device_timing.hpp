// Device-side timing for `dsconv bench`: events around each sample, and the device-to-device copy
// bandwidth that device rows are compared with (% of copy). Only in builds with the cuda backend (real or
// emulated; the emulator's events read the host clock). Streams, events and memory are the toolkit's
// (tools/common/device.hpp), so the library's runtime owns them all.
#pragma once

#include "dsconv/config.h"

#if defined(DSCONV_HAVE_CUDA)

#include <cstddef>
#include <memory>

#include "bench/driver/timing.hpp"
#include "tools/common/device.hpp"

namespace dsconv::driver {

// Events recorded on `stream` before and after a sample's runs.
class DeviceEventTimer final : public SampleTimer {
 public:
  static Result<std::unique_ptr<DeviceEventTimer>> create(const tools::Stream& stream);
  Status begin() override;
  Result<double> end_ms() override;

 private:
  DeviceEventTimer(const tools::Stream& stream, tools::Event start, tools::Event stop)
      : stream_(stream), start_(std::move(start)), stop_(std::move(stop)) {}
  const tools::Stream& stream_;
  tools::Event start_, stop_;
};

// GB/s of a device-to-device copy of `bytes` on `stream` (bytes read + bytes written per second),
// timed like the kernels (events, warm-up, median).
Result<double> measure_copy_gbps(const tools::Stream& stream, size_t bytes, const TimingOptions& timing);

}  // namespace dsconv::driver

#endif
