/* A small deterministic TCP endpoint (RFC 9293) for the simulated apps and servers.
 *
 * Sans-IO in spirit: a connection is fed whole TCP segments with ts_tcp_input() and
 * emits complete IPv4/IPv6 packets through the send_ip callback given at creation,
 * so a plain host (ts_tcp_host.h) and the phone's socket layer can both drive it.
 * Time comes from the world: each connection keeps at most one pending world event
 * (retransmission, keepalive or TIME_WAIT), cancelled when it closes.
 *
 * Deliberately small: 3-way handshake with the MSS option, in-order data with
 * cumulative ACKs and a fixed receive window, go-back-N retransmission on timeout
 * with exponential backoff from a fixed initial RTO (no RTT estimation), FIN both
 * ways, RST handling (RFC 9293 §3.10.7, RFC 5961 challenge ACKs), keepalive. No
 * congestion control, no SACK, no window scaling, no out-of-order buffering (the
 * sender's retransmission recovers), no urgent data, no persist timer.
 *
 * Memory: the send buffer is allocated at creation; segments are built straight into
 * packets from the world's pool. Received bytes go to on_data at once (no receive
 * buffer), which is why the advertised window can stay fixed. */
#ifndef TS_TCP_H
#define TS_TCP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "ts_ipsum.h"
#include "ts_world.h"

/* ---- protocol and model constants (one place; sources cited) ---------------- */

#define TS_TCP_HEADER 20             /* RFC 9293 §3.1, no options */
#define TS_TCP_CHECKSUM_AT 16        /* RFC 9293 §3.1: checksum field offset */
#define TS_TCP_OPT_EOL 0             /* RFC 9293 §3.2 */
#define TS_TCP_OPT_NOP 1
#define TS_TCP_OPT_MSS 2
#define TS_TCP_OPT_MSS_LEN 4
#define TS_TCP_FLAG_FIN 0x01         /* RFC 9293 §3.1 control bits */
#define TS_TCP_FLAG_SYN 0x02
#define TS_TCP_FLAG_RST 0x04
#define TS_TCP_FLAG_PSH 0x08
#define TS_TCP_FLAG_ACK 0x10
#define TS_TCP_FLAG_URG 0x20
#define TS_TCP_DEFAULT_MSS4 536      /* RFC 9293 §3.7.1: assumed when no MSS option */
#define TS_TCP_DEFAULT_MSS6 1220     /* RFC 8200 §5 minimum MTU 1280 - 60 */
#define TS_TCP_MSS4_1500 1460        /* 1500 - 20 (IPv4) - 20 (TCP) */
#define TS_TCP_MSS6_1500 1440        /* 1500 - 40 (IPv6) - 20 (TCP) */
#define TS_TCP_MAX_WINDOW 65535      /* no window scaling (RFC 7323 not implemented) */
#define TS_TCP_RTO_INITIAL TS_SEC    /* RFC 6298 §2.1 */
#define TS_TCP_RTO_MAX (60 * TS_SEC) /* RFC 6298 §2.5 allows an upper bound >= 60 s */
#define TS_TCP_SYN_RETRIES 6         /* Linux tcp_syn_retries default */
#define TS_TCP_DATA_RETRIES 15       /* Linux tcp_retries2 default */
/* 2*MSL (RFC 9293 §3.4.2) shortened for simulation, yet longer than the peer's first
 * four backed-off retransmission intervals (1, 2, 4, 8 s), so that a lost last ACK is
 * answered again rather than by a RST from CLOSED. */
#define TS_TCP_TIME_WAIT_DEFAULT (10 * TS_SEC)
#define TS_TCP_KEEPALIVE_IDLE (60 * TS_SEC)   /* model default; RFC 1122 §4.2.3.6 says >= 2 h */
#define TS_TCP_KEEPALIVE_INTERVAL (10 * TS_SEC)
#define TS_TCP_KEEPALIVE_PROBES 9    /* Linux tcp_keepalive_probes default */
#define TS_TCP_SEND_BUFFER 65536     /* bytes ts_tcp_write may queue */
/* At most one ACK a connection sends in answer to an unacceptable or challenging
 * segment within this interval (RFC 5961 §7 asks for a limit; Linux's
 * tcp_invalid_ratelimit default). Without it two desynchronised ends ACK each other
 * forever (found by fuzz_tcp). */
