// The library's CUDA code (cuda/**) is compiled with hidden visibility, so that the inline helpers and the
// CUDA runtime (real or emulated) it carries bind inside libdsconv and are never interposed by a copy in
// the program (a test that launches kernels of its own links its own runtime). The few internal functions
// that the driver and the tests call from there are exported with this.
#pragma once

#define DSCONV_INTERNAL_EXPORT __attribute__((visibility("default")))
