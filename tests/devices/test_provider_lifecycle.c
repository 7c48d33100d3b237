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
#include <stdio.h>
#include <string.h>

#include "ts_native.h"
#include "ts_os_profile_load.h"
#include "ts_provider.h"
#include "ts_relay.h"
#include "tstest.h"
#include "tstest_net.h"

#ifndef TS_MODELS_OS_DIR
#define TS_MODELS_OS_DIR "models/os"
#endif

#define SETTINGS_DELAY (100 * TS_MS)
#define MIB (1ull << 20)

typedef struct bed {
  ts_world *w;
  ts_net *net;
  ts_host *ap, *core, *relay_host, *server;
  ts_relay *relay;
  ts_phone *ph;
  ts_provider *prov;
  ts_sock_id app;
  ts_time app_until;      /* the app sends every second until then */
  uint32_t app_sent, app_replies;
  uint32_t en0_app;       /* app packets that left en0 */
  uint32_t mon_unreachable;
} bed;

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

/* ------------------------------------------------------------------ world */

static void on_egress(void *ctx, int iface, const ts_packet *pkt, const ts_phone_origin *o) {
  bed *b = ctx;
  (void)iface;
  (void)pkt;
  if (o->cls == TS_TC_APP) b->en0_app++;
}

static void on_app_reply(void *ctx, ts_sock_id sock, const ts_ip_info *info, const uint8_t *payload,
                         uint32_t len, int iface) {
  bed *b = ctx;
  (void)sock;
  (void)info;
  (void)payload;
  (void)len;
  (void)iface;
  b->app_replies++;
}

static void on_monitor(void *ctx, ts_monitor *m, const ts_monitor_report *r) {
  bed *b = ctx;
  (void)m;
  if (r->event == TS_MONITOR_EV_UNREACHABLE) b->mon_unreachable++;
}

static int build_net(bed *b) {
  if (ts_net_create(b->w, &b->net) || ts_net_add_host(b->net, "ap", &b->ap) ||
      ts_net_add_host(b->net, "core", &b->core) ||
      ts_net_add_host(b->net, "relay", &b->relay_host) ||
      ts_net_add_host(b->net, "server", &b->server))
    return -1;
  ts_ipprefix a_lan = ts_test_prefix("192.168.1.1/24"), a_up = ts_test_prefix("10.0.0.2/30");
  ts_ipprefix c_ap = ts_test_prefix("10.0.0.1/30"), c_relay = ts_test_prefix("203.0.113.1/24");
  ts_ipprefix c_server = ts_test_prefix("198.51.100.1/24");
  ts_ipprefix r_eth = ts_test_prefix("203.0.113.10/24"), s_eth = ts_test_prefix("198.51.100.20/24");
  uint32_t i_ap_up, i_c_ap, i_c_relay, i_c_server, i_relay, i_server, i_lan;
  ts_host_add_interface(b->ap, "wlan0", &a_lan, 1, &i_lan);
  ts_host_add_interface(b->ap, "eth0", &a_up, 1, &i_ap_up);
  ts_host_add_interface(b->core, "eth0", &c_ap, 1, &i_c_ap);
  ts_host_add_interface(b->core, "eth1", &c_relay, 1, &i_c_relay);
  ts_host_add_interface(b->core, "eth2", &c_server, 1, &i_c_server);
  ts_host_add_interface(b->relay_host, "eth0", &r_eth, 1, &i_relay);
  ts_host_add_interface(b->server, "eth0", &s_eth, 1, &i_server);
  ts_link_params lp = {.mtu = 1500, .queue_limit = 100, .up = true, .delay = 5 * TS_MS};
  ts_link_id l;
  if (ts_net_connect(b->net, "ap-core", &lp, b->ap, i_ap_up, b->core, i_c_ap, &l)) return -1;
  lp.delay = 10 * TS_MS;
  if (ts_net_connect(b->net, "core-relay", &lp, b->core, i_c_relay, b->relay_host, i_relay, &l) ||
      ts_net_connect(b->net, "core-server", &lp, b->core, i_c_server, b->server, i_server, &l))
    return -1;
  ts_host_set_forwarding(b->ap, true);
  ts_host_set_forwarding(b->core, true);
  ts_ipprefix def = ts_test_prefix("0.0.0.0/0"), lan = ts_test_prefix("192.168.1.0/24");
  ts_host_add_route(b->ap, &def, i_ap_up);
  ts_host_add_route(b->core, &lan, i_c_ap);
  ts_app_config echo = {.name = "udp-echo", .kind = TS_NET_APP_UDP_ECHO_SERVER, .port = 7};
  return ts_net_add_app(b->net, b->server, &echo) ? -1 : (int)i_lan;
}

