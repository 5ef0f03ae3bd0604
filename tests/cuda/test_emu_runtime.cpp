// The runtime calls the backend and the driver use (memory, streams, events, device queries, launch
// errors), 16-bit float and vector types as kernels see them, and the cuda backend as the rest of
// the library sees it: registered, available on the emulated device, never chosen by "auto" there.
#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <string>
#include <vector>

#include "cuda/device_api.hpp"
#include "cuda/test_emu_support.hpp"
#include "dsconv/dsconv.hpp"
#include "support/emulated_device.hpp"

namespace dsconv::emu_test {
namespace {

TEST(EmuRuntime, MemoryCopiesAndMemsetRoundTrip) {
  EMU_REQUIRE_DEVICE();
  std::vector<uint8_t> host(1000);
  for (size_t i = 0; i < host.size(); ++i) host[i] = static_cast<uint8_t>(i * 13 + 1);
  void *a = nullptr, *b = nullptr;
  EMU_ASSERT_CUDA(cudaMalloc(&a, host.size()));
  EMU_ASSERT_CUDA(cudaMalloc(&b, host.size()));
  EXPECT_EQ(reinterpret_cast<uintptr_t>(a) % 256, 0u);
  EMU_ASSERT_CUDA(cudaMemcpy(a, host.data(), host.size(), cudaMemcpyHostToDevice));
  EMU_ASSERT_CUDA(cudaMemcpy(b, a, host.size(), cudaMemcpyDeviceToDevice));
  EMU_ASSERT_CUDA(cudaMemset(b, 0x5a, 10));
  std::vector<uint8_t> back(host.size());
  EMU_ASSERT_CUDA(cudaMemcpy(back.data(), b, back.size(), cudaMemcpyDeviceToHost));
  for (size_t i = 0; i < back.size(); ++i) ASSERT_EQ(back[i], i < 10 ? 0x5a : host[i]) << i;
  EMU_ASSERT_CUDA(cudaFree(a));
  EMU_ASSERT_CUDA(cudaFree(b));
  EXPECT_EQ(cudaFree(nullptr), cudaSuccess);
}

TEST(EmuRuntime, StreamsAndEvents) {
  EMU_REQUIRE_DEVICE();
  cudaStream_t s = nullptr;
  EMU_ASSERT_CUDA(cudaStreamCreateWithFlags(&s, cudaStreamNonBlocking));
  cudaEvent_t start = nullptr, stop = nullptr;
  EMU_ASSERT_CUDA(cudaEventCreate(&start));
  EMU_ASSERT_CUDA(cudaEventCreate(&stop));
  EMU_ASSERT_CUDA(cudaEventRecord(start, s));
  std::vector<float> host(4096, 1.5f);
  void* d = nullptr;
  EMU_ASSERT_CUDA(cudaMalloc(&d, host.size() * sizeof(float)));
  EMU_ASSERT_CUDA(cudaMemcpyAsync(d, host.data(), host.size() * sizeof(float), cudaMemcpyHostToDevice, s));
  EMU_ASSERT_CUDA(cudaMemsetAsync(d, 0, sizeof(float), s));
  EMU_ASSERT_CUDA(cudaEventRecord(stop, s));
  EMU_ASSERT_CUDA(cudaEventSynchronize(stop));
  float ms = -1.0f;
  EMU_ASSERT_CUDA(cudaEventElapsedTime(&ms, start, stop));
  EXPECT_GE(ms, 0.0f);
  EMU_ASSERT_CUDA(cudaStreamSynchronize(s));
  std::vector<float> back(host.size());
  EMU_ASSERT_CUDA(cudaMemcpy(back.data(), d, back.size() * sizeof(float), cudaMemcpyDeviceToHost));
  EXPECT_EQ(back[0], 0.0f);
  EXPECT_EQ(back[1], 1.5f);
  EXPECT_EQ(back.back(), 1.5f);
  EMU_ASSERT_CUDA(cudaFree(d));
  EMU_ASSERT_CUDA(cudaEventDestroy(start));
  EMU_ASSERT_CUDA(cudaEventDestroy(stop));
  EMU_ASSERT_CUDA(cudaStreamDestroy(s));
  EMU_ASSERT_CUDA(cudaDeviceSynchronize());
}

TEST(EmuRuntime, DeviceLimitsAreQueryable) {
  EMU_REQUIRE_DEVICE();
  int count = 0, device = -1, warp = 0, threads = 0, optin = 0, sms = 0;
  EMU_ASSERT_CUDA(cudaGetDeviceCount(&count));
  EXPECT_GE(count, 1);
  EMU_ASSERT_CUDA(cudaGetDevice(&device));
  EXPECT_EQ(device, 0);
  EMU_ASSERT_CUDA(cudaDeviceGetAttribute(&warp, cudaDevAttrWarpSize, 0));
  EMU_ASSERT_CUDA(cudaDeviceGetAttribute(&threads, cudaDevAttrMaxThreadsPerBlock, 0));
  EMU_ASSERT_CUDA(cudaDeviceGetAttribute(&optin, cudaDevAttrMaxSharedMemoryPerBlockOptin, 0));
  EMU_ASSERT_CUDA(cudaDeviceGetAttribute(&sms, cudaDevAttrMultiProcessorCount, 0));
  EXPECT_EQ(warp, 32);
  EXPECT_EQ(threads, 1024);
  EXPECT_GE(optin, 48 * 1024);
  EXPECT_GT(sms, 0);
  cudaDeviceProp prop;
  EMU_ASSERT_CUDA(cudaGetDeviceProperties(&prop, 0));
  EXPECT_EQ(prop.warpSize, 32);
  EXPECT_EQ(static_cast<size_t>(optin), prop.sharedMemPerBlockOptin);
#if defined(DSCONV_CUDA_EMULATION)
  EXPECT_STREQ(prop.name, "dsconv emulated device");
  EXPECT_EQ(optin, 227 * 1024);
  EXPECT_EQ(cudaGetDeviceProperties(&prop, 1), cudaErrorInvalidDevice);
  EXPECT_EQ(cudaGetLastError(), cudaErrorInvalidDevice);
  EXPECT_EQ(cudaGetLastError(), cudaSuccess);
#endif
}

#if defined(DSCONV_CUDA_EMULATION)
// DSCONV_EMU_DEVICE=sm_90:4 is the H100 with 4 SMs (as a MIG slice reports it), its other limits unchanged;
// no SMs, more than the card has, or anything but a number after the colon make the device absent.
TEST(EmuRuntime, ASliceOfACardHasTheSmsItNames) {
  {
    testing::EmulatedDevice slice("sm_90:4");
    int sms = 0, optin = 0;
    EMU_ASSERT_CUDA(cudaDeviceGetAttribute(&sms, cudaDevAttrMultiProcessorCount, 0));
    EMU_ASSERT_CUDA(cudaDeviceGetAttribute(&optin, cudaDevAttrMaxSharedMemoryPerBlockOptin, 0));
    EXPECT_EQ(sms, 4);
    EXPECT_EQ(optin, 227 * 1024);
  }
  for (const char* bad : {"sm_90:0", "sm_90:133", "sm_90:", "sm_90:4x", "sm_70:4"}) {
    testing::EmulatedDevice slice(bad);
    int count = -1;
    EXPECT_EQ(cudaGetDeviceCount(&count), cudaErrorNoDevice) << bad;
    EXPECT_EQ(count, 0) << bad;
    (void)cudaGetLastError();
  }
  int sms = 0;
  EMU_ASSERT_CUDA(cudaDeviceGetAttribute(&sms, cudaDevAttrMultiProcessorCount, 0));
  EXPECT_EQ(sms, 132);
}
#endif

__global__ void write_one(int* out) { out[blockIdx.x * blockDim.x + threadIdx.x] = 1; }

#if defined(DSCONV_CUDA_EMULATION)
__global__ void write_one_big_smem(int* out) { out[blockIdx.x * blockDim.x + threadIdx.x] = 1; }

// A kernel readied on a card is readied anew on a slice of it: the slice has the card's ordinal and opt-in
// maximum but is a device of its own, whose shared-memory limit starts at the default 48 KiB (a launch of
// 100 KiB on the slice failed when prepare_kernel knew a device by ordinal and maximum only).
TEST(EmuRuntime, AKernelReadiedOnACardIsReadiedAgainOnASliceOfIt) {
  DeviceArray<int> out(64);
  const auto run = [&]() {
    EMU_ASSERT_CUDA(dsconv::cuda::prepare_kernel(reinterpret_cast<const void*>(&write_one_big_smem)));
    out.fill_bytes(0);
    EMU_ASSERT_CUDA(dsconv::cuda::launch(write_one_big_smem, dim3(2), dim3(32), 100 * 1024, nullptr, out.get()));
    EXPECT_EQ(out.download(), std::vector<int>(64, 1));
  };
  {
    testing::EmulatedDevice card("sm_90");
    run();
  }
  testing::EmulatedDevice slice("sm_90:1");
  run();
}
#endif

TEST(EmuRuntime, BadLaunchConfigurationsAreErrors) {
  EMU_REQUIRE_DEVICE();
  DeviceArray<int> out(64);
  EXPECT_EQ(dsconv::cuda::launch(write_one, dim3(1), dim3(2048), 0, nullptr, out.get()), cudaErrorInvalidConfiguration);
  EXPECT_EQ(dsconv::cuda::launch(write_one, dim3(1), dim3(8, 8, 65), 0, nullptr, out.get()),
            cudaErrorInvalidConfiguration);
  EXPECT_EQ(dsconv::cuda::launch(write_one, dim3(0), dim3(32), 0, nullptr, out.get()), cudaErrorInvalidConfiguration);
  EXPECT_EQ(dsconv::cuda::launch(write_one, dim3(1, 70000), dim3(32), 0, nullptr, out.get()),
            cudaErrorInvalidConfiguration);
  EXPECT_EQ(cudaGetLastError(), cudaSuccess);
  out.fill_bytes(0);
  EMU_ASSERT_CUDA(dsconv::cuda::launch(write_one, dim3(2), dim3(32), 0, nullptr, out.get()));
  EXPECT_EQ(out.download(), std::vector<int>(64, 1));
}

#if defined(DSCONV_CUDA_EMULATION)
TEST(EmuRuntime, UnknownHandlesAreErrors) {
  int bogus = 0;
  const auto stream = reinterpret_cast<cudaStream_t>(&bogus);
  DeviceArray<int> out(32);
  EXPECT_EQ(dsconv::cuda::launch(write_one, dim3(1), dim3(32), 0, stream, out.get()), cudaErrorInvalidResourceHandle);
  EXPECT_EQ(cudaStreamSynchronize(stream), cudaErrorInvalidResourceHandle);
  EXPECT_EQ(cudaFree(&bogus), cudaErrorInvalidValue);
  EXPECT_EQ(cudaMemcpy(out.get(), &bogus, 4, static_cast<cudaMemcpyKind>(17)), cudaErrorInvalidMemcpyDirection);
  (void)cudaGetLastError();
}

TEST(EmuRuntime, ModeCanBeSwitchedForTests) {
  const emu::Mode before = emu::mode();
  EXPECT_TRUE(emu::set_mode(emu::Mode::kThreads));
  EXPECT_EQ(emu::mode(), emu::Mode::kThreads);
  const bool fibers = emu::set_mode(emu::Mode::kFibers);
#if defined(__SANITIZE_THREAD__)
  EXPECT_FALSE(fibers);
  EXPECT_EQ(emu::mode(), emu::Mode::kThreads);
#else
  EXPECT_TRUE(fibers);
  EXPECT_EQ(emu::mode(), emu::Mode::kFibers);
#endif
  (void)emu::set_mode(before);
}
#endif

// 16-bit floats in kernels: conversions round to nearest even and __hfma rounds once.
__global__ void bf16_fma(const __nv_bfloat16* a, const __nv_bfloat16* b, const __nv_bfloat16* c, __nv_bfloat16* out,
                         int n) {
  const int i = static_cast<int>(threadIdx.x);
  if (i < n) out[i] = __hfma(a[i], b[i], c[i]);
}

TEST(EmuTypes, Bf16FmaRoundsOnce) {
  EMU_REQUIRE_DEVICE();
  // a*b = 1.5 + 2^-7 + 2^-8 lies exactly halfway between two bf16 neighbours; the tiny c decides.
  // Rounding a*b + c in two steps (to float or double, then to bf16) would lose c and round to even.
  const float a = 1.0f + std::ldexp(1.0f, -7), b = 1.5f;
  const float tiny = std::ldexp(1.0f, -100);
  std::vector<__nv_bfloat16> va = {__float2bfloat16_rn(a), __float2bfloat16_rn(a), __float2bfloat16_rn(2.0f)};
  std::vector<__nv_bfloat16> vb = {__float2bfloat16_rn(b), __float2bfloat16_rn(b), __float2bfloat16_rn(3.0f)};
  std::vector<__nv_bfloat16> vc = {__float2bfloat16_rn(tiny), __float2bfloat16_rn(-tiny), __float2bfloat16_rn(0.5f)};
  const std::vector<float> expect = {1.5f + std::ldexp(1.0f, -6), 1.5f + std::ldexp(1.0f, -7), 6.5f};
  DeviceArray<__nv_bfloat16> da(va), db(vb), dc(vc), dout(3);
  EMU_ASSERT_CUDA(
      dsconv::cuda::launch(bf16_fma, dim3(1), dim3(32), 0, nullptr, da.get(), db.get(), dc.get(), dout.get(), 3));
  const std::vector<__nv_bfloat16> got = dout.download();
  for (size_t i = 0; i < 3; ++i) EXPECT_EQ(__bfloat162float(got[i]), expect[i]) << "case " << i;
}

__global__ void convert_and_pack(const float* in, __half* h, __nv_bfloat16* bf, float4* packed, int n) {
  const int i = static_cast<int>(threadIdx.x);
  if (i >= n) return;
  h[i] = __float2half_rn(in[i]);
  bf[i] = __float2bfloat16_rn(in[i]);
  const __half2 pair = __floats2half2_rn(in[i], -in[i]);
  const float2 back = __half22float2(pair);
  packed[i] = make_float4(back.x, back.y, __half2float(h[i]), __bfloat162float(bf[i]));
}

TEST(EmuTypes, HalfAndBfloat16ConversionsRoundToNearestEven) {
  EMU_REQUIRE_DEVICE();
  // 1 + 2^-11 is a tie for f16 (rounds down to even 1.0); 1 + 3*2^-11 rounds up; 1 + 2^-8 is a tie for bf16.
  const std::vector<float> in = {1.0f + std::ldexp(1.0f, -11),
                                 1.0f + 3 * std::ldexp(1.0f, -11),
                                 1.0f + std::ldexp(1.0f, -8),
                                 65504.0f,
                                 -3.25f,
                                 1e-8f};
  const std::vector<float> want_h = {1.0f, 1.0f + std::ldexp(1.0f, -9), 1.0f + std::ldexp(1.0f, -8), 65504.0f, -3.25f,
                                     0.0f};
  const std::vector<float> want_bf = {1.0f, 1.0f, 1.0f, 65536.0f, -3.25f, 1e-8f};
  const int n = static_cast<int>(in.size());
  DeviceArray<float> d_in(in);
  DeviceArray<__half> d_h(in.size());
  DeviceArray<__nv_bfloat16> d_bf(in.size());
  DeviceArray<float4> d_packed(in.size());
  EMU_ASSERT_CUDA(dsconv::cuda::launch(convert_and_pack, dim3(1), dim3(32), 0, nullptr, d_in.get(), d_h.get(),
                                       d_bf.get(), d_packed.get(), n));
  const std::vector<float4> packed = d_packed.download();
  for (int i = 0; i < n; ++i) {
    const float4 p = packed[static_cast<size_t>(i)];
    EXPECT_EQ(p.z, want_h[static_cast<size_t>(i)]) << "f16 of " << in[static_cast<size_t>(i)];
    EXPECT_EQ(p.x, want_h[static_cast<size_t>(i)]);
    EXPECT_EQ(p.y, -want_h[static_cast<size_t>(i)]);
    // bf16 keeps 8 significant bits: compare with the value rounded on the host by the same rule.
    const float want = i == 5 ? __bfloat162float(__float2bfloat16_rn(1e-8f)) : want_bf[static_cast<size_t>(i)];
    EXPECT_EQ(p.w, want) << "bf16 of " << in[static_cast<size_t>(i)];
  }
  EXPECT_EQ(alignof(float4), 16u);
  EXPECT_EQ(sizeof(__half2), 4u);
}

// The backend and the device API, as the rest of the library sees them.
TEST(EmuBackend, CudaBackendIsRegistered) {
  const std::vector<std::string> built = built_backends();
  EXPECT_NE(std::find(built.begin(), built.end(), "cuda"), built.end());
  std::string why;
  const bool available = backend_available("cuda", &why);
#if defined(DSCONV_CUDA_EMULATION)
  EXPECT_TRUE(available) << why;
#else
  int count = 0;
  const bool device = cudaGetDeviceCount(&count) == cudaSuccess && count > 0;
  (void)cudaGetLastError();
  EXPECT_EQ(available, device) << why;
  if (!available) EXPECT_NE(why.find("no CUDA device"), std::string::npos) << why;
#endif
}

#if defined(DSCONV_CUDA_EMULATION)
TEST(EmuBackend, AutoNeverPicksTheEmulatedDevice) {
  ProblemDesc d;
  d.height = 8;
  d.width = 8;
  d.channels = 4;
  d.kernel_h = d.kernel_w = 3;
  Result<Problem> p = Problem::create(d);
  ASSERT_TRUE(p.is_ok()) << p.status().to_string();
  Result<Plan> plan = Plan::create(*p, "auto");
  ASSERT_TRUE(plan.is_ok()) << plan.status().to_string();
  EXPECT_NE(plan->backend(), "cuda");
  bool said_why = false;
  for (const Rejection& r : plan->rejections())
    said_why = said_why || (r.backend == "cuda" && r.reason.find("emulated device") != std::string::npos);
  EXPECT_TRUE(said_why) << plan->explain();
}
#endif

TEST(EmuBackend, DeviceApiMovesDataThroughAStream) {
  EMU_REQUIRE_DEVICE();
  std::vector<int> host(333), back(333, 0);
  for (size_t i = 0; i < host.size(); ++i) host[i] = static_cast<int>(i) * 3 - 7;
  void* d = nullptr;
  void* stream = nullptr;
  ASSERT_TRUE(cuda::device_alloc(&d, host.size() * sizeof(int)).is_ok());
  ASSERT_NE(d, nullptr);
  ASSERT_TRUE(cuda::create_stream(&stream).is_ok());
  ASSERT_TRUE(cuda::copy_to_device(d, host.data(), host.size() * sizeof(int)).is_ok());
  ASSERT_TRUE(cuda::synchronize(stream).is_ok());
  ASSERT_TRUE(cuda::copy_to_host(back.data(), d, back.size() * sizeof(int)).is_ok());
  EXPECT_EQ(back, host);
  EXPECT_EQ(cuda::copy_to_host(nullptr, d, 4).code(), StatusCode::kInvalidArgument);
  EXPECT_TRUE(cuda::destroy_stream(stream).is_ok());
  EXPECT_TRUE(cuda::device_free(d).is_ok());
  void* empty = &back;
  EXPECT_TRUE(cuda::device_alloc(&empty, 0).is_ok());
  EXPECT_EQ(empty, nullptr);
}

}  // namespace
}  // namespace dsconv::emu_test
