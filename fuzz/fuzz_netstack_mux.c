/* Fuzz target: packets out of the tunnel into the provider's mux (sim/devices/mux.c)
 * and, where it routes them, into the provider's userspace netstack (lwIP through
 * sim/netstack, instrumented like the rest of the fuzz build).
 *
 * The world: one ts_netstack (10.64.0.2/32 and fc00:bbbb:bbbb:bb01::2/128, MTU 1280,
 * as the provider's in-tunnel stack) whose output goes through ts_mux_outbound and
 * then nowhere (the harness is the peer: it reads what the stack sent and builds
 * answers from the input). Before the input runs, the stack opens a TCP connection
 * to 10.64.0.1:1337 and one to [fc00:bbbb:bbbb:bb01::1]:1337 and pings both (so the
 * mux, of capacity 4, starts full). Then up to MAX_STEPS steps [op][args...]
 * (missing bytes read as 0):
 *   op % 8 == 0  raw bytes: a length (2 bytes, < 1600) and that many bytes
 *           1  a TCP segment for connection (sel): flags, seq and ack relative to
 *              what the stack last acked and sent (or absolute), window, raw TCP
 *              options, a payload, optionally a wrong checksum, IPv4 options or
 *              fragment bits, IPv6 extension headers (hop-by-hop, routing,
 *              destination options, fragment)
 *           2  an ICMP/ICMPv6 echo reply for a ping (or another identifier / host)
 *           3  an ICMP error quoting the stack's last packet of a flow (type, code,
 *              how much of it is quoted, from the peer or a router)
 *           4  advance virtual time ((b + 1)^2 ms: lwIP's timers run)
 *           5  an application action: write, close, abort, a new connection (which
 *              makes the mux evict), a new ping
 *           6  an IP header built by the harness around raw L4 bytes (protocol and
 *              addresses chosen, the L4 checksum fixed or not)
 *           7  as 1, then advance time by 1..256 ms
 * Bits 3..7 of the op byte are its sub-flags.
 *
 * Claims (abort() with a message when broken), after every packet:
 *   - the mux routes to the netstack exactly the packets whose flow was tracked
 *     just before (the harness's own reading of the packet: TCP 4-tuple reversed,
 *     echo identifier, or the flow quoted by an ICMP error); never an untracked one;
 *   - every packet the netstack emits is well-formed for the mux, its TCP flow or
 *     echo identifier is tracked after it (unless it was a RST, or the segment
 *     closed the flow), a RST leaves its flow untracked;
 *   - the flow count never exceeds the capacity;
 *   - the netstack's own check of inbound TCP segments (sim/netstack/
 *     netstack_sanitize.c) drops exactly the segments whose header the harness
 *     reads as malformed (options whose length byte is missing, below 2 or past the
 *     header; Data Offset below 5 or past the segment) and rewrites exactly the MSS
 *     options of segments without SYN (counters malformed_dropped, mss_stripped),
 *     where the harness can tell (not for IPv6 fragments or an IPv4 header with a
 *     bad checksum);
 * and at teardown (ts_netstack_reset + ts_mux_reset after every input) the
 * netstack's heap is back at its baseline and no packet of the world's pool is
 * outstanding. LeakSanitizer covers the rest across iterations.
 *
 * Five lwIP 2.1.3 bugs this target found (a heap over-read of a TCP option's length
 * byte; an MSS option honoured without SYN; tcp_write asserting after the peer's
 * window or MSS shrank under queued data; a persist timer left ticking with nothing
 * to send; the MSS option of an unacceptable SYN-ACK honoured, segments beyond the
 * MTU) are guarded against in the product: sim/netstack/netstack_sanitize.c and
 * netstack_guard.c say how, and tests/netstack/test_netstack_guards.c plays each
 * one. The harness hands lwIP every segment the mux routes to it as it is, writes
 * in any state, and leaves windows as the input says, so lwIP's small-window,
 * zero-window and persist code is fuzzed; the reproducers corpus/fuzz_netstack_mux/
 * lwip_* replay through the guards. Seeds: tools/gen_netstack_mux_seeds.py.
 * -DFUZZ_NETSTACK_MUX_VERBOSE prints every step. */
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ts_bytes.h"
#include "ts_error.h"
#include "ts_ipsum.h"
#include "ts_mux.h"
#include "ts_native.h"
#include "ts_netstack.h"
#include "ts_world.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define MAX_STEPS 64
#define MUX_CAPACITY 4
#define MAX_CONNS 8
#define MAX_PINGS 8
#define PKT_MAX 1600
#define QUOTE_MAX 128
#define SEED 7
#define PEER_PORT 1337
#define PEER_ISN 0x10000000u
#define PING_ID 0x1234
/* Virtual time one input may use: lwIP's TCP gives up on a connection well within. */
#define TIME_CAP (600 * TS_SEC)

#define TCP_FIN 0x01
#define TCP_SYN 0x02
#define TCP_RST 0x04
#define TCP_ACK 0x10

