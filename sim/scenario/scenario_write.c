/* Everything that turns a loaded scenario back into text, plus freeing and lookups.
 * The writer emits canonical YAML: fixed key order, every value explicit, strings
 * double-quoted, numbers in their shortest exact form. Loading its output gives an
 * equal scenario, and writing that again gives the same bytes (the tests and the
 * fuzz target check both). */
#include <stdlib.h>
#include <string.h>

#include "scenario.h"
#include "ts_os_model.h"
#include "ts_vpn_session.h"
#include "scenario_values.h"

int ts_diag_format(const ts_diag *d, char *buf, size_t n) {
  if (!d) return snprintf(buf, n, "(no diagnostic)");
  if (d->line > 0) return snprintf(buf, n, "%s:%d:%d: %s", d->file, d->line, d->col, d->message);
  return snprintf(buf, n, "%s: %s", d->file, d->message);
}

void ts_scenario_free(ts_scenario *s) {
  if (!s) return;
  for (size_t i = 0; i < s->node_count; i++) {
    ts_scenario_node *node = &s->nodes[i];
    for (size_t j = 0; j < node->interface_count; j++) free(node->interfaces[j].addresses);
    free(node->interfaces);
  }
  for (size_t i = 0; i < s->node_count; i++) free(s->nodes[i].routes);
  free(s->nodes);
  for (size_t i = 0; i < s->dns_server_count; i++) {
    free(s->dns_servers[i].records);
    free(s->dns_servers[i].spoofs);
  }
  free(s->relays);
  free(s->dhcp_servers);
  free(s->dns_servers);
  free(s->phone.apps);
  free(s->links);
  free(s->apps);
  free(s->timeline);
  free(s->description);
  free(s);
}

size_t ts_scenario_find_node(const ts_scenario *s, const char *name) {
  for (size_t i = 0; s && name && i < s->node_count; i++) {
    if (strcmp(s->nodes[i].name, name) == 0) return i;
  }
  return TS_SCENARIO_NONE;
}

size_t ts_scenario_find_link(const ts_scenario *s, const char *name) {
  for (size_t i = 0; s && name && i < s->link_count; i++) {
    if (strcmp(s->links[i].name, name) == 0) return i;
  }
  return TS_SCENARIO_NONE;
}

size_t ts_scenario_find_app(const ts_scenario *s, const char *name) {
  for (size_t i = 0; s && name && i < s->app_count; i++) {
    if (strcmp(s->apps[i].name, name) == 0) return i;
  }
  return TS_SCENARIO_NONE;
}

size_t ts_scenario_find_relay(const ts_scenario *s, const char *name) {
  for (size_t i = 0; s && name && i < s->relay_count; i++) {
    if (strcmp(s->relays[i].name, name) == 0) return i;
  }
  return TS_SCENARIO_NONE;
}

size_t ts_scenario_find_phone_app(const ts_scenario *s, const char *name) {
  for (size_t i = 0; s && name && s->has_phone && i < s->phone.app_count; i++) {
    if (strcmp(s->phone.apps[i].name, name) == 0) return i;
  }
  return TS_SCENARIO_NONE;
}

/* A YAML double-quoted string. Control characters, and the Unicode characters
 * that YAML 1.1 readers take as line breaks, are escaped so the value survives. */
static void write_quoted(FILE *f, const char *s) {
  fputc('"', f);
  for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
    if (*p == '"' || *p == '\\') {
      fprintf(f, "\\%c", *p);
    } else if (*p == '\n' || *p == '\t' || *p == '\r') {
      fprintf(f, "\\%c", *p == '\n' ? 'n' : *p == '\t' ? 't' : 'r');
    } else if (*p < 0x20 || *p == 0x7f) {
      fprintf(f, "\\x%02x", *p);
    } else if (p[0] == 0xc2 && p[1] == 0x85) {
      fputs("\\N", f); /* U+0085 next line */
      p++;
    } else if (p[0] == 0xe2 && p[1] == 0x80 && (p[2] == 0xa8 || p[2] == 0xa9)) {
      fputs(p[2] == 0xa8 ? "\\L" : "\\P", f); /* U+2028, U+2029 */
      p += 2;
    } else if (p[0] == 0xef && p[1] == 0xbb && p[2] == 0xbf) {
      fputs("\\uFEFF", f); /* a byte order mark would be dropped by readers */
      p += 2;
    } else {
      fputc(*p, f);
    }
  }
  fputc('"', f);
}

