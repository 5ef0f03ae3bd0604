#include "bench/driver/peer_onednn.hpp"

#if defined(DSCONV_HAVE_ONEDNN)

#include <oneapi/dnnl/dnnl.hpp>
#include <optional>
#include <unordered_map>

namespace dsconv::driver {

namespace {

using dnnl::memory;
using Dims = memory::dims;

memory::data_type onednn_type(DType t) {
  switch (t) {
    case DType::kF32:
      return memory::data_type::f32;
    case DType::kF16:
      return memory::data_type::f16;
    case DType::kBF16:
      return memory::data_type::bf16;
  }
  return memory::data_type::undef;
}

memory::format_tag activation_tag(Layout l) {
  return l == Layout::kNHWC ? memory::format_tag::nhwc : memory::format_tag::nchw;
}

// The caller's filter as oneDNN weights: dims in oneDNN's order ([G,]O,I,KH,KW) with the strides
// that TF or OIHW storage gives them, so that one reorder packs any of them.
struct UserWeights {
  Dims dims, strides;
};

UserWeights depthwise_weights(const Problem& p) {
  const int64_t kh = p.kh(), kw = p.kw(), c = p.c(), m = p.m();
  if (p.filter_layout() == FilterLayout::kTF)  // [KH][KW][C][M]
    return {{c, m, 1, kh, kw}, {m, 1, 1, kw * c * m, c * m}};
  return {{c, m, 1, kh, kw}, {m * kh * kw, kh * kw, kh * kw, kw, 1}};  // [C*M][1][KH][KW]
}

UserWeights conv_weights(const Problem& p) {
  const int64_t kh = p.kh(), kw = p.kw(), c = p.c(), o = p.out_channels();
  if (p.filter_layout() == FilterLayout::kTF)  // [KH][KW][C][O]
    return {{o, c, kh, kw}, {1, o, kw * c * o, c * o}};
  return {{o, c, kh, kw}, {c * kh * kw, kh * kw, kw, 1}};
}

UserWeights pointwise_weights(const Problem& p) {
  const int64_t cm = p.mid_channels(), o = p.out_channels();
  if (p.filter_layout() == FilterLayout::kTF)  // [1][1][CM][O]
    return {{o, cm, 1, 1}, {1, o, cm * o, cm * o}};
  return {{o, cm, 1, 1}, {cm, 1, 1, 1}};  // [O][CM][1][1]
}

// oneDNN counts dilation from 0 (0 = dense); dsconv, TF, PyTorch and cuDNN from 1.
Dims onednn_dilation(const Problem& p) { return {p.dilation_h() - 1, p.dilation_w() - 1}; }

// The activation as one oneDNN eltwise post-op (algorithm, alpha, beta).
dnnl::primitive_attr epilogue_attr(Activation a) {
  dnnl::primitive_attr attr;
  dnnl::algorithm alg = dnnl::algorithm::eltwise_relu;
  float alpha = 0.0f, beta = 0.0f;
  switch (a) {
    case Activation::kNone:
      return attr;
    case Activation::kRelu:
      break;
    case Activation::kRelu6:
      alg = dnnl::algorithm::eltwise_clip, beta = 6.0f;
      break;
    case Activation::kSilu:  // swish(x) = x * sigmoid(alpha * x)
      alg = dnnl::algorithm::eltwise_swish, alpha = 1.0f;
      break;
    case Activation::kHswish:  // oneDNN 3: x * max(0, min(1, alpha * x + beta)); 2.x takes no parameters
      alg = dnnl::algorithm::eltwise_hardswish, alpha = 1.0f / 6.0f, beta = 0.5f;
      break;
    case Activation::kGelu:
      alg = dnnl::algorithm::eltwise_gelu_erf;
      break;
    case Activation::kGeluTanh:
      alg = dnnl::algorithm::eltwise_gelu_tanh;
      break;
  }
  dnnl::post_ops ops;
#if DNNL_VERSION_MAJOR >= 3
  ops.append_eltwise(alg, alpha, beta);
#else
  ops.append_eltwise(1.0f, alg, alpha, beta);
#endif
  attr.set_post_ops(ops);
  return attr;
}

// One convolution primitive and its packed weights and bias.
struct Conv {
  dnnl::convolution_forward::primitive_desc pd;
  dnnl::convolution_forward prim;
  UserWeights user;
  memory weights, bias;
  bool has_bias = false;
};

Conv make_conv(const dnnl::engine& eng, const memory::desc& src, const UserWeights& user, DType dtype, bool has_bias,
               const memory::desc& dst, const Dims& strides, const Dims& dilation, const Dims& pad_l, const Dims& pad_r,
               const dnnl::primitive_attr& attr) {
  const memory::data_type dt = onednn_type(dtype);
  const memory::desc wei_any(user.dims, dt, memory::format_tag::any);
  // Grouped weights are [G, O/G, ...]: G * O/G output channels.
  const int64_t out_channels = user.dims.size() == 5 ? user.dims[0] * user.dims[1] : user.dims[0];
  const memory::desc bias_md = has_bias ? memory::desc({out_channels}, dt, memory::format_tag::x) : memory::desc();
  Conv c;
  c.user = user;
  c.has_bias = has_bias;
#if DNNL_VERSION_MAJOR >= 3
  c.pd = dnnl::convolution_forward::primitive_desc(eng, dnnl::prop_kind::forward_inference,
                                                   dnnl::algorithm::convolution_direct, src, wei_any, bias_md, dst,
                                                   strides, dilation, pad_l, pad_r, attr);
#else
  const dnnl::convolution_forward::desc desc(dnnl::prop_kind::forward_inference, dnnl::algorithm::convolution_direct,
                                             src, wei_any, bias_md, dst, strides, dilation, pad_l, pad_r);
  c.pd = dnnl::convolution_forward::primitive_desc(desc, attr, eng);
#endif
  c.prim = dnnl::convolution_forward(c.pd);
  c.weights = memory(c.pd.weights_desc(), eng);
  if (has_bias) c.bias = memory(bias_md, eng);
  return c;
}

class OnednnPeerImpl final : public OnednnPeer {
 public:
  explicit OnednnPeerImpl(const Problem& p) : p_(p), eng_(dnnl::engine::kind::cpu, 0), strm_(eng_) {
    const memory::data_type dt = onednn_type(p.dtype());
    const memory::desc src(Dims{p.n(), p.c(), p.h(), p.w()}, dt, activation_tag(p.layout()));
    const memory::desc dst(Dims{p.n(), p.out_channels(), p.out_h(), p.out_w()}, dt, activation_tag(p.layout()));
    const Dims strides{p.stride_h(), p.stride_w()};
    const Dims pad_l{p.pad_top(), p.pad_left()}, pad_r{p.pad_bottom(), p.pad_right()};
    const dnnl::primitive_attr attr = epilogue_attr(p.activation());
    switch (p.op()) {
      case Op::kDepthwise:
        convs_.push_back(make_conv(eng_, src, depthwise_weights(p), p.dtype(), p.has_bias(), dst, strides,
                                   onednn_dilation(p), pad_l, pad_r, attr));
        break;
      case Op::kConv2d:
        convs_.push_back(make_conv(eng_, src, conv_weights(p), p.dtype(), p.has_bias(), dst, strides,
                                   onednn_dilation(p), pad_l, pad_r, attr));
        break;
      case Op::kSeparable: {
        // The intermediate never leaves oneDNN: the problem's layout when a real (not reference)
        // depthwise kernel takes it (they want source and destination alike), else oneDNN's choice.
        const Dims mid_dims{p.n(), p.mid_channels(), p.out_h(), p.out_w()};
        for (const memory::format_tag tag : {activation_tag(p.layout()), memory::format_tag::any}) {
          Conv dw = make_conv(eng_, src, depthwise_weights(p), p.dtype(), false, memory::desc(mid_dims, dt, tag),
                              strides, onednn_dilation(p), pad_l, pad_r, dnnl::primitive_attr());
          const bool reference = std::string(dw.pd.impl_info_str()).rfind("ref", 0) == 0;
          if (convs_.empty())
            convs_.push_back(std::move(dw));
          else if (!reference)
            convs_[0] = std::move(dw);
          if (!reference) break;
        }
        mid_ = memory(convs_[0].pd.dst_desc(), eng_);
        convs_.push_back(make_conv(eng_, convs_[0].pd.dst_desc(), pointwise_weights(p), p.dtype(), p.has_bias(), dst,
                                   {1, 1}, {0, 0}, {0, 0}, {0, 0}, attr));
        break;
      }
    }
    src_ = memory(src, eng_, DNNL_MEMORY_NONE);
    dst_ = memory(dst, eng_, DNNL_MEMORY_NONE);
    for (const Conv& c : convs_) name_ += (name_.empty() ? "" : "+") + std::string(c.pd.impl_info_str());
  }

