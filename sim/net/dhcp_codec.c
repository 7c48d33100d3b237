/* DHCPv4 message codec (RFC 2131 §2 layout, RFC 2132 options, RFC 3442 option 121).
 * Pure functions over bytes: no world, no allocation. Every read is checked against
 * the buffer; option lengths are never trusted. */
#include <string.h>

#include "ts_bytes.h"
#include "ts_dhcp.h"
#include "ts_error.h"

static ts_ipaddr v4(const uint8_t *p) {
  ts_ipaddr a;
  memset(&a, 0, sizeof a);
  a.family = 4;
  memcpy(a.bytes, p, 4);
  return a;
}

/* Address bytes of a, or 0.0.0.0 when a is absent. */
static void put_addr(uint8_t *p, const ts_ipaddr *a) {
  if (a->family == 4)
    memcpy(p, a->bytes, 4);
  else
    memset(p, 0, 4);
}

void ts_dhcp_message_init(ts_dhcp_message *m, uint8_t op, uint8_t type, uint32_t xid) {
  memset(m, 0, sizeof *m);
  m->op = op;
  m->htype = TS_DHCP_HTYPE_ETHERNET;
  m->hlen = TS_DHCP_HLEN_ETHERNET;
  m->xid = xid;
  m->type = type;
  m->ciaddr.family = m->yiaddr.family = m->siaddr.family = m->giaddr.family = 4;
}

/* ---- option 121 (RFC 3442 §3) */

/* Significant octets of a destination: ceil(width / 8). */
static size_t significant_octets(uint8_t width) { return (size_t)(width + 7) / 8; }

int ts_dhcp_encode_routes(const ts_dhcp_route *routes, size_t n, uint8_t *out, size_t cap,
                          size_t *len) {
  size_t at = 0;
  for (size_t i = 0; i < n; i++) {
    uint8_t width = routes[i].dst.len;
    if (width > 32) return TS_EINVAL;
    size_t sig = significant_octets(width);
    if (at + 1 + sig + 4 > cap) return TS_EFULL;
    out[at++] = width;
    uint8_t dst[4] = {0};
    if (routes[i].dst.addr.family == 4) memcpy(dst, routes[i].dst.addr.bytes, 4);
    /* bits past the width are not part of the destination: send them as zero */
    if (width % 8) dst[sig - 1] &= (uint8_t)(0xff << (8 - width % 8));
    memcpy(out + at, dst, sig);
    at += sig;
    put_addr(out + at, &routes[i].router);
    at += 4;
  }
  *len = at;
  return TS_OK;
}

int ts_dhcp_decode_routes(const uint8_t *p, size_t len, ts_dhcp_route *routes, size_t max,
                          size_t *n) {
  size_t at = 0, count = 0;
  while (at < len) {
    uint8_t width = p[at++];
    if (width > 32) return TS_EPARSE;
    size_t sig = significant_octets(width);
    if (len - at < sig + 4) return TS_EPARSE; /* the entry runs past the option */
    if (count == max) return TS_EFULL;
    ts_dhcp_route *r = &routes[count++];
    memset(r, 0, sizeof *r);
    r->dst.addr.family = 4;
    memcpy(r->dst.addr.bytes, p + at, sig);
    /* RFC 3442 §3: the destination is the significant octets padded with zeros;
     * stray bits past the width are masked so the prefix is canonical */
    if (width % 8) r->dst.addr.bytes[sig - 1] &= (uint8_t)(0xff << (8 - width % 8));
    r->dst.len = width;
    at += sig;
    r->router = v4(p + at);
    at += 4;
  }
  *n = count;
  return TS_OK;
}

/* ---- encode */

struct writer {
  uint8_t *p;
  size_t cap, at;
  bool full;
};

static void put_option(struct writer *w, uint8_t code, const void *data, size_t len) {
  if (w->full || len > 255 || w->at + 2 + len > w->cap) {
    w->full = true;
    return;
  }
  w->p[w->at++] = code;
  w->p[w->at++] = (uint8_t)len;
  if (len) memcpy(w->p + w->at, data, len);
  w->at += len;
}

static void put_option_addrs(struct writer *w, uint8_t code, const ts_ipaddr *a, size_t n) {
  uint8_t buf[4 * TS_DHCP_MAX_ADDRS];
  for (size_t i = 0; i < n; i++) put_addr(buf + 4 * i, &a[i]);
  put_option(w, code, buf, 4 * n);
}

static void put_option32(struct writer *w, uint8_t code, uint32_t v) {
  uint8_t buf[4];
  ts_wr32(buf, v);
  put_option(w, code, buf, 4);
}

