/* KDF, HMAC-BLAKE2s and the derived constants, against published vectors. */
#include <string.h>

#include "engine_testkit.h"
#include "kdf.h"
#include "messages.h"
#include "noise.h"
#include "send.h"
#include "tstest.h"

struct kdf_vector {
  const char *key, *input, *t0, *t1, *t2;
};

/* wireguard-go device/kdf_test.go */
static const struct kdf_vector kdf_vectors[] = {
    {"746573742d6b6579", "746573742d696e707574",
     "6f0e5ad38daba1bea8a0d213688736f19763239305e0f58aba697f9ffc41c633",
     "df1194df20802a4fe594cde27e92991c8cae66c366e8106aaa937a55fa371e8a",
     "fac6e2745a325f5dc5d11a5b165aad08b0ada28e7b4e666b7c077934a4d76c24"},
    {"776972656775617264", "776972656775617264",
     "491d43bbfdaa8750aaf535e334ecbfe5129967cd64635101c566d4caefda96e8",
     "1e71a379baefd8a79aa4662212fcafe19a23e2b609a3db7d6bcba8f560e3d25f",
     "31e1ae48bddfbe5de38f295e5452b1909a1b4e38e183926af3780b0c1e1f0160"},
    {"", "", "8387b46bf43eccfcf349552a095d8315c4055beb90208fb1be23b894bc2ed5d0",
     "58a0e5f6faefccf4807bff1f05fa8a9217945762040bcec2f4b4a62bdfe0e86e",
     "0ce6ea98ec548f8e281e93e32db65621c45eb18dc6f0a7ad94178610a2f7338e"},
};

TS_TEST(kdf_matches_wireguard_go_vectors) {
  for (size_t i = 0; i < sizeof kdf_vectors / sizeof kdf_vectors[0]; i++) {
    const struct kdf_vector *v = &kdf_vectors[i];
    uint8_t key[32], in[32], e0[32], e1[32], e2[32], t0[32], t1[32], t2[32];
    size_t kl = tk_hex(key, sizeof key, v->key), il = tk_hex(in, sizeof in, v->input);
    tk_hex(e0, 32, v->t0);
    tk_hex(e1, 32, v->t1);
    tk_hex(e2, 32, v->t2);
    wg_kdf(t0, t1, t2, key, kl, in, il);
    TS_CHECK_MEM(t0, e0, 32);
    TS_CHECK_MEM(t1, e1, 32);
    TS_CHECK_MEM(t2, e2, 32);
    /* KDF1 and KDF2 are prefixes of KDF3. */
    memset(t0, 0, 32);
    memset(t1, 0, 32);
    wg_kdf(t0, t1, NULL, key, kl, in, il);
    TS_CHECK_MEM(t0, e0, 32);
    TS_CHECK_MEM(t1, e1, 32);
    memset(t0, 0, 32);
    wg_kdf(t0, NULL, NULL, key, kl, in, il);
    TS_CHECK_MEM(t0, e0, 32);
  }
}

/* Linux v5.15 lib/crypto/blake2s-selftest.c blake2s_hmac_testvecs. */
TS_TEST(hmac_blake2s_matches_linux_vectors) {
  uint8_t key[32], buf[256], out[32], want[32];
  key[0] = key[1] = 1;
  for (int i = 2; i < 32; i++) key[i] = (uint8_t)(key[i - 1] + key[i - 2]);
  for (int i = 0; i < 256; i++) buf[i] = (uint8_t)i;
  wg_hmac(out, key, sizeof key, buf, sizeof buf);
  tk_hex(want, 32, "cee1576982dcbf43ad564c70ed681696cfa473e8e8fc3279080a7582da3f0511");
  TS_CHECK_MEM(out, want, 32);
  /* A 256-byte key exercises the "hash keys longer than a block" path. */
  wg_hmac(out, buf, sizeof buf, key, sizeof key);
  tk_hex(want, 32, "772f0c7141f44b2bb3c6b6f960dee4523866e8bf9b96c49f60d9243799d6ec31");
  TS_CHECK_MEM(out, want, 32);
}

TS_TEST(construction_and_identifier_hashes) {
  uint8_t ci[32], hi[32], want_ci[32], want_hi[32];
  static const char construction[] = WG_CONSTRUCTION, identifier[] = WG_IDENTIFIER;
  wg_hash(ci, (const uint8_t *)construction, sizeof construction - 1, NULL, 0);
  wg_hash(hi, ci, 32, (const uint8_t *)identifier, sizeof identifier - 1);
  tk_hex(want_ci, 32, "60e26daef327efc02ec335e2a025d2d016eb4206f87277f52d38d1988b78cd36");
  tk_hex(want_hi, 32, "2211b361081ac566691243db458ad5322d9c6c662293e8b70ee19c65ba079ef3");
  TS_CHECK_MEM(ci, want_ci, 32);
  TS_CHECK_MEM(hi, want_hi, 32);
  /* noise_state_init does the same, then mixes the responder key. */
  noise_state s;
  uint8_t zero_key[32] = {0}, h_expect[32];
  noise_state_init(&s, (const uint8_t *)identifier, sizeof identifier - 1, zero_key);
  wg_hash(h_expect, want_hi, 32, zero_key, 32);
  TS_CHECK_MEM(s.ck, want_ci, 32);
  TS_CHECK_MEM(s.h, h_expect, 32);
}

TS_TEST(keyed_blake2s_mac_differs_from_hmac_and_depends_on_key) {
  uint8_t k1[32] = {1}, k2[32] = {2}, m1[16], m2[16], h[32];
  wg_mac(m1, k1, 32, (const uint8_t *)"abc", 3);
  wg_mac(m2, k2, 32, (const uint8_t *)"abc", 3);
  wg_hmac(h, k1, 32, (const uint8_t *)"abc", 3);
  TS_CHECK(memcmp(m1, m2, 16) != 0);
  TS_CHECK(memcmp(m1, h, 16) != 0);
}

TS_TEST(tai64n_encoding_and_whitening) {
  uint8_t ts[12], want[12];
  /* unix 1000 s + 999999999 ns: label 0x400000000000000a + 1000 = ...3f2; nsec
   * rounded down to a multiple of 2^24 = 989855744 = 0x3b000000. */
  wg_tai64n(ts, INT64_C(1000) * WG_NS_PER_S + 999999999);
  tk_hex(want, 12, "40000000000003f23b000000");
  TS_CHECK_MEM(ts, want, 12);
  uint8_t a[12], b[12];
  wg_tai64n(a, 5 * WG_NS_PER_S + 1);
  wg_tai64n(b, 5 * WG_NS_PER_S + (1 << 24));
  TS_CHECK(memcmp(a, b, 12) < 0); /* the next 2^24 ns bucket compares greater */
  wg_tai64n(b, 5 * WG_NS_PER_S + (1 << 24) - 1);
  TS_CHECK(memcmp(a, b, 12) == 0); /* same bucket: equal */
}

TS_TEST(padding_rules) {
  TS_CHECK_INT(wg_padded_length(1, 1420), ==, 16);
  TS_CHECK_INT(wg_padded_length(16, 1420), ==, 16);
  TS_CHECK_INT(wg_padded_length(84, 1420), ==, 96); /* observed: 84-byte ICMP -> 96 */
  TS_CHECK_INT(wg_padded_length(1419, 1420), ==, 1420); /* never beyond the MTU */
  TS_CHECK_INT(wg_padded_length(1420, 1420), ==, 1420);
  TS_CHECK_INT(wg_padded_length(1421, 1420), ==, 1421 + 15); /* last unit 1 -> 16 */
}
