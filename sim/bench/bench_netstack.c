/* `tunnelsim bench netstack` (ts_bench_netstack.h). Each transfer runs in the same
 * world after ts_world_reset with the next seed, so the loss pattern differs from
 * transfer to transfer and the figures are means over patterns, the same patterns
 * in every run of the benchmark. */
#include <stdio.h>
#include <string.h>

#include "ts_bench.h"
#include "ts_bench_netstack.h"
#include "ts_native.h"
#include "ts_net.h"
#include "ts_netstack.h"
#include "ts_netstack_bulk.h"
#include "ts_netstack_device.h"
#include "ts_tcp.h"
#include "ts_tcp_host.h"
#include "ts_tcp_server.h"

#define PORT 7000
#define MIN_RUNS 20
#define IDLE_RESETS 2000
#define LIMIT (3600 * TS_SEC) /* a transfer that takes longer has failed */

static ts_link_params link_params(void) {
  ts_link_params p = {.delay = 20 * TS_MS, .loss = TS_BENCH_NETSTACK_LOSS, .rate_bps = 10000000,
                      .mtu = 1500, .queue_limit = 1000, .up = true};
  return p;
}

/* Counts packets into a counter that outlives the world's links (the caller's).
 * Counting is part of every run's cost alike, lwIP's and the baseline's. */
static void count_tap(void *ctx, ts_link_id id, int from_end, const ts_packet *pkt) { (*(uint64_t *)ctx)++; }

struct lwip_pair {
  ts_netstack_dev *a, *b;
};

static int make_pair(ts_world *w, struct lwip_pair *p, uint64_t *packets) {
  ts_netstack_dev_config ca = {.name = "client", .addr4 = {.addr = {4, {10, 0, 0, 1}}, .len = 24}};
  ts_netstack_dev_config cb = {.name = "server", .addr4 = {.addr = {4, {10, 0, 0, 2}}, .len = 24}};
  ts_link_params lp = link_params();
  ts_link_id link;
  if (ts_netstack_dev_create(w, &ca, &p->a) || ts_netstack_dev_create(w, &cb, &p->b) ||
      ts_netstack_dev_connect(w, "wire", &lp, p->a, p->b, &link) ||
      ts_world_link_tap(w, link, count_tap, packets))
    return -1;
  return 0;
}

static int fail(ts_bench_netstack_result *r, uint64_t seed, const char *what) {
  if (what) snprintf(r->failure, sizeof r->failure, "%s", what);
  r->failed_seed = seed;
  return -1;
}

/* One lwIP transfer from a fresh world state; -1 if it did not complete intact. */
static int lwip_once(ts_world *w, uint64_t seed, ts_bench_netstack_result *r, uint64_t *packets,
                     double *create_s, double *transfer_s, double *reset_s) {
  ts_world_reset(w, seed);
  *packets = 0;
  struct lwip_pair p;
  double t0 = ts_bench_wall_seconds();
  if (make_pair(w, &p, packets)) return fail(r, seed, "lwIP: could not make the two instances");
  double t1 = ts_bench_wall_seconds();
  ts_netstack_bulk tx = {.total = TS_BENCH_NETSTACK_BYTES}, rx = {.stop_world_when_done = true};
  ts_ipaddr to = {4, {10, 0, 0, 2}};
  if (ts_netstack_bulk_listen(&rx, ts_netstack_dev_stack(p.b), PORT) ||
      ts_netstack_bulk_connect(&tx, ts_netstack_dev_stack(p.a), &to, PORT))
    return fail(r, seed, "lwIP: could not listen or connect");
  ts_world_run_until(w, LIMIT);
  double t2 = ts_bench_wall_seconds();
  if (!rx.finished || rx.received != TS_BENCH_NETSTACK_BYTES || rx.mismatches) {
    snprintf(r->failure, sizeof r->failure,
             "lwIP: transfer incomplete (received %llu bytes, %llu wrong, connection %s/%s)",
             (unsigned long long)rx.received, (unsigned long long)rx.mismatches,
             ts_netstack_close_reason_name(tx.closed_reason), ts_netstack_close_reason_name(rx.closed_reason));
    return fail(r, seed, NULL);
  }
  double t3 = ts_bench_wall_seconds();
  if (ts_netstack_reset(ts_netstack_dev_stack(p.a), seed) || ts_netstack_reset(ts_netstack_dev_stack(p.b), seed))
    return fail(r, seed, "lwIP: reset failed");
  double t4 = ts_bench_wall_seconds();
  *create_s += (t1 - t0) / 2;
  *transfer_s += t2 - t1;
  *reset_s += (t4 - t3) / 2;
  r->sim_seconds += (double)rx.finished_at / (double)TS_SEC;
  r->packets += (double)*packets;
  return 0;
}

/* Back-to-back resets of an idle instance. */
static int idle_resets(ts_world *w, ts_bench_netstack_result *r, uint64_t *packets) {
  ts_world_reset(w, 1);
  struct lwip_pair p;
  if (make_pair(w, &p, packets)) return fail(r, 1, "lwIP: could not make the two instances");
  ts_netstack *ns = ts_netstack_dev_stack(p.a);
  double t0 = ts_bench_wall_seconds();
  for (uint64_t i = 0; i < IDLE_RESETS; i++)
    if (ts_netstack_reset(ns, i + 1)) return fail(r, i + 1, "lwIP: reset failed");
  r->reset_idle_us = (ts_bench_wall_seconds() - t0) * 1e6 / IDLE_RESETS;
  r->idle_resets = IDLE_RESETS;
  return 0;
}

