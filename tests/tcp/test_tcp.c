/* ts_tcp, ts_tcp_host and ts_tcp_server on two hosts joined by one link:
 *   a (10.0.0.1, fd00::1) ---- b (10.0.0.2, fd00::2; web server :80, echo server :5223)
 * Every TCP segment arriving at either host has its checksum verified by a local
 * hook placed in front of the TCP tables. */
#include <stdio.h>
#include <stdlib.h>

#include "ts_native.h"
#include "ts_net.h"
#include "ts_tcp.h"
#include "ts_tcp_host.h"
#include "ts_tcp_server.h"
#include "tstest.h"
#include "tstest_net.h"

#define WEB_PORT 80
#define ECHO_PORT 5223
#define CLOSED_PORT 81

struct tb;

struct side {
  struct tb *tb;
  ts_tcp_host *tcp;
  ts_tcp *standalone; /* optional connection driven outside the host table */
};

struct tb {
  ts_world *w;
  ts_net *net;
  ts_host *a, *b;
  ts_link_id link;
  struct side sa, sb;
  ts_tcp_server *web, *echo;
  uint64_t tcp_seen, bad_sums;
};

/* In front of the TCP table: verify, then hand a standalone connection its segments. */
static bool check_hook(void *ctx, ts_host *h, const ts_ip_info *info, ts_packet *pkt) {
  struct side *s = ctx;
  (void)h;
  if (info->proto != TS_IPPROTO_TCP) return false;
  s->tb->tcp_seen++;
  if (!ts_tcp_packet_checksum_ok(pkt->data, pkt->len)) s->tb->bad_sums++;
  if (s->standalone && info->dport == ts_tcp_get_config(s->standalone)->local_port) {
    ts_tcp_input(s->standalone, info, pkt->data + info->l4_offset, info->l4_len);
    ts_packet_free(ts_world_pool(s->tb->w), pkt);
    return true;
  }
  return ts_tcp_host_input(s->tcp, info, pkt);
}

struct opts {
  uint64_t seed;
  double loss;
  ts_time delay;
  uint32_t mtu;
  const char *pcap;
};

static int build(struct tb *tb, const struct opts *o) {
  memset(tb, 0, sizeof *tb);
  if (ts_world_create(&tb->w, &ts_native_backend, o->seed)) return -1;
  if (o->pcap && ts_trace_open_pcapng(ts_world_trace(tb->w), o->pcap)) return -1;
  ts_net_create(tb->w, &tb->net);
  ts_net_add_host(tb->net, "a", &tb->a);
  ts_net_add_host(tb->net, "b", &tb->b);
  ts_ipprefix pa[2] = {ts_test_prefix("10.0.0.1/24"), ts_test_prefix("fd00::1/64")};
  ts_ipprefix pb[2] = {ts_test_prefix("10.0.0.2/24"), ts_test_prefix("fd00::2/64")};
  uint32_t ia, ib;
  ts_host_add_interface(tb->a, "eth0", pa, 2, &ia);
  ts_host_add_interface(tb->b, "eth0", pb, 2, &ib);
  ts_link_params p = {.delay = o->delay ? o->delay : 10 * TS_MS, .loss = o->loss,
                      .mtu = o->mtu ? o->mtu : 1500, .queue_limit = 1000, .up = true};
  if (ts_net_connect(tb->net, "ab", &p, tb->a, ia, tb->b, ib, &tb->link)) return -1;
  if (ts_tcp_host_create(tb->a, &tb->sa.tcp) || ts_tcp_host_create(tb->b, &tb->sb.tcp)) return -1;
  tb->sa.tb = tb->sb.tb = tb;
  ts_host_set_local_hook(tb->a, check_hook, &tb->sa);
  ts_host_set_local_hook(tb->b, check_hook, &tb->sb);
  ts_tcp_server_config web = {.name = "web", .port = WEB_PORT, .mode = TS_TCP_SERVER_REQUEST};
  ts_tcp_server_config echo = {.name = "push", .port = ECHO_PORT, .mode = TS_TCP_SERVER_ECHO};
  echo.tcp.keepalive = true;
  if (ts_tcp_server_create(tb->sb.tcp, &web, &tb->web)) return -1;
  if (ts_tcp_server_create(tb->sb.tcp, &echo, &tb->echo)) return -1;
  return 0;
}

