// The cudnn backend's run() contract on a GPU: it only enqueues on the caller's stream, so it can be
// captured into a CUDA graph (global capture mode: no allocation, no synchronization, no default stream)
// and replayed; and one Plan may be run from many threads on their own streams at once.
// Skipped with a message where cudnn cannot run (no GPU).
#include "dsconv/config.h"

#if defined(DSCONV_HAVE_CUDNN)

#include <cuda_runtime_api.h>

#include <cstdint>
#include <cstring>
#include <string>
#include <thread>
#include <vector>

#include <gtest/gtest.h>

#include "dsconv/dsconv.hpp"
#include "support/tester.hpp"

namespace dsconv {
namespace {

using testing::Buffer;
using testing::DataKind;
using testing::HostData;
using testing::Stream;

#define SKIP_WITHOUT_CUDNN_DEVICE()                                                            \
  do {                                                                                         \
    std::string why_;                                                                          \
    if (!backend_available("cudnn", &why_)) GTEST_SKIP() << "cudnn cannot run here: " << why_; \
  } while (0)

// A problem that exercises every pass of the cudnn plan: filter reorder (TF), pre-pad (asymmetric SAME),
// two cuDNN convolutions (separable) and the epilogue kernel (relu6 cannot be fused).
Problem busy_problem() {
  ProblemDesc d;
  d.op = Op::kSeparable;
  d.batch = 2;
  d.height = 16;
  d.width = 15;
  d.channels = 6;
  d.kernel_h = d.kernel_w = 3;
  d.multiplier = 2;
  d.out_channels = 7;
  d.stride_h = d.stride_w = 2;
  d.padding = PaddingMode::kSame;
  d.has_bias = true;
  d.activation = Activation::kRelu6;
  Result<Problem> p = Problem::create(d);
  EXPECT_TRUE(p.is_ok()) << p.status().to_string();
  return *p;
}

// Device copies of a problem's tensors plus workspace and output.
struct DeviceRun {
  Buffer input, filter, pointwise, bias, output, workspace;
  Tensors tensors() const {
    Tensors t;
    t.input = input.data();
    t.filter = filter.data();
    t.pointwise = pointwise.bytes() ? pointwise.data() : nullptr;
    t.bias = bias.bytes() ? bias.data() : nullptr;
    t.output = output.data();
    return t;
  }
};

Buffer upload(const std::vector<float>& values, DType dt) {
  const std::vector<uint8_t> bytes = testing::encode(dt, values);
  Result<Buffer> b = Buffer::create(MemorySpace::kDevice, bytes.size());
  EXPECT_TRUE(b.is_ok()) << b.status().to_string();
  if (!b.is_ok()) return Buffer();
  if (!bytes.empty()) EXPECT_TRUE(b->upload(bytes.data(), bytes.size()).is_ok());
  return std::move(b).value();
}

DeviceRun stage(const Plan& plan, const HostData& data) {
  const Problem& p = plan.problem();
  DeviceRun r;
  r.input = upload(data.input, p.dtype());
  r.filter = upload(data.filter, p.dtype());
  if (!data.pointwise.empty()) r.pointwise = upload(data.pointwise, p.dtype());
  if (!data.bias.empty()) r.bias = upload(data.bias, p.dtype());
  Result<Buffer> out =
      Buffer::create(MemorySpace::kDevice, static_cast<size_t>(p.output_elements()) * dtype_size(p.dtype()));
  EXPECT_TRUE(out.is_ok());
  if (out.is_ok()) r.output = std::move(out).value();
  Result<Buffer> ws = Buffer::create(MemorySpace::kDevice, plan.workspace_bytes());
  EXPECT_TRUE(ws.is_ok());
  if (ws.is_ok()) r.workspace = std::move(ws).value();
  return r;
}

void poison(const DeviceRun& r, const Problem& p) {
  const std::vector<uint8_t> nan = testing::nan_poison(p.dtype(), p.output_elements());
  ASSERT_TRUE(r.output.upload(nan.data(), nan.size()).is_ok());
}

std::vector<float> download(const DeviceRun& r, const Problem& p) {
  std::vector<uint8_t> bytes(static_cast<size_t>(p.output_elements()) * dtype_size(p.dtype()));
  EXPECT_TRUE(r.output.download(bytes.data(), bytes.size()).is_ok());
  return testing::decode(p.dtype(), bytes.data(), p.output_elements());
}

int64_t mismatches(const std::vector<float>& got, const std::vector<float>& expected) {
  int64_t bad = 0;
  for (size_t i = 0; i < got.size(); ++i) bad += got[i] == expected[i] ? 0 : 1;  // NaN never equals
  return bad;
}

TEST(CudnnGpu, RunIsCapturedIntoACudaGraphAndReplays) {
  SKIP_WITHOUT_CUDNN_DEVICE();
  const Problem p = busy_problem();
  Result<Plan> plan = Plan::create(p, "cudnn");
  ASSERT_TRUE(plan.is_ok()) << plan.status().to_string();
  ASSERT_GT(plan->workspace_bytes(), 0u) << plan->explain();
  const uint64_t seed = 31;
  const HostData data = testing::random_data(p, DataKind::kSmallIntegers, seed);
  Result<std::vector<float>> expected = testing::reference_f32(p, data);
  ASSERT_TRUE(expected.is_ok()) << expected.status().to_string();
  DeviceRun run = stage(*plan, data);
  ASSERT_FALSE(HasFailure());

  Result<Stream> stream = Stream::create(MemorySpace::kDevice);
  ASSERT_TRUE(stream.is_ok()) << stream.status().to_string();
  const auto s = static_cast<cudaStream_t>(stream->get());
  ASSERT_EQ(cudaStreamBeginCapture(s, cudaStreamCaptureModeGlobal), cudaSuccess);
  const Status ran = plan->run(run.tensors(), run.workspace.data(), run.workspace.bytes(), stream->get());
  cudaGraph_t graph = nullptr;
  const cudaError_t ended = cudaStreamEndCapture(s, &graph);
  ASSERT_TRUE(ran.is_ok()) << ran.to_string();
  ASSERT_EQ(ended, cudaSuccess) << cudaGetErrorString(ended) << " (run did something capture forbids)";
  size_t nodes = 0;
  ASSERT_EQ(cudaGraphGetNodes(graph, nullptr, &nodes), cudaSuccess);
  EXPECT_GE(nodes, 4u) << "filter reorder, pointwise reorder, pre-pad, two convolutions, epilogue";
  cudaGraphExec_t exec = nullptr;
  ASSERT_EQ(cudaGraphInstantiate(&exec, graph, 0), cudaSuccess);

  for (int replay = 0; replay < 2; ++replay) {
    SCOPED_TRACE("replay " + std::to_string(replay) + ", seed " + std::to_string(seed) + ", " + p.descriptor());
    poison(run, p);
    ASSERT_EQ(cudaGraphLaunch(exec, s), cudaSuccess);
    ASSERT_TRUE(stream->synchronize().is_ok());
    EXPECT_EQ(mismatches(download(run, p), *expected), 0);
  }
  cudaGraphExecDestroy(exec);
  cudaGraphDestroy(graph);
}

TEST(CudnnGpu, OnePlanRunsFromManyThreadsOnTheirOwnStreams) {
  SKIP_WITHOUT_CUDNN_DEVICE();
  const Problem p = busy_problem();
  Result<Plan> plan = Plan::create(p, "cudnn");
  ASSERT_TRUE(plan.is_ok()) << plan.status().to_string();
  constexpr int kThreads = 6;
  constexpr int kRunsPerThread = 20;
  std::vector<HostData> data;
  std::vector<std::vector<float>> expected;
  std::vector<DeviceRun> runs;
  for (int t = 0; t < kThreads; ++t) {
    data.push_back(testing::random_data(p, DataKind::kSmallIntegers, 1000 + static_cast<uint64_t>(t)));
    Result<std::vector<float>> e = testing::reference_f32(p, data.back());
    ASSERT_TRUE(e.is_ok());
    expected.push_back(*e);
    runs.push_back(stage(*plan, data.back()));
    poison(runs.back(), p);
  }
  ASSERT_FALSE(HasFailure());
  std::vector<std::string> errors(kThreads);
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      Result<Stream> stream = Stream::create(MemorySpace::kDevice);
      if (!stream) {
        errors[t] = stream.status().to_string();
        return;
      }
      for (int i = 0; i < kRunsPerThread && errors[t].empty(); ++i) {
        const DeviceRun& r = runs[static_cast<size_t>(t)];
        if (Status s = plan->run(r.tensors(), r.workspace.data(), r.workspace.bytes(), stream->get()); !s)
          errors[t] = s.to_string();
      }
      if (Status s = stream->synchronize(); !s && errors[t].empty()) errors[t] = s.to_string();
    });
  }
  for (std::thread& th : threads) th.join();
  for (int t = 0; t < kThreads; ++t) {
    SCOPED_TRACE("thread " + std::to_string(t) + ", seed " + std::to_string(1000 + t));
    EXPECT_EQ(errors[t], "");
    EXPECT_EQ(mismatches(download(runs[static_cast<size_t>(t)], p), expected[static_cast<size_t>(t)]), 0);
  }
}

}  // namespace
}  // namespace dsconv

#endif  // DSCONV_HAVE_CUDNN
