/* The VPN session (nesessionmanager's view of one configuration): NEVPNStatus
 * invalid / disconnected / connecting / connected / reasserting / disconnecting,
 * driven from two sides. The system side starts and stops the session (user,
 * app, on-demand, update relaunch, reboot, provider death); the provider side is
 * the interface a tunnel provider device drives: the system "calls startTunnel" by
 * moving to connecting, and the provider answers with setTunnelNetworkSettings,
 * the startTunnel completion, reasserting and cancelTunnelWithError.
 *
 * What the policy decision needs is kept here: the status, the epoch (incremented
 * on every disconnected -> connecting, so a connection established in an older
 * epoch existed before the current tunnel started, ios-model.md §1.3/§1.4), whether
 * the tunnel's routes are installed, why the session is down (boot, user, provider),
 * and the applied settings. For the lifecycle issue it also keeps the start cause,
 * the last stop reason, the time of the last change and the watchdog deadline of
 * the current state (profile limits start-timeout / stop-timeout, F-60S), and calls
 * listeners on every status change. Transitions take the current time; nothing
 * here reads a clock or schedules events. */
#ifndef TS_VPN_SESSION_H
#define TS_VPN_SESSION_H

#include <stdbool.h>
#include <stdint.h>

#include "ts_error.h"
#include "ts_os_iface.h"
#include "ts_os_profile.h"
#include "ts_time.h"
#include "ts_vpn_config.h"

typedef enum ts_vpn_status {
  TS_VPN_INVALID = 0,
  TS_VPN_DISCONNECTED,
  TS_VPN_CONNECTING,
  TS_VPN_CONNECTED,
  TS_VPN_REASSERTING,
  TS_VPN_DISCONNECTING,
  TS_VPN_STATUS_COUNT
} ts_vpn_status;

/* NEProviderStopReason raw values (A-STOP); internalError is iOS 18.1+. */
typedef enum ts_vpn_stop_reason {
  TS_STOP_NONE = 0,
  TS_STOP_USER_INITIATED = 1,
  TS_STOP_PROVIDER_FAILED = 2,
  TS_STOP_NO_NETWORK_AVAILABLE = 3,
  TS_STOP_UNRECOVERABLE_NETWORK_CHANGE = 4,
  TS_STOP_PROVIDER_DISABLED = 5,
  TS_STOP_AUTHENTICATION_CANCELED = 6,
  TS_STOP_CONFIGURATION_FAILED = 7,
  TS_STOP_IDLE_TIMEOUT = 8,
  TS_STOP_CONFIGURATION_DISABLED = 9,
  TS_STOP_CONFIGURATION_REMOVED = 10,
  TS_STOP_SUPERCEDED = 11,
  TS_STOP_USER_LOGOUT = 12,
  TS_STOP_USER_SWITCH = 13,
  TS_STOP_CONNECTION_FAILED = 14,
  TS_STOP_SLEEP = 15,
  TS_STOP_APP_UPDATE = 16,
  TS_STOP_INTERNAL_ERROR = 17,
  TS_STOP_REASON_COUNT
} ts_vpn_stop_reason;

typedef enum ts_vpn_start_cause {
  TS_START_USER = 0,        /* Settings toggle */
  TS_START_APP,             /* the containing app called startVPNTunnel */
  TS_START_ON_DEMAND,       /* an on-demand rule matched */
  TS_START_UPDATE_RELAUNCH, /* relaunched after an app update (IVPN-283) */
  TS_START_CAUSE_COUNT
} ts_vpn_start_cause;

/* Why a disconnected session is down. */
typedef enum ts_vpn_down_cause {
  TS_DOWN_BOOT = 0,  /* not started since boot (or since the configuration was installed) */
  TS_DOWN_USER,      /* stopped on request: user, app, configuration change */
  TS_DOWN_PROVIDER,  /* the provider died, failed to start or cancelled itself */
} ts_vpn_down_cause;

/* How the provider process ended last (TS_EXIT_NONE while it runs or never ran). */
typedef enum ts_vpn_exit {
  TS_EXIT_NONE = 0,
  TS_EXIT_STOPPED,      /* stopTunnel completed, the process exited */
  TS_EXIT_START_FAILED, /* the startTunnel completion reported an error */
  TS_EXIT_CRASH,        /* the process died by itself ("died unexpectedly") */
  TS_EXIT_JETSAM,       /* killed for exceeding the provider memory limit (F-MEM) */
  TS_EXIT_WATCHDOG,     /* killed by the start or stop watchdog (F-60S) */
  TS_EXIT_SIGTERM,      /* terminated by the system with a stop reason (appUpdate) */
  TS_EXIT_REBOOT,       /* the device rebooted */
  TS_EXIT_COUNT
} ts_vpn_exit;

/* Lifecycle quirks: where ios-model.md leaves the session's behaviour open, a named
 * choice with its source (docs/model-reference.md §6). They live on the session
 * (not yet in the OS profile files); every session starts at the fallbacks. */
