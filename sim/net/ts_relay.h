/* ts_relay: a WireGuard relay on a ts_host, like a VPN provider's exit server.
 *
 * - The engine (a ts_wgdev named after the host) is the responder on a UDP port of
 *   the host (default 51820). Outgoing datagrams leave from the host's address
 *   towards the peer (ts_ip_build_udp + ts_host_send).
 * - Decrypted inner packets: an ICMP echo request to the in-tunnel gateway (default
 *   10.64.0.1) is answered through the tunnel. Everything else is NATed to the
 *   internet: source rewritten to the relay's public address with a port (TCP/UDP)
 *   or ICMP echo identifier from a table sized at creation, checksums recomputed,
 *   TTL decremented (the relay is a router), sent with ts_host_send.
 * - Return traffic to the public address is caught with the host's local hook,
 *   translated back and encrypted to the peer whose allowed IPs cover the inner
 *   destination (the engine's cryptokey routing).
 *
 * NAT behaviour (RFC 4787 terms): endpoint-independent mapping and filtering; one
 * mapping per (protocol, inner address, inner port or id). Public port/id =
 * nat_port_first + table slot, so mappings are deterministic; the lowest free slot
 * after the last one handed out is taken (a just-expired port is not reused at once).
 * Entries expire after nat_idle_timeout without traffic either way, checked lazily
 * (no timers). TCP and UDP share the port space with ICMP identifiers. IPv4 and IPv6
 * (NAT66 to the host's IPv6 address) are both translated; fragments and ICMP errors
 * are not (dropped and traced as "relay-drop").
 *
 * In-tunnel negotiation (ts_relay_config.negotiation, off by default): the relay
 * also serves the ephemeral-peer exchange of ts_negotiation.h, as Mullvad's relays
 * serve RegisterPeerV1 on 10.64.0.1:1337 (design/ios-model.md §2.5, MV-CODE). It
 * hosts its own lwIP instance (ts_netstack) holding the gateway address(es), MTU
 * TS_RELAY_NEGOTIATION_MTU, with a TCP listener on TS_NEG_PORT. Decrypted TCP and UDP
 * to the gateway go into that stack (so a port nobody listens on gets lwIP's RST or
 * ICMP port unreachable, never the NAT); echo requests to the gateway are still
 * answered as above; the stack's packets are encrypted back through the engine. The
 * instance takes one of the process's lwIP copies (TS_NETSTACK_MAX_INSTANCES, 8 by
 * default). Each request's outcome is a trace event "relay-negotiation"; each change
 * of an ephemeral peer one "relay-ephemeral-peer".
 *
 * Ephemeral peers (MV-CODE: mullvadvpn-app talpid-tunnel-config-client/proto/
 * ephemeralpeer.proto, the RegisterPeerV1 comment). The request's ephemeral key is
 * the WireGuard key the client uses for the tunnel from then on, with the negotiated
 * PSK ("The server will associate the new configuration with this key"); the parent
 * (the device's configured key) stays without a PSK, so a client that starts again
 * from its parent key (a relaunched provider process) always gets a tunnel. So:
 *  - A request names a parent key. It must be a configured peer (UNKNOWN_PARENT
 *    otherwise, also for an ephemeral peer's key) and come through that client's
 *    tunnel, the parent's or its ephemeral peer's (NOT_YOURS otherwise: the source of
 *    the connection is an inner address the engine already matched to the sending
 *    peer). The ephemeral key must be nobody's yet (BAD_KEY); the table
 *    (TS_RELAY_EPHEMERAL_PEERS parents) must have room and the parent no more than
 *    TS_RELAY_MAX_ALLOWED_IPS prefixes (INTERNAL).
 *  - Then the relay makes its key pair (world stream "relay/<host>/negotiation"),
 *    derives the PSK, and adds an engine peer: public key = the ephemeral key, that
 *    PSK, the endpoint the request came from, no allowed IPs yet; answers; closes
 *    (FIN after the response). The tunnel that carried the request keeps working:
 *    "A new peer is negotiated to avoid a premature break of the tunnel used for
 *    negotiation ... the client decides when to switch" (MV-CODE).
 *  - "The ephemeral peer is mutually exclusive to the normal peer ... only one of
 *    them is loaded into WireGuard at any point in time. A handshake from the normal
 *    peer unloads the corresponding ephemeral peer from WireGuard and vice versa"
 *    (MV-CODE). Here "loaded" is which peer holds the parent's allowed IPs (in
 *    WireGuard a prefix has one owner; adding it to another peer moves it, as this
 *    engine's allowedips.c does): when the ephemeral peer completes a handshake, the
 *    parent's prefixes move to it; when the parent completes one (a relaunched
 *    process, a client whose switch failed), they move back and the ephemeral
 *    peer(s) are removed. [INF] Removing rather than keeping them: the proto keeps
 *    both "in memory" but gives "no guarantees how long the ephemeral peer will be
 *    valid and working when it's no longer in use", and the client negotiates anew
 *    for every tunnel; so the relay's peer count settles at configured peers + one
 *    per parent that negotiated.
 *  - [INF] The move is made by the relay after the engine call that completed the
 *    handshake (the engine forbids reconfiguring it from inside a call), like a
 *    manager process reacting to handshakes: if the datagram that completed it (the
 *    initiator's first transport packet) carried data rather than a keepalive, that
 *    one packet is dropped as from a disallowed source.
 *  - A new negotiation from the same parent replaces its ephemeral peer ("Any already
 *    existing ephemeral peer for the normal peer is replaced", MV-CODE): peers that
 *    route nothing are removed at once; the one carrying the tunnel (and the
 *    exchange's response) stays until the new one or the parent handshakes, so a
 *    parent has at most three peers for that moment. No allocation beyond the
 *    engine's add_peer; a prefix changing owner allocates nothing.
 *
 * The relay is attached to the world (reset/destroy free it, and its lwIP instance,
 * which is attached too). */
