/* noise.c: Noise_IKpsk2_25519_ChaChaPoly_BLAKE2s, and WireGuard's two handshake
 * messages on top of it (prologue = identifier, payload 1 = TAI64N, payload 2 empty).
 *
 * The core works on a copy of the symmetric state and the caller commits it only
 * when a message has been fully authenticated, so a forged message never
 * disturbs a handshake in progress. */
#include "noise.h"

#include <sodium.h>
#include <string.h>

#include "device.h"
#include "kdf.h"
#include "keylog.h"

/* ------------------------------------------------------------ primitives */

void wg_aead_encrypt(uint8_t *out, const uint8_t *pt, size_t len, const uint8_t *ad,
                     size_t ad_len, uint64_t counter, const uint8_t key[32]) {
  uint8_t nonce[12] = {0};
  wg_put_le64(nonce + 4, counter);
  crypto_aead_chacha20poly1305_ietf_encrypt(out, NULL, pt, len, ad, ad_len, NULL, nonce, key);
}

int wg_aead_decrypt(uint8_t *out, const uint8_t *ct, size_t ct_len, const uint8_t *ad,
                    size_t ad_len, uint64_t counter, const uint8_t key[32]) {
  uint8_t nonce[12] = {0};
  wg_put_le64(nonce + 4, counter);
  if (ct_len < WG_AEAD_TAG_LEN) return -1;
  return crypto_aead_chacha20poly1305_ietf_decrypt(out, NULL, NULL, ct, ct_len, ad, ad_len,
                                                   nonce, key);
}

void wg_tai64n(uint8_t out[WG_TAI64N_LEN], int64_t unix_ns) {
  int64_t sec = unix_ns / WG_NS_PER_S;
  int64_t nsec = unix_ns % WG_NS_PER_S;
  if (nsec < 0) { nsec += WG_NS_PER_S; sec -= 1; }
  wg_put_be64(out, WG_TAI64_BASE + (uint64_t)sec);
  /* Whitening hides the sender's clock resolution; receivers only compare. */
  wg_put_be32(out + 8, (uint32_t)nsec & ~WG_TAI64N_WHITEN_MASK);
}

static void mix_hash(noise_state *s, const uint8_t *data, size_t len) {
  wg_hash(s->h, s->h, sizeof s->h, data, len);
}

/* Noise psk modes also mix the ephemeral public key into the chaining key. */
static void mix_ephemeral(noise_state *s, const uint8_t e_pub[32]) {
  wg_kdf(s->ck, NULL, NULL, s->ck, sizeof s->ck, e_pub, 32);
  mix_hash(s, e_pub, 32);
}

static int mix_dh(noise_state *s, const uint8_t priv[32], const uint8_t pub[32],
                  uint8_t key_out[32]) {
  uint8_t dh[32];
  /* libsodium returns -1 for an all-zero result, which the protocol must reject. */
  if (crypto_scalarmult_curve25519(dh, priv, pub) != 0) {
    sodium_memzero(dh, sizeof dh);
    return -1;
  }
  wg_kdf(s->ck, key_out, NULL, s->ck, sizeof s->ck, dh, sizeof dh);
  sodium_memzero(dh, sizeof dh);
  return 0;
}

static void mix_precomputed(noise_state *s, const uint8_t dh[32], uint8_t key_out[32]) {
  wg_kdf(s->ck, key_out, NULL, s->ck, sizeof s->ck, dh, 32);
}

static void mix_psk(noise_state *s, const uint8_t psk[32], uint8_t key_out[32]) {
  uint8_t tau[32];
  wg_kdf(s->ck, tau, key_out, s->ck, sizeof s->ck, psk, 32);
  mix_hash(s, tau, sizeof tau);
  sodium_memzero(tau, sizeof tau);
}

static void encrypt_and_hash(noise_state *s, const uint8_t key[32], const uint8_t *pt,
                             size_t len, uint8_t *out) {
  wg_aead_encrypt(out, pt, len, s->h, sizeof s->h, 0, key);
  mix_hash(s, out, len + WG_AEAD_TAG_LEN);
}

