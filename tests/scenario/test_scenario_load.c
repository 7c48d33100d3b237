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
    VALID_DIR "phone-full.yaml",
    VALID_DIR "phone-defaults.yaml",
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

/* ------------------------------------------------------------ the phone and its world */

static bool ip_is(const ts_ipaddr *a, const char *text) {
  ts_ipprefix p = {*a, (uint8_t)(a->family == 6 ? 128 : 32)};
  return addr_is(&p, text, a->family == 6 ? 128 : 32);
}

TS_TEST(phone_sections_load_with_every_value) {
  ts_scenario *s = NULL;
  ts_diag diag;
  int rc = ts_scenario_load_file(VALID_DIR "phone-full.yaml", &s, &diag);
  if (rc) fprintf(stderr, "  %s:%d:%d: %s\n", diag.file, diag.line, diag.col, diag.message);
  TS_CHECK_INT(rc, ==, 0);
  const ts_scenario_node *ap = &s->nodes[0];
  TS_CHECK(ap->forwarding && !s->nodes[1].forwarding);
  TS_CHECK_INT(ap->route_count, ==, 2);
  TS_CHECK(addr_is(&ap->routes[0].to, "0.0.0.0", 0) && ap->routes[0].iface == 1);
  TS_CHECK(addr_is(&ap->routes[1].to, "fd00::", 8) && ap->routes[1].iface == 0);
  TS_CHECK(s->links[0].to_phone && !s->links[1].to_phone && s->links[2].to_phone);
  TS_CHECK(s->links[0].endpoints[1].node == TS_SCENARIO_NONE);
  TS_CHECK_INT(s->nodes[0].interfaces[0].link, ==, 0);

  TS_CHECK_INT(s->relay_count, ==, 2);
  TS_CHECK_STR(s->relays[0].name, "relay1");
  TS_CHECK_INT(s->relays[0].node, ==, 1);
  TS_CHECK_INT(s->relays[0].port, ==, 4500);
  TS_CHECK(ip_is(&s->relays[0].gateway, "10.65.0.1"));
  TS_CHECK_STR(s->relays[0].hostname, "Relay1.VPN.example");
  TS_CHECK_INT(s->relays[1].port, ==, 51820);
  TS_CHECK(ip_is(&s->relays[1].gateway, "10.64.0.1"));
  TS_CHECK_STR(s->relays[1].hostname, "");
  TS_CHECK_INT(ts_scenario_find_relay(s, "relay2"), ==, 1);

  TS_CHECK_INT(s->dhcp_server_count, ==, 1);
  const ts_scenario_dhcp_server *d = &s->dhcp_servers[0];
  TS_CHECK(d->node == 0 && d->iface == 0);
  TS_CHECK(ip_is(&d->pool_first, "10.0.0.10") && ip_is(&d->pool_last, "10.0.0.20"));
  TS_CHECK_INT(d->prefix_len, ==, 16);
  TS_CHECK(d->has_router && ip_is(&d->router, "10.0.0.1"));
  TS_CHECK(d->dns_count == 2 && ip_is(&d->dns[1], "9.9.9.9"));
  TS_CHECK_INT(d->lease, ==, 30 * TS_SEC);
  TS_CHECK_INT(d->route_count, ==, 2);
  TS_CHECK(addr_is(&d->routes[1].to, "0.0.0.0", 1) && ip_is(&d->routes[1].via, "10.0.0.1"));

  const ts_scenario_dns_server *dns = &s->dns_servers[0];
  TS_CHECK(dns->node == 1 && dns->ttl == 5 * TS_SEC);
  TS_CHECK_INT(dns->record_count, ==, 3);
  TS_CHECK_STR(dns->records[1].name, "example.com");
  TS_CHECK(ip_is(&dns->records[1].addr, "2001:db8::20"));
  TS_CHECK_STR(dns->records[2].name, "b.example");
  TS_CHECK(dns->spoof_count == 1 && ip_is(&dns->spoofs[0].addr, "192.0.2.66"));

  TS_CHECK(s->has_phone);
  const ts_scenario_phone *ph = &s->phone;
  TS_CHECK_STR(ph->name, "iphone");
  TS_CHECK_STR(ph->os, "ios-16.4");
  const ts_scenario_phone_iface *wifi = &ph->ifaces[TS_SCENARIO_WIFI];
  const ts_scenario_phone_iface *cell = &ph->ifaces[TS_SCENARIO_CELLULAR];
  TS_CHECK(wifi->configured && wifi->link == 0 && wifi->dhcp && !wifi->has_address);
  TS_CHECK(cell->configured && cell->link == 2 && !cell->dhcp);
  TS_CHECK(cell->has_address && addr_is(&cell->address, "10.20.0.2", 24));
  TS_CHECK(cell->has_router && ip_is(&cell->router, "10.20.0.1"));
  TS_CHECK(cell->dns_count == 1 && ip_is(&cell->dns[0], "10.20.0.1"));
  TS_CHECK_INT(ph->primary, ==, TS_SCENARIO_CELLULAR);

  const ts_scenario_vpn *v = &ph->vpn;
  TS_CHECK(v->configured && !v->enabled);
  TS_CHECK_INT(v->flags[TS_SCENARIO_FLAG_INCLUDE_ALL_NETWORKS], ==, TS_SCENARIO_TRUE);
  TS_CHECK_INT(v->flags[TS_SCENARIO_FLAG_EXCLUDE_LOCAL_NETWORKS], ==, TS_SCENARIO_FALSE);
  TS_CHECK_INT(v->flags[TS_SCENARIO_FLAG_EXCLUDE_CELLULAR_SERVICES], ==, TS_SCENARIO_FALSE);
  TS_CHECK_INT(v->flags[TS_SCENARIO_FLAG_EXCLUDE_APNS], ==, TS_SCENARIO_FALSE);
  TS_CHECK_INT(v->flags[TS_SCENARIO_FLAG_EXCLUDE_DEVICE_COMMUNICATION], ==, TS_SCENARIO_FALSE);
  TS_CHECK_INT(v->flags[TS_SCENARIO_FLAG_ENFORCE_ROUTES], ==, TS_SCENARIO_TRUE);
  TS_CHECK_INT(v->flags[TS_SCENARIO_FLAG_DISCONNECT_ON_SLEEP], ==, TS_SCENARIO_TRUE);
  TS_CHECK_INT(v->relay, ==, 1);
  TS_CHECK(v->tunnel_address_count == 2 && addr_is(&v->tunnel_addresses[1], "fc00::9", 128));
  TS_CHECK(v->included_route_count == 1 && addr_is(&v->included_routes[0], "10.0.0.0", 8));
  TS_CHECK(v->excluded_route_count == 1 && addr_is(&v->excluded_routes[0], "10.10.0.0", 16));
  TS_CHECK(v->dns_count == 2 && ip_is(&v->dns[1], "1.1.1.1"));
  TS_CHECK(v->on_demand && v->has_connect_at && v->connect_at == 1500 * TS_MS);
  TS_CHECK_INT(v->error_state, ==, TS_SCENARIO_ERROR_WITHOUT_ROUTES);
  TS_CHECK_INT(v->completion, ==, TS_SCENARIO_COMPLETE_AFTER_MONITOR);
  TS_CHECK_INT(v->settings_delay, ==, 100 * TS_MS);
  TS_CHECK_INT(v->persistent_keepalive, ==, 25);
  TS_CHECK_INT(v->on_loss, ==, TS_SCENARIO_LOSS_REASSERT);
  const ts_scenario_monitor *mon = &v->monitor;
  TS_CHECK(mon->configured && mon->path == TS_SCENARIO_MONITOR_ENGINE_DIRECT);
  TS_CHECK(ip_is(&mon->target, "10.64.0.7") && mon->size == 32);
  TS_CHECK_INT(mon->check_interval, ==, 500 * TS_MS);
  TS_CHECK_INT(mon->ping_delay, ==, 2 * TS_SEC);
  TS_CHECK_INT(mon->establish_timeout, ==, 5 * TS_SEC);
  TS_CHECK_INT(mon->establish_timeout_multiplier, ==, 3);
  TS_CHECK_INT(mon->ping_timeout, ==, 20 * TS_SEC);
  TS_CHECK_INT(mon->heartbeat_interval, ==, 12 * TS_SEC);
  TS_CHECK_INT(mon->heartbeat_reply_timeout, ==, 4 * TS_SEC);

  TS_CHECK_INT(ph->app_count, ==, 5);
  const ts_scenario_phone_app *a = &ph->apps[0];
  TS_CHECK(a->type == TS_SCENARIO_PHONE_PING && a->traffic_class == 6 /* apns */);
  TS_CHECK(a->api == TS_SCENARIO_API_NWCONNECTION && a->scope == TS_SCENARIO_SCOPE_WIFI);
  TS_CHECK(a->has_target && ip_is(&a->target, "198.51.100.20") && a->port == 0);
  TS_CHECK(a->start == 500 * TS_MS && a->interval == 250 * TS_MS && a->count == 10 && a->size == 100);
  a = &ph->apps[1];
  TS_CHECK(a->type == TS_SCENARIO_PHONE_UDP && a->traffic_class == 1 && a->port == 53 && a->size == 0);
  TS_CHECK(a->scope == TS_SCENARIO_SCOPE_VIRTUAL_INTERFACE && ip_is(&a->target, "2001:db8::20"));
  a = &ph->apps[2];
  TS_CHECK(a->type == TS_SCENARIO_PHONE_DNS && !a->has_target && a->port == 0 && a->size == 0);
  TS_CHECK_STR(a->target_name, "example.com");
  TS_CHECK(a->scope == TS_SCENARIO_SCOPE_CELLULAR && a->count == 3);
  a = &ph->apps[3];
  TS_CHECK(a->type == TS_SCENARIO_PHONE_TCP && a->api == TS_SCENARIO_API_NWTCPCONNECTION);
  TS_CHECK(a->port == 1337 && a->long_lived);
  TS_CHECK(ph->apps[4].port == 80 && !ph->apps[4].long_lived);
  TS_CHECK_INT(ts_scenario_find_phone_app(s, "tcp2"), ==, 4);
  TS_CHECK(ts_scenario_find_app(s, "tcp2") == TS_SCENARIO_NONE);

  TS_CHECK_INT(s->timeline_count, ==, 15);
  const ts_timeline_event *ev = s->timeline;
  TS_CHECK(ev[0].action == TS_ACTION_VPN_CONNECT && ev[0].cause == TS_SCENARIO_START_ON_DEMAND);
  TS_CHECK(ev[1].action == TS_ACTION_VPN_DISCONNECT && ev[1].reason == TS_SCENARIO_STOP_APP_UPDATE);
  TS_CHECK(ev[2].action == TS_ACTION_VPN_ERROR && ev[2].link == TS_SCENARIO_NONE);
  TS_CHECK(ev[3].action == TS_ACTION_PROVIDER_CRASH);
  TS_CHECK(ev[4].action == TS_ACTION_WIFI_DOWN && ev[5].action == TS_ACTION_WIFI_UP);
  TS_CHECK(ev[6].action == TS_ACTION_CELLULAR_DOWN && ev[7].action == TS_ACTION_CELLULAR_UP);
  TS_CHECK(ev[8].action == TS_ACTION_SWITCH_PRIMARY && ev[8].to == TS_SCENARIO_WIFI);
  TS_CHECK(ev[9].action == TS_ACTION_REASSERT && ev[9].duration == 2 * TS_SEC);
  TS_CHECK(ev[10].action == TS_ACTION_SET_FLAG && ev[10].flag == TS_SCENARIO_FLAG_EXCLUDE_APNS);
  TS_CHECK(ev[10].value && !ev[10].reconnect);
  TS_CHECK(ev[11].cause == TS_SCENARIO_START_USER && ev[12].reason == TS_SCENARIO_STOP_USER);
  TS_CHECK(ev[13].flag == TS_SCENARIO_FLAG_INCLUDE_ALL_NETWORKS && !ev[13].value && ev[13].reconnect);
  TS_CHECK(ev[14].action == TS_ACTION_LINK_DOWN && ev[14].link == 1);
  ts_scenario_free(s);
}

