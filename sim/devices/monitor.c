/* The tunnel monitor: see ts_monitor.h. */
#include <stdlib.h>
#include <string.h>

#include "ts_provider.h"

#define SENT_RING 64
#define ENGINE_ICMP_ID 0x4d56 /* "MV" */
#define MAX_PAYLOAD 64

struct ts_monitor {
  ts_provider *p;
  ts_phone *ph;
  ts_world *w;
  ts_monitor_config cfg;
  ts_monitor_state state;
  bool asleep;             /* the device sleeps: the connectivity timer is stopped */
  uint32_t gen;
  ts_sock_id sock;
  uint16_t id, seq;
  ts_time sent_at[SENT_RING];
  ts_time last_ping, last_reply, attempt_start, establish_timeout;
  uint32_t attempt;
  ts_monitor_stats stats;
  ts_monitor_send last_send;
  bool tried;              /* last_send holds an attempt */
  uint8_t payload[MAX_PAYLOAD];
  uint8_t pkt[TS_IPV6_HEADER + TS_ICMP_ECHO_HEADER + MAX_PAYLOAD];
};

void ts_monitor_timings_default(ts_monitor_timings *t) {
  *t = (ts_monitor_timings){.check_interval = TS_SEC,
                            .ping_delay = 3 * TS_SEC,
                            .initial_establish_timeout = 4 * TS_SEC,
                            .establish_timeout_multiplier = 2,
                            .ping_timeout = 15 * TS_SEC,
                            .heartbeat_interval = 10 * TS_SEC,
                            .heartbeat_reply_timeout = 3 * TS_SEC,
                            .traffic_flow_timeout = 5 * TS_SEC,
                            .inbound_traffic_timeout = 5 * TS_SEC,
                            .traffic_timeout = 120 * TS_SEC};
}

const char *ts_monitor_path_name(ts_monitor_path p) {
  static const char *const n[] = {"bsd-utun", "nw-virtual", "engine", "userspace-netstack"};
  return (unsigned)p < TS_MONITOR_PATH_COUNT ? n[p] : NULL;
}

const char *ts_monitor_state_name(ts_monitor_state s) {
  static const char *const n[] = {"stopped", "connecting", "connected", "recovering"};
  return (unsigned)s <= TS_MONITOR_RECOVERING ? n[s] : NULL;
}

const char *ts_monitor_event_name(ts_monitor_event e) {
  static const char *const n[] = {NULL, "ping-sent", "send-error", "reply",
                                  "timeout", "connected", "unreachable"};
  return (unsigned)e <= TS_MONITOR_EV_UNREACHABLE ? n[e] : NULL;
}

static ts_time now_of(const ts_monitor *m) { return ts_world_now(m->w); }

static void report(ts_monitor *m, ts_monitor_event ev, uint16_t seq, ts_time rtt) {
  ts_monitor_report r = {ev, m->state, seq, rtt, m->attempt};
  if (ev != TS_MONITOR_EV_PING_SENT && ev != TS_MONITOR_EV_REPLY) {
    ts_trace_event(ts_world_trace(m->w), now_of(m), "monitor", ts_phone_name(m->ph),
                   ts_monitor_event_name(ev));
  }
  if (m->cfg.on_report) m->cfg.on_report(m->cfg.ctx, m, &r);
}

/* ------------------------------------------------------------- pinging */

