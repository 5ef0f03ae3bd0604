// How a dsconv Problem becomes cuDNN legacy-API convolutions: descriptor dimensions, the exact mapping of
// asymmetric (TF SAME) padding, the filter reorders, and the workspace regions. No CUDA or cuDNN types,
// so the arithmetic is testable on machines without either.
//
//   depthwise  -> one grouped convolution, groups = C, K = C*M, one input channel per group
//   conv2d     -> one dense convolution (dilated as given)
//   separable  -> grouped (C -> C*M, into a workspace buffer) then a 1x1 dense convolution (C*M -> O)
//
// cuDNN pads symmetrically. Padding (top, bottom) is split into a symmetric part cuDNN applies and an
// excess that a pre-pad pass writes as explicit zeros into a workspace copy of the input. Bottom/right
// padding that no output window reaches is dropped first (explicit padding may carry some; TF's SAME rule
// never does), so the copy happens only when the reachable padding really is asymmetric: for SAME, when
// the total is odd (e.g. even kernels, or stride 2 over an even input).
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>

#include "dsconv/dsconv.hpp"
#include "src/export.hpp"

namespace dsconv::cudnn {

// A 4-D tensor copied into a zero-filled larger one: dst[i] = src[i - before] where inside src, else 0.
// Dimensions are outer to inner; for NHWC the padded dims are 1 and 2, for NCHW 2 and 3.
struct Pad4d {
  int64_t src_dims[4] = {1, 1, 1, 1};
  int64_t dst_dims[4] = {1, 1, 1, 1};
  int64_t before[4] = {0, 0, 0, 0};
};

// A 4-D strided gather: dst (dense, dims outer to inner) [i0][i1][i2][i3] = src[sum(i_d * src_strides[d])].
// Reorders TF / OIHW filters into cuDNN's KRSC (NHWC) / KCRS (NCHW).
struct Gather4d {
  int64_t dims[4] = {1, 1, 1, 1};
  int64_t src_strides[4] = {0, 0, 0, 0};
};

// One convolution in the terms of cudnnSetTensor4dDescriptor / cudnnSetFilter4dDescriptor /
// cudnnSetConvolution2dDescriptor (hence int).
struct ConvShape {
  int n = 0, c = 0, h = 0, w = 0;            // input as cuDNN reads it (after any pre-pad)
  int k = 0, c_per_group = 0, r = 0, s = 0;  // filter: K output channels, C/groups inputs, R x S taps
  int groups = 1;
  int pad_h = 0, pad_w = 0;  // symmetric, applied by cuDNN
  int stride_h = 1, stride_w = 1;
  int dilation_h = 1, dilation_w = 1;
  int out_h = 0, out_w = 0;  // what the problem expects; checked against cuDNN at plan time
};

// Per spatial dimension: how the problem's padding is realised.
struct PadSplit {
  int64_t symmetric = 0;     // given to cuDNN (both sides)
  int64_t extra_before = 0;  // written as zeros by the pre-pad
  int64_t extra_after = 0;
  int64_t dropped_after = 0;  // padding after the input that no output window reaches
};
// in: input extent; k, s, d: kernel, stride, dilation; lo/hi: padding; out: output extent.
DSCONV_INTERNAL_EXPORT PadSplit split_padding(int64_t in, int64_t k, int64_t s, int64_t d, int64_t lo, int64_t hi,
                                              int64_t out);

struct Region {
  size_t offset = 0;
  size_t bytes = 0;
};

constexpr size_t kWorkspaceAlignment = 256;

struct Geometry {
  bool nhwc = true;
  size_t elem_bytes = 4;
  bool separable = false;
  PadSplit pad_h, pad_w;
  bool prepad = false;  // some padding is written by the pre-pad pass
  Pad4d pad;
  bool reorder_filter = false;  // the (depthwise or conv2d) filter is gathered into `filter`
  Gather4d filter_gather;
  bool reorder_pointwise = false;
  Gather4d pointwise_gather;
  ConvShape first;      // depthwise / conv2d, or the depthwise stage of separable
  ConvShape pointwise;  // separable only: the 1x1 stage, input = mid
  // Workspace regions (bytes == 0 when unused), then cuDNN's own workspace from scratch_offset.
  Region filter, pointwise_filter, padded_input, mid;
  size_t scratch_offset = 0;
  // Channels of the final output and the NCHW channel stride of the epilogue (1 for NHWC).
  int64_t out_channels = 0, epilogue_inner = 1;
};

// Why cuDNN's legacy 4-D convolution API cannot take p, or "" when it can as far as can be told without
// a device (data-type support per compute capability and algorithm availability are checked at plan time).
DSCONV_INTERNAL_EXPORT std::string static_rejection(const Problem& p);
// The mapping of p. Precondition: static_rejection(p) is empty.
DSCONV_INTERNAL_EXPORT Geometry make_geometry(const Problem& p);

}  // namespace dsconv::cudnn
