/* The waits-for graph: chains, cycles (deadlocks) and where they close, the walk's
 * preference for a cycle over a dead end, its limits, and reuse after reset. */
#include "ts_waitsfor.h"
#include "tstest.h"

static ts_waitsfor *graph(size_t nodes, size_t edges) {
  ts_waitsfor *g = NULL;
  if (ts_waitsfor_create(nodes, edges, &g)) return NULL;
  return g;
}

TS_TEST(a_chain_without_a_cycle_follows_first_edges_to_a_part_waiting_for_nothing) {
  ts_waitsfor *g = graph(8, 8);
  TS_CHECK(g);
  TS_CHECK_INT(ts_waitsfor_add(g, "apps", "tunnel", "apps wait for the tunnel"), ==, 0);
  TS_CHECK_INT(ts_waitsfor_add(g, "tunnel", "first unlock", "the provider waits for the first unlock"), ==, 0);
  TS_CHECK_INT(ts_waitsfor_add(g, "tunnel", "watchdog", "the start never completes"), ==, 0);
  char buf[256];
  ts_waitsfor_cycle c;
  TS_CHECK_INT(ts_waitsfor_explain(g, "apps", buf, sizeof buf, &c), ==, 0);
  TS_CHECK_STR(buf, "apps wait for the tunnel ← the provider waits for the first unlock");
  TS_CHECK(!c.found);
  TS_CHECK(c.node == NULL);
  ts_waitsfor_destroy(g);
}

TS_TEST(a_cycle_is_found_and_the_chain_says_where_it_closes) {
  ts_waitsfor *g = graph(8, 8);
  TS_CHECK(g);
  TS_CHECK_INT(ts_waitsfor_add(g, "monitor", "ping reply", "monitor waits for a ping reply"), ==, 0);
  TS_CHECK_INT(ts_waitsfor_add(g, "ping reply", "tunnel",
                               "the provider's utun-bound ICMP is silently dropped "
                               "(rule ian-provider-silent-fail)"),
               ==, 0);
  TS_CHECK_INT(ts_waitsfor_add(g, "tunnel", "monitor", "the tunnel is up only when the monitor confirms it"),
               ==, 0);
  char buf[512];
  ts_waitsfor_cycle c;
  TS_CHECK_INT(ts_waitsfor_explain(g, "monitor", buf, sizeof buf, &c), ==, 0);
  TS_CHECK_STR(buf, "monitor waits for a ping reply ← the provider's utun-bound ICMP is silently "
                    "dropped (rule ian-provider-silent-fail) ← the tunnel is up only when the "
                    "monitor confirms it ← [cycle] monitor");
  TS_CHECK(c.found);
  TS_CHECK_STR(c.node, "monitor");
  TS_CHECK_INT(c.at_step, ==, 0);
  TS_CHECK_INT(c.length, ==, 3);
  /* From another part of the same cycle, it closes there. */
  TS_CHECK_INT(ts_waitsfor_explain(g, "tunnel", buf, sizeof buf, &c), ==, 0);
  TS_CHECK_STR(c.node, "tunnel");
  ts_waitsfor_destroy(g);
}

/* GT-06's shape: the tunnel's first edge is a dead end, its second leads round to
 * itself. A deadlock outranks a dead end, and the path into the cycle is kept. */
TS_TEST(the_walk_prefers_a_cycle_over_a_dead_end_and_keeps_the_path_into_it) {
  ts_waitsfor *g = graph(8, 8);
  TS_CHECK(g);
  TS_CHECK_INT(ts_waitsfor_add(g, "apps", "tunnel", "a"), ==, 0);
  TS_CHECK_INT(ts_waitsfor_add(g, "tunnel", "on-demand", "dead end"), ==, 0);
  TS_CHECK_INT(ts_waitsfor_add(g, "tunnel", "provider launch", "b"), ==, 0);
  TS_CHECK_INT(ts_waitsfor_add(g, "provider launch", "App Store update", "c"), ==, 0);
  TS_CHECK_INT(ts_waitsfor_add(g, "App Store update", "download", "d"), ==, 0);
  TS_CHECK_INT(ts_waitsfor_add(g, "download", "tunnel", "e"), ==, 0);
  ts_waitsfor_step steps[8];
  size_t n;
  ts_waitsfor_cycle c;
  TS_CHECK_INT(ts_waitsfor_walk(g, "apps", steps, 8, &n, &c), ==, 0);
  TS_CHECK_INT(n, ==, 5);
  TS_CHECK_STR(steps[0].waiter, "apps");
  TS_CHECK_STR(steps[1].waits_for, "provider launch");
  TS_CHECK_STR(steps[4].waiter, "download");
  TS_CHECK_STR(steps[4].waits_for, "tunnel");
  TS_CHECK(c.found);
  TS_CHECK_STR(c.node, "tunnel");
  TS_CHECK_INT(c.at_step, ==, 1);
  TS_CHECK_INT(c.length, ==, 4);
  char buf[128];
  TS_CHECK_INT(ts_waitsfor_explain(g, "apps", buf, sizeof buf, NULL), ==, 0);
  TS_CHECK_STR(buf, "a ← b ← c ← d ← e ← [cycle] tunnel");
  ts_waitsfor_destroy(g);
}

