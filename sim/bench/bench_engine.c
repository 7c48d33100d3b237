/* Engine benchmark (see ts_bench_engine.h). Two in-memory devices with an
 * established session; every figure has its baseline measured in the same run. */
#include "ts_bench_engine.h"

#include <sodium.h>
#include <string.h>

#include "ts_bench.h"
#include "ts_ipsum.h"
#include "ts_rng.h"
#include "wg.h"

const uint32_t ts_bench_engine_sizes[TS_BENCH_ENGINE_SIZES] = {64, 512, 1420};

typedef struct bnode {
  wg_device *dev;
  wg_peer *peer;
  ts_rng rng;
  wg_endpoint ep;
  uint8_t out[WG_MESSAGE_MAX];
  size_t out_len;
  uint64_t delivered, handshakes;
} bnode;

static void on_action(void *ctx, const wg_action *a) {
  bnode *n = ctx;
  if (a->kind == WG_ACTION_SEND_UDP && a->len <= sizeof n->out) {
    memcpy(n->out, a->data, a->len); /* the last datagram wins: one at a time here */
    n->out_len = a->len;
  } else if (a->kind == WG_ACTION_DELIVER_IP) {
    n->delivered++;
  } else if (a->kind == WG_ACTION_LOG && a->event == WG_EV_HANDSHAKE_COMPLETE) {
    n->handshakes++;
  }
}

static const uint8_t tun_a[4] = {10, 0, 0, 1}, tun_b[4] = {10, 0, 0, 2};

static int bnode_make(bnode *n, uint64_t seed, uint8_t host, const uint8_t peer_pub[32],
                      uint8_t peer_host, const uint8_t peer_tun[4], uint8_t pub[32]) {
  memset(n, 0, sizeof *n);
  ts_rng_init(&n->rng, seed, "bench/engine");
  n->ep = wg_endpoint_ipv4((const uint8_t[4]){192, 0, 2, host}, 51820);
  wg_device_config cfg = {.rng = ts_rng_source, .rng_ctx = &n->rng, .mtu = 1420};
  ts_rng_source(&n->rng, cfg.private_key, 32);
  wg_key_clamp(cfg.private_key);
  if (wg_key_public_from_private(pub, cfg.private_key) != WG_OK) return -1;
  int r = wg_device_create(&n->dev, &cfg);
  sodium_memzero(cfg.private_key, 32);
  if (r != WG_OK || !peer_pub) return r;
  wg_peer_config pc = {.endpoint = wg_endpoint_ipv4((const uint8_t[4]){192, 0, 2, peer_host},
                                                    51820)};
  memcpy(pc.public_key, peer_pub, 32);
  if (wg_device_add_peer(n->dev, &pc, &n->peer) != WG_OK) return -1;
  return wg_peer_add_allowed_ip(n->peer, 4, peer_tun, 32);
}

static int pair_make(bnode *a, bnode *b) {
  uint8_t pa[32], pb[32];
  /* keys first (deterministic), then the devices with their peers */
  if (bnode_make(a, 11, 1, NULL, 0, NULL, pa) != WG_OK) return -1;
  if (bnode_make(b, 22, 2, NULL, 0, NULL, pb) != WG_OK) return -1;
  wg_device_destroy(a->dev);
  wg_device_destroy(b->dev);
  if (bnode_make(a, 11, 1, pb, 2, tun_b, pa) != WG_OK) return -1;
  if (bnode_make(b, 22, 2, pa, 1, tun_a, pb) != WG_OK) return -1;
  return 0;
}

/* An inner IPv4/UDP packet of `total` bytes from tunnel address A to B. */
static size_t ipv4_packet(uint8_t *buf, size_t total) {
  static const uint8_t payload[2048];
  ts_ipaddr s = {.family = 4}, d = {.family = 4};
  memcpy(s.bytes, tun_a, 4);
  memcpy(d.bytes, tun_b, 4);
  return ts_ip_build_udp(buf, 2048, &s, &d, 9, 9, payload, (uint32_t)(total - TS_IPV4_HEADER - TS_UDP_HEADER));
}

/* One handshake A -> B at virtual time `now`; returns 0 when both completed. */
static int handshake(bnode *a, bnode *b, int64_t now) {
  wg_sink sa = {on_action, a}, sb = {on_action, b};
  a->out_len = b->out_len = 0;
  uint64_t before = a->handshakes;
  wg_peer_initiate_handshake(a->peer, now, &sa);
  if (!a->out_len) return -1;
  wg_device_rx_udp(b->dev, now, &a->ep, a->out, a->out_len, &sb);
  if (!b->out_len) return -1;
  a->out_len = 0;
  wg_device_rx_udp(a->dev, now, &b->ep, b->out, b->out_len, &sa);
  return a->handshakes > before ? 0 : -1;
}

/* Microseconds per handshake between a and b, one every 6 virtual seconds (past the
 * REKEY_TIMEOUT gate), over about `seconds`; -1 if one failed. */
static double handshake_usec(bnode *a, bnode *b, int64_t *now, double seconds) {
  uint64_t n = 0;
  double t0 = ts_bench_wall_seconds(), t1;
  do {
    *now += 6 * WG_NS_PER_S;
    if (handshake(a, b, *now) != 0) return -1;
    n++;
    t1 = ts_bench_wall_seconds();
  } while (t1 - t0 < seconds);
  return (t1 - t0) * 1e6 / (double)n;
}