#define FAIL(...)                                            \
  do {                                                       \
    fprintf(stderr, "fuzz_netstack_mux: claim broken: ");    \
    fprintf(stderr, __VA_ARGS__);                            \
    fprintf(stderr, "\n");                                   \
    abort();                                                 \
  } while (0)

/* -DFUZZ_NETSTACK_MUX_VERBOSE prints every step and packet (for reading a reproducer). */
#ifdef FUZZ_NETSTACK_MUX_VERBOSE
#define TRACE(...) fprintf(stderr, __VA_ARGS__)
#else
#define TRACE(...) ((void)0)
#endif

/* A TCP connection the netstack opened, as the harness (its peer) sees it. */
struct conn {
  bool used, live, connected;
  ts_netstack_tcp *h; /* valid while live */
  ts_ipaddr local, remote;
  uint16_t lport, rport;
  bool have_ack;
  uint32_t snd_nxt, rcv_nxt; /* from the stack's latest segment */
  uint8_t last[QUOTE_MAX];   /* the start of the stack's latest packet, to quote */
  uint32_t last_len;
};

struct ping {
  ts_ipaddr local, remote;
  uint16_t id;
  uint8_t last[QUOTE_MAX];
  uint32_t last_len;
};

/* A flow key as the mux keys it, read independently from a packet by the harness. */
struct key {
  uint8_t family, proto; /* proto TS_IPPROTO_TCP or ICMP/ICMPV6 */
  uint8_t local[16], remote[16];
  uint16_t lport, rport;
};

static struct {
  ts_world *w;
  ts_netstack *ns;
  ts_mux *mux;
  uint64_t heap0;
  ts_ipaddr addr4, addr6, peer4, peer6, other4, other6;
  struct conn conns[MAX_CONNS];
  struct ping pings[MAX_PINGS];
  uint32_t nconns, npings;
  ts_time t_end;
  uint8_t pkt[PKT_MAX + 256];
} H;

/* ---- input reader ------------------------------------------------------------------ */

struct rd {
  const uint8_t *p;
  size_t n, at;
};
static uint8_t u8(struct rd *r) { return r->at < r->n ? r->p[r->at++] : 0; }
static uint16_t u16(struct rd *r) {
  uint16_t hi = u8(r);
  return (uint16_t)((hi << 8) | u8(r));
}
static uint32_t u32(struct rd *r) {
  uint32_t hi = u16(r);
  return (hi << 16) | u16(r);
}

static bool seq_gt(uint32_t a, uint32_t b) { return (int32_t)(a - b) > 0; }
static size_t alen(uint8_t family) { return family == 6 ? 16 : 4; }

/* ---- the harness's own reading of a packet (independent of mux.c) ------------------ */

/* Walks IPv6 extension headers as the mux documents it: hop-by-hop, routing,
 * destination options and atomic fragments, at most 8. True with the upper-layer
 * protocol and its offset. */
static bool walk6(const uint8_t *p, uint32_t end, uint8_t nh, uint32_t *off, uint8_t *proto) {
  for (int i = 0; i < 9; i++) {
    if (nh != 0 && nh != 43 && nh != 44 && nh != 60) {
      *proto = nh;
      return true;
    }
    if (i == 8 || *off + 8 > end) return false;
    const uint8_t *h = p + *off;
    uint32_t hl = nh == 44 ? 8 : ((uint32_t)h[1] + 1) * 8;
    if (nh == 44 && (ts_rd16(h + 2) & 0xfff9)) return false;
    if (*off + hl > end) return false;
    nh = h[0];
    *off += hl;
  }
  return false;
}

#ifdef FUZZ_NETSTACK_MUX_VERBOSE
static uint8_t tcp_flags_of(const uint8_t *p, uint32_t len) {
  ts_ip_info in;
  if (ts_ip_parse(p, len, &in) != 0 || in.proto != TS_IPPROTO_TCP || in.l4_len < 20) return 0;
  return p[in.l4_offset + 13];
}
#endif

static bool is_error(uint8_t family, uint8_t type) {
  return family == 4 ? (type == 3 || type == 4 || type == 5 || type == 11 || type == 12)
                     : (type >= 1 && type <= 4);
}

/* The key of the flow an inbound packet belongs to, or false if it names none the
 * mux could track. */
