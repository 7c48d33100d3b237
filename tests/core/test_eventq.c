#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>

#include "ts_error.h"
#include "ts_eventq.h"
#include "ts_eventq_debug.h"
#include "ts_rng.h"
#include "tstest.h"

struct log {
  uint64_t order[64];
  ts_time times[64];
  int n;
};

static void record(void *obj, uint64_t arg) {
  struct log *l = obj;
  if (l->n < 64) l->order[l->n++] = arg;
}

TS_TEST(eventq_runs_in_time_order) {
  ts_eventq *q;
  TS_CHECK_INT(ts_eventq_create(&q), ==, TS_OK);
  struct log l = {0};
  ts_eventq_schedule(q, 30, record, &l, 3, NULL);
  ts_eventq_schedule(q, 10, record, &l, 1, NULL);
  ts_eventq_schedule(q, 20, record, &l, 2, NULL);
  TS_CHECK_INT(ts_eventq_run_until(q, 100), ==, TS_OK);
  TS_CHECK_INT(l.n, ==, 3);
  TS_CHECK_INT(l.order[0], ==, 1);
  TS_CHECK_INT(l.order[1], ==, 2);
  TS_CHECK_INT(l.order[2], ==, 3);
  TS_CHECK_INT(ts_eventq_now(q), ==, 100);
  ts_eventq_destroy(q);
}

TS_TEST(eventq_ties_break_by_insertion_order) {
  ts_eventq *q;
  ts_eventq_create(&q);
  struct log l = {0};
  for (uint64_t i = 0; i < 40; i++) ts_eventq_schedule(q, 5, record, &l, i, NULL);
  ts_eventq_run_until(q, 5);
  TS_CHECK_INT(l.n, ==, 40);
  for (int i = 0; i < 40; i++) TS_CHECK_INT(l.order[i], ==, i);
  ts_eventq_destroy(q);
}

TS_TEST(eventq_cancel_skips_event_and_stale_ids_miss) {
  ts_eventq *q;
  ts_eventq_create(&q);
  struct log l = {0};
  ts_event_id a, b;
  ts_eventq_schedule(q, 10, record, &l, 1, &a);
  ts_eventq_schedule(q, 20, record, &l, 2, &b);
  TS_CHECK_INT(ts_eventq_pending(q), ==, 2);
  TS_CHECK_INT(ts_eventq_cancel(q, a), ==, TS_OK);
  TS_CHECK_INT(ts_eventq_cancel(q, a), ==, TS_ENOENT);
  TS_CHECK_INT(ts_eventq_pending(q), ==, 1);
  TS_CHECK_INT(ts_eventq_next_time(q), ==, 20);
  ts_eventq_run_until(q, 100);
  TS_CHECK_INT(l.n, ==, 1);
  TS_CHECK_INT(l.order[0], ==, 2);
  /* b ran: its id is stale even though its slot gets reused. */
  ts_event_id c;
  ts_eventq_schedule(q, 200, record, &l, 3, &c);
  TS_CHECK_INT(ts_eventq_cancel(q, b), ==, TS_ENOENT);
  TS_CHECK_INT(ts_eventq_cancel(q, c), ==, TS_OK);
  ts_eventq_destroy(q);
}

TS_TEST(eventq_rejects_past_and_stops_at_until) {
  ts_eventq *q;
  ts_eventq_create(&q);
  struct log l = {0};
  ts_eventq_run_until(q, 50);
  TS_CHECK_INT(ts_eventq_schedule(q, 49, record, &l, 0, NULL), ==, TS_EINVAL);
  ts_eventq_schedule(q, 60, record, &l, 1, NULL);
  ts_eventq_schedule(q, 61, record, &l, 2, NULL);
  ts_eventq_run_until(q, 60);
  TS_CHECK_INT(l.n, ==, 1);
  TS_CHECK_INT(ts_eventq_next_time(q), ==, 61);
  ts_eventq_destroy(q);
}

struct chain {
  ts_eventq *q;
  int remaining;
  ts_time last;
  int out_of_order;
};

static void chain_step(void *obj, uint64_t arg) {
  struct chain *c = obj;
  ts_time now = ts_eventq_now(c->q);
  if (now < c->last) c->out_of_order++;
  c->last = now;
  if (--c->remaining > 0) ts_eventq_schedule(c->q, now + (ts_time)(arg % 7), chain_step, c, arg * 31 + 1, NULL);
}

