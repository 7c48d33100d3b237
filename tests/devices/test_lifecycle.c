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
#include <stdio.h>
#include <string.h>

#include "ts_native.h"
#include "ts_os_profile_load.h"
#include "ts_provider.h"
#include "tstest.h"
#include "tstest_net.h"

#ifndef TS_MODELS_OS_DIR
#define TS_MODELS_OS_DIR "models/os"
#endif

#define SETTINGS_DELAY (100 * TS_MS)

typedef struct bed {
  ts_world *w;
  ts_net *net;
  ts_host *ap;
  ts_phone *ph;
  ts_provider *prov;
  ts_sock_id app;
  uint32_t en0_app_packets; /* app packets that left en0 */
} bed;

typedef struct opts {
  const char *profile;
  bool ian, on_demand, connect_rule;
  bool start_blocks, settings_never_complete, stop_never_completes;
  uint64_t memory; /* the process's figure at launch; 0: 8 MiB */
} opts;

static void on_egress(void *ctx, int iface, const ts_packet *pkt, const ts_phone_origin *o) {
  bed *b = ctx;
  (void)iface;
  (void)pkt;
  if (o->cls == TS_TC_APP) b->en0_app_packets++;
}

static int build(bed *b, const opts *o, uint64_t seed) {
  memset(b, 0, sizeof *b);
  if (ts_world_create(&b->w, &ts_native_backend, seed) || ts_net_create(b->w, &b->net) ||
      ts_net_add_host(b->net, "ap", &b->ap))
    return -1;
  ts_ipprefix lan = ts_test_prefix("192.168.1.1/24");
  uint32_t i_lan;
  ts_host_add_interface(b->ap, "wlan0", &lan, 1, &i_lan);
  char path[512];
  snprintf(path, sizeof path, "%s/%s.yaml", TS_MODELS_OS_DIR, o->profile);
  ts_os_profile *prof = NULL;
  ts_diag diag;
  if (ts_os_profile_load_file(path, &prof, &diag)) return -1;
  ts_phone_config pc = {.name = "phone", .profile = prof};
  int rc = ts_phone_create(b->w, &pc, &b->ph);
  ts_os_profile_destroy(prof);
  if (rc) return -1;
  ts_link_params lp = {.mtu = 1500, .queue_limit = 100, .up = true, .delay = 5 * TS_MS};
  ts_link_id l;
  ts_dhcp_lease lease;
  memset(&lease, 0, sizeof lease);
  lease.address = ts_test_prefix("192.168.1.20/24");
  lease.router = ts_test_addr("192.168.1.1");
  if (ts_phone_attach(b->ph, "en0", b->net, b->ap, i_lan, &lp, &l) ||
      ts_phone_iface_set_up(b->ph, "en0", true) || ts_phone_apply_dhcp(b->ph, "en0", &lease) ||
      ts_phone_set_primary(b->ph, "en0") || ts_phone_vpn_set_enabled(b->ph, true))
    return -1;
  ts_vpn_config *vc = ts_phone_vpn_config(b->ph);
  if (ts_vpn_config_set_flag(vc, TS_FLAG_INCLUDE_ALL_NETWORKS, o->ian)) return -1;
  ts_vpn_config_set_on_demand(vc, o->on_demand);
  if (o->connect_rule) {
    ts_od_rule r;
    memset(&r, 0, sizeof r);
    r.action = TS_OD_CONNECT; /* Mullvad: one Connect rule, interfaceTypeMatch any */
    if (ts_vpn_config_add_on_demand_rule(vc, &r)) return -1;
  }
  ts_phone_set_egress_hook(b->ph, on_egress, b);

  ts_provider_config cfg;
  memset(&cfg, 0, sizeof cfg);
  ts_rng keys;
  ts_world_rng(b->w, "test/keys", &keys);
  uint8_t relay_priv[WG_KEY_LEN];
  ts_rng_fill(&keys, cfg.private_key, WG_KEY_LEN);
  ts_rng_fill(&keys, relay_priv, WG_KEY_LEN);
  wg_key_clamp(cfg.private_key);
  wg_key_clamp(relay_priv);
  if (wg_key_public_from_private(cfg.relay_public_key, relay_priv) != WG_OK) return -1;
  cfg.relay = ts_test_addr("203.0.113.10");
  ts_ipaddr tun = ts_test_addr("10.64.0.2");
  ts_provider_default_settings(&cfg.settings, &cfg.relay, &tun);
  cfg.settings_delay = SETTINGS_DELAY;
  cfg.completion = TS_PROVIDER_COMPLETE_AFTER_SETTINGS;
  cfg.start_blocks = o->start_blocks;
  cfg.settings_never_complete = o->settings_never_complete;
  cfg.stop_never_completes = o->stop_never_completes;
  cfg.memory = o->memory ? o->memory : 8u << 20;
  if (ts_provider_create(b->ph, &cfg, &b->prov)) return -1;
  ts_phone_socket_params sp = {.owner = TS_TC_APP, .proto = TS_IPPROTO_UDP, .api = TS_SOCK_BSD};
  return ts_phone_socket_open(b->ph, &sp, &b->app) ? -1 : 0;
}