static int build_seed(struct tb *tb, uint64_t seed) {
  struct opts o = {.seed = seed};
  return build(tb, &o);
}

/* ---- a client that fetches "GET n" and checks every byte ------------------------ */

struct client {
  ts_world *w;
  ts_tcp *c;
  uint64_t want, got, mismatches;
  bool connected, eof, close_on_eof;
  int closed;
  ts_tcp_reason reason;
  ts_time closed_at;
  char echo[64];
  size_t echo_len;
};

static void cl_connected(void *ctx, ts_tcp *c) {
  struct client *cl = ctx;
  cl->connected = true;
  if (cl->want == UINT64_MAX) return; /* echo client: writes itself */
  char line[32];
  int n = snprintf(line, sizeof line, "GET %llu\n", (unsigned long long)cl->want);
  ts_tcp_write(c, (const uint8_t *)line, (size_t)n);
}

static void cl_data(void *ctx, ts_tcp *c, const uint8_t *data, size_t len) {
  struct client *cl = ctx;
  if (len == 0) {
    cl->eof = true;
    if (cl->close_on_eof) ts_tcp_close(c);
    return;
  }
  if (cl->want == UINT64_MAX) {
    size_t n = len < sizeof cl->echo - cl->echo_len ? len : sizeof cl->echo - cl->echo_len;
    memcpy(cl->echo + cl->echo_len, data, n);
    cl->echo_len += n;
    return;
  }
  for (size_t i = 0; i < len; i++)
    if (data[i] != ts_tcp_content_byte(cl->got + i)) cl->mismatches++;
  cl->got += len;
}

static void cl_closed(void *ctx, ts_tcp *c, ts_tcp_reason why) {
  struct client *cl = ctx;
  (void)c;
  cl->closed++;
  cl->reason = why;
  cl->closed_at = ts_world_now(cl->w);
  cl->c = NULL; /* the host table frees it after this returns */
}

static ts_tcp_config client_config(struct client *cl, const char *remote, uint16_t port) {
  ts_tcp_config k = {.remote = ts_test_addr(remote), .remote_port = port, .on_connected = cl_connected,
                     .on_data = cl_data, .on_closed = cl_closed, .ctx = cl};
  return k;
}

/* A client of the echo server: it writes itself and collects what comes back. */
static ts_tcp_config echo_client(struct tb *tb, struct client *cl) {
  memset(cl, 0, sizeof *cl);
  cl->w = tb->w;
  cl->want = UINT64_MAX;
  return client_config(cl, "10.0.0.2", ECHO_PORT);
}

static int fetch(struct tb *tb, struct client *cl, const char *remote, uint16_t port, uint64_t n) {
  memset(cl, 0, sizeof *cl);
  cl->w = tb->w;
  cl->want = n;
  cl->close_on_eof = true;
  ts_tcp_config k = client_config(cl, remote, port);
  return ts_tcp_host_connect(tb->sa.tcp, &k, &cl->c);
}

/* Ends a test world: no packet may be left with anybody, every segment verified. */
static void finish(struct tb *tb) {
  TS_CHECK_INT(tb->bad_sums, ==, 0);
  TS_CHECK_INT(ts_packet_pool_outstanding(ts_world_pool(tb->w)), ==, 0);
  ts_world_destroy(tb->w);
}

/* ---- transfers -------------------------------------------------------------------- */

