/* The phone: its OS profile, Wi-Fi and cellular interfaces (each on a link of
 * 'links' written with one endpoint), the VPN configuration with its provider and
 * tunnel monitor, and the phone's apps. Names of OS-model vocabularies (flags,
 * traffic classes) are kept here as text in the order of sim/os's enums, so that
 * the loader needs no model code; the run layer maps them. */
#include <stdlib.h>
#include <string.h>

#include "scenario_schema.h"

/* ------------------------------------------------------------ vocabularies */

static const char *const flag_names[TS_SCENARIO_FLAG_COUNT] = {
    "include-all-networks", "exclude-local-networks", "exclude-cellular-services",
    "exclude-apns", "exclude-device-communication", "enforce-routes", "disconnect-on-sleep"};
static const char *const flag_apple_names[TS_SCENARIO_FLAG_COUNT] = {
    "includeAllNetworks", "excludeLocalNetworks", "excludeCellularServices", "excludeAPNs",
    "excludeDeviceCommunication", "enforceRoutes", "disconnectOnSleep"};
/* = sim/os model.c class_names */
static const char *const class_names[TS_SCENARIO_TRAFFIC_CLASS_COUNT] = {
    "app", "provider", "control-plane", "captive-portal", "cellular-carrier", "companion",
    "apns", "cellular-services", "device-communication", "appstore-downloader"};
static const char *const app_type_names[TS_SCENARIO_PHONE_APP_TYPE_COUNT] = {"ping", "udp", "dns",
                                                                              "tcp"};
static const char *const api_names[TS_SCENARIO_API_COUNT] = {"bsd", "nwconnection",
                                                            "nwtcpconnection"};
static const char *const scope_names[TS_SCENARIO_SCOPE_COUNT] = {"none", "wifi", "cellular",
                                                                "virtual-interface"};
static const char *const phone_if_names[TS_SCENARIO_PHONE_IF_COUNT] = {"wifi", "cellular"};
static const char *const monitor_path_names[TS_SCENARIO_MONITOR_PATH_COUNT] = {
    "bsd-utun", "nwconnection-virtual", "engine-direct", "userspace-netstack"};
static const char *const error_state_names[TS_SCENARIO_ERROR_STATE_COUNT] = {"with-routes",
                                                                            "without-routes"};
static const char *const completion_names[TS_SCENARIO_COMPLETION_COUNT] = {
    "after-settings", "after-handshake", "after-monitor", "after-negotiation"};
static const char *const on_loss_names[TS_SCENARIO_ON_LOSS_COUNT] = {"ignore", "rehandshake",
                                                                    "reassert"};

#define NAME_OF(table, i) ((i) >= 0 && (size_t)(i) < KEY_COUNT(table) ? (table)[i] : NULL)
const char *ts_scenario_flag_name(int i) { return NAME_OF(flag_names, i); }
const char *ts_scenario_flag_apple_name(int i) { return NAME_OF(flag_apple_names, i); }
const char *ts_scenario_traffic_class_name(int i) { return NAME_OF(class_names, i); }
const char *ts_scenario_phone_app_type_name(int i) { return NAME_OF(app_type_names, i); }
const char *ts_scenario_api_name(int i) { return NAME_OF(api_names, i); }
const char *ts_scenario_scope_name(int i) { return NAME_OF(scope_names, i); }
const char *ts_scenario_phone_if_name(int i) { return NAME_OF(phone_if_names, i); }
const char *ts_scenario_monitor_path_name(int i) { return NAME_OF(monitor_path_names, i); }
const char *ts_scenario_error_state_name(int i) { return NAME_OF(error_state_names, i); }
const char *ts_scenario_completion_name(int i) { return NAME_OF(completion_names, i); }
const char *ts_scenario_on_loss_name(int i) { return NAME_OF(on_loss_names, i); }

/* A word of a table into an enum field (an int-sized enum at spec->offset). */
#define WORD_PARSER(fn, table)                                                              \
  static int fn(loader *L, const tsy_node *value, const key_spec *spec, mapping *m,         \
                void *obj) {                                                                \
    (void)m;                                                                                \
    size_t i;                                                                               \
    int rc = sc_read_word(L, value, table, KEY_COUNT(table), &i);                           \
    if (!rc) *(int *)sc_field(obj, spec) = (int)i;                                          \
    return rc;                                                                              \
  }
WORD_PARSER(parse_monitor_path, monitor_path_names)
WORD_PARSER(parse_error_state, error_state_names)
WORD_PARSER(parse_completion, completion_names)
WORD_PARSER(parse_on_loss, on_loss_names)
WORD_PARSER(parse_class, class_names)
WORD_PARSER(parse_api, api_names)
WORD_PARSER(parse_scope, scope_names)

/* The node of the value, aliases followed, for messages after parsing. */
static const tsy_node *resolved(loader *L, const tsy_node *value) {
  const tsy_node *at = value;
  if (value->kind == TSY_ALIAS) at = value->target;
  (void)L;
  return at;
}

static const tsy_node *value_of(const mapping *m, const char *key) {
  size_t row = sc_find_spec(m, key);
  if (row == SIZE_MAX || !m->values[row]) return m->node;
  return m->values[row]->kind == TSY_ALIAS ? m->values[row]->target : m->values[row];
}

static const tsy_node *key_of(const mapping *m, const char *key) {
  size_t row = sc_find_spec(m, key);
  return row == SIZE_MAX || !m->keys[row] ? m->node : m->keys[row];
}

/* ------------------------------------------------------------ interfaces */

