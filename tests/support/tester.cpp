#include "support/tester.hpp"

#include <algorithm>
#include <cctype>
#include <cmath>
#include <limits>
#include <sstream>

namespace dsconv::testing {

namespace {

std::string join(const std::vector<std::string>& prefixes) {
  std::string s;
  for (const std::string& p : prefixes) s += (s.empty() ? "" : ",") + p;
  return s;
}

std::string repro_line(const Problem& p, uint64_t seed, DataKind kind, const std::string& backend,
                       const PlanOptions& options) {
  std::string line = "dsconv check " + p.descriptor() + " --seed " + std::to_string(seed) + " --data " +
                     to_string(kind) + " --backend " + backend;
  if (!options.only_implementations.empty()) line += " --impl " + join(options.only_implementations);
  if (!options.skip_implementations.empty()) line += " --skip-impl " + join(options.skip_implementations);
  return line;
}

bool starts_with(const std::string& name, const std::string& prefix) {
  return !prefix.empty() && name.compare(0, prefix.size(), prefix) == 0;
}

}  // namespace

void PrintTo(const ConvCase& c, std::ostream* os) {
  Result<Problem> p = Problem::create(c.desc);
  *os << (p ? p->descriptor() : "invalid problem: " + p.status().message()) << " data=" << to_string(c.data)
      << " seed=" << c.seed;
}

std::string case_name(const ConvCase& c) {
  std::string name;
  Result<Problem> p = Problem::create(c.desc);
  if (p) {
    name = p->descriptor();
  } else {
    const ProblemDesc& d = c.desc;
    std::ostringstream os;
    os << "invalid_" << to_string(d.op) << "_n" << d.batch << "h" << d.height << "w" << d.width << "c" << d.channels
       << "_k" << d.kernel_h << "x" << d.kernel_w << "_m" << d.multiplier << "_o" << d.out_channels << "_s"
       << d.stride_h << "x" << d.stride_w << "_d" << d.dilation_h << "x" << d.dilation_w;
    name = os.str();
  }
  name += std::string("_") + to_string(c.data) + "_seed" + std::to_string(c.seed);
  for (char& ch : name)
    if (!std::isalnum(static_cast<unsigned char>(ch))) ch = '_';
  return name;
}

std::vector<ConvCase> Sweep::cases() const {
  std::vector<ConvCase> all{base};
  // Expands `all` by every value of one list; empty lists keep the base value.
  auto expand = [&all](const auto& values, auto set) {
    if (values.empty()) return;
    std::vector<ConvCase> next;
    next.reserve(all.size() * values.size());
    for (const ConvCase& c : all)
      for (const auto& v : values) {
        ConvCase e = c;
        set(e.desc, v);
        next.push_back(e);
      }
    all = std::move(next);
  };
  using Pair = std::pair<int64_t, int64_t>;
  expand(ops, [](ProblemDesc& d, Op v) { d.op = v; });
  expand(sizes, [](ProblemDesc& d, Pair v) { d.height = v.first, d.width = v.second; });
  expand(channels, [](ProblemDesc& d, int64_t v) { d.channels = v; });
  expand(kernels, [](ProblemDesc& d, Pair v) { d.kernel_h = v.first, d.kernel_w = v.second; });
  expand(multipliers, [](ProblemDesc& d, int64_t v) { d.multiplier = v; });
  expand(out_channels, [](ProblemDesc& d, int64_t v) { d.out_channels = v; });
  expand(strides, [](ProblemDesc& d, Pair v) { d.stride_h = v.first, d.stride_w = v.second; });
  expand(dilations, [](ProblemDesc& d, Pair v) { d.dilation_h = v.first, d.dilation_w = v.second; });
  expand(paddings, [](ProblemDesc& d, PaddingMode v) { d.padding = v; });
  expand(layouts, [](ProblemDesc& d, Layout v) { d.layout = v; });
  expand(filter_layouts, [](ProblemDesc& d, FilterLayout v) { d.filter_layout = v; });
  expand(dtypes, [](ProblemDesc& d, DType v) { d.dtype = v; });
  expand(biases, [](ProblemDesc& d, bool v) { d.has_bias = v; });
  expand(activations, [](ProblemDesc& d, Activation v) { d.activation = v; });
  expand(residuals, [](ProblemDesc& d, bool v) { d.has_residual = v; });
  std::vector<ConvCase> valid;
  for (ConvCase& c : all) {
    if (!Problem::create(c.desc)) continue;
    c.seed = base.seed + valid.size();
    valid.push_back(c);
  }
  return valid;
}

HostData random_data(const Problem& p, DataKind kind, uint64_t seed) {
  const tools::TensorSet t = tools::TensorSet::random(p, seed, kind);
  return HostData{t.input.to_floats(), t.filter.to_floats(), t.pointwise.to_floats(), t.bias.to_floats(),
                  t.residual.to_floats()};
}

namespace {

// `data` as tensors of `dtype` (absent pointwise, bias and residual stay absent), with a poisoned output.
Result<tools::TensorSet> tensors_of(const Problem& p, DType dtype, const HostData& data) {
  if (static_cast<int64_t>(data.input.size()) != p.input_elements() ||
      static_cast<int64_t>(data.filter.size()) != p.filter_elements() ||
      static_cast<int64_t>(data.pointwise.size()) != p.pointwise_elements() ||
      static_cast<int64_t>(data.bias.size()) != p.bias_elements() ||
      static_cast<int64_t>(data.residual.size()) != p.arg_elements(Arg::kResidual))
    return Status(StatusCode::kInvalidArgument, "host data sizes do not match " + p.descriptor());
  tools::TensorSet t;
  t.input = tools::HostTensor::from_floats(dtype, p.input_shape(), data.input);
  t.filter = tools::HostTensor::from_floats(dtype, p.filter_shape(), data.filter);
  if (!data.pointwise.empty()) t.pointwise = tools::HostTensor::from_floats(dtype, p.pointwise_shape(), data.pointwise);
  if (!data.bias.empty()) t.bias = tools::HostTensor::from_floats(dtype, p.bias_shape(), data.bias);
  if (!data.residual.empty()) t.residual = tools::HostTensor::from_floats(dtype, p.output_shape(), data.residual);
  t.output = tools::HostTensor(dtype, p.output_shape());
  tools::poison_nan(t.output);
  return t;
}

Result<std::vector<float>> reference_on(const Problem& p, const HostData& data, bool absolute) {
  Result<tools::TensorSet> t = tensors_of(p, DType::kF32, data);
  if (!t) return t.status();
  Result<tools::HostTensor> out = tools::reference_output(p, *t, absolute);
  if (!out) return out.status();
  return out->to_floats();
}

}  // namespace

Result<std::vector<float>> run_plan(const Plan& plan, const HostData& data) {
  const Problem& p = plan.problem();
  Result<tools::TensorSet> t = tensors_of(p, p.dtype(), data);
  if (!t) return t.status();
  if (Status s = tools::execute(plan, &*t); !s) return s;
  return t->output.to_floats();
}

Result<std::vector<float>> reference_f32(const Problem& p, const HostData& data) {
  return reference_on(p, data, /*absolute=*/false);
}

Result<std::vector<float>> magnitude_f32(const Problem& p, const HostData& data) {
  return reference_on(p, data, /*absolute=*/true);
}

Comparison compare_outputs(const Problem& p, const std::vector<float>& got, const std::vector<float>& expected,
                           const std::vector<float>& magnitude, double rtol, double atol) {
  const size_t n = static_cast<size_t>(p.output_elements());
  if (got.size() != n || expected.size() != n || magnitude.size() != n) {
    Comparison c;
    c.failures = 1;
    c.max_bound_ratio = std::numeric_limits<double>::infinity();
    c.failures_text = "  sizes differ: got " + std::to_string(got.size()) + ", expected " +
                      std::to_string(expected.size()) + ", magnitude " + std::to_string(magnitude.size()) +
                      ", output elements " + std::to_string(n) + "\n";
    return c;
  }
  const std::vector<int64_t> shape = p.output_shape();
  return tools::compare(p, tools::HostTensor::from_floats(DType::kF32, shape, got),
                        tools::HostTensor::from_floats(DType::kF32, shape, expected),
                        tools::HostTensor::from_floats(DType::kF32, shape, magnitude), tools::Tolerance{rtol, atol});
}

std::string ConvTester::repro_command(const std::string& backend, const PlanOptions& options) const {
  Result<Problem> p = Problem::create(desc_);
  return p ? repro_line(*p, seed_, data_, backend, options) : std::string();
}

TestReport ConvTester::test(const std::string& backend, const PlanOptions& options) const {
  TestReport report;
  run_test(backend, options, &report);
  return report;
}

void ConvTester::run_test(const std::string& backend, const PlanOptions& options, TestReport* report) const {
  Result<Problem> created = Problem::create(desc_);
  ASSERT_TRUE(created.is_ok()) << "Problem::create rejected the tester's problem: " << created.status().to_string();
  const Problem& p = *created;
  // The one line that replays this case from the command line; every failure below carries it.
  report->repro = repro_line(p, seed_, data_, backend, options);
  SCOPED_TRACE(report->repro);

  Result<Plan> made = Plan::create(p, backend, options);
  ASSERT_TRUE(made.is_ok()) << "Plan::create failed: " << made.status().to_string();
  const Plan& plan = *made;
  if (backend != "auto") {
    ASSERT_EQ(plan.backend(), backend) << "the plan ran on another backend than the one asked for\n" << plan.explain();
  }
  for (const std::string& prefix : options.skip_implementations) {
    ASSERT_FALSE(starts_with(plan.implementation(), prefix))
        << "implementation " << plan.implementation() << " should have been skipped (prefix '" << prefix << "')";
  }
  if (!options.only_implementations.empty()) {
    ASSERT_TRUE(std::any_of(options.only_implementations.begin(), options.only_implementations.end(),
                            [&](const std::string& prefix) { return starts_with(plan.implementation(), prefix); }))
        << "implementation " << plan.implementation() << " is none of the only_implementations";
  }
  report->backend = plan.backend();
  report->implementation = plan.implementation();
  SCOPED_TRACE("implementation: " + plan.backend() + "/" + plan.implementation());

  tools::TensorSet t = tools::TensorSet::random(p, seed_, data_);

  // The oracle, and the magnitude of the terms of each output element (same sums on |values|).
  Result<tools::HostTensor> expected = tools::reference_output(p, t);
  ASSERT_TRUE(expected.is_ok()) << "reference run failed: " << expected.status().to_string();
  Result<tools::HostTensor> magnitude = tools::reference_output(p, t, /*absolute=*/true);
  ASSERT_TRUE(magnitude.is_ok()) << "magnitude run failed: " << magnitude.status().to_string();

  // Weak data makes a weak test: an all-zero expected output would pass a kernel that writes zeros.
  const std::vector<float> want = expected->to_floats();
  ASSERT_TRUE(std::any_of(want.begin(), want.end(), [](float v) { return v != 0.0f; }))
      << "the expected output is all zero; pick another seed or problem";

  // The run under test: poisoned, guarded output; poisoned workspace; inputs checked afterwards.
  {
    Status s = tools::execute(plan, &t);
    ASSERT_TRUE(s.is_ok()) << "the run failed: " << s.to_string();
  }
  report->digest = tools::digest_line(t);

  tools::Tolerance tol = tools::tolerance(p, data_, *magnitude, tools::runs_tf32(plan.implementation()));
  if (rtol_override_ >= 0.0) tol = tools::Tolerance{rtol_override_, absolute_tolerance(p.dtype())};
  report->exact = tol.exact;
  report->rtol = tol.rtol;
  report->elements = p.output_elements();

  const Comparison c = tools::compare(p, t.output, *expected, *magnitude, tol);
  report->max_abs_error = c.max_abs_err;
  report->max_error_ratio = c.max_bound_ratio;
  if (c.failures > 0) {
    ADD_FAILURE() << c.failures << " of " << p.output_elements() << " output elements are wrong ("
                  << (report->exact ? "exact comparison" : "rtol " + std::to_string(report->rtol) + " on sum|terms|")
                  << "); first ones:\n"
                  << c.failures_text;
  }
}

}  // namespace dsconv::testing
