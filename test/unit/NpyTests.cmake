# GoogleTest for .npy reading and writing (attnc/Support/Npy.h).
# Included from test/unit/CMakeLists.txt.
if(NOT TARGET GTest::gtest_main)
  find_package(GTest REQUIRED)
endif()
add_executable(attnc-npy-tests ${CMAKE_CURRENT_LIST_DIR}/NpyTest.cpp)
target_link_libraries(attnc-npy-tests PRIVATE AttncSupport GTest::gtest_main)
add_test(NAME attnc-npy-tests COMMAND attnc-npy-tests)
