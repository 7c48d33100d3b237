/* The App Store update of the VPN app: see ts_appstore.h. */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ts_appstore.h"

enum { EV_TIMEOUT = 1, EV_RETRY, EV_DOWNLOADED, EV_INSTALLED, EV_BEGIN };
enum { STOP_AT_DOWNLOAD_START = 0, STOP_AT_INSTALL = 1 }; /* lifecycle quirk update-stop-point */

struct ts_appstore {
  ts_phone *ph;
  ts_world *w;
  ts_appstore_config cfg;
  char name[TS_PHONE_NAME_MAX + 16];
  bool has_tcp;
  ts_tcp_config tcp;
  ts_appstore_phase phase;
  ts_time since;
  uint64_t gen;             /* bumped on every phase change: older events are stale */
  ts_event_id ev;           /* the one queued event (destroy cancels it) */
  bool ev_pending;
  uint32_t attempts, failures;
  uint64_t bytes;           /* in the current attempt */
  ts_time last_progress;    /* the attempt's open or its latest byte */
  ts_sock_id sock;          /* the current attempt's connection */
  ts_sock_id lingering;     /* a finished download closing gracefully */
  ts_verdict last_verdict;
  bool relaunch;            /* the session was active when the provider was SIGTERMed */
  ts_time sigterm_at, installed_at, next_at;
  ts_appstore_stats stats;
};

static ts_time now_of(const ts_appstore *a) { return ts_world_now(a->w); }

static void trace(ts_appstore *a, const char *fmt, ...) {
  char d[160];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(d, sizeof d, fmt, ap);
  va_end(ap);
  ts_trace_event(ts_world_trace(a->w), now_of(a), "appstore", a->name, d);
}

const char *ts_appstore_phase_name(ts_appstore_phase p) {
  static const char *const names[TS_APPSTORE_PHASE_COUNT] = {
      "idle", "downloading", "waiting-retry", "installing", "done", "cancelled", "abandoned"};
  return (unsigned)p < TS_APPSTORE_PHASE_COUNT ? names[p] : NULL;
}

static bool in_progress(ts_appstore_phase p) {
  return p == TS_APPSTORE_DOWNLOADING || p == TS_APPSTORE_WAITING_RETRY ||
         p == TS_APPSTORE_INSTALLING;
}

static void event(void *obj, uint64_t arg);

static void cancel_event(ts_appstore *a) {
  if (a->ev_pending) ts_world_cancel(a->w, a->ev);
  a->ev_pending = false;
}

static void set_phase(ts_appstore *a, ts_appstore_phase p) {
  cancel_event(a);
  a->phase = p;
  a->since = now_of(a);
  a->gen++;
  a->next_at = TS_TIME_NEVER;
}

/* The one pending event of the current phase, at `at`. */
static void schedule(ts_appstore *a, ts_time at, int kind) {
  cancel_event(a);
  a->ev_pending =
      ts_world_schedule(a->w, at, event, a, (uint64_t)kind | (a->gen << 8), &a->ev) == TS_OK;
}

static ts_vpn_session *session(const ts_appstore *a) { return ts_phone_session(a->ph); }

/* ------------------------------------------------------------- the provider */

/* The update ends the old provider process (stop reason appUpdate, A-STOP,
 * MV-BLOG); the system remembers whether to relaunch it after the install. */
static void sigterm(ts_appstore *a) {
  ts_vpn_status st = ts_vpn_session_status(session(a));
  a->relaunch = st == TS_VPN_CONNECTING || st == TS_VPN_CONNECTED || st == TS_VPN_REASSERTING;
  if (ts_phone_vpn_kill(a->ph, TS_STOP_APP_UPDATE, TS_EXIT_SIGTERM) != TS_OK) {
    trace(a, "no provider process to stop");
    return;
  }
  a->sigterm_at = now_of(a);
  a->stats.sigterms++;
  trace(a, "provider SIGTERMed (appUpdate), session was %s", ts_vpn_status_name(st));
}

static int stop_point(const ts_appstore *a) {
  return ts_vpn_session_lifecycle_quirk(session(a), TS_LQ_UPDATE_STOP_POINT);
}

/* -------------------------------------------------------------- the socket */

static void keep_verdict(ts_appstore *a, ts_sock_id id) {
  ts_verdict v;
  if (ts_phone_socket_last_verdict(a->ph, id, &v) == TS_OK) a->last_verdict = v;
}

/* The current attempt's connection goes: aborted (graceful false) or closed with a
 * FIN after the server's (true). Forgotten first: an abort calls back at once. */
static void close_current(ts_appstore *a, bool graceful) {
  ts_sock_id id = a->sock;
  if (!id) return;
  a->sock = 0;
  keep_verdict(a, id);
  if (graceful && ts_phone_tcp_close(a->ph, id) == TS_OK) a->lingering = id;
  else ts_phone_socket_close(a->ph, id);
}

