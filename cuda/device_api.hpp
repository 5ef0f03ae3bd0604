// Device memory and streams for code outside the library's kernels: the driver and the tests, which
// must stage tensors for plans whose memory_space() is MemorySpace::kDevice without including CUDA
// headers. Exported by the cuda backend only when dsconv/config.h defines DSCONV_HAVE_CUDA; callers
// guard every use with #if defined(DSCONV_HAVE_CUDA).
//
// Under the emulation build "device" memory is host memory and a stream is a host object; the
// contract below holds for both builds, so driver and test code never distinguish them.
//
// Every function returns a Status: kDeviceError (with the CUDA error name and message) when a CUDA
// call fails, kNoDevice when no usable device is present, kInvalidArgument for a null out-pointer.
#pragma once

#include <cstddef>

#include "dsconv/config.h"
#include "dsconv/dsconv.hpp"

namespace dsconv::cuda {

// *p receives a device allocation of `bytes` bytes, aligned at least to 256 bytes (cudaMalloc's
// guarantee). bytes == 0 gives *p == nullptr and success. On failure *p is nullptr.
Status device_alloc(void** p, size_t bytes);
// Frees what device_alloc returned; nullptr is a no-op.
Status device_free(void* p);
// Synchronous copies (return when the data has arrived): host -> device and device -> host.
Status copy_to_device(void* dst, const void* src, size_t bytes);
Status copy_to_host(void* dst, const void* src, size_t bytes);
// Waits until all work enqueued on `stream` (a cudaStream_t, or what create_stream gave) is done and
// reports any asynchronous error from it. nullptr is NOT the default stream here: it waits for the device.
Status synchronize(void* stream);
// *s receives a new non-blocking stream (no implicit synchronization with the legacy default stream,
// which the library never uses). destroy_stream(nullptr) is a no-op.
Status create_stream(void** s);
Status destroy_stream(void* s);

}  // namespace dsconv::cuda
