// The problem type: the one place that checks a convolution, resolves its padding and computes its
// output shape. Every backend relies on what is checked here and checks nothing again.
#include <algorithm>
#include <cctype>
#include <cstdio>
#include <limits>
#include <string>
#include <vector>

#include "dsconv/dsconv.hpp"

namespace dsconv {

namespace {

Status invalid(const std::string& msg) { return Status(StatusCode::kInvalidArgument, msg); }

std::string lower(std::string_view s) {
  std::string r(s);
  for (char& ch : r) ch = static_cast<char>(std::tolower(static_cast<unsigned char>(ch)));
  return r;
}

// a*b and a+b on int64 with overflow detection.
bool mul_ok(int64_t a, int64_t b, int64_t* r) { return !__builtin_mul_overflow(a, b, r); }
bool add_ok(int64_t a, int64_t b, int64_t* r) { return !__builtin_add_overflow(a, b, r); }

// For a >= 0, b >= 1; written without a + b - 1, which overflows for sizes near the int64 limit.
int64_t ceil_div(int64_t a, int64_t b) { return a / b + (a % b != 0 ? 1 : 0); }

int64_t product(const std::vector<int64_t>& v) {
  int64_t p = 1;
  for (int64_t x : v) p *= x;
  return p;
}

}  // namespace

// ---------------------------------------------------------------------------------------------
// Enum names
// ---------------------------------------------------------------------------------------------

const char* to_string(Op v) {
  switch (v) {
    case Op::kDepthwise:
      return "depthwise";
    case Op::kConv2d:
      return "conv2d";
    case Op::kSeparable:
      return "separable";
  }
  return "?";
}
const char* to_string(Layout v) { return v == Layout::kNHWC ? "nhwc" : v == Layout::kNCHW ? "nchw" : "?"; }
const char* to_string(FilterLayout v) {
  return v == FilterLayout::kTF ? "tf" : v == FilterLayout::kOIHW ? "oihw" : "?";
}
const char* to_string(DType v) {
  switch (v) {
    case DType::kF32:
      return "f32";
    case DType::kF16:
      return "f16";
    case DType::kBF16:
      return "bf16";
  }
  return "?";
}
const char* to_string(PaddingMode v) {
  switch (v) {
    case PaddingMode::kValid:
      return "valid";
    case PaddingMode::kSame:
      return "same";
    case PaddingMode::kExplicit:
      return "explicit";
  }
  return "?";
}
const char* to_string(Activation v) {
  switch (v) {
    case Activation::kNone:
      return "none";
    case Activation::kRelu:
      return "relu";
    case Activation::kRelu6:
      return "relu6";
    case Activation::kSilu:
      return "silu";
    case Activation::kHswish:
      return "hswish";
    case Activation::kGelu:
      return "gelu";
    case Activation::kGeluTanh:
      return "gelu_tanh";
  }
  return "?";
}
const char* to_string(Direction v) {
  switch (v) {
    case Direction::kForward:
      return "forward";
    case Direction::kBackwardData:
      return "backward_data";
    case Direction::kBackwardFilter:
      return "backward_filter";
  }
  return "?";
}
const char* to_string(Arg v) {
  switch (v) {
    case Arg::kInput:
      return "input";
    case Arg::kFilter:
      return "filter";
    case Arg::kPointwise:
      return "pointwise";
    case Arg::kBias:
      return "bias";
    case Arg::kResidual:
      return "residual";
    case Arg::kOutput:
      return "output";
    case Arg::kDiffOutput:
      return "diff_output";
    case Arg::kDiffInput:
      return "diff_input";
    case Arg::kDiffFilter:
      return "diff_filter";
  }
  return "?";
}
size_t dtype_size(DType v) { return v == DType::kF32 ? 4 : 2; }

Result<Op> parse_op(std::string_view s) {
  const std::string l = lower(s);
  if (l == "depthwise") return Op::kDepthwise;
  if (l == "conv2d") return Op::kConv2d;
  if (l == "separable") return Op::kSeparable;
  return invalid("op must be depthwise, conv2d or separable; got '" + std::string(s) + "'");
}
Result<Layout> parse_layout(std::string_view s) {
  const std::string l = lower(s);
  if (l == "nhwc") return Layout::kNHWC;
  if (l == "nchw") return Layout::kNCHW;
  return invalid("layout must be NHWC or NCHW; got '" + std::string(s) + "'");
}
Result<FilterLayout> parse_filter_layout(std::string_view s) {
  const std::string l = lower(s);
  if (l == "tf" || l == "hwcm" || l == "hwio") return FilterLayout::kTF;
  if (l == "oihw") return FilterLayout::kOIHW;
  return invalid("filter layout must be tf or oihw; got '" + std::string(s) + "'");
}
Result<DType> parse_dtype(std::string_view s) {
  const std::string l = lower(s);
  if (l == "f32" || l == "float32") return DType::kF32;
  if (l == "f16" || l == "float16" || l == "half") return DType::kF16;
  if (l == "bf16" || l == "bfloat16") return DType::kBF16;
  return invalid("dtype must be f32, f16 or bf16; got '" + std::string(s) + "'");
}
Result<Activation> parse_activation(std::string_view s) {
  const std::string l = lower(s);
  if (l == "none") return Activation::kNone;
  if (l == "relu") return Activation::kRelu;
  if (l == "relu6") return Activation::kRelu6;
  if (l == "silu" || l == "swish") return Activation::kSilu;
  if (l == "hswish" || l == "hardswish" || l == "hard_swish") return Activation::kHswish;
  if (l == "gelu") return Activation::kGelu;
  if (l == "gelu_tanh" || l == "gelutanh") return Activation::kGeluTanh;
  return invalid("activation must be none, relu, relu6, silu, hswish, gelu or gelu_tanh; got '" + std::string(s) + "'");
}
Result<PaddingMode> parse_padding_mode(std::string_view s) {
  const std::string l = lower(s);
  for (PaddingMode m : {PaddingMode::kValid, PaddingMode::kSame, PaddingMode::kExplicit})
    if (l == to_string(m)) return m;
  return invalid("padding must be valid, same or explicit; got '" + std::string(s) + "'");
}
Result<Direction> parse_direction(std::string_view s) {
  const std::string l = lower(s);
  if (l == "forward" || l == "fwd") return Direction::kForward;
  if (l == "backward_data" || l == "bwd_data" || l == "bwdd") return Direction::kBackwardData;
  if (l == "backward_filter" || l == "bwd_filter" || l == "bwdw") return Direction::kBackwardFilter;
  return invalid("direction must be forward, backward_data or backward_filter; got '" + std::string(s) + "'");
}

// ---------------------------------------------------------------------------------------------
// Argument slots
// ---------------------------------------------------------------------------------------------

TensorArgs::TensorArgs(const Tensors& t) {
  set(Arg::kInput, t.input);
  set(Arg::kFilter, t.filter);
  set(Arg::kPointwise, t.pointwise);
  set(Arg::kBias, t.bias);
  set(Arg::kOutput, t.output);
}

TensorArgs& TensorArgs::set(Arg slot, const void* data) {
  const auto i = static_cast<size_t>(slot);
  if (i < data_.size()) data_[i] = data;
  return *this;
}

const void* TensorArgs::get(Arg slot) const {
  const auto i = static_cast<size_t>(slot);
  return i < data_.size() ? data_[i] : nullptr;
}

void* TensorArgs::get_mutable(Arg slot) const { return const_cast<void*>(get(slot)); }

// ---------------------------------------------------------------------------------------------
// Validation and shape inference
// ---------------------------------------------------------------------------------------------

namespace {

// Output size and padding of one spatial dimension. Returns an error naming `dim` ("height"/"width").
Status resolve_dim(const char* dim, int64_t in, int64_t k, int64_t s, int64_t d, PaddingMode mode, int64_t pad_lo_in,
                   int64_t pad_hi_in, int64_t* out, int64_t* pad_lo, int64_t* pad_hi) {
  int64_t span;  // effective kernel extent (k-1)*d + 1
  if (!mul_ok(k - 1, d, &span) || !add_ok(span, 1, &span))
    return invalid(std::string("dilated kernel ") + dim + " (kernel-1)*dilation+1 overflows int64");
  switch (mode) {
    case PaddingMode::kValid:
      *pad_lo = *pad_hi = 0;
      if (span > in)
        return invalid(std::string("VALID padding: dilated kernel ") + dim + " " + std::to_string(span) +
                       " exceeds input " + dim + " " + std::to_string(in));
      *out = (in - span) / s + 1;
      return Status::ok();
    case PaddingMode::kSame: {
      *out = ceil_div(in, s);
      int64_t total;  // (out-1)*s + span - in, clamped at 0
      if (!mul_ok(*out - 1, s, &total) || !add_ok(total, span, &total))
        return invalid(std::string("SAME padding ") + dim + " overflows int64");
      total = std::max<int64_t>(total - in, 0);
      *pad_lo = total / 2;
      *pad_hi = total - *pad_lo;
      return Status::ok();
    }
    case PaddingMode::kExplicit: {
      int64_t padded;
      if (!add_ok(in, pad_lo_in, &padded) || !add_ok(padded, pad_hi_in, &padded))
        return invalid(std::string("padded ") + dim + " overflows int64");
      if (span > padded)
        return invalid(std::string("dilated kernel ") + dim + " " + std::to_string(span) + " exceeds padded input " +
                       dim + " " + std::to_string(padded) + " (output " + dim + " would be 0)");
      *pad_lo = pad_lo_in;
      *pad_hi = pad_hi_in;
      *out = (padded - span) / s + 1;
      return Status::ok();
    }
  }
  return invalid("padding has an invalid value");
}

Status check_elements(const char* what, const std::vector<int64_t>& shape) {
  int64_t p = 1;
  for (int64_t x : shape)
    if (!mul_ok(p, x, &p)) return invalid(std::string(what) + " element count overflows int64");
  // Byte counts must fit too (4 bytes per element at most).
  if (!mul_ok(p, 4, &p)) return invalid(std::string(what) + " byte size overflows int64");
  return Status::ok();
}

}  // namespace

Result<Problem> Problem::create(const ProblemDesc& in) {
  ProblemDesc d = in;
  auto positive = [](const char* field, int64_t v) -> Status {
    if (v < 1) return invalid(std::string(field) + " must be >= 1, got " + std::to_string(v));
    return Status::ok();
  };
  // Enum fields may come from the C API as arbitrary integers.
  if (static_cast<unsigned>(d.op) > 2u)
    return invalid("op has invalid value " + std::to_string(static_cast<int>(d.op)));
  if (static_cast<unsigned>(d.layout) > 1u)
    return invalid("layout has invalid value " + std::to_string(static_cast<int>(d.layout)));
  if (static_cast<unsigned>(d.filter_layout) > 1u)
    return invalid("filter_layout has invalid value " + std::to_string(static_cast<int>(d.filter_layout)));
  if (static_cast<unsigned>(d.dtype) > 2u)
    return invalid("dtype has invalid value " + std::to_string(static_cast<int>(d.dtype)));
  if (static_cast<unsigned>(d.padding) > 2u)
    return invalid("padding has invalid value " + std::to_string(static_cast<int>(d.padding)));
  if (static_cast<unsigned>(d.activation) > static_cast<unsigned>(Activation::kGeluTanh))
    return invalid("activation has invalid value " + std::to_string(static_cast<int>(d.activation)));
  if (static_cast<unsigned>(d.direction) > 2u)
    return invalid("direction has invalid value " + std::to_string(static_cast<int>(d.direction)));
  if (d.direction != Direction::kForward)
    return invalid(std::string("direction ") + to_string(d.direction) +
                   " is reserved and not implemented yet; only forward is supported");

  for (auto [field, v] : {std::pair<const char*, int64_t>{"batch", d.batch},
                          {"height", d.height},
                          {"width", d.width},
                          {"channels", d.channels},
                          {"kernel_h", d.kernel_h},
                          {"kernel_w", d.kernel_w},
                          {"stride_h", d.stride_h},
                          {"stride_w", d.stride_w},
                          {"dilation_h", d.dilation_h},
                          {"dilation_w", d.dilation_w},
                          {"multiplier", d.multiplier}}) {
    if (Status s = positive(field, v); !s) return s;
  }
  int64_t cm;
  if (!mul_ok(d.channels, d.multiplier, &cm)) return invalid("channels*multiplier overflows int64");
  switch (d.op) {
    case Op::kDepthwise:
      if (d.out_channels == 0) d.out_channels = cm;
      if (d.out_channels != cm)
        return invalid("out_channels must be channels*multiplier = " + std::to_string(cm) +
                       " for depthwise (or 0 to derive it), got " + std::to_string(d.out_channels));
      break;
    case Op::kConv2d:
      if (d.multiplier != 1) return invalid("multiplier must be 1 for conv2d, got " + std::to_string(d.multiplier));
      if (Status s = positive("out_channels", d.out_channels); !s) return s;
      break;
    case Op::kSeparable:
      if (Status s = positive("out_channels", d.out_channels); !s) return s;
      break;
  }
  if (d.padding == PaddingMode::kExplicit) {
    for (auto [field, v] : {std::pair<const char*, int64_t>{"pad_top", d.pad_top},
                            {"pad_bottom", d.pad_bottom},
                            {"pad_left", d.pad_left},
                            {"pad_right", d.pad_right}}) {
      if (v < 0) return invalid(std::string(field) + " must be >= 0, got " + std::to_string(v));
    }
  } else {
    d.pad_top = d.pad_bottom = d.pad_left = d.pad_right = 0;  // not read; normalized so equal problems compare equal
  }

  Problem p;
  if (Status s = resolve_dim("height", d.height, d.kernel_h, d.stride_h, d.dilation_h, d.padding, d.pad_top,
                             d.pad_bottom, &p.out_h_, &p.pad_top_, &p.pad_bottom_);
      !s)
    return s;
  if (Status s = resolve_dim("width", d.width, d.kernel_w, d.stride_w, d.dilation_w, d.padding, d.pad_left, d.pad_right,
                             &p.out_w_, &p.pad_left_, &p.pad_right_);
      !s)
    return s;
  p.desc_ = d;
  if (Status s = check_elements("input", {d.batch, d.height, d.width, d.channels}); !s) return s;
  if (Status s = check_elements(
          "filter", {d.kernel_h, d.kernel_w, d.channels, d.op == Op::kConv2d ? d.out_channels : d.multiplier});
      !s)
    return s;
  if (d.op == Op::kSeparable) {
    if (Status s = check_elements("pointwise", {cm, d.out_channels}); !s) return s;
    if (Status s = check_elements("intermediate (depthwise output)", {d.batch, p.out_h_, p.out_w_, cm}); !s) return s;
  }
  if (Status s = check_elements("output", {d.batch, p.out_h_, p.out_w_, p.out_channels()}); !s) return s;
  return p;
}

int64_t Problem::mid_channels() const {
  return desc_.op == Op::kConv2d ? desc_.channels : desc_.channels * desc_.multiplier;
}
int64_t Problem::out_channels() const {
  return desc_.op == Op::kDepthwise ? desc_.channels * desc_.multiplier : desc_.out_channels;
}

std::vector<int64_t> Problem::input_shape() const {
  if (layout() == Layout::kNHWC) return {n(), h(), w(), c()};
  return {n(), c(), h(), w()};
}
std::vector<int64_t> Problem::output_shape() const {
  if (layout() == Layout::kNHWC) return {n(), out_h_, out_w_, out_channels()};
  return {n(), out_channels(), out_h_, out_w_};
}
std::vector<int64_t> Problem::filter_shape() const {
  const bool tf = filter_layout() == FilterLayout::kTF;
  if (op() == Op::kConv2d) {
    if (tf) return {kh(), kw(), c(), out_channels()};
    return {out_channels(), c(), kh(), kw()};
  }
  if (tf) return {kh(), kw(), c(), m()};
  return {c() * m(), 1, kh(), kw()};
}
std::vector<int64_t> Problem::pointwise_shape() const {
  if (op() != Op::kSeparable) return {};
  if (filter_layout() == FilterLayout::kTF) return {1, 1, mid_channels(), out_channels()};
  return {out_channels(), mid_channels(), 1, 1};
}
std::vector<int64_t> Problem::bias_shape() const {
  if (!has_bias()) return {};
  return {out_channels()};
}
ArgUse Problem::arg_use(Arg slot) const {
  switch (slot) {
    case Arg::kInput:
    case Arg::kFilter:
      return ArgUse::kRead;
    case Arg::kPointwise:
      return op() == Op::kSeparable ? ArgUse::kRead : ArgUse::kUnused;
    case Arg::kBias:
      return has_bias() ? ArgUse::kRead : ArgUse::kUnused;
    case Arg::kResidual:
      return has_residual() ? ArgUse::kRead : ArgUse::kUnused;
    case Arg::kOutput:
      return ArgUse::kWritten;
    case Arg::kDiffOutput:
    case Arg::kDiffInput:
    case Arg::kDiffFilter:
      return ArgUse::kUnused;
  }
  return ArgUse::kUnused;
}

std::vector<int64_t> Problem::arg_shape(Arg slot) const {
  if (arg_use(slot) == ArgUse::kUnused) return {};
  switch (slot) {
    case Arg::kInput:
      return input_shape();
    case Arg::kFilter:
      return filter_shape();
    case Arg::kPointwise:
      return pointwise_shape();
    case Arg::kBias:
      return bias_shape();
    case Arg::kResidual:
    case Arg::kOutput:
      return output_shape();
    default:
      return {};
  }
}

int64_t Problem::arg_elements(Arg slot) const {
  return arg_use(slot) == ArgUse::kUnused ? 0 : product(arg_shape(slot));
}

int64_t Problem::input_elements() const { return n() * h() * w() * c(); }
int64_t Problem::filter_elements() const { return product(filter_shape()); }
int64_t Problem::pointwise_elements() const { return op() == Op::kSeparable ? mid_channels() * out_channels() : 0; }
int64_t Problem::bias_elements() const { return has_bias() ? out_channels() : 0; }
int64_t Problem::output_elements() const { return n() * out_h_ * out_w_ * out_channels(); }

double Problem::flops() const {
  const double pixels = static_cast<double>(n()) * static_cast<double>(out_h_) * static_cast<double>(out_w_);
  const double taps = static_cast<double>(kh() * kw());
  switch (op()) {
    case Op::kDepthwise:
      return 2.0 * pixels * static_cast<double>(mid_channels()) * taps;
    case Op::kConv2d:
      return 2.0 * pixels * static_cast<double>(out_channels()) * static_cast<double>(c()) * taps;
    case Op::kSeparable:
      return 2.0 * pixels * static_cast<double>(mid_channels()) * (taps + static_cast<double>(out_channels()));
  }
  return 0.0;
}

double Problem::min_bytes() const {
  const double es = static_cast<double>(dtype_size(dtype()));
  return es * static_cast<double>(input_elements() + filter_elements() + pointwise_elements() + bias_elements() +
                                  output_elements());
}

// ---------------------------------------------------------------------------------------------
// Descriptor: tokens joined by '_', e.g.
//   depthwise_n1h112w112c32_k3x3_m1_s1x1_d1x1_psame_nhwc_tf_f32
//   conv2d_n1h33w33c2048_k3x3_o256_s1x1_d6x6_psame_nhwc_tf_f16_bias_relu
//   separable_n2h13w11c17_k5x5_m2_o8_s2x2_d1x1_pt1b2l0r3_nchw_oihw_bf16
// parse() accepts the tokens in any order; omitted ones take ProblemDesc's defaults.
// ---------------------------------------------------------------------------------------------

std::string Problem::descriptor() const {
  const ProblemDesc& d = desc_;
  std::string s = to_string(d.op);
  s += "_n" + std::to_string(d.batch) + "h" + std::to_string(d.height) + "w" + std::to_string(d.width) + "c" +
       std::to_string(d.channels);
  s += "_k" + std::to_string(d.kernel_h) + "x" + std::to_string(d.kernel_w);
  if (d.op != Op::kConv2d) s += "_m" + std::to_string(d.multiplier);
  if (d.op != Op::kDepthwise) s += "_o" + std::to_string(d.out_channels);
  s += "_s" + std::to_string(d.stride_h) + "x" + std::to_string(d.stride_w);
  s += "_d" + std::to_string(d.dilation_h) + "x" + std::to_string(d.dilation_w);
  if (d.padding == PaddingMode::kExplicit) {
    s += "_pt" + std::to_string(d.pad_top) + "b" + std::to_string(d.pad_bottom) + "l" + std::to_string(d.pad_left) +
         "r" + std::to_string(d.pad_right);
  } else {
    s += std::string("_p") + to_string(d.padding);
  }
  s += std::string("_") + to_string(d.layout) + "_" + to_string(d.filter_layout) + "_" + to_string(d.dtype);
  if (d.has_bias) s += "_bias";
  if (d.has_residual) s += "_res";
  // "gelu_tanh" would split into two tokens: descriptors spell it "gelutanh".
  if (d.activation == Activation::kGeluTanh) {
    s += "_gelutanh";
  } else if (d.activation != Activation::kNone) {
    s += std::string("_") + to_string(d.activation);
  }
  if (d.direction == Direction::kBackwardData) s += "_bwdd";  // forward, the default, is not spelled
  if (d.direction == Direction::kBackwardFilter) s += "_bwdw";
  return s;
}

namespace {

// The decimal digits s[begin, end) as an int64; false when there are none, when one is not a digit, or
// when the value exceeds INT64_MAX. Any int64 a Problem holds reads back, so every descriptor() parses.
bool read_int(const std::string& s, size_t begin, size_t end, int64_t* v) {
  if (begin >= end) return false;
  int64_t r = 0;
  for (size_t i = begin; i < end; ++i) {
    if (!std::isdigit(static_cast<unsigned char>(s[i]))) return false;
    if (__builtin_mul_overflow(r, int64_t{10}, &r) || __builtin_add_overflow(r, int64_t{s[i] - '0'}, &r)) return false;
  }
  *v = r;
  return true;
}

// Reads "<letter><int>" groups from s ("n1h112w112c32" with letters "nhwc"); every letter once, in order.
bool read_groups(const std::string& s, const char* letters, int64_t* out[]) {
  size_t pos = 0;
  for (size_t i = 0; letters[i] != '\0'; ++i) {
    if (pos >= s.size() || s[pos] != letters[i]) return false;
    ++pos;
    const size_t start = pos;
    while (pos < s.size() && std::isdigit(static_cast<unsigned char>(s[pos]))) ++pos;
    if (!read_int(s, start, pos, out[i])) return false;
  }
  return pos == s.size();
}

// "3x3" or "3" (square)
bool read_pair(const std::string& s, int64_t* a, int64_t* b) {
  const size_t x = s.find('x');
  if (x == std::string::npos) {
    if (!read_int(s, 0, s.size(), a)) return false;
    *b = *a;
    return true;
  }
  return read_int(s, 0, x, a) && read_int(s, x + 1, s.size(), b);
}

}  // namespace

Result<Problem> Problem::parse(std::string_view descriptor) {
  std::vector<std::string> tokens;
  {
    std::string cur;
    for (char ch : descriptor) {
      if (ch == '_' || ch == ' ') {
        if (!cur.empty()) tokens.push_back(lower(cur));
        cur.clear();
      } else {
        cur += ch;
      }
    }
    if (!cur.empty()) tokens.push_back(lower(cur));
  }
  if (tokens.empty()) return invalid("descriptor is empty");
  ProblemDesc d;
  Result<Op> op = parse_op(tokens[0]);
  if (!op) return invalid("descriptor must start with the op (depthwise, conv2d, separable); got '" + tokens[0] + "'");
  d.op = *op;
  bool have_sizes = false;
  for (size_t i = 1; i < tokens.size(); ++i) {
    const std::string& t = tokens[i];
    const std::string rest = t.substr(1);
    auto bad = [&](const char* what) {
      return invalid(std::string("descriptor token '") + t + "' is not a valid " + what);
    };
    if (t == "nhwc" || t == "nchw") {
      d.layout = *parse_layout(t);
    } else if (t == "tf" || t == "oihw") {
      d.filter_layout = *parse_filter_layout(t);
    } else if (t == "f32" || t == "f16" || t == "bf16") {
      d.dtype = *parse_dtype(t);
    } else if (t == "bias") {
      d.has_bias = true;
    } else if (t == "res" || t == "residual") {
      d.has_residual = true;
    } else if (t == "relu" || t == "relu6" || t == "none" || t == "silu" || t == "hswish" || t == "gelu" ||
               t == "gelutanh") {
      d.activation = *parse_activation(t);
    } else if (t == "fwd" || t == "bwdd" || t == "bwdw") {
      d.direction = *parse_direction(t);
    } else if (t == "pvalid") {
      d.padding = PaddingMode::kValid;
    } else if (t == "psame") {
      d.padding = PaddingMode::kSame;
    } else if (t.size() > 1 && t[0] == 'p' && t[1] == 't') {
      int64_t* outs[] = {&d.pad_top, &d.pad_bottom, &d.pad_left, &d.pad_right};
      if (!read_groups(rest, "tblr", outs)) return bad("explicit padding (pT_B_L_R as ptXbXlXrX)");
      d.padding = PaddingMode::kExplicit;
    } else if (t[0] == 'n') {
      int64_t* outs[] = {&d.batch, &d.height, &d.width, &d.channels};
      if (!read_groups(t, "nhwc", outs)) return bad("size group (nNhHwWcC)");
      have_sizes = true;
    } else if (t[0] == 'k') {
      if (!read_pair(rest, &d.kernel_h, &d.kernel_w)) return bad("kernel (kHxW)");
    } else if (t[0] == 's') {
      if (!read_pair(rest, &d.stride_h, &d.stride_w)) return bad("stride (sHxW)");
    } else if (t[0] == 'd') {
      if (!read_pair(rest, &d.dilation_h, &d.dilation_w)) return bad("dilation (dHxW)");
    } else if (t[0] == 'm') {
      int64_t a, b;
      if (!read_pair(rest, &a, &b) || a != b) return bad("multiplier (mM)");
      d.multiplier = a;
    } else if (t[0] == 'o') {
      int64_t a, b;
      if (!read_pair(rest, &a, &b) || a != b) return bad("output channel count (oO)");
      d.out_channels = a;
    } else {
      return invalid("descriptor token '" + t + "' is not recognized");
    }
  }
  if (!have_sizes) return invalid("descriptor lacks the size group nNhHwWcC");
  return create(d);
}

}  // namespace dsconv
