/* ts_wgdev: one tsengine device hosted in a world (see ts_wgdev.h for the contract). */
#include "ts_wgdev.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Inner packets are delivered after the engine call returns (the engine forbids
 * re-entry from its sink, and a consumer such as a relay answers through the tunnel).
 * One datagram yields at most one inner packet, so room for two of the largest is
 * plenty; each entry is a 4-byte length then the bytes. */
#define DEFER_CAPACITY (2 * (sizeof(uint32_t) + WG_IP_PACKET_MAX))
/* The engine's key-log text is at most 512 bytes (four lines); keep margin. */
#define KEYLOG_TEXT_MAX 1024
#define RNG_STREAM_PREFIX "wg/"

struct ts_wgdev {
  ts_world *world;
  char name[TS_WGDEV_NAME_MAX];
  wg_device *engine;
  ts_rng rng; /* the engine's random source; must outlive it */
  ts_wgdev_transport transport;
  wg_sink sink;
  ts_event_id timer_id; /* 0: no event pending */
  ts_time armed_at;     /* the deadline timer_id fires for, TS_TIME_NEVER if none */
  uint8_t *defer;       /* deferred inner packets, DEFER_CAPACITY bytes */
  size_t defer_read, defer_write;
  bool draining;
  char keylog_text[KEYLOG_TEXT_MAX];
  ts_wgdev_stats stats;
};

static void on_timer(void *obj, uint64_t arg);

static void defer_ip(ts_wgdev *dev, const uint8_t *data, size_t len) {
  if (DEFER_CAPACITY - dev->defer_write < sizeof(uint32_t) + len) {
    dev->stats.deliver_overflow++;
    ts_trace_event(ts_world_trace(dev->world), ts_world_now(dev->world), "wg", dev->name,
                   "deliver-overflow");
    return;
  }
  uint32_t len32 = (uint32_t)len;
  memcpy(dev->defer + dev->defer_write, &len32, sizeof len32);
  memcpy(dev->defer + dev->defer_write + sizeof len32, data, len);
  dev->defer_write += sizeof len32 + len;
}

/* Key-log text may hold several lines; ts_trace_keylog wants a C string, so copy it
 * in whole lines that fit the buffer. */
static void emit_keylog(ts_wgdev *dev, const char *text, size_t len) {
  ts_trace *trace = ts_world_trace(dev->world);
  ts_time now = ts_world_now(dev->world);
  size_t used = 0;
  while (len > 0) {
    const char *nl = memchr(text, '\n', len);
    size_t line = nl ? (size_t)(nl - text) + 1 : len;
    if (used + line >= sizeof dev->keylog_text && used > 0) {
      dev->keylog_text[used] = '\0';
      ts_trace_keylog(trace, now, dev->keylog_text);
      used = 0;
    }
    if (line >= sizeof dev->keylog_text) line = sizeof dev->keylog_text - 1; /* not a real key line */
    memcpy(dev->keylog_text + used, text, line);
    used += line;
    text += line;
    len -= line;
  }
  if (used > 0) {
    dev->keylog_text[used] = '\0';
    ts_trace_keylog(trace, now, dev->keylog_text);
  }
}

static void on_action(void *ctx, const wg_action *a) {
  ts_wgdev *dev = ctx;
  switch (a->kind) {
  case WG_ACTION_SEND_UDP:
    dev->stats.udp_sent++;
    dev->transport.send_udp(dev->transport.ctx, a->endpoint, a->data, a->len);
    break;
  case WG_ACTION_DELIVER_IP:
    defer_ip(dev, a->data, a->len);
    break;
  case WG_ACTION_LOG:
    /* Data packets are in the trace already, at every link they cross; an event per
     * packet would only double the trace and its cost. */
    if (a->event != WG_EV_DATA_SENT && a->event != WG_EV_DATA_RECEIVED)
      ts_trace_event(ts_world_trace(dev->world), ts_world_now(dev->world), "wg", dev->name,
                     a->text ? a->text : wg_event_name(a->event));
    if (dev->transport.on_event) dev->transport.on_event(dev->transport.ctx, a->event, a->peer);
    break;
  case WG_ACTION_KEYLOG:
    emit_keylog(dev, a->text, a->len);
    break;
  }
}

