/* ts_relay: engine as responder on a host's UDP port, an in-tunnel gateway that
 * answers pings (and, optionally, serves the ephemeral-peer negotiation from its own
 * lwIP instance), and a NAT between the tunnel and the internet (see ts_relay.h). */
#include "ts_relay.h"

#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ts_bytes.h"
#include "ts_negotiation.h"

#define ICMP4_ECHO_REPLY 0
#define ICMP4_ECHO_REQUEST 8
#define ICMP6_ECHO_REQUEST 128
#define ICMP6_ECHO_REPLY 129
#define TCP_HEADER_MIN 20
/* Checksum field offsets inside the layer-4 header (RFC 768, RFC 9293, RFC 792/4443). */
#define UDP_CHECKSUM_AT 6
#define TCP_CHECKSUM_AT 16
#define ICMP_CHECKSUM_AT 2
#define ICMP_ID_AT 4
#define IPV4_CHECKSUM_AT 10
#define IPV4_TTL_AT 8
#define IPV6_HOP_LIMIT_AT 7

struct nat_entry {
  bool used;
  uint8_t proto;
  uint16_t inner_port; /* port, or ICMP echo identifier */
  ts_ipaddr inner;     /* the tunnel address behind the mapping */
  ts_ipaddr public_addr;
  ts_time last_used;
};

/* One negotiation in progress: the connection and the request collected so far.
 * Slots are part of the relay (no allocation per connection). */
struct neg_session {
  bool used;
  ts_relay *relay;
  ts_netstack_tcp *conn;
  ts_neg_reader reader;
};

/* One client's ephemeral peers (see ts_relay.h): its parent (a configured peer), the
 * newest registered ephemeral peer, a replaced one that may still carry the tunnel
 * until the newest handshakes, and which of them holds the parent's addresses (is
 * "loaded", in Mullvad's words). Part of the relay: no allocation. */
struct eph_entry {
  bool used;
  wg_peer *parent;
  wg_peer *eph;        /* the newest ephemeral peer */
  wg_peer *old;        /* a replaced one that holds the addresses still, or NULL */
  wg_peer *owner;      /* parent, eph or old: the one the addresses route to */
  wg_peer *handshook;  /* set from the engine's sink: this peer completed a handshake */
  wg_allowed_ip ips[TS_RELAY_MAX_ALLOWED_IPS]; /* the parent's, when it registered */
  uint32_t ip_count;
};

struct ts_relay {
  ts_host *host;
  ts_world *world;
  ts_wgdev *dev;
  uint16_t port;
  ts_ipaddr gateway, gateway6, public4, public6;
  struct nat_entry *nat; /* slot i maps public port/id nat_first + i */
  uint32_t nat_count, nat_cursor;
  uint32_t nat_high; /* slots at and above this were never used: lookups stop here */
  uint16_t nat_first;
  ts_time nat_idle;
  ts_relay_stats stats;
  ts_netstack *stack;                /* the gateway's service stack; NULL: negotiation off */
  ts_rng neg_rng;                    /* the relay's ephemeral keys */
  struct neg_session neg[TS_RELAY_NEGOTIATION_SESSIONS];
  struct eph_entry eph[TS_RELAY_EPHEMERAL_PEERS];
  bool eph_work;      /* an entry has a handshake to act on */
  bool in_rx;         /* inside on_udp: the work is done when the datagram is through */
  bool eph_event;     /* a world event for the work is scheduled */
  uint8_t scratch[WG_IP_PACKET_MAX]; /* gateway replies are built here */
};

static size_t addr_len(uint8_t family) { return family == 6 ? 16 : 4; }

static void drop(ts_relay *r, const char *why) {
  r->stats.dropped++;
  ts_trace_event(ts_world_trace(r->world), ts_world_now(r->world), "relay-drop",
                 ts_host_name(r->host), why);
}

static void eph_run(ts_relay *r);

/* ---------------------------------------------------------------- transport */

static void send_udp(void *ctx, const wg_endpoint *to, const uint8_t *data, size_t len) {
  ts_relay *r = ctx;
  ts_ipaddr dst = {.family = to->family}, src;
  memcpy(dst.bytes, to->addr, addr_len(to->family));
  if ((to->family != 4 && to->family != 6) || !ts_host_source_for(r->host, &dst, &src)) {
    drop(r, "wg-no-route");
    return;
  }
  uint32_t need = (uint32_t)((to->family == 6 ? TS_IPV6_HEADER : TS_IPV4_HEADER) + TS_UDP_HEADER + len);
  ts_packet_pool *pool = ts_world_pool(r->world);
  ts_packet *p = ts_packet_alloc(pool, need);
  if (!p) return;
  p->len = ts_ip_build_udp(p->data, need, &src, &dst, r->port, to->port, data, (uint32_t)len);
  if (!p->len) {
    ts_packet_free(pool, p);
    drop(r, "wg-too-big");
    return;
  }
  ts_host_send(r->host, p);
}

