/* The relay and the engine adapter in a small world:
 *
 *   phone 10.1.0.2 --5 ms-- router --10 ms-- relay 203.0.113.10 (wg :51820, gateway 10.64.0.1)
 *                             `----20 ms-- internet 198.51.100.20 (echo, UDP echo :7)
 *
 * The phone runs a ts_wgdev initiator over a host UDP binding (:51821) with tunnel
 * address 10.64.0.2 and hands its inner packets straight to the adapter, so every
 * packet on its link must be tunnel UDP. IPv6 runs inside the (IPv4) tunnel too:
 * phone fc00:bbbb:bbbb:bb01::2, gateway ::1 of that prefix, internet 2001:db8:2::20,
 * relay 2001:db8:1::10 (NAT66). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ts_native.h"
#include "ts_net.h"
#include "ts_relay.h"
#include "ts_wgdev.h"
#include "tstest.h"
#include "tstest_net.h"

#ifndef TS_RELAY_OUT_DIR
#define TS_RELAY_OUT_DIR "."
#endif

#define PHONE_PORT 51821
#define PING_ID 0x7473
#define UDP_ECHO_PORT 7
#define PHONE_UDP_PORT 40000
#define MAX_SEQ 64
#define MAX_KEEPALIVES 16
#define LINK_PHONE_ROUTER (5 * TS_MS)
#define LINK_ROUTER_RELAY (10 * TS_MS)
#define LINK_ROUTER_INTERNET (20 * TS_MS)
#define RTT_GATEWAY (2 * (LINK_PHONE_ROUTER + LINK_ROUTER_RELAY))
#define RTT_INTERNET (2 * (LINK_PHONE_ROUTER + 2 * LINK_ROUTER_RELAY + LINK_ROUTER_INTERNET))

typedef struct phone {
  ts_host *host;
  ts_wgdev *dev;
  wg_peer *relay_peer;
  ts_ipaddr tunnel_addr, tunnel_addr6;
  ts_time sent_at[MAX_SEQ];
  ts_time rtt[MAX_SEQ]; /* 0: no reply */
  uint32_t echo_replies, udp_replies;
  ts_time keepalive_at[MAX_KEEPALIVES];
  uint32_t keepalives;
  uint32_t handshakes;
  uint32_t tcp_synacks;
  uint32_t bad_checksums; /* inner packets whose layer-4 checksum does not verify */
} phone;

typedef struct testbed {
  ts_world *w;
  ts_net *net;
  ts_host *router, *relay_host, *internet;
  ts_relay *relay;
  phone ph;
  ts_ipaddr gateway, internet_addr, relay_addr;
  ts_ipaddr gateway6, internet_addr6, relay_addr6;
  uint32_t internet_echo_requests;
  uint32_t internet_saw_other_source; /* requests from anything but the relay */
  uint32_t internet_tcp_syns, internet_bad_checksums;
  ts_relay_config relay_cfg;
} testbed;

/* ---------------------------------------------------------------- packets */

#define TCP_HEADER 20
#define TCP_SYN 0x02
#define TCP_ACK 0x10
#define TCP_CLIENT_PORT 40001
#define TCP_SERVER_PORT 443

/* True if the layer-4 checksum verifies (ICMPv4 over the message alone; UDP, TCP and
 * ICMPv6 with the pseudo-header). A NAT that rewrote addresses or ports without
 * fixing the checksum fails here. */
static bool l4_checksum_ok(const uint8_t *pkt, const ts_ip_info *info) {
  const uint8_t *l4 = pkt + info->l4_offset;
  uint32_t sum = 0;
  if (info->proto != TS_IPPROTO_ICMP) {
    size_t n = info->family == 6 ? 16 : 4;
    sum = ts_checksum_add(0, info->src.bytes, n);
    sum = ts_checksum_add(sum, info->dst.bytes, n);
    sum += info->proto + info->l4_len;
  }
  return ts_checksum_finish(ts_checksum_add(sum, l4, info->l4_len)) == 0;
}

