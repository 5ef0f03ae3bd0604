// The driver's shared toolkit: what `dsconv run`, `dsconv check` and `dsconv bench` have in common.
//
//   ArgParser        flags (--name value, --name=value, boolean switches, repeatable flags, aliases),
//                    positionals, generated --help text; every mistake is a usage error (exit 2).
//   add_problem_flags / problem_from_args
//                    the standard problem flags (--op --n --h --w --c --k --m --o --stride --dilation
//                    --padding --layout --filter-layout --dtype --activation --bias) on top of an
//                    optional descriptor string (Problem::parse), giving a validated Problem.
//   parse_* helpers  "S" or "SH,SW" pairs, SAME|VALID|T,B,L,R padding, positive integers.
//   HostTensor       an aligned host buffer typed by DType (f32/f16/bf16) with float get/set that
//                    round like the library (src/half.hpp); encode/decode the same as plain bytes.
//   Rng, fill_*      a seeded, platform-independent RNG; fills that never produce zeros; NaN poison.
//   TensorSet        the five tensors of a problem (input, filter, pointwise, bias, output) on the
//                    host, allocated from the problem's shapes.
//   DeviceBuffers    the same tensors (and a workspace) in device memory, for plans whose
//                    memory_space() is kDevice; needs DSCONV_HAVE_CUDA, otherwise reports why not.
//   execute          runs a Plan on a TensorSet wherever the plan's memory lives, output back on the host.
//   reference_output / compare_elements / compare
//                    the cpu-ref result (f64 accumulation, stored as f32) and the per-element error
//                    bound rtol * sum|x*w| + atol used to decide PASS/FAIL; the tests' tester judges
//                    outputs with these same functions (tests/support/tester.hpp).
//
// Exit codes shared by every subcommand: kExitOk, kExitFailure (runtime error, or a check that
// failed), kExitUsage (bad command line), kExitUnsupported (the backend cannot plan the problem).
#pragma once

#include <cstddef>
#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "dsconv/config.h"
#include "dsconv/dsconv.hpp"

namespace dsconv::driver {

// ---------------------------------------------------------------------------------------------
// Exit codes
// ---------------------------------------------------------------------------------------------

constexpr int kExitOk = 0;
constexpr int kExitFailure = 1;      // runtime error (file, shape mismatch, device), or check FAIL
constexpr int kExitUsage = 2;        // unknown flag, missing or malformed flag value
constexpr int kExitUnsupported = 3;  // dsconv check: the chosen backend cannot plan this problem

// Prints "dsconv <command>: error: <msg>" (one line) and "(see dsconv <command> --help)" to stderr;
// returns kExitUsage.
int usage_error(std::string_view command, std::string_view msg);
// Prints "dsconv <command>: error: <msg>" to stderr; returns `code`.
int runtime_error(std::string_view command, std::string_view msg, int code = kExitFailure);

// ---------------------------------------------------------------------------------------------
// Command-line parsing
// ---------------------------------------------------------------------------------------------

// Flags are declared first, then parse() reads argv. Accepted spellings: "--name value",
// "--name=value", and for switches (takes_value == false) "--name" alone. A value may start with a
// single '-' ("--seed -1" is a value; a later check rejects it), but "--name --other" is reported as
// a missing value (write "--name=--other" to mean it). "--" ends the flags; what follows is
// positional. -h and --help are always recognized and make help_requested() true.
class ArgParser {
 public:
  // command: "run", "check", ...; summary: the first help line; usage: e.g. "--input X.npy ...".
  ArgParser(std::string command, std::string summary, std::string usage);

  // names: the flag and its aliases without dashes, e.g. {"n", "batch"}; the first is canonical.
  // value_name: shown in help ("S|SH,SW"); empty for switches. repeatable: may appear many times
  // (get_all); otherwise a second occurrence is a usage error.
  ArgParser& flag(std::vector<std::string> names, std::string value_name, std::string help, bool repeatable = false);
  ArgParser& switch_flag(std::vector<std::string> names, std::string help);
  // A positional argument, for help text only; parse() collects positionals in order.
  ArgParser& positional(std::string name, std::string help);
  // Free text appended to --help (examples, exit codes).
  ArgParser& epilog(std::string text);

