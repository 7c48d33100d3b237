/* The instance's guards against five lwIP 2.1.3 bugs that fuzz_netstack_mux found
 * (sim/netstack/netstack_sanitize.c, netstack_guard.c). Each reproducer of
 * corpus/fuzz_netstack_mux/lwip_* is played here as its exchange: the test is the
 * peer of one instance (the provider's: 10.64.0.2 and fc00:bbbb:bbbb:bb01::2, MTU
 * 1280) and hands it segments through ts_netstack_input. Without the guards these
 * abort in an lwIP assertion or, under ASan, in a heap over-read (the packets that
 * could over-read are a multiple of 8 bytes long, so the read leaves the pbuf's
 * allocation); with them the connection goes on and the counters say what
 * happened. Well-formed segments are not touched (counters at 0 after transfers:
 * test_netstack.c). */
#include <string.h>

#include "ts_bytes.h"
#include "ts_native.h"
#include "ts_netstack.h"
#include "tstest.h"
#include "tstest_net.h"

#define PEER_PORT 1337
#define PEER_ISN 0x10000000u
#define FIN 0x01
#define SYN 0x02
#define RST 0x04
#define PSH 0x08
#define ACK 0x10

static bool seq_gt(uint32_t a, uint32_t b) { return (int32_t)(a - b) > 0; }

/* The peer: what the instance sent on its one connection, and the application's
 * side of that connection. */
struct peer {
  ts_world *w;
  ts_netstack *ns;
  ts_ipaddr stack4, stack6, peer4, peer6;
  ts_ipaddr stack, remote;  /* of the connection under test */
  uint16_t stack_port;
  uint32_t stack_isn, stack_nxt; /* the instance's ISN and the end of what it sent */
  uint32_t seq;             /* the peer's next sequence number */
  bool have_syn;
  uint32_t data_segments, max_payload, rsts, fragments;
  /* The application. */
  ts_netstack_tcp *c;
  bool connected;
  int closed;
  uint64_t received, acked;
};

static void on_output(void *ctx, ts_packet *pkt) {
  struct peer *p = ctx;
  ts_ip_info in;
  bool fragment = pkt->len >= 20 && (pkt->data[0] >> 4) == 4 && (ts_rd16(pkt->data + 6) & 0x3fff);
  if (fragment) p->fragments++;
  if (!fragment && ts_ip_parse(pkt->data, pkt->len, &in) == 0 && in.proto == TS_IPPROTO_TCP && in.l4_len >= 20) {
    const uint8_t *t = pkt->data + in.l4_offset;
    uint8_t flags = t[13];
    uint32_t seq = ts_rd32(t + 4), hlen = (uint32_t)(t[12] >> 4) * 4;
    uint32_t len = in.l4_len - hlen;
    if ((flags & SYN) && !p->have_syn) {
      p->have_syn = true;
      p->stack_isn = seq;
      p->stack_nxt = seq + 1;
      p->stack_port = in.sport;
    }
    uint32_t end = seq + len + ((flags & SYN) ? 1 : 0) + ((flags & FIN) ? 1 : 0);
    if (!(flags & RST) && seq_gt(end, p->stack_nxt)) p->stack_nxt = end; /* a RST's number is ours */
    if (len) p->data_segments++;
    if (len > p->max_payload) p->max_payload = len;
    if (flags & RST) p->rsts++;
  }
  ts_packet_free(ts_world_pool(p->w), pkt);
}

static void app_connected(void *ctx, ts_netstack_tcp *c) { ((struct peer *)ctx)->connected = true; }
static void app_data(void *ctx, ts_netstack_tcp *c, const uint8_t *d, uint32_t n) {
  ((struct peer *)ctx)->received += n;
}
static void app_sent(void *ctx, ts_netstack_tcp *c, uint32_t acked) { ((struct peer *)ctx)->acked += acked; }
static void app_closed(void *ctx, ts_netstack_tcp *c, int reason) {
  struct peer *p = ctx;
  p->closed = reason;
  p->c = NULL;
}
static const ts_netstack_tcp_callbacks app = {
    .connected = app_connected, .data = app_data, .sent = app_sent, .closed = app_closed};

