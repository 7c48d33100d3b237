/* TCP through lwIP's raw API: connections and listeners as handles from the
 * instance's heap, lwIP's callbacks turned into ts_netstack_tcp_callbacks.
 *
 * lwIP's rules this file keeps: a callback for a pcb that aborted that pcb returns
 * ERR_ABRT and touches it no more; after tcp_close the pcb belongs to lwIP (its
 * callbacks are cleared first, so that lwIP's defaults finish the connection); an
 * err callback means the pcb is already freed. A handle whose connection ends while
 * one of its callbacks is running is freed when that callback returns. */
#include <string.h>

#include "netstack_internal.h"

struct ts_netstack_tcp {
  ts_netstack *ns;
  struct tcp_pcb *pcb;       /* NULL once closed, aborted or freed by lwIP */
  ts_netstack_tcp_callbacks cb;
  void *ctx;
  uint32_t depth;            /* our callbacks running for this handle */
  bool dead;                 /* the application is done with it, or it ended */
  bool aborted;              /* tcp_abort ran: the lwIP callback must return ERR_ABRT */
  ts_ipaddr local, remote;
  uint16_t local_port, remote_port;
};

struct ts_netstack_listener {
  ts_netstack *ns;
  struct tcp_pcb *pcb;
  ts_netstack_accept_fn accept;
  void *ctx;
};

const char *ts_netstack_close_reason_name(int reason) {
  switch (reason) {
  case TS_NETSTACK_RESET: return "reset";
  case TS_NETSTACK_ABORTED: return "aborted";
  case TS_NETSTACK_CLOSED: return "closed";
  default: return "unknown";
  }
}

static void enter(ts_netstack_tcp *c) { c->depth++; }

/* Ends one of our callbacks: what lwIP's callback returns, and the handle freed if
 * it died meanwhile. */
static err_t leave(ts_netstack_tcp *c) {
  err_t ret = c->aborted ? ERR_ABRT : ERR_OK;
  if (--c->depth == 0 && c->dead) {
    ts_netstack *ns = c->ns;
    ts_nsa_free(&ns->heap, c);
  }
  return ret;
}

static void free_if_idle(ts_netstack_tcp *c) {
  if (c->depth == 0) ts_nsa_free(&c->ns->heap, c);
}

static void remember_endpoints(ts_netstack_tcp *c) {
  ts_netstack_addr_from_lwip(&c->pcb->local_ip, &c->local);
  ts_netstack_addr_from_lwip(&c->pcb->remote_ip, &c->remote);
  c->local_port = c->pcb->local_port;
  c->remote_port = c->pcb->remote_port;
}

/* Detaches our callbacks from the pcb, which lwIP then finishes alone. */
static struct tcp_pcb *unhook(ts_netstack_tcp *c) {
  const ts_lwip_api *L = c->ns->L;
  struct tcp_pcb *pcb = c->pcb;
  c->pcb = NULL;
  L->tcp_arg(pcb, NULL);
  L->tcp_recv(pcb, NULL);
  L->tcp_sent(pcb, NULL);
  L->tcp_err(pcb, NULL);
  return pcb;
}

/* ---- lwIP's callbacks ------------------------------------------------------------ */

static err_t on_connected(void *arg, struct tcp_pcb *pcb, err_t err) {
  ts_netstack_tcp *c = arg;
  enter(c);
  remember_endpoints(c);
  if (c->cb.connected) c->cb.connected(c->ctx, c);
  return leave(c);
}

static err_t on_recv(void *arg, struct tcp_pcb *pcb, struct pbuf *p, err_t err) {
  ts_netstack_tcp *c = arg;
  const ts_lwip_api *L = c->ns->L;
  enter(c);
  if (!p) {
    /* FIN: no more data from the peer. */
    if (c->cb.eof) {
      c->cb.eof(c->ctx, c);
    } else {
      /* Nobody to tell but `closed`: the handle dies with a callback, as always when
       * the application did not end it itself. */
      if (c->cb.closed) c->cb.closed(c->ctx, c, TS_NETSTACK_CLOSED);
      ts_netstack_tcp_close(c);
    }
    return leave(c);
  }
  /* The application takes every byte now, so the window reopens first: a close from
   * inside `data` then sends FIN, not the RST lwIP sends for unread data. */
  L->tcp_recved(pcb, p->tot_len);
  for (struct pbuf *q = p; q && !c->dead; q = q->next)
    if (c->cb.data && q->len) c->cb.data(c->ctx, c, q->payload, q->len);
  L->pbuf_free(p);
  return leave(c);
}

