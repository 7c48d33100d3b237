/* The relay's side of in-tunnel negotiation (ts_relay_config.negotiation), driven by
 * a hand-built client that is a miniature of the provider's mux:
 *
 *   client 192.0.2.2 (ts_wgdev initiator on UDP :51821, and an lwIP instance
 *     10.64.0.2/32 whose packets go straight into the engine and which gets every
 *     decrypted packet)  --10 ms--  relay 192.0.2.1 (wg :51820, gateway 10.64.0.1,
 *     its own lwIP instance listening on 10.64.0.1:1337)
 *
 * The client makes a tunnel with its parent key, opens TCP to 10.64.0.1:1337 through
 * it, sends a request (parent key, ephemeral key), reads the response, and switches:
 * the ephemeral key becomes its engine's key (wg_device_set_private_key) and the
 * derived PSK its relay peer's; a new handshake follows. The relay registered the
 * ephemeral key as a second peer with the PSK and moves the client's address to it
 * when it handshakes (MV-CODE ephemeralpeer.proto: "A handshake from the normal peer
 * unloads the corresponding ephemeral peer from WireGuard and vice versa").
 * Controls: a client that switches without the PSK sees its new handshake fail (so
 * the relay's key is real); a client that stays on its parent key keeps working and
 * the relay drops the ephemeral peer; going back to the parent key later (a new
 * process) does the same; a second negotiation replaces the ephemeral peer; an
 * unknown parent key, or another peer's, is refused and changes nothing; other
 * gateway ports get lwIP's answers instead of the NAT; garbage is reset; with
 * negotiation off nothing answers on 1337; a run is reproducible after a world reset
 * and gives its lwIP instances back. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ts_native.h"
#include "ts_negotiation.h"
#include "ts_net.h"
#include "ts_netstack.h"
#include "ts_relay.h"
#include "ts_wgdev.h"
#include "tstest.h"
#include "tstest_net.h"

#define CLIENT_PORT 51821
#define LINK_DELAY (10 * TS_MS)
#define PING_ID 0x6e67
#define ICMP_UNREACHABLE 3
#define ICMP_PORT_UNREACHABLE 3

enum mode {
  MODE_NORMAL,          /* the provider's behaviour */
  MODE_NO_PSK,          /* switch to the ephemeral key but leave the PSK out */
  MODE_PARENT_STAYS,    /* read the response, stay on the parent key, rehandshake */
  MODE_BACK_TO_PARENT,  /* normal, then at 6 s back on the parent key (a new process) */
  MODE_TWICE,           /* normal, then at 6 s a second negotiation from the ephemeral key */
  MODE_UNKNOWN_PARENT,  /* a parent key the relay does not know */
  MODE_OTHER_PEER,      /* the key of another of the relay's peers */
  MODE_GARBAGE,         /* not the protocol at all */
  MODE_OTHER_PORT,      /* TCP to a gateway port nobody listens on */
};

typedef struct client {
  ts_host *host;
  ts_wgdev *dev;
  wg_peer *relay_peer;
  ts_netstack *stack;
  ts_netstack_tcp *conn;
  enum mode mode;
  uint8_t parent[WG_KEY_LEN], parent_priv[WG_KEY_LEN];
  uint8_t eph_priv[TS_NEG_KEY_LEN], eph_pub[TS_NEG_KEY_LEN], psk[TS_NEG_KEY_LEN];
  uint8_t first_eph_pub[TS_NEG_KEY_LEN]; /* the first negotiation's, for MODE_TWICE */
  uint32_t responses;
  ts_neg_reader reader;
  int status;         /* response status, -1 before one arrived */
  bool connected, eof;
  int closed_reason;  /* 0: not closed by the network */
  ts_time responded_at;
  uint32_t handshakes, decrypt_drops, echo_replies, port_unreachables;
  int last_drop;      /* the engine's most recent drop reason, WG_EV_NONE if none */
  uint32_t request_sent; /* bytes of the request written so far */
  uint8_t request[TS_NEG_REQUEST_LEN];
} client;

typedef struct testbed {
  ts_world *w;
  ts_net *net;
  ts_host *relay_host;
  ts_relay *relay;
  client cl;
  ts_ipaddr gateway, client_addr, relay_addr;
  uint8_t client_pub[WG_KEY_LEN], other_pub[WG_KEY_LEN];
  uint32_t neg_events, neg_ok_events;
  char last_neg_detail[128];
  uint32_t relay_disallowed;  /* the relay's engine: drops for a disallowed inner source */
  char eph_events[8][24];     /* "relay-ephemeral-peer" details, first word only */
  uint32_t eph_event_count;
} testbed;

/* ---------------------------------------------------------------- the client */

static void client_send_udp(void *ctx, const wg_endpoint *to, const uint8_t *data, size_t len) {
  client *cl = ctx;
  ts_world *w = ts_host_world(cl->host);
  ts_ipaddr dst = {.family = 4}, src;
  memcpy(dst.bytes, to->addr, 4);
  if (!ts_host_source_for(cl->host, &dst, &src)) return;
  uint32_t need = (uint32_t)(TS_IPV4_HEADER + TS_UDP_HEADER + len);
  ts_packet *p = ts_packet_alloc(ts_world_pool(w), need);
  if (!p) return;
  p->len = ts_ip_build_udp(p->data, need, &src, &dst, CLIENT_PORT, to->port, data, (uint32_t)len);
  ts_host_send(cl->host, p);
}

