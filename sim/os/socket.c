/* Sockets over the policy decision: see ts_sock.h. */
#include <stdlib.h>
#include <string.h>

#include "ts_sock.h"

typedef struct sock {
  bool used;
  uint16_t gen;
  ts_sock_api api;
  ts_traffic_class owner;
  uint8_t proto;
  ts_scope scope;
  bool has_dst;
  ts_ipaddr dst;
  bool established;
  uint64_t epoch;       /* session epoch when established */
  int est_iface;
  ts_nw_state state;
} sock;

struct ts_sock_table {
  const ts_policy_env *env;
  sock *socks;
  size_t capacity, open;
};

static const char *const nw_state_names[TS_NW_STATE_COUNT] = {
    "setup", "waiting", "preparing", "ready", "failed", "cancelled"};

const char *ts_nw_state_name(ts_nw_state s) {
  return (unsigned)s < TS_NW_STATE_COUNT ? nw_state_names[s] : NULL;
}

int ts_sock_table_create(ts_sock_table **out, const ts_policy_env *env, size_t capacity) {
  if (!out || !env || !env->profile || !env->ifaces || capacity == 0 || capacity > 0xffff)
    return TS_EINVAL;
  ts_sock_table *t = calloc(1, sizeof *t);
  if (!t) return TS_ENOMEM;
  t->socks = calloc(capacity, sizeof *t->socks);
  if (!t->socks) {
    free(t);
    return TS_ENOMEM;
  }
  t->env = env;
  t->capacity = capacity;
  *out = t;
  return 0;
}

void ts_sock_table_destroy(ts_sock_table *t) {
  if (!t) return;
  free(t->socks);
  free(t);
}

static sock *lookup(const ts_sock_table *t, ts_sock_id id) {
  if (!t) return NULL;
  size_t slot = (id & 0xffff);
  if (slot == 0 || slot > t->capacity) return NULL;
  sock *s = &t->socks[slot - 1];
  return s->used && s->gen == (id >> 16) ? s : NULL;
}

static int alloc_sock(ts_sock_table *t, ts_sock_api api, ts_traffic_class owner, uint8_t proto,
                      ts_sock_id *id, sock **out) {
  if ((unsigned)owner >= TS_TC_COUNT || !id) return TS_EINVAL;
  for (size_t i = 0; i < t->capacity; i++) {
    sock *s = &t->socks[i];
    if (s->used) continue;
    uint16_t gen = (uint16_t)(s->gen + 1);
    memset(s, 0, sizeof *s);
    s->used = true;
    s->gen = gen;
    s->api = api;
    s->owner = owner;
    s->proto = proto;
    t->open++;
    *id = ((ts_sock_id)gen << 16) | (ts_sock_id)(i + 1);
    *out = s;
    return 0;
  }
  return TS_EFULL;
}

static uint64_t session_epoch(const ts_sock_table *t) {
  return t->env->session ? ts_vpn_session_epoch(t->env->session) : 0;
}

static int utun_of(const ts_sock_table *t) {
  return t->env->session ? ts_vpn_session_utun(t->env->session) : 0;
}

static void make_flow(const ts_sock_table *t, const sock *s, const ts_ipaddr *dst, ts_policy_flow *f) {
  memset(f, 0, sizeof *f);
  f->cls = s->owner;
  f->scope = s->scope;
  f->dst = *dst;
  f->pre_tunnel = s->established && s->epoch < session_epoch(t);
  f->established_iface = s->established ? s->est_iface : 0;
}

int ts_sock_flow(const ts_sock_table *t, ts_sock_id id, const ts_ipaddr *dst, ts_policy_flow *flow) {
  const sock *s = lookup(t, id);
  if (!s || !flow || (!dst && !s->has_dst)) return TS_EINVAL;
  make_flow(t, s, dst ? dst : &s->dst, flow);
  return 0;
}

static bool deliverable(const ts_verdict *v) {
  return v->kind == TS_VERDICT_TUNNEL || v->kind == TS_VERDICT_PHYSICAL ||
         v->kind == TS_VERDICT_LOOPBACK;
}

static bool unreachable(const ts_verdict *v) {
  return v->kind == TS_VERDICT_DROP &&
         (v->rule == TS_RULE_NO_ROUTE || v->rule == TS_RULE_SCOPE_UNAVAILABLE);
}

static void decide(const ts_sock_table *t, const sock *s, const ts_ipaddr *dst, ts_verdict *v) {
  ts_policy_flow f;
  make_flow(t, s, dst, &f);
  ts_policy_decide(t->env, &f, v);
}