static bool inbound_key(const uint8_t *p, uint32_t len, struct key *k) {
  ts_ip_info in;
  if (ts_ip_parse(p, len, &in) != 0) return false;
  uint32_t off = in.l4_offset, end = in.l4_offset + in.l4_len;
  uint8_t proto = in.proto;
  if (in.family == 4 && (ts_rd16(p + 6) & 0x3fff)) return false;
  if (in.family == 6 && !walk6(p, end, p[6], &off, &proto)) return false;
  const uint8_t *l4 = p + off;
  uint32_t l4len = end - off;
  memset(k, 0, sizeof *k);
  k->family = in.family;
  uint8_t icmp = in.family == 4 ? TS_IPPROTO_ICMP : TS_IPPROTO_ICMPV6;
  if (proto == TS_IPPROTO_TCP) {
    if (l4len < 20 || (l4[12] >> 4) < 5 || (uint32_t)(l4[12] >> 4) * 4 > l4len) return false;
    k->proto = TS_IPPROTO_TCP;
    memcpy(k->local, in.dst.bytes, 16);
    memcpy(k->remote, in.src.bytes, 16);
    k->lport = ts_rd16(l4 + 2);
    k->rport = ts_rd16(l4);
    return true;
  }
  if (proto != icmp || l4len < 8) return false;
  if (l4[0] == (in.family == 4 ? 0 : 129)) {
    k->proto = icmp;
    memcpy(k->local, in.dst.bytes, 16);
    memcpy(k->remote, in.src.bytes, 16);
    k->lport = ts_rd16(l4 + 4);
    return true;
  }
  if (!is_error(in.family, l4[0])) return false;
  /* The quoted packet: sent by the netstack (its source is the outer destination). */
  const uint8_t *q = l4 + 8;
  uint32_t qlen = l4len - 8, qoff;
  uint8_t qproto;
  if (in.family == 4) {
    if (qlen < 20 || (q[0] >> 4) != 4 || (q[0] & 15) < 5 || (ts_rd16(q + 6) & 0x1fff)) return false;
    qoff = (uint32_t)(q[0] & 15) * 4;
    qproto = q[9];
    if (memcmp(q + 12, in.dst.bytes, 4) != 0) return false;
    memcpy(k->local, q + 12, 4);
    memcpy(k->remote, q + 16, 4);
  } else {
    if (qlen < 40 || (q[0] >> 4) != 6) return false;
    qoff = 40;
    if (!walk6(q, qlen, q[6], &qoff, &qproto)) return false;
    if (memcmp(q + 8, in.dst.bytes, 16) != 0) return false;
    memcpy(k->local, q + 8, 16);
    memcpy(k->remote, q + 24, 16);
  }
  if (qoff > qlen || qlen - qoff < 8) return false;
  if (qproto == TS_IPPROTO_TCP) {
    k->proto = TS_IPPROTO_TCP;
    k->lport = ts_rd16(q + qoff);
    k->rport = ts_rd16(q + qoff + 2);
    return true;
  }
  if (qproto == icmp && q[qoff] == (in.family == 4 ? 8 : 128)) {
    k->proto = icmp;
    k->lport = ts_rd16(q + qoff + 4);
    return true;
  }
  return false;
}

/* ---- the harness's reading of what the netstack's TCP check must do -------------------
 *
 * RFC 9293 §3.1 and §3.2 as the harness reads them, written apart from
 * netstack_sanitize.c: a segment is malformed if it is shorter than 20 bytes, its
 * Data Offset is below 5 or past the segment, or an option other than EOL/NOP has
 * no length byte inside the options, a length below 2, or a length that runs past
 * them (nothing after EOL counts); an MSS option (kind 2) without SYN is to be
 * rewritten. False when the harness cannot tell: not IP it can parse, an IPv6
 * fragment (walk6 stops there), not TCP. A later IPv4 fragment holds no TCP header:
 * nothing to do. */
struct tcp_verdict {
  bool malformed;
  uint32_t mss; /* MSS options to rewrite */
};

static bool expected_tcp_verdict(const uint8_t *p, uint32_t len, struct tcp_verdict *v) {
  memset(v, 0, sizeof *v);
  ts_ip_info in;
  if (ts_ip_parse(p, len, &in) != 0) return false;
  uint32_t off = in.l4_offset, end = in.l4_offset + in.l4_len;
  uint8_t proto = in.proto;
  if (in.family == 4 && (ts_rd16(p + 6) & 0x1fff)) return proto == TS_IPPROTO_TCP;
  if (in.family == 6 && !walk6(p, end, p[6], &off, &proto)) return false;
  if (proto != TS_IPPROTO_TCP) return false;
  const uint8_t *t = p + off;
  uint32_t seglen = end - off;
  if (seglen < 20 || t[12] < 0x50 || (uint32_t)(t[12] >> 4) * 4 > seglen) {
    v->malformed = true;
    return true;
  }
  const uint8_t *o = t + 20, *stop = t + (t[12] >> 4) * 4;
  while (o < stop && *o != 0) {
    if (*o == 1) {
      o++;
      continue;
    }
    if (stop - o < 2 || o[1] < 2 || o[1] > stop - o) {
      v->malformed = true;
      v->mss = 0;
      return true;
    }
    if (*o == 2 && !(t[13] & TCP_SYN)) v->mss++;
    o += o[1];
  }
  return true;
}

static bool tracked(const struct key *k) {
  return ts_mux_is_tracked(H.mux, k->family, k->proto, k->local, k->lport, k->remote, k->rport);
}

static void check_count(const char *where) {
  if (ts_mux_flow_count(H.mux) > ts_mux_capacity(H.mux))
    FAIL("%s: %zu flows in a mux of %zu", where, ts_mux_flow_count(H.mux), ts_mux_capacity(H.mux));
}

