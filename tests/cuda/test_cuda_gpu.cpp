// The cuda backend's run() contract on a GPU, across the library's private CUDA runtime and the program's
// own: a stream the program made with its runtime works with a plan; a null stream is the legacy default
// stream of the current context; run() can be captured into a CUDA graph (global capture mode) on a
// plan's first run, because plan creation already loaded the kernel's module and set its shared-memory
// limit. Real-CUDA builds only; skipped with a message where no GPU is present.
#include "dsconv/config.h"

#if defined(DSCONV_HAVE_CUDA) && !defined(DSCONV_CUDA_EMULATION)

#include <cuda_runtime_api.h>

#include <cstdint>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "dsconv/dsconv.hpp"
#include "tools/common/device.hpp"
#include "tools/common/oracle.hpp"
#include "tools/common/tensor.hpp"

namespace dsconv {
namespace {

using tools::TensorBuffers;
using tools::TensorSet;

#define SKIP_WITHOUT_CUDA_DEVICE()                                                           \
  do {                                                                                       \
    std::string why_;                                                                        \
    if (!backend_available("cuda", &why_)) GTEST_SKIP() << "cuda cannot run here: " << why_; \
  } while (0)

// The specialized 7x7 stride-2 kernel stages 62.7 KiB: it needs the opt-in above 48 KiB.
Problem k7s2_problem() {
  Result<Problem> p = Problem::parse("depthwise_n2h29w23c48_k7x7_s2x2_psame_f32_bias_relu6");
  EXPECT_TRUE(p.is_ok()) << p.status().to_string();
  return *p;
}

// Staged (device) tensors of seed `seed`, the expected output (small integers: exact in f32) and a check.
struct Case {
  TensorSet host;
  tools::HostTensor expected;
  TensorBuffers device;
  Case(const Problem& p, uint64_t seed) : host(TensorSet::random(p, seed, tools::DataKind::kSmallIntegers)) {
    Result<tools::HostTensor> ref = tools::reference_output(p, host);
    EXPECT_TRUE(ref.is_ok()) << ref.status().to_string();
    if (ref.is_ok()) expected = std::move(ref).value();
    Result<TensorBuffers> b = TensorBuffers::create(MemorySpace::kDevice, host, 0);
    EXPECT_TRUE(b.is_ok()) << b.status().to_string();
    if (b.is_ok()) device = std::move(b).value();
  }
  // Elements that differ from the reference (NaN, i.e. unwritten, counts).
  int64_t mismatches() {
    EXPECT_TRUE(device.download_output(&host.output).is_ok());
    int64_t bad = 0;
    for (int64_t i = 0; i < host.output.elements(); ++i) bad += host.output.get(i) == expected.get(i) ? 0 : 1;
    return bad;
  }
};

TEST(CudaGpu, FirstRunIsCapturedIntoACudaGraph) {
  SKIP_WITHOUT_CUDA_DEVICE();
  const Problem p = k7s2_problem();
  Result<Plan> plan = Plan::create(p, "cuda", PlanOptions{{"ref"}});
  ASSERT_TRUE(plan.is_ok()) << plan.status().to_string();
  ASSERT_EQ(plan->implementation().rfind("dw_fwd_nhwc_k7s2", 0), 0u) << plan->explain();
  const uint64_t seed = 57;
  SCOPED_TRACE("seed " + std::to_string(seed) + ", " + p.descriptor());
  Case c(p, seed);
  ASSERT_FALSE(HasFailure());

  cudaStream_t stream = nullptr;
  ASSERT_EQ(cudaStreamCreateWithFlags(&stream, cudaStreamNonBlocking), cudaSuccess);
  ASSERT_EQ(cudaStreamBeginCapture(stream, cudaStreamCaptureModeGlobal), cudaSuccess);
  const Status ran = plan->run(c.device.view(), nullptr, 0, stream);  // the plan's first run
  cudaGraph_t graph = nullptr;
  const cudaError_t ended = cudaStreamEndCapture(stream, &graph);
  ASSERT_TRUE(ran.is_ok()) << ran.to_string();
  ASSERT_EQ(ended, cudaSuccess) << cudaGetErrorString(ended) << " (run did something capture forbids)";
  cudaGraphExec_t exec = nullptr;
  ASSERT_EQ(cudaGraphInstantiate(&exec, graph, 0), cudaSuccess);
  ASSERT_EQ(cudaGraphLaunch(exec, stream), cudaSuccess);
  ASSERT_EQ(cudaStreamSynchronize(stream), cudaSuccess);
  EXPECT_EQ(c.mismatches(), 0);
  cudaGraphExecDestroy(exec);
  cudaGraphDestroy(graph);
  cudaStreamDestroy(stream);
}

TEST(CudaGpu, StreamsOfTheProgramsRuntimeAndTheNullStreamWork) {
  SKIP_WITHOUT_CUDA_DEVICE();
  const Problem p = k7s2_problem();
  Result<Plan> plan = Plan::create(p, "cuda", PlanOptions{{"ref"}});
  ASSERT_TRUE(plan.is_ok()) << plan.status().to_string();
  const uint64_t seed = 58;
  SCOPED_TRACE("seed " + std::to_string(seed) + ", " + p.descriptor());

  // A blocking stream made by the program's own runtime: one context, so the library's runtime uses it.
  Case a(p, seed);
  cudaStream_t mine = nullptr;
  ASSERT_EQ(cudaStreamCreate(&mine), cudaSuccess);
  ASSERT_TRUE(plan->run(a.device.view(), nullptr, 0, mine).is_ok());
  ASSERT_EQ(cudaStreamSynchronize(mine), cudaSuccess);
  EXPECT_EQ(a.mismatches(), 0);
  cudaStreamDestroy(mine);

  // nullptr: the legacy default stream of the current context, which the program's runtime waits on too.
  Case b(p, seed);
  ASSERT_TRUE(plan->run(b.device.view(), nullptr, 0, nullptr).is_ok());
  ASSERT_EQ(cudaStreamSynchronize(cudaStreamLegacy), cudaSuccess);
  EXPECT_EQ(b.mismatches(), 0);
}

}  // namespace
}  // namespace dsconv

#endif  // DSCONV_HAVE_CUDA && !DSCONV_CUDA_EMULATION
