/* Hostile and malformed input: each drop has its own reason code, nothing
 * crashes, and nothing unauthenticated changes state. */
#include <stdlib.h>
#include <string.h>

#include "engine_testkit.h"
#include "kdf.h"
#include "messages.h"
#include "tstest.h"

#define S WG_NS_PER_S
static const uint8_t IP_A[4] = {10, 0, 0, 1}, IP_B[4] = {10, 0, 0, 2};

typedef struct world {
  tk_node a, b;
} world;

static world *world_new(void) {
  world *w = calloc(1, sizeof *w);
  tk_node_init(&w->a, 1, 1, 51820, 1, NULL);
  tk_node_init(&w->b, 2, 2, 51820, 2, NULL);
  tk_add_peer(&w->a, &w->b, NULL, IP_B, 32);
  tk_add_peer(&w->b, &w->a, NULL, IP_A, 32);
  return w;
}

static void world_free(world *w) {
  tk_node_free(&w->a);
  tk_node_free(&w->b);
  free(w);
}

static int send_ip_from(tk_node *from, const uint8_t src[4], const uint8_t dst[4], int64_t now) {
  uint8_t pkt[100];
  size_t len = tk_ipv4_packet(pkt, src, dst, 20, 0x11);
  wg_sink s = tk_sink(from);
  return wg_device_tx_ip(from->dev, now, pkt, len, &s);
}

/* Feeds bytes to `to` and returns the drop reason (WG_EV_NONE if accepted). */
static int feed(tk_node *to, const tk_node *from, const uint8_t *data, size_t len, int64_t now) {
  wg_sink s = tk_sink(to);
  int rc = wg_device_rx_udp(to->dev, now, &from->ep, data, len, &s);
  int reason = wg_device_last_drop(to->dev);
  if (rc == WG_OK && reason != WG_EV_NONE) return -1; /* inconsistent */
  if (rc == WG_EDROP && reason == WG_EV_NONE) return -2;
  return reason;
}

static void fix_mac1(uint8_t *msg, size_t len, const uint8_t receiver_pub[32]) {
  uint8_t key[32];
  wg_hash(key, (const uint8_t *)WG_LABEL_MAC1, 8, receiver_pub, 32);
  wg_mac(msg + len - 32, key, 32, msg, len - 32);
}

static int reasons_seen[WG_DROP_LAST];

static void note(int reason) {
  if (reason >= WG_DROP_FIRST && reason < WG_DROP_LAST) reasons_seen[reason]++;
}

TS_TEST(size_and_type_checks) {
  world *w = world_new();
  send_ip_from(&w->a, IP_A, IP_B, 0);
  tk_msg init = w->a.out[0];
  uint8_t big[WG_MESSAGE_MAX + 1];
  memset(big, 0, sizeof big);
  big[0] = 4;
  int r;
  TS_CHECK_INT(r = feed(&w->b, &w->a, init.data, 3, 0), ==, WG_DROP_TRUNCATED); note(r);
  TS_CHECK_INT(feed(&w->b, &w->a, init.data, 0, 0), ==, WG_DROP_TRUNCATED);
  TS_CHECK_INT(feed(&w->b, &w->a, init.data, WG_INIT_SIZE - 1, 0), ==, WG_DROP_TRUNCATED);
  memcpy(big, init.data, init.len);
  TS_CHECK_INT(r = feed(&w->b, &w->a, big, WG_INIT_SIZE + 1, 0), ==, WG_DROP_OVERSIZED); note(r);
  big[0] = 4;
  TS_CHECK_INT(feed(&w->b, &w->a, big, sizeof big, 0), ==, WG_DROP_OVERSIZED);
  TS_CHECK_INT(feed(&w->b, &w->a, big, 31, 0), ==, WG_DROP_TRUNCATED);
  big[0] = 3;
  TS_CHECK_INT(feed(&w->b, &w->a, big, 63, 0), ==, WG_DROP_TRUNCATED);
  big[0] = 2;
  TS_CHECK_INT(feed(&w->b, &w->a, big, 93, 0), ==, WG_DROP_OVERSIZED);
  big[0] = 5;
  TS_CHECK_INT(r = feed(&w->b, &w->a, big, 100, 0), ==, WG_DROP_UNKNOWN_TYPE); note(r);
  /* Nonzero reserved bytes make it a different type word. */
  memcpy(big, init.data, init.len);
  big[2] = 1;
  TS_CHECK_INT(feed(&w->b, &w->a, big, WG_INIT_SIZE, 0), ==, WG_DROP_UNKNOWN_TYPE);
  /* The genuine initiation is still accepted afterwards. */
  TS_CHECK_INT(feed(&w->b, &w->a, init.data, init.len, 0), ==, WG_EV_NONE);
  world_free(w);
}

