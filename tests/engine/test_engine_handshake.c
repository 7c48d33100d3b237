/* Two (or three) engines handshaking in memory and exchanging data. */
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "engine_testkit.h"
#include "messages.h"
#include "tstest.h"

static const uint8_t IP_A[4] = {10, 0, 0, 1}, IP_B[4] = {10, 0, 0, 2}, IP_C[4] = {10, 0, 0, 3};

static tk_node *node_new(uint8_t seed, uint8_t host) {
  tk_node *n = malloc(sizeof *n);
  tk_node_init(n, seed, host, 51820, seed * 1000u + host, NULL);
  return n;
}

static void node_del(tk_node *n) {
  tk_node_free(n);
  free(n);
}

/* A and B peered with each other; A owns 10.0.0.1/32, B 10.0.0.2/32. */
static void pair(tk_node **a, tk_node **b, const uint8_t *psk_a, const uint8_t *psk_b) {
  *a = node_new(1, 1);
  *b = node_new(2, 2);
  tk_add_peer(*a, *b, psk_a, IP_B, 32);
  tk_add_peer(*b, *a, psk_b, IP_A, 32);
}

static int send_ip(tk_node *from, const uint8_t src[4], const uint8_t dst[4], size_t payload,
                   uint8_t fill, int64_t now) {
  uint8_t pkt[1500];
  size_t len = tk_ipv4_packet(pkt, src, dst, payload, fill);
  wg_sink s = tk_sink(from);
  return wg_device_tx_ip(from->dev, now, pkt, len, &s);
}

static void check_handshake_and_data(const uint8_t *psk) {
  tk_node *a, *b;
  pair(&a, &b, psk, psk);
  tk_node *nodes[2] = {a, b};
  /* No session yet: the packet is staged and an initiation goes out. */
  TS_CHECK_INT(send_ip(a, IP_A, IP_B, 80, 0xAB, 0), ==, WG_ESTAGED);
  TS_CHECK_INT(a->nout, ==, 1);
  TS_CHECK_INT(a->out[0].len, ==, WG_INIT_SIZE);
  TS_CHECK_INT(a->out[0].data[0], ==, WG_MSG_INITIATION);
  tk_pump(nodes, 2, 1000);
  TS_CHECK_INT(tk_count_event(a, WG_EV_HANDSHAKE_COMPLETE), ==, 1);
  TS_CHECK_INT(tk_count_event(b, WG_EV_HANDSHAKE_COMPLETE), ==, 1); /* confirmed by the data */
  TS_CHECK_INT(b->nip, ==, 1);
  TS_CHECK_INT(b->ip[0].len, ==, 100);
  TS_CHECK(b->ip[0].data[20] == 0xAB && b->ip[0].data[99] == 0xAB);
  TS_CHECK(b->ip[0].peer == wg_device_peer_at(b->dev, 0));
  /* B answers; A receives it. */
  TS_CHECK_INT(send_ip(b, IP_B, IP_A, 500, 0xCD, 2000), ==, WG_OK);
  TS_CHECK_INT(b->nout, ==, 1);
  /* 520-byte packet is padded to 528, plus 32 bytes of overhead. */
  TS_CHECK_INT(b->out[0].len, ==, 528 + 32);
  TS_CHECK_INT(b->out[0].data[0], ==, WG_MSG_TRANSPORT);
  TS_CHECK_INT(wg_get_le64(b->out[0].data + 8), ==, 0); /* responder's first counter */
  tk_pump(nodes, 2, 2000);
  TS_CHECK_INT(a->nip, ==, 1);
  TS_CHECK_INT(a->ip[0].len, ==, 520);
  TS_CHECK(a->ip[0].data[519] == 0xCD);
  /* Many packets both ways, all delivered in order. */
  for (int i = 0; i < 50; i++) {
    TS_CHECK_INT(send_ip(a, IP_A, IP_B, (size_t)i * 7, (uint8_t)i, 3000 + i), ==, WG_OK);
    TS_CHECK_INT(send_ip(b, IP_B, IP_A, (size_t)i * 5, (uint8_t)i, 3000 + i), ==, WG_OK);
  }
  tk_pump(nodes, 2, 4000);
  TS_CHECK_INT(b->nip, ==, 51);
  TS_CHECK_INT(a->nip, ==, 51);
  for (int i = 0; i < 50; i++) {
    TS_CHECK_INT(b->ip[1 + i].len, ==, 20 + i * 7);
    TS_CHECK_INT(a->ip[1 + i].len, ==, 20 + i * 5);
  }
  wg_peer_stats st;
  wg_peer_get_stats(wg_device_peer_at(a->dev, 0), &st);
  TS_CHECK(st.has_current_session);
  TS_CHECK_INT(st.tx_counter, ==, 51); /* 1 staged packet + 50 */
  TS_CHECK_INT(st.last_handshake_ns, ==, 1000);
  TS_CHECK(st.rx_bytes > 0 && st.tx_bytes > 0);
  node_del(a);
  node_del(b);
}

