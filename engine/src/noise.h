/* noise.h: the Noise IKpsk2 handshake core (generic prologue, payloads and
 * ephemerals, so it can be checked against the cacophony vector byte for byte)
 * and the WireGuard handshake messages built on it. */
#ifndef TSENGINE_NOISE_H
#define TSENGINE_NOISE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "messages.h"

/* Symmetric state: chaining key and transcript hash. Every MixKey yields a fresh
 * key used once with nonce 0, so no cipher state needs to be kept. */
typedef struct noise_state {
  uint8_t ck[WG_HASH_LEN];
  uint8_t h[WG_HASH_LEN];
} noise_state;

/* h = HASH(protocol name), ck = h, MixHash(prologue), MixHash(responder static). */
void noise_state_init(noise_state *s, const uint8_t *prologue, size_t prologue_len,
                      const uint8_t responder_static_pub[32]);

/* Message 1 (-> e, es, s, ss): out = e(32) || enc(s)(48) || enc(payload)(len+16).
 * `static_static` = DH(s_i, s_r) precomputed, or NULL to compute it.
 * Returns 0, or -1 if a DH result is all-zero. */
int noise_write_msg1(noise_state *s, const uint8_t e_priv[32], const uint8_t s_priv[32],
                     const uint8_t s_pub[32], const uint8_t rs_pub[32],
                     const uint8_t *static_static, const uint8_t *payload, size_t payload_len,
                     uint8_t *out);
/* Responder, first half: e, es, s. Learns the initiator's ephemeral and static keys.
 * Returns 0, -1 on DH failure, -2 on AEAD failure. */
int noise_read_msg1_static(noise_state *s, const uint8_t s_priv[32], const uint8_t *in,
                           uint8_t re_out[32], uint8_t rs_out[32]);
/* Responder, second half: ss and the payload (ct_len = payload_len + 16). */
int noise_read_msg1_payload(noise_state *s, const uint8_t static_static[32], const uint8_t *ct,
                            size_t ct_len, uint8_t *payload_out);

/* Message 2 (<- e, ee, se, psk): out = e(32) || enc(payload)(len+16). */
int noise_write_msg2(noise_state *s, const uint8_t e_priv[32], const uint8_t re_pub[32],
                     const uint8_t rs_pub[32], const uint8_t psk[32], const uint8_t *payload,
                     size_t payload_len, uint8_t *out);
/* Initiator reads message 2 (in_len = 32 + payload_len + 16). */
int noise_read_msg2(noise_state *s, const uint8_t e_priv[32], const uint8_t s_priv[32],
                    const uint8_t psk[32], const uint8_t *in, size_t in_len,
                    uint8_t re_out[32], uint8_t *payload_out);
/* Split: (k1, k2) = KDF2(ck, empty). k1 protects initiator->responder. */
void noise_split(const noise_state *s, uint8_t k1[32], uint8_t k2[32]);

/* AEAD with WireGuard's 96-bit nonce (4 zero bytes || LE64 counter). */
void wg_aead_encrypt(uint8_t *out, const uint8_t *pt, size_t len, const uint8_t *ad,
                     size_t ad_len, uint64_t counter, const uint8_t key[32]);
int wg_aead_decrypt(uint8_t *out, const uint8_t *ct, size_t ct_len, const uint8_t *ad,
                    size_t ad_len, uint64_t counter, const uint8_t key[32]);

/* TAI64N for a unix time in ns, with the nanoseconds whitened to 2^24 ns. */
void wg_tai64n(uint8_t out[WG_TAI64N_LEN], int64_t unix_ns);

/* WireGuard handshake messages (need the device structures). */
struct wg_device;
struct wg_peer;
int wg_noise_create_initiation(struct wg_device *dev, struct wg_peer *peer, int64_t now,
                               uint8_t out[WG_INIT_SIZE]);
/* Returns the peer, or NULL with *reason set to a WG_DROP_* code. */
struct wg_peer *wg_noise_consume_initiation(struct wg_device *dev, const uint8_t *msg,
                                            int64_t now, int *reason);
int wg_noise_create_response(struct wg_device *dev, struct wg_peer *peer, int64_t now,
                             uint8_t out[WG_RESP_SIZE]);
struct wg_peer *wg_noise_consume_response(struct wg_device *dev, const uint8_t *msg,
                                          int *reason);
/* Derives the transport keypair from a completed handshake and files it into the
 * peer's previous/current/next slots. Returns 0 or -1 (wrong handshake state). */
int wg_noise_begin_session(struct wg_device *dev, struct wg_peer *peer, int64_t now);
/* Zeroes the handshake state and releases its index. */
void wg_noise_handshake_clear(struct wg_device *dev, struct wg_peer *peer);

#endif