static void write_duration(FILE *f, const char *indent, const char *key, ts_time t) {
  char buf[40];
  ts_format_duration(t, buf, sizeof buf);
  fprintf(f, "%s%s: %s\n", indent, key, buf);
}

static void write_address(FILE *f, const ts_ipprefix *a, bool with_prefix) {
  char buf[64];
  if (ts_ipprefix_format(a, with_prefix, buf, sizeof buf) < 0) buf[0] = '\0';
  fprintf(f, "\"%s\"", buf);
}

static void write_plain(FILE *f, const ts_ipaddr *a) {
  ts_ipprefix p = {*a, (uint8_t)(a->family == 6 ? 128 : 32)};
  write_address(f, &p, false);
}

static void write_prefix_list(FILE *f, const ts_ipprefix *a, size_t n) {
  fputc('[', f);
  for (size_t i = 0; i < n; i++) {
    if (i) fputs(", ", f);
    write_address(f, &a[i], true);
  }
  fputc(']', f);
}

static void write_plain_list(FILE *f, const ts_ipaddr *a, size_t n) {
  fputc('[', f);
  for (size_t i = 0; i < n; i++) {
    if (i) fputs(", ", f);
    write_plain(f, &a[i]);
  }
  fputc(']', f);
}

static void write_nodes(FILE *f, const ts_scenario *s) {
  fputs("nodes:\n", f);
  for (size_t i = 0; i < s->node_count; i++) {
    const ts_scenario_node *node = &s->nodes[i];
    fputs("  - name: ", f);
    write_quoted(f, node->name);
    fputs(node->interface_count ? "\n    interfaces:\n" : "\n    interfaces: []\n", f);
    for (size_t j = 0; j < node->interface_count; j++) {
      const ts_scenario_iface *iface = &node->interfaces[j];
      fputs("      - name: ", f);
      write_quoted(f, iface->name);
      fputs("\n        addresses: [", f);
      for (size_t k = 0; k < iface->address_count; k++) {
        if (k) fputs(", ", f);
        write_address(f, &iface->addresses[k], true);
      }
      fputs("]\n", f);
    }
    fprintf(f, "    forwarding: %s\n", node->forwarding ? "true" : "false");
    fputs(node->route_count ? "    routes:\n" : "    routes: []\n", f);
    for (size_t j = 0; j < node->route_count; j++) {
      fputs("      - to: ", f);
      write_address(f, &node->routes[j].to, true);
      fputs("\n        via: ", f);
      write_quoted(f, node->interfaces[node->routes[j].iface].name);
      fputc('\n', f);
    }
  }
}

static void write_endpoint(FILE *f, const ts_scenario *s, const ts_scenario_endpoint *ep) {
  const ts_scenario_node *node = &s->nodes[ep->node];
  fprintf(f, "\"%s/%s\"", node->name, node->interfaces[ep->iface].name);
}

static void write_links(FILE *f, const ts_scenario *s) {
  fputs(s->link_count ? "links:\n" : "links: []\n", f);
  for (size_t i = 0; i < s->link_count; i++) {
    const ts_scenario_link *link = &s->links[i];
    char buf[64];
    fputs("  - name: ", f);
    write_quoted(f, link->name);
    fputs("\n    endpoints: [", f);
    write_endpoint(f, s, &link->endpoints[0]);
    if (!link->to_phone) {
      fputs(", ", f);
      write_endpoint(f, s, &link->endpoints[1]);
    }
    fputs("]\n", f);
    write_duration(f, "    ", "delay", link->delay);
    write_duration(f, "    ", "jitter", link->jitter);
    tsv_format_probability(link->loss, buf, sizeof buf);
    fprintf(f, "    loss: %s\n", buf);
    tsv_format_rate(link->rate_bps, buf, sizeof buf);
    fprintf(f, "    rate: %s\n", buf);
    fprintf(f, "    mtu: %u\n    queue: %u\n    up: %s\n", (unsigned)link->mtu,
            (unsigned)link->queue_packets, link->up ? "true" : "false");
  }
}

