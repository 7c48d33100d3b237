/* Schema v1: turns the YAML tree into a ts_scenario, checking everything.
 *
 * Every mapping of the schema is described by a table of key_spec rows: the key,
 * the parser of its value, where the value goes, its range, an example for
 * messages, and for which variants (app types, timeline actions) it is required or
 * allowed. One generic routine checks a mapping against its table (unknown keys
 * with a did-you-mean, duplicates, keys that do not apply, missing keys) and runs
 * the parsers in table order. Adding a key is adding a row; adding a section is
 * adding a row whose parser walks a sequence of mappings with their own table.
 *
 * The first error wins: every function returns 0 or a negative TS_E* code, and the
 * message is already in the diag when it returns. */
#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "scenario_schema.h"

#define MAX_LINK_DELAY (3600 * TS_SEC)

/* ------------------------------------------------------------ top level */

static int parse_seed(loader *L, const tsy_node *value, const key_spec *spec, mapping *m,
                      void *obj) {
  (void)spec; (void)m;
  ts_scenario *s = obj;
  const char *expected = "an unsigned 64-bit integer like 1 or 0x2a";
  const tsy_node *at;
  const char *text;
  int rc = sc_scalar_text(L, value, expected, &text, &at);
  if (rc) return rc;
  if (tsv_parse_seed(text, &s->seed) != TSV_OK) return sc_fail_found(L, at, expected);
  s->has_seed = true;
  return 0;
}

static int parse_run_duration(loader *L, const tsy_node *value, const key_spec *spec, mapping *m,
                              void *obj) {
  (void)m;
  ts_scenario *s = obj;
  const tsy_node *at;
  int rc = sc_read_duration(L, value, spec, &s->duration, &at);
  if (!rc) s->has_duration = true;
  return rc;
}

/* ------------------------------------------------------------ nodes */

static const ts_srcpos *node_pos_at(const loader *L, size_t i) { return &L->s->nodes[i].pos; }
static const ts_srcpos *link_pos_at(const loader *L, size_t i) { return &L->s->links[i].pos; }
static const ts_srcpos *app_pos_at(const loader *L, size_t i) { return &L->s->apps[i].pos; }
static const ts_srcpos *iface_pos_at(const loader *L, size_t i) {
  return &L->s->nodes[L->s->node_count - 1].interfaces[i].pos;
}

static int parse_node_name(loader *L, const tsy_node *value, const key_spec *spec, mapping *m,
                           void *obj) {
  return sc_parse_unique_name(L, value, m, false, sc_field(obj, spec), &L->node_names,
                           L->s->node_count - 1, "node", node_pos_at);
}

static int parse_iface_name(loader *L, const tsy_node *value, const key_spec *spec, mapping *m,
                            void *obj) {
  ts_scenario_node *node = &L->s->nodes[L->s->node_count - 1];
  return sc_parse_unique_name(L, value, m, true, sc_field(obj, spec), &L->iface_names,
                           node->interface_count - 1, "interface", iface_pos_at);
}

static int parse_addresses(loader *L, const tsy_node *value, const key_spec *spec, mapping *m,
                           void *obj) {
  (void)spec; (void)m;
  ts_scenario_iface *iface = obj;
  const tsy_node *seq;
  int rc = sc_sequence_value(L, value, "a list of addresses like [10.0.0.1/24, \"fd00::1/64\"]",
                          false, &seq);
  if (rc) return rc;
  iface->addresses = calloc(seq->count, sizeof *iface->addresses);
  if (!iface->addresses) return sc_out_of_memory(L, seq);
  for (size_t i = 0; i < seq->count; i++) {
    rc = sc_read_address(L, seq->items[i], true, &iface->addresses[i]);
    if (rc) return rc;
    iface->address_count++;
  }
  return 0;
}

static const key_spec iface_keys[] = {
    {"name", parse_iface_name, offsetof(ts_scenario_iface, name), 0, 0, "name: eth0",
     VARIANT_ALL, VARIANT_ALL},
    {"addresses", parse_addresses, 0, 0, 0, "addresses: [10.0.0.1/24]", VARIANT_ALL,
     VARIANT_ALL},
};
CHECK_TABLE_SIZE(iface_keys);

static int iface_init(loader *L, const tsy_node *item, void *obj, size_t index) {
  (void)L; (void)index;
  ts_scenario_iface *iface = obj;
  iface->link = TS_SCENARIO_NONE;
  iface->pos = sc_pos_of(item);
  return 0;
}

static const sc_list iface_list = {"an interface mapping like '- name: eth0'", "interface",
                                   iface_keys, KEY_COUNT(iface_keys), sizeof(ts_scenario_iface),
                                   iface_init, NULL};

static int parse_interfaces(loader *L, const tsy_node *value, const key_spec *spec, mapping *m,
                            void *obj) {
  (void)spec; (void)m;
  ts_scenario_node *node = obj;
  const tsy_node *seq;
  int rc = sc_sequence_value(L, value, "a list of interfaces like '- name: eth0'", true, &seq);
  if (rc || !seq) return rc;
  ts_strmap_free(&L->iface_names);
  node->interfaces = calloc(seq->count ? seq->count : 1, sizeof *node->interfaces);
  if (!node->interfaces) return sc_out_of_memory(L, seq);
  return sc_load_mapping_list(L, seq, &iface_list, node->interfaces, &node->interface_count);
}

static int parse_route_to(loader *L, const tsy_node *value, const key_spec *spec, mapping *m,
                          void *obj) {
  (void)spec; (void)m;
  return sc_read_address(L, value, true, &((ts_scenario_route *)obj)->to);
}

