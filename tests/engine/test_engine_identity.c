/* wg_device_set_private_key: the device's static identity changed at run time, as
 * `wg set <if> private-key` does (Linux netlink.c set_device_private_key), which is
 * how a client moves to the ephemeral key an in-tunnel negotiation registered.
 *
 * A (10.0.0.1, initiator) and B (10.0.0.2, responder) handshake and exchange data.
 * B then learns A's next key as a second peer A2 and gives it 10.0.0.1/32, which
 * takes the prefix from A (one owner per prefix). A switches to that key: its old
 * session stops sending, the next packet starts a handshake under the new key at
 * once (the 5 s gate re-opens), B answers it as A2, and data flows both ways with
 * A2; B's peer A hears nothing more. Also: the same key changes nothing; packets in
 * flight under the old session still arrive; B initiating to the new key works
 * (cookie checker and static-static recomputed); the old key is refused; a peer
 * holding the new key is removed, as Linux does. */
#include <string.h>

#include "device.h"
#include "engine_testkit.h"
#include "messages.h"
#include "tstest.h"

#define S WG_NS_PER_S
static const uint8_t IP_A[4] = {10, 0, 0, 1}, IP_B[4] = {10, 0, 0, 2};

typedef struct bed {
  tk_node a, b;
  tk_node a2;            /* only for its key pair: A's next identity */
  wg_peer *a_to_b, *b_to_a, *b_to_a2;
} bed;

static void bed_up(bed *t) {
  tk_node_init(&t->a, 1, 1, 51820, 11, NULL);
  tk_node_init(&t->b, 2, 2, 51820, 22, NULL);
  tk_node_init(&t->a2, 3, 1, 51820, 33, NULL);
  t->a_to_b = tk_add_peer(&t->a, &t->b, NULL, IP_B, 32);
  t->b_to_a = tk_add_peer(&t->b, &t->a, NULL, IP_A, 32);
  t->b_to_a2 = NULL;
}

static void bed_free(bed *t) {
  tk_node_free(&t->a);
  tk_node_free(&t->b);
  tk_node_free(&t->a2);
}

/* Packets carry 60 bytes of `fill`; the receiver's copy shows it at offset 20. */
static int send_ip(tk_node *from, const uint8_t src[4], const uint8_t dst[4], uint8_t fill,
                   int64_t now) {
  return tk_send_ipv4(from, src, dst, 60, fill, now);
}

static void pump(bed *t, int64_t now) {
  tk_node *nodes[2] = {&t->a, &t->b};
  tk_pump(nodes, 2, now);
}

/* One packet each way; true if each side got exactly it, from the expected peer. */
static bool exchange(bed *t, wg_peer *b_peer_of_a, uint8_t fill, int64_t now) {
  size_t a_before = t->a.nip, b_before = t->b.nip;
  if (send_ip(&t->a, IP_A, IP_B, fill, now) != WG_OK) return false;
  if (send_ip(&t->b, IP_B, IP_A, (uint8_t)(fill + 1), now) != WG_OK) return false;
  pump(t, now);
  return t->b.nip == b_before + 1 && t->a.nip == a_before + 1 &&
         t->b.ip[b_before].data[20] == fill && t->b.ip[b_before].peer == b_peer_of_a &&
         t->a.ip[a_before].data[20] == (uint8_t)(fill + 1) && t->a.ip[a_before].peer == t->a_to_b;
}

static bool first_session(bed *t) {
  if (send_ip(&t->a, IP_A, IP_B, 0x11, 0) != WG_ESTAGED) return false;
  pump(t, 1000);
  if (tk_count_event(&t->a, WG_EV_HANDSHAKE_COMPLETE) != 1) return false;
  return exchange(t, t->b_to_a, 0x20, 2000);
}

static wg_peer_stats stats(const wg_peer *p) {
  wg_peer_stats s;
  wg_peer_get_stats(p, &s);
  return s;
}