/* ---- the netstack's side --------------------------------------------------------------- */

static struct conn *conn_for(uint8_t family, const uint8_t *local, uint16_t lport,
                             const uint8_t *remote, uint16_t rport) {
  for (uint32_t i = 0; i < H.nconns; i++) {
    struct conn *c = &H.conns[i];
    if (c->local.family == family && c->lport == lport && c->rport == rport &&
        !memcmp(c->local.bytes, local, alen(family)) && !memcmp(c->remote.bytes, remote, alen(family)))
      return c;
  }
  return NULL;
}

/* What the stack sent: the mux learns it, the harness remembers it as the peer. */
static void on_output(void *ctx, ts_packet *pkt) {
  (void)ctx;
  ts_mux_stats before, after;
  ts_mux_get_stats(H.mux, &before);
#ifdef FUZZ_NETSTACK_MUX_VERBOSE
  char d[160];
  ts_ipsum_describe(pkt->data, pkt->len, d, sizeof d);
  TRACE("  out %s len=%u tcpflags=%02x\n", d, pkt->len, tcp_flags_of(pkt->data, pkt->len));
#endif
  if (ts_mux_outbound(H.mux, pkt->data, pkt->len) != 0) FAIL("the netstack sent a packet the mux calls malformed");
  ts_mux_get_stats(H.mux, &after);
  check_count("outbound");
  ts_ip_info in;
  if (ts_ip_parse(pkt->data, pkt->len, &in) != 0) FAIL("the netstack sent a packet ts_ip_parse refuses");
  const uint8_t *l4 = pkt->data + in.l4_offset;
  uint32_t q = pkt->len < QUOTE_MAX ? pkt->len : QUOTE_MAX;
  if (in.proto == TS_IPPROTO_TCP && in.l4_len >= 20) {
    uint8_t flags = l4[13];
    bool is_tracked = ts_mux_is_tracked(H.mux, in.family, TS_IPPROTO_TCP, in.src.bytes, in.sport,
                                        in.dst.bytes, in.dport);
    if ((flags & TCP_RST) && is_tracked) FAIL("a flow outlived the netstack's RST");
    if (!(flags & TCP_RST) && !is_tracked && after.closed == before.closed)
      FAIL("the netstack's segment left its flow untracked");
    struct conn *c = conn_for(in.family, in.src.bytes, in.sport, in.dst.bytes, in.dport);
    if (!c && (flags & TCP_SYN)) {
      /* The SYN of open_conn, sent inside ts_netstack_tcp_connect before the harness
       * knows the port: the slot waiting with port 0 is this one. */
      c = conn_for(in.family, in.src.bytes, 0, in.dst.bytes, in.dport);
      if (c) c->lport = in.sport;
    }
    if (c) {
      uint32_t len = in.l4_len - (uint32_t)(l4[12] >> 4) * 4;
      uint32_t end = ts_rd32(l4 + 4) + len + ((flags & TCP_SYN) ? 1 : 0) + ((flags & TCP_FIN) ? 1 : 0);
      if (!c->last_len || seq_gt(end, c->snd_nxt)) c->snd_nxt = end;
      if (flags & TCP_ACK) {
        c->rcv_nxt = ts_rd32(l4 + 8);
        c->have_ack = true;
      }
      memcpy(c->last, pkt->data, q);
      c->last_len = q;
    }
  } else if ((in.proto == TS_IPPROTO_ICMP || in.proto == TS_IPPROTO_ICMPV6) && in.l4_len >= 8 &&
             in.icmp_type == (in.family == 4 ? 8 : 128)) {
    if (!ts_mux_is_tracked(H.mux, in.family, in.proto, in.src.bytes, in.icmp_id, in.dst.bytes, 0))
      FAIL("the netstack's echo request left its identifier untracked");
    for (uint32_t i = 0; i < H.npings; i++) {
      struct ping *g = &H.pings[i];
      if (g->id == in.icmp_id && ts_ipaddr_equal(&g->remote, &in.dst)) {
        memcpy(g->last, pkt->data, q);
        g->last_len = q;
      }
    }
  }
  ts_packet_free(ts_world_pool(H.w), pkt);
}

static void on_closed(void *ctx, ts_netstack_tcp *c, int reason) {
  (void)c;
  struct conn *k = ctx;
  if (reason != TS_NETSTACK_RESET && reason != TS_NETSTACK_ABORTED && reason != TS_NETSTACK_CLOSED)
    FAIL("close reason %d", reason);
  k->live = false;
  k->h = NULL;
}

static void on_connected(void *ctx, ts_netstack_tcp *c) {
  (void)c;
  ((struct conn *)ctx)->connected = true;
}

static void on_data(void *ctx, ts_netstack_tcp *c, const uint8_t *data, uint32_t len) {
  (void)ctx, (void)c, (void)data, (void)len;
}

