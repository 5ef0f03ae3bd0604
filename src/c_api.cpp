// The C API: thin wrappers over the C++ API. Three rules hold for every entry point:
//  - no C++ exception escapes (std::bad_alloc and anything else become DSCONV_STATUS_INTERNAL_ERROR);
//  - a failure records "function: message" in a thread-local string returned by dsconv_last_error();
//    successful calls leave the last message alone, so it stays "the last failed call";
//  - a handle argument is checked against the set of live handles of its kind before it is used, so a
//    destroyed, foreign or wrong-kind handle is DSCONV_STATUS_INVALID_ARGUMENT, never a read of freed
//    or unrelated memory;
//  - a null pointer argument is DSCONV_STATUS_INVALID_ARGUMENT naming the argument. The destroy
//    functions are the exception: like free(), they accept NULL, so cleanup code can call them
//    unconditionally without overwriting the error that sent it there.
#include <cstring>
#include <exception>
#include <memory>
#include <mutex>
#include <new>
#include <shared_mutex>
#include <string>
#include <unordered_set>
#include <utility>
#include <vector>

#include "dsconv/dsconv.h"
#include "dsconv/dsconv.hpp"

struct dsconv_problem {
  dsconv::Problem problem;
};
struct dsconv_plan {
  dsconv::Plan plan;
};

