/* engine_testkit.h: helpers shared by the engine tests: a deterministic RNG with
 * scripted bytes, nodes that record every action, and an in-memory network that
 * carries datagrams between nodes by endpoint. */
#ifndef ENGINE_TESTKIT_H
#define ENGINE_TESTKIT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "wg.h"

#define TK_MAX_MSGS 512
#define TK_MAX_BYTES 2048
#define TK_MAX_EVENTS 4096

size_t tk_hex(uint8_t *out, size_t cap, const char *hex);

typedef struct tk_rng {
  uint64_t state;
  uint8_t script[512]; /* returned first, then the generator */
  size_t script_len, script_pos;
  size_t calls;
} tk_rng;
void tk_rng_fn(void *ctx, uint8_t *buf, size_t n);
void tk_rng_script(tk_rng *r, const uint8_t *bytes, size_t n);

typedef struct tk_msg {
  wg_endpoint ep; /* SEND_UDP: destination; DELIVER_IP: outer source */
  wg_peer *peer;
  size_t len;
  uint8_t data[TK_MAX_BYTES];
} tk_msg;

typedef struct tk_node {
  wg_device *dev;
  tk_rng rng;
  uint8_t priv[32], pub[32];
  wg_endpoint ep;          /* where this node receives */
  wg_endpoint send_from;   /* source address its datagrams appear from (NAT/roaming) */
  tk_msg *out;  size_t nout;     /* SEND_UDP */
  tk_msg *ip;   size_t nip;      /* DELIVER_IP */
  int events[TK_MAX_EVENTS]; size_t nevents;
  char keylog[4096]; size_t keylog_len;
  bool drop_outgoing;      /* black-hole this node's datagrams */
} tk_node;

/* Creates a node with key seed `key_seed` (private key = 32 bytes of it, clamped)
 * and IPv4 endpoint 192.0.2.<host>:<port>. */
void tk_node_init(tk_node *n, uint8_t key_seed, uint8_t host, uint16_t port, uint64_t rng_seed,
                  const wg_device_config *extra);
void tk_node_free(tk_node *n);
wg_sink tk_sink(tk_node *n);
void tk_node_clear(tk_node *n);
size_t tk_count_event(const tk_node *n, int ev);
size_t tk_count_sent_type(const tk_node *n, uint8_t type);
/* Adds peer `other` to `n` (endpoint = other's ep), with allowed-ip v4 /cidr. */
wg_peer *tk_add_peer(tk_node *n, const tk_node *other, const uint8_t *psk, const uint8_t ip4[4],
                     uint8_t cidr);

/* Delivers queued datagrams between nodes until none remain; returns how many
 * were delivered. Datagrams to unknown endpoints are discarded. */
size_t tk_pump(tk_node **nodes, size_t count, int64_t now);
/* Delivers one node's queued datagrams to `to` only (others discarded). */
size_t tk_deliver(tk_node *from, tk_node *to, int64_t now);

size_t tk_ipv4_packet(uint8_t *buf, const uint8_t src[4], const uint8_t dst[4], size_t payload,
                      uint8_t fill);
/* Builds an IPv4 packet (payload bytes of `fill`, at most TK_MAX_BYTES - 20) and hands
 * it to the node's device as from its tun side; returns wg_device_tx_ip's code. */
int tk_send_ipv4(tk_node *from, const uint8_t src[4], const uint8_t dst[4], size_t payload,
                 uint8_t fill, int64_t now);
size_t tk_ipv6_packet(uint8_t *buf, const uint8_t src[16], const uint8_t dst[16], size_t payload,
                      uint8_t fill);

#endif
