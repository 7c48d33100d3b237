/* ts_tcp: one TCP connection as an explicit RFC 9293 state machine (see ts_tcp.h).
 * Section numbers in comments are RFC 9293 unless another RFC is named. */
#include "ts_bytes.h"
#include "ts_tcp.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct ts_tcp {
  ts_world *w;
  ts_tcp_config cfg; /* defaults filled in; cfg.name points at `name` */
  char name[TS_TCP_NAME_MAX];
  ts_tcp_state state;
  ts_tcp_reason reason;
  bool used, attached, ack_pending;
  ts_time last_invalid_ack; /* when an unacceptable segment was last answered; 0: never */
  /* send sequence variables (§3.3.1); snd_max is the highest sequence sent, since
   * go-back-N moves snd_nxt back to snd_una on a timeout */
  uint32_t iss, snd_una, snd_nxt, snd_max, snd_wnd, snd_wl1, snd_wl2;
  uint16_t snd_mss;
  /* receive sequence variables; the receive window is cfg.window, fixed */
  uint32_t irs, rcv_nxt;
  /* send buffer: a ring holding the bytes from sequence sb_seq on */
  uint8_t *sb;
  uint32_t sb_head, sb_len, sb_seq;
  bool fin_queued;  /* the application closed; FIN occupies sequence fin_seq */
  uint32_t fin_seq;
  /* timers: the deadlines, and the one world event that serves them */
  ts_time rto, rto_at, tw_at, last_rx, last_probe;
  uint32_t retries, probes;
  ts_event_id ev;
  ts_time ev_at;
  int busy;    /* inside an entry point: destroy waits for it to return */
  bool doomed; /* destroy was asked for while busy */
  void *user;
  ts_tcp_stats stats;
};

/* ---- sequence arithmetic (§3.4): modulo 2^32 ------------------------------------ */

static bool seq_lt(uint32_t a, uint32_t b) { return (int32_t)(a - b) < 0; }
static bool seq_leq(uint32_t a, uint32_t b) { return (int32_t)(a - b) <= 0; }
static bool seq_gt(uint32_t a, uint32_t b) { return (int32_t)(a - b) > 0; }
static bool seq_geq(uint32_t a, uint32_t b) { return (int32_t)(a - b) >= 0; }
static uint32_t min_u32(uint32_t a, uint32_t b) { return a < b ? a : b; }


/* ---- segments on the wire (§3.1, checksum over the pseudo-header §3.1) ---------- */

static uint32_t ip_header_len(uint8_t family) { return family == 6 ? TS_IPV6_HEADER : TS_IPV4_HEADER; }

static uint32_t tcp_header_len(const ts_tcp_seg *seg) {
  return TS_TCP_HEADER + (seg->mss ? TS_TCP_OPT_MSS_LEN : 0);
}

/* Writes IP and TCP headers in front of seg->len payload bytes already in place. */
static uint32_t write_headers(uint8_t *out, const ts_ipaddr *src, const ts_ipaddr *dst,
                              uint16_t sport, uint16_t dport, const ts_tcp_seg *seg) {
  uint32_t ih = ip_header_len(src->family), th = tcp_header_len(seg), l4 = th + seg->len;
  ts_ip_write_header(out, src, dst, TS_IPPROTO_TCP, l4);
  uint8_t *t = out + ih;
  ts_wr16(t, sport);
  ts_wr16(t + 2, dport);
  ts_wr32(t + 4, seg->seq);
  ts_wr32(t + 8, seg->ack);
  t[12] = (uint8_t)((th / 4) << 4);
  t[13] = seg->flags;
  ts_wr16(t + 14, seg->window);
  ts_wr16(t + 16, 0);
  ts_wr16(t + 18, 0); /* urgent pointer */
  if (seg->mss) {  /* §3.2: kind 2, length 4 */
    t[20] = TS_TCP_OPT_MSS;
    t[21] = TS_TCP_OPT_MSS_LEN;
    ts_wr16(t + 22, seg->mss);
  }
  uint32_t sum = ts_checksum_add(ts_ip_pseudo_header_sum(src, dst, TS_IPPROTO_TCP, l4), t, l4);
  ts_wr16(t + TS_TCP_CHECKSUM_AT, ts_checksum_finish(sum));
  return ih + l4;
}

static bool build_fits(const ts_ipaddr *src, const ts_ipaddr *dst, const ts_tcp_seg *seg,
                       uint32_t cap) {
  if (src->family != dst->family || (src->family != 4 && src->family != 6)) return false;
  uint64_t total = (uint64_t)ip_header_len(src->family) + tcp_header_len(seg) + seg->len;
  return total <= cap && total <= TS_PACKET_MAX;
}

uint32_t ts_tcp_build(uint8_t *out, uint32_t cap, const ts_ipaddr *src, const ts_ipaddr *dst,
                      uint16_t sport, uint16_t dport, const ts_tcp_seg *seg) {
  if (!build_fits(src, dst, seg, cap)) return 0;
  uint32_t off = ip_header_len(src->family) + tcp_header_len(seg);
  if (seg->len) memmove(out + off, seg->payload, seg->len);
  return write_headers(out, src, dst, sport, dport, seg);
}

