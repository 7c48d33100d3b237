/* DHCP and DNS: codecs against hand-assembled bytes (RFC 3442's own examples
 * included), malformed inputs, and the server devices in small worlds. */
#include "ts_dhcp.h"
#include "ts_dns.h"
#include "ts_native.h"
#include "ts_net.h"
#include "tstest.h"
#include "tstest_net.h"

static ts_dhcp_route route(const char *dst, uint8_t len, const char *router) {
  ts_dhcp_route r;
  memset(&r, 0, sizeof r);
  r.dst.addr = ts_test_addr(dst);
  r.dst.len = len;
  r.router = ts_test_addr(router);
  return r;
}

/* ================= DHCP codec ================= */

TS_TEST(dhcp_routes_encode_rfc3442_examples) {
  /* RFC 3442 §3, the table of destination descriptors, each followed here by the
   * router 10.0.0.1 */
  static const struct {
    const char *dst;
    uint8_t len;
    uint8_t descriptor[5];
    size_t n;
  } cases[] = {
      {"0.0.0.0", 0, {0}, 1},
      {"10.0.0.0", 8, {8, 10}, 2},
      {"10.0.0.0", 24, {24, 10, 0, 0}, 4},
      {"10.17.0.0", 16, {16, 10, 17}, 3},
      {"10.27.129.0", 24, {24, 10, 27, 129}, 4},
      {"10.229.0.128", 25, {25, 10, 229, 0, 128}, 5},
      {"10.198.122.47", 32, {32, 10, 198, 122, 47}, 5},
  };
  for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
    ts_dhcp_route r = route(cases[i].dst, cases[i].len, "10.0.0.1");
    uint8_t out[16], want[16];
    size_t n;
    TS_CHECK_INT(ts_dhcp_encode_routes(&r, 1, out, sizeof out, &n), ==, TS_OK);
    memcpy(want, cases[i].descriptor, cases[i].n);
    memcpy(want + cases[i].n, (const uint8_t[]){10, 0, 0, 1}, 4);
    TS_CHECK_INT(n, ==, cases[i].n + 4);
    TS_CHECK_MEM(out, want, n);
    ts_dhcp_route back;
    size_t count;
    TS_CHECK_INT(ts_dhcp_decode_routes(out, n, &back, 1, &count), ==, TS_OK);
    TS_CHECK_INT(count, ==, 1);
    TS_CHECK_INT(back.dst.len, ==, cases[i].len);
    TS_CHECK(ts_ipaddr_equal(&back.dst.addr, &r.dst.addr));
    TS_CHECK(ts_ipaddr_equal(&back.router, &r.router));
  }
}

TS_TEST(dhcp_routes_tunnelvision_halves_and_masking) {
  /* TunnelVision's two /1 routes: 1 significant octet each */
  ts_dhcp_route rs[2] = {route("0.0.0.0", 1, "192.168.1.1"), route("128.0.0.0", 1, "192.168.1.1")};
  uint8_t out[32];
  size_t n;
  TS_CHECK_INT(ts_dhcp_encode_routes(rs, 2, out, sizeof out, &n), ==, TS_OK);
  static const uint8_t want[] = {1, 0x00, 192, 168, 1, 1, 1, 0x80, 192, 168, 1, 1};
  TS_CHECK_INT(n, ==, sizeof want);
  TS_CHECK_MEM(out, want, sizeof want);
  /* bits past the width are not sent, and are masked when received */
  ts_dhcp_route sloppy = route("10.229.0.255", 25, "0.0.0.0");
  TS_CHECK_INT(ts_dhcp_encode_routes(&sloppy, 1, out, sizeof out, &n), ==, TS_OK);
  TS_CHECK_INT(out[4], ==, 0x80);
  static const uint8_t stray[] = {25, 10, 229, 0, 0xff, 0, 0, 0, 0};
  ts_dhcp_route back;
  size_t count;
  TS_CHECK_INT(ts_dhcp_decode_routes(stray, sizeof stray, &back, 1, &count), ==, TS_OK);
  TS_CHECK_INT(back.dst.addr.bytes[3], ==, 0x80);
  /* too small a buffer, an impossible width */
  TS_CHECK_INT(ts_dhcp_encode_routes(rs, 2, out, 11, &n), ==, TS_EFULL);
  rs[0].dst.len = 33;
  TS_CHECK_INT(ts_dhcp_encode_routes(rs, 1, out, sizeof out, &n), ==, TS_EINVAL);
}

TS_TEST(dhcp_routes_decode_rejects_bad_encodings) {
  ts_dhcp_route r[2];
  size_t n;
  static const uint8_t width33[] = {33, 1, 2, 3, 4, 5, 10, 0, 0, 1};
  static const uint8_t short_router[] = {8, 10, 10, 0, 0};
  static const uint8_t short_dest[] = {24, 10, 0};
  static const uint8_t three[] = {0, 1, 1, 1, 1, 0, 2, 2, 2, 2, 0, 3, 3, 3, 3};
  TS_CHECK_INT(ts_dhcp_decode_routes(width33, sizeof width33, r, 2, &n), ==, TS_EPARSE);
  TS_CHECK_INT(ts_dhcp_decode_routes(short_router, sizeof short_router, r, 2, &n), ==, TS_EPARSE);
  TS_CHECK_INT(ts_dhcp_decode_routes(short_dest, sizeof short_dest, r, 2, &n), ==, TS_EPARSE);
  TS_CHECK_INT(ts_dhcp_decode_routes(three, sizeof three, r, 2, &n), ==, TS_EFULL);
  TS_CHECK_INT(ts_dhcp_decode_routes(three, 10, r, 2, &n), ==, TS_OK);
  TS_CHECK_INT(n, ==, 2);
}

/* An OFFER assembled by hand from RFC 2131 §2 figure 1 and RFC 2132/3442. */
static size_t hand_offer(uint8_t *p) {
  memset(p, 0, 400);
  p[0] = 2;                   /* op BOOTREPLY */
  p[1] = 1;                   /* htype Ethernet */
  p[2] = 6;                   /* hlen */
  p[4] = 0xde, p[5] = 0xad, p[6] = 0xbe, p[7] = 0xef; /* xid */
  p[10] = 0x80;               /* flags: broadcast */
  p[16] = 203, p[17] = 0, p[18] = 113, p[19] = 7;     /* yiaddr: a public range */
  static const uint8_t mac[6] = {0x02, 0, 0, 0, 0, 0x01};
  memcpy(p + 28, mac, 6);
  p[236] = 0x63, p[237] = 0x82, p[238] = 0x53, p[239] = 0x63; /* magic cookie */
  static const uint8_t options[] = {
      53, 1, 2,                                 /* OFFER */
      54, 4, 203, 0, 113, 1,                    /* server id */
      51, 4, 0, 0, 0, 30,                       /* lease 30 s */
      58, 4, 0, 0, 0, 15,                       /* T1 */
      59, 4, 0, 0, 0, 26,                       /* T2 */
      1, 4, 255, 255, 255, 0,                   /* subnet mask */
      121, 12, 1, 0, 203, 0, 113, 1, 1, 128, 203, 0, 113, 1, /* two /1 halves */
      3, 4, 203, 0, 113, 1,                     /* router */
      6, 8, 203, 0, 113, 1, 9, 9, 9, 9,         /* DNS */
      15, 3, 'l', 'a', 'n',                     /* domain */
      255};
  memcpy(p + 240, options, sizeof options);
  return 240 + sizeof options;
}

