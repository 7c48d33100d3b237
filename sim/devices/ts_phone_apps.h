/* Traffic apps on the phone: ping (ICMP echo) and UDP request/response, each over
 * a phone socket with the API choice of the app (BSD socket or NWConnection) and
 * its scoping (IP_BOUND_IF, requiredInterface, requiredInterfaceType). The app
 * opens its socket at `start` and keeps it for its life (so a socket opened before
 * the tunnel stays a pre-existing one, GT-01/GT-02), sends `count` requests every
 * `interval`, and counts replies with their RTT. Servers are sim/net hosts (the
 * host stack answers echo; TS_NET_APP_UDP_ECHO_SERVER answers UDP).
 *
 * TCP apps use a phone TCP socket (a ts_tcp endpoint whose every segment takes the
 * phone's send path) against a sim/net TCP server (ts_tcp_server.h):
 *  - TCP_SHORT opens a new connection every `interval`, `count` times; each sends
 *    "GET <size>\n" once connected, reads the response (checked byte by byte
 *    against ts_tcp_content_byte), closes when the server has closed. A fetch
 *    completes when exactly `size` right bytes came before the server's FIN;
 *    its duration (open to FIN) is the RTT statistic.
 *  - TCP_LONG opens one connection at `start` and writes `size` bytes (<= 1024; the
 *    stream is ts_tcp_content_byte of its offset) every `interval`, `count` times,
 *    expecting an echo server to return them; a write is answered when all its
 *    bytes came back right (RTT: write to last byte). After the last write is
 *    answered it closes. If the connection ends early (reset, timeout) the app
 *    reconnects at its next write when `reconnect` is set, else stops writing
 *    (each missed write counts as a send error). */
#ifndef TS_PHONE_APPS_H
#define TS_PHONE_APPS_H

#include "ts_phone.h"

typedef enum ts_phone_app_kind {
  TS_PHONE_APP_PING = 0,
  TS_PHONE_APP_UDP_REQUEST,
  TS_PHONE_APP_TCP_SHORT, /* GET <size> per connection, a new connection per request */
  TS_PHONE_APP_TCP_LONG,  /* one long-lived connection, size bytes echoed per interval */
  TS_PHONE_APP_DNS,       /* A lookups of query_name through the system resolver */
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
  uint16_t port;                 /* UDP, TCP: the server's port */
  ts_time start, interval;
  uint32_t count, size;          /* requests; payload bytes (<= 1024; TCP_SHORT: response
                                    bytes asked for, any size the server allows) */
  const ts_tcp_config *tcp;      /* TCP: timers, retries, keepalive (NULL: defaults); copied */
  bool reconnect;                /* TCP_LONG: reconnect after the connection ended */
  /* DNS: the name looked up (< 254 bytes). The resolver asked is the VPN's first DNS
   * server while tunnel settings are applied, else `target` (the interface's resolver;
   * family 0: none, and the lookup is refused). */
  const char *query_name;
} ts_phone_app_config;

typedef struct ts_phone_app_stats {
  uint32_t sent;         /* accepted by the API (silent failures included) */
  uint32_t send_errors;  /* refused by the API (ENETUNREACH, ENOTCONN) */
  uint32_t received;
  ts_time rtt_min, rtt_max, rtt_sum;
  ts_verdict last_verdict; /* of the last send (not for TCP apps: see the phone's trace) */
  bool open_failed;
  /* TCP apps. received counts completed fetches (SHORT) or answered writes (LONG). */
  uint32_t tcp_opened;      /* sockets opened (SYN sent or waiting for a path) */
  uint32_t tcp_open_errors; /* ts_phone_socket_open refused (ENETUNREACH, table full) */
  uint32_t tcp_established; /* handshakes completed */
  uint32_t tcp_closed[TS_TCP_REASON_ABORTED + 1]; /* connections that ended, by ts_tcp_reason */
  uint64_t bytes_sent;      /* payload bytes the app wrote (request lines, LONG writes) */
  uint64_t bytes_received;  /* payload bytes that arrived */
  uint64_t bytes_echoed;    /* LONG: received bytes that matched what was written */
  uint32_t content_errors;  /* received bytes that did not match */
} ts_phone_app_stats;

typedef struct ts_phone_app ts_phone_app;

/* Schedules the app (attached to the phone's world). */
int ts_phone_add_app(ts_phone *ph, const ts_phone_app_config *cfg, ts_phone_app **out);
void ts_phone_app_get_stats(const ts_phone_app *a, ts_phone_app_stats *out);
/* The app's socket: 0 before start; for TCP apps the latest connection's (it may
 * have closed since). */
ts_sock_id ts_phone_app_socket(const ts_phone_app *a);

#endif
