/* ts_phone: the iPhone as a device in a world. It owns one instance of the OS
 * model (sim/os: profile, interfaces en0 / pdp_ip0 / utun0 / lo0, routing table,
 * VPN configuration and session, socket table) and a small IP stack that turns
 * socket sends into real bytes:
 *
 *   app or provider socket -> ts_sock_send (the policy verdict)
 *     physical    -> bytes from that interface's address -> egress hook -> its link
 *     tunnel      -> bytes from the utun address -> traced on <name>/utun0 (tx)
 *                    -> the provider's packet flow (next event, in order)
 *     loopback    -> back into the phone (next event)
 *     drop        -> trace event "phone-drop" (detail: the verdict, with its rule)
 *     silent-fail -> trace event "phone-silent-fail" (detail: the verdict); nothing sent
 *
 * Arrivals (from a link, or written to utun by the provider, traced rx on utun0)
 * are demultiplexed to sockets by protocol and UDP port, ICMP echo identifier or
 * TCP 4-tuple, then ts_sock_arrival decides whether the socket may receive them.
 *
 * TCP sockets (proto TS_IPPROTO_TCP, BSD, NWConnection or the provider's
 * NWTCPConnection) are driven by a ts_tcp endpoint (sim/net/ts_tcp.h) the phone
 * owns: every segment it emits goes through the same send path as a datagram
 * (ts_sock_send per segment: physical, tunnel, drop or silent failure), tagged with
 * the socket in pkt->flow. A connection's source address is fixed when it is
 * opened: the address of the interface the policy chose then (BSD connect()
 * establishes the socket there; an NWConnection on the path it prepares on), so a
 * connection from before the tunnel keeps the address it was established with. An
 * NWConnection or NWTCPConnection connects (sends its SYN) only once the OS gives
 * it a path (preparing) and is ready (NWTCPConnection: viable) when the handshake
 * completes; without a path it waits (under includeAllNetworks the provider's
 * utun-scoped NWTCPConnection never gets one: MV-BLOG, GT-10). A connection that
 * had no usable path when it was opened takes the primary interface's address (its
 * SYNs are dropped until a path appears). Segments for no connection are counted as unclaimed (no RST).
 * The phone derives no outcome of its own: every verdict comes from ts_policy_decide.
 *
 * The provider plugs in through ts_phone_provider_ops (sim/devices/ts_provider.h is
 * the packet-tunnel provider; tests may plug their own). System-side session
 * changes go through the phone so that the provider hears of them; provider-side
 * calls (settings, completion, reasserting, writePackets) take the phone's clock.
 *
 * Every packet leaving a physical interface is shown first to the egress hook
 * with its origin (the leak oracle's input). pkt->flow is the sending socket id.
 *
 * Memory: create allocates everything (the OS objects, a socket table, a fixed
 * ring for deferred packets); sending and receiving do not allocate. The phone is
 * attached to the world (reset and destroy free it). */
#ifndef TS_PHONE_H
#define TS_PHONE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "ts_net.h"
#include "ts_policy.h"
#include "ts_sock.h"
#include "ts_tcp.h"
#include "ts_world.h"

#define TS_PHONE_NAME_MAX 32
#define TS_PHONE_DEFAULT_SOCKETS 64
#define TS_PHONE_DEFERRED_MAX 512
#define TS_PHONE_EPHEMERAL_FIRST 49152 /* IANA dynamic ports; also the first ICMP identifier */
/* The MSS a TCP connection announces follows the MTU of the interface it is opened
 * on (RFC 9293 §3.7.1: MTU - IP and TCP headers). Physical interfaces: Ethernet /
 * Wi-Fi 1500. utun: the tunnel settings' MTU, else "automatic", which is the
 * physical MTU less tunnelOverheadBytes (WireGuardKit sets 80 when its config has
 * no MTU: wireguard-apple PacketTunnelSettingsGenerator.swift). */
#define TS_PHONE_PHYSICAL_MTU 1500
#define TS_PHONE_TUNNEL_OVERHEAD 80

typedef struct ts_phone ts_phone;

typedef struct ts_phone_config {
  const char *name;               /* node name, prefix of trace names; NULL: "phone" */
  const ts_os_profile *profile;   /* copied; NULL: the builtin (newest) profile */
  size_t socket_capacity;         /* 0: TS_PHONE_DEFAULT_SOCKETS */
} ts_phone_config;

