/* The schema machinery (see scenario_schema.h): messages, node access, the generic
 * mapping check, and parsers of value types shared by every section. */
#include "scenario_schema.h"

#include <ctype.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ------------------------------------------------------------------ messages */

int sc_fail(loader *L, const tsy_node *at, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  tsy_diag_vset(L->diag, L->file, at ? at->line : 1, at ? at->col : 1, fmt, ap);
  va_end(ap);
  return TS_EPARSE;
}

int sc_out_of_memory(loader *L, const tsy_node *at) {
  sc_fail(L, at, "out of memory while loading the scenario");
  return TS_ENOMEM;
}

bool sc_is_null(const tsy_node *n) {
  if (n->kind != TSY_SCALAR || !n->plain) return false;
  return n->len == 0 || strcmp(n->text, "~") == 0 || strcmp(n->text, "null") == 0 ||
         strcmp(n->text, "Null") == 0 || strcmp(n->text, "NULL") == 0;
}

/* Quotes user text for a message: at most 40 bytes, control bytes escaped, never
 * cutting a UTF-8 character in half. */
const char *sc_quote(const char *text, size_t len, char *buf, size_t size) {
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
const char *sc_describe(const tsy_node *n, char *buf, size_t size) {
  if (n->kind == TSY_MAPPING) return "a mapping";
  if (n->kind == TSY_SEQUENCE) return "a sequence";
  if (sc_is_null(n)) return "an empty value";
  return sc_quote(n->text, n->len, buf, size);
}


int sc_fail_found(loader *L, const tsy_node *n, const char *expected) {
  char buf[FOUND_BUF];
  return sc_fail(L, n, "found %s, expected %s", sc_describe(n, buf, sizeof buf), expected);
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

/* Writes " (did you mean 'x'?)" into buf when one candidate is close, else "". */
const char *sc_did_you_mean(const loader *L, const char *word, name_at_fn name_at,
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
const char *sc_name_list(const loader *L, name_at_fn name_at, const void *ctx, size_t count,
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

const char *sc_spec_key_at(const loader *L, const void *ctx, size_t i) {
  (void)L;
  return ((const key_spec *)ctx)[i].key;
}
const char *sc_node_name_at(const loader *L, const void *ctx, size_t i) {
  (void)ctx;
  return L->s->nodes[i].name;
}
const char *sc_iface_name_at(const loader *L, const void *ctx, size_t i) {
  (void)L;
  return ((const ts_scenario_node *)ctx)->interfaces[i].name;
}
const char *sc_link_name_at(const loader *L, const void *ctx, size_t i) {
  (void)ctx;
  return L->s->links[i].name;
}

/* ------------------------------------------------------------ node access */

/* Every value goes through here: follows aliases, refuses tags, and spends the
 * visit budget. *out is the node to read. */
int sc_visit(loader *L, const tsy_node *n, const tsy_node **out) {
  *out = n;
  if (L->budget == 0) {
    return sc_fail(L, n, "found more than %u values (after expanding aliases), expected a "
                      "scenario of reasonable size",
                VISIT_BUDGET);
  }
  L->budget--;
  const tsy_node *resolved = n->kind == TSY_ALIAS ? n->target : n;
  if (resolved->tag) {
    char buf[FOUND_BUF];
    tsy_node at = {.line = resolved->tag_line, .col = resolved->tag_col};
    return sc_fail(L, &at, "found tag %s, expected a value without a tag",
                sc_quote(resolved->tag, strlen(resolved->tag), buf, sizeof buf));
  }
  *out = resolved;
  return 0;
}

/* The text of a scalar value, or an error "found ..., expected <expected>". */
int sc_scalar_text(loader *L, const tsy_node *value, const char *expected, const char **text,
                       const tsy_node **at) {
  const tsy_node *n;
  int rc = sc_visit(L, value, &n);
  if (rc) return rc;
  if (n->kind != TSY_SCALAR || sc_is_null(n)) return sc_fail_found(L, n, expected);
  if (strlen(n->text) != n->len) {
    return sc_fail(L, n, "found a string containing a NUL character, expected %s", expected);
  }
  *text = n->text;
  *at = n;
  return 0;
}

/* A sequence value; an empty value counts as an empty sequence when allow_empty. */
int sc_sequence_value(loader *L, const tsy_node *value, const char *expected,
                          bool allow_empty, const tsy_node **seq) {
  const tsy_node *n;
  int rc = sc_visit(L, value, &n);
  if (rc) return rc;
  if (allow_empty && sc_is_null(n)) {
    *seq = NULL;
    return 0;
  }
  if (n->kind != TSY_SEQUENCE) return sc_fail_found(L, n, expected);
  if (!allow_empty && n->count == 0) return sc_fail(L, n, "found an empty sequence, expected %s", expected);
  *seq = n;
  return 0;
}

void *sc_field(void *obj, const key_spec *spec) { return (char *)obj + spec->offset; }

/* ------------------------------------------------------------ generic mapping */

size_t sc_find_spec(const mapping *m, const char *key) {
  for (size_t i = 0; i < m->spec_count; i++) {
    if (strcmp(m->specs[i].key, key) == 0) return i;
  }
  return SIZE_MAX;
}

static int unknown_key(loader *L, const mapping *m, const tsy_node *key) {
  char keys[400], hint[96], buf[FOUND_BUF];
  sc_name_list(L, sc_spec_key_at, m->specs, m->spec_count, MAX_KEYS, keys, sizeof keys);
  if (strcmp(key->text, "<<") == 0) {
    snprintf(hint, sizeof hint, " (YAML merge keys are not supported)");
  } else {
    sc_did_you_mean(L, key->text, sc_spec_key_at, m->specs, m->spec_count, hint, sizeof hint);
  }
  return sc_fail(L, key, "unknown key %s %s, expected one of: %s%s",
              sc_quote(key->text, key->len, buf, sizeof buf), m->where, keys, hint);
}

/* Pass 1: every key is a known, unique scalar. Values are only remembered. */
static int collect_keys(loader *L, mapping *m) {
  char buf[FOUND_BUF];
  for (size_t i = 0; i + 1 < m->node->count; i += 2) {
    const tsy_node *key;
    int rc = sc_visit(L, m->node->items[i], &key);
    if (rc) return rc;
    if (key->kind != TSY_SCALAR || sc_is_null(key)) {
      return sc_fail(L, key, "found %s as a key %s, expected a key name like '%s'",
                  sc_describe(key, buf, sizeof buf), m->where, m->specs[0].key);
    }
    size_t row = strlen(key->text) == key->len ? sc_find_spec(m, key->text) : SIZE_MAX;
    if (row == SIZE_MAX) return unknown_key(L, m, key);
    if (m->keys[row]) {
      return sc_fail(L, key, "duplicate key '%s' %s (first at %d:%d), expected each key once",
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
  return sc_fail(L, m->keys[row], "found key '%s' %s of type %s, expected only keys that apply to %s: %s",
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
      return sc_fail(L, m->node, "missing key '%s' %s of type %s, expected e.g. '%s'", spec->key,
                  m->label, m->variant_name, spec->example);
    }
    return sc_fail(L, m->node, "missing key '%s' %s, expected e.g. '%s'", spec->key, m->label,
                spec->example);
  }
  return 0;
}

/* what: "link", with index its position in its list (0-based); NULL for the top. */
void sc_mapping_init(mapping *m, const tsy_node *node, const char *what, size_t index,
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

int sc_load_mapping(loader *L, mapping *m, void *obj) {
  int rc = collect_keys(L, m);
  if (!rc) rc = parse_values(L, m, obj);
  if (!rc) rc = check_required(L, m);
  return rc;
}

/* A list item that must be a mapping. */
int sc_item_mapping(loader *L, const tsy_node *item, const char *expected,
                        const tsy_node **out) {
  int rc = sc_visit(L, item, out);
  if (rc) return rc;
  if ((*out)->kind != TSY_MAPPING) return sc_fail_found(L, *out, expected);
  return 0;
}

int sc_load_mapping_list(loader *L, const tsy_node *seq, const sc_list *list, void *items,
                         size_t *count) {
  for (size_t i = 0; i < seq->count; i++) {
    const tsy_node *item;
    int rc = sc_item_mapping(L, seq->items[i], list->expected, &item);
    if (rc) return rc;
    void *obj = (char *)items + *count * list->size;
    if (list->init && (rc = list->init(L, item, obj, *count))) return rc;
    (*count)++;
    mapping m;
    sc_mapping_init(&m, item, list->what, i, list->specs, list->spec_count);
    rc = sc_load_mapping(L, &m, obj);
    if (!rc && list->check) rc = list->check(L, &m, obj, i);
    if (rc) return rc;
  }
  return 0;
}

ts_srcpos sc_pos_of(const tsy_node *n) { return (ts_srcpos){n->line, n->col}; }

/* ------------------------------------------------------------ value parsers */

int sc_parse_name_text(loader *L, const tsy_node *value, mapping *m, bool allow_dot,
                           char *dst, const tsy_node **at) {
  const char *expected = allow_dot ? "a name of letters, digits, '_', '-' and '.'"
                                   : "a name of letters, digits, '_' and '-'";
  const char *text;
  int rc = sc_scalar_text(L, value, expected, &text, at);
  if (rc) return rc;
  if (!tsv_is_name(text, allow_dot)) return sc_fail_found(L, *at, expected);
  if (strlen(text) >= TS_SCENARIO_NAME_MAX) {
    return sc_fail(L, *at, "found a name of %zu characters, expected at most %d", strlen(text),
                TS_SCENARIO_NAME_MAX - 1);
  }
  strcpy(dst, text);
  /* From now on messages about this mapping can say which one it is. */
  if (m->what) snprintf(m->label, sizeof m->label, "in %s '%s'", m->what, text);
  return 0;
}

/* Name that must be unique within `names`; the map value is the index. */
int sc_parse_unique_name(loader *L, const tsy_node *value, mapping *m, bool allow_dot,
                             char *dst, ts_strmap *names, size_t index, const char *kind,
                             const ts_srcpos *(*pos_at)(const loader *, size_t)) {
  const tsy_node *at;
  int rc = sc_parse_name_text(L, value, m, allow_dot, dst, &at);
  if (rc) return rc;
  size_t first;
  if (ts_strmap_get(names, dst, &first)) {
    const ts_srcpos *p = pos_at(L, first);
    return sc_fail(L, at, "duplicate %s name '%s' (first defined at %d:%d), expected unique %s names",
                kind, dst, p->line, p->col, kind);
  }
  if (ts_strmap_put(names, dst, index)) return sc_out_of_memory(L, at);
  return 0;
}

int sc_parse_scenario_name(loader *L, const tsy_node *value, const key_spec *spec, mapping *m,
                               void *obj) {
  const tsy_node *at;
  return sc_parse_name_text(L, value, m, true, sc_field(obj, spec), &at);
}

int sc_parse_text(loader *L, const tsy_node *value, const key_spec *spec, mapping *m,
                      void *obj) {
  (void)m;
  const tsy_node *at;
  const char *text;
  int rc = sc_scalar_text(L, value, "a text", &text, &at);
  if (rc) return rc;
  char **dst = sc_field(obj, spec);
  free(*dst);
  *dst = strdup(text);
  return *dst ? 0 : sc_out_of_memory(L, at);
}

int sc_parse_version(loader *L, const tsy_node *value, const key_spec *spec, mapping *m,
                         void *obj) {
  (void)m;
  const char *expected = "version 1 (the scenario format this tunnelsim reads)";
  const tsy_node *at;
  const char *text;
  int rc = sc_scalar_text(L, value, expected, &text, &at);
  if (rc) return rc;
  uint64_t version;
  if (tsv_parse_uint(text, &version) != TSV_OK || version != TS_SCENARIO_VERSION)
    return sc_fail_found(L, at, expected);
  *(int *)sc_field(obj, spec) = TS_SCENARIO_VERSION;
  return 0;
}

static const char *duration_units_text = "ns, us, ms, s, m, h";

static int duration_error(loader *L, const tsy_node *at, tsv_status st) {
  char buf[FOUND_BUF];
  const char *found = sc_describe(at, buf, sizeof buf);
  switch (st) {
    case TSV_NO_UNIT:
      return sc_fail(L, at, "found %s without a unit, expected a duration like 5ms (add a unit: %s)",
                  found, duration_units_text);
    case TSV_NEGATIVE:
      return sc_fail(L, at, "found %s, expected a duration that is not negative", found);
    case TSV_OVERFLOW:
      return sc_fail(L, at, "found %s, expected a duration below 292 years", found);
    case TSV_INEXACT:
      return sc_fail(L, at, "found %s, expected a duration in whole nanoseconds", found);
    default:
      return sc_fail(L, at, "found %s, expected a duration like 5ms (units: %s)", found,
                  duration_units_text);
  }
}

int sc_read_duration(loader *L, const tsy_node *value, const key_spec *spec, ts_time *out,
                         const tsy_node **at) {
  const char *text;
  int rc = sc_scalar_text(L, value, "a duration like 5ms", &text, at);
  if (rc) return rc;
  tsv_status st = tsv_parse_duration(text, out);
  if (st != TSV_OK) return duration_error(L, *at, st);
  if (*out < spec->min || *out > spec->max) {
    char lo[32], hi[32], buf[FOUND_BUF];
    ts_format_duration(spec->min, lo, sizeof lo);
    if (spec->max == INT64_MAX) {
      return sc_fail(L, *at, "found %s, expected a duration of at least %s for %s",
                  sc_describe(*at, buf, sizeof buf), lo, spec->key);
    }
    ts_format_duration(spec->max, hi, sizeof hi);
    return sc_fail(L, *at, "found %s, expected a duration from %s to %s for %s",
                sc_describe(*at, buf, sizeof buf), lo, hi, spec->key);
  }
  return 0;
}

int sc_parse_duration(loader *L, const tsy_node *value, const key_spec *spec, mapping *m,
                          void *obj) {
  (void)m;
  const tsy_node *at;
  return sc_read_duration(L, value, spec, sc_field(obj, spec), &at);
}

int sc_parse_rate(loader *L, const tsy_node *value, const key_spec *spec, mapping *m,
                      void *obj) {
  (void)m;
  const char *units = "bps, kbps, Mbps, Gbps";
  const tsy_node *at;
  const char *text;
  int rc = sc_scalar_text(L, value, "a rate like 10Mbps", &text, &at);
  if (rc) return rc;
  char buf[FOUND_BUF];
  const char *found = sc_describe(at, buf, sizeof buf);
  switch (tsv_parse_rate(text, sc_field(obj, spec))) {
    case TSV_OK: return 0;
    case TSV_NO_UNIT:
      return sc_fail(L, at, "found %s without a unit, expected a rate like 10Mbps (add a unit: %s)",
                  found, units);
    case TSV_NEGATIVE: return sc_fail(L, at, "found %s, expected a rate that is not negative", found);
    case TSV_OVERFLOW: return sc_fail(L, at, "found %s, expected a rate below 18446744073Gbps", found);
    case TSV_INEXACT: return sc_fail(L, at, "found %s, expected a rate in whole bits per second", found);
    default: return sc_fail(L, at, "found %s, expected a rate like 10Mbps (units: %s)", found, units);
  }
}

int sc_parse_probability(loader *L, const tsy_node *value, const key_spec *spec, mapping *m,
                             void *obj) {
  (void)m;
  const char *expected = "a probability from 0 to 1 like 0.01";
  const tsy_node *at;
  const char *text;
  int rc = sc_scalar_text(L, value, expected, &text, &at);
  if (rc) return rc;
  tsv_status st = tsv_parse_probability(text, sc_field(obj, spec));
  if (st == TSV_INEXACT)
    return sc_fail(L, at, "found %s, expected a probability with at most 15 decimals",
                sc_describe(at, (char[FOUND_BUF]){0}, FOUND_BUF));
  return st == TSV_OK ? 0 : sc_fail_found(L, at, expected);
}

int sc_read_uint(loader *L, const tsy_node *value, const key_spec *spec, uint64_t *out) {
  char expected[96];
  snprintf(expected, sizeof expected, "an integer from %lld to %lld", (long long)spec->min,
           (long long)spec->max);
  const tsy_node *at;
  const char *text;
  int rc = sc_scalar_text(L, value, expected, &text, &at);
  if (rc) return rc;
  if (tsv_parse_uint(text, out) != TSV_OK || *out < (uint64_t)spec->min ||
      *out > (uint64_t)spec->max)
    return sc_fail_found(L, at, expected);
  return 0;
}

int sc_parse_u32(loader *L, const tsy_node *value, const key_spec *spec, mapping *m,
                     void *obj) {
  (void)m;
  uint64_t v;
  int rc = sc_read_uint(L, value, spec, &v);
  if (!rc) *(uint32_t *)sc_field(obj, spec) = (uint32_t)v;
  return rc;
}

int sc_parse_u16(loader *L, const tsy_node *value, const key_spec *spec, mapping *m,
                     void *obj) {
  (void)m;
  uint64_t v;
  int rc = sc_read_uint(L, value, spec, &v);
  if (!rc) *(uint16_t *)sc_field(obj, spec) = (uint16_t)v;
  return rc;
}

int sc_parse_bool(loader *L, const tsy_node *value, const key_spec *spec, mapping *m,
                      void *obj) {
  (void)m;
  const tsy_node *at;
  const char *text;
  int rc = sc_scalar_text(L, value, "true or false", &text, &at);
  if (rc) return rc;
  return tsv_parse_bool(text, sc_field(obj, spec)) == TSV_OK ? 0 : sc_fail_found(L, at, "true or false");
}

/* Addresses that parse but break a rule of where they are used. */
static int address_error(loader *L, const tsy_node *at, tsv_status st, const ts_ipprefix *a) {
  char buf[FOUND_BUF];
  const char *found = sc_describe(at, buf, sizeof buf);
  bool v6 = a->addr.family == 6;
  switch (st) {
    case TSV_NO_PREFIX:
      return sc_fail(L, at, "found %s without a prefix length, expected an address like %s", found,
                  v6 ? "fd00::1/64" : "10.0.0.1/24");
    case TSV_HAS_PREFIX:
      return sc_fail(L, at, "found %s with a prefix length, expected a plain address like %s", found,
                  v6 ? "fd00::2" : "10.0.0.2");
    default:
      return sc_fail(L, at, "found %s, expected a prefix length from 0 to %d", found, v6 ? 128 : 32);
  }
}

int sc_read_address(loader *L, const tsy_node *value, bool with_prefix, ts_ipprefix *out) {
  const tsy_node *at;
  const char *text;
  const char *expected = with_prefix ? "an IPv4 or IPv6 address like 10.0.0.1/24 or fd00::1/64"
                                     : "an IPv4 or IPv6 address like 10.0.0.2 or fd00::2";
  int rc = sc_scalar_text(L, value, expected, &text, &at);
  if (rc) return rc;
  tsv_status st = tsv_parse_address(text, with_prefix, out);
  if (st == TSV_SYNTAX) return sc_fail_found(L, at, expected);
  return st == TSV_OK ? 0 : address_error(L, at, st, out);
}


/* Looks up a node by name, or explains which names exist. */
int sc_resolve_node(loader *L, const tsy_node *at, const char *context, const char *name,
                        size_t *index) {
  if (ts_strmap_get(&L->node_names, name, index)) return 0;
  char names[300], hint[96];
  sc_name_list(L, sc_node_name_at, NULL, L->s->node_count, 8, names, sizeof names);
  sc_did_you_mean(L, name, sc_node_name_at, NULL, L->s->node_count, hint, sizeof hint);
  return sc_fail(L, at, "%s: no node '%s', expected one of: %s%s", context, name, names, hint);
}

/* Finds `text` in a table of names; SIZE_MAX when absent. */
size_t sc_find_word(const char *const *words, size_t count, const char *text) {
  for (size_t i = 0; i < count; i++) {
    if (strcmp(words[i], text) == 0) return i;
  }
  return SIZE_MAX;
}

const char *sc_word_at(const loader *L, const void *ctx, size_t i) {
  (void)L;
  return ((const char *const *)ctx)[i];
}

/* A value that must be one word of a table: app types, actions. */
int sc_read_word(loader *L, const tsy_node *value, const char *const *words, size_t count,
                     size_t *index) {
  char list[200], hint[96], expected[300];
  sc_name_list(L, sc_word_at, words, count, count, list, sizeof list);
  snprintf(expected, sizeof expected, "one of: %s", list);
  const tsy_node *at;
  const char *text;
  int rc = sc_scalar_text(L, value, expected, &text, &at);
  if (rc) return rc;
  *index = sc_find_word(words, count, text);
  if (*index != SIZE_MAX) return 0;
  char buf[FOUND_BUF];
  sc_did_you_mean(L, text, sc_word_at, words, count, hint, sizeof hint);
  return sc_fail(L, at, "found %s, expected %s%s", sc_describe(at, buf, sizeof buf), expected, hint);
}