static int parse_if_link(loader *L, const tsy_node *value, const key_spec *spec, mapping *m,
                         void *obj) {
  (void)spec;
  ts_scenario_phone_iface *pi = obj;
  const tsy_node *at;
  const char *text;
  int rc = sc_scalar_text(L, value, "the name of a link", &text, &at);
  if (rc) return rc;
  char buf[FOUND_BUF];
  if (!ts_strmap_get(&L->link_names, text, &pi->link)) {
    if (L->s->link_count == 0)
      return sc_fail(L, at, "found link %s %s, expected a link defined under 'links' (there are "
                            "none)",
                     sc_describe(at, buf, sizeof buf), m->label);
    char names[300], hint[96];
    sc_name_list(L, sc_link_name_at, NULL, L->s->link_count, 8, names, sizeof names);
    sc_did_you_mean(L, text, sc_link_name_at, NULL, L->s->link_count, hint, sizeof hint);
    return sc_fail(L, at, "found link %s %s that does not exist, expected one of: %s%s",
                   sc_describe(at, buf, sizeof buf), m->label, names, hint);
  }
  const ts_scenario_link *link = &L->s->links[pi->link];
  if (!link->to_phone) {
    return sc_fail(L, at, "found link '%s' %s with two endpoints (defined at %d:%d), expected a "
                          "link to the phone written with one endpoint like [ap/eth0]",
                   link->name, m->label, link->pos.line, link->pos.col);
  }
  const ts_scenario_phone_iface *wifi = &L->s->phone.ifaces[TS_SCENARIO_WIFI];
  if (pi != wifi && wifi->configured && wifi->link == pi->link) {
    return sc_fail(L, at, "found link '%s' %s that phone wifi already uses, expected a link of "
                          "its own for each interface",
                   link->name, m->label);
  }
  return 0;
}

static int parse_if_address(loader *L, const tsy_node *value, const key_spec *spec, mapping *m,
                            void *obj) {
  (void)spec; (void)m;
  ts_scenario_phone_iface *pi = obj;
  int rc = sc_read_address(L, value, true, &pi->address);
  if (!rc) pi->has_address = true;
  return rc;
}

static int parse_if_router(loader *L, const tsy_node *value, const key_spec *spec, mapping *m,
                           void *obj) {
  (void)spec; (void)m;
  ts_scenario_phone_iface *pi = obj;
  int rc = sc_read_plain(L, value, false, NULL, &pi->router);
  if (!rc) pi->has_router = true;
  return rc;
}

static int parse_if_dns(loader *L, const tsy_node *value, const key_spec *spec, mapping *m,
                        void *obj) {
  (void)spec; (void)m;
  ts_scenario_phone_iface *pi = obj;
  return sc_read_address_list(L, value, false, false, NULL, TS_SCENARIO_IFACE_MAX_DNS, pi->dns,
                              &pi->dns_count);
}

static int parse_if_ssid(loader *L, const tsy_node *value, const key_spec *spec, mapping *m,
                         void *obj) {
  (void)m;
  return sc_read_ssid(L, value, sc_field(obj, spec));
}

#define IF_WIFI (1u << TS_SCENARIO_WIFI)
static const key_spec iface_keys[] = {
    {"link", parse_if_link, 0, 0, 0, "link: wifi", VARIANT_ALL, VARIANT_ALL},
    {"address", parse_if_address, 0, 0, 0, "address: 192.168.1.10/24", 0, VARIANT_ALL},
    {"dhcp", sc_parse_bool, offsetof(ts_scenario_phone_iface, dhcp), 0, 0, "dhcp: true", 0,
     IF_WIFI},
    {"router", parse_if_router, 0, 0, 0, "router: 192.168.1.1", 0, VARIANT_ALL},
    {"dns", parse_if_dns, 0, 0, 0, "dns: [192.168.1.1]", 0, VARIANT_ALL},
    {"ssid", parse_if_ssid, offsetof(ts_scenario_phone_iface, ssid), 0, 0, "ssid: home", 0, IF_WIFI},
};
CHECK_TABLE_SIZE(iface_keys);

/* Address xor DHCP; DHCP needs a server on the link's other end. */
static int check_iface(loader *L, const mapping *m, const ts_scenario_phone_iface *pi) {
  if (pi->dhcp && pi->has_address) {
    return sc_fail(L, key_of(m, "address"), "found both 'address' and 'dhcp: true' %s, expected "
                                            "one of them",
                   m->label);
  }
  if (!pi->dhcp && !pi->has_address) {
    return sc_fail(L, m->node, "missing key 'address' %s, expected e.g. 'address: %s'%s",
                   m->label, m->variant == IF_WIFI ? "192.168.1.10/24" : "10.20.0.2/24",
                   m->variant == IF_WIFI ? " or 'dhcp: true'" : "");
  }
  if (pi->dhcp && (pi->has_router || pi->dns_count)) {
    const char *key = pi->has_router ? "router" : "dns";
    return sc_fail(L, key_of(m, key), "found key '%s' %s with 'dhcp: true', expected it from the "
                                      "DHCP server (or a static 'address')",
                   key, m->label);
  }
  if (!pi->dhcp) return 0;
  const ts_scenario_endpoint *ep = &L->s->links[pi->link].endpoints[0];
  for (size_t i = 0; i < L->s->dhcp_server_count; i++) {
    const ts_scenario_dhcp_server *d = &L->s->dhcp_servers[i];
    if (d->node == ep->node && d->iface == ep->iface) return 0;
  }
  const ts_scenario_node *node = &L->s->nodes[ep->node];
  return sc_fail(L, value_of(m, "dhcp"), "found 'dhcp: true' %s but no DHCP server serves "
                                         "'%s/%s', expected a 'dhcp-servers' entry with node: %s "
                                         "and interface: %s",
                 m->label, node->name, node->interfaces[ep->iface].name, node->name,
                 node->interfaces[ep->iface].name);
}