static void write_apps(FILE *f, const ts_scenario *s) {
  fputs(s->app_count ? "apps:\n" : "apps: []\n", f);
  for (size_t i = 0; i < s->app_count; i++) {
    const ts_scenario_app *app = &s->apps[i];
    bool sends = app->type == TS_APP_PING || app->type == TS_APP_UDP_ECHO_CLIENT;
    fputs("  - name: ", f);
    write_quoted(f, app->name);
    const char *type = ts_scenario_app_type_name(app->type);
    fprintf(f, "\n    type: %s\n    node: ", type ? type : "?");
    write_quoted(f, s->nodes[app->node].name);
    fputc('\n', f);
    if (app->has_target) {
      fputs("    target: ", f);
      write_address(f, &app->target, false);
      fputc('\n', f);
    }
    if (app->type != TS_APP_PING) fprintf(f, "    port: %u\n", (unsigned)app->port);
    write_duration(f, "    ", "start", app->start);
    if (sends) {
      write_duration(f, "    ", "interval", app->interval);
      fprintf(f, "    count: %u\n    size: %u\n", (unsigned)app->count, (unsigned)app->size);
    }
  }
}

static void write_relays(FILE *f, const ts_scenario *s) {
  fputs(s->relay_count ? "relays:\n" : "relays: []\n", f);
  for (size_t i = 0; i < s->relay_count; i++) {
    const ts_scenario_relay *r = &s->relays[i];
    fputs("  - name: ", f);
    write_quoted(f, r->name);
    fputs("\n    node: ", f);
    write_quoted(f, s->nodes[r->node].name);
    fprintf(f, "\n    port: %u\n    gateway: ", (unsigned)r->port);
    write_plain(f, &r->gateway);
    fputc('\n', f);
    if (r->hostname[0]) fprintf(f, "    hostname: \"%s\"\n", r->hostname);
    fprintf(f, "    negotiation: %s\n", r->negotiation ? "true" : "false");
  }
}

static void write_dhcp_servers(FILE *f, const ts_scenario *s) {
  fputs(s->dhcp_server_count ? "dhcp-servers:\n" : "dhcp-servers: []\n", f);
  for (size_t i = 0; i < s->dhcp_server_count; i++) {
    const ts_scenario_dhcp_server *d = &s->dhcp_servers[i];
    const ts_scenario_node *node = &s->nodes[d->node];
    fputs("  - node: ", f);
    write_quoted(f, node->name);
    fputs("\n    interface: ", f);
    write_quoted(f, node->interfaces[d->iface].name);
    char a[64], b[64];
    ts_ipprefix pa = {d->pool_first, 32}, pb = {d->pool_last, 32};
    ts_ipprefix_format(&pa, false, a, sizeof a);
    ts_ipprefix_format(&pb, false, b, sizeof b);
    fprintf(f, "\n    pool: \"%s-%s\"\n    prefix: %u\n", a, b, (unsigned)d->prefix_len);
    if (d->has_router) {
      fputs("    router: ", f);
      write_plain(f, &d->router);
      fputc('\n', f);
    }
    fputs("    dns: ", f);
    write_plain_list(f, d->dns, d->dns_count);
    fputc('\n', f);
    write_duration(f, "    ", "lease", d->lease);
    fputs(d->route_count ? "    routes:\n" : "    routes: []\n", f);
    for (size_t j = 0; j < d->route_count; j++) {
      fputs("      - to: ", f);
      write_address(f, &d->routes[j].to, true);
      fputs("\n        via: ", f);
      write_plain(f, &d->routes[j].via);
      fputc('\n', f);
    }
  }
}

static void write_dns_table(FILE *f, const char *key, const ts_scenario_dns_entry *e, size_t n) {
  fprintf(f, n ? "    %s:\n" : "    %s: {}\n", key);
  for (size_t i = 0; i < n;) {
    size_t j = i;
    fprintf(f, "      \"%s\": [", e[i].name);
    for (; j < n && strcmp(e[j].name, e[i].name) == 0; j++) {
      if (j > i) fputs(", ", f);
      write_plain(f, &e[j].addr);
    }
    fputs("]\n", f);
    i = j;
  }
}

static void write_dns_servers(FILE *f, const ts_scenario *s) {
  fputs(s->dns_server_count ? "dns-servers:\n" : "dns-servers: []\n", f);
  for (size_t i = 0; i < s->dns_server_count; i++) {
    const ts_scenario_dns_server *d = &s->dns_servers[i];
    fputs("  - node: ", f);
    write_quoted(f, s->nodes[d->node].name);
    fputc('\n', f);
    write_duration(f, "    ", "ttl", d->ttl);
    write_dns_table(f, "records", d->records, d->record_count);
    write_dns_table(f, "spoof", d->spoofs, d->spoof_count);
  }
}