typedef enum ts_vpn_lifecycle_quirk {
  /* What the start watchdog does when startTunnel has not completed by the
   * start-timeout: 0 stop-then-kill (F-60S log: "timed out ... Entering state
   * Stopping, timeout 20 seconds": stopTunnel, killed after the stop-timeout if it
   * has not exited), 1 kill (MV-CODE: "the process watchdog ... will kill this
   * process after 60 seconds"). Fallback 0. */
  TS_LQ_START_TIMEOUT_ACTION = 0,
  /* The stop reason recorded for a start timeout (the F-60S log names none):
   * 0 connectionFailed, 1 providerFailed, 2 none. Fallback 0 (INF). */
  TS_LQ_START_TIMEOUT_REASON,
  /* A Connect rule also starts the VPN on boot and network changes, not only on an
   * app's connection attempt (A-OD class doc reads "whenever an application ...
   * opens a network connection"). Fallback false (INF). */
  TS_LQ_OD_CONNECT_ON_ANY_TRIGGER,
  /* The update lockout (ios-model.md §8.3, GAP-3): its mechanism is not public, so
   * each part of it is a choice here. When the provider gets SIGTERM (stop reason
   * appUpdate) during an App Store update: 0 download-start (when the update
   * begins, before the download: MV-BLOG's order "the old tunnel gets SIGTERM ...
   * the downloader waits for connectivity"), 1 install (after the download, just
   * before installation). Fallback 0. */
  TS_LQ_UPDATE_STOP_POINT,
  /* While the VPN app is updating every provider launch (any cause) is refused:
   * MV-BLOG "the old tunnel can't be relaunched". Fallback true. */
  TS_LQ_UPDATE_RELAUNCH_REFUSED,
  /* A refused on-demand launch suspends on-demand triggers for the configuration
   * until a Settings toggle, the update's install or a reboot (INF from MV-BLOG:
   * cancelling the download alone is not reported to help, "cancelling the download
   * and toggling the VPN twice may fix it"). The policy still sees the rules.
   * Fallback true. */
  TS_LQ_REFUSED_LAUNCH_SUSPENDS_ON_DEMAND,
  /* Removing the configuration (profile removal, uninstall) while no provider runs
   * and the session is down because of the provider leaves the session enforcing
   * (its drop policy is not torn down without a provider, INF) until the next
   * reboot; MV-BLOG (REP): "uninstalling the app or removing the VPN profile does
   * not" restore connectivity. Fallback true. */
  TS_LQ_CONFIG_REMOVAL_KEEPS_POLICY,
  TS_LQ_COUNT
} ts_vpn_lifecycle_quirk;

typedef struct ts_vpn_lifecycle_quirk_info {
  const char *name;                  /* kebab-case */
  ts_os_source source;               /* canonical source key */
  const char *values[3];             /* value names; values[0] NULL: boolean */
  int fallback;
  const char *summary;
} ts_vpn_lifecycle_quirk_info;

const ts_vpn_lifecycle_quirk_info *ts_vpn_lifecycle_quirk_get(ts_vpn_lifecycle_quirk q);

const char *ts_vpn_status_name(ts_vpn_status s);        /* "connected", ... */
const char *ts_vpn_stop_reason_name(ts_vpn_stop_reason r); /* "appUpdate", ... */
const char *ts_vpn_start_cause_name(ts_vpn_start_cause c);
const char *ts_vpn_down_cause_name(ts_vpn_down_cause c);
const char *ts_vpn_exit_name(ts_vpn_exit e); /* "jetsam", "watchdog", ... */

typedef struct ts_vpn_session ts_vpn_session;
typedef void (*ts_vpn_session_listener)(void *ctx, const ts_vpn_session *s, ts_vpn_status from,
                                        ts_vpn_status to);
#define TS_VPN_SESSION_MAX_LISTENERS 8

/* utun: the tunnel interface in ifaces the session brings up with the settings'
 * addresses and down when the provider goes away (0: none). The profile, config
 * and ifaces must outlive the session. Starts invalid, or disconnected when the
 * config is enabled. */
int ts_vpn_session_create(ts_vpn_session **out, const ts_os_profile *profile,
                          const ts_vpn_config *config, ts_os_ifaces *ifaces, int utun);
void ts_vpn_session_destroy(ts_vpn_session *s);
int ts_vpn_session_listen(ts_vpn_session *s, ts_vpn_session_listener fn, void *ctx);

/* --- system side. TS_ESTATE when the call does not apply to the current status. */
/* Re-reads config enabled: invalid <-> disconnected (an active session is stopped
 * first by the caller). */
int ts_vpn_session_configure(ts_vpn_session *s, ts_time now);
/* disconnected -> connecting: a new epoch; the provider process is running and its
 * startTunnel is pending. */
