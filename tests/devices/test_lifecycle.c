/* The provider process lifecycle and on-demand on a phone in a world (GT-21, GT-22,
 * GT-25, GT-26, GT-30 of ios-model.md §7, and the stop timeout):
 *
 *   phone en0 192.168.1.20 --5 ms-- ap 192.168.1.1 (no further route: app packets
 *   to 198.51.100.20 leave en0 and end there; the relay 203.0.113.10 is unreachable)
 *
 * The provider completes startTunnel once its settings are applied (SETTINGS_DELAY
 * after startTunnel), so every instant below is fixed by the mechanisms: the
 * on-demand start at the instant of the app's send, the profile's watchdogs, the
 * jetsam at the instant the memory figure crosses the limit. */
#include <string.h>

#include "tstest.h"
#include "tstest_net.h"
#include "tstest_phone.h"

#define SETTINGS_DELAY (100 * TS_MS)

typedef struct opts {
  const char *profile;
  bool ian, on_demand, connect_rule;
  bool start_blocks, settings_never_complete, stop_never_completes;
  uint64_t memory; /* the process's figure at launch; 0: 8 MiB */
} opts;

/* The access point alone, the provider (no relay: nothing needs one), the app's socket. */
static int build(ts_bed *b, const opts *o, uint64_t seed) {
  ts_bed_opts bo = {.layout = TS_BED_LAN, .profile = o->profile, .ian = o->ian,
                    .on_demand = o->on_demand, .connect_rule = o->connect_rule, .app_socket = true,
                    .provider = {.settings_delay = SETTINGS_DELAY,
                                 .completion = TS_PROVIDER_COMPLETE_AFTER_SETTINGS,
                                 .start_blocks = o->start_blocks,
                                 .settings_never_complete = o->settings_never_complete,
                                 .stop_never_completes = o->stop_never_completes,
                                 .memory = o->memory ? o->memory : 8u << 20}};
  return ts_bed_create(b, seed, &bo);
}

/* ------------------------------------------------------------------ GT-25 */

TS_TEST(gt25_settings_toggle_keeps_on_demand_app_disconnect_disables_it) {
  ts_bed b;
  opts o = {.profile = "ios-18", .on_demand = true, .connect_rule = true};
  TS_CHECK_INT(build(&b, &o, 1), ==, 0);
  /* The first app traffic starts the VPN at that instant (cause on-demand). */
  TS_CHECK_INT(ts_bed_run_to(&b, TS_SEC), ==, 0);
  TS_CHECK_INT(ts_bed_status(&b), ==, TS_VPN_DISCONNECTED);
  TS_CHECK_INT(ts_bed_app_send(&b, "hi"), ==, 0);
  TS_CHECK_INT(ts_bed_run_to(&b, TS_SEC), ==, 0);
  TS_CHECK_INT(ts_bed_status(&b), ==, TS_VPN_CONNECTING);
  TS_CHECK_INT(ts_vpn_session_start_cause(ts_bed_session(&b)), ==, TS_START_ON_DEMAND);
  TS_CHECK_INT(ts_vpn_session_since(ts_bed_session(&b)), ==, TS_SEC);
  TS_CHECK_INT(ts_bed_run_to(&b, TS_SEC + SETTINGS_DELAY), ==, 0);
  TS_CHECK_INT(ts_bed_status(&b), ==, TS_VPN_CONNECTED);
  TS_CHECK_INT(ts_vpn_session_since(ts_bed_session(&b)), ==, TS_SEC + SETTINGS_DELAY);
  /* (a) Settings toggle off: on-demand stays armed; the next app traffic reconnects. */
  TS_CHECK_INT(ts_bed_run_to(&b, 2 * TS_SEC), ==, 0);
  TS_CHECK_INT(ts_phone_vpn_toggle(b.ph, false), ==, 0);
  TS_CHECK_INT(ts_bed_run_to(&b, 3 * TS_SEC), ==, 0);
  TS_CHECK_INT(ts_bed_status(&b), ==, TS_VPN_DISCONNECTED);
  TS_CHECK_INT(ts_vpn_session_stop_reason(ts_bed_session(&b)), ==, TS_STOP_USER_INITIATED);
  TS_CHECK(ts_vpn_config_on_demand(ts_phone_vpn_config(b.ph)));
  TS_CHECK_INT(ts_bed_app_send(&b, "hi"), ==, 0);
  TS_CHECK_INT(ts_bed_run_to(&b, 3 * TS_SEC), ==, 0);
  TS_CHECK_INT(ts_bed_status(&b), ==, TS_VPN_CONNECTING);
  TS_CHECK_INT(ts_vpn_session_since(ts_bed_session(&b)), ==, 3 * TS_SEC);
  TS_CHECK_INT(ts_phone_on_demand_starts(b.ph), ==, 2);
  TS_CHECK_INT(ts_bed_run_to(&b, 4 * TS_SEC), ==, 0);
  TS_CHECK_INT(ts_bed_status(&b), ==, TS_VPN_CONNECTED);
  /* (b) The app disables on-demand first, then stops: it stays down and the app's
   * traffic flows outside (IAN off). */
  TS_CHECK_INT(ts_phone_vpn_app_disconnect(b.ph), ==, 0);
  TS_CHECK(!ts_vpn_config_on_demand(ts_phone_vpn_config(b.ph)));
  TS_CHECK_INT(ts_bed_run_to(&b, 5 * TS_SEC), ==, 0);
  TS_CHECK_INT(ts_bed_status(&b), ==, TS_VPN_DISCONNECTED);
  uint32_t before = b.app_egress;
  TS_CHECK_INT(ts_bed_app_send(&b, "hi"), ==, 0);
  TS_CHECK_INT(ts_bed_run_to(&b, 60 * TS_SEC), ==, 0);
  TS_CHECK_INT(ts_bed_status(&b), ==, TS_VPN_DISCONNECTED);
  TS_CHECK_INT(b.app_egress, ==, before + 1);
  TS_CHECK_INT(ts_bed_pstats(&b).launches, ==, 2);
  ts_world_destroy(b.w);
}