/* A 20-byte TCP segment without payload, checksum included. */
static uint32_t build_tcp(uint8_t *out, uint32_t cap, const ts_ipaddr *src, const ts_ipaddr *dst,
                          uint16_t sport, uint16_t dport, uint8_t flags) {
  /* Start from a UDP packet of 12 payload bytes: same IP header, 20 bytes of L4. */
  uint8_t zero[TCP_HEADER - TS_UDP_HEADER] = {0};
  uint32_t len = ts_ip_build_udp(out, cap, src, dst, sport, dport, zero, sizeof zero);
  if (!len) return 0;
  uint32_t ip = len - TCP_HEADER;
  out[src->family == 6 ? 6 : 9] = TS_IPPROTO_TCP;
  if (src->family == 4) {
    out[10] = out[11] = 0;
    uint16_t c = ts_checksum_finish(ts_checksum_add(0, out, ip));
    out[10] = (uint8_t)(c >> 8);
    out[11] = (uint8_t)c;
  }
  uint8_t *t = out + ip;
  memset(t + 4, 0, TCP_HEADER - 4);
  t[7] = 1;       /* sequence number 1 */
  t[12] = 5 << 4; /* data offset: 5 words */
  t[13] = flags;
  t[14] = 0xff;   /* window */
  size_t n = src->family == 6 ? 16 : 4;
  uint32_t sum = ts_checksum_add(0, src->bytes, n);
  sum = ts_checksum_add(sum, dst->bytes, n) + TS_IPPROTO_TCP + TCP_HEADER;
  uint16_t c = ts_checksum_finish(ts_checksum_add(sum, t, TCP_HEADER));
  t[16] = (uint8_t)(c >> 8);
  t[17] = (uint8_t)c;
  return len;
}

/* ---------------------------------------------------------------- the phone */

static void phone_send_udp(void *ctx, const wg_endpoint *to, const uint8_t *data, size_t len) {
  phone *ph = ctx;
  ts_world *w = ts_host_world(ph->host);
  ts_ipaddr dst = {.family = 4}, src;
  memcpy(dst.bytes, to->addr, 4);
  if (!ts_host_source_for(ph->host, &dst, &src)) return;
  uint32_t need = (uint32_t)(TS_IPV4_HEADER + TS_UDP_HEADER + len);
  ts_packet *p = ts_packet_alloc(ts_world_pool(w), need);
  p->len = ts_ip_build_udp(p->data, need, &src, &dst, PHONE_PORT, to->port, data, (uint32_t)len);
  ts_host_send(ph->host, p);
}

static void phone_deliver_ip(void *ctx, const uint8_t *pkt, size_t len) {
  phone *ph = ctx;
  ts_ip_info info;
  if (ts_ip_parse(pkt, (uint32_t)len, &info) != 0) return;
  ts_time now = ts_world_now(ts_host_world(ph->host));
  if (!l4_checksum_ok(pkt, &info)) ph->bad_checksums++;
  if (info.proto == TS_IPPROTO_TCP && info.dport == TCP_CLIENT_PORT &&
      pkt[info.l4_offset + 13] == (TCP_SYN | TCP_ACK))
    ph->tcp_synacks++;
  bool echo_reply = (info.proto == TS_IPPROTO_ICMP && info.icmp_type == 0 &&
                     ts_ipaddr_equal(&info.dst, &ph->tunnel_addr)) ||
                    (info.proto == TS_IPPROTO_ICMPV6 && info.icmp_type == 129 &&
                     ts_ipaddr_equal(&info.dst, &ph->tunnel_addr6));
  if (echo_reply && info.icmp_id == PING_ID && info.icmp_seq < MAX_SEQ) {
    ph->echo_replies++;
    ph->rtt[info.icmp_seq] = now - ph->sent_at[info.icmp_seq];
  } else if (info.proto == TS_IPPROTO_UDP && info.dport == PHONE_UDP_PORT) {
    ph->udp_replies++;
  }
}

static void phone_on_event(void *ctx, int event, wg_peer *peer) {
  phone *ph = ctx;
  (void)peer;
  ts_time now = ts_world_now(ts_host_world(ph->host));
  if (event == WG_EV_KEEPALIVE_SENT && ph->keepalives < MAX_KEEPALIVES)
    ph->keepalive_at[ph->keepalives++] = now;
  if (event == WG_EV_HANDSHAKE_COMPLETE) ph->handshakes++;
}

static void phone_on_udp(void *ctx, ts_host *h, const ts_ip_info *info, const uint8_t *payload,
                         uint32_t len) {
  phone *ph = ctx;
  (void)h;
  wg_endpoint from = wg_endpoint_ipv4(info->src.bytes, info->sport);
  ts_wgdev_rx_udp(ph->dev, &from, payload, len);
}

/* Event argument: bit 16 set = UDP to the internet's echo port, else an ICMP echo;
 * bit 17 set = to the internet host, else to the gateway; bit 18 = over IPv6; low 16
 * bits: sequence. */
#define SEND_UDP_FLAG (UINT64_C(1) << 16)
#define SEND_INTERNET_FLAG (UINT64_C(1) << 17)
#define SEND_V6_FLAG (UINT64_C(1) << 18)
#define SEND_TCP_FLAG (UINT64_C(1) << 19)

