// dsconv — depthwise, dilated (atrous) and separable 2-D convolution.
//
// The C++ API. Errors are values: every fallible call returns a Status (code + message naming the
// bad field and its value) or a Result<T>. Nothing here throws across the API.
//
// Data flow: ProblemDesc (plain fields the caller fills) -> Problem (validated once, output shape
// resolved) -> Plan (backend chosen once, workspace known) -> Plan::run(tensors, workspace, stream).
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "dsconv/dsconv.h"

namespace dsconv {

// ---------------------------------------------------------------------------------------------
// Status and Result
// ---------------------------------------------------------------------------------------------

enum class StatusCode : int {
  kSuccess = DSCONV_STATUS_SUCCESS,
  kInvalidArgument = DSCONV_STATUS_INVALID_ARGUMENT,        // a field of the problem or a call is bad
  kNotSupported = DSCONV_STATUS_NOT_SUPPORTED,              // valid, but the chosen backend cannot do it
  kBackendUnavailable = DSCONV_STATUS_BACKEND_UNAVAILABLE,  // backend not built in
  kNoDevice = DSCONV_STATUS_NO_DEVICE,                      // built in, but no usable CUDA device
  kInsufficientWorkspace = DSCONV_STATUS_INSUFFICIENT_WORKSPACE,
  kDeviceError = DSCONV_STATUS_DEVICE_ERROR,  // a CUDA / cuDNN call failed
  kIoError = DSCONV_STATUS_IO_ERROR,          // file could not be opened/read/written
  kFormatError = DSCONV_STATUS_FORMAT_ERROR,  // a file's content is malformed
  kInternalError = DSCONV_STATUS_INTERNAL_ERROR,
};

const char* to_string(StatusCode code);

class [[nodiscard]] Status {
 public:
  Status() = default;  // success
  Status(StatusCode code, std::string message) : code_(code), message_(std::move(message)) {}
  static Status ok() { return Status(); }

  bool is_ok() const { return code_ == StatusCode::kSuccess; }
  explicit operator bool() const { return is_ok(); }
  StatusCode code() const { return code_; }
  const std::string& message() const { return message_; }
  // "invalid argument: stride_h must be >= 1, got 0"
  std::string to_string() const;

 private:
  StatusCode code_ = StatusCode::kSuccess;
  std::string message_;
};

// A value or a Status. Accessing value() of an error Result is a programming error (asserts).
template <class T>
class [[nodiscard]] Result {
 public:
  Result(T value) : value_(std::move(value)), has_value_(true) {}  // NOLINT: implicit by design
  Result(Status status) : status_(std::move(status)) {}            // NOLINT: implicit by design
  bool is_ok() const { return has_value_; }
  explicit operator bool() const { return has_value_; }
  const Status& status() const { return status_; }
  T& value() & { return value_; }
  const T& value() const& { return value_; }
  T&& value() && { return std::move(value_); }
  T* operator->() { return &value_; }
  const T* operator->() const { return &value_; }
  T& operator*() & { return value_; }
  const T& operator*() const& { return value_; }

