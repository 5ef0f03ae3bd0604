// The oracle and the verdict, shared by the tests (ConvTester), `dsconv check` and `dsconv bench --verify`:
// the cpu-ref result (f64 accumulation) on the very values a backend saw, the size of each output
// element's terms, per-dtype tolerances, and the element-wise comparison (NaN never passes).
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "dsconv/dsconv.hpp"
#include "tools/common/rng.hpp"
#include "tools/common/tensor.hpp"

namespace dsconv::tools {

// Unit roundoff of a storage type: 2^-24 (f32), 2^-11 (f16), 2^-8 (bf16).
double unit_roundoff(DType dt);
// Products summed into one output element: KH*KW (depthwise), KH*KW*C (conv2d), KH*KW + C*M (separable).
int64_t accumulation_terms(const Problem& p);
// The largest slope of an activation (1 for none, relu, relu6; up to 1.5 for hswish).
double activation_lipschitz(Activation a);
// Relative tolerance (bound_i / S_i) for a problem: the dtype's roundings of the output, of separable's
// intermediate and of a separately added bias, plus f32 accumulation in any order (grows as sqrt(terms)),
// times the activation's largest slope, plus the f32 evaluation of a transcendental activation.
// tf32: the implementation multiplies on TF32 tensor cores (PlanOptions::allow_tf32), which round both
// factors of every product to 11 significant bits: 2 more TF32 roundings (2^-11 each) per product.
double relative_tolerance(const Problem& p, bool tf32 = false);
// Whether an implementation multiplies f32 on TF32 tensor cores: its name says so ("_tf32_"), as every
// implementation that does must (PlanOptions::allow_tf32).
bool runs_tf32(const std::string& implementation);
// The absolute slack of every bound: the smallest normal of the dtype (backends may flush subnormals).
double absolute_tolerance(DType dt);

// Element i passes when |got_i - ref_i| <= rtol * S_i + atol.
struct Tolerance {
  double rtol = 0.0;
  double atol = 0.0;
  bool exact = false;  // rtol = atol = 0: f32 on small integers, where every result is exact
};
// The tolerance for `p` on data of `kind` whose terms have the sizes in `scale` (reference_output with
// absolute = true): exact for f32 small-integer data while every S_i < 2^24 (no sum can round), otherwise
// relative_tolerance(p, tf32) and absolute_tolerance(dtype). On TF32 (tf32) small integers stay exact for
// conv2d; a separable's intermediate may outgrow TF32's 11 bits, so it gets the bound.
Tolerance tolerance(const Problem& p, DataKind kind, const HostTensor& scale, bool tf32 = false);

// The cpu-ref output for the tensors' current input values, computed as an f32 problem on the
// (already dtype-rounded) values: f64 accumulation, one rounding to f32, none to the dtype. With
// absolute = true the inputs are replaced by |x|, |w|, |pw|, |bias|, |residual| and the activation dropped
// (relative_tolerance accounts for its slope): element i is then S_i = sum |x*w| (+|bias| +|residual|),
// the scale of element i's rounding error.
Result<HostTensor> reference_output(const Problem& p, const TensorSet& t, bool absolute = false);

struct Comparison {
  static constexpr size_t kListedFailures = 10;

  bool pass = false;
  int64_t elements = 0;
  int64_t failures = 0;        // elements outside their bound (NaN counts)
  int64_t nan_count = 0;       // NaN in the output (e.g. never written)
  double max_abs_err = 0;      // max |y - ref| over finite y
  double max_rel_err = 0;      // max |y - ref| / S_i (S_i = sum|x*w|): error relative to the terms' size
  double max_bound_ratio = 0;  // max |y - ref| / bound_i (> 1 fails; infinite for NaN/inf, or any error on bound 0)
  int64_t worst_index = -1;    // element with the largest bound ratio (or the first NaN)
  double worst_value = 0, worst_ref = 0;
  double rel_tolerance = 0;  // bound_i = rel_tolerance * S_i + abs_tolerance
  double abs_tolerance = 0;
  std::vector<int64_t> first_failures;  // indices of the first kListedFailures failing elements
  // Filled by compare(): one line per listed failure, "  at [n0 y3 x1 c7] (element 97): got .., expected ..".
  std::string failures_text;
  std::string summary() const;  // one line: counts, errors, tolerance, worst element
};

// The element-wise check: element i passes when got_i is finite and |got_i - expected_i| <= rtol * scale_i
// + atol (written so that NaN fails). `got` holds n values of got_dtype; expected and scale n floats.
Comparison compare_elements(DType got_dtype, const void* got, const float* expected, const float* scale, int64_t n,
                            double rtol, double atol);

// compare_elements on a problem's output, where ref and scale are f32 from reference_output(..., absolute =
// false / true), with failures_text naming the output coordinates; when the sizes differ every element
// fails. Without `tol`: relative_tolerance(p, tf32) and absolute_tolerance(dtype).
Comparison compare(const Problem& p, const HostTensor& output, const HostTensor& ref, const HostTensor& scale,
                   const Tolerance& tol);
Comparison compare(const Problem& p, const HostTensor& output, const HostTensor& ref, const HostTensor& scale,
                   bool tf32 = false);

// [n, y, x, c] of element `flat` of an activation tensor [N, H, W, C] stored in `layout`.
std::vector<int64_t> nhwc_coords(Layout layout, int64_t flat, int64_t h, int64_t w, int64_t c);

}  // namespace dsconv::tools
