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
#include <stdio.h>
#include <string.h>

#include "ts_appstore.h"
#include "ts_native.h"
#include "ts_os_profile_load.h"
#include "ts_provider.h"
#include "ts_relay.h"
#include "ts_tcp_server.h"
#include "tstest.h"
#include "tstest_net.h"

#ifndef TS_MODELS_OS_DIR
#define TS_MODELS_OS_DIR "models/os"
#endif

#define SETTINGS_DELAY (100 * TS_MS)
#define UPDATE_AT (10 * TS_SEC)
#define UPDATE_SIZE 100000u
#define INSTALL_TIME (5 * TS_SEC)
#define RETRY_AFTER_BOOT (30 * TS_SEC)

typedef struct bed {
  ts_world *w;
  ts_net *net;
  ts_phone *ph;
  ts_provider *prov;
  ts_appstore *store;
  ts_relay *relay;
  ts_ipaddr server;
  ts_sock_id app;
  uint32_t replies;          /* echo replies the app received */
  ts_time last_reply;
  uint32_t en0_app;          /* app packets that left en0 (outside the tunnel) */
  ts_time first_en0_app, last_en0_app;
} bed;

typedef struct opts {
  bool ian;
  bool stop_at_install;      /* lifecycle quirk update-stop-point = install */
  bool downloader_exempt;    /* OS quirk appstore-downloader-exempt */
  bool automatic;
} opts;

/* ----------------------------------------------------------------- world */

static void on_egress(void *ctx, int iface, const ts_packet *pkt, const ts_phone_origin *o) {
  bed *b = ctx;
  (void)iface;
  (void)pkt;
  if (o->cls != TS_TC_APP) return;
  ts_time now = ts_world_now(b->w);
  if (!b->en0_app++) b->first_en0_app = now;
  b->last_en0_app = now;
}

static void on_reply(void *ctx, ts_sock_id sock, const ts_ip_info *info, const uint8_t *payload,
                     uint32_t len, int iface) {
  bed *b = ctx;
  (void)sock;
  (void)info;
  (void)payload;
  (void)len;
  (void)iface;
  b->replies++;
  b->last_reply = ts_world_now(b->w);
}

/* The app: one datagram every second, for the life of the world. */
static void app_tick(void *obj, uint64_t arg) {
  bed *b = obj;
  (void)arg;
  if (ts_phone_socket_local_id(b->ph, b->app) == 0) { /* a reboot ended the app's process */
    ts_phone_socket_params sp = {.owner = TS_TC_APP, .proto = TS_IPPROTO_UDP, .api = TS_SOCK_BSD,
                                 .recv = on_reply, .ctx = b};
    ts_phone_socket_open(b->ph, &sp, &b->app);
  }
  ts_phone_send_udp(b->ph, b->app, &b->server, 7, (const uint8_t *)"hello", 5, NULL);
  ts_world_schedule_in(b->w, TS_SEC, app_tick, b, 0, NULL);
}

static int add_host(bed *b, ts_host *core, const char *name, const char *core_addr,
                    const char *addr, ts_host **out) {
  ts_ipprefix c = ts_test_prefix(core_addr), h = ts_test_prefix(addr);
  uint32_t ic, ih;
  ts_link_params lp = {.mtu = 1500, .queue_limit = 100, .up = true, .delay = 10 * TS_MS};
  ts_link_id l;
  if (ts_net_add_host(b->net, name, out) || ts_host_add_interface(core, name, &c, 1, &ic) ||
      ts_host_add_interface(*out, "eth0", &h, 1, &ih))
    return -1;
  return ts_net_connect(b->net, name, &lp, core, ic, *out, ih, &l) ? -1 : 0;
}