static void on_udp(void *ctx, ts_host *h, const ts_ip_info *info, const uint8_t *payload,
                   uint32_t len) {
  ts_relay *r = ctx;
  (void)h;
  wg_endpoint from = info->family == 6 ? wg_endpoint_ipv6(info->src.bytes, info->sport)
                                       : wg_endpoint_ipv4(info->src.bytes, info->sport);
  r->in_rx = true;
  ts_wgdev_rx_udp(r->dev, &from, payload, len);
  r->in_rx = false;
  eph_run(r);
}

/* ---------------------------------------------------------------- translation */

/* Recomputes every checksum the rewrite touched: the IPv4 header, and the layer-4
 * checksum, which covers the addresses (src, dst: as rewritten) through the
 * pseudo-header (except ICMPv4). */
static void fix_checksums(uint8_t *pkt, const ts_ip_info *info, const ts_ipaddr *src,
                          const ts_ipaddr *dst) {
  uint8_t *l4 = pkt + info->l4_offset;
  if (info->family == 4) {
    ts_wr16(pkt + IPV4_CHECKSUM_AT, 0);
    ts_wr16(pkt + IPV4_CHECKSUM_AT, ts_checksum_finish(ts_checksum_add(0, pkt, info->l4_offset)));
  }
  uint32_t at;
  switch (info->proto) {
  case TS_IPPROTO_UDP:
    /* An IPv4 UDP checksum of 0 means "none" (RFC 768); keep it that way. */
    if (info->family == 4 && ts_rd16(l4 + UDP_CHECKSUM_AT) == 0) return;
    at = UDP_CHECKSUM_AT;
    break;
  case TS_IPPROTO_TCP: at = TCP_CHECKSUM_AT; break;
  case TS_IPPROTO_ICMP:
  case TS_IPPROTO_ICMPV6: at = ICMP_CHECKSUM_AT; break;
  default: return;
  }
  uint32_t sum = info->proto == TS_IPPROTO_ICMP
                     ? 0
                     : ts_ip_pseudo_header_sum(src, dst, info->proto, info->l4_len);
  ts_wr16(l4 + at, 0);
  uint16_t c = ts_checksum_finish(ts_checksum_add(sum, l4, info->l4_len));
  /* UDP sends a computed 0 as all ones (RFC 768). */
  ts_wr16(l4 + at, c == 0 && info->proto == TS_IPPROTO_UDP ? 0xffff : c);
}

/* The port or echo identifier a mapping is keyed on, and whether the packet is one
 * the NAT translates in that direction (echo requests out, echo replies in). */
static bool nat_key(const ts_ip_info *info, bool outbound, uint16_t *port) {
  switch (info->proto) {
  case TS_IPPROTO_UDP:
    if (info->l4_len < TS_UDP_HEADER) return false;
    *port = outbound ? info->sport : info->dport;
    return true;
  case TS_IPPROTO_TCP:
    if (info->l4_len < TCP_HEADER_MIN) return false;
    *port = outbound ? info->sport : info->dport;
    return true;
  case TS_IPPROTO_ICMP:
  case TS_IPPROTO_ICMPV6: {
    if (info->l4_len < TS_ICMP_ECHO_HEADER) return false;
    bool v6 = info->proto == TS_IPPROTO_ICMPV6;
    uint8_t want = outbound ? (v6 ? ICMP6_ECHO_REQUEST : ICMP4_ECHO_REQUEST)
                            : (v6 ? ICMP6_ECHO_REPLY : ICMP4_ECHO_REPLY);
    if (info->icmp_type != want || info->icmp_code != 0) return false;
    *port = info->icmp_id;
    return true;
  }
  default:
    return false;
  }
}

/* Rewrites the source (outbound) or destination (inbound) address and port/id,
 * decrements the TTL or hop limit, and fixes the checksums. False if the TTL ran out. */
static bool rewrite(uint8_t *pkt, const ts_ip_info *info, bool outbound, const ts_ipaddr *addr,
                    uint16_t port) {
  bool v6 = info->family == 6;
  uint8_t *ttl = pkt + (v6 ? IPV6_HOP_LIMIT_AT : IPV4_TTL_AT);
  if (*ttl <= 1) return false;
  (*ttl)--;
  size_t at = v6 ? (outbound ? 8 : 24) : (outbound ? 12 : 16);
  memcpy(pkt + at, addr->bytes, addr_len(info->family));
  uint8_t *l4 = pkt + info->l4_offset;
  if (info->proto == TS_IPPROTO_UDP || info->proto == TS_IPPROTO_TCP)
    ts_wr16(l4 + (outbound ? 0 : 2), port);
  else
    ts_wr16(l4 + ICMP_ID_AT, port);
  fix_checksums(pkt, info, outbound ? addr : &info->src, outbound ? &info->dst : addr);
  return true;
}

