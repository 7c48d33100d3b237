/* The provider's tunnel mux (sim/devices/mux.c) on hand-built packets: TCP flows
 * learnt from the netstack's segments and forgotten on RST and after FIN/FIN/ACK,
 * ICMP echo identifiers, IPv6 (extension headers included), eviction at capacity,
 * malformed input and reset. */
#include <stdlib.h>

#include "ts_bytes.h"
#include "tstest.h"
#include "ts_error.h"
#include "ts_ipsum.h"
#include "ts_mux.h"

#define F_FIN 0x01
#define F_SYN 0x02
#define F_RST 0x04
#define F_PSH 0x08
#define F_ACK 0x10

static ts_ipaddr addr(const char *text) {
  ts_ipaddr a;
  if (!ts_ipaddr_parse(text, &a)) abort();
  return a;
}


/* A TCP segment with a correct checksum (unless bad_sum); returns its length. */
static uint32_t tcp_seg(uint8_t *out, const char *src, uint16_t sport, const char *dst,
                        uint16_t dport, uint32_t seq, uint32_t ack, uint8_t flags,
                        uint32_t payload, bool bad_sum) {
  ts_ipaddr s = addr(src), d = addr(dst);
  uint32_t l4len = 20 + payload;
  uint32_t h = ts_ip_write_header(out, &s, &d, TS_IPPROTO_TCP, l4len);
  uint8_t *t = out + h;
  memset(t, 0, l4len);
  ts_wr16(t, sport);
  ts_wr16(t + 2, dport);
  ts_wr32(t + 4, seq);
  ts_wr32(t + 8, ack);
  t[12] = 5 << 4;
  t[13] = flags;
  ts_wr16(t + 14, 64240);
  for (uint32_t i = 0; i < payload; i++) t[20 + i] = (uint8_t)('a' + i % 26);
  uint16_t sum = ts_checksum_finish(
      ts_checksum_add(ts_ip_pseudo_header_sum(&s, &d, TS_IPPROTO_TCP, l4len), t, l4len));
  ts_wr16(t + 16, (uint16_t)(bad_sum ? sum ^ 0x5555 : sum));
  return h + l4len;
}

static uint32_t echo(uint8_t *out, const char *src, const char *dst, bool reply, uint16_t id) {
  ts_ipaddr s = addr(src), d = addr(dst);
  return ts_ip_build_echo(out, 2048, &s, &d, reply, id, 1, (const uint8_t *)"ping", 4);
}

#define L4 "10.64.0.2"
#define R4 "10.64.0.1"
#define L6 "fc00:bbbb:bbbb:bb01::2"
#define R6 "fc00:bbbb:bbbb:bb01::1"
#define LP 40000
#define RP 1337
#define ISN 1000u  /* the netstack's */
#define IRS 50000u /* the peer's */

struct conn {
  const char *l, *r;
  uint16_t lp, rp;
};

/* The netstack's segment (outbound) and the peer's (inbound) of one connection. */
static int out_seg(ts_mux *m, const struct conn *c, uint32_t seq, uint32_t ack, uint8_t flags,
                   uint32_t payload) {
  uint8_t b[2048];
  uint32_t n = tcp_seg(b, c->l, c->lp, c->r, c->rp, seq, ack, flags, payload, false);
  return ts_mux_outbound(m, b, n);
}
static ts_mux_route in_seg(ts_mux *m, const struct conn *c, uint32_t seq, uint32_t ack,
                           uint8_t flags, uint32_t payload) {
  uint8_t b[2048];
  uint32_t n = tcp_seg(b, c->r, c->rp, c->l, c->lp, seq, ack, flags, payload, false);
  return ts_mux_inbound(m, b, n);
}

/* SYN, SYN-ACK, ACK, then 10 bytes each way: after it the netstack's next seq is
 * ISN + 11 and it expects IRS + 11. */
static int open_conn(ts_mux *m, const struct conn *c) {
  if (out_seg(m, c, ISN, 0, F_SYN, 0) != 0) return -1;
  if (in_seg(m, c, IRS, ISN + 1, F_SYN | F_ACK, 0) != TS_MUX_NETSTACK) return -2;
  if (out_seg(m, c, ISN + 1, IRS + 1, F_ACK, 0) != 0) return -3;
  if (out_seg(m, c, ISN + 1, IRS + 1, F_ACK | F_PSH, 10) != 0) return -4;
  if (in_seg(m, c, IRS + 1, ISN + 11, F_ACK | F_PSH, 10) != TS_MUX_NETSTACK) return -5;
  if (out_seg(m, c, ISN + 11, IRS + 11, F_ACK, 0) != 0) return -6;
  return 0;
}