/* Every decrypted packet goes to the client's stack (the mux would pick the flows it
 * opened; this client opens all of them). */
static void client_deliver_ip(void *ctx, const uint8_t *pkt, size_t len) {
  client *cl = ctx;
  ts_ip_info info;
  if (ts_ip_parse(pkt, (uint32_t)len, &info) == 0 && info.proto == TS_IPPROTO_ICMP &&
      info.icmp_type == ICMP_UNREACHABLE && info.icmp_code == ICMP_PORT_UNREACHABLE)
    cl->port_unreachables++;
  ts_netstack_input(cl->stack, pkt, (uint32_t)len);
}

static void client_on_event(void *ctx, int event, wg_peer *peer) {
  client *cl = ctx;
  (void)peer;
  if (event == WG_EV_HANDSHAKE_COMPLETE) cl->handshakes++;
  if (event == WG_DROP_HANDSHAKE_DECRYPT) cl->decrypt_drops++;
  if (event >= WG_DROP_FIRST) cl->last_drop = event;
}

static void client_on_udp(void *ctx, ts_host *h, const ts_ip_info *info, const uint8_t *payload,
                          uint32_t len) {
  client *cl = ctx;
  (void)h;
  wg_endpoint from = wg_endpoint_ipv4(info->src.bytes, info->sport);
  ts_wgdev_rx_udp(cl->dev, &from, payload, len);
}

/* The stack's packets go straight into the engine, as the provider's mux sends them. */
static void client_stack_output(void *ctx, ts_packet *pkt) {
  client *cl = ctx;
  ts_wgdev_tx_ip(cl->dev, pkt->data, pkt->len);
  ts_packet_free(ts_world_pool(ts_host_world(cl->host)), pkt);
}

static void client_on_echo(void *ctx, ts_netstack *ns, const ts_netstack_echo *reply) {
  client *cl = ctx;
  (void)ns;
  if (reply->id == PING_ID) cl->echo_replies++;
}

static void neg_connected(void *ctx, ts_netstack_tcp *c) {
  client *cl = ctx;
  cl->connected = true;
  if (cl->mode == MODE_GARBAGE) {
    static const char http[] = "GET / HTTP/1.1\r\nHost: 10.64.0.1\r\n\r\n";
    ts_netstack_tcp_write(c, http, sizeof http - 1);
    return;
  }
  ts_neg_request req;
  memcpy(req.parent_public, cl->parent, WG_KEY_LEN);
  memcpy(req.ephemeral_public, cl->eph_pub, TS_NEG_KEY_LEN);
  ts_neg_request_encode(&req, cl->request);
  /* The first 10 bytes now, the rest once they are acknowledged: two segments, so
   * the relay's reader sees the request in pieces. */
  cl->request_sent = (uint32_t)ts_netstack_tcp_write(c, cl->request, 10);
}

static void neg_sent(void *ctx, ts_netstack_tcp *c, uint32_t acked) {
  client *cl = ctx;
  (void)acked;
  if (cl->mode == MODE_GARBAGE || cl->request_sent == 0 || cl->request_sent >= sizeof cl->request)
    return;
  int n = ts_netstack_tcp_write(c, cl->request + cl->request_sent,
                                (uint32_t)sizeof cl->request - cl->request_sent);
  if (n > 0) cl->request_sent += (uint32_t)n;
}

static void neg_data(void *ctx, ts_netstack_tcp *c, const uint8_t *data, uint32_t len) {
  client *cl = ctx;
  (void)c;
  if (ts_neg_reader_feed(&cl->reader, data, len, NULL) != TS_NEG_READER_DONE) return;
  ts_neg_response resp;
  if (ts_neg_reader_response(&cl->reader, &resp) != TS_OK) return;
  cl->status = resp.status;
  cl->responses++;
  cl->responded_at = ts_world_now(ts_host_world(cl->host));
  if (resp.status == TS_NEG_STATUS_OK &&
      ts_neg_derive_psk(cl->psk, cl->eph_priv, resp.ephemeral_public, cl->eph_pub,
                        resp.ephemeral_public) != TS_OK)
    return;
  /* The provider's step: the ephemeral key pair it sent becomes the engine's identity
   * and the PSK the relay peer's. The controls leave one out; a refused client stays
   * as it is. Any key change re-opens the engine's 5 s initiation gate (the first
   * handshake was 2 s ago), so the new handshake goes out at once. */
  bool ok = resp.status == TS_NEG_STATUS_OK;
  bool switch_key = ok && cl->mode != MODE_PARENT_STAYS;
  bool install = ok && cl->mode != MODE_PARENT_STAYS && cl->mode != MODE_NO_PSK;
  if (switch_key) wg_device_set_private_key(ts_wgdev_engine(cl->dev), cl->eph_priv);
  wg_peer_set_preshared_key(cl->relay_peer, install ? cl->psk : NULL);
  ts_wgdev_initiate_handshake(cl->dev, cl->relay_peer);
}

static void neg_eof(void *ctx, ts_netstack_tcp *c) {
  client *cl = ctx;
  cl->eof = true;
  ts_netstack_tcp_close(c);
  cl->conn = NULL;
}

