#include <stdlib.h>

#include "ts_error.h"
#include "ts_eventq.h"
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
