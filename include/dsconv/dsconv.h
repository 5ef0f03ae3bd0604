/* dsconv — depthwise, dilated (atrous) and separable 2-D convolution: the C API.
 *
 * Every function returns a dsconv_status_t; on failure, dsconv_last_error() gives a message naming
 * the bad field and its value (thread-local, valid until the next dsconv call on the same thread).
 * No C++ exception crosses this boundary.
 */
#ifndef DSCONV_DSCONV_H_
#define DSCONV_DSCONV_H_

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef enum dsconv_status_t {
  DSCONV_STATUS_SUCCESS = 0,
  DSCONV_STATUS_INVALID_ARGUMENT = 1,
  DSCONV_STATUS_NOT_SUPPORTED = 2,
  DSCONV_STATUS_BACKEND_UNAVAILABLE = 3,
  DSCONV_STATUS_NO_DEVICE = 4,
  DSCONV_STATUS_INSUFFICIENT_WORKSPACE = 5,
  DSCONV_STATUS_DEVICE_ERROR = 6,
  DSCONV_STATUS_IO_ERROR = 7,
  DSCONV_STATUS_FORMAT_ERROR = 8,
  DSCONV_STATUS_INTERNAL_ERROR = 9
} dsconv_status_t;

typedef enum dsconv_op_t { DSCONV_OP_DEPTHWISE = 0, DSCONV_OP_CONV2D = 1, DSCONV_OP_SEPARABLE = 2 } dsconv_op_t;
typedef enum dsconv_layout_t { DSCONV_LAYOUT_NHWC = 0, DSCONV_LAYOUT_NCHW = 1 } dsconv_layout_t;
typedef enum dsconv_filter_layout_t { DSCONV_FILTER_TF = 0, DSCONV_FILTER_OIHW = 1 } dsconv_filter_layout_t;
typedef enum dsconv_dtype_t { DSCONV_F32 = 0, DSCONV_F16 = 1, DSCONV_BF16 = 2 } dsconv_dtype_t;
typedef enum dsconv_padding_t {
  DSCONV_PADDING_VALID = 0,
  DSCONV_PADDING_SAME = 1,
  DSCONV_PADDING_EXPLICIT = 2
} dsconv_padding_t;
/* The activation of the fused epilogue y = act(conv + bias + residual): relu6(x) = min(max(x,0),6),
 * silu(x) = x*sigmoid(x), hswish(x) = x*relu6(x+3)/6, gelu(x) = 0.5x(1+erf(x/sqrt(2))),
 * gelu_tanh(x) = 0.5x(1+tanh(sqrt(2/pi)(x+0.044715x^3))). */
typedef enum dsconv_activation_t {
  DSCONV_ACTIVATION_NONE = 0,
  DSCONV_ACTIVATION_RELU = 1,
  DSCONV_ACTIVATION_RELU6 = 2,
  DSCONV_ACTIVATION_SILU = 3,
  DSCONV_ACTIVATION_HSWISH = 4,
  DSCONV_ACTIVATION_GELU = 5,
  DSCONV_ACTIVATION_GELU_TANH = 6
} dsconv_activation_t;

/* Forward inference; the backward passes are reserved (Problem creation rejects them for now). */
typedef enum dsconv_direction_t {
  DSCONV_DIRECTION_FORWARD = 0,
  DSCONV_DIRECTION_BACKWARD_DATA = 1,
  DSCONV_DIRECTION_BACKWARD_FILTER = 2
} dsconv_direction_t;

/* Tensor argument slots of a run (dsconv_plan_execute). Which slots a problem reads or writes:
 * forward: INPUT, FILTER (the depthwise filter for separable), POINTWISE (separable only), BIAS and
 * RESIDUAL (when the problem has them) are read; OUTPUT is written. The DIFF_* slots are reserved. */
typedef enum dsconv_arg_t {
  DSCONV_ARG_INPUT = 0,
  DSCONV_ARG_FILTER = 1,
  DSCONV_ARG_POINTWISE = 2,
  DSCONV_ARG_BIAS = 3,
  DSCONV_ARG_RESIDUAL = 4,
  DSCONV_ARG_OUTPUT = 5,
  DSCONV_ARG_DIFF_OUTPUT = 6,
  DSCONV_ARG_DIFF_INPUT = 7,
  DSCONV_ARG_DIFF_FILTER = 8
} dsconv_arg_t;
#define DSCONV_ARG_COUNT 9

/* One tensor of a run: its slot and its address (in the plan's memory space). */
typedef struct dsconv_exec_arg_t {
  dsconv_arg_t arg;
  void* data;
} dsconv_exec_arg_t;

/* Both structs below begin with struct_size: the caller's sizeof of the struct, which the init functions
 * record (they are inline, so the size is the one the caller compiled with). A later version of the
 * library appends fields and still takes the sizes of earlier versions, reading only the fields they
 * have; any other size is refused with DSCONV_STATUS_INVALID_ARGUMENT, and an init given one writes
 * nothing past struct_size. */

