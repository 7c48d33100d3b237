/* The phone's DHCP client against the real DHCP server of an access point:
 *
 *   phone en0 (DHCP client) --5 ms-- ap wlan0 192.168.1.1 (ts_dhcp_server, pool .10-.50)
 *
 * Binding, renewal at T1 (unicast), rebinding and expiry when the server is gone,
 * binding again, option 121 routes in the phone's table (origin classless, the
 * router option ignored), a rogue server's new routes taking effect at renewal,
 * the DISCOVER from 0.0.0.0 exempt as control plane (the leak oracle agrees, even
 * under includeAllNetworks while the tunnel is connecting), traffic before the
 * lease dropped cleanly, determinism, and no packet left outstanding. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ts_dhcp_client.h"
#include "ts_leak.h"
#include "ts_native.h"
#include "ts_phone_leaks.h"
#include "tstest.h"
#include "tstest_net.h"

#define MAX_EGRESS 64
#define LINK_DELAY (5 * TS_MS)

typedef struct egress_rec {
  ts_time t;
  ts_ip_info info;
  ts_phone_origin o;
  ts_dhcp_message m; /* decoded when UDP 68 -> 67 */
} egress_rec;

typedef struct bed {
  ts_world *w;
  ts_net *net;
  ts_host *ap;
  ts_phone *ph;
  ts_link_id link;
  ts_dhcp_server *server;
  ts_dhcp_client *client;
  ts_leak_oracle *oracle;
  egress_rec egress[MAX_EGRESS];
  uint32_t egress_count;
  uint32_t events[8];
} bed;

typedef struct opts {
  uint64_t seed;
  uint32_t lease_seconds;
  const char *const *routes; /* option 121 destinations via 192.168.1.1, NULL-terminated */
  bool vpn_ian_connecting;   /* includeAllNetworks on, the session connecting (no provider) */
} opts;

static void on_egress(void *ctx, int iface, const ts_packet *pkt, const ts_phone_origin *o) {
  bed *b = ctx;
  ts_phone_report_egress(b->ph, b->oracle, iface, pkt, o);
  if (b->egress_count == MAX_EGRESS) return;
  egress_rec *r = &b->egress[b->egress_count++];
  memset(r, 0, sizeof *r);
  r->t = ts_world_now(b->w);
  r->o = *o;
  if (ts_ip_parse(pkt->data, pkt->len, &r->info) == 0 && r->info.proto == TS_IPPROTO_UDP &&
      r->info.dport == TS_DHCP_SERVER_PORT) {
    uint32_t off = r->info.l4_offset + TS_UDP_HEADER;
    ts_dhcp_decode(pkt->data + off, r->info.l4_offset + r->info.l4_len - off, &r->m);
  }
}

static void on_event(void *ctx, ts_dhcp_client *c, ts_dhcp_client_event ev) {
  bed *b = ctx;
  (void)c;
  if ((unsigned)ev < 8) b->events[ev]++;
}

static int build(bed *b, const opts *o) {
  memset(b, 0, sizeof *b);
  if (ts_world_create(&b->w, &ts_native_backend, o->seed ? o->seed : 1)) return -1;
  if (ts_net_create(b->w, &b->net) || ts_net_add_host(b->net, "ap", &b->ap)) return -2;
  ts_ipprefix lan = ts_test_prefix("192.168.1.1/24");
  uint32_t wlan;
  if (ts_host_add_interface(b->ap, "wlan0", &lan, 1, &wlan)) return -3;
  ts_phone_config pc = {.name = "phone"};
  if (ts_phone_create(b->w, &pc, &b->ph)) return -4;
  ts_link_params lp = {.delay = LINK_DELAY, .mtu = 1500, .queue_limit = 64, .up = true};
  if (ts_phone_attach(b->ph, "en0", b->net, b->ap, wlan, &lp, &b->link)) return -5;
  if (ts_phone_iface_set_up(b->ph, "en0", true) || ts_phone_set_primary(b->ph, "en0")) return -6;
  if (ts_leak_oracle_create(b->w, &b->oracle)) return -7;
  ts_phone_set_egress_hook(b->ph, on_egress, b);

  ts_dhcp_server_config sc;
  memset(&sc, 0, sizeof sc);
  sc.iface = wlan;
  sc.pool_first = ts_test_addr("192.168.1.10");
  sc.pool_last = ts_test_addr("192.168.1.50");
  sc.prefix_len = 24;
  sc.router = ts_test_addr("192.168.1.1");
  sc.dns[0] = ts_test_addr("192.168.1.1");
  sc.dns_count = 1;
  sc.lease_seconds = o->lease_seconds ? o->lease_seconds : 3600;
  for (uint32_t i = 0; o->routes && o->routes[i]; i++) {
    sc.routes[i].dst = ts_test_prefix(o->routes[i]);
    sc.routes[i].router = ts_test_addr("192.168.1.1");
    sc.route_count++;
  }
  if (ts_dhcp_server_create(b->ap, &sc, &b->server)) return -8;

  if (o->vpn_ian_connecting) {
    if (ts_phone_vpn_set_enabled(b->ph, true) ||
        ts_vpn_config_set_flag(ts_phone_vpn_config(b->ph), TS_FLAG_INCLUDE_ALL_NETWORKS, true) ||
        ts_phone_vpn_start(b->ph, TS_START_USER))
      return -9;
  }
  ts_dhcp_client_config cc;
  memset(&cc, 0, sizeof cc);
  cc.ifname = "en0";
  cc.on_event = on_event;
  cc.ctx = b;
  if (ts_dhcp_client_create(b->ph, &cc, &b->client)) return -10;
  if (ts_dhcp_client_start(b->client, 0)) return -11;
  return 0;
}

