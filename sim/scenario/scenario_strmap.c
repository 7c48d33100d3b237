#include "scenario_strmap.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "ts_error.h"

/* FNV-1a: simple, deterministic across runs and platforms. */
static uint64_t hash_string(const char *s) {
  uint64_t h = 14695981039346656037ull;
  for (; *s; s++) {
    h ^= (unsigned char)*s;
    h *= 1099511628211ull;
  }
  return h;
}

void ts_strmap_free(ts_strmap *m) {
  free(m->slots);
  m->slots = NULL;
  m->capacity = 0;
  m->count = 0;
}

static ts_strmap_slot *find_slot(ts_strmap_slot *slots, size_t capacity, const char *key) {
  size_t mask = capacity - 1;
  for (size_t i = hash_string(key) & mask;; i = (i + 1) & mask) {
    if (!slots[i].key || strcmp(slots[i].key, key) == 0) return &slots[i];
  }
}

bool ts_strmap_get(const ts_strmap *m, const char *key, size_t *value) {
  if (m->capacity == 0) return false;
  const ts_strmap_slot *slot = find_slot(m->slots, m->capacity, key);
  if (!slot->key) return false;
  if (value) *value = slot->value;
  return true;
}

static int grow(ts_strmap *m) {
  size_t capacity = m->capacity ? m->capacity * 2 : 16;
  ts_strmap_slot *slots = calloc(capacity, sizeof *slots);
  if (!slots) return TS_ENOMEM;
  for (size_t i = 0; i < m->capacity; i++) {
    if (m->slots[i].key) *find_slot(slots, capacity, m->slots[i].key) = m->slots[i];
  }
  free(m->slots);
  m->slots = slots;
  m->capacity = capacity;
  return 0;
}

int ts_strmap_put(ts_strmap *m, const char *key, size_t value) {
  /* Keep the load factor under one half so probe sequences stay short. */
  if ((m->count + 1) * 2 > m->capacity) {
    int rc = grow(m);
    if (rc) return rc;
  }
  ts_strmap_slot *slot = find_slot(m->slots, m->capacity, key);
  if (!slot->key) {
    slot->key = key;
    m->count++;
  }
  slot->value = value;
  return 0;
}
