/* The provider's in-tunnel traffic (issue 7): its userspace netstack and mux, the
 * monitor's userspace-netstack ping path, and the ephemeral-peer negotiation on its
 * three paths (ios-model.md §2.4 items 1-3, §2.5; GT-09..GT-12 of §7), on a phone in
 * a small world (link delays one way):
 *
 *   phone en0 192.168.1.20 --5 ms-- ap (router) --5 ms-- core
 *        core --10 ms-- relay 203.0.113.10 (ts_relay: wg :51820, gateway 10.64.0.1,
 *                       NAT, negotiation on 10.64.0.1:1337 from its own lwIP)
 *        core --10 ms-- server 198.51.100.20 (echo)
 *
 * A WireGuard handshake takes one round trip phone-relay: HS_RTT = 40 ms. The
 * provider's settings call back SETTINGS_DELAY after startTunnel. The egress hook
 * records every packet that leaves en0 that is not the provider's tunnel UDP to
 * the relay (a leak, for these tests). A trace listener records each finished
 * negotiation attempt (ts_provider_negotiation_last) and whether the VPN session
 * ever reached connected.
 *
 * A negotiation moves the provider's engine to the ephemeral key it sent, with the
 * PSK; the relay registered that key as a second peer and routes the tunnel address
 * to it once it handshakes; the parent peer keeps no PSK, so a relaunched process
 * (parent key) gets its restricted tunnel back and negotiates again (ts_relay.h,
 * MV-CODE ephemeralpeer.proto). */
#include <string.h>

#include "ts_native.h"
#include "tstest.h"
#include "tstest_net.h"
#include "tstest_phone.h"

#define SETTINGS_DELAY (100 * TS_MS)
#define HS_RTT (2 * (5 + 5 + 10) * TS_MS)
#define MAX_ATTEMPTS 32

typedef struct opts {
  const char *profile;
  bool ian;
  bool monitor;                 /* the monitor, on path `path` */
  ts_monitor_path path;
  bool negotiate;               /* negotiation on path `neg_path` */
  ts_neg_path neg_path;
  ts_neg_on_exhausted on_exhausted;
  uint32_t max_retries;         /* 0: the default (10) */
  bool use_netstack;
  bool relay_serves;            /* the relay's negotiation option */
  bool on_demand;               /* Mullvad's one Connect rule, interfaceTypeMatch any */
  ts_provider_completion completion;
} opts;

/* What the trace listener saw in the world build() made last (one world at a time):
 * each finished negotiation attempt, in order, whether the session ever reached
 * connected, and any engine's WG_DROP_HANDSHAKE_DECRYPT. */
static struct seen {
  const ts_bed *b;
  bool ever_connected;
  ts_neg_attempt attempts[MAX_ATTEMPTS];
  uint32_t attempt_count;
  uint32_t decrypt_drops;
} seen;

static void on_trace(void *ctx, ts_time now, const char *kind, const char *subject,
                     const char *detail) {
  struct seen *s = ctx;
  (void)now;
  (void)subject;
  if (!strcmp(kind, "vpn-status") && detail && strstr(detail, "-> connected"))
    s->ever_connected = true;
  if (!strcmp(kind, "wg") && detail && !strcmp(detail, wg_event_name(WG_DROP_HANDSHAKE_DECRYPT)))
    s->decrypt_drops++;
  if (strcmp(kind, "provider-negotiation") || !s->b->prov || s->attempt_count == MAX_ATTEMPTS)
    return;
  ts_neg_attempt a;
  if (!ts_provider_negotiation_last(s->b->prov, &a) || a.outcome == TS_NEG_OUTCOME_PENDING) return;
  if (s->attempt_count && s->attempts[s->attempt_count - 1].started == a.started) return;
  s->attempts[s->attempt_count++] = a;
}

/* The bed (no echo servers), listened to from the world's start; 0, the provider's
 * create error, or another failure's code. */
static int build(ts_bed *b, const opts *o, uint64_t seed) {
  memset(&seen, 0, sizeof seen);
  seen.b = b;
  ts_world *w;
  int rc = ts_world_create(&w, &ts_native_backend, seed);
  if (rc) {
    b->w = NULL;
    return rc;
  }
  ts_trace_set_event_listener(ts_world_trace(w), on_trace, &seen);
  ts_bed_opts bo = {.relay_negotiation = o->relay_serves, .profile = o->profile, .ian = o->ian,
                    .on_demand = o->on_demand, .connect_rule = o->on_demand,
                    .provider = {.persistent_keepalive_s = 25,
                                 .settings_delay = SETTINGS_DELAY,
                                 .completion = o->completion,
                                 .use_netstack = o->use_netstack,
                                 .use_monitor = o->monitor,
                                 .monitor = {.path = o->path}}};
  ts_neg_config *neg = &bo.provider.negotiation;
  ts_neg_config_default(neg);
  neg->enabled = o->negotiate;
  neg->path = o->neg_path;
  neg->on_exhausted = o->on_exhausted;
  if (o->max_retries) neg->max_retries = o->max_retries;
  return ts_bed_build(b, w, &bo);
}

static ts_phone_app_stats app_stats(const ts_phone_app *a) {
  ts_phone_app_stats s;
  ts_phone_app_get_stats(a, &s);
  return s;
}

static ts_neg_stats nstats(const ts_bed *b) {
  ts_neg_stats s;
  ts_provider_negotiation_stats(b->prov, &s);
  return s;
}

/* ------------------------------------------------------------------ names */

