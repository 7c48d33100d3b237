/* Sockets and the session state machine (ios-model.md §1.3-§1.5, GT-09/10/11). */
#include "os_fixture.h"
#include "tstest.h"

#define SETUP(ph)                              \
  phone ph;                                    \
  TS_CHECK_INT(phone_init(&ph, NULL), ==, 0)

/* GT-09, MV-BLOG: the provider's ICMP socket bound to utun (IP_BOUND_IF) under IAN:
 * sendto succeeds, nothing is delivered; another app's ping works. */
TS_TEST(bsd_bound_if_silent_fail_MV_BLOG) {
  SETUP(ph);
  ts_vpn_config_set_flag(ph.config, TS_FLAG_INCLUDE_ALL_NETWORKS, true);
  vpn_connect(&ph);
  ts_sock_id pinger, app;
  TS_CHECK_INT(ts_sock_bsd_open(ph.socks, TS_TC_PROVIDER, TS_IPPROTO_ICMP, &pinger), ==, 0);
  TS_CHECK_INT(ts_sock_bsd_bind_if(ph.socks, pinger, ph.utun), ==, 0);
  ts_ipaddr gw = ts_test_addr("10.64.0.1");
  ts_sock_send_result r;
  TS_CHECK_INT(ts_sock_send(ph.socks, pinger, &gw, &r), ==, 0);
  TS_CHECK_INT(r.status, ==, TS_SOCK_OK);
  TS_CHECK_INT(r.verdict.kind, ==, TS_VERDICT_SILENT_FAIL);
  ts_verdict v;
  TS_CHECK_INT(ts_sock_arrival(ph.socks, pinger, &gw, ph.utun, &v), ==, 0);
  TS_CHECK_INT(ts_sock_bsd_open(ph.socks, TS_TC_APP, TS_IPPROTO_ICMP, &app), ==, 0);
  TS_CHECK_INT(ts_sock_send(ph.socks, app, &gw, &r), ==, 0);
  TS_CHECK_INT(r.verdict.kind, ==, TS_VERDICT_TUNNEL);
  TS_CHECK_INT(ts_sock_arrival(ph.socks, app, &gw, ph.utun, &v), ==, 1);
  /* Without IAN the provider's ping works. */
  ts_vpn_config_set_flag(ph.config, TS_FLAG_INCLUDE_ALL_NETWORKS, false);
  TS_CHECK_INT(ts_sock_send(ph.socks, pinger, &gw, &r), ==, 0);
  TS_CHECK_INT(r.verdict.kind, ==, TS_VERDICT_TUNNEL);
  TS_CHECK_INT(ts_sock_arrival(ph.socks, pinger, &gw, ph.utun, &v), ==, 1);
  phone_free(&ph);
}

/* PROTON / A-ROUTE through real sockets: a TCP connection made before the tunnel
 * keeps en0 without IAN and is dropped with IAN; a new one is tunnelled. */
TS_TEST(bsd_preexisting_connection_PROTON_A_ROUTE) {
  SETUP(ph);
  ts_sock_id old, fresh;
  ts_sock_status st;
  ts_ipaddr dst = ts_test_addr("8.8.8.8");
  TS_CHECK_INT(ts_sock_bsd_open(ph.socks, TS_TC_APP, TS_IPPROTO_TCP, &old), ==, 0);
  TS_CHECK_INT(ts_sock_bsd_connect(ph.socks, old, &dst, &st), ==, 0);
  vpn_connect(&ph);
  TS_CHECK_INT(ts_sock_bsd_open(ph.socks, TS_TC_APP, TS_IPPROTO_TCP, &fresh), ==, 0);
  TS_CHECK_INT(ts_sock_bsd_connect(ph.socks, fresh, &dst, &st), ==, 0);
  ts_sock_send_result r;
  ts_sock_send(ph.socks, old, NULL, &r);
  TS_CHECK_INT(r.verdict.kind, ==, TS_VERDICT_PHYSICAL);
  TS_CHECK_INT(r.verdict.rule, ==, TS_RULE_PREEXISTING_KEEPS_PATH);
  ts_sock_send(ph.socks, fresh, NULL, &r);
  TS_CHECK_INT(r.verdict.kind, ==, TS_VERDICT_TUNNEL);
  ts_vpn_config_set_flag(ph.config, TS_FLAG_INCLUDE_ALL_NETWORKS, true);
  ts_sock_send(ph.socks, old, NULL, &r);
  TS_CHECK_INT(r.status, ==, TS_SOCK_OK); /* not closed */
  TS_CHECK_INT(r.verdict.kind, ==, TS_VERDICT_DROP);
  TS_CHECK_INT(r.verdict.rule, ==, TS_RULE_IAN_PREEXISTING_DROP);
  ts_sock_send(ph.socks, fresh, NULL, &r);
  TS_CHECK_INT(r.verdict.kind, ==, TS_VERDICT_TUNNEL);
  /* A new tunnel start makes the fresh one pre-existing too. */
  ts_vpn_session_stop(ph.session, ph.now, TS_STOP_USER_INITIATED);
  ts_vpn_session_stop_completed(ph.session, ph.now);
  vpn_connect(&ph);
  ts_sock_send(ph.socks, fresh, NULL, &r);
  TS_CHECK_INT(r.verdict.rule, ==, TS_RULE_IAN_PREEXISTING_DROP);
  TS_CHECK_INT(ts_sock_close(ph.socks, fresh), ==, 0);
  TS_CHECK_INT(ts_sock_send(ph.socks, fresh, NULL, &r), ==, TS_EINVAL);
  phone_free(&ph);
}

