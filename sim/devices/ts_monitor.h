/* ts_monitor: the tunnel monitor of a packet-tunnel provider, after Mullvad's iOS
 * TunnelMonitor (ios-model.md §2.5, [CODE] TunnelMonitorTimings.swift): it pings
 * the in-tunnel gateway (10.64.0.1) and judges the tunnel connected or unreachable.
 *
 * The ping path is the design under test (ARCHITECTURE.md "the design under test
 * is a parameter"):
 *  - TS_MONITOR_PATH_BSD_UTUN: a BSD ICMP socket of the provider bound to utun with
 *    IP_BOUND_IF (Mullvad's legacy Pinger.swift; silently fails under IAN, GT-09);
 *  - TS_MONITOR_PATH_NW_VIRTUAL: an NWConnection with requiredInterface =
 *    virtualInterface (iOS 18 only, A-VIF; TS_ENOTSUP elsewhere; GT-11);
 *  - TS_MONITOR_PATH_ENGINE: hand-built ICMP packets handed to the engine directly
 *    (ts_provider_tx_ip), replies claimed by the provider's mux by echo identifier
 *    (the netstack workaround's effect, GT-12);
 *  - TS_MONITOR_PATH_USERSPACE_NETSTACK: echo requests from the provider's userspace
 *    netstack (ts_netstack_ping with the monitor's identifier), which the provider
 *    sends straight into the engine and whose replies its mux routes back to the
 *    netstack's echo handler: Mullvad's TunnelPinger through wireguard-go's netstack
 *    (MV-CODE dee9d4e90a, ios-model.md §2.5 "Pinger evolution"). Works under IAN
 *    (GT-12) where bsd-utun silently fails (GT-09). TS_ESTATE at start when the
 *    provider process has no netstack.
 * What happens to each ping is the OS model's business: the monitor only sends and
 * listens.
 *
 * Judgement (simplified from TunnelMonitor): connecting: a ping every ping_delay;
 * no reply within the establish timeout (4 s, x2 per attempt, capped at
 * ping_timeout: 4, 8, 15, 15 ... s) reports unreachable (connectionLost) and starts
 * the next attempt. The first reply reports connected. Connected: a heartbeat ping
 * every heartbeat_interval, retried after heartbeat_reply_timeout while unanswered;
 * no reply for ping_timeout reports unreachable and goes back to connecting
 * (recovering). The traffic-based timers (traffic flow, inbound traffic, traffic
 * timeout) are configurable but not used yet: heartbeats run all the time.
 * Ticks run every check_interval on virtual time.
 *
 * Sleep and wake (A-SLEEP; MV-CODE TunnelMonitor.swift onSleep/onWake): sleep stops
 * the connectivity timer (no ticks, no pings; the socket stays open and late replies
 * still count); wake restarts it with a check at once and the timeout reference at
 * the wake instant (Mullvad's startConnectivityCheckTimer sets timeoutReference =
 * now), so the sleep gap is not judged as a loss. Mullvad restarts only connecting
 * and connected; its recovering state is idle until the actor restarts the monitor,
 * while here recovering keeps trying like connecting, so it restarts as well. */
#ifndef TS_MONITOR_H
#define TS_MONITOR_H

#include <stdbool.h>
#include <stdint.h>

#include "ts_ipsum.h"
#include "ts_sock.h"
#include "ts_time.h"

typedef struct ts_provider ts_provider;
typedef struct ts_monitor ts_monitor;

typedef enum ts_monitor_path {
  TS_MONITOR_PATH_BSD_UTUN = 0,
  TS_MONITOR_PATH_NW_VIRTUAL,
  TS_MONITOR_PATH_ENGINE,
  TS_MONITOR_PATH_USERSPACE_NETSTACK,
  TS_MONITOR_PATH_COUNT
} ts_monitor_path;

typedef enum ts_monitor_state {
  TS_MONITOR_STOPPED = 0,
  TS_MONITOR_CONNECTING,
  TS_MONITOR_CONNECTED,
  TS_MONITOR_RECOVERING,
} ts_monitor_state;

typedef enum ts_monitor_event {
  TS_MONITOR_EV_PING_SENT = 1,
  TS_MONITOR_EV_SEND_ERROR,   /* the API returned an error (no path, not ready) */
  TS_MONITOR_EV_REPLY,
  TS_MONITOR_EV_TIMEOUT,      /* an establish attempt or ping_timeout ran out */
  TS_MONITOR_EV_CONNECTED,    /* judgement: connectionEstablished */
  TS_MONITOR_EV_UNREACHABLE,  /* judgement: connectionLost */
} ts_monitor_event;