/* ---- baseline: sim/net's TCP, a GET of 100 KB from a ts_tcp_server ---------------- */

struct native_client {
  ts_world *w;
  uint64_t got, mismatches;
  bool eof;
  ts_time done_at;
};

static void nc_connected(void *ctx, ts_tcp *c) {
  static const char line[] = "GET 100000\n";
  ts_tcp_write(c, (const uint8_t *)line, sizeof line - 1);
}

static void nc_data(void *ctx, ts_tcp *c, const uint8_t *data, size_t len) {
  struct native_client *nc = ctx;
  if (len == 0) {
    nc->eof = true;
    nc->done_at = ts_world_now(nc->w);
    ts_tcp_close(c);
    ts_world_stop(nc->w);
    return;
  }
  for (size_t i = 0; i < len; i++)
    if (data[i] != ts_tcp_content_byte(nc->got + i)) nc->mismatches++;
  nc->got += len;
}

static int native_once(ts_world *w, uint64_t seed, ts_bench_netstack_result *r, uint64_t *packets,
                       double *transfer_s, double *sim_s) {
  ts_world_reset(w, seed);
  ts_net *net;
  ts_host *a, *b;
  ts_ipprefix pa = {.addr = {4, {10, 0, 0, 1}}, .len = 24}, pb = {.addr = {4, {10, 0, 0, 2}}, .len = 24};
  uint32_t ia, ib;
  ts_link_params lp = link_params();
  ts_link_id link;
  ts_tcp_host *ta, *tb;
  ts_tcp_server *srv;
  ts_tcp_server_config sc = {.name = "web", .port = 80, .mode = TS_TCP_SERVER_REQUEST};
  if (ts_net_create(w, &net) || ts_net_add_host(net, "client", &a) || ts_net_add_host(net, "server", &b) ||
      ts_host_add_interface(a, "eth0", &pa, 1, &ia) || ts_host_add_interface(b, "eth0", &pb, 1, &ib) ||
      ts_net_connect(net, "wire", &lp, a, ia, b, ib, &link) || ts_world_link_tap(w, link, count_tap, packets) ||
      ts_tcp_host_create(a, &ta) || ts_tcp_host_create(b, &tb) || ts_tcp_server_create(tb, &sc, &srv))
    return fail(r, seed, "baseline: could not build the two hosts");
  struct native_client nc = {.w = w};
  ts_tcp_config cc = {.name = "bench", .remote = pb.addr, .remote_port = 80, .on_connected = nc_connected,
                      .on_data = nc_data, .ctx = &nc};
  ts_tcp *c;
  double t0 = ts_bench_wall_seconds();
  if (ts_tcp_host_connect(ta, &cc, &c)) return fail(r, seed, "baseline: could not connect");
  ts_world_run_until(w, LIMIT);
  *transfer_s += ts_bench_wall_seconds() - t0;
  *sim_s += (double)nc.done_at / (double)TS_SEC;
  if (nc.eof && nc.got == TS_BENCH_NETSTACK_BYTES && !nc.mismatches) return 0;
  snprintf(r->failure, sizeof r->failure, "baseline: transfer incomplete (received %llu bytes, %llu wrong, %s)",
           (unsigned long long)nc.got, (unsigned long long)nc.mismatches,
           ts_tcp_reason_name(ts_tcp_close_reason(c)));
  return fail(r, seed, NULL);
}

int ts_bench_netstack(double seconds, ts_bench_netstack_result *out) {
  memset(out, 0, sizeof *out);
  out->instances = ts_netstack_capacity();
  ts_world *w;
  if (ts_world_create(&w, &ts_native_backend, 1)) return -1;
  uint64_t packets = 0;
  int rc = idle_resets(w, out, &packets);
  /* Two thirds of the time for lwIP, one third for the baseline. */
  double create_s = 0, transfer_s = 0, reset_s = 0, t0 = ts_bench_wall_seconds();
  uint64_t seed = 1;
  while (!rc && (out->transfers < MIN_RUNS || ts_bench_wall_seconds() - t0 < seconds * 2 / 3)) {
    rc = lwip_once(w, seed++, out, &packets, &create_s, &transfer_s, &reset_s);
    if (!rc) out->transfers++;
  }
  double native_s = 0, native_sim = 0;
  t0 = ts_bench_wall_seconds();
  seed = 1;
  while (!rc && (out->native_transfers < MIN_RUNS || ts_bench_wall_seconds() - t0 < seconds / 3)) {
    rc = native_once(w, seed++, out, &packets, &native_s, &native_sim);
    if (!rc) out->native_transfers++;
  }
  ts_world_destroy(w);
  if (rc) return -1;
  double n = (double)out->transfers;
  out->verified = true;
  out->transfer_100k_us = transfer_s * 1e6 / n;
  out->reset_us = reset_s * 1e6 / n;
  out->create_us = create_s * 1e6 / n;
  out->sim_seconds /= n;
  out->packets /= n;
  out->native_transfer_100k_us = native_s * 1e6 / (double)out->native_transfers;
  out->native_sim_seconds = native_sim / (double)out->native_transfers;
  return 0;
}
