/* A world owns all state of one simulation: the backend (clock, events, links), the
 * seed and its named random streams, the packet pool, the trace, and the objects
 * that models attach to it. Nothing is global: several worlds may live in one
 * process, and a world can be reset and rebuilt for the next run. */
#ifndef TS_WORLD_H
#define TS_WORLD_H

#include <stdbool.h>
#include <stdint.h>

#include "ts_backend.h"
#include "ts_error.h"
#include "ts_eventq.h"
#include "ts_packet.h"
#include "ts_rng.h"
#include "ts_time.h"
#include "ts_trace.h"

typedef struct ts_world ts_world;

/* Receives packets that arrive at one end of a link; takes ownership. */
typedef void (*ts_link_rx_fn)(void *ctx, ts_packet *pkt);
/* Frees an object attached to the world when the world is reset or destroyed. */
typedef void (*ts_release_fn)(void *obj);

typedef struct ts_link_end {
  ts_link_rx_fn rx;
  void *ctx;
  const char *interface_name; /* trace name, e.g. "hostA/eth0" */
} ts_link_end;

int ts_world_create(ts_world **out, const ts_backend_ops *backend, uint64_t seed);
void ts_world_destroy(ts_world *w);
/* Release every attached object, drop events and links, restart the trace, and take
 * a new seed. Sinks opened on the trace are closed. */
int ts_world_reset(ts_world *w, uint64_t seed);

uint64_t ts_world_seed(const ts_world *w);
ts_time ts_world_now(const ts_world *w);
ts_trace *ts_world_trace(ts_world *w);
ts_packet_pool *ts_world_pool(ts_world *w);
const char *ts_world_backend_name(const ts_world *w);

int ts_world_schedule(ts_world *w, ts_time at, ts_event_fn fn, void *obj, uint64_t arg,
                      ts_event_id *id);
int ts_world_schedule_in(ts_world *w, ts_time delay, ts_event_fn fn, void *obj, uint64_t arg,
                         ts_event_id *id);
int ts_world_cancel(ts_world *w, ts_event_id id);
int ts_world_run_until(ts_world *w, ts_time until);
void ts_world_stop(ts_world *w);
uint64_t ts_world_events_run(const ts_world *w);

/* The stream called `name` of this world's seed. */
void ts_world_rng(const ts_world *w, const char *name, ts_rng *out);

/* Attach `obj` so that `release(obj)` runs at reset or destroy, newest first. */
int ts_world_attach(ts_world *w, void *obj, ts_release_fn release);
/* Forget an attached object without releasing it (its owner frees it now).
 * TS_ENOENT if it is not attached. */
int ts_world_detach(ts_world *w, void *obj);

int ts_world_link_create(ts_world *w, const char *name, const ts_link_params *p,
                         const ts_link_end ends[2], ts_link_id *id);
int ts_world_link_set_up(ts_world *w, ts_link_id id, bool up);
/* Send a packet out of one end: traced as tx, then owned by the backend. */
int ts_world_link_send(ts_world *w, ts_link_id id, int from_end, ts_packet *pkt);
const char *ts_world_link_name(const ts_world *w, ts_link_id id);

/* Observers that see every packet sent into a link (before loss or queueing), e.g.
 * the byte-only leak observer at an access point. At most TS_WORLD_LINK_TAPS a link. */
#define TS_WORLD_LINK_TAPS 4
typedef void (*ts_link_tap_fn)(void *ctx, ts_link_id id, int from_end, const ts_packet *pkt);
int ts_world_link_tap(ts_world *w, ts_link_id id, ts_link_tap_fn fn, void *ctx);

/* Backend side: a packet reached end `to_end` (traced rx, handed to its owner). */
void ts_world_link_deliver(ts_world *w, ts_link_id id, int to_end, ts_packet *pkt);
/* Backend side: a packet sent from `from_end` was lost; `why` names the cause. */
void ts_world_link_dropped(ts_world *w, ts_link_id id, int from_end, ts_packet *pkt,
                           const char *why);

#endif
