/* The byte-only observer: what an access point can tell from the bytes alone, with
 * no knowledge of sockets or policy. It counts the phone's packets as tunnel
 * (WireGuard framing to a known relay endpoint), control (DHCP), or clear. Its counts
 * must agree with the leak oracle's: a disagreement means one of the two is wrong. */
#ifndef TS_WIRE_H
#define TS_WIRE_H

#include <stdint.h>

#include "ts_leak.h"
#include "ts_world.h"

typedef enum ts_wire_class {
  TS_WIRE_TUNNEL = 0,
  TS_WIRE_CONTROL, /* DHCP, which every device sends in the clear */
  TS_WIRE_CLEAR,
  TS_WIRE_CLASS_COUNT
} ts_wire_class;

/* WireGuard message framing (type, reserved zero bytes, exact or minimum length,
 * wireguard.md §1.2) in UDP to one of the relays. */
ts_wire_class ts_wire_classify(const uint8_t *pkt, uint32_t len, const ts_relay_endpoint *relays,
                               size_t relay_count);

typedef struct ts_wire_observer ts_wire_observer;

/* Watches packets sent from `from_end` of link `id`; attached to the world. */
int ts_wire_observer_create(ts_world *w, ts_link_id id, int from_end, ts_wire_observer **out);
int ts_wire_observer_add_relay(ts_wire_observer *o, const ts_relay_endpoint *relay);
uint64_t ts_wire_observer_count(const ts_wire_observer *o, ts_wire_class c);

#endif
