/* Hosts: interfaces, a longest-prefix route choice, and local delivery. A host does
 * not forward: a packet for an address it does not own is dropped and counted. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "net_internal.h"

int ts_net_create(ts_world *w, ts_net **out) {
  ts_net *net = calloc(1, sizeof *net);
  if (!net) return TS_ENOMEM;
  net->world = w;
  int rc = ts_world_attach(w, net, ts_net_release);
  if (rc) {
    free(net);
    return rc;
  }
  *out = net;
  return TS_OK;
}

void ts_net_release(void *obj) {
  ts_net *net = obj;
  for (uint32_t i = 0; i < net->host_count; i++) free(net->hosts[i]);
  for (uint32_t i = 0; i < net->app_count; i++) free(net->apps[i]);
  free(net->hosts);
  free(net->apps);
  free(net);
}

static int grow(void **arr, uint32_t *cap, size_t elem) {
  uint32_t ncap = *cap ? *cap * 2 : 8;
  void *n = realloc(*arr, (size_t)ncap * elem);
  if (!n) return TS_ENOMEM;
  *arr = n;
  *cap = ncap;
  return TS_OK;
}

int ts_net_add_host(ts_net *net, const char *name, ts_host **out) {
  if (strlen(name) >= TS_NET_NAME_MAX) return TS_EINVAL;
  if (net->host_count == net->host_cap && grow((void **)&net->hosts, &net->host_cap, sizeof(ts_host *)))
    return TS_ENOMEM;
  ts_host *h = calloc(1, sizeof *h);
  if (!h) return TS_ENOMEM;
  h->net = net;
  snprintf(h->name, sizeof h->name, "%s", name);
  net->hosts[net->host_count++] = h;
  *out = h;
  return TS_OK;
}

int ts_host_add_interface(ts_host *h, const char *name, const ts_ipprefix *addrs, uint32_t n,
                          uint32_t *iface) {
  if (h->iface_count == TS_HOST_MAX_IFACES) return TS_EFULL;
  if (n > TS_NET_MAX_ADDRESSES || strlen(name) >= TS_NET_NAME_MAX) return TS_EINVAL;
  struct host_iface *i = &h->ifaces[h->iface_count];
  memset(i, 0, sizeof *i);
  snprintf(i->name, sizeof i->name, "%s", name);
  snprintf(i->full_name, sizeof i->full_name, "%s/%s", h->name, name);
  if (n) memcpy(i->addrs, addrs, n * sizeof *addrs);
  i->addr_count = n;
  i->host = h;
  *iface = h->iface_count++;
  return TS_OK;
}

int ts_net_connect(ts_net *net, const char *link_name, const ts_link_params *p, ts_host *a,
                   uint32_t ia, ts_host *b, uint32_t ib, ts_link_id *id) {
  if (ia >= a->iface_count || ib >= b->iface_count) return TS_EINVAL;
  struct host_iface *x = &a->ifaces[ia], *y = &b->ifaces[ib];
  if (x->attached || y->attached) return TS_EEXIST;
  ts_link_end ends[2] = {{host_receive, x, x->full_name}, {host_receive, y, y->full_name}};
  int rc = ts_world_link_create(net->world, link_name, p, ends, id);
  if (rc) return rc;
  x->attached = y->attached = true;
  x->link = y->link = *id;
  x->end = 0;
  y->end = 1;
  return TS_OK;
}

int ts_net_connect_device(ts_net *net, const char *link_name, const ts_link_params *p, ts_host *h,
                          uint32_t iface, const ts_link_end *device_end, ts_link_id *id) {
  if (iface >= h->iface_count || !device_end) return TS_EINVAL;
  struct host_iface *x = &h->ifaces[iface];
  if (x->attached) return TS_EEXIST;
  ts_link_end ends[2] = {{host_receive, x, x->full_name}, *device_end};
  int rc = ts_world_link_create(net->world, link_name, p, ends, id);
  if (rc) return rc;
  x->attached = true;
  x->link = *id;
  x->end = 0;
  return TS_OK;
}

/* Limited broadcast (RFC 919) is for every host on the link: DHCP's DISCOVER
 * arrives this way, from 0.0.0.0. */
