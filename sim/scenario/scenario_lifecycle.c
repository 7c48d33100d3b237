/* The lifecycle parts of the schema: the App Store (phone: appstore:), quirk
 * overrides (phone: quirks:) and what the run judges besides leaks (checks:).
 * Quirk names and values are the OS model's own (sim/os), so a misspelt quirk
 * gets a did-you-mean from the same vocabulary the profiles use. */
#include <stdio.h>
#include <string.h>

#include "scenario_schema.h"
#include "ts_os_model.h"
#include "ts_vpn_session.h"

static const char *const keychain_names[TS_SCENARIO_KEYCHAIN_COUNT] = {"blocked-state", "deadlock"};
static const char *const obligation_names[TS_SCENARIO_OBLIGATION_COUNT] = {
    "tunnel-connected", "monitor-confirmed", "download-done", "apps-reach", "negotiation-done"};

const char *ts_scenario_keychain_name(int k) {
  return k >= 0 && k < TS_SCENARIO_KEYCHAIN_COUNT ? keychain_names[k] : NULL;
}
const char *ts_scenario_obligation_name(int k) {
  return k >= 0 && k < TS_SCENARIO_OBLIGATION_COUNT ? obligation_names[k] : NULL;
}

int sc_parse_keychain(loader *L, const tsy_node *value, const key_spec *spec, mapping *m,
                      void *obj) {
  (void)m;
  size_t i;
  int rc = sc_read_word(L, value, keychain_names, TS_SCENARIO_KEYCHAIN_COUNT, &i);
  if (!rc) *(int *)sc_field(obj, spec) = (int)i;
  return rc;
}

/* ------------------------------------------------------------ on-demand rules */

static const char *const od_action_names[TS_SCENARIO_OD_ACTION_COUNT] = {
    "connect", "disconnect", "evaluate-connection", "ignore"};
static const char *const od_interface_names[TS_SCENARIO_OD_INTERFACE_COUNT] = {
    "any", "wifi", "cellular", "ethernet"};

const char *ts_scenario_od_action_name(int a) {
  return a >= 0 && a < TS_SCENARIO_OD_ACTION_COUNT ? od_action_names[a] : NULL;
}
const char *ts_scenario_od_interface_name(int i) {
  return i >= 0 && i < TS_SCENARIO_OD_INTERFACE_COUNT ? od_interface_names[i] : NULL;
}

static int parse_od_action(loader *L, const tsy_node *value, const key_spec *spec, mapping *m,
                           void *obj) {
  (void)spec; (void)m;
  size_t i;
  int rc = sc_read_word(L, value, od_action_names, TS_SCENARIO_OD_ACTION_COUNT, &i);
  if (!rc) ((ts_scenario_od_rule *)obj)->action = (ts_scenario_od_action)i;
  return rc;
}

static int parse_od_interface(loader *L, const tsy_node *value, const key_spec *spec, mapping *m,
                              void *obj) {
  (void)spec; (void)m;
  size_t i;
  int rc = sc_read_word(L, value, od_interface_names, TS_SCENARIO_OD_INTERFACE_COUNT, &i);
  if (!rc) ((ts_scenario_od_rule *)obj)->interface = (ts_scenario_od_interface)i;
  return rc;
}

/* An SSID: 1 to 32 bytes (IEEE 802.11), no control characters; dst holds 33. */
int sc_read_ssid(loader *L, const tsy_node *value, char *dst) {
  const tsy_node *at;
  const char *text;
  int rc = sc_scalar_text(L, value, "an SSID (1 to 32 bytes)", &text, &at);
  if (rc) return rc;
  size_t n = strlen(text);
  bool printable = true;
  for (size_t k = 0; k < n; k++) printable &= (unsigned char)text[k] >= 0x20;
  if (n == 0 || n >= TS_SCENARIO_SSID_MAX || !printable)
    return sc_fail_found(L, at, "an SSID of 1 to 32 bytes without control characters");
  memcpy(dst, text, n + 1);
  return 0;
}

