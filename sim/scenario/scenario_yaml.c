#include "scenario_yaml.h"

#include <libfyaml.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "scenario_strmap.h"

/* A message cut to fit its buffer must not end in half a UTF-8 character. */
static void trim_partial_utf8(char *s) {
  size_t end = strlen(s), lead = end;
  while (lead > 0 && ((unsigned char)s[lead - 1] & 0xc0) == 0x80) lead--;
  if (lead == 0) return;
  unsigned char c = (unsigned char)s[lead - 1];
  size_t need = c >= 0xf0 ? 4 : c >= 0xe0 ? 3 : c >= 0xc0 ? 2 : 1;
  if (end - (lead - 1) < need) s[lead - 1] = '\0';
}

void tsy_diag_vset(ts_diag *diag, const char *file, int line, int col, const char *fmt,
                   va_list ap) {
  if (!diag) return;
  snprintf(diag->file, sizeof diag->file, "%s", file ? file : "<buffer>");
  trim_partial_utf8(diag->file);
  diag->line = line;
  diag->col = col;
  vsnprintf(diag->message, sizeof diag->message, fmt, ap);
  trim_partial_utf8(diag->message);
}

void tsy_diag_set(ts_diag *diag, const char *file, int line, int col, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  tsy_diag_vset(diag, file, line, col, fmt, ap);
  va_end(ap);
}

/* ---- byte-level checks, before libfyaml sees the input ---- */

/* Length of the UTF-8 sequence starting at p (at most n bytes), or 0 when it is not
 * well-formed (overlong forms, surrogates and code points above U+10FFFF included). */
static size_t utf8_sequence_length(const unsigned char *p, size_t n) {
  unsigned char c = p[0];
  if (c < 0x80) return 1;
  size_t len;
  uint32_t cp, min;
  if (c >= 0xc2 && c <= 0xdf) { len = 2; cp = c & 0x1f; min = 0x80; }
  else if (c >= 0xe0 && c <= 0xef) { len = 3; cp = c & 0x0f; min = 0x800; }
  else if (c >= 0xf0 && c <= 0xf4) { len = 4; cp = c & 0x07; min = 0x10000; }
  else return 0;
  if (n < len) return 0;
  for (size_t i = 1; i < len; i++) {
    if ((p[i] & 0xc0) != 0x80) return 0;
    cp = (cp << 6) | (p[i] & 0x3f);
  }
  if (cp < min || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff)) return 0;
  return len;
}

/* Line and column (1-based) of byte `at`, counting characters like the parser:
 * UTF-8 continuation bytes do not advance the column. */
static void position_of(const unsigned char *buf, size_t at, int *line, int *col) {
  *line = 1;
  *col = 1;
  for (size_t i = 0; i < at; i++) {
    if (buf[i] == '\n') { (*line)++; *col = 1; }
    else if ((buf[i] & 0xc0) != 0x80) (*col)++;
  }
}

/* A NUL byte means a binary file (or UTF-16); invalid UTF-8 means another
 * encoding. Say so at the exact place instead of letting the parser produce a
 * confusing message. NULs are looked for first: a binary file is reported as
 * binary, whatever its first bytes look like. */
static int check_text_bytes(const char *name, const unsigned char *buf, size_t len,
                            ts_diag *diag) {
  int line, col;
  const unsigned char *nul = memchr(buf, 0, len);
  if (nul) {
    position_of(buf, (size_t)(nul - buf), &line, &col);
    tsy_diag_set(diag, name, line, col,
                 "found a NUL byte (is this a binary file?), expected a UTF-8 YAML text file");
    return TS_EPARSE;
  }
  for (size_t i = 0; i < len;) {
    size_t step = utf8_sequence_length(buf + i, len - i);
    if (step == 0) {
      position_of(buf, i, &line, &col);
      tsy_diag_set(diag, name, line, col,
                   "found byte 0x%02x that is not valid UTF-8, expected a UTF-8 YAML text file",
                   buf[i]);
      return TS_EPARSE;
    }
    i += step;
  }
  return 0;
}

/* ---- building the tree from parser events ---- */

typedef struct builder {
  tsy_tree *tree;
  const char *name;
  ts_diag *diag;
  struct fy_parser *parser;
  const char *input;         /* the bytes being parsed, for decoding scalars */
  size_t input_len;
  tsy_node **stack;          /* open collections, innermost last */
  size_t depth, stack_capacity;
  ts_strmap anchors;         /* anchor name -> tsy_node*, only completed nodes */
  int documents;
  int last_line, last_col;   /* position of the latest event that had one */
} builder;

static void noop_output(struct fy_diag *diag, void *user, const char *buf, size_t len) {
  (void)diag; (void)user; (void)buf; (void)len;
}

