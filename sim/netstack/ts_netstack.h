/* ts_netstack: a userspace TCP/IP stack (lwIP 2.1, built from Debian's source
 * package by the project's CMake) hosted in a world: the provider's in-tunnel stack,
 * the relay's service stack, and any other device that needs real TCP.
 *
 * An instance is one isolated lwIP with one raw IP interface (no link layer): IPv4
 * and IPv6 addresses, TCP (client and listener), ICMP echo. Packets the stack emits
 * go to the `output` callback as ts_packets from the world's pool; packets for it
 * come in through ts_netstack_input. Its timers run on the world's virtual time: the
 * instance keeps one pending world event at lwIP's next timeout. Randomness (first
 * ephemeral port, initial sequence numbers) comes from the instance's seed only, so
 * a run is a function of the seeds and the packets it is given.
 *
 * Instances are copies of lwIP linked into the program (see CMakeLists.txt here for
 * why), so a process holds at most TS_NETSTACK_MAX_INSTANCES at a time (a build-time
 * constant, CMake option TUNNELSIM_NETSTACK_INSTANCES, default 8); create returns
 * TS_EFULL beyond that. Reset (about 2 us) frees everything the stack allocated and
 * puts its state back to a fresh start with a new seed; it is meant to run between
 * fuzz iterations.
 *
 * Re-entrancy: callbacks (output, TCP, echo) are called from inside the stack. They
 * may call this API for any instance, except that `output` must not feed a packet
 * back into the same instance synchronously (schedule it: a link does), and that an
 * instance is not reset or destroyed from inside its own callbacks. Handles of
 * connections and listeners die with the instance's reset or destroy, without a
 * callback. Not thread-safe: one thread drives an instance (claiming an instance at
 * create is the only step safe across threads).
 *
 * Lifetime: the instance is attached to the world, so ts_world_reset and
 * ts_world_destroy free it; ts_netstack_destroy frees it earlier. */
#ifndef TS_NETSTACK_H
#define TS_NETSTACK_H

#include <stdbool.h>
#include <stdint.h>

#include "ts_ipsum.h"
#include "ts_world.h"

#define TS_NETSTACK_NAME_MAX 64
#define TS_NETSTACK_DEFAULT_MTU 1500
#define TS_NETSTACK_LISTEN_BACKLOG 16

typedef struct ts_netstack ts_netstack;
typedef struct ts_netstack_tcp ts_netstack_tcp;
typedef struct ts_netstack_listener ts_netstack_listener;

/* A packet the stack sends; the callee owns it (a packet of the world's pool). */
typedef void (*ts_netstack_output_fn)(void *ctx, ts_packet *pkt);

typedef struct ts_netstack_config {
  const char *name;        /* names the instance (< TS_NETSTACK_NAME_MAX) */
  uint64_t seed;           /* first ephemeral ports and the ISN secret */
  ts_ipprefix addr4;       /* the IPv4 address and prefix; family 0 for none */
  ts_ipprefix addr6;       /* the IPv6 address and prefix; family 0 for none */
  uint16_t mtu;            /* 0 = TS_NETSTACK_DEFAULT_MTU */
  ts_netstack_output_fn output; /* required */
  void *output_ctx;
} ts_netstack_config;

typedef struct ts_netstack_stats {
  uint64_t packets_in, packets_out, bytes_in, bytes_out;
  uint64_t output_dropped;   /* packets the pool could not hold */
  uint64_t timer_events;     /* world events that ran lwIP's timeouts */
  uint64_t heap_bytes;       /* bytes the stack holds now (its allocator) */
  uint64_t heap_peak;
  uint64_t heap_failures;    /* allocations refused (the instance's heap limit) */
  /* Guards against lwIP 2.1.3 bugs (netstack_sanitize.c, netstack_guard.c): */
  uint64_t malformed_dropped; /* TCP segments with malformed options or header length,
                                 dropped before lwIP */
  uint64_t mss_stripped;     /* MSS options in segments without SYN, replaced by NOPs */
  uint64_t writes_deferred;  /* writes that queued nothing because the unsent tail was
                                sized for a larger segment than lwIP now allows */
  uint64_t persist_stopped;  /* persist timers stopped with nothing left to probe */
  uint64_t syn_mss_ignored;  /* MSS options of SYN segments that complete no handshake
                                (an unacceptable SYN-ACK, a repeated SYN), replaced by
                                NOPs */
} ts_netstack_stats;

/* Creates an instance on `w` with its interface up. TS_EINVAL for a bad config,
 * TS_EFULL when every instance of the build is in use, TS_ENOMEM. */
int ts_netstack_create(ts_world *w, const ts_netstack_config *cfg, ts_netstack **out);
/* Back to a fresh instance with the same addresses and callbacks and a new seed;
 * every connection and listener handle is freed, the pending timer cancelled. Only
 * TS_ENOMEM can fail it, and then the instance is still usable (empty, interface down). */
int ts_netstack_reset(ts_netstack *ns, uint64_t seed);
void ts_netstack_destroy(ts_netstack *ns);

/* One IP packet for the stack (bytes are copied; the caller keeps its buffer).
 * Malformed packets are dropped: TCP segments with malformed options or header
 * length before lwIP sees them (stats: malformed_dropped), the rest by lwIP. An MSS
 * option counts only in the SYN that opens a connection or the SYN-ACK that
 * completes one: elsewhere it is replaced by NOPs (mss_stripped, syn_mss_ignored).
 * RFC 9293's rules, checked because lwIP 2.1.3 mishandles them (netstack_sanitize.c,
 * netstack_guard.c). TS_ENOMEM if the stack could not hold it. */
int ts_netstack_input(ts_netstack *ns, const uint8_t *pkt, uint32_t len);