TS_TEST(handshake_and_data_both_ways_without_psk) { check_handshake_and_data(NULL); }

TS_TEST(handshake_and_data_both_ways_with_psk) {
  uint8_t psk[32];
  memset(psk, 0x5A, sizeof psk);
  check_handshake_and_data(psk);
}

TS_TEST(mismatched_psk_fails_at_initiator) {
  uint8_t psk1[32], psk2[32];
  memset(psk1, 1, 32);
  memset(psk2, 2, 32);
  tk_node *a, *b;
  pair(&a, &b, psk1, psk2);
  tk_node *nodes[2] = {a, b};
  send_ip(a, IP_A, IP_B, 10, 0, 0);
  tk_pump(nodes, 2, 0);
  /* The responder cannot tell; the initiator fails to open the empty payload. */
  TS_CHECK_INT(tk_count_event(b, WG_EV_RESPONSE_SENT), ==, 1);
  TS_CHECK_INT(tk_count_event(a, WG_DROP_HANDSHAKE_DECRYPT), ==, 1);
  TS_CHECK_INT(tk_count_event(a, WG_EV_HANDSHAKE_COMPLETE), ==, 0);
  TS_CHECK_INT(b->nip, ==, 0);
  node_del(a);
  node_del(b);
}

TS_TEST(transport_header_uses_peer_index_and_counters) {
  tk_node *a, *b;
  pair(&a, &b, NULL, NULL);
  send_ip(a, IP_A, IP_B, 10, 0, 0);
  /* Step the handshake by hand to look at the wire. */
  uint32_t a_index = wg_get_le32(a->out[0].data + WG_INIT_OFF_SENDER);
  tk_deliver(a, b, 0);
  TS_CHECK_INT(b->nout, ==, 1);
  TS_CHECK_INT(b->out[0].len, ==, WG_RESP_SIZE);
  TS_CHECK_INT(wg_get_le32(b->out[0].data + WG_RESP_OFF_RECEIVER), ==, a_index);
  uint32_t b_index = wg_get_le32(b->out[0].data + WG_RESP_OFF_SENDER);
  tk_deliver(b, a, 0);
  /* A sends the staged packet (counter 0) addressed to B's index. */
  TS_CHECK_INT(a->nout, ==, 1);
  TS_CHECK_INT(wg_get_le32(a->out[0].data + WG_DATA_OFF_RECEIVER), ==, b_index);
  TS_CHECK_INT(wg_get_le64(a->out[0].data + WG_DATA_OFF_COUNTER), ==, 0);
  TS_CHECK_INT(a->out[0].len, ==, 32 + 32); /* 30-byte packet padded to 32 */
  TS_CHECK_INT(send_ip(a, IP_A, IP_B, 10, 0, 1), ==, WG_OK);
  TS_CHECK_INT(wg_get_le64(a->out[1].data + WG_DATA_OFF_COUNTER), ==, 1);
  node_del(a);
  node_del(b);
}