static void phone_send_inner(void *obj, uint64_t arg) {
  testbed *tb = obj;
  phone *ph = &tb->ph;
  uint16_t seq = (uint16_t)arg;
  bool v6 = arg & SEND_V6_FLAG;
  const ts_ipaddr *src = v6 ? &ph->tunnel_addr6 : &ph->tunnel_addr;
  const ts_ipaddr *dst = (arg & SEND_INTERNET_FLAG) ? (v6 ? &tb->internet_addr6 : &tb->internet_addr)
                                                    : (v6 ? &tb->gateway6 : &tb->gateway);
  uint8_t payload[56], pkt[128];
  for (size_t i = 0; i < sizeof payload; i++) payload[i] = (uint8_t)(i + seq);
  uint32_t len;
  if (arg & SEND_TCP_FLAG)
    len = build_tcp(pkt, sizeof pkt, src, dst, TCP_CLIENT_PORT, TCP_SERVER_PORT, TCP_SYN);
  else if (arg & SEND_UDP_FLAG)
    len = ts_ip_build_udp(pkt, sizeof pkt, src, dst, PHONE_UDP_PORT, UDP_ECHO_PORT, payload,
                          sizeof payload);
  else
    len = ts_ip_build_echo(pkt, sizeof pkt, src, dst, false, PING_ID, seq, payload, sizeof payload);
  ph->sent_at[seq % MAX_SEQ] = ts_world_now(tb->w);
  ts_wgdev_tx_ip(ph->dev, pkt, len);
}

/* ---------------------------------------------------------------- the world */

/* The internet host has no TCP: this hook plays a server that answers a SYN with a
 * SYN-ACK, and checks what arrives. */
static bool internet_sees(void *ctx, ts_host *h, const ts_ip_info *info, ts_packet *pkt) {
  testbed *tb = ctx;
  if (!l4_checksum_ok(pkt->data, info)) tb->internet_bad_checksums++;
  if (info->proto == TS_IPPROTO_TCP && info->dport == TCP_SERVER_PORT) {
    tb->internet_tcp_syns++;
    if (!ts_ipaddr_equal(&info->src, info->family == 6 ? &tb->relay_addr6 : &tb->relay_addr))
      tb->internet_saw_other_source++;
    ts_packet_pool *pool = ts_world_pool(ts_host_world(h));
    ts_packet *reply = ts_packet_alloc(pool, 128);
    reply->len = build_tcp(reply->data, 128, &info->dst, &info->src, info->dport, info->sport,
                           TCP_SYN | TCP_ACK);
    ts_host_send(h, reply);
    ts_packet_free(pool, pkt);
    return true;
  }
  if ((info->proto == TS_IPPROTO_ICMP && info->icmp_type == 8) ||
      (info->proto == TS_IPPROTO_ICMPV6 && info->icmp_type == 128)) {
    tb->internet_echo_requests++;
    if (!ts_ipaddr_equal(&info->src, info->family == 6 ? &tb->relay_addr6 : &tb->relay_addr))
      tb->internet_saw_other_source++;
  }
  return false; /* the host's own stack answers */
}

static void random_key(ts_rng *rng, uint8_t key[WG_KEY_LEN]) {
  ts_rng_fill(rng, key, WG_KEY_LEN);
  wg_key_clamp(key);
}

/* Builds the testbed in `tb->w` (already created or reset); persistent keepalive
 * `keepalive_s` on the phone (0 = off). */
