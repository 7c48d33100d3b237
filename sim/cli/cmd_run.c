/* tunnelsim run: one scenario, its verdicts and traces. */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli.h"
#include "scenario.h"
#include "ts_native.h"
#include "ts_os_model.h"
#include "ts_run.h"

static const char run_usage[] =
    "usage: tunnelsim run SCENARIO [options]\n"
    "\n"
    "Runs one scenario file and prints what happened.\n"
    "\n"
    "options:\n"
    "  --seed N              seed of every random stream (default: the scenario's, else 1)\n"
    "  --until T             simulated end time, e.g. 30s, 1500ms (default: the scenario's\n"
    "                        duration, else 10s)\n"
    "  --pcap FILE           write a pcapng capture (one interface per simulated interface)\n"
    "  --trace FILE          write the event log as JSON Lines\n"
    "  --os NAME             run the phone on this OS profile (models/os/NAME.yaml)\n"
    "  --json                print one JSON object instead of the summary\n"
    "  --check-determinism   run twice in this process and fail if the trace hashes differ\n"
    "  --no-recovery         after a lockout, do not branch with each user action\n"
    "  -h, --help            this text\n"
    "\n"
    "Scenarios with a 'checks:' section are also judged for deadlocks (obligations\n"
    "missed, with a waits-for explanation), livelocks and lockouts; after a lockout\n"
    "the run is replayed and branched with each user action (recovery analysis).\n"
    "\n"
    "Exit status: 0 no findings, 1 findings (leaks, lockout, missed obligations,\n"
    "livelocks), 2 bad usage or input, 3 internal or I/O error.\n";

struct run_args {
  const char *scenario;
  bool has_seed, has_until, json, check, no_recovery;
  uint64_t seed;
  ts_time until;
  const char *pcap, *trace, *os;
};

static int parse_u64(const char *s, uint64_t *out) {
  if (!s || !*s || *s == '-') return -1;
  char *end;
  errno = 0;
  unsigned long long v = strtoull(s, &end, 0);
  if (errno || *end) return -1;
  *out = v;
  return 0;
}

static int parse_args(int argc, char **argv, struct run_args *a) {
  memset(a, 0, sizeof *a);
  for (int i = 1; i < argc; i++) {
    const char *arg = argv[i];
    const char *val = i + 1 < argc ? argv[i + 1] : NULL;
    if (!strcmp(arg, "--seed")) {
      if (parse_u64(val, &a->seed))
        return cli_usage_error("run", "--seed needs a whole number from 0 to 2^64-1, got '%s'",
                               val ? val : "nothing");
      a->has_seed = true;
      i++;
    } else if (!strcmp(arg, "--until")) {
      if (!val || ts_parse_duration(val, &a->until) || a->until <= 0)
        return cli_usage_error("run", "--until needs a positive duration like 30s or 1500ms, got '%s'",
                               val ? val : "nothing");
      a->has_until = true;
      i++;
    } else if (!strcmp(arg, "--pcap") || !strcmp(arg, "--trace")) {
      if (!val) return cli_usage_error("run", "%s needs a file name", arg);
      if (arg[2] == 'p') a->pcap = val;
      else a->trace = val;
      i++;
    } else if (!strcmp(arg, "--os")) {
      if (!val) return cli_usage_error("run", "--os needs a profile name such as ios-17 (see models/os)");
      a->os = val;
      i++;
    } else if (!strcmp(arg, "--json")) {
      a->json = true;
    } else if (!strcmp(arg, "--check-determinism")) {
      a->check = true;
    } else if (!strcmp(arg, "--no-recovery")) {
      a->no_recovery = true;
    } else if (arg[0] == '-' && arg[1]) {
      return cli_usage_error("run", "unknown option '%s'", arg);
    } else if (a->scenario) {
      return cli_usage_error("run", "one scenario at a time (got '%s' and '%s')", a->scenario, arg);
    } else {
      a->scenario = arg;
    }
  }
  if (!a->scenario) return cli_usage_error("run", "which scenario? e.g. tunnelsim run models/scenarios/two-hosts.yaml");
  return 0;
}

static const char *kind_name(ts_app_kind k) {
  switch (k) {
  case TS_NET_APP_PING: return "ping";
  case TS_NET_APP_UDP_ECHO_SERVER: return "udp-echo-server";
  default: return "udp-echo-client";
  }
}

static void print_duration(ts_time t) {
  char buf[48];
  ts_format_duration(t, buf, sizeof buf);
  fputs(buf, stdout);
}

static void print_ms(ts_time t) { printf("%.3f", (double)t / 1e6); }

