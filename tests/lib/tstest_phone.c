#include "tstest_phone.h"

#include <stdio.h>
#include <string.h>

#include "ts_native.h"
#include "ts_os_profile_load.h"
#include "tstest_net.h"

#ifndef TS_MODELS_OS_DIR
#define TS_MODELS_OS_DIR "models/os"
#endif

#define WIFI_DELAY (5 * TS_MS)  /* phone - ap */
#define UPLINK_DELAY (5 * TS_MS) /* ap - core */
#define SPOKE_DELAY (10 * TS_MS) /* core - relay, server, appstore */
#define ECHO_PORT 7

/* ------------------------------------------------------------------ hooks */

static void on_egress(void *ctx, int iface, const ts_packet *pkt, const ts_phone_origin *o) {
  ts_bed *b = ctx;
  ts_ip_info info;
  if (ts_ip_parse(pkt->data, pkt->len, &info) != 0) memset(&info, 0, sizeof info);
  ts_time now = ts_world_now(b->w);
  b->egress++;
  if (!ts_bed_is_tunnel_udp(b, &info, o)) b->leaks++;
  if (o->cls == TS_TC_APP) {
    if (!b->app_egress++) b->first_app_egress = now;
    b->last_app_egress = now;
  }
  if (b->egress_log && b->egress_logged < b->egress_cap)
    b->egress_log[b->egress_logged++] = (ts_bed_egress){now, info, *o};
  if (b->oracle) ts_phone_report_egress(b->ph, b->oracle, iface, pkt, o);
}

static void on_monitor(void *ctx, ts_monitor *m, const ts_monitor_report *r) {
  ts_bed *b = ctx;
  (void)m;
  if (r->event == TS_MONITOR_EV_CONNECTED) b->mon_connected++;
  if (r->event == TS_MONITOR_EV_UNREACHABLE) b->mon_unreachable++;
}

static void on_app_reply(void *ctx, ts_sock_id sock, const ts_ip_info *info,
                         const uint8_t *payload, uint32_t len, int iface) {
  ts_bed *b = ctx;
  (void)sock;
  (void)info;
  (void)payload;
  (void)len;
  (void)iface;
  b->app_replies++;
  b->last_reply = ts_world_now(b->w);
}

static int open_app_socket(ts_bed *b) {
  ts_phone_socket_params sp = {.owner = TS_TC_APP, .proto = TS_IPPROTO_UDP, .api = TS_SOCK_BSD,
                               .recv = on_app_reply, .ctx = b};
  return ts_phone_socket_open(b->ph, &sp, &b->app);
}

/* ------------------------------------------------------------------ world */

/* A host behind the core: its name, the core's and its own address. */
typedef struct spoke {
  const char *name, *core_addr, *addr;
  const char *core_if, *link; /* TS_BED_INTERNET's names (TS_BED_APPSTORE: the host's) */
} spoke;

static const spoke spokes[] = {
    {"relay", "203.0.113.1/24", "203.0.113.10/24", "eth1", "core-relay"},
    {"server", "198.51.100.1/24", "198.51.100.20/24", "eth2", "core-server"},
    {"appstore", "192.0.2.1/24", "192.0.2.50/24", "eth3", "core-appstore"},
};

static int add_tcp_server(ts_tcp_host *th, const char *name, uint16_t port, ts_tcp_server_mode mode,
                          ts_tcp_server **out) {
  ts_tcp_server_config c = {.name = name, .port = port, .mode = mode};
  return ts_tcp_server_create(th, &c, out);
}