static err_t on_sent(void *arg, struct tcp_pcb *pcb, u16_t len) {
  ts_netstack_tcp *c = arg;
  enter(c);
  if (c->cb.sent) c->cb.sent(c->ctx, c, len);
  return leave(c);
}

/* The pcb is gone already (RST, retransmission timeout, memory). */
static void on_err(void *arg, err_t err) {
  ts_netstack_tcp *c = arg;
  if (!c) return;
  c->pcb = NULL;
  int reason = err == ERR_RST ? TS_NETSTACK_RESET : err == ERR_CLSD ? TS_NETSTACK_CLOSED : TS_NETSTACK_ABORTED;
  enter(c);
  bool was_dead = c->dead;
  c->dead = true;
  /* Should this run inside one of our callbacks for the same pcb, that callback
   * must tell lwIP the pcb is gone. */
  c->aborted = true;
  if (!was_dead && c->cb.closed) c->cb.closed(c->ctx, c, reason);
  leave(c);
}

static void hook(ts_netstack_tcp *c) {
  const ts_lwip_api *L = c->ns->L;
  L->tcp_arg(c->pcb, c);
  L->tcp_recv(c->pcb, on_recv);
  L->tcp_sent(c->pcb, on_sent);
  L->tcp_err(c->pcb, on_err);
}

static err_t on_accept(void *arg, struct tcp_pcb *newpcb, err_t err) {
  ts_netstack_listener *l = arg;
  if (err != ERR_OK || !newpcb || !l) return ERR_VAL;
  ts_netstack *ns = l->ns;
  ts_netstack_tcp *c = ts_nsa_calloc(&ns->heap, sizeof *c);
  if (!c) {
    ns->L->tcp_abort(newpcb);
    return ERR_ABRT;
  }
  c->ns = ns;
  c->pcb = newpcb;
  hook(c);
  remember_endpoints(c);
  enter(c);
  if (!l->accept(l->ctx, l, c) && !c->dead) ts_netstack_tcp_abort(c);
  return leave(c);
}

/* ---- the API ----------------------------------------------------------------------- */

static bool has_family(const ts_netstack *ns, uint8_t family) {
  return (family == 4 && ns->cfg.addr4.addr.family == 4) || (family == 6 && ns->cfg.addr6.addr.family == 6);
}

int ts_netstack_tcp_connect(ts_netstack *ns, const ts_ipaddr *dst, uint16_t port,
                            const ts_netstack_tcp_callbacks *cb, void *ctx, ts_netstack_tcp **out) {
  *out = NULL;
  if (!ns->up) return TS_ESTATE;
  if (!dst || !has_family(ns, dst->family) || port == 0) return TS_EINVAL;
  const ts_lwip_api *L = ns->L;
  ts_netstack_tcp *c = ts_nsa_calloc(&ns->heap, sizeof *c);
  if (!c) return TS_ENOMEM;
  c->ns = ns;
  if (cb) c->cb = *cb;
  c->ctx = ctx;
  c->pcb = L->tcp_new_ip_type(dst->family == 6 ? IPADDR_TYPE_V6 : IPADDR_TYPE_V4);
  if (!c->pcb) {
    ts_nsa_free(&ns->heap, c);
    return TS_ENOMEM;
  }
  hook(c);
  ip_addr_t to;
  ts_netstack_addr_to_lwip(dst, &to);
  err_t err = L->tcp_connect(c->pcb, &to, port, on_connected);
  if (err != ERR_OK) {
    L->tcp_abort(unhook(c));
    ts_nsa_free(&ns->heap, c);
    ts_netstack_rearm(ns);
    return ts_netstack_err(err);
  }
  remember_endpoints(c);
  ts_netstack_rearm(ns);
  *out = c;
  return 0;
}

uint32_t ts_netstack_tcp_sendable(const ts_netstack_tcp *c) {
  if (c->dead || !c->pcb) return 0;
  if (tcp_sndqueuelen(c->pcb) >= TCP_SND_QUEUELEN) return 0;
  /* The unsent tail was sized for a larger segment: lwIP 2.1.3 would assert. */
  if (ts_netstack_guard_write_blocked(c->pcb)) return 0;
  return tcp_sndbuf(c->pcb);
}

