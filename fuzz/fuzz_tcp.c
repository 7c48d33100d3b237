/* Fuzz target: the project's TCP (sim/net/tcp.c) driven through ts_tcp_host on two
 * hosts joined by one link:
 *   a (10.0.0.1 / fd00::1, client) ---- b (10.0.0.2 / fd00::2, listener :80)
 *
 * Input: 8 bytes of world seed (little endian), one configuration byte, one link
 * byte, then up to MAX_STEPS steps [op][args...] (missing bytes read as 0):
 *   op % 8 == 0  inject a crafted segment into host a or b (flags, seq/ack relative
 *                to what that side last sent, window, raw options, payload), through
 *                the host table or straight into ts_tcp_input; optionally with a bad
 *                checksum, a stray source port or a raw data offset
 *           1  advance virtual time           2  application write
 *           3  application close              4  application abort
 *           5  new client connection          6  link down/up
 *           7  replay the last packet one side emitted
 * Bits 3..7 of the op byte are its sub-flags (side, delivery path, ...).
 *
 * Every byte of a direction's stream is a function of its sequence number and the
 * writing side (content()), for application writes and injected payloads alike, so
 * whatever mix of real and crafted segments a receiver accepts, each delivered byte
 * must equal content(side, irs + 1 + offset). The receiver's irs is learnt from the
 * first ACK it emits, the writer's ISN from its SYN (a link tap sees every packet
 * an endpoint emits, synchronously).
 *
 * Invariants (abort() with a message when broken): every emitted packet parses and
 * its TCP checksum verifies, carries at most the sender's MSS and the fixed window;
 * states and close reasons are valid enum values; callbacks come in a legal order
 * (connected once, no data after EOF, EOF once, closed once, nothing after closed;
 * ABORTED only after close/abort by the application; a passive connection is never
 * REFUSED); every delivered byte matches the stream and no receiver gets more bytes
 * than were written or injected on its 4-tuple; SYN_SENT, SYN_RECEIVED and
 * TIME_WAIT always have a timer, never in the past; send-buffer accounting adds
 * up; no packet is left outstanding once the link is down and the world drained. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ts_bytes.h"
#include "ts_native.h"
#include "ts_net.h"
#include "ts_tcp.h"
#include "ts_tcp_host.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define MAX_STEPS 64
#define MAX_EPS 16
#define MAX_TUPLES 32
#define MAX_SESSIONS 8
#define LPORT 80
#define CPORT_FIRST 40000
#define TIME_CAP (300 * TS_SEC)
/* Packets emitted per input before time stops advancing: two endpoints whose
 * sequence spaces were desynchronised by injected segments can answer each other's
 * unacceptable ACKs forever (an ACK storm, one exchange per round trip). */
#define PKT_BUDGET 5000
#define RUN_CHUNK (100 * TS_MS)
#define PKT_COPY_MAX 2048
#define SEG_MAX 4096

/* One connection the harness knows about (side 0: host a, 1: host b). */
struct ep {
  ts_tcp *c;
  int side;
  bool live; /* registered and not yet closed */
  uint16_t lport, rport;
  bool isn_known, irs_known;
  uint32_t isn, irs;
  uint64_t delivered, app_written;
  bool eof, closed, connected, app_closed, app_aborted;
  bool tainted; /* took a segment whose payload need not start at the stream's bytes */
  ts_tcp_reason reason;
};

/* What the link tap saw on one 4-tuple (keyed by the client-side port), per side. */
struct tuple {
  uint16_t cport;
  bool used;
  uint64_t written[2], injected[2]; /* stream bytes by writer side */
  bool seen[2];
  uint32_t last_ack[2], max_end[2], isn[2];
  bool ack_known[2], isn_known[2];
};

struct fz {
  ts_world *w;
  ts_net *net;
  ts_host *host[2];
  ts_tcp_host *tcp[2];
  ts_link_id link;
  bool link_up;
  ts_ipaddr addr[2];
  uint16_t mss[2], window[2];
  uint32_t send_buffer;
  ts_tcp_config tmpl; /* timers and options of both sides */
  struct ep eps[MAX_EPS];
  uint32_t ep_count;
  struct tuple tuples[MAX_TUPLES];
  uint32_t sessions;
  struct ep *client; /* the current session's client */
  uint16_t cport;    /* its port */
  uint64_t emitted; /* packets the tap saw */
  uint8_t last_pkt[2][PKT_COPY_MAX];
  uint32_t last_len[2];
};