/* An interface of the node being loaded, by name. */
static int parse_route_via(loader *L, const tsy_node *value, const key_spec *spec, mapping *m,
                           void *obj) {
  (void)spec;
  const ts_scenario_node *node = &L->s->nodes[L->s->node_count - 1];
  const tsy_node *at;
  const char *text;
  int rc = sc_scalar_text(L, value, "the name of an interface of the node", &text, &at);
  if (rc) return rc;
  if (ts_strmap_get(&L->iface_names, text, &((ts_scenario_route *)obj)->iface)) return 0;
  char buf[FOUND_BUF], names[300], hint[96];
  if (node->interface_count == 0) {
    return sc_fail(L, at, "found interface %s %s, expected an interface of node '%s' (it has none)",
                   sc_describe(at, buf, sizeof buf), m->label, node->name);
  }
  sc_name_list(L, sc_iface_name_at, node, node->interface_count, 8, names, sizeof names);
  sc_did_you_mean(L, text, sc_iface_name_at, node, node->interface_count, hint, sizeof hint);
  return sc_fail(L, at, "found interface %s %s that node '%s' does not have, expected one of: %s%s",
                 sc_describe(at, buf, sizeof buf), m->label, node->name, names, hint);
}

static const key_spec route_keys[] = {
    {"to", parse_route_to, 0, 0, 0, "to: 0.0.0.0/0", VARIANT_ALL, VARIANT_ALL},
    {"via", parse_route_via, 0, 0, 0, "via: eth1", VARIANT_ALL, VARIANT_ALL},
};
CHECK_TABLE_SIZE(route_keys);

static int route_init(loader *L, const tsy_node *item, void *obj, size_t index) {
  (void)L; (void)index;
  ((ts_scenario_route *)obj)->pos = sc_pos_of(item);
  return 0;
}

static const sc_list route_list = {"a route mapping like '- {to: 0.0.0.0/0, via: eth1}'", "route",
                                   route_keys, KEY_COUNT(route_keys), sizeof(ts_scenario_route),
                                   route_init, NULL};

static int parse_node_routes(loader *L, const tsy_node *value, const key_spec *spec, mapping *m,
                             void *obj) {
  (void)spec; (void)m;
  ts_scenario_node *node = obj;
  const tsy_node *seq;
  int rc = sc_sequence_value(L, value, "a list of routes like '- {to: 0.0.0.0/0, via: eth1}'",
                             true, &seq);
  if (rc || !seq) return rc;
  node->routes = calloc(seq->count ? seq->count : 1, sizeof *node->routes);
  if (!node->routes) return sc_out_of_memory(L, seq);
  return sc_load_mapping_list(L, seq, &route_list, node->routes, &node->route_count);
}

static const key_spec node_keys[] = {
    {"name", parse_node_name, offsetof(ts_scenario_node, name), 0, 0, "name: hostA", VARIANT_ALL,
     VARIANT_ALL},
    {"interfaces", parse_interfaces, 0, 0, 0, "interfaces: [{name: eth0, addresses: [10.0.0.1/24]}]",
     0, VARIANT_ALL},
    {"forwarding", sc_parse_bool, offsetof(ts_scenario_node, forwarding), 0, 0, "forwarding: true",
     0, VARIANT_ALL},
    {"routes", parse_node_routes, 0, 0, 0, "routes: [{to: 0.0.0.0/0, via: eth1}]", 0, VARIANT_ALL},
};
CHECK_TABLE_SIZE(node_keys);

static int node_init(loader *L, const tsy_node *item, void *obj, size_t index) {
  (void)index;
  ((ts_scenario_node *)obj)->pos = sc_pos_of(item);
  ts_strmap_free(&L->iface_names); /* a node without 'interfaces' has none */
  return 0;
}

static const sc_list node_list = {"a node mapping like '- name: hostA'", "node", node_keys,
                                  KEY_COUNT(node_keys), sizeof(ts_scenario_node), node_init, NULL};

static int parse_nodes(loader *L, const tsy_node *value, const key_spec *spec, mapping *m,
                       void *obj) {
  (void)spec; (void)m;
  ts_scenario *s = obj;
  const tsy_node *seq;
  int rc = sc_sequence_value(L, value, "a list of at least one node like '- name: hostA'", false,
                          &seq);
  if (rc) return rc;
  s->nodes = calloc(seq->count ? seq->count : 1, sizeof *s->nodes);
  if (!s->nodes) return sc_out_of_memory(L, seq);
  rc = sc_load_mapping_list(L, seq, &node_list, s->nodes, &s->node_count);
  ts_strmap_free(&L->iface_names);
  return rc;
}

/* ------------------------------------------------------------ links */

static int parse_link_name(loader *L, const tsy_node *value, const key_spec *spec, mapping *m,
                           void *obj) {
  return sc_parse_unique_name(L, value, m, true, sc_field(obj, spec), &L->link_names,
                           L->s->link_count - 1, "link", link_pos_at);
}


