/* Scenario loader: reads a scenario YAML file (schema v1, see
 * docs/scenario-reference.md), validates it completely and returns plain structs.
 *
 * Every mistake in a file is reported once, as the first error found, with a
 * position: "file:line:col: <what was found>, expected <what was expected>".
 * After a successful load every reference is resolved to an index and every value
 * is in range, so consumers never validate again.
 *
 * Ownership: the scenario owns every array and string hanging off it; free it with
 * ts_scenario_free(). Nothing is global: loads are independent and reentrant. */
#ifndef TS_SCENARIO_H
#define TS_SCENARIO_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "ts_error.h"
#include "ts_ipsum.h"
#include "ts_time.h"

#define TS_SCENARIO_VERSION 1
/* Longest name of anything (scenario, node, interface, link, app) including its NUL. */
#define TS_SCENARIO_NAME_MAX 64
/* Bigger inputs are refused before parsing: scenarios are hand-written files. */
#define TS_SCENARIO_MAX_BYTES ((size_t)16 << 20)
/* Index value meaning "none", e.g. an interface that is on no link. */
#define TS_SCENARIO_NONE SIZE_MAX

/* Where a mistake is. line and col are 1-based; both are 0 when the error has no
 * position (the file could not be read). */
typedef struct ts_diag {
  char file[256];
  int line;
  int col;
  char message[512];
} ts_diag;

/* Where an element was defined in the file, for errors found later (e.g. by the
 * world builder). 1-based. */
typedef struct ts_srcpos {
  int line;
  int col;
} ts_srcpos;


typedef struct ts_scenario_iface {
  char name[TS_SCENARIO_NAME_MAX];
  ts_ipprefix *addresses; /* at least one, with prefix lengths as written */
  size_t address_count;
  size_t link;          /* index into ts_scenario.links, or TS_SCENARIO_NONE */
  ts_srcpos pos;
} ts_scenario_iface;

/* A static route of a node: packets to `to` leave through one of its interfaces. */
typedef struct ts_scenario_route {
  ts_ipprefix to;
  size_t iface;          /* index into the node's interfaces */
  ts_srcpos pos;
} ts_scenario_route;

typedef struct ts_scenario_node {
  char name[TS_SCENARIO_NAME_MAX];
  ts_scenario_iface *interfaces;
  size_t interface_count;
  bool forwarding;       /* a router: forwards packets not addressed to it; default false */
  ts_scenario_route *routes; /* in file order */
  size_t route_count;
  ts_srcpos pos;
} ts_scenario_node;

typedef struct ts_scenario_endpoint {
  size_t node;   /* index into ts_scenario.nodes */
  size_t iface;  /* index into that node's interfaces */
} ts_scenario_endpoint;

typedef struct ts_scenario_link {
  char name[TS_SCENARIO_NAME_MAX];
  /* to_phone: written with one endpoint, end 1 is the phone's Wi-Fi or cellular
   * interface (ts_scenario_phone.ifaces[].link names this link) and endpoints[1]
   * is {TS_SCENARIO_NONE, TS_SCENARIO_NONE}. */
  ts_scenario_endpoint endpoints[2];
  bool to_phone;
  ts_time delay;         /* one-way, 0..1h */
  ts_time jitter;        /* 0..delay */
  double loss;           /* probability 0..1 */
  uint64_t rate_bps;     /* bits per second; 0 = unlimited */
  uint32_t mtu;          /* 68..65535 */
  uint32_t queue_packets;/* 1..1000000 */
  bool up;               /* state at time 0 */
  ts_srcpos pos;
} ts_scenario_link;

typedef enum ts_app_type {
  TS_APP_PING = 0,
  TS_APP_UDP_ECHO_SERVER,
  TS_APP_UDP_ECHO_CLIENT,
  TS_APP_TCP_SERVER,        /* answers "GET <n>\n" with n bytes, then closes (web-like) */
  TS_APP_TCP_ECHO_SERVER,   /* echoes a long-lived connection (APNs-like) */
  TS_APP_TYPE_COUNT
} ts_app_type;

