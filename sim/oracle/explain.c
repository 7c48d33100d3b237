/* Snapshot → waits-for graph → explanation. Each rule below is one mechanism and adds
 * the edges it implies; their order within a node is the walk's preference when no
 * cycle is reachable (ts_waitsfor.h), so the most direct cause comes first. Policy
 * rules are named with the OS model's own summary (ts_os_rule_get), so the text says
 * what the model decided, not a paraphrase of it. */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ts_explain.h"
#include "ts_os_model.h"

#define MAX_NODES 32
#define MAX_EDGES 64

/* The parts of the device, as nodes. */
#define N_APPS "apps"
#define N_TUNNEL "tunnel"
#define N_LAUNCH "provider launch"
#define N_UPDATE "App Store update"
#define N_DOWNLOAD "download"
#define N_MONITOR "monitor"
#define N_PING "ping reply"
#define N_ON_DEMAND "on-demand"
#define N_USER "user"
#define N_REBOOT "reboot"
#define N_UNLOCK "first unlock"
#define N_MAIN_APP "main app"
#define N_WATCHDOG "watchdog"
#define N_NOTHING "nothing"
#define N_RELAY "relay"
#define N_REINSTALL "reinstall"
#define N_CONFIG "VPN configuration"
#define N_PROVIDER_ERROR "provider error"
#define N_NEGOTIATION "negotiation"
#define N_NEG_CONN "negotiation connection"

struct ts_explainer {
  ts_waitsfor *g;
};

static const char *const subject_nodes[TS_EXPLAIN_SUBJECT_COUNT] = {
    [TS_EXPLAIN_APPS] = N_APPS,         [TS_EXPLAIN_TUNNEL] = N_TUNNEL,
    [TS_EXPLAIN_MONITOR] = N_MONITOR,   [TS_EXPLAIN_UPDATE] = N_UPDATE,
    [TS_EXPLAIN_DOWNLOAD] = N_DOWNLOAD, [TS_EXPLAIN_NEGOTIATION] = N_NEGOTIATION,
};

const char *ts_explain_subject_node(ts_explain_subject s) {
  return s >= 0 && s < TS_EXPLAIN_SUBJECT_COUNT ? subject_nodes[s] : NULL;
}

int ts_explainer_create(ts_explainer **out) {
  if (!out) return TS_EINVAL;
  ts_explainer *x = calloc(1, sizeof *x);
  if (!x) return TS_ENOMEM;
  int rc = ts_waitsfor_create(MAX_NODES, MAX_EDGES, &x->g);
  if (rc) {
    free(x);
    return rc;
  }
  *out = x;
  return TS_OK;
}

void ts_explainer_destroy(ts_explainer *x) {
  if (!x) return;
  ts_waitsfor_destroy(x->g);
  free(x);
}

ts_waitsfor *ts_explainer_graph(ts_explainer *x) { return x->g; }

/* snprintf for text that may be cut: a headline or reason too long for its buffer
 * loses its tail, which is the intended behaviour, not an error. */
__attribute__((format(printf, 3, 4))) static void text(char *buf, size_t n, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(buf, n, fmt, ap);
  va_end(ap);
}

/* ---- reading the snapshot */

static const char *str(const char *s) { return s ? s : ""; }
static bool is(const char *s, const char *value) { return !strcmp(str(s), value); }
/* A name that says something: the OS model's names say "none" for nothing. */
static bool given(const char *s) { return str(s)[0] && !is(s, "none"); }
static bool dropped(const char *verdict) { return is(verdict, "drop") || is(verdict, "silent-fail"); }
static bool tunnel_up(const ts_explain_snapshot *s) { return is(s->session_status, "connected"); }
static bool updating(const ts_explain_snapshot *s) { return is(s->app_state, "updating"); }
static bool monitor_waiting(const ts_explain_snapshot *s) {
  return given(s->monitor_state) && !is(s->monitor_state, "connected") &&
         !is(s->monitor_state, "stopped");
}
static bool ping_lost(const ts_explain_snapshot *s) {
  return s->monitor_ping_silent || dropped(s->monitor_ping_verdict);
}
/* The provider holds the tunnel in a blocked state (Mullvad's error state: settings
 * that capture every packet and drop it, ios-model.md §2.5). */
