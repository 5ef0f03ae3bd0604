// .npy reading and writing (NumPy format versions 1.0, 2.0, 3.0).
//
// A file is: magic "\x93NUMPY", major and minor version bytes, the header length (uint16 LE in 1.0,
// uint32 LE in 2.0/3.0), a Python dict literal {'descr': ..., 'fortran_order': ..., 'shape': (...)}
// padded with spaces and ending in '\n', then the raw data. Only what dsconv needs is accepted:
// little-endian float32/float16, C order. Everything else is a FormatError that says what was found,
// so that a user with a '<f8' or Fortran-ordered array knows how to fix it on the NumPy side.
#include "dsconv/npy.hpp"

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <string>
#include <string_view>
#include <vector>

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include "src/half.hpp"

namespace dsconv::npy {

namespace {

constexpr char kMagic[] = "\x93NUMPY";
constexpr size_t kMagicLen = 6;

Status format_error(const std::string& path, const std::string& msg) {
  return Status(StatusCode::kFormatError, path + ": " + msg);
}
Status io_error(const std::string& path, const std::string& what, int err) {
  return Status(StatusCode::kIoError, path + ": " + what + ": " + std::strerror(err));
}

// Closes the FILE on every path out of load/save.
struct FileCloser {
  std::FILE* f = nullptr;
  ~FileCloser() {
    if (f != nullptr) std::fclose(f);
  }
};

// Quotes a header fragment for an error message, shortened so a corrupt file cannot flood the terminal.
std::string quoted(std::string_view s) {
  std::string r = "'";
  for (char ch : s.substr(0, 60)) r += (ch >= 0x20 && ch < 0x7f) ? ch : '?';
  if (s.size() > 60) r += "...";
  return r + "'";
}

// A recursive-descent reader for the subset of Python literal syntax that NumPy writes in headers:
// one dict whose keys are strings and whose values are strings, True/False or tuples of integers.
class HeaderParser {
 public:
  explicit HeaderParser(std::string_view text) : s_(text) {}

  // On error returns false and sets *err.
  bool parse(std::string* descr, bool* fortran_order, std::vector<int64_t>* shape, std::string* err) {
    skip_ws();
    if (!eat('{')) return fail(err, "header is not a Python dict (no '{'): " + quoted(s_));
    bool have_descr = false, have_fortran = false, have_shape = false;
    skip_ws();
    while (!eat('}')) {
      std::string key;
      if (!read_string(&key)) return fail(err, "header dict key is not a quoted string at " + quoted(rest()));
      skip_ws();
      if (!eat(':')) return fail(err, "header dict: missing ':' after key '" + key + "'");
      skip_ws();
      if (key == "descr") {
        if (have_descr) return fail(err, "header dict has key 'descr' twice");
        if (!read_string(descr)) {
          return fail(err, "header 'descr' is not a string (structured dtypes are not supported): " + quoted(rest()));
        }
        have_descr = true;
      } else if (key == "fortran_order") {
        if (have_fortran) return fail(err, "header dict has key 'fortran_order' twice");
        if (!read_bool(fortran_order))
          return fail(err, "header 'fortran_order' is not True or False: " + quoted(rest()));
        have_fortran = true;
      } else if (key == "shape") {
        if (have_shape) return fail(err, "header dict has key 'shape' twice");
        std::string why;
        if (!read_shape(shape, &why))
          return fail(err, "header 'shape' is not a tuple of non-negative integers: " + why);
        have_shape = true;
      } else {
        return fail(err, "header dict has unexpected key '" + key + "'");
      }
      skip_ws();
      if (eat(',')) {
        skip_ws();
      } else if (peek() != '}') {
        return fail(err, "header dict: expected ',' or '}' at " + quoted(rest()));
      }
    }
    if (!have_descr) return fail(err, "header dict lacks key 'descr'");
    if (!have_fortran) return fail(err, "header dict lacks key 'fortran_order'");
    if (!have_shape) return fail(err, "header dict lacks key 'shape'");
    skip_ws();
    if (pos_ != s_.size()) return fail(err, "header has text after the dict: " + quoted(rest()));
    return true;
  }

