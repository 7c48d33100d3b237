/* The services of the world around the phone: WireGuard relays, DHCP servers and
 * DNS servers, each on a node of 'nodes'. Checked here: references to nodes and
 * interfaces, duplicates (one relay per node and port, one DHCP server per
 * interface, one DNS server per node), IPv4-only DHCP values, DNS names. */
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "scenario_schema.h"

/* ------------------------------------------------------------ shared readers */

/* A DNS name in text form: labels of 1..63 letters, digits, '-' or '_' joined by
 * dots, at most 253 characters, no trailing dot. */
static bool is_dns_name(const char *s) {
  size_t len = strlen(s), label = 0;
  if (len == 0 || len >= TS_SCENARIO_DNS_NAME_MAX) return false;
  for (const char *p = s; *p; p++) {
    char c = *p;
    if (c == '.') {
      if (label == 0) return false;
      label = 0;
      continue;
    }
    bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
              c == '-' || c == '_';
    if (!ok || ++label > 63) return false;
  }
  return label > 0;
}

int sc_read_dns_name(loader *L, const tsy_node *value, char *dst, const tsy_node **at) {
  const char *expected = "a DNS name like relay1.vpn.example";
  const char *text;
  int rc = sc_scalar_text(L, value, expected, &text, at);
  if (rc) return rc;
  if (!is_dns_name(text)) return sc_fail_found(L, *at, expected);
  strcpy(dst, text);
  return 0;
}

int sc_read_plain(loader *L, const tsy_node *value, bool ipv4_only, const char *why,
                  ts_ipaddr *out) {
  ts_ipprefix p;
  int rc = sc_read_address(L, value, false, &p);
  if (rc) return rc;
  if (ipv4_only && p.addr.family != 4) {
    const tsy_node *at;
    rc = sc_visit(L, value, &at);
    if (rc) return rc;
    char buf[FOUND_BUF], expected[160];
    snprintf(expected, sizeof expected, "an IPv4 address like 192.168.1.1 (%s)", why);
    return sc_fail(L, at, "found %s, expected %s", sc_describe(at, buf, sizeof buf), expected);
  }
  *out = p.addr;
  return 0;
}

int sc_read_address_list(loader *L, const tsy_node *value, bool with_prefix, bool ipv4_only,
                         const char *why, size_t max, void *out, size_t *count) {
  const char *expected = with_prefix ? "a list of addresses like [10.0.0.0/8]"
                                     : "a list of addresses like [10.64.0.1]";
  const tsy_node *seq;
  int rc = sc_sequence_value(L, value, expected, true, &seq);
  *count = 0;
  if (rc || !seq) return rc;
  if (seq->count > max) {
    return sc_fail(L, seq, "found %zu addresses, expected at most %zu", seq->count, max);
  }
  for (size_t i = 0; i < seq->count; i++) {
    if (with_prefix) rc = sc_read_address(L, seq->items[i], true, (ts_ipprefix *)out + i);
    else rc = sc_read_plain(L, seq->items[i], ipv4_only, why, (ts_ipaddr *)out + i);
    if (rc) return rc;
    (*count)++;
  }
  return 0;
}

/* Node by name, for services: context names the key ("node in relay 'r'"). */
static int read_node_ref(loader *L, const tsy_node *value, const mapping *m, size_t *node) {
  const tsy_node *at;
  const char *text;
  int rc = sc_scalar_text(L, value, "the name of a node", &text, &at);
  if (rc) return rc;
  char context[160];
  snprintf(context, sizeof context, "node %s", m->label);
  return sc_resolve_node(L, at, context, text, node);
}

static int whole_seconds(loader *L, const tsy_node *at, const char *key, ts_time t) {
  if (t % TS_SEC == 0) return 0;
  char buf[FOUND_BUF];
  return sc_fail(L, at, "found %s, expected whole seconds for %s", sc_describe(at, buf, sizeof buf),
                 key);
}

/* ------------------------------------------------------------ relays */

static const ts_srcpos *relay_pos_at(const loader *L, size_t i) { return &L->s->relays[i].pos; }