static bool provider_blocked(const ts_explain_snapshot *s) {
  return s->provider_running && given(s->provider_error_reason);
}
static bool downloading(const ts_explain_snapshot *s) {
  return is(s->update_phase, "downloading") || is(s->update_phase, "waiting-retry");
}
static bool launch_refused(const ts_explain_snapshot *s) {
  return updating(s) && (s->relaunch_refused_quirk || s->launches_refused > 0);
}

/* The OS model's summary of a policy rule, by name; NULL for a name it lacks. */
static const char *rule_summary(const char *name) {
  for (int r = TS_RULE_NONE + 1; r < TS_RULE_COUNT; r++) {
    const ts_os_rule_info *ri = ts_os_rule_get((ts_os_rule)r);
    if (ri && !strcmp(ri->name, name)) return ri->summary;
  }
  return NULL;
}

/* "rule NAME: what it does", or what the flags imply when no rule was recorded. */
static void gloss(const ts_explain_snapshot *s, const char *rule, char *buf, size_t n) {
  const char *summary = given(rule) ? rule_summary(rule) : NULL;
  if (summary)
    text(buf, n, "rule %s: %s", rule, summary);
  else if (given(rule))
    text(buf, n, "rule %s", rule);
  else if (s->include_all_networks)
    text(buf, n, "includeAllNetworks and the VPN is not connected");
  else
    text(buf, n, "no rule recorded");
}

__attribute__((format(printf, 4, 5))) static int edge(ts_waitsfor *g, const char *from,
                                                       const char *to, const char *fmt, ...) {
  char reason[TS_WAITSFOR_REASON];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(reason, sizeof reason, fmt, ap);
  va_end(ap);
  return ts_waitsfor_add(g, from, to, reason);
}

/* ---- the rules: one mechanism each */

/* The apps' packets are dropped: by a removed configuration's policy that outlives
 * it, because the tunnel they are held for is not there, or by the provider's own
 * blocked state (the OS lets them into the tunnel, the provider drops them). */
static int apps_rule(ts_waitsfor *g, const ts_explain_snapshot *s) {
  if (!dropped(s->app_block_verdict)) {
    if (!provider_blocked(s)) return TS_OK;
    return edge(g, N_APPS, N_TUNNEL,
                "apps wait for the tunnel: the provider holds it in its blocked state (%s), which "
                "captures their packets and drops them",
                s->provider_error_reason);
  }
  char why[TS_WAITSFOR_REASON];
  gloss(s, s->app_block_rule, why, sizeof why);
  if (s->stale_policy)
    return edge(g, N_APPS, N_REBOOT,
                "apps wait for a reboot: their packets are dropped (%s) by the removed VPN "
                "configuration's policy, which stays in force until reboot (quirk "
                "config-removal-keeps-policy)",
                why);
  return edge(g, N_APPS, N_TUNNEL, "apps wait for the tunnel: their packets are dropped (%s)%s", why,
              !tunnel_up(s) ? "" : " although the VPN says connected");
}

static void kill_counts(const ts_explain_snapshot *s, char *buf, size_t n) {
  buf[0] = '\0';
  if (s->jetsam_count || s->watchdog_count)
    text(buf, n, "; killed %u times by jetsam and %u by the watchdog so far", s->jetsam_count,
             s->watchdog_count);
}

/* No provider process runs: the tunnel waits for one to be launched. */
static int provider_gone_rule(ts_waitsfor *g, const ts_explain_snapshot *s) {
  if (s->provider_running) return TS_OK;
  char counts[96], reason[64] = "";
  kill_counts(s, counts, sizeof counts);
  if (given(s->stop_reason)) text(reason, sizeof reason, " (%s)", s->stop_reason);
  if (given(s->last_exit))
    return edge(g, N_TUNNEL, N_LAUNCH, "the tunnel waits for its provider process, ended by %s%s%s",
                s->last_exit, reason, counts);
  return edge(g, N_TUNNEL, N_LAUNCH, "the tunnel waits for its provider process, %s%s%s",
              is(s->down_cause, "boot") ? "not started since boot" : "which is not running", reason,
              counts);
}