static int build(testbed *tb, uint16_t keepalive_s) {
  ts_world *w = tb->w;
  memset(&tb->ph, 0, sizeof tb->ph);
  tb->internet_echo_requests = tb->internet_saw_other_source = 0;
  tb->internet_tcp_syns = tb->internet_bad_checksums = 0;
  tb->gateway = ts_test_addr("10.64.0.1");
  tb->internet_addr = ts_test_addr("198.51.100.20");
  tb->relay_addr = ts_test_addr("203.0.113.10");
  tb->ph.tunnel_addr = ts_test_addr("10.64.0.2");
  tb->gateway6 = ts_test_addr("fc00:bbbb:bbbb:bb01::1");
  tb->internet_addr6 = ts_test_addr("2001:db8:2::20");
  tb->relay_addr6 = ts_test_addr("2001:db8:1::10");
  tb->ph.tunnel_addr6 = ts_test_addr("fc00:bbbb:bbbb:bb01::2");

  if (ts_net_create(w, &tb->net)) return -1;
  ts_host *ph_host;
  ts_net_add_host(tb->net, "phone", &ph_host);
  ts_net_add_host(tb->net, "router", &tb->router);
  ts_net_add_host(tb->net, "relay", &tb->relay_host);
  ts_net_add_host(tb->net, "internet", &tb->internet);
  tb->ph.host = ph_host;
  /* The phone's link is IPv4 only: its IPv6 exists only inside the tunnel. */
  ts_ipprefix p_phone = ts_test_prefix("10.1.0.2/24"), p_r0 = ts_test_prefix("10.1.0.1/24");
  ts_ipprefix p_r1[2] = {ts_test_prefix("203.0.113.1/24"), ts_test_prefix("2001:db8:1::1/64")};
  ts_ipprefix p_relay[2] = {ts_test_prefix("203.0.113.10/24"), ts_test_prefix("2001:db8:1::10/64")};
  ts_ipprefix p_r2[2] = {ts_test_prefix("198.51.100.1/24"), ts_test_prefix("2001:db8:2::1/64")};
  ts_ipprefix p_inet[2] = {ts_test_prefix("198.51.100.20/24"), ts_test_prefix("2001:db8:2::20/64")};
  uint32_t i_phone, i_r0, i_r1, i_r2, i_relay, i_inet;
  ts_host_add_interface(ph_host, "eth0", &p_phone, 1, &i_phone);
  ts_host_add_interface(tb->router, "eth0", &p_r0, 1, &i_r0);
  ts_host_add_interface(tb->router, "eth1", p_r1, 2, &i_r1);
  ts_host_add_interface(tb->router, "eth2", p_r2, 2, &i_r2);
  ts_host_add_interface(tb->relay_host, "eth0", p_relay, 2, &i_relay);
  ts_host_add_interface(tb->internet, "eth0", p_inet, 2, &i_inet);
  ts_link_params lp = {.mtu = 1500, .queue_limit = 100, .up = true};
  ts_link_id l;
  lp.delay = LINK_PHONE_ROUTER;
  if (ts_net_connect(tb->net, "phone-router", &lp, ph_host, i_phone, tb->router, i_r0, &l)) return -1;
  lp.delay = LINK_ROUTER_RELAY;
  if (ts_net_connect(tb->net, "router-relay", &lp, tb->router, i_r1, tb->relay_host, i_relay, &l))
    return -1;
  lp.delay = LINK_ROUTER_INTERNET;
  if (ts_net_connect(tb->net, "router-internet", &lp, tb->router, i_r2, tb->internet, i_inet, &l))
    return -1;
  ts_host_set_forwarding(tb->router, true);
  ts_host_set_local_hook(tb->internet, internet_sees, tb);
  ts_app_config echo = {.name = "udp-echo", .kind = TS_NET_APP_UDP_ECHO_SERVER, .port = UDP_ECHO_PORT};
  if (ts_net_add_app(tb->net, tb->internet, &echo)) return -1;

  /* Keys from the world's seed, like every other random number. */
  uint8_t phone_priv[WG_KEY_LEN], relay_priv[WG_KEY_LEN], psk[WG_KEY_LEN];
  uint8_t phone_pub[WG_KEY_LEN], relay_pub[WG_KEY_LEN];
  ts_rng keys;
  ts_world_rng(w, "test/keys", &keys);
  random_key(&keys, phone_priv);
  random_key(&keys, relay_priv);
  ts_rng_fill(&keys, psk, sizeof psk);
  if (wg_key_public_from_private(phone_pub, phone_priv) != WG_OK) return -1;
  if (wg_key_public_from_private(relay_pub, relay_priv) != WG_OK) return -1;

  ts_relay_peer relay_peer;
  memset(&relay_peer, 0, sizeof relay_peer);
  memcpy(relay_peer.public_key, phone_pub, WG_KEY_LEN);
  memcpy(relay_peer.preshared_key, psk, WG_KEY_LEN);
  relay_peer.has_preshared_key = true;
  relay_peer.allowed_ips[0] = ts_test_prefix("10.64.0.2/32");
  relay_peer.allowed_ips[1] = ts_test_prefix("fc00:bbbb:bbbb:bb01::2/128");
  relay_peer.allowed_ip_count = 2;
  ts_relay_config *rc = &tb->relay_cfg;
  rc->gateway6 = tb->gateway6;
  memcpy(rc->private_key, relay_priv, WG_KEY_LEN);
  rc->peers = &relay_peer;
  rc->peer_count = 1;
  if (ts_relay_create(tb->relay_host, rc, &tb->relay)) return -1;

  ts_wgdev_config pc = {.name = "phone",
                        .transport = {.send_udp = phone_send_udp,
                                      .deliver_ip = phone_deliver_ip,
                                      .on_event = phone_on_event,
                                      .ctx = &tb->ph}};
  memcpy(pc.private_key, phone_priv, WG_KEY_LEN);
  if (ts_wgdev_create(w, &pc, &tb->ph.dev)) return -1;
  if (ts_host_bind_udp(ph_host, PHONE_PORT, phone_on_udp, &tb->ph)) return -1;
  wg_peer_config peer = {.endpoint = wg_endpoint_ipv4(tb->relay_addr.bytes, TS_RELAY_DEFAULT_PORT),
                         .has_preshared_key = 1, .persistent_keepalive_s = keepalive_s};
  memcpy(peer.public_key, relay_pub, WG_KEY_LEN);
  memcpy(peer.preshared_key, psk, WG_KEY_LEN);
  if (ts_wgdev_add_peer(tb->ph.dev, &peer, &tb->ph.relay_peer) != WG_OK) return -1;
  if (wg_peer_add_allowed_ip(tb->ph.relay_peer, 4, (const uint8_t[4]){0}, 0) != WG_OK ||
      wg_peer_add_allowed_ip(tb->ph.relay_peer, 6, (const uint8_t[16]){0}, 0) != WG_OK)
    return -1;
  /* Bring the tunnel up at once, as `wg set` does for a persistent-keepalive peer. */
  ts_wgdev_send_keepalive(tb->ph.dev, tb->ph.relay_peer);
  return 0;
}