static ts_vpn_session *sess(bed *b) { return ts_phone_session(b->ph); }
static ts_vpn_status status(bed *b) { return ts_vpn_session_status(sess(b)); }

/* The app sends one datagram now (a connection attempt for on-demand). */
static int app_send(bed *b) {
  ts_ipaddr dst = ts_test_addr("198.51.100.20");
  if (ts_phone_socket_local_id(b->ph, b->app) == 0) { /* a reboot ended the app's process */
    ts_phone_socket_params sp = {.owner = TS_TC_APP, .proto = TS_IPPROTO_UDP, .api = TS_SOCK_BSD};
    if (ts_phone_socket_open(b->ph, &sp, &b->app)) return -1;
  }
  return ts_phone_send_udp(b->ph, b->app, &dst, 7, (const uint8_t *)"hi", 2, NULL);
}

static int run_to(bed *b, ts_time t) { return ts_world_run_until(b->w, t); }

static ts_provider_stats pstats(bed *b) {
  ts_provider_stats s;
  ts_provider_get_stats(b->prov, &s);
  return s;
}

/* ------------------------------------------------------------------ GT-25 */

TS_TEST(gt25_settings_toggle_keeps_on_demand_app_disconnect_disables_it) {
  bed b;
  opts o = {.profile = "ios-18", .on_demand = true, .connect_rule = true};
  TS_CHECK_INT(build(&b, &o, 1), ==, 0);
  /* The first app traffic starts the VPN at that instant (cause on-demand). */
  TS_CHECK_INT(run_to(&b, TS_SEC), ==, 0);
  TS_CHECK_INT(status(&b), ==, TS_VPN_DISCONNECTED);
  TS_CHECK_INT(app_send(&b), ==, 0);
  TS_CHECK_INT(run_to(&b, TS_SEC), ==, 0);
  TS_CHECK_INT(status(&b), ==, TS_VPN_CONNECTING);
  TS_CHECK_INT(ts_vpn_session_start_cause(sess(&b)), ==, TS_START_ON_DEMAND);
  TS_CHECK_INT(ts_vpn_session_since(sess(&b)), ==, TS_SEC);
  TS_CHECK_INT(run_to(&b, TS_SEC + SETTINGS_DELAY), ==, 0);
  TS_CHECK_INT(status(&b), ==, TS_VPN_CONNECTED);
  TS_CHECK_INT(ts_vpn_session_since(sess(&b)), ==, TS_SEC + SETTINGS_DELAY);
  /* (a) Settings toggle off: on-demand stays armed; the next app traffic reconnects. */
  TS_CHECK_INT(run_to(&b, 2 * TS_SEC), ==, 0);
  TS_CHECK_INT(ts_phone_vpn_toggle(b.ph, false), ==, 0);
  TS_CHECK_INT(run_to(&b, 3 * TS_SEC), ==, 0);
  TS_CHECK_INT(status(&b), ==, TS_VPN_DISCONNECTED);
  TS_CHECK_INT(ts_vpn_session_stop_reason(sess(&b)), ==, TS_STOP_USER_INITIATED);
  TS_CHECK(ts_vpn_config_on_demand(ts_phone_vpn_config(b.ph)));
  TS_CHECK_INT(app_send(&b), ==, 0);
  TS_CHECK_INT(run_to(&b, 3 * TS_SEC), ==, 0);
  TS_CHECK_INT(status(&b), ==, TS_VPN_CONNECTING);
  TS_CHECK_INT(ts_vpn_session_since(sess(&b)), ==, 3 * TS_SEC);
  TS_CHECK_INT(ts_phone_on_demand_starts(b.ph), ==, 2);
  TS_CHECK_INT(run_to(&b, 4 * TS_SEC), ==, 0);
  TS_CHECK_INT(status(&b), ==, TS_VPN_CONNECTED);
  /* (b) The app disables on-demand first, then stops: it stays down and the app's
   * traffic flows outside (IAN off). */
  TS_CHECK_INT(ts_phone_vpn_app_disconnect(b.ph), ==, 0);
  TS_CHECK(!ts_vpn_config_on_demand(ts_phone_vpn_config(b.ph)));
  TS_CHECK_INT(run_to(&b, 5 * TS_SEC), ==, 0);
  TS_CHECK_INT(status(&b), ==, TS_VPN_DISCONNECTED);
  uint32_t before = b.en0_app_packets;
  TS_CHECK_INT(app_send(&b), ==, 0);
  TS_CHECK_INT(run_to(&b, 60 * TS_SEC), ==, 0);
  TS_CHECK_INT(status(&b), ==, TS_VPN_DISCONNECTED);
  TS_CHECK_INT(b.en0_app_packets, ==, before + 1);
  TS_CHECK_INT(pstats(&b).launches, ==, 2);
  ts_world_destroy(b.w);
}