static int fail(builder *b, int line, int col, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
static int fail(builder *b, int line, int col, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  tsy_diag_vset(b->diag, b->name, line, col, fmt, ap);
  va_end(ap);
  return TS_EPARSE;
}

static int out_of_memory(builder *b) {
  tsy_diag_set(b->diag, b->name, b->last_line, b->last_col, "out of memory while reading");
  return TS_ENOMEM;
}

static char *copy_text(const char *text, size_t len) {
  char *copy = malloc(len + 1);
  if (!copy) return NULL;
  if (len) memcpy(copy, text, len);
  copy[len] = '\0';
  return copy;
}

/* Copies a token's text; *len gets its length. NULL token gives NULL. */
static int copy_token(struct fy_token *token, char **out, size_t *len) {
  *out = NULL;
  if (len) *len = 0;
  if (!token) return 0;
  size_t n = 0;
  const char *text = fy_token_get_text(token, &n);
  if (!text) { text = ""; n = 0; }
  *out = copy_text(text, n);
  if (!*out) return TS_ENOMEM;
  if (len) *len = n;
  return 0;
}

static void note_position(builder *b, struct fy_event *event) {
  const struct fy_mark *mark = fy_event_start_mark(event);
  if (!mark) return;
  b->last_line = mark->line + 1;
  b->last_col = mark->column + 1;
}

static tsy_node *new_node(builder *b, tsy_kind kind) {
  tsy_node *n = calloc(1, sizeof *n);
  if (!n) return NULL;
  n->kind = kind;
  n->line = b->last_line;
  n->col = b->last_col;
  n->next = b->tree->all;
  b->tree->all = n;
  return n;
}

static int append_item(tsy_node *parent, tsy_node *child) {
  if (parent->count == parent->capacity) {
    size_t capacity = parent->capacity ? parent->capacity * 2 : 8;
    tsy_node **items = realloc(parent->items, capacity * sizeof *items);
    if (!items) return TS_ENOMEM;
    parent->items = items;
    parent->capacity = capacity;
  }
  parent->items[parent->count++] = child;
  return 0;
}

static int attach(builder *b, tsy_node *n) {
  if (b->depth == 0) {
    b->tree->root = n;
    return 0;
  }
  return append_item(b->stack[b->depth - 1], n) ? out_of_memory(b) : 0;
}

static int push(builder *b, tsy_node *n) {
  if (b->depth == b->stack_capacity) {
    size_t capacity = b->stack_capacity ? b->stack_capacity * 2 : 16;
    tsy_node **stack = realloc(b->stack, capacity * sizeof *stack);
    if (!stack) return out_of_memory(b);
    b->stack = stack;
    b->stack_capacity = capacity;
  }
  b->stack[b->depth++] = n;
  return 0;
}

static int register_anchor(builder *b, tsy_node *n) {
  if (!n->anchor) return 0;
  if (ts_strmap_put(&b->anchors, n->anchor, (size_t)(uintptr_t)n)) return out_of_memory(b);
  return 0;
}

/* The tag as written ("!!int", "!fast"), not resolved to its full URI, and where. */
static int take_tag(builder *b, tsy_node *n, struct fy_token *tag) {
  if (!tag) return 0;
  size_t handle_len = 0, suffix_len = 0;
  const char *handle = fy_tag_token_handle(tag, &handle_len);
  const char *suffix = fy_tag_token_suffix(tag, &suffix_len);
  if (!handle) handle_len = 0;
  if (!suffix) suffix_len = 0;
  n->tag = malloc(handle_len + suffix_len + 2);
  if (!n->tag) return out_of_memory(b);
  if (handle_len) memcpy(n->tag, handle, handle_len);
  if (suffix_len) memcpy(n->tag + handle_len, suffix, suffix_len);
  n->tag[handle_len + suffix_len] = '\0';
  if (handle_len + suffix_len == 0) strcpy(n->tag, "!");
  const struct fy_mark *mark = fy_token_start_mark(tag);
  n->tag_line = mark ? mark->line + 1 : n->line;
  n->tag_col = mark ? mark->column + 1 : n->col;
  return 0;
}

/* Anchor and tag are shared by scalars and collection starts. */
static int take_properties(builder *b, tsy_node *n, struct fy_event *event) {
  if (copy_token(fy_event_get_anchor_token(event), &n->anchor, NULL)) return out_of_memory(b);
  return take_tag(b, n, fy_event_get_tag_token(event));
}

static bool is_blank(char c) { return c == ' ' || c == '\t'; }

/* Appends s[from, to) to out at o, turning each '' into '. Returns the new o. */
static size_t append_unescaped(char *out, size_t o, const char *s, size_t from, size_t to) {
  for (size_t j = from; j < to; j++) {
    out[o++] = s[j];
    if (s[j] == '\'' && j + 1 < to && s[j + 1] == '\'') j++;
  }
  return o;
}

/* Decodes the content of a single-quoted scalar (between its quotes) by YAML's
 * flow folding: lines lose surrounding blanks, one line break becomes a space,
 * and k empty lines become k line feeds.
 *
 * Why not libfyaml's text: 0.7.12 decodes runs of escaped quotes (four quotes in
 * a row) with extra quotes, and leaks its chunk buffer doing so (libfyaml issue
 * #233, fixed after 0.7.12; found by our fuzz target). This style has a single
 * escape, so decoding it here is simple and exact. */
static char *decode_single_quoted(const char *s, size_t n, size_t *out_len) {
  char *out = malloc(n + 1);
  if (!out) return NULL;
  size_t o = 0, empty_lines = 0, i = 0;
  for (bool first = true;; first = false) {
    size_t end = i;
    while (end < n && s[end] != '\n' && s[end] != '\r') end++;
    bool last = end >= n;
    size_t a = i, z = end;
    if (!first)
      while (a < z && is_blank(s[a])) a++;
    if (!last)
      while (z > a && is_blank(s[z - 1])) z--;
    if (first) {
      o = append_unescaped(out, o, s, a, z);
    } else if (a == z && !last) {
      empty_lines++;
    } else {
      if (empty_lines == 0) out[o++] = ' ';
      for (; empty_lines > 0; empty_lines--) out[o++] = '\n';
      o = append_unescaped(out, o, s, a, z);
    }
    if (last) break;
    if (s[end] == '\r' && end + 1 < n && s[end + 1] == '\n') end++;
    i = end + 1;
  }
  out[o] = '\0';
  *out_len = o;
  return out;
}

/* The scalar's value; single-quoted scalars are decoded from the source. */
static int take_scalar_text(builder *b, tsy_node *n, struct fy_token *value,
                            enum fy_scalar_style style) {
  if (value && style == FYSS_SINGLE_QUOTED) {
    const struct fy_mark *start = fy_token_start_mark(value), *end = fy_token_end_mark(value);
    if (start && end && start->input_pos <= end->input_pos && end->input_pos <= b->input_len) {
      n->text = decode_single_quoted(b->input + start->input_pos,
                                     end->input_pos - start->input_pos, &n->len);
      return n->text ? 0 : out_of_memory(b);
    }
  }
  if (copy_token(value, &n->text, &n->len)) return out_of_memory(b);
  if (!n->text && !(n->text = copy_text("", 0))) return out_of_memory(b);
  return 0;
}

static int on_scalar(builder *b, struct fy_event *event) {
  tsy_node *n = new_node(b, TSY_SCALAR);
  if (!n) return out_of_memory(b);
  struct fy_token *value = fy_event_get_token(event);
  enum fy_scalar_style style = value ? fy_token_scalar_style(value) : FYSS_PLAIN;
  int rc = take_scalar_text(b, n, value, style);
  if (rc) return rc;
  n->plain = style == FYSS_PLAIN;
  /* The mark of a quoted scalar is after its opening quote; point at the quote. */
  if ((style == FYSS_SINGLE_QUOTED || style == FYSS_DOUBLE_QUOTED) && n->col > 1) n->col--;
  rc = take_properties(b, n, event);
  if (!rc) rc = attach(b, n);
  if (!rc) rc = register_anchor(b, n);
  return rc;
}

static int on_alias(builder *b, struct fy_event *event) {
  tsy_node *n = new_node(b, TSY_ALIAS);
  if (!n) return out_of_memory(b);
  /* The event's mark is on the name after '*'; point at the '*'. */
  if (n->col > 1) n->col--;
  if (copy_token(fy_event_get_token(event), &n->text, &n->len)) return out_of_memory(b);
  if (!n->text && !(n->text = copy_text("", 0))) return out_of_memory(b);
  size_t target;
  if (!ts_strmap_get(&b->anchors, n->text, &target)) {
    return fail(b, n->line, n->col,
                "found alias '*%.64s' with no anchor '&%.64s' before it, expected an alias to "
                "an anchor defined earlier",
                n->text, n->text);
  }
  n->target = (tsy_node *)(uintptr_t)target;
  return attach(b, n);
}

static int on_collection_start(builder *b, struct fy_event *event, tsy_kind kind) {
  tsy_node *n = new_node(b, kind);
  if (!n) return out_of_memory(b);
  int rc = take_properties(b, n, event);
  if (!rc) rc = attach(b, n);
  if (!rc) rc = push(b, n);
  return rc;
}

static int on_collection_end(builder *b) {
  if (b->depth == 0) return 0; /* cannot happen with a well-formed event stream */
  tsy_node *n = b->stack[--b->depth];
  return register_anchor(b, n);
}

static int second_document_error(builder *b) {
  return fail(b, b->last_line, b->last_col,
              "found a second YAML document, expected exactly one scenario per file");
}

static int handle_event(builder *b, struct fy_event *event) {
  bool has_position = fy_event_start_mark(event) != NULL;
  note_position(b, event);
  /* An implicit document start has no position; blame the first thing in the second
   * document that has one (or the end of the file). */
  if (b->documents > 1 && (has_position || event->type == FYET_STREAM_END))
    return second_document_error(b);
  switch (event->type) {
    case FYET_DOCUMENT_START:
      b->documents++;
      return b->documents > 1 && has_position ? second_document_error(b) : 0;
    case FYET_SCALAR: return on_scalar(b, event);
    case FYET_ALIAS: return on_alias(b, event);
    case FYET_SEQUENCE_START: return on_collection_start(b, event, TSY_SEQUENCE);
    case FYET_MAPPING_START: return on_collection_start(b, event, TSY_MAPPING);
    case FYET_SEQUENCE_END:
    case FYET_MAPPING_END: return on_collection_end(b);
    default: return 0;
  }
}

/* libfyaml collected the error instead of printing it; report the first one. */
static int report_syntax_error(builder *b, struct fy_diag *fydiag) {
  void *iter = NULL;
  struct fy_diag_error *err;
  while ((err = fy_diag_errors_iterate(fydiag, &iter)) != NULL) {
    if (err->type < FYET_ERROR) continue;
    int line = err->line >= 1 ? err->line : b->last_line;
    int col = err->column >= 1 ? err->column : b->last_col;
    return fail(b, line, col, "found invalid YAML (%s), expected valid YAML syntax",
                err->msg ? err->msg : "syntax error");
  }
  return fail(b, b->last_line, b->last_col,
              "found invalid YAML, expected valid YAML syntax");
}

static struct fy_diag *create_quiet_diag(void) {
  struct fy_diag_cfg cfg;
  fy_diag_cfg_default(&cfg);
  cfg.fp = NULL;
  cfg.output_fn = noop_output;
  cfg.colorize = false;
  struct fy_diag *d = fy_diag_create(&cfg);
  if (d) fy_diag_set_collect_errors(d, true);
  return d;
}

static int run_parser(builder *b, const char *buf, size_t len) {
  struct fy_diag *fydiag = create_quiet_diag();
  if (!fydiag) return out_of_memory(b);
  struct fy_parse_cfg cfg = {0};
  cfg.flags = FYPCF_QUIET | FYPCF_JSON_NONE;
  cfg.diag = fydiag;
  b->parser = fy_parser_create(&cfg);
  int rc = 0;
  if (!b->parser || fy_parser_set_string(b->parser, buf, len) != 0) {
    rc = out_of_memory(b);
  } else {
    struct fy_event *event;
    while (rc == 0 && (event = fy_parser_parse(b->parser)) != NULL) {
      rc = handle_event(b, event);
      fy_parser_event_free(b->parser, event);
    }
    if (rc == 0 && fy_parser_get_stream_error(b->parser)) rc = report_syntax_error(b, fydiag);
  }
  if (b->parser) fy_parser_destroy(b->parser);
  b->parser = NULL;
  fy_diag_destroy(fydiag);
  return rc;
}

int tsy_tree_load(tsy_tree *t, const char *name, const char *buf, size_t len, ts_diag *diag) {
  memset(t, 0, sizeof *t);
  if (len > TS_SCENARIO_MAX_BYTES) {
    tsy_diag_set(diag, name, 1, 1, "found %zu bytes, expected a scenario file of at most %zu bytes",
                 len, TS_SCENARIO_MAX_BYTES);
    return TS_EPARSE;
  }
  int rc = check_text_bytes(name, (const unsigned char *)buf, len, diag);
  if (rc) return rc;
  if (len == 0) return 0; /* libfyaml wants a non-empty string; nothing to parse anyway */

  builder b = {.tree = t, .name = name, .diag = diag, .input = buf, .input_len = len,
               .last_line = 1, .last_col = 1};
  rc = run_parser(&b, buf, len);
  free(b.stack);
  ts_strmap_free(&b.anchors);
  if (rc) tsy_tree_free(t);
  return rc;
}

void tsy_tree_free(tsy_tree *t) {
  tsy_node *n = t->all;
  while (n) {
    tsy_node *next = n->next;
    free(n->text);
    free(n->tag);
    free(n->anchor);
    free(n->items);
    free(n);
    n = next;
  }
  t->all = NULL;
  t->root = NULL;
}