static int peer_create(struct peer *p) {
  memset(p, 0, sizeof *p);
  p->stack4 = ts_test_addr("10.64.0.2");
  p->stack6 = ts_test_addr("fc00:bbbb:bbbb:bb01::2");
  p->peer4 = ts_test_addr("10.64.0.1");
  p->peer6 = ts_test_addr("fc00:bbbb:bbbb:bb01::1");
  int rc = ts_world_create(&p->w, &ts_native_backend, 1);
  if (rc) return rc;
  ts_netstack_config cfg = {.name = "provider-netstack", .seed = 7, .mtu = 1280, .output = on_output, .output_ctx = p};
  cfg.addr4 = (ts_ipprefix){.addr = p->stack4, .len = 32};
  cfg.addr6 = (ts_ipprefix){.addr = p->stack6, .len = 128};
  return ts_netstack_create(p->w, &cfg, &p->ns);
}

/* The instance connects to the peer; its SYN is out when this returns. */
static int peer_connect(struct peer *p, bool v6) {
  p->stack = v6 ? p->stack6 : p->stack4;
  p->remote = v6 ? p->peer6 : p->peer4;
  p->seq = PEER_ISN;
  return ts_netstack_tcp_connect(p->ns, &p->remote, PEER_PORT, &app, p, &p->c);
}

static void advance(struct peer *p, ts_time dt) { ts_world_run_until(p->w, ts_world_now(p->w) + dt); }

/* Wraps `tcp` (its checksum field is filled here, wrong on request) in an IP header
 * from the peer to the instance and hands it over. */
static void send_raw(struct peer *p, uint8_t *tcp, uint32_t len, bool bad_sum) {
  uint8_t pkt[1600];
  uint32_t h = ts_ip_write_header(pkt, &p->remote, &p->stack, TS_IPPROTO_TCP, len);
  if (len >= 18) {
    ts_wr16(tcp + 16, 0);
    uint32_t sum = ts_ip_pseudo_header_sum(&p->remote, &p->stack, TS_IPPROTO_TCP, len);
    uint16_t c = ts_checksum_finish(ts_checksum_add(sum, tcp, len));
    ts_wr16(tcp + 16, bad_sum ? (uint16_t)(c ^ 0x1111) : c);
  }
  memcpy(pkt + h, tcp, len);
  ts_netstack_input(p->ns, pkt, h + len);
}

/* Builds a segment into `t` (room for 80 + payload bytes): options as given (a
 * multiple of 4), `payload` bytes of data. Returns its length. */
static uint32_t segment(struct peer *p, uint8_t *t, uint8_t flags, uint32_t seq, uint32_t ack, uint16_t win,
                        const uint8_t *opt, uint32_t optlen, uint32_t payload) {
  memset(t, 0, 20);
  ts_wr16(t, PEER_PORT);
  ts_wr16(t + 2, p->stack_port);
  ts_wr32(t + 4, seq);
  ts_wr32(t + 8, ack);
  t[12] = (uint8_t)((5 + optlen / 4) << 4);
  t[13] = flags;
  ts_wr16(t + 14, win);
  if (optlen) memcpy(t + 20, opt, optlen);
  for (uint32_t i = 0; i < payload; i++) t[20 + optlen + i] = (uint8_t)('a' + i % 26);
  return 20 + optlen + payload;
}

static void send_seg(struct peer *p, uint8_t flags, uint16_t win, const uint8_t *opt, uint32_t optlen,
                     uint32_t payload, bool bad_sum) {
  uint8_t t[1600];
  uint32_t ack = (flags & ACK) ? p->stack_nxt : 0;
  uint32_t len = segment(p, t, flags, p->seq, ack, win, opt, optlen, payload);
  send_raw(p, t, len, bad_sum);
  if (!bad_sum) p->seq += payload + ((flags & SYN) ? 1 : 0) + ((flags & FIN) ? 1 : 0);
}

/* The peer acks what has come, every `step`, with window `win`, until `bytes` are
 * acked or `rounds` went by. */
static void ack_until(struct peer *p, uint64_t bytes, uint16_t win, ts_time step, int rounds) {
  for (int i = 0; i < rounds && p->acked < bytes; i++) {
    advance(p, step);
    send_seg(p, ACK, win, NULL, 0, 0, false);
  }
}

static ts_netstack_stats stats(struct peer *p) {
  ts_netstack_stats s;
  ts_netstack_stats_get(p->ns, &s);
  return s;
}

