/* Runs a scenario: builds a world from the loaded scenario (sim/scenario), runs it to
 * the end time, and reports what happened. This is the one place that puts the
 * scenario, the network and the world together, so the CLI, the tests, the fuzz
 * targets and (later) sweeps all run scenarios the same way. */
#ifndef TS_RUN_H
#define TS_RUN_H

#include <stdbool.h>
#include <stdint.h>

#include "scenario.h"
#include "ts_leak.h"
#include "ts_net.h"
#include "ts_phone_apps.h"
#include "ts_trace.h"
#include "ts_world.h"

/* What a caller that runs scenarios again and again (the scenario benchmark, sweeps,
 * fuzzers) can let runs compute once: key pairs derived from (seed, owner), one X25519
 * base-point operation each, and parsed OS profiles. A hit gives exactly what the
 * run would have computed, so no run's result changes. The caller owns the cache;
 * it holds private keys, and destroy wipes them. No global state. */
typedef struct ts_run_cache ts_run_cache;
int ts_run_cache_create(ts_run_cache **out);
void ts_run_cache_destroy(ts_run_cache *c);
/* Lookups answered from the cache, and computed (then kept, while there is room). */
void ts_run_cache_counts(const ts_run_cache *c, uint64_t *hits, uint64_t *misses);

typedef struct ts_run_options {
  uint64_t seed;
  ts_time until;            /* end of the run */
  const char *pcap_path;    /* NULL: no pcapng */
  const char *trace_path;   /* NULL: no JSON Lines */
  const ts_backend_ops *backend; /* NULL: native */
  const char *models_dir;   /* NULL: $TUNNELSIM_MODELS, else the source tree's models/ */
  const char *os;           /* the phone's OS profile instead of the scenario's; NULL: keep */
  ts_run_cache *cache;      /* NULL: compute everything in every run */
} ts_run_options;

#define TS_RUN_MAX_APPS 256
#define TS_RUN_MAX_FINDINGS 64

typedef struct ts_run_phone_app {
  char name[64];
  ts_phone_app_stats stats;
} ts_run_phone_app;

typedef struct ts_run_result {
  char trace_hash[TS_TRACE_HASH_HEX];
  uint64_t seed;
  ts_time sim_time;
  uint64_t events;
  uint64_t trace_records;
  uint64_t unrouted;
  uint32_t app_count;
  ts_app_stats apps[TS_RUN_MAX_APPS];
  char app_names[TS_RUN_MAX_APPS][64];
  char app_hosts[TS_RUN_MAX_APPS][64];
  uint32_t interface_count;
  int sink_error;           /* first I/O error writing pcapng or trace, 0 if none */
  char error[256];          /* why the world could not be built, when a run fails */
  /* The phone world (scenarios with a phone). */
  bool has_phone;
  ts_phone_stats phone;                    /* verdict counts of the phone's stack */
  uint32_t phone_app_count;
  ts_run_phone_app phone_apps[TS_RUN_MAX_APPS];
  uint64_t egress[TS_EGRESS_CLASS_COUNT];  /* the leak oracle's packet counts */
  uint32_t finding_count;                  /* findings kept (the first TS_RUN_MAX_FINDINGS) */
  uint32_t findings_total;
  ts_leak_finding findings[TS_RUN_MAX_FINDINGS];
  bool has_wire;                           /* the byte-only observer at the Wi-Fi link */
  uint64_t wire_tunnel, wire_other;
  bool observers_agree;                    /* oracle and byte-only observer counted alike */
} ts_run_result;

/* The default options of a scenario: its seed (or 1) and duration (or 10 s). */
void ts_run_defaults(const ts_scenario *s, ts_run_options *o);

/* Runs `s` in `w` (which is reset first, so a world can be reused run after run). */
int ts_run_in_world(ts_world *w, const ts_scenario *s, const ts_run_options *o, ts_run_result *r);
/* Creates a world, runs, destroys it. */
int ts_run_scenario(const ts_scenario *s, const ts_run_options *o, ts_run_result *r);

#endif
