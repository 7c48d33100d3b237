/* The provider's tunnel mux (ts_mux.h): a fixed table of flows learnt from the
 * netstack's outbound packets, consulted for every packet out of the tunnel. */
#include "ts_mux.h"

#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include "ts_bytes.h"
#include "ts_error.h"
#include "ts_ipsum.h"

#define ICMP4_ECHO_REPLY 0
#define ICMP4_ECHO_REQUEST 8
#define ICMP6_ECHO_REQUEST 128
#define ICMP6_ECHO_REPLY 129
#define TCP_HEADER 20
#define TCP_FIN 0x01
#define TCP_SYN 0x02
#define TCP_RST 0x04
#define TCP_ACK 0x10
/* IPv6 extension headers walked (RFC 8200 4.1); anything else ends the walk. */
#define IP6_HOPOPTS 0
#define IP6_ROUTING 43
#define IP6_FRAGMENT 44
#define IP6_DSTOPTS 60
/* A bound on the walk, so a chain of empty options costs a fixed amount. */
#define IP6_EXT_MAX 8

enum flow_kind { FLOW_FREE = 0, FLOW_TCP, FLOW_ICMP };

/* One tracked flow, keyed from the netstack's side: local = the netstack's address. */
struct flow {
  uint8_t kind, family;
  uint8_t local[16], remote[16]; /* 4 or 16 bytes used, the rest zero */
  uint16_t lport, rport;         /* ICMP: lport is the echo identifier, rport 0 */
  uint64_t last_use;             /* the mux's packet clock, for least-recently-used eviction */
  /* TCP only. */
  bool syn_sent;        /* our SYN seen and nothing from the peer accepted yet */
  uint32_t snd_syn_end; /* our ISN + 1: the ack an acceptable RST in SYN-SENT carries */
  bool rcv_known;
  uint32_t rcv_nxt;     /* what the netstack expects next, as far as the mux can tell */
  bool fin_out, fin_in, fin_out_acked, fin_in_acked;
  uint32_t fin_out_end, fin_in_end; /* sequence number just past each FIN */
};

struct ts_mux {
  size_t capacity, count;
  uint64_t clock; /* counts packets that touched a flow: the LRU order, deterministic */
  ts_mux_stats stats;
  struct flow flows[];
};

/* What the mux needs from one packet. */
struct pkt {
  uint8_t family, proto;
  ts_ipaddr src, dst;
  const uint8_t *l4;
  uint32_t l4_len;
};

/* parse() results besides 0 and TS_EPARSE: well-formed but nothing the mux tracks. */
#define PARSE_UNTRACKED 1

/* a >= b in sequence space (RFC 9293 3.4). */
static bool seq_ge(uint32_t a, uint32_t b) { return (int32_t)(a - b) >= 0; }
static size_t addr_len(uint8_t family) { return family == 6 ? 16 : 4; }

/* Walks IPv6 extension headers from `nh` at `*off` within `avail` bytes. 0 with the
 * upper-layer protocol in *proto and its offset in *off; PARSE_UNTRACKED for a
 * header the mux does not walk or a real fragment; TS_EPARSE when a header is cut. */
static int walk6(const uint8_t *p, uint32_t avail, uint8_t nh, uint32_t *off, uint8_t *proto) {
  for (int i = 0; i <= IP6_EXT_MAX; i++) {
    if (nh != IP6_HOPOPTS && nh != IP6_ROUTING && nh != IP6_DSTOPTS && nh != IP6_FRAGMENT) {
      *proto = nh;
      return 0;
    }
    if (i == IP6_EXT_MAX) return PARSE_UNTRACKED;
    if (*off > avail || avail - *off < 8) return TS_EPARSE;
    const uint8_t *h = p + *off;
    uint32_t hlen;
    if (nh == IP6_FRAGMENT) {
      /* Only an atomic fragment (offset 0, no more fragments: RFC 6946) carries a
       * whole upper-layer packet. */
      if ((ts_rd16(h + 2) & 0xfff9) != 0) return PARSE_UNTRACKED;
      hlen = 8;
    } else {
      hlen = ((uint32_t)h[1] + 1) * 8;
    }
    if (hlen > avail - *off) return TS_EPARSE;
    nh = h[0];
    *off += hlen;
  }
  return PARSE_UNTRACKED;
}