static int parse_phone_iface(loader *L, const tsy_node *value, ts_scenario_phone_if which) {
  ts_scenario_phone_iface *pi = &L->s->phone.ifaces[which];
  const tsy_node *item;
  char expected[96];
  snprintf(expected, sizeof expected, "a mapping like {link: %s, address: %s}",
           phone_if_names[which], which == TS_SCENARIO_WIFI ? "192.168.1.10/24" : "10.20.0.2/24");
  int rc = sc_item_mapping(L, value, expected, &item);
  if (rc) return rc;
  pi->pos = sc_pos_of(item);
  mapping im;
  sc_mapping_init(&im, item, NULL, 0, iface_keys, KEY_COUNT(iface_keys));
  snprintf(im.where, sizeof im.where, "in phone %s", phone_if_names[which]);
  snprintf(im.label, sizeof im.label, "in phone %s", phone_if_names[which]);
  im.variant = 1u << which;
  im.variant_name = phone_if_names[which];
  rc = sc_load_mapping(L, &im, pi);
  if (!rc) rc = check_iface(L, &im, pi);
  if (!rc) pi->configured = true;
  return rc;
}

static int parse_wifi(loader *L, const tsy_node *value, const key_spec *spec, mapping *m,
                      void *obj) {
  (void)spec; (void)m; (void)obj;
  return parse_phone_iface(L, value, TS_SCENARIO_WIFI);
}

static int parse_cellular(loader *L, const tsy_node *value, const key_spec *spec, mapping *m,
                          void *obj) {
  (void)spec; (void)m; (void)obj;
  return parse_phone_iface(L, value, TS_SCENARIO_CELLULAR);
}

static int parse_primary(loader *L, const tsy_node *value, const key_spec *spec, mapping *m,
                         void *obj) {
  (void)spec; (void)m;
  ts_scenario_phone *ph = obj;
  size_t i;
  int rc = sc_read_word(L, value, phone_if_names, TS_SCENARIO_PHONE_IF_COUNT, &i);
  if (rc) return rc;
  ph->primary = (ts_scenario_phone_if)i;
  if (ph->ifaces[i].configured) return 0;
  return sc_fail(L, resolved(L, value), "found primary '%s' but the phone has no %s interface, "
                                        "expected an interface configured under 'phone'",
                 phone_if_names[i], phone_if_names[i]);
}

/* ------------------------------------------------------------ the VPN */

static int parse_tristate(loader *L, const tsy_node *value, const key_spec *spec, mapping *m,
                          void *obj) {
  (void)m;
  const tsy_node *at;
  const char *text;
  int rc = sc_scalar_text(L, value, "true or false", &text, &at);
  if (rc) return rc;
  bool b;
  if (tsv_parse_bool(text, &b) != TSV_OK) return sc_fail_found(L, at, "true or false");
  *(ts_scenario_tristate *)sc_field(obj, spec) = b ? TS_SCENARIO_TRUE : TS_SCENARIO_FALSE;
  return 0;
}

static const char *relay_name_at(const loader *L, const void *ctx, size_t i) {
  (void)ctx;
  return L->s->relays[i].name;
}

static int parse_vpn_relay(loader *L, const tsy_node *value, const key_spec *spec, mapping *m,
                           void *obj) {
  (void)spec;
  ts_scenario_vpn *vpn = obj;
  const tsy_node *at;
  const char *text;
  int rc = sc_scalar_text(L, value, "the name of a relay", &text, &at);
  if (rc) return rc;
  if (ts_strmap_get(&L->relay_names, text, &vpn->relay)) return 0;
  char buf[FOUND_BUF];
  if (L->s->relay_count == 0)
    return sc_fail(L, at, "found relay %s %s, expected a relay defined under 'relays' (there are "
                          "none)",
                   sc_describe(at, buf, sizeof buf), m->label);
  char names[300], hint[96];
  sc_name_list(L, relay_name_at, NULL, L->s->relay_count, 8, names, sizeof names);
  sc_did_you_mean(L, text, relay_name_at, NULL, L->s->relay_count, hint, sizeof hint);
  return sc_fail(L, at, "found relay %s %s that does not exist, expected one of: %s%s",
                 sc_describe(at, buf, sizeof buf), m->label, names, hint);
}

static int parse_tunnel_addresses(loader *L, const tsy_node *value, const key_spec *spec,
                                  mapping *m, void *obj) {
  (void)spec; (void)m;
  ts_scenario_vpn *vpn = obj;
  int rc = sc_read_address_list(L, value, true, false, NULL, TS_SCENARIO_VPN_MAX_ADDRESSES,
                                vpn->tunnel_addresses, &vpn->tunnel_address_count);
  if (rc || vpn->tunnel_address_count) return rc;
  return sc_fail(L, resolved(L, value), "found no tunnel address, expected at least one like "
                                        "[10.64.0.2/32]");
}

static int parse_included(loader *L, const tsy_node *value, const key_spec *spec, mapping *m,
                          void *obj) {
  (void)spec; (void)m;
  ts_scenario_vpn *vpn = obj;
  return sc_read_address_list(L, value, true, false, NULL, TS_SCENARIO_VPN_MAX_ROUTES,
                              vpn->included_routes, &vpn->included_route_count);
}