#ifndef TS_RELAY_H
#define TS_RELAY_H

#include <stdbool.h>
#include <stdint.h>

#include "ts_net.h"
#include "ts_netstack.h"
#include "ts_wgdev.h"

#define TS_RELAY_DEFAULT_PORT 51820
#define TS_RELAY_DEFAULT_GATEWAY "10.64.0.1"
#define TS_RELAY_DEFAULT_NAT_ENTRIES 1024
#define TS_RELAY_DEFAULT_NAT_PORT_FIRST 20000
/* Linux's nf_conntrack default for UDP streams is 120 s; one value for all protocols
 * keeps the model simple (configurable). */
#define TS_RELAY_DEFAULT_NAT_IDLE (120 * TS_SEC)
#define TS_RELAY_MAX_ALLOWED_IPS 16
/* The gateway stack's MTU: what iOS gives a tunnel by default (WG:
 * PacketTunnelSettingsGenerator.swift forces 1280 when automatic; design/ios-model.md
 * §3), also IPv6's minimum (RFC 8200), so the stack's segments fit any client's tunnel. */
#define TS_RELAY_NEGOTIATION_MTU 1280
/* Negotiations in progress at once; a connection beyond that is refused (RST). Real
 * clients hold one each, for well under a second. */
#define TS_RELAY_NEGOTIATION_SESSIONS 16
/* Ephemeral peers registered at once: one per client that negotiated. Worlds hold a
 * handful of phones; a request beyond that is refused (TS_NEG_STATUS_INTERNAL). */
#define TS_RELAY_EPHEMERAL_PEERS 64

typedef struct ts_relay ts_relay;

typedef struct ts_relay_peer {
  uint8_t public_key[WG_KEY_LEN];
  uint8_t preshared_key[WG_KEY_LEN];
  bool has_preshared_key;
  ts_ipprefix allowed_ips[TS_RELAY_MAX_ALLOWED_IPS]; /* the peer's tunnel addresses */
  uint32_t allowed_ip_count;
  const uint8_t *static_static; /* optional, see wg_peer_config.static_static */
} ts_relay_peer;

typedef struct ts_relay_config {
  uint8_t private_key[WG_KEY_LEN];
  const uint8_t *public_key;  /* optional, see wg_device_config.public_key */
  const ts_relay_peer *peers;
  uint32_t peer_count;
  uint16_t port;            /* 0 = TS_RELAY_DEFAULT_PORT */
  ts_ipaddr gateway;        /* family 0 = TS_RELAY_DEFAULT_GATEWAY */
  ts_ipaddr gateway6;       /* optional IPv6 in-tunnel gateway; family 0 = none */
  ts_ipaddr public_addr;    /* NAT source (IPv4); family 0 = the host's source address */
  ts_ipaddr public_addr6;   /* NAT source (IPv6); family 0 = the host's source address */
  uint32_t nat_entries;     /* 0 = TS_RELAY_DEFAULT_NAT_ENTRIES */
  uint16_t nat_port_first;  /* 0 = TS_RELAY_DEFAULT_NAT_PORT_FIRST */
  ts_time nat_idle_timeout; /* 0 = TS_RELAY_DEFAULT_NAT_IDLE */
  bool negotiation;         /* serve the ephemeral-peer exchange on gateway:TS_NEG_PORT */
} ts_relay_config;

typedef struct ts_relay_stats {
  uint64_t gateway_echoes;    /* echo requests to the gateway answered */
  uint64_t nat_out, nat_in;   /* packets translated each way */
  uint64_t nat_mappings;      /* mappings created */
  uint64_t nat_full;          /* packets dropped: no free table entry */
  uint64_t dropped;           /* other drops (unsupported, no mapping, TTL, no route) */
  uint32_t nat_active;        /* mappings not yet expired at the time of the call */
  uint64_t gateway_stack_in;  /* inner TCP/UDP packets handed to the gateway's stack */
  uint64_t negotiations_ok;   /* responses with status ok, ephemeral peer registered */
  uint64_t negotiations_refused; /* responses with an error status */
  uint64_t negotiations_aborted; /* connections reset without a response: bad magic,
                                    closed early, or no free session */
  uint64_t ephemeral_registered; /* ephemeral peers added (= negotiations_ok) */
  uint64_t ephemeral_removed;    /* ... removed: the parent handshook again, or replaced */
  uint32_t ephemeral_peers;      /* ephemeral peers now */
} ts_relay_stats;

/* Binds the port, installs the host's local hook, and creates the engine device
 * (named after the host). TS_EINVAL for a bad configuration (e.g. the port range
 * overflows 65535), TS_EEXIST if the port is bound, TS_ENOMEM; with negotiation on
 * also TS_EFULL when no lwIP instance is left. */
int ts_relay_create(ts_host *h, const ts_relay_config *cfg, ts_relay **out);
ts_wgdev *ts_relay_wgdev(ts_relay *r);
/* The gateway's service stack (named "<host>/gateway"), or NULL when negotiation is off. */
ts_netstack *ts_relay_netstack(ts_relay *r);
void ts_relay_get_stats(const ts_relay *r, ts_relay_stats *out);

#endif