static void transfer(double loss, uint64_t seed, uint64_t *retrans, char hash[TS_TRACE_HASH_HEX]) {
  struct tb tb;
  struct opts o = {.seed = seed, .loss = loss};
  TS_CHECK(build(&tb, &o) == 0);
  struct client cl;
  TS_CHECK_INT(fetch(&tb, &cl, "10.0.0.2", WEB_PORT, 100 * 1024), ==, TS_OK);
  TS_CHECK_INT(ts_world_run_until(tb.w, 3600 * TS_SEC), ==, TS_OK);
  TS_CHECK_INT(cl.closed, ==, 1);
  TS_CHECK_STR(ts_tcp_reason_name(cl.reason), "fin");
  TS_CHECK_INT(cl.got, ==, 100 * 1024);
  TS_CHECK_INT(cl.mismatches, ==, 0);
  ts_tcp_server_stats st;
  ts_tcp_server_get_stats(tb.web, &st);
  TS_CHECK_INT(st.requests, ==, 1);
  TS_CHECK_INT(st.closed[TS_TCP_REASON_FIN], ==, 1);
  TS_CHECK_INT(ts_tcp_host_open_count(tb.sa.tcp), ==, 0);
  TS_CHECK_INT(ts_tcp_host_open_count(tb.sb.tcp), ==, 0); /* TIME_WAIT is over too */
  TS_CHECK(tb.tcp_seen > 140);
  if (retrans) *retrans = st.retransmissions;
  if (hash) ts_trace_hash_hex(ts_world_trace(tb.w), hash);
  finish(&tb);
}

TS_TEST(fetch_100k_exact_bytes) {
  uint64_t r = 99;
  transfer(0, 1, &r, NULL);
  TS_CHECK_INT(r, ==, 0);
}

TS_TEST(fetch_100k_with_5_percent_loss) {
  uint64_t r = 0;
  transfer(0.05, 2, &r, NULL);
  TS_CHECK(r > 0);
}

TS_TEST(fetch_100k_with_20_percent_loss) {
  uint64_t r = 0;
  transfer(0.20, 3, &r, NULL);
  TS_CHECK(r > 0);
}

TS_TEST(same_seed_same_trace_other_seed_differs) {
  char h1[TS_TRACE_HASH_HEX], h2[TS_TRACE_HASH_HEX], h3[TS_TRACE_HASH_HEX];
  transfer(0.05, 7, NULL, h1);
  transfer(0.05, 7, NULL, h2);
  transfer(0.05, 8, NULL, h3);
  TS_CHECK_STR(h1, h2);
  TS_CHECK(strcmp(h1, h3) != 0);
}

/* Sans-IO use: a connection outside the host table, its packets checked as emitted. */
struct tap {
  ts_host *h;
  uint64_t sent, bad;
};

static void tap_send(void *ctx, ts_packet *pkt) {
  struct tap *t = ctx;
  t->sent++;
  if (!ts_tcp_packet_checksum_ok(pkt->data, pkt->len)) t->bad++;
  ts_host_send(t->h, pkt);
}

TS_TEST(standalone_ipv6_fetch_small_mtu) {
  struct tb tb;
  struct opts o = {.seed = 4, .loss = 0.05, .mtu = 1280};
  TS_CHECK(build(&tb, &o) == 0);
  struct client cl = {.w = tb.w, .want = 50000, .close_on_eof = true};
  struct tap tap = {.h = tb.a};
  ts_tcp_config k = client_config(&cl, "fd00::2", WEB_PORT);
  k.name = "standalone";
  k.local = ts_test_addr("fd00::1");
  k.local_port = 40000;
  k.mss = 1280 - 60;
  k.send_ip = tap_send;
  k.send_ctx = &tap;
  ts_tcp *c;
  TS_CHECK_INT(ts_tcp_create(tb.w, &k, &c), ==, TS_OK);
  tb.sa.standalone = c;
  TS_CHECK_INT(ts_tcp_connect(c), ==, TS_OK);
  TS_CHECK_INT(ts_tcp_connect(c), ==, TS_ESTATE);
  TS_CHECK_INT(ts_world_run_until(tb.w, 600 * TS_SEC), ==, TS_OK);
  TS_CHECK_INT(cl.got, ==, 50000);
  TS_CHECK_INT(cl.mismatches, ==, 0);
  TS_CHECK_STR(ts_tcp_state_name(ts_tcp_get_state(c)), "CLOSED");
  TS_CHECK_STR(ts_tcp_reason_name(cl.reason), "fin");
  TS_CHECK(tap.sent > 0);
  TS_CHECK_INT(tap.bad, ==, 0);
  TS_CHECK_INT(ts_tcp_next_timer(c), ==, TS_TIME_NEVER);
  ts_tcp_destroy(c);
  tb.sa.standalone = NULL;
  finish(&tb);
}

