/* timers.c: WireGuard's timer rules as deadlines in virtual time.
 *
 * Each rule is a hook called by the send/receive paths; each timer is a deadline
 * (WG_NEVER when not pending). wg_timers_tick fires expired timers earliest first,
 * so a late tick behaves like timers that fired on time, in order.
 *
 *   retransmit_handshake  REKEY_TIMEOUT + jitter after an initiation; resend, or give
 *                         up after MAX_TIMER_HANDSHAKES retries (REKEY_ATTEMPT_TIME)
 *   new_handshake         KEEPALIVE + REKEY_TIMEOUT + jitter after sending data with no
 *                         authenticated reply: the peer may have lost our session
 *   send_keepalive        KEEPALIVE after receiving data we have not answered
 *   zero_key_material     3 x REJECT_AFTER_TIME after the last session was derived
 *   persistent_keepalive  N s after any authenticated packet, in either direction */
#include "timers.h"

#include <sodium.h>

#include "device.h"
#include "send.h"

void wg_timers_init(wg_peer *peer) {
  wg_peer_timers *t = &peer->timers;
  t->retransmit_handshake = WG_NEVER;
  t->new_handshake = WG_NEVER;
  t->send_keepalive = WG_NEVER;
  t->zero_key_material = WG_NEVER;
  t->persistent_keepalive = WG_NEVER;
  t->handshake_attempts = 0;
  t->need_another_keepalive = false;
  t->sent_lastminute_handshake = false;
  t->last_handshake = INT64_MIN;
}

int64_t wg_timers_jitter(wg_peer *peer) {
  uint8_t b[4];
  wg_rng(peer->dev, b, sizeof b);
  uint32_t r = (uint32_t)b[0] | (uint32_t)b[1] << 8 | (uint32_t)b[2] << 16 | (uint32_t)b[3] << 24;
  return (int64_t)(r % WG_REKEY_TIMEOUT_JITTER_MAX_MS) * WG_NS_PER_MS;
}

static bool pending(int64_t deadline) { return deadline != WG_NEVER; }

void wg_timers_handshake_initiated(wg_peer *peer, int64_t now) {
  peer->timers.retransmit_handshake = now + WG_REKEY_TIMEOUT_NS + wg_timers_jitter(peer);
}

void wg_timers_handshake_complete(wg_peer *peer, int64_t now) {
  peer->timers.retransmit_handshake = WG_NEVER;
  peer->timers.handshake_attempts = 0;
  peer->timers.sent_lastminute_handshake = false;
  peer->timers.last_handshake = now;
}

void wg_timers_session_derived(wg_peer *peer, int64_t now) {
  peer->timers.zero_key_material = now + WG_ZERO_KEYS_AFTER_NS;
}

void wg_timers_data_sent(wg_peer *peer, int64_t now) {
  if (!pending(peer->timers.new_handshake))
    peer->timers.new_handshake =
        now + WG_KEEPALIVE_TIMEOUT_NS + WG_REKEY_TIMEOUT_NS + wg_timers_jitter(peer);
}

void wg_timers_data_received(wg_peer *peer, int64_t now) {
  if (!pending(peer->timers.send_keepalive))
    peer->timers.send_keepalive = now + WG_KEEPALIVE_TIMEOUT_NS;
  else
    peer->timers.need_another_keepalive = true;
}

void wg_timers_any_authenticated_packet_sent(wg_peer *peer) {
  peer->timers.send_keepalive = WG_NEVER; /* whatever we sent already tells the peer we live */
}

void wg_timers_any_authenticated_packet_received(wg_peer *peer) {
  peer->timers.new_handshake = WG_NEVER; /* the peer is answering */
}

void wg_timers_any_authenticated_packet_traversal(wg_peer *peer, int64_t now) {
  if (peer->persistent_keepalive_s)
    peer->timers.persistent_keepalive = now + peer->persistent_keepalive_s * WG_NS_PER_S;
}

/* ------------------------------------------------------------ staying fresh */

void wg_timers_keep_key_fresh_sending(wg_peer *peer, int64_t now, const wg_sink *sink) {
  const wg_keypair *kp = peer->current;
  if (!kp) return;
  int reason = WG_EV_NONE;
  if (kp->send_counter > WG_REKEY_AFTER_MESSAGES)
    reason = WG_EV_REKEY_AFTER_MESSAGES;
  else if (kp->is_initiator && now - kp->birth > WG_REKEY_AFTER_TIME_NS)
    reason = WG_EV_REKEY_AFTER_TIME; /* only the initiator rekeys on time, so the two
                                        sides never race to replace the same session */
  if (reason == WG_EV_NONE) return;
  if (wg_send_initiation(peer, now, false, sink)) wg_emit_log(sink, peer, reason);
}

