/* Timer rules on virtual time: retransmit with jitter, give-up, passive and
 * persistent keepalives, rekey, reject, key zeroing, and exact next deadlines. */
#include <stdlib.h>
#include <string.h>

#include "engine_testkit.h"
#include "messages.h"
#include "tstest.h"

#define S WG_NS_PER_S
#define MS WG_NS_PER_MS

static const uint8_t IP_A[4] = {10, 0, 0, 1}, IP_B[4] = {10, 0, 0, 2};

typedef struct world {
  tk_node a, b;
  wg_peer *ab, *ba; /* A's peer B, B's peer A */
} world;

static world *world_new(uint16_t persistent_keepalive_a) {
  world *w = calloc(1, sizeof *w);
  tk_node_init(&w->a, 1, 1, 51820, 101, NULL);
  tk_node_init(&w->b, 2, 2, 51820, 202, NULL);
  wg_peer_config pc;
  memset(&pc, 0, sizeof pc);
  memcpy(pc.public_key, w->b.pub, 32);
  pc.endpoint = w->b.ep;
  pc.persistent_keepalive_s = persistent_keepalive_a;
  wg_device_add_peer(w->a.dev, &pc, &w->ab);
  wg_peer_add_allowed_ip(w->ab, 4, IP_B, 32);
  w->ba = tk_add_peer(&w->b, &w->a, NULL, IP_A, 32);
  return w;
}

static void world_free(world *w) {
  tk_node_free(&w->a);
  tk_node_free(&w->b);
  free(w);
}

static int send_ip(tk_node *from, const uint8_t src[4], const uint8_t dst[4], int64_t now) {
  uint8_t pkt[100];
  size_t len = tk_ipv4_packet(pkt, src, dst, 20, 0x11);
  wg_sink s = tk_sink(from);
  return wg_device_tx_ip(from->dev, now, pkt, len, &s);
}

static void pump(world *w, int64_t now) {
  tk_node *nodes[2] = {&w->a, &w->b};
  tk_pump(nodes, 2, now);
}

static void tick(tk_node *n, int64_t now) {
  wg_sink s = tk_sink(n);
  wg_device_tick(n->dev, now, &s);
}

static wg_peer_stats stats(wg_peer *p) {
  wg_peer_stats st;
  wg_peer_get_stats(p, &st);
  return st;
}

static int64_t min_deadline(const wg_peer_stats *st) {
  int64_t d = st->retransmit_handshake_at;
  const int64_t others[4] = {st->new_handshake_at, st->send_keepalive_at, st->zero_keys_at,
                             st->persistent_keepalive_at};
  for (int i = 0; i < 4; i++)
    if (others[i] < d) d = others[i];
  return d;
}

/* Establishes a session at time t (A initiates) and clears the recorders. */
static void establish(world *w, int64_t t) {
  wg_sink s = tk_sink(&w->a);
  wg_peer_initiate_handshake(w->ab, t, &s);
  pump(w, t);
  tk_node_clear(&w->a);
  tk_node_clear(&w->b);
}