TS_TEST(phone_sections_get_their_defaults) {
  ts_scenario *s = NULL;
  ts_diag diag;
  int rc = ts_scenario_load_file(VALID_DIR "phone-defaults.yaml", &s, &diag);
  if (rc) fprintf(stderr, "  %s:%d:%d: %s\n", diag.file, diag.line, diag.col, diag.message);
  TS_CHECK_INT(rc, ==, 0);
  TS_CHECK(!s->nodes[0].forwarding && s->nodes[0].route_count == 0);
  TS_CHECK(s->relays[0].port == 51820 && ip_is(&s->relays[0].gateway, "10.64.0.1"));
  const ts_scenario_dhcp_server *d = &s->dhcp_servers[0];
  TS_CHECK(d->prefix_len == 24 && !d->has_router && d->dns_count == 0 && d->route_count == 0);
  TS_CHECK_INT(d->lease, ==, 3600 * TS_SEC);
  TS_CHECK(s->dns_servers[0].ttl == 60 * TS_SEC && s->dns_servers[0].record_count == 0);
  TS_CHECK_INT(s->dns_servers[0].spoof_count, ==, 0);
  const ts_scenario_phone *ph = &s->phone;
  TS_CHECK_STR(ph->name, "phone");
  TS_CHECK_STR(ph->os, "");
  TS_CHECK(!ph->ifaces[TS_SCENARIO_WIFI].dhcp && !ph->ifaces[TS_SCENARIO_WIFI].has_router);
  TS_CHECK(!ph->ifaces[TS_SCENARIO_CELLULAR].configured);
  TS_CHECK_INT(ph->primary, ==, TS_SCENARIO_WIFI);
  const ts_scenario_vpn *v = &ph->vpn;
  TS_CHECK(v->configured && v->enabled && !v->on_demand && !v->has_connect_at);
  for (int i = 0; i < TS_SCENARIO_FLAG_COUNT; i++) TS_CHECK_INT(v->flags[i], ==, TS_SCENARIO_DEFAULT);
  TS_CHECK(v->tunnel_address_count == 1 && addr_is(&v->tunnel_addresses[0], "10.64.0.2", 32));
  TS_CHECK(v->included_route_count == 2 && addr_is(&v->included_routes[1], "::", 0));
  TS_CHECK_INT(v->excluded_route_count, ==, 0);
  TS_CHECK(v->dns_count == 1 && ip_is(&v->dns[0], "10.64.0.1"));
  TS_CHECK(v->error_state == TS_SCENARIO_ERROR_WITH_ROUTES && v->on_loss == TS_SCENARIO_LOSS_IGNORE);
  TS_CHECK(v->completion == TS_SCENARIO_COMPLETE_AFTER_SETTINGS && v->settings_delay == 0);
  TS_CHECK_INT(v->persistent_keepalive, ==, 0);
  const ts_scenario_monitor *m = &v->monitor;
  TS_CHECK(m->configured && m->path == TS_SCENARIO_MONITOR_BSD_UTUN && ip_is(&m->target, "10.64.0.1"));
  TS_CHECK(m->size == 16 && m->check_interval == TS_SEC && m->ping_delay == 3 * TS_SEC);
  TS_CHECK(m->establish_timeout == 4 * TS_SEC && m->establish_timeout_multiplier == 2);
  TS_CHECK(m->ping_timeout == 15 * TS_SEC && m->heartbeat_interval == 10 * TS_SEC);
  TS_CHECK_INT(m->heartbeat_reply_timeout, ==, 3 * TS_SEC);
  const ts_scenario_phone_app *a = ph->apps;
  for (size_t i = 0; i < 4; i++) {
    TS_CHECK(a[i].traffic_class == 0 && a[i].api == TS_SCENARIO_API_BSD);
    TS_CHECK(a[i].scope == TS_SCENARIO_SCOPE_NONE && a[i].start == 0 && a[i].interval == TS_SEC);
    TS_CHECK(a[i].count == 1 && !a[i].long_lived);
  }
  TS_CHECK(a[0].port == 0 && a[0].size == 56 && a[1].port == 7 && a[1].size == 56);
  TS_CHECK(a[2].port == 0 && a[2].size == 0 && a[3].port == 80 && a[3].size == 56);
  TS_CHECK(s->timeline[0].cause == TS_SCENARIO_START_USER);
  TS_CHECK(s->timeline[1].reason == TS_SCENARIO_STOP_USER);
  TS_CHECK(s->timeline[2].duration == 0 && s->timeline[3].reconnect);
  ts_scenario_free(s);
  /* A scenario without a phone has none. */
  s = load_text(two_nodes, NULL);
  TS_CHECK(s != NULL && !s->has_phone && s->relay_count == 0 && s->dns_server_count == 0);
  ts_scenario_free(s);
}

