/* ts_provider: the packet-tunnel provider process of a phone, hosting the
 * WireGuard engine (through sim/net's ts_wgdev adapter).
 *
 *  startTunnel (the phone calls it after ts_phone_vpn_start):
 *    opens the provider's UDP socket (traffic class provider, subject to the policy
 *    like any other socket), calls setTunnelNetworkSettings (after settings_delay;
 *    tunnelRemoteAddress defaults to the relay so that the session's "VPN server"
 *    exemption applies), then creates the engine, adds the relay peer (allowed
 *    0.0.0.0/0 and ::/0) and initiates the handshake; the startTunnel completion
 *    follows `completion`: at once (WireGuardKit), after the first handshake, or
 *    after the monitor's first "connected" (Mullvad).
 *  packets: utun -> ts_wgdev_tx_ip -> send_udp -> the provider's socket through the
 *    phone; a datagram for the socket -> ts_wgdev_rx_udp -> deliver_ip -> the mux
 *    (echo replies claimed by the monitor's engine path) or ts_phone_tunnel_write.
 *  stopTunnel: engine destroyed (keys zeroed), socket closed, monitor stopped,
 *    stop completed (the process exits; the next start launches a new one).
 *  error state (GT-20): settings with default routes (blackhole: utun packets are
 *    discarded) or without routes (routes removed: the OS decides where traffic
 *    goes), selectable.
 *  process lifecycle (docs/model-reference.md §6): the process is launched by
 *    startTunnel and ends by stopTunnel's completion, a crash (ts_provider_crash),
 *    jetsam (its memory figure, ts_provider_set_memory, above the profile's
 *    provider-memory limit, F-MEM) or a kill by the system (watchdog, SIGTERM,
 *    reboot: the phone's killed op). Misbehaviours are explicit config: a startTunnel
 *    that blocks (GT-22), setTunnelNetworkSettings that never calls back (GT-30), a
 *    stopTunnel that never completes.
 * The provider is attached to the phone's world. */
#ifndef TS_PROVIDER_H
#define TS_PROVIDER_H

#include <stdbool.h>
#include <stdint.h>

#include "ts_monitor.h"
#include "ts_phone.h"
#include "ts_wgdev.h"

typedef enum ts_provider_completion {
  TS_PROVIDER_COMPLETE_AFTER_SETTINGS = 0, /* WireGuardKit: once settings are applied */
  TS_PROVIDER_COMPLETE_AFTER_HANDSHAKE,    /* the first completed handshake */
  TS_PROVIDER_COMPLETE_AFTER_MONITOR,      /* Mullvad: the monitor's connectionEstablished */
} ts_provider_completion;

typedef enum ts_provider_error_mode {
  TS_PROVIDER_ERROR_WITH_ROUTES = 0, /* Mullvad since PR #5477: default routes, blackhole */
  TS_PROVIDER_ERROR_WITHOUT_ROUTES,  /* peerless/empty settings: no routes (leaks without IAN) */
} ts_provider_error_mode;

/* What the provider does with the monitor's judgements (explicit, never implied). */
typedef enum ts_provider_on_loss {
  TS_PROVIDER_LOSS_IGNORE = 0,  /* report only */
  TS_PROVIDER_LOSS_REHANDSHAKE, /* initiate a new handshake (Mullvad picks a new relay) */
  TS_PROVIDER_LOSS_REASSERT,    /* connected: reasserting = true and re-handshake, false when back */
} ts_provider_on_loss;

typedef struct ts_provider_stats {
  uint32_t launches, stops;
  uint64_t utun_read, utun_written, utun_discarded; /* discarded: error state or engine refusal */
  uint64_t udp_sent, udp_send_refused, udp_received;
  uint32_t handshakes, reconnects;
  uint32_t crashes, jetsams, kills; /* process ends other than a completed stop */
} ts_provider_stats;