TS_TEST(retransmit_jitter_bounds_and_give_up_after_20_attempts) {
  world *w = world_new(0);
  w->b.drop_outgoing = true; /* B never answers */
  w->a.drop_outgoing = false;
  TS_CHECK_INT(wg_device_next_deadline(w->a.dev), ==, WG_NEVER);
  TS_CHECK_INT(send_ip(&w->a, IP_A, IP_B, 0), ==, WG_ESTAGED);
  TS_CHECK_INT(send_ip(&w->a, IP_A, IP_B, 0), ==, WG_ESTAGED);
  int64_t last_init = 0, now = 0, gave_up_at = -1;
  size_t inits = tk_count_sent_type(&w->a, WG_MSG_INITIATION);
  TS_CHECK_INT(inits, ==, 1);
  for (int guard = 0; guard < 100 && gave_up_at < 0; guard++) {
    int64_t next = wg_device_next_deadline(w->a.dev);
    wg_peer_stats st = stats(w->ab);
    TS_CHECK_INT(next, ==, min_deadline(&st));
    /* Ticking 1 ns early does nothing. */
    size_t before = w->a.nout, before_ev = w->a.nevents;
    tick(&w->a, next - 1);
    TS_CHECK_INT(w->a.nout, ==, before);
    TS_CHECK_INT(w->a.nevents, ==, before_ev);
    now = next;
    tick(&w->a, now);
    if (tk_count_event(&w->a, WG_EV_HANDSHAKE_GAVE_UP)) {
      gave_up_at = now;
      break;
    }
    size_t n = tk_count_sent_type(&w->a, WG_MSG_INITIATION);
    TS_CHECK_INT(n, ==, inits + 1);
    inits = n;
    /* REKEY_TIMEOUT plus 0..333 ms of whole-millisecond jitter. */
    int64_t gap = now - last_init;
    TS_CHECK_INT(gap, >=, 5 * S);
    TS_CHECK_INT(gap, <=, 5 * S + 333 * MS);
    TS_CHECK_INT(gap % MS, ==, 0);
    last_init = now;
  }
  TS_CHECK_INT(inits, ==, 20);
  TS_CHECK_INT(gave_up_at - last_init, >=, 5 * S);
  TS_CHECK_INT(gave_up_at, >=, 100 * S);
  TS_CHECK_INT(gave_up_at, <=, 20 * (5 * S + 333 * MS));
  /* Give-up flushes the staged packets and schedules key zeroing 540 s later. */
  TS_CHECK_INT(tk_count_event(&w->a, WG_DROP_STAGED_FLUSHED), ==, 2);
  wg_peer_stats st = stats(w->ab);
  TS_CHECK_INT(st.staged_packets, ==, 0);
  TS_CHECK_INT(st.zero_keys_at, ==, gave_up_at + 540 * S);
  TS_CHECK_INT(wg_device_next_deadline(w->a.dev), ==, gave_up_at + 540 * S);
  tick(&w->a, gave_up_at + 540 * S);
  TS_CHECK_INT(tk_count_event(&w->a, WG_EV_KEYS_ZEROED), ==, 1);
  TS_CHECK_INT(wg_device_next_deadline(w->a.dev), ==, WG_NEVER);
  world_free(w);
}

TS_TEST(jitter_comes_from_injected_rng) {
  /* Script the RNG: index (4 bytes), ephemeral (32 bytes), then jitter word 333. */
  world *w = world_new(0);
  uint8_t script[40] = {0};
  script[36] = 77; /* jitter = 77 % 334 = 77 ms */
  tk_rng_script(&w->a.rng, script, sizeof script);
  wg_sink s = tk_sink(&w->a);
  wg_peer_initiate_handshake(w->ab, 1000, &s);
  TS_CHECK_INT(stats(w->ab).retransmit_handshake_at, ==, 1000 + 5 * S + 77 * MS);
  world_free(w);
}

TS_TEST(steady_traffic_keeps_retrying_without_giving_up) {
  world *w = world_new(0);
  w->b.drop_outgoing = true;
  for (int64_t t = 0; t <= 200 * S; t += S) {
    send_ip(&w->a, IP_A, IP_B, t);
    while (wg_device_next_deadline(w->a.dev) <= t) tick(&w->a, wg_device_next_deadline(w->a.dev));
  }
  TS_CHECK_INT(tk_count_event(&w->a, WG_EV_HANDSHAKE_GAVE_UP), ==, 0);
  size_t inits = tk_count_sent_type(&w->a, WG_MSG_INITIATION);
  /* One initiation per REKEY_TIMEOUT at most: ~200/5. */
  TS_CHECK_INT(inits, >=, 36);
  TS_CHECK_INT(inits, <=, 41);
  world_free(w);
}