void wg_timers_keep_key_fresh_receiving(wg_peer *peer, int64_t now, const wg_sink *sink) {
  const wg_keypair *kp = peer->current;
  if (peer->timers.sent_lastminute_handshake || !kp || !kp->is_initiator) return;
  /* If we are the initiator and the session will be rejected soon, rekey while the
   * peer can still reach us: 180 - 10 - 5 = 165 s. */
  int64_t last_minute =
      WG_REJECT_AFTER_TIME_NS - WG_KEEPALIVE_TIMEOUT_NS - WG_REKEY_TIMEOUT_NS;
  if (now - kp->birth <= last_minute) return;
  peer->timers.sent_lastminute_handshake = true;
  if (wg_send_initiation(peer, now, false, sink)) wg_emit_log(sink, peer, WG_EV_REKEY_AFTER_TIME);
}

/* ------------------------------------------------------------ expiry handlers */

static void expired_retransmit_handshake(wg_peer *peer, int64_t now, const wg_sink *sink) {
  wg_peer_timers *t = &peer->timers;
  if (t->handshake_attempts > WG_MAX_TIMER_HANDSHAKES) {
    wg_emit_log(sink, peer, WG_EV_HANDSHAKE_GAVE_UP);
    t->send_keepalive = WG_NEVER;
    for (size_t n = peer->staged.count; n; n--)
      wg_emit_drop(peer->dev, sink, peer, WG_DROP_STAGED_FLUSHED);
    wg_staged_clear(&peer->staged);
    if (!pending(t->zero_key_material)) t->zero_key_material = now + WG_ZERO_KEYS_AFTER_NS;
    return;
  }
  t->handshake_attempts++;
  wg_emit_log(sink, peer, WG_EV_INITIATION_RETRY);
  wg_send_initiation(peer, now, true, sink);
}

static void expired_new_handshake(wg_peer *peer, int64_t now, const wg_sink *sink) {
  wg_emit_log(sink, peer, WG_EV_REKEY_NO_RESPONSE);
  wg_send_initiation(peer, now, false, sink);
}

static void expired_send_keepalive(wg_peer *peer, int64_t now, const wg_sink *sink) {
  wg_send_keepalive(peer, now, sink);
  if (peer->timers.need_another_keepalive) {
    peer->timers.need_another_keepalive = false;
    peer->timers.send_keepalive = now + WG_KEEPALIVE_TIMEOUT_NS;
  }
}

static void expired_zero_key_material(wg_peer *peer, int64_t now, const wg_sink *sink) {
  (void)now;
  wg_peer_drop_all_keypairs(peer);
  wg_noise_handshake_clear(peer->dev, peer);
  wg_emit_log(sink, peer, WG_EV_KEYS_ZEROED);
}

static void expired_persistent_keepalive(wg_peer *peer, int64_t now, const wg_sink *sink) {
  if (peer->persistent_keepalive_s) wg_send_keepalive(peer, now, sink);
}

typedef void (*timer_handler)(wg_peer *, int64_t, const wg_sink *);

/* The order breaks ties between timers expiring at the same instant. */
static int64_t *timer_slot(wg_peer *peer, int which, timer_handler *handler) {
  wg_peer_timers *t = &peer->timers;
  switch (which) {
  case 0: *handler = expired_retransmit_handshake; return &t->retransmit_handshake;
  case 1: *handler = expired_new_handshake; return &t->new_handshake;
  case 2: *handler = expired_send_keepalive; return &t->send_keepalive;
  case 3: *handler = expired_persistent_keepalive; return &t->persistent_keepalive;
  default: *handler = expired_zero_key_material; return &t->zero_key_material;
  }
}
#define TIMER_COUNT 5

void wg_timers_tick(wg_peer *peer, int64_t now, const wg_sink *sink) {
  for (;;) {
    int earliest = -1;
    int64_t earliest_at = WG_NEVER;
    timer_handler handler;
    for (int i = 0; i < TIMER_COUNT; i++) {
      int64_t at = *timer_slot(peer, i, &handler);
      if (at <= now && at < earliest_at) {
        earliest = i;
        earliest_at = at;
      }
    }
    if (earliest < 0) return;
    int64_t *slot = timer_slot(peer, earliest, &handler);
    *slot = WG_NEVER; /* disarm first: the handler may re-arm it */
    handler(peer, now, sink);
  }
}

int64_t wg_timers_next_deadline(const wg_peer *peer) {
  const wg_peer_timers *t = &peer->timers;
  int64_t at = t->retransmit_handshake;
  if (t->new_handshake < at) at = t->new_handshake;
  if (t->send_keepalive < at) at = t->send_keepalive;
  if (t->zero_key_material < at) at = t->zero_key_material;
  if (t->persistent_keepalive < at) at = t->persistent_keepalive;
  return at;
}
