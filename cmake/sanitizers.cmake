# ASan + UBSan for the whole build when QCAL_SANITIZE is on (CI runs the tests this way too).
if(QCAL_SANITIZE)
  add_compile_options(-fsanitize=address,undefined -fno-omit-frame-pointer
                      -fno-sanitize-recover=undefined)
  add_link_options(-fsanitize=address,undefined)
endif()
