/* Prototypes of the hooks named in lwipopts.h, included by lwIP's files that call
 * them (LWIP_HOOK_FILENAME), after lwIP's own headers. Defined in lwip_glue.c. */
#ifndef TS_LWIP_HOOKS_H
#define TS_LWIP_HOOKS_H

#include "lwip/arch.h"
#include "lwip/ip_addr.h"

u32_t ts_lwip_tcp_isn(const ip_addr_t *local_ip, u16_t local_port, const ip_addr_t *remote_ip,
                      u16_t remote_port);

#endif
