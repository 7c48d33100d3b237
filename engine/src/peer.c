/* peer.c: keypair slots, the staged-packet queue, and the per-peer public API. */
#include "peer.h"

#include <sodium.h>
#include <stdlib.h>
#include <string.h>

#include "device.h"
#include "send.h"
#include "timers.h"

/* ------------------------------------------------------------ keypairs */

wg_keypair *wg_peer_free_keypair_slot(wg_peer *peer) {
  for (int i = 0; i < 3; i++)
    if (!peer->slots[i].in_use) return &peer->slots[i];
  return NULL;
}

void wg_peer_drop_keypair(wg_peer *peer, wg_keypair **which) {
  wg_keypair *kp = *which;
  *which = NULL;
  if (!kp || !kp->in_use) return;
  /* A keypair may be referenced by only one of previous/current/next. */
  wg_index_remove(&peer->dev->index, kp->local_index);
  sodium_memzero(kp, sizeof *kp);
}

void wg_peer_drop_all_keypairs(wg_peer *peer) {
  wg_peer_drop_keypair(peer, &peer->previous);
  wg_peer_drop_keypair(peer, &peer->current);
  wg_peer_drop_keypair(peer, &peer->next);
}

bool wg_peer_received_with_keypair(wg_peer *peer, wg_keypair *kp) {
  if (kp != peer->next) return false;
  wg_peer_drop_keypair(peer, &peer->previous);
  peer->previous = peer->current;
  peer->current = peer->next;
  peer->next = NULL;
  return true;
}

bool wg_keypair_usable_for_send(const wg_keypair *kp, int64_t now) {
  return kp && kp->in_use && !kp->send_expired && kp->send_counter < WG_REJECT_AFTER_MESSAGES &&
         now - kp->birth < WG_REJECT_AFTER_TIME_NS;
}

void wg_peer_expire_current_keypairs(wg_peer *peer) {
  wg_noise_handshake_clear(peer->dev, peer);
  peer->hs.last_initiation_sent = INT64_MIN;
  if (peer->next) peer->next->send_expired = true;
  if (peer->current) peer->current->send_expired = true;
}

/* ------------------------------------------------------------ staged queue */

int wg_staged_push(wg_staged_queue *q, const uint8_t *pkt, size_t len, bool *dropped_oldest) {
  *dropped_oldest = false;
  if (len > q->slot_size) return WG_EMSGSIZE;
  if (q->count == q->cap) {
    wg_staged_pop(q); /* like WireGuard: the oldest packet makes room */
    *dropped_oldest = true;
  }
  size_t slot = (q->head + q->count) % q->cap;
  if (len) memcpy(q->storage + slot * q->slot_size, pkt, len);
  q->lens[slot] = (uint16_t)len;
  q->count++;
  return WG_OK;
}

const uint8_t *wg_staged_front(const wg_staged_queue *q, size_t *len) {
  if (!q->count) return NULL;
  *len = q->lens[q->head];
  return q->storage + q->head * q->slot_size;
}

void wg_staged_pop(wg_staged_queue *q) {
  if (!q->count) return;
  q->head = (q->head + 1) % q->cap;
  q->count--;
}

void wg_staged_clear(wg_staged_queue *q) {
  q->head = 0;
  q->count = 0;
}

/* ------------------------------------------------------------ public API */

size_t wg_peer_get_allowed_ips(const wg_peer *peer, wg_allowed_ip *out, size_t max) {
  if (!peer) return 0;
  return wg_allowedips_list_peer(&peer->dev->allowedips, peer, out, max);
}

void wg_peer_set_endpoint(wg_peer *peer, const wg_endpoint *ep) {
  if (ep)
    peer->endpoint = *ep;
  else
    memset(&peer->endpoint, 0, sizeof peer->endpoint);
}

const wg_endpoint *wg_peer_endpoint(const wg_peer *peer) { return &peer->endpoint; }

void wg_peer_set_persistent_keepalive(wg_peer *peer, int64_t now, uint16_t seconds,
                                      const wg_sink *sink) {
  uint16_t old = peer->persistent_keepalive_s;
  peer->persistent_keepalive_s = seconds;
  if (!seconds) {
    peer->timers.persistent_keepalive = WG_NEVER;
    return;
  }
  /* Like `wg set ... persistent-keepalive N`: switching it on sends a keepalive at
   * once (starting a handshake if needed); the traversal hook then re-arms it. */
  if (!old) wg_send_keepalive(peer, now, sink);
}

void wg_peer_public_key(const wg_peer *peer, uint8_t out[WG_KEY_LEN]) {
  memcpy(out, peer->public_key, WG_KEY_LEN);
}

void wg_peer_set_user_data(wg_peer *peer, void *user) { peer->user = user; }
void *wg_peer_user_data(const wg_peer *peer) { return peer->user; }

int wg_peer_set_preshared_key(wg_peer *peer, const uint8_t psk[WG_KEY_LEN]) {
  if (!peer) return WG_EINVAL;
  /* Wipe first so no copy of the old key survives even when the new one is NULL.
   * The handshake state holds no PSK-derived value before msg2, so nothing else
   * needs to change: an initiation in flight is answered or read with the new key. */
  sodium_memzero(peer->psk, sizeof peer->psk);
  if (psk) memcpy(peer->psk, psk, sizeof peer->psk);
  /* The caller initiates next to switch keys; a negotiation finishes well within 5 s
   * of the handshake that carried it, and the gate would hold the new handshake back
   * until the old session's rekey (120 s). Linux resets last_sent_handshake when keys
   * change (noise.c, wg_noise_expire_current_peer_keypairs) for the same reason. */
  peer->hs.last_initiation_sent = INT64_MIN;
  return WG_OK;
}

int wg_peer_initiate_handshake(wg_peer *peer, int64_t now, const wg_sink *sink) {
  if (!peer) return WG_EINVAL;
  wg_send_initiation(peer, now, false, sink);
  return WG_OK;
}

int wg_peer_send_keepalive(wg_peer *peer, int64_t now, const wg_sink *sink) {
  if (!peer) return WG_EINVAL;
  wg_send_keepalive(peer, now, sink);
  return peer->staged.count ? WG_ESTAGED : WG_OK;
}

int64_t wg_peer_next_deadline(const wg_peer *peer) { return wg_timers_next_deadline(peer); }

void wg_peer_get_stats(const wg_peer *peer, wg_peer_stats *out) {
  memset(out, 0, sizeof *out);
  out->rx_bytes = peer->rx_bytes;
  out->tx_bytes = peer->tx_bytes;
  out->last_handshake_ns = peer->timers.last_handshake;
  out->handshake_attempts = peer->timers.handshake_attempts;
  out->has_current_session = peer->current != NULL && !peer->current->send_expired;
  out->tx_counter = peer->current ? peer->current->send_counter : 0;
  out->staged_packets = peer->staged.count;
  out->retransmit_handshake_at = peer->timers.retransmit_handshake;
  out->new_handshake_at = peer->timers.new_handshake;
  out->send_keepalive_at = peer->timers.send_keepalive;
  out->zero_keys_at = peer->timers.zero_key_material;
  out->persistent_keepalive_at = peer->timers.persistent_keepalive;
}
