# Project-wide warning flags, applied to qcal's own targets through qcal_set_warnings().
function(qcal_set_warnings target)
  target_compile_options(${target} PRIVATE -Wall -Wextra -Wpedantic -Wshadow -Wconversion
                                           -Wno-sign-conversion
                                           # A class with virtual functions needs a virtual
                                           # destructor; a case that falls through says so with
                                           # [[fallthrough]] (GCC's -Wextra has the latter, clang's
                                           # does not).
                                           -Wnon-virtual-dtor -Wimplicit-fallthrough
                                           # GCC 12 false positive on std::string operator+ at -O3
                                           # (GCC PR 105651); fixed in GCC 13. GCC-only flag.
                                           $<$<CXX_COMPILER_ID:GNU>:-Wno-restrict>)
  if(QCAL_WERROR)
    target_compile_options(${target} PRIVATE -Werror)
  endif()
endfunction()