TS_TEST(names_and_the_timeout_schedule) {
  TS_CHECK_STR(ts_monitor_path_name(TS_MONITOR_PATH_USERSPACE_NETSTACK), "userspace-netstack");
  TS_CHECK_STR(ts_neg_path_name(TS_NEG_PATH_NWTCPCONNECTION), "nwtcpconnection");
  TS_CHECK_STR(ts_neg_path_name(TS_NEG_PATH_NWCONNECTION_VIRTUAL), "nwconnection-virtual");
  TS_CHECK_STR(ts_neg_path_name(TS_NEG_PATH_NETSTACK), "userspace-netstack");
  TS_CHECK(ts_neg_path_name(TS_NEG_PATH_COUNT) == NULL);
  TS_CHECK_STR(ts_neg_state_name(TS_NEG_STATE_WAIT_TUNNEL), "waiting-for-tunnel");
  TS_CHECK_STR(ts_neg_state_name(TS_NEG_STATE_DONE), "done");
  TS_CHECK(ts_neg_state_name(TS_NEG_STATE_COUNT) == NULL);
  TS_CHECK_STR(ts_provider_error_reason_name(TS_PROVIDER_REASON_NEGOTIATION_FAILED),
               "negotiation-failed");
  /* REST.RetryStrategy.postQuantumKeyExchange: 10 s, x2, capped at 30 s. */
  ts_neg_config c;
  ts_neg_config_default(&c);
  TS_CHECK_INT(c.port, ==, 1337);
  TS_CHECK_INT(c.max_retries, ==, 10);
  TS_CHECK(ts_ipaddr_equal(&c.gateway, &(ts_ipaddr){4, {10, 64, 0, 1}}));
  TS_CHECK_INT(ts_neg_attempt_timeout(&c, 1), ==, 10 * TS_SEC);
  TS_CHECK_INT(ts_neg_attempt_timeout(&c, 2), ==, 20 * TS_SEC);
  TS_CHECK_INT(ts_neg_attempt_timeout(&c, 3), ==, 30 * TS_SEC);
  TS_CHECK_INT(ts_neg_attempt_timeout(&c, 11), ==, 30 * TS_SEC);
  c.timeout_initial = 2 * TS_SEC;
  c.timeout_multiplier = 3;
  TS_CHECK_INT(ts_neg_attempt_timeout(&c, 3), ==, 18 * TS_SEC);
  TS_CHECK_INT(ts_neg_attempt_timeout(&c, 4), ==, 30 * TS_SEC);
}

/* ------------------------------------------------------------------ GT-12 */

/* The provider's engine runs on the ephemeral key and the relay routes the tunnel
 * address to the ephemeral peer with that key; the parent peer holds no address and
 * the relay has two peers for the phone, no more. */
static void check_on_ephemeral_peer(ts_bed *b) {
  wg_device *pe = ts_wgdev_engine(ts_provider_wgdev(b->prov));
  wg_device *re = ts_wgdev_engine(ts_relay_wgdev(b->relay));
  TS_CHECK(pe != NULL);
  if (!pe) return;
  uint8_t dev_pub[WG_KEY_LEN];
  wg_device_public_key(pe, dev_pub);
  TS_CHECK(memcmp(dev_pub, b->phone_pub, WG_KEY_LEN) != 0);
  wg_peer *eph = wg_device_find_peer(re, dev_pub);
  wg_peer *parent = wg_device_find_peer(re, b->phone_pub);
  TS_CHECK(eph != NULL);
  TS_CHECK(parent != NULL);
  ts_ipaddr tun = ts_test_addr("10.64.0.2");
  TS_CHECK(wg_device_lookup_allowed_ip(re, 4, tun.bytes) == eph);
  TS_CHECK_INT(wg_peer_get_allowed_ips(parent, NULL, 0), ==, 0);
  TS_CHECK_INT(wg_device_peer_count(re), ==, 2);
  TS_CHECK_INT(ts_bed_rstats(b).ephemeral_peers, ==, 1);
}

