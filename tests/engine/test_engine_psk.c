/* wg_peer_set_preshared_key: a pre-shared key changed at run time, as an in-tunnel
 * key negotiation does. Two engines handshake without a PSK; both then install the
 * same key and a new handshake under it completes and carries data. With different
 * keys the initiator drops the response (the responder cannot tell: the PSK only
 * enters Noise IKpsk2 in message 2), and the old session keeps carrying data. */
#include <stdlib.h>
#include <string.h>

#include "engine_testkit.h"
#include "messages.h"
#include "tstest.h"

#define S WG_NS_PER_S
static const uint8_t IP_A[4] = {10, 0, 0, 1}, IP_B[4] = {10, 0, 0, 2};

typedef struct pair {
  tk_node a, b;
  wg_peer *a_to_b, *b_to_a;
} pair;

static void pair_up(pair *p, const uint8_t *psk) {
  /* Key logging on: the PRESHARED_KEY line shows which key a handshake mixed in. */
  wg_device_config extra = {.keylog = 1};
  tk_node_init(&p->a, 1, 1, 51820, 11, &extra);
  tk_node_init(&p->b, 2, 2, 51820, 22, &extra);
  p->a_to_b = tk_add_peer(&p->a, &p->b, psk, IP_B, 32);
  p->b_to_a = tk_add_peer(&p->b, &p->a, psk, IP_A, 32);
}

static void pair_free(pair *p) {
  tk_node_free(&p->a);
  tk_node_free(&p->b);
}

/* Packets carry 60 bytes of `fill`; the receiver's copy shows it at offset 20. */
static int send_ip(tk_node *from, const uint8_t src[4], const uint8_t dst[4], uint8_t fill,
                   int64_t now) {
  return tk_send_ipv4(from, src, dst, 60, fill, now);
}

static void pump(pair *p, int64_t now) {
  tk_node *nodes[2] = {&p->a, &p->b};
  tk_pump(nodes, 2, now);
}

/* Data both ways at `now`; true if each side received exactly one new packet with
 * the expected fill byte. */
static bool exchange(pair *p, uint8_t fill, int64_t now) {
  size_t a_before = p->a.nip, b_before = p->b.nip;
  if (send_ip(&p->a, IP_A, IP_B, fill, now) != WG_OK) return false;
  if (send_ip(&p->b, IP_B, IP_A, (uint8_t)(fill + 1), now) != WG_OK) return false;
  pump(p, now);
  return p->b.nip == b_before + 1 && p->a.nip == a_before + 1 &&
         p->b.ip[b_before].data[20] == fill && p->a.ip[a_before].data[20] == (uint8_t)(fill + 1);
}

static void initiate(tk_node *n, wg_peer *peer, int64_t now) {
  wg_sink s = tk_sink(n);
  wg_peer_initiate_handshake(peer, now, &s);
}

/* The first handshake without a PSK, confirmed by data; returns false on failure. */
static bool first_session(pair *p) {
  if (send_ip(&p->a, IP_A, IP_B, 0x11, 0) != WG_ESTAGED) return false;
  pump(p, 1000);
  if (tk_count_event(&p->a, WG_EV_HANDSHAKE_COMPLETE) != 1) return false;
  return exchange(p, 0x20, 2000);
}

TS_TEST(same_new_psk_on_both_sides_rekeys) {
  pair p;
  pair_up(&p, NULL);
  TS_CHECK(first_session(&p));
  TS_CHECK(strstr(p.a.keylog, "PRESHARED_KEY") == NULL); /* no PSK in the first handshake */

  uint8_t psk[WG_KEY_LEN];
  for (int i = 0; i < WG_KEY_LEN; i++) psk[i] = (uint8_t)(0xA0 ^ i);
  /* One second after the first handshake the 5 s initiation gate is shut ... */
  int64_t t = 1 * S;
  tk_node_clear(&p.a);
  initiate(&p.a, p.a_to_b, t - 1000);
  TS_CHECK_INT(tk_count_event(&p.a, WG_EV_INITIATION_RATE_LIMITED), ==, 1);
  TS_CHECK_INT(p.a.nout, ==, 0);
  /* ... and a key change opens it (the negotiation's new handshake follows at once). */
  TS_CHECK_INT(wg_peer_set_preshared_key(p.a_to_b, psk), ==, WG_OK);
  TS_CHECK_INT(wg_peer_set_preshared_key(p.b_to_a, psk), ==, WG_OK);
  /* Nothing is sent by the change, and the existing session still works. */
  TS_CHECK_INT(p.a.nout + p.b.nout, ==, 0);
  TS_CHECK(exchange(&p, 0x30, t));

  wg_peer_stats before;
  wg_peer_get_stats(p.a_to_b, &before);
  initiate(&p.a, p.a_to_b, t + 1000);
  TS_CHECK_INT(tk_count_sent_type(&p.a, WG_MSG_INITIATION), ==, 1);
  pump(&p, t + 1000);
  TS_CHECK_INT(tk_count_event(&p.a, WG_EV_HANDSHAKE_COMPLETE), ==, 1);
  TS_CHECK_INT(tk_count_event(&p.a, WG_DROP_HANDSHAKE_DECRYPT), ==, 0);
  wg_peer_stats after;
  wg_peer_get_stats(p.a_to_b, &after);
  TS_CHECK_INT(after.last_handshake_ns, ==, t + 1000);
  TS_CHECK(after.last_handshake_ns > before.last_handshake_ns);
  /* The key log of the new handshake carries the new PSK: the key really was mixed in. */
  char b64[WG_BASE64_KEY_LEN];
  wg_key_to_base64(b64, psk);
  TS_CHECK(strstr(p.a.keylog, "PRESHARED_KEY") != NULL);
  TS_CHECK(strstr(p.a.keylog, b64) != NULL);
  /* Data under the new session; the responder confirms it on the first packet. */
  TS_CHECK(exchange(&p, 0x40, t + 2000));
  TS_CHECK_INT(tk_count_event(&p.b, WG_EV_HANDSHAKE_COMPLETE), ==, 2);
  TS_CHECK_INT(tk_count_event(&p.a, WG_EV_INITIATION_RATE_LIMITED), ==, 1);
  TS_CHECK(exchange(&p, 0x50, t + 3000));
  pair_free(&p);
}

