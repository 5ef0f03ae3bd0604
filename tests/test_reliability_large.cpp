// Tensors past 2^31 elements: no silent 32-bit wraparound anywhere.
//  - Past2e31.InputBeyond2e31WithATinyOutput (every build): a depthwise problem whose input has 5*2^30
//    elements (NHWC f16 and NCHW f32) and whose stride leaves a 3x3 output (windows at the start, the
//    middle and the end), so that it costs a few page faults: the input lives in untouched anonymous
//    memory (zero pages; nothing is allocated for real) except the taps the outputs read, many of them
//    more than 2^31 and 2^32 elements in. The
//    reference and the cuda backend (where the tiled kernels decline and the 64-bit direct kernel runs)
//    must give exactly the hand-computed output: an offset wrapped to 32 bits reads a zero page instead
//    of a tap (or, negative, faults).
//  - Past2e31.OutputBeyond2e31 (opt-in: DSCONV_TEST_LARGE=1, or any GPU build): N = 2^31 + 5 images of
//    1x1x1, so the output has more than 2^31 elements (4 GiB of f16, all written); every output element is
//    checked, the sampled ones (at and past 2^31) against their inputs. It computes 2^31 outputs: about a
//    minute for the reference on two cores and several for the emulator, seconds on a GPU.
//  - cuDNN's int32 descriptors: Past2e31.CudnnDeclinesWithTheReason (a GPU with cuDNN; skipped otherwise).
#include <sys/mman.h>

#include <cerrno>

#include <algorithm>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <limits>
#include <map>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include <gtest/gtest.h>

#include "dsconv/config.h"
#include "dsconv/dsconv.hpp"
#include "tools/common/device.hpp"
#include "tools/common/tensor.hpp"

namespace dsconv {
namespace {

constexpr int64_t k2e31 = int64_t{1} << 31;

// Memory for a tensor of which a test writes and reads only a few elements. Where the plan's memory is
// host memory (host backends, and the emulated device, whose device memory is host memory), anonymous
// pages never touched cost nothing and read as zero; on a GPU, device memory cleared once.
class SparseBuffer {
 public:
  SparseBuffer() = default;
  SparseBuffer(const SparseBuffer&) = delete;
  SparseBuffer& operator=(const SparseBuffer&) = delete;
  SparseBuffer(SparseBuffer&& o) noexcept { *this = std::move(o); }
  SparseBuffer& operator=(SparseBuffer&& o) noexcept {
    std::swap(map_, o.map_);
    std::swap(bytes_, o.bytes_);
    std::swap(device_, o.device_);
    return *this;
  }
  ~SparseBuffer() {
    if (map_ != nullptr) ::munmap(map_, bytes_);
  }