static void offer_message(ts_dhcp_message *m) {
  ts_dhcp_message_init(m, TS_DHCP_OP_BOOTREPLY, TS_DHCP_OFFER, 0xdeadbeef);
  m->flags = TS_DHCP_FLAG_BROADCAST;
  m->yiaddr = ts_test_addr("203.0.113.7");
  m->chaddr[0] = 0x02;
  m->chaddr[5] = 0x01;
  m->server_id = ts_test_addr("203.0.113.1");
  m->has_lease_time = m->has_renewal_time = m->has_rebinding_time = true;
  m->lease_time = 30;
  m->renewal_time = 15;
  m->rebinding_time = 26;
  m->subnet_mask = ts_test_addr("255.255.255.0");
  m->has_classless = true;
  m->routes[0] = route("0.0.0.0", 1, "203.0.113.1");
  m->routes[1] = route("128.0.0.0", 1, "203.0.113.1");
  m->route_count = 2;
  m->routers[0] = ts_test_addr("203.0.113.1");
  m->router_count = 1;
  m->dns[0] = ts_test_addr("203.0.113.1");
  m->dns[1] = ts_test_addr("9.9.9.9");
  m->dns_count = 2;
  strcpy(m->domain, "lan");
}

TS_TEST(dhcp_encode_matches_hand_assembled_offer) {
  uint8_t want[400], out[600];
  size_t want_len = hand_offer(want), len;
  ts_dhcp_message m;
  offer_message(&m);
  TS_CHECK_INT(ts_dhcp_encode(&m, out, sizeof out, &len), ==, TS_OK);
  TS_CHECK_INT(len, ==, want_len);
  TS_CHECK_MEM(out, want, len);
  TS_CHECK_INT(ts_dhcp_encode(&m, out, len - 1, &len), ==, TS_EFULL);
}

TS_TEST(dhcp_decode_hand_assembled_offer) {
  uint8_t p[400];
  size_t len = hand_offer(p);
  ts_dhcp_message m;
  TS_CHECK_INT(ts_dhcp_decode(p, len, &m), ==, TS_OK);
  TS_CHECK_INT(m.op, ==, TS_DHCP_OP_BOOTREPLY);
  TS_CHECK_INT(m.type, ==, TS_DHCP_OFFER);
  TS_CHECK_INT(m.xid, ==, 0xdeadbeef);
  TS_CHECK_INT(m.flags, ==, TS_DHCP_FLAG_BROADCAST);
  ts_ipaddr yi = ts_test_addr("203.0.113.7");
  TS_CHECK(ts_ipaddr_equal(&m.yiaddr, &yi));
  TS_CHECK_INT(m.lease_time, ==, 30);
  TS_CHECK_INT(m.route_count, ==, 2);
  TS_CHECK_INT(m.routes[1].dst.addr.bytes[0], ==, 128);
  TS_CHECK_INT(m.dns_count, ==, 2);
  TS_CHECK_STR(m.domain, "lan");

  ts_dhcp_offer o;
  TS_CHECK_INT(ts_dhcp_parse_offer(p, len, &o), ==, TS_OK);
  TS_CHECK_INT(o.address.len, ==, 24);
  TS_CHECK(ts_ipaddr_equal(&o.address.addr, &yi));
  /* RFC 3442: with option 121 the router option is ignored */
  TS_CHECK(o.classless);
  TS_CHECK(o.router_ignored);
  TS_CHECK_INT(o.route_count, ==, 2);
  TS_CHECK_INT(o.routes[0].dst.len, ==, 1);
  TS_CHECK_INT(o.renewal_time, ==, 15);
  TS_CHECK_INT(o.rebinding_time, ==, 26);

  /* without 121 the router becomes the default route; T1/T2 default (§4.4.5) */
  ts_dhcp_message mm;
  offer_message(&mm);
  mm.has_classless = false;
  mm.route_count = 0;
  mm.has_renewal_time = mm.has_rebinding_time = false;
  mm.lease_time = 100;
  uint8_t out[600];
  size_t n;
  TS_CHECK_INT(ts_dhcp_encode(&mm, out, sizeof out, &n), ==, TS_OK);
  TS_CHECK_INT(ts_dhcp_parse_offer(out, n, &o), ==, TS_OK);
  TS_CHECK(!o.classless && !o.router_ignored);
  TS_CHECK_INT(o.route_count, ==, 1);
  TS_CHECK_INT(o.routes[0].dst.len, ==, 0);
  ts_ipaddr gw = ts_test_addr("203.0.113.1");
  TS_CHECK(ts_ipaddr_equal(&o.routes[0].router, &gw));
  TS_CHECK_INT(o.renewal_time, ==, 50);
  TS_CHECK_INT(o.rebinding_time, ==, 87);

  /* a NAK is not an offer; a non-contiguous mask is malformed */
  mm.type = TS_DHCP_NAK;
  TS_CHECK_INT(ts_dhcp_encode(&mm, out, sizeof out, &n), ==, TS_OK);
  TS_CHECK_INT(ts_dhcp_parse_offer(out, n, &o), ==, TS_ENOENT);
  mm.type = TS_DHCP_ACK;
  mm.subnet_mask = ts_test_addr("255.0.255.0");
  TS_CHECK_INT(ts_dhcp_encode(&mm, out, sizeof out, &n), ==, TS_OK);
  TS_CHECK_INT(ts_dhcp_parse_offer(out, n, &o), ==, TS_EPARSE);
}

TS_TEST(dhcp_round_trip_request) {
  ts_dhcp_message m, back;
  ts_dhcp_message_init(&m, TS_DHCP_OP_BOOTREQUEST, TS_DHCP_REQUEST, 42);
  m.chaddr[0] = 0xaa;
  m.server_id = ts_test_addr("192.168.1.1");
  m.requested_ip = ts_test_addr("192.168.1.100");
  static const uint8_t params[] = {1, 3, 6, 15, 121};
  memcpy(m.params, params, sizeof params);
  m.param_count = sizeof params;
  uint8_t out[600];
  size_t n;
  TS_CHECK_INT(ts_dhcp_encode(&m, out, sizeof out, &n), ==, TS_OK);
  TS_CHECK_INT(ts_dhcp_decode(out, n, &back), ==, TS_OK);
  TS_CHECK_MEM(&m, &back, sizeof m);
}

TS_TEST(dhcp_decode_rejects_malformed) {
  uint8_t p[400];
  size_t len = hand_offer(p);
  ts_dhcp_message m;
  /* every strict prefix fails: the fixed part, then an option or END is missing */
  for (size_t cut = 0; cut < len; cut++) {
    int rc = ts_dhcp_decode(p, cut, &m);
    TS_CHECK_INT(rc, ==, TS_ETRUNC);
  }
  uint8_t q[400];
  memcpy(q, p, len);
  q[236] ^= 1; /* cookie */
  TS_CHECK_INT(ts_dhcp_decode(q, len, &m), ==, TS_EPARSE);
  memcpy(q, p, len);
  q[0] = 3; /* op */
  TS_CHECK_INT(ts_dhcp_decode(q, len, &m), ==, TS_EPARSE);
  memcpy(q, p, len);
  q[2] = 17; /* hlen */
  TS_CHECK_INT(ts_dhcp_decode(q, len, &m), ==, TS_EPARSE);
  memcpy(q, p, len);
  q[240 + 1] = 2; /* message type of length 2 */
  TS_CHECK_INT(ts_dhcp_decode(q, len, &m), ==, TS_EPARSE);
  memcpy(q, p, len);
  q[242] = 9; /* message type 9 does not exist */
  TS_CHECK_INT(ts_dhcp_decode(q, len, &m), ==, TS_EPARSE);
  memcpy(q, p, len);
  q[240 + 3 + 6 + 6 + 6 + 6 + 1] = 3; /* subnet mask of length 3 */
  TS_CHECK_INT(ts_dhcp_decode(q, len, &m), ==, TS_EPARSE);
  memcpy(q, p, len);
  q[240 + 3 + 6 + 6 + 6 + 6 + 6 + 1] = 200; /* option 121 runs past the message */
  TS_CHECK_INT(ts_dhcp_decode(q, len, &m), ==, TS_ETRUNC);
  memcpy(q, p, len);
  q[240 + 3 + 6 + 6 + 6 + 6 + 6 + 1] = 4; /* option 121 shorter than its minimum */
  TS_CHECK_INT(ts_dhcp_decode(q, len, &m), ==, TS_EPARSE);
  /* a duplicated option, and an option header cut after its code */
  static const uint8_t dup[] = {53, 1, 1, 53, 1, 3, 255};
  memcpy(q, p, 240);
  memcpy(q + 240, dup, sizeof dup);
  TS_CHECK_INT(ts_dhcp_decode(q, 240 + sizeof dup, &m), ==, TS_EPARSE);
  q[240] = 53;
  TS_CHECK_INT(ts_dhcp_decode(q, 241, &m), ==, TS_ETRUNC);
  /* pads then END, and unknown options skipped, are fine */
  static const uint8_t padded[] = {0, 0, 200, 2, 9, 9, 0, 255};
  memcpy(q + 240, padded, sizeof padded);
  TS_CHECK_INT(ts_dhcp_decode(q, 240 + sizeof padded, &m), ==, TS_OK);
  TS_CHECK_INT(m.type, ==, 0);
}

