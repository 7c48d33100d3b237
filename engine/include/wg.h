/* wg.h: public API of tsengine, a sans-IO WireGuard-compatible tunnel engine.
 *
 * The engine owns no sockets, threads, clock or random source. The caller passes
 * virtual time `now` (int64 nanoseconds) into every call, injects a random source
 * at device creation, and receives everything the engine wants done (send a UDP
 * datagram, deliver an IP packet to the tun side, log an event, append a key-log
 * line) as actions through a wg_sink callback.
 *
 * Timers are kept as deadlines: wg_device_next_deadline() returns exactly when
 * wg_device_tick() must be called next (INT64_MAX for never).
 *
 * Rules for callers:
 *  - A device is single-threaded; do not call into it from inside a sink callback.
 *  - Pointers inside a wg_action are valid only during that callback.
 *  - `now` must never decrease between calls on one device.
 *
 * Stability: this header only grows; existing names and values stay. */
#ifndef TSENGINE_WG_H
#define TSENGINE_WG_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* ---------------------------------------------------------------- sizes */
#define WG_KEY_LEN 32
#define WG_BASE64_KEY_LEN 45          /* 44 characters + NUL */
#define WG_MESSAGE_MAX 65535          /* largest datagram the engine sends or accepts */
#define WG_TRANSPORT_OVERHEAD 32      /* 16 header + 16 tag */
#define WG_IP_PACKET_MAX (WG_MESSAGE_MAX - WG_TRANSPORT_OVERHEAD)
#define WG_DEFAULT_MTU 1420
#define WG_DEFAULT_STAGED_PACKETS 128

/* ---------------------------------------------------------------- time (ns) */
#define WG_NS_PER_MS INT64_C(1000000)
#define WG_NS_PER_S INT64_C(1000000000)
#define WG_NEVER INT64_MAX

#define WG_REKEY_AFTER_TIME_NS (120 * WG_NS_PER_S)
#define WG_REJECT_AFTER_TIME_NS (180 * WG_NS_PER_S)
#define WG_REKEY_ATTEMPT_TIME_NS (90 * WG_NS_PER_S)
#define WG_REKEY_TIMEOUT_NS (5 * WG_NS_PER_S)
#define WG_REKEY_TIMEOUT_JITTER_MAX_MS 334 /* jitter is 0..333 ms, whole ms */
#define WG_KEEPALIVE_TIMEOUT_NS (10 * WG_NS_PER_S)
#define WG_COOKIE_SECRET_MAX_AGE_NS (120 * WG_NS_PER_S)
#define WG_COOKIE_SECRET_LATENCY_NS (5 * WG_NS_PER_S) /* initiator drops cookies at 115 s */
#define WG_HANDSHAKE_INITIATION_RATE_NS (20 * WG_NS_PER_MS)
#define WG_UNDER_LOAD_HOLD_NS WG_NS_PER_S
#define WG_ZERO_KEYS_AFTER_NS (3 * WG_REJECT_AFTER_TIME_NS)
#define WG_MAX_TIMER_HANDSHAKES 18 /* REKEY_ATTEMPT_TIME / REKEY_TIMEOUT */
#define WG_REKEY_AFTER_MESSAGES (UINT64_C(1) << 60)
#define WG_REJECT_AFTER_MESSAGES (UINT64_MAX - (UINT64_C(1) << 13)) /* 2^64 - 2^13 - 1 */

/* ---------------------------------------------------------------- errors */
typedef enum wg_error {
  WG_OK = 0,
  WG_EINVAL = -1,     /* bad argument */
  WG_ENOMEM = -2,     /* allocation failed (only at configuration time) */
  WG_EEXIST = -3,     /* peer with that public key already exists */
  WG_ENOENT = -4,     /* no such peer */
  WG_EMSGSIZE = -5,   /* packet too large */
  WG_ENOROUTE = -6,   /* no peer's allowed-ips match the destination */
  WG_EDROP = -7,      /* datagram/packet dropped; see the LOG action / wg_device_last_drop() */
  WG_EKEY = -8,       /* invalid key (e.g. low-order public key) */
  WG_ENOENDPOINT = -9,/* peer has no endpoint to send to */
  WG_ESTAGED = 1      /* not an error: packet queued until a session exists */
} wg_error;

const char *wg_strerror(int err);

/* ---------------------------------------------------------------- events
 * Every LOG action carries one of these. Codes >= WG_DROP_FIRST are drop
 * reasons; each drop path has its own code so tests and traces can tell them apart. */
