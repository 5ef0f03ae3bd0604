// Misuse at the API (C++ and C), beyond what test_plan.cpp, test_c_api.cpp and test_dispatch.cpp cover:
//  - MisuseRun.*: for every backend built and available (device memory for device backends), every slot
//    a problem uses, passed misaligned (off its element boundary) or overlapping the output, is refused
//    with a status naming the slot, and the output (poisoned with NaN) and the inputs are untouched; a
//    workspace at any address works (implementations align within it);
//  - MisuseCHandles.*: destroyed, foreign (bytes copied from a live handle, so a tag check alone would
//    believe them), misaligned and wrong-kind handles are refused by every C function that takes one,
//    without reading through them (AddressSanitizer would report it), and a double destroy is refused;
//  - MisuseGpu.StreamOfAnotherDevice: a run on a stream of another device is an error and writes nothing
//    (needs two GPUs; skipped otherwise).
#include <algorithm>
#include <cstdint>
#include <cstring>
#include <limits>
#include <memory>
#include <string>
#include <tuple>
#include <vector>

#include <gtest/gtest.h>

#include "dsconv/dsconv.h"
#include "dsconv/dsconv.hpp"
#include "tools/common/device.hpp"
#include "tools/common/tensor.hpp"

namespace dsconv {
namespace {

using tools::Buffer;

Problem make(const std::string& descriptor) {
  Result<Problem> p = Problem::parse(descriptor);
  EXPECT_TRUE(p.is_ok()) << descriptor << ": " << p.status().to_string();
  return p.is_ok() ? *p : Problem();
}

bool contains(const std::string& s, const std::string& part) { return s.find(part) != std::string::npos; }

// One buffer per slot in the plan's memory space, each with 256 spare bytes, the inputs from a seeded RNG
// and the output poisoned with NaN, so that a pointer can be moved off its boundary within the buffer.
struct Staged {
  std::vector<Buffer> buffers;             // by slot; empty for unused slots
  std::vector<std::vector<uint8_t>> host;  // what each buffer holds
  TensorArgs args;                         // the proper pointers

  static Staged create(const Plan& plan, uint64_t seed) {
    const Problem& p = plan.problem();
    tools::TensorSet t = tools::TensorSet::random(p, seed, tools::DataKind::kSmallIntegers);
    const tools::HostTensor* by_slot[kArgCount] = {&t.input, &t.filter, &t.pointwise, &t.bias, &t.residual, &t.output};
    Staged s;
    s.buffers.resize(kArgCount);
    s.host.resize(kArgCount);
    for (int i = 0; i < kArgCount; ++i) {
      if (p.arg_use(static_cast<Arg>(i)) == ArgUse::kUnused) continue;
      const tools::HostTensor& h = *by_slot[i];
      std::vector<uint8_t> bytes(h.bytes() + 256, 0x5a);
      std::memcpy(bytes.data(), h.data(), h.bytes());
      Result<Buffer> b = Buffer::create(plan.memory_space(), bytes.size());
      EXPECT_TRUE(b.is_ok()) << b.status().to_string();
      if (!b) return s;
      EXPECT_TRUE(b->upload(bytes.data(), bytes.size()).is_ok());
      s.args.set(static_cast<Arg>(i), b->data());
      s.buffers[static_cast<size_t>(i)] = std::move(b).value();
      s.host[static_cast<size_t>(i)] = std::move(bytes);
    }
    return s;
  }

  // Every buffer still holds what it was given (nothing written by a refused run).
  std::string changed() const {
    for (int i = 0; i < kArgCount; ++i) {
      const std::vector<uint8_t>& want = host[static_cast<size_t>(i)];
      if (want.empty()) continue;
      std::vector<uint8_t> got(want.size());
      if (!buffers[static_cast<size_t>(i)].download(got.data(), got.size()).is_ok()) return "download failed";
      if (got != want) return std::string(to_string(static_cast<Arg>(i))) + " changed";
    }
    return "";
  }
};

// Backends built and able to run here, with the problems each plans (every slot used by at least one).
std::vector<std::pair<std::string, Problem>> plannable() {
  std::vector<std::pair<std::string, Problem>> v;
  for (const std::string& b : built_backends()) {
    if (!backend_available(b)) continue;
    for (const char* d : {"depthwise_n1h7w6c4_k3x3_m2_psame_nhwc_tf_f32_bias_relu_res",
                          "depthwise_n1h7w6c8_k3x3_m1_psame_nhwc_tf_f16_bias_res",
                          "separable_n1h6w5c2_k3x3_m2_o3_psame_nchw_oihw_bf16_bias_res"}) {
      const Problem p = make(d);
      if (Plan::create(p, b).is_ok()) v.emplace_back(b, p);
    }
  }
  return v;
}

// plannable(), each also with the cuda backend's fused separable kernels skipped: its two-pass plan is
// the one of its plans that needs a workspace.
std::vector<std::tuple<std::string, Problem, PlanOptions>> plannable_with_workspace_variants() {
  std::vector<std::tuple<std::string, Problem, PlanOptions>> v;
  for (const auto& [backend, p] : plannable()) {
    v.emplace_back(backend, p, PlanOptions{});
    v.emplace_back(backend, p, PlanOptions{{"sep_fwd_nhwc_fused", "sep_fwd_nchw_fused"}});
  }
  return v;
}

// A plan with staged tensors, a workspace (one spare byte) and a stream, all in the plan's memory space.
struct Rig {
  Plan plan;
  Staged staged;
  Buffer ws;
  tools::Stream stream;

