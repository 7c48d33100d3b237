/* The packet-tunnel provider's lifecycle behaviours (ios-model.md §1.5, §1.6, §2.5,
 * §5; GT-21, GT-23, GT-24, GT-30 of §7) and the monitor's sleep/wake, on a phone in
 * a small world (link delays one way):
 *
 *   phone en0 192.168.1.20 --5 ms-- ap (router) --5 ms-- core
 *        core --10 ms-- relay 203.0.113.10 (ts_relay: wg :51820, gateway 10.64.0.1, NAT)
 *        core --10 ms-- server 198.51.100.20 (UDP echo :7)
 *
 * "The app" is one unconnected BSD UDP socket that sends a datagram to the server's
 * echo port every second (each send is also an on-demand connection attempt while
 * the VPN is down); the egress hook counts the app's packets that leave en0. The
 * provider's settings callback comes SETTINGS_DELAY after setTunnelNetworkSettings,
 * so every instant asserted below follows from a mechanism: the on-demand start at
 * the app's send, the recovery timer, the watchdogs, the settings timeout. */
#include <string.h>

#include "tstest.h"
#include "tstest_phone.h"

#define SETTINGS_DELAY (100 * TS_MS)
#define MIB (1ull << 20)

typedef struct opts {
  const char *profile;
  bool ian, on_demand;
  bool needs_keychain;
  ts_provider_keychain_locked keychain_locked;
  bool settings_never_complete;
  ts_time settings_delay, settings_timeout; /* delay 0: SETTINGS_DELAY */
  uint64_t memory, memory_on_connect;
  bool use_monitor;
  ts_monitor_path path;
} opts;

static int build(ts_bed *b, const opts *o, uint64_t seed) {
  ts_bed_opts bo = {
      .udp_echo = true, .profile = o->profile, .ian = o->ian, .on_demand = o->on_demand,
      .connect_rule = o->on_demand, .app_socket = true,
      .provider = {.settings_delay = o->settings_delay ? o->settings_delay : SETTINGS_DELAY,
                   .completion = TS_PROVIDER_COMPLETE_AFTER_SETTINGS,
                   .settings_never_complete = o->settings_never_complete,
                   .settings_timeout = o->settings_timeout,
                   .needs_keychain = o->needs_keychain,
                   .keychain_locked = o->keychain_locked,
                   .memory = o->memory,
                   .memory_on_connect = o->memory_on_connect,
                   .use_monitor = o->use_monitor,
                   .monitor = {.path = o->path}}};
  return ts_bed_create(b, seed, &bo);
}

static ts_provider_error_reason reason(ts_bed *b) { return ts_provider_error_reason_get(b->prov); }

/* ------------------------------------------------------------------ names */

TS_TEST(error_reason_and_keychain_behaviour_names) {
  TS_CHECK_STR(ts_provider_error_reason_name(TS_PROVIDER_REASON_NONE), "none");
  TS_CHECK_STR(ts_provider_error_reason_name(TS_PROVIDER_REASON_USER), "user");
  TS_CHECK_STR(ts_provider_error_reason_name(TS_PROVIDER_REASON_DEVICE_LOCKED), "device-locked");
  TS_CHECK_STR(ts_provider_error_reason_name(TS_PROVIDER_REASON_OUTDATED_SCHEMA),
               "outdated-schema");
  TS_CHECK(ts_provider_error_reason_name(TS_PROVIDER_REASON_COUNT) == NULL);
  TS_CHECK_STR(ts_provider_keychain_locked_name(TS_PROVIDER_KEYCHAIN_BLOCKED_STATE),
               "blocked-state");
  TS_CHECK_STR(ts_provider_keychain_locked_name(TS_PROVIDER_KEYCHAIN_DEADLOCK), "deadlock");
  TS_CHECK(ts_provider_keychain_locked_name(TS_PROVIDER_KEYCHAIN_COUNT) == NULL);
}

