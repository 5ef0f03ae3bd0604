// The backend interface (internal). A backend is a name, a verdict on a problem, and a factory for
// an implementation that knows its workspace and runs. Backends never re-validate shapes: a Problem
// they receive is already checked by Problem::create. Backends never see each other.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "dsconv/config.h"
#include "dsconv/dsconv.hpp"

namespace dsconv::detail {

// One runnable implementation for one problem, made at plan time. run() must be const and
// thread-safe: many threads may run one Plan concurrently.
class Impl {
 public:
  virtual ~Impl() = default;
  virtual const std::string& name() const = 0;
  virtual size_t workspace_bytes() const { return 0; }
  // Tensors already checked for null/non-null against the problem; workspace size checked.
  virtual Status run(const Tensors& t, void* workspace, size_t workspace_size, void* stream) const = 0;
};

// The outcome of asking a backend for an implementation.
struct Selection {
  std::unique_ptr<Impl> impl;         // null when nothing accepted
  std::vector<Rejection> rejections;  // every candidate considered and declined, with a reason
  Status status;                      // why impl is null (kNotSupported, kNoDevice, ...)
};

class Backend {
 public:
  virtual ~Backend() = default;
  virtual const char* name() const = 0;
  virtual MemorySpace memory_space() const = 0;
  // Whether the backend can run at all now (device present, library loaded). Cheap; cached.
  virtual bool available(std::string* why) const = 0;
  // Whether "auto" may pick this backend (the emulated CUDA backend says no: it is for testing).
  virtual bool auto_eligible(std::string* why) const {
    (void)why;
    return true;
  }
  // Walks the backend's ordered implementation list; the first that accepts the problem wins.
  // Implementations whose name starts with a prefix in options.skip_implementations are skipped
  // (recorded as a rejection "skipped by options").
  virtual Selection select(const Problem& problem, const PlanOptions& options) const = 0;
};

// The registry, in dispatch order for "auto" (device backends first, the reference last).
// Defined in src/registry.cpp; each built-in backend provides a function returning its singleton.
const std::vector<const Backend*>& registered_backends();
const Backend* find_backend(const std::string& name);

// Helpers for backends' select().
// Whether options exclude an implementation: its name starts with a skip_implementations prefix, or
// only_implementations is not empty and its name starts with none of those. *why gets the reason.
bool skipped_by_options(const std::string& impl_name, const PlanOptions& options, std::string* why = nullptr);

// Built-in backends (each defined in its own folder; only those compiled in are registered).
const Backend& cpu_reference_backend();  // cpu/
#if defined(DSCONV_HAVE_CUDA)
const Backend& cuda_backend();  // cuda/
#endif
#if defined(DSCONV_HAVE_CUDNN)
const Backend& cudnn_backend();  // cuda/cudnn/
#endif

}  // namespace dsconv::detail