/* ------------------------------------------------------------------ GT-21 */

static void gt21(const char *profile, int64_t limit) {
  ts_bed b;
  opts o = {.profile = profile, .on_demand = true, .connect_rule = true};
  TS_CHECK_INT(build(&b, &o, 2), ==, 0);
  TS_CHECK_INT(ts_os_profile_limit(ts_phone_profile(b.ph), TS_LIMIT_PROVIDER_MEMORY), ==, limit);
  TS_CHECK_INT(ts_phone_vpn_start(b.ph, TS_START_APP), ==, 0);
  TS_CHECK_INT(ts_bed_run_to(&b, TS_SEC), ==, 0);
  TS_CHECK_INT(ts_bed_status(&b), ==, TS_VPN_CONNECTED);
  /* At the limit: still alive. One byte over: killed at that instant. */
  TS_CHECK_INT(ts_provider_set_memory(b.prov, (uint64_t)limit), ==, 0);
  TS_CHECK(ts_provider_running(b.prov));
  TS_CHECK_INT(ts_bed_run_to(&b, 2 * TS_SEC), ==, 0);
  TS_CHECK_INT(ts_provider_set_memory(b.prov, (uint64_t)limit + 1), ==, 0);
  TS_CHECK_INT(ts_bed_status(&b), ==, TS_VPN_DISCONNECTED);
  TS_CHECK_INT(ts_vpn_session_since(ts_bed_session(&b)), ==, 2 * TS_SEC);
  TS_CHECK_INT(ts_vpn_session_last_exit(ts_bed_session(&b)), ==, TS_EXIT_JETSAM);
  TS_CHECK_INT(ts_vpn_session_stop_reason(ts_bed_session(&b)), ==, TS_STOP_PROVIDER_FAILED);
  TS_CHECK_INT(ts_vpn_session_down_cause(ts_bed_session(&b)), ==, TS_DOWN_PROVIDER);
  TS_CHECK(!ts_provider_running(b.prov));
  TS_CHECK(!ts_vpn_session_tunnel_up(ts_bed_session(&b)));
  TS_CHECK_INT(ts_bed_pstats(&b).jetsams, ==, 1);
  /* No hidden restart timer: down until the next trigger. */
  TS_CHECK_INT(ts_bed_run_to(&b, 30 * TS_SEC), ==, 0);
  TS_CHECK_INT(ts_bed_status(&b), ==, TS_VPN_DISCONNECTED);
  TS_CHECK_INT(ts_bed_pstats(&b).launches, ==, 1);
  /* The next app traffic restarts it through on-demand, at that instant. */
  TS_CHECK_INT(ts_bed_app_send(&b, "hi"), ==, 0);
  TS_CHECK_INT(ts_bed_run_to(&b, 30 * TS_SEC), ==, 0);
  TS_CHECK_INT(ts_bed_status(&b), ==, TS_VPN_CONNECTING);
  TS_CHECK_INT(ts_vpn_session_start_cause(ts_bed_session(&b)), ==, TS_START_ON_DEMAND);
  TS_CHECK_INT(ts_vpn_session_epoch(ts_bed_session(&b)), ==, 2);
  TS_CHECK_INT(ts_bed_run_to(&b, 30 * TS_SEC + SETTINGS_DELAY), ==, 0);
  TS_CHECK_INT(ts_bed_status(&b), ==, TS_VPN_CONNECTED);
  TS_CHECK_INT(ts_bed_pstats(&b).launches, ==, 2);
  /* A new process starts from its launch figure. */
  TS_CHECK_INT(ts_provider_memory(b.prov), ==, 8u << 20);
  ts_world_destroy(b.w);
}

