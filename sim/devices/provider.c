/* The packet-tunnel provider: see ts_provider.h. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "provider_internal.h"
#include "ts_mux.h"
#include "ts_netstack.h"

/* The provider's userspace netstack: MTU 1280 so that its TCP segments fit the
 * tunnel (the IPv6 minimum; WireGuardKit's automatic MTU is 1420 on a 1500 link). */
#define NETSTACK_MTU 1280
/* Flows the mux tracks (Mullvad's router.go / ip_mux.rs keep a handful). */
#define MUX_CAPACITY 64

/* The provider's own events. Each carries the launch generation and the connect
 * attempt it belongs to: an event of an older process, or of a connect attempt
 * the error state replaced, is ignored. */
enum {
  EV_SETTINGS_DONE = 1, /* setTunnelNetworkSettings calls back */
  EV_HANDSHAKE_DONE,    /* the engine completed a handshake (acted on outside its call) */
  EV_SETTINGS_TIMEOUT,  /* settings_timeout ran out (GT-30) */
  EV_KEYCHAIN_RETRY,    /* bootRecoveryPeriodicity (GT-23) */
  EV_CONNECT_BURST,     /* the apps' reconnect burst (GT-21) */
  EV_REHANDSHAKE,       /* a new handshake asked for (ts_provider_rehandshake), gate open */
  EV_NEG_GAVE_UP,       /* the negotiation gave up: the error state (outside any callback) */
};

struct ts_provider {
  ts_phone *ph;
  ts_world *w;
  ts_provider_config cfg;
  char name[TS_WGDEV_NAME_MAX - 12];
  bool running, error, completed, monitor_reasserting;
  ts_provider_error_reason reason; /* why error is set */
  bool start_blocked;      /* startTunnel has not returned */
  bool settings_pending;   /* setTunnelNetworkSettings called, no callback yet */
  bool proceeded;          /* this connect attempt went on to the engine (settings or timeout) */
  bool burst_done;         /* memory_on_connect applied in this process */
  bool settings_outdated;  /* the stored settings (outlive processes) need migration (GT-24) */
  uint32_t gen;            /* launch generation: events of an older launch are ignored */
  uint32_t attempt;        /* connect attempt within the launch (error state entries too) */
  uint64_t memory;         /* the process's resident memory (F-MEM model) */
  ts_sock_id sock;
  ts_wgdev *dev;
  wg_peer *peer;
  ts_monitor *mon;
  uint16_t claim_id;
  ts_provider_icmp_fn claim_fn;
  void *claim_ctx;
  bool wants_netstack;     /* use_netstack, or a monitor / negotiation path that needs it */
  uint32_t ns_trace;       /* the netstack's own interface in the capture ("<phone>/netstack") */
  ts_netstack *ns;         /* the process's userspace netstack (NULL: none or no process) */
  ts_mux *mux;             /* its flow tracker (created with the provider) */
  ts_rng ns_rng;           /* "<name>/netstack": a seed per process */
  ts_neg_client *neg;      /* NULL without negotiation */
  bool has_initiation;     /* an initiation left this engine (last_initiation is valid) */
  ts_time last_initiation;
  ts_provider_stats stats;
};

void ts_provider_default_settings(ts_vpn_settings *s, const ts_ipaddr *relay,
                                  const ts_ipaddr *tunnel_addr) {
  ts_vpn_settings_init(s);
  if (relay) s->tunnel_remote_address = *relay;
  ts_ipprefix a = {.addr = *tunnel_addr, .len = tunnel_addr->family == 6 ? 128 : 32};
  ts_vpn_settings_add_address(s, &a);
  ts_ipprefix all4, all6;
  ts_ipprefix_parse("0.0.0.0/0", &all4);
  ts_ipprefix_parse("::/0", &all6);
  ts_vpn_settings_include(s, &all4);
  ts_vpn_settings_include(s, &all6);
  ts_ipaddr dns;
  ts_ipaddr_parse("10.64.0.1", &dns);
  ts_vpn_settings_add_dns(s, &dns);
}

static ts_time now_of(const ts_provider *p) { return ts_world_now(p->w); }

static void trace(ts_provider *p, const char *kind, const char *detail) {
  ts_trace_event(ts_world_trace(p->w), now_of(p), kind, p->name, detail);
}

void ts_provider_trace(ts_provider *p, const char *kind, const char *detail) {
  trace(p, kind, detail);
}

static void provider_event(void *obj, uint64_t arg);

static void schedule(ts_provider *p, ts_time in, int kind) {
  uint64_t arg = (uint64_t)kind | ((uint64_t)(p->attempt & 0xffffff) << 8) |
                 ((uint64_t)p->gen << 32);
  ts_world_schedule_in(p->w, in, provider_event, p, arg, NULL);
}

/* The tunnel carries traffic for the first time in this process: the apps that
 * waited re-open their connections at once (GT-21, meow-ios#98 in ios-model.md §1.6).
 * Applied from its own event so that a jetsam never runs inside a session call. */
static void note_connected(ts_provider *p) {
  if (!p->cfg.memory_on_connect || p->burst_done || !p->completed || p->error || !p->dev) return;
  p->burst_done = true;
  schedule(p, 0, EV_CONNECT_BURST);
}