/* Why a packet left a physical interface: what the leak oracle needs besides bytes. */
typedef struct ts_phone_origin {
  ts_sock_id sock;               /* the sending socket (0: none) */
  ts_traffic_class cls;          /* its owner's traffic class */
  ts_verdict verdict;            /* the policy verdict that sent it here (rule, quirk, origin) */
  ts_vpn_status session_status;  /* the VPN session at that instant */
  uint64_t session_epoch;
  bool pre_tunnel;               /* the socket was established in an older session epoch */
} ts_phone_origin;

typedef void (*ts_phone_egress_fn)(void *ctx, int iface, const ts_packet *pkt,
                                   const ts_phone_origin *origin);

/* The tunnel provider process as the phone sees it. start_tunnel / stop_tunnel are
 * called from their own events after the session changed (startTunnel, stopTunnel);
 * read_packet is packetFlow.readPackets, one packet per call, valid during the
 * call. A provider answers through the ts_phone_tunnel_* calls below. */
typedef struct ts_phone_provider_ops {
  void (*start_tunnel)(void *ctx);
  void (*stop_tunnel)(void *ctx, ts_vpn_stop_reason reason);
  void (*read_packet)(void *ctx, const uint8_t *pkt, size_t len);
  /* Optional: the system ended the process (watchdog, SIGTERM, reboot): its state
   * is gone without stopTunnel's completion. Called after the session changed. */
  void (*killed)(void *ctx, ts_vpn_exit exit);
  /* Optional, the device's events a provider may care about: the first unlock
   * after boot (the Keychain becomes readable, GT-23), sleep() and wake() (A-SLEEP),
   * and the containing app being opened by the user (it migrates settings and
   * restarts the tunnel, GT-24). The first three run only while a provider process
   * runs; app_opened runs whether or not one does. */
  void (*device_unlocked)(void *ctx);
  void (*sleep)(void *ctx);
  void (*wake)(void *ctx);
  void (*app_opened)(void *ctx);
} ts_phone_provider_ops;

/* A datagram or echo reply for a socket: info describes the packet, payload is
 * the UDP payload or the ICMP echo data; all valid during the call only. The
 * callback may send. */
typedef void (*ts_phone_recv_fn)(void *ctx, ts_sock_id sock, const ts_ip_info *info,
                                 const uint8_t *payload, uint32_t len, int iface);

/* The application side of a TCP socket; ctx is the socket params' ctx. The
 * callbacks may write and close. on_closed comes once, when the endpoint reaches
 * CLOSED (after TIME_WAIT for an active close, or at once for a reset, timeout or
 * abort); the socket is already closed when it is called. */
typedef struct ts_phone_tcp_ops {
  void (*on_connected)(void *ctx, ts_sock_id sock);
  /* In-order bytes; len == 0 (data NULL): the peer closed its side (FIN). */
  void (*on_data)(void *ctx, ts_sock_id sock, const uint8_t *data, size_t len);
  void (*on_writable)(void *ctx, ts_sock_id sock);
  void (*on_closed)(void *ctx, ts_sock_id sock, ts_tcp_reason why);
} ts_phone_tcp_ops;

typedef struct ts_phone_socket_params {
  ts_traffic_class owner;
  uint8_t proto;             /* TS_IPPROTO_ICMP (echo; ICMPv6 for IPv6 peers), TS_IPPROTO_UDP,
                                or TS_IPPROTO_TCP (remote and remote_port required) */
  ts_sock_api api;           /* TS_SOCK_BSD, TS_SOCK_NWCONNECTION, or TS_SOCK_NWTCPCONNECTION
                                (createTCPConnectionThroughTunnel: owner TS_TC_PROVIDER, TCP
                                only, scoped to utun; TS_ENOTSUP where the profile has no
                                NWTCPConnection, A-NWTCP; viable = ready, see ts_sock.h) */
  const char *bound_if;      /* BSD: IP_BOUND_IF to this interface (NULL: none) */
  ts_ipaddr remote;          /* NWConnection: the endpoint (required); BSD: connect() when set */
  uint16_t remote_port;      /* UDP, TCP: the remote port of remote */
  ts_nw_params nw;           /* NWConnection parameters (required_iface by index) */
  const char *required_if;   /* NWConnection: requiredInterface by name (NULL: see nw) */
  uint16_t local_id;         /* UDP/TCP local port or ICMP identifier; 0: the next ephemeral one */
  ts_phone_recv_fn recv;     /* UDP, ICMP */
  ts_phone_tcp_ops tcp;      /* TCP */
  const ts_tcp_config *tcp_tmpl; /* TCP: timers, window, retries, keepalive (NULL: defaults);
                                    addresses, ports, name, flow and callbacks are the phone's */
  /* A link-layer (BPF-like) UDP socket, as a DHCP client uses before it has an
   * address (RFC 2131 §4.1; Apple's IPConfiguration reads and writes DHCP through
   * BPF). Requires UDP, BSD, owner TS_TC_CONTROL_PLANE and bound_if a physical
   * interface. Sends leave that interface from its IPv4 address, or from 0.0.0.0
   * while it has none (the verdict is then the one ts_policy_decide gives the same
   * socket once an address exists: the control-plane exemption, scoped; a down
   * interface still drops). Arrivals on that interface for its port are delivered
   * whatever their destination address (the limited broadcast, an offered address
   * not yet configured), before the IP layer's address check and arrival policy. */
  bool link_layer;
  void *ctx;
} ts_phone_socket_params;