#define TS_TCP_INVALID_ACK_INTERVAL (500 * TS_MS)
#define TS_TCP_EPHEMERAL_FIRST 49152 /* RFC 6335 §6 dynamic ports */
#define TS_TCP_EPHEMERAL_LAST 65535
#define TS_TCP_NAME_MAX 160

typedef enum ts_tcp_state {
  TS_TCP_CLOSED = 0,  /* RFC 9293 §3.3.2 */
  TS_TCP_SYN_SENT,
  TS_TCP_SYN_RECEIVED,
  TS_TCP_ESTABLISHED,
  TS_TCP_FIN_WAIT_1,
  TS_TCP_FIN_WAIT_2,
  TS_TCP_CLOSE_WAIT,
  TS_TCP_CLOSING,
  TS_TCP_LAST_ACK,
  TS_TCP_TIME_WAIT,
} ts_tcp_state;

typedef enum ts_tcp_reason {
  TS_TCP_REASON_NONE = 0,
  TS_TCP_REASON_FIN,      /* orderly close: both FINs exchanged (a RST in CLOSING or
                             LAST_ACK counts too, RFC 9293 §3.10.7.4 signals no reset) */
  TS_TCP_REASON_RESET,    /* the peer reset an open connection */
  TS_TCP_REASON_REFUSED,  /* RST answered our SYN: nobody listens */
  TS_TCP_REASON_TIMEOUT,  /* SYN, data or keepalive retries ran out */
  TS_TCP_REASON_ABORTED,  /* ts_tcp_abort by the local application */
} ts_tcp_reason;

typedef struct ts_tcp ts_tcp;

/* Takes ownership of a complete IP packet (the socket layer routes it or drops it). */
typedef void (*ts_tcp_send_fn)(void *ctx, ts_packet *pkt);
typedef void (*ts_tcp_event_fn)(void *ctx, ts_tcp *c);
/* In-order bytes from the peer; len == 0 (data NULL) means the peer sent FIN. */
typedef void (*ts_tcp_data_fn)(void *ctx, ts_tcp *c, const uint8_t *data, size_t len);
/* Called once, when the connection reaches CLOSED. */
typedef void (*ts_tcp_closed_fn)(void *ctx, ts_tcp *c, ts_tcp_reason why);

typedef struct ts_tcp_config {
  const char *name;          /* RNG stream "tcp/<name>" (the ISN) and trace subject */
  ts_ipaddr local, remote;   /* same family */
  uint16_t local_port, remote_port;
  uint64_t flow;             /* copied into every packet's `flow` tag (0 = none) */
  uint16_t mss;              /* MSS we announce and largest segment we send; 0 = 1460/1440 */
  uint16_t window;           /* fixed receive window; 0 = TS_TCP_MAX_WINDOW */
  uint32_t send_buffer;      /* 0 = TS_TCP_SEND_BUFFER */
  ts_time rto_initial, rto_max;  /* 0 = defaults above */
  uint32_t syn_retries, data_retries; /* 0 = defaults above */
  ts_time time_wait;         /* 0 = TS_TCP_TIME_WAIT_DEFAULT */
  bool keepalive;            /* probes after keepalive_idle without a received segment */
  ts_time keepalive_idle, keepalive_interval; /* 0 = defaults above */
  uint32_t keepalive_probes; /* unanswered probes before TIMEOUT; 0 = default */
  ts_tcp_send_fn send_ip;
  void *send_ctx;
  ts_tcp_event_fn on_connected; /* handshake complete (ESTABLISHED) */
  ts_tcp_data_fn on_data;
  ts_tcp_event_fn on_writable;  /* ACKed bytes freed room in the send buffer */
  ts_tcp_closed_fn on_closed;
  void *ctx;                    /* first argument of the on_* callbacks */
} ts_tcp_config;

typedef struct ts_tcp_stats {
  uint64_t segments_sent, segments_received, retransmissions, timeouts;
  uint64_t bytes_sent, bytes_received; /* payload bytes, first transmission / delivered */
  uint64_t bad_checksum, dropped;      /* segments ignored on input */
  uint64_t keepalives_sent;
  uint64_t invalid_acks_suppressed;    /* answers withheld by TS_TCP_INVALID_ACK_INTERVAL */
} ts_tcp_stats;