static int parse_od_ssids(loader *L, const tsy_node *value, const key_spec *spec, mapping *m,
                          void *obj) {
  (void)spec; (void)m;
  ts_scenario_od_rule *r = obj;
  const tsy_node *seq;
  int rc = sc_sequence_value(L, value, "a list of SSIDs like [home, office]", true, &seq);
  if (rc || !seq) return rc;
  if (seq->count > TS_SCENARIO_MAX_SSIDS)
    return sc_fail(L, seq, "found %zu SSIDs, expected at most %d", seq->count, TS_SCENARIO_MAX_SSIDS);
  for (size_t i = 0; i < seq->count && !rc; i++) rc = sc_read_ssid(L, seq->items[i], r->ssids[r->ssid_count++]);
  return rc;
}

static const key_spec od_rule_keys[] = {
    {"action", parse_od_action, 0, 0, 0, "action: connect", VARIANT_ALL, VARIANT_ALL},
    {"interface", parse_od_interface, 0, 0, 0, "interface: wifi", 0, VARIANT_ALL},
    {"ssids", parse_od_ssids, 0, 0, 0, "ssids: [home]", 0, VARIANT_ALL},
};
CHECK_TABLE_SIZE(od_rule_keys);

static int od_rule_init(loader *L, const tsy_node *item, void *obj, size_t index) {
  (void)L; (void)index;
  ts_scenario_od_rule *r = obj;
  memset(r, 0, sizeof *r);
  r->pos = sc_pos_of(item);
  return 0;
}

static int od_rule_check(loader *L, mapping *m, void *obj, size_t index) {
  (void)index;
  const ts_scenario_od_rule *r = obj;
  if (r->ssid_count && r->interface != TS_SCENARIO_OD_WIFI)
    return sc_fail(L, m->node, "found ssids in an on-demand rule for interface '%s', expected "
                               "'interface: wifi' (ssidMatch applies to Wi-Fi)",
                   od_interface_names[r->interface]);
  return 0;
}

static const sc_list od_rule_list = {"a rule like {action: connect, interface: wifi}",
                                     "on-demand rule", od_rule_keys, KEY_COUNT(od_rule_keys),
                                     sizeof(ts_scenario_od_rule), od_rule_init, od_rule_check};

int sc_parse_od_rules(loader *L, const tsy_node *value, const key_spec *spec, mapping *m,
                      void *obj) {
  (void)spec; (void)m;
  ts_scenario_vpn *v = obj;
  const tsy_node *seq;
  int rc = sc_sequence_value(L, value, "a list of rules like '- {action: connect}'", false, &seq);
  if (rc || !seq) return rc;
  if (seq->count > TS_SCENARIO_MAX_OD_RULES)
    return sc_fail(L, seq, "found %zu on-demand rules, expected at most %d", seq->count,
                   TS_SCENARIO_MAX_OD_RULES);
  return sc_load_mapping_list(L, seq, &od_rule_list, v->od_rules, &v->od_rule_count);
}

/* ------------------------------------------------------------ negotiation */

static const char *const neg_path_names[TS_SCENARIO_NEG_PATH_COUNT] = {
    "nwtcpconnection", "nwconnection-virtual", "userspace-netstack"};

const char *ts_scenario_neg_path_name(int p) {
  return p >= 0 && p < TS_SCENARIO_NEG_PATH_COUNT ? neg_path_names[p] : NULL;
}

static int parse_neg_path(loader *L, const tsy_node *value, const key_spec *spec, mapping *m,
                          void *obj) {
  (void)spec; (void)m;
  size_t i;
  int rc = sc_read_word(L, value, neg_path_names, TS_SCENARIO_NEG_PATH_COUNT, &i);
  if (!rc) ((ts_scenario_negotiation *)obj)->path = (ts_scenario_neg_path)i;
  return rc;
}

#define NEG(field) offsetof(ts_scenario_negotiation, field)
static const key_spec negotiation_keys[] = {
    {"path", parse_neg_path, 0, 0, 0, "path: userspace-netstack", VARIANT_ALL, VARIANT_ALL},
    {"port", sc_parse_u16, NEG(port), 1, 65535, "port: 1337", 0, VARIANT_ALL},
    {"timeout-initial", sc_parse_duration, NEG(timeout_initial), TS_MS, 3600 * TS_SEC,
     "timeout-initial: 10s", 0, VARIANT_ALL},
    {"timeout-max", sc_parse_duration, NEG(timeout_max), TS_MS, 3600 * TS_SEC, "timeout-max: 30s",
     0, VARIANT_ALL},
    {"max-retries", sc_parse_u32, NEG(max_retries), 0, 1000, "max-retries: 10", 0, VARIANT_ALL},
    {"give-up", sc_parse_bool, NEG(give_up), 0, 0, "give-up: false", 0, VARIANT_ALL},
};
CHECK_TABLE_SIZE(negotiation_keys);

