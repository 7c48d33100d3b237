#include "ts_run.h"

#include <stdio.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <string.h>

#include "ts_native.h"

#define DEFAULT_SEED 1
#define DEFAULT_DURATION (10 * TS_SEC)

void ts_run_defaults(const ts_scenario *s, ts_run_options *o) {
  memset(o, 0, sizeof *o);
  o->seed = s->has_seed ? s->seed : DEFAULT_SEED;
  o->until = s->has_duration ? s->duration : DEFAULT_DURATION;
}

static ts_link_params link_params(const ts_scenario_link *l) {
  ts_link_params p = {0};
  p.delay = l->delay;
  p.jitter = l->jitter;
  p.loss = l->loss;
  p.rate_bps = l->rate_bps;
  p.mtu = l->mtu;
  p.queue_limit = l->queue_packets;
  p.up = l->up;
  return p;
}

struct timeline_ctx {
  ts_world *world;
  ts_link_id *links;
  const ts_scenario *scenario;
};

/* Timeline events carry the index of their entry as the event argument. */
static void timeline_fire(void *obj, uint64_t index) {
  struct timeline_ctx *ctx = obj;
  const ts_timeline_event *e = &ctx->scenario->timeline[index];
  switch (e->action) {
  case TS_ACTION_LINK_DOWN: ts_world_link_set_up(ctx->world, ctx->links[e->link], false); break;
  case TS_ACTION_LINK_UP: ts_world_link_set_up(ctx->world, ctx->links[e->link], true); break;
  default: break;
  }
}

static void release_timeline(void *obj) {
  struct timeline_ctx *ctx = obj;
  free(ctx->links);
  free(ctx);
}

static ts_app_kind app_kind(ts_app_type t) {
  switch (t) {
  case TS_APP_UDP_ECHO_SERVER: return TS_NET_APP_UDP_ECHO_SERVER;
  case TS_APP_UDP_ECHO_CLIENT: return TS_NET_APP_UDP_ECHO_CLIENT;
  default: return TS_NET_APP_PING;
  }
}

static int build_hosts(ts_net *net, const ts_scenario *s, ts_host **hosts) {
  for (size_t n = 0; n < s->node_count; n++) {
    const ts_scenario_node *node = &s->nodes[n];
    int rc = ts_net_add_host(net, node->name, &hosts[n]);
    if (rc) return rc;
    for (size_t i = 0; i < node->interface_count; i++) {
      const ts_scenario_iface *f = &node->interfaces[i];
      uint32_t count = f->address_count < TS_NET_MAX_ADDRESSES ? (uint32_t)f->address_count
                                                               : TS_NET_MAX_ADDRESSES;
      uint32_t id;
      rc = ts_host_add_interface(hosts[n], f->name, f->addresses, count, &id);
      if (rc) return rc;
    }
  }
  return TS_OK;
}

static int build_links(ts_net *net, const ts_scenario *s, ts_host **hosts, ts_link_id *links) {
  for (size_t l = 0; l < s->link_count; l++) {
    const ts_scenario_link *sl = &s->links[l];
    if (sl->to_phone) continue; /* attached when the phone is built */
    ts_link_params p = link_params(sl);
    const ts_scenario_endpoint *a = &sl->endpoints[0], *b = &sl->endpoints[1];
    int rc = ts_net_connect(net, sl->name, &p, hosts[a->node], (uint32_t)a->iface, hosts[b->node],
                            (uint32_t)b->iface, &links[l]);
    if (rc) return rc;
  }
  return TS_OK;
}

static int build_apps(ts_net *net, const ts_scenario *s, ts_host **hosts) {
  for (size_t i = 0; i < s->app_count; i++) {
    const ts_scenario_app *sa = &s->apps[i];
    ts_app_config c = {0};
    c.name = sa->name;
    c.kind = app_kind(sa->type);
    if (sa->has_target) c.target = sa->target.addr;
    c.port = sa->port;
    c.start = sa->start;
    c.interval = sa->interval;
    c.count = sa->count;
    c.size = sa->size;
    int rc = ts_net_add_app(net, hosts[sa->node], &c);
    if (rc) return rc;
  }
  return TS_OK;
}