 private:
  T value_{};
  Status status_;
  bool has_value_ = false;
};

// ---------------------------------------------------------------------------------------------
// Problem description
// ---------------------------------------------------------------------------------------------

enum class Op { kDepthwise, kConv2d, kSeparable };
enum class Layout { kNHWC, kNCHW };
// kTF: depthwise [KH,KW,C,M], conv2d [KH,KW,C,O], pointwise [1,1,C*M,O].
// kOIHW (PyTorch/ONNX): depthwise [C*M,1,KH,KW], conv2d [O,C,KH,KW], pointwise [O,C*M,1,1].
enum class FilterLayout { kTF, kOIHW };
enum class DType { kF32, kF16, kBF16 };
enum class PaddingMode { kValid, kSame, kExplicit };
// The activation of the fused epilogue y = act(conv + bias + residual): relu6(x) = min(max(x,0),6),
// silu(x) = x·σ(x), hswish(x) = x·relu6(x+3)/6, gelu(x) = 0.5x(1+erf(x/√2)),
// gelu_tanh(x) = 0.5x(1+tanh(√(2/π)(x+0.044715x³))).
enum class Activation { kNone, kRelu, kRelu6, kSilu, kHswish, kGelu, kGeluTanh };
// Forward inference; the backward passes are reserved (Problem::create rejects them for now).
enum class Direction {
  kForward = DSCONV_DIRECTION_FORWARD,
  kBackwardData = DSCONV_DIRECTION_BACKWARD_DATA,
  kBackwardFilter = DSCONV_DIRECTION_BACKWARD_FILTER,
};

const char* to_string(Op v);
const char* to_string(Layout v);
const char* to_string(FilterLayout v);
const char* to_string(DType v);
const char* to_string(PaddingMode v);
const char* to_string(Activation v);
const char* to_string(Direction v);
size_t dtype_size(DType v);

// Parse the names printed by to_string (case-insensitive). Errors name the field.
Result<Op> parse_op(std::string_view s);
Result<Layout> parse_layout(std::string_view s);
Result<FilterLayout> parse_filter_layout(std::string_view s);
Result<DType> parse_dtype(std::string_view s);
Result<Activation> parse_activation(std::string_view s);
Result<Direction> parse_direction(std::string_view s);       // forward | backward_data | backward_filter
Result<PaddingMode> parse_padding_mode(std::string_view s);  // valid | same | explicit

// What the caller fills in. Plain data; nothing is checked until Problem::create.
struct ProblemDesc {
  Op op = Op::kDepthwise;
  int64_t batch = 1;     // N
  int64_t height = 1;    // H
  int64_t width = 1;     // W
  int64_t channels = 1;  // C (input channels)
  int64_t kernel_h = 1;  // KH
  int64_t kernel_w = 1;  // KW
  // depthwise and separable: channel multiplier M (depthwise output channels = C*M).
  // conv2d: must be 1.
  int64_t multiplier = 1;
  // conv2d and separable: output channels O. depthwise: 0 (derived as C*M) or equal to C*M.
  int64_t out_channels = 0;
  int64_t stride_h = 1, stride_w = 1;
  int64_t dilation_h = 1, dilation_w = 1;  // 1 = dense (TF/PyTorch/cuDNN convention)
  PaddingMode padding = PaddingMode::kValid;
  // Only read when padding == kExplicit.
  int64_t pad_top = 0, pad_bottom = 0, pad_left = 0, pad_right = 0;
  Layout layout = Layout::kNHWC;  // input and output
  FilterLayout filter_layout = FilterLayout::kTF;
  DType dtype = DType::kF32;  // storage type of every tensor (input, filters, bias, output)
  bool has_bias = false;      // bias has out_channels() elements
  Activation activation = Activation::kNone;
  Direction direction = Direction::kForward;
  // A residual input of the output's shape, layout and dtype (a skip connection, cuDNN's z), added
  // before the activation: y = act(conv + bias + residual). It may be the output itself (in place).
  bool has_residual = false;
};

// The tensor argument slots of a run (oneDNN's DNNL_ARG_* idea): a run passes its tensors by slot, so a
// backward pass or a new epilogue input needs a slot, not another signature. See TensorArgs.
enum class Arg {
  kInput = DSCONV_ARG_INPUT,
  kFilter = DSCONV_ARG_FILTER,        // the depthwise filter for separable
  kPointwise = DSCONV_ARG_POINTWISE,  // separable only
  kBias = DSCONV_ARG_BIAS,
  kResidual = DSCONV_ARG_RESIDUAL,  // when the problem has one: added before the activation
  kOutput = DSCONV_ARG_OUTPUT,
  kDiffOutput = DSCONV_ARG_DIFF_OUTPUT,  // reserved for the backward passes
  kDiffInput = DSCONV_ARG_DIFF_INPUT,
  kDiffFilter = DSCONV_ARG_DIFF_FILTER,
};
constexpr int kArgCount = DSCONV_ARG_COUNT;
const char* to_string(Arg v);  // "input", "filter", ...
// How a problem uses a slot.
enum class ArgUse { kUnused, kRead, kWritten };

// A validated problem: every field checked, padding resolved to explicit amounts, output shape known.
// Immutable and cheap to copy.
class Problem {
 public:
  Problem() = default;
  static Result<Problem> create(const ProblemDesc& desc);
  // Parses the one-line descriptor printed by descriptor().
  static Result<Problem> parse(std::string_view descriptor);

