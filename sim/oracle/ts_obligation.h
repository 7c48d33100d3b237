/* Obligations with deadlines: what a run expects to have happened by a time ("tunnel
 * connected by 30 s", "monitor confirmed by 45 s", "download done by 300 s"). The run
 * marks each one met when it happens; at any time the oracle lists those whose
 * deadline has passed without them, and the run explains each miss with a waits-for
 * chain (ts_explain.h). Capacity is fixed at create. */
#ifndef TS_OBLIGATION_H
#define TS_OBLIGATION_H

#include <stdbool.h>
#include <stddef.h>

#include "ts_error.h"
#include "ts_time.h"

#define TS_OBLIGATION_NAME 64 /* with its NUL */

typedef struct ts_obligation {
  char name[TS_OBLIGATION_NAME];
  ts_time deadline; /* met at or before it: kept */
  ts_time met;      /* the first time it was met; TS_TIME_NEVER while not */
} ts_obligation;

typedef struct ts_obligations ts_obligations;

int ts_obligations_create(size_t capacity, ts_obligations **out);
void ts_obligations_destroy(ts_obligations *o);
/* Forgets every obligation; the capacity stays. */
void ts_obligations_reset(ts_obligations *o);

/* TS_EINVAL for an empty or too long name, TS_EEXIST when the name is taken,
 * TS_EFULL when the table is full. */
int ts_obligations_add(ts_obligations *o, const char *name, ts_time deadline);
/* Met at t. A second call keeps the first time (the obligation was met then);
 * TS_ENOENT for an unknown name. */
int ts_obligations_meet(ts_obligations *o, const char *name, ts_time t);

size_t ts_obligations_count(const ts_obligations *o);
const ts_obligation *ts_obligations_get(const ts_obligations *o, size_t i); /* NULL past the end */
const ts_obligation *ts_obligations_find(const ts_obligations *o, const char *name);

/* Missed at `now`: the deadline has passed (now > deadline, since an obligation can
 * still be met at its deadline) and it was not met by then (never, or late). */
bool ts_obligation_is_missed(const ts_obligation *ob, ts_time now);

/* The missed obligations at `now`, in the order they were added: fills up to max
 * pointers and returns how many are missed in all. */
size_t ts_obligations_missed(const ts_obligations *o, ts_time now, const ts_obligation **out,
                             size_t max);

#endif
