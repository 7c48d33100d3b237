/* Traffic apps on the phone: ping (ICMP echo) and UDP request/response, each over
 * a phone socket with the API choice of the app (BSD socket or NWConnection) and
 * its scoping (IP_BOUND_IF, requiredInterface, requiredInterfaceType). The app
 * opens its socket at `start` and keeps it for its life (so a socket opened before
 * the tunnel stays a pre-existing one, GT-01/GT-02), sends `count` requests every
 * `interval`, and counts replies with their RTT. Servers are sim/net hosts (the
 * host stack answers echo; TS_NET_APP_UDP_ECHO_SERVER answers UDP).
 *
 * TCP apps come with the TCP endpoint (sim/net/ts_tcp.h, another issue): the seam
 * is TS_PHONE_APP_TCP_* below, rejected with TS_ENOTSUP until then, and a phone
 * socket proto TS_IPPROTO_TCP in ts_phone.h. */
#ifndef TS_PHONE_APPS_H
#define TS_PHONE_APPS_H

#include "ts_phone.h"

typedef enum ts_phone_app_kind {
  TS_PHONE_APP_PING = 0,
  TS_PHONE_APP_UDP_REQUEST,
  TS_PHONE_APP_TCP_SHORT, /* not yet: TS_ENOTSUP */
  TS_PHONE_APP_TCP_LONG,  /* not yet: TS_ENOTSUP */
} ts_phone_app_kind;

typedef struct ts_phone_app_config {
  const char *name;              /* trace subject; < TS_PHONE_NAME_MAX */
  ts_phone_app_kind kind;
  ts_traffic_class owner;        /* TS_TC_APP for an ordinary app */
  ts_sock_api api;               /* BSD or NWConnection */
  const char *bound_if;          /* BSD IP_BOUND_IF (NULL: none) */
  const char *required_if;       /* NWConnection requiredInterface (NULL: none) */
  bool has_required_type;        /* NWConnection requiredInterfaceType */
  ts_os_iface_type required_type;
  ts_ipaddr target;
  uint16_t port;                 /* UDP: the server's port */
  ts_time start, interval;
  uint32_t count, size;          /* requests; payload bytes (<= 1024) */
} ts_phone_app_config;

typedef struct ts_phone_app_stats {
  uint32_t sent;         /* accepted by the API (silent failures included) */
  uint32_t send_errors;  /* refused by the API (ENETUNREACH, ENOTCONN) */
  uint32_t received;
  ts_time rtt_min, rtt_max, rtt_sum;
  ts_verdict last_verdict; /* of the last send */
  bool open_failed;
} ts_phone_app_stats;

typedef struct ts_phone_app ts_phone_app;

/* Schedules the app (attached to the phone's world). */
int ts_phone_add_app(ts_phone *ph, const ts_phone_app_config *cfg, ts_phone_app **out);
void ts_phone_app_get_stats(const ts_phone_app *a, ts_phone_app_stats *out);
ts_sock_id ts_phone_app_socket(const ts_phone_app *a); /* 0 before start */

#endif
