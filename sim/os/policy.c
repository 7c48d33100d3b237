/* The policy decision: see ts_policy.h for the precedence it implements. Each
 * step returns as soon as a rule decides; helpers fill the verdict. */
#include <stdio.h>
#include <string.h>

#include "ts_policy.h"

typedef struct ctx {
  const ts_policy_env *env;
  const ts_policy_flow *flow;
  ts_verdict *v;
  bool vpn;                          /* a VPN configuration is enabled */
  ts_vpn_status status;
  const ts_vpn_settings *settings;   /* applied settings, or NULL */
  int utun;
} ctx;

static int quirk(const ctx *c, ts_os_quirk q) { return ts_os_profile_quirk(c->env->profile, q); }

/* Whether on-demand will bring the VPN up on the network the phone is on now: a
 * Disconnect rule for this network means it will not (A-OD). */
static bool on_demand_armed_here(const ctx *c) {
  const ts_policy_env *env = c->env;
  int primary = ts_os_iface_primary(env->ifaces);
  ts_od_network net = {.primary = primary ? ts_os_iface_type_of(env->ifaces, primary) : TS_IFT_COUNT,
                       .ssid = env->wifi_ssid};
  return ts_vpn_config_on_demand_armed(env->config, &net);
}

static bool flag(const ctx *c, ts_vpn_flag f) {
  return c->vpn && ts_vpn_config_flag(c->env->config, f);
}

static void set(ctx *c, ts_verdict_kind kind, int iface, ts_os_rule rule, ts_route_origin origin) {
  c->v->kind = kind;
  c->v->iface = kind == TS_VERDICT_DROP || kind == TS_VERDICT_SILENT_FAIL ? 0 : iface;
  c->v->rule = rule;
  c->v->origin = origin;
}

static bool is_loopback(const ts_ipaddr *a) {
  if (a->family == 4) return a->bytes[0] == 127;
  static const uint8_t one[16] = {[15] = 1};
  return a->family == 6 && memcmp(a->bytes, one, 16) == 0;
}

static bool in_prefix(const ts_ipaddr *a, int family, const uint8_t *bytes, int len) {
  ts_ipprefix p;
  memset(&p, 0, sizeof p);
  p.addr.family = (uint8_t)family;
  memcpy(p.addr.bytes, bytes, family == 4 ? 4 : 16);
  p.len = (uint8_t)len;
  return ts_ipprefix_contains(&p, a);
}

static bool is_link_scope(const ts_ipaddr *a) {
  static const uint8_t ll4[4] = {169, 254}, mc4[4] = {224}, bc4[4] = {255, 255, 255, 255};
  static const uint8_t ll6[16] = {0xfe, 0x80}, mc6[16] = {0xff};
  return in_prefix(a, 4, ll4, 16) || in_prefix(a, 4, mc4, 4) || in_prefix(a, 4, bc4, 32) ||
         in_prefix(a, 6, ll6, 10) || in_prefix(a, 6, mc6, 8);
}

static bool is_private(const ts_ipaddr *a) {
  static const uint8_t p10[4] = {10}, p172[4] = {172, 16}, p192[4] = {192, 168};
  static const uint8_t ula[16] = {0xfc};
  return in_prefix(a, 4, p10, 8) || in_prefix(a, 4, p172, 12) || in_prefix(a, 4, p192, 16) ||
         in_prefix(a, 6, ula, 7) || is_link_scope(a);
}

