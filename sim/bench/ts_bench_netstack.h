/* Netstack benchmark: the cost of resetting one lwIP instance (sim/netstack) and of
 * a connect + 100 KB transfer between two instances over a simulated link with 10 %
 * loss (20 ms one way, 10 Mbit/s), beside baselines measured in the same run:
 * creating the two instances afresh instead of resetting them, and the same
 * transfer through sim/net's own small TCP. Wall-clock time via
 * ts_bench_wall_seconds() (ts_bench.h). */
#ifndef TS_BENCH_NETSTACK_H
#define TS_BENCH_NETSTACK_H

#include <stdbool.h>
#include <stdint.h>

#define TS_BENCH_NETSTACK_BYTES 100000u
#define TS_BENCH_NETSTACK_LOSS 0.10

typedef struct ts_bench_netstack_result {
  double reset_us;          /* ts_netstack_reset of an instance that just ran a transfer */
  double reset_idle_us;     /* ts_netstack_reset of an idle instance, back to back */
  double transfer_100k_us;  /* connect until the receiver has all bytes and the FIN */
  double create_us;         /* baseline for reset: one ts_netstack_dev_create (and half a link) */
  double native_transfer_100k_us; /* baseline: the same transfer through sim/net's TCP */
  double sim_seconds;       /* virtual time of one lwIP transfer, mean */
  double packets;           /* packets on the link per lwIP transfer, mean */
  double native_sim_seconds;
  uint64_t transfers, native_transfers, idle_resets;
  uint32_t instances;       /* lwIP instances the build holds */
  bool verified;            /* every transfer delivered every byte intact */
  char failure[160];        /* what went wrong when the benchmark returns -1 */
  uint64_t failed_seed;     /* the world seed of that transfer */
} ts_bench_netstack_result;

/* Runs for about `seconds` of wall time. Returns 0, or -1 if a transfer did not
 * complete or an instance could not be made (`failure`, `failed_seed` say which). */
int ts_bench_netstack(double seconds, ts_bench_netstack_result *out);

#endif
