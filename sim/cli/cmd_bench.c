/* tunnelsim bench: figures, each beside a baseline measured in the same run. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "ts_bench.h"
#include "ts_bench_engine.h"
#include "ts_bench_netstack.h"
#include "ts_bench_scenario.h"
#include "ts_error.h"

static const char bench_usage[] =
    "usage: tunnelsim bench des|engine|netstack|scenario [--json] [--seconds S] [--scenario FILE]\n"
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
    "netstack: lwIP (sim/netstack): the cost of one instance reset, and a connect +\n"
    "100 KB transfer between two instances over a link with 10% loss (20 ms one way,\n"
    "10 Mbit/s), averaged over loss patterns; beside creating the instances afresh\n"
    "and the same transfer through sim/net's own TCP.\n"
    "\n"
    "scenario: a 120-second connected-browsing scenario (models/scenarios/\n"
    "bench-browsing.yaml: handshake, keepalives, app traffic) run again and again in\n"
    "one reused world with real crypto, beside the same scenario with a fresh world\n"
    "per run and one bare handshake; every run's trace hash is checked against a\n"
    "fresh-world run's.\n"
    "\n"
    "options:\n"
    "  --json        print {\"events_per_sec\": {\"p1\":..,\"p1000\":..,\"p100000\":..}, ...}\n"
    "                (netstack: {\"reset_us\":..,\"transfer_100k_us\":..,...})\n"
    "  --seconds S   wall time per size (default 1; netstack and scenario: in total,\n"
    "                default 2 and 4)\n"
    "  --scenario F  the scenario file of `bench scenario` (default bench-browsing.yaml)\n";

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

static int bench_netstack(bool json, double seconds) {
  ts_bench_netstack_result r;
  if (!json) fprintf(stderr, "bench netstack: about %.1f s...\n", seconds);
  if (ts_bench_netstack(seconds, &r) != 0) {
    fprintf(stderr, "tunnelsim bench: netstack: %s, world seed %llu (a bug: run ctest -L netstack)\n",
            r.failure, (unsigned long long)r.failed_seed);
    return TS_EXIT_INTERNAL;
  }
  if (json) {
    printf("{\"reset_us\":%.2f,\"transfer_100k_us\":%.1f,\"reset_idle_us\":%.2f,\"create_us\":%.2f,"
           "\"native_transfer_100k_us\":%.1f,\"transfer_sim_seconds\":%.2f,\"native_sim_seconds\":%.2f,"
           "\"packets_per_transfer\":%.1f,\"transfers\":%llu,\"native_transfers\":%llu,\"instances\":%u}\n",
           r.reset_us, r.transfer_100k_us, r.reset_idle_us, r.create_us, r.native_transfer_100k_us,
           r.sim_seconds, r.native_sim_seconds, r.packets, (unsigned long long)r.transfers,
           (unsigned long long)r.native_transfers, r.instances);
    return TS_EXIT_OK;
  }
  printf("reset of one instance       %8.2f us after a transfer, %.2f us idle (%llu back to back)\n",
         r.reset_us, r.reset_idle_us, (unsigned long long)r.idle_resets);
  printf("  baseline: create one      %8.2f us (a device and its end of a link)\n", r.create_us);
  printf("connect + 100 KB, 10%% loss  %8.1f us (%.2f simulated s, %.0f packets; mean of %llu)\n",
         r.transfer_100k_us, r.sim_seconds, r.packets, (unsigned long long)r.transfers);
  printf("  baseline: sim/net TCP     %8.1f us (%.2f simulated s; mean of %llu)\n", r.native_transfer_100k_us,
         r.native_sim_seconds, (unsigned long long)r.native_transfers);
  printf("lwIP instances per process: %u (TUNNELSIM_NETSTACK_INSTANCES)\n", r.instances);
  return TS_EXIT_OK;
}

static int bench_scenario(bool json, double seconds, const char *path) {
  char def[1024];
  if (!path) path = ts_bench_scenario_default_path(def, sizeof def);
  ts_bench_scenario_result r;
  char err[1024];
  if (!json) fprintf(stderr, "bench scenario: %s, about %.1f s...\n", path, seconds);
  int rc = ts_bench_scenario(path, seconds, &r, err, sizeof err);
  if (rc) {
    fprintf(stderr, "tunnelsim bench: %s\n", err);
    return rc == TS_EPARSE || rc == TS_EIO || rc == TS_ENOENT ? TS_EXIT_USAGE : TS_EXIT_INTERNAL;
  }
  if (json) {
    printf("{\"runs_per_sec\":%.0f,\"events_per_run\":%llu,\"trace_records_per_run\":%llu,"
           "\"sim_seconds_per_run\":%.0f,\"runs\":%llu,\"fresh_world_runs_per_sec\":%.0f,"
           "\"bare_handshake_usec\":%.1f,\"x25519_usec\":%.1f,\"x25519_base_usec\":%.1f,"
           "\"key_cache_hits\":%llu,\"key_cache_misses\":%llu,\"hash_matches_fresh\":%s,"
           "\"trace_hash\":\"%s\"}\n",
           r.runs_per_sec, (unsigned long long)r.events_per_run, (unsigned long long)r.trace_records_per_run,
           r.sim_seconds_per_run, (unsigned long long)r.runs, r.fresh_runs_per_sec, r.handshake_usec,
           r.x25519_usec, r.x25519_base_usec, (unsigned long long)r.key_hits, (unsigned long long)r.key_misses,
           r.hash_matches_fresh ? "true" : "false", r.trace_hash);
  } else {
    printf("scenario %s: %.0f simulated s, %llu events and %llu trace records per run\n", path,
           r.sim_seconds_per_run, (unsigned long long)r.events_per_run,
           (unsigned long long)r.trace_records_per_run);
    printf("runs/s, reused world + cached keys  %10.0f  (%.1f us per run, %llu runs)\n", r.runs_per_sec,
           1e6 / r.runs_per_sec, (unsigned long long)r.runs);
    printf("runs/s, fresh world per run         %10.0f  (%.1f us per run)\n", r.fresh_runs_per_sec,
           1e6 / r.fresh_runs_per_sec);
    printf("key pairs: %llu from the cache, %llu derived\n", (unsigned long long)r.key_hits,
           (unsigned long long)r.key_misses);
    printf("bare handshake %.1f us; X25519 %.1f us, base point %.1f us\n", r.handshake_usec, r.x25519_usec,
           r.x25519_base_usec);
    printf("trace hash %s, every run %s the fresh world's\n", r.trace_hash,
           r.hash_matches_fresh ? "matches" : "DOES NOT match");
  }
  return r.hash_matches_fresh ? TS_EXIT_OK : TS_EXIT_INTERNAL;
}

int cli_bench(int argc, char **argv) {
  if (cli_wants_help(argc, argv) || argc < 2) {
    fputs(bench_usage, argc < 2 ? stderr : stdout);
    return argc < 2 ? TS_EXIT_USAGE : TS_EXIT_OK;
  }
  bool json = false;
  double seconds = 1.0;
  bool seconds_given = false;
  const char *scenario = NULL;
  for (int i = 2; i < argc; i++) {
    if (!strcmp(argv[i], "--json")) json = true;
    else if (!strcmp(argv[i], "--seconds") && i + 1 < argc) {
      char *end;
      seconds = strtod(argv[++i], &end);
      if (*end || seconds <= 0 || seconds > 3600)
        return cli_usage_error("bench", "--seconds needs a number of seconds from 0 to 3600");
      seconds_given = true;
    } else if (!strcmp(argv[i], "--scenario") && i + 1 < argc) {
      scenario = argv[++i];
    } else return cli_usage_error("bench", "unknown option '%s'", argv[i]);
  }
  if (!strcmp(argv[1], "des")) return bench_des(json, seconds);
  if (!strcmp(argv[1], "engine")) return bench_engine(json, seconds);
  if (!strcmp(argv[1], "netstack")) return bench_netstack(json, seconds_given ? seconds : 2.0);
  if (!strcmp(argv[1], "scenario")) return bench_scenario(json, seconds_given ? seconds : 4.0, scenario);
  return cli_usage_error("bench", "no benchmark '%s' (available: des, engine, netstack, scenario)", argv[1]);
}
