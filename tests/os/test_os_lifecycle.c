/* The lifecycle mechanisms of sim/os: on-demand rule evaluation (A-OD: order,
 * interface and SSID matching, what each action does per trigger) and the session's
 * watchdogs (F-60S: start-timeout, stop-timeout and the two lifecycle quirks), with
 * how a provider process ended (exit kinds). */
#include <string.h>

#include "os_fixture.h"
#include "tstest.h"

static ts_od_rule rule(ts_od_action a, ts_od_interface_match m, const char *ssid) {
  ts_od_rule r;
  memset(&r, 0, sizeof r);
  r.action = a;
  r.interface_match = m;
  if (ssid) {
    strcpy(r.ssids[0], ssid);
    r.ssid_count = 1;
  }
  return r;
}

static ts_od_decision eval(phone *ph, ts_od_trigger t, ts_os_iface_type primary, const char *ssid,
                           bool active, bool any_trigger) {
  ts_od_network net = {.primary = primary, .ssid = ssid};
  ts_od_decision d;
  memset(&d, 0x55, sizeof d);
  if (ts_vpn_config_on_demand_evaluate(ph->config, t, &net, active, any_trigger, &d))
    d.rule = -99;
  return d;
}

TS_TEST(on_demand_first_matching_rule_applies_in_order) {
  phone ph;
  TS_CHECK_INT(phone_init(&ph, NULL), ==, 0);
  ts_od_rule r1 = rule(TS_OD_DISCONNECT, TS_OD_IF_WIFI, NULL);
  ts_od_rule r2 = rule(TS_OD_CONNECT, TS_OD_IF_ANY, NULL);
  ts_vpn_config_add_on_demand_rule(ph.config, &r1);
  ts_vpn_config_add_on_demand_rule(ph.config, &r2);
  /* isOnDemandEnabled false: no rule is looked at. */
  ts_od_decision d = eval(&ph, TS_OD_TRIGGER_APP_TRAFFIC, TS_IFT_CELLULAR, NULL, false, false);
  TS_CHECK_INT(d.rule, ==, -1);
  TS_CHECK_INT(d.outcome, ==, TS_OD_OUTCOME_NONE);
  ts_vpn_config_set_on_demand(ph.config, true);
  /* Wi-Fi: rule 0 (Disconnect) matches first and never starts. */
  d = eval(&ph, TS_OD_TRIGGER_APP_TRAFFIC, TS_IFT_WIFI, NULL, false, false);
  TS_CHECK_INT(d.rule, ==, 0);
  TS_CHECK_INT(d.action, ==, TS_OD_DISCONNECT);
  TS_CHECK_INT(d.outcome, ==, TS_OD_OUTCOME_NONE);
  d = eval(&ph, TS_OD_TRIGGER_NETWORK_CHANGE, TS_IFT_WIFI, NULL, true, false);
  TS_CHECK_INT(d.outcome, ==, TS_OD_OUTCOME_STOP);
  /* Cellular: rule 0 does not match, rule 1 (Connect any) starts on app traffic. */
  d = eval(&ph, TS_OD_TRIGGER_APP_TRAFFIC, TS_IFT_CELLULAR, NULL, false, false);
  TS_CHECK_INT(d.rule, ==, 1);
  TS_CHECK_INT(d.outcome, ==, TS_OD_OUTCOME_START);
  /* already active: nothing to start */
  d = eval(&ph, TS_OD_TRIGGER_APP_TRAFFIC, TS_IFT_CELLULAR, NULL, true, false);
  TS_CHECK_INT(d.outcome, ==, TS_OD_OUTCOME_NONE);
  /* Reversed order: Connect(any) first wins on Wi-Fi too. */
  ts_vpn_config_clear_on_demand_rules(ph.config);
  ts_vpn_config_add_on_demand_rule(ph.config, &r2);
  ts_vpn_config_add_on_demand_rule(ph.config, &r1);
  d = eval(&ph, TS_OD_TRIGGER_APP_TRAFFIC, TS_IFT_WIFI, NULL, false, false);
  TS_CHECK_INT(d.rule, ==, 0);
  TS_CHECK_INT(d.outcome, ==, TS_OD_OUTCOME_START);
  /* A disabled configuration never starts. */
  ts_vpn_config_set_enabled(ph.config, false);
  d = eval(&ph, TS_OD_TRIGGER_APP_TRAFFIC, TS_IFT_WIFI, NULL, false, false);
  TS_CHECK_INT(d.rule, ==, -1);
  phone_free(&ph);
}