static void parse_options(const uint8_t *o, uint32_t n, ts_tcp_seg *out) {
  uint32_t i = 0;
  while (i < n) {
    uint8_t kind = o[i];
    if (kind == TS_TCP_OPT_EOL) return;
    if (kind == TS_TCP_OPT_NOP) {
      i++;
      continue;
    }
    if (i + 1 >= n || o[i + 1] < 2 || i + o[i + 1] > n) return; /* malformed: stop */
    if (kind == TS_TCP_OPT_MSS && o[i + 1] == TS_TCP_OPT_MSS_LEN) out->mss = ts_rd16(o + i + 2);
    i += o[i + 1];
  }
}

int ts_tcp_parse(const ts_ip_info *info, const uint8_t *segment, size_t len, ts_tcp_seg *out) {
  memset(out, 0, sizeof *out);
  if (len < TS_TCP_HEADER || len > TS_PACKET_MAX) return TS_EPARSE;
  uint32_t hlen = (uint32_t)(segment[12] >> 4) * 4;
  if (hlen < TS_TCP_HEADER || hlen > len) return TS_EPARSE;
  uint32_t sum = ts_checksum_add(ts_ip_pseudo_header_sum(&info->src, &info->dst, TS_IPPROTO_TCP, (uint32_t)len), segment, len);
  if (ts_checksum_finish(sum) != 0) return TS_EPARSE;
  out->seq = ts_rd32(segment + 4);
  out->ack = ts_rd32(segment + 8);
  out->flags = segment[13] & 0x3f;
  out->window = ts_rd16(segment + 14);
  out->hlen = hlen;
  out->payload = segment + hlen;
  out->len = (uint32_t)len - hlen;
  parse_options(segment + TS_TCP_HEADER, hlen - TS_TCP_HEADER, out);
  return TS_OK;
}

bool ts_tcp_packet_checksum_ok(const uint8_t *ip, uint32_t len) {
  ts_ip_info info;
  ts_tcp_seg seg;
  if (ts_ip_parse(ip, len, &info) != 0 || info.proto != TS_IPPROTO_TCP) return false;
  return ts_tcp_parse(&info, ip + info.l4_offset, info.l4_len, &seg) == TS_OK;
}

static uint32_t seg_space(const ts_tcp_seg *s) {
  return s->len + ((s->flags & TS_TCP_FLAG_SYN) ? 1u : 0u) + ((s->flags & TS_TCP_FLAG_FIN) ? 1u : 0u);
}

/* §3.10.7.1: a segment for no connection is answered by a RST, unless it is one. */
ts_packet *ts_tcp_reset_for(ts_packet_pool *pool, const ts_ip_info *info, const ts_tcp_seg *seg) {
  if (seg->flags & TS_TCP_FLAG_RST) return NULL;
  ts_tcp_seg r = {0};
  if (seg->flags & TS_TCP_FLAG_ACK) {
    r.seq = seg->ack; /* <SEQ=SEG.ACK><CTL=RST> */
    r.flags = TS_TCP_FLAG_RST;
  } else {
    r.ack = seg->seq + seg_space(seg); /* <SEQ=0><ACK=SEG.SEQ+SEG.LEN><CTL=RST,ACK> */
    r.flags = TS_TCP_FLAG_RST | TS_TCP_FLAG_ACK;
  }
  uint32_t cap = ip_header_len(info->family) + TS_TCP_HEADER;
  ts_packet *p = ts_packet_alloc(pool, cap);
  if (!p) return NULL;
  p->len = ts_tcp_build(p->data, cap, &info->dst, &info->src, info->dport, info->sport, &r);
  if (p->len == 0) {
    ts_packet_free(pool, p);
    return NULL;
  }
  return p;
}

/* ---- names ---------------------------------------------------------------------- */

const char *ts_tcp_state_name(ts_tcp_state s) {
  static const char *const names[] = {"CLOSED",     "SYN_SENT",   "SYN_RECEIVED", "ESTABLISHED",
                                      "FIN_WAIT_1", "FIN_WAIT_2", "CLOSE_WAIT",   "CLOSING",
                                      "LAST_ACK",   "TIME_WAIT"};
  return (unsigned)s < sizeof names / sizeof names[0] ? names[s] : "?";
}

const char *ts_tcp_reason_name(ts_tcp_reason r) {
  static const char *const names[] = {"none", "fin", "reset", "refused", "timeout", "aborted"};
  return (unsigned)r < sizeof names / sizeof names[0] ? names[r] : "?";
}

/* ---- emitting ------------------------------------------------------------------- */

static bool synchronized(const ts_tcp *c) {
  return c->state != TS_TCP_CLOSED && c->state != TS_TCP_SYN_SENT;
}

/* One segment from the connection: `n` payload bytes from sequence `seq` out of the
 * send buffer, ACK set once synchronized (§3.10.7: every segment after SYN). */
