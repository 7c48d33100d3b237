/* The scenario's timeline: each entry becomes one world event at its time; the
 * event's argument is the entry's index. */
#include <string.h>

#include "run_internal.h"

static const char *const phone_ifname[TS_SCENARIO_PHONE_IF_COUNT] = {"en0", "pdp_ip0"};

static ts_vpn_stop_reason stop_reason(ts_scenario_stop_reason r) {
  const char *apple = ts_scenario_stop_reason_apple_name(r);
  for (int i = 0; i < TS_STOP_REASON_COUNT; i++)
    if (apple && !strcmp(ts_vpn_stop_reason_name((ts_vpn_stop_reason)i), apple)) return (ts_vpn_stop_reason)i;
  return TS_STOP_USER_INITIATED;
}

static void trace_failure(struct run_world *rw, const ts_timeline_event *e, int rc) {
  ts_trace_event(ts_world_trace(rw->world), ts_world_now(rw->world), "timeline-error",
                 ts_scenario_action_name((int)e->action), ts_strerror(rc));
}

/* Entries are numbered: the scenario's timeline first, then the injected ones. */
static const ts_timeline_event *event_at(const struct run_world *rw, uint64_t index) {
  size_t n = rw->scenario->timeline_count;
  return index < n ? &rw->scenario->timeline[index] : &rw->options->inject[index - n];
}

/* The second half of a reassert or of a hard reconnect: arg is the entry's index. */
static void end_reassert(void *obj, uint64_t index) {
  struct run_world *rw = obj;
  (void)index;
  ts_provider_set_reasserting(rw->provider, false);
}

static void restart_vpn(void *obj, uint64_t index) {
  struct run_world *rw = obj;
  int rc = ts_provider_start(rw->provider, TS_START_USER);
  if (rc) trace_failure(rw, event_at(rw, index), rc);
}

static int set_flag(struct run_world *rw, const ts_timeline_event *e, uint64_t index) {
  int flag = ts_vpn_flag_find(ts_scenario_flag_apple_name((int)e->flag));
  if (flag < 0) return TS_EINVAL;
  int rc = ts_vpn_config_set_flag(ts_phone_vpn_config(rw->phone), (ts_vpn_flag)flag, e->value);
  ts_phone_path_changed(rw->phone);
  if (rc || !e->reconnect) return rc;
  /* A hard reconnect (GT-27): stop now, start again after `duration`. */
  rc = ts_provider_stop(rw->provider, TS_STOP_CONFIGURATION_DISABLED);
  if (!rc) rc = ts_world_schedule_in(rw->world, e->duration > 0 ? e->duration : 1, restart_vpn, rw, index, NULL);
  return rc;
}

static void fire(void *obj, uint64_t index) {
  struct run_world *rw = obj;
  const ts_timeline_event *e = event_at(rw, index);
  int rc = TS_OK;
  switch (e->action) {
  case TS_ACTION_LINK_DOWN: rc = ts_world_link_set_up(rw->world, rw->links[e->link], false); break;
  case TS_ACTION_LINK_UP: rc = ts_world_link_set_up(rw->world, rw->links[e->link], true); break;
  case TS_ACTION_VPN_CONNECT: rc = ts_provider_start(rw->provider, (ts_vpn_start_cause)e->cause); break;
  case TS_ACTION_VPN_DISCONNECT: rc = ts_provider_stop(rw->provider, stop_reason(e->reason)); break;
  case TS_ACTION_VPN_ERROR: rc = ts_provider_enter_error_state(rw->provider); break;
  case TS_ACTION_WIFI_DOWN: rc = ts_phone_iface_set_up(rw->phone, "en0", false); break;
  case TS_ACTION_WIFI_UP: rc = ts_phone_iface_set_up(rw->phone, "en0", true); break;
  case TS_ACTION_CELLULAR_DOWN: rc = ts_phone_iface_set_up(rw->phone, "pdp_ip0", false); break;
  case TS_ACTION_CELLULAR_UP: rc = ts_phone_iface_set_up(rw->phone, "pdp_ip0", true); break;
  case TS_ACTION_SWITCH_PRIMARY: rc = ts_phone_set_primary(rw->phone, phone_ifname[e->to]); break;
  case TS_ACTION_REASSERT:
    rc = ts_provider_set_reasserting(rw->provider, true);
    if (!rc) rc = ts_world_schedule_in(rw->world, e->duration, end_reassert, rw, index, NULL);
    break;
  case TS_ACTION_SET_FLAG: rc = set_flag(rw, e, index); break;
  case TS_ACTION_PROVIDER_CRASH: rc = ts_provider_crash(rw->provider); break;
  case TS_ACTION_REBOOT: rc = ts_phone_reboot(rw->phone); break;
  case TS_ACTION_UNLOCK: rc = ts_phone_unlock(rw->phone); break;
  case TS_ACTION_SLEEP: rc = ts_phone_sleep(rw->phone); break;
  case TS_ACTION_WAKE: rc = ts_phone_wake(rw->phone); break;
  case TS_ACTION_AIRPLANE_ON: rc = ts_phone_set_airplane(rw->phone, true); break;
  case TS_ACTION_AIRPLANE_OFF: rc = ts_phone_set_airplane(rw->phone, false); break;
  case TS_ACTION_APP_DISCONNECT: rc = ts_phone_vpn_app_disconnect(rw->phone); break;
  case TS_ACTION_OPEN_APP: rc = ts_phone_open_app(rw->phone); break;
  default: rc = run_lifecycle_action(rw, e); break;
  }
  if (rc) trace_failure(rw, e, rc);
}

static void connect_at(void *obj, uint64_t unused) {
  struct run_world *rw = obj;
  (void)unused;
  int rc = ts_provider_start(rw->provider, TS_START_USER);
  if (rc)
    ts_trace_event(ts_world_trace(rw->world), ts_world_now(rw->world), "timeline-error", "connect-at",
                   ts_strerror(rc));
}

int run_schedule_timeline(struct run_world *rw) {
  const ts_scenario *s = rw->scenario;
  size_t total = s->timeline_count + rw->options->inject_count;
  for (size_t i = 0; i < total; i++) {
    int rc = ts_world_schedule(rw->world, event_at(rw, i)->at, fire, rw, i, NULL);
    if (rc) return rc;
  }
  if (s->has_phone && s->phone.vpn.configured && s->phone.vpn.has_connect_at)
    return ts_world_schedule(rw->world, s->phone.vpn.connect_at, connect_at, rw, 0, NULL);
  return TS_OK;
}