static const struct conn C4 = {L4, R4, LP, RP};
static const struct conn C6 = {L6, R6, LP, RP};

static void tcp_rst_case(const struct conn *c) {
  ts_mux *m;
  TS_CHECK_INT(ts_mux_create(8, &m), ==, 0);
  TS_CHECK_INT(open_conn(m, c), ==, 0);
  TS_CHECK_INT(ts_mux_flow_count(m), ==, 1);
  /* A RST whose seq is not rcv_nxt: lwIP would not take it (challenge ACK), so the
   * flow stays; a RST whose checksum fails: lwIP drops it, the flow stays. */
  TS_CHECK_INT(in_seg(m, c, IRS + 500, 0, F_RST, 0), ==, TS_MUX_NETSTACK);
  TS_CHECK_INT(ts_mux_flow_count(m), ==, 1);
  uint8_t b[256];
  uint32_t n = tcp_seg(b, c->r, c->rp, c->l, c->lp, IRS + 11, 0, F_RST, 0, true);
  TS_CHECK_INT(ts_mux_inbound(m, b, n), ==, TS_MUX_NETSTACK);
  TS_CHECK_INT(ts_mux_flow_count(m), ==, 1);
  /* The acceptable RST is routed to the netstack, then the flow is gone. */
  TS_CHECK_INT(in_seg(m, c, IRS + 11, 0, F_RST, 0), ==, TS_MUX_NETSTACK);
  TS_CHECK_INT(ts_mux_flow_count(m), ==, 0);
  TS_CHECK_INT(in_seg(m, c, IRS + 11, ISN + 11, F_ACK, 0), ==, TS_MUX_UTUN);
  /* The netstack's own RST ends a flow too. */
  TS_CHECK_INT(open_conn(m, c), ==, 0);
  TS_CHECK_INT(out_seg(m, c, ISN + 11, IRS + 11, F_RST | F_ACK, 0), ==, 0);
  TS_CHECK_INT(ts_mux_flow_count(m), ==, 0);
  TS_CHECK_INT(in_seg(m, c, IRS + 11, ISN + 11, F_ACK, 0), ==, TS_MUX_UTUN);
  /* A RST answering our SYN (connection refused) is acceptable when it acks the SYN. */
  TS_CHECK_INT(out_seg(m, c, ISN, 0, F_SYN, 0), ==, 0);
  TS_CHECK_INT(in_seg(m, c, 0, ISN + 7, F_RST | F_ACK, 0), ==, TS_MUX_NETSTACK);
  TS_CHECK_INT(ts_mux_flow_count(m), ==, 1);
  TS_CHECK_INT(in_seg(m, c, 0, ISN + 1, F_RST | F_ACK, 0), ==, TS_MUX_NETSTACK);
  TS_CHECK_INT(ts_mux_flow_count(m), ==, 0);
  ts_mux_stats st;
  ts_mux_get_stats(m, &st);
  TS_CHECK_INT(st.tracked_tcp, ==, 3);
  TS_CHECK_INT(st.closed, ==, 3);
  TS_CHECK_INT(st.malformed, ==, 0);
  ts_mux_destroy(m);
}

TS_TEST(tcp_routed_both_ways_and_forgotten_after_rst_v4) { tcp_rst_case(&C4); }
TS_TEST(tcp_routed_both_ways_and_forgotten_after_rst_v6) { tcp_rst_case(&C6); }