/* One pending event at the device's next deadline; touched only when it moved, so
 * the common call (deadline unchanged) costs one comparison. */
static void rearm(ts_wgdev *dev) {
  if (!dev->engine) return;
  ts_time deadline = wg_device_next_deadline(dev->engine);
  if (deadline == dev->armed_at) return;
  if (dev->timer_id) ts_world_cancel(dev->world, dev->timer_id);
  dev->timer_id = 0;
  dev->armed_at = TS_TIME_NEVER;
  if (deadline == WG_NEVER) return;
  ts_time now = ts_world_now(dev->world);
  /* A deadline already past (a timer due now) fires at once, never in the past. */
  ts_time at = deadline < now ? now : deadline;
  if (ts_world_schedule(dev->world, at, on_timer, dev, 0, &dev->timer_id) == TS_OK)
    dev->armed_at = deadline;
}

/* After every engine call: re-arm, then hand out the deferred inner packets. Only
 * the outermost call drains; a consumer calling ts_wgdev_tx_ip from deliver_ip
 * appends behind the entry being read, so the pointer it holds stays valid. */
static void finish_call(ts_wgdev *dev) {
  rearm(dev);
  if (dev->draining) return;
  dev->draining = true;
  while (dev->defer_read < dev->defer_write && dev->engine) {
    uint32_t len;
    memcpy(&len, dev->defer + dev->defer_read, sizeof len);
    const uint8_t *data = dev->defer + dev->defer_read + sizeof len;
    dev->defer_read += sizeof len + len;
    dev->stats.ip_delivered++;
    dev->transport.deliver_ip(dev->transport.ctx, data, len);
  }
  dev->defer_read = dev->defer_write = 0;
  dev->draining = false;
}

static void on_timer(void *obj, uint64_t arg) {
  ts_wgdev *dev = obj;
  (void)arg;
  dev->timer_id = 0; /* this event is running: nothing left to cancel */
  dev->armed_at = TS_TIME_NEVER;
  if (!dev->engine) return;
  dev->stats.timer_events++;
  wg_device_tick(dev->engine, ts_world_now(dev->world), &dev->sink);
  finish_call(dev);
}

void ts_wgdev_close(ts_wgdev *dev) {
  if (!dev || !dev->engine) return;
  if (dev->timer_id) ts_world_cancel(dev->world, dev->timer_id);
  dev->timer_id = 0;
  dev->armed_at = TS_TIME_NEVER;
  wg_device_destroy(dev->engine);
  dev->engine = NULL;
  /* The stream seeded the engine's keys: leave nothing of it behind. */
  memset(&dev->rng, 0, sizeof dev->rng);
}

static void release(void *obj) {
  ts_wgdev *dev = obj;
  ts_wgdev_close(dev);
  free(dev->defer);
  free(dev);
}

void ts_wgdev_destroy(ts_wgdev *dev) {
  if (!dev) return;
  ts_world_detach(dev->world, dev);
  release(dev);
}

