/* The phone: see ts_phone.h. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ts_phone.h"

enum { DEFER_TO_PROVIDER = 1, DEFER_LOOPBACK = 2 };
enum { EV_START_TUNNEL = 1, EV_STOP_TUNNEL = 2 };
#define WIFI_SSID_MAX 33

typedef struct port {         /* one physical interface's attachment to a link */
  ts_phone *ph;
  int iface;
  bool attached;
  ts_link_id link;
  char trace_name[TS_PHONE_NAME_MAX + TS_OS_IFACE_NAME_MAX + 2];
} port;

typedef struct psock {        /* the phone's side of a socket: demux and delivery */
  ts_phone *ph;
  bool used;
  ts_sock_id id;
  ts_traffic_class owner;
  uint8_t proto;
  ts_sock_api api;
  uint16_t local_id;
  bool has_remote;
  ts_ipaddr remote;
  uint16_t remote_port;
  ts_phone_recv_fn recv;
  void *ctx;
  bool link_layer;           /* BPF-like (ts_phone_socket_params.link_layer) */
  int bound_iface;           /* its interface when link_layer */
  /* TCP */
  ts_tcp *tcp;               /* NULL until connecting (an NW socket waits for a path) */
  bool tcp_pending;          /* NW: connect when the path appears */
  ts_ipaddr local_addr;      /* the connection's source address */
  ts_phone_tcp_ops tcp_ops;
  bool has_tmpl;
  ts_tcp_config tmpl;
  ts_verdict last_verdict;   /* of its last send (ts_phone_socket_last_verdict) */
} psock;

typedef struct listener {
  ts_phone_listener fn;
  void *ctx;
} listener;

typedef struct deferred {
  ts_packet *pkt;
  uint8_t kind;
} deferred;

struct ts_phone {
  ts_world *w;
  char name[TS_PHONE_NAME_MAX];
  ts_os_profile *profile;
  ts_vpn_config *config;
  ts_os_ifaces *ifaces;
  ts_route_table *routes;
  ts_vpn_session *session;
  ts_sock_table *socks;
  ts_policy_env env;
  int lo, en0, cell, utun;
  port ports[TS_OS_MAX_IFACES + 1];
  uint32_t utun_trace;
  psock *ps;
  size_t ps_cap;
  uint16_t next_ephemeral;
  deferred ring[TS_PHONE_DEFERRED_MAX];
  uint32_t ring_head, ring_count;
  ts_phone_egress_fn egress;
  void *egress_ctx;
  const ts_phone_provider_ops *prov;
  ts_phone_provider_ops prov_ops;
  void *prov_ctx;
  ts_vpn_stop_reason stop_reason;
  uint64_t wd_serial;        /* the current watchdog event; older ones are stale */
  uint32_t od_pending;       /* bit per trigger: an evaluation is scheduled */
  ts_od_decision od_last;
  uint32_t od_starts;
  char ssid[WIFI_SSID_MAX];
  uint64_t tcp_opened;       /* names connections uniquely (their ISN stream) */
  bool locked;               /* from reboot until the first unlock (GT-23) */
  bool asleep;
  bool airplane;
  ts_phone_app_state app_state;
  uint32_t launches_refused;
  bool od_suspended;         /* refused-launch-suspends-on-demand */
  bool profile_present;      /* the configuration is listed in Settings */
  bool removal_deferred;     /* config-removal-keeps-policy: applied at the next reboot */
  bool removal_pending_stop; /* disable the configuration once the session is down */
  listener listeners[TS_PHONE_MAX_LISTENERS];
  size_t listener_count;
  bool has_app_block;        /* ts_phone_last_app_block */
  ts_verdict app_block;
  ts_time app_block_at;
  ts_phone_stats stats;
};

/* ------------------------------------------------------------------ life */

static void release(void *obj) {
  ts_phone *ph = obj;
  ts_packet_pool *pool = ts_world_pool(ph->w);
  while (ph->ring_count) {
    ts_packet_free(pool, ph->ring[ph->ring_head].pkt);
    ph->ring_head = (ph->ring_head + 1) % TS_PHONE_DEFERRED_MAX;
    ph->ring_count--;
  }
  ts_sock_table_destroy(ph->socks);
  ts_vpn_session_destroy(ph->session);
  ts_route_table_destroy(ph->routes);
  ts_os_ifaces_destroy(ph->ifaces);
  ts_vpn_config_destroy(ph->config);
  ts_os_profile_destroy(ph->profile);
  free(ph->ps);
  free(ph);
}

void ts_phone_destroy(ts_phone *ph) {
  if (!ph) return;
  /* The endpoints are attached to the world too; they must not outlive their socket
   * table. (A world reset or destroy frees both, in either order.) */
  for (size_t i = 0; i < ph->ps_cap; i++)
    if (ph->ps[i].used && ph->ps[i].tcp) ts_tcp_destroy(ph->ps[i].tcp);
  ts_world_detach(ph->w, ph);
  release(ph);
}

static void on_session(void *ctx, const ts_vpn_session *s, ts_vpn_status from, ts_vpn_status to);
static void od_schedule(ts_phone *ph, ts_od_trigger t);
static void psock_release(ts_phone *ph, psock *s);

int ts_phone_create(ts_world *w, const ts_phone_config *cfg, ts_phone **out) {
  if (!w || !out) return TS_EINVAL;
  const char *name = cfg && cfg->name ? cfg->name : "phone";
  size_t cap = cfg && cfg->socket_capacity ? cfg->socket_capacity : TS_PHONE_DEFAULT_SOCKETS;
  if (!*name || strlen(name) >= TS_PHONE_NAME_MAX || cap > 0xffff) return TS_EINVAL;
  ts_phone *ph = calloc(1, sizeof *ph);
  if (!ph) return TS_ENOMEM;
  ph->w = w;
  snprintf(ph->name, sizeof ph->name, "%s", name);
  ph->next_ephemeral = TS_PHONE_EPHEMERAL_FIRST;
  ph->od_last.rule = -1;
  ph->profile_present = true;
  ph->ps = calloc(cap, sizeof *ph->ps);
  ph->ps_cap = cap;
  int rc = ph->ps ? 0 : TS_ENOMEM;
  if (!rc) {
    rc = cfg && cfg->profile ? ts_os_profile_copy(&ph->profile, cfg->profile)
                             : ts_os_profile_create(&ph->profile, "builtin");
  }
  if (!rc) rc = ts_vpn_config_create(&ph->config, ph->profile);
  if (!rc) rc = ts_os_ifaces_create(&ph->ifaces);
  if (!rc) rc = ts_route_table_create(&ph->routes, 64);
  if (!rc) rc = ts_os_iface_add(ph->ifaces, "lo0", TS_IFT_LOOPBACK, &ph->lo);
  if (!rc) rc = ts_os_iface_add(ph->ifaces, "en0", TS_IFT_WIFI, &ph->en0);
  if (!rc) rc = ts_os_iface_add(ph->ifaces, "pdp_ip0", TS_IFT_CELLULAR, &ph->cell);
  if (!rc) rc = ts_os_iface_add(ph->ifaces, "utun0", TS_IFT_TUNNEL, &ph->utun);
  if (!rc) {
    ts_ipprefix lo;
    ts_ipprefix_parse("127.0.0.1/8", &lo);
    rc = ts_os_iface_add_address(ph->ifaces, ph->lo, &lo);
  }
  if (!rc) rc = ts_os_iface_set_up(ph->ifaces, ph->lo, true);
  if (!rc) rc = ts_vpn_session_create(&ph->session, ph->profile, ph->config, ph->ifaces, ph->utun);
  if (!rc) rc = ts_vpn_session_listen(ph->session, on_session, ph);
  ph->env = (ts_policy_env){ph->profile, ph->config, ph->session, ph->ifaces, ph->routes};
  if (!rc) rc = ts_sock_table_create(&ph->socks, &ph->env, cap);
  if (!rc) {
    char tn[TS_PHONE_NAME_MAX + 8];
    snprintf(tn, sizeof tn, "%s/utun0", ph->name);
    rc = ts_trace_add_interface(ts_world_trace(w), tn, &ph->utun_trace);
  }
  for (int i = 0; i <= TS_OS_MAX_IFACES; i++) {
    ph->ports[i].ph = ph;
    ph->ports[i].iface = i;
  }
  if (!rc) rc = ts_world_attach(w, ph, release);
  if (rc) {
    release(ph);
    return rc;
  }
  *out = ph;
  return TS_OK;
}

/* ------------------------------------------------------------- accessors */