/* ---- opening failures --------------------------------------------------------------- */

TS_TEST(closed_port_is_refused_by_rst) {
  struct tb tb;
  TS_CHECK(build_seed(&tb, 1) == 0);
  struct client cl;
  TS_CHECK_INT(fetch(&tb, &cl, "10.0.0.2", CLOSED_PORT, 10), ==, TS_OK);
  TS_CHECK_INT(ts_world_run_until(tb.w, 10 * TS_SEC), ==, TS_OK);
  TS_CHECK_INT(cl.closed, ==, 1);
  TS_CHECK_STR(ts_tcp_reason_name(cl.reason), "refused");
  TS_CHECK(cl.closed_at < 100 * TS_MS); /* one round trip, no retries */
  TS_CHECK_INT(ts_tcp_host_resets_sent(tb.sb.tcp), ==, 1);
  TS_CHECK_INT(ts_tcp_host_resets_sent(tb.sa.tcp), ==, 0); /* a RST is never answered */
  finish(&tb);
}

TS_TEST(syn_to_unreachable_host_times_out) {
  struct tb tb;
  TS_CHECK(build_seed(&tb, 1) == 0);
  struct client cl = {.w = tb.w, .want = 10};
  ts_tcp_config k = client_config(&cl, "10.0.0.99", WEB_PORT); /* nobody has it */
  k.syn_retries = 3;
  TS_CHECK_INT(ts_tcp_host_connect(tb.sa.tcp, &k, &cl.c), ==, TS_OK);
  TS_CHECK_INT(ts_world_run_until(tb.w, 100 * TS_SEC), ==, TS_OK);
  TS_CHECK_INT(cl.closed, ==, 1);
  TS_CHECK(!cl.connected);
  TS_CHECK_STR(ts_tcp_reason_name(cl.reason), "timeout");
  TS_CHECK_INT(cl.closed_at, ==, 15 * TS_SEC); /* SYN at 0, retries at 1, 3, 7; gives up at 15 */
  finish(&tb);
}

TS_TEST(stray_ack_to_listener_draws_rst) {
  struct tb tb;
  TS_CHECK(build_seed(&tb, 1) == 0);
  ts_ipaddr src = ts_test_addr("10.0.0.1"), dst = ts_test_addr("10.0.0.2");
  ts_tcp_seg seg = {.seq = 1000, .ack = 5000, .flags = TS_TCP_FLAG_ACK, .window = 100};
  ts_packet *p = ts_packet_alloc(ts_world_pool(tb.w), 100);
  p->len = ts_tcp_build(p->data, 100, &src, &dst, 33333, WEB_PORT, &seg);
  TS_CHECK_INT(p->len, ==, 40);
  ts_host_send(tb.a, p);
  TS_CHECK_INT(ts_world_run_until(tb.w, TS_SEC), ==, TS_OK);
  TS_CHECK_INT(ts_tcp_host_resets_sent(tb.sb.tcp), ==, 1); /* <SEQ=SEG.ACK><CTL=RST> */
  TS_CHECK_INT(ts_tcp_host_resets_sent(tb.sa.tcp), ==, 0);
  TS_CHECK_INT(tb.tcp_seen, ==, 2);
  finish(&tb);
}