/* GT-11, A-VIF / MV-BLOG: NWConnection with requiredInterface = virtualInterface
 * exists from iOS 18; ready without IAN, waiting (no path) with IAN. */
TS_TEST(nwconnection_virtual_interface_A_VIF_MV_BLOG) {
  SETUP(ph);
  vpn_connect(&ph);
  ts_nw_params vif = {.required_virtual_interface = true};
  ts_ipaddr gw = ts_test_addr("10.64.0.1");
  ts_sock_id c;
  TS_CHECK_INT(ts_sock_nw_create(ph.socks, TS_TC_APP, TS_IPPROTO_TCP, &gw, &vif, &c), ==, TS_EINVAL);
  TS_CHECK_INT(ts_sock_nw_create(ph.socks, TS_TC_PROVIDER, TS_IPPROTO_TCP, &gw, &vif, &c), ==, 0);
  TS_CHECK_INT(ts_sock_nw_state(ph.socks, c), ==, TS_NW_SETUP);
  TS_CHECK_INT(ts_sock_nw_start(ph.socks, c), ==, 0);
  TS_CHECK_INT(ts_sock_nw_state(ph.socks, c), ==, TS_NW_PREPARING);
  TS_CHECK_INT(ts_sock_nw_transport_ready(ph.socks, c), ==, 0);
  TS_CHECK_INT(ts_sock_nw_state(ph.socks, c), ==, TS_NW_READY);
  ts_vpn_config_set_flag(ph.config, TS_FLAG_INCLUDE_ALL_NETWORKS, true);
  TS_CHECK_INT(ts_sock_reevaluate(ph.socks), ==, 1);
  TS_CHECK_INT(ts_sock_nw_state(ph.socks, c), ==, TS_NW_WAITING);
  ts_sock_send_result r;
  ts_sock_send(ph.socks, c, NULL, &r);
  TS_CHECK_INT(r.status, ==, TS_SOCK_ENOTCONN);
  ts_os_profile_set_api(ph.profile, TS_API_VIRTUAL_INTERFACE, TS_API_ABSENT); /* iOS 17 */
  TS_CHECK_INT(ts_sock_nw_create(ph.socks, TS_TC_PROVIDER, TS_IPPROTO_TCP, &gw, &vif, &c), ==, TS_ENOTSUP);
  phone_free(&ph);
}

/* GT-10, MV-BLOG / A-NWTCP: createTCPConnectionThroughTunnel never becomes viable
 * under IAN; viable without; absent where the profile lacks it. */
TS_TEST(nwtcpconnection_viability_MV_BLOG_A_NWTCP) {
  SETUP(ph);
  vpn_connect(&ph);
  ts_ipaddr gw = ts_test_addr("10.64.0.1");
  ts_sock_id c;
  TS_CHECK_INT(ts_sock_nwtcp_create(ph.socks, &gw, &c), ==, 0);
  TS_CHECK_INT(ts_sock_nw_state(ph.socks, c), ==, TS_NW_PREPARING);
  TS_CHECK_INT(ts_sock_nw_transport_ready(ph.socks, c), ==, 0);
  TS_CHECK(ts_sock_nwtcp_viable(ph.socks, c));
  ts_vpn_config_set_flag(ph.config, TS_FLAG_INCLUDE_ALL_NETWORKS, true);
  TS_CHECK(!ts_sock_nwtcp_viable(ph.socks, c));
  ts_sock_id d;
  TS_CHECK_INT(ts_sock_nwtcp_create(ph.socks, &gw, &d), ==, 0);
  TS_CHECK_INT(ts_sock_nw_state(ph.socks, d), ==, TS_NW_WAITING);
  TS_CHECK_INT(ts_sock_nw_transport_ready(ph.socks, d), ==, TS_ESTATE);
  ts_os_profile_set_api(ph.profile, TS_API_NWTCPCONNECTION, TS_API_ABSENT);
  TS_CHECK_INT(ts_sock_nwtcp_create(ph.socks, &gw, &d), ==, TS_ENOTSUP);
  phone_free(&ph);
}

