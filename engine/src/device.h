/* device.h: the device (one static identity) and the helpers every module uses to
 * emit actions. */
#ifndef TSENGINE_DEVICE_H
#define TSENGINE_DEVICE_H

#include <stdbool.h>
#include <stdint.h>

#include "allowedips.h"
#include "cookie.h"
#include "index.h"
#include "messages.h"
#include "peer.h"
#include "wg.h"

struct wg_device {
  uint8_t static_private[32];
  uint8_t static_public[32];
  wg_rng_fn rng;
  void *rng_ctx;
  int64_t wall_clock_epoch_ns;
  uint16_t mtu;
  uint16_t staged_packets;
  bool keylog;

  /* Under-load model: injected predicate, forced mode, or handshake-rate window. */
  wg_load_mode load_mode;
  wg_under_load_fn under_load_fn;
  void *under_load_ctx;
  uint32_t load_threshold;
  int64_t load_window_start;
  uint32_t load_window_count;
  int64_t under_load_until;

  wg_cookie_checker cookie;
  wg_peer **peers;
  size_t peer_count, peer_cap;
  wg_allowedips allowedips;
  wg_index_table index;
  int last_drop;

  /* Preallocated scratch: outgoing messages are built in tx_buf, decrypted
   * payloads land in rx_buf; both are handed to the sink and reused. */
  uint8_t tx_buf[WG_MESSAGE_MAX + 64];
  uint8_t rx_buf[WG_MESSAGE_MAX];
  char keylog_buf[512];
};

typedef struct wg_device wg_device;

void wg_emit_log(const wg_sink *sink, wg_peer *peer, int event);
void wg_emit_drop(wg_device *dev, const wg_sink *sink, wg_peer *peer, int reason);
void wg_emit_udp(const wg_sink *sink, wg_peer *peer, const wg_endpoint *to, const uint8_t *data,
                 size_t len);
void wg_emit_ip(const wg_sink *sink, wg_peer *peer, const wg_endpoint *from, const uint8_t *data,
                size_t len);
void wg_rng(wg_device *dev, uint8_t *buf, size_t n);
/* Counts a handshake message for the built-in load model and answers whether the
 * device is under load now. */
bool wg_device_note_handshake_and_check_load(wg_device *dev, int64_t now);

#endif