TS_TEST(bad_mac1_unknown_peer_and_corrupt_static) {
  world *w = world_new();
  send_ip_from(&w->a, IP_A, IP_B, 0);
  tk_msg init = w->a.out[0];
  uint8_t m[WG_INIT_SIZE];
  int r;
  memcpy(m, init.data, sizeof m);
  m[WG_INIT_OFF_MAC1] ^= 1;
  TS_CHECK_INT(r = feed(&w->b, &w->a, m, sizeof m, 0), ==, WG_DROP_BAD_MAC1); note(r);
  /* Any body change breaks mac1 too. */
  memcpy(m, init.data, sizeof m);
  m[50] ^= 1;
  TS_CHECK_INT(feed(&w->b, &w->a, m, sizeof m, 0), ==, WG_DROP_BAD_MAC1);
  /* With mac1 recomputed, the AEAD over the static key catches it. */
  fix_mac1(m, sizeof m, w->b.pub);
  TS_CHECK_INT(r = feed(&w->b, &w->a, m, sizeof m, 0), ==, WG_DROP_HANDSHAKE_DECRYPT); note(r);
  /* A corrupted timestamp ciphertext. */
  memcpy(m, init.data, sizeof m);
  m[WG_INIT_OFF_TIMESTAMP + 3] ^= 1;
  fix_mac1(m, sizeof m, w->b.pub);
  TS_CHECK_INT(feed(&w->b, &w->a, m, sizeof m, 0), ==, WG_DROP_HANDSHAKE_DECRYPT);
  /* An initiator B does not know (wrong static key). */
  tk_node *c = calloc(1, sizeof *c);
  tk_node_init(c, 3, 3, 51820, 3, NULL);
  tk_add_peer(c, &w->b, NULL, IP_B, 32);
  send_ip_from(c, IP_A, IP_B, 0);
  TS_CHECK_INT(r = feed(&w->b, c, c->out[0].data, c->out[0].len, 0), ==, WG_DROP_UNKNOWN_PEER); note(r);
  /* An initiation meant for someone else fails mac1 here. */
  tk_node *d = calloc(1, sizeof *d);
  tk_node_init(d, 4, 4, 51820, 4, NULL);
  tk_add_peer(&w->a, d, NULL, (const uint8_t[4]){10, 0, 0, 4}, 32);
  send_ip_from(&w->a, IP_A, (const uint8_t[4]){10, 0, 0, 4}, 0);
  tk_msg to_d = w->a.out[w->a.nout - 1];
  TS_CHECK_INT(feed(&w->b, &w->a, to_d.data, to_d.len, 0), ==, WG_DROP_BAD_MAC1);
  TS_CHECK_INT(tk_count_event(&w->b, WG_EV_RESPONSE_SENT), ==, 0);
  tk_node_free(c);
  tk_node_free(d);
  free(c);
  free(d);
  world_free(w);
}

TS_TEST(replayed_and_flooded_initiations) {
  world *w = world_new();
  wg_sink sa = tk_sink(&w->a);
  wg_peer *ab = wg_device_peer_at(w->a.dev, 0);
  wg_peer_initiate_handshake(ab, 0, &sa);
  tk_msg first = w->a.out[0];
  wg_peer_initiate_handshake(ab, 5 * S + 400 * WG_NS_PER_MS, &sa);
  tk_msg second = w->a.out[1];
  int r;
  TS_CHECK_INT(feed(&w->b, &w->a, first.data, first.len, 1 * S), ==, WG_EV_NONE);
  /* The identical initiation again, later: its timestamp is not newer. */
  TS_CHECK_INT(r = feed(&w->b, &w->a, first.data, first.len, 2 * S), ==, WG_DROP_HANDSHAKE_REPLAY); note(r);
  /* A newer one only 10 ms after the last consumed: flood. */
  TS_CHECK_INT(feed(&w->b, &w->a, second.data, second.len, 1 * S + 10 * WG_NS_PER_MS), ==,
               WG_DROP_HANDSHAKE_FLOOD);
  note(WG_DROP_HANDSHAKE_FLOOD);
  /* The same newer one after the 20 ms limit is fine. */
  TS_CHECK_INT(feed(&w->b, &w->a, second.data, second.len, 1 * S + 21 * WG_NS_PER_MS), ==, WG_EV_NONE);
  /* And the older one is a replay for good. */
  TS_CHECK_INT(feed(&w->b, &w->a, first.data, first.len, 9 * S), ==, WG_DROP_HANDSHAKE_REPLAY);
  TS_CHECK_INT(tk_count_event(&w->b, WG_EV_RESPONSE_SENT), ==, 2);
  world_free(w);
}

