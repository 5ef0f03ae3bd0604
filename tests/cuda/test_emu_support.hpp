// Shared by the emulator's tests (tests/cuda/test_emu_*.cpp). These files are host C++ in the emulation
// build and CUDA in the real build (cuda/CMakeLists.txt, dsconv_add_test_extras), so every test runs
// the same small kernels on the emulator and, where there is one, on a GPU.
#pragma once

#include <gtest/gtest.h>

#include <cstddef>
#include <string>
#include <vector>

#include "cuda/emu/cuda_compat.hpp"

namespace dsconv::emu_test {

// Skips the test when the real build has no usable GPU (the emulator always has its device).
#define EMU_REQUIRE_DEVICE()                                                           \
  do {                                                                                 \
    int emu_test_count_ = 0;                                                           \
    if (cudaGetDeviceCount(&emu_test_count_) != cudaSuccess || emu_test_count_ == 0) { \
      (void)cudaGetLastError();                                                        \
      GTEST_SKIP() << "no CUDA device";                                                \
    }                                                                                  \
  } while (0)

// Whether the device runs sm_80 instructions (mma.sync, cp.async, ldmatrix's users): the emulator always.
inline bool device_has_sm80() {
#if defined(DSCONV_CUDA_EMULATION)
  return true;
#else
  int major = 0;
  return cudaDeviceGetAttribute(&major, cudaDevAttrComputeCapabilityMajor, 0) == cudaSuccess && major >= 8;
#endif
}

#define EMU_ASSERT_CUDA(call)                                                                    \
  do {                                                                                           \
    const cudaError_t emu_test_err_ = (call);                                                    \
    ASSERT_EQ(emu_test_err_, cudaSuccess) << #call << ": " << cudaGetErrorString(emu_test_err_); \
  } while (0)

// A device array owned by a test; copies in and out synchronously.
template <class T>
class DeviceArray {
 public:
  explicit DeviceArray(size_t n) : n_(n) {
    if (cudaMalloc(reinterpret_cast<void**>(&p_), n * sizeof(T)) != cudaSuccess) p_ = nullptr;
  }
  explicit DeviceArray(const std::vector<T>& host) : DeviceArray(host.size()) { upload(host); }
  ~DeviceArray() { (void)cudaFree(p_); }
  DeviceArray(const DeviceArray&) = delete;
  DeviceArray& operator=(const DeviceArray&) = delete;

  T* get() const { return p_; }
  size_t size() const { return n_; }
  bool ok() const { return p_ != nullptr || n_ == 0; }
  void upload(const std::vector<T>& host) const {
    (void)cudaMemcpy(p_, host.data(), host.size() * sizeof(T), cudaMemcpyHostToDevice);
  }
  std::vector<T> download() const {
    std::vector<T> host(n_);
    (void)cudaDeviceSynchronize();
    (void)cudaMemcpy(host.data(), p_, n_ * sizeof(T), cudaMemcpyDeviceToHost);
    return host;
  }
  void fill_bytes(int byte) const { (void)cudaMemset(p_, byte, n_ * sizeof(T)); }

 private:
  T* p_ = nullptr;
  size_t n_ = 0;
};

// The execution modes a test should cover: both emulator modes that this build can run (fibers are
// unavailable under ThreadSanitizer), or a single pass on a GPU.
struct ModeCase {
  std::string name;
#if defined(DSCONV_CUDA_EMULATION)
  emu::Mode mode;
#endif
};

inline std::vector<ModeCase> modes_to_test() {
#if defined(DSCONV_CUDA_EMULATION)
  std::vector<ModeCase> v;
  const emu::Mode original = emu::mode();
  for (emu::Mode m : {emu::Mode::kFibers, emu::Mode::kThreads}) {
    if (emu::set_mode(m)) v.push_back({emu::to_string(m), m});
  }
  (void)emu::set_mode(original);
  return v;
#else
  return {{"gpu"}};
#endif
}

// Runs the enclosed launches in one mode and restores the previous mode afterwards.
class ModeScope {
 public:
  explicit ModeScope(const ModeCase& c) {
#if defined(DSCONV_CUDA_EMULATION)
    previous_ = emu::mode();
    (void)emu::set_mode(c.mode);
#else
    (void)c;
#endif
  }
  ~ModeScope() {
#if defined(DSCONV_CUDA_EMULATION)
    (void)emu::set_mode(previous_);
#endif
  }
  ModeScope(const ModeScope&) = delete;
  ModeScope& operator=(const ModeScope&) = delete;

 private:
#if defined(DSCONV_CUDA_EMULATION)
  emu::Mode previous_ = emu::Mode::kFibers;
#endif
};

}  // namespace dsconv::emu_test