static int build_net(bed *b, ts_host **ap, uint32_t *ap_lan, const uint8_t relay_priv[WG_KEY_LEN],
                     const uint8_t phone_pub[WG_KEY_LEN]) {
  ts_host *core, *relay, *server, *store;
  if (ts_net_create(b->w, &b->net) || ts_net_add_host(b->net, "ap", ap) ||
      ts_net_add_host(b->net, "core", &core))
    return -1;
  ts_ipprefix lan = ts_test_prefix("192.168.1.1/24"), up = ts_test_prefix("10.0.0.2/30");
  ts_ipprefix cap = ts_test_prefix("10.0.0.1/30"), def = ts_test_prefix("0.0.0.0/0");
  ts_ipprefix lan_net = ts_test_prefix("192.168.1.0/24");
  uint32_t i_up, i_cap;
  ts_link_params lp = {.mtu = 1500, .queue_limit = 100, .up = true, .delay = 5 * TS_MS};
  ts_link_id l;
  if (ts_host_add_interface(*ap, "wlan0", &lan, 1, ap_lan) ||
      ts_host_add_interface(*ap, "eth0", &up, 1, &i_up) ||
      ts_host_add_interface(core, "eth0", &cap, 1, &i_cap) ||
      ts_net_connect(b->net, "ap-core", &lp, *ap, i_up, core, i_cap, &l) ||
      add_host(b, core, "relay", "203.0.113.1/24", "203.0.113.10/24", &relay) ||
      add_host(b, core, "server", "198.51.100.1/24", "198.51.100.20/24", &server) ||
      add_host(b, core, "appstore", "192.0.2.1/24", "192.0.2.50/24", &store))
    return -1;
  ts_host_set_forwarding(*ap, true);
  ts_host_set_forwarding(core, true);
  ts_host_add_route(*ap, &def, i_up);
  ts_host_add_route(core, &lan_net, i_cap);
  ts_app_config echo = {.name = "udp-echo", .kind = TS_NET_APP_UDP_ECHO_SERVER, .port = 7};
  ts_tcp_host *th;
  ts_tcp_server *srv;
  ts_tcp_server_config sc = {.name = "appstore", .port = 443, .mode = TS_TCP_SERVER_REQUEST};
  if (ts_net_add_app(b->net, server, &echo) || ts_tcp_host_create(store, &th) ||
      ts_tcp_server_create(th, &sc, &srv))
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
  return ts_relay_create(relay, &rc, &b->relay) ? -1 : 0;
}

static int build_phone(bed *b, const opts *o, ts_host *ap, uint32_t ap_lan) {
  ts_os_profile *prof = NULL;
  ts_diag diag;
  if (ts_os_profile_load_file(TS_MODELS_OS_DIR "/ios-18.yaml", &prof, &diag)) return -1;
  ts_os_profile_set_quirk(prof, TS_QUIRK_APPSTORE_DOWNLOADER_EXEMPT, o->downloader_exempt, TS_SRC_NONE);
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
  if (ts_phone_attach(b->ph, "en0", b->net, ap, ap_lan, &lp, &l) ||
      ts_phone_iface_set_up(b->ph, "en0", true) || ts_phone_apply_dhcp(b->ph, "en0", &lease) ||
      ts_phone_set_primary(b->ph, "en0") || ts_phone_vpn_set_enabled(b->ph, true))
    return -1;
  ts_vpn_config *vc = ts_phone_vpn_config(b->ph);
  if (ts_vpn_config_set_flag(vc, TS_FLAG_INCLUDE_ALL_NETWORKS, o->ian)) return -1;
  ts_vpn_config_set_on_demand(vc, true);
  ts_od_rule r;
  memset(&r, 0, sizeof r);
  r.action = TS_OD_CONNECT; /* Mullvad: one Connect rule, interfaceTypeMatch any */
  if (ts_vpn_config_add_on_demand_rule(vc, &r)) return -1;
  ts_phone_set_egress_hook(b->ph, on_egress, b);
  return ts_vpn_session_set_lifecycle_quirk(ts_phone_session(b->ph), TS_LQ_UPDATE_STOP_POINT,
                                            o->stop_at_install)
             ? -1
             : 0;
}

static int build_devices(bed *b, const opts *o, const uint8_t phone_priv[WG_KEY_LEN],
                         const uint8_t relay_pub[WG_KEY_LEN]) {
  ts_provider_config cfg;
  memset(&cfg, 0, sizeof cfg);
  memcpy(cfg.private_key, phone_priv, WG_KEY_LEN);
  memcpy(cfg.relay_public_key, relay_pub, WG_KEY_LEN);
  cfg.relay = ts_test_addr("203.0.113.10");
  ts_ipaddr tun = ts_test_addr("10.64.0.2");
  ts_provider_default_settings(&cfg.settings, &cfg.relay, &tun);
  cfg.settings_delay = SETTINGS_DELAY;
  cfg.completion = TS_PROVIDER_COMPLETE_AFTER_SETTINGS;
  cfg.memory = 8u << 20;
  ts_appstore_config ac = {.server = ts_test_addr("192.0.2.50"), .port = 443,
                           .size = UPDATE_SIZE, .attempt_timeout = 20 * TS_SEC,
                           .backoff_initial = 5 * TS_SEC, .backoff_max = 60 * TS_SEC,
                           .install_duration = INSTALL_TIME, .automatic = o->automatic,
                           .retry_after_boot = RETRY_AFTER_BOOT};
  ts_phone_socket_params sp = {.owner = TS_TC_APP, .proto = TS_IPPROTO_UDP, .api = TS_SOCK_BSD,
                               .recv = on_reply, .ctx = b};
  if (ts_provider_create(b->ph, &cfg, &b->prov) || ts_appstore_create(b->ph, &ac, &b->store) ||
      ts_phone_socket_open(b->ph, &sp, &b->app))
    return -1;
  return ts_world_schedule(b->w, TS_SEC, app_tick, b, 0, NULL) ? -1 : 0;
}

