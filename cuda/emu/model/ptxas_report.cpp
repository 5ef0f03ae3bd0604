#include "cuda/emu/model/ptxas_report.hpp"

#include <fstream>
#include <sstream>

namespace dsconv::emu::model {

std::string normalize_kernel_name(std::string_view name) {
  std::string out;
  bool space = false;
  for (char c : name) {
    if (c == ' ' || c == '\t') {
      space = !out.empty();
      continue;
    }
    if (space) out += ' ';
    space = false;
    out += c;
  }
  if (out.rfind("void ", 0) == 0) out.erase(0, 5);
  return out;
}

PtxasReport PtxasReport::parse(std::string_view text, std::string* error) {
  PtxasReport r;
  std::istringstream in{std::string(text)};
  std::string line;
  int number = 0;
  while (std::getline(in, line)) {
    ++number;
    if (line.empty() || line[0] == '#' || line.rfind("arch", 0) == 0) continue;
    // arch regs spill_store spill_load stack smem kernel...
    std::istringstream fields(line);
    KernelResources k;
    if (!(fields >> k.arch >> k.registers >> k.spill_stores >> k.spill_loads >> k.stack_bytes >> k.static_smem_bytes)) {
      if (error != nullptr && error->empty())
        *error = "ptxas report line " + std::to_string(number) + " does not parse";
      continue;
    }
    std::string rest;
    std::getline(fields, rest);
    k.kernel = normalize_kernel_name(rest);
    if (k.kernel.empty()) continue;
    r.rows_.push_back(std::move(k));
  }
  return r;
}

PtxasReport PtxasReport::load(const std::string& path, std::string* error) {
  std::ifstream f(path);
  if (!f) {
    if (error != nullptr) *error = "cannot read the ptxas report " + path;
    return {};
  }
  std::stringstream ss;
  ss << f.rdbuf();
  return parse(ss.str(), error);
}

const KernelResources* PtxasReport::find(std::string_view kernel, std::string_view arch) const {
  const std::string want = normalize_kernel_name(kernel);
  const KernelResources* any = nullptr;
  for (const KernelResources& k : rows_) {
    if (k.kernel != want) continue;
    if (k.arch == arch) return &k;
    if (any == nullptr) any = &k;
  }
  return any;
}

}  // namespace dsconv::emu::model
