/* The interface table: see ts_os_iface.h. Fixed size; no allocation after create. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ts_os_iface.h"

typedef struct iface {
  char name[TS_OS_IFACE_NAME_MAX];
  ts_os_iface_type type;
  bool up;
  ts_ipprefix addrs[TS_OS_IFACE_MAX_ADDRS];
  size_t addr_count;
} iface;

struct ts_os_ifaces {
  iface items[TS_OS_MAX_IFACES];
  size_t count;
  int primary;
};

static const char *const type_names[TS_IFT_COUNT] = {"wifi", "cellular", "wired", "tunnel",
                                                     "loopback"};

const char *ts_os_iface_type_name(ts_os_iface_type t) {
  return (unsigned)t < TS_IFT_COUNT ? type_names[t] : NULL;
}

bool ts_os_iface_type_physical(ts_os_iface_type t) {
  return t == TS_IFT_WIFI || t == TS_IFT_CELLULAR || t == TS_IFT_WIRED;
}

int ts_os_ifaces_create(ts_os_ifaces **out) {
  if (!out) return TS_EINVAL;
  *out = calloc(1, sizeof **out);
  return *out ? 0 : TS_ENOMEM;
}

void ts_os_ifaces_destroy(ts_os_ifaces *t) { free(t); }

bool ts_os_iface_valid(const ts_os_ifaces *t, int index) {
  return t && index >= 1 && (size_t)index <= t->count;
}

static iface *get(ts_os_ifaces *t, int index) {
  return ts_os_iface_valid(t, index) ? &t->items[index - 1] : NULL;
}

static const iface *cget(const ts_os_ifaces *t, int index) {
  return ts_os_iface_valid(t, index) ? &t->items[index - 1] : NULL;
}

int ts_os_iface_add(ts_os_ifaces *t, const char *name, ts_os_iface_type type, int *index) {
  if (!t || !name || !*name || strlen(name) >= TS_OS_IFACE_NAME_MAX ||
      (unsigned)type >= TS_IFT_COUNT)
    return TS_EINVAL;
  if (ts_os_iface_find(t, name) > 0) return TS_EEXIST;
  if (t->count == TS_OS_MAX_IFACES) return TS_EFULL;
  iface *i = &t->items[t->count++];
  memset(i, 0, sizeof *i);
  snprintf(i->name, sizeof i->name, "%s", name);
  i->type = type;
  if (index) *index = (int)t->count;
  return 0;
}

int ts_os_iface_set_up(ts_os_ifaces *t, int index, bool up) {
  iface *i = get(t, index);
  if (!i) return TS_EINVAL;
  i->up = up;
  return 0;
}

int ts_os_iface_add_address(ts_os_ifaces *t, int index, const ts_ipprefix *addr) {
  iface *i = get(t, index);
  if (!i || !addr || (addr->addr.family != 4 && addr->addr.family != 6) ||
      addr->len > (addr->addr.family == 4 ? 32 : 128))
    return TS_EINVAL;
  if (i->addr_count == TS_OS_IFACE_MAX_ADDRS) return TS_EFULL;
  i->addrs[i->addr_count++] = *addr;
  return 0;
}

int ts_os_iface_clear_addresses(ts_os_ifaces *t, int index) {
  iface *i = get(t, index);
  if (!i) return TS_EINVAL;
  i->addr_count = 0;
  return 0;
}

int ts_os_iface_set_primary(ts_os_ifaces *t, int index) {
  if (!t || (index != 0 && !ts_os_iface_valid(t, index))) return TS_EINVAL;
  t->primary = index;
  return 0;
}

size_t ts_os_iface_count(const ts_os_ifaces *t) { return t ? t->count : 0; }
int ts_os_iface_primary(const ts_os_ifaces *t) { return t ? t->primary : 0; }

int ts_os_iface_find(const ts_os_ifaces *t, const char *name) {
  for (size_t k = 0; t && name && k < t->count; k++) {
    if (strcmp(t->items[k].name, name) == 0) return (int)k + 1;
  }
  return TS_ENOENT;
}

int ts_os_iface_find_up(const ts_os_ifaces *t, ts_os_iface_type type) {
  if (!t) return 0;
  const iface *p = cget(t, t->primary);
  if (p && p->up && p->type == type) return t->primary;
  for (size_t k = 0; k < t->count; k++) {
    if (t->items[k].up && t->items[k].type == type) return (int)k + 1;
  }
  return 0;
}

const char *ts_os_iface_name(const ts_os_ifaces *t, int index) {
  const iface *i = cget(t, index);
  return i ? i->name : "none";
}

ts_os_iface_type ts_os_iface_type_of(const ts_os_ifaces *t, int index) {
  const iface *i = cget(t, index);
  return i ? i->type : TS_IFT_COUNT;
}

bool ts_os_iface_is_up(const ts_os_ifaces *t, int index) {
  const iface *i = cget(t, index);
  return i && i->up;
}

size_t ts_os_iface_address_count(const ts_os_ifaces *t, int index) {
  const iface *i = cget(t, index);
  return i ? i->addr_count : 0;
}

const ts_ipprefix *ts_os_iface_address(const ts_os_ifaces *t, int index, size_t k) {
  const iface *i = cget(t, index);
  return i && k < i->addr_count ? &i->addrs[k] : NULL;
}

bool ts_os_iface_has_family(const ts_os_ifaces *t, int index, int family) {
  const iface *i = cget(t, index);
  for (size_t k = 0; i && k < i->addr_count; k++) {
    if (i->addrs[k].addr.family == family) return true;
  }
  return false;
}