static int parse_excluded(loader *L, const tsy_node *value, const key_spec *spec, mapping *m,
                          void *obj) {
  (void)spec; (void)m;
  ts_scenario_vpn *vpn = obj;
  return sc_read_address_list(L, value, true, false, NULL, TS_SCENARIO_VPN_MAX_ROUTES,
                              vpn->excluded_routes, &vpn->excluded_route_count);
}

static int parse_vpn_dns(loader *L, const tsy_node *value, const key_spec *spec, mapping *m,
                         void *obj) {
  (void)spec; (void)m;
  ts_scenario_vpn *vpn = obj;
  return sc_read_address_list(L, value, false, false, NULL, TS_SCENARIO_VPN_MAX_DNS, vpn->dns,
                              &vpn->dns_count);
}

static int parse_connect_at(loader *L, const tsy_node *value, const key_spec *spec, mapping *m,
                            void *obj) {
  (void)m;
  ts_scenario_vpn *vpn = obj;
  const tsy_node *at;
  int rc = sc_read_duration(L, value, spec, &vpn->connect_at, &at);
  if (!rc) vpn->has_connect_at = true;
  return rc;
}

static int parse_keepalive(loader *L, const tsy_node *value, const key_spec *spec, mapping *m,
                           void *obj) {
  (void)m;
  ts_scenario_vpn *vpn = obj;
  const tsy_node *at;
  ts_time t;
  int rc = sc_read_duration(L, value, spec, &t, &at);
  if (rc) return rc;
  if (t % TS_SEC) {
    char buf[FOUND_BUF];
    return sc_fail(L, at, "found %s, expected whole seconds for persistent-keepalive",
                   sc_describe(at, buf, sizeof buf));
  }
  vpn->persistent_keepalive = (uint16_t)(t / TS_SEC);
  return 0;
}

static int parse_monitor_target(loader *L, const tsy_node *value, const key_spec *spec,
                                mapping *m, void *obj) {
  (void)spec; (void)m;
  return sc_read_plain(L, value, false, NULL, &((ts_scenario_monitor *)obj)->target);
}

#define MON(field) offsetof(ts_scenario_monitor, field)
static const key_spec monitor_keys[] = {
    {"path", parse_monitor_path, MON(path), 0, 0, "path: bsd-utun", VARIANT_ALL, VARIANT_ALL},
    {"target", parse_monitor_target, 0, 0, 0, "target: 10.64.0.1", 0, VARIANT_ALL},
    {"size", sc_parse_u32, MON(size), 0, 1024, "size: 16", 0, VARIANT_ALL},
    {"check-interval", sc_parse_duration, MON(check_interval), 1, INT64_MAX, "check-interval: 1s",
     0, VARIANT_ALL},
    {"ping-delay", sc_parse_duration, MON(ping_delay), 1, INT64_MAX, "ping-delay: 3s", 0,
     VARIANT_ALL},
    {"establish-timeout", sc_parse_duration, MON(establish_timeout), 1, INT64_MAX,
     "establish-timeout: 4s", 0, VARIANT_ALL},
    {"establish-timeout-multiplier", sc_parse_u32, MON(establish_timeout_multiplier), 1, 16,
     "establish-timeout-multiplier: 2", 0, VARIANT_ALL},
    {"ping-timeout", sc_parse_duration, MON(ping_timeout), 1, INT64_MAX, "ping-timeout: 15s", 0,
     VARIANT_ALL},
    {"heartbeat-interval", sc_parse_duration, MON(heartbeat_interval), 1, INT64_MAX,
     "heartbeat-interval: 10s", 0, VARIANT_ALL},
    {"heartbeat-reply-timeout", sc_parse_duration, MON(heartbeat_reply_timeout), 1, INT64_MAX,
     "heartbeat-reply-timeout: 3s", 0, VARIANT_ALL},
};
CHECK_TABLE_SIZE(monitor_keys);

static int parse_monitor(loader *L, const tsy_node *value, const key_spec *spec, mapping *m,
                         void *obj) {
  (void)spec; (void)m;
  ts_scenario_monitor *mon = &((ts_scenario_vpn *)obj)->monitor;
  const tsy_node *item;
  int rc = sc_item_mapping(L, value, "a monitor mapping like {path: bsd-utun}", &item);
  if (rc) return rc;
  mon->pos = sc_pos_of(item);
  mapping mm;
  sc_mapping_init(&mm, item, NULL, 0, monitor_keys, KEY_COUNT(monitor_keys));
  snprintf(mm.where, sizeof mm.where, "in phone vpn monitor");
  snprintf(mm.label, sizeof mm.label, "in phone vpn monitor");
  rc = sc_load_mapping(L, &mm, mon);
  if (rc) return rc;
  if (mon->ping_timeout < mon->establish_timeout) {
    char a[32], b[32];
    ts_format_duration(mon->ping_timeout, a, sizeof a);
    ts_format_duration(mon->establish_timeout, b, sizeof b);
    return sc_fail(L, value_of(&mm, "ping-timeout"), "found ping-timeout %s shorter than "
                                                     "establish-timeout %s, expected ping-timeout "
                                                     ">= establish-timeout (it caps it)",
                   a, b);
  }
  mon->configured = true;
  return 0;
}

#define VPN(field) offsetof(ts_scenario_vpn, field)
#define FLAG_ROW(key, flag)                                                                 \
  {key, parse_tristate, VPN(flags) + (flag) * sizeof(ts_scenario_tristate), 0, 0, key ": true", \
   0, VARIANT_ALL}