bool ts_policy_is_local(const ts_policy_env *env, const ts_ipaddr *dst) {
  if (is_link_scope(dst)) return true;
  bool public_ok = ts_os_profile_quirk(env->profile, TS_QUIRK_LOCAL_NETWORK_INCLUDES_PUBLIC_SUBNETS);
  for (int i = 1; i <= (int)ts_os_iface_count(env->ifaces); i++) {
    if (!ts_os_iface_is_up(env->ifaces, i) ||
        !ts_os_iface_type_physical(ts_os_iface_type_of(env->ifaces, i)))
      continue;
    for (size_t k = 0; k < ts_os_iface_address_count(env->ifaces, i); k++) {
      const ts_ipprefix *a = ts_os_iface_address(env->ifaces, i, k);
      if (a->len > 0 && ts_ipprefix_contains(a, dst) && (public_ok || is_private(dst))) return true;
    }
  }
  if (ts_os_profile_quirk(env->profile, TS_QUIRK_LOCAL_NETWORK_INCLUDES_DHCP_ROUTES)) {
    ts_route r;
    ts_route_query q = {.physical_only = true, .skip_default = true};
    if (ts_route_lookup(env->routes, env->ifaces, dst, &q, &r) && r.origin == TS_ROUTE_DHCP_CLASSLESS)
      return true;
  }
  return false;
}

/* The VPN's own route for dst (0 none, 1 included, 2 excluded); excluded routes
 * are left out when honour_excluded is false (F-EXCL). */
static int vpn_route(const ctx *c, bool honour_excluded, ts_ipprefix *matched) {
  if (!c->settings) return 0;
  return ts_vpn_settings_lookup(c->settings, &c->flow->dst, honour_excluded, matched);
}

/* Where a physical path for dst goes, honouring physical scoping: the exempt
 * classes and every "outside the tunnel" decision end here. */
static void outside(ctx *c, ts_os_rule rule) {
  const ts_policy_env *env = c->env;
  const ts_scope *s = &c->flow->scope;
  int iface = 0;
  if (s->kind == TS_SCOPE_BOUND_IF) iface = s->iface;
  else if (s->kind == TS_SCOPE_REQUIRED_TYPE) iface = ts_os_iface_find_up(env->ifaces, s->type);
  else if (s->kind == TS_SCOPE_VIRTUAL_IF) iface = -1;
  if (s->kind != TS_SCOPE_NONE) {
    if (iface <= 0 || !ts_os_iface_is_up(env->ifaces, iface) ||
        !ts_os_iface_type_physical(ts_os_iface_type_of(env->ifaces, iface))) {
      set(c, TS_VERDICT_DROP, 0, TS_RULE_SCOPE_UNAVAILABLE, TS_ROUTE_SCOPED);
      return;
    }
    if (!ts_os_iface_has_family(env->ifaces, iface, c->flow->dst.family)) {
      set(c, TS_VERDICT_DROP, 0, TS_RULE_NO_ROUTE, TS_ROUTE_SCOPED);
      return;
    }
    set(c, TS_VERDICT_PHYSICAL, iface, rule, TS_ROUTE_SCOPED);
    return;
  }
  ts_route r;
  ts_route_query q = {.physical_only = true};
  if (!ts_route_lookup(env->routes, env->ifaces, &c->flow->dst, &q, &r)) {
    set(c, TS_VERDICT_DROP, 0, TS_RULE_NO_ROUTE, TS_ROUTE_NONE);
    return;
  }
  set(c, TS_VERDICT_PHYSICAL, r.iface, rule, r.origin);
}

static void tunnel(ctx *c, ts_os_rule rule, ts_route_origin origin) {
  if (c->utun <= 0 || !c->vpn || !ts_vpn_session_tunnel_up(c->env->session)) {
    set(c, TS_VERDICT_DROP, 0, rule, origin);
    return;
  }
  set(c, TS_VERDICT_TUNNEL, c->utun, rule, origin);
}