static size_t en0_addresses(bed *b) {
  ts_os_ifaces *ifs = ts_phone_ifaces(b->ph);
  return ts_os_iface_address_count(ifs, ts_phone_iface(b->ph, "en0"));
}

static size_t routes_of(bed *b, ts_route_origin origin) {
  ts_route_table *rt = ts_phone_routes(b->ph);
  size_t n = 0;
  for (size_t i = 0; i < ts_route_count(rt); i++)
    if (ts_route_at(rt, i)->origin == origin) n++;
  return n;
}

static bool is_addr(const ts_ipaddr *a, const char *text) {
  ts_ipaddr b = ts_test_addr(text);
  return ts_ipaddr_equal(a, &b);
}

TS_TEST(binds_from_zero_address_and_installs_the_lease) {
  bed b;
  opts o = {0};
  TS_CHECK_INT(build(&b, &o), ==, 0);
  TS_CHECK_INT(ts_dhcp_client_get_state(b.client), ==, TS_DHCPC_STOPPED);
  TS_CHECK_INT(ts_world_run_until(b.w, 1 * TS_SEC), ==, 0);
  TS_CHECK_INT(ts_dhcp_client_get_state(b.client), ==, TS_DHCPC_BOUND);
  TS_CHECK_INT(b.events[TS_DHCPC_EV_BOUND], ==, 1);
  ts_dhcp_lease l;
  ts_time expires;
  TS_CHECK(ts_dhcp_client_lease(b.client, &l, &expires));
  TS_CHECK(is_addr(&l.address.addr, "192.168.1.10"));
  TS_CHECK_INT(l.address.len, ==, 24);
  TS_CHECK(is_addr(&l.router, "192.168.1.1"));
  TS_CHECK_INT(l.classless_count, ==, 0);
  /* the REQUEST left after one round trip; the lease counts from it */
  TS_CHECK_INT(expires, ==, 2 * LINK_DELAY + 3600 * TS_SEC);
  /* the phone has the address and a default route from the router option */
  TS_CHECK_INT(en0_addresses(&b), ==, 1);
  TS_CHECK_INT(routes_of(&b, TS_ROUTE_DHCP_ROUTER), ==, 1);
  TS_CHECK_INT(routes_of(&b, TS_ROUTE_DHCP_CLASSLESS), ==, 0);
  /* the server agrees */
  ts_ipaddr bound;
  TS_CHECK(ts_dhcp_server_lookup(b.server, ts_dhcp_client_chaddr(b.client), 6, &bound, NULL));
  TS_CHECK(is_addr(&bound, "192.168.1.10"));
  ts_dhcp_client_stats st;
  ts_dhcp_client_get_stats(b.client, &st);
  TS_CHECK_INT(st.discovers, ==, 1);
  TS_CHECK_INT(st.requests, ==, 1);
  TS_CHECK_INT(st.offers, ==, 1);
  TS_CHECK_INT(st.acks, ==, 1);
  TS_CHECK_INT(st.retransmissions, ==, 0);
  TS_CHECK_INT(st.send_errors, ==, 0);
  /* DISCOVER and REQUEST: real bytes from 0.0.0.0:68 to 255.255.255.255:67, control plane */
  TS_CHECK_INT(b.egress_count, ==, 2);
  for (int i = 0; i < 2; i++) {
    egress_rec *r = &b.egress[i];
    TS_CHECK(is_addr(&r->info.src, "0.0.0.0"));
    TS_CHECK(is_addr(&r->info.dst, "255.255.255.255"));
    TS_CHECK_INT(r->info.sport, ==, TS_DHCP_CLIENT_PORT);
    TS_CHECK_INT(r->info.dport, ==, TS_DHCP_SERVER_PORT);
    TS_CHECK_INT(r->o.cls, ==, TS_TC_CONTROL_PLANE);
    TS_CHECK_INT(r->o.verdict.rule, ==, TS_RULE_EXEMPT_CONTROL_PLANE);
    TS_CHECK_INT(r->m.type, ==, i == 0 ? TS_DHCP_DISCOVER : TS_DHCP_REQUEST);
    TS_CHECK_INT(r->m.xid, ==, b.egress[0].m.xid);
  }
  TS_CHECK(is_addr(&b.egress[1].m.requested_ip, "192.168.1.10"));
  TS_CHECK(is_addr(&b.egress[1].m.server_id, "192.168.1.1"));
  /* the chaddr is a locally administered unicast address */
  TS_CHECK_INT(ts_dhcp_client_chaddr(b.client)[0] & 0x03, ==, 0x02);
  TS_CHECK_INT(ts_leak_oracle_count(b.oracle, TS_EGRESS_EXEMPT), ==, 2);
  TS_CHECK_INT(ts_packet_pool_outstanding(ts_world_pool(b.w)), ==, 0);
  ts_world_destroy(b.w);
}