static void on_eof(void *ctx, ts_netstack_tcp *c) {
  struct conn *k = ctx;
  /* Close our side too: the FIN exchange the mux must follow to its end. */
  ts_netstack_tcp_close(c);
  k->live = false;
  k->h = NULL;
}

static const ts_netstack_tcp_callbacks callbacks = {
    .connected = on_connected, .data = on_data, .eof = on_eof, .closed = on_closed};

static void open_conn(bool v6, uint16_t port, bool other_remote) {
  if (H.nconns == MAX_CONNS) return;
  struct conn *c = &H.conns[H.nconns];
  memset(c, 0, sizeof *c);
  const ts_ipaddr *dst = other_remote ? (v6 ? &H.other6 : &H.other4) : (v6 ? &H.peer6 : &H.peer4);
  /* The slot is filled before connect: the SYN goes out inside the call. */
  c->used = true;
  c->local = v6 ? H.addr6 : H.addr4;
  c->remote = *dst;
  c->rport = port;
  H.nconns++;
  ts_netstack_tcp *h;
  if (ts_netstack_tcp_connect(H.ns, dst, port, &callbacks, c, &h) != 0) {
    H.nconns--;
    return;
  }
  c->h = h;
  c->live = true;
  ts_ipaddr l, r;
  uint16_t rp;
  ts_netstack_tcp_endpoints(h, &l, &c->lport, &r, &rp);
  c->local = l;
  /* lwIP sends the SYN from tcp_connect, before the port was known here: look at
   * the mux's view now instead of the snapshot of on_output. */
  if (!ts_mux_is_tracked(H.mux, l.family, TS_IPPROTO_TCP, l.bytes, c->lport, r.bytes, rp))
    FAIL("the SYN of a new connection was not learnt");
}

static void open_ping(bool v6, uint16_t id, bool other_remote) {
  if (H.npings == MAX_PINGS) return;
  struct ping *g = &H.pings[H.npings++];
  memset(g, 0, sizeof *g);
  g->local = v6 ? H.addr6 : H.addr4;
  g->remote = other_remote ? (v6 ? H.other6 : H.other4) : (v6 ? H.peer6 : H.peer4);
  g->id = id;
  if (ts_netstack_ping(H.ns, &g->remote, id, 1, (const uint8_t *)"mux", 3) != 0) H.npings--;
}

/* ---- inbound: the claims around ts_mux_inbound --------------------------------------- */

static void inbound(const uint8_t *p, uint32_t len) {
  struct key k;
  bool known = inbound_key(p, len, &k);
  bool was = known && tracked(&k);
  ts_mux_route r = ts_mux_inbound(H.mux, p, len);
#ifdef FUZZ_NETSTACK_MUX_VERBOSE
  char d[160];
  ts_ipsum_describe(p, len, d, sizeof d);
  TRACE("  in  %s len=%u tcpflags=%02x -> %s\n", d, len, known && k.proto == TS_IPPROTO_TCP ? tcp_flags_of(p, len) : 0,
        r == TS_MUX_NETSTACK ? "netstack" : "utun");
#endif
  if (r == TS_MUX_NETSTACK && !was) FAIL("a packet of no tracked flow was routed to the netstack");
  if (r == TS_MUX_UTUN && was) FAIL("a packet of a tracked flow was routed to utun");
  check_count("inbound");
  if (r == TS_MUX_NETSTACK && len > 0) {
    struct tcp_verdict v;
    bool know = expected_tcp_verdict(p, len, &v);
    ts_netstack_stats before, after;
    ts_netstack_stats_get(H.ns, &before);
    ts_netstack_input(H.ns, p, len);
    ts_netstack_stats_get(H.ns, &after);
    uint64_t dropped = after.malformed_dropped - before.malformed_dropped;
    uint64_t stripped = after.mss_stripped - before.mss_stripped;
    if (know && (dropped != (v.malformed ? 1u : 0u) || stripped != v.mss))
      FAIL("the netstack's TCP check dropped %llu and rewrote %llu MSS options; the harness expected %d and %u",
           (unsigned long long)dropped, (unsigned long long)stripped, v.malformed, v.mss);
  }
}

static void advance(ts_time dt) {
  ts_time now = ts_world_now(H.w);
  if (now >= H.t_end) return;
  if (dt > H.t_end - now) dt = H.t_end - now;
  ts_world_run_until(H.w, now + dt);
}

/* ---- packet builders ------------------------------------------------------------------- */

/* An IP header for l4len bytes of proto from src to dst, with `wrap` deciding
 * IPv4 options/fragment bits or IPv6 extension headers (wb: their bytes). Returns
 * the header length; the L4 bytes go right after it. */
