#include "support/tester.hpp"

#include <algorithm>
#include <cctype>
#include <cmath>
#include <cstring>
#include <limits>
#include <random>
#include <sstream>

#include "support/device_memory.hpp"

namespace dsconv::testing {

namespace {

// Bytes of guard on each side of the tested output. A multiple of 256 keeps the output as aligned as
// a fresh cudaMalloc, so kernels see the alignment they would in real use.
constexpr size_t kGuardBytes = 256;
constexpr uint8_t kGuardByte = 0xA5;
// Bound of exact f32 integer arithmetic: every partial sum below 2^24 is exact in f32.
constexpr double kExactF32Limit = 16777216.0;

std::string repro_line(const std::string& backend, uint64_t seed, DataKind kind, const Problem& p) {
  return "repro: backend=" + backend + " seed=" + std::to_string(seed) + " data=" + to_string(kind) +
         " problem=" + p.descriptor();
}

std::string coords_string(const std::vector<int64_t>& c) {
  return "[n" + std::to_string(c[0]) + " y" + std::to_string(c[1]) + " x" + std::to_string(c[2]) + " c" +
         std::to_string(c[3]) + "]";
}

// Fills `count` values from rng: either small integers in [-range, range] or uniform in [-1, 1).
// Uses the raw engine output (not std::*_distribution) so a seed means the same data on every
// standard library.
std::vector<float> fill(std::mt19937_64& rng, int64_t count, DataKind kind, int range) {
  std::vector<float> v(static_cast<size_t>(count));
  for (float& x : v) {
    const uint64_t r = rng();
    if (kind == DataKind::kSmallIntegers) {
      x = static_cast<float>(static_cast<int>(r % static_cast<uint64_t>(2 * range + 1)) - range);
    } else {
      x = static_cast<float>(static_cast<double>(r >> 11) * 0x1.0p-53 * 2.0 - 1.0);
    }
  }
  return v;
}

}  // namespace

const char* to_string(DataKind kind) { return kind == DataKind::kSmallIntegers ? "int" : "uniform"; }

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
  std::vector<ConvCase> valid;
  for (ConvCase& c : all) {
    if (!Problem::create(c.desc)) continue;
    c.seed = base.seed + valid.size();
    valid.push_back(c);
  }
  return valid;
}

std::vector<float> round_to(DType dtype, std::vector<float> values) {
  const std::vector<uint8_t> raw = encode(dtype, values);
  return decode(dtype, raw.data(), static_cast<int64_t>(values.size()));
}

HostData random_data(const Problem& p, DataKind kind, uint64_t seed) {
  std::mt19937_64 rng(seed);
  HostData d;
  d.input = round_to(p.dtype(), fill(rng, p.input_elements(), kind, 3));
  d.filter = round_to(p.dtype(), fill(rng, p.filter_elements(), kind, 2));
  d.pointwise = round_to(p.dtype(), fill(rng, p.pointwise_elements(), kind, 2));
  d.bias = round_to(p.dtype(), fill(rng, p.bias_elements(), kind, 3));
  return d;
}

std::vector<uint8_t> nan_poison(DType dtype, int64_t count) {
  std::vector<uint8_t> out(static_cast<size_t>(count) * dtype_size(dtype));
  for (int64_t i = 0; i < count; ++i) {
    if (dtype == DType::kF32) {
      const uint32_t bits = 0x7fc0dead;  // quiet NaN, payload easy to spot in a debugger
      std::memcpy(out.data() + i * 4, &bits, 4);
    } else {
      const uint16_t bits = dtype == DType::kF16 ? 0x7e5a : 0x7fd5;
      std::memcpy(out.data() + i * 2, &bits, 2);
    }
  }
  return out;
}

std::vector<int64_t> nhwc_coords(Layout layout, int64_t flat, int64_t h, int64_t w, int64_t c) {
  if (layout == Layout::kNHWC) return {flat / (h * w * c), (flat / (w * c)) % h, (flat / c) % w, flat % c};
  return {flat / (c * h * w), (flat / w) % h, flat % w, (flat / (h * w)) % c};
}

