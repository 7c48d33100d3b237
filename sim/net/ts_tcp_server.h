/* A TCP server on a host (web-like or APNs-like), built on ts_tcp_host.
 *
 * REQUEST mode: each connection sends one line "GET <n>\n"; the server answers with
 * n bytes of deterministic content (ts_tcp_content_byte) and closes. A malformed
 * line or one longer than TS_TCP_SERVER_LINE_MAX is answered by a RST.
 * ECHO mode (long-lived, APNs-like): every byte is echoed back; the server closes
 * when the client does. Bytes that do not fit the send buffer are dropped and
 * counted (clients of an echo server keep their requests small).
 *
 * A server belongs to one world and is released with it. */
#ifndef TS_TCP_SERVER_H
#define TS_TCP_SERVER_H

#include <stddef.h>
#include <stdint.h>

#include "ts_tcp_host.h"

#define TS_TCP_SERVER_LINE_MAX 64
#define TS_TCP_SERVER_MAX_CONNECTIONS 64
#define TS_TCP_SERVER_MAX_RESPONSE (64ull << 20)

typedef enum ts_tcp_server_mode { TS_TCP_SERVER_REQUEST, TS_TCP_SERVER_ECHO } ts_tcp_server_mode;

typedef struct ts_tcp_server_config {
  const char *name;
  uint16_t port;
  ts_tcp_server_mode mode;
  uint32_t max_connections; /* concurrent; more are refused with RST; 0 = default */
  uint64_t max_response;    /* largest n a GET may ask for; 0 = default */
  ts_tcp_config tcp;        /* timers, window, keepalive of accepted connections;
                               addresses, ports, callbacks are the server's */
} ts_tcp_server_config;

typedef struct ts_tcp_server_stats {
  uint64_t accepted, refused;        /* refused: no free connection slot */
  uint64_t requests, bad_requests;   /* REQUEST mode */
  uint64_t responses_done;           /* responses whose last byte was queued */
  uint64_t bytes_received, bytes_sent, echo_dropped;
  uint64_t retransmissions;          /* summed over closed connections */
  uint64_t closed[TS_TCP_REASON_ABORTED + 1]; /* by ts_tcp_reason */
} ts_tcp_server_stats;

typedef struct ts_tcp_server ts_tcp_server;

int ts_tcp_server_create(ts_tcp_host *t, const ts_tcp_server_config *cfg, ts_tcp_server **out);
void ts_tcp_server_get_stats(const ts_tcp_server *s, ts_tcp_server_stats *out);

/* The response content: byte `offset` of every answer (clients check with it). */
uint8_t ts_tcp_content_byte(uint64_t offset);
void ts_tcp_content_fill(uint8_t *buf, uint64_t offset, size_t n);

#endif
