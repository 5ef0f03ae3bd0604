#include "tools/common/oracle.hpp"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <limits>
#include <sstream>
#include <utility>

#include "src/half.hpp"
#include "tools/common/device.hpp"

namespace dsconv::tools {

double unit_roundoff(DType dt) {
  switch (dt) {
    case DType::kF32:
      return 0x1.0p-24;
    case DType::kF16:
      return 0x1.0p-11;
    case DType::kBF16:
      return 0x1.0p-8;
  }
  return 0x1.0p-24;
}

int64_t accumulation_terms(const Problem& p) {
  const int64_t taps = p.kh() * p.kw();
  switch (p.op()) {
    case Op::kDepthwise:
      return taps;
    case Op::kConv2d:
      return taps * p.c();
    case Op::kSeparable:
      return taps + p.mid_channels();
  }
  return taps;
}

double activation_lipschitz(Activation a) {
  // The largest slope of each activation: an error e before it is at most L * e after it.
  switch (a) {
    case Activation::kNone:
    case Activation::kRelu:
    case Activation::kRelu6:
      return 1.0;
    case Activation::kSilu:  // x*sigmoid(x): slope at most 1.0998 (near x = 2.4)
      return 1.1;
    case Activation::kGelu:  // slope at most 1.1289 (near x = 1.41); the tanh form within 0.1% of it
    case Activation::kGeluTanh:
      return 1.13;
    case Activation::kHswish:  // (2x + 3) / 6 on [-3, 3]: 1.5 at x = 3
      return 1.5;
  }
  return 1.5;
}

double relative_tolerance(const Problem& p, bool tf32) {
  // Storage: the output is rounded once, and a separable intermediate or a separately added bias (and
  // residual) may be rounded to the storage type too: 3 roundings at most, each <= u * (sum of |terms|).
  // Accumulation in f32: the error of a K-term sum grows like sqrt(K) * u_f32 relative to the sum of
  // |terms| for data of random sign; 4 * sqrt(K) leaves room for any summation order (the worst case,
  // K * u, is far too loose to catch indexing bugs).
  // Activation: errors before it grow by at most its largest slope L; silu, hswish and the gelus are
  // also evaluated in f32 (expf/erff/tanhf and a few products: 8 u_f32 of a result at most L * S).
  const double k = static_cast<double>(accumulation_terms(p));
  // TF32 products: each factor rounded to 11 significant bits (unit roundoff 2^-11).
  const double before =
      3.0 * unit_roundoff(p.dtype()) + 4.0 * std::sqrt(k) * unit_roundoff(DType::kF32) + (tf32 ? 2.0 * 0x1.0p-11 : 0.0);
  const double lip = activation_lipschitz(p.activation());
  const bool clamp = lip == 1.0;
  return lip * before + (clamp ? 0.0 : 8.0 * lip * unit_roundoff(DType::kF32));
}

double absolute_tolerance(DType dt) {
  // A backend may flush subnormal results to zero; an error below the smallest normal is not a bug.
  return dt == DType::kF16 ? 0x1.0p-14 : static_cast<double>(std::numeric_limits<float>::min());
}

bool runs_tf32(const std::string& implementation) { return implementation.find("_tf32_") != std::string::npos; }

Tolerance tolerance(const Problem& p, DataKind kind, const HostTensor& scale, bool tf32) {
  // Every partial sum below 2^24 is an exactly representable f32 integer, whatever the order.
  constexpr double kExactF32Limit = 16777216.0;
  double max_scale = 0.0;
  for (int64_t i = 0; i < scale.elements(); ++i) max_scale = std::max(max_scale, static_cast<double>(scale.get(i)));
  // Exact only while the activation keeps integers integers (none, relu, relu6).
  const bool clamp = activation_lipschitz(p.activation()) == 1.0;
  if (p.dtype() == DType::kF32 && kind == DataKind::kSmallIntegers && clamp && max_scale < kExactF32Limit &&
      !(tf32 && p.op() == Op::kSeparable))
    return Tolerance{0.0, 0.0, true};
  return Tolerance{relative_tolerance(p, tf32), absolute_tolerance(p.dtype()), false};
}

Result<HostTensor> reference_output(const Problem& p, const TensorSet& t, bool absolute) {
  ProblemDesc d = p.desc();
  d.dtype = DType::kF32;
  if (absolute) d.activation = Activation::kNone;
  Result<Problem> q = Problem::create(d);
  if (!q) return q.status();
  auto widen = [&](const HostTensor& h) {
    HostTensor f = h.converted(DType::kF32);
    if (absolute)
      for (int64_t i = 0; i < f.elements(); ++i) f.set(i, std::fabs(f.get(i)));
    return f;
  };
  TensorSet r;
  r.input = widen(t.input);
  r.filter = widen(t.filter);
  r.pointwise = widen(t.pointwise);
  r.bias = widen(t.bias);
  r.residual = widen(t.residual);
  r.output = HostTensor(DType::kF32, q->output_shape());
  poison_nan(r.output);
  Result<Plan> plan = Plan::create(*q, "cpu-ref");
  if (!plan) return plan.status();
  if (Status s = execute(*plan, &r); !s) return s;
  return std::move(r.output);
}

Comparison compare_elements(DType got_dtype, const void* got, const float* expected, const float* scale, int64_t n,
                            double rtol, double atol) {
  Comparison c;
  c.rel_tolerance = rtol;
  c.abs_tolerance = atol;
  c.elements = n;
  for (int64_t i = 0; i < n; ++i) {
    const double y = detail::load_as_float(got, got_dtype, i), r = expected[i], s = scale[i];
    const double err = std::fabs(y - r);
    const double bound = rtol * s + atol;
    const bool measurable = std::isfinite(y) && !std::isnan(err);
    if (std::isnan(y)) ++c.nan_count;
    if (measurable) {
      c.max_abs_err = std::max(c.max_abs_err, err);
      c.max_rel_err = std::max(c.max_rel_err, s > 0 ? err / s : (err > 0 ? HUGE_VAL : 0.0));
    }
    const double ratio = !measurable ? HUGE_VAL : bound > 0 ? err / bound : (err > 0 ? HUGE_VAL : 0.0);
    if (c.worst_index < 0 || ratio > c.max_bound_ratio) {
      c.max_bound_ratio = ratio;
      c.worst_index = i;
      c.worst_value = y;
      c.worst_ref = r;
    }
    if (std::isfinite(y) && err <= bound) continue;  // a pass test, so that NaN fails
    if (c.failures++ < static_cast<int64_t>(Comparison::kListedFailures)) c.first_failures.push_back(i);
  }
  c.pass = c.failures == 0 && c.elements > 0;
  return c;
}

std::vector<int64_t> nhwc_coords(Layout layout, int64_t flat, int64_t h, int64_t w, int64_t c) {
  if (layout == Layout::kNHWC) return {flat / (h * w * c), (flat / (w * c)) % h, (flat / c) % w, flat % c};
  return {flat / (c * h * w), (flat / w) % h, flat % w, (flat / (h * w)) % c};
}

Comparison compare(const Problem& p, const HostTensor& output, const HostTensor& ref, const HostTensor& scale,
                   const Tolerance& tol) {
  const int64_t n = output.elements();
  const bool comparable =
      ref.elements() == n && scale.elements() == n && ref.dtype() == DType::kF32 && scale.dtype() == DType::kF32;
  Comparison c = compare_elements(output.dtype(), output.data(), static_cast<const float*>(ref.data()),
                                  static_cast<const float*>(scale.data()), comparable ? n : 0, tol.rtol, tol.atol);
  if (!comparable) {
    c.elements = c.failures = n;
    c.failures_text = "  sizes differ: output " + std::to_string(n) + " elements, reference " +
                      std::to_string(ref.elements()) + ", scale " + std::to_string(scale.elements()) + "\n";
    return c;
  }
  std::ostringstream text;
  for (const int64_t i : c.first_failures) {
    const std::vector<int64_t> at = nhwc_coords(p.layout(), i, p.out_h(), p.out_w(), p.out_channels());
    const double g = output.get(i), e = ref.get(i);
    text << "  at [n" << at[0] << " y" << at[1] << " x" << at[2] << " c" << at[3] << "] (element " << i << "): got "
         << g << ", expected " << e;
    if (std::isfinite(g)) {
      text << ", |error| " << std::fabs(g - e) << " > bound " << tol.rtol * scale.get(i) + tol.atol;
    } else {
      text << (std::isnan(g) ? " (NaN: not written, or computed NaN)" : " (infinite)");
    }
    text << "\n";
  }
  c.failures_text = text.str();
  return c;
}

Comparison compare(const Problem& p, const HostTensor& output, const HostTensor& ref, const HostTensor& scale,
                   bool tf32) {
  return compare(p, output, ref, scale, Tolerance{relative_tolerance(p, tf32), absolute_tolerance(p.dtype()), false});
}

std::string Comparison::summary() const {
  char buf[512];
  std::snprintf(buf, sizeof buf,
                "max_abs_err: %.3g max_rel_err: %.3g tolerance: %.3g failures: %lld/%lld nan: %lld worst: [%lld] "
                "got %.9g expected %.9g",
                max_abs_err, max_rel_err, rel_tolerance, static_cast<long long>(failures),
                static_cast<long long>(elements), static_cast<long long>(nan_count),
                static_cast<long long>(worst_index), worst_value, worst_ref);
  return buf;
}

}  // namespace dsconv::tools