TS_TEST(passive_keepalive_after_10s_of_unanswered_data) {
  world *w = world_new(0);
  establish(w, 0);
  TS_CHECK_INT(send_ip(&w->b, IP_B, IP_A, 1 * S), ==, WG_OK);
  pump(w, 1 * S);
  TS_CHECK_INT(w->a.nip, ==, 1);
  TS_CHECK_INT(stats(w->ab).send_keepalive_at, ==, 11 * S);
  /* B, which sent data, expects an answer within 15 s + jitter. */
  int64_t nh = stats(w->ba).new_handshake_at;
  TS_CHECK_INT(nh, >=, 16 * S);
  TS_CHECK_INT(nh, <=, 16 * S + 333 * MS);
  TS_CHECK_INT(wg_device_next_deadline(w->a.dev), <=, 11 * S);
  tick(&w->a, 11 * S - 1);
  TS_CHECK_INT(w->a.nout, ==, 0);
  tick(&w->a, 11 * S);
  TS_CHECK_INT(w->a.nout, ==, 1);
  TS_CHECK_INT(w->a.out[0].len, ==, 32);
  pump(w, 11 * S);
  TS_CHECK_INT(tk_count_event(&w->b, WG_EV_KEEPALIVE_RECEIVED), ==, 1);
  /* The keepalive counts as hearing back: B's new-handshake timer is cancelled. */
  TS_CHECK_INT(stats(w->ba).new_handshake_at, ==, WG_NEVER);
  TS_CHECK_INT(stats(w->ab).send_keepalive_at, ==, WG_NEVER);
  world_free(w);
}

TS_TEST(reply_data_cancels_passive_keepalive) {
  world *w = world_new(0);
  establish(w, 0);
  send_ip(&w->b, IP_B, IP_A, 1 * S);
  pump(w, 1 * S);
  TS_CHECK_INT(stats(w->ab).send_keepalive_at, ==, 11 * S);
  send_ip(&w->a, IP_A, IP_B, 2 * S);
  TS_CHECK_INT(stats(w->ab).send_keepalive_at, ==, WG_NEVER);
  tick(&w->a, 11 * S);
  TS_CHECK_INT(tk_count_event(&w->a, WG_EV_KEEPALIVE_SENT), ==, 0);
  world_free(w);
}

TS_TEST(new_handshake_after_15s_without_reply) {
  world *w = world_new(0);
  establish(w, 0);
  w->b.drop_outgoing = true;
  send_ip(&w->a, IP_A, IP_B, 10 * S);
  pump(w, 10 * S);
  int64_t nh = stats(w->ab).new_handshake_at;
  TS_CHECK_INT(nh, >=, 25 * S);
  TS_CHECK_INT(nh, <=, 25 * S + 333 * MS);
  /* More data does not push the deadline back. */
  send_ip(&w->a, IP_A, IP_B, 12 * S);
  TS_CHECK_INT(stats(w->ab).new_handshake_at, ==, nh);
  TS_CHECK_INT(wg_device_next_deadline(w->a.dev), ==, nh);
  tk_node_clear(&w->a);
  tick(&w->a, nh);
  TS_CHECK_INT(tk_count_event(&w->a, WG_EV_REKEY_NO_RESPONSE), ==, 1);
  TS_CHECK_INT(tk_count_sent_type(&w->a, WG_MSG_INITIATION), ==, 1);
  world_free(w);
}