/* Step 3: the provider's own sockets. Returns true when decided. */
static bool provider(ctx *c, bool ian) {
  const ts_policy_flow *f = c->flow;
  if (c->settings && c->settings->tunnel_remote_address.family &&
      ts_ipaddr_equal(&c->settings->tunnel_remote_address, &f->dst)) {
    outside(c, TS_RULE_EXEMPT_VPN_SERVER);
    return true;
  }
  bool to_tunnel = (f->scope.kind == TS_SCOPE_BOUND_IF && c->utun > 0 && f->scope.iface == c->utun) ||
                   f->scope.kind == TS_SCOPE_VIRTUAL_IF;
  if (ian && to_tunnel) {
    ts_os_quirk q = f->scope.kind == TS_SCOPE_VIRTUAL_IF ? TS_QUIRK_IAN_VIRTUAL_INTERFACE_NO_PATH
                                                        : TS_QUIRK_IAN_PROVIDER_TUNNEL_SOCKETS_SILENT_FAIL;
    if (quirk(c, q)) {
      set(c, TS_VERDICT_SILENT_FAIL, 0, TS_RULE_IAN_PROVIDER_SILENT_FAIL, TS_ROUTE_SCOPED);
      c->v->quirk = q;
      return true;
    }
    tunnel(c, TS_RULE_SCOPED_INTERFACE, TS_ROUTE_SCOPED);
    return true;
  }
  if (to_tunnel) return false; /* ordinary scoping to the tunnel, step 5 */
  if (ian) {
    if (quirk(c, TS_QUIRK_IAN_CAPTURES_PROVIDER_SOCKETS)) return false; /* captured in step 4 */
    outside(c, TS_RULE_PROVIDER_BYPASS);
    c->v->quirk = TS_QUIRK_IAN_CAPTURES_PROVIDER_SOCKETS;
    return true;
  }
  if (f->scope.kind == TS_SCOPE_NONE && quirk(c, TS_QUIRK_PROVIDER_BYPASSES_OWN_TUNNEL)) {
    outside(c, TS_RULE_PROVIDER_BYPASS);
    c->v->quirk = TS_QUIRK_PROVIDER_BYPASSES_OWN_TUNNEL;
    return true;
  }
  return false;
}

/* Step 4: includeAllNetworks (A-IAN, A-ROUTE). Always decides. */
static void include_all(ctx *c) {
  const ts_policy_flow *f = c->flow;
  const ts_policy_env *env = c->env;
  /* Controlled exclusions (§1.2.5), each only where the OS has the flag. */
  if (f->cls == TS_TC_APNS && flag(c, TS_FLAG_EXCLUDE_APNS)) { outside(c, TS_RULE_IAN_EXCLUDE_APNS); return; }
  if (f->cls == TS_TC_APNS && quirk(c, TS_QUIRK_IAN_APPLE_SERVICES_BYPASS)) {
    outside(c, TS_RULE_IAN_APPLE_SERVICES_BYPASS);
    c->v->quirk = TS_QUIRK_IAN_APPLE_SERVICES_BYPASS;
    return;
  }
  if (f->cls == TS_TC_CELLULAR_SERVICES && flag(c, TS_FLAG_EXCLUDE_CELLULAR_SERVICES))
    { outside(c, TS_RULE_IAN_EXCLUDE_CELLULAR_SERVICES); return; }
  if (f->cls == TS_TC_DEVICE_COMM && flag(c, TS_FLAG_EXCLUDE_DEVICE_COMMUNICATION))
    { outside(c, TS_RULE_IAN_EXCLUDE_DEVICE_COMM); return; }
  if (f->cls == TS_TC_APPSTORE && quirk(c, TS_QUIRK_APPSTORE_DOWNLOADER_EXEMPT)) {
    outside(c, TS_RULE_IAN_APPSTORE_EXEMPT);
    c->v->quirk = TS_QUIRK_APPSTORE_DOWNLOADER_EXEMPT;
    return;
  }
  if (flag(c, TS_FLAG_EXCLUDE_LOCAL_NETWORKS) && ts_policy_is_local(env, &f->dst))
    { outside(c, TS_RULE_IAN_EXCLUDE_LOCAL_NETWORKS); return; }
  if (!quirk(c, TS_QUIRK_EXCLUDED_ROUTES_IGNORED_WHEN_FORCED) && vpn_route(c, true, NULL) == 2) {
    outside(c, TS_RULE_IAN_EXCLUDED_ROUTE);
    c->v->quirk = TS_QUIRK_EXCLUDED_ROUTES_IGNORED_WHEN_FORCED;
    return;
  }
  /* The session state (§1.3). */
  switch (c->status) {
  case TS_VPN_CONNECTED:
    if (f->pre_tunnel) { set(c, TS_VERDICT_DROP, 0, TS_RULE_IAN_PREEXISTING_DROP, TS_ROUTE_NONE); return; }
    { tunnel(c, TS_RULE_IAN_SCOPED_TO_TUNNEL, TS_ROUTE_SCOPED); return; }
  case TS_VPN_CONNECTING:
  case TS_VPN_REASSERTING:
  case TS_VPN_DISCONNECTING:
    { set(c, TS_VERDICT_DROP, 0, TS_RULE_IAN_NOT_CONNECTED_DROP, TS_ROUTE_NONE); return; }
  default:
    break;
  }
  ts_vpn_down_cause down = ts_vpn_session_down_cause(env->session);
  if (down == TS_DOWN_BOOT) {
    c->v->quirk = TS_QUIRK_IAN_BLOCKS_AT_BOOT;
    if (quirk(c, TS_QUIRK_IAN_BLOCKS_AT_BOOT)) { set(c, TS_VERDICT_DROP, 0, TS_RULE_IAN_BOOT, TS_ROUTE_NONE); return; }
    ts_os_quirk q = c->v->quirk;
    outside(c, TS_RULE_IAN_BOOT);
    c->v->quirk = q;
    return;
  }
  if (on_demand_armed_here(c))
    { set(c, TS_VERDICT_DROP, 0, TS_RULE_IAN_ON_DEMAND_PENDING, TS_ROUTE_NONE); return; }
  if (down == TS_DOWN_USER) { outside(c, TS_RULE_IAN_USER_DISCONNECTED); return; }
  c->v->quirk = TS_QUIRK_IAN_BLOCKS_AFTER_PROVIDER_DEATH;
  if (quirk(c, TS_QUIRK_IAN_BLOCKS_AFTER_PROVIDER_DEATH))
    { set(c, TS_VERDICT_DROP, 0, TS_RULE_IAN_PROVIDER_DIED, TS_ROUTE_NONE); return; }
  outside(c, TS_RULE_IAN_PROVIDER_DIED);
  c->v->quirk = TS_QUIRK_IAN_BLOCKS_AFTER_PROVIDER_DEATH;
}

