#include "bench/driver/device_timing.hpp"

#if defined(DSCONV_HAVE_CUDA)

// The CUDA runtime API: the toolkit's, or the emulator's (host memory, host-clock events).
#include "cuda/emu/cuda_compat.hpp"

#include "cuda/device_api.hpp"

namespace dsconv::driver {

namespace {

Status cuda_status(cudaError_t e, const char* what) {
  if (e == cudaSuccess) return Status::ok();
  return Status(StatusCode::kDeviceError, std::string(what) + ": " + cudaGetErrorString(e));
}

cudaStream_t as_stream(void* s) { return static_cast<cudaStream_t>(s); }
cudaEvent_t as_event(void* e) { return static_cast<cudaEvent_t>(e); }

}  // namespace

Result<std::unique_ptr<DeviceEventTimer>> DeviceEventTimer::create(void* stream) {
  std::unique_ptr<DeviceEventTimer> t(new DeviceEventTimer());
  t->stream_ = stream;
  cudaEvent_t start = nullptr, stop = nullptr;
  if (Status s = cuda_status(cudaEventCreate(&start), "cudaEventCreate"); !s) return s;
  t->start_ = start;
  if (Status s = cuda_status(cudaEventCreate(&stop), "cudaEventCreate"); !s) return s;
  t->stop_ = stop;
  return t;
}

DeviceEventTimer::~DeviceEventTimer() {
  if (start_ != nullptr) (void)cudaEventDestroy(as_event(start_));
  if (stop_ != nullptr) (void)cudaEventDestroy(as_event(stop_));
}

Status DeviceEventTimer::begin() {
  return cuda_status(cudaEventRecord(as_event(start_), as_stream(stream_)), "cudaEventRecord");
}

Result<double> DeviceEventTimer::end_ms() {
  if (Status s = cuda_status(cudaEventRecord(as_event(stop_), as_stream(stream_)), "cudaEventRecord"); !s) return s;
  if (Status s = cuda_status(cudaEventSynchronize(as_event(stop_)), "cudaEventSynchronize"); !s) return s;
  float ms = 0;
  if (Status s = cuda_status(cudaEventElapsedTime(&ms, as_event(start_), as_event(stop_)), "cudaEventElapsedTime"); !s)
    return s;
  return static_cast<double>(ms);
}

std::string device_name() {
  int device = 0;
  if (cudaGetDevice(&device) != cudaSuccess) return "unknown device";
  cudaDeviceProp prop{};
  if (cudaError_t e = cudaGetDeviceProperties(&prop, device); e != cudaSuccess) return cudaGetErrorString(e);
  return prop.name;
}

Result<double> measure_copy_gbps(void* stream, size_t bytes, const TimingOptions& timing) {
  void* src = nullptr;
  void* dst = nullptr;
  Status s = cuda::device_alloc(&src, bytes);
  if (s) s = cuda::device_alloc(&dst, bytes);
  // Any nonzero pattern: a copy's speed does not depend on the values, but never time zeros.
  if (s) s = cuda_status(cudaMemsetAsync(src, 0x5a, bytes, as_stream(stream)), "cudaMemsetAsync");
  Result<double> gbps = s;
  if (s) {
    Result<std::unique_ptr<DeviceEventTimer>> timer = DeviceEventTimer::create(stream);
    if (!timer) {
      gbps = timer.status();
    } else {
      Result<TimingResult> r = measure(timing, **timer, [&](int64_t) {
        return cuda_status(cudaMemcpyAsync(dst, src, bytes, cudaMemcpyDeviceToDevice, as_stream(stream)),
                           "cudaMemcpyAsync");
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
