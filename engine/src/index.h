/* index.h: the receiver-index table. Every handshake and keypair owns a random
 * 32-bit index, unique within the device, by which incoming messages find it. */
#ifndef TSENGINE_INDEX_H
#define TSENGINE_INDEX_H

#include <stddef.h>
#include <stdint.h>

#include "wg.h"

struct wg_peer;
struct wg_keypair;

typedef enum wg_index_kind { WG_INDEX_FREE = 0, WG_INDEX_HANDSHAKE, WG_INDEX_KEYPAIR } wg_index_kind;

typedef struct wg_index_entry {
  uint32_t id;
  uint8_t kind;                /* wg_index_kind */
  struct wg_peer *peer;
  struct wg_keypair *keypair;  /* WG_INDEX_KEYPAIR only */
} wg_index_entry;

/* Open addressing with linear probing and backward-shift deletion; capacity is a
 * power of two kept at least 4x the worst-case entry count (4 per peer), so the
 * hot path never allocates. */
typedef struct wg_index_table {
  wg_index_entry *slots;
  size_t cap, count;
} wg_index_table;

int wg_index_reserve(wg_index_table *t, size_t max_entries);
void wg_index_free(wg_index_table *t);
/* Picks a fresh random index not in use and inserts it. */
uint32_t wg_index_insert_new(wg_index_table *t, wg_rng_fn rng, void *rng_ctx,
                             struct wg_peer *peer);
wg_index_entry *wg_index_lookup(wg_index_table *t, uint32_t id);
void wg_index_remove(wg_index_table *t, uint32_t id);

#endif