/* ================= DNS codec ================= */

static const uint8_t query_bytes[] = {
    0x12, 0x34, 0x01, 0x00, 0, 1, 0, 0, 0, 0, 0, 0,
    7, 'e', 'x', 'a', 'm', 'p', 'l', 'e', 3, 'c', 'o', 'm', 0, 0, 1, 0, 1};

static const uint8_t response_bytes[] = {
    0x12, 0x34, 0x85, 0x00, 0, 1, 0, 1, 0, 0, 0, 0,
    7, 'e', 'x', 'a', 'm', 'p', 'l', 'e', 3, 'c', 'o', 'm', 0, 0, 1, 0, 1,
    0xc0, 0x0c, 0, 1, 0, 1, 0, 0, 0x0e, 0x10, 0, 4, 93, 184, 216, 34};

TS_TEST(dns_query_encodes_byte_exact) {
  ts_dns_message m;
  ts_dns_query_init(&m, 0x1234, "example.com", TS_DNS_TYPE_A);
  uint8_t out[512];
  size_t n;
  TS_CHECK_INT(ts_dns_encode(&m, out, sizeof out, &n), ==, TS_OK);
  TS_CHECK_INT(n, ==, sizeof query_bytes);
  TS_CHECK_MEM(out, query_bytes, n);
  /* a trailing dot is the same name */
  ts_dns_query_init(&m, 0x1234, "example.com.", TS_DNS_TYPE_A);
  TS_CHECK_INT(ts_dns_encode(&m, out, sizeof out, &n), ==, TS_OK);
  TS_CHECK_MEM(out, query_bytes, sizeof query_bytes);
}

TS_TEST(dns_response_compresses_to_question_and_decodes) {
  ts_dns_message m;
  ts_dns_query_init(&m, 0x1234, "example.com", TS_DNS_TYPE_A);
  m.flags = TS_DNS_FLAG_QR | TS_DNS_FLAG_AA | TS_DNS_FLAG_RD;
  ts_dns_record *a = &m.answers[m.answer_count++];
  strcpy(a->name, "example.com");
  a->type = TS_DNS_TYPE_A;
  a->klass = TS_DNS_CLASS_IN;
  a->ttl = 3600;
  a->addr = ts_test_addr("93.184.216.34");
  uint8_t out[512];
  size_t n;
  TS_CHECK_INT(ts_dns_encode(&m, out, sizeof out, &n), ==, TS_OK);
  TS_CHECK_INT(n, ==, sizeof response_bytes);
  TS_CHECK_MEM(out, response_bytes, n);
  ts_dns_message back;
  TS_CHECK_INT(ts_dns_decode(response_bytes, sizeof response_bytes, &back), ==, TS_OK);
  TS_CHECK_MEM(&back, &m, sizeof m);
}

TS_TEST(dns_decodes_aaaa_and_cname_with_nested_pointers) {
  /* www.example.com CNAME edge.example.com (target compressed to "edge" + ptr to
   * example.com at offset 16), then edge.example.com AAAA 2001:db8::1 whose owner
   * is a pointer to the CNAME's target (which itself holds a pointer) */
  static const uint8_t p[] = {
      0, 7, 0x81, 0x80, 0, 1, 0, 2, 0, 0, 0, 0,
      3, 'w', 'w', 'w', 7, 'e', 'x', 'a', 'm', 'p', 'l', 'e', 3, 'c', 'o', 'm', 0, 0, 28, 0, 1,
      /* 33 */ 0xc0, 12, 0, 5, 0, 1, 0, 0, 0, 60, 0, 7, /* 45 */ 4, 'e', 'd', 'g', 'e', 0xc0, 16,
      /* 52 */ 0xc0, 45, 0, 28, 0, 1, 0, 0, 0, 30, 0, 16,
      0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1};
  ts_dns_message m;
  TS_CHECK_INT(ts_dns_decode(p, sizeof p, &m), ==, TS_OK);
  TS_CHECK_INT(m.answer_count, ==, 2);
  TS_CHECK_STR(m.questions[0].name, "www.example.com");
  TS_CHECK_INT(m.answers[0].type, ==, TS_DNS_TYPE_CNAME);
  TS_CHECK_STR(m.answers[0].target, "edge.example.com");
  TS_CHECK_STR(m.answers[1].name, "edge.example.com");
  ts_ipaddr want = ts_test_addr("2001:db8::1");
  TS_CHECK(ts_ipaddr_equal(&m.answers[1].addr, &want));
  TS_CHECK_INT(m.answers[1].ttl, ==, 30);
  /* re-encoded (names in full but the first owner) and decoded: the same */
  uint8_t out[512];
  size_t n;
  ts_dns_message again;
  TS_CHECK_INT(ts_dns_encode(&m, out, sizeof out, &n), ==, TS_OK);
  TS_CHECK_INT(ts_dns_decode(out, n, &again), ==, TS_OK);
  TS_CHECK_MEM(&again, &m, sizeof m);
}

TS_TEST(dns_decode_rejects_malformed) {
  ts_dns_message m;
  for (size_t cut = 0; cut < sizeof response_bytes; cut++)
    TS_CHECK_INT(ts_dns_decode(response_bytes, cut, &m), ==, TS_ETRUNC);
  uint8_t q[64];
  /* a pointer to itself, a two-pointer loop, a forward pointer */
  static const uint8_t self_loop[] = {0, 1, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0xc0, 12, 0, 1, 0, 1};
  TS_CHECK_INT(ts_dns_decode(self_loop, sizeof self_loop, &m), ==, TS_EPARSE);
  static const uint8_t two_loop[] = {0, 1, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0,
                                     1, 'a', 0xc0, 17, 1, 'b', 0xc0, 12, 0, 1, 0, 1};
  TS_CHECK_INT(ts_dns_decode(two_loop, sizeof two_loop, &m), ==, TS_EPARSE);
  static const uint8_t forward[] = {0, 1, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0,
                                    0xc0, 14, 1, 'a', 0, 0, 1, 0, 1};
  TS_CHECK_INT(ts_dns_decode(forward, sizeof forward, &m), ==, TS_EPARSE);
  /* reserved label types 01 and 10 */
  memcpy(q, query_bytes, sizeof query_bytes);
  q[12] = 0x47;
  TS_CHECK_INT(ts_dns_decode(q, sizeof query_bytes, &m), ==, TS_EPARSE);
  q[12] = 0x87;
  TS_CHECK_INT(ts_dns_decode(q, sizeof query_bytes, &m), ==, TS_EPARSE);
  /* a label claiming more bytes than there are */
  memcpy(q, query_bytes, sizeof query_bytes);
  q[12] = 60;
  TS_CHECK_INT(ts_dns_decode(q, sizeof query_bytes, &m), ==, TS_ETRUNC);
  /* A with rdlength 5, AAAA with 4 */
  uint8_t r[64];
  memcpy(r, response_bytes, sizeof response_bytes);
  r[sizeof response_bytes - 5] = 5;
  uint8_t extra[65];
  memcpy(extra, r, sizeof response_bytes);
  extra[sizeof response_bytes] = 0;
  TS_CHECK_INT(ts_dns_decode(extra, sizeof response_bytes + 1, &m), ==, TS_EPARSE);
  memcpy(r, response_bytes, sizeof response_bytes);
  r[32] = 28; /* the answer says AAAA but carries 4 bytes */
  TS_CHECK_INT(ts_dns_decode(r, sizeof response_bytes, &m), ==, TS_EPARSE);
  /* more questions than stored */
  memcpy(q, query_bytes, sizeof query_bytes);
  q[5] = 5;
  TS_CHECK_INT(ts_dns_decode(q, sizeof query_bytes, &m), ==, TS_EFULL);
}