static void establish(const ts_sock_table *t, sock *s, const ts_verdict *v) {
  s->established = true;
  s->epoch = session_epoch(t);
  s->est_iface = v->iface;
}

/* ------------------------------------------------------------------ BSD */

int ts_sock_bsd_open(ts_sock_table *t, ts_traffic_class owner, uint8_t proto, ts_sock_id *id) {
  if (!t) return TS_EINVAL;
  sock *s;
  return alloc_sock(t, TS_SOCK_BSD, owner, proto, id, &s);
}

int ts_sock_bsd_bind_if(ts_sock_table *t, ts_sock_id id, int iface) {
  sock *s = lookup(t, id);
  if (!s || s->api != TS_SOCK_BSD || (iface && !ts_os_iface_valid(t->env->ifaces, iface)))
    return TS_EINVAL;
  s->scope.kind = iface ? TS_SCOPE_BOUND_IF : TS_SCOPE_NONE;
  s->scope.iface = iface;
  return 0;
}

int ts_sock_bsd_connect(ts_sock_table *t, ts_sock_id id, const ts_ipaddr *dst, ts_sock_status *status) {
  sock *s = lookup(t, id);
  if (!s || s->api != TS_SOCK_BSD || !dst || !status) return TS_EINVAL;
  if (s->established) return TS_ESTATE;
  s->dst = *dst;
  s->has_dst = true;
  ts_verdict v;
  decide(t, s, dst, &v);
  *status = unreachable(&v) ? TS_SOCK_ENETUNREACH : TS_SOCK_OK;
  if (deliverable(&v) && (s->proto == TS_IPPROTO_TCP || s->proto == TS_IPPROTO_UDP))
    establish(t, s, &v);
  return 0;
}

/* ---------------------------------------------------------- NWConnection */

int ts_sock_nw_create(ts_sock_table *t, ts_traffic_class owner, uint8_t proto,
                      const ts_ipaddr *dst, const ts_nw_params *params, ts_sock_id *id) {
  if (!t || !dst) return TS_EINVAL;
  ts_nw_params none = {0};
  if (!params) params = &none;
  if (params->required_virtual_interface) {
    if (!ts_os_profile_has_api(t->env->profile, TS_API_VIRTUAL_INTERFACE)) return TS_ENOTSUP;
    if (owner != TS_TC_PROVIDER) return TS_EINVAL; /* only the provider has virtualInterface */
  }
  if (params->required_iface && !ts_os_iface_valid(t->env->ifaces, params->required_iface))
    return TS_EINVAL;
  if (params->has_required_type && (unsigned)params->required_type >= TS_IFT_COUNT) return TS_EINVAL;
  sock *s;
  int rc = alloc_sock(t, TS_SOCK_NWCONNECTION, owner, proto, id, &s);
  if (rc) return rc;
  s->dst = *dst;
  s->has_dst = true;
  if (params->required_virtual_interface) {
    s->scope.kind = TS_SCOPE_VIRTUAL_IF;
  } else if (params->required_iface) {
    s->scope.kind = TS_SCOPE_BOUND_IF;
    s->scope.iface = params->required_iface;
  } else if (params->has_required_type) {
    s->scope.kind = TS_SCOPE_REQUIRED_TYPE;
    s->scope.type = params->required_type;
  }
  s->state = TS_NW_SETUP;
  return 0;
}

/* Moves an NW socket to the state its current path allows. True when it changed. */
static bool follow_path(const ts_sock_table *t, sock *s) {
  ts_verdict v;
  decide(t, s, &s->dst, &v);
  bool path = deliverable(&v);
  ts_nw_state next = s->state;
  if (s->state == TS_NW_WAITING && path) next = TS_NW_PREPARING;
  else if ((s->state == TS_NW_PREPARING || s->state == TS_NW_READY) && !path) next = TS_NW_WAITING;
  bool changed = next != s->state;
  s->state = next;
  return changed;
}

int ts_sock_nw_start(ts_sock_table *t, ts_sock_id id) {
  sock *s = lookup(t, id);
  if (!s || s->api == TS_SOCK_BSD) return TS_EINVAL;
  if (s->state != TS_NW_SETUP) return TS_ESTATE;
  s->state = TS_NW_WAITING;
  follow_path(t, s);
  return 0;
}

int ts_sock_nw_transport_ready(ts_sock_table *t, ts_sock_id id) {
  sock *s = lookup(t, id);
  if (!s || s->api == TS_SOCK_BSD) return TS_EINVAL;
  if (s->state != TS_NW_PREPARING) return TS_ESTATE;
  ts_verdict v;
  decide(t, s, &s->dst, &v);
  if (!deliverable(&v)) {
    s->state = TS_NW_WAITING;
    return TS_ESTATE;
  }
  s->state = TS_NW_READY;
  establish(t, s, &v);
  return 0;
}