/* The access point's LAN interface index through *i_lan. */
static int build_net(ts_bed *b, const ts_bed_opts *o, uint32_t *i_lan) {
  int rc = ts_net_create(b->w, &b->net);
  if (!rc) rc = ts_net_add_host(b->net, "ap", &b->ap);
  ts_ipprefix lan = ts_test_prefix("192.168.1.1/24");
  if (!rc) rc = ts_host_add_interface(b->ap, "wlan0", &lan, 1, i_lan);
  if (rc || o->layout == TS_BED_LAN) return rc;

  size_t n_spokes = o->layout == TS_BED_APPSTORE ? 3 : 2;
  ts_host *hosts[3];
  uint32_t i_core[3], i_host[3], i_up, i_cap;
  rc = ts_net_add_host(b->net, "core", &b->core);
  for (size_t i = 0; i < n_spokes && !rc; i++)
    rc = ts_net_add_host(b->net, spokes[i].name, &hosts[i]);
  if (rc) return rc;
  b->relay_host = hosts[0];
  b->server = hosts[1];
  b->store_host = n_spokes > 2 ? hosts[2] : NULL;
  ts_ipprefix up = ts_test_prefix("10.0.0.2/30"), cap = ts_test_prefix("10.0.0.1/30");
  rc = ts_host_add_interface(b->ap, "eth0", &up, 1, &i_up);
  if (!rc) rc = ts_host_add_interface(b->core, "eth0", &cap, 1, &i_cap);
  for (size_t i = 0; i < n_spokes && !rc; i++) {
    ts_ipprefix c = ts_test_prefix(spokes[i].core_addr), h = ts_test_prefix(spokes[i].addr);
    const char *core_if = o->layout == TS_BED_APPSTORE ? spokes[i].name : spokes[i].core_if;
    rc = ts_host_add_interface(b->core, core_if, &c, 1, &i_core[i]);
    if (!rc) rc = ts_host_add_interface(hosts[i], "eth0", &h, 1, &i_host[i]);
  }
  /* Links in this order: it fixes the link ids and the trace's interface list. */
  ts_link_params lp = {.mtu = 1500, .queue_limit = 100, .up = true, .delay = UPLINK_DELAY};
  ts_link_id l;
  if (!rc) rc = ts_net_connect(b->net, "ap-core", &lp, b->ap, i_up, b->core, i_cap, &l);
  lp.delay = SPOKE_DELAY;
  for (size_t i = 0; i < n_spokes && !rc; i++) {
    const char *name = o->layout == TS_BED_APPSTORE ? spokes[i].name : spokes[i].link;
    rc = ts_net_connect(b->net, name, &lp, b->core, i_core[i], hosts[i], i_host[i], &l);
    if (!rc && i == 0) b->relay_link = l;
  }
  if (rc) return rc;
  ts_host_set_forwarding(b->ap, true);
  ts_host_set_forwarding(b->core, true);
  ts_ipprefix def = ts_test_prefix("0.0.0.0/0"), lan_net = ts_test_prefix("192.168.1.0/24");
  ts_host_add_route(b->ap, &def, i_up);
  ts_host_add_route(b->core, &lan_net, i_cap);

  ts_tcp_host *th;
  if (o->udp_echo) {
    ts_app_config echo = {.name = "udp-echo", .kind = TS_NET_APP_UDP_ECHO_SERVER,
                          .port = ECHO_PORT};
    rc = ts_net_add_app(b->net, b->server, &echo);
  }
  if (!rc && o->tcp_servers) {
    rc = ts_tcp_host_create(b->server, &th);
    if (!rc) rc = add_tcp_server(th, "web", 80, TS_TCP_SERVER_REQUEST, &b->web);
    if (!rc) rc = add_tcp_server(th, "tcp-echo", ECHO_PORT, TS_TCP_SERVER_ECHO, &b->tcp_echo);
  }
  if (!rc && b->store_host) {
    ts_tcp_server *srv;
    rc = ts_tcp_host_create(b->store_host, &th);
    if (!rc) rc = add_tcp_server(th, "appstore", 443, TS_TCP_SERVER_REQUEST, &srv);
  }
  return rc;
}

