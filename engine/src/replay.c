/* replay.c: a ring of 64-bit blocks. Moving the window forward clears only the
 * blocks it passes, so each check is O(1) amortised; one block is kept
 * redundant so the window is a full 127 blocks (8128 counters) at any bit offset. */
#include "replay.h"

#include <string.h>

void wg_replay_reset(wg_replay *r) { memset(r, 0, sizeof *r); }

static void advance_window(wg_replay *r, uint64_t counter) {
  uint64_t old_block = r->highest / WG_REPLAY_BLOCK_BITS;
  uint64_t new_block = counter / WG_REPLAY_BLOCK_BITS;
  uint64_t blocks_to_clear = new_block - old_block;
  if (blocks_to_clear > WG_REPLAY_RING_BLOCKS) blocks_to_clear = WG_REPLAY_RING_BLOCKS;
  for (uint64_t i = 1; i <= blocks_to_clear; i++)
    r->ring[(old_block + i) % WG_REPLAY_RING_BLOCKS] = 0;
  r->highest = counter;
}

bool wg_replay_check(wg_replay *r, uint64_t counter, uint64_t limit) {
  if (counter >= limit) return false;
  if (counter > r->highest)
    advance_window(r, counter);
  else if (r->highest - counter > WG_REPLAY_WINDOW)
    return false;
  uint64_t *block = &r->ring[(counter / WG_REPLAY_BLOCK_BITS) % WG_REPLAY_RING_BLOCKS];
  uint64_t bit = UINT64_C(1) << (counter % WG_REPLAY_BLOCK_BITS);
  if (*block & bit) return false;
  *block |= bit;
  return true;
}