static void gt12_under_ian(const char *profile, uint64_t seed) {
  ts_bed b;
  opts o = {.profile = profile, .ian = true, .monitor = true,
            .path = TS_MONITOR_PATH_USERSPACE_NETSTACK, .negotiate = true,
            .neg_path = TS_NEG_PATH_NETSTACK, .relay_serves = true,
            .completion = TS_PROVIDER_COMPLETE_AFTER_NEGOTIATION};
  TS_CHECK_INT(build(&b, &o, seed), ==, 0);
  const uint32_t free_before = ts_netstack_available();
  TS_CHECK_INT(ts_provider_start(b.prov, TS_START_APP), ==, 0);
  TS_CHECK(ts_provider_netstack(b.prov) == NULL); /* startTunnel runs from its own event */
  TS_CHECK_INT(ts_bed_run_to(&b, TS_MS), ==, 0);
  TS_CHECK(ts_provider_netstack(b.prov) != NULL);
  TS_CHECK_INT(ts_netstack_available(), ==, free_before - 1);
  /* Another app pings the internet from before the tunnel connects until well after
   * the key change. */
  ts_phone_app *app = ts_bed_add_ping(&b, "app", &b.server_addr, 200 * TS_MS, 20);
  TS_CHECK(app != NULL);
  /* The restricted handshake (parent key) at 0.14 s; the exchange over lwIP right
   * after it: SYN, then request and response, two round trips. At 0.22 s the
   * ephemeral key and the PSK go in, and the handshake with them completes one round
   * trip later: the key change re-opens the engine's initiation gate. Completion
   * waits for it (after-negotiation). */
  const ts_time switched = SETTINGS_DELAY + 3 * HS_RTT;
  TS_CHECK_INT(ts_bed_run_to(&b, switched - 1), ==, 0);
  TS_CHECK_INT(ts_provider_negotiation_state(b.prov), ==, TS_NEG_STATE_EXCHANGING);
  TS_CHECK_INT(ts_bed_status(&b), ==, TS_VPN_CONNECTING);
  TS_CHECK_INT(ts_bed_run_to(&b, switched), ==, 0);
  TS_CHECK_INT(nstats(&b).psk_installs, ==, 1);
  TS_CHECK_INT(ts_bed_rstats(&b).negotiations_ok, ==, 1);
  TS_CHECK_INT(ts_provider_negotiation_state(b.prov), ==, TS_NEG_STATE_REKEYING);
  TS_CHECK_INT(ts_bed_run_to(&b, switched + HS_RTT), ==, 0);
  TS_CHECK(ts_provider_negotiation_done(b.prov));
  TS_CHECK_INT(ts_bed_status(&b), ==, TS_VPN_CONNECTED);
  TS_CHECK_INT(ts_vpn_session_since(ts_phone_session(b.ph)), ==, switched + HS_RTT);
  /* The relay loads the ephemeral peer when its handshake completes there, on the
   * provider's first packet under it, half a round trip later. */
  TS_CHECK_INT(ts_bed_run_to(&b, switched + HS_RTT + HS_RTT / 2), ==, 0);
  check_on_ephemeral_peer(&b);
  TS_CHECK_INT(ts_bed_run_to(&b, 30 * TS_SEC), ==, 0);
  check_on_ephemeral_peer(&b);
  ts_neg_stats ns = nstats(&b);
  TS_CHECK_INT(ns.attempts, ==, 1);
  TS_CHECK_INT(ns.successes, ==, 1);
  TS_CHECK_INT(ns.timeouts + ns.failures, ==, 0);
  TS_CHECK_INT(ts_bed_pstats(&b).handshakes, ==, 2); /* the restricted one, the ephemeral one */
  TS_CHECK_INT(seen.attempt_count, ==, 1);
  TS_CHECK_INT(seen.attempts[0].outcome, ==, TS_NEG_OUTCOME_DONE);
  TS_CHECK(!seen.attempts[0].os_socket);
  /* The monitor reaches connected through the netstack, GT-09's failure avoided. */
  ts_monitor_stats ms = ts_bed_mstats(&b);
  TS_CHECK_INT(ms.connected, ==, 1);
  TS_CHECK_INT(ms.unreachable, ==, 0);
  TS_CHECK_INT(ms.replies, >=, 3);
  TS_CHECK_INT(ms.replies, ==, ms.pings_sent);
  TS_CHECK_INT(ts_monitor_state_of(ts_provider_monitor(b.prov)), ==, TS_MONITOR_CONNECTED);
  /* The app's pings worked before and after the key change (those before the tunnel
   * connected are dropped by includeAllNetworks, not leaked). */
  ts_phone_app_stats as = app_stats(app);
  TS_CHECK_INT(as.received, ==, 20 - 1); /* 0.2 s: connecting, dropped */
  TS_CHECK_INT(b.leaks, ==, 0);
  TS_CHECK_INT(b.egress, >, 10);
  ts_phone_stats ps;
  ts_phone_get_stats(b.ph, &ps);
  TS_CHECK_INT(ps.dropped, ==, 1);
  TS_CHECK_INT(ps.silent_failed + ps.unclaimed + ps.arrival_dropped, ==, 0);
  TS_CHECK_INT(ts_provider_stop(b.prov, TS_STOP_USER_INITIATED), ==, 0);
  TS_CHECK_INT(ts_bed_run_to(&b, 31 * TS_SEC), ==, 0);
  TS_CHECK(ts_provider_netstack(b.prov) == NULL);
  TS_CHECK_INT(ts_netstack_available(), ==, free_before);
  ts_world_destroy(b.w);
}

TS_TEST(gt12_netstack_ping_and_negotiation_work_under_ian_ios17) { gt12_under_ian("ios-17", 120); }
TS_TEST(gt12_netstack_ping_and_negotiation_work_under_ian_ios18) { gt12_under_ian("ios-18", 121); }

/* ------------------------------------------------------- relaunch (GT-12) */

static ts_time parent_last_handshake(ts_bed *b) {
  wg_peer *parent = wg_device_find_peer(ts_wgdev_engine(ts_relay_wgdev(b->relay)), b->phone_pub);
  wg_peer_stats st;
  wg_peer_get_stats(parent, &st);
  return st.last_handshake_ns;
}

static void provider_key(ts_bed *b, uint8_t out[WG_KEY_LEN]) {
  wg_device_public_key(ts_wgdev_engine(ts_provider_wgdev(b->prov)), out);
}

/* A new process runs: the restricted tunnel with the parent key handshook after
 * `since`, the negotiation ran again and succeeded (the n-th success), the engine
 * runs on a new ephemeral key, and the relay dropped the previous one. */
static void check_relaunched(ts_bed *b, ts_time since, uint32_t n,
                             const uint8_t prev_key[WG_KEY_LEN]) {
  TS_CHECK(ts_provider_running(b->prov));
  TS_CHECK_INT(ts_bed_pstats(b).launches, ==, n);
  TS_CHECK(parent_last_handshake(b) > since);
  TS_CHECK(ts_provider_negotiation_done(b->prov));
  TS_CHECK_INT(nstats(b).successes, ==, n);
  TS_CHECK_INT(nstats(b).timeouts + nstats(b).failures, ==, 0);
  TS_CHECK_INT(ts_bed_status(b), ==, TS_VPN_CONNECTED);
  check_on_ephemeral_peer(b);
  uint8_t key[WG_KEY_LEN];
  provider_key(b, key);
  TS_CHECK(memcmp(key, prev_key, WG_KEY_LEN) != 0);
  TS_CHECK(wg_device_find_peer(ts_wgdev_engine(ts_relay_wgdev(b->relay)), prev_key) == NULL);
  ts_relay_stats rs = ts_bed_rstats(b);
  TS_CHECK_INT(rs.ephemeral_registered, ==, n);
  TS_CHECK_INT(rs.ephemeral_removed, ==, n - 1);
  TS_CHECK_INT(seen.decrypt_drops, ==, 0);
}

