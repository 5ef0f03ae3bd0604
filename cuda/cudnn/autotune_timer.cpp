// The device timer behind "auto"'s autotune mode. It lives with the cudnn backend because only a build
// with real CUDA and cuDNN has two device backends to choose between.
#include <cuda_runtime_api.h>

#include <algorithm>
#include <cstdint>
#include <string>
#include <vector>

#include "src/auto_choice.hpp"

namespace dsconv::detail {
namespace {

constexpr int kWarmupRuns = 2;
constexpr int kTimedRuns = 7;

Status cuda_error(const char* what, cudaError_t e) {
  return Status(StatusCode::kDeviceError,
                std::string("autotune: ") + what + " failed: " + cudaGetErrorName(e) + ": " + cudaGetErrorString(e));
}

// Scratch tensors and timing objects, released in every exit path.
struct Scratch {
  std::vector<void*> buffers;
  cudaStream_t stream = nullptr;
  cudaEvent_t start = nullptr, stop = nullptr;
  ~Scratch() {
    if (stream != nullptr) cudaStreamSynchronize(stream);
    for (void* b : buffers) cudaFree(b);
    if (start != nullptr) cudaEventDestroy(start);
    if (stop != nullptr) cudaEventDestroy(stop);
    if (stream != nullptr) cudaStreamDestroy(stream);
  }
  Status alloc(size_t bytes, void** p) {
    *p = nullptr;
    if (bytes == 0) return Status::ok();
    if (cudaError_t e = cudaMalloc(p, bytes); e != cudaSuccess) {
      (void)cudaGetLastError();
      return cuda_error(("cudaMalloc of " + std::to_string(bytes) + " bytes").c_str(), e);
    }
    buffers.push_back(*p);
    return Status::ok();
  }
};

}  // namespace

Result<double> time_device_impl_us(const Problem& p, const Impl& impl) {
  Scratch s;
  const size_t es = dtype_size(p.dtype());
  Tensors t;
  void* ws = nullptr;
  void* ptrs[6] = {};
  const size_t sizes[6] = {
      static_cast<size_t>(p.input_elements()) * es,     static_cast<size_t>(p.filter_elements()) * es,
      static_cast<size_t>(p.pointwise_elements()) * es, static_cast<size_t>(p.bias_elements()) * es,
      static_cast<size_t>(p.output_elements()) * es,    impl.workspace_bytes()};
  for (int i = 0; i < 6; ++i)
    if (Status st = s.alloc(sizes[i], &ptrs[i]); !st) return st;
  // 0x3C in every byte: a finite, non-zero, non-denormal value in f32 (0.0115), f16 (1.06) and bf16 (0.0115),
  // so the timing sees ordinary arithmetic.
  for (int i = 0; i < 4; ++i)
    if (sizes[i] > 0)
      if (cudaError_t e = cudaMemset(ptrs[i], 0x3C, sizes[i]); e != cudaSuccess) return cuda_error("cudaMemset", e);
  t.input = ptrs[0];
  t.filter = ptrs[1];
  t.pointwise = ptrs[2];
  t.bias = ptrs[3];
  t.output = ptrs[4];
  ws = ptrs[5];
  if (cudaError_t e = cudaStreamCreateWithFlags(&s.stream, cudaStreamNonBlocking); e != cudaSuccess)
    return cuda_error("cudaStreamCreateWithFlags", e);
  if (cudaError_t e = cudaEventCreate(&s.start); e != cudaSuccess) return cuda_error("cudaEventCreate", e);
  if (cudaError_t e = cudaEventCreate(&s.stop); e != cudaSuccess) return cuda_error("cudaEventCreate", e);
  if (cudaError_t e = cudaDeviceSynchronize(); e != cudaSuccess) return cuda_error("cudaDeviceSynchronize", e);

  for (int i = 0; i < kWarmupRuns; ++i)
    if (Status st = impl.run(t, ws, sizes[5], s.stream); !st) return st;
  std::vector<float> ms;
  for (int i = 0; i < kTimedRuns; ++i) {
    if (cudaError_t e = cudaEventRecord(s.start, s.stream); e != cudaSuccess) return cuda_error("cudaEventRecord", e);
    if (Status st = impl.run(t, ws, sizes[5], s.stream); !st) return st;
    if (cudaError_t e = cudaEventRecord(s.stop, s.stream); e != cudaSuccess) return cuda_error("cudaEventRecord", e);
    if (cudaError_t e = cudaEventSynchronize(s.stop); e != cudaSuccess) return cuda_error("a timed run", e);
    float elapsed = 0.0f;
    if (cudaError_t e = cudaEventElapsedTime(&elapsed, s.start, s.stop); e != cudaSuccess)
      return cuda_error("cudaEventElapsedTime", e);
    ms.push_back(elapsed);
  }
  std::nth_element(ms.begin(), ms.begin() + ms.size() / 2, ms.end());
  return static_cast<double>(ms[ms.size() / 2]) * 1000.0;
}

std::string current_device_key() {
  int device = -1;
  if (cudaGetDevice(&device) != cudaSuccess) {
    (void)cudaGetLastError();
    return "device?";
  }
  cudaDeviceProp prop{};
  if (cudaGetDeviceProperties(&prop, device) != cudaSuccess) {
    (void)cudaGetLastError();
    return "device" + std::to_string(device);
  }
  return "device" + std::to_string(device) + " " + prop.name + " sm" + std::to_string(prop.major * 10 + prop.minor);
}

}  // namespace dsconv::detail