static int resolve_endpoint(loader *L, const tsy_node *value, ts_scenario_endpoint *ep,
                            const tsy_node **at) {
  const char *expected = "an endpoint like hostA/eth0";
  const char *text;
  int rc = sc_scalar_text(L, value, expected, &text, at);
  if (rc) return rc;
  const char *slash = strchr(text, '/');
  if (!slash || slash == text || slash[1] == '\0' || strchr(slash + 1, '/'))
    return sc_fail_found(L, *at, expected);

  char node_name[TS_SCENARIO_NAME_MAX], context[FOUND_BUF + 32], quoted[FOUND_BUF];
  size_t node_len = (size_t)(slash - text);
  snprintf(context, sizeof context, "link endpoint %s", sc_quote(text, strlen(text), quoted, sizeof quoted));
  if (node_len >= sizeof node_name) {
    return sc_fail(L, *at, "%s: the node name is longer than %d characters, expected the name of "
                        "a node", context, TS_SCENARIO_NAME_MAX - 1);
  }
  memcpy(node_name, text, node_len);
  node_name[node_len] = '\0';
  rc = sc_resolve_node(L, *at, context, node_name, &ep->node);
  if (rc) return rc;

  const ts_scenario_node *node = &L->s->nodes[ep->node];
  const char *iface_name = slash + 1;
  for (size_t i = 0; i < node->interface_count; i++) {
    if (strcmp(node->interfaces[i].name, iface_name) == 0) {
      ep->iface = i;
      return 0;
    }
  }
  char names[300], hint[96];
  sc_name_list(L, sc_iface_name_at, node, node->interface_count, 8, names, sizeof names);
  sc_did_you_mean(L, iface_name, sc_iface_name_at, node, node->interface_count, hint, sizeof hint);
  if (node->interface_count == 0) {
    return sc_fail(L, *at, "%s: node '%s' has no interfaces, expected an interface of node '%s'",
                context, node->name, node->name);
  }
  return sc_fail(L, *at, "%s: node '%s' has no interface '%s', expected one of: %s%s", context,
              node->name, iface_name, names, hint);
}

static int parse_endpoints(loader *L, const tsy_node *value, const key_spec *spec, mapping *m,
                           void *obj) {
  (void)spec;
  ts_scenario_link *link = obj;
  size_t link_index = L->s->link_count - 1;
  const char *expected = "exactly two endpoints like [hostA/eth0, hostB/eth0]";
  const tsy_node *seq;
  int rc = sc_sequence_value(L, value, expected, false, &seq);
  if (rc) return rc;
  /* One endpoint: a link to the phone, claimed by phone wifi/cellular 'link'. */
  if (seq->count == 1) {
    link->to_phone = true;
    link->endpoints[1] = (ts_scenario_endpoint){TS_SCENARIO_NONE, TS_SCENARIO_NONE};
  } else if (seq->count != 2) {
    return sc_fail(L, seq, "found %zu endpoints, expected %s", seq->count, expected);
  }
  for (size_t i = 0; i < seq->count; i++) {
    const tsy_node *at;
    ts_scenario_endpoint *ep = &link->endpoints[i];
    rc = resolve_endpoint(L, seq->items[i], ep, &at);
    if (rc) return rc;
    ts_scenario_node *node = &L->s->nodes[ep->node];
    ts_scenario_iface *iface = &node->interfaces[ep->iface];
    if (i == 1 && ep->node == link->endpoints[0].node && ep->iface == link->endpoints[0].iface) {
      return sc_fail(L, at, "found endpoint '%s/%s' twice %s, expected two different interfaces",
                  node->name, iface->name, m->label);
    }
    if (iface->link != TS_SCENARIO_NONE) {
      const ts_scenario_link *other = &L->s->links[iface->link];
      return sc_fail(L, at,
                  "found interface '%s/%s' already on link '%s' (defined at %d:%d), expected "
                  "each interface on at most one link",
                  node->name, iface->name, other->name, other->pos.line, other->pos.col);
    }
    iface->link = link_index;
  }
  return 0;
}

static const key_spec link_keys[] = {
    {"name", parse_link_name, offsetof(ts_scenario_link, name), 0, 0, "name: ab", VARIANT_ALL,
     VARIANT_ALL},
    {"endpoints", parse_endpoints, 0, 0, 0, "endpoints: [hostA/eth0, hostB/eth0]", VARIANT_ALL,
     VARIANT_ALL},
    {"delay", sc_parse_duration, offsetof(ts_scenario_link, delay), 0, MAX_LINK_DELAY, "delay: 5ms",
     0, VARIANT_ALL},
    {"jitter", sc_parse_duration, offsetof(ts_scenario_link, jitter), 0, MAX_LINK_DELAY,
     "jitter: 1ms", 0, VARIANT_ALL},
    {"loss", sc_parse_probability, offsetof(ts_scenario_link, loss), 0, 0, "loss: 0.01", 0,
     VARIANT_ALL},
    {"rate", sc_parse_rate, offsetof(ts_scenario_link, rate_bps), 0, 0, "rate: 10Mbps", 0,
     VARIANT_ALL},
    {"mtu", sc_parse_u32, offsetof(ts_scenario_link, mtu), 68, 65535, "mtu: 1500", 0, VARIANT_ALL},
    {"queue", sc_parse_u32, offsetof(ts_scenario_link, queue_packets), 1, 1000000, "queue: 1000", 0,
     VARIANT_ALL},
    {"up", sc_parse_bool, offsetof(ts_scenario_link, up), 0, 0, "up: true", 0, VARIANT_ALL},
};
CHECK_TABLE_SIZE(link_keys);

static void link_defaults(ts_scenario_link *link) {
  link->mtu = 1500;
  link->queue_packets = 1000;
  link->up = true;
}

/* Relations between keys of one link, checked once all are parsed. */
static int check_link(loader *L, mapping *m, void *obj, size_t index) {
  (void)index;
  const ts_scenario_link *link = obj;
  if (link->jitter <= link->delay) return 0;
  char jitter[32], delay[32];
  ts_format_duration(link->jitter, jitter, sizeof jitter);
  ts_format_duration(link->delay, delay, sizeof delay);
  const tsy_node *at = m->values[sc_find_spec(m, "jitter")];
  return sc_fail(L, at->kind == TSY_ALIAS ? at->target : at,
              "found jitter %s larger than delay %s %s, expected jitter <= delay", jitter, delay,
              m->label);
}

