/* messages.h: every WireGuard protocol constant and wire format, in one place.
 * All multi-byte integers on the wire are little-endian. Byte 0 is the type and
 * bytes 1..3 are reserved zero, so the first 4 bytes read as LE32 == type. */
#ifndef TSENGINE_MESSAGES_H
#define TSENGINE_MESSAGES_H

#include <stdint.h>

/* Noise and WireGuard labels (ASCII, no NUL on the wire). */
#define WG_CONSTRUCTION "Noise_IKpsk2_25519_ChaChaPoly_BLAKE2s"
#define WG_IDENTIFIER "WireGuard v1 zx2c4 Jason@zx2c4.com"
#define WG_LABEL_MAC1 "mac1----"
#define WG_LABEL_COOKIE "cookie--"

#define WG_HASH_LEN 32
#define WG_AEAD_TAG_LEN 16
#define WG_MAC_LEN 16
#define WG_COOKIE_LEN 16
#define WG_COOKIE_NONCE_LEN 24
#define WG_TAI64N_LEN 12

enum wg_message_type {
  WG_MSG_INITIATION = 1,
  WG_MSG_RESPONSE = 2,
  WG_MSG_COOKIE_REPLY = 3,
  WG_MSG_TRANSPORT = 4
};

/* Handshake initiation: 148 bytes. */
#define WG_INIT_SIZE 148
#define WG_INIT_OFF_SENDER 4
#define WG_INIT_OFF_EPHEMERAL 8
#define WG_INIT_OFF_STATIC 40           /* 32 + 16 tag */
#define WG_INIT_OFF_TIMESTAMP 88        /* 12 + 16 tag */
#define WG_INIT_OFF_MAC1 116
#define WG_INIT_OFF_MAC2 132

/* Handshake response: 92 bytes. */
#define WG_RESP_SIZE 92
#define WG_RESP_OFF_SENDER 4
#define WG_RESP_OFF_RECEIVER 8
#define WG_RESP_OFF_EPHEMERAL 12
#define WG_RESP_OFF_EMPTY 44            /* 0 + 16 tag */
#define WG_RESP_OFF_MAC1 60
#define WG_RESP_OFF_MAC2 76

/* Cookie reply: 64 bytes. */
#define WG_COOKIE_SIZE 64
#define WG_COOKIE_OFF_RECEIVER 4
#define WG_COOKIE_OFF_NONCE 8
#define WG_COOKIE_OFF_COOKIE 32         /* 16 + 16 tag */

/* Transport data: at least 32 bytes. */
#define WG_DATA_HEADER_SIZE 16
#define WG_DATA_OFF_RECEIVER 4
#define WG_DATA_OFF_COUNTER 8
#define WG_DATA_OFF_CONTENT 16
#define WG_DATA_MIN_SIZE (WG_DATA_HEADER_SIZE + WG_AEAD_TAG_LEN)
#define WG_PADDING_MULTIPLE 16

/* TAI64N: label = 2^62 + 10 + unix seconds; nanoseconds whitened to 2^24 ns. */
#define WG_TAI64_BASE UINT64_C(0x400000000000000a)
#define WG_TAI64N_WHITEN_MASK UINT32_C(0x00FFFFFF)

/* Replay window (RFC 6479 style): 128 blocks of 64 bits, one block redundant. */
#define WG_REPLAY_BLOCK_BITS 64
#define WG_REPLAY_RING_BLOCKS 128
#define WG_REPLAY_WINDOW ((WG_REPLAY_RING_BLOCKS - 1) * WG_REPLAY_BLOCK_BITS) /* 8128 */

static inline void wg_put_le32(uint8_t *p, uint32_t v) {
  p[0] = (uint8_t)v; p[1] = (uint8_t)(v >> 8); p[2] = (uint8_t)(v >> 16); p[3] = (uint8_t)(v >> 24);
}
static inline uint32_t wg_get_le32(const uint8_t *p) {
  return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}
static inline void wg_put_le64(uint8_t *p, uint64_t v) {
  for (int i = 0; i < 8; i++) p[i] = (uint8_t)(v >> (8 * i));
}
static inline uint64_t wg_get_le64(const uint8_t *p) {
  uint64_t v = 0;
  for (int i = 7; i >= 0; i--) v = v << 8 | p[i];
  return v;
}
static inline void wg_put_be32(uint8_t *p, uint32_t v) {
  p[0] = (uint8_t)(v >> 24); p[1] = (uint8_t)(v >> 16); p[2] = (uint8_t)(v >> 8); p[3] = (uint8_t)v;
}
static inline void wg_put_be64(uint8_t *p, uint64_t v) {
  for (int i = 0; i < 8; i++) p[i] = (uint8_t)(v >> (56 - 8 * i));
}

#endif