typedef enum wg_event {
  WG_EV_NONE = 0,
  WG_EV_INITIATION_SENT,
  WG_EV_INITIATION_RETRY,         /* retransmit after REKEY_TIMEOUT */
  WG_EV_INITIATION_RECEIVED,
  WG_EV_RESPONSE_SENT,
  WG_EV_RESPONSE_RECEIVED,
  WG_EV_HANDSHAKE_COMPLETE,
  WG_EV_COOKIE_REPLY_SENT,
  WG_EV_COOKIE_RECEIVED,
  WG_EV_KEEPALIVE_SENT,
  WG_EV_KEEPALIVE_RECEIVED,
  WG_EV_DATA_SENT,
  WG_EV_DATA_RECEIVED,
  WG_EV_ENDPOINT_CHANGED,         /* roaming: endpoint learned from an authenticated packet */
  WG_EV_HANDSHAKE_GAVE_UP,        /* REKEY_ATTEMPT_TIME exhausted */
  WG_EV_KEYS_ZEROED,              /* 3 x REJECT_AFTER_TIME without a new session */
  WG_EV_REKEY_NO_RESPONSE,        /* new_handshake timer: 15 s of sending without hearing back */
  WG_EV_REKEY_AFTER_TIME,         /* initiating because the current keypair is old */
  WG_EV_REKEY_AFTER_MESSAGES,
  WG_EV_PACKET_STAGED,
  WG_EV_NO_ENDPOINT,              /* wanted to send but the peer has no endpoint */
  WG_EV_INITIATION_RATE_LIMITED,  /* a new initiation was wanted within REKEY_TIMEOUT of the last */

  WG_DROP_FIRST = 100,
  WG_DROP_TRUNCATED = WG_DROP_FIRST, /* shorter than its type requires */
  WG_DROP_OVERSIZED,              /* longer than its type allows / WG_MESSAGE_MAX */
  WG_DROP_UNKNOWN_TYPE,           /* bad type byte or nonzero reserved bytes */
  WG_DROP_BAD_MAC1,
  WG_DROP_UNDER_LOAD_NO_COOKIE,   /* under load and mac2 missing/invalid: cookie reply sent */
  WG_DROP_HANDSHAKE_DECRYPT,      /* initiation/response AEAD failed (e.g. wrong static key, wrong PSK) */
  WG_DROP_UNKNOWN_PEER,           /* initiation from a static key we do not know */
  WG_DROP_HANDSHAKE_REPLAY,       /* TAI64N not newer than the last accepted one */
  WG_DROP_HANDSHAKE_FLOOD,        /* initiation < 20 ms after the previous consumed one */
  WG_DROP_UNKNOWN_INDEX,          /* receiver index not in the index table */
  WG_DROP_UNEXPECTED_RESPONSE,    /* response for a handshake not in the initiation-sent state */
  WG_DROP_BAD_COOKIE_REPLY,       /* cookie reply did not decrypt / no mac1 outstanding */
  WG_DROP_KEYPAIR_EXPIRED,        /* keypair older than REJECT_AFTER_TIME */
  WG_DROP_DATA_DECRYPT,           /* transport AEAD failed */
  WG_DROP_REPLAY,                 /* counter replayed, too old, or >= REJECT_AFTER_MESSAGES */
  WG_DROP_DISALLOWED_SOURCE,      /* inner source address not in this peer's allowed-ips */
  WG_DROP_BAD_INNER_PACKET,       /* decrypted payload is not a well-formed IPv4/IPv6 packet */
  WG_DROP_NO_ROUTE,               /* tx: no peer for the destination */
  WG_DROP_STAGED_OVERFLOW,        /* staged queue full: oldest packet dropped */
  WG_DROP_STAGED_FLUSHED,         /* staged packets dropped after the handshake gave up */
  WG_DROP_DH_FAILED,              /* X25519 gave an all-zero result (low-order point) */
  WG_DROP_PACKET_TOO_BIG,         /* tx: packet larger than WG_IP_PACKET_MAX or the staging slot */
  WG_DROP_LAST
} wg_event;

const char *wg_event_name(int event);

/* ---------------------------------------------------------------- endpoints */
typedef struct wg_endpoint {
  uint8_t family;   /* 0 = none, 4 = IPv4, 6 = IPv6 */
  uint16_t port;    /* host byte order */
  uint8_t addr[16]; /* IPv4 uses addr[0..3], network byte order */
} wg_endpoint;