TS_TEST(dns_names_over_the_limits) {
  /* a 256-octet wire name made of pointers-free labels is rejected on decode */
  uint8_t p[12 + 300];
  memset(p, 0, sizeof p);
  p[5] = 1;
  size_t at = 12;
  for (int i = 0; i < 5; i++) { /* 5 * 64 = 320 > 255 */
    p[at++] = 63;
    memset(p + at, 'a', 63);
    at += 63;
    if (at > sizeof p - 70) break;
  }
  p[at++] = 0;
  ts_dns_message m;
  TS_CHECK_INT(ts_dns_decode(p, at + 4, &m), ==, TS_EPARSE);
  /* encoder: a 64-octet label, an empty label, a name over 255 octets */
  char name[300];
  memset(name, 'a', 64);
  name[64] = 0;
  ts_dns_query_init(&m, 1, name, TS_DNS_TYPE_A);
  uint8_t out[600];
  size_t n;
  TS_CHECK_INT(ts_dns_encode(&m, out, sizeof out, &n), ==, TS_EINVAL);
  ts_dns_query_init(&m, 1, "a..b", TS_DNS_TYPE_A);
  TS_CHECK_INT(ts_dns_encode(&m, out, sizeof out, &n), ==, TS_EINVAL);
  for (int i = 0; i < 4; i++) {
    memset(name + 64 * i, 'b', 63);
    name[64 * i + 63] = '.';
  }
  name[TS_DNS_NAME_TEXT_MAX] = 0; /* labels of 63, 63, 63, 61: the longest name, wire 255 */
  ts_dns_query_init(&m, 1, name, TS_DNS_TYPE_A);
  TS_CHECK_INT(ts_dns_encode(&m, out, sizeof out, &n), ==, TS_OK);
  TS_CHECK_INT(n, ==, 12 + 255 + 4);
  ts_dns_message back;
  TS_CHECK_INT(ts_dns_decode(out, n, &back), ==, TS_OK);
  TS_CHECK_STR(back.questions[0].name, name);
  /* one octet more in the last label: wire 256 */
  uint8_t longer[12 + 256 + 4];
  memcpy(longer, out, 12 + 3 * 64);
  longer[12 + 3 * 64] = 62;
  memset(longer + 12 + 3 * 64 + 1, 'b', 62);
  memset(longer + 12 + 256 - 1, 0, 5);
  longer[12 + 256 + 1] = 1;
  longer[12 + 256 + 3] = 1;
  TS_CHECK_INT(ts_dns_decode(longer, sizeof longer, &back), ==, TS_EPARSE);
  /* the root and a case-insensitive compare */
  ts_dns_query_init(&m, 1, "", TS_DNS_TYPE_A);
  TS_CHECK_INT(ts_dns_encode(&m, out, sizeof out, &n), ==, TS_OK);
  TS_CHECK_INT(n, ==, 12 + 1 + 4);
  TS_CHECK(ts_dns_name_equal("Relay.Example.", "relay.example"));
  TS_CHECK(!ts_dns_name_equal("relay.example", "relay.example.net"));
}

/* ================= worlds ================= */

struct lan {
  ts_world *w;
  ts_net *net;
  ts_host *ap, *phone;
  uint32_t ap_if, phone_if;
  ts_dhcp_server *dhcp;
};

/* phone (no address; default route out of en0) -- ap (192.168.1.1/24) */
static int build_lan(struct lan *l, const ts_dhcp_server_config *cfg) {
  memset(l, 0, sizeof *l);
  if (ts_world_create(&l->w, &ts_native_backend, 1)) return -1;
  ts_net_create(l->w, &l->net);
  ts_net_add_host(l->net, "ap", &l->ap);
  ts_net_add_host(l->net, "phone", &l->phone);
  ts_ipprefix a = ts_test_prefix("192.168.1.1/24");
  ts_host_add_interface(l->ap, "wlan0", &a, 1, &l->ap_if);
  /* no address yet; a non-NULL array because host.c memcpy()s even zero entries */
  ts_ipprefix none[1];
  ts_host_add_interface(l->phone, "en0", none, 0, &l->phone_if);
  ts_link_params p = {.delay = TS_MS, .mtu = 1500, .queue_limit = 100, .up = true};
  ts_link_id id;
  ts_net_connect(l->net, "wifi", &p, l->phone, l->phone_if, l->ap, l->ap_if, &id);
  ts_ipprefix any = ts_test_prefix("0.0.0.0/0");
  ts_host_add_route(l->phone, &any, l->phone_if);
  ts_dhcp_server_config c = *cfg;
  c.iface = l->ap_if;
  return ts_dhcp_server_create(l->ap, &c, &l->dhcp);
}

static ts_dhcp_server_config lan_config(void) {
  ts_dhcp_server_config c;
  memset(&c, 0, sizeof c);
  c.pool_first = ts_test_addr("192.168.1.100");
  c.pool_last = ts_test_addr("192.168.1.101");
  c.prefix_len = 24;
  c.router = ts_test_addr("192.168.1.1");
  c.dns[0] = ts_test_addr("192.168.1.1");
  c.dns_count = 1;
  c.domain = "home";
  c.routes[0] = route("0.0.0.0", 1, "192.168.1.1");
  c.routes[1] = route("128.0.0.0", 1, "192.168.1.1");
  c.route_count = 2;
  c.lease_seconds = 10;
  return c;
}

enum client_state { C_INIT, C_SELECTING, C_REQUESTING, C_BOUND, C_RENEWING };

/* A minimal RFC 2131 client on a ts_host, enough to drive the server. */
struct client {
  struct lan *lan;
  ts_host *h;
  uint8_t mac[6];
  uint32_t xid;
  ts_ipaddr to;           /* where DISCOVER and REQUEST go */
  bool broadcast_flag, renew;
  enum client_state state;
  ts_dhcp_offer lease;    /* the last ACK */
  ts_time bound_at;
  uint32_t offers, acks, naks;
  ts_ipaddr last_dst;     /* destination of the last reply seen */
  ts_ipaddr force_request; /* family 4: request this address instead of the offer's */
};

static void client_send(struct client *c, const ts_dhcp_message *m, const ts_ipaddr *src,
                        const ts_ipaddr *dst) {
  uint8_t buf[600];
  size_t n;
  if (ts_dhcp_encode(m, buf, sizeof buf, &n)) return;
  ts_world *w = c->lan->w;
  ts_packet *p = ts_packet_alloc(ts_world_pool(w), 700);
  p->len = ts_ip_build_udp(p->data, 700, src, dst, TS_DHCP_CLIENT_PORT, TS_DHCP_SERVER_PORT, buf,
                           (uint32_t)n);
  ts_host_send(c->h, p);
}

static void client_message(struct client *c, ts_dhcp_message *m, uint8_t type) {
  ts_dhcp_message_init(m, TS_DHCP_OP_BOOTREQUEST, type, c->xid);
  memcpy(m->chaddr, c->mac, 6);
  if (c->broadcast_flag) m->flags = TS_DHCP_FLAG_BROADCAST;
  static const uint8_t params[] = {1, 3, 6, 15, 121};
  memcpy(m->params, params, sizeof params);
  m->param_count = sizeof params;
}

static void client_discover(void *obj, uint64_t arg) {
  struct client *c = obj;
  (void)arg;
  ts_dhcp_message m;
  c->xid++;
  client_message(c, &m, TS_DHCP_DISCOVER);
  ts_ipaddr zero = ts_test_addr("0.0.0.0");
  c->state = C_SELECTING;
  client_send(c, &m, &zero, &c->to);
}

