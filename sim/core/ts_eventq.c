/* The event queue: a calendar of buckets with a near heap and a far heap, over a
 * pool of event slots.
 *
 * Time is cut into buckets of 2^shift ns; `cur` is the number of the bucket being
 * run. Every queued entry lives in exactly one of three places, chosen by its bucket
 * number b = time >> shift alone:
 *
 *   b <= cur               the near heap: a 4-ary min-heap of (time, tag) keys
 *   cur < b < cur + nb     the ring: nb unsorted singly linked lists threaded
 *                          through the slots, one per bucket, plus a bitmap of the
 *                          non-empty ones
 *   b >= cur + nb          the far heap: a 4-ary min-heap, for far timers
 *
 * Scheduling into the ring is O(1): a push on a list. When the near heap is empty
 * the next non-empty bucket (found in the bitmap) becomes `cur`, far entries that
 * entered the window move to the ring, and the bucket's entries go to the near heap,
 * except that a bucket holding one entry (the usual case) runs it directly. Every
 * TUNE_EVENTS events the bucket width and the ring size are fitted to the observed
 * mean gap between events and to the number queued (the calendar-queue rule: about
 * one event per bucket, a window covering the pending set). A poorly fitted
 * calendar costs heap operations, never order.
 *
 * Keys are (time << 64 | seq << SLOT_BITS | slot) compared as one unsigned 128-bit
 * number, so equal times run in insertion order wherever their entries sit.
 * Cancelling is lazy: the slot is marked dead and dropped when the queue reaches its
 * entry, or by a purge once dead entries outnumber live ones. */
#include "ts_eventq.h"

#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "ts_error.h"
#include "ts_eventq_debug.h"

#define SLOT_BITS 24
#define SLOT_MASK ((1u << SLOT_BITS) - 1)
#define MAX_SLOTS (1u << SLOT_BITS)
#define SEQ_LIMIT (UINT64_C(1) << (64 - SLOT_BITS))
/* Sequences are renumbered from zero once this many are spent. The test is kept off
 * the schedule fast path: each sequence goes to an event that runs (every
 * TUNE_EVENTS runs a retune tests), is cancelled (cancel tests), or is still pending
 * (at most MAX_SLOTS); so fewer than 2^25 sequences go by between two tests, far
 * below the 2^32 of headroom. */
#define SEQ_RENUMBER (SEQ_LIMIT - (UINT64_C(1) << 32))
#define NO_SLOT UINT32_MAX
#define NO_BUCKET UINT64_MAX

#define MIN_RING 64u /* buckets; a power of two, at least one bitmap word */
#define MAX_RING (1u << 20)
#define INITIAL_SHIFT 10 /* 1.024 us buckets until the first retune */
#define MAX_SHIFT 56
#define TUNE_EVENTS 4096u /* a power of two: events run between two retunes */
#define PURGE_MIN 64u
#define JUMP_MAX 16u /* buckets `cur` may skip ahead when the queue is empty */

#ifndef TS_EVQ_WIDTH_LOG2
#define TS_EVQ_WIDTH_LOG2 (-1) /* bucket width = mean gap between events * 2^this */
#endif
#ifndef TS_EVQ_RING_PER_EVENT
#define TS_EVQ_RING_PER_EVENT 16 /* ring buckets per queued entry */
#endif

#define LIKELY(x) __builtin_expect(!!(x), 1)
#define UNLIKELY(x) __builtin_expect(!!(x), 0)
#define COLD __attribute__((noinline, cold))

typedef unsigned __int128 qkey;

static inline ts_time key_time(qkey k) { return (ts_time)(uint64_t)(k >> 64); }
static inline uint64_t key_tag(qkey k) { return (uint64_t)k; }
static inline uint32_t key_slot(qkey k) { return (uint32_t)k & SLOT_MASK; }
static inline qkey make_key(ts_time t, uint64_t tag) { return ((qkey)(uint64_t)t << 64) | tag; }

struct event_slot {
  ts_time time;
  uint64_t tag;   /* seq << SLOT_BITS | slot index */
  ts_event_fn fn; /* NULL while the entry is queued but cancelled */
  void *obj;
  uint64_t arg;
  uint32_t gen;  /* bumped when the slot's event ends (ran or cancelled) */
  uint32_t next; /* ring list link while queued; free-list link while free */
};

