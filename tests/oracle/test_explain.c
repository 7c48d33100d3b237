/* Explanations from device snapshots: GT-06 comes out as the update deadlock cycle,
 * GT-09 as the monitor/tunnel cycle, and only when the mechanism behind each edge is
 * in the snapshot; the blocked states (first unlock, outdated settings, stale
 * policy, start watchdog) as chains to what ends them; a healthy device as no chain;
 * the explainer reused across snapshots. */
#include "ts_explain.h"
#include "ts_os_model.h"
#include "tstest.h"

/* The OS model's summary of a rule, so expected texts follow the model's words. */
static const char *summary(const char *rule) {
  for (int r = TS_RULE_NONE + 1; r < TS_RULE_COUNT; r++) {
    const ts_os_rule_info *ri = ts_os_rule_get((ts_os_rule)r);
    if (ri && !strcmp(ri->name, rule)) return ri->summary;
  }
  return "?";
}

static ts_explain_snapshot healthy(void) {
  ts_explain_snapshot s = {0};
  s.os = "ios-18";
  s.vpn_profile_present = true;
  s.include_all_networks = true;
  s.on_demand_enabled = true;
  s.session_status = "connected";
  s.down_cause = "boot"; /* the OS model's names for nothing: "none" */
  s.stop_reason = "none";
  s.last_exit = "none";
  s.provider_error_reason = "none";
  s.app_block_verdict = "none";
  s.provider_running = true;
  s.tunnel_connected_ever = true;
  s.app_state = "installed";
  s.update_phase = "";
  s.monitor_state = "connected";
  s.monitor_path = "engine";
  s.monitor_ping_verdict = "tunnel";
  s.completion_after_monitor = true;
  return s;
}

/* GT-06: the update has terminated the provider (appUpdate), its relaunch is refused
 * while the app is updating, and the download's packets are dropped like every app's. */
static ts_explain_snapshot update_lockout(void) {
  ts_explain_snapshot s = healthy();
  s.session_status = "disconnected";
  s.down_cause = "provider";
  s.stop_reason = "appUpdate";
  s.last_exit = "sigterm";
  s.provider_running = false;
  s.app_state = "updating";
  s.update_phase = "downloading";
  s.update_attempts = 1;
  s.downloader_waiting = true;
  s.downloader_rule = "ian-on-demand-pending";
  s.downloader_verdict = "drop";
  s.launches_refused = 2;
  s.relaunch_refused_quirk = true;
  s.app_block_rule = "ian-on-demand-pending";
  s.app_block_verdict = "drop";
  s.monitor_state = "";
  return s;
}

/* GT-09: a Mullvad-like provider whose legacy pinger is bound to the utun; under IAN
 * its ICMP silently fails, so the monitor never confirms and the tunnel never counts
 * as up. */
static ts_explain_snapshot monitor_lockout(void) {
  ts_explain_snapshot s = healthy();
  s.session_status = "reasserting";
  s.monitor_state = "connecting";
  s.monitor_path = "bsd-utun";
  s.monitor_ping_rule = "ian-provider-silent-fail";
  s.monitor_ping_verdict = "silent-fail";
  s.app_block_rule = "ian-not-connected-drop";
  s.app_block_verdict = "drop";
  return s;
}

static ts_explainer *explainer(void) {
  ts_explainer *x = NULL;
  if (ts_explainer_create(&x)) return NULL;
  return x;
}

TS_TEST(the_app_store_update_lockout_is_a_deadlock_cycle_through_the_tunnel) {
  ts_explainer *x = explainer();
  TS_CHECK(x);
  ts_explain_snapshot s = update_lockout();
  ts_explanation e;
  TS_CHECK_INT(ts_explain_lockout(x, &s, &e), ==, 0);
  TS_CHECK(e.found);
  TS_CHECK(e.deadlock);
  TS_CHECK_STR(e.headline,
               "lockout on ios-18: update deadlock between the App Store download and the VPN tunnel");
  TS_CHECK_STR(e.cycle_node, "tunnel");
  TS_CHECK_INT(e.step_count, ==, 5);
  TS_CHECK_INT(e.cycle_at, ==, 1);
  const char *nodes[] = {"apps", "tunnel", "provider launch", "App Store update", "download"};
  for (size_t i = 0; i < 5; i++) TS_CHECK_STR(e.steps[i].node, nodes[i]);
  TS_CHECK_STR(e.steps[4].waits_for, "tunnel");
  char want[TS_EXPLAIN_TEXT];
  const char *pending = summary("ian-on-demand-pending");
  snprintf(want, sizeof want,
           "apps wait for the tunnel: their packets are dropped (rule ian-on-demand-pending: %s)"
           " ← the tunnel waits for its provider process, ended by sigterm (appUpdate)"
           " ← the provider's launch is refused while the app is being updated (quirk "
           "update-relaunch-refused, GAP-3; 2 launches refused)"
           " ← the update waits for its download (attempt 1)"
           " ← the download's packets are dropped (rule ian-on-demand-pending: %s)"
           " ← [cycle] tunnel",
           pending, pending);
  TS_CHECK_STR(e.chain, want);
  ts_explainer_destroy(x);
}