ts_world *ts_phone_world(const ts_phone *ph) { return ph->w; }
const char *ts_phone_name(const ts_phone *ph) { return ph->name; }
const ts_os_profile *ts_phone_profile(const ts_phone *ph) { return ph->profile; }
ts_vpn_config *ts_phone_vpn_config(ts_phone *ph) { return ph->config; }
ts_vpn_session *ts_phone_session(ts_phone *ph) { return ph->session; }
ts_sock_table *ts_phone_sockets(ts_phone *ph) { return ph->socks; }
ts_os_ifaces *ts_phone_ifaces(ts_phone *ph) { return ph->ifaces; }
ts_route_table *ts_phone_routes(ts_phone *ph) { return ph->routes; }
const ts_policy_env *ts_phone_env(const ts_phone *ph) { return &ph->env; }
int ts_phone_iface(const ts_phone *ph, const char *name) {
  return name ? ts_os_iface_find(ph->ifaces, name) : TS_EINVAL;
}
int ts_phone_utun(const ts_phone *ph) { return ph->utun; }
void ts_phone_get_stats(const ts_phone *ph, ts_phone_stats *out) { *out = ph->stats; }

static ts_time now_of(const ts_phone *ph) { return ts_world_now(ph->w); }

static void trace_event(ts_phone *ph, const char *kind, const char *detail) {
  ts_trace_event(ts_world_trace(ph->w), now_of(ph), kind, ph->name, detail);
}

/* ------------------------------------------------------ interfaces, routes */

static void tcp_settle(ts_phone *ph, psock *s);

static void nw_settle(ts_phone *ph) {
  /* UDP and ICMP have no transport handshake: a path makes them ready at once.
   * TCP's handshake decides (tcp_settle). */
  for (size_t i = 0; i < ph->ps_cap; i++) {
    psock *s = &ph->ps[i];
    if (!s->used || s->api == TS_SOCK_BSD || ts_sock_nw_state(ph->socks, s->id) != TS_NW_PREPARING)
      continue;
    if (s->proto == TS_IPPROTO_TCP) tcp_settle(ph, s);
    else ts_sock_nw_transport_ready(ph->socks, s->id);
  }
}

void ts_phone_path_changed(ts_phone *ph) {
  ts_sock_reevaluate(ph->socks);
  nw_settle(ph);
}

static void watchdog_event(void *obj, uint64_t arg);
static void removal_event(void *obj, uint64_t arg);

static void on_session(void *ctx, const ts_vpn_session *s, ts_vpn_status from, ts_vpn_status to) {
  ts_phone *ph = ctx;
  char d[64];
  snprintf(d, sizeof d, "%s -> %s", ts_vpn_status_name(from), ts_vpn_status_name(to));
  trace_event(ph, "vpn-status", d);
  /* Every change ends the watchdog of the state left; connecting and
   * disconnecting arm their own (F-60S). */
  ph->wd_serial++;
  ts_time deadline = ts_vpn_session_deadline(s);
  if (deadline != TS_TIME_NEVER)
    ts_world_schedule(ph->w, deadline, watchdog_event, ph, ph->wd_serial, NULL);
  /* A removed configuration is disabled once its session is down; from an event,
   * not inside the session's own listener call. */
  if (to == TS_VPN_DISCONNECTED && ph->removal_pending_stop)
    ts_world_schedule_in(ph->w, 0, removal_event, ph, 0, NULL);
  ts_phone_path_changed(ph);
}

static int physical_index(const ts_phone *ph, const char *ifname) {
  int i = ts_phone_iface(ph, ifname);
  if (i < 0) return i;
  return ts_os_iface_type_physical(ts_os_iface_type_of(ph->ifaces, i)) ? i : TS_EINVAL;
}

static void link_rx(void *ctx, ts_packet *pkt);

int ts_phone_attach(ts_phone *ph, const char *ifname, ts_net *net, ts_host *h, uint32_t host_iface,
                    const ts_link_params *lp, ts_link_id *id) {
  int i = physical_index(ph, ifname);
  if (i < 0) return i;
  port *p = &ph->ports[i];
  if (p->attached) return TS_EEXIST;
  snprintf(p->trace_name, sizeof p->trace_name, "%s/%s", ph->name, ifname);
  char link_name[sizeof p->trace_name];
  snprintf(link_name, sizeof link_name, "%s-%s", ph->name, ifname);
  ts_link_end end = {link_rx, p, p->trace_name};
  ts_link_id lid;
  int rc = ts_net_connect_device(net, link_name, lp, h, host_iface, &end, &lid);
  if (rc) return rc;
  p->attached = true;
  p->link = lid;
  if (id) *id = lid;
  return TS_OK;
}

int ts_phone_iface_set_up(ts_phone *ph, const char *ifname, bool up) {
  int i = ts_phone_iface(ph, ifname);
  if (i < 0) return i;
  int rc = ts_os_iface_set_up(ph->ifaces, i, up);
  if (!rc) ts_phone_path_changed(ph);
  return rc;
}

int ts_phone_add_address(ts_phone *ph, const char *ifname, const ts_ipprefix *addr) {
  int i = ts_phone_iface(ph, ifname);
  if (i < 0) return i;
  int rc = ts_os_iface_add_address(ph->ifaces, i, addr);
  if (!rc) ts_phone_path_changed(ph);
  return rc;
}

int ts_phone_apply_dhcp(ts_phone *ph, const char *ifname, const ts_dhcp_lease *lease) {
  int i = ts_phone_iface(ph, ifname);
  if (i < 0) return i;
  int rc = ts_route_apply_dhcp(ph->routes, ph->ifaces, i, lease);
  if (!rc) ts_phone_path_changed(ph);
  return rc;
}

int ts_phone_add_route(ts_phone *ph, const char *ifname, const ts_ipprefix *dst,
                       const ts_ipaddr *gateway) {
  int i = ts_phone_iface(ph, ifname);
  if (i < 0) return i;
  if (!dst) return TS_EINVAL;
  ts_route r;
  memset(&r, 0, sizeof r);
  r.dst = *dst;
  if (gateway) r.gateway = *gateway;
  r.iface = i;
  r.origin = TS_ROUTE_STATIC;
  int rc = ts_route_add(ph->routes, &r);
  if (!rc) ts_phone_path_changed(ph);
  return rc;
}

int ts_phone_set_primary(ts_phone *ph, const char *ifname) {
  int i = ts_phone_iface(ph, ifname);
  if (i < 0) return i;
  int before = ts_os_iface_primary(ph->ifaces);
  int rc = ts_os_iface_set_primary(ph->ifaces, i);
  if (!rc) ts_phone_path_changed(ph);
  if (!rc && before != i) od_schedule(ph, TS_OD_TRIGGER_NETWORK_CHANGE);
  return rc;
}

void ts_phone_set_egress_hook(ts_phone *ph, ts_phone_egress_fn fn, void *ctx) {
  ph->egress = fn;
  ph->egress_ctx = ctx;
}

int ts_phone_set_provider(ts_phone *ph, const ts_phone_provider_ops *ops, void *ctx) {
  if (ops && (!ops->start_tunnel || !ops->stop_tunnel || !ops->read_packet)) return TS_EINVAL;
  if (ops && ph->prov) return TS_EEXIST;
  if (ops) ph->prov_ops = *ops;
  ph->prov = ops ? &ph->prov_ops : NULL;
  ph->prov_ctx = ops ? ctx : NULL;
  return TS_OK;
}

/* ------------------------------------------------------------ the session */

static void session_event(void *obj, uint64_t arg) {
  ts_phone *ph = obj;
  uint64_t kind = arg & 0xff, epoch = arg >> 8;
  if (!ph->prov) {
    if (kind == EV_STOP_TUNNEL) ts_phone_tunnel_stopped(ph);
    return;
  }
  if ((epoch & 0xffffffffffffffULL) != (ts_vpn_session_epoch(ph->session) & 0xffffffffffffffULL))
    return; /* a later session took over */
  ts_vpn_status st = ts_vpn_session_status(ph->session);
  if (kind == EV_START_TUNNEL && st == TS_VPN_CONNECTING) ph->prov->start_tunnel(ph->prov_ctx);
  else if (kind == EV_STOP_TUNNEL && st == TS_VPN_DISCONNECTING)
    ph->prov->stop_tunnel(ph->prov_ctx, ph->stop_reason);
}

static void schedule_session(ts_phone *ph, uint64_t kind) {
  uint64_t arg = kind | (ts_vpn_session_epoch(ph->session) << 8);
  ts_world_schedule_in(ph->w, 0, session_event, ph, arg, NULL);
}

static void provider_killed(ts_phone *ph, ts_vpn_exit exit) {
  if (ph->prov && ph->prov->killed) ph->prov->killed(ph->prov_ctx, exit);
}