  const ProblemDesc& desc() const { return desc_; }
  Op op() const { return desc_.op; }
  Direction direction() const { return desc_.direction; }
  DType dtype() const { return desc_.dtype; }
  Layout layout() const { return desc_.layout; }
  FilterLayout filter_layout() const { return desc_.filter_layout; }
  int64_t n() const { return desc_.batch; }
  int64_t h() const { return desc_.height; }
  int64_t w() const { return desc_.width; }
  int64_t c() const { return desc_.channels; }
  int64_t kh() const { return desc_.kernel_h; }
  int64_t kw() const { return desc_.kernel_w; }
  int64_t m() const { return desc_.multiplier; }
  int64_t stride_h() const { return desc_.stride_h; }
  int64_t stride_w() const { return desc_.stride_w; }
  int64_t dilation_h() const { return desc_.dilation_h; }
  int64_t dilation_w() const { return desc_.dilation_w; }
  // Resolved padding (for SAME: TF's rule, the odd pixel after).
  int64_t pad_top() const { return pad_top_; }
  int64_t pad_bottom() const { return pad_bottom_; }
  int64_t pad_left() const { return pad_left_; }
  int64_t pad_right() const { return pad_right_; }
  int64_t out_h() const { return out_h_; }
  int64_t out_w() const { return out_w_; }
  // Channels of the depthwise stage's output: C*M (depthwise, separable); C for conv2d.
  int64_t mid_channels() const;
  // Channels of the final output: C*M (depthwise), O (conv2d, separable).
  int64_t out_channels() const;
  bool has_bias() const { return desc_.has_bias; }
  bool has_residual() const { return desc_.has_residual; }
  Activation activation() const { return desc_.activation; }

  // Shapes in the problem's own layouts (input/output per layout(), filters per filter_layout()).
  std::vector<int64_t> input_shape() const;
  std::vector<int64_t> filter_shape() const;     // depthwise filter for separable
  std::vector<int64_t> pointwise_shape() const;  // empty unless separable
  std::vector<int64_t> bias_shape() const;       // empty unless has_bias
  std::vector<int64_t> output_shape() const;
  int64_t input_elements() const;
  int64_t filter_elements() const;
  int64_t pointwise_elements() const;  // 0 unless separable
  int64_t bias_elements() const;       // 0 unless has_bias
  int64_t output_elements() const;
  // How this problem uses each argument slot, and the shape and element count of a used slot (the
  // shapes above; empty and 0 for an unused slot).
  ArgUse arg_use(Arg slot) const;
  std::vector<int64_t> arg_shape(Arg slot) const;
  int64_t arg_elements(Arg slot) const;

  // Multiply-adds x2 of the convolution (epilogue not counted).
  double flops() const;
  // Bytes that must move at least once: each input read once + output written once.
  double min_bytes() const;

  // One line that Problem::parse() turns back into an equal problem, e.g.
  // "depthwise n1 h112 w112 c32 k3x3 m1 s1x1 d1x1 pSAME nhwc tf f32"
  std::string descriptor() const;

  friend bool operator==(const Problem& a, const Problem& b) { return a.descriptor() == b.descriptor(); }
  friend bool operator!=(const Problem& a, const Problem& b) { return !(a == b); }

 private:
  ProblemDesc desc_;
  int64_t pad_top_ = 0, pad_bottom_ = 0, pad_left_ = 0, pad_right_ = 0;
  int64_t out_h_ = 0, out_w_ = 0;
};

// ---------------------------------------------------------------------------------------------
// Plan and dispatch
// ---------------------------------------------------------------------------------------------

// Where a plan's tensors and workspace must live.
enum class MemorySpace { kHost, kDevice };

// The caller's tensors of a forward run, in the problem's layouts and dtype. pointwise only for
// separable, bias only when the problem has one (otherwise must be null). The fixed form of TensorArgs.
struct Tensors {
  const void* input = nullptr;
  const void* filter = nullptr;
  const void* pointwise = nullptr;
  const void* bias = nullptr;
  void* output = nullptr;
};

// The tensors of a run by argument slot: TensorArgs().set(Arg::kInput, x).set(Arg::kOutput, y)...
// A slot not set is null. Plan::run checks every slot against Problem::arg_use.
class TensorArgs {
 public:
  TensorArgs() = default;
  TensorArgs(const Tensors& t);  // NOLINT: implicit, the forward struct maps onto its slots
  TensorArgs& set(Arg slot, const void* data);
  const void* get(Arg slot) const;
  // A slot the run writes (the output): the same pointer, writable.
  void* get_mutable(Arg slot) const;

  const void* input() const { return get(Arg::kInput); }
  const void* filter() const { return get(Arg::kFilter); }
  const void* pointwise() const { return get(Arg::kPointwise); }
  const void* bias() const { return get(Arg::kBias); }
  void* output() const { return get_mutable(Arg::kOutput); }