static const char *yes(bool b) { return b ? "true" : "false"; }

static void write_monitor(FILE *f, const ts_scenario_monitor *m) {
  fprintf(f, "    monitor:\n      path: %s\n      target: ",
          ts_scenario_monitor_path_name(m->path));
  write_plain(f, &m->target);
  fprintf(f, "\n      size: %u\n", (unsigned)m->size);
  write_duration(f, "      ", "check-interval", m->check_interval);
  write_duration(f, "      ", "ping-delay", m->ping_delay);
  write_duration(f, "      ", "establish-timeout", m->establish_timeout);
  fprintf(f, "      establish-timeout-multiplier: %u\n", (unsigned)m->establish_timeout_multiplier);
  write_duration(f, "      ", "ping-timeout", m->ping_timeout);
  write_duration(f, "      ", "heartbeat-interval", m->heartbeat_interval);
  write_duration(f, "      ", "heartbeat-reply-timeout", m->heartbeat_reply_timeout);
}

static void write_vpn(FILE *f, const ts_scenario *s, const ts_scenario_vpn *v) {
  fprintf(f, "  vpn:\n    enabled: %s\n", yes(v->enabled));
  for (int i = 0; i < TS_SCENARIO_FLAG_COUNT; i++) {
    if (v->flags[i] != TS_SCENARIO_DEFAULT)
      fprintf(f, "    %s: %s\n", ts_scenario_flag_name(i), yes(v->flags[i] == TS_SCENARIO_TRUE));
  }
  fputs("    relay: ", f);
  write_quoted(f, s->relays[v->relay].name);
  fputs("\n    tunnel-addresses: ", f);
  write_prefix_list(f, v->tunnel_addresses, v->tunnel_address_count);
  fputs("\n    included-routes: ", f);
  write_prefix_list(f, v->included_routes, v->included_route_count);
  fputs("\n    excluded-routes: ", f);
  write_prefix_list(f, v->excluded_routes, v->excluded_route_count);
  fputs("\n    dns: ", f);
  write_plain_list(f, v->dns, v->dns_count);
  fprintf(f, "\n    on-demand: %s\n", yes(v->on_demand));
  if (v->od_rule_count) fputs("    on-demand-rules:\n", f);
  for (size_t i = 0; i < v->od_rule_count; i++) {
    const ts_scenario_od_rule *r = &v->od_rules[i];
    fprintf(f, "      - action: %s\n        interface: %s\n", ts_scenario_od_action_name(r->action),
            ts_scenario_od_interface_name(r->interface));
    if (!r->ssid_count) continue;
    fputs("        ssids: [", f);
    for (size_t k = 0; k < r->ssid_count; k++) {
      if (k) fputs(", ", f);
      write_quoted(f, r->ssids[k]);
    }
    fputs("]\n", f);
  }
  if (v->has_connect_at) write_duration(f, "    ", "connect-at", v->connect_at);
  fprintf(f, "    error-state: %s\n    completion: %s\n",
          ts_scenario_error_state_name(v->error_state), ts_scenario_completion_name(v->completion));
  write_duration(f, "    ", "settings-delay", v->settings_delay);
  write_duration(f, "    ", "persistent-keepalive", (ts_time)v->persistent_keepalive * TS_SEC);
  fprintf(f, "    on-loss: %s\n", ts_scenario_on_loss_name(v->on_loss));
  if (v->monitor.configured) write_monitor(f, &v->monitor);
  if (v->negotiation.configured) {
    const ts_scenario_negotiation *n = &v->negotiation;
    fprintf(f, "    negotiation:\n      path: %s\n      port: %u\n", ts_scenario_neg_path_name(n->path),
            n->port);
    write_duration(f, "      ", "timeout-initial", n->timeout_initial);
    write_duration(f, "      ", "timeout-max", n->timeout_max);
    fprintf(f, "      max-retries: %u\n      give-up: %s\n", n->max_retries, yes(n->give_up));
  }
  fprintf(f, "    start-blocks: %s\n    settings-never-complete: %s\n", yes(v->start_blocks),
          yes(v->settings_never_complete));
  write_duration(f, "    ", "settings-timeout", v->settings_timeout);
  fprintf(f, "    stop-never-completes: %s\n    memory: %u\n    memory-on-connect: %u\n"
             "    needs-keychain: %s\n    keychain-locked: %s\n",
          yes(v->stop_never_completes), v->memory, v->memory_on_connect, yes(v->needs_keychain),
          ts_scenario_keychain_name(v->keychain_locked));
}

