/* The negotiation codec (sim/net/ts_negotiation.h): round trips, truncation at every
 * length, bad magic, a stream split into every possible pair of pieces and into single
 * bytes, and the key helpers (same PSK on both sides, different keys give different
 * PSKs, low-order keys refused). */
#include <string.h>

#include "ts_error.h"
#include "ts_negotiation.h"
#include "ts_rng.h"
#include "tstest.h"

static void fill(uint8_t *b, size_t n, uint8_t start) {
  for (size_t i = 0; i < n; i++) b[i] = (uint8_t)(start + i);
}

static void sample_request(ts_neg_request *req) {
  fill(req->parent_public, sizeof req->parent_public, 0x10);
  fill(req->ephemeral_public, sizeof req->ephemeral_public, 0x80);
}

TS_TEST(request_round_trip) {
  ts_neg_request req, back;
  sample_request(&req);
  uint8_t wire[TS_NEG_REQUEST_LEN];
  TS_CHECK_INT(TS_NEG_REQUEST_LEN, ==, 68);
  TS_CHECK_INT(ts_neg_request_encode(&req, wire), ==, TS_NEG_REQUEST_LEN);
  TS_CHECK_MEM(wire, "TSN1", 4);
  TS_CHECK_MEM(wire + 4, req.parent_public, 32);
  TS_CHECK_MEM(wire + 36, req.ephemeral_public, 32);
  memset(&back, 0, sizeof back);
  TS_CHECK_INT(ts_neg_request_decode(wire, sizeof wire, &back), ==, TS_OK);
  TS_CHECK_MEM(&back, &req, sizeof req);
  /* Trailing bytes are not the decoder's business. */
  uint8_t longer[TS_NEG_REQUEST_LEN + 5];
  memcpy(longer, wire, sizeof wire);
  memset(longer + sizeof wire, 0xee, 5);
  TS_CHECK_INT(ts_neg_request_decode(longer, sizeof longer, &back), ==, TS_OK);
  TS_CHECK_MEM(&back, &req, sizeof req);
}

TS_TEST(response_round_trip) {
  for (int status = 0; status < 256; status += 51) {
    ts_neg_response resp = {.status = (uint8_t)status}, back;
    fill(resp.ephemeral_public, 32, (uint8_t)(0x40 + status));
    uint8_t wire[TS_NEG_RESPONSE_LEN];
    TS_CHECK_INT(TS_NEG_RESPONSE_LEN, ==, 37);
    TS_CHECK_INT(ts_neg_response_encode(&resp, wire), ==, TS_NEG_RESPONSE_LEN);
    TS_CHECK_MEM(wire, "TSN1", 4);
    TS_CHECK_INT(wire[4], ==, status);
    TS_CHECK_INT(ts_neg_response_decode(wire, sizeof wire, &back), ==, TS_OK);
    TS_CHECK_INT(back.status, ==, status);
    TS_CHECK_MEM(back.ephemeral_public, resp.ephemeral_public, 32);
  }
  TS_CHECK_STR(ts_neg_status_name(TS_NEG_STATUS_OK), "ok");
  TS_CHECK_STR(ts_neg_status_name(TS_NEG_STATUS_UNKNOWN_PARENT), "unknown-parent");
  TS_CHECK_STR(ts_neg_status_name(TS_NEG_STATUS_NOT_YOURS), "not-yours");
  TS_CHECK_STR(ts_neg_status_name(200), "unknown");
}

TS_TEST(truncation_at_every_length) {
  ts_neg_request req, back;
  sample_request(&req);
  uint8_t wire[TS_NEG_REQUEST_LEN];
  ts_neg_request_encode(&req, wire);
  for (size_t n = 0; n < sizeof wire; n++)
    TS_CHECK_INT(ts_neg_request_decode(wire, n, &back), ==, TS_ETRUNC);
  ts_neg_response resp = {.status = 0}, rback;
  fill(resp.ephemeral_public, 32, 3);
  uint8_t rwire[TS_NEG_RESPONSE_LEN];
  ts_neg_response_encode(&resp, rwire);
  for (size_t n = 0; n < sizeof rwire; n++)
    TS_CHECK_INT(ts_neg_response_decode(rwire, n, &rback), ==, TS_ETRUNC);
  TS_CHECK_INT(ts_neg_request_decode(NULL, 0, &back), ==, TS_ETRUNC);
  TS_CHECK_INT(ts_neg_request_decode(NULL, 3, &back), ==, TS_EINVAL);
  TS_CHECK_INT(ts_neg_request_encode(NULL, wire), ==, TS_EINVAL);
}