typedef struct ts_scenario_app {
  char name[TS_SCENARIO_NAME_MAX];
  ts_app_type type;
  size_t node;        /* index into ts_scenario.nodes */
  bool has_target;    /* true for ping and udp-echo-client */
  ts_ipprefix target; /* plain address (len 32 or 128) */
  uint16_t port;      /* udp-echo-*: 1..65535, default 7; 0 for ping */
  ts_time start;      /* default 0 */
  ts_time interval;   /* > 0, default 1s (ping, udp-echo-client) */
  uint32_t count;     /* 1..1000000, default 1 (ping, udp-echo-client) */
  uint32_t size;      /* payload bytes 0..65000, default 56 (ping, udp-echo-client) */
  ts_srcpos pos;
} ts_scenario_app;

/* ------------------------------------------------------------ world services */

/* Longest DNS name in text form (RFC 1035: 253 characters) including its NUL. */
#define TS_SCENARIO_DNS_NAME_MAX 254
#define TS_SCENARIO_DHCP_MAX_DNS 4      /* = TS_DHCP_MAX_ADDRS */
#define TS_SCENARIO_DHCP_MAX_ROUTES 16  /* = TS_DHCP_MAX_ROUTES */
/* Largest DHCP lease: 0xfffffffe s (0xffffffff means infinite on the wire). */
#define TS_SCENARIO_DHCP_MAX_LEASE ((ts_time)0xfffffffeLL * TS_SEC)

/* A WireGuard relay (sim/net/ts_relay.h) on a node: the engine as responder. */
typedef struct ts_scenario_relay {
  char name[TS_SCENARIO_NAME_MAX];
  size_t node;            /* index into ts_scenario.nodes; at most one relay per (node, port) */
  uint16_t port;          /* UDP port, default 51820 */
  ts_ipaddr gateway;      /* in-tunnel gateway answering ICMP, default 10.64.0.1 */
  char hostname[TS_SCENARIO_DNS_NAME_MAX]; /* DNS name the provider resolves; "" = none */
  bool negotiation;       /* serves ephemeral-peer negotiation on gateway:1337 (lwIP); default false */
  ts_srcpos pos;
} ts_scenario_relay;

typedef struct ts_scenario_dhcp_route { /* option 121 */
  ts_ipprefix to;         /* IPv4 prefix */
  ts_ipaddr via;          /* IPv4 router */
} ts_scenario_dhcp_route;

/* A DHCP server (sim/net/ts_dhcp.h) serving one interface of a node. IPv4 only. */
typedef struct ts_scenario_dhcp_server {
  size_t node, iface;     /* indices; one server per interface */
  ts_ipaddr pool_first, pool_last; /* inclusive, first <= last */
  uint8_t prefix_len;     /* 0..32, default 24 */
  bool has_router;
  ts_ipaddr router;       /* option 3 (absent: not sent) */
  ts_ipaddr dns[TS_SCENARIO_DHCP_MAX_DNS]; /* option 6 */
  size_t dns_count;
  ts_time lease;          /* whole seconds, 1s..TS_SCENARIO_DHCP_MAX_LEASE, default 1h */
  ts_scenario_dhcp_route routes[TS_SCENARIO_DHCP_MAX_ROUTES];
  size_t route_count;
  ts_srcpos pos;
} ts_scenario_dhcp_server;

/* One name -> address answer. Names are stored as written (compared without case). */
typedef struct ts_scenario_dns_entry {
  char name[TS_SCENARIO_DNS_NAME_MAX];
  ts_ipaddr addr;         /* A (family 4) or AAAA (family 6) */
} ts_scenario_dns_entry;

/* A DNS server (sim/net/ts_dns.h) on a node. Entries of one name are consecutive,
 * in file order. */
typedef struct ts_scenario_dns_server {
  size_t node;            /* index; one server per node */
  ts_time ttl;            /* whole seconds, 0..68 years, default 60s */
  ts_scenario_dns_entry *records;  /* ts_dns_server_add */
  size_t record_count;
  ts_scenario_dns_entry *spoofs;   /* ts_dns_server_spoof */
  size_t spoof_count;
  ts_srcpos pos;
} ts_scenario_dns_server;

/* ------------------------------------------------------------ the phone */

typedef enum ts_scenario_phone_if {
  TS_SCENARIO_WIFI = 0,   /* en0 */
  TS_SCENARIO_CELLULAR,   /* pdp_ip0 */
  TS_SCENARIO_PHONE_IF_COUNT
} ts_scenario_phone_if;

#define TS_SCENARIO_IFACE_MAX_DNS 4