TS_TEST(gt21_jetsam_over_the_profile_limit_then_on_demand_restart_on_next_traffic) {
  gt21("ios-14", 15ll << 20);
  gt21("ios-18", 50ll << 20);
}

TS_TEST(a_process_over_the_limit_at_launch_dies_at_the_launch_instant) {
  ts_bed b;
  opts o = {.profile = "ios-14", .memory = (15u << 20) + 1};
  TS_CHECK_INT(build(&b, &o, 12), ==, 0);
  TS_CHECK_INT(ts_bed_run_to(&b, TS_SEC), ==, 0);
  TS_CHECK_INT(ts_phone_vpn_start(b.ph, TS_START_APP), ==, 0);
  TS_CHECK_INT(ts_bed_run_to(&b, 2 * TS_SEC), ==, 0);
  TS_CHECK_INT(ts_bed_status(&b), ==, TS_VPN_DISCONNECTED);
  TS_CHECK_INT(ts_vpn_session_since(ts_bed_session(&b)), ==, TS_SEC);
  TS_CHECK_INT(ts_vpn_session_last_exit(ts_bed_session(&b)), ==, TS_EXIT_JETSAM);
  TS_CHECK_INT(ts_bed_pstats(&b).jetsams, ==, 1);
  ts_world_destroy(b.w);
}

/* ------------------------------------------------------------------ GT-22 */

TS_TEST(gt22_blocked_start_is_stopped_at_60s_and_killed_at_80s) {
  ts_bed b;
  opts o = {.profile = "ios-18", .start_blocks = true};
  TS_CHECK_INT(build(&b, &o, 3), ==, 0);
  const ts_time t0 = 5 * TS_SEC;
  TS_CHECK_INT(ts_bed_run_to(&b, t0), ==, 0);
  TS_CHECK_INT(ts_phone_vpn_start(b.ph, TS_START_APP), ==, 0);
  TS_CHECK_INT(ts_bed_run_to(&b, t0 + 60 * TS_SEC - 1), ==, 0);
  TS_CHECK_INT(ts_bed_status(&b), ==, TS_VPN_CONNECTING);
  TS_CHECK_INT(ts_bed_run_to(&b, t0 + 60 * TS_SEC), ==, 0);
  TS_CHECK_INT(ts_bed_status(&b), ==, TS_VPN_DISCONNECTING);
  TS_CHECK_INT(ts_vpn_session_stop_reason(ts_bed_session(&b)), ==, TS_STOP_CONNECTION_FAILED);
  TS_CHECK(ts_provider_running(b.prov)); /* blocked: stopTunnel is not served */
  TS_CHECK_INT(ts_bed_run_to(&b, t0 + 80 * TS_SEC - 1), ==, 0);
  TS_CHECK_INT(ts_bed_status(&b), ==, TS_VPN_DISCONNECTING);
  TS_CHECK_INT(ts_bed_run_to(&b, t0 + 80 * TS_SEC), ==, 0);
  TS_CHECK_INT(ts_bed_status(&b), ==, TS_VPN_DISCONNECTED);
  TS_CHECK_INT(ts_vpn_session_since(ts_bed_session(&b)), ==, t0 + 80 * TS_SEC);
  TS_CHECK_INT(ts_vpn_session_last_exit(ts_bed_session(&b)), ==, TS_EXIT_WATCHDOG);
  TS_CHECK(!ts_provider_running(b.prov));
  TS_CHECK_INT(ts_bed_pstats(&b).kills, ==, 1);
  ts_world_destroy(b.w);
}

