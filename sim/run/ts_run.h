/* Runs a scenario: builds a world from the loaded scenario (sim/scenario), runs it to
 * the end time, and reports what happened. This is the one place that puts the
 * scenario, the network and the world together, so the CLI, the tests, the fuzz
 * targets and (later) sweeps all run scenarios the same way. */
#ifndef TS_RUN_H
#define TS_RUN_H

#include <stdbool.h>
#include <stdint.h>

#include "scenario.h"
#include "ts_net.h"
#include "ts_trace.h"
#include "ts_world.h"

typedef struct ts_run_options {
  uint64_t seed;
  ts_time until;            /* end of the run */
  const char *pcap_path;    /* NULL: no pcapng */
  const char *trace_path;   /* NULL: no JSON Lines */
  const ts_backend_ops *backend; /* NULL: native */
} ts_run_options;

#define TS_RUN_MAX_APPS 256

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
} ts_run_result;

/* The default options of a scenario: its seed (or 1) and duration (or 10 s). */
void ts_run_defaults(const ts_scenario *s, ts_run_options *o);

/* Runs `s` in `w` (which is reset first, so a world can be reused run after run). */
int ts_run_in_world(ts_world *w, const ts_scenario *s, const ts_run_options *o, ts_run_result *r);
/* Creates a world, runs, destroys it. */
int ts_run_scenario(const ts_scenario *s, const ts_run_options *o, ts_run_result *r);

#endif