TS_TEST(unknown_indices_and_bad_cookie_reply) {
  world *w = world_new();
  tk_node *nodes[2] = {&w->a, &w->b};
  send_ip_from(&w->a, IP_A, IP_B, 0);
  tk_pump(nodes, 2, 0);
  send_ip_from(&w->b, IP_B, IP_A, 1);
  tk_msg data = w->b.out[0];
  int r;
  uint8_t m[256];
  memcpy(m, data.data, data.len);
  wg_put_le32(m + 4, wg_get_le32(m + 4) ^ 0x5a5a5a5a);
  TS_CHECK_INT(r = feed(&w->a, &w->b, m, data.len, 1), ==, WG_DROP_UNKNOWN_INDEX); note(r);
  /* A response with a valid mac1 but an index A never issued. */
  uint8_t resp[WG_RESP_SIZE] = {2};
  wg_put_le32(resp + WG_RESP_OFF_RECEIVER, 0xdeadbeef);
  fix_mac1(resp, sizeof resp, w->a.pub);
  TS_CHECK_INT(feed(&w->a, &w->b, resp, sizeof resp, 1), ==, WG_DROP_UNKNOWN_INDEX);
  /* A cookie reply for an unknown index, then garbage for a known one. */
  uint8_t cookie[WG_COOKIE_SIZE] = {3};
  wg_put_le32(cookie + 4, 0xdeadbeef);
  TS_CHECK_INT(feed(&w->a, &w->b, cookie, sizeof cookie, 1), ==, WG_DROP_UNKNOWN_INDEX);
  memcpy(cookie + 4, data.data + 4, 4); /* A's live keypair index */
  TS_CHECK_INT(r = feed(&w->a, &w->b, cookie, sizeof cookie, 1), ==, WG_DROP_BAD_COOKIE_REPLY); note(r);
  /* Transport to a handshake (not keypair) index is unknown too. */
  wg_sink sa = tk_sink(&w->a);
  wg_peer_initiate_handshake(wg_device_peer_at(w->a.dev, 0), 10 * S, &sa);
  memcpy(m, data.data, data.len);
  memcpy(m + 4, w->a.out[w->a.nout - 1].data + WG_INIT_OFF_SENDER, 4);
  TS_CHECK_INT(feed(&w->a, &w->b, m, data.len, 10 * S), ==, WG_DROP_UNKNOWN_INDEX);
  world_free(w);
}

TS_TEST(replayed_corrupt_and_disallowed_data) {
  world *w = world_new();
  tk_node *nodes[2] = {&w->a, &w->b};
  send_ip_from(&w->a, IP_A, IP_B, 0);
  tk_pump(nodes, 2, 0);
  send_ip_from(&w->b, IP_B, IP_A, 1);
  tk_msg data = w->b.out[0];
  int r;
  TS_CHECK_INT(feed(&w->a, &w->b, data.data, data.len, 1), ==, WG_EV_NONE);
  TS_CHECK_INT(r = feed(&w->a, &w->b, data.data, data.len, 2), ==, WG_DROP_REPLAY); note(r);
  TS_CHECK_INT(w->a.nip, ==, 1);
  /* Flipping a ciphertext bit or the counter fails authentication. */
  uint8_t m[256];
  memcpy(m, data.data, data.len);
  m[20] ^= 1;
  TS_CHECK_INT(r = feed(&w->a, &w->b, m, data.len, 3), ==, WG_DROP_DATA_DECRYPT); note(r);
  memcpy(m, data.data, data.len);
  m[8] ^= 1;
  TS_CHECK_INT(feed(&w->a, &w->b, m, data.len, 3), ==, WG_DROP_DATA_DECRYPT);
  /* B (validly encrypted) claims a source outside its allowed-ips. */
  w->b.nout = 0;
  uint8_t spoofed[4] = {10, 9, 9, 9};
  TS_CHECK_INT(send_ip_from(&w->b, spoofed, IP_A, 4), ==, WG_OK);
  TS_CHECK_INT(r = feed(&w->a, &w->b, w->b.out[0].data, w->b.out[0].len, 4), ==,
               WG_DROP_DISALLOWED_SOURCE); note(r);
  /* An inner IPv4 header whose total length exceeds the payload. */
  uint8_t pkt[60];
  size_t len = tk_ipv4_packet(pkt, IP_B, IP_A, 20, 0);
  pkt[2] = 0x04; /* total length 1024+ */
  wg_sink sb = tk_sink(&w->b);
  w->b.nout = 0;
  TS_CHECK_INT(wg_device_tx_ip(w->b.dev, 5, pkt, len, &sb), ==, WG_OK);
  TS_CHECK_INT(r = feed(&w->a, &w->b, w->b.out[0].data, w->b.out[0].len, 5), ==,
               WG_DROP_BAD_INNER_PACKET); note(r);
  TS_CHECK_INT(w->a.nip, ==, 1);
  world_free(w);
}