static void client_renew(void *obj, uint64_t arg) {
  struct client *c = obj;
  (void)arg;
  if (c->state != C_BOUND) return;
  ts_dhcp_message m;
  c->xid++;
  client_message(c, &m, TS_DHCP_REQUEST);
  m.ciaddr = c->lease.address.addr; /* RENEWING: ciaddr, no server id or requested ip */
  c->state = C_RENEWING;
  client_send(c, &m, &c->lease.address.addr, &c->lease.server_id);
}

static void client_receive(struct client *c, const ts_ip_info *info, const uint8_t *payload,
                           uint32_t len) {
  ts_dhcp_message m;
  if (ts_dhcp_decode(payload, len, &m) || m.xid != c->xid || memcmp(m.chaddr, c->mac, 6)) return;
  c->last_dst = info->dst;
  if (m.type == TS_DHCP_NAK) {
    c->naks++;
    c->state = C_INIT;
    return;
  }
  ts_dhcp_offer o;
  if (ts_dhcp_parse_offer(payload, len, &o)) return;
  if (o.type == TS_DHCP_OFFER && c->state == C_SELECTING) {
    c->offers++;
    ts_dhcp_message r;
    client_message(c, &r, TS_DHCP_REQUEST);
    r.server_id = o.server_id;
    r.requested_ip = c->force_request.family == 4 ? c->force_request : o.address.addr;
    c->state = C_REQUESTING;
    ts_ipaddr zero = ts_test_addr("0.0.0.0");
    client_send(c, &r, &zero, &c->to);
  } else if (o.type == TS_DHCP_ACK && (c->state == C_REQUESTING || c->state == C_RENEWING)) {
    c->acks++;
    c->lease = o;
    c->state = C_BOUND;
    c->bound_at = ts_world_now(c->lan->w);
    if (c->renew)
      ts_world_schedule_in(c->lan->w, (ts_time)o.renewal_time * TS_SEC, client_renew, c, 0, NULL);
  }
}

/* Replies to yiaddr or 255.255.255.255 are not for an address the phone owns yet:
 * the transit hook is where a client without an address sees them. */
static bool client_transit(void *ctx, ts_host *h, uint32_t iface_in, ts_packet *pkt) {
  struct client *c = ctx;
  (void)iface_in;
  ts_ip_info info;
  if (ts_ip_parse(pkt->data, pkt->len, &info) || info.proto != TS_IPPROTO_UDP ||
      info.dport != TS_DHCP_CLIENT_PORT || info.l4_len < TS_UDP_HEADER)
    return false;
  client_receive(c, &info, pkt->data + info.l4_offset + TS_UDP_HEADER, info.l4_len - TS_UDP_HEADER);
  ts_packet_free(ts_world_pool(ts_host_world(h)), pkt);
  return true;
}

static void client_udp(void *ctx, ts_host *h, const ts_ip_info *info, const uint8_t *payload,
                       uint32_t len) {
  (void)h;
  client_receive(ctx, info, payload, len);
}

static void client_init(struct client *c, struct lan *l, ts_host *h, uint8_t id) {
  memset(c, 0, sizeof *c);
  c->lan = l;
  c->h = h;
  c->mac[0] = 0x02;
  c->mac[5] = id;
  c->xid = (uint32_t)id << 24;
  c->to = ts_test_addr("192.168.1.1"); /* see dhcp_broadcast_discover_reaches_server */
  ts_host_set_transit_hook(h, client_transit, c);
  ts_host_bind_udp(h, TS_DHCP_CLIENT_PORT, client_udp, c);
}

TS_TEST(dhcp_world_lease_with_classless_routes) {
  struct lan l;
  ts_dhcp_server_config cfg = lan_config();
  TS_CHECK_INT(build_lan(&l, &cfg), ==, TS_OK);
  struct client c;
  client_init(&c, &l, l.phone, 1);
  ts_world_schedule(l.w, TS_SEC, client_discover, &c, 0, NULL);
  ts_world_run_until(l.w, 2 * TS_SEC);
  TS_CHECK_INT(c.state, ==, C_BOUND);
  TS_CHECK_INT(c.offers, ==, 1);
  TS_CHECK_INT(c.acks, ==, 1);
  ts_ipaddr want = ts_test_addr("192.168.1.100");
  TS_CHECK(ts_ipaddr_equal(&c.lease.address.addr, &want));
  TS_CHECK_INT(c.lease.address.len, ==, 24);
  TS_CHECK(ts_ipaddr_equal(&c.last_dst, &want)); /* no broadcast flag: unicast to yiaddr */
  TS_CHECK(c.lease.classless && c.lease.router_ignored);
  TS_CHECK_INT(c.lease.route_count, ==, 2);
  TS_CHECK_INT(c.lease.routes[0].dst.len, ==, 1);
  TS_CHECK_INT(c.lease.routes[1].dst.addr.bytes[0], ==, 128);
  ts_ipaddr gw = ts_test_addr("192.168.1.1");
  TS_CHECK(ts_ipaddr_equal(&c.lease.routes[1].router, &gw));
  TS_CHECK(ts_ipaddr_equal(&c.lease.dns[0], &gw));
  TS_CHECK_STR(c.lease.domain, "home");
  TS_CHECK_INT(c.lease.lease_time, ==, 10);
  TS_CHECK_INT(c.lease.renewal_time, ==, 5);
  TS_CHECK_INT(c.lease.rebinding_time, ==, 8);
  ts_ipaddr bound;
  ts_time expires;
  TS_CHECK(ts_dhcp_server_lookup(l.dhcp, c.mac, 6, &bound, &expires));
  TS_CHECK(ts_ipaddr_equal(&bound, &want));
  TS_CHECK_INT(expires, ==, c.bound_at - TS_MS + 10 * TS_SEC); /* acked one link delay earlier */
  ts_dhcp_server_stats st;
  ts_dhcp_server_stats_get(l.dhcp, &st);
  TS_CHECK_INT(st.discovers, ==, 1);
  TS_CHECK_INT(st.offers, ==, 1);
  TS_CHECK_INT(st.requests, ==, 1);
  TS_CHECK_INT(st.acks, ==, 1);
  TS_CHECK_INT(st.naks, ==, 0);
  TS_CHECK_INT(ts_net_unrouted(l.net), ==, 0);
  ts_world_destroy(l.w);
}

TS_TEST(dhcp_world_broadcast_flag_gets_broadcast_reply) {
  struct lan l;
  ts_dhcp_server_config cfg = lan_config();
  TS_CHECK_INT(build_lan(&l, &cfg), ==, TS_OK);
  struct client c;
  client_init(&c, &l, l.phone, 1);
  c.broadcast_flag = true;
  ts_world_schedule(l.w, 0, client_discover, &c, 0, NULL);
  ts_world_run_until(l.w, TS_SEC);
  TS_CHECK_INT(c.state, ==, C_BOUND);
  ts_ipaddr bcast = ts_test_addr("255.255.255.255");
  TS_CHECK(ts_ipaddr_equal(&c.last_dst, &bcast));
  ts_world_destroy(l.w);
}

