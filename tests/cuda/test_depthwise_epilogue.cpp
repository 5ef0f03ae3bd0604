// The epilogue y = act(conv + bias + residual) in every depthwise kernel of the cuda backend: silu, hswish,
// gelu, gelu_tanh (and the clamps) with and without a residual, every dtype, against the reference; the
// specialized kernels' second instantiation is named by its suffix ("_res", "_silu", ...). A residual that
// is the output itself (in place) gives the same result as a separate one; one that overlaps the output
// only in part is refused and nothing is written.
#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <string>
#include <vector>

#include "dsconv/dsconv.hpp"
#include "support/tester.hpp"

namespace dsconv::testing {
namespace {

struct EpiCase {
  ConvCase c;
  std::string expect;  // prefix of the implementation
  std::string suffix;  // the implementation's name ends with it ("" when the kernel has no such suffix)
  std::vector<std::string> skip = {"ref"};
};

void PrintTo(const EpiCase& c, std::ostream* os) {
  PrintTo(c.c, os);
  *os << " expect=" << c.expect << "..." << c.suffix;
}

std::string epi_case_name(const ::testing::TestParamInfo<EpiCase>& info) {
  return case_name(info.param.c) + "_" + std::to_string(info.index);
}

const Activation kActivations[] = {Activation::kSilu,     Activation::kHswish, Activation::kGelu,
                                   Activation::kGeluTanh, Activation::kRelu6,  Activation::kNone};
const DType kDtypes[] = {DType::kF32, DType::kF16, DType::kBF16};

struct Family {
  const char* expect;  // prefix (dtype and vector width follow, except for direct and lattice)
  int64_t k, s, d;
  Layout layout;
  bool specialized;
  std::vector<std::string> skip;
};

std::vector<EpiCase> epilogue_cases() {
  const std::vector<Family> families = {
      {"dw_fwd_nhwc_k3s1_", 3, 1, 1, Layout::kNHWC, true, {"ref"}},
      {"dw_fwd_nhwc_k5s2_", 5, 2, 1, Layout::kNHWC, true, {"ref"}},
      {"dw_fwd_nhwc_k7s1_", 7, 1, 1, Layout::kNHWC, true, {"ref"}},
      {"dw_fwd_nhwc_generic_slidew_", 4, 1, 1, Layout::kNHWC, false, {"ref"}},
      {"dw_fwd_nhwc_generic_", 3, 2, 2, Layout::kNHWC, false, {"ref"}},
      {"dw_fwd_nhwc_lattice_", 3, 1, 3, Layout::kNHWC, false, {"ref", "dw_fwd_nhwc_generic"}},
      {"dw_fwd_nchw_k3s1_", 3, 1, 1, Layout::kNCHW, false, {"ref"}},
      {"dw_fwd_nchw_k5s2_", 5, 2, 1, Layout::kNCHW, false, {"ref"}},
      {"dw_fwd_nchw_generic_", 3, 2, 1, Layout::kNCHW, false, {"ref", "dw_fwd_nchw_k"}},
      {"dw_fwd_nhwc_direct_", 3, 1, 1, Layout::kNHWC, false, {"ref", "dw_fwd_nhwc_k", "dw_fwd_nhwc_generic"}},
      {"dw_fwd_nchw_direct_", 3, 2, 1, Layout::kNCHW, false, {"ref", "dw_fwd_nchw_k", "dw_fwd_nchw_generic"}},
  };
  std::vector<EpiCase> out;
  int v = 0;
  for (const Family& f : families) {
    for (size_t a = 0; a < std::size(kActivations); ++a) {
      for (bool residual : {true, false}) {
        if (kActivations[a] == Activation::kNone && !residual) continue;  // the plain kernels' own sweeps
        ++v;
        ProblemDesc d;
        d.op = Op::kDepthwise;
        d.batch = 1 + v % 2, d.height = 9 + v % 5, d.width = 8 + v % 7, d.channels = v % 3 == 0 ? 17 : 24;
        d.kernel_h = d.kernel_w = f.k;
        d.stride_h = d.stride_w = f.s;
        d.dilation_h = d.dilation_w = f.d;
        d.padding = PaddingMode::kSame;
        d.layout = f.layout;
        d.dtype = kDtypes[v % 3];
        d.has_bias = v % 2 == 0;
        d.has_residual = residual;
        d.activation = kActivations[a];
        EpiCase e;
        e.c.desc = d;
        // Integers keep f32 with clamps exact; uniform data exercises the transcendental ones' rounding.
        e.c.data = v % 4 == 0 ? DataKind::kSmallIntegers : DataKind::kUniform;
        e.c.seed = 500 + static_cast<uint64_t>(v);
        e.expect = std::string(f.expect);
        // The lattice kernel's name says "slidew_" or not before the dtype, by the steps it chose.
        if (e.expect != "dw_fwd_nhwc_lattice_") e.expect += to_string(d.dtype);
        if (f.specialized) {
          const bool clamp = d.activation == Activation::kNone || d.activation == Activation::kRelu6;
          e.suffix = std::string(residual ? "_res" : "") + (clamp ? "" : std::string("_") + to_string(d.activation));
        }
        e.skip = f.skip;
        out.push_back(e);
      }
    }
  }
  return out;
}

class DepthwiseEpilogue : public ::testing::TestWithParam<EpiCase> {};

TEST_P(DepthwiseEpilogue, MatchesReference) {
  DSCONV_REQUIRE_CUDA();
  const EpiCase& e = GetParam();
  PlanOptions options;
  options.skip_implementations = e.skip;
  const TestReport r = ConvTester(e.c).test("cuda", options);
  if (HasFatalFailure()) return;
  EXPECT_EQ(r.implementation.rfind(e.expect, 0), 0u) << "chose " << r.implementation << ", expected " << e.expect;
  if (!e.suffix.empty()) {
    EXPECT_TRUE(r.implementation.size() >= e.suffix.size() &&
                r.implementation.compare(r.implementation.size() - e.suffix.size(), e.suffix.size(), e.suffix) == 0)
        << r.implementation << " should end with " << e.suffix;
  }
}

INSTANTIATE_TEST_SUITE_P(Activations, DepthwiseEpilogue, ::testing::ValuesIn(epilogue_cases()), epi_case_name);

// The residual may be the output itself: y = act(conv + bias + y). Same bits as with a separate residual,
// on every kernel family; a partial overlap is refused and the output left as it was.
TEST(DepthwiseEpilogueInPlace, ResidualThatIsTheOutput) {
  for (const char* backend : {"cpu-ref", "cuda"}) {
    if (std::string why; !backend_available(backend, &why)) continue;
    for (const char* skip : {"", "dw_fwd_nhwc_k", "dw_fwd_nhwc_generic"}) {
      if (std::string(backend) == "cpu-ref" && *skip != '\0') continue;
      ProblemDesc d;
      d.batch = 2, d.height = 11, d.width = 10, d.channels = 16;
      d.kernel_h = d.kernel_w = 3;
      d.padding = PaddingMode::kSame;
      d.dtype = DType::kF16;
      d.has_bias = true;
      d.has_residual = true;
      d.activation = Activation::kHswish;
      const Problem p = *Problem::create(d);
      PlanOptions o;
      if (std::string(backend) == "cuda") o.skip_implementations = {"ref"};
      if (*skip != '\0') o.skip_implementations.push_back(skip);
      Result<Plan> plan = Plan::create(p, backend, o);
      ASSERT_TRUE(plan.is_ok()) << plan.status().to_string();
      const uint64_t seed = 919;
      SCOPED_TRACE(std::string(backend) + "/" + plan->implementation() + " seed " + std::to_string(seed) + " " +
                   p.descriptor());
      const HostData data = random_data(p, DataKind::kUniform, seed);
      Result<std::vector<float>> separate = run_plan(*plan, data);
      ASSERT_TRUE(separate.is_ok()) << separate.status().to_string();

      // In place: the output buffer holds the residual; the residual slot points at it.
      const size_t es = dtype_size(p.dtype());
      const size_t out_bytes = static_cast<size_t>(p.output_elements()) * es;
      auto upload = [&](const std::vector<float>& v) {
        const std::vector<uint8_t> bytes = encode(p.dtype(), v);
        Result<Buffer> b = Buffer::create(plan->memory_space(), bytes.size());
        EXPECT_TRUE(b.is_ok());
        EXPECT_TRUE(b->upload(bytes.data(), bytes.size()).is_ok());
        return std::move(b).value();
      };
      const Buffer x = upload(data.input), w = upload(data.filter), b = upload(data.bias), y = upload(data.residual);
      Result<Stream> stream = Stream::create(plan->memory_space());
      ASSERT_TRUE(stream.is_ok());
      const TensorArgs args = TensorArgs()
                                  .set(Arg::kInput, x.data())
                                  .set(Arg::kFilter, w.data())
                                  .set(Arg::kBias, b.data())
                                  .set(Arg::kResidual, y.data())
                                  .set(Arg::kOutput, y.data());
      ASSERT_TRUE(plan->run(args, nullptr, 0, stream->get()).is_ok());
      ASSERT_TRUE(stream->synchronize().is_ok());
      std::vector<uint8_t> got(out_bytes);
      ASSERT_TRUE(y.download(got.data(), got.size()).is_ok());
      const std::vector<uint8_t> want = encode(p.dtype(), *separate);
      EXPECT_EQ(std::memcmp(got.data(), want.data(), out_bytes), 0) << "in place differs from a separate residual";

      // Overlapping by one element is not in place: refused, nothing written.
      const Buffer r2 = upload(data.residual);
      const Buffer big = upload(std::vector<float>(static_cast<size_t>(p.output_elements()) + 1, 1.5f));
      TensorArgs partial = args;
      partial.set(Arg::kResidual, big.data()).set(Arg::kOutput, static_cast<char*>(big.data()) + es);
      const Status s = plan->run(partial, nullptr, 0, stream->get());
      EXPECT_EQ(s.code(), StatusCode::kInvalidArgument) << s.to_string();
      EXPECT_NE(s.message().find("tensors.output overlaps residual"), std::string::npos) << s.message();
      std::vector<uint8_t> after(out_bytes + es);
      ASSERT_TRUE(big.download(after.data(), after.size()).is_ok());
      const std::vector<uint8_t> ones = encode(p.dtype(), std::vector<float>(after.size() / es, 1.5f));
      EXPECT_EQ(after, ones) << "a refused run wrote";
    }
  }
}

}  // namespace
}  // namespace dsconv::testing
