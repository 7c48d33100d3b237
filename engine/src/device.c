/* device.c: device lifecycle, peers, the under-load model, timer scheduling,
 * action emission, and the small public helpers (errors, event names, keys). */
#include "device.h"

#include <sodium.h>
#include <stdlib.h>
#include <string.h>

#include "noise.h"
#include "timers.h"

#define DEFAULT_UNDER_LOAD_HANDSHAKES_PER_S 128

/* ------------------------------------------------------------ actions */

void wg_emit_log(const wg_sink *sink, wg_peer *peer, int event) {
  if (!sink || !sink->fn) return;
  wg_action a = {.kind = WG_ACTION_LOG, .peer = peer, .event = event,
                 .text = wg_event_name(event)};
  sink->fn(sink->ctx, &a);
}

void wg_emit_drop(wg_device *dev, const wg_sink *sink, wg_peer *peer, int reason) {
  dev->last_drop = reason;
  wg_emit_log(sink, peer, reason);
}

void wg_emit_udp(const wg_sink *sink, wg_peer *peer, const wg_endpoint *to, const uint8_t *data,
                 size_t len) {
  if (!sink || !sink->fn) return;
  wg_action a = {.kind = WG_ACTION_SEND_UDP, .peer = peer, .endpoint = to, .data = data,
                 .len = len};
  sink->fn(sink->ctx, &a);
}

void wg_emit_ip(const wg_sink *sink, wg_peer *peer, const wg_endpoint *from, const uint8_t *data,
                size_t len) {
  if (!sink || !sink->fn) return;
  wg_action a = {.kind = WG_ACTION_DELIVER_IP, .peer = peer, .endpoint = from, .data = data,
                 .len = len};
  sink->fn(sink->ctx, &a);
}

void wg_rng(wg_device *dev, uint8_t *buf, size_t n) { dev->rng(dev->rng_ctx, buf, n); }

/* ------------------------------------------------------------ lifecycle */

int wg_device_create(wg_device **out, const wg_device_config *config) {
  if (!out || !config || !config->rng) return WG_EINVAL;
  *out = NULL;
  if (sodium_init() < 0) return WG_ENOMEM;
  wg_device *dev = calloc(1, sizeof *dev);
  if (!dev) return WG_ENOMEM;
  memcpy(dev->static_private, config->private_key, 32);
  wg_key_clamp(dev->static_private);
  if (config->public_key) {
    memcpy(dev->static_public, config->public_key, 32);
  } else if (wg_key_public_from_private(dev->static_public, dev->static_private) != WG_OK) {
    wg_device_destroy(dev);
    return WG_EKEY;
  }
  dev->rng = config->rng;
  dev->rng_ctx = config->rng_ctx;
  dev->wall_clock_epoch_ns = config->wall_clock_epoch_ns;
  dev->mtu = config->mtu ? config->mtu : WG_DEFAULT_MTU;
  dev->staged_packets = config->staged_packets ? config->staged_packets : WG_DEFAULT_STAGED_PACKETS;
  dev->keylog = config->keylog != 0;
  dev->load_mode = WG_LOAD_AUTO;
  dev->under_load_fn = config->under_load;
  dev->under_load_ctx = config->under_load_ctx;
  dev->load_threshold = config->under_load_handshakes_per_s ? config->under_load_handshakes_per_s
                                                            : DEFAULT_UNDER_LOAD_HANDSHAKES_PER_S;
  dev->load_window_start = INT64_MIN;
  dev->under_load_until = INT64_MIN;
  wg_cookie_checker_init(&dev->cookie, dev->static_public);
  if (wg_index_reserve(&dev->index, 4) != WG_OK) {
    wg_device_destroy(dev);
    return WG_ENOMEM;
  }
  *out = dev;
  return WG_OK;
}

static void peer_free(wg_peer *peer) {
  wg_device *dev = peer->dev;
  wg_peer_drop_all_keypairs(peer);
  wg_noise_handshake_clear(dev, peer);
  wg_allowedips_remove_peer(&dev->allowedips, peer);
  if (peer->staged.storage) {
    sodium_memzero(peer->staged.storage, peer->staged.cap * peer->staged.slot_size);
    free(peer->staged.storage);
  }
  free(peer->staged.lens);
  sodium_memzero(peer, sizeof *peer);
  free(peer);
}

void wg_device_destroy(wg_device *dev) {
  if (!dev) return;
  for (size_t i = 0; i < dev->peer_count; i++) peer_free(dev->peers[i]);
  free(dev->peers);
  wg_allowedips_free(&dev->allowedips);
  wg_index_free(&dev->index);
  sodium_memzero(dev, sizeof *dev);
  free(dev);
}

