/* index.c: receiver-index hash table (open addressing, linear probing). */
#include "index.h"

#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

static size_t slot_of(const wg_index_table *t, uint32_t id) {
  /* Indices are random already; a multiplicative mix guards against a poor RNG. */
  return (size_t)((id * UINT32_C(2654435761)) & (uint32_t)(t->cap - 1));
}

int wg_index_reserve(wg_index_table *t, size_t max_entries) {
  size_t want = 16;
  while (want < 4 * max_entries) want *= 2;
  if (want <= t->cap) return WG_OK;
  wg_index_entry *slots = calloc(want, sizeof *slots);
  if (!slots) return WG_ENOMEM;
  wg_index_table grown = {slots, want, 0};
  for (size_t i = 0; i < t->cap; i++) {
    if (t->slots[i].kind == WG_INDEX_FREE) continue;
    size_t j = slot_of(&grown, t->slots[i].id);
    while (grown.slots[j].kind != WG_INDEX_FREE) j = (j + 1) & (want - 1);
    grown.slots[j] = t->slots[i];
    grown.count++;
  }
  free(t->slots);
  *t = grown;
  return WG_OK;
}

void wg_index_free(wg_index_table *t) {
  free(t->slots);
  memset(t, 0, sizeof *t);
}

wg_index_entry *wg_index_lookup(wg_index_table *t, uint32_t id) {
  if (!t->cap) return NULL;
  for (size_t j = slot_of(t, id);; j = (j + 1) & (t->cap - 1)) {
    if (t->slots[j].kind == WG_INDEX_FREE) return NULL;
    if (t->slots[j].id == id) return &t->slots[j];
  }
}

uint32_t wg_index_insert_new(wg_index_table *t, wg_rng_fn rng, void *rng_ctx,
                             struct wg_peer *peer) {
  uint32_t id;
  for (;;) {
    uint8_t b[4];
    rng(rng_ctx, b, sizeof b);
    id = (uint32_t)b[0] | (uint32_t)b[1] << 8 | (uint32_t)b[2] << 16 | (uint32_t)b[3] << 24;
    if (!wg_index_lookup(t, id)) break;
  }
  size_t j = slot_of(t, id);
  while (t->slots[j].kind != WG_INDEX_FREE) j = (j + 1) & (t->cap - 1);
  t->slots[j] = (wg_index_entry){.id = id, .kind = WG_INDEX_HANDSHAKE, .peer = peer};
  t->count++;
  return id;
}

/* Backward-shift deletion keeps every probe chain unbroken without tombstones. */
void wg_index_remove(wg_index_table *t, uint32_t id) {
  wg_index_entry *e = wg_index_lookup(t, id);
  if (!e) return;
  size_t mask = t->cap - 1;
  size_t hole = (size_t)(e - t->slots);
  for (size_t j = (hole + 1) & mask; t->slots[j].kind != WG_INDEX_FREE; j = (j + 1) & mask) {
    size_t home = slot_of(t, t->slots[j].id);
    /* Move j into the hole unless its home lies cyclically in (hole, j]. */
    bool home_between = hole <= j ? (home > hole && home <= j) : (home > hole || home <= j);
    if (!home_between) {
      t->slots[hole] = t->slots[j];
      hole = j;
    }
  }
  memset(&t->slots[hole], 0, sizeof t->slots[hole]);
  t->count--;
}
