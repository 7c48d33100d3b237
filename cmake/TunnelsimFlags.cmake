# Compiler flags shared by every target of the project.
add_compile_options(-Wall -Wextra -Wshadow -Wstrict-prototypes -Wmissing-prototypes
                    -Wno-unused-parameter -Wno-missing-field-initializers -fno-common)
add_compile_definitions(_POSIX_C_SOURCE=200809L)
if(TUNNELSIM_WERROR)
  add_compile_options(-Werror)
endif()
if(TUNNELSIM_SANITIZE)
  add_compile_options(-fsanitize=address,undefined -fno-sanitize-recover=undefined
                      -fno-omit-frame-pointer)
  add_link_options(-fsanitize=address,undefined)
endif()
if(TUNNELSIM_FUZZ STREQUAL "libfuzzer")
  # Instrument everything for coverage; the fuzz targets add -fsanitize=fuzzer at link time.
  add_compile_options(-fsanitize=fuzzer-no-link,address,undefined -fno-omit-frame-pointer)
  add_link_options(-fsanitize=address,undefined)
  add_compile_definitions(FUZZING_BUILD_MODE_UNSAFE_FOR_PRODUCTION)
elseif(TUNNELSIM_FUZZ STREQUAL "oss-fuzz")
  # OSS-Fuzz and ClusterFuzzLite pass instrumentation in CFLAGS and the engine in
  # $LIB_FUZZING_ENGINE (see .clusterfuzzlite/build.sh): add nothing of our own.
  add_compile_definitions(FUZZING_BUILD_MODE_UNSAFE_FOR_PRODUCTION)
elseif(TUNNELSIM_FUZZ STREQUAL "afl")
  # CC=afl-clang-fast instruments; the sanitizers catch what AFL++ alone would miss.
  add_compile_options(-fsanitize=address,undefined -fno-omit-frame-pointer)
  add_link_options(-fsanitize=address,undefined)
  add_compile_definitions(FUZZING_BUILD_MODE_UNSAFE_FOR_PRODUCTION)
endif()
