#include "engine_testkit.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int hexval(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

size_t tk_hex(uint8_t *out, size_t cap, const char *hex) {
  size_t n = 0;
  while (hex[0] && hex[1] && n < cap) {
    out[n++] = (uint8_t)(hexval(hex[0]) << 4 | hexval(hex[1]));
    hex += 2;
  }
  return n;
}

/* splitmix64: deterministic and good enough for tests. */
void tk_rng_fn(void *ctx, uint8_t *buf, size_t n) {
  tk_rng *r = ctx;
  r->calls++;
  for (size_t i = 0; i < n; i++) {
    if (r->script_pos < r->script_len) {
      buf[i] = r->script[r->script_pos++];
      continue;
    }
    uint64_t z = (r->state += UINT64_C(0x9e3779b97f4a7c15));
    z = (z ^ (z >> 30)) * UINT64_C(0xbf58476d1ce4e5b9);
    z = (z ^ (z >> 27)) * UINT64_C(0x94d049bb133111eb);
    buf[i] = (uint8_t)(z ^ (z >> 31));
  }
}

void tk_rng_script(tk_rng *r, const uint8_t *bytes, size_t n) {
  memcpy(r->script, bytes, n);
  r->script_len = n;
  r->script_pos = 0;
}

static void record(void *ctx, const wg_action *a) {
  tk_node *n = ctx;
  switch (a->kind) {
  case WG_ACTION_SEND_UDP:
    if (n->drop_outgoing || n->nout == TK_MAX_MSGS || a->len > TK_MAX_BYTES) return;
    n->out[n->nout] = (tk_msg){.ep = *a->endpoint, .peer = a->peer, .len = a->len};
    memcpy(n->out[n->nout].data, a->data, a->len);
    n->nout++;
    break;
  case WG_ACTION_DELIVER_IP:
    if (n->nip == TK_MAX_MSGS || a->len > TK_MAX_BYTES) return;
    n->ip[n->nip] = (tk_msg){.ep = *a->endpoint, .peer = a->peer, .len = a->len};
    memcpy(n->ip[n->nip].data, a->data, a->len);
    n->nip++;
    break;
  case WG_ACTION_LOG:
    if (n->nevents < TK_MAX_EVENTS) n->events[n->nevents++] = a->event;
    break;
  case WG_ACTION_KEYLOG:
    if (n->keylog_len + a->len < sizeof n->keylog) {
      memcpy(n->keylog + n->keylog_len, a->text, a->len);
      n->keylog_len += a->len;
      n->keylog[n->keylog_len] = 0;
    }
    break;
  }
}

wg_sink tk_sink(tk_node *n) { return (wg_sink){record, n}; }

void tk_node_init(tk_node *n, uint8_t key_seed, uint8_t host, uint16_t port, uint64_t rng_seed,
                  const wg_device_config *extra) {
  memset(n, 0, sizeof *n);
  n->out = calloc(TK_MAX_MSGS, sizeof *n->out);
  n->ip = calloc(TK_MAX_MSGS, sizeof *n->ip);
  n->rng.state = rng_seed;
  memset(n->priv, key_seed, 32);
  wg_key_clamp(n->priv);
  wg_key_public_from_private(n->pub, n->priv);
  uint8_t addr[4] = {192, 0, 2, host};
  n->ep = wg_endpoint_ipv4(addr, port);
  n->send_from = n->ep;
  wg_device_config cfg;
  if (extra)
    cfg = *extra;
  else
    memset(&cfg, 0, sizeof cfg);
  memcpy(cfg.private_key, n->priv, 32);
  cfg.rng = tk_rng_fn;
  cfg.rng_ctx = &n->rng;
  if (!cfg.wall_clock_epoch_ns) cfg.wall_clock_epoch_ns = INT64_C(1700000000) * WG_NS_PER_S;
  if (wg_device_create(&n->dev, &cfg) != WG_OK) {
    fprintf(stderr, "tk_node_init: device create failed\n");
    abort();
  }
}

void tk_node_free(tk_node *n) {
  wg_device_destroy(n->dev);
  free(n->out);
  free(n->ip);
  n->dev = NULL;
}

