/* Connection states in which lwIP 2.1.3 misbehaves, and what the instance does
 * instead. All were found by fuzz_netstack_mux; none comes from our lwipopts.h. Our
 * code, not a patch of lwIP: a look at the pcb before we call into lwIP; in B one
 * field of the pcb set the way lwIP itself sets it, in C one option of an inbound
 * segment rewritten.
 *
 * A. tcp_write and a segment queued for a larger MSS (reproducers
 *    corpus/fuzz_netstack_mux/lwip_small_window and lwip_mss_shrink).
 *    Cause: tcp_write (tcp_out.c) sizes segments by
 *      mss_local = min(pcb->mss, snd_wnd_max / 2), or pcb->mss when that is 0,
 *    and appends to the last unsent segment as long as it stays within mss_local.
 *    mss_local is not monotone: snd_wnd_max (the largest window the peer announced)
 *    is 0 in SYN-SENT and stays under 2 after a SYN or SYN-ACK with a window of 0 or
 *    1, so segments are then queued at the full MSS; a later window of 200 makes
 *    mss_local 100. pcb->mss can drop too: a SYN-ACK's MSS option applies to data
 *    queued while SYN-SENT (536 bytes a segment before it). When the last unsent
 *    segment is bigger than mss_local, the next tcp_write trips LWIP_ASSERT "mss_local
 *    is too small" (tcp_out.c:486; without asserts `space` underflows and a segment
 *    bigger than the MSS is built); when the spare room kept after it
 *    (pcb->unsent_oversize, TCP_OVERSIZE) is bigger than what mss_local leaves,
 *    "inconsistent oversize vs. space" (tcp_out.c:504). lwIP's master branch still
 *    has both asserts (it only made `space` signed, commit 84847825).
 *    Not configuration: the computation does not involve TCP_MSS, TCP_WND,
 *    TCP_SND_BUF or LWIP_WND_SCALE (0: snd_wnd_max is the peer's 16-bit window);
 *    TCP_OVERSIZE 0 would remove the second assert only, and the first is reached
 *    without it (a zero window, a write, a window of 200, a write).
 *    Guard: while the pcb is in that state, ts_netstack_tcp_sendable says 0 and
 *    ts_netstack_tcp_write queues nothing and returns 0 (stats: writes_deferred), the
 *    API's ordinary "send buffer full, wait for `sent`". The state ends when the tail
 *    segment leaves the unsent queue: sent when the window allows, or split to the
 *    window by lwIP's persist timer; its ACK brings the `sent` callback. No segment
 *    changes and lwIP's state is not touched; only new data waits. The
 *    alternatives were worse: raising the peer's window in its segments would make
 *    lwIP send beyond what the peer allows, and an abort would end a healthy
 *    connection.
 *
 * B. A persist timer with nothing to probe (reproducer lwip_persist_empty).
 *    Cause: tcp_receive (tcp_in.c) frees acknowledged segments from the unsent queue
 *    as well (segments a retransmission timeout moved back there), but the persist
 *    timer is stopped only on tcp_output's send path (tcp_out.c:1325), which an empty
 *    unsent queue never reaches. Data in flight, the peer's zero window (its ACK
 *    crossed our data), the RTO moves the data back to unsent where it does not fit
 *    the window: persist starts (tcp_out.c:1315); the peer then ACKs the data's first
 *    transmission with an open window: unsent is empty, persist still ticks, and the
 *    next tcp_slowtmr trips LWIP_ASSERT "tcp_slowtimr: persist ticking with empty
 *    send buffer" (tcp.c:1238). Unchanged on lwIP's master branch. Not configuration:
 *    lwIP 2.1.3 has no option for the persist timer, and no size option changes
 *    which queue the ACK empties.
 *    Guard: before lwIP's timers run (the only caller of tcp_slowtmr), a pcb whose
 *    persist timer runs with an empty unsent queue, or with data in flight (the other
 *    assert at that place, which tcp_output's rules keep out of reach today), has it
 *    stopped the way tcp_output stops it: persist_backoff = 0 (stats:
 *    persist_stopped). RFC 9293 §3.8.6.1: the persist timer probes a zero window
 *    while data waits to be sent; with nothing waiting there is nothing to probe, and
 *    data in flight has the retransmission timer. If data is written later and does
 *    not fit the window, tcp_output starts persist again. Only pcbs in that state
 *    change.
 *
 * C. The MSS option of a SYN segment that completes no handshake (reproducer
 *    lwip_syn_ack_mss_unacceptable).
 *    Cause: tcp_process (tcp_in.c) parses the options of every segment for a pcb in
 *    SYN-SENT or SYN-RECEIVED before it decides whether the segment is acceptable,
 *    and sets pcb->mss from an MSS option as it stands (only capped at TCP_MSS; the
 *    path's limit, tcp_eff_send_mss, is applied only when an acceptable SYN-ACK
 *    completes an active open or a SYN opens a passive one). A SYN-ACK with a wrong
 *    acknowledgment number, answered with RST and otherwise discarded, still sets the
 *    MSS: data written while SYN-SENT is then segmented by it, and after the real
 *    SYN-ACK goes out in segments bigger than the MTU allows (lwIP fragments them at
 *    the IP layer: MTU 1280, MSS 1280 from the bogus SYN-ACK, 1280-byte segments),
 *    or in segments of a few bytes when the bogus MSS was tiny; anyone who knows the
 *    ports can send it, no sequence number needed. A repeated SYN in SYN-RECEIVED
 *    changes the MSS the same way. RFC 9293 §3.10.7.3: in SYN-SENT a segment with an
 *    unacceptable ACK is answered with a reset and discarded; §3.10.7.4 and RFC 5961
 *    §4: a SYN in a synchronised or SYN-RECEIVED state does not renegotiate anything;
 *    §3.7.1: the send MSS comes from the SYN that opened the connection.
 *    Guard: before lwIP takes a SYN segment with an MSS option, the pcb it is for is
 *    looked up as tcp_input does (the 4-tuple among the active pcbs); in SYN-RECEIVED,
 *    or in SYN-SENT when the segment is not the SYN-ACK lwIP accepts (SYN and ACK,
 *    ACK = ISS + 1), its MSS options become NOPs (stats: syn_mss_ignored; a segment
 *    with RST is left alone: lwIP reads no options of it). lwIP still answers the
 *    segment as before; only the option it should not have honoured is gone. */