static void emit(ts_tcp *c, uint32_t seq, uint8_t flags, uint32_t n) {
  ts_tcp_seg s = {.seq = seq, .flags = flags, .window = c->cfg.window, .len = n};
  if (c->state != TS_TCP_SYN_SENT && !(flags & TS_TCP_FLAG_RST)) {
    s.flags |= TS_TCP_FLAG_ACK;
    s.ack = c->rcv_nxt;
  }
  if (flags & TS_TCP_FLAG_SYN) s.mss = c->cfg.mss; /* §3.7.1: MSS only on SYN */
  uint32_t cap = ip_header_len(c->cfg.local.family) + tcp_header_len(&s) + n;
  ts_packet_pool *pool = ts_world_pool(c->w);
  ts_packet *p = ts_packet_alloc(pool, cap);
  if (!p) return;
  if (n) { /* ring bytes, possibly in two pieces */
    uint32_t cap_sb = c->cfg.send_buffer, at = (c->sb_head + (seq - c->sb_seq)) % cap_sb;
    uint32_t first = min_u32(n, cap_sb - at);
    uint8_t *dst = p->data + cap - n;
    memcpy(dst, c->sb + at, first);
    memcpy(dst + first, c->sb, n - first);
  }
  p->len = write_headers(p->data, &c->cfg.local, &c->cfg.remote, c->cfg.local_port,
                         c->cfg.remote_port, &s);
  p->flow = c->cfg.flow;
  c->stats.segments_sent++;
  if (seg_space(&s) && seq_lt(seq, c->snd_max)) c->stats.retransmissions++;
  else c->stats.bytes_sent += n;
  c->ack_pending = false;
  c->cfg.send_ip(c->cfg.send_ctx, p);
}

static void note_sent(ts_tcp *c, uint32_t end) {
  c->snd_nxt = end;
  if (seq_gt(end, c->snd_max)) c->snd_max = end;
  if (c->rto_at == TS_TIME_NEVER) c->rto_at = ts_world_now(c->w) + c->rto; /* RFC 6298 §5.1 */
}

static bool fin_may_go(const ts_tcp *c) {
  return c->fin_queued && (c->state == TS_TCP_FIN_WAIT_1 || c->state == TS_TCP_CLOSING ||
                           c->state == TS_TCP_LAST_ACK);
}

/* Sends the SYN (or SYN-ACK) if it is due; data waits for ESTABLISHED (§3.10.1). */
static void output_syn(ts_tcp *c) {
  if (c->snd_nxt == c->iss) {
    emit(c, c->iss, TS_TCP_FLAG_SYN, 0);
    note_sent(c, c->iss + 1);
  } else if (c->ack_pending && c->state == TS_TCP_SYN_RECEIVED) {
    emit(c, c->snd_nxt, 0, 0);
  }
}

/* Sends what the window allows from snd_nxt on, FIN last, else a pending ACK. */
static void output(ts_tcp *c) {
  if (c->state == TS_TCP_CLOSED) return;
  if (c->state == TS_TCP_SYN_SENT || c->state == TS_TCP_SYN_RECEIVED) {
    output_syn(c);
    return;
  }
  uint32_t data_end = c->sb_seq + c->sb_len, wnd_end = c->snd_una + c->snd_wnd;
  bool fin = fin_may_go(c);
  while (seq_lt(c->snd_nxt, data_end) && seq_lt(c->snd_nxt, wnd_end)) {
    uint32_t n = min_u32(min_u32(data_end - c->snd_nxt, wnd_end - c->snd_nxt), c->snd_mss);
    bool last = c->snd_nxt + n == data_end;
    uint8_t flags = (uint8_t)(last ? TS_TCP_FLAG_PSH : 0);
    if (last && fin) flags |= TS_TCP_FLAG_FIN; /* FIN rides on the last data segment */
    emit(c, c->snd_nxt, flags, n);
    note_sent(c, c->snd_nxt + n + ((flags & TS_TCP_FLAG_FIN) ? 1u : 0u));
  }
  if (fin && c->snd_nxt == c->fin_seq) { /* §3.10.4: FIN after all queued data */
    emit(c, c->fin_seq, TS_TCP_FLAG_FIN, 0);
    note_sent(c, c->fin_seq + 1);
  }
  if (c->ack_pending) emit(c, c->snd_nxt, 0, 0);
}

/* ---- the one world event --------------------------------------------------------- */

static void on_timer(void *obj, uint64_t arg);

static bool outstanding(const ts_tcp *c) { return c->snd_una != c->snd_max; }

static ts_time keepalive_at(const ts_tcp *c) {
  if (!c->cfg.keepalive || c->state != TS_TCP_ESTABLISHED || outstanding(c)) return TS_TIME_NEVER;
  return c->probes == 0 ? c->last_rx + c->cfg.keepalive_idle
                        : c->last_probe + c->cfg.keepalive_interval;
}

