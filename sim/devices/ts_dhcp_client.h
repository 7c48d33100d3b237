/* ts_dhcp_client: the phone's DHCPv4 client on one physical interface (RFC 2131
 * §4.4 state machine; options RFC 2132; classless static routes RFC 3442), with
 * real bytes through the codec of sim/net/ts_dhcp.h.
 *
 *   INIT -> SELECTING: DISCOVER, broadcast from 0.0.0.0:68 to 255.255.255.255:67
 *   SELECTING: the first OFFER for our xid and hardware address is taken
 *   REQUESTING: REQUEST (broadcast, server id + requested address) -> ACK: BOUND;
 *               NAK, or no answer after request_attempts tries: back to INIT
 *   BOUND: ts_phone_apply_dhcp (address/prefix; the router as default route unless
 *          option 121 is present; the option 121 routes, origin TS_ROUTE_DHCP_CLASSLESS)
 *   T1 -> RENEWING: REQUEST with ciaddr, unicast to the server
 *   T2 -> REBINDING: REQUEST with ciaddr, broadcast
 *   lease end -> the address and DHCP routes are removed, back to INIT
 * An ACK in RENEWING or REBINDING re-applies the lease only when its content
 * changed (a rogue server's new option 121 routes take effect at the next renewal).
 *
 * Retransmission (RFC 2131 §4.1): 4 s before the first retransmission, doubled up
 * to 64 s, each randomized by a uniform offset in [-1 s, +1 s]; in RENEWING and
 * REBINDING (§4.4.5) half the time left until T2 or the lease's end, at least
 * renew_min_retransmit, and never past that deadline. Randomness (the xid of each
 * exchange, the jitter, a hardware address when none is given) comes from the
 * world's stream "dhcp-client/<phone>/<ifname>".
 *
 * The client's socket is a link-layer socket of the phone (ts_phone_socket_params
 * .link_layer): owner TS_TC_CONTROL_PLANE, bound to its interface, port 68. Its
 * packets are shown to the phone's egress hook like every other, with the policy's
 * control-plane exemption as verdict (the leak oracle counts them as exempt).
 *
 * Not modelled: ARP probing of the offered address and DECLINE (the simulated
 * links have no ARP), INIT-REBOOT, RELEASE, collecting several offers, the §4.4.1
 * initial random wait (Apple's client does not wait; a scenario's client starts at
 * the time it is started).
 *
 * Memory: create allocates the client and opens its socket; nothing allocates
 * afterwards (one encode buffer, one timer). Attached to the world: reset and
 * destroy free it (it must not outlive its phone). */
#ifndef TS_DHCP_CLIENT_H
#define TS_DHCP_CLIENT_H

#include <stdbool.h>
#include <stdint.h>

#include "ts_dhcp.h"
#include "ts_phone.h"

typedef struct ts_dhcp_client ts_dhcp_client;

typedef enum ts_dhcp_client_state {
  TS_DHCPC_STOPPED = 0,  /* created, not started */
  TS_DHCPC_SELECTING,    /* DISCOVER sent, waiting for an OFFER (INIT is transient) */
  TS_DHCPC_REQUESTING,
  TS_DHCPC_BOUND,
  TS_DHCPC_RENEWING,
  TS_DHCPC_REBINDING,
  TS_DHCPC_STATE_COUNT
} ts_dhcp_client_state;

typedef enum ts_dhcp_client_event {
  TS_DHCPC_EV_BOUND = 1,   /* a lease was applied (first binding, or after INIT again) */
  TS_DHCPC_EV_RENEWED,     /* an ACK in RENEWING or REBINDING extended the lease */
  TS_DHCPC_EV_EXPIRED,     /* the lease ended: address and DHCP routes removed */
  TS_DHCPC_EV_NAK,         /* a NAK: back to INIT (a bound lease is removed) */
} ts_dhcp_client_event;

typedef void (*ts_dhcp_client_event_fn)(void *ctx, ts_dhcp_client *c, ts_dhcp_client_event ev);

typedef struct ts_dhcp_client_config {
  const char *ifname;             /* a physical interface of the phone, e.g. "en0" (required) */
  uint8_t chaddr[TS_DHCP_HLEN_ETHERNET]; /* all zero: a locally administered address from the stream */
  ts_time retransmit_initial;     /* 0: 4 s (RFC 2131 §4.1) */
  ts_time retransmit_max;         /* 0: 64 s */
  ts_time retransmit_jitter;      /* 0: 1 s; negative: none */
  ts_time renew_min_retransmit;   /* 0: 60 s (RFC 2131 §4.4.5) */
  uint32_t request_attempts;      /* REQUESTs in REQUESTING before INIT again; 0: 4 */
  ts_dhcp_client_event_fn on_event; /* may be NULL */
  void *ctx;
} ts_dhcp_client_config;

typedef struct ts_dhcp_client_stats {
  uint32_t discovers, requests;   /* sent, retransmissions included */
  uint32_t retransmissions;
  uint32_t offers, acks, naks;    /* accepted for our exchange */
  uint32_t ignored;               /* replies for another xid or hardware address, malformed */
  uint32_t bound, renewed, expired;
  uint32_t send_errors;           /* a send the phone refused or dropped */
} ts_dhcp_client_stats;

/* Opens the client's socket on the phone (TS_EEXIST when port 68 is taken). */
int ts_dhcp_client_create(ts_phone *ph, const ts_dhcp_client_config *cfg, ts_dhcp_client **out);
/* Frees at once (closes its socket, cancels its timer); the world forgets it. */
void ts_dhcp_client_destroy(ts_dhcp_client *c);
/* STOPPED -> INIT after delay (0: in an event of its own at the current time). */
int ts_dhcp_client_start(ts_dhcp_client *c, ts_time delay);

ts_dhcp_client_state ts_dhcp_client_get_state(const ts_dhcp_client *c);
const char *ts_dhcp_client_state_name(ts_dhcp_client_state s);
/* The lease applied to the phone now (false when none) and when it ends
 * (TS_TIME_NEVER for an infinite lease). */
bool ts_dhcp_client_lease(const ts_dhcp_client *c, ts_dhcp_lease *lease, ts_time *expires);
/* The last OFFER or ACK accepted (server, DNS, lease times, routes as sent). */
bool ts_dhcp_client_offer(const ts_dhcp_client *c, ts_dhcp_offer *out);
void ts_dhcp_client_get_stats(const ts_dhcp_client *c, ts_dhcp_client_stats *out);
const uint8_t *ts_dhcp_client_chaddr(const ts_dhcp_client *c);

#endif