TS_TEST(enter_error_state_still_works_with_reason_user) {
  ts_bed b;
  opts o = {.profile = "ios-18"};
  TS_CHECK_INT(build(&b, &o, 20), ==, 0);
  TS_CHECK_INT(ts_provider_enter_error_state(b.prov), ==, TS_ESTATE); /* no process */
  TS_CHECK_INT(ts_provider_start(b.prov, TS_START_APP), ==, 0);
  TS_CHECK_INT(ts_bed_run_to(&b, TS_SEC), ==, 0);
  TS_CHECK_INT(reason(&b), ==, TS_PROVIDER_REASON_NONE);
  TS_CHECK_INT(ts_provider_enter_error_state(b.prov), ==, 0);
  TS_CHECK(ts_provider_in_error_state(b.prov));
  TS_CHECK_INT(reason(&b), ==, TS_PROVIDER_REASON_USER);
  TS_CHECK(ts_provider_wgdev(b.prov) == NULL);
  /* A user error state never restarts by itself. */
  TS_CHECK_INT(ts_bed_run_to(&b, 120 * TS_SEC), ==, 0);
  TS_CHECK_INT(reason(&b), ==, TS_PROVIDER_REASON_USER);
  TS_CHECK_INT(ts_bed_pstats(&b).keychain_retries, ==, 0);
  /* The process ends: no reason is left behind. */
  TS_CHECK_INT(ts_provider_stop(b.prov, TS_STOP_USER_INITIATED), ==, 0);
  TS_CHECK_INT(ts_bed_run_to(&b, 121 * TS_SEC), ==, 0);
  TS_CHECK(!ts_provider_in_error_state(b.prov));
  TS_CHECK_INT(reason(&b), ==, TS_PROVIDER_REASON_NONE);
  ts_world_destroy(b.w);
}

/* ------------------------------------------------------------------ GT-23 */

static void gt23_blocked_state(bool ian) {
  ts_bed b;
  opts o = {.profile = "ios-18", .ian = ian, .on_demand = true, .needs_keychain = true,
            .keychain_locked = TS_PROVIDER_KEYCHAIN_BLOCKED_STATE};
  TS_CHECK_INT(build(&b, &o, ian ? 31 : 30), ==, 0);
  TS_CHECK(ts_phone_keychain_available(b.ph));
  TS_CHECK_INT(ts_bed_run_to(&b, TS_SEC), ==, 0);
  TS_CHECK_INT(ts_phone_reboot(b.ph), ==, 0);
  TS_CHECK(!ts_phone_keychain_available(b.ph));
  /* The app's first send at 2 s starts the VPN through on-demand: the provider cannot
   * read its settings, enters the error state and completes startTunnel. */
  const ts_time t0 = 2 * TS_SEC;
  ts_bed_app_every_second(&b, t0, 60 * TS_SEC);
  TS_CHECK_INT(ts_bed_run_to(&b, t0), ==, 0);
  TS_CHECK_INT(ts_bed_status(&b), ==, TS_VPN_CONNECTED);
  TS_CHECK_INT(ts_vpn_session_since(ts_bed_session(&b)), ==, t0);
  TS_CHECK(ts_provider_in_error_state(b.prov));
  TS_CHECK_INT(reason(&b), ==, TS_PROVIDER_REASON_DEVICE_LOCKED);
  TS_CHECK(ts_vpn_session_routes_installed(ts_bed_session(&b))); /* default routes: captured */
  TS_CHECK(!ts_provider_start_blocked(b.prov));
  TS_CHECK(!ts_provider_settings_pending(b.prov));
  const uint32_t en0_at_start = b.app_egress; /* the triggering send, before the tunnel */
  /* Read again every 5 s (bootRecoveryPeriodicity): 7, 12, 17, 22, 27 s. */
  TS_CHECK_INT(ts_bed_run_to(&b, t0 + 25 * TS_SEC - 1), ==, 0);
  TS_CHECK_INT(ts_bed_pstats(&b).keychain_retries, ==, 4);
  TS_CHECK_INT(ts_bed_run_to(&b, t0 + 25 * TS_SEC), ==, 0);
  TS_CHECK_INT(ts_bed_pstats(&b).keychain_retries, ==, 5);
  /* The unlock at 29 s does nothing by itself: the timer notices it at 32 s. */
  TS_CHECK_INT(ts_bed_run_to(&b, 29 * TS_SEC), ==, 0);
  TS_CHECK_INT(ts_phone_unlock(b.ph), ==, 0);
  TS_CHECK_INT(ts_bed_run_to(&b, t0 + 30 * TS_SEC - 1), ==, 0);
  TS_CHECK_INT(reason(&b), ==, TS_PROVIDER_REASON_DEVICE_LOCKED);
  TS_CHECK_INT(b.app_replies, ==, 0);
  TS_CHECK_INT(b.app_egress, ==, en0_at_start); /* dropped inside, not leaked */
  TS_CHECK_INT(ts_bed_pstats(&b).utun_discarded, >=, 29);
  TS_CHECK_INT(ts_bed_pstats(&b).handshakes, ==, 0);
  TS_CHECK_INT(ts_bed_run_to(&b, t0 + 30 * TS_SEC), ==, 0);
  TS_CHECK_INT(ts_bed_pstats(&b).keychain_retries, ==, 6);
  TS_CHECK(!ts_provider_in_error_state(b.prov));
  TS_CHECK_INT(reason(&b), ==, TS_PROVIDER_REASON_NONE);
  TS_CHECK(ts_provider_settings_pending(b.prov));
  /* Connected (settings, handshake) and the app's datagrams answered within 5 s of
   * the unlock; no timer keeps running. */
  TS_CHECK_INT(ts_bed_run_to(&b, 34 * TS_SEC), ==, 0);
  TS_CHECK(!ts_provider_settings_pending(b.prov));
  TS_CHECK_INT(ts_bed_pstats(&b).handshakes, ==, 1);
  TS_CHECK_INT(b.app_replies, >=, 1);
  TS_CHECK_INT(ts_bed_run_to(&b, 60 * TS_SEC), ==, 0);
  TS_CHECK_INT(b.app_replies, >=, 27);
  TS_CHECK_INT(b.app_egress, ==, en0_at_start);
  TS_CHECK_INT(ts_bed_status(&b), ==, TS_VPN_CONNECTED);
  TS_CHECK_INT(ts_bed_pstats(&b).keychain_retries, ==, 6);
  TS_CHECK_INT(ts_bed_pstats(&b).launches, ==, 1);
  ts_world_destroy(b.w);
}