static void watchdog_event(void *obj, uint64_t arg) {
  ts_phone *ph = obj;
  if (arg != ph->wd_serial) return; /* the state it guarded was left */
  ts_vpn_status st = ts_vpn_session_status(ph->session);
  ts_vpn_watchdog_action a = ts_vpn_session_watchdog(ph->session, now_of(ph));
  if (a == TS_VPN_WD_NONE) return;
  trace_event(ph, "vpn-watchdog",
              st == TS_VPN_CONNECTING ? (a == TS_VPN_WD_STOP ? "start timeout: stop" : "start timeout: kill")
                                      : "stop timeout: kill");
  if (a == TS_VPN_WD_STOP) {
    ph->stop_reason = ts_vpn_session_stop_reason(ph->session);
    schedule_session(ph, EV_STOP_TUNNEL);
  } else {
    provider_killed(ph, TS_EXIT_WATCHDOG);
  }
}

int ts_phone_vpn_kill(ts_phone *ph, ts_vpn_stop_reason reason, ts_vpn_exit exit) {
  if (!ph) return TS_EINVAL;
  if (!ts_vpn_session_provider_running(ph->session)) return TS_ESTATE;
  int rc = ts_vpn_session_provider_killed(ph->session, now_of(ph), reason, exit);
  if (rc) return rc;
  char d[64];
  snprintf(d, sizeof d, "%s (%s)", ts_vpn_exit_name(exit), ts_vpn_stop_reason_name(reason));
  trace_event(ph, "provider-killed", d);
  provider_killed(ph, exit);
  return TS_OK;
}

int ts_phone_tunnel_exited(ts_phone *ph, ts_vpn_stop_reason reason, ts_vpn_exit exit) {
  if (!ph) return TS_EINVAL;
  int rc = ts_vpn_session_provider_killed(ph->session, now_of(ph), reason, exit);
  if (rc) return rc;
  char d[64];
  snprintf(d, sizeof d, "%s (%s)", ts_vpn_exit_name(exit), ts_vpn_stop_reason_name(reason));
  trace_event(ph, "provider-killed", d);
  return TS_OK;
}

int ts_phone_vpn_toggle(ts_phone *ph, bool on) {
  if (!ph) return TS_EINVAL;
  return on ? ts_phone_vpn_start(ph, TS_START_USER) : ts_phone_vpn_stop(ph, TS_STOP_USER_INITIATED);
}

int ts_phone_vpn_app_disconnect(ts_phone *ph) {
  if (!ph) return TS_EINVAL;
  ts_vpn_config_set_on_demand(ph->config, false);
  trace_event(ph, "on-demand", "disabled by the app");
  return ts_phone_vpn_stop(ph, TS_STOP_USER_INITIATED);
}

static void notify(ts_phone *ph, ts_phone_event ev);
static void od_resume(ts_phone *ph, const char *why);
static int apply_removal(ts_phone *ph);

int ts_phone_reboot(ts_phone *ph) {
  if (!ph) return TS_EINVAL;
  bool running = ts_vpn_session_provider_running(ph->session);
  trace_event(ph, "reboot", NULL);
  int rc = ts_vpn_session_reboot(ph->session, now_of(ph));
  if (rc) return rc;
  ph->locked = true;
  ph->asleep = false;
  if (running) provider_killed(ph, TS_EXIT_REBOOT);
  /* Every app process died: their sockets are gone without a FIN or RST (the apps
   * open new ones when they run again). System daemons' sockets (DHCP, the App
   * Store, which handles the reboot itself) are their owners' business. */
  for (size_t i = 0; i < ph->ps_cap; i++)
    if (ph->ps[i].used && ph->ps[i].owner == TS_TC_APP) psock_release(ph, &ph->ps[i]);
  od_resume(ph, "reboot");
  /* The stuck session's policy ends with the boot (config-removal-keeps-policy). */
  if (ph->removal_deferred) {
    trace_event(ph, "vpn-profile", "deferred removal takes effect at boot");
    rc = apply_removal(ph);
  }
  notify(ph, TS_PHONE_EV_REBOOT);
  od_schedule(ph, TS_OD_TRIGGER_BOOT);
  return rc;
}

/* ------------------------------------------------------------ the device */

#define PROVIDER_OP(ph, op) \
  do { \
    if ((ph)->prov && (ph)->prov->op && ts_vpn_session_provider_running((ph)->session)) \
      (ph)->prov->op((ph)->prov_ctx); \
  } while (0)

int ts_phone_unlock(ts_phone *ph) {
  if (!ph) return TS_EINVAL;
  if (!ph->locked) return TS_ESTATE;
  ph->locked = false;
  trace_event(ph, "device-unlocked", NULL);
  PROVIDER_OP(ph, device_unlocked);
  notify(ph, TS_PHONE_EV_UNLOCK);
  return TS_OK;
}

bool ts_phone_keychain_available(const ts_phone *ph) { return !ph->locked; }

int ts_phone_sleep(ts_phone *ph) {
  if (!ph) return TS_EINVAL;
  if (ph->asleep) return TS_ESTATE;
  ph->asleep = true;
  trace_event(ph, "sleep", NULL);
  notify(ph, TS_PHONE_EV_SLEEP);
  ts_vpn_status st = ts_vpn_session_status(ph->session);
  if (ts_vpn_config_flag(ph->config, TS_FLAG_DISCONNECT_ON_SLEEP) && st >= TS_VPN_CONNECTING &&
      st <= TS_VPN_REASSERTING)
    return ts_phone_vpn_stop(ph, TS_STOP_SLEEP);
  PROVIDER_OP(ph, sleep);
  return TS_OK;
}

int ts_phone_wake(ts_phone *ph) {
  if (!ph) return TS_EINVAL;
  if (!ph->asleep) return TS_ESTATE;
  ph->asleep = false;
  trace_event(ph, "wake", NULL);
  PROVIDER_OP(ph, wake);
  notify(ph, TS_PHONE_EV_WAKE);
  return TS_OK;
}

bool ts_phone_asleep(const ts_phone *ph) { return ph->asleep; }

int ts_phone_set_airplane(ts_phone *ph, bool on) {
  if (!ph) return TS_EINVAL;
  if (ph->airplane == on) return TS_ESTATE;
  ph->airplane = on;
  trace_event(ph, "airplane-mode", on ? "on" : "off");
  int rc = TS_OK;
  if (ph->en0 > 0) rc = ts_phone_iface_set_up(ph, "en0", !on);
  if (!rc && ph->cell > 0) rc = ts_phone_iface_set_up(ph, "pdp_ip0", !on);
  return rc;
}

bool ts_phone_airplane(const ts_phone *ph) { return ph->airplane; }

const char *ts_phone_app_state_name(ts_phone_app_state st) {
  switch (st) {
  case TS_PHONE_APP_INSTALLED: return "installed";
  case TS_PHONE_APP_UPDATING: return "updating";
  case TS_PHONE_APP_REMOVED: return "removed";
  }
  return "?";
}

int ts_phone_set_app_state(ts_phone *ph, ts_phone_app_state st) {
  if (!ph || st > TS_PHONE_APP_REMOVED) return TS_EINVAL;
  if (ph->app_state == st) return TS_OK;
  ph->app_state = st;
  trace_event(ph, "app-state", ts_phone_app_state_name(st));
  return TS_OK;
}

ts_phone_app_state ts_phone_app_state_get(const ts_phone *ph) { return ph->app_state; }

int ts_phone_open_app(ts_phone *ph) {
  if (!ph) return TS_EINVAL;
  if (ph->app_state != TS_PHONE_APP_INSTALLED) return TS_ESTATE;
  trace_event(ph, "app-opened", NULL);
  if (ph->prov && ph->prov->app_opened) ph->prov->app_opened(ph->prov_ctx);
  notify(ph, TS_PHONE_EV_APP_OPENED);
  return TS_OK;
}

int ts_phone_app_update_installed(ts_phone *ph) {
  if (!ph) return TS_EINVAL;
  if (ph->app_state == TS_PHONE_APP_REMOVED) return TS_ESTATE;
  ts_phone_set_app_state(ph, TS_PHONE_APP_INSTALLED);
  od_resume(ph, "update installed");
  notify(ph, TS_PHONE_EV_APP_UPDATED);
  return TS_OK;
}

/* ------------------------------------------------------------ listeners */

const char *ts_phone_event_name(ts_phone_event ev) {
  static const char *const names[TS_PHONE_EV_COUNT] = {
      "reboot", "unlock", "sleep", "wake", "app-opened", "app-updated", "app-removed",
      "profile-removed"};
  return (unsigned)ev < TS_PHONE_EV_COUNT ? names[ev] : NULL;
}

int ts_phone_listen(ts_phone *ph, ts_phone_listener fn, void *ctx) {
  if (!ph || !fn) return TS_EINVAL;
  if (ph->listener_count == TS_PHONE_MAX_LISTENERS) return TS_EFULL;
  ph->listeners[ph->listener_count++] = (listener){fn, ctx};
  return TS_OK;
}