TS_TEST(gt22_quirk_kill_ends_at_exactly_the_start_deadline_and_on_demand_loops) {
  ts_bed b;
  opts o = {.profile = "ios-17", .start_blocks = true, .on_demand = true, .connect_rule = true};
  TS_CHECK_INT(build(&b, &o, 4), ==, 0);
  TS_CHECK_INT(ts_vpn_session_set_lifecycle_quirk(ts_bed_session(&b), TS_LQ_START_TIMEOUT_ACTION, 1), ==,
               0);
  TS_CHECK_INT(ts_bed_app_send(&b, "hi"), ==, 0);
  TS_CHECK_INT(ts_bed_run_to(&b, 60 * TS_SEC - 1), ==, 0);
  TS_CHECK_INT(ts_bed_status(&b), ==, TS_VPN_CONNECTING);
  TS_CHECK_INT(ts_bed_run_to(&b, 60 * TS_SEC), ==, 0);
  TS_CHECK_INT(ts_bed_status(&b), ==, TS_VPN_DISCONNECTED);
  TS_CHECK_INT(ts_vpn_session_last_exit(ts_bed_session(&b)), ==, TS_EXIT_WATCHDOG);
  TS_CHECK(!ts_provider_running(b.prov));
  /* The next trigger relaunches it: a restart loop, one launch per trigger. */
  TS_CHECK_INT(ts_bed_run_to(&b, 70 * TS_SEC), ==, 0);
  TS_CHECK_INT(ts_bed_app_send(&b, "hi"), ==, 0);
  TS_CHECK_INT(ts_bed_run_to(&b, 130 * TS_SEC), ==, 0);
  TS_CHECK_INT(ts_bed_status(&b), ==, TS_VPN_DISCONNECTED);
  TS_CHECK_INT(ts_vpn_session_since(ts_bed_session(&b)), ==, 130 * TS_SEC);
  TS_CHECK_INT(ts_bed_pstats(&b).launches, ==, 2);
  TS_CHECK_INT(ts_vpn_session_exit_count(ts_bed_session(&b), TS_EXIT_WATCHDOG), ==, 2);
  ts_world_destroy(b.w);
}

TS_TEST(gt22_profiles_without_the_start_timer_stay_connecting) {
  ts_bed b;
  opts o = {.profile = "ios-16.0", .start_blocks = true};
  TS_CHECK_INT(build(&b, &o, 5), ==, 0);
  TS_CHECK_INT(ts_phone_vpn_start(b.ph, TS_START_APP), ==, 0);
  TS_CHECK_INT(ts_bed_run_to(&b, 3600 * TS_SEC), ==, 0);
  TS_CHECK_INT(ts_bed_status(&b), ==, TS_VPN_CONNECTING);
  TS_CHECK(ts_provider_running(b.prov));
  ts_world_destroy(b.w);
}

/* ------------------------------------------------------------------ GT-30 */

