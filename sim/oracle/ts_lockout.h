/* The lockout oracle: can the device's apps reach the internet? It is fed answers
 * (an app got a reply from the internet) and failures (an app's packet was dropped or
 * went unanswered) and judges a run that has a fault phase and then a heal phase
 * [heal_at, deadline] with no faults and a good network: if the apps still get no
 * answer at the end, the device is locked out (GT-06: only a reboot helps).
 *
 * It also measures recovery after an action (reboot, VPN toggle, cancel download):
 * whether and when answers came back, and how often they were lost again (GT-06's
 * reboot recovers, then the App Store retries and the lockout returns).
 *
 * Observations are kept as runs of alike answers (first time, last time, count) in a
 * ring of fixed capacity, so a lockout of an hour is one run, not thousands of
 * entries; only flapping uses up the ring (the oldest runs are forgotten). Within a
 * run there was no answer of the other kind, so the apps are taken to have been in
 * that state throughout its span. */
#ifndef TS_LOCKOUT_H
#define TS_LOCKOUT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "ts_error.h"
#include "ts_time.h"

typedef enum ts_lockout_status {
  TS_LOCKOUT_NO_PROBE = 0, /* no evidence: the apps did not try in the heal phase, or
                            * their last try was answered and they went quiet */
  TS_LOCKOUT_CONNECTED,    /* an answer in [deadline - window, deadline] */
  TS_LOCKOUT_LOCKED,       /* no answer in the window, and failures since the last one
                            * that reach into the heal phase */
  TS_LOCKOUT_STATUS_COUNT
} ts_lockout_status;

typedef struct ts_lockout_verdict {
  ts_lockout_status status;
  bool locked_out;         /* status == TS_LOCKOUT_LOCKED */
  ts_time began;           /* the first failure after the last answer (the first failure
                            * when never answered); TS_TIME_NEVER when none */
  ts_time last_success;    /* the last answer by the deadline; TS_TIME_NEVER when none */
  uint64_t failures_since; /* failures from `began` to the deadline */
} ts_lockout_verdict;

typedef struct ts_lockout_recovery {
  bool restored;           /* an answer after the action, by horizon_end */
  ts_time restored_at;     /* the first answer after it (the action's own time when the
                            * apps were answered across it); TS_TIME_NEVER when none */
  ts_time time_to_restore; /* restored_at - t_action; TS_TIME_NEVER when not restored */
  unsigned relapses;       /* after restored_at: spells from a failure to the next answer
                            * (or horizon_end) of at least `window` */
  ts_time longest_relapse; /* the longest such spell (0 when none) */
  bool ends_locked;        /* ts_lockout_judge at horizon_end (heal_at = t_action) says locked */
} ts_lockout_recovery;

typedef struct ts_lockout ts_lockout;

/* capacity: runs of alike answers kept. */
int ts_lockout_create(size_t capacity, ts_lockout **out);
void ts_lockout_destroy(ts_lockout *o);
/* Forgets every observation; the capacity stays. */
void ts_lockout_reset(ts_lockout *o);

/* Times must not go back: TS_EINVAL. */
int ts_lockout_observe_success(ts_lockout *o, ts_time t);
int ts_lockout_observe_failure(ts_lockout *o, ts_time t);

/* The verdict at `deadline` for a heal phase [heal_at, deadline]; TS_EINVAL when
 * heal_at > deadline or window <= 0. Observations after the deadline are ignored. */
int ts_lockout_judge(const ts_lockout *o, ts_time heal_at, ts_time deadline, ts_time window,
                     ts_lockout_verdict *v);
/* Recovery after an action at t_action, up to horizon_end; TS_EINVAL when
 * t_action > horizon_end or window <= 0. */
int ts_lockout_after(const ts_lockout *o, ts_time t_action, ts_time horizon_end, ts_time window,
                     ts_lockout_recovery *rec);

const char *ts_lockout_status_name(ts_lockout_status s); /* "no-probe", "connected", "locked" */

#endif