static void tcp_fin_case(const struct conn *c, bool we_close_first) {
  ts_mux *m;
  TS_CHECK_INT(ts_mux_create(8, &m), ==, 0);
  TS_CHECK_INT(open_conn(m, c), ==, 0);
  uint32_t s = ISN + 11, r = IRS + 11;
  if (we_close_first) {
    TS_CHECK_INT(out_seg(m, c, s, r, F_FIN | F_ACK, 0), ==, 0);          /* FIN_WAIT_1 */
    TS_CHECK_INT(in_seg(m, c, r, s + 1, F_ACK, 0), ==, TS_MUX_NETSTACK); /* FIN_WAIT_2 */
    TS_CHECK_INT(ts_mux_flow_count(m), ==, 1);
    /* Late data from the peer still reaches the netstack (half close). */
    TS_CHECK_INT(in_seg(m, c, r, s + 1, F_ACK | F_PSH, 5), ==, TS_MUX_NETSTACK);
    TS_CHECK_INT(out_seg(m, c, s + 1, r + 5, F_ACK, 0), ==, 0);
    TS_CHECK_INT(in_seg(m, c, r + 5, s + 1, F_FIN | F_ACK, 0), ==, TS_MUX_NETSTACK);
    TS_CHECK_INT(ts_mux_flow_count(m), ==, 1); /* both FINs, the last ACK not yet */
    /* A duplicate ACK that does not cover the peer's FIN ends nothing. */
    TS_CHECK_INT(out_seg(m, c, s + 1, r + 5, F_ACK, 0), ==, 0);
    TS_CHECK_INT(ts_mux_flow_count(m), ==, 1);
    TS_CHECK_INT(out_seg(m, c, s + 1, r + 6, F_ACK, 0), ==, 0); /* TIME_WAIT */
    TS_CHECK_INT(ts_mux_flow_count(m), ==, 0);
    /* A FIN the peer retransmits now goes to utun (no lingering entry). */
    TS_CHECK_INT(in_seg(m, c, r + 5, s + 1, F_FIN | F_ACK, 0), ==, TS_MUX_UTUN);
  } else {
    TS_CHECK_INT(in_seg(m, c, r, s, F_FIN | F_ACK, 0), ==, TS_MUX_NETSTACK); /* CLOSE_WAIT */
    TS_CHECK_INT(out_seg(m, c, s, r + 1, F_ACK, 0), ==, 0);
    TS_CHECK_INT(out_seg(m, c, s, r + 1, F_ACK | F_PSH, 3), ==, 0);
    TS_CHECK_INT(in_seg(m, c, r + 1, s + 3, F_ACK, 0), ==, TS_MUX_NETSTACK);
    TS_CHECK_INT(out_seg(m, c, s + 3, r + 1, F_FIN | F_ACK, 0), ==, 0); /* LAST_ACK */
    TS_CHECK_INT(ts_mux_flow_count(m), ==, 1);
    /* An ACK that does not cover our FIN ends nothing; the one that does is still
     * routed to the netstack (lwIP needs it to leave LAST_ACK), then the flow ends. */
    TS_CHECK_INT(in_seg(m, c, r + 1, s + 3, F_ACK, 0), ==, TS_MUX_NETSTACK);
    TS_CHECK_INT(ts_mux_flow_count(m), ==, 1);
    TS_CHECK_INT(in_seg(m, c, r + 1, s + 4, F_ACK, 0), ==, TS_MUX_NETSTACK);
    TS_CHECK_INT(ts_mux_flow_count(m), ==, 0);
    TS_CHECK_INT(in_seg(m, c, r + 1, s + 4, F_ACK, 0), ==, TS_MUX_UTUN);
  }
  ts_mux_stats st;
  ts_mux_get_stats(m, &st);
  TS_CHECK_INT(st.closed, ==, 1);
  ts_mux_destroy(m);
}

TS_TEST(tcp_forgotten_after_fin_fin_ack_we_close_first) { tcp_fin_case(&C4, true); }
TS_TEST(tcp_forgotten_after_fin_fin_ack_peer_closes_first) { tcp_fin_case(&C4, false); }
TS_TEST(tcp_forgotten_after_fin_fin_ack_v6) {
  tcp_fin_case(&C6, true);
  if (ts_test_failed_now()) return;
  tcp_fin_case(&C6, false);
}

TS_TEST(tcp_fin_out_of_order_or_corrupt_is_not_taken) {
  ts_mux *m;
  TS_CHECK_INT(ts_mux_create(8, &m), ==, 0);
  TS_CHECK_INT(open_conn(m, &C4), ==, 0);
  uint32_t s = ISN + 11, r = IRS + 11;
  TS_CHECK_INT(out_seg(m, &C4, s, r, F_FIN | F_ACK, 0), ==, 0);
  TS_CHECK_INT(in_seg(m, &C4, r, s + 1, F_ACK, 0), ==, TS_MUX_NETSTACK);
  /* A FIN beyond rcv_nxt (lwIP queues it out of order) and a corrupted one, each
   * acked by a later ACK, do not end the flow. */
  TS_CHECK_INT(in_seg(m, &C4, r + 100, s + 1, F_FIN | F_ACK, 0), ==, TS_MUX_NETSTACK);
  uint8_t b[256];
  uint32_t n = tcp_seg(b, R4, RP, L4, LP, r, s + 1, F_FIN | F_ACK, 0, true);
  TS_CHECK_INT(ts_mux_inbound(m, b, n), ==, TS_MUX_NETSTACK);
  TS_CHECK_INT(out_seg(m, &C4, s + 1, r + 101, F_ACK, 0), ==, 0);
  TS_CHECK_INT(ts_mux_flow_count(m), ==, 1);
  ts_mux_destroy(m);
}