static uint32_t ip_header(uint8_t *out, const ts_ipaddr *src, const ts_ipaddr *dst, uint8_t proto,
                          uint32_t l4len, uint8_t wrap, uint32_t wb) {
  if (src->family == 4) {
    uint32_t opt = (wrap & 3) == 1 ? 4 : 0, h = 20 + opt;
    memset(out, 0, h);
    out[0] = (uint8_t)(0x40 | (h / 4));
    ts_wr16(out + 2, (uint16_t)(h + l4len));
    /* DF normally; MF or an offset when asked (the mux must leave fragments to utun). */
    ts_wr16(out + 6, (wrap & 3) == 2 ? (uint16_t)(wb & 0x3fff) : 0x4000);
    out[8] = 64;
    out[9] = proto;
    memcpy(out + 12, src->bytes, 4);
    memcpy(out + 16, dst->bytes, 4);
    if (opt) ts_wr32(out + 20, wb); /* raw option bytes: lwIP's option handling */
    ts_wr16(out + 10, ts_checksum_finish(ts_checksum_add(0, out, h)));
    return h;
  }
  static const uint8_t exts[4] = {0, 60, 43, 44};
  uint32_t next = 0, n = wrap & 3; /* n extension headers of 8 bytes */
  memset(out, 0, 40 + 8 * n);
  out[0] = 0x60;
  ts_wr16(out + 4, (uint16_t)(8 * n + l4len));
  out[7] = 64;
  memcpy(out + 8, src->bytes, 16);
  memcpy(out + 24, dst->bytes, 16);
  uint8_t *nh = out + 6;
  for (uint32_t i = 0; i < n; i++) {
    uint8_t type = exts[(wb >> (2 * i)) & 3];
    uint8_t *e = out + 40 + next;
    *nh = type;
    nh = e;
    if (type == 44) ts_wr16(e + 2, (uint16_t)((wb >> 8) & 0xfff9)); /* offset and M */
    else if (type == 43) e[2] = 0;                                /* routing type 0, no segments left */
    else {
      e[2] = 1; /* PadN of 4 bytes */
      e[3] = 4;
    }
    next += 8;
  }
  *nh = proto;
  return 40 + next;
}

static void l4_checksum(uint8_t *l4, uint32_t l4len, const ts_ipaddr *src, const ts_ipaddr *dst,
                        uint8_t proto, bool corrupt) {
  uint32_t at = proto == TS_IPPROTO_TCP ? 16 : (proto == TS_IPPROTO_UDP ? 6 : 2);
  if (l4len < at + 2) return;
  ts_wr16(l4 + at, 0);
  uint32_t sum = proto == TS_IPPROTO_ICMP ? 0 : ts_ip_pseudo_header_sum(src, dst, proto, l4len);
  uint16_t c = ts_checksum_finish(ts_checksum_add(sum, l4, l4len));
  ts_wr16(l4 + at, corrupt ? (uint16_t)(c ^ 0x1111) : c);
}

/* ---- steps ------------------------------------------------------------------------------ */

static void step_raw(struct rd *r) {
  uint32_t len = u16(r) % PKT_MAX;
  if (len > r->n - r->at) len = (uint32_t)(r->n - r->at);
  /* An exact-size copy: a read past the packet is an ASan error. */
  uint8_t *p = malloc(len ? len : 1);
  if (!p) abort();
  memcpy(p, r->p + r->at, len);
  r->at += len;
  inbound(len ? p : NULL, len);
  free(p);
}

static void step_tcp(struct rd *r, uint8_t sub) {
  if (!H.nconns) return;
  struct conn *c = &H.conns[u8(r) % H.nconns];
  uint8_t flags = u8(r), sd = u8(r), ad = u8(r);
  uint16_t win = u16(r);
  uint8_t optb = u8(r), plen = u8(r), wrap = u8(r);
  uint32_t wb = u32(r);
  uint32_t seq = c->have_ack ? c->rcv_nxt : PEER_ISN, ack = c->snd_nxt;
  /* Relative by default (the segments that move the connection); 0x80 asks for an
   * absolute number from the input. */
  if (sd == 0x80) seq = u32(r);
  else seq += (uint32_t)(int32_t)(int8_t)sd;
  if (ad == 0x80) ack = u32(r);
  else ack += (uint32_t)(int32_t)(int8_t)ad;
  uint32_t optlen = (uint32_t)(optb & 0x0f) * 4, payload = (uint32_t)plen * 5;
  uint32_t l4len = 20 + optlen + payload;
  uint32_t h = ip_header(H.pkt, &c->remote, &c->local, TS_IPPROTO_TCP, l4len, wrap, wb);
  uint8_t *t = H.pkt + h;
  ts_wr16(t, c->rport);
  ts_wr16(t + 2, c->lport);
  ts_wr32(t + 4, seq);
  ts_wr32(t + 8, ack);
  t[12] = (uint8_t)((5 + optlen / 4) << 4);
  t[13] = flags;
  ts_wr16(t + 14, win);
  ts_wr16(t + 18, 0);
  for (uint32_t i = 0; i < optlen; i++) t[20 + i] = u8(r);
  for (uint32_t i = 0; i < payload; i++) t[20 + optlen + i] = (uint8_t)(seq + i);
  l4_checksum(t, l4len, &c->remote, &c->local, TS_IPPROTO_TCP, sub & 1);
  inbound(H.pkt, h + l4len);
}