namespace {

Status check_sizes(const Problem& p, const HostData& data) {
  if (static_cast<int64_t>(data.input.size()) != p.input_elements() ||
      static_cast<int64_t>(data.filter.size()) != p.filter_elements() ||
      static_cast<int64_t>(data.pointwise.size()) != p.pointwise_elements() ||
      static_cast<int64_t>(data.bias.size()) != p.bias_elements())
    return Status(StatusCode::kInvalidArgument, "host data sizes do not match " + p.descriptor());
  return Status::ok();
}

// `data` as the driver's f32 tensors (absent pointwise and bias stay absent), for its reference.
Result<driver::TensorSet> f32_tensors(const Problem& p, const HostData& data) {
  if (Status s = check_sizes(p, data); !s) return s;
  driver::TensorSet t;
  t.input = driver::HostTensor::from_floats(DType::kF32, p.input_shape(), data.input);
  t.filter = driver::HostTensor::from_floats(DType::kF32, p.filter_shape(), data.filter);
  if (!data.pointwise.empty())
    t.pointwise = driver::HostTensor::from_floats(DType::kF32, p.pointwise_shape(), data.pointwise);
  if (!data.bias.empty()) t.bias = driver::HostTensor::from_floats(DType::kF32, p.bias_shape(), data.bias);
  return t;
}

Result<std::vector<float>> reference_on(const Problem& p, const HostData& data, bool absolute) {
  Result<driver::TensorSet> t = f32_tensors(p, data);
  if (!t) return t.status();
  Result<driver::HostTensor> out = driver::reference_output(p, *t, absolute);
  if (!out) return out.status();
  return out->to_floats();
}

// Device-or-host copies of one run's tensors. `output` has kGuardBytes of guard on each side.
struct RunBuffers {
  Buffer input, filter, pointwise, bias, output, workspace;
  std::vector<uint8_t> input_bytes, filter_bytes, pointwise_bytes, bias_bytes;
  size_t output_bytes = 0;
};

Status upload_all(const Plan& plan, const HostData& data, size_t guard, RunBuffers* b) {
  const Problem& p = plan.problem();
  const MemorySpace space = plan.memory_space();
  const DType dt = p.dtype();
  auto make = [&](const std::vector<float>& values, std::vector<uint8_t>* bytes, Buffer* buf) -> Status {
    *bytes = encode(dt, values);
    if (values.empty()) return Status::ok();
    Result<Buffer> r = Buffer::create(space, bytes->size());
    if (!r) return r.status();
    *buf = std::move(r).value();
    return buf->upload(bytes->data(), bytes->size());
  };
  if (Status s = check_sizes(p, data); !s) return s;
  if (Status s = make(data.input, &b->input_bytes, &b->input); !s) return s;
  if (Status s = make(data.filter, &b->filter_bytes, &b->filter); !s) return s;
  if (Status s = make(data.pointwise, &b->pointwise_bytes, &b->pointwise); !s) return s;
  if (Status s = make(data.bias, &b->bias_bytes, &b->bias); !s) return s;

  b->output_bytes = static_cast<size_t>(p.output_elements()) * dtype_size(dt);
  std::vector<uint8_t> out(guard + b->output_bytes + guard, kGuardByte);
  const std::vector<uint8_t> poison = nan_poison(dt, p.output_elements());
  std::copy(poison.begin(), poison.end(), out.begin() + static_cast<std::ptrdiff_t>(guard));
  Result<Buffer> o = Buffer::create(space, out.size());
  if (!o) return o.status();
  b->output = std::move(o).value();
  if (Status s = b->output.upload(out.data(), out.size()); !s) return s;

  if (plan.workspace_bytes() > 0) {
    Result<Buffer> w = Buffer::create(space, plan.workspace_bytes());
    if (!w) return w.status();
    b->workspace = std::move(w).value();
    // Poisoned so an implementation that reads workspace before writing it produces NaN.
    const std::vector<uint8_t> ws(plan.workspace_bytes(), 0xFF);
    if (Status s = b->workspace.upload(ws.data(), ws.size()); !s) return s;
  }
  return Status::ok();
}

Status run_buffers(const Plan& plan, size_t guard, const RunBuffers& b) {
  Tensors t;
  t.input = b.input.data();
  t.filter = b.filter.data();
  t.pointwise = b.pointwise.data();
  t.bias = b.bias.data();
  t.output = static_cast<char*>(b.output.data()) + guard;
  // A stream of our own: device backends must not depend on the legacy default stream.
  Result<Stream> stream = Stream::create(plan.memory_space());
  if (!stream) return stream.status();
  if (Status s = plan.run(t, b.workspace.data(), b.workspace.bytes(), stream->get()); !s) return s;
  return stream->synchronize();
}

}  // namespace