int ts_dhcp_encode(const ts_dhcp_message *m, uint8_t *out, size_t cap, size_t *len) {
  if (m->hlen > TS_DHCP_CHADDR_LEN || m->router_count > TS_DHCP_MAX_ADDRS ||
      m->dns_count > TS_DHCP_MAX_ADDRS || m->route_count > TS_DHCP_MAX_ROUTES)
    return TS_EINVAL;
  size_t domain_len = strnlen(m->domain, sizeof m->domain);
  if (domain_len > TS_DHCP_DOMAIN_MAX) return TS_EINVAL;
  if (cap < TS_DHCP_OPTIONS_OFFSET) return TS_EFULL;
  memset(out, 0, TS_DHCP_OPTIONS_OFFSET);
  out[0] = m->op;
  out[1] = m->htype;
  out[2] = m->hlen;
  out[3] = m->hops;
  ts_wr32(out + 4, m->xid);
  ts_wr16(out + 8, m->secs);
  ts_wr16(out + 10, m->flags);
  put_addr(out + 12, &m->ciaddr);
  put_addr(out + 16, &m->yiaddr);
  put_addr(out + 20, &m->siaddr);
  put_addr(out + 24, &m->giaddr);
  memcpy(out + 28, m->chaddr, TS_DHCP_CHADDR_LEN);
  /* sname (64) and file (128) stay zero: no overloading (RFC 2132 §9.3) */
  ts_wr32(out + TS_DHCP_FIXED_LEN, TS_DHCP_MAGIC_COOKIE);

  struct writer w = {out, cap, TS_DHCP_OPTIONS_OFFSET, false};
  /* message type first: RFC 2131 §4.1 does not require it, but every client looks for it */
  if (m->type) put_option(&w, TS_DHCP_OPT_MESSAGE_TYPE, &m->type, 1);
  if (m->server_id.family == 4) put_option_addrs(&w, TS_DHCP_OPT_SERVER_ID, &m->server_id, 1);
  if (m->requested_ip.family == 4)
    put_option_addrs(&w, TS_DHCP_OPT_REQUESTED_IP, &m->requested_ip, 1);
  if (m->has_lease_time) put_option32(&w, TS_DHCP_OPT_LEASE_TIME, m->lease_time);
  if (m->has_renewal_time) put_option32(&w, TS_DHCP_OPT_RENEWAL_TIME, m->renewal_time);
  if (m->has_rebinding_time) put_option32(&w, TS_DHCP_OPT_REBINDING_TIME, m->rebinding_time);
  if (m->subnet_mask.family == 4) put_option_addrs(&w, TS_DHCP_OPT_SUBNET_MASK, &m->subnet_mask, 1);
  if (m->has_classless) {
    uint8_t buf[TS_DHCP_MAX_ROUTES * 9];
    size_t n;
    int rc = ts_dhcp_encode_routes(m->routes, m->route_count, buf, sizeof buf, &n);
    if (rc) return rc;
    put_option(&w, TS_DHCP_OPT_CLASSLESS_ROUTES, buf, n);
  }
  if (m->router_count) put_option_addrs(&w, TS_DHCP_OPT_ROUTER, m->routers, m->router_count);
  if (m->dns_count) put_option_addrs(&w, TS_DHCP_OPT_DNS, m->dns, m->dns_count);
  if (domain_len) put_option(&w, TS_DHCP_OPT_DOMAIN_NAME, m->domain, domain_len);
  if (m->param_count) put_option(&w, TS_DHCP_OPT_PARAM_REQUEST, m->params, m->param_count);
  if (w.full || w.at >= cap) return TS_EFULL;
  out[w.at++] = TS_DHCP_OPT_END;
  *len = w.at;
  return TS_OK;
}

/* ---- decode */

static int addr_list(const uint8_t *v, uint8_t len, ts_ipaddr *out, uint8_t *count) {
  if (len == 0 || len % 4) return TS_EPARSE; /* RFC 2132 §3.5, §3.8: n >= 1 addresses */
  size_t n = len / 4;
  if (n > TS_DHCP_MAX_ADDRS) n = TS_DHCP_MAX_ADDRS; /* the model uses the first few */
  for (size_t i = 0; i < n; i++) out[i] = v4(v + 4 * i);
  *count = (uint8_t)n;
  return TS_OK;
}

static int one_addr(const uint8_t *v, uint8_t len, ts_ipaddr *out) {
  if (len != 4) return TS_EPARSE;
  *out = v4(v);
  return TS_OK;
}