int ts_phone_unlisten(ts_phone *ph, ts_phone_listener fn, void *ctx) {
  if (!ph || !fn) return TS_EINVAL;
  for (size_t i = 0; i < ph->listener_count; i++) {
    if (ph->listeners[i].fn != fn || ph->listeners[i].ctx != ctx) continue;
    memmove(&ph->listeners[i], &ph->listeners[i + 1],
            (ph->listener_count - i - 1) * sizeof ph->listeners[0]);
    ph->listener_count--;
    return TS_OK;
  }
  return TS_ENOENT;
}

static void notify(ts_phone *ph, ts_phone_event ev) {
  for (size_t i = 0; i < ph->listener_count; i++)
    ph->listeners[i].fn(ph->listeners[i].ctx, ph, ev);
}

void ts_phone_set_wifi_ssid(ts_phone *ph, const char *ssid) {
  snprintf(ph->ssid, sizeof ph->ssid, "%s", ssid ? ssid : "");
  ph->env.wifi_ssid = ph->ssid[0] ? ph->ssid : NULL;
}

static bool session_active(ts_vpn_status st) {
  return st == TS_VPN_CONNECTING || st == TS_VPN_CONNECTED || st == TS_VPN_REASSERTING ||
         st == TS_VPN_DISCONNECTING;
}

int ts_phone_on_demand_trigger(ts_phone *ph, ts_od_trigger t, ts_od_decision *out) {
  if (!ph) return TS_EINVAL;
  int primary = ts_os_iface_primary(ph->ifaces);
  ts_od_network net = {.primary = primary ? ts_os_iface_type_of(ph->ifaces, primary) : TS_IFT_COUNT,
                       .ssid = ph->ssid[0] ? ph->ssid : NULL};
  ts_vpn_status st = ts_vpn_session_status(ph->session);
  ts_od_decision d;
  int rc = ts_vpn_config_on_demand_evaluate(
      ph->config, t, &net, session_active(st),
      ts_vpn_session_lifecycle_quirk(ph->session, TS_LQ_OD_CONNECT_ON_ANY_TRIGGER) != 0, &d);
  if (rc) return rc;
  ph->od_last = d;
  if (out) *out = d;
  if (d.rule >= 0) {
    char det[96];
    snprintf(det, sizeof det, "%s: rule %d %s -> %s", ts_od_trigger_name(t), d.rule,
             ts_od_action_name(d.action),
             d.outcome == TS_OD_OUTCOME_START ? "start"
             : d.outcome == TS_OD_OUTCOME_STOP ? "stop" : "nothing");
    trace_event(ph, "on-demand", det);
  }
  if (d.outcome == TS_OD_OUTCOME_START && st == TS_VPN_DISCONNECTED) {
    rc = ts_phone_vpn_start(ph, TS_START_ON_DEMAND);
    if (!rc) ph->od_starts++;
    return rc;
  }
  if (d.outcome == TS_OD_OUTCOME_STOP && st != TS_VPN_DISCONNECTING)
    return ts_phone_vpn_stop(ph, TS_STOP_NONE);
  return TS_OK;
}

ts_od_decision ts_phone_on_demand_last(const ts_phone *ph) { return ph->od_last; }
uint32_t ts_phone_on_demand_starts(const ts_phone *ph) { return ph->od_starts; }

static void od_event(void *obj, uint64_t arg) {
  ts_phone *ph = obj;
  ph->od_pending &= ~(1u << arg);
  ts_phone_on_demand_trigger(ph, (ts_od_trigger)arg, NULL);
}

/* Evaluations run from their own event at the same instant (never inside a send).
 * A suspended or removed configuration has no triggers; its rules stay (the
 * policy still reads them). */
static void od_schedule(ts_phone *ph, ts_od_trigger t) {
  if (ph->od_suspended || !ph->profile_present) return;
  if (!ts_vpn_config_on_demand(ph->config) || (ph->od_pending & (1u << t))) return;
  ph->od_pending |= 1u << t;
  ts_world_schedule_in(ph->w, 0, od_event, ph, (uint64_t)t, NULL);
}

/* An app's outgoing traffic while the VPN is down is a connection attempt (A-OD). */
static void app_attempt(ts_phone *ph, const psock *s) {
  if (s->owner == TS_TC_APP && ts_vpn_session_status(ph->session) == TS_VPN_DISCONNECTED)
    od_schedule(ph, TS_OD_TRIGGER_APP_TRAFFIC);
}

int ts_phone_vpn_set_enabled(ts_phone *ph, bool enabled) {
  ts_vpn_config_set_enabled(ph->config, enabled);
  int rc = ts_vpn_session_configure(ph->session, now_of(ph));
  if (!rc) ts_phone_path_changed(ph);
  return rc;
}

static int lq(const ts_phone *ph, ts_vpn_lifecycle_quirk q) {
  return ts_vpn_session_lifecycle_quirk(ph->session, q);
}

static void refuse_event(ts_phone *ph, ts_vpn_start_cause cause, const char *why) {
  char d[64];
  snprintf(d, sizeof d, "%s: %s", ts_vpn_start_cause_name(cause), why);
  trace_event(ph, "launch-refused", d);
}

/* Whether the provider may be launched now. While the app updates the old bundle
 * cannot be relaunched (update-relaunch-refused, GAP-3, MV-BLOG); a refused
 * on-demand launch suspends the triggers (refused-launch-suspends-on-demand, INF). */
static int launch_gate(ts_phone *ph, ts_vpn_start_cause cause) {
  if (!ph->profile_present || ph->app_state == TS_PHONE_APP_REMOVED) {
    refuse_event(ph, cause, ph->profile_present ? "app removed" : "configuration removed");
    return TS_ENOENT;
  }
  if (ph->app_state != TS_PHONE_APP_UPDATING || !lq(ph, TS_LQ_UPDATE_RELAUNCH_REFUSED))
    return TS_OK;
  ph->launches_refused++;
  refuse_event(ph, cause, "app updating");
  if (cause == TS_START_ON_DEMAND && !ph->od_suspended &&
      lq(ph, TS_LQ_REFUSED_LAUNCH_SUSPENDS_ON_DEMAND)) {
    ph->od_suspended = true;
    trace_event(ph, "on-demand", "suspended after a refused launch");
  }
  return TS_EREFUSED;
}

int ts_phone_vpn_start(ts_phone *ph, ts_vpn_start_cause cause) {
  if (!ph) return TS_EINVAL;
  /* Only a launch is gated: a start the session refuses anyway keeps its error. */
  if (ts_vpn_session_status(ph->session) == TS_VPN_DISCONNECTED) {
    int gate = launch_gate(ph, cause);
    if (gate) return gate;
  }
  int rc = ts_vpn_session_start(ph->session, now_of(ph), cause);
  if (!rc) schedule_session(ph, EV_START_TUNNEL);
  return rc;
}

uint32_t ts_phone_launches_refused(const ts_phone *ph) { return ph->launches_refused; }
bool ts_phone_on_demand_suspended(const ts_phone *ph) { return ph->od_suspended; }

static void od_resume(ts_phone *ph, const char *why) {
  if (!ph->od_suspended) return;
  ph->od_suspended = false;
  char d[64];
  snprintf(d, sizeof d, "resumed: %s", why);
  trace_event(ph, "on-demand", d);
}

/* ------------------------------------------------- the user and the VPN */

bool ts_phone_settings_switch_on(const ts_phone *ph) {
  ts_vpn_status st = ts_vpn_session_status(ph->session);
  return st == TS_VPN_CONNECTING || st == TS_VPN_CONNECTED || st == TS_VPN_REASSERTING;
}

int ts_phone_settings_toggle(ts_phone *ph) {
  if (!ph) return TS_EINVAL;
  if (!ph->profile_present) return TS_ENOENT;
  bool on = !ts_phone_settings_switch_on(ph);
  trace_event(ph, "settings-toggle", on ? "on" : "off");
  od_resume(ph, "Settings toggle");
  return ts_phone_vpn_toggle(ph, on);
}

bool ts_phone_vpn_profile_present(const ts_phone *ph) { return ph->profile_present; }

/* The removal takes effect: no more on-demand, the session stopped, then the
 * configuration disabled (now, or from removal_event once it is down). */