static void send_ping(ts_monitor *m) {
  ts_time now = now_of(m);
  uint16_t seq = ++m->seq;
  uint32_t n = m->cfg.payload_size;
  for (uint32_t i = 0; i < n; i++) m->payload[i] = (uint8_t)(i + seq);
  bool ok;
  ts_monitor_send *ls = &m->last_send;
  memset(ls, 0, sizeof *ls);
  ls->at = now;
  ls->seq = seq;
  if (m->cfg.path == TS_MONITOR_PATH_USERSPACE_NETSTACK) {
    ts_netstack *ns = ts_provider_netstack(m->p);
    ls->rc = ns ? ts_netstack_ping(ns, &m->cfg.target, m->id, seq, m->payload, n) : TS_ESTATE;
    ok = ls->rc == TS_OK;
  } else if (m->cfg.path == TS_MONITOR_PATH_ENGINE) {
    ts_ipaddr src = ts_provider_tunnel_address(m->p, m->cfg.target.family);
    uint32_t len = src.family ? ts_ip_build_echo(m->pkt, sizeof m->pkt, &src, &m->cfg.target, false,
                                                 m->id, seq, m->payload, n)
                              : 0;
    ls->rc = len ? ts_provider_tx_ip(m->p, m->pkt, len) : TS_EINVAL;
    ok = ls->rc == WG_OK || ls->rc == WG_ESTAGED;
  } else {
    ts_sock_send_result res;
    memset(&res, 0, sizeof res);
    ls->rc = ts_phone_send_echo(m->ph, m->sock, &m->cfg.target, seq, m->payload, n, &res);
    ls->status = res.status;
    ls->verdict = res.verdict;
    ok = ls->rc == TS_OK && res.status == TS_SOCK_OK; /* a silent failure looks like success */
    ls->silent_failure = ok && res.verdict.kind == TS_VERDICT_SILENT_FAIL;
  }
  ls->sent = ok;
  m->tried = true;
  m->last_ping = now;
  if (!ok) {
    m->stats.send_errors++;
    report(m, TS_MONITOR_EV_SEND_ERROR, seq, 0);
    return;
  }
  m->sent_at[seq % SENT_RING] = now;
  m->stats.pings_sent++;
  report(m, TS_MONITOR_EV_PING_SENT, seq, 0);
}

static void got_reply(ts_monitor *m, const ts_ipaddr *src, uint16_t id, uint16_t seq) {
  if (m->state == TS_MONITOR_STOPPED || id != m->id || !ts_ipaddr_equal(src, &m->cfg.target))
    return;
  ts_time now = now_of(m), sent = m->sent_at[seq % SENT_RING];
  ts_time rtt = sent ? now - sent : 0;
  m->sent_at[seq % SENT_RING] = 0;
  m->stats.replies++;
  if (!m->stats.rtt_min || rtt < m->stats.rtt_min) m->stats.rtt_min = rtt;
  if (rtt > m->stats.rtt_max) m->stats.rtt_max = rtt;
  m->stats.rtt_sum += rtt;
  m->last_reply = now;
  report(m, TS_MONITOR_EV_REPLY, seq, rtt);
  if (m->state != TS_MONITOR_CONNECTED) {
    m->state = TS_MONITOR_CONNECTED;
    m->attempt = 0;
    m->stats.connected++;
    report(m, TS_MONITOR_EV_CONNECTED, 0, 0);
  }
}

static void on_socket(void *ctx, ts_sock_id sock, const ts_ip_info *info, const uint8_t *payload,
                      uint32_t len, int iface) {
  (void)sock;
  (void)payload;
  (void)len;
  (void)iface;
  got_reply(ctx, &info->src, info->icmp_id, info->icmp_seq);
}

static void on_engine(void *ctx, const ts_ip_info *info, const uint8_t *pkt, size_t len) {
  (void)pkt;
  (void)len;
  got_reply(ctx, &info->src, info->icmp_id, info->icmp_seq);
}

static void on_netstack(void *ctx, ts_netstack *ns, const ts_netstack_echo *reply) {
  (void)ns;
  got_reply(ctx, &reply->from, reply->id, reply->seq);
}

/* -------------------------------------------------------------- timing */

static void lost(ts_monitor *m) {
  m->stats.timeouts++;
  report(m, TS_MONITOR_EV_TIMEOUT, 0, 0);
  m->stats.unreachable++;
  report(m, TS_MONITOR_EV_UNREACHABLE, 0, 0);
}

