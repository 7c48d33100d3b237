/* The phone of a scenario: its OS profile and interfaces, the VPN configuration,
 * the provider with its monitor, the phone's apps, and the leak oracle that watches
 * everything it sends out of a physical interface. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "run_internal.h"
#include "ts_dhcp_client.h"
#include "ts_os_profile_load.h"
#include "ts_phone_leaks.h"

static const char *const phone_ifname[TS_SCENARIO_PHONE_IF_COUNT] = {"en0", "pdp_ip0"};

static const char *models_dir(const struct run_world *rw) {
  if (rw->options->models_dir) return rw->options->models_dir;
  const char *env = getenv("TUNNELSIM_MODELS");
  return env ? env : TUNNELSIM_MODELS_DIR;
}

static int create_phone(struct run_world *rw) {
  const ts_scenario_phone *sp = &rw->scenario->phone;
  const char *os = rw->options->os ? rw->options->os : sp->os;
  ts_os_profile *loaded = NULL;
  const ts_os_profile *profile = NULL;
  if (os[0]) {
    char path[1024];
    snprintf(path, sizeof path, "%s/os/%s.yaml", models_dir(rw), os);
    ts_diag d;
    int rc = TS_EFULL;
    if (rw->options->cache) rc = run_cache_profile(rw->options->cache, path, &profile, &d);
    if (rc == TS_EFULL) {
      rc = ts_os_profile_load_file(path, &loaded, &d);
      profile = loaded;
    }
    if (rc) {
      char msg[700];
      ts_diag_format(&d, msg, sizeof msg);
      return run_fail(rw, rc, "phone os '%s': %s (profiles live in %s/os; set TUNNELSIM_MODELS "
                      "to another models folder)", os, msg, models_dir(rw));
    }
  }
  /* The scenario's OS quirks override the profile's (a copy: cached profiles are shared). */
  ts_os_profile *tuned = NULL;
  bool os_quirks = false;
  for (size_t i = 0; i < sp->quirk_count; i++) os_quirks |= !sp->quirks[i].lifecycle;
  int rc = TS_OK;
  if (os_quirks) {
    rc = profile ? ts_os_profile_copy(&tuned, profile) : ts_os_profile_create(&tuned, "ios");
    for (size_t i = 0; !rc && i < sp->quirk_count; i++)
      if (!sp->quirks[i].lifecycle)
        rc = ts_os_profile_set_quirk(tuned, (ts_os_quirk)sp->quirks[i].id, sp->quirks[i].value,
                                     TS_SRC_NONE);
    if (rc) {
      ts_os_profile_destroy(tuned);
      ts_os_profile_destroy(loaded);
      return run_fail(rw, rc, "phone quirks: %s", ts_strerror(rc));
    }
    profile = tuned;
  }
  ts_phone_config pc = {.name = sp->name, .profile = profile};
  rc = ts_phone_create(rw->world, &pc, &rw->phone); /* copies the profile */
  ts_os_profile_destroy(tuned);
  ts_os_profile_destroy(loaded);
  return rc;
}

static int attach_iface(struct run_world *rw, ts_scenario_phone_if which) {
  const ts_scenario *s = rw->scenario;
  const ts_scenario_phone_iface *pi = &s->phone.ifaces[which];
  if (!pi->configured) return TS_OK;
  const char *ifname = phone_ifname[which];
  const ts_scenario_link *sl = &s->links[pi->link];
  if (pi->ssid[0]) ts_phone_set_wifi_ssid(rw->phone, pi->ssid);
  const ts_scenario_endpoint *e = &sl->endpoints[0];
  ts_link_params lp = {.delay = sl->delay, .jitter = sl->jitter, .loss = sl->loss,
                       .rate_bps = sl->rate_bps, .mtu = sl->mtu, .queue_limit = sl->queue_packets,
                       .up = sl->up};
  int rc = ts_phone_attach(rw->phone, ifname, rw->net, rw->hosts[e->node], (uint32_t)e->iface, &lp,
                           &rw->links[pi->link]);
  if (rc) return run_fail(rw, rc, "phone %s on link '%s': %s", ifname, sl->name, ts_strerror(rc));
  if (pi->dhcp) {
    /* The phone's DHCP client starts at time 0; until it is bound the interface is
     * up without an address (sends find no route and are dropped). */
    ts_dhcp_client_config dc;
    memset(&dc, 0, sizeof dc);
    dc.ifname = ifname;
    ts_dhcp_client *client;
    rc = ts_phone_iface_set_up(rw->phone, ifname, true);
    if (!rc) rc = ts_dhcp_client_create(rw->phone, &dc, &client);
    if (!rc) rc = ts_dhcp_client_start(client, 0);
    if (rc) return run_fail(rw, rc, "phone %s: the DHCP client: %s", ifname, ts_strerror(rc));
    return TS_OK;
  }
  ts_dhcp_lease lease;
  memset(&lease, 0, sizeof lease);
  lease.address = pi->address;
  if (pi->has_router) lease.router = pi->router;
  rc = ts_phone_iface_set_up(rw->phone, ifname, true);
  if (!rc) rc = ts_phone_apply_dhcp(rw->phone, ifname, &lease);
  return rc;
}

