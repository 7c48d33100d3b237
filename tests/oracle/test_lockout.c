/* The lockout oracle: the verdict at the deadline window (locked, connected, no
 * probe) with when the lockout began and the last answer; recovery after an action
 * (restored, time to restore, relapses, ends locked); limits; reuse after reset. */
#include "ts_lockout.h"
#include "tstest.h"

#define S TS_SEC
#define WINDOW (10 * S)

static ts_lockout *oracle(size_t capacity) {
  ts_lockout *o = NULL;
  if (ts_lockout_create(capacity, &o)) return NULL;
  return o;
}

/* One probe a second in [from, to], answered or not. */
static int probes(ts_lockout *o, int from, int to, bool answered) {
  for (int t = from; t <= to; t++) {
    int rc = answered ? ts_lockout_observe_success(o, t * S) : ts_lockout_observe_failure(o, t * S);
    if (rc) return rc;
  }
  return TS_OK;
}

TS_TEST(no_answer_in_the_last_window_of_the_heal_phase_is_a_lockout) {
  ts_lockout *o = oracle(16);
  TS_CHECK(o);
  TS_CHECK_INT(probes(o, 1, 10, true), ==, 0);
  TS_CHECK_INT(probes(o, 11, 100, false), ==, 0); /* the update starts at 11 s */
  ts_lockout_verdict v;
  TS_CHECK_INT(ts_lockout_judge(o, 50 * S, 100 * S, WINDOW, &v), ==, 0);
  TS_CHECK_INT(v.status, ==, TS_LOCKOUT_LOCKED);
  TS_CHECK(v.locked_out);
  TS_CHECK_INT(v.began, ==, 11 * S);
  TS_CHECK_INT(v.last_success, ==, 10 * S);
  TS_CHECK_INT(v.failures_since, ==, 90);
  TS_CHECK_STR(ts_lockout_status_name(v.status), "locked");
  ts_lockout_destroy(o);
}

TS_TEST(answers_back_in_the_heal_phase_are_connected) {
  ts_lockout *o = oracle(16);
  TS_CHECK(o);
  TS_CHECK_INT(probes(o, 11, 60, false), ==, 0);
  TS_CHECK_INT(probes(o, 61, 100, true), ==, 0);
  ts_lockout_verdict v;
  TS_CHECK_INT(ts_lockout_judge(o, 50 * S, 100 * S, WINDOW, &v), ==, 0);
  TS_CHECK_INT(v.status, ==, TS_LOCKOUT_CONNECTED);
  TS_CHECK(!v.locked_out);
  TS_CHECK_INT(v.last_success, ==, 100 * S);
  TS_CHECK_INT(v.began, ==, TS_TIME_NEVER);
  ts_lockout_destroy(o);
}

TS_TEST(the_window_is_closed_at_both_ends) {
  ts_lockout *o = oracle(16);
  TS_CHECK(o);
  TS_CHECK_INT(probes(o, 90, 90, true), ==, 0);
  TS_CHECK_INT(probes(o, 91, 100, false), ==, 0);
  ts_lockout_verdict v;
  TS_CHECK_INT(ts_lockout_judge(o, 50 * S, 100 * S, WINDOW, &v), ==, 0);
  TS_CHECK_INT(v.status, ==, TS_LOCKOUT_CONNECTED); /* an answer at deadline - window */
  TS_CHECK_INT(ts_lockout_judge(o, 50 * S, 100 * S + 1, WINDOW, &v), ==, 0);
  TS_CHECK_INT(v.status, ==, TS_LOCKOUT_LOCKED); /* one nanosecond later it is out */
  TS_CHECK_INT(v.began, ==, 91 * S);
  ts_lockout_destroy(o);
}

TS_TEST(never_answered_began_at_the_first_failure) {
  ts_lockout *o = oracle(16);
  TS_CHECK(o);
  TS_CHECK_INT(probes(o, 5, 100, false), ==, 0);
  ts_lockout_verdict v;
  TS_CHECK_INT(ts_lockout_judge(o, 50 * S, 100 * S, WINDOW, &v), ==, 0);
  TS_CHECK(v.locked_out);
  TS_CHECK_INT(v.began, ==, 5 * S);
  TS_CHECK_INT(v.last_success, ==, TS_TIME_NEVER);
  ts_lockout_destroy(o);
}

