/* What lwIP 2.1.3 must not be handed: inbound TCP segments are checked (and one
 * option rewritten) in ts_netstack_input before lwIP sees them. Our code, not a
 * patch of lwIP; the rules are RFC 9293's, so a conformant peer never meets them.
 *
 * 1. Malformed options or header length: the segment is dropped (stats:
 *    malformed_dropped). lwIP's tcp_parseopt (tcp_in.c) reads an option's length
 *    byte before checking that it lies inside the options: when the last option
 *    byte is a kind other than EOL/NOP, lwIP reads one byte past the TCP header,
 *    past the packet when no payload follows (a heap over-read under ASan; found by
 *    fuzz_netstack_mux, reproducer corpus/fuzz_netstack_mux/lwip_optlen_overread;
 *    fixed upstream after 2.1.3 by lwIP commit 3d896ba0, "tcp_in: Add bounds check for
 *    next option byte"). Any peer can send such a segment. RFC 9293 §3.1: a
 *    multi-octet option is kind, length (counting kind and length, so at least 2)
 *    and data, inside the header that Data Offset (at least 5 words) delimits; an
 *    option that breaks this is an "illegal option length" that a TCP implementation
 *    must be prepared to handle (MUST-7). Dropping the segment handles it like a
 *    corrupted one: the connection stays as it was, the sender's retransmission (if
 *    it was a real segment) comes again. What counts as malformed:
 *      - a TCP segment shorter than its 20-byte header, or Data Offset < 5, or Data
 *        Offset beyond the segment;
 *      - an option other than EOL (0) and NOP (1) whose length byte is not inside
 *        the options, whose length is below 2, or whose length runs past the header.
 *    Bytes after EOL are padding and are not read (lwIP stops there too).
 * 2. An MSS option in a segment without SYN is replaced by NOPs, the checksum
 *    adjusted incrementally (stats: mss_stripped). lwIP calls tcp_parseopt for every
 *    segment in every state, so an MSS option lowers (or raises, up to TCP_MSS, past
 *    the path's MTU) pcb->mss mid-connection; data queued for the old MSS then no
 *    longer fits and the next tcp_write trips LWIP_ASSERT "inconsistent oversize vs.
 *    space" (tcp_out.c:504; reproducer lwip_mss_shrink). RFC 9293 §3.2: the MSS
 *    option may be sent only with SYN and MUST NOT be sent in other segments
 *    (MUST-65); §3.7.1: it tells the peer's receive size when the connection is
 *    synchronised. Ignoring it elsewhere (as Linux does) is what NOPs in its place
 *    make lwIP do; the segment is otherwise unchanged. (An MSS in a SYN-ACK that
 *    shrinks the segments of data queued while SYN-SENT is legitimate and reaches
 *    the same assert: netstack_guard.c covers that, and also what lwIP does with an
 *    MSS option in a SYN segment that does not complete a handshake, for which this
 *    file reports where such a segment goes.)
 *
 * Where the TCP header is: what lwIP's ip4_input / ip6_input hand tcp_input. IPv4:
 * the header length and total length as lwIP reads them. IPv6: the payload length
 * and the extension headers lwIP walks (hop-by-hop, destination options, routing,
 * fragment). A fragment whose offset is not 0 holds no TCP header and passes (lwIP's
 * reassembly drops overlapping fragments, so the first fragment's header is the one
 * the datagram gets). A first fragment must hold the whole TCP header, options
 * included, or it is dropped as malformed (RFC 1858 §3 and RFC 3128 for IPv4's tiny
 * fragments; RFC 7112 §5 for IPv6: the first fragment carries the whole header
 * chain): otherwise the options would reach lwIP unchecked, split across fragments.
 * Packets that are not TCP, or that lwIP drops for their IP header anyway, pass
 * unchanged. Checksums are not verified here: a rewritten segment keeps a wrong
 * checksum wrong (RFC 1624 eqn. 3), so lwIP still drops it. */
#include <string.h>

#include "netstack_internal.h"
#include "ts_bytes.h"

#define TCP_HEADER 20
#define TCP_FLAG_SYN 0x02
#define TCP_CHECKSUM_AT 16
#define OPT_EOL 0
#define OPT_NOP 1
#define OPT_MSS 2
#define IP6_NH_HOPBYHOP 0
#define IP6_NH_ROUTING 43
#define IP6_NH_FRAGMENT 44
#define IP6_NH_DESTOPTS 60

/* Where the TCP header of an IPv4 packet starts and the segment ends. False when
 * it is not TCP, holds no TCP header (a later fragment), or lwIP drops it anyway. */
static bool locate4(const uint8_t *p, uint32_t len, uint32_t *off, uint32_t *end) {
  if (len < 20) return false;
  uint32_t ihl = (uint32_t)(p[0] & 0x0f) * 4, total = ts_rd16(p + 2);
  if (ihl < 20 || total < ihl || total > len) return false;
  if (p[9] != TS_IPPROTO_TCP) return false;
  if (ts_rd16(p + 6) & 0x1fff) return false; /* not the first fragment */
  *off = ihl;
  *end = total;
  return true;
}

static void addresses(const uint8_t *p, ts_netstack_syn_mss *s) {
  memset(&s->src, 0, sizeof s->src);
  memset(&s->dst, 0, sizeof s->dst);
  if (p[0] >> 4 == 4) {
    s->src.family = s->dst.family = 4;
    memcpy(s->src.bytes, p + 12, 4);
    memcpy(s->dst.bytes, p + 16, 4);
  } else {
    s->src.family = s->dst.family = 6;
    memcpy(s->src.bytes, p + 8, 16);
    memcpy(s->dst.bytes, p + 24, 16);
  }
}

