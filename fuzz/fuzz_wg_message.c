/* Fuzz target: single WireGuard messages into a responder engine that holds real
 * keys (PSK on) and an established session with a known initiator.
 *
 * Input: a sequence of records [mode:1][len:1][len bytes]. The mode (first input
 * byte for the first record) selects how the bytes become a datagram:
 *   0 raw                       - as is (no DELIVER_IP may result)
 *   1 raw + mac1                - the harness writes a valid mac1 (148/92-byte
 *                                 messages) so the fuzzer gets past mac1
 *   2 initiation template       - a fresh real initiation from the initiator, XORed
 *                                 with the bytes, mac1 recomputed
 *   3 response template         - responder initiates, the real response is XORed,
 *                                 mac1 recomputed
 *   4 cookie-reply template     - the initiator is forced under load and answers the
 *                                 responder's initiation with a cookie reply (XORed)
 *   5 transport template        - a real transport message XORed with the bytes
 *                                 (any change must be rejected)
 *   6 inner packet             - the bytes are encrypted as the inner IP packet by
 *                                 the initiator (authentic: delivery must be exact)
 *   7 advance time and tick     - byte 0 = seconds
 * Everything is deterministic: fixed keys, splitmix RNGs, virtual time. */
#include <blake2.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ts_ipsum.h"
#include "ts_rng.h"
#include "wg.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define FAIL(...)                                  \
  do {                                             \
    fprintf(stderr, "fuzz_wg_message: " __VA_ARGS__); \
    fputc('\n', stderr);                           \
    abort();                                       \
  } while (0)

#define QMAX 16
#define MSGMAX 2048

typedef struct fnode {
  wg_device *dev;
  wg_peer *peer;
  ts_rng rng;
  wg_endpoint ep;
  uint8_t out[QMAX][MSGMAX];
  size_t out_len[QMAX], nout;
  size_t delivered;
  uint8_t last_ip[MSGMAX];
  size_t last_ip_len;
} fnode;

static uint8_t priv_i[32], priv_r[32], pub_i[32], pub_r[32], psk[32];
static uint8_t mac1_key_i[32], mac1_key_r[32];
static const uint8_t tun_i[4] = {10, 0, 0, 1}, tun_r[4] = {10, 0, 0, 2};

static void on_action(void *ctx, const wg_action *a) {
  fnode *n = ctx;
  if (a->kind == WG_ACTION_SEND_UDP) {
    if (n->nout < QMAX && a->len <= MSGMAX) {
      memcpy(n->out[n->nout], a->data, a->len);
      n->out_len[n->nout++] = a->len;
    }
  } else if (a->kind == WG_ACTION_DELIVER_IP) {
    n->delivered++;
    n->last_ip_len = a->len < MSGMAX ? a->len : MSGMAX;
    memcpy(n->last_ip, a->data, n->last_ip_len);
  }
}

static void mac1_key(uint8_t key[32], const uint8_t pub[32]) {
  uint8_t buf[8 + 32];
  memcpy(buf, "mac1----", 8);
  memcpy(buf + 8, pub, 32);
  blake2s(key, buf, NULL, 32, sizeof buf, 0);
}

/* Writes a valid mac1 for a message addressed to the owner of `key`. */
static void set_mac1(uint8_t *msg, size_t len, const uint8_t key[32]) {
  size_t off = len == 148 ? 116 : len == 92 ? 60 : 0;
  if (!off) return;
  blake2s(msg + off, msg, key, 16, off, 32);
}

static void init_keys(void) {
  static int done;
  if (done) return;
  ts_rng s;
  ts_rng_init(&s, 0x5eed, "fuzz/keys");
  ts_rng_source(&s, priv_i, 32);
  ts_rng_source(&s, priv_r, 32);
  ts_rng_source(&s, psk, 32);
  wg_key_clamp(priv_i);
  wg_key_clamp(priv_r);
  if (wg_key_public_from_private(pub_i, priv_i) || wg_key_public_from_private(pub_r, priv_r))
    FAIL("key setup");
  mac1_key(mac1_key_i, pub_i);
  mac1_key(mac1_key_r, pub_r);
  done = 1;
}

