/* ts_negotiation: the in-tunnel ephemeral-peer exchange between a client and its
 * relay, as a small binary protocol over TCP to the in-tunnel gateway.
 *
 * What it stands in for: Mullvad's clients call the gRPC method
 * `ephemeralpeer.EphemeralPeer/RegisterPeerV1` over TCP to 10.64.0.1:1337 through the
 * tunnel, carrying the parent (the device's WireGuard) public key, an ephemeral
 * public key and KEM public keys (ML-KEM and HQC); the relay answers with what both
 * need to install a pre-shared key in WireGuard (MV-CODE: talpid-tunnel-config-client,
 * CONFIG_SERVICE_PORT = 1337; mullvad-ios ephemeral_peer_proxy, GRPC_HOST_CSTR;
 * design/ios-model.md §2.5). This is a stand-in with the same shape: one request and
 * one response on one TCP connection to the same port, but no gRPC/HTTP2 framing and
 * no post-quantum KEMs: the pre-shared key comes from a real X25519 exchange between
 * two ephemeral keys (libsodium), hashed with BLAKE2b. What the simulator needs from
 * it is real bytes over real TCP through the tunnel and a real key change in both
 * engines, not post-quantum security.
 *
 * Wire format (all fixed length, no length prefix):
 *   request  = "TSN1" | parent public key (32) | client ephemeral public key (32)   68 bytes
 *   response = "TSN1" | status (1)             | relay ephemeral public key (32)    37 bytes
 * status 0 is success; any other value is an error (TS_NEG_STATUS_*) and the key
 * field is then all zero.
 *
 * The exchange: the client makes an ephemeral key pair (ts_neg_keypair), sends the
 * request, reads the response (ts_neg_reader: TCP may split or join segments), and
 * derives the PSK with ts_neg_derive_psk(psk, client_priv, relay_pub, client_pub,
 * relay_pub); the relay derives the same PSK with (psk, relay_priv, client_pub,
 * client_pub, relay_pub). Both install it (wg_peer_set_preshared_key) and the client
 * initiates a new handshake, which completes only if both hold the same key.
 *
 * Everything here is pure (no world, no allocation); randomness only from the
 * caller's ts_rng stream. */
#ifndef TS_NEGOTIATION_H
#define TS_NEGOTIATION_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "ts_rng.h"

/* MV-CODE: CONFIG_SERVICE_PORT = 1337 (talpid-tunnel-config-client/src/lib.rs). */
#define TS_NEG_PORT 1337
#define TS_NEG_MAGIC "TSN1"
#define TS_NEG_MAGIC_LEN 4
#define TS_NEG_KEY_LEN 32
#define TS_NEG_REQUEST_LEN (TS_NEG_MAGIC_LEN + 2 * TS_NEG_KEY_LEN)  /* 68 */
#define TS_NEG_RESPONSE_LEN (TS_NEG_MAGIC_LEN + 1 + TS_NEG_KEY_LEN) /* 37 */
#define TS_NEG_MESSAGE_MAX TS_NEG_REQUEST_LEN

/* Response status byte. */
enum ts_neg_status {
  TS_NEG_STATUS_OK = 0,
  TS_NEG_STATUS_UNKNOWN_PARENT = 1, /* no peer with the request's parent key */
  TS_NEG_STATUS_BAD_KEY = 2,        /* the ephemeral key gives an all-zero secret */
  TS_NEG_STATUS_INTERNAL = 3,       /* the relay could not complete the exchange */
  TS_NEG_STATUS_NOT_YOURS = 4,      /* the parent key is a peer other than the one the
                                       request came through */
};
/* "ok", "unknown-parent", "bad-key", "internal", "not-yours", or "unknown" for other
 * values. */
const char *ts_neg_status_name(int status);

typedef struct ts_neg_request {
  uint8_t parent_public[TS_NEG_KEY_LEN];    /* the client's static WireGuard public key */
  uint8_t ephemeral_public[TS_NEG_KEY_LEN]; /* the client's ephemeral X25519 public key */
} ts_neg_request;

typedef struct ts_neg_response {
  uint8_t status;                           /* enum ts_neg_status */
  uint8_t ephemeral_public[TS_NEG_KEY_LEN]; /* the relay's; zeros unless status is OK */
} ts_neg_response;

/* Encoders write exactly TS_NEG_REQUEST_LEN / TS_NEG_RESPONSE_LEN bytes and return
 * that length, or TS_EINVAL for a NULL argument. */
