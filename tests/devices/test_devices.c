/* The phone, its packet-tunnel provider, the tunnel monitor and phone apps in a
 * small world (link delays one way):
 *
 *   phone en0 192.168.1.20 --5 ms-- ap (192.168.1.1, router) --5 ms-- core router
 *        core --10 ms-- relay 203.0.113.10 (ts_relay: wg :51820, gateway 10.64.0.1, NAT)
 *        core --10 ms-- server 198.51.100.20 (echo, UDP echo :7, TCP: GET server :80,
 *                                              echo server :7)
 *
 * The phone runs the OS model of sim/os (profile from models/os/), the provider
 * hosts the engine; every verdict comes from ts_policy_decide. The egress hook
 * records each packet that leaves a physical interface with its origin. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ts_native.h"
#include "ts_wire.h"
#include "tstest.h"
#include "tstest_net.h"
#include "tstest_phone.h"

#ifndef TS_DEVICES_OUT_DIR
#define TS_DEVICES_OUT_DIR "."
#endif

#define L_PHONE_AP (5 * TS_MS)
#define L_AP_CORE (5 * TS_MS)
#define L_CORE_RELAY (10 * TS_MS)
#define L_CORE_SERVER (10 * TS_MS)
#define RTT_GATEWAY (2 * (L_PHONE_AP + L_AP_CORE + L_CORE_RELAY))
#define RTT_SERVER_TUNNEL (RTT_GATEWAY + 2 * (L_CORE_RELAY + L_CORE_SERVER))
#define RTT_SERVER_PLAIN (2 * (L_PHONE_AP + L_AP_CORE + L_CORE_SERVER))
#define MAX_EGRESS 512

typedef struct opts {
  const char *profile;       /* file in models/os, e.g. "ios-18" */
  bool ian;
  bool with_provider;
  ts_provider_completion completion;
  ts_time settings_delay;
  bool use_monitor;
  ts_monitor_path path;
  ts_provider_error_mode error_mode;
  const char *pcap, *jsonl;  /* NULL: none */
} opts;

/* The egress of the world built last (one world at a time). */
static ts_bed_egress egress_log[MAX_EGRESS];

/* The bed with the server's echo and web servers, in b->w (a test may reset and
 * build again in the same world); the trace's sinks open first, so they see it all. */
static int build(ts_bed *b, const opts *o) {
  ts_world *w = b->w;
  if (o->pcap && ts_trace_open_pcapng(ts_world_trace(w), o->pcap)) return -1;
  if (o->jsonl && ts_trace_open_jsonl(ts_world_trace(w), o->jsonl)) return -1;
  ts_bed_opts bo = {.udp_echo = true, .tcp_servers = true, .profile = o->profile, .ian = o->ian,
                    .no_provider = !o->with_provider,
                    .provider = {.persistent_keepalive_s = 25,
                                 .settings_delay = o->settings_delay,
                                 .completion = o->completion,
                                 .use_monitor = o->use_monitor,
                                 .monitor = {.path = o->path},
                                 .error_mode = o->error_mode},
                    .egress_log = egress_log, .egress_cap = MAX_EGRESS};
  return ts_bed_build(b, w, &bo) ? -1 : 0;
}

/* Lines of a JSON Lines trace containing every one of the (up to 3) needles. */
static int jsonl_count(const char *path, const char *n1, const char *n2, const char *n3) {
  FILE *f = fopen(path, "r");
  if (!f) return -1;
  char line[2048];
  int count = 0;
  while (fgets(line, sizeof line, f)) {
    if (n1 && !strstr(line, n1)) continue;
    if (n2 && !strstr(line, n2)) continue;
    if (n3 && !strstr(line, n3)) continue;
    count++;
  }
  fclose(f);
  return count;
}

static bool is_tunnel_udp(const ts_bed *b, const ts_bed_egress *r) {
  return ts_bed_is_tunnel_udp(b, &r->info, &r->o);
}

static void finish(ts_bed *b) {
  ts_trace_close_sinks(ts_world_trace(b->w));
}

/* ---------------------------------------------------------------- (a), (e) */

TS_TEST(connected_app_ping_goes_through_the_tunnel_and_tshark_decrypts_it) {
  static ts_bed b;
  memset(&b, 0, sizeof b);
  const char *pcap = TS_DEVICES_OUT_DIR "/devices.pcapng";
  const char *jsonl = TS_DEVICES_OUT_DIR "/devices.jsonl";
  opts o = {.profile = "ios-18", .ian = false, .with_provider = true, .pcap = pcap, .jsonl = jsonl};
  TS_CHECK(ts_world_create(&b.w, &ts_native_backend, 7) == TS_OK);
  TS_CHECK_INT(build(&b, &o), ==, 0);
  TS_CHECK_INT(ts_provider_start(b.prov, TS_START_APP), ==, TS_OK);
  ts_phone_app *app = ts_bed_add_ping(&b, "ping-server", &b.server_addr, 2 * TS_SEC, 3);
  ts_phone_app *udp = NULL;
  ts_phone_app_config uc = {.name = "udp-app", .kind = TS_PHONE_APP_UDP_REQUEST, .owner = TS_TC_APP,
                            .api = TS_SOCK_NWCONNECTION, .target = b.server_addr, .port = 7,
                            .start = 6 * TS_SEC, .interval = TS_SEC, .count = 2, .size = 40};
  TS_CHECK_INT(ts_phone_add_app(b.ph, &uc, &udp), ==, TS_OK);
  TS_CHECK(app != NULL);
  TS_CHECK_INT(ts_world_run_until(b.w, 20 * TS_SEC), ==, TS_OK);

  TS_CHECK_INT(ts_vpn_session_status(ts_phone_session(b.ph)), ==, TS_VPN_CONNECTED);
  ts_phone_app_stats st;
  ts_phone_app_get_stats(app, &st);
  TS_CHECK_INT(st.sent, ==, 3);
  TS_CHECK_INT(st.received, ==, 3);
  TS_CHECK_INT(st.rtt_max, ==, RTT_SERVER_TUNNEL);
  TS_CHECK_INT(st.last_verdict.kind, ==, TS_VERDICT_TUNNEL);
  TS_CHECK_INT(st.last_verdict.rule, ==, TS_RULE_VPN_INCLUDED);
  ts_phone_app_get_stats(udp, &st);
  TS_CHECK_INT(st.received, ==, 2);
  TS_CHECK_INT(st.rtt_min, ==, RTT_SERVER_TUNNEL);

  /* en0 carried only the provider's UDP to the relay. */
  TS_CHECK_INT(b.egress_logged, >, 5);
  for (uint32_t i = 0; i < b.egress_logged; i++) TS_CHECK(is_tunnel_udp(&b, &b.egress_log[i]));
  ts_phone_stats ps;
  ts_phone_get_stats(b.ph, &ps);
  TS_CHECK_INT(ps.tx_tunnel, ==, 5);
  TS_CHECK_INT(ps.rx_tunnel, ==, 5);
  TS_CHECK_INT(ps.dropped + ps.silent_failed + ps.unclaimed + ps.arrival_dropped, ==, 0);
  ts_relay_stats rs;
  ts_relay_get_stats(b.relay, &rs);
  TS_CHECK_INT(rs.nat_out, ==, 5);
  TS_CHECK_INT(ts_packet_pool_outstanding(ts_world_pool(b.w)), ==, 0);
  finish(&b);
  ts_world_destroy(b.w);

  /* utun0 carries the inner ICMP both ways; en0 nothing but tunnel UDP. */
  TS_CHECK_INT(jsonl_count(jsonl, "\"if\":\"phone/utun0\"", "icmp 10.64.0.2 > 198.51.100.20", NULL), ==, 3);
  TS_CHECK_INT(jsonl_count(jsonl, "\"if\":\"phone/utun0\"", "icmp 198.51.100.20 > 10.64.0.2", NULL), ==, 3);
  TS_CHECK_INT(jsonl_count(jsonl, "\"if\":\"phone/en0\"", "icmp", NULL), ==, 0);
  TS_CHECK_INT(jsonl_count(jsonl, "\"if\":\"phone/en0\"", "\"ev\":\"tx\"", NULL), ==,
               jsonl_count(jsonl, "\"if\":\"phone/en0\"", "\"ev\":\"tx\"", "udp 192.168.1.20:"));

  if (!ts_test_need_tshark(__FILE__, __LINE__)) return;
  int errors = ts_test_tshark_count(pcap, "wg.decryption_error || wg.bad_packet_length");
  int inner = ts_test_tshark_count(pcap, "wg && icmp && ip.dst == 198.51.100.20");
  int on_utun = ts_test_tshark_count(pcap, "frame.interface_name == \"phone/utun0\" && icmp");
  int on_en0 = ts_test_tshark_count(pcap, "frame.interface_name == \"phone/en0\" && wg");
  int on_relay = ts_test_tshark_count(pcap, "frame.interface_name == \"relay/eth0\" && wg");
  printf("pcapng %s: %d decryption errors, inner icmp %d, utun0 icmp %d, en0 wg %d, relay wg %d\n",
         pcap, errors, inner, on_utun, on_en0, on_relay);
  TS_CHECK_INT(errors, ==, 0);
  TS_CHECK_INT(inner, >, 0);
  TS_CHECK_INT(on_utun, ==, 6);
  TS_CHECK_INT(on_en0, >, 0);
  TS_CHECK_INT(on_relay, >, 0);
}

