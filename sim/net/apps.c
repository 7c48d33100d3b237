/* The host's answers (ICMP echo) and the traffic apps. Requests carry their send time
 * in the first 8 payload bytes, as ping does, so a reply gives the round trip. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "net_internal.h"

#define ICMP4_ECHO_REQUEST 8
#define ICMP4_ECHO_REPLY 0
#define ICMP6_ECHO_REQUEST 128
#define ICMP6_ECHO_REPLY 129
#define CLIENT_PORT_BASE 40000
#define STAMP_LEN 8

static bool is_echo_request(const ts_ip_info *i) {
  return (i->proto == TS_IPPROTO_ICMP && i->icmp_type == ICMP4_ECHO_REQUEST) ||
         (i->proto == TS_IPPROTO_ICMPV6 && i->icmp_type == ICMP6_ECHO_REQUEST);
}

static bool is_echo_reply(const ts_ip_info *i) {
  return (i->proto == TS_IPPROTO_ICMP && i->icmp_type == ICMP4_ECHO_REPLY) ||
         (i->proto == TS_IPPROTO_ICMPV6 && i->icmp_type == ICMP6_ECHO_REPLY);
}

static void send_built(ts_host *h, ts_packet *out, uint32_t len) {
  if (len == 0) {
    ts_packet_free(ts_world_pool(h->net->world), out);
    return;
  }
  out->len = len;
  host_send(h, out);
}

static void answer_echo(ts_host *h, const ts_ip_info *in, const ts_packet *p) {
  const uint8_t *payload = p->data + in->l4_offset + TS_ICMP_ECHO_HEADER;
  uint32_t len = in->l4_len - TS_ICMP_ECHO_HEADER;
  ts_packet *out = ts_packet_alloc(ts_world_pool(h->net->world), TS_PACKET_SMALL);
  if (!out) return;
  if (len + TS_IPV6_HEADER + TS_ICMP_ECHO_HEADER > TS_PACKET_SMALL) {
    ts_packet_free(ts_world_pool(h->net->world), out);
    return; /* a jumbo echo is not worth a large buffer here */
  }
  send_built(h, out, ts_ip_build_echo(out->data, TS_PACKET_SMALL, &in->dst, &in->src, true,
                                      in->icmp_id, in->icmp_seq, payload, len));
}

static void note_reply(ts_net *net, struct net_app *a, const uint8_t *payload, uint32_t len) {
  a->stats.received++;
  if (len < STAMP_LEN) return;
  int64_t sent;
  memcpy(&sent, payload, STAMP_LEN);
  ts_time rtt = ts_world_now(net->world) - sent;
  if (a->stats.received == 1 || rtt < a->stats.rtt_min) a->stats.rtt_min = rtt;
  if (rtt > a->stats.rtt_max) a->stats.rtt_max = rtt;
  a->stats.rtt_sum += rtt;
}

static struct net_app *find_app(ts_net *net, ts_host *h, ts_app_kind kind, uint16_t ident) {
  for (uint32_t i = 0; i < net->app_count; i++) {
    struct net_app *a = net->apps[i];
    if (a->host == h && a->cfg.kind == kind && a->ident == ident) return a;
  }
  return NULL;
}

static void deliver_udp(ts_host *h, const ts_ip_info *in, const ts_packet *p) {
  if (in->l4_len < TS_UDP_HEADER) return;
  const uint8_t *payload = p->data + in->l4_offset + TS_UDP_HEADER;
  uint32_t len = in->l4_len - TS_UDP_HEADER;
  const struct udp_binding *b = host_udp_binding(h, in->dport);
  if (b) {
    b->fn(b->ctx, h, in, payload, len);
    return;
  }
  struct net_app *server = find_app(h->net, h, TS_NET_APP_UDP_ECHO_SERVER, in->dport);
  if (server) {
    ts_packet *out = ts_packet_alloc(ts_world_pool(h->net->world), TS_PACKET_SMALL);
    if (!out) return;
    server->stats.answered++;
    send_built(h, out, ts_ip_build_udp(out->data, TS_PACKET_SMALL, &in->dst, &in->src, in->dport,
                                       in->sport, payload, len));
    return;
  }
  struct net_app *client = find_app(h->net, h, TS_NET_APP_UDP_ECHO_CLIENT, in->dport);
  if (client) note_reply(h->net, client, payload, len);
}

