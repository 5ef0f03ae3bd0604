// The CUDA runtime functions the emulated build supports, defined with the toolkit's own declarations
// (cuda_runtime_api.h). "Device" memory is host memory, streams and events are host objects, and
// everything is synchronous: a launch has finished when it returns.
//
// These definitions carry the runtime's C names, so an emulated libdsconv must not share a process
// with the real libcudart; nothing in an emulation build links it.
#include <algorithm>
#include <chrono>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <map>
#include <mutex>
#include <new>
#include <set>
#include <string>
#include <utility>

#include "cuda/common/known_devices.hpp"
#include "cuda/emu/internal.hpp"

struct CUstream_st {
  unsigned flags = 0;
};

struct CUevent_st {
  unsigned flags = 0;
  bool recorded = false;
  std::chrono::steady_clock::time_point time;
};

namespace dsconv::emu {
namespace {

constexpr size_t kAllocationAlignment = 256;  // cudaMalloc's guarantee
constexpr size_t kTotalMemory = size_t{80} << 30;
constexpr size_t kSmemPerBlock = 48 * 1024;  // without opt-in, on every architecture

thread_local cudaError_t t_last_error = cudaSuccess;

struct Registry {
  std::mutex mu;
  std::map<uintptr_t, size_t> device;  // start -> bytes
  std::map<uintptr_t, size_t> pinned;
  size_t device_bytes = 0;
  std::set<const CUstream_st*> streams;
  std::set<const CUevent_st*> events;
  // cudaFuncAttributeMaxDynamicSharedMemorySize per kernel and impersonated device: a kernel readied on one
  // device keeps that device's limit while the emulator impersonates another (DSCONV_EMU_DEVICE).
  std::map<std::pair<const void*, const detail::DeviceInfo*>, int> max_dynamic_smem;
};

Registry& registry() {
  static Registry* r = new Registry;  // never destroyed: frees may run during static destruction
  return *r;
}

bool contains(const std::map<uintptr_t, size_t>& m, const void* p) {
  const auto a = reinterpret_cast<uintptr_t>(p);
  auto it = m.upper_bound(a);
  if (it == m.begin()) return false;
  --it;
  return a < it->first + std::max<size_t>(it->second, 1);
}

bool valid_kind(cudaMemcpyKind kind) { return kind >= cudaMemcpyHostToHost && kind <= cudaMemcpyDefault; }

void* aligned_bytes(size_t bytes) {
  return ::operator new (bytes, std::align_val_t{kAllocationAlignment}, std::nothrow);
}

void free_aligned(void* p) { ::operator delete (p, std::align_val_t{kAllocationAlignment}); }

}  // namespace

cudaError_t record_error(cudaError_t e) {
  if (e != cudaSuccess) t_last_error = e;
  return e;
}

// "sm_90:16": the known device with 16 SMs, as a MIG slice or a smaller card of the architecture reports it
// (selection rules that depend on the grid against the SM count are tested on it). One description per
// name, kept for the process, so that its address can key per-device state.
const detail::DeviceInfo* sliced_device(const char* want) {
  const char* colon = std::strchr(want, ':');
  if (colon == nullptr) return nullptr;
  char* end = nullptr;
  const long sms = std::strtol(colon + 1, &end, 10);
  const detail::DeviceInfo* whole = cuda::known_device(std::string(want, colon).c_str());
  if (whole == nullptr || end == colon + 1 || *end != '\0' || sms < 1 || sms > whole->sm_count) return nullptr;
  static std::mutex mu;
  static std::map<std::string, detail::DeviceInfo>* slices = new std::map<std::string, detail::DeviceInfo>;
  std::lock_guard<std::mutex> lk(mu);
  auto [it, added] = slices->emplace(want, *whole);
  if (added) {
    it->second.sm_count = static_cast<int>(sms);
    it->second.name += ", " + std::to_string(sms) + " SMs";
  }
  return &it->second;
}

const detail::DeviceInfo* emulated_device() {
  const char* want = std::getenv("DSCONV_EMU_DEVICE");
  if (want == nullptr || *want == '\0') return cuda::known_device("sm_90");
  const detail::DeviceInfo* d = cuda::known_device(want);
  if (d == nullptr) d = sliced_device(want);
  if (d == nullptr) {
    static std::once_flag said;
    std::call_once(said, [want] {
      std::fprintf(
          stderr,
          "dsconv CUDA emulator: DSCONV_EMU_DEVICE=%s is not one of sm_75, sm_80, sm_86, sm_89, sm_90, optionally "
          "with :SMS (fewer SMs than the card has); the emulated device is absent\n",
          want);
    });
  }
  return d;
}

size_t max_dynamic_smem(const void* kernel) {
  const detail::DeviceInfo* d = emulated_device();
  if (d == nullptr) return 0;
  size_t limit = kSmemPerBlock;
  {
    Registry& r = registry();
    std::lock_guard<std::mutex> lk(r.mu);
    auto it = r.max_dynamic_smem.find({kernel, d});
    if (it != r.max_dynamic_smem.end()) limit = static_cast<size_t>(it->second);
  }
  return std::min(limit, static_cast<size_t>(d->smem_per_block_optin));
}

std::vector<std::pair<uintptr_t, size_t>> device_allocations() {
  Registry& r = registry();
  std::lock_guard<std::mutex> lk(r.mu);
  return {r.device.begin(), r.device.end()};
}

bool is_known_stream(cudaStream_t stream) {
  if (stream == nullptr || stream == cudaStreamLegacy || stream == cudaStreamPerThread) return true;
  Registry& r = registry();
  std::lock_guard<std::mutex> lk(r.mu);
  return r.streams.count(stream) != 0;
}

}  // namespace dsconv::emu

