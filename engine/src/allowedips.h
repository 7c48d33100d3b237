/* allowedips.h: cryptokey routing table, IPv4 and IPv6 longest-prefix match -> peer. */
#ifndef TSENGINE_ALLOWEDIPS_H
#define TSENGINE_ALLOWEDIPS_H

#include <stddef.h>
#include <stdint.h>

struct wg_peer;

typedef struct wg_allowedip {
  uint8_t addr[16];        /* masked to cidr */
  uint8_t cidr;
  struct wg_peer *peer;
} wg_allowedip;

/* One list per family, kept sorted by prefix length (longest first), so the first
 * match is the longest. Lookups are linear in the number of prefixes. */
typedef struct wg_allowedips_list {
  wg_allowedip *entries;
  size_t count, cap;
} wg_allowedips_list;

typedef struct wg_allowedips {
  wg_allowedips_list v4, v6;
} wg_allowedips;

int wg_allowedips_insert(wg_allowedips *t, int family, const uint8_t *addr, uint8_t cidr,
                         struct wg_peer *peer);
struct wg_peer *wg_allowedips_lookup(const wg_allowedips *t, int family, const uint8_t *addr);
void wg_allowedips_remove_peer(wg_allowedips *t, const struct wg_peer *peer);
/* Copies up to `max` of the peer's prefixes (IPv4 first, then IPv6, each longest
 * first) and returns how many it has in all. */
struct wg_allowed_ip;
size_t wg_allowedips_list_peer(const wg_allowedips *t, const struct wg_peer *peer,
                               struct wg_allowed_ip *out, size_t max);
void wg_allowedips_free(wg_allowedips *t);

#endif
