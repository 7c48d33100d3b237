/* kdf.h: the hash, MAC, HMAC and HKDF constructions WireGuard uses, on libb2. */
#ifndef TSENGINE_KDF_H
#define TSENGINE_KDF_H

#include <stddef.h>
#include <stdint.h>

/* HASH(a || b): BLAKE2s-256. b may be NULL with blen 0. */
void wg_hash(uint8_t out[32], const uint8_t *a, size_t alen, const uint8_t *b, size_t blen);
/* MAC(key, in): keyed BLAKE2s with a 16-byte output (BLAKE2s's own keyed mode, not HMAC). */
void wg_mac(uint8_t out[16], const uint8_t *key, size_t keylen, const uint8_t *in, size_t len);
/* HMAC(key, in): RFC 2104 over BLAKE2s-256, block size 64. */
void wg_hmac(uint8_t out[32], const uint8_t *key, size_t keylen, const uint8_t *in, size_t len);
/* HKDF (RFC 5869) with HMAC-BLAKE2s: writes T1, and T2/T3 when non-NULL. */
void wg_kdf(uint8_t t1[32], uint8_t *t2, uint8_t *t3, const uint8_t *key, size_t keylen,
            const uint8_t *in, size_t len);

#endif
