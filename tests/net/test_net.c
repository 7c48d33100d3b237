/* Hosts as the network's building blocks: routes, forwarding with TTL, UDP
 * bindings and the transit hook. */
#include "ts_native.h"
#include "ts_net.h"
#include "tstest.h"
#include "tstest_net.h"

struct chain {
  ts_world *w;
  ts_net *net;
  ts_host *a, *r, *b;
};

/* a (10.1.0.2) -- r (10.1.0.1 | 10.2.0.1) -- b (10.2.0.2) */
static int build_chain(struct chain *c, bool forwarding) {
  if (ts_world_create(&c->w, &ts_native_backend, 1)) return -1;
  ts_net_create(c->w, &c->net);
  ts_net_add_host(c->net, "a", &c->a);
  ts_net_add_host(c->net, "r", &c->r);
  ts_net_add_host(c->net, "b", &c->b);
  ts_ipprefix pa = ts_test_prefix("10.1.0.2/24"), pr1 = ts_test_prefix("10.1.0.1/24");
  ts_ipprefix pr2 = ts_test_prefix("10.2.0.1/24"), pb = ts_test_prefix("10.2.0.2/24");
  uint32_t ia, ir1, ir2, ib;
  ts_host_add_interface(c->a, "eth0", &pa, 1, &ia);
  ts_host_add_interface(c->r, "eth0", &pr1, 1, &ir1);
  ts_host_add_interface(c->r, "eth1", &pr2, 1, &ir2);
  ts_host_add_interface(c->b, "eth0", &pb, 1, &ib);
  ts_link_params p = {.delay = TS_MS, .mtu = 1500, .queue_limit = 100, .up = true};
  ts_link_id l;
  ts_net_connect(c->net, "ar", &p, c->a, ia, c->r, ir1, &l);
  ts_net_connect(c->net, "rb", &p, c->r, ir2, c->b, ib, &l);
  ts_host_set_forwarding(c->r, forwarding);
  return 0;
}

static uint32_t ping(struct chain *c, const char *target) {
  ts_app_config cfg = {.name = "p", .kind = TS_NET_APP_PING, .interval = TS_SEC, .count = 3, .size = 16};
  ts_ipaddr_parse(target, &cfg.target);
  ts_net_add_app(c->net, c->a, &cfg);
  ts_world_run_until(c->w, 10 * TS_SEC);
  ts_app_stats st;
  ts_net_app_stats(c->net, 0, &st);
  return st.received;
}

TS_TEST(router_forwards_between_links) {
  struct chain c;
  TS_CHECK(build_chain(&c, true) == 0);
  TS_CHECK_INT(ping(&c, "10.2.0.2"), ==, 3);
  ts_world_destroy(c.w);
}

TS_TEST(host_without_forwarding_drops_transit) {
  struct chain c;
  TS_CHECK(build_chain(&c, false) == 0);
  TS_CHECK_INT(ping(&c, "10.2.0.2"), ==, 0);
  TS_CHECK(ts_net_unrouted(c.net) >= 3);
  ts_world_destroy(c.w);
}

TS_TEST(router_needs_a_route_back_when_off_link) {
  /* b has no address in 10.1.0.0/24 and only one interface: its fallback route
   * answers; a static route on r to an unknown prefix is used by longest prefix. */
  struct chain c;
  TS_CHECK(build_chain(&c, true) == 0);
  ts_ipprefix far = ts_test_prefix("192.0.2.0/24");
  TS_CHECK_INT(ts_host_add_route(c.r, &far, 1), ==, TS_OK);
  TS_CHECK_INT(ts_host_add_route(c.r, &far, 7), ==, TS_EINVAL);
  TS_CHECK_INT(ping(&c, "192.0.2.9"), ==, 0); /* forwarded to b, which does not own it */
  TS_CHECK(ts_net_unrouted(c.net) >= 3);
  ts_world_destroy(c.w);
}

struct udp_seen {
  int n;
  uint16_t sport;
  uint32_t len;
};

static void on_udp(void *ctx, ts_host *h, const ts_ip_info *info, const uint8_t *payload, uint32_t len) {
  struct udp_seen *s = ctx;
  (void)h;
  (void)payload;
  s->n++;
  s->sport = info->sport;
  s->len = len;
}

