/* The DHCP server of an access point (RFC 2131 §4.3), on a ts_host's UDP port 67.
 * Leases come from an inclusive address range, lowest free address first, so a run
 * is deterministic. Expiry is evaluated on virtual time whenever the table is
 * consulted: no event per lease, nothing runs while nobody asks. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ts_bytes.h"
#include "ts_dhcp.h"
#include "net_internal.h"
#include "ts_error.h"

#define DEFAULT_OFFER_HOLD (60 * TS_SEC)
/* Pools larger than this are served only up to this many clients at once. */
#define MAX_LEASES 1024

enum lease_state { LEASE_FREE = 0, LEASE_OFFERED, LEASE_BOUND, LEASE_DECLINED };

struct lease {
  uint8_t chaddr[TS_DHCP_CHADDR_LEN];
  uint8_t hlen;
  uint32_t addr; /* host order */
  enum lease_state state;
  ts_time until; /* end of the offer hold, the lease, or the decline quarantine */
};

struct ts_dhcp_server {
  ts_host *host;
  ts_world *world;
  ts_dhcp_server_config cfg;
  char domain[TS_DHCP_DOMAIN_MAX + 1];
  uint32_t first, last, server_addr; /* host order */
  struct lease *leases;
  uint32_t lease_count, lease_cap;
  ts_dhcp_server_stats stats;
  uint8_t buf[TS_DHCP_MAX_MESSAGE + 512];
};

static uint32_t addr32(const ts_ipaddr *a) { return ts_rd32(a->bytes); }

static ts_ipaddr from32(uint32_t v) {
  ts_ipaddr a;
  memset(&a, 0, sizeof a);
  a.family = 4;
  ts_wr32(a.bytes, v);
  return a;
}

static void release_server(void *obj) {
  ts_dhcp_server *s = obj;
  free(s->leases);
  free(s);
}

static void on_datagram(void *ctx, ts_host *h, const ts_ip_info *info, const uint8_t *payload,
                        uint32_t len);

int ts_dhcp_server_create(ts_host *h, const ts_dhcp_server_config *cfg, ts_dhcp_server **out) {
  if (cfg->pool_first.family != 4 || cfg->pool_last.family != 4 || cfg->prefix_len > 32 ||
      cfg->lease_seconds == 0 || cfg->dns_count > TS_DHCP_MAX_ADDRS ||
      cfg->route_count > TS_DHCP_MAX_ROUTES ||
      addr32(&cfg->pool_first) > addr32(&cfg->pool_last) ||
      (cfg->router.family != 0 && cfg->router.family != 4) ||
      (cfg->domain && strlen(cfg->domain) > TS_DHCP_DOMAIN_MAX))
    return TS_EINVAL;
  for (uint32_t i = 0; i < cfg->route_count; i++)
    if (cfg->routes[i].dst.len > 32) return TS_EINVAL;
  /* The server speaks from the served interface's own address (its link may not be
   * attached yet, so no route can tell). */
  ts_ipaddr server_id = cfg->server_id;
  if (server_id.family == 0 && cfg->iface < h->iface_count)
    for (uint32_t k = 0; k < h->ifaces[cfg->iface].addr_count && !server_id.family; k++)
      if (h->ifaces[cfg->iface].addrs[k].addr.family == 4) server_id = h->ifaces[cfg->iface].addrs[k].addr;
  if (server_id.family == 0 && !ts_host_source_for(h, &cfg->pool_first, &server_id))
    return TS_EINVAL;
  if (server_id.family != 4) return TS_EINVAL;

  ts_dhcp_server *s = calloc(1, sizeof *s);
  if (!s) return TS_ENOMEM;
  s->host = h;
  s->world = ts_host_world(h);
  s->cfg = *cfg;
  s->cfg.server_id = server_id;
  if (cfg->domain) snprintf(s->domain, sizeof s->domain, "%s", cfg->domain);
  s->cfg.domain = NULL; /* the copy in s->domain is the one used */
  if (s->cfg.offer_hold <= 0) s->cfg.offer_hold = DEFAULT_OFFER_HOLD;
  s->first = addr32(&cfg->pool_first);
  s->last = addr32(&cfg->pool_last);
  s->server_addr = addr32(&server_id);
  int rc = ts_world_attach(s->world, s, release_server);
  if (rc) {
    free(s);
    return rc;
  }
  /* Replies leave by the served interface: unicast ones by the subnet's route,
   * limited-broadcast ones (RFC 2131 §4.1) by a host route for 255.255.255.255. */
  ts_ipprefix subnet = {.addr = cfg->pool_first, .len = cfg->prefix_len};
  ts_ipprefix broadcast = {.len = 32};
  broadcast.addr = from32(0xffffffffu);
  rc = ts_host_add_route(h, &subnet, cfg->iface);
  if (!rc) rc = ts_host_add_route(h, &broadcast, cfg->iface);
  if (!rc) rc = ts_host_bind_udp(h, TS_DHCP_SERVER_PORT, on_datagram, s);
  if (rc) return rc; /* s stays attached and is freed with the world */
  *out = s;
  return TS_OK;
}