static void write_appstore(FILE *f, const ts_scenario *s, const ts_scenario_appstore *a) {
  fputs("  appstore:\n    server: ", f);
  write_quoted(f, s->nodes[a->server].name);
  fprintf(f, "\n    port: %u\n    size: %u\n", a->port, a->size);
  write_duration(f, "    ", "attempt-timeout", a->attempt_timeout);
  write_duration(f, "    ", "backoff-initial", a->backoff_initial);
  write_duration(f, "    ", "backoff-max", a->backoff_max);
  write_duration(f, "    ", "install", a->install);
  fprintf(f, "    automatic: %s\n", yes(a->automatic));
  write_duration(f, "    ", "retry-after-boot", a->retry_after_boot);
  fprintf(f, "    schema-change: %s\n", yes(a->schema_change));
}

static void write_quirks(FILE *f, const ts_scenario_phone *ph) {
  if (!ph->quirk_count) return;
  fputs("  quirks:\n", f);
  for (size_t i = 0; i < ph->quirk_count; i++) {
    const ts_scenario_quirk *q = &ph->quirks[i];
    const char *value = NULL;
    if (q->lifecycle) value = ts_vpn_lifecycle_quirk_get((ts_vpn_lifecycle_quirk)q->id)->values[0]
                                  ? ts_vpn_lifecycle_quirk_get((ts_vpn_lifecycle_quirk)q->id)->values[q->value]
                                  : NULL;
    else value = ts_os_quirk_get((ts_os_quirk)q->id)->values[0]
                     ? ts_os_quirk_value_name((ts_os_quirk)q->id, q->value) : NULL;
    fprintf(f, "    %s: %s\n", q->name, value ? value : yes(q->value != 0));
  }
}

static void write_phone_iface(FILE *f, const ts_scenario *s, int which) {
  const ts_scenario_phone_iface *pi = &s->phone.ifaces[which];
  if (!pi->configured) return;
  fprintf(f, "  %s:\n    link: ", ts_scenario_phone_if_name(which));
  write_quoted(f, s->links[pi->link].name);
  fputc('\n', f);
  if (which == TS_SCENARIO_WIFI) fprintf(f, "    dhcp: %s\n", yes(pi->dhcp));
  if (pi->ssid[0]) {
    fputs("    ssid: ", f);
    write_quoted(f, pi->ssid);
    fputc('\n', f);
  }
  if (pi->has_address) {
    fputs("    address: ", f);
    write_address(f, &pi->address, true);
    fputc('\n', f);
  }
  if (pi->has_router) {
    fputs("    router: ", f);
    write_plain(f, &pi->router);
    fputc('\n', f);
  }
  if (!pi->dhcp) {
    fputs("    dns: ", f);
    write_plain_list(f, pi->dns, pi->dns_count);
    fputc('\n', f);
  }
}

static void write_phone_apps(FILE *f, const ts_scenario_phone *ph) {
  fputs(ph->app_count ? "  apps:\n" : "  apps: []\n", f);
  for (size_t i = 0; i < ph->app_count; i++) {
    const ts_scenario_phone_app *a = &ph->apps[i];
    fputs("    - name: ", f);
    write_quoted(f, a->name);
    fprintf(f, "\n      type: %s\n      class: %s\n      api: %s\n      scope: %s\n",
            ts_scenario_phone_app_type_name(a->type), ts_scenario_traffic_class_name(a->traffic_class),
            ts_scenario_api_name(a->api), ts_scenario_scope_name(a->scope));
    if (a->type == TS_SCENARIO_PHONE_DNS) {
      fprintf(f, "      target: \"%s\"\n", a->target_name);
    } else {
      fputs("      target: ", f);
      write_plain(f, &a->target);
      fputc('\n', f);
    }
    if (a->type == TS_SCENARIO_PHONE_UDP || a->type == TS_SCENARIO_PHONE_TCP)
      fprintf(f, "      port: %u\n", (unsigned)a->port);
    write_duration(f, "      ", "start", a->start);
    write_duration(f, "      ", "interval", a->interval);
    fprintf(f, "      count: %u\n", (unsigned)a->count);
    if (a->type != TS_SCENARIO_PHONE_DNS) fprintf(f, "      size: %u\n", (unsigned)a->size);
    if (a->type == TS_SCENARIO_PHONE_TCP) fprintf(f, "      long-lived: %s\n", yes(a->long_lived));
  }
}

