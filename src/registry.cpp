// The ordered backend registry. Order is the "auto" preference: device backends first, the
// reference last. Only backends compiled into this build appear.
#include <string>
#include <vector>

#include "src/backend.hpp"

namespace dsconv::detail {

const std::vector<const Backend*>& registered_backends() {
  static const std::vector<const Backend*> list = [] {
    std::vector<const Backend*> v;
#if defined(DSCONV_HAVE_CUDA)
    v.push_back(&cuda_backend());
#endif
#if defined(DSCONV_HAVE_CUDNN)
    v.push_back(&cudnn_backend());
#endif
    v.push_back(&cpu_reference_backend());
    return v;
  }();
  return list;
}

const Backend* find_backend(const std::string& name) {
  for (const Backend* b : registered_backends())
    if (name == b->name()) return b;
  return nullptr;
}

namespace {
bool starts_with_any(const std::string& name, const std::vector<std::string>& prefixes) {
  for (const std::string& prefix : prefixes)
    if (!prefix.empty() && name.compare(0, prefix.size(), prefix) == 0) return true;
  return false;
}
}  // namespace

bool skipped_by_options(const std::string& impl_name, const PlanOptions& options, std::string* why) {
  if (starts_with_any(impl_name, options.skip_implementations)) {
    if (why != nullptr) *why = "skipped by options (skip_implementations)";
    return true;
  }
  if (!options.only_implementations.empty() && !starts_with_any(impl_name, options.only_implementations)) {
    if (why != nullptr) {
      std::string list;
      for (const std::string& p : options.only_implementations) list += (list.empty() ? "" : ", ") + p;
      *why = "skipped by options (only_implementations: " + list + ")";
    }
    return true;
  }
  return false;
}

}  // namespace dsconv::detail

namespace dsconv {

std::vector<std::string> built_backends() {
  std::vector<std::string> names;
  for (const detail::Backend* b : detail::registered_backends()) names.emplace_back(b->name());
  return names;
}

bool backend_available(std::string_view backend, std::string* why) {
  const detail::Backend* b = detail::find_backend(std::string(backend));
  if (b == nullptr) {
    if (why) *why = "backend '" + std::string(backend) + "' is not built into this library";
    return false;
  }
  return b->available(why);
}

}  // namespace dsconv