static void complete(ts_provider *p, const char *why) {
  if (p->completed) return;
  if (ts_phone_tunnel_start_completed(p->ph, 0) == TS_OK) {
    p->completed = true;
    trace(p, "provider-start-completed", why);
    note_connected(p);
  }
}

/* ------------------------------------------------------- engine transport */

static void tp_send_udp(void *ctx, const wg_endpoint *to, const uint8_t *data, size_t len) {
  ts_provider *p = ctx;
  ts_ipaddr dst;
  memset(&dst, 0, sizeof dst);
  dst.family = to->family;
  memcpy(dst.bytes, to->addr, to->family == 6 ? 16 : 4);
  ts_sock_send_result res;
  int rc = ts_phone_send_udp(p->ph, p->sock, &dst, to->port, data, (uint32_t)len, &res);
  if (rc || res.status != TS_SOCK_OK) p->stats.udp_send_refused++;
  else p->stats.udp_sent++;
}

static bool echo_reply(const ts_ip_info *info) {
  return (info->proto == TS_IPPROTO_ICMP && info->icmp_type == 0) ||
         (info->proto == TS_IPPROTO_ICMPV6 && info->icmp_type == 129);
}

/* The mux: packets of flows the provider's netstack opened go to it. */
static bool to_netstack(ts_provider *p, const uint8_t *pkt, size_t len) {
  if (!p->ns || ts_mux_inbound(p->mux, pkt, len) != TS_MUX_NETSTACK) return false;
  p->stats.netstack_in++;
  ts_trace_packet(ts_world_trace(p->w), now_of(p), p->ns_trace, TS_TRACE_RX, NULL, pkt, (uint32_t)len);
  if (ts_netstack_input(p->ns, pkt, (uint32_t)len) != TS_OK) p->stats.netstack_in_dropped++;
  return true;
}

static void tp_deliver_ip(void *ctx, const uint8_t *pkt, size_t len) {
  ts_provider *p = ctx;
  if (to_netstack(p, pkt, len)) return;
  ts_ip_info info;
  if (p->claim_fn && ts_ip_parse(pkt, (uint32_t)len, &info) == 0 && echo_reply(&info) &&
      info.icmp_id == p->claim_id) {
    p->claim_fn(p->claim_ctx, &info, pkt, len);
    return;
  }
  if (p->error) {
    p->stats.utun_discarded++;
    return;
  }
  if (ts_phone_tunnel_write(p->ph, pkt, len) == TS_OK) p->stats.utun_written++;
  else p->stats.utun_discarded++;
}

static void tp_on_event(void *ctx, int event, wg_peer *peer) {
  ts_provider *p = ctx;
  (void)peer;
  if (event == WG_EV_INITIATION_SENT || event == WG_EV_INITIATION_RETRY) {
    p->has_initiation = true;
    p->last_initiation = now_of(p);
  }
  if (p->neg) ts_neg_client_engine_event(p->neg, event);
  if (event != WG_EV_HANDSHAKE_COMPLETE) return;
  p->stats.handshakes++;
  /* Inside the engine call: act from the next event. */
  schedule(p, 0, EV_HANDSHAKE_DONE);
}

static void on_socket(void *ctx, ts_sock_id sock, const ts_ip_info *info, const uint8_t *payload,
                      uint32_t len, int iface) {
  ts_provider *p = ctx;
  (void)sock;
  (void)iface;
  if (!p->dev) return;
  p->stats.udp_received++;
  wg_endpoint from = info->src.family == 6 ? wg_endpoint_ipv6(info->src.bytes, info->sport)
                                           : wg_endpoint_ipv4(info->src.bytes, info->sport);
  ts_wgdev_rx_udp(p->dev, &from, payload, len);
}

/* --------------------------------------------------------------- engine */

static int engine_up(ts_provider *p) {
  char name[TS_WGDEV_NAME_MAX + 16];
  if (p->stats.launches <= 1) snprintf(name, sizeof name, "%s", p->name);
  else snprintf(name, sizeof name, "%s.%u", p->name, (unsigned)(p->stats.launches % 100000));
  ts_wgdev_config wc = {.name = name,
                        .transport = {.send_udp = tp_send_udp, .deliver_ip = tp_deliver_ip,
                                      .on_event = tp_on_event, .ctx = p},
                        .public_key = p->cfg.public_key};
  memcpy(wc.private_key, p->cfg.private_key, WG_KEY_LEN);
  int rc = ts_wgdev_create(p->w, &wc, &p->dev);
  if (rc) return rc;
  wg_peer_config pc;
  memset(&pc, 0, sizeof pc);
  uint16_t port = p->cfg.relay_port ? p->cfg.relay_port : 51820;
  pc.endpoint = p->cfg.relay.family == 6 ? wg_endpoint_ipv6(p->cfg.relay.bytes, port)
                                         : wg_endpoint_ipv4(p->cfg.relay.bytes, port);
  memcpy(pc.public_key, p->cfg.relay_public_key, WG_KEY_LEN);
  if (p->cfg.has_preshared_key) {
    pc.has_preshared_key = 1;
    memcpy(pc.preshared_key, p->cfg.preshared_key, WG_KEY_LEN);
  }
  pc.persistent_keepalive_s = p->cfg.persistent_keepalive_s;
  pc.static_static = p->cfg.static_static;
  if (ts_wgdev_add_peer(p->dev, &pc, &p->peer) != WG_OK ||
      wg_peer_add_allowed_ip(p->peer, 4, (const uint8_t[4]){0}, 0) != WG_OK ||
      wg_peer_add_allowed_ip(p->peer, 6, (const uint8_t[16]){0}, 0) != WG_OK)
    return TS_EINVAL;
  p->has_initiation = false;
  ts_wgdev_initiate_handshake(p->dev, p->peer);
  return TS_OK;
}