static void write_phone(FILE *f, const ts_scenario *s) {
  if (!s->has_phone) return;
  const ts_scenario_phone *ph = &s->phone;
  fputs("phone:\n  name: ", f);
  write_quoted(f, ph->name);
  fputc('\n', f);
  if (ph->os[0]) {
    fputs("  os: ", f);
    write_quoted(f, ph->os);
    fputc('\n', f);
  }
  write_phone_iface(f, s, TS_SCENARIO_WIFI);
  write_phone_iface(f, s, TS_SCENARIO_CELLULAR);
  fprintf(f, "  primary: %s\n", ts_scenario_phone_if_name(ph->primary));
  if (ph->vpn.configured) write_vpn(f, s, &ph->vpn);
  write_phone_apps(f, ph);
  if (ph->appstore.configured) write_appstore(f, s, &ph->appstore);
  write_quirks(f, ph);
}

static void write_checks(FILE *f, const ts_scenario_checks *c) {
  if (!c->configured) return;
  fputs("checks:\n", f);
  if (c->has_heal) {
    write_duration(f, "  ", "heal-at", c->heal_at);
    write_duration(f, "  ", "deadline", c->deadline);
  }
  write_duration(f, "  ", "window", c->window);
  fprintf(f, "  recovery: %s\n", yes(c->recovery));
  write_duration(f, "  ", "horizon", c->horizon);
  fputs(c->obligation_count ? "  obligations:\n" : "  obligations: []\n", f);
  for (size_t i = 0; i < c->obligation_count; i++) {
    fprintf(f, "    - what: %s\n", ts_scenario_obligation_name(c->obligations[i].what));
    write_duration(f, "      ", "by", c->obligations[i].by);
  }
}

static void write_timeline(FILE *f, const ts_scenario *s) {
  fputs(s->timeline_count ? "timeline:\n" : "timeline: []\n", f);
  for (size_t i = 0; i < s->timeline_count; i++) {
    const ts_timeline_event *ev = &s->timeline[i];
    write_duration(f, "  - ", "at", ev->at);
    const char *action = ts_scenario_action_name(ev->action);
    fprintf(f, "    action: %s\n", action ? action : "?");
    if (ev->link != TS_SCENARIO_NONE) {
      fputs("    link: ", f);
      write_quoted(f, s->links[ev->link].name);
      fputc('\n', f);
    }
    switch (ev->action) {
      case TS_ACTION_VPN_CONNECT:
        fprintf(f, "    cause: %s\n", ts_scenario_start_cause_name(ev->cause));
        break;
      case TS_ACTION_VPN_DISCONNECT:
        fprintf(f, "    reason: %s\n", ts_scenario_stop_reason_name(ev->reason));
        break;
      case TS_ACTION_SWITCH_PRIMARY:
        fprintf(f, "    to: %s\n", ts_scenario_phone_if_name(ev->to));
        break;
      case TS_ACTION_REASSERT: write_duration(f, "    ", "duration", ev->duration); break;
      case TS_ACTION_SET_FLAG:
        fprintf(f, "    flag: %s\n    value: %s\n    reconnect: %s\n",
                ts_scenario_flag_name(ev->flag), yes(ev->value), yes(ev->reconnect));
        break;
      default: break;
    }
  }
}

int ts_scenario_write(const ts_scenario *s, FILE *f) {
  if (!s || !f) return TS_EINVAL;
  fprintf(f, "version: %d\nname: ", s->version);
  write_quoted(f, s->name);
  fputc('\n', f);
  if (s->description) {
    fputs("description: ", f);
    write_quoted(f, s->description);
    fputc('\n', f);
  }
  if (s->has_seed) fprintf(f, "seed: %llu\n", (unsigned long long)s->seed);
  if (s->has_duration) write_duration(f, "", "duration", s->duration);
  write_nodes(f, s);
  write_links(f, s);
  if (s->relay_count) write_relays(f, s);
  if (s->dhcp_server_count) write_dhcp_servers(f, s);
  if (s->dns_server_count) write_dns_servers(f, s);
  write_phone(f, s);
  write_checks(f, &s->checks);
  write_apps(f, s);
  write_timeline(f, s);
  return ferror(f) ? TS_EIO : 0;
}
