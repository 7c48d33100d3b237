/* ts_wgdev: hosts one tsengine wg_device inside a world.
 *
 * The adapter owns the device, its random stream (`ts_world_rng(w, "wg/<name>")`), and
 * exactly one pending world event at the device's next timer deadline, re-armed after
 * every call into the device. Engine LOG actions become trace events
 * (kind "wg", subject <name>, detail the event name); key-log lines go to
 * ts_trace_keylog, so the pcapng carries them as a decryption-secrets block.
 *
 * Transport is abstract: whoever creates the adapter says how a datagram leaves
 * (`send_udp`) and where a decrypted packet goes (`deliver_ip`). A relay uses a
 * ts_host UDP binding; the phone's provider will use the OS socket layer. The adapter
 * therefore knows nothing of ts_host.
 *
 * Re-entrancy: the engine forbids calls into the device from inside its sink.
 * `send_udp` is called from inside the engine call and must not call back into this
 * adapter synchronously (transports schedule, so they do not). `deliver_ip` is
 * called after the engine call has returned, so it may call ts_wgdev_tx_ip (a relay
 * answering a ping through the tunnel does exactly that).
 *
 * Lifetime: the adapter is attached to the world; ts_world_reset/destroy free it and
 * cancel its event. ts_wgdev_close stops it early (engine destroyed, keys zeroed,
 * event cancelled); the small shell stays until the world releases it. */
#ifndef TS_WGDEV_H
#define TS_WGDEV_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "ts_world.h"
#include "wg.h"

#define TS_WGDEV_NAME_MAX 64
/* Virtual time 0 is this unix time (2023-11-14T22:13:20Z), so the engine's TAI64N
 * timestamps are virtual time + a fixed epoch and runs are reproducible. */
#define TS_WGDEV_EPOCH_NS (INT64_C(1700000000) * TS_SEC)

typedef struct ts_wgdev ts_wgdev;

typedef struct ts_wgdev_transport {
  /* Send one datagram to `to`; data is valid only during the call. Required. */
  void (*send_udp)(void *ctx, const wg_endpoint *to, const uint8_t *data, size_t len);
  /* A decrypted inner IP packet for the tun side; valid only during the call. Required. */
  void (*deliver_ip)(void *ctx, const uint8_t *pkt, size_t len);
  /* Optional: every engine LOG event (e.g. for a tunnel monitor or a test). Called
   * from inside the engine call: it must not call into the adapter. */
  void (*on_event)(void *ctx, int event, wg_peer *peer);
  void *ctx;
} ts_wgdev_transport;

typedef struct ts_wgdev_config {
  const char *name; /* trace subject and RNG stream "wg/<name>"; < TS_WGDEV_NAME_MAX */
  uint8_t private_key[WG_KEY_LEN];
  uint16_t mtu;            /* 0 = WG_DEFAULT_MTU */
  uint16_t staged_packets; /* 0 = WG_DEFAULT_STAGED_PACKETS */
  bool no_keylog;          /* true: do not emit key-log lines (default is to emit them) */
  const uint8_t *public_key; /* optional, see wg_device_config.public_key */
  ts_wgdev_transport transport;
} ts_wgdev_config;

typedef struct ts_wgdev_stats {
  uint64_t udp_sent, udp_received, ip_delivered, ip_sent;
  uint64_t rx_dropped;        /* datagrams the engine refused (WG_EDROP) */
  uint64_t deliver_overflow;  /* inner packets lost because the deferral buffer was full */
  uint64_t timer_events;      /* world events that ticked the engine */
} ts_wgdev_stats;

/* Creates the adapter and its device and attaches it to `w`. TS_EINVAL for a bad
 * name or missing callbacks, TS_ENOMEM, or TS_EINVAL for an engine refusal. */
int ts_wgdev_create(ts_world *w, const ts_wgdev_config *cfg, ts_wgdev **out);
/* Destroys the engine (keys zeroed) and cancels the pending event; later calls
 * return TS_ESTATE. The memory is released with the world. */
void ts_wgdev_close(ts_wgdev *dev);
/* Frees the device now (a provider process that exits); the pointer is dead after. */
void ts_wgdev_destroy(ts_wgdev *dev);

/* A datagram arrived from `from`. Returns a WG_* code (WG_OK, WG_EDROP, ...) or
 * TS_ESTATE once closed. */
int ts_wgdev_rx_udp(ts_wgdev *dev, const wg_endpoint *from, const uint8_t *data, size_t len);
/* An IP packet from the tun side to encrypt. Returns a WG_* code (WG_OK, WG_ESTAGED,
 * WG_ENOROUTE, ...) or TS_ESTATE once closed. */
int ts_wgdev_tx_ip(ts_wgdev *dev, const uint8_t *pkt, size_t len);

/* Peer configuration. Adding a peer sends nothing; bring a persistent-keepalive peer
 * up at once with ts_wgdev_send_keepalive (as `wg set` does). */
int ts_wgdev_add_peer(ts_wgdev *dev, const wg_peer_config *cfg, wg_peer **out);
int ts_wgdev_send_keepalive(ts_wgdev *dev, wg_peer *peer);
int ts_wgdev_initiate_handshake(ts_wgdev *dev, wg_peer *peer);
int ts_wgdev_set_persistent_keepalive(ts_wgdev *dev, wg_peer *peer, uint16_t seconds);

/* The hosted device, for configuration calls the adapter does not wrap (allowed
 * IPs, endpoints, load mode, stats). Call ts_wgdev_sync afterwards if the call could
 * have changed a timer. NULL once closed. */
wg_device *ts_wgdev_engine(ts_wgdev *dev);
/* Re-arms the timer event after direct engine configuration. */
void ts_wgdev_sync(ts_wgdev *dev);

const char *ts_wgdev_name(const ts_wgdev *dev);
ts_world *ts_wgdev_world(const ts_wgdev *dev);
/* The instant the pending timer event fires, or TS_TIME_NEVER. */
ts_time ts_wgdev_armed_at(const ts_wgdev *dev);
void ts_wgdev_get_stats(const ts_wgdev *dev, ts_wgdev_stats *out);

#endif
