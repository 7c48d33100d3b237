/* Benchmarks. Each prints figures measured in the same run as its baseline; none is
 * a test. Wall-clock time is read here and only here. */
#ifndef TS_BENCH_H
#define TS_BENCH_H

#include <stdbool.h>
#include <stdint.h>

typedef struct ts_bench_des_result {
  double events_per_sec[3]; /* pending 1, 1000, 100000 */
  uint64_t events[3];
  double baseline_per_sec[3]; /* the same hold model driving the bare queue, no world */
} ts_bench_des_result;

extern const uint32_t ts_bench_des_pending[3];

/* Runs the hold model for about `seconds` per size (split between world and baseline). */
int ts_bench_des(double seconds, ts_bench_des_result *out);
double ts_bench_wall_seconds(void);

#endif