static int parse_relay_name(loader *L, const tsy_node *value, const key_spec *spec, mapping *m,
                            void *obj) {
  return sc_parse_unique_name(L, value, m, true, sc_field(obj, spec), &L->relay_names,
                              L->s->relay_count - 1, "relay", relay_pos_at);
}

static int parse_relay_node(loader *L, const tsy_node *value, const key_spec *spec, mapping *m,
                            void *obj) {
  (void)spec;
  return read_node_ref(L, value, m, &((ts_scenario_relay *)obj)->node);
}

static int parse_relay_gateway(loader *L, const tsy_node *value, const key_spec *spec, mapping *m,
                               void *obj) {
  (void)spec; (void)m;
  return sc_read_plain(L, value, false, NULL, &((ts_scenario_relay *)obj)->gateway);
}

static int parse_relay_hostname(loader *L, const tsy_node *value, const key_spec *spec,
                                mapping *m, void *obj) {
  (void)spec; (void)m;
  const tsy_node *at;
  return sc_read_dns_name(L, value, ((ts_scenario_relay *)obj)->hostname, &at);
}

static const key_spec relay_keys[] = {
    {"name", parse_relay_name, offsetof(ts_scenario_relay, name), 0, 0, "name: relay1",
     VARIANT_ALL, VARIANT_ALL},
    {"node", parse_relay_node, 0, 0, 0, "node: relay", VARIANT_ALL, VARIANT_ALL},
    {"port", sc_parse_u16, offsetof(ts_scenario_relay, port), 1, 65535, "port: 51820", 0,
     VARIANT_ALL},
    {"gateway", parse_relay_gateway, 0, 0, 0, "gateway: 10.64.0.1", 0, VARIANT_ALL},
    {"hostname", parse_relay_hostname, 0, 0, 0, "hostname: relay1.vpn.example", 0, VARIANT_ALL},
    {"negotiation", sc_parse_bool, offsetof(ts_scenario_relay, negotiation), 0, 0,
     "negotiation: true", 0, VARIANT_ALL},
};
CHECK_TABLE_SIZE(relay_keys);

static int check_relay(loader *L, mapping *m, void *obj, size_t index) {
  const ts_scenario_relay *r = obj;
  for (size_t i = 0; i < index; i++) {
    const ts_scenario_relay *o = &L->s->relays[i];
    if (o->node != r->node || o->port != r->port) continue;
    const tsy_node *at = m->keys[sc_find_spec(m, "port")] ? m->values[sc_find_spec(m, "port")]
                                                          : m->values[sc_find_spec(m, "node")];
    sc_visit(L, at, &at);
    return sc_fail(L, at, "found relay '%s' on node '%s' port %u like relay '%s' (defined at "
                          "%d:%d), expected one relay per node and port",
                   r->name, L->s->nodes[r->node].name, (unsigned)r->port, o->name, o->pos.line,
                   o->pos.col);
  }
  return 0;
}

static int relay_init(loader *L, const tsy_node *item, void *obj, size_t index) {
  (void)L; (void)index;
  ts_scenario_relay *r = obj;
  r->port = 51820;
  r->gateway = (ts_ipaddr){.family = 4, .bytes = {10, 64, 0, 1}};
  r->pos = sc_pos_of(item);
  return 0;
}

static const sc_list relay_list = {"a relay mapping like '- name: relay1'", "relay", relay_keys,
                                   KEY_COUNT(relay_keys), sizeof(ts_scenario_relay), relay_init,
                                   check_relay};

int sc_parse_relays(loader *L, const tsy_node *value, const key_spec *spec, mapping *m,
                    void *obj) {
  (void)spec; (void)m;
  ts_scenario *s = obj;
  const tsy_node *seq;
  int rc = sc_sequence_value(L, value, "a list of relays like '- name: relay1'", true, &seq);
  if (rc || !seq) return rc;
  s->relays = calloc(seq->count ? seq->count : 1, sizeof *s->relays);
  if (!s->relays) return sc_out_of_memory(L, seq);
  return sc_load_mapping_list(L, seq, &relay_list, s->relays, &s->relay_count);
}