static int build_phone(bed *b, const opts *o, uint32_t i_lan) {
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
  if (o->on_demand) {
    ts_od_rule r;
    memset(&r, 0, sizeof r);
    r.action = TS_OD_CONNECT; /* Mullvad: one Connect rule, interfaceTypeMatch any */
    if (ts_vpn_config_add_on_demand_rule(vc, &r)) return -1;
  }
  ts_phone_set_egress_hook(b->ph, on_egress, b);
  ts_phone_socket_params sp = {.owner = TS_TC_APP, .proto = TS_IPPROTO_UDP, .api = TS_SOCK_BSD,
                               .recv = on_app_reply, .ctx = b};
  return ts_phone_socket_open(b->ph, &sp, &b->app) ? -1 : 0;
}

static int build_provider(bed *b, const opts *o) {
  ts_rng keys;
  ts_world_rng(b->w, "test/keys", &keys);
  uint8_t relay_priv[WG_KEY_LEN], phone_pub[WG_KEY_LEN];
  ts_provider_config cfg;
  memset(&cfg, 0, sizeof cfg);
  ts_rng_fill(&keys, cfg.private_key, WG_KEY_LEN);
  ts_rng_fill(&keys, relay_priv, WG_KEY_LEN);
  wg_key_clamp(cfg.private_key);
  wg_key_clamp(relay_priv);
  if (wg_key_public_from_private(cfg.relay_public_key, relay_priv) != WG_OK ||
      wg_key_public_from_private(phone_pub, cfg.private_key) != WG_OK)
    return -1;
  ts_relay_peer rp;
  memset(&rp, 0, sizeof rp);
  memcpy(rp.public_key, phone_pub, WG_KEY_LEN);
  rp.allowed_ips[0] = ts_test_prefix("10.64.0.2/32");
  rp.allowed_ip_count = 1;
  ts_relay_config rc;
  memset(&rc, 0, sizeof rc);
  memcpy(rc.private_key, relay_priv, WG_KEY_LEN);
  rc.peers = &rp;
  rc.peer_count = 1;
  if (ts_relay_create(b->relay_host, &rc, &b->relay)) return -1;

  cfg.relay = ts_test_addr("203.0.113.10");
  ts_ipaddr tun = ts_test_addr("10.64.0.2");
  ts_provider_default_settings(&cfg.settings, &cfg.relay, &tun);
  cfg.settings_delay = o->settings_delay ? o->settings_delay : SETTINGS_DELAY;
  cfg.completion = TS_PROVIDER_COMPLETE_AFTER_SETTINGS;
  cfg.settings_never_complete = o->settings_never_complete;
  cfg.settings_timeout = o->settings_timeout;
  cfg.needs_keychain = o->needs_keychain;
  cfg.keychain_locked = o->keychain_locked;
  cfg.memory = o->memory;
  cfg.memory_on_connect = o->memory_on_connect;
  cfg.use_monitor = o->use_monitor;
  cfg.monitor.path = o->path;
  cfg.monitor.on_report = on_monitor;
  cfg.monitor.ctx = b;
  return ts_provider_create(b->ph, &cfg, &b->prov) ? -1 : 0;
}

static int build(bed *b, const opts *o, uint64_t seed) {
  memset(b, 0, sizeof *b);
  if (ts_world_create(&b->w, &ts_native_backend, seed)) return -1;
  int i_lan = build_net(b);
  if (i_lan < 0 || build_phone(b, o, (uint32_t)i_lan)) return -1;
  return build_provider(b, o);
}

/* ------------------------------------------------------------------- app */

static void app_tick(void *obj, uint64_t arg) {
  bed *b = obj;
  (void)arg;
  ts_ipaddr dst = ts_test_addr("198.51.100.20");
  if (ts_phone_socket_local_id(b->ph, b->app) == 0) { /* a reboot ended the app's process */
    ts_phone_socket_params sp = {.owner = TS_TC_APP, .proto = TS_IPPROTO_UDP, .api = TS_SOCK_BSD,
                                 .recv = on_app_reply, .ctx = b};
    ts_phone_socket_open(b->ph, &sp, &b->app);
  }
  ts_phone_send_udp(b->ph, b->app, &dst, 7, (const uint8_t *)"hello", 5, NULL);
  b->app_sent++;
  if (ts_world_now(b->w) + TS_SEC <= b->app_until)
    ts_world_schedule_in(b->w, TS_SEC, app_tick, b, 0, NULL);
}

/* The app sends at `from`, then every second up to `until`. */
static void app_run(bed *b, ts_time from, ts_time until) {
  b->app_until = until;
  ts_world_schedule_in(b->w, from - ts_world_now(b->w), app_tick, b, 0, NULL);
}

