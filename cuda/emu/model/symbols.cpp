#include "cuda/emu/model/symbols.hpp"

#include <cxxabi.h>
#include <dlfcn.h>
#include <elf.h>
#include <link.h>

#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <map>

namespace dsconv::emu::model {
namespace {

std::string hex(uint64_t v) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "0x%llx", static_cast<unsigned long long>(v));
  return buf;
}

std::string basename_of(const std::string& path) {
  const size_t slash = path.rfind('/');
  return slash == std::string::npos ? path : path.substr(slash + 1);
}

// Position-dependent executables (ET_EXEC) have absolute symbol addresses; everything else is relative
// to the load base.
bool is_position_dependent(const std::string& file) {
  std::ifstream f(file, std::ios::binary);
  unsigned char header[EI_NIDENT + 2] = {};
  if (!f.read(reinterpret_cast<char*>(header), sizeof header)) return false;
  uint16_t type;
  std::memcpy(&type, header + EI_NIDENT, 2);
  return type == ET_EXEC;
}

std::string shell_quote(const std::string& s) {
  std::string out = "'";
  for (char c : s) out += c == '\'' ? std::string("'\\''") : std::string(1, c);
  return out + "'";
}

// "dsconv::cuda::dw::load_smem2(float const*)" -> "load_smem2".
std::string short_function(const std::string& f) {
  std::string s = f.substr(0, f.find('('));
  int depth = 0;
  for (size_t i = s.size(); i-- > 0;) {  // the last "::" outside template arguments
    if (s[i] == '>') ++depth;
    if (s[i] == '<') --depth;
    if (depth == 0 && i > 0 && s[i] == ':' && s[i - 1] == ':') return s.substr(i + 1);
  }
  return s;
}

std::string strip_discriminator(std::string line) {
  const size_t space = line.find(' ');
  if (space != std::string::npos) line.resize(space);
  return line;
}

struct Frame {
  std::string function, line;  // line: "path:number"
};

// Runs addr2line on one module; one vector of frames (innermost first) per offset.
std::vector<std::vector<Frame>> run_addr2line(const std::string& file, const std::vector<uint64_t>& offsets) {
  std::vector<std::vector<Frame>> out(offsets.size());
  std::string cmd = "addr2line -a -f -C -i -e " + shell_quote(file);
  for (uint64_t o : offsets) cmd += " " + hex(o);
  cmd += " 2>/dev/null";
  FILE* p = popen(cmd.c_str(), "r");
  if (p == nullptr) return out;
  std::vector<std::string> lines;
  char buf[8192];
  while (std::fgets(buf, sizeof buf, p) != nullptr) {
    std::string l(buf);
    while (!l.empty() && (l.back() == '\n' || l.back() == '\r')) l.pop_back();
    lines.push_back(l);
  }
  pclose(p);
  int index = -1;
  for (size_t i = 0; i < lines.size(); ++i) {
    if (lines[i].rfind("0x", 0) == 0) {  // -a: each address starts its group
      ++index;
      continue;
    }
    if (index < 0 || index >= static_cast<int>(out.size()) || i + 1 >= lines.size()) continue;
    out[index].push_back(Frame{lines[i], strip_discriminator(lines[i + 1])});
    ++i;
  }
  return out;
}

std::string describe(const std::vector<Frame>& frames) {
  auto known = [](const Frame& f) { return f.line.rfind("??", 0) != 0 && f.line.find(":0") == std::string::npos; };
  if (frames.empty() || !known(frames.back())) return "";
  const Frame& outer = frames.back();
  std::string s = basename_of(outer.line);
  if (frames.size() > 1 && known(frames.front())) {
    s += " (" + basename_of(frames.front().line) + " " + short_function(frames.front().function) + ")";
  }
  return s;
}

}  // namespace

std::vector<CodeLocation> resolve_code(const std::vector<uint64_t>& addresses, bool lines) {
  std::vector<CodeLocation> out(addresses.size());
  struct Module {
    std::vector<size_t> index;
    std::vector<uint64_t> offsets;
  };
  std::map<std::string, Module> modules;
  for (size_t i = 0; i < addresses.size(); ++i) {
    Dl_info info;
    const void* a = reinterpret_cast<const void*>(addresses[i]);
    if (dladdr(a, &info) == 0 || info.dli_fname == nullptr) {
      out[i].where = hex(addresses[i]);
      continue;
    }
    const std::string file = info.dli_fname;
    const uint64_t base = reinterpret_cast<uint64_t>(info.dli_fbase);
    const uint64_t offset = is_position_dependent(file) ? addresses[i] : addresses[i] - base;
    out[i].where = basename_of(file) + "+" + hex(offset);
    if (info.dli_sname != nullptr) {
      int status = 0;
      char* d = abi::__cxa_demangle(info.dli_sname, nullptr, nullptr, &status);
      out[i].function = status == 0 && d != nullptr ? d : info.dli_sname;
      std::free(d);
    }
    Module& m = modules[file];
    m.index.push_back(i);
    m.offsets.push_back(offset);
  }
  for (const auto& [file, m] : modules) {
    const std::vector<std::vector<Frame>> frames = run_addr2line(file, m.offsets);
    for (size_t k = 0; k < m.index.size(); ++k) {
      const std::vector<Frame>& f = frames[k];
      if (f.empty()) continue;
      CodeLocation& loc = out[m.index[k]];
      if (f.back().function != "??") loc.function = f.back().function;
      if (lines) {
        const std::string d = describe(f);
        if (!d.empty()) loc.where = d;
      }
    }
  }
  return out;
}

std::vector<std::pair<uint64_t, uint64_t>> writable_segments(const void* address) {
  struct Search {
    uint64_t address;
    std::vector<std::pair<uint64_t, uint64_t>> writable;
  } search{reinterpret_cast<uint64_t>(address), {}};
  dl_iterate_phdr(
      [](dl_phdr_info* info, size_t, void* data) -> int {
        Search& s = *static_cast<Search*>(data);
        bool contains = false;
        std::vector<std::pair<uint64_t, uint64_t>> writable;
        for (int i = 0; i < info->dlpi_phnum; ++i) {
          const ElfW(Phdr)& ph = info->dlpi_phdr[i];
          if (ph.p_type != PT_LOAD) continue;
          const uint64_t begin = info->dlpi_addr + ph.p_vaddr, end = begin + ph.p_memsz;
          if (s.address >= begin && s.address < end) contains = true;
          if (ph.p_flags & PF_W) writable.emplace_back(begin, end);
        }
        if (!contains) return 0;
        s.writable = std::move(writable);
        return 1;  // found: stop
      },
      &search);
  return search.writable;
}

}  // namespace dsconv::emu::model
