/* The lifecycle oracles of a run (scenarios with checks:), fed the way an outside
 * observer would see the device, never by branches on the scenario:
 *   - connectivity: every second, whether the phone's ordinary apps (traffic class
 *     app) got answers (a success) or tried without one (a failure): the lockout
 *     oracle's input (sim/oracle ts_lockout);
 *   - the devices' named trace events (session status, provider kills, watchdogs,
 *     refused launches, monitor, App Store): the livelock detectors' input, one
 *     per concern with its own notion of progress, and the run's timeline;
 *   - at each obligation's deadline and at the heal deadline, a snapshot of the
 *     device's state, from which sim/oracle's explainer builds the waits-for chain.
 * Observing schedules events but records nothing in the trace, so a scenario's
 * trace hash does not depend on whether it has checks. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "run_internal.h"
#include "ts_appstore.h"
#include "ts_explain.h"
#include "ts_livelock.h"
#include "ts_lockout.h"

#define SAMPLE_PERIOD TS_SEC
#define LIVELOCK_ENTRIES 512
#define LIVELOCK_LABELS 64
#define LOCKOUT_RUNS 4096

enum { LL_VPN = 0, LL_MONITOR, LL_APPSTORE, LL_NEGOTIATION, LL_COUNT };
static const char *const ll_subject[LL_COUNT] = {"vpn", "monitor", "appstore", "negotiation"};

struct run_checks {
  struct run_world *rw;
  ts_lockout *lockout;
  ts_livelock *livelock[LL_COUNT];
  ts_explainer *explainer;
  char ll_last[LL_COUNT][TS_LIVELOCK_LABEL]; /* each stream's latest label */
  uint64_t answered, attempted;     /* the apps' totals at the last sample */
  ts_time first_success;
  bool connected_ever;              /* the session reached connected at least once */
  ts_time met[TS_SCENARIO_MAX_OBLIGATIONS];
  ts_run_obligation missed[TS_SCENARIO_MAX_OBLIGATIONS];
  ts_run_lockout lockout_verdict;
  uint32_t moment_count;
  ts_run_moment moments[TS_RUN_MAX_MOMENTS];
  uint32_t moments_dropped;
};

static void release_checks(void *obj) {
  struct run_checks *c = obj;
  ts_lockout_destroy(c->lockout);
  ts_explainer_destroy(c->explainer);
  for (int i = 0; i < LL_COUNT; i++) ts_livelock_destroy(c->livelock[i]);
  free(c);
}

/* ------------------------------------------------------------ connectivity */

static void app_totals(const struct run_world *rw, uint64_t *answered, uint64_t *attempted) {
  *answered = *attempted = 0;
  const ts_scenario_phone *sp = &rw->scenario->phone;
  for (size_t i = 0; i < sp->app_count; i++) {
    if (sp->apps[i].traffic_class != 0 || !rw->phone_apps[i]) continue; /* ordinary apps only */
    ts_phone_app_stats st;
    ts_phone_app_get_stats(rw->phone_apps[i], &st);
    *answered += st.received;
    *attempted += (uint64_t)st.sent + st.send_errors + st.tcp_opened + st.tcp_open_errors;
  }
}

static void progress(struct run_checks *c, int which, ts_time now) {
  ts_livelock_progress(c->livelock[which], now);
}

static void sample(void *obj, uint64_t unused) {
  (void)unused;
  struct run_checks *c = obj;
  ts_time now = ts_world_now(c->rw->world);
  uint64_t answered, attempted;
  app_totals(c->rw, &answered, &attempted);
  if (answered > c->answered) {
    ts_lockout_observe_success(c->lockout, now);
    progress(c, LL_VPN, now);
    if (c->first_success == TS_TIME_NEVER) c->first_success = now;
  } else if (attempted > c->attempted) {
    ts_lockout_observe_failure(c->lockout, now);
  }
  c->answered = answered;
  c->attempted = attempted;
  ts_world_schedule_in(c->rw->world, SAMPLE_PERIOD, sample, c, 0, NULL);
}

/* ------------------------------------------------------------ events */

/* Labels must repeat to make a loop: numbers (attempts, seconds) are masked, the
 * detail in parentheses or after a semicolon is left out, and the label is cut to
 * the detector's label size. */
