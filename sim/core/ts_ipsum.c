#include "ts_bytes.h"
#include "ts_ipsum.h"

#include <arpa/inet.h>
#include <stdio.h>
#include <string.h>

#include "ts_error.h"

#define ICMP4_ECHO_REQUEST 8
#define ICMP4_ECHO_REPLY 0
#define ICMP6_ECHO_REQUEST 128
#define ICMP6_ECHO_REPLY 129
#define DEFAULT_TTL 64


static size_t addr_len(uint8_t family) { return family == 6 ? 16 : 4; }

bool ts_ipaddr_equal(const ts_ipaddr *a, const ts_ipaddr *b) {
  return a->family == b->family && memcmp(a->bytes, b->bytes, addr_len(a->family)) == 0;
}

bool ts_ipprefix_contains(const ts_ipprefix *p, const ts_ipaddr *a) {
  if (p->addr.family != a->family) return false;
  unsigned full = p->len / 8, rest = p->len % 8;
  if (memcmp(p->addr.bytes, a->bytes, full) != 0) return false;
  if (!rest) return true;
  uint8_t mask = (uint8_t)(0xff << (8 - rest));
  return (p->addr.bytes[full] & mask) == (a->bytes[full] & mask);
}

bool ts_ipaddr_parse(const char *text, ts_ipaddr *out) {
  memset(out, 0, sizeof *out);
  if (inet_pton(AF_INET, text, out->bytes) == 1) {
    out->family = 4;
    return true;
  }
  if (inet_pton(AF_INET6, text, out->bytes) == 1) {
    out->family = 6;
    return true;
  }
  return false;
}

void ts_ipaddr_format(const ts_ipaddr *a, char *buf, size_t n) {
  if (n == 0) return;
  if (!a->family || !inet_ntop(a->family == 6 ? AF_INET6 : AF_INET, a->bytes, buf, (socklen_t)n))
    snprintf(buf, n, "-");
}

int ts_ipprefix_parse(const char *text, ts_ipprefix *out) {
  char buf[64];
  if (!text || !out) return TS_EINVAL;
  const char *slash = strchr(text, '/');
  size_t n = slash ? (size_t)(slash - text) : strlen(text);
  if (n == 0 || n >= sizeof buf) return TS_EPARSE;
  memcpy(buf, text, n);
  buf[n] = '\0';
  memset(out, 0, sizeof *out);
  if (!ts_ipaddr_parse(buf, &out->addr)) return TS_EPARSE;
  unsigned max = out->addr.family == 4 ? 32 : 128, len = max;
  if (slash) {
    const char *d = slash + 1;
    if (!*d || strlen(d) > 3) return TS_EPARSE;
    len = 0;
    for (; *d; d++) {
      if (*d < '0' || *d > '9') return TS_EPARSE;
      len = len * 10 + (unsigned)(*d - '0');
    }
    if (len > max) return TS_EPARSE;
  }
  out->len = (uint8_t)len;
  return 0;
}

int ts_ipprefix_format(const ts_ipprefix *p, bool with_prefix, char *buf, size_t n) {
  char text[INET6_ADDRSTRLEN];
  if (!p || (p->addr.family != 4 && p->addr.family != 6)) return -1;
  if (!inet_ntop(p->addr.family == 6 ? AF_INET6 : AF_INET, p->addr.bytes, text, sizeof text)) return -1;
  if (with_prefix) return snprintf(buf, n, "%s/%u", text, p->len);
  return snprintf(buf, n, "%s", text);
}

static void parse_l4(const uint8_t *l4, ts_ip_info *info) {
  if ((info->proto == TS_IPPROTO_UDP || info->proto == TS_IPPROTO_TCP) && info->l4_len >= 4) {
    info->sport = ts_rd16(l4);
    info->dport = ts_rd16(l4 + 2);
  } else if ((info->proto == TS_IPPROTO_ICMP || info->proto == TS_IPPROTO_ICMPV6) &&
             info->l4_len >= 8) {
    info->icmp_type = l4[0];
    info->icmp_code = l4[1];
    info->icmp_id = ts_rd16(l4 + 4);
    info->icmp_seq = ts_rd16(l4 + 6);
  }
}