TS_TEST(dhcp_world_allocation_order_and_exhaustion) {
  /* three phones behind one AP: .100, .101 in the order they ask, then none */
  struct lan l;
  ts_dhcp_server_config cfg = lan_config();
  TS_CHECK_INT(build_lan(&l, &cfg), ==, TS_OK);
  ts_host *more[2];
  struct client c[3];
  client_init(&c[0], &l, l.phone, 1);
  for (int i = 0; i < 2; i++) {
    char name[16];
    snprintf(name, sizeof name, "phone%d", i + 2);
    ts_net_add_host(l.net, name, &more[i]);
    uint32_t hi, ai;
    ts_ipprefix extra = ts_test_prefix("192.168.1.1/24");
    ts_ipprefix none[1];
    ts_host_add_interface(more[i], "en0", none, 0, &hi);
    /* a second AP interface per phone: links are point to point */
    TS_CHECK_INT(ts_host_add_interface(l.ap, name, &extra, 1, &ai), ==, TS_OK);
    ts_link_params p = {.delay = TS_MS, .mtu = 1500, .queue_limit = 100, .up = true};
    ts_link_id id;
    ts_net_connect(l.net, name, &p, more[i], hi, l.ap, ai, &id);
    ts_ipprefix any = ts_test_prefix("0.0.0.0/0");
    ts_host_add_route(more[i], &any, hi);
    client_init(&c[i + 1], &l, more[i], (uint8_t)(i + 2));
    c[i + 1].broadcast_flag = true;
  }
  /* The AP's interfaces share one subnet and its routes (the broadcast one too)
   * pick wlan0, so phones 2 and 3 never hear their OFFERs: what is checked here is
   * the server's allocation and offer hold, which do not depend on that. */
  ts_world_schedule(l.w, 1 * TS_SEC, client_discover, &c[1], 0, NULL);
  ts_world_schedule(l.w, 2 * TS_SEC, client_discover, &c[0], 0, NULL);
  ts_world_schedule(l.w, 3 * TS_SEC, client_discover, &c[2], 0, NULL);
  ts_world_run_until(l.w, 4 * TS_SEC);
  TS_CHECK_INT(c[0].state, ==, C_BOUND);
  ts_ipaddr want = ts_test_addr("192.168.1.101"); /* .100 is held for phone2's offer */
  TS_CHECK(ts_ipaddr_equal(&c[0].lease.address.addr, &want));
  ts_dhcp_server_stats st;
  ts_dhcp_server_stats_get(l.dhcp, &st);
  TS_CHECK_INT(st.offers, ==, 2);
  TS_CHECK_INT(st.pool_exhausted, ==, 1);
  /* after the 60 s offer hold, phone3 gets phone2's unclaimed .100 */
  ts_world_schedule(l.w, 70 * TS_SEC, client_discover, &c[2], 0, NULL);
  ts_world_run_until(l.w, 71 * TS_SEC);
  ts_dhcp_server_stats_get(l.dhcp, &st);
  TS_CHECK_INT(st.offers, ==, 3);
  TS_CHECK_INT(st.pool_exhausted, ==, 1);
  ts_world_destroy(l.w);
}

/* Two phones on one link is not possible, so the second client shares the phone
 * host: a different hardware address is a different client to the server. */
TS_TEST(dhcp_world_lease_expires_on_virtual_time) {
  struct lan l;
  ts_dhcp_server_config cfg = lan_config();
  cfg.pool_last = cfg.pool_first; /* one address */
  TS_CHECK_INT(build_lan(&l, &cfg), ==, TS_OK);
  struct client a, b;
  client_init(&a, &l, l.phone, 1);
  client_init(&b, &l, l.phone, 2); /* the host's hooks now lead to b; a's replies are */
  ts_host_set_transit_hook(l.phone, client_transit, &a); /* routed to a first */
  ts_world_schedule(l.w, 0, client_discover, &a, 0, NULL);
  ts_world_run_until(l.w, TS_SEC);
  TS_CHECK_INT(a.state, ==, C_BOUND);
  ts_host_set_transit_hook(l.phone, client_transit, &b);
  ts_world_schedule(l.w, 5 * TS_SEC, client_discover, &b, 0, NULL);
  ts_world_run_until(l.w, 6 * TS_SEC);
  TS_CHECK_INT(b.offers, ==, 0); /* a holds the only address */
  ts_dhcp_server_stats st;
  ts_dhcp_server_stats_get(l.dhcp, &st);
  TS_CHECK_INT(st.pool_exhausted, ==, 1);
  TS_CHECK(ts_dhcp_server_lookup(l.dhcp, a.mac, 6, NULL, NULL));
  /* a never renews: acked at 3 ms (DISCOVER, OFFER, REQUEST over a 1 ms link), the
   * lease ends at 10.003 s */
  ts_world_run_until(l.w, 10 * TS_SEC + 3 * TS_MS - 1);
  TS_CHECK(ts_dhcp_server_lookup(l.dhcp, a.mac, 6, NULL, NULL));
  ts_world_run_until(l.w, 10 * TS_SEC + 3 * TS_MS);
  TS_CHECK(!ts_dhcp_server_lookup(l.dhcp, a.mac, 6, NULL, NULL));
  ts_world_schedule(l.w, 11 * TS_SEC, client_discover, &b, 0, NULL);
  ts_world_run_until(l.w, 12 * TS_SEC);
  TS_CHECK_INT(b.state, ==, C_BOUND);
  ts_ipaddr want = ts_test_addr("192.168.1.100");
  TS_CHECK(ts_ipaddr_equal(&b.lease.address.addr, &want));
  /* a's late renewal is refused: the address is b's now */
  a.state = C_BOUND;
  ts_host_set_transit_hook(l.phone, client_transit, &a);
  ts_world_schedule(l.w, 13 * TS_SEC, client_renew, &a, 0, NULL);
  ts_world_run_until(l.w, 14 * TS_SEC);
  TS_CHECK_INT(a.naks, ==, 1);
  TS_CHECK(ts_dhcp_server_lookup(l.dhcp, b.mac, 6, NULL, NULL));
  ts_world_destroy(l.w);
}

TS_TEST(dhcp_world_renewal_keeps_lease_and_picks_up_new_routes) {
  struct lan l;
  ts_dhcp_server_config cfg = lan_config();
  cfg.pool_last = cfg.pool_first;
  TS_CHECK_INT(build_lan(&l, &cfg), ==, TS_OK);
  struct client a;
  client_init(&a, &l, l.phone, 1);
  a.renew = true;
  ts_world_schedule(l.w, 0, client_discover, &a, 0, NULL);
  ts_world_run_until(l.w, 6 * TS_SEC);
  TS_CHECK_INT(a.acks, ==, 2); /* the first ACK and the renewal at T1 = 5 s */
  /* the rogue server now pushes one /32 for a target (TunnelVision's selective form) */
  ts_dhcp_route target = route("198.51.100.7", 32, "192.168.1.1");
  TS_CHECK_INT(ts_dhcp_server_set_routes(l.dhcp, &target, 1), ==, TS_OK);
  ts_world_run_until(l.w, 21 * TS_SEC);
  TS_CHECK_INT(a.acks, ==, 5); /* renewed at 5, 10, 15, 20 s */
  TS_CHECK_INT(a.lease.route_count, ==, 1);
  TS_CHECK_INT(a.lease.routes[0].dst.len, ==, 32);
  TS_CHECK_INT(a.lease.routes[0].dst.addr.bytes[3], ==, 7);
  ts_time expires;
  TS_CHECK(ts_dhcp_server_lookup(l.dhcp, a.mac, 6, NULL, &expires));
  TS_CHECK(expires > 29 * TS_SEC);
  ts_dhcp_server_stats st;
  ts_dhcp_server_stats_get(l.dhcp, &st);
  TS_CHECK_INT(st.discovers, ==, 1);
  TS_CHECK_INT(st.naks, ==, 0);
  ts_world_destroy(l.w);
}

TS_TEST(dhcp_world_request_for_wrong_address_is_naked) {
  struct lan l;
  ts_dhcp_server_config cfg = lan_config();
  TS_CHECK_INT(build_lan(&l, &cfg), ==, TS_OK);
  struct client a;
  client_init(&a, &l, l.phone, 1);
  a.force_request = ts_test_addr("192.168.1.101"); /* not what was offered */
  ts_world_schedule(l.w, 0, client_discover, &a, 0, NULL);
  ts_world_run_until(l.w, TS_SEC);
  TS_CHECK_INT(a.offers, ==, 1);
  TS_CHECK_INT(a.naks, ==, 1);
  ts_ipaddr bcast = ts_test_addr("255.255.255.255");
  TS_CHECK(ts_ipaddr_equal(&a.last_dst, &bcast)); /* RFC 2131 §4.1: NAKs are broadcast */
  TS_CHECK(!ts_dhcp_server_lookup(l.dhcp, a.mac, 6, NULL, NULL));
  ts_world_destroy(l.w);
}

