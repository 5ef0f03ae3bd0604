#include "cuda/runtime.hpp"

#include <string>

namespace dsconv::cuda {

namespace {

Status no_device_status() {
  std::string why;
  (void)device_present(&why);
  return Status(StatusCode::kNoDevice, why);
}

// The helpers below are for staging data, not for timed paths: every copy first waits for all work
// on the device, because kernels may run on non-blocking streams that a plain cudaMemcpy (legacy
// default stream) does not wait for.
Status wait_device(const char* what) {
  DSCONV_CUDA_TRY(cudaDeviceSynchronize(), std::string("cudaDeviceSynchronize before ") + what);
  return Status::ok();
}

Status copy(void* dst, const void* src, size_t bytes, cudaMemcpyKind kind, const char* what) {
  if (bytes == 0) return Status::ok();
  if (dst == nullptr || src == nullptr)
    return Status(StatusCode::kInvalidArgument, std::string(what) + ": " + (dst == nullptr ? "dst" : "src") +
                                                    " is null for a copy of " + std::to_string(bytes) + " bytes");
  if (!device_present(nullptr)) return no_device_status();
  if (Status s = wait_device(what); !s) return s;
  DSCONV_CUDA_TRY(cudaMemcpy(dst, src, bytes, kind),
                  std::string(what) + " (cudaMemcpy of " + std::to_string(bytes) + " bytes)");
  DSCONV_CUDA_TRY(cudaDeviceSynchronize(), std::string("cudaDeviceSynchronize after ") + what);
  return Status::ok();
}

}  // namespace

Status device_error(cudaError_t err, const std::string& what) {
  const StatusCode code =
      err == cudaErrorNoDevice || err == cudaErrorInsufficientDriver ? StatusCode::kNoDevice : StatusCode::kDeviceError;
  return Status(code, what + " failed: " + cudaGetErrorName(err) + " (" + std::to_string(static_cast<int>(err)) +
                          "): " + cudaGetErrorString(err));
}

bool device_present(std::string* why) {
#if defined(DSCONV_CUDA_EMULATION)
  (void)why;
  return true;
#else
  // Without a driver the runtime answers cudaErrorInsufficientDriver (35) or cudaErrorNoDevice (100);
  // both are a plain "no device" here, never a crash.
  static const std::string reason = [] {
    int count = 0;
    const cudaError_t err = cudaGetDeviceCount(&count);
    if (err != cudaSuccess) {
      (void)cudaGetLastError();
      std::string r = std::string("no CUDA device: cudaGetDeviceCount failed with ") + cudaGetErrorName(err) + " (" +
                      std::to_string(static_cast<int>(err)) + "): " + cudaGetErrorString(err);
      if (err == cudaErrorInsufficientDriver || err == cudaErrorNoDevice)
        r += " (no NVIDIA GPU with a driver at least as new as this CUDA runtime is visible)";
      return r;
    }
    if (count == 0) return std::string("no CUDA device: cudaGetDeviceCount found none");
    return std::string();
  }();
  if (!reason.empty() && why != nullptr) *why = reason;
  return reason.empty();
#endif
}

Status device_alloc(void** p, size_t bytes) {
  if (p == nullptr) return Status(StatusCode::kInvalidArgument, "device_alloc: p is null");
  *p = nullptr;
  if (bytes == 0) return Status::ok();
  if (!device_present(nullptr)) return no_device_status();
  void* q = nullptr;
  DSCONV_CUDA_TRY(cudaMalloc(&q, bytes), "cudaMalloc of " + std::to_string(bytes) + " bytes");
  *p = q;
  return Status::ok();
}

Status device_free(void* p) {
  if (p == nullptr) return Status::ok();
  if (!device_present(nullptr)) return no_device_status();
  DSCONV_CUDA_TRY(cudaFree(p), "cudaFree");
  return Status::ok();
}

Status copy_to_device(void* dst, const void* src, size_t bytes) {
  return copy(dst, src, bytes, cudaMemcpyHostToDevice, "copy_to_device");
}

Status copy_to_host(void* dst, const void* src, size_t bytes) {
  return copy(dst, src, bytes, cudaMemcpyDeviceToHost, "copy_to_host");
}

Status synchronize(void* stream) {
  if (!device_present(nullptr)) return no_device_status();
  if (stream == nullptr) {
    DSCONV_CUDA_TRY(cudaDeviceSynchronize(), "cudaDeviceSynchronize");
  } else {
    DSCONV_CUDA_TRY(cudaStreamSynchronize(static_cast<cudaStream_t>(stream)), "cudaStreamSynchronize");
  }
  return Status::ok();
}

Status create_stream(void** s) {
  if (s == nullptr) return Status(StatusCode::kInvalidArgument, "create_stream: s is null");
  *s = nullptr;
  if (!device_present(nullptr)) return no_device_status();
  cudaStream_t stream = nullptr;
  DSCONV_CUDA_TRY(cudaStreamCreateWithFlags(&stream, cudaStreamNonBlocking), "cudaStreamCreateWithFlags");
  *s = stream;
  return Status::ok();
}

Status destroy_stream(void* s) {
  if (s == nullptr) return Status::ok();
  if (!device_present(nullptr)) return no_device_status();
  DSCONV_CUDA_TRY(cudaStreamDestroy(static_cast<cudaStream_t>(s)), "cudaStreamDestroy");
  return Status::ok();
}

Status test_alloc(size_t bytes, void** ptr) { return device_alloc(ptr, bytes); }

Status test_free(void* ptr) { return device_free(ptr); }

Status test_copy(void* dst, const void* src, size_t bytes) {
  return copy(dst, src, bytes, cudaMemcpyDefault, "test_copy");
}

}  // namespace dsconv::cuda
