/* The phone's DHCP client: see ts_dhcp_client.h. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ts_dhcp_client.h"

#define DEFAULT_RETRANSMIT_INITIAL (4 * TS_SEC)  /* RFC 2131 §4.1 */
#define DEFAULT_RETRANSMIT_MAX (64 * TS_SEC)     /* RFC 2131 §4.1 */
#define DEFAULT_RETRANSMIT_JITTER TS_SEC         /* RFC 2131 §4.1: "-1 to +1" */
#define DEFAULT_RENEW_MIN_RETRANSMIT (60 * TS_SEC) /* RFC 2131 §4.4.5 */
#define DEFAULT_REQUEST_ATTEMPTS 4

/* What the client asks for (option 55): the options the codec knows. */
static const uint8_t request_params[] = {TS_DHCP_OPT_SUBNET_MASK, TS_DHCP_OPT_CLASSLESS_ROUTES,
                                         TS_DHCP_OPT_ROUTER, TS_DHCP_OPT_DNS,
                                         TS_DHCP_OPT_DOMAIN_NAME};

struct ts_dhcp_client {
  ts_phone *ph;
  ts_world *w;
  ts_dhcp_client_config cfg;
  char ifname[TS_OS_IFACE_NAME_MAX];
  int iface;
  ts_sock_id sock;
  ts_rng rng;
  uint8_t chaddr[TS_DHCP_CHADDR_LEN];
  ts_dhcp_client_state state;
  uint32_t xid;
  ts_time exchange_start;   /* the exchange's first message (the secs field) */
  ts_time request_sent;     /* its first REQUEST: the lease's times count from here (§4.4.1) */
  uint32_t attempt;         /* messages sent in the current state */
  ts_event_id timer;
  bool timer_set;
  uint64_t gen;             /* the live timer's generation */
  bool has_offer;
  ts_dhcp_offer offer;      /* the OFFER selected, then the last ACK */
  bool has_lease;
  ts_dhcp_lease lease;
  ts_time t1, t2, expires;
  ts_dhcp_client_stats stats;
  uint8_t buf[TS_DHCP_MAX_MESSAGE];
};

static const ts_ipaddr broadcast = {.family = 4, .bytes = {255, 255, 255, 255}};

const char *ts_dhcp_client_state_name(ts_dhcp_client_state s) {
  static const char *const n[TS_DHCPC_STATE_COUNT] = {"stopped", "selecting", "requesting",
                                                       "bound", "renewing", "rebinding"};
  return (unsigned)s < TS_DHCPC_STATE_COUNT ? n[s] : NULL;
}

static ts_time now_of(const ts_dhcp_client *c) { return ts_world_now(c->w); }

static void trace(ts_dhcp_client *c, const char *kind, const char *what) {
  char d[160];
  snprintf(d, sizeof d, "%s xid=%08x %s", c->ifname, c->xid, what ? what : "");
  ts_trace_event(ts_world_trace(c->w), now_of(c), kind, ts_phone_name(c->ph), d);
}

static void notify(ts_dhcp_client *c, ts_dhcp_client_event ev) {
  if (c->cfg.on_event) c->cfg.on_event(c->cfg.ctx, c, ev);
}

/* ------------------------------------------------------------- timer */

static void on_timer(void *obj, uint64_t arg);

static void timer_cancel(ts_dhcp_client *c) {
  if (c->timer_set) ts_world_cancel(c->w, c->timer);
  c->timer_set = false;
  c->gen++;
}

static void timer_at(ts_dhcp_client *c, ts_time at) {
  timer_cancel(c);
  if (at == TS_TIME_NEVER) return;
  if (at < now_of(c)) at = now_of(c);
  if (ts_world_schedule(c->w, at, on_timer, c, c->gen, &c->timer) == TS_OK) c->timer_set = true;
}

/* RFC 2131 §4.1: 4 s, 8 s, ... up to 64 s, each +- up to 1 s. */
static ts_time backoff(ts_dhcp_client *c) {
  ts_time d = c->cfg.retransmit_initial;
  for (uint32_t i = 1; i < c->attempt && d < c->cfg.retransmit_max; i++) d *= 2;
  if (d > c->cfg.retransmit_max) d = c->cfg.retransmit_max;
  ts_time j = c->cfg.retransmit_jitter;
  if (j > 0) d += (ts_time)ts_rng_below(&c->rng, (uint64_t)(2 * j + 1)) - j;
  return d > 0 ? d : 1;
}

