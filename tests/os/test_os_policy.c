/* The policy decision, rule by rule (ios-model.md §1.1-§1.4). Each case is named
 * after the rule it pins and cites the source key; each would fail if the rule were
 * missing or its precedence wrong (the comment says how). */
#include "os_fixture.h"
#include "tstest.h"

#define EXPECT(v, k, i, r)                     \
  do {                                         \
    ts_verdict ev_ = (v);                      \
    TS_CHECK_INT(ev_.kind, ==, (k));           \
    TS_CHECK_INT(ev_.iface, ==, (i));          \
    TS_CHECK_INT(ev_.rule, ==, (r));           \
  } while (0)

#define SETUP(ph)                              \
  phone ph;                                    \
  TS_CHECK_INT(phone_init(&ph, NULL), ==, 0)

static const ts_scope no_scope = {TS_SCOPE_NONE, 0, TS_IFT_WIFI};

static void set_ian(phone *ph, bool on) {
  ts_vpn_config_set_flag(ph->config, TS_FLAG_INCLUDE_ALL_NETWORKS, on);
}

/* Connected by the app with includedRoutes 0.0.0.0/0 and one excluded route. */
static void connect_all_excluding(phone *ph, const char *excluded) {
  static const char *const all[] = {"0.0.0.0/0", NULL};
  ts_vpn_settings s;
  settings_with(&s, all);
  ts_ipprefix ex = ts_test_prefix(excluded);
  ts_vpn_settings_exclude(&s, &ex);
  vpn_connect_with(ph, &s, TS_START_APP);
}

/* ------------------------------------------------------------------ §1.1 */

/* A-ROUTE: includedRoutes 0.0.0.0/0 sends what no other rule claims into the
 * tunnel. Missing rule: the packet would use en0's default route. */
TS_TEST(rule_vpn_included_route_A_ROUTE) {
  SETUP(ph);
  EXPECT(decide(&ph, TS_TC_APP, "8.8.8.8"), TS_VERDICT_PHYSICAL, ph.en0, TS_RULE_SYSTEM_TABLE);
  vpn_connect(&ph);
  ts_verdict v = decide(&ph, TS_TC_APP, "8.8.8.8");
  EXPECT(v, TS_VERDICT_TUNNEL, ph.utun, TS_RULE_VPN_INCLUDED);
  TS_CHECK_INT(v.origin, ==, TS_ROUTE_VPN_INCLUDED);
  EXPECT(decide(&ph, TS_TC_APP, "2001:db8::1"), TS_VERDICT_TUNNEL, ph.utun, TS_RULE_VPN_INCLUDED);
  phone_free(&ph);
}

/* A-ROUTE: excludedRoutes keep a destination out of the tunnel. */
TS_TEST(rule_vpn_excluded_route_A_ROUTE) {
  SETUP(ph);
  connect_all_excluding(&ph, "1.1.1.0/24");
  ts_verdict v = decide(&ph, TS_TC_APP, "1.1.1.1");
  EXPECT(v, TS_VERDICT_PHYSICAL, ph.en0, TS_RULE_VPN_EXCLUDED);
  TS_CHECK_INT(v.origin, ==, TS_ROUTE_VPN_EXCLUDED);
  EXPECT(decide(&ph, TS_TC_APP, "1.1.2.1"), TS_VERDICT_TUNNEL, ph.utun, TS_RULE_VPN_INCLUDED);
  phone_free(&ph);
}

/* A-ROUTE: "the system routing table supersedes the includedRoutes and
 * excludedRoutes" (the LocalNet precondition). The LAN stays on en0 even against a
 * more specific included route under vpn-route-precedence=system-table-first; with
 * longest-prefix the VPN's /25 wins. Missing precedence: both would tunnel. */
TS_TEST(rule_system_table_supersedes_vpn_routes_A_ROUTE) {
  SETUP(ph);
  static const char *const routes[] = {"0.0.0.0/0", "192.168.1.0/25", NULL};
  ts_vpn_settings s;
  settings_with(&s, routes);
  vpn_connect_with(&ph, &s, TS_START_APP);
  ts_verdict v = decide(&ph, TS_TC_APP, "192.168.1.50");
  EXPECT(v, TS_VERDICT_PHYSICAL, ph.en0, TS_RULE_SYSTEM_ROUTE_SUPERSEDES);
  TS_CHECK_INT(v.origin, ==, TS_ROUTE_CONNECTED);
  TS_CHECK_INT(v.quirk, ==, TS_QUIRK_VPN_ROUTE_PRECEDENCE);
  ts_os_profile_set_quirk(ph.profile, TS_QUIRK_VPN_ROUTE_PRECEDENCE,
                          TS_ROUTE_PRECEDENCE_LONGEST_PREFIX, TS_SRC_NONE);
  EXPECT(decide(&ph, TS_TC_APP, "192.168.1.50"), TS_VERDICT_TUNNEL, ph.utun, TS_RULE_VPN_INCLUDED);
  /* .200 is outside the /25: the LAN /24 is longer than 0/0 either way. */
  EXPECT(decide(&ph, TS_TC_APP, "192.168.1.200"), TS_VERDICT_PHYSICAL, ph.en0,
         TS_RULE_SYSTEM_ROUTE_SUPERSEDES);
  phone_free(&ph);
}

/* TV + RFC3442 through A-ROUTE's precedence: option 121 routes (two /1s) from a
 * rogue DHCP server take everything out of a route-based VPN. */