/* Gateway pings at 1, 2, 3 s (seq 1..3), internet pings at 4, 5, 6 s (seq 4..6), UDP
 * to the internet's echo port at 7 s, a TCP SYN to the internet at 8 s. */
static void schedule_traffic(testbed *tb) {
  for (uint64_t seq = 1; seq <= 3; seq++)
    ts_world_schedule(tb->w, (ts_time)seq * TS_SEC, phone_send_inner, tb, seq, NULL);
  for (uint64_t seq = 4; seq <= 6; seq++)
    ts_world_schedule(tb->w, (ts_time)seq * TS_SEC, phone_send_inner, tb, seq | SEND_INTERNET_FLAG,
                      NULL);
  ts_world_schedule(tb->w, 7 * TS_SEC, phone_send_inner, tb, 7 | SEND_INTERNET_FLAG | SEND_UDP_FLAG,
                    NULL);
  ts_world_schedule(tb->w, 8 * TS_SEC, phone_send_inner, tb, 8 | SEND_INTERNET_FLAG | SEND_TCP_FLAG,
                    NULL);
}

/* ---------------------------------------------------------------- trace checks */

/* Every packet record of the phone's link in the JSON Lines trace must be tunnel UDP
 * between the phone's port and the relay's. Returns how many were seen, -1 on a leak
 * (printed). */
static int tunnel_only_on_phone_link(const char *jsonl_path) {
  FILE *f = fopen(jsonl_path, "r");
  if (!f) return -1;
  char line[1024];
  int seen = 0, leaks = 0;
  const char *out = "\"pkt\":\"udp 10.1.0.2:51821 > 203.0.113.10:51820\"";
  const char *in = "\"pkt\":\"udp 203.0.113.10:51820 > 10.1.0.2:51821\"";
  while (fgets(line, sizeof line, f)) {
    if (!strstr(line, "\"if\":\"phone/eth0\"")) continue;
    seen++;
    if (!strstr(line, out) && !strstr(line, in)) {
      leaks++;
      fprintf(stderr, "not tunnel traffic on the phone's link: %s", line);
    }
  }
  fclose(f);
  return leaks ? -1 : seen;
}

/* ---------------------------------------------------------------- tests */

