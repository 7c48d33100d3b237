/* send.h: outgoing handshake messages, transport data and keepalives. */
#ifndef TSENGINE_SEND_H
#define TSENGINE_SEND_H

#include <stdbool.h>
#include <stdint.h>

#include "peer.h"

/* Sends an initiation unless one went out less than REKEY_TIMEOUT ago. A non-retry
 * resets the attempt counter. Returns true if an initiation was produced. */
bool wg_send_initiation(wg_peer *peer, int64_t now, bool is_retry, const wg_sink *sink);
void wg_send_response(wg_peer *peer, int64_t now, const wg_sink *sink);
/* Updates the endpoint from an authenticated packet's source (roaming). */
void wg_peer_roam(wg_peer *peer, const wg_endpoint *src, const wg_sink *sink);
/* Queues a keepalive (unless packets are already staged) and flushes the queue. */
void wg_send_keepalive(wg_peer *peer, int64_t now, const wg_sink *sink);
/* Sends staged packets with the current keypair, or starts a handshake. Returns
 * true if the queue is empty afterwards. */
bool wg_send_staged(wg_peer *peer, int64_t now, const wg_sink *sink);
/* Padded length of a plaintext of `len` bytes under `mtu`. */
size_t wg_padded_length(size_t len, size_t mtu);

#endif