TS_TEST(rule_system_table_supersedes_dhcp_option121_TV) {
  SETUP(ph);
  ts_dhcp_lease lease = {.address = ts_test_prefix("192.168.1.20/24"), .classless_count = 2};
  lease.classless[0] = (ts_route){.dst = ts_test_prefix("0.0.0.0/1"), .gateway = ts_test_addr("192.168.1.1")};
  lease.classless[1] = (ts_route){.dst = ts_test_prefix("128.0.0.0/1"), .gateway = ts_test_addr("192.168.1.1")};
  TS_CHECK_INT(ts_route_apply_dhcp(ph.routes, ph.ifaces, ph.en0, &lease), ==, 0);
  vpn_connect(&ph);
  ts_verdict v = decide(&ph, TS_TC_APP, "8.8.8.8");
  EXPECT(v, TS_VERDICT_PHYSICAL, ph.en0, TS_RULE_SYSTEM_ROUTE_SUPERSEDES);
  TS_CHECK_INT(v.origin, ==, TS_ROUTE_DHCP_CLASSLESS);
  /* includeAllNetworks is the mitigation (MV-KI): scoped to the tunnel. */
  set_ian(&ph, true);
  EXPECT(decide(&ph, TS_TC_APP, "8.8.8.8"), TS_VERDICT_TUNNEL, ph.utun, TS_RULE_IAN_SCOPED_TO_TUNNEL);
  phone_free(&ph);
}

/* A-ROUTE: scoping supersedes the system routing table (and the VPN routes in it);
 * DISCONNECT: an app can use cellular while a route-only VPN is up. */
TS_TEST(rule_scoping_supersedes_table_A_ROUTE) {
  SETUP(ph);
  vpn_connect(&ph);
  ts_scope en0 = {TS_SCOPE_BOUND_IF, ph.en0, TS_IFT_WIFI};
  ts_scope cell = {TS_SCOPE_REQUIRED_TYPE, 0, TS_IFT_CELLULAR};
  ts_verdict v = decide_scoped(&ph, TS_TC_APP, "8.8.8.8", en0);
  EXPECT(v, TS_VERDICT_PHYSICAL, ph.en0, TS_RULE_SCOPED_INTERFACE);
  TS_CHECK_INT(v.origin, ==, TS_ROUTE_SCOPED);
  EXPECT(decide_scoped(&ph, TS_TC_APP, "8.8.8.8", cell), TS_VERDICT_PHYSICAL, ph.cell,
         TS_RULE_SCOPED_INTERFACE);
  ts_os_iface_set_up(ph.ifaces, ph.cell, false);
  EXPECT(decide_scoped(&ph, TS_TC_APP, "8.8.8.8", cell), TS_VERDICT_DROP, 0, TS_RULE_SCOPE_UNAVAILABLE);
  phone_free(&ph);
}

/* A-ROUTE / A-IAN: with includeAllNetworks the system scopes connections to the
 * tunnel, over the table (the LAN) and over apps' scoping. Missing rule: the LAN
 * would go to en0 by the system table, the bound socket to en0 by scoping. */
TS_TEST(rule_ian_scopes_to_tunnel_over_table_and_scoping_A_ROUTE) {
  SETUP(ph);
  set_ian(&ph, true);
  ts_vpn_config_set_flag(ph.config, TS_FLAG_EXCLUDE_LOCAL_NETWORKS, false);
  vpn_connect(&ph);
  EXPECT(decide(&ph, TS_TC_APP, "192.168.1.50"), TS_VERDICT_TUNNEL, ph.utun, TS_RULE_IAN_SCOPED_TO_TUNNEL);
  ts_scope en0 = {TS_SCOPE_BOUND_IF, ph.en0, TS_IFT_WIFI};
  EXPECT(decide_scoped(&ph, TS_TC_APP, "8.8.8.8", en0), TS_VERDICT_TUNNEL, ph.utun,
         TS_RULE_IAN_SCOPED_TO_TUNNEL);
  phone_free(&ph);
}

/* A-ROUTE: enforceRoutes supersedes scoping: an app bound to en0 still goes into
 * the tunnel for an included route. Missing rule: scoping would send it to en0. */
TS_TEST(rule_enforce_routes_supersedes_scoping_A_ROUTE) {
  SETUP(ph);
  static const char *const ten[] = {"10.0.0.0/8", NULL};
  ts_vpn_settings s;
  settings_with(&s, ten);
  vpn_connect_with(&ph, &s, TS_START_APP);
  ts_scope en0 = {TS_SCOPE_BOUND_IF, ph.en0, TS_IFT_WIFI};
  EXPECT(decide_scoped(&ph, TS_TC_APP, "10.1.2.3", en0), TS_VERDICT_PHYSICAL, ph.en0,
         TS_RULE_SCOPED_INTERFACE);
  TS_CHECK_INT(ts_vpn_config_set_flag(ph.config, TS_FLAG_ENFORCE_ROUTES, true), ==, 0);
  EXPECT(decide_scoped(&ph, TS_TC_APP, "10.1.2.3", en0), TS_VERDICT_TUNNEL, ph.utun,
         TS_RULE_ENFORCE_INCLUDED);
  /* Outside the VPN's routes scoping still decides. */
  EXPECT(decide_scoped(&ph, TS_TC_APP, "8.8.8.8", en0), TS_VERDICT_PHYSICAL, ph.en0,
         TS_RULE_SCOPED_INTERFACE);
  phone_free(&ph);
}

/* A-ROUTE's example: includedRoutes 10/8, local network 10.10/16: enforceRoutes
 * supersedes the system table, except with excludeLocalNetworks. */
TS_TEST(rule_enforce_routes_supersedes_table_local_exempt_A_ROUTE) {
  SETUP(ph);
  ts_dhcp_lease lease = {.address = ts_test_prefix("10.10.0.20/16"), .router = ts_test_addr("10.10.0.1")};
  ts_route_apply_dhcp(ph.routes, ph.ifaces, ph.en0, &lease);
  static const char *const ten[] = {"10.0.0.0/8", NULL};
  ts_vpn_settings s;
  settings_with(&s, ten);
  vpn_connect_with(&ph, &s, TS_START_APP);
  ts_vpn_config_set_flag(ph.config, TS_FLAG_ENFORCE_ROUTES, true);
  ts_vpn_config_set_flag(ph.config, TS_FLAG_EXCLUDE_LOCAL_NETWORKS, false);
  EXPECT(decide(&ph, TS_TC_APP, "10.10.1.1"), TS_VERDICT_TUNNEL, ph.utun, TS_RULE_ENFORCE_INCLUDED);
  ts_vpn_config_set_flag(ph.config, TS_FLAG_EXCLUDE_LOCAL_NETWORKS, true);
  EXPECT(decide(&ph, TS_TC_APP, "10.10.1.1"), TS_VERDICT_PHYSICAL, ph.en0, TS_RULE_ENFORCE_LOCAL_EXEMPT);
  /* Without enforcement the system table wins (A-ROUTE). */
  ts_vpn_config_set_flag(ph.config, TS_FLAG_ENFORCE_ROUTES, false);
  EXPECT(decide(&ph, TS_TC_APP, "10.10.1.1"), TS_VERDICT_PHYSICAL, ph.en0, TS_RULE_SYSTEM_ROUTE_SUPERSEDES);
  phone_free(&ph);
}

