#include "support/device_memory.hpp"

#if defined(DSCONV_HAVE_CUDA)
#include "cuda/device_api.hpp"
#endif

#include <cstdlib>
#include <cstring>
#include <string>
#include <utility>

namespace dsconv::testing {

namespace {

constexpr size_t kAlignment = 256;  // what cudaMalloc guarantees; host buffers match so vector loads behave alike

Status no_device_backend() {
  return Status(StatusCode::kBackendUnavailable,
                "device memory requested, but this build has no CUDA backend (DSCONV_HAVE_CUDA is not defined)");
}

}  // namespace

Status DeviceMemory::alloc(size_t bytes, void** ptr) const {
  *ptr = nullptr;
  if (space_ == MemorySpace::kHost) {
    const size_t rounded = (bytes + kAlignment - 1) / kAlignment * kAlignment;
    *ptr = std::aligned_alloc(kAlignment, rounded == 0 ? kAlignment : rounded);
    if (*ptr == nullptr)
      return Status(StatusCode::kInternalError, "host allocation of " + std::to_string(bytes) + " bytes failed");
    return Status::ok();
  }
#if defined(DSCONV_HAVE_CUDA)
  return cuda::device_alloc(ptr, bytes == 0 ? 1 : bytes);  // 0 bytes would give nullptr
#else
  return no_device_backend();
#endif
}

Status DeviceMemory::free(void* ptr) const {
  if (ptr == nullptr) return Status::ok();
  if (space_ == MemorySpace::kHost) {
    std::free(ptr);
    return Status::ok();
  }
#if defined(DSCONV_HAVE_CUDA)
  return cuda::device_free(ptr);
#else
  return no_device_backend();
#endif
}

Status DeviceMemory::copy_to(void* dst, const void* host_src, size_t bytes) const {
  if (bytes == 0) return Status::ok();
  if (space_ == MemorySpace::kHost) {
    std::memcpy(dst, host_src, bytes);
    return Status::ok();
  }
#if defined(DSCONV_HAVE_CUDA)
  return cuda::copy_to_device(dst, host_src, bytes);
#else
  return no_device_backend();
#endif
}

Status DeviceMemory::copy_from(void* host_dst, const void* src, size_t bytes) const {
  if (bytes == 0) return Status::ok();
  if (space_ == MemorySpace::kHost) {
    std::memcpy(host_dst, src, bytes);
    return Status::ok();
  }
#if defined(DSCONV_HAVE_CUDA)
  return cuda::copy_to_host(host_dst, src, bytes);
#else
  return no_device_backend();
#endif
}

Status DeviceMemory::create_stream(void** stream) const {
  *stream = nullptr;
  if (space_ == MemorySpace::kHost) return Status::ok();
#if defined(DSCONV_HAVE_CUDA)
  return cuda::create_stream(stream);
#else
  return no_device_backend();
#endif
}

Status DeviceMemory::destroy_stream(void* stream) const {
  if (space_ == MemorySpace::kHost || stream == nullptr) return Status::ok();
#if defined(DSCONV_HAVE_CUDA)
  return cuda::destroy_stream(stream);
#else
  return no_device_backend();
#endif
}

Status DeviceMemory::synchronize(void* stream) const {
  if (space_ == MemorySpace::kHost) return Status::ok();
#if defined(DSCONV_HAVE_CUDA)
  return cuda::synchronize(stream);
#else
  (void)stream;
  return no_device_backend();
#endif
}

Stream::~Stream() {
  if (stream_ != nullptr) (void)memory_.destroy_stream(stream_);
}

Stream::Stream(Stream&& other) noexcept : memory_(other.memory_), stream_(std::exchange(other.stream_, nullptr)) {}

Stream& Stream::operator=(Stream&& other) noexcept {
  if (this != &other) {
    if (stream_ != nullptr) (void)memory_.destroy_stream(stream_);
    memory_ = other.memory_;
    stream_ = std::exchange(other.stream_, nullptr);
  }
  return *this;
}

Result<Stream> Stream::create(MemorySpace space) {
  Stream s;
  s.memory_ = DeviceMemory(space);
  if (Status st = s.memory_.create_stream(&s.stream_); !st) return st;
  return Result<Stream>(std::move(s));
}

Buffer::~Buffer() { release(); }

Buffer::Buffer(Buffer&& other) noexcept
    : memory_(other.memory_), ptr_(std::exchange(other.ptr_, nullptr)), bytes_(std::exchange(other.bytes_, 0)) {}

Buffer& Buffer::operator=(Buffer&& other) noexcept {
  if (this != &other) {
    release();
    memory_ = other.memory_;
    ptr_ = std::exchange(other.ptr_, nullptr);
    bytes_ = std::exchange(other.bytes_, 0);
  }
  return *this;
}

void Buffer::release() {
  if (ptr_ != nullptr) (void)memory_.free(ptr_);
  ptr_ = nullptr;
  bytes_ = 0;
}

Result<Buffer> Buffer::create(MemorySpace space, size_t bytes) {
  Buffer b;
  b.memory_ = DeviceMemory(space);
  if (Status s = b.memory_.alloc(bytes, &b.ptr_); !s) return s;
  b.bytes_ = bytes;
  return Result<Buffer>(std::move(b));
}

Status Buffer::upload(const void* host_src, size_t bytes, size_t offset) const {
  if (offset > bytes_ || bytes > bytes_ - offset)
    return Status(StatusCode::kInvalidArgument, "upload of " + std::to_string(bytes) + " bytes at offset " +
                                                    std::to_string(offset) + " exceeds a buffer of " +
                                                    std::to_string(bytes_));
  return memory_.copy_to(static_cast<char*>(ptr_) + offset, host_src, bytes);
}

Status Buffer::download(void* host_dst, size_t bytes, size_t offset) const {
  if (offset > bytes_ || bytes > bytes_ - offset)
    return Status(StatusCode::kInvalidArgument, "download of " + std::to_string(bytes) + " bytes at offset " +
                                                    std::to_string(offset) + " exceeds a buffer of " +
                                                    std::to_string(bytes_));
  return memory_.copy_from(host_dst, static_cast<char*>(ptr_) + offset, bytes);
}

}  // namespace dsconv::testing