static int run_to(bed *b, ts_time t) { return ts_world_run_until(b->w, t); }
static ts_vpn_session *sess(bed *b) { return ts_phone_session(b->ph); }
static ts_vpn_status status(bed *b) { return ts_vpn_session_status(sess(b)); }

static ts_provider_stats pstats(bed *b) {
  ts_provider_stats s;
  ts_provider_get_stats(b->prov, &s);
  return s;
}

static ts_monitor_stats mstats(bed *b) {
  ts_monitor_stats s;
  ts_monitor_get_stats(ts_provider_monitor(b->prov), &s);
  return s;
}

static ts_provider_error_reason reason(bed *b) { return ts_provider_error_reason_get(b->prov); }

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
  bed b;
  opts o = {.profile = "ios-18"};
  TS_CHECK_INT(build(&b, &o, 20), ==, 0);
  TS_CHECK_INT(ts_provider_enter_error_state(b.prov), ==, TS_ESTATE); /* no process */
  TS_CHECK_INT(ts_provider_start(b.prov, TS_START_APP), ==, 0);
  TS_CHECK_INT(run_to(&b, TS_SEC), ==, 0);
  TS_CHECK_INT(reason(&b), ==, TS_PROVIDER_REASON_NONE);
  TS_CHECK_INT(ts_provider_enter_error_state(b.prov), ==, 0);
  TS_CHECK(ts_provider_in_error_state(b.prov));
  TS_CHECK_INT(reason(&b), ==, TS_PROVIDER_REASON_USER);
  TS_CHECK(ts_provider_wgdev(b.prov) == NULL);
  /* A user error state never restarts by itself. */
  TS_CHECK_INT(run_to(&b, 120 * TS_SEC), ==, 0);
  TS_CHECK_INT(reason(&b), ==, TS_PROVIDER_REASON_USER);
  TS_CHECK_INT(pstats(&b).keychain_retries, ==, 0);
  /* The process ends: no reason is left behind. */
  TS_CHECK_INT(ts_provider_stop(b.prov, TS_STOP_USER_INITIATED), ==, 0);
  TS_CHECK_INT(run_to(&b, 121 * TS_SEC), ==, 0);
  TS_CHECK(!ts_provider_in_error_state(b.prov));
  TS_CHECK_INT(reason(&b), ==, TS_PROVIDER_REASON_NONE);
  ts_world_destroy(b.w);
}

/* ------------------------------------------------------------------ GT-23 */

