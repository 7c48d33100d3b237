/* The livelock oracle: a run that keeps moving without getting anywhere. It is fed
 * state entries (time, label: "session connecting", "provider killed: watchdog",
 * "session disconnected", "download attempt failed", "launch refused") and progress
 * marks (an app got a reply from the internet, the tunnel stayed connected), and
 * finds the shortest cycle of labels that repeats back to back at least min_repeats
 * times with no progress mark among the repetitions: GT-21's connect/kill loop,
 * GT-22's watchdog restart loop, GT-09's connect/lost loop, GT-06's update retry.
 *
 * Entries may name a subject ("session", "download") so that loops of different
 * parts, whose entries interleave in time, are found apart; a progress mark breaks
 * every subject's loop. Entries live in a ring of fixed capacity (the oldest are
 * forgotten), labels and subjects in a fixed table: nothing allocates after create. */
#ifndef TS_LIVELOCK_H
#define TS_LIVELOCK_H

#include <stddef.h>

#include "ts_error.h"
#include "ts_time.h"

#define TS_LIVELOCK_LABEL 48      /* a label or subject, with its NUL */
#define TS_LIVELOCK_TEXT 320      /* a cycle in words, with its NUL (cut when longer) */
#define TS_LIVELOCK_MIN_REPEATS 3 /* the default */

typedef struct ts_livelock_finding {
  char subject[TS_LIVELOCK_LABEL]; /* "" for entries without a subject */
  char cycle[TS_LIVELOCK_TEXT];    /* "connecting → killed: watchdog → disconnected → connecting" */
  size_t length;                   /* labels in one round */
  size_t repeats;                  /* whole rounds back to back */
  ts_time period;                  /* mean time from one round's start to the next's */
  ts_time first, last;             /* the first round's first entry; the loop's last entry */
} ts_livelock_finding;

typedef struct ts_livelock ts_livelock;

/* capacity: entries and progress marks kept; max_labels: distinct labels and
 * subjects together. */
int ts_livelock_create(size_t capacity, size_t max_labels, ts_livelock **out);
void ts_livelock_destroy(ts_livelock *d);
/* Forgets entries, marks and labels; capacity and min_repeats stay. */
void ts_livelock_reset(ts_livelock *d);
/* At least 2 (one repetition is no loop); TS_EINVAL otherwise. */
int ts_livelock_set_min_repeats(ts_livelock *d, size_t n);

/* A state entry at t. subject NULL or "" for the unnamed stream. Times must not go
 * back (TS_EINVAL); TS_EINVAL for an empty or too long label; TS_EFULL when the label
 * table is full. */
int ts_livelock_observe(ts_livelock *d, ts_time t, const char *subject, const char *label);
/* Progress at t: no loop is counted across it. */
int ts_livelock_progress(ts_livelock *d, ts_time t);

/* The loops in the kept entries, strongest first (most repeats, then the shorter
 * cycle, then the earlier): fills up to max findings and returns how many it filled.
 * A loop is reported once, with its primitive cycle (never "a → b → a → b → a"). */
size_t ts_livelock_find(ts_livelock *d, ts_livelock_finding *out, size_t max);

#endif
