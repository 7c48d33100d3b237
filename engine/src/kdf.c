/* kdf.c: HMAC-BLAKE2s, the one construction libb2 lacks, and HKDF on top of it.
 * Intermediate key material is wiped before returning because the chaining key
 * and the PRK are as sensitive as the session keys derived from them. */
#include "kdf.h"

#include <blake2.h>
#include <sodium.h>
#include <string.h>

#define BLAKE2S_BLOCK 64
#define BLAKE2S_OUT 32

void wg_hash(uint8_t out[32], const uint8_t *a, size_t alen, const uint8_t *b, size_t blen) {
  blake2s_state st;
  blake2s_init(&st, BLAKE2S_OUT);
  if (alen) blake2s_update(&st, a, alen);
  if (blen) blake2s_update(&st, b, blen);
  blake2s_final(&st, out, BLAKE2S_OUT);
  sodium_memzero(&st, sizeof st);
}

void wg_mac(uint8_t out[16], const uint8_t *key, size_t keylen, const uint8_t *in, size_t len) {
  blake2s_state st;
  blake2s_init_key(&st, 16, key, keylen);
  if (len) blake2s_update(&st, in, len);
  blake2s_final(&st, out, 16);
  sodium_memzero(&st, sizeof st);
}

static void hmac_pass(uint8_t out[32], const uint8_t k0[BLAKE2S_BLOCK], uint8_t pad_byte,
                      const uint8_t *in, size_t len) {
  uint8_t pad[BLAKE2S_BLOCK];
  for (int i = 0; i < BLAKE2S_BLOCK; i++) pad[i] = k0[i] ^ pad_byte;
  wg_hash(out, pad, sizeof pad, in, len);
  sodium_memzero(pad, sizeof pad);
}

void wg_hmac(uint8_t out[32], const uint8_t *key, size_t keylen, const uint8_t *in, size_t len) {
  uint8_t k0[BLAKE2S_BLOCK] = {0};
  uint8_t inner[BLAKE2S_OUT];
  /* RFC 2104: keys longer than the block are hashed first, shorter ones zero-padded. */
  if (keylen > BLAKE2S_BLOCK)
    wg_hash(k0, key, keylen, NULL, 0);
  else if (keylen)
    memcpy(k0, key, keylen);
  hmac_pass(inner, k0, 0x36, in, len);
  hmac_pass(out, k0, 0x5c, inner, sizeof inner);
  sodium_memzero(k0, sizeof k0);
  sodium_memzero(inner, sizeof inner);
}

void wg_kdf(uint8_t t1[32], uint8_t *t2, uint8_t *t3, const uint8_t *key, size_t keylen,
            const uint8_t *in, size_t len) {
  uint8_t prk[32], block[33], t[32];
  wg_hmac(prk, key, keylen, in, len);
  block[0] = 1;
  wg_hmac(t, prk, sizeof prk, block, 1);
  uint8_t *outs[3] = {t1, t2, t3};
  memcpy(t1, t, 32);
  /* T(i) = HMAC(PRK, T(i-1) || i); stop at the last output the caller wants. */
  for (int i = 1; i < 3 && outs[i]; i++) {
    memcpy(block, t, 32);
    block[32] = (uint8_t)(i + 1);
    wg_hmac(t, prk, sizeof prk, block, sizeof block);
    memcpy(outs[i], t, 32);
  }
  sodium_memzero(prk, sizeof prk);
  sodium_memzero(block, sizeof block);
  sodium_memzero(t, sizeof t);
}