TS_TEST(tunnel_to_gateway_and_internet_through_nat) {
  static testbed tb;
  memset(&tb, 0, sizeof tb);
  const char *pcap = TS_RELAY_OUT_DIR "/relay.pcapng";
  const char *jsonl = TS_RELAY_OUT_DIR "/relay.jsonl";
  TS_CHECK(ts_world_create(&tb.w, &ts_native_backend, 7) == TS_OK);
  TS_CHECK_INT(ts_trace_open_pcapng(ts_world_trace(tb.w), pcap), ==, TS_OK);
  TS_CHECK_INT(ts_trace_open_jsonl(ts_world_trace(tb.w), jsonl), ==, TS_OK);
  TS_CHECK_INT(build(&tb, 25), ==, 0);
  schedule_traffic(&tb);
  TS_CHECK_INT(ts_world_run_until(tb.w, 60 * TS_SEC), ==, TS_OK);

  /* Handshake: initiation out, response back after one round trip to the relay. */
  wg_peer_stats ps;
  wg_peer_get_stats(tb.ph.relay_peer, &ps);
  TS_CHECK_INT(tb.ph.handshakes, ==, 1);
  TS_CHECK_INT(ps.last_handshake_ns, ==, RTT_GATEWAY);
  TS_CHECK(ps.has_current_session);

  /* Pings to the in-tunnel gateway: answered by the relay, RTT = the link delays. */
  for (int seq = 1; seq <= 3; seq++) TS_CHECK_INT(tb.ph.rtt[seq], ==, RTT_GATEWAY);
  /* Pings to the internet: through the NAT, seen from the relay's public address. */
  for (int seq = 4; seq <= 6; seq++) TS_CHECK_INT(tb.ph.rtt[seq], ==, RTT_INTERNET);
  TS_CHECK_INT(tb.ph.echo_replies, ==, 6);
  TS_CHECK_INT(tb.internet_echo_requests, ==, 3);
  TS_CHECK_INT(tb.internet_saw_other_source, ==, 0);
  TS_CHECK_INT(tb.ph.udp_replies, ==, 1);
  TS_CHECK_INT(tb.internet_tcp_syns, ==, 1);
  TS_CHECK_INT(tb.ph.tcp_synacks, ==, 1);
  TS_CHECK_INT(tb.ph.bad_checksums, ==, 0);
  TS_CHECK_INT(tb.internet_bad_checksums, ==, 0);
  ts_relay_stats rs;
  ts_relay_get_stats(tb.relay, &rs);
  TS_CHECK_INT(rs.gateway_echoes, ==, 3);
  TS_CHECK_INT(rs.nat_out, ==, 5);
  TS_CHECK_INT(rs.nat_in, ==, 5);
  TS_CHECK_INT(rs.nat_mappings, ==, 3); /* one ICMP id, one UDP port, one TCP port */
  TS_CHECK_INT(rs.nat_active, ==, 3);   /* 60 s < the 120 s idle timeout */
  TS_CHECK_INT(rs.dropped, ==, 0);

  /* Idle after 7 s: persistent keepalives every 25 s of silence, on virtual time. */
  TS_CHECK(tb.ph.keepalives >= 2);
  TS_CHECK_INT(tb.ph.keepalive_at[tb.ph.keepalives - 1] - tb.ph.keepalive_at[tb.ph.keepalives - 2],
               ==, 25 * TS_SEC);

  ts_wgdev_stats ws;
  ts_wgdev_get_stats(tb.ph.dev, &ws);
  TS_CHECK_INT(ws.deliver_overflow, ==, 0);
  TS_CHECK_INT(ws.rx_dropped, ==, 0);
  TS_CHECK_INT(ts_packet_pool_outstanding(ts_world_pool(tb.w)), ==, 0);
  TS_CHECK_INT(ts_trace_close_sinks(ts_world_trace(tb.w)), ==, TS_OK);
  ts_world_destroy(tb.w);

  int phone_link_packets = tunnel_only_on_phone_link(jsonl);
  TS_CHECK_INT(phone_link_packets, >, 0);

  if (!ts_test_need_tshark(__FILE__, __LINE__)) return;
  int frames = ts_test_tshark_count(pcap, "frame");
  int wg = ts_test_tshark_count(pcap, "wg");
  int errors = ts_test_tshark_count(pcap, "wg.decryption_error || wg.bad_packet_length");
  int hs_ok = ts_test_tshark_count(pcap, "wg.type == 2 && wg.handshake_ok == 1");
  int gw_req = ts_test_tshark_count(pcap, "wg && icmp.type == 8 && ip.dst == 10.64.0.1");
  int gw_rep = ts_test_tshark_count(pcap, "wg && icmp.type == 0 && ip.src == 10.64.0.1");
  int inet_in_tunnel = ts_test_tshark_count(pcap, "wg && icmp.type == 8 && ip.dst == 198.51.100.20");
  int nat_plain = ts_test_tshark_count(pcap, "!wg && icmp.type == 8 && ip.src == 203.0.113.10");
  printf("pcapng %s: %d frames, %d wg, %d decryption errors, %d handshake responses ok, "
         "gateway pings %d/%d, internet pings in tunnel %d, NATed %d\n",
         pcap, frames, wg, errors, hs_ok, gw_req, gw_rep, inet_in_tunnel, nat_plain);
  TS_CHECK_INT(errors, ==, 0);
  TS_CHECK_INT(hs_ok, >=, 1);
  TS_CHECK_INT(gw_req, >, 0);
  TS_CHECK_INT(gw_rep, >, 0);
  TS_CHECK_INT(inet_in_tunnel, >, 0);
  TS_CHECK_INT(nat_plain, >, 0);
}

TS_TEST(persistent_keepalive_fires_on_virtual_time) {
  static testbed tb;
  memset(&tb, 0, sizeof tb);
  TS_CHECK(ts_world_create(&tb.w, &ts_native_backend, 3) == TS_OK);
  TS_CHECK_INT(build(&tb, 25), ==, 0);
  TS_CHECK_INT(ts_world_run_until(tb.w, 80 * TS_SEC), ==, TS_OK);
  /* After the response (one round trip) the initiator confirms the session with a
   * keepalive; then one every 25 s of silence. */
  TS_CHECK_INT(tb.ph.keepalives, ==, 4);
  TS_CHECK_INT(tb.ph.keepalive_at[0], ==, RTT_GATEWAY);
  for (uint32_t i = 1; i < tb.ph.keepalives; i++)
    TS_CHECK_INT(tb.ph.keepalive_at[i], ==, RTT_GATEWAY + (ts_time)i * 25 * TS_SEC);
  /* The adapter's one event sits exactly at the engine's next deadline. */
  TS_CHECK_INT(ts_wgdev_armed_at(tb.ph.dev), ==, wg_device_next_deadline(ts_wgdev_engine(tb.ph.dev)));
  TS_CHECK_INT(ts_wgdev_armed_at(tb.ph.dev), ==, RTT_GATEWAY + 100 * TS_SEC);
  ts_world_destroy(tb.w);
}

