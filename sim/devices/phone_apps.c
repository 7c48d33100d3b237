/* Traffic apps on the phone: see ts_phone_apps.h. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ts_bytes.h"
#include "ts_dns.h"
#include "ts_phone_apps.h"
#include "ts_tcp_server.h"

#define APP_MAX_PAYLOAD 1024
#define APP_RING 64
#define APP_TCP_CONNS 8 /* TCP_SHORT: fetches in flight at once */

typedef struct tcp_conn {
  ts_sock_id sock;       /* 0: free */
  ts_time opened_at;
  uint64_t rx, tx;       /* payload bytes received, written */
  uint32_t writes, answered;       /* TCP_LONG: writes on this connection, and echoed */
  uint64_t write_end[APP_RING];    /* TCP_LONG: stream offset after each write */
  bool bad;              /* a byte did not match */
} tcp_conn;

struct ts_phone_app {
  ts_phone *ph;
  ts_phone_app_config cfg;
  char name[TS_PHONE_NAME_MAX];
  ts_sock_id sock;
  uint16_t seq;
  ts_time sent_at[APP_RING];
  ts_phone_app_stats stats;
  uint8_t payload[APP_MAX_PAYLOAD];
  bool has_tcp;
  ts_tcp_config tcp;
  char query_name[254];  /* DNS */
  uint32_t ticks;        /* requests or writes done */
  tcp_conn conns[APP_TCP_CONNS];
};

static void on_reply(void *ctx, ts_sock_id sock, const ts_ip_info *info, const uint8_t *payload,
                     uint32_t len, int iface) {
  ts_phone_app *a = ctx;
  (void)sock;
  (void)iface;
  (void)info;
  /* The sequence travels in the ICMP header, the DNS id, or the first two payload bytes. */
  uint16_t seq;
  ts_dns_message m;
  if (a->cfg.kind == TS_PHONE_APP_DNS) {
    if (info->sport != TS_DNS_PORT || ts_dns_decode(payload, len, &m) != 0) return;
    seq = m.id;
  } else if (a->cfg.kind == TS_PHONE_APP_PING) seq = info->icmp_seq;
  else if (len >= 2) seq = ts_rd16(payload);
  else return;
  ts_time sent = a->sent_at[seq % APP_RING];
  if (!sent) return;
  a->sent_at[seq % APP_RING] = 0;
  ts_time rtt = ts_world_now(ts_phone_world(a->ph)) - sent;
  a->stats.received++;
  if (!a->stats.rtt_min || rtt < a->stats.rtt_min) a->stats.rtt_min = rtt;
  if (rtt > a->stats.rtt_max) a->stats.rtt_max = rtt;
  a->stats.rtt_sum += rtt;
}

/* The system resolver (ios-model.md: DNS settings of the tunnel): the VPN's servers
 * while its settings are applied, otherwise the interface's. */
static bool pick_resolver(const ts_phone_app *a, ts_ipaddr *out) {
  const ts_vpn_settings *st = ts_vpn_session_settings(ts_phone_session(a->ph));
  if (st && st->dns_count) {
    *out = st->dns_servers[0];
    return true;
  }
  *out = a->cfg.target;
  return out->family != 0;
}

static int send_dns(ts_phone_app *a, uint16_t seq, ts_sock_send_result *res) {
  ts_ipaddr server;
  if (!pick_resolver(a, &server)) return TS_ENOENT;
  ts_dns_message q;
  ts_dns_query_init(&q, seq, a->query_name, TS_DNS_TYPE_A);
  size_t len;
  int rc = ts_dns_encode(&q, a->payload, sizeof a->payload, &len);
  if (rc) return rc;
  return ts_phone_send_udp(a->ph, a->sock, &server, TS_DNS_PORT, a->payload, (uint32_t)len, res);
}

static int open_socket(ts_phone_app *a) {
  const ts_phone_app_config *c = &a->cfg;
  if (c->kind == TS_PHONE_APP_DNS) { /* unconnected: the resolver may change */
    ts_phone_socket_params dp = {.owner = c->owner, .proto = TS_IPPROTO_UDP, .api = TS_SOCK_BSD,
                                 .bound_if = c->bound_if, .recv = on_reply, .ctx = a};
    return ts_phone_socket_open(a->ph, &dp, &a->sock);
  }
  ts_phone_socket_params sp = {.owner = c->owner,
                               .proto = c->kind == TS_PHONE_APP_PING ? TS_IPPROTO_ICMP : TS_IPPROTO_UDP,
                               .api = c->api,
                               .bound_if = c->bound_if,
                               .remote = c->target,
                               .remote_port = c->port,
                               .required_if = c->required_if,
                               .recv = on_reply,
                               .ctx = a};
  sp.nw.has_required_type = c->has_required_type;
  sp.nw.required_type = c->required_type;
  return ts_phone_socket_open(a->ph, &sp, &a->sock);
}