static int apply_removal(ts_phone *ph) {
  ph->removal_deferred = false;
  ts_vpn_config_set_on_demand(ph->config, false);
  ts_vpn_status st = ts_vpn_session_status(ph->session);
  if (st == TS_VPN_CONNECTING || st == TS_VPN_CONNECTED || st == TS_VPN_REASSERTING) {
    ph->removal_pending_stop = true;
    return ts_phone_vpn_stop(ph, TS_STOP_CONFIGURATION_REMOVED);
  }
  if (st == TS_VPN_DISCONNECTING) {
    ph->removal_pending_stop = true;
    return TS_OK;
  }
  ph->removal_pending_stop = false;
  return ts_phone_vpn_set_enabled(ph, false);
}

static void removal_event(void *obj, uint64_t arg) {
  ts_phone *ph = obj;
  (void)arg;
  if (!ph->removal_pending_stop || ts_vpn_session_status(ph->session) != TS_VPN_DISCONNECTED)
    return;
  ph->removal_pending_stop = false;
  ts_phone_vpn_set_enabled(ph, false);
}

/* provider_was_running: the state before any kill by the caller. A session down
 * because of its provider with none running is the stuck one whose policy
 * outlives the removal (config-removal-keeps-policy, GAP-3, MV-BLOG). */
static int remove_configuration(ts_phone *ph, bool provider_was_running) {
  ph->profile_present = false;
  notify(ph, TS_PHONE_EV_PROFILE_REMOVED);
  bool stuck = !provider_was_running &&
               ts_vpn_session_status(ph->session) == TS_VPN_DISCONNECTED &&
               ts_vpn_session_down_cause(ph->session) == TS_DOWN_PROVIDER;
  if (stuck && lq(ph, TS_LQ_CONFIG_REMOVAL_KEEPS_POLICY)) {
    ph->removal_deferred = true;
    trace_event(ph, "vpn-profile", "removal deferred to the next reboot: the policy stays");
    return TS_OK;
  }
  return apply_removal(ph);
}

int ts_phone_remove_vpn_profile(ts_phone *ph) {
  if (!ph) return TS_EINVAL;
  if (!ph->profile_present) return TS_ENOENT;
  trace_event(ph, "vpn-profile", "removed by the user");
  return remove_configuration(ph, ts_vpn_session_provider_running(ph->session));
}

int ts_phone_uninstall_app(ts_phone *ph) {
  if (!ph) return TS_EINVAL;
  if (ph->app_state == TS_PHONE_APP_REMOVED) return TS_ESTATE;
  bool running = ts_vpn_session_provider_running(ph->session);
  trace_event(ph, "app-uninstalled", NULL);
  if (running) ts_phone_vpn_kill(ph, TS_STOP_CONFIGURATION_REMOVED, TS_EXIT_SIGTERM);
  ts_phone_set_app_state(ph, TS_PHONE_APP_REMOVED);
  notify(ph, TS_PHONE_EV_APP_REMOVED);
  if (!ph->profile_present) return TS_OK;
  trace_event(ph, "vpn-profile", "removed with the app");
  return remove_configuration(ph, running);
}

int ts_phone_vpn_stop(ts_phone *ph, ts_vpn_stop_reason reason) {
  int rc = ts_vpn_session_stop(ph->session, now_of(ph), reason);
  if (rc) return rc;
  ph->stop_reason = reason;
  schedule_session(ph, EV_STOP_TUNNEL);
  return TS_OK;
}

int ts_phone_tunnel_set_settings(ts_phone *ph, const ts_vpn_settings *settings) {
  int rc = ts_vpn_session_set_settings(ph->session, now_of(ph), settings);
  if (!rc) {
    trace_event(ph, "vpn-settings", settings ? "applied" : "cleared");
    ts_phone_path_changed(ph);
  }
  return rc;
}

int ts_phone_tunnel_start_completed(ts_phone *ph, int error) {
  return ts_vpn_session_start_completed(ph->session, now_of(ph), error);
}

int ts_phone_tunnel_set_reasserting(ts_phone *ph, bool reasserting) {
  return ts_vpn_session_set_reasserting(ph->session, now_of(ph), reasserting);
}

int ts_phone_tunnel_stopped(ts_phone *ph) {
  return ts_vpn_session_stop_completed(ph->session, now_of(ph));
}

/* ------------------------------------------------------------- sockets */

static psock *find(const ts_phone *ph, ts_sock_id id) {
  for (size_t i = 0; id && i < ph->ps_cap; i++)
    if (ph->ps[i].used && ph->ps[i].id == id) return &ph->ps[i];
  return NULL;
}

static bool local_id_taken(const ts_phone *ph, uint8_t proto, uint16_t local_id) {
  for (size_t i = 0; i < ph->ps_cap; i++)
    if (ph->ps[i].used && ph->ps[i].proto == proto && ph->ps[i].local_id == local_id) return true;
  return false;
}

static uint16_t next_ephemeral(ts_phone *ph, uint8_t proto) {
  for (uint32_t tries = 0; tries < 16384; tries++) {
    uint16_t id = ph->next_ephemeral;
    ph->next_ephemeral = id == 0xffff ? TS_PHONE_EPHEMERAL_FIRST : (uint16_t)(id + 1);
    if (!local_id_taken(ph, proto, id)) return id;
  }
  return 0;
}

static int tcp_start(ts_phone *ph, psock *s);
static void psock_release(ts_phone *ph, psock *s);

int ts_phone_socket_open(ts_phone *ph, const ts_phone_socket_params *p, ts_sock_id *id) {
  if (!ph || !p || !id) return TS_EINVAL;
  if (p->proto != TS_IPPROTO_ICMP && p->proto != TS_IPPROTO_UDP && p->proto != TS_IPPROTO_TCP)
    return TS_ENOTSUP;
  if (p->api != TS_SOCK_BSD && p->api != TS_SOCK_NWCONNECTION && p->api != TS_SOCK_NWTCPCONNECTION)
    return TS_ENOTSUP;
  if (p->api != TS_SOCK_BSD && !p->remote.family) return TS_EINVAL;
  bool tcp = p->proto == TS_IPPROTO_TCP;
  if (tcp && (!p->remote.family || !p->remote_port)) return TS_EINVAL;
  /* createTCPConnectionThroughTunnel is the provider's, and TCP only (A-NWTCP). */
  if (p->api == TS_SOCK_NWTCPCONNECTION && (!tcp || p->owner != TS_TC_PROVIDER)) return TS_EINVAL;
  psock *slot = NULL;
  for (size_t i = 0; i < ph->ps_cap && !slot; i++)
    if (!ph->ps[i].used) slot = &ph->ps[i];
  if (!slot) return TS_EFULL;
  uint16_t local = p->local_id;
  if (local && local_id_taken(ph, p->proto, local)) return TS_EEXIST;
  if (!local && !(local = next_ephemeral(ph, p->proto))) return TS_EFULL;

  int ll_iface = 0;
  if (p->link_layer) {
    if (p->proto != TS_IPPROTO_UDP || p->api != TS_SOCK_BSD || p->owner != TS_TC_CONTROL_PLANE ||
        !p->bound_if || (ll_iface = physical_index(ph, p->bound_if)) < 0)
      return TS_EINVAL;
  }
  ts_sock_id sid = 0;
  int rc;
  if (p->api == TS_SOCK_BSD) {
    int bound = 0;
    if (p->bound_if && (bound = ts_phone_iface(ph, p->bound_if)) < 0) return bound;
    rc = ts_sock_bsd_open(ph->socks, p->owner, p->proto, &sid);
    if (!rc && bound) rc = ts_sock_bsd_bind_if(ph->socks, sid, bound);
    if (!rc && p->remote.family) {
      ts_sock_status st;
      rc = ts_sock_bsd_connect(ph->socks, sid, &p->remote, &st);
      if (!rc && tcp && st == TS_SOCK_ENETUNREACH) rc = TS_ENOENT; /* connect(): ENETUNREACH */
    }
  } else if (p->api == TS_SOCK_NWTCPCONNECTION) {
    rc = ts_sock_nwtcp_create(ph->socks, &p->remote, &sid); /* waiting or preparing */
  } else {
    ts_nw_params nw = p->nw;
    if (p->required_if) {
      int r = ts_phone_iface(ph, p->required_if);
      if (r < 0) return r;
      nw.required_iface = r;
    }
    rc = ts_sock_nw_create(ph->socks, p->owner, p->proto, &p->remote, &nw, &sid);
    if (!rc) rc = ts_sock_nw_start(ph->socks, sid);
  }
  if (rc) {
    if (sid) ts_sock_close(ph->socks, sid);
    return rc;
  }
  *slot = (psock){.ph = ph, .used = true, .id = sid, .owner = p->owner, .proto = p->proto,
                  .api = p->api, .local_id = local, .has_remote = p->remote.family != 0,
                  .remote = p->remote, .remote_port = p->remote_port, .recv = p->recv,
                  .ctx = p->ctx, .tcp_ops = p->tcp, .has_tmpl = p->tcp_tmpl != NULL,
                  .link_layer = p->link_layer, .bound_iface = ll_iface};
  if (p->tcp_tmpl) slot->tmpl = *p->tcp_tmpl;
  if (tcp) {
    /* BSD: connect() established the socket; the SYN goes now. NWConnection and
     * NWTCPConnection: once it has a path (now, or at a later path change). */
    slot->tcp_pending = p->api != TS_SOCK_BSD;
    rc = p->api == TS_SOCK_BSD ? tcp_start(ph, slot) : TS_OK;
    if (rc) {
      psock_release(ph, slot);
      return rc;
    }
  }
  *id = sid;
  nw_settle(ph);
  return TS_OK;
}

