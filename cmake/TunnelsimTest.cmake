# ts_add_test(NAME name SOURCES a.c b.c LIBS lib1 lib2 [LABELS l1 l2] [ARGS ...])
# Builds one test executable and registers it with ctest. Every test folder uses this,
# so that labels and the working directory are the same everywhere.
function(ts_add_test)
  cmake_parse_arguments(T "" "NAME" "SOURCES;LIBS;LABELS;ARGS" ${ARGN})
  add_executable(${T_NAME} ${T_SOURCES})
  target_link_libraries(${T_NAME} PRIVATE ${T_LIBS} tstest)
  add_test(NAME ${T_NAME} COMMAND ${T_NAME} ${T_ARGS} WORKING_DIRECTORY ${PROJECT_SOURCE_DIR})
  set_tests_properties(${T_NAME} PROPERTIES LABELS "unit;${T_LABELS}" TIMEOUT 300)
endfunction()