/* The provider runs but sits in a blocked state: only what the state waits for (or,
 * for outdated settings, nothing automatic) ends it. */
static int provider_blocked_rule(ts_waitsfor *g, const ts_explain_snapshot *s) {
  if (!s->provider_running) return TS_OK;
  if (is(s->provider_error_reason, "device-locked") || (s->keychain_locked && !tunnel_up(s)))
    return edge(g, N_TUNNEL, N_UNLOCK,
                "the provider waits for the first unlock (Keychain locked, "
                "errSecInteractionNotAllowed; blocked state deviceLocked, retried every 5 s)");
  if (is(s->provider_error_reason, "outdated-schema"))
    return edge(g, N_TUNNEL, N_MAIN_APP,
                "the provider waits for the main app to migrate its settings (outdatedSchema); "
                "nothing restarts it automatically");
  if (given(s->provider_error_reason))
    return edge(g, N_TUNNEL, N_PROVIDER_ERROR, "the provider is in its blocked state (%s)",
                s->provider_error_reason);
  return TS_OK;
}

/* startTunnel never completes: only the system's start watchdog ends it (F-60S),
 * and an OS without one (before iOS 16.x) never does. */
static int start_watchdog_rule(ts_waitsfor *g, const ts_explain_snapshot *s) {
  if (!s->provider_running || !(s->start_blocked || s->settings_pending)) return TS_OK;
  char counts[96], ends[96];
  kill_counts(s, counts, sizeof counts);
  if (s->start_timeout_s)
    snprintf(ends, sizeof ends, "only the %u s start watchdog ends it", s->start_timeout_s);
  else
    snprintf(ends, sizeof ends, "this OS has no start watchdog (F-60S), so nothing ends it");
  const char *sink = s->start_timeout_s ? N_WATCHDOG : N_NOTHING;
  if (s->settings_pending)
    return edge(g, N_TUNNEL, sink,
                "the provider's startTunnel waits for setTunnelNetworkSettings, whose completion "
                "never came; %s (GT-30)%s",
                ends, counts);
  return edge(g, N_TUNNEL, sink, "the provider's startTunnel has not completed; %s (GT-22)%s", ends,
              counts);
}

/* A provider that counts as connected only when its monitor confirms the tunnel. */
static int needs_monitor_rule(ts_waitsfor *g, const ts_explain_snapshot *s) {
  if (!s->completion_after_monitor || !monitor_waiting(s)) return TS_OK;
  return edge(g, N_TUNNEL, N_MONITOR, "the tunnel is up only when the monitor confirms it%s",
              s->tunnel_connected_ever ? "" : " (it never has)");
}

/* Who launches the provider, and what stops them. */
static int launch_rule(ts_waitsfor *g, const ts_explain_snapshot *s) {
  if (s->provider_running) return TS_OK;
  int rc = TS_OK;
  if (!s->vpn_profile_present)
    return edge(g, N_LAUNCH, N_CONFIG, "no VPN configuration is installed: nothing launches the provider");
  if (is(s->app_state, "removed"))
    return edge(g, N_LAUNCH, N_REINSTALL, "the provider's app is removed: nothing can launch it");
  if (launch_refused(s))
    rc = edge(g, N_LAUNCH, N_UPDATE,
              "the provider's launch is refused while the app is being updated (quirk "
              "update-relaunch-refused, GAP-3; %u launch%s refused)",
              s->launches_refused, s->launches_refused == 1 ? "" : "es");
  if (!rc && s->on_demand_suspended)
    rc = edge(g, N_LAUNCH, N_ON_DEMAND,
              "on-demand is suspended after a refused launch (quirk "
              "refused-launch-suspends-on-demand)");
  if (!rc && s->on_demand_suspended)
    rc = edge(g, N_ON_DEMAND, N_USER, "on-demand stays suspended until the user or the app starts the VPN");
  if (!rc && !s->on_demand_enabled)
    rc = edge(g, N_LAUNCH, N_USER, "nothing launches the provider: on-demand is off, only the user or "
                                   "the app can start the VPN");
  if (!rc && s->on_demand_enabled && !s->on_demand_suspended && !launch_refused(s))
    rc = edge(g, N_LAUNCH, N_ON_DEMAND, "the provider waits for on-demand to launch it");
  return rc;
}