TS_TEST(on_demand_interface_and_ssid_matching) {
  phone ph;
  TS_CHECK_INT(phone_init(&ph, NULL), ==, 0);
  ts_vpn_config_set_on_demand(ph.config, true);
  /* WireGuard app "non-Wi-Fi only": [Connect(cellular), Disconnect(wiFi)]. */
  ts_od_rule c = rule(TS_OD_CONNECT, TS_OD_IF_CELLULAR, NULL);
  ts_od_rule dw = rule(TS_OD_DISCONNECT, TS_OD_IF_WIFI, NULL);
  ts_vpn_config_add_on_demand_rule(ph.config, &c);
  ts_vpn_config_add_on_demand_rule(ph.config, &dw);
  TS_CHECK_INT(eval(&ph, TS_OD_TRIGGER_APP_TRAFFIC, TS_IFT_CELLULAR, NULL, false, false).outcome,
               ==, TS_OD_OUTCOME_START);
  TS_CHECK_INT(eval(&ph, TS_OD_TRIGGER_APP_TRAFFIC, TS_IFT_WIFI, NULL, false, false).rule, ==, 1);
  /* Wired matches neither; no primary interface matches neither. */
  TS_CHECK_INT(eval(&ph, TS_OD_TRIGGER_APP_TRAFFIC, TS_IFT_WIRED, NULL, false, false).rule, ==, -1);
  TS_CHECK_INT(eval(&ph, TS_OD_TRIGGER_APP_TRAFFIC, TS_IFT_COUNT, NULL, false, false).rule, ==, -1);
  /* "Only these SSIDs": [Connect(wiFi, home), Disconnect(wiFi)]. */
  ts_vpn_config_clear_on_demand_rules(ph.config);
  ts_od_rule home = rule(TS_OD_CONNECT, TS_OD_IF_WIFI, "home");
  ts_vpn_config_add_on_demand_rule(ph.config, &home);
  ts_vpn_config_add_on_demand_rule(ph.config, &dw);
  TS_CHECK_INT(eval(&ph, TS_OD_TRIGGER_APP_TRAFFIC, TS_IFT_WIFI, "home", false, false).outcome, ==,
               TS_OD_OUTCOME_START);
  ts_od_decision d = eval(&ph, TS_OD_TRIGGER_APP_TRAFFIC, TS_IFT_WIFI, "cafe", false, false);
  TS_CHECK_INT(d.rule, ==, 1);
  TS_CHECK_INT(d.outcome, ==, TS_OD_OUTCOME_NONE);
  TS_CHECK_INT(eval(&ph, TS_OD_TRIGGER_APP_TRAFFIC, TS_IFT_WIFI, NULL, false, false).rule, ==, 1);
  phone_free(&ph);
}

TS_TEST(on_demand_actions_by_trigger) {
  phone ph;
  TS_CHECK_INT(phone_init(&ph, NULL), ==, 0);
  ts_vpn_config_set_on_demand(ph.config, true);
  ts_od_rule c = rule(TS_OD_CONNECT, TS_OD_IF_ANY, NULL);
  ts_vpn_config_add_on_demand_rule(ph.config, &c);
  /* Connect starts on a connection attempt; on boot / network change only under
   * od-connect-on-any-trigger. */
  TS_CHECK_INT(eval(&ph, TS_OD_TRIGGER_BOOT, TS_IFT_WIFI, NULL, false, false).outcome, ==,
               TS_OD_OUTCOME_NONE);
  TS_CHECK_INT(eval(&ph, TS_OD_TRIGGER_NETWORK_CHANGE, TS_IFT_WIFI, NULL, false, false).outcome, ==,
               TS_OD_OUTCOME_NONE);
  TS_CHECK_INT(eval(&ph, TS_OD_TRIGGER_BOOT, TS_IFT_WIFI, NULL, false, true).outcome, ==,
               TS_OD_OUTCOME_START);
  /* EvaluateConnection: only an app's connection attempt. Ignore: never acts. */
  ts_vpn_config_clear_on_demand_rules(ph.config);
  ts_od_rule e = rule(TS_OD_EVALUATE_CONNECTION, TS_OD_IF_ANY, NULL);
  ts_vpn_config_add_on_demand_rule(ph.config, &e);
  TS_CHECK_INT(eval(&ph, TS_OD_TRIGGER_APP_TRAFFIC, TS_IFT_WIFI, NULL, false, false).outcome, ==,
               TS_OD_OUTCOME_START);
  TS_CHECK_INT(eval(&ph, TS_OD_TRIGGER_BOOT, TS_IFT_WIFI, NULL, false, true).outcome, ==,
               TS_OD_OUTCOME_NONE);
  ts_vpn_config_clear_on_demand_rules(ph.config);
  ts_od_rule ig = rule(TS_OD_IGNORE, TS_OD_IF_ANY, NULL);
  ts_vpn_config_add_on_demand_rule(ph.config, &ig);
  ts_vpn_config_add_on_demand_rule(ph.config, &c);
  TS_CHECK_INT(eval(&ph, TS_OD_TRIGGER_APP_TRAFFIC, TS_IFT_WIFI, NULL, false, false).rule, ==, 0);
  TS_CHECK_INT(eval(&ph, TS_OD_TRIGGER_APP_TRAFFIC, TS_IFT_WIFI, NULL, false, false).outcome, ==,
               TS_OD_OUTCOME_NONE);
  TS_CHECK_INT(eval(&ph, TS_OD_TRIGGER_NETWORK_CHANGE, TS_IFT_WIFI, NULL, true, false).outcome, ==,
               TS_OD_OUTCOME_NONE);
  phone_free(&ph);
}