static int link_init(loader *L, const tsy_node *item, void *obj, size_t index) {
  (void)L; (void)index;
  link_defaults(obj);
  ((ts_scenario_link *)obj)->pos = sc_pos_of(item);
  return 0;
}

static const sc_list link_list = {"a link mapping like '- name: ab'", "link", link_keys,
                                  KEY_COUNT(link_keys), sizeof(ts_scenario_link), link_init,
                                  check_link};

static int parse_links(loader *L, const tsy_node *value, const key_spec *spec, mapping *m,
                       void *obj) {
  (void)spec; (void)m;
  ts_scenario *s = obj;
  const tsy_node *seq;
  int rc = sc_sequence_value(L, value, "a list of links like '- name: ab'", true, &seq);
  if (rc || !seq) return rc;
  s->links = calloc(seq->count ? seq->count : 1, sizeof *s->links);
  if (!s->links) return sc_out_of_memory(L, seq);
  return sc_load_mapping_list(L, seq, &link_list, s->links, &s->link_count);
}

/* ------------------------------------------------------------ apps */

static const char *const app_type_names[TS_APP_TYPE_COUNT] = {
    [TS_APP_PING] = "ping",
    [TS_APP_UDP_ECHO_SERVER] = "udp-echo-server",
    [TS_APP_UDP_ECHO_CLIENT] = "udp-echo-client",
    [TS_APP_TCP_SERVER] = "tcp-server",
    [TS_APP_TCP_ECHO_SERVER] = "tcp-echo-server",
};

#define APP_PING (1u << TS_APP_PING)
#define APP_SERVER ((1u << TS_APP_UDP_ECHO_SERVER) | (1u << TS_APP_TCP_SERVER) | \
                    (1u << TS_APP_TCP_ECHO_SERVER))
#define APP_CLIENT (1u << TS_APP_UDP_ECHO_CLIENT)

const char *ts_scenario_app_type_name(int type) {
  return type >= 0 && type < TS_APP_TYPE_COUNT ? app_type_names[type] : NULL;
}


static int parse_app_name(loader *L, const tsy_node *value, const key_spec *spec, mapping *m,
                          void *obj) {
  int rc = sc_parse_unique_name(L, value, m, true, sc_field(obj, spec), &L->app_names,
                                L->s->app_count - 1, "app", app_pos_at);
  if (rc) return rc;
  const tsy_node *at;
  rc = sc_visit(L, value, &at);
  return rc ? rc : sc_check_app_name_free(L, at, sc_field(obj, spec), false);
}

static int parse_app_type(loader *L, const tsy_node *value, const key_spec *spec, mapping *m,
                          void *obj) {
  (void)spec;
  ts_scenario_app *app = obj;
  size_t type;
  int rc = sc_read_word(L, value, app_type_names, TS_APP_TYPE_COUNT, &type);
  if (rc) return rc;
  app->type = (ts_app_type)type;
  m->variant = 1u << type;
  m->variant_name = app_type_names[type];
  return 0;
}

static int parse_app_node(loader *L, const tsy_node *value, const key_spec *spec, mapping *m,
                          void *obj) {
  (void)spec;
  ts_scenario_app *app = obj;
  const tsy_node *at;
  const char *text;
  int rc = sc_scalar_text(L, value, "the name of a node", &text, &at);
  if (rc) return rc;
  char context[160];
  snprintf(context, sizeof context, "node %s", m->label); /* "node in app 'p'" */
  return sc_resolve_node(L, at, context, text, &app->node);
}

static int parse_target(loader *L, const tsy_node *value, const key_spec *spec, mapping *m,
                        void *obj) {
  (void)spec; (void)m;
  ts_scenario_app *app = obj;
  int rc = sc_read_address(L, value, false, &app->target);
  if (!rc) app->has_target = true;
  return rc;
}

static const key_spec app_keys[] = {
    {"name", parse_app_name, offsetof(ts_scenario_app, name), 0, 0, "name: ping1", VARIANT_ALL,
     VARIANT_ALL},
    {"type", parse_app_type, 0, 0, 0, "type: ping", VARIANT_ALL, VARIANT_ALL},
    {"node", parse_app_node, 0, 0, 0, "node: hostA", VARIANT_ALL, VARIANT_ALL},
    {"target", parse_target, 0, 0, 0, "target: 10.0.0.2", APP_PING | APP_CLIENT,
     APP_PING | APP_CLIENT},
    {"port", sc_parse_u16, offsetof(ts_scenario_app, port), 1, 65535, "port: 7", 0,
     APP_SERVER | APP_CLIENT},
    {"start", sc_parse_duration, offsetof(ts_scenario_app, start), 0, INT64_MAX, "start: 1s", 0,
     VARIANT_ALL},
    {"interval", sc_parse_duration, offsetof(ts_scenario_app, interval), 1, INT64_MAX,
     "interval: 1s", 0, APP_PING | APP_CLIENT},
    {"count", sc_parse_u32, offsetof(ts_scenario_app, count), 1, 1000000, "count: 5", 0,
     APP_PING | APP_CLIENT},
    {"size", sc_parse_u32, offsetof(ts_scenario_app, size), 0, 65000, "size: 56", 0,
     APP_PING | APP_CLIENT},
};
CHECK_TABLE_SIZE(app_keys);

static void app_defaults(ts_scenario_app *app) {
  app->port = 7;
  app->interval = TS_SEC;
  app->count = 1;
  app->size = 56;
}

/* Values of keys that do not apply to the type are zeroed, so that consumers and
 * the writer see only what means something. */