static int configure_vpn(struct run_world *rw) {
  const ts_scenario_vpn *v = &rw->scenario->phone.vpn;
  ts_vpn_config *cfg = ts_phone_vpn_config(rw->phone);
  int rc = ts_phone_vpn_set_enabled(rw->phone, v->enabled);
  for (int f = 0; !rc && f < TS_SCENARIO_FLAG_COUNT; f++) {
    if (v->flags[f] == TS_SCENARIO_DEFAULT) continue;
    int flag = ts_vpn_flag_find(ts_scenario_flag_apple_name(f));
    if (flag < 0) return run_fail(rw, TS_EINVAL, "unknown flag %s", ts_scenario_flag_name(f));
    rc = ts_vpn_config_set_flag(cfg, (ts_vpn_flag)flag, v->flags[f] == TS_SCENARIO_TRUE);
    if (rc == TS_ENOTSUP)
      return run_fail(rw, rc, "%s does not exist on %s (see models/os)", ts_scenario_flag_name(f),
                      rw->options->os ? rw->options->os
                      : rw->scenario->phone.os[0] ? rw->scenario->phone.os : "the default profile");
  }
  /* Without on-demand-rules, Mullvad's rule set: one Connect rule on any interface
   * (ios-model.md §1.7, TunnelConfiguration.swift). */
  static const ts_scenario_od_rule mullvad = {.action = TS_SCENARIO_OD_CONNECT,
                                              .interface = TS_SCENARIO_OD_ANY};
  size_t n = v->od_rule_count ? v->od_rule_count : 1;
  for (size_t i = 0; !rc && i < n; i++) {
    const ts_scenario_od_rule *sr = v->od_rule_count ? &v->od_rules[i] : &mullvad;
    ts_od_rule rule;
    memset(&rule, 0, sizeof rule);
    rule.action = (ts_od_action)sr->action;
    rule.interface_match = (ts_od_interface_match)sr->interface;
    for (size_t k = 0; k < sr->ssid_count; k++) memcpy(rule.ssids[k], sr->ssids[k], TS_VPN_SSID_MAX);
    rule.ssid_count = sr->ssid_count;
    rc = ts_vpn_config_add_on_demand_rule(cfg, &rule);
  }
  if (!rc) ts_vpn_config_set_on_demand(cfg, v->on_demand);
  return rc;
}

static void fill_settings(const struct run_world *rw, ts_vpn_settings *st) {
  const ts_scenario_vpn *v = &rw->scenario->phone.vpn;
  ts_vpn_settings_init(st);
  st->tunnel_remote_address = rw->relay_addrs[v->relay];
  for (size_t i = 0; i < v->tunnel_address_count; i++) ts_vpn_settings_add_address(st, &v->tunnel_addresses[i]);
  for (size_t i = 0; i < v->included_route_count; i++) ts_vpn_settings_include(st, &v->included_routes[i]);
  for (size_t i = 0; i < v->excluded_route_count; i++) ts_vpn_settings_exclude(st, &v->excluded_routes[i]);
  for (size_t i = 0; i < v->dns_count; i++) ts_vpn_settings_add_dns(st, &v->dns[i]);
}

