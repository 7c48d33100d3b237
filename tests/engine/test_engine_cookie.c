/* The cookie path: under load a responder answers with a cookie reply, the
 * initiator stores the cookie and its retry (carrying mac2) succeeds. */
#include <stdlib.h>
#include <string.h>

#include "cookie.h"
#include "engine_testkit.h"
#include "messages.h"
#include "tstest.h"

#define S WG_NS_PER_S
static const uint8_t IP_A[4] = {10, 0, 0, 1}, IP_B[4] = {10, 0, 0, 2};

static int send_ip(tk_node *from, const uint8_t src[4], const uint8_t dst[4], int64_t now) {
  uint8_t pkt[100];
  size_t len = tk_ipv4_packet(pkt, src, dst, 20, 0x11);
  wg_sink s = tk_sink(from);
  return wg_device_tx_ip(from->dev, now, pkt, len, &s);
}

static bool all_zero(const uint8_t *p, size_t n) {
  for (size_t i = 0; i < n; i++)
    if (p[i]) return false;
  return true;
}

TS_TEST(under_load_cookie_reply_then_mac2_retry_succeeds) {
  tk_node *a = calloc(1, sizeof *a), *b = calloc(1, sizeof *b);
  tk_node_init(a, 1, 1, 51820, 1, NULL);
  tk_node_init(b, 2, 2, 51820, 2, NULL);
  wg_peer *ab = tk_add_peer(a, b, NULL, IP_B, 32);
  tk_add_peer(b, a, NULL, IP_A, 32);
  wg_device_set_load_mode(b->dev, WG_LOAD_FORCE_ON);
  TS_CHECK(wg_device_is_under_load(b->dev, 0));

  send_ip(a, IP_A, IP_B, 0);
  TS_CHECK(all_zero(a->out[0].data + WG_INIT_OFF_MAC2, 16)); /* no cookie yet */
  uint32_t a_sender = wg_get_le32(a->out[0].data + WG_INIT_OFF_SENDER);
  tk_deliver(a, b, 0);
  TS_CHECK_INT(wg_device_last_drop(b->dev), ==, WG_DROP_UNDER_LOAD_NO_COOKIE);
  TS_CHECK_INT(tk_count_event(b, WG_EV_COOKIE_REPLY_SENT), ==, 1);
  TS_CHECK_INT(tk_count_event(b, WG_EV_INITIATION_RECEIVED), ==, 0);
  TS_CHECK_INT(b->nout, ==, 1);
  TS_CHECK_INT(b->out[0].len, ==, WG_COOKIE_SIZE);
  TS_CHECK_INT(b->out[0].data[0], ==, WG_MSG_COOKIE_REPLY);
  TS_CHECK_INT(wg_get_le32(b->out[0].data + WG_COOKIE_OFF_RECEIVER), ==, a_sender);
  TS_CHECK(wg_endpoint_equal(&b->out[0].ep, &a->ep)); /* replied to the source */
  tk_msg reply = b->out[0];
  tk_deliver(b, a, 0);
  TS_CHECK_INT(tk_count_event(a, WG_EV_COOKIE_RECEIVED), ==, 1);
  TS_CHECK_INT(a->nout, ==, 0); /* no immediate resend */
  /* The same reply again is refused: one reply per mac1 sent. */
  wg_sink sa = tk_sink(a);
  TS_CHECK_INT(wg_device_rx_udp(a->dev, 0, &b->ep, reply.data, reply.len, &sa), ==, WG_EDROP);
  TS_CHECK_INT(wg_device_last_drop(a->dev), ==, WG_DROP_BAD_COOKIE_REPLY);

  /* The retransmit carries mac2 and gets through. */
  int64_t retry = wg_device_next_deadline(a->dev);
  wg_peer_stats st;
  wg_peer_get_stats(ab, &st);
  TS_CHECK_INT(retry, ==, st.retransmit_handshake_at);
  wg_device_tick(a->dev, retry, &sa);
  TS_CHECK_INT(a->nout, ==, 1);
  TS_CHECK(!all_zero(a->out[0].data + WG_INIT_OFF_MAC2, 16));
  tk_node *nodes[2] = {a, b};
  tk_pump(nodes, 2, retry);
  TS_CHECK_INT(tk_count_event(b, WG_EV_INITIATION_RECEIVED), ==, 1);
  TS_CHECK_INT(tk_count_event(a, WG_EV_HANDSHAKE_COMPLETE), ==, 1);
  TS_CHECK_INT(b->nip, ==, 1); /* the staged packet arrived */
  tk_node_free(a);
  tk_node_free(b);
  free(a);
  free(b);
}

TS_TEST(cookie_is_bound_to_source_address) {
  tk_node *a = calloc(1, sizeof *a), *b = calloc(1, sizeof *b);
  tk_node_init(a, 1, 1, 51820, 1, NULL);
  tk_node_init(b, 2, 2, 51820, 2, NULL);
  tk_add_peer(a, b, NULL, IP_B, 32);
  tk_add_peer(b, a, NULL, IP_A, 32);
  wg_device_set_load_mode(b->dev, WG_LOAD_FORCE_ON);
  tk_node *nodes[2] = {a, b};
  send_ip(a, IP_A, IP_B, 0);
  tk_pump(nodes, 2, 0); /* initiation -> cookie reply -> cookie stored */
  TS_CHECK_INT(tk_count_event(a, WG_EV_COOKIE_RECEIVED), ==, 1);
  /* A moves: its cookie no longer matches its address. */
  a->ep.port = 40001;
  a->send_from = a->ep;
  int64_t retry = wg_device_next_deadline(a->dev);
  wg_sink sa = tk_sink(a);
  wg_device_tick(a->dev, retry, &sa);
  tk_deliver(a, b, retry);
  TS_CHECK_INT(wg_device_last_drop(b->dev), ==, WG_DROP_UNDER_LOAD_NO_COOKIE);
  TS_CHECK_INT(tk_count_event(b, WG_EV_COOKIE_REPLY_SENT), ==, 2);
  tk_node_free(a);
  tk_node_free(b);
  free(a);
  free(b);
}

