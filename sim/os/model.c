/* The tables behind ts_os_model.h. Each row cites its source; the same text is
 * in docs/model-reference.md. */
#include <string.h>

#include "ts_os_model.h"

#define COUNT(a) (sizeof(a) / sizeof *(a))

typedef struct source_row {
  const char *key;
  const char *title;
} source_row;

static const source_row sources[TS_SRC_COUNT] = {
    [TS_SRC_NONE] = {"", "no source"},
    [TS_SRC_A_ROUTE] = {"A-ROUTE", "Apple, Routing your VPN network traffic"},
    [TS_SRC_A_IAN] = {"A-IAN", "Apple, NEVPNProtocol.includeAllNetworks"},
    [TS_SRC_A_ELN] = {"A-ELN", "Apple, NEVPNProtocol.excludeLocalNetworks"},
    [TS_SRC_A_APNS] = {"A-APNS", "Apple, NEVPNProtocol.excludeAPNs"},
    [TS_SRC_A_HDR] = {"A-HDR", "NEVPNProtocol.h SDK header"},
    [TS_SRC_A_PTNS] = {"A-PTNS", "NEPacketTunnelNetworkSettings.h"},
    [TS_SRC_A_OD] = {"A-OD", "Apple, NEOnDemandRule and friends"},
    [TS_SRC_A_STOP] = {"A-STOP", "Apple, NEProviderStopReason"},
    [TS_SRC_A_REASSERT] = {"A-REASSERT", "Apple, NETunnelProvider.reasserting"},
    [TS_SRC_A_SLEEP] = {"A-SLEEP", "Apple, NEProvider.sleep/wake"},
    [TS_SRC_A_VIF] = {"A-VIF", "Apple, NEPacketTunnelProvider.virtualInterface (iOS 18)"},
    [TS_SRC_A_NWTCP] = {"A-NWTCP", "NWTCPConnection deprecated in iOS 18"},
    [TS_SRC_F_MEM] = {"F-MEM", "Apple DTS, memory limit for a network extension"},
    [TS_SRC_F_60S] = {"F-60S", "Apple forums, 60s timer when instantiating PacketTunnelProvider"},
    [TS_SRC_F_EXCL] = {"F-EXCL", "Apple forums, excludedRoutes ignored with includeAllNetworks"},
    [TS_SRC_MV_BLOG] = {"MV-BLOG", "Mullvad, Why we still don't use includeAllNetworks (2025)"},
    [TS_SRC_MV_FAA] = {"MV-FAA", "Mullvad, Force all app traffic into the tunnel (2026)"},
    [TS_SRC_MV_TC] = {"MV-TC", "Mullvad, Response to TunnelCrack (2023)"},
    [TS_SRC_MV_KI] = {"MV-KI", "Mullvad docs/known-issues.md"},
    [TS_SRC_MV_CL] = {"MV-CL", "Mullvad ios/CHANGELOG.md"},
    [TS_SRC_TC_WEB] = {"TC-WEB", "TunnelCrack website"},
    [TS_SRC_TC_GH] = {"TC-GH", "vanhoefm/vpnleaks README"},
    [TS_SRC_TC_BH] = {"TC-BH", "Vanhoef, Black Hat Europe 2023 slides"},
    [TS_SRC_TC_PAPER] = {"TC-PAPER", "Xue et al., USENIX Security 2023"},
    [TS_SRC_TV] = {"TV", "Leviathan Security, TunnelVision (CVE-2024-3661)"},
    [TS_SRC_PROTON] = {"PROTON", "Proton VPN, Apple iOS vulnerability disclosure (2020)"},
    [TS_SRC_HOROWITZ] = {"HOROWITZ", "Michael Horowitz, iOS VPN leaks (2022)"},
    [TS_SRC_MYSK] = {"MYSK", "Mysk, iOS 16 talks to Apple outside the VPN (2022)"},
    [TS_SRC_DISCONNECT] = {"DISCONNECT", "Disconnect.me, iOS VPN leak advisory"},
    [TS_SRC_IVPN_146] = {"IVPN-146", "ivpn/ios-app#146 (kill switch, iOS 14/15)"},
    [TS_SRC_IVPN_283] = {"IVPN-283", "ivpn/ios-app#283 (iOS 16 update leak)"},
    [TS_SRC_IVPN_360] = {"IVPN-360", "ivpn/ios-app#360 (kill switch removed for iOS 16+)"},
    [TS_SRC_IVPN_216] = {"IVPN-216", "ivpn/ios-app#216"},
    [TS_SRC_IVPN_230] = {"IVPN-230", "ivpn/ios-app#230"},
    [TS_SRC_WG] = {"WG", "WireGuard/wireguard-apple"},
    [TS_SRC_NB_157] = {"NB-157", "netbird/ios-client#157 (provider sockets captured under IAN)"},
    [TS_SRC_MV_CODE] = {"MV-CODE", "mullvad/mullvadvpn-app code (LeakTests.swift, reasserting toggle)"},
    [TS_SRC_RFC3442] = {"RFC3442", "RFC 3442, DHCP classless static route option"},
    [TS_SRC_GAP_1] = {"GAP-1", "ios-model.md §8.1: IAN, provider not running, no on-demand"},
    [TS_SRC_GAP_2] = {"GAP-2", "ios-model.md §8.2: IAN during boot before on-demand"},
    [TS_SRC_GAP_3] = {"GAP-3", "ios-model.md §8.3: mechanism of the update lockout"},
    [TS_SRC_GAP_4] = {"GAP-4", "ios-model.md §8.4: TunnelCrack per-OS counts"},
    [TS_SRC_GAP_5] = {"GAP-5", "ios-model.md §8.5: whether iOS 16.1 fixed IVPN-283"},
    [TS_SRC_GAP_6] = {"GAP-6", "ios-model.md §8.6: Apple services bypassing the tunnel"},
    [TS_SRC_GAP_7] = {"GAP-7", "ios-model.md §8.7: whether reasserting invalidates sockets"},
};

