/* A ts_netstack on a link end (ts_netstack_device.h). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ts_netstack_device.h"

#define DEFAULT_IFNAME "lwip0"

struct ts_netstack_dev {
  ts_world *world;
  ts_netstack *stack;
  ts_rng rng;           /* "netstack/<name>": seeds when the caller gives none */
  char ifname[2 * TS_NETSTACK_NAME_MAX + 2];
  bool attached;
  ts_link_id link;
  int end;
  ts_netstack_dev_stats stats;
};

static void dev_output(void *ctx, ts_packet *pkt) {
  ts_netstack_dev *d = ctx;
  if (!d->attached) {
    d->stats.unattached_drops++;
    ts_packet_free(ts_world_pool(d->world), pkt);
    return;
  }
  d->stats.sent++;
  ts_world_link_send(d->world, d->link, d->end, pkt);
}

static void dev_receive(void *ctx, ts_packet *pkt) {
  ts_netstack_dev *d = ctx;
  d->stats.received++;
  ts_netstack_input(d->stack, pkt->data, pkt->len);
  ts_packet_free(ts_world_pool(d->world), pkt);
}

/* The world frees the stack itself (it is attached on its own, before the device). */
static void dev_release(void *obj) { free(obj); }

static uint64_t next_seed(ts_netstack_dev *d) {
  uint64_t s;
  do s = ts_rng_next(&d->rng);
  while (s == 0);
  return s;
}

int ts_netstack_dev_create(ts_world *w, const ts_netstack_dev_config *cfg, ts_netstack_dev **out) {
  *out = NULL;
  if (!w || !cfg || !cfg->name || !cfg->name[0] || strlen(cfg->name) >= TS_NETSTACK_NAME_MAX ||
      (cfg->ifname && strlen(cfg->ifname) >= TS_NETSTACK_NAME_MAX))
    return TS_EINVAL;
  ts_netstack_dev *d = calloc(1, sizeof *d);
  if (!d) return TS_ENOMEM;
  d->world = w;
  char stream[TS_NETSTACK_NAME_MAX + 16];
  snprintf(stream, sizeof stream, "netstack/%s", cfg->name);
  ts_world_rng(w, stream, &d->rng);
  snprintf(d->ifname, sizeof d->ifname, "%s/%s", cfg->name, cfg->ifname ? cfg->ifname : DEFAULT_IFNAME);
  ts_netstack_config sc = {
      .name = cfg->name,
      .seed = cfg->seed ? cfg->seed : next_seed(d),
      .addr4 = cfg->addr4,
      .addr6 = cfg->addr6,
      .mtu = cfg->mtu,
      .output = dev_output,
      .output_ctx = d,
  };
  int rc = ts_netstack_create(w, &sc, &d->stack);
  if (!rc) rc = ts_world_attach(w, d, dev_release);
  if (rc) {
    if (d->stack) ts_netstack_destroy(d->stack);
    free(d);
    return rc;
  }
  *out = d;
  return 0;
}

ts_netstack *ts_netstack_dev_stack(const ts_netstack_dev *d) { return d->stack; }

void ts_netstack_dev_link_end(ts_netstack_dev *d, ts_link_end *out) {
  out->rx = dev_receive;
  out->ctx = d;
  out->interface_name = d->ifname;
}

int ts_netstack_dev_attach(ts_netstack_dev *d, ts_link_id link, int end) {
  if (end != 0 && end != 1) return TS_EINVAL;
  d->attached = true;
  d->link = link;
  d->end = end;
  return 0;
}

int ts_netstack_dev_connect(ts_world *w, const char *link_name, const ts_link_params *p,
                            ts_netstack_dev *a, ts_netstack_dev *b, ts_link_id *id) {
  if (a->attached || b->attached || a == b) return TS_EEXIST;
  ts_link_end ends[2];
  ts_netstack_dev_link_end(a, &ends[0]);
  ts_netstack_dev_link_end(b, &ends[1]);
  ts_link_id link;
  int rc = ts_world_link_create(w, link_name, p, ends, &link);
  if (rc) return rc;
  ts_netstack_dev_attach(a, link, 0);
  ts_netstack_dev_attach(b, link, 1);
  if (id) *id = link;
  return 0;
}

int ts_netstack_dev_connect_host(ts_net *net, const char *link_name, const ts_link_params *p,
                                 ts_host *h, uint32_t iface, ts_netstack_dev *d, ts_link_id *id) {
  if (d->attached) return TS_EEXIST;
  ts_link_end end;
  ts_netstack_dev_link_end(d, &end);
  ts_link_id link;
  int rc = ts_net_connect_device(net, link_name, p, h, iface, &end, &link);
  if (rc) return rc;
  ts_netstack_dev_attach(d, link, 1);
  if (id) *id = link;
  return 0;
}

int ts_netstack_dev_reset(ts_netstack_dev *d, uint64_t seed) {
  memset(&d->stats, 0, sizeof d->stats);
  return ts_netstack_reset(d->stack, seed ? seed : next_seed(d));
}

void ts_netstack_dev_stats_get(const ts_netstack_dev *d, ts_netstack_dev_stats *out) { *out = d->stats; }