static int build(bed *b, const opts *o, uint64_t seed) {
  memset(b, 0, sizeof *b);
  b->server = ts_test_addr("198.51.100.20");
  if (ts_world_create(&b->w, &ts_native_backend, seed)) return -1;
  ts_rng keys;
  ts_world_rng(b->w, "test/keys", &keys);
  uint8_t phone_priv[WG_KEY_LEN], relay_priv[WG_KEY_LEN], phone_pub[WG_KEY_LEN], relay_pub[WG_KEY_LEN];
  ts_rng_fill(&keys, phone_priv, WG_KEY_LEN);
  ts_rng_fill(&keys, relay_priv, WG_KEY_LEN);
  wg_key_clamp(phone_priv);
  wg_key_clamp(relay_priv);
  if (wg_key_public_from_private(phone_pub, phone_priv) != WG_OK ||
      wg_key_public_from_private(relay_pub, relay_priv) != WG_OK)
    return -1;
  ts_host *ap;
  uint32_t ap_lan;
  if (build_net(b, &ap, &ap_lan, relay_priv, phone_pub) || build_phone(b, o, ap, ap_lan))
    return -1;
  return build_devices(b, o, phone_priv, relay_pub);
}

static ts_vpn_session *sess(bed *b) { return ts_phone_session(b->ph); }
static ts_vpn_status status(bed *b) { return ts_vpn_session_status(sess(b)); }
static int run_to(bed *b, ts_time t) { return ts_world_run_until(b->w, t); }
static ts_appstore_stats astats(bed *b) {
  ts_appstore_stats s;
  ts_appstore_get_stats(b->store, &s);
  return s;
}

/* Built, connected by on-demand on the app's first datagram (which itself left
 * before the tunnel), update begun at UPDATE_AT; 0 when all of that held. The en0
 * count starts again at the update. */
static int connected_then_update(bed *b, const opts *o, uint64_t seed) {
  if (build(b, o, seed) || run_to(b, UPDATE_AT)) return -1;
  if (status(b) != TS_VPN_CONNECTED || b->replies < 5 || b->last_en0_app > TS_SEC) return -2;
  b->en0_app = 0;
  b->first_en0_app = b->last_en0_app = 0;
  return ts_appstore_begin_update(b->store) ? -3 : 0;
}

/* Replies the app gets in the next `span` (the world runs on). */
static uint32_t replies_during(bed *b, ts_time span) {
  uint32_t before = b->replies;
  run_to(b, ts_world_now(b->w) + span);
  return b->replies - before;
}

/* ---------------------------------------------------------------- (a) GT-05 */