/* Validates the IP layer (ts_ip_parse: lengths, the IPv4 header checksum), walks
 * IPv6 extension headers and checks the TCP/ICMP header is whole. */
static int parse(const uint8_t *p, size_t len, struct pkt *out) {
  if (!p || len == 0) return TS_EPARSE;
  ts_ip_info info;
  if (ts_ip_parse(p, len > UINT32_MAX ? UINT32_MAX : (uint32_t)len, &info) != 0) return TS_EPARSE;
  out->family = info.family;
  out->src = info.src;
  out->dst = info.dst;
  if (info.family == 4) {
    /* Any fragment: MF set or a non-zero offset (RFC 791). */
    if ((ts_rd16(p + 6) & 0x3fff) != 0) return PARSE_UNTRACKED;
    out->proto = info.proto;
    out->l4 = p + info.l4_offset;
    out->l4_len = info.l4_len;
  } else {
    /* Extension headers live inside the payload length. */
    uint32_t end = TS_IPV6_HEADER + info.l4_len, off = TS_IPV6_HEADER;
    int rc = walk6(p, end, p[6], &off, &out->proto);
    if (rc != 0) return rc;
    out->l4 = p + off;
    out->l4_len = end - off;
  }
  if (out->proto == TS_IPPROTO_TCP) {
    if (out->l4_len < TCP_HEADER) return TS_EPARSE;
    uint32_t doff = (uint32_t)(out->l4[12] >> 4) * 4;
    if (doff < TCP_HEADER || doff > out->l4_len) return TS_EPARSE;
    return 0;
  }
  bool icmp = (out->family == 4 && out->proto == TS_IPPROTO_ICMP) ||
              (out->family == 6 && out->proto == TS_IPPROTO_ICMPV6);
  if (icmp) return out->l4_len < TS_ICMP_ECHO_HEADER ? TS_EPARSE : 0;
  return PARSE_UNTRACKED;
}

static bool tcp_checksum_ok(const struct pkt *k) {
  uint32_t sum = ts_ip_pseudo_header_sum(&k->src, &k->dst, TS_IPPROTO_TCP, k->l4_len);
  return ts_checksum_finish(ts_checksum_add(sum, k->l4, k->l4_len)) == 0;
}

/* ---- the table ------------------------------------------------------------------- */

static struct flow *lookup(ts_mux *m, uint8_t kind, uint8_t family, const uint8_t *local,
                           uint16_t lport, const uint8_t *remote, uint16_t rport) {
  size_t n = addr_len(family);
  for (size_t i = 0; i < m->capacity; i++) {
    struct flow *f = &m->flows[i];
    if (f->kind == kind && f->family == family && f->lport == lport && f->rport == rport &&
        memcmp(f->local, local, n) == 0 && memcmp(f->remote, remote, n) == 0)
      return f;
  }
  return NULL;
}

/* A free slot, or the least recently used flow's (evicted). */
static struct flow *claim(ts_mux *m, uint8_t kind, uint8_t family, const uint8_t *local,
                          uint16_t lport, const uint8_t *remote, uint16_t rport) {
  struct flow *f = NULL;
  for (size_t i = 0; i < m->capacity && !f; i++)
    if (m->flows[i].kind == FLOW_FREE) f = &m->flows[i];
  if (!f) {
    f = &m->flows[0];
    for (size_t i = 1; i < m->capacity; i++)
      if (m->flows[i].last_use < f->last_use) f = &m->flows[i];
    m->stats.evicted++;
    m->count--;
  }
  memset(f, 0, sizeof *f);
  f->kind = kind;
  f->family = family;
  memcpy(f->local, local, addr_len(family));
  memcpy(f->remote, remote, addr_len(family));
  f->lport = lport;
  f->rport = rport;
  m->count++;
  if (kind == FLOW_TCP) m->stats.tracked_tcp++;
  else m->stats.tracked_icmp++;
  return f;
}

