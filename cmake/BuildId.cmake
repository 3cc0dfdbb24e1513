# cmake -DOUT=FILE -DLIST=FILE_WITH_PATHS -P BuildId.cmake
# Writes FILE defining ATTNC_BUILD_ID: a SHA-256 over the contents of every
# compiler source listed in LIST, so that kernels cached by one build are
# never served to another (the kernel cache key includes it).
file(STRINGS "${LIST}" files)
set(all "")
foreach(f IN LISTS files)
  file(SHA256 "${f}" h)
  string(APPEND all "${f}:${h}\n")
endforeach()
string(SHA256 id "${all}")
set(text "#define ATTNC_BUILD_ID \"${id}\"\n")
if(EXISTS "${OUT}")
  file(READ "${OUT}" old)
  if(old STREQUAL text)
    return()
  endif()
endif()
file(WRITE "${OUT}" "${text}")