/* ---- closing ------------------------------------------------------------------------- */

struct peer {
  ts_tcp *c;
  int closed;
  ts_tcp_reason reason;
  bool eof;
};

static bool peer_accept(void *ctx, ts_tcp *c) {
  struct peer *p = ctx;
  p->c = c;
  return true;
}
static void peer_data(void *ctx, ts_tcp *c, const uint8_t *data, size_t len) {
  struct peer *p = ctx;
  (void)c;
  (void)data;
  if (len == 0) p->eof = true;
}
static void peer_closed(void *ctx, ts_tcp *c, ts_tcp_reason why) {
  struct peer *p = ctx;
  (void)c;
  p->closed++;
  p->reason = why;
}

static void close_both(void *obj, uint64_t arg) {
  struct peer *ps = obj;
  (void)arg;
  ts_tcp_close(ps[0].c);
  ts_tcp_close(ps[1].c);
}

TS_TEST(fin_handshake_both_ways_and_simultaneous_close) {
  struct tb tb;
  TS_CHECK(build_seed(&tb, 1) == 0);
  struct peer ps[2] = {{0}};
  ts_tcp_config tmpl = {.on_data = peer_data, .on_closed = peer_closed, .ctx = &ps[1],
                        .time_wait = 2 * TS_SEC};
  TS_CHECK_INT(ts_tcp_host_listen(tb.sb.tcp, 9000, &tmpl, peer_accept, &ps[1]), ==, TS_OK);
  TS_CHECK_INT(ts_tcp_host_listen(tb.sb.tcp, 9000, &tmpl, peer_accept, &ps[1]), ==, TS_EEXIST);
  ts_tcp_config k = {.remote = ts_test_addr("10.0.0.2"), .remote_port = 9000, .on_data = peer_data,
                     .on_closed = peer_closed, .ctx = &ps[0], .time_wait = 2 * TS_SEC};
  TS_CHECK_INT(ts_tcp_host_connect(tb.sa.tcp, &k, &ps[0].c), ==, TS_OK);
  TS_CHECK_INT(ts_world_schedule(tb.w, TS_SEC, close_both, ps, 0, NULL), ==, TS_OK);
  TS_CHECK_INT(ts_world_run_until(tb.w, TS_SEC / 2), ==, TS_OK);
  TS_CHECK_STR(ts_tcp_state_name(ts_tcp_get_state(ps[0].c)), "ESTABLISHED");
  TS_CHECK_STR(ts_tcp_state_name(ts_tcp_get_state(ps[1].c)), "ESTABLISHED");
  TS_CHECK_INT(ts_world_run_until(tb.w, TS_SEC + 5 * TS_MS), ==, TS_OK);
  TS_CHECK_STR(ts_tcp_state_name(ts_tcp_get_state(ps[0].c)), "FIN_WAIT_1");
  TS_CHECK_INT(ts_world_run_until(tb.w, TS_SEC + 15 * TS_MS), ==, TS_OK); /* FINs crossed */
  TS_CHECK_STR(ts_tcp_state_name(ts_tcp_get_state(ps[0].c)), "CLOSING");
  TS_CHECK_STR(ts_tcp_state_name(ts_tcp_get_state(ps[1].c)), "CLOSING");
  TS_CHECK_INT(ts_world_run_until(tb.w, TS_SEC + 25 * TS_MS), ==, TS_OK); /* ACKs crossed */
  TS_CHECK_STR(ts_tcp_state_name(ts_tcp_get_state(ps[0].c)), "TIME_WAIT");
  TS_CHECK_STR(ts_tcp_state_name(ts_tcp_get_state(ps[1].c)), "TIME_WAIT");
  TS_CHECK(ps[0].eof && ps[1].eof);
  TS_CHECK_INT(ps[0].closed + ps[1].closed, ==, 0);
  TS_CHECK_INT(ts_world_run_until(tb.w, 10 * TS_SEC), ==, TS_OK);
  TS_CHECK_INT(ps[0].closed, ==, 1);
  TS_CHECK_INT(ps[1].closed, ==, 1);
  TS_CHECK_STR(ts_tcp_reason_name(ps[0].reason), "fin");
  TS_CHECK_STR(ts_tcp_reason_name(ps[1].reason), "fin");
  finish(&tb);
}

