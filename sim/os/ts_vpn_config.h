/* The VPN configuration as the system stores it: the NEVPNProtocol flags (with
 * their availability and defaults from the OS profile), whether the configuration
 * is enabled, the on-demand flag and rules (stored here, evaluated by the
 * lifecycle), and the tunnel network settings a provider passes to
 * setTunnelNetworkSettings (plain value type ts_vpn_settings: addresses,
 * included/excluded routes, DNS and match domains, tunnelRemoteAddress, MTU). */
#ifndef TS_VPN_CONFIG_H
#define TS_VPN_CONFIG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "ts_error.h"
#include "ts_ipsum.h"
#include "ts_os_iface.h"
#include "ts_os_profile.h"

#define TS_VPN_MAX_ROUTES 64
#define TS_VPN_MAX_ADDRESSES 4
#define TS_VPN_MAX_DNS 8
#define TS_VPN_MAX_DOMAINS 16
#define TS_VPN_DOMAIN_MAX 128
#define TS_VPN_MAX_OD_RULES 16
#define TS_VPN_MAX_SSIDS 8
#define TS_VPN_SSID_MAX 33

/* NEPacketTunnelNetworkSettings, both families in one value. */
typedef struct ts_vpn_settings {
  ts_ipaddr tunnel_remote_address;            /* family 0 when unset */
  ts_ipprefix addresses[TS_VPN_MAX_ADDRESSES];
  size_t address_count;
  ts_ipprefix included[TS_VPN_MAX_ROUTES];    /* includedRoutes (0.0.0.0/0 = default route) */
  size_t included_count;
  ts_ipprefix excluded[TS_VPN_MAX_ROUTES];    /* excludedRoutes */
  size_t excluded_count;
  ts_ipaddr dns_servers[TS_VPN_MAX_DNS];
  size_t dns_count;
  char match_domains[TS_VPN_MAX_DOMAINS][TS_VPN_DOMAIN_MAX]; /* "" matches every domain */
  size_t match_domain_count;
  uint32_t mtu;                               /* 0 = automatic */
} ts_vpn_settings;

void ts_vpn_settings_init(ts_vpn_settings *s);
int ts_vpn_settings_add_address(ts_vpn_settings *s, const ts_ipprefix *p);
int ts_vpn_settings_include(ts_vpn_settings *s, const ts_ipprefix *p);
int ts_vpn_settings_exclude(ts_vpn_settings *s, const ts_ipprefix *p);
int ts_vpn_settings_add_dns(ts_vpn_settings *s, const ts_ipaddr *server);
int ts_vpn_settings_add_match_domain(ts_vpn_settings *s, const char *domain);

/* The VPN's own routes for dst: 0 = none, 1 = included, 2 = excluded (longest
 * prefix; an excluded route wins a tie; with_excluded false ignores excludedRoutes).
 * *matched (may be NULL) gets the route. */
int ts_vpn_settings_lookup(const ts_vpn_settings *s, const ts_ipaddr *dst, bool with_excluded,
                           ts_ipprefix *matched);

/* NEOnDemandRule (A-OD): evaluated in order by the lifecycle, first match wins. */
typedef enum ts_od_action {
  TS_OD_CONNECT = 0,
  TS_OD_DISCONNECT,
  TS_OD_EVALUATE_CONNECTION,
  TS_OD_IGNORE
} ts_od_action;

typedef enum ts_od_interface_match {
  TS_OD_IF_ANY = 0,
  TS_OD_IF_WIFI,
  TS_OD_IF_CELLULAR,
  TS_OD_IF_ETHERNET
} ts_od_interface_match;

typedef struct ts_od_rule {
  ts_od_action action;
  ts_od_interface_match interface_match;
  char ssids[TS_VPN_MAX_SSIDS][TS_VPN_SSID_MAX]; /* ssidMatch; empty = any */
  size_t ssid_count;
} ts_od_rule;

typedef struct ts_vpn_config ts_vpn_config;

/* Flags start at the profile's defaults; the profile must outlive the config. */
int ts_vpn_config_create(ts_vpn_config **out, const ts_os_profile *profile);
void ts_vpn_config_destroy(ts_vpn_config *c);
const ts_os_profile *ts_vpn_config_profile(const ts_vpn_config *c);

