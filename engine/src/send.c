/* send.c: everything the engine sends: initiations, responses, transport data
 * (padded to 16 bytes, never beyond the MTU) and keepalives, plus the tun-side
 * entry point wg_device_tx_ip. Messages are built in the device's tx buffer. */
#include "send.h"

#include <string.h>

#include "device.h"
#include "keylog.h"
#include "noise.h"
#include "timers.h"

static void send_to_endpoint(wg_peer *peer, const uint8_t *msg, size_t len, const wg_sink *sink) {
  if (!peer->endpoint.family) {
    wg_emit_log(sink, peer, WG_EV_NO_ENDPOINT);
    return;
  }
  peer->tx_bytes += len;
  wg_emit_udp(sink, peer, &peer->endpoint, msg, len);
}

void wg_peer_roam(wg_peer *peer, const wg_endpoint *src, const wg_sink *sink) {
  if (wg_endpoint_equal(&peer->endpoint, src)) return;
  peer->endpoint = *src;
  wg_emit_log(sink, peer, WG_EV_ENDPOINT_CHANGED);
}

bool wg_send_initiation(wg_peer *peer, int64_t now, bool is_retry, const wg_sink *sink) {
  wg_device *dev = peer->dev;
  if (!is_retry) peer->timers.handshake_attempts = 0;
  /* One initiation per REKEY_TIMEOUT per peer, whatever asks for it. */
  if (peer->hs.last_initiation_sent != INT64_MIN &&
      now - peer->hs.last_initiation_sent < WG_REKEY_TIMEOUT_NS) {
    wg_emit_log(sink, peer, WG_EV_INITIATION_RATE_LIMITED);
    return false;
  }
  peer->hs.last_initiation_sent = now;
  uint8_t *msg = dev->tx_buf;
  if (wg_noise_create_initiation(dev, peer, now, msg) != 0) {
    wg_emit_drop(dev, sink, peer, WG_DROP_DH_FAILED);
    return false;
  }
  wg_cookie_add_macs(&peer->cookie, msg, WG_INIT_SIZE, now);
  wg_keylog_emit_handshake(peer, sink);
  wg_timers_any_authenticated_packet_traversal(peer, now);
  wg_timers_any_authenticated_packet_sent(peer);
  wg_emit_log(sink, peer, WG_EV_INITIATION_SENT);
  send_to_endpoint(peer, msg, WG_INIT_SIZE, sink);
  wg_timers_handshake_initiated(peer, now);
  return true;
}

void wg_send_response(wg_peer *peer, int64_t now, const wg_sink *sink) {
  wg_device *dev = peer->dev;
  uint8_t *msg = dev->tx_buf;
  if (wg_noise_create_response(dev, peer, now, msg) != 0) {
    wg_emit_drop(dev, sink, peer, WG_DROP_DH_FAILED);
    return;
  }
  wg_cookie_add_macs(&peer->cookie, msg, WG_RESP_SIZE, now);
  wg_keylog_emit_handshake(peer, sink); /* before the session wipes the ephemeral */
  if (wg_noise_begin_session(dev, peer, now) != 0) return;
  wg_timers_session_derived(peer, now);
  wg_timers_any_authenticated_packet_traversal(peer, now);
  wg_timers_any_authenticated_packet_sent(peer);
  wg_emit_log(sink, peer, WG_EV_RESPONSE_SENT);
  send_to_endpoint(peer, msg, WG_RESP_SIZE, sink);
}

size_t wg_padded_length(size_t len, size_t mtu) {
  size_t last_unit = len;
  if (mtu && len > mtu) last_unit = len % mtu;
  size_t padded_unit = (last_unit + WG_PADDING_MULTIPLE - 1) & ~(size_t)(WG_PADDING_MULTIPLE - 1);
  if (mtu && padded_unit > mtu) padded_unit = mtu;
  size_t total = len + (padded_unit - last_unit);
  if (total > WG_IP_PACKET_MAX) total = len > WG_IP_PACKET_MAX ? len : WG_IP_PACKET_MAX;
  return total;
}