  static Result<SparseBuffer> create(MemorySpace space, size_t bytes) {
    SparseBuffer b;
    b.bytes_ = bytes;
#if defined(DSCONV_HAVE_CUDA) && !defined(DSCONV_HAVE_CUDA_EMULATION)
    if (space == MemorySpace::kDevice) {
      Result<tools::Buffer> d = tools::Buffer::create(space, bytes);
      if (!d) return d.status();
      Result<tools::Stream> s = tools::Stream::create(space);
      if (!s) return s.status();
      if (Status st = d->fill_async(0, *s); !st) return st;
      if (Status st = s->synchronize(); !st) return st;
      b.device_ = std::move(d).value();
      return b;
    }
#else
    (void)space;
#endif
    void* p = ::mmap(nullptr, bytes, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
    // Only address space is asked for; a kernel that does not overcommit (vm.overcommit_memory=2) refuses.
    if (p == MAP_FAILED)
      return Status(StatusCode::kNotSupported, "cannot reserve " + std::to_string(bytes) +
                                                   " bytes of address space (mmap: " + std::strerror(errno) + ")");
    b.map_ = p;
    return b;
  }
  void* data() const { return map_ != nullptr ? map_ : device_.data(); }
  Status write(size_t offset, const void* src, size_t n) const {
    if (map_ == nullptr) return device_.upload(src, n, offset);
    std::memcpy(static_cast<char*>(map_) + offset, src, n);
    return Status::ok();
  }
  Status read(size_t offset, void* dst, size_t n) const {
    if (map_ == nullptr) return device_.download(dst, n, offset);
    std::memcpy(dst, static_cast<const char*>(map_) + offset, n);
    return Status::ok();
  }

 private:
  void* map_ = nullptr;
  size_t bytes_ = 0;
  tools::Buffer device_;
};

Status put(const SparseBuffer& b, DType dt, int64_t index, float v) {
  const std::vector<uint8_t> bytes = tools::encode(dt, {v});
  return b.write(static_cast<size_t>(index) * bytes.size(), bytes.data(), bytes.size());
}

// Runs plan on (x, w, bias) into y on a stream of its own and waits for it (depthwise or conv2d).
Status run_depthwise(const Plan& plan, const void* x, const void* w, const void* bias, void* y) {
  Result<tools::Stream> stream = tools::Stream::create(plan.memory_space());
  if (!stream) return stream.status();
  const TensorArgs args =
      TensorArgs().set(Arg::kInput, x).set(Arg::kFilter, w).set(Arg::kBias, bias).set(Arg::kOutput, y);
  if (Status s = plan.run(args, nullptr, 0, stream->get()); !s) return s;
  return stream->synchronize();
}

// Runs `plan` on input x (already in the plan's memory space) with filter w and bias (small integers) into
// a NaN-poisoned output, and checks every output against `want` exactly (small integers: exact in every
// dtype).
void run_and_check(const Plan& plan, const void* x, const std::vector<float>& w, const std::vector<float>& bias,
                   const std::vector<double>& want) {
  const Problem& p = plan.problem();
  const MemorySpace space = plan.memory_space();
  const size_t es = dtype_size(p.dtype());
  const int64_t outs = p.output_elements();
  Result<tools::Buffer> wb = tools::Buffer::create(space, w.size() * es);
  Result<tools::Buffer> bb = tools::Buffer::create(space, bias.size() * es);
  Result<tools::Buffer> yb = tools::Buffer::create(space, static_cast<size_t>(outs) * es);
  ASSERT_TRUE(wb.is_ok() && bb.is_ok() && yb.is_ok());
  const std::vector<uint8_t> wbytes = tools::encode(p.dtype(), w), bbytes = tools::encode(p.dtype(), bias);
  const std::vector<uint8_t> poison = tools::nan_poison(p.dtype(), outs);
  ASSERT_TRUE(wb->upload(wbytes.data(), wbytes.size()).is_ok());
  ASSERT_TRUE(bb->upload(bbytes.data(), bbytes.size()).is_ok());
  ASSERT_TRUE(yb->upload(poison.data(), poison.size()).is_ok());
  const Status st = run_depthwise(plan, x, wb->data(), bb->data(), yb->data());
  ASSERT_TRUE(st.is_ok()) << st.to_string();
  std::vector<uint8_t> got_bytes(static_cast<size_t>(outs) * es);
  ASSERT_TRUE(yb->download(got_bytes.data(), got_bytes.size()).is_ok());
  const std::vector<float> got = tools::decode(p.dtype(), got_bytes.data(), outs);
  for (size_t i = 0; i < got.size(); ++i)
    EXPECT_EQ(got[i], static_cast<float>(want[i])) << "output " << i << " (small integers: exact in every dtype)";
}

// Input element (y, x, c) of image 0 at its offset in p's layout, and a distinct small integer for each
// element the past-2^31 tests read.
int64_t input_offset(const Problem& p, int64_t y, int64_t x, int64_t c) {
  return p.layout() == Layout::kNHWC ? (y * p.w() + x) * p.c() + c : (c * p.h() + y) * p.w() + x;
}
float input_value(int64_t y, int64_t x, int64_t c) {
  return static_cast<float>(1 + (y / 3 + x / 5 + c * 7) % 9) * ((y + x + c) % 2 ? 1.0f : -1.0f);
}

// The backends to run on: the reference, and the cuda backend where it is built and has a device.
std::vector<std::string> backends() {
  std::vector<std::string> v = {"cpu-ref"};
  if (backend_available("cuda")) v.push_back("cuda");
  return v;
}

struct Sizes {
  Layout layout;
  DType dtype;
};

TEST(Past2e31, InputBeyond2e31WithATinyOutput) {
  for (const Sizes& sz : {Sizes{Layout::kNHWC, DType::kF16}, Sizes{Layout::kNCHW, DType::kF32}}) {
    ProblemDesc d;
    d.batch = 1, d.height = 32768, d.width = 32768, d.channels = 5;  // 5 * 2^30 input elements
    d.kernel_h = d.kernel_w = 3;
    d.stride_h = d.stride_w = 16382;  // 3x3 windows: at the start, the middle and the end of the input
    d.layout = sz.layout;
    d.dtype = sz.dtype;
    d.has_bias = true;
    Result<Problem> made = Problem::create(d);
    ASSERT_TRUE(made.is_ok()) << made.status().to_string();
    const Problem& p = *made;
    ASSERT_GT(p.input_elements(), 2 * k2e31);
    const int64_t outs = p.output_elements();
    ASSERT_EQ(outs, 45);
    for (const std::string& backend : backends()) {
      SCOPED_TRACE(backend + " " + p.descriptor());
      Result<Plan> plan = Plan::create(p, backend);
      ASSERT_TRUE(plan.is_ok()) << plan.status().to_string();
      if (backend == "cuda") {
        // The tiled kernels decline (here for the halo a 16382 stride needs; the 32-bit bounds they name
        // for such sizes are checked by DepthwiseCudaSelection.BeyondInt32GoesDirect and
        // DepthwiseDevices.MoreThan2To30TilesGoDirect); the 64-bit direct kernel runs.
        EXPECT_EQ(plan->implementation(),
                  std::string("dw_fwd_") + to_string(sz.layout) + "_direct_" + to_string(sz.dtype))
            << plan->explain();
      }
      std::printf("[ info     ] %s/%s\n", plan->backend().c_str(), plan->implementation().c_str());
      const MemorySpace space = plan->memory_space();
      const size_t es = dtype_size(p.dtype());
      Result<SparseBuffer> x = SparseBuffer::create(space, static_cast<size_t>(p.input_elements()) * es);
      if (!x && x.status().code() == StatusCode::kNotSupported) GTEST_SKIP() << x.status().message();
      ASSERT_TRUE(x.is_ok()) << x.status().to_string();
      // Filter [3][3][5][1], bias [5]: small nonzero integers, dense.
      std::vector<float> w(static_cast<size_t>(p.filter_elements())), bias(5);
      for (size_t i = 0; i < w.size(); ++i) w[i] = static_cast<float>(1 + i % 3) * (i % 2 ? -1.0f : 1.0f);
      for (size_t i = 0; i < bias.size(); ++i) bias[i] = 0.5f * static_cast<float>(i + 1);
      std::map<int64_t, float> written;
      std::vector<double> want(static_cast<size_t>(outs), 0.0);
      int64_t max_offset = 0;
      for (int64_t oy = 0; oy < p.out_h(); ++oy)
        for (int64_t ox = 0; ox < p.out_w(); ++ox)
          for (int64_t c = 0; c < p.c(); ++c) {
            double acc = bias[static_cast<size_t>(c)];
            for (int64_t i = 0; i < 3; ++i)
              for (int64_t j = 0; j < 3; ++j) {
                const int64_t y = oy * p.stride_h() - p.pad_top() + i, xx = ox * p.stride_w() - p.pad_left() + j;
                if (y < 0 || y >= p.h() || xx < 0 || xx >= p.w()) continue;
                const int64_t off = input_offset(p, y, xx, c);
                written[off] = input_value(y, xx, c);
                max_offset = std::max(max_offset, off);
                acc += double{input_value(y, xx, c)} * w[static_cast<size_t>((i * 3 + j) * p.c() + c)];
              }
            const int64_t o =
                sz.layout == Layout::kNHWC ? (oy * p.out_w() + ox) * p.c() + c : (c * p.out_h() + oy) * p.out_w() + ox;
            want[static_cast<size_t>(o)] = acc;
          }
      ASSERT_GT(max_offset, 2 * k2e31) << "the last taps must lie past 2^32 elements";
      for (const auto& [off, v] : written) ASSERT_TRUE(put(*x, p.dtype(), off, v).is_ok());

      run_and_check(*plan, x->data(), w, bias, want);
    }
  }
}

// Dense conv2d with an input of 5 * 2^30 elements in one image: the implicit GEMM's tensor offsets are
// 64-bit, so the cuda backend runs it on its own kernel (no bound to decline on), as the reference does.
TEST(Past2e31, Conv2dInputBeyond2e31) {
  for (const Sizes& sz : {Sizes{Layout::kNHWC, DType::kF16}, Sizes{Layout::kNCHW, DType::kF32}}) {
    ProblemDesc d;
    d.op = Op::kConv2d;
    d.batch = 1, d.height = 32768, d.width = 32768, d.channels = 5, d.out_channels = 3;
    d.kernel_h = d.kernel_w = 3;
    d.stride_h = d.stride_w = 16382;
    d.layout = sz.layout;
    d.dtype = sz.dtype;
    d.has_bias = true;
    Result<Problem> made = Problem::create(d);
    ASSERT_TRUE(made.is_ok()) << made.status().to_string();
    const Problem& p = *made;
    ASSERT_GT(p.input_elements(), 2 * k2e31);
    const int64_t outs = p.output_elements(), C = p.c(), O = p.out_channels();
    ASSERT_EQ(outs, 27);
    for (const std::string& backend : backends()) {
      SCOPED_TRACE(backend + " " + p.descriptor());
      Result<Plan> plan = Plan::create(p, backend);
      ASSERT_TRUE(plan.is_ok()) << plan.status().to_string();
      if (backend == "cuda") {
        EXPECT_EQ(plan->implementation().rfind(std::string("conv2d_fwd_") + to_string(sz.layout) + "_igemm_", 0), 0u)
            << plan->explain();
      }
      std::printf("[ info     ] %s/%s\n", plan->backend().c_str(), plan->implementation().c_str());
      const MemorySpace space = plan->memory_space();
      const size_t es = dtype_size(p.dtype());
      Result<SparseBuffer> x = SparseBuffer::create(space, static_cast<size_t>(p.input_elements()) * es);
      if (!x && x.status().code() == StatusCode::kNotSupported) GTEST_SKIP() << x.status().message();
      ASSERT_TRUE(x.is_ok()) << x.status().to_string();
      // Filter [3][3][5][3] (TF), bias [3]: small nonzero integers.
      std::vector<float> w(static_cast<size_t>(p.filter_elements())), bias(static_cast<size_t>(O));
      for (size_t i = 0; i < w.size(); ++i) w[i] = static_cast<float>(1 + i % 3) * (i % 2 ? -1.0f : 1.0f);
      for (size_t i = 0; i < bias.size(); ++i) bias[i] = 0.5f * static_cast<float>(i + 1);
      std::map<int64_t, float> written;
      std::vector<double> want(static_cast<size_t>(outs), 0.0);
      int64_t max_offset = 0;
      for (int64_t oy = 0; oy < p.out_h(); ++oy)
        for (int64_t ox = 0; ox < p.out_w(); ++ox)
          for (int64_t o = 0; o < O; ++o) {
            double acc = bias[static_cast<size_t>(o)];
            for (int64_t i = 0; i < 3; ++i)
              for (int64_t j = 0; j < 3; ++j)
                for (int64_t c = 0; c < C; ++c) {
                  const int64_t y = oy * p.stride_h() - p.pad_top() + i, xx = ox * p.stride_w() - p.pad_left() + j;
                  if (y < 0 || y >= p.h() || xx < 0 || xx >= p.w()) continue;
                  const int64_t off = input_offset(p, y, xx, c);
                  written[off] = input_value(y, xx, c);
                  max_offset = std::max(max_offset, off);
                  acc += double{input_value(y, xx, c)} * w[static_cast<size_t>(((i * 3 + j) * C + c) * O + o)];
                }
            const int64_t at =
                sz.layout == Layout::kNHWC ? (oy * p.out_w() + ox) * O + o : (o * p.out_h() + oy) * p.out_w() + ox;
            want[static_cast<size_t>(at)] = acc;
          }
      ASSERT_GT(max_offset, 2 * k2e31) << "the last taps must lie past 2^32 elements";
      for (const auto& [off, v] : written) ASSERT_TRUE(put(*x, p.dtype(), off, v).is_ok());

      run_and_check(*plan, x->data(), w, bias, want);
    }
  }
}

TEST(Past2e31, OutputBeyond2e31) {
#if !defined(DSCONV_HAVE_CUDA) || defined(DSCONV_HAVE_CUDA_EMULATION)
  const char* large = std::getenv("DSCONV_TEST_LARGE");
  if (large == nullptr || std::string(large) != "1")
    GTEST_SKIP() << "computes 2^31 outputs on the CPU (minutes here): set DSCONV_TEST_LARGE=1";
#endif
  ProblemDesc d;
  d.batch = k2e31 + 5, d.height = d.width = d.channels = 1;  // output: 2^31 + 5 elements
  d.kernel_h = d.kernel_w = 1;
  d.dtype = DType::kF16;
  d.has_bias = true;
  Result<Problem> made = Problem::create(d);
  ASSERT_TRUE(made.is_ok()) << made.status().to_string();
  const Problem& p = *made;
  const int64_t n = p.output_elements();
  ASSERT_GT(n, k2e31);
  // y[i] = x[i] * 2 + 0.5; x is zero but at the samples, which straddle 2^31 and end at the last element.
  const std::vector<int64_t> samples = {0, 1, k2e31 - 1, k2e31, k2e31 + 1, n - 2, n - 1};
  for (const std::string& backend : backends()) {
    SCOPED_TRACE(backend + " " + p.descriptor());
    Result<Plan> plan = Plan::create(p, backend);
    ASSERT_TRUE(plan.is_ok()) << plan.status().to_string();
    if (backend == "cuda") EXPECT_EQ(plan->implementation(), "dw_fwd_nhwc_direct_f16") << plan->explain();
    std::printf("[ info     ] %s/%s\n", plan->backend().c_str(), plan->implementation().c_str());
    const MemorySpace space = plan->memory_space();
    Result<SparseBuffer> x = SparseBuffer::create(space, static_cast<size_t>(n) * 2);
    if (!x && x.status().code() == StatusCode::kNotSupported) GTEST_SKIP() << x.status().message();
    Result<SparseBuffer> y = SparseBuffer::create(space, static_cast<size_t>(n) * 2);
    ASSERT_TRUE(x.is_ok() && y.is_ok()) << (x ? y.status() : x.status()).to_string();
    for (size_t k = 0; k < samples.size(); ++k)
      ASSERT_TRUE(put(*x, DType::kF16, samples[k], static_cast<float>(k + 1) * (k % 2 ? -1.0f : 1.0f)).is_ok());
    // Poison the samples' outputs and the last element; the rest stays zero, which no output can be.
    for (int64_t s : samples) ASSERT_TRUE(put(*y, DType::kF16, s, std::numeric_limits<float>::quiet_NaN()).is_ok());
    Result<tools::Buffer> wb = tools::Buffer::create(space, 2), bb = tools::Buffer::create(space, 2);
    ASSERT_TRUE(wb.is_ok() && bb.is_ok());
    const std::vector<uint8_t> w2 = tools::encode(DType::kF16, {2.0f}), b05 = tools::encode(DType::kF16, {0.5f});
    ASSERT_TRUE(wb->upload(w2.data(), 2).is_ok() && bb->upload(b05.data(), 2).is_ok());
    const Status st = run_depthwise(*plan, x->data(), wb->data(), bb->data(), y->data());
    ASSERT_TRUE(st.is_ok()) << st.to_string();
    // Every element, in chunks: 0.5 (f16 0x3800) but at the samples.
    const uint16_t half = 0x3800;
    constexpr int64_t kChunk = int64_t{1} << 24;
    std::vector<uint16_t> chunk(static_cast<size_t>(kChunk));
    int64_t wrong = 0, first_wrong = -1;
    for (int64_t begin = 0; begin < n; begin += kChunk) {
      const int64_t len = std::min(kChunk, n - begin);
      ASSERT_TRUE(y->read(static_cast<size_t>(begin) * 2, chunk.data(), static_cast<size_t>(len) * 2).is_ok());
      for (int64_t i = 0; i < len; ++i) {
        const int64_t at = begin + i;
        if (std::binary_search(samples.begin(), samples.end(), at)) continue;
        if (chunk[static_cast<size_t>(i)] != half && wrong++ == 0) first_wrong = at;
      }
    }
    EXPECT_EQ(wrong, 0) << "elements not equal to the bias alone; the first at " << first_wrong;
    for (size_t k = 0; k < samples.size(); ++k) {
      uint16_t bits = 0;
      ASSERT_TRUE(y->read(static_cast<size_t>(samples[k]) * 2, &bits, 2).is_ok());
      const float want = static_cast<float>(k + 1) * (k % 2 ? -1.0f : 1.0f) * 2.0f + 0.5f;
      EXPECT_EQ(tools::decode(DType::kF16, &bits, 1)[0], want) << "output " << samples[k];
    }
  }
}

TEST(Past2e31, CudnnDeclinesWithTheReason) {
  if (!backend_available("cudnn")) GTEST_SKIP() << "cudnn is not built or has no GPU here";
  ProblemDesc d;
  d.batch = 1, d.height = d.width = 32768, d.channels = 4;
  d.kernel_h = d.kernel_w = 3;
  d.padding = PaddingMode::kSame;
  Result<Problem> p = Problem::create(d);
  ASSERT_TRUE(p.is_ok());
  Result<Plan> plan = Plan::create(*p, "cudnn");
  ASSERT_FALSE(plan.is_ok());
  EXPECT_EQ(plan.status().code(), StatusCode::kNotSupported) << plan.status().to_string();
  EXPECT_NE(plan.status().message().find("limited to 2^31-1 (int32)"), std::string::npos) << plan.status().message();
}

}  // namespace
}  // namespace dsconv
