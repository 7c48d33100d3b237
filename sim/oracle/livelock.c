/* Livelock detection. Observing only appends to a ring; the search runs when asked
 * (once at the end of a run), so its quadratic cost is paid once and never on the
 * simulation's hot path. For each subject the kept entries are laid out in order,
 * cut into segments at progress marks, and each segment is scanned once per period p
 * for maximal stretches where every entry equals the one p later: such a stretch of
 * length L holds L / p whole rounds of the cycle that starts it. */
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ts_livelock.h"

#define PROGRESS UINT16_MAX /* the label of a progress mark */
#define NO_SUBJECT UINT16_MAX

typedef struct entry {
  ts_time t;
  uint16_t subject, label;
} entry;

typedef struct label_name {
  char text[TS_LIVELOCK_LABEL];
} label_name;

struct ts_livelock {
  entry *ring;
  size_t capacity, head, count; /* head: the oldest entry */
  ts_time last_t;
  label_name *labels;
  size_t label_count, max_labels;
  size_t min_repeats;
  /* search scratch, capacity each: one subject's entries in order */
  uint16_t *seq;
  ts_time *times;
  unsigned char *is_subject; /* max_labels: which labels name a subject */
};

int ts_livelock_create(size_t capacity, size_t max_labels, ts_livelock **out) {
  if (!out || capacity == 0 || max_labels == 0 || max_labels >= NO_SUBJECT) return TS_EINVAL;
  ts_livelock *d = calloc(1, sizeof *d);
  if (!d) return TS_ENOMEM;
  d->capacity = capacity;
  d->max_labels = max_labels;
  d->min_repeats = TS_LIVELOCK_MIN_REPEATS;
  d->ring = calloc(capacity, sizeof *d->ring);
  d->labels = calloc(max_labels, sizeof *d->labels);
  d->seq = calloc(capacity, sizeof *d->seq);
  d->times = calloc(capacity, sizeof *d->times);
  d->is_subject = calloc(max_labels, 1);
  if (!d->ring || !d->labels || !d->seq || !d->times || !d->is_subject) {
    ts_livelock_destroy(d);
    return TS_ENOMEM;
  }
  ts_livelock_reset(d);
  *out = d;
  return TS_OK;
}

void ts_livelock_destroy(ts_livelock *d) {
  if (!d) return;
  free(d->ring);
  free(d->labels);
  free(d->seq);
  free(d->times);
  free(d->is_subject);
  free(d);
}

void ts_livelock_reset(ts_livelock *d) {
  d->head = d->count = 0;
  d->label_count = 0;
  d->last_t = INT64_MIN;
}

int ts_livelock_set_min_repeats(ts_livelock *d, size_t n) {
  if (n < 2) return TS_EINVAL;
  d->min_repeats = n;
  return TS_OK;
}

/* The label's index in the table, adding it when new. A run has a few dozen labels,
 * so a linear search costs less than keeping a hash table in step. */
static int intern(ts_livelock *d, const char *text, uint16_t *id) {
  for (size_t i = 0; i < d->label_count; i++) {
    if (!strcmp(d->labels[i].text, text)) {
      *id = (uint16_t)i;
      return TS_OK;
    }
  }
  if (d->label_count == d->max_labels) return TS_EFULL;
  snprintf(d->labels[d->label_count].text, TS_LIVELOCK_LABEL, "%s", text);
  *id = (uint16_t)d->label_count++;
  return TS_OK;
}

static int push(ts_livelock *d, ts_time t, uint16_t subject, uint16_t label) {
  if (t < d->last_t) return TS_EINVAL;
  d->last_t = t;
  size_t at = (d->head + d->count) % d->capacity;
  if (d->count == d->capacity)
    d->head = (d->head + 1) % d->capacity; /* the oldest entry makes room */
  else
    d->count++;
  d->ring[at] = (entry){t, subject, label};
  return TS_OK;
}

int ts_livelock_observe(ts_livelock *d, ts_time t, const char *subject, const char *label) {
  if (!label || !label[0] || strlen(label) >= TS_LIVELOCK_LABEL) return TS_EINVAL;
  if (subject && strlen(subject) >= TS_LIVELOCK_LABEL) return TS_EINVAL;
  if (t < d->last_t) return TS_EINVAL;
  uint16_t sid = NO_SUBJECT, lid;
  int rc = subject && subject[0] ? intern(d, subject, &sid) : TS_OK;
  if (!rc) rc = intern(d, label, &lid);
  return rc ? rc : push(d, t, sid, lid);
}

int ts_livelock_progress(ts_livelock *d, ts_time t) { return push(d, t, NO_SUBJECT, PROGRESS); }

static const entry *nth(const ts_livelock *d, size_t i) {
  return &d->ring[(d->head + i) % d->capacity];
}

