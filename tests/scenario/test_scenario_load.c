/* Valid scenarios load with the right values and defaults; value parsers are exact;
 * the canonical writer round-trips; and no input at all (truncations, byte flips,
 * alias bombs, deep nesting, huge files) crashes or leaks: each gives a scenario or
 * a positioned diagnostic. Runs from the repository root. */
#include <arpa/inet.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "scenario.h"
#include "scenario_values.h"
#include "tstest.h"

#define VALID_DIR "tests/scenario/valid/"

static const char *const valid_files[] = {
    VALID_DIR "two-hosts.yaml",
    VALID_DIR "minimal.yaml",
    VALID_DIR "defaults.yaml",
    VALID_DIR "edge-cases.yaml",
};
#define VALID_COUNT (sizeof valid_files / sizeof *valid_files)

/* ------------------------------------------------------------ helpers */

static char *read_file(const char *path, size_t *len) {
  FILE *f = fopen(path, "rb");
  if (!f) return NULL;
  char *data = NULL;
  size_t cap = 0;
  *len = 0;
  for (;;) {
    if (*len == cap) {
      cap = cap ? cap * 2 : 4096;
      char *bigger = realloc(data, cap);
      if (!bigger) break;
      data = bigger;
    }
    size_t n = fread(data + *len, 1, cap - *len, f);
    if (n == 0) break;
    *len += n;
  }
  fclose(f);
  return data;
}

static char *write_to_string(const ts_scenario *s, size_t *len) {
  char *text = NULL;
  FILE *f = open_memstream(&text, len);
  if (!f) return NULL;
  int rc = ts_scenario_write(s, f);
  fclose(f);
  if (rc) {
    free(text);
    return NULL;
  }
  return text;
}

static ts_scenario *load_text(const char *text, ts_diag *diag) {
  ts_scenario *s = NULL;
  ts_diag local;
  ts_scenario_load_buffer("inline.yaml", text, strlen(text), &s, diag ? diag : &local);
  return s;
}

/* Loads `text` and expects failure with the message starting with `prefix`. */
static bool fails_with(const char *text, const char *prefix) {
  ts_diag diag;
  ts_scenario *s = load_text(text, &diag);
  char got[1024];
  ts_diag_format(&diag, got, sizeof got);
  bool ok = s == NULL && strncmp(got, prefix, strlen(prefix)) == 0;
  if (!ok) fprintf(stderr, "  got: %s\n  expected prefix: %s\n", got, prefix);
  ts_scenario_free(s);
  return ok;
}

static bool addr_is(const ts_ipprefix *a, const char *text, int prefix_len) {
  uint8_t bytes[16] = {0};
  int family = strchr(text, ':') ? AF_INET6 : AF_INET;
  if (inet_pton(family, text, bytes) != 1) return false;
  return a->addr.family == (family == AF_INET6 ? 6 : 4) && a->len == prefix_len &&
         memcmp(a->addr.bytes, bytes, 16) == 0;
}

/* The invariant of the brute tests: success, or TS_EPARSE with a real position. */
static bool outcome_is_sane(int rc, const ts_scenario *s, const ts_diag *diag) {
  if (rc == 0) return s != NULL;
  return rc == TS_EPARSE && s == NULL && diag->line >= 1 && diag->col >= 1 &&
         diag->message[0] != '\0';
}

/* write(load(write(s))) == write(s): the writer says everything the loader reads. */
static bool round_trips(const ts_scenario *s) {
  size_t len1, len2;
  char *text1 = write_to_string(s, &len1);
  if (!text1) return false;
  ts_scenario *again = NULL;
  ts_diag diag;
  bool ok = ts_scenario_load_buffer("roundtrip.yaml", text1, len1, &again, &diag) == 0;
  if (!ok) {
    char msg[1024];
    ts_diag_format(&diag, msg, sizeof msg);
    fprintf(stderr, "  canonical text does not load: %s\n%s\n", msg, text1);
  }
  char *text2 = ok ? write_to_string(again, &len2) : NULL;
  ok = ok && text2 && len1 == len2 && memcmp(text1, text2, len1) == 0;
  free(text1);
  free(text2);
  ts_scenario_free(again);
  return ok;
}

/* ------------------------------------------------------------ values */