TS_TEST(tx_side_errors) {
  world *w = world_new();
  wg_sink s = tk_sink(&w->a);
  uint8_t pkt[1600] = {0x45};
  TS_CHECK_INT(wg_device_tx_ip(w->a.dev, 0, pkt, 0, &s), ==, WG_EINVAL);
  TS_CHECK_INT(wg_device_tx_ip(w->a.dev, 0, pkt, 10, &s), ==, WG_EINVAL); /* too short for IPv4 */
  size_t len = tk_ipv4_packet(pkt, IP_A, (const uint8_t[4]){8, 8, 8, 8}, 10, 0);
  TS_CHECK_INT(wg_device_tx_ip(w->a.dev, 0, pkt, len, &s), ==, WG_ENOROUTE);
  TS_CHECK_INT(wg_device_last_drop(w->a.dev), ==, WG_DROP_NO_ROUTE);
  note(WG_DROP_NO_ROUTE);
  /* Larger than a staging slot (MTU) while no session exists. */
  len = tk_ipv4_packet(pkt, IP_A, IP_B, 1500, 0);
  TS_CHECK_INT(wg_device_tx_ip(w->a.dev, 0, pkt, len, &s), ==, WG_EMSGSIZE);
  TS_CHECK_INT(wg_device_last_drop(w->a.dev), ==, WG_DROP_PACKET_TOO_BIG);
  world_free(w);
}

TS_TEST(random_and_mutated_input_never_crashes) {
  world *w = world_new();
  tk_node *nodes[2] = {&w->a, &w->b};
  send_ip_from(&w->a, IP_A, IP_B, 0);
  tk_msg init = w->a.out[0];
  tk_pump(nodes, 2, 0);
  send_ip_from(&w->b, IP_B, IP_A, 1);
  tk_msg data = w->b.out[0];
  w->b.nout = 0;
  tk_rng rng = {.state = 42};
  uint8_t buf[300];
  int64_t now = 2 * S;
  for (int i = 0; i < 3000; i++) {
    uint8_t pick[4];
    tk_rng_fn(&rng, pick, 4);
    size_t len = pick[0] + (size_t)(pick[1] & 1) * 40;
    tk_rng_fn(&rng, buf, len);
    buf[0] = (uint8_t)(pick[2] % 6);
    if (len > 3) buf[1] = buf[2] = buf[3] = 0;
    wg_sink s = tk_sink(&w->b);
    TS_CHECK_INT(wg_device_rx_udp(w->b.dev, now++, &w->a.ep, buf, len, &s), ==, WG_EDROP);
  }
  /* Every single-bit flip of a valid initiation and data packet is refused. */
  for (size_t bit = 0; bit < init.len * 8; bit++) {
    memcpy(buf, init.data, init.len);
    buf[bit / 8] ^= (uint8_t)(1u << (bit % 8));
    wg_sink s = tk_sink(&w->b);
    TS_CHECK_INT(wg_device_rx_udp(w->b.dev, now++, &w->a.ep, buf, init.len, &s), ==, WG_EDROP);
  }
  for (size_t bit = 0; bit < data.len * 8; bit++) {
    memcpy(buf, data.data, data.len);
    buf[bit / 8] ^= (uint8_t)(1u << (bit % 8));
    wg_sink s = tk_sink(&w->a);
    TS_CHECK_INT(wg_device_rx_udp(w->a.dev, now++, &w->b.ep, buf, data.len, &s), ==, WG_EDROP);
  }
  /* The session still works after all that. */
  TS_CHECK_INT(feed(&w->a, &w->b, data.data, data.len, now), ==, WG_EV_NONE);
  world_free(w);
}

TS_TEST(every_negative_case_has_a_distinct_reason) {
  /* Runs after the others (registration order): the reasons collected above. */
  static const int expected[] = {
      WG_DROP_TRUNCATED, WG_DROP_OVERSIZED, WG_DROP_UNKNOWN_TYPE, WG_DROP_BAD_MAC1,
      WG_DROP_HANDSHAKE_DECRYPT, WG_DROP_UNKNOWN_PEER, WG_DROP_HANDSHAKE_REPLAY,
      WG_DROP_HANDSHAKE_FLOOD, WG_DROP_UNKNOWN_INDEX, WG_DROP_BAD_COOKIE_REPLY, WG_DROP_REPLAY,
      WG_DROP_DATA_DECRYPT, WG_DROP_DISALLOWED_SOURCE, WG_DROP_BAD_INNER_PACKET,
      WG_DROP_NO_ROUTE};
  size_t n = sizeof expected / sizeof expected[0];
  for (size_t i = 0; i < n; i++) {
    TS_CHECK(reasons_seen[expected[i]] > 0);
    for (size_t j = i + 1; j < n; j++) TS_CHECK(expected[i] != expected[j]);
    TS_CHECK(strcmp(wg_event_name(expected[i]), "unknown event") != 0);
  }
}
