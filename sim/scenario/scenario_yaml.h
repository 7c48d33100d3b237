/* The YAML layer of the loader: checks the bytes (size, NUL, UTF-8), runs libfyaml's
 * event parser with its diagnostics captured (never printed), and builds a small
 * tree in which every node, collections included, knows its line and column.
 * libfyaml's document API does not give positions of mappings and sequences, and
 * builds aliases and duplicate keys its own way; our own tree lets the schema layer
 * point at any node and word every message itself.
 *
 * Aliases are kept as nodes pointing at their anchored node (never copied), and an
 * anchor becomes visible only once its node is complete, so the tree has no cycles. */
#ifndef TS_SCENARIO_YAML_H
#define TS_SCENARIO_YAML_H

#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>

#include "scenario.h"

typedef enum tsy_kind { TSY_SCALAR, TSY_SEQUENCE, TSY_MAPPING, TSY_ALIAS } tsy_kind;

typedef struct tsy_node {
  tsy_kind kind;
  int line, col;             /* 1-based */
  bool plain;                /* scalar written without quotes or block indicators */
  char *text;                /* scalar value or alias name, NUL-terminated (may hold NULs) */
  size_t len;                /* length of text */
  char *tag;                 /* explicit tag as written ("!!str"), or NULL */
  int tag_line, tag_col;     /* where the tag is */
  char *anchor;              /* anchor name, or NULL */
  struct tsy_node **items;   /* sequence: items; mapping: key, value, key, value, ... */
  size_t count;              /* number of entries in items (2 per mapping pair) */
  size_t capacity;
  struct tsy_node *target;   /* alias: the anchored node (never itself an alias) */
  struct tsy_node *next;     /* every node of a tree, for freeing without recursion */
} tsy_node;

typedef struct tsy_tree {
  tsy_node *root;            /* NULL for an empty stream */
  tsy_node *all;
} tsy_tree;

/* Parses one YAML document. Returns 0 or TS_EPARSE / TS_ENOMEM with diag filled. */
int tsy_tree_load(tsy_tree *t, const char *name, const char *buf, size_t len, ts_diag *diag);
void tsy_tree_free(tsy_tree *t);

/* Fills diag (when not NULL) with a positioned message. */
void tsy_diag_set(ts_diag *diag, const char *file, int line, int col, const char *fmt, ...)
    __attribute__((format(printf, 5, 6)));
void tsy_diag_vset(ts_diag *diag, const char *file, int line, int col, const char *fmt,
                   va_list ap) __attribute__((format(printf, 5, 0)));

#endif