/* Encrypts one packet (len 0 = keepalive) under the keypair and sends it. */
static void send_transport(wg_peer *peer, wg_keypair *kp, int64_t now, const uint8_t *pkt,
                           size_t len, const wg_sink *sink) {
  wg_device *dev = peer->dev;
  uint8_t *msg = dev->tx_buf;
  size_t padded = len ? wg_padded_length(len, dev->mtu) : 0;
  uint64_t counter = kp->send_counter++;

  memset(msg, 0, WG_DATA_HEADER_SIZE);
  msg[0] = WG_MSG_TRANSPORT;
  wg_put_le32(msg + WG_DATA_OFF_RECEIVER, kp->remote_index);
  wg_put_le64(msg + WG_DATA_OFF_COUNTER, counter);
  if (len) memcpy(msg + WG_DATA_OFF_CONTENT, pkt, len);
  memset(msg + WG_DATA_OFF_CONTENT + len, 0, padded - len);
  wg_aead_encrypt(msg + WG_DATA_OFF_CONTENT, msg + WG_DATA_OFF_CONTENT, padded, NULL, 0, counter,
                  kp->send_key);

  wg_timers_any_authenticated_packet_traversal(peer, now);
  wg_timers_any_authenticated_packet_sent(peer);
  if (len) wg_timers_data_sent(peer, now);
  wg_emit_log(sink, peer, len ? WG_EV_DATA_SENT : WG_EV_KEEPALIVE_SENT);
  send_to_endpoint(peer, msg, WG_DATA_OFF_CONTENT + padded + WG_AEAD_TAG_LEN, sink);
}

bool wg_send_staged(wg_peer *peer, int64_t now, const wg_sink *sink) {
  bool sent_any = false;
  while (peer->staged.count) {
    if (!wg_keypair_usable_for_send(peer->current, now)) {
      wg_send_initiation(peer, now, false, sink);
      break;
    }
    if (!peer->endpoint.family) {
      wg_emit_log(sink, peer, WG_EV_NO_ENDPOINT);
      break;
    }
    size_t len;
    const uint8_t *pkt = wg_staged_front(&peer->staged, &len);
    send_transport(peer, peer->current, now, pkt, len, sink);
    wg_staged_pop(&peer->staged);
    sent_any = true;
  }
  if (sent_any) wg_timers_keep_key_fresh_sending(peer, now, sink);
  return peer->staged.count == 0;
}

void wg_send_keepalive(wg_peer *peer, int64_t now, const wg_sink *sink) {
  bool dropped;
  /* Staged packets prove liveness as well as a keepalive would. */
  if (!peer->staged.count) wg_staged_push(&peer->staged, NULL, 0, &dropped);
  wg_send_staged(peer, now, sink);
}

/* ------------------------------------------------------------ tun side */

/* The destination address of an IP packet; returns its family or 0. */
static int ip_destination(const uint8_t *pkt, size_t len, const uint8_t **dst) {
  int version = pkt[0] >> 4;
  if (version == 4 && len >= 20) {
    *dst = pkt + 16;
    return 4;
  }
  if (version == 6 && len >= 40) {
    *dst = pkt + 24;
    return 6;
  }
  return 0;
}

int wg_device_tx_ip(wg_device *dev, int64_t now, const uint8_t *packet, size_t len,
                    const wg_sink *sink) {
  if (!dev || !packet || !len) return WG_EINVAL;
  dev->last_drop = WG_EV_NONE;
  if (len > WG_IP_PACKET_MAX) {
    wg_emit_drop(dev, sink, NULL, WG_DROP_PACKET_TOO_BIG);
    return WG_EMSGSIZE;
  }
  const uint8_t *dst;
  int family = ip_destination(packet, len, &dst);
  if (!family) {
    wg_emit_drop(dev, sink, NULL, WG_DROP_BAD_INNER_PACKET);
    return WG_EINVAL;
  }
  wg_peer *peer = wg_allowedips_lookup(&dev->allowedips, family, dst);
  if (!peer) {
    wg_emit_drop(dev, sink, NULL, WG_DROP_NO_ROUTE);
    return WG_ENOROUTE;
  }
  /* Fast path: nothing queued ahead and a usable session, so no copy is needed. */
  if (!peer->staged.count && wg_keypair_usable_for_send(peer->current, now) &&
      peer->endpoint.family) {
    send_transport(peer, peer->current, now, packet, len, sink);
    wg_timers_keep_key_fresh_sending(peer, now, sink);
    return WG_OK;
  }
  bool dropped_oldest;
  if (wg_staged_push(&peer->staged, packet, len, &dropped_oldest) != WG_OK) {
    wg_emit_drop(dev, sink, peer, WG_DROP_PACKET_TOO_BIG);
    return WG_EMSGSIZE;
  }
  if (dropped_oldest) wg_emit_drop(dev, sink, peer, WG_DROP_STAGED_OVERFLOW);
  wg_emit_log(sink, peer, WG_EV_PACKET_STAGED);
  return wg_send_staged(peer, now, sink) ? WG_OK : WG_ESTAGED;
}
