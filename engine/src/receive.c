/* receive.c: wg_device_rx_udp and everything it dispatches to.
 *
 * Checks run cheapest first: type and exact size, then mac1 (a keyed hash), then
 * the cookie test under load, and only then public-key crypto. Every rejection is
 * reported with its own WG_DROP_* reason. Nothing is trusted until the AEAD (or
 * the Noise handshake) has authenticated it; roaming and timers follow only
 * authenticated packets. */
#include <string.h>

#include "device.h"
#include "noise.h"
#include "send.h"
#include "timers.h"

static int drop(wg_device *dev, const wg_sink *sink, wg_peer *peer, int reason) {
  wg_emit_drop(dev, sink, peer, reason);
  return WG_EDROP;
}

static int check_exact_size(size_t len, size_t want) {
  if (len < want) return WG_DROP_TRUNCATED;
  if (len > want) return WG_DROP_OVERSIZED;
  return 0;
}

/* Under load, a handshake message must carry a mac2 made with our cookie for its
 * source address; if not, we answer with a cookie reply and drop it. */
static bool admit_under_load(wg_device *dev, int64_t now, const wg_endpoint *src,
                             const uint8_t *msg, size_t len, const wg_sink *sink) {
  if (!wg_device_note_handshake_and_check_load(dev, now)) return true;
  if (wg_cookie_mac2_valid(&dev->cookie, msg, len, src, now, dev->rng, dev->rng_ctx)) return true;
  uint8_t *reply = dev->tx_buf;
  wg_cookie_make_reply(&dev->cookie, msg, len, src, now, dev->rng, dev->rng_ctx, reply);
  wg_emit_log(sink, NULL, WG_EV_COOKIE_REPLY_SENT);
  wg_emit_udp(sink, NULL, src, reply, WG_COOKIE_SIZE);
  return false;
}

static int rx_initiation(wg_device *dev, int64_t now, const wg_endpoint *src, const uint8_t *msg,
                         const wg_sink *sink) {
  int reason = 0;
  wg_peer *peer = wg_noise_consume_initiation(dev, msg, now, &reason);
  if (!peer) return drop(dev, sink, NULL, reason);
  peer->rx_bytes += WG_INIT_SIZE;
  wg_emit_log(sink, peer, WG_EV_INITIATION_RECEIVED);
  wg_timers_any_authenticated_packet_traversal(peer, now);
  wg_timers_any_authenticated_packet_received(peer);
  wg_peer_roam(peer, src, sink);
  wg_send_response(peer, now, sink);
  return WG_OK;
}

static int rx_response(wg_device *dev, int64_t now, const wg_endpoint *src, const uint8_t *msg,
                       const wg_sink *sink) {
  int reason = 0;
  wg_peer *peer = wg_noise_consume_response(dev, msg, &reason);
  if (!peer) return drop(dev, sink, NULL, reason);
  peer->rx_bytes += WG_RESP_SIZE;
  wg_emit_log(sink, peer, WG_EV_RESPONSE_RECEIVED);
  wg_peer_roam(peer, src, sink);
  wg_timers_any_authenticated_packet_traversal(peer, now);
  wg_timers_any_authenticated_packet_received(peer);
  if (wg_noise_begin_session(dev, peer, now) != 0)
    return drop(dev, sink, peer, WG_DROP_UNEXPECTED_RESPONSE);
  wg_timers_session_derived(peer, now);
  wg_timers_handshake_complete(peer, now);
  wg_emit_log(sink, peer, WG_EV_HANDSHAKE_COMPLETE);
  /* Send what waited for this session, or a keepalive: the responder needs a
   * packet under the new keypair to confirm it. */
  wg_send_keepalive(peer, now, sink);
  return WG_OK;
}

static int rx_handshake(wg_device *dev, int64_t now, const wg_endpoint *src, const uint8_t *msg,
                        size_t len, uint32_t type, const wg_sink *sink) {
  size_t want = type == WG_MSG_INITIATION ? WG_INIT_SIZE : WG_RESP_SIZE;
  int reason = check_exact_size(len, want);
  if (reason) return drop(dev, sink, NULL, reason);
  if (!wg_cookie_mac1_valid(&dev->cookie, msg, len)) return drop(dev, sink, NULL, WG_DROP_BAD_MAC1);
  if (!admit_under_load(dev, now, src, msg, len, sink))
    return drop(dev, sink, NULL, WG_DROP_UNDER_LOAD_NO_COOKIE);
  return type == WG_MSG_INITIATION ? rx_initiation(dev, now, src, msg, sink)
                                   : rx_response(dev, now, src, msg, sink);
}

static int rx_cookie_reply(wg_device *dev, int64_t now, const uint8_t *msg, size_t len,
                           const wg_sink *sink) {
  int reason = check_exact_size(len, WG_COOKIE_SIZE);
  if (reason) return drop(dev, sink, NULL, reason);
  wg_index_entry *e = wg_index_lookup(&dev->index, wg_get_le32(msg + WG_COOKIE_OFF_RECEIVER));
  if (!e) return drop(dev, sink, NULL, WG_DROP_UNKNOWN_INDEX);
  if (!wg_cookie_consume_reply(&e->peer->cookie, msg, now))
    return drop(dev, sink, e->peer, WG_DROP_BAD_COOKIE_REPLY);
  wg_emit_log(sink, e->peer, WG_EV_COOKIE_RECEIVED);
  return WG_OK;
}