static bool is_fragment(const uint8_t *pkt, const ts_ip_info *info) {
  /* IPv4 more-fragments flag or a fragment offset; IPv6 fragment header (44). */
  if (info->family == 4) return (ts_rd16(pkt + 6) & 0x3fff) != 0;
  return info->proto == 44;
}

static bool expired(const ts_relay *r, const struct nat_entry *e, ts_time now) {
  return now - e->last_used >= r->nat_idle;
}

static const char *proto_name(uint8_t proto) {
  switch (proto) {
  case TS_IPPROTO_UDP: return "udp";
  case TS_IPPROTO_TCP: return "tcp";
  case TS_IPPROTO_ICMP: return "icmp";
  default: return "icmpv6";
  }
}

static void trace_mapping(ts_relay *r, const struct nat_entry *e, uint16_t public_port) {
  char inner[64], outer[64], detail[160];
  ts_ipaddr_format(&e->inner, inner, sizeof inner);
  ts_ipaddr_format(&e->public_addr, outer, sizeof outer);
  snprintf(detail, sizeof detail, "%s %s:%u -> %s:%u", proto_name(e->proto), inner,
           e->inner_port, outer, public_port);
  ts_trace_event(ts_world_trace(r->world), ts_world_now(r->world), "relay-nat",
                 ts_host_name(r->host), detail);
}

/* The slot of the live mapping for this flow, creating one if needed; -1 if full. */
static int64_t nat_lookup_or_map(ts_relay *r, uint8_t proto, const ts_ipaddr *inner,
                                 uint16_t inner_port, const ts_ipaddr *public_addr, ts_time now) {
  for (uint32_t i = 0; i < r->nat_high; i++) {
    const struct nat_entry *e = &r->nat[i];
    if (e->used && e->proto == proto && e->inner_port == inner_port && !expired(r, e, now) &&
        ts_ipaddr_equal(&e->inner, inner) && ts_ipaddr_equal(&e->public_addr, public_addr))
      return i;
  }
  for (uint32_t k = 0; k < r->nat_count; k++) {
    uint32_t i = (r->nat_cursor + k) % r->nat_count;
    struct nat_entry *e = &r->nat[i];
    if (e->used && !expired(r, e, now)) continue;
    *e = (struct nat_entry){.used = true, .proto = proto, .inner_port = inner_port,
                            .inner = *inner, .public_addr = *public_addr, .last_used = now};
    r->nat_cursor = (i + 1) % r->nat_count;
    if (i + 1 > r->nat_high) r->nat_high = i + 1;
    r->stats.nat_mappings++;
    trace_mapping(r, e, (uint16_t)(r->nat_first + i));
    return i;
  }
  return -1;
}

static void nat_out(ts_relay *r, const uint8_t *pkt, const ts_ip_info *info) {
  uint16_t inner_port;
  if (is_fragment(pkt, info)) {
    drop(r, "nat-fragment");
    return;
  }
  if (!nat_key(info, true, &inner_port)) {
    drop(r, "nat-unsupported");
    return;
  }
  ts_ipaddr public_addr = info->family == 6 ? r->public6 : r->public4;
  if (!public_addr.family && !ts_host_source_for(r->host, &info->dst, &public_addr)) {
    drop(r, "nat-no-route");
    return;
  }
  ts_time now = ts_world_now(r->world);
  int64_t slot = nat_lookup_or_map(r, info->proto, &info->src, inner_port, &public_addr, now);
  if (slot < 0) {
    r->stats.nat_full++;
    drop(r, "nat-full");
    return;
  }
  ts_packet_pool *pool = ts_world_pool(r->world);
  ts_packet *p = ts_packet_from(pool, pkt, info->l4_offset + info->l4_len);
  if (!p) return;
  if (!rewrite(p->data, info, true, &public_addr, (uint16_t)(r->nat_first + slot))) {
    ts_packet_free(pool, p);
    drop(r, "ttl-exceeded");
    return;
  }
  r->nat[slot].last_used = now;
  r->stats.nat_out++;
  ts_host_send(r->host, p);
}

/* Local hook: return traffic of a live mapping goes back into the tunnel; anything
 * else (the engine's own UDP port, pings to the relay itself) is left to the host. */