  // Returns an error message (empty on success). Call help_requested() first when it succeeds.
  std::string parse(int argc, char** argv, int first = 1);

  bool help_requested() const { return help_; }
  std::string help() const;
  const std::string& command() const { return command_; }

  // Lookups use any of a flag's names. has(): given at least once (switches: present).
  bool has(std::string_view name) const;
  // The value of a non-repeatable flag (the last one for repeatable flags); nullopt when absent.
  std::optional<std::string> get(std::string_view name) const;
  std::string get_or(std::string_view name, std::string fallback) const;
  // Every value of a repeatable flag in order, comma-separated values split ("a,b" -> "a", "b").
  std::vector<std::string> get_all(std::string_view name) const;
  const std::vector<std::string>& positionals() const { return positionals_; }

 private:
  struct Spec {
    std::vector<std::string> names;
    std::string value_name;  // empty: a switch
    std::string help;
    bool repeatable = false;
  };
  const Spec* find(std::string_view name) const;

  std::string command_, summary_, usage_, epilog_;
  std::vector<Spec> specs_;
  std::vector<std::pair<std::string, std::string>> positional_help_;
  std::map<std::string, std::vector<std::string>> values_;  // canonical name -> values ("" for switches)
  std::vector<std::string> positionals_;
  bool help_ = false;
};

// Value parsers. Each returns an error message naming the flag ("--stride") and the bad text, or "".
// Integers are decimal, in [min, 2^62], no sign, no trailing junk.
std::string parse_int(std::string_view flag, std::string_view text, int64_t min, int64_t* out);
// "S" -> (S, S); "A,B" -> (A, B); each >= min.
std::string parse_pair(std::string_view flag, std::string_view text, int64_t min, int64_t* a, int64_t* b);
// "SAME", "VALID" (any case) or "T,B,L,R" (explicit, each >= 0); sets desc->padding and pad_*.
std::string parse_padding(std::string_view flag, std::string_view text, ProblemDesc* desc);
// Random 64-bit seed from std::random_device, for a default --seed that differs per run.
uint64_t random_seed();

// ---------------------------------------------------------------------------------------------
// Problem flags
// ---------------------------------------------------------------------------------------------

// Which of the standard flags a command takes.
enum ProblemFlagSet : unsigned {
  kConvFlags = 1u << 0,   // --op --stride --dilation --padding --layout --filter-layout --dtype --activation
  kShapeFlags = 1u << 1,  // --n/--batch --h --w --c --k --m/--multiplier --o/--out-channels
  kBiasSwitch = 1u << 2,  // --bias as a switch (run takes --bias B.npy instead)
  kAllProblemFlags = kConvFlags | kShapeFlags | kBiasSwitch,
};

// Declares the chosen problem flags on `args` with their help text.
void add_problem_flags(ArgParser& args, unsigned which = kAllProblemFlags);

// Applies every problem flag that was given on top of *desc (flags not given leave the field alone).
// Value errors are returned as a message naming the flag ("" on success); nothing is validated
// beyond the flag's own syntax: Problem::create does that.
std::string apply_problem_flags(const ArgParser& args, ProblemDesc* desc);

// A Problem from an optional descriptor (Problem::parse; empty = start from ProblemDesc's defaults)
// with the flags applied on top, then validated. A usage error in the flags and a rejection by
// Problem::create are both returned as kInvalidArgument with the message to print.
Result<Problem> problem_from_args(const ArgParser& args, std::string_view descriptor);

// ---------------------------------------------------------------------------------------------
// Host tensors
// ---------------------------------------------------------------------------------------------

// Raw storage of `dtype` from floats (rounded to nearest even), and back: the bytes a HostTensor holds.
std::vector<uint8_t> encode(DType dtype, const std::vector<float>& values);
std::vector<float> decode(DType dtype, const void* data, int64_t count);

// A host buffer of `elements` values of one DType, 64-byte aligned (so SIMD backends see what an
// engine would give them). Elements are read and written as float; writes round to nearest even.
// A default-constructed tensor is absent (0 elements, e.g. no bias); shape {} is a 1-element scalar.
class HostTensor {
 public:
  HostTensor() = default;
  HostTensor(DType dtype, std::vector<int64_t> shape);
  HostTensor(HostTensor&&) noexcept = default;
  HostTensor& operator=(HostTensor&&) noexcept = default;
  HostTensor(const HostTensor& other);
  HostTensor& operator=(const HostTensor& other);