const char *ts_os_source_key(ts_os_source s) {
  return (unsigned)s < TS_SRC_COUNT ? sources[s].key : NULL;
}

const char *ts_os_source_title(ts_os_source s) {
  return (unsigned)s < TS_SRC_COUNT ? sources[s].title : NULL;
}

ts_os_source ts_os_source_find(const char *key) {
  if (!key || !*key) return TS_SRC_NONE;
  for (int i = 1; i < TS_SRC_COUNT; i++) {
    if (strcmp(sources[i].key, key) == 0) return (ts_os_source)i;
  }
  return TS_SRC_NONE;
}

const char *ts_os_tag_name(ts_os_tag t) {
  static const char *const names[] = {"DOC", "REP", "CODE", "INF"};
  return (unsigned)t < COUNT(names) ? names[t] : NULL;
}

/* ------------------------------------------------------------------ flags */

static const ts_vpn_flag_info flags[TS_FLAG_COUNT] = {
    [TS_FLAG_INCLUDE_ALL_NETWORKS] = {"includeAllNetworks", "14.0", TS_SRC_A_IAN,
                                      "scope connections to the tunnel, with exceptions"},
    [TS_FLAG_EXCLUDE_LOCAL_NETWORKS] = {"excludeLocalNetworks", "14.2", TS_SRC_A_ELN,
                                        "local-network hosts bypass IAN/enforceRoutes"},
    [TS_FLAG_EXCLUDE_CELLULAR_SERVICES] = {"excludeCellularServices", "16.4", TS_SRC_A_HDR,
                                           "internet-routable cellular services bypass IAN"},
    [TS_FLAG_EXCLUDE_APNS] = {"excludeAPNs", "16.4", TS_SRC_A_APNS, "APNs bypasses IAN"},
    [TS_FLAG_EXCLUDE_DEVICE_COMMUNICATION] = {"excludeDeviceCommunication", "17.4", TS_SRC_A_HDR,
                                              "USB / Wi-Fi device communication bypasses IAN"},
    [TS_FLAG_ENFORCE_ROUTES] = {"enforceRoutes", "14.2", TS_SRC_A_ROUTE,
                                "VPN routes supersede the system table and scoping"},
    [TS_FLAG_DISCONNECT_ON_SLEEP] = {"disconnectOnSleep", "8.0", TS_SRC_A_HDR,
                                     "disconnect when the device sleeps"},
};

const ts_vpn_flag_info *ts_vpn_flag_get(ts_vpn_flag f) {
  return (unsigned)f < TS_FLAG_COUNT ? &flags[f] : NULL;
}

int ts_vpn_flag_find(const char *name) {
  for (int i = 0; name && i < TS_FLAG_COUNT; i++) {
    if (strcmp(flags[i].name, name) == 0) return i;
  }
  return -1;
}