static int build_phone(ts_bed *b, const ts_bed_opts *o, uint32_t i_lan) {
  char path[512];
  snprintf(path, sizeof path, "%s/%s.yaml", TS_MODELS_OS_DIR, o->profile ? o->profile : "ios-18");
  ts_os_profile *prof = NULL;
  ts_diag diag;
  if (o->quirk_count > TS_BED_MAX_QUIRKS) return TS_EINVAL;
  int rc = ts_os_profile_load_file(path, &prof, &diag);
  if (rc) {
    fprintf(stderr, "cannot load %s\n", path);
    return rc;
  }
  for (uint32_t i = 0; i < o->quirk_count && !rc; i++)
    rc = ts_os_profile_set_quirk(prof, o->quirks[i].quirk, o->quirks[i].value, TS_SRC_NONE);
  ts_phone_config pc = {.name = "phone", .profile = prof};
  if (!rc) rc = ts_phone_create(b->w, &pc, &b->ph);
  ts_os_profile_destroy(prof);
  if (rc) return rc;

  ts_link_params lp = {.mtu = 1500, .queue_limit = 100, .up = true, .delay = WIFI_DELAY};
  ts_dhcp_lease lease;
  memset(&lease, 0, sizeof lease);
  lease.address = ts_test_prefix("192.168.1.20/24");
  lease.router = ts_test_addr("192.168.1.1");
  rc = ts_phone_attach(b->ph, "en0", b->net, b->ap, i_lan, &lp, &b->wifi_link);
  if (!rc) rc = ts_phone_iface_set_up(b->ph, "en0", true);
  if (!rc) rc = ts_phone_apply_dhcp(b->ph, "en0", &lease);
  if (!rc) rc = ts_phone_set_primary(b->ph, "en0");
  if (!rc) rc = ts_phone_vpn_set_enabled(b->ph, true);
  ts_vpn_config *vc = ts_phone_vpn_config(b->ph);
  if (!rc) rc = ts_vpn_config_set_flag(vc, TS_FLAG_INCLUDE_ALL_NETWORKS, o->ian);
  if (rc) return rc;
  ts_vpn_config_set_on_demand(vc, o->on_demand);
  if (o->connect_rule) {
    ts_od_rule r;
    memset(&r, 0, sizeof r);
    r.action = TS_OD_CONNECT;
    rc = ts_vpn_config_add_on_demand_rule(vc, &r);
  }
  ts_phone_set_egress_hook(b->ph, on_egress, b);
  return rc;
}

static int build_relay(ts_bed *b, const ts_bed_opts *o, const uint8_t relay_priv[WG_KEY_LEN]) {
  ts_relay_peer rp;
  memset(&rp, 0, sizeof rp);
  memcpy(rp.public_key, b->phone_pub, WG_KEY_LEN);
  rp.allowed_ips[0] = ts_test_prefix("10.64.0.2/32"); /* the tunnel address */
  rp.allowed_ip_count = 1;
  ts_relay_config rc;
  memset(&rc, 0, sizeof rc);
  memcpy(rc.private_key, relay_priv, WG_KEY_LEN);
  rc.peers = &rp;
  rc.peer_count = 1;
  rc.negotiation = o->relay_negotiation;
  return ts_relay_create(b->relay_host, &rc, &b->relay);
}

static int build_provider(ts_bed *b, const ts_bed_opts *o) {
  ts_provider_config cfg = o->provider;
  memcpy(cfg.private_key, b->phone_priv, WG_KEY_LEN);
  memcpy(cfg.relay_public_key, b->relay_pub, WG_KEY_LEN);
  cfg.relay = b->relay_addr;
  ts_provider_default_settings(&cfg.settings, &b->relay_addr, &b->tunnel_addr);
  if (!cfg.monitor.on_report) {
    cfg.monitor.on_report = on_monitor;
    cfg.monitor.ctx = b;
  }
  return ts_provider_create(b->ph, &cfg, &b->prov);
}

int ts_bed_build(ts_bed *b, ts_world *w, const ts_bed_opts *o) {
  memset(b, 0, sizeof *b);
  b->w = w;
  b->relay_addr = ts_test_addr("203.0.113.10");
  b->server_addr = ts_test_addr("198.51.100.20");
  b->gateway = ts_test_addr("10.64.0.1");
  b->tunnel_addr = ts_test_addr("10.64.0.2");
  b->egress_log = o->egress_log;
  b->egress_cap = o->egress_cap;

  /* Keys from the world's seed: a named stream, so when they are drawn does not matter. */
  uint8_t relay_priv[WG_KEY_LEN];
  ts_rng keys;
  ts_world_rng(w, "test/keys", &keys);
  ts_rng_fill(&keys, b->phone_priv, WG_KEY_LEN);
  ts_rng_fill(&keys, relay_priv, WG_KEY_LEN);
  wg_key_clamp(b->phone_priv);
  wg_key_clamp(relay_priv);
  if (wg_key_public_from_private(b->phone_pub, b->phone_priv) != WG_OK ||
      wg_key_public_from_private(b->relay_pub, relay_priv) != WG_OK)
    return TS_EINVAL;

  uint32_t i_lan = 0;
  int rc = build_net(b, o, &i_lan);
  if (!rc) rc = build_phone(b, o, i_lan);
  if (!rc && b->relay_host) rc = build_relay(b, o, relay_priv);
  if (!rc && !o->no_provider) rc = build_provider(b, o);
  if (!rc && o->appstore) rc = ts_appstore_create(b->ph, o->appstore, &b->store);
  if (!rc && o->app_socket) rc = open_app_socket(b);
  return rc;
}

