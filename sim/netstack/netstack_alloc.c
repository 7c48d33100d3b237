/* The per-instance allocator (netstack_internal.h): size classes carved from kept
 * chunks in release builds, plain tracked malloc under AddressSanitizer. */
#include <stdlib.h>
#include <string.h>

#include "netstack_internal.h"

#if defined(__SANITIZE_ADDRESS__)
#define TS_NSA_PLAIN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define TS_NSA_PLAIN 1
#endif
#endif
#ifndef TS_NSA_PLAIN
#define TS_NSA_PLAIN 0
#endif

#define TS_NSA_CHUNK (64u * 1024u)
#define TS_NSA_MIN_SHIFT 6 /* 64-byte blocks, header included */
#define TS_NSA_BIG 0xffu

/* 16 bytes in front of every block: keeps the payload 16-byte aligned. */
typedef struct ts_nsa_hdr {
  uint32_t cls;  /* size class, or TS_NSA_BIG */
  uint32_t size; /* bytes asked for (big blocks: for the byte count) */
  void *next;    /* free list link while free */
} ts_nsa_hdr;

struct ts_nsa_chunk {
  struct ts_nsa_chunk *next;
  uint64_t pad; /* keeps the blocks 16-byte aligned */
  unsigned char mem[TS_NSA_CHUNK];
};

struct ts_nsa_big {
  struct ts_nsa_big *prev, *next;
  ts_nsa_hdr hdr;
};

_Static_assert(sizeof(ts_nsa_hdr) == 16, "block header keeps 16-byte alignment");
_Static_assert(sizeof(struct ts_nsa_big) == 32, "big block header keeps 16-byte alignment");

static size_t class_size(unsigned cls) { return (size_t)1 << (cls + TS_NSA_MIN_SHIFT); }

void ts_nsa_init(ts_nsalloc *a) { memset(a, 0, sizeof *a); }

static void *big_alloc(ts_nsalloc *a, size_t size) {
  struct ts_nsa_big *b = malloc(sizeof *b + size);
  if (!b) return NULL;
  b->prev = NULL;
  b->next = a->big;
  if (a->big) a->big->prev = b;
  a->big = b;
  b->hdr.cls = TS_NSA_BIG;
  b->hdr.size = (uint32_t)size;
  b->hdr.next = NULL;
  return b + 1;
}

static void big_free(ts_nsalloc *a, ts_nsa_hdr *h) {
  struct ts_nsa_big *b = (struct ts_nsa_big *)((unsigned char *)h - offsetof(struct ts_nsa_big, hdr));
  if (b->prev) b->prev->next = b->next;
  else a->big = b->next;
  if (b->next) b->next->prev = b->prev;
  free(b);
}

void *ts_nsa_alloc(ts_nsalloc *a, size_t size) {
  if (size == 0) size = 1;
  if (size > TS_NSA_LIMIT || a->bytes + size > TS_NSA_LIMIT) {
    a->failures++;
    return NULL;
  }
  void *p = NULL;
  unsigned cls = 0;
  while (cls < TS_NSA_CLASSES && class_size(cls) - sizeof(ts_nsa_hdr) < size) cls++;
  if (TS_NSA_PLAIN || cls == TS_NSA_CLASSES) {
    p = big_alloc(a, size);
  } else if (a->free_list[cls]) {
    ts_nsa_hdr *h = a->free_list[cls];
    a->free_list[cls] = h->next;
    h->size = (uint32_t)size;
    p = h + 1;
  } else {
    size_t need = class_size(cls);
    if (!a->cur || a->cur_used + need > TS_NSA_CHUNK) {
      /* The next kept chunk, or a new one at the end of the list. */
      struct ts_nsa_chunk *c = a->cur ? a->cur->next : a->chunks;
      if (!c) {
        c = malloc(sizeof *c);
        if (c) {
          c->next = NULL;
          if (a->cur) a->cur->next = c;
          else a->chunks = c;
        }
      }
      if (c) {
        a->cur = c;
        a->cur_used = 0;
      }
    }
    if (a->cur && a->cur_used + need <= TS_NSA_CHUNK) {
      ts_nsa_hdr *h = (ts_nsa_hdr *)(a->cur->mem + a->cur_used);
      a->cur_used += need;
      h->cls = cls;
      h->size = (uint32_t)size;
      h->next = NULL;
      p = h + 1;
    }
  }
  if (!p) {
    a->failures++;
    return NULL;
  }
  a->bytes += size;
  if (a->bytes > a->peak) a->peak = a->bytes;
  return p;
}

void *ts_nsa_calloc(ts_nsalloc *a, size_t size) {
  void *p = ts_nsa_alloc(a, size);
  if (p) memset(p, 0, size);
  return p;
}

void ts_nsa_free(ts_nsalloc *a, void *p) {
  if (!p) return;
  ts_nsa_hdr *h = (ts_nsa_hdr *)p - 1;
  a->bytes -= h->size;
  if (h->cls == TS_NSA_BIG) {
    big_free(a, h);
    return;
  }
  h->next = a->free_list[h->cls];
  a->free_list[h->cls] = h;
}

static void free_big(ts_nsalloc *a) {
  while (a->big) {
    struct ts_nsa_big *b = a->big;
    a->big = b->next;
    free(b);
  }
}

void ts_nsa_reset(ts_nsalloc *a) {
  free_big(a);
  memset(a->free_list, 0, sizeof a->free_list);
  a->cur = NULL;
  a->cur_used = 0;
  a->bytes = 0;
}

void ts_nsa_destroy(ts_nsalloc *a) {
  free_big(a);
  while (a->chunks) {
    struct ts_nsa_chunk *c = a->chunks;
    a->chunks = c->next;
    free(c);
  }
  memset(a, 0, sizeof *a);
}
