// The ordered backend registry. Order is the "auto" preference: device backends first, the reference
// last. Only backends compiled into this build appear; known_backends() also names the others.
#include <string>
#include <vector>

#include "src/dispatch/backend.hpp"

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

}  // namespace dsconv::detail

namespace dsconv {

std::vector<std::string> built_backends() {
  std::vector<std::string> names;
  for (const detail::Backend* b : detail::registered_backends()) names.emplace_back(b->name());
  return names;
}

std::vector<std::string> known_backends() {
  namespace n = detail::backend_names;
  return {n::kAuto, n::kCuda, n::kCudnn, n::kCpu, n::kCpuRef};
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
