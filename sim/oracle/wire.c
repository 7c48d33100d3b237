#include <stdlib.h>

#include "ts_wire.h"

#define MAX_RELAYS 16
#define DHCP_SERVER_PORT 67
#define DHCP_CLIENT_PORT 68
/* WireGuard message types and sizes (wireguard.md §1.2). */
#define WG_INITIATION 1
#define WG_RESPONSE 2
#define WG_COOKIE 3
#define WG_DATA 4
#define WG_INITIATION_LEN 148
#define WG_RESPONSE_LEN 92
#define WG_COOKIE_LEN 64
#define WG_DATA_MIN_LEN 32

struct ts_wire_observer {
  int from_end;
  ts_relay_endpoint relays[MAX_RELAYS];
  size_t relay_count;
  uint64_t counts[TS_WIRE_CLASS_COUNT];
};

static bool wireguard_framing(const uint8_t *m, uint32_t len) {
  if (len < 4 || m[1] || m[2] || m[3]) return false;
  switch (m[0]) {
  case WG_INITIATION: return len == WG_INITIATION_LEN;
  case WG_RESPONSE: return len == WG_RESPONSE_LEN;
  case WG_COOKIE: return len == WG_COOKIE_LEN;
  case WG_DATA: return len >= WG_DATA_MIN_LEN && len % 16 == 0;
  default: return false;
  }
}

ts_wire_class ts_wire_classify(const uint8_t *pkt, uint32_t len, const ts_relay_endpoint *relays,
                               size_t relay_count) {
  ts_ip_info info;
  if (ts_ip_parse(pkt, len, &info) != 0 || info.proto != TS_IPPROTO_UDP) return TS_WIRE_CLEAR;
  if (info.dport == DHCP_SERVER_PORT || info.dport == DHCP_CLIENT_PORT) return TS_WIRE_CONTROL;
  for (size_t i = 0; i < relay_count; i++) {
    if (!ts_ipaddr_equal(&info.dst, &relays[i].addr) || info.dport != relays[i].port) continue;
    const uint8_t *m = pkt + info.l4_offset + TS_UDP_HEADER;
    if (info.l4_len >= TS_UDP_HEADER && wireguard_framing(m, info.l4_len - TS_UDP_HEADER))
      return TS_WIRE_TUNNEL;
  }
  return TS_WIRE_CLEAR;
}

static void tap(void *ctx, ts_link_id id, int from_end, const ts_packet *pkt) {
  ts_wire_observer *o = ctx;
  (void)id;
  if (from_end != o->from_end) return;
  o->counts[ts_wire_classify(pkt->data, pkt->len, o->relays, o->relay_count)]++;
}

int ts_wire_observer_create(ts_world *w, ts_link_id id, int from_end, ts_wire_observer **out) {
  ts_wire_observer *o = calloc(1, sizeof *o);
  if (!o) return TS_ENOMEM;
  o->from_end = from_end;
  int rc = ts_world_attach(w, o, free);
  if (rc) {
    free(o);
    return rc;
  }
  rc = ts_world_link_tap(w, id, tap, o);
  if (rc) {
    ts_world_detach(w, o);
    free(o);
    return rc;
  }
  *out = o;
  return TS_OK;
}

int ts_wire_observer_add_relay(ts_wire_observer *o, const ts_relay_endpoint *relay) {
  if (o->relay_count == MAX_RELAYS) return TS_EFULL;
  o->relays[o->relay_count++] = *relay;
  return TS_OK;
}

uint64_t ts_wire_observer_count(const ts_wire_observer *o, ts_wire_class c) {
  return c < TS_WIRE_CLASS_COUNT ? o->counts[c] : 0;
}
