/* Cryptokey routing (longest prefix, IPv4 and IPv6) and the receiver-index table. */
#include <stdlib.h>
#include <string.h>

#include "allowedips.h"
#include "engine_testkit.h"
#include "index.h"
#include "tstest.h"

/* Fake peers: only their addresses matter to the table. */
static char peer_a, peer_b, peer_c;
#define PA ((struct wg_peer *)&peer_a)
#define PB ((struct wg_peer *)&peer_b)
#define PC ((struct wg_peer *)&peer_c)

static const uint8_t *v4(uint8_t a, uint8_t b, uint8_t c, uint8_t d) {
  static uint8_t buf[8][4];
  static int k;
  uint8_t *p = buf[k++ % 8];
  p[0] = a; p[1] = b; p[2] = c; p[3] = d;
  return p;
}

TS_TEST(ipv4_longest_prefix_wins) {
  wg_allowedips t = {0};
  TS_CHECK_INT(wg_allowedips_insert(&t, 4, v4(10, 0, 0, 0), 8, PA), ==, WG_OK);
  TS_CHECK_INT(wg_allowedips_insert(&t, 4, v4(10, 1, 0, 0), 16, PB), ==, WG_OK);
  TS_CHECK_INT(wg_allowedips_insert(&t, 4, v4(10, 1, 2, 3), 32, PC), ==, WG_OK);
  TS_CHECK_INT(wg_allowedips_insert(&t, 4, v4(0, 0, 0, 0), 0, PA), ==, WG_OK);
  TS_CHECK(wg_allowedips_lookup(&t, 4, v4(10, 1, 2, 3)) == PC);
  TS_CHECK(wg_allowedips_lookup(&t, 4, v4(10, 1, 2, 4)) == PB);
  TS_CHECK(wg_allowedips_lookup(&t, 4, v4(10, 2, 0, 1)) == PA);
  TS_CHECK(wg_allowedips_lookup(&t, 4, v4(8, 8, 8, 8)) == PA); /* default route */
  wg_allowedips_remove_peer(&t, PA);
  TS_CHECK(wg_allowedips_lookup(&t, 4, v4(8, 8, 8, 8)) == NULL);
  TS_CHECK(wg_allowedips_lookup(&t, 4, v4(10, 1, 9, 9)) == PB);
  wg_allowedips_free(&t);
}

TS_TEST(ipv4_non_octet_prefixes_and_host_bits_masked) {
  wg_allowedips t = {0};
  /* 192.168.77.129/25 is stored as 192.168.77.128/25. */
  TS_CHECK_INT(wg_allowedips_insert(&t, 4, v4(192, 168, 77, 129), 25, PA), ==, WG_OK);
  TS_CHECK_INT(wg_allowedips_insert(&t, 4, v4(192, 168, 76, 0), 23, PB), ==, WG_OK);
  TS_CHECK(wg_allowedips_lookup(&t, 4, v4(192, 168, 77, 128)) == PA);
  TS_CHECK(wg_allowedips_lookup(&t, 4, v4(192, 168, 77, 255)) == PA);
  TS_CHECK(wg_allowedips_lookup(&t, 4, v4(192, 168, 77, 127)) == PB);
  TS_CHECK(wg_allowedips_lookup(&t, 4, v4(192, 168, 76, 1)) == PB);
  TS_CHECK(wg_allowedips_lookup(&t, 4, v4(192, 168, 78, 1)) == NULL);
  /* Re-inserting the same prefix moves it to the new peer. */
  TS_CHECK_INT(wg_allowedips_insert(&t, 4, v4(192, 168, 77, 200), 25, PC), ==, WG_OK);
  TS_CHECK(wg_allowedips_lookup(&t, 4, v4(192, 168, 77, 130)) == PC);
  TS_CHECK_INT(t.v4.count, ==, 2);
  TS_CHECK_INT(wg_allowedips_insert(&t, 4, v4(1, 2, 3, 4), 33, PC), ==, WG_EINVAL);
  TS_CHECK_INT(wg_allowedips_insert(&t, 5, v4(1, 2, 3, 4), 8, PC), ==, WG_EINVAL);
  wg_allowedips_free(&t);
}

