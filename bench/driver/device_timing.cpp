#include "bench/driver/device_timing.hpp"

#if defined(DSCONV_HAVE_CUDA)

namespace dsconv::driver {

Result<std::unique_ptr<DeviceEventTimer>> DeviceEventTimer::create(const tools::Stream& stream) {
  Result<tools::Event> start = tools::Event::create();
  if (!start) return start.status();
  Result<tools::Event> stop = tools::Event::create();
  if (!stop) return stop.status();
  return std::unique_ptr<DeviceEventTimer>(new DeviceEventTimer(stream, std::move(*start), std::move(*stop)));
}

Status DeviceEventTimer::begin() { return start_.record(stream_); }

Result<double> DeviceEventTimer::end_ms() {
  if (Status s = stop_.record(stream_); !s) return s;
  return tools::Event::elapsed_ms(start_, stop_);
}

Result<double> measure_copy_gbps(const tools::Stream& stream, size_t bytes, const TimingOptions& timing) {
  Result<tools::Buffer> src = tools::Buffer::create(MemorySpace::kDevice, bytes);
  if (!src) return src.status();
  Result<tools::Buffer> dst = tools::Buffer::create(MemorySpace::kDevice, bytes);
  if (!dst) return dst.status();
  // Any nonzero pattern: a copy's speed does not depend on the values, but never time zeros.
  if (Status s = src->fill_async(0x5a, stream); !s) return s;
  Result<std::unique_ptr<DeviceEventTimer>> timer = DeviceEventTimer::create(stream);
  if (!timer) return timer.status();
  Result<TimingResult> r = measure(timing, **timer, [&](int64_t) { return dst->copy_from_async(*src, stream); });
  if (!r) return r.status();
  return 2.0 * static_cast<double>(bytes) / (r->stats.median_ms * 1e-3) * 1e-9;
}

}  // namespace dsconv::driver

#endif
