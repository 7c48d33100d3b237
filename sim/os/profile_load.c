/* OS profile loader: YAML tree (scenario room) -> ts_os_profile. The first error
 * wins; every function returns 0 or a negative TS_E* code with the diag filled. */
#include <errno.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "scenario_values.h"
#include "scenario_yaml.h"
#include "ts_os_profile_load.h"

#define MAX_ENTRIES 32

typedef struct pl {
  const char *file;
  ts_diag *diag;
  ts_os_profile *p;
} pl;

static int fail(pl *L, const tsy_node *at, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static int fail(pl *L, const tsy_node *at, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  tsy_diag_vset(L->diag, L->file, at ? at->line : 1, at ? at->col : 1, fmt, ap);
  va_end(ap);
  return TS_EPARSE;
}

static bool null_scalar(const tsy_node *n) {
  return n->kind == TSY_SCALAR && n->plain &&
         (n->len == 0 || !strcmp(n->text, "~") || !strcmp(n->text, "null") ||
          !strcmp(n->text, "Null") || !strcmp(n->text, "NULL"));
}

/* What the user wrote, for "found ...": quoted (40 bytes at most, controls escaped). */
static const char *what(const tsy_node *n, char *buf, size_t size) {
  if (n->kind == TSY_MAPPING) return "a mapping";
  if (n->kind == TSY_SEQUENCE) return "a sequence";
  if (null_scalar(n)) return "an empty value";
  size_t o = 0;
  buf[o++] = '\'';
  for (size_t i = 0; i < n->len && o + 8 < size; i++) {
    unsigned char ch = (unsigned char)n->text[i];
    if (i == 40) {
      while (o > 1 && ((unsigned char)buf[o - 1] & 0xc0) == 0x80) o--;
      if (o > 1 && ((unsigned char)buf[o - 1] & 0x80)) o--;
      memcpy(buf + o, "...", 3);
      o += 3;
      break;
    }
    if (ch < 0x20 || ch == 0x7f) o += (size_t)snprintf(buf + o, size - o, "\\x%02x", ch);
    else buf[o++] = (char)ch;
  }
  buf[o++] = '\'';
  buf[o] = '\0';
  return buf;
}

static int found(pl *L, const tsy_node *n, const char *expected) {
  char buf[128];
  return fail(L, n, "found %s, expected %s", what(n, buf, sizeof buf), expected);
}

/* Follows an alias and refuses tags. */
static int resolve(pl *L, const tsy_node *n, const tsy_node **out) {
  const tsy_node *r = n->kind == TSY_ALIAS ? n->target : n;
  if (r->tag) {
    tsy_node at = {.line = r->tag_line, .col = r->tag_col};
    return fail(L, &at, "found tag '%s', expected a value without a tag", r->tag);
  }
  *out = r;
  return 0;
}

static int scalar(pl *L, const tsy_node *n, const char *expected, const tsy_node **out) {
  int rc = resolve(L, n, out);
  if (rc) return rc;
  if ((*out)->kind != TSY_SCALAR || null_scalar(*out) || strlen((*out)->text) != (*out)->len)
    return found(L, *out, expected);
  return 0;
}

/* Levenshtein distance over two rows, case-insensitive; large for long words. */
static size_t distance(const char *a, const char *b) {
  size_t la = strlen(a), lb = strlen(b), row[65], prev;
  if (la > 64 || lb > 64) return SIZE_MAX;
  for (size_t j = 0; j <= lb; j++) row[j] = j;
  for (size_t i = 1; i <= la; i++) {
    prev = row[0];
    row[0] = i;
    for (size_t j = 1; j <= lb; j++) {
      size_t diag = prev + ((a[i - 1] | 32) != (b[j - 1] | 32));
      prev = row[j];
      size_t best = row[j] + 1 < row[j - 1] + 1 ? row[j] + 1 : row[j - 1] + 1;
      row[j] = diag < best ? diag : best;
    }
  }
  return row[lb];
}

/* "a, b, c" and " (did you mean 'x'?)" for a word among names[0..count). */
static void candidates(const char *word, const char *const *names, size_t count, char *list,
                       size_t list_size, char *hint, size_t hint_size) {
  size_t o = 0, best_d = SIZE_MAX, limit = strlen(word) <= 4 ? 1 : 2;
  const char *best = NULL;
  list[0] = hint[0] = '\0';
  for (size_t i = 0; i < count; i++) {
    int n = snprintf(list + o, list_size - o, "%s%s", i ? ", " : "", names[i]);
    if (n > 0 && (size_t)n < list_size - o) o += (size_t)n;
    size_t d = distance(word, names[i]);
    if (d < best_d) {
      best_d = d;
      best = names[i];
    }
  }
  if (best && best_d > 0 && best_d <= limit) snprintf(hint, hint_size, " (did you mean '%s'?)", best);
}

/* A mapping's entries, checked for scalar keys and duplicates. */
typedef struct entries {
  const tsy_node *key[MAX_ENTRIES], *value[MAX_ENTRIES];
  size_t count;
} entries;

static int mapping(pl *L, const tsy_node *n, const char *where, const char *expected, entries *e) {
  const tsy_node *m;
  int rc = resolve(L, n, &m);
  if (rc) return rc;
  if (m->kind != TSY_MAPPING) return found(L, m, expected);
  e->count = 0;
  for (size_t i = 0; i + 1 < m->count; i += 2) {
    const tsy_node *k;
    if ((rc = scalar(L, m->items[i], "a key name", &k))) return rc;
    for (size_t j = 0; j < e->count; j++) {
      if (!strcmp(e->key[j]->text, k->text)) {
        return fail(L, k, "duplicate key '%s' %s (first at %d:%d), expected each key once", k->text,
                    where, e->key[j]->line, e->key[j]->col);
      }
    }
    if (e->count == MAX_ENTRIES) return fail(L, k, "found more than %d keys %s, expected fewer", MAX_ENTRIES, where);
    e->key[e->count] = k;
    e->value[e->count++] = m->items[i + 1];
  }
  return 0;
}

static const tsy_node *get(const entries *e, const char *key, const tsy_node **key_node) {
  for (size_t i = 0; i < e->count; i++) {
    if (!strcmp(e->key[i]->text, key)) {
      if (key_node) *key_node = e->key[i];
      return e->value[i];
    }
  }
  return NULL;
}

/* Every key of e must be one of names[0..count). */
static int known_keys(pl *L, const entries *e, const char *const *names, size_t count,
                      const char *where, const char *what_kind) {
  for (size_t i = 0; i < e->count; i++) {
    bool ok = false;
    for (size_t j = 0; j < count && !ok; j++) ok = !strcmp(names[j], e->key[i]->text);
    if (ok) continue;
    char list[512], hint[96], buf[128];
    candidates(e->key[i]->text, names, count, list, sizeof list, hint, sizeof hint);
    return fail(L, e->key[i], "unknown %s %s %s, expected one of: %s%s", what_kind,
                what(e->key[i], buf, sizeof buf), where, list, hint);
  }
  return 0;
}

static int require(pl *L, const tsy_node *at, const entries *e, const char *key, const char *where,
                   const char *example, const tsy_node **value) {
  *value = get(e, key, NULL);
  if (!*value) return fail(L, at, "missing key '%s' %s, expected e.g. '%s'", key, where, example);
  return 0;
}

static int boolean(pl *L, const tsy_node *n, bool *out) {
  const tsy_node *s;
  int rc = scalar(L, n, "true or false", &s);
  if (rc) return rc;
  if (tsv_parse_bool(s->text, out) != TSV_OK) return found(L, s, "true or false");
  return 0;
}

/* ------------------------------------------------------------------ sections */

static int load_flags(pl *L, const tsy_node *n) {
  entries e;
  const char *names[TS_FLAG_COUNT];
  for (int f = 0; f < TS_FLAG_COUNT; f++) names[f] = ts_vpn_flag_get(f)->name;
  int rc = mapping(L, n, "in flags", "a mapping of flag names to their default (true or false)", &e);
  if (!rc) rc = known_keys(L, &e, names, TS_FLAG_COUNT, "in flags", "flag");
  for (int f = 0; !rc && f < TS_FLAG_COUNT; f++) {
    const tsy_node *v = get(&e, names[f], NULL);
    bool def = false;
    if (v) rc = boolean(L, v, &def);
    if (!rc) ts_os_profile_set_flag(L->p, (ts_vpn_flag)f, v != NULL, def);
  }
  return rc;
}

static int load_api(pl *L, const tsy_node *n) {
  entries e;
  const char *names[TS_API_COUNT];
  for (int a = 0; a < TS_API_COUNT; a++) names[a] = ts_os_api_name(a);
  int rc = mapping(L, n, "in api", "a mapping of API names to absent, available or deprecated", &e);
  if (!rc) rc = known_keys(L, &e, names, TS_API_COUNT, "in api", "API");
  for (int a = 0; !rc && a < TS_API_COUNT; a++) {
    const tsy_node *v;
    rc = require(L, n, &e, names[a], "in api", "NWTCPConnection: available", &v);
    const tsy_node *s = NULL;
    if (!rc) rc = scalar(L, v, "absent, available or deprecated", &s);
    if (rc) break;
    int state = -1;
    for (int k = TS_API_ABSENT; k <= TS_API_DEPRECATED; k++)
      if (!strcmp(s->text, ts_os_api_state_name(k))) state = k;
    if (state < 0) return found(L, s, "absent, available or deprecated");
    ts_os_profile_set_api(L->p, (ts_os_api)a, (ts_os_api_state)state);
  }
  return rc;
}

/* "50MiB", "512KiB", "1048576B". */
static bool parse_size(const char *text, int64_t *out) {
  uint64_t v = 0;
  const char *p = text;
  if (*p < '0' || *p > '9') return false;
  for (; *p >= '0' && *p <= '9'; p++) {
    if (v > (UINT64_MAX - 9) / 10) return false;
    v = v * 10 + (uint64_t)(*p - '0');
  }
  static const struct { const char *unit; int shift; } units[] = {
      {"B", 0}, {"KiB", 10}, {"MiB", 20}, {"GiB", 30}};
  for (size_t i = 0; i < sizeof units / sizeof *units; i++) {
    if (strcmp(p, units[i].unit) != 0) continue;
    if (v > ((uint64_t)INT64_MAX >> units[i].shift)) return false;
    *out = (int64_t)(v << units[i].shift);
    return true;
  }
  return false;
}

static int load_limits(pl *L, const tsy_node *n) {
  entries e;
  const char *names[TS_LIMIT_COUNT];
  for (int l = 0; l < TS_LIMIT_COUNT; l++) names[l] = ts_os_limit_name(l);
  int rc = mapping(L, n, "in limits", "a mapping with provider-memory, start-timeout, stop-timeout", &e);
  if (!rc) rc = known_keys(L, &e, names, TS_LIMIT_COUNT, "in limits", "limit");
  static const char *const examples[TS_LIMIT_COUNT] = {"provider-memory: 50MiB", "start-timeout: 60s",
                                                       "stop-timeout: 20s"};
  for (int l = 0; !rc && l < TS_LIMIT_COUNT; l++) {
    const tsy_node *v, *s;
    rc = require(L, n, &e, names[l], "in limits", examples[l], &v);
    if (rc) break;
    int64_t value = 0;
    if (l == TS_LIMIT_PROVIDER_MEMORY) {
      const char *exp = "a size like '50MiB' (units B, KiB, MiB, GiB)";
      if ((rc = scalar(L, v, exp, &s))) break;
      if (!parse_size(s->text, &value) || value == 0) return found(L, s, exp);
    } else {
      const char *exp = "a duration like '60s', or none";
      if ((rc = scalar(L, v, exp, &s))) break;
      ts_time t = 0;
      if (strcmp(s->text, "none") != 0) {
        if (tsv_parse_duration(s->text, &t) != TSV_OK || t <= 0) return found(L, s, exp);
      }
      value = t;
    }
    ts_os_profile_set_limit(L->p, (ts_os_limit)l, value);
  }
  return rc;
}


static int quirk_value(pl *L, ts_os_quirk q, const tsy_node *v, int *out) {
  const ts_os_quirk_info *info = ts_os_quirk_get(q);
  if (!info->values[0]) {
    bool b = false;
    int rc = boolean(L, v, &b);
    *out = b;
    return rc;
  }
  char expected[256];
  size_t o = (size_t)snprintf(expected, sizeof expected, "one of: ");
  for (int k = 0; k < ts_os_quirk_value_count(q); k++)
    o += (size_t)snprintf(expected + o, sizeof expected - o, "%s%s", k ? ", " : "", info->values[k]);
  const tsy_node *s;
  int rc = scalar(L, v, expected, &s);
  if (rc) return rc;
  for (int k = 0; k < ts_os_quirk_value_count(q); k++) {
    if (!strcmp(s->text, info->values[k])) {
      *out = k;
      return 0;
    }
  }
  return found(L, s, expected);
}

static int load_quirk(pl *L, const tsy_node *item, const tsy_node **seen) {
  static const char *const keys[] = {"name", "value", "source", "note"};
  entries e;
  int rc = mapping(L, item, "in quirk", "a mapping with name, value and source", &e);
  if (!rc) rc = known_keys(L, &e, keys, 4, "in quirk", "key");
  const tsy_node *name_v, *value_v, *source_v, *name_s, *source_s;
  const tsy_node *m = item->kind == TSY_ALIAS ? item->target : item;
  if (!rc) rc = require(L, m, &e, "name", "in quirk", "name: ian-blocks-at-boot", &name_v);
  if (!rc) rc = scalar(L, name_v, "a quirk name", &name_s);
  if (rc) return rc;
  ts_os_quirk q = ts_os_quirk_find(name_s->text);
  if (q == TS_QUIRK_NONE) {
    const char *names[TS_QUIRK_COUNT - 1];
    for (int k = 1; k < TS_QUIRK_COUNT; k++) names[k - 1] = ts_os_quirk_get((ts_os_quirk)k)->name;
    char list[1024], hint[96], buf[128];
    candidates(name_s->text, names, TS_QUIRK_COUNT - 1, list, sizeof list, hint, sizeof hint);
    return fail(L, name_s, "unknown quirk %s, expected one of the %d quirks in docs/model-reference.md%s",
                what(name_s, buf, sizeof buf), TS_QUIRK_COUNT - 1, hint);
  }
  if (seen[q]) {
    return fail(L, name_s, "duplicate quirk '%s' (first at %d:%d), expected each quirk once",
                name_s->text, seen[q]->line, seen[q]->col);
  }
  seen[q] = name_s;
  const ts_os_quirk_info *info = ts_os_quirk_get(q);
  char example[128];
  snprintf(example, sizeof example, "value: %s", ts_os_quirk_value_name(q, info->fallback));
  if ((rc = require(L, m, &e, "value", "in quirk", example, &value_v))) return rc;
  snprintf(example, sizeof example, "source: %s", ts_os_source_key(info->sources[0]));
  if ((rc = require(L, m, &e, "source", "in quirk", example, &source_v))) return rc;
  int value = 0;
  if ((rc = quirk_value(L, q, value_v, &value))) return rc;
  if ((rc = scalar(L, source_v, "a source key of ios-model.md such as A-ROUTE", &source_s))) return rc;
  ts_os_source src = ts_os_source_find(source_s->text);
  char accepted[256];
  size_t o = 0;
  accepted[0] = '\0';
  for (int k = 0; k < TS_OS_QUIRK_MAX_SOURCES && info->sources[k] != TS_SRC_NONE; k++)
    o += (size_t)snprintf(accepted + o, sizeof accepted - o, "%s%s", k ? ", " : "",
                          ts_os_source_key(info->sources[k]));
  if (src == TS_SRC_NONE) {
    char buf[128];
    return fail(L, source_s,
                "unknown source key %s, expected a key of ios-model.md §0.1 (see "
                "docs/model-reference.md), for this quirk one of: %s",
                what(source_s, buf, sizeof buf), accepted);
  }
  if (!ts_os_quirk_accepts_source(q, src)) {
    return fail(L, source_s, "found source '%s' for quirk '%s', expected one of: %s", source_s->text,
                info->name, accepted);
  }
  const tsy_node *note = get(&e, "note", NULL), *note_s;
  if (note && (rc = scalar(L, note, "a note (text)", &note_s))) return rc;
  ts_os_profile_set_quirk(L->p, q, value, src);
  return 0;
}

static int load_quirks(pl *L, const tsy_node *n) {
  const tsy_node *seq;
  int rc = resolve(L, n, &seq);
  if (rc) return rc;
  if (seq->kind != TSY_SEQUENCE) return found(L, seq, "a sequence of quirks (name, value, source)");
  const tsy_node *seen[TS_QUIRK_COUNT] = {0};
  for (size_t i = 0; i < seq->count; i++) {
    if ((rc = load_quirk(L, seq->items[i], seen))) return rc;
  }
  for (int q = 1; q < TS_QUIRK_COUNT; q++) {
    if (!seen[q]) {
      return fail(L, seq, "missing quirk '%s' in quirks, expected every quirk listed with its value "
                          "and source (see docs/model-reference.md)",
                  ts_os_quirk_get((ts_os_quirk)q)->name);
    }
  }
  return 0;
}

static int load_root(pl *L, const tsy_tree *tree) {
  const char *expected = "an OS profile mapping with 'schema: 1'";
  if (!tree->root) return fail(L, NULL, "empty file, expected %s", expected);
  const tsy_node *root;
  int rc = resolve(L, tree->root, &root);
  if (rc) return rc;
  if (root->kind != TSY_MAPPING || null_scalar(root)) {
    char buf[128];
    return fail(L, root, "found %s at the top level, expected %s", what(root, buf, sizeof buf), expected);
  }
  static const char *const keys[] = {"schema", "name", "os", "version", "description",
                                     "flags", "api", "limits", "quirks"};
  entries e;
  if ((rc = mapping(L, root, "at the top level", expected, &e))) return rc;
  if ((rc = known_keys(L, &e, keys, sizeof keys / sizeof *keys, "at the top level", "key"))) return rc;
  const tsy_node *v, *s;
  if ((rc = require(L, root, &e, "schema", "at the top level", "schema: 1", &v))) return rc;
  if ((rc = scalar(L, v, "schema 1", &s))) return rc;
  if (strcmp(s->text, "1") != 0) return found(L, s, "schema 1 (the profile format this tunnelsim reads)");
  if ((rc = require(L, root, &e, "name", "at the top level", "name: ios-17.4", &v))) return rc;
  if ((rc = scalar(L, v, "a profile name like 'ios-17.4'", &s))) return rc;
  if (!tsv_is_name(s->text, true) || s->len >= TS_OS_PROFILE_NAME_MAX)
    return found(L, s, "a profile name like 'ios-17.4' (letters, digits, '-', '_', '.')");
  ts_os_profile *p;
  if ((rc = ts_os_profile_create(&p, s->text))) return fail(L, s, "out of memory while loading the profile"), rc;
  L->p = p;
  if ((rc = require(L, root, &e, "os", "at the top level", "os: ios", &v))) return rc;
  if ((rc = scalar(L, v, "'ios'", &s))) return rc;
  if (strcmp(s->text, "ios") != 0) return found(L, s, "'ios' (the only OS modelled so far)");
  if ((rc = require(L, root, &e, "version", "at the top level", "version: \"17.4\"", &v))) return rc;
  const char *vexp = "an iOS version like '17.4'";
  if ((rc = scalar(L, v, vexp, &s))) return rc;
  unsigned major = 0, minor = 0;
  int used = 0;
  if (sscanf(s->text, "%3u.%3u%n", &major, &minor, &used) != 2 || (size_t)used != s->len ||
      s->text[0] < '0' || s->text[0] > '9')
    return found(L, s, vexp);
  ts_os_profile_set_version(p, (int)major, (int)minor);
  const tsy_node *d = get(&e, "description", NULL);
  if (d && (rc = scalar(L, d, "a description (text)", &s))) return rc;
  if ((rc = require(L, root, &e, "flags", "at the top level", "flags: {includeAllNetworks: false}", &v))) return rc;
  if ((rc = load_flags(L, v))) return rc;
  if ((rc = require(L, root, &e, "api", "at the top level", "api: {NWTCPConnection: available}", &v))) return rc;
  if ((rc = load_api(L, v))) return rc;
  if ((rc = require(L, root, &e, "limits", "at the top level", "limits: {provider-memory: 50MiB}", &v))) return rc;
  if ((rc = load_limits(L, v))) return rc;
  if ((rc = require(L, root, &e, "quirks", "at the top level", "quirks: [...]", &v))) return rc;
  return load_quirks(L, v);
}

int ts_os_profile_load_buffer(const char *name, const void *buf, size_t len, ts_os_profile **out,
                              ts_diag *diag) {
  if (out) *out = NULL;
  if (!name) name = "<buffer>";
  if (diag) memset(diag, 0, sizeof *diag);
  if (!out || (!buf && len)) {
    tsy_diag_set(diag, name, 0, 0, "invalid arguments to the profile loader");
    return TS_EINVAL;
  }
  if (len > TS_OS_PROFILE_MAX_BYTES) {
    tsy_diag_set(diag, name, 0, 0, "file larger than %zu bytes, expected a hand-written profile",
                 TS_OS_PROFILE_MAX_BYTES);
    return TS_EPARSE;
  }
  tsy_tree tree;
  int rc = tsy_tree_load(&tree, name, buf ? buf : "", len, diag);
  if (rc) return rc;
  pl L = {.file = name, .diag = diag};
  rc = load_root(&L, &tree);
  tsy_tree_free(&tree);
  if (rc) {
    ts_os_profile_destroy(L.p);
    return rc;
  }
  *out = L.p;
  return 0;
}

int ts_os_profile_load_file(const char *path, ts_os_profile **out, ts_diag *diag) {
  if (out) *out = NULL;
  if (diag) memset(diag, 0, sizeof *diag);
  if (!path || !out) {
    tsy_diag_set(diag, path ? path : "<null>", 0, 0, "invalid arguments to the profile loader");
    return TS_EINVAL;
  }
  FILE *f = fopen(path, "rb");
  if (!f) {
    tsy_diag_set(diag, path, 0, 0, "cannot open file: %s", strerror(errno));
    return TS_EIO;
  }
  char *data = malloc(TS_OS_PROFILE_MAX_BYTES + 1);
  if (!data) {
    fclose(f);
    tsy_diag_set(diag, path, 0, 0, "out of memory while reading the file");
    return TS_ENOMEM;
  }
  size_t n = fread(data, 1, TS_OS_PROFILE_MAX_BYTES + 1, f);
  bool bad = ferror(f) != 0;
  fclose(f);
  int rc;
  if (bad) {
    tsy_diag_set(diag, path, 0, 0, "cannot read file");
    rc = TS_EIO;
  } else {
    rc = ts_os_profile_load_buffer(path, data, n, out, diag);
  }
  free(data);
  return rc;
}
