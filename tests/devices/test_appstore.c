/* The App Store update of the VPN app as processes (GT-05, GT-06, GT-07-like
 * recoveries of ios-model.md §7, §2.4 items 4-5) and the user's actions on the VPN:
 *
 *   phone en0 192.168.1.20 --5 ms-- ap --5 ms-- core --10 ms-- relay 203.0.113.10
 *                                               core --10 ms-- server 198.51.100.20 (UDP echo :7)
 *                                               core --10 ms-- appstore 192.0.2.50 (GET <n> :443)
 *
 * The provider (on-demand Connect(any), completion once its settings are applied)
 * starts on the app's first datagram; the app sends one datagram to the server's
 * UDP echo every second from an unconnected BSD socket, so a reply only needs a
 * path at that instant. The update begins at UPDATE_AT while the tunnel is up. */
#include <string.h>

#include "tstest.h"
#include "tstest_net.h"
#include "tstest_phone.h"

#define SETTINGS_DELAY (100 * TS_MS)
#define UPDATE_AT (10 * TS_SEC)
#define UPDATE_SIZE 100000u
#define INSTALL_TIME (5 * TS_SEC)
#define RETRY_AFTER_BOOT (30 * TS_SEC)

typedef struct opts {
  bool ian;
  bool stop_at_install;      /* lifecycle quirk update-stop-point = install */
  bool downloader_exempt;    /* OS quirk appstore-downloader-exempt */
  bool automatic;
} opts;

/* The bed with the App Store host and device; the app sends from 1 s on, for the
 * life of the world. */
static int build(ts_bed *b, const opts *o, uint64_t seed) {
  ts_appstore_config ac = {.server = ts_test_addr("192.0.2.50"), .port = 443,
                           .size = UPDATE_SIZE, .attempt_timeout = 20 * TS_SEC,
                           .backoff_initial = 5 * TS_SEC, .backoff_max = 60 * TS_SEC,
                           .install_duration = INSTALL_TIME, .automatic = o->automatic,
                           .retry_after_boot = RETRY_AFTER_BOOT};
  ts_bed_opts bo = {.layout = TS_BED_APPSTORE, .udp_echo = true, .profile = "ios-18",
                    .quirks = {{TS_QUIRK_APPSTORE_DOWNLOADER_EXEMPT, o->downloader_exempt}},
                    .quirk_count = 1, .ian = o->ian, .on_demand = true, .connect_rule = true,
                    .provider = {.settings_delay = SETTINGS_DELAY,
                                 .completion = TS_PROVIDER_COMPLETE_AFTER_SETTINGS,
                                 .memory = 8u << 20},
                    .appstore = &ac, .app_socket = true};
  int rc = ts_bed_create(b, seed, &bo);
  if (!rc)
    rc = ts_vpn_session_set_lifecycle_quirk(ts_bed_session(b), TS_LQ_UPDATE_STOP_POINT,
                                            o->stop_at_install);
  return rc ? rc : ts_bed_app_every_second(b, TS_SEC, TS_TIME_NEVER);
}

static ts_appstore_stats astats(ts_bed *b) {
  ts_appstore_stats s;
  ts_appstore_get_stats(b->store, &s);
  return s;
}

/* Built, connected by on-demand on the app's first datagram (which itself left
 * before the tunnel), update begun at UPDATE_AT; 0 when all of that held. The en0
 * count starts again at the update. */
static int connected_then_update(ts_bed *b, const opts *o, uint64_t seed) {
  if (build(b, o, seed) || ts_bed_run_to(b, UPDATE_AT)) return -1;
  if (ts_bed_status(b) != TS_VPN_CONNECTED || b->app_replies < 5 || b->last_app_egress > TS_SEC)
    return -2;
  b->app_egress = 0;
  b->first_app_egress = b->last_app_egress = 0;
  return ts_appstore_begin_update(b->store) ? -3 : 0;
}

/* Replies the app gets in the next `span` (the world runs on). */
static uint32_t replies_during(ts_bed *b, ts_time span) {
  uint32_t before = b->app_replies;
  ts_bed_run_to(b, ts_world_now(b->w) + span);
  return b->app_replies - before;
}