/* ------------------------------------------------------------------ GT-21 */

static void gt21(const char *profile, int64_t limit) {
  bed b;
  opts o = {.profile = profile, .on_demand = true, .connect_rule = true};
  TS_CHECK_INT(build(&b, &o, 2), ==, 0);
  TS_CHECK_INT(ts_os_profile_limit(ts_phone_profile(b.ph), TS_LIMIT_PROVIDER_MEMORY), ==, limit);
  TS_CHECK_INT(ts_phone_vpn_start(b.ph, TS_START_APP), ==, 0);
  TS_CHECK_INT(run_to(&b, TS_SEC), ==, 0);
  TS_CHECK_INT(status(&b), ==, TS_VPN_CONNECTED);
  /* At the limit: still alive. One byte over: killed at that instant. */
  TS_CHECK_INT(ts_provider_set_memory(b.prov, (uint64_t)limit), ==, 0);
  TS_CHECK(ts_provider_running(b.prov));
  TS_CHECK_INT(run_to(&b, 2 * TS_SEC), ==, 0);
  TS_CHECK_INT(ts_provider_set_memory(b.prov, (uint64_t)limit + 1), ==, 0);
  TS_CHECK_INT(status(&b), ==, TS_VPN_DISCONNECTED);
  TS_CHECK_INT(ts_vpn_session_since(sess(&b)), ==, 2 * TS_SEC);
  TS_CHECK_INT(ts_vpn_session_last_exit(sess(&b)), ==, TS_EXIT_JETSAM);
  TS_CHECK_INT(ts_vpn_session_stop_reason(sess(&b)), ==, TS_STOP_PROVIDER_FAILED);
  TS_CHECK_INT(ts_vpn_session_down_cause(sess(&b)), ==, TS_DOWN_PROVIDER);
  TS_CHECK(!ts_provider_running(b.prov));
  TS_CHECK(!ts_vpn_session_tunnel_up(sess(&b)));
  TS_CHECK_INT(pstats(&b).jetsams, ==, 1);
  /* No hidden restart timer: down until the next trigger. */
  TS_CHECK_INT(run_to(&b, 30 * TS_SEC), ==, 0);
  TS_CHECK_INT(status(&b), ==, TS_VPN_DISCONNECTED);
  TS_CHECK_INT(pstats(&b).launches, ==, 1);
  /* The next app traffic restarts it through on-demand, at that instant. */
  TS_CHECK_INT(app_send(&b), ==, 0);
  TS_CHECK_INT(run_to(&b, 30 * TS_SEC), ==, 0);
  TS_CHECK_INT(status(&b), ==, TS_VPN_CONNECTING);
  TS_CHECK_INT(ts_vpn_session_start_cause(sess(&b)), ==, TS_START_ON_DEMAND);
  TS_CHECK_INT(ts_vpn_session_epoch(sess(&b)), ==, 2);
  TS_CHECK_INT(run_to(&b, 30 * TS_SEC + SETTINGS_DELAY), ==, 0);
  TS_CHECK_INT(status(&b), ==, TS_VPN_CONNECTED);
  TS_CHECK_INT(pstats(&b).launches, ==, 2);
  /* A new process starts from its launch figure. */
  TS_CHECK_INT(ts_provider_memory(b.prov), ==, 8u << 20);
  ts_world_destroy(b.w);
}