typedef struct ts_scenario_phone_iface {
  bool configured;        /* the section was written */
  size_t link;            /* a link with to_phone set */
  bool dhcp;              /* Wi-Fi only: address from a DHCP server on the link's end 0 */
  bool has_address;       /* exactly one of dhcp / has_address */
  ts_ipprefix address;
  bool has_router;        /* static only: the default gateway */
  ts_ipaddr router;
  ts_ipaddr dns[TS_SCENARIO_IFACE_MAX_DNS]; /* static only */
  size_t dns_count;
  char ssid[33];          /* Wi-Fi only: the network's SSID for ssidMatch; "" none */
  ts_srcpos pos;
} ts_scenario_phone_iface;

/* NEVPNProtocol flags, in the order of sim/os's ts_vpn_flag (names differ: the
 * scenario uses kebab-case, ts_scenario_flag_apple_name gives Apple's). */
typedef enum ts_scenario_flag {
  TS_SCENARIO_FLAG_INCLUDE_ALL_NETWORKS = 0,
  TS_SCENARIO_FLAG_EXCLUDE_LOCAL_NETWORKS,
  TS_SCENARIO_FLAG_EXCLUDE_CELLULAR_SERVICES,
  TS_SCENARIO_FLAG_EXCLUDE_APNS,
  TS_SCENARIO_FLAG_EXCLUDE_DEVICE_COMMUNICATION,
  TS_SCENARIO_FLAG_ENFORCE_ROUTES,
  TS_SCENARIO_FLAG_DISCONNECT_ON_SLEEP,
  TS_SCENARIO_FLAG_COUNT
} ts_scenario_flag;

/* Value of a flag: left to the OS profile's default, or set. */
typedef enum ts_scenario_tristate {
  TS_SCENARIO_DEFAULT = -1,
  TS_SCENARIO_FALSE = 0,
  TS_SCENARIO_TRUE = 1
} ts_scenario_tristate;

/* The tunnel monitor's ping path (sim/devices ts_monitor_path, same order). */
typedef enum ts_scenario_monitor_path {
  TS_SCENARIO_MONITOR_BSD_UTUN = 0,       /* BSD ICMP socket with IP_BOUND_IF utun */
  TS_SCENARIO_MONITOR_NWCONNECTION_VIRTUAL, /* NWConnection requiredInterface=virtualInterface */
  TS_SCENARIO_MONITOR_ENGINE_DIRECT,      /* hand-built packets handed to the engine */
  TS_SCENARIO_MONITOR_USERSPACE_NETSTACK, /* through the provider's lwIP instance and the mux */
  TS_SCENARIO_MONITOR_PATH_COUNT
} ts_scenario_monitor_path;

/* Defaults: ios-model.md §2.5 (Mullvad TunnelMonitorTimings). */
typedef struct ts_scenario_monitor {
  bool configured;        /* absent: no monitor */
  ts_scenario_monitor_path path;
  ts_ipaddr target;       /* default: the relay's gateway */
  uint32_t size;          /* echo payload bytes 0..1024, default 16 */
  ts_time check_interval;            /* 1s */
  ts_time ping_delay;                /* 3s */
  ts_time establish_timeout;         /* 4s */
  uint32_t establish_timeout_multiplier; /* 2 (1..16) */
  ts_time ping_timeout;              /* 15s, >= establish_timeout */
  ts_time heartbeat_interval;        /* 10s */
  ts_time heartbeat_reply_timeout;   /* 3s */
  ts_srcpos pos;
} ts_scenario_monitor;

/* sim/devices ts_provider_error_mode, same order. */
typedef enum ts_scenario_error_state {
  TS_SCENARIO_ERROR_WITH_ROUTES = 0,   /* Mullvad since PR #5477: traffic captured, dropped */
  TS_SCENARIO_ERROR_WITHOUT_ROUTES,    /* peerless settings: no routes */
  TS_SCENARIO_ERROR_STATE_COUNT
} ts_scenario_error_state;

/* sim/devices ts_provider_completion, same order. */
typedef enum ts_scenario_completion {
  TS_SCENARIO_COMPLETE_AFTER_SETTINGS = 0,
  TS_SCENARIO_COMPLETE_AFTER_HANDSHAKE,
  TS_SCENARIO_COMPLETE_AFTER_MONITOR,
  TS_SCENARIO_COMPLETE_AFTER_NEGOTIATION, /* the ephemeral-peer negotiation is done */
  TS_SCENARIO_COMPLETION_COUNT
} ts_scenario_completion;