static void tick(void *obj, uint64_t arg) {
  ts_monitor *m = obj;
  if ((uint32_t)arg != m->gen || m->state == TS_MONITOR_STOPPED) return;
  const ts_monitor_timings *t = &m->cfg.timings;
  ts_time now = now_of(m);
  if (m->state == TS_MONITOR_CONNECTED) {
    if (now - m->last_reply >= t->ping_timeout) {
      m->state = TS_MONITOR_RECOVERING;
      m->attempt_start = now;
      m->establish_timeout = t->initial_establish_timeout;
      lost(m);
      if (m->state != TS_MONITOR_STOPPED) send_ping(m);
    } else if (m->last_ping > m->last_reply && now - m->last_ping >= t->heartbeat_reply_timeout) {
      send_ping(m);
    } else if (now - m->last_ping >= t->heartbeat_interval) {
      send_ping(m);
    }
  } else {
    if (now - m->attempt_start >= m->establish_timeout) {
      m->attempt++;
      ts_time next = m->establish_timeout * (ts_time)t->establish_timeout_multiplier;
      m->establish_timeout = next < t->ping_timeout ? next : t->ping_timeout;
      m->attempt_start = now;
      lost(m);
    }
    if (m->state != TS_MONITOR_STOPPED && now - m->last_ping >= t->ping_delay) send_ping(m);
  }
  if (m->state != TS_MONITOR_STOPPED && (uint32_t)arg == m->gen)
    ts_world_schedule_in(m->w, t->check_interval, tick, m, m->gen, NULL);
}

/* ----------------------------------------------------------------- API */

static void release(void *obj) { free(obj); }

int ts_monitor_create(ts_provider *p, const ts_monitor_config *cfg, ts_monitor **out) {
  if (!p || !cfg || !out || (unsigned)cfg->path >= TS_MONITOR_PATH_COUNT) return TS_EINVAL;
  ts_phone *ph = ts_provider_phone(p);
  if (cfg->path == TS_MONITOR_PATH_NW_VIRTUAL &&
      !ts_os_profile_has_api(ts_phone_profile(ph), TS_API_VIRTUAL_INTERFACE))
    return TS_ENOTSUP;
  if (cfg->payload_size > MAX_PAYLOAD) return TS_ERANGE;
  ts_monitor *m = calloc(1, sizeof *m);
  if (!m) return TS_ENOMEM;
  m->p = p;
  m->ph = ph;
  m->w = ts_phone_world(ph);
  m->cfg = *cfg;
  if (!m->cfg.target.family) ts_ipaddr_parse("10.64.0.1", &m->cfg.target);
  if (!m->cfg.payload_size) m->cfg.payload_size = 16;
  ts_monitor_timings d, *t = &m->cfg.timings;
  ts_monitor_timings_default(&d);
  if (!t->check_interval) t->check_interval = d.check_interval;
  if (!t->ping_delay) t->ping_delay = d.ping_delay;
  if (!t->initial_establish_timeout) t->initial_establish_timeout = d.initial_establish_timeout;
  if (!t->establish_timeout_multiplier) t->establish_timeout_multiplier = d.establish_timeout_multiplier;
  if (!t->ping_timeout) t->ping_timeout = d.ping_timeout;
  if (!t->heartbeat_interval) t->heartbeat_interval = d.heartbeat_interval;
  if (!t->heartbeat_reply_timeout) t->heartbeat_reply_timeout = d.heartbeat_reply_timeout;
  if (!t->traffic_flow_timeout) t->traffic_flow_timeout = d.traffic_flow_timeout;
  if (!t->inbound_traffic_timeout) t->inbound_traffic_timeout = d.inbound_traffic_timeout;
  if (!t->traffic_timeout) t->traffic_timeout = d.traffic_timeout;
  int rc = ts_world_attach(m->w, m, release);
  if (rc) {
    free(m);
    return rc;
  }
  *out = m;
  return TS_OK;
}