TS_TEST(the_example_scenario_loads_with_its_values) {
  ts_scenario *s = NULL;
  ts_diag diag;
  TS_CHECK_INT(ts_scenario_load_file(VALID_DIR "two-hosts.yaml", &s, &diag), ==, 0);
  TS_CHECK_INT(s->version, ==, 1);
  TS_CHECK_STR(s->name, "two-hosts");
  TS_CHECK_STR(s->description, "free text");
  TS_CHECK_STR(s->source, VALID_DIR "two-hosts.yaml");
  TS_CHECK(s->has_seed && s->seed == 1);
  TS_CHECK(s->has_duration && s->duration == 10 * TS_SEC);

  TS_CHECK_INT(s->node_count, ==, 2);
  TS_CHECK_STR(s->nodes[0].name, "hostA");
  TS_CHECK_INT(s->nodes[0].pos.line, ==, 7);
  TS_CHECK_INT(s->nodes[0].pos.col, ==, 5);
  TS_CHECK_INT(s->nodes[0].interface_count, ==, 1);
  const ts_scenario_iface *eth0 = &s->nodes[0].interfaces[0];
  TS_CHECK_STR(eth0->name, "eth0");
  TS_CHECK_INT(eth0->address_count, ==, 2);
  TS_CHECK(addr_is(&eth0->addresses[0], "10.0.0.1", 24));
  TS_CHECK(addr_is(&eth0->addresses[1], "fd00::1", 64));
  TS_CHECK_INT(eth0->link, ==, 0);

  TS_CHECK_INT(s->link_count, ==, 1);
  const ts_scenario_link *ab = &s->links[0];
  TS_CHECK_STR(ab->name, "ab");
  TS_CHECK_INT(ab->endpoints[0].node, ==, 0);
  TS_CHECK_INT(ab->endpoints[1].node, ==, 1);
  TS_CHECK_INT(ab->endpoints[1].iface, ==, 0);
  TS_CHECK_INT(ab->delay, ==, 5 * TS_MS);
  TS_CHECK_INT(ab->jitter, ==, 1 * TS_MS);
  TS_CHECK(ab->loss == 0.01);
  TS_CHECK_INT(ab->rate_bps, ==, 10000000);
  TS_CHECK_INT(ab->mtu, ==, 1500);
  TS_CHECK_INT(ab->queue_packets, ==, 100);
  TS_CHECK(ab->up);

  TS_CHECK_INT(s->app_count, ==, 2);
  const ts_scenario_app *ping = &s->apps[0];
  TS_CHECK_STR(ping->name, "ping1");
  TS_CHECK_INT(ping->type, ==, TS_APP_PING);
  TS_CHECK_INT(ping->node, ==, 0);
  TS_CHECK(ping->has_target && addr_is(&ping->target, "10.0.0.2", 32));
  TS_CHECK_INT(ping->start, ==, TS_SEC);
  TS_CHECK_INT(ping->interval, ==, TS_SEC);
  TS_CHECK_INT(ping->count, ==, 5);
  TS_CHECK_INT(ping->size, ==, 56);
  TS_CHECK_INT(ping->port, ==, 0);
  TS_CHECK_INT(s->apps[1].type, ==, TS_APP_UDP_ECHO_SERVER);
  TS_CHECK_INT(s->apps[1].port, ==, 7);
  TS_CHECK(!s->apps[1].has_target);

  TS_CHECK_INT(s->timeline_count, ==, 1);
  TS_CHECK_INT(s->timeline[0].at, ==, 3 * TS_SEC);
  TS_CHECK_INT(s->timeline[0].action, ==, TS_ACTION_LINK_DOWN);
  TS_CHECK_INT(s->timeline[0].link, ==, 0);

  TS_CHECK_INT(ts_scenario_find_node(s, "hostB"), ==, 1);
  TS_CHECK(ts_scenario_find_node(s, "hostC") == TS_SCENARIO_NONE);
  TS_CHECK_INT(ts_scenario_find_link(s, "ab"), ==, 0);
  TS_CHECK_INT(ts_scenario_find_app(s, "ping1"), ==, 0);
  ts_scenario_free(s);
}

/* The example in docs/scenario-reference.md must stay a valid scenario. */
TS_TEST(the_documented_example_loads) {
  size_t len;
  char *doc = read_file("docs/scenario-reference.md", &len);
  TS_CHECK(doc != NULL);
  char *nul_terminated = realloc(doc, len + 1);
  TS_CHECK(nul_terminated != NULL);
  doc = nul_terminated;
  doc[len] = '\0';
  char *start = strstr(doc, "```yaml\n");
  char *end = start ? strstr(start + 8, "\n```") : NULL;
  bool found = start && end;
  ts_scenario *s = NULL;
  ts_diag diag = {0};
  if (found) {
    start += 8;
    ts_scenario_load_buffer("docs-example.yaml", start, (size_t)(end - start) + 1, &s, &diag);
  }
  free(doc);
  TS_CHECK(found);
  if (!s) fprintf(stderr, "  %s:%d:%d: %s\n", diag.file, diag.line, diag.col, diag.message);
  TS_CHECK(s != NULL);
  TS_CHECK_INT(s->timeline_count, ==, 2);
  ts_scenario_free(s);
}

TS_TEST(left_out_keys_get_their_defaults) {
  ts_scenario *s = NULL;
  ts_diag diag;
  TS_CHECK_INT(ts_scenario_load_file(VALID_DIR "defaults.yaml", &s, &diag), ==, 0);
  TS_CHECK(s->description == NULL);
  TS_CHECK(!s->has_seed && !s->has_duration);
  const ts_scenario_link *l = &s->links[0];
  TS_CHECK_INT(l->delay, ==, 0);
  TS_CHECK_INT(l->jitter, ==, 0);
  TS_CHECK(l->loss == 0.0);
  TS_CHECK_INT(l->rate_bps, ==, 0);
  TS_CHECK_INT(l->mtu, ==, 1500);
  TS_CHECK_INT(l->queue_packets, ==, 1000);
  TS_CHECK(l->up);
  const ts_scenario_app *ping = &s->apps[0], *server = &s->apps[1], *client = &s->apps[2];
  TS_CHECK_INT(ping->start, ==, 0);
  TS_CHECK_INT(ping->interval, ==, TS_SEC);
  TS_CHECK_INT(ping->count, ==, 1);
  TS_CHECK_INT(ping->size, ==, 56);
  TS_CHECK_INT(server->port, ==, 7);
  TS_CHECK_INT(client->port, ==, 7);
  TS_CHECK_INT(client->count, ==, 1);
  TS_CHECK_INT(s->timeline[1].at, ==, 2500 * TS_MS);
  TS_CHECK_INT(s->timeline[1].action, ==, TS_ACTION_LINK_UP);
  ts_scenario_free(s);
}