TS_TEST(udp_binding_receives_its_port_only) {
  struct chain c;
  TS_CHECK(build_chain(&c, true) == 0);
  struct udp_seen seen = {0};
  TS_CHECK_INT(ts_host_bind_udp(c.b, 53, on_udp, &seen), ==, TS_OK);
  TS_CHECK_INT(ts_host_bind_udp(c.b, 53, on_udp, &seen), ==, TS_EEXIST);
  ts_ipaddr src, dst;
  ts_ipaddr_parse("10.2.0.2", &dst);
  TS_CHECK(ts_host_source_for(c.a, &dst, &src));
  uint8_t payload[5] = "hello";
  for (uint16_t port = 53; port <= 54; port++) {
    ts_packet *p = ts_packet_alloc(ts_world_pool(c.w), 100);
    p->len = ts_ip_build_udp(p->data, 100, &src, &dst, 4444, port, payload, sizeof payload);
    ts_host_send(c.a, p);
  }
  ts_world_run_until(c.w, TS_SEC);
  TS_CHECK_INT(seen.n, ==, 1);
  TS_CHECK_INT(seen.sport, ==, 4444);
  TS_CHECK_INT(seen.len, ==, 5);
  ts_world_destroy(c.w);
}

static bool swallow(void *ctx, ts_host *h, uint32_t iface_in, ts_packet *pkt) {
  int *n = ctx;
  (*n)++;
  ts_packet_free(ts_world_pool(ts_host_world(h)), pkt);
  return iface_in == 0;
}

TS_TEST(transit_hook_sees_packets_before_forwarding) {
  struct chain c;
  TS_CHECK(build_chain(&c, true) == 0);
  int n = 0;
  ts_host_set_transit_hook(c.r, swallow, &n);
  TS_CHECK_INT(ping(&c, "10.2.0.2"), ==, 0);
  TS_CHECK_INT(n, ==, 3);
  TS_CHECK_INT(ts_packet_pool_outstanding(ts_world_pool(c.w)), ==, 0);
  ts_world_destroy(c.w);
}

static bool take_echo_requests(void *ctx, ts_host *h, const ts_ip_info *info, ts_packet *pkt) {
  int *n = ctx;
  if (info->proto != TS_IPPROTO_ICMP || info->icmp_type != 8) return false;
  (*n)++;
  ts_packet_free(ts_world_pool(ts_host_world(h)), pkt);
  return true;
}

TS_TEST(local_hook_takes_packets_before_the_stack) {
  struct chain c;
  TS_CHECK(build_chain(&c, true) == 0);
  int n = 0;
  ts_host_set_local_hook(c.b, take_echo_requests, &n);
  TS_CHECK_INT(ping(&c, "10.2.0.2"), ==, 0); /* b's stack never sees the requests */
  TS_CHECK_INT(n, ==, 3);
  ts_world_destroy(c.w);
}

struct device_rx {
  ts_world *w;
  int n;
};

static void device_receive(void *ctx, ts_packet *p) {
  struct device_rx *d = ctx;
  d->n++;
  ts_packet_free(ts_world_pool(d->w), p);
}

TS_TEST(a_device_that_is_not_a_host_attaches_to_a_host) {
  struct chain c;
  TS_CHECK(build_chain(&c, true) == 0);
  ts_ipprefix pd = ts_test_prefix("10.3.0.1/24");
  uint32_t id;
  TS_CHECK_INT(ts_host_add_interface(c.r, "eth2", &pd, 1, &id), ==, TS_OK);
  struct device_rx d = {c.w, 0};
  ts_link_end end = {device_receive, &d, "phone/en0"};
  ts_link_params p = {.delay = TS_MS, .mtu = 1500, .queue_limit = 10, .up = true};
  ts_link_id l;
  TS_CHECK_INT(ts_net_connect_device(c.net, "rd", &p, c.r, id, &end, &l), ==, TS_OK);
  TS_CHECK_INT(ts_net_connect_device(c.net, "rd2", &p, c.r, id, &end, &l), ==, TS_EEXIST);
  TS_CHECK_INT(ping(&c, "10.3.0.7"), ==, 0); /* the device does not answer... */
  TS_CHECK_INT(d.n, ==, 3);                  /* ...but it got every request */
  ts_world_destroy(c.w);
}

TS_TEST(ttl_runs_out_at_the_router) {
  struct chain c;
  TS_CHECK(build_chain(&c, true) == 0);
  ts_ipaddr src, dst;
  ts_ipaddr_parse("10.1.0.2", &src);
  ts_ipaddr_parse("10.2.0.2", &dst);
  ts_packet *p = ts_packet_alloc(ts_world_pool(c.w), 100);
  p->len = ts_ip_build_echo(p->data, 100, &src, &dst, false, 9, 1, NULL, 0);
  p->data[8] = 1; /* TTL 1: the router must not forward it */
  p->data[10] = p->data[11] = 0;
  uint16_t sum = ts_checksum_finish(ts_checksum_add(0, p->data, 20));
  p->data[10] = (uint8_t)(sum >> 8);
  p->data[11] = (uint8_t)sum;
  ts_host_send(c.a, p);
  ts_world_run_until(c.w, TS_SEC);
  TS_CHECK_INT(ts_net_unrouted(c.net), ==, 1);
  ts_world_destroy(c.w);
}
