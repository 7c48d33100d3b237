/* The VPN session state machine: see ts_vpn_session.h. */
#include <stdlib.h>
#include <string.h>

#include "ts_vpn_session.h"

typedef struct listener {
  ts_vpn_session_listener fn;
  void *ctx;
} listener;

struct ts_vpn_session {
  const ts_os_profile *profile;
  const ts_vpn_config *config;
  ts_os_ifaces *ifaces;
  int utun;
  ts_vpn_status status;
  uint64_t epoch;
  bool provider_running;
  bool has_settings;
  bool routes_suppressed;   /* update-relaunch-skips-routes */
  ts_vpn_settings settings;
  ts_vpn_down_cause down;
  ts_vpn_stop_reason stop_reason;
  ts_vpn_start_cause start_cause;
  ts_time since;
  ts_vpn_exit last_exit;
  uint32_t exits[TS_EXIT_COUNT];
  int lq[TS_LQ_COUNT];
  listener listeners[TS_VPN_SESSION_MAX_LISTENERS];
  size_t listener_count;
};

static const char *const status_names[TS_VPN_STATUS_COUNT] = {
    "invalid", "disconnected", "connecting", "connected", "reasserting", "disconnecting"};
static const char *const stop_names[TS_STOP_REASON_COUNT] = {
    "none", "userInitiated", "providerFailed", "noNetworkAvailable",
    "unrecoverableNetworkChange", "providerDisabled", "authenticationCanceled",
    "configurationFailed", "idleTimeout", "configurationDisabled", "configurationRemoved",
    "superceded", "userLogout", "userSwitch", "connectionFailed", "sleep", "appUpdate",
    "internalError"};
static const char *const start_names[TS_START_CAUSE_COUNT] = {"user", "app", "on-demand",
                                                              "update-relaunch"};
static const char *const down_names[] = {"boot", "user", "provider"};
static const char *const exit_names[TS_EXIT_COUNT] = {
    "none", "stopped", "start-failed", "crash", "jetsam", "watchdog", "sigterm", "reboot"};

static const ts_vpn_lifecycle_quirk_info lq_info[TS_LQ_COUNT] = {
    {"start-timeout-action", TS_SRC_F_60S, {"stop-then-kill", "kill", NULL}, 0,
     "start watchdog expiry: stopTunnel then kill after the stop-timeout (F-60S log), or kill "
     "at once (MV-CODE comment)"},
    {"start-timeout-stop-reason", TS_SRC_F_60S, {"connectionFailed", "providerFailed", "none"}, 0,
     "the stop reason recorded for a start timeout; the F-60S log names none (INF)"},
    {"od-connect-on-any-trigger", TS_SRC_A_OD, {NULL, NULL, NULL}, 0,
     "a Connect rule also starts the VPN on boot and network changes, not only on an app's "
     "connection attempt (INF)"},
    {"update-stop-point", TS_SRC_GAP_3, {"download-start", "install", NULL}, 0,
     "when an App Store update SIGTERMs the provider (appUpdate): as the update begins, before "
     "the download (MV-BLOG's order), or after the download, just before installation"},
    {"update-relaunch-refused", TS_SRC_GAP_3, {NULL, NULL, NULL}, 1,
     "while the VPN app is updating every provider launch is refused (MV-BLOG: \"the old tunnel "
     "can't be relaunched\")"},
    {"refused-launch-suspends-on-demand", TS_SRC_GAP_3, {NULL, NULL, NULL}, 1,
     "a refused on-demand launch suspends on-demand triggers until a Settings toggle, the "
     "update's install or a reboot (INF from MV-BLOG: cancel alone does not help, cancel and "
     "toggling may)"},
    {"config-removal-keeps-policy", TS_SRC_GAP_3, {NULL, NULL, NULL}, 1,
     "removing the configuration while the session is down because of its provider and none "
     "runs leaves the session enforcing until reboot (MV-BLOG: uninstall or profile removal "
     "does not restore connectivity; mechanism INF)"},
};

const ts_vpn_lifecycle_quirk_info *ts_vpn_lifecycle_quirk_get(ts_vpn_lifecycle_quirk q) {
  return (unsigned)q < TS_LQ_COUNT ? &lq_info[q] : NULL;
}

const char *ts_vpn_exit_name(ts_vpn_exit e) {
  return (unsigned)e < TS_EXIT_COUNT ? exit_names[e] : NULL;
}

const char *ts_vpn_status_name(ts_vpn_status s) {
  return (unsigned)s < TS_VPN_STATUS_COUNT ? status_names[s] : NULL;
}
const char *ts_vpn_stop_reason_name(ts_vpn_stop_reason r) {
  return (unsigned)r < TS_STOP_REASON_COUNT ? stop_names[r] : NULL;
}
const char *ts_vpn_start_cause_name(ts_vpn_start_cause c) {
  return (unsigned)c < TS_START_CAUSE_COUNT ? start_names[c] : NULL;
}
const char *ts_vpn_down_cause_name(ts_vpn_down_cause c) {
  return (unsigned)c <= TS_DOWN_PROVIDER ? down_names[c] : NULL;
}