const char *ts_netstack_name(const ts_netstack *ns);
ts_world *ts_netstack_world(const ts_netstack *ns);
void ts_netstack_stats_get(const ts_netstack *ns, ts_netstack_stats *out);
/* Instances this build can hold at once, and how many are free now. */
uint32_t ts_netstack_capacity(void);
uint32_t ts_netstack_available(void);

/* ---- TCP ---------------------------------------------------------------------- */

enum ts_netstack_close_reason {
  TS_NETSTACK_RESET = 1,    /* the peer sent RST (a refused connect included) */
  TS_NETSTACK_ABORTED = 2,  /* lwIP gave up: retransmissions exhausted, or out of memory */
  TS_NETSTACK_CLOSED = 3,   /* the peer closed and we had no `eof` callback, or the
                               connection ended before we closed our side */
};
const char *ts_netstack_close_reason_name(int reason);

/* Callbacks of one connection; any may be NULL. `data` bytes are valid during the
 * call only; the receive window reopens as soon as it returns. `eof`: the peer sent
 * FIN (no more data; we may still send); without an `eof` callback the stack closes
 * our side too and calls `closed` with TS_NETSTACK_CLOSED. `sent`: `acked` bytes left
 * the send buffer, ts_netstack_tcp_sendable() says how much fits now. `closed`: the
 * connection ended without our close or abort (reason above); the handle is freed
 * after it returns. After ts_netstack_tcp_close or _abort no callback runs. */
typedef struct ts_netstack_tcp_callbacks {
  void (*connected)(void *ctx, ts_netstack_tcp *c);
  void (*data)(void *ctx, ts_netstack_tcp *c, const uint8_t *data, uint32_t len);
  void (*eof)(void *ctx, ts_netstack_tcp *c);
  void (*sent)(void *ctx, ts_netstack_tcp *c, uint32_t acked);
  void (*closed)(void *ctx, ts_netstack_tcp *c, int reason);
} ts_netstack_tcp_callbacks;

/* Active open from an ephemeral port to dst:port. TS_EINVAL (no address of dst's
 * family), TS_ENOMEM. The handle is valid until close, abort or `closed`. */
int ts_netstack_tcp_connect(ts_netstack *ns, const ts_ipaddr *dst, uint16_t port,
                            const ts_netstack_tcp_callbacks *cb, void *ctx, ts_netstack_tcp **out);
/* Queues up to len bytes (copied) and sends what the window allows; returns the
 * number queued (0 when the send buffer is full: wait for `sent`) or TS_ESTATE. The
 * buffer also counts as full while the last queued segment is bigger than lwIP now
 * allows (the peer's window or MSS shrank under it; lwIP 2.1.3 would assert:
 * netstack_guard.c, stats: writes_deferred) until that segment is sent. */
int ts_netstack_tcp_write(ts_netstack_tcp *c, const void *data, uint32_t len);
uint32_t ts_netstack_tcp_sendable(const ts_netstack_tcp *c);
/* Orderly close (FIN after the queued data); the stack finishes on its own. The
 * handle is dead after the call. */
void ts_netstack_tcp_close(ts_netstack_tcp *c);
/* RST now; the handle is dead after the call. */
void ts_netstack_tcp_abort(ts_netstack_tcp *c);
void ts_netstack_tcp_set_callbacks(ts_netstack_tcp *c, const ts_netstack_tcp_callbacks *cb, void *ctx);
/* The connection's 4-tuple (what a mux keys it by). */
void ts_netstack_tcp_endpoints(const ts_netstack_tcp *c, ts_ipaddr *local, uint16_t *local_port,
                               ts_ipaddr *remote, uint16_t *remote_port);
ts_netstack *ts_netstack_tcp_stack(const ts_netstack_tcp *c);

/* A new connection arrived on a listener (handshake complete). Set its callbacks
 * with ts_netstack_tcp_set_callbacks and return true, or return false to refuse it
 * (RST). */
typedef bool (*ts_netstack_accept_fn)(void *ctx, ts_netstack_listener *l, ts_netstack_tcp *c);

/* Listens on `port` of every address of the instance (IPv4 and IPv6). TS_EEXIST
 * when the port is taken, TS_ENOMEM. */
int ts_netstack_tcp_listen(ts_netstack *ns, uint16_t port, ts_netstack_accept_fn accept, void *ctx,
                           ts_netstack_listener **out);
/* Stops listening; accepted connections live on. The handle is dead after. */
void ts_netstack_listener_close(ts_netstack_listener *l);

/* ---- ICMP echo ------------------------------------------------------------------ */

/* An echo reply for this instance (requests to it are answered by lwIP itself).
 * `payload` is valid during the call only. */
typedef struct ts_netstack_echo {
  ts_ipaddr from;
  uint16_t id, seq;
  uint8_t ttl;              /* IPv4 TTL or IPv6 hop limit */
  const uint8_t *payload;
  uint32_t len;
} ts_netstack_echo;
typedef void (*ts_netstack_echo_fn)(void *ctx, ts_netstack *ns, const ts_netstack_echo *reply);

/* Where echo replies go (NULL: nowhere). Survives ts_netstack_reset. */
void ts_netstack_set_echo_handler(ts_netstack *ns, ts_netstack_echo_fn fn, void *ctx);
/* Sends one ICMP (or ICMPv6) echo request to dst. TS_EINVAL (no address of dst's
 * family, or too long), TS_ENOENT (no route), TS_ENOMEM. */
int ts_netstack_ping(ts_netstack *ns, const ts_ipaddr *dst, uint16_t id, uint16_t seq,
                     const uint8_t *payload, uint32_t len);

#endif