int sc_parse_negotiation(loader *L, const tsy_node *value, const key_spec *spec, mapping *m,
                         void *obj) {
  (void)m;
  ts_scenario_negotiation *n = sc_field(obj, spec);
  const tsy_node *item;
  int rc = sc_item_mapping(L, value, "a negotiation mapping like {path: userspace-netstack}", &item);
  if (rc) return rc;
  *n = (ts_scenario_negotiation){.configured = true, .port = 1337, .timeout_initial = 10 * TS_SEC,
                                 .timeout_max = 30 * TS_SEC, .max_retries = 10,
                                 .pos = sc_pos_of(item)};
  mapping nm;
  sc_mapping_init(&nm, item, NULL, 0, negotiation_keys, KEY_COUNT(negotiation_keys));
  snprintf(nm.where, sizeof nm.where, "in phone vpn negotiation");
  snprintf(nm.label, sizeof nm.label, "in phone vpn negotiation");
  rc = sc_load_mapping(L, &nm, n);
  if (!rc && n->timeout_max < n->timeout_initial)
    return sc_fail(L, item, "found timeout-max shorter than timeout-initial in phone vpn "
                            "negotiation, expected timeout-max >= timeout-initial");
  return rc;
}

/* ------------------------------------------------------------ appstore */

#define AS(field) offsetof(ts_scenario_appstore, field)

static int parse_as_server(loader *L, const tsy_node *value, const key_spec *spec, mapping *m,
                           void *obj) {
  (void)spec; (void)m;
  const tsy_node *at;
  const char *text;
  int rc = sc_scalar_text(L, value, "the name of a node", &text, &at);
  if (rc) return rc;
  return sc_resolve_node(L, at, "server in phone appstore", text,
                         &((ts_scenario_appstore *)obj)->server);
}

static const key_spec appstore_keys[] = {
    {"server", parse_as_server, 0, 0, 0, "server: appstore", VARIANT_ALL, VARIANT_ALL},
    {"port", sc_parse_u16, AS(port), 1, 65535, "port: 443", 0, VARIANT_ALL},
    {"size", sc_parse_u32, AS(size), 1, 64 << 20, "size: 2000000", 0, VARIANT_ALL},
    {"attempt-timeout", sc_parse_duration, AS(attempt_timeout), TS_MS, 3600 * TS_SEC,
     "attempt-timeout: 30s", 0, VARIANT_ALL},
    {"backoff-initial", sc_parse_duration, AS(backoff_initial), TS_MS, 3600 * TS_SEC,
     "backoff-initial: 5s", 0, VARIANT_ALL},
    {"backoff-max", sc_parse_duration, AS(backoff_max), TS_MS, 24 * 3600 * TS_SEC,
     "backoff-max: 60s", 0, VARIANT_ALL},
    {"install", sc_parse_duration, AS(install), 0, 3600 * TS_SEC, "install: 10s", 0, VARIANT_ALL},
    {"automatic", sc_parse_bool, AS(automatic), 0, 0, "automatic: true", 0, VARIANT_ALL},
    {"retry-after-boot", sc_parse_duration, AS(retry_after_boot), 0, 24 * 3600 * TS_SEC,
     "retry-after-boot: 30s", 0, VARIANT_ALL},
    {"schema-change", sc_parse_bool, AS(schema_change), 0, 0, "schema-change: false", 0,
     VARIANT_ALL},
};
CHECK_TABLE_SIZE(appstore_keys);