static struct fz F; /* one world at a time; reinitialised for every input */

#define FAIL(...)                                   \
  do {                                              \
    fprintf(stderr, "fuzz_tcp: invariant broken: "); \
    fprintf(stderr, __VA_ARGS__);                   \
    fprintf(stderr, "\n");                          \
    abort();                                        \
  } while (0)

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

/* ---- the stream content --------------------------------------------------------------- */

static uint8_t content(int writer_side, uint32_t seq) {
  uint32_t x = seq * 2654435761u + (uint32_t)writer_side * 0x9e3779b9u;
  x ^= x >> 15;
  x *= 0x2c1b3c6du;
  return (uint8_t)(x >> 24);
}

/* ---- bookkeeping ------------------------------------------------------------------------ */

static struct tuple *tuple_for(uint16_t cport, bool create) {
  for (uint32_t i = 0; i < MAX_TUPLES; i++)
    if (F.tuples[i].used && F.tuples[i].cport == cport) return &F.tuples[i];
  if (!create) return NULL;
  for (uint32_t i = 0; i < MAX_TUPLES; i++) {
    if (F.tuples[i].used) continue;
    memset(&F.tuples[i], 0, sizeof F.tuples[i]);
    F.tuples[i].used = true;
    F.tuples[i].cport = cport;
    return &F.tuples[i];
  }
  return NULL;
}

/* The client-side port of an ep's 4-tuple. */
static uint16_t ep_cport(const struct ep *e) { return e->side == 0 ? e->lport : e->rport; }

static struct ep *ep_new(int side, uint16_t lport, uint16_t rport) {
  if (F.ep_count == MAX_EPS) return NULL;
  struct ep *e = &F.eps[F.ep_count++];
  memset(e, 0, sizeof *e);
  e->side = side;
  e->lport = lport;
  e->rport = rport;
  e->live = true;
  return e;
}

static struct ep *ep_live(int side, uint16_t lport, uint16_t rport) {
  for (uint32_t i = F.ep_count; i-- > 0;) {
    struct ep *e = &F.eps[i];
    if (e->live && e->side == side && e->lport == lport && e->rport == rport) return e;
  }
  return NULL;
}

static bool valid_state(ts_tcp_state s) { return (unsigned)s <= (unsigned)TS_TCP_TIME_WAIT; }
static bool valid_reason(ts_tcp_reason r) { return (unsigned)r <= (unsigned)TS_TCP_REASON_ABORTED; }

/* ---- callbacks -------------------------------------------------------------------------- */

static struct ep *ep_of(ts_tcp *c, const char *what) {
  struct ep *e = ts_tcp_user(c);
  if (!e) return NULL; /* a connection the harness refused */
  if (e->closed) FAIL("%s after on_closed (side %d, port %u)", what, e->side, e->lport);
  if (e->c && e->c != c) FAIL("%s for a connection that is not the registered one", what);
  return e;
}

static void cb_connected(void *ctx, ts_tcp *c) {
  (void)ctx;
  struct ep *e = ep_of(c, "on_connected");
  if (!e) return;
  if (e->connected) FAIL("on_connected twice (side %d)", e->side);
  e->connected = true;
  ts_tcp_state s = ts_tcp_get_state(c);
  if (s != TS_TCP_ESTABLISHED && s != TS_TCP_FIN_WAIT_1)
    FAIL("on_connected in state %s", ts_tcp_state_name(s));
}

static void cb_data(void *ctx, ts_tcp *c, const uint8_t *data, size_t len) {
  (void)ctx;
  struct ep *e = ep_of(c, "on_data");
  if (!e) return;
  if (e->eof) FAIL("on_data (%zu bytes) after EOF (side %d)", len, e->side);
  if (len == 0) {
    if (data) FAIL("EOF with a data pointer");
    e->eof = true;
    return;
  }
  if (!data) FAIL("on_data with NULL data and len %zu", len);
  int writer = 1 - e->side;
  if (e->irs_known && !e->tainted) {
    uint32_t seq = e->irs + 1 + (uint32_t)e->delivered;
    for (size_t i = 0; i < len; i++)
      if (data[i] != content(writer, seq + (uint32_t)i))
        FAIL("side %d got byte %02x at stream offset %llu (seq %u), the peer's stream has %02x",
             e->side, data[i], (unsigned long long)(e->delivered + i), seq + (uint32_t)i,
             content(writer, seq + (uint32_t)i));
  }
  e->delivered += len;
  struct tuple *t = tuple_for(ep_cport(e), false);
  uint64_t bound = t ? t->written[writer] + t->injected[writer] : 0;
  if (e->delivered > bound)
    FAIL("side %d delivered %llu bytes, but only %llu were written and injected on its 4-tuple",
         e->side, (unsigned long long)e->delivered, (unsigned long long)bound);
}

