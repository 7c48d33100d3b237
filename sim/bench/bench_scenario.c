/* Scenario benchmark (see ts_bench_scenario.h). */
#include "ts_bench_engine.h"
#include "ts_bench_scenario.h"

#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ts_bench.h"
#include "ts_native.h"
#include "ts_rng.h"
#include "ts_run.h"
#include "wg.h"

const char *ts_bench_scenario_default_path(char *buf, size_t n) {
  const char *env = getenv("TUNNELSIM_MODELS");
  snprintf(buf, n, "%s/scenarios/bench-browsing.yaml", env ? env : TUNNELSIM_MODELS_DIR);
  return buf;
}

/* ---- baseline: one bare handshake between two in-memory engines ---- */

typedef struct hs_node {
  wg_device *dev;
  wg_peer *peer;
  ts_rng rng;
  wg_endpoint ep;
  uint8_t out[WG_MESSAGE_MAX];
  size_t out_len;
  uint64_t handshakes;
} hs_node;

static void hs_on_action(void *ctx, const wg_action *a) {
  hs_node *n = ctx;
  if (a->kind == WG_ACTION_SEND_UDP && a->len <= sizeof n->out) {
    memcpy(n->out, a->data, a->len);
    n->out_len = a->len;
  } else if (a->kind == WG_ACTION_LOG && a->event == WG_EV_HANDSHAKE_COMPLETE) {
    n->handshakes++;
  }
}

static int hs_make(hs_node *n, uint64_t seed, uint8_t host, const uint8_t peer_pub[32], uint8_t peer_host,
                   uint8_t pub[32]) {
  memset(n, 0, sizeof *n);
  ts_rng_init(&n->rng, seed, "bench/scenario-handshake");
  n->ep = wg_endpoint_ipv4((const uint8_t[4]){192, 0, 2, host}, 51820);
  wg_device_config cfg = {.rng = ts_rng_source, .rng_ctx = &n->rng, .mtu = 1420};
  ts_rng_source(&n->rng, cfg.private_key, 32);
  wg_key_clamp(cfg.private_key);
  if (wg_key_public_from_private(pub, cfg.private_key) != WG_OK) return -1;
  if (!peer_pub) return 0;
  int rc = wg_device_create(&n->dev, &cfg);
  sodium_memzero(cfg.private_key, 32);
  if (rc != WG_OK) return -1;
  wg_peer_config pc = {.endpoint = wg_endpoint_ipv4((const uint8_t[4]){192, 0, 2, peer_host}, 51820)};
  memcpy(pc.public_key, peer_pub, 32);
  return wg_device_add_peer(n->dev, &pc, &n->peer) == WG_OK ? 0 : -1;
}

static int hs_once(hs_node *a, hs_node *b, int64_t now) {
  wg_sink sa = {hs_on_action, a}, sb = {hs_on_action, b};
  uint64_t before = a->handshakes;
  a->out_len = b->out_len = 0;
  wg_peer_initiate_handshake(a->peer, now, &sa);
  if (!a->out_len) return -1;
  wg_device_rx_udp(b->dev, now, &a->ep, a->out, a->out_len, &sb);
  if (!b->out_len) return -1;
  wg_device_rx_udp(a->dev, now, &b->ep, b->out, b->out_len, &sa);
  return a->handshakes > before ? 0 : -1;
}

/* Microseconds per handshake (initiation built, consumed, response consumed). */
static double bare_handshake_usec(double seconds) {
  hs_node *a = calloc(1, sizeof *a), *b = calloc(1, sizeof *b);
  double usec = -1;
  uint8_t pa[32], pb[32];
  if (!a || !b || hs_make(a, 11, 1, NULL, 0, pa) || hs_make(b, 22, 2, NULL, 0, pb) ||
      hs_make(a, 11, 1, pb, 2, pa) || hs_make(b, 22, 2, pa, 1, pb))
    goto done;
  int64_t now = WG_NS_PER_S;
  uint64_t n = 0;
  double t0 = ts_bench_wall_seconds(), t1;
  do {
    now += 6 * WG_NS_PER_S; /* past REKEY_TIMEOUT, so every initiation is allowed */
    if (hs_once(a, b, now)) goto done;
    n++;
    t1 = ts_bench_wall_seconds();
  } while (t1 - t0 < seconds);
  usec = (t1 - t0) * 1e6 / (double)n;
done:
  if (a && a->dev) wg_device_destroy(a->dev);
  if (b && b->dev) wg_device_destroy(b->dev);
  free(a);
  free(b);
  return usec;
}