  const std::string& implementation() const override { return name_; }

  Status set_weights(const TensorArgs& t) override {
    try {
      const void* filters[2] = {t.filter(), t.pointwise()};
      for (size_t i = 0; i < convs_.size(); ++i) {
        Conv& c = convs_[i];
        const memory::desc user_md(c.user.dims, onednn_type(p_.dtype()), c.user.strides);
        memory user(user_md, eng_, const_cast<void*>(filters[i]));
        dnnl::reorder(user, c.weights).execute(strm_, user, c.weights);
        if (c.has_bias) {
          memory user_bias(c.bias.get_desc(), eng_, const_cast<void*>(t.bias()));
          dnnl::reorder(user_bias, c.bias).execute(strm_, user_bias, c.bias);
        }
      }
      strm_.wait();
    } catch (const dnnl::error& e) {
      return Status(StatusCode::kInternalError, std::string("oneDNN weight packing failed: ") + e.what());
    }
    weights_set_ = true;
    return Status::ok();
  }

  Status run(const void* input, void* output) override {
    if (!weights_set_) return Status(StatusCode::kInternalError, "oneDNN peer: run() before set_weights()");
    try {
      src_.set_data_handle(const_cast<void*>(input));
      dst_.set_data_handle(output);
      for (size_t i = 0; i < convs_.size(); ++i) {
        const Conv& c = convs_[i];
        std::unordered_map<int, memory> args{{DNNL_ARG_SRC, i == 0 ? src_ : mid_},
                                             {DNNL_ARG_WEIGHTS, c.weights},
                                             {DNNL_ARG_DST, i + 1 == convs_.size() ? dst_ : mid_}};
        if (c.has_bias) args.emplace(DNNL_ARG_BIAS, c.bias);
        c.prim.execute(strm_, args);
      }
      strm_.wait();
    } catch (const dnnl::error& e) {
      return Status(StatusCode::kInternalError, std::string("oneDNN execution failed: ") + e.what());
    }
    return Status::ok();
  }

