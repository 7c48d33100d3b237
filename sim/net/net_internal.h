/* Shared between host.c and apps.c; not part of the public API. */
#ifndef TS_NET_INTERNAL_H
#define TS_NET_INTERNAL_H

#include "ts_net.h"

#define TS_HOST_MAX_IFACES 16

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
bool host_source_for(ts_host *h, const ts_ipaddr *dst, ts_ipaddr *src);
void host_send(ts_host *h, ts_packet *p);
void host_receive(void *ctx, ts_packet *p);
/* Local delivery of a parsed packet addressed to h; the caller frees p. */
void apps_deliver(ts_host *h, const ts_ip_info *info, const ts_packet *p);

#endif