/* F-60S: "State timer (60 seconds) fired in state Starting ... Entering state
 * Stopping, timeout 20 seconds" (the builtin profile: 60 s / 20 s). */
TS_TEST(start_watchdog_stops_then_kills_at_the_profile_deadlines) {
  phone ph;
  TS_CHECK_INT(phone_init(&ph, NULL), ==, 0);
  const ts_time t0 = 10;
  TS_CHECK_INT(ts_vpn_session_start(ph.session, t0, TS_START_ON_DEMAND), ==, 0);
  TS_CHECK_INT(ts_vpn_session_watchdog(ph.session, t0 + 60 * TS_SEC - 1), ==, TS_VPN_WD_NONE);
  TS_CHECK_INT(ts_vpn_session_status(ph.session), ==, TS_VPN_CONNECTING);
  TS_CHECK_INT(ts_vpn_session_watchdog(ph.session, t0 + 60 * TS_SEC), ==, TS_VPN_WD_STOP);
  TS_CHECK_INT(ts_vpn_session_status(ph.session), ==, TS_VPN_DISCONNECTING);
  TS_CHECK_INT(ts_vpn_session_stop_reason(ph.session), ==, TS_STOP_CONNECTION_FAILED);
  TS_CHECK_INT(ts_vpn_session_deadline(ph.session), ==, t0 + 80 * TS_SEC);
  TS_CHECK_INT(ts_vpn_session_watchdog(ph.session, t0 + 80 * TS_SEC - 1), ==, TS_VPN_WD_NONE);
  TS_CHECK_INT(ts_vpn_session_watchdog(ph.session, t0 + 80 * TS_SEC), ==, TS_VPN_WD_KILL);
  TS_CHECK_INT(ts_vpn_session_status(ph.session), ==, TS_VPN_DISCONNECTED);
  TS_CHECK(!ts_vpn_session_provider_running(ph.session));
  TS_CHECK_INT(ts_vpn_session_last_exit(ph.session), ==, TS_EXIT_WATCHDOG);
  TS_CHECK_INT(ts_vpn_session_down_cause(ph.session), ==, TS_DOWN_PROVIDER);
  TS_CHECK_INT(ts_vpn_session_since(ph.session), ==, t0 + 80 * TS_SEC);
  TS_CHECK_INT(ts_vpn_session_watchdog(ph.session, t0 + 1000 * TS_SEC), ==, TS_VPN_WD_NONE);
  phone_free(&ph);
}

TS_TEST(start_watchdog_quirk_kill_ends_at_the_start_deadline) {
  phone ph;
  TS_CHECK_INT(phone_init(&ph, NULL), ==, 0);
  TS_CHECK_INT(ts_vpn_session_set_lifecycle_quirk(ph.session, TS_LQ_START_TIMEOUT_ACTION, 1), ==, 0);
  TS_CHECK_INT(ts_vpn_session_set_lifecycle_quirk(ph.session, TS_LQ_START_TIMEOUT_REASON, 1), ==, 0);
  TS_CHECK_INT(ts_vpn_session_set_lifecycle_quirk(ph.session, TS_LQ_START_TIMEOUT_ACTION, 2), ==,
               TS_EINVAL);
  TS_CHECK_INT(ts_vpn_session_set_lifecycle_quirk(ph.session, TS_LQ_OD_CONNECT_ON_ANY_TRIGGER, 2),
               ==, TS_EINVAL);
  TS_CHECK_INT(ts_vpn_session_start(ph.session, 0, TS_START_APP), ==, 0);
  TS_CHECK_INT(ts_vpn_session_watchdog(ph.session, 60 * TS_SEC), ==, TS_VPN_WD_KILL);
  TS_CHECK_INT(ts_vpn_session_status(ph.session), ==, TS_VPN_DISCONNECTED);
  TS_CHECK_INT(ts_vpn_session_stop_reason(ph.session), ==, TS_STOP_PROVIDER_FAILED);
  TS_CHECK_INT(ts_vpn_session_last_exit(ph.session), ==, TS_EXIT_WATCHDOG);
  TS_CHECK_INT(ts_vpn_session_exit_count(ph.session, TS_EXIT_WATCHDOG), ==, 1);
  const ts_vpn_lifecycle_quirk_info *qi = ts_vpn_lifecycle_quirk_get(TS_LQ_START_TIMEOUT_ACTION);
  TS_CHECK_STR(qi->name, "start-timeout-action");
  TS_CHECK_STR(ts_os_source_key(qi->source), "F-60S");
  TS_CHECK(ts_vpn_lifecycle_quirk_get(TS_LQ_COUNT) == NULL);
  phone_free(&ph);
}