TS_TEST(gt23_blocked_state_drops_retries_every_5s_and_connects_after_the_unlock) {
  gt23_blocked_state(false);
  if (ts_test_failed_now()) return;
  gt23_blocked_state(true);
}

TS_TEST(gt23_deadlock_start_blocks_until_the_60s_watchdog) {
  ts_bed b;
  opts o = {.profile = "ios-18", .needs_keychain = true,
            .keychain_locked = TS_PROVIDER_KEYCHAIN_DEADLOCK};
  TS_CHECK_INT(build(&b, &o, 32), ==, 0);
  TS_CHECK_INT(ts_bed_run_to(&b, TS_SEC), ==, 0);
  TS_CHECK_INT(ts_phone_reboot(b.ph), ==, 0);
  const ts_time t0 = 2 * TS_SEC;
  TS_CHECK_INT(ts_bed_run_to(&b, t0), ==, 0);
  TS_CHECK_INT(ts_phone_vpn_start(b.ph, TS_START_APP), ==, 0);
  TS_CHECK_INT(ts_bed_run_to(&b, t0), ==, 0);
  TS_CHECK(ts_provider_start_blocked(b.prov));
  TS_CHECK(!ts_provider_in_error_state(b.prov));
  TS_CHECK(!ts_provider_settings_pending(b.prov));
  /* The unlock does not free a blocked startTunnel. */
  TS_CHECK_INT(ts_bed_run_to(&b, 10 * TS_SEC), ==, 0);
  TS_CHECK_INT(ts_phone_unlock(b.ph), ==, 0);
  TS_CHECK_INT(ts_bed_run_to(&b, t0 + 60 * TS_SEC - 1), ==, 0);
  TS_CHECK_INT(ts_bed_status(&b), ==, TS_VPN_CONNECTING);
  TS_CHECK(!ts_vpn_session_tunnel_up(ts_bed_session(&b)));
  TS_CHECK_INT(ts_bed_run_to(&b, t0 + 60 * TS_SEC), ==, 0);
  TS_CHECK_INT(ts_bed_status(&b), ==, TS_VPN_DISCONNECTING);
  TS_CHECK_INT(ts_vpn_session_stop_reason(ts_bed_session(&b)), ==, TS_STOP_CONNECTION_FAILED);
  TS_CHECK(ts_provider_start_blocked(b.prov)); /* stopTunnel is not served */
  TS_CHECK_INT(ts_bed_run_to(&b, t0 + 80 * TS_SEC), ==, 0);
  TS_CHECK_INT(ts_bed_status(&b), ==, TS_VPN_DISCONNECTED);
  TS_CHECK_INT(ts_vpn_session_last_exit(ts_bed_session(&b)), ==, TS_EXIT_WATCHDOG);
  TS_CHECK(!ts_provider_start_blocked(b.prov));
  TS_CHECK_INT(ts_bed_pstats(&b).kills, ==, 1);
  TS_CHECK_INT(ts_bed_pstats(&b).keychain_retries, ==, 0);
  /* A new process after the unlock reads its settings and connects. */
  TS_CHECK_INT(ts_phone_vpn_start(b.ph, TS_START_APP), ==, 0);
  TS_CHECK_INT(ts_bed_run_to(&b, t0 + 81 * TS_SEC), ==, 0);
  TS_CHECK_INT(ts_bed_status(&b), ==, TS_VPN_CONNECTED);
  TS_CHECK(!ts_provider_start_blocked(b.prov));
  TS_CHECK_INT(ts_bed_pstats(&b).handshakes, ==, 1);
  ts_world_destroy(b.w);
}