TS_TEST(mac2_checker_secret_rotates_after_120s) {
  uint8_t pub[32] = {9}, msg[WG_INIT_SIZE], reply[WG_COOKIE_SIZE];
  tk_rng rng = {.state = 3};
  uint8_t addr[4] = {192, 0, 2, 1};
  wg_endpoint src = wg_endpoint_ipv4(addr, 1234);
  wg_cookie_checker chk;
  wg_cookie_generator gen;
  wg_cookie_checker_init(&chk, pub);
  wg_cookie_generator_init(&gen, pub);
  memset(msg, 0, sizeof msg);
  msg[0] = 1;
  wg_cookie_add_macs(&gen, msg, sizeof msg, 0);
  TS_CHECK(wg_cookie_mac1_valid(&chk, msg, sizeof msg));
  TS_CHECK(!wg_cookie_mac2_valid(&chk, msg, sizeof msg, &src, 0, tk_rng_fn, &rng));
  wg_cookie_make_reply(&chk, msg, sizeof msg, &src, 0, tk_rng_fn, &rng, reply);
  TS_CHECK(wg_cookie_consume_reply(&gen, reply, 0));
  wg_cookie_add_macs(&gen, msg, sizeof msg, 1 * WG_NS_PER_S);
  TS_CHECK(wg_cookie_mac2_valid(&chk, msg, sizeof msg, &src, 1 * S, tk_rng_fn, &rng));
  TS_CHECK(wg_cookie_mac2_valid(&chk, msg, sizeof msg, &src, 119 * S, tk_rng_fn, &rng));
  /* The secret is replaced once older than 120 s: the same mac2 is now stale. */
  TS_CHECK(!wg_cookie_mac2_valid(&chk, msg, sizeof msg, &src, 121 * S, tk_rng_fn, &rng));
  /* The initiator stops using a cookie after 115 s (zero mac2). */
  wg_cookie_add_macs(&gen, msg, sizeof msg, 115 * S);
  TS_CHECK(all_zero(msg + WG_INIT_OFF_MAC2, 16));
  /* A cookie reply bound to another mac1 does not decrypt. */
  uint8_t other[WG_INIT_SIZE];
  memcpy(other, msg, sizeof other);
  other[5] ^= 1;
  wg_cookie_add_macs(&gen, other, sizeof other, 116 * S);
  wg_cookie_make_reply(&chk, msg, sizeof msg, &src, 116 * S, tk_rng_fn, &rng, reply);
  TS_CHECK(!wg_cookie_consume_reply(&gen, reply, 116 * S));
}

TS_TEST(builtin_load_model_counts_handshakes_per_second) {
  wg_device_config cfg;
  memset(&cfg, 0, sizeof cfg);
  cfg.under_load_handshakes_per_s = 3;
  tk_node *a = calloc(1, sizeof *a), *b = calloc(1, sizeof *b);
  tk_node_init(a, 1, 1, 51820, 1, NULL);
  tk_node_init(b, 2, 2, 51820, 2, &cfg);
  tk_add_peer(a, b, NULL, IP_B, 32);
  tk_add_peer(b, a, NULL, IP_A, 32);
  send_ip(a, IP_A, IP_B, 0);
  tk_msg init = a->out[0];
  wg_sink sb = tk_sink(b);
  /* The same initiation replayed: counted by the load model (mac1 is valid). */
  for (int i = 0; i < 3; i++)
    wg_device_rx_udp(b->dev, 100 + i, &a->ep, init.data, init.len, &sb);
  TS_CHECK(!wg_device_is_under_load(b->dev, 200));
  wg_device_rx_udp(b->dev, 200, &a->ep, init.data, init.len, &sb);
  TS_CHECK_INT(wg_device_last_drop(b->dev), ==, WG_DROP_UNDER_LOAD_NO_COOKIE);
  TS_CHECK(wg_device_is_under_load(b->dev, 200));
  TS_CHECK(wg_device_is_under_load(b->dev, 200 + S - 1));
  TS_CHECK(!wg_device_is_under_load(b->dev, 200 + S));
  /* Forcing off overrides the model. */
  wg_device_set_load_mode(b->dev, WG_LOAD_FORCE_OFF);
  TS_CHECK(!wg_device_is_under_load(b->dev, 300));
  tk_node_free(a);
  tk_node_free(b);
  free(a);
  free(b);
}

static int load_flag;
static int injected_load(void *ctx, int64_t now) {
  (void)now;
  return *(int *)ctx;
}

TS_TEST(injected_under_load_predicate) {
  wg_device_config cfg;
  memset(&cfg, 0, sizeof cfg);
  cfg.under_load = injected_load;
  cfg.under_load_ctx = &load_flag;
  tk_node *b = calloc(1, sizeof *b);
  tk_node_init(b, 2, 2, 51820, 2, &cfg);
  load_flag = 0;
  TS_CHECK(!wg_device_is_under_load(b->dev, 0));
  load_flag = 1;
  TS_CHECK(wg_device_is_under_load(b->dev, 0));
  tk_node_free(b);
  free(b);
}
