#include "bench/driver/common.hpp"

#include <algorithm>
#include <cctype>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <limits>
#include <new>
#include <random>
#include <sstream>
#include <utility>

#include "src/half.hpp"

#if defined(DSCONV_HAVE_CUDA)
#include "cuda/device_api.hpp"
#endif

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
  if (l == "same") {
    desc->padding = PaddingMode::kSame;
    return "";
  }
  if (l == "valid") {
    desc->padding = PaddingMode::kValid;
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
        .flag({"activation"}, "none|relu|relu6", "fused activation (default none)");
  }
  if (which & kBiasSwitch) args.switch_flag({"bias"}, "add a bias of out-channels elements");
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
  if (args.has("bias")) {
    // Only the switch form belongs here; a command with --bias FILE handles that itself.
    if (std::optional<std::string> b = args.get("bias"); b && b->empty()) d->has_bias = true;
  }
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
// HostTensor
// ---------------------------------------------------------------------------------------------

std::vector<uint8_t> encode(DType dtype, const std::vector<float>& values) {
  std::vector<uint8_t> out(values.size() * dtype_size(dtype));
  for (size_t i = 0; i < values.size(); ++i)
    detail::store_from_float(out.data(), dtype, static_cast<int64_t>(i), values[i]);
  return out;
}

std::vector<float> decode(DType dtype, const void* data, int64_t count) {
  std::vector<float> out(static_cast<size_t>(count));
  for (int64_t i = 0; i < count; ++i) out[static_cast<size_t>(i)] = detail::load_as_float(data, dtype, i);
  return out;
}

namespace {
constexpr std::align_val_t kHostAlign{64};
}

void HostTensor::Free::operator()(void* p) const { ::operator delete(p, kHostAlign); }

HostTensor::HostTensor(DType dtype, std::vector<int64_t> shape) : dtype_(dtype), shape_(std::move(shape)) {
  elements_ = 1;
  for (int64_t d : shape_) elements_ *= d;
  if (bytes() > 0) data_.reset(::operator new(bytes(), kHostAlign));
}

HostTensor::HostTensor(const HostTensor& o) : dtype_(o.dtype_), shape_(o.shape_), elements_(o.elements_) {
  if (bytes() > 0) {
    data_.reset(::operator new(bytes(), kHostAlign));
    std::memcpy(data(), o.data(), bytes());
  }
}

HostTensor& HostTensor::operator=(const HostTensor& o) {
  if (this != &o) *this = HostTensor(o);
  return *this;
}

float HostTensor::get(int64_t i) const { return detail::load_as_float(data(), dtype_, i); }
void HostTensor::set(int64_t i, float v) { detail::store_from_float(data(), dtype_, i, v); }

std::vector<float> HostTensor::to_floats() const { return decode(dtype_, data(), elements_); }

HostTensor HostTensor::from_floats(DType dtype, std::vector<int64_t> shape, const std::vector<float>& values) {
  HostTensor t(dtype, std::move(shape));
  const int64_t n = std::min<int64_t>(t.elements(), static_cast<int64_t>(values.size()));
  for (int64_t i = 0; i < n; ++i) t.set(i, values[static_cast<size_t>(i)]);
  return t;
}

HostTensor HostTensor::converted(DType to) const {
  if (elements_ == 0 && shape_.empty()) {  // a default (absent) tensor stays absent, not a scalar
    HostTensor none;
    none.dtype_ = to;
    return none;
  }
  HostTensor t(to, shape_);
  for (int64_t i = 0; i < elements_; ++i) t.set(i, get(i));
  return t;
}

// ---------------------------------------------------------------------------------------------
// Random data and poison
// ---------------------------------------------------------------------------------------------

uint64_t Rng::next() {
  uint64_t z = (state_ += 0x9e3779b97f4a7c15ull);
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
  return z ^ (z >> 31);
}

double Rng::uniform() { return static_cast<double>(next() >> 11) * 0x1.0p-53; }

int64_t Rng::integer(int64_t lo, int64_t hi) {
  const uint64_t span = static_cast<uint64_t>(hi - lo) + 1;
  return lo + static_cast<int64_t>(next() % span);
}