static bool on_local(void *ctx, ts_host *h, const ts_ip_info *info, ts_packet *pkt) {
  ts_relay *r = ctx;
  uint16_t public_port;
  if (info->proto == TS_IPPROTO_UDP && info->dport == r->port) return false;
  if (!nat_key(info, false, &public_port)) return false;
  if (public_port < r->nat_first || public_port - r->nat_first >= (int)r->nat_count) return false;
  struct nat_entry *e = &r->nat[public_port - r->nat_first];
  ts_time now = ts_world_now(r->world);
  if (!e->used || e->proto != info->proto || expired(r, e, now) ||
      !ts_ipaddr_equal(&e->public_addr, &info->dst))
    return false;
  ts_packet_pool *pool = ts_world_pool(ts_host_world(h));
  if (is_fragment(pkt->data, info)) {
    drop(r, "nat-fragment");
  } else if (!rewrite(pkt->data, info, false, &e->inner, e->inner_port)) {
    drop(r, "ttl-exceeded");
  } else {
    e->last_used = now;
    r->stats.nat_in++;
    int rc = ts_wgdev_tx_ip(r->dev, pkt->data, info->l4_offset + info->l4_len);
    if (rc != WG_OK && rc != WG_ESTAGED) drop(r, "tunnel-no-peer");
  }
  ts_packet_free(pool, pkt);
  return true;
}

/* ---------------------------------------------------------------- inner packets */

static void answer_gateway(ts_relay *r, const uint8_t *pkt, const ts_ip_info *info) {
  bool v6 = info->family == 6;
  if (info->proto != (v6 ? TS_IPPROTO_ICMPV6 : TS_IPPROTO_ICMP) ||
      info->icmp_type != (v6 ? ICMP6_ECHO_REQUEST : ICMP4_ECHO_REQUEST) ||
      info->l4_len < TS_ICMP_ECHO_HEADER) {
    drop(r, "gateway-unsupported");
    return;
  }
  const uint8_t *payload = pkt + info->l4_offset + TS_ICMP_ECHO_HEADER;
  uint32_t len = ts_ip_build_echo(r->scratch, sizeof r->scratch, &info->dst, &info->src, true,
                                  info->icmp_id, info->icmp_seq, payload,
                                  info->l4_len - TS_ICMP_ECHO_HEADER);
  if (!len) {
    drop(r, "gateway-too-big");
    return;
  }
  r->stats.gateway_echoes++;
  ts_wgdev_tx_ip(r->dev, r->scratch, len);
}

static void deliver_ip(void *ctx, const uint8_t *pkt, size_t len) {
  ts_relay *r = ctx;
  ts_ip_info info;
  if (ts_ip_parse(pkt, (uint32_t)len, &info) != 0) {
    drop(r, "inner-malformed");
    return;
  }
  if (!ts_ipaddr_equal(&info.dst, &r->gateway) && !ts_ipaddr_equal(&info.dst, &r->gateway6)) {
    nat_out(r, pkt, &info);
  } else if (r->stack && (info.proto == TS_IPPROTO_TCP || info.proto == TS_IPPROTO_UDP)) {
    /* The gateway's own transport: lwIP serves the negotiation port and answers the
     * rest as a host does (RST, port unreachable). Called after the engine returned,
     * so the stack's answers may go straight back into the engine (ts_wgdev.h). */
    r->stats.gateway_stack_in++;
    if (ts_netstack_input(r->stack, pkt, (uint32_t)len) != TS_OK) drop(r, "gateway-stack-full");
  } else {
    answer_gateway(r, pkt, &info);
  }
}

/* ---------------------------------------------------------------- negotiation */

static void neg_trace(ts_relay *r, const char *detail) {
  ts_trace_event(ts_world_trace(r->world), ts_world_now(r->world), "relay-negotiation",
                 ts_host_name(r->host), detail);
}

/* Whatever the gateway's stack sends goes back into the tunnel, to the peer whose
 * allowed IPs hold the destination (the engine's cryptokey routing). */
static void stack_output(void *ctx, ts_packet *pkt) {
  ts_relay *r = ctx;
  int rc = ts_wgdev_tx_ip(r->dev, pkt->data, pkt->len);
  if (rc != WG_OK && rc != WG_ESTAGED) drop(r, "tunnel-no-peer");
  ts_packet_free(ts_world_pool(r->world), pkt);
}

static void neg_release(struct neg_session *s) {
  s->used = false;
  s->conn = NULL;
}

static void neg_abort(struct neg_session *s, const char *why) {
  ts_relay *r = s->relay;
  r->stats.negotiations_aborted++;
  neg_trace(r, why);
  ts_netstack_tcp_abort(s->conn);
  neg_release(s);
}

/* Queues the response. False if the send buffer refused it, which a fresh
 * connection's buffer never does. */
static bool neg_respond(struct neg_session *s, const ts_neg_response *resp) {
  uint8_t wire[TS_NEG_RESPONSE_LEN];
  ts_neg_response_encode(resp, wire);
  return ts_netstack_tcp_write(s->conn, wire, sizeof wire) == (int)sizeof wire;
}

static void neg_refuse(struct neg_session *s, uint8_t status) {
  ts_relay *r = s->relay;
  ts_neg_response resp = {.status = status};
  if (!neg_respond(s, &resp)) {
    neg_abort(s, "aborted: response not sent");
    return;
  }
  r->stats.negotiations_refused++;
  char detail[64];
  snprintf(detail, sizeof detail, "refused: %s", ts_neg_status_name(status));
  neg_trace(r, detail);
  ts_netstack_tcp_close(s->conn);
  neg_release(s);
}