/* Defaults: ios-model.md §2.5 table. */
typedef struct ts_monitor_timings {
  ts_time check_interval;            /* 1 s */
  ts_time ping_delay;                /* 3 s */
  ts_time initial_establish_timeout; /* 4 s */
  uint32_t establish_timeout_multiplier; /* 2 */
  ts_time ping_timeout;              /* 15 s */
  ts_time heartbeat_interval;        /* 10 s */
  ts_time heartbeat_reply_timeout;   /* 3 s */
  ts_time traffic_flow_timeout;      /* 5 s (not used yet) */
  ts_time inbound_traffic_timeout;   /* 5 s (not used yet) */
  ts_time traffic_timeout;           /* 120 s (not used yet) */
} ts_monitor_timings;

typedef struct ts_monitor_report {
  ts_monitor_event event;
  ts_monitor_state state;  /* after the event */
  uint16_t seq;            /* PING_SENT, SEND_ERROR, REPLY */
  ts_time rtt;             /* REPLY */
  uint32_t attempt;        /* establish attempts that ran out so far */
} ts_monitor_report;

typedef void (*ts_monitor_fn)(void *ctx, ts_monitor *m, const ts_monitor_report *r);

typedef struct ts_monitor_config {
  ts_monitor_path path;
  ts_ipaddr target;        /* family 0: 10.64.0.1 */
  uint16_t icmp_id;        /* 0: the phone picks one (BSD/NW) or 0x4d56 (engine, netstack) */
  uint32_t payload_size;   /* echo data bytes; 0: 16 */
  ts_monitor_timings timings; /* zero fields take the defaults */
  ts_monitor_fn on_report; /* may be NULL */
  void *ctx;
} ts_monitor_config;

typedef struct ts_monitor_stats {
  uint32_t pings_sent, send_errors, replies, timeouts, connected, unreachable;
  ts_time rtt_min, rtt_max, rtt_sum;
} ts_monitor_stats;

/* The last ping the monitor tried to send, as its API answered (for explainers: the
 * BSD utun socket's silent failure under IAN, GT-09, looks like a success). */
typedef struct ts_monitor_send {
  ts_time at;
  uint16_t seq;
  int rc;                /* the call's return: TS_OK / TS_E* (BSD, NW, netstack), WG_* (engine) */
  ts_sock_status status; /* BSD, NW: what the API returned */
  ts_verdict verdict;    /* BSD, NW: the policy verdict (all zero on the engine and
                            netstack paths: no OS socket) */
  bool sent;             /* the monitor took it as sent (PING_SENT, not SEND_ERROR) */
  bool silent_failure;   /* accepted by the API, went nowhere (verdict silent-fail) */
} ts_monitor_send;

void ts_monitor_timings_default(ts_monitor_timings *t);
/* "bsd-utun", "nw-virtual", "engine", "userspace-netstack" */
const char *ts_monitor_path_name(ts_monitor_path p);
const char *ts_monitor_state_name(ts_monitor_state s);
const char *ts_monitor_event_name(ts_monitor_event e);

/* A monitor for the provider's tunnel, attached to the provider's world.
 * TS_ENOTSUP for the NW path on a profile without virtualInterface. */
int ts_monitor_create(ts_provider *p, const ts_monitor_config *cfg, ts_monitor **out);
/* Opens the ping socket (or claims the echo id) and starts connecting. */
int ts_monitor_start(ts_monitor *m);
/* Closes the socket, stops ticking; stats are kept. */
void ts_monitor_stop(ts_monitor *m);
/* The device sleeps / wakes (the provider's sleep and wake ops). Sleep stops the
 * timer; wake restarts it unless stopped. A monitor started while asleep waits for
 * the wake. Repeated calls do nothing. */
void ts_monitor_sleep(ts_monitor *m);
void ts_monitor_wake(ts_monitor *m);
bool ts_monitor_asleep(const ts_monitor *m);
ts_monitor_state ts_monitor_state_of(const ts_monitor *m);
ts_monitor_path ts_monitor_path_get(const ts_monitor *m);
/* false before the first ping attempt. */
bool ts_monitor_last_send(const ts_monitor *m, ts_monitor_send *out);
const ts_monitor_config *ts_monitor_config_of(const ts_monitor *m);
void ts_monitor_get_stats(const ts_monitor *m, ts_monitor_stats *out);

#endif