static const key_spec vpn_keys[] = {
    {"enabled", sc_parse_bool, VPN(enabled), 0, 0, "enabled: true", 0, VARIANT_ALL},
    FLAG_ROW("include-all-networks", TS_SCENARIO_FLAG_INCLUDE_ALL_NETWORKS),
    FLAG_ROW("exclude-local-networks", TS_SCENARIO_FLAG_EXCLUDE_LOCAL_NETWORKS),
    FLAG_ROW("exclude-cellular-services", TS_SCENARIO_FLAG_EXCLUDE_CELLULAR_SERVICES),
    FLAG_ROW("exclude-apns", TS_SCENARIO_FLAG_EXCLUDE_APNS),
    FLAG_ROW("exclude-device-communication", TS_SCENARIO_FLAG_EXCLUDE_DEVICE_COMMUNICATION),
    FLAG_ROW("enforce-routes", TS_SCENARIO_FLAG_ENFORCE_ROUTES),
    FLAG_ROW("disconnect-on-sleep", TS_SCENARIO_FLAG_DISCONNECT_ON_SLEEP),
    {"relay", parse_vpn_relay, 0, 0, 0, "relay: relay1", VARIANT_ALL, VARIANT_ALL},
    {"tunnel-addresses", parse_tunnel_addresses, 0, 0, 0, "tunnel-addresses: [10.64.0.2/32]", 0,
     VARIANT_ALL},
    {"included-routes", parse_included, 0, 0, 0, "included-routes: [0.0.0.0/0]", 0, VARIANT_ALL},
    {"excluded-routes", parse_excluded, 0, 0, 0, "excluded-routes: []", 0, VARIANT_ALL},
    {"dns", parse_vpn_dns, 0, 0, 0, "dns: [10.64.0.1]", 0, VARIANT_ALL},
    {"on-demand", sc_parse_bool, VPN(on_demand), 0, 0, "on-demand: true", 0, VARIANT_ALL},
    {"on-demand-rules", sc_parse_od_rules, 0, 0, 0, "on-demand-rules: [{action: connect}]", 0,
     VARIANT_ALL},
    {"connect-at", parse_connect_at, 0, 0, INT64_MAX, "connect-at: 1s", 0, VARIANT_ALL},
    {"error-state", parse_error_state, VPN(error_state), 0, 0, "error-state: with-routes", 0,
     VARIANT_ALL},
    {"completion", parse_completion, VPN(completion), 0, 0, "completion: after-settings", 0,
     VARIANT_ALL},
    {"settings-delay", sc_parse_duration, VPN(settings_delay), 0, 3600 * TS_SEC,
     "settings-delay: 100ms", 0, VARIANT_ALL},
    {"persistent-keepalive", parse_keepalive, 0, 0, (int64_t)65535 * TS_SEC,
     "persistent-keepalive: 25s", 0, VARIANT_ALL},
    {"on-loss", parse_on_loss, VPN(on_loss), 0, 0, "on-loss: rehandshake", 0, VARIANT_ALL},
    {"monitor", parse_monitor, 0, 0, 0, "monitor: {path: bsd-utun}", 0, VARIANT_ALL},
    {"negotiation", sc_parse_negotiation, VPN(negotiation), 0, 0,
     "negotiation: {path: userspace-netstack}", 0, VARIANT_ALL},
    {"start-blocks", sc_parse_bool, VPN(start_blocks), 0, 0, "start-blocks: true", 0, VARIANT_ALL},
    {"settings-never-complete", sc_parse_bool, VPN(settings_never_complete), 0, 0,
     "settings-never-complete: true", 0, VARIANT_ALL},
    {"settings-timeout", sc_parse_duration, VPN(settings_timeout), 0, 3600 * TS_SEC,
     "settings-timeout: 5s", 0, VARIANT_ALL},
    {"stop-never-completes", sc_parse_bool, VPN(stop_never_completes), 0, 0,
     "stop-never-completes: true", 0, VARIANT_ALL},
    {"memory", sc_parse_u32, VPN(memory), 0, 4000000000u, "memory: 8388608", 0, VARIANT_ALL},
    {"memory-on-connect", sc_parse_u32, VPN(memory_on_connect), 0, 4000000000u,
     "memory-on-connect: 8388608", 0, VARIANT_ALL},
    {"needs-keychain", sc_parse_bool, VPN(needs_keychain), 0, 0, "needs-keychain: true", 0,
     VARIANT_ALL},
    {"keychain-locked", sc_parse_keychain, VPN(keychain_locked), 0, 0,
     "keychain-locked: blocked-state", 0, VARIANT_ALL},
};
CHECK_TABLE_SIZE(vpn_keys);

static void monitor_defaults(ts_scenario_monitor *mon) {
  mon->size = 16;
  mon->check_interval = TS_SEC;
  mon->ping_delay = 3 * TS_SEC;
  mon->establish_timeout = 4 * TS_SEC;
  mon->establish_timeout_multiplier = 2;
  mon->ping_timeout = 15 * TS_SEC;
  mon->heartbeat_interval = 10 * TS_SEC;
  mon->heartbeat_reply_timeout = 3 * TS_SEC;
}

static void vpn_defaults(ts_scenario_vpn *vpn) {
  vpn->enabled = true;
  for (int i = 0; i < TS_SCENARIO_FLAG_COUNT; i++) vpn->flags[i] = TS_SCENARIO_DEFAULT;
  vpn->tunnel_addresses[0] = (ts_ipprefix){{4, {10, 64, 0, 2}}, 32};
  vpn->tunnel_address_count = 1;
  vpn->included_routes[0] = (ts_ipprefix){{4, {0}}, 0};
  vpn->included_routes[1] = (ts_ipprefix){{6, {0}}, 0};
  vpn->included_route_count = 2;
  vpn->memory = 8u << 20;
  monitor_defaults(&vpn->monitor);
}

