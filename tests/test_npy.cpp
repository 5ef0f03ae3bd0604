// .npy reading and writing: round trips through save_f32/load, files as NumPy writes them (versions
// 1.0-3.0, '<f4' and '<f2', header variants), and one test per way a file can be malformed.
#include <gtest/gtest.h>

#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <functional>
#include <limits>
#include <string>
#include <vector>

#include "dsconv/npy.hpp"

namespace {

namespace fs = std::filesystem;
using dsconv::StatusCode;
namespace npy = dsconv::npy;

uint32_t float_bits(float f) {
  uint32_t u;
  std::memcpy(&u, &f, sizeof u);
  return u;
}

class Npy : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string tmpl = (fs::temp_directory_path() / "dsconv_npy_XXXXXX").string();
    ASSERT_NE(::mkdtemp(tmpl.data()), nullptr);
    dir_ = tmpl;
  }
  void TearDown() override { fs::remove_all(dir_); }
  std::string path(const std::string& name) const { return (dir_ / name).string(); }
  std::vector<std::string> files() const {
    std::vector<std::string> v;
    for (const auto& e : fs::directory_iterator(dir_)) v.push_back(e.path().filename().string());
    return v;
  }

  // A file with the given version, header text (used verbatim; the length field is computed) and data.
  void write_raw(const std::string& name, int major, int minor, const std::string& header, const std::string& data) {
    std::string bytes("\x93NUMPY", 6);
    bytes += static_cast<char>(major);
    bytes += static_cast<char>(minor);
    const uint32_t len = static_cast<uint32_t>(header.size());
    const int len_bytes = major == 1 ? 2 : 4;
    for (int i = 0; i < len_bytes; ++i) bytes += static_cast<char>((len >> (8 * i)) & 0xff);
    bytes += header;
    bytes += data;
    write_bytes(name, bytes);
  }
  void write_bytes(const std::string& name, const std::string& bytes) {
    std::ofstream f(path(name), std::ios::binary);
    f.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
    ASSERT_TRUE(f.good());
  }
  static std::string f32_bytes(const std::vector<float>& v) {
    std::string s;
    for (float x : v) {
      const uint32_t u = float_bits(x);
      for (int b = 0; b < 4; ++b) s += static_cast<char>((u >> (8 * b)) & 0xff);
    }
    return s;
  }
  static std::string f16_bytes(const std::vector<uint16_t>& v) {
    std::string s;
    for (uint16_t h : v) {
      s += static_cast<char>(h & 0xff);
      s += static_cast<char>(h >> 8);
    }
    return s;
  }

  // Loads `name`, expects `code` and a message that names the file and contains `needle`.
  void expect_error(const std::string& name, StatusCode code, const std::string& needle) {
    dsconv::Result<npy::Array> r = npy::load(path(name));
    ASSERT_FALSE(r.is_ok()) << name << " loaded but should not have";
    EXPECT_EQ(r.status().code(), code) << r.status().to_string();
    EXPECT_NE(r.status().message().find(path(name)), std::string::npos) << r.status().message();
    EXPECT_NE(r.status().message().find(needle), std::string::npos)
        << "message: " << r.status().message() << "\nexpected to contain: " << needle;
  }

  fs::path dir_;
};

const char kHeader1234[] = "{'descr': '<f4', 'fortran_order': False, 'shape': (1, 2, 3, 4), }";