static void forget(ts_mux *m, struct flow *f) {
  memset(f, 0, sizeof *f);
  m->count--;
  m->stats.closed++;
}

static void touch(ts_mux *m, struct flow *f) { f->last_use = ++m->clock; }

/* Removes a TCP flow once both FINs are acknowledged; returns true if it did. */
static bool close_if_done(ts_mux *m, struct flow *f) {
  if (f->fin_out_acked && f->fin_in_acked) {
    forget(m, f);
    return true;
  }
  return false;
}

/* ---- outbound -------------------------------------------------------------------- */

static void outbound_tcp(ts_mux *m, const struct pkt *k) {
  const uint8_t *t = k->l4;
  uint16_t sport = ts_rd16(t), dport = ts_rd16(t + 2);
  uint32_t seq = ts_rd32(t + 4), ack = ts_rd32(t + 8);
  uint8_t flags = t[13];
  uint32_t payload = k->l4_len - (uint32_t)(t[12] >> 4) * 4;
  struct flow *f = lookup(m, FLOW_TCP, k->family, k->src.bytes, sport, k->dst.bytes, dport);
  if (flags & TCP_RST) {
    /* lwIP aborted the connection, or answered a segment of one it does not know. */
    if (f) forget(m, f);
    return;
  }
  if (!f) {
    f = claim(m, FLOW_TCP, k->family, k->src.bytes, sport, k->dst.bytes, dport);
  } else if ((flags & TCP_SYN) && !(flags & TCP_ACK)) {
    /* A new connection on a 4-tuple still in the table: start over. */
    uint64_t used = f->last_use;
    memset(&f->syn_sent, 0, sizeof *f - offsetof(struct flow, syn_sent));
    f->last_use = used;
  }
  touch(m, f);
  if ((flags & TCP_SYN) && !(flags & TCP_ACK)) {
    f->syn_sent = true;
    f->snd_syn_end = seq + 1;
  }
  if (flags & TCP_ACK) {
    /* lwIP acks rcv_nxt: its own view of the peer's stream. */
    f->rcv_known = true;
    f->rcv_nxt = ack;
    f->syn_sent = false;
    if (f->fin_in && seq_ge(ack, f->fin_in_end)) f->fin_in_acked = true;
  }
  if (flags & TCP_FIN) {
    uint32_t end = seq + payload + ((flags & TCP_SYN) ? 1u : 0u) + 1u;
    if (!f->fin_out) {
      f->fin_out = true;
      f->fin_out_end = end;
    }
  }
  close_if_done(m, f);
}

static void outbound_icmp(ts_mux *m, const struct pkt *k) {
  uint8_t type = k->l4[0];
  if (type != (k->family == 4 ? ICMP4_ECHO_REQUEST : ICMP6_ECHO_REQUEST)) return;
  uint16_t id = ts_rd16(k->l4 + 4);
  struct flow *f = lookup(m, FLOW_ICMP, k->family, k->src.bytes, id, k->dst.bytes, 0);
  if (!f) f = claim(m, FLOW_ICMP, k->family, k->src.bytes, id, k->dst.bytes, 0);
  touch(m, f);
}

int ts_mux_outbound(ts_mux *m, const uint8_t *pkt, size_t len) {
  m->stats.outbound++;
  struct pkt k;
  int rc = parse(pkt, len, &k);
  if (rc == TS_EPARSE) {
    m->stats.malformed++;
    return TS_EPARSE;
  }
  if (rc != 0) return 0;
  if (k.proto == TS_IPPROTO_TCP) outbound_tcp(m, &k);
  else outbound_icmp(m, &k);
  return 0;
}

/* ---- inbound --------------------------------------------------------------------- */

/* Notes what a checksum-valid segment of a tracked flow means to its lifecycle, as
 * lwIP will see it; returns after the flow is forgotten when this segment ends it. */