static int parse_vpn(loader *L, const tsy_node *value, const key_spec *spec, mapping *m,
                     void *obj) {
  (void)spec; (void)m;
  ts_scenario_vpn *vpn = &((ts_scenario_phone *)obj)->vpn;
  const tsy_node *item;
  int rc = sc_item_mapping(L, value, "a VPN mapping like {relay: relay1}", &item);
  if (rc) return rc;
  vpn_defaults(vpn);
  vpn->pos = sc_pos_of(item);
  mapping vm;
  sc_mapping_init(&vm, item, NULL, 0, vpn_keys, KEY_COUNT(vpn_keys));
  snprintf(vm.where, sizeof vm.where, "in phone vpn");
  snprintf(vm.label, sizeof vm.label, "in phone vpn");
  rc = sc_load_mapping(L, &vm, vpn);
  if (rc) return rc;
  const ts_scenario_relay *relay = &L->s->relays[vpn->relay];
  if (!vm.keys[sc_find_spec(&vm, "dns")]) {
    vpn->dns[0] = relay->gateway;
    vpn->dns_count = 1;
  }
  if (!vm.keys[sc_find_spec(&vm, "monitor")] || !vpn->monitor.configured) {
    vpn->monitor = (ts_scenario_monitor){0};
  } else if (vpn->monitor.target.family == 0) {
    vpn->monitor.target = relay->gateway;
  }
  const char *needs_monitor = vpn->completion == TS_SCENARIO_COMPLETE_AFTER_MONITOR ? "completion"
                              : vpn->on_loss != TS_SCENARIO_LOSS_IGNORE           ? "on-loss"
                                                                                  : NULL;
  if (vpn->completion == TS_SCENARIO_COMPLETE_AFTER_NEGOTIATION && !vpn->negotiation.configured) {
    char buf[FOUND_BUF];
    const tsy_node *at = value_of(&vm, "completion");
    return sc_fail(L, at, "found completion %s in phone vpn without negotiation, expected a "
                          "'negotiation' mapping",
                   sc_describe(at, buf, sizeof buf));
  }
  if (vpn->negotiation.configured && !relay->negotiation) {
    const tsy_node *at = value_of(&vm, "negotiation");
    return sc_fail(L, at, "found negotiation in phone vpn but relay '%s' does not serve it, "
                          "expected 'negotiation: true' on the relay",
                   relay->name);
  }
  if (needs_monitor && !vpn->monitor.configured) {
    char buf[FOUND_BUF];
    const tsy_node *at = value_of(&vm, needs_monitor);
    return sc_fail(L, at, "found %s %s in phone vpn without a monitor, expected a 'monitor' "
                          "mapping (it judges the tunnel)",
                   needs_monitor, sc_describe(at, buf, sizeof buf));
  }
  vpn->configured = true;
  return 0;
}

/* ------------------------------------------------------------ phone apps */

#define PA(t) (1u << (t))
#define PA_PING PA(TS_SCENARIO_PHONE_PING)
#define PA_UDP PA(TS_SCENARIO_PHONE_UDP)
#define PA_DNS PA(TS_SCENARIO_PHONE_DNS)
#define PA_TCP PA(TS_SCENARIO_PHONE_TCP)

static const ts_srcpos *phone_app_pos_at(const loader *L, size_t i) {
  return &L->s->phone.apps[i].pos;
}

int sc_check_app_name_free(loader *L, const tsy_node *at, const char *name, bool phone_app) {
  size_t other;
  const ts_srcpos *p;
  if (phone_app) {
    if (!ts_strmap_get(&L->app_names, name, &other)) return 0;
    p = &L->s->apps[other].pos;
  } else {
    if (!ts_strmap_get(&L->phone_app_names, name, &other)) return 0;
    p = &L->s->phone.apps[other].pos;
  }
  return sc_fail(L, at, "duplicate app name '%s' (first defined at %d:%d as %s), expected unique "
                        "app names across 'apps' and phone 'apps'",
                 name, p->line, p->col, phone_app ? "a node app" : "a phone app");
}

static int parse_pa_name(loader *L, const tsy_node *value, const key_spec *spec, mapping *m,
                         void *obj) {
  int rc = sc_parse_unique_name(L, value, m, true, sc_field(obj, spec), &L->phone_app_names,
                                L->s->phone.app_count - 1, "phone app", phone_app_pos_at);
  if (rc) return rc;
  return sc_check_app_name_free(L, resolved(L, value), sc_field(obj, spec), true);
}

static int parse_pa_type(loader *L, const tsy_node *value, const key_spec *spec, mapping *m,
                         void *obj) {
  (void)spec;
  size_t type;
  int rc = sc_read_word(L, value, app_type_names, TS_SCENARIO_PHONE_APP_TYPE_COUNT, &type);
  if (rc) return rc;
  ((ts_scenario_phone_app *)obj)->type = (ts_scenario_phone_app_type)type;
  m->variant = 1u << type;
  m->variant_name = app_type_names[type];
  return 0;
}

