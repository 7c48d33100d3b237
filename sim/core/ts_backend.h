/* The narrow interface between a world and the engine that moves time and packets.
 * The native engine (sim/backend/native.c) is the default; ns-3 plugs in through a
 * C shim implementing the same table. A backend calls back into the world only
 * through ts_world_link_deliver() and ts_world_link_dropped(), so tracing and
 * oracles see the same records whichever backend runs. */
#ifndef TS_BACKEND_H
#define TS_BACKEND_H

#include <stdbool.h>
#include <stdint.h>

#include "ts_eventq.h"
#include "ts_packet.h"
#include "ts_time.h"

typedef struct ts_world ts_world;
typedef struct ts_backend ts_backend;
typedef uint32_t ts_link_id;

typedef struct ts_link_params {
  ts_time delay;       /* propagation delay, one way */
  ts_time jitter;      /* uniform in [-jitter, +jitter] around delay; never reorders */
  double loss;         /* probability a packet is lost, per packet */
  uint64_t rate_bps;   /* serialisation rate; 0 = unlimited */
  uint32_t mtu;        /* largest packet in bytes */
  uint32_t queue_limit; /* packets waiting or being serialised, per direction */
  bool up;
} ts_link_params;

typedef struct ts_backend_ops {
  const char *name;
  int (*create)(ts_backend **out, ts_world *w);
  void (*destroy)(ts_backend *b);
  /* Drop every event and link; the clock goes back to 0. */
  void (*reset)(ts_backend *b);
  ts_time (*now)(const ts_backend *b);
  int (*schedule)(ts_backend *b, ts_time at, ts_event_fn fn, void *obj, uint64_t arg,
                  ts_event_id *id);
  /* Same, `delay` (>= 0) after now: one call instead of now() then schedule(), since
   * a timer re-arming itself is the commonest event of all. */
  int (*schedule_in)(ts_backend *b, ts_time delay, ts_event_fn fn, void *obj, uint64_t arg,
                     ts_event_id *id);
  int (*cancel)(ts_backend *b, ts_event_id id);
  int (*run_until)(ts_backend *b, ts_time until);
  void (*stop)(ts_backend *b);
  uint64_t (*events_run)(const ts_backend *b);
  /* Links: `name` seeds the link's random stream. Ids count from 0. */
  int (*link_create)(ts_backend *b, const char *name, const ts_link_params *p, ts_link_id *id);
  int (*link_set_up)(ts_backend *b, ts_link_id id, bool up);
  /* Send from end 0 or 1 of the link; the backend owns the packet from here on. */
  int (*link_send)(ts_backend *b, ts_link_id id, int from_end, ts_packet *pkt);
} ts_backend_ops;

#endif