TS_TEST(unusual_but_valid_values_load_exactly) {
  ts_scenario *s = NULL;
  ts_diag diag;
  TS_CHECK_INT(ts_scenario_load_file(VALID_DIR "edge-cases.yaml", &s, &diag), ==, 0);
  TS_CHECK(s->seed == UINT64_MAX);
  TS_CHECK_INT(s->duration, ==, 1500 * TS_MS);
  TS_CHECK_STR(s->description, "tab\there \xe2\x80\xa8 \" \\ \xc3\xa9 \x01 \xef\xbb\xbf");
  /* An alias shares the anchored list. */
  TS_CHECK_INT(s->nodes[0].interfaces[1].address_count, ==, 4);
  TS_CHECK(addr_is(&s->nodes[0].interfaces[1].addresses[3], "::", 0));
  TS_CHECK_INT(s->nodes[1].interface_count, ==, 0);
  const ts_scenario_link *l = &s->links[0];
  TS_CHECK_INT(l->delay, ==, 3600 * TS_SEC);
  TS_CHECK_INT(l->jitter, ==, 3599999999994LL);
  TS_CHECK(l->loss == 0.123456789012345);
  TS_CHECK_INT(l->rate_bps, ==, 1500);
  TS_CHECK(!l->up);
  TS_CHECK_INT(l->endpoints[0].iface, ==, 0);
  TS_CHECK_INT(l->endpoints[1].iface, ==, 1);
  const ts_scenario_app *c = &s->apps[0];
  TS_CHECK(addr_is(&c->target, "fd00::1", 128));
  TS_CHECK_INT(c->port, ==, 65535);
  TS_CHECK_INT(c->interval, ==, 250 * TS_US);
  ts_scenario_free(s);
}

/* libfyaml 0.7.12 gets runs of escaped single quotes wrong (and leaks); the
 * loader decodes single-quoted scalars itself. Folding follows YAML 1.2. */
TS_TEST(single_quoted_strings_decode_exactly) {
  static const struct { const char *yaml; const char *text; } cases[] = {
      {"'it''s'", "it's"},
      {"''''''", "''"},
      {"'a''''b'", "a''b"},
      {"''", ""},
      {"'a\n   b  \n\n  c'", "a b\nc"},
      {"'a\r\n  b'", "a b"},
      {"'x \n  '", "x "},
      {"'caf\xc3\xa9'", "caf\xc3\xa9"},
  };
  for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
    char text[256];
    snprintf(text, sizeof text, "version: 1\nname: q\ndescription: %s\nnodes: [{name: a}]\n",
             cases[i].yaml);
    ts_diag diag;
    ts_scenario *s = load_text(text, &diag);
    TS_CHECK(s != NULL);
    bool same = strcmp(s->description, cases[i].text) == 0;
    if (!same) fprintf(stderr, "  %s gave [%s]\n", cases[i].yaml, s->description);
    bool trips = round_trips(s);
    ts_scenario_free(s);
    TS_CHECK(same);
    TS_CHECK(trips);
  }
}

TS_TEST(durations_are_exact_in_nanoseconds) {
  static const struct { const char *text; ts_time ns; } good[] = {
      {"0s", 0}, {"0ns", 0}, {"1ns", 1}, {"250us", 250000}, {"5ms", 5000000},
      {"1.5s", 1500000000}, {"0.000000001s", 1}, {"2m", 120 * TS_SEC}, {"1.5m", 90 * TS_SEC},
      {"1h", 3600 * TS_SEC}, {"0.5us", 500}, {"1.250s", 1250 * TS_MS}, {"007ms", 7 * TS_MS},
      {"9223372036854775807ns", INT64_MAX}, {"1.000000000000000s", TS_SEC},
  };
  for (size_t i = 0; i < sizeof good / sizeof *good; i++) {
    ts_time t = -1;
    TS_CHECK_INT(ts_parse_duration(good[i].text, &t), ==, 0);
    TS_CHECK_INT(t, ==, good[i].ns);
  }
  static const struct { const char *text; int rc; } bad[] = {
      {"5", TS_EPARSE}, {"", TS_EPARSE}, {"ms", TS_EPARSE}, {"5 ms", TS_EPARSE},
      {"-5ms", TS_EPARSE}, {"+5ms", TS_EPARSE}, {"5sec", TS_EPARSE}, {"1.s", TS_EPARSE},
      {".5s", TS_EPARSE}, {"5MS", TS_EPARSE}, {"1e3ms", TS_EPARSE}, {"0x10s", TS_EPARSE},
      {"0.5ns", TS_ERANGE}, {"1.0000000001s", TS_ERANGE}, {"9223372036854775808ns", TS_ERANGE},
      {"99999999999999999999999h", TS_ERANGE}, {"3000000000h", TS_ERANGE},
  };
  for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
    ts_time t = 42;
    int rc = ts_parse_duration(bad[i].text, &t);
    if (rc != bad[i].rc) fprintf(stderr, "  duration '%s'\n", bad[i].text);
    TS_CHECK_INT(rc, ==, bad[i].rc);
  }
  char buf[32];
  ts_format_duration(1500 * TS_MS, buf, sizeof buf);
  TS_CHECK_STR(buf, "1500ms");
  ts_format_duration(0, buf, sizeof buf);
  TS_CHECK_STR(buf, "0s");
  ts_format_duration(120 * TS_SEC, buf, sizeof buf);
  TS_CHECK_STR(buf, "2m");
  ts_format_duration(7, buf, sizeof buf);
  TS_CHECK_STR(buf, "7ns");
}