int ts_wgdev_create(ts_world *w, const ts_wgdev_config *cfg, ts_wgdev **out) {
  if (!w || !cfg || !out || !cfg->name || !cfg->transport.send_udp || !cfg->transport.deliver_ip)
    return TS_EINVAL;
  size_t name_len = strlen(cfg->name);
  if (name_len == 0 || name_len >= TS_WGDEV_NAME_MAX) return TS_EINVAL;
  ts_wgdev *dev = calloc(1, sizeof *dev);
  if (!dev) return TS_ENOMEM;
  dev->defer = malloc(DEFER_CAPACITY);
  if (!dev->defer) {
    free(dev);
    return TS_ENOMEM;
  }
  dev->world = w;
  memcpy(dev->name, cfg->name, name_len + 1);
  dev->transport = cfg->transport;
  dev->sink = (wg_sink){on_action, dev};
  dev->armed_at = TS_TIME_NEVER;

  char stream[sizeof RNG_STREAM_PREFIX + TS_WGDEV_NAME_MAX];
  snprintf(stream, sizeof stream, RNG_STREAM_PREFIX "%s", dev->name);
  ts_world_rng(w, stream, &dev->rng);

  wg_device_config ec = {.rng = ts_rng_source,
                         .rng_ctx = &dev->rng,
                         .wall_clock_epoch_ns = TS_WGDEV_EPOCH_NS,
                         .mtu = cfg->mtu,
                         .staged_packets = cfg->staged_packets,
                         .keylog = !cfg->no_keylog,
                         .public_key = cfg->public_key};
  memcpy(ec.private_key, cfg->private_key, WG_KEY_LEN);
  int rc = wg_device_create(&dev->engine, &ec);
  memset(ec.private_key, 0, WG_KEY_LEN);
  if (rc != WG_OK) {
    free(dev->defer);
    free(dev);
    return rc == WG_ENOMEM ? TS_ENOMEM : TS_EINVAL;
  }
  rc = ts_world_attach(w, dev, release);
  if (rc) {
    release(dev);
    return rc;
  }
  *out = dev;
  return TS_OK;
}

int ts_wgdev_rx_udp(ts_wgdev *dev, const wg_endpoint *from, const uint8_t *data, size_t len) {
  if (!dev->engine) return TS_ESTATE;
  dev->stats.udp_received++;
  int rc = wg_device_rx_udp(dev->engine, ts_world_now(dev->world), from, data, len, &dev->sink);
  if (rc == WG_EDROP) dev->stats.rx_dropped++;
  finish_call(dev);
  return rc;
}

int ts_wgdev_tx_ip(ts_wgdev *dev, const uint8_t *pkt, size_t len) {
  if (!dev->engine) return TS_ESTATE;
  dev->stats.ip_sent++;
  int rc = wg_device_tx_ip(dev->engine, ts_world_now(dev->world), pkt, len, &dev->sink);
  finish_call(dev);
  return rc;
}

int ts_wgdev_add_peer(ts_wgdev *dev, const wg_peer_config *cfg, wg_peer **out) {
  if (!dev->engine) return TS_ESTATE;
  int rc = wg_device_add_peer(dev->engine, cfg, out);
  finish_call(dev);
  return rc;
}

int ts_wgdev_send_keepalive(ts_wgdev *dev, wg_peer *peer) {
  if (!dev->engine) return TS_ESTATE;
  int rc = wg_peer_send_keepalive(peer, ts_world_now(dev->world), &dev->sink);
  finish_call(dev);
  return rc;
}

int ts_wgdev_initiate_handshake(ts_wgdev *dev, wg_peer *peer) {
  if (!dev->engine) return TS_ESTATE;
  int rc = wg_peer_initiate_handshake(peer, ts_world_now(dev->world), &dev->sink);
  finish_call(dev);
  return rc;
}

int ts_wgdev_set_persistent_keepalive(ts_wgdev *dev, wg_peer *peer, uint16_t seconds) {
  if (!dev->engine) return TS_ESTATE;
  wg_peer_set_persistent_keepalive(peer, ts_world_now(dev->world), seconds, &dev->sink);
  finish_call(dev);
  return WG_OK;
}

wg_device *ts_wgdev_engine(ts_wgdev *dev) { return dev->engine; }
void ts_wgdev_sync(ts_wgdev *dev) { finish_call(dev); }
const char *ts_wgdev_name(const ts_wgdev *dev) { return dev->name; }
ts_world *ts_wgdev_world(const ts_wgdev *dev) { return dev->world; }
ts_time ts_wgdev_armed_at(const ts_wgdev *dev) { return dev->armed_at; }
void ts_wgdev_get_stats(const ts_wgdev *dev, ts_wgdev_stats *out) { *out = dev->stats; }
