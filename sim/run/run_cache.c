/* The run cache: see ts_run.h. Linear lookups: a cache holds a handful of entries. */
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "run_internal.h"

#define KEY_STREAM_MAX 96
#define CACHE_MAX 1024 /* beyond this, results are computed and not kept */
#define PATH_MAX_LEN 1024

struct key_entry {
  uint64_t seed;
  char stream[KEY_STREAM_MAX];
  uint8_t priv[32], pub[32];
};

struct profile_entry {
  char path[PATH_MAX_LEN];
  ts_os_profile *profile;
};

struct ts_run_cache {
  struct key_entry *keys;
  size_t key_count, key_cap;
  struct profile_entry *profiles;
  size_t profile_count, profile_cap;
  uint64_t hits, misses;
};

int ts_run_cache_create(ts_run_cache **out) {
  *out = calloc(1, sizeof **out);
  return *out ? TS_OK : TS_ENOMEM;
}

void ts_run_cache_destroy(ts_run_cache *c) {
  if (!c) return;
  if (c->keys) sodium_memzero(c->keys, c->key_cap * sizeof *c->keys);
  free(c->keys);
  for (size_t i = 0; i < c->profile_count; i++) ts_os_profile_destroy(c->profiles[i].profile);
  free(c->profiles);
  free(c);
}

void ts_run_cache_counts(const ts_run_cache *c, uint64_t *hits, uint64_t *misses) {
  *hits = c->hits;
  *misses = c->misses;
}

/* Grows an array of `elem`-sized entries; false when it may not or cannot. Old
 * storage is wiped before it is freed (it may hold keys). */
static bool grow(void **arr, size_t *cap, size_t count, size_t elem) {
  if (count < *cap) return true;
  if (*cap >= CACHE_MAX) return false;
  size_t ncap = *cap ? *cap * 2 : 8;
  void *n = calloc(ncap, elem);
  if (!n) return false;
  if (count) memcpy(n, *arr, count * elem);
  if (*arr) sodium_memzero(*arr, *cap * elem);
  free(*arr);
  *arr = n;
  *cap = ncap;
  return true;
}

bool run_cache_get_key(ts_run_cache *c, uint64_t seed, const char *stream, uint8_t priv[32],
                       uint8_t pub[32]) {
  for (size_t i = 0; i < c->key_count; i++) {
    const struct key_entry *e = &c->keys[i];
    if (e->seed != seed || strcmp(e->stream, stream)) continue;
    memcpy(priv, e->priv, 32);
    memcpy(pub, e->pub, 32);
    c->hits++;
    return true;
  }
  return false;
}

void run_cache_put_key(ts_run_cache *c, uint64_t seed, const char *stream, const uint8_t priv[32],
                       const uint8_t pub[32]) {
  c->misses++;
  if (strlen(stream) >= KEY_STREAM_MAX ||
      !grow((void **)&c->keys, &c->key_cap, c->key_count, sizeof *c->keys))
    return;
  struct key_entry *e = &c->keys[c->key_count++];
  e->seed = seed;
  snprintf(e->stream, sizeof e->stream, "%s", stream);
  memcpy(e->priv, priv, 32);
  memcpy(e->pub, pub, 32);
}

int run_cache_profile(ts_run_cache *c, const char *path, const ts_os_profile **out, ts_diag *d) {
  for (size_t i = 0; i < c->profile_count; i++)
    if (!strcmp(c->profiles[i].path, path)) {
      c->hits++;
      *out = c->profiles[i].profile;
      return TS_OK;
    }
  if (strlen(path) >= PATH_MAX_LEN ||
      !grow((void **)&c->profiles, &c->profile_cap, c->profile_count, sizeof *c->profiles))
    return TS_EFULL;
  ts_os_profile *p;
  int rc = ts_os_profile_load_file(path, &p, d);
  if (rc) return rc;
  c->misses++;
  struct profile_entry *e = &c->profiles[c->profile_count++];
  snprintf(e->path, sizeof e->path, "%s", path);
  e->profile = p;
  *out = p;
  return TS_OK;
}