 private:
  Problem p_;
  dnnl::engine eng_;
  dnnl::stream strm_;
  std::vector<Conv> convs_;
  memory src_, dst_, mid_;
  std::string name_;
  bool weights_set_ = false;
};

}  // namespace

Result<std::unique_ptr<OnednnPeer>> OnednnPeer::create(const Problem& problem) {
  if (problem.has_residual())
    return Status(StatusCode::kNotSupported,
                  "the oneDNN peer does not add a residual (its sum post-op would need "
                  "the residual copied into the output before every timed run)");
  try {
    return std::unique_ptr<OnednnPeer>(new OnednnPeerImpl(problem));
  } catch (const dnnl::error& e) {
    if (e.status == dnnl_unimplemented)
      return Status(StatusCode::kNotSupported, std::string("oneDNN has no implementation for ") +
                                                   to_string(problem.dtype()) + " " + to_string(problem.op()) +
                                                   " on this CPU (" + e.what() + ")");
    return Status(StatusCode::kInternalError, std::string("oneDNN: ") + e.what());
  }
}

bool onednn_built() { return true; }

std::string onednn_version() {
  const dnnl_version_t* v = dnnl::version();
  return std::to_string(v->major) + "." + std::to_string(v->minor) + "." + std::to_string(v->patch);
}

}  // namespace dsconv::driver

#else  // !DSCONV_HAVE_ONEDNN

namespace dsconv::driver {

Result<std::unique_ptr<OnednnPeer>> OnednnPeer::create(const Problem&) {
  return Status(StatusCode::kBackendUnavailable,
                "oneDNN is not built in: install it (Debian: libdnnl-dev) and reconfigure, or set DNNL_ROOT");
}

bool onednn_built() { return false; }
std::string onednn_version() { return {}; }

}  // namespace dsconv::driver

#endif
