/* Scenario benchmark (see ts_bench_scenario.h). */
#include "ts_bench_scenario.h"

#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ts_bench.h"
#include "ts_bench_engine.h"
#include "ts_native.h"
#include "ts_run.h"
#include "wg.h"

const char *ts_bench_scenario_default_path(char *buf, size_t n) {
  const char *env = getenv("TUNNELSIM_MODELS");
  snprintf(buf, n, "%s/scenarios/bench-browsing.yaml", env ? env : TUNNELSIM_MODELS_DIR);
  return buf;
}

/* ---- the scenario ---- */

static int fail(char *err, size_t errlen, int rc, const char *what, const ts_run_result *r) {
  snprintf(err, errlen, "%s: %s", what, r && r->error[0] ? r->error : ts_strerror(rc));
  return rc;
}

int ts_bench_scenario(const char *path, double seconds, ts_bench_scenario_result *out, char *err,
                      size_t errlen) {
  memset(out, 0, sizeof *out);
  err[0] = '\0';
  if (sodium_init() < 0) return fail(err, errlen, TS_ESTATE, "libsodium", NULL);
  ts_scenario *s = NULL;
  ts_diag d;
  int rc = ts_scenario_load_file(path, &s, &d);
  if (rc) {
    ts_diag_format(&d, err, errlen);
    return rc;
  }
  ts_run_result *r = malloc(sizeof *r);
  ts_world *w = NULL;
  ts_run_cache *keys = NULL;
  if (!r) {
    rc = fail(err, errlen, TS_ENOMEM, "benchmark", NULL);
    goto done;
  }
  ts_run_options o;
  ts_run_defaults(s, &o);

  /* The reference: a fresh world, as `tunnelsim run` does it. */
  rc = ts_run_scenario(s, &o, r);
  if (rc) {
    fail(err, errlen, rc, s->source, r);
    goto done;
  }
  memcpy(out->trace_hash, r->trace_hash, sizeof out->trace_hash);
  out->events_per_run = r->events;
  out->trace_records_per_run = r->trace_records;
  out->sim_seconds_per_run = (double)r->sim_time / (double)TS_SEC;

  rc = ts_world_create(&w, &ts_native_backend, o.seed);
  if (!rc) rc = ts_run_cache_create(&keys);
  if (rc) {
    fail(err, errlen, rc, "world", NULL);
    goto done;
  }
  ts_run_options cached = o;
  cached.cache = keys;

  /* Rounds alternate the baseline (a fresh world per run, as `tunnelsim run` does)
   * with the figure (one world reused, key pairs cached), so that a machine busy with
   * something else slows both alike. Half the time goes to the figure, a quarter to
   * the baseline, a quarter to the bare handshake and X25519. */
  enum { ROUNDS = 8 };
  double slice = seconds / 4 / ROUNDS, fresh_time = 0, reused_time = 0;
  for (int round = 0; round < ROUNDS; round++) {
    double t0 = ts_bench_wall_seconds(), t1;
    do {
      rc = ts_run_scenario(s, &o, r);
      if (rc) {
        fail(err, errlen, rc, s->source, r);
        goto done;
      }
      if (strcmp(r->trace_hash, out->trace_hash) || r->events != out->events_per_run) out->hash_mismatches++;
      out->fresh_runs++;
      t1 = ts_bench_wall_seconds();
    } while (t1 - t0 < slice);
    fresh_time += t1 - t0;
    t0 = t1;
    do {
      rc = ts_run_in_world(w, s, &cached, r);
      if (rc) {
        fail(err, errlen, rc, s->source, r);
        goto done;
      }
      if (strcmp(r->trace_hash, out->trace_hash) || r->events != out->events_per_run) out->hash_mismatches++;
      out->runs++;
      t1 = ts_bench_wall_seconds();
    } while (t1 - t0 < 2 * slice);
    reused_time += t1 - t0;
  }
  out->fresh_runs_per_sec = (double)out->fresh_runs / fresh_time;
  out->runs_per_sec = (double)out->runs / reused_time;
  slice *= ROUNDS;
  out->hash_matches_fresh = out->hash_mismatches == 0;

  out->handshake_usec = ts_bench_handshake_usec(slice / 2);
  out->x25519_usec = ts_bench_x25519_usec(slice / 4, false);
  out->x25519_base_usec = ts_bench_x25519_usec(slice / 4, true);
  if (out->handshake_usec < 0 || out->x25519_usec < 0) rc = fail(err, errlen, TS_ESTATE, "bare handshake", NULL);
done:
  if (keys) ts_run_cache_counts(keys, &out->key_hits, &out->key_misses);
  ts_run_cache_destroy(keys);
  if (w) ts_world_destroy(w);
  free(r);
  ts_scenario_free(s);
  return rc;
}