using dsconv::emu::emulated_device;
using dsconv::emu::kSmemPerBlock;
using dsconv::emu::kTotalMemory;
using dsconv::emu::record_error;
using dsconv::emu::registry;

// ---------------------------------------------------------------------------------------------
// Errors
// ---------------------------------------------------------------------------------------------

const char* CUDARTAPI cudaGetErrorName(cudaError_t error) {
  // clang-format off
  switch (error) {
    case cudaSuccess: return "cudaSuccess";
    case cudaErrorInvalidValue: return "cudaErrorInvalidValue";
    case cudaErrorMemoryAllocation: return "cudaErrorMemoryAllocation";
    case cudaErrorInitializationError: return "cudaErrorInitializationError";
    case cudaErrorInvalidConfiguration: return "cudaErrorInvalidConfiguration";
    case cudaErrorInvalidMemcpyDirection: return "cudaErrorInvalidMemcpyDirection";
    case cudaErrorInsufficientDriver: return "cudaErrorInsufficientDriver";
    case cudaErrorNoDevice: return "cudaErrorNoDevice";
    case cudaErrorInvalidDevice: return "cudaErrorInvalidDevice";
    case cudaErrorInvalidResourceHandle: return "cudaErrorInvalidResourceHandle";
    case cudaErrorNotReady: return "cudaErrorNotReady";
    case cudaErrorLaunchFailure: return "cudaErrorLaunchFailure";
    case cudaErrorNotSupported: return "cudaErrorNotSupported";
    default: return "cudaErrorUnknown";
  }
  // clang-format on
}

const char* CUDARTAPI cudaGetErrorString(cudaError_t error) {
  // clang-format off
  switch (error) {
    case cudaSuccess: return "no error";
    case cudaErrorInvalidValue: return "invalid argument";
    case cudaErrorMemoryAllocation: return "out of memory";
    case cudaErrorInitializationError: return "initialization error";
    case cudaErrorInvalidConfiguration: return "invalid configuration argument";
    case cudaErrorInvalidMemcpyDirection: return "invalid copy direction for memcpy";
    case cudaErrorInsufficientDriver: return "CUDA driver version is insufficient for CUDA runtime version";
    case cudaErrorNoDevice: return "no CUDA-capable device is detected";
    case cudaErrorInvalidDevice: return "invalid device ordinal";
    case cudaErrorInvalidResourceHandle: return "invalid resource handle";
    case cudaErrorNotReady: return "device not ready";
    case cudaErrorLaunchFailure: return "unspecified launch failure";
    case cudaErrorNotSupported: return "operation not supported";
    default: return "unknown error";
  }
  // clang-format on
}

cudaError_t CUDARTAPI cudaGetLastError(void) {
  const cudaError_t e = dsconv::emu::t_last_error;
  dsconv::emu::t_last_error = cudaSuccess;
  return e;
}

