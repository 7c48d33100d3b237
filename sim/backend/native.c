/* Native links. Each direction of a link is a FIFO: a packet waits for the
 * transmitter (rate), is serialised, propagates (delay ± jitter, never overtaking the
 * packet ahead), and then arrives, unless the link lost it or went down meanwhile.
 * Packets in flight stay in the direction's FIFO, so a reset frees them all and the
 * arrival event needs no pointer. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ts_native.h"
#include "ts_world.h"

#define LINK_STREAM_PREFIX "link/"

struct in_flight {
  ts_time tx_end; /* serialisation finished: from then on it no longer queues */
  uint32_t epoch; /* link epoch at send: a down/up in between loses the packet */
  bool lost;
};

struct direction {
  struct native_link *link;
  int from_end;
  ts_packet *head, *tail;  /* in flight, oldest first */
  struct in_flight *meta;  /* ring parallel to the FIFO, indexed by sequence */
  uint32_t meta_cap;       /* a power of two */
  uint64_t head_seq;       /* sequence of the FIFO's head */
  uint64_t next_seq;       /* sequence the next packet gets */
  uint64_t wait_seq;       /* first packet whose serialisation may not have finished */
  ts_time busy_until;      /* transmitter free from this time */
  ts_time last_arrival;
  ts_rng rng;
};

struct native_link {
  ts_link_id id;
  ts_link_params params;
  uint32_t epoch;
  struct ts_backend *backend;
  struct direction dir[2];
};

struct ts_backend {
  ts_world *world;
  ts_eventq *queue;
  struct native_link **links;
  uint32_t link_count, link_cap;
};

static int native_create(ts_backend **out, ts_world *w) {
  ts_backend *b = calloc(1, sizeof *b);
  if (!b) return TS_ENOMEM;
  b->world = w;
  int rc = ts_eventq_create(&b->queue);
  if (rc) {
    free(b);
    return rc;
  }
  *out = b;
  return TS_OK;
}

static void free_direction(ts_backend *b, struct direction *d) {
  while (d->head) {
    ts_packet *p = d->head;
    d->head = p->next;
    ts_packet_free(ts_world_pool(b->world), p);
  }
  free(d->meta);
}

static void free_links(ts_backend *b) {
  for (uint32_t i = 0; i < b->link_count; i++) {
    free_direction(b, &b->links[i]->dir[0]);
    free_direction(b, &b->links[i]->dir[1]);
    free(b->links[i]);
  }
  b->link_count = 0;
}

static void native_destroy(ts_backend *b) {
  free_links(b);
  free(b->links);
  ts_eventq_destroy(b->queue);
  free(b);
}

static void native_reset(ts_backend *b) {
  free_links(b);
  ts_eventq_reset(b->queue);
}

static ts_time native_now(const ts_backend *b) { return ts_eventq_now(b->queue); }

static int native_schedule(ts_backend *b, ts_time at, ts_event_fn fn, void *obj, uint64_t arg,
                           ts_event_id *id) {
  return ts_eventq_schedule(b->queue, at, fn, obj, arg, id);
}

static int native_schedule_in(ts_backend *b, ts_time delay, ts_event_fn fn, void *obj,
                              uint64_t arg, ts_event_id *id) {
  ts_time now = ts_eventq_now(b->queue);
  if (delay < 0) return TS_EINVAL;
  if (delay > TS_TIME_NEVER - now) return TS_ERANGE;
  return ts_eventq_schedule(b->queue, now + delay, fn, obj, arg, id);
}

static int native_cancel(ts_backend *b, ts_event_id id) { return ts_eventq_cancel(b->queue, id); }
static int native_run_until(ts_backend *b, ts_time until) { return ts_eventq_run_until(b->queue, until); }
static void native_stop(ts_backend *b) { ts_eventq_stop(b->queue); }
static uint64_t native_events_run(const ts_backend *b) { return ts_eventq_events_run(b->queue); }

static int native_link_create(ts_backend *b, const char *name, const ts_link_params *p,
                              ts_link_id *id) {
  if (p->mtu == 0 || p->queue_limit == 0 || p->delay < 0 || p->jitter < 0) return TS_EINVAL;
  if (b->link_count == b->link_cap) {
    uint32_t ncap = b->link_cap ? b->link_cap * 2 : 16;
    struct native_link **nl = realloc(b->links, (size_t)ncap * sizeof *nl);
    if (!nl) return TS_ENOMEM;
    b->links = nl;
    b->link_cap = ncap;
  }
  struct native_link *l = calloc(1, sizeof *l);
  if (!l) return TS_ENOMEM;
  l->id = b->link_count;
  l->params = *p;
  l->backend = b;
  for (int e = 0; e < 2; e++) {
    char stream[96];
    snprintf(stream, sizeof stream, LINK_STREAM_PREFIX "%s/%d", name, e);
    l->dir[e].link = l;
    l->dir[e].from_end = e;
    ts_world_rng(b->world, stream, &l->dir[e].rng);
  }
  b->links[b->link_count] = l;
  *id = b->link_count++;
  return TS_OK;
}