/* ------------------------------------------------------------------ GT-24 */

TS_TEST(gt24_outdated_schema_blocks_for_minutes_until_the_app_is_opened) {
  ts_bed b;
  opts o = {.profile = "ios-18", .on_demand = true};
  TS_CHECK_INT(build(&b, &o, 40), ==, 0);
  TS_CHECK_INT(ts_provider_start(b.prov, TS_START_APP), ==, 0);
  ts_bed_app_every_second(&b, TS_SEC, 400 * TS_SEC);
  TS_CHECK_INT(ts_bed_run_to(&b, 10 * TS_SEC + 500 * TS_MS), ==, 0);
  TS_CHECK_INT(b.app_replies, ==, 10); /* sends at 1 ... 10 s, answered in 80 ms */
  TS_CHECK_INT(ts_bed_pstats(&b).handshakes, ==, 1);
  /* An update that changes the settings schema installs: SIGTERM, then the next app
   * traffic relaunches the provider through on-demand (at 11 s). */
  TS_CHECK_INT(ts_provider_set_settings_outdated(b.prov, true), ==, 0);
  TS_CHECK_INT(ts_phone_vpn_kill(b.ph, TS_STOP_APP_UPDATE, TS_EXIT_SIGTERM), ==, 0);
  TS_CHECK_INT(ts_bed_run_to(&b, 11 * TS_SEC), ==, 0);
  TS_CHECK_INT(ts_bed_status(&b), ==, TS_VPN_CONNECTED);
  TS_CHECK_INT(ts_bed_pstats(&b).launches, ==, 2);
  TS_CHECK_INT(reason(&b), ==, TS_PROVIDER_REASON_OUTDATED_SCHEMA);
  TS_CHECK(ts_vpn_session_routes_installed(ts_bed_session(&b)));
  const uint32_t replies = b.app_replies, en0 = b.app_egress;
  /* Five minutes later: still blocked, nothing retried, nothing answered or leaked. */
  TS_CHECK_INT(ts_bed_run_to(&b, 311 * TS_SEC), ==, 0);
  TS_CHECK_INT(ts_bed_status(&b), ==, TS_VPN_CONNECTED);
  TS_CHECK_INT(reason(&b), ==, TS_PROVIDER_REASON_OUTDATED_SCHEMA);
  TS_CHECK_INT(ts_bed_pstats(&b).launches, ==, 2);
  TS_CHECK_INT(ts_bed_pstats(&b).keychain_retries, ==, 0);
  TS_CHECK_INT(ts_bed_pstats(&b).handshakes, ==, 1);
  TS_CHECK_INT(b.app_replies, ==, replies);
  TS_CHECK_INT(b.app_egress, ==, en0);
  TS_CHECK_INT(ts_bed_pstats(&b).utun_discarded, >=, 299);
  TS_CHECK(ts_provider_settings_outdated(b.prov));
  /* The user opens the app: it migrates the settings; the same process reconnects. */
  TS_CHECK_INT(ts_bed_run_to(&b, 311 * TS_SEC + 500 * TS_MS), ==, 0);
  TS_CHECK_INT(ts_phone_open_app(b.ph), ==, 0);
  TS_CHECK(!ts_provider_settings_outdated(b.prov));
  TS_CHECK(!ts_provider_in_error_state(b.prov));
  TS_CHECK_INT(ts_bed_run_to(&b, 315 * TS_SEC), ==, 0);
  TS_CHECK_INT(ts_bed_pstats(&b).handshakes, ==, 2);
  TS_CHECK_INT(ts_bed_pstats(&b).launches, ==, 2);
  TS_CHECK_INT(b.app_replies, >=, replies + 3);
  TS_CHECK_INT(b.app_egress, ==, en0);
  ts_world_destroy(b.w);
}

