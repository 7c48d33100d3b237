/* ts_tcp_host: demultiplexing TCP segments of one host (see ts_tcp_host.h). */
#include "ts_tcp_host.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct listener {
  uint16_t port; /* 0 = free slot */
  ts_tcp_config tmpl;
  ts_tcp_accept_fn accept;
  void *ctx;
};

struct ts_tcp_host {
  ts_host *host;
  ts_world *w;
  struct listener listeners[TS_TCP_HOST_MAX_LISTENERS];
  ts_tcp **conns;
  uint32_t conn_count, conn_cap;
  uint32_t next_port;  /* ephemeral port cursor */
  uint64_t opened;     /* connections ever created: names them uniquely */
  uint64_t resets, bad;
};

static void host_send_ip(void *ctx, ts_packet *pkt) { ts_host_send(ctx, pkt); }

/* Frees connections that reached CLOSED (their on_closed has returned, or returns
 * before the deferred free in ts_tcp_destroy runs). */
static void reap(ts_tcp_host *t) {
  uint32_t k = 0;
  for (uint32_t i = 0; i < t->conn_count; i++) {
    if (ts_tcp_get_state(t->conns[i]) == TS_TCP_CLOSED) ts_tcp_destroy(t->conns[i]);
    else t->conns[k++] = t->conns[i];
  }
  t->conn_count = k;
}

static int table_add(ts_tcp_host *t, ts_tcp *c) {
  if (t->conn_count == t->conn_cap) {
    uint32_t cap = t->conn_cap ? t->conn_cap * 2 : 16;
    ts_tcp **n = realloc(t->conns, cap * sizeof *n);
    if (!n) return TS_ENOMEM;
    t->conns = n;
    t->conn_cap = cap;
  }
  t->conns[t->conn_count++] = c;
  return TS_OK;
}

static ts_tcp *find_conn(const ts_tcp_host *t, const ts_ip_info *info) {
  for (uint32_t i = 0; i < t->conn_count; i++) {
    ts_tcp *c = t->conns[i];
    const ts_tcp_config *k = ts_tcp_get_config(c);
    if (ts_tcp_get_state(c) != TS_TCP_CLOSED && k->local_port == info->dport &&
        k->remote_port == info->sport && ts_ipaddr_equal(&k->remote, &info->src) &&
        ts_ipaddr_equal(&k->local, &info->dst))
      return c;
  }
  return NULL;
}

static struct listener *find_listener(ts_tcp_host *t, uint16_t port) {
  for (uint32_t i = 0; i < TS_TCP_HOST_MAX_LISTENERS; i++)
    if (t->listeners[i].port == port && port != 0) return &t->listeners[i];
  return NULL;
}

static void send_reset(ts_tcp_host *t, const ts_ip_info *info, const ts_tcp_seg *seg) {
  ts_packet *r = ts_tcp_reset_for(ts_world_pool(t->w), info, seg);
  if (!r) return;
  t->resets++;
  ts_host_send(t->host, r);
}

static int new_conn(ts_tcp_host *t, ts_tcp_config *k, ts_tcp **out) {
  char name[2 * TS_TCP_NAME_MAX], ra[48];
  if (!k->name) { /* unique per host: the counter; readable: the ports and peer */
    ts_ipaddr_format(&k->remote, ra, sizeof ra);
    snprintf(name, sizeof name, "%s:%u>%s:%u#%llu", ts_host_name(t->host), k->local_port, ra,
             k->remote_port, (unsigned long long)t->opened);
    k->name = name;
  }
  k->send_ip = host_send_ip;
  k->send_ctx = t->host;
  int rc = ts_tcp_create(t->w, k, out);
  if (rc != TS_OK) return rc;
  t->opened++;
  rc = table_add(t, *out);
  if (rc != TS_OK) ts_tcp_destroy(*out);
  return rc;
}

/* §3.10.7.2 LISTEN: a SYN opens a connection; an ACK draws a RST; the rest drops. */
static void listen_input(ts_tcp_host *t, struct listener *l, const ts_ip_info *info,
                         const uint8_t *segment, const ts_tcp_seg *seg) {
  if (seg->flags & TS_TCP_FLAG_RST) return;
  if (seg->flags & TS_TCP_FLAG_ACK) {
    send_reset(t, info, seg);
    return;
  }
  if (!(seg->flags & TS_TCP_FLAG_SYN)) return;
  ts_tcp_config k = l->tmpl;
  k.name = NULL;
  k.local = info->dst;
  k.remote = info->src;
  k.local_port = info->dport;
  k.remote_port = info->sport;
  ts_tcp *c;
  if (new_conn(t, &k, &c) != TS_OK) return;
  if (l->accept && !l->accept(l->ctx, c)) {
    send_reset(t, info, seg);
    ts_tcp_abort(c); /* CLOSED already; reaped next time */
    return;
  }
  ts_tcp_accept(c, info, segment, info->l4_len);
}