int ts_ip_parse(const uint8_t *p, uint32_t len, ts_ip_info *info) {
  memset(info, 0, sizeof *info);
  if (len < 1) return TS_ETRUNC;
  unsigned version = p[0] >> 4;
  if (version == 4) {
    if (len < TS_IPV4_HEADER) return TS_ETRUNC;
    uint32_t ihl = (uint32_t)(p[0] & 0x0f) * 4;
    uint32_t total = ts_rd16(p + 2);
    if (ihl < TS_IPV4_HEADER || total < ihl || total > len) return TS_EPARSE;
    /* Receivers drop IPv4 headers whose checksum is wrong (RFC 1122 3.2.1.2). */
    if (ts_checksum_finish(ts_checksum_add(0, p, ihl)) != 0) return TS_EPARSE;
    info->family = 4;
    info->ttl = p[8];
    info->proto = p[9];
    info->src.family = info->dst.family = 4;
    memcpy(info->src.bytes, p + 12, 4);
    memcpy(info->dst.bytes, p + 16, 4);
    info->l4_offset = ihl;
    info->l4_len = total - ihl;
  } else if (version == 6) {
    if (len < TS_IPV6_HEADER) return TS_ETRUNC;
    uint32_t payload = ts_rd16(p + 4);
    if (TS_IPV6_HEADER + payload > len) return TS_EPARSE;
    info->family = 6;
    info->proto = p[6];
    info->ttl = p[7];
    info->src.family = info->dst.family = 6;
    memcpy(info->src.bytes, p + 8, 16);
    memcpy(info->dst.bytes, p + 24, 16);
    info->l4_offset = TS_IPV6_HEADER;
    info->l4_len = payload;
  } else {
    return TS_EPARSE;
  }
  parse_l4(p + info->l4_offset, info);
  return TS_OK;
}

static const char *proto_name(uint8_t proto) {
  switch (proto) {
  case TS_IPPROTO_ICMP: return "icmp";
  case TS_IPPROTO_TCP: return "tcp";
  case TS_IPPROTO_UDP: return "udp";
  case TS_IPPROTO_ICMPV6: return "icmpv6";
  default: return "ip";
  }
}

void ts_ipsum_describe(const uint8_t *p, uint32_t len, char *buf, size_t n) {
  ts_ip_info info;
  if (ts_ip_parse(p, len, &info) != 0) {
    snprintf(buf, n, "not-ip len=%u", len);
    return;
  }
  char s[INET6_ADDRSTRLEN], d[INET6_ADDRSTRLEN];
  ts_ipaddr_format(&info.src, s, sizeof s);
  ts_ipaddr_format(&info.dst, d, sizeof d);
  if (info.proto == TS_IPPROTO_UDP || info.proto == TS_IPPROTO_TCP)
    snprintf(buf, n, "%s %s:%u > %s:%u", proto_name(info.proto), s, info.sport, d, info.dport);
  else if (info.proto == TS_IPPROTO_ICMP || info.proto == TS_IPPROTO_ICMPV6)
    snprintf(buf, n, "%s %s > %s type=%u id=%u seq=%u", proto_name(info.proto), s, d,
             info.icmp_type, info.icmp_id, info.icmp_seq);
  else
    snprintf(buf, n, "%s %s > %s proto=%u", proto_name(info.proto), s, d, info.proto);
}

uint32_t ts_checksum_add(uint32_t sum, const uint8_t *p, size_t len) {
  while (len > 1) {
    sum += ts_rd16(p);
    p += 2;
    len -= 2;
  }
  if (len) sum += (uint32_t)p[0] << 8;
  return sum;
}

uint16_t ts_checksum_finish(uint32_t sum) {
  while (sum >> 16) sum = (sum & 0xffff) + (sum >> 16);
  return (uint16_t)~sum;
}