int sc_parse_appstore(loader *L, const tsy_node *value, const key_spec *spec, mapping *m,
                      void *obj) {
  (void)spec; (void)m;
  ts_scenario_appstore *a = &((ts_scenario_phone *)obj)->appstore;
  const tsy_node *item;
  int rc = sc_item_mapping(L, value, "an App Store mapping like {server: appstore}", &item);
  if (rc) return rc;
  *a = (ts_scenario_appstore){.configured = true, .port = 443, .size = 2000000,
                              .attempt_timeout = 30 * TS_SEC, .backoff_initial = 5 * TS_SEC,
                              .backoff_max = 60 * TS_SEC, .install = 10 * TS_SEC,
                              .automatic = true, .retry_after_boot = 30 * TS_SEC,
                              .pos = sc_pos_of(item)};
  mapping am;
  sc_mapping_init(&am, item, NULL, 0, appstore_keys, KEY_COUNT(appstore_keys));
  snprintf(am.where, sizeof am.where, "in phone appstore");
  snprintf(am.label, sizeof am.label, "in phone appstore");
  rc = sc_load_mapping(L, &am, a);
  if (rc) return rc;
  if (a->backoff_max < a->backoff_initial)
    return sc_fail(L, item, "found backoff-max shorter than backoff-initial in phone appstore, "
                            "expected backoff-max >= backoff-initial");
  return 0;
}

/* The download needs a server: a tcp-server app on the node, on the port (node
 * apps load after the phone, so this runs once the document is read). */
int sc_check_appstore(loader *L) {
  const ts_scenario *s = L->s;
  if (!s->has_phone || !s->phone.appstore.configured) return 0;
  const ts_scenario_appstore *a = &s->phone.appstore;
  for (size_t i = 0; i < s->app_count; i++)
    if (s->apps[i].type == TS_APP_TCP_SERVER && s->apps[i].node == a->server &&
        s->apps[i].port == a->port)
      return 0;
  tsy_node at = {.line = a->pos.line, .col = a->pos.col};
  return sc_fail(L, &at, "found phone appstore on node '%s' port %u without a server, expected "
                         "an app '{type: tcp-server, node: %s, port: %u}' under 'apps'",
                 s->nodes[a->server].name, a->port, s->nodes[a->server].name, a->port);
}

/* ------------------------------------------------------------ quirks */

static const char *quirk_name_at(const loader *L, const void *ctx, size_t i) {
  (void)L; (void)ctx;
  if (i < TS_QUIRK_COUNT - 1) {
    const ts_os_quirk_info *q = ts_os_quirk_get((ts_os_quirk)(i + 1));
    return q ? q->name : "";
  }
  return ts_vpn_lifecycle_quirk_get((ts_vpn_lifecycle_quirk)(i - (TS_QUIRK_COUNT - 1)))->name;
}

/* A value: a boolean for boolean quirks, else one of the quirk's value names. */
static int read_quirk_value(loader *L, const tsy_node *value, const char *name,
                            const char *const *values, int count, int *out) {
  const tsy_node *at;
  const char *text;
  int rc = sc_scalar_text(L, value, "a quirk value", &text, &at);
  if (rc) return rc;
  if (!values[0]) {
    if (!strcmp(text, "true")) { *out = 1; return 0; }
    if (!strcmp(text, "false")) { *out = 0; return 0; }
    char buf[FOUND_BUF];
    return sc_fail(L, at, "found %s for quirk '%s', expected true or false",
                   sc_describe(at, buf, sizeof buf), name);
  }
  for (int i = 0; i < count; i++)
    if (values[i] && !strcmp(values[i], text)) { *out = i; return 0; }
  char list[200] = "";
  for (int i = 0; i < count && values[i]; i++)
    snprintf(list + strlen(list), sizeof list - strlen(list), "%s%s", i ? ", " : "", values[i]);
  char buf[FOUND_BUF];
  return sc_fail(L, at, "found %s for quirk '%s', expected one of: %s",
                 sc_describe(at, buf, sizeof buf), name, list);
}