TS_TEST(gt30_settings_never_complete_the_start_watchdog_ends_it) {
  ts_bed b;
  opts o = {.profile = "ios-17.4", .settings_never_complete = true};
  TS_CHECK_INT(build(&b, &o, 6), ==, 0);
  TS_CHECK_INT(ts_phone_vpn_start(b.ph, TS_START_APP), ==, 0);
  TS_CHECK_INT(ts_bed_run_to(&b, 60 * TS_SEC - 1), ==, 0);
  TS_CHECK_INT(ts_bed_status(&b), ==, TS_VPN_CONNECTING);
  TS_CHECK(!ts_vpn_session_tunnel_up(ts_bed_session(&b)));
  /* Not blocked: stopTunnel is served at once, so it ends at the start deadline. */
  TS_CHECK_INT(ts_bed_run_to(&b, 60 * TS_SEC), ==, 0);
  TS_CHECK_INT(ts_bed_status(&b), ==, TS_VPN_DISCONNECTED);
  TS_CHECK_INT(ts_vpn_session_since(ts_bed_session(&b)), ==, 60 * TS_SEC);
  TS_CHECK_INT(ts_vpn_session_last_exit(ts_bed_session(&b)), ==, TS_EXIT_STOPPED);
  TS_CHECK_INT(ts_vpn_session_stop_reason(ts_bed_session(&b)), ==, TS_STOP_CONNECTION_FAILED);
  TS_CHECK_INT(ts_bed_pstats(&b).stops, ==, 1);
  TS_CHECK_INT(ts_bed_pstats(&b).kills, ==, 0);
  ts_world_destroy(b.w);
}

/* ------------------------------------------------------------------ GT-26 */

TS_TEST(gt26_after_reboot_without_on_demand_the_vpn_stays_down) {
  ts_bed b;
  opts o = {.profile = "ios-18"};
  TS_CHECK_INT(build(&b, &o, 7), ==, 0);
  TS_CHECK_INT(ts_phone_vpn_start(b.ph, TS_START_APP), ==, 0);
  TS_CHECK_INT(ts_bed_run_to(&b, TS_SEC), ==, 0);
  TS_CHECK_INT(ts_bed_status(&b), ==, TS_VPN_CONNECTED);
  ts_sock_id old = b.app;
  TS_CHECK(ts_phone_socket_local_id(b.ph, old) != 0);
  TS_CHECK_INT(ts_phone_reboot(b.ph), ==, 0);
  TS_CHECK_INT(ts_phone_socket_local_id(b.ph, old), ==, 0); /* the app's process died with it */
  TS_CHECK_INT(ts_bed_status(&b), ==, TS_VPN_DISCONNECTED);
  TS_CHECK_INT(ts_vpn_session_down_cause(ts_bed_session(&b)), ==, TS_DOWN_BOOT);
  TS_CHECK_INT(ts_vpn_session_last_exit(ts_bed_session(&b)), ==, TS_EXIT_REBOOT);
  TS_CHECK(!ts_provider_running(b.prov));
  uint32_t before = b.app_egress;
  TS_CHECK_INT(ts_bed_run_to(&b, 2 * TS_SEC), ==, 0);
  TS_CHECK_INT(ts_bed_app_send(&b, "hi"), ==, 0);
  TS_CHECK_INT(ts_bed_run_to(&b, 600 * TS_SEC), ==, 0);
  TS_CHECK_INT(ts_bed_status(&b), ==, TS_VPN_DISCONNECTED);
  TS_CHECK_INT(b.app_egress, ==, before + 1); /* outside the VPN */
  TS_CHECK_INT(ts_bed_pstats(&b).launches, ==, 1);
  ts_world_destroy(b.w);
}

