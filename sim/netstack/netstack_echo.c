/* ICMP and ICMPv6 echo through lwIP raw pcbs: requests we send, replies we take.
 * Echo requests for the instance are answered by lwIP's own ICMP code. */
#include <string.h>

#include "netstack_internal.h"
#include "ts_bytes.h"

#define ICMP_ECHO_REQUEST 8     /* RFC 792 */
#define ICMP_ECHO_REPLY 0
#define ICMP6_ECHO_REQUEST 128  /* RFC 4443 §4.1, §4.2 */
#define ICMP6_ECHO_REPLY 129
#define ICMP6_CHECKSUM_AT 2

/* A raw pcb sees every packet of its protocol before lwIP's ICMP does. Replies are
 * ours (eaten: return 1); everything else goes on to lwIP (return 0). */
static u8_t echo_recv(void *arg, struct raw_pcb *pcb, struct pbuf *p, const ip_addr_t *addr) {
  ts_netstack *ns = arg;
  const uint8_t *bytes = p->payload;
  if (p->len != p->tot_len) {
    ns->L->pbuf_copy_partial(p, ns->scratch, p->tot_len, 0);
    bytes = ns->scratch;
  }
  ts_ip_info info;
  if (ts_ip_parse(bytes, p->tot_len, &info) != 0 || info.l4_len < TS_ICMP_ECHO_HEADER) return 0;
  bool v6 = info.family == 6;
  if (info.proto != (v6 ? TS_IPPROTO_ICMPV6 : TS_IPPROTO_ICMP)) return 0;
  if (info.icmp_type != (v6 ? ICMP6_ECHO_REPLY : ICMP_ECHO_REPLY) || info.icmp_code != 0) return 0;
  const uint8_t *icmp = bytes + info.l4_offset;
  uint32_t sum = v6 ? ts_ip_pseudo_header_sum(&info.src, &info.dst, TS_IPPROTO_ICMPV6, info.l4_len) : 0;
  bool good = ts_checksum_finish(ts_checksum_add(sum, icmp, info.l4_len)) == 0;
  if (good && ns->echo_fn) {
    ts_netstack_echo reply = {
        .from = info.src,
        .id = info.icmp_id,
        .seq = info.icmp_seq,
        .ttl = info.ttl,
        .payload = icmp + TS_ICMP_ECHO_HEADER,
        .len = info.l4_len - TS_ICMP_ECHO_HEADER,
    };
    ns->echo_fn(ns->echo_ctx, ns, &reply);
  }
  ns->L->pbuf_free(p);
  return 1;
}

int ts_netstack_echo_start(ts_netstack *ns) {
  const ts_lwip_api *L = ns->L;
  if (ns->cfg.addr4.addr.family == 4) {
    ns->raw4 = L->raw_new_ip_type(IPADDR_TYPE_V4, IP_PROTO_ICMP);
    if (!ns->raw4) return TS_ENOMEM;
    L->raw_recv(ns->raw4, echo_recv, ns);
  }
  if (ns->cfg.addr6.addr.family == 6) {
    ns->raw6 = L->raw_new_ip_type(IPADDR_TYPE_V6, IP6_NEXTH_ICMP6);
    if (!ns->raw6) return TS_ENOMEM;
    /* ICMPv6 carries a pseudo-header checksum, which lwIP fills in for raw pcbs that
     * ask (what a socket's IPV6_CHECKSUM option sets). */
    ns->raw6->chksum_reqd = 1;
    ns->raw6->chksum_offset = ICMP6_CHECKSUM_AT;
    L->raw_recv(ns->raw6, echo_recv, ns);
  }
  return 0;
}

void ts_netstack_set_echo_handler(ts_netstack *ns, ts_netstack_echo_fn fn, void *ctx) {
  ns->echo_fn = fn;
  ns->echo_ctx = ctx;
}

int ts_netstack_ping(ts_netstack *ns, const ts_ipaddr *dst, uint16_t id, uint16_t seq,
                     const uint8_t *payload, uint32_t len) {
  if (!ns->up) return TS_ESTATE;
  bool v6 = dst->family == 6;
  struct raw_pcb *pcb = v6 ? ns->raw6 : dst->family == 4 ? ns->raw4 : NULL;
  uint32_t max = TS_PACKET_MAX - (v6 ? TS_IPV6_HEADER : TS_IPV4_HEADER) - TS_ICMP_ECHO_HEADER;
  if (!pcb || len > max || (len && !payload)) return TS_EINVAL;
  const ts_lwip_api *L = ns->L;
  struct pbuf *p = L->pbuf_alloc(PBUF_IP, (u16_t)(TS_ICMP_ECHO_HEADER + len), PBUF_RAM);
  if (!p) return TS_ENOMEM;
  uint8_t *b = p->payload;
  b[0] = v6 ? ICMP6_ECHO_REQUEST : ICMP_ECHO_REQUEST;
  b[1] = 0;
  ts_wr16(b + 2, 0);
  ts_wr16(b + 4, id);
  ts_wr16(b + 6, seq);
  if (len) memcpy(b + TS_ICMP_ECHO_HEADER, payload, len);
  if (!v6) ts_wr16(b + 2, ts_checksum_finish(ts_checksum_add(0, b, TS_ICMP_ECHO_HEADER + len)));
  ip_addr_t to;
  ts_netstack_addr_to_lwip(dst, &to);
  err_t err = L->raw_sendto(pcb, p, &to);
  L->pbuf_free(p);
  ts_netstack_rearm(ns);
  return ts_netstack_err(err);
}
