// The oneDNN benchmark peer (bench/driver/peer_onednn.hpp) computes what dsconv computes: its
// ratios are only meaningful if it does. Small-integer f32 data makes every result exact, so the
// peer must equal the reference bit for bit across layouts, filter layouts, strides, dilations
// (oneDNN counts them from 0), paddings, multipliers, bias and activations.
#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <memory>
#include <vector>

#include "bench/driver/peer_onednn.hpp"
#include "support/tester.hpp"

namespace {

using namespace dsconv;
using namespace dsconv::driver;
namespace dt = dsconv::testing;

#if defined(DSCONV_HAVE_ONEDNN)

class OnednnPeerSweep : public ::testing::TestWithParam<dt::ConvCase> {};

TEST_P(OnednnPeerSweep, EqualsTheReferenceExactly) {
  const dt::ConvCase& c = GetParam();
  Result<Problem> p = Problem::create(c.desc);
  ASSERT_TRUE(p.is_ok()) << p.status().to_string();
  SCOPED_TRACE(p->descriptor() + " seed " + std::to_string(c.seed));
  const dt::HostData data = dt::random_data(*p, dt::DataKind::kSmallIntegers, c.seed);
  Result<std::vector<float>> ref = dt::reference_f32(*p, data);
  ASSERT_TRUE(ref.is_ok()) << ref.status().to_string();

  Result<std::unique_ptr<OnednnPeer>> peer = OnednnPeer::create(*p);
  ASSERT_TRUE(peer.is_ok()) << peer.status().to_string();
  EXPECT_FALSE((*peer)->implementation().empty());
  std::vector<uint8_t> input = dt::encode(DType::kF32, data.input), filter = dt::encode(DType::kF32, data.filter),
                       pointwise = dt::encode(DType::kF32, data.pointwise), bias = dt::encode(DType::kF32, data.bias);
  Tensors weights;
  weights.filter = filter.data();
  weights.pointwise = pointwise.empty() ? nullptr : pointwise.data();
  weights.bias = bias.empty() ? nullptr : bias.data();
  ASSERT_TRUE((*peer)->set_weights(weights).is_ok());
  // Twice, on fresh poison each time: the second run must not depend on what the first left behind.
  for (int run = 0; run < 2; ++run) {
    std::vector<uint8_t> out = dt::nan_poison(DType::kF32, p->output_elements());
    Status s = (*peer)->run(input.data(), out.data());
    ASSERT_TRUE(s.is_ok()) << s.to_string();
    const std::vector<float> got = dt::decode(DType::kF32, out.data(), p->output_elements());
    ASSERT_EQ(got.size(), ref->size());
    int64_t bad = 0;
    for (size_t i = 0; i < got.size(); ++i) {
      if (!(got[i] == (*ref)[i])) {  // NaN fails
        if (bad++ < 5)
          ADD_FAILURE() << "run " << run << " element " << i << ": got " << got[i] << ", want " << (*ref)[i];
      }
    }
    EXPECT_EQ(bad, 0);
  }
}

std::vector<dt::ConvCase> onednn_cases() {
  std::vector<dt::ConvCase> all;
  dt::Sweep depthwise;
  depthwise.base.desc.batch = 2;
  depthwise.base.desc.height = 13;
  depthwise.base.desc.width = 11;
  depthwise.base.seed = 11;
  depthwise.ops = {Op::kDepthwise};
  depthwise.channels = {5};
  depthwise.kernels = {{3, 3}, {5, 3}};
  depthwise.multipliers = {1, 2};
  depthwise.strides = {{1, 1}, {2, 1}};
  depthwise.dilations = {{1, 1}, {2, 3}};
  depthwise.paddings = {PaddingMode::kSame, PaddingMode::kValid};
  depthwise.layouts = {Layout::kNHWC, Layout::kNCHW};
  depthwise.filter_layouts = {FilterLayout::kTF, FilterLayout::kOIHW};
  for (const dt::ConvCase& c : depthwise.cases()) all.push_back(c);

  dt::Sweep dense;
  dense.base = depthwise.base;
  dense.base.desc.channels = 4;
  dense.base.desc.out_channels = 6;
  dense.base.desc.pad_top = 1, dense.base.desc.pad_bottom = 2, dense.base.desc.pad_left = 0,
  dense.base.desc.pad_right = 3;
  dense.ops = {Op::kConv2d, Op::kSeparable};
  dense.kernels = {{3, 3}};
  dense.strides = {{1, 1}, {1, 2}};
  dense.dilations = {{1, 1}, {3, 2}};
  dense.paddings = {PaddingMode::kSame, PaddingMode::kExplicit};
  dense.layouts = {Layout::kNHWC, Layout::kNCHW};
  dense.filter_layouts = {FilterLayout::kTF, FilterLayout::kOIHW};
  for (const dt::ConvCase& c : dense.cases()) all.push_back(c);

  dt::Sweep epilogue;
  epilogue.base = depthwise.base;
  epilogue.base.desc.channels = 5;
  epilogue.base.desc.out_channels = 6;
  epilogue.ops = {Op::kDepthwise, Op::kConv2d, Op::kSeparable};
  epilogue.kernels = {{3, 3}};
  epilogue.paddings = {PaddingMode::kSame};
  epilogue.biases = {true};
  epilogue.activations = {Activation::kRelu, Activation::kRelu6};
  for (dt::ConvCase c : epilogue.cases()) {
    if (c.desc.op == Op::kDepthwise) c.desc.out_channels = 0;
    all.push_back(c);
  }
  return all;
}

INSTANTIATE_TEST_SUITE_P(Bench, OnednnPeerSweep, ::testing::ValuesIn(onednn_cases()), dt::ConvCaseName());

TEST(BenchOnednnPeer, ReportsItsVersionAndRefusesRunBeforeWeights) {
  EXPECT_TRUE(onednn_built());
  EXPECT_FALSE(onednn_version().empty());
  ProblemDesc d;
  d.height = d.width = 8;
  d.channels = 4;
  d.kernel_h = d.kernel_w = 3;
  Result<Problem> p = Problem::create(d);
  ASSERT_TRUE(p.is_ok());
  Result<std::unique_ptr<OnednnPeer>> peer = OnednnPeer::create(*p);
  ASSERT_TRUE(peer.is_ok()) << peer.status().to_string();
  std::vector<float> in(static_cast<size_t>(p->input_elements()), 1.0f), out(static_cast<size_t>(p->output_elements()));
  const Status s = (*peer)->run(in.data(), out.data());
  EXPECT_FALSE(s.is_ok());
  EXPECT_NE(s.message().find("set_weights"), std::string::npos) << s.message();
}

#else  // !DSCONV_HAVE_ONEDNN

TEST(BenchOnednnPeer, UnavailableWithoutOnednnSaysHowToGetIt) {
  EXPECT_FALSE(onednn_built());
  Result<Problem> p = Problem::create(ProblemDesc{});
  ASSERT_TRUE(p.is_ok());
  Result<std::unique_ptr<OnednnPeer>> peer = OnednnPeer::create(*p);
  ASSERT_FALSE(peer.is_ok());
  EXPECT_EQ(peer.status().code(), StatusCode::kBackendUnavailable);
  EXPECT_NE(peer.status().message().find("libdnnl-dev"), std::string::npos);
}

#endif  // DSCONV_HAVE_ONEDNN

}  // namespace