/* ---------------------------------------------------------------- (b) GT-09 */

typedef struct gt09 {
  uint32_t mon_sent, mon_replies, silent, app_received, gateway_echoes;
  uint32_t tx_tunnel;
} gt09;

static int run_gt09(const char *profile, bool ian, ts_monitor_path path, gt09 *out,
                    const char *jsonl) {
  static ts_bed b;
  memset(&b, 0, sizeof b);
  memset(out, 0, sizeof *out);
  opts o = {.profile = profile, .ian = ian, .with_provider = true, .use_monitor = true,
            .path = path, .jsonl = jsonl};
  if (ts_world_create(&b.w, &ts_native_backend, 9) != TS_OK) return -1;
  int rc = build(&b, &o);
  if (!rc) rc = ts_provider_start(b.prov, TS_START_APP);
  ts_phone_app *app = rc ? NULL : ts_bed_add_ping(&b, "other-app", &b.gateway, 2 * TS_SEC, 3);
  if (!app) rc = -1;
  if (!rc) rc = ts_world_run_until(b.w, 30 * TS_SEC + 500 * TS_MS);
  if (!rc) {
    ts_monitor_stats ms;
    ts_monitor_get_stats(ts_provider_monitor(b.prov), &ms);
    out->mon_sent = ms.pings_sent;
    out->mon_replies = ms.replies;
    ts_phone_stats ps;
    ts_phone_get_stats(b.ph, &ps);
    out->silent = (uint32_t)ps.silent_failed;
    out->tx_tunnel = (uint32_t)ps.tx_tunnel;
    ts_phone_app_stats as;
    ts_phone_app_get_stats(app, &as);
    out->app_received = as.received;
    ts_relay_stats rs;
    ts_relay_get_stats(b.relay, &rs);
    out->gateway_echoes = (uint32_t)rs.gateway_echoes;
    for (uint32_t i = 0; i < b.egress_logged; i++)
      if (!is_tunnel_udp(&b, &b.egress_log[i])) rc = -2;
    /* Stop the provider and let the last pings land: nothing may stay outstanding. */
    if (ts_provider_stop(b.prov, TS_STOP_USER_INITIATED) || ts_world_run_until(b.w, 32 * TS_SEC))
      rc = -4;
    if (ts_vpn_session_status(ts_phone_session(b.ph)) != TS_VPN_DISCONNECTED) rc = -5;
    if (ts_packet_pool_outstanding(ts_world_pool(b.w)) != 0) rc = -3;
  }
  finish(&b);
  ts_world_destroy(b.w);
  return rc;
}

TS_TEST(gt09_provider_utun_bound_ping_fails_silently_under_ian) {
  const char *jsonl = TS_DEVICES_OUT_DIR "/gt09.jsonl";
  gt09 r;
  TS_CHECK_INT(run_gt09("ios-17", true, TS_MONITOR_PATH_BSD_UTUN, &r, jsonl), ==, 0);
  TS_CHECK_INT(r.mon_sent, >=, 5);       /* sendto succeeded every time ... */
  TS_CHECK_INT(r.mon_replies, ==, 0);    /* ... and nothing ever came back */
  TS_CHECK_INT(r.silent, ==, r.mon_sent);
  TS_CHECK_INT(r.tx_tunnel, ==, 3);      /* utun0 saw the other app's pings only */
  TS_CHECK_INT(r.gateway_echoes, ==, 3);
  TS_CHECK_INT(r.app_received, ==, 3);   /* another app reaches 10.64.0.1 */
  TS_CHECK_INT(jsonl_count(jsonl, "\"ev\":\"phone-silent-fail\"", "ian-provider-silent-fail",
                           "quirk ian-provider-tunnel-sockets-silent-fail=true"), ==, (int)r.mon_sent);
  TS_CHECK_INT(jsonl_count(jsonl, "\"ev\":\"monitor\"", "unreachable", NULL), >=, 3); /* 4, 8, 15 s */
  TS_CHECK_INT(jsonl_count(jsonl, "\"ev\":\"monitor\"", "\"connected\"", NULL), ==, 0);

  /* Without includeAllNetworks the same socket works (scoped to utun). */
  TS_CHECK_INT(run_gt09("ios-17", false, TS_MONITOR_PATH_BSD_UTUN, &r, NULL), ==, 0);
  TS_CHECK_INT(r.mon_replies, >, 0);
  TS_CHECK_INT(r.mon_replies, ==, r.mon_sent);
  TS_CHECK_INT(r.silent, ==, 0);
  TS_CHECK_INT(r.app_received, ==, 3);
  TS_CHECK_INT(r.gateway_echoes, ==, 3 + r.mon_replies);
}