int ts_dhcp_server_set_routes(ts_dhcp_server *s, const ts_dhcp_route *routes, uint32_t n) {
  if (n > TS_DHCP_MAX_ROUTES) return TS_EINVAL;
  for (uint32_t i = 0; i < n; i++)
    if (routes[i].dst.len > 32) return TS_EINVAL;
  if (n) memcpy(s->cfg.routes, routes, n * sizeof *routes);
  s->cfg.route_count = n;
  return TS_OK;
}

void ts_dhcp_server_stats_get(const ts_dhcp_server *s, ts_dhcp_server_stats *out) {
  *out = s->stats;
}

/* ---- the lease table */

static bool live(const ts_dhcp_server *s, const struct lease *l) {
  return l->state != LEASE_FREE && l->until > ts_world_now(s->world);
}

static bool same_client(const struct lease *l, const uint8_t *chaddr, uint8_t hlen) {
  return l->hlen == hlen && !memcmp(l->chaddr, chaddr, hlen);
}

/* The client's record, live or not: RFC 2131 §4.3.1 prefers the address a client
 * had before, as long as nobody else took it. */
static struct lease *find_client(ts_dhcp_server *s, const uint8_t *chaddr, uint8_t hlen) {
  for (uint32_t i = 0; i < s->lease_count; i++) {
    struct lease *l = &s->leases[i];
    if (l->hlen && l->state != LEASE_DECLINED && same_client(l, chaddr, hlen)) return l;
  }
  return NULL;
}

static struct lease *find_addr(ts_dhcp_server *s, uint32_t addr) {
  for (uint32_t i = 0; i < s->lease_count; i++)
    if (s->leases[i].addr == addr) return &s->leases[i];
  return NULL;
}

bool ts_dhcp_server_lookup(const ts_dhcp_server *s, const uint8_t *chaddr, uint8_t hlen,
                           ts_ipaddr *addr, ts_time *expires) {
  for (uint32_t i = 0; i < s->lease_count; i++) {
    const struct lease *l = &s->leases[i];
    if (l->state == LEASE_BOUND && live(s, l) && same_client(l, chaddr, hlen)) {
      if (addr) *addr = from32(l->addr);
      if (expires) *expires = l->until;
      return true;
    }
  }
  return false;
}

static bool in_pool(const ts_dhcp_server *s, uint32_t a) {
  return a >= s->first && a <= s->last && a != s->server_addr &&
         !(s->cfg.router.family == 4 && a == addr32(&s->cfg.router));
}

/* An address nobody else holds: taken by no live record of another client. */
static bool available_for(ts_dhcp_server *s, uint32_t a, const uint8_t *chaddr, uint8_t hlen) {
  if (!in_pool(s, a)) return false;
  struct lease *l = find_addr(s, a);
  return !l || !live(s, l) || (l->state != LEASE_DECLINED && same_client(l, chaddr, hlen));
}

static void forget(struct lease *l) {
  l->state = LEASE_FREE;
  l->hlen = 0;
  memset(l->chaddr, 0, sizeof l->chaddr);
}

/* A record for address a in the client's name. The table keeps at most one record
 * per address and per client: the address's record is reused (the client's old one
 * forgotten), else the client's record moves to the new address. */