/* An attempt that fails after the switch goes back to the parent key: the relay cannot
 * be reached from just before the provider switches to its ephemeral key until 12 s,
 * so the handshake on the ephemeral peer times out (10 s after the response). The
 * provider takes the parent key and the configured (no) PSK again and reconnects;
 * once the relay is back, that restricted tunnel handshakes (the relay drops the
 * unused ephemeral peer), and the second attempt succeeds on a new one. */
TS_TEST(gt12_a_switch_that_times_out_goes_back_to_the_parent_key) {
  ts_bed b;
  opts o = {.profile = "ios-18", .ian = true, .monitor = true,
            .path = TS_MONITOR_PATH_USERSPACE_NETSTACK, .negotiate = true,
            .neg_path = TS_NEG_PATH_NETSTACK, .relay_serves = true,
            .completion = TS_PROVIDER_COMPLETE_AFTER_NEGOTIATION};
  TS_CHECK_INT(build(&b, &o, 171), ==, 0);
  TS_CHECK_INT(ts_provider_start(b.prov, TS_START_APP), ==, 0);
  const ts_time switched = SETTINGS_DELAY + 3 * HS_RTT;
  TS_CHECK_INT(ts_bed_run_to(&b, switched - 1), ==, 0);
  TS_CHECK_INT(ts_world_link_set_up(b.w, b.relay_link, false), ==, 0);
  TS_CHECK_INT(ts_bed_run_to(&b, switched), ==, 0);
  TS_CHECK_INT(ts_provider_negotiation_state(b.prov), ==, TS_NEG_STATE_REKEYING);
  uint8_t key[WG_KEY_LEN];
  provider_key(&b, key);
  TS_CHECK(memcmp(key, b.phone_pub, WG_KEY_LEN) != 0);
  TS_CHECK_INT(ts_bed_rstats(&b).ephemeral_peers, ==, 1);
  /* The attempt's timeout (10 s) runs from the response. */
  TS_CHECK_INT(ts_bed_run_to(&b, switched + 10 * TS_SEC), ==, 0);
  TS_CHECK_INT(nstats(&b).timeouts, ==, 1);
  TS_CHECK_INT(ts_provider_negotiation_state(b.prov), ==, TS_NEG_STATE_WAIT_TUNNEL);
  provider_key(&b, key);
  TS_CHECK(memcmp(key, b.phone_pub, WG_KEY_LEN) == 0);
  TS_CHECK_INT(seen.attempt_count, ==, 1);
  TS_CHECK_INT(seen.attempts[0].outcome, ==, TS_NEG_OUTCOME_TIMEOUT);
  TS_CHECK_INT(seen.attempts[0].reached, ==, TS_NEG_STATE_REKEYING);
  TS_CHECK_INT(ts_bed_run_to(&b, 12 * TS_SEC), ==, 0);
  TS_CHECK_INT(ts_world_link_set_up(b.w, b.relay_link, true), ==, 0);
  TS_CHECK_INT(ts_bed_run_to(&b, 40 * TS_SEC), ==, 0);
  TS_CHECK(parent_last_handshake(&b) > 12 * TS_SEC);
  TS_CHECK(ts_provider_negotiation_done(b.prov));
  ts_neg_stats ns = nstats(&b);
  TS_CHECK_INT(ns.attempts, ==, 2);
  TS_CHECK_INT(ns.successes, ==, 1);
  TS_CHECK_INT(ns.psk_installs, ==, 2);
  TS_CHECK_INT(ts_bed_status(&b), ==, TS_VPN_CONNECTED);
  check_on_ephemeral_peer(&b);
  ts_relay_stats rs = ts_bed_rstats(&b);
  TS_CHECK_INT(rs.ephemeral_registered, ==, 2);
  TS_CHECK_INT(rs.ephemeral_removed, ==, 1);
  TS_CHECK_INT(seen.decrypt_drops, ==, 0);
  TS_CHECK_INT(b.leaks, ==, 0);
  ts_world_destroy(b.w);
}

/* The bug this guards against: the relay used to put the negotiated PSK on the
 * parent peer and keep it, so a relaunched process (parent key, no PSK) never got a
 * handshake again (the phone dropped every response, WG_DROP_HANDSHAKE_DECRYPT) and
 * the tunnel stayed down. With a separate ephemeral peer the parent stays PSK-less.
 * GT-12's world with on-demand: negotiated; then the system kills the process
 * (jetsam: no word to the relay) and on-demand relaunches it on the app's next
 * packet; then it crashes and the app starts it. Each new process gets its
 * restricted tunnel, negotiates again, and the app's traffic flows again. */