TS_TEST(dhcp_world_choosing_another_server_withdraws_offer) {
  struct lan l;
  ts_dhcp_server_config cfg = lan_config();
  cfg.pool_last = cfg.pool_first;
  TS_CHECK_INT(build_lan(&l, &cfg), ==, TS_OK);
  struct client a;
  client_init(&a, &l, l.phone, 1);
  ts_world_schedule(l.w, 0, client_discover, &a, 0, NULL);
  ts_world_run_until(l.w, 2 * TS_MS + TS_US); /* the OFFER is in, the REQUEST not yet */
  TS_CHECK_INT(a.offers, ==, 1);
  ts_world_run_until(l.w, TS_SEC);
  TS_CHECK_INT(a.state, ==, C_BOUND);
  /* a second client selects another server: the server stays silent */
  struct client b;
  client_init(&b, &l, l.phone, 2);
  ts_dhcp_message m;
  client_message(&b, &m, TS_DHCP_REQUEST);
  m.server_id = ts_test_addr("192.168.1.254");
  m.requested_ip = ts_test_addr("192.168.1.100");
  ts_ipaddr zero = ts_test_addr("0.0.0.0");
  b.state = C_REQUESTING;
  client_send(&b, &m, &zero, &b.to);
  ts_world_run_until(l.w, 2 * TS_SEC);
  TS_CHECK_INT(b.acks + b.naks, ==, 0);
  ts_dhcp_server_stats st;
  ts_dhcp_server_stats_get(l.dhcp, &st);
  TS_CHECK_INT(st.requests, ==, 2);
  TS_CHECK_INT(st.acks, ==, 1);
  TS_CHECK_INT(st.naks, ==, 0);
  ts_world_destroy(l.w);
}

/* The client's first DISCOVER goes to 255.255.255.255:67 (RFC 2131 §4.1). The host
 * layer treats the limited broadcast as local (RFC 919), so the AP's server gets it
 * and the exchange completes; nothing is dropped as transit. */
TS_TEST(dhcp_broadcast_discover_reaches_server) {
  struct lan l;
  ts_dhcp_server_config cfg = lan_config();
  TS_CHECK_INT(build_lan(&l, &cfg), ==, TS_OK);
  struct client a;
  client_init(&a, &l, l.phone, 1);
  a.to = ts_test_addr("255.255.255.255");
  ts_world_schedule(l.w, 0, client_discover, &a, 0, NULL);
  ts_world_run_until(l.w, TS_SEC);
  ts_dhcp_server_stats st;
  ts_dhcp_server_stats_get(l.dhcp, &st);
  TS_CHECK_INT(st.discovers, ==, 1);
  TS_CHECK_INT(a.offers, ==, 1);
  TS_CHECK_INT(a.state, ==, C_BOUND);
  TS_CHECK_INT(st.acks, ==, 1);
  TS_CHECK_INT(ts_net_unrouted(l.net), ==, 0);
  ts_world_destroy(l.w);
}

TS_TEST(dhcp_server_rejects_bad_config) {
  struct lan l;
  ts_dhcp_server_config cfg = lan_config();
  cfg.lease_seconds = 0;
  TS_CHECK_INT(build_lan(&l, &cfg), ==, TS_EINVAL);
  ts_world_destroy(l.w);
  cfg = lan_config();
  cfg.pool_first = ts_test_addr("192.168.1.200"); /* after pool_last */
  TS_CHECK_INT(build_lan(&l, &cfg), ==, TS_EINVAL);
  ts_world_destroy(l.w);
  cfg = lan_config();
  cfg.routes[1].dst.len = 40;
  TS_CHECK_INT(build_lan(&l, &cfg), ==, TS_EINVAL);
  ts_world_destroy(l.w);
}

/* ================= DNS world ================= */

struct dns_world {
  ts_world *w;
  ts_net *net;
  ts_host *client, *server;
  ts_dns_server *dns;
  ts_dns_message reply;
  uint32_t replies;
};

static void on_dns_reply(void *ctx, ts_host *h, const ts_ip_info *info, const uint8_t *payload,
                         uint32_t len) {
  struct dns_world *d = ctx;
  (void)h;
  (void)info;
  if (ts_dns_decode(payload, len, &d->reply) == 0) d->replies++;
}

static int build_dns(struct dns_world *d) {
  memset(d, 0, sizeof *d);
  if (ts_world_create(&d->w, &ts_native_backend, 1)) return -1;
  ts_net_create(d->w, &d->net);
  ts_net_add_host(d->net, "client", &d->client);
  ts_net_add_host(d->net, "resolver", &d->server);
  ts_ipprefix a[2] = {ts_test_prefix("10.0.0.2/24"), ts_test_prefix("fd00::2/64")};
  ts_ipprefix b[2] = {ts_test_prefix("10.0.0.53/24"), ts_test_prefix("fd00::53/64")};
  uint32_t ia, ib;
  ts_host_add_interface(d->client, "eth0", a, 2, &ia);
  ts_host_add_interface(d->server, "eth0", b, 2, &ib);
  ts_link_params p = {.delay = TS_MS, .mtu = 1500, .queue_limit = 100, .up = true};
  ts_link_id id;
  ts_net_connect(d->net, "l", &p, d->client, ia, d->server, ib, &id);
  ts_host_bind_udp(d->client, 40000, on_dns_reply, d);
  return ts_dns_server_create(d->server, &d->dns);
}

/* Sends a query and runs the world until it is answered (or not). */
static void ask_raw(struct dns_world *d, const uint8_t *q, size_t n, const char *server) {
  ts_ipaddr dst = ts_test_addr(server), src;
  ts_host_source_for(d->client, &dst, &src);
  ts_packet *p = ts_packet_alloc(ts_world_pool(d->w), 1000);
  p->len = ts_ip_build_udp(p->data, 1000, &src, &dst, 40000, TS_DNS_PORT, q, (uint32_t)n);
  ts_host_send(d->client, p);
  memset(&d->reply, 0, sizeof d->reply);
  ts_world_run_until(d->w, ts_world_now(d->w) + TS_SEC);
}

static void ask(struct dns_world *d, uint16_t id, const char *name, uint16_t type) {
  ts_dns_message m;
  uint8_t buf[512];
  size_t n;
  ts_dns_query_init(&m, id, name, type);
  if (ts_dns_encode(&m, buf, sizeof buf, &n) == 0) ask_raw(d, buf, n, "10.0.0.53");
}

static uint16_t rcode(const ts_dns_message *m) { return m->flags & TS_DNS_RCODE_MASK; }

