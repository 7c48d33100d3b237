/* The lwIP copies linked into the program, one function table each (internal to
 * sim/netstack; see CMakeLists.txt for how the copies are made).
 *
 * Shared code never calls an lwIP function by its own name: no such symbol exists
 * in the program, only the prefixed copies (ts_lwip<k>_tcp_new, ...), so a direct
 * call does not link. Calls go through the table of the instance's copy. lwIP macros
 * that name lwIP globals (IP_ADDR_ANY, IP_ANY_TYPE, netif_default, ip_current_*)
 * cannot be used for the same reason; initialise addresses with the *_INIT macros.
 * The one lwIP variable the shared code reads, tcp_active_pcbs, is in the table too. */
#ifndef TS_LWIP_COPIES_H
#define TS_LWIP_COPIES_H

#include <stdatomic.h>

#include "lwip/init.h"
#include "lwip/ip.h"
#include "lwip/ip6_addr.h"
#include "lwip/netif.h"
#include "lwip/pbuf.h"
#include "lwip/raw.h"
#include "lwip/tcp.h"
#include "lwip/timeouts.h"

/* The lwIP functions the shared code uses. Add one here to use it. */
#define TS_LWIP_FUNCTIONS(X) \
  X(lwip_init)               \
  X(sys_check_timeouts)      \
  X(sys_timeouts_sleeptime)  \
  X(netif_add)               \
  X(netif_set_default)       \
  X(netif_set_up)            \
  X(netif_set_link_up)       \
  X(netif_ip6_addr_set)      \
  X(netif_ip6_addr_set_state) \
  X(ip_input)                \
  X(pbuf_alloc)              \
  X(pbuf_free)               \
  X(pbuf_take)               \
  X(pbuf_copy_partial)       \
  X(raw_new_ip_type)         \
  X(raw_recv)                \
  X(raw_sendto)              \
  X(tcp_new_ip_type)         \
  X(tcp_arg)                 \
  X(tcp_recv)                \
  X(tcp_sent)                \
  X(tcp_err)                 \
  X(tcp_accept)              \
  X(tcp_bind)                \
  X(tcp_listen_with_backlog_and_err) \
  X(tcp_connect)             \
  X(tcp_write)               \
  X(tcp_output)              \
  X(tcp_recved)              \
  X(tcp_close)               \
  X(tcp_abort)

typedef struct ts_lwip_api {
#define TS_LWIP_FIELD(name) __typeof__(name) *name;
  TS_LWIP_FUNCTIONS(TS_LWIP_FIELD)
#undef TS_LWIP_FIELD
  void **owner;            /* the copy's ts_lwip_owner */
  struct tcp_pcb **tcp_active_pcbs; /* the copy's list of connections (netstack_guard.c) */
  _Atomic int *claim;      /* the copy's ts_lwip_claim */
  /* The copy's writable state: initialised data and zeroed data. */
  unsigned char *data_start, *data_end, *bss_start, *bss_end;
  unsigned index;
} ts_lwip_api;

extern const ts_lwip_api *const ts_lwip_copies[];
extern const unsigned ts_lwip_copy_count;

#endif
