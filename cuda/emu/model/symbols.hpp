// Naming code addresses of this process for the performance model: a kernel's demangled name (as
// nvcc's ptxas report spells it) and an access site's source lines, from the ELF files' symbols and
// debug lines through binutils' addr2line; and the writable segments of the module a kernel lives in
// (where the emulator keeps static __shared__ variables).
#pragma once

#include <cstdint>
#include <string>
#include <utility>
#include <vector>

namespace dsconv::emu::model {

struct CodeLocation {
  std::string function;  // demangled; empty when unknown
  std::string where;     // "outer.cu:128 (inner.cuh:151 helper)" or "file:line"; module+0xoffset when unknown
};

// Resolves code addresses of this process (one addr2line run per module). `lines`: also the source
// lines (else only the function names). Addresses it cannot resolve get module+0xoffset.
std::vector<CodeLocation> resolve_code(const std::vector<uint64_t>& addresses, bool lines);

// [begin, end) of every writable loaded segment of the module that contains `address`.
std::vector<std::pair<uint64_t, uint64_t>> writable_segments(const void* address);

}  // namespace dsconv::emu::model