#define CHECK_COUNTERS5(p, malformed, mss, deferred, persist, syn_mss) \
  do {                                                                \
    ts_netstack_stats st_ = stats(p);                                 \
    TS_CHECK_INT(st_.malformed_dropped, ==, (malformed));             \
    TS_CHECK_INT(st_.mss_stripped, ==, (mss));                        \
    TS_CHECK_INT(st_.writes_deferred, ==, (deferred));                \
    TS_CHECK_INT(st_.persist_stopped, ==, (persist));                 \
    TS_CHECK_INT(st_.syn_mss_ignored, ==, (syn_mss));                 \
  } while (0)
#define CHECK_COUNTERS(p, malformed, mss, deferred, persist) CHECK_COUNTERS5(p, malformed, mss, deferred, persist, 0)

static const uint8_t MSS1200[4] = {2, 4, 0x04, 0xb0};

/* lwip_optlen_overread: a SYN-ACK whose last option byte is a kind that needs a
 * length byte (IPv4), and an ACK ending in an MSS kind byte (IPv6). lwIP 2.1.3 would
 * read the length byte past the packet. Then other malformed headers, a well-formed
 * set of options, and the connection works. */
TS_TEST(lwip_optlen_overread_is_dropped_before_lwip) {
  struct peer p;
  TS_CHECK_INT(peer_create(&p), ==, 0);
  TS_CHECK_INT(peer_connect(&p, false), ==, 0);
  TS_CHECK(p.have_syn);
  /* 20 + 28 bytes. */
  static const uint8_t past_v4[8] = {1, 1, 1, 1, 1, 1, 1, 0xfe};
  send_seg(&p, SYN | ACK, 64240, past_v4, sizeof past_v4, 0, false);
  CHECK_COUNTERS(&p, 1, 0, 0, 0);
  TS_CHECK(!p.connected);
  /* The same SYN-ACK again, well-formed: the dropped one left no trace. */
  p.seq = PEER_ISN;
  send_seg(&p, SYN | ACK, 64240, MSS1200, sizeof MSS1200, 0, false);
  TS_CHECK(p.connected);

  struct peer q;
  TS_CHECK_INT(peer_create(&q), ==, 0);
  TS_CHECK_INT(peer_connect(&q, true), ==, 0);
  send_seg(&q, SYN | ACK, 64240, MSS1200, sizeof MSS1200, 0, false);
  TS_CHECK(q.connected);
  /* 40 + 24 bytes. */
  static const uint8_t past_v6[4] = {1, 1, 1, 2};
  send_seg(&q, ACK, 64240, past_v6, sizeof past_v6, 0, false);
  CHECK_COUNTERS(&q, 1, 0, 0, 0);
  /* The rest of RFC 9293's option and header rules, each dropped and counted; with
   * data, so that a segment that got through would show. */
  static const uint8_t len0[4] = {8, 0, 1, 1}, len1[4] = {1, 30, 1, 1}, too_long[8] = {1, 1, 5, 10, 0, 0, 0, 0};
  const struct {
    const uint8_t *opt;
    uint32_t len;
  } bad[] = {{len0, 4}, {len1, 4}, {too_long, 8}};
  uint64_t dropped = 1;
  for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
    send_seg(&q, ACK | PSH, 64240, bad[i].opt, bad[i].len, 8, false);
    q.seq -= 8; /* not delivered: the next segment has the same numbers */
    CHECK_COUNTERS(&q, ++dropped, 0, 0, 0);
  }
  uint8_t t[200];
  for (uint8_t doff = 0; doff < 16; doff++) {
    uint32_t len = segment(&q, t, ACK | PSH, q.seq, q.stack_nxt, 64240, NULL, 0, 12); /* 32 bytes */
    if (doff >= 5 && doff * 4u <= len) continue;
    t[12] = (uint8_t)(doff << 4);
    send_raw(&q, t, len, false);
    CHECK_COUNTERS(&q, ++dropped, 0, 0, 0);
  }
  /* Shorter than a TCP header. */
  send_raw(&q, t, 16, false);
  CHECK_COUNTERS(&q, ++dropped, 0, 0, 0);
  TS_CHECK_INT(q.received, ==, 0);
  /* Every option lwIP knows and some it does not, with EOL and padding after it:
   * passed as it is, the data delivered. */
  static const uint8_t fine[20] = {2, 4, 5, 0, 1, 3, 3, 7, 4, 2, 8, 10, 0, 0, 0, 1, 0, 0, 0, 2};
  static const uint8_t fine2[12] = {1, 1, 30, 6, 1, 2, 3, 4, 0, 0xfe, 0xfe, 0xfe};
  send_seg(&q, ACK | PSH, 64240, fine + 4, 16, 8, false); /* no MSS: not a SYN */
  send_seg(&q, ACK | PSH, 64240, fine2, sizeof fine2, 8, false);
  CHECK_COUNTERS(&q, dropped, 0, 0, 0);
  TS_CHECK_INT(q.received, ==, 16);
  TS_CHECK_INT(q.rsts, ==, 0);
  /* Both connections still carry data. */
  TS_CHECK_INT(ts_netstack_tcp_write(q.c, "0123456789", 10), ==, 10);
  TS_CHECK_INT(ts_netstack_tcp_write(p.c, "0123456789", 10), ==, 10);
  TS_CHECK_INT(q.data_segments, ==, 1);
  TS_CHECK_INT(p.data_segments, ==, 1);
  ts_world_destroy(p.w);
  ts_world_destroy(q.w);
}

