/* The network of a scenario: hosts (routers included), links, node apps, relays,
 * DHCP and DNS servers. */
#include <sodium.h>
#include <stdio.h>
#include <string.h>

#include "run_internal.h"
#include "ts_dhcp.h"
#include "ts_dns.h"
#include "ts_tcp_server.h"

static ts_link_params link_params(const ts_scenario_link *l) {
  ts_link_params p = {0};
  p.delay = l->delay;
  p.jitter = l->jitter;
  p.loss = l->loss;
  p.rate_bps = l->rate_bps;
  p.mtu = l->mtu;
  p.queue_limit = l->queue_packets;
  p.up = l->up;
  return p;
}

static ts_app_kind app_kind(ts_app_type t) {
  switch (t) {
  case TS_APP_UDP_ECHO_SERVER: return TS_NET_APP_UDP_ECHO_SERVER;
  case TS_APP_UDP_ECHO_CLIENT: return TS_NET_APP_UDP_ECHO_CLIENT;
  default: return TS_NET_APP_PING;
  }
}

static int build_hosts(struct run_world *rw) {
  const ts_scenario *s = rw->scenario;
  for (size_t n = 0; n < s->node_count; n++) {
    const ts_scenario_node *node = &s->nodes[n];
    int rc = ts_net_add_host(rw->net, node->name, &rw->hosts[n]);
    if (rc) return rc;
    for (size_t i = 0; i < node->interface_count; i++) {
      const ts_scenario_iface *f = &node->interfaces[i];
      uint32_t count = f->address_count < TS_NET_MAX_ADDRESSES ? (uint32_t)f->address_count
                                                               : TS_NET_MAX_ADDRESSES;
      uint32_t id;
      rc = ts_host_add_interface(rw->hosts[n], f->name, f->addresses, count, &id);
      if (rc) return rc;
    }
    ts_host_set_forwarding(rw->hosts[n], node->forwarding);
    for (size_t r = 0; r < node->route_count; r++) {
      rc = ts_host_add_route(rw->hosts[n], &node->routes[r].to, (uint32_t)node->routes[r].iface);
      if (rc) return rc;
    }
  }
  return TS_OK;
}

static int build_links(struct run_world *rw) {
  const ts_scenario *s = rw->scenario;
  for (size_t l = 0; l < s->link_count; l++) {
    const ts_scenario_link *sl = &s->links[l];
    if (sl->to_phone) continue; /* attached when the phone is built */
    ts_link_params p = link_params(sl);
    const ts_scenario_endpoint *a = &sl->endpoints[0], *b = &sl->endpoints[1];
    int rc = ts_net_connect(rw->net, sl->name, &p, rw->hosts[a->node], (uint32_t)a->iface,
                            rw->hosts[b->node], (uint32_t)b->iface, &rw->links[l]);
    if (rc) return rc;
  }
  return TS_OK;
}

static int add_tcp_server(struct run_world *rw, const ts_scenario_app *sa) {
  ts_tcp_host **th = &rw->tcp_hosts[sa->node];
  int rc = *th ? TS_OK : ts_tcp_host_create(rw->hosts[sa->node], th);
  if (rc) return rc;
  ts_tcp_server_config c = {.name = sa->name, .port = sa->port,
                            .mode = sa->type == TS_APP_TCP_SERVER ? TS_TCP_SERVER_REQUEST
                                                                  : TS_TCP_SERVER_ECHO};
  ts_tcp_server *srv;
  rc = ts_tcp_server_create(*th, &c, &srv);
  if (rc) return run_fail(rw, rc, "tcp server '%s': %s", sa->name, ts_strerror(rc));
  return TS_OK;
}

static int build_node_apps(struct run_world *rw) {
  const ts_scenario *s = rw->scenario;
  for (size_t i = 0; i < s->app_count; i++) {
    const ts_scenario_app *sa = &s->apps[i];
    if (sa->type == TS_APP_TCP_SERVER || sa->type == TS_APP_TCP_ECHO_SERVER) {
      int rc = add_tcp_server(rw, sa);
      if (rc) return rc;
      continue;
    }
    ts_app_config c = {0};
    c.name = sa->name;
    c.kind = app_kind(sa->type);
    if (sa->has_target) c.target = sa->target.addr;
    c.port = sa->port;
    c.start = sa->start;
    c.interval = sa->interval;
    c.count = sa->count;
    c.size = sa->size;
    int rc = ts_net_add_app(rw->net, rw->hosts[sa->node], &c);
    if (rc) return rc;
  }
  return TS_OK;
}

int run_build_net(struct run_world *rw) {
  int rc = ts_net_create(rw->world, &rw->net);
  if (!rc) rc = build_hosts(rw);
  if (!rc) rc = build_links(rw);
  if (!rc) rc = build_node_apps(rw);
  return rc;
}

/* Keys come from the world's seed, one stream per owner, so a relay added to a
 * scenario does not change the phone's key. */
static void derive_key(struct run_world *rw, const char *owner, uint8_t priv[32], uint8_t pub[32]) {
  char stream[96];
  snprintf(stream, sizeof stream, "keys/%s", owner);
  ts_run_cache *cache = rw->options->cache;
  uint64_t seed = ts_world_seed(rw->world);
  if (cache && run_cache_get_key(cache, seed, stream, priv, pub)) return;
  ts_rng r;
  ts_world_rng(rw->world, stream, &r);
  ts_rng_fill(&r, priv, 32);
  wg_key_clamp(priv);
  wg_key_public_from_private(pub, priv);
  if (cache) run_cache_put_key(cache, seed, stream, priv, pub);
}