/* Forgets a socket (its endpoint, if any, is destroyed; deferred while busy). */
static void psock_release(ts_phone *ph, psock *s) {
  ts_tcp *c = s->tcp;
  s->used = false;
  s->tcp = NULL;
  ts_sock_close(ph->socks, s->id);
  if (c) ts_tcp_destroy(c);
}

int ts_phone_socket_close(ts_phone *ph, ts_sock_id id) {
  psock *s = find(ph, id);
  if (!s) return TS_EINVAL;
  if (s->tcp && ts_tcp_get_state(s->tcp) != TS_TCP_CLOSED) {
    ts_tcp_abort(s->tcp); /* its on_closed releases the socket */
    if (!find(ph, id)) return TS_OK;
  }
  psock_release(ph, s);
  return TS_OK;
}

int ts_phone_socket_drop(ts_phone *ph, ts_sock_id id) {
  psock *s = ph ? find(ph, id) : NULL;
  if (!s) return TS_EINVAL;
  psock_release(ph, s); /* the endpoint is destroyed without sending */
  return TS_OK;
}

int ts_phone_socket_last_verdict(const ts_phone *ph, ts_sock_id id, ts_verdict *out) {
  const psock *s = ph ? find(ph, id) : NULL;
  if (!s) return TS_ENOENT;
  if (out) *out = s->last_verdict;
  return TS_OK;
}

bool ts_phone_last_app_block(const ts_phone *ph, ts_verdict *out, ts_time *at) {
  if (!ph->has_app_block) return false;
  if (out) *out = ph->app_block;
  if (at) *at = ph->app_block_at;
  return true;
}

uint16_t ts_phone_socket_local_id(const ts_phone *ph, ts_sock_id id) {
  const psock *s = find(ph, id);
  return s ? s->local_id : 0;
}

/* ----------------------------------------------------------- sending */

static const ts_ipaddr *iface_source(const ts_phone *ph, int iface, int family) {
  for (size_t k = 0; k < ts_os_iface_address_count(ph->ifaces, iface); k++) {
    const ts_ipprefix *a = ts_os_iface_address(ph->ifaces, iface, k);
    if (a->addr.family == family) return &a->addr;
  }
  return NULL;
}

static void verdict_event(ts_phone *ph, const char *kind, const psock *s, const ts_verdict *v,
                          const char *extra) {
  char d[256];
  int n = snprintf(d, sizeof d, "sock %u %s: ", (unsigned)s->id, ts_traffic_class_name(s->owner));
  if (n > 0 && (size_t)n < sizeof d) ts_verdict_format(v, &ph->env, d + n, sizeof d - (size_t)n);
  if (extra) {
    size_t l = strlen(d);
    snprintf(d + l, sizeof d - l, " (%s)", extra);
  }
  trace_event(ph, kind, d);
}

static void defer_packet(ts_phone *ph, ts_packet *pkt, uint8_t kind);

static void send_physical(ts_phone *ph, const psock *s, const ts_ipaddr *dst, const ts_verdict *v,
                          ts_packet *pkt) {
  port *p = &ph->ports[v->iface];
  if (!p->attached) {
    ph->stats.dropped++;
    verdict_event(ph, "phone-drop", s, v, "interface has no link");
    ts_packet_free(ts_world_pool(ph->w), pkt);
    return;
  }
  if (ph->egress) {
    ts_phone_origin o;
    memset(&o, 0, sizeof o);
    o.sock = s->id;
    o.cls = s->owner;
    o.verdict = *v;
    o.session_status = ts_vpn_session_status(ph->session);
    o.session_epoch = ts_vpn_session_epoch(ph->session);
    ts_policy_flow f;
    if (ts_sock_flow(ph->socks, s->id, dst, &f) == 0) o.pre_tunnel = f.pre_tunnel;
    ph->egress(ph->egress_ctx, v->iface, pkt, &o);
  }
  ph->stats.tx_physical++;
  ts_world_link_send(ph->w, p->link, 1, pkt);
}

/* Remembers a send's verdict for the explainers: per socket, and phone-wide the
 * last blocked packet of an ordinary app. */
static void note_verdict(ts_phone *ph, psock *s, const ts_verdict *v) {
  s->last_verdict = *v;
  if (s->owner != TS_TC_APP || (v->kind != TS_VERDICT_DROP && v->kind != TS_VERDICT_SILENT_FAIL))
    return;
  ph->has_app_block = true;
  ph->app_block = *v;
  ph->app_block_at = now_of(ph);
}

/* Counts and traces a send that leaves nothing (an API error, a silent failure,
 * a drop); true when the verdict sends the packet somewhere. */
static bool sendable(ts_phone *ph, psock *s, const ts_sock_send_result *res) {
  const ts_verdict *v = &res->verdict;
  note_verdict(ph, s, v);
  if (res->status != TS_SOCK_OK) {
    ph->stats.send_errors++;
    verdict_event(ph, "phone-send-error",
                  s, v, res->status == TS_SOCK_ENOTCONN ? "ENOTCONN" : "ENETUNREACH");
    return false;
  }
  if (v->kind == TS_VERDICT_SILENT_FAIL) {
    ph->stats.silent_failed++;
    verdict_event(ph, "phone-silent-fail", s, v, NULL);
    return false;
  }
  if (v->kind == TS_VERDICT_DROP) {
    ph->stats.dropped++;
    verdict_event(ph, "phone-drop", s, v, NULL);
    return false;
  }
  return true;
}

/* Sends a built packet where a sending verdict says. */
static void dispatch(ts_phone *ph, const psock *s, const ts_ipaddr *dst, const ts_verdict *v,
                     ts_packet *pkt) {
  pkt->flow = s->id;
  switch (v->kind) {
  case TS_VERDICT_PHYSICAL:
    send_physical(ph, s, dst, v, pkt);
    break;
  case TS_VERDICT_TUNNEL:
    ph->stats.tx_tunnel++;
    ts_trace_packet(ts_world_trace(ph->w), now_of(ph), ph->utun_trace, TS_TRACE_TX, NULL, pkt->data,
                    pkt->len);
    defer_packet(ph, pkt, DEFER_TO_PROVIDER);
    break;
  default: /* loopback */
    ph->stats.tx_loopback++;
    defer_packet(ph, pkt, DEFER_LOOPBACK);
    break;
  }
}

/* Builds the packet for a verdict that sends something and sends it. */
static int transmit(ts_phone *ph, psock *s, const ts_ipaddr *dst, uint16_t seq_or_port,
                    const uint8_t *payload, uint32_t len, ts_sock_send_result *res) {
  ts_sock_send_result local;
  if (!res) res = &local;
  app_attempt(ph, s);
  int rc = ts_sock_send(ph->socks, s->id, dst, res);
  if (rc) return rc;
  const ts_verdict *v = &res->verdict;
  static const ts_ipaddr unspecified = {.family = 4};
  if (s->link_layer) {
    /* BPF: out of its own interface, from 0.0.0.0 until the interface has an address */
    if (dst->family != 4) return TS_EINVAL;
    if (!iface_source(ph, s->bound_iface, 4) && ts_os_iface_is_up(ph->ifaces, s->bound_iface)) {
      memset(res, 0, sizeof *res);
      res->verdict = (ts_verdict){.kind = TS_VERDICT_PHYSICAL, .iface = s->bound_iface,
                                  .rule = TS_RULE_EXEMPT_CONTROL_PLANE, .origin = TS_ROUTE_SCOPED};
    }
  }
  if (!sendable(ph, s, res)) return TS_OK;
  int out_if = v->kind == TS_VERDICT_TUNNEL ? ph->utun : v->iface;
  const ts_ipaddr *src = iface_source(ph, out_if, dst->family);
  if (!src && s->link_layer) src = &unspecified;
  if (!src) {
    ph->stats.dropped++;
    verdict_event(ph, "phone-drop", s, v, "no source address");
    return TS_OK;
  }
  uint32_t need = (dst->family == 6 ? TS_IPV6_HEADER : TS_IPV4_HEADER) + TS_UDP_HEADER + len;
  if (need > TS_PACKET_MAX) return TS_ERANGE;
  ts_packet_pool *pool = ts_world_pool(ph->w);
  ts_packet *pkt = ts_packet_alloc(pool, need);
  if (!pkt) return TS_ENOMEM;
  pkt->len = s->proto == TS_IPPROTO_UDP
                 ? ts_ip_build_udp(pkt->data, need, src, dst, s->local_id, seq_or_port, payload, len)
                 : ts_ip_build_echo(pkt->data, need, src, dst, false, s->local_id, seq_or_port,
                                    payload, len);
  if (!pkt->len) {
    ts_packet_free(pool, pkt);
    return TS_EINVAL;
  }
  dispatch(ph, s, dst, v, pkt);
  return TS_OK;
}