static ts_time next_deadline(const ts_tcp *c) {
  if (c->state == TS_TCP_CLOSED) return TS_TIME_NEVER;
  if (c->state == TS_TCP_TIME_WAIT) return c->tw_at;
  ts_time at = c->rto_at, ka = keepalive_at(c);
  return ka < at ? ka : at;
}

/* Keeps exactly one world event at or before the earliest deadline: an event that
 * fires early just re-arms, so restarting the RTO on every ACK costs nothing. */
static void timer_sync(ts_tcp *c) {
  ts_time want = next_deadline(c), now = ts_world_now(c->w);
  if (want != TS_TIME_NEVER && want < now) want = now;
  if (c->ev) {
    if (want != TS_TIME_NEVER && c->ev_at <= want) return;
    ts_world_cancel(c->w, c->ev);
    c->ev = 0;
  }
  if (want == TS_TIME_NEVER) return;
  if (ts_world_schedule(c->w, want, on_timer, c, 0, &c->ev) != TS_OK) c->ev = 0;
  c->ev_at = want;
}

/* ---- state changes --------------------------------------------------------------- */

static void trace(ts_tcp *c, const char *kind, const char *detail) {
  ts_trace_event(ts_world_trace(c->w), ts_world_now(c->w), kind, c->name, detail);
}

static void enter_closed(ts_tcp *c, ts_tcp_reason why) {
  c->state = TS_TCP_CLOSED;
  c->reason = why;
  c->rto_at = c->tw_at = TS_TIME_NEVER;
  c->ack_pending = false;
  if (c->ev) ts_world_cancel(c->w, c->ev);
  c->ev = 0;
  trace(c, "tcp-closed", ts_tcp_reason_name(why));
  if (c->cfg.on_closed) c->cfg.on_closed(c->cfg.ctx, c, why);
}

static void enter_time_wait(ts_tcp *c) { /* §3.10.7.4: start the 2 MSL timer */
  c->state = TS_TCP_TIME_WAIT;
  c->rto_at = TS_TIME_NEVER;
  c->tw_at = ts_world_now(c->w) + c->cfg.time_wait;
}

/* SYN acknowledged: ESTABLISHED, or FIN_WAIT_1 if the application already closed. */
static void establish(ts_tcp *c) {
  c->state = c->fin_queued ? TS_TCP_FIN_WAIT_1 : TS_TCP_ESTABLISHED;
  c->last_rx = ts_world_now(c->w);
  trace(c, "tcp-established", NULL);
  if (c->cfg.on_connected) c->cfg.on_connected(c->cfg.ctx, c);
}

static void set_peer_mss(ts_tcp *c, uint16_t peer) {
  if (peer == 0) peer = c->cfg.local.family == 6 ? TS_TCP_DEFAULT_MSS6 : TS_TCP_DEFAULT_MSS4;
  c->snd_mss = peer < c->cfg.mss ? peer : c->cfg.mss;
  if (c->snd_mss == 0) c->snd_mss = 1;
}

static void take_isn(ts_tcp *c) {
  char stream[TS_TCP_NAME_MAX + 8];
  ts_rng rng;
  snprintf(stream, sizeof stream, "tcp/%s", c->name);
  ts_world_rng(c->w, stream, &rng);
  c->iss = (uint32_t)ts_rng_next(&rng); /* §3.4.1: ISN, here from a named stream */
  c->snd_una = c->snd_nxt = c->snd_max = c->iss;
  c->sb_seq = c->iss + 1;
  c->used = true;
}

/* Bytes up to `ack` acknowledged: free them, restart or stop the RTO (RFC 6298 §5.2,
 * §5.3), reset the backoff. Returns whether send-buffer room was freed. */
static bool ack_advance(ts_tcp *c, uint32_t ack) {
  uint32_t freed = 0;
  if (seq_gt(ack, c->sb_seq)) {
    freed = min_u32(ack - c->sb_seq, c->sb_len);
    c->sb_head = (c->sb_head + freed) % c->cfg.send_buffer;
    c->sb_len -= freed;
    c->sb_seq += freed;
  }
  c->snd_una = ack;
  if (seq_lt(c->snd_nxt, ack)) c->snd_nxt = ack;
  c->retries = 0;
  c->rto = c->cfg.rto_initial;
  c->rto_at = outstanding(c) ? ts_world_now(c->w) + c->rto : TS_TIME_NEVER;
  return freed > 0;
}

static bool fin_acked(const ts_tcp *c) { return c->fin_queued && seq_gt(c->snd_una, c->fin_seq); }

static void send_rst(ts_tcp *c, uint32_t seq) { emit(c, seq, TS_TCP_FLAG_RST, 0); }

/* ---- input by state ---------------------------------------------------------------- */

/* §3.10.7.1: this connection is CLOSED; answer like a port nobody owns. */
static void input_closed(ts_tcp *c, const ts_ip_info *info, const ts_tcp_seg *s) {
  ts_packet *p = ts_tcp_reset_for(ts_world_pool(c->w), info, s);
  if (!p) return;
  p->flow = c->cfg.flow;
  c->stats.segments_sent++;
  c->cfg.send_ip(c->cfg.send_ctx, p);
}

