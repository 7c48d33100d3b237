/* The leak oracle's classification, aggregation, and the byte-only observer. */
#include "ts_leak.h"
#include "ts_native.h"
#include "ts_wire.h"
#include "tstest.h"
#include "tstest_net.h"

static const ts_relay_endpoint *relay(void) {
  static ts_relay_endpoint r;
  r.addr = ts_test_addr("203.0.113.10");
  r.port = 51820;
  return &r;
}

static uint8_t buf[256];

static uint32_t udp(const char *src, const char *dst, uint16_t sport, uint16_t dport) {
  ts_ipaddr s = ts_test_addr(src), d = ts_test_addr(dst);
  uint8_t payload[32] = {4}; /* a WireGuard data message: type 4, reserved zero */
  return ts_ip_build_udp(buf, sizeof buf, &s, &d, sport, dport, payload, sizeof payload);
}

static uint32_t ping(const char *src, const char *dst) {
  ts_ipaddr s = ts_test_addr(src), d = ts_test_addr(dst);
  return ts_ip_build_echo(buf, sizeof buf, &s, &d, false, 1, 1, NULL, 0);
}

/* An app packet sent out of en0 by `rule` while the VPN is connected and wanted. */
static ts_egress_origin app(ts_os_rule rule, ts_route_origin route) {
  ts_egress_origin o = {0};
  o.cls = TS_TC_APP;
  o.verdict.kind = TS_VERDICT_PHYSICAL;
  o.verdict.iface = 1;
  o.verdict.rule = rule;
  o.verdict.origin = route;
  o.status = TS_VPN_CONNECTED;
  o.protection_wanted = true;
  return o;
}

static ts_egress_verdict classify(uint32_t len, const ts_egress_origin *o) {
  ts_egress_verdict v;
  ts_leak_classify(buf, len, o, relay(), 1, &v);
  return v;
}

TS_TEST(provider_udp_to_the_relay_endpoint_is_the_tunnel) {
  ts_egress_origin o = app(TS_RULE_EXEMPT_VPN_SERVER, TS_ROUTE_DHCP_ROUTER);
  o.cls = TS_TC_PROVIDER;
  ts_egress_verdict v = classify(udp("192.168.1.10", "203.0.113.10", 51821, 51820), &o);
  TS_CHECK_INT(v.cls, ==, TS_EGRESS_TUNNEL);
  /* Same socket class, another port of the relay: not the tunnel, the provider's own. */
  o.verdict.rule = TS_RULE_PROVIDER_BYPASS;
  v = classify(udp("192.168.1.10", "203.0.113.10", 51821, 443), &o);
  TS_CHECK_INT(v.cls, ==, TS_EGRESS_LEAK);
  TS_CHECK_INT(v.kind, ==, TS_LEAK_PROVIDER_OWN);
}

TS_TEST(an_app_cannot_pass_as_the_tunnel) {
  ts_egress_origin o = app(TS_RULE_SYSTEM_TABLE, TS_ROUTE_DHCP_ROUTER);
  ts_egress_verdict v = classify(udp("192.168.1.10", "203.0.113.10", 40000, 51820), &o);
  TS_CHECK_INT(v.cls, ==, TS_EGRESS_LEAK);
  TS_CHECK_INT(v.kind, ==, TS_LEAK_SERVER_IP);
}

TS_TEST(documented_exemptions_are_counted_apart) {
  ts_egress_origin o = app(TS_RULE_EXEMPT_CONTROL_PLANE, TS_ROUTE_CONNECTED);
  o.cls = TS_TC_CONTROL_PLANE;
  TS_CHECK_INT(classify(udp("0.0.0.0", "255.255.255.255", 68, 67), &o).cls, ==, TS_EGRESS_EXEMPT);
  o = app(TS_RULE_IAN_EXCLUDE_APNS, TS_ROUTE_DHCP_ROUTER);
  o.cls = TS_TC_APNS;
  TS_CHECK_INT(classify(udp("192.168.1.10", "17.57.144.10", 40000, 5223), &o).cls, ==, TS_EGRESS_EXEMPT);
}