static void app_clear_unused(ts_scenario_app *app) {
  if (app->type == TS_APP_PING) app->port = 0;
  if ((1u << app->type) & APP_SERVER) {
    app->interval = 0;
    app->count = 0;
    app->size = 0;
  }
}

static int app_init(loader *L, const tsy_node *item, void *obj, size_t index) {
  (void)L; (void)index;
  app_defaults(obj);
  ((ts_scenario_app *)obj)->pos = sc_pos_of(item);
  return 0;
}

static int app_check(loader *L, mapping *m, void *obj, size_t index) {
  (void)L; (void)m; (void)index;
  app_clear_unused(obj);
  return 0;
}

static const sc_list app_list = {"an app mapping like '- name: ping1'", "app", app_keys,
                                 KEY_COUNT(app_keys), sizeof(ts_scenario_app), app_init,
                                 app_check};

static int parse_apps(loader *L, const tsy_node *value, const key_spec *spec, mapping *m,
                      void *obj) {
  (void)spec; (void)m;
  ts_scenario *s = obj;
  const tsy_node *seq;
  int rc = sc_sequence_value(L, value, "a list of apps like '- name: ping1'", true, &seq);
  if (rc || !seq) return rc;
  s->apps = calloc(seq->count ? seq->count : 1, sizeof *s->apps);
  if (!s->apps) return sc_out_of_memory(L, seq);
  return sc_load_mapping_list(L, seq, &app_list, s->apps, &s->app_count);
}

/* ------------------------------------------------------------ timeline */

static const char *const action_names[TS_ACTION_COUNT] = {
    [TS_ACTION_LINK_DOWN] = "link-down",
    [TS_ACTION_LINK_UP] = "link-up",
    [TS_ACTION_VPN_CONNECT] = "vpn-connect",
    [TS_ACTION_VPN_DISCONNECT] = "vpn-disconnect",
    [TS_ACTION_VPN_ERROR] = "vpn-error",
    [TS_ACTION_PROVIDER_CRASH] = "provider-crash",
    [TS_ACTION_WIFI_DOWN] = "wifi-down",
    [TS_ACTION_WIFI_UP] = "wifi-up",
    [TS_ACTION_CELLULAR_DOWN] = "cellular-down",
    [TS_ACTION_CELLULAR_UP] = "cellular-up",
    [TS_ACTION_SWITCH_PRIMARY] = "switch-primary",
    [TS_ACTION_REASSERT] = "reassert",
    [TS_ACTION_SET_FLAG] = "set-flag",
    [TS_ACTION_REBOOT] = "reboot",
    [TS_ACTION_UNLOCK] = "unlock",
    [TS_ACTION_SLEEP] = "sleep",
    [TS_ACTION_WAKE] = "wake",
    [TS_ACTION_AIRPLANE_ON] = "airplane-on",
    [TS_ACTION_AIRPLANE_OFF] = "airplane-off",
    [TS_ACTION_SETTINGS_TOGGLE] = "settings-toggle",
    [TS_ACTION_APP_DISCONNECT] = "app-disconnect",
    [TS_ACTION_APP_UPDATE] = "app-update",
    [TS_ACTION_CANCEL_DOWNLOAD] = "cancel-download",
    [TS_ACTION_UNINSTALL_APP] = "uninstall-app",
    [TS_ACTION_REMOVE_VPN_PROFILE] = "remove-vpn-profile",
    [TS_ACTION_OPEN_APP] = "open-app",
};
_Static_assert(TS_ACTION_COUNT <= 32, "timeline actions are variants: at most 32");

#define ACT(a) (1u << (a))
#define ACTIONS_ON_LINKS (ACT(TS_ACTION_LINK_DOWN) | ACT(TS_ACTION_LINK_UP))
#define ACTIONS_ON_VPN                                                                      \
  (ACT(TS_ACTION_VPN_CONNECT) | ACT(TS_ACTION_VPN_DISCONNECT) | ACT(TS_ACTION_VPN_ERROR) | \
   ACT(TS_ACTION_PROVIDER_CRASH) | ACT(TS_ACTION_REASSERT) | ACT(TS_ACTION_SET_FLAG) |       \
   ACT(TS_ACTION_SETTINGS_TOGGLE) | ACT(TS_ACTION_APP_DISCONNECT) |                          \
   ACT(TS_ACTION_REMOVE_VPN_PROFILE) | ACT(TS_ACTION_OPEN_APP) | ACT(TS_ACTION_UNINSTALL_APP))
#define ACTIONS_ON_PHONE                                                                    \
  (ACT(TS_ACTION_SWITCH_PRIMARY) | ACT(TS_ACTION_REBOOT) | ACT(TS_ACTION_UNLOCK) |            \
   ACT(TS_ACTION_SLEEP) | ACT(TS_ACTION_WAKE) | ACT(TS_ACTION_AIRPLANE_ON) |                 \
   ACT(TS_ACTION_AIRPLANE_OFF))
#define ACTIONS_ON_APPSTORE (ACT(TS_ACTION_APP_UPDATE) | ACT(TS_ACTION_CANCEL_DOWNLOAD))
#define FAULT_ACTIONS                                                                       \
  (ACT(TS_ACTION_LINK_DOWN) | ACT(TS_ACTION_VPN_ERROR) | ACT(TS_ACTION_PROVIDER_CRASH) |     \
   ACT(TS_ACTION_WIFI_DOWN) | ACT(TS_ACTION_CELLULAR_DOWN) | ACT(TS_ACTION_APP_UPDATE) |     \
   ACT(TS_ACTION_AIRPLANE_ON) | ACT(TS_ACTION_SLEEP))

