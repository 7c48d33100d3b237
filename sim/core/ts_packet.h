/* Packet buffers carrying real IPv4/IPv6 bytes. Buffers come from a per-world pool
 * and go back to it, so the hot path does not allocate once the pool is warm. A
 * packet has headroom in front so that a layer can prepend a header in place. */
#ifndef TS_PACKET_H
#define TS_PACKET_H

#include <stddef.h>
#include <stdint.h>

#define TS_PACKET_HEADROOM 128
#define TS_PACKET_SMALL 2048           /* fits any packet of a 1500-byte MTU link */
#define TS_PACKET_MAX 65535            /* largest IP packet */

typedef struct ts_packet {
  uint8_t *data;  /* first byte of the packet */
  uint32_t len;
  uint32_t cap;   /* bytes usable from `buf` */
  uint8_t *buf;   /* start of the storage */
  struct ts_packet *next; /* free-list and queue link, owned by whoever holds it */
  uint64_t flow;  /* opaque origin tag for oracles (socket or flow id); 0 = none */
} ts_packet;

typedef struct ts_packet_pool ts_packet_pool;

int ts_packet_pool_create(ts_packet_pool **out);
void ts_packet_pool_destroy(ts_packet_pool *pool);
/* A packet with room for `len` bytes after the headroom; data is uninitialised. */
ts_packet *ts_packet_alloc(ts_packet_pool *pool, uint32_t len);
/* A copy of bytes [data, data+len). */
ts_packet *ts_packet_from(ts_packet_pool *pool, const void *data, uint32_t len);
ts_packet *ts_packet_clone(ts_packet_pool *pool, const ts_packet *p);
void ts_packet_free(ts_packet_pool *pool, ts_packet *p);
/* Packets currently handed out; a world that ends with this above zero leaks. */
uint64_t ts_packet_pool_outstanding(const ts_packet_pool *pool);

#endif