int ts_vpn_session_start(ts_vpn_session *s, ts_time now, ts_vpn_start_cause cause);
/* connecting/connected/reasserting -> disconnecting: stopTunnel(reason) is pending. */
int ts_vpn_session_stop(ts_vpn_session *s, ts_time now, ts_vpn_stop_reason reason);
/* disconnecting -> disconnected: stopTunnel completed, the provider exits. */
int ts_vpn_session_stop_completed(ts_vpn_session *s, ts_time now);
/* The provider process ended without a stop (jetsam, crash, SIGTERM for an app
 * update, watchdog kill): any active status -> disconnected. */
int ts_vpn_session_provider_exited(ts_vpn_session *s, ts_time now, ts_vpn_stop_reason reason);
/* The same, naming how the process ended. A watchdog kill while disconnecting keeps
 * the pending stop's reason and down cause (the stop was asked for). */
int ts_vpn_session_provider_killed(ts_vpn_session *s, ts_time now, ts_vpn_stop_reason reason,
                                   ts_vpn_exit exit);

/* The watchdogs (F-60S), called by the lifecycle when ts_vpn_session_deadline
 * passes. Returns what the caller must do:
 *   TS_VPN_WD_NONE  the deadline has not passed, or no watchdog applies;
 *   TS_VPN_WD_STOP  start timeout, quirk stop-then-kill: now disconnecting (stop
 *                   reason per start-timeout-stop-reason); send stopTunnel;
 *   TS_VPN_WD_KILL  start timeout under quirk kill, or stop timeout: the provider
 *                   process was killed (exit watchdog), now disconnected; tell the
 *                   process it is gone. */
typedef enum ts_vpn_watchdog_action { TS_VPN_WD_NONE = 0, TS_VPN_WD_STOP, TS_VPN_WD_KILL } ts_vpn_watchdog_action;
ts_vpn_watchdog_action ts_vpn_session_watchdog(ts_vpn_session *s, ts_time now);

int ts_vpn_session_set_lifecycle_quirk(ts_vpn_session *s, ts_vpn_lifecycle_quirk q, int value);
int ts_vpn_session_lifecycle_quirk(const ts_vpn_session *s, ts_vpn_lifecycle_quirk q);

/* The device rebooted: disconnected (or invalid), down because of boot. */
int ts_vpn_session_reboot(ts_vpn_session *s, ts_time now);

/* --- provider side. */
/* setTunnelNetworkSettings: NULL clears the settings (routes removed). Valid while
 * connecting, connected or reasserting. */
int ts_vpn_session_set_settings(ts_vpn_session *s, ts_time now, const ts_vpn_settings *settings);
/* startTunnel's completion handler: error 0 -> connected; else -> disconnected
 * (stop reason providerFailed). */
int ts_vpn_session_start_completed(ts_vpn_session *s, ts_time now, int error);
/* reasserting = true (connected -> reasserting) or false (reasserting -> connected). */
int ts_vpn_session_set_reasserting(ts_vpn_session *s, ts_time now, bool reasserting);
/* cancelTunnelWithError: -> disconnecting with stop reason providerFailed. */
int ts_vpn_session_cancel(ts_vpn_session *s, ts_time now);

/* --- observers. */
ts_vpn_status ts_vpn_session_status(const ts_vpn_session *s);
uint64_t ts_vpn_session_epoch(const ts_vpn_session *s);
bool ts_vpn_session_provider_running(const ts_vpn_session *s);
/* Settings applied and the utun up. */
bool ts_vpn_session_tunnel_up(const ts_vpn_session *s);
/* The tunnel is up and its routes are in effect (not under
 * update-relaunch-skips-routes). */
bool ts_vpn_session_routes_installed(const ts_vpn_session *s);
const ts_vpn_settings *ts_vpn_session_settings(const ts_vpn_session *s); /* NULL when none */
int ts_vpn_session_utun(const ts_vpn_session *s);
ts_vpn_down_cause ts_vpn_session_down_cause(const ts_vpn_session *s);
ts_vpn_stop_reason ts_vpn_session_stop_reason(const ts_vpn_session *s);
ts_vpn_start_cause ts_vpn_session_start_cause(const ts_vpn_session *s);
ts_time ts_vpn_session_since(const ts_vpn_session *s);
ts_vpn_exit ts_vpn_session_last_exit(const ts_vpn_session *s);
uint32_t ts_vpn_session_exit_count(const ts_vpn_session *s, ts_vpn_exit e);
/* When the watchdog of the current state fires (connecting: start-timeout;
 * disconnecting: stop-timeout); TS_TIME_NEVER when none applies. */
ts_time ts_vpn_session_deadline(const ts_vpn_session *s);
const ts_os_profile *ts_vpn_session_profile(const ts_vpn_session *s);
const ts_vpn_config *ts_vpn_session_config(const ts_vpn_session *s);

#endif