static struct lease *take(ts_dhcp_server *s, uint32_t a, const uint8_t *chaddr, uint8_t hlen) {
  struct lease *mine = find_client(s, chaddr, hlen), *l = find_addr(s, a);
  if (!l)
    l = mine;
  else if (mine && mine != l)
    forget(mine);
  if (!l) {
    if (s->lease_count == s->lease_cap) {
      if (s->lease_cap == MAX_LEASES) return NULL;
      uint32_t ncap = s->lease_cap ? s->lease_cap * 2 : 16;
      if (ncap > MAX_LEASES) ncap = MAX_LEASES;
      struct lease *n = realloc(s->leases, ncap * sizeof *n);
      if (!n) return NULL;
      s->leases = n;
      s->lease_cap = ncap;
    }
    l = &s->leases[s->lease_count++];
    memset(l, 0, sizeof *l);
  }
  if (l != mine) {
    memset(l, 0, sizeof *l);
    memcpy(l->chaddr, chaddr, hlen);
    l->hlen = hlen;
  }
  l->addr = a;
  return l;
}

/* RFC 2131 §4.3.1 order: the client's current or previous address, the requested
 * address, then the lowest free address of the pool. */
static bool choose(ts_dhcp_server *s, const ts_dhcp_message *m, uint32_t *out) {
  struct lease *mine = find_client(s, m->chaddr, m->hlen);
  if (mine && available_for(s, mine->addr, m->chaddr, m->hlen)) {
    *out = mine->addr;
    return true;
  }
  if (m->requested_ip.family == 4 && available_for(s, addr32(&m->requested_ip), m->chaddr, m->hlen)) {
    *out = addr32(&m->requested_ip);
    return true;
  }
  for (uint32_t a = s->first;; a++) {
    if (available_for(s, a, m->chaddr, m->hlen)) {
      *out = a;
      return true;
    }
    if (a == s->last) return false;
  }
}

/* ---- replies */

static ts_time lease_end(const ts_dhcp_server *s) {
  if (s->cfg.lease_seconds == TS_DHCP_LEASE_INFINITE) return TS_TIME_NEVER;
  return ts_world_now(s->world) + (ts_time)s->cfg.lease_seconds * TS_SEC;
}

static void trace(ts_dhcp_server *s, const char *kind, uint32_t addr, const ts_dhcp_message *m) {
  char detail[96];
  snprintf(detail, sizeof detail, "xid=%08x addr=%u.%u.%u.%u chaddr=%02x:%02x:%02x:%02x:%02x:%02x",
           m->xid, addr >> 24, (addr >> 16) & 0xff, (addr >> 8) & 0xff, addr & 0xff, m->chaddr[0],
           m->chaddr[1], m->chaddr[2], m->chaddr[3], m->chaddr[4], m->chaddr[5]);
  ts_trace_event(ts_world_trace(s->world), ts_world_now(s->world), kind, ts_host_name(s->host),
                 detail);
}

/* Fills the configuration options of a reply (RFC 2131 §4.3.1 table 3). */
static void put_config(const ts_dhcp_server *s, ts_dhcp_message *r, bool with_lease) {
  r->server_id = s->cfg.server_id;
  r->subnet_mask = from32(s->cfg.prefix_len ? 0xffffffffu << (32 - s->cfg.prefix_len) : 0);
  if (s->cfg.router.family == 4) {
    r->routers[0] = s->cfg.router;
    r->router_count = 1;
  }
  memcpy(r->dns, s->cfg.dns, sizeof r->dns);
  r->dns_count = (uint8_t)s->cfg.dns_count;
  memcpy(r->domain, s->domain, sizeof r->domain);
  if (s->cfg.route_count) {
    r->has_classless = true;
    memcpy(r->routes, s->cfg.routes, sizeof r->routes);
    r->route_count = (uint8_t)s->cfg.route_count;
  }
  if (!with_lease) return;
  uint32_t lease = s->cfg.lease_seconds;
  r->has_lease_time = r->has_renewal_time = r->has_rebinding_time = true;
  r->lease_time = lease;
  if (lease == TS_DHCP_LEASE_INFINITE) {
    r->renewal_time = r->rebinding_time = TS_DHCP_LEASE_INFINITE;
  } else {
    r->renewal_time = s->cfg.renewal_seconds
                          ? s->cfg.renewal_seconds
                          : (uint32_t)((uint64_t)lease * TS_DHCP_T1_NUM / TS_DHCP_T1_DEN);
    r->rebinding_time = s->cfg.rebinding_seconds
                            ? s->cfg.rebinding_seconds
                            : (uint32_t)((uint64_t)lease * TS_DHCP_T2_NUM / TS_DHCP_T2_DEN);
  }
}