static void cb_closed(void *ctx, ts_tcp *c, ts_tcp_reason why) {
  (void)ctx;
  struct ep *e = ep_of(c, "on_closed");
  if (!valid_reason(why)) FAIL("on_closed with invalid reason %d", (int)why);
  if (ts_tcp_get_state(c) != TS_TCP_CLOSED)
    FAIL("on_closed in state %s", ts_tcp_state_name(ts_tcp_get_state(c)));
  if (ts_tcp_close_reason(c) != why) FAIL("close reason %d differs from on_closed's %d",
                                          (int)ts_tcp_close_reason(c), (int)why);
  if (!e) return;
  if (why == TS_TCP_REASON_ABORTED && !e->app_aborted && !e->app_closed)
    FAIL("ABORTED without the application closing or aborting (side %d)", e->side);
  if (why == TS_TCP_REASON_REFUSED && e->side == 1) FAIL("a passive connection was REFUSED");
  if (why == TS_TCP_REASON_NONE) FAIL("on_closed with reason none");
  e->closed = true;
  e->live = false;
  e->reason = why;
  e->c = NULL; /* the host table frees it at its next input or connect */
}

static bool cb_accept(void *ctx, ts_tcp *c) {
  (void)ctx;
  const ts_tcp_config *k = ts_tcp_get_config(c);
  if (ep_live(1, k->local_port, k->remote_port))
    FAIL("listener opened a second live connection for port %u", k->remote_port);
  struct ep *e = ep_new(1, k->local_port, k->remote_port);
  if (!e) return false; /* refused with a RST */
  e->c = c;
  ts_tcp_set_user(c, e);
  return true;
}

/* ---- the tap: every packet an endpoint emits ----------------------------------------------- */

static void tap(void *ctx, ts_link_id id, int from_end, const ts_packet *pkt) {
  (void)ctx;
  (void)id;
  ts_ip_info info;
  ts_tcp_seg seg;
  if (ts_ip_parse(pkt->data, pkt->len, &info) != 0) FAIL("emitted packet does not parse as IP");
  if (info.proto != TS_IPPROTO_TCP) return; /* nothing else runs, but be safe */
  F.emitted++;
  if (!ts_tcp_packet_checksum_ok(pkt->data, pkt->len))
    FAIL("emitted TCP packet (%u bytes) fails its checksum", pkt->len);
  if (ts_tcp_parse(&info, pkt->data + info.l4_offset, info.l4_len, &seg) != TS_OK)
    FAIL("emitted TCP segment does not parse");
  int side = ts_ipaddr_equal(&info.src, &F.addr[0]) ? 0 : 1;
  if (side != from_end) FAIL("packet from %d left by link end %d", side, from_end);
  if (pkt->len > 1500) FAIL("emitted packet of %u bytes exceeds the 1500-byte MTU", pkt->len);
  if (seg.len > F.mss[side])
    FAIL("side %d emitted %u payload bytes, above its MSS %u", side, seg.len, F.mss[side]);
  bool rst = (seg.flags & TS_TCP_FLAG_RST) != 0;
  if (!rst && seg.window != F.window[side])
    FAIL("side %d advertised window %u, configured %u", side, seg.window, F.window[side]);
  if ((seg.flags & TS_TCP_FLAG_SYN) && rst) FAIL("emitted SYN+RST");
  if (seg.len && (seg.flags & TS_TCP_FLAG_SYN)) FAIL("emitted data on a SYN");
  if (pkt->len <= PKT_COPY_MAX) {
    memcpy(F.last_pkt[side], pkt->data, pkt->len);
    F.last_len[side] = pkt->len;
  }
  uint16_t cport = side == 0 ? info.sport : info.dport;
  struct tuple *t = tuple_for(cport, true);
  if (!t) return;
  uint32_t end = seg.seq + seg.len + ((seg.flags & TS_TCP_FLAG_SYN) ? 1u : 0u) +
                 ((seg.flags & TS_TCP_FLAG_FIN) ? 1u : 0u);
  if (!t->seen[side] || (int32_t)(end - t->max_end[side]) > 0) t->max_end[side] = end;
  t->seen[side] = true;
  if (seg.flags & TS_TCP_FLAG_ACK) {
    t->last_ack[side] = seg.ack;
    t->ack_known[side] = true;
  }
  if (seg.flags & TS_TCP_FLAG_SYN) {
    t->isn[side] = seg.seq;
    t->isn_known[side] = true;
  }
  struct ep *e = ep_live(side, info.sport, info.dport);
  if (!e || rst) return; /* RSTs may come from the host table, not the connection */
  if (seg.flags & TS_TCP_FLAG_SYN) {
    if (e->isn_known && e->isn != seg.seq) FAIL("side %d changed its ISN", side);
    e->isn = seg.seq;
    e->isn_known = true;
  }
  if ((seg.flags & TS_TCP_FLAG_ACK) && !e->irs_known) {
    if (e->delivered) FAIL("side %d delivered data before it acknowledged anything", side);
    e->irs = seg.ack - 1;
    e->irs_known = true;
  }
}

