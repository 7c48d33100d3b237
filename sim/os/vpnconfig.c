/* VPN configuration and tunnel network settings: see ts_vpn_config.h. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ts_vpn_config.h"

struct ts_vpn_config {
  const ts_os_profile *profile;
  bool flag[TS_FLAG_COUNT];
  bool enabled;
  bool on_demand;
  ts_od_rule rules[TS_VPN_MAX_OD_RULES];
  size_t rule_count;
};

void ts_vpn_settings_init(ts_vpn_settings *s) { memset(s, 0, sizeof *s); }

static bool prefix_ok(const ts_ipprefix *p) {
  return p && (p->addr.family == 4 || p->addr.family == 6) &&
         p->len <= (p->addr.family == 4 ? 32 : 128);
}

static int add_prefix(ts_ipprefix *arr, size_t *count, size_t cap, const ts_ipprefix *p) {
  if (!prefix_ok(p)) return TS_EINVAL;
  if (*count == cap) return TS_EFULL;
  arr[(*count)++] = *p;
  return 0;
}

int ts_vpn_settings_add_address(ts_vpn_settings *s, const ts_ipprefix *p) {
  return add_prefix(s->addresses, &s->address_count, TS_VPN_MAX_ADDRESSES, p);
}
int ts_vpn_settings_include(ts_vpn_settings *s, const ts_ipprefix *p) {
  return add_prefix(s->included, &s->included_count, TS_VPN_MAX_ROUTES, p);
}
int ts_vpn_settings_exclude(ts_vpn_settings *s, const ts_ipprefix *p) {
  return add_prefix(s->excluded, &s->excluded_count, TS_VPN_MAX_ROUTES, p);
}

int ts_vpn_settings_add_dns(ts_vpn_settings *s, const ts_ipaddr *server) {
  if (!server || (server->family != 4 && server->family != 6)) return TS_EINVAL;
  if (s->dns_count == TS_VPN_MAX_DNS) return TS_EFULL;
  s->dns_servers[s->dns_count++] = *server;
  return 0;
}

int ts_vpn_settings_add_match_domain(ts_vpn_settings *s, const char *domain) {
  if (!domain || strlen(domain) >= TS_VPN_DOMAIN_MAX) return TS_EINVAL;
  if (s->match_domain_count == TS_VPN_MAX_DOMAINS) return TS_EFULL;
  snprintf(s->match_domains[s->match_domain_count++], TS_VPN_DOMAIN_MAX, "%s", domain);
  return 0;
}

int ts_vpn_settings_lookup(const ts_vpn_settings *s, const ts_ipaddr *dst, bool with_excluded,
                           ts_ipprefix *matched) {
  int best = -1, kind = 0;
  for (size_t i = 0; i < s->included_count; i++) {
    if (ts_ipprefix_contains(&s->included[i], dst) && (int)s->included[i].len > best) {
      best = s->included[i].len;
      kind = 1;
      if (matched) *matched = s->included[i];
    }
  }
  for (size_t i = 0; with_excluded && i < s->excluded_count; i++) {
    if (ts_ipprefix_contains(&s->excluded[i], dst) && (int)s->excluded[i].len >= best) {
      best = s->excluded[i].len;
      kind = 2;
      if (matched) *matched = s->excluded[i];
    }
  }
  return kind;
}

int ts_vpn_config_create(ts_vpn_config **out, const ts_os_profile *profile) {
  if (!out || !profile) return TS_EINVAL;
  ts_vpn_config *c = calloc(1, sizeof *c);
  if (!c) return TS_ENOMEM;
  c->profile = profile;
  for (int f = 0; f < TS_FLAG_COUNT; f++) c->flag[f] = ts_os_profile_flag_default(profile, f);
  *out = c;
  return 0;
}

void ts_vpn_config_destroy(ts_vpn_config *c) { free(c); }
const ts_os_profile *ts_vpn_config_profile(const ts_vpn_config *c) { return c->profile; }

int ts_vpn_config_set_flag(ts_vpn_config *c, ts_vpn_flag f, bool value) {
  if (!c || (unsigned)f >= TS_FLAG_COUNT) return TS_EINVAL;
  if (!ts_os_profile_flag_available(c->profile, f)) return TS_ENOTSUP;
  c->flag[f] = value;
  return 0;
}

bool ts_vpn_config_flag(const ts_vpn_config *c, ts_vpn_flag f) {
  return (unsigned)f < TS_FLAG_COUNT && ts_os_profile_flag_available(c->profile, f) && c->flag[f];
}

void ts_vpn_config_set_enabled(ts_vpn_config *c, bool enabled) { c->enabled = enabled; }
bool ts_vpn_config_enabled(const ts_vpn_config *c) { return c->enabled; }
void ts_vpn_config_set_on_demand(ts_vpn_config *c, bool enabled) { c->on_demand = enabled; }
bool ts_vpn_config_on_demand(const ts_vpn_config *c) { return c->on_demand; }

int ts_vpn_config_add_on_demand_rule(ts_vpn_config *c, const ts_od_rule *rule) {
  if (!c || !rule || (unsigned)rule->action > TS_OD_IGNORE ||
      (unsigned)rule->interface_match > TS_OD_IF_ETHERNET || rule->ssid_count > TS_VPN_MAX_SSIDS)
    return TS_EINVAL;
  if (c->rule_count == TS_VPN_MAX_OD_RULES) return TS_EFULL;
  c->rules[c->rule_count++] = *rule;
  return 0;
}

void ts_vpn_config_clear_on_demand_rules(ts_vpn_config *c) { c->rule_count = 0; }
size_t ts_vpn_config_on_demand_rule_count(const ts_vpn_config *c) { return c->rule_count; }
const ts_od_rule *ts_vpn_config_on_demand_rule(const ts_vpn_config *c, size_t i) {
  return i < c->rule_count ? &c->rules[i] : NULL;
}


static const char *const trigger_names[TS_OD_TRIGGER_COUNT] = {"app-traffic", "network-change",
                                                               "boot"};
static const char *const action_names[] = {"connect", "disconnect", "evaluate-connection",
                                           "ignore"};

const char *ts_od_trigger_name(ts_od_trigger t) {
  return (unsigned)t < TS_OD_TRIGGER_COUNT ? trigger_names[t] : NULL;
}
const char *ts_od_action_name(ts_od_action a) {
  return (unsigned)a <= TS_OD_IGNORE ? action_names[a] : NULL;
}

/* interfaceTypeMatch and ssidMatch (A-OD): all criteria of the rule must match. */
static bool rule_matches(const ts_od_rule *r, const ts_od_network *net) {
  switch (r->interface_match) {
  case TS_OD_IF_ANY: break;
  case TS_OD_IF_WIFI: if (net->primary != TS_IFT_WIFI) return false; break;
  case TS_OD_IF_CELLULAR: if (net->primary != TS_IFT_CELLULAR) return false; break;
  case TS_OD_IF_ETHERNET: if (net->primary != TS_IFT_WIRED) return false; break;
  default: return false;
  }
  if (r->ssid_count == 0) return true;
  if (net->primary != TS_IFT_WIFI || !net->ssid) return false;
  for (size_t i = 0; i < r->ssid_count; i++)
    if (strcmp(r->ssids[i], net->ssid) == 0) return true;
  return false;
}