int ts_vpn_session_create(ts_vpn_session **out, const ts_os_profile *profile,
                          const ts_vpn_config *config, ts_os_ifaces *ifaces, int utun) {
  if (!out || !profile || !config || (utun && ts_os_iface_type_of(ifaces, utun) != TS_IFT_TUNNEL))
    return TS_EINVAL;
  ts_vpn_session *s = calloc(1, sizeof *s);
  if (!s) return TS_ENOMEM;
  s->profile = profile;
  s->config = config;
  s->ifaces = ifaces;
  s->utun = utun;
  s->status = ts_vpn_config_enabled(config) ? TS_VPN_DISCONNECTED : TS_VPN_INVALID;
  s->down = TS_DOWN_BOOT;
  for (int q = 0; q < TS_LQ_COUNT; q++) s->lq[q] = lq_info[q].fallback;
  *out = s;
  return 0;
}

void ts_vpn_session_destroy(ts_vpn_session *s) { free(s); }

int ts_vpn_session_listen(ts_vpn_session *s, ts_vpn_session_listener fn, void *ctx) {
  if (!s || !fn) return TS_EINVAL;
  if (s->listener_count == TS_VPN_SESSION_MAX_LISTENERS) return TS_EFULL;
  s->listeners[s->listener_count++] = (listener){fn, ctx};
  return 0;
}

/* The utun follows the applied settings: up with their addresses, or down. */
static void sync_utun(ts_vpn_session *s) {
  if (!s->utun) return;
  ts_os_iface_clear_addresses(s->ifaces, s->utun);
  bool up = s->provider_running && s->has_settings;
  if (up) {
    for (size_t i = 0; i < s->settings.address_count; i++)
      ts_os_iface_add_address(s->ifaces, s->utun, &s->settings.addresses[i]);
  }
  ts_os_iface_set_up(s->ifaces, s->utun, up);
}

static void set_status(ts_vpn_session *s, ts_time now, ts_vpn_status to) {
  ts_vpn_status from = s->status;
  s->status = to;
  s->since = now;
  for (size_t i = 0; i < s->listener_count; i++) s->listeners[i].fn(s->listeners[i].ctx, s, from, to);
}

/* The provider is gone: settings, routes and utun go with it. */
static void provider_gone(ts_vpn_session *s, ts_vpn_down_cause down, ts_vpn_stop_reason reason,
                          ts_vpn_exit exit) {
  if (s->provider_running) {
    s->last_exit = exit;
    s->exits[exit]++;
  }
  s->provider_running = false;
  s->has_settings = false;
  s->routes_suppressed = false;
  s->down = down;
  s->stop_reason = reason;
  sync_utun(s);
}

/* Started and not yet asked to stop. */
static bool running(ts_vpn_status st) {
  return st == TS_VPN_CONNECTING || st == TS_VPN_CONNECTED || st == TS_VPN_REASSERTING;
}

static bool active(ts_vpn_status st) { return running(st) || st == TS_VPN_DISCONNECTING; }

int ts_vpn_session_configure(ts_vpn_session *s, ts_time now) {
  if (!s) return TS_EINVAL;
  bool enabled = ts_vpn_config_enabled(s->config);
  if (s->status == TS_VPN_INVALID && enabled) {
    s->down = TS_DOWN_BOOT;
    set_status(s, now, TS_VPN_DISCONNECTED);
  } else if (s->status == TS_VPN_DISCONNECTED && !enabled) {
    set_status(s, now, TS_VPN_INVALID);
  } else if (active(s->status)) {
    return TS_ESTATE;
  }
  return 0;
}

int ts_vpn_session_start(ts_vpn_session *s, ts_time now, ts_vpn_start_cause cause) {
  if (!s || (unsigned)cause >= TS_START_CAUSE_COUNT) return TS_EINVAL;
  if (s->status != TS_VPN_DISCONNECTED) return TS_ESTATE;
  s->epoch++;
  s->provider_running = true;
  s->has_settings = false;
  s->start_cause = cause;
  s->stop_reason = TS_STOP_NONE;
  s->last_exit = TS_EXIT_NONE;
  sync_utun(s);
  set_status(s, now, TS_VPN_CONNECTING);
  return 0;
}

