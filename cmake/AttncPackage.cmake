# The installed package: the public headers, the CMake package (attnc::attnc,
# attnc::runtime, attnc::runtime_static, attnc::cli) and pkg-config's attnc.pc.
# The targets install themselves (lib/API, lib/Runtime, lib/Python, tools).
include(CMakePackageConfigHelpers)

# Only what a host includes; the compiler's own headers stay in the tree
# (attnc_runtime.h is installed by lib/Runtime, which also builds alone).
install(FILES ${PROJECT_SOURCE_DIR}/include/attnc/attnc.h ${PROJECT_SOURCE_DIR}/include/attnc/attnc.hpp
  DESTINATION ${CMAKE_INSTALL_INCLUDEDIR}/attnc)

set(ATTNC_CMAKE_INSTALL_DIR ${CMAKE_INSTALL_LIBDIR}/cmake/attnc)
install(EXPORT attncTargets NAMESPACE attnc:: DESTINATION ${ATTNC_CMAKE_INSTALL_DIR})
configure_package_config_file(${CMAKE_CURRENT_LIST_DIR}/attncConfig.cmake.in
  ${PROJECT_BINARY_DIR}/attncConfig.cmake INSTALL_DESTINATION ${ATTNC_CMAKE_INSTALL_DIR})
# Before 1.0 a minor version may change the API.
write_basic_package_version_file(${PROJECT_BINARY_DIR}/attncConfigVersion.cmake
  COMPATIBILITY SameMinorVersion)
install(FILES ${PROJECT_BINARY_DIR}/attncConfig.cmake ${PROJECT_BINARY_DIR}/attncConfigVersion.cmake
  DESTINATION ${ATTNC_CMAKE_INSTALL_DIR})

# attnc.pc names its prefix relative to itself, so the tree stays usable when
# installed elsewhere (cmake --install --prefix, DESTDIR, a moved folder).
set(ATTNC_PKGCONFIG_INSTALL_DIR ${CMAKE_INSTALL_LIBDIR}/pkgconfig)
file(RELATIVE_PATH ATTNC_PC_PREFIX /prefix/${ATTNC_PKGCONFIG_INSTALL_DIR} /prefix)
string(REGEX REPLACE "/$" "" ATTNC_PC_PREFIX "${ATTNC_PC_PREFIX}")
configure_file(${CMAKE_CURRENT_LIST_DIR}/attnc.pc.in ${PROJECT_BINARY_DIR}/attnc.pc @ONLY)
install(FILES ${PROJECT_BINARY_DIR}/attnc.pc DESTINATION ${ATTNC_PKGCONFIG_INSTALL_DIR})