static void client_close(void *obj, uint64_t arg) {
  struct client *cl = obj;
  (void)arg;
  ts_tcp_close(cl->c);
}

TS_TEST(client_close_goes_through_fin_wait_2_and_time_wait) {
  struct tb tb;
  struct client cl;
  TS_CHECK(build_seed(&tb, 1) == 0);
  ts_tcp_config k = echo_client(&tb, &cl);
  TS_CHECK_INT(ts_tcp_host_connect(tb.sa.tcp, &k, &cl.c), ==, TS_OK);
  TS_CHECK_INT(ts_world_run_until(tb.w, TS_SEC), ==, TS_OK);
  TS_CHECK(cl.connected);
  TS_CHECK_INT(ts_tcp_write(cl.c, (const uint8_t *)"hello", 5), ==, 5);
  TS_CHECK_INT(ts_world_run_until(tb.w, 2 * TS_SEC), ==, TS_OK);
  TS_CHECK_INT(cl.echo_len, ==, 5);
  TS_CHECK_MEM(cl.echo, "hello", 5);
  ts_tcp *c = cl.c;
  TS_CHECK_INT(ts_world_schedule(tb.w, 3 * TS_SEC, client_close, &cl, 0, NULL), ==, TS_OK);
  TS_CHECK_INT(ts_world_run_until(tb.w, 3 * TS_SEC + 5 * TS_MS), ==, TS_OK);
  TS_CHECK_STR(ts_tcp_state_name(ts_tcp_get_state(c)), "FIN_WAIT_1");
  TS_CHECK_INT(ts_tcp_write(c, (const uint8_t *)"x", 1), ==, TS_ESTATE);
  TS_CHECK_INT(ts_world_run_until(tb.w, 3 * TS_SEC + 30 * TS_MS), ==, TS_OK);
  TS_CHECK_STR(ts_tcp_state_name(ts_tcp_get_state(c)), "TIME_WAIT"); /* via FIN_WAIT_2 */
  TS_CHECK(cl.eof);
  TS_CHECK_INT(ts_world_run_until(tb.w, 20 * TS_SEC), ==, TS_OK);
  TS_CHECK_INT(cl.closed, ==, 1);
  TS_CHECK_INT(cl.closed_at, ==, 3 * TS_SEC + 20 * TS_MS + TS_TCP_TIME_WAIT_DEFAULT);
  TS_CHECK_STR(ts_tcp_reason_name(cl.reason), "fin");
  ts_tcp_server_stats st;
  ts_tcp_server_get_stats(tb.echo, &st);
  TS_CHECK_INT(st.closed[TS_TCP_REASON_FIN], ==, 1); /* CLOSE_WAIT -> LAST_ACK -> CLOSED */
  finish(&tb);
}

TS_TEST(abort_resets_the_peer) {
  struct tb tb;
  struct client cl;
  TS_CHECK(build_seed(&tb, 1) == 0);
  ts_tcp_config k = echo_client(&tb, &cl);
  TS_CHECK_INT(ts_tcp_host_connect(tb.sa.tcp, &k, &cl.c), ==, TS_OK);
  TS_CHECK_INT(ts_world_run_until(tb.w, TS_SEC), ==, TS_OK);
  ts_tcp_abort(cl.c);
  TS_CHECK_STR(ts_tcp_reason_name(cl.reason), "aborted");
  TS_CHECK_INT(ts_world_run_until(tb.w, 2 * TS_SEC), ==, TS_OK);
  ts_tcp_server_stats st;
  ts_tcp_server_get_stats(tb.echo, &st);
  TS_CHECK_INT(st.closed[TS_TCP_REASON_RESET], ==, 1);
  TS_CHECK_INT(ts_tcp_host_open_count(tb.sb.tcp), ==, 0);
  finish(&tb);
}