TS_TEST(rates_probabilities_integers_and_booleans) {
  uint64_t v = 0;
  TS_CHECK(tsv_parse_rate("10Mbps", &v) == TSV_OK && v == 10000000);
  TS_CHECK(tsv_parse_rate("1.5Gbps", &v) == TSV_OK && v == 1500000000);
  TS_CHECK(tsv_parse_rate("0bps", &v) == TSV_OK && v == 0);
  TS_CHECK(tsv_parse_rate("64kbps", &v) == TSV_OK && v == 64000);
  TS_CHECK(tsv_parse_rate("1000", &v) == TSV_NO_UNIT);
  TS_CHECK(tsv_parse_rate("10mbps", &v) == TSV_BAD_UNIT);
  TS_CHECK(tsv_parse_rate("0.5bps", &v) == TSV_INEXACT);
  TS_CHECK(tsv_parse_rate("18446744074Gbps", &v) == TSV_OVERFLOW);
  char buf[64];
  tsv_format_rate(10000000, buf, sizeof buf);
  TS_CHECK_STR(buf, "10Mbps");
  tsv_format_rate(1500, buf, sizeof buf);
  TS_CHECK_STR(buf, "1500bps");

  double p = -1;
  TS_CHECK(tsv_parse_probability("0.01", &p) == TSV_OK && p == 0.01);
  TS_CHECK(tsv_parse_probability("1", &p) == TSV_OK && p == 1.0);
  TS_CHECK(tsv_parse_probability("1.000", &p) == TSV_OK && p == 1.0);
  TS_CHECK(tsv_parse_probability("0", &p) == TSV_OK && p == 0.0);
  TS_CHECK(tsv_parse_probability("1.01", &p) == TSV_OVERFLOW);
  TS_CHECK(tsv_parse_probability("-0.1", &p) == TSV_NEGATIVE);
  TS_CHECK(tsv_parse_probability("nan", &p) == TSV_SYNTAX);
  TS_CHECK(tsv_parse_probability("1e-3", &p) == TSV_SYNTAX);
  tsv_format_probability(0.01, buf, sizeof buf);
  TS_CHECK_STR(buf, "0.01");
  tsv_format_probability(0.123456789012345, buf, sizeof buf);
  TS_CHECK_STR(buf, "0.123456789012345");

  TS_CHECK(tsv_parse_uint("65535", &v) == TSV_OK && v == 65535);
  TS_CHECK(tsv_parse_uint("18446744073709551616", &v) == TSV_OVERFLOW);
  TS_CHECK(tsv_parse_uint("0x10", &v) == TSV_SYNTAX);
  TS_CHECK(tsv_parse_uint("1.0", &v) == TSV_SYNTAX);
  TS_CHECK(tsv_parse_seed("0x2a", &v) == TSV_OK && v == 42);
  TS_CHECK(tsv_parse_seed("0x10000000000000000", &v) == TSV_OVERFLOW);
  TS_CHECK(tsv_parse_seed("0x", &v) == TSV_SYNTAX);

  bool b = false;
  TS_CHECK(tsv_parse_bool("True", &b) == TSV_OK && b);
  TS_CHECK(tsv_parse_bool("FALSE", &b) == TSV_OK && !b);
  TS_CHECK(tsv_parse_bool("yes", &b) == TSV_SYNTAX);
}

TS_TEST(addresses_parse_with_and_without_prefix) {
  ts_ipprefix a;
  TS_CHECK(tsv_parse_address("10.0.0.1/24", true, &a) == TSV_OK && addr_is(&a, "10.0.0.1", 24));
  TS_CHECK(tsv_parse_address("fd00::1/64", true, &a) == TSV_OK && addr_is(&a, "fd00::1", 64));
  TS_CHECK(tsv_parse_address("::ffff:1.2.3.4/128", true, &a) == TSV_OK && a.addr.family == 6);
  TS_CHECK(tsv_parse_address("10.0.0.1", true, &a) == TSV_NO_PREFIX);
  TS_CHECK(tsv_parse_address("10.0.0.1/33", true, &a) == TSV_BAD_PREFIX);
  TS_CHECK(tsv_parse_address("fd00::1/129", true, &a) == TSV_BAD_PREFIX);
  TS_CHECK(tsv_parse_address("10.0.0.1/", true, &a) == TSV_BAD_PREFIX);
  TS_CHECK(tsv_parse_address("10.0.0.1/-1", true, &a) == TSV_BAD_PREFIX);
  TS_CHECK(tsv_parse_address("10.0.0.1/24", false, &a) == TSV_HAS_PREFIX);
  TS_CHECK(tsv_parse_address("10.0.0", false, &a) == TSV_SYNTAX);
  TS_CHECK(tsv_parse_address("fe80::1%eth0", false, &a) == TSV_SYNTAX);
  TS_CHECK(tsv_parse_address("/24", true, &a) == TSV_SYNTAX);
  char buf[64];
  TS_CHECK(tsv_parse_address("fd00:0::0:1/64", true, &a) == TSV_OK);
  ts_ipprefix_format(&a, true, buf, sizeof buf);
  TS_CHECK_STR(buf, "fd00::1/64");
  ts_ipprefix_format(&a, false, buf, sizeof buf);
  TS_CHECK_STR(buf, "fd00::1");
}