/* ---------------------------------------------------------------- TCP apps */

static tcp_conn *conn_of(ts_phone_app *a, ts_sock_id sock) {
  for (size_t i = 0; sock && i < APP_TCP_CONNS; i++)
    if (a->conns[i].sock == sock) return &a->conns[i];
  return NULL;
}

static ts_time app_now(const ts_phone_app *a) { return ts_world_now(ts_phone_world(a->ph)); }

static void note_rtt(ts_phone_app *a, ts_time rtt) {
  a->stats.received++;
  if (!a->stats.rtt_min || rtt < a->stats.rtt_min) a->stats.rtt_min = rtt;
  if (rtt > a->stats.rtt_max) a->stats.rtt_max = rtt;
  a->stats.rtt_sum += rtt;
}

static void tcp_connected(void *ctx, ts_sock_id sock) {
  ts_phone_app *a = ctx;
  tcp_conn *c = conn_of(a, sock);
  if (!c) return;
  a->stats.tcp_established++;
  if (a->cfg.kind != TS_PHONE_APP_TCP_SHORT) return;
  char line[32];
  int n = snprintf(line, sizeof line, "GET %u\n", (unsigned)a->cfg.size);
  int64_t took = ts_phone_tcp_write(a->ph, sock, (const uint8_t *)line, (size_t)n);
  if (took == n) {
    a->stats.sent++;
    a->stats.bytes_sent += (uint64_t)took;
  } else {
    a->stats.send_errors++;
  }
}

static void long_check_done(ts_phone_app *a, tcp_conn *c) {
  if (a->ticks == a->cfg.count && c->answered == c->writes) ts_phone_tcp_close(a->ph, c->sock);
}

static void tcp_data(void *ctx, ts_sock_id sock, const uint8_t *data, size_t len) {
  ts_phone_app *a = ctx;
  tcp_conn *c = conn_of(a, sock);
  if (!c) return;
  if (len == 0) { /* the server closed its side */
    if (a->cfg.kind == TS_PHONE_APP_TCP_SHORT && c->rx == a->cfg.size && !c->bad)
      note_rtt(a, app_now(a) - c->opened_at);
    ts_phone_tcp_close(a->ph, sock);
    return;
  }
  for (size_t i = 0; i < len; i++)
    if (data[i] != ts_tcp_content_byte(c->rx + i)) {
      if (!c->bad) a->stats.content_errors++;
      c->bad = true;
    }
  c->rx += len;
  a->stats.bytes_received += len;
  if (a->cfg.kind != TS_PHONE_APP_TCP_LONG) return;
  if (!c->bad) a->stats.bytes_echoed += len;
  while (c->answered < c->writes && c->rx >= c->write_end[c->answered % APP_RING]) {
    ts_time sent = a->sent_at[c->answered % APP_RING];
    c->answered++;
    if (!c->bad) note_rtt(a, app_now(a) - sent);
  }
  long_check_done(a, c);
}

static void tcp_closed(void *ctx, ts_sock_id sock, ts_tcp_reason why) {
  ts_phone_app *a = ctx;
  tcp_conn *c = conn_of(a, sock);
  if (!c) return;
  a->stats.tcp_closed[why <= TS_TCP_REASON_ABORTED ? why : TS_TCP_REASON_NONE]++;
  memset(c, 0, sizeof *c);
}