/* died: the process ended (its negotiation socket goes without a word). */
static void engine_down(ts_provider *p, bool died) {
  if (p->neg) ts_neg_client_engine_down(p->neg, died);
  if (p->dev) ts_wgdev_destroy(p->dev);
  p->dev = NULL;
  p->peer = NULL;
}

/* --------------------------------------------------------- netstack */

/* The netstack's packets: the mux learns their flow, then straight into the engine
 * (no utun, no OS policy: Mullvad's workaround, MV-BLOG, PR #7289). */
static void ns_output(void *ctx, ts_packet *pkt) {
  ts_provider *p = ctx;
  ts_trace_packet(ts_world_trace(p->w), now_of(p), p->ns_trace, TS_TRACE_TX, NULL, pkt->data, pkt->len);
  ts_mux_outbound(p->mux, pkt->data, pkt->len);
  int rc = p->dev && !p->error ? ts_wgdev_tx_ip(p->dev, pkt->data, pkt->len) : TS_ESTATE;
  if (rc == WG_OK || rc == WG_ESTAGED) p->stats.netstack_out++;
  else p->stats.netstack_out_dropped++;
  ts_packet_free(ts_world_pool(p->w), pkt);
}

static uint64_t next_seed(ts_provider *p) {
  uint64_t s;
  do s = ts_rng_next(&p->ns_rng);
  while (s == 0);
  return s;
}

/* At launch: an instance on the tunnel's addresses (from the settings). */
static void netstack_up(ts_provider *p) {
  if (!p->wants_netstack) return;
  ts_mux_reset(p->mux);
  ts_ipaddr a4 = ts_provider_tunnel_address(p, 4), a6 = ts_provider_tunnel_address(p, 6);
  ts_netstack_config nc = {.name = p->name, .seed = next_seed(p), .mtu = NETSTACK_MTU,
                           .output = ns_output, .output_ctx = p};
  if (a4.family) nc.addr4 = (ts_ipprefix){.addr = a4, .len = 32};
  if (a6.family) nc.addr6 = (ts_ipprefix){.addr = a6, .len = 128};
  int rc = a4.family || a6.family ? ts_netstack_create(p->w, &nc, &p->ns) : TS_EINVAL;
  if (rc) {
    char d[80];
    snprintf(d, sizeof d, "netstack: %s", ts_strerror(rc));
    trace(p, "provider-error", d);
    p->ns = NULL;
    return;
  }
  p->stats.netstack_created++;
  trace(p, "provider-netstack", "created");
}

static void netstack_down(ts_provider *p) {
  if (!p->ns) return;
  ts_netstack_destroy(p->ns);
  p->ns = NULL;
  ts_mux_reset(p->mux);
  p->stats.netstack_destroyed++;
  trace(p, "provider-netstack", "destroyed");
}

/* ------------------------------------------------------------ lifecycle */

/* The settings are applied, or WireGuardKit stopped waiting for them: the engine
 * comes up and connects. Once per connect attempt. */
static void proceed(ts_provider *p, const char *why) {
  if (p->proceeded) return;
  p->proceeded = true;
  int rc = engine_up(p);
  if (rc) {
    char d[64];
    snprintf(d, sizeof d, "engine: %s", ts_strerror(rc));
    trace(p, "provider-error", d);
    engine_down(p, false);
    return;
  }
  if (p->neg) ts_neg_client_engine_up(p->neg);
  if (p->mon && (rc = ts_monitor_start(p->mon)) != TS_OK) {
    char d[64];
    snprintf(d, sizeof d, "monitor: %s", ts_strerror(rc));
    trace(p, "provider-error", d);
  }
  if (p->cfg.completion == TS_PROVIDER_COMPLETE_AFTER_SETTINGS) complete(p, why);
  note_connected(p); /* startTunnel may have completed before (the error state) */
}

/* setTunnelNetworkSettings calls back: the OS has applied them. A callback after
 * the timeout still applies them; the provider has already gone on. */
static void settings_done(ts_provider *p) {
  p->settings_pending = false;
  if (ts_phone_tunnel_set_settings(p->ph, &p->cfg.settings) != TS_OK) {
    trace(p, "provider-settings-refused", NULL);
    return;
  }
  proceed(p, "settings applied");
}

static void settings_timed_out(ts_provider *p) {
  if (p->proceeded) return;
  p->stats.settings_timeouts++;
  char d[96];
  snprintf(d, sizeof d, "no callback after %lld ms: proceeding as if applied (WG db4e291)",
           (long long)(p->cfg.settings_timeout / TS_MS));
  trace(p, "provider-settings-timeout", d);
  proceed(p, "settings timeout");
}