static void neg_closed(void *ctx, ts_netstack_tcp *c, int reason) {
  client *cl = ctx;
  (void)c;
  cl->closed_reason = reason;
  cl->conn = NULL;
}

static void client_negotiate(void *obj, uint64_t arg) {
  testbed *tb = obj;
  client *cl = &tb->cl;
  ts_rng rng;
  /* One stream per negotiation: a second one needs a key of its own. */
  ts_world_rng(tb->w, arg ? "test/client-negotiation/2" : "test/client-negotiation", &rng);
  if (arg) {
    memcpy(cl->first_eph_pub, cl->eph_pub, TS_NEG_KEY_LEN);
    cl->status = -1;
    cl->connected = cl->eof = false;
    cl->closed_reason = 0;
    cl->request_sent = 0;
  }
  if (ts_neg_keypair(cl->eph_priv, cl->eph_pub, &rng) != TS_OK) return;
  memcpy(cl->parent, tb->client_pub, WG_KEY_LEN);
  if (cl->mode == MODE_UNKNOWN_PARENT) ts_rng_fill(&rng, cl->parent, WG_KEY_LEN);
  if (cl->mode == MODE_OTHER_PEER) memcpy(cl->parent, tb->other_pub, WG_KEY_LEN);
  ts_neg_reader_init(&cl->reader, TS_NEG_RESPONSE);
  static const ts_netstack_tcp_callbacks cb = {
      .connected = neg_connected, .data = neg_data, .eof = neg_eof, .sent = neg_sent,
      .closed = neg_closed};
  uint16_t port = cl->mode == MODE_OTHER_PORT ? 80 : TS_NEG_PORT;
  ts_netstack_tcp_connect(cl->stack, &tb->gateway, port, &cb, cl, &cl->conn);
}

/* Like a relaunched process: the parent key again, no PSK, a new handshake. */
static void client_back_to_parent(void *obj, uint64_t arg) {
  testbed *tb = obj;
  client *cl = &tb->cl;
  (void)arg;
  wg_device_set_private_key(ts_wgdev_engine(cl->dev), cl->parent_priv);
  wg_peer_set_preshared_key(cl->relay_peer, NULL);
  ts_wgdev_initiate_handshake(cl->dev, cl->relay_peer);
}

static void client_ping(void *obj, uint64_t seq) {
  testbed *tb = obj;
  static const uint8_t payload[32] = {1, 2, 3};
  ts_netstack_ping(tb->cl.stack, &tb->gateway, PING_ID, (uint16_t)seq, payload, sizeof payload);
}

/* A UDP datagram to the gateway's port 53, which nobody serves there. */
static void client_udp_to_gateway(void *obj, uint64_t arg) {
  testbed *tb = obj;
  (void)arg;
  uint8_t pkt[128];
  static const uint8_t payload[8] = {0};
  uint32_t len = ts_ip_build_udp(pkt, sizeof pkt, &tb->client_addr, &tb->gateway, 40053, 53,
                                 payload, sizeof payload);
  ts_wgdev_tx_ip(tb->cl.dev, pkt, len);
}

/* ---------------------------------------------------------------- the world */

static void on_trace_event(void *ctx, ts_time now, const char *kind, const char *subject,
                           const char *detail) {
  testbed *tb = ctx;
  (void)now;
  if (!strcmp(kind, "wg") && subject && !strcmp(subject, "relay") && detail &&
      !strcmp(detail, wg_event_name(WG_DROP_DISALLOWED_SOURCE)))
    tb->relay_disallowed++;
  if (!strcmp(kind, "relay-ephemeral-peer") && detail && tb->eph_event_count < 8) {
    char *e = tb->eph_events[tb->eph_event_count++];
    snprintf(e, sizeof tb->eph_events[0], "%s", detail);
    char *sp = strchr(e, ' ');
    if (sp) *sp = 0;
    return;
  }
  if (strcmp(kind, "relay-negotiation") != 0) return;
  tb->neg_events++;
  if (detail && strncmp(detail, "ok", 2) == 0) tb->neg_ok_events++;
  snprintf(tb->last_neg_detail, sizeof tb->last_neg_detail, "%s", detail ? detail : "");
}

static void random_key(ts_rng *rng, uint8_t key[WG_KEY_LEN]) {
  ts_rng_fill(rng, key, WG_KEY_LEN);
  wg_key_clamp(key);
}