/* A-ROUTE: under enforceRoutes excluded routes are scoped to the primary
 * interface; F-EXCL: reported ignored (quirk excluded-routes-ignored-when-forced). */
TS_TEST(rule_enforce_excluded_to_primary_and_quirk_F_EXCL) {
  SETUP(ph);
  connect_all_excluding(&ph, "1.1.1.0/24");
  ts_vpn_config_set_flag(ph.config, TS_FLAG_ENFORCE_ROUTES, true);
  ts_os_profile_set_quirk(ph.profile, TS_QUIRK_EXCLUDED_ROUTES_IGNORED_WHEN_FORCED, 0, TS_SRC_NONE);
  ts_os_iface_set_primary(ph.ifaces, ph.cell);
  EXPECT(decide(&ph, TS_TC_APP, "1.1.1.1"), TS_VERDICT_PHYSICAL, ph.cell, TS_RULE_ENFORCE_EXCLUDED);
  ts_os_profile_set_quirk(ph.profile, TS_QUIRK_EXCLUDED_ROUTES_IGNORED_WHEN_FORCED, 1, TS_SRC_NONE);
  ts_verdict v = decide(&ph, TS_TC_APP, "1.1.1.1");
  EXPECT(v, TS_VERDICT_TUNNEL, ph.utun, TS_RULE_ENFORCE_INCLUDED);
  TS_CHECK_INT(v.quirk, ==, TS_QUIRK_EXCLUDED_ROUTES_IGNORED_WHEN_FORCED);
  phone_free(&ph);
}

/* F-EXCL under includeAllNetworks: excluded routes ignored (default) or honoured. */
TS_TEST(rule_ian_excluded_routes_quirk_F_EXCL) {
  SETUP(ph);
  set_ian(&ph, true);
  connect_all_excluding(&ph, "1.1.1.0/24");
  EXPECT(decide(&ph, TS_TC_APP, "1.1.1.1"), TS_VERDICT_TUNNEL, ph.utun, TS_RULE_IAN_SCOPED_TO_TUNNEL);
  ts_os_profile_set_quirk(ph.profile, TS_QUIRK_EXCLUDED_ROUTES_IGNORED_WHEN_FORCED, 0, TS_SRC_NONE);
  EXPECT(decide(&ph, TS_TC_APP, "1.1.1.1"), TS_VERDICT_PHYSICAL, ph.en0, TS_RULE_IAN_EXCLUDED_ROUTE);
  phone_free(&ph);
}

/* A-ROUTE: "if includeAllNetworks is true the system ignores enforceRoutes". While
 * reasserting, enforcement would still tunnel 10.1.2.3; IAN drops it. */
TS_TEST(rule_enforce_routes_ignored_under_ian_A_ROUTE) {
  SETUP(ph);
  static const char *const ten[] = {"10.0.0.0/8", NULL};
  ts_vpn_settings s;
  settings_with(&s, ten);
  vpn_connect_with(&ph, &s, TS_START_APP);
  ts_vpn_config_set_flag(ph.config, TS_FLAG_ENFORCE_ROUTES, true);
  ts_vpn_session_set_reasserting(ph.session, ph.now, true);
  EXPECT(decide(&ph, TS_TC_APP, "10.1.2.3"), TS_VERDICT_TUNNEL, ph.utun, TS_RULE_ENFORCE_INCLUDED);
  set_ian(&ph, true);
  EXPECT(decide(&ph, TS_TC_APP, "10.1.2.3"), TS_VERDICT_DROP, 0, TS_RULE_IAN_NOT_CONNECTED_DROP);
  phone_free(&ph);
}

/* A-ELN: excludeLocalNetworks (default YES on iOS) lets local hosts bypass IAN;
 * not on an OS without the flag (iOS 14.0). */
TS_TEST(rule_ian_exclude_local_networks_A_ELN) {
  SETUP(ph);
  set_ian(&ph, true);
  vpn_connect(&ph);
  TS_CHECK(ts_vpn_config_flag(ph.config, TS_FLAG_EXCLUDE_LOCAL_NETWORKS));
  EXPECT(decide(&ph, TS_TC_APP, "192.168.1.50"), TS_VERDICT_PHYSICAL, ph.en0,
         TS_RULE_IAN_EXCLUDE_LOCAL_NETWORKS);
  EXPECT(decide(&ph, TS_TC_APP, "169.254.3.3"), TS_VERDICT_PHYSICAL, ph.en0,
         TS_RULE_IAN_EXCLUDE_LOCAL_NETWORKS);
  ts_vpn_config_set_flag(ph.config, TS_FLAG_EXCLUDE_LOCAL_NETWORKS, false);
  EXPECT(decide(&ph, TS_TC_APP, "192.168.1.50"), TS_VERDICT_TUNNEL, ph.utun, TS_RULE_IAN_SCOPED_TO_TUNNEL);
  ts_os_profile_set_flag(ph.profile, TS_FLAG_EXCLUDE_LOCAL_NETWORKS, false, false);
  TS_CHECK_INT(ts_vpn_config_set_flag(ph.config, TS_FLAG_EXCLUDE_LOCAL_NETWORKS, true), ==, TS_ENOTSUP);
  EXPECT(decide(&ph, TS_TC_APP, "192.168.1.50"), TS_VERDICT_TUNNEL, ph.utun, TS_RULE_IAN_SCOPED_TO_TUNNEL);
  phone_free(&ph);
}