/* ---------------------------------------------------------------- (a) GT-05 */

TS_TEST(gt05_without_ian_the_update_leaks_completes_and_the_tunnel_is_relaunched) {
  static ts_bed b;
  opts o = {.ian = false};
  TS_CHECK_INT(connected_then_update(&b, &o, 1), ==, 0);
  /* SIGTERM with appUpdate at the update's first instant, before any download. */
  TS_CHECK_INT(ts_appstore_sigterm_at(b.store), ==, UPDATE_AT);
  TS_CHECK_INT(ts_bed_status(&b), ==, TS_VPN_DISCONNECTED);
  TS_CHECK_INT(ts_vpn_session_stop_reason(ts_bed_session(&b)), ==, TS_STOP_APP_UPDATE);
  TS_CHECK_INT(ts_vpn_session_last_exit(ts_bed_session(&b)), ==, TS_EXIT_SIGTERM);
  TS_CHECK_INT(ts_phone_app_state_get(b.ph), ==, TS_PHONE_APP_UPDATING);
  TS_CHECK_INT(ts_bed_run_to(&b, 60 * TS_SEC), ==, 0);
  ts_appstore_stats s = astats(&b);
  TS_CHECK_INT(ts_appstore_phase_get(b.store), ==, TS_APPSTORE_DONE);
  TS_CHECK_INT(s.attempts, ==, 1);
  TS_CHECK_INT(s.bytes_total, ==, UPDATE_SIZE);
  TS_CHECK_INT(s.installs, ==, 1);
  ts_time installed = ts_appstore_installed_at(b.store);
  TS_CHECK(installed >= UPDATE_AT + INSTALL_TIME && installed < UPDATE_AT + INSTALL_TIME + TS_SEC);
  /* The leak window: app packets on en0 between the SIGTERM and the relaunch, none after. */
  TS_CHECK_INT(b.app_egress, >=, 4);
  TS_CHECK(b.first_app_egress > UPDATE_AT && b.last_app_egress <= installed);
  /* Meanwhile on-demand could not relaunch the old bundle. */
  TS_CHECK_INT(ts_phone_launches_refused(b.ph), >=, 1);
  TS_CHECK(!ts_phone_on_demand_suspended(b.ph));
  /* The system relaunched it after the install, and the tunnel carries the app again. */
  TS_CHECK_INT(s.relaunches, ==, 1);
  TS_CHECK_INT(ts_vpn_session_start_cause(ts_bed_session(&b)), ==, TS_START_UPDATE_RELAUNCH);
  TS_CHECK_INT(ts_bed_status(&b), ==, TS_VPN_CONNECTED);
  TS_CHECK_INT(ts_phone_app_state_get(b.ph), ==, TS_PHONE_APP_INSTALLED);
  uint32_t en0 = b.app_egress;
  TS_CHECK_INT(replies_during(&b, 10 * TS_SEC), >=, 9);
  TS_CHECK_INT(b.app_egress, ==, en0);
  ts_world_destroy(b.w);
}

/* ---------------------------------------------------------------- (b) GT-06 */

static int lockout(ts_bed *b, const opts *o, uint64_t seed, ts_time until) {
  int rc = connected_then_update(b, o, seed);
  return rc ? rc : ts_bed_run_to(b, until);
}

