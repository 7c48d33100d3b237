/* The leak oracle of one world: classifies what the phone reports and keeps the
 * findings. Findings are aggregated per flow so that a leaking long-lived connection
 * is one finding with a packet count, not thousands. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ts_leak.h"
#include "ts_world.h"

#define MAX_RELAYS 16

struct ts_leak_oracle {
  ts_world *world;
  ts_relay_endpoint relays[MAX_RELAYS];
  size_t relay_count;
  ts_leak_finding *findings;
  size_t finding_count, finding_cap;
  uint64_t counts[TS_EGRESS_CLASS_COUNT];
};

static void release(void *obj) {
  ts_leak_oracle *o = obj;
  free(o->findings);
  free(o);
}

int ts_leak_oracle_create(ts_world *w, ts_leak_oracle **out) {
  ts_leak_oracle *o = calloc(1, sizeof *o);
  if (!o) return TS_ENOMEM;
  o->world = w;
  int rc = ts_world_attach(w, o, release);
  if (rc) {
    free(o);
    return rc;
  }
  *out = o;
  return TS_OK;
}

int ts_leak_oracle_add_relay(ts_leak_oracle *o, const ts_relay_endpoint *relay) {
  if (o->relay_count == MAX_RELAYS) return TS_EFULL;
  o->relays[o->relay_count++] = *relay;
  return TS_OK;
}

static void describe_flow(const uint8_t *pkt, uint32_t len, char *buf, size_t n) {
  ts_ip_info info;
  if (ts_ip_parse(pkt, len, &info) != 0) {
    snprintf(buf, n, "not-ip");
    return;
  }
  char s[48], d[48];
  ts_ipaddr_format(&info.src, s, sizeof s);
  ts_ipaddr_format(&info.dst, d, sizeof d);
  switch (info.proto) {
  case TS_IPPROTO_UDP: snprintf(buf, n, "udp %s:%u > %s:%u", s, info.sport, d, info.dport); break;
  case TS_IPPROTO_TCP: snprintf(buf, n, "tcp %s:%u > %s:%u", s, info.sport, d, info.dport); break;
  case TS_IPPROTO_ICMP:
  case TS_IPPROTO_ICMPV6: snprintf(buf, n, "icmp %s > %s id %u", s, d, info.icmp_id); break;
  default: snprintf(buf, n, "ip %s > %s proto %u", s, d, info.proto);
  }
}

static ts_leak_finding *find_or_add(ts_leak_oracle *o, const ts_egress_verdict *v, const char *node,
                                    const char *iface, const char *flow, bool *added) {
  *added = false;
  for (size_t i = 0; i < o->finding_count; i++) {
    ts_leak_finding *f = &o->findings[i];
    if (f->kind == v->kind && f->mechanism == v->mechanism && !strcmp(f->node, node) &&
        !strcmp(f->iface, iface) && !strcmp(f->flow, flow))
      return f;
  }
  if (o->finding_count == o->finding_cap) {
    size_t ncap = o->finding_cap ? o->finding_cap * 2 : 16;
    ts_leak_finding *nf = realloc(o->findings, ncap * sizeof *nf);
    if (!nf) return NULL;
    o->findings = nf;
    o->finding_cap = ncap;
  }
  ts_leak_finding *f = &o->findings[o->finding_count++];
  memset(f, 0, sizeof *f);
  f->kind = v->kind;
  f->mechanism = v->mechanism;
  snprintf(f->node, sizeof f->node, "%s", node);
  snprintf(f->iface, sizeof f->iface, "%s", iface);
  snprintf(f->flow, sizeof f->flow, "%s", flow);
  *added = true;
  return f;
}

void ts_leak_oracle_observe(ts_leak_oracle *o, const char *node, const char *iface,
                            const uint8_t *pkt, uint32_t len, const ts_egress_origin *origin) {
  ts_egress_verdict v;
  ts_leak_classify(pkt, len, origin, o->relays, o->relay_count, &v);
  o->counts[v.cls]++;
  if (v.cls != TS_EGRESS_LEAK) return;
  char flow[TS_LEAK_TEXT];
  describe_flow(pkt, len, flow, sizeof flow);
  bool added;
  ts_leak_finding *f = find_or_add(o, &v, node, iface, flow, &added);
  if (!f) return;
  ts_time now = ts_world_now(o->world);
  if (added) {
    f->first = now;
    f->rule = origin->verdict.rule;
    const ts_os_rule_info *ri = ts_os_rule_get(origin->verdict.rule);
    char detail[320];
    snprintf(detail, sizeof detail, "%s (%s) on %s: %s, by rule %s", ts_leak_kind_name(v.kind),
             ts_leak_kind_name(v.mechanism), iface, flow, ri ? ri->name : "none");
    ts_trace_event(ts_world_trace(o->world), now, "leak", node, detail);
  }
  f->last = now;
  f->packets++;
  f->bytes += len;
}

size_t ts_leak_oracle_finding_count(const ts_leak_oracle *o) { return o->finding_count; }

const ts_leak_finding *ts_leak_oracle_finding(const ts_leak_oracle *o, size_t i) {
  return i < o->finding_count ? &o->findings[i] : NULL;
}

uint64_t ts_leak_oracle_count(const ts_leak_oracle *o, ts_egress_class c) {
  return c < TS_EGRESS_CLASS_COUNT ? o->counts[c] : 0;
}
