/* The Noise core against the cacophony Noise_IKpsk2_25519_ChaChaPoly_BLAKE2s
 * vector, byte for byte: both handshake messages, the handshake hash, and four
 * transport messages. */
#include <sodium.h>
#include <string.h>

#include "engine_testkit.h"
#include "noise.h"
#include "tstest.h"

static const char *prologue_hex = "4a6f686e2047616c74";
static const char *psk_hex = "54686973206973206d7920417573747269616e20706572737065637469766521";
static const char *init_static_hex = "e61ef9919cde45dd5f82166404bd08e38bceb5dfdfded0a34c8df7ed542214d1";
static const char *init_eph_hex = "893e28b9dc6ca8d611ab664754b8ceb7bac5117349a4439a6b0569da977c464a";
static const char *resp_static_hex = "4a3acbfdb163dec651dfa3194dece676d437029c62a408b4c5ea9114246e4893";
static const char *resp_static_pub_hex = "31e0303fd6418d2f8c0e78b91f22e8caed0fbe48656dcf4767e4834f701b8f62";
static const char *resp_eph_hex = "bbdb4cdbd309f1a1f2e1456967fe288cadd6f712d65dc7b7793d5e63da6b375b";
static const char *hash_hex = "f5191b875290abcd41347ac3622d9679688a7e980229cb937ef748336cfde0e5";

static const char *payload_hex[6] = {
    "4c756477696720766f6e204d69736573",
    "4d757272617920526f746862617264",
    "462e20412e20486179656b",
    "4361726c204d656e676572",
    "4a65616e2d426170746973746520536179",
    "457567656e2042f6686d20766f6e2042617765726b",
};
static const char *ciphertext_hex[6] = {
    "ca35def5ae56cec33dc2036731ab14896bc4c75dbb07a61f879f8e3afa4c7944001e21de9f98ddd8e2ad57527207"
    "feb56253c9c94a9e496782ecfcb2a75fbcaf1b52948cc48daefe660c62119ab5000980c84831215f2441eba61654"
    "8e832985464cf17e51ee93109008399a21f7e13f",
    "95ebc60d2b1fa672c1f46a8aa265ef51bfe38e7ccb39ec5be34069f144808843cb765f2caef0751b8f007572dab0"
    "322217755c0632f365717edbf34d33e87a",
    "8153ca9833bc3c1b91a7e66e5f4d4f5b59bf9e64c2f20d15f0bba7",
    "07af0c9c86e1b4e80f36b04ff7688d51141af3debd0332f0a705ef",
    "6ab1467c0448cc78394494abaaf23afce0e234315d6e2624dcbfa8a21c1c4d073d",
    "dfc346c0d2296ae6cf1acf6f12b8456a1dba228cf8d8b774aacf1c47fc53aa80ebc7a4c292",
};