TS_TEST(without_tries_in_the_heal_phase_it_says_no_probe) {
  ts_lockout *o = oracle(16);
  TS_CHECK(o);
  ts_lockout_verdict v;
  TS_CHECK_INT(ts_lockout_judge(o, 50 * S, 100 * S, WINDOW, &v), ==, 0);
  TS_CHECK_INT(v.status, ==, TS_LOCKOUT_NO_PROBE); /* never tried */
  TS_CHECK_INT(probes(o, 1, 40, false), ==, 0);   /* failed in the fault phase only */
  TS_CHECK_INT(ts_lockout_judge(o, 50 * S, 100 * S, WINDOW, &v), ==, 0);
  TS_CHECK_INT(v.status, ==, TS_LOCKOUT_NO_PROBE);
  TS_CHECK_INT(v.began, ==, 1 * S);
  TS_CHECK_INT(probes(o, 80, 80, true), ==, 0); /* answered, then quiet */
  TS_CHECK_INT(ts_lockout_judge(o, 50 * S, 100 * S, WINDOW, &v), ==, 0);
  TS_CHECK_INT(v.status, ==, TS_LOCKOUT_NO_PROBE);
  TS_CHECK_INT(v.last_success, ==, 80 * S);
  TS_CHECK_STR(ts_lockout_status_name(v.status), "no-probe");
  ts_lockout_destroy(o);
}

TS_TEST(answers_after_the_deadline_do_not_count) {
  ts_lockout *o = oracle(16);
  TS_CHECK(o);
  TS_CHECK_INT(probes(o, 1, 100, false), ==, 0);
  TS_CHECK_INT(probes(o, 150, 150, true), ==, 0);
  ts_lockout_verdict v;
  TS_CHECK_INT(ts_lockout_judge(o, 50 * S, 100 * S, WINDOW, &v), ==, 0);
  TS_CHECK(v.locked_out);
  TS_CHECK_INT(v.last_success, ==, TS_TIME_NEVER);
  TS_CHECK_INT(ts_lockout_judge(o, 50 * S, 40 * S, WINDOW, &v), ==, TS_EINVAL);
  TS_CHECK_INT(ts_lockout_judge(o, 50 * S, 100 * S, 0, &v), ==, TS_EINVAL);
  ts_lockout_destroy(o);
}

/* GT-06: locked from 11 s; a reboot at 100 s restores answers at 130 s; the App
 * Store retries the update at 200 s and the lockout returns for good. */
TS_TEST(a_reboot_restores_then_the_lockout_relapses) {
  ts_lockout *o = oracle(16);
  TS_CHECK(o);
  TS_CHECK_INT(probes(o, 1, 10, true), ==, 0);
  TS_CHECK_INT(probes(o, 11, 129, false), ==, 0);
  TS_CHECK_INT(probes(o, 130, 199, true), ==, 0);
  TS_CHECK_INT(probes(o, 200, 400, false), ==, 0);
  ts_lockout_recovery r;
  TS_CHECK_INT(ts_lockout_after(o, 100 * S, 400 * S, WINDOW, &r), ==, 0);
  TS_CHECK(r.restored);
  TS_CHECK_INT(r.restored_at, ==, 130 * S);
  TS_CHECK_INT(r.time_to_restore, ==, 30 * S);
  TS_CHECK_INT(r.relapses, ==, 1);
  TS_CHECK_INT(r.longest_relapse, ==, 200 * S);
  TS_CHECK(r.ends_locked);
  ts_lockout_destroy(o);
}

TS_TEST(short_blips_are_no_relapse_and_a_second_long_one_is) {
  ts_lockout *o = oracle(16);
  TS_CHECK(o);
  TS_CHECK_INT(probes(o, 0, 99, false), ==, 0);
  TS_CHECK_INT(probes(o, 105, 149, true), ==, 0);
  TS_CHECK_INT(probes(o, 150, 152, false), ==, 0); /* 5 s without an answer: a blip */
  TS_CHECK_INT(probes(o, 155, 200, true), ==, 0);
  ts_lockout_recovery r;
  TS_CHECK_INT(ts_lockout_after(o, 100 * S, 200 * S, WINDOW, &r), ==, 0);
  TS_CHECK(r.restored);
  TS_CHECK_INT(r.time_to_restore, ==, 5 * S);
  TS_CHECK_INT(r.relapses, ==, 0);
  TS_CHECK(!r.ends_locked);
  TS_CHECK_INT(probes(o, 201, 230, false), ==, 0);
  TS_CHECK_INT(probes(o, 231, 240, true), ==, 0);
  TS_CHECK_INT(ts_lockout_after(o, 100 * S, 240 * S, WINDOW, &r), ==, 0);
  TS_CHECK_INT(r.relapses, ==, 1);
  TS_CHECK_INT(r.longest_relapse, ==, 30 * S);
  TS_CHECK(!r.ends_locked);
  ts_lockout_destroy(o);
}