cudaError_t CUDARTAPI cudaPeekAtLastError(void) { return dsconv::emu::t_last_error; }

// ---------------------------------------------------------------------------------------------
// The device
// ---------------------------------------------------------------------------------------------

cudaError_t CUDARTAPI cudaGetDeviceCount(int* count) {
  if (count == nullptr) return record_error(cudaErrorInvalidValue);
  *count = emulated_device() != nullptr ? 1 : 0;
  return *count == 1 ? cudaSuccess : record_error(cudaErrorNoDevice);
}

cudaError_t CUDARTAPI cudaGetDevice(int* device) {
  if (device == nullptr) return record_error(cudaErrorInvalidValue);
  *device = 0;
  return cudaSuccess;
}

cudaError_t CUDARTAPI cudaSetDevice(int device) {
  return device == 0 ? cudaSuccess : record_error(cudaErrorInvalidDevice);
}

cudaError_t CUDARTAPI cudaDriverGetVersion(int* version) {
  if (version == nullptr) return record_error(cudaErrorInvalidValue);
  *version = CUDART_VERSION;
  return cudaSuccess;
}

cudaError_t CUDARTAPI cudaRuntimeGetVersion(int* version) {
  if (version == nullptr) return record_error(cudaErrorInvalidValue);
  *version = CUDART_VERSION;
  return cudaSuccess;
}

cudaError_t CUDARTAPI cudaGetDeviceProperties(struct cudaDeviceProp* prop, int device) {
  if (prop == nullptr) return record_error(cudaErrorInvalidValue);
  const dsconv::detail::DeviceInfo* d = emulated_device();
  if (device != 0 || d == nullptr) return record_error(cudaErrorInvalidDevice);
  std::memset(prop, 0, sizeof *prop);
  std::snprintf(prop->name, sizeof prop->name, "dsconv emulated device");
  prop->totalGlobalMem = kTotalMemory;
  prop->sharedMemPerBlock = kSmemPerBlock;
  prop->regsPerBlock = 65536;
  prop->warpSize = 32;
  prop->memPitch = SIZE_MAX;
  prop->maxThreadsPerBlock = 1024;
  prop->maxThreadsDim[0] = 1024;
  prop->maxThreadsDim[1] = 1024;
  prop->maxThreadsDim[2] = 64;
  prop->maxGridSize[0] = 2147483647;
  prop->maxGridSize[1] = 65535;
  prop->maxGridSize[2] = 65535;
  prop->totalConstMem = 65536;
  prop->major = d->cc_major;
  prop->minor = d->cc_minor;
  prop->multiProcessorCount = d->sm_count;
  prop->l2CacheSize = static_cast<int>(d->l2_bytes);
  prop->maxThreadsPerMultiProcessor = d->max_threads_per_sm;
  prop->sharedMemPerMultiprocessor = static_cast<size_t>(d->smem_per_sm);
  prop->regsPerMultiprocessor = d->regs_per_sm;
  prop->sharedMemPerBlockOptin = static_cast<size_t>(d->smem_per_block_optin);
  prop->maxBlocksPerMultiProcessor = d->max_blocks_per_sm;
  prop->reservedSharedMemPerBlock = static_cast<size_t>(d->smem_reserved_per_block);
  prop->unifiedAddressing = 1;
  prop->concurrentKernels = 1;
  return cudaSuccess;
}