struct heap {
  qkey *k;
  uint32_t size;
};

struct ts_eventq {
  /* hot */
  struct event_slot *slots;
  uint32_t *ring;    /* list head (slot index) per bucket */
  uint64_t *bits;    /* bit set = ring bucket may be non-empty (exact after a drain) */
  uint64_t cur;      /* bucket being run */
  uint64_t far_b;    /* bucket of the far heap's top, NO_BUCKET when empty */
  uint32_t nb;       /* ring size, a power of two */
  uint32_t ring_n;   /* entries in the ring */
  uint32_t free_head;
  unsigned shift;
  uint64_t seq;
  ts_time now;
  uint64_t events_run;
  struct heap near, far;
  bool running, stop;
  /* cold */
  uint32_t slot_count, slot_cap;
  uint32_t dead;      /* cancelled entries still queued */
  uint64_t cancels;   /* events cancelled since the last reset */
  uint64_t seq_base;  /* schedules since the last reset = seq_base + seq */
  ts_time tune_since;
};

/* ---- 4-ary heaps ------------------------------------------------------------ */

static inline void heap_push(struct heap *h, qkey e) {
  qkey *k = h->k;
  uint32_t i = h->size++;
  while (i > 0) {
    uint32_t parent = (i - 1) / 4;
    if (!(e < k[parent])) break;
    k[i] = k[parent];
    i = parent;
  }
  k[i] = e;
}

static inline void sift_down(qkey *k, uint32_t size, uint32_t i) {
  qkey e = k[i];
  for (;;) {
    uint32_t first = i * 4 + 1;
    if (first >= size) break;
    uint32_t best = first;
    if (first + 4 <= size) {
      uint32_t a = k[first + 1] < k[first] ? first + 1 : first;
      uint32_t b = k[first + 3] < k[first + 2] ? first + 3 : first + 2;
      best = k[b] < k[a] ? b : a;
    } else {
      for (uint32_t c = first + 1; c < size; c++)
        if (k[c] < k[best]) best = c;
    }
    if (!(k[best] < e)) break;
    k[i] = k[best];
    i = best;
  }
  k[i] = e;
}

static inline void heap_pop(struct heap *h) {
  if (--h->size > 0) {
    h->k[0] = h->k[h->size];
    sift_down(h->k, h->size, 0);
  }
}

/* ---- slots ------------------------------------------------------------------ */

/* The heaps get the slot pool's capacity, so moving an entry from one place to
 * another never allocates and never fails. */
static int grow_slots(ts_eventq *q) {
  if (q->slot_cap == MAX_SLOTS) return TS_EFULL;
  uint32_t ncap = q->slot_cap ? q->slot_cap * 2 : 256;
  if (ncap > MAX_SLOTS) ncap = MAX_SLOTS;
  struct event_slot *ns = realloc(q->slots, (size_t)ncap * sizeof *ns);
  if (!ns) return TS_ENOMEM;
  q->slots = ns;
  qkey *nn = realloc(q->near.k, (size_t)ncap * sizeof *nn);
  if (!nn) return TS_ENOMEM;
  q->near.k = nn;
  qkey *nf = realloc(q->far.k, (size_t)ncap * sizeof *nf);
  if (!nf) return TS_ENOMEM;
  q->far.k = nf;
  q->slot_cap = ncap;
  return TS_OK;
}

static inline void release_slot(ts_eventq *q, uint32_t s) {
  q->slots[s].next = q->free_head;
  q->free_head = s;
}

/* The entry of a cancelled event left the queue: its slot can be reused. */
static inline void drop_dead(ts_eventq *q, uint32_t s) {
  q->dead--;
  release_slot(q, s);
}

/* ---- the calendar ----------------------------------------------------------- */

static inline void far_top_changed(ts_eventq *q) {
  q->far_b = q->far.size ? (uint64_t)key_time(q->far.k[0]) >> q->shift : NO_BUCKET;
}

static inline void ring_push(ts_eventq *q, uint64_t b, uint32_t s) {
  uint32_t pos = (uint32_t)b & (q->nb - 1);
  q->slots[s].next = q->ring[pos];
  q->ring[pos] = s;
  q->bits[pos >> 6] |= UINT64_C(1) << (pos & 63);
  q->ring_n++;
}