TS_TEST(other_four_tuples_go_to_utun) {
  ts_mux *m;
  TS_CHECK_INT(ts_mux_create(8, &m), ==, 0);
  TS_CHECK_INT(open_conn(m, &C4), ==, 0);
  const struct conn others[] = {
      {L4, R4, LP + 1, RP},      /* other local port */
      {L4, R4, LP, RP + 1},      /* other remote port */
      {L4, "10.64.0.9", LP, RP}, /* other remote */
      {"10.64.0.3", R4, LP, RP}, /* other local address (another utun client) */
      {L6, R6, LP, RP},          /* same ports, other family */
  };
  for (size_t i = 0; i < sizeof others / sizeof others[0]; i++)
    TS_CHECK_INT(in_seg(m, &others[i], IRS + 11, ISN + 11, F_ACK, 0), ==, TS_MUX_UTUN);
  /* The tracked flow's own packet sent the wrong way round (as if from the netstack). */
  uint8_t b[256];
  uint32_t n = tcp_seg(b, L4, LP, R4, RP, ISN + 11, IRS + 11, F_ACK, 0, false);
  TS_CHECK_INT(ts_mux_inbound(m, b, n), ==, TS_MUX_UTUN);
  /* UDP on the same addresses and ports. */
  ts_ipaddr s = addr(R4), d = addr(L4);
  n = ts_ip_build_udp(b, sizeof b, &s, &d, RP, LP, (const uint8_t *)"x", 1);
  TS_CHECK_INT(ts_mux_inbound(m, b, n), ==, TS_MUX_UTUN);
  TS_CHECK_INT(ts_mux_outbound(m, b, n), ==, 0); /* well-formed, learns nothing */
  TS_CHECK_INT(ts_mux_flow_count(m), ==, 1);
  TS_CHECK_INT(in_seg(m, &C4, IRS + 11, ISN + 11, F_ACK, 0), ==, TS_MUX_NETSTACK);
  ts_mux_stats st;
  ts_mux_get_stats(m, &st);
  TS_CHECK_INT(st.inbound_utun, ==, 7);
  TS_CHECK_INT(st.inbound_netstack, ==, 3);
  ts_mux_destroy(m);
}

TS_TEST(tcp_flow_learnt_from_any_outbound_segment_but_rst) {
  ts_mux *m;
  TS_CHECK_INT(ts_mux_create(8, &m), ==, 0);
  /* lwIP answering a segment it does not know with RST learns nothing. */
  TS_CHECK_INT(out_seg(m, &C4, ISN, IRS, F_RST | F_ACK, 0), ==, 0);
  TS_CHECK_INT(ts_mux_flow_count(m), ==, 0);
  /* A retransmission of an established flow the table lost is learnt again. */
  TS_CHECK_INT(out_seg(m, &C4, ISN + 11, IRS + 11, F_ACK | F_PSH, 10), ==, 0);
  TS_CHECK_INT(ts_mux_flow_count(m), ==, 1);
  TS_CHECK_INT(in_seg(m, &C4, IRS + 11, ISN + 21, F_ACK, 0), ==, TS_MUX_NETSTACK);
  /* A new SYN on the same 4-tuple starts the flow's state afresh: a FIN of the old
   * connection half-seen before does not count towards closing the new one. */
  TS_CHECK_INT(out_seg(m, &C4, ISN + 21, IRS + 11, F_FIN | F_ACK, 0), ==, 0);
  TS_CHECK_INT(out_seg(m, &C4, 9000, 0, F_SYN, 0), ==, 0);
  TS_CHECK_INT(in_seg(m, &C4, 7000, 9001, F_SYN | F_ACK, 0), ==, TS_MUX_NETSTACK);
  TS_CHECK_INT(out_seg(m, &C4, 9001, 7001, F_ACK, 0), ==, 0);
  TS_CHECK_INT(in_seg(m, &C4, 7001, 9001, F_FIN | F_ACK, 0), ==, TS_MUX_NETSTACK);
  TS_CHECK_INT(out_seg(m, &C4, 9001, 7002, F_ACK, 0), ==, 0);
  TS_CHECK_INT(ts_mux_flow_count(m), ==, 1);
  ts_mux_destroy(m);
}