/* --------------------------------------------------------- traffic classes */

static const char *const class_names[TS_TC_COUNT] = {
    [TS_TC_APP] = "app",
    [TS_TC_PROVIDER] = "provider",
    [TS_TC_CONTROL_PLANE] = "control-plane",
    [TS_TC_CAPTIVE] = "captive-portal",
    [TS_TC_CELLULAR_CARRIER] = "cellular-carrier",
    [TS_TC_COMPANION] = "companion",
    [TS_TC_APNS] = "apns",
    [TS_TC_CELLULAR_SERVICES] = "cellular-services",
    [TS_TC_DEVICE_COMM] = "device-communication",
    [TS_TC_APPSTORE] = "appstore-downloader",
};

const char *ts_traffic_class_name(ts_traffic_class c) {
  return (unsigned)c < TS_TC_COUNT ? class_names[c] : NULL;
}

int ts_traffic_class_find(const char *name) {
  for (int i = 0; name && i < TS_TC_COUNT; i++) {
    if (strcmp(class_names[i], name) == 0) return i;
  }
  return -1;
}

/* ------------------------------------------------------------------ quirks */

static const ts_os_quirk_info quirks[TS_QUIRK_COUNT] = {
    [TS_QUIRK_VPN_ROUTE_PRECEDENCE] = {
        "vpn-route-precedence", TS_TAG_INF, {TS_SRC_A_ROUTE},
        {"system-table-first", "longest-prefix"}, TS_ROUTE_PRECEDENCE_SYSTEM_FIRST, NULL,
        "how 'the system routing table supersedes includedRoutes/excludedRoutes' is read: any "
        "non-default system route wins (system-table-first), or one longest-prefix table"},
    [TS_QUIRK_EXCLUDED_ROUTES_IGNORED_WHEN_FORCED] = {
        "excluded-routes-ignored-when-forced", TS_TAG_REP, {TS_SRC_F_EXCL}, {NULL}, 1, NULL,
        "with includeAllNetworks or enforceRoutes the VPN's excludedRoutes are ignored"},
    [TS_QUIRK_PROVIDER_BYPASSES_OWN_TUNNEL] = {
        "provider-bypasses-own-tunnel", TS_TAG_REP, {TS_SRC_MV_CL, TS_SRC_MV_BLOG}, {NULL}, 1, NULL,
        "without includeAllNetworks the provider's unscoped sockets use the physical interface"},
    [TS_QUIRK_IAN_PROVIDER_TUNNEL_SOCKETS_SILENT_FAIL] = {
        "ian-provider-tunnel-sockets-silent-fail", TS_TAG_REP, {TS_SRC_MV_BLOG}, {NULL}, 1, NULL,
        "under includeAllNetworks the provider's sockets bound to its utun (IP_BOUND_IF, "
        "NWTCPConnection through the tunnel) send without error and nothing arrives"},
    [TS_QUIRK_IAN_VIRTUAL_INTERFACE_NO_PATH] = {
        "ian-virtual-interface-no-path", TS_TAG_REP, {TS_SRC_MV_BLOG, TS_SRC_A_VIF}, {NULL}, 1, NULL,
        "under includeAllNetworks an NWConnection with requiredInterface = virtualInterface "
        "never gets a path"},
    [TS_QUIRK_IAN_CAPTURES_PROVIDER_SOCKETS] = {
        "ian-captures-provider-sockets", TS_TAG_REP, {TS_SRC_NB_157}, {NULL}, 1, NULL,
        "under includeAllNetworks the provider's sockets to hosts other than the VPN server are "
        "captured into its own tunnel (else they use the physical interface)"},
    [TS_QUIRK_IAN_APPLE_SERVICES_BYPASS] = {
        "ian-apple-services-bypass", TS_TAG_REP, {TS_SRC_IVPN_360, TS_SRC_MYSK, TS_SRC_GAP_6},
        {NULL}, 0, "§8.6",
        "Apple services (modelled: APNs) bypass includeAllNetworks even without excludeAPNs"},
    [TS_QUIRK_IAN_BLOCKS_AFTER_PROVIDER_DEATH] = {
        "ian-blocks-after-provider-death", TS_TAG_INF, {TS_SRC_GAP_1, TS_SRC_IVPN_146}, {NULL}, 1,
        "§8.1",
        "under includeAllNetworks, traffic is dropped after the provider died or failed with no "
        "on-demand armed (else it flows outside the tunnel as after a user disconnect)"},
    [TS_QUIRK_IAN_BLOCKS_AT_BOOT] = {
        "ian-blocks-at-boot", TS_TAG_INF, {TS_SRC_GAP_2, TS_SRC_A_ROUTE}, {NULL}, 0, "§8.2",
        "under includeAllNetworks, traffic is dropped after boot before the tunnel first starts"},
    [TS_QUIRK_APPSTORE_DOWNLOADER_EXEMPT] = {
        "appstore-downloader-exempt", TS_TAG_INF, {TS_SRC_GAP_3, TS_SRC_MV_BLOG}, {NULL}, 0, "§8.3",
        "the App Store downloader is exempt from includeAllNetworks"},
    [TS_QUIRK_UPDATE_RELAUNCH_SKIPS_ROUTES] = {
        "update-relaunch-skips-routes", TS_TAG_REP, {TS_SRC_IVPN_283, TS_SRC_GAP_5}, {NULL}, 0,
        "§8.5",
        "after a relaunch for an app update the session reports connected but the tunnel's "
        "routes are not installed"},
    [TS_QUIRK_REASSERTING_INVALIDATES_SOCKETS] = {
        "reasserting-invalidates-sockets", TS_TAG_INF, {TS_SRC_GAP_7, TS_SRC_MV_CODE}, {NULL}, 0,
        "§8.7",
        "reasserting true->false makes every established connection pre-existing, as a new "
        "tunnel start does"},
    [TS_QUIRK_LOCAL_NETWORK_INCLUDES_PUBLIC_SUBNETS] = {
        "local-network-includes-public-subnets", TS_TAG_REP, {TS_SRC_TC_WEB, TS_SRC_TC_BH, TS_SRC_MV_KI},
        {NULL}, 1, NULL,
        "excludeLocalNetworks treats any on-link subnet as local, even a public one (LocalNet); "
        "else only private and link-local ranges"},
    [TS_QUIRK_LOCAL_NETWORK_INCLUDES_DHCP_ROUTES] = {
        "local-network-includes-dhcp-routes", TS_TAG_INF, {TS_SRC_TV}, {NULL}, 0, NULL,
        "excludeLocalNetworks also exempts destinations of DHCP option 121 routes"},
};