/* Queue an entry whose slot already holds its time and tag. */
static void place(ts_eventq *q, uint32_t s) {
  struct event_slot *e = &q->slots[s];
  uint64_t b = (uint64_t)e->time >> q->shift;
  if (b <= q->cur) {
    heap_push(&q->near, make_key(e->time, e->tag));
  } else if (b - q->cur < q->nb) {
    ring_push(q, b, s);
  } else {
    heap_push(&q->far, make_key(e->time, e->tag));
    if (b < q->far_b) q->far_b = b;
  }
}

/* Far entries whose bucket entered the window [cur, cur + nb) move in. */
static COLD void migrate_far(ts_eventq *q) {
  while (q->far_b - q->cur < q->nb) {
    uint32_t s = key_slot(q->far.k[0]);
    heap_pop(&q->far);
    far_top_changed(q);
    if (!q->slots[s].fn) drop_dead(q, s);
    else place(q, s);
  }
}

/* Position of the first ring bucket after cur that the bitmap marks; ring_n > 0. */
static inline uint32_t ring_next_pos(const ts_eventq *q) {
  uint32_t mask = q->nb - 1;
  uint32_t pos = (uint32_t)(q->cur + 1) & mask;
  uint32_t w = pos >> 6;
  uint64_t bits = q->bits[w] & (~UINT64_C(0) << (pos & 63));
  while (!bits) {
    w = (w + 1) & (mask >> 6);
    bits = q->bits[w];
  }
  return (w << 6) | (uint32_t)__builtin_ctzll(bits);
}

static inline uint64_t pos_bucket(const ts_eventq *q, uint32_t pos) {
  return q->cur + ((pos - (uint32_t)q->cur) & (q->nb - 1));
}

/* Move the entries of an unlinked bucket list, from slot s on, to the near heap. */
static void drain_to_near(ts_eventq *q, uint32_t s) {
  struct event_slot *slots = q->slots;
  do {
    struct event_slot *e = &slots[s];
    uint32_t next = e->next;
    q->ring_n--;
    if (e->fn) heap_push(&q->near, make_key(e->time, e->tag));
    else drop_dead(q, s);
    s = next;
  } while (s != NO_SLOT);
}

static int cmp_keys(const void *a, const void *b) {
  qkey x = *(const qkey *)a, y = *(const qkey *)b;
  return x < y ? -1 : x > y;
}

static int ring_alloc(uint32_t nb, uint32_t **ring, uint64_t **bits) {
  *ring = malloc((size_t)nb * sizeof **ring);
  *bits = calloc(nb >> 6, sizeof **bits);
  if (!*ring || !*bits) {
    free(*ring);
    free(*bits);
    return TS_ENOMEM;
  }
  memset(*ring, 0xff, (size_t)nb * sizeof **ring);
  return TS_OK;
}

/* Gather every entry into the far array, drop the dead, optionally renumber the
 * sequences from zero (so a long-lived queue never runs out of them), and lay the
 * calendar out again in the given shape. Rare: retunes, purges, renumbering. */