static bool is_limited_broadcast(const ts_ipaddr *a) {
  return a->family == 4 && a->bytes[0] == 255 && a->bytes[1] == 255 && a->bytes[2] == 255 &&
         a->bytes[3] == 255;
}

bool host_owns(const ts_host *h, const ts_ipaddr *a) {
  if (is_limited_broadcast(a)) return true;
  for (uint32_t i = 0; i < h->iface_count; i++)
    for (uint32_t k = 0; k < h->ifaces[i].addr_count; k++)
      if (ts_ipaddr_equal(&h->ifaces[i].addrs[k].addr, a)) return true;
  return false;
}

/* Longest prefix among the on-link prefixes and the static routes. Without a
 * match, a host (not a router) falls back to its first attached interface of dst's
 * family, so that two hosts on one link need no routes at all. */
static struct host_iface *route(ts_host *h, const ts_ipaddr *dst) {
  struct host_iface *best = NULL, *fallback = NULL;
  int best_len = -1;
  for (uint32_t i = 0; i < h->iface_count; i++) {
    struct host_iface *f = &h->ifaces[i];
    if (!f->attached) continue;
    for (uint32_t k = 0; k < f->addr_count; k++) {
      const ts_ipprefix *p = &f->addrs[k];
      if (p->addr.family != dst->family) continue;
      if (!fallback) fallback = f;
      if (ts_ipprefix_contains(p, dst) && p->len > best_len) {
        best = f;
        best_len = p->len;
      }
    }
  }
  for (uint32_t r = 0; r < h->route_count; r++) {
    const struct host_route *hr = &h->routes[r];
    if (hr->dst.len > best_len && h->ifaces[hr->iface].attached &&
        ts_ipprefix_contains(&hr->dst, dst)) {
      best = &h->ifaces[hr->iface];
      best_len = hr->dst.len;
    }
  }
  if (best) return best;
  return h->forwarding ? NULL : fallback;
}

int ts_host_add_route(ts_host *h, const ts_ipprefix *dst, uint32_t iface) {
  if (iface >= h->iface_count) return TS_EINVAL;
  if (h->route_count == TS_HOST_MAX_ROUTES) return TS_EFULL;
  h->routes[h->route_count++] = (struct host_route){*dst, iface};
  return TS_OK;
}

int ts_host_bind_udp(ts_host *h, uint16_t port, ts_host_udp_fn fn, void *ctx) {
  if (!fn || port == 0) return TS_EINVAL;
  if (host_udp_binding(h, port)) return TS_EEXIST;
  if (h->udp_count == TS_HOST_MAX_UDP_BINDINGS) return TS_EFULL;
  h->udp[h->udp_count++] = (struct udp_binding){port, fn, ctx};
  return TS_OK;
}

const struct udp_binding *host_udp_binding(const ts_host *h, uint16_t port) {
  for (uint32_t i = 0; i < h->udp_count; i++)
    if (h->udp[i].port == port) return &h->udp[i];
  return NULL;
}

void ts_host_set_transit_hook(ts_host *h, ts_host_transit_fn fn, void *ctx) {
  h->transit = fn;
  h->transit_ctx = ctx;
}

void ts_host_set_local_hook(ts_host *h, ts_host_local_fn fn, void *ctx) {
  h->local = fn;
  h->local_ctx = ctx;
}

void ts_host_set_forwarding(ts_host *h, bool on) { h->forwarding = on; }
ts_world *ts_host_world(const ts_host *h) { return h->net->world; }
const char *ts_host_name(const ts_host *h) { return h->name; }