static ts_monitor_path monitor_path(ts_scenario_monitor_path p) {
  switch (p) {
  case TS_SCENARIO_MONITOR_NWCONNECTION_VIRTUAL: return TS_MONITOR_PATH_NW_VIRTUAL;
  case TS_SCENARIO_MONITOR_ENGINE_DIRECT: return TS_MONITOR_PATH_ENGINE;
  case TS_SCENARIO_MONITOR_USERSPACE_NETSTACK: return TS_MONITOR_PATH_USERSPACE_NETSTACK;
  default: return TS_MONITOR_PATH_BSD_UTUN;
  }
}

static ts_neg_path neg_path(ts_scenario_neg_path p) {
  switch (p) {
  case TS_SCENARIO_NEG_NWCONNECTION_VIRTUAL: return TS_NEG_PATH_NWCONNECTION_VIRTUAL;
  case TS_SCENARIO_NEG_USERSPACE_NETSTACK: return TS_NEG_PATH_NETSTACK;
  default: return TS_NEG_PATH_NWTCPCONNECTION;
  }
}

static void fill_negotiation(const struct run_world *rw, const ts_scenario_negotiation *n,
                             ts_neg_config *nc) {
  ts_neg_config_default(nc);
  if (!n->configured) return;
  nc->enabled = true;
  nc->path = neg_path(n->path);
  nc->gateway = rw->scenario->relays[rw->scenario->phone.vpn.relay].gateway;
  nc->port = n->port;
  nc->timeout_initial = n->timeout_initial;
  nc->timeout_max = n->timeout_max;
  nc->max_retries = n->max_retries;
  nc->on_exhausted = n->give_up ? TS_NEG_EXHAUSTED_ERROR_STATE : TS_NEG_EXHAUSTED_CYCLE;
}

static void fill_monitor(const ts_scenario_monitor *m, ts_monitor_config *mc) {
  mc->path = monitor_path(m->path);
  mc->target = m->target;
  mc->payload_size = m->size;
  ts_monitor_timings_default(&mc->timings);
  mc->timings.check_interval = m->check_interval;
  mc->timings.ping_delay = m->ping_delay;
  mc->timings.initial_establish_timeout = m->establish_timeout;
  mc->timings.establish_timeout_multiplier = m->establish_timeout_multiplier;
  mc->timings.ping_timeout = m->ping_timeout;
  mc->timings.heartbeat_interval = m->heartbeat_interval;
  mc->timings.heartbeat_reply_timeout = m->heartbeat_reply_timeout;
}

static int create_provider(struct run_world *rw) {
  const ts_scenario *s = rw->scenario;
  const ts_scenario_vpn *v = &s->phone.vpn;
  ts_provider_config c;
  memset(&c, 0, sizeof c);
  memcpy(c.private_key, rw->phone_private, 32);
  c.public_key = rw->phone_public;
  c.static_static = rw->static_static; /* computed with the relay (build_net.c) */
  memcpy(c.relay_public_key, rw->relay_public[v->relay], 32);
  c.relay = rw->relay_addrs[v->relay];
  c.relay_port = s->relays[v->relay].port;
  c.persistent_keepalive_s = v->persistent_keepalive;
  fill_settings(rw, &c.settings);
  c.settings_delay = v->settings_delay;
  c.completion = (ts_provider_completion)v->completion;
  c.error_mode = (ts_provider_error_mode)v->error_state;
  c.on_loss = (ts_provider_on_loss)v->on_loss;
  c.use_monitor = v->monitor.configured;
  if (c.use_monitor) fill_monitor(&v->monitor, &c.monitor);
  c.start_blocks = v->start_blocks;
  c.settings_never_complete = v->settings_never_complete;
  c.settings_timeout = v->settings_timeout;
  c.stop_never_completes = v->stop_never_completes;
  c.memory = v->memory;
  c.memory_on_connect = v->memory_on_connect;
  c.needs_keychain = v->needs_keychain;
  c.keychain_locked = (ts_provider_keychain_locked)v->keychain_locked;
  fill_negotiation(rw, &v->negotiation, &c.negotiation);
  int rc = ts_provider_create(rw->phone, &c, &rw->provider);
  if (rc == TS_ENOTSUP && v->negotiation.configured)
    return run_fail(rw, rc, "the VPN provider: negotiation path %s does not exist on this OS "
                    "profile (see models/os)", ts_scenario_neg_path_name(v->negotiation.path));
  if (rc) return run_fail(rw, rc, "the VPN provider: %s", ts_strerror(rc));
  return TS_OK;
}