/* TC-WEB (LocalNet): a rogue AP assigns a public subnet; excludeLocalNetworks
 * exempts it unless the quirk narrows "local" to private ranges. */
TS_TEST(quirk_local_network_includes_public_subnets_TC_WEB) {
  SETUP(ph);
  ts_dhcp_lease lease = {.address = ts_test_prefix("216.165.47.20/24"), .router = ts_test_addr("216.165.47.1")};
  ts_route_apply_dhcp(ph.routes, ph.ifaces, ph.en0, &lease);
  set_ian(&ph, true);
  vpn_connect(&ph);
  EXPECT(decide(&ph, TS_TC_APP, "216.165.47.10"), TS_VERDICT_PHYSICAL, ph.en0,
         TS_RULE_IAN_EXCLUDE_LOCAL_NETWORKS);
  ts_os_profile_set_quirk(ph.profile, TS_QUIRK_LOCAL_NETWORK_INCLUDES_PUBLIC_SUBNETS, 0, TS_SRC_NONE);
  EXPECT(decide(&ph, TS_TC_APP, "216.165.47.10"), TS_VERDICT_TUNNEL, ph.utun, TS_RULE_IAN_SCOPED_TO_TUNNEL);
  phone_free(&ph);
}

/* TV: whether option 121 destinations count as local for excludeLocalNetworks. */
TS_TEST(quirk_local_network_includes_dhcp_routes_TV) {
  SETUP(ph);
  ts_dhcp_lease lease = {.address = ts_test_prefix("192.168.1.20/24"), .classless_count = 2};
  lease.classless[0] = (ts_route){.dst = ts_test_prefix("0.0.0.0/0"), .gateway = ts_test_addr("192.168.1.1")};
  lease.classless[1] = (ts_route){.dst = ts_test_prefix("8.8.8.8/32"), .gateway = ts_test_addr("192.168.1.1")};
  ts_route_apply_dhcp(ph.routes, ph.ifaces, ph.en0, &lease);
  set_ian(&ph, true);
  vpn_connect(&ph);
  EXPECT(decide(&ph, TS_TC_APP, "8.8.8.8"), TS_VERDICT_TUNNEL, ph.utun, TS_RULE_IAN_SCOPED_TO_TUNNEL);
  ts_os_profile_set_quirk(ph.profile, TS_QUIRK_LOCAL_NETWORK_INCLUDES_DHCP_ROUTES, 1, TS_SRC_NONE);
  EXPECT(decide(&ph, TS_TC_APP, "8.8.8.8"), TS_VERDICT_PHYSICAL, ph.en0, TS_RULE_IAN_EXCLUDE_LOCAL_NETWORKS);
  phone_free(&ph);
}

/* ------------------------------------------------------------------ §1.2 */

/* A-ROUTE §1.2.1-4: the always-exempt classes stay on the physical interface under
 * IAN, even while the VPN is reasserting; an app's packet to the same host does not.
 * Missing exemption: they would tunnel (connected) or drop (reasserting). */
TS_TEST(rule_exempt_classes_always_outside_A_ROUTE) {
  SETUP(ph);
  set_ian(&ph, true);
  vpn_connect(&ph);
  static const struct { ts_traffic_class cls; ts_os_rule rule; } exempt[] = {
      {TS_TC_CONTROL_PLANE, TS_RULE_EXEMPT_CONTROL_PLANE},
      {TS_TC_CAPTIVE, TS_RULE_EXEMPT_CAPTIVE},
      {TS_TC_CELLULAR_CARRIER, TS_RULE_EXEMPT_CELLULAR_CARRIER},
      {TS_TC_COMPANION, TS_RULE_EXEMPT_COMPANION},
  };
  EXPECT(decide(&ph, TS_TC_APP, "17.57.144.10"), TS_VERDICT_TUNNEL, ph.utun, TS_RULE_IAN_SCOPED_TO_TUNNEL);
  for (size_t i = 0; i < sizeof exempt / sizeof *exempt; i++) {
    EXPECT(decide(&ph, exempt[i].cls, "17.57.144.10"), TS_VERDICT_PHYSICAL, ph.en0, exempt[i].rule);
  }
  ts_vpn_session_set_reasserting(ph.session, ph.now, true);
  EXPECT(decide(&ph, TS_TC_APP, "17.57.144.10"), TS_VERDICT_DROP, 0, TS_RULE_IAN_NOT_CONNECTED_DROP);
  for (size_t i = 0; i < sizeof exempt / sizeof *exempt; i++) {
    EXPECT(decide(&ph, exempt[i].cls, "17.57.144.10"), TS_VERDICT_PHYSICAL, ph.en0, exempt[i].rule);
  }
  /* VoLTE on the carrier network: scoped to cellular. */
  ts_scope cell = {TS_SCOPE_REQUIRED_TYPE, 0, TS_IFT_CELLULAR};
  EXPECT(decide_scoped(&ph, TS_TC_CELLULAR_CARRIER, "17.57.144.10", cell), TS_VERDICT_PHYSICAL, ph.cell,
         TS_RULE_EXEMPT_CELLULAR_CARRIER);
  phone_free(&ph);
}

/* A-ROUTE §1.2.1: traffic "that communicates directly with the VPN server" is
 * exempt: the provider's packets to tunnelRemoteAddress; an app's to the same
 * address are not. */
TS_TEST(rule_exempt_vpn_server_A_ROUTE) {
  SETUP(ph);
  set_ian(&ph, true);
  vpn_connect(&ph);
  EXPECT(decide(&ph, TS_TC_PROVIDER, "198.51.100.7"), TS_VERDICT_PHYSICAL, ph.en0, TS_RULE_EXEMPT_VPN_SERVER);
  EXPECT(decide(&ph, TS_TC_APP, "198.51.100.7"), TS_VERDICT_TUNNEL, ph.utun, TS_RULE_IAN_SCOPED_TO_TUNNEL);
  ts_vpn_session_set_reasserting(ph.session, ph.now, true);
  EXPECT(decide(&ph, TS_TC_PROVIDER, "198.51.100.7"), TS_VERDICT_PHYSICAL, ph.en0, TS_RULE_EXEMPT_VPN_SERVER);
  phone_free(&ph);
}

