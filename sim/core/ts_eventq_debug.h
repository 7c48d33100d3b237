/* Test hooks of the event queue (sim/core/ts_eventq.c). Not for simulation code. */
#ifndef TS_EVENTQ_DEBUG_H
#define TS_EVENTQ_DEBUG_H

#include <stdint.h>

#include "ts_eventq.h"

/* Walk the whole structure and check its invariants: every entry is in the place
 * its time calls for, the heaps are heaps, the counts add up. Returns 0, or the
 * source line of the first check that failed. */
int ts_eventq_debug_check(const ts_eventq *q);
/* Pretend `used` sequence numbers are already spent, so that tests can reach the
 * renumbering that a queue needs only after about 2^40 schedules. */
void ts_eventq_debug_spend_seq(ts_eventq *q, uint64_t used);
/* The sequence number at which renumbering is due, and the next one to be used. */
uint64_t ts_eventq_debug_seq_limit(void);
uint64_t ts_eventq_debug_seq(const ts_eventq *q);

#endif