TS_TEST(gt12_a_relaunched_process_gets_its_tunnel_back) {
  ts_bed b;
  opts o = {.profile = "ios-18", .ian = true, .monitor = true,
            .path = TS_MONITOR_PATH_USERSPACE_NETSTACK, .negotiate = true,
            .neg_path = TS_NEG_PATH_NETSTACK, .relay_serves = true, .on_demand = true,
            .completion = TS_PROVIDER_COMPLETE_AFTER_NEGOTIATION};
  TS_CHECK_INT(build(&b, &o, 170), ==, 0);
  TS_CHECK_INT(ts_provider_start(b.prov, TS_START_APP), ==, 0);
  ts_phone_app *app = ts_bed_add_ping(&b, "app", &b.server_addr, 200 * TS_MS, 40);
  TS_CHECK(app != NULL);
  TS_CHECK_INT(ts_bed_run_to(&b, 5 * TS_SEC), ==, 0);
  TS_CHECK(ts_provider_negotiation_done(b.prov));
  check_on_ephemeral_peer(&b);
  uint8_t key1[WG_KEY_LEN];
  provider_key(&b, key1);
  uint32_t received = app_stats(app).received;
  TS_CHECK_INT(received, ==, 4); /* 1.2 .. 4.2 s (0.2 s: connecting) */

  /* Killed at 5 s. The relay still routes to the first ephemeral peer; the new
   * process knows nothing of it. On-demand starts it on the ping at 5.2 s. */
  TS_CHECK_INT(ts_phone_vpn_kill(b.ph, TS_STOP_NONE, TS_EXIT_JETSAM), ==, 0);
  TS_CHECK(!ts_provider_running(b.prov));
  TS_CHECK_INT(ts_bed_rstats(&b).ephemeral_peers, ==, 1);
  TS_CHECK_INT(ts_bed_run_to(&b, 15 * TS_SEC), ==, 0);
  check_relaunched(&b, 5 * TS_SEC, 2, key1);
  TS_CHECK_INT(ts_bed_pstats(&b).kills, ==, 1);
  /* The pings from 6.2 s on came back (5.2 s started the relaunch and was dropped). */
  TS_CHECK_INT(app_stats(app).received, ==, received + 9);
  received = app_stats(app).received;

  /* A crash at 15 s, and the app starts the VPN again at once. */
  uint8_t key2[WG_KEY_LEN];
  provider_key(&b, key2);
  TS_CHECK_INT(ts_provider_crash(b.prov), ==, 0);
  TS_CHECK_INT(ts_provider_start(b.prov, TS_START_APP), ==, 0);
  TS_CHECK_INT(ts_bed_run_to(&b, 25 * TS_SEC), ==, 0);
  check_relaunched(&b, 15 * TS_SEC, 3, key2);
  TS_CHECK_INT(app_stats(app).received, ==, received + 9);
  TS_CHECK_INT(b.leaks, ==, 0);
  TS_CHECK_INT(ts_packet_pool_outstanding(ts_world_pool(b.w)), ==, 0);
  ts_world_destroy(b.w);
}

/* ------------------------------------------------------------------ GT-10 */

/* Attempt k (0-based) timed out after its scheduled timeout; the next one started
 * one handshake round trip later (the reconnect's handshake). */
static void check_schedule(uint32_t n) {
  ts_neg_config d;
  ts_neg_config_default(&d);
  TS_CHECK_INT(seen.attempt_count, >=, n);
  TS_CHECK_INT(seen.attempts[0].started, ==, SETTINGS_DELAY + HS_RTT);
  for (uint32_t k = 0; k < n; k++) {
    const ts_neg_attempt *a = &seen.attempts[k];
    TS_CHECK_INT(a->number, ==, k + 1);
    TS_CHECK_INT(a->outcome, ==, TS_NEG_OUTCOME_TIMEOUT);
    TS_CHECK_INT(a->timeout, ==, ts_neg_attempt_timeout(&d, k + 1));
    TS_CHECK_INT(a->ended - a->started, ==, a->timeout);
    if (k + 1 < n) TS_CHECK_INT(seen.attempts[k + 1].started, ==, a->ended + HS_RTT);
  }
}

/* An NWTCPConnection that is never viable: waiting, silent-fail by the IAN quirk. */
static void check_never_viable(const ts_neg_attempt *a) {
  TS_CHECK(a->os_socket);
  TS_CHECK_INT(a->path, ==, TS_NEG_PATH_NWTCPCONNECTION);
  TS_CHECK_INT(a->reached, ==, TS_NEG_STATE_CONNECTING);
  TS_CHECK_INT(a->nw_state, ==, TS_NW_WAITING);
  TS_CHECK(!a->viable);
  TS_CHECK_INT(a->verdict.kind, ==, TS_VERDICT_SILENT_FAIL);
  TS_CHECK_INT(a->verdict.rule, ==, TS_RULE_IAN_PROVIDER_SILENT_FAIL);
  TS_CHECK_INT(a->verdict.quirk, ==, TS_QUIRK_IAN_PROVIDER_TUNNEL_SOCKETS_SILENT_FAIL);
}

TS_TEST(gt10_nwtcpconnection_never_viable_under_ian_cycles_on_the_schedule) {
  ts_bed b;
  /* Completion after settings, so the start watchdog does not end the cycle: the
   * schedule itself is under test here. 12 attempts: the 11th is the 10th retry. */
  opts o = {.profile = "ios-17", .ian = true, .negotiate = true,
            .neg_path = TS_NEG_PATH_NWTCPCONNECTION, .relay_serves = true};
  TS_CHECK_INT(build(&b, &o, 100), ==, 0);
  TS_CHECK_INT(ts_provider_start(b.prov, TS_START_APP), ==, 0);
  ts_phone_app *app = ts_bed_add_ping(&b, "app", &b.server_addr, TS_SEC, 5);
  TS_CHECK(app != NULL);
  /* 0.14 + 10 + 20 + 9 x 30 s, and 11 reconnect round trips: attempt 12 runs. */
  const ts_time end = SETTINGS_DELAY + HS_RTT + 300 * TS_SEC + 11 * HS_RTT + TS_SEC;
  TS_CHECK_INT(ts_bed_run_to(&b, end), ==, 0);
  check_schedule(11);
  for (uint32_t k = 0; k < 11; k++) check_never_viable(&seen.attempts[k]);
  ts_neg_stats ns = nstats(&b);
  TS_CHECK_INT(ns.attempts, ==, 12);
  TS_CHECK_INT(ns.timeouts, ==, 11);
  TS_CHECK_INT(ns.reconnects, ==, 11);
  TS_CHECK_INT(ns.successes + ns.psk_installs + ns.responses + ns.open_errors, ==, 0);
  TS_CHECK_INT(ts_bed_pstats(&b).handshakes, ==, 12); /* the first one and one per reconnect */
  /* Retries exhausted: Mullvad keeps cycling at 30 s. */
  TS_CHECK_INT(ts_provider_negotiation_state(b.prov), ==, TS_NEG_STATE_CONNECTING);
  ts_neg_attempt last;
  TS_CHECK(ts_provider_negotiation_last(b.prov, &last));
  TS_CHECK_INT(last.number, ==, 12);
  TS_CHECK_INT(last.outcome, ==, TS_NEG_OUTCOME_PENDING);
  TS_CHECK_INT(last.timeout, ==, 30 * TS_SEC);
  check_never_viable(&last); /* live */
  TS_CHECK(!ts_provider_negotiation_done(b.prov));
  TS_CHECK_INT(ts_bed_rstats(&b).gateway_stack_in, ==, 0); /* no SYN ever reached the relay */
  /* Nothing left the phone but tunnel UDP; the app's pings went through the tunnel. */
  TS_CHECK_INT(b.leaks, ==, 0);
  TS_CHECK_INT(app_stats(app).received, ==, 5);
  ts_world_destroy(b.w);
}