TS_TEST(gt05_without_ian_the_update_leaks_completes_and_the_tunnel_is_relaunched) {
  static bed b;
  opts o = {.ian = false};
  TS_CHECK_INT(connected_then_update(&b, &o, 1), ==, 0);
  /* SIGTERM with appUpdate at the update's first instant, before any download. */
  TS_CHECK_INT(ts_appstore_sigterm_at(b.store), ==, UPDATE_AT);
  TS_CHECK_INT(status(&b), ==, TS_VPN_DISCONNECTED);
  TS_CHECK_INT(ts_vpn_session_stop_reason(sess(&b)), ==, TS_STOP_APP_UPDATE);
  TS_CHECK_INT(ts_vpn_session_last_exit(sess(&b)), ==, TS_EXIT_SIGTERM);
  TS_CHECK_INT(ts_phone_app_state_get(b.ph), ==, TS_PHONE_APP_UPDATING);
  TS_CHECK_INT(run_to(&b, 60 * TS_SEC), ==, 0);
  ts_appstore_stats s = astats(&b);
  TS_CHECK_INT(ts_appstore_phase_get(b.store), ==, TS_APPSTORE_DONE);
  TS_CHECK_INT(s.attempts, ==, 1);
  TS_CHECK_INT(s.bytes_total, ==, UPDATE_SIZE);
  TS_CHECK_INT(s.installs, ==, 1);
  ts_time installed = ts_appstore_installed_at(b.store);
  TS_CHECK(installed >= UPDATE_AT + INSTALL_TIME && installed < UPDATE_AT + INSTALL_TIME + TS_SEC);
  /* The leak window: app packets on en0 between the SIGTERM and the relaunch, none after. */
  TS_CHECK_INT(b.en0_app, >=, 4);
  TS_CHECK(b.first_en0_app > UPDATE_AT && b.last_en0_app <= installed);
  /* Meanwhile on-demand could not relaunch the old bundle. */
  TS_CHECK_INT(ts_phone_launches_refused(b.ph), >=, 1);
  TS_CHECK(!ts_phone_on_demand_suspended(b.ph));
  /* The system relaunched it after the install, and the tunnel carries the app again. */
  TS_CHECK_INT(s.relaunches, ==, 1);
  TS_CHECK_INT(ts_vpn_session_start_cause(sess(&b)), ==, TS_START_UPDATE_RELAUNCH);
  TS_CHECK_INT(status(&b), ==, TS_VPN_CONNECTED);
  TS_CHECK_INT(ts_phone_app_state_get(b.ph), ==, TS_PHONE_APP_INSTALLED);
  uint32_t en0 = b.en0_app;
  TS_CHECK_INT(replies_during(&b, 10 * TS_SEC), >=, 9);
  TS_CHECK_INT(b.en0_app, ==, en0);
  ts_world_destroy(b.w);
}

/* ---------------------------------------------------------------- (b) GT-06 */

static int lockout(bed *b, const opts *o, uint64_t seed, ts_time until) {
  int rc = connected_then_update(b, o, seed);
  return rc ? rc : run_to(b, until);
}

TS_TEST(gt06_with_ian_the_download_never_completes_and_everything_is_dropped) {
  static bed b;
  opts o = {.ian = true};
  TS_CHECK_INT(lockout(&b, &o, 2, UPDATE_AT + 2 * TS_SEC), ==, 0);
  uint32_t replies = b.replies;
  TS_CHECK_INT(run_to(&b, 300 * TS_SEC), ==, 0);
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
  TS_CHECK_INT(status(&b), ==, TS_VPN_DISCONNECTED);
  TS_CHECK_INT(b.replies, ==, replies);
  TS_CHECK_INT(b.en0_app, ==, 0);
  ts_time at = 0;
  TS_CHECK(ts_phone_last_app_block(b.ph, &v, &at));
  TS_CHECK_INT(v.rule, ==, TS_RULE_IAN_ON_DEMAND_PENDING);
  TS_CHECK_INT(at, >=, 299 * TS_SEC);
  ts_world_destroy(b.w);
}

/* ---------------------------------------------------------- (c) recoveries */

TS_TEST(gt06_cancel_alone_does_not_recover_cancel_and_one_toggle_does) {
  static bed b;
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
  TS_CHECK_INT(ts_vpn_session_start_cause(sess(&b)), ==, TS_START_USER);
  TS_CHECK_INT(replies_during(&b, 10 * TS_SEC), >=, 9);
  TS_CHECK_INT(status(&b), ==, TS_VPN_CONNECTED);
  TS_CHECK_INT(b.en0_app, ==, 0);
  ts_world_destroy(b.w);
}