 private:
  static bool fail(std::string* err, std::string msg) {
    *err = std::move(msg);
    return false;
  }
  char peek() const { return pos_ < s_.size() ? s_[pos_] : '\0'; }
  std::string_view rest() const { return s_.substr(pos_); }
  bool eat(char ch) {
    if (peek() != ch || pos_ >= s_.size()) return false;
    ++pos_;
    return true;
  }
  bool eat_word(std::string_view w) {
    if (s_.substr(pos_, w.size()) != w) return false;
    pos_ += w.size();
    return true;
  }
  void skip_ws() {
    while (pos_ < s_.size() && (s_[pos_] == ' ' || s_[pos_] == '\t' || s_[pos_] == '\n' || s_[pos_] == '\r')) ++pos_;
  }
  // 'text' or "text"; no escapes (NumPy never writes any in the keys and dtype strings we accept).
  bool read_string(std::string* out) {
    const char q = peek();
    if (q != '\'' && q != '"') return false;
    const size_t end = s_.find(q, pos_ + 1);
    if (end == std::string_view::npos) return false;
    const std::string_view body = s_.substr(pos_ + 1, end - pos_ - 1);
    if (body.find('\\') != std::string_view::npos) return false;
    out->assign(body);
    pos_ = end + 1;
    return true;
  }
  bool read_bool(bool* out) {
    if (eat_word("True")) {
      *out = true;
      return true;
    }
    if (eat_word("False")) {
      *out = false;
      return true;
    }
    return false;
  }
  // "()" , "(5,)" , "(1, 4, 4, 2)" , "(1, 4, 4, 2,)". "(5)" is an int in Python, not a tuple.
  bool read_shape(std::vector<int64_t>* shape, std::string* why) {
    shape->clear();
    const size_t start = pos_;
    if (!eat('(')) return fail(why, quoted(rest()));
    skip_ws();
    bool trailing_comma = false;
    while (!eat(')')) {
      if (peek() == '-') return fail(why, "negative dimension in " + quoted(s_.substr(start)));
      if (peek() < '0' || peek() > '9') return fail(why, quoted(s_.substr(start)));
      int64_t v = 0;
      while (peek() >= '0' && peek() <= '9') {
        if (__builtin_mul_overflow(v, int64_t{10}, &v) || __builtin_add_overflow(v, int64_t{peek() - '0'}, &v))
          return fail(why, "dimension overflows int64 in " + quoted(s_.substr(start)));
        ++pos_;
      }
      eat('L');  // Python 2 long suffix, written by old NumPy versions
      shape->push_back(v);
      skip_ws();
      trailing_comma = eat(',');
      skip_ws();
      if (!trailing_comma && peek() != ')') return fail(why, quoted(s_.substr(start)));
    }
    if (shape->size() == 1 && !trailing_comma)
      return fail(why,
                  quoted(s_.substr(start, pos_ - start)) + " is an integer, not a tuple (a 1-tuple needs a comma)");
    return true;
  }

