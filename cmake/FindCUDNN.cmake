# Finds cuDNN 9: headers (cudnn.h, cudnn_version.h) and the main library (libcudnn.so or libcudnn.so.9).
#
# Looks, in this order, in CUDNN_ROOT / $ENV{CUDNN_ROOT} / $ENV{CUDNN_PATH} / $ENV{CUDNN_HOME}, the CUDA
# toolkit, the system paths, and the site-packages of the Python found on PATH (or Python3_EXECUTABLE)
# for PyTorch's nvidia-cudnn-cu13 / -cu12 wheels (nvidia/cudnn/{include,lib}), which may ship only
# libcudnn.so.9 and no unversioned link.
#
# The library is taken from the same installation as the header whenever that installation has one, so
# a header from one cuDNN is never paired with a library from another.
#
# Defines CUDNN_FOUND, CUDNN_VERSION, CUDNN_INCLUDE_DIR, CUDNN_LIBRARY and the imported target CUDNN::cudnn.
set(_cudnn_hints ${CUDNN_ROOT} $ENV{CUDNN_ROOT} $ENV{CUDNN_PATH} $ENV{CUDNN_HOME})
if(CUDAToolkit_LIBRARY_ROOT)
  list(APPEND _cudnn_hints ${CUDAToolkit_LIBRARY_ROOT})
endif()
if(CUDAToolkit_BIN_DIR)
  get_filename_component(_cuda_root ${CUDAToolkit_BIN_DIR} DIRECTORY)
  list(APPEND _cudnn_hints ${_cuda_root})
endif()

# Python wheels come after everything else: a system or toolkit cuDNN is preferred when both exist.
set(_cudnn_py_hints "")
if(Python3_EXECUTABLE)
  set(_cudnn_python ${Python3_EXECUTABLE})
else()
  find_program(_cudnn_python NAMES python3 python)
endif()
if(_cudnn_python)
  execute_process(
    COMMAND ${_cudnn_python} -c
      "import site,os;ps=list(site.getsitepackages())+[site.getusersitepackages()];[print(os.path.join(p,'nvidia','cudnn')) for p in ps if os.path.isdir(os.path.join(p,'nvidia','cudnn'))]"
    OUTPUT_VARIABLE _cudnn_py_dirs OUTPUT_STRIP_TRAILING_WHITESPACE ERROR_QUIET)
  if(_cudnn_py_dirs)
    string(REPLACE "\n" ";" _cudnn_py_hints "${_cudnn_py_dirs}")
  endif()
endif()

set(_cudnn_include_suffixes include targets/x86_64-linux/include targets/sbsa-linux/include)
set(_cudnn_lib_suffixes lib lib64 targets/x86_64-linux/lib targets/sbsa-linux/lib lib/x86_64-linux-gnu)

find_path(CUDNN_INCLUDE_DIR cudnn_version.h HINTS ${_cudnn_hints} PATH_SUFFIXES ${_cudnn_include_suffixes})
if(NOT CUDNN_INCLUDE_DIR AND _cudnn_py_hints)
  find_path(CUDNN_INCLUDE_DIR cudnn_version.h PATHS ${_cudnn_py_hints} PATH_SUFFIXES include NO_DEFAULT_PATH)
endif()

# The library next to the header first (…/include -> …/lib*), then the same search as the header.
if(CUDNN_INCLUDE_DIR AND NOT CUDNN_LIBRARY)
  get_filename_component(_cudnn_header_root ${CUDNN_INCLUDE_DIR} DIRECTORY)
  find_library(CUDNN_LIBRARY NAMES cudnn libcudnn.so.9 PATHS ${_cudnn_header_root}
               PATH_SUFFIXES ${_cudnn_lib_suffixes} NO_DEFAULT_PATH)
endif()
find_library(CUDNN_LIBRARY NAMES cudnn libcudnn.so.9 HINTS ${_cudnn_hints} PATH_SUFFIXES ${_cudnn_lib_suffixes})
if(NOT CUDNN_LIBRARY AND _cudnn_py_hints)
  find_library(CUDNN_LIBRARY NAMES cudnn libcudnn.so.9 PATHS ${_cudnn_py_hints} PATH_SUFFIXES lib NO_DEFAULT_PATH)
endif()

unset(CUDNN_VERSION)
if(CUDNN_INCLUDE_DIR AND EXISTS "${CUDNN_INCLUDE_DIR}/cudnn_version.h")
  file(STRINGS "${CUDNN_INCLUDE_DIR}/cudnn_version.h" _v REGEX "^#define CUDNN_(MAJOR|MINOR|PATCHLEVEL) +[0-9]+")
  string(REGEX REPLACE ".*CUDNN_MAJOR +([0-9]+).*" "\\1" _maj "${_v}")
  string(REGEX REPLACE ".*CUDNN_MINOR +([0-9]+).*" "\\1" _min "${_v}")
  string(REGEX REPLACE ".*CUDNN_PATCHLEVEL +([0-9]+).*" "\\1" _pat "${_v}")
  set(CUDNN_VERSION "${_maj}.${_min}.${_pat}")
endif()

include(FindPackageHandleStandardArgs)
find_package_handle_standard_args(CUDNN REQUIRED_VARS CUDNN_LIBRARY CUDNN_INCLUDE_DIR VERSION_VAR CUDNN_VERSION)
if(CUDNN_FOUND AND CUDNN_VERSION VERSION_LESS 9)
  message(STATUS "cuDNN ${CUDNN_VERSION} found at ${CUDNN_LIBRARY} is older than 9; ignored")
  set(CUDNN_FOUND FALSE)
endif()
if(CUDNN_FOUND)
  # cuDNN 9's libcudnn is a front that loads libcudnn_cnn/_ops/_graph/... from its own directory at run
  # time; without libcudnn_cnn every convolution fails then, so say so now.
  get_filename_component(_cudnn_lib_dir ${CUDNN_LIBRARY} DIRECTORY)
  file(GLOB _cudnn_cnn "${_cudnn_lib_dir}/libcudnn_cnn.so*")
  if(NOT _cudnn_cnn)
    message(WARNING "cuDNN at ${_cudnn_lib_dir} has no libcudnn_cnn.so*: cuDNN convolutions will fail at run time")
  endif()
endif()
if(CUDNN_FOUND AND NOT TARGET CUDNN::cudnn)
  add_library(CUDNN::cudnn UNKNOWN IMPORTED)
  set_target_properties(CUDNN::cudnn PROPERTIES IMPORTED_LOCATION "${CUDNN_LIBRARY}"
    INTERFACE_INCLUDE_DIRECTORIES "${CUDNN_INCLUDE_DIR}")
endif()
mark_as_advanced(CUDNN_INCLUDE_DIR CUDNN_LIBRARY)
