#include "ts_rng.h"

#include <math.h>
#include <string.h>

#include "ts_ziggurat_tables.h"

uint64_t ts_hash_name(const char *name) {
  uint64_t h = 0xcbf29ce484222325ULL;
  for (const unsigned char *p = (const unsigned char *)name; *p; p++) {
    h ^= *p;
    h *= 0x100000001b3ULL;
  }
  return h;
}

static uint64_t splitmix64(uint64_t *state) {
  uint64_t z = (*state += 0x9e3779b97f4a7c15ULL);
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
  return z ^ (z >> 31);
}

void ts_rng_init(ts_rng *r, uint64_t seed, const char *name) {
  /* Mix seed and name through one splitmix round each so that nearby seeds and
   * similar names still give unrelated streams. */
  uint64_t st = seed;
  uint64_t a = splitmix64(&st);
  st = a ^ ts_hash_name(name ? name : "");
  for (int i = 0; i < 4; i++) r->s[i] = splitmix64(&st);
  if ((r->s[0] | r->s[1] | r->s[2] | r->s[3]) == 0) r->s[0] = 1;
}

void ts_rng_source(void *rng, uint8_t *buf, size_t n) { ts_rng_fill(rng, buf, n); }

uint64_t ts_rng_below(ts_rng *r, uint64_t bound) {
  __uint128_t m = (__uint128_t)ts_rng_next(r) * bound;
  uint64_t low = (uint64_t)m;
  if (low < bound) {
    uint64_t threshold = -bound % bound;
    while (low < threshold) {
      m = (__uint128_t)ts_rng_next(r) * bound;
      low = (uint64_t)m;
    }
  }
  return (uint64_t)(m >> 64);
}

int ts_rng_chance(ts_rng *r, double p) {
  if (p <= 0.0) return 0;
  if (p >= 1.0) return 1;
  return ts_rng_uniform(r) < p;
}

double ts_rng_exponential(ts_rng *r) {
  double base = 0.0;
  for (;;) {
    uint64_t u = ts_rng_next(r);
    unsigned i = (unsigned)(u & 0xff);
    double x = (double)(u >> 11) * 0x1.0p-53 * ts_zig_x[i];
    if (x < ts_zig_x[i + 1]) return base + x;
    if (i == 0) {
      /* The tail beyond R is again exponential: shift and draw once more. */
      base += TS_ZIG_R;
      continue;
    }
    double y = ts_zig_f[i] + ts_rng_uniform(r) * (ts_zig_f[i + 1] - ts_zig_f[i]);
    if (y < exp(-x)) return base + x;
  }
}

void ts_rng_fill(ts_rng *r, void *buf, size_t n) {
  unsigned char *p = buf;
  while (n >= 8) {
    uint64_t v = ts_rng_next(r);
    memcpy(p, &v, 8);
    p += 8;
    n -= 8;
  }
  if (n) {
    uint64_t v = ts_rng_next(r);
    memcpy(p, &v, n);
  }
}