/* A closed connection that owns its send buffer; attached to the world (freed by
 * reset or destroy) unless destroyed first. */
int ts_tcp_create(ts_world *w, const ts_tcp_config *cfg, ts_tcp **out);
/* Frees the connection without sending anything (call ts_tcp_abort first for a RST).
 * Safe from inside the connection's own callbacks: then it happens on return. */
void ts_tcp_destroy(ts_tcp *c);

/* Active open: sends SYN (RFC 9293 §3.10.1). TS_ESTATE unless CLOSED and unused. */
int ts_tcp_connect(ts_tcp *c);
/* Passive open for a SYN a listener received (RFC 9293 §3.10.7.2): sends SYN-ACK.
 * `info` and `segment` describe the SYN. */
int ts_tcp_accept(ts_tcp *c, const ts_ip_info *info, const uint8_t *segment, size_t len);
/* One TCP segment (header and payload) whose IP header `info` describes. */
void ts_tcp_input(ts_tcp *c, const ts_ip_info *info, const uint8_t *segment, size_t len);
/* Queues up to `len` bytes; returns how many were taken (0 when the buffer is full)
 * or TS_ESTATE after close or before the connection was opened. */
int64_t ts_tcp_write(ts_tcp *c, const uint8_t *data, size_t len);
/* Orderly close: FIN after the queued bytes (RFC 9293 §3.10.4). */
int ts_tcp_close(ts_tcp *c);
/* Sends RST if synchronized and goes to CLOSED at once (RFC 9293 §3.10.5). */
void ts_tcp_abort(ts_tcp *c);

ts_tcp_state ts_tcp_get_state(const ts_tcp *c);
const char *ts_tcp_state_name(ts_tcp_state s);
const char *ts_tcp_reason_name(ts_tcp_reason r);
ts_tcp_reason ts_tcp_close_reason(const ts_tcp *c);
/* Room left in the send buffer, and bytes queued but not yet acknowledged. */
uint32_t ts_tcp_send_space(const ts_tcp *c);
uint32_t ts_tcp_unacked(const ts_tcp *c);
const ts_tcp_config *ts_tcp_get_config(const ts_tcp *c);
const ts_tcp_stats *ts_tcp_get_stats(const ts_tcp *c);
void ts_tcp_set_user(ts_tcp *c, void *user);
void *ts_tcp_user(const ts_tcp *c);
/* The one pending world event's time, or TS_TIME_NEVER (for tests and oracles). */
ts_time ts_tcp_next_timer(const ts_tcp *c);

/* ---- segment helpers, also for stacks that answer without a connection ------- */

typedef struct ts_tcp_seg {
  uint32_t seq, ack;
  uint8_t flags;
  uint16_t window;
  uint16_t mss;               /* MSS option value; 0 = absent */
  uint32_t hlen;              /* header length incl. options */
  const uint8_t *payload;
  uint32_t len;               /* payload bytes */
} ts_tcp_seg;

/* Parses the TCP header and verifies the checksum against `info`'s pseudo-header:
 * TS_EPARSE for a malformed header or a wrong checksum. */
int ts_tcp_parse(const ts_ip_info *info, const uint8_t *segment, size_t len, ts_tcp_seg *out);
/* Writes a complete IP packet carrying one TCP segment (checksum computed); returns
 * its length, 0 if it does not fit `cap` or the families differ. */
uint32_t ts_tcp_build(uint8_t *out, uint32_t cap, const ts_ipaddr *src, const ts_ipaddr *dst,
                      uint16_t sport, uint16_t dport, const ts_tcp_seg *seg);
/* The RST answering a segment nobody owns (RFC 9293 §3.10.7.1), into a pool packet;
 * NULL if the segment itself is a RST (never answer a RST). */
ts_packet *ts_tcp_reset_for(ts_packet_pool *pool, const ts_ip_info *info, const ts_tcp_seg *seg);
/* True if the TCP checksum of the IP packet verifies (tests and oracles). */
bool ts_tcp_packet_checksum_ok(const uint8_t *ip, uint32_t len);

#endif