cudaError_t CUDARTAPI cudaDeviceGetAttribute(int* value, enum cudaDeviceAttr attr, int device) {
  if (value == nullptr) return record_error(cudaErrorInvalidValue);
  const dsconv::detail::DeviceInfo* d = emulated_device();
  if (device != 0 || d == nullptr) return record_error(cudaErrorInvalidDevice);
  // clang-format off
  switch (attr) {
    case cudaDevAttrMaxThreadsPerBlock: *value = 1024; break;
    case cudaDevAttrMaxBlockDimX: *value = 1024; break;
    case cudaDevAttrMaxBlockDimY: *value = 1024; break;
    case cudaDevAttrMaxBlockDimZ: *value = 64; break;
    case cudaDevAttrMaxGridDimX: *value = 2147483647; break;
    case cudaDevAttrMaxGridDimY: *value = 65535; break;
    case cudaDevAttrMaxGridDimZ: *value = 65535; break;
    case cudaDevAttrMaxSharedMemoryPerBlock: *value = static_cast<int>(kSmemPerBlock); break;
    case cudaDevAttrMaxSharedMemoryPerBlockOptin: *value = static_cast<int>(d->smem_per_block_optin); break;
    case cudaDevAttrMaxSharedMemoryPerMultiprocessor: *value = static_cast<int>(d->smem_per_sm); break;
    case cudaDevAttrReservedSharedMemoryPerBlock: *value = static_cast<int>(d->smem_reserved_per_block); break;
    case cudaDevAttrWarpSize: *value = 32; break;
    case cudaDevAttrMultiProcessorCount: *value = d->sm_count; break;
    case cudaDevAttrComputeCapabilityMajor: *value = d->cc_major; break;
    case cudaDevAttrComputeCapabilityMinor: *value = d->cc_minor; break;
    case cudaDevAttrMaxThreadsPerMultiProcessor: *value = d->max_threads_per_sm; break;
    case cudaDevAttrMaxBlocksPerMultiprocessor: *value = d->max_blocks_per_sm; break;
    case cudaDevAttrMaxRegistersPerBlock: *value = 65536; break;
    case cudaDevAttrMaxRegistersPerMultiprocessor: *value = d->regs_per_sm; break;
    case cudaDevAttrL2CacheSize: *value = static_cast<int>(d->l2_bytes); break;
    case cudaDevAttrUnifiedAddressing: *value = 1; break;
    default: return record_error(cudaErrorInvalidValue);
  }
  // clang-format on
  return cudaSuccess;
}

cudaError_t CUDARTAPI cudaDeviceSynchronize(void) {
  // Waits for a launch another host thread may be running.
  std::lock_guard<std::mutex> lk(dsconv::emu::device_mutex());
  return cudaSuccess;
}

// ---------------------------------------------------------------------------------------------
// Memory
// ---------------------------------------------------------------------------------------------

cudaError_t CUDARTAPI cudaMalloc(void** ptr, size_t size) {
  if (ptr == nullptr) return record_error(cudaErrorInvalidValue);
  *ptr = nullptr;
  if (size == 0) return cudaSuccess;
  void* p = dsconv::emu::aligned_bytes(size);
  if (p == nullptr) return record_error(cudaErrorMemoryAllocation);
  // Uninitialized, as on a GPU; 0xff bytes (NaN in every float type) make a read of unwritten memory show.
  std::memset(p, 0xff, size);
  auto& r = registry();
  std::lock_guard<std::mutex> lk(r.mu);
  r.device[reinterpret_cast<uintptr_t>(p)] = size;
  r.device_bytes += size;
  *ptr = p;
  return cudaSuccess;
}

cudaError_t CUDARTAPI cudaFree(void* ptr) {
  if (ptr == nullptr) return cudaSuccess;
  auto& r = registry();
  {
    std::lock_guard<std::mutex> lk(r.mu);
    auto it = r.device.find(reinterpret_cast<uintptr_t>(ptr));
    if (it == r.device.end()) return record_error(cudaErrorInvalidValue);
    r.device_bytes -= it->second;
    r.device.erase(it);
  }
  std::lock_guard<std::mutex> device_lock(dsconv::emu::device_mutex());
  dsconv::emu::free_aligned(ptr);
  return cudaSuccess;
}

cudaError_t CUDARTAPI cudaMallocHost(void** ptr, size_t size) {
  if (ptr == nullptr) return record_error(cudaErrorInvalidValue);
  *ptr = nullptr;
  if (size == 0) return cudaSuccess;
  void* p = dsconv::emu::aligned_bytes(size);
  if (p == nullptr) return record_error(cudaErrorMemoryAllocation);
  auto& r = registry();
  std::lock_guard<std::mutex> lk(r.mu);
  r.pinned[reinterpret_cast<uintptr_t>(p)] = size;
  *ptr = p;
  return cudaSuccess;
}

cudaError_t CUDARTAPI cudaFreeHost(void* ptr) {
  if (ptr == nullptr) return cudaSuccess;
  auto& r = registry();
  std::lock_guard<std::mutex> lk(r.mu);
  auto it = r.pinned.find(reinterpret_cast<uintptr_t>(ptr));
  if (it == r.pinned.end()) return record_error(cudaErrorInvalidValue);
  r.pinned.erase(it);
  dsconv::emu::free_aligned(ptr);
  return cudaSuccess;
}