static int decrypt_and_hash(noise_state *s, const uint8_t key[32], const uint8_t *ct,
                            size_t ct_len, uint8_t *out) {
  if (wg_aead_decrypt(out, ct, ct_len, s->h, sizeof s->h, 0, key) != 0) return -1;
  mix_hash(s, ct, ct_len);
  return 0;
}

/* ------------------------------------------------------------ Noise IKpsk2 core */

void noise_state_init(noise_state *s, const uint8_t *prologue, size_t prologue_len,
                      const uint8_t responder_static_pub[32]) {
  static const char name[] = WG_CONSTRUCTION;
  /* The protocol name is longer than HASHLEN, so h = HASH(name). */
  wg_hash(s->h, (const uint8_t *)name, sizeof name - 1, NULL, 0);
  memcpy(s->ck, s->h, sizeof s->ck);
  mix_hash(s, prologue, prologue_len);
  mix_hash(s, responder_static_pub, 32);
}

int noise_write_msg1(noise_state *s, const uint8_t e_priv[32], const uint8_t s_priv[32],
                     const uint8_t s_pub[32], const uint8_t rs_pub[32],
                     const uint8_t *static_static, const uint8_t *payload, size_t payload_len,
                     uint8_t *out) {
  uint8_t key[32];
  int rc = -1;
  crypto_scalarmult_curve25519_base(out, e_priv);
  mix_ephemeral(s, out);
  if (mix_dh(s, e_priv, rs_pub, key) != 0) goto done;
  encrypt_and_hash(s, key, s_pub, 32, out + 32);
  if (static_static)
    mix_precomputed(s, static_static, key);
  else if (mix_dh(s, s_priv, rs_pub, key) != 0)
    goto done;
  encrypt_and_hash(s, key, payload, payload_len, out + 32 + 48);
  rc = 0;
done:
  sodium_memzero(key, sizeof key);
  return rc;
}

int noise_read_msg1_static(noise_state *s, const uint8_t s_priv[32], const uint8_t *in,
                           uint8_t re_out[32], uint8_t rs_out[32]) {
  uint8_t key[32];
  int rc = -1;
  memcpy(re_out, in, 32);
  mix_ephemeral(s, re_out);
  if (mix_dh(s, s_priv, re_out, key) != 0) goto done;
  rc = decrypt_and_hash(s, key, in + 32, 48, rs_out) == 0 ? 0 : -2;
done:
  sodium_memzero(key, sizeof key);
  return rc;
}

int noise_read_msg1_payload(noise_state *s, const uint8_t static_static[32], const uint8_t *ct,
                            size_t ct_len, uint8_t *payload_out) {
  uint8_t key[32];
  mix_precomputed(s, static_static, key);
  int rc = decrypt_and_hash(s, key, ct, ct_len, payload_out) == 0 ? 0 : -2;
  sodium_memzero(key, sizeof key);
  return rc;
}

int noise_write_msg2(noise_state *s, const uint8_t e_priv[32], const uint8_t re_pub[32],
                     const uint8_t rs_pub[32], const uint8_t psk[32], const uint8_t *payload,
                     size_t payload_len, uint8_t *out) {
  uint8_t key[32];
  int rc = -1;
  crypto_scalarmult_curve25519_base(out, e_priv);
  mix_ephemeral(s, out);
  if (mix_dh(s, e_priv, re_pub, key) != 0) goto done; /* ee */
  if (mix_dh(s, e_priv, rs_pub, key) != 0) goto done; /* se */
  mix_psk(s, psk, key);
  encrypt_and_hash(s, key, payload, payload_len, out + 32);
  rc = 0;
done:
  sodium_memzero(key, sizeof key);
  return rc;
}