static int one32(const uint8_t *v, uint8_t len, uint32_t *out, bool *has) {
  if (len != 4) return TS_EPARSE;
  *out = ts_rd32(v);
  *has = true;
  return TS_OK;
}

static int domain_option(const uint8_t *v, uint8_t len, char *out) {
  /* RFC 2132 §3.17 says no trailing NUL, yet some servers send one: drop those;
   * a NUL inside the name is malformed */
  while (len && v[len - 1] == 0) len--;
  if (len == 0 || memchr(v, 0, len)) return TS_EPARSE;
  memcpy(out, v, len);
  out[len] = 0;
  return TS_OK;
}

/* Options we know may appear once; RFC 3396 concatenation of split options is not
 * modelled, so a repeat is treated as malformed rather than guessed at. */
static bool is_known(uint8_t code) {
  switch (code) {
  case TS_DHCP_OPT_SUBNET_MASK: case TS_DHCP_OPT_ROUTER: case TS_DHCP_OPT_DNS:
  case TS_DHCP_OPT_DOMAIN_NAME: case TS_DHCP_OPT_REQUESTED_IP: case TS_DHCP_OPT_LEASE_TIME:
  case TS_DHCP_OPT_MESSAGE_TYPE: case TS_DHCP_OPT_SERVER_ID: case TS_DHCP_OPT_PARAM_REQUEST:
  case TS_DHCP_OPT_RENEWAL_TIME: case TS_DHCP_OPT_REBINDING_TIME:
  case TS_DHCP_OPT_CLASSLESS_ROUTES:
    return true;
  default:
    return false;
  }
}

static int decode_option(ts_dhcp_message *m, uint8_t code, const uint8_t *v, uint8_t len) {
  switch (code) {
  case TS_DHCP_OPT_SUBNET_MASK: return one_addr(v, len, &m->subnet_mask);
  case TS_DHCP_OPT_ROUTER: return addr_list(v, len, m->routers, &m->router_count);
  case TS_DHCP_OPT_DNS: return addr_list(v, len, m->dns, &m->dns_count);
  case TS_DHCP_OPT_DOMAIN_NAME: return domain_option(v, len, m->domain);
  case TS_DHCP_OPT_REQUESTED_IP: return one_addr(v, len, &m->requested_ip);
  case TS_DHCP_OPT_SERVER_ID: return one_addr(v, len, &m->server_id);
  case TS_DHCP_OPT_LEASE_TIME: return one32(v, len, &m->lease_time, &m->has_lease_time);
  case TS_DHCP_OPT_RENEWAL_TIME: return one32(v, len, &m->renewal_time, &m->has_renewal_time);
  case TS_DHCP_OPT_REBINDING_TIME:
    return one32(v, len, &m->rebinding_time, &m->has_rebinding_time);
  case TS_DHCP_OPT_MESSAGE_TYPE:
    if (len != 1 || v[0] < TS_DHCP_DISCOVER || v[0] > TS_DHCP_INFORM) return TS_EPARSE;
    m->type = v[0];
    return TS_OK;
  case TS_DHCP_OPT_PARAM_REQUEST:
    if (len == 0) return TS_EPARSE; /* RFC 2132 §9.8: minimum length 1 */
    memcpy(m->params, v, len);
    m->param_count = len;
    return TS_OK;
  case TS_DHCP_OPT_CLASSLESS_ROUTES: {
    /* RFC 3442 §3: the minimum length is 5 (one default route) */
    if (len < 5) return TS_EPARSE;
    size_t n;
    int rc = ts_dhcp_decode_routes(v, len, m->routes, TS_DHCP_MAX_ROUTES, &n);
    if (rc) return rc;
    m->route_count = (uint8_t)n;
    m->has_classless = true;
    return TS_OK;
  }
  default:
    return TS_OK; /* unknown to the model: skipped */
  }
}

