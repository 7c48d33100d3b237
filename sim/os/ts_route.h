/* The system routing table of the device: connected subnets (from interface
 * addresses), routes from DHCP (the lease's subnet, which may be any range including
 * a public one; the router as default route; classless static routes of option 121,
 * RFC 3442) and static routes. The VPN's included/excluded routes are not here:
 * they belong to the tunnel settings (ts_vpn_config.h), and how the two tables are
 * combined is the policy decision's business (ts_policy.h, ios-model.md §1.1).
 * Fixed capacity; lookups never allocate. */
#ifndef TS_ROUTE_H
#define TS_ROUTE_H

#include <stdbool.h>
#include <stddef.h>

#include "ts_error.h"
#include "ts_ipsum.h"
#include "ts_os_iface.h"

#define TS_ROUTE_DHCP_MAX_CLASSLESS 16

typedef enum ts_route_origin {
  TS_ROUTE_NONE = 0,
  TS_ROUTE_CONNECTED,        /* on-link subnet of an interface address (DHCP lease or static) */
  TS_ROUTE_DHCP_ROUTER,      /* default route from the DHCP router option (3) */
  TS_ROUTE_DHCP_CLASSLESS,   /* DHCP option 121 (TunnelVision's vector, TV) */
  TS_ROUTE_STATIC,           /* configured by the scenario */
  TS_ROUTE_VPN_INCLUDED,     /* the VPN's includedRoutes (in verdicts only) */
  TS_ROUTE_VPN_EXCLUDED,     /* the VPN's excludedRoutes (in verdicts only) */
  TS_ROUTE_SCOPED,           /* no route: the connection was scoped (in verdicts only) */
  TS_ROUTE_ORIGIN_COUNT
} ts_route_origin;

const char *ts_route_origin_name(ts_route_origin o);

typedef struct ts_route {
  ts_ipprefix dst;
  ts_ipaddr gateway;   /* family 0: on-link */
  int iface;
  ts_route_origin origin;
} ts_route;

typedef struct ts_dhcp_lease {
  ts_ipprefix address;   /* the assigned address with the subnet's prefix length */
  ts_ipaddr router;      /* option 3; family 0 when absent */
  ts_route classless[TS_ROUTE_DHCP_MAX_CLASSLESS]; /* option 121: dst and gateway used */
  size_t classless_count;
} ts_dhcp_lease;

typedef struct ts_route_table ts_route_table;

int ts_route_table_create(ts_route_table **out, size_t capacity);
void ts_route_table_destroy(ts_route_table *r);

/* A static route (origin is taken from r, TS_ROUTE_STATIC when NONE). */
int ts_route_add(ts_route_table *r, const ts_route *route);
/* Removes every route of iface with that origin (TS_ROUTE_NONE: every origin). */
void ts_route_remove(ts_route_table *r, int iface, ts_route_origin origin);

/* Applies a lease on iface: the interface's addresses become the lease address,
 * and the DHCP routes of iface are replaced: option 121 routes when present, else
 * a default route via the router (RFC 3442: a client receiving option 121 ignores
 * the router option). */
int ts_route_apply_dhcp(ts_route_table *r, ts_os_ifaces *ifaces, int iface,
                        const ts_dhcp_lease *lease);
/* Lease lost: addresses and DHCP routes of iface removed. */
int ts_route_clear_dhcp(ts_route_table *r, ts_os_ifaces *ifaces, int iface);

typedef struct ts_route_query {
  int only_iface;       /* 0: any interface */
  bool physical_only;   /* Wi-Fi, cellular, wired only */
  bool skip_default;    /* ignore /0 routes */
} ts_route_query;

/* Longest-prefix match over routes whose interface is up (connected subnets come
 * from the interfaces' addresses). Ties go to the primary interface, then to the
 * older route. Returns true and fills *out when a route matches. */
bool ts_route_lookup(const ts_route_table *r, const ts_os_ifaces *ifaces, const ts_ipaddr *dst,
                     const ts_route_query *q, ts_route *out);

size_t ts_route_count(const ts_route_table *r);
const ts_route *ts_route_at(const ts_route_table *r, size_t i);

#endif