TS_TEST(gt09_hand_built_icmp_to_the_engine_works_with_and_without_ian) {
  gt09 r;
  for (int ian = 0; ian <= 1; ian++) {
    TS_CHECK_INT(run_gt09("ios-18", ian, TS_MONITOR_PATH_ENGINE, &r, NULL), ==, 0);
    TS_CHECK_INT(r.mon_sent, >=, 3);
    TS_CHECK_INT(r.mon_replies, ==, r.mon_sent);
    TS_CHECK_INT(r.silent, ==, 0);
    TS_CHECK_INT(r.tx_tunnel, ==, 3); /* hand-built packets bypass utun */
    TS_CHECK_INT(r.app_received, ==, 3);
  }
}

TS_TEST(gt11_nwconnection_on_virtual_interface_only_without_ian) {
  gt09 r;
  TS_CHECK_INT(run_gt09("ios-18", false, TS_MONITOR_PATH_NW_VIRTUAL, &r, NULL), ==, 0);
  TS_CHECK_INT(r.mon_replies, >, 0);
  TS_CHECK_INT(run_gt09("ios-18", true, TS_MONITOR_PATH_NW_VIRTUAL, &r, NULL), ==, 0);
  TS_CHECK_INT(r.mon_sent, ==, 0);  /* never ready: every send is refused (waiting) */
  TS_CHECK_INT(r.mon_replies, ==, 0);
  TS_CHECK_INT(r.app_received, ==, 3);
  /* iOS 17 has no virtualInterface: the monitor cannot be built. */
  static ts_bed b;
  memset(&b, 0, sizeof b);
  opts o = {.profile = "ios-17", .with_provider = true, .use_monitor = true,
            .path = TS_MONITOR_PATH_NW_VIRTUAL};
  TS_CHECK(ts_world_create(&b.w, &ts_native_backend, 1) == TS_OK);
  TS_CHECK_INT(build(&b, &o), ==, -1);
  ts_world_destroy(b.w);
}

/* ---------------------------------------------------------------- (c) */

TS_TEST(before_the_tunnel_an_app_ping_leaves_en0_in_plain_text) {
  static ts_bed b;
  memset(&b, 0, sizeof b);
  opts o = {.profile = "ios-18", .ian = false, .with_provider = true};
  TS_CHECK(ts_world_create(&b.w, &ts_native_backend, 3) == TS_OK);
  TS_CHECK_INT(build(&b, &o), ==, 0);
  ts_phone_app *app = ts_bed_add_ping(&b, "early", &b.server_addr, TS_SEC, 2);
  TS_CHECK(app != NULL);
  TS_CHECK_INT(ts_world_run_until(b.w, 5 * TS_SEC), ==, TS_OK);
  TS_CHECK_INT(b.egress_logged, ==, 2);
  for (uint32_t i = 0; i < b.egress_logged; i++) {
    const ts_bed_egress *r = &b.egress_log[i];
    TS_CHECK_INT(r->info.proto, ==, TS_IPPROTO_ICMP);
    TS_CHECK(ts_ipaddr_equal(&r->info.src, &(ts_ipaddr){4, {192, 168, 1, 20}}));
    TS_CHECK(ts_ipaddr_equal(&r->info.dst, &b.server_addr));
    TS_CHECK_INT(r->o.cls, ==, TS_TC_APP);
    TS_CHECK_INT(r->o.sock, ==, ts_phone_app_socket(app));
    TS_CHECK_INT(r->o.verdict.kind, ==, TS_VERDICT_PHYSICAL);
    TS_CHECK_INT(r->o.verdict.rule, ==, TS_RULE_SYSTEM_TABLE);
    TS_CHECK_INT(r->o.verdict.origin, ==, TS_ROUTE_DHCP_ROUTER);
    TS_CHECK_INT(r->o.session_status, ==, TS_VPN_DISCONNECTED);
  }
  ts_phone_app_stats st;
  ts_phone_app_get_stats(app, &st);
  TS_CHECK_INT(st.received, ==, 2);
  TS_CHECK_INT(st.rtt_max, ==, RTT_SERVER_PLAIN);
  TS_CHECK_INT(ts_packet_pool_outstanding(ts_world_pool(b.w)), ==, 0);
  ts_world_destroy(b.w);
}

/* ---------------------------------------------------------------- (d) GT-03 */

TS_TEST(gt03_ian_drops_app_traffic_while_connecting_and_reasserting) {
  static ts_bed b;
  memset(&b, 0, sizeof b);
  opts o = {.profile = "ios-18", .ian = true, .with_provider = true,
            .completion = TS_PROVIDER_COMPLETE_AFTER_HANDSHAKE, .settings_delay = 500 * TS_MS};
  TS_CHECK(ts_world_create(&b.w, &ts_native_backend, 5) == TS_OK);
  TS_CHECK_INT(build(&b, &o), ==, 0);
  TS_CHECK_INT(ts_provider_start(b.prov, TS_START_APP), ==, TS_OK);
  /* Connecting from 0 to settings (0.5 s) + one round trip to the relay. */
  ts_phone_app *early = ts_bed_add_ping(&b, "while-connecting", &b.server_addr, 100 * TS_MS, 5);
  TS_CHECK(early != NULL);
  TS_CHECK_INT(ts_world_run_until(b.w, 450 * TS_MS), ==, TS_OK);
  TS_CHECK_INT(ts_vpn_session_status(ts_phone_session(b.ph)), ==, TS_VPN_CONNECTING);
  TS_CHECK_INT(ts_world_run_until(b.w, 3 * TS_SEC), ==, TS_OK);
  TS_CHECK_INT(ts_vpn_session_status(ts_phone_session(b.ph)), ==, TS_VPN_CONNECTED);
  TS_CHECK_INT(ts_provider_set_reasserting(b.prov, true), ==, TS_OK);
  ts_phone_app *during = ts_bed_add_ping(&b, "while-reasserting", &b.server_addr, 3200 * TS_MS, 2);
  TS_CHECK(during != NULL);
  TS_CHECK_INT(ts_world_run_until(b.w, 5 * TS_SEC), ==, TS_OK);
  ts_phone_app_stats st;
  ts_phone_app_get_stats(during, &st);
  TS_CHECK_INT(st.received, ==, 0);
  TS_CHECK_INT(st.last_verdict.kind, ==, TS_VERDICT_DROP);
  TS_CHECK_INT(st.last_verdict.rule, ==, TS_RULE_IAN_NOT_CONNECTED_DROP);
  TS_CHECK_INT(ts_provider_set_reasserting(b.prov, false), ==, TS_OK);
  ts_phone_app *after = ts_bed_add_ping(&b, "after", &b.server_addr, 5500 * TS_MS, 2);
  TS_CHECK(after != NULL);
  TS_CHECK_INT(ts_world_run_until(b.w, 10 * TS_SEC), ==, TS_OK);

  ts_phone_app_get_stats(early, &st);
  /* Pings at 0.1 s (connecting: dropped), 1.1 and 2.1 s (tunnel), 3.1 and 4.1 s
   * (reasserting: dropped). */
  TS_CHECK_INT(st.received, ==, 2);
  ts_phone_app_get_stats(after, &st);
  TS_CHECK_INT(st.received, ==, 2);
  TS_CHECK_INT(st.last_verdict.rule, ==, TS_RULE_IAN_SCOPED_TO_TUNNEL);
  ts_phone_stats ps;
  ts_phone_get_stats(b.ph, &ps);
  TS_CHECK_INT(ps.dropped, ==, 1 + 2 + 2); /* 0.1; 3.1, 4.1; 3.2, 4.2 */
  /* The egress hook saw nothing but the provider's tunnel UDP, handshake included
   * while the session was connecting. */
  TS_CHECK_INT(b.egress_logged, >, 0);
  TS_CHECK_INT(b.egress_log[0].o.session_status, ==, TS_VPN_CONNECTING);
  for (uint32_t i = 0; i < b.egress_logged; i++) TS_CHECK(is_tunnel_udp(&b, &b.egress_log[i]));
  TS_CHECK_INT(ts_packet_pool_outstanding(ts_world_pool(b.w)), ==, 0);
  ts_world_destroy(b.w);
}