TS_TEST(names_of_types_and_actions) {
  TS_CHECK_STR(ts_scenario_app_type_name(TS_APP_PING), "ping");
  TS_CHECK_STR(ts_scenario_app_type_name(TS_APP_UDP_ECHO_CLIENT), "udp-echo-client");
  TS_CHECK(ts_scenario_app_type_name(TS_APP_TYPE_COUNT) == NULL);
  TS_CHECK(ts_scenario_app_type_name(-1) == NULL);
  TS_CHECK_STR(ts_scenario_action_name(TS_ACTION_LINK_UP), "link-up");
  TS_CHECK(ts_scenario_action_name(TS_ACTION_COUNT) == NULL);
}

/* ------------------------------------------------------------ messages */

TS_TEST(diag_format_with_and_without_position) {
  ts_diag d = {.file = "a.yaml", .line = 3, .col = 7, .message = "found x, expected y"};
  char buf[128];
  ts_diag_format(&d, buf, sizeof buf);
  TS_CHECK_STR(buf, "a.yaml:3:7: found x, expected y");
  d.line = d.col = 0;
  ts_diag_format(&d, buf, sizeof buf);
  TS_CHECK_STR(buf, "a.yaml: found x, expected y");
}

TS_TEST(unreadable_files_are_io_errors) {
  ts_scenario *s = (ts_scenario *)1;
  ts_diag diag;
  TS_CHECK_INT(ts_scenario_load_file("tests/scenario/does-not-exist.yaml", &s, &diag), ==, TS_EIO);
  TS_CHECK(s == NULL);
  TS_CHECK_INT(diag.line, ==, 0);
  TS_CHECK(strstr(diag.message, "cannot open") != NULL);
  TS_CHECK_INT(ts_scenario_load_file("tests/scenario", &s, &diag), ==, TS_EIO);
  TS_CHECK(s == NULL);
  TS_CHECK_INT(ts_scenario_load_file(NULL, &s, &diag), ==, TS_EINVAL);
}

TS_TEST(buffers_without_a_name_are_called_buffer) {
  ts_scenario *s = NULL;
  ts_diag diag;
  TS_CHECK_INT(ts_scenario_load_buffer(NULL, "", 0, &s, &diag), ==, TS_EPARSE);
  TS_CHECK_STR(diag.file, "<buffer>");
  TS_CHECK_INT(ts_scenario_load_buffer(NULL, NULL, 0, &s, NULL), ==, TS_EPARSE);
}

static const char *const two_nodes =
    "version: 1\nname: t\nnodes:\n"
    "  - name: a\n    interfaces: [{name: e, addresses: [10.0.0.1/24]}]\n"
    "  - name: b\n    interfaces: [{name: e, addresses: [10.0.0.2/24]}]\n";

TS_TEST(messages_for_yaml_level_mistakes) {
  TS_CHECK(fails_with("version: 1\nversion: 1\n", "inline.yaml:2:1: duplicate key 'version' at the top level (first at 1:1)"));
  TS_CHECK(fails_with("version: 1\n...\nname: x\n", "inline.yaml:3:1: found a second YAML document"));
  TS_CHECK(fails_with("---\n", "inline.yaml:1:1: found an empty document"));
  TS_CHECK(fails_with("just text\n", "inline.yaml:1:1: found 'just text' at the top level, expected a scenario mapping"));
  TS_CHECK(fails_with("{version: 1, [a]: b}", "inline.yaml:1:14: found a sequence as a key at the top level"));
  TS_CHECK(fails_with("version: !!int 1\n", "inline.yaml:1:10: found tag '!!int', expected a value without a tag"));
  TS_CHECK(fails_with("\xef\xbb\xbfversion: 2\n", "inline.yaml:1:10: found '2', expected version 1"));
  TS_CHECK(fails_with("version: 1\r\nname: a b\r\n", "inline.yaml:2:7: found 'a b', expected a name"));
  TS_CHECK(fails_with("version: 1\nname: \"a\\0b\"\n", "inline.yaml:2:7: found a string containing a NUL character"));
  TS_CHECK(fails_with("version: 1\nname: x\ndescription: caf\xc3\xa9 \xff\n", "inline.yaml:3:19: found byte 0xff that is not valid UTF-8"));
  TS_CHECK(fails_with("version: 1\nname: \xed\xa0\x80\n", "inline.yaml:2:7: found byte 0xed that is not valid UTF-8"));
  TS_CHECK(fails_with("version: 1\nname: \xc0\xaf\n", "inline.yaml:2:7: found byte 0xc0 that is not valid UTF-8"));
}