static ts_phone_app_kind phone_app_kind(const ts_scenario_phone_app *a) {
  switch (a->type) {
  case TS_SCENARIO_PHONE_UDP: return TS_PHONE_APP_UDP_REQUEST;
  case TS_SCENARIO_PHONE_TCP: return a->long_lived ? TS_PHONE_APP_TCP_LONG : TS_PHONE_APP_TCP_SHORT;
  case TS_SCENARIO_PHONE_DNS: return TS_PHONE_APP_DNS;
  default: return TS_PHONE_APP_PING;
  }
}

static int add_apps(struct run_world *rw) {
  const ts_scenario_phone *sp = &rw->scenario->phone;
  for (size_t i = 0; i < sp->app_count; i++) {
    const ts_scenario_phone_app *a = &sp->apps[i];
    ts_phone_app_config c;
    memset(&c, 0, sizeof c);
    c.name = a->name;
    c.kind = phone_app_kind(a);
    c.owner = (ts_traffic_class)a->traffic_class;
    c.api = a->api == TS_SCENARIO_API_NWCONNECTION ? TS_SOCK_NWCONNECTION : TS_SOCK_BSD;
    const char *scope = a->scope == TS_SCENARIO_SCOPE_WIFI       ? "en0"
                        : a->scope == TS_SCENARIO_SCOPE_CELLULAR ? "pdp_ip0"
                        : a->scope == TS_SCENARIO_SCOPE_VIRTUAL_INTERFACE ? "utun0"
                                                                          : NULL;
    if (c.api == TS_SOCK_BSD) c.bound_if = scope;
    else c.required_if = scope;
    c.target = a->target;
    if (a->type == TS_SCENARIO_PHONE_DNS) {
      /* The interface's resolver, used whenever the tunnel's DNS settings are not. */
      const ts_scenario_phone_iface *pi = &sp->ifaces[sp->primary];
      c.query_name = a->target_name;
      memset(&c.target, 0, sizeof c.target);
      if (pi->dns_count) c.target = pi->dns[0];
    }
    c.port = a->port;
    c.start = a->start;
    c.interval = a->interval;
    c.count = a->count;
    c.size = a->size;
    int rc = ts_phone_add_app(rw->phone, &c, &rw->phone_apps[i]);
    if (rc) return run_fail(rw, rc, "phone app '%s': %s", a->name, ts_strerror(rc));
  }
  return TS_OK;
}

/* The oracle sees what the phone sends; the byte-only observer sits at the other end
 * of the phone's Wi-Fi link, where an access point would. */
static int watch(struct run_world *rw) {
  const ts_scenario *s = rw->scenario;
  int rc = ts_leak_oracle_create(rw->world, &rw->oracle);
  if (!rc) rc = ts_phone_watch_leaks(rw->phone, rw->oracle);
  const ts_scenario_phone_iface *wifi = &s->phone.ifaces[TS_SCENARIO_WIFI];
  if (!rc && wifi->configured) rc = ts_wire_observer_create(rw->world, rw->links[wifi->link], 1, &rw->wire);
  for (size_t i = 0; !rc && i < s->relay_count; i++) {
    ts_relay_endpoint ep = {rw->relay_addrs[i], s->relays[i].port};
    rc = ts_leak_oracle_add_relay(rw->oracle, &ep);
    if (!rc && rw->wire) rc = ts_wire_observer_add_relay(rw->wire, &ep);
  }
  return rc;
}

int run_build_phone(struct run_world *rw) {
  const ts_scenario *s = rw->scenario;
  if (!s->has_phone) return TS_OK;
  int rc = create_phone(rw);
  if (!rc) rc = attach_iface(rw, TS_SCENARIO_WIFI);
  if (!rc) rc = attach_iface(rw, TS_SCENARIO_CELLULAR);
  if (!rc) rc = ts_phone_set_primary(rw->phone, phone_ifname[s->phone.primary]);
  if (!rc && s->phone.vpn.configured) {
    rc = configure_vpn(rw);
    if (!rc) rc = create_provider(rw);
  }
  if (!rc) rc = add_apps(rw);
  if (!rc) rc = watch(rw);
  if (!rc) rc = run_build_lifecycle(rw);
  return rc;
}