TS_TEST(dhcp_is_exempt_under_include_all_networks_while_other_traffic_drops) {
  bed b;
  opts o = {.vpn_ian_connecting = true};
  TS_CHECK_INT(build(&b, &o), ==, 0);
  TS_CHECK_INT(ts_world_run_until(b.w, 1 * TS_SEC), ==, 0);
  TS_CHECK_INT(ts_vpn_session_status(ts_phone_session(b.ph)), ==, TS_VPN_CONNECTING);
  TS_CHECK_INT(ts_dhcp_client_get_state(b.client), ==, TS_DHCPC_BOUND);
  TS_CHECK_INT(ts_leak_oracle_count(b.oracle, TS_EGRESS_EXEMPT), ==, 2);
  TS_CHECK_INT(ts_leak_oracle_count(b.oracle, TS_EGRESS_LEAK), ==, 0);
  TS_CHECK_INT(ts_leak_oracle_finding_count(b.oracle), ==, 0);
  /* an app's datagram is dropped by the policy (not connected yet) */
  ts_phone_socket_params sp = {.owner = TS_TC_APP, .proto = TS_IPPROTO_UDP, .api = TS_SOCK_BSD};
  ts_sock_id s;
  TS_CHECK_INT(ts_phone_socket_open(b.ph, &sp, &s), ==, 0);
  ts_ipaddr dst = ts_test_addr("198.51.100.20");
  ts_sock_send_result res;
  TS_CHECK_INT(ts_phone_send_udp(b.ph, s, &dst, 7, (const uint8_t *)"x", 1, &res), ==, 0);
  TS_CHECK_INT(res.verdict.kind, ==, TS_VERDICT_DROP);
  TS_CHECK_INT(b.egress_count, ==, 2);
  ts_world_destroy(b.w);
}