static COLD void restructure(ts_eventq *q, unsigned shift, uint32_t nb, bool renumber) {
  for (uint32_t w = 0; q->ring_n > 0 && w < (q->nb >> 6); w++) {
    for (uint64_t bits = q->bits[w]; bits; bits &= bits - 1) {
      uint32_t pos = (w << 6) | (uint32_t)__builtin_ctzll(bits);
      for (uint32_t s = q->ring[pos]; s != NO_SLOT; s = q->slots[s].next) {
        q->far.k[q->far.size++] = make_key(q->slots[s].time, q->slots[s].tag);
        q->ring_n--;
      }
      q->ring[pos] = NO_SLOT;
    }
    q->bits[w] = 0;
  }
  if (nb != q->nb) {
    uint32_t *ring;
    uint64_t *bits;
    if (ring_alloc(nb, &ring, &bits) == TS_OK) {
      free(q->ring);
      free(q->bits);
      q->ring = ring;
      q->bits = bits;
      q->nb = nb;
    }
  }
  for (uint32_t i = 0; i < q->near.size; i++) q->far.k[q->far.size++] = q->near.k[i];
  q->near.size = 0;
  uint32_t kept = 0;
  for (uint32_t i = 0; i < q->far.size; i++) {
    uint32_t s = key_slot(q->far.k[i]);
    if (q->slots[s].fn) q->far.k[kept++] = q->far.k[i];
    else release_slot(q, s);
  }
  q->far.size = kept;
  q->dead = 0;
  /* A sorted array is a valid heap; the prefix inside the new window is peeled off. */
  qsort(q->far.k, q->far.size, sizeof *q->far.k, cmp_keys);
  if (renumber) {
    for (uint32_t i = 0; i < q->far.size; i++) {
      uint32_t s = key_slot(q->far.k[i]);
      uint64_t tag = ((uint64_t)i << SLOT_BITS) | s;
      q->slots[s].tag = tag;
      q->far.k[i] = make_key(key_time(q->far.k[i]), tag);
    }
    q->seq_base += q->seq - q->far.size;
    q->seq = q->far.size;
  }
  q->shift = shift;
  q->cur = (uint64_t)q->now >> shift;
  q->far_b = NO_BUCKET;
  uint32_t i = 0;
  for (; i < q->far.size; i++) {
    qkey k = q->far.k[i];
    if (((uint64_t)key_time(k) >> shift) - q->cur >= q->nb) break;
    place(q, key_slot(k));
  }
  memmove(q->far.k, q->far.k + i, (size_t)(q->far.size - i) * sizeof *q->far.k);
  q->far.size -= i;
  far_top_changed(q);
}

/* Drop the entries of cancelled events everywhere, in place: O(entries + nb/64),
 * no sorting. */
static void heap_purge(ts_eventq *q, struct heap *h) {
  uint32_t kept = 0;
  for (uint32_t i = 0; i < h->size; i++) {
    uint32_t s = key_slot(h->k[i]);
    if (q->slots[s].fn) h->k[kept++] = h->k[i];
    else release_slot(q, s);
  }
  h->size = kept;
  if (kept > 1)
    for (uint32_t i = (kept - 2) / 4 + 1; i-- > 0;) sift_down(h->k, kept, i);
}

static COLD void purge(ts_eventq *q) {
  heap_purge(q, &q->near);
  heap_purge(q, &q->far);
  far_top_changed(q);
  uint32_t words = q->nb >> 6;
  for (uint32_t w = 0; w < words; w++) {
    for (uint64_t bits = q->bits[w]; bits; bits &= bits - 1) {
      uint32_t pos = (w << 6) | (uint32_t)__builtin_ctzll(bits);
      uint32_t *link = &q->ring[pos];
      while (*link != NO_SLOT) {
        uint32_t s = *link;
        if (q->slots[s].fn) {
          link = &q->slots[s].next;
        } else {
          *link = q->slots[s].next;
          release_slot(q, s);
          q->ring_n--;
        }
      }
      if (q->ring[pos] == NO_SLOT) q->bits[w] &= ~(UINT64_C(1) << (pos & 63));
    }
  }
  q->dead = 0;
}

static unsigned log2_floor(uint64_t x) { return x ? 63u - (unsigned)__builtin_clzll(x) : 0u; }

static inline uint32_t live_count(const ts_eventq *q) {
  return (uint32_t)(q->seq_base + q->seq - q->events_run - q->cancels);
}

/* Every TUNE_EVENTS events: fit the width to the mean gap between events and the
 * ring to the number queued; reshape only when the shape is far off. */
static COLD void retune(ts_eventq *q) {
  uint64_t span = (uint64_t)(q->now - q->tune_since);
  q->tune_since = q->now;
  int lg = (int)log2_floor(span / TUNE_EVENTS) + TS_EVQ_WIDTH_LOG2;
  unsigned shift = lg < 0 ? 0u : (unsigned)lg;
  if (shift > MAX_SHIFT) shift = MAX_SHIFT;
  uint64_t want = ((uint64_t)live_count(q) + q->dead) * TS_EVQ_RING_PER_EVENT;
  uint32_t nb = MIN_RING;
  while (nb < MAX_RING && nb < want) nb <<= 1;
  bool shift_off = shift + 1 < q->shift || shift > q->shift + 1;
  bool nb_off = nb >= q->nb * 4 || nb * 4 <= q->nb;
  bool renumber = q->seq >= SEQ_RENUMBER;
  if (shift_off || nb_off || renumber) restructure(q, shift, nb, renumber);
}

