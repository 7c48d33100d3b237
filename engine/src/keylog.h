/* keylog.h: Wireshark's WireGuard key-log lines for one handshake. */
#ifndef TSENGINE_KEYLOG_H
#define TSENGINE_KEYLOG_H

#include "peer.h"

/* Emits LOCAL_STATIC_PRIVATE_KEY, REMOTE_STATIC_PUBLIC_KEY,
 * LOCAL_EPHEMERAL_PRIVATE_KEY and, if set, PRESHARED_KEY for the peer's current
 * handshake, when the device has key logging enabled. */
void wg_keylog_emit_handshake(wg_peer *peer, const wg_sink *sink);
/* Formats the block into buf; returns its length (0 if buf is too small). */
size_t wg_keylog_format(char *buf, size_t buflen, const uint8_t local_static_priv[32],
                        const uint8_t remote_static_pub[32], const uint8_t local_eph_priv[32],
                        const uint8_t psk[32]);

#endif