namespace {

thread_local std::string t_last_error;
thread_local const char* t_last_error_ptr = "";

void set_last_error(const char* func, const std::string& msg) noexcept {
  try {
    t_last_error = std::string(func) + ": " + msg;
    t_last_error_ptr = t_last_error.c_str();
  } catch (...) {
    t_last_error_ptr = "out of memory while recording an error message";
  }
}

dsconv_status_t fail(const char* func, dsconv_status_t code, const std::string& msg) noexcept {
  set_last_error(func, msg);
  return code;
}

dsconv_status_t fail(const char* func, const dsconv::Status& s) noexcept {
  set_last_error(func, s.message());
  return static_cast<dsconv_status_t>(s.code());
}

dsconv_status_t null_arg(const char* func, const char* arg) noexcept {
  return fail(func, DSCONV_STATUS_INVALID_ARGUMENT, std::string(arg) + " is null");
}

// The versioned C structs (dsconv.h): a struct_size this library knows. There is one layout so far; a later
// one appends fields and accepts the earlier sizes too, reading only their fields.
dsconv_status_t check_struct_size(const char* func, const char* arg, const char* type, size_t got,
                                  size_t ours) noexcept {
  if (got == ours) return DSCONV_STATUS_SUCCESS;
  return fail(func, DSCONV_STATUS_INVALID_ARGUMENT,
              std::string(arg) + "->struct_size is " + std::to_string(got) + "; this library's " + type + "_t is " +
                  std::to_string(ours) + " bytes (fill the struct with " + type + "_init first)");
}

// For the init functions, which return nothing: whether `size` is a layout this library knows. If not, the
// error is recorded and only struct_size is written (when the caller's struct holds it), so that a create
// with the struct refuses it by name.
bool struct_size_known(const char* func, const char* arg, size_t size, size_t ours, size_t* struct_size) noexcept {
  if (size == ours) return true;
  if (size >= sizeof(size_t)) *struct_size = size;
  set_last_error(func, std::string(arg) + " is " + std::to_string(size) + "; this library's struct is " +
                           std::to_string(ours) + " bytes (a header of another version?)");
  return false;
}

// Runs body() and turns any exception into DSCONV_STATUS_INTERNAL_ERROR.
template <class Body>
dsconv_status_t guarded(const char* func, Body&& body) noexcept {
  try {
    return body();
  } catch (const std::bad_alloc&) {
    return fail(func, DSCONV_STATUS_INTERNAL_ERROR, "out of memory");
  } catch (const std::exception& e) {
    return fail(func, DSCONV_STATUS_INTERNAL_ERROR, std::string("unexpected exception: ") + e.what());
  } catch (...) {
    return fail(func, DSCONV_STATUS_INTERNAL_ERROR, "unexpected exception");
  }
}

// Every live handle, by kind. A handle argument is looked up here before anything reads through it, so
// a destroyed handle, a handle of the other kind, or any other pointer (a foreign or misaligned one) is
// reported without touching the memory it points to. A destroyed handle whose address a new handle of
// the same kind has taken is that new handle: C handles are addresses.
struct LiveHandles {
  std::shared_mutex mu;
  std::unordered_set<const void*> problems, plans;
};
LiveHandles& live_handles() {
  static LiveHandles* h = new LiveHandles;  // never destroyed: cleanup may run during static destruction
  return *h;
}

bool is_live(const std::unordered_set<const void*>& set, const void* p) {
  std::shared_lock<std::shared_mutex> lock(live_handles().mu);
  return set.count(p) != 0;
}

// Returns SUCCESS or the error for a problem handle that is null or not a live problem.
dsconv_status_t check_problem(const char* func, const char* arg, dsconv_problem_t p) noexcept {
  if (p == nullptr) return null_arg(func, arg);
  if (!is_live(live_handles().problems, p))
    return fail(func, DSCONV_STATUS_INVALID_ARGUMENT,
                std::string(arg) +
                    " is not a live dsconv_problem_t (destroyed, another kind of handle, or not made by dsconv)");
  return DSCONV_STATUS_SUCCESS;
}
dsconv_status_t check_plan(const char* func, const char* arg, dsconv_plan_t p) noexcept {
  if (p == nullptr) return null_arg(func, arg);
  if (!is_live(live_handles().plans, p))
    return fail(
        func, DSCONV_STATUS_INVALID_ARGUMENT,
        std::string(arg) + " is not a live dsconv_plan_t (destroyed, another kind of handle, or not made by dsconv)");
  return DSCONV_STATUS_SUCCESS;
}

// Registers a new handle (on failure to do so, nothing is leaked and the caller gets the exception).
template <class H>
H* register_handle(std::unordered_set<const void*>& set, std::unique_ptr<H> h) {
  std::unique_lock<std::shared_mutex> lock(live_handles().mu);
  set.insert(h.get());
  return h.release();
}

// Removes a live handle; false when it is not one (then nothing is freed).
bool unregister_handle(std::unordered_set<const void*>& set, const void* p) {
  std::unique_lock<std::shared_mutex> lock(live_handles().mu);
  return set.erase(p) != 0;
}

// A C enum field as the int the caller stored: C lets a caller store any int there, and reading the
// field through its enum type in C++ would be undefined for a value outside the enumerators' range.
template <class E>
int enum_int(const E& field) {
  static_assert(sizeof(E) == sizeof(int), "the C API's enums are int-sized");
  int v;
  std::memcpy(&v, &field, sizeof v);
  return v;
}

dsconv::ProblemDesc to_cpp(const dsconv_problem_desc_t& c) {
  // Enum values are copied as integers; Problem::create rejects out-of-range ones by name.
  dsconv::ProblemDesc d;
  d.op = static_cast<dsconv::Op>(enum_int(c.op));
  d.batch = c.batch;
  d.height = c.height;
  d.width = c.width;
  d.channels = c.channels;
  d.kernel_h = c.kernel_h;
  d.kernel_w = c.kernel_w;
  d.multiplier = c.multiplier;
  d.out_channels = c.out_channels;
  d.stride_h = c.stride_h;
  d.stride_w = c.stride_w;
  d.dilation_h = c.dilation_h;
  d.dilation_w = c.dilation_w;
  d.padding = static_cast<dsconv::PaddingMode>(enum_int(c.padding));
  d.pad_top = c.pad_top;
  d.pad_bottom = c.pad_bottom;
  d.pad_left = c.pad_left;
  d.pad_right = c.pad_right;
  d.layout = static_cast<dsconv::Layout>(enum_int(c.layout));
  d.filter_layout = static_cast<dsconv::FilterLayout>(enum_int(c.filter_layout));
  d.dtype = static_cast<dsconv::DType>(enum_int(c.dtype));
  d.has_bias = c.has_bias != 0;
  d.activation = static_cast<dsconv::Activation>(enum_int(c.activation));
  d.direction = static_cast<dsconv::Direction>(enum_int(c.direction));
  d.has_residual = c.has_residual != 0;
  return d;
}

// A C string array (count entries, none null) as prefixes; false with *why when an entry is null.
bool read_prefixes(const char* const* list, size_t count, const char* field, std::vector<std::string>* out,
                   std::string* why) {
  if (count > 0 && list == nullptr) {
    *why = std::string("options.") + field + " is null but its count is " + std::to_string(count);
    return false;
  }
  for (size_t i = 0; i < count; ++i) {
    if (list[i] == nullptr) {
      *why = std::string("options.") + field + "[" + std::to_string(i) + "] is null";
      return false;
    }
    out->emplace_back(list[i]);
  }
  return true;
}

dsconv_status_t new_problem(const char* func, dsconv_problem_t* out, dsconv::Result<dsconv::Problem> r) {
  if (!r) return fail(func, r.status());
  *out =
      register_handle(live_handles().problems, std::make_unique<dsconv_problem>(dsconv_problem{std::move(r).value()}));
  return DSCONV_STATUS_SUCCESS;
}

dsconv_status_t create_plan(const char* func, dsconv_plan_t* plan, dsconv_problem_t problem, const char* backend,
                            const dsconv_plan_options_t* options) {
  if (plan == nullptr) return null_arg(func, "plan");
  *plan = nullptr;
  if (dsconv_status_t s = check_problem(func, "problem", problem)) return s;
  dsconv::PlanOptions opts;
  if (options != nullptr) {
    if (dsconv_status_t s =
            check_struct_size(func, "options", "dsconv_plan_options", options->struct_size, sizeof *options))
      return s;
    std::string why;
    if (!read_prefixes(options->skip_implementations, options->skip_count, "skip_implementations",
                       &opts.skip_implementations, &why) ||
        !read_prefixes(options->only_implementations, options->only_count, "only_implementations",
                       &opts.only_implementations, &why))
      return fail(func, DSCONV_STATUS_INVALID_ARGUMENT, why);
    opts.autotune = options->autotune != 0;
    opts.deterministic = options->deterministic != 0;
    opts.allow_tf32 = options->allow_tf32 != 0;
  }
  dsconv::Result<dsconv::Plan> r = dsconv::Plan::create(problem->problem, backend == nullptr ? "auto" : backend, opts);
  if (!r) return fail(func, r.status());
  *plan = register_handle(live_handles().plans, std::make_unique<dsconv_plan>(dsconv_plan{std::move(r).value()}));
  return DSCONV_STATUS_SUCCESS;
}

}  // namespace