/* ---- world -------------------------------------------------------------------------------- */

static void check_all(const char *after) {
  ts_time now = ts_world_now(F.w);
  for (uint32_t i = 0; i < F.ep_count; i++) {
    struct ep *e = &F.eps[i];
    if (!e->live || !e->c) continue;
    ts_tcp_state s = ts_tcp_get_state(e->c);
    if (!valid_state(s)) FAIL("after %s: invalid state %d", after, (int)s);
    if (s == TS_TCP_CLOSED) FAIL("after %s: side %d is CLOSED without on_closed", after, e->side);
    if (ts_tcp_close_reason(e->c) != TS_TCP_REASON_NONE)
      FAIL("after %s: open connection has close reason %s", after,
           ts_tcp_reason_name(ts_tcp_close_reason(e->c)));
    ts_time at = ts_tcp_next_timer(e->c);
    if (at != TS_TIME_NEVER && at < now)
      FAIL("after %s: side %d timer at %lld is before now %lld", after, e->side, (long long)at,
           (long long)now);
    if (at == TS_TIME_NEVER &&
        (s == TS_TCP_SYN_SENT || s == TS_TCP_SYN_RECEIVED || s == TS_TCP_TIME_WAIT))
      FAIL("after %s: side %d in %s without a timer", after, e->side, ts_tcp_state_name(s));
    uint32_t unacked = ts_tcp_unacked(e->c), space = ts_tcp_send_space(e->c);
    if ((uint64_t)unacked + space != F.send_buffer)
      FAIL("after %s: unacked %u + space %u != send buffer %u", after, unacked, space,
           F.send_buffer);
    if (unacked > e->app_written)
      FAIL("after %s: %u bytes unacked but only %llu written", after, unacked,
           (unsigned long long)e->app_written);
  }
}

static void run_to(ts_time until) {
  int rc = ts_world_run_until(F.w, until);
  if (rc != TS_OK) FAIL("ts_world_run_until returned %d", rc);
}

static void connect_client(void) {
  if (F.sessions == MAX_SESSIONS || (F.client && F.client->live)) return;
  uint16_t cport = (uint16_t)(CPORT_FIRST + F.sessions++);
  if (!tuple_for(cport, true)) return;
  struct ep *e = ep_new(0, cport, LPORT);
  if (!e) return;
  ts_tcp_config k = F.tmpl;
  k.mss = F.mss[0];
  k.window = F.window[0];
  k.remote = F.addr[1];
  k.remote_port = LPORT;
  k.local = F.addr[0];
  k.local_port = cport;
  ts_tcp *c = NULL;
  int rc = ts_tcp_host_connect(F.tcp[0], &k, &c);
  if (rc != TS_OK) FAIL("ts_tcp_host_connect returned %d", rc);
  e->c = c;
  ts_tcp_set_user(c, e);
  if (!e->isn_known) FAIL("connect emitted no SYN");
  F.client = e;
  F.cport = cport;
}