/* ---- API -------------------------------------------------------------------- */

int ts_eventq_create(ts_eventq **out) {
  ts_eventq *q = calloc(1, sizeof *q);
  if (!q) return TS_ENOMEM;
  if (ring_alloc(MIN_RING, &q->ring, &q->bits) != TS_OK) {
    free(q);
    return TS_ENOMEM;
  }
  q->nb = MIN_RING;
  q->shift = INITIAL_SHIFT;
  q->free_head = NO_SLOT;
  q->far_b = NO_BUCKET;
  *out = q;
  return TS_OK;
}

void ts_eventq_destroy(ts_eventq *q) {
  if (!q) return;
  free(q->near.k);
  free(q->far.k);
  free(q->ring);
  free(q->bits);
  free(q->slots);
  free(q);
}

void ts_eventq_reset(ts_eventq *q) {
  memset(q->ring, 0xff, (size_t)q->nb * sizeof *q->ring);
  memset(q->bits, 0, (size_t)(q->nb >> 6) * sizeof *q->bits);
  q->ring_n = 0;
  q->near.size = 0;
  q->far.size = 0;
  q->far_b = NO_BUCKET;
  q->shift = INITIAL_SHIFT;
  q->cur = 0;
  /* Slots are kept, and every generation moves on, so ids from before stay stale. */
  q->free_head = NO_SLOT;
  for (uint32_t s = q->slot_count; s-- > 0;) {
    q->slots[s].fn = NULL;
    q->slots[s].gen++;
    release_slot(q, s);
  }
  q->dead = 0;
  q->cancels = 0;
  q->seq = 0;
  q->seq_base = 0;
  q->now = 0;
  q->events_run = 0;
  q->tune_since = 0;
  q->running = false;
  q->stop = false;
}

static COLD int schedule_slow(ts_eventq *q, ts_time at, ts_event_fn fn, void *obj,
                              uint64_t arg, ts_event_id *id) {
  if (!fn || at < q->now) return TS_EINVAL;
  if (q->seq >= SEQ_RENUMBER) restructure(q, q->shift, q->nb, true);
  uint32_t s = q->free_head;
  if (s != NO_SLOT) {
    q->free_head = q->slots[s].next;
  } else {
    if (q->slot_count == q->slot_cap) {
      int rc = grow_slots(q);
      if (rc) return rc;
    }
    s = q->slot_count++;
    q->slots[s].gen = 1;
  }
  struct event_slot *slot = &q->slots[s];
  slot->time = at;
  slot->tag = (q->seq++ << SLOT_BITS) | s;
  slot->fn = fn;
  slot->obj = obj;
  slot->arg = arg;
  place(q, s);
  if (id) *id = ((uint64_t)slot->gen << 32) | s;
  return TS_OK;
}

