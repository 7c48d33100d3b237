/* The waits-for graph. Out-edges are kept in the order they were added, because the
 * walk's fallback (no cycle) follows each node's first edge: whoever builds the graph
 * ranks a node's reasons by adding the most telling first. The depth-first search
 * that looks for a cycle uses scratch arrays sized at create, so a walk allocates
 * nothing. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ts_waitsfor.h"

#define NONE ((size_t)-1)

enum { WHITE = 0, GRAY, BLACK }; /* depth-first search colours */

typedef struct node {
  char name[TS_WAITSFOR_NAME];
  size_t first_out, last_out; /* out-edges, in insertion order */
} node;

typedef struct edge {
  size_t from, to, next_out;
  char reason[TS_WAITSFOR_REASON];
} edge;

struct ts_waitsfor {
  node *nodes;
  edge *edges;
  size_t node_count, max_nodes, edge_count, max_edges;
  /* walk scratch, max_nodes each: the search never holds a node twice on its stack */
  unsigned char *colour;
  size_t *stack, *cursor, *taken;
  ts_waitsfor_step *steps;
};

int ts_waitsfor_create(size_t max_nodes, size_t max_edges, ts_waitsfor **out) {
  if (!out || max_nodes == 0 || max_edges == 0) return TS_EINVAL;
  ts_waitsfor *g = calloc(1, sizeof *g);
  if (!g) return TS_ENOMEM;
  g->max_nodes = max_nodes;
  g->max_edges = max_edges;
  g->nodes = calloc(max_nodes, sizeof *g->nodes);
  g->edges = calloc(max_edges, sizeof *g->edges);
  g->colour = calloc(max_nodes, sizeof *g->colour);
  g->stack = calloc(max_nodes, sizeof *g->stack);
  g->cursor = calloc(max_nodes, sizeof *g->cursor);
  g->taken = calloc(max_nodes, sizeof *g->taken);
  g->steps = calloc(max_nodes, sizeof *g->steps);
  if (!g->nodes || !g->edges || !g->colour || !g->stack || !g->cursor || !g->taken || !g->steps) {
    ts_waitsfor_destroy(g);
    return TS_ENOMEM;
  }
  *out = g;
  return TS_OK;
}

void ts_waitsfor_destroy(ts_waitsfor *g) {
  if (!g) return;
  free(g->nodes);
  free(g->edges);
  free(g->colour);
  free(g->stack);
  free(g->cursor);
  free(g->taken);
  free(g->steps);
  free(g);
}

void ts_waitsfor_reset(ts_waitsfor *g) {
  g->node_count = 0;
  g->edge_count = 0;
}

static size_t find(const ts_waitsfor *g, const char *name) {
  for (size_t i = 0; i < g->node_count; i++)
    if (!strcmp(g->nodes[i].name, name)) return i;
  return NONE;
}

static bool valid_name(const char *name) {
  return name && name[0] && strlen(name) < TS_WAITSFOR_NAME;
}

/* The node's index, adding it when new; NONE when the table is full. */
static size_t intern(ts_waitsfor *g, const char *name) {
  size_t i = find(g, name);
  if (i != NONE || g->node_count == g->max_nodes) return i;
  node *n = &g->nodes[g->node_count];
  snprintf(n->name, sizeof n->name, "%s", name);
  n->first_out = n->last_out = NONE;
  return g->node_count++;
}

static bool has_edge(const ts_waitsfor *g, size_t from, size_t to) {
  for (size_t e = g->nodes[from].first_out; e != NONE; e = g->edges[e].next_out)
    if (g->edges[e].to == to) return true;
  return false;
}

int ts_waitsfor_add(ts_waitsfor *g, const char *waiter, const char *waits_for, const char *reason) {
  if (!valid_name(waiter) || !valid_name(waits_for)) return TS_EINVAL;
  size_t from = find(g, waiter), to = find(g, waits_for);
  if (from != NONE && to != NONE && has_edge(g, from, to)) return TS_EEXIST;
  /* Check room for both nodes and the edge first, so a failed add changes nothing. */
  size_t new_nodes = (from == NONE) + (to == NONE && strcmp(waiter, waits_for) != 0);
  if (g->node_count + new_nodes > g->max_nodes || g->edge_count == g->max_edges) return TS_EFULL;
  from = intern(g, waiter);
  to = intern(g, waits_for);
  size_t e = g->edge_count++;
  edge *ed = &g->edges[e];
  ed->from = from;
  ed->to = to;
  ed->next_out = NONE;
  snprintf(ed->reason, sizeof ed->reason, "%s", reason ? reason : "");
  node *n = &g->nodes[from];
  if (n->last_out == NONE)
    n->first_out = e;
  else
    g->edges[n->last_out].next_out = e;
  n->last_out = e;
  return TS_OK;
}

bool ts_waitsfor_has(const ts_waitsfor *g, const char *name) {
  return name && find(g, name) != NONE;
}

size_t ts_waitsfor_node_count(const ts_waitsfor *g) { return g->node_count; }
size_t ts_waitsfor_edge_count(const ts_waitsfor *g) { return g->edge_count; }