/* TS_ENOTSUP when the profile's OS has no such flag. */
int ts_vpn_config_set_flag(ts_vpn_config *c, ts_vpn_flag f, bool value);
/* The effective value: false when the OS has no such flag. */
bool ts_vpn_config_flag(const ts_vpn_config *c, ts_vpn_flag f);

/* NEVPNManager.isEnabled: the configuration is installed and selected. */
void ts_vpn_config_set_enabled(ts_vpn_config *c, bool enabled);
bool ts_vpn_config_enabled(const ts_vpn_config *c);

void ts_vpn_config_set_on_demand(ts_vpn_config *c, bool enabled); /* isOnDemandEnabled */
bool ts_vpn_config_on_demand(const ts_vpn_config *c);
int ts_vpn_config_add_on_demand_rule(ts_vpn_config *c, const ts_od_rule *rule);
void ts_vpn_config_clear_on_demand_rules(ts_vpn_config *c);
size_t ts_vpn_config_on_demand_rule_count(const ts_vpn_config *c);
const ts_od_rule *ts_vpn_config_on_demand_rule(const ts_vpn_config *c, size_t i);
/* Enabled, on-demand enabled, and the first rule that matches the current network
 * can start the VPN (Connect or EvaluateConnection): the system will relaunch the
 * provider by itself here (A-OD). net NULL: any rule that could start it counts. */
struct ts_od_network;
bool ts_vpn_config_on_demand_armed(const ts_vpn_config *c, const struct ts_od_network *net);

/* --- on-demand evaluation (A-OD, ios-model.md §1.7). Pure: the caller (the phone)
 * acts on the decision. Rules are evaluated in order and the first rule whose
 * criteria all match the current network applies:
 *   interfaceTypeMatch  any matches every primary interface; wiFi / cellular /
 *                       ethernet match when the primary interface is of that type;
 *   ssidMatch           when not empty, also the Wi-Fi network's SSID must be listed.
 * The matching rule's action, by trigger (rule od-rule-order, od-connect,
 * od-disconnect, od-evaluate-connection, od-ignore in docs/model-reference.md):
 *   Connect             starts a VPN that is not active on an app's connection
 *                       attempt ("starts the VPN connection whenever an application
 *                       ... opens a network connection"); on boot and network changes
 *                       only under the lifecycle quirk od-connect-on-any-trigger;
 *   EvaluateConnection  like Connect for an app's connection attempt (no per-domain
 *                       rules are modelled: every domain is connectIfNeeded; INF);
 *   Disconnect          never starts; stops an active VPN on any trigger;
 *   Ignore              neither starts nor stops.
 * isOnDemandEnabled false, a disabled configuration, or no matching rule: nothing. */
typedef enum ts_od_trigger {
  TS_OD_TRIGGER_APP_TRAFFIC = 0, /* an app's outgoing traffic while the VPN is not active */
  TS_OD_TRIGGER_NETWORK_CHANGE,  /* the primary interface changed */
  TS_OD_TRIGGER_BOOT,            /* the device finished booting */
  TS_OD_TRIGGER_COUNT
} ts_od_trigger;

typedef enum ts_od_outcome {
  TS_OD_OUTCOME_NONE = 0, /* leave the VPN as it is */
  TS_OD_OUTCOME_START,    /* start it (start cause on-demand) */
  TS_OD_OUTCOME_STOP,     /* stop it (a Disconnect rule matched) */
} ts_od_outcome;

typedef struct ts_od_network {
  ts_os_iface_type primary; /* TS_IFT_COUNT: no primary interface (only "any" matches) */
  const char *ssid;         /* the Wi-Fi network's SSID; NULL: unknown (no SSID rule matches) */
} ts_od_network;

typedef struct ts_od_decision {
  ts_od_outcome outcome;
  int rule;                 /* index of the rule that matched, -1 when none */
  ts_od_action action;      /* its action (valid when rule >= 0) */
} ts_od_decision;

const char *ts_od_trigger_name(ts_od_trigger t);   /* "app-traffic", "network-change", "boot" */
const char *ts_od_action_name(ts_od_action a);     /* "connect", "disconnect", ... */
/* vpn_active: the session is connecting, connected, reasserting or disconnecting.
 * connect_on_any_trigger: the lifecycle quirk od-connect-on-any-trigger. */
int ts_vpn_config_on_demand_evaluate(const ts_vpn_config *c, ts_od_trigger trigger,
                                     const ts_od_network *net, bool vpn_active,
                                     bool connect_on_any_trigger, ts_od_decision *out);

#endif