int ts_phone_send_echo(ts_phone *ph, ts_sock_id id, const ts_ipaddr *dst, uint16_t seq,
                       const uint8_t *payload, uint32_t len, ts_sock_send_result *res) {
  psock *s = ph ? find(ph, id) : NULL;
  if (!s || s->proto != TS_IPPROTO_ICMP || (len && !payload)) return TS_EINVAL;
  if (!dst) dst = s->has_remote ? &s->remote : NULL;
  if (!dst) return TS_EINVAL;
  return transmit(ph, s, dst, seq, payload, len, res);
}

int ts_phone_send_udp(ts_phone *ph, ts_sock_id id, const ts_ipaddr *dst, uint16_t dport,
                      const uint8_t *payload, uint32_t len, ts_sock_send_result *res) {
  psock *s = ph ? find(ph, id) : NULL;
  if (!s || s->proto != TS_IPPROTO_UDP || (len && !payload)) return TS_EINVAL;
  if (!dst) {
    if (!s->has_remote) return TS_EINVAL;
    dst = &s->remote;
    dport = s->remote_port;
  }
  return transmit(ph, s, dst, dport, payload, len, res);
}

/* ------------------------------------------------------------------ TCP */

static bool deliverable(const ts_verdict *v) {
  return v->kind == TS_VERDICT_TUNNEL || v->kind == TS_VERDICT_PHYSICAL ||
         v->kind == TS_VERDICT_LOOPBACK;
}

/* An NWConnection's (or NWTCPConnection's) transport handshake runs while it is
 * preparing, when the API itself would refuse a send (ENOTCONN): it runs on the path
 * being prepared. */
static bool nw_handshaking(const ts_phone *ph, const psock *s) {
  return s->api != TS_SOCK_BSD && ts_sock_nw_state(ph->socks, s->id) == TS_NW_PREPARING;
}

/* Every segment the endpoint emits: one policy verdict, then the normal path. */
static void tcp_send_ip(void *ctx, ts_packet *pkt) {
  psock *s = ctx;
  ts_phone *ph = s->ph;
  ts_sock_send_result res;
  memset(&res, 0, sizeof res);
  int rc;
  app_attempt(ph, s);
  if (nw_handshaking(ph, s)) {
    ts_policy_flow f;
    rc = ts_sock_flow(ph->socks, s->id, NULL, &f);
    if (!rc) ts_policy_decide(&ph->env, &f, &res.verdict);
  } else {
    rc = ts_sock_send(ph->socks, s->id, NULL, &res);
  }
  if (rc || !sendable(ph, s, &res)) {
    ts_packet_free(ts_world_pool(ph->w), pkt);
    return;
  }
  dispatch(ph, s, &s->remote, &res.verdict, pkt);
}

static void tcp_on_connected(void *ctx, ts_tcp *c) {
  psock *s = ctx;
  (void)c;
  if (nw_handshaking(s->ph, s)) ts_sock_nw_transport_ready(s->ph->socks, s->id);
  if (s->tcp_ops.on_connected) s->tcp_ops.on_connected(s->ctx, s->id);
}

static void tcp_on_data(void *ctx, ts_tcp *c, const uint8_t *data, size_t len) {
  psock *s = ctx;
  (void)c;
  if (s->tcp_ops.on_data) s->tcp_ops.on_data(s->ctx, s->id, data, len);
}

static void tcp_on_writable(void *ctx, ts_tcp *c) {
  psock *s = ctx;
  (void)c;
  if (s->tcp_ops.on_writable) s->tcp_ops.on_writable(s->ctx, s->id);
}

/* CLOSED: the socket goes (the endpoint is freed when its entry point returns),
 * then the application hears of it. */
static void tcp_on_closed(void *ctx, ts_tcp *c, ts_tcp_reason why) {
  psock *s = ctx;
  (void)c;
  ts_sock_id id = s->id;
  ts_phone_tcp_ops ops = s->tcp_ops;
  void *uctx = s->ctx;
  psock_release(s->ph, s);
  if (ops.on_closed) ops.on_closed(uctx, id, why);
}

/* The source address of a new connection: the interface the socket was established
 * on, else the one the policy would use now, else the primary interface. */
static int tcp_source(const ts_phone *ph, const psock *s, ts_ipaddr *out, int *out_iface) {
  ts_policy_flow f;
  int iface = 0;
  if (ts_sock_flow(ph->socks, s->id, NULL, &f) == 0) {
    iface = f.established_iface;
    if (iface <= 0) {
      ts_verdict v;
      ts_policy_decide(&ph->env, &f, &v);
      if (deliverable(&v)) iface = v.kind == TS_VERDICT_TUNNEL ? ph->utun : v.iface;
    }
  }
  const ts_ipaddr *a = iface > 0 ? iface_source(ph, iface, s->remote.family) : NULL;
  int primary = ts_os_iface_primary(ph->ifaces);
  if (!a && primary > 0) a = iface_source(ph, (iface = primary), s->remote.family);
  if (!a) return TS_ENOENT;
  *out = *a;
  *out_iface = iface;
  return TS_OK;
}

/* The MSS for a connection opened on iface (see TS_PHONE_PHYSICAL_MTU). */
static uint16_t tcp_mss(const ts_phone *ph, int iface, int family) {
  uint32_t mtu = TS_PHONE_PHYSICAL_MTU;
  if (iface == ph->utun) {
    const ts_vpn_settings *st = ts_vpn_session_settings(ph->session);
    mtu = st && st->mtu ? st->mtu : TS_PHONE_PHYSICAL_MTU - TS_PHONE_TUNNEL_OVERHEAD;
  }
  uint32_t headers = (family == 6 ? TS_IPV6_HEADER : TS_IPV4_HEADER) + TS_TCP_HEADER;
  return (uint16_t)(mtu > headers + 64 ? mtu - headers : 64);
}

static int tcp_start(ts_phone *ph, psock *s) {
  ts_tcp_config k;
  if (s->has_tmpl) k = s->tmpl;
  else memset(&k, 0, sizeof k);
  int iface = 0;
  int rc = tcp_source(ph, s, &s->local_addr, &iface);
  if (rc) return rc;
  if (!k.mss) k.mss = tcp_mss(ph, iface, s->remote.family);
  char name[TS_TCP_NAME_MAX], ra[48];
  ts_ipaddr_format(&s->remote, ra, sizeof ra);
  snprintf(name, sizeof name, "%s:%u>%s:%u#%llu", ph->name, (unsigned)s->local_id, ra,
           (unsigned)s->remote_port, (unsigned long long)ph->tcp_opened);
  k.name = name;
  k.local = s->local_addr;
  k.remote = s->remote;
  k.local_port = s->local_id;
  k.remote_port = s->remote_port;
  k.flow = s->id;
  k.send_ip = tcp_send_ip;
  k.send_ctx = s;
  k.on_connected = tcp_on_connected;
  k.on_data = tcp_on_data;
  k.on_writable = tcp_on_writable;
  k.on_closed = tcp_on_closed;
  k.ctx = s;
  rc = ts_tcp_create(ph->w, &k, &s->tcp);
  if (rc) {
    s->tcp = NULL;
    return rc;
  }
  ph->tcp_opened++;
  s->tcp_pending = false;
  return ts_tcp_connect(s->tcp);
}

/* An NW TCP socket that is preparing: connect on the new path, or, for a connection
 * that lost its path and found it again, be ready at once. */
static void tcp_settle(ts_phone *ph, psock *s) {
  if (s->tcp_pending) {
    ts_sock_id id = s->id;
    int rc = tcp_start(ph, s);
    if (rc && find(ph, id) == s) {
      trace_event(ph, "phone-tcp-start-failed", ts_strerror(rc));
      ts_sock_nw_transport_failed(ph->socks, id);
      s->tcp_pending = false;
    }
    return;
  }
  if (s->tcp) {
    ts_tcp_state st = ts_tcp_get_state(s->tcp);
    if (st != TS_TCP_SYN_SENT && st != TS_TCP_CLOSED) ts_sock_nw_transport_ready(ph->socks, s->id);
  }
}

