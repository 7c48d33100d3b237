/* Named random streams. Each stream is derived from (world seed, stream name) alone,
 * so adding a consumer never shifts the numbers another consumer sees. The generator
 * is xoshiro256** seeded through splitmix64; exponential draws use a ziggurat whose
 * tables are generated at build time (tools/gen_ziggurat.c). */
#ifndef TS_RNG_H
#define TS_RNG_H

#include <stddef.h>
#include <stdint.h>

typedef struct ts_rng {
  uint64_t s[4];
} ts_rng;

/* Derive the stream called `name` of the world seeded with `seed`. */
void ts_rng_init(ts_rng *r, uint64_t seed, const char *name);

static inline uint64_t ts_rng_rotl(uint64_t x, int k) { return (x << k) | (x >> (64 - k)); }

static inline uint64_t ts_rng_next(ts_rng *r) {
  uint64_t *s = r->s;
  uint64_t result = ts_rng_rotl(s[1] * 5, 7) * 9;
  uint64_t t = s[1] << 17;
  s[2] ^= s[0];
  s[3] ^= s[1];
  s[1] ^= s[2];
  s[0] ^= s[3];
  s[2] ^= t;
  s[3] = ts_rng_rotl(s[3], 45);
  return result;
}

/* Uniform in [0, 1) with 53 bits of precision. */
static inline double ts_rng_uniform(ts_rng *r) {
  return (double)(ts_rng_next(r) >> 11) * 0x1.0p-53;
}

/* Uniform integer in [0, bound); bound > 0. Unbiased (Lemire's method). */
uint64_t ts_rng_below(ts_rng *r, uint64_t bound);

/* True with probability p (p <= 0 never, p >= 1 always). */
int ts_rng_chance(ts_rng *r, double p);

/* Exponential with mean 1. */
double ts_rng_exponential(ts_rng *r);

void ts_rng_fill(ts_rng *r, void *buf, size_t n);

/* Adapter for components that take their randomness as fn(ctx, buf, n), such as the
 * engine's wg_device_config.rng: `rng` is a ts_rng. */
void ts_rng_source(void *rng, uint8_t *buf, size_t n);

/* 64-bit FNV-1a of a string: used to name streams, not for security. */
uint64_t ts_hash_name(const char *name);

#endif