TS_TEST(gt26_after_reboot_with_on_demand_it_comes_up_on_the_first_trigger) {
  ts_bed b;
  opts o = {.profile = "ios-18", .on_demand = true, .connect_rule = true};
  TS_CHECK_INT(build(&b, &o, 8), ==, 0);
  TS_CHECK_INT(ts_phone_vpn_start(b.ph, TS_START_APP), ==, 0);
  TS_CHECK_INT(ts_bed_run_to(&b, TS_SEC), ==, 0);
  TS_CHECK_INT(ts_phone_reboot(b.ph), ==, 0);
  /* Boot is evaluated (rule 0 matches) but a Connect rule waits for a connection
   * attempt (od-connect-on-any-trigger off). */
  TS_CHECK_INT(ts_bed_run_to(&b, 5 * TS_SEC), ==, 0);
  TS_CHECK_INT(ts_bed_status(&b), ==, TS_VPN_DISCONNECTED);
  TS_CHECK_INT(ts_phone_on_demand_last(b.ph).rule, ==, 0);
  TS_CHECK_INT(ts_bed_app_send(&b, "hi"), ==, 0);
  TS_CHECK_INT(ts_bed_run_to(&b, 5 * TS_SEC + SETTINGS_DELAY), ==, 0);
  TS_CHECK_INT(ts_bed_status(&b), ==, TS_VPN_CONNECTED);
  TS_CHECK_INT(ts_vpn_session_since(ts_bed_session(&b)), ==, 5 * TS_SEC + SETTINGS_DELAY);
  TS_CHECK_INT(ts_vpn_session_start_cause(ts_bed_session(&b)), ==, TS_START_ON_DEMAND);
  /* Under the quirk the boot trigger itself starts it. */
  TS_CHECK_INT(ts_vpn_session_set_lifecycle_quirk(ts_bed_session(&b), TS_LQ_OD_CONNECT_ON_ANY_TRIGGER, 1), ==,
               0);
  TS_CHECK_INT(ts_phone_reboot(b.ph), ==, 0);
  TS_CHECK_INT(ts_bed_run_to(&b, 6 * TS_SEC), ==, 0);
  TS_CHECK_INT(ts_bed_status(&b), ==, TS_VPN_CONNECTED);
  TS_CHECK_INT(ts_vpn_session_since(ts_bed_session(&b)), ==, 5 * TS_SEC + 2 * SETTINGS_DELAY);
  TS_CHECK_INT(ts_bed_pstats(&b).launches, ==, 3);
  ts_world_destroy(b.w);
}

/* ------------------------------------------------------ stop timeout, SIGTERM */

TS_TEST(stop_timeout_kills_a_provider_whose_stop_never_completes_at_20s) {
  ts_bed b;
  opts o = {.profile = "ios-16.4", .stop_never_completes = true};
  TS_CHECK_INT(build(&b, &o, 9), ==, 0);
  TS_CHECK_INT(ts_phone_vpn_start(b.ph, TS_START_APP), ==, 0);
  TS_CHECK_INT(ts_bed_run_to(&b, TS_SEC), ==, 0);
  TS_CHECK_INT(ts_phone_vpn_toggle(b.ph, false), ==, 0);
  TS_CHECK_INT(ts_bed_run_to(&b, 21 * TS_SEC - 1), ==, 0);
  TS_CHECK_INT(ts_bed_status(&b), ==, TS_VPN_DISCONNECTING);
  TS_CHECK(ts_provider_running(b.prov));
  TS_CHECK_INT(ts_bed_run_to(&b, 21 * TS_SEC), ==, 0);
  TS_CHECK_INT(ts_bed_status(&b), ==, TS_VPN_DISCONNECTED);
  TS_CHECK_INT(ts_vpn_session_stop_reason(ts_bed_session(&b)), ==, TS_STOP_USER_INITIATED);
  TS_CHECK_INT(ts_vpn_session_down_cause(ts_bed_session(&b)), ==, TS_DOWN_USER);
  TS_CHECK_INT(ts_vpn_session_last_exit(ts_bed_session(&b)), ==, TS_EXIT_WATCHDOG);
  TS_CHECK(!ts_provider_running(b.prov));
  ts_world_destroy(b.w);
}