TS_TEST(an_action_that_never_restores_ends_locked) {
  ts_lockout *o = oracle(16);
  TS_CHECK(o);
  TS_CHECK_INT(probes(o, 1, 10, true), ==, 0);
  TS_CHECK_INT(probes(o, 11, 300, false), ==, 0);
  ts_lockout_recovery r;
  TS_CHECK_INT(ts_lockout_after(o, 100 * S, 300 * S, WINDOW, &r), ==, 0);
  TS_CHECK(!r.restored);
  TS_CHECK_INT(r.restored_at, ==, TS_TIME_NEVER);
  TS_CHECK_INT(r.time_to_restore, ==, TS_TIME_NEVER);
  TS_CHECK_INT(r.relapses, ==, 0);
  TS_CHECK(r.ends_locked);
  TS_CHECK_INT(ts_lockout_after(o, 300 * S, 100 * S, WINDOW, &r), ==, TS_EINVAL);
  ts_lockout_destroy(o);
}

TS_TEST(an_action_while_answered_restores_at_once) {
  ts_lockout *o = oracle(16);
  TS_CHECK(o);
  TS_CHECK_INT(probes(o, 1, 200, true), ==, 0);
  ts_lockout_recovery r;
  TS_CHECK_INT(ts_lockout_after(o, 100 * S, 200 * S, WINDOW, &r), ==, 0);
  TS_CHECK(r.restored);
  TS_CHECK_INT(r.time_to_restore, ==, 0);
  ts_lockout_destroy(o);
}

TS_TEST(time_going_back_is_refused_and_a_full_ring_keeps_the_newest_runs) {
  ts_lockout *o = oracle(3);
  TS_CHECK(o);
  TS_CHECK_INT(ts_lockout_observe_success(o, 10 * S), ==, 0);
  TS_CHECK_INT(ts_lockout_observe_failure(o, 9 * S), ==, TS_EINVAL);
  /* Flapping: s f s f ... ; only the last three runs are kept. */
  for (int t = 11; t <= 20; t++)
    TS_CHECK_INT(t % 2 ? ts_lockout_observe_failure(o, t * S) : ts_lockout_observe_success(o, t * S), ==, 0);
  TS_CHECK_INT(probes(o, 21, 60, false), ==, 0);
  ts_lockout_verdict v;
  TS_CHECK_INT(ts_lockout_judge(o, 30 * S, 60 * S, WINDOW, &v), ==, 0);
  TS_CHECK(v.locked_out);
  TS_CHECK_INT(v.last_success, ==, 20 * S);
  TS_CHECK_INT(v.began, ==, 21 * S);
  ts_lockout_destroy(o);
  ts_lockout *none = NULL;
  TS_CHECK_INT(ts_lockout_create(0, &none), ==, TS_EINVAL);
  TS_CHECK(none == NULL);
  ts_lockout_destroy(NULL);
}

TS_TEST(reset_forgets_every_observation_and_the_oracle_is_reused) {
  ts_lockout *o = oracle(4);
  TS_CHECK(o);
  for (int round = 0; round < 3; round++) {
    TS_CHECK_INT(probes(o, 1, 10, true), ==, 0); /* times start again from 1 s */
    TS_CHECK_INT(probes(o, 11, 100, round != 1), ==, 0);
    ts_lockout_verdict v;
    TS_CHECK_INT(ts_lockout_judge(o, 50 * S, 100 * S, WINDOW, &v), ==, 0);
    TS_CHECK_INT(v.locked_out, ==, round == 1);
    ts_lockout_reset(o);
    TS_CHECK_INT(ts_lockout_judge(o, 50 * S, 100 * S, WINDOW, &v), ==, 0);
    TS_CHECK_INT(v.status, ==, TS_LOCKOUT_NO_PROBE);
  }
  ts_lockout_destroy(o);
}