  DType dtype() const { return dtype_; }
  const std::vector<int64_t>& shape() const { return shape_; }
  int64_t elements() const { return elements_; }
  size_t bytes() const { return static_cast<size_t>(elements_) * dtype_size(dtype_); }
  bool empty() const { return elements_ == 0; }
  void* data() { return data_.get(); }
  const void* data() const { return data_.get(); }

  float get(int64_t i) const;
  void set(int64_t i, float v);  // rounds to dtype
  std::vector<float> to_floats() const;
  // A tensor of `dtype` holding `values` rounded to it (values.size() must equal prod(shape)).
  static HostTensor from_floats(DType dtype, std::vector<int64_t> shape, const std::vector<float>& values);
  // The same values in another dtype (exact when widening, rounded when narrowing).
  HostTensor converted(DType to) const;

 private:
  struct Free {
    void operator()(void* p) const;
  };
  DType dtype_ = DType::kF32;
  std::vector<int64_t> shape_;
  int64_t elements_ = 0;
  std::unique_ptr<void, Free> data_;
};

// ---------------------------------------------------------------------------------------------
// Random data and poison
// ---------------------------------------------------------------------------------------------

// splitmix64: the same sequence on every platform and standard library (std:: distributions are not).
class Rng {
 public:
  explicit Rng(uint64_t seed) : state_(seed) {}
  uint64_t next();
  double uniform();                         // [0, 1)
  int64_t integer(int64_t lo, int64_t hi);  // [lo, hi]

 private:
  uint64_t state_;
};

// Uniform magnitude in [min_abs, max_abs] with a random sign; min_abs > 0 so no value is zero
// (after rounding to the tensor's dtype too).
void fill_uniform_nonzero(HostTensor& t, Rng& rng, float min_abs = 0.125f, float max_abs = 1.0f);
// Integers in [-max_abs, max_abs] \ {0}: every product and sum is exact in f32 (for logic tests).
void fill_small_integers(HostTensor& t, Rng& rng, int max_abs = 3);
// Every element NaN (a quiet NaN of the tensor's dtype), so an element a kernel never wrote is caught.
void poison_nan(HostTensor& t);
// Number of NaN elements.
int64_t count_nan(const HostTensor& t);

// ---------------------------------------------------------------------------------------------
// A problem's tensors
// ---------------------------------------------------------------------------------------------

// Host tensors shaped from a Problem (pointwise empty unless separable; bias empty unless has_bias).
struct TensorSet {
  HostTensor input, filter, pointwise, bias, output;

  static TensorSet allocate(const Problem& p);
  // Fills input/filter/pointwise/bias from one seed (never zeros) and poisons the output.
  void fill_random(uint64_t seed);
  // Tensors view of these buffers (nullptr for empty pointwise/bias), for host plans.
  Tensors view();
};

// Device copies of a TensorSet plus the plan's workspace, for plans with MemorySpace::kDevice.
// Move-only; frees everything it allocated. Without DSCONV_HAVE_CUDA, create() returns
// kBackendUnavailable.
class DeviceBuffers {
 public:
  DeviceBuffers() = default;
  DeviceBuffers(DeviceBuffers&& o) noexcept;
  DeviceBuffers& operator=(DeviceBuffers&& o) noexcept;
  DeviceBuffers(const DeviceBuffers&) = delete;
  DeviceBuffers& operator=(const DeviceBuffers&) = delete;
  ~DeviceBuffers();

