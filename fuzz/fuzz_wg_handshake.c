/* Fuzz target: the handshake and session state machine of two engines (A, B; PSK
 * on) over a hostile network, on virtual time.
 *
 * Input: 8 bytes of RNG seed, then steps [op][arg...]:
 *   0/1  A/B sends an inner packet (tx_ip)       6 reorder: swap head with slot arg
 *   2/3  deliver head of A->B / B->A queue       7 corrupt: byte arg2 of head ^= arg3 (!=0)
 *   4    drop head (arg: direction)              8 advance time (arg) and fire timers
 *   5    duplicate head (arg: direction)         9 restart a side (arg), same keys
 *  10/11 A/B initiates a handshake / sends a keepalive (arg)
 * At the end the network turns perfect and both directions must carry data again.
 *
 * Claims, checked after every action (a broken claim aborts with a message):
 *  - every DELIVER_IP is byte-exact a packet the other side sent, delivered at most
 *    once (nothing unauthenticated, replayed or duplicated reaches the tun side);
 *  - a transport message that was accepted is rejected when replayed;
 *  - a corrupted datagram is never accepted (except in the unauthenticated mac2
 *    field of a handshake message);
 *  - per receiver index, the counters a sender puts on the wire strictly grow;
 *  - sessions agree: the engine exposes no keys, so agreement is checked by data:
 *    after the chaos, each side's packets decrypt on the other within 60 s. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ts_rng.h"
#include "wg.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define FAIL(...)                                       \
  do {                                                  \
    fprintf(stderr, "fuzz_wg_handshake: " __VA_ARGS__); \
    fputc('\n', stderr);                                \
    abort();                                            \
  } while (0)

#define QMAX 32
#define MSGMAX 256
#define MAXID 1024
#define CTRMAP 64

typedef struct dgram {
  size_t len;
  uint8_t b[MSGMAX];
} dgram;

typedef struct side {
  int id; /* 0 = A, 1 = B */
  wg_device *dev;
  wg_peer *peer;
  ts_rng rng;
  uint8_t priv[32], pub[32], tun[4];
  wg_endpoint ep;
  dgram q[QMAX]; /* datagrams in flight from this side */
  size_t nq;
  uint32_t next_id;         /* inner packets sent */
  uint8_t got[MAXID];       /* inner packets of this side delivered to the other */
  uint32_t ctr_idx[CTRMAP]; /* wire counters per receiver index */
  uint64_t ctr_val[CTRMAP];
  size_t nctr;
  size_t delivered_now; /* DELIVER_IPs during the current call into this side */
  int restarts;
} side;

static side S[2];
static int debug_log;
static uint8_t psk[32];
static uint64_t seed;

static size_t make_packet(int from, uint32_t id, uint8_t *buf) {
  const side *s = &S[from], *o = &S[!from];
  size_t plen = 12 + id % 23, total = 28 + plen;
  memset(buf, 0, total);
  buf[0] = 0x45;
  buf[2] = (uint8_t)(total >> 8);
  buf[3] = (uint8_t)total;
  buf[8] = 64;
  buf[9] = 17;
  memcpy(buf + 12, s->tun, 4);
  memcpy(buf + 16, o->tun, 4);
  uint32_t sum = 0;
  for (int i = 0; i < 20; i += 2) sum += (uint32_t)(buf[i] << 8 | buf[i + 1]);
  while (sum >> 16) sum = (sum & 0xffff) + (sum >> 16);
  buf[10] = (uint8_t)(~sum >> 8);
  buf[11] = (uint8_t)~sum;
  buf[24] = (uint8_t)((8 + plen) >> 8);
  buf[25] = (uint8_t)(8 + plen);
  buf[28] = (uint8_t)from;
  memcpy(buf + 29, &id, 4);
  for (size_t i = 33; i < total; i++) buf[i] = (uint8_t)(id * 7 + i);
  return total;
}