bool ts_scenario_action_is_fault(int action) {
  return action >= 0 && action < TS_ACTION_COUNT && (FAULT_ACTIONS & ACT(action));
}
#define ACTIONS_ON_WIFI (ACT(TS_ACTION_WIFI_DOWN) | ACT(TS_ACTION_WIFI_UP))
#define ACTIONS_ON_CELLULAR (ACT(TS_ACTION_CELLULAR_DOWN) | ACT(TS_ACTION_CELLULAR_UP))

static const char *const start_cause_names[TS_SCENARIO_START_CAUSE_COUNT] = {"user", "app",
                                                                            "on-demand"};
static const char *const stop_reason_names[TS_SCENARIO_STOP_REASON_COUNT] = {
    "user", "provider-failed", "no-network", "app-update"};
static const char *const stop_reason_apple_names[TS_SCENARIO_STOP_REASON_COUNT] = {
    "userInitiated", "providerFailed", "noNetworkAvailable", "appUpdate"};

const char *ts_scenario_action_name(int action) {
  return action >= 0 && action < TS_ACTION_COUNT ? action_names[action] : NULL;
}
const char *ts_scenario_start_cause_name(int c) {
  return c >= 0 && c < TS_SCENARIO_START_CAUSE_COUNT ? start_cause_names[c] : NULL;
}
const char *ts_scenario_stop_reason_name(int r) {
  return r >= 0 && r < TS_SCENARIO_STOP_REASON_COUNT ? stop_reason_names[r] : NULL;
}
const char *ts_scenario_stop_reason_apple_name(int r) {
  return r >= 0 && r < TS_SCENARIO_STOP_REASON_COUNT ? stop_reason_apple_names[r] : NULL;
}

/* An action on the phone needs the part of the phone it acts on. */
static int check_action_target(loader *L, const tsy_node *at, const char *action, unsigned bit) {
  const ts_scenario *s = L->s;
  const char *needs = NULL;
  if ((bit & ACTIONS_ON_VPN) && !(s->has_phone && s->phone.vpn.configured)) needs = "'phone: vpn:'";
  if ((bit & ACTIONS_ON_WIFI) && !(s->has_phone && s->phone.ifaces[TS_SCENARIO_WIFI].configured))
    needs = "'phone: wifi:'";
  if ((bit & ACTIONS_ON_CELLULAR) &&
      !(s->has_phone && s->phone.ifaces[TS_SCENARIO_CELLULAR].configured))
    needs = "'phone: cellular:'";
  if ((bit & ACTIONS_ON_PHONE) && !s->has_phone) needs = "'phone:'";
  if ((bit & ACTIONS_ON_APPSTORE) && !(s->has_phone && s->phone.appstore.configured))
    needs = "'phone: appstore:'";
  if (!needs) return 0;
  return sc_fail(L, at, "found action '%s' in a scenario without %s, expected an action on "
                        "something the scenario defines",
                 action, needs);
}

static int parse_action(loader *L, const tsy_node *value, const key_spec *spec, mapping *m,
                        void *obj) {
  (void)spec;
  ts_timeline_event *ev = obj;
  size_t action;
  int rc = sc_read_word(L, value, action_names, TS_ACTION_COUNT, &action);
  if (rc) return rc;
  ev->action = (ts_timeline_action)action;
  m->variant = 1u << action;
  m->variant_name = action_names[action];
  const tsy_node *at;
  rc = sc_visit(L, value, &at);
  return rc ? rc : check_action_target(L, at, action_names[action], m->variant);
}

static int parse_cause(loader *L, const tsy_node *value, const key_spec *spec, mapping *m,
                       void *obj) {
  (void)spec; (void)m;
  size_t i;
  int rc = sc_read_word(L, value, start_cause_names, TS_SCENARIO_START_CAUSE_COUNT, &i);
  if (!rc) ((ts_timeline_event *)obj)->cause = (ts_scenario_start_cause)i;
  return rc;
}

static int parse_reason(loader *L, const tsy_node *value, const key_spec *spec, mapping *m,
                        void *obj) {
  (void)spec; (void)m;
  size_t i;
  int rc = sc_read_word(L, value, stop_reason_names, TS_SCENARIO_STOP_REASON_COUNT, &i);
  if (!rc) ((ts_timeline_event *)obj)->reason = (ts_scenario_stop_reason)i;
  return rc;
}

static int parse_to(loader *L, const tsy_node *value, const key_spec *spec, mapping *m,
                    void *obj) {
  (void)spec; (void)m;
  const char *names[TS_SCENARIO_PHONE_IF_COUNT];
  for (int i = 0; i < TS_SCENARIO_PHONE_IF_COUNT; i++) names[i] = ts_scenario_phone_if_name(i);
  size_t i;
  int rc = sc_read_word(L, value, names, TS_SCENARIO_PHONE_IF_COUNT, &i);
  if (rc) return rc;
  ((ts_timeline_event *)obj)->to = (ts_scenario_phone_if)i;
  if (L->s->phone.ifaces[i].configured) return 0;
  const tsy_node *at;
  rc = sc_visit(L, value, &at);
  if (rc) return rc;
  return sc_fail(L, at, "found switch-primary to '%s' but the phone has no %s interface, "
                        "expected an interface configured under 'phone'",
                 names[i], names[i]);
}

static int parse_flag(loader *L, const tsy_node *value, const key_spec *spec, mapping *m,
                      void *obj) {
  (void)spec; (void)m;
  const char *names[TS_SCENARIO_FLAG_COUNT];
  for (int i = 0; i < TS_SCENARIO_FLAG_COUNT; i++) names[i] = ts_scenario_flag_name(i);
  size_t i;
  int rc = sc_read_word(L, value, names, TS_SCENARIO_FLAG_COUNT, &i);
  if (!rc) ((ts_timeline_event *)obj)->flag = (ts_scenario_flag)i;
  return rc;
}

