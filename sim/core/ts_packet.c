#include "ts_packet.h"

#include <stdlib.h>
#include <string.h>

#include "ts_error.h"

struct ts_packet_pool {
  ts_packet *free_small;
  ts_packet *free_large;
  uint64_t outstanding;
};

int ts_packet_pool_create(ts_packet_pool **out) {
  *out = calloc(1, sizeof **out);
  return *out ? TS_OK : TS_ENOMEM;
}

static void free_list(ts_packet *p) {
  while (p) {
    ts_packet *n = p->next;
    free(p);
    p = n;
  }
}

void ts_packet_pool_destroy(ts_packet_pool *pool) {
  if (!pool) return;
  free_list(pool->free_small);
  free_list(pool->free_large);
  free(pool);
}

ts_packet *ts_packet_alloc(ts_packet_pool *pool, uint32_t len) {
  if (len > TS_PACKET_MAX) return NULL;
  int small = len <= TS_PACKET_SMALL;
  ts_packet **list = small ? &pool->free_small : &pool->free_large;
  ts_packet *p = *list;
  if (p) {
    *list = p->next;
  } else {
    uint32_t cap = TS_PACKET_HEADROOM + (small ? TS_PACKET_SMALL : TS_PACKET_MAX);
    /* Header and storage in one allocation. */
    p = malloc(sizeof *p + cap);
    if (!p) return NULL;
    p->buf = (uint8_t *)(p + 1);
    p->cap = cap;
  }
  p->data = p->buf + TS_PACKET_HEADROOM;
  p->len = len;
  p->next = NULL;
  p->flow = 0;
  pool->outstanding++;
  return p;
}

ts_packet *ts_packet_from(ts_packet_pool *pool, const void *data, uint32_t len) {
  ts_packet *p = ts_packet_alloc(pool, len);
  if (p && len) memcpy(p->data, data, len);
  return p;
}

ts_packet *ts_packet_clone(ts_packet_pool *pool, const ts_packet *src) {
  ts_packet *p = ts_packet_from(pool, src->data, src->len);
  if (p) p->flow = src->flow;
  return p;
}

void ts_packet_free(ts_packet_pool *pool, ts_packet *p) {
  if (!p) return;
  int small = p->cap == TS_PACKET_HEADROOM + TS_PACKET_SMALL;
  ts_packet **list = small ? &pool->free_small : &pool->free_large;
  p->next = *list;
  *list = p;
  pool->outstanding--;
}

uint64_t ts_packet_pool_outstanding(const ts_packet_pool *pool) { return pool->outstanding; }