/* Checks the mismatch outcome; `psk_a`/`psk_b` may be NULL (no key). */
static void check_mismatch(const uint8_t *initial, const uint8_t *psk_a, const uint8_t *psk_b) {
  pair p;
  pair_up(&p, initial);
  TS_CHECK(first_session(&p));
  int64_t t = 10 * S;
  TS_CHECK_INT(wg_peer_set_preshared_key(p.a_to_b, psk_a), ==, WG_OK);
  TS_CHECK_INT(wg_peer_set_preshared_key(p.b_to_a, psk_b), ==, WG_OK);
  tk_node_clear(&p.a);
  tk_node_clear(&p.b);
  initiate(&p.a, p.a_to_b, t);
  pump(&p, t);
  /* The responder accepted the initiation (nothing in it depends on the PSK) and
   * answered; the initiator could not open the response. */
  TS_CHECK_INT(tk_count_event(&p.b, WG_EV_INITIATION_RECEIVED), ==, 1);
  TS_CHECK_INT(tk_count_event(&p.b, WG_EV_RESPONSE_SENT), ==, 1);
  TS_CHECK_INT(wg_device_last_drop(p.b.dev), ==, WG_EV_NONE);
  TS_CHECK_INT(tk_count_event(&p.a, WG_DROP_HANDSHAKE_DECRYPT), ==, 1);
  TS_CHECK_INT(wg_device_last_drop(p.a.dev), ==, WG_DROP_HANDSHAKE_DECRYPT);
  TS_CHECK_INT(tk_count_event(&p.a, WG_EV_HANDSHAKE_COMPLETE), ==, 0);
  wg_peer_stats st;
  wg_peer_get_stats(p.a_to_b, &st);
  TS_CHECK_INT(st.last_handshake_ns, ==, 1000); /* still the first one */
  /* The old session carries data both ways (the responder's unconfirmed keypair
   * waits in `next`; the initiator keeps sending under the current one). */
  TS_CHECK(exchange(&p, 0x60, t + 1000));
  /* Agreeing afterwards heals it: the initiator's retransmission (after
   * REKEY_TIMEOUT plus jitter) goes out under the now-equal keys. */
  TS_CHECK_INT(wg_peer_set_preshared_key(p.b_to_a, psk_a), ==, WG_OK);
  int64_t retry = t + WG_REKEY_TIMEOUT_NS + WG_REKEY_TIMEOUT_JITTER_MAX_MS * WG_NS_PER_MS;
  wg_sink s = tk_sink(&p.a);
  wg_device_tick(p.a.dev, retry, &s);
  TS_CHECK_INT(tk_count_event(&p.a, WG_EV_INITIATION_RETRY), ==, 1);
  pump(&p, retry);
  TS_CHECK_INT(tk_count_event(&p.a, WG_EV_HANDSHAKE_COMPLETE), ==, 1);
  TS_CHECK(exchange(&p, 0x70, retry + 1000));
  pair_free(&p);
}

TS_TEST(mismatched_psks_initiator_drops_the_response) {
  uint8_t x[WG_KEY_LEN], y[WG_KEY_LEN];
  memset(x, 0x5a, sizeof x);
  memset(y, 0xa5, sizeof y);
  check_mismatch(NULL, x, y);
  if (ts_test_failed_now()) return;
  check_mismatch(NULL, x, NULL); /* only the initiator installed one */
  if (ts_test_failed_now()) return;
  check_mismatch(NULL, NULL, y); /* only the responder installed one */
}

TS_TEST(null_clears_the_psk) {
  uint8_t k[WG_KEY_LEN];
  memset(k, 0x33, sizeof k);
  pair p;
  pair_up(&p, k);
  TS_CHECK(first_session(&p));
  TS_CHECK(strstr(p.a.keylog, "PRESHARED_KEY") != NULL);
  TS_CHECK_INT(wg_peer_set_preshared_key(p.a_to_b, NULL), ==, WG_OK);
  TS_CHECK_INT(wg_peer_set_preshared_key(p.b_to_a, NULL), ==, WG_OK);
  tk_node_clear(&p.a);
  initiate(&p.a, p.a_to_b, 10 * S);
  pump(&p, 10 * S);
  TS_CHECK_INT(tk_count_event(&p.a, WG_EV_HANDSHAKE_COMPLETE), ==, 1);
  TS_CHECK(strstr(p.a.keylog, "PRESHARED_KEY") == NULL); /* all zero = none */
  TS_CHECK(exchange(&p, 0x21, 10 * S + 1000));
  TS_CHECK_INT(wg_peer_set_preshared_key(NULL, k), ==, WG_EINVAL);
  pair_free(&p);
  /* Clearing one side only is a mismatch like any other. */
  check_mismatch(k, NULL, k);
}

int main(int argc, char **argv) { return ts_test_main(argc, argv); }
