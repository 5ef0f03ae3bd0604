// The device timer behind "auto"'s autotune mode (declared in src/dispatch/backend.hpp): CUDA events
// around a few runs of an implementation on scratch tensors. Plain CUDA, so it is built with every CUDA
// backend; "auto" uses it only where two device backends can be compared (cuda and cudnn).
#include <algorithm>
#include <cstdint>
#include <string>
#include <vector>

#include "cuda/common/runtime.hpp"
#include "src/dispatch/backend.hpp"

namespace dsconv::detail {
namespace {

constexpr int kWarmupRuns = 2;
constexpr int kTimedRuns = 7;

// Scratch tensors and timing objects, released in every exit path.
struct Scratch {
  std::vector<void*> buffers;
  void* stream = nullptr;
  void* start = nullptr;
  void* stop = nullptr;
  ~Scratch() {
    if (stream != nullptr) (void)cuda::synchronize(stream);
    for (void* b : buffers) (void)cuda::device_free(b);
    (void)cuda::destroy_event(start);
    (void)cuda::destroy_event(stop);
    (void)cuda::destroy_stream(stream);
  }
  Status alloc(size_t bytes, void** p) {
    *p = nullptr;
    if (Status s = cuda::device_alloc(p, bytes); !s) return s;
    if (*p != nullptr) buffers.push_back(*p);
    return Status::ok();
  }
};

Status annotate(Status s) { return s ? s : Status(s.code(), "autotune: " + s.message()); }

}  // namespace

Result<double> time_device_impl_us(const Problem& p, const Impl& impl) {
  Scratch s;
  const size_t es = dtype_size(p.dtype());
  TensorArgs args;
  for (int i = 0; i < kArgCount; ++i) {
    const Arg slot = static_cast<Arg>(i);
    const size_t bytes = static_cast<size_t>(p.arg_elements(slot)) * es;
    if (bytes == 0) continue;
    void* ptr = nullptr;
    if (Status st = s.alloc(bytes, &ptr); !st) return annotate(st);
    // 0x3C in every byte: a finite, non-zero, non-denormal value in f32 (0.0115), f16 (1.06) and bf16
    // (0.0115), so the timing sees ordinary arithmetic.
    if (p.arg_use(slot) == ArgUse::kRead)
      if (Status st = cuda::memset_async(ptr, 0x3C, bytes, nullptr); !st) return annotate(st);
    args.set(slot, ptr);
  }
  void* ws = nullptr;
  if (Status st = s.alloc(impl.workspace_bytes(), &ws); !st) return annotate(st);
  if (Status st = cuda::create_stream(&s.stream); !st) return annotate(st);
  if (Status st = cuda::create_event(&s.start); !st) return annotate(st);
  if (Status st = cuda::create_event(&s.stop); !st) return annotate(st);
  if (Status st = cuda::synchronize(nullptr); !st) return annotate(st);

  for (int i = 0; i < kWarmupRuns; ++i)
    if (Status st = impl.run(args, ws, impl.workspace_bytes(), s.stream); !st) return st;
  std::vector<float> ms;
  for (int i = 0; i < kTimedRuns; ++i) {
    if (Status st = cuda::record_event(s.start, s.stream); !st) return annotate(st);
    if (Status st = impl.run(args, ws, impl.workspace_bytes(), s.stream); !st) return st;
    if (Status st = cuda::record_event(s.stop, s.stream); !st) return annotate(st);
    float elapsed = 0.0f;
    if (Status st = cuda::elapsed_ms(s.start, s.stop, &elapsed); !st) return annotate(st);
    ms.push_back(elapsed);
  }
  std::nth_element(ms.begin(), ms.begin() + ms.size() / 2, ms.end());
  return static_cast<double>(ms[ms.size() / 2]) * 1000.0;
}

std::string current_device_key() {
  DeviceInfo d;
  if (Status s = cuda::query_device_info(&d); !s) return "device?";
  int device = -1;
  if (cudaGetDevice(&device) != cudaSuccess) (void)cudaGetLastError();
  return "device" + std::to_string(device) + " " + d.name;
}

}  // namespace dsconv::detail