static void icmp_case(const char *l, const char *r, const char *other) {
  ts_mux *m;
  TS_CHECK_INT(ts_mux_create(8, &m), ==, 0);
  uint8_t b[2048];
  uint32_t n = echo(b, l, r, false, 7);
  TS_CHECK_INT(ts_mux_outbound(m, b, n), ==, 0);
  TS_CHECK_INT(ts_mux_flow_count(m), ==, 1);
  n = echo(b, r, l, true, 7);
  TS_CHECK_INT(ts_mux_inbound(m, b, n), ==, TS_MUX_NETSTACK);
  TS_CHECK_INT(ts_mux_inbound(m, b, n), ==, TS_MUX_NETSTACK); /* replies keep coming */
  n = echo(b, r, l, true, 8); /* another identifier (the OS's ping, say) */
  TS_CHECK_INT(ts_mux_inbound(m, b, n), ==, TS_MUX_UTUN);
  n = echo(b, other, l, true, 7); /* the same identifier from another host */
  TS_CHECK_INT(ts_mux_inbound(m, b, n), ==, TS_MUX_UTUN);
  n = echo(b, r, l, false, 7); /* a request to us is the OS's to answer */
  TS_CHECK_INT(ts_mux_inbound(m, b, n), ==, TS_MUX_UTUN);
  ts_mux_stats st;
  ts_mux_get_stats(m, &st);
  TS_CHECK_INT(st.tracked_icmp, ==, 1);
  TS_CHECK_INT(st.inbound_netstack, ==, 2);
  TS_CHECK_INT(st.inbound_utun, ==, 3);
  ts_mux_destroy(m);
}

TS_TEST(icmp_echo_identifier_tracked_v4) { icmp_case(L4, R4, "10.64.0.9"); }
TS_TEST(icmp_echo_identifier_tracked_v6) { icmp_case(L6, R6, "fc00:bbbb:bbbb:bb01::9"); }

/* An ICMP error from `from` to the netstack quoting `quoted` (a packet it sent). */
static uint32_t icmp_error(uint8_t *out, const char *from, const char *to, uint8_t type,
                           const uint8_t *quoted, uint32_t qlen) {
  ts_ipaddr s = addr(from), d = addr(to);
  uint32_t l4len = 8 + qlen;
  uint8_t proto = s.family == 4 ? TS_IPPROTO_ICMP : TS_IPPROTO_ICMPV6;
  uint32_t h = ts_ip_write_header(out, &s, &d, proto, l4len);
  memset(out + h, 0, 8);
  out[h] = type;
  memcpy(out + h + 8, quoted, qlen);
  uint32_t sum = s.family == 6 ? ts_ip_pseudo_header_sum(&s, &d, proto, l4len) : 0;
  ts_wr16(out + h + 2, ts_checksum_finish(ts_checksum_add(sum, out + h, l4len)));
  return h + l4len;
}

