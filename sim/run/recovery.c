/* Recovery analysis: what gets a user out of a lockout. A run is a pure function
 * of (scenario, seed, build), so "replay to the lockout and branch" is the same
 * scenario run again with one user action added at the heal deadline: the prefix
 * is the lockout run itself, event for event. Each branch then runs for the
 * scenario's horizon, and the checks oracle of that run says whether the apps got
 * through after the action, how soon, and whether the lockout came back. */
#include <stdlib.h>
#include <string.h>

#include "ts_run.h"

static const char *const action_names[TS_RECOVER_COUNT] = {
    [TS_RECOVER_CANCEL_DOWNLOAD] = "cancel-download",
    [TS_RECOVER_TOGGLE_ONCE] = "toggle-once",
    [TS_RECOVER_TOGGLE_TWICE] = "toggle-twice",
    [TS_RECOVER_CANCEL_AND_TOGGLE_TWICE] = "cancel-and-toggle-twice",
    [TS_RECOVER_REBOOT] = "reboot",
    [TS_RECOVER_UNINSTALL_APP] = "uninstall-app",
    [TS_RECOVER_REMOVE_VPN_PROFILE] = "remove-vpn-profile",
    [TS_RECOVER_OPEN_APP] = "open-app",
};

const char *ts_run_recovery_action_name(ts_run_recovery_action a) {
  return a < TS_RECOVER_COUNT ? action_names[a] : NULL;
}

#define MAX_STEPS 3

/* The user's steps of an action, seconds apart as a person would do them. */
static size_t steps_of(ts_run_recovery_action a, ts_time t, ts_timeline_event *ev) {
  static const struct { ts_timeline_action action; ts_time after; } plan[TS_RECOVER_COUNT][MAX_STEPS] = {
      [TS_RECOVER_CANCEL_DOWNLOAD] = {{TS_ACTION_CANCEL_DOWNLOAD, 0}},
      [TS_RECOVER_TOGGLE_ONCE] = {{TS_ACTION_SETTINGS_TOGGLE, 0}},
      [TS_RECOVER_TOGGLE_TWICE] = {{TS_ACTION_SETTINGS_TOGGLE, 0},
                                   {TS_ACTION_SETTINGS_TOGGLE, 2 * TS_SEC}},
      [TS_RECOVER_CANCEL_AND_TOGGLE_TWICE] = {{TS_ACTION_CANCEL_DOWNLOAD, 0},
                                              {TS_ACTION_SETTINGS_TOGGLE, 2 * TS_SEC},
                                              {TS_ACTION_SETTINGS_TOGGLE, 4 * TS_SEC}},
      /* After a reboot the user unlocks the phone (GT-23 matters only if the
       * provider needs the Keychain). */
      [TS_RECOVER_REBOOT] = {{TS_ACTION_REBOOT, 0}, {TS_ACTION_UNLOCK, 10 * TS_SEC}},
      [TS_RECOVER_UNINSTALL_APP] = {{TS_ACTION_UNINSTALL_APP, 0}},
      [TS_RECOVER_REMOVE_VPN_PROFILE] = {{TS_ACTION_REMOVE_VPN_PROFILE, 0}},
      [TS_RECOVER_OPEN_APP] = {{TS_ACTION_OPEN_APP, 0}},
  };
  size_t n = 0;
  for (size_t i = 0; i < MAX_STEPS; i++) {
    if (i > 0 && plan[a][i].action == TS_ACTION_LINK_DOWN) break; /* unused slot (zero) */
    memset(&ev[n], 0, sizeof ev[n]);
    ev[n].at = t + plan[a][i].after;
    ev[n].action = plan[a][i].action;
    ev[n].link = TS_SCENARIO_NONE;
    n++;
  }
  return n;
}

static bool applicable(const ts_scenario *s, ts_run_recovery_action a) {
  if (!s->has_phone || !s->phone.vpn.configured) return false;
  bool appstore = s->phone.appstore.configured;
  return (a != TS_RECOVER_CANCEL_DOWNLOAD && a != TS_RECOVER_CANCEL_AND_TOGGLE_TWICE) || appstore;
}

int ts_run_recover(const ts_scenario *s, const ts_run_options *o, ts_run_result *r,
                   ts_run_progress_fn progress, void *ctx) {
  r->recovery_count = 0;
  if (!r->has_checks || !r->lockout.locked_out || !s->checks.recovery) return TS_OK;
  ts_run_result *branch = malloc(sizeof *branch);
  if (!branch) return TS_ENOMEM;
  ts_time t = s->checks.deadline;
  int rc = TS_OK;
  for (int a = 0; a < TS_RECOVER_COUNT && !rc; a++) {
    ts_run_recovery *rec = &r->recovery[r->recovery_count++];
    memset(rec, 0, sizeof *rec);
    rec->action = (ts_run_recovery_action)a;
    rec->time_to_restore = TS_TIME_NEVER;
    rec->applicable = applicable(s, rec->action);
    if (!rec->applicable) continue;
    if (progress) progress(ctx, action_names[a], (uint32_t)a, TS_RECOVER_COUNT);
    ts_timeline_event ev[MAX_STEPS];
    ts_run_options bo = *o;
    bo.inject = ev;
    bo.inject_count = steps_of(rec->action, t, ev);
    bo.branch_at = t;
    bo.until = t + s->checks.horizon;
    bo.pcap_path = bo.trace_path = NULL;
    rc = ts_run_scenario(s, &bo, branch);
    if (rc) break;
    rec->restored = branch->branch_restored;
    rec->time_to_restore = branch->branch_time_to_restore;
    rec->relapses = branch->branch_relapses;
    rec->ends_locked = branch->branch_ends_locked;
  }
  free(branch);
  return rc;
}