static bool can_start(ts_od_action a) { return a == TS_OD_CONNECT || a == TS_OD_EVALUATE_CONNECTION; }

bool ts_vpn_config_on_demand_armed(const ts_vpn_config *c, const ts_od_network *net) {
  if (!c->enabled || !c->on_demand) return false;
  for (size_t i = 0; i < c->rule_count; i++) {
    if (!net) {
      if (can_start(c->rules[i].action)) return true;
    } else if (rule_matches(&c->rules[i], net)) {
      return can_start(c->rules[i].action); /* first match wins */
    }
  }
  return false;
}

int ts_vpn_config_on_demand_evaluate(const ts_vpn_config *c, ts_od_trigger trigger,
                                     const ts_od_network *net, bool vpn_active,
                                     bool connect_on_any_trigger, ts_od_decision *out) {
  if (!c || !net || !out || (unsigned)trigger >= TS_OD_TRIGGER_COUNT) return TS_EINVAL;
  *out = (ts_od_decision){.outcome = TS_OD_OUTCOME_NONE, .rule = -1};
  if (!c->enabled || !c->on_demand) return 0;
  for (size_t i = 0; i < c->rule_count; i++) {
    const ts_od_rule *r = &c->rules[i];
    if (!rule_matches(r, net)) continue;
    out->rule = (int)i;
    out->action = r->action;
    bool attempt = trigger == TS_OD_TRIGGER_APP_TRAFFIC;
    switch (r->action) {
    case TS_OD_CONNECT:
      if (!vpn_active && (attempt || connect_on_any_trigger)) out->outcome = TS_OD_OUTCOME_START;
      break;
    case TS_OD_EVALUATE_CONNECTION:
      if (!vpn_active && attempt) out->outcome = TS_OD_OUTCOME_START;
      break;
    case TS_OD_DISCONNECT:
      if (vpn_active) out->outcome = TS_OD_OUTCOME_STOP;
      break;
    default:
      break;
    }
    return 0; /* the first matching rule applies */
  }
  return 0;
}
