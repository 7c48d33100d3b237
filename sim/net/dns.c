/* An authoritative DNS server on a ts_host's UDP port 53 (RFC 1035 §4, §6.2): A and
 * AAAA records from a zone, NXDOMAIN for names it does not know, and a spoof table
 * that replaces a name's answers (an attacker answering the relay's name). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ts_dns.h"
#include "ts_error.h"

#define DNS_CLASS_ANY 255 /* RFC 1035 §3.2.5 QCLASS * */
#define DNS_TYPE_ANY 255  /* RFC 1035 §3.2.3 QTYPE * */

struct dns_entry {
  char name[TS_DNS_NAME_TEXT_MAX + 1];
  ts_ipaddr addr;
  uint32_t ttl;
  bool spoof;
};

struct ts_dns_server {
  ts_host *host;
  ts_world *world;
  struct dns_entry *entries;
  uint32_t count, cap;
  ts_dns_server_stats stats;
  ts_dns_message query, reply; /* per-query work space, kept off the stack */
  uint8_t buf[TS_DNS_UDP_MAX];
};

static void release_server(void *obj) {
  ts_dns_server *s = obj;
  free(s->entries);
  free(s);
}

static void on_datagram(void *ctx, ts_host *h, const ts_ip_info *info, const uint8_t *payload,
                        uint32_t len);

int ts_dns_server_create(ts_host *h, ts_dns_server **out) {
  ts_dns_server *s = calloc(1, sizeof *s);
  if (!s) return TS_ENOMEM;
  s->host = h;
  s->world = ts_host_world(h);
  int rc = ts_world_attach(s->world, s, release_server);
  if (rc) {
    free(s);
    return rc;
  }
  rc = ts_host_bind_udp(h, TS_DNS_PORT, on_datagram, s);
  if (rc) return rc; /* s stays attached and is freed with the world */
  *out = s;
  return TS_OK;
}

/* A name the wire format can carry (labels of 1..63 octets, 255 octets in all). */
static bool valid_name(const char *name) {
  if (strlen(name) > TS_DNS_NAME_TEXT_MAX) return false;
  ts_dns_message m;
  uint8_t wire[TS_DNS_UDP_MAX];
  size_t len;
  ts_dns_query_init(&m, 0, name, TS_DNS_TYPE_A);
  return ts_dns_encode(&m, wire, sizeof wire, &len) == TS_OK;
}

static int add_entry(ts_dns_server *s, const char *name, const ts_ipaddr *addr, uint32_t ttl,
                     bool spoof) {
  if ((addr->family != 4 && addr->family != 6) || !valid_name(name)) return TS_EINVAL;
  if (s->count == s->cap) {
    uint32_t ncap = s->cap ? s->cap * 2 : 16;
    struct dns_entry *n = realloc(s->entries, ncap * sizeof *n);
    if (!n) return TS_ENOMEM;
    s->entries = n;
    s->cap = ncap;
  }
  struct dns_entry *e = &s->entries[s->count++];
  memset(e, 0, sizeof *e);
  snprintf(e->name, sizeof e->name, "%s", name);
  e->addr = *addr;
  e->ttl = ttl;
  e->spoof = spoof;
  return TS_OK;
}

int ts_dns_server_add(ts_dns_server *s, const char *name, const ts_ipaddr *addr, uint32_t ttl) {
  return add_entry(s, name, addr, ttl, false);
}

int ts_dns_server_spoof(ts_dns_server *s, const char *name, const ts_ipaddr *addr, uint32_t ttl) {
  return add_entry(s, name, addr, ttl, true);
}

void ts_dns_server_unspoof(ts_dns_server *s, const char *name) {
  uint32_t kept = 0;
  for (uint32_t i = 0; i < s->count; i++)
    if (!(s->entries[i].spoof && ts_dns_name_equal(s->entries[i].name, name)))
      s->entries[kept++] = s->entries[i];
  s->count = kept;
}

void ts_dns_server_stats_get(const ts_dns_server *s, ts_dns_server_stats *out) {
  *out = s->stats;
}

static bool is_spoofed(const ts_dns_server *s, const char *name) {
  for (uint32_t i = 0; i < s->count; i++)
    if (s->entries[i].spoof && ts_dns_name_equal(s->entries[i].name, name)) return true;
  return false;
}

static bool type_matches(uint16_t qtype, const ts_ipaddr *a) {
  return qtype == DNS_TYPE_ANY || (qtype == TS_DNS_TYPE_A && a->family == 4) ||
         (qtype == TS_DNS_TYPE_AAAA && a->family == 6);
}