int ts_bed_create(ts_bed *b, uint64_t seed, const ts_bed_opts *o) {
  ts_world *w = NULL;
  int rc = ts_world_create(&w, &ts_native_backend, seed);
  if (rc) {
    memset(b, 0, sizeof *b);
    return rc;
  }
  return ts_bed_build(b, w, o);
}

/* ------------------------------------------------------------------ helpers */

int ts_bed_run_to(ts_bed *b, ts_time t) { return ts_world_run_until(b->w, t); }
ts_vpn_session *ts_bed_session(ts_bed *b) { return ts_phone_session(b->ph); }
ts_vpn_status ts_bed_status(ts_bed *b) { return ts_vpn_session_status(ts_bed_session(b)); }

ts_provider_stats ts_bed_pstats(const ts_bed *b) {
  ts_provider_stats s;
  ts_provider_get_stats(b->prov, &s);
  return s;
}

ts_monitor_stats ts_bed_mstats(const ts_bed *b) {
  ts_monitor_stats s;
  ts_monitor_get_stats(ts_provider_monitor(b->prov), &s);
  return s;
}

ts_relay_stats ts_bed_rstats(const ts_bed *b) {
  ts_relay_stats s;
  ts_relay_get_stats(b->relay, &s);
  return s;
}

bool ts_bed_is_tunnel_udp(const ts_bed *b, const ts_ip_info *info, const ts_phone_origin *o) {
  return info->proto == TS_IPPROTO_UDP && ts_ipaddr_equal(&info->dst, &b->relay_addr) &&
         info->dport == TS_RELAY_DEFAULT_PORT && o->cls == TS_TC_PROVIDER &&
         o->verdict.rule == TS_RULE_EXEMPT_VPN_SERVER;
}

ts_phone_app *ts_bed_add_ping(ts_bed *b, const char *name, const ts_ipaddr *target, ts_time start,
                              uint32_t count) {
  ts_phone_app_config c = {.name = name, .kind = TS_PHONE_APP_PING, .owner = TS_TC_APP,
                           .api = TS_SOCK_BSD, .target = *target, .start = start,
                           .interval = TS_SEC, .count = count, .size = 32};
  ts_phone_app *a = NULL;
  return ts_phone_add_app(b->ph, &c, &a) == TS_OK ? a : NULL;
}

int ts_bed_app_send(ts_bed *b, const char *text) {
  if (ts_phone_socket_local_id(b->ph, b->app) == 0) { /* a reboot ended the app's process */
    int rc = open_app_socket(b);
    if (rc) return rc;
  }
  return ts_phone_send_udp(b->ph, b->app, &b->server_addr, ECHO_PORT, (const uint8_t *)text,
                           (uint32_t)strlen(text), NULL);
}

static void app_tick(void *obj, uint64_t arg) {
  ts_bed *b = obj;
  (void)arg;
  ts_bed_app_send(b, "hello");
  b->app_sent++;
  if (ts_world_now(b->w) + TS_SEC <= b->app_until)
    ts_world_schedule_in(b->w, TS_SEC, app_tick, b, 0, NULL);
}

int ts_bed_app_every_second(ts_bed *b, ts_time from, ts_time until) {
  b->app_until = until;
  return ts_world_schedule_in(b->w, from - ts_world_now(b->w), app_tick, b, 0, NULL);
}