/* B learns A2 with A's address: the prefix moves from A to A2. */
static bool b_learns_a2(bed *t) {
  t->b_to_a2 = tk_add_peer(&t->b, &t->a2, NULL, IP_A, 32);
  return t->b_to_a2 && wg_device_lookup_allowed_ip(t->b.dev, 4, IP_A) == t->b_to_a2;
}

TS_TEST(switching_to_a_key_the_responder_knows_as_another_peer) {
  bed t;
  bed_up(&t);
  TS_CHECK(first_session(&t));
  TS_CHECK(b_learns_a2(&t));
  wg_allowed_ip ips[4];
  TS_CHECK_INT(wg_peer_get_allowed_ips(t.b_to_a, ips, 4), ==, 0);
  TS_CHECK_INT(wg_peer_get_allowed_ips(t.b_to_a2, ips, 4), ==, 1);
  TS_CHECK_INT(ips[0].family, ==, 4);
  TS_CHECK_INT(ips[0].cidr, ==, 32);
  TS_CHECK(memcmp(ips[0].addr, IP_A, 4) == 0);
  wg_peer_stats old_b = stats(t.b_to_a);

  /* One second after the first handshake: the gate would hold an initiation back. */
  int64_t t1 = 1 * S;
  tk_node_clear(&t.a);
  tk_node_clear(&t.b);
  TS_CHECK_INT(wg_device_set_private_key(t.a.dev, t.a2.priv), ==, WG_OK);
  uint8_t pub[WG_KEY_LEN];
  wg_device_public_key(t.a.dev, pub);
  TS_CHECK(memcmp(pub, t.a2.pub, WG_KEY_LEN) == 0);
  TS_CHECK(memcmp(t.a.dev->static_private, t.a2.priv, WG_KEY_LEN) == 0); /* old one gone */
  /* Nothing sent, no peer lost, and the old session no longer sends. */
  TS_CHECK_INT(t.a.nout, ==, 0);
  TS_CHECK_INT(wg_device_peer_count(t.a.dev), ==, 1);
  TS_CHECK(!stats(t.a_to_b).has_current_session);

  /* The next packet is staged and starts a handshake under the new key at once. */
  TS_CHECK_INT(send_ip(&t.a, IP_A, IP_B, 0x30, t1), ==, WG_ESTAGED);
  TS_CHECK_INT(tk_count_sent_type(&t.a, WG_MSG_INITIATION), ==, 1);
  TS_CHECK_INT(tk_count_sent_type(&t.a, WG_MSG_TRANSPORT), ==, 0);
  TS_CHECK_INT(tk_count_event(&t.a, WG_EV_INITIATION_RATE_LIMITED), ==, 0);
  pump(&t, t1);
  /* B took it as A2's; the staged packet followed under the new session. */
  TS_CHECK_INT(tk_count_event(&t.a, WG_EV_HANDSHAKE_COMPLETE), ==, 1);
  TS_CHECK_INT(tk_count_event(&t.a, WG_DROP_HANDSHAKE_DECRYPT), ==, 0);
  TS_CHECK_INT(tk_count_event(&t.b, WG_DROP_UNKNOWN_PEER), ==, 0);
  TS_CHECK_INT(stats(t.b_to_a2).last_handshake_ns, ==, t1);
  TS_CHECK_INT(t.b.nip, ==, 1);
  TS_CHECK(t.b.ip[0].peer == t.b_to_a2);
  TS_CHECK_INT(t.b.ip[0].data[20], ==, 0x30);
  TS_CHECK(stats(t.a_to_b).has_current_session);

  /* Data both ways with A2; B's peer A hears nothing more. */
  TS_CHECK(exchange(&t, t.b_to_a2, 0x40, t1 + 1000));
  TS_CHECK(exchange(&t, t.b_to_a2, 0x50, t1 + 2000));
  wg_peer_stats now_b = stats(t.b_to_a);
  TS_CHECK_INT(now_b.rx_bytes, ==, old_b.rx_bytes);
  TS_CHECK_INT(now_b.last_handshake_ns, ==, old_b.last_handshake_ns);
  bed_free(&t);
}