/* ---------------------------------------------------------------- GT-20 */

typedef struct err_result {
  uint32_t plain_icmp;    /* app ICMP leaving en0 */
  uint64_t discarded;     /* utun packets the provider discarded */
  uint32_t received;
  ts_verdict verdict;     /* of the last app send */
  ts_vpn_status status;
} err_result;

static int run_error_state(ts_provider_error_mode mode, err_result *r) {
  static ts_bed b;
  memset(&b, 0, sizeof b);
  memset(r, 0, sizeof *r);
  opts o = {.profile = "ios-18", .ian = false, .with_provider = true, .error_mode = mode};
  if (ts_world_create(&b.w, &ts_native_backend, 4) != TS_OK) return -1;
  int rc = build(&b, &o);
  if (!rc) rc = ts_provider_start(b.prov, TS_START_APP);
  if (!rc) rc = ts_world_run_until(b.w, 2 * TS_SEC);
  if (!rc) rc = ts_provider_enter_error_state(b.prov);
  ts_phone_app *app = rc ? NULL : ts_bed_add_ping(&b, "blocked?", &b.server_addr, 3 * TS_SEC, 2);
  if (!app) rc = -1;
  if (!rc) rc = ts_world_run_until(b.w, 6 * TS_SEC);
  if (!rc) {
    for (uint32_t i = 0; i < b.egress_logged; i++) {
      const ts_bed_egress *e = &b.egress_log[i];
      if (e->info.proto == TS_IPPROTO_ICMP && e->o.cls == TS_TC_APP) r->plain_icmp++;
      else if (!is_tunnel_udp(&b, e)) rc = -2;
    }
    ts_provider_stats ps;
    ts_provider_get_stats(b.prov, &ps);
    r->discarded = ps.utun_discarded;
    ts_phone_app_stats as;
    ts_phone_app_get_stats(app, &as);
    r->received = as.received;
    r->verdict = as.last_verdict;
    r->status = ts_vpn_session_status(ts_phone_session(b.ph));
    if (ts_packet_pool_outstanding(ts_world_pool(b.w)) != 0) rc = -3;
  }
  ts_world_destroy(b.w);
  return rc;
}

TS_TEST(gt20_error_state_with_routes_blackholes_without_routes_leaks) {
  err_result r;
  TS_CHECK_INT(run_error_state(TS_PROVIDER_ERROR_WITH_ROUTES, &r), ==, 0);
  TS_CHECK_INT(r.status, ==, TS_VPN_CONNECTED); /* the status stays up */
  TS_CHECK_INT(r.plain_icmp, ==, 0);
  TS_CHECK_INT(r.discarded, ==, 2);
  TS_CHECK_INT(r.received, ==, 0);
  TS_CHECK_INT(r.verdict.kind, ==, TS_VERDICT_TUNNEL);
  TS_CHECK_INT(run_error_state(TS_PROVIDER_ERROR_WITHOUT_ROUTES, &r), ==, 0);
  TS_CHECK_INT(r.status, ==, TS_VPN_CONNECTED);
  TS_CHECK_INT(r.plain_icmp, ==, 2); /* leaks: no routes, the system table decides */
  TS_CHECK_INT(r.received, ==, 2);
  TS_CHECK_INT(r.verdict.kind, ==, TS_VERDICT_PHYSICAL);
  TS_CHECK_INT(r.verdict.rule, ==, TS_RULE_SYSTEM_TABLE);
}

/* The leak oracle (origin-aware) and the byte-only observer at the access point see
 * the same packets leave en0 and must agree on how many were tunnel traffic; the
 * oracle must name the GT-20 leak by its mechanism. */
TS_TEST(leak_oracle_agrees_with_the_byte_only_observer) {
  static ts_bed b;
  memset(&b, 0, sizeof b);
  opts o = {.profile = "ios-18", .ian = false, .with_provider = true,
            .error_mode = TS_PROVIDER_ERROR_WITHOUT_ROUTES};
  TS_CHECK(ts_world_create(&b.w, &ts_native_backend, 6) == TS_OK);
  TS_CHECK_INT(build(&b, &o), ==, 0);
  TS_CHECK_INT(ts_leak_oracle_create(b.w, &b.oracle), ==, TS_OK);
  ts_wire_observer *wire;
  TS_CHECK_INT(ts_wire_observer_create(b.w, b.wifi_link, 1, &wire), ==, TS_OK);
  ts_relay_endpoint relay = {b.relay_addr, 51820};
  ts_leak_oracle_add_relay(b.oracle, &relay);
  ts_wire_observer_add_relay(wire, &relay);
  /* Before the tunnel: plain, but nobody asked for protection. */
  TS_CHECK(ts_bed_add_ping(&b, "early", &b.server_addr, 100 * TS_MS, 2) != NULL);
  TS_CHECK_INT(ts_world_run_until(b.w, 1500 * TS_MS), ==, TS_OK); /* pings at 0.1 s and 1.1 s */
  TS_CHECK_INT(ts_leak_oracle_count(b.oracle, TS_EGRESS_UNPROTECTED), ==, 2);
  /* Connected: only the tunnel leaves en0. */
  TS_CHECK_INT(ts_provider_start(b.prov, TS_START_APP), ==, TS_OK);
  TS_CHECK(ts_bed_add_ping(&b, "tunnelled", &b.server_addr, 2 * TS_SEC, 3) != NULL);
  TS_CHECK_INT(ts_world_run_until(b.w, 6 * TS_SEC), ==, TS_OK);
  TS_CHECK_INT(ts_leak_oracle_count(b.oracle, TS_EGRESS_LEAK), ==, 0);
  /* Error state without routes (GT-20): the protected user's pings leak. */
  TS_CHECK_INT(ts_provider_enter_error_state(b.prov), ==, TS_OK);
  TS_CHECK(ts_bed_add_ping(&b, "blocked?", &b.server_addr, 7 * TS_SEC, 2) != NULL);
  TS_CHECK_INT(ts_world_run_until(b.w, 10 * TS_SEC), ==, TS_OK);
  TS_CHECK_INT(ts_leak_oracle_count(b.oracle, TS_EGRESS_LEAK), ==, 2);
  TS_CHECK_INT(ts_leak_oracle_finding_count(b.oracle), ==, 1);
  const ts_leak_finding *f = ts_leak_oracle_finding(b.oracle, 0);
  TS_CHECK_STR(ts_leak_kind_name(f->kind), "no-tunnel-route");
  TS_CHECK_INT(f->packets, ==, 2);
  TS_CHECK_STR(f->iface, "en0");
  uint64_t tunnel = ts_leak_oracle_count(b.oracle, TS_EGRESS_TUNNEL);
  uint64_t other = ts_leak_oracle_count(b.oracle, TS_EGRESS_EXEMPT) +
                   ts_leak_oracle_count(b.oracle, TS_EGRESS_UNPROTECTED) +
                   ts_leak_oracle_count(b.oracle, TS_EGRESS_LEAK);
  TS_CHECK(tunnel > 0);
  TS_CHECK_INT(ts_wire_observer_count(wire, TS_WIRE_TUNNEL), ==, tunnel);
  TS_CHECK_INT(ts_wire_observer_count(wire, TS_WIRE_CLEAR) + ts_wire_observer_count(wire, TS_WIRE_CONTROL),
               ==, other);
  finish(&b);
}