static void inbound_tcp_state(ts_mux *m, struct flow *f, const struct pkt *k) {
  const uint8_t *t = k->l4;
  uint32_t seq = ts_rd32(t + 4), ack = ts_rd32(t + 8);
  uint8_t flags = t[13];
  uint32_t payload = k->l4_len - (uint32_t)(t[12] >> 4) * 4;
  if (flags & TCP_RST) {
    /* lwIP 2.1 tcp_process: in SYN-SENT a RST is acceptable when it acks our SYN;
     * afterwards only when seq == rcv_nxt (RFC 5961 3.2; an in-window one gets a
     * challenge ACK, whose exact answer the mux then sees). A flow whose state the
     * mux never learnt takes any RST: lwIP answers a lost cause with RST anyway. */
    bool acceptable;
    if (f->syn_sent) acceptable = (flags & TCP_ACK) && ack == f->snd_syn_end;
    else if (f->rcv_known) acceptable = seq == f->rcv_nxt;
    else acceptable = true;
    if (acceptable) forget(m, f);
    return;
  }
  if (f->syn_sent) {
    /* The SYN-ACK (or a bare SYN of a simultaneous open) sets the peer's stream. */
    if (!(flags & TCP_SYN)) return;
    if ((flags & TCP_ACK) && ack != f->snd_syn_end) return;
    f->rcv_known = true;
    f->rcv_nxt = seq + 1;
    f->syn_sent = false; /* lwIP is ESTABLISHED now (or SYN-RCVD on a bare SYN) */
    seq += 1;
  } else if (!f->rcv_known) {
    return;
  } else if (flags & TCP_SYN) {
    return; /* a stray SYN on an open flow: lwIP answers with an ACK, nothing ends */
  }
  if ((flags & TCP_ACK) && f->fin_out && seq_ge(ack, f->fin_out_end)) f->fin_out_acked = true;
  /* In-order data advances the mux's view of rcv_nxt; out-of-order data does not (the
   * netstack's next ACK tells). A FIN counts only in order, as lwIP takes it. */
  if (seq != f->rcv_nxt) {
    close_if_done(m, f);
    return;
  }
  f->rcv_nxt = seq + payload;
  if ((flags & TCP_FIN) && !f->fin_in) {
    f->fin_in = true;
    f->fin_in_end = f->rcv_nxt + 1;
    f->rcv_nxt += 1;
  }
  close_if_done(m, f);
}

static struct flow *inbound_tcp(ts_mux *m, const struct pkt *k) {
  const uint8_t *t = k->l4;
  struct flow *f =
      lookup(m, FLOW_TCP, k->family, k->dst.bytes, ts_rd16(t + 2), k->src.bytes, ts_rd16(t));
  if (!f) return NULL;
  touch(m, f);
  /* A corrupted segment is routed (lwIP drops it) but tells the mux nothing. */
  if (tcp_checksum_ok(k)) inbound_tcp_state(m, f, k);
  return f;
}

static bool icmp_error_type(uint8_t family, uint8_t type) {
  if (family == 4) return type == 3 || type == 4 || type == 5 || type == 11 || type == 12;
  return type >= 1 && type <= 4;
}

/* An ICMP error: the flow of the packet it quotes (RFC 792: the IP header and at
 * least 8 bytes of its payload; RFC 4443 2.4: as much as fits). The quoted packet
 * went from the netstack (its source) to the remote. */