TS_TEST(the_missed_download_closes_the_same_cycle_at_the_download) {
  ts_explainer *x = explainer();
  TS_CHECK(x);
  ts_explain_snapshot s = update_lockout();
  ts_explanation e;
  TS_CHECK_INT(ts_explain_missed(x, &s, TS_EXPLAIN_DOWNLOAD, "download done by 300 s", &e), ==, 0);
  TS_CHECK(e.deadlock);
  TS_CHECK_STR(e.cycle_node, "download");
  TS_CHECK_INT(e.cycle_at, ==, 0);
  TS_CHECK_INT(e.step_count, ==, 4);
  TS_CHECK_STR(e.headline, "missed \"download done by 300 s\" on ios-18: update deadlock between the "
                           "App Store download and the VPN tunnel");
  ts_explainer_destroy(x);
}

/* Without the relaunch refusal, on-demand brings the provider back: a wait, no cycle. */
TS_TEST(without_the_refused_relaunch_the_update_is_no_deadlock) {
  ts_explainer *x = explainer();
  TS_CHECK(x);
  ts_explain_snapshot s = update_lockout();
  s.relaunch_refused_quirk = false;
  s.launches_refused = 0;
  ts_explanation e;
  TS_CHECK_INT(ts_explain_lockout(x, &s, &e), ==, 0);
  TS_CHECK(e.found);
  TS_CHECK(!e.deadlock);
  TS_CHECK_STR(e.cycle_node, "");
  TS_CHECK_STR(e.steps[e.step_count - 1].waits_for, "on-demand");
  TS_CHECK_STR(e.headline, "lockout on ios-18: blocked until on-demand launches the provider");
  /* A refused launch that suspends on-demand leaves it to the user. */
  s.on_demand_suspended = true;
  TS_CHECK_INT(ts_explain_lockout(x, &s, &e), ==, 0);
  TS_CHECK(!e.deadlock);
  TS_CHECK_STR(e.steps[e.step_count - 1].waits_for, "user");
  TS_CHECK(strstr(e.chain, "quirk refused-launch-suspends-on-demand") != NULL);
  ts_explainer_destroy(x);
}

TS_TEST(the_silent_ping_is_a_deadlock_between_the_monitor_and_the_tunnel) {
  ts_explainer *x = explainer();
  TS_CHECK(x);
  ts_explain_snapshot s = monitor_lockout();
  ts_explanation e;
  TS_CHECK_INT(ts_explain_missed(x, &s, TS_EXPLAIN_MONITOR, "monitor confirmed by 20 s", &e), ==, 0);
  TS_CHECK(e.deadlock);
  TS_CHECK_STR(e.cycle_node, "monitor");
  char want[TS_EXPLAIN_TEXT];
  snprintf(want, sizeof want,
           "the monitor (connecting) waits for a ping reply"
           " ← the provider's utun-bound ICMP is silently dropped (rule ian-provider-silent-fail: %s)"
           " ← the tunnel is up only when the monitor confirms it ← [cycle] monitor",
           summary("ian-provider-silent-fail"));
  TS_CHECK_STR(e.chain, want);
  TS_CHECK_STR(e.headline, "missed \"monitor confirmed by 20 s\" on ios-18: deadlock between the "
                           "tunnel monitor and the VPN tunnel");
  /* The apps' lockout runs into the same cycle, closing at the tunnel. */
  TS_CHECK_INT(ts_explain_lockout(x, &s, &e), ==, 0);
  TS_CHECK(e.deadlock);
  TS_CHECK_STR(e.cycle_node, "tunnel");
  TS_CHECK_STR(e.steps[0].node, "apps");
  TS_CHECK_STR(e.steps[1].waits_for, "monitor");
  s.tunnel_connected_ever = false;
  TS_CHECK_INT(ts_explain_lockout(x, &s, &e), ==, 0);
  TS_CHECK_STR(e.steps[1].reason, "the tunnel is up only when the monitor confirms it (it never has)");
  ts_explainer_destroy(x);
}