TS_TEST(stop_watchdog_kills_a_stop_that_never_completes_keeping_its_reason) {
  phone ph;
  TS_CHECK_INT(phone_init(&ph, NULL), ==, 0);
  vpn_connect(&ph);
  const ts_time t = 5 * TS_SEC;
  TS_CHECK_INT(ts_vpn_session_stop(ph.session, t, TS_STOP_USER_INITIATED), ==, 0);
  TS_CHECK_INT(ts_vpn_session_watchdog(ph.session, t + 20 * TS_SEC - 1), ==, TS_VPN_WD_NONE);
  TS_CHECK_INT(ts_vpn_session_watchdog(ph.session, t + 20 * TS_SEC), ==, TS_VPN_WD_KILL);
  TS_CHECK_INT(ts_vpn_session_status(ph.session), ==, TS_VPN_DISCONNECTED);
  TS_CHECK_INT(ts_vpn_session_stop_reason(ph.session), ==, TS_STOP_USER_INITIATED);
  TS_CHECK_INT(ts_vpn_session_down_cause(ph.session), ==, TS_DOWN_USER);
  TS_CHECK_INT(ts_vpn_session_last_exit(ph.session), ==, TS_EXIT_WATCHDOG);
  TS_CHECK(!ts_vpn_session_tunnel_up(ph.session));
  phone_free(&ph);
}

TS_TEST(no_watchdog_on_profiles_without_the_timer_and_exit_kinds_are_recorded) {
  ts_os_profile *p;
  TS_CHECK_INT(ts_os_profile_create(&p, "no-timer"), ==, 0);
  TS_CHECK_INT(ts_os_profile_set_limit(p, TS_LIMIT_START_TIMEOUT, 0), ==, 0);
  phone ph;
  TS_CHECK_INT(phone_init(&ph, p), ==, 0);
  TS_CHECK_INT(ts_vpn_session_start(ph.session, 0, TS_START_APP), ==, 0);
  TS_CHECK_INT(ts_vpn_session_deadline(ph.session), ==, TS_TIME_NEVER);
  TS_CHECK_INT(ts_vpn_session_watchdog(ph.session, 3600 * TS_SEC), ==, TS_VPN_WD_NONE);
  TS_CHECK_INT(ts_vpn_session_status(ph.session), ==, TS_VPN_CONNECTING);
  TS_CHECK_INT(ts_vpn_session_provider_killed(ph.session, 7, TS_STOP_PROVIDER_FAILED, TS_EXIT_JETSAM),
               ==, 0);
  TS_CHECK_INT(ts_vpn_session_last_exit(ph.session), ==, TS_EXIT_JETSAM);
  TS_CHECK_STR(ts_vpn_exit_name(TS_EXIT_JETSAM), "jetsam");
  TS_CHECK_INT(ts_vpn_session_provider_killed(ph.session, 8, TS_STOP_PROVIDER_FAILED, TS_EXIT_CRASH),
               ==, TS_ESTATE);
  TS_CHECK_INT(ts_vpn_session_start(ph.session, 9, TS_START_ON_DEMAND), ==, 0);
  TS_CHECK_INT(ts_vpn_session_last_exit(ph.session), ==, TS_EXIT_NONE);
  TS_CHECK_INT(ts_vpn_session_reboot(ph.session, 10), ==, 0);
  TS_CHECK_INT(ts_vpn_session_last_exit(ph.session), ==, TS_EXIT_REBOOT);
  TS_CHECK_INT(ts_vpn_session_down_cause(ph.session), ==, TS_DOWN_BOOT);
  TS_CHECK_INT(ts_vpn_session_exit_count(ph.session, TS_EXIT_JETSAM), ==, 1);
  phone_free(&ph);
}