void wg_device_public_key(const wg_device *dev, uint8_t out[WG_KEY_LEN]) {
  memcpy(out, dev->static_public, WG_KEY_LEN);
}

int wg_device_last_drop(const wg_device *dev) { return dev->last_drop; }

/* Linux's order (netlink.c set_device_private_key): a peer holding the new public key
 * is removed before the identity changes; then the identity, every peer's
 * static-static DH and keypairs, and the cookie checker's keys. */
int wg_device_set_private_key(wg_device *dev, const uint8_t private_key[WG_KEY_LEN]) {
  if (!dev || !private_key) return WG_EINVAL;
  uint8_t priv[32], pub[32];
  memcpy(priv, private_key, sizeof priv);
  wg_key_clamp(priv);
  int rc = WG_OK;
  if (sodium_memcmp(priv, dev->static_private, sizeof priv) == 0) goto done;
  if (wg_key_public_from_private(pub, priv) != WG_OK) {
    rc = WG_EKEY;
    goto done;
  }
  wg_peer *self = wg_device_find_peer(dev, pub);
  if (self) wg_device_remove_peer(dev, self);
  sodium_memzero(dev->static_private, sizeof dev->static_private);
  memcpy(dev->static_private, priv, sizeof priv);
  memcpy(dev->static_public, pub, sizeof pub);
  for (size_t i = 0; i < dev->peer_count; i++) {
    wg_peer *peer = dev->peers[i];
    /* Cannot fail for a peer add_peer accepted (a key that is not low-order gives a
     * non-zero result with every clamped scalar); were it to, the zeros make every
     * handshake with that peer fail, as Linux's zeroed precomputation does. */
    if (crypto_scalarmult_curve25519(peer->static_static, dev->static_private, peer->public_key) != 0)
      sodium_memzero(peer->static_static, sizeof peer->static_static);
    wg_peer_expire_current_keypairs(peer);
  }
  wg_cookie_checker_set_public(&dev->cookie, dev->static_public);
done:
  sodium_memzero(priv, sizeof priv);
  return rc;
}

/* ------------------------------------------------------------ under load */

void wg_device_set_load_mode(wg_device *dev, wg_load_mode mode) { dev->load_mode = mode; }

static bool load_decision(wg_device *dev, int64_t now) {
  switch (dev->load_mode) {
  case WG_LOAD_FORCE_ON: return true;
  case WG_LOAD_FORCE_OFF: return false;
  default: break;
  }
  if (dev->under_load_fn) return dev->under_load_fn(dev->under_load_ctx, now) != 0;
  return now < dev->under_load_until;
}

int wg_device_is_under_load(wg_device *dev, int64_t now) { return load_decision(dev, now); }

/* Built-in model: more than `threshold` handshake messages within one 1 s window
 * puts the device under load, which then holds for 1 s after the last excess. It
 * stands in for WireGuard's "handshake queue is 1/8 full" test, which needs real
 * queues. */
bool wg_device_note_handshake_and_check_load(wg_device *dev, int64_t now) {
  if (dev->load_window_start == INT64_MIN || now - dev->load_window_start >= WG_NS_PER_S) {
    dev->load_window_start = now;
    dev->load_window_count = 0;
  }
  if (dev->load_window_count < UINT32_MAX) dev->load_window_count++;
  if (dev->load_window_count > dev->load_threshold)
    dev->under_load_until = now + WG_UNDER_LOAD_HOLD_NS;
  return load_decision(dev, now);
}

/* ------------------------------------------------------------ peers */

static int staged_alloc(wg_staged_queue *q, size_t cap, size_t slot_size) {
  q->storage = malloc(cap * slot_size);
  q->lens = calloc(cap, sizeof *q->lens);
  if (!q->storage || !q->lens) return WG_ENOMEM;
  q->cap = cap;
  q->slot_size = slot_size;
  return WG_OK;
}

