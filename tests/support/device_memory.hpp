// Test-side memory in a plan's memory space: host buffers for host backends, device buffers for device
// backends (through cuda/device_api.hpp, which the cuda backend exports when DSCONV_HAVE_CUDA is
// defined; without it, asking for device memory is a kBackendUnavailable error). Tests move data only
// through this interface, so one test body serves every backend.
#pragma once

#include <cstddef>
#include <cstdint>

#include "dsconv/config.h"
#include "dsconv/dsconv.hpp"

namespace dsconv::testing {

class DeviceMemory {
 public:
  explicit DeviceMemory(MemorySpace space) : space_(space) {}
  MemorySpace space() const { return space_; }
  // At least `bytes` (never a null pointer on success, also for 0 bytes), 256-byte aligned.
  Status alloc(size_t bytes, void** ptr) const;
  Status free(void* ptr) const;
  Status copy_to(void* dst, const void* host_src, size_t bytes) const;    // host -> this space
  Status copy_from(void* host_dst, const void* src, size_t bytes) const;  // this space -> host
  // A stream to pass to Plan::run: a new non-blocking stream on the device, nullptr on the host.
  Status create_stream(void** stream) const;
  Status destroy_stream(void* stream) const;
  // Waits for all work enqueued on `stream` and reports its asynchronous errors (no-op on the host).
  Status synchronize(void* stream) const;

 private:
  MemorySpace space_;
};

// An owned stream of one memory space (nullptr for the host).
class Stream {
 public:
  Stream() = default;
  ~Stream();
  Stream(Stream&& other) noexcept;
  Stream& operator=(Stream&& other) noexcept;
  Stream(const Stream&) = delete;
  Stream& operator=(const Stream&) = delete;

  static Result<Stream> create(MemorySpace space);
  void* get() const { return stream_; }
  Status synchronize() const { return memory_.synchronize(stream_); }

 private:
  DeviceMemory memory_{MemorySpace::kHost};
  void* stream_ = nullptr;
};

// An owned allocation in one memory space.
class Buffer {
 public:
  Buffer() = default;
  ~Buffer();
  Buffer(Buffer&& other) noexcept;
  Buffer& operator=(Buffer&& other) noexcept;
  Buffer(const Buffer&) = delete;
  Buffer& operator=(const Buffer&) = delete;

  static Result<Buffer> create(MemorySpace space, size_t bytes);
  void* data() const { return ptr_; }
  size_t bytes() const { return bytes_; }
  MemorySpace space() const { return memory_.space(); }
  Status upload(const void* host_src, size_t bytes, size_t offset = 0) const;
  Status download(void* host_dst, size_t bytes, size_t offset = 0) const;

 private:
  void release();
  DeviceMemory memory_{MemorySpace::kHost};
  void* ptr_ = nullptr;
  size_t bytes_ = 0;
};

}  // namespace dsconv::testing