/* §3.10.7.3: SYN-SENT. */
static void input_syn_sent(ts_tcp *c, const ts_tcp_seg *s) {
  bool ack = (s->flags & TS_TCP_FLAG_ACK) != 0;
  if (ack && (seq_leq(s->ack, c->iss) || seq_gt(s->ack, c->snd_max))) {
    if (!(s->flags & TS_TCP_FLAG_RST)) send_rst(c, s->ack); /* first: unacceptable ACK */
    return;
  }
  if (s->flags & TS_TCP_FLAG_RST) { /* second: RST with an acceptable ACK refuses */
    if (ack) enter_closed(c, TS_TCP_REASON_REFUSED);
    return;
  }
  if (!(s->flags & TS_TCP_FLAG_SYN)) return; /* fifth: neither SYN nor RST: drop */
  c->irs = s->seq;                          /* fourth: SYN */
  c->rcv_nxt = s->seq + 1;
  c->snd_wnd = s->window;
  c->snd_wl1 = s->seq;
  c->snd_wl2 = s->ack;
  set_peer_mss(c, s->mss);
  c->ack_pending = true;
  if (ack) {
    ack_advance(c, s->ack);
    establish(c);
  } else { /* simultaneous open: SYN-ACK from the same ISN */
    c->state = TS_TCP_SYN_RECEIVED;
    c->snd_nxt = c->iss;
  }
}

/* §3.10.7.4 first check: is the segment in the receive window? */
static bool acceptable(const ts_tcp *c, const ts_tcp_seg *s) {
  uint32_t len = seg_space(s), wnd = c->cfg.window;
  uint32_t lo = c->rcv_nxt, hi = c->rcv_nxt + wnd;
  bool start_in = seq_geq(s->seq, lo) && seq_lt(s->seq, hi);
  if (len == 0) return start_in;
  uint32_t last = s->seq + len - 1;
  return start_in || (seq_geq(last, lo) && seq_lt(last, hi));
}

/* An ACK in answer to a segment that is not acceptable (out of window, acking the
 * unsent, a RST or SYN that only earns a challenge): rate-limited, see
 * TS_TCP_INVALID_ACK_INTERVAL. */
static void answer_invalid(ts_tcp *c) {
  ts_time now = ts_world_now(c->w);
  if (c->last_invalid_ack && now - c->last_invalid_ack < TS_TCP_INVALID_ACK_INTERVAL) {
    c->stats.invalid_acks_suppressed++;
    return;
  }
  c->last_invalid_ack = now;
  c->ack_pending = true;
}

/* §3.10.7.4 second check, with RFC 5961 §3.2: only an exact RST resets; one inside
 * the window gets a challenge ACK. TIME_WAIT ignores RST (RFC 1337 §3). CLOSING and
 * LAST-ACK "enter CLOSED and return" without a reset signal (§3.10.7.4). */
static void input_rst(ts_tcp *c, const ts_tcp_seg *s) {
  if (s->seq != c->rcv_nxt) {
    answer_invalid(c);
    return;
  }
  if (c->state == TS_TCP_TIME_WAIT) return;
  /* In CLOSING and LAST-ACK both FINs went out and the user is told no reset: the
   * peer has finished (it answers from CLOSED after its TIME-WAIT). */
  bool both_fins = c->state == TS_TCP_CLOSING || c->state == TS_TCP_LAST_ACK;
  enter_closed(c, both_fins ? TS_TCP_REASON_FIN : TS_TCP_REASON_RESET);
}

/* §3.10.7.4 fifth check in SYN-RECEIVED: our SYN acknowledged, or a RST for a bad ACK. */
static bool ack_syn_received(ts_tcp *c, const ts_tcp_seg *s) {
  if (!(seq_lt(c->snd_una, s->ack) && seq_leq(s->ack, c->snd_max))) {
    send_rst(c, s->ack);
    return false;
  }
  c->snd_wnd = s->window;
  c->snd_wl1 = s->seq;
  c->snd_wl2 = s->ack;
  ack_advance(c, s->ack);
  establish(c);
  return c->state != TS_TCP_CLOSED;
}

static void update_window(ts_tcp *c, const ts_tcp_seg *s) { /* §3.10.7.4, SND.WL1/WL2 */
  if (seq_lt(c->snd_wl1, s->seq) || (c->snd_wl1 == s->seq && seq_leq(c->snd_wl2, s->ack))) {
    c->snd_wnd = s->window;
    c->snd_wl1 = s->seq;
    c->snd_wl2 = s->ack;
  }
}