/* A-APNS §1.2.5: excludeAPNs (iOS 16.4, default YES); on an OS without the flag APNs
 * is tunnelled (IVPN-146) unless the iOS 16.0 quirk ian-apple-services-bypass
 * (IVPN-360, MYSK) applies. */
TS_TEST(rule_ian_exclude_apns_A_APNS) {
  SETUP(ph);
  set_ian(&ph, true);
  vpn_connect(&ph);
  EXPECT(decide(&ph, TS_TC_APNS, "17.57.144.10"), TS_VERDICT_PHYSICAL, ph.en0, TS_RULE_IAN_EXCLUDE_APNS);
  ts_vpn_config_set_flag(ph.config, TS_FLAG_EXCLUDE_APNS, false);
  EXPECT(decide(&ph, TS_TC_APNS, "17.57.144.10"), TS_VERDICT_TUNNEL, ph.utun, TS_RULE_IAN_SCOPED_TO_TUNNEL);
  ts_os_profile_set_flag(ph.profile, TS_FLAG_EXCLUDE_APNS, false, false);
  EXPECT(decide(&ph, TS_TC_APNS, "17.57.144.10"), TS_VERDICT_TUNNEL, ph.utun, TS_RULE_IAN_SCOPED_TO_TUNNEL);
  ts_os_profile_set_quirk(ph.profile, TS_QUIRK_IAN_APPLE_SERVICES_BYPASS, 1, TS_SRC_IVPN_360);
  ts_verdict v = decide(&ph, TS_TC_APNS, "17.57.144.10");
  EXPECT(v, TS_VERDICT_PHYSICAL, ph.en0, TS_RULE_IAN_APPLE_SERVICES_BYPASS);
  TS_CHECK_INT(v.quirk, ==, TS_QUIRK_IAN_APPLE_SERVICES_BYPASS);
  phone_free(&ph);
}

/* A-HDR §1.2.5: excludeCellularServices (16.4) and excludeDeviceCommunication (17.4). */
TS_TEST(rule_ian_exclude_cellular_services_and_device_comm_A_HDR) {
  SETUP(ph);
  set_ian(&ph, true);
  vpn_connect(&ph);
  EXPECT(decide(&ph, TS_TC_CELLULAR_SERVICES, "17.57.144.10"), TS_VERDICT_PHYSICAL, ph.en0,
         TS_RULE_IAN_EXCLUDE_CELLULAR_SERVICES);
  EXPECT(decide(&ph, TS_TC_DEVICE_COMM, "17.57.144.10"), TS_VERDICT_PHYSICAL, ph.en0,
         TS_RULE_IAN_EXCLUDE_DEVICE_COMM);
  ts_vpn_config_set_flag(ph.config, TS_FLAG_EXCLUDE_CELLULAR_SERVICES, false);
  ts_os_profile_set_flag(ph.profile, TS_FLAG_EXCLUDE_DEVICE_COMMUNICATION, false, false); /* iOS 17.0 */
  EXPECT(decide(&ph, TS_TC_CELLULAR_SERVICES, "17.57.144.10"), TS_VERDICT_TUNNEL, ph.utun,
         TS_RULE_IAN_SCOPED_TO_TUNNEL);
  EXPECT(decide(&ph, TS_TC_DEVICE_COMM, "17.57.144.10"), TS_VERDICT_TUNNEL, ph.utun,
         TS_RULE_IAN_SCOPED_TO_TUNNEL);
  phone_free(&ph);
}

/* GAP-3 / MV-BLOG: the App Store downloader is an ordinary app under IAN (so it
 * waits while the provider is dead with on-demand armed: the update lockout),
 * unless quirk appstore-downloader-exempt. */
TS_TEST(quirk_appstore_downloader_exempt_GAP_3) {
  SETUP(ph);
  set_ian(&ph, true);
  ts_od_rule connect = {.action = TS_OD_CONNECT};
  ts_vpn_config_add_on_demand_rule(ph.config, &connect);
  ts_vpn_config_set_on_demand(ph.config, true);
  vpn_connect(&ph);
  EXPECT(decide(&ph, TS_TC_APPSTORE, "17.253.1.1"), TS_VERDICT_TUNNEL, ph.utun, TS_RULE_IAN_SCOPED_TO_TUNNEL);
  ts_vpn_session_provider_exited(ph.session, ph.now, TS_STOP_APP_UPDATE);
  EXPECT(decide(&ph, TS_TC_APPSTORE, "17.253.1.1"), TS_VERDICT_DROP, 0, TS_RULE_IAN_ON_DEMAND_PENDING);
  ts_os_profile_set_quirk(ph.profile, TS_QUIRK_APPSTORE_DOWNLOADER_EXEMPT, 1, TS_SRC_NONE);
  EXPECT(decide(&ph, TS_TC_APPSTORE, "17.253.1.1"), TS_VERDICT_PHYSICAL, ph.en0, TS_RULE_IAN_APPSTORE_EXEMPT);
  phone_free(&ph);
}

