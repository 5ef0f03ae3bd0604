// Plan creation (dispatch) and the checks every run shares. Backends see only validated problems
// and checked tensors.
#include <algorithm>
#include <cstdint>
#include <cstdio>
#include <sstream>
#include <string>

#include "src/auto_choice.hpp"
#include "src/dispatch/backend.hpp"

namespace dsconv {

namespace {

std::string list_of(const std::vector<std::string>& names, const char* last_sep = ", ") {
  std::string s;
  for (size_t i = 0; i < names.size(); ++i) s += (i == 0 ? "" : i + 1 == names.size() ? last_sep : ", ") + names[i];
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
  const std::vector<std::string> known = known_backends();
  if (std::find(known.begin(), known.end(), want) == known.end()) {
    return Status(StatusCode::kInvalidArgument, "backend must be one of " + list_of(known) + "; got '" + want + "'");
  }
  if (problem.output_elements() == 0) {
    return Status(StatusCode::kInvalidArgument, "problem was not created by Problem::create (empty output)");
  }

  auto state = std::make_unique<State>();
  state->problem = problem;
  // The environment's autotune switch is read here, once; backends see only PlanOptions.
  PlanOptions opts = options;
  opts.autotune = detail::autotune_requested(options);

  if (want != detail::backend_names::kAuto) {
    const detail::Backend* b = detail::find_backend(want);
    if (b == nullptr) {
      return Status(StatusCode::kBackendUnavailable,
                    "backend '" + want + "' is not built into this library (built: " + list_of(built_backends()) + ")");
    }
    std::string why;
    if (!b->available(&why)) {
      return Status(StatusCode::kNoDevice, "backend '" + want + "' cannot run: " + why);
    }
    detail::Selection sel = detail::select(*b, problem, opts);
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
    detail::AutoChoice choice = detail::choose_auto(problem, opts);  // src/auto_choice.hpp
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
  return run(TensorArgs(t), workspace, workspace_size, stream);
}

Status Plan::run(const TensorArgs& args, void* workspace, size_t workspace_size, void* stream) const {
  if (!state_) return Status(StatusCode::kInvalidArgument, "plan is empty (moved from or default-constructed)");
  const Problem& p = state_->problem;
  // Every slot against the problem's use of it, in slot order (so the first missing tensor is named).
  for (int i = 0; i < kArgCount; ++i) {
    const Arg slot = static_cast<Arg>(i);
    const bool given = args.get(slot) != nullptr;
    const ArgUse use = p.arg_use(slot);
    if (use != ArgUse::kUnused && !given) {
      std::string why;
      if (slot == Arg::kPointwise) why = " but op is separable";
      if (slot == Arg::kBias) why = " but the problem has a bias";
      if (slot == Arg::kResidual) why = " but the problem has a residual";
      return Status(StatusCode::kInvalidArgument, std::string("tensors.") + to_string(slot) + " is null" + why);
    }
    if (use == ArgUse::kUnused && given) {
      std::string why = slot == Arg::kPointwise ? std::string(" for op ") + to_string(p.op())
                        : slot == Arg::kBias    ? std::string(": the problem has no bias")
                                                : std::string(": the problem does not use it");
      return Status(StatusCode::kInvalidArgument, std::string("tensors.") + to_string(slot) + " must be null" + why);
    }
  }
  // Every tensor on a boundary of its element size: kernels access whole elements (a misaligned access
  // faults on a GPU and leaves the caller's CUDA context unusable; on the CPU a typed load is undefined).
  // The workspace has no such rule: implementations that need one align within it (workspace_bytes()
  // includes the slack).
  const size_t es = dtype_size(p.dtype());
  for (int i = 0; i < kArgCount; ++i) {
    const Arg slot = static_cast<Arg>(i);
    const auto addr = reinterpret_cast<uintptr_t>(args.get(slot));
    if (p.arg_use(slot) == ArgUse::kUnused || addr % es == 0) continue;
    char hex[2 + 16 + 1];
    std::snprintf(hex, sizeof hex, "0x%llx", static_cast<unsigned long long>(addr));
    return Status(StatusCode::kInvalidArgument, std::string("tensors.") + to_string(slot) + " is misaligned: address " +
                                                    hex + " is not a multiple of " + std::to_string(es) +
                                                    " bytes, the size of a " + to_string(p.dtype()) + " element");
  }
  const size_t need = workspace_bytes();
  if (workspace_size < need)
    return Status(StatusCode::kInsufficientWorkspace, "workspace_size is " + std::to_string(workspace_size) +
                                                          " bytes; the plan needs " + std::to_string(need));
  if (need > 0 && workspace == nullptr)
    return Status(StatusCode::kInvalidArgument, "workspace is null; the plan needs " + std::to_string(need) + " bytes");
  // Nothing the run writes may overlap anything else it touches: in-place runs are not supported, but
  // for a residual that is exactly the output (y = act(conv + bias + y), as engines add a skip
  // connection in place: every element is read before it is written, by the same thread).
  auto bytes = [&](Arg slot) { return static_cast<size_t>(p.arg_elements(slot)) * es; };
  for (int o = 0; o < kArgCount; ++o) {
    const Arg out = static_cast<Arg>(o);
    if (p.arg_use(out) != ArgUse::kWritten) continue;
    for (int i = 0; i < kArgCount; ++i) {
      const Arg other = static_cast<Arg>(i);
      if (other == out || p.arg_use(other) == ArgUse::kUnused) continue;
      if (other == Arg::kResidual && out == Arg::kOutput && args.get(other) == args.get(out)) continue;
      if (overlaps(args.get(other), bytes(other), args.get(out), bytes(out)))
        return Status(StatusCode::kInvalidArgument, std::string("tensors.") + to_string(out) + " overlaps " +
                                                        to_string(other) + " (in-place is not supported)");
    }
    if (workspace != nullptr && overlaps(workspace, need, args.get(out), bytes(out)))
      return Status(StatusCode::kInvalidArgument,
                    std::string("tensors.") + to_string(out) + " overlaps workspace (in-place is not supported)");
  }
  return state_->impl->run(args, workspace, workspace_size, stream);
}

}  // namespace dsconv