/* Scoping (A-ROUTE: "supersedes the system routing table"). */
static void scoped(ctx *c) {
  const ts_policy_env *env = c->env;
  const ts_scope *s = &c->flow->scope;
  int iface = 0;
  if (s->kind == TS_SCOPE_BOUND_IF) iface = s->iface;
  else if (s->kind == TS_SCOPE_REQUIRED_TYPE) iface = ts_os_iface_find_up(env->ifaces, s->type);
  else if (s->kind == TS_SCOPE_VIRTUAL_IF) iface = c->utun;
  ts_os_iface_type t = ts_os_iface_type_of(env->ifaces, iface);
  if (iface > 0 && t == TS_IFT_TUNNEL && iface == c->utun) {
    if (!c->vpn || !ts_vpn_session_tunnel_up(env->session))
      { set(c, TS_VERDICT_DROP, 0, TS_RULE_SCOPE_UNAVAILABLE, TS_ROUTE_SCOPED); return; }
    { set(c, TS_VERDICT_TUNNEL, iface, TS_RULE_SCOPED_INTERFACE, TS_ROUTE_SCOPED); return; }
  }
  if (iface > 0 && t == TS_IFT_LOOPBACK && ts_os_iface_is_up(env->ifaces, iface))
    { set(c, TS_VERDICT_LOOPBACK, iface, TS_RULE_SCOPED_INTERFACE, TS_ROUTE_SCOPED); return; }
  outside(c, TS_RULE_SCOPED_INTERFACE);
}