/* RFC 2131 §4.4.5: half the time left until the deadline, at least the minimum,
 * never past the deadline. */
static ts_time renew_retransmit(const ts_dhcp_client *c, ts_time deadline) {
  ts_time now = now_of(c);
  if (deadline == TS_TIME_NEVER) return TS_TIME_NEVER;
  ts_time d = (deadline - now) / 2;
  if (d < c->cfg.renew_min_retransmit) d = c->cfg.renew_min_retransmit;
  return now + d < deadline ? now + d : deadline;
}

/* ------------------------------------------------------------ sending */

static void message(ts_dhcp_client *c, ts_dhcp_message *m, uint8_t type) {
  ts_dhcp_message_init(m, TS_DHCP_OP_BOOTREQUEST, type, c->xid);
  m->htype = TS_DHCP_HTYPE_ETHERNET;
  m->hlen = TS_DHCP_HLEN_ETHERNET;
  memcpy(m->chaddr, c->chaddr, sizeof m->chaddr);
  ts_time secs = (now_of(c) - c->exchange_start) / TS_SEC;
  m->secs = (uint16_t)(secs > 0xffff ? 0xffff : secs);
  memcpy(m->params, request_params, sizeof request_params);
  m->param_count = (uint8_t)sizeof request_params;
}

static void transmit(ts_dhcp_client *c, const ts_dhcp_message *m, const ts_ipaddr *dst) {
  size_t len;
  if (ts_dhcp_encode(m, c->buf, sizeof c->buf, &len) != TS_OK) {
    c->stats.send_errors++;
    return;
  }
  if (m->type == TS_DHCP_DISCOVER) c->stats.discovers++;
  else c->stats.requests++;
  if (c->attempt > 0) c->stats.retransmissions++;
  c->attempt++;
  ts_sock_send_result res;
  int rc = ts_phone_send_udp(c->ph, c->sock, dst, TS_DHCP_SERVER_PORT, c->buf, (uint32_t)len, &res);
  if (rc || res.status != TS_SOCK_OK || res.verdict.kind != TS_VERDICT_PHYSICAL) c->stats.send_errors++;
}

static void send_discover(ts_dhcp_client *c) {
  ts_dhcp_message m;
  message(c, &m, TS_DHCP_DISCOVER);
  transmit(c, &m, &broadcast);
  timer_at(c, now_of(c) + backoff(c));
}

/* REQUEST in REQUESTING (broadcast, server id and requested address), RENEWING
 * (ciaddr, unicast to the server) or REBINDING (ciaddr, broadcast): §4.3.2. */
static void send_request(ts_dhcp_client *c) {
  ts_dhcp_message m;
  message(c, &m, TS_DHCP_REQUEST);
  const ts_ipaddr *dst = &broadcast;
  if (c->attempt == 0) c->request_sent = now_of(c);
  switch (c->state) {
  case TS_DHCPC_REQUESTING:
    m.server_id = c->offer.server_id;
    m.requested_ip = c->offer.address.addr;
    transmit(c, &m, dst);
    timer_at(c, now_of(c) + backoff(c));
    return;
  case TS_DHCPC_RENEWING:
    m.ciaddr = c->lease.address.addr;
    if (c->offer.server_id.family == 4) dst = &c->offer.server_id;
    transmit(c, &m, dst);
    timer_at(c, renew_retransmit(c, c->t2));
    return;
  default: /* REBINDING */
    m.ciaddr = c->lease.address.addr;
    transmit(c, &m, dst);
    timer_at(c, renew_retransmit(c, c->expires));
    return;
  }
}

/* INIT: a new exchange. */
static void init_state(ts_dhcp_client *c) {
  c->xid = (uint32_t)ts_rng_next(&c->rng);
  c->exchange_start = now_of(c);
  c->attempt = 0;
  c->has_offer = false;
  c->state = TS_DHCPC_SELECTING;
  send_discover(c);
}

static void enter(ts_dhcp_client *c, ts_dhcp_client_state s) {
  c->state = s;
  c->attempt = 0;
}

/* --------------------------------------------------------------- lease */

static void lease_of(const ts_dhcp_offer *o, ts_dhcp_lease *l) {
  memset(l, 0, sizeof *l);
  l->address = o->address;
  if (!o->classless) l->router = o->router; /* RFC 3442: option 121 overrides option 3 */
  for (uint8_t i = 0; i < o->route_count && i < TS_ROUTE_DHCP_MAX_CLASSLESS; i++) {
    if (!o->classless) break;
    l->classless[l->classless_count].dst = o->routes[i].dst;
    l->classless[l->classless_count].gateway = o->routes[i].router;
    l->classless[l->classless_count].origin = TS_ROUTE_DHCP_CLASSLESS;
    l->classless_count++;
  }
}