static int build(testbed *tb, enum mode mode, bool negotiation) {
  ts_world *w = tb->w;
  memset(&tb->cl, 0, sizeof tb->cl);
  tb->cl.mode = mode;
  tb->cl.status = -1;
  tb->neg_events = tb->neg_ok_events = tb->eph_event_count = tb->relay_disallowed = 0;
  tb->last_neg_detail[0] = 0;
  ts_trace_set_event_listener(ts_world_trace(w), on_trace_event, tb);
  tb->gateway = ts_test_addr("10.64.0.1");
  tb->client_addr = ts_test_addr("10.64.0.2");
  tb->relay_addr = ts_test_addr("192.0.2.1");

  if (ts_net_create(w, &tb->net)) return -1;
  ts_net_add_host(tb->net, "client", &tb->cl.host);
  ts_net_add_host(tb->net, "relay", &tb->relay_host);
  ts_ipprefix p_client = ts_test_prefix("192.0.2.2/24"), p_relay = ts_test_prefix("192.0.2.1/24");
  uint32_t i_client, i_relay;
  ts_host_add_interface(tb->cl.host, "eth0", &p_client, 1, &i_client);
  ts_host_add_interface(tb->relay_host, "eth0", &p_relay, 1, &i_relay);
  ts_link_params lp = {.mtu = 1500, .queue_limit = 100, .up = true, .delay = LINK_DELAY};
  ts_link_id l;
  if (ts_net_connect(tb->net, "client-relay", &lp, tb->cl.host, i_client, tb->relay_host, i_relay,
                     &l))
    return -2;

  uint8_t client_priv[WG_KEY_LEN], relay_priv[WG_KEY_LEN], relay_pub[WG_KEY_LEN];
  ts_rng keys;
  ts_world_rng(w, "test/keys", &keys);
  random_key(&keys, client_priv);
  random_key(&keys, relay_priv);
  if (wg_key_public_from_private(tb->client_pub, client_priv) != WG_OK) return -3;
  memcpy(tb->cl.parent_priv, client_priv, WG_KEY_LEN);
  if (wg_key_public_from_private(relay_pub, relay_priv) != WG_OK) return -3;
  uint8_t other_priv[WG_KEY_LEN];
  random_key(&keys, other_priv);
  if (wg_key_public_from_private(tb->other_pub, other_priv) != WG_OK) return -3;

  /* The relay knows the client, without a PSK (the negotiation brings one), and
   * another client at 10.64.0.3. */
  ts_relay_peer rp[2];
  memset(rp, 0, sizeof rp);
  memcpy(rp[0].public_key, tb->client_pub, WG_KEY_LEN);
  rp[0].allowed_ips[0] = ts_test_prefix("10.64.0.2/32");
  rp[0].allowed_ip_count = 1;
  memcpy(rp[1].public_key, tb->other_pub, WG_KEY_LEN);
  rp[1].allowed_ips[0] = ts_test_prefix("10.64.0.3/32");
  rp[1].allowed_ip_count = 1;
  ts_relay_config rc;
  memset(&rc, 0, sizeof rc);
  memcpy(rc.private_key, relay_priv, WG_KEY_LEN);
  rc.peers = rp;
  rc.peer_count = 2;
  rc.negotiation = negotiation;
  int err = ts_relay_create(tb->relay_host, &rc, &tb->relay);
  if (err) return err;

  client *cl = &tb->cl;
  ts_wgdev_config dc = {.name = "client",
                        .transport = {.send_udp = client_send_udp,
                                      .deliver_ip = client_deliver_ip,
                                      .on_event = client_on_event,
                                      .ctx = cl}};
  memcpy(dc.private_key, client_priv, WG_KEY_LEN);
  if (ts_wgdev_create(w, &dc, &cl->dev)) return -4;
  if (ts_host_bind_udp(cl->host, CLIENT_PORT, client_on_udp, cl)) return -4;
  wg_peer_config pc = {.endpoint = wg_endpoint_ipv4(tb->relay_addr.bytes, TS_RELAY_DEFAULT_PORT)};
  memcpy(pc.public_key, relay_pub, WG_KEY_LEN);
  if (ts_wgdev_add_peer(cl->dev, &pc, &cl->relay_peer) != WG_OK) return -4;
  if (wg_peer_add_allowed_ip(cl->relay_peer, 4, (const uint8_t[4]){0}, 0) != WG_OK) return -4;

  ts_rng seed;
  ts_world_rng(w, "test/client-stack", &seed);
  ts_netstack_config nc = {.name = "client/tunnel",
                           .seed = ts_rng_next(&seed),
                           .addr4 = ts_test_prefix("10.64.0.2/32"),
                           .mtu = 1280,
                           .output = client_stack_output,
                           .output_ctx = cl};
  err = ts_netstack_create(w, &nc, &cl->stack);
  if (err) return err;
  ts_netstack_set_echo_handler(cl->stack, client_on_echo, cl);

  /* Tunnel up at 0; a ping at 1 s; the negotiation at 2 s; pings at 3 and 4 s. */
  ts_wgdev_send_keepalive(cl->dev, cl->relay_peer);
  ts_world_schedule(w, 1 * TS_SEC, client_ping, tb, 1, NULL);
  ts_world_schedule(w, 2 * TS_SEC, client_negotiate, tb, 0, NULL);
  ts_world_schedule(w, 3 * TS_SEC, client_ping, tb, 2, NULL);
  ts_world_schedule(w, 4 * TS_SEC, client_ping, tb, 3, NULL);
  if (mode == MODE_OTHER_PORT) ts_world_schedule(w, 5 * TS_SEC, client_udp_to_gateway, tb, 0, NULL);
  /* The later steps, then pings at 7 and 8 s. */
  if (mode == MODE_BACK_TO_PARENT)
    ts_world_schedule(w, 6 * TS_SEC, client_back_to_parent, tb, 0, NULL);
  if (mode == MODE_TWICE) ts_world_schedule(w, 6 * TS_SEC, client_negotiate, tb, 1, NULL);
  if (mode == MODE_BACK_TO_PARENT || mode == MODE_TWICE) {
    ts_world_schedule(w, 7 * TS_SEC, client_ping, tb, 4, NULL);
    ts_world_schedule(w, 8 * TS_SEC, client_ping, tb, 5, NULL);
  }
  return 0;
}