TS_TEST(no_staged_data_sends_keepalive_for_confirmation) {
  tk_node *a, *b;
  pair(&a, &b, NULL, NULL);
  tk_node *nodes[2] = {a, b};
  wg_sink s = tk_sink(a);
  TS_CHECK_INT(wg_peer_initiate_handshake(wg_device_peer_at(a->dev, 0), 0, &s), ==, WG_OK);
  tk_deliver(a, b, 0);
  tk_deliver(b, a, 0);
  TS_CHECK_INT(a->nout, ==, 1);
  TS_CHECK_INT(a->out[0].len, ==, 32); /* keepalive: empty plaintext, no padding */
  tk_pump(nodes, 2, 0);
  TS_CHECK_INT(tk_count_event(b, WG_EV_KEEPALIVE_RECEIVED), ==, 1);
  TS_CHECK_INT(tk_count_event(b, WG_EV_HANDSHAKE_COMPLETE), ==, 1);
  TS_CHECK_INT(b->nip, ==, 0);
  node_del(a);
  node_del(b);
}

TS_TEST(several_peers_on_one_device) {
  tk_node *hub = node_new(9, 9), *a = node_new(1, 1), *b = node_new(2, 2);
  tk_add_peer(hub, a, NULL, IP_A, 32);
  tk_add_peer(hub, b, NULL, IP_B, 32);
  tk_add_peer(a, hub, NULL, IP_C, 32);
  tk_add_peer(b, hub, NULL, IP_C, 32);
  tk_node *nodes[3] = {hub, a, b};
  TS_CHECK_INT(wg_device_peer_count(hub->dev), ==, 2);
  send_ip(a, IP_A, IP_C, 10, 0xA, 0);
  send_ip(b, IP_B, IP_C, 10, 0xB, 0);
  tk_pump(nodes, 3, 0);
  TS_CHECK_INT(hub->nip, ==, 2);
  wg_peer *pa = wg_device_find_peer(hub->dev, a->pub), *pb = wg_device_find_peer(hub->dev, b->pub);
  TS_CHECK(pa && pb && pa != pb);
  for (size_t i = 0; i < hub->nip; i++)
    TS_CHECK(hub->ip[i].peer == (hub->ip[i].data[20] == 0xA ? pa : pb));
  /* The hub routes by destination to the right peer. */
  hub->nip = 0;
  send_ip(hub, IP_C, IP_B, 10, 0x1B, 1);
  send_ip(hub, IP_C, IP_A, 10, 0x1A, 1);
  tk_pump(nodes, 3, 1);
  TS_CHECK_INT(a->nip, ==, 1);
  TS_CHECK_INT(b->nip, ==, 1);
  TS_CHECK_INT(a->ip[0].data[20], ==, 0x1A);
  TS_CHECK_INT(b->ip[0].data[20], ==, 0x1B);
  /* Removing a peer stops routing to it and frees its indices. */
  TS_CHECK_INT(wg_device_remove_peer(hub->dev, pa), ==, WG_OK);
  TS_CHECK_INT(send_ip(hub, IP_C, IP_A, 10, 0, 2), ==, WG_ENOROUTE);
  TS_CHECK_INT(wg_device_last_drop(hub->dev), ==, WG_DROP_NO_ROUTE);
  TS_CHECK_INT(wg_device_remove_peer(hub->dev, pa), ==, WG_ENOENT);
  node_del(hub);
  node_del(a);
  node_del(b);
}

TS_TEST(duplicate_peer_and_bad_key_rejected) {
  tk_node *a = node_new(1, 1), *b = node_new(2, 2);
  TS_CHECK(tk_add_peer(a, b, NULL, NULL, 0) != NULL);
  wg_peer_config pc;
  memset(&pc, 0, sizeof pc);
  memcpy(pc.public_key, b->pub, 32);
  TS_CHECK_INT(wg_device_add_peer(a->dev, &pc, NULL), ==, WG_EEXIST);
  memset(pc.public_key, 0, 32); /* low-order point */
  TS_CHECK_INT(wg_device_add_peer(a->dev, &pc, NULL), ==, WG_EKEY);
  node_del(a);
  node_del(b);
}