/* The update installs only after its download. */
static int update_rule(ts_waitsfor *g, const ts_explain_snapshot *s) {
  if (!downloading(s)) return TS_OK;
  return edge(g, N_UPDATE, N_DOWNLOAD, "the update waits for its download (attempt %u%s)",
              s->update_attempts, is(s->update_phase, "waiting-retry") ? ", waiting to retry" : "");
}

/* The download needs the network the apps need. */
static int download_rule(ts_waitsfor *g, const ts_explain_snapshot *s) {
  if (!downloading(s) || !(s->downloader_waiting || dropped(s->downloader_verdict))) return TS_OK;
  char why[TS_WAITSFOR_REASON];
  gloss(s, s->downloader_rule, why, sizeof why);
  if (s->stale_policy)
    return edge(g, N_DOWNLOAD, N_REBOOT,
                "the download's packets are dropped (%s) by the removed configuration's policy, "
                "in force until reboot (quirk config-removal-keeps-policy)",
                why);
  if (dropped(s->downloader_verdict))
    return edge(g, N_DOWNLOAD, N_TUNNEL, "the download's packets are dropped (%s)", why);
  return edge(g, N_DOWNLOAD, N_TUNNEL, "the downloader waits for connectivity (%s)", why);
}

static const char *ping_path(const char *path) {
  if (is(path, "bsd-utun")) return "the provider's utun-bound ICMP";
  if (is(path, "nw-virtual") || is(path, "nwconnection-virtual"))
    return "the provider's NWConnection on its virtual interface";
  if (is(path, "engine") || is(path, "engine-direct")) return "the provider's in-engine ping";
  return "the provider's ping";
}

/* The monitor confirms the tunnel only by a reply that comes back through it. */
static int monitor_rule(ts_waitsfor *g, const ts_explain_snapshot *s) {
  if (!monitor_waiting(s)) return TS_OK;
  int rc = edge(g, N_MONITOR, N_PING, "the monitor (%s) waits for a ping reply", s->monitor_state);
  if (rc) return rc;
  if (ping_lost(s)) {
    char why[TS_WAITSFOR_REASON];
    gloss(s, s->monitor_ping_rule, why, sizeof why);
    bool silent = s->monitor_ping_silent || is(s->monitor_ping_verdict, "silent-fail");
    return edge(g, N_PING, N_TUNNEL, "%s is %s (%s)", ping_path(s->monitor_path),
                silent ? "silently dropped" : "dropped", why);
  }
  if (is(s->monitor_ping_verdict, "tunnel"))
    return edge(g, N_PING, N_RELAY, "the ping goes through the tunnel; its reply waits for the relay");
  return TS_OK;
}

static bool negotiating(const ts_explain_snapshot *s) {
  return given(s->negotiation_state) && !is(s->negotiation_state, "done") &&
         !is(s->negotiation_state, "off");
}

/* Mullvad's PQ/DAITA tunnels are up only after the ephemeral peer is negotiated over
 * TCP to the in-tunnel gateway (ios-model.md §2.5); under IAN the provider's own
 * in-tunnel sockets never get there (MV-BLOG), only its userspace netstack does. */