TS_TEST(eventq_self_rescheduling_keeps_order_against_a_sorted_reference) {
  /* Random schedules, cancels and self-rescheduling handlers, checked against the
   * invariant that time never goes backwards and every live event runs once. */
  ts_eventq *q;
  ts_eventq_create(&q);
  ts_rng r;
  ts_rng_init(&r, 42, "test");
  struct chain c = {q, 5000, 0, 0};
  ts_eventq_schedule(q, 0, chain_step, &c, 1, NULL);
  struct log l = {0};
  ts_event_id ids[1000];
  for (int i = 0; i < 1000; i++)
    ts_eventq_schedule(q, (ts_time)ts_rng_below(&r, 10000), record, &l, 7, &ids[i]);
  int cancelled = 0;
  for (int i = 0; i < 1000; i += 2) cancelled += ts_eventq_cancel(q, ids[i]) == TS_OK;
  TS_CHECK_INT(cancelled, ==, 500);
  uint64_t before = ts_eventq_events_run(q);
  ts_eventq_run_until(q, 1000000);
  TS_CHECK_INT(c.out_of_order, ==, 0);
  TS_CHECK_INT(c.remaining, ==, 0);
  TS_CHECK_INT(ts_eventq_events_run(q) - before, ==, 5000 + 500);
  TS_CHECK_INT(ts_eventq_pending(q), ==, 0);
  ts_eventq_destroy(q);
}

TS_TEST(eventq_reset_forgets_everything) {
  ts_eventq *q;
  ts_eventq_create(&q);
  struct log l = {0};
  ts_eventq_schedule(q, 10, record, &l, 1, NULL);
  ts_eventq_reset(q);
  TS_CHECK_INT(ts_eventq_now(q), ==, 0);
  TS_CHECK_INT(ts_eventq_pending(q), ==, 0);
  ts_eventq_run_until(q, 100);
  TS_CHECK_INT(l.n, ==, 0);
  ts_eventq_destroy(q);
}

/* ---- differential test against a plain reference ----------------------------
 * The queue runs handlers that schedule, cancel and re-arm at mixed horizons (ties
 * at the current time, sub-microsecond, packet-like milliseconds, 10 s and 120 s
 * timers); the reference is a plain array of live events. Every event the queue
 * runs must be the reference's minimum by (time, insertion order), at that time. */


#define REF_CAP 16384
#define REF_TIMERS 64

struct ref_ev {
  ts_time time;
  uint64_t seq;
  ts_event_id id;
  int32_t live_pos; /* index in live[], or -1 */
  int32_t timer;    /* the timer this event is, or -1 */
};

struct diff {
  ts_eventq *q;
  ts_rng rng;
  struct ref_ev ev[REF_CAP];
  int32_t free_list[REF_CAP];
  int32_t free_n;
  int32_t live[REF_CAP];
  int32_t live_n;
  uint64_t seq;
  int32_t timer_ev[REF_TIMERS]; /* pending event of each timer, or -1 */
  ts_event_id stale[256];       /* ids of events that ran or were cancelled */
  uint32_t stale_n;
  uint64_t ran, scheduled, cancelled, stops, failures;
  int32_t max_live;
  bool in_handler;
};

static void diff_fail(struct diff *d, const char *what, long long a, long long b) {
  if (d->failures++ < 10) fprintf(stderr, "diff: %s (%lld vs %lld)\n", what, a, b);
}

static int32_t ref_min(const struct diff *d) {
  int32_t best = -1;
  for (int32_t i = 0; i < d->live_n; i++) {
    const struct ref_ev *e = &d->ev[d->live[i]];
    if (best < 0 || e->time < d->ev[best].time ||
        (e->time == d->ev[best].time && e->seq < d->ev[best].seq))
      best = d->live[i];
  }
  return best;
}

static void ref_kill(struct diff *d, int32_t x) {
  struct ref_ev *e = &d->ev[x];
  int32_t pos = e->live_pos;
  d->live[pos] = d->live[--d->live_n];
  d->ev[d->live[pos]].live_pos = pos;
  e->live_pos = -1;
  if (e->timer >= 0) d->timer_ev[e->timer] = -1;
  d->stale[d->stale_n++ % 256] = e->id;
  d->free_list[d->free_n++] = x;
}