static void node_make(fnode *n, const uint8_t priv[32], uint8_t host, uint64_t seed,
                      const uint8_t peer_pub[32], uint8_t peer_host, const uint8_t peer_tun[4]) {
  memset(n, 0, sizeof *n);
  ts_rng_init(&n->rng, seed, "fuzz/node");
  n->ep = wg_endpoint_ipv4((const uint8_t[4]){192, 0, 2, host}, 51820);
  wg_device_config cfg = {.rng = ts_rng_source, .rng_ctx = &n->rng,
                          .wall_clock_epoch_ns = INT64_C(1700000000) * WG_NS_PER_S};
  memcpy(cfg.private_key, priv, 32);
  if (wg_device_create(&n->dev, &cfg) != WG_OK) FAIL("device create");
  wg_peer_config pc = {.has_preshared_key = 1,
                       .endpoint = wg_endpoint_ipv4((const uint8_t[4]){192, 0, 2, peer_host},
                                                    51820)};
  memcpy(pc.public_key, peer_pub, 32);
  memcpy(pc.preshared_key, psk, 32);
  if (wg_device_add_peer(n->dev, &pc, &n->peer) != WG_OK) FAIL("add peer");
  if (wg_peer_add_allowed_ip(n->peer, 4, peer_tun, 32) != WG_OK) FAIL("allowed ip");
}

/* An inner IPv4/UDP packet between two tunnel addresses (MSGMAX bytes of room). */
static size_t ipv4_packet(uint8_t *buf, const uint8_t src[4], const uint8_t dst[4],
                          const uint8_t *payload, size_t plen) {
  ts_ipaddr s = {.family = 4}, d = {.family = 4};
  memcpy(s.bytes, src, 4);
  memcpy(d.bytes, dst, 4);
  return ts_ip_build_udp(buf, MSGMAX, &s, &d, 0, 0, payload, (uint32_t)plen);
}

/* Delivers every queued datagram of `from` to `to`; returns the last rx result. */
static int flush(fnode *from, fnode *to, int64_t now) {
  int r = WG_OK;
  size_t k = from->nout;
  from->nout = 0;
  wg_sink s = {on_action, to};
  for (size_t i = 0; i < k; i++) r = wg_device_rx_udp(to->dev, now, &from->ep, from->out[i],
                                                       from->out_len[i], &s);
  return r;
}

/* Takes the first queued datagram of `n` of the given type into buf; 0 if none. */
static size_t take(fnode *n, uint8_t type, uint8_t *buf) {
  size_t len = 0;
  for (size_t i = 0; i < n->nout; i++)
    if (n->out_len[i] && n->out[i][0] == type) {
      len = n->out_len[i];
      memcpy(buf, n->out[i], len);
      break;
    }
  n->nout = 0;
  return len;
}