static int parse_pa_target(loader *L, const tsy_node *value, const key_spec *spec, mapping *m,
                           void *obj) {
  (void)spec;
  ts_scenario_phone_app *app = obj;
  if (!m->variant) return 0; /* no type: reported as a missing key */
  if (app->type == TS_SCENARIO_PHONE_DNS) {
    const tsy_node *at;
    return sc_read_dns_name(L, value, app->target_name, &at);
  }
  int rc = sc_read_plain(L, value, false, NULL, &app->target);
  if (!rc) app->has_target = true;
  return rc;
}

static const key_spec phone_app_keys[] = {
    {"name", parse_pa_name, offsetof(ts_scenario_phone_app, name), 0, 0, "name: browser",
     VARIANT_ALL, VARIANT_ALL},
    {"type", parse_pa_type, 0, 0, 0, "type: ping", VARIANT_ALL, VARIANT_ALL},
    {"class", parse_class, offsetof(ts_scenario_phone_app, traffic_class), 0, 0, "class: app", 0,
     VARIANT_ALL},
    {"api", parse_api, offsetof(ts_scenario_phone_app, api), 0, 0, "api: bsd", 0, VARIANT_ALL},
    {"scope", parse_scope, offsetof(ts_scenario_phone_app, scope), 0, 0, "scope: wifi", 0,
     VARIANT_ALL},
    {"target", parse_pa_target, 0, 0, 0, "target: 198.51.100.20", VARIANT_ALL, VARIANT_ALL},
    {"port", sc_parse_u16, offsetof(ts_scenario_phone_app, port), 1, 65535, "port: 443", 0,
     PA_UDP | PA_TCP},
    {"start", sc_parse_duration, offsetof(ts_scenario_phone_app, start), 0, INT64_MAX,
     "start: 0.5s", 0, VARIANT_ALL},
    {"interval", sc_parse_duration, offsetof(ts_scenario_phone_app, interval), 1, INT64_MAX,
     "interval: 1s", 0, VARIANT_ALL},
    {"count", sc_parse_u32, offsetof(ts_scenario_phone_app, count), 1, 1000000, "count: 10", 0,
     VARIANT_ALL},
    {"size", sc_parse_u32, offsetof(ts_scenario_phone_app, size), 0, 1024, "size: 56", 0,
     PA_PING | PA_UDP | PA_TCP},
    {"long-lived", sc_parse_bool, offsetof(ts_scenario_phone_app, long_lived), 0, 0,
     "long-lived: true", 0, PA_TCP},
};
CHECK_TABLE_SIZE(phone_app_keys);

/* Relations: the API fits the type, the scope names something the phone has. */
static int check_phone_app(loader *L, mapping *m, void *obj, size_t index) {
  (void)index;
  ts_scenario_phone_app *app = obj;
  const ts_scenario_phone *ph = &L->s->phone;
  if (app->api == TS_SCENARIO_API_NWTCPCONNECTION && app->type != TS_SCENARIO_PHONE_TCP) {
    return sc_fail(L, value_of(m, "api"), "found api 'nwtcpconnection' %s of type %s, expected "
                                          "bsd or nwconnection (NWTCPConnection is TCP only)",
                   m->label, m->variant_name);
  }
  bool ok = app->scope == TS_SCENARIO_SCOPE_NONE ||
            (app->scope == TS_SCENARIO_SCOPE_WIFI && ph->ifaces[TS_SCENARIO_WIFI].configured) ||
            (app->scope == TS_SCENARIO_SCOPE_CELLULAR &&
             ph->ifaces[TS_SCENARIO_CELLULAR].configured) ||
            (app->scope == TS_SCENARIO_SCOPE_VIRTUAL_INTERFACE && ph->vpn.configured);
  if (!ok) {
    return sc_fail(L, value_of(m, "scope"), "found scope '%s' %s but the phone has no %s, "
                                            "expected a scope the phone configures",
                   scope_names[app->scope], m->label,
                   app->scope == TS_SCENARIO_SCOPE_VIRTUAL_INTERFACE ? "vpn"
                   : app->scope == TS_SCENARIO_SCOPE_WIFI            ? "wifi interface"
                                                                     : "cellular interface");
  }
  if (app->type == TS_SCENARIO_PHONE_PING || app->type == TS_SCENARIO_PHONE_DNS) app->port = 0;
  if (app->type == TS_SCENARIO_PHONE_DNS) app->size = 0;
  if (app->type == TS_SCENARIO_PHONE_TCP && !m->keys[sc_find_spec(m, "port")]) app->port = 80;
  return 0;
}

static int phone_app_init(loader *L, const tsy_node *item, void *obj, size_t index) {
  (void)L; (void)index;
  ts_scenario_phone_app *app = obj;
  app->port = 7;
  app->interval = TS_SEC;
  app->count = 1;
  app->size = 56;
  app->pos = sc_pos_of(item);
  return 0;
}

static const sc_list phone_app_list = {"an app mapping like '- name: browser'", "phone app",
                                       phone_app_keys, KEY_COUNT(phone_app_keys),
                                       sizeof(ts_scenario_phone_app), phone_app_init,
                                       check_phone_app};

static int parse_phone_apps(loader *L, const tsy_node *value, const key_spec *spec, mapping *m,
                            void *obj) {
  (void)spec; (void)m;
  ts_scenario_phone *ph = obj;
  const tsy_node *seq;
  int rc = sc_sequence_value(L, value, "a list of apps like '- name: browser'", true, &seq);
  if (rc || !seq) return rc;
  ph->apps = calloc(seq->count ? seq->count : 1, sizeof *ph->apps);
  if (!ph->apps) return sc_out_of_memory(L, seq);
  return sc_load_mapping_list(L, seq, &phone_app_list, ph->apps, &ph->app_count);
}

/* ------------------------------------------------------------ the phone */