static int open_socket(ts_provider *p) {
  ts_phone_socket_params sp = {.owner = TS_TC_PROVIDER, .proto = TS_IPPROTO_UDP,
                               .api = TS_SOCK_BSD, .local_id = p->cfg.local_port,
                               .recv = on_socket, .ctx = p};
  int rc = ts_phone_socket_open(p->ph, &sp, &p->sock);
  if (rc) {
    trace(p, "provider-error", "socket");
    p->sock = 0;
  }
  return rc;
}

/* A connect attempt: the socket, then setTunnelNetworkSettings with the tunnel's
 * settings; the callback (after settings_delay, or never) and the timeout race. */
static void connect_tunnel(ts_provider *p) {
  p->attempt++;
  p->proceeded = false;
  if (!p->sock && open_socket(p) != TS_OK) return;
  p->settings_pending = true;
  if (p->cfg.settings_never_complete)
    trace(p, "provider-settings-pending", "setTunnelNetworkSettings never calls back");
  else
    schedule(p, p->cfg.settings_delay, EV_SETTINGS_DONE);
  if (p->cfg.settings_timeout) schedule(p, p->cfg.settings_timeout, EV_SETTINGS_TIMEOUT);
}

/* PacketTunnelActor+ErrorState.swift: 10.64.0.1/8, DNS 127.0.0.1, default routes
 * (with routes); without routes: no address, no routes. */
static void error_settings(const ts_provider *p, ts_vpn_settings *s) {
  ts_vpn_settings_init(s);
  ts_ipaddr_parse("127.0.0.1", &s->tunnel_remote_address);
  if (p->cfg.error_mode != TS_PROVIDER_ERROR_WITH_ROUTES) return;
  ts_ipprefix a, all4, all6;
  ts_ipprefix_parse("10.64.0.1/8", &a);
  ts_ipprefix_parse("0.0.0.0/0", &all4);
  ts_ipprefix_parse("::/0", &all6);
  ts_vpn_settings_add_address(s, &a);
  ts_vpn_settings_include(s, &all4);
  ts_vpn_settings_include(s, &all6);
  ts_ipaddr dns;
  ts_ipaddr_parse("127.0.0.1", &dns);
  ts_vpn_settings_add_dns(s, &dns);
}

static int enter_error(ts_provider *p, ts_provider_error_reason reason) {
  if (p->mon) ts_monitor_stop(p->mon);
  engine_down(p, false);
  p->attempt++; /* the replaced connect attempt's callback and timeout are void */
  p->settings_pending = p->proceeded = false;
  p->error = true;
  p->reason = reason;
  const char *routes =
      p->cfg.error_mode == TS_PROVIDER_ERROR_WITH_ROUTES ? "with routes" : "without routes";
  char d[64];
  if (reason == TS_PROVIDER_REASON_USER) snprintf(d, sizeof d, "%s", routes);
  else snprintf(d, sizeof d, "%s, %s", ts_provider_error_reason_name(reason), routes);
  trace(p, "provider-error-state", d);
  /* Only deviceLocked restarts by itself (State+Extensions.swift shouldRestartAutomatically). */
  if (reason == TS_PROVIDER_REASON_DEVICE_LOCKED) {
    ts_time period = p->cfg.boot_recovery_period ? p->cfg.boot_recovery_period
                                                 : TS_PROVIDER_BOOT_RECOVERY_PERIOD;
    schedule(p, period, EV_KEYCHAIN_RETRY);
  }
  ts_vpn_settings s;
  error_settings(p, &s);
  int rc = ts_phone_tunnel_set_settings(p->ph, &s);
  if (rc) return rc;
  complete(p, "error state");
  return TS_OK;
}

/* Mullvad's error -> connecting: the tunnel's settings are applied again. */
static void leave_error(ts_provider *p, const char *why) {
  char d[80];
  snprintf(d, sizeof d, "%s: %s", ts_provider_error_reason_name(p->reason), why);
  p->error = false;
  p->reason = TS_PROVIDER_REASON_NONE;
  trace(p, "provider-error-state-left", d);
  connect_tunnel(p);
}

static bool keychain_locked(const ts_provider *p) {
  return p->cfg.needs_keychain && !ts_phone_keychain_available(p->ph);
}

/* Reading the settings at launch or on the recovery timer: the Keychain first
 * (KeychainError.interactionNotAllowed -> deviceLocked), then the schema
 * (UnsupportedSettingsVersionError -> outdatedSchema), BlockedStateErrorMapper.swift. */
static ts_provider_error_reason settings_unreadable(const ts_provider *p) {
  if (keychain_locked(p)) return TS_PROVIDER_REASON_DEVICE_LOCKED;
  if (p->settings_outdated) return TS_PROVIDER_REASON_OUTDATED_SCHEMA;
  return TS_PROVIDER_REASON_NONE;
}

static void keychain_retry(ts_provider *p) {
  if (!p->error || p->reason != TS_PROVIDER_REASON_DEVICE_LOCKED) return;
  p->stats.keychain_retries++;
  ts_provider_error_reason r = settings_unreadable(p);
  trace(p, "provider-keychain-retry",
        r == TS_PROVIDER_REASON_DEVICE_LOCKED ? "locked" : "readable");
  if (r == TS_PROVIDER_REASON_NONE) leave_error(p, "settings read");
  else if (r != TS_PROVIDER_REASON_DEVICE_LOCKED) enter_error(p, r);
  else schedule(p, p->cfg.boot_recovery_period ? p->cfg.boot_recovery_period
                                               : TS_PROVIDER_BOOT_RECOVERY_PERIOD,
                EV_KEYCHAIN_RETRY);
}