/* sim/devices ts_provider_on_loss, same order. */
typedef enum ts_scenario_on_loss {
  TS_SCENARIO_LOSS_IGNORE = 0,
  TS_SCENARIO_LOSS_REHANDSHAKE,
  TS_SCENARIO_LOSS_REASSERT,
  TS_SCENARIO_ON_LOSS_COUNT
} ts_scenario_on_loss;

/* sim/devices ts_provider keychain behaviour (GT-23), same order. */
typedef enum ts_scenario_keychain {
  TS_SCENARIO_KEYCHAIN_BLOCKED_STATE = 0, /* Mullvad since 68293135ea: blocked, retry every 5 s */
  TS_SCENARIO_KEYCHAIN_DEADLOCK,          /* before it: startTunnel blocks until the watchdog */
  TS_SCENARIO_KEYCHAIN_COUNT
} ts_scenario_keychain;

/* NEOnDemandRule (A-OD), in the order of sim/os's ts_od_action / ts_od_interface_match. */
typedef enum ts_scenario_od_action {
  TS_SCENARIO_OD_CONNECT = 0,
  TS_SCENARIO_OD_DISCONNECT,
  TS_SCENARIO_OD_EVALUATE_CONNECTION,
  TS_SCENARIO_OD_IGNORE,
  TS_SCENARIO_OD_ACTION_COUNT
} ts_scenario_od_action;
typedef enum ts_scenario_od_interface {
  TS_SCENARIO_OD_ANY = 0,
  TS_SCENARIO_OD_WIFI,
  TS_SCENARIO_OD_CELLULAR,
  TS_SCENARIO_OD_ETHERNET,
  TS_SCENARIO_OD_INTERFACE_COUNT
} ts_scenario_od_interface;
#define TS_SCENARIO_MAX_OD_RULES 16  /* = TS_VPN_MAX_OD_RULES */
#define TS_SCENARIO_MAX_SSIDS 8      /* = TS_VPN_MAX_SSIDS */
#define TS_SCENARIO_SSID_MAX 33      /* = TS_VPN_SSID_MAX: 32 bytes and the NUL */
typedef struct ts_scenario_od_rule {
  ts_scenario_od_action action;
  ts_scenario_od_interface interface;   /* interfaceTypeMatch, default any */
  char ssids[TS_SCENARIO_MAX_SSIDS][TS_SCENARIO_SSID_MAX]; /* ssidMatch; none = any */
  size_t ssid_count;
  ts_srcpos pos;
} ts_scenario_od_rule;

/* How the provider reaches the in-tunnel negotiation service (ios-model.md §2.5). */
typedef enum ts_scenario_neg_path {
  TS_SCENARIO_NEG_NWTCPCONNECTION = 0,  /* createTCPConnectionThroughTunnel (legacy) */
  TS_SCENARIO_NEG_NWCONNECTION_VIRTUAL, /* NWConnection, requiredInterface = virtualInterface */
  TS_SCENARIO_NEG_USERSPACE_NETSTACK,   /* the provider's lwIP instance through the mux */
  TS_SCENARIO_NEG_PATH_COUNT
} ts_scenario_neg_path;

/* Ephemeral-peer negotiation (post-quantum / DAITA in Mullvad): TCP to the relay's
 * gateway, then a pre-shared key both sides install. Defaults: §2.5's schedule. */
typedef struct ts_scenario_negotiation {
  bool configured;
  ts_scenario_neg_path path;
  uint16_t port;              /* default 1337 */
  ts_time timeout_initial;    /* default 10s, doubling */
  ts_time timeout_max;        /* default 30s */
  uint32_t max_retries;       /* default 10 */
  bool give_up;               /* after max-retries: the error state (INF) instead of cycling
                                 at timeout-max (Mullvad's code cycles); default false */
  ts_srcpos pos;
} ts_scenario_negotiation;

#define TS_SCENARIO_VPN_MAX_ADDRESSES 4   /* = TS_VPN_MAX_ADDRESSES */
#define TS_SCENARIO_VPN_MAX_ROUTES 64     /* = TS_VPN_MAX_ROUTES */
#define TS_SCENARIO_VPN_MAX_DNS 8         /* = TS_VPN_MAX_DNS */