TS_TEST(gt10_after_negotiation_the_vpn_never_connects_under_ian) {
  ts_bed b;
  opts o = {.profile = "ios-17", .ian = true, .negotiate = true,
            .neg_path = TS_NEG_PATH_NWTCPCONNECTION, .relay_serves = true,
            .completion = TS_PROVIDER_COMPLETE_AFTER_NEGOTIATION};
  TS_CHECK_INT(build(&b, &o, 101), ==, 0);
  TS_CHECK_INT(ts_provider_start(b.prov, TS_START_APP), ==, 0);
  ts_phone_app *app = ts_bed_add_ping(&b, "app", &b.server_addr, TS_SEC, 100);
  TS_CHECK(app != NULL);
  /* Timeouts at 10.14 and 30.18 s; the start watchdog (60 s, F-60S) ends it at 60 s,
   * before the third (60.22 s). */
  TS_CHECK_INT(ts_bed_run_to(&b, 60 * TS_SEC - 1), ==, 0);
  TS_CHECK_INT(ts_bed_status(&b), ==, TS_VPN_CONNECTING);
  check_schedule(2);
  TS_CHECK_INT(nstats(&b).attempts, ==, 3);
  TS_CHECK_INT(ts_bed_run_to(&b, 120 * TS_SEC), ==, 0);
  TS_CHECK(!seen.ever_connected);
  TS_CHECK(!ts_provider_running(b.prov));
  TS_CHECK_INT(seen.attempt_count, ==, 3);
  TS_CHECK_INT(seen.attempts[2].outcome, ==, TS_NEG_OUTCOME_ABORTED);
  TS_CHECK_INT(ts_vpn_session_exit_count(ts_phone_session(b.ph), TS_EXIT_WATCHDOG) +
                   ts_vpn_session_exit_count(ts_phone_session(b.ph), TS_EXIT_STOPPED),
               ==, 1);
  /* A lockout, not a leak: the app's pings were dropped inside the phone. */
  TS_CHECK_INT(app_stats(app).received, ==, 0);
  TS_CHECK_INT(b.leaks, ==, 0);
  ts_world_destroy(b.w);
}

/* One negotiation that succeeds on an OS socket path (no includeAllNetworks). */
static void negotiation_succeeds(const char *profile, ts_neg_path path, uint64_t seed) {
  ts_bed b;
  opts o = {.profile = profile, .negotiate = true, .neg_path = path, .relay_serves = true,
            .completion = TS_PROVIDER_COMPLETE_AFTER_NEGOTIATION};
  TS_CHECK_INT(build(&b, &o, seed), ==, 0);
  TS_CHECK_INT(ts_provider_start(b.prov, TS_START_APP), ==, 0);
  ts_phone_app *app = ts_bed_add_ping(&b, "app", &b.server_addr, 6 * TS_SEC, 5);
  TS_CHECK(app != NULL);
  TS_CHECK_INT(ts_bed_run_to(&b, 15 * TS_SEC), ==, 0);
  TS_CHECK(ts_provider_negotiation_done(b.prov));
  TS_CHECK_INT(ts_bed_status(&b), ==, TS_VPN_CONNECTED);
  ts_neg_stats ns = nstats(&b);
  TS_CHECK_INT(ns.attempts, ==, 1);
  TS_CHECK_INT(ns.successes, ==, 1);
  TS_CHECK_INT(ns.psk_installs, ==, 1);
  TS_CHECK_INT(ts_bed_rstats(&b).negotiations_ok, ==, 1);
  check_on_ephemeral_peer(&b);
  TS_CHECK_INT(seen.attempt_count, ==, 1);
  const ts_neg_attempt *a = &seen.attempts[0];
  TS_CHECK_INT(a->outcome, ==, TS_NEG_OUTCOME_DONE);
  TS_CHECK(a->os_socket);
  TS_CHECK(a->viable);
  TS_CHECK_INT(a->nw_state, ==, TS_NW_READY);
  TS_CHECK_INT(a->verdict.kind, ==, TS_VERDICT_TUNNEL);
  /* Its segments went through utun: the phone's TCP over the tunnel. */
  ts_phone_stats ps;
  ts_phone_get_stats(b.ph, &ps);
  TS_CHECK_INT(ps.tx_tunnel, >=, 4);
  TS_CHECK_INT(ps.unclaimed + ps.silent_failed + ps.arrival_dropped, ==, 0);
  TS_CHECK(ts_provider_netstack(b.prov) == NULL); /* no netstack needed on this path */
  TS_CHECK_INT(app_stats(app).received, ==, 5);
  TS_CHECK_INT(b.leaks, ==, 0);
  ts_world_destroy(b.w);
}

TS_TEST(gt10_nwtcpconnection_succeeds_without_ian) {
  negotiation_succeeds("ios-17", TS_NEG_PATH_NWTCPCONNECTION, 102);
}

/* ------------------------------------------------------------- GT-11 TCP */

