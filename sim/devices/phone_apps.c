/* Traffic apps on the phone: see ts_phone_apps.h. */
#include <stdlib.h>
#include <string.h>

#include "ts_phone_apps.h"

#define APP_MAX_PAYLOAD 1024
#define APP_RING 64

struct ts_phone_app {
  ts_phone *ph;
  ts_phone_app_config cfg;
  char name[TS_PHONE_NAME_MAX];
  ts_sock_id sock;
  uint16_t seq;
  ts_time sent_at[APP_RING];
  ts_phone_app_stats stats;
  uint8_t payload[APP_MAX_PAYLOAD];
};

static void on_reply(void *ctx, ts_sock_id sock, const ts_ip_info *info, const uint8_t *payload,
                     uint32_t len, int iface) {
  ts_phone_app *a = ctx;
  (void)sock;
  (void)iface;
  (void)info;
  /* The sequence travels in the ICMP header, or in the first two payload bytes. */
  uint16_t seq;
  if (a->cfg.kind == TS_PHONE_APP_PING) seq = info->icmp_seq;
  else if (len >= 2) seq = (uint16_t)(payload[0] << 8 | payload[1]);
  else return;
  ts_time sent = a->sent_at[seq % APP_RING];
  if (!sent) return;
  a->sent_at[seq % APP_RING] = 0;
  ts_time rtt = ts_world_now(ts_phone_world(a->ph)) - sent;
  a->stats.received++;
  if (!a->stats.rtt_min || rtt < a->stats.rtt_min) a->stats.rtt_min = rtt;
  if (rtt > a->stats.rtt_max) a->stats.rtt_max = rtt;
  a->stats.rtt_sum += rtt;
}

static int open_socket(ts_phone_app *a) {
  const ts_phone_app_config *c = &a->cfg;
  ts_phone_socket_params sp = {.owner = c->owner,
                               .proto = c->kind == TS_PHONE_APP_PING ? TS_IPPROTO_ICMP : TS_IPPROTO_UDP,
                               .api = c->api,
                               .bound_if = c->bound_if,
                               .remote = c->target,
                               .remote_port = c->port,
                               .required_if = c->required_if,
                               .recv = on_reply,
                               .ctx = a};
  sp.nw.has_required_type = c->has_required_type;
  sp.nw.required_type = c->required_type;
  return ts_phone_socket_open(a->ph, &sp, &a->sock);
}

static void app_event(void *obj, uint64_t arg) {
  ts_phone_app *a = obj;
  ts_world *w = ts_phone_world(a->ph);
  if (!a->sock && open_socket(a) != TS_OK) {
    a->stats.open_failed = true;
    ts_trace_event(ts_world_trace(w), ts_world_now(w), "app-open-failed", a->name, NULL);
    return;
  }
  uint16_t seq = ++a->seq;
  uint32_t n = a->cfg.size;
  for (uint32_t i = 0; i < n; i++) a->payload[i] = (uint8_t)(i * 7 + seq);
  if (a->cfg.kind == TS_PHONE_APP_UDP_REQUEST && n >= 2) {
    a->payload[0] = (uint8_t)(seq >> 8);
    a->payload[1] = (uint8_t)seq;
  }
  ts_sock_send_result res;
  int rc = a->cfg.kind == TS_PHONE_APP_PING
               ? ts_phone_send_echo(a->ph, a->sock, NULL, seq, a->payload, n, &res)
               : ts_phone_send_udp(a->ph, a->sock, NULL, 0, a->payload, n, &res);
  if (rc || res.status != TS_SOCK_OK) {
    a->stats.send_errors++;
  } else {
    a->stats.sent++;
    a->sent_at[seq % APP_RING] = ts_world_now(w);
  }
  if (!rc) a->stats.last_verdict = res.verdict;
  if (arg + 1 < a->cfg.count) ts_world_schedule_in(w, a->cfg.interval, app_event, a, arg + 1, NULL);
}

static void release(void *obj) { free(obj); }

int ts_phone_add_app(ts_phone *ph, const ts_phone_app_config *cfg, ts_phone_app **out) {
  if (!ph || !cfg || !cfg->name || strlen(cfg->name) >= TS_PHONE_NAME_MAX || !cfg->target.family)
    return TS_EINVAL;
  if (cfg->kind == TS_PHONE_APP_TCP_SHORT || cfg->kind == TS_PHONE_APP_TCP_LONG) return TS_ENOTSUP;
  if (cfg->kind != TS_PHONE_APP_PING && cfg->kind != TS_PHONE_APP_UDP_REQUEST) return TS_EINVAL;
  if (cfg->size > APP_MAX_PAYLOAD || (cfg->kind == TS_PHONE_APP_UDP_REQUEST && cfg->size < 2))
    return TS_ERANGE;
  if (cfg->count > 1 && cfg->interval <= 0) return TS_EINVAL;
  ts_phone_app *a = calloc(1, sizeof *a);
  if (!a) return TS_ENOMEM;
  a->ph = ph;
  a->cfg = *cfg;
  strcpy(a->name, cfg->name);
  a->cfg.name = a->name;
  a->cfg.bound_if = NULL;
  a->cfg.required_if = NULL;
  /* Interface names are resolved now: the caller's strings need not outlive the call. */
  ts_world *w = ts_phone_world(ph);
  int rc = ts_world_attach(w, a, release);
  if (rc) {
    free(a);
    return rc;
  }
  static const char *const names[] = {"lo0", "en0", "pdp_ip0", "utun0"};
  for (size_t i = 0; i < sizeof names / sizeof names[0]; i++) {
    if (cfg->bound_if && !strcmp(cfg->bound_if, names[i])) a->cfg.bound_if = names[i];
    if (cfg->required_if && !strcmp(cfg->required_if, names[i])) a->cfg.required_if = names[i];
  }
  if ((cfg->bound_if && !a->cfg.bound_if) || (cfg->required_if && !a->cfg.required_if))
    return TS_ENOENT;
  if (cfg->count) {
    rc = ts_world_schedule(w, cfg->start, app_event, a, 0, NULL);
    if (rc) return rc;
  }
  if (out) *out = a;
  return TS_OK;
}

void ts_phone_app_get_stats(const ts_phone_app *a, ts_phone_app_stats *out) { *out = a->stats; }
ts_sock_id ts_phone_app_socket(const ts_phone_app *a) { return a->sock; }