static void reply_init(ts_dhcp_message *r, const ts_dhcp_message *m, uint8_t type) {
  ts_dhcp_message_init(r, TS_DHCP_OP_BOOTREPLY, type, m->xid);
  r->htype = m->htype;
  r->hlen = m->hlen;
  r->flags = m->flags;
  r->giaddr = m->giaddr;
  memcpy(r->chaddr, m->chaddr, sizeof r->chaddr);
}

static bool is_zero(const ts_ipaddr *a) { return a->family != 4 || addr32(a) == 0; }

/* Where a reply goes, RFC 2131 §4.1 ("If the 'giaddr' field ... is zero and the
 * 'ciaddr' field is nonzero ..."): the relay, else ciaddr, else broadcast when
 * the client asked for it (or for a NAK), else yiaddr. Links are point to point,
 * so "unicast to the client's hardware address" is sending to yiaddr on the link. */
static void send_reply(ts_dhcp_server *s, const ts_dhcp_message *m, const ts_dhcp_message *r) {
  ts_ipaddr dst;
  uint16_t dport = TS_DHCP_CLIENT_PORT;
  if (!is_zero(&m->giaddr)) {
    dst = m->giaddr;
    dport = TS_DHCP_SERVER_PORT;
  } else if (r->type == TS_DHCP_NAK) {
    dst = from32(0xffffffffu); /* "the server broadcasts any DHCPNAK messages" */
  } else if (!is_zero(&m->ciaddr)) {
    dst = m->ciaddr;
  } else if (m->flags & TS_DHCP_FLAG_BROADCAST) {
    dst = from32(0xffffffffu);
  } else {
    dst = r->yiaddr;
  }
  size_t len;
  if (ts_dhcp_encode(r, s->buf, sizeof s->buf, &len)) return;
  uint32_t need = TS_IPV4_HEADER + TS_UDP_HEADER + (uint32_t)len;
  ts_packet *pkt = ts_packet_alloc(ts_world_pool(s->world), need);
  if (!pkt) return;
  pkt->len = ts_ip_build_udp(pkt->data, need, &s->cfg.server_id, &dst, TS_DHCP_SERVER_PORT, dport,
                             s->buf, (uint32_t)len);
  if (pkt->len == 0) {
    ts_packet_free(ts_world_pool(s->world), pkt);
    return;
  }
  ts_host_send(s->host, pkt);
}

static void nak(ts_dhcp_server *s, const ts_dhcp_message *m) {
  ts_dhcp_message r;
  reply_init(&r, m, TS_DHCP_NAK);
  r.server_id = s->cfg.server_id; /* RFC 2131 §4.3.1 table 3: NAK carries only the server id */
  s->stats.naks++;
  trace(s, "dhcp-nak", 0, m);
  send_reply(s, m, &r);
}

static void ack(ts_dhcp_server *s, const ts_dhcp_message *m, struct lease *l) {
  l->state = LEASE_BOUND;
  l->until = lease_end(s);
  ts_dhcp_message r;
  reply_init(&r, m, TS_DHCP_ACK);
  r.ciaddr = m->ciaddr;
  r.yiaddr = from32(l->addr);
  put_config(s, &r, true);
  s->stats.acks++;
  trace(s, "dhcp-ack", l->addr, m);
  send_reply(s, m, &r);
}

static void on_discover(ts_dhcp_server *s, const ts_dhcp_message *m) {
  s->stats.discovers++;
  uint32_t a;
  struct lease *l = NULL;
  if (choose(s, m, &a)) l = take(s, a, m->chaddr, m->hlen);
  if (!l) {
    s->stats.pool_exhausted++;
    trace(s, "dhcp-pool-exhausted", 0, m);
    return;
  }
  /* a bound client that asks again keeps its lease's end; a new one gets a hold */
  if (l->state != LEASE_BOUND || !live(s, l)) {
    l->state = LEASE_OFFERED;
    l->until = ts_world_now(s->world) + s->cfg.offer_hold;
  }
  ts_dhcp_message r;
  reply_init(&r, m, TS_DHCP_OFFER);
  r.yiaddr = from32(a);
  put_config(s, &r, true);
  s->stats.offers++;
  trace(s, "dhcp-offer", a, m);
  send_reply(s, m, &r);
}