int wg_device_add_peer(wg_device *dev, const wg_peer_config *config, wg_peer **out) {
  if (!dev || !config) return WG_EINVAL;
  if (wg_device_find_peer(dev, config->public_key)) return WG_EEXIST;
  if (dev->peer_count == dev->peer_cap) {
    size_t cap = dev->peer_cap ? 2 * dev->peer_cap : 4;
    wg_peer **grown = realloc(dev->peers, cap * sizeof *grown);
    if (!grown) return WG_ENOMEM;
    dev->peers = grown;
    dev->peer_cap = cap;
  }
  /* Each peer owns at most one handshake index and three keypair indices. */
  if (wg_index_reserve(&dev->index, 4 * (dev->peer_count + 1)) != WG_OK) return WG_ENOMEM;
  wg_peer *peer = calloc(1, sizeof *peer);
  if (!peer) return WG_ENOMEM;
  peer->dev = dev;
  memcpy(peer->public_key, config->public_key, 32);
  /* The static-static DH never changes, so it is computed once; a low-order key
   * would make it all-zero and every handshake fail, so refuse it here. */
  static const uint8_t zero[32];
  int bad = 0;
  if (config->static_static) {
    memcpy(peer->static_static, config->static_static, 32);
    bad = sodium_memcmp(peer->static_static, zero, 32) == 0;
  } else {
    bad = crypto_scalarmult_curve25519(peer->static_static, dev->static_private, peer->public_key) != 0;
  }
  if (bad) {
    sodium_memzero(peer, sizeof *peer);
    free(peer);
    return WG_EKEY;
  }
  if (config->has_preshared_key) memcpy(peer->psk, config->preshared_key, 32);
  peer->endpoint = config->endpoint;
  peer->persistent_keepalive_s = config->persistent_keepalive_s;
  peer->hs.last_initiation_consumed = INT64_MIN;
  peer->hs.last_initiation_sent = INT64_MIN;
  wg_cookie_generator_init(&peer->cookie, peer->public_key);
  wg_timers_init(peer);
  if (staged_alloc(&peer->staged, dev->staged_packets, dev->mtu) != WG_OK) {
    peer_free(peer);
    return WG_ENOMEM;
  }
  dev->peers[dev->peer_count++] = peer;
  if (out) *out = peer;
  return WG_OK;
}

int wg_device_remove_peer(wg_device *dev, wg_peer *peer) {
  for (size_t i = 0; i < dev->peer_count; i++) {
    if (dev->peers[i] != peer) continue;
    memmove(&dev->peers[i], &dev->peers[i + 1], (dev->peer_count - i - 1) * sizeof *dev->peers);
    dev->peer_count--;
    peer_free(peer);
    return WG_OK;
  }
  return WG_ENOENT;
}

wg_peer *wg_device_find_peer(const wg_device *dev, const uint8_t public_key[WG_KEY_LEN]) {
  for (size_t i = 0; i < dev->peer_count; i++)
    if (sodium_memcmp(dev->peers[i]->public_key, public_key, WG_KEY_LEN) == 0) return dev->peers[i];
  return NULL;
}

size_t wg_device_peer_count(const wg_device *dev) { return dev->peer_count; }

wg_peer *wg_device_peer_at(const wg_device *dev, size_t i) {
  return i < dev->peer_count ? dev->peers[i] : NULL;
}

int wg_peer_add_allowed_ip(wg_peer *peer, int family, const uint8_t *addr, uint8_t cidr) {
  if (!peer) return WG_EINVAL;
  return wg_allowedips_insert(&peer->dev->allowedips, family, addr, cidr, peer);
}

void wg_peer_clear_allowed_ips(wg_peer *peer) {
  wg_allowedips_remove_peer(&peer->dev->allowedips, peer);
}

wg_peer *wg_device_lookup_allowed_ip(const wg_device *dev, int family, const uint8_t *addr) {
  return wg_allowedips_lookup(&dev->allowedips, family, addr);
}

/* ------------------------------------------------------------ timers */

void wg_device_tick(wg_device *dev, int64_t now, const wg_sink *sink) {
  for (size_t i = 0; i < dev->peer_count; i++) wg_timers_tick(dev->peers[i], now, sink);
}

int64_t wg_device_next_deadline(const wg_device *dev) {
  int64_t at = WG_NEVER;
  for (size_t i = 0; i < dev->peer_count; i++) {
    int64_t p = wg_timers_next_deadline(dev->peers[i]);
    if (p < at) at = p;
  }
  return at;
}

/* ------------------------------------------------------------ names */

const char *wg_strerror(int err) {
  switch (err) {
  case WG_OK: return "success";
  case WG_EINVAL: return "invalid argument";
  case WG_ENOMEM: return "out of memory";
  case WG_EEXIST: return "peer already exists";
  case WG_ENOENT: return "no such peer";
  case WG_EMSGSIZE: return "packet too large";
  case WG_ENOROUTE: return "no peer for destination address";
  case WG_EDROP: return "packet dropped";
  case WG_EKEY: return "invalid key";
  case WG_ENOENDPOINT: return "peer has no endpoint";
  case WG_ESTAGED: return "packet staged until a session exists";
  default: return "unknown error";
  }
}