TS_TEST(icmp_errors_quoting_a_tracked_flow_go_to_the_netstack) {
  ts_mux *m;
  TS_CHECK_INT(ts_mux_create(8, &m), ==, 0);
  TS_CHECK_INT(open_conn(m, &C4), ==, 0);
  TS_CHECK_INT(open_conn(m, &C6), ==, 0);
  uint8_t q[256], b[512];
  /* Destination unreachable quoting our SYN: the header and 8 bytes (RFC 792). */
  uint32_t qn = tcp_seg(q, L4, LP, R4, RP, ISN, 0, F_SYN, 0, false);
  uint32_t n = icmp_error(b, "10.64.0.1", L4, 3, q, 28);
  TS_CHECK_INT(ts_mux_inbound(m, b, n), ==, TS_MUX_NETSTACK);
  /* Time exceeded from a router on the way. */
  n = icmp_error(b, "10.99.0.1", L4, 11, q, qn);
  TS_CHECK_INT(ts_mux_inbound(m, b, n), ==, TS_MUX_NETSTACK);
  /* Quoting an untracked port, quoting less than 8 bytes of TCP, or sent to another
   * address than the quoted packet's source: utun. */
  qn = tcp_seg(q, L4, LP + 1, R4, RP, ISN, 0, F_SYN, 0, false);
  n = icmp_error(b, R4, L4, 3, q, 28);
  TS_CHECK_INT(ts_mux_inbound(m, b, n), ==, TS_MUX_UTUN);
  qn = tcp_seg(q, L4, LP, R4, RP, ISN, 0, F_SYN, 0, false);
  n = icmp_error(b, R4, L4, 3, q, 27);
  TS_CHECK_INT(ts_mux_inbound(m, b, n), ==, TS_MUX_UTUN);
  n = icmp_error(b, R4, "10.64.0.3", 3, q, 28);
  TS_CHECK_INT(ts_mux_inbound(m, b, n), ==, TS_MUX_UTUN);
  /* IPv6: packet too big quoting our segment; destination unreachable quoting an
   * echo request with a tracked identifier. */
  qn = tcp_seg(q, L6, LP, R6, RP, ISN + 1, IRS + 1, F_ACK, 0, false);
  n = icmp_error(b, R6, L6, 2, q, qn);
  TS_CHECK_INT(ts_mux_inbound(m, b, n), ==, TS_MUX_NETSTACK);
  qn = echo(q, L6, R6, false, 42);
  TS_CHECK_INT(ts_mux_outbound(m, q, qn), ==, 0);
  n = icmp_error(b, R6, L6, 1, q, qn);
  TS_CHECK_INT(ts_mux_inbound(m, b, n), ==, TS_MUX_NETSTACK);
  qn = echo(q, L6, R6, false, 43);
  n = icmp_error(b, R6, L6, 1, q, qn);
  TS_CHECK_INT(ts_mux_inbound(m, b, n), ==, TS_MUX_UTUN);
  TS_CHECK_INT(ts_mux_flow_count(m), ==, 3); /* errors end no flow */
  ts_mux_destroy(m);
}

/* Inserts an IPv6 extension header of `type` (8 bytes) after the fixed header. */
static uint32_t with_ext6(uint8_t *b, uint32_t n, uint8_t type, uint16_t frag) {
  memmove(b + 48, b + 40, n - 40);
  uint8_t *e = b + 40;
  memset(e, 0, 8);
  e[0] = b[6];
  if (type == 44) ts_wr16(e + 2, frag);
  b[6] = type;
  ts_wr16(b + 4, (uint16_t)((b[4] << 8 | b[5]) + 8));
  return n + 8;
}

TS_TEST(ipv6_extension_headers) {
  ts_mux *m;
  TS_CHECK_INT(ts_mux_create(8, &m), ==, 0);
  uint8_t b[512];
  /* The netstack's SYN behind a hop-by-hop header is learnt. */
  uint32_t n = tcp_seg(b, L6, LP, R6, RP, ISN, 0, F_SYN, 0, false);
  n = with_ext6(b, n, 0, 0);
  TS_CHECK_INT(ts_mux_outbound(m, b, n), ==, 0);
  TS_CHECK_INT(ts_mux_flow_count(m), ==, 1);
  /* Destination options, then an atomic fragment header: walked, routed. */
  n = tcp_seg(b, R6, RP, L6, LP, IRS, ISN + 1, F_SYN | F_ACK, 0, false);
  n = with_ext6(b, n, 60, 0);
  n = with_ext6(b, n, 44, 0);
  TS_CHECK_INT(ts_mux_inbound(m, b, n), ==, TS_MUX_NETSTACK);
  /* A real first fragment (more fragments follow) and a later one: utun. */
  n = tcp_seg(b, R6, RP, L6, LP, IRS + 1, ISN + 1, F_ACK, 0, false);
  n = with_ext6(b, n, 44, 1);
  TS_CHECK_INT(ts_mux_inbound(m, b, n), ==, TS_MUX_UTUN);
  n = tcp_seg(b, R6, RP, L6, LP, IRS + 1, ISN + 1, F_ACK, 0, false);
  n = with_ext6(b, n, 44, 8);
  TS_CHECK_INT(ts_mux_inbound(m, b, n), ==, TS_MUX_UTUN);
  /* A header the mux does not walk (ESP, 50): utun, not malformed. */
  n = tcp_seg(b, R6, RP, L6, LP, IRS + 1, ISN + 1, F_ACK, 0, false);
  n = with_ext6(b, n, 60, 0);
  b[40] = 50;
  TS_CHECK_INT(ts_mux_inbound(m, b, n), ==, TS_MUX_UTUN);
  /* An extension header longer than the payload: malformed, utun. */
  n = tcp_seg(b, R6, RP, L6, LP, IRS + 1, ISN + 1, F_ACK, 0, false);
  n = with_ext6(b, n, 60, 0);
  b[41] = 200;
  TS_CHECK_INT(ts_mux_inbound(m, b, n), ==, TS_MUX_UTUN);
  ts_mux_stats st;
  ts_mux_get_stats(m, &st);
  TS_CHECK_INT(st.malformed, ==, 1);
  /* IPv4 fragments are untracked too. */
  TS_CHECK_INT(out_seg(m, &C4, ISN, 0, F_SYN, 0), ==, 0);
  n = tcp_seg(b, R4, RP, L4, LP, IRS, ISN + 1, F_SYN | F_ACK, 0, false);
  b[6] = 0x20; /* MF */
  b[10] = b[11] = 0;
  ts_wr16(b + 10, ts_checksum_finish(ts_checksum_add(0, b, 20)));
  TS_CHECK_INT(ts_mux_inbound(m, b, n), ==, TS_MUX_UTUN);
  ts_mux_destroy(m);
}