/* Mirrors dsconv::ProblemDesc. Fill with dsconv_problem_desc_init() first, then set fields. */
typedef struct dsconv_problem_desc_t {
  size_t struct_size; /* sizeof(dsconv_problem_desc_t), set by dsconv_problem_desc_init() */
  dsconv_op_t op;
  int64_t batch, height, width, channels;
  int64_t kernel_h, kernel_w;
  int64_t multiplier;   /* depthwise/separable channel multiplier M; 1 for conv2d */
  int64_t out_channels; /* conv2d/separable O; 0 or C*M for depthwise */
  int64_t stride_h, stride_w;
  int64_t dilation_h, dilation_w; /* 1 = dense */
  dsconv_padding_t padding;
  int64_t pad_top, pad_bottom, pad_left, pad_right; /* only for DSCONV_PADDING_EXPLICIT */
  dsconv_layout_t layout;
  dsconv_filter_layout_t filter_layout;
  dsconv_dtype_t dtype;
  int has_bias;
  dsconv_activation_t activation;
  dsconv_direction_t direction; /* DSCONV_DIRECTION_FORWARD */
  int has_residual;             /* a residual of the output's shape, added before the activation */
} dsconv_problem_desc_t;

/* Mirrors dsconv::PlanOptions. Fill with dsconv_plan_options_init() first. The string arrays are read
 * during dsconv_plan_create_with_options only. */
typedef struct dsconv_plan_options_t {
  size_t struct_size;                      /* sizeof(dsconv_plan_options_t), set by dsconv_plan_options_init() */
  const char* const* skip_implementations; /* name prefixes never considered (benchdnn's --skip-impl) */
  size_t skip_count;
  const char* const* only_implementations; /* when only_count > 0: only these name prefixes (--impl) */
  size_t only_count;
  int autotune;      /* "auto": time the device backends at plan time and keep the fastest */
  int deterministic; /* only implementations whose output is bitwise reproducible; no choice by timing */
  int allow_tf32;    /* f32 may run on TF32 tensor cores (less precise; implementation names say tf32) */
} dsconv_plan_options_t;

typedef struct dsconv_problem* dsconv_problem_t;
typedef struct dsconv_plan* dsconv_plan_t;

const char* dsconv_status_string(dsconv_status_t status);
/* The message of the last failed call on this thread ("" if none). */
const char* dsconv_last_error(void);
const char* dsconv_version(void);

/* Sets the defaults in a struct of desc_size bytes (the caller's sizeof; call dsconv_problem_desc_init):
 * depthwise forward, all sizes 1, stride/dilation 1, VALID, NHWC, TF filters, f32. */
void dsconv_problem_desc_init_sized(dsconv_problem_desc_t* desc, size_t desc_size);
static inline void dsconv_problem_desc_init(dsconv_problem_desc_t* desc) {
  dsconv_problem_desc_init_sized(desc, sizeof *desc);
}
/* Sets the defaults in a struct of options_size bytes (call dsconv_plan_options_init): no filters, no
 * autotune, not restricted to deterministic implementations, no TF32. */
void dsconv_plan_options_init_sized(dsconv_plan_options_t* options, size_t options_size);
static inline void dsconv_plan_options_init(dsconv_plan_options_t* options) {
  dsconv_plan_options_init_sized(options, sizeof *options);
}

dsconv_status_t dsconv_problem_create(dsconv_problem_t* problem, const dsconv_problem_desc_t* desc);
dsconv_status_t dsconv_problem_parse(dsconv_problem_t* problem, const char* descriptor);
dsconv_status_t dsconv_problem_destroy(dsconv_problem_t problem);
/* Output shape in the problem's layout: dims[4] receives N,H,W,C (NHWC) or N,C,H,W (NCHW). */
dsconv_status_t dsconv_problem_output_shape(dsconv_problem_t problem, int64_t dims[4]);
/* Writes the one-line descriptor (NUL-terminated) into buf; *needed receives the size incl. NUL. */
dsconv_status_t dsconv_problem_descriptor(dsconv_problem_t problem, char* buf, size_t buf_size, size_t* needed);

/* backend: "auto", "cpu-ref", "cpu", "cuda" or "cudnn" (NULL means "auto"). */
dsconv_status_t dsconv_plan_create(dsconv_plan_t* plan, dsconv_problem_t problem, const char* backend);
/* The same with options (NULL options: the defaults). */
dsconv_status_t dsconv_plan_create_with_options(dsconv_plan_t* plan, dsconv_problem_t problem, const char* backend,
                                                const dsconv_plan_options_t* options);
dsconv_status_t dsconv_plan_destroy(dsconv_plan_t plan);
dsconv_status_t dsconv_plan_workspace_size(dsconv_plan_t plan, size_t* bytes);
/* Names of the chosen backend and implementation; valid while the plan lives. */
dsconv_status_t dsconv_plan_backend(dsconv_plan_t plan, const char** name);
dsconv_status_t dsconv_plan_implementation(dsconv_plan_t plan, const char** name);
/* 1 when the plan's tensors and workspace must be device memory, 0 for host memory. */
dsconv_status_t dsconv_plan_uses_device_memory(dsconv_plan_t plan, int* on_device);
/* pointwise: only for separable (else NULL); bias: only when the problem has bias (else NULL).
 * stream: a cudaStream_t for device backends, ignored on the host. */
dsconv_status_t dsconv_plan_run(dsconv_plan_t plan, const void* input, const void* filter, const void* pointwise,
                                const void* bias, void* output, void* workspace, size_t workspace_size, void* stream);
/* The same by argument slots: nargs entries, each slot at most once; slots the problem does not use must
 * be absent or NULL. */
dsconv_status_t dsconv_plan_execute(dsconv_plan_t plan, size_t nargs, const dsconv_exec_arg_t* args, void* workspace,
                                    size_t workspace_size, void* stream);

#ifdef __cplusplus
} /* extern "C" */
#endif

#endif /* DSCONV_DSCONV_H_ */