TS_TEST(dns_world_answers_a_and_aaaa_from_zone) {
  struct dns_world d;
  TS_CHECK_INT(build_dns(&d), ==, TS_OK);
  ts_ipaddr v4 = ts_test_addr("203.0.113.5"), v4b = ts_test_addr("203.0.113.6"), v6 = ts_test_addr("2001:db8::5");
  TS_CHECK_INT(ts_dns_server_add(d.dns, "relay.example.net", &v4, 300), ==, TS_OK);
  TS_CHECK_INT(ts_dns_server_add(d.dns, "relay.example.net", &v4b, 300), ==, TS_OK);
  TS_CHECK_INT(ts_dns_server_add(d.dns, "relay.example.net", &v6, 60), ==, TS_OK);
  TS_CHECK_INT(ts_dns_server_add(d.dns, "bad..name", &v4, 60), ==, TS_EINVAL);
  ask(&d, 7, "RELAY.example.net", TS_DNS_TYPE_A);
  TS_CHECK_INT(d.replies, ==, 1);
  TS_CHECK_INT(d.reply.id, ==, 7);
  TS_CHECK(d.reply.flags & TS_DNS_FLAG_QR);
  TS_CHECK(d.reply.flags & TS_DNS_FLAG_AA);
  TS_CHECK(d.reply.flags & TS_DNS_FLAG_RD);
  TS_CHECK_INT(rcode(&d.reply), ==, TS_DNS_RCODE_NOERROR);
  TS_CHECK_INT(d.reply.answer_count, ==, 2);
  TS_CHECK(ts_ipaddr_equal(&d.reply.answers[0].addr, &v4));
  TS_CHECK(ts_ipaddr_equal(&d.reply.answers[1].addr, &v4b));
  TS_CHECK_INT(d.reply.answers[0].ttl, ==, 300);
  TS_CHECK_STR(d.reply.answers[0].name, "RELAY.example.net"); /* the question's spelling */
  ask(&d, 8, "relay.example.net", TS_DNS_TYPE_AAAA);
  TS_CHECK_INT(d.reply.answer_count, ==, 1);
  TS_CHECK_INT(d.reply.answers[0].type, ==, TS_DNS_TYPE_AAAA);
  TS_CHECK(ts_ipaddr_equal(&d.reply.answers[0].addr, &v6));
  TS_CHECK_INT(d.reply.answers[0].ttl, ==, 60);
  /* over IPv6 transport too */
  ts_dns_message m;
  uint8_t buf[512];
  size_t n;
  ts_dns_query_init(&m, 9, "relay.example.net", TS_DNS_TYPE_A);
  TS_CHECK_INT(ts_dns_encode(&m, buf, sizeof buf, &n), ==, TS_OK);
  ask_raw(&d, buf, n, "fd00::53");
  TS_CHECK_INT(d.replies, ==, 3);
  TS_CHECK_INT(d.reply.id, ==, 9);
  TS_CHECK_INT(d.reply.answer_count, ==, 2);
  ts_world_destroy(d.w);
}

TS_TEST(dns_world_nxdomain_and_nodata) {
  struct dns_world d;
  TS_CHECK_INT(build_dns(&d), ==, TS_OK);
  ts_ipaddr v4 = ts_test_addr("203.0.113.5");
  ts_dns_server_add(d.dns, "only-v4.example", &v4, 300);
  ask(&d, 1, "unknown.example", TS_DNS_TYPE_A);
  TS_CHECK_INT(d.replies, ==, 1);
  TS_CHECK_INT(rcode(&d.reply), ==, TS_DNS_RCODE_NXDOMAIN);
  TS_CHECK_INT(d.reply.answer_count, ==, 0);
  ask(&d, 2, "only-v4.example", TS_DNS_TYPE_AAAA);
  TS_CHECK_INT(rcode(&d.reply), ==, TS_DNS_RCODE_NOERROR);
  TS_CHECK_INT(d.reply.answer_count, ==, 0);
  ts_dns_server_stats st;
  ts_dns_server_stats_get(d.dns, &st);
  TS_CHECK_INT(st.queries, ==, 2);
  TS_CHECK_INT(st.nxdomain, ==, 1);
  TS_CHECK_INT(st.nodata, ==, 1);
  ts_world_destroy(d.w);
}

TS_TEST(dns_world_spoofs_a_name_and_stops) {
  struct dns_world d;
  TS_CHECK_INT(build_dns(&d), ==, TS_OK);
  ts_ipaddr real = ts_test_addr("203.0.113.5"), real6 = ts_test_addr("2001:db8::5"), evil = ts_test_addr("198.51.100.66");
  ts_dns_server_add(d.dns, "relay.example.net", &real, 300);
  ts_dns_server_add(d.dns, "relay.example.net", &real6, 300);
  TS_CHECK_INT(ts_dns_server_spoof(d.dns, "Relay.Example.Net.", &evil, 5), ==, TS_OK);
  ask(&d, 1, "relay.example.net", TS_DNS_TYPE_A);
  TS_CHECK_INT(d.reply.answer_count, ==, 1);
  TS_CHECK(ts_ipaddr_equal(&d.reply.answers[0].addr, &evil));
  TS_CHECK_INT(d.reply.answers[0].ttl, ==, 5);
  /* the real AAAA is hidden while the name is spoofed */
  ask(&d, 2, "relay.example.net", TS_DNS_TYPE_AAAA);
  TS_CHECK_INT(rcode(&d.reply), ==, TS_DNS_RCODE_NOERROR);
  TS_CHECK_INT(d.reply.answer_count, ==, 0);
  /* spoofing a name the zone lacks makes it exist */
  ts_dns_server_spoof(d.dns, "new.example", &evil, 5);
  ask(&d, 3, "new.example", TS_DNS_TYPE_A);
  TS_CHECK_INT(d.reply.answer_count, ==, 1);
  ts_dns_server_stats st;
  ts_dns_server_stats_get(d.dns, &st);
  TS_CHECK_INT(st.spoofed, ==, 3);
  ts_dns_server_unspoof(d.dns, "relay.example.net");
  ask(&d, 4, "relay.example.net", TS_DNS_TYPE_A);
  TS_CHECK_INT(d.reply.answer_count, ==, 1);
  TS_CHECK(ts_ipaddr_equal(&d.reply.answers[0].addr, &real));
  ts_world_destroy(d.w);
}

TS_TEST(dns_world_malformed_queries) {
  struct dns_world d;
  TS_CHECK_INT(build_dns(&d), ==, TS_OK);
  /* a header with a question that is cut off: FORMERR with the id */
  uint8_t q[sizeof query_bytes];
  memcpy(q, query_bytes, sizeof q);
  ask_raw(&d, q, 20, "10.0.0.53");
  TS_CHECK_INT(d.replies, ==, 1);
  TS_CHECK_INT(d.reply.id, ==, 0x1234);
  TS_CHECK_INT(rcode(&d.reply), ==, TS_DNS_RCODE_FORMERR);
  /* a response sent to the server is never answered; nor is a short datagram */
  ask_raw(&d, response_bytes, sizeof response_bytes, "10.0.0.53");
  ask_raw(&d, q, 5, "10.0.0.53");
  TS_CHECK_INT(d.replies, ==, 1);
  /* opcode 2 (STATUS): NOTIMP; class CH: REFUSED */
  q[2] = 0x11;
  ask_raw(&d, q, sizeof q, "10.0.0.53");
  TS_CHECK_INT(rcode(&d.reply), ==, TS_DNS_RCODE_NOTIMP);
  q[2] = 0x01;
  q[sizeof q - 1] = 3;
  ask_raw(&d, q, sizeof q, "10.0.0.53");
  TS_CHECK_INT(rcode(&d.reply), ==, TS_DNS_RCODE_REFUSED);
  TS_CHECK_INT(d.replies, ==, 3);
  ts_world_destroy(d.w);
}

TS_TEST(dns_world_truncates_big_answers) {
  struct dns_world d;
  TS_CHECK_INT(build_dns(&d), ==, TS_OK);
  /* 16 AAAA answers with a long name written in full would pass 512 octets only
   * without compression; with a 200-octet owner name and different spellings the
   * server must cut */
  char name[200];
  memset(name, 'x', 60);
  name[60] = '.';
  memset(name + 61, 'y', 60);
  name[121] = '.';
  memset(name + 122, 'z', 60);
  name[182] = 0;
  for (int i = 0; i < 16; i++) {
    char text[48];
    snprintf(text, sizeof text, "2001:db8::%x", i + 1);
    ts_ipaddr a = ts_test_addr(text);
    TS_CHECK_INT(ts_dns_server_add(d.dns, name, &a, 60), ==, TS_OK);
  }
  ask(&d, 5, name, TS_DNS_TYPE_AAAA);
  TS_CHECK_INT(d.replies, ==, 1);
  /* 12 + 188 question + 16 * (2 + 10 + 16) = 648 > 512: cut to 11 answers */
  TS_CHECK(d.reply.flags & TS_DNS_FLAG_TC);
  TS_CHECK_INT(d.reply.answer_count, ==, 11);
  ts_world_destroy(d.w);
}

int main(int argc, char **argv) { return ts_test_main(argc, argv); }
