#include "tools/common/device.hpp"

#include <cstdlib>
#include <cstring>
#include <utility>
#include <vector>

#if defined(DSCONV_HAVE_CUDA)
#include "cuda/device_api.hpp"
#endif

namespace dsconv::tools {

namespace {

constexpr size_t kHostAlignment = 256;  // what cudaMalloc guarantees; host buffers match so vector loads behave alike

[[maybe_unused]] Status no_cuda(const char* what) {
  return Status(StatusCode::kBackendUnavailable,
                std::string(what) + " requested, but this build of dsconv has no CUDA support (no device memory)");
}

Status out_of_range(const char* what, size_t bytes, size_t offset, size_t size) {
  return Status(StatusCode::kInvalidArgument, std::string(what) + " of " + std::to_string(bytes) + " bytes at offset " +
                                                  std::to_string(offset) + " exceeds a buffer of " +
                                                  std::to_string(size));
}

}  // namespace

// ---------------------------------------------------------------------------------------------
// Stream
// ---------------------------------------------------------------------------------------------

Stream::~Stream() {
#if defined(DSCONV_HAVE_CUDA)
  if (stream_ != nullptr) (void)cuda::destroy_stream(stream_);
#endif
}

Stream::Stream(Stream&& o) noexcept : space_(o.space_), stream_(std::exchange(o.stream_, nullptr)) {}

Stream& Stream::operator=(Stream&& o) noexcept {
  if (this != &o) {
    Stream old(std::move(*this));
    space_ = o.space_;
    stream_ = std::exchange(o.stream_, nullptr);
  }
  return *this;
}

Result<Stream> Stream::create(MemorySpace space) {
  Stream s;
  s.space_ = space;
  if (space == MemorySpace::kHost) return Result<Stream>(std::move(s));
#if defined(DSCONV_HAVE_CUDA)
  if (Status st = cuda::create_stream(&s.stream_); !st) return st;
  return Result<Stream>(std::move(s));
#else
  return no_cuda("a device stream");
#endif
}

Status Stream::synchronize() const {
  if (space_ == MemorySpace::kHost) return Status::ok();
#if defined(DSCONV_HAVE_CUDA)
  return cuda::synchronize(stream_);
#else
  return no_cuda("a device stream");
#endif
}

// ---------------------------------------------------------------------------------------------
// Buffer
// ---------------------------------------------------------------------------------------------

Buffer::~Buffer() { release(); }

Buffer::Buffer(Buffer&& o) noexcept
    : space_(o.space_), ptr_(std::exchange(o.ptr_, nullptr)), bytes_(std::exchange(o.bytes_, 0)) {}

Buffer& Buffer::operator=(Buffer&& o) noexcept {
  if (this != &o) {
    release();
    space_ = o.space_;
    ptr_ = std::exchange(o.ptr_, nullptr);
    bytes_ = std::exchange(o.bytes_, 0);
  }
  return *this;
}

void Buffer::release() noexcept {
  if (ptr_ != nullptr) {
    if (space_ == MemorySpace::kHost) std::free(ptr_);
#if defined(DSCONV_HAVE_CUDA)
    else
      (void)cuda::device_free(ptr_);
#endif
  }
  ptr_ = nullptr;
  bytes_ = 0;
}

Result<Buffer> Buffer::create(MemorySpace space, size_t bytes) {
  Buffer b;
  b.space_ = space;
  if (space == MemorySpace::kHost) {
    const size_t rounded = (bytes + kHostAlignment - 1) / kHostAlignment * kHostAlignment;
    b.ptr_ = std::aligned_alloc(kHostAlignment, rounded == 0 ? kHostAlignment : rounded);
    if (b.ptr_ == nullptr)
      return Status(StatusCode::kInternalError, "host allocation of " + std::to_string(bytes) + " bytes failed");
  } else {
#if defined(DSCONV_HAVE_CUDA)
    if (Status s = cuda::device_alloc(&b.ptr_, bytes == 0 ? 1 : bytes); !s) return s;  // 0 bytes gives nullptr
#else
    return no_cuda("device memory");
#endif
  }
  b.bytes_ = bytes;
  return Result<Buffer>(std::move(b));
}

Status Buffer::upload(const void* host_src, size_t bytes, size_t offset) const {
  if (offset > bytes_ || bytes > bytes_ - offset) return out_of_range("upload", bytes, offset, bytes_);
  if (bytes == 0) return Status::ok();
  void* dst = static_cast<char*>(ptr_) + offset;
  if (space_ == MemorySpace::kHost) {
    std::memcpy(dst, host_src, bytes);
    return Status::ok();
  }
#if defined(DSCONV_HAVE_CUDA)
  return cuda::copy_to_device(dst, host_src, bytes);
#else
  return no_cuda("device memory");
#endif
}

Status Buffer::download(void* host_dst, size_t bytes, size_t offset) const {
  if (offset > bytes_ || bytes > bytes_ - offset) return out_of_range("download", bytes, offset, bytes_);
  if (bytes == 0) return Status::ok();
  const void* src = static_cast<const char*>(ptr_) + offset;
  if (space_ == MemorySpace::kHost) {
    std::memcpy(host_dst, src, bytes);
    return Status::ok();
  }
#if defined(DSCONV_HAVE_CUDA)
  return cuda::copy_to_host(host_dst, src, bytes);
#else
  return no_cuda("device memory");
#endif
}

Status Buffer::fill_async(int value, const Stream& stream) const {
  if (space_ == MemorySpace::kHost) {
    std::memset(ptr_, value, bytes_);
    return Status::ok();
  }
#if defined(DSCONV_HAVE_CUDA)
  return cuda::memset_async(ptr_, value, bytes_, stream.get());
#else
  (void)stream;
  return no_cuda("device memory");
#endif
}

Status Buffer::copy_from_async(const Buffer& src, const Stream& stream) const {
  if (src.bytes_ > bytes_ || src.space_ != space_)
    return Status(StatusCode::kInvalidArgument, "copy of " + std::to_string(src.bytes_) + " bytes into a buffer of " +
                                                    std::to_string(bytes_) + " (or across memory spaces)");
  if (space_ == MemorySpace::kHost) {
    std::memcpy(ptr_, src.ptr_, src.bytes_);
    return Status::ok();
  }
#if defined(DSCONV_HAVE_CUDA)
  return cuda::copy_device_async(ptr_, src.ptr_, src.bytes_, stream.get());
#else
  (void)stream;
  return no_cuda("device memory");
#endif
}

// ---------------------------------------------------------------------------------------------
// Event, device name
// ---------------------------------------------------------------------------------------------

Event::~Event() {
#if defined(DSCONV_HAVE_CUDA)
  (void)cuda::destroy_event(event_);
#endif
}

Event::Event(Event&& o) noexcept : event_(std::exchange(o.event_, nullptr)) {}

Event& Event::operator=(Event&& o) noexcept {
  if (this != &o) {
    Event old(std::move(*this));
    event_ = std::exchange(o.event_, nullptr);
  }
  return *this;
}

Result<Event> Event::create() {
#if defined(DSCONV_HAVE_CUDA)
  Event e;
  if (Status s = cuda::create_event(&e.event_); !s) return s;
  return Result<Event>(std::move(e));
#else
  return no_cuda("a device event");
#endif
}

Status Event::record(const Stream& stream) const {
#if defined(DSCONV_HAVE_CUDA)
  return cuda::record_event(event_, stream.get());
#else
  (void)stream;
  return no_cuda("a device event");
#endif
}

Result<double> Event::elapsed_ms(const Event& start, const Event& stop) {
#if defined(DSCONV_HAVE_CUDA)
  float ms = 0;
  if (Status s = cuda::elapsed_ms(start.event_, stop.event_, &ms); !s) return s;
  return static_cast<double>(ms);
#else
  (void)start;
  (void)stop;
  return no_cuda("a device event");
#endif
}

std::string device_name() {
#if defined(DSCONV_HAVE_CUDA)
  return cuda::device_name();
#else
  return "no device (this build of dsconv has no CUDA support)";
#endif
}

// ---------------------------------------------------------------------------------------------
// TensorBuffers, execute
// ---------------------------------------------------------------------------------------------

Result<TensorBuffers> TensorBuffers::create(MemorySpace space, const TensorSet& host, size_t workspace_bytes) {
  TensorBuffers b;
  b.space_ = space;
  const std::pair<const HostTensor*, Buffer*> inputs[] = {{&host.input, &b.input_},
                                                          {&host.filter, &b.filter_},
                                                          {&host.pointwise, &b.pointwise_},
                                                          {&host.bias, &b.bias_},
                                                          {&host.residual, &b.residual_}};
  for (const auto& [t, buffer] : inputs) {
    if (t->empty()) continue;
    Result<Buffer> r = Buffer::create(space, t->bytes());
    if (!r) return r.status();
    *buffer = std::move(r).value();
    if (Status s = buffer->upload(t->data(), t->bytes()); !s) return s;
  }

  b.output_bytes_ = host.output.bytes();
  Result<Buffer> out = Buffer::create(space, kGuardBytes + b.output_bytes_ + kGuardBytes);
  if (!out) return out.status();
  b.output_ = std::move(out).value();
  const std::vector<uint8_t> guard(kGuardBytes, kGuardByte);
  if (Status s = b.output_.upload(guard.data(), kGuardBytes); !s) return s;
  if (Status s = b.upload_output(host.output); !s) return s;
  if (Status s = b.output_.upload(guard.data(), kGuardBytes, kGuardBytes + b.output_bytes_); !s) return s;

  if (workspace_bytes > 0) {
    Result<Buffer> ws = Buffer::create(space, workspace_bytes);
    if (!ws) return ws.status();
    b.workspace_ = std::move(ws).value();
    b.workspace_bytes_ = workspace_bytes;
    const std::vector<uint8_t> poison(workspace_bytes, 0xFF);
    if (Status s = b.workspace_.upload(poison.data(), poison.size()); !s) return s;
  }
  return Result<TensorBuffers>(std::move(b));
}

TensorArgs TensorBuffers::view() const {
  return TensorArgs()
      .set(Arg::kInput, input_.data())
      .set(Arg::kFilter, filter_.data())
      .set(Arg::kPointwise, pointwise_.data())
      .set(Arg::kBias, bias_.data())
      .set(Arg::kResidual, residual_.data())
      .set(Arg::kOutput, static_cast<char*>(output_.data()) + kGuardBytes);
}

Status TensorBuffers::download_output(HostTensor* out) const {
  if (out->bytes() != output_bytes_)
    return Status(StatusCode::kInvalidArgument, "download_output: host tensor has " + std::to_string(out->bytes()) +
                                                    " bytes, the staged output " + std::to_string(output_bytes_));
  return output_.download(out->data(), output_bytes_, kGuardBytes);
}

Status TensorBuffers::upload_output(const HostTensor& out) const {
  if (out.bytes() != output_bytes_)
    return Status(StatusCode::kInvalidArgument, "upload_output: host tensor has " + std::to_string(out.bytes()) +
                                                    " bytes, the staged output " + std::to_string(output_bytes_));
  return output_.upload(out.data(), output_bytes_, kGuardBytes);
}

Status TensorBuffers::verify_untouched(const TensorSet& host) const {
  std::vector<uint8_t> guards(2 * kGuardBytes);
  if (Status s = output_.download(guards.data(), kGuardBytes); !s) return s;
  if (Status s = output_.download(guards.data() + kGuardBytes, kGuardBytes, kGuardBytes + output_bytes_); !s) return s;
  for (size_t i = 0; i < kGuardBytes; ++i) {
    if (guards[kGuardBytes - 1 - i] != kGuardByte)
      return Status(StatusCode::kInternalError,
                    "the run wrote outside its output: byte " + std::to_string(i + 1) + " before the output changed");
    if (guards[kGuardBytes + i] != kGuardByte)
      return Status(StatusCode::kInternalError,
                    "the run wrote outside its output: byte " + std::to_string(i) + " after the output changed");
  }
  const std::pair<const char*, std::pair<const HostTensor*, const Buffer*>> inputs[] = {
      {"input", {&host.input, &input_}},
      {"filter", {&host.filter, &filter_}},
      {"pointwise", {&host.pointwise, &pointwise_}},
      {"bias", {&host.bias, &bias_}},
      {"residual", {&host.residual, &residual_}}};
  for (const auto& [name, pair] : inputs) {
    const auto& [t, buffer] = pair;
    if (t->empty()) continue;
    std::vector<uint8_t> after(t->bytes());
    if (Status s = buffer->download(after.data(), after.size()); !s) return s;
    if (std::memcmp(after.data(), t->data(), after.size()) != 0)
      return Status(StatusCode::kInternalError, std::string("the run modified its ") + name + " tensor");
  }
  return Status::ok();
}

Status execute(const Plan& plan, TensorSet* t) {
  const size_t ws_bytes = plan.workspace_bytes();
  Result<TensorBuffers> staged = TensorBuffers::create(plan.memory_space(), *t, ws_bytes);
  if (!staged) return staged.status();
  Result<Stream> stream = Stream::create(plan.memory_space());
  if (!stream) return stream.status();
  if (Status s = plan.run(staged->view(), staged->workspace(), ws_bytes, stream->get()); !s) return s;
  if (Status s = stream->synchronize(); !s) return s;
  if (Status s = staged->verify_untouched(*t); !s) return s;
  return staged->download_output(&t->output);
}

}  // namespace dsconv::tools