/* §3.10.7.4 fifth check: the ACK field. False when processing stops here. */
static bool input_ack(ts_tcp *c, const ts_tcp_seg *s) {
  if (!(s->flags & TS_TCP_FLAG_ACK)) return false;
  if (c->state == TS_TCP_SYN_RECEIVED && !ack_syn_received(c, s)) return false;
  if (seq_gt(s->ack, c->snd_max)) { /* acks something not yet sent: ACK, drop */
    answer_invalid(c);
    return false;
  }
  bool freed = seq_lt(c->snd_una, s->ack) && ack_advance(c, s->ack);
  update_window(c, s);
  if (c->state == TS_TCP_FIN_WAIT_1 && fin_acked(c)) c->state = TS_TCP_FIN_WAIT_2;
  if (c->state == TS_TCP_CLOSING && fin_acked(c)) enter_time_wait(c);
  if (c->state == TS_TCP_LAST_ACK && fin_acked(c)) {
    enter_closed(c, TS_TCP_REASON_FIN);
    return false;
  }
  bool can_write = c->state == TS_TCP_ESTABLISHED || c->state == TS_TCP_CLOSE_WAIT;
  if (freed && can_write && c->cfg.on_writable) c->cfg.on_writable(c->cfg.ctx, c);
  return c->state != TS_TCP_CLOSED;
}

/* §3.10.7.4 seventh: segment text, in order only (out-of-order is dropped and the
 * duplicate ACK tells the sender where we are). */
static void input_text(ts_tcp *c, const ts_tcp_seg *s) {
  if (s->len == 0) return;
  if (c->state != TS_TCP_ESTABLISHED && c->state != TS_TCP_FIN_WAIT_1 &&
      c->state != TS_TCP_FIN_WAIT_2)
    return; /* the peer's FIN came already: ignore */
  c->ack_pending = true;
  if (seq_gt(s->seq, c->rcv_nxt)) {
    c->stats.dropped++;
    return;
  }
  uint32_t skip = c->rcv_nxt - s->seq;
  if (skip >= s->len) return;
  uint32_t n = min_u32(s->len - skip, c->cfg.window);
  c->rcv_nxt += n;
  c->stats.bytes_received += n;
  if (c->cfg.on_data) c->cfg.on_data(c->cfg.ctx, c, s->payload + skip, n);
}

/* §3.10.7.4 eighth: FIN, once everything before it has arrived. */
static void input_fin(ts_tcp *c, const ts_tcp_seg *s) {
  if (!(s->flags & TS_TCP_FLAG_FIN) || s->seq + s->len != c->rcv_nxt) return;
  switch (c->state) {
  case TS_TCP_ESTABLISHED: c->state = TS_TCP_CLOSE_WAIT; break;
  case TS_TCP_FIN_WAIT_1: c->state = TS_TCP_CLOSING; break; /* our FIN not yet acked */
  case TS_TCP_FIN_WAIT_2: enter_time_wait(c); break;
  case TS_TCP_TIME_WAIT: enter_time_wait(c); return; /* restart the 2 MSL timeout */
  default: return;
  }
  c->rcv_nxt += 1;
  c->ack_pending = true;
  if (c->cfg.on_data) c->cfg.on_data(c->cfg.ctx, c, NULL, 0);
}

/* §3.10.7.4: SYN-RECEIVED and the synchronized states. */
static void input_synchronized(ts_tcp *c, const ts_tcp_seg *s) {
  if (!acceptable(c, s)) {
    c->stats.dropped++;
    if (s->flags & TS_TCP_FLAG_RST) return;
    if (c->state == TS_TCP_SYN_RECEIVED && (s->flags & TS_TCP_FLAG_SYN) && s->seq == c->irs)
      c->snd_nxt = c->iss; /* the peer lost our SYN-ACK: send it again */
    else
      answer_invalid(c);
    if (c->state == TS_TCP_TIME_WAIT && (s->flags & TS_TCP_FLAG_FIN))
      enter_time_wait(c); /* §3.10.7.4 eighth: a retransmitted FIN restarts the 2 MSL wait */
    return;
  }
  c->last_rx = ts_world_now(c->w);
  c->probes = 0;
  if (s->flags & TS_TCP_FLAG_RST) {
    input_rst(c, s);
    return;
  }
  if (s->flags & TS_TCP_FLAG_SYN) { /* fourth: RFC 5961 §4.2 challenge ACK */
    answer_invalid(c);
    return;
  }
  if (!input_ack(c, s)) return;
  input_text(c, s);
  if (c->state == TS_TCP_CLOSED) return;
  input_fin(c, s);
}

static bool same_tuple(const ts_tcp *c, const ts_ip_info *info) {
  return info->sport == c->cfg.remote_port && info->dport == c->cfg.local_port &&
         ts_ipaddr_equal(&info->src, &c->cfg.remote) && ts_ipaddr_equal(&info->dst, &c->cfg.local);
}

static void free_now(ts_tcp *c) {
  if (c->ev) ts_world_cancel(c->w, c->ev);
  if (c->attached) ts_world_detach(c->w, c);
  free(c->sb);
  free(c);
}

/* Every entry point ends here: flush, re-arm the timer, honour a deferred destroy. */
static void leave(ts_tcp *c) {
  if (c->state != TS_TCP_CLOSED) {
    output(c);
    timer_sync(c);
  }
  if (--c->busy == 0 && c->doomed) free_now(c);
}