static int build_world(uint64_t seed, uint8_t cfg, uint8_t linkb) {
  memset(&F, 0, sizeof F);
  if (ts_world_create(&F.w, &ts_native_backend, seed)) return -1;
  bool v6 = cfg & 1;
  ts_ipprefix pa, pb;
  ts_ipprefix_parse(v6 ? "fd00::1/64" : "10.0.0.1/24", &pa);
  ts_ipprefix_parse(v6 ? "fd00::2/64" : "10.0.0.2/24", &pb);
  F.addr[0] = pa.addr;
  F.addr[1] = pb.addr;
  if (ts_net_create(F.w, &F.net) || ts_net_add_host(F.net, "a", &F.host[0]) ||
      ts_net_add_host(F.net, "b", &F.host[1]))
    return -1;
  uint32_t ia, ib;
  if (ts_host_add_interface(F.host[0], "eth0", &pa, 1, &ia) ||
      ts_host_add_interface(F.host[1], "eth0", &pb, 1, &ib))
    return -1;
  ts_link_params p = {.delay = ((linkb & 0x0f) + 1) * TS_MS, .loss = ((linkb >> 4) & 3) * 0.1,
                      .mtu = 1500, .queue_limit = 1000, .up = true};
  if (ts_net_connect(F.net, "ab", &p, F.host[0], ia, F.host[1], ib, &F.link)) return -1;
  F.link_up = true;
  if (ts_world_link_tap(F.w, F.link, tap, NULL)) return -1;
  if (ts_tcp_host_create(F.host[0], &F.tcp[0]) || ts_tcp_host_create(F.host[1], &F.tcp[1]))
    return -1;
  uint16_t dflt = v6 ? TS_TCP_MSS6_1500 : TS_TCP_MSS4_1500;
  F.mss[0] = F.mss[1] = (cfg & 2) ? 100 : dflt;
  F.window[1] = (cfg & 4) ? 700 : TS_TCP_MAX_WINDOW;
  F.window[0] = (cfg & 8) ? 300 : TS_TCP_MAX_WINDOW;
  F.send_buffer = (cfg & 16) ? 3000 : TS_TCP_SEND_BUFFER;
  ts_tcp_config *t = &F.tmpl;
  t->send_buffer = F.send_buffer;
  if (cfg & 32) {
    t->keepalive = true;
    t->keepalive_idle = 5 * TS_SEC;
    t->keepalive_interval = TS_SEC;
    t->keepalive_probes = 3;
  }
  if (cfg & 64) {
    t->time_wait = 2 * TS_SEC;
    t->rto_initial = 200 * TS_MS;
    t->rto_max = 5 * TS_SEC;
  }
  if (cfg & 128) {
    t->syn_retries = 2;
    t->data_retries = 3;
  }
  t->on_connected = cb_connected;
  t->on_data = cb_data;
  t->on_closed = cb_closed;
  ts_tcp_config srv = *t;
  srv.mss = F.mss[1];
  srv.window = F.window[1];
  if (ts_tcp_host_listen(F.tcp[1], LPORT, &srv, cb_accept, NULL)) return -1;
  connect_client();
  return 0;
}

/* ---- steps --------------------------------------------------------------------------------- */


/* Delivers bytes [pkt, pkt+len) (a complete IP packet) to host `side`: through the
 * host table (a pool copy it frees), or straight into the live connection. */
static void deliver(int side, const uint8_t *pkt, uint32_t len, bool direct) {
  ts_ip_info info;
  if (ts_ip_parse(pkt, len, &info) != 0 || info.proto != TS_IPPROTO_TCP) return;
  struct ep *e = direct ? ep_live(side, info.dport, info.sport) : NULL;
  if (e && e->c) {
    ts_tcp_input(e->c, &info, pkt + info.l4_offset, info.l4_len);
    return;
  }
  ts_packet *p = ts_packet_from(ts_world_pool(F.w), pkt, len);
  if (!p) FAIL("packet pool exhausted");
  if (!ts_tcp_host_input(F.tcp[side], &info, p)) FAIL("host table refused a TCP packet");
}