/* A fresh world with seed `seed`, the testbed in `mode`, run until `until`. */
static int start(testbed *tb, uint64_t seed, enum mode mode, bool negotiation, ts_time until) {
  memset(tb, 0, sizeof *tb);
  int rc = ts_world_create(&tb->w, &ts_native_backend, seed);
  if (!rc) rc = build(tb, mode, negotiation);
  if (!rc) rc = ts_world_run_until(tb->w, until);
  return rc;
}

static wg_device *relay_engine(testbed *tb) { return ts_wgdev_engine(ts_relay_wgdev(tb->relay)); }

static wg_peer *relay_peer_of_client(testbed *tb) {
  return wg_device_find_peer(relay_engine(tb), tb->client_pub);
}

/* The relay peer the client's tunnel address routes to. */
static wg_peer *relay_owner_of_client(testbed *tb) {
  return wg_device_lookup_allowed_ip(relay_engine(tb), 4, tb->client_addr.bytes);
}

static size_t allowed_ips(const wg_peer *p) { return wg_peer_get_allowed_ips(p, NULL, 0); }

static wg_peer_stats peer_stats(const wg_peer *p) {
  wg_peer_stats st;
  wg_peer_get_stats(p, &st);
  return st;
}

/* The relay's ephemeral-peer events so far, first words joined: "registered loaded". */
static const char *eph_story(testbed *tb) {
  static char out[200];
  out[0] = 0;
  for (uint32_t i = 0; i < tb->eph_event_count; i++) {
    if (i) strcat(out, " ");
    strcat(out, tb->eph_events[i]);
  }
  return out;
}

/* ---------------------------------------------------------------- tests */

TS_TEST(negotiation_registers_an_ephemeral_peer_and_the_client_moves_to_it) {
  static testbed tb;
  TS_CHECK_INT(start(&tb, 11, MODE_NORMAL, true, 10 * TS_SEC), ==, 0);
  TS_CHECK(ts_relay_netstack(tb.relay) != NULL);
  client *cl = &tb.cl;

  /* The exchange: connected through the tunnel, one response, closed by the relay. */
  TS_CHECK(cl->connected);
  TS_CHECK_INT(cl->status, ==, TS_NEG_STATUS_OK);
  TS_CHECK(cl->eof);
  TS_CHECK_INT(cl->closed_reason, ==, 0);
  /* Three round trips after 2 s (SYN, first piece, second piece and response), plus
   * the relay's delayed ACK of the first piece (lwIP acknowledges a lone segment on
   * its next 250 ms fast timer), with no retransmission. */
  TS_CHECK_INT(cl->responded_at, >=, 2 * TS_SEC + 6 * LINK_DELAY);
  TS_CHECK_INT(cl->responded_at, <=, 2 * TS_SEC + 6 * LINK_DELAY + 250 * TS_MS);
  ts_relay_stats rs;
  ts_relay_get_stats(tb.relay, &rs);
  TS_CHECK_INT(rs.negotiations_ok, ==, 1);
  TS_CHECK_INT(rs.negotiations_refused, ==, 0);
  TS_CHECK_INT(rs.negotiations_aborted, ==, 0);
  /* SYN, ACK + 10 bytes, 58 bytes, then the client's ACK and FIN of the close. */
  TS_CHECK_INT(cl->request_sent, ==, TS_NEG_REQUEST_LEN);
  TS_CHECK(rs.gateway_stack_in >= 4);
  TS_CHECK_INT(rs.nat_mappings, ==, 0); /* nothing to the gateway went to the NAT */
  TS_CHECK_INT(rs.dropped, ==, 0);
  TS_CHECK_INT(tb.neg_events, ==, 1);
  TS_CHECK_INT(tb.neg_ok_events, ==, 1);

  /* The relay: a second peer for the client, with the ephemeral key; once it
   * handshook, the client's address routes to it and the parent holds none. */
  wg_device *re = relay_engine(&tb);
  TS_CHECK_INT(wg_device_peer_count(re), ==, 3); /* parent, the other client, ephemeral */
  wg_peer *parent = relay_peer_of_client(&tb);
  wg_peer *eph = wg_device_find_peer(re, cl->eph_pub);
  TS_CHECK(parent != NULL);
  TS_CHECK(eph != NULL);
  TS_CHECK(relay_owner_of_client(&tb) == eph);
  TS_CHECK_INT(allowed_ips(parent), ==, 0);
  TS_CHECK_INT(allowed_ips(eph), ==, 1);
  TS_CHECK_INT(rs.ephemeral_registered, ==, 1);
  TS_CHECK_INT(rs.ephemeral_removed, ==, 0);
  TS_CHECK_INT(rs.ephemeral_peers, ==, 1);
  TS_CHECK_STR(eph_story(&tb), "registered loaded");

  /* The client: its engine's key is the ephemeral one; the second handshake (right
   * after the response) completed, which it does only if the relay's ephemeral peer
   * has the same PSK (see the control below). */
  uint8_t dev_pub[WG_KEY_LEN];
  wg_device_public_key(ts_wgdev_engine(cl->dev), dev_pub);
  TS_CHECK(memcmp(dev_pub, cl->eph_pub, WG_KEY_LEN) == 0);
  TS_CHECK_INT(cl->handshakes, ==, 2);
  TS_CHECK_INT(cl->decrypt_drops, ==, 0);
  wg_peer_stats cs = peer_stats(cl->relay_peer);
  TS_CHECK_INT(cs.last_handshake_ns, ==, cl->responded_at + 2 * LINK_DELAY);
  TS_CHECK(cs.has_current_session);
  TS_CHECK(peer_stats(eph).last_handshake_ns > cl->responded_at);
  TS_CHECK(peer_stats(parent).last_handshake_ns < 2 * TS_SEC); /* only the first one */
  /* The tunnel survived: pings before and after the change are answered. */
  TS_CHECK_INT(cl->echo_replies, ==, 3);
  TS_CHECK_INT(rs.gateway_echoes, >=, 3);
  ts_wgdev_stats ws;
  ts_wgdev_get_stats(cl->dev, &ws);
  TS_CHECK_INT(ws.rx_dropped, ==, 0);
  /* [INF] in ts_relay.h: the relay moves the address after the engine call that
   * completed the ephemeral peer's handshake, so the datagram that completed it (the
   * client's first under the new session: its TCP ACK of the response, which waited
   * for the session) is dropped as from a disallowed source. Only that one. */
  ts_wgdev_get_stats(ts_relay_wgdev(tb.relay), &ws);
  TS_CHECK_INT(ws.rx_dropped, ==, 1);
  TS_CHECK_INT(tb.relay_disallowed, ==, 1);
  ts_world_destroy(tb.w);
}