static bool lease_equal(const ts_dhcp_lease *a, const ts_dhcp_lease *b) {
  if (!ts_ipaddr_equal(&a->address.addr, &b->address.addr) || a->address.len != b->address.len ||
      a->router.family != b->router.family ||
      (a->router.family && !ts_ipaddr_equal(&a->router, &b->router)) ||
      a->classless_count != b->classless_count)
    return false;
  for (size_t i = 0; i < a->classless_count; i++) {
    const ts_route *x = &a->classless[i], *y = &b->classless[i];
    if (x->dst.len != y->dst.len || !ts_ipaddr_equal(&x->dst.addr, &y->dst.addr) ||
        x->gateway.family != y->gateway.family ||
        (x->gateway.family && !ts_ipaddr_equal(&x->gateway, &y->gateway)))
      return false;
  }
  return true;
}

static void describe(const ts_dhcp_lease *l, const ts_dhcp_offer *o, char *buf, size_t n) {
  char a[48];
  ts_ipprefix_format(&l->address, true, a, sizeof a);
  int k = snprintf(buf, n, "%s lease=%us", a, (unsigned)o->lease_time);
  if (k > 0 && (size_t)k < n && l->classless_count)
    k += snprintf(buf + k, n - (size_t)k, " option121=%zu", l->classless_count);
  if (k > 0 && (size_t)k < n && l->router.family) {
    ts_ipaddr_format(&l->router, a, sizeof a);
    snprintf(buf + k, n - (size_t)k, " router=%s", a);
  }
}

/* The lease's times from the first REQUEST of this exchange (§4.4.1), with T1 <=
 * T2 <= the lease (§4.4.5 defaults when the server's values are inconsistent). */
static void lease_times(ts_dhcp_client *c, const ts_dhcp_offer *o) {
  if (o->lease_time == TS_DHCP_LEASE_INFINITE) {
    c->t1 = c->t2 = c->expires = TS_TIME_NEVER;
    return;
  }
  uint64_t lease = o->lease_time, t1 = o->renewal_time, t2 = o->rebinding_time;
  if (t2 > lease || t2 == 0) t2 = lease * TS_DHCP_T2_NUM / TS_DHCP_T2_DEN;
  if (t1 > t2 || t1 == 0) t1 = lease * TS_DHCP_T1_NUM / TS_DHCP_T1_DEN;
  if (t1 > t2) t1 = t2;
  c->expires = c->request_sent + (ts_time)lease * TS_SEC;
  c->t2 = c->request_sent + (ts_time)t2 * TS_SEC;
  c->t1 = c->request_sent + (ts_time)t1 * TS_SEC;
}

static void drop_lease(ts_dhcp_client *c) {
  if (!c->has_lease) return;
  c->has_lease = false;
  ts_route_clear_dhcp(ts_phone_routes(c->ph), ts_phone_ifaces(c->ph), c->iface);
  ts_phone_path_changed(c->ph);
}

static void bind_lease(ts_dhcp_client *c, const ts_dhcp_offer *ack) {
  bool renewal = c->state == TS_DHCPC_RENEWING || c->state == TS_DHCPC_REBINDING;
  ts_dhcp_lease l;
  lease_of(ack, &l);
  c->offer = *ack;
  c->has_offer = true;
  lease_times(c, ack);
  enter(c, TS_DHCPC_BOUND);
  char d[128];
  describe(&l, ack, d, sizeof d);
  if (!c->has_lease || !lease_equal(&l, &c->lease)) {
    int rc = ts_phone_apply_dhcp(c->ph, c->ifname, &l);
    if (rc) {
      /* the phone refused the lease (a table full): behave as if it had expired */
      trace(c, "dhcp-client-apply-failed", ts_strerror(rc));
      drop_lease(c);
      init_state(c);
      return;
    }
    c->lease = l;
    c->has_lease = true;
    if (renewal) {
      c->stats.renewed++;
      trace(c, "dhcp-client-renewed", d);
    } else {
      c->stats.bound++;
      trace(c, "dhcp-client-bound", d);
    }
  } else {
    c->stats.renewed++;
    trace(c, "dhcp-client-renewed", d);
  }
  timer_at(c, c->t1);
  notify(c, renewal ? TS_DHCPC_EV_RENEWED : TS_DHCPC_EV_BOUND);
}