static void step_inject(struct rd *r, uint8_t sub) {
  static uint8_t buf[SEG_MAX];
  int to = sub & 1, from = 1 - to;
  bool direct = sub & 2, corrupt = sub & 4, stray = sub & 8, raw_off = sub & 16;
  uint8_t flags = u8(r), bases = u8(r);
  uint16_t sd = u16(r), ad = u16(r), window = u16(r);
  uint8_t optn = u8(r) % 41;
  uint8_t opts[40];
  for (uint8_t i = 0; i < optn; i++) opts[i] = u8(r);
  uint8_t plb = u8(r);
  uint32_t plen = (bases & 0x80) ? (uint32_t)plb * 8 : plb;
  uint16_t cport = F.cport;
  if (stray) cport = (uint16_t)(cport + 1000 + (sd & 7));
  struct tuple *t = tuple_for(cport, true);
  if (!t) return;
  /* seq: where `to` expects the peer (its last ACK), where the peer was, irs, or raw */
  uint32_t seq;
  switch (bases & 3) {
  case 0: seq = t->ack_known[to] ? t->last_ack[to] : t->max_end[from]; break;
  case 1: seq = t->max_end[from]; break;
  case 2: seq = t->isn[from] + 1; break;
  default: seq = u32(r); break;
  }
  uint32_t ack;
  switch ((bases >> 2) & 3) {
  case 0: ack = t->max_end[to]; break;
  case 1: ack = t->ack_known[from] ? t->last_ack[from] : t->isn[to] + 1; break;
  case 2: ack = t->isn[to] + 1; break;
  default: ack = u32(r); break;
  }
  if ((bases & 3) != 3) seq += (uint32_t)(int32_t)(int16_t)sd;
  if (((bases >> 2) & 3) != 3) ack += (uint32_t)(int32_t)(int16_t)ad;
  uint32_t olen = (optn + 3u) & ~3u;
  uint32_t ih = F.addr[0].family == 6 ? TS_IPV6_HEADER : TS_IPV4_HEADER;
  uint32_t th = TS_TCP_HEADER + olen, l4 = th + plen;
  if (ih + l4 > sizeof buf) return;
  const ts_ipaddr *src = &F.addr[from], *dst = &F.addr[to];
  ts_ip_write_header(buf, src, dst, TS_IPPROTO_TCP, l4);
  uint8_t *s = buf + ih;
  ts_wr16(s, from == 0 ? cport : LPORT);
  ts_wr16(s + 2, to == 0 ? cport : LPORT);
  ts_wr32(s + 4, seq);
  ts_wr32(s + 8, ack);
  uint8_t doff = raw_off ? (uint8_t)(((bases >> 4) & 7) | ((sd >> 4) & 8)) : (uint8_t)(th / 4);
  s[12] = (uint8_t)(doff << 4 | (raw_off ? (sd & 0x0f) : 0));
  s[13] = flags;
  ts_wr16(s + 14, window);
  ts_wr16(s + 16, 0);
  ts_wr16(s + 18, 0);
  memset(s + TS_TCP_HEADER, 0, olen);
  memcpy(s + TS_TCP_HEADER, opts, optn);
  for (uint32_t i = 0; i < plen; i++) s[th + i] = content(from, seq + i);
  uint32_t sum = ts_checksum_add(ts_ip_pseudo_header_sum(src, dst, TS_IPPROTO_TCP, l4), s, l4);
  ts_wr16(s + TS_TCP_CHECKSUM_AT, ts_checksum_finish(sum));
  if (corrupt) s[TS_TCP_CHECKSUM_AT] ^= 0x40;
  /* With a raw data offset the "payload" may start elsewhere: count the whole
   * segment as injected so that the delivery bound stays an upper bound. */
  t->injected[from] += raw_off ? l4 : plen;
  if (doff != th / 4) {
    struct ep *e = ep_live(to, to == 0 ? cport : LPORT, to == 0 ? LPORT : cport);
    if (e) e->tainted = true;
  }
  deliver(to, buf, ih + l4, direct);
}

static struct ep *pick(uint8_t sub) {
  int side = sub & 1;
  if (side == 0) return F.client && F.client->live ? F.client : NULL;
  struct ep *e = ep_live(1, LPORT, F.cport);
  if ((sub & 4) || !e) { /* any other live connection */
    for (uint32_t i = F.ep_count; i-- > 0;)
      if (F.eps[i].live && F.eps[i].c && F.eps[i].side == 1 && &F.eps[i] != e) return &F.eps[i];
  }
  return e;
}