/* §1.2 [INF], MV-CL / MV-BLOG / NB-157: the provider's own sockets. */
TS_TEST(rule_provider_sockets_MV_BLOG_MV_CL_NB_157) {
  SETUP(ph);
  vpn_connect(&ph);
  ts_scope utun = {TS_SCOPE_BOUND_IF, ph.utun, TS_IFT_TUNNEL};
  ts_scope vif = {TS_SCOPE_VIRTUAL_IF, 0, TS_IFT_TUNNEL};
  /* Without IAN: unscoped bypasses its own tunnel, utun-bound reaches 10.64.0.1. */
  EXPECT(decide(&ph, TS_TC_PROVIDER, "45.83.220.1"), TS_VERDICT_PHYSICAL, ph.en0, TS_RULE_PROVIDER_BYPASS);
  EXPECT(decide_scoped(&ph, TS_TC_PROVIDER, "10.64.0.1", utun), TS_VERDICT_TUNNEL, ph.utun,
         TS_RULE_SCOPED_INTERFACE);
  EXPECT(decide_scoped(&ph, TS_TC_PROVIDER, "10.64.0.1", vif), TS_VERDICT_TUNNEL, ph.utun,
         TS_RULE_SCOPED_INTERFACE);
  ts_os_profile_set_quirk(ph.profile, TS_QUIRK_PROVIDER_BYPASSES_OWN_TUNNEL, 0, TS_SRC_NONE);
  EXPECT(decide(&ph, TS_TC_PROVIDER, "45.83.220.1"), TS_VERDICT_TUNNEL, ph.utun, TS_RULE_VPN_INCLUDED);
  /* With IAN: tunnel-scoped sockets silently fail, others are captured. */
  set_ian(&ph, true);
  ts_verdict v = decide_scoped(&ph, TS_TC_PROVIDER, "10.64.0.1", utun);
  EXPECT(v, TS_VERDICT_SILENT_FAIL, 0, TS_RULE_IAN_PROVIDER_SILENT_FAIL);
  TS_CHECK_INT(v.quirk, ==, TS_QUIRK_IAN_PROVIDER_TUNNEL_SOCKETS_SILENT_FAIL);
  v = decide_scoped(&ph, TS_TC_PROVIDER, "10.64.0.1", vif);
  EXPECT(v, TS_VERDICT_SILENT_FAIL, 0, TS_RULE_IAN_PROVIDER_SILENT_FAIL);
  TS_CHECK_INT(v.quirk, ==, TS_QUIRK_IAN_VIRTUAL_INTERFACE_NO_PATH);
  EXPECT(decide(&ph, TS_TC_APP, "10.64.0.1"), TS_VERDICT_TUNNEL, ph.utun, TS_RULE_IAN_SCOPED_TO_TUNNEL);
  EXPECT(decide(&ph, TS_TC_PROVIDER, "45.83.220.1"), TS_VERDICT_TUNNEL, ph.utun, TS_RULE_IAN_PROVIDER_CAPTURED);
  ts_os_profile_set_quirk(ph.profile, TS_QUIRK_IAN_CAPTURES_PROVIDER_SOCKETS, 0, TS_SRC_NONE);
  EXPECT(decide(&ph, TS_TC_PROVIDER, "45.83.220.1"), TS_VERDICT_PHYSICAL, ph.en0, TS_RULE_PROVIDER_BYPASS);
  ts_os_profile_set_quirk(ph.profile, TS_QUIRK_IAN_PROVIDER_TUNNEL_SOCKETS_SILENT_FAIL, 0, TS_SRC_NONE);
  EXPECT(decide_scoped(&ph, TS_TC_PROVIDER, "10.64.0.1", utun), TS_VERDICT_TUNNEL, ph.utun,
         TS_RULE_SCOPED_INTERFACE);
  phone_free(&ph);
}

/* ------------------------------------------------------------------ §1.3 */

/* A-ROUTE: under IAN, traffic is dropped while connecting, reasserting and
 * disconnecting; it flows through the tunnel only when connected. */
TS_TEST(rule_ian_away_from_connected_drops_A_ROUTE) {
  SETUP(ph);
  set_ian(&ph, true);
  static const char *const all[] = {"0.0.0.0/0", NULL};
  ts_vpn_settings s;
  settings_with(&s, all);
  ts_vpn_session_start(ph.session, 1, TS_START_USER);
  EXPECT(decide(&ph, TS_TC_APP, "8.8.8.8"), TS_VERDICT_DROP, 0, TS_RULE_IAN_NOT_CONNECTED_DROP);
  ts_vpn_session_set_settings(ph.session, 2, &s);
  EXPECT(decide(&ph, TS_TC_APP, "8.8.8.8"), TS_VERDICT_DROP, 0, TS_RULE_IAN_NOT_CONNECTED_DROP);
  ts_vpn_session_start_completed(ph.session, 3, 0);
  EXPECT(decide(&ph, TS_TC_APP, "8.8.8.8"), TS_VERDICT_TUNNEL, ph.utun, TS_RULE_IAN_SCOPED_TO_TUNNEL);
  ts_vpn_session_set_reasserting(ph.session, 4, true);
  EXPECT(decide(&ph, TS_TC_APP, "8.8.8.8"), TS_VERDICT_DROP, 0, TS_RULE_IAN_NOT_CONNECTED_DROP);
  ts_vpn_session_set_reasserting(ph.session, 5, false);
  ts_vpn_session_stop(ph.session, 6, TS_STOP_USER_INITIATED);
  EXPECT(decide(&ph, TS_TC_APP, "8.8.8.8"), TS_VERDICT_DROP, 0, TS_RULE_IAN_NOT_CONNECTED_DROP);
  /* IVPN-146: after the user disconnects (no on-demand), traffic resumes outside. */
  ts_vpn_session_stop_completed(ph.session, 7);
  EXPECT(decide(&ph, TS_TC_APP, "8.8.8.8"), TS_VERDICT_PHYSICAL, ph.en0, TS_RULE_IAN_USER_DISCONNECTED);
  phone_free(&ph);
}

/* MV-BLOG: IAN with the provider dead and on-demand armed drops everything
 * non-exempt (the update lockout); GAP-1: without on-demand, selectable. */