TS_TEST(sigterm_app_update_and_crash_end_the_process_with_their_reasons) {
  ts_bed b;
  opts o = {.profile = "ios-18"};
  TS_CHECK_INT(build(&b, &o, 10), ==, 0);
  TS_CHECK_INT(ts_phone_vpn_start(b.ph, TS_START_APP), ==, 0);
  TS_CHECK_INT(ts_bed_run_to(&b, TS_SEC), ==, 0);
  TS_CHECK_INT(ts_phone_vpn_kill(b.ph, TS_STOP_APP_UPDATE, TS_EXIT_SIGTERM), ==, 0);
  TS_CHECK_INT(ts_bed_status(&b), ==, TS_VPN_DISCONNECTED);
  TS_CHECK_INT(ts_vpn_session_stop_reason(ts_bed_session(&b)), ==, TS_STOP_APP_UPDATE);
  TS_CHECK_INT(ts_vpn_session_last_exit(ts_bed_session(&b)), ==, TS_EXIT_SIGTERM);
  TS_CHECK(!ts_provider_running(b.prov));
  TS_CHECK(ts_provider_wgdev(b.prov) == NULL);
  TS_CHECK_INT(ts_phone_vpn_kill(b.ph, TS_STOP_APP_UPDATE, TS_EXIT_SIGTERM), ==, TS_ESTATE);
  TS_CHECK_INT(ts_phone_vpn_start(b.ph, TS_START_APP), ==, 0);
  TS_CHECK_INT(ts_bed_run_to(&b, 2 * TS_SEC), ==, 0);
  TS_CHECK_INT(ts_provider_crash(b.prov), ==, 0);
  TS_CHECK_INT(ts_vpn_session_last_exit(ts_bed_session(&b)), ==, TS_EXIT_CRASH);
  TS_CHECK_INT(ts_vpn_session_stop_reason(ts_bed_session(&b)), ==, TS_STOP_PROVIDER_FAILED);
  TS_CHECK_INT(ts_provider_crash(b.prov), ==, TS_ESTATE);
  ts_provider_stats s = ts_bed_pstats(&b);
  TS_CHECK_INT(s.kills, ==, 1);
  TS_CHECK_INT(s.crashes, ==, 1);
  TS_CHECK_INT(ts_packet_pool_outstanding(ts_world_pool(b.w)), ==, 0);
  ts_world_destroy(b.w);
}

/* ------------------------------------------------------- network change */

TS_TEST(network_change_to_a_disconnect_network_stops_the_vpn) {
  ts_bed b;
  opts o = {.profile = "ios-18", .on_demand = true};
  TS_CHECK_INT(build(&b, &o, 11), ==, 0);
  ts_vpn_config *vc = ts_phone_vpn_config(b.ph);
  ts_od_rule r;
  memset(&r, 0, sizeof r);
  r.action = TS_OD_DISCONNECT;
  r.interface_match = TS_OD_IF_CELLULAR;
  ts_vpn_config_add_on_demand_rule(vc, &r);
  r.action = TS_OD_CONNECT;
  r.interface_match = TS_OD_IF_ANY;
  ts_vpn_config_add_on_demand_rule(vc, &r);
  TS_CHECK_INT(ts_bed_app_send(&b, "hi"), ==, 0);
  TS_CHECK_INT(ts_bed_run_to(&b, TS_SEC), ==, 0);
  TS_CHECK_INT(ts_bed_status(&b), ==, TS_VPN_CONNECTED);
  ts_ipprefix cell = ts_test_prefix("10.200.0.5/32");
  TS_CHECK_INT(ts_phone_add_address(b.ph, "pdp_ip0", &cell), ==, 0);
  TS_CHECK_INT(ts_phone_iface_set_up(b.ph, "pdp_ip0", true), ==, 0);
  TS_CHECK_INT(ts_phone_set_primary(b.ph, "pdp_ip0"), ==, 0);
  TS_CHECK_INT(ts_bed_run_to(&b, 2 * TS_SEC), ==, 0);
  TS_CHECK_INT(ts_bed_status(&b), ==, TS_VPN_DISCONNECTED);
  TS_CHECK_INT(ts_vpn_session_since(ts_bed_session(&b)), ==, TS_SEC);
  TS_CHECK_INT(ts_phone_on_demand_last(b.ph).rule, ==, 0);
  /* On cellular an app's traffic does not start it (rule 0 never starts). */
  TS_CHECK_INT(ts_bed_app_send(&b, "hi"), ==, 0);
  TS_CHECK_INT(ts_bed_run_to(&b, 3 * TS_SEC), ==, 0);
  TS_CHECK_INT(ts_bed_status(&b), ==, TS_VPN_DISCONNECTED);
  /* Back on Wi-Fi: the Connect rule applies to the next attempt. */
  TS_CHECK_INT(ts_phone_set_primary(b.ph, "en0"), ==, 0);
  TS_CHECK_INT(ts_bed_app_send(&b, "hi"), ==, 0);
  TS_CHECK_INT(ts_bed_run_to(&b, 4 * TS_SEC), ==, 0);
  TS_CHECK_INT(ts_bed_status(&b), ==, TS_VPN_CONNECTED);
  TS_CHECK_INT(ts_vpn_session_since(ts_bed_session(&b)), ==, 3 * TS_SEC + SETTINGS_DELAY);
  ts_world_destroy(b.w);
}