/* A first IPv4 fragment that leaves part of the TCP header (its options) to the next
 * fragment is dropped: the options would otherwise reach lwIP unchecked. A first
 * fragment with the whole header, and an IPv6 first fragment after extension
 * headers, are checked like whole segments. */
TS_TEST(first_fragments_must_hold_the_tcp_header) {
  struct peer p;
  TS_CHECK_INT(peer_create(&p), ==, 0);
  TS_CHECK_INT(peer_connect(&p, false), ==, 0);
  send_seg(&p, SYN | ACK, 64240, MSS1200, sizeof MSS1200, 0, false);
  TS_CHECK(p.connected);
  uint8_t t[100], pkt[200];
  static const uint8_t opts[8] = {1, 1, 1, 1, 1, 1, 1, 1};
  segment(&p, t, ACK | PSH, p.seq, p.stack_nxt, 64240, opts, 8, 16); /* 28 + 16 */
  uint32_t h = ts_ip_write_header(pkt, &p.remote, &p.stack, TS_IPPROTO_TCP, 24);
  memcpy(pkt + h, t, 24);
  ts_wr16(pkt + 6, 0x2000); /* MF, offset 0: 24 of the header's 28 bytes */
  ts_wr16(pkt + 10, 0);
  ts_wr16(pkt + 10, ts_checksum_finish(ts_checksum_add(0, pkt, h)));
  ts_netstack_input(p.ns, pkt, h + 24);
  CHECK_COUNTERS(&p, 1, 0, 0, 0);

  /* IPv6: a destination options header, a first fragment (offset 0, M set) whose
   * TCP header ends in a kind without its length byte: dropped. */
  struct peer q;
  TS_CHECK_INT(peer_create(&q), ==, 0);
  TS_CHECK_INT(peer_connect(&q, true), ==, 0);
  send_seg(&q, SYN | ACK, 64240, MSS1200, sizeof MSS1200, 0, false);
  static const uint8_t last_kind[8] = {1, 1, 1, 1, 1, 1, 1, 3};
  uint32_t len = segment(&q, t, ACK | PSH, q.seq, q.stack_nxt, 64240, last_kind, 8, 4); /* 32 */
  h = ts_ip_write_header(pkt, &q.remote, &q.stack, 60, 16 + len);
  memset(pkt + h, 0, 16);
  pkt[h] = 44;              /* destination options, 8 bytes, then a fragment header */
  pkt[h + 2] = 1;           /* PadN of 4 */
  pkt[h + 3] = 4;
  pkt[h + 8] = TS_IPPROTO_TCP;
  ts_wr16(pkt + h + 10, 0x0001); /* offset 0, M */
  ts_wr32(pkt + h + 12, 0x12345678);
  memcpy(pkt + h + 16, t, len);
  ts_netstack_input(q.ns, pkt, h + 16 + len);
  CHECK_COUNTERS(&q, 1, 0, 0, 0);
  ts_world_destroy(p.w);
  ts_world_destroy(q.w);
}

/* lwip_mss_shrink, first half: an MSS option without SYN is ignored (NOPs in its
 * place, the checksum adjusted); lwIP keeps the MSS of the handshake. IPv4 and IPv6;
 * a wrong checksum stays wrong. */
