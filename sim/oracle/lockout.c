/* The lockout oracle. Consecutive alike observations merge into one run, so the kept
 * runs alternate between answered and failed; every query walks them in time order
 * (or back from its end time) and never looks at single packets. */
#include <stdlib.h>

#include "ts_lockout.h"

typedef struct run {
  ts_time first, last;
  uint64_t count;
  bool ok; /* answered */
} run;

struct ts_lockout {
  run *ring;
  size_t capacity, head, count; /* head: the oldest run */
  ts_time last_t;
};

static const char *const status_names[TS_LOCKOUT_STATUS_COUNT] = {
    [TS_LOCKOUT_NO_PROBE] = "no-probe",
    [TS_LOCKOUT_CONNECTED] = "connected",
    [TS_LOCKOUT_LOCKED] = "locked",
};

const char *ts_lockout_status_name(ts_lockout_status s) {
  return s >= 0 && s < TS_LOCKOUT_STATUS_COUNT ? status_names[s] : "?";
}

int ts_lockout_create(size_t capacity, ts_lockout **out) {
  if (!out || capacity == 0) return TS_EINVAL;
  ts_lockout *o = calloc(1, sizeof *o);
  if (!o) return TS_ENOMEM;
  o->ring = calloc(capacity, sizeof *o->ring);
  if (!o->ring) {
    free(o);
    return TS_ENOMEM;
  }
  o->capacity = capacity;
  ts_lockout_reset(o);
  *out = o;
  return TS_OK;
}

void ts_lockout_destroy(ts_lockout *o) {
  if (!o) return;
  free(o->ring);
  free(o);
}

void ts_lockout_reset(ts_lockout *o) {
  o->head = o->count = 0;
  o->last_t = INT64_MIN;
}

/* The i-th kept run, oldest first. */
static const run *nth(const ts_lockout *o, size_t i) {
  return &o->ring[(o->head + i) % o->capacity];
}

static int observe(ts_lockout *o, ts_time t, bool ok) {
  if (t < o->last_t) return TS_EINVAL;
  o->last_t = t;
  if (o->count > 0) {
    run *newest = &o->ring[(o->head + o->count - 1) % o->capacity];
    if (newest->ok == ok) {
      newest->last = t;
      newest->count++;
      return TS_OK;
    }
  }
  size_t at = (o->head + o->count) % o->capacity;
  if (o->count == o->capacity)
    o->head = (o->head + 1) % o->capacity; /* the oldest run makes room */
  else
    o->count++;
  o->ring[at] = (run){t, t, 1, ok};
  return TS_OK;
}

int ts_lockout_observe_success(ts_lockout *o, ts_time t) { return observe(o, t, true); }
int ts_lockout_observe_failure(ts_lockout *o, ts_time t) { return observe(o, t, false); }

/* How many kept runs began by `end` (runs are in time order). */
static size_t runs_by(const ts_lockout *o, ts_time end) {
  size_t hi = o->count;
  while (hi > 0 && nth(o, hi - 1)->first > end) hi--;
  return hi;
}

static ts_time min_time(ts_time a, ts_time b) { return a < b ? a : b; }

int ts_lockout_judge(const ts_lockout *o, ts_time heal_at, ts_time deadline, ts_time window,
                     ts_lockout_verdict *v) {
  if (heal_at > deadline || window <= 0) return TS_EINVAL;
  *v = (ts_lockout_verdict){TS_LOCKOUT_NO_PROBE, false, TS_TIME_NEVER, TS_TIME_NEVER, 0};
  size_t hi = runs_by(o, deadline), from = hi;
  while (from > 0 && !nth(o, from - 1)->ok) from--;
  if (from > 0) v->last_success = min_time(nth(o, from - 1)->last, deadline);
  ts_time last_failure = TS_TIME_NEVER;
  for (size_t i = from; i < hi; i++) { /* failures only: runs alternate */
    if (v->began == TS_TIME_NEVER) v->began = nth(o, i)->first;
    v->failures_since += nth(o, i)->count;
    last_failure = min_time(nth(o, i)->last, deadline);
  }
  if (v->last_success != TS_TIME_NEVER && v->last_success >= deadline - window)
    v->status = TS_LOCKOUT_CONNECTED;
  else if (last_failure != TS_TIME_NEVER && last_failure >= heal_at)
    v->status = TS_LOCKOUT_LOCKED;
  v->locked_out = v->status == TS_LOCKOUT_LOCKED;
  return TS_OK;
}

/* The first run of answers that reaches past t_action, among the first hi runs. */
static size_t first_answer_after(const ts_lockout *o, size_t hi, ts_time t_action) {
  for (size_t i = 0; i < hi; i++)
    if (nth(o, i)->ok && nth(o, i)->last > t_action) return i;
  return hi;
}

/* Spells of failures after run r (answered): each lasts from its first failure to
 * the next answer, or to horizon_end for the last one. */
static void count_relapses(const ts_lockout *o, size_t r, size_t hi, ts_time horizon_end,
                           ts_time window, ts_lockout_recovery *rec) {
  for (size_t i = r + 1; i < hi; i++) {
    if (nth(o, i)->ok) continue;
    ts_time end = i + 1 < hi ? nth(o, i + 1)->first : horizon_end;
    ts_time spell = end - nth(o, i)->first;
    if (spell < window) continue;
    rec->relapses++;
    if (spell > rec->longest_relapse) rec->longest_relapse = spell;
  }
}

int ts_lockout_after(const ts_lockout *o, ts_time t_action, ts_time horizon_end, ts_time window,
                     ts_lockout_recovery *rec) {
  if (t_action > horizon_end || window <= 0) return TS_EINVAL;
  *rec = (ts_lockout_recovery){false, TS_TIME_NEVER, TS_TIME_NEVER, 0, 0, false};
  size_t hi = runs_by(o, horizon_end), r = first_answer_after(o, hi, t_action);
  if (r < hi) {
    const run *ans = nth(o, r);
    rec->restored = true;
    rec->restored_at = ans->first > t_action ? ans->first : t_action;
    rec->time_to_restore = rec->restored_at - t_action;
    count_relapses(o, r, hi, horizon_end, window, rec);
  }
  ts_lockout_verdict v;
  ts_lockout_judge(o, t_action, horizon_end, window, &v);
  rec->ends_locked = v.locked_out;
  return TS_OK;
}