static int negotiation_rule(ts_waitsfor *g, const ts_explain_snapshot *s) {
  if (!negotiating(s) || !s->provider_running) return TS_OK;
  int rc = TS_OK;
  if (s->completion_after_negotiation)
    rc = edge(g, N_TUNNEL, N_NEGOTIATION,
              "the tunnel is connected only when the ephemeral-peer negotiation completes%s",
              s->tunnel_connected_ever ? "" : " (it never has)");
  if (rc) return rc;
  rc = edge(g, N_NEGOTIATION, N_NEG_CONN,
            "the negotiation (%s, attempt %u) waits for its TCP connection to the gateway's port "
            "1337 via %s", s->negotiation_state, s->negotiation_attempt,
            given(s->negotiation_path) ? s->negotiation_path : "its path");
  if (rc) return rc;
  bool silent = is(s->negotiation_verdict, "silent-fail");
  if (silent || is(s->negotiation_verdict, "drop")) {
    char why[TS_WAITSFOR_REASON];
    gloss(s, s->negotiation_rule, why, sizeof why);
    return edge(g, N_NEG_CONN, N_TUNNEL, "the provider's in-tunnel %s socket is %s: it never "
                "becomes viable (%s)", s->negotiation_path, silent ? "silently dropped" : "dropped",
                why);
  }
  return TS_OK;
}

typedef int (*rule_fn)(ts_waitsfor *g, const ts_explain_snapshot *s);

static const rule_fn rules[] = {
    apps_rule,   provider_gone_rule, provider_blocked_rule, start_watchdog_rule, needs_monitor_rule,
    negotiation_rule, launch_rule, update_rule,      download_rule,         monitor_rule,
};

int ts_explainer_build(ts_explainer *x, const ts_explain_snapshot *s) {
  if (!x || !s) return TS_EINVAL;
  ts_waitsfor_reset(x->g);
  for (size_t i = 0; i < sizeof rules / sizeof rules[0]; i++) {
    int rc = rules[i](x->g, s);
    if (rc) return rc;
  }
  return TS_OK;
}

/* ---- the explanation */

static bool cycle_has(const ts_explanation *e, const char *node) {
  for (size_t i = e->cycle_at; i < e->step_count; i++)
    if (!strcmp(e->steps[i].node, node)) return true;
  return false;
}

/* What a deadlock is between, named by the parts in its cycle. */
static void deadlock_phrase(const ts_explanation *e, char *buf, size_t n) {
  if (cycle_has(e, N_DOWNLOAD) && cycle_has(e, N_TUNNEL)) {
    text(buf, n, "update deadlock between the App Store download and the VPN tunnel");
    return;
  }
  if (cycle_has(e, N_MONITOR) && cycle_has(e, N_TUNNEL)) {
    text(buf, n, "deadlock between the tunnel monitor and the VPN tunnel");
    return;
  }
  size_t used = (size_t)snprintf(buf, n, "deadlock:");
  for (size_t i = e->cycle_at; i < e->step_count && used < n; i++)
    used += (size_t)snprintf(buf + used, n - used, " %s →", e->steps[i].node);
  if (used < n) snprintf(buf + used, n - used, " %s", e->cycle_node);
}

/* What ends a chain that stops at a part waiting for nothing. */
static const char *until_phrase(const char *sink) {
  static const struct {
    const char *node, *phrase;
  } table[] = {
      {N_REBOOT, "blocked until a reboot (the removed VPN configuration's policy stays in force)"},
      {N_UNLOCK, "blocked until the first unlock (the provider cannot read the Keychain)"},
      {N_MAIN_APP, "blocked until the user opens the VPN app (the provider's settings are outdated)"},
      {N_WATCHDOG, "blocked until the start watchdog ends the provider's start"},
      {N_NOTHING, "blocked for good: nothing in the system ends the provider's start"},
      {N_USER, "blocked until the user or the app starts the VPN"},
      {N_ON_DEMAND, "blocked until on-demand launches the provider"},
      {N_REINSTALL, "blocked until the VPN app is installed again"},
      {N_CONFIG, "blocked: no VPN configuration is installed"},
      {N_PROVIDER_ERROR, "blocked in the provider's error state"},
      {N_RELAY, "waiting for the relay"},
  };
  for (size_t i = 0; i < sizeof table / sizeof table[0]; i++)
    if (!strcmp(table[i].node, sink)) return table[i].phrase;
  return NULL;
}