static void check_counter(side *s, const uint8_t *d, size_t len) {
  if (len < 32 || d[0] != 4) return;
  uint32_t idx = (uint32_t)d[4] | (uint32_t)d[5] << 8 | (uint32_t)d[6] << 16 | (uint32_t)d[7] << 24;
  uint64_t ctr = 0;
  for (int i = 7; i >= 0; i--) ctr = ctr << 8 | d[8 + i];
  for (size_t i = 0; i < s->nctr; i++)
    if (s->ctr_idx[i] == idx) {
      if (ctr <= s->ctr_val[i])
        FAIL("side %c sent counter %llu to index %08x after %llu: counters must grow",
             "AB"[s->id], (unsigned long long)ctr, idx, (unsigned long long)s->ctr_val[i]);
      s->ctr_val[i] = ctr;
      return;
    }
  size_t slot = s->nctr < CTRMAP ? s->nctr++ : (size_t)(idx % CTRMAP);
  s->ctr_idx[slot] = idx;
  s->ctr_val[slot] = ctr;
}

static void on_action(void *ctx, const wg_action *a) {
  side *s = ctx;
  if (a->kind == WG_ACTION_SEND_UDP) {
    check_counter(s, a->data, a->len);
    if (a->len > MSGMAX) return; /* inner packets are small: never happens */
    if (s->nq == QMAX) {
      memmove(s->q, s->q + 1, (QMAX - 1) * sizeof s->q[0]);
      s->nq--;
    }
    s->q[s->nq].len = a->len;
    memcpy(s->q[s->nq].b, a->data, a->len);
    s->nq++;
  } else if (a->kind == WG_ACTION_LOG && debug_log) { /* WGF_DEBUG=1: trace events */
    fprintf(stderr, "  %c %s\n", "AB"[s->id], a->text);
  } else if (a->kind == WG_ACTION_DELIVER_IP) {
    side *o = &S[!s->id];
    uint8_t want[MSGMAX];
    uint32_t id;
    if (a->len < 33) FAIL("side %c: delivered a %zu-byte packet nobody sent", "AB"[s->id], a->len);
    memcpy(&id, a->data + 29, 4);
    if (a->data[28] != o->id || id >= o->next_id)
      FAIL("side %c: delivered a packet the other side never sent", "AB"[s->id]);
    size_t wl = make_packet(o->id, id, want);
    if (wl != a->len || memcmp(want, a->data, wl) != 0)
      FAIL("side %c: delivered packet %u differs from what was sent", "AB"[s->id], id);
    if (o->got[id]) FAIL("side %c: packet %u delivered twice (replay)", "AB"[s->id], id);
    if (a->peer != s->peer) FAIL("side %c: packet attributed to the wrong peer", "AB"[s->id]);
    o->got[id] = 1;
    s->delivered_now++;
  }
}

static wg_sink sink_of(side *s) { return (wg_sink){on_action, s}; }

static void side_start(side *s) {
  char stream[48];
  snprintf(stream, sizeof stream, "fuzz/side%d/start%u", s->id, (unsigned)s->restarts);
  ts_rng_init(&s->rng, seed, stream);
  wg_device_config cfg = {.rng = ts_rng_source, .rng_ctx = &s->rng,
                          .wall_clock_epoch_ns = INT64_C(1700000000) * WG_NS_PER_S};
  memcpy(cfg.private_key, s->priv, 32);
  if (wg_device_create(&s->dev, &cfg) != WG_OK) FAIL("device create");
  side *o = &S[!s->id];
  wg_peer_config pc = {.has_preshared_key = 1, .endpoint = o->ep};
  memcpy(pc.public_key, o->pub, 32);
  memcpy(pc.preshared_key, psk, 32);
  if (wg_device_add_peer(s->dev, &pc, &s->peer) != WG_OK) FAIL("add peer");
  if (wg_peer_add_allowed_ip(s->peer, 4, o->tun, 32) != WG_OK) FAIL("allowed ip");
}