static int lookup_quirk(loader *L, const tsy_node *key, ts_scenario_quirk *q, const char **values,
                        int *count) {
  ts_os_quirk oq = ts_os_quirk_find(q->name);
  if (oq != TS_QUIRK_NONE) {
    const ts_os_quirk_info *info = ts_os_quirk_get(oq);
    q->lifecycle = false;
    q->id = (int)oq;
    *count = ts_os_quirk_value_count(oq);
    for (int i = 0; i < *count && i < TS_OS_QUIRK_MAX_VALUES; i++) values[i] = info->values[i];
    return 0;
  }
  for (int i = 0; i < TS_LQ_COUNT; i++) {
    const ts_vpn_lifecycle_quirk_info *info = ts_vpn_lifecycle_quirk_get((ts_vpn_lifecycle_quirk)i);
    if (strcmp(info->name, q->name)) continue;
    q->lifecycle = true;
    q->id = i;
    *count = 0;
    for (int j = 0; j < 3 && info->values[j]; j++) values[(*count)++] = info->values[j];
    if (!*count) *count = 2;
    return 0;
  }
  char hint[96];
  size_t n = (size_t)(TS_QUIRK_COUNT - 1) + TS_LQ_COUNT;
  sc_did_you_mean(L, q->name, quirk_name_at, NULL, n, hint, sizeof hint);
  return sc_fail(L, key, "found quirk '%s' that the model does not have, expected a quirk "
                         "named in docs/model-reference.md%s",
                 q->name, hint);
}

int sc_parse_quirks(loader *L, const tsy_node *value, const key_spec *spec, mapping *m,
                    void *obj) {
  (void)spec; (void)m;
  ts_scenario_phone *ph = obj;
  const tsy_node *map;
  int rc = sc_visit(L, value, &map);
  if (rc) return rc;
  if (sc_is_null(map)) return 0;
  if (map->kind != TSY_MAPPING)
    return sc_fail_found(L, map, "a mapping of quirk names to values like "
                                 "{update-relaunch-refused: true}");
  for (size_t i = 0; i + 1 < map->count; i += 2) {
    const tsy_node *key;
    const char *name;
    rc = sc_scalar_text(L, map->items[i], "a quirk name", &name, &key);
    if (rc) return rc;
    if (ph->quirk_count == TS_SCENARIO_MAX_QUIRKS)
      return sc_fail(L, key, "found more than %d quirks in phone quirks, expected at most %d",
                     TS_SCENARIO_MAX_QUIRKS, TS_SCENARIO_MAX_QUIRKS);
    ts_scenario_quirk *q = &ph->quirks[ph->quirk_count];
    *q = (ts_scenario_quirk){.pos = sc_pos_of(key)};
    snprintf(q->name, sizeof q->name, "%s", name);
    for (size_t j = 0; j < ph->quirk_count; j++)
      if (!strcmp(ph->quirks[j].name, q->name))
        return sc_fail(L, key, "found quirk '%s' twice in phone quirks (first at %d:%d), expected "
                               "each quirk once",
                       q->name, ph->quirks[j].pos.line, ph->quirks[j].pos.col);
    const char *values[TS_OS_QUIRK_MAX_VALUES + 3] = {0};
    int count = 0;
    rc = lookup_quirk(L, key, q, values, &count);
    if (rc) return rc;
    rc = read_quirk_value(L, map->items[i + 1], q->name, values, count, &q->value);
    if (rc) return rc;
    ph->quirk_count++;
  }
  return 0;
}

/* ------------------------------------------------------------ checks */

#define CK(field) offsetof(ts_scenario_checks, field)

static int parse_obligation_what(loader *L, const tsy_node *value, const key_spec *spec,
                                 mapping *m, void *obj) {
  (void)spec; (void)m;
  size_t i;
  int rc = sc_read_word(L, value, obligation_names, TS_SCENARIO_OBLIGATION_COUNT, &i);
  if (!rc) ((ts_scenario_obligation *)obj)->what = (ts_scenario_obligation_kind)i;
  return rc;
}

static const key_spec obligation_keys[] = {
    {"what", parse_obligation_what, 0, 0, 0, "what: tunnel-connected", VARIANT_ALL, VARIANT_ALL},
    {"by", sc_parse_duration, offsetof(ts_scenario_obligation, by), 0, INT64_MAX, "by: 60s",
     VARIANT_ALL, VARIANT_ALL},
};
CHECK_TABLE_SIZE(obligation_keys);

static int obligation_init(loader *L, const tsy_node *item, void *obj, size_t index) {
  if (index == TS_SCENARIO_MAX_OBLIGATIONS)
    return sc_fail(L, item, "found more than %d obligations in checks, expected at most %d",
                   TS_SCENARIO_MAX_OBLIGATIONS, TS_SCENARIO_MAX_OBLIGATIONS);
  ((ts_scenario_obligation *)obj)->pos = sc_pos_of(item);
  return 0;
}