/* Step 5: a route-based VPN, or none. Always decides. */
static void route_based(ctx *c) {
  const ts_policy_env *env = c->env;
  const ts_policy_flow *f = c->flow;
  bool active = c->status >= TS_VPN_CONNECTING && c->status <= TS_VPN_DISCONNECTING;
  bool routes = c->vpn && active && ts_vpn_session_routes_installed(env->session);

  /* A connection established before this tunnel started keeps its path (§1.4). */
  if (active && f->pre_tunnel && f->established_iface > 0 &&
      ts_os_iface_is_up(env->ifaces, f->established_iface)) {
    ts_os_iface_type t = ts_os_iface_type_of(env->ifaces, f->established_iface);
    if (ts_os_iface_type_physical(t))
      { set(c, TS_VERDICT_PHYSICAL, f->established_iface, TS_RULE_PREEXISTING_KEEPS_PATH, TS_ROUTE_NONE); return; }
    if (t == TS_IFT_TUNNEL && f->established_iface == c->utun && ts_vpn_session_tunnel_up(env->session))
      { set(c, TS_VERDICT_TUNNEL, c->utun, TS_RULE_PREEXISTING_KEEPS_PATH, TS_ROUTE_NONE); return; }
  }

  /* enforceRoutes supersedes scoping and the table (A-ROUTE). */
  if (routes && flag(c, TS_FLAG_ENFORCE_ROUTES)) {
    bool ignore_excluded = quirk(c, TS_QUIRK_EXCLUDED_ROUTES_IGNORED_WHEN_FORCED) != 0;
    int k = vpn_route(c, !ignore_excluded, NULL);
    if (k && flag(c, TS_FLAG_EXCLUDE_LOCAL_NETWORKS) && ts_policy_is_local(env, &f->dst)) {
      { outside(c, TS_RULE_ENFORCE_LOCAL_EXEMPT); return; }
    }
    if (k == 1) {
      tunnel(c, TS_RULE_ENFORCE_INCLUDED, TS_ROUTE_VPN_INCLUDED);
      if (ignore_excluded && vpn_route(c, true, NULL) == 2)
        c->v->quirk = TS_QUIRK_EXCLUDED_ROUTES_IGNORED_WHEN_FORCED;
      return;
    }
    if (k == 2) {
      /* "excluded routes scoped to the primary interface" */
      int primary = ts_os_iface_primary(env->ifaces);
      if (primary > 0 && ts_os_iface_is_up(env->ifaces, primary) &&
          ts_os_iface_type_physical(ts_os_iface_type_of(env->ifaces, primary)) &&
          ts_os_iface_has_family(env->ifaces, primary, f->dst.family))
        { set(c, TS_VERDICT_PHYSICAL, primary, TS_RULE_ENFORCE_EXCLUDED, TS_ROUTE_VPN_EXCLUDED); return; }
      { outside(c, TS_RULE_ENFORCE_EXCLUDED); return; }
    }
  }

  if (f->scope.kind != TS_SCOPE_NONE) { scoped(c); return; }

  if (routes) {
    ts_ipprefix vpn_match;
    int k = vpn_route(c, true, &vpn_match);
    ts_route sys;
    ts_route_query q = {.physical_only = true, .skip_default = true};
    bool has_sys = ts_route_lookup(env->routes, env->ifaces, &f->dst, &q, &sys);
    bool sys_wins = has_sys;
    if (has_sys && k &&
        quirk(c, TS_QUIRK_VPN_ROUTE_PRECEDENCE) == TS_ROUTE_PRECEDENCE_LONGEST_PREFIX)
      sys_wins = sys.dst.len >= vpn_match.len;
    if (sys_wins && k) {
      set(c, TS_VERDICT_PHYSICAL, sys.iface, TS_RULE_SYSTEM_ROUTE_SUPERSEDES, sys.origin);
      c->v->quirk = TS_QUIRK_VPN_ROUTE_PRECEDENCE;
      return;
    }
    if (k == 1) { tunnel(c, TS_RULE_VPN_INCLUDED, TS_ROUTE_VPN_INCLUDED); return; }
    if (k == 2) {
      outside(c, TS_RULE_VPN_EXCLUDED);
      if (c->v->kind == TS_VERDICT_PHYSICAL) c->v->origin = TS_ROUTE_VPN_EXCLUDED;
      return;
    }
  }
  outside(c, TS_RULE_SYSTEM_TABLE);
}