/* ---- long-lived connections --------------------------------------------------------- */

TS_TEST(long_lived_connection_survives_10_min_idle_with_keepalives) {
  struct tb tb;
  struct client cl;
  TS_CHECK(build_seed(&tb, 5) == 0);
  ts_tcp_config k = echo_client(&tb, &cl);
  k.keepalive = true;
  k.keepalive_idle = 30 * TS_SEC;
  TS_CHECK_INT(ts_tcp_host_connect(tb.sa.tcp, &k, &cl.c), ==, TS_OK);
  TS_CHECK_INT(ts_world_run_until(tb.w, 601 * TS_SEC), ==, TS_OK);
  TS_CHECK_STR(ts_tcp_state_name(ts_tcp_get_state(cl.c)), "ESTABLISHED");
  const ts_tcp_stats *s = ts_tcp_get_stats(cl.c);
  TS_CHECK_INT(s->keepalives_sent, ==, 20); /* every 30 s, each answered */
  TS_CHECK_INT(ts_tcp_write(cl.c, (const uint8_t *)"ping", 4), ==, 4);
  TS_CHECK_INT(ts_world_run_until(tb.w, 602 * TS_SEC), ==, TS_OK);
  TS_CHECK_INT(cl.echo_len, ==, 4);
  TS_CHECK_MEM(cl.echo, "ping", 4);
  TS_CHECK_INT(cl.closed, ==, 0);
  finish(&tb);
}

static void link_set(void *obj, uint64_t up) {
  struct tb *tb = obj;
  ts_world_link_set_up(tb->w, tb->link, up != 0);
}

TS_TEST(keepalive_gives_up_when_the_peer_is_gone) {
  struct tb tb;
  struct client cl;
  TS_CHECK(build_seed(&tb, 5) == 0);
  ts_tcp_config k = echo_client(&tb, &cl);
  k.keepalive = true;
  k.keepalive_idle = 30 * TS_SEC;
  k.keepalive_interval = 5 * TS_SEC;
  k.keepalive_probes = 3;
  TS_CHECK_INT(ts_tcp_host_connect(tb.sa.tcp, &k, &cl.c), ==, TS_OK);
  TS_CHECK_INT(ts_world_schedule(tb.w, TS_SEC, link_set, &tb, 0, NULL), ==, TS_OK);
  TS_CHECK_INT(ts_world_run_until(tb.w, 600 * TS_SEC), ==, TS_OK);
  TS_CHECK_INT(cl.closed, ==, 1);
  TS_CHECK_STR(ts_tcp_reason_name(cl.reason), "timeout");
  /* last segment at 20 ms; probes at 30.02, 35.02, 40.02 s; gives up at 45.02 s */
  TS_CHECK_INT(cl.closed_at, ==, 45 * TS_SEC + 20 * TS_MS);
  finish(&tb);
}

TS_TEST(transfer_resumes_after_link_outage) {
  struct tb tb;
  TS_CHECK(build_seed(&tb, 6) == 0);
  struct client cl;
  TS_CHECK_INT(fetch(&tb, &cl, "10.0.0.2", WEB_PORT, 100 * 1024), ==, TS_OK);
  TS_CHECK_INT(ts_world_schedule(tb.w, 60 * TS_MS, link_set, &tb, 0, NULL), ==, TS_OK);
  TS_CHECK_INT(ts_world_schedule(tb.w, 20 * TS_SEC, link_set, &tb, 1, NULL), ==, TS_OK);
  TS_CHECK_INT(ts_world_run_until(tb.w, 19 * TS_SEC), ==, TS_OK);
  TS_CHECK(cl.got > 0 && cl.got < 100 * 1024);
  TS_CHECK_INT(cl.closed, ==, 0);
  TS_CHECK_INT(ts_world_run_until(tb.w, 600 * TS_SEC), ==, TS_OK);
  TS_CHECK_INT(cl.got, ==, 100 * 1024);
  TS_CHECK_INT(cl.mismatches, ==, 0);
  TS_CHECK_STR(ts_tcp_reason_name(cl.reason), "fin");
  finish(&tb);
}