static void label_of(const char *text, char *out, size_t n) {
  size_t w = 0;
  for (const char *r = text; *r && *r != ';' && *r != '(' && w + 1 < n; r++) {
    bool digit = *r >= '0' && *r <= '9';
    if (digit && w > 0 && out[w - 1] == '#') continue;
    out[w++] = digit ? '#' : *r;
  }
  while (w > 0 && ((unsigned char)out[w - 1] >= 0x80 || out[w - 1] == ' ')) w--; /* whole characters */
  out[w] = 0;
}

static void add_moment(struct run_checks *c, ts_time now, const char *text) {
  /* A recurring state is counted on its earlier entry (loops of up to 6 states). */
  for (uint32_t k = 0; k < 6 && k < c->moment_count; k++) {
    ts_run_moment *m = &c->moments[c->moment_count - 1 - k];
    if (strcmp(m->text, text)) continue;
    m->repeats++;
    m->last = now;
    return;
  }
  if (c->moment_count == TS_RUN_MAX_MOMENTS) {
    c->moments_dropped++;
    return;
  }
  ts_run_moment *m = &c->moments[c->moment_count++];
  m->at = m->last = now;
  m->repeats = 1;
  snprintf(m->text, sizeof m->text, "%s", text);
}

static void text_of(const char *kind, const char *detail, char *out, size_t n) {
  snprintf(out, n, "%s%s%s", kind, detail ? ": " : "", detail ? detail : "");
}

static bool starts(const char *s, const char *prefix) { return s && !strncmp(s, prefix, strlen(prefix)); }

/* The first time an obligation of this kind is met. */
static void meet(struct run_checks *c, ts_scenario_obligation_kind what, ts_time now) {
  const ts_scenario_checks *sc = &c->rw->scenario->checks;
  for (size_t i = 0; i < sc->obligation_count; i++)
    if (sc->obligations[i].what == what && c->met[i] == TS_TIME_NEVER) c->met[i] = now;
}

static void on_event(void *ctx, ts_time now, const char *kind, const char *subject,
                     const char *detail) {
  struct run_checks *c = ctx;
  char text[120];
  int which = -1;
  bool moment = true;
  /* The provider traces its own kill too; the phone's record names the reason. */
  if (!strcmp(kind, "provider-killed") && strcmp(subject, ts_phone_name(c->rw->phone))) return;
  if (!strcmp(kind, "vpn-status")) {
    which = LL_VPN;
    snprintf(text, sizeof text, "VPN %s", detail ? detail : "");
    if (detail && strstr(detail, "-> connected")) {
      c->connected_ever = true;
      meet(c, TS_SCENARIO_OBLIGE_TUNNEL_CONNECTED, now);
    }
  } else if (!strcmp(kind, "provider-killed") || !strcmp(kind, "vpn-watchdog") ||
             !strcmp(kind, "launch-refused") || !strcmp(kind, "on-demand") ||
             starts(kind, "provider-error-state") || !strcmp(kind, "provider-start-completed")) {
    which = LL_VPN;
    text_of(kind, detail, text, sizeof text);
    /* An evaluation that changes nothing is no state: only starts, stops, suspensions. */
    if (!strcmp(kind, "on-demand") && detail && strstr(detail, "-> nothing")) return;
    moment = strcmp(kind, "on-demand") || (detail && !strstr(detail, "rule"));
  } else if (!strcmp(kind, "monitor")) {
    which = LL_MONITOR;
    text_of(kind, detail, text, sizeof text);
    if (detail && !strcmp(detail, "connected")) {
      progress(c, LL_MONITOR, now);
      meet(c, TS_SCENARIO_OBLIGE_MONITOR_CONFIRMED, now);
    }
  } else if (!strcmp(kind, "provider-negotiation")) {
    which = LL_NEGOTIATION;
    text_of("negotiation", detail, text, sizeof text);
    if (detail && strstr(detail, "done")) {
      progress(c, LL_NEGOTIATION, now);
      meet(c, TS_SCENARIO_OBLIGE_NEGOTIATION_DONE, now);
    }
  } else if (!strcmp(kind, "appstore")) {
    which = LL_APPSTORE;
    text_of("App Store", detail, text, sizeof text);
    if (detail && strstr(detail, "installed")) progress(c, LL_APPSTORE, now);
  } else if (!strcmp(kind, "reboot") || !strcmp(kind, "device-unlocked") ||
             !strcmp(kind, "settings-toggle") || !strcmp(kind, "app-state") ||
             !strcmp(kind, "vpn-profile") || !strcmp(kind, "app-opened") ||
             !strcmp(kind, "app-uninstalled") || !strcmp(kind, "sleep") || !strcmp(kind, "wake") ||
             !strcmp(kind, "airplane-mode")) {
    text_of(kind, detail, text, sizeof text);
  } else {
    return;
  }
  if (which >= 0) {
    char label[TS_LIVELOCK_LABEL];
    label_of(text, label, sizeof label); /* masked and cut to a label's size */
    ts_livelock_observe(c->livelock[which], now, ll_subject[which], label);
    memcpy(c->ll_last[which], label, sizeof label);
  }
  if (moment) add_moment(c, now, text);
}