void fill_uniform_nonzero(HostTensor& t, Rng& rng, float min_abs, float max_abs) {
  for (int64_t i = 0; i < t.elements(); ++i) {
    const float mag = min_abs + (max_abs - min_abs) * static_cast<float>(rng.uniform());
    t.set(i, (rng.next() & 1u) ? -mag : mag);
  }
}

void fill_small_integers(HostTensor& t, Rng& rng, int max_abs) {
  for (int64_t i = 0; i < t.elements(); ++i) {
    int64_t v = rng.integer(1, max_abs);
    t.set(i, static_cast<float>((rng.next() & 1u) ? -v : v));
  }
}

void poison_nan(HostTensor& t) {
  for (int64_t i = 0; i < t.elements(); ++i) t.set(i, std::numeric_limits<float>::quiet_NaN());
}

int64_t count_nan(const HostTensor& t) {
  int64_t n = 0;
  for (int64_t i = 0; i < t.elements(); ++i) n += std::isnan(t.get(i)) ? 1 : 0;
  return n;
}

// ---------------------------------------------------------------------------------------------
// TensorSet, DeviceBuffers, execute
// ---------------------------------------------------------------------------------------------

TensorSet TensorSet::allocate(const Problem& p) {
  TensorSet t;
  t.input = HostTensor(p.dtype(), p.input_shape());
  t.filter = HostTensor(p.dtype(), p.filter_shape());
  if (p.op() == Op::kSeparable) t.pointwise = HostTensor(p.dtype(), p.pointwise_shape());
  if (p.has_bias()) t.bias = HostTensor(p.dtype(), p.bias_shape());
  t.output = HostTensor(p.dtype(), p.output_shape());
  return t;
}

void TensorSet::fill_random(uint64_t seed) {
  Rng rng(seed);
  fill_uniform_nonzero(input, rng);
  fill_uniform_nonzero(filter, rng);
  fill_uniform_nonzero(pointwise, rng);
  fill_uniform_nonzero(bias, rng);
  poison_nan(output);
}

Tensors TensorSet::view() {
  Tensors t;
  t.input = input.data();
  t.filter = filter.data();
  t.pointwise = pointwise.empty() ? nullptr : pointwise.data();
  t.bias = bias.empty() ? nullptr : bias.data();
  t.output = output.data();
  return t;
}

DeviceBuffers::DeviceBuffers(DeviceBuffers&& o) noexcept { *this = std::move(o); }

DeviceBuffers& DeviceBuffers::operator=(DeviceBuffers&& o) noexcept {
  if (this != &o) {
    release();
    input_ = std::exchange(o.input_, nullptr);
    filter_ = std::exchange(o.filter_, nullptr);
    pointwise_ = std::exchange(o.pointwise_, nullptr);
    bias_ = std::exchange(o.bias_, nullptr);
    output_ = std::exchange(o.output_, nullptr);
    workspace_ = std::exchange(o.workspace_, nullptr);
    output_bytes_ = std::exchange(o.output_bytes_, 0);
    workspace_bytes_ = std::exchange(o.workspace_bytes_, 0);
  }
  return *this;
}

DeviceBuffers::~DeviceBuffers() { release(); }

void DeviceBuffers::release() noexcept {
#if defined(DSCONV_HAVE_CUDA)
  for (void** p : {&input_, &filter_, &pointwise_, &bias_, &output_, &workspace_}) {
    if (*p != nullptr) (void)cuda::device_free(*p);
    *p = nullptr;
  }
#endif
}

Result<DeviceBuffers> DeviceBuffers::create(const TensorSet& host, size_t workspace_bytes) {
#if defined(DSCONV_HAVE_CUDA)
  DeviceBuffers d;
  const std::pair<const HostTensor*, void**> slots[] = {{&host.input, &d.input_},
                                                        {&host.filter, &d.filter_},
                                                        {&host.pointwise, &d.pointwise_},
                                                        {&host.bias, &d.bias_},
                                                        {&host.output, &d.output_}};
  for (const auto& [t, slot] : slots) {
    if (t->empty()) continue;
    if (Status s = cuda::device_alloc(slot, t->bytes()); !s) return s;
    if (Status s = cuda::copy_to_device(*slot, t->data(), t->bytes()); !s) return s;
  }
  d.output_bytes_ = host.output.bytes();
  if (workspace_bytes > 0) {
    if (Status s = cuda::device_alloc(&d.workspace_, workspace_bytes); !s) return s;
    d.workspace_bytes_ = workspace_bytes;
  }
  return d;
#else
  (void)host;
  (void)workspace_bytes;
  return Status(StatusCode::kBackendUnavailable, "this build of dsconv has no CUDA support: no device memory");
#endif
}