TS_TEST(without_keepalive_an_idle_tunnel_stays_silent) {
  static testbed tb;
  memset(&tb, 0, sizeof tb);
  TS_CHECK(ts_world_create(&tb.w, &ts_native_backend, 3) == TS_OK);
  TS_CHECK_INT(build(&tb, 0), ==, 0);
  TS_CHECK_INT(ts_world_run_until(tb.w, 100 * TS_SEC), ==, TS_OK);
  TS_CHECK_INT(tb.ph.handshakes, ==, 1);
  TS_CHECK_INT(tb.ph.keepalives, ==, 1); /* only the one confirming the session */
  ts_world_destroy(tb.w);
}

TS_TEST(reset_and_rebuild_gives_the_same_trace_hash) {
  static testbed tb;
  memset(&tb, 0, sizeof tb);
  char first[TS_TRACE_HASH_HEX], second[TS_TRACE_HASH_HEX], other[TS_TRACE_HASH_HEX];
  TS_CHECK(ts_world_create(&tb.w, &ts_native_backend, 11) == TS_OK);
  TS_CHECK_INT(build(&tb, 25), ==, 0);
  schedule_traffic(&tb);
  ts_world_run_until(tb.w, 40 * TS_SEC);
  ts_trace_hash_hex(ts_world_trace(tb.w), first);
  TS_CHECK_INT(tb.ph.echo_replies, ==, 6);

  TS_CHECK_INT(ts_world_reset(tb.w, 11), ==, TS_OK);
  TS_CHECK_INT(ts_packet_pool_outstanding(ts_world_pool(tb.w)), ==, 0);
  TS_CHECK_INT(build(&tb, 25), ==, 0);
  schedule_traffic(&tb);
  ts_world_run_until(tb.w, 40 * TS_SEC);
  ts_trace_hash_hex(ts_world_trace(tb.w), second);
  TS_CHECK_STR(first, second);

  /* Another seed gives other keys and ephemerals, so other bytes on the wire. */
  TS_CHECK_INT(ts_world_reset(tb.w, 12), ==, TS_OK);
  TS_CHECK_INT(build(&tb, 25), ==, 0);
  schedule_traffic(&tb);
  ts_world_run_until(tb.w, 40 * TS_SEC);
  ts_trace_hash_hex(ts_world_trace(tb.w), other);
  TS_CHECK(strcmp(first, other) != 0);
  ts_world_destroy(tb.w);
}

TS_TEST(closing_the_adapter_cancels_its_timer) {
  static testbed tb;
  memset(&tb, 0, sizeof tb);
  TS_CHECK(ts_world_create(&tb.w, &ts_native_backend, 5) == TS_OK);
  TS_CHECK_INT(build(&tb, 25), ==, 0);
  ts_world_run_until(tb.w, TS_SEC);
  TS_CHECK(ts_wgdev_armed_at(tb.ph.dev) != TS_TIME_NEVER);
  ts_wgdev_close(tb.ph.dev);
  TS_CHECK(ts_wgdev_engine(tb.ph.dev) == NULL);
  TS_CHECK_INT(ts_wgdev_armed_at(tb.ph.dev), ==, TS_TIME_NEVER);
  uint8_t junk[4] = {1, 2, 3, 4};
  TS_CHECK_INT(ts_wgdev_tx_ip(tb.ph.dev, junk, sizeof junk), ==, TS_ESTATE);
  uint64_t before = ts_world_events_run(tb.w);
  ts_world_run_until(tb.w, 100 * TS_SEC);
  /* The relay has no timers of its own after a completed handshake with nothing to
   * send, so a closed phone leaves the world silent. */
  ts_wgdev_stats ws;
  ts_wgdev_get_stats(tb.ph.dev, &ws);
  uint64_t timer_events = ws.timer_events;
  TS_CHECK(ts_world_events_run(tb.w) - before <= 2);
  TS_CHECK_INT(ws.timer_events, ==, timer_events);
  ts_world_destroy(tb.w);
}