int noise_read_msg2(noise_state *s, const uint8_t e_priv[32], const uint8_t s_priv[32],
                    const uint8_t psk[32], const uint8_t *in, size_t in_len,
                    uint8_t re_out[32], uint8_t *payload_out) {
  uint8_t key[32];
  int rc = -1;
  if (in_len < 32 + WG_AEAD_TAG_LEN) return -2;
  memcpy(re_out, in, 32);
  mix_ephemeral(s, re_out);
  if (mix_dh(s, e_priv, re_out, key) != 0) goto done; /* ee */
  if (mix_dh(s, s_priv, re_out, key) != 0) goto done; /* se */
  mix_psk(s, psk, key);
  rc = decrypt_and_hash(s, key, in + 32, in_len - 32, payload_out) == 0 ? 0 : -2;
done:
  sodium_memzero(key, sizeof key);
  return rc;
}

void noise_split(const noise_state *s, uint8_t k1[32], uint8_t k2[32]) {
  wg_kdf(k1, k2, NULL, s->ck, sizeof s->ck, NULL, 0);
}

/* ------------------------------------------------------------ WireGuard messages */

static const uint8_t wg_identifier[] = WG_IDENTIFIER;
#define WG_IDENTIFIER_LEN (sizeof wg_identifier - 1)

static void generate_ephemeral(wg_device *dev, uint8_t priv[32]) {
  wg_rng(dev, priv, 32);
  wg_key_clamp(priv);
}

/* Gives the handshake a fresh receiver index, retiring the previous one. */
static void assign_handshake_index(wg_device *dev, wg_peer *peer) {
  if (peer->hs.has_local_index) wg_index_remove(&dev->index, peer->hs.local_index);
  peer->hs.local_index = wg_index_insert_new(&dev->index, dev->rng, dev->rng_ctx, peer);
  peer->hs.has_local_index = true;
}

void wg_noise_handshake_clear(wg_device *dev, wg_peer *peer) {
  wg_handshake *hs = &peer->hs;
  if (hs->has_local_index) wg_index_remove(&dev->index, hs->local_index);
  hs->has_local_index = false;
  sodium_memzero(&hs->noise, sizeof hs->noise);
  sodium_memzero(hs->local_ephemeral_priv, sizeof hs->local_ephemeral_priv);
  sodium_memzero(hs->remote_ephemeral, sizeof hs->remote_ephemeral);
  hs->remote_index = 0;
  hs->state = WG_HS_ZEROED;
}

int wg_noise_create_initiation(wg_device *dev, wg_peer *peer, int64_t now,
                               uint8_t out[WG_INIT_SIZE]) {
  wg_handshake *hs = &peer->hs;
  uint8_t timestamp[WG_TAI64N_LEN];
  noise_state s;

  memset(out, 0, WG_INIT_SIZE);
  out[0] = WG_MSG_INITIATION;
  generate_ephemeral(dev, hs->local_ephemeral_priv);
  wg_tai64n(timestamp, dev->wall_clock_epoch_ns + now);
  noise_state_init(&s, wg_identifier, WG_IDENTIFIER_LEN, peer->public_key);
  if (noise_write_msg1(&s, hs->local_ephemeral_priv, dev->static_private, dev->static_public,
                       peer->public_key, peer->static_static, timestamp, sizeof timestamp,
                       out + WG_INIT_OFF_EPHEMERAL) != 0) {
    sodium_memzero(&s, sizeof s);
    wg_noise_handshake_clear(dev, peer);
    return -1;
  }
  assign_handshake_index(dev, peer);
  wg_put_le32(out + WG_INIT_OFF_SENDER, hs->local_index);
  hs->noise = s;
  hs->state = WG_HS_INITIATION_CREATED;
  sodium_memzero(&s, sizeof s);
  return 0;
}

static wg_peer *find_peer_by_key(wg_device *dev, const uint8_t key[32]) {
  for (size_t i = 0; i < dev->peer_count; i++)
    if (sodium_memcmp(dev->peers[i]->public_key, key, 32) == 0) return dev->peers[i];
  return NULL;
}

/* Replay and flood protection: the timestamp must grow strictly, and consumed
 * initiations from one peer must be more than 20 ms apart. */