TS_TEST(gt06_with_ian_the_download_never_completes_and_everything_is_dropped) {
  static ts_bed b;
  opts o = {.ian = true};
  TS_CHECK_INT(lockout(&b, &o, 2, UPDATE_AT + 2 * TS_SEC), ==, 0);
  uint32_t replies = b.app_replies;
  TS_CHECK_INT(ts_bed_run_to(&b, 300 * TS_SEC), ==, 0);
  ts_appstore_stats s = astats(&b);
  TS_CHECK_INT(s.installs, ==, 0);
  TS_CHECK_INT(s.bytes_total, ==, 0);
  TS_CHECK_INT(s.attempts, >=, 5); /* 20 s attempts, 5 s doubling backoff */
  TS_CHECK(ts_appstore_waiting_for_connectivity(b.store));
  TS_CHECK_INT(ts_phone_app_state_get(b.ph), ==, TS_PHONE_APP_UPDATING);
  /* The downloader's SYNs are dropped by the on-demand-pending rule. */
  ts_verdict v = ts_appstore_last_verdict(b.store);
  TS_CHECK_INT(v.kind, ==, TS_VERDICT_DROP);
  TS_CHECK_INT(v.rule, ==, TS_RULE_IAN_ON_DEMAND_PENDING);
  /* The relaunch was refused and on-demand suspended; nothing came back, nothing leaked. */
  TS_CHECK_INT(ts_phone_launches_refused(b.ph), >=, 1);
  TS_CHECK(ts_phone_on_demand_suspended(b.ph));
  TS_CHECK_INT(ts_bed_status(&b), ==, TS_VPN_DISCONNECTED);
  TS_CHECK_INT(b.app_replies, ==, replies);
  TS_CHECK_INT(b.app_egress, ==, 0);
  ts_time at = 0;
  TS_CHECK(ts_phone_last_app_block(b.ph, &v, &at));
  TS_CHECK_INT(v.rule, ==, TS_RULE_IAN_ON_DEMAND_PENDING);
  TS_CHECK_INT(at, >=, 299 * TS_SEC);
  ts_world_destroy(b.w);
}

/* ---------------------------------------------------------- (c) recoveries */

TS_TEST(gt06_cancel_alone_does_not_recover_cancel_and_one_toggle_does) {
  static ts_bed b;
  opts o = {.ian = true};
  TS_CHECK_INT(lockout(&b, &o, 3, 60 * TS_SEC), ==, 0);
  TS_CHECK(ts_phone_on_demand_suspended(b.ph));
  TS_CHECK_INT(ts_appstore_cancel(b.store), ==, 0);
  TS_CHECK_INT(ts_appstore_phase_get(b.store), ==, TS_APPSTORE_CANCELLED);
  TS_CHECK_INT(ts_phone_app_state_get(b.ph), ==, TS_PHONE_APP_INSTALLED);
  TS_CHECK_INT(replies_during(&b, 30 * TS_SEC), ==, 0);
  TS_CHECK(ts_phone_on_demand_suspended(b.ph));
  TS_CHECK(!ts_phone_settings_switch_on(b.ph));
  TS_CHECK_INT(ts_phone_settings_toggle(b.ph), ==, 0);
  TS_CHECK(!ts_phone_on_demand_suspended(b.ph));
  TS_CHECK(ts_phone_settings_switch_on(b.ph));
  TS_CHECK_INT(ts_vpn_session_start_cause(ts_bed_session(&b)), ==, TS_START_USER);
  TS_CHECK_INT(replies_during(&b, 10 * TS_SEC), >=, 9);
  TS_CHECK_INT(ts_bed_status(&b), ==, TS_VPN_CONNECTED);
  TS_CHECK_INT(b.app_egress, ==, 0);
  ts_world_destroy(b.w);
}

TS_TEST(gt06_toggling_twice_without_cancelling_stays_locked) {
  static ts_bed b;
  opts o = {.ian = true};
  TS_CHECK_INT(lockout(&b, &o, 4, 60 * TS_SEC), ==, 0);
  uint32_t refused = ts_phone_launches_refused(b.ph);
  TS_CHECK_INT(ts_phone_settings_toggle(b.ph), ==, TS_EREFUSED);
  TS_CHECK_INT(ts_phone_settings_toggle(b.ph), ==, TS_EREFUSED);
  TS_CHECK_INT(ts_phone_launches_refused(b.ph), ==, refused + 2);
  TS_CHECK_INT(replies_during(&b, 30 * TS_SEC), ==, 0);
  /* The toggle lifted the suspension; the next app datagram's launch suspended it again. */
  TS_CHECK(ts_phone_on_demand_suspended(b.ph));
  TS_CHECK_INT(ts_phone_launches_refused(b.ph), >=, refused + 3);
  TS_CHECK_INT(ts_appstore_phase_get(b.store), !=, TS_APPSTORE_DONE);
  ts_world_destroy(b.w);
}

/* --------------------------------------------------------- (d) reboot loop */

