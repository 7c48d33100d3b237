/* A waits-for graph: named parts of the device ("apps", "tunnel", "provider launch",
 * "App Store update", "download", "monitor") and edges "A waits for B", each with the
 * reason in words. Walking it from the part that is stuck gives the chain that
 * explains a lockout or a missed obligation; a chain that comes back to a part it
 * already passed is a deadlock (GT-06: the tunnel waits for the update, the update
 * for its download, the download for the tunnel).
 *
 * The graph knows nothing about iOS: ts_explain.h turns a device snapshot into
 * edges. Capacity is fixed at create; nothing allocates after. */
#ifndef TS_WAITSFOR_H
#define TS_WAITSFOR_H

#include <stdbool.h>
#include <stddef.h>

#include "ts_error.h"

#define TS_WAITSFOR_NAME 48    /* a node name, with its NUL */
#define TS_WAITSFOR_REASON 320 /* an edge's reason, with its NUL (longer reasons are cut) */

typedef struct ts_waitsfor ts_waitsfor;

/* One step of a chain: `waiter` waits for `waits_for` because of `reason` ("" when
 * none was given). The strings belong to the graph: valid until it is reset. */
typedef struct ts_waitsfor_step {
  const char *waiter;
  const char *waits_for;
  const char *reason;
} ts_waitsfor_step;

/* Whether the chain closes into a cycle, and where. */
typedef struct ts_waitsfor_cycle {
  bool found;
  const char *node; /* the node the chain comes back to (NULL without a cycle) */
  size_t at_step;   /* index of the cycle's first step (the one leaving `node`) */
  size_t length;    /* steps in the cycle */
} ts_waitsfor_cycle;

int ts_waitsfor_create(size_t max_nodes, size_t max_edges, ts_waitsfor **out);
void ts_waitsfor_destroy(ts_waitsfor *g);
/* Forgets every node and edge; the capacity stays. */
void ts_waitsfor_reset(ts_waitsfor *g);

/* "waiter waits for waits_for": creates the nodes it names. A reason is best written
 * as a phrase that stands alone ("apps wait for the tunnel: their packets are
 * dropped (rule …)"), since a chain's text is its reasons joined by " ← ".
 * TS_EINVAL for an empty or too long name, TS_EEXIST when that edge exists,
 * TS_EFULL when the nodes or edges are used up. */
int ts_waitsfor_add(ts_waitsfor *g, const char *waiter, const char *waits_for, const char *reason);
bool ts_waitsfor_has(const ts_waitsfor *g, const char *name);
size_t ts_waitsfor_node_count(const ts_waitsfor *g);
size_t ts_waitsfor_edge_count(const ts_waitsfor *g);

/* The chain from `start`: when some path from start reaches a cycle, the path to it
 * and once round it (a deadlock outranks any dead end); otherwise the first edge
 * added out of each node, to a node that waits for nothing. Fills up to `max` steps
 * and their count; TS_ENOENT when start is no node, TS_EFULL when the chain is longer
 * than max (the first max steps are filled). */
int ts_waitsfor_walk(ts_waitsfor *g, const char *start, ts_waitsfor_step *steps, size_t max,
                     size_t *count, ts_waitsfor_cycle *cycle);

/* The same chain in words: each step's reason (or "A waits for B" when it has none)
 * joined by " ← ", closed by " ← [cycle] NODE" when it comes back. A start that
 * waits for nothing gives "". TS_EFULL when the text did not fit in buf (it is cut,
 * still terminated); TS_ENOENT when start is no node. */
int ts_waitsfor_explain(ts_waitsfor *g, const char *start, char *buf, size_t n,
                        ts_waitsfor_cycle *cycle);

/* Writes the chain of `steps` as ts_waitsfor_explain does (for a walk already made). */
int ts_waitsfor_format(const ts_waitsfor_step *steps, size_t count, const ts_waitsfor_cycle *cycle,
                       char *buf, size_t n);

#endif
