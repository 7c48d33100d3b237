/* ts_mux: the provider's tunnel mux, as a pure module (no world, no clock, no I/O).
 *
 * Packets coming out of the tunnel (decrypted by the engine) have two possible
 * consumers in the provider: the OS's utun (ts_phone_tunnel_write) and the provider's
 * own userspace netstack (lwIP, sim/netstack). Flows the provider opened through its
 * netstack are remembered from the netstack's outbound packets; inbound packets of
 * those flows go to the netstack, everything else to utun. The netstack's outbound
 * packets go to the engine directly (the caller does that; the mux only learns from
 * them). This is Mullvad's design (ios-model.md §2.5: wireguard-apple router.go keys
 * flows by protocol, local port, remote address and port; mullvad-ios ip_mux.rs
 * tracks TCP by 4-tuple with FIN/RST handling and ICMP by identifier).
 *
 * Flows (a fixed table of `capacity` entries, allocated at create only):
 *   TCP   keyed by (family, local addr, local port, remote addr, remote port). Created
 *         by any outbound segment of an unknown 4-tuple that is not a RST (the SYN
 *         normally; lwIP may also retransmit or keep talking on a flow the table
 *         lost). An outbound SYN on a known 4-tuple starts the flow afresh (port reuse).
 *         Removed:
 *         - on an outbound RST (after the mux has seen it; the caller still sends it);
 *         - on an inbound RST the netstack will accept: its TCP checksum verifies and
 *           it passes lwIP 2.1's own acceptance test as far as the mux can see it
 *           (SYN sent: ACK flag and ack == our ISN + 1; later: seq within the window
 *           the netstack last advertised from its last ACK). The RST itself is still
 *           routed to the netstack;
 *         - after FINs in both directions once the later FIN has been acknowledged:
 *           each FIN's end (seq + payload + SYN + FIN) is remembered, and the flow is
 *           removed after the packet whose ACK covers the second FIN (an ACK with
 *           ack >= that end, sent in the direction opposite to that FIN). Every packet
 *           up to and including that last ACK is routed to the netstack. There is no
 *           lingering TIME_WAIT entry (the mux has no clock): a FIN the peer
 *           retransmits after that goes to utun, whose stack answers RST or drops it.
 *         FIN, RST and ACK bookkeeping is done only for segments whose TCP checksum
 *         verifies, so a corrupted segment that lwIP will drop changes nothing here.
 *   ICMP  echo (ICMPv4 type 8 / ICMPv6 type 128) keyed by (family, local addr,
 *         remote addr, identifier), created by an outbound echo request; replies
 *         (type 0 / 129) with that key go to the netstack. ICMP errors (v4: 3, 4, 5,
 *         11, 12; v6: 1-4) sent to the netstack's address and quoting a packet of a
 *         tracked flow also go to the netstack. Echo flows have no end: they live until
 *         evicted or reset, so a provider should reuse one identifier per peer.
 * When the table is full, a new flow takes the slot of the least recently used one
 * (last outbound packet or inbound packet routed to the netstack), counted as
 * `evicted`. Lookup is a linear scan: the provider holds a handful of flows.
 *
 * IPv4 fragments (MF or an offset) and IPv6 packets whose extension headers the mux
 * cannot walk cheaply (anything but hop-by-hop, routing and destination options, or
 * a fragment header of a non-first or more-fragments-follow packet) are untracked:
 * they go to utun: a fragment after the first carries no ports to match, and
 * routing the first alone would leave lwIP's reassembly with half a packet. The
 * netstack's own flows avoid fragments (TCP segments fit its MTU by MSS; pings should
 * stay small), so in practice nothing it expects is lost that way.
 * The mux serves connections the netstack opens: an inbound SYN to a port the
 * netstack listens on is not a tracked flow (the provider has no listeners).
 *
 * Deterministic: the outcome is a function of the packets given, in order. Not
 * thread-safe (the provider's one thread drives it). */
#ifndef TS_MUX_H
#define TS_MUX_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef enum ts_mux_route { TS_MUX_UTUN = 0, TS_MUX_NETSTACK } ts_mux_route;

typedef struct ts_mux ts_mux;

/* Counters since create or reset. tracked_* count flows created (not the live ones:
 * ts_mux_flow_count); closed counts TCP flows removed by RST or the FIN exchange;
 * malformed counts packets in either direction that are not well-formed IP (or whose
 * TCP/ICMP header is cut short). */
typedef struct ts_mux_stats {
  uint64_t outbound, inbound_netstack, inbound_utun, tracked_tcp, tracked_icmp, evicted, closed,
      malformed;
} ts_mux_stats;

/* A mux that keeps at most `capacity` flows (>= 1). TS_EINVAL, TS_ENOMEM. */
int ts_mux_create(size_t capacity, ts_mux **out);
void ts_mux_destroy(ts_mux *m);
/* Forgets every flow and zeroes the counters. */
void ts_mux_reset(ts_mux *m);

/* A packet the netstack sends towards the tunnel: learn its flow (TCP by 4-tuple,
 * ICMP/ICMPv6 echo request by identifier) and note FIN/RST. Returns 0, or TS_EPARSE
 * for a packet that is not a well-formed IPv4/IPv6 packet (it is still the caller's
 * to send; the mux just learns nothing). */
int ts_mux_outbound(ts_mux *m, const uint8_t *pkt, size_t len);

/* A packet out of the tunnel: where it goes. TCP to a tracked 4-tuple (reversed),
 * ICMP echo replies with a tracked identifier and ICMP errors quoting a tracked
 * flow -> TS_MUX_NETSTACK; anything else, malformed included -> TS_MUX_UTUN.
 * Notes FIN/RST/ACK (so the routing of the next packet may differ). */
ts_mux_route ts_mux_inbound(ts_mux *m, const uint8_t *pkt, size_t len);

/* Flows tracked now (<= capacity). */
size_t ts_mux_flow_count(const ts_mux *m);
size_t ts_mux_capacity(const ts_mux *m);
void ts_mux_get_stats(const ts_mux *m, ts_mux_stats *out);

/* Whether a flow with this key is tracked now (for tests and the fuzz harness's
 * claims). proto is TS_IPPROTO_TCP (ports are the local and remote ports) or
 * TS_IPPROTO_ICMP / TS_IPPROTO_ICMPV6 (local_port is the echo identifier,
 * remote_port ignored). `local` and `remote` are 4 or 16 bytes by family. */
bool ts_mux_is_tracked(const ts_mux *m, uint8_t family, uint8_t proto, const uint8_t *local,
                      uint16_t local_port, const uint8_t *remote, uint16_t remote_port);

#endif
