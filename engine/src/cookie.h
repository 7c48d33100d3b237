/* cookie.h: mac1/mac2, cookie replies, and the under-load DoS defence. */
#ifndef TSENGINE_COOKIE_H
#define TSENGINE_COOKIE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "messages.h"
#include "wg.h"

/* Responder side: one per device. */
typedef struct wg_cookie_checker {
  uint8_t mac1_key[32];    /* HASH("mac1----" || own static public) */
  uint8_t cookie_key[32];  /* HASH("cookie--" || own static public) */
  uint8_t secret[32];      /* Rm, rotated lazily after COOKIE_SECRET_MAX_AGE */
  int64_t secret_birth;
  bool has_secret;
} wg_cookie_checker;

/* Initiator side: one per peer. */
typedef struct wg_cookie_generator {
  uint8_t mac1_key[32];    /* HASH("mac1----" || peer static public) */
  uint8_t cookie_key[32];  /* HASH("cookie--" || peer static public) */
  uint8_t cookie[WG_COOKIE_LEN];
  int64_t cookie_birth;
  bool has_cookie;
  uint8_t last_mac1[WG_MAC_LEN];
  bool has_last_mac1;      /* one cookie reply is accepted per sent mac1 */
} wg_cookie_generator;

void wg_cookie_checker_init(wg_cookie_checker *c, const uint8_t own_public[32]);
void wg_cookie_generator_init(wg_cookie_generator *g, const uint8_t peer_public[32]);
/* The device's static key changed: new mac1 and cookie keys, the same secret (Linux
 * cookie.c, wg_cookie_checker_precompute_device_keys). */
void wg_cookie_checker_set_public(wg_cookie_checker *c, const uint8_t own_public[32]);

/* msg is a whole initiation or response; mac1 sits at len-32, mac2 at len-16. */
bool wg_cookie_mac1_valid(const wg_cookie_checker *c, const uint8_t *msg, size_t len);
bool wg_cookie_mac2_valid(wg_cookie_checker *c, const uint8_t *msg, size_t len,
                          const wg_endpoint *src, int64_t now, wg_rng_fn rng, void *rng_ctx);
/* Builds the 64-byte cookie reply answering `msg` (received from `src`). */
void wg_cookie_make_reply(wg_cookie_checker *c, const uint8_t *msg, size_t len,
                          const wg_endpoint *src, int64_t now, wg_rng_fn rng, void *rng_ctx,
                          uint8_t out[WG_COOKIE_SIZE]);

/* Fills mac1 and mac2 of an outgoing initiation/response. */
void wg_cookie_add_macs(wg_cookie_generator *g, uint8_t *msg, size_t len, int64_t now);
/* Decrypts a cookie reply addressed to us; returns true if a cookie was stored. */
bool wg_cookie_consume_reply(wg_cookie_generator *g, const uint8_t reply[WG_COOKIE_SIZE],
                             int64_t now);

#endif