static void xor_into(uint8_t *msg, size_t len, const uint8_t *x, size_t xlen, int *changed) {
  for (size_t i = 0; i < len && i < xlen; i++) {
    msg[i] ^= x[i];
    if (x[i]) *changed = 1;
  }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  init_keys();
  static fnode I, R;
  int64_t now = WG_NS_PER_S;
  node_make(&I, priv_i, 1, 1, pub_r, 2, tun_r);
  node_make(&R, priv_r, 2, 2, pub_i, 1, tun_i);
  wg_sink si = {on_action, &I}, sr = {on_action, &R};

  /* establish a session: staged packet -> initiation -> response -> data */
  uint8_t pk[MSGMAX], msg[MSGMAX];
  size_t plen = ipv4_packet(pk, tun_i, tun_r, (const uint8_t *)"hello", 5);
  if (wg_device_tx_ip(I.dev, now, pk, plen, &si) != WG_ESTAGED) FAIL("setup: not staged");
  for (int round = 0; round < 4; round++) {
    now += WG_NS_PER_MS;
    flush(&I, &R, now);
    flush(&R, &I, now);
  }
  if (R.delivered != 1) FAIL("setup: handshake did not deliver the staged packet");
  R.delivered = 0;

  size_t pos = 0;
  int records = 0;
  while (pos < size && records++ < 64) {
    uint8_t mode = data[pos++] & 7;
    size_t len = pos < size ? data[pos++] : 0;
    if (len > size - pos) len = size - pos;
    const uint8_t *b = data + pos;
    pos += len;
    size_t before = R.delivered;
    int changed = 0, r;
    now += WG_NS_PER_MS;
    switch (mode) {
    case 0:
    case 1:
      memcpy(msg, b, len);
      if (mode == 1) set_mac1(msg, len, mac1_key_r);
      wg_device_rx_udp(R.dev, now, &I.ep, msg, len, &sr);
      if (R.delivered != before) FAIL("mode %u: unauthenticated bytes delivered as IP", mode);
      break;
    case 2: { /* initiation template */
      now += 6 * WG_NS_PER_S;
      I.nout = 0;
      wg_peer_initiate_handshake(I.peer, now, &si);
      size_t n = take(&I, 1, msg);
      if (!n) break;
      xor_into(msg, n, b, len, &changed);
      set_mac1(msg, n, mac1_key_r);
      wg_device_rx_udp(R.dev, now, &I.ep, msg, n, &sr);
      flush(&R, &I, now); /* let the response complete the initiator's side */
      flush(&I, &R, now);
      break;
    }
    case 3:
    case 4: { /* response / cookie-reply template, addressed to R */
      now += 6 * WG_NS_PER_S;
      R.nout = 0;
      wg_peer_initiate_handshake(R.peer, now, &sr);
      size_t n = take(&R, 1, msg);
      if (!n) break;
      if (mode == 4) wg_device_set_load_mode(I.dev, WG_LOAD_FORCE_ON);
      wg_device_rx_udp(I.dev, now, &R.ep, msg, n, &si);
      if (mode == 4) wg_device_set_load_mode(I.dev, WG_LOAD_AUTO);
      n = take(&I, mode == 3 ? 2 : 3, msg);
      if (!n) break;
      xor_into(msg, n, b, len, &changed);
      if (mode == 3) set_mac1(msg, n, mac1_key_r);
      r = wg_device_rx_udp(R.dev, now, &I.ep, msg, n, &sr);
      if (mode == 4 && changed && r == WG_OK) FAIL("altered cookie reply accepted");
      flush(&R, &I, now);
      break;
    }
    case 5: { /* transport template */
      I.nout = 0;
      plen = ipv4_packet(pk, tun_i, tun_r, b, len > 64 ? 64 : len);
      if (wg_device_tx_ip(I.dev, now, pk, plen, &si) != WG_OK) {
        I.nout = 0;
        break;
      }
      size_t n = take(&I, 4, msg);
      if (!n) break;
      xor_into(msg, n, b, len, &changed);
      r = wg_device_rx_udp(R.dev, now, &I.ep, msg, n, &sr);
      if (changed && (r == WG_OK || R.delivered != before))
        FAIL("altered transport message accepted (rx=%d, delivered=%zu)", r,
             R.delivered - before);
      if (!changed && R.delivered == before && r == WG_OK)
        FAIL("intact transport message accepted but nothing delivered");
      break;
    }
    case 6: { /* arbitrary inner packet, encrypted by the initiator */
      if (len > WG_DEFAULT_MTU) break;
      memcpy(pk, b, len);
      plen = len;
      if (plen >= 20 && (pk[0] >> 4) == 4) memcpy(pk + 16, tun_r, 4);
      if (plen >= 40 && (pk[0] >> 4) == 6) pk[24] = 0xfd; /* unroutable: refused */
      I.nout = 0;
      if (wg_device_tx_ip(I.dev, now, pk, plen, &si) != WG_OK) {
        I.nout = 0;
        break;
      }
      flush(&I, &R, now);
      if (R.delivered != before) {
        if (R.delivered != before + 1) FAIL("one inner packet delivered %zu times",
                                            R.delivered - before);
        /* The receiver trims to the IP header's length, which may claim bytes of
         * the zero padding (as Linux and wireguard-go do): those must be zero. */
        size_t padded = (plen + 15) / 16 * 16;
        if (R.last_ip_len > padded) FAIL("delivered more than was encrypted");
        for (size_t i = 0; i < R.last_ip_len; i++)
          if (R.last_ip[i] != (i < plen ? pk[i] : 0))
            FAIL("delivered inner packet differs from the one sent at byte %zu", i);
      }
      break;
    }
    case 7: { /* time passes; ticks never go back before the last call */
      int64_t prev = now;
      now += (int64_t)(len ? b[0] : 1) * WG_NS_PER_S;
      for (int guard = 0; guard < 64; guard++) {
        int64_t dr = wg_device_next_deadline(R.dev), di = wg_device_next_deadline(I.dev);
        int64_t d = dr < di ? dr : di;
        if (d > now) break;
        int64_t t = d > prev ? d : prev;
        if (dr == d) wg_device_tick(R.dev, t, &sr);
        if (di == d) wg_device_tick(I.dev, t, &si);
        flush(&I, &R, t);
        flush(&R, &I, t);
        prev = t;
      }
      break;
    }
    }
    R.nout = 0;
    I.nout = 0;
  }
  wg_device_destroy(I.dev);
  wg_device_destroy(R.dev);
  return 0;
}