/* RFC 2131 §4.3.2: the client's state shows in which fields are set. */
static void on_request(ts_dhcp_server *s, const ts_dhcp_message *m) {
  s->stats.requests++;
  struct lease *mine = find_client(s, m->chaddr, m->hlen);
  if (m->server_id.family == 4) {
    /* SELECTING: the client chose a server. Another one: our offer is withdrawn. */
    if (addr32(&m->server_id) != s->server_addr) {
      if (mine && mine->state == LEASE_OFFERED) mine->state = LEASE_FREE;
      return;
    }
    if (m->requested_ip.family == 4 && mine && mine->state != LEASE_FREE &&
        mine->addr == addr32(&m->requested_ip) && available_for(s, mine->addr, m->chaddr, m->hlen))
      ack(s, m, mine);
    else
      nak(s, m);
    return;
  }
  if (m->requested_ip.family == 4) {
    /* INIT-REBOOT: NAK a wrong address; stay silent without a record of the client */
    uint32_t a = addr32(&m->requested_ip);
    if (!in_pool(s, a) || !available_for(s, a, m->chaddr, m->hlen) || (mine && mine->addr != a)) {
      nak(s, m);
      return;
    }
    if (mine) ack(s, m, mine);
    return;
  }
  /* RENEWING (unicast) or REBINDING (broadcast): extend the client's lease if the
   * address is still its own, even just after expiry when nobody took it */
  uint32_t a = addr32(&m->ciaddr);
  if (a && mine && mine->addr == a && mine->state != LEASE_FREE &&
      available_for(s, a, m->chaddr, m->hlen))
    ack(s, m, mine);
  else if (a)
    nak(s, m);
}

static void on_datagram(void *ctx, ts_host *h, const ts_ip_info *info, const uint8_t *payload,
                        uint32_t len) {
  ts_dhcp_server *s = ctx;
  (void)h;
  (void)info;
  ts_dhcp_message m;
  /* hlen 0 leaves the client without an identity to hold a lease by */
  if (ts_dhcp_decode(payload, len, &m) != 0 || m.op != TS_DHCP_OP_BOOTREQUEST || m.hlen == 0) {
    s->stats.malformed++;
    return;
  }
  struct lease *mine;
  switch (m.type) {
  case TS_DHCP_DISCOVER: on_discover(s, &m); break;
  case TS_DHCP_REQUEST: on_request(s, &m); break;
  case TS_DHCP_RELEASE:
    /* RFC 2131 §4.3.4: the client gives the address back */
    s->stats.releases++;
    mine = find_client(s, m.chaddr, m.hlen);
    if (mine && mine->addr == addr32(&m.ciaddr)) mine->state = LEASE_FREE;
    break;
  case TS_DHCP_DECLINE:
    /* RFC 2131 §4.3.3: the address is in use by someone else; quarantine it for a lease */
    s->stats.declines++;
    mine = find_client(s, m.chaddr, m.hlen);
    if (mine && m.requested_ip.family == 4 && mine->addr == addr32(&m.requested_ip)) {
      mine->state = LEASE_DECLINED;
      mine->until = lease_end(s);
    }
    break;
  case TS_DHCP_INFORM: {
    /* RFC 2131 §4.3.5: configuration only, no lease, unicast to ciaddr */
    s->stats.informs++;
    if (is_zero(&m.ciaddr)) break;
    ts_dhcp_message r;
    reply_init(&r, &m, TS_DHCP_ACK);
    r.ciaddr = m.ciaddr;
    put_config(s, &r, false);
    s->stats.acks++;
    send_reply(s, &m, &r);
    break;
  }
  default:
    s->stats.malformed++; /* a BOOTREQUEST without a DHCP type, or a server's type */
    break;
  }
}