static ts_os_rule exempt_rule(ts_traffic_class cls) {
  switch (cls) {
  case TS_TC_CONTROL_PLANE: return TS_RULE_EXEMPT_CONTROL_PLANE;
  case TS_TC_CAPTIVE: return TS_RULE_EXEMPT_CAPTIVE;
  case TS_TC_CELLULAR_CARRIER: return TS_RULE_EXEMPT_CELLULAR_CARRIER;
  case TS_TC_COMPANION: return TS_RULE_EXEMPT_COMPANION;
  default: return TS_RULE_NONE;
  }
}

void ts_policy_decide(const ts_policy_env *env, const ts_policy_flow *flow, ts_verdict *out) {
  memset(out, 0, sizeof *out);
  ctx c = {.env = env, .flow = flow, .v = out, .status = TS_VPN_INVALID};
  c.vpn = env->config && env->session && ts_vpn_config_enabled(env->config) &&
          ts_vpn_session_status(env->session) != TS_VPN_INVALID;
  if (c.vpn) {
    c.status = ts_vpn_session_status(env->session);
    c.settings = ts_vpn_session_settings(env->session);
    c.utun = ts_vpn_session_utun(env->session);
  }
  if (is_loopback(&flow->dst)) {
    { set(&c, TS_VERDICT_LOOPBACK, ts_os_iface_find_up(env->ifaces, TS_IFT_LOOPBACK),
               TS_RULE_LOOPBACK, TS_ROUTE_CONNECTED); return; }
  }
  ts_os_rule exempt = exempt_rule(flow->cls);
  if (exempt != TS_RULE_NONE) { outside(&c, exempt); return; }

  bool ian = flag(&c, TS_FLAG_INCLUDE_ALL_NETWORKS);
  if (flow->cls == TS_TC_PROVIDER && provider(&c, ian)) return;
  if (ian) {
    include_all(&c);
    if (flow->cls == TS_TC_PROVIDER && out->rule == TS_RULE_IAN_SCOPED_TO_TUNNEL) {
      out->rule = TS_RULE_IAN_PROVIDER_CAPTURED;
      out->quirk = TS_QUIRK_IAN_CAPTURES_PROVIDER_SOCKETS;
    }
    return;
  }
  route_based(&c);
}

bool ts_policy_decide_arrival(const ts_policy_env *env, const ts_policy_flow *flow,
                              int arrived_iface, ts_verdict *out) {
  ts_policy_decide(env, flow, out);
  bool deliverable = out->kind == TS_VERDICT_TUNNEL || out->kind == TS_VERDICT_PHYSICAL ||
                     out->kind == TS_VERDICT_LOOPBACK;
  if (!deliverable) return false;
  if (out->iface == arrived_iface) return true;
  out->kind = TS_VERDICT_DROP;
  out->iface = 0;
  out->rule = TS_RULE_ARRIVAL_MISMATCH;
  return false;
}

const char *ts_verdict_kind_name(ts_verdict_kind k) {
  static const char *const names[] = {"none", "tunnel", "physical", "loopback", "drop", "silent-fail"};
  return (unsigned)k <= TS_VERDICT_SILENT_FAIL ? names[k] : NULL;
}

int ts_verdict_format(const ts_verdict *v, const ts_policy_env *env, char *buf, size_t n) {
  const ts_os_rule_info *r = ts_os_rule_get(v->rule);
  const char *src = r ? ts_os_source_key(r->source) : "";
  int len = snprintf(buf, n, "%s%s%s by %s [%s] via %s", ts_verdict_kind_name(v->kind),
                     v->iface ? " " : "", v->iface ? ts_os_iface_name(env->ifaces, v->iface) : "",
                     r ? r->name : "none", src && *src ? src : "-", ts_route_origin_name(v->origin));
  const ts_os_quirk_info *q = ts_os_quirk_get(v->quirk);
  if (q && len >= 0 && (size_t)len < n) {
    len += snprintf(buf + len, n - (size_t)len, " quirk %s=%s", q->name,
                    ts_os_quirk_value_name(v->quirk, ts_os_profile_quirk(env->profile, v->quirk)));
  }
  return len;
}
