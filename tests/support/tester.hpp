// The shared convolution tester: describe a problem fluently, then test() runs it on one backend and
// compares every output element against the CPU reference.
//
//   ConvTester().op(Op::kDepthwise).batch(2).size(13, 11).channels(17).kernel(3, 3).multiplier(2)
//       .stride(2, 1).dilation(1, 2).padding_same().dtype(DType::kF16).bias(true)
//       .activation(Activation::kRelu6).seed(7).test("cuda", {{"ref"}});
//
// What test() guarantees:
//  - the plan is made on exactly the backend named (no fallback), and its implementation matches the
//    options' only_implementations and skip_implementations prefixes; the chosen implementation is reported;
//  - data, run, oracle and verdict are the toolkit's (tools/common/), exactly what `dsconv check` does: every
//    failure carries the one line `dsconv check DESCRIPTOR --seed S --data D --backend B [--impl P]
//    [--skip-impl P]` that replays the case bit for bit (same inputs, same output bits);
//  - inputs come from the toolkit's splitmix64 Rng seeded with seed() (never zeros; see DataKind);
//  - the output is poisoned with NaN and surrounded by guard bytes before the run, the workspace poisoned:
//    an element not written, a write out of bounds, or a change to an input fails the test;
//  - the oracle is the cpu-ref backend (f64 accumulation) run in f32 on the same values (f16/bf16 inputs
//    widen exactly), so it carries no rounding of the tested dtype;
//  - tolerance per element is rtol(dtype, terms) * sum|x*w| (the reference run again on |x|, |w|, |pw|,
//    |b|), i.e. an error bound proportional to the magnitude of the terms, not of the (possibly cancelled)
//    result; f32 with small-integer data is compared exactly;
//  - for a device plan (memory_space() == kDevice) every tensor and the workspace live in device memory,
//    and the run goes on a fresh non-blocking stream that is synchronized before anything is read back.
#pragma once

#include <cstdint>
#include <ostream>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "dsconv/dsconv.hpp"
#include "tools/common/device.hpp"
#include "tools/common/oracle.hpp"
#include "tools/common/rng.hpp"
#include "tools/common/tensor.hpp"

namespace dsconv::testing {

// The toolkit's data kinds: kSmallIntegers (`--data int`: x and bias in [-3,3], filters in [-2,2], never 0;
// every f32 result is exact) and kUniform (`--data uniform`: magnitudes in [0.125, 1], random signs,
// rounded to the dtype; exercises rounding).
using tools::DataKind;
using tools::to_string;

// Skips the test when the "cuda" backend cannot run here (a real CUDA build on a machine without a GPU
// has nothing to run the kernel tests on; the emulation build always can).
#define DSCONV_REQUIRE_CUDA()                                                          \
  do {                                                                                 \
    std::string why_;                                                                  \
    if (!::dsconv::backend_available("cuda", &why_)) GTEST_SKIP() << "cuda: " << why_; \
  } while (0)

// One row of a TEST_P sweep.
struct ConvCase {
  ProblemDesc desc;
  DataKind data = DataKind::kSmallIntegers;
  uint64_t seed = 1;
};
// gtest prints parameters with this (the descriptor, not bytes).
void PrintTo(const ConvCase& c, std::ostream* os);
// "depthwise_n2h13w11c17_k3x3_m2_s2x1_d1x2_psame_nhwc_tf_f16_int_seed7": a valid gtest name. Invalid
// problems get a name built from their fields so the failure (not the name) reports the problem.
std::string case_name(const ConvCase& c);
struct ConvCaseName {
  std::string operator()(const ::testing::TestParamInfo<ConvCase>& info) const { return case_name(info.param); }
};

// Every combination of the listed values around `base`, in the style of XNNPACK/ncnn table sweeps.
// An empty list keeps the base value. Combinations that Problem::create rejects (a dilated kernel
// larger than the input under VALID, say) are left out; seeds are base.seed + index.
struct Sweep {
  ConvCase base;
  std::vector<Op> ops;
  std::vector<std::pair<int64_t, int64_t>> sizes;  // (H, W)
  std::vector<int64_t> channels;
  std::vector<std::pair<int64_t, int64_t>> kernels;
  std::vector<int64_t> multipliers;
  std::vector<int64_t> out_channels;
  std::vector<std::pair<int64_t, int64_t>> strides;
  std::vector<std::pair<int64_t, int64_t>> dilations;
  std::vector<PaddingMode> paddings;  // kExplicit uses base's pad_* values
  std::vector<Layout> layouts;
  std::vector<FilterLayout> filter_layouts;
  std::vector<DType> dtypes;
  std::vector<bool> biases;
  std::vector<Activation> activations;
  std::vector<bool> residuals;
  std::vector<ConvCase> cases() const;
};

struct TestReport {
  std::string backend;
  std::string implementation;
  std::string repro;             // the `dsconv check ...` line that replays this case
  std::string digest;            // tools::digest_line of the inputs and the output the run produced
  int64_t elements = 0;          // output elements compared
  bool exact = false;            // compared for equality (f32, small integers)
  double rtol = 0.0;             // relative tolerance used (on the magnitude of the terms)
  double max_abs_error = 0.0;    // max |got - expected|
  double max_error_ratio = 0.0;  // max |got - expected| / bound; <= 1 passes (0 when exact and equal)
};

class ConvTester {
 public:
  ConvTester() = default;
  explicit ConvTester(const ConvCase& c) : desc_(c.desc), data_(c.data), seed_(c.seed) {}