/* Every shipped ground-truth scenario (models/scenarios/gt, the goldens' input)
 * loads and round-trips. */
TS_TEST(shipped_ground_truth_scenarios_load) {
  char *names[64];
  size_t n = ts_test_list_files("models/scenarios/gt", ".yaml", names, 64);
  TS_CHECK(n >= 24);
  for (size_t i = 0; i < n; i++) {
    char path[512];
    snprintf(path, sizeof path, "models/scenarios/gt/%s", names[i]);
    ts_scenario *s = NULL;
    ts_diag diag;
    int rc = ts_scenario_load_file(path, &s, &diag);
    if (rc) fprintf(stderr, "  %s:%d:%d: %s\n", diag.file, diag.line, diag.col, diag.message);
    TS_CHECK_INT(rc, ==, 0);
    if (rc) continue;
    bool ok = round_trips(s);
    if (!ok) fprintf(stderr, "  %s does not round-trip\n", path);
    TS_CHECK(ok);
    ts_scenario_free(s);
  }
  ts_test_free_names(names, n);
}

/* The ground-truth scenarios of ios-model.md §7 load and round-trip. */
TS_TEST(ground_truth_scenarios_load) {
  static const char *const gts[] = {
      "gt-01-preexisting-tcp-ian-off", "gt-02-preexisting-tcp-ian-on",
      "gt-03-wifi-to-cellular-ian-on", "gt-04-wifi-to-cellular-ian-off",
      "gt-09-provider-icmp-ian-on",    "gt-11-nwconnection-virtual-ian-on",
      "gt-20-error-state-without-routes", "gt-27-toggle-ian-hard-reconnect",
  };
  for (size_t i = 0; i < sizeof gts / sizeof *gts; i++) {
    char path[256];
    snprintf(path, sizeof path, VALID_DIR "gt/%s.yaml", gts[i]);
    ts_scenario *s = NULL;
    ts_diag diag;
    int rc = ts_scenario_load_file(path, &s, &diag);
    if (rc) fprintf(stderr, "  %s:%d:%d: %s\n", diag.file, diag.line, diag.col, diag.message);
    TS_CHECK_INT(rc, ==, 0);
    TS_CHECK(s->has_phone && s->phone.vpn.configured);
    bool ok = round_trips(s);
    if (!ok) fprintf(stderr, "  %s does not round-trip\n", path);
    TS_CHECK(ok);
    ts_scenario_free(s);
  }
}

