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

#include "scenario.h"
#include "scenario_strmap.h"
#include "scenario_values.h"
#include "scenario_yaml.h"

/* Upper bound on values visited. Aliases can make a small file describe a huge
 * scenario ("billion laughs"); a hand-written scenario is far below this. */
#define VISIT_BUDGET 1000000u
#define MAX_KEYS 32
#define VARIANT_ALL (~0u)
#define MAX_LINK_DELAY (3600 * TS_SEC)
#define KEY_COUNT(table) (sizeof(table) / sizeof *(table))
/* A mapping remembers its keys by table row, in arrays of MAX_KEYS. */
#define CHECK_TABLE_SIZE(table) \
  _Static_assert(KEY_COUNT(table) <= MAX_KEYS, #table " has more rows than MAX_KEYS")

typedef struct loader {
  const char *file;
  ts_diag *diag;
  ts_scenario *s;
  ts_strmap node_names, link_names, app_names;
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

/* ------------------------------------------------------------------ messages */

static int fail(loader *L, const tsy_node *at, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static int fail(loader *L, const tsy_node *at, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  tsy_diag_vset(L->diag, L->file, at ? at->line : 1, at ? at->col : 1, fmt, ap);
  va_end(ap);
  return TS_EPARSE;
}

static int out_of_memory(loader *L, const tsy_node *at) {
  fail(L, at, "out of memory while loading the scenario");
  return TS_ENOMEM;
}

static bool is_null(const tsy_node *n) {
  if (n->kind != TSY_SCALAR || !n->plain) return false;
  return n->len == 0 || strcmp(n->text, "~") == 0 || strcmp(n->text, "null") == 0 ||
         strcmp(n->text, "Null") == 0 || strcmp(n->text, "NULL") == 0;
}

/* Quotes user text for a message: at most 40 bytes, control bytes escaped, never
 * cutting a UTF-8 character in half. */
static const char *quote(const char *text, size_t len, char *buf, size_t size) {
  size_t out = 0, limit = 40;
  buf[out++] = '\'';
  size_t i = 0;
  for (; i < len && i < limit && out + 6 < size; i++) {
    unsigned char c = (unsigned char)text[i];
    if (c < 0x20 || c == 0x7f) out += (size_t)snprintf(buf + out, size - out, "\\x%02x", c);
    else buf[out++] = (char)c;
  }
  if (i < len) {
    while (out > 1 && ((unsigned char)buf[out - 1] & 0xc0) == 0x80) out--;
    if (out > 1 && ((unsigned char)buf[out - 1] & 0x80)) out--;
    memcpy(buf + out, "...", 3);
    out += 3;
  }
  buf[out++] = '\'';
  buf[out] = '\0';
  return buf;
}

/* "a sequence", "an empty value", "'abc'": what the user wrote, for "found ..." */
static const char *describe(const tsy_node *n, char *buf, size_t size) {
  if (n->kind == TSY_MAPPING) return "a mapping";
  if (n->kind == TSY_SEQUENCE) return "a sequence";
  if (is_null(n)) return "an empty value";
  return quote(n->text, n->len, buf, size);
}

#define FOUND_BUF 200

static int fail_found(loader *L, const tsy_node *n, const char *expected) {
  char buf[FOUND_BUF];
  return fail(L, n, "found %s, expected %s", describe(n, buf, sizeof buf), expected);
}

/* Optimal string alignment distance (Levenshtein plus adjacent transpositions), so
 * that 'dealy' is one step from 'delay'. Case-insensitive. */
static size_t edit_distance(const char *a, const char *b) {
  size_t la = strlen(a), lb = strlen(b);
  if (la > 64 || lb > 64) return SIZE_MAX;
  size_t d[65][65];
  for (size_t i = 0; i <= la; i++) d[i][0] = i;
  for (size_t j = 0; j <= lb; j++) d[0][j] = j;
  for (size_t i = 1; i <= la; i++) {
    for (size_t j = 1; j <= lb; j++) {
      size_t cost = tolower((unsigned char)a[i - 1]) != tolower((unsigned char)b[j - 1]);
      size_t best = d[i - 1][j] + 1;
      if (d[i][j - 1] + 1 < best) best = d[i][j - 1] + 1;
      if (d[i - 1][j - 1] + cost < best) best = d[i - 1][j - 1] + cost;
      if (i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1] &&
          d[i - 2][j - 2] + 1 < best)
        best = d[i - 2][j - 2] + 1;
      d[i][j] = best;
    }
  }
  return d[la][lb];
}

/* Candidates come from different arrays; a callback names the i-th. */
typedef const char *(*name_at_fn)(const loader *L, const void *ctx, size_t i);

/* Writes " (did you mean 'x'?)" into buf when one candidate is close, else "". */
static const char *did_you_mean(const loader *L, const char *word, name_at_fn name_at,
                                const void *ctx, size_t count, char *buf, size_t size) {
  size_t len = strlen(word), threshold = len <= 4 ? 1 : 2;
  size_t best_distance = SIZE_MAX;
  const char *best = NULL;
  for (size_t i = 0; i < count; i++) {
    const char *candidate = name_at(L, ctx, i);
    size_t d = edit_distance(word, candidate);
    if (d < best_distance) { best_distance = d; best = candidate; }
  }
  buf[0] = '\0';
  if (best && best_distance > 0 && best_distance <= threshold)
    snprintf(buf, size, " (did you mean '%s'?)", best);
  return buf;
}

/* "a, b, c" with at most `limit` names, then ", ...". */
static const char *name_list(const loader *L, name_at_fn name_at, const void *ctx, size_t count,
                             size_t limit, char *buf, size_t size) {
  size_t out = 0;
  buf[0] = '\0';
  for (size_t i = 0; i < count && out + 1 < size; i++) {
    const char *sep = i ? ", " : "";
    if (i == limit) {
      snprintf(buf + out, size - out, ", ...");
      break;
    }
    int n = snprintf(buf + out, size - out, "%s%s", sep, name_at(L, ctx, i));
    if (n < 0 || (size_t)n >= size - out) break;
    out += (size_t)n;
  }
  return buf;
}

static const char *spec_key_at(const loader *L, const void *ctx, size_t i) {
  (void)L;
  return ((const key_spec *)ctx)[i].key;
}
static const char *node_name_at(const loader *L, const void *ctx, size_t i) {
  (void)ctx;
  return L->s->nodes[i].name;
}
static const char *iface_name_at(const loader *L, const void *ctx, size_t i) {
  (void)L;
  return ((const ts_scenario_node *)ctx)->interfaces[i].name;
}
static const char *link_name_at(const loader *L, const void *ctx, size_t i) {
  (void)ctx;
  return L->s->links[i].name;
}

/* ------------------------------------------------------------ node access */

/* Every value goes through here: follows aliases, refuses tags, and spends the
 * visit budget. *out is the node to read. */
static int visit(loader *L, const tsy_node *n, const tsy_node **out) {
  *out = n;
  if (L->budget == 0) {
    return fail(L, n, "found more than %u values (after expanding aliases), expected a "
                      "scenario of reasonable size",
                VISIT_BUDGET);
  }
  L->budget--;
  const tsy_node *resolved = n->kind == TSY_ALIAS ? n->target : n;
  if (resolved->tag) {
    char buf[FOUND_BUF];
    tsy_node at = {.line = resolved->tag_line, .col = resolved->tag_col};
    return fail(L, &at, "found tag %s, expected a value without a tag",
                quote(resolved->tag, strlen(resolved->tag), buf, sizeof buf));
  }
  *out = resolved;
  return 0;
}

/* The text of a scalar value, or an error "found ..., expected <expected>". */
static int scalar_text(loader *L, const tsy_node *value, const char *expected, const char **text,
                       const tsy_node **at) {
  const tsy_node *n;
  int rc = visit(L, value, &n);
  if (rc) return rc;
  if (n->kind != TSY_SCALAR || is_null(n)) return fail_found(L, n, expected);
  if (strlen(n->text) != n->len) {
    return fail(L, n, "found a string containing a NUL character, expected %s", expected);
  }
  *text = n->text;
  *at = n;
  return 0;
}

/* A sequence value; an empty value counts as an empty sequence when allow_empty. */
static int sequence_value(loader *L, const tsy_node *value, const char *expected,
                          bool allow_empty, const tsy_node **seq) {
  const tsy_node *n;
  int rc = visit(L, value, &n);
  if (rc) return rc;
  if (allow_empty && is_null(n)) {
    *seq = NULL;
    return 0;
  }
  if (n->kind != TSY_SEQUENCE) return fail_found(L, n, expected);
  if (!allow_empty && n->count == 0) return fail(L, n, "found an empty sequence, expected %s", expected);
  *seq = n;
  return 0;
}

static void *field(void *obj, const key_spec *spec) { return (char *)obj + spec->offset; }

/* ------------------------------------------------------------ generic mapping */

static size_t find_spec(const mapping *m, const char *key) {
  for (size_t i = 0; i < m->spec_count; i++) {
    if (strcmp(m->specs[i].key, key) == 0) return i;
  }
  return SIZE_MAX;
}

static int unknown_key(loader *L, const mapping *m, const tsy_node *key) {
  char keys[400], hint[96], buf[FOUND_BUF];
  name_list(L, spec_key_at, m->specs, m->spec_count, MAX_KEYS, keys, sizeof keys);
  if (strcmp(key->text, "<<") == 0) {
    snprintf(hint, sizeof hint, " (YAML merge keys are not supported)");
  } else {
    did_you_mean(L, key->text, spec_key_at, m->specs, m->spec_count, hint, sizeof hint);
  }
  return fail(L, key, "unknown key %s %s, expected one of: %s%s",
              quote(key->text, key->len, buf, sizeof buf), m->where, keys, hint);
}

/* Pass 1: every key is a known, unique scalar. Values are only remembered. */
static int collect_keys(loader *L, mapping *m) {
  char buf[FOUND_BUF];
  for (size_t i = 0; i + 1 < m->node->count; i += 2) {
    const tsy_node *key;
    int rc = visit(L, m->node->items[i], &key);
    if (rc) return rc;
    if (key->kind != TSY_SCALAR || is_null(key)) {
      return fail(L, key, "found %s as a key %s, expected a key name like '%s'",
                  describe(key, buf, sizeof buf), m->where, m->specs[0].key);
    }
    size_t row = strlen(key->text) == key->len ? find_spec(m, key->text) : SIZE_MAX;
    if (row == SIZE_MAX) return unknown_key(L, m, key);
    if (m->keys[row]) {
      return fail(L, key, "duplicate key '%s' %s (first at %d:%d), expected each key once",
                  key->text, m->where, m->keys[row]->line, m->keys[row]->col);
    }
    m->keys[row] = key;
    m->values[row] = m->node->items[i + 1];
  }
  return 0;
}

/* Keys that exist only for some variants ("port" for udp-echo apps). */
static int key_not_applicable(loader *L, const mapping *m, size_t row) {
  char allowed[400];
  size_t out = 0;
  allowed[0] = '\0';
  for (size_t i = 0; i < m->spec_count && out < sizeof allowed; i++) {
    if (!(m->specs[i].allowed_for & m->variant)) continue;
    int n = snprintf(allowed + out, sizeof allowed - out, "%s%s", out ? ", " : "", m->specs[i].key);
    if (n < 0) break;
    out += (size_t)n;
  }
  return fail(L, m->keys[row], "found key '%s' %s of type %s, expected only keys that apply to %s: %s",
              m->specs[row].key, m->label, m->variant_name, m->variant_name, allowed);
}

/* Pass 2: parsers in table order, so that e.g. name and type are known before the
 * keys whose messages or meaning depend on them. */
static int parse_values(loader *L, mapping *m, void *obj) {
  for (size_t row = 0; row < m->spec_count; row++) {
    if (!m->keys[row]) continue;
    if (m->variant && !(m->specs[row].allowed_for & m->variant)) return key_not_applicable(L, m, row);
    int rc = m->specs[row].parse(L, m->values[row], &m->specs[row], m, obj);
    if (rc) return rc;
  }
  return 0;
}

/* Pass 3: required keys, pointing at the mapping that lacks them. */
static int check_required(loader *L, const mapping *m) {
  for (size_t row = 0; row < m->spec_count; row++) {
    const key_spec *spec = &m->specs[row];
    bool required = spec->required_for == VARIANT_ALL || (spec->required_for & m->variant);
    if (!required || m->keys[row]) continue;
    if (m->variant_name && spec->required_for != VARIANT_ALL) {
      return fail(L, m->node, "missing key '%s' %s of type %s, expected e.g. '%s'", spec->key,
                  m->label, m->variant_name, spec->example);
    }
    return fail(L, m->node, "missing key '%s' %s, expected e.g. '%s'", spec->key, m->label,
                spec->example);
  }
  return 0;
}

/* what: "link", with index its position in its list (0-based); NULL for the top. */
static void mapping_init(mapping *m, const tsy_node *node, const char *what, size_t index,
                         const key_spec *specs, size_t spec_count) {
  memset(m, 0, sizeof *m);
  m->node = node;
  m->specs = specs;
  m->spec_count = spec_count;
  m->what = what;
  if (!what) {
    snprintf(m->where, sizeof m->where, "at the top level");
    snprintf(m->label, sizeof m->label, "at the top level");
  } else {
    snprintf(m->where, sizeof m->where, "in %s", what);
    snprintf(m->label, sizeof m->label, "in %s #%zu", what, index + 1);
  }
}

static int load_mapping(loader *L, mapping *m, void *obj) {
  int rc = collect_keys(L, m);
  if (!rc) rc = parse_values(L, m, obj);
  if (!rc) rc = check_required(L, m);
  return rc;
}

/* A list item that must be a mapping. */
static int item_mapping(loader *L, const tsy_node *item, const char *expected,
                        const tsy_node **out) {
  int rc = visit(L, item, out);
  if (rc) return rc;
  if ((*out)->kind != TSY_MAPPING) return fail_found(L, *out, expected);
  return 0;
}

static ts_srcpos pos_of(const tsy_node *n) { return (ts_srcpos){n->line, n->col}; }

/* ------------------------------------------------------------ value parsers */

static int parse_name_text(loader *L, const tsy_node *value, mapping *m, bool allow_dot,
                           char *dst, const tsy_node **at) {
  const char *expected = allow_dot ? "a name of letters, digits, '_', '-' and '.'"
                                   : "a name of letters, digits, '_' and '-'";
  const char *text;
  int rc = scalar_text(L, value, expected, &text, at);
  if (rc) return rc;
  if (!tsv_is_name(text, allow_dot)) return fail_found(L, *at, expected);
  if (strlen(text) >= TS_SCENARIO_NAME_MAX) {
    return fail(L, *at, "found a name of %zu characters, expected at most %d", strlen(text),
                TS_SCENARIO_NAME_MAX - 1);
  }
  strcpy(dst, text);
  /* From now on messages about this mapping can say which one it is. */
  if (m->what) snprintf(m->label, sizeof m->label, "in %s '%s'", m->what, text);
  return 0;
}

/* Name that must be unique within `names`; the map value is the index. */
static int parse_unique_name(loader *L, const tsy_node *value, mapping *m, bool allow_dot,
                             char *dst, ts_strmap *names, size_t index, const char *kind,
                             const ts_srcpos *(*pos_at)(const loader *, size_t)) {
  const tsy_node *at;
  int rc = parse_name_text(L, value, m, allow_dot, dst, &at);
  if (rc) return rc;
  size_t first;
  if (ts_strmap_get(names, dst, &first)) {
    const ts_srcpos *p = pos_at(L, first);
    return fail(L, at, "duplicate %s name '%s' (first defined at %d:%d), expected unique %s names",
                kind, dst, p->line, p->col, kind);
  }
  if (ts_strmap_put(names, dst, index)) return out_of_memory(L, at);
  return 0;
}

static int parse_scenario_name(loader *L, const tsy_node *value, const key_spec *spec, mapping *m,
                               void *obj) {
  const tsy_node *at;
  return parse_name_text(L, value, m, true, field(obj, spec), &at);
}

static int parse_text(loader *L, const tsy_node *value, const key_spec *spec, mapping *m,
                      void *obj) {
  (void)m;
  const tsy_node *at;
  const char *text;
  int rc = scalar_text(L, value, "a text", &text, &at);
  if (rc) return rc;
  char **dst = field(obj, spec);
  free(*dst);
  *dst = strdup(text);
  return *dst ? 0 : out_of_memory(L, at);
}

static int parse_version(loader *L, const tsy_node *value, const key_spec *spec, mapping *m,
                         void *obj) {
  (void)m;
  const char *expected = "version 1 (the scenario format this tunnelsim reads)";
  const tsy_node *at;
  const char *text;
  int rc = scalar_text(L, value, expected, &text, &at);
  if (rc) return rc;
  uint64_t version;
  if (tsv_parse_uint(text, &version) != TSV_OK || version != TS_SCENARIO_VERSION)
    return fail_found(L, at, expected);
  *(int *)field(obj, spec) = TS_SCENARIO_VERSION;
  return 0;
}

static const char *duration_units_text = "ns, us, ms, s, m, h";

static int duration_error(loader *L, const tsy_node *at, tsv_status st) {
  char buf[FOUND_BUF];
  const char *found = describe(at, buf, sizeof buf);
  switch (st) {
    case TSV_NO_UNIT:
      return fail(L, at, "found %s without a unit, expected a duration like 5ms (add a unit: %s)",
                  found, duration_units_text);
    case TSV_NEGATIVE:
      return fail(L, at, "found %s, expected a duration that is not negative", found);
    case TSV_OVERFLOW:
      return fail(L, at, "found %s, expected a duration below 292 years", found);
    case TSV_INEXACT:
      return fail(L, at, "found %s, expected a duration in whole nanoseconds", found);
    default:
      return fail(L, at, "found %s, expected a duration like 5ms (units: %s)", found,
                  duration_units_text);
  }
}

static int read_duration(loader *L, const tsy_node *value, const key_spec *spec, ts_time *out,
                         const tsy_node **at) {
  const char *text;
  int rc = scalar_text(L, value, "a duration like 5ms", &text, at);
  if (rc) return rc;
  tsv_status st = tsv_parse_duration(text, out);
  if (st != TSV_OK) return duration_error(L, *at, st);
  if (*out < spec->min || *out > spec->max) {
    char lo[32], hi[32], buf[FOUND_BUF];
    ts_format_duration(spec->min, lo, sizeof lo);
    if (spec->max == INT64_MAX) {
      return fail(L, *at, "found %s, expected a duration of at least %s for %s",
                  describe(*at, buf, sizeof buf), lo, spec->key);
    }
    ts_format_duration(spec->max, hi, sizeof hi);
    return fail(L, *at, "found %s, expected a duration from %s to %s for %s",
                describe(*at, buf, sizeof buf), lo, hi, spec->key);
  }
  return 0;
}

static int parse_duration(loader *L, const tsy_node *value, const key_spec *spec, mapping *m,
                          void *obj) {
  (void)m;
  const tsy_node *at;
  return read_duration(L, value, spec, field(obj, spec), &at);
}

static int parse_rate(loader *L, const tsy_node *value, const key_spec *spec, mapping *m,
                      void *obj) {
  (void)m;
  const char *units = "bps, kbps, Mbps, Gbps";
  const tsy_node *at;
  const char *text;
  int rc = scalar_text(L, value, "a rate like 10Mbps", &text, &at);
  if (rc) return rc;
  char buf[FOUND_BUF];
  const char *found = describe(at, buf, sizeof buf);
  switch (tsv_parse_rate(text, field(obj, spec))) {
    case TSV_OK: return 0;
    case TSV_NO_UNIT:
      return fail(L, at, "found %s without a unit, expected a rate like 10Mbps (add a unit: %s)",
                  found, units);
    case TSV_NEGATIVE: return fail(L, at, "found %s, expected a rate that is not negative", found);
    case TSV_OVERFLOW: return fail(L, at, "found %s, expected a rate below 18446744073Gbps", found);
    case TSV_INEXACT: return fail(L, at, "found %s, expected a rate in whole bits per second", found);
    default: return fail(L, at, "found %s, expected a rate like 10Mbps (units: %s)", found, units);
  }
}

static int parse_probability(loader *L, const tsy_node *value, const key_spec *spec, mapping *m,
                             void *obj) {
  (void)m;
  const char *expected = "a probability from 0 to 1 like 0.01";
  const tsy_node *at;
  const char *text;
  int rc = scalar_text(L, value, expected, &text, &at);
  if (rc) return rc;
  tsv_status st = tsv_parse_probability(text, field(obj, spec));
  if (st == TSV_INEXACT)
    return fail(L, at, "found %s, expected a probability with at most 15 decimals",
                describe(at, (char[FOUND_BUF]){0}, FOUND_BUF));
  return st == TSV_OK ? 0 : fail_found(L, at, expected);
}

static int read_uint(loader *L, const tsy_node *value, const key_spec *spec, uint64_t *out) {
  char expected[96];
  snprintf(expected, sizeof expected, "an integer from %lld to %lld", (long long)spec->min,
           (long long)spec->max);
  const tsy_node *at;
  const char *text;
  int rc = scalar_text(L, value, expected, &text, &at);
  if (rc) return rc;
  if (tsv_parse_uint(text, out) != TSV_OK || *out < (uint64_t)spec->min ||
      *out > (uint64_t)spec->max)
    return fail_found(L, at, expected);
  return 0;
}

static int parse_u32(loader *L, const tsy_node *value, const key_spec *spec, mapping *m,
                     void *obj) {
  (void)m;
  uint64_t v;
  int rc = read_uint(L, value, spec, &v);
  if (!rc) *(uint32_t *)field(obj, spec) = (uint32_t)v;
  return rc;
}

static int parse_u16(loader *L, const tsy_node *value, const key_spec *spec, mapping *m,
                     void *obj) {
  (void)m;
  uint64_t v;
  int rc = read_uint(L, value, spec, &v);
  if (!rc) *(uint16_t *)field(obj, spec) = (uint16_t)v;
  return rc;
}

static int parse_bool(loader *L, const tsy_node *value, const key_spec *spec, mapping *m,
                      void *obj) {
  (void)m;
  const tsy_node *at;
  const char *text;
  int rc = scalar_text(L, value, "true or false", &text, &at);
  if (rc) return rc;
  return tsv_parse_bool(text, field(obj, spec)) == TSV_OK ? 0 : fail_found(L, at, "true or false");
}

/* Addresses that parse but break a rule of where they are used. */
static int address_error(loader *L, const tsy_node *at, tsv_status st, const ts_ipprefix *a) {
  char buf[FOUND_BUF];
  const char *found = describe(at, buf, sizeof buf);
  bool v6 = a->addr.family == 6;
  switch (st) {
    case TSV_NO_PREFIX:
      return fail(L, at, "found %s without a prefix length, expected an address like %s", found,
                  v6 ? "fd00::1/64" : "10.0.0.1/24");
    case TSV_HAS_PREFIX:
      return fail(L, at, "found %s with a prefix length, expected a plain address like %s", found,
                  v6 ? "fd00::2" : "10.0.0.2");
    default:
      return fail(L, at, "found %s, expected a prefix length from 0 to %d", found, v6 ? 128 : 32);
  }
}

static int read_address(loader *L, const tsy_node *value, bool with_prefix, ts_ipprefix *out) {
  const tsy_node *at;
  const char *text;
  const char *expected = with_prefix ? "an IPv4 or IPv6 address like 10.0.0.1/24 or fd00::1/64"
                                     : "an IPv4 or IPv6 address like 10.0.0.2 or fd00::2";
  int rc = scalar_text(L, value, expected, &text, &at);
  if (rc) return rc;
  tsv_status st = tsv_parse_address(text, with_prefix, out);
  if (st == TSV_SYNTAX) return fail_found(L, at, expected);
  return st == TSV_OK ? 0 : address_error(L, at, st, out);
}

/* ------------------------------------------------------------ top level */

static int parse_seed(loader *L, const tsy_node *value, const key_spec *spec, mapping *m,
                      void *obj) {
  (void)spec; (void)m;
  ts_scenario *s = obj;
  const char *expected = "an unsigned 64-bit integer like 1 or 0x2a";
  const tsy_node *at;
  const char *text;
  int rc = scalar_text(L, value, expected, &text, &at);
  if (rc) return rc;
  if (tsv_parse_seed(text, &s->seed) != TSV_OK) return fail_found(L, at, expected);
  s->has_seed = true;
  return 0;
}

static int parse_run_duration(loader *L, const tsy_node *value, const key_spec *spec, mapping *m,
                              void *obj) {
  (void)m;
  ts_scenario *s = obj;
  const tsy_node *at;
  int rc = read_duration(L, value, spec, &s->duration, &at);
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
  return parse_unique_name(L, value, m, false, field(obj, spec), &L->node_names,
                           L->s->node_count - 1, "node", node_pos_at);
}

static int parse_iface_name(loader *L, const tsy_node *value, const key_spec *spec, mapping *m,
                            void *obj) {
  ts_scenario_node *node = &L->s->nodes[L->s->node_count - 1];
  return parse_unique_name(L, value, m, true, field(obj, spec), &L->iface_names,
                           node->interface_count - 1, "interface", iface_pos_at);
}

static int parse_addresses(loader *L, const tsy_node *value, const key_spec *spec, mapping *m,
                           void *obj) {
  (void)spec; (void)m;
  ts_scenario_iface *iface = obj;
  const tsy_node *seq;
  int rc = sequence_value(L, value, "a list of addresses like [10.0.0.1/24, \"fd00::1/64\"]",
                          false, &seq);
  if (rc) return rc;
  iface->addresses = calloc(seq->count, sizeof *iface->addresses);
  if (!iface->addresses) return out_of_memory(L, seq);
  for (size_t i = 0; i < seq->count; i++) {
    rc = read_address(L, seq->items[i], true, &iface->addresses[i]);
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

static int parse_interfaces(loader *L, const tsy_node *value, const key_spec *spec, mapping *m,
                            void *obj) {
  (void)spec; (void)m;
  ts_scenario_node *node = obj;
  const tsy_node *seq;
  int rc = sequence_value(L, value, "a list of interfaces like '- name: eth0'", true, &seq);
  if (rc || !seq) return rc;
  node->interfaces = calloc(seq->count ? seq->count : 1, sizeof *node->interfaces);
  if (!node->interfaces) return out_of_memory(L, seq);
  ts_strmap_free(&L->iface_names);
  for (size_t i = 0; i < seq->count; i++) {
    const tsy_node *item;
    rc = item_mapping(L, seq->items[i], "an interface mapping like '- name: eth0'", &item);
    if (rc) return rc;
    ts_scenario_iface *iface = &node->interfaces[node->interface_count++];
    iface->link = TS_SCENARIO_NONE;
    iface->pos = pos_of(item);
    mapping im;
    mapping_init(&im, item, "interface", i, iface_keys, KEY_COUNT(iface_keys));
    rc = load_mapping(L, &im, iface);
    if (rc) return rc;
  }
  return 0;
}

static const key_spec node_keys[] = {
    {"name", parse_node_name, offsetof(ts_scenario_node, name), 0, 0, "name: hostA", VARIANT_ALL,
     VARIANT_ALL},
    {"interfaces", parse_interfaces, 0, 0, 0, "interfaces: [{name: eth0, addresses: [10.0.0.1/24]}]",
     0, VARIANT_ALL},
};
CHECK_TABLE_SIZE(node_keys);

static int parse_nodes(loader *L, const tsy_node *value, const key_spec *spec, mapping *m,
                       void *obj) {
  (void)spec; (void)m;
  ts_scenario *s = obj;
  const tsy_node *seq;
  int rc = sequence_value(L, value, "a list of at least one node like '- name: hostA'", false,
                          &seq);
  if (rc) return rc;
  s->nodes = calloc(seq->count, sizeof *s->nodes);
  if (!s->nodes) return out_of_memory(L, seq);
  for (size_t i = 0; i < seq->count; i++) {
    const tsy_node *item;
    rc = item_mapping(L, seq->items[i], "a node mapping like '- name: hostA'", &item);
    if (rc) return rc;
    ts_scenario_node *node = &s->nodes[s->node_count++];
    node->pos = pos_of(item);
    mapping nm;
    mapping_init(&nm, item, "node", i, node_keys, KEY_COUNT(node_keys));
    rc = load_mapping(L, &nm, node);
    if (rc) return rc;
  }
  ts_strmap_free(&L->iface_names);
  return 0;
}

/* ------------------------------------------------------------ links */

static int parse_link_name(loader *L, const tsy_node *value, const key_spec *spec, mapping *m,
                           void *obj) {
  return parse_unique_name(L, value, m, true, field(obj, spec), &L->link_names,
                           L->s->link_count - 1, "link", link_pos_at);
}

/* Looks up a node by name, or explains which names exist. */
static int resolve_node(loader *L, const tsy_node *at, const char *context, const char *name,
                        size_t *index) {
  if (ts_strmap_get(&L->node_names, name, index)) return 0;
  char names[300], hint[96];
  name_list(L, node_name_at, NULL, L->s->node_count, 8, names, sizeof names);
  did_you_mean(L, name, node_name_at, NULL, L->s->node_count, hint, sizeof hint);
  return fail(L, at, "%s: no node '%s', expected one of: %s%s", context, name, names, hint);
}

static int resolve_endpoint(loader *L, const tsy_node *value, ts_scenario_endpoint *ep,
                            const tsy_node **at) {
  const char *expected = "an endpoint like hostA/eth0";
  const char *text;
  int rc = scalar_text(L, value, expected, &text, at);
  if (rc) return rc;
  const char *slash = strchr(text, '/');
  if (!slash || slash == text || slash[1] == '\0' || strchr(slash + 1, '/'))
    return fail_found(L, *at, expected);

  char node_name[TS_SCENARIO_NAME_MAX], context[FOUND_BUF + 32], quoted[FOUND_BUF];
  size_t node_len = (size_t)(slash - text);
  snprintf(context, sizeof context, "link endpoint %s", quote(text, strlen(text), quoted, sizeof quoted));
  if (node_len >= sizeof node_name) {
    return fail(L, *at, "%s: the node name is longer than %d characters, expected the name of "
                        "a node", context, TS_SCENARIO_NAME_MAX - 1);
  }
  memcpy(node_name, text, node_len);
  node_name[node_len] = '\0';
  rc = resolve_node(L, *at, context, node_name, &ep->node);
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
  name_list(L, iface_name_at, node, node->interface_count, 8, names, sizeof names);
  did_you_mean(L, iface_name, iface_name_at, node, node->interface_count, hint, sizeof hint);
  if (node->interface_count == 0) {
    return fail(L, *at, "%s: node '%s' has no interfaces, expected an interface of node '%s'",
                context, node->name, node->name);
  }
  return fail(L, *at, "%s: node '%s' has no interface '%s', expected one of: %s%s", context,
              node->name, iface_name, names, hint);
}

static int parse_endpoints(loader *L, const tsy_node *value, const key_spec *spec, mapping *m,
                           void *obj) {
  (void)spec;
  ts_scenario_link *link = obj;
  size_t link_index = L->s->link_count - 1;
  const char *expected = "exactly two endpoints like [hostA/eth0, hostB/eth0]";
  const tsy_node *seq;
  int rc = sequence_value(L, value, expected, false, &seq);
  if (rc) return rc;
  if (seq->count != 2) return fail(L, seq, "found %zu endpoints, expected %s", seq->count, expected);
  for (size_t i = 0; i < 2; i++) {
    const tsy_node *at;
    ts_scenario_endpoint *ep = &link->endpoints[i];
    rc = resolve_endpoint(L, seq->items[i], ep, &at);
    if (rc) return rc;
    ts_scenario_node *node = &L->s->nodes[ep->node];
    ts_scenario_iface *iface = &node->interfaces[ep->iface];
    if (i == 1 && ep->node == link->endpoints[0].node && ep->iface == link->endpoints[0].iface) {
      return fail(L, at, "found endpoint '%s/%s' twice %s, expected two different interfaces",
                  node->name, iface->name, m->label);
    }
    if (iface->link != TS_SCENARIO_NONE) {
      const ts_scenario_link *other = &L->s->links[iface->link];
      return fail(L, at,
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
    {"delay", parse_duration, offsetof(ts_scenario_link, delay), 0, MAX_LINK_DELAY, "delay: 5ms",
     0, VARIANT_ALL},
    {"jitter", parse_duration, offsetof(ts_scenario_link, jitter), 0, MAX_LINK_DELAY,
     "jitter: 1ms", 0, VARIANT_ALL},
    {"loss", parse_probability, offsetof(ts_scenario_link, loss), 0, 0, "loss: 0.01", 0,
     VARIANT_ALL},
    {"rate", parse_rate, offsetof(ts_scenario_link, rate_bps), 0, 0, "rate: 10Mbps", 0,
     VARIANT_ALL},
    {"mtu", parse_u32, offsetof(ts_scenario_link, mtu), 68, 65535, "mtu: 1500", 0, VARIANT_ALL},
    {"queue", parse_u32, offsetof(ts_scenario_link, queue_packets), 1, 1000000, "queue: 1000", 0,
     VARIANT_ALL},
    {"up", parse_bool, offsetof(ts_scenario_link, up), 0, 0, "up: true", 0, VARIANT_ALL},
};
CHECK_TABLE_SIZE(link_keys);

static void link_defaults(ts_scenario_link *link) {
  link->mtu = 1500;
  link->queue_packets = 1000;
  link->up = true;
}

/* Relations between keys of one link, checked once all are parsed. */
static int check_link(loader *L, const mapping *m, const ts_scenario_link *link) {
  if (link->jitter <= link->delay) return 0;
  char jitter[32], delay[32];
  ts_format_duration(link->jitter, jitter, sizeof jitter);
  ts_format_duration(link->delay, delay, sizeof delay);
  const tsy_node *at = m->values[find_spec(m, "jitter")];
  return fail(L, at->kind == TSY_ALIAS ? at->target : at,
              "found jitter %s larger than delay %s %s, expected jitter <= delay", jitter, delay,
              m->label);
}

static int parse_links(loader *L, const tsy_node *value, const key_spec *spec, mapping *m,
                       void *obj) {
  (void)spec; (void)m;
  ts_scenario *s = obj;
  const tsy_node *seq;
  int rc = sequence_value(L, value, "a list of links like '- name: ab'", true, &seq);
  if (rc || !seq) return rc;
  s->links = calloc(seq->count ? seq->count : 1, sizeof *s->links);
  if (!s->links) return out_of_memory(L, seq);
  for (size_t i = 0; i < seq->count; i++) {
    const tsy_node *item;
    rc = item_mapping(L, seq->items[i], "a link mapping like '- name: ab'", &item);
    if (rc) return rc;
    ts_scenario_link *link = &s->links[s->link_count++];
    link_defaults(link);
    link->pos = pos_of(item);
    mapping lm;
    mapping_init(&lm, item, "link", i, link_keys, KEY_COUNT(link_keys));
    rc = load_mapping(L, &lm, link);
    if (!rc) rc = check_link(L, &lm, link);
    if (rc) return rc;
  }
  return 0;
}

/* ------------------------------------------------------------ apps */

static const char *const app_type_names[TS_APP_TYPE_COUNT] = {
    [TS_APP_PING] = "ping",
    [TS_APP_UDP_ECHO_SERVER] = "udp-echo-server",
    [TS_APP_UDP_ECHO_CLIENT] = "udp-echo-client",
};

#define APP_PING (1u << TS_APP_PING)
#define APP_SERVER (1u << TS_APP_UDP_ECHO_SERVER)
#define APP_CLIENT (1u << TS_APP_UDP_ECHO_CLIENT)

const char *ts_scenario_app_type_name(int type) {
  return type >= 0 && type < TS_APP_TYPE_COUNT ? app_type_names[type] : NULL;
}

/* Finds `text` in a table of names; SIZE_MAX when absent. */
static size_t find_word(const char *const *words, size_t count, const char *text) {
  for (size_t i = 0; i < count; i++) {
    if (strcmp(words[i], text) == 0) return i;
  }
  return SIZE_MAX;
}

static const char *word_at(const loader *L, const void *ctx, size_t i) {
  (void)L;
  return ((const char *const *)ctx)[i];
}

/* A value that must be one word of a table: app types, actions. */
static int read_word(loader *L, const tsy_node *value, const char *const *words, size_t count,
                     size_t *index) {
  char list[200], hint[96], expected[300];
  name_list(L, word_at, words, count, count, list, sizeof list);
  snprintf(expected, sizeof expected, "one of: %s", list);
  const tsy_node *at;
  const char *text;
  int rc = scalar_text(L, value, expected, &text, &at);
  if (rc) return rc;
  *index = find_word(words, count, text);
  if (*index != SIZE_MAX) return 0;
  char buf[FOUND_BUF];
  did_you_mean(L, text, word_at, words, count, hint, sizeof hint);
  return fail(L, at, "found %s, expected %s%s", describe(at, buf, sizeof buf), expected, hint);
}

static int parse_app_name(loader *L, const tsy_node *value, const key_spec *spec, mapping *m,
                          void *obj) {
  return parse_unique_name(L, value, m, true, field(obj, spec), &L->app_names,
                           L->s->app_count - 1, "app", app_pos_at);
}

static int parse_app_type(loader *L, const tsy_node *value, const key_spec *spec, mapping *m,
                          void *obj) {
  (void)spec;
  ts_scenario_app *app = obj;
  size_t type;
  int rc = read_word(L, value, app_type_names, TS_APP_TYPE_COUNT, &type);
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
  int rc = scalar_text(L, value, "the name of a node", &text, &at);
  if (rc) return rc;
  char context[160];
  snprintf(context, sizeof context, "node %s", m->label); /* "node in app 'p'" */
  return resolve_node(L, at, context, text, &app->node);
}

static int parse_target(loader *L, const tsy_node *value, const key_spec *spec, mapping *m,
                        void *obj) {
  (void)spec; (void)m;
  ts_scenario_app *app = obj;
  int rc = read_address(L, value, false, &app->target);
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
    {"port", parse_u16, offsetof(ts_scenario_app, port), 1, 65535, "port: 7", 0,
     APP_SERVER | APP_CLIENT},
    {"start", parse_duration, offsetof(ts_scenario_app, start), 0, INT64_MAX, "start: 1s", 0,
     VARIANT_ALL},
    {"interval", parse_duration, offsetof(ts_scenario_app, interval), 1, INT64_MAX,
     "interval: 1s", 0, APP_PING | APP_CLIENT},
    {"count", parse_u32, offsetof(ts_scenario_app, count), 1, 1000000, "count: 5", 0,
     APP_PING | APP_CLIENT},
    {"size", parse_u32, offsetof(ts_scenario_app, size), 0, 65000, "size: 56", 0,
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
  if (app->type == TS_APP_UDP_ECHO_SERVER) {
    app->interval = 0;
    app->count = 0;
    app->size = 0;
  }
}

static int parse_apps(loader *L, const tsy_node *value, const key_spec *spec, mapping *m,
                      void *obj) {
  (void)spec; (void)m;
  ts_scenario *s = obj;
  const tsy_node *seq;
  int rc = sequence_value(L, value, "a list of apps like '- name: ping1'", true, &seq);
  if (rc || !seq) return rc;
  s->apps = calloc(seq->count ? seq->count : 1, sizeof *s->apps);
  if (!s->apps) return out_of_memory(L, seq);
  for (size_t i = 0; i < seq->count; i++) {
    const tsy_node *item;
    rc = item_mapping(L, seq->items[i], "an app mapping like '- name: ping1'", &item);
    if (rc) return rc;
    ts_scenario_app *app = &s->apps[s->app_count++];
    app_defaults(app);
    app->pos = pos_of(item);
    mapping am;
    mapping_init(&am, item, "app", i, app_keys, KEY_COUNT(app_keys));
    rc = load_mapping(L, &am, app);
    if (rc) return rc;
    app_clear_unused(app);
  }
  return 0;
}

/* ------------------------------------------------------------ timeline */

static const char *const action_names[TS_ACTION_COUNT] = {
    [TS_ACTION_LINK_DOWN] = "link-down",
    [TS_ACTION_LINK_UP] = "link-up",
};

#define ACTION_LINK_DOWN (1u << TS_ACTION_LINK_DOWN)
#define ACTION_LINK_UP (1u << TS_ACTION_LINK_UP)
#define ACTIONS_ON_LINKS (ACTION_LINK_DOWN | ACTION_LINK_UP)

const char *ts_scenario_action_name(int action) {
  return action >= 0 && action < TS_ACTION_COUNT ? action_names[action] : NULL;
}

static int parse_action(loader *L, const tsy_node *value, const key_spec *spec, mapping *m,
                        void *obj) {
  (void)spec;
  ts_timeline_event *ev = obj;
  size_t action;
  int rc = read_word(L, value, action_names, TS_ACTION_COUNT, &action);
  if (rc) return rc;
  ev->action = (ts_timeline_action)action;
  m->variant = 1u << action;
  m->variant_name = action_names[action];
  return 0;
}

static int parse_event_link(loader *L, const tsy_node *value, const key_spec *spec, mapping *m,
                            void *obj) {
  (void)spec; (void)m;
  ts_timeline_event *ev = obj;
  const tsy_node *at;
  const char *text;
  int rc = scalar_text(L, value, "the name of a link", &text, &at);
  if (rc) return rc;
  if (ts_strmap_get(&L->link_names, text, &ev->link)) return 0;
  char buf[FOUND_BUF];
  if (L->s->link_count == 0)
    return fail(L, at, "found link %s, expected a link defined under 'links' (there are none)",
                describe(at, buf, sizeof buf));
  char names[300], hint[96];
  name_list(L, link_name_at, NULL, L->s->link_count, 8, names, sizeof names);
  did_you_mean(L, text, link_name_at, NULL, L->s->link_count, hint, sizeof hint);
  return fail(L, at, "found link %s that does not exist, expected one of: %s%s",
              describe(at, buf, sizeof buf), names, hint);
}

static const key_spec event_keys[] = {
    {"at", parse_duration, offsetof(ts_timeline_event, at), 0, INT64_MAX, "at: 3s", VARIANT_ALL,
     VARIANT_ALL},
    {"action", parse_action, 0, 0, 0, "action: link-down", VARIANT_ALL, VARIANT_ALL},
    {"link", parse_event_link, 0, 0, 0, "link: ab", ACTIONS_ON_LINKS, ACTIONS_ON_LINKS},
};
CHECK_TABLE_SIZE(event_keys);

static int parse_timeline(loader *L, const tsy_node *value, const key_spec *spec, mapping *m,
                          void *obj) {
  (void)spec; (void)m;
  ts_scenario *s = obj;
  const tsy_node *seq;
  int rc = sequence_value(L, value, "a list of events like '- at: 3s'", true, &seq);
  if (rc || !seq) return rc;
  s->timeline = calloc(seq->count ? seq->count : 1, sizeof *s->timeline);
  if (!s->timeline) return out_of_memory(L, seq);
  for (size_t i = 0; i < seq->count; i++) {
    const tsy_node *item;
    rc = item_mapping(L, seq->items[i], "an event mapping like '- at: 3s'", &item);
    if (rc) return rc;
    ts_timeline_event *ev = &s->timeline[s->timeline_count++];
    ev->link = TS_SCENARIO_NONE;
    ev->pos = pos_of(item);
    mapping em;
    mapping_init(&em, item, "timeline event", i, event_keys,
                 KEY_COUNT(event_keys));
    rc = load_mapping(L, &em, ev);
    if (rc) return rc;
  }
  return 0;
}

/* ------------------------------------------------------------ the document */

/* Order matters: version first, and sections after the ones they refer to. */
static const key_spec top_keys[] = {
    {"version", parse_version, offsetof(ts_scenario, version), 0, 0, "version: 1", VARIANT_ALL,
     VARIANT_ALL},
    {"name", parse_scenario_name, offsetof(ts_scenario, name), 0, 0, "name: two-hosts",
     VARIANT_ALL, VARIANT_ALL},
    {"description", parse_text, offsetof(ts_scenario, description), 0, 0,
     "description: \"free text\"", 0, VARIANT_ALL},
    {"seed", parse_seed, 0, 0, 0, "seed: 1", 0, VARIANT_ALL},
    {"duration", parse_run_duration, 0, 1, INT64_MAX, "duration: 10s", 0, VARIANT_ALL},
    {"nodes", parse_nodes, 0, 0, 0, "nodes: [{name: hostA}]", VARIANT_ALL, VARIANT_ALL},
    {"links", parse_links, 0, 0, 0, "links: []", 0, VARIANT_ALL},
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
      return parse_version(L, root->items[i + 1], &top_keys[0], &unused, L->s);
    }
  }
  return fail(L, root, "missing key 'version' at the top level, expected 'version: 1'");
}

static int load_root(loader *L, const tsy_tree *tree) {
  const char *expected = "a scenario mapping with 'version: 1'";
  if (!tree->root) return fail(L, NULL, "empty file, expected %s", expected);
  const tsy_node *root;
  int rc = visit(L, tree->root, &root);
  if (rc) return rc;
  if (is_null(root)) return fail(L, root, "found an empty document, expected %s", expected);
  if (root->kind != TSY_MAPPING) {
    char buf[FOUND_BUF];
    return fail(L, root, "found %s at the top level, expected %s", describe(root, buf, sizeof buf),
                expected);
  }
  rc = check_version_first(L, root);
  if (rc) return rc;
  mapping top;
  mapping_init(&top, root, NULL, 0, top_keys, KEY_COUNT(top_keys));
  return load_mapping(L, &top, L->s);
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
    rc = out_of_memory(&L, NULL);
  } else {
    snprintf(L.s->source, sizeof L.s->source, "%s", name);
    rc = load_root(&L, &tree);
  }
  ts_strmap_free(&L.node_names);
  ts_strmap_free(&L.link_names);
  ts_strmap_free(&L.app_names);
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