/* Fills the answer section; returns the RCODE. */
static uint16_t resolve(ts_dns_server *s, const ts_dns_question *q, ts_dns_message *r) {
  bool spoofed = is_spoofed(s, q->name), exists = false;
  for (uint32_t i = 0; i < s->count; i++) {
    const struct dns_entry *e = &s->entries[i];
    /* a spoofed name shows only its spoof records: the real ones would give the
     * attack away in the other family */
    if (e->spoof != spoofed || !ts_dns_name_equal(e->name, q->name)) continue;
    exists = true;
    if (!type_matches(q->type, &e->addr) || r->answer_count == TS_DNS_MAX_ANSWERS) continue;
    ts_dns_record *a = &r->answers[r->answer_count++];
    memset(a, 0, sizeof *a);
    memcpy(a->name, q->name, sizeof a->name);
    a->type = e->addr.family == 4 ? TS_DNS_TYPE_A : TS_DNS_TYPE_AAAA;
    a->klass = TS_DNS_CLASS_IN;
    a->ttl = e->ttl;
    a->addr = e->addr;
  }
  if (!exists) {
    s->stats.nxdomain++;
    return TS_DNS_RCODE_NXDOMAIN;
  }
  if (spoofed) {
    s->stats.spoofed++;
    ts_trace_event(ts_world_trace(s->world), ts_world_now(s->world), "dns-spoof",
                   ts_host_name(s->host), q->name);
  }
  if (r->answer_count) s->stats.answered++;
  else s->stats.nodata++;
  return TS_DNS_RCODE_NOERROR; /* RFC 2308 §2.2: a name without records of the type */
}

static void send_reply(ts_dns_server *s, const ts_ip_info *info, ts_dns_message *r) {
  size_t len;
  int rc;
  /* RFC 1035 §4.2.1: over 512 octets, drop answers and set TC */
  while ((rc = ts_dns_encode(r, s->buf, sizeof s->buf, &len)) == TS_EFULL && r->answer_count) {
    r->answer_count--;
    r->flags |= TS_DNS_FLAG_TC;
  }
  if (rc) return;
  if (r->flags & TS_DNS_FLAG_TC) s->stats.truncated++;
  uint32_t need = TS_IPV6_HEADER + TS_UDP_HEADER + (uint32_t)len;
  ts_packet *pkt = ts_packet_alloc(ts_world_pool(s->world), need);
  if (!pkt) return;
  pkt->len = ts_ip_build_udp(pkt->data, need, &info->dst, &info->src, TS_DNS_PORT, info->sport,
                             s->buf, (uint32_t)len);
  if (pkt->len == 0) {
    ts_packet_free(ts_world_pool(s->world), pkt);
    return;
  }
  ts_host_send(s->host, pkt);
}

static void on_datagram(void *ctx, ts_host *h, const ts_ip_info *info, const uint8_t *payload,
                        uint32_t len) {
  ts_dns_server *s = ctx;
  (void)h;
  ts_dns_message *q = &s->query, *r = &s->reply;
  int rc = ts_dns_decode(payload, len, q);
  if (len < TS_DNS_HEADER_LEN || (q->flags & TS_DNS_FLAG_QR)) {
    s->stats.malformed++; /* no header to answer, or a response: never answer those */
    return;
  }
  s->stats.queries++;
  memset(r, 0, sizeof *r);
  r->id = q->id;
  /* RFC 1035 §4.1.1: QR, the query's opcode and RD copied, AA as the authority */
  r->flags = (uint16_t)(TS_DNS_FLAG_QR | TS_DNS_FLAG_AA | (q->flags & (TS_DNS_OPCODE_MASK | TS_DNS_FLAG_RD)));
  uint16_t rcode;
  if (rc != 0 || q->question_count != 1) {
    s->stats.malformed++;
    rcode = TS_DNS_RCODE_FORMERR;
  } else {
    r->questions[0] = q->questions[0];
    r->question_count = 1;
    if ((q->flags & TS_DNS_OPCODE_MASK) != 0) {
      rcode = TS_DNS_RCODE_NOTIMP; /* only standard queries (opcode 0) */
    } else if (q->questions[0].klass != TS_DNS_CLASS_IN && q->questions[0].klass != DNS_CLASS_ANY) {
      s->stats.refused++;
      rcode = TS_DNS_RCODE_REFUSED;
    } else {
      rcode = resolve(s, &q->questions[0], r);
    }
  }
  r->flags |= rcode;
  send_reply(s, info, r);
}