static int native_link_set_up(ts_backend *b, ts_link_id id, bool up) {
  if (id >= b->link_count) return TS_ENOENT;
  struct native_link *l = b->links[id];
  if (l->params.up && !up) l->epoch++;
  l->params.up = up;
  return TS_OK;
}

static struct in_flight *meta_at(const struct direction *d, uint64_t seq) {
  return &d->meta[seq & (d->meta_cap - 1)];
}

/* Packets still waiting for or in serialisation count against the queue limit;
 * packets already propagating do not. The cursor only moves forward. */
static uint64_t queued_at(struct direction *d, ts_time now) {
  if (d->wait_seq < d->head_seq) d->wait_seq = d->head_seq;
  while (d->wait_seq < d->next_seq && meta_at(d, d->wait_seq)->tx_end <= now) d->wait_seq++;
  return d->next_seq - d->wait_seq;
}

static int ensure_meta(struct direction *d) {
  uint64_t count = d->next_seq - d->head_seq;
  if (count < d->meta_cap) return TS_OK;
  uint32_t ncap = d->meta_cap ? d->meta_cap * 2 : 16;
  struct in_flight *nm = malloc((size_t)ncap * sizeof *nm);
  if (!nm) return TS_ENOMEM;
  for (uint64_t s = d->head_seq; s < d->next_seq; s++) nm[s & (ncap - 1)] = *meta_at(d, s);
  free(d->meta);
  d->meta = nm;
  d->meta_cap = ncap;
  return TS_OK;
}

static ts_time serialisation_time(uint64_t rate_bps, uint32_t len) {
  if (rate_bps == 0) return 0;
  /* Round up so that a packet never takes less than its bits at the rate. */
  __uint128_t bits_ns = (__uint128_t)len * 8u * (uint64_t)TS_SEC;
  return (ts_time)((bits_ns + rate_bps - 1) / rate_bps);
}

static void arrive(void *obj, uint64_t arg) {
  struct direction *d = obj;
  struct native_link *l = d->link;
  ts_backend *b = l->backend;
  (void)arg;
  ts_packet *p = d->head;
  struct in_flight m = *meta_at(d, d->head_seq++);
  d->head = p->next;
  if (!d->head) d->tail = NULL;
  p->next = NULL;
  if (m.epoch != l->epoch || !l->params.up)
    ts_world_link_dropped(b->world, l->id, d->from_end, p, "link-down");
  else if (m.lost)
    ts_world_link_dropped(b->world, l->id, d->from_end, p, "loss");
  else
    ts_world_link_deliver(b->world, l->id, 1 - d->from_end, p);
}

static int native_link_send(ts_backend *b, ts_link_id id, int from_end, ts_packet *pkt) {
  if (id >= b->link_count) {
    ts_packet_free(ts_world_pool(b->world), pkt);
    return TS_ENOENT;
  }
  struct native_link *l = b->links[id];
  struct direction *d = &l->dir[from_end];
  ts_time now = ts_eventq_now(b->queue);
  const char *why = NULL;
  if (!l->params.up) why = "link-down";
  else if (pkt->len > l->params.mtu) why = "mtu";
  else if (queued_at(d, now) >= l->params.queue_limit) why = "queue-full";
  if (why) {
    ts_world_link_dropped(b->world, id, from_end, pkt, why);
    return TS_OK;
  }
  int rc = ensure_meta(d);
  if (rc) {
    ts_packet_free(ts_world_pool(b->world), pkt);
    return rc;
  }
  ts_time start = d->busy_until > now ? d->busy_until : now;
  d->busy_until = start + serialisation_time(l->params.rate_bps, pkt->len);
  ts_time arrival = d->busy_until + l->params.delay;
  if (l->params.jitter > 0) {
    ts_time span = 2 * l->params.jitter + 1;
    arrival += (ts_time)ts_rng_below(&d->rng, (uint64_t)span) - l->params.jitter;
    if (arrival < d->busy_until) arrival = d->busy_until;
  }
  if (arrival < d->last_arrival) arrival = d->last_arrival;
  d->last_arrival = arrival;
  bool lost = ts_rng_chance(&d->rng, l->params.loss);
  rc = ts_eventq_schedule(b->queue, arrival, arrive, d, 0, NULL);
  if (rc) {
    ts_packet_free(ts_world_pool(b->world), pkt);
    return rc;
  }
  *meta_at(d, d->next_seq++) = (struct in_flight){d->busy_until, l->epoch, lost};
  pkt->next = NULL;
  if (d->tail) d->tail->next = pkt;
  else d->head = pkt;
  d->tail = pkt;
  return TS_OK;
}

const ts_backend_ops ts_native_backend = {
    .name = "native",
    .create = native_create,
    .destroy = native_destroy,
    .reset = native_reset,
    .now = native_now,
    .schedule = native_schedule,
    .schedule_in = native_schedule_in,
    .cancel = native_cancel,
    .run_until = native_run_until,
    .stop = native_stop,
    .events_run = native_events_run,
    .link_create = native_link_create,
    .link_set_up = native_link_set_up,
    .link_send = native_link_send,
};
