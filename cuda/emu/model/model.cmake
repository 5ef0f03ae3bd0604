# The GPU performance model on the emulator (cuda/emu/model/README.md). Included by the top-level
# CMakeLists.txt after the library, the driver and the tests are defined.
#
# DSCONV_EMU_PROFILE=ON (the `profile` preset) needs an emulation build compiled by clang >= 14:
#   - the emulated kernel sources get -fsanitize-coverage=edge,trace-loads,trace-stores, so every load
#     and store of kernel code calls the model's hook with its address (kernel code does not change);
#   - libdsconv links the counter (counter.cpp) and wraps fmaf (-Wl,--wrap=fmaf) to count FMAs;
#   - the driver's `dsconv profile` is built in, and dsconv_model_tests plus the baseline guard run
#     under ctest.
# Without it `dsconv profile` says which preset has the model and exits 2.
option(DSCONV_EMU_PROFILE "Instrument the emulated kernels for the performance model (dsconv profile; clang >= 14)" OFF)

# Targets whose sources include the emulated kernels (the generated emu_sources/*.cu.cpp wrappers).
set(DSCONV_MODEL_KERNEL_TARGETS dsconv CACHE STRING "Targets holding the emulated kernel sources to instrument")
mark_as_advanced(DSCONV_MODEL_KERNEL_TARGETS)

# clang 14's SanitizerCoverage: loads and stores only (no edge counters: "edge" with no counter kind
# inserts none). Access widths must be the source's: no vectorizer widens scalar accesses, and memcpy
# (how the emulated helpers move float2/float4/uint4) stays a call that the counter sees whole instead
# of the scalar pieces SROA splits it into (cuda/emu/model/README.md, "How it counts").
set(DSCONV_MODEL_INSTRUMENT_FLAGS -fsanitize-coverage=edge,trace-loads,trace-stores -fno-builtin-memcpy -fno-vectorize
    -fno-slp-vectorize)

if(NOT DSCONV_EMU_PROFILE)
  return()
endif()
if(NOT DSCONV_CUDA_MODE STREQUAL "emulation")
  message(FATAL_ERROR "DSCONV_EMU_PROFILE=ON needs the emulation build (DSCONV_CUDA_EMULATION=ON and the CUDA toolkit "
                      "headers); this build's CUDA mode is '${DSCONV_CUDA_MODE}'")
endif()
if(NOT CMAKE_CXX_COMPILER_ID STREQUAL "Clang" OR CMAKE_CXX_COMPILER_VERSION VERSION_LESS 14)
  message(FATAL_ERROR "DSCONV_EMU_PROFILE=ON needs clang >= 14 as the C++ compiler (-fsanitize-coverage=trace-loads,"
                      "trace-stores); got ${CMAKE_CXX_COMPILER_ID} ${CMAKE_CXX_COMPILER_VERSION}")
endif()

set(model_dir ${PROJECT_SOURCE_DIR}/cuda/emu/model)
add_library(dsconv_model_core STATIC
  ${model_dir}/rules.cpp
  ${model_dir}/cards.cpp
  ${model_dir}/occupancy.cpp
  ${model_dir}/roofline.cpp
  ${model_dir}/ptxas_report.cpp)
target_include_directories(dsconv_model_core PUBLIC ${PROJECT_SOURCE_DIR})
target_compile_options(dsconv_model_core PRIVATE -Wall -Wextra)
set_target_properties(dsconv_model_core PROPERTIES POSITION_INDEPENDENT_CODE ON)

target_sources(dsconv PRIVATE ${model_dir}/counter.cpp ${model_dir}/symbols.cpp)
target_link_libraries(dsconv PRIVATE dsconv_model_core ${CMAKE_DL_LIBS})
target_link_options(dsconv PRIVATE "LINKER:--wrap=fmaf" "LINKER:--wrap=memcpy")

foreach(target IN LISTS DSCONV_MODEL_KERNEL_TARGETS)
  get_target_property(sources ${target} SOURCES)
  list(FILTER sources INCLUDE REGEX "/emu_sources/.*\\.cu\\.cpp$")
  if(NOT sources)
    message(FATAL_ERROR "DSCONV_EMU_PROFILE: target ${target} has no emulated kernel sources (emu_sources/*.cu.cpp)")
  endif()
  # Appended: the kernel sources keep their other options (hidden visibility, cuda/CMakeLists.txt).
  set_property(SOURCE ${sources} TARGET_DIRECTORY ${target} APPEND PROPERTY COMPILE_OPTIONS
               ${DSCONV_MODEL_INSTRUMENT_FLAGS})