wg_endpoint wg_endpoint_ipv4(const uint8_t addr[4], uint16_t port);
wg_endpoint wg_endpoint_ipv6(const uint8_t addr[16], uint16_t port);
int wg_endpoint_equal(const wg_endpoint *a, const wg_endpoint *b);
/* "1.2.3.4:51820" or "[::1]:51820"; returns WG_OK or WG_EINVAL (buffer too small / no family). */
int wg_endpoint_format(const wg_endpoint *ep, char *buf, size_t buflen);
/* Conversion to/from struct sockaddr_in / sockaddr_in6 (sa points to sockaddr_storage). */
struct sockaddr;
int wg_endpoint_to_sockaddr(const wg_endpoint *ep, struct sockaddr *sa, size_t *salen);
int wg_endpoint_from_sockaddr(wg_endpoint *ep, const struct sockaddr *sa);

/* ---------------------------------------------------------------- actions */
typedef struct wg_device wg_device;
typedef struct wg_peer wg_peer;

typedef enum wg_action_kind {
  WG_ACTION_SEND_UDP = 1,   /* send data[0..len) to *endpoint */
  WG_ACTION_DELIVER_IP = 2, /* write IP packet data[0..len) to the tun side; endpoint = outer source */
  WG_ACTION_LOG = 3,        /* event + text (static string); peer may be NULL */
  WG_ACTION_KEYLOG = 4      /* text/len: one or more "KEY = base64\n" lines in Wireshark's format */
} wg_action_kind;

typedef struct wg_action {
  wg_action_kind kind;
  wg_peer *peer;               /* peer concerned, or NULL */
  const wg_endpoint *endpoint; /* SEND_UDP: destination; DELIVER_IP: outer source */
  const uint8_t *data;         /* SEND_UDP / DELIVER_IP bytes */
  size_t len;                  /* length of data, or of text for KEYLOG */
  int event;                   /* LOG: a wg_event */
  const char *text;            /* LOG: wg_event_name(event); KEYLOG: key-log lines (not NUL-terminated) */
} wg_action;

typedef struct wg_sink {
  void (*fn)(void *ctx, const wg_action *action); /* NULL discards every action */
  void *ctx;
} wg_sink;

/* ---------------------------------------------------------------- device */
typedef void (*wg_rng_fn)(void *ctx, uint8_t *buf, size_t n);
/* Returns nonzero when the device should be treated as under load (cookies required). */
typedef int (*wg_under_load_fn)(void *ctx, int64_t now);

typedef enum wg_load_mode {
  WG_LOAD_AUTO = 0,   /* injected predicate if set, else the built-in handshake-rate model */
  WG_LOAD_FORCE_OFF = 1,
  WG_LOAD_FORCE_ON = 2
} wg_load_mode;

typedef struct wg_device_config {
  uint8_t private_key[WG_KEY_LEN];
  wg_rng_fn rng;                 /* required: ephemerals, indices, jitter, cookie secret, nonces */
  void *rng_ctx;
  int64_t wall_clock_epoch_ns;   /* unix time (ns) that virtual time 0 maps to; TAI64N = epoch + now */
  uint16_t mtu;                  /* padding limit and staging slot size; 0 = WG_DEFAULT_MTU */
  uint16_t staged_packets;       /* per-peer staged queue length; 0 = WG_DEFAULT_STAGED_PACKETS */
  int keylog;                    /* nonzero: emit WG_ACTION_KEYLOG for each handshake */
  wg_under_load_fn under_load;   /* optional predicate (WG_LOAD_AUTO) */
  void *under_load_ctx;
  uint32_t under_load_handshakes_per_s; /* built-in model threshold; 0 = 128 */
  /* Optional: the public key of private_key when the caller has it already (a
   * simulator running the same keys again and again). Trusted, not checked; NULL
   * computes it (one X25519 base-point operation). */
  const uint8_t *public_key;
} wg_device_config;

/* Creates a device. Returns WG_OK, WG_EINVAL (no rng) or WG_ENOMEM. */
int wg_device_create(wg_device **out, const wg_device_config *config);
/* Destroys the device and all its peers; all key material is zeroed. NULL is ignored. */
void wg_device_destroy(wg_device *dev);

