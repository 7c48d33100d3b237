/* The event queue of the native engine: a 4-ary min-heap of (time, insertion
 * sequence) keys over a pool of event slots. Ties at equal times run in insertion
 * order. Cancellation is lazy: a cancelled event stays in the heap until it reaches
 * the top or until cancelled entries outnumber live ones, when the heap is rebuilt.
 * While an event runs, its heap entry is kept at the top; if the handler schedules
 * one event (the common "timer re-arms itself" case), that entry replaces the top
 * with one sift-down instead of a pop and a push. */
#ifndef TS_EVENTQ_H
#define TS_EVENTQ_H

#include <stdint.h>

#include "ts_time.h"

typedef void (*ts_event_fn)(void *obj, uint64_t arg);
typedef uint64_t ts_event_id; /* 0 never names an event */

typedef struct ts_eventq ts_eventq;

int ts_eventq_create(ts_eventq **out);
void ts_eventq_destroy(ts_eventq *q);
/* Forget every pending event and set the clock to 0; memory is kept for reuse. */
void ts_eventq_reset(ts_eventq *q);

ts_time ts_eventq_now(const ts_eventq *q);
/* Schedule fn(obj, arg) at absolute time `at` (>= now). `id` may be NULL. */
int ts_eventq_schedule(ts_eventq *q, ts_time at, ts_event_fn fn, void *obj, uint64_t arg,
                       ts_event_id *id);
/* Cancel a pending event. Cancelling one that already ran or was cancelled is a
 * no-op returning TS_ENOENT. */
int ts_eventq_cancel(ts_eventq *q, ts_event_id id);
/* Run events with time <= until in order, then set the clock to `until` (unless
 * stopped early). Returns 0, or TS_ESTATE if called from inside a handler. */
int ts_eventq_run_until(ts_eventq *q, ts_time until);
/* Ask run_until to return after the current handler. */
void ts_eventq_stop(ts_eventq *q);

uint64_t ts_eventq_events_run(const ts_eventq *q);
uint32_t ts_eventq_pending(const ts_eventq *q); /* live events, cancelled excluded */
/* Time of the next live event, or TS_TIME_NEVER. */
ts_time ts_eventq_next_time(ts_eventq *q);

#endif
