/* The provider's ephemeral-peer negotiation client: see ts_neg_client.h. */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "provider_internal.h"
#include "ts_negotiation.h"

/* REST.RetryStrategy.postQuantumKeyExchange (MV-CODE RetryStrategy.swift). */
#define DEFAULT_TIMEOUT_INITIAL (10 * TS_SEC)
#define DEFAULT_TIMEOUT_MULTIPLIER 2
#define DEFAULT_TIMEOUT_MAX (30 * TS_SEC)
#define DEFAULT_MAX_RETRIES 10
#define DEFAULT_GATEWAY "10.64.0.1" /* GRPC_HOST_CSTR "10.64.0.1:1337" (MV-CODE) */

struct ts_neg_client {
  ts_provider *p;
  ts_phone *ph;
  ts_world *w;
  ts_neg_config cfg;
  ts_rng rng;               /* "<provider>/negotiation": the ephemeral key pairs */
  ts_neg_state state;
  uint32_t timer_gen;       /* the armed timer's generation; older timers are void */
  uint32_t number;          /* attempts in the current schedule */
  bool exhausted_traced;
  ts_netstack_tcp *tcp;     /* netstack path: the attempt's connection */
  ts_netstack_tcp *linger;  /* ... after the response: closed from its own event (lwIP
                               answers a close inside the receive callback with RST:
                               the bytes just read are not yet acknowledged) */
  uint32_t linger_gen;
  ts_sock_id sock;          /* OS paths: the attempt's socket */
  bool psk_initiated;       /* rekeying: an initiation left after the install */
  ts_neg_reader reader;
  uint8_t eph_priv[TS_NEG_KEY_LEN], eph_pub[TS_NEG_KEY_LEN];
  ts_neg_attempt last;
  bool has_last;
  ts_neg_stats stats;
};

/* ------------------------------------------------------------- names */

const char *ts_neg_path_name(ts_neg_path p) {
  static const char *const n[] = {"nwtcpconnection", "nwconnection-virtual", "userspace-netstack"};
  return (unsigned)p < TS_NEG_PATH_COUNT ? n[p] : NULL;
}

const char *ts_neg_state_name(ts_neg_state s) {
  static const char *const n[] = {"off",        "waiting-for-tunnel", "connecting", "exchanging",
                                  "rekeying",   "done",               "gave-up"};
  return (unsigned)s < TS_NEG_STATE_COUNT ? n[s] : NULL;
}

const char *ts_neg_outcome_name(ts_neg_outcome o) {
  static const char *const n[] = {"pending", "done", "timeout", "failed", "aborted"};
  return (unsigned)o <= TS_NEG_OUTCOME_ABORTED ? n[o] : NULL;
}

const char *ts_neg_on_exhausted_name(ts_neg_on_exhausted e) {
  static const char *const n[] = {"cycle", "error-state"};
  return (unsigned)e < TS_NEG_EXHAUSTED_COUNT ? n[e] : NULL;
}

/* ------------------------------------------------------------ config */

void ts_neg_config_default(ts_neg_config *c) {
  memset(c, 0, sizeof *c);
  ts_ipaddr_parse(DEFAULT_GATEWAY, &c->gateway);
  c->port = TS_NEG_PORT;
  c->timeout_initial = DEFAULT_TIMEOUT_INITIAL;
  c->timeout_multiplier = DEFAULT_TIMEOUT_MULTIPLIER;
  c->timeout_max = DEFAULT_TIMEOUT_MAX;
  c->max_retries = DEFAULT_MAX_RETRIES;
}

static void apply_defaults(ts_neg_config *c) {
  ts_neg_config d;
  ts_neg_config_default(&d);
  if (!c->gateway.family) c->gateway = d.gateway;
  if (!c->port) c->port = d.port;
  if (!c->timeout_initial) c->timeout_initial = d.timeout_initial;
  if (!c->timeout_multiplier) c->timeout_multiplier = d.timeout_multiplier;
  if (!c->timeout_max) c->timeout_max = d.timeout_max;
  if (c->timeout_max < c->timeout_initial) c->timeout_max = c->timeout_initial;
}