static void headline(ts_explanation *e, const char *lead) {
  char phrase[TS_EXPLAIN_HEADLINE];
  if (e->deadlock) {
    deadlock_phrase(e, phrase, sizeof phrase);
  } else {
    const char *sink = e->steps[e->step_count - 1].waits_for;
    const char *until = until_phrase(sink);
    if (until)
      text(phrase, sizeof phrase, "%s", until);
    else
      text(phrase, sizeof phrase, "waiting for %s", sink);
  }
  text(e->headline, sizeof e->headline, "%s: %s", lead, phrase);
}

/* Walks from start and copies the chain out of the graph. */
static int explain_from(ts_explainer *x, const char *start, ts_explanation *e) {
  ts_waitsfor_step steps[TS_EXPLAIN_STEPS];
  ts_waitsfor_cycle cycle;
  size_t count = 0;
  int rc = ts_waitsfor_walk(x->g, start, steps, TS_EXPLAIN_STEPS, &count, &cycle);
  if (rc == TS_ENOENT || (rc == TS_OK && count == 0)) return TS_OK; /* waits for nothing */
  if (rc && rc != TS_EFULL) return rc;
  e->found = true;
  e->deadlock = cycle.found && rc == TS_OK;
  e->step_count = count;
  for (size_t i = 0; i < count; i++) {
    text(e->steps[i].node, sizeof e->steps[i].node, "%s", steps[i].waiter);
    text(e->steps[i].waits_for, sizeof e->steps[i].waits_for, "%s", steps[i].waits_for);
    text(e->steps[i].reason, sizeof e->steps[i].reason, "%s", steps[i].reason);
  }
  if (e->deadlock) {
    text(e->cycle_node, sizeof e->cycle_node, "%s", cycle.node);
    e->cycle_at = cycle.at_step;
  }
  ts_waitsfor_format(steps, count, e->deadlock ? &cycle : NULL, e->chain, sizeof e->chain);
  return TS_OK;
}

static void lead_text(const ts_explain_snapshot *s, const char *what, char *buf, size_t n) {
  if (str(s->os)[0])
    text(buf, n, "%s on %s", what, s->os);
  else
    text(buf, n, "%s", what);
}

int ts_explain_lockout(ts_explainer *x, const ts_explain_snapshot *s, ts_explanation *out) {
  if (!out) return TS_EINVAL;
  memset(out, 0, sizeof *out);
  int rc = ts_explainer_build(x, s);
  if (!rc) rc = explain_from(x, N_APPS, out);
  if (rc) return rc;
  if (!out->found) {
    text(out->headline, sizeof out->headline, "no lockout chain: nothing on the device drops the apps' packets");
    return TS_OK;
  }
  char lead[96];
  lead_text(s, "lockout", lead, sizeof lead);
  headline(out, lead);
  return TS_OK;
}

int ts_explain_missed(ts_explainer *x, const ts_explain_snapshot *s, ts_explain_subject subject,
                      const char *obligation, ts_explanation *out) {
  const char *start = ts_explain_subject_node(subject);
  if (!out || !start) return TS_EINVAL;
  memset(out, 0, sizeof *out);
  int rc = ts_explainer_build(x, s);
  if (!rc) rc = explain_from(x, start, out);
  if (rc) return rc;
  char what[TS_EXPLAIN_HEADLINE / 2], lead[TS_EXPLAIN_HEADLINE / 2];
  text(what, sizeof what, "missed \"%s\"", str(obligation));
  lead_text(s, what, lead, sizeof lead);
  if (!out->found) {
    text(out->headline, sizeof out->headline, "%s: the snapshot shows nothing %s waits for", lead,
             start);
    return TS_OK;
  }
  headline(out, lead);
  return TS_OK;
}