static psock *find_tcp(const ts_phone *ph, ts_sock_id id) {
  psock *s = ph ? find(ph, id) : NULL;
  return s && s->proto == TS_IPPROTO_TCP ? s : NULL;
}

int64_t ts_phone_tcp_write(ts_phone *ph, ts_sock_id id, const uint8_t *data, size_t len) {
  psock *s = find_tcp(ph, id);
  if (!s || (len && !data)) return TS_EINVAL;
  if (!s->tcp) return TS_ESTATE;
  return ts_tcp_write(s->tcp, data, len);
}

int ts_phone_tcp_close(ts_phone *ph, ts_sock_id id) {
  psock *s = find_tcp(ph, id);
  if (!s) return TS_EINVAL;
  if (!s->tcp) { /* never connected: nothing to say to the peer */
    ts_sock_id sid = s->id;
    ts_phone_tcp_ops ops = s->tcp_ops;
    void *uctx = s->ctx;
    psock_release(ph, s);
    if (ops.on_closed) ops.on_closed(uctx, sid, TS_TCP_REASON_ABORTED);
    return TS_OK;
  }
  return ts_tcp_close(s->tcp);
}

ts_tcp *ts_phone_tcp_endpoint(const ts_phone *ph, ts_sock_id id) {
  psock *s = find_tcp(ph, id);
  return s ? s->tcp : NULL;
}

/* ----------------------------------------------------------- receiving */

static bool is_echo_reply(const ts_ip_info *info) {
  return (info->proto == TS_IPPROTO_ICMP && info->icmp_type == 0) ||
         (info->proto == TS_IPPROTO_ICMPV6 && info->icmp_type == 129);
}

static psock *demux(ts_phone *ph, const ts_ip_info *info) {
  for (size_t i = 0; i < ph->ps_cap; i++) {
    psock *s = &ph->ps[i];
    if (!s->used) continue;
    bool match = false;
    if (s->proto == TS_IPPROTO_UDP && info->proto == TS_IPPROTO_UDP)
      match = info->dport == s->local_id &&
              (s->api == TS_SOCK_BSD || !s->has_remote ||
               (ts_ipaddr_equal(&s->remote, &info->src) && info->sport == s->remote_port));
    else if (s->proto == TS_IPPROTO_ICMP && is_echo_reply(info))
      match = info->icmp_id == s->local_id &&
              (s->api == TS_SOCK_BSD || ts_ipaddr_equal(&s->remote, &info->src));
    else if (s->proto == TS_IPPROTO_TCP && info->proto == TS_IPPROTO_TCP)
      match = s->tcp && info->dport == s->local_id && info->sport == s->remote_port &&
              ts_ipaddr_equal(&s->remote, &info->src) && ts_ipaddr_equal(&s->local_addr, &info->dst);
    if (match) return s;
  }
  return NULL;
}

static bool addressed_to(const ts_phone *ph, int iface, const ts_ipaddr *dst) {
  for (size_t k = 0; k < ts_os_iface_address_count(ph->ifaces, iface); k++)
    if (ts_ipaddr_equal(&ts_os_iface_address(ph->ifaces, iface, k)->addr, dst)) return true;
  return false;
}

/* A link-layer socket of this interface for this UDP datagram (any destination). */
static psock *link_layer_demux(ts_phone *ph, int iface, const ts_ip_info *info) {
  if (info->proto != TS_IPPROTO_UDP || iface == ph->utun || iface == ph->lo) return NULL;
  for (size_t i = 0; i < ph->ps_cap; i++) {
    psock *s = &ph->ps[i];
    if (s->used && s->link_layer && s->bound_iface == iface && s->local_id == info->dport) return s;
  }
  return NULL;
}

static void input(ts_phone *ph, int iface, const uint8_t *data, uint32_t len) {
  ts_ip_info info;
  bool parsed = ts_ip_parse(data, len, &info) == 0;
  psock *ll = parsed ? link_layer_demux(ph, iface, &info) : NULL;
  if (ll) { /* BPF sees the frame before the IP layer */
    ph->stats.delivered++;
    uint32_t off = info.l4_offset + TS_UDP_HEADER, end = info.l4_offset + info.l4_len;
    if (ll->recv && off <= end) ll->recv(ll->ctx, ll->id, &info, data + off, end - off, iface);
    return;
  }
  if (!parsed || !addressed_to(ph, iface, &info.dst)) {
    ph->stats.unclaimed++;
    trace_event(ph, "phone-unclaimed", ts_os_iface_name(ph->ifaces, iface));
    return;
  }
  psock *s = demux(ph, &info);
  if (!s) {
    ph->stats.unclaimed++;
    trace_event(ph, "phone-unclaimed", ts_os_iface_name(ph->ifaces, iface));
    return;
  }
  ts_verdict v;
  memset(&v, 0, sizeof v);
  int ok;
  if (s->proto == TS_IPPROTO_TCP && nw_handshaking(ph, s)) { /* the handshake's answers */
    ts_policy_flow f;
    ok = ts_sock_flow(ph->socks, s->id, &info.src, &f) == 0 &&
         ts_policy_decide_arrival(&ph->env, &f, iface, &v);
  } else {
    ok = ts_sock_arrival(ph->socks, s->id, &info.src, iface, &v);
  }
  if (ok != 1) {
    ph->stats.arrival_dropped++;
    verdict_event(ph, "phone-arrival-drop", s, &v, ts_os_iface_name(ph->ifaces, iface));
    return;
  }
  ph->stats.delivered++;
  if (s->proto == TS_IPPROTO_TCP) {
    ts_tcp_input(s->tcp, &info, data + info.l4_offset, info.l4_len);
    return;
  }
  uint32_t off = info.l4_offset + (s->proto == TS_IPPROTO_UDP ? TS_UDP_HEADER : TS_ICMP_ECHO_HEADER);
  uint32_t end = info.l4_offset + info.l4_len;
  if (s->recv && off <= end) s->recv(s->ctx, s->id, &info, data + off, end - off, iface);
}

static void link_rx(void *ctx, ts_packet *pkt) {
  port *p = ctx;
  ts_phone *ph = p->ph;
  ph->stats.rx_physical++;
  if (ts_os_iface_is_up(ph->ifaces, p->iface)) input(ph, p->iface, pkt->data, pkt->len);
  else trace_event(ph, "phone-iface-down", ts_os_iface_name(ph->ifaces, p->iface));
  ts_packet_free(ts_world_pool(ph->w), pkt);
}

int ts_phone_tunnel_write(ts_phone *ph, const uint8_t *pkt, size_t len) {
  if (!ph || !pkt || len == 0 || len > TS_PACKET_MAX) return TS_EINVAL;
  ph->stats.rx_tunnel++;
  ts_trace_packet(ts_world_trace(ph->w), now_of(ph), ph->utun_trace, TS_TRACE_RX, NULL, pkt,
                  (uint32_t)len);
  if (!ts_vpn_session_tunnel_up(ph->session)) {
    trace_event(ph, "phone-utun-down", NULL);
    return TS_ESTATE;
  }
  input(ph, ph->utun, pkt, (uint32_t)len);
  return TS_OK;
}

/* ------------------------------------------ deferred packets (next event) */

static void deferred_event(void *obj, uint64_t arg) {
  ts_phone *ph = obj;
  (void)arg;
  if (!ph->ring_count) return;
  deferred d = ph->ring[ph->ring_head];
  ph->ring_head = (ph->ring_head + 1) % TS_PHONE_DEFERRED_MAX;
  ph->ring_count--;
  if (d.kind == DEFER_TO_PROVIDER) {
    if (ph->prov && ts_vpn_session_provider_running(ph->session))
      ph->prov->read_packet(ph->prov_ctx, d.pkt->data, d.pkt->len);
    else
      trace_event(ph, "phone-utun-no-reader", NULL);
  } else {
    input(ph, ph->lo, d.pkt->data, d.pkt->len);
  }
  ts_packet_free(ts_world_pool(ph->w), d.pkt);
}

static void defer_packet(ts_phone *ph, ts_packet *pkt, uint8_t kind) {
  if (ph->ring_count == TS_PHONE_DEFERRED_MAX ||
      ts_world_schedule_in(ph->w, 0, deferred_event, ph, 0, NULL) != TS_OK) {
    ph->stats.deferred_overflow++;
    trace_event(ph, "phone-drop", "deferred queue full");
    ts_packet_free(ts_world_pool(ph->w), pkt);
    return;
  }
  uint32_t tail = (ph->ring_head + ph->ring_count) % TS_PHONE_DEFERRED_MAX;
  ph->ring[tail] = (deferred){pkt, kind};
  ph->ring_count++;
}