TS_TEST(the_relay_key_is_real_a_client_without_the_psk_fails_the_new_handshake) {
  static testbed tb;
  TS_CHECK_INT(start(&tb, 11, MODE_NO_PSK, true, 4 * TS_SEC + 500 * TS_MS), ==, 0);
  client *cl = &tb.cl;
  TS_CHECK_INT(cl->status, ==, TS_NEG_STATUS_OK);
  ts_relay_stats rs;
  ts_relay_get_stats(tb.relay, &rs);
  TS_CHECK_INT(rs.negotiations_ok, ==, 1);
  /* The relay's ephemeral peer answered the new initiation under its PSK; the client,
   * on the ephemeral key without it, cannot open the response. */
  TS_CHECK_INT(cl->handshakes, ==, 1);
  TS_CHECK(cl->decrypt_drops >= 1);
  TS_CHECK_INT(cl->last_drop, ==, WG_DROP_HANDSHAKE_DECRYPT);
  /* Not handshaken, so not loaded: the address stays with the parent. */
  TS_CHECK(relay_owner_of_client(&tb) == relay_peer_of_client(&tb));
  TS_CHECK_INT(rs.ephemeral_peers, ==, 1);
  TS_CHECK_STR(eph_story(&tb), "registered");
  /* The old session no longer sends after the key change: the pings at 3 and 4 s
   * wait for a session that does not come. */
  TS_CHECK_INT(cl->echo_replies, ==, 1);
  ts_world_destroy(tb.w);
}

/* A client that never switches (it lost the response, say) rehandshakes with its
 * parent key: that tunnel works and the relay drops the unused ephemeral peer. */
TS_TEST(a_client_that_stays_on_its_parent_key_keeps_its_tunnel) {
  static testbed tb;
  TS_CHECK_INT(start(&tb, 11, MODE_PARENT_STAYS, true, 10 * TS_SEC), ==, 0);
  client *cl = &tb.cl;
  TS_CHECK_INT(cl->status, ==, TS_NEG_STATUS_OK);
  TS_CHECK_INT(cl->handshakes, ==, 2);
  TS_CHECK_INT(cl->decrypt_drops, ==, 0);
  TS_CHECK_INT(cl->echo_replies, ==, 3);
  ts_relay_stats rs;
  ts_relay_get_stats(tb.relay, &rs);
  TS_CHECK_INT(rs.ephemeral_registered, ==, 1);
  TS_CHECK_INT(rs.ephemeral_removed, ==, 1);
  TS_CHECK_INT(rs.ephemeral_peers, ==, 0);
  TS_CHECK_INT(wg_device_peer_count(relay_engine(&tb)), ==, 2);
  TS_CHECK(wg_device_find_peer(relay_engine(&tb), cl->eph_pub) == NULL);
  TS_CHECK(relay_owner_of_client(&tb) == relay_peer_of_client(&tb));
  TS_CHECK_STR(eph_story(&tb), "registered removed");
  ts_world_destroy(tb.w);
}

/* On the ephemeral peer, then back on the parent key as a relaunched process starts:
 * the parent's handshake takes the address back and the ephemeral peer goes. */