void wg_device_public_key(const wg_device *dev, uint8_t out[WG_KEY_LEN]);
/* Changes the device's static identity at run time, as `wg set <if> private-key`
 * does (Linux drivers/net/wireguard/netlink.c, set_device_private_key):
 *  - the same key (after clamping) changes nothing and returns WG_OK;
 *  - a peer whose public key is the new public key is removed first, like Linux
 *    (a device is never its own peer); its wg_peer pointer is dead after the call;
 *  - the public key, the cookie checker's mac1/cookie keys and every peer's
 *    precomputed static-static DH are recomputed; the cookie secret is kept;
 *  - every peer's handshake in progress is dropped and its current and next
 *    keypairs stop sending (they still receive, so packets in flight under them
 *    arrive), and the one-initiation-per-REKEY_TIMEOUT gate re-opens: the next
 *    packet for a peer is staged and starts a handshake under the new key at once
 *    (wg_noise_expire_current_peer_keypairs); wg_peer_stats.has_current_session
 *    reads 0 until then;
 *  - the old private key is wiped (sodium_memzero).
 * Nothing is sent and no timer changes; call wg_peer_initiate_handshake to switch
 * at once. Returns WG_OK, WG_EINVAL (NULL argument) or WG_EKEY (the key gives no
 * public key; the device is unchanged then). */
int wg_device_set_private_key(wg_device *dev, const uint8_t private_key[WG_KEY_LEN]);
void wg_device_set_load_mode(wg_device *dev, wg_load_mode mode);
/* Whether the device currently requires cookies (evaluated at `now`). */
int wg_device_is_under_load(wg_device *dev, int64_t now);

/* A UDP datagram arrived from `src`. Returns WG_OK if it was authenticated and
 * processed, WG_EDROP (with a LOG action naming the reason) otherwise. */
int wg_device_rx_udp(wg_device *dev, int64_t now, const wg_endpoint *src, const uint8_t *data,
                     size_t len, const wg_sink *sink);
/* An IP packet from the tun side. Returns WG_OK (sent), WG_ESTAGED (queued until a
 * session exists; a handshake may have been started), WG_ENOROUTE, WG_EMSGSIZE or WG_EINVAL. */
int wg_device_tx_ip(wg_device *dev, int64_t now, const uint8_t *packet, size_t len,
                    const wg_sink *sink);
/* Fires every timer whose deadline is <= now. */
void wg_device_tick(wg_device *dev, int64_t now, const wg_sink *sink);
/* The earliest pending timer deadline over all peers, or WG_NEVER. */
int64_t wg_device_next_deadline(const wg_device *dev);
/* The reason code of the most recent drop (a wg_event >= WG_DROP_FIRST), or WG_EV_NONE. */
int wg_device_last_drop(const wg_device *dev);

/* ---------------------------------------------------------------- peers */
typedef struct wg_peer_config {
  uint8_t public_key[WG_KEY_LEN];
  uint8_t preshared_key[WG_KEY_LEN]; /* used only if has_preshared_key */
  int has_preshared_key;
  wg_endpoint endpoint;              /* family 0: none (learned by roaming) */
  uint16_t persistent_keepalive_s;   /* 0 = off */
  /* Optional: DH(device private key, public_key) when the caller has it already.
   * Trusted but for the all-zero (low-order) result, which is refused as computing it
   * would be; NULL computes it (one X25519 operation). */
  const uint8_t *static_static;
} wg_peer_config;

/* Adding a peer sends nothing; to bring a persistent-keepalive peer up at once (as
 * `wg set` does), call wg_peer_send_keepalive after adding it. */
int wg_device_add_peer(wg_device *dev, const wg_peer_config *config, wg_peer **out);
/* Removes and frees the peer (keys zeroed, its allowed-ips and indices dropped). */
int wg_device_remove_peer(wg_device *dev, wg_peer *peer);
wg_peer *wg_device_find_peer(const wg_device *dev, const uint8_t public_key[WG_KEY_LEN]);
size_t wg_device_peer_count(const wg_device *dev);
wg_peer *wg_device_peer_at(const wg_device *dev, size_t i);

/* family 4 or 6; addr is 4 or 16 bytes; cidr <= 32 / 128. An existing identical
 * prefix moves to this peer (WireGuard semantics). */
int wg_peer_add_allowed_ip(wg_peer *peer, int family, const uint8_t *addr, uint8_t cidr);
void wg_peer_clear_allowed_ips(wg_peer *peer);
/* One allowed-ips prefix, as listed by wg_peer_get_allowed_ips. */
typedef struct wg_allowed_ip {
  uint8_t family;   /* 4 or 6 */
  uint8_t cidr;
  uint8_t addr[16]; /* masked to cidr; IPv4 uses addr[0..3] */
} wg_allowed_ip;
/* The peer's prefixes (`wg show <if> allowed-ips`): copies up to `max` into `out`
 * (IPv4 first, then IPv6, each longest prefix first) and returns how many the peer
 * has, which may be more than max (out may be NULL when max is 0). Allocates nothing;
 * NULL peer: 0. */