#include <string.h>

#include "lwip/priv/tcp_priv.h"

#include "netstack_internal.h"

bool ts_netstack_guard_write_blocked(const struct tcp_pcb *pcb) {
  const struct tcp_seg *last = pcb->unsent;
  if (!last) return false;
  while (last->next) last = last->next;
  /* tcp_write's own computation, then its two assertions on the unsent tail. */
  uint32_t mss_local = LWIP_MIN(pcb->mss, TCPWND_MIN16(pcb->snd_wnd_max / 2));
  if (mss_local == 0) mss_local = pcb->mss;
  uint32_t used = (uint32_t)last->len + LWIP_TCP_OPT_LENGTH(last->flags);
  if (mss_local < used) return true;
#if TCP_OVERSIZE
  if (pcb->unsent_oversize > mss_local - used) return true;
#endif
  return false;
}

void ts_netstack_guard_persist(ts_netstack *ns) {
  for (struct tcp_pcb *pcb = *ns->L->tcp_active_pcbs; pcb; pcb = pcb->next) {
    if (pcb->persist_backoff > 0 && (pcb->unsent == NULL || pcb->unacked != NULL)) {
      pcb->persist_backoff = 0;
      ns->stats.persist_stopped++;
    }
  }
}

static bool same_addr(const ip_addr_t *a, const ts_ipaddr *b) {
  ts_ipaddr t;
  ts_netstack_addr_from_lwip(a, &t);
  return t.family == b->family && memcmp(t.bytes, b->bytes, b->family == 6 ? 16 : 4) == 0;
}

void ts_netstack_guard_syn_mss(ts_netstack *ns, uint8_t *pkt, const ts_netstack_syn_mss *s) {
  if (s->flags & TCP_RST) return;
  for (struct tcp_pcb *pcb = *ns->L->tcp_active_pcbs; pcb; pcb = pcb->next) {
    if (pcb->remote_port != s->sport || pcb->local_port != s->dport || !same_addr(&pcb->remote_ip, &s->src) ||
        !same_addr(&pcb->local_ip, &s->dst))
      continue;
    /* tcp_process's test for the SYN-ACK that completes an active open. */
    bool completes = pcb->state == SYN_SENT && (s->flags & TCP_ACK) && s->ack == pcb->lastack + 1;
    if ((pcb->state == SYN_SENT || pcb->state == SYN_RCVD) && !completes)
      ns->stats.syn_mss_ignored += ts_netstack_strip_mss(pkt, s);
    return; /* tcp_input takes the first match */
  }
}