Tensors DeviceBuffers::view() const {
  Tensors t;
  t.input = input_;
  t.filter = filter_;
  t.pointwise = pointwise_;
  t.bias = bias_;
  t.output = output_;
  return t;
}

Status DeviceBuffers::download_output(HostTensor* out) const {
  if (out->bytes() != output_bytes_)
    return Status(StatusCode::kInvalidArgument, "download_output: host tensor has " + std::to_string(out->bytes()) +
                                                    " bytes, the device output " + std::to_string(output_bytes_));
#if defined(DSCONV_HAVE_CUDA)
  return cuda::copy_to_host(out->data(), output_, output_bytes_);
#else
  return Status(StatusCode::kBackendUnavailable, "this build of dsconv has no CUDA support");
#endif
}

Status DeviceBuffers::upload_output(const HostTensor& out) const {
  if (out.bytes() != output_bytes_)
    return Status(StatusCode::kInvalidArgument, "upload_output: host tensor has " + std::to_string(out.bytes()) +
                                                    " bytes, the device output " + std::to_string(output_bytes_));
#if defined(DSCONV_HAVE_CUDA)
  return cuda::copy_to_device(output_, out.data(), output_bytes_);
#else
  return Status(StatusCode::kBackendUnavailable, "this build of dsconv has no CUDA support");
#endif
}

Status execute(const Plan& plan, TensorSet* t) {
  const size_t ws_bytes = plan.workspace_bytes();
  if (plan.memory_space() == MemorySpace::kHost) {
    // A float tensor is simply an aligned byte buffer here.
    HostTensor ws(DType::kF32, {static_cast<int64_t>((ws_bytes + 3) / 4)});
    return plan.run(t->view(), ws_bytes > 0 ? ws.data() : nullptr, ws_bytes, nullptr);
  }
#if defined(DSCONV_HAVE_CUDA)
  Result<DeviceBuffers> dev = DeviceBuffers::create(*t, ws_bytes);
  if (!dev) return dev.status();
  void* stream = nullptr;
  if (Status s = cuda::create_stream(&stream); !s) return s;
  Status s = plan.run(dev->view(), dev->workspace(), ws_bytes, stream);
  if (s) s = cuda::synchronize(stream);
  const Status destroyed = cuda::destroy_stream(stream);
  if (s) s = destroyed;
  if (s) s = dev->download_output(&t->output);
  return s;
#else
  return Status(StatusCode::kBackendUnavailable, "plan " + plan.backend() + "/" + plan.implementation() +
                                                     " needs device memory, and this build has no CUDA");
#endif
}

// ---------------------------------------------------------------------------------------------
// Reference and comparison
// ---------------------------------------------------------------------------------------------

double unit_roundoff(DType dt) {
  switch (dt) {
    case DType::kF32:
      return 0x1.0p-24;
    case DType::kF16:
      return 0x1.0p-11;
    case DType::kBF16:
      return 0x1.0p-8;
  }
  return 0x1.0p-24;
}

int64_t accumulation_terms(const Problem& p) {
  const int64_t taps = p.kh() * p.kw();
  switch (p.op()) {
    case Op::kDepthwise:
      return taps;
    case Op::kConv2d:
      return taps * p.c();
    case Op::kSeparable:
      return taps + p.mid_channels();
  }
  return taps;
}

double relative_tolerance(const Problem& p) {
  // Storage: the output is rounded once, and a separable intermediate or a separately added bias may be
  // rounded to the storage type too: 3 roundings at most, each <= u * (sum of |terms|).
  // Accumulation in f32: the error of a K-term sum grows like sqrt(K) * u_f32 relative to the sum of
  // |terms| for data of random sign; 4 * sqrt(K) leaves room for any summation order (the worst case,
  // K * u, is far too loose to catch indexing bugs).
  const double k = static_cast<double>(accumulation_terms(p));
  return 3.0 * unit_roundoff(p.dtype()) + 4.0 * std::sqrt(k) * unit_roundoff(DType::kF32);
}