TS_TEST(stop_and_restart_launches_a_new_provider_process) {
  static ts_bed b;
  memset(&b, 0, sizeof b);
  opts o = {.profile = "ios-18", .with_provider = true};
  TS_CHECK(ts_world_create(&b.w, &ts_native_backend, 6) == TS_OK);
  TS_CHECK_INT(build(&b, &o), ==, 0);
  TS_CHECK_INT(ts_provider_start(b.prov, TS_START_APP), ==, TS_OK);
  TS_CHECK_INT(ts_world_run_until(b.w, 2 * TS_SEC), ==, TS_OK);
  TS_CHECK(ts_provider_wgdev(b.prov) != NULL);
  TS_CHECK_INT(ts_provider_stop(b.prov, TS_STOP_USER_INITIATED), ==, TS_OK);
  TS_CHECK_INT(ts_world_run_until(b.w, 3 * TS_SEC), ==, TS_OK);
  TS_CHECK_INT(ts_vpn_session_status(ts_phone_session(b.ph)), ==, TS_VPN_DISCONNECTED);
  TS_CHECK(ts_provider_wgdev(b.prov) == NULL);
  TS_CHECK(!ts_provider_running(b.prov));
  TS_CHECK_INT(ts_provider_start(b.prov, TS_START_APP), ==, TS_OK);
  ts_phone_app *app = ts_bed_add_ping(&b, "again", &b.server_addr, 4 * TS_SEC, 2);
  TS_CHECK_INT(ts_world_run_until(b.w, 8 * TS_SEC), ==, TS_OK);
  ts_provider_stats s;
  ts_provider_get_stats(b.prov, &s);
  TS_CHECK_INT(s.launches, ==, 2);
  TS_CHECK_INT(s.handshakes, ==, 2);
  ts_phone_app_stats st;
  ts_phone_app_get_stats(app, &st);
  TS_CHECK_INT(st.received, ==, 2);
  TS_CHECK_INT(ts_packet_pool_outstanding(ts_world_pool(b.w)), ==, 0);
  ts_world_destroy(b.w);
}

/* ---------------------------------------------------------------- (f) */

static void hash_run(ts_bed *b, char out[TS_TRACE_HASH_HEX]) {
  opts o = {.profile = "ios-18", .ian = true, .with_provider = true, .use_monitor = true,
            .path = TS_MONITOR_PATH_ENGINE};
  if (build(b, &o) || ts_provider_start(b->prov, TS_START_APP) ||
      !ts_bed_add_ping(b, "p", &b->server_addr, TS_SEC, 5)) {
    strcpy(out, "build failed");
    return;
  }
  ts_world_run_until(b->w, 20 * TS_SEC);
  ts_trace_hash_hex(ts_world_trace(b->w), out);
}

TS_TEST(same_seed_same_trace_hash_after_reset) {
  static ts_bed b;
  memset(&b, 0, sizeof b);
  char h1[TS_TRACE_HASH_HEX], h2[TS_TRACE_HASH_HEX], h3[TS_TRACE_HASH_HEX];
  TS_CHECK(ts_world_create(&b.w, &ts_native_backend, 21) == TS_OK);
  hash_run(&b, h1);
  TS_CHECK_INT(ts_world_reset(b.w, 21), ==, TS_OK);
  TS_CHECK_INT(ts_packet_pool_outstanding(ts_world_pool(b.w)), ==, 0);
  hash_run(&b, h2);
  TS_CHECK_STR(h1, h2);
  TS_CHECK_INT(ts_world_reset(b.w, 22), ==, TS_OK);
  hash_run(&b, h3);
  TS_CHECK(strcmp(h1, h3) != 0);
  ts_world_destroy(b.w);
}

/* ---------------------------------------------------------------- GT-01, GT-02 */

/* A long-lived TCP app connects at 0.5 s, before the tunnel; the VPN starts at 2 s;
 * short fetches (BSD at 4 and 6 s, NWConnection at 5 s) start after it is up. */
#define TCP_VPN_START (2 * TS_SEC)
#define TCP_LONG_WRITES 40
#define TCP_LONG_SIZE 100
#define TCP_FETCH_SIZE 3000
#define TCP_DATA_RETRIES 4 /* the long app gives up after 1+2+4+8+16 s without an ACK */

typedef struct tcp_run {
  ts_phone_app_stats lng, shrt, nw;
  ts_sock_id long_first;               /* the long app's first connection */
  uint32_t long_plain_before;          /* its segments on en0 before the VPN started */
  uint32_t long_plain_after;           /* ... after, all pre_tunnel by preexisting-keeps-path */
  uint32_t long_after_odd;             /* ... after, but not pre_tunnel or another rule */
  uint32_t other_plain;                /* any other non-tunnel egress */
  ts_phone_stats ps;
  ts_tcp_server_stats web, echo;
  uint64_t leak_packets, unprotected;
  size_t findings;
  ts_leak_kind finding_kind;
  ts_os_rule finding_rule;
  uint64_t finding_packets;
  int utun_fetch_segments;             /* TCP to :80 traced tx on phone/utun0 */
  int preexisting_drops;               /* phone-drop events by ian-preexisting-drop */
  char hash[TS_TRACE_HASH_HEX];
} tcp_run;

