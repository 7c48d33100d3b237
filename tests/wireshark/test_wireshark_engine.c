/* Two tsengine devices (initiator A, responder B) talk in memory on virtual time
 * with deterministic RNGs, ICMP echo both ways through the tunnel, with a PSK. Every
 * datagram is written to a pcapng as an outer IPv4/UDP packet (LINKTYPE_RAW) with
 * consistent addresses; the engines' key-log lines go first as a WireGuard DSB.
 * Then tshark, with no options, must decrypt it: no wg.decryption_error, the
 * response authenticated (wg.handshake_ok == 1) and the inner ICMP visible. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ts_ipsum.h"
#include "ts_pcapng.h"
#include "tstest.h"
#include "ts_rng.h"
#include "wg.h"

#ifndef TS_WIRESHARK_OUT
#define TS_WIRESHARK_OUT "wireshark_engine.pcapng"
#endif

#define MAX_PKTS 64
#define MAX_PKT 1600

typedef struct pkt {
  int64_t t;
  uint32_t len;
  uint8_t data[MAX_PKT];
} pkt;

typedef struct node node;
typedef struct world {
  pkt pkts[MAX_PKTS];
  size_t npkts;
  char keylog[8192];
  size_t keylog_len;
  int64_t now;
} world;

struct node {
  world *w;
  wg_device *dev;
  ts_rng rng;
  uint8_t priv[32], pub[32];
  wg_endpoint ep;
  uint8_t tun_addr[4];
  /* datagrams queued for the other side */
  uint8_t out[8][MAX_PKT];
  size_t out_len[8], nout;
  /* inner packets delivered */
  uint8_t ip[8][MAX_PKT];
  size_t ip_len[8], nip;
};

static ts_ipaddr ep_addr(const wg_endpoint *ep) {
  ts_ipaddr a = {.family = 4};
  memcpy(a.bytes, ep->addr, 4);
  return a;
}

static void on_action(void *ctx, const wg_action *a) {
  node *n = ctx;
  world *w = n->w;
  switch (a->kind) {
  case WG_ACTION_SEND_UDP:
    if (n->nout < 8 && a->len <= MAX_PKT && w->npkts < MAX_PKTS) {
      memcpy(n->out[n->nout], a->data, a->len);
      n->out_len[n->nout++] = a->len;
      ts_ipaddr src = ep_addr(&n->ep), dst = ep_addr(a->endpoint);
      pkt *p = &w->pkts[w->npkts];
      p->t = w->now;
      p->len = ts_ip_build_udp(p->data, MAX_PKT, &src, &dst, n->ep.port, a->endpoint->port,
                               a->data, (uint32_t)a->len);
      if (p->len) w->npkts++;
    }
    break;
  case WG_ACTION_DELIVER_IP:
    if (n->nip < 8 && a->len <= MAX_PKT) {
      memcpy(n->ip[n->nip], a->data, a->len);
      n->ip_len[n->nip++] = a->len;
    }
    break;
  case WG_ACTION_KEYLOG:
    if (w->keylog_len + a->len < sizeof w->keylog) {
      memcpy(w->keylog + w->keylog_len, a->text, a->len);
      w->keylog_len += a->len;
    }
    break;
  default:
    break;
  }
}

static int node_init(node *n, world *w, uint8_t seed, uint8_t host, uint16_t port) {
  memset(n, 0, sizeof *n);
  n->w = w;
  ts_rng_init(&n->rng, seed, "wireshark/node");
  ts_rng_source(&n->rng, n->priv, 32);
  wg_key_clamp(n->priv);
  if (wg_key_public_from_private(n->pub, n->priv) != WG_OK) return -1;
  n->ep = wg_endpoint_ipv4((const uint8_t[4]){10, 1, 0, host}, port);
  memcpy(n->tun_addr, (const uint8_t[4]){10, 9, 0, host}, 4);
  wg_device_config cfg = {.rng = ts_rng_source, .rng_ctx = &n->rng,
                          .wall_clock_epoch_ns = INT64_C(1700000000) * WG_NS_PER_S, .keylog = 1};
  memcpy(cfg.private_key, n->priv, 32);
  return wg_device_create(&n->dev, &cfg);
}