TS_TEST(gt24_opening_the_app_without_a_provider_migrates_and_starts_the_vpn) {
  ts_bed b;
  opts o = {.profile = "ios-18"};
  TS_CHECK_INT(build(&b, &o, 41), ==, 0);
  /* Nothing to migrate: opening the app does nothing. */
  TS_CHECK_INT(ts_phone_open_app(b.ph), ==, 0);
  TS_CHECK_INT(ts_bed_run_to(&b, TS_SEC), ==, 0);
  TS_CHECK_INT(ts_bed_status(&b), ==, TS_VPN_DISCONNECTED);
  TS_CHECK_INT(ts_bed_pstats(&b).launches, ==, 0);
  TS_CHECK_INT(ts_provider_start(b.prov, TS_START_APP), ==, 0);
  TS_CHECK_INT(ts_bed_run_to(&b, 2 * TS_SEC), ==, 0);
  TS_CHECK_INT(ts_provider_set_settings_outdated(b.prov, true), ==, 0);
  TS_CHECK_INT(ts_phone_vpn_kill(b.ph, TS_STOP_APP_UPDATE, TS_EXIT_SIGTERM), ==, 0);
  TS_CHECK_INT(ts_bed_run_to(&b, 60 * TS_SEC), ==, 0);
  TS_CHECK_INT(ts_bed_status(&b), ==, TS_VPN_DISCONNECTED); /* no on-demand: stays down */
  TS_CHECK_INT(ts_phone_open_app(b.ph), ==, 0);
  TS_CHECK_INT(ts_bed_run_to(&b, 61 * TS_SEC), ==, 0);
  TS_CHECK_INT(ts_bed_status(&b), ==, TS_VPN_CONNECTED);
  TS_CHECK_INT(ts_vpn_session_start_cause(ts_bed_session(&b)), ==, TS_START_APP);
  TS_CHECK_INT(ts_bed_pstats(&b).launches, ==, 2);
  TS_CHECK(!ts_provider_in_error_state(b.prov));
  TS_CHECK_INT(ts_bed_pstats(&b).handshakes, ==, 2);
  ts_world_destroy(b.w);
}

/* ------------------------------------------------------------------ GT-30 */

TS_TEST(gt30_settings_timeout_5s_proceeds_without_settings_in_the_session) {
  ts_bed b;
  opts o = {.profile = "ios-18", .settings_never_complete = true,
            .settings_timeout = TS_PROVIDER_WG_SETTINGS_TIMEOUT};
  TS_CHECK_INT(build(&b, &o, 50), ==, 0);
  const ts_time t0 = TS_SEC;
  TS_CHECK_INT(ts_bed_run_to(&b, t0), ==, 0);
  TS_CHECK_INT(ts_provider_start(b.prov, TS_START_APP), ==, 0);
  TS_CHECK_INT(ts_bed_run_to(&b, t0 + 5 * TS_SEC - 1), ==, 0);
  TS_CHECK_INT(ts_bed_status(&b), ==, TS_VPN_CONNECTING);
  TS_CHECK(ts_provider_settings_pending(b.prov));
  TS_CHECK(ts_provider_wgdev(b.prov) == NULL);
  TS_CHECK_INT(ts_bed_run_to(&b, t0 + 5 * TS_SEC), ==, 0);
  TS_CHECK_INT(ts_bed_status(&b), ==, TS_VPN_CONNECTED);
  TS_CHECK_INT(ts_vpn_session_since(ts_bed_session(&b)), ==, t0 + 5 * TS_SEC);
  TS_CHECK(ts_vpn_session_settings(ts_bed_session(&b)) == NULL);
  TS_CHECK(!ts_vpn_session_tunnel_up(ts_bed_session(&b)));
  TS_CHECK(ts_provider_settings_pending(b.prov)); /* the callback never came */
  TS_CHECK_INT(ts_bed_pstats(&b).settings_timeouts, ==, 1);
  TS_CHECK(ts_provider_wgdev(b.prov) != NULL);
  TS_CHECK_INT(ts_bed_run_to(&b, t0 + 6 * TS_SEC), ==, 0);
  TS_CHECK_INT(ts_bed_pstats(&b).handshakes, ==, 1);
  /* No watchdog applies to a connected session. */
  TS_CHECK_INT(ts_bed_run_to(&b, t0 + 120 * TS_SEC), ==, 0);
  TS_CHECK_INT(ts_bed_status(&b), ==, TS_VPN_CONNECTED);
  TS_CHECK_INT(ts_bed_pstats(&b).settings_timeouts, ==, 1);
  ts_world_destroy(b.w);
}

