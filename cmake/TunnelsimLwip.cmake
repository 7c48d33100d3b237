# lwIP's source tree: Debian's source package `lwip`, fetched by scripts/deps.sh with
# `apt-get source lwip` into third_party/lwip/ (ignored by git; lwIP's code is never
# committed). sim/netstack/CMakeLists.txt builds it with the project's own options.
set(TUNNELSIM_LWIP_SRC "${PROJECT_SOURCE_DIR}/third_party/lwip" CACHE PATH
    "lwIP 2.1.x source tree (Debian's source package lwip; scripts/deps.sh fetches it)")
set(TUNNELSIM_NETSTACK_INSTANCES 8 CACHE STRING
    "lwIP instances one process can hold at once (one linked copy of lwIP each)")

if(NOT EXISTS "${TUNNELSIM_LWIP_SRC}/src/core/tcp.c")
  message(FATAL_ERROR "lwIP's source is not in ${TUNNELSIM_LWIP_SRC}. Run scripts/deps.sh "
          "(it fetches Debian's source package lwip with apt-get source), or point "
          "-DTUNNELSIM_LWIP_SRC=DIR at an lwIP 2.1 source tree.")
endif()
if(NOT TUNNELSIM_NETSTACK_INSTANCES MATCHES "^[1-9][0-9]*$" OR TUNNELSIM_NETSTACK_INSTANCES GREATER 64)
  message(FATAL_ERROR "TUNNELSIM_NETSTACK_INSTANCES must be a number from 1 to 64")
endif()

file(STRINGS "${TUNNELSIM_LWIP_SRC}/src/include/lwip/init.h" ts_lwip_version_lines
     REGEX "^#define LWIP_VERSION_(MAJOR|MINOR|REVISION)[ \t]+[0-9]+")
set(TUNNELSIM_LWIP_VERSION "")
foreach(part MAJOR MINOR REVISION)
  foreach(line ${ts_lwip_version_lines})
    if(line MATCHES "LWIP_VERSION_${part}[ \t]+([0-9]+)")
      list(APPEND TUNNELSIM_LWIP_VERSION ${CMAKE_MATCH_1})
    endif()
  endforeach()
endforeach()
list(JOIN TUNNELSIM_LWIP_VERSION "." TUNNELSIM_LWIP_VERSION)
if(NOT TUNNELSIM_LWIP_VERSION MATCHES "^2\\.1\\.")
  message(WARNING "lwIP ${TUNNELSIM_LWIP_VERSION} in ${TUNNELSIM_LWIP_SRC}: tunnelsim's options "
          "and figures are for lwIP 2.1.x (Debian bookworm's 2.1.3)")
endif()
message(STATUS "lwIP ${TUNNELSIM_LWIP_VERSION} from ${TUNNELSIM_LWIP_SRC}, "
        "${TUNNELSIM_NETSTACK_INSTANCES} instances")