typedef struct ts_phone_stats {
  uint64_t tx_physical, tx_tunnel, tx_loopback;
  uint64_t dropped, silent_failed, send_errors;     /* by verdict / by API status */
  uint64_t rx_physical, rx_tunnel, delivered;
  uint64_t arrival_dropped;   /* ts_sock_arrival refused */
  uint64_t unclaimed;         /* no socket for it, or not addressed to the phone */
  uint64_t deferred_overflow; /* the deferred ring was full */
} ts_phone_stats;

/* ---- life */
/* ts_phone_destroy also destroys the phone's TCP endpoints (without sending). */
int ts_phone_create(ts_world *w, const ts_phone_config *cfg, ts_phone **out);
/* Frees at once (the world forgets it). Usually the world's reset/destroy do it. */
void ts_phone_destroy(ts_phone *ph);

/* ---- the OS instance (for configuration the phone does not wrap; call
 * ts_phone_path_changed after changing interfaces or routes directly) */
ts_world *ts_phone_world(const ts_phone *ph);
const char *ts_phone_name(const ts_phone *ph);
const ts_os_profile *ts_phone_profile(const ts_phone *ph);
ts_vpn_config *ts_phone_vpn_config(ts_phone *ph);
ts_vpn_session *ts_phone_session(ts_phone *ph);
ts_sock_table *ts_phone_sockets(ts_phone *ph);
ts_os_ifaces *ts_phone_ifaces(ts_phone *ph);
ts_route_table *ts_phone_routes(ts_phone *ph);
const ts_policy_env *ts_phone_env(const ts_phone *ph);
/* Index of an interface by name ("en0"), or TS_ENOENT. */
int ts_phone_iface(const ts_phone *ph, const char *name);
int ts_phone_utun(const ts_phone *ph);

/* ---- interfaces and routes (by API, or from the DHCP client, ts_dhcp_client.h) */
/* Connects physical interface ifname to interface host_iface of host h by a new
 * link named "<phone>-<ifname>" (trace name "<phone>/<ifname>"). */
int ts_phone_attach(ts_phone *ph, const char *ifname, ts_net *net, ts_host *h, uint32_t host_iface,
                    const ts_link_params *lp, ts_link_id *id);
int ts_phone_iface_set_up(ts_phone *ph, const char *ifname, bool up);
int ts_phone_add_address(ts_phone *ph, const char *ifname, const ts_ipprefix *addr);
int ts_phone_apply_dhcp(ts_phone *ph, const char *ifname, const ts_dhcp_lease *lease);
/* A static route out of ifname; gateway may be NULL (on-link). */
int ts_phone_add_route(ts_phone *ph, const char *ifname, const ts_ipprefix *dst,
                       const ts_ipaddr *gateway);
int ts_phone_set_primary(ts_phone *ph, const char *ifname);
/* Re-evaluates NW connections after a change of interfaces, routes or session. */
void ts_phone_path_changed(ts_phone *ph);

/* ---- hooks */
void ts_phone_set_egress_hook(ts_phone *ph, ts_phone_egress_fn fn, void *ctx);
/* Installs the tunnel provider (one per phone; NULL ops removes it). */
int ts_phone_set_provider(ts_phone *ph, const ts_phone_provider_ops *ops, void *ctx);

