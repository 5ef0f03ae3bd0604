// The caller's workspace as the cuda backend's implementations carve it: each region starts on a
// kWorkspaceAlignment boundary, and an implementation asks for that much slack so that it can align a
// pointer the caller did not align (Plan::run takes any pointer).
#pragma once

#include <cstddef>
#include <cstdint>

namespace dsconv::cuda {

inline constexpr size_t kWorkspaceAlignment = 256;

// `workspace` rounded up to the next kWorkspaceAlignment boundary.
inline char* align_workspace(void* workspace) {
  const auto addr = reinterpret_cast<uintptr_t>(workspace);
  return static_cast<char*>(workspace) + (kWorkspaceAlignment - addr % kWorkspaceAlignment) % kWorkspaceAlignment;
}

}  // namespace dsconv::cuda
