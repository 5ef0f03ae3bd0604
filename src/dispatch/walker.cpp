// The one walker over implementation lists, and the one place PlanOptions' implementation filters are
// applied (skip_implementations and only_implementations, benchdnn's --skip-impl and --impl; and
// deterministic, which passes over an implementation that reports nondeterminism).
#include <string>
#include <utility>
#include <vector>

#include "src/dispatch/backend.hpp"

namespace dsconv::detail {

namespace {

bool starts_with(const std::string& s, const std::string& prefix) {
  return !prefix.empty() && s.compare(0, prefix.size(), prefix) == 0;
}

bool starts_with_any(const std::string& name, const std::vector<std::string>& prefixes) {
  for (const std::string& prefix : prefixes)
    if (starts_with(name, prefix)) return true;
  return false;
}

std::string join(const std::vector<std::string>& v) {
  std::string s;
  for (const std::string& x : v) s += (s.empty() ? "" : ", ") + x;
  return s;
}

std::string only_reason(const PlanOptions& options) {
  return "skipped by options (only_implementations: " + join(options.only_implementations) + ")";
}

const char* const kSkipReason = "skipped by options (skip_implementations)";

}  // namespace

bool skipped_by_options(const std::string& impl_name, const PlanOptions& options, std::string* why) {
  if (starts_with_any(impl_name, options.skip_implementations)) {
    if (why != nullptr) *why = kSkipReason;
    return true;
  }
  if (!options.only_implementations.empty() && !starts_with_any(impl_name, options.only_implementations)) {
    if (why != nullptr) *why = only_reason(options);
    return true;
  }
  return false;
}

bool OfferContext::allows(const std::string& name, std::string* why) const {
  return !skipped_by_options(name, options, why);
}

bool OfferContext::excludes_all(const std::string& stem, std::string* why) const {
  // Every completion of the stem starts with a skipped prefix...
  if (starts_with_any(stem, options.skip_implementations)) {
    if (why != nullptr) *why = kSkipReason;
    return true;
  }
  // ...or no completion can start with any of the only-prefixes.
  if (options.only_implementations.empty()) return false;
  for (const std::string& p : options.only_implementations)
    if (p.empty() || starts_with(stem, p) || starts_with(p, stem)) return false;
  if (why != nullptr) *why = only_reason(options);
  return true;
}

Offer Offer::accept(std::unique_ptr<Impl> impl) {
  Offer o;
  o.name = impl->name();
  o.impl = std::move(impl);
  return o;
}

Offer Offer::decline(std::string name, std::string reason, StatusCode code) {
  Offer o;
  o.name = std::move(name);
  o.reason = std::move(reason);
  o.code = code;
  return o;
}

namespace {

Selection walk(const Backend& backend, const Problem& problem, const PlanOptions& options, const DeviceInfo* device,
               bool prepare) {
  Selection sel;
  const std::string bname = backend.name();
  const ImplList* list = nullptr;
  for (const ImplList& l : backend.lists())
    if (l.op == problem.op() && l.direction == problem.direction()) list = &l;
  if (list == nullptr || list->offers.empty()) {
    const std::string reason = std::string("no ") + to_string(problem.direction()) + " " + to_string(problem.op()) +
                               " implementation in this backend";
    sel.rejections.push_back({bname, "", reason});
    sel.status = Status(StatusCode::kNotSupported, reason);
    return sel;
  }

  const OfferContext ctx{problem, options, device, backend};
  StatusCode code = StatusCode::kNotSupported;
  for (OfferFn fn : list->offers) {
    Offer offer = fn(ctx);
    if (!offer.impl) {
      sel.rejections.push_back({bname, offer.name, offer.reason});
      if (offer.code != StatusCode::kNotSupported && offer.code != StatusCode::kSuccess) code = offer.code;
      continue;
    }
    const std::string name = offer.impl->name();
    if (std::string why; skipped_by_options(name, options, &why)) {
      sel.rejections.push_back({bname, name, why});
      continue;
    }
    if (std::string why = offer.impl->nondeterminism(); options.deterministic && !why.empty()) {
      sel.rejections.push_back({bname, name, "skipped by options (deterministic): " + why});
      continue;
    }
    if (prepare) {
      if (Status s = offer.impl->prepare(); !s) {
        sel.rejections.push_back({bname, name, "could not be prepared: " + s.message()});
        code = s.code();
        continue;
      }
    }
    sel.impl = std::move(offer.impl);
    return sel;
  }
  sel.status = Status(code, std::string("no implementation of the ") + bname + " backend accepts " +
                                problem.descriptor() + " with the given options");
  return sel;
}

}  // namespace

Selection select(const Backend& backend, const Problem& problem, const PlanOptions& options) {
  DeviceInfo device;
  if (backend.memory_space() == MemorySpace::kDevice) {
    if (Status s = backend.device_info(&device); !s) {
      Selection sel;
      sel.rejections.push_back({backend.name(), "", s.message()});
      sel.status = s;
      return sel;
    }
  }
  return walk(backend, problem, options, device.valid() ? &device : nullptr, true);
}

Selection select_for_device(const Backend& backend, const Problem& problem, const PlanOptions& options,
                            const DeviceInfo& device, bool prepare) {
  return walk(backend, problem, options, &device, prepare);
}

}  // namespace dsconv::detail