/* GT-10: the tunnel waits for the negotiation, whose NWTCPConnection is silently
 * dropped under IAN; with the userspace netstack (no OS socket verdict) and the
 * negotiation done, there is nothing to wait for. */
TS_TEST(the_negotiation_over_a_silent_socket_is_a_deadlock) {
  ts_explainer *x = explainer();
  TS_CHECK(x);
  ts_explain_snapshot s = healthy();
  s.session_status = "connecting";
  s.tunnel_connected_ever = false;
  s.completion_after_monitor = false;
  s.completion_after_negotiation = true;
  s.negotiation_state = "connecting";
  s.negotiation_path = "nwtcpconnection";
  s.negotiation_attempt = 3;
  s.negotiation_verdict = "silent-fail";
  s.negotiation_rule = "ian-provider-silent-fail";
  ts_explanation e;
  TS_CHECK_INT(ts_explain_missed(x, &s, TS_EXPLAIN_TUNNEL, "tunnel connected by 60 s", &e), ==, 0);
  TS_CHECK(e.deadlock);
  TS_CHECK_STR(e.cycle_node, "tunnel");
  TS_CHECK_INT(e.step_count, ==, 3);
  TS_CHECK_STR(e.steps[0].waits_for, "negotiation");
  TS_CHECK(strstr(e.chain, "attempt 3") != NULL);
  TS_CHECK(strstr(e.chain, "never becomes viable") != NULL);
  /* The same cycle seen from the obligation "negotiation done". */
  TS_CHECK_INT(ts_explain_missed(x, &s, TS_EXPLAIN_NEGOTIATION, "negotiation done by 60 s", &e), ==, 0);
  TS_CHECK(e.deadlock);
  TS_CHECK_STR(e.cycle_node, "negotiation");

  s.negotiation_state = "done";
  TS_CHECK_INT(ts_explain_missed(x, &s, TS_EXPLAIN_TUNNEL, "tunnel connected by 60 s", &e), ==, 0);
  TS_CHECK(!e.deadlock);
  ts_explainer_destroy(x);
}

/* A provider that does not wait for its monitor: the ping still fails, but nothing
 * waits on it in turn, so there is no cycle. */
TS_TEST(the_monitor_cycle_needs_a_provider_that_waits_for_its_monitor) {
  ts_explainer *x = explainer();
  TS_CHECK(x);
  ts_explain_snapshot s = monitor_lockout();
  s.completion_after_monitor = false;
  ts_explanation e;
  TS_CHECK_INT(ts_explain_missed(x, &s, TS_EXPLAIN_MONITOR, "monitor confirmed by 20 s", &e), ==, 0);
  TS_CHECK(e.found);
  TS_CHECK(!e.deadlock);
  TS_CHECK_INT(e.step_count, ==, 2);
  TS_CHECK_STR(e.steps[1].waits_for, "tunnel");
  ts_explainer_destroy(x);
}

TS_TEST(a_healthy_device_has_no_lockout_chain) {
  ts_explainer *x = explainer();
  TS_CHECK(x);
  ts_explain_snapshot s = healthy();
  ts_explanation e;
  TS_CHECK_INT(ts_explain_lockout(x, &s, &e), ==, 0);
  TS_CHECK(!e.found);
  TS_CHECK(!e.deadlock);
  TS_CHECK_INT(e.step_count, ==, 0);
  TS_CHECK_STR(e.chain, "");
  TS_CHECK_STR(e.headline, "no lockout chain: nothing on the device drops the apps' packets");
  TS_CHECK_INT(ts_waitsfor_edge_count(ts_explainer_graph(x)), ==, 0);
  TS_CHECK_INT(ts_explain_missed(x, &s, TS_EXPLAIN_TUNNEL, "tunnel connected by 30 s", &e), ==, 0);
  TS_CHECK(!e.found);
  TS_CHECK_INT(ts_explain_missed(x, &s, TS_EXPLAIN_SUBJECT_COUNT, "x", &e), ==, TS_EINVAL);
  ts_explainer_destroy(x);
}

/* GT-23, GT-24, the removed configuration's policy and GT-22: chains that end at
 * what ends the wait. */