static void setup_keys(void) {
  static int done;
  static uint8_t priv[2][32], pub[2][32];
  if (!done) {
    ts_rng k;
    ts_rng_init(&k, 0xabcdef, "fuzz/keys");
    for (int i = 0; i < 2; i++) {
      ts_rng_source(&k, priv[i], 32);
      wg_key_clamp(priv[i]);
      if (wg_key_public_from_private(pub[i], priv[i]) != WG_OK) FAIL("key");
    }
    ts_rng_source(&k, psk, 32);
    done = 1;
  }
  for (int i = 0; i < 2; i++) {
    memset(&S[i], 0, sizeof S[i]);
    S[i].id = i;
    memcpy(S[i].priv, priv[i], 32);
    memcpy(S[i].pub, pub[i], 32);
    memcpy(S[i].tun, (const uint8_t[4]){10, 0, 0, (uint8_t)(i + 1)}, 4);
    S[i].ep = wg_endpoint_ipv4((const uint8_t[4]){192, 0, 2, (uint8_t)(i + 1)},
                               (uint16_t)(1000 + i));
  }
}

static void send_packet(side *s, int64_t now) {
  if (s->next_id >= MAXID) return;
  uint8_t pk[MSGMAX];
  size_t len = make_packet(s->id, s->next_id++, pk);
  wg_sink k = sink_of(s);
  int r = wg_device_tx_ip(s->dev, now, pk, len, &k);
  if (r != WG_OK && r != WG_ESTAGED) FAIL("tx_ip refused a routable packet: %s", wg_strerror(r));
}

/* Delivers the head datagram of `from`'s queue to the other side. */
static void deliver_head(side *from, int64_t now, int corrupted, size_t corrupt_at) {
  if (!from->nq) return;
  dgram d = from->q[0];
  memmove(from->q, from->q + 1, (from->nq - 1) * sizeof from->q[0]);
  from->nq--;
  side *to = &S[!from->id];
  wg_sink k = sink_of(to);
  to->delivered_now = 0;
  int r = wg_device_rx_udp(to->dev, now, &from->ep, d.b, d.len, &k);
  if (corrupted && r == WG_OK) {
    int mac2_field = (d.len == 148 && d.b[0] == 1 && corrupt_at >= 132) ||
                     (d.len == 92 && d.b[0] == 2 && corrupt_at >= 76);
    if (!mac2_field)
      FAIL("corrupted %zu-byte datagram (byte %zu) accepted by side %c", d.len, corrupt_at,
           "AB"[to->id]);
  }
  if (r == WG_OK && d.len >= 32 && d.b[0] == 4) {
    size_t before = to->delivered_now;
    r = wg_device_rx_udp(to->dev, now, &from->ep, d.b, d.len, &k);
    if (r == WG_OK || to->delivered_now != before)
      FAIL("replayed transport message accepted by side %c", "AB"[to->id]);
  }
}

typedef struct cursor {
  const uint8_t *p;
  size_t n, i;
} cursor;
static uint8_t next(cursor *c) { return c->i < c->n ? c->p[c->i++] : 0; }

static int64_t last_call[2];