TS_TEST(gt06_reboot_recovers_then_the_automatic_update_locks_it_again) {
  static ts_bed b;
  opts o = {.ian = true, .automatic = true};
  TS_CHECK_INT(lockout(&b, &o, 5, 60 * TS_SEC), ==, 0);
  TS_CHECK_INT(ts_phone_reboot(b.ph), ==, 0);
  TS_CHECK(!ts_phone_on_demand_suspended(b.ph));
  TS_CHECK_INT(ts_phone_app_state_get(b.ph), ==, TS_PHONE_APP_INSTALLED);
  TS_CHECK_INT(ts_appstore_phase_get(b.store), ==, TS_APPSTORE_IDLE);
  TS_CHECK_INT(ts_appstore_next_at(b.store), ==, 60 * TS_SEC + RETRY_AFTER_BOOT);
  TS_CHECK_INT(replies_during(&b, 20 * TS_SEC), >=, 18);
  TS_CHECK_INT(ts_bed_status(&b), ==, TS_VPN_CONNECTED);
  TS_CHECK_INT(ts_vpn_session_start_cause(ts_bed_session(&b)), ==, TS_START_ON_DEMAND);
  /* retry_after_boot later the update begins again, and so does the lockout. */
  TS_CHECK_INT(ts_bed_run_to(&b, 60 * TS_SEC + RETRY_AFTER_BOOT + TS_SEC), ==, 0);
  TS_CHECK_INT(astats(&b).updates_begun, ==, 2);
  TS_CHECK_INT(ts_appstore_sigterm_at(b.store), ==, 60 * TS_SEC + RETRY_AFTER_BOOT);
  TS_CHECK_INT(replies_during(&b, 60 * TS_SEC), ==, 0);
  TS_CHECK(ts_phone_on_demand_suspended(b.ph));
  TS_CHECK(ts_appstore_waiting_for_connectivity(b.store));
  ts_world_destroy(b.w);
}

TS_TEST(without_automatic_updates_a_reboot_ends_the_update) {
  static ts_bed b;
  opts o = {.ian = true};
  TS_CHECK_INT(lockout(&b, &o, 6, 60 * TS_SEC), ==, 0);
  TS_CHECK_INT(ts_phone_reboot(b.ph), ==, 0);
  TS_CHECK_INT(ts_appstore_next_at(b.store), ==, TS_TIME_NEVER);
  TS_CHECK_INT(replies_during(&b, 120 * TS_SEC), >=, 110);
  TS_CHECK_INT(astats(&b).updates_begun, ==, 1);
  ts_world_destroy(b.w);
}

/* ------------------------------------------- (e) uninstall, profile removal */

typedef int (*removal_fn)(ts_phone *ph);

/* Replies in the 30 s after the removal, during a lockout. */
static int removal_replies(removal_fn remove, bool keeps_policy, uint64_t seed, ts_bed *b) {
  opts o = {.ian = true};
  if (lockout(b, &o, seed, 60 * TS_SEC)) return -1;
  if (ts_vpn_session_set_lifecycle_quirk(ts_bed_session(b), TS_LQ_CONFIG_REMOVAL_KEEPS_POLICY,
                                         keeps_policy) ||
      remove(b->ph))
    return -1;
  return (int)replies_during(b, 30 * TS_SEC);
}

TS_TEST(gt06_uninstall_does_not_recover_unless_removal_tears_down_the_policy) {
  static ts_bed b;
  TS_CHECK_INT(removal_replies(ts_phone_uninstall_app, true, 7, &b), ==, 0);
  TS_CHECK_INT(ts_appstore_phase_get(b.store), ==, TS_APPSTORE_ABANDONED);
  TS_CHECK(!ts_phone_vpn_profile_present(b.ph));
  TS_CHECK_INT(ts_bed_status(&b), ==, TS_VPN_DISCONNECTED); /* still enforcing */
  /* The reboot applies the removal: no VPN, the app's datagrams go out en0. */
  TS_CHECK_INT(ts_phone_reboot(b.ph), ==, 0);
  TS_CHECK_INT(ts_bed_status(&b), ==, TS_VPN_INVALID);
  TS_CHECK_INT(replies_during(&b, 10 * TS_SEC), >=, 9);
  TS_CHECK_INT(b.app_egress, >=, 9);
  ts_world_destroy(b.w);
  TS_CHECK_INT(removal_replies(ts_phone_uninstall_app, false, 7, &b), >=, 29);
  TS_CHECK_INT(ts_bed_status(&b), ==, TS_VPN_INVALID);
  TS_CHECK_INT(ts_phone_app_state_get(b.ph), ==, TS_PHONE_APP_REMOVED);
  TS_CHECK_INT(ts_phone_vpn_start(b.ph, TS_START_APP), !=, 0);
  ts_world_destroy(b.w);
}