static struct flow *inbound_icmp_error(ts_mux *m, const struct pkt *k) {
  const uint8_t *q = k->l4 + TS_ICMP_ECHO_HEADER;
  uint32_t qlen = k->l4_len - TS_ICMP_ECHO_HEADER, off;
  uint8_t proto;
  const uint8_t *qsrc, *qdst;
  if (k->family == 4) {
    if (qlen < TS_IPV4_HEADER || (q[0] >> 4) != 4) return NULL;
    off = (uint32_t)(q[0] & 0x0f) * 4;
    if (off < TS_IPV4_HEADER || (ts_rd16(q + 6) & 0x1fff) != 0) return NULL;
    proto = q[9];
    qsrc = q + 12;
    qdst = q + 16;
  } else {
    if (qlen < TS_IPV6_HEADER || (q[0] >> 4) != 6) return NULL;
    off = TS_IPV6_HEADER;
    if (walk6(q, qlen, q[6], &off, &proto) != 0) return NULL;
    qsrc = q + 8;
    qdst = q + 24;
  }
  if (off > qlen || qlen - off < 8) return NULL;
  size_t n = addr_len(k->family);
  if (memcmp(qsrc, k->dst.bytes, n) != 0) return NULL; /* the error is not about our packet */
  const uint8_t *l4 = q + off;
  uint8_t local[16] = {0}, remote[16] = {0};
  memcpy(local, qsrc, n);
  memcpy(remote, qdst, n);
  struct flow *f = NULL;
  if (proto == TS_IPPROTO_TCP) {
    f = lookup(m, FLOW_TCP, k->family, local, ts_rd16(l4), remote, ts_rd16(l4 + 2));
  } else if ((k->family == 4 && proto == TS_IPPROTO_ICMP && l4[0] == ICMP4_ECHO_REQUEST) ||
             (k->family == 6 && proto == TS_IPPROTO_ICMPV6 && l4[0] == ICMP6_ECHO_REQUEST)) {
    f = lookup(m, FLOW_ICMP, k->family, local, ts_rd16(l4 + 4), remote, 0);
  }
  if (f) touch(m, f);
  return f;
}

static struct flow *inbound_icmp(ts_mux *m, const struct pkt *k) {
  uint8_t type = k->l4[0];
  if (type == (k->family == 4 ? ICMP4_ECHO_REPLY : ICMP6_ECHO_REPLY)) {
    struct flow *f =
        lookup(m, FLOW_ICMP, k->family, k->dst.bytes, ts_rd16(k->l4 + 4), k->src.bytes, 0);
    if (f) touch(m, f);
    return f;
  }
  if (icmp_error_type(k->family, type)) return inbound_icmp_error(m, k);
  return NULL;
}

ts_mux_route ts_mux_inbound(ts_mux *m, const uint8_t *pkt, size_t len) {
  struct pkt k;
  int rc = parse(pkt, len, &k);
  bool hit = false;
  if (rc == TS_EPARSE) m->stats.malformed++;
  else if (rc == 0 && k.proto == TS_IPPROTO_TCP) hit = inbound_tcp(m, &k) != NULL;
  else if (rc == 0) hit = inbound_icmp(m, &k) != NULL;
  if (hit) {
    m->stats.inbound_netstack++;
    return TS_MUX_NETSTACK;
  }
  m->stats.inbound_utun++;
  return TS_MUX_UTUN;
}

/* ---- lifetime and queries ------------------------------------------------------------ */

int ts_mux_create(size_t capacity, ts_mux **out) {
  if (!out) return TS_EINVAL;
  *out = NULL;
  if (capacity == 0 || capacity > (SIZE_MAX - sizeof(ts_mux)) / sizeof(struct flow))
    return TS_EINVAL;
  ts_mux *m = calloc(1, sizeof *m + capacity * sizeof(struct flow));
  if (!m) return TS_ENOMEM;
  m->capacity = capacity;
  *out = m;
  return 0;
}

void ts_mux_destroy(ts_mux *m) { free(m); }

void ts_mux_reset(ts_mux *m) {
  memset(m->flows, 0, m->capacity * sizeof(struct flow));
  m->count = 0;
  m->clock = 0;
  memset(&m->stats, 0, sizeof m->stats);
}

size_t ts_mux_flow_count(const ts_mux *m) { return m->count; }
size_t ts_mux_capacity(const ts_mux *m) { return m->capacity; }
void ts_mux_get_stats(const ts_mux *m, ts_mux_stats *out) { *out = m->stats; }

bool ts_mux_is_tracked(const ts_mux *m, uint8_t family, uint8_t proto, const uint8_t *local,
                       uint16_t local_port, const uint8_t *remote, uint16_t remote_port) {
  if (family != 4 && family != 6) return false;
  uint8_t kind;
  if (proto == TS_IPPROTO_TCP) {
    kind = FLOW_TCP;
  } else if (proto == TS_IPPROTO_ICMP || proto == TS_IPPROTO_ICMPV6) {
    kind = FLOW_ICMP;
    remote_port = 0;
  } else {
    return false;
  }
  return lookup((ts_mux *)m, kind, family, local, local_port, remote, remote_port) != NULL;
}