endforeach()

# Where `dsconv profile` finds the registers of each kernel (the nvcc compile check's report).
set(DSCONV_MODEL_PTXAS_REPORT ${PROJECT_BINARY_DIR}/ptxas_report.txt)
if(TARGET dsconv_driver)
  target_compile_definitions(dsconv_driver PRIVATE DSCONV_HAVE_EMU_PROFILE=1
                             DSCONV_MODEL_PTXAS_REPORT="${DSCONV_MODEL_PTXAS_REPORT}")
  target_link_libraries(dsconv_driver PRIVATE dsconv_model_core)
  if(TARGET ptxas_report)
    add_dependencies(dsconv_driver ptxas_report)
  endif()
endif()
if(TARGET dsconv_tests)
  target_compile_definitions(dsconv_tests PRIVATE DSCONV_HAVE_EMU_PROFILE=1)
endif()

# The model's own tests: synthetic kernels with known answers (instrumented like the library's
# kernels), the rules, the CLI, and the baseline guard over every cuda kernel.
find_package(GTest QUIET)
if(NOT GTest_FOUND)
  message(WARNING "dsconv: GoogleTest not found; the performance model's tests are not built")
  return()
endif()
include(GoogleTest)
enable_testing()
set(model_tests ${PROJECT_SOURCE_DIR}/tests/model)
# The synthetic kernels run on the test program's own emulator and counter (libdsconv keeps its emulator
# private, as it keeps a real build's cudart): dsconv_emu, counter.cpp and symbols.cpp are linked in.
add_executable(dsconv_model_tests
  ${model_dir}/counter.cpp
  ${model_dir}/symbols.cpp
  ${model_tests}/model_kernels.cpp
  ${model_tests}/test_model_rules.cpp
  ${model_tests}/test_model_counting.cpp
  ${model_tests}/test_model_profile_cli.cpp)
set_source_files_properties(${model_tests}/model_kernels.cpp PROPERTIES COMPILE_OPTIONS "${DSCONV_MODEL_INSTRUMENT_FLAGS}")
target_include_directories(dsconv_model_tests PRIVATE ${PROJECT_SOURCE_DIR} ${CUDAToolkit_INCLUDE_DIRS})
target_compile_definitions(dsconv_model_tests PRIVATE DSCONV_CUDA_EMULATION=1
  DSCONV_SOURCE_DIR="${PROJECT_SOURCE_DIR}" DSCONV_MODEL_PTXAS_REPORT="${DSCONV_MODEL_PTXAS_REPORT}")
target_link_libraries(dsconv_model_tests PRIVATE dsconv_model_core dsconv_emu dsconv GTest::gtest_main Threads::Threads
                      ${CMAKE_DL_LIBS})
target_link_options(dsconv_model_tests PRIVATE "LINKER:--wrap=fmaf" "LINKER:--wrap=memcpy")
target_compile_options(dsconv_model_tests PRIVATE -Wall -Wextra)
if(TARGET dsconv_driver)
  target_compile_definitions(dsconv_model_tests PRIVATE DSCONV_DRIVER_PATH="$<TARGET_FILE:dsconv_driver>")
  add_dependencies(dsconv_model_tests dsconv_driver)
endif()
gtest_discover_tests(dsconv_model_tests TEST_PREFIX "Model." DISCOVERY_TIMEOUT 120 PROPERTIES TIMEOUT 600)

# The regression guard: every cuda kernel's modelled figures on a fixed problem set against the
# committed baseline (bench/data/model_baseline.json); worse by more than 5% fails.
find_package(Python3 COMPONENTS Interpreter)
if(TARGET dsconv_driver AND Python3_Interpreter_FOUND)
  add_test(NAME Model.BaselineGuard
    COMMAND ${Python3_EXECUTABLE} ${PROJECT_SOURCE_DIR}/bench/model_guard.py
            --dsconv $<TARGET_FILE:dsconv_driver>
            --problems ${PROJECT_SOURCE_DIR}/bench/data/model_baseline_problems.txt
            --baseline ${PROJECT_SOURCE_DIR}/bench/data/model_baseline.json
            --ptxas-report ${DSCONV_MODEL_PTXAS_REPORT})
  set_tests_properties(Model.BaselineGuard PROPERTIES TIMEOUT 900)
endif()
