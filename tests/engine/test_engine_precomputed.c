/* Keys a caller has computed already (a simulator running the same keys run after
 * run): the device's public key and a peer's static-static DH. */
#include <sodium.h>
#include <string.h>

#include "tstest.h"
#include "wg.h"

struct box {
  uint8_t out[256];
  size_t len;
  int completed;
};

static void sink_fn(void *ctx, const wg_action *a) {
  struct box *b = ctx;
  if (a->kind == WG_ACTION_SEND_UDP && a->len <= sizeof b->out) {
    memcpy(b->out, a->data, a->len);
    b->len = a->len;
  }
  if (a->kind == WG_ACTION_LOG && a->event == WG_EV_HANDSHAKE_COMPLETE) b->completed++;
}

static void counter_rng(void *ctx, uint8_t *buf, size_t n) {
  uint8_t *c = ctx;
  for (size_t i = 0; i < n; i++) buf[i] = (uint8_t)(++*c * 31);
}

static void keypair(uint8_t seed, uint8_t priv[32], uint8_t pub[32]) {
  memset(priv, seed, 32);
  wg_key_clamp(priv);
  wg_key_public_from_private(pub, priv);
}

/* A handshake between a and b where each peer gets `ss` (NULL: computed). */
static int handshake(const uint8_t *ss_a, const uint8_t *ss_b, int *completed) {
  uint8_t pa[32], qa[32], pb[32], qb[32], ca = 0, cb = 100;
  keypair(1, pa, qa);
  keypair(2, pb, qb);
  wg_device_config da = {.rng = counter_rng, .rng_ctx = &ca, .public_key = qa};
  wg_device_config db = {.rng = counter_rng, .rng_ctx = &cb, .public_key = qb};
  memcpy(da.private_key, pa, 32);
  memcpy(db.private_key, pb, 32);
  wg_device *a, *b;
  if (wg_device_create(&a, &da) || wg_device_create(&b, &db)) return -1;
  uint8_t ip[4] = {10, 0, 0, 2};
  wg_endpoint ea = wg_endpoint_ipv4(ip, 1), eb = wg_endpoint_ipv4(ip, 2);
  wg_peer_config ca_cfg = {.endpoint = eb, .static_static = ss_a}, cb_cfg = {.endpoint = ea, .static_static = ss_b};
  memcpy(ca_cfg.public_key, qb, 32);
  memcpy(cb_cfg.public_key, qa, 32);
  wg_peer *peer_b, *peer_a;
  int rc = wg_device_add_peer(a, &ca_cfg, &peer_b);
  if (!rc) rc = wg_device_add_peer(b, &cb_cfg, &peer_a);
  struct box ba = {0}, bb = {0};
  wg_sink sa = {sink_fn, &ba}, sb = {sink_fn, &bb};
  if (!rc) rc = wg_peer_initiate_handshake(peer_b, 1000, &sa);
  if (!rc) wg_device_rx_udp(b, 1000, &ea, ba.out, ba.len, &sb);
  if (!rc && bb.len) wg_device_rx_udp(a, 2000, &eb, bb.out, bb.len, &sa);
  *completed = ba.completed;
  wg_device_destroy(a);
  wg_device_destroy(b);
  return rc;
}

TS_TEST(given_public_key_is_the_devices_public_key) {
  uint8_t priv[32], pub[32], got[32], c = 0;
  keypair(7, priv, pub);
  wg_device_config cfg = {.rng = counter_rng, .rng_ctx = &c, .public_key = pub};
  memcpy(cfg.private_key, priv, 32);
  wg_device *d;
  TS_CHECK_INT(wg_device_create(&d, &cfg), ==, WG_OK);
  wg_device_public_key(d, got);
  TS_CHECK_MEM(got, pub, 32);
  wg_device_destroy(d);
}

TS_TEST(precomputed_static_static_completes_the_same_handshake) {
  uint8_t pa[32], qa[32], pb[32], qb[32], ss[32];
  keypair(1, pa, qa);
  keypair(2, pb, qb);
  TS_CHECK(crypto_scalarmult_curve25519(ss, pa, qb) == 0); /* = DH(pb, qa) */
  int computed = 0, given = 0;
  TS_CHECK_INT(handshake(NULL, NULL, &computed), ==, WG_OK);
  TS_CHECK_INT(handshake(ss, ss, &given), ==, WG_OK);
  TS_CHECK_INT(computed, ==, 1);
  TS_CHECK_INT(given, ==, 1);
}

TS_TEST(a_wrong_static_static_fails_the_handshake_and_zero_is_refused) {
  uint8_t wrong[32], zero[32] = {0};
  memset(wrong, 0x55, 32);
  int completed = 0;
  TS_CHECK_INT(handshake(wrong, NULL, &completed), ==, WG_OK);
  TS_CHECK_INT(completed, ==, 0);
  TS_CHECK_INT(handshake(zero, NULL, &completed), ==, WG_EKEY);
}