const ts_os_quirk_info *ts_os_quirk_get(ts_os_quirk q) {
  return q > TS_QUIRK_NONE && q < TS_QUIRK_COUNT ? &quirks[q] : NULL;
}

ts_os_quirk ts_os_quirk_find(const char *name) {
  for (int i = 1; name && i < TS_QUIRK_COUNT; i++) {
    if (strcmp(quirks[i].name, name) == 0) return (ts_os_quirk)i;
  }
  return TS_QUIRK_NONE;
}

bool ts_os_quirk_accepts_source(ts_os_quirk q, ts_os_source s) {
  const ts_os_quirk_info *info = ts_os_quirk_get(q);
  for (int i = 0; info && i < TS_OS_QUIRK_MAX_SOURCES; i++) {
    if (info->sources[i] != TS_SRC_NONE && info->sources[i] == s) return true;
  }
  return false;
}

int ts_os_quirk_value_count(ts_os_quirk q) {
  const ts_os_quirk_info *info = ts_os_quirk_get(q);
  if (!info) return 0;
  if (!info->values[0]) return 2;
  int n = 0;
  while (n < TS_OS_QUIRK_MAX_VALUES && info->values[n]) n++;
  return n;
}

const char *ts_os_quirk_value_name(ts_os_quirk q, int value) {
  const ts_os_quirk_info *info = ts_os_quirk_get(q);
  if (!info || value < 0 || value >= ts_os_quirk_value_count(q)) return NULL;
  if (!info->values[0]) return value ? "true" : "false";
  return info->values[value];
}

/* ------------------------------------------------------------------- rules */

