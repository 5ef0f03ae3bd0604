// The cudnn backend: depthwise as a grouped convolution, conv2d as a dense (dilated) one, separable as
// grouped + 1x1, through cuDNN 9's legacy convolution API (cudnnConvolutionForward and, for bias + relu,
// cudnnConvolutionBiasActivationForward). Everything that can be decided before run is decided at plan
// time: the mapping (geometry.hpp), the handle, the descriptors, the algorithm and the workspace size.
// run() only enqueues on the caller's stream.
//
// Thread safety: a Plan may be run from many threads at once. A cuDNN handle carries its stream, so the
// plan's handle is guarded by a mutex for the few microseconds of cudnnSetStream + enqueue.
#include <cudnn.h>

#include <algorithm>
#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <utility>
#include <vector>

#include "cuda/common/runtime.hpp"
#include "cuda/cudnn/geometry.hpp"
#include "cuda/cudnn/kernels.hpp"
#include "src/dispatch/backend.hpp"

namespace dsconv::cudnn {
namespace {

using detail::Offer;
using detail::OfferContext;
using detail::backend_names::kCudnn;

std::string cudnn_text(cudnnStatus_t s) {
  std::string t = cudnnGetErrorString(s);
  char detail[512] = {0};
  cudnnGetLastErrorString(detail, sizeof detail);
  if (detail[0] != '\0') t += std::string(" (") + detail + ")";
  return t;
}

// "cudnnSetTensor4dDescriptor(x_, ...)" -> "cudnnSetTensor4dDescriptor"
std::string call_name(const char* expr) {
  std::string s(expr);
  const size_t paren = s.find('(');
  return paren == std::string::npos ? s : s.substr(0, paren);
}

Status cudnn_failure(const char* expr, cudnnStatus_t s) {
  return Status(StatusCode::kDeviceError, call_name(expr) + " failed: " + cudnn_text(s));
}

#define DSCONV_CUDNN_TRY(call)                                                                           \
  do {                                                                                                   \
    const cudnnStatus_t dsconv_cudnn_status_ = (call);                                                   \
    if (dsconv_cudnn_status_ != CUDNN_STATUS_SUCCESS) return cudnn_failure(#call, dsconv_cudnn_status_); \
  } while (0)

// ---------------------------------------------------------------------------------------------
// Device check: cuDNN is never called before a device is known to exist.
// ---------------------------------------------------------------------------------------------

struct DeviceCheck {
  bool ok = false;
  std::string why;
};

DeviceCheck check_device() {
  if (std::string why; !cuda::device_present(&why)) return {false, why};
  const size_t version = cudnnGetVersion();
  if (version / 10000 != CUDNN_MAJOR) {
    return {false, "the cuDNN library loaded is version " + std::to_string(version) + " but dsconv was built against " +
                       std::to_string(CUDNN_VERSION) + " (major versions differ)"};
  }
  cudnnHandle_t h = nullptr;
  const cudnnStatus_t s = cudnnCreate(&h);
  if (s != CUDNN_STATUS_SUCCESS) return {false, "cudnnCreate failed: " + cudnn_text(s)};
  cudnnDestroy(h);
  return {true, ""};
}

const DeviceCheck& device_check() {
  static const DeviceCheck check = check_device();
  return check;
}

// ---------------------------------------------------------------------------------------------
// Owned cuDNN objects
// ---------------------------------------------------------------------------------------------

class Handle {
 public:
  Handle() = default;
  ~Handle() {
    if (h_ != nullptr) cudnnDestroy(h_);
  }
  Handle(const Handle&) = delete;
  Handle& operator=(const Handle&) = delete;
  Status create() {
    DSCONV_CUDNN_TRY(cudnnCreate(&h_));
    return Status::ok();
  }
  cudnnHandle_t get() const { return h_; }

 private:
  cudnnHandle_t h_ = nullptr;
};

// The descriptors and algorithm of one convolution.
struct Stage {
  cudnnTensorDescriptor_t x = nullptr, y = nullptr, bias = nullptr;
  cudnnFilterDescriptor_t w = nullptr;
  cudnnConvolutionDescriptor_t conv = nullptr;
  cudnnActivationDescriptor_t act = nullptr;
  cudnnConvolutionFwdAlgo_t algo = CUDNN_CONVOLUTION_FWD_ALGO_IMPLICIT_GEMM;
  size_t workspace = 0;
  bool fused = false;         // bias + relu inside cudnnConvolutionBiasActivationForward
  bool deterministic = true;  // cuDNN reports the algorithm as CUDNN_DETERMINISTIC

  Stage() = default;
  Stage(const Stage&) = delete;
  Stage& operator=(const Stage&) = delete;
  ~Stage() {
    if (x) cudnnDestroyTensorDescriptor(x);
    if (y) cudnnDestroyTensorDescriptor(y);
    if (bias) cudnnDestroyTensorDescriptor(bias);
    if (w) cudnnDestroyFilterDescriptor(w);
    if (conv) cudnnDestroyConvolutionDescriptor(conv);
    if (act) cudnnDestroyActivationDescriptor(act);
  }
};

const char* algo_name(cudnnConvolutionFwdAlgo_t a) {
  switch (a) {
    case CUDNN_CONVOLUTION_FWD_ALGO_IMPLICIT_GEMM:
      return "implicit_gemm";
    case CUDNN_CONVOLUTION_FWD_ALGO_IMPLICIT_PRECOMP_GEMM:
      return "implicit_precomp_gemm";
    case CUDNN_CONVOLUTION_FWD_ALGO_GEMM:
      return "gemm";
    case CUDNN_CONVOLUTION_FWD_ALGO_DIRECT:
      return "direct";
    case CUDNN_CONVOLUTION_FWD_ALGO_FFT:
      return "fft";
    case CUDNN_CONVOLUTION_FWD_ALGO_FFT_TILING:
      return "fft_tiling";
    case CUDNN_CONVOLUTION_FWD_ALGO_WINOGRAD:
      return "winograd";
    case CUDNN_CONVOLUTION_FWD_ALGO_WINOGRAD_NONFUSED:
      return "winograd_nonfused";
    default:
      return "algo";
  }
}

cudnnDataType_t data_type(DType t) {
  switch (t) {
    case DType::kF32:
      return CUDNN_DATA_FLOAT;
    case DType::kF16:
      return CUDNN_DATA_HALF;
    case DType::kBF16:
      return CUDNN_DATA_BFLOAT16;
  }
  return CUDNN_DATA_FLOAT;
}

// f32 runs with FMA math only: tensor-op math would round f32 inputs to TF32 and break f32's accuracy.
// f16/bf16 may use tensor cores; they accumulate in f32 (the compute type).
cudnnMathType_t math_for(DType t) { return t == DType::kF32 ? CUDNN_FMA_MATH : CUDNN_TENSOR_OP_MATH; }

Status describe(const ConvShape& cs, DType dtype, bool nhwc, bool fused, Stage* st) {
  const cudnnDataType_t dt = data_type(dtype);
  const cudnnTensorFormat_t fmt = nhwc ? CUDNN_TENSOR_NHWC : CUDNN_TENSOR_NCHW;
  DSCONV_CUDNN_TRY(cudnnCreateTensorDescriptor(&st->x));
  DSCONV_CUDNN_TRY(cudnnCreateTensorDescriptor(&st->y));
  DSCONV_CUDNN_TRY(cudnnCreateFilterDescriptor(&st->w));
  DSCONV_CUDNN_TRY(cudnnCreateConvolutionDescriptor(&st->conv));
  DSCONV_CUDNN_TRY(cudnnSetTensor4dDescriptor(st->x, fmt, dt, cs.n, cs.c, cs.h, cs.w));
  // Filter format NHWC means KRSC, NCHW means KCRS: the reorder in geometry.cpp produces exactly these.
  DSCONV_CUDNN_TRY(cudnnSetFilter4dDescriptor(st->w, dt, fmt, cs.k, cs.c_per_group, cs.r, cs.s));
  DSCONV_CUDNN_TRY(cudnnSetConvolution2dDescriptor(st->conv, cs.pad_h, cs.pad_w, cs.stride_h, cs.stride_w,
                                                   cs.dilation_h, cs.dilation_w, CUDNN_CROSS_CORRELATION,
                                                   CUDNN_DATA_FLOAT));
  DSCONV_CUDNN_TRY(cudnnSetConvolutionGroupCount(st->conv, cs.groups));
  DSCONV_CUDNN_TRY(cudnnSetConvolutionMathType(st->conv, math_for(dtype)));
  int on = 0, oc = 0, oh = 0, ow = 0;
  DSCONV_CUDNN_TRY(cudnnGetConvolution2dForwardOutputDim(st->conv, st->x, st->w, &on, &oc, &oh, &ow));
  if (on != cs.n || oc != cs.k || oh != cs.out_h || ow != cs.out_w) {
    return Status(StatusCode::kInternalError,
                  "cuDNN computes output [" + std::to_string(on) + "," + std::to_string(oc) + "," + std::to_string(oh) +
                      "," + std::to_string(ow) + "] but the problem expects [" + std::to_string(cs.n) + "," +
                      std::to_string(cs.k) + "," + std::to_string(cs.out_h) + "," + std::to_string(cs.out_w) + "]");
  }
  DSCONV_CUDNN_TRY(cudnnSetTensor4dDescriptor(st->y, fmt, dt, cs.n, cs.k, cs.out_h, cs.out_w));
  if (fused) {
    st->fused = true;
    DSCONV_CUDNN_TRY(cudnnCreateTensorDescriptor(&st->bias));
    DSCONV_CUDNN_TRY(cudnnSetTensor4dDescriptor(st->bias, fmt, dt, 1, cs.k, 1, 1));
    DSCONV_CUDNN_TRY(cudnnCreateActivationDescriptor(&st->act));
    DSCONV_CUDNN_TRY(cudnnSetActivationDescriptor(st->act, CUDNN_ACTIVATION_RELU, CUDNN_PROPAGATE_NAN, 0.0));
  }
  return Status::ok();
}

// Picks the stage's algorithm: cuDNN's heuristics (or, with autotune, cudnnFind's timings), in their
// order, first one whose workspace query succeeds, whose name the options allow (filter; null: any) and,
// for a deterministic plan, that cuDNN reports as deterministic (perf.determinism). name_of(algo) gives the
// implementation name that algorithm would produce.
template <class NameOf>
Status choose_algo(cudnnHandle_t h, DType dtype, bool autotune, bool deterministic, const OfferContext* filter,
                   NameOf name_of, Stage* st, std::vector<std::string>* notes) {
  cudnnConvolutionFwdAlgoPerf_t perf[CUDNN_CONVOLUTION_FWD_ALGO_COUNT];
  int returned = 0;
  if (autotune) {
    DSCONV_CUDNN_TRY(cudnnFindConvolutionForwardAlgorithm(h, st->x, st->w, st->conv, st->y,
                                                          CUDNN_CONVOLUTION_FWD_ALGO_COUNT, &returned, perf));
  } else {
    DSCONV_CUDNN_TRY(cudnnGetConvolutionForwardAlgorithm_v7(h, st->x, st->w, st->conv, st->y,
                                                            CUDNN_CONVOLUTION_FWD_ALGO_COUNT, &returned, perf));
  }
  for (int i = 0; i < returned; ++i) {
    const cudnnConvolutionFwdAlgo_t algo = perf[i].algo;
    if (perf[i].status != CUDNN_STATUS_SUCCESS) {
      notes->push_back(std::string(algo_name(algo)) + ": " + cudnnGetErrorString(perf[i].status));
      continue;
    }
    const std::string name = name_of(algo);
    if (std::string why; filter != nullptr && !filter->allows(name, &why)) {
      notes->push_back(name + ": " + why);
      continue;
    }
    const bool algo_deterministic = perf[i].determinism == CUDNN_DETERMINISTIC;
    if (deterministic && !algo_deterministic) {
      notes->push_back(std::string(algo_name(algo)) +
                       ": skipped by options (deterministic): cuDNN reports it as "
                       "nondeterministic");
      continue;
    }
    const cudnnMathType_t math = dtype == DType::kF32 ? CUDNN_FMA_MATH : perf[i].mathType;
    if (cudnnSetConvolutionMathType(st->conv, math) != CUDNN_STATUS_SUCCESS) continue;
    size_t bytes = 0;
    const cudnnStatus_t s = cudnnGetConvolutionForwardWorkspaceSize(h, st->x, st->w, st->conv, st->y, algo, &bytes);
    if (s != CUDNN_STATUS_SUCCESS) {
      notes->push_back(std::string(algo_name(algo)) + ": workspace query: " + cudnnGetErrorString(s));
      continue;
    }
    st->algo = algo;
    st->workspace = bytes;
    st->deterministic = algo_deterministic;
    return Status::ok();
  }
  std::string msg = std::string("cuDNN ") + (autotune ? "found" : "heuristics offer") + " no usable forward algorithm";
  if (!notes->empty()) {
    msg += " (";
    for (size_t i = 0; i < notes->size(); ++i) msg += (i ? "; " : "") + (*notes)[i];
    msg += ")";
  }
  return Status(StatusCode::kNotSupported, msg);
}

// ---------------------------------------------------------------------------------------------
// The implementation
// ---------------------------------------------------------------------------------------------

class CudnnImpl final : public detail::Impl {
 public:
  CudnnImpl(const Problem& p, Geometry g, int device) : p_(p), g_(std::move(g)), device_(device) {}

  const std::string& name() const override { return name_; }
  size_t workspace_bytes() const override { return workspace_bytes_; }
  std::string nondeterminism() const override {
    std::string why;
    for (const Stage* st : {first_.get(), second_.get()})
      if (st != nullptr && !st->deterministic)
        why += std::string(why.empty() ? "" : "; ") + "cuDNN algorithm " + algo_name(st->algo) + " is nondeterministic";
    return why;
  }

  Status run(const TensorArgs& args, void* workspace, size_t, void* stream_ptr) const override {
    const Tensors t{args.input(), args.filter(), args.pointwise(), args.bias(), args.output()};
    int device = -1;
    DSCONV_CUDA_TRY(cudaGetDevice(&device), "cudaGetDevice");
    if (device != device_) {
      return Status(StatusCode::kInvalidArgument, "the current CUDA device is " + std::to_string(device) +
                                                      " but this cudnn plan was made on device " +
                                                      std::to_string(device_));
    }
    const auto stream = static_cast<cudaStream_t>(stream_ptr);
    // The caller's workspace may be any address; regions are laid out from the next aligned one
    // (workspace_bytes() includes that slack).
    char* base = nullptr;
    if (workspace_bytes_ > 0) {
      const auto addr = reinterpret_cast<uintptr_t>(workspace);
      base = static_cast<char*>(workspace) + ((kWorkspaceAlignment - addr % kWorkspaceAlignment) % kWorkspaceAlignment);
    }
    const void* x = t.input;
    const void* w = t.filter;
    const void* pw = t.pointwise;
    if (g_.reorder_filter) {
      DSCONV_CUDA_TRY(launch_gather4d(t.filter, base + g_.filter.offset, g_.elem_bytes, g_.filter_gather, stream),
                      "filter reorder launch");
      w = base + g_.filter.offset;
    }
    if (g_.reorder_pointwise) {
      DSCONV_CUDA_TRY(
          launch_gather4d(t.pointwise, base + g_.pointwise_filter.offset, g_.elem_bytes, g_.pointwise_gather, stream),
          "pointwise filter reorder launch");
      pw = base + g_.pointwise_filter.offset;
    }
    if (g_.prepad) {
      DSCONV_CUDA_TRY(launch_pad4d(t.input, base + g_.padded_input.offset, g_.elem_bytes, g_.pad, stream),
                      "pre-pad launch");
      x = base + g_.padded_input.offset;
    }
    void* scratch = scratch_bytes_ > 0 ? base + g_.scratch_offset : nullptr;
    const void* residual = args.get(Arg::kResidual);
    // With a residual and the epilogue kernel, the convolution goes to the workspace first, so that a
    // residual that is the output itself is still intact when the epilogue adds it.
    void* conv_out = conv_out_offset_ > 0 ? base + conv_out_offset_ : t.output;
    {
      std::lock_guard<std::mutex> lock(mu_);
      DSCONV_CUDNN_TRY(cudnnSetStream(handle_->get(), stream));
      if (g_.separable) {
        void* mid = base + g_.mid.offset;
        if (Status s = enqueue(*first_, x, w, mid, nullptr, nullptr, scratch); !s) return s;
        if (Status s = enqueue(*second_, mid, pw, conv_out, t.bias, residual, scratch); !s) return s;
      } else {
        if (Status s = enqueue(*first_, x, w, conv_out, t.bias, residual, scratch); !s) return s;
      }
    }
    if (epilogue_kernel_) {
      DSCONV_CUDA_TRY(launch_bias_activation(conv_out, t.output, t.bias, residual, p_.dtype(), p_.activation(),
                                             p_.output_elements(), g_.out_channels, g_.epilogue_inner, stream),
                      "bias/activation epilogue launch");
    }
    return Status::ok();
  }

  // Builds the stages on `handle` (taken over on success). fused: bias + relu in cuDNN's fused call.
  Status build(std::unique_ptr<Handle> handle, bool fused, const OfferContext& ctx, std::vector<std::string>* notes) {
    handle_ = std::move(handle);
    const bool autotune = ctx.options.autotune;
    const bool deterministic = ctx.options.deterministic;
    const DType dt = p_.dtype();
    const bool nhwc = g_.nhwc;
    std::string stem = std::string("cudnn_") + (fused ? "fused_" : "") + to_string(p_.op()) + "_";
    const bool epilogue = !fused && (p_.has_bias() || p_.has_residual() || p_.activation() != Activation::kNone);
    const std::string tail = std::string(g_.prepad ? "_prepad" : "") + (epilogue ? "_epilogue" : "");
    first_ = std::make_unique<Stage>();
    if (Status s = describe(g_.first, dt, nhwc, fused && !g_.separable, first_.get()); !s) return s;
    if (g_.separable) {
      second_ = std::make_unique<Stage>();
      if (Status s = describe(g_.pointwise, dt, nhwc, fused, second_.get()); !s) return s;
      // The depthwise stage takes cuDNN's first choice; names (and skip prefixes) vary the pointwise one.
      if (Status s = choose_algo(
              handle_->get(), dt, autotune, deterministic, nullptr,
              [](cudnnConvolutionFwdAlgo_t) { return std::string(); }, first_.get(), notes);
          !s)
        return s;
      stem += std::string("dw-") + algo_name(first_->algo) + "_pw-";
      if (Status s = choose_algo(
              handle_->get(), dt, autotune, deterministic, &ctx,
              [&](cudnnConvolutionFwdAlgo_t a) { return stem + algo_name(a) + tail; }, second_.get(), notes);
          !s)
        return s;
      name_ = stem + algo_name(second_->algo) + tail;
    } else {
      if (Status s = choose_algo(
              handle_->get(), dt, autotune, deterministic, &ctx,
              [&](cudnnConvolutionFwdAlgo_t a) { return stem + algo_name(a) + tail; }, first_.get(), notes);
          !s)
        return s;
      name_ = stem + algo_name(first_->algo) + tail;
    }
    epilogue_kernel_ = epilogue;
    scratch_bytes_ = std::max(first_->workspace, second_ ? second_->workspace : size_t{0});
    size_t total = g_.scratch_offset + scratch_bytes_;
    if (epilogue && p_.has_residual()) {
      conv_out_offset_ = (total + kWorkspaceAlignment - 1) / kWorkspaceAlignment * kWorkspaceAlignment;
      if (conv_out_offset_ == 0) conv_out_offset_ = kWorkspaceAlignment;  // 0 means "no region"
      total = conv_out_offset_ + static_cast<size_t>(p_.output_elements()) * dtype_size(p_.dtype());
    }
    workspace_bytes_ = total == 0 ? 0 : total + kWorkspaceAlignment;  // + alignment slack, see run()
    return Status::ok();
  }

 private:
  // residual: cuDNN's z (y = act(conv + z + bias)) in the fused call; z may be y itself. Ignored otherwise
  // (the epilogue kernel adds it).
  Status enqueue(const Stage& st, const void* x, const void* w, void* y, const void* bias, const void* residual,
                 void* scratch) const {
    const float one = 1.0f, zero = 0.0f;  // float scaling factors for f32, f16 and bf16 data alike
    if (st.fused) {
      // Without a residual, z = y with alpha2 = 0: no side input (cuDNN does not read z when alpha2 is zero).
      const void* z = residual != nullptr ? residual : y;
      DSCONV_CUDNN_TRY(cudnnConvolutionBiasActivationForward(
          handle_->get(), &one, st.x, x, st.w, w, st.conv, st.algo, scratch, scratch_bytes_,
          residual != nullptr ? &one : &zero, st.y, z, st.bias, bias, st.act, st.y, y));
    } else {
      DSCONV_CUDNN_TRY(cudnnConvolutionForward(handle_->get(), &one, st.x, x, st.w, w, st.conv, st.algo, scratch,
                                               scratch_bytes_, &zero, st.y, y));
    }
    return Status::ok();
  }

  Problem p_;
  Geometry g_;
  int device_;
  std::string name_;
  std::unique_ptr<Handle> handle_;
  std::unique_ptr<Stage> first_, second_;
  bool epilogue_kernel_ = false;
  size_t scratch_bytes_ = 0;
  size_t conv_out_offset_ = 0;  // > 0: the convolution's output region before a residual epilogue
  size_t workspace_bytes_ = 0;
  mutable std::mutex mu_;  // guards handle_'s stream between cudnnSetStream and the enqueue
};

// ---------------------------------------------------------------------------------------------
// The offers: bias + relu fused into cuDNN's call first, then convolution + epilogue kernel.
// ---------------------------------------------------------------------------------------------

// What both offers check first: a usable device, the problem within cuDNN's limits, the dtype on this
// compute capability. Empty when the problem passes.
std::string precheck(const OfferContext& ctx, StatusCode* code) {
  const Problem& p = ctx.problem;
  *code = StatusCode::kNotSupported;
  if (const DeviceCheck& c = device_check(); !c.ok) {
    *code = StatusCode::kNoDevice;
    return c.why;
  }
  if (std::string r = static_rejection(p); !r.empty()) return r;
  const detail::DeviceInfo* d = ctx.device;
  const int cc = d != nullptr ? d->arch() : 0;
  const std::string on = d != nullptr ? d->name : std::string("this device");
  if (p.dtype() == DType::kBF16 && cc < 80)
    return "bf16 convolution in cuDNN needs compute capability >= 8.0; " + on + " has " + std::to_string(cc / 10) +
           "." + std::to_string(cc % 10);
  if (p.dtype() == DType::kF16 && cc < 53)
    return "f16 convolution in cuDNN needs compute capability >= 5.3; " + on + " has " + std::to_string(cc / 10) + "." +
           std::to_string(cc % 10);
  return "";
}

Offer make_offer(const OfferContext& ctx, bool fused) {
  const Problem& p = ctx.problem;
  const std::string stem = std::string(fused ? "cudnn_fused_" : "cudnn_") + to_string(p.op());
  StatusCode code;
  if (std::string r = precheck(ctx, &code); !r.empty()) return Offer::decline(stem, r, code);
  if (fused) {
    if (!p.has_bias()) return Offer::decline(stem, "cuDNN's fused call needs a bias; the problem has none");
    if (p.activation() != Activation::kRelu)
      return Offer::decline(stem, std::string("cuDNN's fused call supports relu (identity only with one algorithm); "
                                              "activation is ") +
                                      to_string(p.activation()));
    if (p.dtype() == DType::kBF16) return Offer::decline(stem, "cuDNN's fused call has no bf16 configuration");
  }
  if (std::string why; ctx.excludes_all(stem, &why)) return Offer::decline(stem, why);
  int device = 0;
  if (cudaGetDevice(&device) != cudaSuccess) {
    (void)cudaGetLastError();
    return Offer::decline(stem, "could not query the current CUDA device", StatusCode::kDeviceError);
  }
  auto handle = std::make_unique<Handle>();
  if (Status s = handle->create(); !s) return Offer::decline(stem, s.message(), s.code());
  auto impl = std::make_unique<CudnnImpl>(p, make_geometry(p), device);
  std::vector<std::string> notes;
  if (Status s = impl->build(std::move(handle), fused, ctx, &notes); !s)
    return Offer::decline(stem, s.message(), s.code());
  return Offer::accept(std::move(impl));
}

Offer offer_fused(const OfferContext& ctx) { return make_offer(ctx, true); }
Offer offer_with_epilogue(const OfferContext& ctx) { return make_offer(ctx, false); }

class CudnnBackend final : public detail::Backend {
 public:
  const char* name() const override { return kCudnn; }
  MemorySpace memory_space() const override { return MemorySpace::kDevice; }

  bool available(std::string* why) const override {
    const DeviceCheck& c = device_check();
    if (!c.ok && why != nullptr) *why = c.why;
    return c.ok;
  }

  Status device_info(detail::DeviceInfo* info) const override { return cuda::query_device_info(info); }

  const std::vector<detail::ImplList>& lists() const override {
    static const std::vector<detail::ImplList> lists = {
        {Op::kDepthwise, Direction::kForward, {offer_fused, offer_with_epilogue}},
        {Op::kConv2d, Direction::kForward, {offer_fused, offer_with_epilogue}},
        {Op::kSeparable, Direction::kForward, {offer_fused, offer_with_epilogue}},
    };
    return lists;
  }
};

}  // namespace
}  // namespace dsconv::cudnn

namespace dsconv::detail {

const Backend& cudnn_backend() {
  static const cudnn::CudnnBackend backend;
  return backend;
}

}  // namespace dsconv::detail
