/* Linked into every lwIP copy (see CMakeLists.txt): lwIP's system hooks, bound to
 * the instance that owns the copy. Nothing else here: all logic is shared code. */
#include <stdatomic.h>

#include "lwip/opt.h"
#include "lwip/sys.h"

#include "lwip_glue.h"
#include "ts_lwip_hooks.h"

/* The instance using this copy, or NULL. In the copy's .bss, so a reset clears it
 * along with the rest of lwIP's state (the instance sets it again). */
void *ts_lwip_owner;
/* Nonzero while an instance holds this copy. In a section of its own, outside the
 * state a reset restores. */
__attribute__((section("ts_lwip_claims"))) _Atomic int ts_lwip_claim;
/* Makes sure the copy has a data section to snapshot, whatever lwIP's options. */
volatile unsigned char ts_lwip_data_marker = 1;

u32_t sys_now(void) { return ts_netstack_glue_now(ts_lwip_owner); }

u32_t ts_lwip_rand(void) { return ts_netstack_glue_rand(ts_lwip_owner); }

void *ts_lwip_malloc(size_t size) { return ts_netstack_glue_malloc(ts_lwip_owner, size); }

void *ts_lwip_calloc(size_t count, size_t size) {
  return ts_netstack_glue_calloc(ts_lwip_owner, count, size);
}

void ts_lwip_free(void *mem) { ts_netstack_glue_free(ts_lwip_owner, mem); }

u32_t ts_lwip_tcp_isn(const ip_addr_t *local_ip, u16_t local_port, const ip_addr_t *remote_ip,
                      u16_t remote_port) {
  return ts_netstack_glue_isn(ts_lwip_owner, local_ip, local_port, remote_ip, remote_port);
}