int ts_dhcp_decode(const uint8_t *p, size_t len, ts_dhcp_message *m) {
  memset(m, 0, sizeof *m);
  if (len < TS_DHCP_OPTIONS_OFFSET) return TS_ETRUNC;
  if (ts_rd32(p + TS_DHCP_FIXED_LEN) != TS_DHCP_MAGIC_COOKIE) return TS_EPARSE;
  m->op = p[0];
  if (m->op != TS_DHCP_OP_BOOTREQUEST && m->op != TS_DHCP_OP_BOOTREPLY) return TS_EPARSE;
  m->htype = p[1];
  m->hlen = p[2];
  if (m->hlen > TS_DHCP_CHADDR_LEN) return TS_EPARSE;
  m->hops = p[3];
  m->xid = ts_rd32(p + 4);
  m->secs = ts_rd16(p + 8);
  m->flags = ts_rd16(p + 10);
  m->ciaddr = v4(p + 12);
  m->yiaddr = v4(p + 16);
  m->siaddr = v4(p + 20);
  m->giaddr = v4(p + 24);
  memcpy(m->chaddr, p + 28, TS_DHCP_CHADDR_LEN);

  uint8_t seen[256 / 8] = {0};
  size_t at = TS_DHCP_OPTIONS_OFFSET;
  for (;;) {
    if (at >= len) return TS_ETRUNC; /* RFC 2131 §3: options end with END */
    uint8_t code = p[at++];
    if (code == TS_DHCP_OPT_PAD) continue;
    if (code == TS_DHCP_OPT_END) break;
    if (at >= len) return TS_ETRUNC;
    uint8_t olen = p[at++];
    if (len - at < olen) return TS_ETRUNC; /* option overrun */
    if (is_known(code)) {
      if (seen[code / 8] & (1u << (code % 8))) return TS_EPARSE;
      seen[code / 8] |= (uint8_t)(1u << (code % 8));
    }
    int rc = decode_option(m, code, p + at, olen);
    if (rc) return rc;
    at += olen;
  }
  return TS_OK;
}

/* ---- the client's view of an OFFER or ACK */

static int mask_to_prefix(const ts_ipaddr *mask, uint8_t *plen) {
  uint32_t m = ts_rd32(mask->bytes);
  uint32_t inverted = ~m;
  /* contiguous: the inverted mask is 2^k - 1 */
  if (inverted & (inverted + 1)) return TS_EPARSE;
  uint8_t n = 0;
  while (n < 32 && (m & (0x80000000u >> n))) n++;
  *plen = n;
  return TS_OK;
}

static uint8_t classful_prefix(const ts_ipaddr *a) {
  uint8_t top = a->bytes[0];
  if (top < 128) return 8;
  if (top < 192) return 16;
  if (top < 224) return 24;
  return 32;
}

int ts_dhcp_parse_offer(const uint8_t *p, size_t len, ts_dhcp_offer *out) {
  ts_dhcp_message m;
  int rc = ts_dhcp_decode(p, len, &m);
  if (rc) return rc;
  if (m.op != TS_DHCP_OP_BOOTREPLY || (m.type != TS_DHCP_OFFER && m.type != TS_DHCP_ACK))
    return TS_ENOENT;
  static const uint8_t zero[4] = {0};
  if (!memcmp(m.yiaddr.bytes, zero, 4) || !m.has_lease_time) return TS_EPARSE;
  memset(out, 0, sizeof *out);
  out->type = m.type;
  out->xid = m.xid;
  out->address.addr = m.yiaddr;
  if (m.subnet_mask.family == 4) {
    rc = mask_to_prefix(&m.subnet_mask, &out->address.len);
    if (rc) return rc;
  } else {
    out->address.len = classful_prefix(&m.yiaddr);
  }
  out->server_id = m.server_id;
  if (m.router_count) out->router = m.routers[0];
  out->dns_count = m.dns_count;
  memcpy(out->dns, m.dns, sizeof out->dns);
  memcpy(out->domain, m.domain, sizeof out->domain);
  out->lease_time = m.lease_time;
  /* RFC 2131 §4.4.5 defaults, computed in 64 bits so an infinite lease stays in range */
  out->renewal_time = m.has_renewal_time
                          ? m.renewal_time
                          : (uint32_t)((uint64_t)m.lease_time * TS_DHCP_T1_NUM / TS_DHCP_T1_DEN);
  out->rebinding_time = m.has_rebinding_time
                            ? m.rebinding_time
                            : (uint32_t)((uint64_t)m.lease_time * TS_DHCP_T2_NUM / TS_DHCP_T2_DEN);
  if (m.has_classless) {
    /* RFC 3442 §3: "the DHCP client MUST ignore the Router option" */
    out->classless = true;
    out->router_ignored = m.router_count > 0;
    for (uint8_t i = 0; i < m.route_count; i++) {
      out->routes[i] = m.routes[i];
      if (!memcmp(m.routes[i].router.bytes, zero, 4))
        memset(&out->routes[i].router, 0, sizeof out->routes[i].router); /* on-link */
    }
    out->route_count = m.route_count;
  } else if (m.router_count) {
    out->routes[0].dst.addr.family = 4; /* 0.0.0.0/0 */
    out->routes[0].router = m.routers[0];
    out->route_count = 1;
  }
  return TS_OK;
}