static int build_timeline(ts_world *w, const ts_scenario *s, ts_link_id *links) {
  struct timeline_ctx *ctx = calloc(1, sizeof *ctx);
  if (!ctx) return TS_ENOMEM;
  ctx->world = w;
  ctx->links = links;
  ctx->scenario = s;
  int rc = ts_world_attach(w, ctx, release_timeline);
  if (rc) {
    release_timeline(ctx);
    return rc;
  }
  for (size_t i = 0; i < s->timeline_count; i++) {
    rc = ts_world_schedule(w, s->timeline[i].at, timeline_fire, ctx, i, NULL);
    if (rc) return rc;
  }
  return TS_OK;
}

static int build(ts_world *w, const ts_scenario *s, ts_net **net_out) {
  ts_net *net;
  int rc = ts_net_create(w, &net);
  if (rc) return rc;
  ts_host **hosts = calloc(s->node_count ? s->node_count : 1, sizeof *hosts);
  ts_link_id *links = calloc(s->link_count ? s->link_count : 1, sizeof *links);
  if (!hosts || !links) {
    free(hosts);
    free(links);
    return TS_ENOMEM;
  }
  rc = build_hosts(net, s, hosts);
  if (!rc) rc = build_links(net, s, hosts, links);
  if (!rc) rc = build_apps(net, s, hosts);
  free(hosts);
  if (!rc) {
    rc = build_timeline(w, s, links); /* takes links */
  } else {
    free(links);
  }
  *net_out = net;
  return rc;
}

static void collect(ts_world *w, ts_net *net, const ts_run_options *o, ts_run_result *r) {
  ts_trace *t = ts_world_trace(w);
  ts_trace_hash_hex(t, r->trace_hash);
  r->seed = o->seed;
  r->sim_time = ts_world_now(w);
  r->events = ts_world_events_run(w);
  r->trace_records = ts_trace_records(t);
  r->unrouted = ts_net_unrouted(net);
  r->app_count = ts_net_app_count(net);
  if (r->app_count > TS_RUN_MAX_APPS) r->app_count = TS_RUN_MAX_APPS;
  for (uint32_t i = 0; i < r->app_count; i++) {
    ts_net_app_stats(net, i, &r->apps[i]);
    snprintf(r->app_names[i], sizeof r->app_names[i], "%s", r->apps[i].name);
    snprintf(r->app_hosts[i], sizeof r->app_hosts[i], "%s", r->apps[i].host);
    r->apps[i].name = r->app_names[i];
    r->apps[i].host = r->app_hosts[i];
  }
}

int ts_run_in_world(ts_world *w, const ts_scenario *s, const ts_run_options *o, ts_run_result *r) {
  memset(r, 0, sizeof *r);
  if (s->has_phone) return TS_ENOTSUP; /* the phone world is built by sim/run from issue 5 on */
  int rc = ts_world_reset(w, o->seed);
  if (rc) return rc;
  ts_trace *t = ts_world_trace(w);
  if (o->pcap_path && (rc = ts_trace_open_pcapng(t, o->pcap_path))) return rc;
  if (o->trace_path && (rc = ts_trace_open_jsonl(t, o->trace_path))) {
    ts_trace_close_sinks(t);
    return rc;
  }
  ts_net *net = NULL;
  rc = build(w, s, &net);
  if (!rc) rc = ts_world_run_until(w, o->until);
  if (!rc) collect(w, net, o, r);
  r->sink_error = ts_trace_close_sinks(t);
  return rc;
}

int ts_run_scenario(const ts_scenario *s, const ts_run_options *o, ts_run_result *r) {
  ts_world *w;
  int rc = ts_world_create(&w, o->backend ? o->backend : &ts_native_backend, o->seed);
  if (rc) return rc;
  rc = ts_run_in_world(w, s, o, r);
  ts_world_destroy(w);
  return rc;
}