/* A process died with the phone: its sockets go without a word. */
static void drop_sockets(ts_appstore *a) {
  if (a->sock) keep_verdict(a, a->sock);
  if (a->sock) ts_phone_socket_drop(a->ph, a->sock);
  if (a->lingering) ts_phone_socket_drop(a->ph, a->lingering);
  a->sock = a->lingering = 0;
}

/* ------------------------------------------------------------ the download */

static ts_time backoff(const ts_appstore *a) {
  ts_time wait = a->cfg.backoff_initial;
  for (uint32_t i = 1; i < a->failures && wait < a->cfg.backoff_max; i++) wait *= 2;
  return wait < a->cfg.backoff_max ? wait : a->cfg.backoff_max;
}

static void fail(ts_appstore *a, const char *why, bool graceful) {
  close_current(a, graceful);
  a->failures++;
  a->stats.attempts_failed++;
  ts_time wait = backoff(a);
  uint64_t got = a->bytes;
  set_phase(a, TS_APPSTORE_WAITING_RETRY);
  a->next_at = now_of(a) + wait;
  trace(a, "attempt %u failed (%s) after %llu of %llu bytes; retry in %lld ms", a->attempts, why,
        (unsigned long long)got, (unsigned long long)a->cfg.size, (long long)(wait / TS_MS));
  schedule(a, a->next_at, EV_RETRY);
}

/* All bytes: installing from now. The SIGTERM of stop point install comes from an
 * event at the same instant: the last byte may have come through the very provider
 * it ends (never inside its delivery). */
static void complete(ts_appstore *a) {
  close_current(a, true);
  a->stats.downloads_completed++;
  trace(a, "download complete: %llu bytes, attempt %u", (unsigned long long)a->bytes, a->attempts);
  set_phase(a, TS_APPSTORE_INSTALLING);
  a->next_at = now_of(a) + a->cfg.install_duration;
  schedule(a, now_of(a), EV_DOWNLOADED);
}

static void install(ts_appstore *a) {
  if (stop_point(a) == STOP_AT_INSTALL) sigterm(a);
  trace(a, "installing until +%lld ms", (long long)(a->cfg.install_duration / TS_MS));
  schedule(a, a->next_at, EV_INSTALLED);
}

static void on_connected(void *ctx, ts_sock_id sock) {
  ts_appstore *a = ctx;
  if (sock != a->sock) return;
  keep_verdict(a, sock);
  char line[40];
  int n = snprintf(line, sizeof line, "GET %llu\n", (unsigned long long)a->cfg.size);
  if (ts_phone_tcp_write(a->ph, sock, (const uint8_t *)line, (size_t)n) != n)
    fail(a, "request not sent", false);
}

static void on_data(void *ctx, ts_sock_id sock, const uint8_t *data, size_t len) {
  ts_appstore *a = ctx;
  (void)data;
  if (sock != a->sock) return;
  keep_verdict(a, sock);
  if (len == 0) { /* the server closed its side */
    if (a->bytes >= a->cfg.size) complete(a);
    else fail(a, "closed early", true);
    return;
  }
  a->bytes += len;
  a->stats.bytes_total += len;
  a->last_progress = now_of(a);
}

static void on_closed(void *ctx, ts_sock_id sock, ts_tcp_reason why) {
  ts_appstore *a = ctx;
  if (sock == a->lingering) a->lingering = 0;
  if (sock != a->sock) return;
  a->sock = 0; /* already gone */
  fail(a, ts_tcp_reason_name(why), false);
}

static void attempt(ts_appstore *a) {
  set_phase(a, TS_APPSTORE_DOWNLOADING);
  a->attempts++;
  a->stats.attempts++;
  a->bytes = 0;
  a->last_progress = now_of(a);
  ts_phone_socket_params sp = {.owner = TS_TC_APPSTORE, .proto = TS_IPPROTO_TCP,
                               .api = TS_SOCK_BSD, .remote = a->cfg.server,
                               .remote_port = a->cfg.port,
                               .tcp = {on_connected, on_data, NULL, on_closed},
                               .tcp_tmpl = a->has_tcp ? &a->tcp : NULL, .ctx = a};
  ts_sock_id id = 0;
  int rc = ts_phone_socket_open(a->ph, &sp, &id);
  if (rc) {
    fail(a, ts_strerror(rc), false);
    return;
  }
  a->sock = id;
  keep_verdict(a, id);
  trace(a, "attempt %u: connecting", a->attempts);
  schedule(a, a->last_progress + a->cfg.attempt_timeout, EV_TIMEOUT);
}

