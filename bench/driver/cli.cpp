#include "bench/driver/cli.hpp"

#include <cctype>
#include <cstdio>
#include <random>
#include <sstream>
#include <utility>

namespace dsconv::driver {

// ---------------------------------------------------------------------------------------------
// Exit codes and messages
// ---------------------------------------------------------------------------------------------

int usage_error(std::string_view command, std::string_view msg) {
  std::fprintf(stderr, "dsconv %.*s: error: %.*s\n(see dsconv %.*s --help)\n", static_cast<int>(command.size()),
               command.data(), static_cast<int>(msg.size()), msg.data(), static_cast<int>(command.size()),
               command.data());
  return kExitUsage;
}

int runtime_error(std::string_view command, std::string_view msg, int code) {
  std::fprintf(stderr, "dsconv %.*s: error: %.*s\n", static_cast<int>(command.size()), command.data(),
               static_cast<int>(msg.size()), msg.data());
  return code;
}

// ---------------------------------------------------------------------------------------------
// ArgParser
// ---------------------------------------------------------------------------------------------

ArgParser::ArgParser(std::string command, std::string summary, std::string usage)
    : command_(std::move(command)), summary_(std::move(summary)), usage_(std::move(usage)) {}

ArgParser& ArgParser::flag(std::vector<std::string> names, std::string value_name, std::string help, bool repeatable) {
  specs_.push_back({std::move(names), std::move(value_name), std::move(help), repeatable});
  return *this;
}

ArgParser& ArgParser::switch_flag(std::vector<std::string> names, std::string help) {
  specs_.push_back({std::move(names), "", std::move(help), false});
  return *this;
}

ArgParser& ArgParser::positional(std::string name, std::string help) {
  positional_help_.emplace_back(std::move(name), std::move(help));
  return *this;
}

ArgParser& ArgParser::epilog(std::string text) {
  epilog_ = std::move(text);
  return *this;
}

const ArgParser::Spec* ArgParser::find(std::string_view name) const {
  for (const Spec& s : specs_)
    for (const std::string& n : s.names)
      if (n == name) return &s;
  return nullptr;
}

std::string ArgParser::parse(int argc, char** argv, int first) {
  values_.clear();
  positionals_.clear();
  help_ = false;
  bool only_positionals = false;
  for (int i = first; i < argc; ++i) {
    const std::string arg = argv[i];
    if (only_positionals || arg.size() < 2 || arg[0] != '-') {
      positionals_.push_back(arg);
      continue;
    }
    if (arg == "--") {
      only_positionals = true;
      continue;
    }
    if (arg == "-h" || arg == "--help") {
      help_ = true;
      continue;
    }
    if (arg[1] != '-') return "unknown option '" + arg + "' (flags are spelled --name)";
    std::string name = arg.substr(2);
    std::optional<std::string> value;
    if (const size_t eq = name.find('='); eq != std::string::npos) {
      value = name.substr(eq + 1);
      name.resize(eq);
    }
    const Spec* spec = find(name);
    if (spec == nullptr) return "unknown flag '--" + name + "'";
    const std::string& canonical = spec->names.front();
    if (spec->value_name.empty()) {
      if (value) return "--" + name + " takes no value (got '" + *value + "')";
      value = "";
    } else if (!value) {
      if (i + 1 >= argc) return "--" + name + " needs a value (" + spec->value_name + ")";
      // "--input --filter w.npy" is a forgotten value, not a file named "--filter".
      const std::string next = argv[i + 1];
      if (next.size() > 2 && next[0] == '-' && next[1] == '-')
        return "--" + name + " needs a value (" + spec->value_name + "), got the flag '" + next + "'";
      value = next;
      ++i;
    }
    std::vector<std::string>& slot = values_[canonical];
    if (!slot.empty() && !spec->repeatable) return "--" + name + " is given more than once";
    slot.push_back(*value);
  }
  return "";
}

bool ArgParser::has(std::string_view name) const {
  const Spec* s = find(name);
  return s != nullptr && values_.count(s->names.front()) != 0;
}

std::optional<std::string> ArgParser::get(std::string_view name) const {
  const Spec* s = find(name);
  if (s == nullptr) return std::nullopt;
  auto it = values_.find(s->names.front());
  if (it == values_.end() || it->second.empty()) return std::nullopt;
  return it->second.back();
}

std::string ArgParser::get_or(std::string_view name, std::string fallback) const {
  std::optional<std::string> v = get(name);
  return v ? *v : fallback;
}

std::vector<std::string> ArgParser::get_all(std::string_view name) const {
  std::vector<std::string> out;
  const Spec* s = find(name);
  if (s == nullptr) return out;
  auto it = values_.find(s->names.front());
  if (it == values_.end()) return out;
  for (const std::string& v : it->second) {
    std::string cur;
    for (char ch : v) {
      if (ch == ',') {
        if (!cur.empty()) out.push_back(cur);
        cur.clear();
      } else {
        cur += ch;
      }
    }
    if (!cur.empty()) out.push_back(cur);
  }
  return out;
}

std::string ArgParser::help() const {
  std::ostringstream os;
  os << "dsconv " << command_ << ": " << summary_ << "\n\nusage: dsconv " << command_ << " " << usage_ << "\n";
  if (!positional_help_.empty()) {
    os << "\narguments:\n";
    for (const auto& [name, text] : positional_help_) os << "  " << name << "\n      " << text << "\n";
  }
  os << "\nflags:\n";
  for (const Spec& s : specs_) {
    std::string line = "  ";
    for (size_t i = 0; i < s.names.size(); ++i) line += (i ? ", --" : "--") + s.names[i];
    if (!s.value_name.empty()) line += " " + s.value_name;
    if (s.repeatable) line += " (repeatable)";
    os << line << "\n      " << s.help << "\n";
  }
  os << "  -h, --help\n      show this help\n";
  if (!epilog_.empty()) os << "\n" << epilog_ << (epilog_.back() == '\n' ? "" : "\n");
  return os.str();
}

// ---------------------------------------------------------------------------------------------
// Value parsers
// ---------------------------------------------------------------------------------------------

std::string parse_int(std::string_view flag, std::string_view text, int64_t min, int64_t* out) {
  auto bad = [&](const std::string& why) {
    return std::string(flag) + ": " + why + ", got '" + std::string(text) + "'";
  };
  if (text.empty()) return bad("expected an integer");
  int64_t v = 0;
  for (char ch : text) {
    if (ch < '0' || ch > '9') return bad(min >= 0 ? "expected a non-negative integer" : "expected an integer");
    if (v > (int64_t{1} << 62) / 10) return bad("value is too large");
    v = v * 10 + (ch - '0');
  }
  if (v < min) return bad("must be >= " + std::to_string(min));
  *out = v;
  return "";
}

std::string parse_pair(std::string_view flag, std::string_view text, int64_t min, int64_t* a, int64_t* b) {
  const size_t comma = text.find(',');
  if (comma == std::string_view::npos) {
    if (std::string e = parse_int(flag, text, min, a); !e.empty()) return e;
    *b = *a;
    return "";
  }
  int64_t x, y;
  if (std::string e = parse_int(flag, text.substr(0, comma), min, &x); !e.empty())
    return e + " (in '" + std::string(text) + "')";
  if (std::string e = parse_int(flag, text.substr(comma + 1), min, &y); !e.empty())
    return e + " (in '" + std::string(text) + "')";
  *a = x;
  *b = y;
  return "";
}

std::string parse_padding(std::string_view flag, std::string_view text, ProblemDesc* desc) {
  std::string l(text);
  for (char& ch : l) ch = static_cast<char>(std::tolower(static_cast<unsigned char>(ch)));
  if (Result<PaddingMode> m = parse_padding_mode(l); m && *m != PaddingMode::kExplicit) {
    desc->padding = *m;
    return "";
  }
  int64_t v[4];
  size_t start = 0;
  for (int i = 0; i < 4; ++i) {
    const size_t comma = i < 3 ? l.find(',', start) : l.size();
    if (comma == std::string::npos || (i == 3 && l.find(',', start) != std::string::npos))
      return std::string(flag) + ": expected SAME, VALID or four integers T,B,L,R; got '" + std::string(text) + "'";
    if (std::string e = parse_int(flag, std::string_view(l).substr(start, comma - start), 0, &v[i]); !e.empty())
      return e + " (in '" + std::string(text) + "'; expected SAME, VALID or T,B,L,R)";
    start = comma + 1;
  }
  desc->padding = PaddingMode::kExplicit;
  desc->pad_top = v[0];
  desc->pad_bottom = v[1];
  desc->pad_left = v[2];
  desc->pad_right = v[3];
  return "";
}

uint64_t random_seed() {
  std::random_device rd;
  // Kept below 2^53 so the printed seed survives a round trip through JSON or a spreadsheet.
  return ((static_cast<uint64_t>(rd()) << 32) ^ rd()) & ((uint64_t{1} << 53) - 1);
}

// ---------------------------------------------------------------------------------------------
// Problem flags
// ---------------------------------------------------------------------------------------------

void add_problem_flags(ArgParser& args, unsigned which) {
  if (which & kConvFlags) {
    args.flag({"op"}, "depthwise|conv2d|separable", "the operation");
  }
  if (which & kShapeFlags) {
    args.flag({"n", "batch"}, "N", "batch size")
        .flag({"h"}, "H", "input height")
        .flag({"w"}, "W", "input width")
        .flag({"c"}, "C", "input channels")
        .flag({"k"}, "KH[,KW]", "kernel size (one value: square)")
        .flag({"m", "multiplier"}, "M", "channel multiplier (depthwise, separable)")
        .flag({"o", "out-channels"}, "O", "output channels (conv2d, separable; depthwise: C*M)");
  }
  if (which & kConvFlags) {
    args.flag({"stride"}, "S|SH,SW", "stride (default 1)")
        .flag({"dilation"}, "D|DH,DW", "dilation, 1 = dense (default 1)")
        .flag({"padding"}, "SAME|VALID|T,B,L,R", "padding (default VALID)")
        .flag({"layout"}, "NHWC|NCHW", "input and output layout (default NHWC)")
        .flag({"filter-layout"}, "tf|oihw", "filter layout: tf [KH,KW,C,M|O] or oihw (PyTorch/ONNX) (default tf)")
        .flag({"dtype"}, "f32|f16|bf16", "storage type of every tensor (default f32)")
        .flag({"activation"}, "none|relu|relu6|silu|hswish|gelu|gelu_tanh",
              "fused activation, after bias and residual (default none)");
  }
  if (which & kBiasSwitch) {
    args.switch_flag({"bias"}, "add a bias of out-channels elements");
    args.switch_flag({"residual"}, "add a residual of the output's shape before the activation");
  }
}

std::string apply_problem_flags(const ArgParser& args, ProblemDesc* d) {
  std::optional<std::string> v;
  // Enum parsers' messages already name the field; prefix the flag the user typed.
  auto enum_flag = [&](const char* name, auto parser, auto* field) -> std::string {
    if (!(v = args.get(name))) return "";
    auto r = parser(*v);
    if (!r) return std::string("--") + name + ": " + r.status().message();
    *field = *r;
    return "";
  };
  if (std::string e = enum_flag("op", parse_op, &d->op); !e.empty()) return e;
  if (std::string e = enum_flag("layout", parse_layout, &d->layout); !e.empty()) return e;
  if (std::string e = enum_flag("filter-layout", parse_filter_layout, &d->filter_layout); !e.empty()) return e;
  if (std::string e = enum_flag("dtype", parse_dtype, &d->dtype); !e.empty()) return e;
  if (std::string e = enum_flag("activation", parse_activation, &d->activation); !e.empty()) return e;

  const std::pair<const char*, int64_t*> ints[] = {{"n", &d->batch},    {"h", &d->height},     {"w", &d->width},
                                                   {"c", &d->channels}, {"m", &d->multiplier}, {"o", &d->out_channels}};
  for (const auto& [name, field] : ints)
    if ((v = args.get(name)))
      if (std::string e = parse_int(std::string("--") + name, *v, 1, field); !e.empty()) return e;
  if ((v = args.get("k")))
    if (std::string e = parse_pair("--k", *v, 1, &d->kernel_h, &d->kernel_w); !e.empty()) return e;
  if ((v = args.get("stride")))
    if (std::string e = parse_pair("--stride", *v, 1, &d->stride_h, &d->stride_w); !e.empty()) return e;
  if ((v = args.get("dilation")))
    if (std::string e = parse_pair("--dilation", *v, 1, &d->dilation_h, &d->dilation_w); !e.empty()) return e;
  if ((v = args.get("padding")))
    if (std::string e = parse_padding("--padding", *v, d); !e.empty()) return e;
  // Only the switch forms belong here; a command with --bias FILE or --residual FILE handles those itself.
  for (const auto& [name, field] :
       {std::pair<const char*, bool*>{"bias", &d->has_bias}, {"residual", &d->has_residual}})
    if (args.has(name))
      if (std::optional<std::string> b = args.get(name); b && b->empty()) *field = true;
  return "";
}

Result<Problem> problem_from_args(const ArgParser& args, std::string_view descriptor) {
  ProblemDesc d;
  if (!descriptor.empty()) {
    Result<Problem> base = Problem::parse(descriptor);
    if (!base) return base.status();
    d = base->desc();
  }
  const int64_t derived_out = d.op == Op::kDepthwise ? d.out_channels : -1;
  if (std::string e = apply_problem_flags(args, &d); !e.empty()) return Status(StatusCode::kInvalidArgument, e);
  // A depthwise descriptor carries O = C*M already derived; re-derive it when --c or --m changed it.
  if (d.op == Op::kDepthwise && !args.has("o") && d.out_channels == derived_out) d.out_channels = 0;
  return Problem::create(d);
}

// ---------------------------------------------------------------------------------------------
// Implementation filters
// ---------------------------------------------------------------------------------------------

void add_impl_flags(ArgParser& args, const std::string& whose) {
  const std::string plan = whose.empty() ? "the plan" : whose;
  args.flag({"impl"}, "NAME_PREFIX",
            plan +
                " chooses only implementations whose name starts with NAME_PREFIX, e.g. dw_fwd_nhwc_generic "
                "(comma list or repeated: any of them)",
            true)
      .flag({"skip-impl"}, "NAME_PREFIX",
            plan +
                " never chooses an implementation whose name starts with NAME_PREFIX (e.g. ref: fail rather "
                "than fall back to the reference)",
            true)
      .switch_flag({"deterministic"}, plan +
                                          " chooses only implementations whose output is bitwise reproducible "
                                          "(no nondeterministic cuDNN algorithm, no choice by timing)")
      .switch_flag({"allow-tf32"}, plan +
                                       " may run f32 on TF32 tensor cores (inputs rounded to 10 mantissa bits; "
                                       "the implementation name says tf32)");
}

PlanOptions impl_options(const ArgParser& args) {
  PlanOptions options;
  options.only_implementations = args.get_all("impl");
  options.skip_implementations = args.get_all("skip-impl");
  options.deterministic = args.has("deterministic");
  options.allow_tf32 = args.has("allow-tf32");
  return options;
}

}  // namespace dsconv::driver
