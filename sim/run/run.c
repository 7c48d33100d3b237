/* One run: build the world from the scenario, run it, and collect what happened. */
#include "ts_run.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "run_internal.h"
#include "ts_native.h"

#include <sodium.h>

#define DEFAULT_SEED 1
#define DEFAULT_DURATION (10 * TS_SEC)

void ts_run_defaults(const ts_scenario *s, ts_run_options *o) {
  memset(o, 0, sizeof *o);
  o->seed = s->has_seed ? s->seed : DEFAULT_SEED;
  o->until = s->has_duration ? s->duration : DEFAULT_DURATION;
}

int run_fail(struct run_world *rw, int rc, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(rw->error, sizeof rw->error, fmt, ap);
  va_end(ap);
  return rc;
}

static void release_run_world(void *obj) {
  struct run_world *rw = obj;
  free(rw->hosts);
  free(rw->tcp_hosts);
  free(rw->links);
  free(rw->relays);
  free(rw->relay_addrs);
  free(rw->relay_public);
  if (rw->relay_private) sodium_memzero(rw->relay_private, sizeof *rw->relay_private * rw->relay_slots);
  free(rw->relay_private);
  sodium_memzero(rw->phone_private, sizeof rw->phone_private);
  sodium_memzero(rw->static_static, sizeof rw->static_static);
  free(rw->phone_apps);
  free(rw);
}

static size_t at_least_one(size_t n) { return n ? n : 1; }

static int create_run_world(ts_world *w, const ts_scenario *s, const ts_run_options *o,
                            struct run_world **out) {
  struct run_world *rw = calloc(1, sizeof *rw);
  if (!rw) return TS_ENOMEM;
  rw->world = w;
  rw->scenario = s;
  rw->options = o;
  rw->hosts = calloc(at_least_one(s->node_count), sizeof *rw->hosts);
  rw->tcp_hosts = calloc(at_least_one(s->node_count), sizeof *rw->tcp_hosts);
  rw->links = calloc(at_least_one(s->link_count), sizeof *rw->links);
  rw->relays = calloc(at_least_one(s->relay_count), sizeof *rw->relays);
  rw->relay_addrs = calloc(at_least_one(s->relay_count), sizeof *rw->relay_addrs);
  rw->relay_public = calloc(at_least_one(s->relay_count), sizeof *rw->relay_public);
  rw->relay_slots = at_least_one(s->relay_count);
  rw->relay_private = calloc(rw->relay_slots, sizeof *rw->relay_private);
  rw->phone_apps = calloc(at_least_one(s->has_phone ? s->phone.app_count : 0), sizeof *rw->phone_apps);
  int rc = ts_world_attach(w, rw, release_run_world);
  if (rc) {
    release_run_world(rw);
    return rc;
  }
  if (!rw->hosts || !rw->tcp_hosts || !rw->links || !rw->relays || !rw->relay_addrs ||
      !rw->relay_public || !rw->relay_private ||
      !rw->phone_apps)
    return TS_ENOMEM;
  *out = rw;
  return TS_OK;
}

