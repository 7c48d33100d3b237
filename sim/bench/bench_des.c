/* The hold model (Vaucher and Duval 1975, as used by ns-3's bench-scheduler): a
 * constant number P of pending events; each event, when it runs, schedules one
 * successor at now + Exp(mean). The exponential draw is part of the cost, as it is in
 * the ns-3 figures of anchors.md §2.1. */
#include <time.h>

#include "ts_bench.h"
#include "ts_native.h"
#include "ts_world.h"

#define MEAN_DELAY_NS 100000.0 /* 100 us */

const uint32_t ts_bench_des_pending[3] = {1, 1000, 100000};

double ts_bench_wall_seconds(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

struct hold {
  ts_world *world;
  ts_eventq *queue;
  ts_rng rng;
};

static ts_time next_delay(struct hold *h) {
  return (ts_time)(ts_rng_exponential(&h->rng) * MEAN_DELAY_NS);
}

static void hold_world_event(void *obj, uint64_t arg) {
  struct hold *h = obj;
  ts_world_schedule_in(h->world, next_delay(h), hold_world_event, h, arg, NULL);
}

static void hold_queue_event(void *obj, uint64_t arg) {
  struct hold *h = obj;
  ts_eventq_schedule(h->queue, ts_eventq_now(h->queue) + next_delay(h), hold_queue_event, h, arg,
                     NULL);
}

/* The two drivers under test differ only in these three calls. */
struct driver {
  int (*run_until)(void *q, ts_time until);
  ts_time (*now)(const void *q);
  uint64_t (*events)(const void *q);
};

static int world_run(void *q, ts_time t) { return ts_world_run_until(q, t); }
static ts_time world_now(const void *q) { return ts_world_now(q); }
static uint64_t world_events(const void *q) { return ts_world_events_run(q); }
static int queue_run(void *q, ts_time t) { return ts_eventq_run_until(q, t); }
static ts_time queue_now(const void *q) { return ts_eventq_now(q); }
static uint64_t queue_events(const void *q) { return ts_eventq_events_run(q); }

static const struct driver world_driver = {world_run, world_now, world_events};
static const struct driver queue_driver = {queue_run, queue_now, queue_events};

/* Warms up with one pass through the pending set, then runs simulated time in slices
 * until `seconds` of wall time are spent. */
static double measure(const struct driver *d, void *q, uint32_t pending, double seconds,
                      uint64_t *events) {
  d->run_until(q, (ts_time)(MEAN_DELAY_NS * 2));
  uint64_t start_events = d->events(q);
  double t0 = ts_bench_wall_seconds(), t1;
  ts_time horizon = d->now(q);
  ts_time slice = (ts_time)(MEAN_DELAY_NS * 20000.0 / pending) + 1;
  do {
    horizon += slice;
    d->run_until(q, horizon);
    t1 = ts_bench_wall_seconds();
  } while (t1 - t0 < seconds);
  *events = d->events(q) - start_events;
  return (double)*events / (t1 - t0);
}

static double run_world(uint32_t pending, double seconds, uint64_t *events) {
  struct hold h = {0};
  ts_world_create(&h.world, &ts_native_backend, 1);
  ts_world_rng(h.world, "bench/hold", &h.rng);
  for (uint32_t i = 0; i < pending; i++)
    ts_world_schedule(h.world, next_delay(&h), hold_world_event, &h, i, NULL);
  double rate = measure(&world_driver, h.world, pending, seconds, events);
  ts_world_destroy(h.world);
  return rate;
}

static double run_queue(uint32_t pending, double seconds) {
  struct hold h = {0};
  ts_eventq_create(&h.queue);
  ts_rng_init(&h.rng, 1, "bench/hold");
  for (uint32_t i = 0; i < pending; i++)
    ts_eventq_schedule(h.queue, next_delay(&h), hold_queue_event, &h, i, NULL);
  uint64_t events;
  double rate = measure(&queue_driver, h.queue, pending, seconds, &events);
  ts_eventq_destroy(h.queue);
  return rate;
}

int ts_bench_des(double seconds, ts_bench_des_result *out) {
  for (int i = 0; i < 3; i++) {
    out->events_per_sec[i] = run_world(ts_bench_des_pending[i], seconds, &out->events[i]);
    out->baseline_per_sec[i] = run_queue(ts_bench_des_pending[i], seconds / 2);
  }
  return 0;
}