TS_TEST(the_same_key_changes_nothing) {
  bed t;
  bed_up(&t);
  TS_CHECK(first_session(&t));
  tk_node_clear(&t.a);
  /* An unclamped copy of the same key clamps to it. */
  uint8_t same[WG_KEY_LEN];
  memcpy(same, t.a.priv, WG_KEY_LEN);
  same[0] |= 7;
  TS_CHECK_INT(wg_device_set_private_key(t.a.dev, same), ==, WG_OK);
  TS_CHECK(stats(t.a_to_b).has_current_session);
  TS_CHECK(exchange(&t, t.b_to_a, 0x60, 3000));
  TS_CHECK_INT(tk_count_sent_type(&t.a, WG_MSG_INITIATION), ==, 0);
  TS_CHECK_INT(wg_device_set_private_key(NULL, same), ==, WG_EINVAL);
  TS_CHECK_INT(wg_device_set_private_key(t.a.dev, NULL), ==, WG_EINVAL);
  bed_free(&t);
}

/* Packets B sent under the old session before A switched still arrive (Linux keeps
 * such keypairs valid for receiving); A's answers wait for the new session. */
TS_TEST(packets_in_flight_under_the_old_session_arrive) {
  bed t;
  bed_up(&t);
  TS_CHECK(first_session(&t));
  tk_node_clear(&t.a);
  tk_node_clear(&t.b);
  TS_CHECK_INT(send_ip(&t.b, IP_B, IP_A, 0x70, 3000), ==, WG_OK);
  TS_CHECK_INT(wg_device_set_private_key(t.a.dev, t.a2.priv), ==, WG_OK);
  TS_CHECK_INT(tk_deliver(&t.b, &t.a, 3001), ==, 1);
  TS_CHECK_INT(t.a.nip, ==, 1);
  TS_CHECK_INT(t.a.ip[0].data[20], ==, 0x70);
  TS_CHECK_INT(wg_device_last_drop(t.a.dev), ==, WG_EV_NONE);
  /* Receiving under the old keypair did not revive it for sending. */
  TS_CHECK(!stats(t.a_to_b).has_current_session);
  bed_free(&t);
}

/* B initiates to A's new key: A's mac1 key and static-static DH with B follow the
 * new identity, so A answers as responder. An initiation to the old key is refused
 * at mac1, before any public-key work. */
TS_TEST(the_new_key_answers_initiations_and_the_old_one_is_refused) {
  bed t;
  bed_up(&t);
  TS_CHECK(first_session(&t));
  TS_CHECK_INT(wg_device_set_private_key(t.a.dev, t.a2.priv), ==, WG_OK);
  tk_node_clear(&t.a);
  tk_node_clear(&t.b);
  /* An initiation to the old key: mac1 no longer matches A's key. */
  wg_sink sb = tk_sink(&t.b);
  TS_CHECK_INT(wg_peer_initiate_handshake(t.b_to_a, 4 * S, &sb), ==, WG_OK);
  TS_CHECK_INT(tk_deliver(&t.b, &t.a, 4 * S), ==, 1);
  TS_CHECK_INT(wg_device_last_drop(t.a.dev), ==, WG_DROP_BAD_MAC1);
  TS_CHECK_INT(t.a.nout, ==, 0);
  /* Now B knows A2 (taking 10.0.0.1) and sends: the handshake goes to the new key. */
  TS_CHECK(b_learns_a2(&t));
  TS_CHECK_INT(send_ip(&t.b, IP_B, IP_A, 0x80, 4 * S + 1000), ==, WG_ESTAGED);
  pump(&t, 4 * S + 1000);
  TS_CHECK_INT(tk_count_event(&t.a, WG_EV_INITIATION_RECEIVED), ==, 1);
  TS_CHECK_INT(tk_count_event(&t.b, WG_EV_HANDSHAKE_COMPLETE), ==, 1);
  TS_CHECK_INT(t.a.nip, ==, 1);
  TS_CHECK_INT(t.a.ip[0].data[20], ==, 0x80);
  TS_CHECK(exchange(&t, t.b_to_a2, 0x90, 4 * S + 2000));
  bed_free(&t);
}