TS_TEST(blocked_states_end_at_what_releases_them) {
  ts_explainer *x = explainer();
  TS_CHECK(x);
  ts_explain_snapshot base = healthy();
  base.os = "";
  base.session_status = "connecting";
  base.monitor_state = "";
  base.app_block_rule = "ian-not-connected-drop";
  base.app_block_verdict = "drop";
  ts_explanation e;

  /* GT-23: the provider's blocked state is a connected tunnel that drops everything;
   * no OS rule drops the apps' packets, the provider does. */
  ts_explain_snapshot s = base;
  s.session_status = "connected";
  s.app_block_rule = "";
  s.app_block_verdict = "none";
  s.keychain_locked = true;
  s.provider_error_reason = "device-locked";
  TS_CHECK_INT(ts_explain_lockout(x, &s, &e), ==, 0);
  TS_CHECK_STR(e.headline, "lockout: blocked until the first unlock (the provider cannot read the Keychain)");
  TS_CHECK_INT(e.step_count, ==, 2);
  TS_CHECK(strstr(e.steps[0].reason, "blocked state (device-locked)") != NULL);
  TS_CHECK(strstr(e.chain, "errSecInteractionNotAllowed") != NULL);

  s = base;
  s.provider_error_reason = "outdated-schema";
  TS_CHECK_INT(ts_explain_lockout(x, &s, &e), ==, 0);
  TS_CHECK_STR(e.steps[1].waits_for, "main app");
  TS_CHECK(strstr(e.chain, "nothing restarts it automatically") != NULL);

  s = base;
  s.stale_policy = true;
  s.vpn_profile_present = false;
  TS_CHECK_INT(ts_explain_lockout(x, &s, &e), ==, 0);
  TS_CHECK_INT(e.step_count, ==, 1);
  TS_CHECK_STR(e.steps[0].waits_for, "reboot");
  TS_CHECK(strstr(e.chain, "quirk config-removal-keeps-policy") != NULL);

  s = base;
  s.start_blocked = true;
  s.start_timeout_s = 60;
  s.watchdog_count = 2;
  TS_CHECK_INT(ts_explain_missed(x, &s, TS_EXPLAIN_TUNNEL, "tunnel connected by 30 s", &e), ==, 0);
  TS_CHECK_STR(e.steps[0].waits_for, "watchdog");
  TS_CHECK(strstr(e.chain, "60 s start watchdog") != NULL);
  TS_CHECK(strstr(e.chain, "2 by the watchdog") != NULL);

  /* Before iOS 16.x there is no start watchdog: nothing ends a blocked start. */
  s.start_timeout_s = 0;
  s.watchdog_count = 0;
  TS_CHECK_INT(ts_explain_lockout(x, &s, &e), ==, 0);
  TS_CHECK_STR(e.steps[e.step_count - 1].waits_for, "nothing");
  TS_CHECK(strstr(e.headline, "nothing in the system ends") != NULL);
  ts_explainer_destroy(x);
}

/* Names the OS model uses for nothing ("none") are not written as causes, and a
 * stopped monitor is no monitor waiting for a reply. */
TS_TEST(none_names_and_a_stopped_monitor_add_nothing) {
  ts_explainer *x = explainer();
  TS_CHECK(x);
  ts_explain_snapshot s = healthy();
  s.session_status = "disconnected";
  s.provider_running = false;
  s.monitor_state = "stopped";
  s.monitor_ping_verdict = "silent-fail";
  s.app_block_rule = "ian-boot";
  s.app_block_verdict = "drop";
  ts_explanation e;
  TS_CHECK_INT(ts_explain_lockout(x, &s, &e), ==, 0);
  TS_CHECK_STR(e.steps[1].reason, "the tunnel waits for its provider process, not started since boot");
  TS_CHECK(!ts_waitsfor_has(ts_explainer_graph(x), "monitor"));
  ts_explainer_destroy(x);
}

TS_TEST(the_explainer_is_reused_across_snapshots) {
  ts_explainer *x = explainer();
  TS_CHECK(x);
  ts_explain_snapshot update = update_lockout(), ok = healthy(), monitor = monitor_lockout();
  ts_explanation first, e;
  TS_CHECK_INT(ts_explain_lockout(x, &update, &first), ==, 0);
  for (int round = 0; round < 3; round++) {
    TS_CHECK_INT(ts_explain_lockout(x, &ok, &e), ==, 0);
    TS_CHECK(!e.found);
    TS_CHECK_INT(ts_explain_lockout(x, &monitor, &e), ==, 0);
    TS_CHECK_STR(e.cycle_node, "tunnel");
    TS_CHECK(!ts_waitsfor_has(ts_explainer_graph(x), "download"));
    TS_CHECK_INT(ts_explain_lockout(x, &update, &e), ==, 0);
    TS_CHECK_STR(e.chain, first.chain);
    TS_CHECK_STR(e.headline, first.headline);
  }
  ts_explainer_destroy(x);
}