static int parse_event_link(loader *L, const tsy_node *value, const key_spec *spec, mapping *m,
                            void *obj) {
  (void)spec; (void)m;
  ts_timeline_event *ev = obj;
  const tsy_node *at;
  const char *text;
  int rc = sc_scalar_text(L, value, "the name of a link", &text, &at);
  if (rc) return rc;
  if (ts_strmap_get(&L->link_names, text, &ev->link)) return 0;
  char buf[FOUND_BUF];
  if (L->s->link_count == 0)
    return sc_fail(L, at, "found link %s, expected a link defined under 'links' (there are none)",
                sc_describe(at, buf, sizeof buf));
  char names[300], hint[96];
  sc_name_list(L, sc_link_name_at, NULL, L->s->link_count, 8, names, sizeof names);
  sc_did_you_mean(L, text, sc_link_name_at, NULL, L->s->link_count, hint, sizeof hint);
  return sc_fail(L, at, "found link %s that does not exist, expected one of: %s%s",
              sc_describe(at, buf, sizeof buf), names, hint);
}

static const key_spec event_keys[] = {
    {"at", sc_parse_duration, offsetof(ts_timeline_event, at), 0, INT64_MAX, "at: 3s", VARIANT_ALL,
     VARIANT_ALL},
    {"action", parse_action, 0, 0, 0, "action: link-down", VARIANT_ALL, VARIANT_ALL},
    {"link", parse_event_link, 0, 0, 0, "link: ab", ACTIONS_ON_LINKS, ACTIONS_ON_LINKS},
    {"cause", parse_cause, 0, 0, 0, "cause: on-demand", 0, ACT(TS_ACTION_VPN_CONNECT)},
    {"reason", parse_reason, 0, 0, 0, "reason: user", 0, ACT(TS_ACTION_VPN_DISCONNECT)},
    {"to", parse_to, 0, 0, 0, "to: cellular", ACT(TS_ACTION_SWITCH_PRIMARY),
     ACT(TS_ACTION_SWITCH_PRIMARY)},
    {"duration", sc_parse_duration, offsetof(ts_timeline_event, duration), 0, INT64_MAX,
     "duration: 3s", 0, ACT(TS_ACTION_REASSERT)},
    {"flag", parse_flag, 0, 0, 0, "flag: include-all-networks", ACT(TS_ACTION_SET_FLAG),
     ACT(TS_ACTION_SET_FLAG)},
    {"value", sc_parse_bool, offsetof(ts_timeline_event, value), 0, 0, "value: true",
     ACT(TS_ACTION_SET_FLAG), ACT(TS_ACTION_SET_FLAG)},
    {"reconnect", sc_parse_bool, offsetof(ts_timeline_event, reconnect), 0, 0, "reconnect: true",
     0, ACT(TS_ACTION_SET_FLAG)},
};
CHECK_TABLE_SIZE(event_keys);

static int event_init(loader *L, const tsy_node *item, void *obj, size_t index) {
  (void)L; (void)index;
  ts_timeline_event *ev = obj;
  ev->link = TS_SCENARIO_NONE;
  ev->reconnect = true;
  ev->pos = sc_pos_of(item);
  return 0;
}

static const sc_list event_list = {"an event mapping like '- at: 3s'", "timeline event",
                                   event_keys, KEY_COUNT(event_keys), sizeof(ts_timeline_event),
                                   event_init, NULL};

static int parse_timeline(loader *L, const tsy_node *value, const key_spec *spec, mapping *m,
                          void *obj) {
  (void)spec; (void)m;
  ts_scenario *s = obj;
  const tsy_node *seq;
  int rc = sc_sequence_value(L, value, "a list of events like '- at: 3s'", true, &seq);
  if (rc || !seq) return rc;
  s->timeline = calloc(seq->count ? seq->count : 1, sizeof *s->timeline);
  if (!s->timeline) return sc_out_of_memory(L, seq);
  return sc_load_mapping_list(L, seq, &event_list, s->timeline, &s->timeline_count);
}

/* ------------------------------------------------------------ the document */

/* Order matters: version first, and sections after the ones they refer to. */
static const key_spec top_keys[] = {
    {"version", sc_parse_version, offsetof(ts_scenario, version), 0, 0, "version: 1", VARIANT_ALL,
     VARIANT_ALL},
    {"name", sc_parse_scenario_name, offsetof(ts_scenario, name), 0, 0, "name: two-hosts",
     VARIANT_ALL, VARIANT_ALL},
    {"description", sc_parse_text, offsetof(ts_scenario, description), 0, 0,
     "description: \"free text\"", 0, VARIANT_ALL},
    {"seed", parse_seed, 0, 0, 0, "seed: 1", 0, VARIANT_ALL},
    {"duration", parse_run_duration, 0, 1, INT64_MAX, "duration: 10s", 0, VARIANT_ALL},
    {"nodes", parse_nodes, 0, 0, 0, "nodes: [{name: hostA}]", VARIANT_ALL, VARIANT_ALL},
    {"links", parse_links, 0, 0, 0, "links: []", 0, VARIANT_ALL},
    {"relays", sc_parse_relays, 0, 0, 0, "relays: [{name: relay1, node: relay}]", 0, VARIANT_ALL},
    {"dhcp-servers", sc_parse_dhcp_servers, 0, 0, 0, "dhcp-servers: []", 0, VARIANT_ALL},
    {"dns-servers", sc_parse_dns_servers, 0, 0, 0, "dns-servers: []", 0, VARIANT_ALL},
    {"phone", sc_parse_phone, 0, 0, 0, "phone: {os: ios-17}", 0, VARIANT_ALL},
    {"checks", sc_parse_checks, 0, 0, 0, "checks: {heal-at: 200s, deadline: 300s}", 0,
     VARIANT_ALL},
    {"apps", parse_apps, 0, 0, 0, "apps: []", 0, VARIANT_ALL},
    {"timeline", parse_timeline, 0, 0, 0, "timeline: []", 0, VARIANT_ALL},
};
CHECK_TABLE_SIZE(top_keys);

