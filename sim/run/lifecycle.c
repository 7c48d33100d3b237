/* The lifecycle of a scenario's phone: the session's lifecycle quirks, the App
 * Store, and the timeline actions that act on them (the user's actions on the
 * VPN and on the app). The oracles that judge the lifecycle live in checks.c. */
#include <stdio.h>
#include <string.h>

#include "run_internal.h"
#include "ts_appstore.h"

static void schema_changed(void *ctx) {
  struct run_world *rw = ctx;
  if (rw->provider) ts_provider_set_settings_outdated(rw->provider, true);
}

static int create_appstore(struct run_world *rw) {
  const ts_scenario *s = rw->scenario;
  const ts_scenario_appstore *sa = &s->phone.appstore;
  const ts_scenario_node *node = &s->nodes[sa->server];
  ts_appstore_config c;
  memset(&c, 0, sizeof c);
  for (size_t i = 0; i < node->interface_count && !c.server.family; i++)
    if (node->interfaces[i].address_count) c.server = node->interfaces[i].addresses[0].addr;
  if (!c.server.family)
    return run_fail(rw, TS_EINVAL, "phone appstore: node '%s' has no address", node->name);
  c.port = sa->port;
  c.size = sa->size;
  c.attempt_timeout = sa->attempt_timeout;
  c.backoff_initial = sa->backoff_initial;
  c.backoff_max = sa->backoff_max;
  c.install_duration = sa->install;
  c.automatic = sa->automatic;
  c.retry_after_boot = sa->retry_after_boot;
  if (sa->schema_change) {
    c.on_installed = schema_changed;
    c.ctx = rw;
  }
  int rc = ts_appstore_create(rw->phone, &c, &rw->appstore);
  return rc ? run_fail(rw, rc, "phone appstore: %s", ts_strerror(rc)) : TS_OK;
}

int run_build_lifecycle(struct run_world *rw) {
  const ts_scenario_phone *sp = &rw->scenario->phone;
  ts_vpn_session *session = ts_phone_session(rw->phone);
  for (size_t i = 0; i < sp->quirk_count; i++) {
    if (!sp->quirks[i].lifecycle) continue;
    int rc = ts_vpn_session_set_lifecycle_quirk(session, (ts_vpn_lifecycle_quirk)sp->quirks[i].id,
                                                sp->quirks[i].value);
    if (rc) return run_fail(rw, rc, "phone quirk '%s': %s", sp->quirks[i].name, ts_strerror(rc));
  }
  int rc = sp->appstore.configured ? create_appstore(rw) : TS_OK;
  if (!rc) rc = run_build_checks(rw);
  return rc;
}

int run_lifecycle_action(struct run_world *rw, const ts_timeline_event *e) {
  switch (e->action) {
  case TS_ACTION_SETTINGS_TOGGLE: return ts_phone_settings_toggle(rw->phone);
  case TS_ACTION_REMOVE_VPN_PROFILE: return ts_phone_remove_vpn_profile(rw->phone);
  case TS_ACTION_UNINSTALL_APP: return ts_phone_uninstall_app(rw->phone);
  case TS_ACTION_APP_UPDATE: return ts_appstore_begin_update(rw->appstore);
  case TS_ACTION_CANCEL_DOWNLOAD: return ts_appstore_cancel(rw->appstore);
  default: return TS_ENOTSUP;
  }
}