TS_TEST(traffic_before_the_lease_is_dropped_cleanly) {
  bed b;
  opts o = {0};
  TS_CHECK_INT(build(&b, &o), ==, 0);
  ts_phone_socket_params sp = {.owner = TS_TC_APP, .proto = TS_IPPROTO_UDP, .api = TS_SOCK_BSD};
  ts_sock_id s;
  TS_CHECK_INT(ts_phone_socket_open(b.ph, &sp, &s), ==, 0);
  ts_ipaddr dst = ts_test_addr("198.51.100.20");
  ts_sock_send_result res;
  TS_CHECK_INT(ts_phone_send_udp(b.ph, s, &dst, 7, (const uint8_t *)"x", 1, &res), ==, 0);
  TS_CHECK_INT(res.verdict.kind, ==, TS_VERDICT_DROP);
  /* a scoped app socket cannot send from 0.0.0.0 either: only the link-layer socket may */
  ts_phone_socket_params sp2 = {.owner = TS_TC_APP, .proto = TS_IPPROTO_UDP, .api = TS_SOCK_BSD,
                                .bound_if = "en0"};
  ts_sock_id s2;
  TS_CHECK_INT(ts_phone_socket_open(b.ph, &sp2, &s2), ==, 0);
  TS_CHECK_INT(ts_phone_send_udp(b.ph, s2, &dst, 7, (const uint8_t *)"x", 1, &res), ==, 0);
  TS_CHECK_INT(res.verdict.kind, ==, TS_VERDICT_DROP);
  ts_phone_stats ps;
  ts_phone_get_stats(b.ph, &ps);
  TS_CHECK_INT(ps.tx_physical, ==, 0);
  /* link-layer sockets are for the control plane on a physical interface only */
  ts_phone_socket_params bad = {.owner = TS_TC_APP, .proto = TS_IPPROTO_UDP, .api = TS_SOCK_BSD,
                                .bound_if = "en0", .link_layer = true, .local_id = 1068};
  TS_CHECK_INT(ts_phone_socket_open(b.ph, &bad, &s), ==, TS_EINVAL);
  bad.owner = TS_TC_CONTROL_PLANE;
  bad.bound_if = "utun0";
  TS_CHECK_INT(ts_phone_socket_open(b.ph, &bad, &s), ==, TS_EINVAL);
  /* port 68 is the client's */
  ts_dhcp_client_config cc = {.ifname = "en0"};
  ts_dhcp_client *second;
  TS_CHECK_INT(ts_dhcp_client_create(b.ph, &cc, &second), ==, TS_EEXIST);
  TS_CHECK_INT(ts_world_run_until(b.w, 1 * TS_SEC), ==, 0);
  TS_CHECK_INT(ts_dhcp_client_get_state(b.client), ==, TS_DHCPC_BOUND);
  TS_CHECK_INT(ts_phone_send_udp(b.ph, s, &dst, 7, (const uint8_t *)"x", 1, &res), ==, 0);
  TS_CHECK_INT(res.verdict.kind, ==, TS_VERDICT_PHYSICAL);
  TS_CHECK_INT(ts_world_run_until(b.w, 2 * TS_SEC), ==, 0);
  TS_CHECK_INT(ts_packet_pool_outstanding(ts_world_pool(b.w)), ==, 0);
  ts_world_destroy(b.w);
}

TS_TEST(renews_at_t1_by_unicast) {
  bed b;
  opts o = {.lease_seconds = 20}; /* T1 10 s, T2 17.5 s */
  TS_CHECK_INT(build(&b, &o), ==, 0);
  TS_CHECK_INT(ts_world_run_until(b.w, 9 * TS_SEC), ==, 0);
  TS_CHECK_INT(b.egress_count, ==, 2);
  TS_CHECK_INT(ts_world_run_until(b.w, 11 * TS_SEC), ==, 0);
  TS_CHECK_INT(ts_dhcp_client_get_state(b.client), ==, TS_DHCPC_BOUND);
  TS_CHECK_INT(b.events[TS_DHCPC_EV_RENEWED], ==, 1);
  TS_CHECK_INT(b.egress_count, ==, 3);
  egress_rec *r = &b.egress[2];
  TS_CHECK_INT(r->t, ==, 2 * LINK_DELAY + 10 * TS_SEC);
  TS_CHECK(is_addr(&r->info.src, "192.168.1.10"));
  TS_CHECK(is_addr(&r->info.dst, "192.168.1.1"));
  TS_CHECK(is_addr(&r->m.ciaddr, "192.168.1.10"));
  TS_CHECK_INT(r->m.type, ==, TS_DHCP_REQUEST);
  TS_CHECK_INT(r->m.server_id.family, ==, 0);
  TS_CHECK_INT(r->o.verdict.rule, ==, TS_RULE_EXEMPT_CONTROL_PLANE);
  ts_time expires;
  TS_CHECK(ts_dhcp_client_lease(b.client, NULL, &expires));
  TS_CHECK_INT(expires, ==, r->t + 20 * TS_SEC);
  /* renewals go on, the address never drops */
  TS_CHECK_INT(ts_world_run_until(b.w, 61 * TS_SEC), ==, 0);
  TS_CHECK_INT(b.events[TS_DHCPC_EV_RENEWED], >=, 5);
  TS_CHECK_INT(b.events[TS_DHCPC_EV_EXPIRED], ==, 0);
  TS_CHECK_INT(b.events[TS_DHCPC_EV_BOUND], ==, 1);
  TS_CHECK_INT(ts_leak_oracle_count(b.oracle, TS_EGRESS_LEAK), ==, 0);
  TS_CHECK_INT(ts_packet_pool_outstanding(ts_world_pool(b.w)), ==, 0);
  ts_world_destroy(b.w);
}