/* The VPN configuration, its provider and tunnel settings. */
typedef struct ts_scenario_vpn {
  bool configured;        /* absent: no VPN on the phone */
  bool enabled;           /* the configuration's isEnabled, default true */
  ts_scenario_tristate flags[TS_SCENARIO_FLAG_COUNT]; /* default: the profile's */
  size_t relay;           /* index into ts_scenario.relays */
  ts_ipprefix tunnel_addresses[TS_SCENARIO_VPN_MAX_ADDRESSES]; /* default 10.64.0.2/32 */
  size_t tunnel_address_count;
  ts_ipprefix included_routes[TS_SCENARIO_VPN_MAX_ROUTES]; /* default 0.0.0.0/0, ::/0 */
  size_t included_route_count;
  ts_ipprefix excluded_routes[TS_SCENARIO_VPN_MAX_ROUTES]; /* default none */
  size_t excluded_route_count;
  ts_ipaddr dns[TS_SCENARIO_VPN_MAX_DNS]; /* default: the relay's gateway */
  size_t dns_count;
  bool on_demand;         /* isOnDemandEnabled; default false */
  ts_scenario_od_rule od_rules[TS_SCENARIO_MAX_OD_RULES]; /* default: one Connect(any) */
  size_t od_rule_count;   /* 0: the default */
  bool has_connect_at;
  ts_time connect_at;     /* when the user starts the VPN; absent: not started by the scenario */
  ts_scenario_error_state error_state; /* default with-routes */
  ts_scenario_completion completion;   /* default after-settings */
  ts_time settings_delay;              /* default 0s */
  uint16_t persistent_keepalive;       /* seconds, 0 = off (default) */
  ts_scenario_on_loss on_loss;         /* default ignore */
  ts_scenario_monitor monitor;
  ts_scenario_negotiation negotiation;
  /* The provider process's behaviours (all off by default: a well-behaved provider). */
  bool start_blocks;                   /* startTunnel never returns (GT-22) */
  bool settings_never_complete;        /* setTunnelNetworkSettings never calls back (GT-30) */
  ts_time settings_timeout;            /* then proceed after this long (WireGuardKit 5 s); 0: wait */
  bool stop_never_completes;
  uint32_t memory;                     /* bytes of a new process (F-MEM), default 8 MiB */
  uint32_t memory_on_connect;          /* bytes added on reaching connected (GT-21), default 0 */
  bool needs_keychain;                 /* reads its settings from the Keychain (GT-23) */
  ts_scenario_keychain keychain_locked;/* what it does while the Keychain is locked */
  ts_srcpos pos;
} ts_scenario_vpn;

/* The App Store updating the VPN app (sim/devices ts_appstore; GT-05/06/07/08). */
typedef struct ts_scenario_appstore {
  bool configured;
  size_t server;              /* node index: serves the download with a tcp-server app */
  uint16_t port;              /* the tcp-server's port, default 443 */
  uint32_t size;              /* download bytes, default 2000000 */
  ts_time attempt_timeout;    /* default 30s */
  ts_time backoff_initial;    /* default 5s, doubling */
  ts_time backoff_max;        /* default 60s */
  ts_time install;            /* default 10s */
  bool automatic;             /* automatic updates: retried after a reboot; default true */
  ts_time retry_after_boot;   /* default 30s */
  bool schema_change;         /* the new version changes the settings schema (GT-24) */
  ts_srcpos pos;
} ts_scenario_appstore;

/* A quirk of the OS model or of the VPN lifecycle set by the scenario, overriding
 * the OS profile (names: docs/model-reference.md). */
#define TS_SCENARIO_MAX_QUIRKS 16
typedef struct ts_scenario_quirk {
  char name[48];
  bool lifecycle;             /* a session lifecycle quirk (else an OS quirk) */
  int id;                     /* ts_os_quirk or ts_vpn_lifecycle_quirk */
  int value;
  ts_srcpos pos;
} ts_scenario_quirk;

typedef enum ts_scenario_phone_app_type {
  TS_SCENARIO_PHONE_PING = 0,  /* ICMP echo */
  TS_SCENARIO_PHONE_UDP,       /* UDP request/response */
  TS_SCENARIO_PHONE_DNS,       /* DNS lookups of a name */
  TS_SCENARIO_PHONE_TCP,       /* TCP connections */
  TS_SCENARIO_PHONE_APP_TYPE_COUNT
} ts_scenario_phone_app_type;

typedef enum ts_scenario_api {
  TS_SCENARIO_API_BSD = 0,
  TS_SCENARIO_API_NWCONNECTION,
  TS_SCENARIO_API_NWTCPCONNECTION, /* tcp only */
  TS_SCENARIO_API_COUNT
} ts_scenario_api;

