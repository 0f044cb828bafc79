# Third-party dependencies, all from Debian 12 packages (scripts/setup.sh installs them).
find_package(Threads REQUIRED)
find_package(OpenMP REQUIRED)
find_package(OpenCV 4.6 REQUIRED COMPONENTS core imgproc imgcodecs videoio)
find_package(nlohmann_json 3.11 REQUIRED)
find_package(CLI11 REQUIRED)
find_package(ZLIB REQUIRED)
find_package(Protobuf REQUIRED)
find_package(ONNX REQUIRED)       # libonnx-dev: onnx_proto (ONNX_ML=1) and the checker
# libdnnl-dev: oneDNN 2.6 (OpenMP runtime). Its CMake config insists on OpenCL headers, which
# qcal does not use, so the library is found directly and wrapped in an imported target.
find_path(DNNL_INCLUDE_DIR dnnl.hpp REQUIRED)
find_library(DNNL_LIBRARY dnnl REQUIRED)
add_library(qcal::dnnl UNKNOWN IMPORTED)
set_target_properties(qcal::dnnl PROPERTIES IMPORTED_LOCATION "${DNNL_LIBRARY}"
                                            INTERFACE_INCLUDE_DIRECTORIES "${DNNL_INCLUDE_DIR}")
set(BLA_VENDOR OpenBLAS)
find_package(BLAS REQUIRED)
if(QCAL_BUILD_TESTS)
  find_package(GTest REQUIRED)
endif()
if(QCAL_BUILD_BENCH)
  find_package(benchmark REQUIRED)
endif()