static uint16_t be16(const uint8_t *p) { return (uint16_t)(p[0] << 8 | p[1]); }

/* Validates the decrypted inner packet; returns its family (0 if malformed) and
 * its real length without padding, and points *src at its source address. */
static int inner_packet(const uint8_t *pt, size_t len, size_t *ip_len, const uint8_t **src) {
  if (len >= 20 && pt[0] >> 4 == 4) {
    size_t total = be16(pt + 2);
    if (total < 20 || total > len) return 0;
    *ip_len = total;
    *src = pt + 12;
    return 4;
  }
  if (len >= 40 && pt[0] >> 4 == 6) {
    size_t total = (size_t)be16(pt + 4) + 40;
    if (total > len) return 0;
    *ip_len = total;
    *src = pt + 8;
    return 6;
  }
  return 0;
}

static int deliver_inner(wg_device *dev, wg_peer *peer, int64_t now, const wg_endpoint *src,
                         size_t pt_len, const wg_sink *sink) {
  const uint8_t *pt = dev->rx_buf, *inner_src;
  size_t ip_len;
  int family = inner_packet(pt, pt_len, &ip_len, &inner_src);
  if (!family) return drop(dev, sink, peer, WG_DROP_BAD_INNER_PACKET);
  /* Cryptokey routing: a peer may only speak for the addresses it owns. */
  if (wg_allowedips_lookup(&dev->allowedips, family, inner_src) != peer)
    return drop(dev, sink, peer, WG_DROP_DISALLOWED_SOURCE);
  wg_timers_data_received(peer, now);
  wg_emit_log(sink, peer, WG_EV_DATA_RECEIVED);
  wg_emit_ip(sink, peer, src, pt, ip_len);
  return WG_OK;
}

static int rx_transport(wg_device *dev, int64_t now, const wg_endpoint *src, const uint8_t *msg,
                        size_t len, const wg_sink *sink) {
  if (len < WG_DATA_MIN_SIZE) return drop(dev, sink, NULL, WG_DROP_TRUNCATED);
  wg_index_entry *e = wg_index_lookup(&dev->index, wg_get_le32(msg + WG_DATA_OFF_RECEIVER));
  if (!e || e->kind != WG_INDEX_KEYPAIR) return drop(dev, sink, NULL, WG_DROP_UNKNOWN_INDEX);
  wg_peer *peer = e->peer;
  wg_keypair *kp = e->keypair;
  if (now - kp->birth >= WG_REJECT_AFTER_TIME_NS)
    return drop(dev, sink, peer, WG_DROP_KEYPAIR_EXPIRED);
  uint64_t counter = wg_get_le64(msg + WG_DATA_OFF_COUNTER);
  size_t ct_len = len - WG_DATA_HEADER_SIZE;
  if (wg_aead_decrypt(dev->rx_buf, msg + WG_DATA_OFF_CONTENT, ct_len, NULL, 0, counter,
                      kp->recv_key) != 0)
    return drop(dev, sink, peer, WG_DROP_DATA_DECRYPT);
  /* Checked after decryption so that forged counters cannot advance the window. */
  if (!wg_replay_check(&kp->replay, counter, WG_REJECT_AFTER_MESSAGES))
    return drop(dev, sink, peer, WG_DROP_REPLAY);

  peer->rx_bytes += len;
  wg_peer_roam(peer, src, sink);
  wg_timers_any_authenticated_packet_traversal(peer, now);
  wg_timers_any_authenticated_packet_received(peer);
  if (wg_peer_received_with_keypair(peer, kp)) {
    wg_timers_handshake_complete(peer, now);
    wg_emit_log(sink, peer, WG_EV_HANDSHAKE_COMPLETE);
    wg_send_staged(peer, now, sink);
  }
  wg_timers_keep_key_fresh_receiving(peer, now, sink);
  size_t pt_len = ct_len - WG_AEAD_TAG_LEN;
  if (pt_len == 0) {
    wg_emit_log(sink, peer, WG_EV_KEEPALIVE_RECEIVED);
    return WG_OK;
  }
  return deliver_inner(dev, peer, now, src, pt_len, sink);
}

int wg_device_rx_udp(wg_device *dev, int64_t now, const wg_endpoint *src, const uint8_t *data,
                     size_t len, const wg_sink *sink) {
  if (!dev || !src || (!data && len)) return WG_EINVAL;
  dev->last_drop = WG_EV_NONE;
  if (len < 4) return drop(dev, sink, NULL, WG_DROP_TRUNCATED);
  if (len > WG_MESSAGE_MAX) return drop(dev, sink, NULL, WG_DROP_OVERSIZED);
  /* Type byte plus three zero reserved bytes read as one little-endian word. */
  uint32_t type = wg_get_le32(data);
  switch (type) {
  case WG_MSG_INITIATION:
  case WG_MSG_RESPONSE:
    return rx_handshake(dev, now, src, data, len, type, sink);
  case WG_MSG_COOKIE_REPLY:
    return rx_cookie_reply(dev, now, data, len, sink);
  case WG_MSG_TRANSPORT:
    return rx_transport(dev, now, src, data, len, sink);
  default:
    return drop(dev, sink, NULL, WG_DROP_UNKNOWN_TYPE);
  }
}
