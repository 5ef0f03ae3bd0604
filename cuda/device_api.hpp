// Device memory, streams and events for code outside the library's kernels: the driver and the tests,
// which must stage tensors for plans whose memory_space() is MemorySpace::kDevice and time them without
// including CUDA headers or linking a CUDA runtime of their own (so one runtime, the library's, owns
// every stream and event they use). Exported by the cuda backend only when dsconv/config.h defines DSCONV_HAVE_CUDA;
// callers guard every use with #if defined(DSCONV_HAVE_CUDA).
//
// Under the emulation build "device" memory is host memory and a stream is a host object; the
// contract below holds for both builds, so driver and test code never distinguish them.
//
// Every function returns a Status: kDeviceError (with the CUDA error name and message) when a CUDA
// call fails, kNoDevice when no usable device is present, kInvalidArgument for a null out-pointer.
#pragma once

#include <cstddef>
#include <string>

#include "dsconv/config.h"
#include "dsconv/dsconv.hpp"
#include "src/export.hpp"

namespace dsconv::cuda {

// *p receives a device allocation of `bytes` bytes, aligned at least to 256 bytes (cudaMalloc's
// guarantee). bytes == 0 gives *p == nullptr and success. On failure *p is nullptr.
DSCONV_INTERNAL_EXPORT Status device_alloc(void** p, size_t bytes);
// Frees what device_alloc returned; nullptr is a no-op.
DSCONV_INTERNAL_EXPORT Status device_free(void* p);
// Synchronous copies (return when the data has arrived): host -> device and device -> host.
DSCONV_INTERNAL_EXPORT Status copy_to_device(void* dst, const void* src, size_t bytes);
DSCONV_INTERNAL_EXPORT Status copy_to_host(void* dst, const void* src, size_t bytes);
// Waits until all work enqueued on `stream` (a cudaStream_t, or what create_stream gave) is done and
// reports any asynchronous error from it. nullptr is NOT the default stream here: it waits for the device.
DSCONV_INTERNAL_EXPORT Status synchronize(void* stream);
// *s receives a new non-blocking stream (no implicit synchronization with the legacy default stream,
// which the library never uses). destroy_stream(nullptr) is a no-op.
DSCONV_INTERNAL_EXPORT Status create_stream(void** s);
DSCONV_INTERNAL_EXPORT Status destroy_stream(void* s);

// Asynchronous work on `stream` (never the legacy default stream unless the caller passes nullptr):
// fill `bytes` bytes with `value`, and a device-to-device copy.
DSCONV_INTERNAL_EXPORT Status memset_async(void* p, int value, size_t bytes, void* stream);
DSCONV_INTERNAL_EXPORT Status copy_device_async(void* dst, const void* src, size_t bytes, void* stream);

// Events, for timing work on a stream (the emulator's events read the host clock).
// destroy_event(nullptr) is a no-op. elapsed_ms waits until `stop` has completed.
DSCONV_INTERNAL_EXPORT Status create_event(void** e);
DSCONV_INTERNAL_EXPORT Status destroy_event(void* e);
DSCONV_INTERNAL_EXPORT Status record_event(void* e, void* stream);
DSCONV_INTERNAL_EXPORT Status elapsed_ms(void* start, void* stop, float* ms);

// The current device's name ("NVIDIA H100 80GB HBM3"), or why it cannot be had.
DSCONV_INTERNAL_EXPORT std::string device_name();
// The current device's multiprocessor count (the emulator's: that of the card it impersonates); 0 when
// there is no device.
DSCONV_INTERNAL_EXPORT int device_sm_count();

}  // namespace dsconv::cuda