TS_TEST(destroying_the_adapter_frees_it_at_once) {
  static testbed tb;
  memset(&tb, 0, sizeof tb);
  TS_CHECK(ts_world_create(&tb.w, &ts_native_backend, 5) == TS_OK);
  TS_CHECK_INT(build(&tb, 25), ==, 0);
  ts_world_run_until(tb.w, TS_SEC);
  TS_CHECK(ts_wgdev_armed_at(tb.ph.dev) != TS_TIME_NEVER);
  /* Freed now, not at world destroy: a pending timer event firing later, or a
   * second release at destroy, would be a use after free that ASan reports. */
  ts_wgdev_destroy(tb.ph.dev);
  tb.ph.dev = NULL;
  uint64_t before = ts_world_events_run(tb.w);
  ts_world_run_until(tb.w, 100 * TS_SEC);
  TS_CHECK(ts_world_events_run(tb.w) - before <= 2);
  ts_world_destroy(tb.w);
}

TS_TEST(nat_table_fills_and_entries_expire) {
  static testbed tb;
  memset(&tb, 0, sizeof tb);
  TS_CHECK(ts_world_create(&tb.w, &ts_native_backend, 9) == TS_OK);
  tb.relay_cfg.nat_entries = 1;
  tb.relay_cfg.nat_idle_timeout = 30 * TS_SEC;
  TS_CHECK_INT(build(&tb, 0), ==, 0);
  /* 1 s: a ping maps the only entry; 2 s: UDP finds the table full; 40 s (the ping's
   * mapping idle for more than 30 s): UDP gets the entry. */
  ts_world_schedule(tb.w, 1 * TS_SEC, phone_send_inner, &tb, 1 | SEND_INTERNET_FLAG, NULL);
  ts_world_schedule(tb.w, 2 * TS_SEC, phone_send_inner, &tb, 2 | SEND_INTERNET_FLAG | SEND_UDP_FLAG,
                    NULL);
  ts_world_schedule(tb.w, 40 * TS_SEC, phone_send_inner, &tb,
                    3 | SEND_INTERNET_FLAG | SEND_UDP_FLAG, NULL);
  ts_world_run_until(tb.w, 50 * TS_SEC);
  ts_relay_stats rs;
  ts_relay_get_stats(tb.relay, &rs);
  TS_CHECK_INT(tb.ph.echo_replies, ==, 1);
  TS_CHECK_INT(tb.ph.udp_replies, ==, 1);
  TS_CHECK_INT(rs.nat_full, ==, 1);
  TS_CHECK_INT(rs.nat_mappings, ==, 2);
  TS_CHECK_INT(rs.nat_active, ==, 1);
  ts_world_destroy(tb.w);
}


TS_TEST(ipv6_inside_the_tunnel_to_gateway_and_through_nat66) {
  static testbed tb;
  memset(&tb, 0, sizeof tb);
  TS_CHECK(ts_world_create(&tb.w, &ts_native_backend, 13) == TS_OK);
  TS_CHECK_INT(build(&tb, 25), ==, 0);
  ts_world_schedule(tb.w, 1 * TS_SEC, phone_send_inner, &tb, 1 | SEND_V6_FLAG, NULL);
  ts_world_schedule(tb.w, 2 * TS_SEC, phone_send_inner, &tb, 2 | SEND_V6_FLAG | SEND_INTERNET_FLAG,
                    NULL);
  ts_world_schedule(tb.w, 3 * TS_SEC, phone_send_inner, &tb,
                    3 | SEND_V6_FLAG | SEND_INTERNET_FLAG | SEND_UDP_FLAG, NULL);
  ts_world_schedule(tb.w, 4 * TS_SEC, phone_send_inner, &tb,
                    4 | SEND_V6_FLAG | SEND_INTERNET_FLAG | SEND_TCP_FLAG, NULL);
  ts_world_run_until(tb.w, 10 * TS_SEC);
  TS_CHECK_INT(tb.internet_tcp_syns, ==, 1);
  TS_CHECK_INT(tb.ph.tcp_synacks, ==, 1);
  TS_CHECK_INT(tb.ph.rtt[1], ==, RTT_GATEWAY);
  TS_CHECK_INT(tb.ph.rtt[2], ==, RTT_INTERNET);
  TS_CHECK_INT(tb.ph.udp_replies, ==, 1);
  TS_CHECK_INT(tb.ph.bad_checksums, ==, 0);
  TS_CHECK_INT(tb.internet_bad_checksums, ==, 0);
  TS_CHECK_INT(tb.internet_echo_requests, ==, 1);
  TS_CHECK_INT(tb.internet_saw_other_source, ==, 0);
  ts_relay_stats rs;
  ts_relay_get_stats(tb.relay, &rs);
  TS_CHECK_INT(rs.gateway_echoes, ==, 1);
  TS_CHECK_INT(rs.nat_out, ==, 3);
  TS_CHECK_INT(rs.nat_in, ==, 3);
  TS_CHECK_INT(rs.dropped, ==, 0);
  ts_world_destroy(tb.w);
}