cudaError_t CUDARTAPI cudaMemGetInfo(size_t* free_bytes, size_t* total_bytes) {
  if (free_bytes == nullptr || total_bytes == nullptr) return record_error(cudaErrorInvalidValue);
  auto& r = registry();
  std::lock_guard<std::mutex> lk(r.mu);
  *total_bytes = kTotalMemory;
  *free_bytes = kTotalMemory - std::min(r.device_bytes, kTotalMemory);
  return cudaSuccess;
}

cudaError_t CUDARTAPI cudaPointerGetAttributes(struct cudaPointerAttributes* attributes, const void* ptr) {
  if (attributes == nullptr) return record_error(cudaErrorInvalidValue);
  std::memset(attributes, 0, sizeof *attributes);
  auto& r = registry();
  std::lock_guard<std::mutex> lk(r.mu);
  if (dsconv::emu::contains(r.device, ptr)) {
    attributes->type = cudaMemoryTypeDevice;
    attributes->devicePointer = const_cast<void*>(ptr);
  } else if (dsconv::emu::contains(r.pinned, ptr)) {
    attributes->type = cudaMemoryTypeHost;
    attributes->devicePointer = const_cast<void*>(ptr);
    attributes->hostPointer = const_cast<void*>(ptr);
  } else {
    attributes->type = cudaMemoryTypeUnregistered;
    attributes->device = -2;
  }
  return cudaSuccess;
}

cudaError_t CUDARTAPI cudaMemcpy(void* dst, const void* src, size_t count, enum cudaMemcpyKind kind) {
  if (!dsconv::emu::valid_kind(kind)) return record_error(cudaErrorInvalidMemcpyDirection);
  if (count == 0) return cudaSuccess;
  if (dst == nullptr || src == nullptr) return record_error(cudaErrorInvalidValue);
  std::lock_guard<std::mutex> lk(dsconv::emu::device_mutex());
  std::memmove(dst, src, count);
  return cudaSuccess;
}

cudaError_t CUDARTAPI cudaMemcpyAsync(void* dst, const void* src, size_t count, enum cudaMemcpyKind kind,
                                      cudaStream_t stream) {
  if (!dsconv::emu::is_known_stream(stream)) return record_error(cudaErrorInvalidResourceHandle);
  return cudaMemcpy(dst, src, count, kind);
}

cudaError_t CUDARTAPI cudaMemcpy2D(void* dst, size_t dpitch, const void* src, size_t spitch, size_t width,
                                   size_t height, enum cudaMemcpyKind kind) {
  if (!dsconv::emu::valid_kind(kind)) return record_error(cudaErrorInvalidMemcpyDirection);
  if (width > dpitch || width > spitch) return record_error(cudaErrorInvalidValue);
  if (width == 0 || height == 0) return cudaSuccess;
  if (dst == nullptr || src == nullptr) return record_error(cudaErrorInvalidValue);
  std::lock_guard<std::mutex> lk(dsconv::emu::device_mutex());
  for (size_t row = 0; row < height; ++row)
    std::memmove(static_cast<char*>(dst) + row * dpitch, static_cast<const char*>(src) + row * spitch, width);
  return cudaSuccess;
}

cudaError_t CUDARTAPI cudaMemcpy2DAsync(void* dst, size_t dpitch, const void* src, size_t spitch, size_t width,
                                        size_t height, enum cudaMemcpyKind kind, cudaStream_t stream) {
  if (!dsconv::emu::is_known_stream(stream)) return record_error(cudaErrorInvalidResourceHandle);
  return cudaMemcpy2D(dst, dpitch, src, spitch, width, height, kind);
}

cudaError_t CUDARTAPI cudaMemset(void* ptr, int value, size_t count) {
  if (count == 0) return cudaSuccess;
  if (ptr == nullptr) return record_error(cudaErrorInvalidValue);
  std::lock_guard<std::mutex> lk(dsconv::emu::device_mutex());
  std::memset(ptr, value, count);
  return cudaSuccess;
}

