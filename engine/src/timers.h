/* timers.h: WireGuard's per-peer timer rules, kept as deadlines in virtual time. */
#ifndef TSENGINE_TIMERS_H
#define TSENGINE_TIMERS_H

#include <stdint.h>

#include "peer.h"

void wg_timers_init(wg_peer *peer);
/* Event hooks, named after the rule that calls them. */
void wg_timers_handshake_initiated(wg_peer *peer, int64_t now);
void wg_timers_handshake_complete(wg_peer *peer, int64_t now);
void wg_timers_session_derived(wg_peer *peer, int64_t now);
void wg_timers_data_sent(wg_peer *peer, int64_t now);
void wg_timers_data_received(wg_peer *peer, int64_t now);
void wg_timers_any_authenticated_packet_sent(wg_peer *peer);
void wg_timers_any_authenticated_packet_received(wg_peer *peer);
void wg_timers_any_authenticated_packet_traversal(wg_peer *peer, int64_t now);
/* Staying fresh: start a new handshake when the current keypair is getting old or
 * has sent too many messages (after a send) or is about to expire (after a receive). */
void wg_timers_keep_key_fresh_sending(wg_peer *peer, int64_t now, const wg_sink *sink);
void wg_timers_keep_key_fresh_receiving(wg_peer *peer, int64_t now, const wg_sink *sink);
/* Fires every expired timer of the peer, earliest first. */
void wg_timers_tick(wg_peer *peer, int64_t now, const wg_sink *sink);
int64_t wg_timers_next_deadline(const wg_peer *peer);
/* 0..333 ms of jitter, in ns, from the injected RNG. */
int64_t wg_timers_jitter(wg_peer *peer);

#endif
