// The backend interface (internal), after oneDNN's implementation lists and ggml's small backend
// interface.
//
//  - A kernel family exports OFFERS: functions that look at a validated problem (and the device it will
//    run on) and either make an Impl or say, in words, why not. They never validate shapes again (a
//    Problem is checked once, by Problem::create) and never see other families or backends.
//  - A BACKEND is a name, a memory space, whether it can run now, and ordered lists of offers keyed by
//    (op, direction): one line per family in its list.
//  - The WALKER (select() below, src/dispatch/walker.cpp) is the only code that walks a list: it asks
//    each offer in order, applies PlanOptions' implementation filters, records every candidate passed
//    over as a Rejection with its reason, and prepares the winner (modules loaded, attributes set) so
//    that Impl::run only enqueues.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "dsconv/config.h"
#include "dsconv/dsconv.hpp"
#include "src/dispatch/device_info.hpp"

namespace dsconv::detail {

// Every backend name the library knows, built into this library or not. "cpu" is reserved for a fast
// CPU backend that does not exist yet.
namespace backend_names {
inline constexpr const char kAuto[] = "auto";
inline constexpr const char kCuda[] = "cuda";
inline constexpr const char kCudnn[] = "cudnn";
inline constexpr const char kCpu[] = "cpu";
inline constexpr const char kCpuRef[] = "cpu-ref";
}  // namespace backend_names

// One runnable implementation for one problem, made at plan time. run() must be const and thread-safe:
// many threads may run one Plan concurrently.
class Impl {
 public:
  virtual ~Impl() = default;
  virtual const std::string& name() const = 0;
  virtual size_t workspace_bytes() const { return 0; }
  // Called once, at plan creation, on the winner only: whatever must not happen during run() (loading a
  // kernel's module, which inside a caller's CUDA graph capture would fail; setting a kernel's shared
  // memory limit). A failure rejects the implementation with the status's message.
  virtual Status prepare() { return Status::ok(); }
  // Why two runs with the same inputs may give different output bits (e.g. "cuDNN algorithm fft is
  // nondeterministic"); empty when they cannot. PlanOptions::deterministic passes over an implementation
  // that says anything here.
  virtual std::string nondeterminism() const { return {}; }
  // Slots already checked against the problem (used ones non-null, unused ones null, no overlap with
  // the output); the workspace size checked.
  virtual Status run(const TensorArgs& args, void* workspace, size_t workspace_size, void* stream) const = 0;
};

class Backend;

// What an offer sees.
struct OfferContext {
  const Problem& problem;
  const PlanOptions& options;  // autotune; the filters, for offers that choose among sub-variants
  const DeviceInfo* device;    // the device the plan will run on; null for host backends
  const Backend& backend;

  // Whether the options let an implementation of this exact name be chosen; *why gets the reason.
  bool allows(const std::string& name, std::string* why = nullptr) const;
  // Whether the options exclude every implementation whose name starts with `stem` (so an offer can
  // decline before costly work); *why gets the reason.
  bool excludes_all(const std::string& stem, std::string* why = nullptr) const;
};

// An offer's answer: an implementation, or the name (or the family's stem, when the decline comes before
// a name is known) and the reason.
struct Offer {
  std::string name;
  std::string reason;                           // empty when impl is set
  StatusCode code = StatusCode::kNotSupported;  // of a decline: kNotSupported, or kNoDevice/kDeviceError
  std::unique_ptr<Impl> impl;

  static Offer accept(std::unique_ptr<Impl> impl);
  static Offer decline(std::string name, std::string reason, StatusCode code = StatusCode::kNotSupported);
};

using OfferFn = Offer (*)(const OfferContext&);

// The ordered offers of one (op, direction): the first that accepts (and survives the filters) wins.
struct ImplList {
  Op op;
  Direction direction;
  std::vector<OfferFn> offers;
};

class Backend {
 public:
  virtual ~Backend() = default;
  // One of the names in known_backend_names() (src/dispatch/registry.hpp).
  virtual const char* name() const = 0;
  virtual MemorySpace memory_space() const = 0;
  // Whether the backend can run at all now (device present, library loaded). Cheap; cached.
  virtual bool available(std::string* why) const = 0;
  // Whether "auto" may pick this backend (the emulated CUDA backend says no: it is for testing).
  virtual bool auto_eligible(std::string* why) const {
    (void)why;
    return true;
  }
  // Device backends: the current device's properties, which selection uses so that every kernel chosen
  // fits the device it runs on. Host backends: *info stays invalid.
  virtual Status device_info(DeviceInfo* info) const {
    (void)info;
    return Status::ok();
  }
  // The backend's ordered lists, one per (op, direction) it implements.
  virtual const std::vector<ImplList>& lists() const = 0;
};

// The outcome of asking a backend for an implementation.
struct Selection {
  std::unique_ptr<Impl> impl;         // null when nothing accepted
  std::vector<Rejection> rejections;  // every candidate considered and declined, with a reason
  Status status;                      // why impl is null (kNotSupported, kNoDevice, ...)
};

// The walker: the backend's list for the problem's (op, direction), in order; the first offer that
// accepts and that the options allow is prepared and returned. The backend must be available.
Selection select(const Backend& backend, const Problem& problem, const PlanOptions& options);
// The same for a given device description instead of the backend's current device (the performance
// model and tests select for sm_86 or sm_90 on any machine). prepare = false skips Impl::prepare, for a
// selection that will not run on this machine.
Selection select_for_device(const Backend& backend, const Problem& problem, const PlanOptions& options,
                            const DeviceInfo& device, bool prepare);

// Whether options exclude an implementation: its name starts with a skip_implementations prefix, or
// only_implementations is not empty and its name starts with none of those. *why gets the reason.
bool skipped_by_options(const std::string& impl_name, const PlanOptions& options, std::string* why = nullptr);

// The registry, in dispatch order for "auto" (device backends first, the reference last).
const std::vector<const Backend*>& registered_backends();
const Backend* find_backend(const std::string& name);

// Built-in backends (each defined in its own folder; only those compiled in are registered).
const Backend& cpu_reference_backend();  // cpu/
#if defined(DSCONV_HAVE_CUDA)
const Backend& cuda_backend();  // cuda/
// Device timing for "auto"'s autotune (cuda/common/timer.cpp): the median of a few runs of `impl` on
// scratch tensors on the current device, in microseconds; and a key naming that device.
Result<double> time_device_impl_us(const Problem& problem, const Impl& impl);
std::string current_device_key();
#endif
#if defined(DSCONV_HAVE_CUDNN)
const Backend& cudnn_backend();  // cuda/cudnn/
#endif

}  // namespace dsconv::detail