TS_TEST(gt21_jetsam_over_the_profile_limit_then_on_demand_restart_on_next_traffic) {
  gt21("ios-14", 15ll << 20);
  gt21("ios-18", 50ll << 20);
}

TS_TEST(a_process_over_the_limit_at_launch_dies_at_the_launch_instant) {
  bed b;
  opts o = {.profile = "ios-14", .memory = (15u << 20) + 1};
  TS_CHECK_INT(build(&b, &o, 12), ==, 0);
  TS_CHECK_INT(run_to(&b, TS_SEC), ==, 0);
  TS_CHECK_INT(ts_phone_vpn_start(b.ph, TS_START_APP), ==, 0);
  TS_CHECK_INT(run_to(&b, 2 * TS_SEC), ==, 0);
  TS_CHECK_INT(status(&b), ==, TS_VPN_DISCONNECTED);
  TS_CHECK_INT(ts_vpn_session_since(sess(&b)), ==, TS_SEC);
  TS_CHECK_INT(ts_vpn_session_last_exit(sess(&b)), ==, TS_EXIT_JETSAM);
  TS_CHECK_INT(pstats(&b).jetsams, ==, 1);
  ts_world_destroy(b.w);
}

/* ------------------------------------------------------------------ GT-22 */

TS_TEST(gt22_blocked_start_is_stopped_at_60s_and_killed_at_80s) {
  bed b;
  opts o = {.profile = "ios-18", .start_blocks = true};
  TS_CHECK_INT(build(&b, &o, 3), ==, 0);
  const ts_time t0 = 5 * TS_SEC;
  TS_CHECK_INT(run_to(&b, t0), ==, 0);
  TS_CHECK_INT(ts_phone_vpn_start(b.ph, TS_START_APP), ==, 0);
  TS_CHECK_INT(run_to(&b, t0 + 60 * TS_SEC - 1), ==, 0);
  TS_CHECK_INT(status(&b), ==, TS_VPN_CONNECTING);
  TS_CHECK_INT(run_to(&b, t0 + 60 * TS_SEC), ==, 0);
  TS_CHECK_INT(status(&b), ==, TS_VPN_DISCONNECTING);
  TS_CHECK_INT(ts_vpn_session_stop_reason(sess(&b)), ==, TS_STOP_CONNECTION_FAILED);
  TS_CHECK(ts_provider_running(b.prov)); /* blocked: stopTunnel is not served */
  TS_CHECK_INT(run_to(&b, t0 + 80 * TS_SEC - 1), ==, 0);
  TS_CHECK_INT(status(&b), ==, TS_VPN_DISCONNECTING);
  TS_CHECK_INT(run_to(&b, t0 + 80 * TS_SEC), ==, 0);
  TS_CHECK_INT(status(&b), ==, TS_VPN_DISCONNECTED);
  TS_CHECK_INT(ts_vpn_session_since(sess(&b)), ==, t0 + 80 * TS_SEC);
  TS_CHECK_INT(ts_vpn_session_last_exit(sess(&b)), ==, TS_EXIT_WATCHDOG);
  TS_CHECK(!ts_provider_running(b.prov));
  TS_CHECK_INT(pstats(&b).kills, ==, 1);
  ts_world_destroy(b.w);
}

TS_TEST(gt22_quirk_kill_ends_at_exactly_the_start_deadline_and_on_demand_loops) {
  bed b;
  opts o = {.profile = "ios-17", .start_blocks = true, .on_demand = true, .connect_rule = true};
  TS_CHECK_INT(build(&b, &o, 4), ==, 0);
  TS_CHECK_INT(ts_vpn_session_set_lifecycle_quirk(sess(&b), TS_LQ_START_TIMEOUT_ACTION, 1), ==, 0);
  TS_CHECK_INT(app_send(&b), ==, 0);
  TS_CHECK_INT(run_to(&b, 60 * TS_SEC - 1), ==, 0);
  TS_CHECK_INT(status(&b), ==, TS_VPN_CONNECTING);
  TS_CHECK_INT(run_to(&b, 60 * TS_SEC), ==, 0);
  TS_CHECK_INT(status(&b), ==, TS_VPN_DISCONNECTED);
  TS_CHECK_INT(ts_vpn_session_last_exit(sess(&b)), ==, TS_EXIT_WATCHDOG);
  TS_CHECK(!ts_provider_running(b.prov));
  /* The next trigger relaunches it: a restart loop, one launch per trigger. */
  TS_CHECK_INT(run_to(&b, 70 * TS_SEC), ==, 0);
  TS_CHECK_INT(app_send(&b), ==, 0);
  TS_CHECK_INT(run_to(&b, 130 * TS_SEC), ==, 0);
  TS_CHECK_INT(status(&b), ==, TS_VPN_DISCONNECTED);
  TS_CHECK_INT(ts_vpn_session_since(sess(&b)), ==, 130 * TS_SEC);
  TS_CHECK_INT(pstats(&b).launches, ==, 2);
  TS_CHECK_INT(ts_vpn_session_exit_count(sess(&b), TS_EXIT_WATCHDOG), ==, 2);
  ts_world_destroy(b.w);
}