/* ------------------------------------------------------------ explanations */

static const char *verdict_kind(const ts_verdict *v) {
  return ts_verdict_kind_name(v->kind);
}

static const char *rule_name(const ts_verdict *v) {
  const ts_os_rule_info *ri = ts_os_rule_get(v->rule);
  return ri ? ri->name : "";
}

static bool c_connected_ever(const struct run_world *rw) {
  return rw->checks && rw->checks->connected_ever;
}

static void snapshot(const struct run_world *rw, ts_explain_snapshot *s) {
  memset(s, 0, sizeof *s);
  ts_phone *ph = rw->phone;
  const ts_vpn_config *cfg = ts_phone_vpn_config(ph);
  const ts_vpn_session *se = ts_phone_session(ph);
  s->include_all_networks = ts_vpn_config_flag(cfg, TS_FLAG_INCLUDE_ALL_NETWORKS);
  s->on_demand_enabled = ts_vpn_config_on_demand(cfg);
  s->on_demand_suspended = ts_phone_on_demand_suspended(ph);
  s->vpn_profile_present = ts_phone_vpn_profile_present(ph);
  s->stale_policy = !s->vpn_profile_present && ts_vpn_config_enabled(cfg);
  s->session_status = ts_vpn_status_name(ts_vpn_session_status(se));
  s->down_cause = ts_vpn_down_cause_name(ts_vpn_session_down_cause(se));
  s->stop_reason = ts_vpn_stop_reason_name(ts_vpn_session_stop_reason(se));
  s->last_exit = ts_vpn_exit_name(ts_vpn_session_last_exit(se));
  s->provider_running = ts_vpn_session_provider_running(se);
  s->tunnel_connected_ever = c_connected_ever(rw);
  s->keychain_locked = !ts_phone_keychain_available(ph);
  s->launches_refused = ts_phone_launches_refused(ph);
  s->relaunch_refused_quirk =
      ts_vpn_session_lifecycle_quirk(se, TS_LQ_UPDATE_RELAUNCH_REFUSED) != 0;
  s->app_state = ts_phone_app_state_name(ts_phone_app_state_get(ph));
  s->jetsam_count = ts_vpn_session_exit_count(se, TS_EXIT_JETSAM);
  s->watchdog_count = ts_vpn_session_exit_count(se, TS_EXIT_WATCHDOG);
  s->os = ts_os_profile_name(ts_phone_profile(ph));
  int64_t start_timeout = ts_os_profile_limit(ts_phone_profile(ph), TS_LIMIT_START_TIMEOUT);
  s->start_timeout_s = start_timeout > 0 ? (unsigned)(start_timeout / TS_SEC) : 0;
  ts_verdict v;
  ts_time at;
  if (ts_phone_last_app_block(ph, &v, &at)) {
    s->app_block_verdict = verdict_kind(&v);
    s->app_block_rule = rule_name(&v);
  }
  if (rw->provider) {
    ts_provider_error_reason er = ts_provider_error_reason_get(rw->provider);
    s->provider_error_reason = er == TS_PROVIDER_REASON_NONE ? "" : ts_provider_error_reason_name(er);
    s->start_blocked = ts_provider_start_blocked(rw->provider);
    s->settings_pending = ts_provider_settings_pending(rw->provider);
    ts_monitor *m = ts_provider_monitor(rw->provider);
    if (m) {
      s->monitor_state = ts_monitor_state_name(ts_monitor_state_of(m));
      s->monitor_path = ts_monitor_path_name(ts_monitor_path_get(m));
      ts_monitor_send last;
      if (ts_monitor_last_send(m, &last)) {
        s->monitor_ping_verdict = verdict_kind(&last.verdict);
        s->monitor_ping_rule = rule_name(&last.verdict);
        s->monitor_ping_silent = last.silent_failure;
      }
    }
    s->completion_after_monitor = rw->scenario->phone.vpn.completion == TS_SCENARIO_COMPLETE_AFTER_MONITOR;
    s->completion_after_negotiation =
        rw->scenario->phone.vpn.completion == TS_SCENARIO_COMPLETE_AFTER_NEGOTIATION;
    s->negotiation_state = ts_neg_state_name(ts_provider_negotiation_state(rw->provider));
    ts_neg_attempt na;
    if (ts_provider_negotiation_last(rw->provider, &na)) {
      s->negotiation_path = ts_neg_path_name(na.path);
      s->negotiation_attempt = na.number;
      s->negotiation_viable = na.viable;
      if (na.os_socket) {
        s->negotiation_verdict = verdict_kind(&na.verdict);
        s->negotiation_rule = rule_name(&na.verdict);
      }
    }
  }
  if (rw->appstore) {
    ts_appstore_phase p = ts_appstore_phase_get(rw->appstore);
    s->update_phase = p == TS_APPSTORE_IDLE ? "" : ts_appstore_phase_name(p);
    s->update_attempts = ts_appstore_attempts(rw->appstore);
    s->downloader_waiting = ts_appstore_waiting_for_connectivity(rw->appstore);
    ts_verdict dv = ts_appstore_last_verdict(rw->appstore);
    s->downloader_verdict = verdict_kind(&dv);
    s->downloader_rule = rule_name(&dv);
  }
}

