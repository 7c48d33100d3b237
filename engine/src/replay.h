/* replay.h: the sliding anti-replay window for transport counters (RFC 6479 style). */
#ifndef TSENGINE_REPLAY_H
#define TSENGINE_REPLAY_H

#include <stdbool.h>
#include <stdint.h>

#include "messages.h"

typedef struct wg_replay {
  uint64_t highest;                          /* largest counter accepted so far */
  uint64_t ring[WG_REPLAY_RING_BLOCKS];      /* bit i of block b: counter b*64+i seen */
} wg_replay;

void wg_replay_reset(wg_replay *r);
/* Accepts (and records) a counter that is below `limit`, not older than the window
 * behind the highest, and not seen before. */
bool wg_replay_check(wg_replay *r, uint64_t counter, uint64_t limit);

#endif