TS_TEST(rule_ian_provider_dead_on_demand_MV_BLOG_and_quirk_GAP_1) {
  SETUP(ph);
  set_ian(&ph, true);
  vpn_connect(&ph);
  ts_vpn_session_provider_exited(ph.session, ph.now, TS_STOP_APP_UPDATE);
  /* No on-demand: quirk ian-blocks-after-provider-death (default on). */
  ts_verdict v = decide(&ph, TS_TC_APP, "8.8.8.8");
  EXPECT(v, TS_VERDICT_DROP, 0, TS_RULE_IAN_PROVIDER_DIED);
  TS_CHECK_INT(v.quirk, ==, TS_QUIRK_IAN_BLOCKS_AFTER_PROVIDER_DEATH);
  ts_os_profile_set_quirk(ph.profile, TS_QUIRK_IAN_BLOCKS_AFTER_PROVIDER_DEATH, 0, TS_SRC_NONE);
  EXPECT(decide(&ph, TS_TC_APP, "8.8.8.8"), TS_VERDICT_PHYSICAL, ph.en0, TS_RULE_IAN_PROVIDER_DIED);
  ts_od_rule connect = {.action = TS_OD_CONNECT};
  ts_vpn_config_add_on_demand_rule(ph.config, &connect);
  ts_vpn_config_set_on_demand(ph.config, true);
  EXPECT(decide(&ph, TS_TC_APP, "8.8.8.8"), TS_VERDICT_DROP, 0, TS_RULE_IAN_ON_DEMAND_PENDING);
  EXPECT(decide(&ph, TS_TC_CONTROL_PLANE, "192.168.1.1"), TS_VERDICT_PHYSICAL, ph.en0,
         TS_RULE_EXEMPT_CONTROL_PLANE);
  phone_free(&ph);
}

/* A-OD: "armed" follows the first rule that matches the network the phone is on. A
 * Disconnect rule for Wi-Fi means on-demand will not bring the VPN up there, so IAN's
 * on-demand-pending drop does not apply on Wi-Fi; on cellular (Connect) it does. */
TS_TEST(rule_ian_on_demand_pending_follows_the_matching_rule_A_OD) {
  SETUP(ph);
  set_ian(&ph, true);
  vpn_connect(&ph);
  ts_vpn_session_provider_exited(ph.session, ph.now, TS_STOP_PROVIDER_FAILED);
  ts_os_profile_set_quirk(ph.profile, TS_QUIRK_IAN_BLOCKS_AFTER_PROVIDER_DEATH, 0, TS_SRC_NONE);
  ts_od_rule wifi_off = {.action = TS_OD_DISCONNECT, .interface_match = TS_OD_IF_WIFI};
  ts_od_rule connect = {.action = TS_OD_CONNECT, .interface_match = TS_OD_IF_ANY};
  ts_vpn_config_add_on_demand_rule(ph.config, &wifi_off);
  ts_vpn_config_add_on_demand_rule(ph.config, &connect);
  ts_vpn_config_set_on_demand(ph.config, true);
  EXPECT(decide(&ph, TS_TC_APP, "8.8.8.8"), TS_VERDICT_PHYSICAL, ph.en0, TS_RULE_IAN_PROVIDER_DIED);
  ts_os_iface_set_primary(ph.ifaces, ph.cell);
  EXPECT(decide(&ph, TS_TC_APP, "8.8.8.8"), TS_VERDICT_DROP, 0, TS_RULE_IAN_ON_DEMAND_PENDING);
  phone_free(&ph);
}

/* GAP-2: IAN after boot, before the tunnel first starts: selectable. */
TS_TEST(quirk_ian_blocks_at_boot_GAP_2) {
  SETUP(ph);
  set_ian(&ph, true);
  ts_vpn_session_reboot(ph.session, 0);
  EXPECT(decide(&ph, TS_TC_APP, "8.8.8.8"), TS_VERDICT_PHYSICAL, ph.en0, TS_RULE_IAN_BOOT);
  ts_os_profile_set_quirk(ph.profile, TS_QUIRK_IAN_BLOCKS_AT_BOOT, 1, TS_SRC_NONE);
  EXPECT(decide(&ph, TS_TC_APP, "8.8.8.8"), TS_VERDICT_DROP, 0, TS_RULE_IAN_BOOT);
  phone_free(&ph);
}

/* GT-04 (INF from A-ROUTE's precedence): without IAN the VPN's routes only exist
 * once settings are applied: before that, and after the provider dies, traffic
 * uses the physical interface. */
TS_TEST(rule_route_based_vpn_leaks_without_routes_A_ROUTE) {
  SETUP(ph);
  ts_vpn_session_start(ph.session, 1, TS_START_ON_DEMAND);
  EXPECT(decide(&ph, TS_TC_APP, "8.8.8.8"), TS_VERDICT_PHYSICAL, ph.en0, TS_RULE_SYSTEM_TABLE);
  static const char *const all[] = {"0.0.0.0/0", NULL};
  ts_vpn_settings s;
  settings_with(&s, all);
  ts_vpn_session_set_settings(ph.session, 2, &s);
  EXPECT(decide(&ph, TS_TC_APP, "8.8.8.8"), TS_VERDICT_TUNNEL, ph.utun, TS_RULE_VPN_INCLUDED);
  ts_vpn_session_start_completed(ph.session, 3, 0);
  ts_vpn_session_provider_exited(ph.session, 4, TS_STOP_NONE);
  EXPECT(decide(&ph, TS_TC_APP, "8.8.8.8"), TS_VERDICT_PHYSICAL, ph.en0, TS_RULE_SYSTEM_TABLE);
  phone_free(&ph);
}

/* IVPN-283 (iOS 16.0), GAP-5: after an update relaunch the session is connected but
 * the routes are missing: traffic leaks. Without the quirk it is tunnelled. */