/* No byte for attempt_timeout: the attempt fails (the connect and stall timeout). */
static void check_timeout(ts_appstore *a) {
  if (a->phase != TS_APPSTORE_DOWNLOADING) return;
  ts_time due = a->last_progress + a->cfg.attempt_timeout;
  if (now_of(a) < due) {
    schedule(a, due, EV_TIMEOUT);
    return;
  }
  if (a->sock) keep_verdict(a, a->sock);
  fail(a, "timeout", false);
}

/* ------------------------------------------------------------- the install */

static void installed(ts_appstore *a) {
  set_phase(a, TS_APPSTORE_DONE);
  a->installed_at = now_of(a);
  a->stats.installs++;
  trace(a, "installed");
  ts_phone_app_update_installed(a->ph);
  if (a->cfg.on_installed) a->cfg.on_installed(a->cfg.ctx);
  if (!a->relaunch) return; /* on-demand relaunches it on the next attempt, as usual */
  a->relaunch = false;
  /* IVPN-283: "VPN tunnel is reconnected" by the system after the upgrade. */
  int rc = ts_phone_vpn_start(a->ph, TS_START_UPDATE_RELAUNCH);
  if (rc) a->stats.relaunch_errors++;
  else a->stats.relaunches++;
  trace(a, "relaunch: %s", rc ? ts_strerror(rc) : "started");
}

static void begin_after_boot(ts_appstore *a) {
  int rc = ts_appstore_begin_update(a);
  if (rc) trace(a, "automatic update not begun: %s", ts_strerror(rc));
}

static void event(void *obj, uint64_t arg) {
  ts_appstore *a = obj;
  a->ev_pending = false; /* only the latest scheduled event is ever queued */
  if ((arg >> 8) != (a->gen & (UINT64_MAX >> 8))) return; /* a later phase took over */
  switch (arg & 0xff) {
  case EV_TIMEOUT: check_timeout(a); break;
  case EV_RETRY: attempt(a); break;
  case EV_DOWNLOADED: install(a); break;
  case EV_INSTALLED: installed(a); break;
  case EV_BEGIN: begin_after_boot(a); break;
  default: break;
  }
}

/* ------------------------------------------------------- the phone's events */

static void on_reboot(ts_appstore *a) {
  bool pending = a->phase == TS_APPSTORE_IDLE && a->next_at != TS_TIME_NEVER;
  bool unfinished = in_progress(a->phase) || a->phase == TS_APPSTORE_CANCELLED || pending;
  bool was_running = in_progress(a->phase);
  drop_sockets(a);
  a->relaunch = false;
  if (was_running) {
    ts_phone_set_app_state(a->ph, TS_PHONE_APP_INSTALLED); /* the old bundle stays */
    set_phase(a, TS_APPSTORE_IDLE);
    trace(a, "reboot: the download died, the old version stays");
  }
  if (!unfinished || !a->cfg.automatic) return;
  set_phase(a, TS_APPSTORE_IDLE);
  a->next_at = now_of(a) + a->cfg.retry_after_boot;
  trace(a, "automatic update begins again in %lld ms", (long long)(a->cfg.retry_after_boot / TS_MS));
  schedule(a, a->next_at, EV_BEGIN);
}

static void on_app_removed(ts_appstore *a) {
  bool pending = a->phase == TS_APPSTORE_IDLE && a->next_at != TS_TIME_NEVER;
  if (!in_progress(a->phase) && a->phase != TS_APPSTORE_CANCELLED && !pending) return;
  close_current(a, false);
  a->relaunch = false;
  a->stats.abandons++;
  set_phase(a, TS_APPSTORE_ABANDONED);
  trace(a, "abandoned: the app was uninstalled");
}

static void on_phone(void *ctx, ts_phone *ph, ts_phone_event ev) {
  ts_appstore *a = ctx;
  (void)ph;
  if (ev == TS_PHONE_EV_REBOOT) on_reboot(a);
  else if (ev == TS_PHONE_EV_APP_REMOVED) on_app_removed(a);
}

/* --------------------------------------------------------------------- API */

static void release(void *obj) { free(obj); }

static int check_config(const ts_appstore_config *c) {
  if ((c->server.family != 4 && c->server.family != 6) || !c->port || !c->size) return TS_EINVAL;
  if (c->attempt_timeout < 0 || c->backoff_initial < 0 || c->backoff_max < 0 ||
      c->install_duration < 0 || c->retry_after_boot < 0)
    return TS_ERANGE;
  return TS_OK;
}