extern "C" {

const char* dsconv_last_error(void) { return t_last_error_ptr; }

const char* dsconv_version(void) { return dsconv::version(); }

void dsconv_problem_desc_init_sized(dsconv_problem_desc_t* desc, size_t desc_size) {
  if (desc == nullptr) {
    set_last_error(__func__, "desc is null");
    return;
  }
  if (!struct_size_known(__func__, "desc_size", desc_size, sizeof *desc, &desc->struct_size)) return;
  const dsconv::ProblemDesc d;  // the C defaults are the C++ defaults
  std::memset(desc, 0, sizeof *desc);
  desc->struct_size = desc_size;
  desc->op = static_cast<dsconv_op_t>(d.op);
  desc->batch = d.batch;
  desc->height = d.height;
  desc->width = d.width;
  desc->channels = d.channels;
  desc->kernel_h = d.kernel_h;
  desc->kernel_w = d.kernel_w;
  desc->multiplier = d.multiplier;
  desc->out_channels = d.out_channels;
  desc->stride_h = d.stride_h;
  desc->stride_w = d.stride_w;
  desc->dilation_h = d.dilation_h;
  desc->dilation_w = d.dilation_w;
  desc->padding = static_cast<dsconv_padding_t>(d.padding);
  desc->pad_top = d.pad_top;
  desc->pad_bottom = d.pad_bottom;
  desc->pad_left = d.pad_left;
  desc->pad_right = d.pad_right;
  desc->layout = static_cast<dsconv_layout_t>(d.layout);
  desc->filter_layout = static_cast<dsconv_filter_layout_t>(d.filter_layout);
  desc->dtype = static_cast<dsconv_dtype_t>(d.dtype);
  desc->has_bias = d.has_bias ? 1 : 0;
  desc->activation = static_cast<dsconv_activation_t>(d.activation);
  desc->direction = static_cast<dsconv_direction_t>(d.direction);
  desc->has_residual = d.has_residual ? 1 : 0;
}

void dsconv_plan_options_init_sized(dsconv_plan_options_t* options, size_t options_size) {
  if (options == nullptr) {
    set_last_error(__func__, "options is null");
    return;
  }
  if (!struct_size_known(__func__, "options_size", options_size, sizeof *options, &options->struct_size)) return;
  std::memset(options, 0, sizeof *options);
  options->struct_size = options_size;
}

dsconv_status_t dsconv_problem_create(dsconv_problem_t* problem, const dsconv_problem_desc_t* desc) {
  static constexpr const char* kFunc = "dsconv_problem_create";
  return guarded(kFunc, [&] {
    if (problem == nullptr) return null_arg(kFunc, "problem");
    *problem = nullptr;
    if (desc == nullptr) return null_arg(kFunc, "desc");
    if (dsconv_status_t s = check_struct_size(kFunc, "desc", "dsconv_problem_desc", desc->struct_size, sizeof *desc))
      return s;
    return new_problem(kFunc, problem, dsconv::Problem::create(to_cpp(*desc)));
  });
}

dsconv_status_t dsconv_problem_parse(dsconv_problem_t* problem, const char* descriptor) {
  static constexpr const char* kFunc = "dsconv_problem_parse";
  return guarded(kFunc, [&] {
    if (problem == nullptr) return null_arg(kFunc, "problem");
    *problem = nullptr;
    if (descriptor == nullptr) return null_arg(kFunc, "descriptor");
    return new_problem(kFunc, problem, dsconv::Problem::parse(descriptor));
  });
}

dsconv_status_t dsconv_problem_destroy(dsconv_problem_t problem) {
  static constexpr const char* kFunc = "dsconv_problem_destroy";
  return guarded(kFunc, [&] {
    if (problem == nullptr) return DSCONV_STATUS_SUCCESS;
    if (!unregister_handle(live_handles().problems, problem)) return check_problem(kFunc, "problem", problem);
    delete problem;
    return DSCONV_STATUS_SUCCESS;
  });
}

dsconv_status_t dsconv_problem_output_shape(dsconv_problem_t problem, int64_t dims[4]) {
  static constexpr const char* kFunc = "dsconv_problem_output_shape";
  return guarded(kFunc, [&] {
    if (dsconv_status_t s = check_problem(kFunc, "problem", problem)) return s;
    if (dims == nullptr) return null_arg(kFunc, "dims");
    const std::vector<int64_t> shape = problem->problem.output_shape();
    for (size_t i = 0; i < 4; ++i) dims[i] = shape[i];
    return DSCONV_STATUS_SUCCESS;
  });
}

dsconv_status_t dsconv_problem_descriptor(dsconv_problem_t problem, char* buf, size_t buf_size, size_t* needed) {
  static constexpr const char* kFunc = "dsconv_problem_descriptor";
  return guarded(kFunc, [&] {
    if (dsconv_status_t s = check_problem(kFunc, "problem", problem)) return s;
    const std::string d = problem->problem.descriptor();
    const size_t need = d.size() + 1;
    if (needed != nullptr) *needed = need;
    if (buf == nullptr) {
      // buf == NULL with buf_size == 0 is the size query; needed must then be there to receive it.
      if (buf_size != 0)
        return fail(kFunc, DSCONV_STATUS_INVALID_ARGUMENT, "buf is null but buf_size is " + std::to_string(buf_size));
      if (needed == nullptr) return fail(kFunc, DSCONV_STATUS_INVALID_ARGUMENT, "buf and needed are both null");
      return DSCONV_STATUS_SUCCESS;
    }
    if (buf_size < need)  // nothing written: a truncated descriptor would parse as a different problem
      return fail(kFunc, DSCONV_STATUS_INVALID_ARGUMENT,
                  "buf_size is " + std::to_string(buf_size) + " bytes; the descriptor needs " + std::to_string(need));
    std::memcpy(buf, d.c_str(), need);
    return DSCONV_STATUS_SUCCESS;
  });
}

dsconv_status_t dsconv_plan_create(dsconv_plan_t* plan, dsconv_problem_t problem, const char* backend) {
  static constexpr const char* kFunc = "dsconv_plan_create";
  return guarded(kFunc, [&] { return create_plan(kFunc, plan, problem, backend, nullptr); });
}

dsconv_status_t dsconv_plan_create_with_options(dsconv_plan_t* plan, dsconv_problem_t problem, const char* backend,
                                                const dsconv_plan_options_t* options) {
  static constexpr const char* kFunc = "dsconv_plan_create_with_options";
  return guarded(kFunc, [&] { return create_plan(kFunc, plan, problem, backend, options); });
}

dsconv_status_t dsconv_plan_destroy(dsconv_plan_t plan) {
  static constexpr const char* kFunc = "dsconv_plan_destroy";
  return guarded(kFunc, [&] {
    if (plan == nullptr) return DSCONV_STATUS_SUCCESS;
    if (!unregister_handle(live_handles().plans, plan)) return check_plan(kFunc, "plan", plan);
    delete plan;
    return DSCONV_STATUS_SUCCESS;
  });
}

dsconv_status_t dsconv_plan_workspace_size(dsconv_plan_t plan, size_t* bytes) {
  static constexpr const char* kFunc = "dsconv_plan_workspace_size";
  return guarded(kFunc, [&] {
    if (dsconv_status_t s = check_plan(kFunc, "plan", plan)) return s;
    if (bytes == nullptr) return null_arg(kFunc, "bytes");
    *bytes = plan->plan.workspace_bytes();
    return DSCONV_STATUS_SUCCESS;
  });
}

dsconv_status_t dsconv_plan_backend(dsconv_plan_t plan, const char** name) {
  static constexpr const char* kFunc = "dsconv_plan_backend";
  return guarded(kFunc, [&] {
    if (dsconv_status_t s = check_plan(kFunc, "plan", plan)) return s;
    if (name == nullptr) return null_arg(kFunc, "name");
    *name = plan->plan.backend().c_str();
    return DSCONV_STATUS_SUCCESS;
  });
}

dsconv_status_t dsconv_plan_implementation(dsconv_plan_t plan, const char** name) {
  static constexpr const char* kFunc = "dsconv_plan_implementation";
  return guarded(kFunc, [&] {
    if (dsconv_status_t s = check_plan(kFunc, "plan", plan)) return s;
    if (name == nullptr) return null_arg(kFunc, "name");
    *name = plan->plan.implementation().c_str();
    return DSCONV_STATUS_SUCCESS;
  });
}

dsconv_status_t dsconv_plan_uses_device_memory(dsconv_plan_t plan, int* on_device) {
  static constexpr const char* kFunc = "dsconv_plan_uses_device_memory";
  return guarded(kFunc, [&] {
    if (dsconv_status_t s = check_plan(kFunc, "plan", plan)) return s;
    if (on_device == nullptr) return null_arg(kFunc, "on_device");
    *on_device = plan->plan.memory_space() == dsconv::MemorySpace::kDevice ? 1 : 0;
    return DSCONV_STATUS_SUCCESS;
  });
}

dsconv_status_t dsconv_plan_run(dsconv_plan_t plan, const void* input, const void* filter, const void* pointwise,
                                const void* bias, void* output, void* workspace, size_t workspace_size, void* stream) {
  static constexpr const char* kFunc = "dsconv_plan_run";
  return guarded(kFunc, [&] {
    if (dsconv_status_t s = check_plan(kFunc, "plan", plan)) return s;
    // Named here as the C arguments; the pointwise/bias/workspace rules are Plan::run's.
    if (input == nullptr) return null_arg(kFunc, "input");
    if (filter == nullptr) return null_arg(kFunc, "filter");
    if (output == nullptr) return null_arg(kFunc, "output");
    dsconv::Tensors t;
    t.input = input;
    t.filter = filter;
    t.pointwise = pointwise;
    t.bias = bias;
    t.output = output;
    const dsconv::Status s = plan->plan.run(t, workspace, workspace_size, stream);
    if (!s) return fail(kFunc, s);
    return DSCONV_STATUS_SUCCESS;
  });
}

dsconv_status_t dsconv_plan_execute(dsconv_plan_t plan, size_t nargs, const dsconv_exec_arg_t* args, void* workspace,
                                    size_t workspace_size, void* stream) {
  static constexpr const char* kFunc = "dsconv_plan_execute";
  return guarded(kFunc, [&] {
    if (dsconv_status_t s = check_plan(kFunc, "plan", plan)) return s;
    if (nargs > 0 && args == nullptr) return null_arg(kFunc, "args");
    dsconv::TensorArgs t;
    bool seen[DSCONV_ARG_COUNT] = {};
    for (size_t i = 0; i < nargs; ++i) {
      const int slot = enum_int(args[i].arg);
      if (slot < 0 || slot >= DSCONV_ARG_COUNT)
        return fail(kFunc, DSCONV_STATUS_INVALID_ARGUMENT,
                    "args[" + std::to_string(i) + "].arg has invalid value " + std::to_string(slot));
      if (seen[slot])
        return fail(
            kFunc, DSCONV_STATUS_INVALID_ARGUMENT,
            "args[" + std::to_string(i) + "] repeats slot " + dsconv::to_string(static_cast<dsconv::Arg>(slot)));
      seen[slot] = true;
      t.set(static_cast<dsconv::Arg>(slot), args[i].data);
    }
    const dsconv::Status s = plan->plan.run(t, workspace, workspace_size, stream);
    if (!s) return fail(kFunc, s);
    return DSCONV_STATUS_SUCCESS;
  });
}

}  // extern "C"
