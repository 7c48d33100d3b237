/* Sockets with the API semantics the reports depend on, over the policy decision:
 *  - BSD sockets, with IP_BOUND_IF (ts_sock_bsd_bind_if) and connect();
 *  - NWConnection: setup -> preparing | waiting -> ready | failed | cancelled, with
 *    requiredInterfaceType, requiredInterface, and requiredInterface =
 *    virtualInterface (only where the profile has the API, iOS 18, A-VIF);
 *  - NWTCPConnection through the tunnel (createTCPConnectionThroughTunnel; only
 *    where the profile has it: to iOS 17, deprecated in 18, A-NWTCP) with isViable.
 * A send asks the policy where the packet goes and returns what the API returns:
 * a silently failing send returns success and the verdict says nothing arrives.
 * A connection remembers the session epoch and interface it was established on,
 * which is how "existed before the tunnel started" reaches the policy.
 * Sockets live in a fixed table created per device; ids are never reused within a
 * table's life (slot + generation). No allocation after create. */
#ifndef TS_SOCK_H
#define TS_SOCK_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "ts_policy.h"

typedef uint32_t ts_sock_id;  /* 0 is never a socket */

typedef enum ts_sock_api { TS_SOCK_BSD = 0, TS_SOCK_NWCONNECTION, TS_SOCK_NWTCPCONNECTION } ts_sock_api;

/* NWConnection.State (and the states NWTCPConnection shares, see below). */
typedef enum ts_nw_state {
  TS_NW_SETUP = 0,
  TS_NW_WAITING,     /* no path: waits for one (NWTCPConnection: "waiting") */
  TS_NW_PREPARING,   /* path found, transport handshake in progress (NWTCP: "connecting") */
  TS_NW_READY,       /* NWTCP: "connected" */
  TS_NW_FAILED,      /* NWTCP: "disconnected" */
  TS_NW_CANCELLED,
  TS_NW_STATE_COUNT
} ts_nw_state;

/* What a send returns to the caller (an errno-like result of the simulated API). */
typedef enum ts_sock_status {
  TS_SOCK_OK = 0,          /* accepted (even when it goes nowhere: silent failure) */
  TS_SOCK_ENETUNREACH,     /* no route / scoped interface unavailable */
  TS_SOCK_ENOTCONN,        /* NW connection not ready */
} ts_sock_status;

typedef struct ts_sock_send_result {
  ts_sock_status status;
  ts_verdict verdict;
} ts_sock_send_result;

typedef struct ts_nw_params {
  int required_iface;                 /* requiredInterface by index; 0 none */
  bool has_required_type;
  ts_os_iface_type required_type;     /* requiredInterfaceType */
  bool required_virtual_interface;    /* requiredInterface = provider.virtualInterface */
} ts_nw_params;

typedef struct ts_sock_table ts_sock_table;

/* env must outlive the table (the device's profile, config, session, ifaces, routes). */
int ts_sock_table_create(ts_sock_table **out, const ts_policy_env *env, size_t capacity);
void ts_sock_table_destroy(ts_sock_table *t);

/* --- BSD */
int ts_sock_bsd_open(ts_sock_table *t, ts_traffic_class owner, uint8_t proto, ts_sock_id *id);
/* IP_BOUND_IF: 0 unbinds. */
int ts_sock_bsd_bind_if(ts_sock_table *t, ts_sock_id id, int iface);
/* connect(): fixes the destination; TCP and connected UDP are established here on
 * the path the policy chooses (ENETUNREACH-like TS_SOCK_ENETUNREACH in *status
 * when there is none). */
int ts_sock_bsd_connect(ts_sock_table *t, ts_sock_id id, const ts_ipaddr *dst, ts_sock_status *status);

/* --- NWConnection */
/* TS_ENOTSUP for required_virtual_interface on a profile without virtualInterface. */
int ts_sock_nw_create(ts_sock_table *t, ts_traffic_class owner, uint8_t proto,
                      const ts_ipaddr *dst, const ts_nw_params *params, ts_sock_id *id);
/* setup -> preparing (a path exists) or waiting. */
int ts_sock_nw_start(ts_sock_table *t, ts_sock_id id);
/* The transport (driven outside sim/os) finished its handshake: preparing -> ready. */
int ts_sock_nw_transport_ready(ts_sock_table *t, ts_sock_id id);
int ts_sock_nw_transport_failed(ts_sock_table *t, ts_sock_id id);
int ts_sock_nw_cancel(ts_sock_table *t, ts_sock_id id);
ts_nw_state ts_sock_nw_state(const ts_sock_table *t, ts_sock_id id);

/* --- NWTCPConnection (provider only) */
/* TS_ENOTSUP where the profile has no NWTCPConnection. Starts connecting when
 * viable, else waiting. */
int ts_sock_nwtcp_create(ts_sock_table *t, const ts_ipaddr *dst, ts_sock_id *id);
bool ts_sock_nwtcp_viable(const ts_sock_table *t, ts_sock_id id);

/* --- all */
/* One packet to dst (NULL: the connected destination). Never allocates. */
int ts_sock_send(ts_sock_table *t, ts_sock_id id, const ts_ipaddr *dst, ts_sock_send_result *res);
/* A packet from src arrived on iface for this socket: 1 delivered, 0 not (verdict
 * says why), or a negative TS_E* code. */
int ts_sock_arrival(const ts_sock_table *t, ts_sock_id id, const ts_ipaddr *src, int iface,
                    ts_verdict *verdict);
/* Path changes (session, interfaces, routes): NW connections move between
 * waiting / preparing / ready, NWTCPConnection viability is recomputed. Returns
 * how many sockets changed state. */
size_t ts_sock_reevaluate(ts_sock_table *t);
int ts_sock_close(ts_sock_table *t, ts_sock_id id);

/* The flow the policy sees for this socket toward dst (NULL: connected dst). */
int ts_sock_flow(const ts_sock_table *t, ts_sock_id id, const ts_ipaddr *dst, ts_policy_flow *flow);
ts_sock_api ts_sock_api_of(const ts_sock_table *t, ts_sock_id id);
size_t ts_sock_open_count(const ts_sock_table *t);
const char *ts_nw_state_name(ts_nw_state s);

#endif
