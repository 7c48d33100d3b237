#include <string.h>

#include "os_fixture.h"

int phone_init(phone *ph, ts_os_profile *profile) {
  memset(ph, 0, sizeof *ph);
  int rc = 0;
  if (profile) ph->profile = profile;
  else rc = ts_os_profile_create(&ph->profile, "test");
  if (!rc) rc = ts_vpn_config_create(&ph->config, ph->profile);
  if (!rc) rc = ts_os_ifaces_create(&ph->ifaces);
  if (!rc) rc = ts_route_table_create(&ph->routes, 64);
  if (rc) return rc;
  ts_os_iface_add(ph->ifaces, "lo0", TS_IFT_LOOPBACK, &ph->lo);
  ts_os_iface_add(ph->ifaces, "en0", TS_IFT_WIFI, &ph->en0);
  ts_os_iface_add(ph->ifaces, "pdp_ip0", TS_IFT_CELLULAR, &ph->cell);
  ts_os_iface_add(ph->ifaces, "utun0", TS_IFT_TUNNEL, &ph->utun);
  ts_ipprefix lo = ts_test_prefix("127.0.0.1/8");
  ts_os_iface_add_address(ph->ifaces, ph->lo, &lo);
  ts_os_iface_set_up(ph->ifaces, ph->lo, true);
  ts_os_iface_set_up(ph->ifaces, ph->en0, true);
  ts_os_iface_set_up(ph->ifaces, ph->cell, true);
  ts_os_iface_set_primary(ph->ifaces, ph->en0);
  ts_dhcp_lease lease = {.address = ts_test_prefix("192.168.1.20/24"), .router = ts_test_addr("192.168.1.1")};
  rc = ts_route_apply_dhcp(ph->routes, ph->ifaces, ph->en0, &lease);
  ts_ipprefix cell = ts_test_prefix("10.200.0.5/32");
  if (!rc) rc = ts_os_iface_add_address(ph->ifaces, ph->cell, &cell);
  ts_route def = {.dst = ts_test_prefix("0.0.0.0/0"), .iface = ph->cell};
  if (!rc) rc = ts_route_add(ph->routes, &def);
  ts_vpn_config_set_enabled(ph->config, true);
  if (!rc) rc = ts_vpn_session_create(&ph->session, ph->profile, ph->config, ph->ifaces, ph->utun);
  ph->env = (ts_policy_env){ph->profile, ph->config, ph->session, ph->ifaces, ph->routes};
  if (!rc) rc = ts_sock_table_create(&ph->socks, &ph->env, 64);
  return rc;
}

void phone_free(phone *ph) {
  ts_sock_table_destroy(ph->socks);
  ts_vpn_session_destroy(ph->session);
  ts_route_table_destroy(ph->routes);
  ts_os_ifaces_destroy(ph->ifaces);
  ts_vpn_config_destroy(ph->config);
  ts_os_profile_destroy(ph->profile);
}

void settings_with(ts_vpn_settings *s, const char *const *included) {
  ts_vpn_settings_init(s);
  s->tunnel_remote_address = ts_test_addr("198.51.100.7");
  ts_ipprefix a = ts_test_prefix("10.64.0.2/32");
  ts_vpn_settings_add_address(s, &a);
  for (size_t i = 0; included && included[i]; i++) {
    ts_ipprefix p = ts_test_prefix(included[i]);
    ts_vpn_settings_include(s, &p);
  }
}

void vpn_connect_with(phone *ph, const ts_vpn_settings *s, ts_vpn_start_cause cause) {
  ph->now += TS_SEC;
  ts_vpn_session_start(ph->session, ph->now, cause);
  ts_vpn_session_set_settings(ph->session, ph->now, s);
  ts_vpn_session_start_completed(ph->session, ph->now, 0);
}

void vpn_connect(phone *ph) {
  static const char *const all[] = {"0.0.0.0/0", "::/0", NULL};
  ts_vpn_settings s;
  settings_with(&s, all);
  vpn_connect_with(ph, &s, TS_START_APP);
}

ts_verdict decide_scoped(phone *ph, ts_traffic_class cls, const char *dst, ts_scope scope) {
  ts_policy_flow f = {.cls = cls, .scope = scope, .dst = ts_test_addr(dst)};
  ts_verdict v;
  ts_policy_decide(&ph->env, &f, &v);
  return v;
}

ts_verdict decide(phone *ph, ts_traffic_class cls, const char *dst) {
  ts_scope none = {TS_SCOPE_NONE, 0, TS_IFT_WIFI};
  return decide_scoped(ph, cls, dst, none);
}