TS_TEST(rebinds_then_expires_then_binds_again) {
  bed b;
  opts o = {.lease_seconds = 20};
  TS_CHECK_INT(build(&b, &o), ==, 0);
  TS_CHECK_INT(ts_world_run_until(b.w, 5 * TS_SEC), ==, 0);
  TS_CHECK_INT(ts_world_link_set_up(b.w, b.link, false), ==, 0); /* the AP is gone */
  TS_CHECK_INT(ts_world_run_until(b.w, 12 * TS_SEC), ==, 0);
  TS_CHECK_INT(ts_dhcp_client_get_state(b.client), ==, TS_DHCPC_RENEWING);
  TS_CHECK_INT(ts_world_run_until(b.w, 19 * TS_SEC), ==, 0);
  TS_CHECK_INT(ts_dhcp_client_get_state(b.client), ==, TS_DHCPC_REBINDING);
  /* the REBINDING request is a broadcast with ciaddr */
  egress_rec *last = &b.egress[b.egress_count - 1];
  TS_CHECK(is_addr(&last->info.dst, "255.255.255.255"));
  TS_CHECK(is_addr(&last->m.ciaddr, "192.168.1.10"));
  TS_CHECK_INT(en0_addresses(&b), ==, 1);
  TS_CHECK_INT(ts_world_run_until(b.w, 21 * TS_SEC), ==, 0);
  TS_CHECK_INT(b.events[TS_DHCPC_EV_EXPIRED], ==, 1);
  TS_CHECK_INT(ts_dhcp_client_get_state(b.client), ==, TS_DHCPC_SELECTING);
  TS_CHECK(!ts_dhcp_client_lease(b.client, NULL, NULL));
  TS_CHECK_INT(en0_addresses(&b), ==, 0);
  TS_CHECK_INT(routes_of(&b, TS_ROUTE_DHCP_ROUTER), ==, 0);
  /* the DISCOVER after expiry is from 0.0.0.0 again, with a new xid */
  last = &b.egress[b.egress_count - 1];
  TS_CHECK_INT(last->m.type, ==, TS_DHCP_DISCOVER);
  TS_CHECK(is_addr(&last->info.src, "0.0.0.0"));
  TS_CHECK(last->m.xid != b.egress[0].m.xid);
  /* DISCOVERs are retransmitted with backoff: 4 s, 8 s, 16 s (each +-1 s) */
  TS_CHECK_INT(ts_world_run_until(b.w, 60 * TS_SEC), ==, 0);
  ts_time prev = 0;
  int discovers = 0;
  for (uint32_t i = 0; i < b.egress_count; i++) {
    egress_rec *r = &b.egress[i];
    if (r->t < 20 * TS_SEC || r->m.type != TS_DHCP_DISCOVER) continue;
    if (discovers > 0) {
      ts_time want = (ts_time)4 << (discovers - 1);
      if (want > 64) want = 64;
      TS_CHECK_INT(r->t - prev, >=, (want - 1) * TS_SEC);
      TS_CHECK_INT(r->t - prev, <=, (want + 1) * TS_SEC);
    }
    prev = r->t;
    discovers++;
  }
  TS_CHECK_INT(discovers, >=, 3);
  /* the AP returns: the next DISCOVER binds again */
  TS_CHECK_INT(ts_world_link_set_up(b.w, b.link, true), ==, 0);
  TS_CHECK_INT(ts_world_run_until(b.w, 130 * TS_SEC), ==, 0);
  TS_CHECK_INT(b.events[TS_DHCPC_EV_BOUND], ==, 2);
  TS_CHECK_INT(en0_addresses(&b), ==, 1);
  TS_CHECK_INT(ts_leak_oracle_count(b.oracle, TS_EGRESS_LEAK), ==, 0);
  ts_world_destroy(b.w);
}