static tcp_conn *tcp_open(ts_phone_app *a) {
  ts_world *w = ts_phone_world(a->ph);
  tcp_conn *c = NULL;
  for (size_t i = 0; !c && i < APP_TCP_CONNS; i++)
    if (!a->conns[i].sock) c = &a->conns[i];
  const ts_phone_app_config *k = &a->cfg;
  ts_phone_socket_params sp = {.owner = k->owner, .proto = TS_IPPROTO_TCP, .api = k->api,
                               .bound_if = k->bound_if, .remote = k->target,
                               .remote_port = k->port, .required_if = k->required_if,
                               .tcp = {tcp_connected, tcp_data, NULL, tcp_closed},
                               .tcp_tmpl = a->has_tcp ? &a->tcp : NULL, .ctx = a};
  sp.nw.has_required_type = k->has_required_type;
  sp.nw.required_type = k->required_type;
  ts_sock_id sock = 0;
  if (!c || ts_phone_socket_open(a->ph, &sp, &sock) != TS_OK) {
    a->stats.tcp_open_errors++;
    a->stats.open_failed = true;
    ts_trace_event(ts_world_trace(w), ts_world_now(w), "app-open-failed", a->name, NULL);
    return NULL;
  }
  memset(c, 0, sizeof *c);
  c->sock = sock;
  c->opened_at = ts_world_now(w);
  a->sock = sock;
  a->stats.tcp_opened++;
  return c;
}

/* TCP_LONG: the connection, if it is still open. */
static tcp_conn *long_conn(ts_phone_app *a) {
  return a->conns[0].sock ? &a->conns[0] : NULL;
}

static void long_write(ts_phone_app *a, tcp_conn *c) {
  uint32_t n = a->cfg.size;
  ts_tcp_content_fill(a->payload, c->tx, n);
  int64_t took = ts_phone_tcp_write(a->ph, c->sock, a->payload, n);
  if (took != (int64_t)n) { /* not connected (NW waiting) or the send buffer is full */
    a->stats.send_errors++;
    if (took <= 0) return;
  } else {
    a->stats.sent++;
  }
  c->tx += (uint64_t)took;
  a->stats.bytes_sent += (uint64_t)took;
  a->sent_at[c->writes % APP_RING] = app_now(a);
  c->write_end[c->writes % APP_RING] = c->tx;
  c->writes++;
}

/* A reboot ends every app's process: the phone drops its sockets without telling
 * anyone, and the app opens new ones the next time it runs. */
static bool socket_gone(const ts_phone_app *a, ts_sock_id sock) {
  return sock && ts_phone_socket_local_id(a->ph, sock) == 0;
}

/* Returns whether the app lost a socket (it is a new process now). */
static bool forget_dead_sockets(ts_phone_app *a) {
  bool lost = false;
  for (size_t i = 0; i < APP_TCP_CONNS; i++) {
    if (!socket_gone(a, a->conns[i].sock)) continue;
    memset(&a->conns[i], 0, sizeof a->conns[i]);
    lost = true;
  }
  if (socket_gone(a, a->sock)) {
    a->sock = 0;
    lost = true;
  }
  return lost;
}

static void tcp_tick(ts_phone_app *a, uint64_t k) {
  a->ticks++;
  bool relaunched = forget_dead_sockets(a);
  if (a->cfg.kind == TS_PHONE_APP_TCP_SHORT) {
    tcp_open(a);
    return;
  }
  tcp_conn *c = long_conn(a);
  if (!c && (k == 0 || relaunched || a->cfg.reconnect)) c = tcp_open(a);
  if (!c) {
    a->stats.send_errors++;
    return;
  }
  if (c->writes - c->answered >= APP_RING) { /* too far behind to keep account */
    a->stats.send_errors++;
    return;
  }
  long_write(a, c);
  long_check_done(a, c);
}

/* ------------------------------------------------------------ every app */