TS_TEST(messages_for_schema_mistakes) {
  char text[2048];
  snprintf(text, sizeof text, "%slinks:\n  - name: l\n    endpoints: [a/e, b/e]\n    delay: 1ms\n    jitter: 1.5ms\n", two_nodes);
  TS_CHECK(fails_with(text, "inline.yaml:12:13: found jitter 1500us larger than delay 1ms in link 'l', expected jitter <= delay"));
  snprintf(text, sizeof text, "%slinks:\n  - name: l\n    endpoints: [a/e, b/e]\n    jitter: 1ms\n", two_nodes);
  TS_CHECK(fails_with(text, "inline.yaml:11:13: found jitter 1ms larger than delay 0s"));
  snprintf(text, sizeof text, "%slinks:\n  - name: l\n    endpoints: a/e\n", two_nodes);
  TS_CHECK(fails_with(text, "inline.yaml:10:16: found 'a/e', expected exactly two endpoints"));
  snprintf(text, sizeof text, "%slinks:\n  - name: l\n    endpoints: [a, b/e]\n", two_nodes);
  TS_CHECK(fails_with(text, "inline.yaml:10:17: found 'a', expected an endpoint like hostA/eth0"));
  snprintf(text, sizeof text, "%slinks: {name: l}\n", two_nodes);
  TS_CHECK(fails_with(text, "inline.yaml:8:8: found a mapping, expected a list of links"));
  snprintf(text, sizeof text, "%slinks:\n  - 5\n", two_nodes);
  TS_CHECK(fails_with(text, "inline.yaml:9:5: found '5', expected a link mapping"));
  snprintf(text, sizeof text, "%sapps:\n  - {name: s, type: udp-echo-server, node: a, count: 3}\n", two_nodes);
  TS_CHECK(fails_with(text, "inline.yaml:9:47: found key 'count' in app 's' of type udp-echo-server"));
  snprintf(text, sizeof text, "%sapps:\n  - {name: s, type: udp-echo-server, node: a, port: 0}\n", two_nodes);
  TS_CHECK(fails_with(text, "inline.yaml:9:53: found '0', expected an integer from 1 to 65535"));
  snprintf(text, sizeof text, "%sapps:\n  - {name: s, type: ping, node: a, target: 10.0.0.2, size: 65001}\n", two_nodes);
  TS_CHECK(fails_with(text, "inline.yaml:9:60: found '65001', expected an integer from 0 to 65000"));
  snprintf(text, sizeof text, "%sapps:\n  - {name: s, type: ping, node: a}\n", two_nodes);
  TS_CHECK(fails_with(text, "inline.yaml:9:5: missing key 'target' in app 's' of type ping"));
  snprintf(text, sizeof text, "%sapps:\n  - {name: s, node: a}\n", two_nodes);
  TS_CHECK(fails_with(text, "inline.yaml:9:5: missing key 'type' in app 's', expected e.g. 'type: ping'"));
  snprintf(text, sizeof text, "%stimeline:\n  - {at: 1s, action: link-down, link: x}\n", two_nodes);
  TS_CHECK(fails_with(text, "inline.yaml:9:39: found link 'x', expected a link defined under 'links' (there are none)"));
  snprintf(text, sizeof text, "%stimeline:\n  - {at: 1s, action: link-sideways, link: x}\n", two_nodes);
  TS_CHECK(fails_with(text, "inline.yaml:9:22: found 'link-sideways', expected one of: link-down, link-up"));
  snprintf(text, sizeof text, "%sseed: -1\n", two_nodes);
  TS_CHECK(fails_with(text, "inline.yaml:8:7: found '-1', expected an unsigned 64-bit integer"));
  snprintf(text, sizeof text, "%sduration: 0s\n", two_nodes);
  TS_CHECK(fails_with(text, "inline.yaml:8:11: found '0s', expected a duration of at least 1ns for duration"));
  snprintf(text, sizeof text, "%sdescription: [a]\n", two_nodes);
  TS_CHECK(fails_with(text, "inline.yaml:8:14: found a sequence, expected a text"));
  TS_CHECK(fails_with("version: 1\nname: aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\n",
                      "inline.yaml:2:7: found a name of 64 characters, expected at most 63"));
  TS_CHECK(fails_with("version: 1\nname: x\nnodes:\n  - name: a\n    interfaces:\n      - {name: e, addresses: [10.0.0.1/24]}\n      - {name: e, addresses: [10.0.0.2/24]}\n",
                      "inline.yaml:7:16: duplicate interface name 'e' (first defined at 6:9)"));
  TS_CHECK(fails_with("version: 1\nname: x\nnodes:\n  - name: a\n    interfaces:\n      - {name: e, addresses: []}\n",
                      "inline.yaml:6:30: found an empty sequence, expected a list of addresses"));
  TS_CHECK(fails_with("version: 1\nname: x\nnodes:\n", "inline.yaml:3:1: found an empty value, expected a list of at least one node"));
  TS_CHECK(fails_with("version: 1\nname: x\nnodes:\n  - name: a\nlinks:\n  - {name: l, endpoints: [a/e, a/f]}\n",
                      "inline.yaml:6:27: link endpoint 'a/e': node 'a' has no interfaces"));
}

/* Empty lists for optional sections are accepted: a user commenting out every
 * link leaves "links:" behind. */
TS_TEST(empty_optional_sections_are_empty_lists) {
  char text[1024];
  snprintf(text, sizeof text, "%slinks:\napps: []\ntimeline: ~\n", two_nodes);
  ts_diag diag;
  ts_scenario *s = load_text(text, &diag);
  TS_CHECK(s != NULL);
  TS_CHECK_INT(s->link_count + s->app_count + s->timeline_count, ==, 0);
  ts_scenario_free(s);
}

