/* TCP on a simulated host: a listener table and a connection table keyed by the
 * 4-tuple, wired to the host with ts_host_set_local_hook (TCP segments for the host
 * are taken; everything else goes on to the host's own stack). Segments for no
 * connection and no listener are answered with RST (RFC 9293 §3.10.7.1); a SYN for
 * a listening port opens a connection (§3.10.7.2).
 *
 * The table owns its connections. A connection handle stays valid until its
 * on_closed callback has returned; the table frees CLOSED connections at its next
 * input or connect. A ts_tcp_host belongs to one world and is released with it. */
#ifndef TS_TCP_HOST_H
#define TS_TCP_HOST_H

#include <stdbool.h>
#include <stdint.h>

#include "ts_net.h"
#include "ts_tcp.h"

#define TS_TCP_HOST_MAX_LISTENERS 16

typedef struct ts_tcp_host ts_tcp_host;

/* A SYN for a listening port created `c` (still CLOSED; the SYN-ACK follows if this
 * returns true). Set per-connection state with ts_tcp_set_user. Returning false
 * refuses the connection with a RST. */
typedef bool (*ts_tcp_accept_fn)(void *ctx, ts_tcp *c);

/* Creates the table for `h` and installs it as the host's local hook. */
int ts_tcp_host_create(ts_host *h, ts_tcp_host **out);
/* The hook itself, for a device that has its own local hook and hands TCP on:
 * returns true if it took the packet (TCP for this host), false otherwise. */
bool ts_tcp_host_input(ts_tcp_host *t, const ts_ip_info *info, ts_packet *pkt);

/* Listens on `port` of all the host's addresses. `tmpl` gives the timers, window,
 * keepalive and callbacks of accepted connections (addresses, ports, name and
 * send_ip are filled in). TS_EEXIST, TS_EFULL. */
int ts_tcp_host_listen(ts_tcp_host *t, uint16_t port, const ts_tcp_config *tmpl,
                       ts_tcp_accept_fn accept, void *ctx);
int ts_tcp_host_unlisten(ts_tcp_host *t, uint16_t port);

/* Active open. cfg->remote and remote_port are required; a local address of family
 * 0 means the host's source address towards remote, local_port 0 an ephemeral port;
 * send_ip is the host's. TS_ENOENT if the host has no route to remote. */
int ts_tcp_host_connect(ts_tcp_host *t, const ts_tcp_config *cfg, ts_tcp **out);

ts_host *ts_tcp_host_host(const ts_tcp_host *t);
/* Connections not yet CLOSED. */
uint32_t ts_tcp_host_open_count(const ts_tcp_host *t);
/* RSTs sent for segments that matched no connection, and segments dropped because
 * their checksum did not verify. */
uint64_t ts_tcp_host_resets_sent(const ts_tcp_host *t);
uint64_t ts_tcp_host_bad_segments(const ts_tcp_host *t);

#endif