static int run_tcp(bool ian, uint64_t seed, const char *jsonl, tcp_run *r) {
  static ts_bed b;
  memset(&b, 0, sizeof b);
  memset(r, 0, sizeof *r);
  opts o = {.profile = "ios-18", .ian = ian, .with_provider = true, .jsonl = jsonl};
  if (ts_world_create(&b.w, &ts_native_backend, seed) != TS_OK) return -1;
  int rc = build(&b, &o);
  if (!rc) rc = ts_leak_oracle_create(b.w, &b.oracle);
  ts_relay_endpoint relay = {b.relay_addr, TS_RELAY_DEFAULT_PORT};
  if (!rc) rc = ts_leak_oracle_add_relay(b.oracle, &relay);
  ts_tcp_config tk = {.data_retries = TCP_DATA_RETRIES};
  ts_phone_app_config lc = {.name = "push", .kind = TS_PHONE_APP_TCP_LONG, .owner = TS_TC_APP,
                            .api = TS_SOCK_BSD, .target = b.server_addr, .port = 7,
                            .start = 500 * TS_MS, .interval = TS_SEC, .count = TCP_LONG_WRITES,
                            .size = TCP_LONG_SIZE, .tcp = &tk, .reconnect = true};
  ts_phone_app_config sc = {.name = "fetch", .kind = TS_PHONE_APP_TCP_SHORT, .owner = TS_TC_APP,
                            .api = TS_SOCK_BSD, .target = b.server_addr, .port = 80,
                            .start = 4 * TS_SEC, .interval = 2 * TS_SEC, .count = 2,
                            .size = TCP_FETCH_SIZE};
  ts_phone_app_config nc = sc;
  nc.name = "fetch-nw";
  nc.api = TS_SOCK_NWCONNECTION;
  nc.start = 5 * TS_SEC;
  nc.count = 1;
  ts_phone_app *lng = NULL, *shrt = NULL, *nw = NULL;
  if (!rc) rc = ts_phone_add_app(b.ph, &lc, &lng);
  if (!rc) rc = ts_phone_add_app(b.ph, &sc, &shrt);
  if (!rc) rc = ts_phone_add_app(b.ph, &nc, &nw);
  if (!rc) rc = ts_world_run_until(b.w, TCP_VPN_START);
  if (!rc) {
    r->long_first = ts_phone_app_socket(lng);
    rc = ts_provider_start(b.prov, TS_START_APP);
  }
  if (!rc) rc = ts_world_run_until(b.w, 60 * TS_SEC);
  if (rc) {
    ts_world_destroy(b.w);
    return rc;
  }
  ts_phone_app_get_stats(lng, &r->lng);
  ts_phone_app_get_stats(shrt, &r->shrt);
  ts_phone_app_get_stats(nw, &r->nw);
  for (uint32_t i = 0; i < b.egress_logged; i++) {
    const ts_bed_egress *e = &b.egress_log[i];
    if (is_tunnel_udp(&b, e)) continue;
    bool long_seg = e->info.proto == TS_IPPROTO_TCP && e->o.sock == r->long_first &&
                    ts_ipaddr_equal(&e->info.src, &(ts_ipaddr){4, {192, 168, 1, 20}}) &&
                    e->info.dport == 7 && e->o.verdict.kind == TS_VERDICT_PHYSICAL;
    if (!long_seg) r->other_plain++;
    else if (e->t < TCP_VPN_START) r->long_plain_before++;
    else if (e->o.pre_tunnel && e->o.verdict.rule == TS_RULE_PREEXISTING_KEEPS_PATH &&
             e->o.verdict.iface == ts_phone_iface(b.ph, "en0"))
      r->long_plain_after++;
    else r->long_after_odd++;
  }
  ts_phone_get_stats(b.ph, &r->ps);
  ts_tcp_server_get_stats(b.web, &r->web);
  ts_tcp_server_get_stats(b.tcp_echo, &r->echo);
  r->leak_packets = ts_leak_oracle_count(b.oracle, TS_EGRESS_LEAK);
  r->unprotected = ts_leak_oracle_count(b.oracle, TS_EGRESS_UNPROTECTED);
  r->findings = ts_leak_oracle_finding_count(b.oracle);
  if (r->findings) {
    const ts_leak_finding *f = ts_leak_oracle_finding(b.oracle, 0);
    r->finding_kind = f->kind;
    r->finding_rule = f->rule;
    r->finding_packets = f->packets;
  }
  ts_trace_hash_hex(ts_world_trace(b.w), r->hash);
  if (ts_packet_pool_outstanding(ts_world_pool(b.w)) != 0) rc = -3;
  finish(&b);
  ts_world_destroy(b.w);
  if (jsonl) {
    r->utun_fetch_segments = jsonl_count(jsonl, "\"ev\":\"tx\",\"if\":\"phone/utun0\"", ":80\"", NULL);
    r->preexisting_drops = jsonl_count(jsonl, "\"ev\":\"phone-drop\"", "ian-preexisting-drop", NULL);
  }
  return rc;
}

static void print_tcp_run(const char *what, const tcp_run *r) {
  printf("%s: long sent %u recv %u echoed %llu est %u opened %u closed fin %u rst %u to %u ab %u "
         "senderr %u | short recv %u bytes %llu closed fin %u | nw recv %u bytes %llu | plain "
         "before %u after %u odd %u other %u | dropped %llu tx_tunnel %llu | leak %llu unprot %llu "
         "findings %zu kind %d | utun fetch %d drops %d | web req %llu echo acc %llu\n",
         what, r->lng.sent, r->lng.received, (unsigned long long)r->lng.bytes_echoed,
         r->lng.tcp_established, r->lng.tcp_opened, r->lng.tcp_closed[TS_TCP_REASON_FIN],
         r->lng.tcp_closed[TS_TCP_REASON_RESET], r->lng.tcp_closed[TS_TCP_REASON_TIMEOUT],
         r->lng.tcp_closed[TS_TCP_REASON_ABORTED], r->lng.send_errors, r->shrt.received,
         (unsigned long long)r->shrt.bytes_received, r->shrt.tcp_closed[TS_TCP_REASON_FIN],
         r->nw.received, (unsigned long long)r->nw.bytes_received, r->long_plain_before,
         r->long_plain_after, r->long_after_odd, r->other_plain,
         (unsigned long long)r->ps.dropped, (unsigned long long)r->ps.tx_tunnel,
         (unsigned long long)r->leak_packets, (unsigned long long)r->unprotected, r->findings,
         (int)r->finding_kind, r->utun_fetch_segments, r->preexisting_drops,
         (unsigned long long)r->web.requests, (unsigned long long)r->echo.accepted);
}

/* What both runs share: the long connection's life before the tunnel, and the
 * fetches through the tunnel. Per fetch the phone sends SYN, ACK+GET, two ACKs and
 * FIN+ACK (3000 bytes come as 1380 + 1380 + 240+FIN: the MSS follows utun's
 * automatic MTU 1500 - 80), all on utun0; en0 carries none of it. */