static void print_rtt(ts_time min, ts_time avg, ts_time max) {
  printf(", rtt min/avg/max ");
  print_ms(min);
  putchar('/');
  print_ms(avg);
  putchar('/');
  print_ms(max);
  printf(" ms");
}

static void print_phone_human(const ts_run_result *r);
static void print_checks_human(const ts_run_result *r);

static void print_human(const ts_scenario *s, const struct run_args *a, const ts_run_result *r) {
  printf("tunnelsim run %s (seed %" PRIu64 ", until ", s->name, r->seed);
  print_duration(r->sim_time);
  printf(", backend native)\n");
  printf("  simulated ");
  print_duration(r->sim_time);
  printf(" in %" PRIu64 " events; %" PRIu64 " trace records\n", r->events, r->trace_records);
  for (uint32_t i = 0; i < r->app_count; i++) {
    const ts_app_stats *st = &r->apps[i];
    printf("  app %-12s %-16s on %-8s ", st->name, kind_name(st->kind), st->host);
    if (st->kind == TS_NET_APP_UDP_ECHO_SERVER) {
      printf("answered %u requests\n", st->answered);
      continue;
    }
    uint32_t lost = st->sent - (st->received < st->sent ? st->received : st->sent);
    printf("%u sent, %u received (%u lost)", st->sent, st->received, lost);
    if (st->received) print_rtt(st->rtt_min, st->rtt_sum / st->received, st->rtt_max);
    putchar('\n');
  }
  if (r->unrouted) printf("  hosts dropped %" PRIu64 " packets they could not route or did not own\n", r->unrouted);
  if (r->has_phone) print_phone_human(r);
  else printf("  findings: none\n");
  if (r->has_checks) print_checks_human(r);
  printf("  trace hash %s\n", r->trace_hash);
  if (a->check) printf("  determinism: checked (two runs, same hash)\n");
  if (a->pcap) printf("  pcapng: %s  (open with: wireshark %s, or tshark -r %s)\n", a->pcap, a->pcap, a->pcap);
  if (a->trace) printf("  event log: %s (JSON Lines)\n", a->trace);
}

static void print_phone_human(const ts_run_result *r) {
  for (uint32_t i = 0; i < r->phone_app_count; i++) {
    const ts_phone_app_stats *st = &r->phone_apps[i].stats;
    printf("  phone app %-10s %u sent, %u refused, %u answered", r->phone_apps[i].name, st->sent,
           st->send_errors, st->received);
    if (st->received && st->rtt_sum) print_rtt(st->rtt_min, st->rtt_sum / st->received, st->rtt_max);
    putchar('\n');
  }
  printf("  packets out of the phone's radios: %" PRIu64 " tunnel, %" PRIu64 " exempt, %" PRIu64
         " unprotected (no VPN asked for), %" PRIu64 " leaked\n",
         r->egress[TS_EGRESS_TUNNEL], r->egress[TS_EGRESS_EXEMPT], r->egress[TS_EGRESS_UNPROTECTED],
         r->egress[TS_EGRESS_LEAK]);
  if (r->has_wire)
    printf("  byte-only observer at the Wi-Fi link: %" PRIu64 " tunnel, %" PRIu64 " other (%s)\n",
           r->wire_tunnel, r->wire_other, r->observers_agree ? "agrees" : "DISAGREES with the oracle");
  if (!r->findings_total) {
    printf("  findings: none\n");
    return;
  }
  printf("  findings: %u leak%s\n", r->findings_total, r->findings_total == 1 ? "" : "s");
  for (uint32_t i = 0; i < r->finding_count; i++) {
    const ts_leak_finding *f = &r->findings[i];
    const ts_os_rule_info *ri = ts_os_rule_get(f->rule);
    printf("    %s", ts_leak_kind_name(f->kind));
    if (f->mechanism != f->kind) printf(" (by %s)", ts_leak_kind_name(f->mechanism));
    printf(" from %.3f s to %.3f s on %s/%s: %s, %" PRIu64 " packets, %" PRIu64 " bytes; rule %s\n",
           (double)f->first / 1e9, (double)f->last / 1e9, f->node, f->iface, f->flow, f->packets,
           f->bytes, ri ? ri->name : "none");
  }
}

static void print_secs(ts_time t) { printf("%.3f s", (double)t / 1e9); }