TS_TEST(mss_option_without_syn_is_replaced_by_nops) {
  for (int v6 = 0; v6 < 2; v6++) {
    struct peer p;
    TS_CHECK_INT(peer_create(&p), ==, 0);
    TS_CHECK_INT(peer_connect(&p, v6), ==, 0);
    send_seg(&p, SYN | ACK, 64240, MSS1200, sizeof MSS1200, 0, false);
    TS_CHECK(p.connected);
    static const uint8_t mss100[8] = {1, 1, 2, 4, 0, 100, 1, 0};
    /* Wrong checksum: counted, still dropped by lwIP. */
    send_seg(&p, ACK | PSH, 64240, mss100, sizeof mss100, 10, true);
    CHECK_COUNTERS(&p, 0, 1, 0, 0);
    TS_CHECK_INT(p.received, ==, 0);
    /* Right checksum: delivered, the checksum still right after the rewrite. */
    send_seg(&p, ACK | PSH, 64240, mss100, sizeof mss100, 10, false);
    CHECK_COUNTERS(&p, 0, 2, 0, 0);
    TS_CHECK_INT(p.received, ==, 10);
    /* Segments still of the handshake's MSS (1200), not 100. */
    uint8_t buf[1000];
    memset(buf, 'x', sizeof buf);
    TS_CHECK_INT(ts_netstack_tcp_write(p.c, buf, sizeof buf), ==, sizeof buf);
    TS_CHECK_INT(p.data_segments, ==, 1);
    TS_CHECK_INT(p.max_payload, ==, sizeof buf);
    send_seg(&p, ACK, 64240, NULL, 0, 0, false);
    TS_CHECK_INT(p.acked, ==, sizeof buf);
    TS_CHECK_INT(p.rsts, ==, 0);
    ts_world_destroy(p.w);
  }
}

/* lwip_mss_shrink: 96 bytes written while SYN-SENT (one segment sized for lwIP's
 * first MSS, 536, with room kept after it), a SYN-ACK with a zero window and MSS
 * 100 (legitimate: the MSS comes with SYN), another write. lwIP 2.1.3 asserts
 * "inconsistent oversize vs. space"; the instance defers the write until the queued
 * segment is out. */
TS_TEST(lwip_mss_shrink_defers_the_write) {
  struct peer p;
  TS_CHECK_INT(peer_create(&p), ==, 0);
  TS_CHECK_INT(peer_connect(&p, false), ==, 0);
  uint8_t buf[320];
  memset(buf, 'y', sizeof buf);
  TS_CHECK_INT(ts_netstack_tcp_write(p.c, buf, 96), ==, 96);
  static const uint8_t mss100[4] = {2, 4, 0, 100};
  send_seg(&p, SYN | ACK, 0, mss100, sizeof mss100, 0, false);
  TS_CHECK(p.connected);
  TS_CHECK_INT(ts_netstack_tcp_sendable(p.c), ==, 0);
  TS_CHECK_INT(ts_netstack_tcp_write(p.c, buf, 320), ==, 0);
  CHECK_COUNTERS(&p, 0, 0, 1, 0);
  /* The window opens: the 96 bytes go, their ACK brings `sent`, writes go on in
   * segments of the new MSS. */
  send_seg(&p, ACK, 64240, NULL, 0, 0, false);
  TS_CHECK_INT(p.data_segments, ==, 1);
  TS_CHECK_INT(p.max_payload, ==, 96);
  send_seg(&p, ACK, 64240, NULL, 0, 0, false);
  TS_CHECK_INT(p.acked, ==, 96);
  TS_CHECK(ts_netstack_tcp_sendable(p.c) >= 320);
  TS_CHECK_INT(ts_netstack_tcp_write(p.c, buf, 320), ==, 320);
  ack_until(&p, 416, 64240, 300 * TS_MS, 20);
  TS_CHECK_INT(p.acked, ==, 416);
  TS_CHECK_INT(p.max_payload, ==, 100);
  CHECK_COUNTERS(&p, 0, 0, 1, 0);
  TS_CHECK(p.c && !p.closed);
  ts_world_destroy(p.w);
}

/* lwip_small_window: a SYN-ACK with a zero window (lwIP then queues segments at the
 * full MSS, 536), 800 bytes written, a window of 200 (mss_local 100), another
 * write. lwIP 2.1.3 asserts "mss_local is too small"; the instance defers the write
 * while lwIP's persist timer feeds the queued data into the small window. */
