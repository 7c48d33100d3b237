/* peer.h: per-peer state: handshake, keypair slots, cookie generator, timer
 * deadlines and the staged-packet queue. */
#ifndef TSENGINE_PEER_H
#define TSENGINE_PEER_H

#include <stdbool.h>
#include <stdint.h>

#include "cookie.h"
#include "noise.h"
#include "replay.h"
#include "wg.h"

typedef enum wg_handshake_state {
  WG_HS_ZEROED = 0,
  WG_HS_INITIATION_CREATED,   /* initiator: waiting for a response */
  WG_HS_INITIATION_CONSUMED,  /* responder: about to answer */
  WG_HS_RESPONSE_CREATED,     /* responder: answered, session derivable */
  WG_HS_RESPONSE_CONSUMED     /* initiator: got the response, session derivable */
} wg_handshake_state;

typedef struct wg_handshake {
  wg_handshake_state state;
  noise_state noise;
  uint8_t local_ephemeral_priv[32];
  uint8_t remote_ephemeral[32];
  uint32_t local_index;
  bool has_local_index;
  uint32_t remote_index;
  uint8_t latest_timestamp[WG_TAI64N_LEN];  /* largest TAI64N accepted from this peer */
  int64_t last_initiation_consumed;         /* INT64_MIN: never */
  int64_t last_initiation_sent;             /* INT64_MIN: never */
} wg_handshake;

typedef struct wg_keypair {
  bool in_use;
  bool is_initiator;
  /* No longer used to send (the device's static key changed: Linux's
   * keypair->sending.is_valid = false in wg_noise_expire_current_peer_keypairs);
   * still used to receive, so packets already in flight under it are not lost. */
  bool send_expired;
  uint8_t send_key[32];
  uint8_t recv_key[32];
  uint64_t send_counter;
  wg_replay replay;
  int64_t birth;
  uint32_t local_index;
  uint32_t remote_index;
} wg_keypair;

/* Timer deadlines; WG_NEVER when not pending. */
typedef struct wg_peer_timers {
  int64_t retransmit_handshake;
  int64_t new_handshake;
  int64_t send_keepalive;
  int64_t zero_key_material;
  int64_t persistent_keepalive;
  uint32_t handshake_attempts;
  bool need_another_keepalive;
  bool sent_lastminute_handshake;
  int64_t last_handshake;                   /* INT64_MIN: never */
} wg_peer_timers;

/* Bounded FIFO of IP packets waiting for a session; a zero-length entry is a
 * queued keepalive. Storage is allocated once when the peer is added. */
typedef struct wg_staged_queue {
  uint8_t *storage;     /* cap * slot_size bytes */
  uint16_t *lens;
  size_t cap, slot_size, head, count;
} wg_staged_queue;

struct wg_peer {
  struct wg_device *dev;
  uint8_t public_key[32];
  uint8_t psk[32];                          /* zeros when none is configured */
  uint8_t static_static[32];                /* DH(own static, peer static), precomputed */
  wg_endpoint endpoint;
  uint16_t persistent_keepalive_s;
  wg_handshake hs;
  wg_keypair slots[3];                      /* storage for previous/current/next */
  wg_keypair *previous, *current, *next;
  wg_cookie_generator cookie;
  wg_peer_timers timers;
  wg_staged_queue staged;
  uint64_t rx_bytes, tx_bytes;
  void *user;
};

typedef struct wg_peer wg_peer;

/* Keypair slot management (peer.c). */
wg_keypair *wg_peer_free_keypair_slot(wg_peer *peer);
void wg_peer_drop_keypair(wg_peer *peer, wg_keypair **which);
void wg_peer_drop_all_keypairs(wg_peer *peer);
/* Responder side: the first packet under `next` confirms it. Returns true if this
 * receive promoted the keypair. */
bool wg_peer_received_with_keypair(wg_peer *peer, wg_keypair *kp);
bool wg_keypair_usable_for_send(const wg_keypair *kp, int64_t now);
/* After a change of the device's static key (wg_device_set_private_key): the
 * handshake in progress is dropped, the current and next keypairs no longer send,
 * and the one-initiation-per-REKEY_TIMEOUT gate re-opens, so the next packet starts
 * a handshake under the new identity at once (Linux noise.c,
 * wg_noise_expire_current_peer_keypairs). */
void wg_peer_expire_current_keypairs(wg_peer *peer);

/* Staged queue (peer.c). */
int wg_staged_push(wg_staged_queue *q, const uint8_t *pkt, size_t len, bool *dropped_oldest);
const uint8_t *wg_staged_front(const wg_staged_queue *q, size_t *len);
void wg_staged_pop(wg_staged_queue *q);
void wg_staged_clear(wg_staged_queue *q);

#endif