static ts_vpn_down_cause down_for(ts_vpn_stop_reason reason) {
  switch (reason) {
  case TS_STOP_NONE: /* an on-demand Disconnect rule stopped it (INF: A-OD names no reason) */
  case TS_STOP_USER_INITIATED:
  case TS_STOP_CONFIGURATION_DISABLED:
  case TS_STOP_CONFIGURATION_REMOVED:
  case TS_STOP_SUPERCEDED:
  case TS_STOP_USER_LOGOUT:
  case TS_STOP_USER_SWITCH:
  case TS_STOP_SLEEP:
  case TS_STOP_IDLE_TIMEOUT:
    return TS_DOWN_USER;
  default:
    return TS_DOWN_PROVIDER;
  }
}

int ts_vpn_session_stop(ts_vpn_session *s, ts_time now, ts_vpn_stop_reason reason) {
  if (!s || (unsigned)reason >= TS_STOP_REASON_COUNT) return TS_EINVAL;
  if (!running(s->status)) return TS_ESTATE;
  s->stop_reason = reason;
  set_status(s, now, TS_VPN_DISCONNECTING);
  return 0;
}

int ts_vpn_session_stop_completed(ts_vpn_session *s, ts_time now) {
  if (!s) return TS_EINVAL;
  if (s->status != TS_VPN_DISCONNECTING) return TS_ESTATE;
  provider_gone(s, down_for(s->stop_reason), s->stop_reason, TS_EXIT_STOPPED);
  set_status(s, now, TS_VPN_DISCONNECTED);
  return 0;
}

int ts_vpn_session_provider_exited(ts_vpn_session *s, ts_time now, ts_vpn_stop_reason reason) {
  return ts_vpn_session_provider_killed(s, now, reason, TS_EXIT_CRASH);
}

int ts_vpn_session_provider_killed(ts_vpn_session *s, ts_time now, ts_vpn_stop_reason reason,
                                   ts_vpn_exit exit) {
  if (!s || (unsigned)reason >= TS_STOP_REASON_COUNT || exit <= TS_EXIT_NONE ||
      exit >= TS_EXIT_COUNT)
    return TS_EINVAL;
  if (!active(s->status)) return TS_ESTATE;
  if (exit == TS_EXIT_WATCHDOG && s->status == TS_VPN_DISCONNECTING)
    provider_gone(s, down_for(s->stop_reason), s->stop_reason, exit);
  else
    provider_gone(s, TS_DOWN_PROVIDER, reason, exit);
  set_status(s, now, TS_VPN_DISCONNECTED);
  return 0;
}

static const ts_vpn_stop_reason start_timeout_reasons[] = {
    TS_STOP_CONNECTION_FAILED, TS_STOP_PROVIDER_FAILED, TS_STOP_NONE};

ts_vpn_watchdog_action ts_vpn_session_watchdog(ts_vpn_session *s, ts_time now) {
  if (!s) return TS_VPN_WD_NONE;
  ts_time deadline = ts_vpn_session_deadline(s);
  if (deadline == TS_TIME_NEVER || now < deadline) return TS_VPN_WD_NONE;
  if (s->status == TS_VPN_CONNECTING) {
    ts_vpn_stop_reason reason = start_timeout_reasons[s->lq[TS_LQ_START_TIMEOUT_REASON]];
    if (s->lq[TS_LQ_START_TIMEOUT_ACTION] == 0) {
      s->stop_reason = reason;
      set_status(s, now, TS_VPN_DISCONNECTING);
      return TS_VPN_WD_STOP;
    }
    provider_gone(s, TS_DOWN_PROVIDER, reason, TS_EXIT_WATCHDOG);
    set_status(s, now, TS_VPN_DISCONNECTED);
    return TS_VPN_WD_KILL;
  }
  if (s->status == TS_VPN_DISCONNECTING) {
    ts_vpn_session_provider_killed(s, now, s->stop_reason, TS_EXIT_WATCHDOG);
    return TS_VPN_WD_KILL;
  }
  return TS_VPN_WD_NONE;
}

int ts_vpn_session_set_lifecycle_quirk(ts_vpn_session *s, ts_vpn_lifecycle_quirk q, int value) {
  if (!s || (unsigned)q >= TS_LQ_COUNT || value < 0) return TS_EINVAL;
  int count = 0;
  while (count < 3 && lq_info[q].values[count]) count++;
  if (value >= (count ? count : 2)) return TS_EINVAL;
  s->lq[q] = value;
  return 0;
}

int ts_vpn_session_lifecycle_quirk(const ts_vpn_session *s, ts_vpn_lifecycle_quirk q) {
  return (unsigned)q < TS_LQ_COUNT ? s->lq[q] : 0;
}

int ts_vpn_session_reboot(ts_vpn_session *s, ts_time now) {
  if (!s) return TS_EINVAL;
  provider_gone(s, TS_DOWN_BOOT, TS_STOP_NONE, TS_EXIT_REBOOT);
  set_status(s, now, ts_vpn_config_enabled(s->config) ? TS_VPN_DISCONNECTED : TS_VPN_INVALID);
  return 0;
}