/* Like Linux: a device is never its own peer, so a peer with the new public key goes. */
TS_TEST(a_peer_holding_the_new_key_is_removed) {
  bed t;
  bed_up(&t);
  wg_peer *a_to_a2 = tk_add_peer(&t.a, &t.a2, NULL, (const uint8_t[4]){10, 0, 0, 3}, 32);
  TS_CHECK(a_to_a2 != NULL);
  TS_CHECK_INT(wg_device_peer_count(t.a.dev), ==, 2);
  TS_CHECK_INT(wg_device_set_private_key(t.a.dev, t.a2.priv), ==, WG_OK);
  TS_CHECK_INT(wg_device_peer_count(t.a.dev), ==, 1);
  TS_CHECK(wg_device_find_peer(t.a.dev, t.a2.pub) == NULL);
  TS_CHECK(wg_device_lookup_allowed_ip(t.a.dev, 4, (const uint8_t[4]){10, 0, 0, 3}) == NULL);
  TS_CHECK(wg_device_peer_at(t.a.dev, 0) == t.a_to_b);
  /* The remaining peer works under the new identity once B knows it. */
  TS_CHECK(b_learns_a2(&t));
  TS_CHECK_INT(send_ip(&t.a, IP_A, IP_B, 0xa0, 1000), ==, WG_ESTAGED);
  pump(&t, 1000);
  TS_CHECK_INT(tk_count_event(&t.a, WG_EV_HANDSHAKE_COMPLETE), ==, 1);
  TS_CHECK(exchange(&t, t.b_to_a2, 0xb0, 2000));
  bed_free(&t);
}

/* Switching back (a negotiation that failed): the parent key works again with B's
 * peer A once A owns the address again. */
TS_TEST(switching_back_to_the_first_key) {
  bed t;
  bed_up(&t);
  TS_CHECK(first_session(&t));
  TS_CHECK(b_learns_a2(&t));
  TS_CHECK_INT(wg_device_set_private_key(t.a.dev, t.a2.priv), ==, WG_OK);
  TS_CHECK_INT(send_ip(&t.a, IP_A, IP_B, 0x31, 1000), ==, WG_ESTAGED);
  pump(&t, 1000);
  TS_CHECK(exchange(&t, t.b_to_a2, 0x41, 2000));
  /* Back: B gives the address back to A, A takes its first key again. */
  TS_CHECK_INT(wg_peer_add_allowed_ip(t.b_to_a, 4, IP_A, 32), ==, WG_OK);
  TS_CHECK_INT(wg_device_set_private_key(t.a.dev, t.a.priv), ==, WG_OK);
  tk_node_clear(&t.a);
  /* (A second apart: B refuses initiations from one peer less than 20 ms apart.) */
  TS_CHECK_INT(send_ip(&t.a, IP_A, IP_B, 0x51, 1 * S), ==, WG_ESTAGED);
  pump(&t, 1 * S);
  TS_CHECK_INT(tk_count_event(&t.a, WG_EV_HANDSHAKE_COMPLETE), ==, 1);
  TS_CHECK_INT(stats(t.b_to_a).last_handshake_ns, ==, 1 * S);
  TS_CHECK(exchange(&t, t.b_to_a, 0x61, 1 * S + 1000));
  bed_free(&t);
}

int main(int argc, char **argv) { return ts_test_main(argc, argv); }