/* ExponentialBackoff: initial, x multiplier, returning maxDelay once reached. */
ts_time ts_neg_attempt_timeout(const ts_neg_config *cfg, uint32_t n) {
  ts_neg_config c = *cfg;
  apply_defaults(&c);
  ts_time t = c.timeout_initial;
  for (uint32_t i = 1; i < n && t < c.timeout_max; i++) t *= (ts_time)c.timeout_multiplier;
  return t < c.timeout_max ? t : c.timeout_max;
}

/* ------------------------------------------------------------ helpers */

static ts_time now_of(const ts_neg_client *c) { return ts_world_now(c->w); }

static void trace(ts_neg_client *c, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void trace(ts_neg_client *c, const char *fmt, ...) {
  char d[512];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(d, sizeof d, fmt, ap);
  va_end(ap);
  ts_provider_trace(c->p, "provider-negotiation", d);
}

static void neg_timer(void *obj, uint64_t arg);

static void arm_timer(ts_neg_client *c, ts_time in) {
  c->timer_gen++;
  ts_world_schedule_in(c->w, in, neg_timer, c, c->timer_gen, NULL);
}

static void disarm_timer(ts_neg_client *c) { c->timer_gen++; }

static void set_state(ts_neg_client *c, ts_neg_state s) {
  c->state = s;
  if (c->has_last && s > c->last.reached && s <= TS_NEG_STATE_DONE) c->last.reached = s;
}

static bool os_path(const ts_neg_client *c) { return c->cfg.path != TS_NEG_PATH_NETSTACK; }

/* The OS socket as the attempt sees it: its NW state, isViable, and the policy's
 * verdict for its flow (what the OS would do with its packets). */
static void snapshot(const ts_neg_client *c, ts_neg_attempt *a) {
  if (!os_path(c) || !c->sock) return;
  ts_sock_table *t = ts_phone_sockets(c->ph);
  a->os_socket = true;
  a->nw_state = ts_sock_nw_state(t, c->sock);
  a->viable = c->cfg.path == TS_NEG_PATH_NWTCPCONNECTION ? ts_sock_nwtcp_viable(t, c->sock)
                                                         : a->nw_state == TS_NW_READY;
  ts_policy_flow f;
  memset(&a->verdict, 0, sizeof a->verdict);
  if (ts_sock_flow(t, c->sock, NULL, &f) == 0) ts_policy_decide(ts_phone_env(c->ph), &f, &a->verdict);
}

/* "nwtcpconnection waiting, not viable, verdict silent-fail ..." for the trace. */
static void describe_socket(const ts_neg_client *c, const ts_neg_attempt *a, char *out, size_t n) {
  out[0] = 0;
  if (!a->os_socket) return;
  int k = snprintf(out, n, "; %s %s, %s, verdict ", ts_neg_path_name(c->cfg.path),
                   ts_nw_state_name(a->nw_state), a->viable ? "viable" : "not viable");
  if (k > 0 && (size_t)k < n) ts_verdict_format(&a->verdict, ts_phone_env(c->ph), out + k, n - (size_t)k);
}

/* ---------------------------------------------------------- transport */

static void close_transport(ts_neg_client *c, bool orderly, bool died) {
  if (c->linger) {
    ts_netstack_tcp_close(c->linger);
    c->linger = NULL;
  }
  if (c->tcp) {
    if (orderly) ts_netstack_tcp_close(c->tcp);
    else ts_netstack_tcp_abort(c->tcp);
    c->tcp = NULL;
  }
  if (c->sock) {
    ts_sock_id s = c->sock;
    c->sock = 0; /* callbacks for it are ignored from now on */
    if (died) ts_phone_socket_drop(c->ph, s);
    else if (orderly && ts_phone_tcp_endpoint(c->ph, s)) ts_phone_tcp_close(c->ph, s);
    else ts_phone_socket_close(c->ph, s);
  }
}

static void on_connected(ts_neg_client *c);
static void on_bytes(ts_neg_client *c, const uint8_t *data, size_t len);
static void fail(ts_neg_client *c, ts_neg_outcome outcome, const char *why);

static void ns_connected(void *ctx, ts_netstack_tcp *t) {
  ts_neg_client *c = ctx;
  if (t == c->tcp) on_connected(c);
}

static void ns_data(void *ctx, ts_netstack_tcp *t, const uint8_t *data, uint32_t len) {
  ts_neg_client *c = ctx;
  if (t == c->tcp) on_bytes(c, data, len);
}

static void ns_eof(void *ctx, ts_netstack_tcp *t) {
  ts_neg_client *c = ctx;
  if (t == c->tcp) fail(c, TS_NEG_OUTCOME_FAILED, "the relay closed the connection");
}

static void ns_closed(void *ctx, ts_netstack_tcp *t, int reason) {
  ts_neg_client *c = ctx;
  if (t == c->linger) c->linger = NULL; /* freed after this returns */
  if (t != c->tcp) return;
  c->tcp = NULL; /* freed after this returns */
  fail(c, TS_NEG_OUTCOME_FAILED, ts_netstack_close_reason_name(reason));
}

static void os_connected(void *ctx, ts_sock_id s) {
  ts_neg_client *c = ctx;
  if (s == c->sock) on_connected(c);
}

static void os_data(void *ctx, ts_sock_id s, const uint8_t *data, size_t len) {
  ts_neg_client *c = ctx;
  if (s != c->sock) return;
  if (len) on_bytes(c, data, len);
  else fail(c, TS_NEG_OUTCOME_FAILED, "the relay closed the connection");
}

static void os_closed(void *ctx, ts_sock_id s, ts_tcp_reason why) {
  ts_neg_client *c = ctx;
  if (s != c->sock) return;
  c->sock = 0; /* already closed */
  fail(c, TS_NEG_OUTCOME_FAILED, ts_tcp_reason_name(why));
}

static void linger_close(void *obj, uint64_t arg) {
  ts_neg_client *c = obj;
  if (arg != c->linger_gen || !c->linger) return;
  ts_netstack_tcp_close(c->linger);
  c->linger = NULL;
}

/* The exchange is over: an orderly close, after the callback that read it. */
static void finish_transport(ts_neg_client *c) {
  if (!c->tcp) {
    close_transport(c, true, false);
    return;
  }
  if (c->linger) ts_netstack_tcp_close(c->linger);
  c->linger = c->tcp;
  c->tcp = NULL;
  ts_world_schedule_in(c->w, 0, linger_close, c, ++c->linger_gen, NULL);
}

static int open_netstack(ts_neg_client *c) {
  ts_netstack *ns = ts_provider_netstack(c->p);
  if (!ns) return TS_ESTATE;
  static const ts_netstack_tcp_callbacks cb = {.connected = ns_connected, .data = ns_data,
                                               .eof = ns_eof, .closed = ns_closed};
  return ts_netstack_tcp_connect(ns, &c->cfg.gateway, c->cfg.port, &cb, c, &c->tcp);
}

static int open_os_socket(ts_neg_client *c) {
  ts_phone_socket_params sp = {.owner = TS_TC_PROVIDER, .proto = TS_IPPROTO_TCP,
                               .remote = c->cfg.gateway, .remote_port = c->cfg.port,
                               .tcp = {.on_connected = os_connected, .on_data = os_data,
                                       .on_closed = os_closed},
                               .ctx = c};
  if (c->cfg.path == TS_NEG_PATH_NWTCPCONNECTION) {
    sp.api = TS_SOCK_NWTCPCONNECTION;
  } else {
    sp.api = TS_SOCK_NWCONNECTION;
    sp.nw.required_virtual_interface = true;
  }
  ts_sock_id id = 0;
  int rc = ts_phone_socket_open(c->ph, &sp, &id);
  if (!rc) c->sock = id;
  return rc;
}

/* ------------------------------------------------------------ attempts */

static void start_attempt(ts_neg_client *c) {
  c->number++;
  ts_time timeout = ts_neg_attempt_timeout(&c->cfg, c->number);
  c->last = (ts_neg_attempt){.number = c->number, .path = c->cfg.path, .started = now_of(c),
                             .timeout = timeout, .reached = TS_NEG_STATE_CONNECTING};
  c->has_last = true;
  c->stats.attempts++;
  set_state(c, TS_NEG_STATE_CONNECTING);
  trace(c, "attempt %u via %s (timeout %lld ms)", c->number, ts_neg_path_name(c->cfg.path),
        (long long)(timeout / TS_MS));
  arm_timer(c, timeout);
  int rc = os_path(c) ? open_os_socket(c) : open_netstack(c);
  if (rc) {
    c->stats.open_errors++;
    trace(c, "attempt %u: the path refused to open: %s (waiting for the timeout)", c->number,
          ts_strerror(rc));
  }
}

/* Connected (NWTCPConnection: viable): the timer is re-armed with the same duration
 * for the exchange (postQuantumKeyExchangeTimeout: tcpConnectionTimeout, MV-CODE),
 * then the request goes. */
static void on_connected(ts_neg_client *c) {
  if (c->state != TS_NEG_STATE_CONNECTING) return;
  set_state(c, TS_NEG_STATE_EXCHANGING);
  arm_timer(c, c->last.timeout);
  ts_neg_request req;
  ts_provider_static_public(c->p, req.parent_public);
  uint8_t msg[TS_NEG_REQUEST_LEN];
  int rc = ts_neg_keypair(c->eph_priv, c->eph_pub, &c->rng);
  if (!rc) {
    memcpy(req.ephemeral_public, c->eph_pub, TS_NEG_KEY_LEN);
    rc = ts_neg_request_encode(&req, msg) == TS_NEG_REQUEST_LEN ? TS_OK : TS_EINVAL;
  }
  ts_neg_reader_init(&c->reader, TS_NEG_RESPONSE);
  int64_t put = TS_EINVAL;
  if (!rc && c->tcp) put = ts_netstack_tcp_write(c->tcp, msg, sizeof msg);
  else if (!rc && c->sock) put = ts_phone_tcp_write(c->ph, c->sock, msg, sizeof msg);
  if (put != (int64_t)sizeof msg) {
    fail(c, TS_NEG_OUTCOME_FAILED, "the request could not be written");
    return;
  }
  trace(c, "attempt %u: connected%s; request sent (%d bytes)", c->number,
        os_path(c) ? " (viable)" : "", TS_NEG_REQUEST_LEN);
}

/* The response ok: the ephemeral key pair the request carried becomes the engine's
 * identity and the derived PSK the relay peer's, then a new handshake. Nothing new is
 * generated: the relay registered that key as an ephemeral peer with that PSK, and
 * the parent peer stays as it was (MV-CODE ephemeralpeer.proto, ts_relay.h). */
static void install(ts_neg_client *c, const ts_neg_response *resp) {
  uint8_t psk[TS_NEG_KEY_LEN];
  int rc = ts_neg_derive_psk(psk, c->eph_priv, resp->ephemeral_public, c->eph_pub,
                             resp->ephemeral_public);
  int used = rc ? rc : ts_provider_use_ephemeral(c->p, c->eph_priv, psk);
  sodium_memzero(c->eph_priv, sizeof c->eph_priv);
  sodium_memzero(psk, sizeof psk);
  if (used) {
    fail(c, TS_NEG_OUTCOME_FAILED, rc ? "response key unusable" : "the engine refused the key");
    return;
  }
  c->stats.psk_installs++;
  snapshot(c, &c->last); /* the socket that carried the exchange, before it goes */
  finish_transport(c);
  set_state(c, TS_NEG_STATE_REKEYING);
  c->psk_initiated = false;
  arm_timer(c, c->last.timeout);
  trace(c, "attempt %u: response ok; ephemeral key and psk in use, new handshake", c->number);
  ts_provider_rehandshake(c->p, "negotiated ephemeral peer");
}

static void on_bytes(ts_neg_client *c, const uint8_t *data, size_t len) {
  if (c->state != TS_NEG_STATE_EXCHANGING) return;
  int r = ts_neg_reader_feed(&c->reader, data, len, NULL);
  if (r == TS_NEG_READER_MORE) return;
  ts_neg_response resp;
  if (r != TS_NEG_READER_DONE || ts_neg_reader_response(&c->reader, &resp) != TS_OK) {
    fail(c, TS_NEG_OUTCOME_FAILED, "malformed response");
    return;
  }
  c->stats.responses++;
  if (resp.status != TS_NEG_STATUS_OK) {
    char why[64];
    snprintf(why, sizeof why, "refused: %s", ts_neg_status_name(resp.status));
    fail(c, TS_NEG_OUTCOME_FAILED, why);
    return;
  }
  install(c, &resp);
}

static void succeed(ts_neg_client *c) {
  disarm_timer(c);
  set_state(c, TS_NEG_STATE_DONE);
  c->last.outcome = TS_NEG_OUTCOME_DONE;
  c->last.ended = now_of(c);
  c->stats.successes++;
  trace(c, "attempt %u: handshake with psk done, on the ephemeral peer", c->number);
  c->number = 0; /* reset() after a successful exchange (MV-CODE) */
  c->exhausted_traced = false;
  ts_provider_negotiated(c->p);
}

static bool exhausted(const ts_neg_client *c) { return c->number > c->cfg.max_retries; }

/* A failed attempt: cancelled, its PSK taken back, then a reconnect or, once the
 * retries are exhausted with on_exhausted error-state, the end. */
static void fail(ts_neg_client *c, ts_neg_outcome outcome, const char *why) {
  if (c->state < TS_NEG_STATE_CONNECTING || c->state > TS_NEG_STATE_REKEYING) return;
  bool rekeying = c->state == TS_NEG_STATE_REKEYING;
  snapshot(c, &c->last);
  close_transport(c, false, false);
  disarm_timer(c);
  sodium_memzero(c->eph_priv, sizeof c->eph_priv);
  /* Back to what the relay's parent peer expects: the parent key, no negotiated PSK. */
  if (rekeying) ts_provider_use_parent(c->p);
  c->last.outcome = outcome;
  c->last.ended = now_of(c);
  if (outcome == TS_NEG_OUTCOME_TIMEOUT) c->stats.timeouts++;
  else c->stats.failures++;
  char sock[256];
  describe_socket(c, &c->last, sock, sizeof sock);
  trace(c, "attempt %u: %s in %s after %lld ms%s%s%s%s", c->number, ts_neg_outcome_name(outcome),
        ts_neg_state_name(c->state), (long long)((c->last.ended - c->last.started) / TS_MS),
        why ? ": " : "", why ? why : "", sock, rekeying ? "; back on the parent key" : "");
  if (exhausted(c) && c->cfg.on_exhausted == TS_NEG_EXHAUSTED_ERROR_STATE) {
    set_state(c, TS_NEG_STATE_GAVE_UP);
    trace(c, "gave up after %u attempts (max-retries %u): error state", c->number,
          c->cfg.max_retries);
    ts_provider_negotiation_gave_up(c->p);
    return;
  }
  if (exhausted(c) && !c->exhausted_traced) {
    c->exhausted_traced = true;
    trace(c, "retries exhausted (max-retries %u): cycling at %lld ms (Mullvad's delay "
          "iterator never ends)", c->cfg.max_retries, (long long)(c->cfg.timeout_max / TS_MS));
  }
  set_state(c, TS_NEG_STATE_WAIT_TUNNEL);
  c->stats.reconnects++;
  ts_provider_rehandshake(c->p, "negotiation failed: reconnect");
}

static void neg_timer(void *obj, uint64_t arg) {
  ts_neg_client *c = obj;
  if (arg != c->timer_gen) return;
  fail(c, TS_NEG_OUTCOME_TIMEOUT, NULL);
}

/* ------------------------------------------------ driven by the provider */

static bool path_supported(const ts_os_profile *prof, ts_neg_path path) {
  if (path == TS_NEG_PATH_NWTCPCONNECTION) return ts_os_profile_has_api(prof, TS_API_NWTCPCONNECTION);
  if (path == TS_NEG_PATH_NWCONNECTION_VIRTUAL)
    return ts_os_profile_has_api(prof, TS_API_VIRTUAL_INTERFACE);
  return true;
}

int ts_neg_client_create(ts_provider *p, const ts_neg_config *cfg, ts_neg_client **out) {
  if (!p || !cfg || !out || (unsigned)cfg->path >= TS_NEG_PATH_COUNT ||
      (unsigned)cfg->on_exhausted >= TS_NEG_EXHAUSTED_COUNT ||
      (cfg->gateway.family && cfg->gateway.family != 4 && cfg->gateway.family != 6))
    return TS_EINVAL;
  ts_phone *ph = ts_provider_phone(p);
  if (!path_supported(ts_phone_profile(ph), cfg->path)) return TS_ENOTSUP;
  ts_neg_client *c = calloc(1, sizeof *c);
  if (!c) return TS_ENOMEM;
  c->p = p;
  c->ph = ph;
  c->w = ts_phone_world(ph);
  c->cfg = *cfg;
  apply_defaults(&c->cfg);
  char stream[96];
  snprintf(stream, sizeof stream, "%s/negotiation", ts_provider_name(p));
  ts_world_rng(c->w, stream, &c->rng);
  *out = c;
  return TS_OK;
}

void ts_neg_client_free(ts_neg_client *c) {
  if (!c) return;
  sodium_memzero(c->eph_priv, sizeof c->eph_priv);
  free(c);
}

void ts_neg_client_launch(ts_neg_client *c) {
  c->state = TS_NEG_STATE_OFF; /* a process that gave up is gone */
  c->number = 0;
  c->exhausted_traced = false;
}

void ts_neg_client_engine_up(ts_neg_client *c) {
  if (c->state == TS_NEG_STATE_GAVE_UP) return; /* stays given up until the process ends */
  set_state(c, TS_NEG_STATE_WAIT_TUNNEL);
}

void ts_neg_client_engine_down(ts_neg_client *c, bool died) {
  bool pending = c->state >= TS_NEG_STATE_CONNECTING && c->state <= TS_NEG_STATE_REKEYING;
  if (pending) snapshot(c, &c->last);
  close_transport(c, false, died);
  disarm_timer(c);
  sodium_memzero(c->eph_priv, sizeof c->eph_priv);
  if (pending) {
    c->last.outcome = TS_NEG_OUTCOME_ABORTED;
    c->last.ended = now_of(c);
    trace(c, "attempt %u: aborted: %s", c->number,
          died ? "the process ended" : "the engine closed");
  }
  if (c->state != TS_NEG_STATE_GAVE_UP) c->state = TS_NEG_STATE_OFF; /* until the process ends */
}

void ts_neg_client_engine_event(ts_neg_client *c, int event) {
  if (c->state == TS_NEG_STATE_REKEYING &&
      (event == WG_EV_INITIATION_SENT || event == WG_EV_INITIATION_RETRY))
    c->psk_initiated = true;
}

void ts_neg_client_handshake_done(ts_neg_client *c) {
  if (c->state == TS_NEG_STATE_WAIT_TUNNEL) start_attempt(c);
  else if (c->state == TS_NEG_STATE_REKEYING && c->psk_initiated) succeed(c);
}

const ts_neg_config *ts_neg_client_config(const ts_neg_client *c) { return &c->cfg; }
ts_neg_state ts_neg_client_state(const ts_neg_client *c) { return c->state; }
void ts_neg_client_stats(const ts_neg_client *c, ts_neg_stats *out) { *out = c->stats; }

bool ts_neg_client_last(const ts_neg_client *c, ts_neg_attempt *out) {
  if (!c->has_last) return false;
  if (!out) return true;
  *out = c->last;
  if (out->outcome == TS_NEG_OUTCOME_PENDING) snapshot(c, out); /* live */
  return true;
}
