/* ts_appstore: an App Store update of the phone's VPN app, as processes with real
 * network needs (ios-model.md §6 last bullet, §2.4 items 4-5; GT-05..GT-08):
 *
 *   begin     phase downloading, app state UPDATING; under lifecycle quirk
 *             update-stop-point download-start the provider gets SIGTERM now
 *             (stop reason appUpdate, MV-BLOG "the old tunnel gets SIGTERM");
 *   download  the downloader (appstored) is a BSD TCP socket on the phone with
 *             traffic class TS_TC_APPSTORE, decided by ts_policy_decide like any
 *             other (see OS quirk appstore-downloader-exempt). Each attempt opens a
 *             connection to a ts_tcp_server in REQUEST mode, asks "GET <size>" and
 *             counts the bytes. An attempt fails when no byte arrived for
 *             attempt_timeout (the connect and the stall timeout in one) or the
 *             connection ends before all bytes: phase waiting-retry, the next
 *             attempt after the backoff (initial, doubling, capped);
 *   install   all bytes: (update-stop-point install: SIGTERM now) phase installing
 *             for install_duration, then installed: ts_phone_app_update_installed
 *             (app INSTALLED, on-demand suspension lifted), the on_installed hook,
 *             and, if the session was active when the provider was SIGTERMed, the
 *             system relaunches it (start cause update-relaunch, IVPN-283 "VPN
 *             tunnel is reconnected"; OS quirk update-relaunch-skips-routes then
 *             applies); otherwise on-demand relaunches it on the next connection
 *             attempt. Phase done.
 *   cancel    the user cancels the download: the old version stays (app
 *             INSTALLED), phase cancelled; an automatic update comes back only
 *             after the next reboot.
 *   reboot    (a phone listener) the download dies with every process, the old
 *             bundle stays; an unfinished automatic update begins again
 *             retry_after_boot after the boot (§2.4 item 5: "the App Store retries
 *             updating the app and the sequence repeats").
 *   uninstall (a phone listener) the update is abandoned.
 * Every step is traced with kind "appstore". The figures without a source
 * (timeouts, backoff, install time) are model defaults (INF), all configurable.
 * The App Store is attached to the phone's world (reset and destroy free it). */
#ifndef TS_APPSTORE_H
#define TS_APPSTORE_H

#include <stdbool.h>
#include <stdint.h>

#include "ts_phone.h"

#define TS_APPSTORE_DEFAULT_ATTEMPT_TIMEOUT (30 * TS_SEC)
#define TS_APPSTORE_DEFAULT_BACKOFF_INITIAL (5 * TS_SEC)
#define TS_APPSTORE_DEFAULT_BACKOFF_MAX (60 * TS_SEC)
#define TS_APPSTORE_DEFAULT_INSTALL (5 * TS_SEC)
#define TS_APPSTORE_DEFAULT_RETRY_AFTER_BOOT (30 * TS_SEC)

typedef enum ts_appstore_phase {
  TS_APPSTORE_IDLE = 0,       /* no update in progress (an automatic retry may be pending) */
  TS_APPSTORE_DOWNLOADING,    /* an attempt is open */
  TS_APPSTORE_WAITING_RETRY,  /* the last attempt failed; the next one after the backoff */
  TS_APPSTORE_INSTALLING,
  TS_APPSTORE_DONE,           /* installed */
  TS_APPSTORE_CANCELLED,      /* by the user */
  TS_APPSTORE_ABANDONED,      /* the app was uninstalled */
  TS_APPSTORE_PHASE_COUNT
} ts_appstore_phase;

typedef struct ts_appstore_config {
  const char *name;              /* trace subject; NULL: "<phone>-appstore" */
  ts_ipaddr server;              /* the update server (a ts_tcp_server in REQUEST mode) */
  uint16_t port;
  uint64_t size;                 /* bytes of the update (> 0; within the server's max_response) */
  ts_time attempt_timeout;       /* 0: TS_APPSTORE_DEFAULT_ATTEMPT_TIMEOUT */
  ts_time backoff_initial;       /* 0: TS_APPSTORE_DEFAULT_BACKOFF_INITIAL; doubles per failure */
  ts_time backoff_max;           /* 0: TS_APPSTORE_DEFAULT_BACKOFF_MAX */
  ts_time install_duration;      /* 0: TS_APPSTORE_DEFAULT_INSTALL */
  bool automatic;                /* automatic updates: an unfinished update resumes after a reboot */
  ts_time retry_after_boot;      /* 0: TS_APPSTORE_DEFAULT_RETRY_AFTER_BOOT */
  const ts_tcp_config *tcp;      /* the downloader's timers and retries (NULL: defaults); copied */
  /* Called once the new version is installed, before the relaunch (the run layer
   * tells the provider its settings schema changed, GT-24). */
  void (*on_installed)(void *ctx);
  void *ctx;
} ts_appstore_config;

typedef struct ts_appstore_stats {
  uint32_t updates_begun, attempts, attempts_failed;
  uint32_t downloads_completed, installs, cancels, abandons;
  uint32_t sigterms;             /* provider processes ended with appUpdate */
  uint32_t relaunches, relaunch_errors;
  uint64_t bytes_total;          /* over every attempt */
} ts_appstore_stats;

typedef struct ts_appstore ts_appstore;

/* Attaches an App Store to the phone (and listens to its events). */
int ts_appstore_create(ts_phone *ph, const ts_appstore_config *cfg, ts_appstore **out);
/* Frees at once: its socket is dropped, its listener removed. Usually the world's
 * reset or destroy frees it. */
void ts_appstore_destroy(ts_appstore *a);

/* The update begins now (the user taps Update, or automatic updates). TS_ESTATE
 * while one is in progress or when the app is not installed. */
int ts_appstore_begin_update(ts_appstore *a);
/* The user cancels the download (TS_ESTATE unless downloading or waiting to retry). */
int ts_appstore_cancel(ts_appstore *a);

/* ---- introspection (the oracles and lockout explainers) */
const char *ts_appstore_phase_name(ts_appstore_phase p); /* "waiting-retry", ... */
ts_appstore_phase ts_appstore_phase_get(const ts_appstore *a);
ts_time ts_appstore_since(const ts_appstore *a);          /* when the phase began */
uint32_t ts_appstore_attempts(const ts_appstore *a);      /* in the current update */
uint64_t ts_appstore_bytes(const ts_appstore *a);         /* received in the current attempt */
/* Downloading or waiting to retry, and the current (or last failed) attempt has not
 * received a byte: appstored "waits for connectivity" (MV-BLOG). */
bool ts_appstore_waiting_for_connectivity(const ts_appstore *a);
/* The downloader's socket (0 between attempts): ts_phone_socket_last_verdict gives
 * the rule that decides its packets. */
ts_sock_id ts_appstore_socket(const ts_appstore *a);
/* The verdict of the last attempt's last send, kept after its socket closed
 * (kind none before any send). */
ts_verdict ts_appstore_last_verdict(const ts_appstore *a);
/* When the provider was last SIGTERMed for an update, and when the last install
 * completed; TS_TIME_NEVER when not (yet). */
ts_time ts_appstore_sigterm_at(const ts_appstore *a);
ts_time ts_appstore_installed_at(const ts_appstore *a);
/* When the next attempt (waiting-retry) or automatic begin (idle after a reboot)
 * is due; TS_TIME_NEVER when none. */
ts_time ts_appstore_next_at(const ts_appstore *a);
void ts_appstore_get_stats(const ts_appstore *a, ts_appstore_stats *out);

#endif
