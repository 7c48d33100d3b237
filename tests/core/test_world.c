/* The world and the native links: timing, loss, queues, up/down, isolation of two
 * worlds in one process, and reset for reuse. */
#include "ts_ipsum.h"
#include "ts_native.h"
#include "ts_world.h"
#include "tstest.h"

struct sink {
  ts_world *w;
  int received;
  ts_time first, last;
};

static void sink_rx(void *ctx, ts_packet *p) {
  struct sink *s = ctx;
  ts_time now = ts_world_now(s->w);
  if (!s->received) s->first = now;
  s->last = now;
  s->received++;
  ts_packet_free(ts_world_pool(s->w), p);
}

static ts_link_params params(void) {
  ts_link_params p = {0};
  p.mtu = 1500;
  p.queue_limit = 1000;
  p.up = true;
  return p;
}

static ts_link_id make_link(ts_world *w, struct sink *a, struct sink *b, const ts_link_params *p) {
  ts_link_end ends[2] = {{sink_rx, a, "a/eth0"}, {sink_rx, b, "b/eth0"}};
  ts_link_id id = 99;
  ts_world_link_create(w, "ab", p, ends, &id);
  return id;
}

static void send_n(ts_world *w, ts_link_id id, int n, uint32_t len) {
  for (int i = 0; i < n; i++) {
    ts_packet *p = ts_packet_alloc(ts_world_pool(w), len);
    memset(p->data, i, len);
    ts_world_link_send(w, id, 0, p);
  }
}

TS_TEST(link_delay_and_rate_set_arrival_times) {
  ts_world *w;
  TS_CHECK_INT(ts_world_create(&w, &ts_native_backend, 1), ==, 0);
  struct sink a = {w}, b = {w};
  ts_link_params p = params();
  p.delay = 5 * TS_MS;
  p.rate_bps = 8000000; /* 1 byte per microsecond */
  ts_link_id id = make_link(w, &a, &b, &p);
  send_n(w, id, 3, 1000);
  ts_world_run_until(w, TS_SEC);
  TS_CHECK_INT(b.received, ==, 3);
  TS_CHECK_INT(b.first, ==, 5 * TS_MS + 1000 * TS_US);
  TS_CHECK_INT(b.last, ==, 5 * TS_MS + 3000 * TS_US);
  TS_CHECK_INT(ts_packet_pool_outstanding(ts_world_pool(w)), ==, 0);
  ts_world_destroy(w);
}

TS_TEST(link_queue_limit_drops_the_excess_only_while_serialising) {
  ts_world *w;
  ts_world_create(&w, &ts_native_backend, 1);
  struct sink a = {w}, b = {w};
  ts_link_params p = params();
  p.delay = TS_SEC; /* long propagation must not count against the queue */
  p.rate_bps = 8000000;
  p.queue_limit = 4;
  ts_link_id id = make_link(w, &a, &b, &p);
  send_n(w, id, 10, 100);
  ts_world_run_until(w, 10 * TS_MS); /* all four serialised, now propagating */
  send_n(w, id, 4, 100);
  ts_world_run_until(w, 3 * TS_SEC);
  TS_CHECK_INT(b.received, ==, 8);
  ts_world_destroy(w);
}

TS_TEST(link_down_drops_in_flight_and_new_packets) {
  ts_world *w;
  ts_world_create(&w, &ts_native_backend, 1);
  struct sink a = {w}, b = {w};
  ts_link_params p = params();
  p.delay = 10 * TS_MS;
  ts_link_id id = make_link(w, &a, &b, &p);
  send_n(w, id, 2, 100);
  ts_world_run_until(w, 5 * TS_MS);
  ts_world_link_set_up(w, id, false);
  send_n(w, id, 2, 100);
  ts_world_link_set_up(w, id, true);
  ts_world_run_until(w, TS_SEC);
  TS_CHECK_INT(b.received, ==, 0);
  send_n(w, id, 1, 100);
  ts_world_run_until(w, 2 * TS_SEC);
  TS_CHECK_INT(b.received, ==, 1);
  TS_CHECK_INT(ts_packet_pool_outstanding(ts_world_pool(w)), ==, 0);
  ts_world_destroy(w);
}

TS_TEST(link_mtu_drops_oversized) {
  ts_world *w;
  ts_world_create(&w, &ts_native_backend, 1);
  struct sink a = {w}, b = {w};
  ts_link_params p = params();
  p.mtu = 576;
  ts_link_id id = make_link(w, &a, &b, &p);
  send_n(w, id, 1, 577);
  send_n(w, id, 1, 576);
  ts_world_run_until(w, TS_SEC);
  TS_CHECK_INT(b.received, ==, 1);
  ts_world_destroy(w);
}

static int run_lossy(uint64_t seed, char hash[TS_TRACE_HASH_HEX]) {
  ts_world *w;
  ts_world_create(&w, &ts_native_backend, seed);
  struct sink a = {w}, b = {w};
  ts_link_params p = params();
  p.loss = 0.3;
  p.jitter = 2 * TS_MS;
  p.delay = 5 * TS_MS;
  ts_link_id id = make_link(w, &a, &b, &p);
  send_n(w, id, 1000, 64);
  ts_world_run_until(w, TS_SEC);
  ts_trace_hash_hex(ts_world_trace(w), hash);
  int got = b.received;
  ts_world_destroy(w);
  return got;
}