int ts_neg_request_encode(const ts_neg_request *req, uint8_t out[TS_NEG_REQUEST_LEN]);
int ts_neg_response_encode(const ts_neg_response *resp, uint8_t out[TS_NEG_RESPONSE_LEN]);
/* Decoders read the first message of `data`: TS_OK, TS_ETRUNC if len is shorter than
 * the message, TS_EPARSE if the magic is wrong, TS_EINVAL for NULL pointers. Bytes
 * after the message are not looked at (framing a stream is ts_neg_reader's job). Any
 * status byte decodes; the caller decides what a non-zero one means. */
int ts_neg_request_decode(const uint8_t *data, size_t len, ts_neg_request *out);
int ts_neg_response_decode(const uint8_t *data, size_t len, ts_neg_response *out);

/* ---- reading one message from a byte stream ------------------------------------ */

enum ts_neg_kind { TS_NEG_REQUEST = 1, TS_NEG_RESPONSE = 2 };

/* Collects the bytes of one message as TCP hands them over, in whatever pieces.
 * A plain value (no allocation): declare it, ts_neg_reader_init, feed. Fields are
 * private. */
typedef struct ts_neg_reader {
  uint8_t buf[TS_NEG_MESSAGE_MAX];
  uint32_t need, have;
  int kind;
  int state; /* 0 collecting, 1 done, TS_EPARSE */
} ts_neg_reader;

#define TS_NEG_READER_MORE 0
#define TS_NEG_READER_DONE 1

/* kind: TS_NEG_REQUEST or TS_NEG_RESPONSE. TS_EINVAL for anything else. */
int ts_neg_reader_init(ts_neg_reader *r, int kind);
/* Takes bytes up to the end of the message. Returns TS_NEG_READER_MORE (need more),
 * TS_NEG_READER_DONE (a whole message is there; ts_neg_reader_request/_response
 * decode it), or TS_EPARSE as soon as the magic bytes received so far are wrong (a
 * peer that speaks something else is told apart without waiting for the rest).
 * *consumed (may be NULL) is how many of the `len` bytes were taken: after DONE the
 * rest belongs to whatever follows the message. Once DONE or TS_EPARSE the reader
 * takes nothing more and keeps returning that result until ts_neg_reader_init. */
int ts_neg_reader_feed(ts_neg_reader *r, const uint8_t *data, size_t len, size_t *consumed);
bool ts_neg_reader_done(const ts_neg_reader *r);
/* Decode the collected message: TS_OK, TS_ESTATE if not done or of the other kind. */
int ts_neg_reader_request(const ts_neg_reader *r, ts_neg_request *out);
int ts_neg_reader_response(const ts_neg_reader *r, ts_neg_response *out);

/* ---- keys -------------------------------------------------------------------- */

/* An ephemeral X25519 key pair from 32 bytes of the caller's stream (so a run is a
 * function of the world seed): priv is clamped, pub = X25519(priv, base point).
 * TS_EINVAL for NULL arguments; TS_ENOMEM if libsodium cannot initialise. */
int ts_neg_keypair(uint8_t priv[TS_NEG_KEY_LEN], uint8_t pub[TS_NEG_KEY_LEN], ts_rng *rng);
/* The same from a given 32-byte seed (fuzzers and tests): priv = clamp(seed). */
int ts_neg_keypair_from_seed(uint8_t priv[TS_NEG_KEY_LEN], uint8_t pub[TS_NEG_KEY_LEN],
                             const uint8_t seed[TS_NEG_KEY_LEN]);

/* psk = BLAKE2b-256("tunnelsim negotiation v1" | X25519(my_eph_priv, their_eph_pub)
 *                    | client_eph_pub | relay_eph_pub)
 * Both public keys go in a fixed order (client's, then relay's) whichever side calls,
 * so both sides get the same key, and it is bound to this exchange's two keys.
 * TS_EINVAL for NULL arguments or an all-zero shared secret (a low-order public key:
 * the PSK would be predictable); psk is zeroed then. */
int ts_neg_derive_psk(uint8_t psk[TS_NEG_KEY_LEN], const uint8_t my_eph_priv[TS_NEG_KEY_LEN],
                      const uint8_t their_eph_pub[TS_NEG_KEY_LEN],
                      const uint8_t client_eph_pub[TS_NEG_KEY_LEN],
                      const uint8_t relay_eph_pub[TS_NEG_KEY_LEN]);

#endif