static const ts_explain_subject obligation_subject[TS_SCENARIO_OBLIGATION_COUNT] = {
    [TS_SCENARIO_OBLIGE_TUNNEL_CONNECTED] = TS_EXPLAIN_TUNNEL,
    [TS_SCENARIO_OBLIGE_MONITOR_CONFIRMED] = TS_EXPLAIN_MONITOR,
    [TS_SCENARIO_OBLIGE_DOWNLOAD_DONE] = TS_EXPLAIN_DOWNLOAD,
    [TS_SCENARIO_OBLIGE_APPS_REACH] = TS_EXPLAIN_APPS,
    [TS_SCENARIO_OBLIGE_NEGOTIATION_DONE] = TS_EXPLAIN_NEGOTIATION,
};

/* obligation < 0: the lockout at the heal deadline. */
static void explain(struct run_checks *c, int obligation, char *headline, size_t hn, char *text,
                    size_t tn, bool *cycle) {
  ts_explain_snapshot s;
  snapshot(c->rw, &s);
  ts_explanation e;
  int rc;
  if (obligation < 0) {
    rc = ts_explain_lockout(c->explainer, &s, &e);
  } else {
    ts_scenario_obligation_kind k = c->rw->scenario->checks.obligations[obligation].what;
    rc = ts_explain_missed(c->explainer, &s, obligation_subject[k], ts_scenario_obligation_name(k), &e);
  }
  *cycle = rc == TS_OK && e.deadlock;
  if (headline) snprintf(headline, hn, "%s", rc == TS_OK && e.found ? e.headline : "lockout");
  snprintf(text, tn, "%s", rc == TS_OK && e.found ? e.chain : "(no waits-for chain found in the device's state)");
}

static void obligation_due(void *obj, uint64_t index) {
  struct run_checks *c = obj;
  const ts_scenario_obligation *so = &c->rw->scenario->checks.obligations[index];
  if (so->what == TS_SCENARIO_OBLIGE_DOWNLOAD_DONE && c->rw->appstore &&
      ts_appstore_installed_at(c->rw->appstore) != TS_TIME_NEVER && c->met[index] == TS_TIME_NEVER)
    c->met[index] = ts_appstore_installed_at(c->rw->appstore);
  if (so->what == TS_SCENARIO_OBLIGE_APPS_REACH && c->first_success != TS_TIME_NEVER)
    c->met[index] = c->first_success;
  if (c->met[index] != TS_TIME_NEVER) return;
  ts_run_obligation *o = &c->missed[index];
  explain(c, (int)index, NULL, 0, o->explanation, sizeof o->explanation, &o->cycle);
}