TS_TEST(no_protection_wanted_is_not_a_leak) {
  ts_egress_origin o = app(TS_RULE_SYSTEM_TABLE, TS_ROUTE_DHCP_ROUTER);
  o.protection_wanted = false; /* the user disconnected (IVPN-146) */
  o.status = TS_VPN_DISCONNECTED;
  TS_CHECK_INT(classify(ping("192.168.1.10", "198.51.100.20"), &o).cls, ==, TS_EGRESS_UNPROTECTED);
  o.protection_wanted = true; /* on-demand armed: the same packet leaks */
  ts_egress_verdict v = classify(ping("192.168.1.10", "198.51.100.20"), &o);
  TS_CHECK_INT(v.cls, ==, TS_EGRESS_LEAK);
  TS_CHECK_INT(v.kind, ==, TS_LEAK_RECONNECT_GAP);
}

TS_TEST(each_mechanism_gets_its_kind) {
  struct {
    ts_os_rule rule;
    ts_route_origin route;
    bool pre_tunnel;
    ts_leak_kind want;
  } cases[] = {
      {TS_RULE_PREEXISTING_KEEPS_PATH, TS_ROUTE_DHCP_ROUTER, true, TS_LEAK_PREEXISTING},
      {TS_RULE_SCOPED_INTERFACE, TS_ROUTE_SCOPED, false, TS_LEAK_SCOPED_SOCKET},
      {TS_RULE_SYSTEM_ROUTE_SUPERSEDES, TS_ROUTE_DHCP_CLASSLESS, false, TS_LEAK_DHCP_ROUTE},
      {TS_RULE_SYSTEM_ROUTE_SUPERSEDES, TS_ROUTE_CONNECTED, false, TS_LEAK_LOCAL_NETWORK},
      {TS_RULE_VPN_EXCLUDED, TS_ROUTE_VPN_EXCLUDED, false, TS_LEAK_EXCLUDED_ROUTE},
  };
  for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
    ts_egress_origin o = app(cases[i].rule, cases[i].route);
    o.pre_tunnel = cases[i].pre_tunnel;
    ts_egress_verdict v = classify(ping("192.168.1.10", "198.51.100.20"), &o);
    if (v.kind != cases[i].want)
      ts_test_fail(__FILE__, __LINE__, "case %zu: %s, want %s", i, ts_leak_kind_name(v.kind),
                   ts_leak_kind_name(cases[i].want));
  }
}

TS_TEST(ipv6_without_tunnel_routes_for_it_is_an_ipv6_leak) {
  ts_egress_origin o = app(TS_RULE_SYSTEM_TABLE, TS_ROUTE_DHCP_ROUTER);
  TS_CHECK_INT(classify(ping("2001:db8::10", "2001:db8:1::20"), &o).kind, ==, TS_LEAK_IPV6);
  o.vpn_routes_ipv6 = true; /* then it is the tunnel's settings that route nothing for it */
  TS_CHECK_INT(classify(ping("2001:db8::10", "2001:db8:1::20"), &o).kind, ==, TS_LEAK_NO_TUNNEL_ROUTE);
  /* While the tunnel is down it is the gap, whatever the family. */
  o.vpn_routes_ipv6 = false;
  o.status = TS_VPN_REASSERTING;
  TS_CHECK_INT(classify(ping("2001:db8::10", "2001:db8:1::20"), &o).kind, ==, TS_LEAK_RECONNECT_GAP);
}

TS_TEST(dns_is_named_for_what_leaks_and_keeps_its_mechanism) {
  ts_egress_origin o = app(TS_RULE_SYSTEM_TABLE, TS_ROUTE_DHCP_ROUTER);
  o.status = TS_VPN_CONNECTING;
  ts_egress_verdict v = classify(udp("192.168.1.10", "192.168.1.1", 40000, 53), &o);
  TS_CHECK_INT(v.kind, ==, TS_LEAK_DNS);
  TS_CHECK_INT(v.mechanism, ==, TS_LEAK_RECONNECT_GAP);
}