/* ---- VPN session, system side (user, app, on-demand) */
/* NEVPNManager.isEnabled, and the session follows (invalid <-> disconnected). */
int ts_phone_vpn_set_enabled(ts_phone *ph, bool enabled);
/* disconnected -> connecting (new epoch), then the provider's startTunnel. The
 * launch may be refused (TS_EREFUSED, TS_ENOENT): see "launching the provider
 * while the app updates" below. */
int ts_phone_vpn_start(ts_phone *ph, ts_vpn_start_cause cause);
/* -> disconnecting, then the provider's stopTunnel (without a provider: stopped now). */
int ts_phone_vpn_stop(ts_phone *ph, ts_vpn_stop_reason reason);

/* ---- the provider process lifecycle (docs/model-reference.md §6)
 * Watchdogs: whenever the session enters connecting or disconnecting the phone
 * schedules an event at ts_vpn_session_deadline (profile start-timeout /
 * stop-timeout, F-60S) and applies ts_vpn_session_watchdog there: a start timeout
 * sends stopTunnel or kills (lifecycle quirk start-timeout-action), a stop timeout
 * kills. Nothing else restarts a provider: after a death the next on-demand
 * trigger decides (A-OD), there is no hidden retry timer. */
/* The system ends the provider process (SIGTERM with reason, e.g. appUpdate; or a
 * SIGKILL): the session records reason and exit, the provider's killed op runs. */
int ts_phone_vpn_kill(ts_phone *ph, ts_vpn_stop_reason reason, ts_vpn_exit exit);
/* The Settings switch (GT-25 a): on starts (cause user), off stops (userInitiated)
 * and leaves on-demand as it is, so an armed Connect rule reconnects on the next
 * trigger. */
int ts_phone_vpn_toggle(ts_phone *ph, bool on);
/* The containing app's disconnect the way Mullvad's StopTunnelOperation does it
 * (GT-25 b): isOnDemandEnabled = false (saveToPreferences) first, then stop
 * (userInitiated). */
int ts_phone_vpn_app_disconnect(ts_phone *ph);
/* Every process dies (the provider: exit reboot), the session is down because of
 * boot, on-demand suspension is lifted, a configuration removal deferred by
 * config-removal-keeps-policy takes effect, listeners hear TS_PHONE_EV_REBOOT;
 * then an on-demand evaluation with trigger boot (next event). Sockets and apps
 * are not reset yet (a listener drops its own: ts_phone_socket_drop). */
int ts_phone_reboot(ts_phone *ph);
/* ---- the device (docs/model-reference.md §6)
 * The Keychain of items with after-first-unlock protection is unreadable from boot
 * until the first unlock (errSecInteractionNotAllowed, GT-23). A new phone is
 * unlocked; ts_phone_reboot locks it; ts_phone_unlock is the user's first unlock. */
int ts_phone_unlock(ts_phone *ph);
bool ts_phone_keychain_available(const ts_phone *ph);
/* sleep(): with the configuration's disconnectOnSleep the session is stopped
 * (stop reason sleep, A-HDR), else the provider's sleep op runs; wake() runs the
 * provider's wake op. TS_ESTATE when already asleep / awake. */
int ts_phone_sleep(ts_phone *ph);
int ts_phone_wake(ts_phone *ph);
bool ts_phone_asleep(const ts_phone *ph);
/* Airplane mode: every physical interface down (on) or back up (off). */
int ts_phone_set_airplane(ts_phone *ph, bool on);
bool ts_phone_airplane(const ts_phone *ph);

/* The VPN app as the App Store sees it (sim/devices/ts_appstore.h drives it). */
typedef enum ts_phone_app_state {
  TS_PHONE_APP_INSTALLED = 0, /* runnable: the app and its provider can launch */
  TS_PHONE_APP_UPDATING,      /* an update replaces the bundle (see the update quirks) */
  TS_PHONE_APP_REMOVED,       /* uninstalled */
} ts_phone_app_state;
const char *ts_phone_app_state_name(ts_phone_app_state st);
int ts_phone_set_app_state(ts_phone *ph, ts_phone_app_state st);
ts_phone_app_state ts_phone_app_state_get(const ts_phone *ph);
/* The user opens the containing app: its app_opened op runs (TS_ESTATE while
 * the app is updating or removed: its icon is a placeholder, nothing launches). */
int ts_phone_open_app(ts_phone *ph);
/* The App Store finished installing an update: the app is installed again (the new
 * bundle), on-demand suspension is lifted (lifecycle quirk
 * refused-launch-suspends-on-demand) and listeners hear TS_PHONE_EV_APP_UPDATED.
 * Cancelling an update is ts_phone_set_app_state(INSTALLED) instead: the old
 * bundle stays and the suspension with it. */