TS_TEST(gt06_toggling_twice_without_cancelling_stays_locked) {
  static bed b;
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
  static bed b;
  opts o = {.ian = true, .automatic = true};
  TS_CHECK_INT(lockout(&b, &o, 5, 60 * TS_SEC), ==, 0);
  TS_CHECK_INT(ts_phone_reboot(b.ph), ==, 0);
  TS_CHECK(!ts_phone_on_demand_suspended(b.ph));
  TS_CHECK_INT(ts_phone_app_state_get(b.ph), ==, TS_PHONE_APP_INSTALLED);
  TS_CHECK_INT(ts_appstore_phase_get(b.store), ==, TS_APPSTORE_IDLE);
  TS_CHECK_INT(ts_appstore_next_at(b.store), ==, 60 * TS_SEC + RETRY_AFTER_BOOT);
  TS_CHECK_INT(replies_during(&b, 20 * TS_SEC), >=, 18);
  TS_CHECK_INT(status(&b), ==, TS_VPN_CONNECTED);
  TS_CHECK_INT(ts_vpn_session_start_cause(sess(&b)), ==, TS_START_ON_DEMAND);
  /* retry_after_boot later the update begins again, and so does the lockout. */
  TS_CHECK_INT(run_to(&b, 60 * TS_SEC + RETRY_AFTER_BOOT + TS_SEC), ==, 0);
  TS_CHECK_INT(astats(&b).updates_begun, ==, 2);
  TS_CHECK_INT(ts_appstore_sigterm_at(b.store), ==, 60 * TS_SEC + RETRY_AFTER_BOOT);
  TS_CHECK_INT(replies_during(&b, 60 * TS_SEC), ==, 0);
  TS_CHECK(ts_phone_on_demand_suspended(b.ph));
  TS_CHECK(ts_appstore_waiting_for_connectivity(b.store));
  ts_world_destroy(b.w);
}