static void collect_phone(const struct run_world *rw, ts_run_result *r) {
  const ts_scenario *s = rw->scenario;
  r->has_phone = true;
  ts_phone_get_stats(rw->phone, &r->phone);
  r->phone_app_count = (uint32_t)(s->phone.app_count < TS_RUN_MAX_APPS ? s->phone.app_count : TS_RUN_MAX_APPS);
  for (uint32_t i = 0; i < r->phone_app_count; i++) {
    snprintf(r->phone_apps[i].name, sizeof r->phone_apps[i].name, "%s", s->phone.apps[i].name);
    if (rw->phone_apps[i]) ts_phone_app_get_stats(rw->phone_apps[i], &r->phone_apps[i].stats);
  }
  uint64_t oracle_other = 0;
  for (int c = 0; c < TS_EGRESS_CLASS_COUNT; c++) {
    r->egress[c] = ts_leak_oracle_count(rw->oracle, (ts_egress_class)c);
    if (c != TS_EGRESS_TUNNEL) oracle_other += r->egress[c];
  }
  size_t n = ts_leak_oracle_finding_count(rw->oracle);
  r->findings_total = (uint32_t)n;
  r->finding_count = (uint32_t)(n < TS_RUN_MAX_FINDINGS ? n : TS_RUN_MAX_FINDINGS);
  for (uint32_t i = 0; i < r->finding_count; i++) r->findings[i] = *ts_leak_oracle_finding(rw->oracle, i);
  if (rw->wire) {
    r->has_wire = true;
    r->wire_tunnel = ts_wire_observer_count(rw->wire, TS_WIRE_TUNNEL);
    r->wire_other = ts_wire_observer_count(rw->wire, TS_WIRE_CLEAR) +
                    ts_wire_observer_count(rw->wire, TS_WIRE_CONTROL);
    /* The phone's other interfaces are not watched by the observer. */
    r->observers_agree = r->wire_tunnel <= r->egress[TS_EGRESS_TUNNEL] && r->wire_other <= oracle_other;
    if (!s->phone.ifaces[TS_SCENARIO_CELLULAR].configured)
      r->observers_agree = r->wire_tunnel == r->egress[TS_EGRESS_TUNNEL] && r->wire_other == oracle_other;
  }
}

static void collect(const struct run_world *rw, const ts_run_options *o, ts_run_result *r) {
  ts_world *w = rw->world;
  ts_trace *t = ts_world_trace(w);
  ts_trace_hash_hex(t, r->trace_hash);
  r->seed = o->seed;
  r->sim_time = ts_world_now(w);
  r->events = ts_world_events_run(w);
  r->trace_records = ts_trace_records(t);
  r->unrouted = ts_net_unrouted(rw->net);
  r->app_count = ts_net_app_count(rw->net);
  if (r->app_count > TS_RUN_MAX_APPS) r->app_count = TS_RUN_MAX_APPS;
  for (uint32_t i = 0; i < r->app_count; i++) {
    ts_net_app_stats(rw->net, i, &r->apps[i]);
    snprintf(r->app_names[i], sizeof r->app_names[i], "%s", r->apps[i].name);
    snprintf(r->app_hosts[i], sizeof r->app_hosts[i], "%s", r->apps[i].host);
    r->apps[i].name = r->app_names[i];
    r->apps[i].host = r->app_hosts[i];
  }
  if (rw->phone) collect_phone(rw, r);
  if (rw->phone) run_collect_checks(rw, r);
}

static int build(struct run_world *rw) {
  int rc = run_build_net(rw);
  if (!rc) rc = run_build_services(rw);
  if (!rc) rc = run_build_phone(rw);
  if (!rc) rc = run_schedule_timeline(rw);
  return rc;
}

int ts_run_in_world(ts_world *w, const ts_scenario *s, const ts_run_options *o, ts_run_result *r) {
  memset(r, 0, sizeof *r);
  int rc = ts_world_reset(w, o->seed);
  if (rc) return rc;
  ts_trace *t = ts_world_trace(w);
  if (o->pcap_path && (rc = ts_trace_open_pcapng(t, o->pcap_path))) return rc;
  if (o->trace_path && (rc = ts_trace_open_jsonl(t, o->trace_path))) {
    ts_trace_close_sinks(t);
    return rc;
  }
  struct run_world *rw = NULL;
  rc = create_run_world(w, s, o, &rw);
  if (!rc) rc = build(rw);
  if (!rc) rc = ts_world_run_until(w, o->until);
  if (!rc) collect(rw, o, r);
  else if (rw) snprintf(r->error, sizeof r->error, "%s", rw->error);
  r->sink_error = ts_trace_close_sinks(t);
  return rc;
}

int ts_run_scenario(const ts_scenario *s, const ts_run_options *o, ts_run_result *r) {
  ts_world *w;
  int rc = ts_world_create(&w, o->backend ? o->backend : &ts_native_backend, o->seed);
  if (rc) return rc;
  rc = ts_run_in_world(w, s, o, r);
  ts_world_destroy(w);
  return rc;
}