static void check_tcp_common(const tcp_run *r) {
  /* SYN at 0.5 s; ACK with the first write; the echo's ACK; the 1.5 s write and its ACK. */
  TS_CHECK_INT(r->long_plain_before, ==, 5);
  TS_CHECK_INT(r->unprotected, ==, 5);  /* before the first start nobody asked for protection */
  TS_CHECK_INT(r->other_plain, ==, 0);  /* en0: the long connection and tunnel UDP only */
  TS_CHECK_INT(r->long_after_odd, ==, 0);
  TS_CHECK_INT(r->lng.sent, ==, TCP_LONG_WRITES); /* every write accepted by the API */
  TS_CHECK_INT(r->lng.send_errors, ==, 0);
  TS_CHECK_INT(r->lng.content_errors, ==, 0);
  TS_CHECK_INT(r->lng.tcp_closed[TS_TCP_REASON_RESET], ==, 0);
  TS_CHECK_INT(r->lng.tcp_closed[TS_TCP_REASON_ABORTED], ==, 0);
  TS_CHECK_INT(r->lng.rtt_min, ==, RTT_SERVER_PLAIN);
  TS_CHECK_INT(r->shrt.tcp_opened, ==, 2);
  TS_CHECK_INT(r->shrt.tcp_established, ==, 2);
  TS_CHECK_INT(r->shrt.received, ==, 2);
  TS_CHECK_INT(r->shrt.bytes_received, ==, 2 * TCP_FETCH_SIZE);
  TS_CHECK_INT(r->shrt.bytes_sent, ==, 2 * strlen("GET 3000\n"));
  TS_CHECK_INT(r->shrt.content_errors, ==, 0);
  TS_CHECK_INT(r->shrt.tcp_closed[TS_TCP_REASON_FIN], ==, 2);
  TS_CHECK_INT(r->shrt.rtt_min, ==, 2 * RTT_SERVER_TUNNEL); /* handshake + request */
  TS_CHECK_INT(r->shrt.rtt_max, ==, 2 * RTT_SERVER_TUNNEL);
  TS_CHECK_INT(r->nw.received, ==, 1);
  TS_CHECK_INT(r->nw.bytes_received, ==, TCP_FETCH_SIZE);
  TS_CHECK_INT(r->nw.tcp_closed[TS_TCP_REASON_FIN], ==, 1);
  TS_CHECK_INT(r->web.requests, ==, 3);
  TS_CHECK_INT(r->web.responses_done, ==, 3);
  TS_CHECK_INT(r->utun_fetch_segments, ==, 3 * 5);
  TS_CHECK_INT(r->ps.unclaimed + r->ps.arrival_dropped + r->ps.send_errors, ==, 0);
}

TS_TEST(gt01_preexisting_tcp_keeps_leaking_without_ian) {
  tcp_run r, again;
  const char *jsonl = TS_DEVICES_OUT_DIR "/gt01.jsonl";
  TS_CHECK_INT(run_tcp(false, 11, jsonl, &r), ==, 0);
  print_tcp_run("gt01", &r);
  check_tcp_common(&r);
  /* The pre-existing connection keeps flowing on en0 from 192.168.1.20 for its whole
   * life: 38 rounds after the start (write and the echo's ACK), the last with FIN+ACK
   * and the final ACK: 37 * 2 + 3 segments, each pre_tunnel by preexisting-keeps-path. */
  TS_CHECK_INT(r.long_plain_after, ==, 37 * 2 + 3);
  TS_CHECK_INT(r.lng.tcp_opened, ==, 1);
  TS_CHECK_INT(r.lng.tcp_established, ==, 1);
  TS_CHECK_INT(r.lng.received, ==, TCP_LONG_WRITES);
  TS_CHECK_INT(r.lng.bytes_echoed, ==, TCP_LONG_WRITES * TCP_LONG_SIZE);
  TS_CHECK_INT(r.echo.bytes_received, ==, TCP_LONG_WRITES * TCP_LONG_SIZE);
  TS_CHECK_INT(r.lng.tcp_closed[TS_TCP_REASON_FIN], ==, 1);
  TS_CHECK_INT(r.lng.rtt_max, ==, 2 * RTT_SERVER_PLAIN); /* the first write waited for the handshake */
  /* The oracle names it: one finding, pre-existing-connection, every such segment. */
  TS_CHECK_INT(r.findings, ==, 1);
  TS_CHECK_STR(ts_leak_kind_name(r.finding_kind), "pre-existing-connection");
  TS_CHECK_INT(r.finding_rule, ==, TS_RULE_PREEXISTING_KEEPS_PATH);
  TS_CHECK_INT(r.finding_packets, ==, r.long_plain_after);
  TS_CHECK_INT(r.leak_packets, ==, r.long_plain_after);
  TS_CHECK_INT(r.ps.dropped, ==, 0);
  TS_CHECK_INT(r.ps.tx_tunnel, ==, 3 * 5);
  TS_CHECK_INT(jsonl_count(jsonl, "\"ev\":\"tx\",\"if\":\"phone/en0\"", "tcp 192.168.1.20:", NULL), ==,
               5 + 37 * 2 + 3);
  TS_CHECK_INT(jsonl_count(jsonl, "\"ev\":\"tx\",\"if\":\"phone/en0\"", ":80\"", NULL), ==, 0);
  /* Same seed, same run. */
  TS_CHECK_INT(run_tcp(false, 11, NULL, &again), ==, 0);
  TS_CHECK_STR(r.hash, again.hash);
  TS_CHECK_INT(run_tcp(false, 12, NULL, &again), ==, 0);
  TS_CHECK(strcmp(r.hash, again.hash) != 0);
}

TS_TEST(gt02_preexisting_tcp_is_not_closed_but_dropped_under_ian) {
  tcp_run r;
  const char *jsonl = TS_DEVICES_OUT_DIR "/gt02.jsonl";
  TS_CHECK_INT(run_tcp(true, 12, jsonl, &r), ==, 0);
  print_tcp_run("gt02", &r);
  check_tcp_common(&r);
  /* Not one segment of the old connection on en0 once the tunnel started, and no leak. */
  TS_CHECK_INT(r.long_plain_after, ==, 0);
  TS_CHECK_INT(r.leak_packets, ==, 0);
  TS_CHECK_INT(r.findings, ==, 0);
  /* Dropped by ian-preexisting-drop: the 31 writes from 2.5 to 32.5 s, and the
   * go-back-N retransmissions at 3.5, 5.5, 9.5 (one segment each) and 17.5 s (two:
   * 1600 bytes outstanding). The system neither resets nor closes it: its own
   * retransmission timer gives up after 1+2+4+8+16 s, at 33.5 s. */
  TS_CHECK_INT(r.ps.dropped, ==, 31 + 5);
  TS_CHECK_INT(r.preexisting_drops, ==, 31 + 5);
  TS_CHECK_INT(r.lng.tcp_closed[TS_TCP_REASON_TIMEOUT], ==, 1);
  TS_CHECK_INT(jsonl_count(jsonl, "\"t\":33500000000,\"ev\":\"tcp-closed\"", "#0\"", "timeout"), ==, 1);
  TS_CHECK_INT(jsonl_count(jsonl, "\"ev\":\"tx\",\"if\":\"phone/en0\"", "tcp 192.168.1.20:", NULL), ==, 5);
  /* The echoes stopped: the server heard only the two writes before the tunnel from
   * the old connection; then the app reconnected at its 33.5 s write, through the
   * tunnel, and its last 7 writes came back. */
  TS_CHECK_INT(r.lng.tcp_opened, ==, 2);
  TS_CHECK_INT(r.lng.tcp_established, ==, 2);
  TS_CHECK_INT(r.lng.received, ==, 2 + 7);
  TS_CHECK_INT(r.lng.bytes_echoed, ==, (2 + 7) * TCP_LONG_SIZE);
  TS_CHECK_INT(r.echo.bytes_received, ==, (2 + 7) * TCP_LONG_SIZE);
  TS_CHECK_INT(r.echo.accepted, ==, 2);
  TS_CHECK_INT(r.lng.tcp_closed[TS_TCP_REASON_FIN], ==, 1);
  TS_CHECK_INT(r.lng.rtt_max, ==, 2 * RTT_SERVER_TUNNEL); /* the reconnect's first write */
  /* utun0: the fetches, and the new connection: SYN, 6 rounds of write + ACK, and
   * the last round's write, FIN+ACK, ACK. */
  TS_CHECK_INT(r.ps.tx_tunnel, ==, 3 * 5 + 1 + 6 * 2 + 3);
}