TS_TEST(without_automatic_updates_a_reboot_ends_the_update) {
  static bed b;
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
static int removal_replies(removal_fn remove, bool keeps_policy, uint64_t seed, bed *b) {
  opts o = {.ian = true};
  if (lockout(b, &o, seed, 60 * TS_SEC)) return -1;
  if (ts_vpn_session_set_lifecycle_quirk(sess(b), TS_LQ_CONFIG_REMOVAL_KEEPS_POLICY, keeps_policy) ||
      remove(b->ph))
    return -1;
  return (int)replies_during(b, 30 * TS_SEC);
}

TS_TEST(gt06_uninstall_does_not_recover_unless_removal_tears_down_the_policy) {
  static bed b;
  TS_CHECK_INT(removal_replies(ts_phone_uninstall_app, true, 7, &b), ==, 0);
  TS_CHECK_INT(ts_appstore_phase_get(b.store), ==, TS_APPSTORE_ABANDONED);
  TS_CHECK(!ts_phone_vpn_profile_present(b.ph));
  TS_CHECK_INT(status(&b), ==, TS_VPN_DISCONNECTED); /* still enforcing */
  /* The reboot applies the removal: no VPN, the app's datagrams go out en0. */
  TS_CHECK_INT(ts_phone_reboot(b.ph), ==, 0);
  TS_CHECK_INT(status(&b), ==, TS_VPN_INVALID);
  TS_CHECK_INT(replies_during(&b, 10 * TS_SEC), >=, 9);
  TS_CHECK_INT(b.en0_app, >=, 9);
  ts_world_destroy(b.w);
  TS_CHECK_INT(removal_replies(ts_phone_uninstall_app, false, 7, &b), >=, 29);
  TS_CHECK_INT(status(&b), ==, TS_VPN_INVALID);
  TS_CHECK_INT(ts_phone_app_state_get(b.ph), ==, TS_PHONE_APP_REMOVED);
  TS_CHECK_INT(ts_phone_vpn_start(b.ph, TS_START_APP), !=, 0);
  ts_world_destroy(b.w);
}

TS_TEST(gt06_profile_removal_does_not_recover_unless_removal_tears_down_the_policy) {
  static bed b;
  TS_CHECK_INT(removal_replies(ts_phone_remove_vpn_profile, true, 8, &b), ==, 0);
  TS_CHECK_INT(ts_phone_settings_toggle(b.ph), ==, TS_ENOENT); /* gone from Settings */
  TS_CHECK_INT(ts_appstore_attempts(b.store), >=, 3);           /* still trying, still dropped */
  TS_CHECK_INT(astats(&b).bytes_total, ==, 0);
  ts_world_destroy(b.w);
  TS_CHECK_INT(removal_replies(ts_phone_remove_vpn_profile, false, 8, &b), >=, 29);
  /* Without the VPN the download goes through at its next attempt; the relaunch
   * finds no configuration. */
  TS_CHECK_INT(run_to(&b, 200 * TS_SEC), ==, 0);
  ts_appstore_stats s = astats(&b);
  TS_CHECK_INT(s.installs, ==, 1);
  TS_CHECK_INT(s.relaunch_errors, ==, 1);
  TS_CHECK_INT(status(&b), ==, TS_VPN_INVALID);
  ts_world_destroy(b.w);
}

TS_TEST(removing_the_profile_of_a_connected_vpn_stops_it_at_once) {
  static bed b;
  opts o = {.ian = true};
  TS_CHECK_INT(build(&b, &o, 9), ==, 0);
  TS_CHECK_INT(run_to(&b, 5 * TS_SEC), ==, 0);
  TS_CHECK_INT(status(&b), ==, TS_VPN_CONNECTED);
  TS_CHECK_INT(ts_phone_remove_vpn_profile(b.ph), ==, 0);
  TS_CHECK_INT(run_to(&b, 6 * TS_SEC), ==, 0);
  TS_CHECK_INT(status(&b), ==, TS_VPN_INVALID);
  TS_CHECK_INT(ts_vpn_session_stop_reason(sess(&b)), ==, TS_STOP_CONFIGURATION_REMOVED);
  TS_CHECK(!ts_vpn_config_on_demand(ts_phone_vpn_config(b.ph)));
  TS_CHECK_INT(replies_during(&b, 10 * TS_SEC), >=, 9);
  ts_world_destroy(b.w);
}

/* --------------------------------------------------- (f) stop point install */

TS_TEST(stop_point_install_with_ian_downloads_through_the_tunnel_and_completes) {
  static bed b;
  opts o = {.ian = true, .stop_at_install = true};
  TS_CHECK_INT(connected_then_update(&b, &o, 10), ==, 0);
  TS_CHECK_INT(status(&b), ==, TS_VPN_CONNECTED); /* not yet SIGTERMed */
  ts_verdict v;
  TS_CHECK_INT(ts_phone_socket_last_verdict(b.ph, ts_appstore_socket(b.store), &v), ==, 0);
  TS_CHECK_INT(v.kind, ==, TS_VERDICT_TUNNEL);
  TS_CHECK_INT(v.rule, ==, TS_RULE_IAN_SCOPED_TO_TUNNEL);
  TS_CHECK_INT(run_to(&b, 60 * TS_SEC), ==, 0);
  ts_appstore_stats s = astats(&b);
  TS_CHECK_INT(s.attempts, ==, 1);
  TS_CHECK_INT(s.installs, ==, 1);
  ts_time term = ts_appstore_sigterm_at(b.store);
  TS_CHECK(term > UPDATE_AT && term < UPDATE_AT + 5 * TS_SEC);
  TS_CHECK_INT(ts_appstore_installed_at(b.store), ==, term + INSTALL_TIME);
  TS_CHECK_INT(s.relaunches, ==, 1);
  TS_CHECK_INT(status(&b), ==, TS_VPN_CONNECTED);
  TS_CHECK_INT(replies_during(&b, 10 * TS_SEC), >=, 9);
  TS_CHECK_INT(b.en0_app, ==, 0);
  ts_world_destroy(b.w);
}

/* ---------------------------------------------------- (g) exempt downloader */

TS_TEST(an_exempt_downloader_completes_outside_the_tunnel_under_ian) {
  static bed b;
  opts o = {.ian = true, .downloader_exempt = true};
  TS_CHECK_INT(connected_then_update(&b, &o, 11), ==, 0);
  TS_CHECK_INT(status(&b), ==, TS_VPN_DISCONNECTED);
  ts_verdict v;
  TS_CHECK_INT(ts_phone_socket_last_verdict(b.ph, ts_appstore_socket(b.store), &v), ==, 0);
  TS_CHECK_INT(v.kind, ==, TS_VERDICT_PHYSICAL);
  TS_CHECK_INT(v.rule, ==, TS_RULE_IAN_APPSTORE_EXEMPT);
  TS_CHECK_INT(run_to(&b, 60 * TS_SEC), ==, 0);
  ts_appstore_stats s = astats(&b);
  TS_CHECK_INT(s.attempts, ==, 1);
  TS_CHECK_INT(s.installs, ==, 1);
  TS_CHECK_INT(s.relaunches, ==, 1);
  TS_CHECK_INT(status(&b), ==, TS_VPN_CONNECTED);
  TS_CHECK_INT(replies_during(&b, 10 * TS_SEC), >=, 9);
  TS_CHECK_INT(b.en0_app, ==, 0); /* apps stayed blocked, not leaked, during the window */
  ts_world_destroy(b.w);
}

/* ------------------------------------------------------------ the API */

TS_TEST(appstore_rejects_bad_input_and_wrong_states) {
  static bed b;
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
  TS_CHECK_INT(run_to(&b, 30 * TS_SEC), ==, 0);
  ts_world_destroy(b.w);
}
