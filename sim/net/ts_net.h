/* The simulated network outside the phone: hosts with interfaces and addresses on
 * point-to-point links, each with a minimal IP stack (ICMP echo, UDP), and the
 * traffic apps of schema v1 (ping, UDP echo server and client). A ts_net belongs to
 * one world and is released with it. */
#ifndef TS_NET_H
#define TS_NET_H

#include <stdbool.h>
#include <stdint.h>

#include "ts_ipsum.h"
#include "ts_world.h"

#define TS_NET_NAME_MAX 64
#define TS_NET_MAX_ADDRESSES 8

typedef struct ts_net ts_net;
typedef struct ts_host ts_host;

typedef enum ts_app_kind { TS_NET_APP_PING, TS_NET_APP_UDP_ECHO_SERVER, TS_NET_APP_UDP_ECHO_CLIENT } ts_app_kind;

typedef struct ts_app_config {
  const char *name;
  ts_app_kind kind;
  ts_ipaddr target;  /* ping and client */
  uint16_t port;     /* echo server and client */
  ts_time start, interval;
  uint32_t count, size;
} ts_app_config;

typedef struct ts_app_stats {
  const char *name;
  const char *host;
  ts_app_kind kind;
  uint32_t sent, received, answered; /* answered: requests a server replied to */
  ts_time rtt_min, rtt_max, rtt_sum;
} ts_app_stats;

/* Creates the network and attaches it to the world (freed by reset or destroy). */
int ts_net_create(ts_world *w, ts_net **out);
int ts_net_add_host(ts_net *net, const char *name, ts_host **out);
int ts_host_add_interface(ts_host *h, const char *name, const ts_ipprefix *addrs, uint32_t n,
                          uint32_t *iface);
/* Connects interface `ia` of host a with interface `ib` of host b by a new link. */
int ts_net_connect(ts_net *net, const char *link_name, const ts_link_params *p, ts_host *a,
                   uint32_t ia, ts_host *b, uint32_t ib, ts_link_id *id);
/* Connects interface `iface` of host h (end 0) to a device that is not a host, such
 * as the phone (end 1: its receive callback and trace name). */
int ts_net_connect_device(ts_net *net, const char *link_name, const ts_link_params *p, ts_host *h,
                          uint32_t iface, const ts_link_end *device_end, ts_link_id *id);
int ts_net_add_app(ts_net *net, ts_host *h, const ts_app_config *cfg);

/* ---- the host's stack, for the devices built on hosts (servers, relays, routers) */

/* A datagram for a bound UDP port of one of the host's addresses. `info` describes
 * the packet, `payload` its UDP payload; the packet stays the caller's. */
typedef void (*ts_host_udp_fn)(void *ctx, ts_host *h, const ts_ip_info *info,
                               const uint8_t *payload, uint32_t len);
/* Sees every arriving packet that is not for the host itself, before forwarding.
 * Returns true if it took the packet (and then owns it). */
typedef bool (*ts_host_transit_fn)(void *ctx, ts_host *h, uint32_t iface_in, ts_packet *pkt);

/* Sees every arriving packet addressed to the host itself, before the host's own
 * stack (echo, UDP bindings, apps): NAT return traffic, tunnels. Returns true if it
 * took the packet (and then owns it). */
typedef bool (*ts_host_local_fn)(void *ctx, ts_host *h, const ts_ip_info *info, ts_packet *pkt);

int ts_host_bind_udp(ts_host *h, uint16_t port, ts_host_udp_fn fn, void *ctx);
void ts_host_set_local_hook(ts_host *h, ts_host_local_fn fn, void *ctx);
void ts_host_set_transit_hook(ts_host *h, ts_host_transit_fn fn, void *ctx);
/* A router: packets for other addresses are forwarded by the routing table, TTL or
 * hop limit decremented (dropped and traced at zero). Hosts do not forward by default. */
void ts_host_set_forwarding(ts_host *h, bool on);
/* A static route out of interface `iface`; a /0 prefix is a default route. The
 * longest matching prefix wins among on-link prefixes and static routes. */
int ts_host_add_route(ts_host *h, const ts_ipprefix *dst, uint32_t iface);
/* Routes and sends a complete IP packet; takes ownership. */
void ts_host_send(ts_host *h, ts_packet *pkt);
/* Sends out of one interface whatever the routes say (a broadcast on one link);
 * takes ownership. TS_EINVAL for an interface on no link. */
int ts_host_send_via(ts_host *h, uint32_t iface, ts_packet *pkt);
/* The address the host would send from towards dst; false if it has no route. */
bool ts_host_source_for(ts_host *h, const ts_ipaddr *dst, ts_ipaddr *src);
ts_world *ts_host_world(const ts_host *h);
const char *ts_host_name(const ts_host *h);
ts_host *ts_net_find_host(const ts_net *net, const char *name);

uint32_t ts_net_app_count(const ts_net *net);
void ts_net_app_stats(const ts_net *net, uint32_t i, ts_app_stats *out);
/* Packets a host could not route or did not want (counted, also traced as events). */
uint64_t ts_net_unrouted(const ts_net *net);

#endif