/* ---------------------------------------------------------------- ephemeral peers */

static void eph_trace(ts_relay *r, const char *what, const wg_peer *peer, const wg_peer *parent,
                      const char *why) {
  uint8_t key[WG_KEY_LEN];
  char eph[WG_BASE64_KEY_LEN], par[WG_BASE64_KEY_LEN], detail[224];
  wg_peer_public_key(peer, key);
  wg_key_to_base64(eph, key);
  wg_peer_public_key(parent, key);
  wg_key_to_base64(par, key);
  snprintf(detail, sizeof detail, "%s %s of parent %s%s%s", what, eph, par, why ? ": " : "",
           why ? why : "");
  ts_trace_event(ts_world_trace(r->world), ts_world_now(r->world), "relay-ephemeral-peer",
                 ts_host_name(r->host), detail);
}

static struct eph_entry *entry_of_peer(ts_relay *r, const wg_peer *peer) {
  for (uint32_t i = 0; i < TS_RELAY_EPHEMERAL_PEERS; i++) {
    struct eph_entry *e = &r->eph[i];
    if (e->used && (e->parent == peer || e->eph == peer || e->old == peer)) return e;
  }
  return NULL;
}

/* The entry's addresses to `to`. Each prefix exists already (held by another peer of
 * the entry), so this only changes its owner: no allocation (allowedips.c). */
static void load(struct eph_entry *e, wg_peer *to) {
  if (e->owner == to) return;
  for (uint32_t i = 0; i < e->ip_count; i++)
    wg_peer_add_allowed_ip(to, e->ips[i].family, e->ips[i].addr, e->ips[i].cidr);
  e->owner = to;
}

/* Removes an ephemeral peer (its sessions and staged packets go with it). */
static void drop_peer(ts_relay *r, struct eph_entry *e, wg_peer **which, const char *why) {
  if (!*which) return;
  eph_trace(r, "removed", *which, e->parent, why);
  wg_device *engine = ts_wgdev_engine(r->dev);
  if (engine) wg_device_remove_peer(engine, *which);
  *which = NULL;
  r->stats.ephemeral_removed++;
}

/* Acts on the handshakes the sink recorded, after the engine call that completed
 * them (the engine forbids reconfiguring it from inside a call). MV-CODE
 * ephemeralpeer.proto: "A handshake from the normal peer unloads the corresponding
 * ephemeral peer from WireGuard and vice versa." */
static void eph_run(ts_relay *r) {
  if (!r->eph_work) return;
  r->eph_work = false;
  bool changed = false;
  for (uint32_t i = 0; i < TS_RELAY_EPHEMERAL_PEERS; i++) {
    struct eph_entry *e = &r->eph[i];
    wg_peer *h = e->handshook;
    if (!e->used || !h) continue;
    e->handshook = NULL;
    changed = true;
    if (h == e->parent) {
      /* The client is back on its parent key (a new process, or a failed switch): the
       * parent routes again and its ephemeral peers go; the proto keeps them "in
       * memory" without promising for how long, and the client negotiates a new one
       * for every tunnel (MV-CODE), so none is kept. */
      load(e, e->parent);
      drop_peer(r, e, &e->eph, "the parent handshook");
      drop_peer(r, e, &e->old, "the parent handshook");
      memset(e, 0, sizeof *e);
    } else if (h == e->eph) {
      if (e->owner != e->eph) {
        load(e, e->eph);
        eph_trace(r, "loaded", e->eph, e->parent, "it handshook, the addresses route to it");
      }
      drop_peer(r, e, &e->old, "replaced by a newer one, which handshook");
    }
    /* e->old handshaking: replaced already; it keeps what it has until the newest
     * one or the parent handshakes. */
  }
  if (changed) ts_wgdev_sync(r->dev);
}

static void eph_event(void *obj, uint64_t arg) {
  ts_relay *r = obj;
  (void)arg;
  r->eph_event = false;
  eph_run(r);
}

/* Handshakes complete only while a datagram is received (on_udp runs the work when
 * the datagram is through); anything else would run from its own event. */
static void eph_schedule(ts_relay *r) {
  r->eph_work = true;
  if (r->in_rx || r->eph_event) return;
  if (ts_world_schedule_in(r->world, 0, eph_event, r, 0, NULL) == TS_OK) r->eph_event = true;
}

/* From the engine's sink (inside its call: records only). */
static void engine_event(void *ctx, int event, wg_peer *peer) {
  ts_relay *r = ctx;
  if (event != WG_EV_HANDSHAKE_COMPLETE || !peer || !r->stack) return;
  struct eph_entry *e = entry_of_peer(r, peer);
  if (!e) return;
  e->handshook = peer;
  eph_schedule(r);
}

/* ---------------------------------------------------------------- requests */

