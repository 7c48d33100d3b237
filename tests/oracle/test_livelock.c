/* The livelock oracle: a cycle repeating min_repeats times with no progress is found
 * with its text, repeats, period and span; fewer repeats, an interleaved progress
 * mark or a broken round is no loop; the cycle is the shortest; subjects keep
 * interleaved loops apart; the ring forgets; reset reuses. */
#include "ts_livelock.h"
#include "tstest.h"

#define S TS_SEC

static ts_livelock *detector(size_t capacity, size_t labels) {
  ts_livelock *d = NULL;
  if (ts_livelock_create(capacity, labels, &d)) return NULL;
  return d;
}

/* GT-22's watchdog loop: one round every 70 s, starting at t0. */
static int watchdog_round(ts_livelock *d, ts_time t0) {
  int rc = ts_livelock_observe(d, t0, NULL, "connecting");
  if (!rc) rc = ts_livelock_observe(d, t0 + 60 * S, NULL, "killed: watchdog");
  if (!rc) rc = ts_livelock_observe(d, t0 + 61 * S, NULL, "disconnected");
  return rc;
}

TS_TEST(a_cycle_repeating_three_times_without_progress_is_a_livelock) {
  ts_livelock *d = detector(64, 16);
  TS_CHECK(d);
  for (int r = 0; r < 3; r++) TS_CHECK_INT(watchdog_round(d, r * 70 * S), ==, 0);
  ts_livelock_finding f[4];
  TS_CHECK_INT(ts_livelock_find(d, f, 4), ==, 1);
  TS_CHECK_STR(f[0].cycle, "connecting → killed: watchdog → disconnected → connecting");
  TS_CHECK_STR(f[0].subject, "");
  TS_CHECK_INT(f[0].length, ==, 3);
  TS_CHECK_INT(f[0].repeats, ==, 3);
  TS_CHECK_INT(f[0].period, ==, 70 * S);
  TS_CHECK_INT(f[0].first, ==, 0);
  TS_CHECK_INT(f[0].last, ==, 140 * S + 61 * S);
  ts_livelock_destroy(d);
}

TS_TEST(two_repeats_are_below_the_default_minimum) {
  ts_livelock *d = detector(64, 16);
  TS_CHECK(d);
  for (int r = 0; r < 2; r++) TS_CHECK_INT(watchdog_round(d, r * 70 * S), ==, 0);
  ts_livelock_finding f;
  TS_CHECK_INT(ts_livelock_find(d, &f, 1), ==, 0);
  TS_CHECK_INT(ts_livelock_set_min_repeats(d, 1), ==, TS_EINVAL);
  TS_CHECK_INT(ts_livelock_set_min_repeats(d, 2), ==, 0);
  TS_CHECK_INT(ts_livelock_find(d, &f, 1), ==, 1);
  TS_CHECK_INT(f.repeats, ==, 2);
  ts_livelock_destroy(d);
}

TS_TEST(a_progress_mark_among_the_repeats_breaks_the_loop_but_not_one_outside) {
  ts_livelock *d = detector(64, 16);
  TS_CHECK(d);
  TS_CHECK_INT(watchdog_round(d, 0), ==, 0);
  TS_CHECK_INT(watchdog_round(d, 70 * S), ==, 0);
  TS_CHECK_INT(ts_livelock_progress(d, 135 * S), ==, 0); /* an app got a reply */
  TS_CHECK_INT(watchdog_round(d, 140 * S), ==, 0);
  ts_livelock_finding f;
  TS_CHECK_INT(ts_livelock_find(d, &f, 1), ==, 0);
  ts_livelock_reset(d);
  TS_CHECK_INT(ts_livelock_progress(d, 0), ==, 0);
  for (int r = 0; r < 3; r++) TS_CHECK_INT(watchdog_round(d, (1 + r * 70) * S), ==, 0);
  TS_CHECK_INT(ts_livelock_progress(d, 300 * S), ==, 0);
  TS_CHECK_INT(ts_livelock_find(d, &f, 1), ==, 1);
  TS_CHECK_INT(f.repeats, ==, 3);
  /* Progress in every round, at the same place, is no loop either (the marks are not
   * a state of the cycle), for the unnamed stream and for a subject alike. */
  ts_livelock_reset(d);
  for (int r = 0; r < 4; r++) {
    TS_CHECK_INT(watchdog_round(d, r * 70 * S), ==, 0);
    TS_CHECK_INT(ts_livelock_observe(d, r * 70 * S + 62 * S, "session", "connecting"), ==, 0);
    TS_CHECK_INT(ts_livelock_progress(d, r * 70 * S + 65 * S), ==, 0);
  }
  TS_CHECK_INT(ts_livelock_find(d, &f, 1), ==, 0);
  ts_livelock_destroy(d);
}

TS_TEST(a_round_broken_by_another_state_is_no_loop) {
  ts_livelock *d = detector(64, 16);
  TS_CHECK(d);
  const char *seq[] = {"a", "b", "c", "a", "b", "x", "c", "a", "b", "c"};
  for (int i = 0; i < 10; i++) TS_CHECK_INT(ts_livelock_observe(d, i * S, NULL, seq[i]), ==, 0);
  ts_livelock_finding f;
  TS_CHECK_INT(ts_livelock_find(d, &f, 1), ==, 0);
  ts_livelock_destroy(d);
}

