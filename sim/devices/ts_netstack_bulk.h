/* A bulk TCP transfer over ts_netstack instances: a sender that writes a known byte
 * pattern as fast as the window allows and closes, and a sink that checks every
 * byte it receives against the pattern and closes at the sender's FIN. Used by the
 * netstack tests and `tunnelsim bench netstack`.
 *
 * The caller owns the struct (zero it, then listen or connect); it must outlive the
 * transfer or the stack's reset. One struct is one sender or one sink (a sink takes
 * the first connection and refuses later ones). */
#ifndef TS_NETSTACK_BULK_H
#define TS_NETSTACK_BULK_H

#include <stdbool.h>
#include <stdint.h>

#include "ts_netstack.h"

typedef struct ts_netstack_bulk {
  uint64_t total;            /* sender: bytes to send */
  bool stop_world_when_done; /* ts_world_stop when finished (a benchmark's end mark) */
  /* state and results */
  ts_netstack *ns;
  ts_netstack_listener *listener;
  ts_netstack_tcp *conn;
  uint64_t sent, received, mismatches;
  bool connected;
  bool finished;             /* sender: all written and closed; sink: FIN seen and closed */
  int closed_reason;         /* 0, or a TS_NETSTACK_* reason if the connection died */
  ts_time connected_at, finished_at;
} ts_netstack_bulk;

/* The pattern byte at stream offset `i`. */
static inline uint8_t ts_netstack_bulk_byte(uint64_t i) {
  return (uint8_t)(((uint32_t)i * 2654435761u) >> 24);
}

/* Sink: listens on `port` of ns. */
int ts_netstack_bulk_listen(ts_netstack_bulk *b, ts_netstack *ns, uint16_t port);
/* Sender: connects to dst:port and sends b->total bytes. */
int ts_netstack_bulk_connect(ts_netstack_bulk *b, ts_netstack *ns, const ts_ipaddr *dst, uint16_t port);

#endif
