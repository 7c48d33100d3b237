/* THE policy decision of the iOS VPN layer: for every packet a socket sends (and
 * every packet that arrives for it), where it goes: into the tunnel, out of a
 * physical interface (which one), dropped by the system, or silently failed (the
 * sender sees success and nothing ever arrives). One function, ts_policy_decide();
 * everything else in sim/os feeds it or applies its verdict.
 *
 * Inputs: the flow (owner and traffic class, scoping, whether it was established
 * before the current tunnel started and on which interface, the destination) and
 * the environment (OS profile with its quirks, VPN configuration flags, interfaces,
 * system routing table, VPN session with its state and applied routes).
 *
 * Precedence (ios-model.md §1.1-§1.4; every step is a rule of ts_os_model.h):
 *   1. loopback stays local;
 *   2. the always-exempt classes (control plane/DHCP, captive portal, carrier
 *      cellular, companion) never enter the tunnel (§1.2.1-4);
 *   3. the provider's own sockets: to the VPN server outside (§1.2.1); bound to its
 *      tunnel under IAN silently fail (quirk); otherwise captured under IAN or
 *      bypassing without it (quirks);
 *   4. includeAllNetworks: the controlled exclusions (flags, with the profile's
 *      availability and defaults), then by session state: connected scopes
 *      everything to the tunnel over table and app scoping, except pre-existing
 *      connections, which are dropped (§1.3); connecting/reasserting/disconnecting
 *      drop; disconnected depends on why (user, provider death, boot, on-demand);
 *      enforceRoutes is ignored;
 *   5. without IAN: a pre-existing connection keeps its path (§1.4); enforceRoutes
 *      supersedes scoping and the table (local hosts exempt with ELN); scoping
 *      supersedes the table; the system table supersedes the VPN's routes (quirk
 *      vpn-route-precedence says how); then the VPN's included/excluded routes;
 *      then the system table.
 * The verdict names the rule that decided and the quirk involved, so oracles can
 * explain it. Pure: no allocation, no state, no clock. */
#ifndef TS_POLICY_H
#define TS_POLICY_H

#include <stdbool.h>
#include <stddef.h>

#include "ts_ipsum.h"
#include "ts_os_iface.h"
#include "ts_os_model.h"
#include "ts_os_profile.h"
#include "ts_route.h"
#include "ts_vpn_config.h"
#include "ts_vpn_session.h"

typedef enum ts_scope_kind {
  TS_SCOPE_NONE = 0,
  TS_SCOPE_BOUND_IF,       /* IP_BOUND_IF / NWParameters.requiredInterface = a named interface */
  TS_SCOPE_REQUIRED_TYPE,  /* NWParameters.requiredInterfaceType */
  TS_SCOPE_VIRTUAL_IF,     /* requiredInterface = the provider's virtualInterface (iOS 18, A-VIF) */
} ts_scope_kind;

typedef struct ts_scope {
  ts_scope_kind kind;
  int iface;               /* TS_SCOPE_BOUND_IF */
  ts_os_iface_type type;   /* TS_SCOPE_REQUIRED_TYPE */
} ts_scope;

typedef struct ts_policy_flow {
  ts_traffic_class cls;
  ts_scope scope;
  ts_ipaddr dst;           /* the remote address */
  bool pre_tunnel;         /* established in an older session epoch (before this tunnel start) */
  int established_iface;   /* the interface it was established on; 0: not a connection */
} ts_policy_flow;

typedef struct ts_policy_env {
  const ts_os_profile *profile;
  const ts_vpn_config *config;     /* NULL: no VPN configured */
  const ts_vpn_session *session;   /* NULL: no VPN configured */
  const ts_os_ifaces *ifaces;
  const ts_route_table *routes;
  const char *wifi_ssid;           /* the Wi-Fi network's SSID for on-demand rules; NULL: unknown */
} ts_policy_env;

typedef enum ts_verdict_kind {
  TS_VERDICT_TUNNEL = 1,   /* into the utun: the provider reads it */
  TS_VERDICT_PHYSICAL,     /* out of a physical interface (iface says which) */
  TS_VERDICT_LOOPBACK,
  TS_VERDICT_DROP,         /* the system drops it (a policy drop or no route) */
  TS_VERDICT_SILENT_FAIL,  /* the send succeeds, nothing goes anywhere, nothing arrives */
} ts_verdict_kind;

typedef struct ts_verdict {
  ts_verdict_kind kind;
  int iface;               /* TUNNEL/PHYSICAL/LOOPBACK: the interface; else 0 */
  ts_os_rule rule;         /* the rule that decided */
  ts_os_quirk quirk;       /* the quirk that shaped the decision, or TS_QUIRK_NONE */
  ts_route_origin origin;  /* which kind of route carried it (oracles' leak kinds) */
} ts_verdict;

void ts_policy_decide(const ts_policy_env *env, const ts_policy_flow *flow, ts_verdict *out);
/* The same decision for a packet from flow->dst arriving on arrived_iface: it is
 * delivered (true) only where the flow's own traffic would go; otherwise *out says
 * why not (the send verdict's rule, or arrival-mismatch). */
bool ts_policy_decide_arrival(const ts_policy_env *env, const ts_policy_flow *flow,
                              int arrived_iface, ts_verdict *out);

/* Whether dst counts as "local network" for excludeLocalNetworks (on-link subnets of
 * up physical interfaces, link-local, multicast; quirks widen or narrow it). */
bool ts_policy_is_local(const ts_policy_env *env, const ts_ipaddr *dst);

const char *ts_verdict_kind_name(ts_verdict_kind k); /* "tunnel", "physical", ... */
/* "physical en0 by system-route-supersedes [A-ROUTE] via connected" (+ " quirk x=v"). */
int ts_verdict_format(const ts_verdict *v, const ts_policy_env *env, char *buf, size_t n);

#endif