/* A whole request. The parent key must be a configured peer (not an ephemeral one),
 * and the request must come through that client's tunnel: the parent's, or one of
 * its ephemeral peers'. Then a fresh relay key pair, the PSK, the new ephemeral peer
 * (public key = the request's ephemeral key, the PSK, the endpoint the request came
 * from, no addresses yet: the tunnel that carries the exchange keeps working until
 * the client switches, MV-CODE), the response and an orderly close (FIN after the
 * response). Everything that can refuse is checked before the response, so an ok is
 * never taken back. */
static void neg_complete(struct neg_session *s) {
  ts_relay *r = s->relay;
  ts_neg_request req;
  if (ts_neg_reader_request(&s->reader, &req) != TS_OK) {
    neg_abort(s, "aborted: unreadable request");
    return;
  }
  wg_device *engine = ts_wgdev_engine(r->dev);
  wg_peer *parent = engine ? wg_device_find_peer(engine, req.parent_public) : NULL;
  struct eph_entry *e = parent ? entry_of_peer(r, parent) : NULL;
  if (!parent || (e && e->parent != parent)) {
    neg_refuse(s, TS_NEG_STATUS_UNKNOWN_PARENT); /* unknown, or itself an ephemeral peer */
    return;
  }
  /* A client may only register for its own key: the connection's source is an inner
   * address the engine already checked against the sending peer's allowed IPs, so
   * the peer owning it is the sender. Without this, one client could name another's
   * key and take its addresses. */
  ts_ipaddr remote;
  ts_netstack_tcp_endpoints(s->conn, NULL, NULL, &remote, NULL);
  wg_peer *sender = wg_device_lookup_allowed_ip(engine, remote.family, remote.bytes);
  if (!sender || (sender != parent && !(e && sender == e->owner))) {
    neg_refuse(s, TS_NEG_STATUS_NOT_YOURS);
    return;
  }
  /* The new key must be nobody's yet: not the relay's, not a peer's (the parent's own
   * key, another client's, an ephemeral key in use). */
  uint8_t own[WG_KEY_LEN];
  wg_device_public_key(engine, own);
  if (wg_device_find_peer(engine, req.ephemeral_public) ||
      sodium_memcmp(own, req.ephemeral_public, WG_KEY_LEN) == 0) {
    neg_refuse(s, TS_NEG_STATUS_BAD_KEY);
    return;
  }
  wg_allowed_ip ips[TS_RELAY_MAX_ALLOWED_IPS];
  size_t ip_count = 0;
  if (!e) {
    for (uint32_t i = 0; !e && i < TS_RELAY_EPHEMERAL_PEERS; i++)
      if (!r->eph[i].used) e = &r->eph[i];
    ip_count = wg_peer_get_allowed_ips(parent, ips, TS_RELAY_MAX_ALLOWED_IPS);
    if (!e || ip_count > TS_RELAY_MAX_ALLOWED_IPS) {
      neg_refuse(s, TS_NEG_STATUS_INTERNAL); /* table full, or more addresses than it holds */
      return;
    }
  }
  uint8_t priv[TS_NEG_KEY_LEN];
  ts_neg_response resp = {.status = TS_NEG_STATUS_OK};
  if (ts_neg_keypair(priv, resp.ephemeral_public, &r->neg_rng) != TS_OK) {
    neg_refuse(s, TS_NEG_STATUS_INTERNAL);
    return;
  }
  wg_peer_config pc = {.has_preshared_key = 1, .endpoint = *wg_peer_endpoint(sender)};
  memcpy(pc.public_key, req.ephemeral_public, WG_KEY_LEN);
  int rc = ts_neg_derive_psk(pc.preshared_key, priv, req.ephemeral_public, req.ephemeral_public,
                             resp.ephemeral_public);
  sodium_memzero(priv, sizeof priv);
  if (rc != TS_OK) {
    sodium_memzero(pc.preshared_key, sizeof pc.preshared_key);
    neg_refuse(s, TS_NEG_STATUS_BAD_KEY);
    return;
  }
  wg_peer *eph = NULL;
  rc = ts_wgdev_add_peer(r->dev, &pc, &eph);
  sodium_memzero(pc.preshared_key, sizeof pc.preshared_key);
  if (rc != WG_OK) {
    neg_refuse(s, rc == WG_EKEY ? TS_NEG_STATUS_BAD_KEY : TS_NEG_STATUS_INTERNAL);
    return;
  }
  if (!neg_respond(s, &resp)) {
    wg_device_remove_peer(engine, eph);
    ts_wgdev_sync(r->dev);
    neg_abort(s, "aborted: response not sent");
    return;
  }
  ts_netstack_tcp_close(s->conn);
  neg_release(s);
  if (!e->used) {
    *e = (struct eph_entry){.used = true, .parent = parent, .owner = parent,
                            .ip_count = (uint32_t)ip_count};
    memcpy(e->ips, ips, sizeof e->ips);
  } else {
    /* A new negotiation replaces the parent's ephemeral peer (MV-CODE: "Any already
     * existing ephemeral peer for the normal peer is replaced"). Peers that route
     * nothing go now; the one that carries the tunnel (and this exchange's response)
     * stays until the new one or the parent handshakes. */
    if (e->old != e->owner) drop_peer(r, e, &e->old, "replaced by a newer one");
    if (e->eph != e->owner) drop_peer(r, e, &e->eph, "replaced by a newer one");
    if (e->eph) e->old = e->eph;
    ts_wgdev_sync(r->dev);
  }
  e->eph = eph;
  e->handshook = NULL;
  r->stats.negotiations_ok++;
  r->stats.ephemeral_registered++;
  eph_trace(r, "registered", eph, parent, NULL);
  char b64[WG_BASE64_KEY_LEN], detail[128];
  wg_key_to_base64(b64, req.ephemeral_public);
  snprintf(detail, sizeof detail, "ok: ephemeral peer %s registered", b64);
  neg_trace(r, detail);
}