TS_TEST(anchors_and_aliases_are_followed) {
  const char *text =
      "version: 1\nname: alias\nnodes:\n"
      "  - name: a\n    interfaces: &ifs [{name: e, addresses: [10.0.0.1/24]}]\n"
      "  - name: b\n    interfaces: *ifs\n"
      "links:\n  - &l {name: l, endpoints: [a/e, b/e], delay: &d 5ms, jitter: *d}\n";
  ts_scenario *s = load_text(text, NULL);
  TS_CHECK(s != NULL);
  TS_CHECK_INT(s->nodes[1].interface_count, ==, 1);
  TS_CHECK_INT(s->links[0].jitter, ==, 5 * TS_MS);
  ts_scenario_free(s);
  /* An alias that repeats a named element is a duplicate, not a crash. */
  char dup[1024];
  snprintf(dup, sizeof dup, "%s  - *l\n", text);
  TS_CHECK(fails_with(dup, "inline.yaml:9:15: duplicate link name 'l' (first defined at 9:8)"));
  /* An anchor is not visible inside its own node. */
  TS_CHECK(fails_with("version: 1\nname: x\nnodes: &n [*n]\n", "inline.yaml:3:12: found alias '*n' with no anchor '&n' before it"));
}

/* "Billion laughs": 1000 nodes alias one list of 1000 interfaces, each aliasing
 * one list of 1000 addresses: 10^9 addresses from a file of ~100 KB. The loader
 * must give up after its visit budget, quickly and without huge allocations. */
TS_TEST(alias_bombs_are_refused) {
  size_t cap = 1 << 20, h = 0;
  char *text = malloc(cap);
  TS_CHECK(text != NULL);
  h += (size_t)snprintf(text + h, cap - h,
                        "version: 1\nname: bomb\nnodes:\n  - name: n0\n    interfaces: &ifs\n"
                        "      - name: e0\n        addresses: &addrs [");
  for (int j = 0; j < 1000; j++)
    h += (size_t)snprintf(text + h, cap - h, "%s10.0.%d.%d/16", j ? ", " : "", j / 250, j % 250);
  h += (size_t)snprintf(text + h, cap - h, "]\n");
  for (int i = 1; i < 1000; i++)
    h += (size_t)snprintf(text + h, cap - h, "      - {name: e%d, addresses: *addrs}\n", i);
  for (int i = 1; i < 1000; i++)
    h += (size_t)snprintf(text + h, cap - h, "  - {name: n%d, interfaces: *ifs}\n", i);
  ts_diag diag;
  ts_scenario *s = load_text(text, &diag);
  free(text);
  TS_CHECK(s == NULL);
  TS_CHECK(strstr(diag.message, "after expanding aliases") != NULL);
}

TS_TEST(deep_nesting_is_an_error_not_a_crash) {
  size_t depth = 100000;
  char *text = malloc(depth * 2 + 64);
  TS_CHECK(text != NULL);
  size_t n = (size_t)sprintf(text, "version: 1\nname: deep\nnodes: ");
  for (size_t i = 0; i < depth; i++) text[n++] = '[';
  for (size_t i = 0; i < depth; i++) text[n++] = ']';
  text[n] = '\0';
  ts_diag diag;
  ts_scenario *s = load_text(text, &diag);
  TS_CHECK(s == NULL);
  TS_CHECK_INT(diag.line, >=, 1);
  free(text);
  /* Deep block mappings too: one more space of indentation per line. */
  size_t lines = 3000;
  text = malloc(lines * (lines + 4) + 64);
  TS_CHECK(text != NULL);
  n = (size_t)sprintf(text, "version: 1\nname: deep\nnodes:\n");
  for (size_t i = 1; i <= lines; i++) n += (size_t)sprintf(text + n, "%*sk:\n", (int)i, "");
  s = load_text(text, &diag);
  free(text);
  TS_CHECK(s == NULL);
  TS_CHECK_INT(diag.line, >=, 1);
}

TS_TEST(oversized_input_is_refused_before_parsing) {
  size_t len = TS_SCENARIO_MAX_BYTES + 1;
  char *text = malloc(len);
  TS_CHECK(text != NULL);
  memset(text, '#', len);
  ts_scenario *s = NULL;
  ts_diag diag;
  int rc = ts_scenario_load_buffer("big.yaml", text, len, &s, &diag);
  free(text);
  TS_CHECK_INT(rc, ==, TS_EPARSE);
  TS_CHECK(strstr(diag.message, "expected a scenario file of at most") != NULL);
}

/* ------------------------------------------------------------ round trip */

TS_TEST(canonical_output_round_trips) {
  for (size_t i = 0; i < VALID_COUNT; i++) {
    ts_scenario *s = NULL;
    ts_diag diag;
    int rc = ts_scenario_load_file(valid_files[i], &s, &diag);
    if (rc) {
      char msg[1024];
      ts_diag_format(&diag, msg, sizeof msg);
      fprintf(stderr, "  %s\n", msg);
    }
    TS_CHECK_INT(rc, ==, 0);
    bool ok = round_trips(s);
    if (!ok) fprintf(stderr, "  %s does not round-trip\n", valid_files[i]);
    ts_scenario_free(s);
    TS_CHECK(ok);
  }
}

