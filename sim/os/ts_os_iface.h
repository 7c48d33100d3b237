/* The device's network interfaces: Wi-Fi (en0), cellular (pdp_ip0), wired, the
 * tunnel (utun), loopback. Each has a type, an up/down state, IPv4/IPv6 addresses
 * with their on-link prefix length, and one of them is the primary interface.
 * Interfaces are numbered from 1 like if_index; 0 means "no interface". */
#ifndef TS_OS_IFACE_H
#define TS_OS_IFACE_H

#include <stdbool.h>
#include <stddef.h>

#include "ts_error.h"
#include "ts_ipsum.h"

#define TS_OS_MAX_IFACES 16
#define TS_OS_IFACE_MAX_ADDRS 8
#define TS_OS_IFACE_NAME_MAX 16

typedef enum ts_os_iface_type {
  TS_IFT_WIFI = 0,
  TS_IFT_CELLULAR,
  TS_IFT_WIRED,
  TS_IFT_TUNNEL,
  TS_IFT_LOOPBACK,
  TS_IFT_COUNT
} ts_os_iface_type;

typedef struct ts_os_ifaces ts_os_ifaces;

const char *ts_os_iface_type_name(ts_os_iface_type t); /* "wifi", "cellular", ... */
/* Wi-Fi, cellular and wired: the interfaces that leave the device. */
bool ts_os_iface_type_physical(ts_os_iface_type t);

int ts_os_ifaces_create(ts_os_ifaces **out);
void ts_os_ifaces_destroy(ts_os_ifaces *t);

/* Adds a down interface without addresses; *index (may be NULL) gets its number.
 * TS_EEXIST for a duplicate name, TS_EFULL past TS_OS_MAX_IFACES. */
int ts_os_iface_add(ts_os_ifaces *t, const char *name, ts_os_iface_type type, int *index);
int ts_os_iface_set_up(ts_os_ifaces *t, int index, bool up);
/* An address with its on-link prefix length, e.g. 192.168.1.20/24. */
int ts_os_iface_add_address(ts_os_ifaces *t, int index, const ts_ipprefix *addr);
int ts_os_iface_clear_addresses(ts_os_ifaces *t, int index);
/* 0 clears the primary interface. */
int ts_os_iface_set_primary(ts_os_ifaces *t, int index);

size_t ts_os_iface_count(const ts_os_ifaces *t);
bool ts_os_iface_valid(const ts_os_ifaces *t, int index);
int ts_os_iface_primary(const ts_os_ifaces *t); /* 0 when none */
int ts_os_iface_find(const ts_os_ifaces *t, const char *name);  /* index or TS_ENOENT */
/* The first interface of that type that is up, the primary one first; 0 if none. */
int ts_os_iface_find_up(const ts_os_ifaces *t, ts_os_iface_type type);
const char *ts_os_iface_name(const ts_os_ifaces *t, int index);
ts_os_iface_type ts_os_iface_type_of(const ts_os_ifaces *t, int index);
bool ts_os_iface_is_up(const ts_os_ifaces *t, int index);
size_t ts_os_iface_address_count(const ts_os_ifaces *t, int index);
const ts_ipprefix *ts_os_iface_address(const ts_os_ifaces *t, int index, size_t i);
/* Whether the interface has an address of that family (4 or 6). */
bool ts_os_iface_has_family(const ts_os_ifaces *t, int index, int family);

#endif