TS_TEST(option_121_routes_are_installed_as_classless) {
  static const char *const tv[] = {"0.0.0.0/1", "128.0.0.0/1", NULL};
  bed b;
  opts o = {.routes = tv};
  TS_CHECK_INT(build(&b, &o), ==, 0);
  TS_CHECK_INT(ts_world_run_until(b.w, 1 * TS_SEC), ==, 0);
  ts_dhcp_offer off;
  TS_CHECK(ts_dhcp_client_offer(b.client, &off));
  TS_CHECK(off.classless);
  TS_CHECK(off.router_ignored); /* RFC 3442: the router option is ignored */
  ts_dhcp_lease l;
  TS_CHECK(ts_dhcp_client_lease(b.client, &l, NULL));
  TS_CHECK_INT(l.router.family, ==, 0);
  TS_CHECK_INT(l.classless_count, ==, 2);
  TS_CHECK_INT(routes_of(&b, TS_ROUTE_DHCP_CLASSLESS), ==, 2);
  TS_CHECK_INT(routes_of(&b, TS_ROUTE_DHCP_ROUTER), ==, 0);
  /* an internet destination now goes by a /1 from option 121 */
  ts_route r;
  ts_route_query q = {.physical_only = true};
  ts_ipaddr dst = ts_test_addr("198.51.100.20");
  TS_CHECK(ts_route_lookup(ts_phone_routes(b.ph), ts_phone_ifaces(b.ph), &dst, &q, &r));
  TS_CHECK_INT(r.origin, ==, TS_ROUTE_DHCP_CLASSLESS);
  TS_CHECK_INT(r.dst.len, ==, 1);
  TS_CHECK(is_addr(&r.gateway, "192.168.1.1"));
  ts_world_destroy(b.w);
}

TS_TEST(a_rogue_servers_new_routes_arrive_at_renewal) {
  bed b;
  opts o = {.lease_seconds = 30};
  TS_CHECK_INT(build(&b, &o), ==, 0);
  TS_CHECK_INT(ts_world_run_until(b.w, 1 * TS_SEC), ==, 0);
  TS_CHECK_INT(routes_of(&b, TS_ROUTE_DHCP_CLASSLESS), ==, 0);
  ts_dhcp_route one = {.dst = ts_test_prefix("198.51.100.20/32"), .router = ts_test_addr("192.168.1.1")};
  TS_CHECK_INT(ts_dhcp_server_set_routes(b.server, &one, 1), ==, 0);
  TS_CHECK_INT(ts_world_run_until(b.w, 14 * TS_SEC), ==, 0);
  TS_CHECK_INT(routes_of(&b, TS_ROUTE_DHCP_CLASSLESS), ==, 0);
  TS_CHECK_INT(ts_world_run_until(b.w, 16 * TS_SEC), ==, 0); /* T1 = 15 s */
  TS_CHECK_INT(routes_of(&b, TS_ROUTE_DHCP_CLASSLESS), ==, 1);
  TS_CHECK_INT(routes_of(&b, TS_ROUTE_DHCP_ROUTER), ==, 0);
  TS_CHECK_INT(b.events[TS_DHCPC_EV_RENEWED], ==, 1);
  ts_world_destroy(b.w);
}

static void run_once(uint64_t seed, char hash[TS_TRACE_HASH_HEX], uint8_t chaddr[6], uint32_t *xid,
                     int *rc) {
  bed b;
  opts o = {.seed = seed, .lease_seconds = 20};
  *rc = build(&b, &o);
  if (!*rc) *rc = ts_world_run_until(b.w, 45 * TS_SEC);
  if (!*rc) {
    ts_trace_hash_hex(ts_world_trace(b.w), hash);
    memcpy(chaddr, ts_dhcp_client_chaddr(b.client), 6);
    *xid = b.egress[0].m.xid;
  }
  ts_world_destroy(b.w);
}

TS_TEST(deterministic_per_seed) {
  char h1[TS_TRACE_HASH_HEX], h2[TS_TRACE_HASH_HEX], h3[TS_TRACE_HASH_HEX];
  uint8_t c1[6], c2[6], c3[6];
  uint32_t x1, x2, x3;
  int rc;
  run_once(7, h1, c1, &x1, &rc);
  TS_CHECK_INT(rc, ==, 0);
  run_once(7, h2, c2, &x2, &rc);
  TS_CHECK_INT(rc, ==, 0);
  run_once(8, h3, c3, &x3, &rc);
  TS_CHECK_INT(rc, ==, 0);
  TS_CHECK_STR(h1, h2);
  TS_CHECK(!memcmp(c1, c2, 6));
  TS_CHECK_INT(x1, ==, x2);
  TS_CHECK(strcmp(h1, h3) != 0);
  TS_CHECK(memcmp(c1, c3, 6) != 0 || x1 != x3);
}

int main(int argc, char **argv) { return ts_test_main(argc, argv); }