int ts_vpn_session_set_settings(ts_vpn_session *s, ts_time now, const ts_vpn_settings *settings) {
  (void)now;
  if (!s) return TS_EINVAL;
  if (!running(s->status)) return TS_ESTATE;
  if (settings) {
    s->settings = *settings;
    s->has_settings = true;
    /* IVPN-283 (iOS 16.0): after an update relaunch the settings are accepted but
     * the routes never take effect, while the status goes to connected. */
    s->routes_suppressed =
        s->start_cause == TS_START_UPDATE_RELAUNCH &&
        ts_os_profile_quirk(s->profile, TS_QUIRK_UPDATE_RELAUNCH_SKIPS_ROUTES) != 0;
  } else {
    s->has_settings = false;
    s->routes_suppressed = false;
  }
  sync_utun(s);
  return 0;
}

int ts_vpn_session_start_completed(ts_vpn_session *s, ts_time now, int error) {
  if (!s) return TS_EINVAL;
  if (s->status != TS_VPN_CONNECTING) return TS_ESTATE;
  if (error == 0) {
    set_status(s, now, TS_VPN_CONNECTED);
  } else {
    provider_gone(s, TS_DOWN_PROVIDER, TS_STOP_PROVIDER_FAILED, TS_EXIT_START_FAILED);
    set_status(s, now, TS_VPN_DISCONNECTED);
  }
  return 0;
}

int ts_vpn_session_set_reasserting(ts_vpn_session *s, ts_time now, bool reasserting) {
  if (!s) return TS_EINVAL;
  if (reasserting) {
    if (s->status != TS_VPN_CONNECTED) return TS_ESTATE;
    set_status(s, now, TS_VPN_REASSERTING);
    return 0;
  }
  if (s->status != TS_VPN_REASSERTING) return TS_ESTATE;
  /* §8.7 (GAP-7): clients believe the toggle invalidates old sockets; selectable. */
  if (ts_os_profile_quirk(s->profile, TS_QUIRK_REASSERTING_INVALIDATES_SOCKETS)) s->epoch++;
  set_status(s, now, TS_VPN_CONNECTED);
  return 0;
}

int ts_vpn_session_cancel(ts_vpn_session *s, ts_time now) {
  return ts_vpn_session_stop(s, now, TS_STOP_PROVIDER_FAILED);
}

ts_vpn_status ts_vpn_session_status(const ts_vpn_session *s) { return s->status; }
uint64_t ts_vpn_session_epoch(const ts_vpn_session *s) { return s->epoch; }
bool ts_vpn_session_provider_running(const ts_vpn_session *s) { return s->provider_running; }

bool ts_vpn_session_tunnel_up(const ts_vpn_session *s) {
  if (!s->provider_running || !s->has_settings || !active(s->status)) return false;
  return !s->utun || ts_os_iface_is_up(s->ifaces, s->utun);
}

bool ts_vpn_session_routes_installed(const ts_vpn_session *s) {
  return ts_vpn_session_tunnel_up(s) && !s->routes_suppressed;
}

const ts_vpn_settings *ts_vpn_session_settings(const ts_vpn_session *s) {
  return s->has_settings ? &s->settings : NULL;
}
int ts_vpn_session_utun(const ts_vpn_session *s) { return s->utun; }
ts_vpn_down_cause ts_vpn_session_down_cause(const ts_vpn_session *s) { return s->down; }
ts_vpn_stop_reason ts_vpn_session_stop_reason(const ts_vpn_session *s) { return s->stop_reason; }
ts_vpn_start_cause ts_vpn_session_start_cause(const ts_vpn_session *s) { return s->start_cause; }
ts_time ts_vpn_session_since(const ts_vpn_session *s) { return s->since; }
ts_vpn_exit ts_vpn_session_last_exit(const ts_vpn_session *s) { return s->last_exit; }
uint32_t ts_vpn_session_exit_count(const ts_vpn_session *s, ts_vpn_exit e) {
  return (unsigned)e < TS_EXIT_COUNT ? s->exits[e] : 0;
}
const ts_os_profile *ts_vpn_session_profile(const ts_vpn_session *s) { return s->profile; }
const ts_vpn_config *ts_vpn_session_config(const ts_vpn_session *s) { return s->config; }

ts_time ts_vpn_session_deadline(const ts_vpn_session *s) {
  int64_t limit = 0;
  if (s->status == TS_VPN_CONNECTING) limit = ts_os_profile_limit(s->profile, TS_LIMIT_START_TIMEOUT);
  else if (s->status == TS_VPN_DISCONNECTING)
    limit = ts_os_profile_limit(s->profile, TS_LIMIT_STOP_TIMEOUT);
  if (limit <= 0 || s->since > TS_TIME_NEVER - limit) return TS_TIME_NEVER;
  return s->since + limit;
}