static const ts_os_rule_info rules[TS_RULE_COUNT] = {
    [TS_RULE_LOOPBACK] = {"loopback", TS_TAG_INF, TS_SRC_NONE, "§6",
                          "loopback destinations stay on lo0"},
    [TS_RULE_EXEMPT_CONTROL_PLANE] = {"exempt-control-plane", TS_TAG_DOC, TS_SRC_A_ROUTE, "§1.2.1",
                                      "DHCP and local-network control traffic never enters the tunnel"},
    [TS_RULE_EXEMPT_VPN_SERVER] = {"exempt-vpn-server", TS_TAG_DOC, TS_SRC_A_ROUTE, "§1.2.1",
                                   "the provider's traffic to the VPN server (tunnelRemoteAddress) "
                                   "uses the physical interface"},
    [TS_RULE_EXEMPT_CAPTIVE] = {"exempt-captive-portal", TS_TAG_DOC, TS_SRC_A_ROUTE, "§1.2.2",
                                "captive portal negotiation never enters the tunnel"},
    [TS_RULE_EXEMPT_CELLULAR_CARRIER] = {"exempt-cellular-carrier", TS_TAG_DOC, TS_SRC_A_ROUTE,
                                         "§1.2.3",
                                         "carrier-network cellular services (VoLTE) never enter the tunnel"},
    [TS_RULE_EXEMPT_COMPANION] = {"exempt-companion", TS_TAG_DOC, TS_SRC_A_ROUTE, "§1.2.4",
                                  "companion-device traffic (Apple Watch) never enters the tunnel"},
    [TS_RULE_PROVIDER_BYPASS] = {"provider-bypass", TS_TAG_REP, TS_SRC_MV_CL, "§1.2",
                                 "the provider's own unscoped sockets use the physical interface "
                                 "(quirk provider-bypasses-own-tunnel, or ian-captures-provider-sockets off)"},
    [TS_RULE_IAN_PROVIDER_SILENT_FAIL] = {"ian-provider-silent-fail", TS_TAG_REP, TS_SRC_MV_BLOG,
                                          "§1.2, §2.4",
                                          "under IAN the provider's tunnel-scoped sockets silently fail"},
    [TS_RULE_IAN_PROVIDER_CAPTURED] = {"ian-provider-captured", TS_TAG_REP, TS_SRC_NB_157, "§1.2, §4",
                                       "under IAN the provider's other sockets are captured like any app's"},
    [TS_RULE_IAN_EXCLUDE_APNS] = {"ian-exclude-apns", TS_TAG_DOC, TS_SRC_A_APNS, "§1.1, §1.2.5",
                                  "excludeAPNs: APNs traffic bypasses IAN"},
    [TS_RULE_IAN_EXCLUDE_CELLULAR_SERVICES] = {"ian-exclude-cellular-services", TS_TAG_DOC,
                                               TS_SRC_A_HDR, "§1.1, §1.2.5",
                                               "excludeCellularServices: internet-routable "
                                               "cellular services bypass IAN"},
    [TS_RULE_IAN_EXCLUDE_DEVICE_COMM] = {"ian-exclude-device-communication", TS_TAG_DOC, TS_SRC_A_HDR,
                                         "§1.1, §1.2.5",
                                         "excludeDeviceCommunication: device traffic bypasses IAN"},
    [TS_RULE_IAN_EXCLUDE_LOCAL_NETWORKS] = {"ian-exclude-local-networks", TS_TAG_DOC, TS_SRC_A_ELN,
                                            "§1.1, §1.2.5",
                                            "excludeLocalNetworks: local-network hosts bypass IAN"},
    [TS_RULE_IAN_APPLE_SERVICES_BYPASS] = {"ian-apple-services-bypass", TS_TAG_REP, TS_SRC_IVPN_360,
                                           "§2.2", "quirk: Apple services bypass IAN"},
    [TS_RULE_IAN_APPSTORE_EXEMPT] = {"ian-appstore-exempt", TS_TAG_INF, TS_SRC_GAP_3, "§8.3",
                                     "quirk: the App Store downloader bypasses IAN"},
    [TS_RULE_IAN_EXCLUDED_ROUTE] = {"ian-excluded-route", TS_TAG_INF, TS_SRC_F_EXCL, "§1.1",
                                    "excludedRoutes honoured under IAN (quirk "
                                    "excluded-routes-ignored-when-forced off)"},
    [TS_RULE_IAN_PREEXISTING_DROP] = {"ian-preexisting-drop", TS_TAG_DOC, TS_SRC_A_ROUTE, "§1.3, §1.4",
                                      "under IAN connections established before the tunnel started "
                                      "are not closed but their packets are dropped"},
    [TS_RULE_IAN_SCOPED_TO_TUNNEL] = {"ian-scoped-to-tunnel", TS_TAG_DOC, TS_SRC_A_ROUTE, "§1.1",
                                      "under IAN with the VPN connected, connections are scoped to "
                                      "the tunnel (over the table and apps' scoping)"},
    [TS_RULE_IAN_NOT_CONNECTED_DROP] = {"ian-not-connected-drop", TS_TAG_DOC, TS_SRC_A_ROUTE, "§1.3",
                                        "under IAN traffic is dropped while connecting, reasserting "
                                        "or disconnecting"},
    [TS_RULE_IAN_USER_DISCONNECTED] = {"ian-user-disconnected", TS_TAG_REP, TS_SRC_IVPN_146, "§1.3",
                                       "under IAN, after the user disconnected (no on-demand), "
                                       "traffic resumes outside the tunnel"},
    [TS_RULE_IAN_ON_DEMAND_PENDING] = {"ian-on-demand-pending", TS_TAG_REP, TS_SRC_MV_BLOG, "§1.3",
                                       "under IAN, with the provider not running and on-demand "
                                       "armed, traffic is dropped"},
    [TS_RULE_IAN_PROVIDER_DIED] = {"ian-provider-died", TS_TAG_INF, TS_SRC_GAP_1, "§8.1",
                                   "quirk ian-blocks-after-provider-death: under IAN, provider "
                                   "died without on-demand: dropped"},
    [TS_RULE_IAN_BOOT] = {"ian-boot", TS_TAG_INF, TS_SRC_GAP_2, "§8.2",
                          "quirk ian-blocks-at-boot: under IAN, dropped before the first start"},
    [TS_RULE_PREEXISTING_KEEPS_PATH] = {"preexisting-keeps-path", TS_TAG_REP, TS_SRC_PROTON, "§1.4",
                                        "without IAN a connection established before the tunnel "
                                        "keeps its interface"},
    [TS_RULE_ENFORCE_INCLUDED] = {"enforce-included", TS_TAG_DOC, TS_SRC_A_ROUTE, "§1.1",
                                  "enforceRoutes: includedRoutes go to the tunnel over the table "
                                  "and scoping"},
    [TS_RULE_ENFORCE_EXCLUDED] = {"enforce-excluded", TS_TAG_DOC, TS_SRC_A_ROUTE, "§1.1",
                                  "enforceRoutes: excludedRoutes go to the primary interface"},
    [TS_RULE_ENFORCE_LOCAL_EXEMPT] = {"enforce-local-exempt", TS_TAG_DOC, TS_SRC_A_ROUTE, "§1.1",
                                      "enforceRoutes with excludeLocalNetworks: local hosts are not forced"},
    [TS_RULE_SCOPED_INTERFACE] = {"scoped-interface", TS_TAG_DOC, TS_SRC_A_ROUTE, "§1.1",
                                  "a scoped connection (IP_BOUND_IF, requiredInterfaceType, "
                                  "requiredInterface) uses its interface over the table"},
    [TS_RULE_SYSTEM_ROUTE_SUPERSEDES] = {"system-route-supersedes", TS_TAG_DOC, TS_SRC_A_ROUTE, "§1.1",
                                         "a system route (local network, DHCP) supersedes the "
                                         "VPN's routes"},
    [TS_RULE_VPN_INCLUDED] = {"vpn-included-route", TS_TAG_DOC, TS_SRC_A_ROUTE, "§1.1",
                              "an includedRoute sends the destination into the tunnel"},
    [TS_RULE_VPN_EXCLUDED] = {"vpn-excluded-route", TS_TAG_DOC, TS_SRC_A_ROUTE, "§1.1",
                              "an excludedRoute keeps the destination outside the tunnel"},
    [TS_RULE_SYSTEM_TABLE] = {"system-table", TS_TAG_INF, TS_SRC_NONE, "§6",
                              "no VPN route applies: the system routing table decides"},
    [TS_RULE_NO_ROUTE] = {"no-route", TS_TAG_INF, TS_SRC_NONE, "§6",
                          "no usable route or interface: dropped"},
    [TS_RULE_SCOPE_UNAVAILABLE] = {"scope-unavailable", TS_TAG_INF, TS_SRC_A_ROUTE, "§1.1",
                                   "the scoped interface is absent or down: no path"},
    [TS_RULE_ARRIVAL_MISMATCH] = {"arrival-mismatch", TS_TAG_INF, TS_SRC_NONE, "§6",
                                  "a packet arrived on another interface than the socket's path"},
};

const ts_os_rule_info *ts_os_rule_get(ts_os_rule r) {
  return r > TS_RULE_NONE && r < TS_RULE_COUNT ? &rules[r] : NULL;
}