int ts_monitor_start(ts_monitor *m) {
  if (!m) return TS_EINVAL;
  if (m->state != TS_MONITOR_STOPPED) return TS_ESTATE;
  int rc;
  if (m->cfg.path == TS_MONITOR_PATH_USERSPACE_NETSTACK) {
    ts_netstack *ns = ts_provider_netstack(m->p);
    m->id = m->cfg.icmp_id ? m->cfg.icmp_id : ENGINE_ICMP_ID;
    rc = ns ? TS_OK : TS_ESTATE;
    if (ns) ts_netstack_set_echo_handler(ns, on_netstack, m);
  } else if (m->cfg.path == TS_MONITOR_PATH_ENGINE) {
    m->id = m->cfg.icmp_id ? m->cfg.icmp_id : ENGINE_ICMP_ID;
    rc = ts_provider_claim_icmp(m->p, m->id, on_engine, m);
  } else {
    ts_phone_socket_params sp = {.owner = TS_TC_PROVIDER, .proto = TS_IPPROTO_ICMP,
                                 .local_id = m->cfg.icmp_id, .recv = on_socket, .ctx = m};
    if (m->cfg.path == TS_MONITOR_PATH_BSD_UTUN) {
      sp.api = TS_SOCK_BSD;
      sp.bound_if = ts_os_iface_name(ts_phone_ifaces(m->ph), ts_phone_utun(m->ph));
    } else {
      sp.api = TS_SOCK_NWCONNECTION;
      sp.remote = m->cfg.target;
      sp.nw.required_virtual_interface = true;
    }
    rc = ts_phone_socket_open(m->ph, &sp, &m->sock);
    if (!rc) m->id = ts_phone_socket_local_id(m->ph, m->sock);
  }
  if (rc) return rc;
  ts_time now = now_of(m);
  m->gen++;
  m->state = TS_MONITOR_CONNECTING;
  m->attempt = 0;
  m->establish_timeout = m->cfg.timings.initial_establish_timeout;
  m->attempt_start = now;
  m->last_reply = now;
  memset(m->sent_at, 0, sizeof m->sent_at);
  if (m->asleep) return TS_OK; /* the timer starts at the wake (ts_monitor_wake) */
  send_ping(m);
  ts_world_schedule_in(m->w, m->cfg.timings.check_interval, tick, m, m->gen, NULL);
  return TS_OK;
}

static void trace_power(ts_monitor *m, const char *what) {
  ts_trace_event(ts_world_trace(m->w), now_of(m), "monitor", ts_phone_name(m->ph), what);
}

void ts_monitor_sleep(ts_monitor *m) {
  if (!m || m->asleep) return;
  m->asleep = true;
  if (m->state == TS_MONITOR_STOPPED) return;
  m->gen++; /* stopConnectivityCheckTimer: pending ticks are void */
  trace_power(m, "sleep: connectivity timer stopped");
}

/* startConnectivityCheckTimer: a check at once, timeouts measured from now. The
 * attempt's establish timeout keeps its value; only its reference moves. */
void ts_monitor_wake(ts_monitor *m) {
  if (!m || !m->asleep) return;
  m->asleep = false;
  if (m->state == TS_MONITOR_STOPPED) return;
  ts_time now = now_of(m);
  m->gen++;
  m->attempt_start = now;
  m->last_reply = now; /* the connected state's ping timeout counts from here */
  trace_power(m, "wake: connectivity timer restarted");
  ts_world_schedule_in(m->w, 0, tick, m, m->gen, NULL);
}

bool ts_monitor_asleep(const ts_monitor *m) { return m->asleep; }

bool ts_monitor_last_send(const ts_monitor *m, ts_monitor_send *out) {
  if (!m->tried) return false;
  if (out) *out = m->last_send;
  return true;
}

void ts_monitor_stop(ts_monitor *m) {
  if (!m || m->state == TS_MONITOR_STOPPED) return;
  m->state = TS_MONITOR_STOPPED;
  m->gen++;
  if (m->cfg.path == TS_MONITOR_PATH_ENGINE) ts_provider_release_icmp(m->p);
  else if (m->cfg.path == TS_MONITOR_PATH_USERSPACE_NETSTACK && ts_provider_netstack(m->p))
    ts_netstack_set_echo_handler(ts_provider_netstack(m->p), NULL, NULL);
  else if (m->sock) ts_phone_socket_close(m->ph, m->sock);
  m->sock = 0;
}

ts_monitor_state ts_monitor_state_of(const ts_monitor *m) { return m->state; }
ts_monitor_path ts_monitor_path_get(const ts_monitor *m) { return m->cfg.path; }
const ts_monitor_config *ts_monitor_config_of(const ts_monitor *m) { return &m->cfg; }
void ts_monitor_get_stats(const ts_monitor *m, ts_monitor_stats *out) { *out = m->stats; }