void apps_deliver(ts_host *h, const ts_ip_info *in, const ts_packet *p) {
  bool broadcast = in->family == 4 && in->dst.bytes[0] == 255 && in->dst.bytes[1] == 255 &&
                   in->dst.bytes[2] == 255 && in->dst.bytes[3] == 255;
  /* Hosts ignore broadcast echo requests (RFC 1122 3.2.2.6 allows it; so does Linux's
   * default), which also keeps a reply from claiming the broadcast address as source. */
  if (is_echo_request(in) && in->l4_len >= TS_ICMP_ECHO_HEADER && !broadcast) {
    answer_echo(h, in, p);
  } else if (is_echo_reply(in) && in->l4_len >= TS_ICMP_ECHO_HEADER) {
    struct net_app *a = find_app(h->net, h, TS_NET_APP_PING, in->icmp_id);
    if (a) note_reply(h->net, a, p->data + in->l4_offset + TS_ICMP_ECHO_HEADER,
                      in->l4_len - TS_ICMP_ECHO_HEADER);
  } else if (in->proto == TS_IPPROTO_UDP) {
    deliver_udp(h, in, p);
  }
}

/* One request of a ping or client app; arg is the sequence number. */
static void app_send(void *obj, uint64_t seq) {
  struct net_app *a = obj;
  ts_net *net = a->host->net;
  ts_world *w = net->world;
  uint32_t size = a->cfg.size;
  uint8_t *payload = net->scratch;
  int64_t now = ts_world_now(w);
  for (uint32_t i = 0; i < size; i++) payload[i] = (uint8_t)(seq + i);
  if (size >= STAMP_LEN) memcpy(payload, &now, STAMP_LEN);
  uint32_t need = TS_IPV6_HEADER + TS_UDP_HEADER + size;
  ts_packet *out = ts_packet_alloc(ts_world_pool(w), need);
  if (!out) return;
  ts_ipaddr src;
  uint32_t len = 0;
  if (ts_host_source_for(a->host, &a->cfg.target, &src)) {
    if (a->cfg.kind == TS_NET_APP_PING)
      len = ts_ip_build_echo(out->data, need, &src, &a->cfg.target, false, a->ident,
                             (uint16_t)seq, payload, size);
    else
      len = ts_ip_build_udp(out->data, need, &src, &a->cfg.target, a->ident, a->cfg.port,
                            payload, size);
  }
  a->stats.sent++;
  if (len == 0) {
    char detail[64];
    snprintf(detail, sizeof detail, "seq=%llu: no route to target", (unsigned long long)seq);
    ts_trace_event(ts_world_trace(w), ts_world_now(w), "app-no-route", a->name, detail);
    ts_packet_free(ts_world_pool(w), out);
  } else {
    out->len = len;
    host_send(a->host, out);
  }
  if (seq + 1 < a->cfg.count) ts_world_schedule_in(w, a->cfg.interval, app_send, a, seq + 1, NULL);
}

int ts_net_add_app(ts_net *net, ts_host *h, const ts_app_config *cfg) {
  if (strlen(cfg->name) >= TS_NET_NAME_MAX) return TS_EINVAL;
  if (net->app_count == net->app_cap) {
    uint32_t ncap = net->app_cap ? net->app_cap * 2 : 8;
    struct net_app **n = realloc(net->apps, (size_t)ncap * sizeof *n);
    if (!n) return TS_ENOMEM;
    net->apps = n;
    net->app_cap = ncap;
  }
  struct net_app *a = calloc(1, sizeof *a);
  if (!a) return TS_ENOMEM;
  a->cfg = *cfg;
  snprintf(a->name, sizeof a->name, "%s", cfg->name);
  a->cfg.name = a->name;
  a->host = h;
  a->stats.name = a->name;
  a->stats.host = h->name;
  a->stats.kind = cfg->kind;
  switch (cfg->kind) {
  case TS_NET_APP_PING: a->ident = (uint16_t)(net->app_count + 1); break;
  case TS_NET_APP_UDP_ECHO_CLIENT: a->ident = (uint16_t)(CLIENT_PORT_BASE + net->app_count); break;
  case TS_NET_APP_UDP_ECHO_SERVER: a->ident = cfg->port; break;
  }
  net->apps[net->app_count++] = a;
  if (cfg->kind != TS_NET_APP_UDP_ECHO_SERVER && cfg->count > 0)
    return ts_world_schedule(net->world, cfg->start, app_send, a, 0, NULL);
  return TS_OK;
}

uint32_t ts_net_app_count(const ts_net *net) { return net->app_count; }
void ts_net_app_stats(const ts_net *net, uint32_t i, ts_app_stats *out) { *out = net->apps[i]->stats; }