TS_TEST(quirk_update_relaunch_skips_routes_IVPN_283) {
  SETUP(ph);
  static const char *const all[] = {"0.0.0.0/0", NULL};
  ts_vpn_settings s;
  settings_with(&s, all);
  ts_os_profile_set_quirk(ph.profile, TS_QUIRK_UPDATE_RELAUNCH_SKIPS_ROUTES, 1, TS_SRC_IVPN_283);
  vpn_connect_with(&ph, &s, TS_START_UPDATE_RELAUNCH);
  TS_CHECK_INT(ts_vpn_session_status(ph.session), ==, TS_VPN_CONNECTED);
  EXPECT(decide(&ph, TS_TC_APP, "8.8.8.8"), TS_VERDICT_PHYSICAL, ph.en0, TS_RULE_SYSTEM_TABLE);
  ts_vpn_session_stop(ph.session, ph.now, TS_STOP_USER_INITIATED);
  ts_vpn_session_stop_completed(ph.session, ph.now);
  vpn_connect_with(&ph, &s, TS_START_USER); /* manual reconnect fixes it */
  EXPECT(decide(&ph, TS_TC_APP, "8.8.8.8"), TS_VERDICT_TUNNEL, ph.utun, TS_RULE_VPN_INCLUDED);
  phone_free(&ph);
}

/* ------------------------------------------------------------------ §1.4 */

/* A-ROUTE §1.3: with IAN, connections established before the tunnel started are
 * not closed but dropped; PROTON/HOROWITZ §1.4: without IAN they keep their path.
 * Missing rule: the IAN case would tunnel it, the non-IAN case would tunnel it. */
TS_TEST(rule_preexisting_connections_A_ROUTE_PROTON) {
  SETUP(ph);
  ts_policy_flow old = {.cls = TS_TC_APP, .dst = ts_test_addr("8.8.8.8"), .pre_tunnel = true,
                        .established_iface = ph.en0};
  ts_verdict v;
  vpn_connect(&ph);
  ts_policy_decide(&ph.env, &old, &v);
  EXPECT(v, TS_VERDICT_PHYSICAL, ph.en0, TS_RULE_PREEXISTING_KEEPS_PATH);
  TS_CHECK(ts_policy_decide_arrival(&ph.env, &old, ph.en0, &v));
  set_ian(&ph, true);
  ts_policy_decide(&ph.env, &old, &v);
  EXPECT(v, TS_VERDICT_DROP, 0, TS_RULE_IAN_PREEXISTING_DROP);
  TS_CHECK(!ts_policy_decide_arrival(&ph.env, &old, ph.en0, &v));
  TS_CHECK_INT(v.rule, ==, TS_RULE_IAN_PREEXISTING_DROP);
  /* An exempt class keeps working (its exemption comes first). */
  old.cls = TS_TC_APNS;
  ts_policy_decide(&ph.env, &old, &v);
  EXPECT(v, TS_VERDICT_PHYSICAL, ph.en0, TS_RULE_IAN_EXCLUDE_APNS);
  phone_free(&ph);
}

/* GAP-7 / MV-CODE: reasserting true -> false invalidating sockets is selectable:
 * with the quirk a connection made before the toggle counts as pre-existing. */
TS_TEST(quirk_reasserting_invalidates_sockets_GAP_7) {
  SETUP(ph);
  set_ian(&ph, true);
  vpn_connect(&ph);
  uint64_t epoch = ts_vpn_session_epoch(ph.session);
  ts_vpn_session_set_reasserting(ph.session, ph.now, true);
  ts_vpn_session_set_reasserting(ph.session, ph.now, false);
  TS_CHECK_INT(ts_vpn_session_epoch(ph.session), ==, epoch);
  ts_os_profile_set_quirk(ph.profile, TS_QUIRK_REASSERTING_INVALIDATES_SOCKETS, 1, TS_SRC_NONE);
  ts_vpn_session_set_reasserting(ph.session, ph.now, true);
  ts_vpn_session_set_reasserting(ph.session, ph.now, false);
  TS_CHECK_INT(ts_vpn_session_epoch(ph.session), ==, epoch + 1);
  phone_free(&ph);
}

/* Loopback stays local whatever the VPN says. */
TS_TEST(rule_loopback) {
  SETUP(ph);
  set_ian(&ph, true);
  vpn_connect(&ph);
  EXPECT(decide(&ph, TS_TC_APP, "127.0.0.1"), TS_VERDICT_LOOPBACK, ph.lo, TS_RULE_LOOPBACK);
  EXPECT(decide(&ph, TS_TC_APP, "::1"), TS_VERDICT_LOOPBACK, ph.lo, TS_RULE_LOOPBACK);
  phone_free(&ph);
}

/* Arrivals get the same decision: a packet for a tunnelled flow arriving on en0 is
 * not delivered. */
TS_TEST(rule_arrival_same_decision) {
  SETUP(ph);
  vpn_connect(&ph);
  ts_policy_flow f = {.cls = TS_TC_APP, .dst = ts_test_addr("8.8.8.8")};
  ts_verdict v;
  TS_CHECK(ts_policy_decide_arrival(&ph.env, &f, ph.utun, &v));
  TS_CHECK(!ts_policy_decide_arrival(&ph.env, &f, ph.en0, &v));
  TS_CHECK_INT(v.rule, ==, TS_RULE_ARRIVAL_MISMATCH);
  char buf[200];
  ts_policy_decide(&ph.env, &f, &v);
  ts_verdict_format(&v, &ph.env, buf, sizeof buf);
  TS_CHECK_STR(buf, "tunnel utun0 by vpn-included-route [A-ROUTE] via vpn-included");
  (void)no_scope;
  phone_free(&ph);
}

/* Every rule and quirk cites a known source. */
TS_TEST(model_tables_complete) {
  for (int r = 1; r < TS_RULE_COUNT; r++) {
    const ts_os_rule_info *i = ts_os_rule_get((ts_os_rule)r);
    TS_CHECK(i && i->name && i->summary && i->section);
  }
  for (int q = 1; q < TS_QUIRK_COUNT; q++) {
    const ts_os_quirk_info *i = ts_os_quirk_get((ts_os_quirk)q);
    TS_CHECK(i && i->name && i->sources[0] != TS_SRC_NONE);
    TS_CHECK_INT(ts_os_quirk_find(i->name), ==, q);
  }
  for (int s = 1; s < TS_SRC_COUNT; s++) {
    TS_CHECK_INT(ts_os_source_find(ts_os_source_key((ts_os_source)s)), ==, s);
  }
}

int main(int argc, char **argv) { return ts_test_main(argc, argv); }