int ts_netstack_tcp_write(ts_netstack_tcp *c, const void *data, uint32_t len) {
  if (c->dead || !c->pcb) return TS_ESTATE;
  if (len && !data) return TS_EINVAL;
  const ts_lwip_api *L = c->ns->L;
  if (len && ts_netstack_guard_write_blocked(c->pcb)) {
    c->ns->stats.writes_deferred++;
    return 0;
  }
  uint32_t n = ts_netstack_tcp_sendable(c);
  if (n > len) n = len;
  if (n == 0) return 0;
  err_t err = L->tcp_write(c->pcb, data, (u16_t)n, TCP_WRITE_FLAG_COPY);
  /* Refused for the segment queue's length rather than bytes: try less. */
  while (err == ERR_MEM && n > TCP_MSS) {
    n /= 2;
    err = L->tcp_write(c->pcb, data, (u16_t)n, TCP_WRITE_FLAG_COPY);
  }
  if (err == ERR_MEM) n = 0;
  else if (err != ERR_OK) return ts_netstack_err(err);
  if (n) L->tcp_output(c->pcb);
  ts_netstack_rearm(c->ns);
  return (int)n;
}

void ts_netstack_tcp_close(ts_netstack_tcp *c) {
  if (c->dead) return;
  c->dead = true;
  if (c->pcb) {
    const ts_lwip_api *L = c->ns->L;
    struct tcp_pcb *pcb = unhook(c);
    if (L->tcp_close(pcb) != ERR_OK) {
      /* Out of memory for the FIN: lwIP's advice is to abort. */
      L->tcp_abort(pcb);
      c->aborted = true;
    }
    ts_netstack_rearm(c->ns);
  }
  free_if_idle(c);
}

void ts_netstack_tcp_abort(ts_netstack_tcp *c) {
  if (c->dead) return;
  c->dead = true;
  if (c->pcb) {
    c->ns->L->tcp_abort(unhook(c));
    c->aborted = true;
    ts_netstack_rearm(c->ns);
  }
  free_if_idle(c);
}

void ts_netstack_tcp_set_callbacks(ts_netstack_tcp *c, const ts_netstack_tcp_callbacks *cb, void *ctx) {
  if (cb) c->cb = *cb;
  else memset(&c->cb, 0, sizeof c->cb);
  c->ctx = ctx;
}

void ts_netstack_tcp_endpoints(const ts_netstack_tcp *c, ts_ipaddr *local, uint16_t *local_port,
                               ts_ipaddr *remote, uint16_t *remote_port) {
  if (local) *local = c->local;
  if (local_port) *local_port = c->local_port;
  if (remote) *remote = c->remote;
  if (remote_port) *remote_port = c->remote_port;
}

ts_netstack *ts_netstack_tcp_stack(const ts_netstack_tcp *c) { return c->ns; }

int ts_netstack_tcp_listen(ts_netstack *ns, uint16_t port, ts_netstack_accept_fn accept, void *ctx,
                           ts_netstack_listener **out) {
  *out = NULL;
  if (!ns->up) return TS_ESTATE;
  if (!accept || port == 0) return TS_EINVAL;
  const ts_lwip_api *L = ns->L;
  ts_netstack_listener *l = ts_nsa_calloc(&ns->heap, sizeof *l);
  if (!l) return TS_ENOMEM;
  struct tcp_pcb *pcb = L->tcp_new_ip_type(IPADDR_TYPE_ANY);
  if (!pcb) {
    ts_nsa_free(&ns->heap, l);
    return TS_ENOMEM;
  }
  ip_addr_t any = IPADDR_ANY_TYPE_INIT;
  err_t err = L->tcp_bind(pcb, &any, port);
  struct tcp_pcb *lpcb = NULL;
  if (err == ERR_OK) lpcb = L->tcp_listen_with_backlog_and_err(pcb, TS_NETSTACK_LISTEN_BACKLOG, &err);
  if (!lpcb) {
    L->tcp_close(pcb); /* a pcb that never connected: freed at once */
    ts_nsa_free(&ns->heap, l);
    return err == ERR_OK ? TS_ENOMEM : ts_netstack_err(err);
  }
  l->ns = ns;
  l->pcb = lpcb;
  l->accept = accept;
  l->ctx = ctx;
  L->tcp_arg(lpcb, l);
  L->tcp_accept(lpcb, on_accept);
  *out = l;
  return 0;
}

void ts_netstack_listener_close(ts_netstack_listener *l) {
  ts_netstack *ns = l->ns;
  const ts_lwip_api *L = ns->L;
  L->tcp_arg(l->pcb, NULL);
  L->tcp_accept(l->pcb, NULL);
  L->tcp_close(l->pcb);
  ts_nsa_free(&ns->heap, l);
  ts_netstack_rearm(ns);
}
