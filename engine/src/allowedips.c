/* allowedips.c: cryptokey routing. Each family keeps its prefixes sorted longest
 * first, so the first prefix that contains an address is its longest match.
 * Inserts may allocate (configuration time); lookups never do. */
#include "allowedips.h"

#include <stdlib.h>
#include <string.h>

#include "wg.h"

static size_t family_bytes(int family) { return family == 6 ? 16 : 4; }

static wg_allowedips_list *list_for(wg_allowedips *t, int family) {
  return family == 6 ? &t->v6 : &t->v4;
}

static void mask_prefix(uint8_t out[16], const uint8_t *addr, size_t nbytes, uint8_t cidr) {
  memset(out, 0, 16);
  for (size_t i = 0; i < nbytes; i++) {
    int bits = (int)cidr - (int)(8 * i);
    if (bits >= 8)
      out[i] = addr[i];
    else if (bits > 0)
      out[i] = addr[i] & (uint8_t)(0xFF << (8 - bits));
  }
}

static int prefix_contains(const wg_allowedip *e, const uint8_t *addr, size_t nbytes) {
  uint8_t masked[16];
  mask_prefix(masked, addr, nbytes, e->cidr);
  return memcmp(masked, e->addr, nbytes) == 0;
}

int wg_allowedips_insert(wg_allowedips *t, int family, const uint8_t *addr, uint8_t cidr,
                         struct wg_peer *peer) {
  if ((family != 4 && family != 6) || !addr || cidr > 8 * family_bytes(family)) return WG_EINVAL;
  wg_allowedips_list *l = list_for(t, family);
  uint8_t masked[16];
  mask_prefix(masked, addr, family_bytes(family), cidr);
  for (size_t i = 0; i < l->count; i++) {
    if (l->entries[i].cidr == cidr && memcmp(l->entries[i].addr, masked, 16) == 0) {
      l->entries[i].peer = peer; /* a prefix belongs to exactly one peer */
      return WG_OK;
    }
  }
  if (l->count == l->cap) {
    size_t cap = l->cap ? 2 * l->cap : 8;
    wg_allowedip *grown = realloc(l->entries, cap * sizeof *grown);
    if (!grown) return WG_ENOMEM;
    l->entries = grown;
    l->cap = cap;
  }
  size_t pos = 0;
  while (pos < l->count && l->entries[pos].cidr >= cidr) pos++;
  memmove(&l->entries[pos + 1], &l->entries[pos], (l->count - pos) * sizeof *l->entries);
  memcpy(l->entries[pos].addr, masked, 16);
  l->entries[pos].cidr = cidr;
  l->entries[pos].peer = peer;
  l->count++;
  return WG_OK;
}

struct wg_peer *wg_allowedips_lookup(const wg_allowedips *t, int family, const uint8_t *addr) {
  if (family != 4 && family != 6) return NULL;
  const wg_allowedips_list *l = family == 6 ? &t->v6 : &t->v4;
  for (size_t i = 0; i < l->count; i++)
    if (prefix_contains(&l->entries[i], addr, family_bytes(family))) return l->entries[i].peer;
  return NULL;
}

static void remove_from_list(wg_allowedips_list *l, const struct wg_peer *peer) {
  size_t kept = 0;
  for (size_t i = 0; i < l->count; i++)
    if (l->entries[i].peer != peer) l->entries[kept++] = l->entries[i];
  l->count = kept;
}

void wg_allowedips_remove_peer(wg_allowedips *t, const struct wg_peer *peer) {
  remove_from_list(&t->v4, peer);
  remove_from_list(&t->v6, peer);
}

static size_t list_peer(const wg_allowedips_list *l, int family, const struct wg_peer *peer,
                        wg_allowed_ip *out, size_t max, size_t n) {
  for (size_t i = 0; i < l->count; i++) {
    if (l->entries[i].peer != peer) continue;
    if (n < max) {
      out[n].family = (uint8_t)family;
      out[n].cidr = l->entries[i].cidr;
      memcpy(out[n].addr, l->entries[i].addr, sizeof out[n].addr);
    }
    n++;
  }
  return n;
}

size_t wg_allowedips_list_peer(const wg_allowedips *t, const struct wg_peer *peer,
                               wg_allowed_ip *out, size_t max) {
  size_t n = list_peer(&t->v4, 4, peer, out, max, 0);
  return list_peer(&t->v6, 6, peer, out, max, n);
}

void wg_allowedips_free(wg_allowedips *t) {
  free(t->v4.entries);
  free(t->v6.entries);
  memset(t, 0, sizeof *t);
}
