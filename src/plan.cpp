// Plan creation (dispatch) and the checks every run shares. Backends see only validated problems
// and checked tensors.
#include <cstdint>
#include <sstream>
#include <string>

#include "src/auto_choice.hpp"
#include "src/backend.hpp"

namespace dsconv {

namespace {

const char* const kKnownBackends[] = {"auto", "cpu-ref", "cpu", "cuda", "cudnn"};

std::string built_list() {
  std::string s;
  for (const std::string& n : built_backends()) s += (s.empty() ? "" : ", ") + n;
  return s;
}

// [begin, end) byte ranges overlap?
bool overlaps(const void* a, size_t a_bytes, const void* b, size_t b_bytes) {
  const auto pa = reinterpret_cast<uintptr_t>(a), pb = reinterpret_cast<uintptr_t>(b);
  return a_bytes > 0 && b_bytes > 0 && pa < pb + b_bytes && pb < pa + a_bytes;
}

}  // namespace

struct Plan::State {
  Problem problem;
  const detail::Backend* backend = nullptr;
  std::string backend_name;
  std::unique_ptr<detail::Impl> impl;
  std::vector<Rejection> rejections;
  std::string why;  // how "auto" chose (empty for a named backend)
};

Plan::Plan() = default;
Plan::~Plan() = default;
Plan::Plan(Plan&&) noexcept = default;
Plan& Plan::operator=(Plan&&) noexcept = default;

Result<Plan> Plan::create(const Problem& problem, std::string_view backend, const PlanOptions& options) {
  const std::string want(backend);
  bool known = false;
  for (const char* k : kKnownBackends) known = known || want == k;
  if (!known) {
    return Status(StatusCode::kInvalidArgument,
                  "backend must be one of auto, cpu-ref, cpu, cuda, cudnn; got '" + want + "'");
  }
  if (problem.output_elements() == 0) {
    return Status(StatusCode::kInvalidArgument, "problem was not created by Problem::create (empty output)");
  }

  auto state = std::make_unique<State>();
  state->problem = problem;

  if (want != "auto") {
    const detail::Backend* b = detail::find_backend(want);
    if (b == nullptr) {
      return Status(StatusCode::kBackendUnavailable,
                    "backend '" + want + "' is not built into this library (built: " + built_list() + ")");
    }
    std::string why;
    if (!b->available(&why)) {
      return Status(StatusCode::kNoDevice, "backend '" + want + "' cannot run: " + why);
    }
    detail::Selection sel = b->select(problem, options);
    if (!sel.impl) {
      std::string msg = "backend '" + want + "' cannot run " + problem.descriptor();
      for (const Rejection& r : sel.rejections)
        msg += "; " + (r.implementation.empty() ? r.backend : r.implementation) + ": " + r.reason;
      const StatusCode code = sel.status.is_ok() ? StatusCode::kNotSupported : sel.status.code();
      return Status(code, msg);
    }
    state->backend = b;
    state->impl = std::move(sel.impl);
    state->rejections = std::move(sel.rejections);
  } else {
    detail::AutoChoice choice = detail::choose_auto(problem, options);  // src/auto_choice.hpp
    if (!choice.impl) return choice.status;
    state->backend = choice.backend;
    state->impl = std::move(choice.impl);
    state->rejections = std::move(choice.rejections);
    state->why = std::move(choice.why);
  }
  state->backend_name = state->backend->name();
  Plan plan;
  plan.state_ = std::move(state);
  return plan;
}

const Problem& Plan::problem() const { return state_->problem; }
const std::string& Plan::backend() const { return state_->backend_name; }
const std::string& Plan::implementation() const { return state_->impl->name(); }
MemorySpace Plan::memory_space() const { return state_->backend->memory_space(); }
size_t Plan::workspace_bytes() const { return state_->impl->workspace_bytes(); }
const std::vector<Rejection>& Plan::rejections() const { return state_->rejections; }

std::string Plan::explain() const {
  std::ostringstream os;
  os << "problem: " << state_->problem.descriptor() << "\n";
  os << "chosen: " << backend() << "/" << implementation() << " (workspace " << workspace_bytes() << " bytes, "
     << (memory_space() == MemorySpace::kDevice ? "device" : "host") << " memory)\n";
  if (!state_->why.empty()) os << "auto: " << state_->why << "\n";
  for (const Rejection& r : state_->rejections) {
    os << "rejected: " << r.backend;
    if (!r.implementation.empty()) os << "/" << r.implementation;
    os << ": " << r.reason << "\n";
  }
  return os.str();
}

Status Plan::run(const Tensors& t, void* workspace, size_t workspace_size, void* stream) const {
  if (!state_) return Status(StatusCode::kInvalidArgument, "plan is empty (moved from or default-constructed)");
  const Problem& p = state_->problem;
  if (t.input == nullptr) return Status(StatusCode::kInvalidArgument, "tensors.input is null");
  if (t.filter == nullptr) return Status(StatusCode::kInvalidArgument, "tensors.filter is null");
  if (t.output == nullptr) return Status(StatusCode::kInvalidArgument, "tensors.output is null");
  if (p.op() == Op::kSeparable && t.pointwise == nullptr)
    return Status(StatusCode::kInvalidArgument, "tensors.pointwise is null but op is separable");
  if (p.op() != Op::kSeparable && t.pointwise != nullptr)
    return Status(StatusCode::kInvalidArgument,
                  std::string("tensors.pointwise must be null for op ") + to_string(p.op()));
  if (p.has_bias() && t.bias == nullptr)
    return Status(StatusCode::kInvalidArgument, "tensors.bias is null but the problem has a bias");
  if (!p.has_bias() && t.bias != nullptr)
    return Status(StatusCode::kInvalidArgument, "tensors.bias must be null: the problem has no bias");
  const size_t need = workspace_bytes();
  if (workspace_size < need)
    return Status(StatusCode::kInsufficientWorkspace, "workspace_size is " + std::to_string(workspace_size) +
                                                          " bytes; the plan needs " + std::to_string(need));
  if (need > 0 && workspace == nullptr)
    return Status(StatusCode::kInvalidArgument, "workspace is null; the plan needs " + std::to_string(need) + " bytes");
  const size_t es = dtype_size(p.dtype());
  const size_t out_bytes = static_cast<size_t>(p.output_elements()) * es;
  struct Named {
    const char* name;
    const void* ptr;
    size_t bytes;
  };
  const Named inputs[] = {{"input", t.input, static_cast<size_t>(p.input_elements()) * es},
                          {"filter", t.filter, static_cast<size_t>(p.filter_elements()) * es},
                          {"pointwise", t.pointwise, static_cast<size_t>(p.pointwise_elements()) * es},
                          {"bias", t.bias, static_cast<size_t>(p.bias_elements()) * es},
                          {"workspace", workspace, need}};
  for (const Named& n : inputs) {
    if (n.ptr != nullptr && overlaps(n.ptr, n.bytes, t.output, out_bytes))
      return Status(StatusCode::kInvalidArgument,
                    std::string("tensors.output overlaps ") + n.name + " (in-place is not supported)");
  }
  return state_->impl->run(t, workspace, workspace_size, stream);
}

}  // namespace dsconv