static void connect_burst(ts_provider *p) {
  p->stats.connect_bursts++;
  char d[64];
  snprintf(d, sizeof d, "+%llu bytes", (unsigned long long)p->cfg.memory_on_connect);
  trace(p, "provider-connect-burst", d);
  ts_provider_set_memory(p, p->memory + p->cfg.memory_on_connect); /* may be a jetsam */
}

static void provider_event(void *obj, uint64_t arg) {
  ts_provider *p = obj;
  if ((uint32_t)(arg >> 32) != p->gen || ((arg >> 8) & 0xffffff) != (p->attempt & 0xffffff) ||
      !p->running)
    return;
  switch (arg & 0xff) {
  case EV_SETTINGS_DONE: settings_done(p); break;
  case EV_HANDSHAKE_DONE:
    if (p->cfg.completion == TS_PROVIDER_COMPLETE_AFTER_HANDSHAKE) complete(p, "handshake");
    if (p->neg && p->dev) ts_neg_client_handshake_done(p->neg);
    break;
  case EV_REHANDSHAKE:
    if (p->dev) ts_wgdev_initiate_handshake(p->dev, p->peer);
    break;
  case EV_NEG_GAVE_UP:
    if (!p->error) enter_error(p, TS_PROVIDER_REASON_NEGOTIATION_FAILED);
    break;
  case EV_SETTINGS_TIMEOUT: settings_timed_out(p); break;
  case EV_KEYCHAIN_RETRY: keychain_retry(p); break;
  case EV_CONNECT_BURST: connect_burst(p); break;
  default: break;
  }
}

/* startTunnel returns nothing: a blocked one never comes back (GT-22, GT-23 deadlock). */
static bool start_blocks(ts_provider *p) {
  const char *why = NULL;
  if (p->cfg.start_blocks) why = "blocked";
  else if (keychain_locked(p) && p->cfg.keychain_locked == TS_PROVIDER_KEYCHAIN_DEADLOCK)
    why = "blocked: Keychain locked (errSecInteractionNotAllowed), deadlock";
  if (!why) return false;
  p->start_blocked = true;
  trace(p, "provider-start", why);
  return true;
}

static void start_tunnel(void *ctx) {
  ts_provider *p = ctx;
  if (p->running) return;
  p->gen++;
  p->running = true;
  p->error = p->completed = p->monitor_reasserting = p->burst_done = false;
  p->reason = TS_PROVIDER_REASON_NONE;
  p->stats.launches++;
  p->memory = 0;
  netstack_up(p);
  if (p->neg) ts_neg_client_launch(p->neg);
  if (p->mon && ts_phone_asleep(p->ph)) ts_monitor_sleep(p->mon); /* launched during sleep */
  else if (p->mon) ts_monitor_wake(p->mon);
  if (ts_provider_set_memory(p, p->cfg.memory) != TS_OK || !p->running) return; /* jetsam at launch */
  if (start_blocks(p)) return;
  trace(p, "provider-start", NULL);
  ts_provider_error_reason r = settings_unreadable(p);
  if (r != TS_PROVIDER_REASON_NONE) enter_error(p, r);
  else connect_tunnel(p);
}

/* The process ends (died: killed or crashed, not a completed stop). */
static void teardown(ts_provider *p, bool died) {
  if (p->mon) ts_monitor_stop(p->mon);
  engine_down(p, died);
  netstack_down(p);
  if (p->sock) ts_phone_socket_close(p->ph, p->sock);
  p->sock = 0;
  p->running = false;
  p->error = p->start_blocked = p->settings_pending = p->proceeded = false;
  p->reason = TS_PROVIDER_REASON_NONE;
  p->gen++;
}

static void stop_tunnel(void *ctx, ts_vpn_stop_reason reason) {
  ts_provider *p = ctx;
  if (p->running && (p->start_blocked || p->cfg.stop_never_completes)) {
    trace(p, "provider-stop-unanswered", ts_vpn_stop_reason_name(reason));
    return; /* the stop watchdog kills the process */
  }
  trace(p, "provider-stop", ts_vpn_stop_reason_name(reason));
  teardown(p, false);
  p->stats.stops++;
  ts_phone_tunnel_stopped(p->ph);
}

static void killed(void *ctx, ts_vpn_exit exit) {
  ts_provider *p = ctx;
  if (!p->running) return;
  trace(p, "provider-killed", ts_vpn_exit_name(exit));
  teardown(p, true);
  p->stats.kills++;
}

/* The process ends by itself: its state goes, then the system hears of it. */
static int process_died(ts_provider *p, ts_vpn_exit exit, const char *detail) {
  if (!p->running) return TS_ESTATE;
  trace(p, exit == TS_EXIT_JETSAM ? "provider-jetsam" : "provider-crash", detail);
  teardown(p, true);
  if (exit == TS_EXIT_JETSAM) p->stats.jetsams++;
  else p->stats.crashes++;
  return ts_phone_tunnel_exited(p->ph, TS_STOP_PROVIDER_FAILED, exit);
}