static ts_time diff_delay(struct diff *d) {
  uint64_t r = ts_rng_below(&d->rng, 100);
  if (r < 5) return 0;                                           /* a tie at now */
  if (r < 20) return (ts_time)ts_rng_below(&d->rng, 100);         /* same bucket */
  if (r < 45) return (ts_time)(ts_rng_exponential(&d->rng) * 1000.0);
  if (r < 65) return 5 * TS_MS + (ts_time)ts_rng_below(&d->rng, 1000);
  if (r < 85) return (ts_time)(ts_rng_exponential(&d->rng) * 100000.0);
  if (r < 90) return 10 * TS_SEC;
  if (r < 93) return 120 * TS_SEC;
  if (r < 95) return (ts_time)ts_rng_below(&d->rng, 1000) * TS_SEC;
  if (d->live_n > 0) { /* exactly the time of some pending event */
    const struct ref_ev *e = &d->ev[d->live[ts_rng_below(&d->rng, (uint64_t)d->live_n)]];
    return e->time - ts_eventq_now(d->q);
  }
  return 1;
}

static void diff_event(void *obj, uint64_t arg);

static void diff_schedule(struct diff *d, ts_time delay, int32_t timer) {
  if (d->free_n == 0) return;
  int32_t x = d->free_list[--d->free_n];
  struct ref_ev *e = &d->ev[x];
  e->time = ts_eventq_now(d->q) + delay;
  e->seq = d->seq++;
  e->timer = timer;
  int rc = ts_eventq_schedule(d->q, e->time, diff_event, d, (uint64_t)x, &e->id);
  if (rc != TS_OK) {
    diff_fail(d, "schedule failed", rc, 0);
    d->free_list[d->free_n++] = x;
    return;
  }
  e->live_pos = d->live_n;
  d->live[d->live_n++] = x;
  if (d->live_n > d->max_live) d->max_live = d->live_n;
  if (timer >= 0) d->timer_ev[timer] = x;
  d->scheduled++;
}

static void diff_cancel(struct diff *d, int32_t x) {
  int rc = ts_eventq_cancel(d->q, d->ev[x].id);
  if (rc != TS_OK) diff_fail(d, "cancel of a pending event", rc, TS_OK);
  ref_kill(d, x);
  d->cancelled++;
}

static void diff_check_peek(struct diff *d) {
  int32_t m = ref_min(d);
  ts_time want = m < 0 ? TS_TIME_NEVER : d->ev[m].time;
  ts_time got = ts_eventq_next_time(d->q);
  if (got != want) diff_fail(d, "next_time", got, want);
  if (ts_eventq_pending(d->q) != (uint32_t)d->live_n)
    diff_fail(d, "pending", ts_eventq_pending(d->q), d->live_n);
}

static void diff_event(void *obj, uint64_t arg) {
  struct diff *d = obj;
  int32_t x = (int32_t)arg;
  struct ref_ev *e = &d->ev[x];
  if (x < 0 || x >= REF_CAP || e->live_pos < 0) {
    diff_fail(d, "ran an event that is not pending", x, 0);
    return;
  }
  int32_t m = ref_min(d);
  if (m != x) diff_fail(d, "ran out of order: seq", (long long)e->seq, (long long)d->ev[m].seq);
  if (e->time != ts_eventq_now(d->q)) diff_fail(d, "clock", ts_eventq_now(d->q), e->time);
  ref_kill(d, x);
  d->ran++;
  if (d->ran % 61 == 0) {
    int line = ts_eventq_debug_check(d->q);
    if (line) diff_fail(d, "invariant broken inside a handler, line", line, 0);
  }
  d->in_handler = true;
  uint64_t r = ts_rng_below(&d->rng, 1000);
  bool crowded = d->live_n > 6000;
  if (r < 500) {
    if (!crowded) diff_schedule(d, diff_delay(d), -1); /* the successor */
  } else if (r < 600) {
    if (!crowded) {
      diff_schedule(d, diff_delay(d), -1);
      diff_schedule(d, diff_delay(d), -1);
    }
  } else if (r < 700) {
    /* no successor */
  } else if (r < 800) {
    if (d->live_n > 0) diff_cancel(d, d->live[ts_rng_below(&d->rng, (uint64_t)d->live_n)]);
    if (!crowded) diff_schedule(d, diff_delay(d), -1);
  } else if (r < 900) { /* re-arm a timer, the common packet/timer pattern */
    int32_t t = (int32_t)ts_rng_below(&d->rng, REF_TIMERS);
    if (d->timer_ev[t] >= 0) diff_cancel(d, d->timer_ev[t]);
    diff_schedule(d, ts_rng_chance(&d->rng, 0.5) ? 10 * TS_SEC : 120 * TS_SEC, t);
    diff_schedule(d, diff_delay(d), -1);
  } else if (r < 950) {
    if (d->stale_n > 0) {
      ts_event_id id = d->stale[ts_rng_below(&d->rng, d->stale_n < 256 ? d->stale_n : 256)];
      int rc = ts_eventq_cancel(d->q, id);
      if (rc != TS_ENOENT) diff_fail(d, "cancel of a stale id", rc, TS_ENOENT);
    }
    diff_schedule(d, diff_delay(d), -1);
  } else if (r < 990) {
    diff_check_peek(d);
    diff_schedule(d, diff_delay(d), -1);
  } else if (r < 999) {
    int rc = ts_eventq_run_until(d->q, ts_eventq_now(d->q) + 1);
    if (rc != TS_ESTATE) diff_fail(d, "nested run_until", rc, TS_ESTATE);
    diff_schedule(d, diff_delay(d), -1);
  } else {
    ts_eventq_stop(d->q);
    d->stops++;
    diff_schedule(d, diff_delay(d), -1);
  }
  d->in_handler = false;
}