TS_TEST(gt22_profiles_without_the_start_timer_stay_connecting) {
  bed b;
  opts o = {.profile = "ios-16.0", .start_blocks = true};
  TS_CHECK_INT(build(&b, &o, 5), ==, 0);
  TS_CHECK_INT(ts_phone_vpn_start(b.ph, TS_START_APP), ==, 0);
  TS_CHECK_INT(run_to(&b, 3600 * TS_SEC), ==, 0);
  TS_CHECK_INT(status(&b), ==, TS_VPN_CONNECTING);
  TS_CHECK(ts_provider_running(b.prov));
  ts_world_destroy(b.w);
}

/* ------------------------------------------------------------------ GT-30 */

TS_TEST(gt30_settings_never_complete_the_start_watchdog_ends_it) {
  bed b;
  opts o = {.profile = "ios-17.4", .settings_never_complete = true};
  TS_CHECK_INT(build(&b, &o, 6), ==, 0);
  TS_CHECK_INT(ts_phone_vpn_start(b.ph, TS_START_APP), ==, 0);
  TS_CHECK_INT(run_to(&b, 60 * TS_SEC - 1), ==, 0);
  TS_CHECK_INT(status(&b), ==, TS_VPN_CONNECTING);
  TS_CHECK(!ts_vpn_session_tunnel_up(sess(&b)));
  /* Not blocked: stopTunnel is served at once, so it ends at the start deadline. */
  TS_CHECK_INT(run_to(&b, 60 * TS_SEC), ==, 0);
  TS_CHECK_INT(status(&b), ==, TS_VPN_DISCONNECTED);
  TS_CHECK_INT(ts_vpn_session_since(sess(&b)), ==, 60 * TS_SEC);
  TS_CHECK_INT(ts_vpn_session_last_exit(sess(&b)), ==, TS_EXIT_STOPPED);
  TS_CHECK_INT(ts_vpn_session_stop_reason(sess(&b)), ==, TS_STOP_CONNECTION_FAILED);
  TS_CHECK_INT(pstats(&b).stops, ==, 1);
  TS_CHECK_INT(pstats(&b).kills, ==, 0);
  ts_world_destroy(b.w);
}

/* ------------------------------------------------------------------ GT-26 */

TS_TEST(gt26_after_reboot_without_on_demand_the_vpn_stays_down) {
  bed b;
  opts o = {.profile = "ios-18"};
  TS_CHECK_INT(build(&b, &o, 7), ==, 0);
  TS_CHECK_INT(ts_phone_vpn_start(b.ph, TS_START_APP), ==, 0);
  TS_CHECK_INT(run_to(&b, TS_SEC), ==, 0);
  TS_CHECK_INT(status(&b), ==, TS_VPN_CONNECTED);
  ts_sock_id old = b.app;
  TS_CHECK(ts_phone_socket_local_id(b.ph, old) != 0);
  TS_CHECK_INT(ts_phone_reboot(b.ph), ==, 0);
  TS_CHECK_INT(ts_phone_socket_local_id(b.ph, old), ==, 0); /* the app's process died with it */
  TS_CHECK_INT(status(&b), ==, TS_VPN_DISCONNECTED);
  TS_CHECK_INT(ts_vpn_session_down_cause(sess(&b)), ==, TS_DOWN_BOOT);
  TS_CHECK_INT(ts_vpn_session_last_exit(sess(&b)), ==, TS_EXIT_REBOOT);
  TS_CHECK(!ts_provider_running(b.prov));
  uint32_t before = b.en0_app_packets;
  TS_CHECK_INT(run_to(&b, 2 * TS_SEC), ==, 0);
  TS_CHECK_INT(app_send(&b), ==, 0);
  TS_CHECK_INT(run_to(&b, 600 * TS_SEC), ==, 0);
  TS_CHECK_INT(status(&b), ==, TS_VPN_DISCONNECTED);
  TS_CHECK_INT(b.en0_app_packets, ==, before + 1); /* outside the VPN */
  TS_CHECK_INT(pstats(&b).launches, ==, 1);
  ts_world_destroy(b.w);
}

