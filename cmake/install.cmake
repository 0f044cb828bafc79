# Install rules: `cmake --install build --prefix P` puts the qcal launcher and qcal-main in
# P/bin, libqcal.so (the public API with the module libraries inside) in P/lib, include/qcal in
# P/include, find_package(qcal) files in P/lib/cmake/qcal, qcal.pc in P/lib/pkgconfig, and the
# Python package (python/CMakeLists.txt) in P/${QCAL_PYTHON_INSTALL_DIR}.
include(CMakePackageConfigHelpers)

install(TARGETS qcal qcal_main RUNTIME DESTINATION ${CMAKE_INSTALL_BINDIR})
install(TARGETS qcal_shared EXPORT qcalTargets
        LIBRARY DESTINATION ${CMAKE_INSTALL_LIBDIR}
        INCLUDES DESTINATION ${CMAKE_INSTALL_INCLUDEDIR})
install(DIRECTORY ${PROJECT_SOURCE_DIR}/include/qcal DESTINATION ${CMAKE_INSTALL_INCLUDEDIR})

set(QCAL_CMAKE_DIR ${CMAKE_INSTALL_LIBDIR}/cmake/qcal)
install(EXPORT qcalTargets NAMESPACE qcal:: DESTINATION ${QCAL_CMAKE_DIR})
configure_package_config_file(${PROJECT_SOURCE_DIR}/cmake/templates/qcalConfig.cmake.in
                              ${PROJECT_BINARY_DIR}/qcalConfig.cmake
                              INSTALL_DESTINATION ${QCAL_CMAKE_DIR}
                              PATH_VARS CMAKE_INSTALL_BINDIR)
write_basic_package_version_file(${PROJECT_BINARY_DIR}/qcalConfigVersion.cmake
                                 COMPATIBILITY SameMinorVersion)
install(FILES ${PROJECT_BINARY_DIR}/qcalConfig.cmake ${PROJECT_BINARY_DIR}/qcalConfigVersion.cmake
        DESTINATION ${QCAL_CMAKE_DIR})

# qcal.pc: relocatable (prefix from the file's own folder).
file(RELATIVE_PATH QCAL_PC_TO_PREFIX "/prefix/${CMAKE_INSTALL_LIBDIR}/pkgconfig" "/prefix")
configure_file(${PROJECT_SOURCE_DIR}/cmake/templates/qcal.pc.in ${PROJECT_BINARY_DIR}/qcal.pc @ONLY)
install(FILES ${PROJECT_BINARY_DIR}/qcal.pc DESTINATION ${CMAKE_INSTALL_LIBDIR}/pkgconfig)