static void neg_on_data(void *ctx, ts_netstack_tcp *c, const uint8_t *data, uint32_t len) {
  struct neg_session *s = ctx;
  (void)c;
  if (!s->used) return;
  int rc = ts_neg_reader_feed(&s->reader, data, len, NULL);
  if (rc == TS_NEG_READER_DONE)
    neg_complete(s);
  else if (rc != TS_NEG_READER_MORE)
    neg_abort(s, "aborted: bad request");
}

/* The client closed before a whole request arrived. */
static void neg_on_eof(void *ctx, ts_netstack_tcp *c) {
  struct neg_session *s = ctx;
  (void)c;
  if (s->used) neg_abort(s, "aborted: closed early");
}

/* Reset by the client or given up by lwIP: the handle is gone with the connection. */
static void neg_on_closed(void *ctx, ts_netstack_tcp *c, int reason) {
  struct neg_session *s = ctx;
  (void)c;
  if (!s->used) return;
  s->relay->stats.negotiations_aborted++;
  char detail[64];
  snprintf(detail, sizeof detail, "aborted: %s", ts_netstack_close_reason_name(reason));
  neg_trace(s->relay, detail);
  neg_release(s);
}

static bool neg_accept(void *ctx, ts_netstack_listener *l, ts_netstack_tcp *c) {
  ts_relay *r = ctx;
  (void)l;
  for (uint32_t i = 0; i < TS_RELAY_NEGOTIATION_SESSIONS; i++) {
    struct neg_session *s = &r->neg[i];
    if (s->used) continue;
    s->used = true;
    s->relay = r;
    s->conn = c;
    ts_neg_reader_init(&s->reader, TS_NEG_REQUEST);
    static const ts_netstack_tcp_callbacks cb = {
        .data = neg_on_data, .eof = neg_on_eof, .closed = neg_on_closed};
    ts_netstack_tcp_set_callbacks(c, &cb, s);
    return true;
  }
  r->stats.negotiations_aborted++;
  neg_trace(r, "aborted: no free session");
  return false;
}

/* The gateway's stack: its addresses are the gateways', its seed the first draw of
 * "netstack/<name>" (the convention of ts_netstack_dev), its listener the negotiation
 * port. The stack attaches itself to the world, which frees it. */
static int neg_start(ts_relay *r) {
  ts_world *w = r->world;
  char name[TS_NETSTACK_NAME_MAX], stream[TS_NETSTACK_NAME_MAX + 16];
  if (snprintf(name, sizeof name, "%s/gateway", ts_host_name(r->host)) >= (int)sizeof name)
    return TS_EINVAL;
  snprintf(stream, sizeof stream, "netstack/%s", name);
  ts_rng seed_rng;
  ts_world_rng(w, stream, &seed_rng);
  snprintf(stream, sizeof stream, "relay/%s/negotiation", ts_host_name(r->host));
  ts_world_rng(w, stream, &r->neg_rng);
  ts_netstack_config nc = {.name = name,
                           .seed = ts_rng_next(&seed_rng),
                           .addr4 = {.addr = r->gateway, .len = 32},
                           .mtu = TS_RELAY_NEGOTIATION_MTU,
                           .output = stack_output,
                           .output_ctx = r};
  if (r->gateway6.family == 6) nc.addr6 = (ts_ipprefix){.addr = r->gateway6, .len = 128};
  if (r->gateway.family != 4) return TS_EINVAL;
  int rc = ts_netstack_create(w, &nc, &r->stack);
  if (rc) return rc;
  ts_netstack_listener *l;
  return ts_netstack_tcp_listen(r->stack, TS_NEG_PORT, neg_accept, r, &l);
}

/* ---------------------------------------------------------------- lifecycle */

static void release(void *obj) {
  ts_relay *r = obj;
  free(r->nat);
  free(r);
}

