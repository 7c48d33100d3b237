/* Running scenarios through sim/run: world reuse and the run cache never change a
 * run's result. */
#include "scenario.h"
#include "ts_native.h"
#include "ts_run.h"
#include "tstest.h"

static ts_scenario *load(const char *path) {
  ts_scenario *s = NULL;
  ts_diag d;
  if (ts_scenario_load_file(path, &s, &d) != 0) return NULL;
  return s;
}

static ts_run_result result_a, result_b;

TS_TEST(cache_and_world_reuse_give_the_fresh_runs_hash) {
  ts_scenario *s = load("models/scenarios/gt/gt-01-preexisting-tcp-ian-off.yaml");
  TS_CHECK(s != NULL);
  ts_run_options o;
  ts_run_defaults(s, &o);
  TS_CHECK_INT(ts_run_scenario(s, &o, &result_a), ==, TS_OK);
  TS_CHECK(result_a.findings_total > 0);

  ts_run_cache *cache;
  TS_CHECK_INT(ts_run_cache_create(&cache), ==, TS_OK);
  ts_world *w;
  TS_CHECK_INT(ts_world_create(&w, &ts_native_backend, o.seed), ==, TS_OK);
  o.cache = cache;
  for (int i = 0; i < 3; i++) {
    TS_CHECK_INT(ts_run_in_world(w, s, &o, &result_b), ==, TS_OK);
    TS_CHECK_STR(result_b.trace_hash, result_a.trace_hash);
    TS_CHECK_INT(result_b.findings_total, ==, result_a.findings_total);
  }
  uint64_t hits, misses;
  ts_run_cache_counts(cache, &hits, &misses);
  /* Two key pairs (phone, relay), their static-static DH and one profile: computed
   * once, then found. */
  TS_CHECK_INT(misses, ==, 4);
  TS_CHECK_INT(hits, ==, 8);
  /* Another seed: new keys and DH, the same profile. */
  o.seed = 2;
  TS_CHECK_INT(ts_run_in_world(w, s, &o, &result_b), ==, TS_OK);
  ts_run_cache_counts(cache, &hits, &misses);
  TS_CHECK_INT(misses, ==, 7);
  TS_CHECK(strcmp(result_b.trace_hash, result_a.trace_hash) != 0);
  ts_world_destroy(w);
  ts_run_cache_destroy(cache);
  ts_scenario_free(s);
}

TS_TEST(a_build_error_explains_itself) {
  ts_scenario *s = load("models/scenarios/gt/gt-09-provider-icmp-ian-on.yaml");
  TS_CHECK(s != NULL);
  ts_run_options o;
  ts_run_defaults(s, &o);
  o.os = "ios-99";
  TS_CHECK_INT(ts_run_scenario(s, &o, &result_a), !=, TS_OK);
  TS_CHECK(strstr(result_a.error, "ios-99") != NULL);
  ts_scenario_free(s);
}