cudaError_t CUDARTAPI cudaMemsetAsync(void* ptr, int value, size_t count, cudaStream_t stream) {
  if (!dsconv::emu::is_known_stream(stream)) return record_error(cudaErrorInvalidResourceHandle);
  return cudaMemset(ptr, value, count);
}

// A __constant__ or __device__ variable is an ordinary host variable here; the symbol is its address.
cudaError_t CUDARTAPI cudaMemcpyToSymbol(const void* symbol, const void* src, size_t count, size_t offset,
                                         enum cudaMemcpyKind kind) {
  if (symbol == nullptr) return record_error(cudaErrorInvalidValue);
  return cudaMemcpy(static_cast<char*>(const_cast<void*>(symbol)) + offset, src, count, kind);
}

cudaError_t CUDARTAPI cudaMemcpyFromSymbol(void* dst, const void* symbol, size_t count, size_t offset,
                                           enum cudaMemcpyKind kind) {
  if (symbol == nullptr) return record_error(cudaErrorInvalidValue);
  return cudaMemcpy(dst, static_cast<const char*>(symbol) + offset, count, kind);
}

// ---------------------------------------------------------------------------------------------
// Streams and events
// ---------------------------------------------------------------------------------------------

cudaError_t CUDARTAPI cudaStreamCreateWithFlags(cudaStream_t* stream, unsigned int flags) {
  if (stream == nullptr) return record_error(cudaErrorInvalidValue);
  auto* s = new CUstream_st;
  s->flags = flags;
  auto& r = registry();
  std::lock_guard<std::mutex> lk(r.mu);
  r.streams.insert(s);
  *stream = s;
  return cudaSuccess;
}

cudaError_t CUDARTAPI cudaStreamCreate(cudaStream_t* stream) {
  return cudaStreamCreateWithFlags(stream, cudaStreamDefault);
}

cudaError_t CUDARTAPI cudaStreamDestroy(cudaStream_t stream) {
  auto& r = registry();
  std::lock_guard<std::mutex> lk(r.mu);
  if (r.streams.erase(stream) == 0) return record_error(cudaErrorInvalidResourceHandle);
  delete stream;
  return cudaSuccess;
}

cudaError_t CUDARTAPI cudaStreamSynchronize(cudaStream_t stream) {
  if (!dsconv::emu::is_known_stream(stream)) return record_error(cudaErrorInvalidResourceHandle);
  std::lock_guard<std::mutex> lk(dsconv::emu::device_mutex());
  return cudaSuccess;
}

cudaError_t CUDARTAPI cudaStreamQuery(cudaStream_t stream) {
  return dsconv::emu::is_known_stream(stream) ? cudaSuccess : record_error(cudaErrorInvalidResourceHandle);
}

cudaError_t CUDARTAPI cudaStreamIsCapturing(cudaStream_t stream, enum cudaStreamCaptureStatus* status) {
  if (status == nullptr) return record_error(cudaErrorInvalidValue);
  if (!dsconv::emu::is_known_stream(stream)) return record_error(cudaErrorInvalidResourceHandle);
  *status = cudaStreamCaptureStatusNone;
  return cudaSuccess;
}

cudaError_t CUDARTAPI cudaEventCreateWithFlags(cudaEvent_t* event, unsigned int flags) {
  if (event == nullptr) return record_error(cudaErrorInvalidValue);
  auto* e = new CUevent_st;
  e->flags = flags;
  auto& r = registry();
  std::lock_guard<std::mutex> lk(r.mu);
  r.events.insert(e);
  *event = e;
  return cudaSuccess;
}

cudaError_t CUDARTAPI cudaEventCreate(cudaEvent_t* event) { return cudaEventCreateWithFlags(event, cudaEventDefault); }

cudaError_t CUDARTAPI cudaEventDestroy(cudaEvent_t event) {
  auto& r = registry();
  std::lock_guard<std::mutex> lk(r.mu);
  if (r.events.erase(event) == 0) return record_error(cudaErrorInvalidResourceHandle);
  delete event;
  return cudaSuccess;
}

cudaError_t CUDARTAPI cudaEventRecord(cudaEvent_t event, cudaStream_t stream) {
  if (!dsconv::emu::is_known_stream(stream)) return record_error(cudaErrorInvalidResourceHandle);
  auto& r = registry();
  std::lock_guard<std::mutex> lk(r.mu);
  if (r.events.count(event) == 0) return record_error(cudaErrorInvalidResourceHandle);
  event->recorded = true;
  event->time = std::chrono::steady_clock::now();
  return cudaSuccess;
}

