// Fuzz target: the .npy reader (npy::load) on arbitrary bytes. The bytes are the whole file (an
// in-memory file, memfd, opened by path like any other). Either a format/IO error with a message that
// names the file, or an array whose shape, dtype and values agree with the bytes; a small f32 array
// survives save_f32 + load bit for bit.
#include <sys/mman.h>
#include <unistd.h>

#include <cstddef>
#include <cstdint>
#include <cstring>
#include <string>

#include "dsconv/npy.hpp"
#include "fuzz/fuzz_support.hpp"
#include "src/half.hpp"

namespace {

// One in-memory file for the whole run, rewritten per input.
struct MemFile {
  int fd = -1;
  std::string path;
  MemFile() {
    fd = ::memfd_create("dsconv_fuzz_npy", 0);
    FUZZ_CHECK(fd >= 0, "memfd_create failed");
    path = "/proc/self/fd/" + std::to_string(fd);
  }
  void write(const uint8_t* data, size_t size) const {
    FUZZ_CHECK(::ftruncate(fd, 0) == 0, "ftruncate failed");
    size_t done = 0;
    while (done < size) {
      const ssize_t n = ::pwrite(fd, data + done, size - done, static_cast<off_t>(done));
      FUZZ_CHECK(n > 0, "pwrite failed");
      done += static_cast<size_t>(n);
    }
  }
};

// A writable scratch path for the save + load round trip (a tmpfs when there is one).
std::string scratch_path() {
  const char* dir = ::access("/dev/shm", W_OK) == 0 ? "/dev/shm" : "/tmp";
  return std::string(dir) + "/dsconv_fuzz_npy_" + std::to_string(::getpid()) + ".npy";
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace dsconv;
  static const MemFile file;
  static const std::string scratch = scratch_path();
  file.write(data, size);
  Result<npy::Array> a = npy::load(file.path);
  if (!a) {
    const StatusCode code = a.status().code();
    FUZZ_CHECK(code == StatusCode::kFormatError || code == StatusCode::kIoError,
               "a bad file gave " + a.status().to_string());
    FUZZ_CHECK(a.status().message().rfind(file.path + ": ", 0) == 0,
               "the message does not start with the file: " + a.status().message());
    return 0;
  }
  // Accepted: a 1.0/2.0/3.0 header and exactly shape's data after it.
  FUZZ_CHECK(size >= 10 && std::memcmp(data, "\x93NUMPY", 6) == 0, "accepted a file without the magic");
  int64_t count = 1;
  for (int64_t d : a->shape) {
    FUZZ_CHECK(d >= 0, "negative dimension " + npy::shape_string(a->shape));
    FUZZ_CHECK(!__builtin_mul_overflow(count, d, &count), "shape overflows " + npy::shape_string(a->shape));
  }
  FUZZ_CHECK(count == a->elements(), "elements() disagrees with the shape");
  FUZZ_CHECK(static_cast<int64_t>(a->values.size()) == count, "values disagree with the shape");
  const size_t item = a->dtype == DType::kF32 ? 4 : 2;
  FUZZ_CHECK(a->dtype == DType::kF32 || a->dtype == DType::kF16, "dtype neither f32 nor f16");
  FUZZ_CHECK(static_cast<uint64_t>(count) * item <= size, "more data than bytes");
  // The data is the last count*item bytes, little-endian.
  const uint8_t* raw = data + size - static_cast<size_t>(count) * item;
  for (int64_t i = 0; i < count; ++i) {
    uint32_t bits = 0;
    for (size_t b = 0; b < item; ++b) bits |= static_cast<uint32_t>(raw[static_cast<size_t>(i) * item + b]) << (8 * b);
    const float want = item == 4 ? detail::bits_float(bits) : detail::half_to_float(static_cast<uint16_t>(bits));
    const float got = a->values[static_cast<size_t>(i)];
    FUZZ_CHECK(std::memcmp(&want, &got, 4) == 0 || (want != want && got != got),
               "value " + std::to_string(i) + " differs from its bytes");
  }
  // Round trip of what was read, for small arrays (a file write per input is the slow part).
  if (count <= 256 && a->shape.size() <= 8) {
    const Status s = npy::save_f32(scratch, a->shape, a->values.data());
    FUZZ_CHECK(s.is_ok(), "save_f32 of a loaded array failed: " + s.to_string());
    Result<npy::Array> b = npy::load(scratch);
    FUZZ_CHECK(b.is_ok(), "reloading a saved array failed: " + b.status().to_string());
    FUZZ_CHECK(b->shape == a->shape && b->dtype == DType::kF32, "the round trip changed the shape or dtype");
    FUZZ_CHECK(b->values.empty() || std::memcmp(b->values.data(), a->values.data(), a->values.size() * 4) == 0,
               "the round trip changed the values");
    ::unlink(scratch.c_str());
  }
  return 0;
}