static void step_echo(struct rd *r, uint8_t sub) {
  if (!H.npings) return;
  struct ping *g = &H.pings[u8(r) % H.npings];
  uint16_t id = (sub & 1) ? u16(r) : g->id, seq = u16(r);
  uint8_t plen = u8(r);
  const ts_ipaddr *from = (sub & 2) ? (g->remote.family == 6 ? &H.other6 : &H.other4) : &g->remote;
  uint8_t payload[255];
  for (uint32_t i = 0; i < plen; i++) payload[i] = (uint8_t)i;
  uint32_t n = ts_ip_build_echo(H.pkt, sizeof H.pkt, from, &g->local, !(sub & 4), id, seq, payload, plen);
  if (n && (sub & 8)) H.pkt[n - 1] ^= 0x40; /* a wrong checksum (or header byte) */
  if (n) inbound(H.pkt, n);
}

static void step_icmp_error(struct rd *r, uint8_t sub) {
  uint8_t sel = u8(r), type = u8(r), code = u8(r), qlen = u8(r);
  const uint8_t *quote;
  uint32_t avail;
  const ts_ipaddr *local, *remote;
  if ((sub & 1) && H.npings) {
    struct ping *g = &H.pings[sel % H.npings];
    quote = g->last, avail = g->last_len, local = &g->local, remote = &g->remote;
  } else if (H.nconns) {
    struct conn *c = &H.conns[sel % H.nconns];
    quote = c->last, avail = c->last_len, local = &c->local, remote = &c->remote;
  } else {
    return;
  }
  if (!avail) return;
  uint32_t q = qlen % (avail + 1);
  const ts_ipaddr *from = (sub & 2) ? (local->family == 6 ? &H.other6 : &H.other4) : remote;
  uint8_t proto = local->family == 6 ? TS_IPPROTO_ICMPV6 : TS_IPPROTO_ICMP;
  /* The common error types most of the time; any type when sub says so. */
  if (!(sub & 4)) type = local->family == 6 ? (uint8_t)(1 + type % 4) : (uint8_t[]){3, 4, 5, 11, 12}[type % 5];
  uint32_t h = ip_header(H.pkt, from, local, proto, 8 + q, 0, 0);
  uint8_t *m = H.pkt + h;
  memset(m, 0, 8);
  m[0] = type;
  m[1] = code;
  if (type == 2 && proto == TS_IPPROTO_ICMPV6) ts_wr32(m + 4, 1280); /* packet too big: the MTU */
  memcpy(m + 8, quote, q);
  l4_checksum(m, 8 + q, from, local, proto, sub & 8);
  inbound(H.pkt, h + 8 + q);
}

static void step_app(struct rd *r) {
  uint8_t what = u8(r), sel = u8(r), arg = u8(r);
  struct conn *c = H.nconns ? &H.conns[sel % H.nconns] : NULL;
  switch (what % 6) {
  case 0:
    if (c && c->live) {
      uint8_t buf[2040];
      uint32_t n = (uint32_t)arg * 8;
      for (uint32_t i = 0; i < n; i++) buf[i] = (uint8_t)i;
      ts_netstack_tcp_write(c->h, buf, n);
    }
    break;
  case 1:
    if (c && c->live) {
      ts_netstack_tcp_close(c->h);
      c->live = false;
      c->h = NULL;
    }
    break;
  case 2:
    if (c && c->live) {
      ts_netstack_tcp_abort(c->h);
      c->live = false;
      c->h = NULL;
    }
    break;
  case 3: open_conn(arg & 1, (uint16_t)(PEER_PORT + (arg >> 2) % 4), arg & 2); break;
  case 4: open_ping(arg & 1, (uint16_t)(PING_ID + (arg >> 2)), arg & 2); break;
  default: /* the same ping again (a new sequence number: the flow is touched) */
    if (H.npings) {
      struct ping *g = &H.pings[sel % H.npings];
      ts_netstack_ping(H.ns, &g->remote, g->id, arg, NULL, 0);
    }
    break;
  }
}

static void step_ip(struct rd *r, uint8_t sub) {
  uint8_t sel = u8(r), proto = u8(r), lenb = u8(r);
  bool v6 = sel & 1;
  const ts_ipaddr *us = v6 ? &H.addr6 : &H.addr4;
  const ts_ipaddr *them = (sel & 2) ? (v6 ? &H.other6 : &H.other4) : (v6 ? &H.peer6 : &H.peer4);
  const ts_ipaddr *src = them, *dst = us;
  if (sel & 4) src = us, dst = them; /* the wrong way round */
  if ((sel >> 3) % 4 != 3) proto = (uint8_t[]){TS_IPPROTO_TCP, TS_IPPROTO_UDP, v6 ? TS_IPPROTO_ICMPV6 : TS_IPPROTO_ICMP}[(sel >> 3) % 4 % 3];
  uint32_t wb = u32(r), l4len = lenb;
  if (l4len > r->n - r->at) l4len = (uint32_t)(r->n - r->at);
  uint32_t h = ip_header(H.pkt, src, dst, proto, l4len, (uint8_t)(sel >> 5), wb);
  memcpy(H.pkt + h, r->p + r->at, l4len);
  r->at += l4len;
  if (sub & 1) l4_checksum(H.pkt + h, l4len, src, dst, proto, false);
  inbound(H.pkt, h + l4len);
}