TS_TEST(the_cycle_reported_is_the_shortest_one) {
  ts_livelock *d = detector(64, 16);
  TS_CHECK(d);
  for (int i = 0; i < 12; i++)
    TS_CHECK_INT(ts_livelock_observe(d, i * S, NULL, i % 2 ? "monitor connection lost" : "connecting"), ==, 0);
  ts_livelock_finding f[4];
  TS_CHECK_INT(ts_livelock_find(d, f, 4), ==, 1); /* not also "a → b → a → b → a" */
  TS_CHECK_STR(f[0].cycle, "connecting → monitor connection lost → connecting");
  TS_CHECK_INT(f[0].repeats, ==, 6);
  TS_CHECK_INT(f[0].period, ==, 2 * S);
  ts_livelock_reset(d);
  for (int i = 0; i < 4; i++) TS_CHECK_INT(ts_livelock_observe(d, i * S, NULL, "download attempt failed"), ==, 0);
  TS_CHECK_INT(ts_livelock_find(d, f, 4), ==, 1);
  TS_CHECK_STR(f[0].cycle, "download attempt failed → download attempt failed");
  TS_CHECK_INT(f[0].repeats, ==, 4);
  ts_livelock_destroy(d);
}

/* The session's watchdog loop and the downloader's retries interleave in time; by
 * subject they are two loops, the one with more repeats first. */
TS_TEST(interleaved_loops_of_two_subjects_are_found_apart_strongest_first) {
  ts_livelock *d = detector(128, 16);
  TS_CHECK(d);
  for (int r = 0; r < 3; r++) {
    ts_time t0 = r * 70 * S;
    TS_CHECK_INT(ts_livelock_observe(d, t0, "session", "connecting"), ==, 0);
    TS_CHECK_INT(ts_livelock_observe(d, t0 + 20 * S, "download", "download attempt failed"), ==, 0);
    TS_CHECK_INT(ts_livelock_observe(d, t0 + 40 * S, "download", "download attempt failed"), ==, 0);
    TS_CHECK_INT(ts_livelock_observe(d, t0 + 60 * S, "session", "killed: watchdog"), ==, 0);
    TS_CHECK_INT(ts_livelock_observe(d, t0 + 61 * S, "session", "disconnected"), ==, 0);
  }
  ts_livelock_finding f[4];
  TS_CHECK_INT(ts_livelock_find(d, f, 4), ==, 2);
  TS_CHECK_STR(f[0].subject, "download");
  TS_CHECK_INT(f[0].repeats, ==, 6);
  TS_CHECK_STR(f[1].subject, "session");
  TS_CHECK_STR(f[1].cycle, "connecting → killed: watchdog → disconnected → connecting");
  TS_CHECK_INT(f[1].repeats, ==, 3);
  /* Room for one: the strongest. */
  TS_CHECK_INT(ts_livelock_find(d, f, 1), ==, 1);
  TS_CHECK_STR(f[0].subject, "download");
  ts_livelock_destroy(d);
}

TS_TEST(the_ring_forgets_the_oldest_entries) {
  ts_livelock *d = detector(6, 8);
  TS_CHECK(d);
  for (int r = 0; r < 3; r++) TS_CHECK_INT(watchdog_round(d, r * 70 * S), ==, 0);
  ts_livelock_finding f;
  TS_CHECK_INT(ts_livelock_find(d, &f, 1), ==, 0); /* two rounds kept */
  TS_CHECK_INT(watchdog_round(d, 210 * S), ==, 0);  /* still two (six entries) */
  TS_CHECK_INT(ts_livelock_find(d, &f, 1), ==, 0);
  TS_CHECK_INT(ts_livelock_set_min_repeats(d, 2), ==, 0);
  TS_CHECK_INT(ts_livelock_find(d, &f, 1), ==, 1);
  TS_CHECK_INT(f.first, ==, 140 * S);
  ts_livelock_destroy(d);
}

TS_TEST(time_going_back_a_full_label_table_and_bad_labels_are_errors) {
  ts_livelock *d = detector(8, 2);
  TS_CHECK(d);
  TS_CHECK_INT(ts_livelock_observe(d, 5 * S, NULL, "a"), ==, 0);
  TS_CHECK_INT(ts_livelock_observe(d, 4 * S, NULL, "a"), ==, TS_EINVAL);
  TS_CHECK_INT(ts_livelock_progress(d, 4 * S), ==, TS_EINVAL);
  TS_CHECK_INT(ts_livelock_observe(d, 5 * S, NULL, "b"), ==, 0);
  TS_CHECK_INT(ts_livelock_observe(d, 6 * S, NULL, "c"), ==, TS_EFULL);
  TS_CHECK_INT(ts_livelock_observe(d, 6 * S, NULL, ""), ==, TS_EINVAL);
  TS_CHECK_INT(ts_livelock_observe(d, 6 * S, NULL, NULL), ==, TS_EINVAL);
  ts_livelock_destroy(d);
  TS_CHECK_INT(ts_livelock_create(0, 2, &d), ==, TS_EINVAL);
}

TS_TEST(reset_forgets_entries_and_labels_and_the_detector_is_reused) {
  ts_livelock *d = detector(16, 4);
  TS_CHECK(d);
  for (int round = 0; round < 3; round++) {
    /* Each round uses other labels: the table must be free again after reset. */
    const char *a = round == 1 ? "x" : "a", *b = round == 1 ? "y" : "b";
    for (int i = 0; i < 6; i++) TS_CHECK_INT(ts_livelock_observe(d, i * S, "s", i % 2 ? b : a), ==, 0);
    ts_livelock_finding f;
    TS_CHECK_INT(ts_livelock_find(d, &f, 1), ==, 1);
    TS_CHECK_INT(f.repeats, ==, 3);
    TS_CHECK_STR(f.subject, "s");
    ts_livelock_reset(d);
    TS_CHECK_INT(ts_livelock_find(d, &f, 1), ==, 0);
  }
  ts_livelock_destroy(d);
}