int ts_phone_app_update_installed(ts_phone *ph);

/* ---- launching the provider while the app updates (docs/model-reference.md §6.3)
 * ts_phone_vpn_start refuses every launch (any cause) while the app is UPDATING
 * under lifecycle quirk update-relaunch-refused (GAP-3, MV-BLOG "the old tunnel
 * can't be relaunched"): TS_EREFUSED, trace "launch-refused" (detail: the cause),
 * counted. A refused on-demand launch suspends on-demand triggers under
 * refused-launch-suspends-on-demand until a Settings toggle, the update's install
 * or a reboot; the policy keeps seeing the rules (IAN keeps dropping). A launch
 * without an installed app or configuration is TS_ENOENT (traced, not counted). */
uint32_t ts_phone_launches_refused(const ts_phone *ph);
bool ts_phone_on_demand_suspended(const ts_phone *ph);

/* ---- the user's actions on the VPN */
/* The Settings switch shows ON iff the session is connecting, connected or
 * reasserting (NEVPNStatus as Settings displays it). */
bool ts_phone_settings_switch_on(const ts_phone *ph);
/* Flips the switch from what it shows: off is ts_phone_vpn_toggle(false) (stop
 * userInitiated, on-demand left enabled, GT-25 a), on is ts_phone_vpn_toggle(true)
 * (start cause user; may be TS_EREFUSED). Either flip lifts on-demand suspension
 * first. TS_ENOENT when the configuration was removed (Settings no longer lists it). */
int ts_phone_settings_toggle(ts_phone *ph);
/* The VPN configuration is listed in Settings (true from creation until removed). */
bool ts_phone_vpn_profile_present(const ts_phone *ph);
/* The user removes the VPN profile. On-demand triggers stop at once. Under lifecycle
 * quirk config-removal-keeps-policy, a session that is down because of its provider
 * with no provider running keeps its configuration enforcing (its policy keeps
 * dropping) until the next reboot applies the removal (GAP-3, MV-BLOG). Otherwise
 * the removal takes effect now: on-demand off, an active session stopped
 * (configurationRemoved), then the configuration disabled (invalid) once the
 * session is disconnected. TS_ENOENT when already removed. */
int ts_phone_remove_vpn_profile(ts_phone *ph);
/* The user deletes the VPN app: a running provider is killed first
 * (configurationRemoved, SIGTERM), the app state becomes removed (listeners hear
 * TS_PHONE_EV_APP_REMOVED), then its configuration is removed as above, judged by
 * the state before the kill (a provider that was running is a running session, so
 * the removal is immediate). TS_ESTATE when already removed. */
int ts_phone_uninstall_app(ts_phone *ph);

/* ---- device-level events for other devices (the App Store, oracles) */
typedef enum ts_phone_event {
  TS_PHONE_EV_REBOOT = 0,       /* after every process died and the session rebooted */
  TS_PHONE_EV_UNLOCK,           /* the first unlock after boot */
  TS_PHONE_EV_SLEEP,
  TS_PHONE_EV_WAKE,
  TS_PHONE_EV_APP_OPENED,
  TS_PHONE_EV_APP_UPDATED,      /* ts_phone_app_update_installed */
  TS_PHONE_EV_APP_REMOVED,      /* ts_phone_uninstall_app */
  TS_PHONE_EV_PROFILE_REMOVED,  /* the configuration left Settings (profile removal, uninstall) */
  TS_PHONE_EV_COUNT
} ts_phone_event;
typedef void (*ts_phone_listener)(void *ctx, ts_phone *ph, ts_phone_event ev);
#define TS_PHONE_MAX_LISTENERS 8
const char *ts_phone_event_name(ts_phone_event ev);
/* Listeners run in registration order, synchronously, and may call the phone.
 * TS_EFULL beyond TS_PHONE_MAX_LISTENERS. */
int ts_phone_listen(ts_phone *ph, ts_phone_listener fn, void *ctx);
/* Removes a listener added with the same fn and ctx (TS_ENOENT when none). */
int ts_phone_unlisten(ts_phone *ph, ts_phone_listener fn, void *ctx);