static const sc_list obligation_list = {
    "an obligation like {what: tunnel-connected, by: 60s}", "obligation", obligation_keys,
    KEY_COUNT(obligation_keys), sizeof(ts_scenario_obligation), obligation_init, NULL};

static int parse_obligations(loader *L, const tsy_node *value, const key_spec *spec, mapping *m,
                             void *obj) {
  (void)spec; (void)m;
  ts_scenario_checks *c = obj;
  const tsy_node *seq;
  int rc = sc_sequence_value(L, value, "a list like '- {what: tunnel-connected, by: 60s}'", true,
                             &seq);
  if (rc || !seq) return rc;
  return sc_load_mapping_list(L, seq, &obligation_list, c->obligations, &c->obligation_count);
}

static const key_spec checks_keys[] = {
    {"heal-at", sc_parse_duration, CK(heal_at), 0, INT64_MAX, "heal-at: 200s", 0, VARIANT_ALL},
    {"deadline", sc_parse_duration, CK(deadline), 1, INT64_MAX, "deadline: 300s", 0, VARIANT_ALL},
    {"window", sc_parse_duration, CK(window), TS_MS, 3600 * TS_SEC, "window: 10s", 0,
     VARIANT_ALL},
    {"recovery", sc_parse_bool, CK(recovery), 0, 0, "recovery: true", 0, VARIANT_ALL},
    {"horizon", sc_parse_duration, CK(horizon), TS_SEC, 24 * 3600 * TS_SEC, "horizon: 300s", 0,
     VARIANT_ALL},
    {"obligations", parse_obligations, 0, 0, 0, "obligations: []", 0, VARIANT_ALL},
};
CHECK_TABLE_SIZE(checks_keys);

int sc_parse_checks(loader *L, const tsy_node *value, const key_spec *spec, mapping *m,
                    void *obj) {
  (void)spec; (void)m;
  ts_scenario_checks *c = &((ts_scenario *)obj)->checks;
  const tsy_node *item;
  int rc = sc_item_mapping(L, value, "a checks mapping like {heal-at: 200s, deadline: 300s}", &item);
  if (rc) return rc;
  *c = (ts_scenario_checks){.configured = true, .window = 10 * TS_SEC, .recovery = true,
                            .horizon = 300 * TS_SEC, .pos = sc_pos_of(item)};
  mapping cm;
  sc_mapping_init(&cm, item, NULL, 0, checks_keys, KEY_COUNT(checks_keys));
  snprintf(cm.where, sizeof cm.where, "in checks");
  snprintf(cm.label, sizeof cm.label, "in checks");
  rc = sc_load_mapping(L, &cm, c);
  if (rc) return rc;
  bool heal = cm.keys[sc_find_spec(&cm, "heal-at")] != NULL;
  bool deadline = cm.keys[sc_find_spec(&cm, "deadline")] != NULL;
  if (heal != deadline)
    return sc_fail(L, item, "found '%s' without '%s' in checks, expected both heal-at and deadline "
                            "(the heal phase and its deadline)",
                   heal ? "heal-at" : "deadline", heal ? "deadline" : "heal-at");
  c->has_heal = heal;
  if (heal && c->deadline <= c->heal_at)
    return sc_fail(L, cm.values[sc_find_spec(&cm, "deadline")],
                   "found a deadline not after heal-at in checks, expected deadline > heal-at");
  if (heal && !((ts_scenario *)obj)->has_phone)
    return sc_fail(L, item, "found a heal phase in a scenario without 'phone:', expected a phone "
                            "whose apps are judged");
  return 0;
}

/* The heal phase has no faults: every timeline event at or after heal-at must be
 * something other than a fault (the timeline loads after checks). */
int sc_check_heal_phase(loader *L) {
  const ts_scenario *s = L->s;
  if (!s->checks.has_heal) return 0;
  for (size_t i = 0; i < s->timeline_count; i++) {
    const ts_timeline_event *e = &s->timeline[i];
    if (e->at < s->checks.heal_at || !ts_scenario_action_is_fault((int)e->action)) continue;
    tsy_node at = {.line = e->pos.line, .col = e->pos.col};
    return sc_fail(L, &at, "found fault '%s' at or after heal-at, expected no faults in the heal "
                           "phase (move it before heal-at, or heal-at after it)",
                   ts_scenario_action_name((int)e->action));
  }
  return 0;
}