static void diff_run(struct diff *d, ts_time until) {
  uint64_t stops = d->stops;
  ts_time before = ts_eventq_now(d->q);
  TS_CHECK_INT(ts_eventq_run_until(d->q, until), ==, TS_OK);
  bool stopped = d->stops != stops;
  ts_time now = ts_eventq_now(d->q);
  if (!stopped) {
    TS_CHECK_INT(now, ==, until > before ? until : before);
    int32_t m = ref_min(d);
    if (m >= 0) TS_CHECK_INT(d->ev[m].time, >, until);
  }
  TS_CHECK_INT(ts_eventq_debug_check(d->q), ==, 0);
}

static void diff_phase(struct diff *d, int32_t target, int runs, ts_time span) {
  for (int i = 0; i < runs && d->failures == 0; i++) {
    while (d->live_n < target) diff_schedule(d, diff_delay(d), -1);
    /* Cancels from outside a handler too (these may purge at once). */
    for (int c = 0; c < 3 && d->live_n > 0; c++)
      if (ts_rng_chance(&d->rng, 0.5))
        diff_cancel(d, d->live[ts_rng_below(&d->rng, (uint64_t)d->live_n)]);
    diff_check_peek(d);
    ts_time len = (ts_time)ts_rng_below(&d->rng, (uint64_t)span) + 1;
    if (ts_rng_chance(&d->rng, 0.05)) len = 200 * TS_SEC; /* let the far timers fire */
    diff_run(d, ts_eventq_now(d->q) + len);
    if (ts_test_failed_now()) return;
  }
}

TS_TEST(eventq_differential_against_reference) {
  struct diff *d = calloc(1, sizeof *d);
  TS_CHECK(d != NULL);
  TS_CHECK_INT(ts_eventq_create(&d->q), ==, TS_OK);
  ts_rng_init(&d->rng, 20240601, "eventq/differential");
  for (int32_t i = 0; i < REF_CAP; i++) d->free_list[d->free_n++] = REF_CAP - 1 - i;
  for (int t = 0; t < REF_TIMERS; t++) d->timer_ev[t] = -1;

  diff_phase(d, 1, 2000, 1 * TS_MS);
  diff_phase(d, 50, 400, 5 * TS_MS);
  diff_phase(d, 1000, 400, 10 * TS_MS);
  diff_phase(d, 3000, 30, 10 * TS_MS);
  diff_phase(d, 20, 400, 50 * TS_MS);
  /* Sequence numbers about to run out: the queue renumbers while events are live. */
  ts_eventq_debug_spend_seq(d->q, ts_eventq_debug_seq_limit() - ts_eventq_debug_seq(d->q) - 3000);
  diff_phase(d, 500, 40, 1 * TS_MS);
  TS_CHECK(ts_eventq_debug_seq(d->q) < ts_eventq_debug_seq_limit() / 2); /* renumbered */
  diff_phase(d, 2, 200, 100 * TS_US);
  if (d->failures)
    fprintf(stderr, "differential: ran %llu scheduled %llu cancelled %llu stops %llu max live %d\n",
          (unsigned long long)d->ran, (unsigned long long)d->scheduled,
          (unsigned long long)d->cancelled, (unsigned long long)d->stops, d->max_live);
  TS_CHECK_INT(d->failures, ==, 0);
  TS_CHECK(d->ran > 120000);
  TS_CHECK(d->cancelled > 10000);
  TS_CHECK(d->stops > 10);

  /* After a reset nothing runs and every old id is stale. */
  int32_t some = d->live_n > 0 ? d->live[0] : -1;
  ts_eventq_reset(d->q);
  TS_CHECK_INT(ts_eventq_pending(d->q), ==, 0);
  TS_CHECK_INT(ts_eventq_next_time(d->q), ==, TS_TIME_NEVER);
  if (some >= 0) TS_CHECK_INT(ts_eventq_cancel(d->q, d->ev[some].id), ==, TS_ENOENT);
  TS_CHECK_INT(ts_eventq_debug_check(d->q), ==, 0);
  ts_eventq_destroy(d->q);
  free(d);
}