static void apply_defaults(ts_appstore_config *c) {
  if (!c->attempt_timeout) c->attempt_timeout = TS_APPSTORE_DEFAULT_ATTEMPT_TIMEOUT;
  if (!c->backoff_initial) c->backoff_initial = TS_APPSTORE_DEFAULT_BACKOFF_INITIAL;
  if (!c->backoff_max) c->backoff_max = TS_APPSTORE_DEFAULT_BACKOFF_MAX;
  if (c->backoff_max < c->backoff_initial) c->backoff_max = c->backoff_initial;
  if (!c->install_duration) c->install_duration = TS_APPSTORE_DEFAULT_INSTALL;
  if (!c->retry_after_boot) c->retry_after_boot = TS_APPSTORE_DEFAULT_RETRY_AFTER_BOOT;
}

int ts_appstore_create(ts_phone *ph, const ts_appstore_config *cfg, ts_appstore **out) {
  if (!ph || !cfg || !out) return TS_EINVAL;
  int rc = check_config(cfg);
  if (rc) return rc;
  if (cfg->name && (!*cfg->name || strlen(cfg->name) >= sizeof ((ts_appstore *)0)->name))
    return TS_EINVAL;
  ts_appstore *a = calloc(1, sizeof *a);
  if (!a) return TS_ENOMEM;
  a->ph = ph;
  a->w = ts_phone_world(ph);
  a->cfg = *cfg;
  apply_defaults(&a->cfg);
  if (cfg->name) snprintf(a->name, sizeof a->name, "%s", cfg->name);
  else snprintf(a->name, sizeof a->name, "%s-appstore", ts_phone_name(ph));
  a->cfg.name = a->name;
  if (cfg->tcp) {
    a->has_tcp = true;
    a->tcp = *cfg->tcp;
  }
  a->cfg.tcp = NULL;
  a->sigterm_at = a->installed_at = a->next_at = TS_TIME_NEVER;
  rc = ts_world_attach(a->w, a, release);
  if (rc) {
    free(a);
    return rc;
  }
  rc = ts_phone_listen(ph, on_phone, a);
  if (rc) return rc; /* released with the world */
  *out = a;
  return TS_OK;
}

void ts_appstore_destroy(ts_appstore *a) {
  if (!a) return;
  cancel_event(a);
  drop_sockets(a);
  ts_phone_unlisten(a->ph, on_phone, a);
  ts_world_detach(a->w, a);
  release(a);
}

int ts_appstore_begin_update(ts_appstore *a) {
  if (!a) return TS_EINVAL;
  if (in_progress(a->phase) || ts_phone_app_state_get(a->ph) != TS_PHONE_APP_INSTALLED)
    return TS_ESTATE;
  a->stats.updates_begun++;
  a->attempts = a->failures = 0;
  a->relaunch = false;
  memset(&a->last_verdict, 0, sizeof a->last_verdict);
  trace(a, "update begins (%llu bytes)", (unsigned long long)a->cfg.size);
  ts_phone_set_app_state(a->ph, TS_PHONE_APP_UPDATING);
  if (stop_point(a) == STOP_AT_DOWNLOAD_START) sigterm(a);
  attempt(a);
  return TS_OK;
}

int ts_appstore_cancel(ts_appstore *a) {
  if (!a) return TS_EINVAL;
  if (a->phase != TS_APPSTORE_DOWNLOADING && a->phase != TS_APPSTORE_WAITING_RETRY)
    return TS_ESTATE;
  close_current(a, false);
  a->relaunch = false;
  a->stats.cancels++;
  set_phase(a, TS_APPSTORE_CANCELLED);
  trace(a, "cancelled by the user: the old version stays");
  return ts_phone_set_app_state(a->ph, TS_PHONE_APP_INSTALLED);
}

ts_appstore_phase ts_appstore_phase_get(const ts_appstore *a) { return a->phase; }
ts_time ts_appstore_since(const ts_appstore *a) { return a->since; }
uint32_t ts_appstore_attempts(const ts_appstore *a) { return a->attempts; }
uint64_t ts_appstore_bytes(const ts_appstore *a) { return a->bytes; }
bool ts_appstore_waiting_for_connectivity(const ts_appstore *a) {
  return (a->phase == TS_APPSTORE_DOWNLOADING || a->phase == TS_APPSTORE_WAITING_RETRY) &&
         a->bytes == 0;
}
ts_sock_id ts_appstore_socket(const ts_appstore *a) { return a->sock; }
ts_verdict ts_appstore_last_verdict(const ts_appstore *a) { return a->last_verdict; }
ts_time ts_appstore_sigterm_at(const ts_appstore *a) { return a->sigterm_at; }
ts_time ts_appstore_installed_at(const ts_appstore *a) { return a->installed_at; }
ts_time ts_appstore_next_at(const ts_appstore *a) { return a->next_at; }
void ts_appstore_get_stats(const ts_appstore *a, ts_appstore_stats *out) { *out = a->stats; }