typedef enum ts_scenario_scope {
  TS_SCENARIO_SCOPE_NONE = 0,
  TS_SCENARIO_SCOPE_WIFI,              /* IP_BOUND_IF / requiredInterface en0 */
  TS_SCENARIO_SCOPE_CELLULAR,          /* pdp_ip0 */
  TS_SCENARIO_SCOPE_VIRTUAL_INTERFACE, /* utun (needs a VPN) */
  TS_SCENARIO_SCOPE_COUNT
} ts_scenario_scope;

/* A traffic class index, in the order of sim/os's ts_traffic_class
 * (ts_scenario_traffic_class_name gives the same names as ts_traffic_class_name). */
#define TS_SCENARIO_TRAFFIC_CLASS_COUNT 10

typedef struct ts_scenario_phone_app {
  char name[TS_SCENARIO_NAME_MAX]; /* unique among all apps (node apps included) */
  ts_scenario_phone_app_type type;
  int traffic_class;      /* default 0 = "app" */
  ts_scenario_api api;    /* default bsd */
  ts_scenario_scope scope;/* default none */
  bool has_target;        /* ping, udp, tcp */
  ts_ipaddr target;
  char target_name[TS_SCENARIO_DNS_NAME_MAX]; /* dns: the name looked up; "" otherwise */
  uint16_t port;          /* udp default 7, tcp default 80; 0 for ping and dns */
  ts_time start;          /* default 0s */
  ts_time interval;       /* > 0, default 1s */
  uint32_t count;         /* 1..1000000, default 1 */
  uint32_t size;          /* payload bytes 0..1024 (ping, udp, tcp), default 56; 0 for dns */
  bool long_lived;        /* tcp: one connection kept open for every send; default false */
  ts_srcpos pos;
} ts_scenario_phone_app;

typedef struct ts_scenario_phone {
  char name[TS_SCENARIO_NAME_MAX]; /* default "phone"; distinct from node names */
  char os[TS_SCENARIO_NAME_MAX];   /* OS profile name (models/os/<os>.yaml); "" = run default */
  ts_scenario_phone_iface ifaces[TS_SCENARIO_PHONE_IF_COUNT];
  ts_scenario_phone_if primary;    /* default: wifi when configured, else cellular */
  ts_scenario_vpn vpn;
  ts_scenario_phone_app *apps;
  size_t app_count;
  ts_scenario_appstore appstore;
  ts_scenario_quirk quirks[TS_SCENARIO_MAX_QUIRKS];
  size_t quirk_count;
  ts_srcpos pos;
} ts_scenario_phone;

/* ------------------------------------------------------------ checks */

typedef enum ts_scenario_obligation_kind {
  TS_SCENARIO_OBLIGE_TUNNEL_CONNECTED = 0, /* the VPN session reached connected */
  TS_SCENARIO_OBLIGE_MONITOR_CONFIRMED,    /* the tunnel monitor saw a reply */
  TS_SCENARIO_OBLIGE_DOWNLOAD_DONE,        /* the App Store's update installed */
  TS_SCENARIO_OBLIGE_APPS_REACH,           /* an app got an answer from the internet */
  TS_SCENARIO_OBLIGE_NEGOTIATION_DONE,     /* the ephemeral-peer negotiation completed */
  TS_SCENARIO_OBLIGATION_COUNT
} ts_scenario_obligation_kind;

#define TS_SCENARIO_MAX_OBLIGATIONS 8
typedef struct ts_scenario_obligation {
  ts_scenario_obligation_kind what;
  ts_time by;
  ts_srcpos pos;
} ts_scenario_obligation;

/* What the run judges besides leaks (sim/oracle): obligations with deadlines
 * (deadlock), a heal phase (lockout) and, after a lockout, the recovery branches. */
typedef struct ts_scenario_checks {
  bool configured;
  bool has_heal;
  ts_time heal_at;            /* the fault phase ends: no faults from here, network good */
  ts_time deadline;           /* apps must reach the internet by then, else a lockout */
  ts_time window;             /* "reach" = an answer within this window, default 10s */
  bool recovery;              /* after a lockout, branch with each user action; default true */
  ts_time horizon;            /* each branch runs this long after its action, default 300s */
  ts_scenario_obligation obligations[TS_SCENARIO_MAX_OBLIGATIONS];
  size_t obligation_count;
  ts_srcpos pos;
} ts_scenario_checks;