int ts_eventq_schedule(ts_eventq *q, ts_time at, ts_event_fn fn, void *obj, uint64_t arg,
                       ts_event_id *id) {
  uint32_t s = q->free_head;
  uint64_t seq = q->seq;
  /* The rare cases: no free slot, a bad argument. Sequence numbers are checked
   * where the queue pauses anyway (see SEQ_RENUMBER). */
  if (UNLIKELY(s == NO_SLOT || !fn || at < q->now))
    return schedule_slow(q, at, fn, obj, arg, id);
  struct event_slot *slot = &q->slots[s];
  q->free_head = slot->next;
  q->seq = seq + 1;
  slot->time = at;
  slot->tag = (seq << SLOT_BITS) | s;
  slot->fn = fn;
  slot->obj = obj;
  slot->arg = arg;
  uint64_t b = (uint64_t)at >> q->shift;
  uint64_t ahead = b - q->cur;
  if (UNLIKELY(q->ring_n == 0) && ahead - 1 < JUMP_MAX && (q->near.size | q->far.size) == 0) {
    /* The queue is empty and the event is close: move `cur` up to it, so that it
     * runs straight from the near heap (one pending event: a timer chain). */
    q->cur = b;
    q->near.k[0] = make_key(at, slot->tag);
    q->near.size = 1;
  } else if (LIKELY(ahead - 1 < (uint64_t)q->nb - 1)) { /* cur < b < cur + nb */
    ring_push(q, b, s);
  } else {
    place(q, s);
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
  slot->gen++; /* the id is dead now; the slot is freed when its entry is dropped */
  q->cancels++;
  q->dead++;
  if (UNLIKELY(q->seq >= SEQ_RENUMBER)) restructure(q, q->shift, q->nb, true);
  else if (q->dead > PURGE_MIN && q->dead > live_count(q)) purge(q);
  return TS_OK;
}

/* The ring is empty: jump to the far heap's first bucket if it starts by `until`. */
static COLD bool jump_far(ts_eventq *q, uint64_t until_b) {
  if (q->far_b > until_b) return false; /* also when the far heap is empty */
  q->cur = q->far_b;
  migrate_far(q);
  return true;
}

int ts_eventq_run_until(ts_eventq *q, ts_time until) {
  if (q->running) return TS_ESTATE;
  q->running = true;
  q->stop = false;
  if (until < 0) goto out; /* every event is at a time >= 0 */
  uint64_t until_b = (uint64_t)until >> q->shift;
  for (;;) {
    uint32_t s;
    ts_time t;
    if (q->near.size > 0) {
      qkey top = q->near.k[0];
      t = key_time(top);
      if (t > until) break;
      heap_pop(&q->near);
      s = key_slot(top);
    } else {
      if (UNLIKELY(q->ring_n == 0)) {
        if (!jump_far(q, until_b)) break;
        continue;
      }
      uint32_t pos = ring_next_pos(q);
      uint64_t b = pos_bucket(q, pos);
      if (b > until_b) break;
      q->cur = b;
      s = q->ring[pos];
      q->ring[pos] = NO_SLOT;
      q->bits[pos >> 6] &= ~(UINT64_C(1) << (pos & 63));
      if (UNLIKELY(q->far_b - b < q->nb)) migrate_far(q);
      struct event_slot *e = &q->slots[s];
      if (e->next != NO_SLOT) {
        drain_to_near(q, s);
        continue;
      }
      q->ring_n--;
      t = e->time;
      if (UNLIKELY(t > until)) { /* its bucket holds `until`: park it in the near heap */
        if (e->fn) heap_push(&q->near, make_key(t, e->tag));
        else drop_dead(q, s);
        break;
      }
    }
    struct event_slot *slot = &q->slots[s];
    ts_event_fn fn = slot->fn;
    if (UNLIKELY(!fn)) {
      drop_dead(q, s);
      continue;
    }
    void *obj = slot->obj;
    uint64_t arg = slot->arg;
    slot->gen++;
    release_slot(q, s);
    q->now = t;
    uint64_t n = ++q->events_run;
    fn(obj, arg);
    if (UNLIKELY((n & (TUNE_EVENTS - 1)) == 0)) {
      retune(q);
      until_b = (uint64_t)until >> q->shift;
    }
    if (q->stop) break;
  }
out:
  q->running = false;
  if (!q->stop && q->now < until) q->now = until;
  return TS_OK;
}

void ts_eventq_stop(ts_eventq *q) { q->stop = true; }
ts_time ts_eventq_now(const ts_eventq *q) { return q->now; }
uint64_t ts_eventq_events_run(const ts_eventq *q) { return q->events_run; }
uint32_t ts_eventq_pending(const ts_eventq *q) { return live_count(q); }

/* Does not move `cur` (a peek far ahead must not send later schedules to the near
 * heap); cancelled entries met on the way are dropped. */
ts_time ts_eventq_next_time(ts_eventq *q) {
  for (;;) {
    if (q->near.size > 0) {
      qkey k = q->near.k[0];
      uint32_t s = key_slot(k);
      if (q->slots[s].fn) return key_time(k);
      heap_pop(&q->near);
      drop_dead(q, s);
      continue;
    }
    if (q->ring_n > 0) {
      uint32_t pos = ring_next_pos(q);
      ts_time best = TS_TIME_NEVER;
      bool any = false;
      for (uint32_t s = q->ring[pos]; s != NO_SLOT; s = q->slots[s].next)
        if (q->slots[s].fn) {
          if (!any || q->slots[s].time < best) best = q->slots[s].time;
          any = true;
        }
      if (any) return best;
      /* Only cancelled entries in that bucket: drop them and look further. */
      for (uint32_t s = q->ring[pos], next; s != NO_SLOT; s = next) {
        next = q->slots[s].next;
        q->ring_n--;
        drop_dead(q, s);
      }
      q->ring[pos] = NO_SLOT;
      q->bits[pos >> 6] &= ~(UINT64_C(1) << (pos & 63));
      continue;
    }
    if (q->far.size > 0) {
      qkey k = q->far.k[0];
      uint32_t s = key_slot(k);
      if (q->slots[s].fn) return key_time(k);
      heap_pop(&q->far);
      far_top_changed(q);
      drop_dead(q, s);
      continue;
    }
    return TS_TIME_NEVER;
  }
}

/* ---- test hooks (ts_eventq_debug.h) ------------------------------------------ */

#define CHECK(c)                                                                   \
  do {                                                                             \
    if (!(c)) return __LINE__;                                                     \
  } while (0)

static int check_heap(const ts_eventq *q, const struct heap *h, bool far, uint32_t *dead,
                      uint32_t *live) {
  for (uint32_t i = 0; i < h->size; i++) {
    qkey k = h->k[i];
    uint32_t s = key_slot(k);
    CHECK(s < q->slot_count);
    const struct event_slot *e = &q->slots[s];
    CHECK(e->time == key_time(k) && e->tag == key_tag(k));
    uint64_t b = (uint64_t)e->time >> q->shift;
    if (far) CHECK(b - q->cur >= q->nb && b > q->cur);
    else CHECK(b <= q->cur);
    if (i > 0) CHECK(!(k < h->k[(i - 1) / 4]));
    if (e->fn) (*live)++;
    else (*dead)++;
  }
  return 0;
}

int ts_eventq_debug_check(const ts_eventq *q) {
  uint32_t dead = 0, live = 0, ring = 0;
  int rc = check_heap(q, &q->near, false, &dead, &live);
  if (rc) return rc;
  rc = check_heap(q, &q->far, true, &dead, &live);
  if (rc) return rc;
  CHECK(q->far_b == (q->far.size ? (uint64_t)key_time(q->far.k[0]) >> q->shift : NO_BUCKET));
  CHECK(q->nb >= MIN_RING && (q->nb & (q->nb - 1)) == 0);
  for (uint32_t pos = 0; pos < q->nb; pos++) {
    bool bit = (q->bits[pos >> 6] >> (pos & 63)) & 1;
    CHECK(bit == (q->ring[pos] != NO_SLOT));
    for (uint32_t s = q->ring[pos]; s != NO_SLOT; s = q->slots[s].next) {
      CHECK(s < q->slot_count);
      const struct event_slot *e = &q->slots[s];
      CHECK(key_slot(e->tag) == s);
      uint64_t b = (uint64_t)e->time >> q->shift;
      CHECK(b > q->cur && b - q->cur < q->nb && ((uint32_t)b & (q->nb - 1)) == pos);
      if (e->fn) live++;
      else dead++;
      CHECK(++ring <= q->slot_count);
    }
  }
  CHECK(ring == q->ring_n);
  CHECK(dead == q->dead);
  CHECK(live == live_count(q));
  uint32_t free_count = 0;
  for (uint32_t s = q->free_head; s != NO_SLOT; s = q->slots[s].next) {
    CHECK(s < q->slot_count);
    CHECK(++free_count <= q->slot_count);
  }
  CHECK(free_count + live + dead == q->slot_count);
  for (uint32_t i = 0; i < q->near.size + q->far.size; i++) {
    qkey k = i < q->near.size ? q->near.k[i] : q->far.k[i - q->near.size];
    CHECK(key_time(k) >= q->now);
  }
  return 0;
}

#undef CHECK

void ts_eventq_debug_spend_seq(ts_eventq *q, uint64_t used) {
  q->seq += used;
  q->seq_base -= used;
}

uint64_t ts_eventq_debug_seq_limit(void) { return SEQ_RENUMBER; }
uint64_t ts_eventq_debug_seq(const ts_eventq *q) { return q->seq; }
