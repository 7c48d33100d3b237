/* cookie.c: WireGuard's DoS defence.
 *
 * mac1 proves the sender knows our public key and is always required. When the
 * device is under load, mac2 must also be valid: it is keyed with a cookie that
 * binds the sender's address, which the sender can only learn by receiving our
 * cookie reply at that address. The cookie secret rotates every 2 minutes. */
#include "cookie.h"

#include <sodium.h>
#include <string.h>

#include "kdf.h"

static void derive_key(uint8_t out[32], const char *label, const uint8_t pub[32]) {
  wg_hash(out, (const uint8_t *)label, 8, pub, 32);
}

void wg_cookie_checker_init(wg_cookie_checker *c, const uint8_t own_public[32]) {
  memset(c, 0, sizeof *c);
  derive_key(c->mac1_key, WG_LABEL_MAC1, own_public);
  derive_key(c->cookie_key, WG_LABEL_COOKIE, own_public);
}

void wg_cookie_checker_set_public(wg_cookie_checker *c, const uint8_t own_public[32]) {
  derive_key(c->mac1_key, WG_LABEL_MAC1, own_public);
  derive_key(c->cookie_key, WG_LABEL_COOKIE, own_public);
}

void wg_cookie_generator_init(wg_cookie_generator *g, const uint8_t peer_public[32]) {
  memset(g, 0, sizeof *g);
  derive_key(g->mac1_key, WG_LABEL_MAC1, peer_public);
  derive_key(g->cookie_key, WG_LABEL_COOKIE, peer_public);
}

bool wg_cookie_mac1_valid(const wg_cookie_checker *c, const uint8_t *msg, size_t len) {
  uint8_t mac[WG_MAC_LEN];
  size_t mac1_off = len - 2 * WG_MAC_LEN;
  wg_mac(mac, c->mac1_key, 32, msg, mac1_off);
  return crypto_verify_16(mac, msg + mac1_off) == 0;
}

/* Only this device re-checks its cookies, so the address encoding is ours to
 * choose: IP bytes followed by the port in big-endian. */
static size_t encode_source(uint8_t out[18], const wg_endpoint *src) {
  size_t n = src->family == 6 ? 16 : 4;
  memcpy(out, src->addr, n);
  out[n] = (uint8_t)(src->port >> 8);
  out[n + 1] = (uint8_t)src->port;
  return n + 2;
}

static void refresh_secret(wg_cookie_checker *c, int64_t now, wg_rng_fn rng, void *rng_ctx) {
  if (c->has_secret && now - c->secret_birth < WG_COOKIE_SECRET_MAX_AGE_NS) return;
  rng(rng_ctx, c->secret, sizeof c->secret);
  c->secret_birth = now;
  c->has_secret = true;
}

static void compute_cookie(wg_cookie_checker *c, uint8_t cookie[WG_COOKIE_LEN],
                           const wg_endpoint *src, int64_t now, wg_rng_fn rng, void *rng_ctx) {
  uint8_t addr[18];
  refresh_secret(c, now, rng, rng_ctx);
  wg_mac(cookie, c->secret, sizeof c->secret, addr, encode_source(addr, src));
}

bool wg_cookie_mac2_valid(wg_cookie_checker *c, const uint8_t *msg, size_t len,
                          const wg_endpoint *src, int64_t now, wg_rng_fn rng, void *rng_ctx) {
  uint8_t cookie[WG_COOKIE_LEN], mac[WG_MAC_LEN];
  size_t mac2_off = len - WG_MAC_LEN;
  compute_cookie(c, cookie, src, now, rng, rng_ctx);
  wg_mac(mac, cookie, sizeof cookie, msg, mac2_off);
  sodium_memzero(cookie, sizeof cookie);
  return crypto_verify_16(mac, msg + mac2_off) == 0;
}

void wg_cookie_make_reply(wg_cookie_checker *c, const uint8_t *msg, size_t len,
                          const wg_endpoint *src, int64_t now, wg_rng_fn rng, void *rng_ctx,
                          uint8_t out[WG_COOKIE_SIZE]) {
  uint8_t cookie[WG_COOKIE_LEN];
  const uint8_t *mac1 = msg + len - 2 * WG_MAC_LEN;
  memset(out, 0, WG_COOKIE_SIZE);
  out[0] = WG_MSG_COOKIE_REPLY;
  /* The sender index sits at offset 4 in both initiation and response. */
  memcpy(out + WG_COOKIE_OFF_RECEIVER, msg + 4, 4);
  rng(rng_ctx, out + WG_COOKIE_OFF_NONCE, WG_COOKIE_NONCE_LEN);
  compute_cookie(c, cookie, src, now, rng, rng_ctx);
  /* Binding to mac1 lets the receiver match the reply to the message it sent. */
  crypto_aead_xchacha20poly1305_ietf_encrypt(out + WG_COOKIE_OFF_COOKIE, NULL, cookie,
                                             sizeof cookie, mac1, WG_MAC_LEN, NULL,
                                             out + WG_COOKIE_OFF_NONCE, c->cookie_key);
  sodium_memzero(cookie, sizeof cookie);
}

void wg_cookie_add_macs(wg_cookie_generator *g, uint8_t *msg, size_t len, int64_t now) {
  size_t mac1_off = len - 2 * WG_MAC_LEN, mac2_off = len - WG_MAC_LEN;
  wg_mac(msg + mac1_off, g->mac1_key, 32, msg, mac1_off);
  memcpy(g->last_mac1, msg + mac1_off, WG_MAC_LEN);
  g->has_last_mac1 = true;
  /* A cookie is used a little less long than the responder keeps its secret, so
   * a mac2 never arrives just after the secret rotated under it. */
  bool fresh = g->has_cookie &&
               now - g->cookie_birth < WG_COOKIE_SECRET_MAX_AGE_NS - WG_COOKIE_SECRET_LATENCY_NS;
  if (fresh)
    wg_mac(msg + mac2_off, g->cookie, sizeof g->cookie, msg, mac2_off);
  else
    memset(msg + mac2_off, 0, WG_MAC_LEN);
}

bool wg_cookie_consume_reply(wg_cookie_generator *g, const uint8_t reply[WG_COOKIE_SIZE],
                             int64_t now) {
  uint8_t cookie[WG_COOKIE_LEN];
  if (!g->has_last_mac1) return false;
  if (crypto_aead_xchacha20poly1305_ietf_decrypt(
          cookie, NULL, NULL, reply + WG_COOKIE_OFF_COOKIE, WG_COOKIE_LEN + WG_AEAD_TAG_LEN,
          g->last_mac1, WG_MAC_LEN, reply + WG_COOKIE_OFF_NONCE, g->cookie_key) != 0)
    return false;
  memcpy(g->cookie, cookie, sizeof cookie);
  sodium_memzero(cookie, sizeof cookie);
  g->cookie_birth = now;
  g->has_cookie = true;
  g->has_last_mac1 = false;
  return true;
}
