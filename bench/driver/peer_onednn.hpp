// oneDNN as a CPU peer for `dsconv bench --peers onednn`: the same problem, in the same process, on
// the same host data. Depthwise is oneDNN's grouped convolution (groups = C, C*M outputs); dilated
// conv2d its dilated convolution; separable is a grouped convolution then a 1x1 convolution through
// an intermediate buffer in the layout oneDNN prefers (the two primitives are timed together).
//
// Weights are reordered into oneDNN's preferred layout once, by set_weights(), outside the timing:
// that is how an inference framework uses oneDNN (weights packed at model load). Activations stay
// in the problem's own layout (NHWC or NCHW), as the caller has them.
//
// Built only when CMake found oneDNN (DSCONV_HAVE_ONEDNN); otherwise create() says so.
#pragma once

#include <memory>
#include <string>

#include "dsconv/dsconv.hpp"

namespace dsconv::driver {

class OnednnPeer {
 public:
  // kBackendUnavailable when this build has no oneDNN; kNotSupported when oneDNN has no
  // implementation for the problem on this CPU (e.g. f16 without AVX512-FP16), with its message.
  static Result<std::unique_ptr<OnednnPeer>> create(const Problem& problem);
  virtual ~OnednnPeer() = default;

  // oneDNN's name of what runs, e.g. "brg:avx2" or "jit_dw:avx2+jit_1x1:avx2" for separable.
  virtual const std::string& implementation() const = 0;
  // Packs filter, pointwise and bias of `t` (host pointers, the problem's layouts and dtype).
  virtual Status set_weights(const TensorArgs& t) = 0;
  // Computes output from input with the packed weights; returns when done.
  virtual Status run(const void* input, void* output) = 0;
};

// Whether oneDNN is built in, and its version ("2.6.3"); empty when not.
bool onednn_built();
std::string onednn_version();

}  // namespace dsconv::driver
