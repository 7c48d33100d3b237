/* ts_netstack_dev: a ts_netstack instance hosted as a device on a simulated link,
 * so that real lwIP talks to hosts (sim/net) or to another instance through the
 * world's links, with loss, delay and the trace (tx/rx records, pcapng).
 *
 * The device is one interface, "<name>/<ifname>" in the trace: whatever the stack
 * sends leaves through that end of the link, whatever arrives goes into the stack.
 * It is attached to the world (ts_world_reset and ts_world_destroy free it and its
 * stack). */
#ifndef TS_NETSTACK_DEVICE_H
#define TS_NETSTACK_DEVICE_H

#include <stdint.h>

#include "ts_net.h"
#include "ts_netstack.h"
#include "ts_world.h"

typedef struct ts_netstack_dev ts_netstack_dev;

typedef struct ts_netstack_dev_config {
  const char *name;    /* device (and stack) name, < TS_NETSTACK_NAME_MAX */
  const char *ifname;  /* interface name in the trace; NULL = "lwip0" */
  /* The stack's seed; 0 = the first draw of the world's stream "netstack/<name>". */
  uint64_t seed;
  ts_ipprefix addr4, addr6; /* as in ts_netstack_config (one of them at least) */
  uint16_t mtu;        /* 0 = TS_NETSTACK_DEFAULT_MTU */
} ts_netstack_dev_config;

typedef struct ts_netstack_dev_stats {
  uint64_t sent, received;
  uint64_t unattached_drops; /* packets the stack sent before the device had a link */
} ts_netstack_dev_stats;

/* Creates the device and its stack. TS_EINVAL, TS_EFULL (no lwIP instance left),
 * TS_ENOMEM. */
int ts_netstack_dev_create(ts_world *w, const ts_netstack_dev_config *cfg, ts_netstack_dev **out);
ts_netstack *ts_netstack_dev_stack(const ts_netstack_dev *d);
/* The device's end of a link, for ts_world_link_create or ts_net_connect_device. */
void ts_netstack_dev_link_end(ts_netstack_dev *d, ts_link_end *out);
/* Sends from end `end` of `link` from now on (after the link was made with the end
 * above). TS_EINVAL for an end other than 0 or 1. */
int ts_netstack_dev_attach(ts_netstack_dev *d, ts_link_id link, int end);
/* A new link between two devices (a at end 0, b at end 1), both attached. */
int ts_netstack_dev_connect(ts_world *w, const char *link_name, const ts_link_params *p,
                            ts_netstack_dev *a, ts_netstack_dev *b, ts_link_id *id);
/* A new link between interface `iface` of host h and the device, attached. */
int ts_netstack_dev_connect_host(ts_net *net, const char *link_name, const ts_link_params *p,
                                 ts_host *h, uint32_t iface, ts_netstack_dev *d, ts_link_id *id);
/* The stack's ts_netstack_reset with `seed` (0: the next draw of the device's stream). */
int ts_netstack_dev_reset(ts_netstack_dev *d, uint64_t seed);
void ts_netstack_dev_stats_get(const ts_netstack_dev *d, ts_netstack_dev_stats *out);

#endif