static void print_checks_human(const ts_run_result *r) {
  if (r->moment_count) printf("  timeline:\n");
  for (uint32_t i = 0; i < r->moment_count; i++) {
    const ts_run_moment *m = &r->moments[i];
    printf("    %9.3f s  %s", (double)m->at / 1e9, m->text);
    if (m->repeats > 1) printf("  (x%u, until %.3f s)", m->repeats, (double)m->last / 1e9);
    putchar('\n');
  }
  for (uint32_t i = 0; i < r->obligation_count; i++) {
    const ts_run_obligation *o = &r->obligations[i];
    printf("  obligation %s by ", ts_scenario_obligation_name(o->what));
    print_secs(o->by);
    if (o->met) {
      printf(": met at ");
      print_secs(o->met_at);
      putchar('\n');
    } else {
      printf(": MISSED%s\n    %s\n", o->cycle ? " (deadlock)" : "", o->explanation);
    }
  }
  for (uint32_t i = 0; i < r->livelock_count; i++) {
    const ts_run_livelock *l = &r->livelocks[i];
    printf("  livelock: %s, %u times, every %.1f s (from %.3f s to %.3f s)\n", l->cycle, l->repeats,
           (double)l->period / 1e9, (double)l->first / 1e9, (double)l->last / 1e9);
  }
  const ts_run_lockout *lo = &r->lockout;
  if (lo->judged && lo->no_probe) printf("  lockout: not judged (no app tried to reach the internet)\n");
  else if (lo->judged && !lo->locked_out) printf("  lockout: none (the apps reach the internet at the deadline)\n");
  else if (lo->judged) {
    printf("  LOCKOUT since ");
    print_secs(lo->began);
    printf(": %s\n    %s\n", lo->headline, lo->explanation);
  }
  if (!r->recovery_count) return;
  printf("  recovery (the run replayed to the deadline, then one user action):\n");
  for (uint32_t i = 0; i < r->recovery_count; i++) {
    const ts_run_recovery *rc = &r->recovery[i];
    printf("    %-24s ", ts_run_recovery_action_name(rc->action));
    if (!rc->applicable) printf("n/a\n");
    else if (!rc->restored) printf("does not restore\n");
    else {
      printf("restores in %.1f s", (double)rc->time_to_restore / 1e9);
      if (rc->relapses) printf(", then locks out again (%u relapse%s)", rc->relapses, rc->relapses == 1 ? "" : "s");
      putchar('\n');
    }
  }
}

static void print_time_or_null(const char *key, ts_time t) {
  if (t == TS_TIME_NEVER) printf(",\"%s\":null", key);
  else printf(",\"%s\":%" PRId64, key, t);
}

static void print_checks_json(const ts_run_result *r) {
  if (!r->has_checks) return;
  printf(",\"timeline\":[");
  for (uint32_t i = 0; i < r->moment_count; i++) {
    const ts_run_moment *m = &r->moments[i];
    printf("%s{\"time_ns\":%" PRId64 ",\"last_ns\":%" PRId64 ",\"repeats\":%u,\"what\":", i ? "," : "",
           m->at, m->last, m->repeats);
    cli_json_string(m->text);
    putchar('}');
  }
  printf("],\"obligations\":[");
  for (uint32_t i = 0; i < r->obligation_count; i++) {
    const ts_run_obligation *o = &r->obligations[i];
    printf("%s{\"what\":\"%s\",\"by_ns\":%" PRId64 ",\"met\":%s", i ? "," : "",
           ts_scenario_obligation_name(o->what), o->by, o->met ? "true" : "false");
    print_time_or_null("met_ns", o->met_at);
    printf(",\"deadlock\":%s,\"explanation\":", o->cycle ? "true" : "false");
    cli_json_string(o->explanation);
    putchar('}');
  }
  printf("],\"livelocks\":[");
  for (uint32_t i = 0; i < r->livelock_count; i++) {
    const ts_run_livelock *l = &r->livelocks[i];
    printf("%s{\"cycle\":", i ? "," : "");
    cli_json_string(l->cycle);
    printf(",\"repeats\":%u,\"period_ns\":%" PRId64 ",\"first_ns\":%" PRId64 ",\"last_ns\":%" PRId64 "}",
           l->repeats, l->period, l->first, l->last);
  }
  printf("]");
  const ts_run_lockout *lo = &r->lockout;
  if (!lo->judged || lo->no_probe || !lo->locked_out) {
    printf(",\"lockout\":null");
  } else {
    printf(",\"lockout\":{\"began_ns\":%" PRId64, lo->began);
    print_time_or_null("last_success_ns", lo->last_success);
    printf(",\"deadlock\":%s,\"headline\":", lo->cycle ? "true" : "false");
    cli_json_string(lo->headline);
    printf(",\"explanation\":");
    cli_json_string(lo->explanation);
    putchar('}');
  }
  printf(",\"lockout_judged\":%s", lo->judged && !lo->no_probe ? "true" : "false");
  printf(",\"recovery\":{");
  bool first = true;
  for (uint32_t i = 0; i < r->recovery_count; i++) {
    const ts_run_recovery *rc = &r->recovery[i];
    if (!rc->applicable) continue;
    printf("%s\"%s\":{\"restored\":%s", first ? "" : ",", ts_run_recovery_action_name(rc->action),
           rc->restored ? "true" : "false");
    print_time_or_null("time_to_restore_ns", rc->restored ? rc->time_to_restore : TS_TIME_NEVER);
    printf(",\"relapses\":%u,\"ends_locked\":%s}", rc->relapses, rc->ends_locked ? "true" : "false");
    first = false;
  }
  printf("}");
}