TS_TEST(ipv6_allowed_ips_longest_prefix_routing) {
  tk_node *hub = node_new(9, 9), *a = node_new(1, 1), *b = node_new(2, 2);
  uint8_t net[16] = {0xfd, 0, 0, 0, 0, 0, 0, 0}, host_b[16] = {0xfd, [15] = 2};
  uint8_t host_hub[16] = {0xfd, [15] = 9}, host_x[16] = {0xfd, [15] = 5};
  wg_peer *pa = tk_add_peer(hub, a, NULL, NULL, 0), *pb = tk_add_peer(hub, b, NULL, NULL, 0);
  TS_CHECK_INT(wg_peer_add_allowed_ip(pa, 6, net, 64), ==, WG_OK);
  TS_CHECK_INT(wg_peer_add_allowed_ip(pb, 6, host_b, 128), ==, WG_OK);
  wg_peer *a_hub = tk_add_peer(a, hub, NULL, NULL, 0), *b_hub = tk_add_peer(b, hub, NULL, NULL, 0);
  wg_peer_add_allowed_ip(a_hub, 6, host_hub, 128);
  wg_peer_add_allowed_ip(b_hub, 6, host_hub, 128);
  TS_CHECK(wg_device_lookup_allowed_ip(hub->dev, 6, host_b) == pb);
  TS_CHECK(wg_device_lookup_allowed_ip(hub->dev, 6, host_x) == pa);
  tk_node *nodes[3] = {hub, a, b};
  uint8_t pkt[200];
  wg_sink s = tk_sink(hub);
  size_t len = tk_ipv6_packet(pkt, host_hub, host_b, 16, 0x66);
  TS_CHECK_INT(wg_device_tx_ip(hub->dev, 0, pkt, len, &s), ==, WG_ESTAGED);
  len = tk_ipv6_packet(pkt, host_hub, host_x, 16, 0x55);
  TS_CHECK_INT(wg_device_tx_ip(hub->dev, 0, pkt, len, &s), ==, WG_ESTAGED);
  tk_pump(nodes, 3, 0);
  TS_CHECK_INT(b->nip, ==, 1);
  TS_CHECK_INT(a->nip, ==, 1);
  TS_CHECK_INT(b->ip[0].len, ==, 56);
  TS_CHECK_INT(b->ip[0].data[40], ==, 0x66);
  TS_CHECK_INT(a->ip[0].data[40], ==, 0x55);
  /* And back: b's reply with source fd00::2 is accepted by the hub. */
  wg_sink sb = tk_sink(b);
  len = tk_ipv6_packet(pkt, host_b, host_hub, 8, 0x77);
  TS_CHECK_INT(wg_device_tx_ip(b->dev, 1, pkt, len, &sb), ==, WG_OK);
  tk_pump(nodes, 3, 1);
  TS_CHECK_INT(hub->nip, ==, 1);
  TS_CHECK(hub->ip[0].peer == pb);
  node_del(hub);
  node_del(a);
  node_del(b);
}

TS_TEST(endpoint_roaming_follows_authenticated_packets) {
  tk_node *a, *b;
  pair(&a, &b, NULL, NULL);
  tk_node *nodes[2] = {a, b};
  send_ip(a, IP_A, IP_B, 10, 0, 0);
  tk_pump(nodes, 2, 0);
  wg_peer *b_to_a = wg_device_peer_at(b->dev, 0);
  TS_CHECK(wg_endpoint_equal(wg_peer_endpoint(b_to_a), &a->ep));
  /* A moves to a new address and port (e.g. Wi-Fi to cellular). */
  uint8_t new_addr[4] = {198, 51, 100, 7};
  a->ep = wg_endpoint_ipv4(new_addr, 40000);
  a->send_from = a->ep;
  send_ip(a, IP_A, IP_B, 10, 0, 1);
  tk_pump(nodes, 2, 1);
  TS_CHECK_INT(tk_count_event(b, WG_EV_ENDPOINT_CHANGED), ==, 1);
  TS_CHECK(wg_endpoint_equal(wg_peer_endpoint(b_to_a), &a->ep));
  /* B's replies now reach A at its new address. */
  TS_CHECK_INT(send_ip(b, IP_B, IP_A, 10, 0x42, 2), ==, WG_OK);
  TS_CHECK(wg_endpoint_equal(&b->out[0].ep, &a->ep));
  tk_pump(nodes, 2, 2);
  TS_CHECK_INT(a->nip, ==, 1);
  /* A forged (unauthenticated) packet from elsewhere must not move the endpoint. */
  uint8_t evil_addr[4] = {203, 0, 113, 66};
  wg_endpoint evil = wg_endpoint_ipv4(evil_addr, 666);
  uint8_t junk[64] = {4};
  wg_sink s = tk_sink(b);
  TS_CHECK_INT(wg_device_rx_udp(b->dev, 3, &evil, junk, sizeof junk, &s), ==, WG_EDROP);
  TS_CHECK(wg_endpoint_equal(wg_peer_endpoint(b_to_a), &a->ep));
  node_del(a);
  node_del(b);
}