TS_TEST(gt30_a_late_callback_after_the_timeout_still_applies_the_settings) {
  ts_bed b;
  opts o = {.profile = "ios-18", .settings_delay = 7 * TS_SEC,
            .settings_timeout = TS_PROVIDER_WG_SETTINGS_TIMEOUT};
  TS_CHECK_INT(build(&b, &o, 51), ==, 0);
  TS_CHECK_INT(ts_provider_start(b.prov, TS_START_APP), ==, 0);
  TS_CHECK_INT(ts_bed_run_to(&b, 5 * TS_SEC), ==, 0);
  TS_CHECK_INT(ts_bed_status(&b), ==, TS_VPN_CONNECTED);
  TS_CHECK(!ts_vpn_session_tunnel_up(ts_bed_session(&b)));
  TS_CHECK_INT(ts_bed_run_to(&b, 7 * TS_SEC), ==, 0);
  TS_CHECK(ts_vpn_session_tunnel_up(ts_bed_session(&b)));
  TS_CHECK(!ts_provider_settings_pending(b.prov));
  TS_CHECK_INT(ts_bed_pstats(&b).settings_timeouts, ==, 1);
  TS_CHECK_INT(ts_bed_pstats(&b).handshakes, ==, 1); /* the engine came up once */
  /* A callback before the timeout: the timeout does nothing. */
  ts_world_destroy(b.w);
  opts fast = {.profile = "ios-18", .settings_timeout = TS_PROVIDER_WG_SETTINGS_TIMEOUT};
  TS_CHECK_INT(build(&b, &fast, 52), ==, 0);
  TS_CHECK_INT(ts_provider_start(b.prov, TS_START_APP), ==, 0);
  TS_CHECK_INT(ts_bed_run_to(&b, 10 * TS_SEC), ==, 0);
  TS_CHECK_INT(ts_vpn_session_since(ts_bed_session(&b)), ==, SETTINGS_DELAY);
  TS_CHECK_INT(ts_bed_pstats(&b).settings_timeouts, ==, 0);
  ts_world_destroy(b.w);
}

TS_TEST(gt30_settings_timeout_0_waits_until_the_60s_watchdog) {
  ts_bed b;
  opts o = {.profile = "ios-18", .settings_never_complete = true, .settings_timeout = 0};
  TS_CHECK_INT(build(&b, &o, 53), ==, 0);
  TS_CHECK_INT(ts_provider_start(b.prov, TS_START_APP), ==, 0);
  TS_CHECK_INT(ts_bed_run_to(&b, 60 * TS_SEC - 1), ==, 0);
  TS_CHECK_INT(ts_bed_status(&b), ==, TS_VPN_CONNECTING);
  TS_CHECK(ts_provider_settings_pending(b.prov));
  TS_CHECK(!ts_provider_start_blocked(b.prov));
  TS_CHECK_INT(ts_bed_pstats(&b).handshakes, ==, 0);
  TS_CHECK_INT(ts_bed_run_to(&b, 60 * TS_SEC), ==, 0);
  TS_CHECK_INT(ts_bed_status(&b), ==, TS_VPN_DISCONNECTED);
  TS_CHECK_INT(ts_vpn_session_stop_reason(ts_bed_session(&b)), ==, TS_STOP_CONNECTION_FAILED);
  TS_CHECK_INT(ts_vpn_session_last_exit(ts_bed_session(&b)), ==, TS_EXIT_STOPPED);
  TS_CHECK(!ts_provider_settings_pending(b.prov));
  TS_CHECK_INT(ts_bed_pstats(&b).settings_timeouts, ==, 0);
  ts_world_destroy(b.w);
}

/* ------------------------------------------------------------------ GT-21 */

static void gt21_burst(const char *profile, uint64_t seed, ts_provider_stats *out,
                       ts_vpn_status *st, uint64_t *memory) {
  ts_bed b;
  opts o = {.profile = profile, .on_demand = true, .memory = 12 * MIB,
            .memory_on_connect = 8 * MIB};
  TS_CHECK_INT(build(&b, &o, seed), ==, 0);
  ts_bed_app_every_second(&b, TS_SEC, 180 * TS_SEC);
  TS_CHECK_INT(ts_bed_run_to(&b, 185 * TS_SEC), ==, 0);
  *out = ts_bed_pstats(&b);
  *st = ts_bed_status(&b);
  *memory = ts_provider_memory(b.prov);
  TS_CHECK_INT(ts_vpn_session_exit_count(ts_bed_session(&b), TS_EXIT_JETSAM), ==, out->jetsams);
  ts_world_destroy(b.w);
}