TS_TEST(eviction_of_the_least_recently_used_flow_at_capacity) {
  ts_mux *m;
  TS_CHECK_INT(ts_mux_create(4, &m), ==, 0);
  struct conn c[6];
  for (int i = 0; i < 6; i++) c[i] = (struct conn){L4, R4, (uint16_t)(LP + i), RP};
  for (int i = 0; i < 4; i++) TS_CHECK_INT(out_seg(m, &c[i], ISN, 0, F_SYN, 0), ==, 0);
  TS_CHECK_INT(ts_mux_flow_count(m), ==, 4);
  /* Flow 0 answered last: flow 1 is now the least recently used. */
  TS_CHECK_INT(in_seg(m, &c[0], IRS, ISN + 1, F_SYN | F_ACK, 0), ==, TS_MUX_NETSTACK);
  TS_CHECK_INT(out_seg(m, &c[4], ISN, 0, F_SYN, 0), ==, 0);
  TS_CHECK_INT(ts_mux_flow_count(m), ==, 4);
  TS_CHECK_INT(in_seg(m, &c[1], IRS, ISN + 1, F_SYN | F_ACK, 0), ==, TS_MUX_UTUN);
  TS_CHECK_INT(in_seg(m, &c[0], IRS + 1, ISN + 1, F_ACK, 0), ==, TS_MUX_NETSTACK);
  TS_CHECK_INT(in_seg(m, &c[4], IRS, ISN + 1, F_SYN | F_ACK, 0), ==, TS_MUX_NETSTACK);
  /* An echo flow competes for the same slots: flow 2 goes. */
  uint8_t b[256];
  uint32_t n = echo(b, L4, R4, false, 9);
  TS_CHECK_INT(ts_mux_outbound(m, b, n), ==, 0);
  TS_CHECK_INT(in_seg(m, &c[2], IRS, ISN + 1, F_SYN | F_ACK, 0), ==, TS_MUX_UTUN);
  TS_CHECK_INT(ts_mux_flow_count(m), ==, 4);
  ts_mux_stats st;
  ts_mux_get_stats(m, &st);
  TS_CHECK_INT(st.evicted, ==, 2);
  TS_CHECK_INT(st.closed, ==, 0);
  TS_CHECK_INT(st.tracked_tcp, ==, 5);
  TS_CHECK_INT(st.tracked_icmp, ==, 1);
  ts_mux_destroy(m);
  TS_CHECK_INT(ts_mux_create(0, &m), ==, TS_EINVAL);
  TS_CHECK(m == NULL);
}

/* Every prefix of a valid packet, and every single-byte corruption of it, is
 * classified without reading past `len` (ASan build) and never creates a flow from
 * a packet ts_ip_parse refuses. */
