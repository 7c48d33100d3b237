/* ts_negotiation: the stand-in for Mullvad's ephemeral-peer exchange (see
 * ts_negotiation.h): fixed-length codec, a stream reader, and the key helpers. The
 * cryptography is libsodium's (X25519, BLAKE2b); nothing here is hand-written. */
#include "ts_negotiation.h"

#include <sodium.h>
#include <string.h>

#include "ts_error.h"

/* Domain separation: a PSK from this exchange can never equal a hash of the same
 * secret made for another purpose. */
static const char psk_label[] = "tunnelsim negotiation v1";

const char *ts_neg_status_name(int status) {
  switch (status) {
  case TS_NEG_STATUS_OK: return "ok";
  case TS_NEG_STATUS_UNKNOWN_PARENT: return "unknown-parent";
  case TS_NEG_STATUS_BAD_KEY: return "bad-key";
  case TS_NEG_STATUS_INTERNAL: return "internal";
  case TS_NEG_STATUS_NOT_YOURS: return "not-yours";
  default: return "unknown";
  }
}

/* ---------------------------------------------------------------- codec */

int ts_neg_request_encode(const ts_neg_request *req, uint8_t out[TS_NEG_REQUEST_LEN]) {
  if (!req || !out) return TS_EINVAL;
  memcpy(out, TS_NEG_MAGIC, TS_NEG_MAGIC_LEN);
  memcpy(out + TS_NEG_MAGIC_LEN, req->parent_public, TS_NEG_KEY_LEN);
  memcpy(out + TS_NEG_MAGIC_LEN + TS_NEG_KEY_LEN, req->ephemeral_public, TS_NEG_KEY_LEN);
  return TS_NEG_REQUEST_LEN;
}

int ts_neg_response_encode(const ts_neg_response *resp, uint8_t out[TS_NEG_RESPONSE_LEN]) {
  if (!resp || !out) return TS_EINVAL;
  memcpy(out, TS_NEG_MAGIC, TS_NEG_MAGIC_LEN);
  out[TS_NEG_MAGIC_LEN] = resp->status;
  memcpy(out + TS_NEG_MAGIC_LEN + 1, resp->ephemeral_public, TS_NEG_KEY_LEN);
  return TS_NEG_RESPONSE_LEN;
}

/* The magic is checked over the bytes there are, so that a short input with a wrong
 * start is a parse error rather than "send more". */
static int check_magic(const uint8_t *data, size_t len) {
  size_t n = len < TS_NEG_MAGIC_LEN ? len : TS_NEG_MAGIC_LEN;
  return memcmp(data, TS_NEG_MAGIC, n) == 0 ? TS_OK : TS_EPARSE;
}

int ts_neg_request_decode(const uint8_t *data, size_t len, ts_neg_request *out) {
  if ((!data && len) || !out) return TS_EINVAL;
  if (len && check_magic(data, len)) return TS_EPARSE;
  if (len < TS_NEG_REQUEST_LEN) return TS_ETRUNC;
  memcpy(out->parent_public, data + TS_NEG_MAGIC_LEN, TS_NEG_KEY_LEN);
  memcpy(out->ephemeral_public, data + TS_NEG_MAGIC_LEN + TS_NEG_KEY_LEN, TS_NEG_KEY_LEN);
  return TS_OK;
}

int ts_neg_response_decode(const uint8_t *data, size_t len, ts_neg_response *out) {
  if ((!data && len) || !out) return TS_EINVAL;
  if (len && check_magic(data, len)) return TS_EPARSE;
  if (len < TS_NEG_RESPONSE_LEN) return TS_ETRUNC;
  out->status = data[TS_NEG_MAGIC_LEN];
  memcpy(out->ephemeral_public, data + TS_NEG_MAGIC_LEN + 1, TS_NEG_KEY_LEN);
  return TS_OK;
}

/* ---------------------------------------------------------------- stream reader */

int ts_neg_reader_init(ts_neg_reader *r, int kind) {
  if (!r || (kind != TS_NEG_REQUEST && kind != TS_NEG_RESPONSE)) return TS_EINVAL;
  memset(r, 0, sizeof *r);
  r->kind = kind;
  r->need = kind == TS_NEG_REQUEST ? TS_NEG_REQUEST_LEN : TS_NEG_RESPONSE_LEN;
  return TS_OK;
}