/* Many far timers re-armed on every packet: cancelled entries must not pile up. */
struct rearm {
  ts_eventq *q;
  ts_event_id timer[100];
  uint64_t packets, fired;
};

static void rearm_timer(void *obj, uint64_t arg) {
  struct rearm *r = obj;
  (void)arg;
  r->fired++;
}

static void rearm_packet(void *obj, uint64_t arg) {
  struct rearm *r = obj;
  ts_time now = ts_eventq_now(r->q);
  uint32_t flow = (uint32_t)(arg % 100);
  ts_eventq_cancel(r->q, r->timer[flow]);
  ts_eventq_schedule(r->q, now + (flow & 1 ? 10 : 120) * TS_SEC, rearm_timer, r, flow,
                     &r->timer[flow]);
  r->packets++;
  ts_eventq_schedule(r->q, now + 5 * TS_MS + (ts_time)(arg % 977), rearm_packet, r,
                     arg * 6364136223846793005u + 1442695040888963407u, NULL);
}

TS_TEST(eventq_rearmed_timers_stay_bounded) {
  struct rearm r = {0};
  TS_CHECK_INT(ts_eventq_create(&r.q), ==, TS_OK);
  for (uint64_t i = 0; i < 1000; i++)
    ts_eventq_schedule(r.q, (ts_time)i * 5000, rearm_packet, &r, i, NULL);
  for (int step = 1; step <= 40; step++) {
    ts_eventq_run_until(r.q, step * 50 * TS_MS);
    TS_CHECK_INT(ts_eventq_debug_check(r.q), ==, 0);
    TS_CHECK_INT(ts_eventq_pending(r.q), ==, 1000 + 100);
  }
  TS_CHECK(r.packets > 100000);
  TS_CHECK_INT(r.fired, ==, 0);
  /* Stop the packets: the timers then fire, each once. */
  ts_eventq_reset(r.q);
  ts_eventq_destroy(r.q);
}

/* A long burst of events at one instant, each adding another at the same instant:
 * they run in insertion order, and the run ends. */
struct burst {
  ts_eventq *q;
  uint64_t next_expected, bad, left;
};

static void burst_event(void *obj, uint64_t arg) {
  struct burst *b = obj;
  if (arg != b->next_expected++) b->bad++;
  if (b->left > 0) {
    b->left--;
    ts_eventq_schedule(b->q, ts_eventq_now(b->q), burst_event, b, arg + 20000, NULL);
  }
}

TS_TEST(eventq_same_instant_burst_keeps_insertion_order) {
  struct burst b = {0};
  TS_CHECK_INT(ts_eventq_create(&b.q), ==, TS_OK);
  ts_eventq_run_until(b.q, 7 * TS_SEC);
  for (uint64_t i = 0; i < 20000; i++)
    ts_eventq_schedule(b.q, 8 * TS_SEC, burst_event, &b, i, NULL);
  b.left = 100000;
  ts_eventq_run_until(b.q, 9 * TS_SEC);
  TS_CHECK_INT(b.bad, ==, 0);
  TS_CHECK_INT(b.next_expected, ==, 120000);
  TS_CHECK_INT(ts_eventq_pending(b.q), ==, 0);
  ts_eventq_destroy(b.q);
}