  std::string_view s_;
  size_t pos_ = 0;
};

uint32_t read_le(const unsigned char* p, int bytes) {
  uint32_t v = 0;
  for (int i = bytes - 1; i >= 0; --i) v = (v << 8) | p[i];
  return v;
}

}  // namespace

int64_t Array::elements() const {
  int64_t p = 1;
  for (int64_t d : shape) p *= d;
  return p;
}

std::string shape_string(const std::vector<int64_t>& shape) {
  std::string s = "[";
  for (size_t i = 0; i < shape.size(); ++i) s += (i ? ", " : "") + std::to_string(shape[i]);
  return s + "]";
}

Result<Array> load(const std::string& path) {
  FileCloser file{std::fopen(path.c_str(), "rb")};
  if (file.f == nullptr) return io_error(path, "cannot open for reading", errno);
  struct stat st;
  if (::fstat(::fileno(file.f), &st) != 0) return io_error(path, "cannot stat", errno);
  // A directory opens fine on Linux; its size means nothing and reads fail late.
  if (S_ISDIR(st.st_mode)) return io_error(path, "cannot read", EISDIR);
  if (!S_ISREG(st.st_mode)) return Status(StatusCode::kIoError, path + ": not a regular file");
  const uint64_t file_size = static_cast<uint64_t>(st.st_size);

  unsigned char pre[12];
  const size_t got = std::fread(pre, 1, 10, file.f);
  if (got < 10 && std::ferror(file.f)) return io_error(path, "read failed", errno);
  if (got < kMagicLen || std::memcmp(pre, kMagic, kMagicLen) != 0)
    return format_error(path, "not a .npy file (the first 6 bytes are not \\x93NUMPY)");
  if (got < 8) return format_error(path, "truncated: the file ends inside the version bytes");
  const int major = pre[6], minor = pre[7];
  if ((major != 1 && major != 2 && major != 3) || minor != 0)
    return format_error(path, "unsupported .npy format version " + std::to_string(major) + "." + std::to_string(minor) +
                                  " (supported: 1.0, 2.0, 3.0)");
  const size_t len_bytes = major == 1 ? 2 : 4;
  if (major != 1 && std::fread(pre + 10, 1, 2, file.f) != 2 && std::ferror(file.f))
    return io_error(path, "read failed", errno);
  const uint64_t prefix = kMagicLen + 2 + len_bytes;
  if (file_size < prefix) return format_error(path, "truncated: the file ends inside the header length");
  const uint64_t header_len = read_le(pre + 8, static_cast<int>(len_bytes));
  if (file_size < prefix + header_len)
    return format_error(path, "truncated: the header claims " + std::to_string(header_len) +
                                  " bytes but the file has " + std::to_string(file_size - prefix) +
                                  " after the prefix");
  std::string header(static_cast<size_t>(header_len), '\0');
  if (header_len > 0 && std::fread(header.data(), 1, header.size(), file.f) != header.size())
    return io_error(path, "read failed", errno);

  std::string descr;
  bool fortran_order = false;
  Array a;
  std::string err;
  if (!HeaderParser(header).parse(&descr, &fortran_order, &a.shape, &err)) return format_error(path, err);
  if (fortran_order)
    return format_error(path,
                        "fortran_order is True; only C-order arrays are supported (save np.ascontiguousarray(a))");
  size_t item;
  if (descr == "<f4") {
    a.dtype = DType::kF32;
    item = 4;
  } else if (descr == "<f2") {
    a.dtype = DType::kF16;
    item = 2;
  } else {
    return format_error(path, "unsupported dtype '" + descr + "' (supported: '<f4' float32, '<f2' float16)");
  }

  int64_t count = 1;
  for (int64_t d : a.shape)
    if (__builtin_mul_overflow(count, d, &count))
      return format_error(path, "shape " + shape_string(a.shape) + " overflows int64");
  int64_t data_bytes;
  if (__builtin_mul_overflow(count, static_cast<int64_t>(item), &data_bytes))
    return format_error(path, "shape " + shape_string(a.shape) + " overflows int64 bytes");
  const uint64_t have = file_size - prefix - header_len;
  // Checked before allocating, so a corrupt shape cannot ask for terabytes.
  if (have < static_cast<uint64_t>(data_bytes))
    return format_error(path, "truncated: shape " + shape_string(a.shape) + " of '" + descr + "' needs " +
                                  std::to_string(data_bytes) + " data bytes, the file has " + std::to_string(have));
  if (have > static_cast<uint64_t>(data_bytes))
    return format_error(path, "has " + std::to_string(have - static_cast<uint64_t>(data_bytes)) +
                                  " bytes after the data of shape " + shape_string(a.shape));

  std::vector<unsigned char> raw(static_cast<size_t>(data_bytes));
  if (!raw.empty() && std::fread(raw.data(), 1, raw.size(), file.f) != raw.size())
    return io_error(path, "read failed", errno);
  a.values.resize(static_cast<size_t>(count));
  for (size_t i = 0; i < a.values.size(); ++i) {
    const uint32_t bits = read_le(&raw[i * item], static_cast<int>(item));
    a.values[i] = item == 4 ? detail::bits_float(bits) : detail::half_to_float(static_cast<uint16_t>(bits));
  }
  return a;
}

Status save_f32(const std::string& path, const std::vector<int64_t>& shape, const float* values) {
  int64_t count = 1;
  for (int64_t d : shape) {
    if (d < 0)
      return Status(StatusCode::kInvalidArgument,
                    "npy::save_f32: shape " + shape_string(shape) + " has a negative dimension");
    if (__builtin_mul_overflow(count, d, &count))
      return Status(StatusCode::kInvalidArgument, "npy::save_f32: shape " + shape_string(shape) + " overflows int64");
  }
  if (count > 0 && values == nullptr)
    return Status(StatusCode::kInvalidArgument, "npy::save_f32: values is null for shape " + shape_string(shape));

  std::string dict = "{'descr': '<f4', 'fortran_order': False, 'shape': (";
  for (size_t i = 0; i < shape.size(); ++i) dict += (i ? ", " : "") + std::to_string(shape[i]);
  dict += shape.size() == 1 ? ",), }" : "), }";
  // NumPy pads so that the data starts on a 64-byte boundary (magic 6 + version 2 + length 2 + header).
  size_t header_len = dict.size() + 1;  // + '\n'
  header_len += (64 - (10 + header_len) % 64) % 64;
  if (header_len > 0xffff)
    return Status(StatusCode::kInvalidArgument,
                  "npy::save_f32: shape " + shape_string(shape) + " is too long for a 1.0 header");
  std::string header = dict;
  header.resize(header_len - 1, ' ');
  header += '\n';

  std::string head(kMagic, kMagicLen);
  head += '\x01';
  head += '\x00';
  head += static_cast<char>(header_len & 0xff);
  head += static_cast<char>(header_len >> 8);
  head += header;

  // Write next to the target and rename, so an error or crash never leaves a partial file at path.
  // open(O_EXCL, 0666) rather than mkstemp: the file gets the caller's umask like any fopen'd file.
  static std::atomic<unsigned> counter{0};
  std::string tmp;
  int fd = -1;
  for (int attempt = 0; attempt < 100 && fd < 0; ++attempt) {
    tmp = path + ".tmp." + std::to_string(::getpid()) + "." + std::to_string(counter++);
    fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0666);
    if (fd < 0 && errno != EEXIST) break;
  }
  if (fd < 0) return io_error(path, "cannot create a temporary file next to it", errno);
  FileCloser file{::fdopen(fd, "wb")};
  if (file.f == nullptr) {
    const int e = errno;
    ::close(fd);
    ::unlink(tmp.c_str());
    return io_error(path, "cannot open the temporary file", e);
  }
  auto abandon = [&](const char* what) {
    const int e = errno;
    std::fclose(file.f);
    file.f = nullptr;
    ::unlink(tmp.c_str());
    return io_error(path, what, e);
  };
  if (std::fwrite(head.data(), 1, head.size(), file.f) != head.size()) return abandon("write failed");
  // Little-endian bytes regardless of the host, in chunks to bound the staging buffer.
  std::vector<unsigned char> buf;
  constexpr int64_t kChunk = 1 << 16;
  for (int64_t begin = 0; begin < count; begin += kChunk) {
    const int64_t n = std::min(kChunk, count - begin);
    buf.resize(static_cast<size_t>(n) * 4);
    for (int64_t i = 0; i < n; ++i) {
      const uint32_t u = detail::float_bits(values[begin + i]);
      for (int b = 0; b < 4; ++b) buf[static_cast<size_t>(i * 4 + b)] = static_cast<unsigned char>(u >> (8 * b));
    }
    if (std::fwrite(buf.data(), 1, buf.size(), file.f) != buf.size()) return abandon("write failed");
  }
  if (std::fflush(file.f) != 0) return abandon("write failed");
  const int closed = std::fclose(file.f);
  file.f = nullptr;
  if (closed != 0) {
    const int e = errno;
    ::unlink(tmp.c_str());
    return io_error(path, "write failed", e);
  }
  if (std::rename(tmp.c_str(), path.c_str()) != 0) {
    const int e = errno;
    ::unlink(tmp.c_str());
    return io_error(path, "cannot rename the temporary file onto it", e);
  }
  return Status::ok();
}

}  // namespace dsconv::npy