TS_TEST(persistent_keepalive_interval_exact) {
  world *w = world_new(25);
  establish(w, 0);
  /* The last authenticated packet A sent was its confirmation keepalive at t=0. */
  TS_CHECK_INT(stats(w->ab).persistent_keepalive_at, ==, 25 * S);
  TS_CHECK_INT(wg_device_next_deadline(w->a.dev), ==, 25 * S);
  tick(&w->a, 25 * S);
  TS_CHECK_INT(tk_count_event(&w->a, WG_EV_KEEPALIVE_SENT), ==, 1);
  TS_CHECK_INT(stats(w->ab).persistent_keepalive_at, ==, 50 * S);
  /* Any authenticated traffic pushes it back. */
  send_ip(&w->b, IP_B, IP_A, 30 * S);
  pump(w, 30 * S);
  TS_CHECK_INT(stats(w->ab).persistent_keepalive_at, ==, 55 * S);
  /* Switching it off cancels it. */
  wg_sink s = tk_sink(&w->a);
  wg_peer_set_persistent_keepalive(w->ab, 31 * S, 0, &s);
  TS_CHECK_INT(stats(w->ab).persistent_keepalive_at, ==, WG_NEVER);
  /* Switching it on sends one keepalive now and arms the interval. */
  tk_node_clear(&w->a);
  wg_peer_set_persistent_keepalive(w->ab, 32 * S, 7, &s);
  TS_CHECK_INT(tk_count_event(&w->a, WG_EV_KEEPALIVE_SENT), ==, 1);
  TS_CHECK_INT(stats(w->ab).persistent_keepalive_at, ==, 39 * S);
  world_free(w);
}

TS_TEST(initiator_rekeys_after_120s_responder_does_not) {
  world *w = world_new(0);
  establish(w, 0);
  send_ip(&w->a, IP_A, IP_B, 120 * S);
  TS_CHECK_INT(tk_count_sent_type(&w->a, WG_MSG_INITIATION), ==, 0);
  pump(w, 120 * S);
  send_ip(&w->b, IP_B, IP_A, 121 * S); /* responder: never rekeys on time */
  TS_CHECK_INT(tk_count_sent_type(&w->b, WG_MSG_INITIATION), ==, 0);
  pump(w, 121 * S);
  tk_node_clear(&w->a);
  send_ip(&w->a, IP_A, IP_B, 120 * S + 1 * S);
  TS_CHECK_INT(tk_count_event(&w->a, WG_EV_REKEY_AFTER_TIME), ==, 1);
  TS_CHECK_INT(tk_count_sent_type(&w->a, WG_MSG_INITIATION), ==, 1);
  /* The new session replaces the old; old packets in flight still decrypt. */
  tk_msg old_data = w->a.out[0];
  TS_CHECK_INT(old_data.data[0], ==, WG_MSG_TRANSPORT);
  pump(w, 121 * S);
  TS_CHECK_INT(stats(w->ab).last_handshake_ns, ==, 121 * S);
  wg_sink s = tk_sink(&w->b);
  size_t nip = w->b.nip;
  /* Re-deliver a fresh copy of an old-keypair packet: it is a replay now. */
  TS_CHECK_INT(wg_device_rx_udp(w->b.dev, 121 * S, &w->a.ep, old_data.data, old_data.len, &s), ==, WG_EDROP);
  TS_CHECK_INT(wg_device_last_drop(w->b.dev), ==, WG_DROP_REPLAY);
  TS_CHECK_INT(w->b.nip, ==, nip);
  world_free(w);
}

TS_TEST(previous_keypair_still_receives_after_rekey) {
  world *w = world_new(0);
  establish(w, 0);
  /* B sends a packet under the first session but it is delayed. */
  send_ip(&w->b, IP_B, IP_A, 130 * S);
  tk_msg delayed = w->b.out[0];
  w->b.nout = 0;
  wg_sink sa = tk_sink(&w->a);
  wg_peer_initiate_handshake(w->ab, 130 * S, &sa);
  pump(w, 130 * S);
  TS_CHECK_INT(stats(w->ab).last_handshake_ns, ==, 130 * S);
  TS_CHECK_INT(wg_device_rx_udp(w->a.dev, 130 * S, &w->b.ep, delayed.data, delayed.len, &sa), ==, WG_OK);
  TS_CHECK_INT(w->a.nip, ==, 1);
  world_free(w);
}

