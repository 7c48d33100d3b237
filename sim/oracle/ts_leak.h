/* The leak oracle. Every packet that leaves one of the phone's physical interfaces is
 * classified from its bytes and its origin (which socket, which traffic class, which
 * policy rule sent it out, in which VPN state): tunnel traffic to the relay, an
 * exempt class (counted and reported apart), traffic the user did not ask to protect,
 * or a leak with a kind that names the mechanism. Kinds follow ARCHITECTURE.md's list;
 * the mechanisms behind them are cited in docs/model-reference.md and ios-model.md.
 *
 * The oracle never decides where a packet goes; it reads the verdict the OS model
 * already gave, so a leak is always explained by the rule that produced it. */
#ifndef TS_LEAK_H
#define TS_LEAK_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "ts_ipsum.h"
#include "ts_policy.h"
#include "ts_time.h"

typedef enum ts_egress_class {
  TS_EGRESS_TUNNEL = 0,  /* the provider's encrypted tunnel to a relay */
  TS_EGRESS_EXEMPT,      /* a documented exemption (DHCP, APNs with excludeAPNs, ...) */
  TS_EGRESS_UNPROTECTED, /* no protection was asked for (no VPN, or the user disconnected) */
  TS_EGRESS_LEAK,
  TS_EGRESS_CLASS_COUNT
} ts_egress_class;

typedef enum ts_leak_kind {
  TS_LEAK_NONE = 0,
  TS_LEAK_RECONNECT_GAP,     /* protection asked for, tunnel not up: system table used (GT-04) */
  TS_LEAK_PREEXISTING,       /* a connection from before the tunnel keeps its path (GT-01) */
  TS_LEAK_LOCAL_NETWORK,     /* an on-link subnet beats the VPN (TunnelCrack LocalNet) */
  TS_LEAK_DHCP_ROUTE,        /* a DHCP option 121 route beats the VPN (TunnelVision) */
  TS_LEAK_SERVER_IP,         /* traffic to the relay's address routed outside (TunnelCrack ServerIP) */
  TS_LEAK_SCOPED_SOCKET,     /* a socket scoped to a physical interface */
  TS_LEAK_DNS,               /* a DNS query outside the tunnel (subkind: the mechanism) */
  TS_LEAK_IPV6,              /* IPv6 outside a tunnel that carries no IPv6 route */
  TS_LEAK_PROVIDER_OWN,      /* the provider's own non-tunnel traffic */
  TS_LEAK_EXCLUDED_ROUTE,    /* the VPN's own excludedRoutes / enforced exclusions */
  TS_LEAK_NO_TUNNEL_ROUTE,   /* tunnel up, but its settings route nothing for it (GT-20) */
  TS_LEAK_OTHER,             /* outside the tunnel by a rule not named above */
  TS_LEAK_KIND_COUNT
} ts_leak_kind;

/* What the phone knows about a packet it sends out of a physical interface. */
typedef struct ts_egress_origin {
  ts_traffic_class cls;
  ts_verdict verdict;        /* the policy decision that sent it out */
  ts_vpn_status status;      /* VPN session state at the time */
  bool protection_wanted;    /* VPN enabled and not disconnected by the user */
  bool pre_tunnel;           /* the socket's connection pre-dates the current session */
  bool vpn_routes_ipv6;      /* the applied tunnel settings route some IPv6 */
} ts_egress_origin;

typedef struct ts_egress_verdict {
  ts_egress_class cls;
  ts_leak_kind kind;         /* TS_LEAK_NONE unless cls == TS_EGRESS_LEAK */
  ts_leak_kind mechanism;    /* for DNS and IPv6 leaks: how it got out; else == kind */
} ts_egress_verdict;

/* Relay endpoints: tunnel traffic is UDP from the provider to one of these. */
typedef struct ts_relay_endpoint {
  ts_ipaddr addr;
  uint16_t port;
} ts_relay_endpoint;

/* Pure classification of one packet (bytes + origin) against the known relays. */
void ts_leak_classify(const uint8_t *pkt, uint32_t len, const ts_egress_origin *origin,
                      const ts_relay_endpoint *relays, size_t relay_count, ts_egress_verdict *out);

/* ---- the oracle of one run: findings aggregated per (kind, mechanism, node,
 * interface, flow), attached to the world. */

#define TS_LEAK_TEXT 160

typedef struct ts_leak_finding {
  ts_leak_kind kind;
  ts_leak_kind mechanism;
  ts_os_rule rule;              /* the policy rule that sent the first packet out */
  ts_time first, last;
  char node[32], iface[32];
  char flow[TS_LEAK_TEXT];      /* "udp 192.0.2.10:40000 > 198.51.100.20:53" */
  uint64_t packets, bytes;
} ts_leak_finding;

typedef struct ts_leak_oracle ts_leak_oracle;
typedef struct ts_world ts_world;

int ts_leak_oracle_create(ts_world *w, ts_leak_oracle **out);
int ts_leak_oracle_add_relay(ts_leak_oracle *o, const ts_relay_endpoint *relay);
/* One packet left `iface` of `node`. The first packet of each finding is also a trace
 * event ("leak"), so the trace hash covers the verdicts. */
void ts_leak_oracle_observe(ts_leak_oracle *o, const char *node, const char *iface,
                            const uint8_t *pkt, uint32_t len, const ts_egress_origin *origin);
size_t ts_leak_oracle_finding_count(const ts_leak_oracle *o);
const ts_leak_finding *ts_leak_oracle_finding(const ts_leak_oracle *o, size_t i);
/* Packets per egress class (tunnel, exempt, unprotected, leak). */
uint64_t ts_leak_oracle_count(const ts_leak_oracle *o, ts_egress_class c);

const char *ts_leak_kind_name(ts_leak_kind k);      /* "pre-existing-connection", ... */
const char *ts_egress_class_name(ts_egress_class c); /* "tunnel", "exempt", ... */

#endif