TS_TEST(responder_without_endpoint_learns_it) {
  tk_node *a = node_new(1, 1), *b = node_new(2, 2);
  tk_add_peer(a, b, NULL, IP_B, 32);
  wg_peer_config pc;
  memset(&pc, 0, sizeof pc);
  memcpy(pc.public_key, a->pub, 32);
  wg_peer *p;
  TS_CHECK_INT(wg_device_add_peer(b->dev, &pc, &p), ==, WG_OK);
  wg_peer_add_allowed_ip(p, 4, IP_A, 32);
  /* B cannot start: no endpoint. */
  TS_CHECK_INT(send_ip(b, IP_B, IP_A, 10, 0, 0), ==, WG_ESTAGED);
  TS_CHECK_INT(b->nout, ==, 0);
  TS_CHECK(tk_count_event(b, WG_EV_NO_ENDPOINT) >= 1);
  tk_node *nodes[2] = {a, b};
  send_ip(a, IP_A, IP_B, 10, 0, 6 * WG_NS_PER_S);
  tk_pump(nodes, 2, 6 * WG_NS_PER_S);
  TS_CHECK(wg_endpoint_equal(wg_peer_endpoint(p), &a->ep));
  /* B's staged packet went out once the session was confirmed. */
  TS_CHECK_INT(a->nip, ==, 1);
  TS_CHECK_INT(b->nip, ==, 1);
  node_del(a);
  node_del(b);
}

TS_TEST(staged_queue_is_bounded_and_keeps_newest) {
  wg_device_config cfg;
  memset(&cfg, 0, sizeof cfg);
  cfg.staged_packets = 4;
  tk_node a, b;
  tk_node_init(&a, 1, 1, 51820, 11, &cfg);
  tk_node_init(&b, 2, 2, 51820, 22, NULL);
  tk_add_peer(&a, &b, NULL, IP_B, 32);
  tk_add_peer(&b, &a, NULL, IP_A, 32);
  for (int i = 0; i < 6; i++) TS_CHECK_INT(send_ip(&a, IP_A, IP_B, 4, (uint8_t)i, 0), ==, WG_ESTAGED);
  TS_CHECK_INT(tk_count_event(&a, WG_DROP_STAGED_OVERFLOW), ==, 2);
  TS_CHECK_INT(tk_count_sent_type(&a, WG_MSG_INITIATION), ==, 1); /* one per REKEY_TIMEOUT */
  tk_node *nodes[2] = {&a, &b};
  tk_pump(nodes, 2, 0);
  TS_CHECK_INT(b.nip, ==, 4);
  for (int i = 0; i < 4; i++) TS_CHECK_INT(b.ip[i].data[20], ==, i + 2);
  /* Packets larger than the MTU-sized staging slot are refused while staging. */
  tk_node_free(&a);
  tk_node_free(&b);
}