TS_TEST(ipv6_longest_prefix_and_family_separation) {
  wg_allowedips t = {0};
  uint8_t net[16] = {0x20, 0x01, 0x0d, 0xb8};
  uint8_t host[16] = {0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x42};
  uint8_t other[16] = {0x20, 0x01, 0x0d, 0xb9};
  uint8_t sub[16] = {0x20, 0x01, 0x0d, 0xb8, 0xab, 0xc0};
  TS_CHECK_INT(wg_allowedips_insert(&t, 6, net, 32, PA), ==, WG_OK);
  TS_CHECK_INT(wg_allowedips_insert(&t, 6, host, 128, PB), ==, WG_OK);
  TS_CHECK_INT(wg_allowedips_insert(&t, 6, sub, 44, PC), ==, WG_OK);
  TS_CHECK(wg_allowedips_lookup(&t, 6, host) == PB);
  host[15] = 0x43;
  TS_CHECK(wg_allowedips_lookup(&t, 6, host) == PA);
  uint8_t in_sub[16] = {0x20, 0x01, 0x0d, 0xb8, 0xab, 0xcf, 1};
  uint8_t out_sub[16] = {0x20, 0x01, 0x0d, 0xb8, 0xab, 0xd0, 1};
  TS_CHECK(wg_allowedips_lookup(&t, 6, in_sub) == PC);
  TS_CHECK(wg_allowedips_lookup(&t, 6, out_sub) == PA);
  TS_CHECK(wg_allowedips_lookup(&t, 6, other) == NULL);
  /* An IPv4 lookup never sees IPv6 prefixes (first bytes 0x20 0x01 ...). */
  TS_CHECK(wg_allowedips_lookup(&t, 4, v4(0x20, 0x01, 0x0d, 0xb8)) == NULL);
  wg_allowedips_free(&t);
}

TS_TEST(index_table_insert_lookup_remove_many) {
  wg_index_table t = {0};
  tk_rng rng = {.state = 7};
  TS_CHECK_INT(wg_index_reserve(&t, 256), ==, WG_OK);
  uint32_t ids[1000];
  for (int i = 0; i < 1000; i++) ids[i] = wg_index_insert_new(&t, tk_rng_fn, &rng, (struct wg_peer *)(uintptr_t)(i + 1));
  TS_CHECK_INT(t.count, ==, 1000);
  for (int i = 0; i < 1000; i++) {
    wg_index_entry *e = wg_index_lookup(&t, ids[i]);
    TS_CHECK(e != NULL);
    TS_CHECK(e->peer == (struct wg_peer *)(uintptr_t)(i + 1));
  }
  /* Remove every other entry; backward-shift deletion must keep the rest findable. */
  for (int i = 0; i < 1000; i += 2) wg_index_remove(&t, ids[i]);
  TS_CHECK_INT(t.count, ==, 500);
  for (int i = 0; i < 1000; i++) {
    wg_index_entry *e = wg_index_lookup(&t, ids[i]);
    if (i % 2 == 0)
      TS_CHECK(e == NULL);
    else
      TS_CHECK(e != NULL && e->peer == (struct wg_peer *)(uintptr_t)(i + 1));
  }
  wg_index_free(&t);
}

TS_TEST(index_collisions_are_avoided) {
  wg_index_table t = {0};
  tk_rng rng = {.state = 1};
  TS_CHECK_INT(wg_index_reserve(&t, 4), ==, WG_OK);
  /* Script the RNG to offer the same index twice: the second insert must pick another. */
  uint8_t same[8] = {1, 2, 3, 4, 1, 2, 3, 4};
  tk_rng_script(&rng, same, sizeof same);
  uint32_t a = wg_index_insert_new(&t, tk_rng_fn, &rng, PA);
  uint32_t b = wg_index_insert_new(&t, tk_rng_fn, &rng, PB);
  TS_CHECK_INT(a, ==, 0x04030201);
  TS_CHECK(a != b);
  TS_CHECK(wg_index_lookup(&t, a)->peer == PA);
  TS_CHECK(wg_index_lookup(&t, b)->peer == PB);
  wg_index_free(&t);
}