TS_TEST(gt21_reconnect_burst_jetsam_loop_on_ios14_not_on_ios18) {
  ts_provider_stats s;
  ts_vpn_status st;
  uint64_t mem;
  /* iOS 14 (15 MiB): 12 MiB + 8 MiB at every connect; on-demand relaunches at the
   * next app send: a connect/kill loop. */
  gt21_burst("ios-14", 60, &s, &st, &mem);
  if (ts_test_failed_now()) return;
  TS_CHECK_INT(s.jetsams, >, 1);
  TS_CHECK_INT(s.launches, ==, s.jetsams); /* every process dies of the burst */
  TS_CHECK_INT(s.connect_bursts, ==, s.jetsams);
  TS_CHECK_INT(st, ==, TS_VPN_DISCONNECTED);
  /* iOS 18 (50 MiB): the same burst fits. */
  gt21_burst("ios-18", 61, &s, &st, &mem);
  if (ts_test_failed_now()) return;
  TS_CHECK_INT(s.jetsams, ==, 0);
  TS_CHECK_INT(s.launches, ==, 1);
  TS_CHECK_INT(s.connect_bursts, ==, 1);
  TS_CHECK_INT(st, ==, TS_VPN_CONNECTED);
  TS_CHECK_INT(mem, ==, 20 * MIB);
}

/* ------------------------------------------------------------- sleep/wake */

TS_TEST(sleep_stops_monitor_pings_and_wake_resumes_without_a_loss) {
  ts_bed b;
  opts o = {.profile = "ios-18", .use_monitor = true, .path = TS_MONITOR_PATH_ENGINE};
  TS_CHECK_INT(build(&b, &o, 70), ==, 0);
  ts_monitor *m = ts_provider_monitor(b.prov);
  TS_CHECK_INT(ts_provider_start(b.prov, TS_START_APP), ==, 0);
  TS_CHECK_INT(ts_bed_run_to(&b, 20 * TS_SEC), ==, 0);
  TS_CHECK_INT(ts_monitor_state_of(m), ==, TS_MONITOR_CONNECTED);
  TS_CHECK_STR(ts_monitor_state_name(ts_monitor_state_of(m)), "connected");
  TS_CHECK_INT(ts_bed_run_to(&b, 20 * TS_SEC + 500 * TS_MS), ==, 0);
  TS_CHECK_INT(ts_phone_sleep(b.ph), ==, 0);
  TS_CHECK(ts_monitor_asleep(m));
  const ts_monitor_stats before = ts_bed_mstats(&b);
  TS_CHECK_INT(before.replies, ==, before.pings_sent);
  /* Two minutes asleep: far beyond the 15 s ping timeout, and no ping at all. */
  TS_CHECK_INT(ts_bed_run_to(&b, 140 * TS_SEC + 500 * TS_MS), ==, 0);
  TS_CHECK_INT(ts_bed_mstats(&b).pings_sent, ==, before.pings_sent);
  TS_CHECK_INT(ts_bed_mstats(&b).send_errors, ==, 0);
  TS_CHECK_INT(b.mon_unreachable, ==, 0);
  TS_CHECK_INT(ts_monitor_state_of(m), ==, TS_MONITOR_CONNECTED);
  ts_monitor_send ls;
  TS_CHECK(ts_monitor_last_send(m, &ls));
  TS_CHECK_INT(ls.at, <=, 20 * TS_SEC + 500 * TS_MS);
  /* Wake: a check at once sends the heartbeat (the last ping is over 10 s old), the
   * reply comes back, and the gap is never judged as a loss. */
  TS_CHECK_INT(ts_phone_wake(b.ph), ==, 0);
  TS_CHECK(!ts_monitor_asleep(m));
  TS_CHECK_INT(ts_bed_run_to(&b, 140 * TS_SEC + 500 * TS_MS), ==, 0);
  TS_CHECK_INT(ts_bed_mstats(&b).pings_sent, ==, before.pings_sent + 1);
  TS_CHECK(ts_monitor_last_send(m, &ls));
  TS_CHECK_INT(ls.at, ==, 140 * TS_SEC + 500 * TS_MS);
  TS_CHECK(ls.sent);
  TS_CHECK(!ls.silent_failure);
  TS_CHECK_INT(ts_bed_run_to(&b, 200 * TS_SEC), ==, 0);
  TS_CHECK_INT(b.mon_unreachable, ==, 0);
  TS_CHECK_INT(ts_bed_mstats(&b).timeouts, ==, 0);
  TS_CHECK_INT(ts_bed_mstats(&b).pings_sent, >=, before.pings_sent + 6);
  TS_CHECK_INT(ts_bed_mstats(&b).replies, >, before.replies);
  TS_CHECK_INT(ts_monitor_state_of(m), ==, TS_MONITOR_CONNECTED);
  TS_CHECK_INT(ts_phone_sleep(b.ph), ==, 0); /* repeated sleep/wake keeps working */
  TS_CHECK_INT(ts_phone_wake(b.ph), ==, 0);
  TS_CHECK_INT(ts_bed_run_to(&b, 230 * TS_SEC), ==, 0);
  TS_CHECK_INT(b.mon_unreachable, ==, 0);
  ts_world_destroy(b.w);
}