void ts_tcp_input(ts_tcp *c, const ts_ip_info *info, const uint8_t *segment, size_t len) {
  ts_tcp_seg s;
  if (!same_tuple(c, info)) {
    c->stats.dropped++;
    return;
  }
  if (ts_tcp_parse(info, segment, len, &s) != TS_OK) {
    c->stats.bad_checksum++;
    return;
  }
  c->stats.segments_received++;
  c->busy++;
  switch (c->state) {
  case TS_TCP_CLOSED: input_closed(c, info, &s); break;
  case TS_TCP_SYN_SENT: input_syn_sent(c, &s); break;
  default: input_synchronized(c, &s); break;
  }
  leave(c);
}

/* ---- timers ------------------------------------------------------------------------- */

/* RFC 6298 §5.4-5.6 with go-back-N: back off, resend everything from snd_una. */
static void on_rto(ts_tcp *c) {
  bool opening = c->state == TS_TCP_SYN_SENT || c->state == TS_TCP_SYN_RECEIVED;
  uint32_t limit = opening ? c->cfg.syn_retries : c->cfg.data_retries;
  if (c->retries >= limit) {
    c->stats.timeouts++;
    enter_closed(c, TS_TCP_REASON_TIMEOUT);
    return;
  }
  c->retries++;
  c->rto = c->rto * 2 < c->cfg.rto_max ? c->rto * 2 : c->cfg.rto_max;
  c->rto_at = ts_world_now(c->w) + c->rto;
  c->snd_nxt = c->snd_una;
}

/* RFC 9293 §3.8.4 / RFC 1122 §4.2.3.6: a probe one below SND.NXT draws an ACK. */
static void on_keepalive(ts_tcp *c) {
  if (c->probes >= c->cfg.keepalive_probes) {
    c->stats.timeouts++;
    enter_closed(c, TS_TCP_REASON_TIMEOUT);
    return;
  }
  c->probes++;
  c->last_probe = ts_world_now(c->w);
  c->stats.keepalives_sent++;
  emit(c, c->snd_nxt - 1, 0, 0);
}

static void on_timer(void *obj, uint64_t arg) {
  ts_tcp *c = obj;
  (void)arg;
  ts_time now = ts_world_now(c->w);
  c->ev = 0;
  c->busy++;
  if (c->state == TS_TCP_TIME_WAIT && now >= c->tw_at)
    enter_closed(c, TS_TCP_REASON_FIN);
  else if (now >= c->rto_at)
    on_rto(c);
  else if (now >= keepalive_at(c))
    on_keepalive(c);
  leave(c);
}

/* ---- the application side ------------------------------------------------------------- */

static void fill_defaults(ts_tcp_config *k) {
  if (!k->mss) k->mss = k->local.family == 6 ? TS_TCP_MSS6_1500 : TS_TCP_MSS4_1500;
  if (!k->window) k->window = TS_TCP_MAX_WINDOW;
  if (!k->send_buffer) k->send_buffer = TS_TCP_SEND_BUFFER;
  if (!k->rto_initial) k->rto_initial = TS_TCP_RTO_INITIAL;
  if (!k->rto_max) k->rto_max = TS_TCP_RTO_MAX;
  if (!k->syn_retries) k->syn_retries = TS_TCP_SYN_RETRIES;
  if (!k->data_retries) k->data_retries = TS_TCP_DATA_RETRIES;
  if (!k->time_wait) k->time_wait = TS_TCP_TIME_WAIT_DEFAULT;
  if (!k->keepalive_idle) k->keepalive_idle = TS_TCP_KEEPALIVE_IDLE;
  if (!k->keepalive_interval) k->keepalive_interval = TS_TCP_KEEPALIVE_INTERVAL;
  if (!k->keepalive_probes) k->keepalive_probes = TS_TCP_KEEPALIVE_PROBES;
}

static void tcp_release(void *obj) {
  ts_tcp *c = obj;
  c->attached = false;
  free_now(c);
}

int ts_tcp_create(ts_world *w, const ts_tcp_config *cfg, ts_tcp **out) {
  if (!w || !cfg || !out || !cfg->send_ip) return TS_EINVAL;
  if (cfg->local.family != cfg->remote.family || (cfg->local.family != 4 && cfg->local.family != 6))
    return TS_EINVAL;
  ts_tcp *c = calloc(1, sizeof *c);
  if (!c) return TS_ENOMEM;
  c->w = w;
  c->cfg = *cfg;
  fill_defaults(&c->cfg);
  snprintf(c->name, sizeof c->name, "%s", cfg->name ? cfg->name : "tcp");
  c->cfg.name = c->name;
  c->sb = malloc(c->cfg.send_buffer);
  if (!c->sb || ts_world_attach(w, c, tcp_release) != TS_OK) {
    free(c->sb);
    free(c);
    return TS_ENOMEM;
  }
  c->attached = true;
  c->rto = c->cfg.rto_initial;
  c->rto_at = c->tw_at = TS_TIME_NEVER;
  set_peer_mss(c, 0);
  *out = c;
  return TS_OK;
}