TEST_F(Npy, RoundTripKeepsShapeAndEveryBit) {
  std::vector<float> v(24);
  for (size_t i = 0; i < v.size(); ++i) v[i] = static_cast<float>(i) * 0.37f - 4.0f;
  v[3] = -0.0f;
  v[5] = std::numeric_limits<float>::infinity();
  v[6] = -std::numeric_limits<float>::infinity();
  v[7] = std::numeric_limits<float>::denorm_min();
  v[8] = std::numeric_limits<float>::quiet_NaN();
  v[9] = std::numeric_limits<float>::max();
  ASSERT_TRUE(npy::save_f32(path("a.npy"), {1, 2, 3, 4}, v.data()).is_ok());
  dsconv::Result<npy::Array> r = npy::load(path("a.npy"));
  ASSERT_TRUE(r.is_ok()) << r.status().to_string();
  EXPECT_EQ(r->shape, (std::vector<int64_t>{1, 2, 3, 4}));
  EXPECT_EQ(r->dtype, dsconv::DType::kF32);
  EXPECT_EQ(r->elements(), 24);
  ASSERT_EQ(r->values.size(), v.size());
  for (size_t i = 0; i < v.size(); ++i) EXPECT_EQ(float_bits(r->values[i]), float_bits(v[i])) << "element " << i;
  EXPECT_EQ(files(), std::vector<std::string>{"a.npy"}) << "a temporary file was left behind";
}

TEST_F(Npy, WrittenFileIsVersion1WithA64ByteAlignedHeader) {
  const std::vector<float> v = {1.5f, -2.0f, 3.25f};
  ASSERT_TRUE(npy::save_f32(path("v.npy"), {3}, v.data()).is_ok());
  std::ifstream f(path("v.npy"), std::ios::binary);
  const std::string bytes((std::istreambuf_iterator<char>(f)), std::istreambuf_iterator<char>());
  ASSERT_GE(bytes.size(), 10u);
  EXPECT_EQ(bytes.substr(0, 6), std::string("\x93NUMPY", 6));
  EXPECT_EQ(bytes[6], 1);
  EXPECT_EQ(bytes[7], 0);
  const size_t header_len = static_cast<unsigned char>(bytes[8]) | (static_cast<unsigned char>(bytes[9]) << 8);
  EXPECT_EQ((10 + header_len) % 64, 0u);
  ASSERT_EQ(bytes.size(), 10 + header_len + 12);
  const std::string header = bytes.substr(10, header_len);
  EXPECT_EQ(header.back(), '\n');
  EXPECT_NE(header.find("'descr': '<f4'"), std::string::npos) << header;
  EXPECT_NE(header.find("'fortran_order': False"), std::string::npos) << header;
  EXPECT_NE(header.find("'shape': (3,)"), std::string::npos) << header;  // a 1-tuple keeps its comma
  EXPECT_EQ(bytes.substr(10 + header_len), f32_bytes(v));
}

TEST_F(Npy, ScalarAndEmptyShapesRoundTrip) {
  const float s = 2.5f;
  ASSERT_TRUE(npy::save_f32(path("s.npy"), {}, &s).is_ok());
  dsconv::Result<npy::Array> r = npy::load(path("s.npy"));
  ASSERT_TRUE(r.is_ok()) << r.status().to_string();
  EXPECT_TRUE(r->shape.empty());
  EXPECT_EQ(r->elements(), 1);
  ASSERT_EQ(r->values.size(), 1u);
  EXPECT_EQ(r->values[0], 2.5f);

  ASSERT_TRUE(npy::save_f32(path("e.npy"), {0, 3}, nullptr).is_ok());
  r = npy::load(path("e.npy"));
  ASSERT_TRUE(r.is_ok()) << r.status().to_string();
  EXPECT_EQ(r->shape, (std::vector<int64_t>{0, 3}));
  EXPECT_EQ(r->elements(), 0);
  EXPECT_TRUE(r->values.empty());
}

TEST_F(Npy, OverwritesAnExistingFile) {
  const std::vector<float> a = {1, 2, 3, 4}, b = {7, 8};
  ASSERT_TRUE(npy::save_f32(path("o.npy"), {4}, a.data()).is_ok());
  ASSERT_TRUE(npy::save_f32(path("o.npy"), {2}, b.data()).is_ok());
  dsconv::Result<npy::Array> r = npy::load(path("o.npy"));
  ASSERT_TRUE(r.is_ok());
  EXPECT_EQ(r->values, b);
}