TS_TEST(reject_after_180s_and_last_minute_rekey_at_165s) {
  world *w = world_new(0);
  establish(w, 0);
  /* Receiving at 165 s + 1 ns as the initiator triggers the last-minute handshake. */
  w->a.drop_outgoing = true;
  send_ip(&w->b, IP_B, IP_A, 165 * S);
  pump(w, 165 * S);
  TS_CHECK_INT(tk_count_event(&w->a, WG_EV_REKEY_AFTER_TIME), ==, 0);
  send_ip(&w->b, IP_B, IP_A, 165 * S + 1);
  pump(w, 165 * S + 1);
  TS_CHECK_INT(tk_count_event(&w->a, WG_EV_REKEY_AFTER_TIME), ==, 1);
  send_ip(&w->b, IP_B, IP_A, 171 * S); /* only once */
  pump(w, 171 * S);
  TS_CHECK_INT(tk_count_event(&w->a, WG_EV_REKEY_AFTER_TIME), ==, 1);
  /* At 180 s the keypair is dead both ways. */
  w->a.drop_outgoing = false;
  tk_node_clear(&w->a);
  TS_CHECK_INT(send_ip(&w->a, IP_A, IP_B, 180 * S), ==, WG_ESTAGED);
  TS_CHECK_INT(tk_count_sent_type(&w->a, WG_MSG_TRANSPORT), ==, 0);
  TS_CHECK_INT(send_ip(&w->b, IP_B, IP_A, 179 * S + 999 * MS), ==, WG_OK);
  tk_msg late = w->b.out[w->b.nout - 1];
  wg_sink s = tk_sink(&w->a);
  TS_CHECK_INT(wg_device_rx_udp(w->a.dev, 180 * S, &w->b.ep, late.data, late.len, &s), ==, WG_EDROP);
  TS_CHECK_INT(wg_device_last_drop(w->a.dev), ==, WG_DROP_KEYPAIR_EXPIRED);
  world_free(w);
}

TS_TEST(keys_zeroed_540s_after_session_derived) {
  world *w = world_new(0);
  establish(w, 7 * S);
  send_ip(&w->b, IP_B, IP_A, 8 * S); /* kept for later: a packet under the old keys */
  tk_msg old = w->b.out[0];
  w->b.nout = 0;
  TS_CHECK_INT(stats(w->ab).zero_keys_at, ==, 7 * S + 540 * S);
  TS_CHECK_INT(stats(w->ba).zero_keys_at, ==, 7 * S + 540 * S);
  TS_CHECK_INT(wg_device_next_deadline(w->a.dev), ==, 547 * S);
  tick(&w->a, 547 * S - 1);
  TS_CHECK(stats(w->ab).has_current_session);
  tick(&w->a, 547 * S);
  TS_CHECK_INT(tk_count_event(&w->a, WG_EV_KEYS_ZEROED), ==, 1);
  TS_CHECK(!stats(w->ab).has_current_session);
  TS_CHECK_INT(wg_device_next_deadline(w->a.dev), ==, WG_NEVER);
  /* Old indices are gone: a packet under the old keys hits an unknown index. */
  wg_sink s = tk_sink(&w->a);
  TS_CHECK_INT(wg_device_rx_udp(w->a.dev, 547 * S, &w->b.ep, old.data, old.len, &s), ==, WG_EDROP);
  TS_CHECK_INT(wg_device_last_drop(w->a.dev), ==, WG_DROP_UNKNOWN_INDEX);
  world_free(w);
}

TS_TEST(late_tick_fires_timers_in_deadline_order) {
  world *w = world_new(25);
  establish(w, 0);
  send_ip(&w->b, IP_B, IP_A, 1 * S);
  pump(w, 1 * S); /* A: send_keepalive at 11 s; persistent at 26 s */
  tk_node_clear(&w->a);
  tick(&w->a, 30 * S); /* very late: both expired */
  /* The passive keepalive fires first; it re-arms persistent to 30+25. The
   * persistent one (due 26 s) then no longer expires at 30 s. */
  TS_CHECK_INT(tk_count_event(&w->a, WG_EV_KEEPALIVE_SENT), ==, 1);
  TS_CHECK_INT(stats(w->ab).persistent_keepalive_at, ==, 55 * S);
  world_free(w);
}