TS_TEST(link_loss_is_seeded_and_near_its_rate) {
  char h1[TS_TRACE_HASH_HEX], h2[TS_TRACE_HASH_HEX], h3[TS_TRACE_HASH_HEX];
  int r1 = run_lossy(11, h1), r2 = run_lossy(11, h2);
  run_lossy(12, h3);
  TS_CHECK_INT(r1, ==, r2);
  TS_CHECK_STR(h1, h2);
  TS_CHECK(strcmp(h1, h3) != 0);
  TS_CHECK(r1 > 640 && r1 < 760);
}

struct order_sink {
  ts_world *w;
  int n;
  int out_of_order;
  uint8_t last;
};

static void order_rx(void *ctx, ts_packet *p) {
  struct order_sink *s = ctx;
  if (s->n && p->data[0] < s->last) s->out_of_order++;
  s->last = p->data[0];
  s->n++;
  ts_packet_free(ts_world_pool(s->w), p);
}

TS_TEST(link_jitter_never_reorders) {
  ts_world *w;
  ts_world_create(&w, &ts_native_backend, 3);
  struct order_sink b = {w, 0, 0, 0};
  ts_link_params p = params();
  p.delay = 5 * TS_MS;
  p.jitter = 5 * TS_MS;
  ts_link_end ends[2] = {{NULL, NULL, "a/eth0"}, {order_rx, &b, "b/eth0"}};
  ts_link_id id;
  ts_world_link_create(w, "ab", &p, ends, &id);
  send_n(w, id, 200, 10);
  ts_world_run_until(w, TS_SEC);
  TS_CHECK_INT(b.n, ==, 200);
  TS_CHECK_INT(b.out_of_order, ==, 0);
  ts_world_destroy(w);
}

TS_TEST(two_worlds_in_one_process_do_not_affect_each_other) {
  char alone[TS_TRACE_HASH_HEX];
  run_lossy(21, alone);
  /* Now interleave two worlds step by step; the first must hash the same. */
  ts_world *w1, *w2;
  ts_world_create(&w1, &ts_native_backend, 21);
  ts_world_create(&w2, &ts_native_backend, 22);
  struct sink a1 = {w1}, b1 = {w1}, a2 = {w2}, b2 = {w2};
  ts_link_params p = params();
  p.loss = 0.3;
  p.jitter = 2 * TS_MS;
  p.delay = 5 * TS_MS;
  ts_link_id l1 = make_link(w1, &a1, &b1, &p);
  ts_link_id l2 = make_link(w2, &a2, &b2, &p);
  send_n(w2, l2, 500, 64);
  send_n(w1, l1, 1000, 64);
  for (ts_time t = 0; t <= TS_SEC; t += TS_MS) {
    ts_world_run_until(w2, t);
    ts_world_run_until(w1, t);
  }
  char h1[TS_TRACE_HASH_HEX];
  ts_trace_hash_hex(ts_world_trace(w1), h1);
  TS_CHECK_STR(h1, alone);
  ts_world_destroy(w1);
  ts_world_destroy(w2);
}

static int released;
static void release_counter(void *obj) { (void)obj; released++; }

TS_TEST(world_detach_forgets_without_releasing) {
  ts_world *w;
  ts_world_create(&w, &ts_native_backend, 1);
  int a, b;
  released = 0;
  ts_world_attach(w, &a, release_counter);
  ts_world_attach(w, &b, release_counter);
  TS_CHECK_INT(ts_world_detach(w, &a), ==, TS_OK);
  TS_CHECK_INT(ts_world_detach(w, &a), ==, TS_ENOENT);
  TS_CHECK_INT(released, ==, 0);
  ts_world_destroy(w);
  TS_CHECK_INT(released, ==, 1); /* only b was still attached */
}

TS_TEST(world_reset_releases_attached_and_reproduces_the_run) {
  char fresh[TS_TRACE_HASH_HEX];
  run_lossy(31, fresh);
  ts_world *w;
  ts_world_create(&w, &ts_native_backend, 99);
  struct sink a = {w}, b = {w};
  ts_link_params p = params();
  ts_link_id id = make_link(w, &a, &b, &p);
  p.delay = TS_SEC;
  send_n(w, id, 50, 64); /* left in flight: reset must free them */
  released = 0;
  ts_world_attach(w, NULL, release_counter);
  TS_CHECK_INT(ts_world_reset(w, 31), ==, 0);
  TS_CHECK_INT(released, ==, 1);
  TS_CHECK_INT(ts_packet_pool_outstanding(ts_world_pool(w)), ==, 0);
  TS_CHECK_INT(ts_world_now(w), ==, 0);
  struct sink a2 = {w}, b2 = {w};
  ts_link_params q = params();
  q.loss = 0.3;
  q.jitter = 2 * TS_MS;
  q.delay = 5 * TS_MS;
  id = make_link(w, &a2, &b2, &q);
  send_n(w, id, 1000, 64);
  ts_world_run_until(w, TS_SEC);
  char again[TS_TRACE_HASH_HEX];
  ts_trace_hash_hex(ts_world_trace(w), again);
  TS_CHECK_STR(again, fresh);
  ts_world_destroy(w);
}