static void expire(ts_dhcp_client *c) {
  c->stats.expired++;
  trace(c, "dhcp-client-expired", NULL);
  drop_lease(c);
  notify(c, TS_DHCPC_EV_EXPIRED);
  init_state(c);
}

/* ------------------------------------------------------------ events */

static void on_timer(void *obj, uint64_t arg) {
  ts_dhcp_client *c = obj;
  if (arg != c->gen) return;
  c->timer_set = false;
  ts_time now = now_of(c);
  switch (c->state) {
  case TS_DHCPC_STOPPED:
    init_state(c);
    return;
  case TS_DHCPC_SELECTING:
    send_discover(c);
    return;
  case TS_DHCPC_REQUESTING:
    if (c->attempt >= c->cfg.request_attempts) init_state(c); /* no answer: INIT (§4.4.1) */
    else send_request(c);
    return;
  default: /* BOUND, RENEWING, REBINDING */
    if (now >= c->expires) {
      expire(c);
    } else if (now >= c->t2) {
      if (c->state != TS_DHCPC_REBINDING) enter(c, TS_DHCPC_REBINDING);
      send_request(c);
    } else if (now >= c->t1) {
      if (c->state != TS_DHCPC_RENEWING) enter(c, TS_DHCPC_RENEWING);
      send_request(c);
    } else {
      timer_at(c, c->t1);
    }
    return;
  }
}

static void on_nak(ts_dhcp_client *c) {
  c->stats.naks++;
  trace(c, "dhcp-client-nak", ts_dhcp_client_state_name(c->state));
  drop_lease(c);
  notify(c, TS_DHCPC_EV_NAK);
  init_state(c);
}

static void on_reply(void *ctx, ts_sock_id sock, const ts_ip_info *info, const uint8_t *payload,
                     uint32_t len, int iface) {
  ts_dhcp_client *c = ctx;
  (void)sock;
  (void)iface;
  ts_dhcp_message m;
  if (info->sport != TS_DHCP_SERVER_PORT || ts_dhcp_decode(payload, len, &m) != TS_OK ||
      m.op != TS_DHCP_OP_BOOTREPLY || m.xid != c->xid || m.hlen != TS_DHCP_HLEN_ETHERNET ||
      memcmp(m.chaddr, c->chaddr, TS_DHCP_HLEN_ETHERNET) != 0) {
    c->stats.ignored++;
    return;
  }
  bool waiting_ack = c->state == TS_DHCPC_REQUESTING || c->state == TS_DHCPC_RENEWING ||
                     c->state == TS_DHCPC_REBINDING;
  if (m.type == TS_DHCP_NAK && waiting_ack) {
    /* in REQUESTING only the selected server's NAK counts */
    if (c->state == TS_DHCPC_REQUESTING && c->offer.server_id.family == 4 &&
        !(m.server_id.family == 4 && ts_ipaddr_equal(&m.server_id, &c->offer.server_id))) {
      c->stats.ignored++;
      return;
    }
    on_nak(c);
    return;
  }
  ts_dhcp_offer o;
  if (ts_dhcp_parse_offer(payload, len, &o) != TS_OK) {
    c->stats.ignored++;
    return;
  }
  if (o.type == TS_DHCP_OFFER && c->state == TS_DHCPC_SELECTING) {
    c->stats.offers++;
    c->offer = o;
    c->has_offer = true;
    char a[48];
    ts_ipprefix_format(&o.address, true, a, sizeof a);
    trace(c, "dhcp-client-offer", a);
    enter(c, TS_DHCPC_REQUESTING);
    send_request(c);
    return;
  }
  if (o.type == TS_DHCP_ACK && waiting_ack) {
    /* the address asked for (REQUESTING: the offer's; later: the lease's) */
    const ts_ipaddr *want =
        c->state == TS_DHCPC_REQUESTING ? &c->offer.address.addr : &c->lease.address.addr;
    if (!ts_ipaddr_equal(&o.address.addr, want)) {
      c->stats.ignored++;
      return;
    }
    c->stats.acks++;
    bind_lease(c, &o);
    return;
  }
  c->stats.ignored++;
}

/* ----------------------------------------------------------------- life */

static void release(void *obj) { free(obj); }