TS_TEST(bad_magic) {
  ts_neg_request req, back;
  sample_request(&req);
  uint8_t wire[TS_NEG_REQUEST_LEN];
  ts_neg_request_encode(&req, wire);
  for (size_t i = 0; i < TS_NEG_MAGIC_LEN; i++) {
    uint8_t bad[TS_NEG_REQUEST_LEN];
    memcpy(bad, wire, sizeof bad);
    bad[i] ^= 0x20;
    TS_CHECK_INT(ts_neg_request_decode(bad, sizeof bad, &back), ==, TS_EPARSE);
    /* A wrong start is a parse error even before the rest arrived. */
    TS_CHECK_INT(ts_neg_request_decode(bad, i + 1, &back), ==, TS_EPARSE);
    TS_CHECK_INT(ts_neg_response_decode(bad, TS_NEG_RESPONSE_LEN, &(ts_neg_response){0}), ==,
                 TS_EPARSE);
  }
  /* An HTTP/2 preface (what real gRPC would send first) is refused at once. */
  const char *preface = "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n";
  TS_CHECK_INT(ts_neg_request_decode((const uint8_t *)preface, strlen(preface), &back), ==,
               TS_EPARSE);
}

/* Feeds `wire` to a reader in two pieces split at `cut` and checks the message. */
static int read_split(const uint8_t *wire, size_t len, size_t cut, ts_neg_request *out) {
  ts_neg_reader r;
  if (ts_neg_reader_init(&r, TS_NEG_REQUEST)) return -100;
  size_t used = 0;
  int rc = ts_neg_reader_feed(&r, wire, cut, &used);
  if (used != cut) return -101;
  if (cut < TS_NEG_REQUEST_LEN && (rc != TS_NEG_READER_MORE || ts_neg_reader_done(&r))) return -102;
  rc = ts_neg_reader_feed(&r, wire + cut, len - cut, &used);
  if (rc != TS_NEG_READER_DONE || !ts_neg_reader_done(&r)) return -103;
  /* The reader stops at the end of the message: the rest is the caller's. */
  if (used != (cut < TS_NEG_REQUEST_LEN ? TS_NEG_REQUEST_LEN - cut : 0)) return -104;
  return ts_neg_reader_request(&r, out);
}

TS_TEST(split_stream_reading) {
  ts_neg_request req, back;
  sample_request(&req);
  uint8_t wire[TS_NEG_REQUEST_LEN + 7]; /* a message plus the start of something else */
  ts_neg_request_encode(&req, wire);
  memset(wire + TS_NEG_REQUEST_LEN, 0x55, 7);
  for (size_t cut = 0; cut <= TS_NEG_REQUEST_LEN; cut++) {
    memset(&back, 0, sizeof back);
    int rc = read_split(wire, sizeof wire, cut, &back);
    if (rc != TS_OK) ts_test_fail(__FILE__, __LINE__, "cut %zu: %d", cut, rc);
    TS_CHECK_INT(rc, ==, TS_OK);
    TS_CHECK_MEM(&back, &req, sizeof req);
  }
  /* One byte at a time, for the response. */
  ts_neg_response resp = {.status = TS_NEG_STATUS_UNKNOWN_PARENT}, rback;
  uint8_t rwire[TS_NEG_RESPONSE_LEN];
  ts_neg_response_encode(&resp, rwire);
  ts_neg_reader r;
  TS_CHECK_INT(ts_neg_reader_init(&r, TS_NEG_RESPONSE), ==, TS_OK);
  for (size_t i = 0; i < sizeof rwire; i++) {
    size_t used = 9;
    int rc = ts_neg_reader_feed(&r, rwire + i, 1, &used);
    TS_CHECK_INT(used, ==, 1);
    TS_CHECK_INT(rc, ==, i + 1 == sizeof rwire ? TS_NEG_READER_DONE : TS_NEG_READER_MORE);
  }
  TS_CHECK_INT(ts_neg_reader_request(&r, &back), ==, TS_ESTATE); /* wrong kind */
  TS_CHECK_INT(ts_neg_reader_response(&r, &rback), ==, TS_OK);
  TS_CHECK_INT(rback.status, ==, TS_NEG_STATUS_UNKNOWN_PARENT);
  /* Done readers take nothing more. */
  size_t used = 9;
  TS_CHECK_INT(ts_neg_reader_feed(&r, rwire, sizeof rwire, &used), ==, TS_NEG_READER_DONE);
  TS_CHECK_INT(used, ==, 0);
  /* Not done yet: nothing to decode. */
  TS_CHECK_INT(ts_neg_reader_init(&r, TS_NEG_RESPONSE), ==, TS_OK);
  TS_CHECK_INT(ts_neg_reader_response(&r, &rback), ==, TS_ESTATE);
  TS_CHECK_INT(ts_neg_reader_init(&r, 7), ==, TS_EINVAL);
}

