// Memory, streams and events in a plan's memory space, for the tests and the driver: host memory for
// host backends, device memory for device backends (through the library's device API, which
// libdsconv exports when dsconv/config.h defines DSCONV_HAVE_CUDA; without it, asking for device memory
// is a kBackendUnavailable error naming the reason). One runtime, the library's (real or emulated),
// owns every device allocation, stream and event; tool code includes no CUDA header.
//
// On top: TensorBuffers (a TensorSet staged in one memory space, the output between guard bytes, the
// workspace poisoned) and execute(), the one way the tests, `dsconv run` and `dsconv check` run a plan.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>

#include "dsconv/config.h"
#include "dsconv/dsconv.hpp"
#include "tools/common/tensor.hpp"

namespace dsconv::tools {

// An owned stream of one memory space: a new non-blocking device stream (never the legacy default
// stream, which the library never uses), or nullptr for the host.
class Stream {
 public:
  Stream() = default;
  ~Stream();
  Stream(Stream&& other) noexcept;
  Stream& operator=(Stream&& other) noexcept;
  Stream(const Stream&) = delete;
  Stream& operator=(const Stream&) = delete;

  static Result<Stream> create(MemorySpace space);
  // The handle to pass to Plan::run (a cudaStream_t on the device).
  void* get() const { return stream_; }
  MemorySpace space() const { return space_; }
  // Waits for all work enqueued on the stream and reports its asynchronous errors (no-op on the host).
  Status synchronize() const;

 private:
  MemorySpace space_ = MemorySpace::kHost;
  void* stream_ = nullptr;
};

// An owned allocation in one memory space: at least `bytes` (never a null pointer on success, also for
// 0 bytes), 256-byte aligned on the host as cudaMalloc is on the device, so kernels see the alignment
// they would in real use.
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
  MemorySpace space() const { return space_; }
  // Synchronous copies from and to host memory; kInvalidArgument when [offset, offset + bytes) exceeds
  // the buffer.
  Status upload(const void* host_src, size_t bytes, size_t offset = 0) const;
  Status download(void* host_dst, size_t bytes, size_t offset = 0) const;
  // Enqueued on `stream` (done at once on the host): every byte set to `value`, and a copy of all of
  // `src` (same space, at most bytes() long) to the start of this buffer.
  Status fill_async(int value, const Stream& stream) const;
  Status copy_from_async(const Buffer& src, const Stream& stream) const;

 private:
  void release() noexcept;
  MemorySpace space_ = MemorySpace::kHost;
  void* ptr_ = nullptr;
  size_t bytes_ = 0;
};

// A device event, for timing work on a stream (the emulator's events read the host clock). Without
// CUDA in the build, create() is a kBackendUnavailable error.
class Event {
 public:
  Event() = default;
  ~Event();
  Event(Event&& other) noexcept;
  Event& operator=(Event&& other) noexcept;
  Event(const Event&) = delete;
  Event& operator=(const Event&) = delete;

  static Result<Event> create();
  Status record(const Stream& stream) const;
  // Milliseconds between two recorded events; waits until `stop` has completed.
  static Result<double> elapsed_ms(const Event& start, const Event& stop);

 private:
  void* event_ = nullptr;
};

// The current device's name ("NVIDIA H100 80GB HBM3"), or why there is none.
std::string device_name();

// A TensorSet staged in one memory space, plus a workspace, for one plan:
//  - every tensor is uploaded, the output (poisoned on the host, so its poison reaches the device) between
//    kGuardBytes of guard on each side, so a write out of bounds is caught;
//  - the workspace is filled with 0xFF bytes (NaN in every dtype), so an implementation that reads it
//    before writing it produces NaN.
// Move-only; frees everything it allocated.
class TensorBuffers {
 public:
  // A multiple of 256, so the output keeps the alignment of a fresh allocation.
  static constexpr size_t kGuardBytes = 256;
  static constexpr uint8_t kGuardByte = 0xA5;

  static Result<TensorBuffers> create(MemorySpace space, const TensorSet& host, size_t workspace_bytes);
  // The staged tensors by slot (null for an absent pointwise, bias or residual), for Plan::run.
  TensorArgs view() const;
  void* workspace() const { return workspace_bytes_ > 0 ? workspace_.data() : nullptr; }
  size_t workspace_bytes() const { return workspace_bytes_; }
  MemorySpace space() const { return space_; }
  // Copies the output back into *out, which must have the staged output's size.
  Status download_output(HostTensor* out) const;
  // Re-uploads the host output (e.g. the poison) before another run.
  Status upload_output(const HostTensor& out) const;
  // After a run: kInternalError naming the place when a guard byte around the output changed or when an
  // input no longer equals `host`'s.
  Status verify_untouched(const TensorSet& host) const;

 private:
  MemorySpace space_ = MemorySpace::kHost;
  Buffer input_, filter_, pointwise_, bias_, residual_, output_, workspace_;
  size_t output_bytes_ = 0, workspace_bytes_ = 0;
};

// Runs `plan` on *t wherever the plan's memory lives: stages the tensors (TensorBuffers), runs on a
// stream made for the purpose (never the default stream), synchronizes, verifies that nothing outside
// the output was written, and brings the output back into t->output.
Status execute(const Plan& plan, TensorSet* t);

}  // namespace dsconv::tools