static void gt23_blocked_state(bool ian) {
  bed b;
  opts o = {.profile = "ios-18", .ian = ian, .on_demand = true, .needs_keychain = true,
            .keychain_locked = TS_PROVIDER_KEYCHAIN_BLOCKED_STATE};
  TS_CHECK_INT(build(&b, &o, ian ? 31 : 30), ==, 0);
  TS_CHECK(ts_phone_keychain_available(b.ph));
  TS_CHECK_INT(run_to(&b, TS_SEC), ==, 0);
  TS_CHECK_INT(ts_phone_reboot(b.ph), ==, 0);
  TS_CHECK(!ts_phone_keychain_available(b.ph));
  /* The app's first send at 2 s starts the VPN through on-demand: the provider cannot
   * read its settings, enters the error state and completes startTunnel. */
  const ts_time t0 = 2 * TS_SEC;
  app_run(&b, t0, 60 * TS_SEC);
  TS_CHECK_INT(run_to(&b, t0), ==, 0);
  TS_CHECK_INT(status(&b), ==, TS_VPN_CONNECTED);
  TS_CHECK_INT(ts_vpn_session_since(sess(&b)), ==, t0);
  TS_CHECK(ts_provider_in_error_state(b.prov));
  TS_CHECK_INT(reason(&b), ==, TS_PROVIDER_REASON_DEVICE_LOCKED);
  TS_CHECK(ts_vpn_session_routes_installed(sess(&b))); /* default routes: captured */
  TS_CHECK(!ts_provider_start_blocked(b.prov));
  TS_CHECK(!ts_provider_settings_pending(b.prov));
  const uint32_t en0_at_start = b.en0_app; /* the triggering send, before the tunnel */
  /* Read again every 5 s (bootRecoveryPeriodicity): 7, 12, 17, 22, 27 s. */
  TS_CHECK_INT(run_to(&b, t0 + 25 * TS_SEC - 1), ==, 0);
  TS_CHECK_INT(pstats(&b).keychain_retries, ==, 4);
  TS_CHECK_INT(run_to(&b, t0 + 25 * TS_SEC), ==, 0);
  TS_CHECK_INT(pstats(&b).keychain_retries, ==, 5);
  /* The unlock at 29 s does nothing by itself: the timer notices it at 32 s. */
  TS_CHECK_INT(run_to(&b, 29 * TS_SEC), ==, 0);
  TS_CHECK_INT(ts_phone_unlock(b.ph), ==, 0);
  TS_CHECK_INT(run_to(&b, t0 + 30 * TS_SEC - 1), ==, 0);
  TS_CHECK_INT(reason(&b), ==, TS_PROVIDER_REASON_DEVICE_LOCKED);
  TS_CHECK_INT(b.app_replies, ==, 0);
  TS_CHECK_INT(b.en0_app, ==, en0_at_start); /* dropped inside, not leaked */
  TS_CHECK_INT(pstats(&b).utun_discarded, >=, 29);
  TS_CHECK_INT(pstats(&b).handshakes, ==, 0);
  TS_CHECK_INT(run_to(&b, t0 + 30 * TS_SEC), ==, 0);
  TS_CHECK_INT(pstats(&b).keychain_retries, ==, 6);
  TS_CHECK(!ts_provider_in_error_state(b.prov));
  TS_CHECK_INT(reason(&b), ==, TS_PROVIDER_REASON_NONE);
  TS_CHECK(ts_provider_settings_pending(b.prov));
  /* Connected (settings, handshake) and the app's datagrams answered within 5 s of
   * the unlock; no timer keeps running. */
  TS_CHECK_INT(run_to(&b, 34 * TS_SEC), ==, 0);
  TS_CHECK(!ts_provider_settings_pending(b.prov));
  TS_CHECK_INT(pstats(&b).handshakes, ==, 1);
  TS_CHECK_INT(b.app_replies, >=, 1);
  TS_CHECK_INT(run_to(&b, 60 * TS_SEC), ==, 0);
  TS_CHECK_INT(b.app_replies, >=, 27);
  TS_CHECK_INT(b.en0_app, ==, en0_at_start);
  TS_CHECK_INT(status(&b), ==, TS_VPN_CONNECTED);
  TS_CHECK_INT(pstats(&b).keychain_retries, ==, 6);
  TS_CHECK_INT(pstats(&b).launches, ==, 1);
  ts_world_destroy(b.w);
}

TS_TEST(gt23_blocked_state_drops_retries_every_5s_and_connects_after_the_unlock) {
  gt23_blocked_state(false);
  if (ts_test_failed_now()) return;
  gt23_blocked_state(true);
}

TS_TEST(gt23_deadlock_start_blocks_until_the_60s_watchdog) {
  bed b;
  opts o = {.profile = "ios-18", .needs_keychain = true,
            .keychain_locked = TS_PROVIDER_KEYCHAIN_DEADLOCK};
  TS_CHECK_INT(build(&b, &o, 32), ==, 0);
  TS_CHECK_INT(run_to(&b, TS_SEC), ==, 0);
  TS_CHECK_INT(ts_phone_reboot(b.ph), ==, 0);
  const ts_time t0 = 2 * TS_SEC;
  TS_CHECK_INT(run_to(&b, t0), ==, 0);
  TS_CHECK_INT(ts_phone_vpn_start(b.ph, TS_START_APP), ==, 0);
  TS_CHECK_INT(run_to(&b, t0), ==, 0);
  TS_CHECK(ts_provider_start_blocked(b.prov));
  TS_CHECK(!ts_provider_in_error_state(b.prov));
  TS_CHECK(!ts_provider_settings_pending(b.prov));
  /* The unlock does not free a blocked startTunnel. */
  TS_CHECK_INT(run_to(&b, 10 * TS_SEC), ==, 0);
  TS_CHECK_INT(ts_phone_unlock(b.ph), ==, 0);
  TS_CHECK_INT(run_to(&b, t0 + 60 * TS_SEC - 1), ==, 0);
  TS_CHECK_INT(status(&b), ==, TS_VPN_CONNECTING);
  TS_CHECK(!ts_vpn_session_tunnel_up(sess(&b)));
  TS_CHECK_INT(run_to(&b, t0 + 60 * TS_SEC), ==, 0);
  TS_CHECK_INT(status(&b), ==, TS_VPN_DISCONNECTING);
  TS_CHECK_INT(ts_vpn_session_stop_reason(sess(&b)), ==, TS_STOP_CONNECTION_FAILED);
  TS_CHECK(ts_provider_start_blocked(b.prov)); /* stopTunnel is not served */
  TS_CHECK_INT(run_to(&b, t0 + 80 * TS_SEC), ==, 0);
  TS_CHECK_INT(status(&b), ==, TS_VPN_DISCONNECTED);
  TS_CHECK_INT(ts_vpn_session_last_exit(sess(&b)), ==, TS_EXIT_WATCHDOG);
  TS_CHECK(!ts_provider_start_blocked(b.prov));
  TS_CHECK_INT(pstats(&b).kills, ==, 1);
  TS_CHECK_INT(pstats(&b).keychain_retries, ==, 0);
  /* A new process after the unlock reads its settings and connects. */
  TS_CHECK_INT(ts_phone_vpn_start(b.ph, TS_START_APP), ==, 0);
  TS_CHECK_INT(run_to(&b, t0 + 81 * TS_SEC), ==, 0);
  TS_CHECK_INT(status(&b), ==, TS_VPN_CONNECTED);
  TS_CHECK(!ts_provider_start_blocked(b.prov));
  TS_CHECK_INT(pstats(&b).handshakes, ==, 1);
  ts_world_destroy(b.w);
}