/* DH(phone, relay) is the same from both ends and depends on the keys alone: computed
 * once a run (or found in the cache) and handed to both engines. */
static int static_static(struct run_world *rw, size_t relay) {
  char stream[96];
  uint8_t unused[32];
  snprintf(stream, sizeof stream, "static-static/phone/%s", rw->scenario->relays[relay].name);
  ts_run_cache *cache = rw->options->cache;
  uint64_t seed = ts_world_seed(rw->world);
  if (cache && run_cache_get_key(cache, seed, stream, rw->static_static, unused)) return TS_OK;
  if (crypto_scalarmult_curve25519(rw->static_static, rw->relay_private[relay], rw->phone_public) != 0)
    return TS_EINVAL; /* low order: let the engine refuse it the usual way */
  memset(unused, 0, sizeof unused);
  if (cache) run_cache_put_key(cache, seed, stream, rw->static_static, unused);
  return TS_OK;
}

static int build_relays(struct run_world *rw) {
  const ts_scenario *s = rw->scenario;
  derive_key(rw, "phone", rw->phone_private, rw->phone_public);
  for (size_t i = 0; i < s->relay_count; i++) {
    const ts_scenario_relay *sr = &s->relays[i];
    ts_host *h = rw->hosts[sr->node];
    const ts_scenario_node *node = &s->nodes[sr->node];
    if (node->interface_count == 0 || node->interfaces[0].address_count == 0)
      return run_fail(rw, TS_EINVAL, "relay '%s': node '%s' has no address", sr->name, node->name);
    rw->relay_addrs[i] = node->interfaces[0].addresses[0].addr;
    ts_relay_config rc;
    memset(&rc, 0, sizeof rc);
    derive_key(rw, sr->name, rw->relay_private[i], rw->relay_public[i]);
    memcpy(rc.private_key, rw->relay_private[i], 32);
    rc.public_key = rw->relay_public[i];
    rc.port = sr->port;
    rc.gateway = sr->gateway;
    rc.negotiation = sr->negotiation;
    ts_relay_peer peer;
    memset(&peer, 0, sizeof peer);
    const ts_scenario_vpn *vpn = &s->phone.vpn;
    if (s->has_phone && vpn->configured && vpn->relay == i) {
      memcpy(peer.public_key, rw->phone_public, 32);
      if (static_static(rw, i) == TS_OK) peer.static_static = rw->static_static;
      for (size_t k = 0; k < vpn->tunnel_address_count && k < TS_RELAY_MAX_ALLOWED_IPS; k++)
        peer.allowed_ips[peer.allowed_ip_count++] = vpn->tunnel_addresses[k];
      rc.peers = &peer;
      rc.peer_count = 1;
    }
    int err = ts_relay_create(h, &rc, &rw->relays[i]);
    if (err) return run_fail(rw, err, "relay '%s' on '%s': %s", sr->name, node->name, ts_strerror(err));
  }
  return TS_OK;
}

static int build_dhcp(struct run_world *rw) {
  const ts_scenario *s = rw->scenario;
  for (size_t i = 0; i < s->dhcp_server_count; i++) {
    const ts_scenario_dhcp_server *d = &s->dhcp_servers[i];
    ts_dhcp_server_config c;
    memset(&c, 0, sizeof c);
    c.iface = (uint32_t)d->iface;
    c.pool_first = d->pool_first;
    c.pool_last = d->pool_last;
    c.prefix_len = d->prefix_len;
    if (d->has_router) c.router = d->router;
    for (size_t k = 0; k < d->dns_count && k < TS_DHCP_MAX_ADDRS; k++) c.dns[c.dns_count++] = d->dns[k];
    for (size_t k = 0; k < d->route_count && k < TS_DHCP_MAX_ROUTES; k++) {
      c.routes[k].dst = d->routes[k].to;
      c.routes[k].router = d->routes[k].via;
      c.route_count++;
    }
    c.lease_seconds = (uint32_t)(d->lease / TS_SEC);
    ts_dhcp_server *srv;
    int rc = ts_dhcp_server_create(rw->hosts[d->node], &c, &srv);
    if (rc) return run_fail(rw, rc, "DHCP server on '%s': %s", s->nodes[d->node].name, ts_strerror(rc));
  }
  return TS_OK;
}

static int build_dns(struct run_world *rw) {
  const ts_scenario *s = rw->scenario;
  for (size_t i = 0; i < s->dns_server_count; i++) {
    const ts_scenario_dns_server *d = &s->dns_servers[i];
    ts_dns_server *srv;
    int rc = ts_dns_server_create(rw->hosts[d->node], &srv);
    uint32_t ttl = (uint32_t)(d->ttl / TS_SEC);
    for (size_t k = 0; !rc && k < d->record_count; k++)
      rc = ts_dns_server_add(srv, d->records[k].name, &d->records[k].addr, ttl);
    for (size_t k = 0; !rc && k < d->spoof_count; k++)
      rc = ts_dns_server_spoof(srv, d->spoofs[k].name, &d->spoofs[k].addr, ttl);
    if (rc) return run_fail(rw, rc, "DNS server on '%s': %s", s->nodes[d->node].name, ts_strerror(rc));
  }
  return TS_OK;
}

int run_build_services(struct run_world *rw) {
  int rc = build_relays(rw);
  if (!rc) rc = build_dhcp(rw);
  if (!rc) rc = build_dns(rw);
  return rc;
}
