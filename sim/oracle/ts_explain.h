/* Explanations of a lockout or a missed obligation: a waits-for graph built from a
 * plain-data snapshot of the device, walked from what is stuck. Each edge comes from
 * a mechanism (a policy rule that drops packets, a refused launch, a locked Keychain,
 * a start that never completes), never from a scenario's name, so a new scenario is
 * explained by the same rules. GT-06 comes out as a cycle: apps → tunnel → provider
 * launch → App Store update → download → tunnel; GT-09 as tunnel → monitor → ping
 * reply → tunnel.
 *
 * The snapshot is plain data (strings and numbers) so this module stays below the
 * devices that fill it in. A NULL string reads as "", and "none" (the OS model's
 * name for nothing: stop reason none, exit none) as nothing. */
#ifndef TS_EXPLAIN_H
#define TS_EXPLAIN_H

#include <stdbool.h>
#include <stddef.h>

#include "ts_error.h"
#include "ts_waitsfor.h"

typedef struct ts_explain_snapshot {
  const char *os; /* profile name, for the headline ("ios-18"); "" none */

  /* the VPN configuration */
  bool vpn_profile_present;
  bool include_all_networks;
  bool on_demand_enabled;
  bool on_demand_suspended; /* after a refused launch (quirk refused-launch-suspends-on-demand) */
  bool stale_policy;        /* a removed configuration's drop policy is still enforced until
                             * reboot (quirk config-removal-keeps-policy) */

  /* the session and its provider */
  const char *session_status;  /* "disconnected", "connecting", "connected", "reasserting", ... */
  const char *down_cause;      /* "boot", "user", "provider"; "" while up */
  const char *stop_reason;     /* the last stop reason: "appUpdate", "connectionFailed", ... */
  const char *last_exit;       /* how the provider last ended: "sigterm", "jetsam", "watchdog" */
  bool provider_running;
  const char *provider_error_reason; /* the provider's blocked state: "device-locked",
                                      * "outdated-schema", "user"; "": not blocked */
  bool keychain_locked;        /* before the first unlock (errSecInteractionNotAllowed) */
  unsigned start_timeout_s;    /* the OS's start watchdog in seconds (F-60S); 0: it has none */
  bool start_blocked;          /* startTunnel has not completed: blocked in the provider's start */
  bool settings_pending;       /* setTunnelNetworkSettings' completion never came (GT-30) */
  bool tunnel_connected_ever;
  unsigned jetsam_count, watchdog_count;

  /* the VPN app and its App Store update */
  const char *app_state;       /* "installed", "updating", "removed" */
  const char *update_phase;    /* "", "downloading", "waiting-retry", "installing", "done",
                                * "cancelled" */
  unsigned update_attempts;
  bool downloader_waiting;     /* the downloader waits for connectivity */
  const char *downloader_rule; /* the last verdict on the downloader's packets: rule name */
  const char *downloader_verdict; /* "drop", "silent-fail", "tunnel", "physical" */
  unsigned launches_refused;
  bool relaunch_refused_quirk; /* quirk update-relaunch-refused is on (GAP-3) */

  /* the other apps: the last rule that dropped one of their packets ("" none) */
  const char *app_block_rule;
  const char *app_block_verdict; /* "drop", "silent-fail"; "" when nothing was dropped */

  /* the provider's tunnel monitor */
  const char *monitor_state;   /* "connecting", "recovering", "connected"; "" or "stopped":
                                * no monitor running */
  const char *monitor_path;    /* "bsd-utun", "nw-virtual" (or "nwconnection-virtual"),
                                * "engine" (or "engine-direct") */
  const char *monitor_ping_rule;    /* the last verdict on the monitor's ping: rule name */
  const char *monitor_ping_verdict; /* "silent-fail", "drop", "tunnel", ... */
  /* Ephemeral-peer negotiation (sim/devices ts_neg_client.h): its state ("" or "off":
   * none), path, the current attempt and its socket's verdict (OS-socket paths). */
  const char *negotiation_state;   /* "connecting", "exchanging", "done", ... */
  const char *negotiation_path;    /* "nwtcpconnection", "nwconnection-virtual", "userspace-netstack" */
  unsigned negotiation_attempt;
  const char *negotiation_verdict, *negotiation_rule;
  bool negotiation_viable;
  bool completion_after_negotiation; /* startTunnel completes when the negotiation is done */
  bool monitor_ping_silent;    /* the last ping was accepted and went nowhere (as verdict
                                * silent-fail, for callers that keep it apart) */
  bool completion_after_monitor; /* the provider completes startTunnel, or stays connected,
                                  * only when its monitor confirms the tunnel (Mullvad:
                                  * connectionEstablished → connected, connectionLost →
                                  * reconnect, ios-model.md §2.5) */
} ts_explain_snapshot;

/* What a missed obligation is about: where the walk starts. */
typedef enum ts_explain_subject {
  TS_EXPLAIN_APPS = 0, /* "apps": the apps reach the internet */
  TS_EXPLAIN_TUNNEL,   /* "tunnel": the tunnel is connected */
  TS_EXPLAIN_MONITOR,  /* "monitor": the monitor confirmed the tunnel */
  TS_EXPLAIN_UPDATE,   /* "App Store update": the update is installed */
  TS_EXPLAIN_DOWNLOAD, /* "download": the update's download is done */
  TS_EXPLAIN_NEGOTIATION, /* "negotiation": the ephemeral-peer negotiation is done */
  TS_EXPLAIN_SUBJECT_COUNT
} ts_explain_subject;

#define TS_EXPLAIN_HEADLINE 192
#define TS_EXPLAIN_TEXT 2048
#define TS_EXPLAIN_STEPS 16

/* One step of the chain, copied out of the graph so an explanation stands alone. */
typedef struct ts_explain_step {
  char node[TS_WAITSFOR_NAME];      /* the part that waits */
  char waits_for[TS_WAITSFOR_NAME]; /* what it waits for */
  char reason[TS_WAITSFOR_REASON];
} ts_explain_step;

typedef struct ts_explanation {
  bool found;    /* the subject waits for something the snapshot names */
  bool deadlock; /* the chain closes into a cycle */
  char headline[TS_EXPLAIN_HEADLINE];
  char chain[TS_EXPLAIN_TEXT]; /* the steps' reasons joined by " ← " (ts_waitsfor_explain) */
  char cycle_node[TS_WAITSFOR_NAME]; /* where the cycle closes ("" without one) */
  size_t cycle_at;                   /* index of the cycle's first step */
  ts_explain_step steps[TS_EXPLAIN_STEPS];
  size_t step_count;
} ts_explanation;

typedef struct ts_explainer ts_explainer;

int ts_explainer_create(ts_explainer **out);
void ts_explainer_destroy(ts_explainer *x);

/* Builds the waits-for graph of a snapshot, replacing the previous one. */
int ts_explainer_build(ts_explainer *x, const ts_explain_snapshot *s);
/* The graph of the last build (for reports and tests). */
ts_waitsfor *ts_explainer_graph(ts_explainer *x);

/* Why the apps cannot reach the internet. A snapshot where nothing on the device
 * drops the apps' packets gives found = false and no chain (not an error). */
int ts_explain_lockout(ts_explainer *x, const ts_explain_snapshot *s, ts_explanation *out);
/* Why `obligation` ("tunnel connected by 30 s") was missed: the chain from subject. */
int ts_explain_missed(ts_explainer *x, const ts_explain_snapshot *s, ts_explain_subject subject,
                      const char *obligation, ts_explanation *out);

const char *ts_explain_subject_node(ts_explain_subject s); /* the node a subject starts from */

#endif
