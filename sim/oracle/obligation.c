/* Obligations: a fixed table searched by name. The run has a handful (tunnel,
 * monitor, download), so a linear search is the simple choice. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ts_obligation.h"

struct ts_obligations {
  ts_obligation *items;
  size_t count, capacity;
};

int ts_obligations_create(size_t capacity, ts_obligations **out) {
  if (!out || capacity == 0) return TS_EINVAL;
  ts_obligations *o = calloc(1, sizeof *o);
  if (!o) return TS_ENOMEM;
  o->items = calloc(capacity, sizeof *o->items);
  if (!o->items) {
    free(o);
    return TS_ENOMEM;
  }
  o->capacity = capacity;
  *out = o;
  return TS_OK;
}

void ts_obligations_destroy(ts_obligations *o) {
  if (!o) return;
  free(o->items);
  free(o);
}

void ts_obligations_reset(ts_obligations *o) { o->count = 0; }

static ts_obligation *lookup(const ts_obligations *o, const char *name) {
  for (size_t i = 0; i < o->count; i++)
    if (!strcmp(o->items[i].name, name)) return &o->items[i];
  return NULL;
}

int ts_obligations_add(ts_obligations *o, const char *name, ts_time deadline) {
  if (!name || !name[0] || strlen(name) >= TS_OBLIGATION_NAME) return TS_EINVAL;
  if (lookup(o, name)) return TS_EEXIST;
  if (o->count == o->capacity) return TS_EFULL;
  ts_obligation *ob = &o->items[o->count++];
  snprintf(ob->name, sizeof ob->name, "%s", name);
  ob->deadline = deadline;
  ob->met = TS_TIME_NEVER;
  return TS_OK;
}

int ts_obligations_meet(ts_obligations *o, const char *name, ts_time t) {
  ts_obligation *ob = name ? lookup(o, name) : NULL;
  if (!ob) return TS_ENOENT;
  if (t < ob->met) ob->met = t;
  return TS_OK;
}

size_t ts_obligations_count(const ts_obligations *o) { return o->count; }

const ts_obligation *ts_obligations_get(const ts_obligations *o, size_t i) {
  return i < o->count ? &o->items[i] : NULL;
}

const ts_obligation *ts_obligations_find(const ts_obligations *o, const char *name) {
  return name ? lookup(o, name) : NULL;
}

bool ts_obligation_is_missed(const ts_obligation *ob, ts_time now) {
  return now > ob->deadline && ob->met > ob->deadline;
}

size_t ts_obligations_missed(const ts_obligations *o, ts_time now, const ts_obligation **out,
                             size_t max) {
  size_t missed = 0;
  for (size_t i = 0; i < o->count; i++) {
    if (!ts_obligation_is_missed(&o->items[i], now)) continue;
    if (out && missed < max) out[missed] = &o->items[i];
    missed++;
  }
  return missed;
}