TS_TEST(stream_bad_magic_detected_early) {
  ts_neg_reader r;
  TS_CHECK_INT(ts_neg_reader_init(&r, TS_NEG_REQUEST), ==, TS_OK);
  size_t used;
  TS_CHECK_INT(ts_neg_reader_feed(&r, (const uint8_t *)"TS", 2, &used), ==, TS_NEG_READER_MORE);
  TS_CHECK_INT(ts_neg_reader_feed(&r, (const uint8_t *)"X", 1, &used), ==, TS_EPARSE);
  TS_CHECK_INT(used, ==, 1);
  TS_CHECK(!ts_neg_reader_done(&r));
  TS_CHECK_INT(ts_neg_reader_feed(&r, (const uint8_t *)"N1", 2, &used), ==, TS_EPARSE);
  TS_CHECK_INT(used, ==, 0);
}

TS_TEST(keypair_is_deterministic_from_the_stream) {
  ts_rng a, b, c;
  ts_rng_init(&a, 42, "neg/test");
  ts_rng_init(&b, 42, "neg/test");
  ts_rng_init(&c, 43, "neg/test");
  uint8_t pa[32], qa[32], pb[32], qb[32], pc[32], qc[32];
  TS_CHECK_INT(ts_neg_keypair(pa, qa, &a), ==, TS_OK);
  TS_CHECK_INT(ts_neg_keypair(pb, qb, &b), ==, TS_OK);
  TS_CHECK_INT(ts_neg_keypair(pc, qc, &c), ==, TS_OK);
  TS_CHECK_MEM(pa, pb, 32);
  TS_CHECK_MEM(qa, qb, 32);
  TS_CHECK(memcmp(qa, qc, 32) != 0);
  TS_CHECK_INT(pa[0] & 7, ==, 0); /* clamped */
  TS_CHECK_INT(pa[31] & 0xc0, ==, 0x40);
  /* The next draw gives a fresh key. */
  TS_CHECK_INT(ts_neg_keypair(pb, qb, &a), ==, TS_OK);
  TS_CHECK(memcmp(qa, qb, 32) != 0);
  TS_CHECK_INT(ts_neg_keypair(pa, qa, NULL), ==, TS_EINVAL);
}

/* RFC 7748 §6.1 test vector: Alice's private key gives her public key. */
TS_TEST(keypair_from_seed_matches_rfc7748) {
  static const uint8_t alice_priv[32] = {
      0x77, 0x07, 0x6d, 0x0a, 0x73, 0x18, 0xa5, 0x7d, 0x3c, 0x16, 0xc1, 0x72, 0x51, 0xb2, 0x66, 0x45,
      0xdf, 0x4c, 0x2f, 0x87, 0xeb, 0xc0, 0x99, 0x2a, 0xb1, 0x77, 0xfb, 0xa5, 0x1d, 0xb9, 0x2c, 0x2a};
  static const uint8_t alice_pub[32] = {
      0x85, 0x20, 0xf0, 0x09, 0x89, 0x30, 0xa7, 0x54, 0x74, 0x8b, 0x7d, 0xdc, 0xb4, 0x3e, 0xf7, 0x5a,
      0x0d, 0xbf, 0x3a, 0x0d, 0x26, 0x38, 0x1a, 0xf4, 0xeb, 0xa4, 0xa9, 0x8e, 0xaa, 0x9b, 0x4e, 0x6a};
  uint8_t priv[32], pub[32];
  TS_CHECK_INT(ts_neg_keypair_from_seed(priv, pub, alice_priv), ==, TS_OK);
  TS_CHECK_MEM(pub, alice_pub, 32);
}