size_t wg_peer_get_allowed_ips(const wg_peer *peer, wg_allowed_ip *out, size_t max);
/* The peer whose allowed-ips contain the address (longest prefix), or NULL. */
wg_peer *wg_device_lookup_allowed_ip(const wg_device *dev, int family, const uint8_t *addr);

void wg_peer_set_endpoint(wg_peer *peer, const wg_endpoint *ep);
const wg_endpoint *wg_peer_endpoint(const wg_peer *peer);
/* Changing it re-arms the persistent keepalive relative to `now`, like `wg set`. */
void wg_peer_set_persistent_keepalive(wg_peer *peer, int64_t now, uint16_t seconds,
                                      const wg_sink *sink);
void wg_peer_public_key(const wg_peer *peer, uint8_t out[WG_KEY_LEN]);
void wg_peer_set_user_data(wg_peer *peer, void *user);
void *wg_peer_user_data(const wg_peer *peer);

/* Replaces the peer's pre-shared key (NULL: none, i.e. all zero as in WireGuard);
 * the old key is wiped. Noise IKpsk2 mixes the PSK in only while the response is
 * written (responder) or read (initiator), so sessions already derived keep working
 * until they expire and the next handshake uses the new key. Nothing is sent: to
 * switch at once, call wg_peer_initiate_handshake (an in-tunnel key negotiation
 * does). A key change re-opens the one-initiation-per-REKEY_TIMEOUT gate, as Linux
 * and wireguard-go do when keys change (wg_noise_reset_last_sent_handshake), so that
 * initiation goes out even right after the handshake that carried the negotiation.
 * If the two sides then differ, the initiator drops the response
 * (WG_DROP_HANDSHAKE_DECRYPT) and the old session stays current until it expires.
 * Returns WG_OK or WG_EINVAL (no peer). */
int wg_peer_set_preshared_key(wg_peer *peer, const uint8_t psk[WG_KEY_LEN]);

/* Starts a handshake now (subject to the one-initiation-per-REKEY_TIMEOUT gate: within
 * 5 s of the previous initiation nothing is sent and WG_EV_INITIATION_RATE_LIMITED is
 * logged, though WG_OK is still returned). */
int wg_peer_initiate_handshake(wg_peer *peer, int64_t now, const wg_sink *sink);
/* Sends a keepalive if a session exists (else starts a handshake). */
int wg_peer_send_keepalive(wg_peer *peer, int64_t now, const wg_sink *sink);
int64_t wg_peer_next_deadline(const wg_peer *peer);

typedef struct wg_peer_stats {
  uint64_t rx_bytes, tx_bytes;     /* UDP payload bytes, like `wg show transfer` */
  int64_t last_handshake_ns;       /* virtual time of the last completed handshake; INT64_MIN = never */
  uint32_t handshake_attempts;     /* retransmissions of the current handshake */
  int has_current_session;         /* a current keypair exists and may be used to send
                                      (0 after wg_device_set_private_key until a new one) */
  uint64_t tx_counter;             /* next send counter of the current keypair */
  size_t staged_packets;
  /* Timer deadlines (WG_NEVER when not pending), for simulators and tests. */
  int64_t retransmit_handshake_at, new_handshake_at, send_keepalive_at, zero_keys_at,
      persistent_keepalive_at;
} wg_peer_stats;
void wg_peer_get_stats(const wg_peer *peer, wg_peer_stats *out);

/* ---------------------------------------------------------------- keys */
/* Derives the X25519 public key. Returns WG_OK or WG_EKEY. */
int wg_key_public_from_private(uint8_t pub[WG_KEY_LEN], const uint8_t priv[WG_KEY_LEN]);
/* Clamps 32 bytes (e.g. from an RNG) into an X25519 private key. */
void wg_key_clamp(uint8_t key[WG_KEY_LEN]);
/* Standard base64 as used by `wg`: 44 characters + NUL. */
void wg_key_to_base64(char out[WG_BASE64_KEY_LEN], const uint8_t key[WG_KEY_LEN]);
int wg_key_from_base64(uint8_t key[WG_KEY_LEN], const char *b64);

#ifdef __cplusplus
}
#endif
#endif