/* The SSID of the Wi-Fi network en0 is on (ssidMatch); NULL or "" clears it. */
void ts_phone_set_wifi_ssid(ts_phone *ph, const char *ssid);
/* Evaluates the on-demand rules now for trigger t and acts: start (cause
 * on-demand) or stop (a Disconnect rule: stop reason none). out may be NULL.
 * The phone calls it by itself, from an event at the same instant, for an app
 * socket's outgoing traffic while the session is disconnected, after
 * ts_phone_set_primary (network-change) and after ts_phone_reboot (boot). */
int ts_phone_on_demand_trigger(ts_phone *ph, ts_od_trigger t, ts_od_decision *out);
/* The last evaluation (rule -1 and outcome none before any). */
ts_od_decision ts_phone_on_demand_last(const ts_phone *ph);
uint32_t ts_phone_on_demand_starts(const ts_phone *ph);

/* ---- VPN session, provider side */
int ts_phone_tunnel_set_settings(ts_phone *ph, const ts_vpn_settings *settings);
int ts_phone_tunnel_start_completed(ts_phone *ph, int error);
int ts_phone_tunnel_set_reasserting(ts_phone *ph, bool reasserting);
/* stopTunnel's completion: the provider process exits; disconnecting -> disconnected. */
int ts_phone_tunnel_stopped(ts_phone *ph);
/* The provider process ended by itself (crash, jetsam): session disconnected with
 * reason and exit. */
int ts_phone_tunnel_exited(ts_phone *ph, ts_vpn_stop_reason reason, ts_vpn_exit exit);
/* packetFlow.writePackets: one inner packet from the provider into the OS. */
int ts_phone_tunnel_write(ts_phone *ph, const uint8_t *pkt, size_t len);

/* ---- sockets */
/* TCP: opens and connects (the SYN leaves before this returns when there is a
 * path; an NWConnection that is waiting connects when its path appears). TS_ENOENT
 * when connect() finds no route (ENETUNREACH). */
int ts_phone_socket_open(ts_phone *ph, const ts_phone_socket_params *p, ts_sock_id *id);
/* Closes at once; a TCP connection is aborted (RST when synchronized, and its
 * on_closed with TS_TCP_REASON_ABORTED). */
int ts_phone_socket_close(ts_phone *ph, ts_sock_id id);
/* The owning process died (reboot): the socket goes without a word to the peer (no
 * RST) and without callbacks. */
int ts_phone_socket_drop(ts_phone *ph, ts_sock_id id);
/* The verdict of the socket's last send (kind none before any); TS_ENOENT for an
 * unknown or closed socket. For explanations: "the download's packets are dropped
 * (rule X)". */
int ts_phone_socket_last_verdict(const ts_phone *ph, ts_sock_id id, ts_verdict *out);
/* The last packet of an ordinary app (TS_TC_APP) that was dropped or silently
 * failed: its verdict and when. false (out untouched) when none yet. */
bool ts_phone_last_app_block(const ts_phone *ph, ts_verdict *out, ts_time *at);
/* TCP: queues bytes (ts_tcp_write: how many were taken, or a TS_E* code). */
int64_t ts_phone_tcp_write(ts_phone *ph, ts_sock_id id, const uint8_t *data, size_t len);
/* TCP: orderly close (FIN after the queued bytes); the socket stays until on_closed. */
int ts_phone_tcp_close(ts_phone *ph, ts_sock_id id);
/* TCP: the endpoint (state, stats, timers), NULL for another socket or before an
 * NWConnection found its path. Valid until the socket's on_closed returns. */
ts_tcp *ts_phone_tcp_endpoint(const ts_phone *ph, ts_sock_id id);
/* The UDP port or ICMP identifier of the socket (0 for an unknown socket). */
uint16_t ts_phone_socket_local_id(const ts_phone *ph, ts_sock_id id);
/* An ICMP echo request (dst NULL: the socket's remote). res (may be NULL) gets what
 * the API returned and the verdict. Returns 0 or a TS_E* code for bad arguments. */
int ts_phone_send_echo(ts_phone *ph, ts_sock_id id, const ts_ipaddr *dst, uint16_t seq,
                       const uint8_t *payload, uint32_t len, ts_sock_send_result *res);
/* A UDP datagram (dst NULL: the socket's remote and remote_port). */
int ts_phone_send_udp(ts_phone *ph, ts_sock_id id, const ts_ipaddr *dst, uint16_t dport,
                      const uint8_t *payload, uint32_t len, ts_sock_send_result *res);

void ts_phone_get_stats(const ts_phone *ph, ts_phone_stats *out);

#endif