void ts_tcp_destroy(ts_tcp *c) {
  if (!c) return;
  if (c->busy) {
    c->doomed = true;
    return;
  }
  free_now(c);
}

int ts_tcp_connect(ts_tcp *c) { /* §3.10.1 OPEN, active */
  if (c->state != TS_TCP_CLOSED || c->used) return TS_ESTATE;
  c->busy++;
  take_isn(c);
  c->state = TS_TCP_SYN_SENT;
  trace(c, "tcp-connect", NULL);
  leave(c);
  return TS_OK;
}

int ts_tcp_accept(ts_tcp *c, const ts_ip_info *info, const uint8_t *segment, size_t len) {
  ts_tcp_seg s;
  if (c->state != TS_TCP_CLOSED || c->used || !same_tuple(c, info)) return TS_ESTATE;
  if (ts_tcp_parse(info, segment, len, &s) != TS_OK) return TS_EPARSE;
  if ((s.flags & (TS_TCP_FLAG_SYN | TS_TCP_FLAG_ACK | TS_TCP_FLAG_RST)) != TS_TCP_FLAG_SYN)
    return TS_EINVAL;
  c->busy++; /* §3.10.7.2 LISTEN, third check: SYN */
  c->stats.segments_received++;
  take_isn(c);
  c->irs = s.seq;
  c->rcv_nxt = s.seq + 1;
  c->snd_wnd = s.window;
  c->snd_wl1 = s.seq;
  set_peer_mss(c, s.mss);
  c->state = TS_TCP_SYN_RECEIVED;
  c->last_rx = ts_world_now(c->w);
  leave(c);
  return TS_OK;
}

static bool writable_state(const ts_tcp *c) {
  return !c->fin_queued &&
         (c->state == TS_TCP_SYN_SENT || c->state == TS_TCP_SYN_RECEIVED ||
          c->state == TS_TCP_ESTABLISHED || c->state == TS_TCP_CLOSE_WAIT);
}

int64_t ts_tcp_write(ts_tcp *c, const uint8_t *data, size_t len) { /* §3.10.2 SEND */
  if (!writable_state(c)) return TS_ESTATE;
  uint32_t cap = c->cfg.send_buffer;
  uint32_t n = (uint32_t)(len < cap - c->sb_len ? len : cap - c->sb_len);
  uint32_t at = (c->sb_head + c->sb_len) % cap, first = min_u32(n, cap - at);
  if (n) {
    memcpy(c->sb + at, data, first);
    memcpy(c->sb, data + first, n - first);
  }
  c->sb_len += n;
  if (c->busy) return n; /* inside a callback: the entry point's leave() sends it all */
  c->busy++;
  leave(c);
  return n;
}

int ts_tcp_close(ts_tcp *c) { /* §3.10.4 CLOSE */
  if (c->fin_queued) return TS_ESTATE;
  switch (c->state) {
  case TS_TCP_SYN_SENT:
    c->busy++;
    enter_closed(c, TS_TCP_REASON_ABORTED);
    leave(c);
    return TS_OK;
  case TS_TCP_SYN_RECEIVED: break; /* FIN once ESTABLISHED */
  case TS_TCP_ESTABLISHED: c->state = TS_TCP_FIN_WAIT_1; break;
  case TS_TCP_CLOSE_WAIT: c->state = TS_TCP_LAST_ACK; break;
  default: return TS_ESTATE;
  }
  c->fin_queued = true;
  c->fin_seq = c->sb_seq + c->sb_len;
  c->busy++;
  leave(c);
  return TS_OK;
}

void ts_tcp_abort(ts_tcp *c) { /* §3.10.5 ABORT */
  if (c->state == TS_TCP_CLOSED) return;
  c->busy++;
  bool rst = synchronized(c) && c->state != TS_TCP_CLOSING && c->state != TS_TCP_LAST_ACK &&
             c->state != TS_TCP_TIME_WAIT;
  if (rst) send_rst(c, c->snd_max);
  enter_closed(c, TS_TCP_REASON_ABORTED);
  leave(c);
}

ts_tcp_state ts_tcp_get_state(const ts_tcp *c) { return c->state; }
ts_tcp_reason ts_tcp_close_reason(const ts_tcp *c) { return c->reason; }
uint32_t ts_tcp_send_space(const ts_tcp *c) { return c->cfg.send_buffer - c->sb_len; }
uint32_t ts_tcp_unacked(const ts_tcp *c) { return c->sb_len; }
const ts_tcp_config *ts_tcp_get_config(const ts_tcp *c) { return &c->cfg; }
const ts_tcp_stats *ts_tcp_get_stats(const ts_tcp *c) { return &c->stats; }
void ts_tcp_set_user(ts_tcp *c, void *user) { c->user = user; }
void *ts_tcp_user(const ts_tcp *c) { return c->user; }
ts_time ts_tcp_next_timer(const ts_tcp *c) { return c->ev ? c->ev_at : TS_TIME_NEVER; }