  static std::unique_ptr<Rig> create(const std::string& backend, const Problem& p, uint64_t seed) {
    Result<Plan> plan = Plan::create(p, backend);
    EXPECT_TRUE(plan.is_ok()) << plan.status().to_string();
    if (!plan) return nullptr;
    Result<Buffer> ws = Buffer::create(plan->memory_space(), plan->workspace_bytes() + 1);
    Result<tools::Stream> stream = tools::Stream::create(plan->memory_space());
    EXPECT_TRUE(ws.is_ok() && stream.is_ok());
    if (!ws || !stream) return nullptr;
    auto rig = std::make_unique<Rig>();
    rig->staged = Staged::create(*plan, seed);
    rig->plan = std::move(plan).value();
    rig->ws = std::move(ws).value();
    rig->stream = std::move(stream).value();
    return rig;
  }
  std::string name() const { return plan.backend() + "/" + plan.implementation() + " " + plan.problem().descriptor(); }
  Status run(const TensorArgs& args) const {
    const Status st = plan.run(args, ws.data(), plan.workspace_bytes(), stream.get());
    const Status sync = stream.synchronize();
    return st.is_ok() ? sync : st;
  }
  // A run with `args` is refused with kInvalidArgument mentioning `mention`, and writes nothing. Returns
  // the message.
  std::string expect_refused(const TensorArgs& args, const std::string& mention, const std::string& what) const {
    const Status st = run(args);
    EXPECT_EQ(st.code(), StatusCode::kInvalidArgument) << what << ": " << st.to_string();
    EXPECT_TRUE(contains(st.message(), mention)) << what << ": '" << st.message() << "' lacks '" << mention << "'";
    EXPECT_EQ(staged.changed(), "") << what << ": a refused run wrote memory";
    return st.message();
  }
};

TEST(MisuseRun, MisalignedTensorsAreRefusedNamingTheSlotAndNothingIsWritten) {
  int checked = 0;
  for (const auto& [backend, p] : plannable()) {
    const std::unique_ptr<Rig> rig = Rig::create(backend, p, 7);
    ASSERT_NE(rig, nullptr);
    SCOPED_TRACE(rig->name());
    const size_t es = dtype_size(p.dtype());
    for (int i = 0; i < kArgCount; ++i) {
      const Arg slot = static_cast<Arg>(i);
      if (p.arg_use(slot) == ArgUse::kUnused) continue;
      for (size_t off = 1; off < es; ++off) {
        TensorArgs bad = rig->staged.args;
        bad.set(slot, static_cast<const char*>(rig->staged.args.get(slot)) + off);
        const std::string msg =
            rig->expect_refused(bad, std::string("tensors.") + to_string(slot) + " is misaligned: address 0x",
                                std::string(to_string(slot)) + " off by " + std::to_string(off));
        EXPECT_TRUE(contains(msg, "is not a multiple of " + std::to_string(es) + " bytes")) << msg;
        ++checked;
      }
    }
    // The proper pointers run, so each refusal above was due to the one pointer moved.
    EXPECT_TRUE(rig->run(rig->staged.args).is_ok());
    EXPECT_NE(rig->staged.changed(), "") << "the proper run wrote nothing";
  }
  EXPECT_GT(checked, 0);
}

TEST(MisuseRun, EverySlotOverlappingTheOutputIsRefusedAndNothingIsWritten) {
  int checked = 0;
  for (const auto& [backend, p] : plannable()) {
    const std::unique_ptr<Rig> rig = Rig::create(backend, p, 8);
    ASSERT_NE(rig, nullptr);
    SCOPED_TRACE(rig->name());
    const size_t es = dtype_size(p.dtype());
    const auto out = reinterpret_cast<uintptr_t>(rig->staged.args.output());
    const size_t out_bytes = static_cast<size_t>(p.output_elements()) * es;
    for (int i = 0; i < kArgCount; ++i) {
      const Arg slot = static_cast<Arg>(i);
      if (slot == Arg::kOutput || p.arg_use(slot) == ArgUse::kUnused) continue;
      const size_t bytes = static_cast<size_t>(p.arg_elements(slot)) * es;
      // The slot's tensor ends one element into the output, and starts one element before its end.
      for (const uintptr_t at : {out - bytes + es, out + out_bytes - es}) {
        TensorArgs bad = rig->staged.args;
        bad.set(slot, reinterpret_cast<const void*>(at));
        rig->expect_refused(bad, std::string("tensors.output overlaps ") + to_string(slot), to_string(slot));
        ++checked;
      }
    }
  }
  EXPECT_GT(checked, 0);
}

TEST(MisuseRun, AWorkspaceAtAnyAddressWorks) {
  int checked = 0;
  for (const auto& [backend, p, options] : plannable_with_workspace_variants()) {
    Result<Plan> plan = Plan::create(p, backend, options);
    ASSERT_TRUE(plan.is_ok());
    const size_t need = plan->workspace_bytes();
    if (need == 0) continue;
    SCOPED_TRACE(backend + "/" + plan->implementation() + " " + p.descriptor());
    Result<tools::Stream> stream = tools::Stream::create(plan->memory_space());
    ASSERT_TRUE(stream.is_ok());
    std::vector<uint8_t> first;
    for (size_t off : {size_t{0}, size_t{1}, size_t{3}, size_t{200}}) {
      Staged s = Staged::create(*plan, 9);
      Result<Buffer> ws = Buffer::create(plan->memory_space(), need + off);
      ASSERT_TRUE(ws.is_ok());
      ASSERT_TRUE(ws->fill_async(0xff, *stream).is_ok());  // NaN: a read before a write shows
      const Status st = plan->run(s.args, static_cast<char*>(ws->data()) + off, need, stream->get());
      ASSERT_TRUE(st.is_ok()) << "workspace at +" << off << ": " << st.to_string();
      ASSERT_TRUE(stream->synchronize().is_ok());
      std::vector<uint8_t> out(s.host[static_cast<size_t>(Arg::kOutput)].size());
      ASSERT_TRUE(s.buffers[static_cast<size_t>(Arg::kOutput)].download(out.data(), out.size()).is_ok());
      if (off == 0) first = out;
      EXPECT_EQ(out, first) << "the output depends on the workspace's address (+" << off << ")";
      ++checked;
    }
  }
  if (checked == 0) GTEST_SKIP() << "no implementation built and available here needs a workspace";
}

// --- C handles ----------------------------------------------------------------------------------------

struct CProblemAndPlan {
  dsconv_problem_t problem = nullptr;
  dsconv_plan_t plan = nullptr;
  CProblemAndPlan() {
    EXPECT_EQ(dsconv_problem_parse(&problem, "depthwise_n1h4w4c2_k3x3"), DSCONV_STATUS_SUCCESS) << dsconv_last_error();
    EXPECT_EQ(dsconv_plan_create(&plan, problem, "cpu-ref"), DSCONV_STATUS_SUCCESS) << dsconv_last_error();
  }
  ~CProblemAndPlan() {
    dsconv_plan_destroy(plan);
    dsconv_problem_destroy(problem);
  }
};

// Every C function that takes a problem handle, given `p`: each must refuse it naming the handle.
void expect_problem_refused(dsconv_problem_t p, const std::string& what) {
  SCOPED_TRACE(what);
  int64_t dims[4];
  size_t need = 0;
  dsconv_plan_t plan = reinterpret_cast<dsconv_plan_t>(0x10);
  const std::pair<const char*, dsconv_status_t> calls[] = {
      {"dsconv_problem_output_shape", dsconv_problem_output_shape(p, dims)},
      {"dsconv_problem_descriptor", dsconv_problem_descriptor(p, nullptr, 0, &need)},
      {"dsconv_plan_create", dsconv_plan_create(&plan, p, "cpu-ref")},
      {"dsconv_problem_destroy", dsconv_problem_destroy(p)},
  };
  for (const auto& [func, st] : calls) EXPECT_EQ(st, DSCONV_STATUS_INVALID_ARGUMENT) << func;
  EXPECT_TRUE(contains(dsconv_last_error(), "dsconv_problem_destroy: problem is not a live dsconv_problem_t"))
      << dsconv_last_error();
  EXPECT_EQ(plan, nullptr) << "a refused plan creation left a handle";
}

void expect_plan_refused(dsconv_plan_t plan, const std::string& what) {
  SCOPED_TRACE(what);
  size_t bytes;
  const char* name;
  int on_device;
  std::vector<float> x(32, 1.0f), w(18, 1.0f), y(8, std::numeric_limits<float>::quiet_NaN());
  const dsconv_exec_arg_t args[] = {
      {DSCONV_ARG_INPUT, x.data()}, {DSCONV_ARG_FILTER, w.data()}, {DSCONV_ARG_OUTPUT, y.data()}};
  const std::pair<const char*, dsconv_status_t> calls[] = {
      {"dsconv_plan_workspace_size", dsconv_plan_workspace_size(plan, &bytes)},
      {"dsconv_plan_backend", dsconv_plan_backend(plan, &name)},
      {"dsconv_plan_implementation", dsconv_plan_implementation(plan, &name)},
      {"dsconv_plan_uses_device_memory", dsconv_plan_uses_device_memory(plan, &on_device)},
      {"dsconv_plan_run", dsconv_plan_run(plan, x.data(), w.data(), nullptr, nullptr, y.data(), nullptr, 0, nullptr)},
      {"dsconv_plan_execute", dsconv_plan_execute(plan, 3, args, nullptr, 0, nullptr)},
      {"dsconv_plan_destroy", dsconv_plan_destroy(plan)},
  };
  for (const auto& [func, st] : calls) EXPECT_EQ(st, DSCONV_STATUS_INVALID_ARGUMENT) << func;
  EXPECT_TRUE(contains(dsconv_last_error(), "dsconv_plan_destroy: plan is not a live dsconv_plan_t"))
      << dsconv_last_error();
  for (float v : y) EXPECT_TRUE(v != v) << "a refused run wrote the output";
}

TEST(MisuseCHandles, DestroyedHandlesAreRefusedWithoutBeingRead) {
  dsconv_problem_t problem = nullptr;
  ASSERT_EQ(dsconv_problem_parse(&problem, "depthwise_n1h4w4c2_k3x3"), DSCONV_STATUS_SUCCESS);
  dsconv_plan_t plan = nullptr;
  ASSERT_EQ(dsconv_plan_create(&plan, problem, "cpu-ref"), DSCONV_STATUS_SUCCESS);
  ASSERT_EQ(dsconv_plan_destroy(plan), DSCONV_STATUS_SUCCESS);
  ASSERT_EQ(dsconv_problem_destroy(problem), DSCONV_STATUS_SUCCESS);
  // Freed memory: before the live-handle registry, these calls read it (a use after free).
  expect_plan_refused(plan, "destroyed plan");
  expect_problem_refused(problem, "destroyed problem");
}

TEST(MisuseCHandles, ForeignMisalignedAndWrongKindHandlesAreRefused) {
  CProblemAndPlan live;
  // A copy of a live handle's bytes elsewhere: whatever a handle holds (a tag, say), the copy is not one.
  alignas(64) unsigned char forged_problem[256], forged_plan[256];
  std::memcpy(forged_problem, live.problem, 8);
  std::memcpy(forged_plan, live.plan, 8);
  std::memset(forged_problem + 8, 0xff, sizeof forged_problem - 8);
  std::memset(forged_plan + 8, 0xff, sizeof forged_plan - 8);
  expect_problem_refused(reinterpret_cast<dsconv_problem_t>(forged_problem), "forged problem");
  expect_plan_refused(reinterpret_cast<dsconv_plan_t>(forged_plan), "forged plan");
  // Addresses that are no object at all: never read.
  expect_problem_refused(reinterpret_cast<dsconv_problem_t>(uintptr_t{0x8}), "address 0x8");
  expect_plan_refused(reinterpret_cast<dsconv_plan_t>(uintptr_t{0x8}), "address 0x8");
  expect_problem_refused(reinterpret_cast<dsconv_problem_t>(reinterpret_cast<uintptr_t>(live.problem) + 1),
                         "live problem + 1");
  expect_plan_refused(reinterpret_cast<dsconv_plan_t>(reinterpret_cast<uintptr_t>(live.plan) + 1), "live plan + 1");
  // The other kind.
  expect_problem_refused(reinterpret_cast<dsconv_problem_t>(live.plan), "a plan as a problem");
  expect_plan_refused(reinterpret_cast<dsconv_plan_t>(live.problem), "a problem as a plan");
  // The live handles still work.
  size_t bytes = 1;
  EXPECT_EQ(dsconv_plan_workspace_size(live.plan, &bytes), DSCONV_STATUS_SUCCESS);
  int64_t dims[4];
  EXPECT_EQ(dsconv_problem_output_shape(live.problem, dims), DSCONV_STATUS_SUCCESS);
}

TEST(MisuseCHandles, DoubleDestroyIsRefused) {
  dsconv_problem_t problem = nullptr;
  ASSERT_EQ(dsconv_problem_parse(&problem, "depthwise_n1h4w4c2_k3x3"), DSCONV_STATUS_SUCCESS);
  dsconv_plan_t plan = nullptr;
  ASSERT_EQ(dsconv_plan_create(&plan, problem, "cpu-ref"), DSCONV_STATUS_SUCCESS);
  EXPECT_EQ(dsconv_plan_destroy(plan), DSCONV_STATUS_SUCCESS);
  EXPECT_EQ(dsconv_plan_destroy(plan), DSCONV_STATUS_INVALID_ARGUMENT);
  EXPECT_TRUE(contains(dsconv_last_error(), "not a live dsconv_plan_t")) << dsconv_last_error();
  EXPECT_EQ(dsconv_problem_destroy(problem), DSCONV_STATUS_SUCCESS);
  EXPECT_EQ(dsconv_problem_destroy(problem), DSCONV_STATUS_INVALID_ARGUMENT);
  EXPECT_TRUE(contains(dsconv_last_error(), "not a live dsconv_problem_t")) << dsconv_last_error();
}

TEST(MisuseCHandles, MisalignedTensorThroughExecuteNamesTheSlot) {
  CProblemAndPlan live;
  // Floats at an odd address: one spare element so the misaligned view stays inside the buffer.
  std::vector<float> x(33, 1.0f), w(19, 1.0f), y(9, std::numeric_limits<float>::quiet_NaN());
  const dsconv_exec_arg_t args[] = {{DSCONV_ARG_INPUT, reinterpret_cast<char*>(x.data()) + 2},
                                    {DSCONV_ARG_FILTER, w.data()},
                                    {DSCONV_ARG_OUTPUT, y.data()}};
  EXPECT_EQ(dsconv_plan_execute(live.plan, 3, args, nullptr, 0, nullptr), DSCONV_STATUS_INVALID_ARGUMENT);
  EXPECT_TRUE(contains(dsconv_last_error(), "dsconv_plan_execute: tensors.input is misaligned")) << dsconv_last_error();
  for (float v : y) EXPECT_TRUE(v != v) << "a refused run wrote the output";
}

// --- a stream of another device ---------------------------------------------------------------------------

#if defined(DSCONV_HAVE_CUDA) && !defined(DSCONV_HAVE_CUDA_EMULATION)
extern "C" int cudaGetDeviceCount(int*);  // from the CUDA runtime the tests link on a GPU build
extern "C" int cudaSetDevice(int);
#endif

TEST(MisuseGpu, AStreamOfAnotherDeviceIsRefusedAndNothingIsWritten) {
#if defined(DSCONV_HAVE_CUDA) && !defined(DSCONV_HAVE_CUDA_EMULATION)
  int devices = 0;
  if (cudaGetDeviceCount(&devices) != 0 || devices < 2) GTEST_SKIP() << "needs two GPUs (found " << devices << ")";
  for (const char* backend : {"cuda", "cudnn"}) {
    if (!backend_available(backend)) continue;
    SCOPED_TRACE(backend);
    const Problem p = make("depthwise_n1h9w9c8_k3x3_psame_nhwc_tf_f32");
    ASSERT_EQ(cudaSetDevice(0), 0);
    Result<Plan> plan = Plan::create(p, backend);
    ASSERT_TRUE(plan.is_ok()) << plan.status().to_string();
    Staged s = Staged::create(*plan, 10);
    Result<Buffer> ws = Buffer::create(plan->memory_space(), plan->workspace_bytes() + 1);
    ASSERT_TRUE(ws.is_ok());
    ASSERT_EQ(cudaSetDevice(1), 0);
    Result<tools::Stream> other = tools::Stream::create(MemorySpace::kDevice);  // a stream of device 1
    ASSERT_EQ(cudaSetDevice(0), 0);
    ASSERT_TRUE(other.is_ok());
    const Status st = plan->run(s.args, ws->data(), plan->workspace_bytes(), other->get());
    EXPECT_FALSE(st.is_ok()) << "a run on a stream of device 1 with a plan of device 0 succeeded";
    ASSERT_EQ(cudaSetDevice(1), 0);
    (void)other->synchronize();
    ASSERT_EQ(cudaSetDevice(0), 0);
    EXPECT_EQ(s.changed(), "");
  }
#else
  GTEST_SKIP() << "needs a GPU build and two GPUs";
#endif
}

}  // namespace
}  // namespace dsconv