static int parse_phone_name(loader *L, const tsy_node *value, const key_spec *spec, mapping *m,
                            void *obj) {
  const tsy_node *at;
  int rc = sc_parse_name_text(L, value, m, false, sc_field(obj, spec), &at);
  if (rc) return rc;
  size_t node;
  if (!ts_strmap_get(&L->node_names, sc_field(obj, spec), &node)) return 0;
  const ts_srcpos *p = &L->s->nodes[node].pos;
  return sc_fail(L, at, "found phone name '%s' that a node has (defined at %d:%d), expected a "
                        "name of its own",
                 L->s->nodes[node].name, p->line, p->col);
}

static int parse_os(loader *L, const tsy_node *value, const key_spec *spec, mapping *m,
                    void *obj) {
  (void)m;
  const char *expected = "an OS profile name like ios-17 (models/os/<name>.yaml)";
  const tsy_node *at;
  const char *text;
  int rc = sc_scalar_text(L, value, expected, &text, &at);
  if (rc) return rc;
  if (!tsv_is_name(text, true) || text[0] == '.' || strstr(text, "..") ||
      strlen(text) >= TS_SCENARIO_NAME_MAX)
    return sc_fail_found(L, at, expected);
  strcpy(sc_field(obj, spec), text);
  return 0;
}

static const key_spec phone_keys[] = {
    {"name", parse_phone_name, offsetof(ts_scenario_phone, name), 0, 0, "name: phone", 0,
     VARIANT_ALL},
    {"os", parse_os, offsetof(ts_scenario_phone, os), 0, 0, "os: ios-17", 0, VARIANT_ALL},
    {"wifi", parse_wifi, 0, 0, 0, "wifi: {link: wifi, dhcp: true}", 0, VARIANT_ALL},
    {"cellular", parse_cellular, 0, 0, 0, "cellular: {link: cell, address: 10.20.0.2/24}", 0,
     VARIANT_ALL},
    {"primary", parse_primary, 0, 0, 0, "primary: wifi", 0, VARIANT_ALL},
    {"vpn", parse_vpn, 0, 0, 0, "vpn: {relay: relay1}", 0, VARIANT_ALL},
    {"apps", parse_phone_apps, 0, 0, 0, "apps: []", 0, VARIANT_ALL},
    {"appstore", sc_parse_appstore, 0, 0, 0, "appstore: {server: appstore}", 0, VARIANT_ALL},
    {"quirks", sc_parse_quirks, 0, 0, 0, "quirks: {update-relaunch-refused: true}", 0,
     VARIANT_ALL},
};
CHECK_TABLE_SIZE(phone_keys);

int sc_parse_phone(loader *L, const tsy_node *value, const key_spec *spec, mapping *m,
                   void *obj) {
  (void)spec; (void)m;
  ts_scenario *s = obj;
  ts_scenario_phone *ph = &s->phone;
  const tsy_node *item;
  int rc = sc_item_mapping(L, value, "a phone mapping like {os: ios-17, wifi: {link: wifi, "
                                     "dhcp: true}}",
                           &item);
  if (rc) return rc;
  strcpy(ph->name, "phone");
  ph->pos = sc_pos_of(item);
  s->has_phone = true; /* the timeline and the writer look at it; freed with s */
  mapping pm;
  sc_mapping_init(&pm, item, NULL, 0, phone_keys, KEY_COUNT(phone_keys));
  snprintf(pm.where, sizeof pm.where, "in phone");
  snprintf(pm.label, sizeof pm.label, "in phone");
  rc = sc_load_mapping(L, &pm, ph);
  if (rc) return rc;
  size_t node; /* the default name must be free too */
  if (!pm.keys[sc_find_spec(&pm, "name")] && ts_strmap_get(&L->node_names, ph->name, &node)) {
    const ts_srcpos *p = &s->nodes[node].pos;
    return sc_fail(L, item, "found a node named 'phone' (defined at %d:%d) and a phone without a "
                            "name, expected 'name:' for the phone",
                   p->line, p->col);
  }
  if (!ph->ifaces[TS_SCENARIO_WIFI].configured && !ph->ifaces[TS_SCENARIO_CELLULAR].configured) {
    return sc_fail(L, item, "missing key 'wifi' in phone, expected e.g. 'wifi: {link: wifi, "
                            "dhcp: true}' or 'cellular: {link: cell, address: 10.20.0.2/24}'");
  }
  if (!pm.keys[sc_find_spec(&pm, "primary")]) {
    ph->primary = ph->ifaces[TS_SCENARIO_WIFI].configured ? TS_SCENARIO_WIFI : TS_SCENARIO_CELLULAR;
  }
  return 0;
}

/* A link written with one endpoint must be claimed by the phone. */
int sc_check_phone_links(loader *L, const tsy_node *root) {
  (void)root;
  const ts_scenario *s = L->s;
  for (size_t i = 0; i < s->link_count; i++) {
    const ts_scenario_link *link = &s->links[i];
    if (!link->to_phone) continue;
    bool claimed = false;
    for (int j = 0; s->has_phone && j < TS_SCENARIO_PHONE_IF_COUNT; j++)
      claimed |= s->phone.ifaces[j].configured && s->phone.ifaces[j].link == i;
    if (claimed) continue;
    tsy_node at = {.line = link->pos.line, .col = link->pos.col};
    return sc_fail(L, &at, "found link '%s' with one endpoint that no phone interface uses, "
                           "expected two endpoints, or 'link: %s' under phone wifi or cellular",
                   link->name, link->name);
  }
  return 0;
}