TS_TEST(data_retries_run_out_when_the_link_stays_down) {
  struct tb tb;
  struct client cl;
  TS_CHECK(build_seed(&tb, 6) == 0);
  ts_tcp_config k = echo_client(&tb, &cl);
  k.data_retries = 3;
  TS_CHECK_INT(ts_tcp_host_connect(tb.sa.tcp, &k, &cl.c), ==, TS_OK);
  TS_CHECK_INT(ts_world_run_until(tb.w, TS_SEC), ==, TS_OK);
  link_set(&tb, 0);
  TS_CHECK_INT(ts_tcp_write(cl.c, (const uint8_t *)"lost", 4), ==, 4);
  TS_CHECK_INT(ts_world_run_until(tb.w, 100 * TS_SEC), ==, TS_OK);
  TS_CHECK_STR(ts_tcp_reason_name(cl.reason), "timeout");
  TS_CHECK_INT(cl.closed_at, ==, 16 * TS_SEC); /* 1 + (1 + 2 + 4 + 8) */
  finish(&tb);
}

/* ---- Wireshark agrees ---------------------------------------------------------------- */

TS_TEST(wireshark_finds_valid_segments) {
  const char *pcap = TS_TCP_OUT_DIR "/tcp.pcapng";
  struct tb tb;
  struct opts o = {.seed = 9, .loss = 0.05, .pcap = pcap};
  TS_CHECK(build(&tb, &o) == 0);
  struct client web, push;
  TS_CHECK_INT(fetch(&tb, &web, "10.0.0.2", WEB_PORT, 20000), ==, TS_OK);
  TS_CHECK_INT(fetch(&tb, &push, "fd00::2", WEB_PORT, 30000), ==, TS_OK);
  TS_CHECK_INT(ts_world_run_until(tb.w, 600 * TS_SEC), ==, TS_OK);
  TS_CHECK_INT(web.got, ==, 20000);
  TS_CHECK_INT(push.got, ==, 30000);
  TS_CHECK_INT(ts_trace_close_sinks(ts_world_trace(tb.w)), ==, TS_OK);
  finish(&tb);
  if (system("command -v tshark >/dev/null 2>&1") != 0) {
    printf("tshark not found: pcapng check skipped (scripts/deps.sh installs it)\n");
    return;
  }
  const char *chk = "-o tcp.check_checksum:TRUE";
  int tcp = ts_test_tshark_count_with(pcap, chk, "tcp");
  int bad = ts_test_tshark_count_with(pcap, chk, "tcp.checksum.status == 0 || _ws.malformed || ip.checksum.status == 0");
  int mss = ts_test_tshark_count_with(pcap, chk, "tcp.flags.syn == 1 && tcp.options.mss_val");
  int odd = ts_test_tshark_count_with(pcap, chk,
                         "tcp.analysis.flags && !tcp.analysis.retransmission && "
                         "!tcp.analysis.fast_retransmission && !tcp.analysis.duplicate_ack");
  printf("pcapng %s: %d tcp, %d bad, %d SYN with MSS, %d other analysis flags\n", pcap, tcp, bad,
         mss, odd);
  TS_CHECK(tcp > 100);
  TS_CHECK_INT(bad, ==, 0);
  TS_CHECK(mss >= 4);
}

int main(int argc, char **argv) { return ts_test_main(argc, argv); }
