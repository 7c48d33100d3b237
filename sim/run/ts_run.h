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
  /* Extra timeline events after the scenario's own (the recovery branches add the
   * user's actions this way); they must outlive the run. */
  const ts_timeline_event *inject;
  size_t inject_count;
  /* > 0: this run is a recovery branch whose user action comes at branch_at; the
   * result's branch fields say whether and when the apps got through after it. */
  ts_time branch_at;
} ts_run_options;

#define TS_RUN_MAX_APPS 256
#define TS_RUN_TEXT 2048
#define TS_RUN_MAX_LIVELOCKS 4
#define TS_RUN_MAX_MOMENTS 48

/* A notable moment of the lifecycle (the VPN session, the provider process, the
 * App Store, the user), for timelines; repeats of the same text are counted. */
typedef struct ts_run_moment {
  ts_time at;
  uint32_t repeats;         /* 1 + how many times it recurred right after */
  ts_time last;             /* the last recurrence */
  char text[120];
} ts_run_moment;

/* The lockout oracle's verdict (scenarios with a heal phase, checks: heal-at and
 * deadline): the apps could not reach the internet in the window before the
 * deadline although no fault came after heal-at. */
typedef struct ts_run_lockout {
  bool judged;              /* the scenario has a heal phase */
  bool no_probe;            /* no app tried to reach the internet: nothing to judge */
  bool locked_out;
  ts_time began;            /* the first unanswered attempt after the last success */
  ts_time last_success;     /* TS_TIME_NEVER when there was none */
  char headline[192];       /* one line: what the lockout is */
  char explanation[TS_RUN_TEXT]; /* the waits-for chain in words */
  bool cycle;               /* the chain closes: a deadlock */
} ts_run_lockout;

/* A recovery branch: the run replayed to the lockout, then one user action. */
typedef enum ts_run_recovery_action {
  TS_RECOVER_CANCEL_DOWNLOAD = 0,
  TS_RECOVER_TOGGLE_ONCE,
  TS_RECOVER_TOGGLE_TWICE,
  TS_RECOVER_CANCEL_AND_TOGGLE_TWICE,
  TS_RECOVER_REBOOT,
  TS_RECOVER_UNINSTALL_APP,
  TS_RECOVER_REMOVE_VPN_PROFILE,
  TS_RECOVER_OPEN_APP,
  TS_RECOVER_COUNT
} ts_run_recovery_action;
const char *ts_run_recovery_action_name(ts_run_recovery_action a); /* "toggle-twice", ... */

typedef struct ts_run_recovery {
  ts_run_recovery_action action;
  bool applicable;          /* the scenario has what the action needs (an App Store, a VPN) */
  bool restored;            /* an app got an answer after the action */
  ts_time time_to_restore;  /* from the action to that answer */
  uint32_t relapses;        /* lockouts again after being restored */
  bool ends_locked;         /* locked at the end of the branch */
} ts_run_recovery;

/* A livelock: the same states recurring without progress. */
typedef struct ts_run_livelock {
  char cycle[400];          /* "vpn: connecting → killed: watchdog → disconnected → connecting" */
  uint32_t repeats;
  ts_time period, first, last;
} ts_run_livelock;

/* An obligation of checks: obligations, and why it was missed. */
typedef struct ts_run_obligation {
  ts_scenario_obligation_kind what;
  ts_time by;
  bool met;
  ts_time met_at;           /* TS_TIME_NEVER when not met */
  char explanation[TS_RUN_TEXT]; /* missed: the waits-for chain */
  bool cycle;
} ts_run_obligation;
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
  /* The lifecycle oracles (scenarios with checks:). */
  bool has_checks;
  uint32_t moment_count;
  ts_run_moment moments[TS_RUN_MAX_MOMENTS];
  ts_run_lockout lockout;
  uint32_t obligation_count;
  ts_run_obligation obligations[TS_SCENARIO_MAX_OBLIGATIONS];
  uint32_t livelock_count;
  ts_run_livelock livelocks[TS_RUN_MAX_LIVELOCKS];
  uint32_t recovery_count;                 /* filled by ts_run_recover */
  ts_run_recovery recovery[TS_RECOVER_COUNT];
  /* A recovery branch (options.branch_at > 0). */
  bool branch_restored;
  ts_time branch_time_to_restore;
  uint32_t branch_relapses;
  bool branch_ends_locked;
} ts_run_result;

/* The default options of a scenario: its seed (or 1) and duration (or 10 s). */
void ts_run_defaults(const ts_scenario *s, ts_run_options *o);

/* Runs `s` in `w` (which is reset first, so a world can be reused run after run). */
int ts_run_in_world(ts_world *w, const ts_scenario *s, const ts_run_options *o, ts_run_result *r);
/* Creates a world, runs, destroys it. */
int ts_run_scenario(const ts_scenario *s, const ts_run_options *o, ts_run_result *r);

/* Recovery analysis of a run that ended in a lockout (r from ts_run_scenario with
 * the same options): for each user action, the run is replayed deterministically
 * to the heal deadline, the action is taken there, and the branch runs for the
 * scenario's horizon (checks: horizon). Fills r->recovery. progress (may be NULL)
 * is called before each branch. Does nothing when r has no lockout. */
typedef void (*ts_run_progress_fn)(void *ctx, const char *what, uint32_t done, uint32_t total);
int ts_run_recover(const ts_scenario *s, const ts_run_options *o, ts_run_result *r,
                   ts_run_progress_fn progress, void *ctx);

#endif
