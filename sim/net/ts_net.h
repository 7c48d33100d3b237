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
int ts_net_add_app(ts_net *net, ts_host *h, const ts_app_config *cfg);

uint32_t ts_net_app_count(const ts_net *net);
void ts_net_app_stats(const ts_net *net, uint32_t i, ts_app_stats *out);
/* Packets a host could not route or did not want (counted, also traced as events). */
uint64_t ts_net_unrouted(const ts_net *net);

#endif
