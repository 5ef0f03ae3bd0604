#include "cuda/common/runtime.hpp"

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

namespace {

// "no CUDA device: ..." for a failed probe, "" for a usable device.
std::string probe_device() {
  // Without a driver the runtime answers cudaErrorInsufficientDriver (35) or cudaErrorNoDevice (100);
  // both are a plain "no device" here, never a crash.
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
  if (count == 0) return "no CUDA device: cudaGetDeviceCount found none";
  return "";
}

}  // namespace

bool device_present(std::string* why) {
#if defined(DSCONV_CUDA_EMULATION)
  const std::string reason = probe_device();
#else
  static const std::string reason = probe_device();
#endif
  if (!reason.empty() && why != nullptr) *why = reason;
  return reason.empty();
}

Status query_device_info(detail::DeviceInfo* info) {
  if (info == nullptr) return Status(StatusCode::kInvalidArgument, "query_device_info: info is null");
  if (std::string why; !device_present(&why)) return Status(StatusCode::kNoDevice, why);
  int device = 0;
  DSCONV_CUDA_TRY(cudaGetDevice(&device), "cudaGetDevice");
  detail::DeviceInfo d;
  struct Query {
    cudaDeviceAttr attr;
    int* out;
  };
  int optin = 0, per_sm = 0, reserved = 0, l2 = 0;
  const Query queries[] = {{cudaDevAttrComputeCapabilityMajor, &d.cc_major},
                           {cudaDevAttrComputeCapabilityMinor, &d.cc_minor},
                           {cudaDevAttrMultiProcessorCount, &d.sm_count},
                           {cudaDevAttrMaxSharedMemoryPerBlockOptin, &optin},
                           {cudaDevAttrMaxSharedMemoryPerMultiprocessor, &per_sm},
                           {cudaDevAttrReservedSharedMemoryPerBlock, &reserved},
                           {cudaDevAttrMaxThreadsPerMultiProcessor, &d.max_threads_per_sm},
                           {cudaDevAttrMaxBlocksPerMultiprocessor, &d.max_blocks_per_sm},
                           {cudaDevAttrMaxRegistersPerMultiprocessor, &d.regs_per_sm},
                           {cudaDevAttrL2CacheSize, &l2}};
  for (const Query& q : queries)
    DSCONV_CUDA_TRY(cudaDeviceGetAttribute(q.out, q.attr, device),
                    "cudaDeviceGetAttribute(" + std::to_string(static_cast<int>(q.attr)) + ")");
  d.smem_per_block = 48 * 1024;
  d.smem_per_block_optin = optin;
  d.smem_per_sm = per_sm;
  d.smem_reserved_per_block = reserved;
  d.l2_bytes = l2;
  cudaDeviceProp prop{};
  if (cudaGetDeviceProperties(&prop, device) == cudaSuccess) {
    d.name = prop.name;
  } else {
    (void)cudaGetLastError();
    d.name = "device " + std::to_string(device);
  }
  d.name += " (sm_" + std::to_string(d.arch()) + ")";
  *info = d;
  return Status::ok();
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

Status memset_async(void* p, int value, size_t bytes, void* stream) {
  if (bytes == 0) return Status::ok();
  if (p == nullptr) return Status(StatusCode::kInvalidArgument, "memset_async: p is null");
  if (!device_present(nullptr)) return no_device_status();
  DSCONV_CUDA_TRY(cudaMemsetAsync(p, value, bytes, static_cast<cudaStream_t>(stream)),
                  "cudaMemsetAsync of " + std::to_string(bytes) + " bytes");
  return Status::ok();
}

Status copy_device_async(void* dst, const void* src, size_t bytes, void* stream) {
  if (bytes == 0) return Status::ok();
  if (dst == nullptr || src == nullptr)
    return Status(StatusCode::kInvalidArgument,
                  std::string("copy_device_async: ") + (dst ? "src" : "dst") + " is null");
  if (!device_present(nullptr)) return no_device_status();
  DSCONV_CUDA_TRY(cudaMemcpyAsync(dst, src, bytes, cudaMemcpyDeviceToDevice, static_cast<cudaStream_t>(stream)),
                  "cudaMemcpyAsync (device to device) of " + std::to_string(bytes) + " bytes");
  return Status::ok();
}

Status create_event(void** e) {
  if (e == nullptr) return Status(StatusCode::kInvalidArgument, "create_event: e is null");
  *e = nullptr;
  if (!device_present(nullptr)) return no_device_status();
  cudaEvent_t ev = nullptr;
  DSCONV_CUDA_TRY(cudaEventCreate(&ev), "cudaEventCreate");
  *e = ev;
  return Status::ok();
}

Status destroy_event(void* e) {
  if (e == nullptr) return Status::ok();
  DSCONV_CUDA_TRY(cudaEventDestroy(static_cast<cudaEvent_t>(e)), "cudaEventDestroy");
  return Status::ok();
}

Status record_event(void* e, void* stream) {
  if (e == nullptr) return Status(StatusCode::kInvalidArgument, "record_event: e is null");
  DSCONV_CUDA_TRY(cudaEventRecord(static_cast<cudaEvent_t>(e), static_cast<cudaStream_t>(stream)), "cudaEventRecord");
  return Status::ok();
}

Status elapsed_ms(void* start, void* stop, float* ms) {
  if (start == nullptr || stop == nullptr || ms == nullptr)
    return Status(StatusCode::kInvalidArgument, "elapsed_ms: an event or the result pointer is null");
  DSCONV_CUDA_TRY(cudaEventSynchronize(static_cast<cudaEvent_t>(stop)), "cudaEventSynchronize");
  DSCONV_CUDA_TRY(cudaEventElapsedTime(ms, static_cast<cudaEvent_t>(start), static_cast<cudaEvent_t>(stop)),
                  "cudaEventElapsedTime");
  return Status::ok();
}

std::string device_name() {
  std::string why;
  if (!device_present(&why)) return why;
  int device = 0;
  cudaDeviceProp prop{};
  cudaError_t e = cudaGetDevice(&device);
  if (e == cudaSuccess) e = cudaGetDeviceProperties(&prop, device);
  if (e != cudaSuccess) {
    (void)cudaGetLastError();
    return device_error(e, "cudaGetDeviceProperties").message();
  }
  return prop.name;
}

int device_sm_count() {
  detail::DeviceInfo info;
  if (!device_present(nullptr) || !query_device_info(&info)) return 0;
  return info.sm_count;
}

}  // namespace dsconv::cuda
