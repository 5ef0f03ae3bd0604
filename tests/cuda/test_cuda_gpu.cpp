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
#include "support/tester.hpp"

namespace dsconv {
namespace {

using testing::Buffer;
using testing::DataKind;
using testing::HostData;

#define SKIP_WITHOUT_CUDA_DEVICE()                                                           \
  do {                                                                                       \
    std::string why_;                                                                        \
    if (!backend_available("cuda", &why_)) GTEST_SKIP() << "cuda cannot run here: " << why_; \
  } while (0)

// The specialized 7x7 stride-2 kernel stages 62.7 KiB: it needs the opt-in above 48 KiB.
Problem k7s2_problem() {
  ProblemDesc d;
  d.batch = 2, d.height = 29, d.width = 23, d.channels = 48;
  d.kernel_h = d.kernel_w = 7;
  d.stride_h = d.stride_w = 2;
  d.padding = PaddingMode::kSame;
  d.has_bias = true;
  d.activation = Activation::kRelu6;
  Result<Problem> p = Problem::create(d);
  EXPECT_TRUE(p.is_ok()) << p.status().to_string();
  return *p;
}

struct Staged {
  Buffer input, filter, bias, output;
  Tensors tensors() const { return Tensors{input.data(), filter.data(), nullptr, bias.data(), output.data()}; }
};

Buffer upload(const std::vector<float>& values, DType dt) {
  const std::vector<uint8_t> bytes = testing::encode(dt, values);
  Result<Buffer> b = Buffer::create(MemorySpace::kDevice, bytes.size());
  EXPECT_TRUE(b.is_ok()) << b.status().to_string();
  if (!b.is_ok()) return Buffer();
  EXPECT_TRUE(b->upload(bytes.data(), bytes.size()).is_ok());
  return std::move(b).value();
}

Staged stage(const Problem& p, const HostData& data) {
  Staged s;
  s.input = upload(data.input, p.dtype());
  s.filter = upload(data.filter, p.dtype());
  s.bias = upload(data.bias, p.dtype());
  const std::vector<uint8_t> nan = testing::nan_poison(p.dtype(), p.output_elements());
  Result<Buffer> out = Buffer::create(MemorySpace::kDevice, nan.size());
  EXPECT_TRUE(out.is_ok());
  if (out.is_ok()) {
    s.output = std::move(out).value();
    EXPECT_TRUE(s.output.upload(nan.data(), nan.size()).is_ok());
  }
  return s;
}

int64_t mismatches(const Staged& s, const Problem& p, const std::vector<float>& expected) {
  std::vector<uint8_t> bytes(static_cast<size_t>(p.output_elements()) * dtype_size(p.dtype()));
  EXPECT_TRUE(s.output.download(bytes.data(), bytes.size()).is_ok());
  const std::vector<float> got = testing::decode(p.dtype(), bytes.data(), p.output_elements());
  int64_t bad = 0;
  for (size_t i = 0; i < got.size(); ++i) bad += got[i] == expected[i] ? 0 : 1;  // NaN never equals
  return bad;
}

TEST(CudaGpu, FirstRunIsCapturedIntoACudaGraph) {
  SKIP_WITHOUT_CUDA_DEVICE();
  const Problem p = k7s2_problem();
  Result<Plan> plan = Plan::create(p, "cuda", PlanOptions{{"ref"}});
  ASSERT_TRUE(plan.is_ok()) << plan.status().to_string();
  ASSERT_EQ(plan->implementation().rfind("dw_fwd_nhwc_k7s2", 0), 0u) << plan->explain();
  const uint64_t seed = 57;
  const HostData data = testing::random_data(p, DataKind::kSmallIntegers, seed);
  Result<std::vector<float>> expected = testing::reference_f32(p, data);
  ASSERT_TRUE(expected.is_ok()) << expected.status().to_string();
  Staged s = stage(p, data);
  ASSERT_FALSE(HasFailure());

  cudaStream_t stream = nullptr;
  ASSERT_EQ(cudaStreamCreateWithFlags(&stream, cudaStreamNonBlocking), cudaSuccess);
  ASSERT_EQ(cudaStreamBeginCapture(stream, cudaStreamCaptureModeGlobal), cudaSuccess);
  const Status ran = plan->run(s.tensors(), nullptr, 0, stream);  // the plan's first run
  cudaGraph_t graph = nullptr;
  const cudaError_t ended = cudaStreamEndCapture(stream, &graph);
  ASSERT_TRUE(ran.is_ok()) << ran.to_string();
  ASSERT_EQ(ended, cudaSuccess) << cudaGetErrorString(ended) << " (run did something capture forbids)";
  cudaGraphExec_t exec = nullptr;
  ASSERT_EQ(cudaGraphInstantiate(&exec, graph, 0), cudaSuccess);
  ASSERT_EQ(cudaGraphLaunch(exec, stream), cudaSuccess);
  ASSERT_EQ(cudaStreamSynchronize(stream), cudaSuccess);
  SCOPED_TRACE("seed " + std::to_string(seed) + ", " + p.descriptor());
  EXPECT_EQ(mismatches(s, p, *expected), 0);
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
  const HostData data = testing::random_data(p, DataKind::kSmallIntegers, seed);
  Result<std::vector<float>> expected = testing::reference_f32(p, data);
  ASSERT_TRUE(expected.is_ok());
  SCOPED_TRACE("seed " + std::to_string(seed) + ", " + p.descriptor());

  // A blocking stream made by the program's own runtime: one context, so the library's runtime uses it.
  Staged a = stage(p, data);
  cudaStream_t mine = nullptr;
  ASSERT_EQ(cudaStreamCreate(&mine), cudaSuccess);
  ASSERT_TRUE(plan->run(a.tensors(), nullptr, 0, mine).is_ok());
  ASSERT_EQ(cudaStreamSynchronize(mine), cudaSuccess);
  EXPECT_EQ(mismatches(a, p, *expected), 0);
  cudaStreamDestroy(mine);

  // nullptr: the legacy default stream of the current context, which the program's runtime waits on too.
  Staged b = stage(p, data);
  ASSERT_TRUE(plan->run(b.tensors(), nullptr, 0, nullptr).is_ok());
  ASSERT_EQ(cudaStreamSynchronize(cudaStreamLegacy), cudaSuccess);
  EXPECT_EQ(mismatches(b, p, *expected), 0);
}

}  // namespace
}  // namespace dsconv

#endif  // DSCONV_HAVE_CUDA && !DSCONV_CUDA_EMULATION