int ts_provider_set_memory(ts_provider *p, uint64_t bytes) {
  if (!p) return TS_EINVAL;
  if (!p->running) return TS_ESTATE;
  p->memory = bytes;
  int64_t limit = ts_os_profile_limit(ts_phone_profile(p->ph), TS_LIMIT_PROVIDER_MEMORY);
  if (limit > 0 && bytes > (uint64_t)limit) {
    char d[96];
    snprintf(d, sizeof d, "exceeded mem limit: %llu > %lld bytes (per-process-limit)",
             (unsigned long long)bytes, (long long)limit);
    return process_died(p, TS_EXIT_JETSAM, d);
  }
  return TS_OK;
}

uint64_t ts_provider_memory(const ts_provider *p) { return p->running ? p->memory : 0; }

int ts_provider_crash(ts_provider *p) {
  return p ? process_died(p, TS_EXIT_CRASH, "died unexpectedly") : TS_EINVAL;
}

static void read_packet(void *ctx, const uint8_t *pkt, size_t len) {
  ts_provider *p = ctx;
  if (!p->running || p->error || !p->dev) {
    p->stats.utun_discarded++;
    return;
  }
  p->stats.utun_read++;
  int rc = ts_wgdev_tx_ip(p->dev, pkt, len);
  if (rc != WG_OK && rc != WG_ESTAGED) p->stats.utun_discarded++;
}

/* ------------------------------------------------------------- monitor */

static void on_monitor(void *ctx, ts_monitor *m, const ts_monitor_report *r) {
  ts_provider *p = ctx;
  if (r->event == TS_MONITOR_EV_CONNECTED) {
    if (p->cfg.completion == TS_PROVIDER_COMPLETE_AFTER_MONITOR) complete(p, "monitor");
    if (p->monitor_reasserting) {
      p->monitor_reasserting = false;
      ts_phone_tunnel_set_reasserting(p->ph, false);
    }
  } else if (r->event == TS_MONITOR_EV_UNREACHABLE && p->dev) {
    p->stats.reconnects++;
    if (p->cfg.on_loss == TS_PROVIDER_LOSS_REASSERT && !p->monitor_reasserting &&
        ts_vpn_session_status(ts_phone_session(p->ph)) == TS_VPN_CONNECTED) {
      p->monitor_reasserting = ts_phone_tunnel_set_reasserting(p->ph, true) == TS_OK;
    }
    if (p->cfg.on_loss != TS_PROVIDER_LOSS_IGNORE) ts_wgdev_initiate_handshake(p->dev, p->peer);
  }
  if (p->cfg.monitor.on_report) p->cfg.monitor.on_report(p->cfg.monitor.ctx, m, r);
}

/* ------------------------------------------------------- device events */

static void on_sleep(void *ctx) {
  ts_provider *p = ctx;
  if (p->mon) ts_monitor_sleep(p->mon);
}

static void on_wake(void *ctx) {
  ts_provider *p = ctx;
  if (p->mon) ts_monitor_wake(p->mon);
}

/* The user opens the containing app. It migrates outdated settings and reconnects
 * (GT-24): a provider blocked on the old schema leaves its error state; without a
 * provider process the app starts the VPN. Nothing to migrate: nothing happens. */
static void app_opened(void *ctx) {
  ts_provider *p = ctx;
  bool migrated = p->settings_outdated;
  p->settings_outdated = false;
  if (migrated) trace(p, "provider-settings-migrated", "by the main app");
  if (p->running && p->error && p->reason == TS_PROVIDER_REASON_OUTDATED_SCHEMA) {
    leave_error(p, "settings migrated by the main app");
    return;
  }
  if (!migrated || p->running) return;
  int rc = ts_phone_vpn_start(p->ph, TS_START_APP);
  if (rc) {
    char d[96];
    snprintf(d, sizeof d, "after migration: %s", ts_strerror(rc));
    trace(p, "provider-app-start-refused", d);
  }
}

/* ---------------------------------------------------------------- API */

/* The netstack itself is the world's (attached at create): freed with it. */
static void release(void *obj) {
  ts_provider *p = obj;
  ts_mux_destroy(p->mux);
  ts_neg_client_free(p->neg);
  free(p);
}

static bool needs_netstack(const ts_provider_config *cfg) {
  return cfg->use_netstack ||
         (cfg->use_monitor && cfg->monitor.path == TS_MONITOR_PATH_USERSPACE_NETSTACK) ||
         (cfg->negotiation.enabled && cfg->negotiation.path == TS_NEG_PATH_NETSTACK);
}

static int validate(const ts_provider_config *cfg) {
  if (cfg->relay.family != 4 && cfg->relay.family != 6) return TS_EINVAL;
  if (cfg->name && strlen(cfg->name) >= sizeof ((ts_provider *)0)->name) return TS_EINVAL;
  if ((unsigned)cfg->completion > TS_PROVIDER_COMPLETE_AFTER_NEGOTIATION) return TS_EINVAL;
  if (cfg->completion == TS_PROVIDER_COMPLETE_AFTER_NEGOTIATION && !cfg->negotiation.enabled)
    return TS_EINVAL;
  return TS_OK;
}