TS_TEST(going_back_to_the_parent_key_takes_the_address_back) {
  static testbed tb;
  TS_CHECK_INT(start(&tb, 11, MODE_BACK_TO_PARENT, true, 10 * TS_SEC), ==, 0);
  client *cl = &tb.cl;
  TS_CHECK_INT(cl->status, ==, TS_NEG_STATUS_OK);
  TS_CHECK_INT(cl->handshakes, ==, 3);
  TS_CHECK_INT(cl->decrypt_drops, ==, 0);
  TS_CHECK_INT(cl->echo_replies, ==, 5);
  wg_peer *parent = relay_peer_of_client(&tb);
  TS_CHECK(relay_owner_of_client(&tb) == parent);
  TS_CHECK_INT(allowed_ips(parent), ==, 1);
  /* The responder completes on the initiator's first packet under the new session:
   * initiation, response, keepalive. */
  TS_CHECK_INT(peer_stats(parent).last_handshake_ns, ==, 6 * TS_SEC + 3 * LINK_DELAY);
  TS_CHECK_INT(wg_device_peer_count(relay_engine(&tb)), ==, 2);
  ts_relay_stats rs;
  ts_relay_get_stats(tb.relay, &rs);
  TS_CHECK_INT(rs.ephemeral_peers, ==, 0);
  TS_CHECK_INT(rs.ephemeral_removed, ==, 1);
  TS_CHECK_STR(eph_story(&tb), "registered loaded removed");
  ts_world_destroy(tb.w);
}

/* A second negotiation, through the ephemeral peer's tunnel, naming the parent: a new
 * ephemeral peer; the first one carries the exchange's response and goes when the
 * new one handshakes. */
TS_TEST(a_second_negotiation_replaces_the_ephemeral_peer) {
  static testbed tb;
  TS_CHECK_INT(start(&tb, 11, MODE_TWICE, true, 10 * TS_SEC), ==, 0);
  client *cl = &tb.cl;
  TS_CHECK_INT(cl->responses, ==, 2);
  TS_CHECK_INT(cl->status, ==, TS_NEG_STATUS_OK);
  TS_CHECK(memcmp(cl->first_eph_pub, cl->eph_pub, WG_KEY_LEN) != 0);
  TS_CHECK_INT(cl->handshakes, ==, 3);
  TS_CHECK_INT(cl->decrypt_drops, ==, 0);
  TS_CHECK_INT(cl->echo_replies, ==, 5);
  wg_device *re = relay_engine(&tb);
  TS_CHECK_INT(wg_device_peer_count(re), ==, 3);
  TS_CHECK(wg_device_find_peer(re, cl->first_eph_pub) == NULL);
  wg_peer *eph = wg_device_find_peer(re, cl->eph_pub);
  TS_CHECK(eph != NULL);
  TS_CHECK(relay_owner_of_client(&tb) == eph);
  uint8_t dev_pub[WG_KEY_LEN];
  wg_device_public_key(ts_wgdev_engine(cl->dev), dev_pub);
  TS_CHECK(memcmp(dev_pub, cl->eph_pub, WG_KEY_LEN) == 0);
  ts_relay_stats rs;
  ts_relay_get_stats(tb.relay, &rs);
  TS_CHECK_INT(rs.negotiations_ok, ==, 2);
  TS_CHECK_INT(rs.ephemeral_registered, ==, 2);
  TS_CHECK_INT(rs.ephemeral_removed, ==, 1);
  TS_CHECK_INT(rs.ephemeral_peers, ==, 1);
  TS_CHECK_STR(eph_story(&tb), "registered loaded registered loaded removed");
  ts_world_destroy(tb.w);
}

/* A refused request: the status, a close by the relay, the trace, and nothing changed
 * (the sender's rehandshake on its parent key still completes). */
static void check_refused(uint64_t seed, enum mode mode, int status, const char *detail) {
  static testbed tb;
  TS_CHECK_INT(start(&tb, seed, mode, true, 10 * TS_SEC), ==, 0);
  client *cl = &tb.cl;
  TS_CHECK_INT(cl->status, ==, status);
  TS_CHECK(cl->eof);
  ts_relay_stats rs;
  ts_relay_get_stats(tb.relay, &rs);
  TS_CHECK_INT(rs.negotiations_ok, ==, 0);
  TS_CHECK_INT(rs.negotiations_refused, ==, 1);
  TS_CHECK_INT(tb.neg_events, ==, 1);
  TS_CHECK_STR(tb.last_neg_detail, detail);
  TS_CHECK_INT(cl->handshakes, ==, 2);
  TS_CHECK_INT(cl->decrypt_drops, ==, 0);
  TS_CHECK_INT(cl->echo_replies, ==, 3);
  /* No peer was added and no address moved. */
  TS_CHECK_INT(rs.ephemeral_registered, ==, 0);
  TS_CHECK_INT(wg_device_peer_count(relay_engine(&tb)), ==, 2);
  TS_CHECK(relay_owner_of_client(&tb) == relay_peer_of_client(&tb));
  TS_CHECK_INT(tb.eph_event_count, ==, 0);
  ts_world_destroy(tb.w);
}

TS_TEST(an_unknown_parent_key_is_refused) {
  check_refused(12, MODE_UNKNOWN_PARENT, TS_NEG_STATUS_UNKNOWN_PARENT, "refused: unknown-parent");
}

/* The named key is the relay's other peer: refused, so neither key changes. */
TS_TEST(a_client_cannot_rekey_another_peer) {
  check_refused(15, MODE_OTHER_PEER, TS_NEG_STATUS_NOT_YOURS, "refused: not-yours");
}