static void heal_deadline(void *obj, uint64_t unused) {
  (void)unused;
  struct run_checks *c = obj;
  const ts_scenario_checks *sc = &c->rw->scenario->checks;
  ts_lockout_verdict v;
  ts_run_lockout *lo = &c->lockout_verdict;
  memset(lo, 0, sizeof *lo);
  lo->judged = true;
  if (ts_lockout_judge(c->lockout, sc->heal_at, sc->deadline, sc->window, &v) != TS_OK) return;
  lo->no_probe = v.status == TS_LOCKOUT_NO_PROBE;
  lo->locked_out = v.locked_out;
  lo->began = v.began;
  lo->last_success = v.last_success;
  if (lo->locked_out)
    explain(c, -1, lo->headline, sizeof lo->headline, lo->explanation, sizeof lo->explanation,
            &lo->cycle);
}

/* ------------------------------------------------------------ build and collect */

int run_build_checks(struct run_world *rw) {
  const ts_scenario *s = rw->scenario;
  if (!s->checks.configured) return TS_OK;
  struct run_checks *c = calloc(1, sizeof *c);
  if (!c) return TS_ENOMEM;
  int rc = ts_world_attach(rw->world, c, release_checks);
  if (rc) {
    free(c);
    return rc;
  }
  c->rw = rw;
  c->first_success = TS_TIME_NEVER;
  for (size_t i = 0; i < TS_SCENARIO_MAX_OBLIGATIONS; i++) c->met[i] = TS_TIME_NEVER;
  rc = ts_lockout_create(LOCKOUT_RUNS, &c->lockout);
  if (!rc) rc = ts_explainer_create(&c->explainer);
  for (int i = 0; !rc && i < LL_COUNT; i++)
    rc = ts_livelock_create(LIVELOCK_ENTRIES, LIVELOCK_LABELS, &c->livelock[i]);
  if (rc) return rc;
  rw->checks = c;
  ts_trace_set_event_listener(ts_world_trace(rw->world), on_event, c);
  rc = ts_world_schedule_in(rw->world, SAMPLE_PERIOD, sample, c, 0, NULL);
  for (size_t i = 0; !rc && i < s->checks.obligation_count; i++)
    rc = ts_world_schedule(rw->world, s->checks.obligations[i].by, obligation_due, c, i, NULL);
  if (!rc && s->checks.has_heal && !rw->options->branch_at)
    rc = ts_world_schedule(rw->world, s->checks.deadline, heal_deadline, c, 0, NULL);
  return rc;
}

static void collect_livelocks(struct run_checks *c, ts_run_result *r) {
  for (int i = 0; i < LL_COUNT; i++) {
    ts_livelock_finding f[2];
    size_t n = ts_livelock_find(c->livelock[i], f, 2);
    for (size_t k = 0; k < n && r->livelock_count < TS_RUN_MAX_LIVELOCKS; k++) {
      /* A loop the stream has left (its latest state is not one of the loop's: the
       * provider gave up, the download completed) ended; a livelock is still going. */
      if (!strstr(f[k].cycle, c->ll_last[i])) continue;
      ts_run_livelock *l = &r->livelocks[r->livelock_count++];
      snprintf(l->cycle, sizeof l->cycle, "%s: %s", ll_subject[i], f[k].cycle);
      l->repeats = (uint32_t)f[k].repeats;
      l->period = f[k].period;
      l->first = f[k].first;
      l->last = f[k].last;
    }
  }
}

void run_collect_checks(const struct run_world *rw, ts_run_result *r) {
  struct run_checks *c = rw->checks;
  if (!c) return;
  const ts_scenario_checks *sc = &rw->scenario->checks;
  r->has_checks = true;
  r->moment_count = c->moment_count;
  memcpy(r->moments, c->moments, sizeof c->moments[0] * c->moment_count);
  r->obligation_count = (uint32_t)sc->obligation_count;
  for (size_t i = 0; i < sc->obligation_count; i++) {
    ts_run_obligation *o = &r->obligations[i];
    *o = c->missed[i];
    o->what = sc->obligations[i].what;
    o->by = sc->obligations[i].by;
    o->met_at = c->met[i];
    o->met = c->met[i] != TS_TIME_NEVER && c->met[i] <= o->by;
  }
  collect_livelocks(c, r);
  r->lockout = c->lockout_verdict;
  if (rw->options->branch_at > 0) {
    ts_lockout_recovery rec;
    ts_time end = ts_world_now(rw->world);
    if (ts_lockout_after(c->lockout, rw->options->branch_at, end, sc->window, &rec) == TS_OK) {
      r->branch_restored = rec.restored;
      r->branch_time_to_restore = rec.time_to_restore;
      r->branch_relapses = rec.relapses;
      r->branch_ends_locked = rec.ends_locked;
    }
  }
}