TEST_F(Npy, WrittenFileHonoursTheUmask) {
  const std::vector<float> a = {1};
  ASSERT_TRUE(npy::save_f32(path("p.npy"), {1}, a.data()).is_ok());
  const mode_t mask = ::umask(0);
  ::umask(mask);
  struct stat st;
  ASSERT_EQ(::stat(path("p.npy").c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0666 & ~mask);
}

TEST_F(Npy, SaveErrorsLeaveNoFile) {
  const std::vector<float> a = {1, 2};
  dsconv::Status s = npy::save_f32(path("missing_dir/x.npy"), {2}, a.data());
  EXPECT_EQ(s.code(), StatusCode::kIoError) << s.to_string();
  EXPECT_NE(s.message().find("missing_dir/x.npy"), std::string::npos) << s.message();

  s = npy::save_f32(path("neg.npy"), {2, -1}, a.data());
  EXPECT_EQ(s.code(), StatusCode::kInvalidArgument) << s.to_string();
  EXPECT_NE(s.message().find("[2, -1]"), std::string::npos) << s.message();

  s = npy::save_f32(path("null.npy"), {2}, nullptr);
  EXPECT_EQ(s.code(), StatusCode::kInvalidArgument) << s.to_string();
  EXPECT_NE(s.message().find("values is null"), std::string::npos) << s.message();

  ASSERT_TRUE(fs::create_directory(path("dir_target")));  // the rename onto a directory fails
  s = npy::save_f32(path("dir_target"), {2}, a.data());
  EXPECT_EQ(s.code(), StatusCode::kIoError) << s.to_string();

  EXPECT_EQ(files(), std::vector<std::string>{"dir_target"}) << "a failed save left a file behind";
  EXPECT_TRUE(fs::is_empty(path("dir_target")));
}

TEST_F(Npy, ReadsVersions2And3) {
  const std::vector<float> v = {1, -2, 3, -4, 5, -6};
  const std::string header = "{'descr': '<f4', 'fortran_order': False, 'shape': (2, 3), }\n";
  write_raw("v2.npy", 2, 0, header, f32_bytes(v));
  write_raw("v3.npy", 3, 0, header, f32_bytes(v));
  for (const char* name : {"v2.npy", "v3.npy"}) {
    dsconv::Result<npy::Array> r = npy::load(path(name));
    ASSERT_TRUE(r.is_ok()) << name << ": " << r.status().to_string();
    EXPECT_EQ(r->shape, (std::vector<int64_t>{2, 3})) << name;
    EXPECT_EQ(r->values, v) << name;
  }
}

TEST_F(Npy, ReadsFloat16) {
  // 1, -2, 0.5, 65504 (max half), 2^-24 (smallest subnormal), -0
  const std::vector<uint16_t> h = {0x3c00, 0xc000, 0x3800, 0x7bff, 0x0001, 0x8000};
  write_raw("h.npy", 1, 0, "{'descr': '<f2', 'fortran_order': False, 'shape': (6,), }\n", f16_bytes(h));
  dsconv::Result<npy::Array> r = npy::load(path("h.npy"));
  ASSERT_TRUE(r.is_ok()) << r.status().to_string();
  EXPECT_EQ(r->dtype, dsconv::DType::kF16);
  ASSERT_EQ(r->values.size(), 6u);
  EXPECT_EQ(r->values[0], 1.0f);
  EXPECT_EQ(r->values[1], -2.0f);
  EXPECT_EQ(r->values[2], 0.5f);
  EXPECT_EQ(r->values[3], 65504.0f);
  EXPECT_EQ(r->values[4], std::ldexp(1.0f, -24));
  EXPECT_TRUE(r->values[5] == 0.0f && std::signbit(r->values[5]));
}

TEST_F(Npy, AcceptsHeaderSpellingsNumpyMayWrite) {
  const std::vector<float> v = {1, 2, 3, 4, 5, 6};
  // Other key order, double quotes, no trailing comma, Python 2 long suffixes, odd spacing, no newline.
  write_raw("a.npy", 1, 0, "{\"shape\": (2L,3L), \"descr\": \"<f4\", \"fortran_order\": False}", f32_bytes(v));
  write_raw("b.npy", 1, 0, "{ 'fortran_order' :False ,'shape':( 2 , 3 , ) ,'descr':'<f4' }  \n", f32_bytes(v));
  for (const char* name : {"a.npy", "b.npy"}) {
    dsconv::Result<npy::Array> r = npy::load(path(name));
    ASSERT_TRUE(r.is_ok()) << name << ": " << r.status().to_string();
    EXPECT_EQ(r->shape, (std::vector<int64_t>{2, 3})) << name;
    EXPECT_EQ(r->values, v) << name;
  }
}

TEST_F(Npy, MissingFileIsIoError) { expect_error("does_not_exist.npy", StatusCode::kIoError, "No such file"); }

TEST_F(Npy, DirectoryIsIoError) {
  ASSERT_TRUE(fs::create_directory(path("d.npy")));
  expect_error("d.npy", StatusCode::kIoError, "directory");
}

TEST_F(Npy, BadMagic) {
  write_bytes("m.npy", "PK\x03\x04 this is a zip file, not an npy file......");
  expect_error("m.npy", StatusCode::kFormatError, "not a .npy file");
  write_bytes("empty.npy", "");
  expect_error("empty.npy", StatusCode::kFormatError, "not a .npy file");
}

TEST_F(Npy, UnsupportedVersion) {
  write_raw("v4.npy", 4, 0, std::string(kHeader1234) + "\n", f32_bytes(std::vector<float>(24, 1.0f)));
  expect_error("v4.npy", StatusCode::kFormatError, "version 4.0");
  write_raw("v11.npy", 1, 1, std::string(kHeader1234) + "\n", f32_bytes(std::vector<float>(24, 1.0f)));
  expect_error("v11.npy", StatusCode::kFormatError, "version 1.1");
  write_raw("v0.npy", 0, 0, std::string(kHeader1234) + "\n", "");
  expect_error("v0.npy", StatusCode::kFormatError, "version 0.0");
}

TEST_F(Npy, TruncatedHeader) {
  write_bytes("t1.npy", std::string("\x93NUMPY\x01", 7));
  expect_error("t1.npy", StatusCode::kFormatError, "truncated");
  // Header length says 118 bytes; only 20 follow.
  write_bytes("t2.npy", std::string("\x93NUMPY\x01\x00\x76\x00", 10) + "{'descr': '<f4', 'fo");
  expect_error("t2.npy", StatusCode::kFormatError, "truncated");
}

TEST_F(Npy, MalformedHeaderDict) {
  const std::string data = f32_bytes({1, 2});
  struct Case {
    const char* name;
    std::string header;
    const char* needle;
  };
  const Case cases[] = {
      {"notdict.npy", "['descr', '<f4']\n", "not a Python dict"},
      {"unclosed.npy", "{'descr': '<f4', 'fortran_order': False, 'shape': (2,)\n", "expected ',' or '}'"},
      {"nocolon.npy", "{'descr' '<f4', 'fortran_order': False, 'shape': (2,)}\n", "missing ':'"},
      {"nokey.npy", "{'descr': '<f4', 'shape': (2,)}\n", "lacks key 'fortran_order'"},
      {"noshape.npy", "{'descr': '<f4', 'fortran_order': False}\n", "lacks key 'shape'"},
      {"nodescr.npy", "{'fortran_order': False, 'shape': (2,)}\n", "lacks key 'descr'"},
      {"extra.npy", "{'descr': '<f4', 'fortran_order': False, 'shape': (2,), 'align': 8}\n", "unexpected key 'align'"},
      {"twice.npy", "{'descr': '<f4', 'descr': '<f4', 'fortran_order': False, 'shape': (2,)}\n", "'descr' twice"},
      {"badbool.npy", "{'descr': '<f4', 'fortran_order': false, 'shape': (2,)}\n", "not True or False"},
      {"unquoted.npy", "{descr: '<f4', 'fortran_order': False, 'shape': (2,)}\n", "not a quoted string"},
      {"junk.npy", "{'descr': '<f4', 'fortran_order': False, 'shape': (2,)} xyz\n", "text after the dict"},
      {"structured.npy", "{'descr': [('a', '<f4')], 'fortran_order': False, 'shape': (2,)}\n", "structured"},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(c.name);
    write_raw(c.name, 1, 0, c.header, data);
    expect_error(c.name, StatusCode::kFormatError, c.needle);
  }
}

TEST_F(Npy, FortranOrderIsRejected) {
  write_raw("f.npy", 1, 0, "{'descr': '<f4', 'fortran_order': True, 'shape': (2, 1), }\n", f32_bytes({1, 2}));
  expect_error("f.npy", StatusCode::kFormatError, "fortran_order is True");
}

TEST_F(Npy, UnsupportedDtypesAreNamed) {
  for (const char* d : {">f4", "<f8", "|f2", ">f2", "<i4", "|u1", "f4", "=f4", "<c8"}) {
    SCOPED_TRACE(d);
    const std::string name = std::string("dt_") + std::to_string(std::hash<std::string>()(d)) + ".npy";
    write_raw(name, 1, 0, std::string("{'descr': '") + d + "', 'fortran_order': False, 'shape': (2,), }\n",
              std::string(16, '\0'));
    expect_error(name, StatusCode::kFormatError, std::string("unsupported dtype '") + d + "'");
  }
}

TEST_F(Npy, BadShapes) {
  struct Case {
    const char* name;
    const char* shape;
    const char* needle;
  };
  const Case cases[] = {
      {"neg.npy", "(2, -1)", "negative dimension"},
      {"int.npy", "(8)", "is an integer, not a tuple"},
      {"list.npy", "[2, 4]", "not a tuple"},
      {"word.npy", "(a,)", "not a tuple"},
      {"float.npy", "(2.0,)", "not a tuple"},
      {"double_comma.npy", "(2,,)", "not a tuple"},
      {"huge.npy", "(99999999999999999999,)", "overflows int64"},
      {"product.npy", "(4294967296, 4294967296)", "overflows int64"},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(c.name);
    write_raw(c.name, 1, 0, std::string("{'descr': '<f4', 'fortran_order': False, 'shape': ") + c.shape + ", }\n",
              f32_bytes(std::vector<float>(8, 1.0f)));
    expect_error(c.name, StatusCode::kFormatError, c.needle);
  }
}

TEST_F(Npy, TruncatedAndOverlongData) {
  write_raw("short.npy", 1, 0, std::string(kHeader1234) + "\n", f32_bytes(std::vector<float>(23, 1.0f)) + "xy");
  expect_error("short.npy", StatusCode::kFormatError,
               "truncated: shape [1, 2, 3, 4] of '<f4' needs 96 data bytes, the file has 94");
  write_raw("long.npy", 1, 0, std::string(kHeader1234) + "\n", f32_bytes(std::vector<float>(25, 1.0f)));
  expect_error("long.npy", StatusCode::kFormatError, "4 bytes after the data");
  // A shape that claims far more data than the file holds is refused before allocating it.
  write_raw("claims.npy", 1, 0, "{'descr': '<f4', 'fortran_order': False, 'shape': (1000000000000,), }\n", "abcd");
  expect_error("claims.npy", StatusCode::kFormatError, "truncated");
}

TEST(NpyShapeString, Formats) {
  EXPECT_EQ(npy::shape_string({1, 4, 4, 2}), "[1, 4, 4, 2]");
  EXPECT_EQ(npy::shape_string({7}), "[7]");
  EXPECT_EQ(npy::shape_string({}), "[]");
}

}  // namespace