/* The canonical text of the example, so changes to the writer are deliberate. */
TS_TEST(canonical_output_of_a_link) {
  char text[1024];
  snprintf(text, sizeof text, "%slinks:\n  - {name: l, endpoints: [a/e, b/e], delay: 1.5s, rate: 2500kbps, loss: 0.5}\n", two_nodes);
  ts_scenario *s = load_text(text, NULL);
  TS_CHECK(s != NULL);
  size_t len;
  char *out = write_to_string(s, &len);
  ts_scenario_free(s);
  TS_CHECK(out != NULL);
  bool ok = strstr(out, "  - name: \"l\"\n    endpoints: [\"a/e\", \"b/e\"]\n    delay: 1500ms\n"
                        "    jitter: 0s\n    loss: 0.5\n    rate: 2500kbps\n    mtu: 1500\n"
                        "    queue: 1000\n    up: true\n") != NULL;
  if (!ok) fprintf(stderr, "%s", out);
  free(out);
  TS_CHECK(ok);
}

/* ------------------------------------------------------------ brute force */

/* Loads one candidate input; every outcome must be sane, every success must
 * round-trip. Returns false on a violation. */
static bool survives(const char *data, size_t len) {
  ts_scenario *s = NULL;
  ts_diag diag;
  int rc = ts_scenario_load_buffer("brute.yaml", data, len, &s, &diag);
  bool ok = outcome_is_sane(rc, s, &diag) && (rc != 0 || round_trips(s));
  if (!ok) fprintf(stderr, "  rc %d line %d: %.*s\n", rc, diag.line, (int)(len > 200 ? 200 : len), data);
  ts_scenario_free(s);
  return ok;
}

TS_TEST(every_truncation_is_handled) {
  for (size_t f = 0; f < VALID_COUNT; f++) {
    size_t len;
    char *data = read_file(valid_files[f], &len);
    TS_CHECK(data != NULL);
    size_t failures = 0;
    for (size_t cut = 0; cut <= len && failures == 0; cut++) {
      /* A copy of exactly `cut` bytes, so ASan sees any read past the end. */
      char *copy = malloc(cut ? cut : 1);
      memcpy(copy, data, cut);
      failures += !survives(copy, cut);
      free(copy);
    }
    free(data);
    TS_CHECK_INT(failures, ==, 0);
  }
}

/* xorshift64*: deterministic across platforms, so failures reproduce. */
static uint64_t next_random(uint64_t *state) {
  *state ^= *state >> 12;
  *state ^= *state << 25;
  *state ^= *state >> 27;
  return *state * 2685821657736338717ull;
}

/* Bytes that matter to YAML and to our parsers, more likely to find bugs than
 * uniformly random bytes. */
static const char interesting[] = "{}[]:-,&*!#'\"|>%@`\n\t \\/.0123456789eE+xX\x00\xff\xc3\xa9~";

static void mutate(char *data, size_t *len, size_t cap, uint64_t *rng) {
  size_t pos = *len ? next_random(rng) % *len : 0;
  switch (next_random(rng) % 5) {
    case 0: /* flip a bit */
      if (*len) data[pos] ^= (char)(1u << (next_random(rng) % 8));
      break;
    case 1: /* replace with an interesting byte */
      if (*len) data[pos] = interesting[next_random(rng) % (sizeof interesting - 1)];
      break;
    case 2: /* insert an interesting byte */
      if (*len < cap) {
        memmove(data + pos + 1, data + pos, *len - pos);
        data[pos] = interesting[next_random(rng) % (sizeof interesting - 1)];
        (*len)++;
      }
      break;
    case 3: /* delete a byte */
      if (*len) {
        memmove(data + pos, data + pos + 1, *len - pos - 1);
        (*len)--;
      }
      break;
    default: /* duplicate a chunk, to grow lists and repeat names */
      if (*len) {
        size_t chunk = 1 + next_random(rng) % 40;
        if (pos + chunk > *len) chunk = *len - pos;
        if (*len + chunk <= cap) {
          memmove(data + pos + chunk, data + pos, *len - pos);
          (*len) += chunk;
        }
      }
      break;
  }
}

TS_TEST(random_mutations_are_handled) {
  uint64_t rng = 0x74756e6e656c73ull; /* fixed seed: "tunnels" */
  size_t accepted = 0, rejected = 0;
  for (size_t f = 0; f < VALID_COUNT; f++) {
    size_t len;
    char *original = read_file(valid_files[f], &len);
    TS_CHECK(original != NULL);
    size_t cap = len + 256;
    char *data = malloc(cap);
    size_t failures = 0;
    for (int round = 0; round < 1500 && failures == 0; round++) {
      size_t n = len;
      memcpy(data, original, len);
      int edits = 1 + (int)(next_random(&rng) % 4);
      for (int e = 0; e < edits; e++) mutate(data, &n, cap, &rng);
      char *copy = malloc(n ? n : 1);
      memcpy(copy, data, n);
      ts_scenario *s = NULL;
      ts_diag diag;
      int rc = ts_scenario_load_buffer("brute.yaml", copy, n, &s, &diag);
      ts_scenario_free(s);
      if (rc == 0) accepted++; else rejected++;
      failures += !survives(copy, n);
      free(copy);
    }
    free(data);
    free(original);
    TS_CHECK_INT(failures, ==, 0);
  }
  /* Both outcomes must occur, or the mutations are not exercising anything. */
  TS_CHECK_INT(accepted, >, 0);
  TS_CHECK_INT(rejected, >, 0);
}