/* Airplane mode takes every radio down (nothing leaves en0, the interface is down)
 * and back up; turning it on twice is refused. Sleep with disconnectOnSleep stops
 * the VPN with reason sleep (A-HDR). */
TS_TEST(airplane_mode_takes_the_radios_down_and_back) {
  ts_bed b;
  opts o = {.profile = "ios-18"};
  TS_CHECK_INT(build(&b, &o, 21), ==, 0);
  int en0 = ts_phone_iface(b.ph, "en0");
  TS_CHECK_INT(ts_phone_set_airplane(b.ph, true), ==, 0);
  TS_CHECK_INT(ts_phone_set_airplane(b.ph, true), ==, TS_ESTATE);
  TS_CHECK(ts_phone_airplane(b.ph));
  TS_CHECK(!ts_os_iface_is_up(ts_phone_ifaces(b.ph), en0));
  uint32_t before = b.app_egress;
  ts_bed_app_send(&b, "hi");
  TS_CHECK_INT(ts_bed_run_to(&b, TS_SEC), ==, 0);
  TS_CHECK_INT(b.app_egress, ==, before);
  TS_CHECK_INT(ts_phone_set_airplane(b.ph, false), ==, 0);
  TS_CHECK(ts_os_iface_is_up(ts_phone_ifaces(b.ph), en0));
  TS_CHECK_INT(ts_bed_app_send(&b, "hi"), ==, 0);
  TS_CHECK_INT(ts_bed_run_to(&b, 2 * TS_SEC), ==, 0);
  TS_CHECK_INT(b.app_egress, ==, before + 1);
  ts_world_destroy(b.w);
}

TS_TEST(sleep_with_disconnect_on_sleep_stops_the_vpn) {
  ts_bed b;
  opts o = {.profile = "ios-18"};
  TS_CHECK_INT(build(&b, &o, 22), ==, 0);
  TS_CHECK_INT(ts_vpn_config_set_flag(ts_phone_vpn_config(b.ph), TS_FLAG_DISCONNECT_ON_SLEEP, true), ==, 0);
  TS_CHECK_INT(ts_phone_vpn_start(b.ph, TS_START_APP), ==, 0);
  TS_CHECK_INT(ts_bed_run_to(&b, TS_SEC), ==, 0);
  TS_CHECK_INT(ts_bed_status(&b), ==, TS_VPN_CONNECTED);
  TS_CHECK_INT(ts_phone_sleep(b.ph), ==, 0);
  TS_CHECK_INT(ts_phone_sleep(b.ph), ==, TS_ESTATE);
  TS_CHECK_INT(ts_bed_run_to(&b, 2 * TS_SEC), ==, 0);
  TS_CHECK_INT(ts_bed_status(&b), ==, TS_VPN_DISCONNECTED);
  TS_CHECK_INT(ts_vpn_session_stop_reason(ts_bed_session(&b)), ==, TS_STOP_SLEEP);
  TS_CHECK_INT(ts_phone_wake(b.ph), ==, 0);
  TS_CHECK(!ts_phone_asleep(b.ph));
  ts_world_destroy(b.w);
}