void tk_node_clear(tk_node *n) {
  n->nout = n->nip = n->nevents = 0;
  n->keylog_len = 0;
}

size_t tk_count_event(const tk_node *n, int ev) {
  size_t c = 0;
  for (size_t i = 0; i < n->nevents; i++) c += n->events[i] == ev;
  return c;
}

size_t tk_count_sent_type(const tk_node *n, uint8_t type) {
  size_t c = 0;
  for (size_t i = 0; i < n->nout; i++) c += n->out[i].data[0] == type;
  return c;
}

wg_peer *tk_add_peer(tk_node *n, const tk_node *other, const uint8_t *psk, const uint8_t ip4[4],
                     uint8_t cidr) {
  wg_peer_config pc;
  memset(&pc, 0, sizeof pc);
  memcpy(pc.public_key, other->pub, 32);
  if (psk) {
    memcpy(pc.preshared_key, psk, 32);
    pc.has_preshared_key = 1;
  }
  pc.endpoint = other->ep;
  wg_peer *p = NULL;
  if (wg_device_add_peer(n->dev, &pc, &p) != WG_OK) return NULL;
  if (ip4 && wg_peer_add_allowed_ip(p, 4, ip4, cidr) != WG_OK) return NULL;
  return p;
}

static size_t deliver_from(tk_node *from, tk_node **nodes, size_t count, int64_t now) {
  size_t n = from->nout, delivered = 0;
  if (!n) return 0;
  tk_msg *batch = malloc(n * sizeof *batch);
  memcpy(batch, from->out, n * sizeof *batch);
  from->nout = 0;
  for (size_t i = 0; i < n; i++) {
    for (size_t j = 0; j < count; j++) {
      if (!wg_endpoint_equal(&nodes[j]->ep, &batch[i].ep)) continue;
      wg_sink s = tk_sink(nodes[j]);
      wg_device_rx_udp(nodes[j]->dev, now, &from->send_from, batch[i].data, batch[i].len, &s);
      delivered++;
    }
  }
  free(batch);
  return delivered;
}

size_t tk_pump(tk_node **nodes, size_t count, int64_t now) {
  size_t total = 0, round;
  do {
    round = 0;
    for (size_t i = 0; i < count; i++) round += deliver_from(nodes[i], nodes, count, now);
    total += round;
  } while (round);
  return total;
}

size_t tk_deliver(tk_node *from, tk_node *to, int64_t now) {
  tk_node *list[1] = {to};
  return deliver_from(from, list, 1, now);
}

size_t tk_ipv4_packet(uint8_t *buf, const uint8_t src[4], const uint8_t dst[4], size_t payload,
                      uint8_t fill) {
  size_t total = 20 + payload;
  memset(buf, 0, 20);
  buf[0] = 0x45;
  buf[2] = (uint8_t)(total >> 8);
  buf[3] = (uint8_t)total;
  buf[8] = 64;
  buf[9] = 17;
  memcpy(buf + 12, src, 4);
  memcpy(buf + 16, dst, 4);
  memset(buf + 20, fill, payload);
  return total;
}

int tk_send_ipv4(tk_node *from, const uint8_t src[4], const uint8_t dst[4], size_t payload,
                 uint8_t fill, int64_t now) {
  uint8_t pkt[TK_MAX_BYTES];
  if (payload > sizeof pkt - 20) return WG_EINVAL;
  size_t len = tk_ipv4_packet(pkt, src, dst, payload, fill);
  wg_sink s = tk_sink(from);
  return wg_device_tx_ip(from->dev, now, pkt, len, &s);
}

size_t tk_ipv6_packet(uint8_t *buf, const uint8_t src[16], const uint8_t dst[16], size_t payload,
                      uint8_t fill) {
  memset(buf, 0, 40);
  buf[0] = 0x60;
  buf[4] = (uint8_t)(payload >> 8);
  buf[5] = (uint8_t)payload;
  buf[6] = 17;
  buf[7] = 64;
  memcpy(buf + 8, src, 16);
  memcpy(buf + 24, dst, 16);
  memset(buf + 40, fill, payload);
  return 40 + payload;
}