/* The mux and the negotiation client, which live as long as the provider. */
static int create_parts(ts_provider *p) {
  int rc = TS_OK;
  if (p->wants_netstack) rc = ts_mux_create(MUX_CAPACITY, &p->mux);
  /* The netstack's packets (the plaintext of its flows, as they enter and leave the
   * engine) get an interface of their own in the capture, so Wireshark shows the
   * in-tunnel ping and negotiation beside utun0. */
  if (!rc && p->wants_netstack) {
    char tn[TS_PHONE_NAME_MAX + 12];
    snprintf(tn, sizeof tn, "%s/netstack", ts_phone_name(p->ph));
    rc = ts_trace_add_interface(ts_world_trace(p->w), tn, &p->ns_trace);
  }
  if (!rc && p->cfg.negotiation.enabled) rc = ts_neg_client_create(p, &p->cfg.negotiation, &p->neg);
  return rc;
}

int ts_provider_create(ts_phone *ph, const ts_provider_config *cfg, ts_provider **out) {
  if (!ph || !cfg || !out) return TS_EINVAL;
  int rc = validate(cfg);
  if (rc) return rc;
  ts_provider *p = calloc(1, sizeof *p);
  if (!p) return TS_ENOMEM;
  p->ph = ph;
  p->w = ts_phone_world(ph);
  p->cfg = *cfg;
  if (cfg->name) snprintf(p->name, sizeof p->name, "%s", cfg->name);
  else snprintf(p->name, sizeof p->name, "%s-provider", ts_phone_name(ph));
  if (!p->cfg.settings.tunnel_remote_address.family) p->cfg.settings.tunnel_remote_address = cfg->relay;
  p->wants_netstack = needs_netstack(cfg);
  char stream[sizeof p->name + 16];
  snprintf(stream, sizeof stream, "%s/netstack", p->name);
  ts_world_rng(p->w, stream, &p->ns_rng);
  if ((rc = create_parts(p)) != TS_OK) {
    release(p);
    return rc;
  }
  /* device_unlocked stays NULL: Mullvad notices the unlock on its recovery timer only
   * (bootRecoveryPeriodicity, MV-CODE), never from the unlock event. */
  static const ts_phone_provider_ops ops = {.start_tunnel = start_tunnel,
                                            .stop_tunnel = stop_tunnel,
                                            .read_packet = read_packet,
                                            .killed = killed,
                                            .sleep = on_sleep,
                                            .wake = on_wake,
                                            .app_opened = app_opened};
  rc = ts_world_attach(p->w, p, release);
  if (rc) {
    release(p);
    return rc;
  }
  rc = ts_phone_set_provider(ph, &ops, p);
  if (!rc && cfg->use_monitor) {
    ts_monitor_config mc = cfg->monitor;
    mc.on_report = on_monitor;
    mc.ctx = p;
    rc = ts_monitor_create(p, &mc, &p->mon);
    if (rc) ts_phone_set_provider(ph, NULL, NULL);
  }
  if (rc) return rc; /* released with the world */
  *out = p;
  return TS_OK;
}

int ts_provider_start(ts_provider *p, ts_vpn_start_cause cause) {
  return p ? ts_phone_vpn_start(p->ph, cause) : TS_EINVAL;
}

int ts_provider_stop(ts_provider *p, ts_vpn_stop_reason reason) {
  return p ? ts_phone_vpn_stop(p->ph, reason) : TS_EINVAL;
}

int ts_provider_enter_error_state(ts_provider *p) {
  if (!p || !p->running) return TS_ESTATE;
  return enter_error(p, TS_PROVIDER_REASON_USER);
}

const char *ts_provider_error_reason_name(ts_provider_error_reason r) {
  static const char *const n[] = {"none", "user", "device-locked", "outdated-schema",
                                  "negotiation-failed"};
  return (unsigned)r < TS_PROVIDER_REASON_COUNT ? n[r] : NULL;
}

const char *ts_provider_keychain_locked_name(ts_provider_keychain_locked k) {
  static const char *const n[] = {"blocked-state", "deadlock"};
  return (unsigned)k < TS_PROVIDER_KEYCHAIN_COUNT ? n[k] : NULL;
}

int ts_provider_set_settings_outdated(ts_provider *p, bool outdated) {
  if (!p) return TS_EINVAL;
  if (p->settings_outdated != outdated)
    trace(p, "provider-settings-schema", outdated ? "outdated" : "current");
  p->settings_outdated = outdated;
  return TS_OK;
}

bool ts_provider_settings_outdated(const ts_provider *p) { return p->settings_outdated; }

int ts_provider_set_reasserting(ts_provider *p, bool reasserting) {
  return p ? ts_phone_tunnel_set_reasserting(p->ph, reasserting) : TS_EINVAL;
}

int ts_provider_tx_ip(ts_provider *p, const uint8_t *pkt, size_t len) {
  if (!p || !pkt) return TS_EINVAL;
  if (!p->dev) return TS_ESTATE;
  return ts_wgdev_tx_ip(p->dev, pkt, len);
}

int ts_provider_claim_icmp(ts_provider *p, uint16_t id, ts_provider_icmp_fn fn, void *ctx) {
  if (!p || !fn) return TS_EINVAL;
  if (p->claim_fn) return TS_EEXIST;
  p->claim_id = id;
  p->claim_fn = fn;
  p->claim_ctx = ctx;
  return TS_OK;
}

void ts_provider_release_icmp(ts_provider *p) {
  if (!p) return;
  p->claim_fn = NULL;
  p->claim_ctx = NULL;
}