/* ------------------------------------------------------------------ GT-24 */

TS_TEST(gt24_outdated_schema_blocks_for_minutes_until_the_app_is_opened) {
  bed b;
  opts o = {.profile = "ios-18", .on_demand = true};
  TS_CHECK_INT(build(&b, &o, 40), ==, 0);
  TS_CHECK_INT(ts_provider_start(b.prov, TS_START_APP), ==, 0);
  app_run(&b, TS_SEC, 400 * TS_SEC);
  TS_CHECK_INT(run_to(&b, 10 * TS_SEC + 500 * TS_MS), ==, 0);
  TS_CHECK_INT(b.app_replies, ==, 10); /* sends at 1 ... 10 s, answered in 80 ms */
  TS_CHECK_INT(pstats(&b).handshakes, ==, 1);
  /* An update that changes the settings schema installs: SIGTERM, then the next app
   * traffic relaunches the provider through on-demand (at 11 s). */
  TS_CHECK_INT(ts_provider_set_settings_outdated(b.prov, true), ==, 0);
  TS_CHECK_INT(ts_phone_vpn_kill(b.ph, TS_STOP_APP_UPDATE, TS_EXIT_SIGTERM), ==, 0);
  TS_CHECK_INT(run_to(&b, 11 * TS_SEC), ==, 0);
  TS_CHECK_INT(status(&b), ==, TS_VPN_CONNECTED);
  TS_CHECK_INT(pstats(&b).launches, ==, 2);
  TS_CHECK_INT(reason(&b), ==, TS_PROVIDER_REASON_OUTDATED_SCHEMA);
  TS_CHECK(ts_vpn_session_routes_installed(sess(&b)));
  const uint32_t replies = b.app_replies, en0 = b.en0_app;
  /* Five minutes later: still blocked, nothing retried, nothing answered or leaked. */
  TS_CHECK_INT(run_to(&b, 311 * TS_SEC), ==, 0);
  TS_CHECK_INT(status(&b), ==, TS_VPN_CONNECTED);
  TS_CHECK_INT(reason(&b), ==, TS_PROVIDER_REASON_OUTDATED_SCHEMA);
  TS_CHECK_INT(pstats(&b).launches, ==, 2);
  TS_CHECK_INT(pstats(&b).keychain_retries, ==, 0);
  TS_CHECK_INT(pstats(&b).handshakes, ==, 1);
  TS_CHECK_INT(b.app_replies, ==, replies);
  TS_CHECK_INT(b.en0_app, ==, en0);
  TS_CHECK_INT(pstats(&b).utun_discarded, >=, 299);
  TS_CHECK(ts_provider_settings_outdated(b.prov));
  /* The user opens the app: it migrates the settings; the same process reconnects. */
  TS_CHECK_INT(run_to(&b, 311 * TS_SEC + 500 * TS_MS), ==, 0);
  TS_CHECK_INT(ts_phone_open_app(b.ph), ==, 0);
  TS_CHECK(!ts_provider_settings_outdated(b.prov));
  TS_CHECK(!ts_provider_in_error_state(b.prov));
  TS_CHECK_INT(run_to(&b, 315 * TS_SEC), ==, 0);
  TS_CHECK_INT(pstats(&b).handshakes, ==, 2);
  TS_CHECK_INT(pstats(&b).launches, ==, 2);
  TS_CHECK_INT(b.app_replies, >=, replies + 3);
  TS_CHECK_INT(b.en0_app, ==, en0);
  ts_world_destroy(b.w);
}