/* The entries of one subject, in order, with progress marks kept as PROGRESS. */
static size_t lay_out(ts_livelock *d, uint16_t subject) {
  size_t n = 0;
  for (size_t i = 0; i < d->count; i++) {
    const entry *e = nth(d, i);
    if (e->label != PROGRESS && e->subject != subject) continue;
    d->seq[n] = e->label;
    d->times[n++] = e->t;
  }
  return n;
}

/* A cycle that is itself a repetition (a b a b) is a longer name for a shorter one. */
static bool primitive(const uint16_t *s, size_t p) {
  for (size_t q = 1; q < p; q++) {
    if (p % q) continue;
    size_t i = 0;
    while (i + q < p && s[i] == s[i + q]) i++;
    if (i + q == p) return false;
  }
  return true;
}

/* Stronger: more repeats, then a shorter cycle, then earlier. */
static bool stronger(const ts_livelock_finding *a, const ts_livelock_finding *b) {
  if (a->repeats != b->repeats) return a->repeats > b->repeats;
  if (a->length != b->length) return a->length < b->length;
  return a->first < b->first;
}

/* Keeps out[0..*n) sorted strongest first and at most max long. */
static void rank(ts_livelock_finding *out, size_t max, size_t *n, const ts_livelock_finding *f) {
  size_t at = *n;
  while (at > 0 && stronger(f, &out[at - 1])) at--;
  if (at >= max) return;
  size_t keep = *n < max ? *n : max - 1;
  memmove(&out[at + 1], &out[at], (keep - at) * sizeof *out);
  out[at] = *f;
  if (*n < max) (*n)++;
}

/* "a → b → c → a"; cut at a label's boundary when it does not fit, so the text stays
 * whole words (and valid UTF-8). */
static void describe(const ts_livelock *d, const uint16_t *s, size_t p, char *buf, size_t n) {
  size_t used = 0;
  buf[0] = '\0';
  for (size_t i = 0; i <= p; i++) {
    int w = snprintf(buf + used, n - used, "%s%s", i ? " → " : "", d->labels[s[i % p]].text);
    if (w < 0 || (size_t)w >= n - used) {
      buf[used] = '\0';
      return;
    }
    used += (size_t)w;
  }
}

typedef struct search {
  ts_livelock_finding *out;
  size_t max, n;
  const char *subject;
} search;

/* The stretch [j, j + len) of the laid-out entries repeats with period p. */
static void report(ts_livelock *d, search *s, size_t j, size_t len, size_t p) {
  ts_livelock_finding f = {0};
  snprintf(f.subject, sizeof f.subject, "%s", s->subject);
  describe(d, &d->seq[j], p, f.cycle, sizeof f.cycle);
  f.length = p;
  f.repeats = len / p;
  f.first = d->times[j];
  f.last = d->times[j + len - 1];
  f.period = (d->times[j + (f.repeats - 1) * p] - d->times[j]) / (ts_time)(f.repeats - 1);
  rank(s->out, s->max, &s->n, &f);
}

/* Every maximal stretch of period p in the segment [a, b) (no progress inside). */
static void scan_period(ts_livelock *d, search *s, size_t a, size_t b, size_t p) {
  const uint16_t *q = d->seq;
  size_t j = a;
  while (j + p < b) {
    if (q[j] != q[j + p]) {
      j++;
      continue;
    }
    size_t k = j;
    while (k + p < b && q[k] == q[k + p]) k++;
    size_t len = k - j + p;
    if (len / p >= d->min_repeats && primitive(&q[j], p)) report(d, s, j, len, p);
    j = k + 1;
  }
}

static void scan_segment(ts_livelock *d, search *s, size_t a, size_t b) {
  for (size_t p = 1; p * d->min_repeats <= b - a; p++) scan_period(d, s, a, b, p);
}

static void scan_subject(ts_livelock *d, search *s, uint16_t subject) {
  size_t n = lay_out(d, subject), a = 0;
  for (size_t i = 0; i <= n; i++) {
    if (i < n && d->seq[i] != PROGRESS) continue;
    if (i > a) scan_segment(d, s, a, i);
    a = i + 1;
  }
}

size_t ts_livelock_find(ts_livelock *d, ts_livelock_finding *out, size_t max) {
  if (!out || max == 0) return 0;
  search s = {out, max, 0, ""};
  scan_subject(d, &s, NO_SUBJECT);
  memset(d->is_subject, 0, d->label_count);
  for (size_t i = 0; i < d->count; i++)
    if (nth(d, i)->subject != NO_SUBJECT) d->is_subject[nth(d, i)->subject] = 1;
  for (size_t sub = 0; sub < d->label_count; sub++) {
    if (!d->is_subject[sub]) continue;
    s.subject = d->labels[sub].text;
    scan_subject(d, &s, (uint16_t)sub);
  }
  return s.n;
}
