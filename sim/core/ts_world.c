#include "ts_world.h"

#include <stdlib.h>
#include <string.h>

#define LINK_NAME_MAX 64

struct attached {
  void *obj;
  ts_release_fn release;
};

struct link_tap {
  ts_link_tap_fn fn;
  void *ctx;
};

struct world_link {
  char name[LINK_NAME_MAX];
  ts_link_end ends[2];
  uint32_t trace_iface[2];
  struct link_tap taps[TS_WORLD_LINK_TAPS];
  uint32_t tap_count;
};

struct ts_world {
  const ts_backend_ops *ops;
  ts_backend *backend;
  uint64_t seed;
  ts_trace *trace;
  ts_packet_pool *pool;
  struct attached *attached;
  uint32_t attached_count, attached_cap;
  struct world_link *links;
  uint32_t link_count, link_cap;
};

int ts_world_create(ts_world **out, const ts_backend_ops *backend, uint64_t seed) {
  ts_world *w = calloc(1, sizeof *w);
  if (!w) return TS_ENOMEM;
  w->ops = backend;
  w->seed = seed;
  int rc = ts_trace_create(&w->trace);
  if (!rc) rc = ts_packet_pool_create(&w->pool);
  if (!rc) rc = backend->create(&w->backend, w);
  if (rc) {
    ts_world_destroy(w);
    return rc;
  }
  *out = w;
  return TS_OK;
}

static void release_attached(ts_world *w) {
  while (w->attached_count > 0) {
    struct attached a = w->attached[--w->attached_count];
    a.release(a.obj);
  }
}

void ts_world_destroy(ts_world *w) {
  if (!w) return;
  /* Models first (they may hold packets), then the backend (in-flight packets). */
  release_attached(w);
  if (w->backend) w->ops->destroy(w->backend);
  ts_trace_destroy(w->trace);
  ts_packet_pool_destroy(w->pool);
  free(w->attached);
  free(w->links);
  free(w);
}

int ts_world_reset(ts_world *w, uint64_t seed) {
  release_attached(w);
  w->ops->reset(w->backend);
  ts_trace_reset(w->trace);
  w->link_count = 0;
  w->seed = seed;
  return TS_OK;
}

uint64_t ts_world_seed(const ts_world *w) { return w->seed; }
ts_time ts_world_now(const ts_world *w) { return w->ops->now(w->backend); }
ts_trace *ts_world_trace(ts_world *w) { return w->trace; }
ts_packet_pool *ts_world_pool(ts_world *w) { return w->pool; }
const char *ts_world_backend_name(const ts_world *w) { return w->ops->name; }

int ts_world_schedule(ts_world *w, ts_time at, ts_event_fn fn, void *obj, uint64_t arg,
                      ts_event_id *id) {
  return w->ops->schedule(w->backend, at, fn, obj, arg, id);
}

int ts_world_schedule_in(ts_world *w, ts_time delay, ts_event_fn fn, void *obj, uint64_t arg,
                         ts_event_id *id) {
  return w->ops->schedule_in(w->backend, delay, fn, obj, arg, id);
}

int ts_world_cancel(ts_world *w, ts_event_id id) { return w->ops->cancel(w->backend, id); }
int ts_world_run_until(ts_world *w, ts_time until) { return w->ops->run_until(w->backend, until); }
void ts_world_stop(ts_world *w) { w->ops->stop(w->backend); }
uint64_t ts_world_events_run(const ts_world *w) { return w->ops->events_run(w->backend); }

void ts_world_rng(const ts_world *w, const char *name, ts_rng *out) {
  ts_rng_init(out, w->seed, name);
}

int ts_world_attach(ts_world *w, void *obj, ts_release_fn release) {
  if (w->attached_count == w->attached_cap) {
    uint32_t ncap = w->attached_cap ? w->attached_cap * 2 : 32;
    struct attached *na = realloc(w->attached, (size_t)ncap * sizeof *na);
    if (!na) return TS_ENOMEM;
    w->attached = na;
    w->attached_cap = ncap;
  }
  w->attached[w->attached_count++] = (struct attached){obj, release};
  return TS_OK;
}