int ts_dhcp_client_create(ts_phone *ph, const ts_dhcp_client_config *cfg, ts_dhcp_client **out) {
  if (!ph || !cfg || !cfg->ifname || !out) return TS_EINVAL;
  int iface = ts_phone_iface(ph, cfg->ifname);
  if (iface < 0) return iface;
  if (strlen(cfg->ifname) >= TS_OS_IFACE_NAME_MAX) return TS_EINVAL;
  ts_dhcp_client *c = calloc(1, sizeof *c);
  if (!c) return TS_ENOMEM;
  c->ph = ph;
  c->w = ts_phone_world(ph);
  c->cfg = *cfg;
  snprintf(c->ifname, sizeof c->ifname, "%s", cfg->ifname);
  c->cfg.ifname = c->ifname;
  c->iface = iface;
  if (!c->cfg.retransmit_initial) c->cfg.retransmit_initial = DEFAULT_RETRANSMIT_INITIAL;
  if (!c->cfg.retransmit_max) c->cfg.retransmit_max = DEFAULT_RETRANSMIT_MAX;
  if (c->cfg.retransmit_max < c->cfg.retransmit_initial) c->cfg.retransmit_max = c->cfg.retransmit_initial;
  if (!c->cfg.retransmit_jitter) c->cfg.retransmit_jitter = DEFAULT_RETRANSMIT_JITTER;
  if (!c->cfg.renew_min_retransmit) c->cfg.renew_min_retransmit = DEFAULT_RENEW_MIN_RETRANSMIT;
  if (!c->cfg.request_attempts) c->cfg.request_attempts = DEFAULT_REQUEST_ATTEMPTS;
  char stream[96];
  snprintf(stream, sizeof stream, "dhcp-client/%s/%s", ts_phone_name(ph), c->ifname);
  ts_world_rng(c->w, stream, &c->rng);
  static const uint8_t zero[TS_DHCP_HLEN_ETHERNET];
  memcpy(c->chaddr, cfg->chaddr, TS_DHCP_HLEN_ETHERNET);
  if (!memcmp(c->chaddr, zero, sizeof zero)) {
    /* a private Wi-Fi address: locally administered, unicast */
    ts_rng_fill(&c->rng, c->chaddr, TS_DHCP_HLEN_ETHERNET);
    c->chaddr[0] = (uint8_t)((c->chaddr[0] | 0x02) & ~0x01);
  }
  ts_phone_socket_params sp;
  memset(&sp, 0, sizeof sp);
  sp.owner = TS_TC_CONTROL_PLANE;
  sp.proto = TS_IPPROTO_UDP;
  sp.api = TS_SOCK_BSD;
  sp.bound_if = c->ifname;
  sp.local_id = TS_DHCP_CLIENT_PORT;
  sp.link_layer = true;
  sp.recv = on_reply;
  sp.ctx = c;
  int rc = ts_phone_socket_open(ph, &sp, &c->sock);
  if (!rc) rc = ts_world_attach(c->w, c, release);
  if (rc) {
    if (c->sock) ts_phone_socket_close(ph, c->sock);
    free(c);
    return rc;
  }
  *out = c;
  return TS_OK;
}

void ts_dhcp_client_destroy(ts_dhcp_client *c) {
  if (!c) return;
  timer_cancel(c);
  ts_phone_socket_close(c->ph, c->sock);
  ts_world_detach(c->w, c);
  free(c);
}

int ts_dhcp_client_start(ts_dhcp_client *c, ts_time delay) {
  if (!c || delay < 0) return TS_EINVAL;
  if (c->state != TS_DHCPC_STOPPED || c->timer_set) return TS_ESTATE;
  timer_at(c, now_of(c) + delay);
  return c->timer_set ? TS_OK : TS_ENOMEM;
}

ts_dhcp_client_state ts_dhcp_client_get_state(const ts_dhcp_client *c) { return c->state; }

bool ts_dhcp_client_lease(const ts_dhcp_client *c, ts_dhcp_lease *lease, ts_time *expires) {
  if (!c->has_lease) return false;
  if (lease) *lease = c->lease;
  if (expires) *expires = c->expires;
  return true;
}

bool ts_dhcp_client_offer(const ts_dhcp_client *c, ts_dhcp_offer *out) {
  if (!c->has_offer) return false;
  if (out) *out = c->offer;
  return true;
}

void ts_dhcp_client_get_stats(const ts_dhcp_client *c, ts_dhcp_client_stats *out) {
  *out = c->stats;
}

const uint8_t *ts_dhcp_client_chaddr(const ts_dhcp_client *c) { return c->chaddr; }