TS_TEST(lwip_small_window_defers_the_write) {
  struct peer p;
  TS_CHECK_INT(peer_create(&p), ==, 0);
  TS_CHECK_INT(peer_connect(&p, false), ==, 0);
  send_seg(&p, SYN | ACK, 0, NULL, 0, 0, false);
  TS_CHECK(p.connected);
  advance(&p, TS_MS);
  uint8_t buf[800];
  memset(buf, 'z', sizeof buf);
  TS_CHECK_INT(ts_netstack_tcp_write(p.c, buf, 800), ==, 800);
  send_seg(&p, ACK, 200, NULL, 0, 0, false);
  TS_CHECK_INT(ts_netstack_tcp_write(p.c, buf, 80), ==, 0);
  TS_CHECK_INT(ts_netstack_tcp_sendable(p.c), ==, 0);
  CHECK_COUNTERS(&p, 0, 0, 1, 0);
  /* The peer acks what comes, window 200, until the 800 bytes are through. */
  ack_until(&p, 800, 200, 250 * TS_MS, 200);
  TS_CHECK_INT(p.acked, ==, 800);
  TS_CHECK(p.max_payload <= 200);
  TS_CHECK_INT(ts_netstack_tcp_write(p.c, buf, 80), ==, 80);
  ack_until(&p, 880, 200, 250 * TS_MS, 20);
  TS_CHECK_INT(p.acked, ==, 880);
  CHECK_COUNTERS(&p, 0, 0, 1, 0);
  TS_CHECK(p.c && !p.closed);
  ts_world_destroy(p.w);
}

/* lwip_persist_empty: 104 bytes sent, the peer's segment with a zero window acks
 * none of them (it crossed our data), the RTO moves them back to the unsent queue
 * (persist starts: they do not fit), then the peer acks their first transmission
 * with an open window. lwIP 2.1.3's next slow timer asserts "persist ticking with
 * empty send buffer"; the instance stops the timer first. */
TS_TEST(lwip_persist_empty_stops_the_timer) {
  struct peer p;
  TS_CHECK_INT(peer_create(&p), ==, 0);
  TS_CHECK_INT(peer_connect(&p, false), ==, 0);
  send_seg(&p, SYN | ACK, 64240, NULL, 0, 0, false);
  TS_CHECK(p.connected);
  advance(&p, TS_MS);
  uint8_t buf[104];
  memset(buf, 'w', sizeof buf);
  TS_CHECK_INT(ts_netstack_tcp_write(p.c, buf, sizeof buf), ==, sizeof buf);
  TS_CHECK_INT(p.data_segments, ==, 1);
  uint8_t t[100];
  uint32_t len = segment(&p, t, ACK | PSH, p.seq, p.stack_isn + 1, 0, NULL, 0, 1);
  send_raw(&p, t, len, false);
  p.seq += 1;
  advance(&p, 3721 * TS_MS); /* past the RTO */
  CHECK_COUNTERS(&p, 0, 0, 0, 0);
  send_seg(&p, ACK, 64240, NULL, 0, 0, false);
  TS_CHECK_INT(p.acked, ==, sizeof buf);
  advance(&p, 1600 * TS_MS); /* a few slow timer ticks */
  CHECK_COUNTERS(&p, 0, 0, 0, 1);
  /* The connection goes on, the timer stays stopped. */
  TS_CHECK_INT(ts_netstack_tcp_write(p.c, buf, 50), ==, 50);
  advance(&p, 10 * TS_MS);
  send_seg(&p, ACK, 64240, NULL, 0, 0, false);
  TS_CHECK_INT(p.acked, ==, sizeof buf + 50);
  advance(&p, 5 * TS_SEC);
  CHECK_COUNTERS(&p, 0, 0, 0, 1);
  TS_CHECK(p.c && !p.closed);
  TS_CHECK_INT(p.rsts, ==, 0);
  ts_world_destroy(p.w);
}

/* lwip_syn_ack_mss_unacceptable: a SYN-ACK with a wrong acknowledgment number and
 * MSS 1280 (answered with RST), 1920 bytes written while SYN-SENT, then the real
 * SYN-ACK without MSS. lwIP 2.1.3 keeps the bogus MSS: 1280-byte segments on an MTU of
 * 1280, fragmented at the IP layer. The instance strips the option first: segments
 * of lwIP's default 536. Then a bogus MSS of 8 on another connection. */