TS_TEST(a_provider_launched_during_sleep_pings_only_after_the_wake) {
  ts_bed b;
  opts o = {.profile = "ios-18", .use_monitor = true, .path = TS_MONITOR_PATH_ENGINE};
  TS_CHECK_INT(build(&b, &o, 71), ==, 0);
  ts_monitor *m = ts_provider_monitor(b.prov);
  TS_CHECK_INT(ts_phone_sleep(b.ph), ==, 0);
  TS_CHECK_INT(ts_provider_start(b.prov, TS_START_APP), ==, 0);
  TS_CHECK_INT(ts_bed_run_to(&b, 60 * TS_SEC), ==, 0);
  TS_CHECK_INT(ts_bed_status(&b), ==, TS_VPN_CONNECTED);
  TS_CHECK(ts_monitor_asleep(m));
  TS_CHECK_INT(ts_monitor_state_of(m), ==, TS_MONITOR_CONNECTING);
  TS_CHECK_INT(ts_bed_mstats(&b).pings_sent, ==, 0);
  TS_CHECK(!ts_monitor_last_send(m, NULL));
  TS_CHECK_INT(b.mon_unreachable, ==, 0);
  TS_CHECK_INT(ts_phone_wake(b.ph), ==, 0);
  TS_CHECK_INT(ts_bed_run_to(&b, 70 * TS_SEC), ==, 0);
  TS_CHECK_INT(ts_bed_mstats(&b).pings_sent, >=, 1);
  TS_CHECK_INT(ts_monitor_state_of(m), ==, TS_MONITOR_CONNECTED);
  TS_CHECK_INT(b.mon_unreachable, ==, 0);
  ts_world_destroy(b.w);
}

/* ------------------------------------------------------- monitor send result */

static void last_send_under(bool ian, ts_monitor_send *out) {
  ts_bed b;
  opts o = {.profile = "ios-17", .ian = ian, .use_monitor = true, .path = TS_MONITOR_PATH_BSD_UTUN};
  TS_CHECK_INT(build(&b, &o, 80), ==, 0);
  TS_CHECK_INT(ts_provider_start(b.prov, TS_START_APP), ==, 0);
  TS_CHECK_INT(ts_bed_run_to(&b, 10 * TS_SEC), ==, 0);
  TS_CHECK(ts_monitor_last_send(ts_provider_monitor(b.prov), out));
  ts_world_destroy(b.w);
}

TS_TEST(monitor_last_send_shows_the_bsd_utun_silent_failure_under_ian) {
  ts_monitor_send ls;
  last_send_under(true, &ls);
  if (ts_test_failed_now()) return;
  TS_CHECK(ls.sent);                /* the API said yes ... */
  TS_CHECK(ls.silent_failure);      /* ... and nothing went anywhere (GT-09) */
  TS_CHECK_INT(ls.rc, ==, TS_OK);
  TS_CHECK_INT(ls.status, ==, TS_SOCK_OK);
  TS_CHECK_INT(ls.verdict.kind, ==, TS_VERDICT_SILENT_FAIL);
  last_send_under(false, &ls);
  if (ts_test_failed_now()) return;
  TS_CHECK(ls.sent);
  TS_CHECK(!ls.silent_failure);
  TS_CHECK_INT(ls.verdict.kind, ==, TS_VERDICT_TUNNEL);
}
