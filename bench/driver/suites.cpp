// The built-in suites. Shapes are those the networks run at (224x224 input for the classifiers;
// DeepLab at 513x513 input: 33x33 features at output stride 16, 65x65 at output stride 8). Each
// distinct layer shape appears once, named after the first block that has it.
#include "bench/driver/suites.hpp"

#include <sstream>

#include "bench/driver/json_writer.hpp"

namespace dsconv::driver {

namespace {

// Depthwise, TF SAME padding, multiplier 1: what these networks use.
SuiteLayer dw(std::string name, int64_t hw, int64_t c, int64_t k, int64_t stride, int64_t dilation = 1) {
  ProblemDesc d;
  d.op = Op::kDepthwise;
  d.height = d.width = hw;
  d.channels = c;
  d.kernel_h = d.kernel_w = k;
  d.stride_h = d.stride_w = stride;
  d.dilation_h = d.dilation_w = dilation;
  d.padding = PaddingMode::kSame;
  return {std::move(name), d};
}

// Dense atrous 3x3 (DeepLab's ASPP branch).
SuiteLayer atrous(std::string name, int64_t hw, int64_t c, int64_t o, int64_t rate) {
  ProblemDesc d;
  d.op = Op::kConv2d;
  d.height = d.width = hw;
  d.channels = c;
  d.out_channels = o;
  d.kernel_h = d.kernel_w = 3;
  d.dilation_h = d.dilation_w = rate;
  d.padding = PaddingMode::kSame;
  return {std::move(name), d};
}

// Atrous depthwise 3x3 followed by 1x1 (DeepLabv3+'s separable ASPP branch).
SuiteLayer atrous_separable(std::string name, int64_t hw, int64_t c, int64_t o, int64_t rate) {
  SuiteLayer l = atrous(std::move(name), hw, c, o, rate);
  l.desc.op = Op::kSeparable;
  return l;
}

std::vector<Suite> make_suites() {
  std::vector<Suite> s;
  // clang-format off
  s.push_back({"quick", "four MobileNetV2 layers, the set `dsconv` runs with no arguments", {
      dw("b1_dw3x3", 112, 32, 3, 1),
      dw("b3_0_dw3x3_s2", 56, 144, 3, 2),
      dw("b5_1_dw3x3", 14, 576, 3, 1),
      dw("b6_1_dw3x3", 7, 960, 3, 1)}});
  // Inverted residual blocks (expansion 6): each distinct depthwise shape.
  s.push_back({"mobilenet_v2", "MobileNetV2 224x224: every depthwise 3x3 shape", {
      dw("b1_dw3x3", 112, 32, 3, 1),
      dw("b2_0_dw3x3_s2", 112, 96, 3, 2),
      dw("b2_1_dw3x3", 56, 144, 3, 1),
      dw("b3_0_dw3x3_s2", 56, 144, 3, 2),
      dw("b3_1_dw3x3", 28, 192, 3, 1),
      dw("b4_0_dw3x3_s2", 28, 192, 3, 2),
      dw("b4_1_dw3x3", 14, 384, 3, 1),
      dw("b5_1_dw3x3", 14, 576, 3, 1),
      dw("b6_0_dw3x3_s2", 14, 576, 3, 2),
      dw("b6_1_dw3x3", 7, 960, 3, 1)}});
  s.push_back({"efficientnet_b0", "EfficientNet-B0 224x224: MBConv depthwise 3x3 and 5x5", {
      dw("s1_dw3x3", 112, 32, 3, 1),
      dw("s2_0_dw3x3_s2", 112, 96, 3, 2),
      dw("s2_1_dw3x3", 56, 144, 3, 1),
      dw("s3_0_dw5x5_s2", 56, 144, 5, 2),
      dw("s3_1_dw5x5", 28, 240, 5, 1),
      dw("s4_0_dw3x3_s2", 28, 240, 3, 2),
      dw("s4_1_dw3x3", 14, 480, 3, 1),
      dw("s5_0_dw5x5", 14, 480, 5, 1),
      dw("s5_1_dw5x5", 14, 672, 5, 1),
      dw("s6_0_dw5x5_s2", 14, 672, 5, 2),
      dw("s6_1_dw5x5", 7, 1152, 5, 1),
      dw("s7_0_dw3x3", 7, 1152, 3, 1)}});
  // Large variant. The segmentation form (LR-ASPP) keeps the last stage at 14x14 with stride 1 and
  // dilation 2 instead of stride 2: the dilated 5x5 layers.
  s.push_back({"mobilenet_v3", "MobileNetV3-Large 224x224, plus its dilated 5x5 d=2 segmentation tail", {
      dw("bn1_dw3x3", 112, 16, 3, 1),
      dw("bn2_dw3x3_s2", 112, 64, 3, 2),
      dw("bn3_dw3x3", 56, 72, 3, 1),
      dw("bn4_dw5x5_s2", 56, 72, 5, 2),
      dw("bn5_dw5x5", 28, 120, 5, 1),
      dw("bn7_dw3x3_s2", 28, 240, 3, 2),
      dw("bn8_dw3x3", 14, 200, 3, 1),
      dw("bn9_dw3x3", 14, 184, 3, 1),
      dw("bn11_dw3x3", 14, 480, 3, 1),
      dw("bn12_dw3x3", 14, 672, 3, 1),
      dw("bn13_dw5x5_s2", 14, 672, 5, 2),
      dw("bn14_dw5x5", 7, 960, 5, 1),
      dw("bn13_dw5x5_d2", 14, 672, 5, 1, 2),
      dw("bn14_dw5x5_d2", 14, 960, 5, 1, 2)}});
  s.push_back({"convnext", "ConvNeXt-T 224x224: depthwise 7x7 of each stage", {
      dw("stage1_dw7x7", 56, 96, 7, 1),
      dw("stage2_dw7x7", 28, 192, 7, 1),
      dw("stage3_dw7x7", 14, 384, 7, 1),
      dw("stage4_dw7x7", 7, 768, 7, 1)}});
  s.push_back({"replknet", "RepLKNet-31B 224x224: very large depthwise kernels 31/29/27/13", {
      dw("stage1_dw31x31", 56, 128, 31, 1),
      dw("stage2_dw29x29", 28, 256, 29, 1),
      dw("stage3_dw27x27", 14, 512, 27, 1),
      dw("stage4_dw13x13", 7, 1024, 13, 1)}});
  s.push_back({"deeplab_aspp", "DeepLabv3 ASPP: dense atrous 3x3 2048->256, rates 6/12/18, at 33x33 and 65x65", {
      atrous("os16_aspp_r6", 33, 2048, 256, 6),
      atrous("os16_aspp_r12", 33, 2048, 256, 12),
      atrous("os16_aspp_r18", 33, 2048, 256, 18),
      atrous("os8_aspp_r6", 65, 2048, 256, 6),
      atrous("os8_aspp_r12", 65, 2048, 256, 12),
      atrous("os8_aspp_r18", 65, 2048, 256, 18)}});
  s.push_back({"deeplab_separable", "DeepLabv3+ separable ASPP: atrous depthwise 3x3 on 33x33x2048 + 1x1 to 256", {
      atrous_separable("os16_sep_aspp_r6", 33, 2048, 256, 6),
      atrous_separable("os16_sep_aspp_r12", 33, 2048, 256, 12),
      atrous_separable("os16_sep_aspp_r18", 33, 2048, 256, 18)}});
  // clang-format on
  return s;
}

}  // namespace

const std::vector<Suite>& builtin_suites() {
  static const std::vector<Suite> suites = make_suites();
  return suites;
}

const Suite* find_suite(std::string_view name) {
  for (const Suite& s : builtin_suites())
    if (s.name == name) return &s;
  return nullptr;
}

std::string suite_names() {
  std::string r;
  for (const Suite& s : builtin_suites()) r += (r.empty() ? "" : ", ") + s.name;
  return r;
}

Result<std::vector<SuiteProblem>> suites_problems(const std::vector<std::string>& names, const LayerAdjust& adjust) {
  std::vector<std::string> expanded;
  for (const std::string& name : names) {
    if (name != "all") {
      expanded.push_back(name);
      continue;
    }
    for (const Suite& s : builtin_suites())
      if (s.name != "quick") expanded.push_back(s.name);
  }
  std::vector<SuiteProblem> out;
  for (const std::string& name : expanded) {
    const Suite* s = find_suite(name);
    if (s == nullptr)
      return Status(StatusCode::kInvalidArgument, "no suite '" + name + "' (suites: " + suite_names() + ")");
    Result<std::vector<SuiteProblem>> ps = suite_problems(*s, adjust);
    if (!ps) return ps.status();
    out.insert(out.end(), ps->begin(), ps->end());
  }
  return out;
}

LayerAdjust every_layer_adjust(std::function<std::string(ProblemDesc*)> apply_flags) {
  return [apply_flags = std::move(apply_flags)](ProblemDesc* d) {
    ProblemDesc copy = *d;
    if (std::string e = apply_flags(&copy); !e.empty()) return e;
    d->batch = copy.batch;
    d->dtype = copy.dtype;
    d->layout = copy.layout;
    d->filter_layout = copy.filter_layout;
    d->has_bias = copy.has_bias;
    d->has_residual = copy.has_residual;
    d->activation = copy.activation;
    return std::string();
  };
}

Result<std::vector<SuiteProblem>> suite_problems(const Suite& suite, const LayerAdjust& adjust) {
  std::vector<SuiteProblem> out;
  out.reserve(suite.layers.size());
  for (const SuiteLayer& layer : suite.layers) {
    ProblemDesc d = layer.desc;
    if (adjust)
      if (std::string e = adjust(&d); !e.empty())
        return Status(StatusCode::kInvalidArgument, suite.name + "/" + layer.name + ": " + e);
    Result<Problem> p = Problem::create(d);
    if (!p) return Status(p.status().code(), suite.name + "/" + layer.name + ": " + p.status().message());
    out.push_back({suite.name, layer.name, std::move(*p)});
  }
  return out;
}

std::string dump_json(const std::vector<SuiteProblem>& problems) {
  Json list = Json::array();
  for (const SuiteProblem& sp : problems) {
    const Problem& p = sp.problem;
    list.push_back({{"suite", sp.suite},
                    {"layer", sp.layer},
                    {"problem", p.descriptor()},
                    {"op", to_string(p.op())},
                    {"n", p.n()},
                    {"h", p.h()},
                    {"w", p.w()},
                    {"c", p.c()},
                    {"kh", p.kh()},
                    {"kw", p.kw()},
                    {"multiplier", p.m()},
                    {"out_channels", p.out_channels()},
                    {"stride_h", p.stride_h()},
                    {"stride_w", p.stride_w()},
                    {"dilation_h", p.dilation_h()},
                    {"dilation_w", p.dilation_w()},
                    {"padding", to_string(p.desc().padding)},
                    {"pad_top", p.pad_top()},
                    {"pad_bottom", p.pad_bottom()},
                    {"pad_left", p.pad_left()},
                    {"pad_right", p.pad_right()},
                    {"out_h", p.out_h()},
                    {"out_w", p.out_w()},
                    {"layout", to_string(p.layout())},
                    {"filter_layout", to_string(p.filter_layout())},
                    {"dtype", to_string(p.dtype())},
                    {"bias", p.has_bias()},
                    {"activation", to_string(p.activation())},
                    {"flops", json_number(p.flops())},
                    {"min_bytes", json_number(p.min_bytes())}});
  }
  std::ostringstream os;
  write_json_lines(os, list, 1);
  os << '\n';
  return os.str();
}

}  // namespace dsconv::driver