  ConvTester& op(Op v) { return set(&ProblemDesc::op, v); }
  ConvTester& batch(int64_t n) { return set(&ProblemDesc::batch, n); }
  ConvTester& size(int64_t h, int64_t w) { return set(&ProblemDesc::height, h).set(&ProblemDesc::width, w); }
  ConvTester& channels(int64_t c) { return set(&ProblemDesc::channels, c); }
  ConvTester& kernel(int64_t kh, int64_t kw) { return set(&ProblemDesc::kernel_h, kh).set(&ProblemDesc::kernel_w, kw); }
  ConvTester& multiplier(int64_t m) { return set(&ProblemDesc::multiplier, m); }
  ConvTester& out_channels(int64_t o) { return set(&ProblemDesc::out_channels, o); }
  ConvTester& stride(int64_t sh, int64_t sw) { return set(&ProblemDesc::stride_h, sh).set(&ProblemDesc::stride_w, sw); }
  ConvTester& stride(int64_t s) { return stride(s, s); }
  ConvTester& dilation(int64_t dh, int64_t dw) {
    return set(&ProblemDesc::dilation_h, dh).set(&ProblemDesc::dilation_w, dw);
  }
  ConvTester& dilation(int64_t d) { return dilation(d, d); }
  ConvTester& padding_valid() { return set(&ProblemDesc::padding, PaddingMode::kValid); }
  ConvTester& padding_same() { return set(&ProblemDesc::padding, PaddingMode::kSame); }
  ConvTester& padding(int64_t top, int64_t bottom, int64_t left, int64_t right) {
    desc_.pad_top = top, desc_.pad_bottom = bottom, desc_.pad_left = left, desc_.pad_right = right;
    return set(&ProblemDesc::padding, PaddingMode::kExplicit);
  }
  ConvTester& layout(Layout v) { return set(&ProblemDesc::layout, v); }
  ConvTester& filter_layout(FilterLayout v) { return set(&ProblemDesc::filter_layout, v); }
  ConvTester& dtype(DType v) { return set(&ProblemDesc::dtype, v); }
  ConvTester& bias(bool v = true) { return set(&ProblemDesc::has_bias, v); }
  ConvTester& residual(bool v = true) { return set(&ProblemDesc::has_residual, v); }
  ConvTester& activation(Activation v) { return set(&ProblemDesc::activation, v); }
  ConvTester& seed(uint64_t s) { return set(&ConvTester::seed_, s); }
  ConvTester& data(DataKind k) { return set(&ConvTester::data_, k); }
  // Replaces the computed relative tolerance (e.g. for an implementation that rounds in f16 on purpose).
  ConvTester& tolerance(double rtol) { return set(&ConvTester::rtol_override_, rtol); }
  ConvTester& desc(const ProblemDesc& d) { return set(&ConvTester::desc_, d); }