/* ---- the world ----------------------------------------------------------------------------- */

static void setup_once(void) {
  if (H.w) return;
  if (!ts_ipaddr_parse("10.64.0.2", &H.addr4) || !ts_ipaddr_parse("fc00:bbbb:bbbb:bb01::2", &H.addr6) ||
      !ts_ipaddr_parse("10.64.0.1", &H.peer4) || !ts_ipaddr_parse("fc00:bbbb:bbbb:bb01::1", &H.peer6) ||
      !ts_ipaddr_parse("10.64.0.9", &H.other4) || !ts_ipaddr_parse("fc00:bbbb:bbbb:bb01::9", &H.other6))
    abort();
  ts_netstack_config cfg = {.name = "provider-netstack", .seed = SEED, .mtu = 1280, .output = on_output};
  cfg.addr4.addr = H.addr4;
  cfg.addr4.len = 32;
  cfg.addr6.addr = H.addr6;
  cfg.addr6.len = 128;
  if (ts_world_create(&H.w, &ts_native_backend, 1) || ts_mux_create(MUX_CAPACITY, &H.mux) ||
      ts_netstack_create(H.w, &cfg, &H.ns)) {
    fprintf(stderr, "fuzz_netstack_mux: cannot build the world\n");
    abort();
  }
  ts_netstack_stats st;
  ts_netstack_stats_get(H.ns, &st);
  H.heap0 = st.heap_bytes;
}

/* Back to a fresh stack and an empty mux; the heap must be where it started. */
static void teardown(void) {
#ifdef FUZZ_NETSTACK_MUX_VERBOSE
  ts_mux_stats ms;
  ts_netstack_stats ns;
  ts_mux_get_stats(H.mux, &ms);
  ts_netstack_stats_get(H.ns, &ns);
  fprintf(stderr, "mux: out %llu in->ns %llu in->utun %llu tcp %llu icmp %llu evicted %llu closed %llu malformed %llu flows %zu | ns: in %llu out %llu timers %llu\n",
          (unsigned long long)ms.outbound, (unsigned long long)ms.inbound_netstack,
          (unsigned long long)ms.inbound_utun, (unsigned long long)ms.tracked_tcp,
          (unsigned long long)ms.tracked_icmp, (unsigned long long)ms.evicted,
          (unsigned long long)ms.closed, (unsigned long long)ms.malformed, ts_mux_flow_count(H.mux),
          (unsigned long long)ns.packets_in, (unsigned long long)ns.packets_out,
          (unsigned long long)ns.timer_events);
#endif
  if (ts_netstack_reset(H.ns, SEED) != 0) FAIL("netstack reset failed");
  ts_mux_reset(H.mux);
  memset(H.conns, 0, sizeof H.conns);
  memset(H.pings, 0, sizeof H.pings);
  H.nconns = H.npings = 0;
  ts_netstack_stats st;
  ts_netstack_stats_get(H.ns, &st);
  if (st.heap_bytes != H.heap0)
    FAIL("netstack heap %llu bytes after reset, %llu at the start", (unsigned long long)st.heap_bytes,
         (unsigned long long)H.heap0);
  if (ts_packet_pool_outstanding(ts_world_pool(H.w)) != 0) FAIL("packets outstanding after the input");
  if (ts_mux_flow_count(H.mux) != 0) FAIL("flows after ts_mux_reset");
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  setup_once();
  H.t_end = ts_world_now(H.w) + TIME_CAP;
  open_conn(false, PEER_PORT, false);
  open_conn(true, PEER_PORT, false);
  open_ping(false, PING_ID, false);
  open_ping(true, PING_ID, false);
  if (ts_mux_flow_count(H.mux) != MUX_CAPACITY) FAIL("the setup's flows are not tracked");
  struct rd r = {data, size, 0};
  for (int n = 0; n < MAX_STEPS && r.at < r.n; n++) {
    uint8_t op = u8(&r), sub = op >> 3;
    TRACE("step %d: op %u sub %u (t=%lld ms)\n", n, op & 7, sub, (long long)(ts_world_now(H.w) / TS_MS));
    switch (op & 7) {
    case 0: step_raw(&r); break;
    case 1: step_tcp(&r, sub); break;
    case 2: step_echo(&r, sub); break;
    case 3: step_icmp_error(&r, sub); break;
    case 4: {
      ts_time b = u8(&r);
      advance((b + 1) * (b + 1) * TS_MS);
      break;
    }
    case 5: step_app(&r); break;
    case 6: step_ip(&r, sub); break;
    default:
      step_tcp(&r, sub);
      advance(((ts_time)u8(&r) + 1) * TS_MS);
      break;
    }
  }
  teardown();
  return 0;
}