/* ------------------------------------------------------------ timeline */

typedef enum ts_timeline_action {
  TS_ACTION_LINK_DOWN = 0,
  TS_ACTION_LINK_UP,
  TS_ACTION_VPN_CONNECT,      /* cause */
  TS_ACTION_VPN_DISCONNECT,   /* reason */
  TS_ACTION_VPN_ERROR,        /* the provider enters its error (blocked) state */
  TS_ACTION_PROVIDER_CRASH,   /* the provider process dies without stopTunnel */
  TS_ACTION_WIFI_DOWN,
  TS_ACTION_WIFI_UP,
  TS_ACTION_CELLULAR_DOWN,
  TS_ACTION_CELLULAR_UP,
  TS_ACTION_SWITCH_PRIMARY,   /* to */
  TS_ACTION_REASSERT,         /* duration */
  TS_ACTION_SET_FLAG,         /* flag, value, reconnect */
  /* The device and its user (docs/model-reference.md §6). */
  TS_ACTION_REBOOT,
  TS_ACTION_UNLOCK,           /* the first unlock after boot (GT-23) */
  TS_ACTION_SLEEP,
  TS_ACTION_WAKE,
  TS_ACTION_AIRPLANE_ON,
  TS_ACTION_AIRPLANE_OFF,
  TS_ACTION_SETTINGS_TOGGLE,  /* the VPN switch in Settings flips (on-demand untouched) */
  TS_ACTION_APP_DISCONNECT,   /* the containing app disables on-demand, then stops */
  TS_ACTION_APP_UPDATE,       /* the App Store begins updating the VPN app */
  TS_ACTION_CANCEL_DOWNLOAD,
  TS_ACTION_UNINSTALL_APP,
  TS_ACTION_REMOVE_VPN_PROFILE,
  TS_ACTION_OPEN_APP,         /* the user opens the containing app (settings migration) */
  TS_ACTION_COUNT
} ts_timeline_action;

typedef enum ts_scenario_start_cause { /* sim/os ts_vpn_start_cause, same order */
  TS_SCENARIO_START_USER = 0,
  TS_SCENARIO_START_APP,
  TS_SCENARIO_START_ON_DEMAND,
  TS_SCENARIO_START_CAUSE_COUNT
} ts_scenario_start_cause;

typedef enum ts_scenario_stop_reason { /* maps to sim/os ts_vpn_stop_reason by name */
  TS_SCENARIO_STOP_USER = 0,          /* userInitiated */
  TS_SCENARIO_STOP_PROVIDER_FAILED,   /* providerFailed */
  TS_SCENARIO_STOP_NO_NETWORK,        /* noNetworkAvailable */
  TS_SCENARIO_STOP_APP_UPDATE,        /* appUpdate */
  TS_SCENARIO_STOP_REASON_COUNT
} ts_scenario_stop_reason;

typedef struct ts_timeline_event {
  ts_time at;
  ts_timeline_action action;
  size_t link;        /* index into ts_scenario.links (link-down, link-up), else NONE */
  ts_scenario_start_cause cause;   /* vpn-connect, default user */
  ts_scenario_stop_reason reason;  /* vpn-disconnect, default user */
  ts_scenario_phone_if to;         /* switch-primary */
  ts_time duration;                /* reassert: reasserting for this long, default 0s */
  ts_scenario_flag flag;           /* set-flag */
  bool value;                      /* set-flag */
  bool reconnect;                  /* set-flag: hard reconnect (stop, wait, start), default true */
  ts_srcpos pos;
} ts_timeline_event;

typedef struct ts_scenario {
  int version;                     /* always TS_SCENARIO_VERSION */
  char name[TS_SCENARIO_NAME_MAX];
  char *description;               /* NULL when absent */
  bool has_seed;
  uint64_t seed;                   /* default seed for runs */
  bool has_duration;
  ts_time duration;                /* default --until, > 0 */
  ts_scenario_node *nodes;         /* at least one */
  size_t node_count;
  ts_scenario_link *links;
  size_t link_count;
  ts_scenario_app *apps;
  size_t app_count;
  ts_timeline_event *timeline;     /* in file order */
  size_t timeline_count;
  ts_scenario_relay *relays;
  size_t relay_count;
  ts_scenario_dhcp_server *dhcp_servers;
  size_t dhcp_server_count;
  ts_scenario_dns_server *dns_servers;
  size_t dns_server_count;
  bool has_phone;
  ts_scenario_phone phone;         /* when has_phone */
  ts_scenario_checks checks;
  char source[256];                /* file name as given to the loader */
} ts_scenario;