TS_TEST(other_gateway_ports_are_answered_by_the_stack_not_the_nat) {
  static testbed tb;
  TS_CHECK_INT(start(&tb, 13, MODE_OTHER_PORT, true, 8 * TS_SEC), ==, 0);
  client *cl = &tb.cl;
  /* TCP to gateway:80: lwIP's RST, one round trip after the SYN. */
  TS_CHECK(!cl->connected);
  TS_CHECK_INT(cl->closed_reason, ==, TS_NETSTACK_RESET);
  /* UDP to gateway:53: lwIP's ICMP port unreachable. */
  TS_CHECK_INT(cl->port_unreachables, ==, 1);
  ts_relay_stats rs;
  ts_relay_get_stats(tb.relay, &rs);
  TS_CHECK_INT(rs.gateway_stack_in, ==, 2);
  TS_CHECK_INT(rs.nat_mappings, ==, 0);
  TS_CHECK_INT(rs.nat_out, ==, 0);
  TS_CHECK_INT(rs.negotiations_ok + rs.negotiations_refused + rs.negotiations_aborted, ==, 0);
  ts_world_destroy(tb.w);
}

TS_TEST(garbage_on_the_negotiation_port_is_reset) {
  static testbed tb;
  TS_CHECK_INT(start(&tb, 14, MODE_GARBAGE, true, 8 * TS_SEC), ==, 0);
  client *cl = &tb.cl;
  TS_CHECK(cl->connected);
  TS_CHECK_INT(cl->status, ==, -1);
  TS_CHECK_INT(cl->closed_reason, ==, TS_NETSTACK_RESET);
  ts_relay_stats rs;
  ts_relay_get_stats(tb.relay, &rs);
  TS_CHECK_INT(rs.negotiations_aborted, ==, 1);
  TS_CHECK_INT(rs.negotiations_ok, ==, 0);
  TS_CHECK_STR(tb.last_neg_detail, "aborted: bad request");
  TS_CHECK_INT(cl->handshakes, ==, 1);
  ts_world_destroy(tb.w);
}

TS_TEST(negotiation_off_by_default_nothing_answers) {
  static testbed tb;
  uint32_t free_before = ts_netstack_available();
  TS_CHECK_INT(start(&tb, 11, MODE_NORMAL, false, 6 * TS_SEC), ==, 0);
  TS_CHECK(ts_relay_netstack(tb.relay) == NULL);
  TS_CHECK_INT(ts_netstack_available(), ==, free_before - 1); /* the client's only */
  client *cl = &tb.cl;
  /* The relay drops TCP to its gateway as before: no answer at all, no NAT. */
  TS_CHECK(!cl->connected);
  TS_CHECK_INT(cl->closed_reason, ==, 0);
  TS_CHECK_INT(cl->status, ==, -1);
  ts_relay_stats rs;
  ts_relay_get_stats(tb.relay, &rs);
  TS_CHECK(rs.dropped >= 1);
  TS_CHECK_INT(rs.gateway_stack_in, ==, 0);
  TS_CHECK_INT(rs.nat_mappings, ==, 0);
  TS_CHECK_INT(cl->echo_replies, ==, 3);
  ts_world_destroy(tb.w);
  TS_CHECK_INT(ts_netstack_available(), ==, free_before);
}

/* Runs the normal exchange in tb.w and returns its trace hash in hex. */
static int run_once(testbed *tb, char hex[TS_TRACE_HASH_HEX]) {
  int rc = build(tb, MODE_NORMAL, true);
  if (rc) return rc;
  rc = ts_world_run_until(tb->w, 10 * TS_SEC);
  if (rc) return rc;
  if (tb->cl.handshakes != 2) return -100;
  ts_trace_hash_hex(ts_world_trace(tb->w), hex);
  return 0;
}

TS_TEST(reset_frees_the_instances_and_the_run_repeats_exactly) {
  static testbed tb;
  memset(&tb, 0, sizeof tb);
  uint32_t free_before = ts_netstack_available();
  TS_CHECK(free_before >= 2);
  char first[TS_TRACE_HASH_HEX], second[TS_TRACE_HASH_HEX], other[TS_TRACE_HASH_HEX];
  TS_CHECK(ts_world_create(&tb.w, &ts_native_backend, 21) == TS_OK);
  TS_CHECK_INT(run_once(&tb, first), ==, 0);
  TS_CHECK_INT(ts_netstack_available(), ==, free_before - 2); /* relay and client */
  TS_CHECK_INT(ts_world_reset(tb.w, 21), ==, TS_OK);
  TS_CHECK_INT(ts_netstack_available(), ==, free_before);
  TS_CHECK_INT(run_once(&tb, second), ==, 0);
  TS_CHECK_STR(first, second);
  /* Another seed: other keys, other ephemeral keys, another trace. */
  TS_CHECK_INT(ts_world_reset(tb.w, 22), ==, TS_OK);
  TS_CHECK_INT(run_once(&tb, other), ==, 0);
  TS_CHECK(strcmp(first, other) != 0);
  ts_world_destroy(tb.w);
  TS_CHECK_INT(ts_netstack_available(), ==, free_before);
}

int main(int argc, char **argv) { return ts_test_main(argc, argv); }