static int initiation_freshness(const wg_handshake *hs, const uint8_t ts[WG_TAI64N_LEN],
                                int64_t now) {
  if (memcmp(ts, hs->latest_timestamp, WG_TAI64N_LEN) <= 0) return WG_DROP_HANDSHAKE_REPLAY;
  if (hs->last_initiation_consumed != INT64_MIN &&
      now - hs->last_initiation_consumed <= WG_HANDSHAKE_INITIATION_RATE_NS)
    return WG_DROP_HANDSHAKE_FLOOD;
  return 0;
}

wg_peer *wg_noise_consume_initiation(wg_device *dev, const uint8_t *msg, int64_t now,
                                     int *reason) {
  noise_state s;
  uint8_t re[32], rs[32], ts[WG_TAI64N_LEN];
  wg_peer *peer = NULL;
  int rc;

  noise_state_init(&s, wg_identifier, WG_IDENTIFIER_LEN, dev->static_public);
  rc = noise_read_msg1_static(&s, dev->static_private, msg + WG_INIT_OFF_EPHEMERAL, re, rs);
  if (rc != 0) {
    *reason = rc == -1 ? WG_DROP_DH_FAILED : WG_DROP_HANDSHAKE_DECRYPT;
    goto fail;
  }
  peer = find_peer_by_key(dev, rs);
  if (!peer) {
    *reason = WG_DROP_UNKNOWN_PEER;
    goto fail;
  }
  if (noise_read_msg1_payload(&s, peer->static_static, msg + WG_INIT_OFF_TIMESTAMP,
                              WG_TAI64N_LEN + WG_AEAD_TAG_LEN, ts) != 0) {
    *reason = WG_DROP_HANDSHAKE_DECRYPT;
    goto fail;
  }
  *reason = initiation_freshness(&peer->hs, ts, now);
  if (*reason) goto fail;

  /* Authenticated and fresh: this initiation replaces any handshake in progress. */
  wg_handshake *hs = &peer->hs;
  hs->noise = s;
  memcpy(hs->remote_ephemeral, re, 32);
  hs->remote_index = wg_get_le32(msg + WG_INIT_OFF_SENDER);
  memcpy(hs->latest_timestamp, ts, sizeof ts);
  hs->last_initiation_consumed = now;
  hs->state = WG_HS_INITIATION_CONSUMED;
  sodium_memzero(&s, sizeof s);
  return peer;

fail:
  sodium_memzero(&s, sizeof s);
  return NULL;
}

int wg_noise_create_response(wg_device *dev, wg_peer *peer, int64_t now,
                             uint8_t out[WG_RESP_SIZE]) {
  wg_handshake *hs = &peer->hs;
  (void)now;
  if (hs->state != WG_HS_INITIATION_CONSUMED) return -1;
  memset(out, 0, WG_RESP_SIZE);
  out[0] = WG_MSG_RESPONSE;
  generate_ephemeral(dev, hs->local_ephemeral_priv);
  if (noise_write_msg2(&hs->noise, hs->local_ephemeral_priv, hs->remote_ephemeral,
                       peer->public_key, peer->psk, NULL, 0, out + WG_RESP_OFF_EPHEMERAL) != 0) {
    wg_noise_handshake_clear(dev, peer);
    return -1;
  }
  assign_handshake_index(dev, peer);
  wg_put_le32(out + WG_RESP_OFF_SENDER, hs->local_index);
  wg_put_le32(out + WG_RESP_OFF_RECEIVER, hs->remote_index);
  hs->state = WG_HS_RESPONSE_CREATED;
  return 0;
}