 private:
  std::array<const void*, kArgCount> data_{};
};

struct PlanOptions {
  // Implementations whose name starts with one of these prefixes are not considered
  // (benchdnn's --skip-impl); e.g. {"ref"} makes a test fail rather than fall back to a reference.
  std::vector<std::string> skip_implementations;
  // When not empty, only implementations whose name starts with one of these prefixes are considered
  // (benchdnn's --impl); e.g. {"dw_fwd_nhwc_generic"}. skip_implementations applies on top.
  std::vector<std::string> only_implementations;
  // "auto": time every device backend that accepts the problem at plan time and keep the fastest,
  // cached per problem and device (also on when the environment sets DSCONV_AUTOTUNE=1). Without it,
  // "auto" follows the measured rule compiled in from bench/data/auto_rule.json. Backends that can time
  // their own algorithms do so too (cudnn: cudnnFindConvolutionForwardAlgorithm instead of heuristics).
  bool autotune = false;
  // Only implementations whose output is bitwise the same on every run with the same inputs (benchdnn's
  // deterministic mode): an implementation that may differ (cuDNN algorithms reported as
  // CUDNN_NON_DETERMINISTIC) is passed over with the reason, and "auto" does not choose by timing
  // (autotune is ignored, so the same problem gets the same implementation every time).
  bool deterministic = false;
  // f32 problems may run on TF32 tensor cores (sm_80+): inputs rounded to 10 mantissa bits before each
  // product, accumulation in f32 (PyTorch's allow_tf32, cuDNN's tensor-op math for f32). Faster and less
  // precise: about 1e-3 relative to the sum of |products| instead of f32's 1e-7. Off by default; the
  // implementations that use it say "tf32" in their name. f16/bf16 are unaffected.
  bool allow_tf32 = false;
};

namespace detail {
class Impl;
}

// A backend's verdict on one implementation, kept for explain().
struct Rejection {
  std::string backend;
  std::string implementation;  // may be empty when the whole backend declined
  std::string reason;
};

class Plan {
 public:
  Plan();
  ~Plan();
  Plan(Plan&&) noexcept;
  Plan& operator=(Plan&&) noexcept;
  Plan(const Plan&) = delete;
  Plan& operator=(const Plan&) = delete;

  // backend: "auto", "cpu-ref", "cpu", "cuda", "cudnn". Anything but "auto" either gives that
  // backend or an error saying why not; never a silent fallback.
  static Result<Plan> create(const Problem& problem, std::string_view backend = "auto",
                             const PlanOptions& options = {});

  const Problem& problem() const;
  const std::string& backend() const;         // e.g. "cpu-ref"
  const std::string& implementation() const;  // e.g. "ref_direct_f64acc"
  MemorySpace memory_space() const;
  size_t workspace_bytes() const;
  // Why every other candidate was not chosen, in the order they were considered.
  const std::vector<Rejection>& rejections() const;
  // Multi-line human-readable account: chosen backend/implementation, rejections.
  std::string explain() const;

  // Enqueue the computation. stream is a cudaStream_t for device backends, passed through as given
  // (the library itself never picks the default stream); ignored by host backends, which finish
  // before returning. Never allocates, never synchronizes: safe inside CUDA graph capture.
  // workspace must hold workspace_bytes() (may be null when that is 0).
  // Safe to call from many threads on one Plan with different tensors.
  // stream == nullptr is the legacy default stream of the current device's context; a caller built with
  // --default-stream per-thread passes cudaStreamPerThread to mean its per-thread stream.
  Status run(const TensorArgs& args, void* workspace, size_t workspace_size, void* stream = nullptr) const;
  Status run(const Tensors& tensors, void* workspace, size_t workspace_size, void* stream = nullptr) const;

 private:
  struct State;
  std::unique_ptr<State> state_;
};

// Names of the backends compiled into this library, in dispatch order ("cuda", "cudnn", "cpu-ref").
std::vector<std::string> built_backends();
// Every name Plan::create accepts: "auto" and each backend the library knows, built or not
// ("auto", "cuda", "cudnn", "cpu", "cpu-ref").
std::vector<std::string> known_backends();
// Whether a built backend can run now (e.g. "cuda" without a device: false, reason in *why).
bool backend_available(std::string_view backend, std::string* why = nullptr);

// Library version "MAJOR.MINOR.PATCH".
const char* version();

}  // namespace dsconv
