/* Shared by the files of sim/netstack: the instance, its allocator, and the TCP and
 * echo parts' entry points. Not included from outside this folder. */
#ifndef TS_NETSTACK_INTERNAL_H
#define TS_NETSTACK_INTERNAL_H

#include <stddef.h>
#include <stdint.h>

#include "lwip_copies.h"
#include "ts_netstack.h"
#include "ts_rng.h"

/* ---- the instance's allocator (netstack_alloc.c) -------------------------------- */

/* Everything an instance's lwIP allocates, and our own per-connection objects, come
 * from here, so that a reset frees all of it at once. Release builds carve blocks of
 * seven size classes (64 B to 4 KiB) out of 64 KiB chunks kept across resets (no
 * allocation on the hot path once warm); larger blocks, and every block when
 * AddressSanitizer is on (so that it sees lwIP's heap: redzones, use after free),
 * come from malloc on a list that the reset walks. */
#define TS_NSA_CLASSES 7
#define TS_NSA_LIMIT (64u << 20) /* bytes one instance may hold; then allocations fail */

struct ts_nsa_chunk;
struct ts_nsa_big;

typedef struct ts_nsalloc {
  struct ts_nsa_chunk *chunks, *cur; /* chunk list; the one being carved */
  size_t cur_used;
  void *free_list[TS_NSA_CLASSES];
  struct ts_nsa_big *big;            /* malloc'd blocks, doubly linked */
  uint64_t bytes, peak, failures;
} ts_nsalloc;

void ts_nsa_init(ts_nsalloc *a);
void *ts_nsa_alloc(ts_nsalloc *a, size_t size);
void *ts_nsa_calloc(ts_nsalloc *a, size_t size);
void ts_nsa_free(ts_nsalloc *a, void *p);
/* Frees every block handed out; chunks are kept for reuse. */
void ts_nsa_reset(ts_nsalloc *a);
/* Frees everything, chunks included. */
void ts_nsa_destroy(ts_nsalloc *a);

/* ---- the copy's writable state (netstack_state.c) ------------------------------- */

struct ts_lwip_span;
typedef struct ts_lwip_state {
  unsigned char *image;            /* the pristine lwip_data, at the same offsets */
  struct ts_lwip_span *data, *bss; /* what to copy back and what to zero */
  uint32_t n_data, n_bss;
} ts_lwip_state;

/* Takes the pristine image of a copy nobody has run since it was last restored. */
int ts_lwip_state_save(ts_lwip_state *s, const ts_lwip_api *L);
/* Puts the copy's state back to that image (no-op if nothing was saved). */
void ts_lwip_state_restore(const ts_lwip_state *s, const ts_lwip_api *L);
void ts_lwip_state_free(ts_lwip_state *s);

/* ---- the instance -------------------------------------------------------------- */

struct ts_netstack {
  ts_world *world;
  const ts_lwip_api *L;       /* the lwIP copy this instance holds */
  char name[TS_NETSTACK_NAME_MAX];
  ts_netstack_config cfg;     /* cfg.name points at `name` */
  uint64_t seed;
  ts_rng rand_rng;            /* LWIP_RAND(): "lwip/rand" */
  uint64_t isn_key[2];        /* from "lwip/isn" */
  ts_time epoch;              /* world time of the (re)start: lwIP's time 0 */
  bool up;                    /* lwIP initialised and the interface added */
  ts_event_id timer;          /* pending world event at lwIP's next timeout, or 0 */
  ts_time timer_due;
  struct netif netif;
  struct raw_pcb *raw4, *raw6; /* ICMP and ICMPv6 echo */
  ts_netstack_echo_fn echo_fn;
  void *echo_ctx;
  ts_nsalloc heap;
  ts_lwip_state state;        /* the copy's pristine state */
  uint8_t *scratch;           /* a linear copy of a chained packet (TS_PACKET_MAX) */
  ts_netstack_stats stats;
};

/* Re-arms the world event at lwIP's next timeout; call after every entry into lwIP. */
void ts_netstack_rearm(ts_netstack *ns);
int ts_netstack_err(err_t err);
void ts_netstack_addr_to_lwip(const ts_ipaddr *in, ip_addr_t *out);
void ts_netstack_addr_from_lwip(const ip_addr_t *in, ts_ipaddr *out);

/* netstack_echo.c: the raw pcbs, made at every (re)start. */
int ts_netstack_echo_start(ts_netstack *ns);

/* A SYN segment with an MSS option (netstack_sanitize.c): its 4-tuple as it came
 * (src is the peer), acknowledgment number, flags, and where its TCP header is. */
typedef struct ts_netstack_syn_mss {
  bool present;
  ts_ipaddr src, dst;
  uint16_t sport, dport;
  uint32_t ack;
  uint8_t flags;
  uint32_t tcp_offset;
} ts_netstack_syn_mss;

/* netstack_sanitize.c: checks (and may rewrite) one inbound packet in place before
 * lwIP sees it; false to drop it. Counts in `st`; fills `syn_mss` for a SYN segment
 * with an MSS option. */
bool ts_netstack_sanitize(uint8_t *pkt, uint32_t len, ts_netstack_stats *st, ts_netstack_syn_mss *syn_mss);
/* Replaces the MSS options of that SYN segment by NOPs (checksum adjusted); how many. */
uint32_t ts_netstack_strip_mss(uint8_t *pkt, const ts_netstack_syn_mss *s);

/* netstack_guard.c: connection states in which lwIP 2.1.3 misbehaves.
 * True while tcp_write would trip an assertion for pcb (the write must wait). */
bool ts_netstack_guard_write_blocked(const struct tcp_pcb *pcb);
/* Stops persist timers that have nothing to probe; call before lwIP's timers run. */
void ts_netstack_guard_persist(ts_netstack *ns);
/* Before lwIP takes a SYN segment with an MSS option: strips the option when the
 * segment is for a connection in the handshake that it does not complete. */
void ts_netstack_guard_syn_mss(ts_netstack *ns, uint8_t *pkt, const ts_netstack_syn_mss *s);

#endif