/* requiredInterfaceType: waiting while no such interface is up, preparing after. */
TS_TEST(nwconnection_required_type_waits) {
  SETUP(ph);
  ts_os_iface_set_up(ph.ifaces, ph.cell, false);
  ts_nw_params p = {.has_required_type = true, .required_type = TS_IFT_CELLULAR};
  ts_ipaddr dst = ts_test_addr("8.8.8.8");
  ts_sock_id c;
  TS_CHECK_INT(ts_sock_nw_create(ph.socks, TS_TC_APP, TS_IPPROTO_UDP, &dst, &p, &c), ==, 0);
  TS_CHECK_INT(ts_sock_nw_start(ph.socks, c), ==, 0);
  TS_CHECK_INT(ts_sock_nw_state(ph.socks, c), ==, TS_NW_WAITING);
  ts_os_iface_set_up(ph.ifaces, ph.cell, true);
  TS_CHECK_INT(ts_sock_reevaluate(ph.socks), ==, 1);
  TS_CHECK_INT(ts_sock_nw_state(ph.socks, c), ==, TS_NW_PREPARING);
  phone_free(&ph);
}

typedef struct seen {
  int count;
  ts_vpn_status last;
} seen;

static void on_change(void *ctx, const ts_vpn_session *s, ts_vpn_status from, ts_vpn_status to) {
  (void)s;
  (void)from;
  seen *x = ctx;
  x->count++;
  x->last = to;
}

/* NEVPNStatus machine (§1.3, A-REASSERT, A-STOP, F-60S deadlines). */
TS_TEST(session_state_machine) {
  phone ph;
  ts_os_profile *p;
  TS_CHECK_INT(ts_os_profile_create(&p, "t"), ==, 0);
  TS_CHECK_INT(phone_init(&ph, p), ==, 0);
  seen x = {0};
  TS_CHECK_INT(ts_vpn_session_listen(ph.session, on_change, &x), ==, 0);
  TS_CHECK_INT(ts_vpn_session_status(ph.session), ==, TS_VPN_DISCONNECTED);
  TS_CHECK_INT(ts_vpn_session_start_completed(ph.session, 0, 0), ==, TS_ESTATE);
  TS_CHECK_INT(ts_vpn_session_start(ph.session, 10, TS_START_ON_DEMAND), ==, 0);
  TS_CHECK_INT(ts_vpn_session_epoch(ph.session), ==, 1);
  TS_CHECK_INT(ts_vpn_session_deadline(ph.session), ==, 10 + 60 * TS_SEC);
  TS_CHECK(!ts_os_iface_is_up(ph.ifaces, ph.utun));
  static const char *const all[] = {"0.0.0.0/0", NULL};
  ts_vpn_settings s;
  settings_with(&s, all);
  TS_CHECK_INT(ts_vpn_session_set_settings(ph.session, 11, &s), ==, 0);
  TS_CHECK(ts_os_iface_is_up(ph.ifaces, ph.utun));
  TS_CHECK(ts_os_iface_has_family(ph.ifaces, ph.utun, 4));
  TS_CHECK_INT(ts_vpn_session_start_completed(ph.session, 12, 0), ==, 0);
  TS_CHECK_INT(x.last, ==, TS_VPN_CONNECTED);
  TS_CHECK_INT(ts_vpn_session_deadline(ph.session), ==, TS_TIME_NEVER);
  TS_CHECK_INT(ts_vpn_session_set_reasserting(ph.session, 13, false), ==, TS_ESTATE);
  TS_CHECK_INT(ts_vpn_session_set_reasserting(ph.session, 13, true), ==, 0);
  TS_CHECK_INT(ts_vpn_session_set_reasserting(ph.session, 14, false), ==, 0);
  TS_CHECK_INT(ts_vpn_session_cancel(ph.session, 15), ==, 0);
  TS_CHECK_INT(ts_vpn_session_status(ph.session), ==, TS_VPN_DISCONNECTING);
  TS_CHECK_INT(ts_vpn_session_deadline(ph.session), ==, 15 + 20 * TS_SEC);
  TS_CHECK_INT(ts_vpn_session_stop_completed(ph.session, 16), ==, 0);
  TS_CHECK_INT(ts_vpn_session_down_cause(ph.session), ==, TS_DOWN_PROVIDER);
  TS_CHECK_INT(ts_vpn_session_stop_reason(ph.session), ==, TS_STOP_PROVIDER_FAILED);
  TS_CHECK(!ts_os_iface_is_up(ph.ifaces, ph.utun));
  TS_CHECK_INT(x.count, ==, 6);
  /* start failure goes straight back to disconnected */
  TS_CHECK_INT(ts_vpn_session_start(ph.session, 20, TS_START_USER), ==, 0);
  TS_CHECK_INT(ts_vpn_session_start_completed(ph.session, 21, -1), ==, 0);
  TS_CHECK_INT(ts_vpn_session_status(ph.session), ==, TS_VPN_DISCONNECTED);
  /* disabling the configuration makes it invalid */
  ts_vpn_config_set_enabled(ph.config, false);
  TS_CHECK_INT(ts_vpn_session_configure(ph.session, 22), ==, 0);
  TS_CHECK_INT(ts_vpn_session_status(ph.session), ==, TS_VPN_INVALID);
  TS_CHECK_INT(ts_vpn_session_start(ph.session, 23, TS_START_USER), ==, TS_ESTATE);
  TS_CHECK_STR(ts_vpn_stop_reason_name(TS_STOP_APP_UPDATE), "appUpdate");
  phone_free(&ph);
}

int main(int argc, char **argv) { return ts_test_main(argc, argv); }