static int add_peer(node *n, const node *o, const uint8_t psk[32]) {
  wg_peer_config pc = {.endpoint = o->ep, .has_preshared_key = 1};
  memcpy(pc.public_key, o->pub, 32);
  memcpy(pc.preshared_key, psk, 32);
  wg_peer *p;
  if (wg_device_add_peer(n->dev, &pc, &p) != WG_OK) return -1;
  return wg_peer_add_allowed_ip(p, 4, o->tun_addr, 32);
}

/* Moves datagrams both ways until quiet; answers echo requests. Returns how many
 * echo replies were received (by either side). */
static int pump(node *a, node *b, int *requests_answered) {
  int replies = 0;
  for (int round = 0; round < 32; round++) {
    int moved = 0;
    node *pair[2][2] = {{a, b}, {b, a}};
    for (int d = 0; d < 2; d++) {
      node *from = pair[d][0], *to = pair[d][1];
      size_t k = from->nout;
      uint8_t buf[MAX_PKT];
      for (size_t i = 0; i < k; i++) {
        size_t len = from->out_len[i];
        memcpy(buf, from->out[i], len);
        a->w->now += WG_NS_PER_MS / 4;
        wg_sink s = {on_action, to};
        wg_device_rx_udp(to->dev, a->w->now, &from->ep, buf, len, &s);
        moved++;
      }
      from->nout = 0;
      /* answer delivered echo requests */
      for (size_t i = 0; i < to->nip; i++) {
        ts_ip_info info;
        if (ts_ip_parse(to->ip[i], (uint32_t)to->ip_len[i], &info) != 0) continue;
        if (info.proto != TS_IPPROTO_ICMP) continue;
        if (info.icmp_type == 0) {
          replies++;
          continue;
        }
        if (info.icmp_type != 8) continue;
        uint8_t rep[MAX_PKT];
        uint32_t pl = info.l4_len - TS_ICMP_ECHO_HEADER;
        uint32_t rl = ts_ip_build_echo(rep, sizeof rep, &info.dst, &info.src, true, info.icmp_id,
                                       info.icmp_seq, to->ip[i] + info.l4_offset + 8, pl);
        wg_sink s = {on_action, to};
        a->w->now += WG_NS_PER_MS / 4;
        if (rl && wg_device_tx_ip(to->dev, a->w->now, rep, rl, &s) == WG_OK) (*requests_answered)++;
      }
      to->nip = 0;
    }
    if (!moved) break;
  }
  return replies;
}

static int send_echo(node *from, node *to, uint16_t seq) {
  ts_ipaddr src = {.family = 4}, dst = {.family = 4};
  memcpy(src.bytes, from->tun_addr, 4);
  memcpy(dst.bytes, to->tun_addr, 4);
  uint8_t payload[56], pk[128];
  for (size_t i = 0; i < sizeof payload; i++) payload[i] = (uint8_t)(i + seq);
  uint32_t len = ts_ip_build_echo(pk, sizeof pk, &src, &dst, false, 0x7473, seq, payload,
                                  sizeof payload);
  wg_sink s = {on_action, from};
  from->w->now += 10 * WG_NS_PER_MS;
  return wg_device_tx_ip(from->dev, from->w->now, pk, len, &s);
}

static world W;