int ts_neg_reader_feed(ts_neg_reader *r, const uint8_t *data, size_t len, size_t *consumed) {
  if (consumed) *consumed = 0;
  if (!r || !r->kind || (!data && len)) return TS_EINVAL;
  if (r->state != TS_NEG_READER_MORE) return r->state;
  size_t take = r->need - r->have;
  if (take > len) take = len;
  if (take) memcpy(r->buf + r->have, data, take);
  r->have += (uint32_t)take;
  if (consumed) *consumed = take;
  if (check_magic(r->buf, r->have)) return r->state = TS_EPARSE;
  if (r->have == r->need) r->state = TS_NEG_READER_DONE;
  return r->state;
}

bool ts_neg_reader_done(const ts_neg_reader *r) { return r && r->state == TS_NEG_READER_DONE; }

int ts_neg_reader_request(const ts_neg_reader *r, ts_neg_request *out) {
  if (!ts_neg_reader_done(r) || r->kind != TS_NEG_REQUEST) return TS_ESTATE;
  return ts_neg_request_decode(r->buf, r->have, out);
}

int ts_neg_reader_response(const ts_neg_reader *r, ts_neg_response *out) {
  if (!ts_neg_reader_done(r) || r->kind != TS_NEG_RESPONSE) return TS_ESTATE;
  return ts_neg_response_decode(r->buf, r->have, out);
}

/* ---------------------------------------------------------------- keys */

int ts_neg_keypair_from_seed(uint8_t priv[TS_NEG_KEY_LEN], uint8_t pub[TS_NEG_KEY_LEN],
                             const uint8_t seed[TS_NEG_KEY_LEN]) {
  if (!priv || !pub || !seed) return TS_EINVAL;
  if (sodium_init() < 0) return TS_ENOMEM;
  memmove(priv, seed, TS_NEG_KEY_LEN); /* seed may be priv itself */
  /* X25519 clamping (RFC 7748 §5): libsodium clamps internally too, but a stored
   * private key should be the scalar actually used. */
  priv[0] &= 248;
  priv[31] &= 127;
  priv[31] |= 64;
  /* A clamped scalar times the base point is never the identity, so this cannot
   * fail; the check stays because libsodium's contract allows it. */
  if (crypto_scalarmult_curve25519_base(pub, priv) != 0) {
    sodium_memzero(priv, TS_NEG_KEY_LEN);
    return TS_EINVAL;
  }
  return TS_OK;
}

int ts_neg_keypair(uint8_t priv[TS_NEG_KEY_LEN], uint8_t pub[TS_NEG_KEY_LEN], ts_rng *rng) {
  if (!priv || !pub || !rng) return TS_EINVAL;
  uint8_t seed[TS_NEG_KEY_LEN];
  ts_rng_fill(rng, seed, sizeof seed);
  int rc = ts_neg_keypair_from_seed(priv, pub, seed);
  sodium_memzero(seed, sizeof seed);
  return rc;
}

int ts_neg_derive_psk(uint8_t psk[TS_NEG_KEY_LEN], const uint8_t my_eph_priv[TS_NEG_KEY_LEN],
                      const uint8_t their_eph_pub[TS_NEG_KEY_LEN],
                      const uint8_t client_eph_pub[TS_NEG_KEY_LEN],
                      const uint8_t relay_eph_pub[TS_NEG_KEY_LEN]) {
  if (!psk) return TS_EINVAL;
  sodium_memzero(psk, TS_NEG_KEY_LEN);
  if (!my_eph_priv || !their_eph_pub || !client_eph_pub || !relay_eph_pub) return TS_EINVAL;
  if (sodium_init() < 0) return TS_ENOMEM;
  uint8_t shared[crypto_scalarmult_curve25519_BYTES];
  /* libsodium returns -1 when the result is all zero (a low-order point). */
  if (crypto_scalarmult_curve25519(shared, my_eph_priv, their_eph_pub) != 0) {
    sodium_memzero(shared, sizeof shared);
    return TS_EINVAL;
  }
  crypto_generichash_state st;
  crypto_generichash_init(&st, NULL, 0, TS_NEG_KEY_LEN);
  crypto_generichash_update(&st, (const uint8_t *)psk_label, sizeof psk_label - 1);
  crypto_generichash_update(&st, shared, sizeof shared);
  crypto_generichash_update(&st, client_eph_pub, TS_NEG_KEY_LEN);
  crypto_generichash_update(&st, relay_eph_pub, TS_NEG_KEY_LEN);
  crypto_generichash_final(&st, psk, TS_NEG_KEY_LEN);
  sodium_memzero(&st, sizeof st);
  sodium_memzero(shared, sizeof shared);
  return TS_OK;
}
