#include "ts_eventq.h"

#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "ts_error.h"

/* A heap entry's tag is (sequence << SLOT_BITS) | slot, so comparing tags compares
 * insertion order and the entry still names its slot. */
#define SLOT_BITS 24
#define SLOT_MASK ((1u << SLOT_BITS) - 1)
#define MAX_SLOTS (1u << SLOT_BITS)
#define SEQ_LIMIT (UINT64_C(1) << (64 - SLOT_BITS))
#define ARITY 4
#define NO_SLOT UINT32_MAX

/* (time << 64 | tag) as one unsigned 128-bit key: one compare orders by time then
 * by insertion, and compiles to branch-free code (times are never negative). */
typedef unsigned __int128 heap_key;

struct heap_entry {
  heap_key key;
};

static inline ts_time entry_time(const struct heap_entry *e) { return (ts_time)(uint64_t)(e->key >> 64); }
static inline uint64_t entry_tag(const struct heap_entry *e) { return (uint64_t)e->key; }
static inline struct heap_entry make_entry(ts_time t, uint64_t tag) {
  return (struct heap_entry){((heap_key)(uint64_t)t << 64) | tag};
}

struct event_slot {
  ts_event_fn fn; /* NULL once cancelled or free */
  void *obj;
  uint64_t arg;
  uint32_t gen;       /* bumped when the slot's event ends, so stale ids miss */
  uint32_t next_free; /* free-list link while the slot is free */
};

struct ts_eventq {
  struct heap_entry *heap;
  uint32_t size, cap;
  struct event_slot *slots;
  uint32_t slot_count, slot_cap, free_head;
  uint32_t cancelled; /* cancelled entries still in the heap */
  uint64_t seq;
  ts_time now;
  uint64_t events_run;
  bool top_consumed; /* the running event's entry is still heap[0] */
  bool running, stop;
};

static inline bool entry_before(const struct heap_entry *a, const struct heap_entry *b) {
  return a->key < b->key;
}

static void sift_up(struct heap_entry *h, uint32_t i) {
  struct heap_entry e = h[i];
  while (i > 0) {
    uint32_t parent = (i - 1) / ARITY;
    if (!entry_before(&e, &h[parent])) break;
    h[i] = h[parent];
    i = parent;
  }
  h[i] = e;
}

static void sift_down(struct heap_entry *h, uint32_t size, uint32_t i) {
  struct heap_entry e = h[i];
  for (;;) {
    uint32_t first = i * ARITY + 1;
    if (first >= size) break;
    uint32_t best = first;
    if (first + ARITY <= size) {
      /* Full group of children: a tournament, written so it compiles to cmov. */
      uint32_t a = h[first + 1].key < h[first].key ? first + 1 : first;
      uint32_t b = h[first + 3].key < h[first + 2].key ? first + 3 : first + 2;
      best = h[b].key < h[a].key ? b : a;
    } else {
      for (uint32_t c = first + 1; c < size; c++)
        if (entry_before(&h[c], &h[best])) best = c;
    }
    if (!entry_before(&h[best], &e)) break;
    h[i] = h[best];
    i = best;
  }
  h[i] = e;
}

int ts_eventq_create(ts_eventq **out) {
  ts_eventq *q = calloc(1, sizeof *q);
  if (!q) return TS_ENOMEM;
  q->free_head = NO_SLOT;
  *out = q;
  return TS_OK;
}

void ts_eventq_destroy(ts_eventq *q) {
  if (!q) return;
  free(q->heap);
  free(q->slots);
  free(q);
}

void ts_eventq_reset(ts_eventq *q) {
  q->size = 0;
  q->slot_count = 0;
  q->free_head = NO_SLOT;
  q->cancelled = 0;
  q->seq = 0;
  q->now = 0;
  q->events_run = 0;
  q->top_consumed = false;
  q->running = false;
  q->stop = false;
}

static void free_slot(ts_eventq *q, uint32_t s) {
  struct event_slot *slot = &q->slots[s];
  slot->fn = NULL;
  slot->gen++;
  slot->next_free = q->free_head;
  q->free_head = s;
}

static int alloc_slot(ts_eventq *q, uint32_t *out) {
  if (q->free_head != NO_SLOT) {
    *out = q->free_head;
    q->free_head = q->slots[*out].next_free;
    return TS_OK;
  }
  if (q->slot_count == q->slot_cap) {
    if (q->slot_cap == MAX_SLOTS) return TS_EFULL;
    uint32_t ncap = q->slot_cap ? q->slot_cap * 2 : 256;
    if (ncap > MAX_SLOTS) ncap = MAX_SLOTS;
    struct event_slot *ns = realloc(q->slots, (size_t)ncap * sizeof *ns);
    if (!ns) return TS_ENOMEM;
    q->slots = ns;
    q->slot_cap = ncap;
  }
  *out = q->slot_count++;
  q->slots[*out].gen = 1;
  return TS_OK;
}

static int grow_heap(ts_eventq *q) {
  uint32_t ncap = q->cap ? q->cap * 2 : 256;
  struct heap_entry *nh = realloc(q->heap, (size_t)ncap * sizeof *nh);
  if (!nh) return TS_ENOMEM;
  q->heap = nh;
  q->cap = ncap;
  return TS_OK;
}

/* Remove the entry of the event that just ran, if its handler did not replace it. */
static void settle_top(ts_eventq *q) {
  if (!q->top_consumed) return;
  q->top_consumed = false;
  q->size--;
  if (q->size > 0) {
    q->heap[0] = q->heap[q->size];
    sift_down(q->heap, q->size, 0);
  }
}