double ts_bench_handshake_usec(double seconds) {
  bnode *a = sodium_malloc(sizeof *a), *b = sodium_malloc(sizeof *b);
  double usec = -1;
  int64_t now = WG_NS_PER_S;
  if (a && b && pair_make(a, b) == 0) usec = handshake_usec(a, b, &now, seconds);
  if (a && a->dev) wg_device_destroy(a->dev);
  if (b && b->dev) wg_device_destroy(b->dev);
  if (a) sodium_free(a);
  if (b) sodium_free(b);
  return usec;
}


double ts_bench_x25519_usec(double seconds, bool base) {
  uint8_t sk[32], pk[32], q[32];
  randombytes_buf(sk, 32);
  crypto_scalarmult_base(pk, sk);
  uint64_t n = 0;
  double t0 = ts_bench_wall_seconds(), t1;
  do {
    for (int i = 0; i < 16; i++) {
      sk[0] = (uint8_t)i;
      if (base) crypto_scalarmult_base(q, sk);
      else if (crypto_scalarmult(q, sk, pk) != 0) return -1;
    }
    n += 16;
    t1 = ts_bench_wall_seconds();
  } while (t1 - t0 < seconds);
  return (t1 - t0) * 1e6 / (double)n;
}

int ts_bench_engine(double seconds, ts_bench_engine_result *out) {
  memset(out, 0, sizeof *out);
  if (sodium_init() < 0) return -1;
  bnode *a = sodium_malloc(sizeof *a), *b = sodium_malloc(sizeof *b);
  static uint8_t pkt[2048], ct[2048 + 16], pt[2048];
  int rc = -1;
  if (!a || !b || pair_make(a, b) != 0) goto done;
  int64_t now = WG_NS_PER_S;
  if (handshake(a, b, now) != 0) goto done;
  wg_sink sa = {on_action, a}, sb = {on_action, b};
  /* first data packet moves B's keypair from `next` to current */
  ipv4_packet(pkt, 64);
  if (wg_device_tx_ip(a->dev, now, pkt, 64, &sa) != WG_OK) goto done;
  wg_device_rx_udp(b->dev, now, &a->ep, a->out, a->out_len, &sb);
  if (b->delivered != 1) goto done;

  double slice = seconds / (2 * TS_BENCH_ENGINE_SIZES + 3);
  for (int s = 0; s < TS_BENCH_ENGINE_SIZES; s++) {
    size_t len = ipv4_packet(pkt, ts_bench_engine_sizes[s]);
    uint64_t n = 0, want = b->delivered;
    double t0 = ts_bench_wall_seconds(), t1;
    do {
      for (int i = 0; i < 256; i++) {
        a->out_len = 0;
        if (wg_device_tx_ip(a->dev, now, pkt, len, &sa) != WG_OK) goto done;
        wg_device_rx_udp(b->dev, now, &a->ep, a->out, a->out_len, &sb);
      }
      n += 256;
      t1 = ts_bench_wall_seconds();
    } while (t1 - t0 < slice);
    if (b->delivered - want != n) goto done;
    out->engine_pkts_per_sec[s] = (double)n / (t1 - t0);
    out->engine_gbit_per_sec[s] = out->engine_pkts_per_sec[s] * (double)len * 8e-9;

    /* baseline: the same padded plaintext, the same AEAD, no engine */
    size_t padded = (len + 15) / 16 * 16;
    uint8_t key[32], nonce[12] = {0};
    randombytes_buf(key, sizeof key);
    unsigned long long clen, plen;
    n = 0;
    t0 = ts_bench_wall_seconds();
    do {
      for (int i = 0; i < 256; i++) {
        nonce[4] = (uint8_t)i;
        crypto_aead_chacha20poly1305_ietf_encrypt(ct, &clen, pkt, padded, NULL, 0, NULL, nonce,
                                                  key);
        if (crypto_aead_chacha20poly1305_ietf_decrypt(pt, &plen, NULL, ct, clen, NULL, 0, nonce,
                                                      key) != 0)
          goto done;
      }
      n += 256;
      t1 = ts_bench_wall_seconds();
    } while (t1 - t0 < slice);
    out->aead_pkts_per_sec[s] = (double)n / (t1 - t0);
    out->aead_gbit_per_sec[s] = out->aead_pkts_per_sec[s] * (double)len * 8e-9;
  }

  double hs_usec = handshake_usec(a, b, &now, slice);
  if (hs_usec < 0) goto done;
  out->handshakes_per_sec = 1e6 / hs_usec;
  /* X25519: scalarmult and scalarmult_base, the handshake's only expensive parts */
  double mult = ts_bench_x25519_usec(slice / 2, false), base = ts_bench_x25519_usec(slice / 2, true);
  if (mult < 0) goto done;
  out->x25519_per_sec = 1e6 / mult;
  out->x25519_base_per_sec = 1e6 / base;
  /* Per handshake: initiator e = base, DH(ei,Sr); responder DH(Sr,Ei), e = base,
   * DH(er,Ei), DH(er,Si); initiator DH(ei,Er), DH(Si,Er). DH(Si,Sr) is not counted:
   * it depends only on the two static keys, so the engine (like Linux's
   * precomputed static-static) computes it once per peer, not per handshake. */
  out->x25519_ops = 6;
  out->x25519_base_ops = 2;
  out->handshake_bound_per_sec =
      1.0 / (out->x25519_ops / out->x25519_per_sec + out->x25519_base_ops / out->x25519_base_per_sec);
  rc = 0;
done:
  if (a && a->dev) wg_device_destroy(a->dev);
  if (b && b->dev) wg_device_destroy(b->dev);
  sodium_free(a);
  sodium_free(b);
  return rc;
}