TS_TEST(gt24_opening_the_app_without_a_provider_migrates_and_starts_the_vpn) {
  bed b;
  opts o = {.profile = "ios-18"};
  TS_CHECK_INT(build(&b, &o, 41), ==, 0);
  /* Nothing to migrate: opening the app does nothing. */
  TS_CHECK_INT(ts_phone_open_app(b.ph), ==, 0);
  TS_CHECK_INT(run_to(&b, TS_SEC), ==, 0);
  TS_CHECK_INT(status(&b), ==, TS_VPN_DISCONNECTED);
  TS_CHECK_INT(pstats(&b).launches, ==, 0);
  TS_CHECK_INT(ts_provider_start(b.prov, TS_START_APP), ==, 0);
  TS_CHECK_INT(run_to(&b, 2 * TS_SEC), ==, 0);
  TS_CHECK_INT(ts_provider_set_settings_outdated(b.prov, true), ==, 0);
  TS_CHECK_INT(ts_phone_vpn_kill(b.ph, TS_STOP_APP_UPDATE, TS_EXIT_SIGTERM), ==, 0);
  TS_CHECK_INT(run_to(&b, 60 * TS_SEC), ==, 0);
  TS_CHECK_INT(status(&b), ==, TS_VPN_DISCONNECTED); /* no on-demand: stays down */
  TS_CHECK_INT(ts_phone_open_app(b.ph), ==, 0);
  TS_CHECK_INT(run_to(&b, 61 * TS_SEC), ==, 0);
  TS_CHECK_INT(status(&b), ==, TS_VPN_CONNECTED);
  TS_CHECK_INT(ts_vpn_session_start_cause(sess(&b)), ==, TS_START_APP);
  TS_CHECK_INT(pstats(&b).launches, ==, 2);
  TS_CHECK(!ts_provider_in_error_state(b.prov));
  TS_CHECK_INT(pstats(&b).handshakes, ==, 2);
  ts_world_destroy(b.w);
}

/* ------------------------------------------------------------------ GT-30 */

TS_TEST(gt30_settings_timeout_5s_proceeds_without_settings_in_the_session) {
  bed b;
  opts o = {.profile = "ios-18", .settings_never_complete = true,
            .settings_timeout = TS_PROVIDER_WG_SETTINGS_TIMEOUT};
  TS_CHECK_INT(build(&b, &o, 50), ==, 0);
  const ts_time t0 = TS_SEC;
  TS_CHECK_INT(run_to(&b, t0), ==, 0);
  TS_CHECK_INT(ts_provider_start(b.prov, TS_START_APP), ==, 0);
  TS_CHECK_INT(run_to(&b, t0 + 5 * TS_SEC - 1), ==, 0);
  TS_CHECK_INT(status(&b), ==, TS_VPN_CONNECTING);
  TS_CHECK(ts_provider_settings_pending(b.prov));
  TS_CHECK(ts_provider_wgdev(b.prov) == NULL);
  TS_CHECK_INT(run_to(&b, t0 + 5 * TS_SEC), ==, 0);
  TS_CHECK_INT(status(&b), ==, TS_VPN_CONNECTED);
  TS_CHECK_INT(ts_vpn_session_since(sess(&b)), ==, t0 + 5 * TS_SEC);
  TS_CHECK(ts_vpn_session_settings(sess(&b)) == NULL);
  TS_CHECK(!ts_vpn_session_tunnel_up(sess(&b)));
  TS_CHECK(ts_provider_settings_pending(b.prov)); /* the callback never came */
  TS_CHECK_INT(pstats(&b).settings_timeouts, ==, 1);
  TS_CHECK(ts_provider_wgdev(b.prov) != NULL);
  TS_CHECK_INT(run_to(&b, t0 + 6 * TS_SEC), ==, 0);
  TS_CHECK_INT(pstats(&b).handshakes, ==, 1);
  /* No watchdog applies to a connected session. */
  TS_CHECK_INT(run_to(&b, t0 + 120 * TS_SEC), ==, 0);
  TS_CHECK_INT(status(&b), ==, TS_VPN_CONNECTED);
  TS_CHECK_INT(pstats(&b).settings_timeouts, ==, 1);
  ts_world_destroy(b.w);
}