static int cmp_entries(const void *a, const void *b) {
  const struct heap_entry *x = a, *y = b;
  return entry_before(x, y) ? -1 : entry_before(y, x) ? 1 : 0;
}

/* Drop cancelled entries and, when asked, renumber sequences from zero in the
 * current order, so a queue that lives long never runs out of sequence numbers. */
static void rebuild(ts_eventq *q, bool renumber) {
  settle_top(q);
  uint32_t kept = 0;
  for (uint32_t i = 0; i < q->size; i++) {
    uint32_t s = (uint32_t)(entry_tag(&q->heap[i]) & SLOT_MASK);
    if (q->slots[s].fn) q->heap[kept++] = q->heap[i];
    else free_slot(q, s);
  }
  q->size = kept;
  q->cancelled = 0;
  if (renumber) {
    qsort(q->heap, q->size, sizeof *q->heap, cmp_entries);
    for (uint32_t i = 0; i < q->size; i++)
      q->heap[i] = make_entry(entry_time(&q->heap[i]),
                              ((uint64_t)i << SLOT_BITS) | (entry_tag(&q->heap[i]) & SLOT_MASK));
    q->seq = q->size;
    return; /* a sorted array is a valid heap */
  }
  for (uint32_t i = q->size; i-- > 0;) sift_down(q->heap, q->size, i);
}

int ts_eventq_schedule(ts_eventq *q, ts_time at, ts_event_fn fn, void *obj, uint64_t arg,
                       ts_event_id *id) {
  if (!fn || at < q->now) return TS_EINVAL;
  if (q->seq == SEQ_LIMIT) rebuild(q, true);
  if (!q->top_consumed && q->size == q->cap) {
    int rc = grow_heap(q);
    if (rc) return rc;
  }
  uint32_t s;
  int rc = alloc_slot(q, &s);
  if (rc) return rc;
  struct event_slot *slot = &q->slots[s];
  slot->fn = fn;
  slot->obj = obj;
  slot->arg = arg;
  struct heap_entry e = make_entry(at, (q->seq++ << SLOT_BITS) | s);
  if (q->top_consumed) {
    q->top_consumed = false;
    q->heap[0] = e;
    sift_down(q->heap, q->size, 0);
  } else {
    q->heap[q->size] = e;
    sift_up(q->heap, q->size++);
  }
  if (id) *id = ((uint64_t)slot->gen << 32) | s;
  return TS_OK;
}

int ts_eventq_cancel(ts_eventq *q, ts_event_id id) {
  uint32_t s = (uint32_t)id, gen = (uint32_t)(id >> 32);
  if (s >= q->slot_count) return TS_ENOENT;
  struct event_slot *slot = &q->slots[s];
  if (slot->gen != gen || !slot->fn) return TS_ENOENT;
  slot->fn = NULL;
  slot->gen++; /* the id is dead now; the slot is freed when its entry leaves the heap */
  q->cancelled++;
  if (q->cancelled > 64 && q->cancelled * 2 > q->size && !q->running) rebuild(q, false);
  return TS_OK;
}

int ts_eventq_run_until(ts_eventq *q, ts_time until) {
  if (q->running) return TS_ESTATE;
  q->running = true;
  q->stop = false;
  while (q->size > 0) {
    struct heap_entry top = q->heap[0];
    if (entry_time(&top) > until) break;
    uint32_t s = (uint32_t)(entry_tag(&top) & SLOT_MASK);
    struct event_slot *slot = &q->slots[s];
    q->top_consumed = true;
    if (!slot->fn) { /* cancelled */
      q->cancelled--;
      settle_top(q);
      slot->next_free = q->free_head;
      q->free_head = s;
      continue;
    }
    ts_event_fn fn = slot->fn;
    void *obj = slot->obj;
    uint64_t arg = slot->arg;
    free_slot(q, s);
    q->now = entry_time(&top);
    q->events_run++;
    fn(obj, arg);
    settle_top(q);
    if (q->stop) break;
  }
  q->running = false;
  if (!q->stop && q->now < until) q->now = until;
  if (q->cancelled > 64 && q->cancelled * 2 > q->size) rebuild(q, false);
  return TS_OK;
}

void ts_eventq_stop(ts_eventq *q) { q->stop = true; }
ts_time ts_eventq_now(const ts_eventq *q) { return q->now; }
uint64_t ts_eventq_events_run(const ts_eventq *q) { return q->events_run; }
uint32_t ts_eventq_pending(const ts_eventq *q) {
  return q->size - q->cancelled - (q->top_consumed ? 1 : 0);
}

ts_time ts_eventq_next_time(ts_eventq *q) {
  if (!q->running) {
    while (q->size > 0) {
      uint32_t s = (uint32_t)(entry_tag(&q->heap[0]) & SLOT_MASK);
      if (q->slots[s].fn) return entry_time(&q->heap[0]);
      q->top_consumed = true;
      q->cancelled--;
      settle_top(q);
      q->slots[s].next_free = q->free_head;
      q->free_head = s;
    }
    return TS_TIME_NEVER;
  }
  /* Inside a handler the heap top may be the running event: scan is not needed for
   * correctness of callers so far, so report the earliest entry that is live. */
  ts_time best = TS_TIME_NEVER;
  for (uint32_t i = (q->top_consumed ? 1 : 0); i < q->size; i++) {
    uint32_t s = (uint32_t)(entry_tag(&q->heap[i]) & SLOT_MASK);
    if (q->slots[s].fn && entry_time(&q->heap[i]) < best) best = entry_time(&q->heap[i]);
  }
  return best;
}