TS_TEST(gt26_after_reboot_with_on_demand_it_comes_up_on_the_first_trigger) {
  bed b;
  opts o = {.profile = "ios-18", .on_demand = true, .connect_rule = true};
  TS_CHECK_INT(build(&b, &o, 8), ==, 0);
  TS_CHECK_INT(ts_phone_vpn_start(b.ph, TS_START_APP), ==, 0);
  TS_CHECK_INT(run_to(&b, TS_SEC), ==, 0);
  TS_CHECK_INT(ts_phone_reboot(b.ph), ==, 0);
  /* Boot is evaluated (rule 0 matches) but a Connect rule waits for a connection
   * attempt (od-connect-on-any-trigger off). */
  TS_CHECK_INT(run_to(&b, 5 * TS_SEC), ==, 0);
  TS_CHECK_INT(status(&b), ==, TS_VPN_DISCONNECTED);
  TS_CHECK_INT(ts_phone_on_demand_last(b.ph).rule, ==, 0);
  TS_CHECK_INT(app_send(&b), ==, 0);
  TS_CHECK_INT(run_to(&b, 5 * TS_SEC + SETTINGS_DELAY), ==, 0);
  TS_CHECK_INT(status(&b), ==, TS_VPN_CONNECTED);
  TS_CHECK_INT(ts_vpn_session_since(sess(&b)), ==, 5 * TS_SEC + SETTINGS_DELAY);
  TS_CHECK_INT(ts_vpn_session_start_cause(sess(&b)), ==, TS_START_ON_DEMAND);
  /* Under the quirk the boot trigger itself starts it. */
  TS_CHECK_INT(ts_vpn_session_set_lifecycle_quirk(sess(&b), TS_LQ_OD_CONNECT_ON_ANY_TRIGGER, 1), ==, 0);
  TS_CHECK_INT(ts_phone_reboot(b.ph), ==, 0);
  TS_CHECK_INT(run_to(&b, 6 * TS_SEC), ==, 0);
  TS_CHECK_INT(status(&b), ==, TS_VPN_CONNECTED);
  TS_CHECK_INT(ts_vpn_session_since(sess(&b)), ==, 5 * TS_SEC + 2 * SETTINGS_DELAY);
  TS_CHECK_INT(pstats(&b).launches, ==, 3);
  ts_world_destroy(b.w);
}

/* ------------------------------------------------------ stop timeout, SIGTERM */

TS_TEST(stop_timeout_kills_a_provider_whose_stop_never_completes_at_20s) {
  bed b;
  opts o = {.profile = "ios-16.4", .stop_never_completes = true};
  TS_CHECK_INT(build(&b, &o, 9), ==, 0);
  TS_CHECK_INT(ts_phone_vpn_start(b.ph, TS_START_APP), ==, 0);
  TS_CHECK_INT(run_to(&b, TS_SEC), ==, 0);
  TS_CHECK_INT(ts_phone_vpn_toggle(b.ph, false), ==, 0);
  TS_CHECK_INT(run_to(&b, 21 * TS_SEC - 1), ==, 0);
  TS_CHECK_INT(status(&b), ==, TS_VPN_DISCONNECTING);
  TS_CHECK(ts_provider_running(b.prov));
  TS_CHECK_INT(run_to(&b, 21 * TS_SEC), ==, 0);
  TS_CHECK_INT(status(&b), ==, TS_VPN_DISCONNECTED);
  TS_CHECK_INT(ts_vpn_session_stop_reason(sess(&b)), ==, TS_STOP_USER_INITIATED);
  TS_CHECK_INT(ts_vpn_session_down_cause(sess(&b)), ==, TS_DOWN_USER);
  TS_CHECK_INT(ts_vpn_session_last_exit(sess(&b)), ==, TS_EXIT_WATCHDOG);
  TS_CHECK(!ts_provider_running(b.prov));
  ts_world_destroy(b.w);
}