static void print_findings_json(const ts_run_result *r) {
  printf(",\"findings\":[");
  for (uint32_t i = 0; i < r->finding_count; i++) {
    const ts_leak_finding *f = &r->findings[i];
    const ts_os_rule_info *ri = ts_os_rule_get(f->rule);
    printf("%s{\"kind\":\"%s\",\"subkind\":\"%s\",\"time_ns\":%" PRId64 ",\"last_ns\":%" PRId64
           ",\"node\":",
           i ? "," : "", ts_leak_kind_name(f->kind), ts_leak_kind_name(f->mechanism), f->first, f->last);
    cli_json_string(f->node);
    printf(",\"interface\":");
    cli_json_string(f->iface);
    printf(",\"flow\":");
    cli_json_string(f->flow);
    printf(",\"packets\":%" PRIu64 ",\"bytes\":%" PRIu64 ",\"rule\":\"%s\"}", f->packets, f->bytes,
           ri ? ri->name : "none");
  }
  printf("]");
  if (!r->has_phone) return;
  printf(",\"findings_total\":%u,\"egress\":{\"tunnel\":%" PRIu64 ",\"exempt\":%" PRIu64
         ",\"unprotected\":%" PRIu64 ",\"leak\":%" PRIu64 "}",
         r->findings_total, r->egress[TS_EGRESS_TUNNEL], r->egress[TS_EGRESS_EXEMPT],
         r->egress[TS_EGRESS_UNPROTECTED], r->egress[TS_EGRESS_LEAK]);
  if (r->has_wire)
    printf(",\"wire\":{\"tunnel\":%" PRIu64 ",\"other\":%" PRIu64 ",\"agrees\":%s}", r->wire_tunnel,
           r->wire_other, r->observers_agree ? "true" : "false");
  printf(",\"phone\":{\"tx_physical\":%" PRIu64 ",\"tx_tunnel\":%" PRIu64 ",\"dropped\":%" PRIu64
         ",\"silent_failed\":%" PRIu64 ",\"refused\":%" PRIu64 "}",
         r->phone.tx_physical, r->phone.tx_tunnel, r->phone.dropped, r->phone.silent_failed,
         r->phone.send_errors);
  printf(",\"phone_apps\":[");
  for (uint32_t i = 0; i < r->phone_app_count; i++) {
    const ts_phone_app_stats *st = &r->phone_apps[i].stats;
    printf("%s{\"name\":", i ? "," : "");
    cli_json_string(r->phone_apps[i].name);
    printf(",\"sent\":%u,\"refused\":%u,\"received\":%u}", st->sent, st->send_errors, st->received);
  }
  printf("]");
}

static void print_json(const ts_scenario *s, const struct run_args *a, const ts_run_result *r) {
  printf("{\"scenario\":");
  cli_json_string(s->name);
  printf(",\"seed\":%" PRIu64 ",\"trace_hash\":\"%s\",\"sim_time_ns\":%" PRId64
         ",\"events\":%" PRIu64 ",\"trace_records\":%" PRIu64 ",\"unrouted\":%" PRIu64,
         r->seed, r->trace_hash, r->sim_time, r->events, r->trace_records, r->unrouted);
  printf(",\"determinism\":\"%s\"", a->check ? "checked" : "not-checked");
  printf(",\"apps\":[");
  for (uint32_t i = 0; i < r->app_count; i++) {
    const ts_app_stats *st = &r->apps[i];
    printf("%s{\"name\":", i ? "," : "");
    cli_json_string(st->name);
    printf(",\"host\":");
    cli_json_string(st->host);
    printf(",\"type\":\"%s\",\"sent\":%u,\"received\":%u,\"answered\":%u", kind_name(st->kind),
           st->sent, st->received, st->answered);
    if (st->received)
      printf(",\"rtt_min_ns\":%" PRId64 ",\"rtt_avg_ns\":%" PRId64 ",\"rtt_max_ns\":%" PRId64,
             st->rtt_min, st->rtt_sum / st->received, st->rtt_max);
    putchar('}');
  }
  printf("]");
  print_findings_json(r);
  print_checks_json(r);
  if (a->pcap) {
    printf(",\"pcap\":");
    cli_json_string(a->pcap);
  }
  printf("}\n");
}