static bool locate6(const uint8_t *p, uint32_t len, uint32_t *off, uint32_t *end) {
  if (len < 40) return false;
  uint32_t e = 40u + ts_rd16(p + 4), o = 40;
  if (e > len) return false;
  uint8_t nh = p[6];
  /* As long as lwIP would go on: it has no limit on the chain, and every header
   * moves on by at least 8 bytes. */
  for (;;) {
    if (nh == TS_IPPROTO_TCP) {
      *off = o;
      *end = e;
      return true;
    }
    if (o + 8 > e) return false;
    const uint8_t *h = p + o;
    if (nh == IP6_NH_FRAGMENT) {
      if (ts_rd16(h + 2) & 0xfff8) return false; /* not the first fragment */
      o += 8;
    } else if (nh == IP6_NH_HOPBYHOP || nh == IP6_NH_DESTOPTS || nh == IP6_NH_ROUTING) {
      o += ((uint32_t)h[1] + 1) * 8;
      if (o > e) return false;
    } else {
      return false;
    }
    nh = h[0];
  }
}

/* RFC 1624 eqn. 3 over the 16-bit words of [from, to) (even offsets from the
 * header's start): HC' = ~(~HC + sum(~m) + sum(m')). `old` holds the words before. */
static void checksum_update(uint8_t *tcp, const uint8_t *old, uint32_t from, uint32_t to) {
  uint32_t sum = (uint16_t)~ts_rd16(tcp + TCP_CHECKSUM_AT);
  for (uint32_t i = from; i < to; i += 2) {
    sum += (uint16_t)~ts_rd16(old + i - from);
    sum += ts_rd16(tcp + i);
  }
  ts_wr16(tcp + TCP_CHECKSUM_AT, ts_checksum_finish(sum));
}

/* The options of a header the walk below accepted: MSS options become NOPs. Returns
 * how many. */
static uint32_t strip_mss(uint8_t *tcp, uint32_t hlen) {
  uint8_t *opt = tcp + TCP_HEADER;
  uint32_t optlen = hlen - TCP_HEADER, n = 0;
  uint8_t before[40]; /* the options as they came (at most 40 bytes) */
  memcpy(before, opt, optlen);
  for (uint32_t i = 0; i < optlen && opt[i] != OPT_EOL;) {
    uint32_t olen = opt[i] == OPT_NOP ? 1 : opt[i + 1];
    if (opt[i] == OPT_MSS) {
      memset(opt + i, OPT_NOP, olen);
      n++;
    }
    i += olen;
  }
  if (n) checksum_update(tcp, before, TCP_HEADER, hlen);
  return n;
}

bool ts_netstack_sanitize(uint8_t *pkt, uint32_t len, ts_netstack_stats *st, ts_netstack_syn_mss *syn_mss) {
  memset(syn_mss, 0, sizeof *syn_mss);
  if (len == 0) return true;
  uint32_t off, end;
  bool found;
  switch (pkt[0] >> 4) {
  case 4: found = locate4(pkt, len, &off, &end); break;
  case 6: found = locate6(pkt, len, &off, &end); break;
  default: found = false; break;
  }
  if (!found) return true;
  uint8_t *tcp = pkt + off;
  uint32_t seglen = end - off;
  uint32_t hlen = seglen >= TCP_HEADER ? (uint32_t)(tcp[12] >> 4) * 4 : 0;
  if (seglen < TCP_HEADER || hlen < TCP_HEADER || hlen > seglen) {
    /* No whole header: too short, a bad Data Offset, or a first fragment that
     * leaves part of the header to the next one. */
    st->malformed_dropped++;
    return false;
  }
  const uint8_t *opt = tcp + TCP_HEADER;
  uint32_t optlen = hlen - TCP_HEADER;
  /* The whole walk first: a malformed segment is dropped as it came. */
  bool mss = false;
  for (uint32_t i = 0; i < optlen && opt[i] != OPT_EOL;) {
    if (opt[i] == OPT_NOP) {
      i++;
      continue;
    }
    if (i + 1 >= optlen || opt[i + 1] < 2 || opt[i + 1] > optlen - i) {
      st->malformed_dropped++;
      return false;
    }
    if (opt[i] == OPT_MSS) mss = true;
    i += opt[i + 1];
  }
  if (!mss) return true;
  if (!(tcp[13] & TCP_FLAG_SYN)) {
    st->mss_stripped += strip_mss(tcp, hlen);
    return true;
  }
  /* A SYN with an MSS option: whether it may count depends on the connection
   * (netstack_guard.c). */
  syn_mss->present = true;
  addresses(pkt, syn_mss);
  syn_mss->sport = ts_rd16(tcp);
  syn_mss->dport = ts_rd16(tcp + 2);
  syn_mss->ack = ts_rd32(tcp + 8);
  syn_mss->flags = tcp[13];
  syn_mss->tcp_offset = off;
  return true;
}

uint32_t ts_netstack_strip_mss(uint8_t *pkt, const ts_netstack_syn_mss *s) {
  uint8_t *tcp = pkt + s->tcp_offset;
  return strip_mss(tcp, (uint32_t)(tcp[12] >> 4) * 4);
}
