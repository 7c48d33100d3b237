#include <math.h>

#include "ts_rng.h"
#include "tstest.h"

TS_TEST(rng_streams_are_independent_of_each_other) {
  ts_rng a1, a2, b;
  ts_rng_init(&a1, 7, "link/ab/0");
  ts_rng_init(&b, 7, "link/cd/0");
  /* Drawing from b must not change what a sees: streams share no state. */
  for (int i = 0; i < 100; i++) ts_rng_next(&b);
  ts_rng_init(&a2, 7, "link/ab/0");
  for (int i = 0; i < 100; i++) TS_CHECK(ts_rng_next(&a1) == ts_rng_next(&a2));
}

TS_TEST(rng_differs_by_seed_and_by_name) {
  ts_rng a, b, c;
  ts_rng_init(&a, 1, "x");
  ts_rng_init(&b, 2, "x");
  ts_rng_init(&c, 1, "y");
  uint64_t va = ts_rng_next(&a);
  TS_CHECK(va != ts_rng_next(&b));
  TS_CHECK(va != ts_rng_next(&c));
}

TS_TEST(rng_known_first_values_pin_the_derivation) {
  /* A change to the derivation (splitmix64 over seed and FNV-1a of the name, then
   * xoshiro256**) would silently change every recorded finding: these values are
   * what it gives today; change them only with the findings that depend on them. */
  ts_rng a;
  ts_rng_init(&a, 1, "pin");
  TS_CHECK(ts_rng_next(&a) == UINT64_C(0x927251c7664d3d08));
  TS_CHECK(ts_rng_next(&a) == UINT64_C(0x91c027752288b412));
}

TS_TEST(rng_exponential_has_mean_one_and_variance_one) {
  ts_rng r;
  ts_rng_init(&r, 3, "exp");
  double sum = 0, sq = 0;
  int n = 400000, beyond_tail = 0;
  for (int i = 0; i < n; i++) {
    double x = ts_rng_exponential(&r);
    TS_CHECK(x >= 0);
    sum += x;
    sq += x * x;
    beyond_tail += x > 7.69711747013104972;
  }
  double mean = sum / n, var = sq / n - mean * mean;
  TS_CHECK(fabs(mean - 1.0) < 0.01);
  TS_CHECK(fabs(var - 1.0) < 0.03);
  /* P(X > R) = e^-R ~ 4.5e-4: the tail path must be taken about 180 times. */
  TS_CHECK(beyond_tail > 100 && beyond_tail < 300);
}

TS_TEST(rng_below_stays_in_range_and_covers_it) {
  ts_rng r;
  ts_rng_init(&r, 5, "below");
  int seen[10] = {0};
  for (int i = 0; i < 10000; i++) {
    uint64_t v = ts_rng_below(&r, 10);
    TS_CHECK(v < 10);
    seen[v]++;
  }
  for (int i = 0; i < 10; i++) TS_CHECK(seen[i] > 800 && seen[i] < 1200);
}