TS_TEST(gt30_a_late_callback_after_the_timeout_still_applies_the_settings) {
  bed b;
  opts o = {.profile = "ios-18", .settings_delay = 7 * TS_SEC,
            .settings_timeout = TS_PROVIDER_WG_SETTINGS_TIMEOUT};
  TS_CHECK_INT(build(&b, &o, 51), ==, 0);
  TS_CHECK_INT(ts_provider_start(b.prov, TS_START_APP), ==, 0);
  TS_CHECK_INT(run_to(&b, 5 * TS_SEC), ==, 0);
  TS_CHECK_INT(status(&b), ==, TS_VPN_CONNECTED);
  TS_CHECK(!ts_vpn_session_tunnel_up(sess(&b)));
  TS_CHECK_INT(run_to(&b, 7 * TS_SEC), ==, 0);
  TS_CHECK(ts_vpn_session_tunnel_up(sess(&b)));
  TS_CHECK(!ts_provider_settings_pending(b.prov));
  TS_CHECK_INT(pstats(&b).settings_timeouts, ==, 1);
  TS_CHECK_INT(pstats(&b).handshakes, ==, 1); /* the engine came up once */
  /* A callback before the timeout: the timeout does nothing. */
  ts_world_destroy(b.w);
  opts fast = {.profile = "ios-18", .settings_timeout = TS_PROVIDER_WG_SETTINGS_TIMEOUT};
  TS_CHECK_INT(build(&b, &fast, 52), ==, 0);
  TS_CHECK_INT(ts_provider_start(b.prov, TS_START_APP), ==, 0);
  TS_CHECK_INT(run_to(&b, 10 * TS_SEC), ==, 0);
  TS_CHECK_INT(ts_vpn_session_since(sess(&b)), ==, SETTINGS_DELAY);
  TS_CHECK_INT(pstats(&b).settings_timeouts, ==, 0);
  ts_world_destroy(b.w);
}

TS_TEST(gt30_settings_timeout_0_waits_until_the_60s_watchdog) {
  bed b;
  opts o = {.profile = "ios-18", .settings_never_complete = true, .settings_timeout = 0};
  TS_CHECK_INT(build(&b, &o, 53), ==, 0);
  TS_CHECK_INT(ts_provider_start(b.prov, TS_START_APP), ==, 0);
  TS_CHECK_INT(run_to(&b, 60 * TS_SEC - 1), ==, 0);
  TS_CHECK_INT(status(&b), ==, TS_VPN_CONNECTING);
  TS_CHECK(ts_provider_settings_pending(b.prov));
  TS_CHECK(!ts_provider_start_blocked(b.prov));
  TS_CHECK_INT(pstats(&b).handshakes, ==, 0);
  TS_CHECK_INT(run_to(&b, 60 * TS_SEC), ==, 0);
  TS_CHECK_INT(status(&b), ==, TS_VPN_DISCONNECTED);
  TS_CHECK_INT(ts_vpn_session_stop_reason(sess(&b)), ==, TS_STOP_CONNECTION_FAILED);
  TS_CHECK_INT(ts_vpn_session_last_exit(sess(&b)), ==, TS_EXIT_STOPPED);
  TS_CHECK(!ts_provider_settings_pending(b.prov));
  TS_CHECK_INT(pstats(&b).settings_timeouts, ==, 0);
  ts_world_destroy(b.w);
}

/* ------------------------------------------------------------------ GT-21 */