int ts_world_detach(ts_world *w, void *obj) {
  for (uint32_t i = w->attached_count; i-- > 0;) {
    if (w->attached[i].obj != obj) continue;
    memmove(&w->attached[i], &w->attached[i + 1], (w->attached_count - i - 1) * sizeof *w->attached);
    w->attached_count--;
    return TS_OK;
  }
  return TS_ENOENT;
}

int ts_world_link_create(ts_world *w, const char *name, const ts_link_params *p,
                         const ts_link_end ends[2], ts_link_id *id) {
  if (strlen(name) >= LINK_NAME_MAX) return TS_EINVAL;
  if (w->link_count == w->link_cap) {
    uint32_t ncap = w->link_cap ? w->link_cap * 2 : 16;
    struct world_link *nl = realloc(w->links, (size_t)ncap * sizeof *nl);
    if (!nl) return TS_ENOMEM;
    w->links = nl;
    w->link_cap = ncap;
  }
  struct world_link *l = &w->links[w->link_count];
  memset(l, 0, sizeof *l);
  strcpy(l->name, name);
  for (int e = 0; e < 2; e++) {
    l->ends[e] = ends[e];
    int rc = ts_trace_add_interface(w->trace, ends[e].interface_name, &l->trace_iface[e]);
    if (rc) return rc;
  }
  ts_link_id bid;
  int rc = w->ops->link_create(w->backend, name, p, &bid);
  if (rc) return rc;
  if (bid != w->link_count) return TS_ESTATE; /* backends number links in creation order */
  *id = w->link_count++;
  return TS_OK;
}

int ts_world_link_set_up(ts_world *w, ts_link_id id, bool up) {
  if (id >= w->link_count) return TS_ENOENT;
  ts_trace_event(w->trace, ts_world_now(w), up ? "link-up" : "link-down", w->links[id].name, NULL);
  return w->ops->link_set_up(w->backend, id, up);
}

int ts_world_link_send(ts_world *w, ts_link_id id, int from_end, ts_packet *pkt) {
  if (id >= w->link_count || from_end < 0 || from_end > 1) {
    ts_packet_free(w->pool, pkt);
    return TS_EINVAL;
  }
  struct world_link *l = &w->links[id];
  ts_trace_packet(w->trace, ts_world_now(w), l->trace_iface[from_end], TS_TRACE_TX, NULL,
                  pkt->data, pkt->len);
  for (uint32_t i = 0; i < l->tap_count; i++) l->taps[i].fn(l->taps[i].ctx, id, from_end, pkt);
  return w->ops->link_send(w->backend, id, from_end, pkt);
}

int ts_world_link_tap(ts_world *w, ts_link_id id, ts_link_tap_fn fn, void *ctx) {
  if (id >= w->link_count || !fn) return TS_EINVAL;
  struct world_link *l = &w->links[id];
  if (l->tap_count == TS_WORLD_LINK_TAPS) return TS_EFULL;
  l->taps[l->tap_count++] = (struct link_tap){fn, ctx};
  return TS_OK;
}

const char *ts_world_link_name(const ts_world *w, ts_link_id id) {
  return id < w->link_count ? w->links[id].name : "?";
}

void ts_world_link_deliver(ts_world *w, ts_link_id id, int to_end, ts_packet *pkt) {
  struct world_link *l = &w->links[id];
  ts_trace_packet_again(w->trace, ts_world_now(w), l->trace_iface[to_end], TS_TRACE_RX, NULL,
                        pkt->data, pkt->len);
  if (l->ends[to_end].rx) l->ends[to_end].rx(l->ends[to_end].ctx, pkt);
  else ts_packet_free(w->pool, pkt);
}

void ts_world_link_dropped(ts_world *w, ts_link_id id, int from_end, ts_packet *pkt,
                           const char *why) {
  struct world_link *l = &w->links[id];
  ts_trace_packet_again(w->trace, ts_world_now(w), l->trace_iface[from_end], TS_TRACE_DROP, why,
                        pkt->data, pkt->len);
  ts_packet_free(w->pool, pkt);
}