ts_phone *ts_provider_phone(const ts_provider *p) { return p->ph; }
bool ts_provider_running(const ts_provider *p) { return p->running; }
bool ts_provider_in_error_state(const ts_provider *p) { return p->error; }
ts_provider_error_reason ts_provider_error_reason_get(const ts_provider *p) { return p->reason; }
bool ts_provider_start_blocked(const ts_provider *p) { return p->start_blocked; }
bool ts_provider_settings_pending(const ts_provider *p) { return p->settings_pending; }
ts_wgdev *ts_provider_wgdev(const ts_provider *p) { return p->dev; }
wg_peer *ts_provider_peer(const ts_provider *p) { return p->peer; }
ts_sock_id ts_provider_socket(const ts_provider *p) { return p->sock; }
ts_monitor *ts_provider_monitor(const ts_provider *p) { return p->mon; }
void ts_provider_get_stats(const ts_provider *p, ts_provider_stats *out) { *out = p->stats; }

ts_ipaddr ts_provider_tunnel_address(const ts_provider *p, int family) {
  ts_ipaddr none;
  memset(&none, 0, sizeof none);
  for (size_t i = 0; i < p->cfg.settings.address_count; i++)
    if (p->cfg.settings.addresses[i].addr.family == family) return p->cfg.settings.addresses[i].addr;
  return none;
}

/* ------------------------------------------------ in-tunnel traffic */

ts_netstack *ts_provider_netstack(const ts_provider *p) { return p->ns; }
ts_mux *ts_provider_mux(const ts_provider *p) { return p->mux; }
const char *ts_provider_name(const ts_provider *p) { return p->name; }

void ts_provider_static_public(const ts_provider *p, uint8_t out[WG_KEY_LEN]) {
  if (p->cfg.public_key) memcpy(out, p->cfg.public_key, WG_KEY_LEN);
  else wg_key_public_from_private(out, p->cfg.private_key);
}

const uint8_t *ts_provider_configured_psk(const ts_provider *p) {
  return p->cfg.has_preshared_key ? p->cfg.preshared_key : NULL;
}

static int set_identity(ts_provider *p, const uint8_t private_key[WG_KEY_LEN],
                        const uint8_t *psk) {
  wg_device *engine = p->dev ? ts_wgdev_engine(p->dev) : NULL;
  if (!engine || !p->peer) return TS_ESTATE;
  /* The engine would remove a peer holding the new public key (Linux's rule): never
   * the relay's, which p->peer points to. */
  uint8_t pub[WG_KEY_LEN], relay[WG_KEY_LEN];
  wg_peer_public_key(p->peer, relay);
  if (wg_key_public_from_private(pub, private_key) != WG_OK || !memcmp(pub, relay, WG_KEY_LEN))
    return TS_EINVAL;
  if (wg_device_set_private_key(engine, private_key) != WG_OK ||
      wg_peer_set_preshared_key(p->peer, psk) != WG_OK)
    return TS_EINVAL;
  p->has_initiation = false; /* the key change re-opened the engine's gate */
  ts_wgdev_sync(p->dev);
  return TS_OK;
}

int ts_provider_use_ephemeral(ts_provider *p, const uint8_t private_key[WG_KEY_LEN],
                              const uint8_t psk[WG_KEY_LEN]) {
  return p && private_key && psk ? set_identity(p, private_key, psk) : TS_EINVAL;
}

int ts_provider_use_parent(ts_provider *p) {
  return p ? set_identity(p, p->cfg.private_key, ts_provider_configured_psk(p)) : TS_EINVAL;
}

void ts_provider_rehandshake(ts_provider *p, const char *why) {
  if (!p->dev) return;
  ts_time now = now_of(p), open_at = now;
  if (p->has_initiation && now - p->last_initiation < WG_REKEY_TIMEOUT_NS)
    open_at = p->last_initiation + WG_REKEY_TIMEOUT_NS;
  char d[128];
  snprintf(d, sizeof d, "%s: new handshake in %lld ms", why, (long long)((open_at - now) / TS_MS));
  trace(p, "provider-rehandshake", d);
  schedule(p, open_at - now, EV_REHANDSHAKE);
}

void ts_provider_negotiated(ts_provider *p) {
  if (p->cfg.completion == TS_PROVIDER_COMPLETE_AFTER_NEGOTIATION) complete(p, "negotiation");
}

void ts_provider_negotiation_gave_up(ts_provider *p) { schedule(p, 0, EV_NEG_GAVE_UP); }

bool ts_provider_negotiation_done(const ts_provider *p) {
  return p->neg && p->running && ts_neg_client_state(p->neg) == TS_NEG_STATE_DONE;
}

ts_neg_state ts_provider_negotiation_state(const ts_provider *p) {
  return p->neg ? ts_neg_client_state(p->neg) : TS_NEG_STATE_OFF;
}

void ts_provider_negotiation_stats(const ts_provider *p, ts_neg_stats *out) {
  if (p->neg) ts_neg_client_stats(p->neg, out);
  else memset(out, 0, sizeof *out);
}

bool ts_provider_negotiation_last(const ts_provider *p, ts_neg_attempt *out) {
  return p->neg && ts_neg_client_last(p->neg, out);
}