TS_TEST(gt11_nwconnection_virtual_interface_tcp_fails_under_ian_only) {
  negotiation_succeeds("ios-18", TS_NEG_PATH_NWCONNECTION_VIRTUAL, 110);
  if (ts_test_failed_now()) return;
  ts_bed b;
  opts o = {.profile = "ios-18", .ian = true, .negotiate = true,
            .neg_path = TS_NEG_PATH_NWCONNECTION_VIRTUAL, .relay_serves = true};
  TS_CHECK_INT(build(&b, &o, 111), ==, 0);
  TS_CHECK_INT(ts_provider_start(b.prov, TS_START_APP), ==, 0);
  TS_CHECK_INT(ts_bed_run_to(&b, 45 * TS_SEC), ==, 0);
  check_schedule(2);
  for (uint32_t k = 0; k < 2; k++) {
    const ts_neg_attempt *a = &seen.attempts[k];
    TS_CHECK(a->os_socket);
    TS_CHECK_INT(a->nw_state, ==, TS_NW_WAITING);
    TS_CHECK(!a->viable);
    TS_CHECK_INT(a->verdict.kind, ==, TS_VERDICT_SILENT_FAIL);
    TS_CHECK_INT(a->verdict.quirk, ==, TS_QUIRK_IAN_VIRTUAL_INTERFACE_NO_PATH);
  }
  TS_CHECK_INT(nstats(&b).successes, ==, 0);
  TS_CHECK_INT(b.leaks, ==, 0);
  ts_world_destroy(b.w);
  /* iOS 17 has no virtualInterface: the provider cannot be configured so. */
  o.profile = "ios-17";
  TS_CHECK_INT(build(&b, &o, 112), ==, TS_ENOTSUP);
  ts_world_destroy(b.w);
}

/* ------------------------------------------------------------------ the mux */

TS_TEST(mux_the_netstack_and_an_app_share_the_gateway_without_stealing) {
  ts_bed b;
  opts o = {.profile = "ios-18", .ian = true, .monitor = true,
            .path = TS_MONITOR_PATH_USERSPACE_NETSTACK, .negotiate = true,
            .neg_path = TS_NEG_PATH_NETSTACK, .relay_serves = true};
  TS_CHECK_INT(build(&b, &o, 130), ==, 0);
  TS_CHECK_INT(ts_provider_start(b.prov, TS_START_APP), ==, 0);
  /* Another app pings the same gateway through utun while the monitor pings it
   * through the netstack, the negotiation's TCP running at the same time. */
  ts_phone_app *app = ts_bed_add_ping(&b, "other-app", &b.gateway, 200 * TS_MS, 20);
  TS_CHECK(app != NULL);
  TS_CHECK_INT(ts_bed_run_to(&b, 25 * TS_SEC), ==, 0);
  TS_CHECK(ts_provider_negotiation_done(b.prov));
  ts_phone_app_stats as = app_stats(app);
  TS_CHECK_INT(as.sent, ==, 20);
  TS_CHECK_INT(as.received, ==, 20);
  TS_CHECK_INT(as.last_verdict.kind, ==, TS_VERDICT_TUNNEL);
  ts_monitor_stats ms = ts_bed_mstats(&b);
  TS_CHECK_INT(ms.pings_sent, >=, 3);
  TS_CHECK_INT(ms.replies, ==, ms.pings_sent);
  /* Every gateway echo answered: the app's and the monitor's. */
  TS_CHECK_INT(ts_bed_rstats(&b).gateway_echoes, ==, as.sent + ms.pings_sent);
  /* The mux gave the netstack exactly the monitor's replies and the negotiation's
   * segments; utun got the app's replies, and the phone claimed all of them. */
  ts_mux_stats xs;
  ts_mux_get_stats(ts_provider_mux(b.prov), &xs);
  TS_CHECK_INT(xs.tracked_icmp, ==, 1);
  TS_CHECK_INT(xs.tracked_tcp, ==, 1);
  TS_CHECK_INT(xs.inbound_netstack, ==, ts_bed_pstats(&b).netstack_in);
  TS_CHECK_INT(xs.inbound_netstack, >, ms.replies);
  ts_phone_stats ps;
  ts_phone_get_stats(b.ph, &ps);
  TS_CHECK_INT(ps.rx_tunnel, ==, as.received);
  TS_CHECK_INT(xs.inbound_utun, ==, ps.rx_tunnel);
  TS_CHECK_INT(ps.unclaimed + ps.arrival_dropped + ps.silent_failed, ==, 0);
  TS_CHECK_INT(b.leaks, ==, 0);
  ts_world_destroy(b.w);
}

/* ---------------------------------------------------------- process ends */

