# GoogleTest for the attnc runtime (include/attnc/Runtime, lib/Runtime):
# manifests, launch validation, programs, the no-driver path and the kernel cache. Runs
# without a GPU; the GPU test skips itself when no device is found.
# Included from test/unit/CMakeLists.txt.
if(NOT TARGET GTest::gtest_main)
  find_package(GTest REQUIRED)
endif()
if(NOT TARGET attnc_runtime)
  add_subdirectory(${CMAKE_CURRENT_LIST_DIR}/../../lib/Runtime ${CMAKE_CURRENT_BINARY_DIR}/attnc_runtime)
endif()
add_executable(attnc-runtime-tests
  ${CMAKE_CURRENT_LIST_DIR}/RuntimeTest.cpp
  ${CMAKE_CURRENT_LIST_DIR}/RuntimeCacheTest.cpp
  ${CMAKE_CURRENT_LIST_DIR}/RuntimeLaunchShapeTest.cpp
  ${CMAKE_CURRENT_LIST_DIR}/RuntimeExprTest.cpp
  ${CMAKE_CURRENT_LIST_DIR}/RuntimeProgramTest.cpp)
# The expression tests reach the runtime's private header.
target_include_directories(attnc-runtime-tests PRIVATE ${CMAKE_CURRENT_LIST_DIR}/../../lib/Runtime)
target_link_libraries(attnc-runtime-tests PRIVATE attnc_runtime GTest::gtest_main)
get_filename_component(ATTNC_RUNTIME_FIXTURE_DIR
  ${CMAKE_CURRENT_LIST_DIR}/../../test/Inputs/scaled-copy ABSOLUTE)
target_compile_definitions(attnc-runtime-tests PRIVATE
  ATTNC_RUNTIME_FIXTURE_DIR="${ATTNC_RUNTIME_FIXTURE_DIR}")
# One ctest entry per test so that GPU tests show as skipped (not passed) on
# machines without a GPU.
include(GoogleTest)
gtest_discover_tests(attnc-runtime-tests TEST_PREFIX "runtime." DISCOVERY_MODE PRE_TEST)