TS_TEST(cacophony_ikpsk2_vector_byte_exact) {
  uint8_t prologue[16], psk[32], is[32], ie[32], rs[32], rs_pub[32], re[32], hash[32];
  uint8_t is_pub[32], payload[6][64], ct[6][128];
  size_t plen[6], clen[6];
  size_t prologue_len = tk_hex(prologue, sizeof prologue, prologue_hex);
  tk_hex(psk, 32, psk_hex);
  tk_hex(is, 32, init_static_hex);
  tk_hex(ie, 32, init_eph_hex);
  tk_hex(rs, 32, resp_static_hex);
  tk_hex(rs_pub, 32, resp_static_pub_hex);
  tk_hex(re, 32, resp_eph_hex);
  tk_hex(hash, 32, hash_hex);
  for (int i = 0; i < 6; i++) {
    plen[i] = tk_hex(payload[i], sizeof payload[i], payload_hex[i]);
    clen[i] = tk_hex(ct[i], sizeof ct[i], ciphertext_hex[i]);
  }
  TS_CHECK(sodium_init() >= 0);
  crypto_scalarmult_curve25519_base(is_pub, is);
  uint8_t derived_rs_pub[32];
  crypto_scalarmult_curve25519_base(derived_rs_pub, rs);
  TS_CHECK_MEM(derived_rs_pub, rs_pub, 32);

  noise_state ini, res;
  noise_state_init(&ini, prologue, prologue_len, rs_pub);
  noise_state_init(&res, prologue, prologue_len, rs_pub);

  /* Message 1: initiator -> responder. */
  uint8_t msg[256], got[64];
  TS_CHECK_INT(clen[0], ==, 32 + 48 + plen[0] + 16);
  TS_CHECK_INT(noise_write_msg1(&ini, ie, is, is_pub, rs_pub, NULL, payload[0], plen[0], msg), ==, 0);
  TS_CHECK_MEM(msg, ct[0], clen[0]);
  uint8_t learned_re[32], learned_rs[32], ss[32];
  TS_CHECK_INT(noise_read_msg1_static(&res, rs, ct[0], learned_re, learned_rs), ==, 0);
  TS_CHECK_MEM(learned_rs, is_pub, 32);
  TS_CHECK_INT(crypto_scalarmult_curve25519(ss, rs, learned_rs), ==, 0);
  TS_CHECK_INT(noise_read_msg1_payload(&res, ss, ct[0] + 80, clen[0] - 80, got), ==, 0);
  TS_CHECK_MEM(got, payload[0], plen[0]);

  /* Message 2: responder -> initiator. */
  TS_CHECK_INT(clen[1], ==, 32 + plen[1] + 16);
  TS_CHECK_INT(noise_write_msg2(&res, re, learned_re, learned_rs, psk, payload[1], plen[1], msg), ==, 0);
  TS_CHECK_MEM(msg, ct[1], clen[1]);
  uint8_t learned_re_i[32];
  TS_CHECK_INT(noise_read_msg2(&ini, ie, is, psk, ct[1], clen[1], learned_re_i, got), ==, 0);
  TS_CHECK_MEM(got, payload[1], plen[1]);

  TS_CHECK_MEM(ini.h, hash, 32);
  TS_CHECK_MEM(res.h, hash, 32);

  /* Transport: even messages initiator->responder with k1, odd with k2. */
  uint8_t k1[32], k2[32], k1r[32], k2r[32];
  noise_split(&ini, k1, k2);
  noise_split(&res, k1r, k2r);
  TS_CHECK_MEM(k1, k1r, 32);
  TS_CHECK_MEM(k2, k2r, 32);
  for (int i = 2; i < 6; i++) {
    const uint8_t *key = (i % 2 == 0) ? k1 : k2;
    uint64_t nonce = (uint64_t)(i - 2) / 2;
    wg_aead_encrypt(msg, payload[i], plen[i], NULL, 0, nonce, key);
    TS_CHECK_INT(clen[i], ==, plen[i] + 16);
    TS_CHECK_MEM(msg, ct[i], clen[i]);
    TS_CHECK_INT(wg_aead_decrypt(got, ct[i], clen[i], NULL, 0, nonce, key), ==, 0);
    TS_CHECK_MEM(got, payload[i], plen[i]);
  }
}

TS_TEST(cacophony_tampered_messages_fail) {
  uint8_t prologue[16], psk[32], is[32], ie[32], rs[32], rs_pub[32], ct0[128], ct1[128];
  size_t prologue_len = tk_hex(prologue, sizeof prologue, prologue_hex);
  tk_hex(psk, 32, psk_hex);
  tk_hex(is, 32, init_static_hex);
  tk_hex(ie, 32, init_eph_hex);
  tk_hex(rs, 32, resp_static_hex);
  tk_hex(rs_pub, 32, resp_static_pub_hex);
  size_t l0 = tk_hex(ct0, sizeof ct0, ciphertext_hex[0]);
  size_t l1 = tk_hex(ct1, sizeof ct1, ciphertext_hex[1]);
  noise_state res, ini;
  uint8_t re[32], rsl[32], got[64];
  ct0[40] ^= 1; /* inside the encrypted static key */
  noise_state_init(&res, prologue, prologue_len, rs_pub);
  TS_CHECK_INT(noise_read_msg1_static(&res, rs, ct0, re, rsl), ==, -2);
  (void)l0;
  /* Initiator reading a message 2 under the wrong PSK fails authentication. */
  uint8_t is_pub[32], wrong_psk[32];
  crypto_scalarmult_curve25519_base(is_pub, is);
  noise_state_init(&ini, prologue, prologue_len, rs_pub);
  uint8_t msg[256], payload[16] = {0};
  tk_hex(payload, 16, payload_hex[0]);
  TS_CHECK_INT(noise_write_msg1(&ini, ie, is, is_pub, rs_pub, NULL, payload, 16, msg), ==, 0);
  memcpy(wrong_psk, psk, 32);
  wrong_psk[0] ^= 0x80;
  TS_CHECK_INT(noise_read_msg2(&ini, ie, is, wrong_psk, ct1, l1, re, got), ==, -2);
}

TS_TEST(low_order_point_rejected) {
  uint8_t priv[32] = {1}, zero_point[32] = {0}, msg[256];
  noise_state s;
  wg_key_clamp(priv);
  noise_state_init(&s, NULL, 0, zero_point);
  /* DH with the all-zero point yields zero, which must be refused. */
  TS_CHECK_INT(noise_write_msg1(&s, priv, priv, priv, zero_point, NULL, NULL, 0, msg), ==, -1);
}
