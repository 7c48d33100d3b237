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
 *    (ts_mux: flows of the provider's netstack -> ts_netstack_input; else echo
 *    replies claimed by the monitor's engine path; else ts_phone_tunnel_write).
 *  the userspace netstack (use_netstack, or a monitor / negotiation path that needs
 *    it; ios-model.md §2.4 item 3, §2.5 "Mux", GT-12): a ts_netstack (lwIP) created
 *    when the process launches, on the tunnel's addresses from the settings (/32,
 *    /128), MTU 1280, seeded from the stream "<name>/netstack"; destroyed when the
 *    process ends (stop, kill, crash, jetsam, reboot) or with the world. What it sends
 *    goes to ts_mux_outbound (the mux learns the flow), then straight into the engine
 *    (no utun, no OS policy: that is the workaround, MV-BLOG, PR #7289); dropped
 *    while no engine runs. Echo and TCP through it: the monitor's userspace-netstack
 *    path and the negotiation's netstack path.
 *  ephemeral-peer negotiation (`negotiation`, ts_neg_client.h; ios-model.md §2.5,
 *    MV-CODE PostQuantumKeyExchangeActor.swift / PR #7289): after a handshake of each
 *    engine, TCP to gateway:port on the chosen path, a pre-shared key installed on
 *    the relay peer and a new handshake; failed attempts reconnect on the
 *    10/20/30 s schedule. Completion after-negotiation makes startTunnel wait for it
 *    (GT-10: never, under includeAllNetworks on the NWTCPConnection path).
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
 *  lifecycle behaviours (ios-model.md §1.5, §1.6, §2.5, §5; all off by default):
 *    - error reasons: the error state carries Mullvad's BlockedStateReason (MV-CODE
 *      BlockedStateErrorMapper.swift): user (ts_provider_enter_error_state),
 *      device-locked, outdated-schema; and, not Mullvad's, negotiation-failed (the
 *      negotiation's on_exhausted error-state). Error settings follow error_mode for every
 *      reason (the default, with routes, is Mullvad's since PR #5477).
 *    - GT-23 (needs_keychain): the settings and keys are Keychain items with
 *      after-first-unlock protection, unreadable until ts_phone_keychain_available.
 *      keychain_locked blocked-state (MV-CODE commit 68293135ea): startTunnel enters
 *      the error state device-locked and completes; every boot_recovery_period
 *      (bootRecoveryPeriodicity, 5 s, MV-CODE Timings.swift) it reads again and, once
 *      readable, leaves the error state and connects. deadlock (before that commit):
 *      startTunnel never returns; the start watchdog (F-60S) ends it. The phone's
 *      device_unlocked op is not used: Mullvad notices the unlock only on its retry
 *      timer (State+Extensions.swift shouldRestartAutomatically), so nothing happens
 *      at the unlock itself.
 *    - GT-24 (ts_provider_set_settings_outdated): a process launched while the stored
 *      settings are of an older schema enters the error state outdated-schema and
 *      stays there (no automatic restart for outdatedSchema, MV-CODE). The app_opened
 *      op is the main app migrating them: outdated cleared; a provider in that error
 *      state leaves it and connects (a new handshake); with no provider process the
 *      app starts the VPN (cause app). A process already running keeps the settings
 *      it read at launch.
 *    - GT-30 (settings_timeout): WireGuardKit's WireGuardAdapter waits at most 5 s for
 *      setTunnelNetworkSettings and then proceeds as if applied (WG commit db4e291):
 *      engine, handshake, startTunnel completion, while the session has no settings
 *      (unless the callback comes later, which applies them then). 0: wait forever.
 *    - GT-21 (memory_on_connect): when the tunnel first carries traffic in a process
 *      (startTunnel completed, engine up, not in the error state) the apps' reconnect
 *      burst adds these bytes (F-MEM; meow-ios#98, §1.6); over the profile's limit
 *      the process is killed (jetsam), so with on-demand it loops connect/kill.
 *    - sleep/wake (A-SLEEP; MV-CODE TunnelMonitor.swift onSleep/onWake): the monitor's
 *      connectivity timer stops on sleep and restarts on wake (ts_monitor_sleep/_wake).
 *      A process launched while the phone sleeps starts with its monitor asleep.
 *  introspection (plain data for explainers): ts_provider_start_blocked,
 *    ts_provider_settings_pending, ts_provider_error_reason_get, ts_monitor_last_send.
 * The provider is attached to the phone's world. */
#ifndef TS_PROVIDER_H
#define TS_PROVIDER_H

#include <stdbool.h>
#include <stdint.h>

#include "ts_monitor.h"
#include "ts_mux.h"
#include "ts_neg_client.h"
#include "ts_netstack.h"
#include "ts_phone.h"
#include "ts_wgdev.h"

typedef enum ts_provider_completion {
  TS_PROVIDER_COMPLETE_AFTER_SETTINGS = 0, /* WireGuardKit: once settings are applied */
  TS_PROVIDER_COMPLETE_AFTER_HANDSHAKE,    /* the first completed handshake */
  TS_PROVIDER_COMPLETE_AFTER_MONITOR,      /* Mullvad: the monitor's connectionEstablished */
  TS_PROVIDER_COMPLETE_AFTER_NEGOTIATION,  /* the ephemeral-peer negotiation is done (its
                                              handshake with the PSK completed); needs
                                              negotiation.enabled */
} ts_provider_completion;

typedef enum ts_provider_error_mode {
  TS_PROVIDER_ERROR_WITH_ROUTES = 0, /* Mullvad since PR #5477: default routes, blackhole */
  TS_PROVIDER_ERROR_WITHOUT_ROUTES,  /* peerless/empty settings: no routes (leaks without IAN) */
} ts_provider_error_mode;

/* Why the provider is in its error (blocked) state: the modelled subset of Mullvad's
 * BlockedStateReason (ios-model.md §2.5, MV-CODE). */
typedef enum ts_provider_error_reason {
  TS_PROVIDER_REASON_NONE = 0,        /* not in the error state */
  TS_PROVIDER_REASON_USER,            /* ts_provider_enter_error_state (a timeline action) */
  TS_PROVIDER_REASON_DEVICE_LOCKED,   /* deviceLocked: Keychain unreadable before first unlock */
  TS_PROVIDER_REASON_OUTDATED_SCHEMA, /* outdatedSchema: settings of an older app version */
  TS_PROVIDER_REASON_NEGOTIATION_FAILED, /* not Mullvad's (INF): negotiation on_exhausted
                                            error-state; no automatic restart */
  TS_PROVIDER_REASON_COUNT
} ts_provider_error_reason;

/* What startTunnel does when needs_keychain and the Keychain is still locked (GT-23). */
typedef enum ts_provider_keychain_locked {
  TS_PROVIDER_KEYCHAIN_BLOCKED_STATE = 0, /* MV-CODE since 68293135ea: error state device-locked,
                                             read again every boot_recovery_period */
  TS_PROVIDER_KEYCHAIN_DEADLOCK,          /* before it: startTunnel never returns (F-60S ends it) */
  TS_PROVIDER_KEYCHAIN_COUNT
} ts_provider_keychain_locked;

/* bootRecoveryPeriodicity (MV-CODE ios/PacketTunnelCore/Actor/Timings.swift). */
#define TS_PROVIDER_BOOT_RECOVERY_PERIOD (5 * TS_SEC)
/* WireGuardAdapter's wait for setTunnelNetworkSettings (WG commit db4e291). */
#define TS_PROVIDER_WG_SETTINGS_TIMEOUT (5 * TS_SEC)

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
  uint32_t keychain_retries;   /* device-locked: reads again on the recovery timer (GT-23) */
  uint32_t settings_timeouts;  /* settings_timeout ran out and the provider proceeded (GT-30) */
  uint32_t connect_bursts;     /* memory_on_connect applied (GT-21) */
  uint32_t netstack_created, netstack_destroyed; /* userspace netstack instances */
  uint64_t netstack_out;        /* netstack packets handed to the engine */
  uint64_t netstack_out_dropped; /* ... refused, or sent while no engine ran */
  uint64_t netstack_in;         /* packets from the tunnel the mux gave the netstack */
  uint64_t netstack_in_dropped; /* ... that it could not take (TS_ENOMEM) */
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
  uint64_t memory_on_connect;     /* bytes added when the tunnel first carries traffic in a
                                     process (reconnect burst, GT-21); 0: none */
  ts_time settings_timeout;       /* proceed this long after setTunnelNetworkSettings without
                                     its callback (WireGuardKit: 5 s, GT-30); 0: wait forever */
  bool needs_keychain;            /* settings/keys are after-first-unlock Keychain items (GT-23) */
  ts_provider_keychain_locked keychain_locked; /* what startTunnel does while they are locked */
  ts_time boot_recovery_period;   /* device-locked retry period; 0: 5 s */
  const uint8_t *public_key;      /* optional precomputed keys (see wg_device_config */
  const uint8_t *static_static;   /* and wg_peer_config); must outlive the provider */
  /* In-tunnel traffic (issue 7; all off by default). */
  bool use_netstack;              /* the userspace netstack and mux (also on when the monitor
                                     or the negotiation takes a netstack path) */
  ts_neg_config negotiation;      /* ephemeral-peer negotiation (ts_neg_client.h; start from
                                     ts_neg_config_default); TS_ENOTSUP at create for a
                                     path the profile lacks (NWTCPConnection,
                                     virtualInterface) */
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
/* Enters the error (blocked) state, reason user: error settings applied per
 * error_mode, the engine closed, utun packets discarded. */
int ts_provider_enter_error_state(ts_provider *p);
/* "none", "user", "device-locked", "outdated-schema" (NULL out of range). */
const char *ts_provider_error_reason_name(ts_provider_error_reason r);
/* "blocked-state", "deadlock" (NULL out of range). */
const char *ts_provider_keychain_locked_name(ts_provider_keychain_locked k);
/* The stored settings are of an older schema (true: an app update that changes the
 * schema installed; false: migrated). Read by the next launch (GT-24). */
int ts_provider_set_settings_outdated(ts_provider *p, bool outdated);
bool ts_provider_settings_outdated(const ts_provider *p);
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
/* TS_PROVIDER_REASON_NONE when not in the error state (or no process runs). */
ts_provider_error_reason ts_provider_error_reason_get(const ts_provider *p);
/* startTunnel has not returned (start_blocks, Keychain deadlock): stopTunnel is not served. */
bool ts_provider_start_blocked(const ts_provider *p);
/* setTunnelNetworkSettings was called for the tunnel's settings and has not called back. */
bool ts_provider_settings_pending(const ts_provider *p);
/* The tunnel's IPv4 address from the settings (family 0 when none). */
ts_ipaddr ts_provider_tunnel_address(const ts_provider *p, int family);
ts_wgdev *ts_provider_wgdev(const ts_provider *p); /* NULL when not running */
wg_peer *ts_provider_peer(const ts_provider *p);
ts_sock_id ts_provider_socket(const ts_provider *p);
ts_monitor *ts_provider_monitor(const ts_provider *p); /* NULL without use_monitor */
const char *ts_provider_name(const ts_provider *p);

/* ---- in-tunnel traffic */
/* The process's userspace netstack (NULL: not configured, no process, or it could
 * not be created: trace provider-error "netstack: ..."). */
ts_netstack *ts_provider_netstack(const ts_provider *p);
ts_mux *ts_provider_mux(const ts_provider *p); /* NULL without a netstack */
/* The negotiation: done = the handshake with the negotiated PSK completed in the
 * running process (false without negotiation). */
bool ts_provider_negotiation_done(const ts_provider *p);
ts_neg_state ts_provider_negotiation_state(const ts_provider *p); /* OFF without negotiation */
void ts_provider_negotiation_stats(const ts_provider *p, ts_neg_stats *out);
/* The last attempt (false before any; see ts_neg_attempt). */
bool ts_provider_negotiation_last(const ts_provider *p, ts_neg_attempt *out);
void ts_provider_get_stats(const ts_provider *p, ts_provider_stats *out);

#endif