const char *wg_event_name(int event) {
  switch (event) {
  case WG_EV_NONE: return "none";
  case WG_EV_INITIATION_SENT: return "handshake initiation sent";
  case WG_EV_INITIATION_RETRY: return "handshake did not complete after 5 seconds, retrying";
  case WG_EV_INITIATION_RECEIVED: return "handshake initiation received";
  case WG_EV_RESPONSE_SENT: return "handshake response sent";
  case WG_EV_RESPONSE_RECEIVED: return "handshake response received";
  case WG_EV_HANDSHAKE_COMPLETE: return "handshake complete";
  case WG_EV_COOKIE_REPLY_SENT: return "cookie reply sent for denied handshake message";
  case WG_EV_COOKIE_RECEIVED: return "cookie reply received";
  case WG_EV_KEEPALIVE_SENT: return "keepalive sent";
  case WG_EV_KEEPALIVE_RECEIVED: return "keepalive received";
  case WG_EV_DATA_SENT: return "data sent";
  case WG_EV_DATA_RECEIVED: return "data received";
  case WG_EV_ENDPOINT_CHANGED: return "endpoint changed";
  case WG_EV_HANDSHAKE_GAVE_UP: return "handshake did not complete after 20 attempts, giving up";
  case WG_EV_KEYS_ZEROED: return "key material zeroed";
  case WG_EV_REKEY_NO_RESPONSE: return "retrying handshake because we stopped hearing back after 15 seconds";
  case WG_EV_REKEY_AFTER_TIME: return "rekey: keypair is old";
  case WG_EV_REKEY_AFTER_MESSAGES: return "rekey: keypair sent too many messages";
  case WG_EV_PACKET_STAGED: return "packet staged";
  case WG_EV_NO_ENDPOINT: return "no endpoint for peer";
  case WG_EV_INITIATION_RATE_LIMITED: return "handshake initiation suppressed (sent one less than 5 s ago)";
  case WG_DROP_TRUNCATED: return "drop: message truncated";
  case WG_DROP_OVERSIZED: return "drop: message oversized";
  case WG_DROP_UNKNOWN_TYPE: return "drop: unknown message type";
  case WG_DROP_BAD_MAC1: return "drop: invalid mac1";
  case WG_DROP_UNDER_LOAD_NO_COOKIE: return "drop: under load without valid mac2";
  case WG_DROP_HANDSHAKE_DECRYPT: return "drop: handshake message failed authentication";
  case WG_DROP_UNKNOWN_PEER: return "drop: initiation from unknown peer";
  case WG_DROP_HANDSHAKE_REPLAY: return "drop: handshake replay (timestamp not newer)";
  case WG_DROP_HANDSHAKE_FLOOD: return "drop: handshake flood";
  case WG_DROP_UNKNOWN_INDEX: return "drop: unknown receiver index";
  case WG_DROP_UNEXPECTED_RESPONSE: return "drop: unexpected handshake response";
  case WG_DROP_BAD_COOKIE_REPLY: return "drop: invalid cookie reply";
  case WG_DROP_KEYPAIR_EXPIRED: return "drop: keypair expired";
  case WG_DROP_DATA_DECRYPT: return "drop: transport data failed authentication";
  case WG_DROP_REPLAY: return "drop: replayed or too old counter";
  case WG_DROP_DISALLOWED_SOURCE: return "drop: inner source address not allowed for peer";
  case WG_DROP_BAD_INNER_PACKET: return "drop: malformed inner IP packet";
  case WG_DROP_NO_ROUTE: return "drop: no peer for destination";
  case WG_DROP_STAGED_OVERFLOW: return "drop: staged queue full";
  case WG_DROP_STAGED_FLUSHED: return "drop: staged packet flushed after handshake gave up";
  case WG_DROP_DH_FAILED: return "drop: X25519 produced an all-zero result";
  case WG_DROP_PACKET_TOO_BIG: return "drop: packet too big";
  default: return "unknown event";
  }
}

/* ------------------------------------------------------------ keys */

void wg_key_clamp(uint8_t key[WG_KEY_LEN]) {
  key[0] &= 248;
  key[31] = (uint8_t)((key[31] & 127) | 64);
}

int wg_key_public_from_private(uint8_t pub[WG_KEY_LEN], const uint8_t priv[WG_KEY_LEN]) {
  if (sodium_init() < 0) return WG_ENOMEM;
  return crypto_scalarmult_curve25519_base(pub, priv) == 0 ? WG_OK : WG_EKEY;
}

void wg_key_to_base64(char out[WG_BASE64_KEY_LEN], const uint8_t key[WG_KEY_LEN]) {
  sodium_bin2base64(out, WG_BASE64_KEY_LEN, key, WG_KEY_LEN, sodium_base64_VARIANT_ORIGINAL);
}

int wg_key_from_base64(uint8_t key[WG_KEY_LEN], const char *b64) {
  size_t len = 0;
  if (!b64 || sodium_base642bin(key, WG_KEY_LEN, b64, strlen(b64), NULL, &len, NULL,
                                sodium_base64_VARIANT_ORIGINAL) != 0 || len != WG_KEY_LEN)
    return WG_EINVAL;
  return WG_OK;
}
