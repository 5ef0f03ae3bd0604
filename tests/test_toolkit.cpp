// The toolkit shared by the tests, `dsconv check` and `dsconv bench` (tools/common/): host tensors that
// round like the library, the seeded data of both data kinds (never zeros), digests, the oracle and its
// tolerances, the element-wise comparison, and staging in a plan's memory space with guard bytes.
#include <gtest/gtest.h>

#include <cmath>
#include <cstdint>
#include <cstring>
#include <limits>
#include <string>
#include <vector>

#include "dsconv/dsconv.hpp"
#include "tools/common/device.hpp"
#include "tools/common/oracle.hpp"
#include "tools/common/rng.hpp"
#include "tools/common/tensor.hpp"

namespace {

using namespace dsconv;
using namespace dsconv::tools;

TEST(Toolkit, HostTensorRoundsToItsDtype) {
  HostTensor t = HostTensor::from_floats(DType::kBF16, {3}, {1.00390625f, -2.5f, 3.0f});
  EXPECT_EQ(t.bytes(), 6u);
  EXPECT_EQ(t.to_floats(), (std::vector<float>{1.0f, -2.5f, 3.0f}));  // 1 + 2^-8 ties to even in bf16
  HostTensor h = t.converted(DType::kF16);
  EXPECT_EQ(h.dtype(), DType::kF16);
  EXPECT_EQ(h.to_floats(), t.to_floats());
  HostTensor copy = h;
  h.set(0, 7.0f);
  EXPECT_EQ(copy.get(0), 1.0f) << "copies own their storage";
  EXPECT_EQ(reinterpret_cast<uintptr_t>(copy.data()) % 64, 0u);
  HostTensor none;
  EXPECT_TRUE(none.empty());
  EXPECT_TRUE(none.converted(DType::kF32).empty()) << "an absent tensor stays absent";
  EXPECT_EQ(HostTensor(DType::kF32, {}).elements(), 1) << "shape {} is a scalar";
}

TEST(Toolkit, RandomFillsAreSeededAndNeverZero) {
  for (DType dt : {DType::kF32, DType::kF16, DType::kBF16}) {
    HostTensor a(dt, {4096}), b(dt, {4096}), c(dt, {4096});
    Rng r1(42), r2(42), r3(43);
    fill_uniform_nonzero(a, r1);
    fill_uniform_nonzero(b, r2);
    fill_uniform_nonzero(c, r3);
    EXPECT_EQ(a.to_floats(), b.to_floats()) << "same seed, same data";
    EXPECT_NE(a.to_floats(), c.to_floats()) << "different seeds, different data";
    int negatives = 0;
    for (float v : a.to_floats()) {
      EXPECT_GE(std::fabs(v), 0.125f);
      EXPECT_LE(std::fabs(v), 1.0f);
      negatives += v < 0;
    }
    EXPECT_GT(negatives, 1500);
    EXPECT_LT(negatives, 2600);
    fill_small_integers(a, r1, 3);
    for (float v : a.to_floats()) EXPECT_TRUE(v != 0 && v == std::round(v) && std::fabs(v) <= 3) << v;
    poison_nan(a);
    EXPECT_EQ(count_nan(a), 4096);
  }
}

TEST(Toolkit, ScaleIsTheReferenceOnAbsoluteValues) {
  // 1x3x1x1 input, 1x3 kernel, one output: y = sum x*w, S = sum |x*w| (+ |bias|), activation dropped.
  Result<Problem> p = Problem::parse("conv2d_n1h1w3c1_k1x3_o1_bias_relu");
  ASSERT_TRUE(p.is_ok()) << p.status().to_string();
  TensorSet t = TensorSet::allocate(*p);
  t.input = HostTensor::from_floats(DType::kF32, {1, 1, 3, 1}, {1, -2, 3});
  t.filter = HostTensor::from_floats(DType::kF32, {1, 3, 1, 1}, {4, 5, -6});
  t.bias = HostTensor::from_floats(DType::kF32, {1}, {-0.5f});
  Result<HostTensor> ref = reference_output(*p, t);
  Result<HostTensor> scale = reference_output(*p, t, true);
  ASSERT_TRUE(ref.is_ok() && scale.is_ok());
  EXPECT_EQ(ref->get(0), 0.0f);     // relu(4 - 10 - 18 - 0.5)
  EXPECT_EQ(scale->get(0), 32.5f);  // 4 + 10 + 18 + 0.5
}

TEST(Toolkit, CompareFlagsErrorsBeyondTheBoundAndNaN) {
  Result<Problem> p = Problem::parse("conv2d_n1h6w6c16_k3x3_o4_psame_f16");
  ASSERT_TRUE(p.is_ok());
  TensorSet t = TensorSet::random(*p, 9, DataKind::kUniform);
  Result<Plan> plan = Plan::create(*p, "cpu-ref");
  ASSERT_TRUE(plan.is_ok());
  ASSERT_TRUE(execute(*plan, &t).is_ok());
  Result<HostTensor> ref = reference_output(*p, t);
  Result<HostTensor> scale = reference_output(*p, t, true);
  ASSERT_TRUE(ref.is_ok() && scale.is_ok());

  Comparison c = compare(*p, t.output, *ref, *scale);
  EXPECT_TRUE(c.pass) << c.summary();
  EXPECT_GT(c.max_abs_err, 0.0) << "f16 output rounding must show";
  EXPECT_LE(c.max_bound_ratio, 1.0);
  EXPECT_EQ(c.elements, 6 * 6 * 4);

  // One element off by 3x its bound fails and is reported as the worst.
  const double tol = relative_tolerance(*p);
  HostTensor bad = *ref;
  bad.set(17, static_cast<float>(ref->get(17) + 3.0 * tol * scale->get(17)));
  c = compare(*p, bad.converted(DType::kF16), *ref, *scale);
  EXPECT_FALSE(c.pass);
  EXPECT_EQ(c.failures, 1);
  EXPECT_EQ(c.worst_index, 17);
  EXPECT_NE(c.summary().find("failures: 1/144"), std::string::npos) << c.summary();

  // Half the bound passes.
  HostTensor near = *ref;
  near.set(17, static_cast<float>(ref->get(17) + 0.5 * tol * scale->get(17)));
  EXPECT_TRUE(compare(*p, near, *ref, *scale).pass);

  // NaN never passes.
  HostTensor nan = t.output;
  nan.set(5, std::numeric_limits<float>::quiet_NaN());
  c = compare(*p, nan, *ref, *scale);
  EXPECT_FALSE(c.pass);
  EXPECT_EQ(c.nan_count, 1);
  EXPECT_EQ(c.worst_index, 5);
}

TEST(Toolkit, TolerancesGrowWithRoundoffAndTerms) {
  const Problem f32 = *Problem::parse("depthwise_n1h8w8c8_k3x3_f32");
  const Problem f16 = *Problem::parse("depthwise_n1h8w8c8_k3x3_f16");
  const Problem bf16 = *Problem::parse("depthwise_n1h8w8c8_k3x3_bf16");
  const Problem big = *Problem::parse("conv2d_n1h8w8c512_k3x3_o8_f32");
  EXPECT_LT(relative_tolerance(f32), relative_tolerance(f16));
  EXPECT_LT(relative_tolerance(f16), relative_tolerance(bf16));
  EXPECT_LT(relative_tolerance(f32), relative_tolerance(big));
  EXPECT_EQ(accumulation_terms(big), 9 * 512);
  EXPECT_EQ(accumulation_terms(*Problem::parse("separable_n1h8w8c8_k3x3_m2_o4")), 9 + 16);
  EXPECT_LT(relative_tolerance(big), 1e-4) << "loose enough to pass reordering, tight enough to catch a lost tap";
}

TEST(Toolkit, DeviceTensorBuffers) {
  TensorSet t = TensorSet::random(*Problem::parse("depthwise_n2h9w7c5_k3x3_m2_s2x1_d1x2_psame_nhwc_tf_f32"), 21,
                                  DataKind::kUniform);
#if !defined(DSCONV_HAVE_CUDA)
  Result<TensorBuffers> d = TensorBuffers::create(MemorySpace::kDevice, t, 0);
  ASSERT_FALSE(d.is_ok());
  EXPECT_EQ(d.status().code(), StatusCode::kBackendUnavailable);
  EXPECT_NE(d.status().message().find("no CUDA"), std::string::npos) << d.status().message();
#else
  std::string why;
  if (!backend_available("cuda", &why)) GTEST_SKIP() << "cuda backend unavailable: " << why;
  // The poisoned output goes up and comes back untouched.
  Result<TensorBuffers> d = TensorBuffers::create(MemorySpace::kDevice, t, 100);
  ASSERT_TRUE(d.is_ok()) << d.status().to_string();
  EXPECT_EQ(d->workspace_bytes(), 100u);
  EXPECT_NE(d->workspace(), nullptr);
  EXPECT_EQ(d->view().pointwise(), nullptr);
  EXPECT_EQ(d->view().bias(), nullptr);
  HostTensor back(t.output.dtype(), t.output.shape());
  ASSERT_TRUE(d->download_output(&back).is_ok());
  EXPECT_EQ(count_nan(back), back.elements());
  HostTensor wrong(DType::kF32, {3});
  EXPECT_EQ(d->download_output(&wrong).code(), StatusCode::kInvalidArgument);

  // execute() stages a device plan's tensors and brings the output back.
  const Problem p = *Problem::parse("depthwise_n2h9w7c5_k3x3_m2_s2x1_d1x2_psame_nhwc_tf_f32");
  PlanOptions no_ref;
  no_ref.skip_implementations = {"ref"};
  Result<Plan> plan = Plan::create(p, "cuda", no_ref);
  ASSERT_TRUE(plan.is_ok()) << plan.status().to_string();
  ASSERT_EQ(plan->memory_space(), MemorySpace::kDevice);
  ASSERT_TRUE(execute(*plan, &t).is_ok());
  Result<HostTensor> ref = reference_output(p, t);
  Result<HostTensor> scale = reference_output(p, t, true);
  ASSERT_TRUE(ref.is_ok() && scale.is_ok());
  const Comparison c = compare(p, t.output, *ref, *scale);
  EXPECT_TRUE(c.pass) << plan->implementation() << ": " << c.summary();
#endif
}

TEST(Toolkit, DataKindsAreSeededInRangeAndNeverZero) {
  const Problem p = *Problem::parse("separable_n2h7w6c5_k3x3_m2_o4_f32_bias");
  for (DataKind kind : {DataKind::kSmallIntegers, DataKind::kUniform}) {
    SCOPED_TRACE(to_string(kind));
    const TensorSet a = TensorSet::random(p, 7, kind), b = TensorSet::random(p, 7, kind);
    const TensorSet c = TensorSet::random(p, 8, kind);
    EXPECT_EQ(digest_line(a), digest_line(b)) << "same seed, same bits";
    EXPECT_NE(digest_line(a), digest_line(c)) << "another seed, other data";
    EXPECT_EQ(count_nan(a.output), a.output.elements()) << "the output starts poisoned";
    const std::pair<const HostTensor*, float> limits[] = {
        {&a.input, 3.0f}, {&a.filter, 2.0f}, {&a.pointwise, 2.0f}, {&a.bias, 3.0f}};
    for (const auto& [t, max_int] : limits) {
      ASSERT_FALSE(t->empty());
      for (float v : t->to_floats()) {
        ASSERT_NE(v, 0.0f);
        if (kind == DataKind::kSmallIntegers) {
          ASSERT_EQ(v, std::round(v));
          ASSERT_LE(std::fabs(v), max_int);
        } else {
          ASSERT_GE(std::fabs(v), 0.125f);
          ASSERT_LE(std::fabs(v), 1.0f);
        }
      }
    }
  }
  EXPECT_EQ(parse_data_kind("int"), DataKind::kSmallIntegers);
  EXPECT_EQ(parse_data_kind("uniform"), DataKind::kUniform);
  EXPECT_FALSE(parse_data_kind("zeros").has_value());
}

TEST(Toolkit, DigestLineNamesEveryTensorAndSeesOneBit) {
  const Problem p = *Problem::parse("depthwise_n1h5w5c3_k3x3_f16");
  TensorSet t = TensorSet::random(p, 1, DataKind::kUniform);
  const std::string before = digest_line(t);
  EXPECT_EQ(before.rfind("input=", 0), 0u) << before;
  EXPECT_NE(before.find(" pointwise=none bias=none residual=none output="), std::string::npos)
      << "absent tensors say so";
  static_cast<uint8_t*>(t.filter.data())[3] ^= 1u;
  const std::string after = digest_line(t);
  EXPECT_NE(before, after);
  EXPECT_EQ(before.substr(0, before.find(" filter=")), after.substr(0, after.find(" filter=")));
  EXPECT_EQ(fnv1a("a", 1), 0xaf63dc4c8601ec8cull) << "FNV-1a 64 of \"a\"";
}

TEST(Toolkit, SmallIntegerF32IsComparedExactly) {
  const Problem f32 = *Problem::parse("conv2d_n1h6w6c16_k3x3_o4_psame_f32");
  const Problem f16 = *Problem::parse("conv2d_n1h6w6c16_k3x3_o4_psame_f16");
  for (const Problem* p : {&f32, &f16}) {
    for (DataKind kind : {DataKind::kSmallIntegers, DataKind::kUniform}) {
      const TensorSet t = TensorSet::random(*p, 3, kind);
      Result<HostTensor> scale = reference_output(*p, t, true);
      ASSERT_TRUE(scale.is_ok()) << scale.status().to_string();
      const Tolerance tol = tolerance(*p, kind, *scale);
      const bool exact = p->dtype() == DType::kF32 && kind == DataKind::kSmallIntegers;
      EXPECT_EQ(tol.exact, exact) << p->descriptor() << " " << to_string(kind);
      EXPECT_EQ(tol.rtol, exact ? 0.0 : relative_tolerance(*p));
      EXPECT_EQ(tol.atol, exact ? 0.0 : absolute_tolerance(p->dtype()));
    }
  }
  // Terms too large for exact f32 sums are compared with the rounding tolerance again.
  HostTensor huge = HostTensor::from_floats(DType::kF32, {1}, {3.0e7f});
  EXPECT_FALSE(tolerance(f32, DataKind::kSmallIntegers, huge).exact);
}

TEST(Toolkit, ExecuteCatchesWritesOutsideTheOutputAndIntoInputs) {
  const Problem p = *Problem::parse("depthwise_n1h6w5c4_k3x3_psame_f32");
  const TensorSet host = TensorSet::random(p, 5, DataKind::kSmallIntegers);
  Result<TensorBuffers> b = TensorBuffers::create(MemorySpace::kHost, host, 64);
  ASSERT_TRUE(b.is_ok()) << b.status().to_string();
  EXPECT_TRUE(b->verify_untouched(host).is_ok());
  EXPECT_EQ(reinterpret_cast<uintptr_t>(b->view().output()) % 256, 0u)
      << "the output keeps a fresh allocation's alignment";
  EXPECT_EQ(b->view().pointwise(), nullptr);
  std::vector<uint8_t> ws(64);
  std::memcpy(ws.data(), b->workspace(), ws.size());
  for (uint8_t byte : ws) ASSERT_EQ(byte, 0xFF) << "the workspace starts poisoned";

  char* out = static_cast<char*>(b->view().output());
  out[-1] = 0;
  Status s = b->verify_untouched(host);
  EXPECT_EQ(s.code(), StatusCode::kInternalError);
  EXPECT_NE(s.message().find("byte 1 before the output"), std::string::npos) << s.message();
  out[-1] = static_cast<char>(TensorBuffers::kGuardByte);
  out[host.output.bytes() + 7] = 0;
  s = b->verify_untouched(host);
  EXPECT_NE(s.message().find("byte 7 after the output"), std::string::npos) << s.message();
  out[host.output.bytes() + 7] = static_cast<char>(TensorBuffers::kGuardByte);
  const_cast<float*>(static_cast<const float*>(b->view().filter()))[2] += 1.0f;
  s = b->verify_untouched(host);
  EXPECT_NE(s.message().find("modified its filter"), std::string::npos) << s.message();

  // Out-of-range copies are refused, not done.
  Result<Buffer> small = Buffer::create(MemorySpace::kHost, 16);
  ASSERT_TRUE(small.is_ok());
  EXPECT_EQ(small->upload(ws.data(), 17).code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(small->download(ws.data(), 8, 9).code(), StatusCode::kInvalidArgument);
}

}  // namespace