  // Allocates device buffers for every non-empty tensor of `host` and `workspace_bytes`, and
  // uploads all of them (the output too, so its poison reaches the device).
  static Result<DeviceBuffers> create(const TensorSet& host, size_t workspace_bytes);
  Tensors view() const;
  void* workspace() const { return workspace_; }
  size_t workspace_bytes() const { return workspace_bytes_; }
  // Copies the device output back into *out (same size as at create()).
  Status download_output(HostTensor* out) const;
  // Re-uploads the host output (e.g. the poison) before another run.
  Status upload_output(const HostTensor& out) const;

 private:
  void release() noexcept;
  void* input_ = nullptr;
  void* filter_ = nullptr;
  void* pointwise_ = nullptr;
  void* bias_ = nullptr;
  void* output_ = nullptr;
  void* workspace_ = nullptr;
  size_t output_bytes_ = 0, workspace_bytes_ = 0;
};

// Where a run's memory lives: host plans run on the caller's buffers; device plans through
// DeviceBuffers on a stream made for the purpose (never the default stream), synchronized before
// returning. Either way `tensors->output` holds the result afterwards.
Status execute(const Plan& plan, TensorSet* tensors);

// ---------------------------------------------------------------------------------------------
// Reference and comparison
// ---------------------------------------------------------------------------------------------

// Unit roundoff of a storage type: 2^-24 (f32), 2^-11 (f16), 2^-8 (bf16).
double unit_roundoff(DType dt);
// Products summed into one output element: KH*KW (depthwise), KH*KW*C (conv2d), KH*KW + C*M (separable).
int64_t accumulation_terms(const Problem& p);
// Relative tolerance (bound_i / S_i) for a problem: the dtype's roundings of the output, of separable's
// intermediate and of a separately added bias, plus f32 accumulation in any order (grows as sqrt(terms)).
double relative_tolerance(const Problem& p);
// The absolute slack of every bound: the smallest normal of the dtype (backends may flush subnormals).
double absolute_tolerance(DType dt);

// The cpu-ref output for the tensors' current input values, computed as an f32 problem on the
// (already dtype-rounded) values: f64 accumulation, one rounding to f32, none to the dtype. With
// absolute = true the inputs are replaced by |x|, |w|, |pw|, |bias| and the activation dropped:
// element i is then S_i = sum |x*w| (+|bias|), the scale of element i's rounding error.
Result<HostTensor> reference_output(const Problem& p, const TensorSet& t, bool absolute = false);

struct Comparison {
  static constexpr size_t kListedFailures = 10;

  bool pass = false;
  int64_t elements = 0;
  int64_t failures = 0;        // elements outside their bound (NaN counts)
  int64_t nan_count = 0;       // NaN in the output (e.g. never written)
  double max_abs_err = 0;      // max |y - ref| over finite y
  double max_rel_err = 0;      // max |y - ref| / S_i (S_i = sum|x*w|): error relative to the terms' size
  double max_bound_ratio = 0;  // max |y - ref| / bound_i (> 1 fails; infinite for NaN/inf, or any error on bound 0)
  int64_t worst_index = -1;    // element with the largest bound ratio (or the first NaN)
  double worst_value = 0, worst_ref = 0;
  double rel_tolerance = 0;  // bound_i = rel_tolerance * S_i + abs_tolerance
  double abs_tolerance = 0;
  std::vector<int64_t> first_failures;  // indices of the first kListedFailures failing elements
  std::string summary() const;          // one line: counts, errors, tolerance, worst element
};

// The element-wise check: element i passes when got_i is finite and |got_i - expected_i| <= rtol * scale_i
// + atol (written so that NaN fails). `got` holds n values of got_dtype; expected and scale n floats.
Comparison compare_elements(DType got_dtype, const void* got, const float* expected, const float* scale, int64_t n,
                            double rtol, double atol);

// compare_elements on a problem's output with its tolerances (relative_tolerance, absolute_tolerance),
// where ref and scale are f32 from reference_output(..., absolute = false / true); otherwise (or when
// the sizes differ) every element fails.
Comparison compare(const Problem& p, const HostTensor& output, const HostTensor& ref, const HostTensor& scale);

}  // namespace dsconv::driver