TS_TEST(keylog_lines_for_wireshark) {
  uint8_t psk[32];
  memset(psk, 0x33, sizeof psk);
  wg_device_config cfg;
  memset(&cfg, 0, sizeof cfg);
  cfg.keylog = 1;
  tk_node a, b;
  tk_node_init(&a, 1, 1, 51820, 5, &cfg);
  tk_node_init(&b, 2, 2, 51820, 6, &cfg);
  tk_add_peer(&a, &b, psk, IP_B, 32);
  tk_add_peer(&b, &a, psk, IP_A, 32);
  send_ip(&a, IP_A, IP_B, 10, 0, 0);
  char want[128], b64[WG_BASE64_KEY_LEN];
  wg_key_to_base64(b64, a.priv);
  snprintf(want, sizeof want, "LOCAL_STATIC_PRIVATE_KEY = %s\n", b64);
  TS_CHECK(strstr(a.keylog, want) == a.keylog);
  wg_key_to_base64(b64, b.pub);
  snprintf(want, sizeof want, "REMOTE_STATIC_PUBLIC_KEY = %s\n", b64);
  TS_CHECK(strstr(a.keylog, want) != NULL);
  TS_CHECK(strstr(a.keylog, "LOCAL_EPHEMERAL_PRIVATE_KEY = ") != NULL);
  wg_key_to_base64(b64, psk);
  snprintf(want, sizeof want, "PRESHARED_KEY = %s\n", b64);
  /* The PSK line must follow the ephemeral line it belongs to. */
  TS_CHECK(strstr(a.keylog, want) > strstr(a.keylog, "LOCAL_EPHEMERAL_PRIVATE_KEY"));
  /* The logged ephemeral private key must match the initiation's ephemeral public. */
  const char *e = strstr(a.keylog, "LOCAL_EPHEMERAL_PRIVATE_KEY = ") + 30;
  char eb64[WG_BASE64_KEY_LEN];
  memcpy(eb64, e, 44);
  eb64[44] = 0;
  uint8_t epriv[32], epub[32];
  TS_CHECK_INT(wg_key_from_base64(epriv, eb64), ==, WG_OK);
  wg_key_public_from_private(epub, epriv);
  TS_CHECK_MEM(epub, a.out[0].data + WG_INIT_OFF_EPHEMERAL, 32);
  tk_node *nodes[2] = {&a, &b};
  tk_pump(nodes, 2, 0);
  TS_CHECK(strstr(b.keylog, "LOCAL_EPHEMERAL_PRIVATE_KEY = ") != NULL); /* responder side too */
  tk_node_free(&a);
  tk_node_free(&b);
}

TS_TEST(simultaneous_initiations_converge) {
  tk_node *a, *b;
  pair(&a, &b, NULL, NULL);
  tk_node *nodes[2] = {a, b};
  send_ip(a, IP_A, IP_B, 10, 1, 0);
  send_ip(b, IP_B, IP_A, 10, 2, 0);
  tk_pump(nodes, 2, 0);
  /* Whatever order, both staged packets are eventually delivered. */
  for (int64_t t = 0; t < 30 * WG_NS_PER_S && (a->nip < 1 || b->nip < 1);) {
    int64_t next = wg_device_next_deadline(a->dev);
    int64_t nb = wg_device_next_deadline(b->dev);
    if (nb < next) next = nb;
    t = next;
    wg_sink sa = tk_sink(a), sb = tk_sink(b);
    wg_device_tick(a->dev, t, &sa);
    wg_device_tick(b->dev, t, &sb);
    tk_pump(nodes, 2, t);
  }
  TS_CHECK_INT(a->nip, >=, 1);
  TS_CHECK_INT(b->nip, >=, 1);
  node_del(a);
  node_del(b);
}

TS_TEST(endpoint_helpers) {
  uint8_t v6[16] = {0x20, 0x01, 0x0d, 0xb8, [15] = 1};
  wg_endpoint e6 = wg_endpoint_ipv6(v6, 51820), back;
  char buf[64];
  TS_CHECK_INT(wg_endpoint_format(&e6, buf, sizeof buf), ==, WG_OK);
  TS_CHECK_STR(buf, "[2001:db8::1]:51820");
  uint8_t v4[4] = {192, 0, 2, 1};
  wg_endpoint e4 = wg_endpoint_ipv4(v4, 443);
  TS_CHECK_INT(wg_endpoint_format(&e4, buf, sizeof buf), ==, WG_OK);
  TS_CHECK_STR(buf, "192.0.2.1:443");
  TS_CHECK_INT(wg_endpoint_format(&e4, buf, 5), ==, WG_EINVAL);
  struct sockaddr_storage ss;
  size_t sl;
  TS_CHECK_INT(wg_endpoint_to_sockaddr(&e6, (struct sockaddr *)&ss, &sl), ==, WG_OK);
  TS_CHECK_INT(wg_endpoint_from_sockaddr(&back, (struct sockaddr *)&ss), ==, WG_OK);
  TS_CHECK(wg_endpoint_equal(&back, &e6));
  TS_CHECK(!wg_endpoint_equal(&e4, &e6));
  TS_CHECK_STR(wg_strerror(WG_ENOROUTE), "no peer for destination address");
  TS_CHECK(strcmp(wg_event_name(WG_DROP_REPLAY), wg_event_name(WG_DROP_BAD_MAC1)) != 0);
}
