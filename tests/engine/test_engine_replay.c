/* The replay window against the sequence used by Linux selftest/counter.c and
 * wireguard-go replay_test.go (window 8128), plus full-window sweeps. */
#include "replay.h"
#include "tstest.h"
#include "wg.h"

#define WINDOW WG_REPLAY_WINDOW
#define T_LIM (WINDOW + 1)
#define REJ WG_REJECT_AFTER_MESSAGES

static wg_replay r;
static int step;

#define T(ctr, expect)                                                          \
  do {                                                                          \
    step++;                                                                     \
    bool got_ = wg_replay_check(&r, (uint64_t)(ctr), REJ);                      \
    if (got_ != (expect)) {                                                     \
      ts_test_fail(__FILE__, __LINE__, "step %d counter %llu: got %d want %d", step, \
                   (unsigned long long)(ctr), got_, (expect));                  \
      return;                                                                   \
    }                                                                           \
  } while (0)

TS_TEST(window_size_is_8128) { TS_CHECK_INT(WINDOW, ==, 8128); }

TS_TEST(linux_and_go_sequence) {
  wg_replay_reset(&r);
  step = 0;
  T(0, true);
  T(1, true);
  T(1, false);
  T(9, true);
  T(8, true);
  T(7, true);
  T(7, false);
  T(T_LIM, true);
  T(T_LIM - 1, true);
  T(T_LIM - 1, false);
  T(T_LIM - 2, true);
  T(2, true);
  T(2, false);
  T(T_LIM + 16, true);
  T(3, false);
  T(T_LIM + 16, false);
  T(T_LIM * 4, true);
  T(T_LIM * 4 - (T_LIM - 1), true);
  T(10, false);
  T(T_LIM * 4 - T_LIM, false);
  T(T_LIM * 4 - (T_LIM + 1), false);
  T(T_LIM * 4 - (T_LIM - 2), true);
  T(T_LIM * 4 + 1 - T_LIM, false);
  T(0, false);
  T(REJ, false);
  T(REJ - 1, true);
  T(REJ, false);
  T(REJ - 1, false);
  T(REJ - 2, true);
  T(REJ + 1, false);
  T(REJ + 2, false);
  T(REJ - 2, false);
  T(REJ - 3, true);
  T(0, false);
}

TS_TEST(full_window_sweeps) {
  uint64_t i;
  step = 0;
  /* 1..WINDOW, then 0 is exactly WINDOW behind: still accepted, once. */
  wg_replay_reset(&r);
  for (i = 1; i <= WINDOW; i++) T(i, true);
  T(0, true);
  T(0, false);
  /* 2..WINDOW+1: 1 is at the edge, 0 just beyond it. */
  wg_replay_reset(&r);
  for (i = 2; i <= WINDOW + 1; i++) T(i, true);
  T(1, true);
  T(0, false);
  /* Descending from WINDOW to 0: all within the window. */
  wg_replay_reset(&r);
  for (i = WINDOW + 1; i-- > 0;) T(i, true);
  /* Descending from WINDOW+1 to 1, then 0 is one too old. */
  wg_replay_reset(&r);
  for (i = WINDOW + 2; i-- > 1;) T(i, true);
  T(0, false);
  /* Descending from WINDOW to 1, then WINDOW+1 moves the window: 0 still fits. */
  wg_replay_reset(&r);
  for (i = WINDOW + 1; i-- > 1;) T(i, true);
  T(WINDOW + 1, true);
  T(0, false);
  /* Descending from WINDOW to 1, then 0 and WINDOW+1 both accepted. */
  wg_replay_reset(&r);
  for (i = WINDOW + 1; i-- > 1;) T(i, true);
  T(0, true);
  T(WINDOW + 1, true);
}

TS_TEST(large_jump_clears_whole_ring) {
  wg_replay_reset(&r);
  step = 0;
  for (uint64_t i = 0; i < 200; i++) T(i, true);
  T(UINT64_C(1) << 40, true);
  /* Everything before the jump is far outside the window now. */
  T(199, false);
  T((UINT64_C(1) << 40) - 1, true);
  T((UINT64_C(1) << 40) - WINDOW, true);
  T((UINT64_C(1) << 40) - WINDOW - 1, false);
}