/* ---------------------------------------------------------------- TCP sockets */

typedef struct tcp_probe {
  uint32_t connected, closed, fins;
  ts_tcp_reason why;
  uint64_t bytes;
} tcp_probe;

static void probe_connected(void *ctx, ts_sock_id sock) {
  (void)sock;
  ((tcp_probe *)ctx)->connected++;
}
static void probe_data(void *ctx, ts_sock_id sock, const uint8_t *data, size_t len) {
  (void)sock;
  (void)data;
  tcp_probe *p = ctx;
  p->bytes += len;
  if (!len) p->fins++;
}
static void probe_closed(void *ctx, ts_sock_id sock, ts_tcp_reason why) {
  (void)sock;
  tcp_probe *p = ctx;
  p->closed++;
  p->why = why;
}

TS_TEST(tcp_socket_close_aborts_refused_connect_and_waiting_nwconnection) {
  static ts_bed b;
  memset(&b, 0, sizeof b);
  opts o = {.profile = "ios-18", .ian = false, .with_provider = false};
  TS_CHECK(ts_world_create(&b.w, &ts_native_backend, 13) == TS_OK);
  TS_CHECK_INT(build(&b, &o), ==, 0);
  tcp_probe p1 = {0}, p2 = {0}, p3 = {0}, p4 = {0};
  ts_tcp_config keep = {.keepalive = true};
  ts_phone_socket_params sp = {.owner = TS_TC_APP, .proto = TS_IPPROTO_TCP, .api = TS_SOCK_BSD,
                               .remote = b.server_addr, .remote_port = 7,
                               .tcp = {probe_connected, probe_data, NULL, probe_closed},
                               .tcp_tmpl = &keep, .ctx = &p1};
  ts_sock_id s1, s2, s3, s4;
  TS_CHECK_INT(ts_phone_socket_open(b.ph, &sp, &s1), ==, TS_OK);
  TS_CHECK_INT(ts_phone_socket_local_id(b.ph, s1), ==, TS_PHONE_EPHEMERAL_FIRST);
  TS_CHECK_INT(ts_tcp_get_state(ts_phone_tcp_endpoint(b.ph, s1)), ==, TS_TCP_SYN_SENT);
  TS_CHECK_INT(ts_world_run_until(b.w, TS_SEC), ==, TS_OK);
  TS_CHECK_INT(p1.connected, ==, 1);
  TS_CHECK_INT(ts_phone_tcp_write(b.ph, s1, (const uint8_t *)"hello", 5), ==, 5);
  TS_CHECK_INT(ts_world_run_until(b.w, 2 * TS_SEC), ==, TS_OK);
  TS_CHECK_INT(p1.bytes, ==, 5);
  /* Closing the socket aborts the connection: RST to the server, on_closed now. */
  TS_CHECK_INT(ts_phone_socket_close(b.ph, s1), ==, TS_OK);
  TS_CHECK_INT(p1.closed, ==, 1);
  TS_CHECK_INT(p1.why, ==, TS_TCP_REASON_ABORTED);
  TS_CHECK(ts_phone_tcp_endpoint(b.ph, s1) == NULL);
  TS_CHECK_INT(ts_phone_socket_close(b.ph, s1), ==, TS_EINVAL);
  TS_CHECK_INT(ts_world_run_until(b.w, 3 * TS_SEC), ==, TS_OK);
  ts_tcp_server_stats es;
  ts_tcp_server_get_stats(b.tcp_echo, &es);
  TS_CHECK_INT(es.closed[TS_TCP_REASON_RESET], ==, 1);
  /* Nobody listens on :9: the server's RST refuses the connection. */
  sp.remote_port = 9;
  sp.ctx = &p2;
  TS_CHECK_INT(ts_phone_socket_open(b.ph, &sp, &s2), ==, TS_OK);
  TS_CHECK_INT(ts_world_run_until(b.w, 4 * TS_SEC), ==, TS_OK);
  TS_CHECK_INT(p2.closed, ==, 1);
  TS_CHECK_INT(p2.why, ==, TS_TCP_REASON_REFUSED);
  TS_CHECK_INT(p2.connected, ==, 0);
  /* An NWConnection required on utun0 has no path without a tunnel: it waits, with
   * no endpoint and nothing sent; tcp_close ends it. */
  uint32_t before = b.egress_logged;
  sp.api = TS_SOCK_NWCONNECTION;
  sp.required_if = "utun0";
  sp.remote_port = 7;
  sp.ctx = &p3;
  TS_CHECK_INT(ts_phone_socket_open(b.ph, &sp, &s3), ==, TS_OK);
  TS_CHECK_INT(ts_sock_nw_state(ts_phone_sockets(b.ph), s3), ==, TS_NW_WAITING);
  TS_CHECK(ts_phone_tcp_endpoint(b.ph, s3) == NULL);
  TS_CHECK_INT(ts_phone_tcp_write(b.ph, s3, (const uint8_t *)"x", 1), ==, TS_ESTATE);
  TS_CHECK_INT(ts_world_run_until(b.w, 5 * TS_SEC), ==, TS_OK);
  TS_CHECK_INT(b.egress_logged, ==, before);
  TS_CHECK_INT(ts_phone_tcp_close(b.ph, s3), ==, TS_OK);
  TS_CHECK_INT(p3.closed, ==, 1);
  TS_CHECK_INT(ts_sock_open_count(ts_phone_sockets(b.ph)), ==, 0);
  /* Apps validate TCP settings. */
  ts_phone_app_config bad = {.name = "bad", .kind = TS_PHONE_APP_TCP_LONG, .owner = TS_TC_APP,
                             .target = b.server_addr, .port = 0, .count = 1, .size = 10};
  TS_CHECK_INT(ts_phone_add_app(b.ph, &bad, NULL), ==, TS_EINVAL);
  bad.port = 7;
  bad.size = 2000;
  TS_CHECK_INT(ts_phone_add_app(b.ph, &bad, NULL), ==, TS_ERANGE);
  /* Destroying the phone destroys its live endpoints (keepalive timers pending). */
  sp.api = TS_SOCK_BSD;
  sp.required_if = NULL;
  sp.ctx = &p4;
  TS_CHECK_INT(ts_phone_socket_open(b.ph, &sp, &s4), ==, TS_OK);
  TS_CHECK_INT(ts_world_run_until(b.w, 6 * TS_SEC), ==, TS_OK);
  TS_CHECK_INT(p4.connected, ==, 1);
  TS_CHECK(ts_tcp_next_timer(ts_phone_tcp_endpoint(b.ph, s4)) != TS_TIME_NEVER);
  ts_phone_destroy(b.ph);
  TS_CHECK_INT(ts_world_run_until(b.w, 200 * TS_SEC), ==, TS_OK);
  TS_CHECK_INT(p4.closed, ==, 0);
  TS_CHECK_INT(ts_packet_pool_outstanding(ts_world_pool(b.w)), ==, 0);
  ts_world_destroy(b.w);
}
