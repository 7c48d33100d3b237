/* The schema machinery of the loader, shared by the files that describe sections
 * (scenario_load.c: the document, nodes, links, apps, timeline;
 * scenario_services.c: relays, DHCP and DNS servers; scenario_phone.c: the phone).
 *
 * Every mapping of the schema is described by a table of key_spec rows: the key,
 * the parser of its value, where the value goes, its range, an example for
 * messages, and for which variants (app types, timeline actions) it is required or
 * allowed. One generic routine (sc_load_mapping) checks a mapping against its table
 * (unknown keys with a did-you-mean, duplicates, keys that do not apply, missing
 * keys) and runs the parsers in table order.
 *
 * The first error wins: every function returns 0 or a negative TS_E* code, and the
 * message is already in the diag when it returns. Internal to sim/scenario. */
#ifndef TS_SCENARIO_SCHEMA_H
#define TS_SCENARIO_SCHEMA_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "scenario.h"
#include "scenario_strmap.h"
#include "scenario_values.h"
#include "scenario_yaml.h"

/* Upper bound on values visited. Aliases can make a small file describe a huge
 * scenario ("billion laughs"); a hand-written scenario is far below this. */
#define VISIT_BUDGET 1000000u
#define MAX_KEYS 48
#define VARIANT_ALL (~0u)
#define KEY_COUNT(table) (sizeof(table) / sizeof *(table))
/* A mapping remembers its keys by table row, in arrays of MAX_KEYS. */
#define CHECK_TABLE_SIZE(table) \
  _Static_assert(KEY_COUNT(table) <= MAX_KEYS, #table " has more rows than MAX_KEYS")
#define FOUND_BUF 200

typedef struct loader {
  const char *file;
  ts_diag *diag;
  ts_scenario *s;
  ts_strmap node_names, link_names, app_names, relay_names, phone_app_names;
  ts_strmap iface_names;   /* of the node being loaded */
  size_t budget;
} loader;

typedef struct key_spec key_spec;
typedef struct mapping mapping;
typedef int (*value_parser)(loader *L, const tsy_node *value, const key_spec *spec, mapping *m,
                            void *obj);

struct key_spec {
  const char *key;
  value_parser parse;
  size_t offset;           /* field of the object the parser writes */
  int64_t min, max;        /* range for numbers and durations */
  const char *example;     /* a valid entry, quoted in messages */
  unsigned required_for;   /* variants needing the key (VARIANT_ALL: always; 0: never) */
  unsigned allowed_for;    /* variants accepting the key (VARIANT_ALL: all) */
};

/* One mapping being checked against its table. */
struct mapping {
  const char *what;                 /* "link"; NULL for the top level */
  char where[64];                   /* "in link", "at the top level": for key messages */
  char label[128];                  /* "in link #2", then "in link 'ab'" once named */
  const tsy_node *node;
  const key_spec *specs;
  size_t spec_count;
  const tsy_node *keys[MAX_KEYS];   /* by spec row; NULL when absent */
  const tsy_node *values[MAX_KEYS];
  unsigned variant;                 /* bit of the app type / action; 0 while unknown */
  const char *variant_name;         /* "ping", for messages */
};

/* ---- messages */
int sc_fail(loader *L, const tsy_node *at, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
int sc_out_of_memory(loader *L, const tsy_node *at);
bool sc_is_null(const tsy_node *n);
/* User text quoted for a message: at most 40 bytes, control bytes escaped. */
const char *sc_quote(const char *text, size_t len, char *buf, size_t size);
/* "a sequence", "an empty value", "'abc'": what the user wrote. */
const char *sc_describe(const tsy_node *n, char *buf, size_t size);
int sc_fail_found(loader *L, const tsy_node *n, const char *expected);

/* Candidates come from different arrays; a callback names the i-th. */
typedef const char *(*name_at_fn)(const loader *L, const void *ctx, size_t i);
const char *sc_did_you_mean(const loader *L, const char *word, name_at_fn name_at,
                            const void *ctx, size_t count, char *buf, size_t size);
const char *sc_name_list(const loader *L, name_at_fn name_at, const void *ctx, size_t count,
                         size_t limit, char *buf, size_t size);
const char *sc_spec_key_at(const loader *L, const void *ctx, size_t i);
const char *sc_node_name_at(const loader *L, const void *ctx, size_t i);
const char *sc_iface_name_at(const loader *L, const void *ctx, size_t i);
const char *sc_link_name_at(const loader *L, const void *ctx, size_t i);
const char *sc_word_at(const loader *L, const void *ctx, size_t i);

/* ---- node access */
int sc_visit(loader *L, const tsy_node *n, const tsy_node **out);
int sc_scalar_text(loader *L, const tsy_node *value, const char *expected, const char **text,
                   const tsy_node **at);
int sc_sequence_value(loader *L, const tsy_node *value, const char *expected, bool allow_empty,
                      const tsy_node **seq);
void *sc_field(void *obj, const key_spec *spec);
ts_srcpos sc_pos_of(const tsy_node *n);

/* ---- generic mapping */
size_t sc_find_spec(const mapping *m, const char *key);
void sc_mapping_init(mapping *m, const tsy_node *node, const char *what, size_t index,
                     const key_spec *specs, size_t spec_count);
int sc_load_mapping(loader *L, mapping *m, void *obj);
int sc_item_mapping(loader *L, const tsy_node *item, const char *expected, const tsy_node **out);

/* A list whose items are mappings of one table: ts_scenario_link, ts_scenario_route, ... */
typedef struct sc_list {
  const char *expected;     /* said of an item that is not a mapping */
  const char *what;         /* "link": names item #i in messages */
  const key_spec *specs;
  size_t spec_count;
  size_t size;              /* of one item */
  /* Before the item is counted and loaded: defaults and position. obj may be one past
   * the end of a fixed array; init must then fail without touching it. */
  int (*init)(loader *L, const tsy_node *item, void *obj, size_t index);
  /* After it is loaded: checks across keys or items. NULL: none. */
  int (*check)(loader *L, mapping *m, void *obj, size_t index);
} sc_list;

/* Loads every item of seq into items (room for seq->count of them), counting each in
 * *count before loading it: its parsers find it as the last item. */
int sc_load_mapping_list(loader *L, const tsy_node *seq, const sc_list *list, void *items,
                         size_t *count);

/* ---- value parsers (value_parser signature unless noted) */
int sc_parse_name_text(loader *L, const tsy_node *value, mapping *m, bool allow_dot, char *dst,
                       const tsy_node **at);
int sc_parse_unique_name(loader *L, const tsy_node *value, mapping *m, bool allow_dot, char *dst,
                         ts_strmap *names, size_t index, const char *kind,
                         const ts_srcpos *(*pos_at)(const loader *, size_t));
int sc_parse_scenario_name(loader *L, const tsy_node *value, const key_spec *spec, mapping *m,
                           void *obj);
int sc_parse_version(loader *L, const tsy_node *value, const key_spec *spec, mapping *m,
                     void *obj);
int sc_parse_text(loader *L, const tsy_node *value, const key_spec *spec, mapping *m, void *obj);
int sc_read_duration(loader *L, const tsy_node *value, const key_spec *spec, ts_time *out,
                     const tsy_node **at);
int sc_parse_duration(loader *L, const tsy_node *value, const key_spec *spec, mapping *m,
                      void *obj);
int sc_parse_rate(loader *L, const tsy_node *value, const key_spec *spec, mapping *m, void *obj);
int sc_parse_probability(loader *L, const tsy_node *value, const key_spec *spec, mapping *m,
                         void *obj);
int sc_read_uint(loader *L, const tsy_node *value, const key_spec *spec, uint64_t *out);
int sc_parse_u32(loader *L, const tsy_node *value, const key_spec *spec, mapping *m, void *obj);
int sc_parse_u16(loader *L, const tsy_node *value, const key_spec *spec, mapping *m, void *obj);
int sc_parse_bool(loader *L, const tsy_node *value, const key_spec *spec, mapping *m, void *obj);
int sc_read_address(loader *L, const tsy_node *value, bool with_prefix, ts_ipprefix *out);
size_t sc_find_word(const char *const *words, size_t count, const char *text);
/* A value that must be one word of a table: app types, actions. */
int sc_read_word(loader *L, const tsy_node *value, const char *const *words, size_t count,
                 size_t *index);
/* Looks up a node by name, or explains which names exist. */
int sc_resolve_node(loader *L, const tsy_node *at, const char *context, const char *name,
                    size_t *index);

/* ---- readers shared by the new sections (scenario_services.c) */
/* A DNS name: labels of [A-Za-z0-9_-] joined by dots, at most 253 characters. */
int sc_read_dns_name(loader *L, const tsy_node *value, char *dst, const tsy_node **at);
/* A plain address; ipv4_only refuses IPv6 saying why. */
int sc_read_plain(loader *L, const tsy_node *value, bool ipv4_only, const char *why,
                  ts_ipaddr *out);
/* A list of at most max addresses into out (ts_ipprefix[] with prefixes, else
 * ts_ipaddr[]); an empty value is an empty list. */
int sc_read_address_list(loader *L, const tsy_node *value, bool with_prefix, bool ipv4_only,
                         const char *why, size_t max, void *out, size_t *count);

/* ---- sections in other files (value_parser signature; obj is the ts_scenario) */
int sc_parse_relays(loader *L, const tsy_node *value, const key_spec *spec, mapping *m, void *obj);
int sc_parse_dhcp_servers(loader *L, const tsy_node *value, const key_spec *spec, mapping *m,
                          void *obj);
int sc_parse_dns_servers(loader *L, const tsy_node *value, const key_spec *spec, mapping *m,
                         void *obj);
int sc_parse_phone(loader *L, const tsy_node *value, const key_spec *spec, mapping *m, void *obj);
/* After every section: a link written with one endpoint must be the phone's. */
int sc_check_phone_links(loader *L, const tsy_node *root);
/* scenario_lifecycle.c */
int sc_parse_negotiation(loader *L, const tsy_node *value, const key_spec *spec, mapping *m, void *obj);
int sc_read_ssid(loader *L, const tsy_node *value, char *dst);
int sc_parse_od_rules(loader *L, const tsy_node *value, const key_spec *spec, mapping *m, void *obj);
int sc_parse_keychain(loader *L, const tsy_node *value, const key_spec *spec, mapping *m, void *obj);
int sc_parse_appstore(loader *L, const tsy_node *value, const key_spec *spec, mapping *m, void *obj);
int sc_parse_quirks(loader *L, const tsy_node *value, const key_spec *spec, mapping *m, void *obj);
int sc_parse_checks(loader *L, const tsy_node *value, const key_spec *spec, mapping *m, void *obj);
int sc_check_appstore(loader *L);
int sc_check_heal_phase(loader *L);
/* Top-level apps and phone apps share one name space. */
int sc_check_app_name_free(loader *L, const tsy_node *at, const char *name, bool phone_app);

#endif
