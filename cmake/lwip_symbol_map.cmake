# cmake -DNM=nm -DOBJDUMP=objdump -DOBJECT=lwip_all.o -DCOPIES=8 -DOUT_DIR=dir -P lwip_symbol_map.cmake
# Writes OUT_DIR/lwip_syms_<k>.map for k < COPIES: every global symbol OBJECT defines,
# renamed ts_lwip<k>_<name>, in objcopy --redefine-syms format. Undefined references
# (libc, the shared ts_netstack_glue_* functions) keep their names.
# First checks that every variable of OBJECT sits in lwip_data or lwip_bss (what a
# reset restores), in read-only data, or in ts_lwip_claims: state outside would
# survive a reset and leak between fuzz iterations.
cmake_minimum_required(VERSION 3.20)

# The lines a tool prints about OBJECT, as a list.
function(tool_lines out)
  execute_process(COMMAND ${ARGN} "${OBJECT}" OUTPUT_VARIABLE text RESULT_VARIABLE rc ERROR_VARIABLE err)
  if(NOT rc EQUAL 0)
    message(FATAL_ERROR "${ARGN} ${OBJECT} failed: ${err}")
  endif()
  string(REPLACE "\n" ";" text "${text}")
  set(${out} "${text}" PARENT_SCOPE)
endfunction()

tool_lines(table "${OBJDUMP}" -t)
set(stray "")
foreach(line IN LISTS table)
  # VALUE FLAGS SECTION SIZE NAME; FLAGS may hold spaces, so read from the end.
  if(line MATCHES "^[0-9a-fA-F]+ .* ([^ \t]+)[ \t]+[0-9a-fA-F]+[ \t]+([^ \t]+)$")
    set(section "${CMAKE_MATCH_1}")
    set(name "${CMAKE_MATCH_2}")
    if(section MATCHES "^\\.(data|bss|tdata|tbss)" AND NOT section MATCHES "^\\.data\\.rel\\.ro"
       AND NOT name STREQUAL section AND NOT name MATCHES "^\\.")
      list(APPEND stray "${name} (${section})")
    endif()
  endif()
endforeach()
if(stray)
  message(FATAL_ERROR "lwIP state outside the sections a reset restores: ${stray}. "
          "Add their input sections to lwip_data or lwip_bss in cmake/lwip_merge.ld.")
endif()
tool_lines(lines "${NM}" -P -g --defined-only)
set(names "")
foreach(line IN LISTS lines)
  if(line MATCHES "^([^ ]+) [A-Za-z] ")
    list(APPEND names "${CMAKE_MATCH_1}")
  endif()
endforeach()
list(REMOVE_DUPLICATES names)
foreach(required tcp_new lwip_init sys_now ts_lwip_owner ts_lwip_claim)
  if(NOT required IN_LIST names)
    message(FATAL_ERROR "${OBJECT} does not define ${required}: the lwIP build is incomplete")
  endif()
endforeach()
math(EXPR last "${COPIES} - 1")
foreach(k RANGE ${last})
  set(map "")
  foreach(n IN LISTS names)
    string(APPEND map "${n} ts_lwip${k}_${n}\n")
  endforeach()
  file(WRITE "${OUT_DIR}/lwip_syms_${k}.map.tmp" "${map}")
  file(RENAME "${OUT_DIR}/lwip_syms_${k}.map.tmp" "${OUT_DIR}/lwip_syms_${k}.map")
endforeach()