wg_peer *wg_noise_consume_response(wg_device *dev, const uint8_t *msg, int *reason) {
  wg_index_entry *e = wg_index_lookup(&dev->index, wg_get_le32(msg + WG_RESP_OFF_RECEIVER));
  if (!e || e->kind != WG_INDEX_HANDSHAKE) {
    *reason = WG_DROP_UNKNOWN_INDEX;
    return NULL;
  }
  wg_peer *peer = e->peer;
  wg_handshake *hs = &peer->hs;
  if (hs->state != WG_HS_INITIATION_CREATED) {
    *reason = WG_DROP_UNEXPECTED_RESPONSE;
    return NULL;
  }
  noise_state s = hs->noise;
  uint8_t re[32], empty_payload[1];
  int rc = noise_read_msg2(&s, hs->local_ephemeral_priv, dev->static_private, peer->psk,
                           msg + WG_RESP_OFF_EPHEMERAL, 32 + WG_AEAD_TAG_LEN, re, empty_payload);
  if (rc != 0) {
    sodium_memzero(&s, sizeof s);
    *reason = rc == -1 ? WG_DROP_DH_FAILED : WG_DROP_HANDSHAKE_DECRYPT;
    return NULL;
  }
  hs->noise = s;
  memcpy(hs->remote_ephemeral, re, 32);
  hs->remote_index = wg_get_le32(msg + WG_RESP_OFF_SENDER);
  hs->state = WG_HS_RESPONSE_CONSUMED;
  sodium_memzero(&s, sizeof s);
  *reason = 0;
  return peer;
}

/* Initiator: the new keypair becomes current at once (the response proved the
 * peer has it). An unconfirmed `next` is kept as `previous` so late packets under
 * it still decrypt. Responder: the keypair waits in `next` until the initiator
 * uses it, because only then do we know the response arrived. */
static void file_keypair(wg_peer *peer, wg_keypair *kp) {
  if (kp->is_initiator) {
    if (peer->next) {
      wg_peer_drop_keypair(peer, &peer->previous);
      peer->previous = peer->next;
      peer->next = NULL;
      wg_peer_drop_keypair(peer, &peer->current);
    } else {
      wg_peer_drop_keypair(peer, &peer->previous);
      peer->previous = peer->current;
    }
    peer->current = kp;
  } else {
    wg_peer_drop_keypair(peer, &peer->next);
    wg_peer_drop_keypair(peer, &peer->previous);
    peer->next = kp;
  }
}

static void drop_for_new_keypair(wg_peer *peer, bool is_initiator) {
  /* Free the slots the filing rule will discard before taking a new one, so
   * three slots always suffice. */
  wg_peer_drop_keypair(peer, &peer->previous);
  if (!is_initiator) wg_peer_drop_keypair(peer, &peer->next);
}

int wg_noise_begin_session(wg_device *dev, wg_peer *peer, int64_t now) {
  wg_handshake *hs = &peer->hs;
  bool is_initiator;
  if (hs->state == WG_HS_RESPONSE_CONSUMED)
    is_initiator = true;
  else if (hs->state == WG_HS_RESPONSE_CREATED)
    is_initiator = false;
  else
    return -1;

  drop_for_new_keypair(peer, is_initiator);
  wg_keypair *kp = wg_peer_free_keypair_slot(peer);
  if (!kp) return -1; /* cannot happen: at most two slots are live here */
  uint8_t k1[32], k2[32];
  noise_split(&hs->noise, k1, k2);
  memcpy(kp->send_key, is_initiator ? k1 : k2, 32);
  memcpy(kp->recv_key, is_initiator ? k2 : k1, 32);
  sodium_memzero(k1, sizeof k1);
  sodium_memzero(k2, sizeof k2);
  kp->in_use = true;
  kp->is_initiator = is_initiator;
  kp->send_counter = 0;
  wg_replay_reset(&kp->replay);
  kp->birth = now;
  kp->remote_index = hs->remote_index;
  /* The handshake's index now names the keypair; the handshake gives it up. */
  kp->local_index = hs->local_index;
  wg_index_entry *e = wg_index_lookup(&dev->index, hs->local_index);
  if (e) {
    e->kind = WG_INDEX_KEYPAIR;
    e->keypair = kp;
  }
  hs->has_local_index = false;
  wg_noise_handshake_clear(dev, peer);
  file_keypair(peer, kp);
  return 0;
}