TS_TEST(process_end_destroys_the_netstack_and_a_new_launch_makes_a_fresh_one) {
  ts_bed b;
  opts o = {.profile = "ios-18", .monitor = true, .path = TS_MONITOR_PATH_USERSPACE_NETSTACK};
  TS_CHECK_INT(build(&b, &o, 140), ==, 0);
  const uint32_t free0 = ts_netstack_available();
  ts_vpn_session *s = ts_phone_session(b.ph);
  /* kill (SIGKILL), crash, reboot, stop: each ends the instance; each launch makes one. */
  for (int round = 0; round < 4; round++) {
    ts_time t = ts_world_now(b.w);
    TS_CHECK_INT(ts_provider_start(b.prov, TS_START_APP), ==, 0);
    TS_CHECK_INT(ts_bed_run_to(&b, t + 10 * TS_SEC), ==, 0);
    TS_CHECK(ts_provider_netstack(b.prov) != NULL);
    TS_CHECK_INT(ts_netstack_available(), ==, free0 - 1);
    TS_CHECK_INT(ts_bed_pstats(&b).netstack_created, ==, round + 1);
    /* The monitor reaches connected through each process's instance. */
    TS_CHECK_INT(ts_bed_mstats(&b).connected, ==, round + 1);
    TS_CHECK_INT(ts_bed_mstats(&b).replies, >=, round + 1);
    if (round == 0) TS_CHECK_INT(ts_phone_vpn_kill(b.ph, TS_STOP_NONE, TS_EXIT_WATCHDOG), ==, 0);
    if (round == 1) TS_CHECK_INT(ts_provider_crash(b.prov), ==, 0);
    if (round == 2) {
      TS_CHECK_INT(ts_phone_reboot(b.ph), ==, 0);
      TS_CHECK_INT(ts_phone_unlock(b.ph), ==, 0);
    }
    if (round == 3) TS_CHECK_INT(ts_provider_stop(b.prov, TS_STOP_USER_INITIATED), ==, 0);
    TS_CHECK_INT(ts_bed_run_to(&b, t + 11 * TS_SEC), ==, 0);
    TS_CHECK(!ts_provider_running(b.prov));
    TS_CHECK(ts_provider_netstack(b.prov) == NULL);
    TS_CHECK_INT(ts_netstack_available(), ==, free0);
    TS_CHECK_INT(ts_bed_pstats(&b).netstack_destroyed, ==, round + 1);
    TS_CHECK_INT(ts_mux_flow_count(ts_provider_mux(b.prov)), ==, 0);
    TS_CHECK_INT(ts_vpn_session_status(s), ==, TS_VPN_DISCONNECTED);
  }
  TS_CHECK_INT(b.leaks, ==, 0);
  TS_CHECK_INT(ts_packet_pool_outstanding(ts_world_pool(b.w)), ==, 0);
  /* And with the world: a running process's instance is freed by ts_world_destroy. */
  TS_CHECK_INT(ts_provider_start(b.prov, TS_START_APP), ==, 0);
  TS_CHECK_INT(ts_bed_run_to(&b, ts_world_now(b.w) + TS_SEC), ==, 0);
  TS_CHECK_INT(ts_netstack_available(), ==, free0 - 1);
  ts_world_destroy(b.w);
  TS_CHECK_INT(ts_netstack_available(), ==, free0 + 0);
}

/* ------------------------------------------------------------- give up */

TS_TEST(exhausted_retries_with_error_state_give_up_into_negotiation_failed) {
  ts_bed b;
  opts o = {.profile = "ios-17", .ian = true, .negotiate = true,
            .neg_path = TS_NEG_PATH_NWTCPCONNECTION, .relay_serves = true,
            .on_exhausted = TS_NEG_EXHAUSTED_ERROR_STATE, .max_retries = 2};
  TS_CHECK_INT(build(&b, &o, 150), ==, 0);
  TS_CHECK_INT(ts_provider_start(b.prov, TS_START_APP), ==, 0);
  ts_phone_app *app = ts_bed_add_ping(&b, "app", &b.server_addr, 70 * TS_SEC, 5);
  TS_CHECK(app != NULL);
  /* Attempts end at 10.14, 30.18 and 60.22 s; the third is the second retry. */
  TS_CHECK_INT(ts_bed_run_to(&b, 80 * TS_SEC), ==, 0);
  check_schedule(3);
  TS_CHECK_INT(seen.attempt_count, ==, 3);
  TS_CHECK_INT(nstats(&b).attempts, ==, 3);
  TS_CHECK_INT(nstats(&b).reconnects, ==, 2);
  TS_CHECK_INT(ts_provider_negotiation_state(b.prov), ==, TS_NEG_STATE_GAVE_UP);
  TS_CHECK(ts_provider_in_error_state(b.prov));
  TS_CHECK_INT(ts_provider_error_reason_get(b.prov), ==, TS_PROVIDER_REASON_NEGOTIATION_FAILED);
  TS_CHECK(ts_provider_wgdev(b.prov) == NULL);
  /* The error state keeps its default routes: the app is blackholed, not leaked. */
  TS_CHECK_INT(app_stats(app).received, ==, 0);
  TS_CHECK_INT(b.leaks, ==, 0);
  /* A new process starts a fresh schedule. */
  TS_CHECK_INT(ts_provider_stop(b.prov, TS_STOP_USER_INITIATED), ==, 0);
  TS_CHECK_INT(ts_bed_run_to(&b, 81 * TS_SEC), ==, 0);
  TS_CHECK_INT(ts_provider_start(b.prov, TS_START_APP), ==, 0);
  TS_CHECK_INT(ts_bed_run_to(&b, 82 * TS_SEC), ==, 0);
  ts_neg_attempt last;
  TS_CHECK(ts_provider_negotiation_last(b.prov, &last));
  TS_CHECK_INT(last.number, ==, 1);
  TS_CHECK_INT(ts_provider_negotiation_state(b.prov), ==, TS_NEG_STATE_CONNECTING);
  ts_world_destroy(b.w);
}

/* ------------------------------------------------------------ determinism */

static void gt12_hash(uint64_t seed, char out[TS_TRACE_HASH_HEX]) {
  ts_bed b;
  opts o = {.profile = "ios-18", .ian = true, .monitor = true,
            .path = TS_MONITOR_PATH_USERSPACE_NETSTACK, .negotiate = true,
            .neg_path = TS_NEG_PATH_NETSTACK, .relay_serves = true};
  out[0] = 0;
  if (build(&b, &o, seed) || ts_provider_start(b.prov, TS_START_APP) ||
      !ts_bed_add_ping(&b, "app", &b.server_addr, TS_SEC, 10) || ts_bed_run_to(&b, 20 * TS_SEC) ||
      !ts_provider_negotiation_done(b.prov)) {
    if (b.w) ts_world_destroy(b.w);
    return;
  }
  ts_trace_hash_hex(ts_world_trace(b.w), out);
  ts_world_destroy(b.w);
}

TS_TEST(the_same_seed_gives_the_same_trace) {
  char h1[TS_TRACE_HASH_HEX], h2[TS_TRACE_HASH_HEX], h3[TS_TRACE_HASH_HEX];
  gt12_hash(160, h1);
  gt12_hash(160, h2);
  gt12_hash(161, h3);
  TS_CHECK(h1[0] != 0);
  TS_CHECK_STR(h1, h2);
  TS_CHECK(strcmp(h1, h3) != 0); /* the seed reaches the keys, ISNs and ports */
}
