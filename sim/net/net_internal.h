/* Shared between host.c and apps.c; not part of the public API. */
#ifndef TS_NET_INTERNAL_H
#define TS_NET_INTERNAL_H

#include "ts_net.h"

#define TS_HOST_MAX_IFACES 16
#define TS_HOST_MAX_ROUTES 32
#define TS_HOST_MAX_UDP_BINDINGS 16

struct host_route {
  ts_ipprefix dst;
  uint32_t iface;
};

struct udp_binding {
  uint16_t port;
  ts_host_udp_fn fn;
  void *ctx;
};

struct host_iface {
  char name[TS_NET_NAME_MAX];
  char full_name[2 * TS_NET_NAME_MAX]; /* "host/iface", the trace name */
  ts_ipprefix addrs[TS_NET_MAX_ADDRESSES];
  uint32_t addr_count;
  bool attached;
  ts_link_id link;
  int end;
  ts_host *host;
};

struct ts_host {
  ts_net *net;
  char name[TS_NET_NAME_MAX];
  struct host_iface ifaces[TS_HOST_MAX_IFACES];
  uint32_t iface_count;
  struct host_route routes[TS_HOST_MAX_ROUTES];
  uint32_t route_count;
  struct udp_binding udp[TS_HOST_MAX_UDP_BINDINGS];
  uint32_t udp_count;
  ts_host_local_fn local;
  void *local_ctx;
  ts_host_transit_fn transit;
  void *transit_ctx;
  bool forwarding;
};

struct net_app {
  ts_app_config cfg;
  char name[TS_NET_NAME_MAX];
  ts_host *host;
  uint16_t ident;      /* ICMP identifier or UDP source port */
  ts_app_stats stats;
};

struct ts_net {
  ts_world *world;
  ts_host **hosts;
  uint32_t host_count, host_cap;
  struct net_app **apps;
  uint32_t app_count, app_cap;
  uint64_t unrouted;
  uint8_t scratch[TS_PACKET_MAX]; /* request payloads are built here */
};

void ts_net_release(void *obj);
bool host_owns(const ts_host *h, const ts_ipaddr *a);
void host_send(ts_host *h, ts_packet *p);
/* A UDP binding of h for the port, or NULL. */
const struct udp_binding *host_udp_binding(const ts_host *h, uint16_t port);
void host_receive(void *ctx, ts_packet *p);
/* Local delivery of a parsed packet addressed to h; the caller frees p. */
void apps_deliver(ts_host *h, const ts_ip_info *info, const ts_packet *p);

#endif