/* ------------------------------------------------------------ DHCP servers */

static const char *const dhcp_why = "DHCP is IPv4 only";

static int parse_dhcp_node(loader *L, const tsy_node *value, const key_spec *spec, mapping *m,
                           void *obj) {
  (void)spec;
  return read_node_ref(L, value, m, &((ts_scenario_dhcp_server *)obj)->node);
}

static int parse_dhcp_iface(loader *L, const tsy_node *value, const key_spec *spec, mapping *m,
                            void *obj) {
  (void)spec;
  ts_scenario_dhcp_server *d = obj;
  if (d->node == TS_SCENARIO_NONE) {
    return sc_fail(L, m->node, "missing key 'node' %s, expected e.g. 'node: ap'", m->label);
  }
  const ts_scenario_node *node = &L->s->nodes[d->node];
  const tsy_node *at;
  const char *text;
  int rc = sc_scalar_text(L, value, "the name of an interface of the node", &text, &at);
  if (rc) return rc;
  for (size_t i = 0; i < node->interface_count; i++) {
    if (strcmp(node->interfaces[i].name, text) == 0) {
      d->iface = i;
      return 0;
    }
  }
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

static int parse_dhcp_pool(loader *L, const tsy_node *value, const key_spec *spec, mapping *m,
                           void *obj) {
  (void)spec; (void)m;
  ts_scenario_dhcp_server *d = obj;
  const char *expected = "an IPv4 range like 192.168.1.10-192.168.1.50";
  const tsy_node *at;
  const char *text;
  int rc = sc_scalar_text(L, value, expected, &text, &at);
  if (rc) return rc;
  const char *dash = strchr(text, '-');
  char first[64], last[64];
  if (!dash || (size_t)(dash - text) >= sizeof first || strlen(dash + 1) >= sizeof last)
    return sc_fail_found(L, at, expected);
  memcpy(first, text, (size_t)(dash - text));
  first[dash - text] = '\0';
  strcpy(last, dash + 1);
  ts_ipprefix a, b;
  if (tsv_parse_address(first, false, &a) != TSV_OK || tsv_parse_address(last, false, &b) != TSV_OK ||
      a.addr.family != 4 || b.addr.family != 4)
    return sc_fail_found(L, at, expected);
  if (memcmp(a.addr.bytes, b.addr.bytes, 4) > 0) {
    char buf[FOUND_BUF];
    return sc_fail(L, at, "found pool %s whose first address is after its last, expected "
                          "first <= last",
                   sc_describe(at, buf, sizeof buf));
  }
  d->pool_first = a.addr;
  d->pool_last = b.addr;
  return 0;
}

static int parse_dhcp_prefix(loader *L, const tsy_node *value, const key_spec *spec, mapping *m,
                             void *obj) {
  (void)m;
  uint64_t v;
  int rc = sc_read_uint(L, value, spec, &v);
  if (!rc) ((ts_scenario_dhcp_server *)obj)->prefix_len = (uint8_t)v;
  return rc;
}

static int parse_dhcp_router(loader *L, const tsy_node *value, const key_spec *spec, mapping *m,
                             void *obj) {
  (void)spec; (void)m;
  ts_scenario_dhcp_server *d = obj;
  int rc = sc_read_plain(L, value, true, dhcp_why, &d->router);
  if (!rc) d->has_router = true;
  return rc;
}

static int parse_dhcp_dns(loader *L, const tsy_node *value, const key_spec *spec, mapping *m,
                          void *obj) {
  (void)spec; (void)m;
  ts_scenario_dhcp_server *d = obj;
  return sc_read_address_list(L, value, false, true, dhcp_why, TS_SCENARIO_DHCP_MAX_DNS, d->dns,
                              &d->dns_count);
}

static int parse_dhcp_lease(loader *L, const tsy_node *value, const key_spec *spec, mapping *m,
                            void *obj) {
  (void)m;
  const tsy_node *at;
  ts_time *lease = &((ts_scenario_dhcp_server *)obj)->lease;
  int rc = sc_read_duration(L, value, spec, lease, &at);
  return rc ? rc : whole_seconds(L, at, "lease", *lease);
}

static int parse_dhcp_route_to(loader *L, const tsy_node *value, const key_spec *spec, mapping *m,
                               void *obj) {
  (void)spec; (void)m;
  ts_scenario_dhcp_route *r = obj;
  int rc = sc_read_address(L, value, true, &r->to);
  if (rc || r->to.addr.family == 4) return rc;
  const tsy_node *at;
  sc_visit(L, value, &at);
  char buf[FOUND_BUF];
  return sc_fail(L, at, "found %s, expected an IPv4 prefix like 10.0.0.0/8 (%s)",
                 sc_describe(at, buf, sizeof buf), dhcp_why);
}

static int parse_dhcp_route_via(loader *L, const tsy_node *value, const key_spec *spec,
                                mapping *m, void *obj) {
  (void)spec; (void)m;
  return sc_read_plain(L, value, true, dhcp_why, &((ts_scenario_dhcp_route *)obj)->via);
}

static const key_spec dhcp_route_keys[] = {
    {"to", parse_dhcp_route_to, 0, 0, 0, "to: 10.0.0.0/8", VARIANT_ALL, VARIANT_ALL},
    {"via", parse_dhcp_route_via, 0, 0, 0, "via: 192.168.1.1", VARIANT_ALL, VARIANT_ALL},
};
CHECK_TABLE_SIZE(dhcp_route_keys);

static const sc_list dhcp_route_list = {
    "a route mapping like '- {to: 10.0.0.0/8, via: 192.168.1.1}'", "DHCP route",
    dhcp_route_keys, KEY_COUNT(dhcp_route_keys), sizeof(ts_scenario_dhcp_route), NULL, NULL};

static int parse_dhcp_routes(loader *L, const tsy_node *value, const key_spec *spec, mapping *m,
                             void *obj) {
  (void)spec; (void)m;
  ts_scenario_dhcp_server *d = obj;
  const tsy_node *seq;
  int rc = sc_sequence_value(L, value, "a list of routes like '- {to: 10.0.0.0/8, via: 192.168.1.1}'",
                             true, &seq);
  if (rc || !seq) return rc;
  if (seq->count > TS_SCENARIO_DHCP_MAX_ROUTES) {
    return sc_fail(L, seq, "found %zu routes, expected at most %d (option 121)", seq->count,
                   TS_SCENARIO_DHCP_MAX_ROUTES);
  }
  return sc_load_mapping_list(L, seq, &dhcp_route_list, d->routes, &d->route_count);
}

static const key_spec dhcp_keys[] = {
    {"node", parse_dhcp_node, 0, 0, 0, "node: ap", VARIANT_ALL, VARIANT_ALL},
    {"interface", parse_dhcp_iface, 0, 0, 0, "interface: eth0", VARIANT_ALL, VARIANT_ALL},
    {"pool", parse_dhcp_pool, 0, 0, 0, "pool: 192.168.1.10-192.168.1.50", VARIANT_ALL,
     VARIANT_ALL},
    {"prefix", parse_dhcp_prefix, 0, 0, 32, "prefix: 24", 0, VARIANT_ALL},
    {"router", parse_dhcp_router, 0, 0, 0, "router: 192.168.1.1", 0, VARIANT_ALL},
    {"dns", parse_dhcp_dns, 0, 0, 0, "dns: [192.168.1.1]", 0, VARIANT_ALL},
    {"lease", parse_dhcp_lease, 0, TS_SEC, TS_SCENARIO_DHCP_MAX_LEASE, "lease: 1h", 0,
     VARIANT_ALL},
    {"routes", parse_dhcp_routes, 0, 0, 0, "routes: [{to: 10.0.0.0/8, via: 192.168.1.1}]", 0,
     VARIANT_ALL},
};
CHECK_TABLE_SIZE(dhcp_keys);

static int check_dhcp(loader *L, mapping *m, void *obj, size_t index) {
  const ts_scenario_dhcp_server *d = obj;
  for (size_t i = 0; i < index; i++) {
    const ts_scenario_dhcp_server *o = &L->s->dhcp_servers[i];
    if (o->node != d->node || o->iface != d->iface) continue;
    const tsy_node *at;
    sc_visit(L, m->values[sc_find_spec(m, "interface")], &at);
    const ts_scenario_node *node = &L->s->nodes[d->node];
    return sc_fail(L, at, "found a second DHCP server on '%s/%s' (the first is at %d:%d), "
                          "expected one DHCP server per interface",
                   node->name, node->interfaces[d->iface].name, o->pos.line, o->pos.col);
  }
  return 0;
}

static int dhcp_init(loader *L, const tsy_node *item, void *obj, size_t index) {
  (void)L; (void)index;
  ts_scenario_dhcp_server *d = obj;
  d->node = d->iface = TS_SCENARIO_NONE;
  d->prefix_len = 24;
  d->lease = 3600 * TS_SEC;
  d->pos = sc_pos_of(item);
  return 0;
}

static const sc_list dhcp_list = {"a DHCP server mapping like '- node: ap'", "DHCP server",
                                  dhcp_keys, KEY_COUNT(dhcp_keys),
                                  sizeof(ts_scenario_dhcp_server), dhcp_init, check_dhcp};

int sc_parse_dhcp_servers(loader *L, const tsy_node *value, const key_spec *spec, mapping *m,
                          void *obj) {
  (void)spec; (void)m;
  ts_scenario *s = obj;
  const tsy_node *seq;
  int rc = sc_sequence_value(L, value, "a list of DHCP servers like '- node: ap'", true, &seq);
  if (rc || !seq) return rc;
  s->dhcp_servers = calloc(seq->count ? seq->count : 1, sizeof *s->dhcp_servers);
  if (!s->dhcp_servers) return sc_out_of_memory(L, seq);
  return sc_load_mapping_list(L, seq, &dhcp_list, s->dhcp_servers, &s->dhcp_server_count);
}

/* ------------------------------------------------------------ DNS servers */

static int parse_dns_node(loader *L, const tsy_node *value, const key_spec *spec, mapping *m,
                          void *obj) {
  (void)spec;
  ts_scenario_dns_server *d = obj;
  int rc = read_node_ref(L, value, m, &d->node);
  if (rc) return rc;
  for (size_t i = 0; i + 1 < L->s->dns_server_count; i++) {
    const ts_scenario_dns_server *o = &L->s->dns_servers[i];
    if (o->node != d->node) continue;
    const tsy_node *at;
    sc_visit(L, value, &at);
    return sc_fail(L, at, "found a second DNS server on node '%s' (the first is at %d:%d), "
                          "expected one DNS server per node",
                   L->s->nodes[d->node].name, o->pos.line, o->pos.col);
  }
  return 0;
}

static int parse_dns_ttl(loader *L, const tsy_node *value, const key_spec *spec, mapping *m,
                         void *obj) {
  (void)m;
  const tsy_node *at;
  ts_time *ttl = &((ts_scenario_dns_server *)obj)->ttl;
  int rc = sc_read_duration(L, value, spec, ttl, &at);
  return rc ? rc : whole_seconds(L, at, "ttl", *ttl);
}

/* name: address or name: [addresses], appended to *entries. */
static int read_dns_table(loader *L, const tsy_node *value, const char *what,
                          ts_scenario_dns_entry **entries, size_t *count) {
  char expected[128];
  snprintf(expected, sizeof expected, "a mapping of names to addresses like {%s: 192.0.2.1}",
           strcmp(what, "spoof") == 0 ? "relay1.vpn.example" : "example.com");
  const tsy_node *map;
  int rc = sc_visit(L, value, &map);
  if (rc) return rc;
  if (sc_is_null(map)) return 0;
  if (map->kind != TSY_MAPPING) return sc_fail_found(L, map, expected);
  size_t capacity = 0;
  for (size_t i = 0; i + 1 < map->count; i += 2) {
    const tsy_node *key;
    char name[TS_SCENARIO_DNS_NAME_MAX];
    rc = sc_read_dns_name(L, map->items[i], name, &key);
    if (rc) return rc;
    for (size_t j = 0; j < *count; j++) {
      if (strcasecmp((*entries)[j].name, name) == 0) {
        return sc_fail(L, key, "duplicate name '%s' in %s, expected each name once (list its "
                               "addresses instead)",
                       name, what);
      }
    }
    const tsy_node *v;
    rc = sc_visit(L, map->items[i + 1], &v);
    if (rc) return rc;
    size_t n = v->kind == TSY_SEQUENCE ? v->count : 1;
    if (v->kind == TSY_SEQUENCE && n == 0)
      return sc_fail(L, v, "found an empty sequence, expected at least one address for '%s'", name);
    if (*count + n > capacity) {
      size_t grown = (*count + n) * 2;
      ts_scenario_dns_entry *bigger = realloc(*entries, grown * sizeof *bigger);
      if (!bigger) return sc_out_of_memory(L, v);
      *entries = bigger;
      capacity = grown;
    }
    for (size_t j = 0; j < n; j++) {
      ts_scenario_dns_entry *e = &(*entries)[*count];
      memset(e, 0, sizeof *e);
      strcpy(e->name, name);
      rc = sc_read_plain(L, v->kind == TSY_SEQUENCE ? v->items[j] : v, false, NULL, &e->addr);
      if (rc) return rc;
      (*count)++;
    }
  }
  return 0;
}

static int parse_dns_records(loader *L, const tsy_node *value, const key_spec *spec, mapping *m,
                             void *obj) {
  (void)spec; (void)m;
  ts_scenario_dns_server *d = obj;
  return read_dns_table(L, value, "records", &d->records, &d->record_count);
}

static int parse_dns_spoof(loader *L, const tsy_node *value, const key_spec *spec, mapping *m,
                           void *obj) {
  (void)spec; (void)m;
  ts_scenario_dns_server *d = obj;
  return read_dns_table(L, value, "spoof", &d->spoofs, &d->spoof_count);
}

static const key_spec dns_keys[] = {
    {"node", parse_dns_node, 0, 0, 0, "node: dns", VARIANT_ALL, VARIANT_ALL},
    {"ttl", parse_dns_ttl, 0, 0, (int64_t)0x7fffffff * TS_SEC, "ttl: 60s", 0, VARIANT_ALL},
    {"records", parse_dns_records, 0, 0, 0, "records: {example.com: [198.51.100.20]}", 0,
     VARIANT_ALL},
    {"spoof", parse_dns_spoof, 0, 0, 0, "spoof: {relay1.vpn.example: 192.0.2.66}", 0,
     VARIANT_ALL},
};
CHECK_TABLE_SIZE(dns_keys);

static int dns_init(loader *L, const tsy_node *item, void *obj, size_t index) {
  (void)L; (void)index;
  ts_scenario_dns_server *d = obj;
  d->node = TS_SCENARIO_NONE;
  d->ttl = 60 * TS_SEC;
  d->pos = sc_pos_of(item);
  return 0;
}

static const sc_list dns_list = {"a DNS server mapping like '- node: dns'", "DNS server",
                                 dns_keys, KEY_COUNT(dns_keys), sizeof(ts_scenario_dns_server),
                                 dns_init, NULL};

int sc_parse_dns_servers(loader *L, const tsy_node *value, const key_spec *spec, mapping *m,
                         void *obj) {
  (void)spec; (void)m;
  ts_scenario *s = obj;
  const tsy_node *seq;
  int rc = sc_sequence_value(L, value, "a list of DNS servers like '- node: dns'", true, &seq);
  if (rc || !seq) return rc;
  s->dns_servers = calloc(seq->count ? seq->count : 1, sizeof *s->dns_servers);
  if (!s->dns_servers) return sc_out_of_memory(L, seq);
  return sc_load_mapping_list(L, seq, &dns_list, s->dns_servers, &s->dns_server_count);
}
