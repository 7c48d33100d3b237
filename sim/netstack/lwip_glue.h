/* The seam between one lwIP copy and the code shared by all instances (internal to
 * sim/netstack).
 *
 * lwip_glue.c is compiled and linked into each lwIP copy, so every copy has its own
 * sys_now, ts_lwip_rand, ts_lwip_malloc, ... and its own `ts_lwip_owner`, the
 * instance that uses the copy. Each glue function forwards to the ts_netstack_glue_*
 * function below with that owner. The shared functions are not part of the copies:
 * their names are the same in every copy. */
#ifndef TS_LWIP_GLUE_H
#define TS_LWIP_GLUE_H

#include <stddef.h>

#include "lwip/arch.h"
#include "lwip/ip_addr.h"

struct ts_netstack;

/* lwIP's millisecond clock: virtual time since the instance's (re)start. */
u32_t ts_netstack_glue_now(struct ts_netstack *ns);
/* LWIP_RAND(): the instance's stream "lwip/rand". */
u32_t ts_netstack_glue_rand(struct ts_netstack *ns);
void *ts_netstack_glue_malloc(struct ts_netstack *ns, size_t size);
void *ts_netstack_glue_calloc(struct ts_netstack *ns, size_t count, size_t size);
void ts_netstack_glue_free(struct ts_netstack *ns, void *mem);
u32_t ts_netstack_glue_isn(struct ts_netstack *ns, const ip_addr_t *local_ip, u16_t local_port,
                           const ip_addr_t *remote_ip, u16_t remote_port);

#endif