static int add_peers(ts_relay *r, const ts_relay_config *cfg) {
  for (uint32_t i = 0; i < cfg->peer_count; i++) {
    const ts_relay_peer *rp = &cfg->peers[i];
    if (rp->allowed_ip_count > TS_RELAY_MAX_ALLOWED_IPS) return TS_EINVAL;
    wg_peer_config pc = {.has_preshared_key = rp->has_preshared_key,
                         .static_static = rp->static_static};
    memcpy(pc.public_key, rp->public_key, WG_KEY_LEN);
    memcpy(pc.preshared_key, rp->preshared_key, WG_KEY_LEN);
    wg_peer *peer;
    int rc = ts_wgdev_add_peer(r->dev, &pc, &peer);
    memset(pc.preshared_key, 0, WG_KEY_LEN);
    if (rc == WG_EEXIST) return TS_EEXIST;
    if (rc != WG_OK) return rc == WG_ENOMEM ? TS_ENOMEM : TS_EINVAL;
    for (uint32_t k = 0; k < rp->allowed_ip_count; k++) {
      const ts_ipprefix *a = &rp->allowed_ips[k];
      if (wg_peer_add_allowed_ip(peer, a->addr.family, a->addr.bytes, a->len) != WG_OK)
        return TS_EINVAL;
    }
  }
  return TS_OK;
}

int ts_relay_create(ts_host *h, const ts_relay_config *cfg, ts_relay **out) {
  if (!h || !cfg || !out || (cfg->peer_count && !cfg->peers)) return TS_EINVAL;
  uint32_t entries = cfg->nat_entries ? cfg->nat_entries : TS_RELAY_DEFAULT_NAT_ENTRIES;
  uint16_t first = cfg->nat_port_first ? cfg->nat_port_first : TS_RELAY_DEFAULT_NAT_PORT_FIRST;
  if ((uint32_t)first + entries - 1 > UINT16_MAX) return TS_EINVAL;
  if ((cfg->public_addr.family && cfg->public_addr.family != 4) ||
      (cfg->public_addr6.family && cfg->public_addr6.family != 6))
    return TS_EINVAL;
  ts_world *w = ts_host_world(h);
  ts_relay *r = calloc(1, sizeof *r);
  if (!r) return TS_ENOMEM;
  r->nat = calloc(entries, sizeof *r->nat);
  if (!r->nat) {
    free(r);
    return TS_ENOMEM;
  }
  int rc = ts_world_attach(w, r, release);
  if (rc) {
    release(r);
    return rc;
  }
  r->host = h;
  r->world = w;
  r->port = cfg->port ? cfg->port : TS_RELAY_DEFAULT_PORT;
  r->nat_count = entries;
  r->nat_first = first;
  r->nat_idle = cfg->nat_idle_timeout ? cfg->nat_idle_timeout : TS_RELAY_DEFAULT_NAT_IDLE;
  r->gateway = cfg->gateway;
  if (!r->gateway.family) ts_ipaddr_parse(TS_RELAY_DEFAULT_GATEWAY, &r->gateway);
  r->gateway6 = cfg->gateway6; /* family 0 never equals a parsed address */
  r->public4 = cfg->public_addr;
  r->public6 = cfg->public_addr6;

  ts_wgdev_config dc = {.name = ts_host_name(h),
                        .public_key = cfg->public_key,
                        .transport = {.send_udp = send_udp, .deliver_ip = deliver_ip,
                                      .on_event = engine_event, .ctx = r}};
  memcpy(dc.private_key, cfg->private_key, WG_KEY_LEN);
  /* From here on a failure leaves a partial relay attached; the world frees it. */
  rc = ts_wgdev_create(w, &dc, &r->dev);
  memset(dc.private_key, 0, WG_KEY_LEN);
  if (rc) return rc;
  rc = add_peers(r, cfg);
  if (rc) return rc;
  if (cfg->negotiation) {
    rc = neg_start(r);
    if (rc) return rc;
  }
  rc = ts_host_bind_udp(h, r->port, on_udp, r);
  if (rc) return rc;
  ts_host_set_local_hook(h, on_local, r);
  *out = r;
  return TS_OK;
}

ts_wgdev *ts_relay_wgdev(ts_relay *r) { return r->dev; }
ts_netstack *ts_relay_netstack(ts_relay *r) { return r->stack; }

void ts_relay_get_stats(const ts_relay *r, ts_relay_stats *out) {
  *out = r->stats;
  ts_time now = ts_world_now(r->world);
  out->ephemeral_peers = 0;
  for (uint32_t i = 0; i < TS_RELAY_EPHEMERAL_PEERS; i++)
    out->ephemeral_peers += (r->eph[i].eph != NULL) + (r->eph[i].old != NULL);
  out->nat_active = 0;
  for (uint32_t i = 0; i < r->nat_high; i++)
    if (r->nat[i].used && !expired(r, &r->nat[i], now)) out->nat_active++;
}