double absolute_tolerance(DType dt) {
  // A backend may flush subnormal results to zero; an error below the smallest normal is not a bug.
  return dt == DType::kF16 ? 0x1.0p-14 : static_cast<double>(std::numeric_limits<float>::min());
}

Result<HostTensor> reference_output(const Problem& p, const TensorSet& t, bool absolute) {
  ProblemDesc d = p.desc();
  d.dtype = DType::kF32;
  if (absolute) d.activation = Activation::kNone;
  Result<Problem> q = Problem::create(d);
  if (!q) return q.status();
  auto widen = [&](const HostTensor& h) {
    HostTensor f = h.converted(DType::kF32);
    if (absolute)
      for (int64_t i = 0; i < f.elements(); ++i) f.set(i, std::fabs(f.get(i)));
    return f;
  };
  TensorSet r;
  r.input = widen(t.input);
  r.filter = widen(t.filter);
  r.pointwise = widen(t.pointwise);
  r.bias = widen(t.bias);
  r.output = HostTensor(DType::kF32, q->output_shape());
  poison_nan(r.output);
  Result<Plan> plan = Plan::create(*q, "cpu-ref");
  if (!plan) return plan.status();
  if (Status s = execute(*plan, &r); !s) return s;
  return std::move(r.output);
}

Comparison compare_elements(DType got_dtype, const void* got, const float* expected, const float* scale, int64_t n,
                            double rtol, double atol) {
  Comparison c;
  c.rel_tolerance = rtol;
  c.abs_tolerance = atol;
  c.elements = n;
  for (int64_t i = 0; i < n; ++i) {
    const double y = detail::load_as_float(got, got_dtype, i), r = expected[i], s = scale[i];
    const double err = std::fabs(y - r);
    const double bound = rtol * s + atol;
    const bool measurable = std::isfinite(y) && !std::isnan(err);
    if (std::isnan(y)) ++c.nan_count;
    if (measurable) {
      c.max_abs_err = std::max(c.max_abs_err, err);
      c.max_rel_err = std::max(c.max_rel_err, s > 0 ? err / s : (err > 0 ? HUGE_VAL : 0.0));
    }
    const double ratio = !measurable ? HUGE_VAL : bound > 0 ? err / bound : (err > 0 ? HUGE_VAL : 0.0);
    if (c.worst_index < 0 || ratio > c.max_bound_ratio) {
      c.max_bound_ratio = ratio;
      c.worst_index = i;
      c.worst_value = y;
      c.worst_ref = r;
    }
    if (std::isfinite(y) && err <= bound) continue;  // a pass test, so that NaN fails
    if (c.failures++ < static_cast<int64_t>(Comparison::kListedFailures)) c.first_failures.push_back(i);
  }
  c.pass = c.failures == 0 && c.elements > 0;
  return c;
}

Comparison compare(const Problem& p, const HostTensor& output, const HostTensor& ref, const HostTensor& scale) {
  const double rtol = relative_tolerance(p), atol = absolute_tolerance(p.dtype());
  const int64_t n = output.elements();
  const bool comparable =
      ref.elements() == n && scale.elements() == n && ref.dtype() == DType::kF32 && scale.dtype() == DType::kF32;
  Comparison c = compare_elements(output.dtype(), output.data(), static_cast<const float*>(ref.data()),
                                  static_cast<const float*>(scale.data()), comparable ? n : 0, rtol, atol);
  if (!comparable) c.elements = c.failures = n;
  return c;
}

std::string Comparison::summary() const {
  char buf[512];
  std::snprintf(buf, sizeof buf,
                "max_abs_err: %.3g max_rel_err: %.3g tolerance: %.3g failures: %lld/%lld nan: %lld worst: [%lld] "
                "got %.9g expected %.9g",
                max_abs_err, max_rel_err, rel_tolerance, static_cast<long long>(failures),
                static_cast<long long>(elements), static_cast<long long>(nan_count),
                static_cast<long long>(worst_index), worst_value, worst_ref);
  return buf;
}

}  // namespace dsconv::driver