TS_TEST(a_step_without_a_reason_reads_a_waits_for_b_and_a_self_wait_is_a_cycle) {
  ts_waitsfor *g = graph(4, 4);
  TS_CHECK(g);
  TS_CHECK_INT(ts_waitsfor_add(g, "download", "download", NULL), ==, 0);
  char buf[128];
  ts_waitsfor_cycle c;
  TS_CHECK_INT(ts_waitsfor_explain(g, "download", buf, sizeof buf, &c), ==, 0);
  TS_CHECK_STR(buf, "download waits for download ← [cycle] download");
  TS_CHECK(c.found);
  TS_CHECK_INT(c.length, ==, 1);
  /* A part that waits for nothing: an empty chain, not an error. */
  TS_CHECK_INT(ts_waitsfor_add(g, "apps", "relay", ""), ==, 0);
  TS_CHECK_INT(ts_waitsfor_explain(g, "relay", buf, sizeof buf, &c), ==, 0);
  TS_CHECK_STR(buf, "");
  TS_CHECK(!c.found);
  ts_waitsfor_destroy(g);
}

TS_TEST(limits_and_bad_input_are_errors_that_change_nothing) {
  ts_waitsfor *g = graph(3, 3);
  TS_CHECK(g);
  TS_CHECK_INT(ts_waitsfor_add(g, "a", "b", "x"), ==, 0);
  TS_CHECK_INT(ts_waitsfor_add(g, "a", "b", "again"), ==, TS_EEXIST);
  TS_CHECK_INT(ts_waitsfor_add(g, "", "b", "x"), ==, TS_EINVAL);
  TS_CHECK_INT(ts_waitsfor_add(g, "a", NULL, "x"), ==, TS_EINVAL);
  char longname[TS_WAITSFOR_NAME + 1];
  memset(longname, 'n', sizeof longname - 1);
  longname[sizeof longname - 1] = '\0';
  TS_CHECK_INT(ts_waitsfor_add(g, "a", longname, "x"), ==, TS_EINVAL);
  TS_CHECK_INT(ts_waitsfor_add(g, "b", "c", "y"), ==, 0);
  /* Two new nodes with room for none: refused whole. */
  TS_CHECK_INT(ts_waitsfor_add(g, "d", "e", "z"), ==, TS_EFULL);
  TS_CHECK(!ts_waitsfor_has(g, "d"));
  TS_CHECK_INT(ts_waitsfor_node_count(g), ==, 3);
  TS_CHECK_INT(ts_waitsfor_add(g, "c", "a", "w"), ==, 0);
  TS_CHECK_INT(ts_waitsfor_add(g, "c", "b", "v"), ==, TS_EFULL); /* edges used up */
  TS_CHECK_INT(ts_waitsfor_edge_count(g), ==, 3);

  char buf[64];
  ts_waitsfor_cycle c;
  TS_CHECK_INT(ts_waitsfor_explain(g, "nobody", buf, sizeof buf, &c), ==, TS_ENOENT);
  char tiny[6];
  TS_CHECK_INT(ts_waitsfor_explain(g, "a", tiny, sizeof tiny, &c), ==, TS_EFULL);
  TS_CHECK_INT(strlen(tiny), <, sizeof tiny); /* cut, terminated */
  TS_CHECK(!strncmp(tiny, "x ←", strlen(tiny)));
  ts_waitsfor_step steps[2];
  size_t n;
  TS_CHECK_INT(ts_waitsfor_walk(g, "a", steps, 2, &n, &c), ==, TS_EFULL);
  TS_CHECK_INT(n, ==, 2);
  TS_CHECK_STR(steps[1].reason, "y");
  ts_waitsfor_destroy(g);
}

TS_TEST(reset_forgets_the_graph_and_it_is_reused_to_capacity) {
  ts_waitsfor *g = graph(4, 4);
  TS_CHECK(g);
  for (int round = 0; round < 3; round++) {
    TS_CHECK_INT(ts_waitsfor_add(g, "w", "x", "1"), ==, 0);
    TS_CHECK_INT(ts_waitsfor_add(g, "x", "y", "2"), ==, 0);
    TS_CHECK_INT(ts_waitsfor_add(g, "y", "z", "3"), ==, 0);
    TS_CHECK_INT(ts_waitsfor_add(g, "z", round == 1 ? "w" : "x", "4"), ==, 0);
    char buf[64];
    ts_waitsfor_cycle c;
    TS_CHECK_INT(ts_waitsfor_explain(g, "w", buf, sizeof buf, &c), ==, 0);
    TS_CHECK_STR(c.node, round == 1 ? "w" : "x");
    TS_CHECK_STR(buf, round == 1 ? "1 ← 2 ← 3 ← 4 ← [cycle] w" : "1 ← 2 ← 3 ← 4 ← [cycle] x");
    ts_waitsfor_reset(g);
    TS_CHECK_INT(ts_waitsfor_node_count(g), ==, 0);
    TS_CHECK_INT(ts_waitsfor_edge_count(g), ==, 0);
    TS_CHECK(!ts_waitsfor_has(g, "w"));
  }
  ts_waitsfor_destroy(g);
}