/* The short GT-20 example of the reference loads. */
TS_TEST(the_documented_phone_example_loads) {
  size_t len;
  char *doc = read_file("docs/scenario-reference.md", &len);
  TS_CHECK(doc != NULL);
  char *text = realloc(doc, len + 1);
  TS_CHECK(text != NULL);
  text[len] = '\0';
  char *start = strstr(text, "```\nversion: 1\nname: gt-20-short");
  char *end = start ? strstr(start + 4, "\n```") : NULL;
  ts_scenario *s = NULL;
  ts_diag diag = {0};
  if (start && end) ts_scenario_load_buffer("gt-20-short", start + 4, (size_t)(end - start) - 3, &s, &diag);
  free(text);
  if (!s) fprintf(stderr, "  %s:%d:%d: %s\n", diag.file, diag.line, diag.col, diag.message);
  TS_CHECK(s != NULL);
  TS_CHECK(s->phone.vpn.error_state == TS_SCENARIO_ERROR_WITHOUT_ROUTES);
  TS_CHECK(s->timeline[0].action == TS_ACTION_VPN_ERROR);
  ts_scenario_free(s);
}

TS_TEST(names_of_the_new_vocabularies) {
  TS_CHECK_STR(ts_scenario_flag_name(TS_SCENARIO_FLAG_INCLUDE_ALL_NETWORKS), "include-all-networks");
  TS_CHECK_STR(ts_scenario_flag_apple_name(TS_SCENARIO_FLAG_EXCLUDE_APNS), "excludeAPNs");
  TS_CHECK(ts_scenario_flag_name(TS_SCENARIO_FLAG_COUNT) == NULL);
  TS_CHECK_STR(ts_scenario_traffic_class_name(0), "app");
  TS_CHECK_STR(ts_scenario_traffic_class_name(9), "appstore-downloader");
  TS_CHECK(ts_scenario_traffic_class_name(TS_SCENARIO_TRAFFIC_CLASS_COUNT) == NULL);
  TS_CHECK_STR(ts_scenario_monitor_path_name(TS_SCENARIO_MONITOR_NWCONNECTION_VIRTUAL), "nwconnection-virtual");
  TS_CHECK_STR(ts_scenario_action_name(TS_ACTION_SET_FLAG), "set-flag");
  TS_CHECK_STR(ts_scenario_stop_reason_apple_name(TS_SCENARIO_STOP_APP_UPDATE), "appUpdate");
  TS_CHECK_STR(ts_scenario_phone_app_type_name(TS_SCENARIO_PHONE_DNS), "dns");
  TS_CHECK(ts_scenario_scope_name(-1) == NULL);
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