uint32_t ts_ip_write_header(uint8_t *out, const ts_ipaddr *src, const ts_ipaddr *dst, uint8_t proto,
                                uint32_t l4_len) {
  if (src->family == 4) {
    memset(out, 0, TS_IPV4_HEADER);
    out[0] = 0x45;
    ts_wr16(out + 2, (uint16_t)(TS_IPV4_HEADER + l4_len));
    out[6] = 0x40; /* don't fragment */
    out[8] = DEFAULT_TTL;
    out[9] = proto;
    memcpy(out + 12, src->bytes, 4);
    memcpy(out + 16, dst->bytes, 4);
    ts_wr16(out + 10, ts_checksum_finish(ts_checksum_add(0, out, TS_IPV4_HEADER)));
    return TS_IPV4_HEADER;
  }
  memset(out, 0, TS_IPV6_HEADER);
  out[0] = 0x60;
  ts_wr16(out + 4, (uint16_t)l4_len);
  out[6] = proto;
  out[7] = DEFAULT_TTL;
  memcpy(out + 8, src->bytes, 16);
  memcpy(out + 24, dst->bytes, 16);
  return TS_IPV6_HEADER;
}

uint32_t ts_ip_pseudo_header_sum(const ts_ipaddr *src, const ts_ipaddr *dst, uint8_t proto,
                                  uint32_t l4_len) {
  size_t n = addr_len(src->family);
  uint32_t sum = ts_checksum_add(0, src->bytes, n);
  sum = ts_checksum_add(sum, dst->bytes, n);
  return sum + proto + (l4_len & 0xffff) + (l4_len >> 16);
}

static bool fits(const ts_ipaddr *src, const ts_ipaddr *dst, uint32_t l4_len, uint32_t cap) {
  if (src->family != dst->family || (src->family != 4 && src->family != 6)) return false;
  uint32_t header = src->family == 4 ? TS_IPV4_HEADER : TS_IPV6_HEADER;
  return l4_len <= 65535 - TS_IPV6_HEADER && header + l4_len <= cap;
}

uint32_t ts_ip_build_udp(uint8_t *out, uint32_t cap, const ts_ipaddr *src, const ts_ipaddr *dst,
                         uint16_t sport, uint16_t dport, const uint8_t *payload, uint32_t len) {
  uint32_t l4_len = TS_UDP_HEADER + len;
  if (!fits(src, dst, l4_len, cap)) return 0;
  uint32_t h = ts_ip_write_header(out, src, dst, TS_IPPROTO_UDP, l4_len);
  uint8_t *u = out + h;
  ts_wr16(u, sport);
  ts_wr16(u + 2, dport);
  ts_wr16(u + 4, (uint16_t)l4_len);
  ts_wr16(u + 6, 0);
  if (len) memcpy(u + TS_UDP_HEADER, payload, len);
  uint16_t c = ts_checksum_finish(ts_checksum_add(ts_ip_pseudo_header_sum(src, dst, TS_IPPROTO_UDP, l4_len),
                                                  u, l4_len));
  ts_wr16(u + 6, c ? c : 0xffff);
  return h + l4_len;
}

uint32_t ts_ip_build_echo(uint8_t *out, uint32_t cap, const ts_ipaddr *src, const ts_ipaddr *dst,
                          bool reply, uint16_t id, uint16_t seq, const uint8_t *payload,
                          uint32_t len) {
  uint32_t l4_len = TS_ICMP_ECHO_HEADER + len;
  if (!fits(src, dst, l4_len, cap)) return 0;
  bool v6 = src->family == 6;
  uint8_t proto = v6 ? TS_IPPROTO_ICMPV6 : TS_IPPROTO_ICMP;
  uint32_t h = ts_ip_write_header(out, src, dst, proto, l4_len);
  uint8_t *m = out + h;
  m[0] = v6 ? (reply ? ICMP6_ECHO_REPLY : ICMP6_ECHO_REQUEST)
            : (reply ? ICMP4_ECHO_REPLY : ICMP4_ECHO_REQUEST);
  m[1] = 0;
  ts_wr16(m + 2, 0);
  ts_wr16(m + 4, id);
  ts_wr16(m + 6, seq);
  if (len) memcpy(m + TS_ICMP_ECHO_HEADER, payload, len);
  uint32_t sum = v6 ? ts_ip_pseudo_header_sum(src, dst, proto, l4_len) : 0;
  ts_wr16(m + 2, ts_checksum_finish(ts_checksum_add(sum, m, l4_len)));
  return h + l4_len;
}