int ts_sock_nw_transport_failed(ts_sock_table *t, ts_sock_id id) {
  sock *s = lookup(t, id);
  if (!s || s->api == TS_SOCK_BSD) return TS_EINVAL;
  if (s->state == TS_NW_CANCELLED || s->state == TS_NW_FAILED) return TS_ESTATE;
  s->state = TS_NW_FAILED;
  return 0;
}

int ts_sock_nw_cancel(ts_sock_table *t, ts_sock_id id) {
  sock *s = lookup(t, id);
  if (!s || s->api == TS_SOCK_BSD) return TS_EINVAL;
  s->state = TS_NW_CANCELLED;
  return 0;
}

ts_nw_state ts_sock_nw_state(const ts_sock_table *t, ts_sock_id id) {
  const sock *s = lookup(t, id);
  return s && s->api != TS_SOCK_BSD ? s->state : TS_NW_STATE_COUNT;
}

/* ------------------------------------------------------- NWTCPConnection */

int ts_sock_nwtcp_create(ts_sock_table *t, const ts_ipaddr *dst, ts_sock_id *id) {
  if (!t || !dst) return TS_EINVAL;
  if (!ts_os_profile_has_api(t->env->profile, TS_API_NWTCPCONNECTION)) return TS_ENOTSUP;
  sock *s;
  int rc = alloc_sock(t, TS_SOCK_NWTCPCONNECTION, TS_TC_PROVIDER, TS_IPPROTO_TCP, id, &s);
  if (rc) return rc;
  s->dst = *dst;
  s->has_dst = true;
  /* createTCPConnectionThroughTunnel: scoped to the provider's utun. */
  s->scope.kind = TS_SCOPE_BOUND_IF;
  s->scope.iface = utun_of(t);
  s->state = TS_NW_WAITING;
  follow_path(t, s);
  return 0;
}

bool ts_sock_nwtcp_viable(const ts_sock_table *t, ts_sock_id id) {
  const sock *s = lookup(t, id);
  if (!s || s->api != TS_SOCK_NWTCPCONNECTION || s->state != TS_NW_READY) return false;
  ts_verdict v;
  decide(t, s, &s->dst, &v);
  return deliverable(&v);
}

/* ------------------------------------------------------------------- all */

int ts_sock_send(ts_sock_table *t, ts_sock_id id, const ts_ipaddr *dst, ts_sock_send_result *res) {
  sock *s = lookup(t, id);
  if (!s || !res || (!dst && !s->has_dst)) return TS_EINVAL;
  memset(res, 0, sizeof *res);
  if (!dst) dst = &s->dst;
  decide(t, s, dst, &res->verdict);
  if (s->api != TS_SOCK_BSD && s->state != TS_NW_READY) {
    res->status = TS_SOCK_ENOTCONN;
    res->verdict.kind = TS_VERDICT_DROP;
    res->verdict.iface = 0;
    return 0;
  }
  res->status = unreachable(&res->verdict) ? TS_SOCK_ENETUNREACH : TS_SOCK_OK;
  return 0;
}

int ts_sock_arrival(const ts_sock_table *t, ts_sock_id id, const ts_ipaddr *src, int iface,
                    ts_verdict *verdict) {
  const sock *s = lookup(t, id);
  if (!s || !src || !verdict) return TS_EINVAL;
  ts_policy_flow f;
  make_flow(t, s, src, &f);
  bool ok = ts_policy_decide_arrival(t->env, &f, iface, verdict);
  if (ok && s->api != TS_SOCK_BSD && s->state != TS_NW_READY) return 0;
  return ok ? 1 : 0;
}

size_t ts_sock_reevaluate(ts_sock_table *t) {
  size_t changed = 0;
  for (size_t i = 0; t && i < t->capacity; i++) {
    sock *s = &t->socks[i];
    if (!s->used || s->api == TS_SOCK_BSD) continue;
    if (s->api == TS_SOCK_NWTCPCONNECTION) s->scope.iface = utun_of(t);
    if (follow_path(t, s)) changed++;
  }
  return changed;
}

int ts_sock_close(ts_sock_table *t, ts_sock_id id) {
  sock *s = lookup(t, id);
  if (!s) return TS_EINVAL;
  s->used = false;
  t->open--;
  return 0;
}

ts_sock_api ts_sock_api_of(const ts_sock_table *t, ts_sock_id id) {
  const sock *s = lookup(t, id);
  return s ? s->api : TS_SOCK_BSD;
}

size_t ts_sock_open_count(const ts_sock_table *t) { return t ? t->open : 0; }
