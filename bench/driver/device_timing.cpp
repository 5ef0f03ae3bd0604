#include "bench/driver/device_timing.hpp"

#if defined(DSCONV_HAVE_CUDA)

// Everything goes through the library's device API (cuda/device_api.hpp): one CUDA runtime, the
// library's, owns the streams and events the driver uses.
#include "cuda/device_api.hpp"

namespace dsconv::driver {

Result<std::unique_ptr<DeviceEventTimer>> DeviceEventTimer::create(void* stream) {
  std::unique_ptr<DeviceEventTimer> t(new DeviceEventTimer());
  t->stream_ = stream;
  if (Status s = cuda::create_event(&t->start_); !s) return s;
  if (Status s = cuda::create_event(&t->stop_); !s) return s;
  return t;
}

DeviceEventTimer::~DeviceEventTimer() {
  (void)cuda::destroy_event(start_);
  (void)cuda::destroy_event(stop_);
}

Status DeviceEventTimer::begin() { return cuda::record_event(start_, stream_); }

Result<double> DeviceEventTimer::end_ms() {
  if (Status s = cuda::record_event(stop_, stream_); !s) return s;
  float ms = 0;
  if (Status s = cuda::elapsed_ms(start_, stop_, &ms); !s) return s;
  return static_cast<double>(ms);
}

std::string device_name() { return cuda::device_name(); }

Result<double> measure_copy_gbps(void* stream, size_t bytes, const TimingOptions& timing) {
  void* src = nullptr;
  void* dst = nullptr;
  Status s = cuda::device_alloc(&src, bytes);
  if (s) s = cuda::device_alloc(&dst, bytes);
  // Any nonzero pattern: a copy's speed does not depend on the values, but never time zeros.
  if (s) s = cuda::memset_async(src, 0x5a, bytes, stream);
  Result<double> gbps = s;
  if (s) {
    Result<std::unique_ptr<DeviceEventTimer>> timer = DeviceEventTimer::create(stream);
    if (!timer) {
      gbps = timer.status();
    } else {
      Result<TimingResult> r = measure(timing, **timer, [&](int64_t) {
        return cuda::copy_device_async(dst, src, bytes, stream);
      });
      if (!r)
        gbps = r.status();
      else
        gbps = 2.0 * static_cast<double>(bytes) / (r->stats.median_ms * 1e-3) * 1e-9;
    }
  }
  (void)cuda::device_free(src);
  (void)cuda::device_free(dst);
  return gbps;
}

}  // namespace dsconv::driver

#endif