/* A file for another format version may use keys this one does not know; check
 * the version before anything else so the message says what is really wrong. */
static int check_version_first(loader *L, const tsy_node *root) {
  for (size_t i = 0; i + 1 < root->count; i += 2) {
    const tsy_node *key = root->items[i]->kind == TSY_ALIAS ? root->items[i]->target
                                                           : root->items[i];
    if (key->kind == TSY_SCALAR && strcmp(key->text, "version") == 0 && key->len == 7) {
      mapping unused;
      memset(&unused, 0, sizeof unused);
      return sc_parse_version(L, root->items[i + 1], &top_keys[0], &unused, L->s);
    }
  }
  return sc_fail(L, root, "missing key 'version' at the top level, expected 'version: 1'");
}

static int load_root(loader *L, const tsy_tree *tree) {
  const char *expected = "a scenario mapping with 'version: 1'";
  if (!tree->root) return sc_fail(L, NULL, "empty file, expected %s", expected);
  const tsy_node *root;
  int rc = sc_visit(L, tree->root, &root);
  if (rc) return rc;
  if (sc_is_null(root)) return sc_fail(L, root, "found an empty document, expected %s", expected);
  if (root->kind != TSY_MAPPING) {
    char buf[FOUND_BUF];
    return sc_fail(L, root, "found %s at the top level, expected %s", sc_describe(root, buf, sizeof buf),
                expected);
  }
  rc = check_version_first(L, root);
  if (rc) return rc;
  mapping top;
  sc_mapping_init(&top, root, NULL, 0, top_keys, KEY_COUNT(top_keys));
  rc = sc_load_mapping(L, &top, L->s);
  if (!rc) rc = sc_check_phone_links(L, root);
  if (!rc) rc = sc_check_appstore(L);
  if (!rc) rc = sc_check_heal_phase(L);
  return rc;
}

int ts_scenario_load_buffer(const char *name, const void *buf, size_t len, ts_scenario **out,
                            ts_diag *diag) {
  if (out) *out = NULL;
  if (!name) name = "<buffer>";
  if (diag) memset(diag, 0, sizeof *diag);
  if (!out || (!buf && len)) {
    tsy_diag_set(diag, name, 0, 0, "invalid arguments to the scenario loader");
    return TS_EINVAL;
  }
  tsy_tree tree;
  int rc = tsy_tree_load(&tree, name, buf ? buf : "", len, diag);
  if (rc) return rc;

  loader L = {.file = name, .diag = diag, .budget = VISIT_BUDGET};
  L.s = calloc(1, sizeof *L.s);
  if (!L.s) {
    rc = sc_out_of_memory(&L, NULL);
  } else {
    snprintf(L.s->source, sizeof L.s->source, "%s", name);
    rc = load_root(&L, &tree);
  }
  ts_strmap_free(&L.node_names);
  ts_strmap_free(&L.link_names);
  ts_strmap_free(&L.app_names);
  ts_strmap_free(&L.relay_names);
  ts_strmap_free(&L.phone_app_names);
  ts_strmap_free(&L.iface_names);
  tsy_tree_free(&tree);
  if (rc) {
    ts_scenario_free(L.s);
    return rc;
  }
  *out = L.s;
  return 0;
}

/* Reads the whole file, refusing more than the size limit before allocating it. */
static int read_file(const char *path, char **data, size_t *len, ts_diag *diag) {
  FILE *f = fopen(path, "rb");
  if (!f) {
    tsy_diag_set(diag, path, 0, 0, "cannot open file: %s", strerror(errno));
    return TS_EIO;
  }
  size_t capacity = 0, used = 0;
  char *buf = NULL;
  int rc = 0;
  for (;;) {
    if (used == capacity) {
      if (capacity > TS_SCENARIO_MAX_BYTES) break; /* the tree loader reports the size */
      size_t grown = capacity ? capacity * 2 : 4096;
      char *bigger = realloc(buf, grown);
      if (!bigger) {
        tsy_diag_set(diag, path, 0, 0, "out of memory while reading the file");
        rc = TS_ENOMEM;
        break;
      }
      buf = bigger;
      capacity = grown;
    }
    size_t n = fread(buf + used, 1, capacity - used, f);
    used += n;
    if (n == 0) {
      if (ferror(f)) {
        tsy_diag_set(diag, path, 0, 0, "cannot read file: %s", strerror(errno));
        rc = TS_EIO;
      }
      break;
    }
  }
  fclose(f);
  if (rc) {
    free(buf);
    return rc;
  }
  *data = buf;
  *len = used;
  return 0;
}

int ts_scenario_load_file(const char *path, ts_scenario **out, ts_diag *diag) {
  if (out) *out = NULL;
  if (diag) memset(diag, 0, sizeof *diag);
  if (!path || !out) {
    tsy_diag_set(diag, path, 0, 0, "invalid arguments to the scenario loader");
    return TS_EINVAL;
  }
  char *data = NULL;
  size_t len = 0;
  int rc = read_file(path, &data, &len, diag);
  if (rc) return rc;
  rc = ts_scenario_load_buffer(path, data, len, out, diag);
  free(data);
  return rc;
}