/* ---- the scenario ---- */

static int fail(char *err, size_t errlen, int rc, const char *what, const ts_run_result *r) {
  snprintf(err, errlen, "%s: %s", what, r && r->error[0] ? r->error : ts_strerror(rc));
  return rc;
}

int ts_bench_scenario(const char *path, double seconds, ts_bench_scenario_result *out, char *err,
                      size_t errlen) {
  memset(out, 0, sizeof *out);
  err[0] = '\0';
  if (sodium_init() < 0) return fail(err, errlen, TS_ESTATE, "libsodium", NULL);
  ts_scenario *s = NULL;
  ts_diag d;
  int rc = ts_scenario_load_file(path, &s, &d);
  if (rc) {
    ts_diag_format(&d, err, errlen);
    return rc;
  }
  ts_run_result *r = malloc(sizeof *r);
  ts_world *w = NULL;
  ts_run_cache *keys = NULL;
  if (!r) {
    rc = fail(err, errlen, TS_ENOMEM, "benchmark", NULL);
    goto done;
  }
  ts_run_options o;
  ts_run_defaults(s, &o);

  /* The reference: a fresh world, as `tunnelsim run` does it. */
  rc = ts_run_scenario(s, &o, r);
  if (rc) {
    fail(err, errlen, rc, s->source, r);
    goto done;
  }
  memcpy(out->trace_hash, r->trace_hash, sizeof out->trace_hash);
  out->events_per_run = r->events;
  out->trace_records_per_run = r->trace_records;
  out->sim_seconds_per_run = (double)r->sim_time / (double)TS_SEC;

  rc = ts_world_create(&w, &ts_native_backend, o.seed);
  if (!rc) rc = ts_run_cache_create(&keys);
  if (rc) {
    fail(err, errlen, rc, "world", NULL);
    goto done;
  }
  ts_run_options cached = o;
  cached.cache = keys;

  /* Rounds alternate the baseline (a fresh world per run, as `tunnelsim run` does)
   * with the figure (one world reused, key pairs cached), so that a machine busy with
   * something else slows both alike. Half the time goes to the figure, a quarter to
   * the baseline, a quarter to the bare handshake and X25519. */
  enum { ROUNDS = 8 };
  double slice = seconds / 4 / ROUNDS, fresh_time = 0, reused_time = 0;
  for (int round = 0; round < ROUNDS; round++) {
    double t0 = ts_bench_wall_seconds(), t1;
    do {
      rc = ts_run_scenario(s, &o, r);
      if (rc) {
        fail(err, errlen, rc, s->source, r);
        goto done;
      }
      if (strcmp(r->trace_hash, out->trace_hash) || r->events != out->events_per_run) out->hash_mismatches++;
      out->fresh_runs++;
      t1 = ts_bench_wall_seconds();
    } while (t1 - t0 < slice);
    fresh_time += t1 - t0;
    t0 = t1;
    do {
      rc = ts_run_in_world(w, s, &cached, r);
      if (rc) {
        fail(err, errlen, rc, s->source, r);
        goto done;
      }
      if (strcmp(r->trace_hash, out->trace_hash) || r->events != out->events_per_run) out->hash_mismatches++;
      out->runs++;
      t1 = ts_bench_wall_seconds();
    } while (t1 - t0 < 2 * slice);
    reused_time += t1 - t0;
  }
  out->fresh_runs_per_sec = (double)out->fresh_runs / fresh_time;
  out->runs_per_sec = (double)out->runs / reused_time;
  slice *= ROUNDS;
  out->hash_matches_fresh = out->hash_mismatches == 0;

  out->handshake_usec = bare_handshake_usec(slice / 2);
  out->x25519_usec = ts_bench_x25519_usec(slice / 4, false);
  out->x25519_base_usec = ts_bench_x25519_usec(slice / 4, true);
  if (out->handshake_usec < 0 || out->x25519_usec < 0) rc = fail(err, errlen, TS_ESTATE, "bare handshake", NULL);
done:
  if (keys) ts_run_cache_counts(keys, &out->key_hits, &out->key_misses);
  ts_run_cache_destroy(keys);
  if (w) ts_world_destroy(w);
  free(r);
  ts_scenario_free(s);
  return rc;
}