ts_host *ts_net_find_host(const ts_net *net, const char *name) {
  for (uint32_t i = 0; i < net->host_count; i++)
    if (!strcmp(net->hosts[i]->name, name)) return net->hosts[i];
  return NULL;
}

bool ts_host_source_for(ts_host *h, const ts_ipaddr *dst, ts_ipaddr *src) {
  struct host_iface *f = route(h, dst);
  if (!f) return false;
  for (uint32_t k = 0; k < f->addr_count; k++)
    if (f->addrs[k].addr.family == dst->family) {
      *src = f->addrs[k].addr;
      return true;
    }
  return false;
}

static void unrouted(ts_host *h, const char *why, const ts_packet *p) {
  char detail[200], sum[160];
  ts_ipsum_describe(p->data, p->len, sum, sizeof sum);
  snprintf(detail, sizeof detail, "%s: %s", why, sum);
  h->net->unrouted++;
  ts_trace_event(ts_world_trace(h->net->world), ts_world_now(h->net->world), "host-drop", h->name,
                 detail);
}

void ts_host_send(ts_host *h, ts_packet *p) { host_send(h, p); }

int ts_host_send_via(ts_host *h, uint32_t iface, ts_packet *p) {
  if (iface >= h->iface_count || !h->ifaces[iface].attached) {
    ts_packet_free(ts_world_pool(h->net->world), p);
    return TS_EINVAL;
  }
  return ts_world_link_send(h->net->world, h->ifaces[iface].link, h->ifaces[iface].end, p);
}

void host_send(ts_host *h, ts_packet *p) {
  ts_ip_info info;
  ts_world *w = h->net->world;
  if (ts_ip_parse(p->data, p->len, &info) != 0) {
    unrouted(h, "malformed", p);
    ts_packet_free(ts_world_pool(w), p);
    return;
  }
  struct host_iface *f = route(h, &info.dst);
  if (!f) {
    unrouted(h, "no-route", p);
    ts_packet_free(ts_world_pool(w), p);
    return;
  }
  ts_world_link_send(w, f->link, f->end, p);
}

/* TTL (IPv4, with the header checksum updated per RFC 1624) or hop limit (IPv6)
 * down by one; false when it reaches zero. */
static bool decrement_ttl(ts_packet *p, const ts_ip_info *info) {
  if (info->family == 6) {
    if (p->data[7] <= 1) return false;
    p->data[7]--;
    return true;
  }
  if (p->data[8] <= 1) return false;
  p->data[8]--;
  uint32_t sum = (uint32_t)((p->data[10] << 8) | p->data[11]) + 0x0100;
  sum = (sum & 0xffff) + (sum >> 16);
  p->data[10] = (uint8_t)(sum >> 8);
  p->data[11] = (uint8_t)sum;
  return true;
}

static void transit(ts_host *h, struct host_iface *f, const ts_ip_info *info, ts_packet *p) {
  if (h->transit && h->transit(h->transit_ctx, h, (uint32_t)(f - h->ifaces), p)) return;
  if (!h->forwarding) {
    unrouted(h, "not-local", p);
  } else if (!decrement_ttl(p, info)) {
    unrouted(h, "ttl-exceeded", p);
  } else {
    host_send(h, p);
    return;
  }
  ts_packet_free(ts_world_pool(h->net->world), p);
}

void host_receive(void *ctx, ts_packet *p) {
  struct host_iface *f = ctx;
  ts_host *h = f->host;
  ts_ip_info info;
  if (ts_ip_parse(p->data, p->len, &info) != 0) {
    unrouted(h, "malformed", p);
  } else if (!host_owns(h, &info.dst)) {
    transit(h, f, &info, p);
    return;
  } else if (h->local && h->local(h->local_ctx, h, &info, p)) {
    return;
  } else {
    apps_deliver(h, &info, p);
  }
  ts_packet_free(ts_world_pool(h->net->world), p);
}

uint64_t ts_net_unrouted(const ts_net *net) { return net->unrouted; }