TS_TEST(oracle_aggregates_per_flow_and_traces_each_finding_once) {
  ts_world *w;
  TS_CHECK_INT(ts_world_create(&w, &ts_native_backend, 1), ==, TS_OK);
  ts_leak_oracle *o;
  TS_CHECK_INT(ts_leak_oracle_create(w, &o), ==, TS_OK);
  ts_leak_oracle_add_relay(o, relay());
  ts_egress_origin gap = app(TS_RULE_SYSTEM_TABLE, TS_ROUTE_DHCP_ROUTER);
  gap.status = TS_VPN_CONNECTING;
  uint32_t n = ping("192.168.1.10", "198.51.100.20");
  ts_leak_oracle_observe(o, "phone", "en0", buf, n, &gap);
  uint64_t records = ts_trace_records(ts_world_trace(w));
  ts_leak_oracle_observe(o, "phone", "en0", buf, n, &gap);
  TS_CHECK_INT(ts_trace_records(ts_world_trace(w)), ==, records); /* no second event */
  n = ping("192.168.1.10", "198.51.100.21");
  ts_leak_oracle_observe(o, "phone", "en0", buf, n, &gap);
  ts_egress_origin tunnel = app(TS_RULE_EXEMPT_VPN_SERVER, TS_ROUTE_DHCP_ROUTER);
  tunnel.cls = TS_TC_PROVIDER;
  n = udp("192.168.1.10", "203.0.113.10", 51821, 51820);
  ts_leak_oracle_observe(o, "phone", "en0", buf, n, &tunnel);
  TS_CHECK_INT(ts_leak_oracle_finding_count(o), ==, 2);
  const ts_leak_finding *f = ts_leak_oracle_finding(o, 0);
  TS_CHECK_INT(f->packets, ==, 2);
  TS_CHECK_INT(f->kind, ==, TS_LEAK_RECONNECT_GAP);
  TS_CHECK_STR(f->flow, "icmp 192.168.1.10 > 198.51.100.20 id 1");
  TS_CHECK_INT(ts_leak_oracle_count(o, TS_EGRESS_LEAK), ==, 3);
  TS_CHECK_INT(ts_leak_oracle_count(o, TS_EGRESS_TUNNEL), ==, 1);
  ts_world_destroy(w);
}

TS_TEST(wire_framing_is_checked_not_just_the_port) {
  uint32_t n = udp("192.168.1.10", "203.0.113.10", 51821, 51820);
  TS_CHECK_INT(ts_wire_classify(buf, n, relay(), 1), ==, TS_WIRE_TUNNEL);
  buf[20 + 8 + 1] = 1; /* reserved byte not zero: not WireGuard */
  TS_CHECK_INT(ts_wire_classify(buf, n, relay(), 1), ==, TS_WIRE_CLEAR);
  n = udp("0.0.0.0", "255.255.255.255", 68, 67);
  TS_CHECK_INT(ts_wire_classify(buf, n, relay(), 1), ==, TS_WIRE_CONTROL);
  n = ping("192.168.1.10", "203.0.113.10");
  TS_CHECK_INT(ts_wire_classify(buf, n, relay(), 1), ==, TS_WIRE_CLEAR);
}

static void drop_rx(void *ctx, ts_packet *p) { ts_packet_free(ctx, p); }

TS_TEST(wire_observer_counts_one_direction_of_a_link) {
  ts_world *w;
  ts_world_create(&w, &ts_native_backend, 1);
  ts_link_params p = {.mtu = 1500, .queue_limit = 100, .up = true};
  ts_link_end ends[2] = {{drop_rx, ts_world_pool(w), "phone/en0"}, {drop_rx, ts_world_pool(w), "ap/eth0"}};
  ts_link_id id;
  TS_CHECK_INT(ts_world_link_create(w, "wifi", &p, ends, &id), ==, TS_OK);
  ts_wire_observer *o;
  TS_CHECK_INT(ts_wire_observer_create(w, id, 0, &o), ==, TS_OK);
  ts_wire_observer_add_relay(o, relay());
  uint32_t lens[3] = {udp("192.168.1.10", "203.0.113.10", 51821, 51820), 0, 0};
  ts_world_link_send(w, id, 0, ts_packet_from(ts_world_pool(w), buf, lens[0]));
  ts_world_link_send(w, id, 1, ts_packet_from(ts_world_pool(w), buf, lens[0])); /* other way */
  lens[1] = ping("192.168.1.10", "198.51.100.20");
  ts_world_link_send(w, id, 0, ts_packet_from(ts_world_pool(w), buf, lens[1]));
  ts_world_run_until(w, TS_SEC);
  TS_CHECK_INT(ts_wire_observer_count(o, TS_WIRE_TUNNEL), ==, 1);
  TS_CHECK_INT(ts_wire_observer_count(o, TS_WIRE_CLEAR), ==, 1);
  ts_world_destroy(w);
}
