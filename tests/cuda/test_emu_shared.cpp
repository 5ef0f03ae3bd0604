// Shared memory in the emulator: static __shared__ storage belongs to one block at a time, dynamic
// shared memory (DSCONV_DYNAMIC_SMEM) has the launch's size and alignment, also above 48 KiB, and
// launches that ask for too much are errors, not crashes.
#include <algorithm>
#include <atomic>
#include <cstdint>
#include <cstdlib>
#include <thread>
#include <vector>

#include "cuda/test_emu_support.hpp"

namespace dsconv::emu_test {
namespace {

// Every thread adds its block's tag into one shared counter: if two blocks shared the storage, or a
// block saw another's partial sums, the totals would mix.
__global__ void per_block_total(int* out) {
  __shared__ int total;
  __shared__ int scratch[128];
  const int t = static_cast<int>(threadIdx.x);
  if (t == 0) total = 0;
  scratch[t] = static_cast<int>(blockIdx.x) + 1;
  __syncthreads();
  atomicAdd(&total, scratch[(t + 1) % 128]);
  __syncthreads();
  if (t == 0) out[blockIdx.x] = total;
}

TEST(EmuShared, BlocksDoNotSeeEachOthersSharedMemory) {
  EMU_REQUIRE_DEVICE();
  const int blocks = 9;
  std::vector<int> expect(blocks);
  for (int b = 0; b < blocks; ++b) expect[static_cast<size_t>(b)] = 128 * (b + 1);
  for (const ModeCase& mc : modes_to_test()) {
    SCOPED_TRACE(mc.name);
    ModeScope scope(mc);
    DeviceArray<int> out(blocks);
    ASSERT_TRUE(out.ok());
    EMU_ASSERT_CUDA(dsconv::cuda::launch(per_block_total, dim3(blocks), dim3(128), 0, nullptr, out.get()));
    EXPECT_EQ(out.download(), expect);
  }
}

// Reverses `n` floats per block through dynamic shared memory (n == blockDim.x * per_thread).
__global__ void reverse_through_dynamic_smem(const float* in, float* out, int n, int per_thread, unsigned* misaligned) {
  DSCONV_DYNAMIC_SMEM(float, buf);
  if (reinterpret_cast<uintptr_t>(buf) % 16 != 0) atomicAdd(misaligned, 1u);
  const int t = static_cast<int>(threadIdx.x);
  const float* src = in + static_cast<size_t>(blockIdx.x) * n;
  for (int k = 0; k < per_thread; ++k)
    buf[t + k * static_cast<int>(blockDim.x)] = src[t + k * static_cast<int>(blockDim.x)];
  __syncthreads();
  float* dst = out + static_cast<size_t>(blockIdx.x) * n;
  for (int k = 0; k < per_thread; ++k) {
    const int i = t + k * static_cast<int>(blockDim.x);
    dst[i] = buf[n - 1 - i];
  }
}

void check_reverse(int threads, int per_thread, int blocks) {
  const int n = threads * per_thread;
  std::vector<float> in(static_cast<size_t>(n) * blocks), expect(in.size());
  for (size_t i = 0; i < in.size(); ++i) in[i] = static_cast<float>(static_cast<int>(i % 1000) - 500);
  for (int b = 0; b < blocks; ++b)
    for (int i = 0; i < n; ++i) expect[static_cast<size_t>(b) * n + i] = in[static_cast<size_t>(b) * n + (n - 1 - i)];
  const size_t smem = static_cast<size_t>(n) * sizeof(float);
  for (const ModeCase& mc : modes_to_test()) {
    SCOPED_TRACE(mc.name + " smem " + std::to_string(smem));
    ModeScope scope(mc);
    DeviceArray<float> d_in(in), d_out(in.size());
    DeviceArray<unsigned> misaligned(std::vector<unsigned>{0u});
    ASSERT_TRUE(d_in.ok() && d_out.ok() && misaligned.ok());
    EMU_ASSERT_CUDA(dsconv::cuda::launch(reverse_through_dynamic_smem, dim3(blocks), dim3(threads), smem, nullptr,
                                         d_in.get(), d_out.get(), n, per_thread, misaligned.get()));
    EXPECT_EQ(d_out.download(), expect);
    EXPECT_EQ(misaligned.download()[0], 0u);
  }
}

TEST(EmuShared, DynamicSharedMemoryHasTheLaunchSize) {
  EMU_REQUIRE_DEVICE();
  check_reverse(128, 3, 5);  // 1.5 KiB
  check_reverse(64, 1, 2);
}

TEST(EmuShared, DynamicSharedMemoryAbove48KiB) {
  EMU_REQUIRE_DEVICE();
  check_reverse(256, 100, 2);  // 100 KiB: the launch helper must opt the kernel in first
}

__global__ void touch_dynamic_smem(int* out) {
  DSCONV_DYNAMIC_SMEM(int, buf);
  buf[threadIdx.x] = 1;
  out[threadIdx.x] = buf[threadIdx.x];
}

TEST(EmuShared, TooMuchDynamicSharedMemoryIsALaunchError) {
  EMU_REQUIRE_DEVICE();
  DeviceArray<int> out(32);
  int optin = 0;
  EMU_ASSERT_CUDA(cudaDeviceGetAttribute(&optin, cudaDevAttrMaxSharedMemoryPerBlockOptin, 0));
  const cudaError_t err = dsconv::cuda::launch(touch_dynamic_smem, dim3(1), dim3(32), static_cast<size_t>(optin) + 1024,
                                               nullptr, out.get());
  EXPECT_NE(err, cudaSuccess);
  EXPECT_EQ(cudaGetLastError(), cudaSuccess) << "the launch helper reports its error once, by return value";
  // The device stays usable.
  EMU_ASSERT_CUDA(dsconv::cuda::launch(touch_dynamic_smem, dim3(1), dim3(32), 32 * sizeof(int), nullptr, out.get()));
  EXPECT_EQ(out.download(), std::vector<int>(32, 1));
}

// Two host threads launch one kernel with different dynamic shared-memory sizes above 48 KiB, many times:
// every launch succeeds. (Setting the kernel's limit to each launch's own size, as a launch helper might,
// lets thread A's "set 100 KiB" be overwritten by thread B's "set 60 KiB" before A launches.)
__global__ void fill_dynamic_smem(int* out, int n) {
  DSCONV_DYNAMIC_SMEM(int, buf);
  for (int i = static_cast<int>(threadIdx.x); i < n; i += static_cast<int>(blockDim.x)) buf[i] = i;
  __syncthreads();
  if (threadIdx.x == 0) out[blockIdx.x] = buf[n - 1];
}

TEST(EmuShared, ConcurrentLaunchesWithDifferentSharedMemorySizes) {
  EMU_REQUIRE_DEVICE();
  int optin = 0;
  EMU_ASSERT_CUDA(cudaDeviceGetAttribute(&optin, cudaDevAttrMaxSharedMemoryPerBlockOptin, 0));
  const int sizes[2] = {60 * 1024, std::min(optin, 96 * 1024)};
  std::atomic<int> failures{0};
  auto worker = [&](int which) {
    const int n = sizes[which] / static_cast<int>(sizeof(int));
    DeviceArray<int> out(2);
    for (int i = 0; i < 25; ++i) {
      if (dsconv::cuda::launch(fill_dynamic_smem, dim3(2), dim3(64), static_cast<size_t>(sizes[which]), nullptr,
                               out.get(), n) != cudaSuccess)
        ++failures;
    }
    if (cudaDeviceSynchronize() != cudaSuccess || out.download() != std::vector<int>{n - 1, n - 1}) ++failures;
  };
  std::thread a(worker, 0), b(worker, 1);
  a.join();
  b.join();
  EXPECT_EQ(failures.load(), 0);
}

#if defined(DSCONV_CUDA_EMULATION)
// As on a GPU: a kernel may launch with more than 48 KiB of dynamic shared memory only after it opted in
// (cudaFuncSetAttribute), and never with more than the device allows a block.
__global__ void touch_first(int* out) {
  DSCONV_DYNAMIC_SMEM(int, buf);
  if (threadIdx.x == 0) {
    buf[0] = 5;
    out[0] = buf[0];
  }
}

TEST(EmuShared, MoreThan48KiBNeedsTheOptIn) {
  DeviceArray<int> out(1);
  const size_t big = 64 * 1024;
  EXPECT_EQ(dsconv::emu::launch_kernel(touch_first, dim3(1), dim3(32), big, nullptr, out.get()), cudaErrorInvalidValue)
      << "a launch above 48 KiB without the opt-in";
  EXPECT_EQ(dsconv::emu::launch_kernel(touch_first, dim3(1), dim3(32), 48 * 1024, nullptr, out.get()), cudaSuccess);
  EMU_ASSERT_CUDA(cudaFuncSetAttribute(reinterpret_cast<const void*>(touch_first),
                                       cudaFuncAttributeMaxDynamicSharedMemorySize, static_cast<int>(big)));
  EXPECT_EQ(dsconv::emu::launch_kernel(touch_first, dim3(1), dim3(32), big, nullptr, out.get()), cudaSuccess);
  EXPECT_EQ(dsconv::emu::launch_kernel(touch_first, dim3(1), dim3(32), big + 4, nullptr, out.get()),
            cudaErrorInvalidValue)
      << "above the kernel's opted-in limit";
  EXPECT_EQ(out.download(), std::vector<int>{5});
}

__global__ void touch_first_per_device(int* out) {
  DSCONV_DYNAMIC_SMEM(int, buf);
  if (threadIdx.x == 0) {
    buf[0] = 7;
    out[0] = buf[0];
  }
}

// A kernel's opted-in shared memory belongs to the device it was set on, as on a machine with several
// GPUs: set on an sm_90 and on an sm_75 (impersonated in turn), each keeps its own.
TEST(EmuShared, AKernelsSharedMemoryLimitIsPerDevice) {
  struct Restore {
    ~Restore() { ::unsetenv("DSCONV_EMU_DEVICE"); }
  } restore;
  const void* k = reinterpret_cast<const void*>(touch_first_per_device);
  const auto limit = [&] {
    cudaFuncAttributes a{};
    EXPECT_EQ(cudaFuncGetAttributes(&a, k), cudaSuccess);
    return a.maxDynamicSharedSizeBytes;
  };
  ::setenv("DSCONV_EMU_DEVICE", "sm_90", 1);
  EMU_ASSERT_CUDA(cudaFuncSetAttribute(k, cudaFuncAttributeMaxDynamicSharedMemorySize, 200 * 1024));
  ::setenv("DSCONV_EMU_DEVICE", "sm_75", 1);
  EXPECT_EQ(limit(), 48 * 1024) << "not opted in on this device yet";
  EMU_ASSERT_CUDA(cudaFuncSetAttribute(k, cudaFuncAttributeMaxDynamicSharedMemorySize, 64 * 1024));
  EXPECT_EQ(limit(), 64 * 1024);
  ::setenv("DSCONV_EMU_DEVICE", "sm_90", 1);
  EXPECT_EQ(limit(), 200 * 1024);
  DeviceArray<int> out(1);
  EXPECT_EQ(dsconv::emu::launch_kernel(touch_first_per_device, dim3(1), dim3(32), 200 * 1024, nullptr, out.get()),
            cudaSuccess);
  EXPECT_EQ(out.download(), std::vector<int>{7});
}

// DSCONV_EMU_DEVICE picks the architecture the emulator reports and enforces.
TEST(EmuShared, TheImpersonatedDeviceSetsTheLimits) {
  struct Restore {
    ~Restore() { ::unsetenv("DSCONV_EMU_DEVICE"); }
  } restore;
  ::setenv("DSCONV_EMU_DEVICE", "sm_86", 1);
  int optin = 0, major = 0, minor = 0, sms = 0, per_sm = 0;
  EMU_ASSERT_CUDA(cudaDeviceGetAttribute(&optin, cudaDevAttrMaxSharedMemoryPerBlockOptin, 0));
  EMU_ASSERT_CUDA(cudaDeviceGetAttribute(&major, cudaDevAttrComputeCapabilityMajor, 0));
  EMU_ASSERT_CUDA(cudaDeviceGetAttribute(&minor, cudaDevAttrComputeCapabilityMinor, 0));
  EMU_ASSERT_CUDA(cudaDeviceGetAttribute(&sms, cudaDevAttrMultiProcessorCount, 0));
  EMU_ASSERT_CUDA(cudaDeviceGetAttribute(&per_sm, cudaDevAttrMaxSharedMemoryPerMultiprocessor, 0));
  EXPECT_EQ(optin, 99 * 1024);
  EXPECT_EQ(major * 10 + minor, 86);
  EXPECT_EQ(sms, 72);
  EXPECT_EQ(per_sm, 100 * 1024);
  DeviceArray<int> out(1);
  EXPECT_EQ(cudaFuncSetAttribute(reinterpret_cast<const void*>(touch_first),
                                 cudaFuncAttributeMaxDynamicSharedMemorySize, 100 * 1024),
            cudaErrorInvalidValue);
  (void)cudaGetLastError();
  EXPECT_EQ(dsconv::cuda::launch(touch_first, dim3(1), dim3(32), 100 * 1024, nullptr, out.get()), cudaErrorInvalidValue)
      << "more than an sm_86 block can have";
  EXPECT_EQ(dsconv::cuda::launch(touch_first, dim3(1), dim3(32), 99 * 1024, nullptr, out.get()), cudaSuccess);

  ::setenv("DSCONV_EMU_DEVICE", "sm_70", 1);
  int count = -1;
  EXPECT_EQ(cudaGetDeviceCount(&count), cudaErrorNoDevice);
  EXPECT_EQ(count, 0);
  (void)cudaGetLastError();
}

// The emulator fills dynamic shared memory with 0xff bytes (NaN as a float) at the start of every
// block, so a kernel that reads it before writing gets NaN, not a plausible leftover.
__global__ void read_dynamic_smem_before_writing(unsigned* out) {
  DSCONV_DYNAMIC_SMEM(unsigned, buf);
  out[blockIdx.x * blockDim.x + threadIdx.x] = buf[threadIdx.x];
  __syncthreads();
  buf[threadIdx.x] = 7;  // must not leak into the next block
}

TEST(EmuShared, DynamicSharedMemoryIsPoisonedAtEveryBlockStart) {
  for (const ModeCase& mc : modes_to_test()) {
    SCOPED_TRACE(mc.name);
    ModeScope scope(mc);
    DeviceArray<unsigned> out(3 * 32);
    EMU_ASSERT_CUDA(dsconv::cuda::launch(read_dynamic_smem_before_writing, dim3(3), dim3(32), 32 * sizeof(unsigned),
                                         nullptr, out.get()));
    EXPECT_EQ(out.download(), std::vector<unsigned>(3 * 32, 0xffffffffu));
  }
}
#endif

}  // namespace
}  // namespace dsconv::emu_test