bool ts_tcp_host_input(ts_tcp_host *t, const ts_ip_info *info, ts_packet *pkt) {
  if (info->proto != TS_IPPROTO_TCP) return false;
  reap(t);
  const uint8_t *segment = pkt->data + info->l4_offset;
  ts_tcp_seg seg;
  ts_tcp *c = find_conn(t, info);
  if (c) {
    ts_tcp_input(c, info, segment, info->l4_len);
  } else if (ts_tcp_parse(info, segment, info->l4_len, &seg) != TS_OK) {
    t->bad++;
  } else {
    struct listener *l = find_listener(t, info->dport);
    if (l) listen_input(t, l, info, segment, &seg);
    else send_reset(t, info, &seg); /* §3.10.7.1: nobody here */
  }
  ts_packet_free(ts_world_pool(t->w), pkt);
  return true;
}

static bool on_local(void *ctx, ts_host *h, const ts_ip_info *info, ts_packet *pkt) {
  (void)h;
  return ts_tcp_host_input(ctx, info, pkt);
}

static void tcp_host_release(void *obj) {
  /* Connections are attached to the world themselves and released with it. */
  ts_tcp_host *t = obj;
  free(t->conns);
  free(t);
}

int ts_tcp_host_create(ts_host *h, ts_tcp_host **out) {
  if (!h || !out) return TS_EINVAL;
  ts_tcp_host *t = calloc(1, sizeof *t);
  if (!t) return TS_ENOMEM;
  t->host = h;
  t->w = ts_host_world(h);
  t->next_port = TS_TCP_EPHEMERAL_FIRST;
  if (ts_world_attach(t->w, t, tcp_host_release) != TS_OK) {
    free(t);
    return TS_ENOMEM;
  }
  ts_host_set_local_hook(h, on_local, t);
  *out = t;
  return TS_OK;
}

int ts_tcp_host_listen(ts_tcp_host *t, uint16_t port, const ts_tcp_config *tmpl,
                       ts_tcp_accept_fn accept, void *ctx) {
  if (port == 0 || !tmpl) return TS_EINVAL;
  if (find_listener(t, port)) return TS_EEXIST;
  for (uint32_t i = 0; i < TS_TCP_HOST_MAX_LISTENERS; i++) {
    struct listener *l = &t->listeners[i];
    if (l->port) continue;
    *l = (struct listener){port, *tmpl, accept, ctx};
    return TS_OK;
  }
  return TS_EFULL;
}

int ts_tcp_host_unlisten(ts_tcp_host *t, uint16_t port) {
  struct listener *l = find_listener(t, port);
  if (!l) return TS_ENOENT;
  memset(l, 0, sizeof *l);
  return TS_OK;
}

static bool port_in_use(const ts_tcp_host *t, uint16_t port) {
  for (uint32_t i = 0; i < t->conn_count; i++)
    if (ts_tcp_get_config(t->conns[i])->local_port == port) return true;
  return false;
}

/* RFC 6335 §6 dynamic range, in order (deterministic), skipping ports in use. */
static uint16_t ephemeral_port(ts_tcp_host *t) {
  uint32_t span = TS_TCP_EPHEMERAL_LAST - TS_TCP_EPHEMERAL_FIRST + 1;
  for (uint32_t n = 0; n < span; n++) {
    uint16_t p = (uint16_t)t->next_port;
    t->next_port = t->next_port == TS_TCP_EPHEMERAL_LAST ? TS_TCP_EPHEMERAL_FIRST : t->next_port + 1;
    if (!port_in_use(t, p) && !find_listener(t, p)) return p;
  }
  return 0;
}

int ts_tcp_host_connect(ts_tcp_host *t, const ts_tcp_config *cfg, ts_tcp **out) {
  if (!cfg || !out || cfg->remote_port == 0) return TS_EINVAL;
  reap(t);
  ts_tcp_config k = *cfg;
  if (k.local.family == 0 && !ts_host_source_for(t->host, &k.remote, &k.local)) return TS_ENOENT;
  if (k.local_port == 0 && (k.local_port = ephemeral_port(t)) == 0) return TS_EFULL;
  ts_tcp *c;
  int rc = new_conn(t, &k, &c);
  if (rc != TS_OK) return rc;
  *out = c;
  return ts_tcp_connect(c);
}

ts_host *ts_tcp_host_host(const ts_tcp_host *t) { return t->host; }
uint64_t ts_tcp_host_resets_sent(const ts_tcp_host *t) { return t->resets; }
uint64_t ts_tcp_host_bad_segments(const ts_tcp_host *t) { return t->bad; }

uint32_t ts_tcp_host_open_count(const ts_tcp_host *t) {
  uint32_t n = 0;
  for (uint32_t i = 0; i < t->conn_count; i++)
    if (ts_tcp_get_state(t->conns[i]) != TS_TCP_CLOSED) n++;
  return n;
}