static ts_waitsfor_step step_of(const ts_waitsfor *g, size_t e) {
  const edge *ed = &g->edges[e];
  return (ts_waitsfor_step){g->nodes[ed->from].name, g->nodes[ed->to].name, ed->reason};
}

/* Copies the chain of edge indices into steps; TS_EFULL when it is longer than max. */
static int emit(const ts_waitsfor *g, const size_t *edges, size_t len, ts_waitsfor_step *steps,
                size_t max, size_t *count) {
  size_t n = len < max ? len : max;
  for (size_t i = 0; i < n; i++) steps[i] = step_of(g, edges[i]);
  *count = n;
  return len > max ? TS_EFULL : TS_OK;
}

/* Depth-first search from start for an edge back to a node on the stack. On success
 * g->taken[0..*len) holds the path and its closing edge, and *closes_at the index in
 * it of the step that leaves the node the cycle comes back to. */
static bool find_cycle(ts_waitsfor *g, size_t start, size_t *len, size_t *closes_at) {
  memset(g->colour, WHITE, g->node_count);
  size_t sp = 0;
  g->stack[sp] = start;
  g->cursor[sp++] = g->nodes[start].first_out;
  g->colour[start] = GRAY;
  while (sp > 0) {
    size_t e = g->cursor[sp - 1];
    if (e == NONE) {
      g->colour[g->stack[--sp]] = BLACK;
      continue;
    }
    g->cursor[sp - 1] = g->edges[e].next_out;
    g->taken[sp - 1] = e;
    size_t to = g->edges[e].to;
    if (g->colour[to] == GRAY) {
      size_t at = 0;
      while (g->stack[at] != to) at++;
      *len = sp;
      *closes_at = at;
      return true;
    }
    if (g->colour[to] == WHITE) {
      g->colour[to] = GRAY;
      g->stack[sp] = to;
      g->cursor[sp++] = g->nodes[to].first_out;
    }
  }
  return false;
}

/* Without a cycle every first-edge path ends; it is at most node_count - 1 long. */
static size_t first_edges(ts_waitsfor *g, size_t start) {
  size_t len = 0;
  for (size_t e = g->nodes[start].first_out; e != NONE; e = g->nodes[g->edges[e].to].first_out)
    g->taken[len++] = e;
  return len;
}

int ts_waitsfor_walk(ts_waitsfor *g, const char *start, ts_waitsfor_step *steps, size_t max,
                     size_t *count, ts_waitsfor_cycle *cycle) {
  *count = 0;
  *cycle = (ts_waitsfor_cycle){0};
  size_t s = start ? find(g, start) : NONE;
  if (s == NONE) return TS_ENOENT;
  size_t len, at;
  if (!find_cycle(g, s, &len, &at)) return emit(g, g->taken, first_edges(g, s), steps, max, count);
  cycle->found = true;
  cycle->node = g->nodes[g->edges[g->taken[at]].from].name;
  cycle->at_step = at;
  cycle->length = len - at;
  return emit(g, g->taken, len, steps, max, count);
}

/* Appends to buf at *used; false once the text no longer fits. A cut never splits a
 * UTF-8 sequence (the arrows are three bytes each). */
static bool append(char *buf, size_t n, size_t *used, const char *text) {
  size_t room = n - *used, len = strlen(text);
  size_t copy = len < room ? len : room - 1;
  while (copy < len && copy > 0 && ((unsigned char)text[copy] & 0xC0) == 0x80) copy--;
  memcpy(buf + *used, text, copy);
  *used += copy;
  buf[*used] = '\0';
  return copy == len;
}

static const char *const ARROW = " ← ";

static bool append_step(char *buf, size_t n, size_t *used, const ts_waitsfor_step *s) {
  if (s->reason[0]) return append(buf, n, used, s->reason);
  return append(buf, n, used, s->waiter) && append(buf, n, used, " waits for ") &&
         append(buf, n, used, s->waits_for);
}

int ts_waitsfor_format(const ts_waitsfor_step *steps, size_t count, const ts_waitsfor_cycle *cycle,
                       char *buf, size_t n) {
  if (!buf || n == 0) return TS_EINVAL;
  size_t used = 0;
  buf[0] = '\0';
  bool fits = true;
  for (size_t i = 0; i < count && fits; i++)
    fits = (i == 0 || append(buf, n, &used, ARROW)) && append_step(buf, n, &used, &steps[i]);
  if (fits && cycle && cycle->found)
    fits = append(buf, n, &used, ARROW) && append(buf, n, &used, "[cycle] ") &&
           append(buf, n, &used, cycle->node);
  return fits ? TS_OK : TS_EFULL;
}

int ts_waitsfor_explain(ts_waitsfor *g, const char *start, char *buf, size_t n,
                        ts_waitsfor_cycle *cycle) {
  if (!buf || n == 0) return TS_EINVAL;
  buf[0] = '\0';
  ts_waitsfor_cycle local;
  if (!cycle) cycle = &local;
  size_t count;
  int rc = ts_waitsfor_walk(g, start, g->steps, g->max_nodes, &count, cycle);
  if (rc) return rc;
  return ts_waitsfor_format(g->steps, count, cycle, buf, n);
}
