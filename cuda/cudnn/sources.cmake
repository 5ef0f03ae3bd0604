# The cudnn backend: added to the dsconv library when cuDNN 9 was found (DSCONV_HAVE_CUDNN, real CUDA only).
# Included by cuda/CMakeLists.txt; cuda/cudnn/CMakeLists.txt includes it too, for add_subdirectory(cudnn).
if(NOT DSCONV_HAVE_CUDNN)
  return()
endif()
if(NOT DSCONV_CUDA_MODE STREQUAL "nvcc")
  message(FATAL_ERROR "the cudnn backend needs real CUDA (DSCONV_CUDA_MODE is ${DSCONV_CUDA_MODE})")
endif()

message(STATUS "dsconv: cudnn backend with cuDNN ${CUDNN_VERSION}: ${CUDNN_LIBRARY}")

target_sources(dsconv PRIVATE
  ${CMAKE_CURRENT_LIST_DIR}/cudnn_backend.cpp
  ${CMAKE_CURRENT_LIST_DIR}/geometry.cpp
  ${CMAKE_CURRENT_LIST_DIR}/kernels.cu)
# Hidden visibility like the rest of cuda/ (see cuda/CMakeLists.txt).
set_source_files_properties(${CMAKE_CURRENT_LIST_DIR}/cudnn_backend.cpp ${CMAKE_CURRENT_LIST_DIR}/geometry.cpp
  TARGET_DIRECTORY dsconv PROPERTIES COMPILE_OPTIONS "${DSCONV_CUDA_HIDDEN_CXX}")
# The .cpp files call the CUDA runtime directly; which cudart (static or shared) is linked is the cuda
# backend's choice, so only the headers are added here.
target_include_directories(dsconv PRIVATE ${CUDAToolkit_INCLUDE_DIRS})
# A static dsconv carries the cuDNN dependency to its users; the installed package names the library file
# (no CUDNN::cudnn target exists in a consumer's project).
if(BUILD_SHARED_LIBS)
  target_link_libraries(dsconv PRIVATE CUDNN::cudnn)
else()
  target_link_libraries(dsconv PRIVATE $<BUILD_INTERFACE:CUDNN::cudnn>)
  target_link_libraries(dsconv INTERFACE $<INSTALL_INTERFACE:${CUDNN_LIBRARY}>)
endif()