TS_TEST(engine_pcapng_decrypts_in_tshark) {
  world *w = &W;
  memset(w, 0, sizeof *w);
  w->now = WG_NS_PER_S;
  static node a, b;
  TS_CHECK_INT(node_init(&a, w, 1, 1, 51820), ==, WG_OK);
  TS_CHECK_INT(node_init(&b, w, 2, 2, 51821), ==, WG_OK);
  uint8_t psk[32];
  ts_rng ps;
  ts_rng_init(&ps, 77, "wireshark/psk");
  ts_rng_source(&ps, psk, 32);
  TS_CHECK_INT(add_peer(&a, &b, psk), ==, WG_OK);
  TS_CHECK_INT(add_peer(&b, &a, psk), ==, WG_OK);

  int answered = 0, replies = 0;
  for (uint16_t seq = 1; seq <= 3; seq++) {
    int r = send_echo(&a, &b, seq);
    TS_CHECK(r == WG_OK || r == WG_ESTAGED);
    replies += pump(&a, &b, &answered);
  }
  for (uint16_t seq = 1; seq <= 3; seq++) {
    TS_CHECK_INT(send_echo(&b, &a, seq), ==, WG_OK);
    replies += pump(&a, &b, &answered);
  }
  TS_CHECK_INT(answered, ==, 6);
  TS_CHECK_INT(replies, ==, 6);
  TS_CHECK(w->keylog_len > 0);
  TS_CHECK(strstr(w->keylog, "LOCAL_EPHEMERAL_PRIVATE_KEY") != NULL);
  TS_CHECK(strstr(w->keylog, "PRESHARED_KEY") != NULL);

  const char *path = TS_WIRESHARK_OUT;
  ts_pcapng *pw;
  uint32_t ifid;
  TS_CHECK_INT(ts_pcapng_open(&pw, path), ==, 0);
  TS_CHECK_INT(ts_pcapng_add_interface(pw, "sim0", &ifid), ==, 0);
  TS_CHECK_INT(ts_pcapng_write_secrets(pw, TS_PCAPNG_SECRETS_WIREGUARD, w->keylog,
                                       (uint32_t)w->keylog_len), ==, 0);
  for (size_t i = 0; i < w->npkts; i++)
    TS_CHECK_INT(ts_pcapng_write_packet(pw, ifid, w->pkts[i].t, TS_PCAPNG_DIR_NONE,
                                        w->pkts[i].data, w->pkts[i].len), ==, 0);
  TS_CHECK_INT(ts_pcapng_close(pw), ==, 0);
  wg_device_destroy(a.dev);
  wg_device_destroy(b.dev);

  if (!ts_test_need_tshark(__FILE__, __LINE__)) return;
  int total = ts_test_tshark_count(path, "frame");
  int wgframes = ts_test_tshark_count(path, "wg");
  int errors = ts_test_tshark_count(path, "wg.decryption_error || wg.bad_packet_length");
  int hs_ok = ts_test_tshark_count(path, "wg.type == 2 && wg.handshake_ok == 1");
  int hs_bad = ts_test_tshark_count(path, "wg.type == 2 && !(wg.handshake_ok == 1)");
  int icmp = ts_test_tshark_count(path, "icmp");
  int icmp_req = ts_test_tshark_count(path, "icmp.type == 8");
  int icmp_rep = ts_test_tshark_count(path, "icmp.type == 0");
  printf("pcapng %s: %d frames, %d wg, %d decryption errors, %d/%d responses ok, "
         "%d icmp (%d requests, %d replies)\n",
         path, total, wgframes, errors, hs_ok, hs_ok + hs_bad, icmp, icmp_req, icmp_rep);
  TS_CHECK_INT(total, ==, (int)w->npkts);
  TS_CHECK_INT(wgframes, ==, (int)w->npkts);
  TS_CHECK_INT(errors, ==, 0);
  TS_CHECK_INT(hs_ok, >=, 1);
  TS_CHECK_INT(hs_bad, ==, 0);
  TS_CHECK_INT(icmp, >, 0);
  TS_CHECK_INT(icmp_req, ==, 6);
  TS_CHECK_INT(icmp_rep, ==, 6);
}
