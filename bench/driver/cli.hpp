// The driver's command line: what `dsconv run`, `dsconv check` and `dsconv bench` parse alike. The data,
// the runs and the verdicts come from the toolkit shared with the tests (tools/common/).
//
//   ArgParser        flags (--name value, --name=value, boolean switches, repeatable flags, aliases),
//                    positionals, generated --help text; every mistake is a usage error (exit 2).
//   add_problem_flags / problem_from_args
//                    the standard problem flags (--op --n --h --w --c --k --m --o --stride --dilation
//                    --padding --layout --filter-layout --dtype --activation --bias) on top of an
//                    optional descriptor string (Problem::parse), giving a validated Problem.
//   parse_* helpers  "S" or "SH,SW" pairs, SAME|VALID|T,B,L,R padding, positive integers.
//   add_impl_flags / impl_options
//                    --impl and --skip-impl, mapped to PlanOptions.
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
// Implementation filters
// ---------------------------------------------------------------------------------------------

// Declares --impl NAME_PREFIX and --skip-impl NAME_PREFIX (repeatable, comma lists: benchdnn's --impl and
// --skip-impl), --deterministic and --allow-tf32; `whose` says whose plan they restrict in the help text ("" for the
// command's only plan).
void add_impl_flags(ArgParser& args, const std::string& whose = "");
// PlanOptions::only_implementations from --impl, skip_implementations from --skip-impl, deterministic from
// --deterministic, allow_tf32 from --allow-tf32.
PlanOptions impl_options(const ArgParser& args);

}  // namespace dsconv::driver
