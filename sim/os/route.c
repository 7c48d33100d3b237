/* The system routing table: see ts_route.h. */
#include <stdlib.h>
#include <string.h>

#include "ts_route.h"

struct ts_route_table {
  ts_route *routes;
  size_t count, capacity;
};

static const char *const origin_names[TS_ROUTE_ORIGIN_COUNT] = {
    "none", "connected", "dhcp-router", "dhcp-classless", "static", "vpn-included",
    "vpn-excluded", "scoped"};

const char *ts_route_origin_name(ts_route_origin o) {
  return (unsigned)o < TS_ROUTE_ORIGIN_COUNT ? origin_names[o] : NULL;
}

int ts_route_table_create(ts_route_table **out, size_t capacity) {
  if (!out || capacity == 0) return TS_EINVAL;
  ts_route_table *r = calloc(1, sizeof *r);
  if (!r) return TS_ENOMEM;
  r->routes = calloc(capacity, sizeof *r->routes);
  if (!r->routes) {
    free(r);
    return TS_ENOMEM;
  }
  r->capacity = capacity;
  *out = r;
  return 0;
}

void ts_route_table_destroy(ts_route_table *r) {
  if (!r) return;
  free(r->routes);
  free(r);
}

int ts_route_add(ts_route_table *r, const ts_route *route) {
  if (!r || !route || route->iface <= 0 ||
      (route->dst.addr.family != 4 && route->dst.addr.family != 6) ||
      route->dst.len > (route->dst.addr.family == 4 ? 32 : 128))
    return TS_EINVAL;
  if (r->count == r->capacity) return TS_EFULL;
  ts_route *slot = &r->routes[r->count++];
  *slot = *route;
  if (slot->origin == TS_ROUTE_NONE) slot->origin = TS_ROUTE_STATIC;
  return 0;
}

void ts_route_remove(ts_route_table *r, int iface, ts_route_origin origin) {
  size_t kept = 0;
  for (size_t i = 0; i < r->count; i++) {
    const ts_route *x = &r->routes[i];
    bool drop = x->iface == iface && (origin == TS_ROUTE_NONE || x->origin == origin);
    if (!drop) r->routes[kept++] = *x;
  }
  r->count = kept;
}

int ts_route_apply_dhcp(ts_route_table *r, ts_os_ifaces *ifaces, int iface,
                        const ts_dhcp_lease *lease) {
  if (!r || !lease || !ts_os_iface_valid(ifaces, iface) ||
      lease->classless_count > TS_ROUTE_DHCP_MAX_CLASSLESS)
    return TS_EINVAL;
  ts_route_remove(r, iface, TS_ROUTE_DHCP_ROUTER);
  ts_route_remove(r, iface, TS_ROUTE_DHCP_CLASSLESS);
  int rc = ts_os_iface_clear_addresses(ifaces, iface);
  if (!rc) rc = ts_os_iface_add_address(ifaces, iface, &lease->address);
  for (size_t i = 0; !rc && i < lease->classless_count; i++) {
    ts_route x = lease->classless[i];
    x.iface = iface;
    x.origin = TS_ROUTE_DHCP_CLASSLESS;
    rc = ts_route_add(r, &x);
  }
  if (!rc && lease->classless_count == 0 && lease->router.family == lease->address.addr.family) {
    ts_route def = {.gateway = lease->router, .iface = iface, .origin = TS_ROUTE_DHCP_ROUTER};
    def.dst.addr.family = lease->router.family;
    rc = ts_route_add(r, &def);
  }
  return rc;
}

int ts_route_clear_dhcp(ts_route_table *r, ts_os_ifaces *ifaces, int iface) {
  if (!r || !ts_os_iface_valid(ifaces, iface)) return TS_EINVAL;
  ts_route_remove(r, iface, TS_ROUTE_DHCP_ROUTER);
  ts_route_remove(r, iface, TS_ROUTE_DHCP_CLASSLESS);
  return ts_os_iface_clear_addresses(ifaces, iface);
}

/* Whether candidate (prefix length len on iface) beats the best so far. */
static bool better(const ts_os_ifaces *ifaces, int len, int iface, int best_len, int best_iface) {
  if (len != best_len) return len > best_len;
  int primary = ts_os_iface_primary(ifaces);
  return iface == primary && best_iface != primary;
}

static bool usable(const ts_os_ifaces *ifaces, int iface, const ts_route_query *q) {
  if (!ts_os_iface_is_up(ifaces, iface)) return false;
  if (q->only_iface && q->only_iface != iface) return false;
  ts_os_iface_type t = ts_os_iface_type_of(ifaces, iface);
  if (q->physical_only && !ts_os_iface_type_physical(t)) return false;
  return true;
}

bool ts_route_lookup(const ts_route_table *r, const ts_os_ifaces *ifaces, const ts_ipaddr *dst,
                     const ts_route_query *q, ts_route *out) {
  static const ts_route_query any = {0};
  if (!q) q = &any;
  int best_len = -1, best_iface = 0;
  ts_route best;
  memset(&best, 0, sizeof best);
  /* Connected subnets. The tunnel's own addresses do not route: the VPN's routes
   * come from includedRoutes only. */
  for (int i = 1; i <= (int)ts_os_iface_count(ifaces); i++) {
    if (!usable(ifaces, i, q) || ts_os_iface_type_of(ifaces, i) == TS_IFT_TUNNEL) continue;
    for (size_t k = 0; k < ts_os_iface_address_count(ifaces, i); k++) {
      const ts_ipprefix *a = ts_os_iface_address(ifaces, i, k);
      if (q->skip_default && a->len == 0) continue;
      if (!ts_ipprefix_contains(a, dst) || !better(ifaces, a->len, i, best_len, best_iface))
        continue;
      best_len = a->len;
      best_iface = i;
      best.dst = *a;
      memset(&best.gateway, 0, sizeof best.gateway);
      best.iface = i;
      best.origin = TS_ROUTE_CONNECTED;
    }
  }
  for (size_t k = 0; r && k < r->count; k++) {
    const ts_route *x = &r->routes[k];
    if (!usable(ifaces, x->iface, q) || (q->skip_default && x->dst.len == 0)) continue;
    if (!ts_ipprefix_contains(&x->dst, dst) || !better(ifaces, x->dst.len, x->iface, best_len, best_iface))
      continue;
    best_len = x->dst.len;
    best_iface = x->iface;
    best = *x;
  }
  if (best_len < 0) return false;
  if (out) *out = best;
  return true;
}

size_t ts_route_count(const ts_route_table *r) { return r->count; }
const ts_route *ts_route_at(const ts_route_table *r, size_t i) {
  return i < r->count ? &r->routes[i] : NULL;
}
