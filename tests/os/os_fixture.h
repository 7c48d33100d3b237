/* A phone for the sim/os tests: lo0, en0 (Wi-Fi, DHCP 192.168.1.20/24 via
 * 192.168.1.1, primary), pdp_ip0 (cellular, 10.200.0.5/32 with a default route),
 * utun0; a VPN configuration (enabled, flags at the profile's defaults) and its
 * session; the env the policy and sockets read. */
#ifndef OS_FIXTURE_H
#define OS_FIXTURE_H

#include "ts_policy.h"
#include "tstest_net.h"
#include "ts_sock.h"

typedef struct phone {
  ts_os_profile *profile;
  ts_vpn_config *config;
  ts_os_ifaces *ifaces;
  ts_route_table *routes;
  ts_vpn_session *session;
  ts_sock_table *socks;
  ts_policy_env env;
  int lo, en0, cell, utun;
  ts_time now;
} phone;

/* profile: NULL for the builtin (newest) profile; taken over by the phone. */
int phone_init(phone *ph, ts_os_profile *profile);
void phone_free(phone *ph);


/* Tunnel settings: tunnelRemoteAddress 198.51.100.7, address 10.64.0.2/32, and the
 * included routes given as a NULL-terminated list of prefixes. */
void settings_with(ts_vpn_settings *s, const char *const *included);
/* disconnected -> connecting -> settings (0.0.0.0/0, ::/0) -> connected. */
void vpn_connect(phone *ph);
void vpn_connect_with(phone *ph, const ts_vpn_settings *s, ts_vpn_start_cause cause);

/* The verdict for a flow of class cls to dst, unscoped, not pre-existing. */
ts_verdict decide(phone *ph, ts_traffic_class cls, const char *dst);
ts_verdict decide_scoped(phone *ph, ts_traffic_class cls, const char *dst, ts_scope scope);

#endif