TS_TEST(mss_of_an_unacceptable_syn_ack_is_ignored) {
  struct peer p;
  TS_CHECK_INT(peer_create(&p), ==, 0);
  TS_CHECK_INT(peer_connect(&p, false), ==, 0);
  static const uint8_t mss1280[4] = {2, 4, 0x05, 0x00};
  uint8_t t[100];
  uint32_t len = segment(&p, t, SYN | ACK, p.seq, p.stack_isn + 1 - 16, 0xff27, mss1280, 4, 0);
  send_raw(&p, t, len, false);
  TS_CHECK_INT(p.rsts, ==, 1);
  TS_CHECK(!p.connected);
  CHECK_COUNTERS5(&p, 0, 0, 0, 0, 1);
  uint8_t buf[1920];
  memset(buf, 'v', sizeof buf);
  TS_CHECK_INT(ts_netstack_tcp_write(p.c, buf, sizeof buf), ==, sizeof buf);
  send_seg(&p, SYN | ACK, 1280, NULL, 0, 0, false);
  TS_CHECK(p.connected);
  ack_until(&p, sizeof buf, 1280, 100 * TS_MS, 40);
  TS_CHECK_INT(p.acked, ==, sizeof buf);
  TS_CHECK_INT(p.fragments, ==, 0);
  TS_CHECK_INT(p.max_payload, ==, 536);

  /* A bogus MSS of 8, then the real SYN-ACK (MSS 1200): segments of 1000 bytes. */
  struct peer q;
  TS_CHECK_INT(peer_create(&q), ==, 0);
  TS_CHECK_INT(peer_connect(&q, true), ==, 0);
  static const uint8_t mss8[4] = {2, 4, 0, 8};
  len = segment(&q, t, SYN | ACK, q.seq, q.stack_isn + 7, 64240, mss8, 4, 0);
  send_raw(&q, t, len, false);
  CHECK_COUNTERS5(&q, 0, 0, 0, 0, 1);
  send_seg(&q, SYN | ACK, 64240, MSS1200, sizeof MSS1200, 0, false);
  TS_CHECK(q.connected);
  TS_CHECK_INT(ts_netstack_tcp_write(q.c, buf, 1000), ==, 1000);
  TS_CHECK_INT(q.max_payload, ==, 1000);
  CHECK_COUNTERS5(&q, 0, 0, 0, 0, 1);
  ts_world_destroy(p.w);
  ts_world_destroy(q.w);
}

static bool accept_into_peer(void *ctx, ts_netstack_listener *l, ts_netstack_tcp *c) {
  struct peer *p = ctx;
  p->c = c;
  p->connected = true;
  ts_netstack_tcp_set_callbacks(c, &app, p);
  return true;
}

/* A listener: the SYN's MSS (1200) holds; a repeated SYN with MSS 100 while
 * SYN-RECEIVED does not change it. */
TS_TEST(mss_of_a_repeated_syn_is_ignored) {
  struct peer p;
  TS_CHECK_INT(peer_create(&p), ==, 0);
  ts_netstack_listener *l;
  TS_CHECK_INT(ts_netstack_tcp_listen(p.ns, 80, accept_into_peer, &p, &l), ==, 0);
  p.stack = p.stack4;
  p.remote = p.peer4;
  p.stack_port = 80;
  p.seq = PEER_ISN;
  send_seg(&p, SYN, 64240, MSS1200, sizeof MSS1200, 0, false);
  TS_CHECK(p.have_syn); /* the SYN-ACK */
  static const uint8_t mss100[4] = {2, 4, 0, 100};
  p.seq = PEER_ISN;
  send_seg(&p, SYN, 64240, mss100, sizeof mss100, 0, false);
  CHECK_COUNTERS5(&p, 0, 0, 0, 0, 1);
  send_seg(&p, ACK, 64240, NULL, 0, 0, false);
  TS_CHECK(p.connected);
  uint8_t buf[1000];
  memset(buf, 'u', sizeof buf);
  TS_CHECK_INT(ts_netstack_tcp_write(p.c, buf, sizeof buf), ==, sizeof buf);
  TS_CHECK_INT(p.max_payload, ==, sizeof buf);
  CHECK_COUNTERS5(&p, 0, 0, 0, 0, 1);
  ts_world_destroy(p.w);
}

int main(int argc, char **argv) { return ts_test_main(argc, argv); }