TS_TEST(gt06_profile_removal_does_not_recover_unless_removal_tears_down_the_policy) {
  static ts_bed b;
  TS_CHECK_INT(removal_replies(ts_phone_remove_vpn_profile, true, 8, &b), ==, 0);
  TS_CHECK_INT(ts_phone_settings_toggle(b.ph), ==, TS_ENOENT); /* gone from Settings */
  TS_CHECK_INT(ts_appstore_attempts(b.store), >=, 3);           /* still trying, still dropped */
  TS_CHECK_INT(astats(&b).bytes_total, ==, 0);
  ts_world_destroy(b.w);
  TS_CHECK_INT(removal_replies(ts_phone_remove_vpn_profile, false, 8, &b), >=, 29);
  /* Without the VPN the download goes through at its next attempt; the relaunch
   * finds no configuration. */
  TS_CHECK_INT(ts_bed_run_to(&b, 200 * TS_SEC), ==, 0);
  ts_appstore_stats s = astats(&b);
  TS_CHECK_INT(s.installs, ==, 1);
  TS_CHECK_INT(s.relaunch_errors, ==, 1);
  TS_CHECK_INT(ts_bed_status(&b), ==, TS_VPN_INVALID);
  ts_world_destroy(b.w);
}

TS_TEST(removing_the_profile_of_a_connected_vpn_stops_it_at_once) {
  static ts_bed b;
  opts o = {.ian = true};
  TS_CHECK_INT(build(&b, &o, 9), ==, 0);
  TS_CHECK_INT(ts_bed_run_to(&b, 5 * TS_SEC), ==, 0);
  TS_CHECK_INT(ts_bed_status(&b), ==, TS_VPN_CONNECTED);
  TS_CHECK_INT(ts_phone_remove_vpn_profile(b.ph), ==, 0);
  TS_CHECK_INT(ts_bed_run_to(&b, 6 * TS_SEC), ==, 0);
  TS_CHECK_INT(ts_bed_status(&b), ==, TS_VPN_INVALID);
  TS_CHECK_INT(ts_vpn_session_stop_reason(ts_bed_session(&b)), ==, TS_STOP_CONFIGURATION_REMOVED);
  TS_CHECK(!ts_vpn_config_on_demand(ts_phone_vpn_config(b.ph)));
  TS_CHECK_INT(replies_during(&b, 10 * TS_SEC), >=, 9);
  ts_world_destroy(b.w);
}

/* --------------------------------------------------- (f) stop point install */

TS_TEST(stop_point_install_with_ian_downloads_through_the_tunnel_and_completes) {
  static ts_bed b;
  opts o = {.ian = true, .stop_at_install = true};
  TS_CHECK_INT(connected_then_update(&b, &o, 10), ==, 0);
  TS_CHECK_INT(ts_bed_status(&b), ==, TS_VPN_CONNECTED); /* not yet SIGTERMed */
  ts_verdict v;
  TS_CHECK_INT(ts_phone_socket_last_verdict(b.ph, ts_appstore_socket(b.store), &v), ==, 0);
  TS_CHECK_INT(v.kind, ==, TS_VERDICT_TUNNEL);
  TS_CHECK_INT(v.rule, ==, TS_RULE_IAN_SCOPED_TO_TUNNEL);
  TS_CHECK_INT(ts_bed_run_to(&b, 60 * TS_SEC), ==, 0);
  ts_appstore_stats s = astats(&b);
  TS_CHECK_INT(s.attempts, ==, 1);
  TS_CHECK_INT(s.installs, ==, 1);
  ts_time term = ts_appstore_sigterm_at(b.store);
  TS_CHECK(term > UPDATE_AT && term < UPDATE_AT + 5 * TS_SEC);
  TS_CHECK_INT(ts_appstore_installed_at(b.store), ==, term + INSTALL_TIME);
  TS_CHECK_INT(s.relaunches, ==, 1);
  TS_CHECK_INT(ts_bed_status(&b), ==, TS_VPN_CONNECTED);
  TS_CHECK_INT(replies_during(&b, 10 * TS_SEC), >=, 9);
  TS_CHECK_INT(b.app_egress, ==, 0);
  ts_world_destroy(b.w);
}