TS_TEST(both_sides_derive_the_same_psk) {
  ts_rng client_rng, relay_rng;
  ts_rng_init(&client_rng, 7, "neg/client");
  ts_rng_init(&relay_rng, 7, "neg/relay");
  uint8_t cpriv[32], cpub[32], rpriv[32], rpub[32], cpsk[32], rpsk[32];
  TS_CHECK_INT(ts_neg_keypair(cpriv, cpub, &client_rng), ==, TS_OK);
  TS_CHECK_INT(ts_neg_keypair(rpriv, rpub, &relay_rng), ==, TS_OK);
  TS_CHECK_INT(ts_neg_derive_psk(cpsk, cpriv, rpub, cpub, rpub), ==, TS_OK);
  TS_CHECK_INT(ts_neg_derive_psk(rpsk, rpriv, cpub, cpub, rpub), ==, TS_OK);
  TS_CHECK_MEM(cpsk, rpsk, 32);
  static const uint8_t zero[32];
  TS_CHECK(memcmp(cpsk, zero, 32) != 0);
  /* The order of the public keys is part of the hash: swapping them changes the key. */
  uint8_t swapped[32];
  TS_CHECK_INT(ts_neg_derive_psk(swapped, cpriv, rpub, rpub, cpub), ==, TS_OK);
  TS_CHECK(memcmp(swapped, cpsk, 32) != 0);
}

TS_TEST(different_ephemeral_keys_give_different_psks) {
  ts_rng rng;
  ts_rng_init(&rng, 99, "neg/many");
  uint8_t rpriv[32], rpub[32];
  TS_CHECK_INT(ts_neg_keypair(rpriv, rpub, &rng), ==, TS_OK);
  uint8_t psks[8][32];
  for (int i = 0; i < 8; i++) {
    uint8_t cpriv[32], cpub[32];
    TS_CHECK_INT(ts_neg_keypair(cpriv, cpub, &rng), ==, TS_OK);
    TS_CHECK_INT(ts_neg_derive_psk(psks[i], cpriv, rpub, cpub, rpub), ==, TS_OK);
    for (int k = 0; k < i; k++) TS_CHECK(memcmp(psks[i], psks[k], 32) != 0);
  }
  /* And a different relay key changes it too. */
  uint8_t cpriv[32], cpub[32], r2priv[32], r2pub[32], a[32], b[32];
  TS_CHECK_INT(ts_neg_keypair(cpriv, cpub, &rng), ==, TS_OK);
  TS_CHECK_INT(ts_neg_keypair(r2priv, r2pub, &rng), ==, TS_OK);
  TS_CHECK_INT(ts_neg_derive_psk(a, cpriv, rpub, cpub, rpub), ==, TS_OK);
  TS_CHECK_INT(ts_neg_derive_psk(b, cpriv, r2pub, cpub, r2pub), ==, TS_OK);
  TS_CHECK(memcmp(a, b, 32) != 0);
}

TS_TEST(low_order_key_is_refused) {
  ts_rng rng;
  ts_rng_init(&rng, 5, "neg/low-order");
  uint8_t priv[32], pub[32], psk[32];
  TS_CHECK_INT(ts_neg_keypair(priv, pub, &rng), ==, TS_OK);
  /* The all-zero point and the point of order 1 (u = 1) give an all-zero secret. */
  uint8_t zero_point[32] = {0}, one_point[32] = {1};
  memset(psk, 0xaa, sizeof psk);
  TS_CHECK_INT(ts_neg_derive_psk(psk, priv, zero_point, pub, zero_point), ==, TS_EINVAL);
  static const uint8_t zero[32];
  TS_CHECK_MEM(psk, zero, 32); /* nothing usable left behind */
  TS_CHECK_INT(ts_neg_derive_psk(psk, priv, one_point, one_point, pub), ==, TS_EINVAL);
  TS_CHECK_INT(ts_neg_derive_psk(psk, NULL, pub, pub, pub), ==, TS_EINVAL);
}

int main(int argc, char **argv) { return ts_test_main(argc, argv); }
