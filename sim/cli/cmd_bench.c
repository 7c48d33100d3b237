/* tunnelsim bench: figures, each beside a baseline measured in the same run. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "ts_bench.h"
#include "ts_bench_engine.h"

static const char bench_usage[] =
    "usage: tunnelsim bench des|engine [--json] [--seconds S]\n"
    "\n"
    "des: the hold model (each event schedules one successor at an exponential delay,\n"
    "mean 100 us) with 1, 1,000 and 100,000 pending events, through the world API,\n"
    "beside the same model driving the bare event queue.\n"
    "\n"
    "engine: WireGuard transport (encapsulate on one engine, decapsulate on the other)\n"
    "for 64, 512 and 1420-byte packets beside raw libsodium ChaCha20-Poly1305 on the\n"
    "same buffers, and handshakes per second beside the bound set by the X25519\n"
    "operations a handshake needs, all measured in the same run.\n"
    "\n"
    "options:\n"
    "  --json        print {\"events_per_sec\": {\"p1\":..,\"p1000\":..,\"p100000\":..}, ...}\n"
    "  --seconds S   wall time per size (default 1)\n";

static int bench_des(bool json, double seconds) {
  ts_bench_des_result r;
  if (!json) fprintf(stderr, "bench des: hold model, %.1f s per size...\n", seconds);
  ts_bench_des(seconds, &r);
  if (json) {
    printf("{\"events_per_sec\":{\"p1\":%.0f,\"p1000\":%.0f,\"p100000\":%.0f},"
           "\"baseline_queue_events_per_sec\":{\"p1\":%.0f,\"p1000\":%.0f,\"p100000\":%.0f}}\n",
           r.events_per_sec[0], r.events_per_sec[1], r.events_per_sec[2], r.baseline_per_sec[0],
           r.baseline_per_sec[1], r.baseline_per_sec[2]);
    return TS_EXIT_OK;
  }
  printf("%-10s %18s %22s %8s\n", "pending", "world (M events/s)", "bare queue (M events/s)", "ratio");
  for (int i = 0; i < 3; i++)
    printf("%-10u %18.2f %22.2f %8.2f\n", ts_bench_des_pending[i], r.events_per_sec[i] / 1e6,
           r.baseline_per_sec[i] / 1e6, r.events_per_sec[i] / r.baseline_per_sec[i]);
  return TS_EXIT_OK;
}

static int bench_engine(bool json, double seconds) {
  ts_bench_engine_result r;
  if (!json) fprintf(stderr, "bench engine: about %.1f s...\n", seconds * 4);
  if (ts_bench_engine(seconds * 4, &r) != 0) {
    fprintf(stderr, "tunnelsim bench: the engine benchmark could not run (setup or round trip failed)\n");
    return TS_EXIT_INTERNAL;
  }
  double ratio[TS_BENCH_ENGINE_SIZES];
  for (int i = 0; i < TS_BENCH_ENGINE_SIZES; i++) ratio[i] = r.engine_pkts_per_sec[i] / r.aead_pkts_per_sec[i];
  double hs_ratio = r.handshakes_per_sec / r.handshake_bound_per_sec;
  if (json) {
    printf("{\"data_ratio\":{\"64\":%.3f,\"512\":%.3f,\"1420\":%.3f},\"handshake_ratio\":%.3f,"
           "\"data_gbps_1420\":%.3f,\"aead_gbps_1420\":%.3f,\"handshakes_per_sec\":%.0f,"
           "\"handshake_bound_per_sec\":%.0f}\n",
           ratio[0], ratio[1], ratio[2], hs_ratio, r.engine_gbit_per_sec[2], r.aead_gbit_per_sec[2],
           r.handshakes_per_sec, r.handshake_bound_per_sec);
    return TS_EXIT_OK;
  }
  printf("%-8s %16s %16s %8s\n", "size", "engine (Gbit/s)", "AEAD (Gbit/s)", "ratio");
  for (int i = 0; i < TS_BENCH_ENGINE_SIZES; i++)
    printf("%-8u %16.3f %16.3f %8.3f\n", ts_bench_engine_sizes[i], r.engine_gbit_per_sec[i],
           r.aead_gbit_per_sec[i], ratio[i]);
  printf("handshakes/s %.0f, X25519 bound %.0f (%d mult + %d base per handshake), ratio %.3f\n",
         r.handshakes_per_sec, r.handshake_bound_per_sec, r.x25519_ops, r.x25519_base_ops, hs_ratio);
  return TS_EXIT_OK;
}

int cli_bench(int argc, char **argv) {
  if (cli_wants_help(argc, argv) || argc < 2) {
    fputs(bench_usage, argc < 2 ? stderr : stdout);
    return argc < 2 ? TS_EXIT_USAGE : TS_EXIT_OK;
  }
  bool json = false;
  double seconds = 1.0;
  for (int i = 2; i < argc; i++) {
    if (!strcmp(argv[i], "--json")) json = true;
    else if (!strcmp(argv[i], "--seconds") && i + 1 < argc) {
      char *end;
      seconds = strtod(argv[++i], &end);
      if (*end || seconds <= 0 || seconds > 3600)
        return cli_usage_error("bench", "--seconds needs a number of seconds from 0 to 3600");
    } else return cli_usage_error("bench", "unknown option '%s'", argv[i]);
  }
  if (!strcmp(argv[1], "des")) return bench_des(json, seconds);
  if (!strcmp(argv[1], "engine")) return bench_engine(json, seconds);
  return cli_usage_error("bench", "no benchmark '%s' (available: des, engine)", argv[1]);
}