  const ProblemDesc& desc() const { return desc_; }
  ConvCase as_case() const { return ConvCase{desc_, data_, seed_}; }
  // "dsconv check DESCRIPTOR --seed S --data D --backend B [--impl P,..] [--skip-impl P,..]": the command
  // that runs this case as test(backend, options) does (empty when the problem is invalid).
  std::string repro_command(const std::string& backend, const PlanOptions& options = {}) const;

  // Runs the problem on `backend` and checks it (see the top of this file). Failures are gtest failures
  // (fatal ones abort test() early; callers may check ::testing::Test::HasFatalFailure()).
  TestReport test(const std::string& backend = "cpu-ref", const PlanOptions& options = {}) const;

 private:
  void run_test(const std::string& backend, const PlanOptions& options, TestReport* report) const;
  // The fluent setters above: one field of the problem, or of the tester, then *this.
  template <typename T>
  ConvTester& set(T ProblemDesc::*field, T v) {
    desc_.*field = v;
    return *this;
  }
  template <typename T>
  ConvTester& set(T ConvTester::*field, T v) {
    this->*field = v;
    return *this;
  }

  ProblemDesc desc_;
  DataKind data_ = DataKind::kSmallIntegers;
  uint64_t seed_ = 1;
  double rtol_override_ = -1.0;
};

// ---------------------------------------------------------------------------------------------
// Lower-level helpers, shared by the tests that need more control than ConvTester. The toolkit's pieces
// (tensors, tolerances, memory and streams) are used directly as tools::...
// ---------------------------------------------------------------------------------------------

using tools::absolute_tolerance;
using tools::Buffer;
using tools::Comparison;
using tools::decode;
using tools::encode;
using tools::nan_poison;
using tools::nhwc_coords;
using tools::relative_tolerance;
using tools::round_to;
using tools::Stream;
using tools::unit_roundoff;

// The inputs of one run as float (each already representable in the problem's dtype).
struct HostData {
  std::vector<float> input, filter, pointwise, bias, residual;  // pointwise, bias, residual: empty when unused
};
// The inputs of tools::TensorSet::random(p, seed, kind): the data `dsconv check --seed S --data D` uses.
HostData random_data(const Problem& p, DataKind kind, uint64_t seed);

// Runs `plan` on `data` (converted to the plan's dtype and moved to its memory space) with tools::execute,
// and returns the output as float. The output is poisoned with NaN before the run.
Result<std::vector<float>> run_plan(const Plan& plan, const HostData& data);
// The cpu-ref result for `p` on `data`, computed in f32 storage (so without the dtype's output rounding).
Result<std::vector<float>> reference_f32(const Problem& p, const HostData& data);

// The sum of |terms| of each output element: the reference run on |x|, |w|, |pw|, |b| (no activation).
Result<std::vector<float>> magnitude_f32(const Problem& p, const HostData& data);

// tools::compare on float vectors: every element finite and |got - expected| <= rtol * magnitude + atol;
// failures_text lists the first failures with [n y x c] coordinates. Sizes that differ are one failure.
Comparison compare_outputs(const Problem& p, const std::vector<float>& got, const std::vector<float>& expected,
                           const std::vector<float>& magnitude, double rtol, double atol);

}  // namespace dsconv::testing
