/* A small open-addressing hash map from strings to indices. The loader uses it to
 * look up names (nodes, links, apps, anchors) in constant time, so that a scenario
 * with many thousands of entries still loads in linear time. Keys are borrowed:
 * they must outlive the map. */
#ifndef TS_SCENARIO_STRMAP_H
#define TS_SCENARIO_STRMAP_H

#include <stdbool.h>
#include <stddef.h>

typedef struct ts_strmap_slot {
  const char *key; /* NULL when the slot is free */
  size_t value;
} ts_strmap_slot;

typedef struct ts_strmap {
  ts_strmap_slot *slots;
  size_t capacity; /* a power of two, or 0 before the first insert */
  size_t count;
} ts_strmap;

void ts_strmap_free(ts_strmap *m);
/* Finds key; returns true and sets *value when present. */
bool ts_strmap_get(const ts_strmap *m, const char *key, size_t *value);
/* Inserts or replaces key. Returns 0 or TS_ENOMEM. */
int ts_strmap_put(ts_strmap *m, const char *key, size_t value);

#endif