Result<std::vector<float>> run_plan(const Plan& plan, const HostData& data) {
  RunBuffers b;
  if (Status s = upload_all(plan, data, 0, &b); !s) return s;
  if (Status s = run_buffers(plan, 0, b); !s) return s;
  std::vector<uint8_t> out(b.output_bytes);
  if (Status s = b.output.download(out.data(), out.size()); !s) return s;
  return decode(plan.problem().dtype(), out.data(), plan.problem().output_elements());
}

Result<std::vector<float>> reference_f32(const Problem& p, const HostData& data) {
  return reference_on(p, data, /*absolute=*/false);
}

Result<std::vector<float>> magnitude_f32(const Problem& p, const HostData& data) {
  // Activations are 1-Lipschitz: a bound on the sum holds after them, so the reference drops them here.
  return reference_on(p, data, /*absolute=*/true);
}

Comparison compare_outputs(const Problem& p, const std::vector<float>& got, const std::vector<float>& expected,
                           const std::vector<float>& magnitude, double rtol, double atol) {
  Comparison c;
  const size_t n = static_cast<size_t>(p.output_elements());
  if (got.size() != n || expected.size() != n || magnitude.size() != n) {
    c.failures = 1;
    c.max_error_ratio = std::numeric_limits<double>::infinity();
    c.first_failures = "  sizes differ: got " + std::to_string(got.size()) + ", expected " +
                       std::to_string(expected.size()) + ", magnitude " + std::to_string(magnitude.size()) +
                       ", output elements " + std::to_string(n) + "\n";
    return c;
  }
  const driver::Comparison d = driver::compare_elements(DType::kF32, got.data(), expected.data(), magnitude.data(),
                                                        static_cast<int64_t>(n), rtol, atol);
  c.failures = d.failures;
  c.max_abs_error = d.max_abs_err;
  c.max_error_ratio = d.max_bound_ratio;
  std::ostringstream first;
  for (const int64_t i : d.first_failures) {
    const double g = got[static_cast<size_t>(i)], e = expected[static_cast<size_t>(i)];
    first << "  at " << coords_string(nhwc_coords(p.layout(), i, p.out_h(), p.out_w(), p.out_channels()))
          << " (element " << i << "): got " << g << ", expected " << e;
    if (std::isfinite(g)) {
      first << ", |error| " << std::fabs(g - e) << " > bound " << rtol * magnitude[static_cast<size_t>(i)] + atol;
    } else {
      first << (std::isnan(g) ? " (NaN: not written, or computed NaN)" : " (infinite)");
    }
    first << "\n";
  }
  c.first_failures = first.str();
  return c;
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
  SCOPED_TRACE(repro_line(backend, seed_, data_, p));

  Result<Plan> made = Plan::create(p, backend, options);
  ASSERT_TRUE(made.is_ok()) << "Plan::create failed: " << made.status().to_string();
  const Plan& plan = *made;
  if (backend != "auto") {
    ASSERT_EQ(plan.backend(), backend) << "the plan ran on another backend than the one asked for\n" << plan.explain();
  }
  for (const std::string& prefix : options.skip_implementations) {
    ASSERT_FALSE(!prefix.empty() && plan.implementation().compare(0, prefix.size(), prefix) == 0)
        << "implementation " << plan.implementation() << " should have been skipped (prefix '" << prefix << "')";
  }
  report->backend = plan.backend();
  report->implementation = plan.implementation();
  SCOPED_TRACE("implementation: " + plan.backend() + "/" + plan.implementation());

  const HostData data = random_data(p, data_, seed_);

  // The oracle, and the magnitude of the terms of each output element (same sums on |values|).
  Result<std::vector<float>> expected = reference_f32(p, data);
  ASSERT_TRUE(expected.is_ok()) << "reference run failed: " << expected.status().to_string();
  Result<std::vector<float>> magnitude = magnitude_f32(p, data);
  ASSERT_TRUE(magnitude.is_ok()) << "magnitude run failed: " << magnitude.status().to_string();

  // Weak data makes a weak test: an all-zero expected output would pass a kernel that writes zeros.
  ASSERT_TRUE(std::any_of(expected->begin(), expected->end(), [](float v) { return v != 0.0f; }))
      << "the expected output is all zero; pick another seed or problem";

  // The run under test, with guard bytes around the output.
  RunBuffers b;
  {
    Status s = upload_all(plan, data, kGuardBytes, &b);
    ASSERT_TRUE(s.is_ok()) << "moving inputs to the plan's memory failed: " << s.to_string();
  }
  {
    Status s = run_buffers(plan, kGuardBytes, b);
    ASSERT_TRUE(s.is_ok()) << "Plan::run failed: " << s.to_string();
  }
  std::vector<uint8_t> out(kGuardBytes + b.output_bytes + kGuardBytes);
  {
    Status s = b.output.download(out.data(), out.size());
    ASSERT_TRUE(s.is_ok()) << "reading the output back failed: " << s.to_string();
  }

  // Writes outside the output.
  for (size_t i = 0; i < kGuardBytes; ++i) {
    ASSERT_EQ(out[i], kGuardByte) << "byte " << (kGuardBytes - i) << " before the output was overwritten";
    ASSERT_EQ(out[kGuardBytes + b.output_bytes + i], kGuardByte) << "byte " << i << " after the output was overwritten";
  }
  // Writes into inputs.
  struct InputCheck {
    const char* name;
    const Buffer* buffer;
    const std::vector<uint8_t>* bytes;
  };
  for (const InputCheck& in :
       {InputCheck{"input", &b.input, &b.input_bytes}, InputCheck{"filter", &b.filter, &b.filter_bytes},
        InputCheck{"pointwise", &b.pointwise, &b.pointwise_bytes}, InputCheck{"bias", &b.bias, &b.bias_bytes}}) {
    if (in.bytes->empty()) continue;
    std::vector<uint8_t> after(in.bytes->size());
    Status s = in.buffer->download(after.data(), after.size());
    ASSERT_TRUE(s.is_ok()) << s.to_string();
    ASSERT_TRUE(after == *in.bytes) << "the run modified its " << in.name << " tensor";
  }

  const std::vector<float> got = decode(p.dtype(), out.data() + kGuardBytes, p.output_elements());
  const double max_mag = magnitude->empty() ? 0.0 : *std::max_element(magnitude->begin(), magnitude->end());
  report->exact =
      p.dtype() == DType::kF32 && data_ == DataKind::kSmallIntegers && max_mag < kExactF32Limit && rtol_override_ < 0.0;
  report->rtol = rtol_override_ >= 0.0 ? rtol_override_ : report->exact ? 0.0 : relative_tolerance(p);
  report->elements = p.output_elements();
  const double atol = report->exact ? 0.0 : absolute_tolerance(p.dtype());

  const Comparison c = compare_outputs(p, got, *expected, *magnitude, report->rtol, atol);
  report->max_abs_error = c.max_abs_error;
  report->max_error_ratio = c.max_error_ratio;
  if (c.failures > 0) {
    ADD_FAILURE() << c.failures << " of " << p.output_elements() << " output elements are wrong ("
                  << (report->exact ? "exact comparison" : "rtol " + std::to_string(report->rtol) + " on sum|terms|")
                  << "); first ones:\n"
                  << c.first_failures;
  }
}

}  // namespace dsconv::testing