TS_TEST(malformed_and_truncated_packets_go_to_utun) {
  ts_mux *m;
  TS_CHECK_INT(ts_mux_create(8, &m), ==, 0);
  TS_CHECK_INT(open_conn(m, &C4), ==, 0);
  TS_CHECK_INT(open_conn(m, &C6), ==, 0);
  uint8_t full[512];
  uint32_t lens[4];
  uint8_t pkts[4][512];
  lens[0] = tcp_seg(pkts[0], R4, RP, L4, LP, IRS + 11, ISN + 11, F_ACK | F_PSH, 12, false);
  lens[1] = tcp_seg(pkts[1], R6, RP, L6, LP, IRS + 11, ISN + 11, F_ACK | F_PSH, 12, false);
  lens[2] = echo(pkts[2], R4, L4, true, 7);
  lens[3] = with_ext6(pkts[3], tcp_seg(pkts[3], R6, RP, L6, LP, IRS + 11, ISN + 11, F_ACK, 0, false),
                      0, 0);
  for (int p = 0; p < 4; p++) {
    for (uint32_t len = 0; len < lens[p]; len++) {
      /* A buffer of exactly len bytes, so a read past it is an ASan error. */
      uint8_t *cut = malloc(len ? len : 1);
      memcpy(cut, pkts[p], len);
      TS_CHECK_INT(ts_mux_inbound(m, len ? cut : NULL, len), ==, TS_MUX_UTUN);
      TS_CHECK_INT(ts_mux_outbound(m, len ? cut : NULL, len), ==, TS_EPARSE);
      free(cut);
    }
    for (uint32_t i = 0; i < lens[p]; i++) {
      for (int bit = 0; bit < 8; bit++) {
        memcpy(full, pkts[p], lens[p]);
        full[i] ^= (uint8_t)(1u << bit);
        ts_mux_route r = ts_mux_inbound(m, full, lens[p]);
        TS_CHECK(r == TS_MUX_UTUN || r == TS_MUX_NETSTACK);
      }
    }
  }
  TS_CHECK(ts_mux_flow_count(m) <= 2);
  /* An IPv4 header with a bad header checksum, and a TCP header whose data offset
   * points past the segment: malformed. */
  uint8_t b[256];
  uint32_t n = tcp_seg(b, R4, RP, L4, LP, IRS + 11, ISN + 11, F_ACK, 0, false);
  b[10] ^= 1;
  TS_CHECK_INT(ts_mux_inbound(m, b, n), ==, TS_MUX_UTUN);
  n = tcp_seg(b, R4, RP, L4, LP, IRS + 11, ISN + 11, F_ACK, 0, false);
  b[20 + 12] = 0xf0;
  TS_CHECK_INT(ts_mux_inbound(m, b, n), ==, TS_MUX_UTUN);
  TS_CHECK_INT(ts_mux_outbound(m, b, n), ==, TS_EPARSE);
  ts_mux_stats st;
  ts_mux_get_stats(m, &st);
  TS_CHECK(st.malformed > 0);
  ts_mux_destroy(m);
}

TS_TEST(reset_forgets_every_flow_and_counter) {
  ts_mux *m;
  TS_CHECK_INT(ts_mux_create(8, &m), ==, 0);
  TS_CHECK_INT(open_conn(m, &C4), ==, 0);
  uint8_t b[256];
  uint32_t n = echo(b, L4, R4, false, 7);
  TS_CHECK_INT(ts_mux_outbound(m, b, n), ==, 0);
  TS_CHECK_INT(ts_mux_flow_count(m), ==, 2);
  ts_mux_reset(m);
  TS_CHECK_INT(ts_mux_flow_count(m), ==, 0);
  TS_CHECK_INT(in_seg(m, &C4, IRS + 11, ISN + 11, F_ACK, 0), ==, TS_MUX_UTUN);
  n = echo(b, R4, L4, true, 7);
  TS_CHECK_INT(ts_mux_inbound(m, b, n), ==, TS_MUX_UTUN);
  ts_mux_stats st;
  ts_mux_get_stats(m, &st);
  TS_CHECK_INT(st.outbound, ==, 0);
  TS_CHECK_INT(st.tracked_tcp, ==, 0);
  TS_CHECK_INT(st.inbound_utun, ==, 2);
  /* Usable again after reset. */
  TS_CHECK_INT(open_conn(m, &C4), ==, 0);
  TS_CHECK_INT(ts_mux_flow_count(m), ==, 1);
  uint8_t l[4] = {10, 64, 0, 2}, r[4] = {10, 64, 0, 1};
  TS_CHECK(ts_mux_is_tracked(m, 4, TS_IPPROTO_TCP, l, LP, r, RP));
  TS_CHECK(!ts_mux_is_tracked(m, 4, TS_IPPROTO_TCP, l, LP, r, RP + 1));
  ts_mux_destroy(m);
}

int main(int argc, char **argv) { return ts_test_main(argc, argv); }