static int load(const char *path, ts_scenario **s) {
  ts_diag d;
  int rc = ts_scenario_load_file(path, s, &d);
  if (rc == 0) return 0;
  char msg[1024];
  ts_diag_format(&d, msg, sizeof msg);
  fprintf(stderr, "%s\n", msg);
  return rc;
}

/* The second run reuses the first run's world after a reset, so leftovers of a run
 * (state that survives reset) show up as a different hash, not only nondeterminism. */
static int run_checked(const ts_scenario *s, const ts_run_options *o, ts_run_result *first) {
  ts_world *w;
  int rc = ts_world_create(&w, &ts_native_backend, o->seed);
  if (rc) return rc;
  rc = ts_run_in_world(w, s, o, first);
  if (!rc) {
    ts_run_options again = *o;
    again.pcap_path = again.trace_path = NULL;
    ts_run_result *second = malloc(sizeof *second);
    if (!second) rc = TS_ENOMEM;
    else {
      rc = ts_run_in_world(w, s, &again, second);
      if (!rc && strcmp(first->trace_hash, second->trace_hash) != 0) {
        fprintf(stderr,
                "tunnelsim run: NOT DETERMINISTIC: two runs of %s with seed %" PRIu64
                " gave different trace hashes:\n  first  %s\n  second %s\n"
                "Rerun both with --trace FILE and diff the event logs to find the first difference.\n",
                s->source, o->seed, first->trace_hash, second->trace_hash);
        rc = TS_EDETERMINISM;
      }
      free(second);
    }
  }
  ts_world_destroy(w);
  return rc;
}

static void recovery_progress(void *ctx, const char *what, uint32_t done, uint32_t total) {
  (void)ctx;
  fprintf(stderr, "\rrecovery analysis: branch %u/%u (%s)...%-12s", done + 1, total, what, "");
  if (done + 1 == total) fputs("\n", stderr);
  fflush(stderr);
}

int cli_run(int argc, char **argv) {
  if (cli_wants_help(argc, argv)) {
    fputs(run_usage, stdout);
    return TS_EXIT_OK;
  }
  struct run_args a;
  int rc = parse_args(argc, argv, &a);
  if (rc) return rc;
  ts_scenario *s;
  if (load(a.scenario, &s)) return TS_EXIT_USAGE;
  ts_run_options o;
  ts_run_defaults(s, &o);
  if (a.has_seed) o.seed = a.seed;
  if (a.has_until) o.until = a.until;
  o.pcap_path = a.pcap;
  o.trace_path = a.trace;
  o.os = a.os;
  ts_run_result *r = malloc(sizeof *r);
  if (!r) {
    ts_scenario_free(s);
    return TS_EXIT_INTERNAL;
  }
  rc = a.check ? run_checked(s, &o, r) : ts_run_scenario(s, &o, r);
  if (!rc && !a.no_recovery && r->has_checks && r->lockout.locked_out)
    rc = ts_run_recover(s, &o, r, isatty(2) ? recovery_progress : NULL, NULL);
  int status = TS_EXIT_OK;
  if (rc == TS_EDETERMINISM) {
    status = TS_EXIT_INTERNAL;
  } else if (rc) {
    fprintf(stderr, "tunnelsim run: %s: %s\n", a.scenario, r->error[0] ? r->error : ts_strerror(rc));
    if (rc == TS_EIO) fprintf(stderr, "Check that the --pcap and --trace folders exist and are writable.\n");
    status = TS_EXIT_INTERNAL;
  } else {
    if (a.json) print_json(s, &a, r);
    else print_human(s, &a, r);
    if (r->findings_total || r->lockout.locked_out || r->livelock_count) status = TS_EXIT_FINDINGS;
    for (uint32_t i = 0; i < r->obligation_count; i++)
      if (!r->obligations[i].met) status = TS_EXIT_FINDINGS;
    if (r->sink_error) {
      fprintf(stderr, "tunnelsim run: writing the trace failed: %s\n", ts_strerror(r->sink_error));
      status = TS_EXIT_INTERNAL;
    }
  }
  free(r);
  ts_scenario_free(s);
  return status;
}