TS_TEST(sigterm_app_update_and_crash_end_the_process_with_their_reasons) {
  bed b;
  opts o = {.profile = "ios-18"};
  TS_CHECK_INT(build(&b, &o, 10), ==, 0);
  TS_CHECK_INT(ts_phone_vpn_start(b.ph, TS_START_APP), ==, 0);
  TS_CHECK_INT(run_to(&b, TS_SEC), ==, 0);
  TS_CHECK_INT(ts_phone_vpn_kill(b.ph, TS_STOP_APP_UPDATE, TS_EXIT_SIGTERM), ==, 0);
  TS_CHECK_INT(status(&b), ==, TS_VPN_DISCONNECTED);
  TS_CHECK_INT(ts_vpn_session_stop_reason(sess(&b)), ==, TS_STOP_APP_UPDATE);
  TS_CHECK_INT(ts_vpn_session_last_exit(sess(&b)), ==, TS_EXIT_SIGTERM);
  TS_CHECK(!ts_provider_running(b.prov));
  TS_CHECK(ts_provider_wgdev(b.prov) == NULL);
  TS_CHECK_INT(ts_phone_vpn_kill(b.ph, TS_STOP_APP_UPDATE, TS_EXIT_SIGTERM), ==, TS_ESTATE);
  TS_CHECK_INT(ts_phone_vpn_start(b.ph, TS_START_APP), ==, 0);
  TS_CHECK_INT(run_to(&b, 2 * TS_SEC), ==, 0);
  TS_CHECK_INT(ts_provider_crash(b.prov), ==, 0);
  TS_CHECK_INT(ts_vpn_session_last_exit(sess(&b)), ==, TS_EXIT_CRASH);
  TS_CHECK_INT(ts_vpn_session_stop_reason(sess(&b)), ==, TS_STOP_PROVIDER_FAILED);
  TS_CHECK_INT(ts_provider_crash(b.prov), ==, TS_ESTATE);
  ts_provider_stats s = pstats(&b);
  TS_CHECK_INT(s.kills, ==, 1);
  TS_CHECK_INT(s.crashes, ==, 1);
  TS_CHECK_INT(ts_packet_pool_outstanding(ts_world_pool(b.w)), ==, 0);
  ts_world_destroy(b.w);
}

/* ------------------------------------------------------- network change */

TS_TEST(network_change_to_a_disconnect_network_stops_the_vpn) {
  bed b;
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
  TS_CHECK_INT(app_send(&b), ==, 0);
  TS_CHECK_INT(run_to(&b, TS_SEC), ==, 0);
  TS_CHECK_INT(status(&b), ==, TS_VPN_CONNECTED);
  ts_ipprefix cell = ts_test_prefix("10.200.0.5/32");
  TS_CHECK_INT(ts_phone_add_address(b.ph, "pdp_ip0", &cell), ==, 0);
  TS_CHECK_INT(ts_phone_iface_set_up(b.ph, "pdp_ip0", true), ==, 0);
  TS_CHECK_INT(ts_phone_set_primary(b.ph, "pdp_ip0"), ==, 0);
  TS_CHECK_INT(run_to(&b, 2 * TS_SEC), ==, 0);
  TS_CHECK_INT(status(&b), ==, TS_VPN_DISCONNECTED);
  TS_CHECK_INT(ts_vpn_session_since(sess(&b)), ==, TS_SEC);
  TS_CHECK_INT(ts_phone_on_demand_last(b.ph).rule, ==, 0);
  /* On cellular an app's traffic does not start it (rule 0 never starts). */
  TS_CHECK_INT(app_send(&b), ==, 0);
  TS_CHECK_INT(run_to(&b, 3 * TS_SEC), ==, 0);
  TS_CHECK_INT(status(&b), ==, TS_VPN_DISCONNECTED);
  /* Back on Wi-Fi: the Connect rule applies to the next attempt. */
  TS_CHECK_INT(ts_phone_set_primary(b.ph, "en0"), ==, 0);
  TS_CHECK_INT(app_send(&b), ==, 0);
  TS_CHECK_INT(run_to(&b, 4 * TS_SEC), ==, 0);
  TS_CHECK_INT(status(&b), ==, TS_VPN_CONNECTED);
  TS_CHECK_INT(ts_vpn_session_since(sess(&b)), ==, 3 * TS_SEC + SETTINGS_DELAY);
  ts_world_destroy(b.w);
}