cudaError_t CUDARTAPI cudaEventSynchronize(cudaEvent_t event) {
  auto& r = registry();
  std::lock_guard<std::mutex> lk(r.mu);
  return r.events.count(event) != 0 ? cudaSuccess : record_error(cudaErrorInvalidResourceHandle);
}

cudaError_t CUDARTAPI cudaEventQuery(cudaEvent_t event) { return cudaEventSynchronize(event); }

cudaError_t CUDARTAPI cudaEventElapsedTime(float* ms, cudaEvent_t start, cudaEvent_t end) {
  if (ms == nullptr) return record_error(cudaErrorInvalidValue);
  auto& r = registry();
  std::lock_guard<std::mutex> lk(r.mu);
  if (r.events.count(start) == 0 || r.events.count(end) == 0) return record_error(cudaErrorInvalidResourceHandle);
  if (!start->recorded || !end->recorded || ((start->flags | end->flags) & cudaEventDisableTiming) != 0)
    return record_error(cudaErrorInvalidResourceHandle);
  *ms = std::chrono::duration<float, std::milli>(end->time - start->time).count();
  return cudaSuccess;
}

cudaError_t CUDARTAPI cudaStreamWaitEvent(cudaStream_t stream, cudaEvent_t event, unsigned int) {
  if (!dsconv::emu::is_known_stream(stream)) return record_error(cudaErrorInvalidResourceHandle);
  auto& r = registry();
  std::lock_guard<std::mutex> lk(r.mu);
  return r.events.count(event) != 0 ? cudaSuccess : record_error(cudaErrorInvalidResourceHandle);
}

// ---------------------------------------------------------------------------------------------
// Kernel attributes
// ---------------------------------------------------------------------------------------------

cudaError_t CUDARTAPI cudaFuncSetAttribute(const void* func, enum cudaFuncAttribute attr, int value) {
  if (func == nullptr) return record_error(cudaErrorInvalidValue);
  if (attr == cudaFuncAttributeMaxDynamicSharedMemorySize) {
    const dsconv::detail::DeviceInfo* d = emulated_device();
    if (d == nullptr) return record_error(cudaErrorNoDevice);
    if (value < 0 || value > d->smem_per_block_optin) return record_error(cudaErrorInvalidValue);
    auto& r = registry();
    std::lock_guard<std::mutex> lk(r.mu);
    r.max_dynamic_smem[{func, d}] = value;
  }
  return cudaSuccess;
}

cudaError_t CUDARTAPI cudaFuncGetAttributes(struct cudaFuncAttributes* attr, const void* func) {
  if (attr == nullptr || func == nullptr) return record_error(cudaErrorInvalidValue);
  std::memset(attr, 0, sizeof *attr);
  attr->maxThreadsPerBlock = 1024;
  // Static __shared__ variables are function-local statics in the emulator, not counted here.
  attr->maxDynamicSharedSizeBytes = static_cast<int>(dsconv::emu::max_dynamic_smem(func));
  const dsconv::detail::DeviceInfo* d = emulated_device();
  attr->ptxVersion = d != nullptr ? d->arch() : 90;
  attr->binaryVersion = attr->ptxVersion;
  return cudaSuccess;
}

cudaError_t CUDARTAPI cudaOccupancyMaxActiveBlocksPerMultiprocessor(int* blocks, const void* func, int block_size,
                                                                    size_t dynamic_smem) {
  if (blocks == nullptr || func == nullptr || block_size <= 0 || block_size > 1024)
    return record_error(cudaErrorInvalidValue);
  const dsconv::detail::DeviceInfo* d = emulated_device();
  if (d == nullptr) return record_error(cudaErrorNoDevice);
  const int by_threads = d->max_threads_per_sm / block_size;
  const int by_smem = static_cast<int>(static_cast<size_t>(d->smem_per_sm) /
                                       (dynamic_smem + static_cast<size_t>(d->smem_reserved_per_block)));
  *blocks = std::max(0, std::min({d->max_blocks_per_sm, by_threads, by_smem}));
  return cudaSuccess;
}
