/* Scenario benchmark: one scenario file (by default models/scenarios/bench-browsing.yaml,
 * 120 s of connected browsing) run again and again in one process, with real crypto.
 * Figures beside baselines measured in the same run: the same scenario with a fresh
 * world per run, and one bare engine handshake. Every timed run's trace hash is
 * compared with a fresh-world run's. Wall-clock time via ts_bench_wall_seconds(). */
#ifndef TS_BENCH_SCENARIO_H
#define TS_BENCH_SCENARIO_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef struct ts_bench_scenario_result {
  double runs_per_sec;            /* one reused world, the run's key pairs cached */
  uint64_t runs;                  /* timed runs behind runs_per_sec */
  uint64_t events_per_run;        /* simulation events of one run */
  uint64_t trace_records_per_run;
  double sim_seconds_per_run;
  double fresh_runs_per_sec;      /* baseline: ts_run_scenario, a new world per run, no cache */
  uint64_t fresh_runs;
  double handshake_usec;          /* baseline: one bare engine handshake, both sides */
  double x25519_usec;             /* one crypto_scalarmult */
  double x25519_base_usec;        /* one crypto_scalarmult_base */
  uint64_t key_hits, key_misses;  /* the run key cache over the timed runs */
  bool hash_matches_fresh;        /* every timed run's trace hash equals the fresh run's */
  uint64_t hash_mismatches;
  char trace_hash[65];            /* of the fresh-world reference run */
} ts_bench_scenario_result;

/* The default scenario file: $TUNNELSIM_MODELS/scenarios/bench-browsing.yaml, else the
 * source tree's. */
const char *ts_bench_scenario_default_path(char *buf, size_t n);

/* Loads `path` once and runs it for about `seconds` of wall time in total. Returns 0,
 * or a negative TS_E* code with a sentence for the user in `err`. */
int ts_bench_scenario(const char *path, double seconds, ts_bench_scenario_result *out, char *err,
                      size_t errlen);

#endif
