/* The worked example through the installed C API: depthwise and conv2d on the reference backend
 * (host memory, present in every build), checked value by value. Exit 0 only if everything matches. */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "dsconv/dsconv.h"

#define CHECK(call)                                                                                  \
  do {                                                                                               \
    dsconv_status_t st_ = (call);                                                                    \
    if (st_ != DSCONV_STATUS_SUCCESS) {                                                              \
      fprintf(stderr, "%s failed: %s: %s\n", #call, dsconv_status_string(st_), dsconv_last_error()); \
      return 1;                                                                                      \
    }                                                                                                \
  } while (0)

/* x [1,4,4,2] NHWC: every row of channel 0 reads 1,2,3,4; channel 1 is all ones.
 * w [3,3,2,2]: w[:,:,0,0]=0, w[:,:,1,0]=1, w[:,:,0,1]=2, w[:,:,1,1]=3. VALID, stride 1. */
static void fill(float x[32], float w[36]) {
  int i, j, t;
  for (i = 0; i < 4; ++i)
    for (j = 0; j < 4; ++j) {
      x[(i * 4 + j) * 2 + 0] = (float)(j + 1);
      x[(i * 4 + j) * 2 + 1] = 1.0f;
    }
  for (t = 0; t < 9; ++t) {
    w[t * 4 + 0] = 0.0f; /* [c=0][k=0] */
    w[t * 4 + 1] = 2.0f; /* [c=0][k=1] */
    w[t * 4 + 2] = 1.0f; /* [c=1][k=0] */
    w[t * 4 + 3] = 3.0f; /* [c=1][k=1] */
  }
}

static int run(dsconv_op_t op, const float* expected, int count) {
  float x[32], w[36], y[16];
  dsconv_problem_desc_t desc;
  dsconv_problem_t problem = NULL;
  dsconv_plan_t plan = NULL;
  int64_t dims[4];
  size_t ws = 0;
  int on_device = 1, i, bad = 0;
  const char* impl = NULL;
  char descriptor[256];

  fill(x, w);
  for (i = 0; i < 16; ++i) y[i] = nanf("");
  dsconv_problem_desc_init(&desc);
  desc.op = op;
  desc.height = 4;
  desc.width = 4;
  desc.channels = 2;
  desc.kernel_h = 3;
  desc.kernel_w = 3;
  if (op == DSCONV_OP_DEPTHWISE)
    desc.multiplier = 2;
  else
    desc.out_channels = 2;
  CHECK(dsconv_problem_create(&problem, &desc));
  CHECK(dsconv_problem_output_shape(problem, dims));
  if (dims[0] != 1 || dims[1] != 2 || dims[2] != 2 || dims[3] * 4 != count) {
    fprintf(stderr, "unexpected output shape [%lld, %lld, %lld, %lld]\n", (long long)dims[0], (long long)dims[1],
            (long long)dims[2], (long long)dims[3]);
    return 1;
  }
  CHECK(dsconv_problem_descriptor(problem, descriptor, sizeof descriptor, NULL));
  CHECK(dsconv_plan_create(&plan, problem, "cpu-ref"));
  CHECK(dsconv_plan_workspace_size(plan, &ws));
  CHECK(dsconv_plan_uses_device_memory(plan, &on_device));
  CHECK(dsconv_plan_implementation(plan, &impl));
  if (ws != 0 || on_device != 0) {
    fprintf(stderr, "cpu-ref plan wants %zu workspace bytes, device memory %d\n", ws, on_device);
    return 1;
  }
  CHECK(dsconv_plan_run(plan, x, w, NULL, NULL, y, NULL, 0, NULL));
  for (i = 0; i < count; ++i) {
    if (!(y[i] == expected[i])) {
      fprintf(stderr, "%s: y[%d] = %g, expected %g\n", descriptor, i, (double)y[i], (double)expected[i]);
      bad = 1;
    }
  }
  /* impl belongs to the plan: print it before the plan goes. */
  printf("%s on cpu-ref/%s: %s\n", descriptor, impl, bad ? "WRONG" : "ok");
  CHECK(dsconv_plan_destroy(plan));
  CHECK(dsconv_problem_destroy(problem));
  return bad;
}

int main(void) {
  static const float depthwise[16] = {0, 36, 9, 27, 0, 54, 9, 27, 0, 36, 9, 27, 0, 54, 9, 27};
  static const float conv2d[8] = {9, 63, 9, 81, 9, 63, 9, 81};
  dsconv_problem_t p = NULL;
  int failed = 0;

  printf("dsconv %s\n", dsconv_version());
  failed |= run(DSCONV_OP_DEPTHWISE, depthwise, 16);
  failed |= run(DSCONV_OP_CONV2D, conv2d, 8);

  /* Errors come back as codes with a message, not crashes. */
  if (dsconv_problem_parse(&p, "depthwise_n1h4w4c2_k9x9") != DSCONV_STATUS_INVALID_ARGUMENT || p != NULL ||
      strstr(dsconv_last_error(), "exceeds input height 4") == NULL) {
    fprintf(stderr, "expected an invalid-argument error, last error: %s\n", dsconv_last_error());
    failed = 1;
  }
  printf("%s\n", failed ? "FAILED" : "PASSED");
  return failed;
}