/* Loads and validates. Returns 0, TS_EPARSE (bad content), TS_EIO (file cannot be
 * read) or TS_ENOMEM. On error *out is NULL and diag (if not NULL) says why. */
int ts_scenario_load_file(const char *path, ts_scenario **out, ts_diag *diag);
/* Same for a buffer in memory; name is used in messages (NULL gives "<buffer>").
 * The buffer needs no terminating NUL and may hold anything. */
int ts_scenario_load_buffer(const char *name, const void *buf, size_t len, ts_scenario **out,
                            ts_diag *diag);
void ts_scenario_free(ts_scenario *s);

/* "file:line:col: message" (or "file: message" without a position). Returns what
 * snprintf returns. */
int ts_diag_format(const ts_diag *d, char *buf, size_t n);

/* Writes the scenario as canonical schema-v1 YAML with every value explicit.
 * Loading the output gives an equal scenario. Returns 0 or TS_EIO. */
int ts_scenario_write(const ts_scenario *s, FILE *f);

/* Lookups by name; TS_SCENARIO_NONE when absent. Linear: for tools, not hot paths. */
size_t ts_scenario_find_node(const ts_scenario *s, const char *name);
size_t ts_scenario_find_link(const ts_scenario *s, const char *name);
size_t ts_scenario_find_app(const ts_scenario *s, const char *name);
size_t ts_scenario_find_relay(const ts_scenario *s, const char *name);
size_t ts_scenario_find_phone_app(const ts_scenario *s, const char *name);

/* Names as written in files ("ping", "link-down"); NULL when out of range. */
const char *ts_scenario_app_type_name(int type);
const char *ts_scenario_action_name(int action);
/* Names of the new vocabularies as written in files; NULL when out of range. */
const char *ts_scenario_flag_name(int flag);          /* "include-all-networks" */
const char *ts_scenario_flag_apple_name(int flag);    /* "includeAllNetworks" (ts_vpn_flag_find) */
const char *ts_scenario_traffic_class_name(int cls);  /* "app", "apns" (ts_traffic_class_find) */
const char *ts_scenario_phone_app_type_name(int type);/* "ping", "udp", "dns", "tcp" */
const char *ts_scenario_api_name(int api);            /* "bsd", "nwconnection", "nwtcpconnection" */
const char *ts_scenario_scope_name(int scope);        /* "none", "wifi", ... */
const char *ts_scenario_phone_if_name(int iface);     /* "wifi", "cellular" */
const char *ts_scenario_keychain_name(int k);
const char *ts_scenario_neg_path_name(int p);         /* "nwtcpconnection", ... */
const char *ts_scenario_od_action_name(int a);        /* "connect", "evaluate-connection", ... */
const char *ts_scenario_od_interface_name(int i);     /* "any", "wifi", "cellular", "ethernet" */         /* "blocked-state", "deadlock" */
const char *ts_scenario_obligation_name(int k);       /* "tunnel-connected", ... */
/* Timeline actions that are faults (not allowed in the heal phase). */
bool ts_scenario_action_is_fault(int action);
const char *ts_scenario_monitor_path_name(int path);  /* "bsd-utun", ... */
const char *ts_scenario_error_state_name(int mode);   /* "with-routes", "without-routes" */
const char *ts_scenario_completion_name(int c);       /* "after-settings", ... */
const char *ts_scenario_on_loss_name(int l);          /* "ignore", "rehandshake", "reassert" */
const char *ts_scenario_start_cause_name(int c);      /* "user", "app", "on-demand" */
const char *ts_scenario_stop_reason_name(int r);      /* "user", "provider-failed", ... */
const char *ts_scenario_stop_reason_apple_name(int r);/* "userInitiated", ... */

/* Parses a duration such as "250us", "1.5s" or "2m" (units ns, us, ms, s, m, h) exactly
 * to nanoseconds: for command-line options that take durations. Returns 0,
 * TS_EPARSE (not a duration; bare numbers have no unit and are refused) or TS_ERANGE
 * (does not fit, or finer than 1ns). */
int ts_parse_duration(const char *text, ts_time *out);
/* Shortest exact form: 1500000000 -> "1500ms", 0 -> "0s". Returns snprintf's result. */
int ts_format_duration(ts_time t, char *buf, size_t n);

#endif