static void gt21_burst(const char *profile, uint64_t seed, ts_provider_stats *out,
                       ts_vpn_status *st, uint64_t *memory) {
  bed b;
  opts o = {.profile = profile, .on_demand = true, .memory = 12 * MIB,
            .memory_on_connect = 8 * MIB};
  TS_CHECK_INT(build(&b, &o, seed), ==, 0);
  app_run(&b, TS_SEC, 180 * TS_SEC);
  TS_CHECK_INT(run_to(&b, 185 * TS_SEC), ==, 0);
  *out = pstats(&b);
  *st = status(&b);
  *memory = ts_provider_memory(b.prov);
  TS_CHECK_INT(ts_vpn_session_exit_count(sess(&b), TS_EXIT_JETSAM), ==, out->jetsams);
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
  bed b;
  opts o = {.profile = "ios-18", .use_monitor = true, .path = TS_MONITOR_PATH_ENGINE};
  TS_CHECK_INT(build(&b, &o, 70), ==, 0);
  ts_monitor *m = ts_provider_monitor(b.prov);
  TS_CHECK_INT(ts_provider_start(b.prov, TS_START_APP), ==, 0);
  TS_CHECK_INT(run_to(&b, 20 * TS_SEC), ==, 0);
  TS_CHECK_INT(ts_monitor_state_of(m), ==, TS_MONITOR_CONNECTED);
  TS_CHECK_STR(ts_monitor_state_name(ts_monitor_state_of(m)), "connected");
  TS_CHECK_INT(run_to(&b, 20 * TS_SEC + 500 * TS_MS), ==, 0);
  TS_CHECK_INT(ts_phone_sleep(b.ph), ==, 0);
  TS_CHECK(ts_monitor_asleep(m));
  const ts_monitor_stats before = mstats(&b);
  TS_CHECK_INT(before.replies, ==, before.pings_sent);
  /* Two minutes asleep: far beyond the 15 s ping timeout, and no ping at all. */
  TS_CHECK_INT(run_to(&b, 140 * TS_SEC + 500 * TS_MS), ==, 0);
  TS_CHECK_INT(mstats(&b).pings_sent, ==, before.pings_sent);
  TS_CHECK_INT(mstats(&b).send_errors, ==, 0);
  TS_CHECK_INT(b.mon_unreachable, ==, 0);
  TS_CHECK_INT(ts_monitor_state_of(m), ==, TS_MONITOR_CONNECTED);
  ts_monitor_send ls;
  TS_CHECK(ts_monitor_last_send(m, &ls));
  TS_CHECK_INT(ls.at, <=, 20 * TS_SEC + 500 * TS_MS);
  /* Wake: a check at once sends the heartbeat (the last ping is over 10 s old), the
   * reply comes back, and the gap is never judged as a loss. */
  TS_CHECK_INT(ts_phone_wake(b.ph), ==, 0);
  TS_CHECK(!ts_monitor_asleep(m));
  TS_CHECK_INT(run_to(&b, 140 * TS_SEC + 500 * TS_MS), ==, 0);
  TS_CHECK_INT(mstats(&b).pings_sent, ==, before.pings_sent + 1);
  TS_CHECK(ts_monitor_last_send(m, &ls));
  TS_CHECK_INT(ls.at, ==, 140 * TS_SEC + 500 * TS_MS);
  TS_CHECK(ls.sent);
  TS_CHECK(!ls.silent_failure);
  TS_CHECK_INT(run_to(&b, 200 * TS_SEC), ==, 0);
  TS_CHECK_INT(b.mon_unreachable, ==, 0);
  TS_CHECK_INT(mstats(&b).timeouts, ==, 0);
  TS_CHECK_INT(mstats(&b).pings_sent, >=, before.pings_sent + 6);
  TS_CHECK_INT(mstats(&b).replies, >, before.replies);
  TS_CHECK_INT(ts_monitor_state_of(m), ==, TS_MONITOR_CONNECTED);
  TS_CHECK_INT(ts_phone_sleep(b.ph), ==, 0); /* repeated sleep/wake keeps working */
  TS_CHECK_INT(ts_phone_wake(b.ph), ==, 0);
  TS_CHECK_INT(run_to(&b, 230 * TS_SEC), ==, 0);
  TS_CHECK_INT(b.mon_unreachable, ==, 0);
  ts_world_destroy(b.w);
}

TS_TEST(a_provider_launched_during_sleep_pings_only_after_the_wake) {
  bed b;
  opts o = {.profile = "ios-18", .use_monitor = true, .path = TS_MONITOR_PATH_ENGINE};
  TS_CHECK_INT(build(&b, &o, 71), ==, 0);
  ts_monitor *m = ts_provider_monitor(b.prov);
  TS_CHECK_INT(ts_phone_sleep(b.ph), ==, 0);
  TS_CHECK_INT(ts_provider_start(b.prov, TS_START_APP), ==, 0);
  TS_CHECK_INT(run_to(&b, 60 * TS_SEC), ==, 0);
  TS_CHECK_INT(status(&b), ==, TS_VPN_CONNECTED);
  TS_CHECK(ts_monitor_asleep(m));
  TS_CHECK_INT(ts_monitor_state_of(m), ==, TS_MONITOR_CONNECTING);
  TS_CHECK_INT(mstats(&b).pings_sent, ==, 0);
  TS_CHECK(!ts_monitor_last_send(m, NULL));
  TS_CHECK_INT(b.mon_unreachable, ==, 0);
  TS_CHECK_INT(ts_phone_wake(b.ph), ==, 0);
  TS_CHECK_INT(run_to(&b, 70 * TS_SEC), ==, 0);
  TS_CHECK_INT(mstats(&b).pings_sent, >=, 1);
  TS_CHECK_INT(ts_monitor_state_of(m), ==, TS_MONITOR_CONNECTED);
  TS_CHECK_INT(b.mon_unreachable, ==, 0);
  ts_world_destroy(b.w);
}

/* ------------------------------------------------------- monitor send result */

static void last_send_under(bool ian, ts_monitor_send *out) {
  bed b;
  opts o = {.profile = "ios-17", .ian = ian, .use_monitor = true, .path = TS_MONITOR_PATH_BSD_UTUN};
  TS_CHECK_INT(build(&b, &o, 80), ==, 0);
  TS_CHECK_INT(ts_provider_start(b.prov, TS_START_APP), ==, 0);
  TS_CHECK_INT(run_to(&b, 10 * TS_SEC), ==, 0);
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