static void fire_timers(int64_t now) {
  for (int guard = 0; guard < 4096; guard++) {
    int64_t d0 = wg_device_next_deadline(S[0].dev), d1 = wg_device_next_deadline(S[1].dev);
    int64_t d = d0 < d1 ? d0 : d1;
    if (d > now) return;
    int w = d0 == d ? 0 : 1;
    int64_t t = d > last_call[w] ? d : last_call[w];
    wg_sink k = sink_of(&S[w]);
    wg_device_tick(S[w].dev, t, &k);
    last_call[w] = t;
    if (wg_device_next_deadline(S[w].dev) == d && t == d)
      FAIL("side %c: tick at its deadline %lld left the same deadline", "AB"[w], (long long)d);
  }
  FAIL("timers did not settle");
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  static int init;
  if (!init) {
    debug_log = getenv("WGF_DEBUG") != NULL;
    init = 1;
  }
  cursor c = {data, size, 0};
  seed = 0;
  for (int i = 0; i < 8; i++) seed = seed << 8 | next(&c);
  setup_keys();
  side_start(&S[0]);
  side_start(&S[1]);
  int64_t now = WG_NS_PER_S;
  last_call[0] = last_call[1] = now;

  for (int steps = 0; c.i < c.n && steps < 400; steps++) {
    uint8_t op = next(&c) % 12, arg = next(&c);
    side *s = &S[arg & 1];
    switch (op) {
    case 0:
    case 1:
      send_packet(&S[op - 0], now);
      break;
    case 2:
    case 3:
      deliver_head(&S[op - 2], now, 0, 0);
      break;
    case 4:
      if (s->nq) {
        memmove(s->q, s->q + 1, (s->nq - 1) * sizeof s->q[0]);
        s->nq--;
      }
      break;
    case 5:
      if (s->nq && s->nq < QMAX) s->q[s->nq++] = s->q[0];
      break;
    case 6:
      if (s->nq > 1) {
        size_t j = (size_t)(arg >> 1) % s->nq;
        dgram t = s->q[0];
        s->q[0] = s->q[j];
        s->q[j] = t;
      }
      break;
    case 7:
      if (s->nq) {
        size_t at = next(&c) % s->q[0].len;
        uint8_t x = next(&c);
        if (!x) x = 0x80;
        s->q[0].b[at] ^= x;
        deliver_head(s, now, 1, at);
      }
      break;
    case 8:
      now += arg < 128 ? (int64_t)arg * WG_NS_PER_MS : (int64_t)(arg - 127) * 2 * WG_NS_PER_S;
      fire_timers(now);
      break;
    case 9:
      wg_device_destroy(s->dev);
      s->restarts++;
      s->nctr = 0;
      side_start(s);
      break;
    case 10:
    case 11: {
      side *w = &S[op - 10];
      wg_sink k = sink_of(w);
      if (arg & 1)
        wg_peer_send_keepalive(w->peer, now, &k);
      else
        wg_peer_initiate_handshake(w->peer, now, &k);
      break;
    }
    }
    last_call[0] = last_call[1] = now;
  }

  /* Perfect network from here: both directions must work again within 60 s. */
  S[0].nq = S[1].nq = 0;
  int ok[2] = {0, 0};
  uint32_t first_probe[2] = {S[0].next_id, S[1].next_id};
  /* The two sides send half a second apart: initiations crossing at the same
   * instant overwrite each other's handshake state on both sides (as in every
   * WireGuard implementation; real timers are jittered), which a lock-step
   * harness would otherwise repeat forever. */
  for (int half = 0; half < 120 && !(ok[0] && ok[1]); half++) {
    side *w = &S[half & 1];
    if (!ok[w->id]) send_packet(w, now);
    for (int round = 0; round < 16 && (S[0].nq || S[1].nq); round++)
      for (int k = 0; k < 2; k++)
        while (S[k].nq) deliver_head(&S[k], now, 0, 0);
    now += WG_NS_PER_S / 2;
    fire_timers(now);
    last_call[0] = last_call[1] = now;
    for (int round = 0; round < 16 && (S[0].nq || S[1].nq); round++)
      for (int k = 0; k < 2; k++)
        while (S[k].nq) deliver_head(&S[k], now, 0, 0);
    for (int k = 0; k < 2; k++)
      for (uint32_t id = first_probe[k]; id < S[k].next_id && id < MAXID; id++)
        if (S[k].got[id]) ok[k] = 1;
  }
  if ((!ok[0] || !ok[1]) && S[0].next_id < MAXID && S[1].next_id < MAXID)
    FAIL("sessions never agreed again on a perfect network (A->B %s, B->A %s)",
         ok[0] ? "ok" : "dead", ok[1] ? "ok" : "dead");
  wg_device_destroy(S[0].dev);
  wg_device_destroy(S[1].dev);
  return 0;
}
