// Reads the table cuda/ptxas_report.sh writes (<build>/ptxas_report.txt): registers, spills, stack and
// static shared memory per kernel and architecture, from nvcc's compile of the same .cu sources the
// emulator runs. The model takes a kernel's registers from here.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace dsconv::emu::model {

struct KernelResources {
  std::string arch;    // "sm_90"
  std::string kernel;  // demangled, "void ns::kernel<float, 3, 1>(ns::Params)"
  int registers = 0;
  int spill_stores = 0, spill_loads = 0;
  int64_t stack_bytes = 0, static_smem_bytes = 0;
};

class PtxasReport {
 public:
  // Parses the report's text; rows that do not parse are reported in *error (naming the line) and the
  // rest kept.
  static PtxasReport parse(std::string_view text, std::string* error);
  // Reads and parses a file; *error says why when it cannot be read.
  static PtxasReport load(const std::string& path, std::string* error);

  // The row of `kernel` (demangled; a leading "void " and repeated spaces are ignored) for `arch`, else
  // for any architecture (the first listed); nullptr when the kernel is not in the report.
  const KernelResources* find(std::string_view kernel, std::string_view arch) const;
  const std::vector<KernelResources>& rows() const { return rows_; }

 private:
  std::vector<KernelResources> rows_;
};

// The form two kernel names are compared in: no leading "void ", single spaces.
std::string normalize_kernel_name(std::string_view name);

}  // namespace dsconv::emu::model
