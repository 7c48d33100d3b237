/* Leak classification: which mechanism let a packet out of a physical interface.
 * Order matters and follows the precedence of the evidence: the tunnel itself, the
 * documented exemptions, the user's intent, then the rule that routed it outside. */
#include <string.h>

#include "ts_leak.h"

#define DNS_PORT 53

static const char *const kind_names[TS_LEAK_KIND_COUNT] = {
    [TS_LEAK_NONE] = "none",
    [TS_LEAK_RECONNECT_GAP] = "reconnect-gap",
    [TS_LEAK_PREEXISTING] = "pre-existing-connection",
    [TS_LEAK_LOCAL_NETWORK] = "local-network-route",
    [TS_LEAK_DHCP_ROUTE] = "dhcp-route",
    [TS_LEAK_SERVER_IP] = "server-ip-route",
    [TS_LEAK_SCOPED_SOCKET] = "scoped-socket",
    [TS_LEAK_DNS] = "dns",
    [TS_LEAK_IPV6] = "ipv6",
    [TS_LEAK_PROVIDER_OWN] = "provider-own",
    [TS_LEAK_EXCLUDED_ROUTE] = "excluded-route",
    [TS_LEAK_NO_TUNNEL_ROUTE] = "no-tunnel-route",
    [TS_LEAK_OTHER] = "other",
};

static const char *const class_names[TS_EGRESS_CLASS_COUNT] = {
    [TS_EGRESS_TUNNEL] = "tunnel",
    [TS_EGRESS_EXEMPT] = "exempt",
    [TS_EGRESS_UNPROTECTED] = "unprotected",
    [TS_EGRESS_LEAK] = "leak",
};

const char *ts_leak_kind_name(ts_leak_kind k) {
  return k >= 0 && k < TS_LEAK_KIND_COUNT ? kind_names[k] : "?";
}

const char *ts_egress_class_name(ts_egress_class c) {
  return c >= 0 && c < TS_EGRESS_CLASS_COUNT ? class_names[c] : "?";
}

static bool to_relay(const ts_ip_info *info, const ts_relay_endpoint *relays, size_t n,
                     bool port_must_match) {
  for (size_t i = 0; i < n; i++) {
    if (!ts_ipaddr_equal(&info->dst, &relays[i].addr)) continue;
    if (!port_must_match || (info->proto == TS_IPPROTO_UDP && info->dport == relays[i].port))
      return true;
  }
  return false;
}

/* The documented exemptions of ios-model.md §1.2 (and the flag-controlled ones):
 * the rule that sent the packet out says it was exempt. */
static bool exempt_rule(ts_os_rule r) {
  switch (r) {
  case TS_RULE_EXEMPT_CONTROL_PLANE:
  case TS_RULE_EXEMPT_VPN_SERVER:
  case TS_RULE_EXEMPT_CAPTIVE:
  case TS_RULE_EXEMPT_CELLULAR_CARRIER:
  case TS_RULE_EXEMPT_COMPANION:
  case TS_RULE_IAN_EXCLUDE_APNS:
  case TS_RULE_IAN_EXCLUDE_CELLULAR_SERVICES:
  case TS_RULE_IAN_EXCLUDE_DEVICE_COMM:
  case TS_RULE_IAN_EXCLUDE_LOCAL_NETWORKS:
  case TS_RULE_ENFORCE_LOCAL_EXEMPT:
    return true;
  default:
    return false;
  }
}

static bool tunnel_up(ts_vpn_status s) { return s == TS_VPN_CONNECTED; }

/* The mechanism by which an app's packet left outside the tunnel. */
static ts_leak_kind mechanism(const ts_ip_info *info, const ts_egress_origin *o,
                              const ts_relay_endpoint *relays, size_t n) {
  if (o->cls == TS_TC_PROVIDER) return TS_LEAK_PROVIDER_OWN;
  if (o->pre_tunnel || o->verdict.rule == TS_RULE_PREEXISTING_KEEPS_PATH) return TS_LEAK_PREEXISTING;
  if (o->verdict.rule == TS_RULE_SCOPED_INTERFACE) return TS_LEAK_SCOPED_SOCKET;
  if (to_relay(info, relays, n, false)) return TS_LEAK_SERVER_IP;
  if (o->verdict.origin == TS_ROUTE_DHCP_CLASSLESS) return TS_LEAK_DHCP_ROUTE;
  if (o->verdict.rule == TS_RULE_VPN_EXCLUDED || o->verdict.rule == TS_RULE_ENFORCE_EXCLUDED ||
      o->verdict.rule == TS_RULE_IAN_EXCLUDED_ROUTE)
    return TS_LEAK_EXCLUDED_ROUTE;
  if (!tunnel_up(o->status)) return TS_LEAK_RECONNECT_GAP;
  if (info->family == 6 && !o->vpn_routes_ipv6) return TS_LEAK_IPV6;
  if (o->verdict.origin == TS_ROUTE_CONNECTED) return TS_LEAK_LOCAL_NETWORK;
  if (o->verdict.rule == TS_RULE_SYSTEM_TABLE) return TS_LEAK_NO_TUNNEL_ROUTE;
  return TS_LEAK_OTHER;
}

static bool is_dns(const ts_ip_info *info) {
  return (info->proto == TS_IPPROTO_UDP || info->proto == TS_IPPROTO_TCP) && info->dport == DNS_PORT;
}

void ts_leak_classify(const uint8_t *pkt, uint32_t len, const ts_egress_origin *origin,
                      const ts_relay_endpoint *relays, size_t relay_count, ts_egress_verdict *out) {
  memset(out, 0, sizeof *out);
  ts_ip_info info;
  bool parsed = ts_ip_parse(pkt, len, &info) == 0;
  if (parsed && origin->cls == TS_TC_PROVIDER && to_relay(&info, relays, relay_count, true)) {
    out->cls = TS_EGRESS_TUNNEL;
    return;
  }
  if (exempt_rule(origin->verdict.rule)) {
    out->cls = TS_EGRESS_EXEMPT;
    return;
  }
  if (!origin->protection_wanted) {
    out->cls = TS_EGRESS_UNPROTECTED;
    return;
  }
  out->cls = TS_EGRESS_LEAK;
  if (!parsed) {
    out->kind = out->mechanism = TS_LEAK_OTHER;
    return;
  }
  out->mechanism = mechanism(&info, origin, relays, relay_count);
  /* DNS is named for what leaks, whatever let it out: the mechanism stays apart. */
  out->kind = is_dns(&info) ? TS_LEAK_DNS : out->mechanism;
}
