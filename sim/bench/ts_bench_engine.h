/* Engine benchmark: tsengine transport (encapsulate + decapsulate) beside raw
 * libsodium ChaCha20-Poly1305 on the same buffers, and handshakes/s beside the
 * X25519 bound, all measured in the same run. Wall-clock time via
 * ts_bench_wall_seconds() (ts_bench.h). */
#ifndef TS_BENCH_ENGINE_H
#define TS_BENCH_ENGINE_H

#include <stdbool.h>
#include <stdint.h>

#define TS_BENCH_ENGINE_SIZES 3
extern const uint32_t ts_bench_engine_sizes[TS_BENCH_ENGINE_SIZES]; /* 64, 512, 1420 */

typedef struct ts_bench_engine_result {
  /* per inner packet size: tx_ip on one device + rx_udp on the other */
  double engine_pkts_per_sec[TS_BENCH_ENGINE_SIZES];
  double engine_gbit_per_sec[TS_BENCH_ENGINE_SIZES];  /* inner bytes */
  /* raw crypto_aead_chacha20poly1305_ietf encrypt + decrypt of the padded payload */
  double aead_pkts_per_sec[TS_BENCH_ENGINE_SIZES];
  double aead_gbit_per_sec[TS_BENCH_ENGINE_SIZES];
  /* full handshakes (initiation + response consumed) per second, one core */
  double handshakes_per_sec;
  double x25519_per_sec;           /* crypto_scalarmult */
  double x25519_base_per_sec;      /* crypto_scalarmult_base */
  /* 1 / (x25519_base_ops * t_base + x25519_ops * t_mult): the handshake bound */
  double handshake_bound_per_sec;
  int x25519_ops, x25519_base_ops; /* per handshake, both sides: 8 and 2 */
} ts_bench_engine_result;

/* Runs for about `seconds` of wall time in total. Returns 0, or -1 if the engine
 * could not be set up or a packet did not round-trip. */
int ts_bench_engine(double seconds, ts_bench_engine_result *out);
/* Microseconds per complete handshake between two in-memory engines (initiation
 * built, consumed, response consumed), over about `seconds`; -1 on failure. */
double ts_bench_handshake_usec(double seconds);
/* Microseconds per X25519 operation (scalar multiplication, or with the base point),
 * over about `seconds`; -1 if libsodium refused the point. */
double ts_bench_x25519_usec(double seconds, bool base);

#endif