typedef struct ts_provider_config {
  const char *name;               /* engine name and RNG stream base; NULL: "<phone>-provider" */
  uint8_t private_key[WG_KEY_LEN];
  uint8_t relay_public_key[WG_KEY_LEN];
  uint8_t preshared_key[WG_KEY_LEN];
  bool has_preshared_key;
  ts_ipaddr relay;                /* the relay's endpoint address (IPv4) */
  uint16_t relay_port;            /* 0: 51820 */
  uint16_t local_port;            /* the provider socket's UDP port; 0: ephemeral */
  uint16_t persistent_keepalive_s;
  ts_vpn_settings settings;       /* see ts_provider_default_settings */
  ts_time settings_delay;         /* until setTunnelNetworkSettings calls back; 0: at once */
  ts_provider_completion completion;
  ts_provider_error_mode error_mode;
  bool use_monitor;
  ts_monitor_config monitor;
  ts_provider_on_loss on_loss;
  /* Lifecycle behaviours (all false: a well-behaved provider). */
  bool start_blocks;              /* startTunnel never returns (e.g. a settings-migration retry
                                     loop, GT-22): nothing follows, stopTunnel is not served */
  bool settings_never_complete;   /* setTunnelNetworkSettings never calls back (GT-30): the
                                     settings are not applied, the provider waits */
  bool stop_never_completes;      /* stopTunnel's completion handler is never called */
  uint64_t memory;                /* resident memory of a new process, bytes (F-MEM model) */
  const uint8_t *public_key;      /* optional precomputed keys (see wg_device_config */
  const uint8_t *static_static;   /* and wg_peer_config); must outlive the provider */
} ts_provider_config;

/* Tunnel settings as Mullvad/WireGuardKit apply them: tunnelRemoteAddress = relay,
 * address tunnel_addr/32, included routes 0.0.0.0/0 and ::/0, DNS 10.64.0.1. */
void ts_provider_default_settings(ts_vpn_settings *s, const ts_ipaddr *relay,
                                  const ts_ipaddr *tunnel_addr);

/* Installs the provider on the phone (TS_EEXIST if it has one). */
int ts_provider_create(ts_phone *ph, const ts_provider_config *cfg, ts_provider **out);
/* The containing app starts the VPN: ts_phone_vpn_start(phone, cause). */
int ts_provider_start(ts_provider *p, ts_vpn_start_cause cause);
/* The containing app stops the VPN: ts_phone_vpn_stop(phone, reason). */
int ts_provider_stop(ts_provider *p, ts_vpn_stop_reason reason);
/* Enters the error (blocked) state: error settings applied per error_mode, the
 * engine closed, utun packets discarded. */
int ts_provider_enter_error_state(ts_provider *p);
/* The memory figure the process reports (bytes). Above the profile's
 * provider-memory limit (when > 0) the system kills it at once: jetsam
 * (per-process-limit), session stop reason providerFailed, exit jetsam.
 * TS_ESTATE when no process runs. */
int ts_provider_set_memory(ts_provider *p, uint64_t bytes);
uint64_t ts_provider_memory(const ts_provider *p);
/* The process dies by itself (exit crash, stop reason providerFailed). */
int ts_provider_crash(ts_provider *p);
/* NETunnelProvider.reasserting. */
int ts_provider_set_reasserting(ts_provider *p, bool reasserting);

/* A hand-built inner packet straight to the engine (no utun, no policy). */
int ts_provider_tx_ip(ts_provider *p, const uint8_t *pkt, size_t len);
/* The mux: echo replies with this identifier go to fn instead of utun (one claim). */
typedef void (*ts_provider_icmp_fn)(void *ctx, const ts_ip_info *info, const uint8_t *pkt,
                                    size_t len);
int ts_provider_claim_icmp(ts_provider *p, uint16_t id, ts_provider_icmp_fn fn, void *ctx);
void ts_provider_release_icmp(ts_provider *p);

ts_phone *ts_provider_phone(const ts_provider *p);
bool ts_provider_running(const ts_provider *p);
bool ts_provider_in_error_state(const ts_provider *p);
/* The tunnel's IPv4 address from the settings (family 0 when none). */
ts_ipaddr ts_provider_tunnel_address(const ts_provider *p, int family);
ts_wgdev *ts_provider_wgdev(const ts_provider *p); /* NULL when not running */
wg_peer *ts_provider_peer(const ts_provider *p);
ts_sock_id ts_provider_socket(const ts_provider *p);
ts_monitor *ts_provider_monitor(const ts_provider *p); /* NULL without use_monitor */
void ts_provider_get_stats(const ts_provider *p, ts_provider_stats *out);

#endif