/* ---------------------------------------------------- (g) exempt downloader */

TS_TEST(an_exempt_downloader_completes_outside_the_tunnel_under_ian) {
  static ts_bed b;
  opts o = {.ian = true, .downloader_exempt = true};
  TS_CHECK_INT(connected_then_update(&b, &o, 11), ==, 0);
  TS_CHECK_INT(ts_bed_status(&b), ==, TS_VPN_DISCONNECTED);
  ts_verdict v;
  TS_CHECK_INT(ts_phone_socket_last_verdict(b.ph, ts_appstore_socket(b.store), &v), ==, 0);
  TS_CHECK_INT(v.kind, ==, TS_VERDICT_PHYSICAL);
  TS_CHECK_INT(v.rule, ==, TS_RULE_IAN_APPSTORE_EXEMPT);
  TS_CHECK_INT(ts_bed_run_to(&b, 60 * TS_SEC), ==, 0);
  ts_appstore_stats s = astats(&b);
  TS_CHECK_INT(s.attempts, ==, 1);
  TS_CHECK_INT(s.installs, ==, 1);
  TS_CHECK_INT(s.relaunches, ==, 1);
  TS_CHECK_INT(ts_bed_status(&b), ==, TS_VPN_CONNECTED);
  TS_CHECK_INT(replies_during(&b, 10 * TS_SEC), >=, 9);
  TS_CHECK_INT(b.app_egress, ==, 0); /* apps stayed blocked, not leaked, during the window */
  ts_world_destroy(b.w);
}

/* ------------------------------------------------------------ the API */

TS_TEST(appstore_rejects_bad_input_and_wrong_states) {
  static ts_bed b;
  opts o = {.ian = false};
  TS_CHECK_INT(build(&b, &o, 12), ==, 0);
  ts_appstore *x = NULL;
  ts_appstore_config bad = {.server = ts_test_addr("192.0.2.50"), .port = 443};
  TS_CHECK_INT(ts_appstore_create(b.ph, &bad, &x), ==, TS_EINVAL); /* size 0 */
  bad.size = 1;
  bad.install_duration = -1;
  TS_CHECK_INT(ts_appstore_create(b.ph, &bad, &x), ==, TS_ERANGE);
  TS_CHECK_INT(ts_appstore_cancel(b.store), ==, TS_ESTATE);
  TS_CHECK_INT(ts_appstore_phase_get(b.store), ==, TS_APPSTORE_IDLE);
  TS_CHECK_INT(ts_appstore_begin_update(b.store), ==, 0);
  TS_CHECK_INT(ts_appstore_begin_update(b.store), ==, TS_ESTATE);
  TS_CHECK_STR(ts_appstore_phase_name(ts_appstore_phase_get(b.store)), "downloading");
  TS_CHECK_STR(ts_appstore_phase_name(TS_APPSTORE_WAITING_RETRY), "waiting-retry");
  TS_CHECK(ts_appstore_phase_name(TS_APPSTORE_PHASE_COUNT) == NULL);
  TS_CHECK_INT(ts_phone_socket_last_verdict(b.ph, 0xdead, NULL), ==, TS_ENOENT);
  TS_CHECK(strcmp(ts_strerror(TS_EREFUSED), "unknown error") != 0);
  ts_appstore_destroy(b.store); /* explicit destroy drops its socket and listener */
  TS_CHECK_INT(ts_phone_reboot(b.ph), ==, 0);
  TS_CHECK_INT(ts_bed_run_to(&b, 30 * TS_SEC), ==, 0);
  ts_world_destroy(b.w);
}