static void app_event(void *obj, uint64_t arg) {
  ts_phone_app *a = obj;
  ts_world *w = ts_phone_world(a->ph);
  if (a->cfg.kind == TS_PHONE_APP_TCP_SHORT || a->cfg.kind == TS_PHONE_APP_TCP_LONG) {
    tcp_tick(a, arg);
    if (arg + 1 < a->cfg.count) ts_world_schedule_in(w, a->cfg.interval, app_event, a, arg + 1, NULL);
    return;
  }
  forget_dead_sockets(a);
  if (!a->sock && open_socket(a) != TS_OK) {
    a->stats.open_failed = true;
    ts_trace_event(ts_world_trace(w), ts_world_now(w), "app-open-failed", a->name, NULL);
    return;
  }
  uint16_t seq = ++a->seq;
  uint32_t n = a->cfg.size;
  for (uint32_t i = 0; i < n; i++) a->payload[i] = (uint8_t)(i * 7 + seq);
  if (a->cfg.kind == TS_PHONE_APP_UDP_REQUEST && n >= 2) {
    ts_wr16(a->payload, seq);
  }
  ts_sock_send_result res;
  memset(&res, 0, sizeof res);
  int rc = a->cfg.kind == TS_PHONE_APP_DNS    ? send_dns(a, seq, &res)
           : a->cfg.kind == TS_PHONE_APP_PING ? ts_phone_send_echo(a->ph, a->sock, NULL, seq, a->payload, n, &res)
                                              : ts_phone_send_udp(a->ph, a->sock, NULL, 0, a->payload, n, &res);
  if (rc || res.status != TS_SOCK_OK) {
    a->stats.send_errors++;
  } else {
    a->stats.sent++;
    a->sent_at[seq % APP_RING] = ts_world_now(w);
  }
  if (!rc) a->stats.last_verdict = res.verdict;
  if (arg + 1 < a->cfg.count) ts_world_schedule_in(w, a->cfg.interval, app_event, a, arg + 1, NULL);
}

static void release(void *obj) { free(obj); }

int ts_phone_add_app(ts_phone *ph, const ts_phone_app_config *cfg, ts_phone_app **out) {
  bool dns = cfg && cfg->kind == TS_PHONE_APP_DNS;
  if (!ph || !cfg || !cfg->name || strlen(cfg->name) >= TS_PHONE_NAME_MAX || (!cfg->target.family && !dns))
    return TS_EINVAL;
  if (dns && (!cfg->query_name || !cfg->query_name[0] || strlen(cfg->query_name) >= 254)) return TS_EINVAL;
  bool tcp = cfg->kind == TS_PHONE_APP_TCP_SHORT || cfg->kind == TS_PHONE_APP_TCP_LONG;
  if (!tcp && !dns && cfg->kind != TS_PHONE_APP_PING && cfg->kind != TS_PHONE_APP_UDP_REQUEST)
    return TS_EINVAL;
  if (tcp && !cfg->port) return TS_EINVAL;
  if (cfg->kind != TS_PHONE_APP_TCP_SHORT &&
      (cfg->size > APP_MAX_PAYLOAD || (cfg->kind == TS_PHONE_APP_UDP_REQUEST && cfg->size < 2)))
    return TS_ERANGE;
  if (cfg->kind == TS_PHONE_APP_TCP_LONG && cfg->size == 0) return TS_ERANGE;
  if (cfg->count > 1 && cfg->interval <= 0) return TS_EINVAL;
  ts_phone_app *a = calloc(1, sizeof *a);
  if (!a) return TS_ENOMEM;
  a->ph = ph;
  a->cfg = *cfg;
  strcpy(a->name, cfg->name);
  a->cfg.name = a->name;
  a->cfg.bound_if = NULL;
  a->cfg.required_if = NULL;
  a->cfg.tcp = NULL;
  a->cfg.query_name = NULL;
  if (dns) snprintf(a->query_name, sizeof a->query_name, "%s", cfg->query_name);
  if (cfg->tcp) {
    a->has_tcp = true;
    a->tcp = *cfg->tcp;
  }
  /* Interface names are resolved now: the caller's strings need not outlive the call. */
  ts_world *w = ts_phone_world(ph);
  int rc = ts_world_attach(w, a, release);
  if (rc) {
    free(a);
    return rc;
  }
  static const char *const names[] = {"lo0", "en0", "pdp_ip0", "utun0"};
  for (size_t i = 0; i < sizeof names / sizeof names[0]; i++) {
    if (cfg->bound_if && !strcmp(cfg->bound_if, names[i])) a->cfg.bound_if = names[i];
    if (cfg->required_if && !strcmp(cfg->required_if, names[i])) a->cfg.required_if = names[i];
  }
  if ((cfg->bound_if && !a->cfg.bound_if) || (cfg->required_if && !a->cfg.required_if))
    return TS_ENOENT;
  if (cfg->count) {
    rc = ts_world_schedule(w, cfg->start, app_event, a, 0, NULL);
    if (rc) return rc;
  }
  if (out) *out = a;
  return TS_OK;
}

void ts_phone_app_get_stats(const ts_phone_app *a, ts_phone_app_stats *out) { *out = a->stats; }
ts_sock_id ts_phone_app_socket(const ts_phone_app *a) { return a->sock; }