static void step_write(struct rd *r, uint8_t sub) {
  static uint8_t buf[256 * 64];
  uint8_t lb = u8(r);
  struct ep *e = pick(sub);
  if (!e || !e->c || !e->isn_known) return;
  size_t n = (size_t)(lb + 1) * ((sub & 2) ? 64 : 1);
  uint32_t seq0 = e->isn + 1 + (uint32_t)e->app_written;
  for (size_t i = 0; i < n; i++) buf[i] = content(e->side, seq0 + (uint32_t)i);
  uint32_t space = ts_tcp_send_space(e->c);
  ts_tcp_state before = ts_tcp_get_state(e->c);
  int64_t got = ts_tcp_write(e->c, buf, n);
  if (got == TS_ESTATE) return;
  if (got < 0) FAIL("ts_tcp_write returned %lld", (long long)got);
  if ((uint64_t)got > n || (uint64_t)got > space)
    FAIL("ts_tcp_write took %lld of %zu bytes with %u free (state %s)", (long long)got, n, space,
         ts_tcp_state_name(before));
  if ((uint64_t)got < n && (uint64_t)got != space)
    FAIL("ts_tcp_write took %lld of %zu bytes but %u were free", (long long)got, n, space);
  e->app_written += (uint64_t)got;
  struct tuple *t = tuple_for(ep_cport(e), true);
  if (t) t->written[e->side] += (uint64_t)got;
}

static void step_close(uint8_t sub) {
  struct ep *e = pick(sub);
  if (!e || !e->c) return;
  e->app_closed = true;
  (void)ts_tcp_close(e->c);
}

static void step_abort(uint8_t sub) {
  struct ep *e = pick(sub);
  if (!e || !e->c) return;
  e->app_aborted = true;
  ts_tcp_abort(e->c);
  if (!e->closed) FAIL("ts_tcp_abort did not close (side %d)", e->side);
}

static void step_advance(struct rd *r) {
  static const ts_time units[4] = {TS_MS, 10 * TS_MS, 100 * TS_MS, TS_SEC};
  uint8_t b = u8(r);
  ts_time now = ts_world_now(F.w);
  ts_time until = now + ((b & 63) + 1) * units[b >> 6];
  if (until > TIME_CAP) until = TIME_CAP;
  while (now < until && F.emitted < PKT_BUDGET) { /* in chunks, to stop an ACK storm */
    now = now + RUN_CHUNK < until ? now + RUN_CHUNK : until;
    run_to(now);
  }
}

static void step_replay(uint8_t sub) {
  int from = sub & 1;
  static uint8_t copy[PKT_COPY_MAX];
  uint32_t len = F.last_len[from];
  if (!len) return;
  memcpy(copy, F.last_pkt[from], len);
  deliver(1 - from, copy, len, (sub & 2) != 0);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  struct rd r = {data, size, 0};
  uint64_t seed = 0;
  for (int i = 0; i < 8; i++) seed |= (uint64_t)u8(&r) << (8 * i);
  uint8_t cfg = u8(&r), linkb = u8(&r);
  if (build_world(seed, cfg, linkb) != 0) {
    fprintf(stderr, "fuzz_tcp: cannot build the world\n");
    abort();
  }
  check_all("connect");
  for (int n = 0; n < MAX_STEPS && r.at < r.n; n++) {
    uint8_t op = u8(&r), sub = op >> 3;
    static const char *const names[8] = {"inject", "advance", "write", "close",
                                         "abort",  "connect", "link",    "replay"};
    switch (op & 7) {
    case 0: step_inject(&r, sub); break;
    case 1: step_advance(&r); break;
    case 2: step_write(&r, sub); break;
    case 3: step_close(sub); break;
    case 4: step_abort(sub); break;
    case 5: connect_client(); break;
    case 6:
      F.link_up = !F.link_up;
      ts_world_link_set_up(F.w, F.link, F.link_up);
      break;
    default: step_replay(sub); break;
    }
    check_all(names[op & 7]);
  }
  /* Drain: with the link down every emission is dropped at once, and what was in
   * flight is dropped on arrival; then nothing may hold a packet. */
  F.link_up = false;
  ts_world_link_set_up(F.w, F.link, false);
  run_to(ts_world_now(F.w) + 2 * TS_SEC);
  check_all("drain");
  uint64_t left = ts_packet_pool_outstanding(ts_world_pool(F.w));
  if (left != 0) FAIL("%llu packets outstanding after draining the world", (unsigned long long)left);
  ts_world_destroy(F.w);
  F.w = NULL;
  return 0;
}
