# The install test (cmake -P): installs the build tree into a fresh prefix, builds the consumer
# project (consumer/) against it with find_package(qcal) and runs it on yolov8n, checks qcal.pc
# and the installed launcher, then imports the installed Python package and calibrates yolov8n
# from a generator, and runs the QDQ model in ONNX Runtime (onnxruntime-node from .deps).
# -D: BUILD_DIR, SOURCE_DIR, WORK_DIR, DEPS_DIR, PYTHON.
function(run)
  execute_process(COMMAND ${ARGN} RESULT_VARIABLE rc OUTPUT_VARIABLE out ERROR_VARIABLE err)
  if(NOT rc EQUAL 0)
    string(REPLACE ";" " " cmd "${ARGN}")
    message(FATAL_ERROR "failed (${rc}): ${cmd}\n${out}\n${err}")
  endif()
  set(last_output "${out}" PARENT_SCOPE)
endfunction()

set(prefix ${WORK_DIR}/prefix)
file(REMOVE_RECURSE ${WORK_DIR})
file(MAKE_DIRECTORY ${WORK_DIR}/images)
run(${CMAKE_COMMAND} --install ${BUILD_DIR} --prefix ${prefix})
foreach(f bin/qcal bin/qcal-main include/qcal/qcal.hpp lib/cmake/qcal/qcalConfig.cmake
          lib/cmake/qcal/qcalConfigVersion.cmake lib/pkgconfig/qcal.pc)
  if(NOT EXISTS ${prefix}/${f})
    message(FATAL_ERROR "not installed: ${f}")
  endif()
endforeach()
run(${prefix}/bin/qcal --version)
message(STATUS "installed qcal: ${last_output}")
set(ENV{PKG_CONFIG_PATH} ${prefix}/lib/pkgconfig)
run(pkg-config --libs qcal)
if(NOT last_output MATCHES "-lqcal")
  message(FATAL_ERROR "qcal.pc: ${last_output}")
endif()
run(pkg-config --variable=includedir qcal)
string(STRIP "${last_output}" pc_include)
file(REAL_PATH "${pc_include}" pc_include)
file(REAL_PATH "${prefix}/include" want_include)
if(NOT pc_include STREQUAL want_include)
  message(FATAL_ERROR "qcal.pc: includedir ${pc_include}, expected ${want_include}")
endif()

# The C++ consumer.
set(model ${DEPS_DIR}/models/yolov8n.onnx)
set(data /usr/share/doc/opencv-doc/examples/data)
file(COPY ${data}/fruits.jpg ${data}/baboon.jpg DESTINATION ${WORK_DIR}/images)
run(${CMAKE_COMMAND} -S ${SOURCE_DIR}/tests/install/consumer -B ${WORK_DIR}/consumer -G Ninja
    -DCMAKE_BUILD_TYPE=Release -DCMAKE_PREFIX_PATH=${prefix})
run(${CMAKE_COMMAND} --build ${WORK_DIR}/consumer)
run(${WORK_DIR}/consumer/qcal_consumer ${model} ${WORK_DIR}/images ${WORK_DIR}/consumer-out)
message(STATUS "consumer: ${last_output}")

# The installed Python package.
file(GLOB_RECURSE inits ${prefix}/__init__.py)
list(FILTER inits INCLUDE REGEX "/qcal/__init__.py$")
if(NOT inits)
  message(FATAL_ERROR "the Python package is not installed")
endif()
list(GET inits 0 init)
get_filename_component(package ${init} DIRECTORY)
get_filename_component(site ${package} DIRECTORY)
set(ENV{PYTHONPATH} ${site})
set(ENV{PYTHONDONTWRITEBYTECODE} 1)
run(${PYTHON} ${SOURCE_DIR}/tests/install/calibrate_generator.py ${prefix} ${model}
    ${WORK_DIR}/python-out ${SOURCE_DIR}/tools/ort/ort_run.js)
message(STATUS "python: ${last_output}")
file(REMOVE_RECURSE ${WORK_DIR})
