# ASan + UBSan for the whole build when QCAL_SANITIZE is on (CI runs the tests this way too).
if(QCAL_SANITIZE)
  add_compile_options(-fsanitize=address,undefined -fno-omit-frame-pointer
                      -fno-sanitize-recover=undefined)
  add_link_options(-fsanitize=address,undefined)
  # GCC 12 reports false -Wmaybe-uninitialized inside libstdc++'s std::regex/std::function once
  # the sanitizers instrument the code (GCC's manual warns that sanitizers make this warning
  # unreliable); the release build keeps it.
  if(CMAKE_CXX_COMPILER_ID STREQUAL "GNU")
    add_compile_options(-Wno-maybe-uninitialized)
  endif()
endif()
