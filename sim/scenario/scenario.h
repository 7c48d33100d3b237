/* Scenario loader: reads a scenario YAML file (schema v1, see
 * docs/scenario-reference.md), validates it completely and returns plain structs.
 *
 * Every mistake in a file is reported once, as the first error found, with a
 * position: "file:line:col: <what was found>, expected <what was expected>".
 * After a successful load every reference is resolved to an index and every value
 * is in range, so consumers never validate again.
 *
 * Ownership: the scenario owns every array and string hanging off it; free it with
 * ts_scenario_free(). Nothing is global: loads are independent and reentrant. */
#ifndef TS_SCENARIO_H
#define TS_SCENARIO_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "ts_error.h"
#include "ts_ipsum.h"
#include "ts_time.h"

#define TS_SCENARIO_VERSION 1
/* Longest name of anything (scenario, node, interface, link, app) including its NUL. */
#define TS_SCENARIO_NAME_MAX 64
/* Bigger inputs are refused before parsing: scenarios are hand-written files. */
#define TS_SCENARIO_MAX_BYTES ((size_t)16 << 20)
/* Index value meaning "none", e.g. an interface that is on no link. */
#define TS_SCENARIO_NONE SIZE_MAX

/* Where a mistake is. line and col are 1-based; both are 0 when the error has no
 * position (the file could not be read). */
typedef struct ts_diag {
  char file[256];
  int line;
  int col;
  char message[512];
} ts_diag;

/* Where an element was defined in the file, for errors found later (e.g. by the
 * world builder). 1-based. */
typedef struct ts_srcpos {
  int line;
  int col;
} ts_srcpos;


typedef struct ts_scenario_iface {
  char name[TS_SCENARIO_NAME_MAX];
  ts_ipprefix *addresses; /* at least one, with prefix lengths as written */
  size_t address_count;
  size_t link;          /* index into ts_scenario.links, or TS_SCENARIO_NONE */
  ts_srcpos pos;
} ts_scenario_iface;

typedef struct ts_scenario_node {
  char name[TS_SCENARIO_NAME_MAX];
  ts_scenario_iface *interfaces;
  size_t interface_count;
  ts_srcpos pos;
} ts_scenario_node;

typedef struct ts_scenario_endpoint {
  size_t node;   /* index into ts_scenario.nodes */
  size_t iface;  /* index into that node's interfaces */
} ts_scenario_endpoint;

typedef struct ts_scenario_link {
  char name[TS_SCENARIO_NAME_MAX];
  ts_scenario_endpoint endpoints[2];
  ts_time delay;         /* one-way, 0..1h */
  ts_time jitter;        /* 0..delay */
  double loss;           /* probability 0..1 */
  uint64_t rate_bps;     /* bits per second; 0 = unlimited */
  uint32_t mtu;          /* 68..65535 */
  uint32_t queue_packets;/* 1..1000000 */
  bool up;               /* state at time 0 */
  ts_srcpos pos;
} ts_scenario_link;

typedef enum ts_app_type {
  TS_APP_PING = 0,
  TS_APP_UDP_ECHO_SERVER,
  TS_APP_UDP_ECHO_CLIENT,
  TS_APP_TYPE_COUNT
} ts_app_type;

typedef struct ts_scenario_app {
  char name[TS_SCENARIO_NAME_MAX];
  ts_app_type type;
  size_t node;        /* index into ts_scenario.nodes */
  bool has_target;    /* true for ping and udp-echo-client */
  ts_ipprefix target; /* plain address (len 32 or 128) */
  uint16_t port;      /* udp-echo-*: 1..65535, default 7; 0 for ping */
  ts_time start;      /* default 0 */
  ts_time interval;   /* > 0, default 1s (ping, udp-echo-client) */
  uint32_t count;     /* 1..1000000, default 1 (ping, udp-echo-client) */
  uint32_t size;      /* payload bytes 0..65000, default 56 (ping, udp-echo-client) */
  ts_srcpos pos;
} ts_scenario_app;

typedef enum ts_timeline_action {
  TS_ACTION_LINK_DOWN = 0,
  TS_ACTION_LINK_UP,
  TS_ACTION_COUNT
} ts_timeline_action;

typedef struct ts_timeline_event {
  ts_time at;
  ts_timeline_action action;
  size_t link;        /* index into ts_scenario.links (link-down, link-up) */
  ts_srcpos pos;
} ts_timeline_event;

typedef struct ts_scenario {
  int version;                     /* always TS_SCENARIO_VERSION */
  char name[TS_SCENARIO_NAME_MAX];
  char *description;               /* NULL when absent */
  bool has_seed;
  uint64_t seed;                   /* default seed for runs */
  bool has_duration;
  ts_time duration;                /* default --until, > 0 */
  ts_scenario_node *nodes;         /* at least one */
  size_t node_count;
  ts_scenario_link *links;
  size_t link_count;
  ts_scenario_app *apps;
  size_t app_count;
  ts_timeline_event *timeline;     /* in file order */
  size_t timeline_count;
  char source[256];                /* file name as given to the loader */
} ts_scenario;

/* Loads and validates. Returns 0, TS_EPARSE (bad content), TS_EIO (file cannot be
 * read) or TS_ENOMEM. On error *out is NULL and diag (if not NULL) says why. */
int ts_scenario_load_file(const char *path, ts_scenario **out, ts_diag *diag);
/* Same for a buffer in memory; name is used in messages (NULL gives "<buffer>").
 * The buffer needs no terminating NUL and may hold anything. */
int ts_scenario_load_buffer(const char *name, const void *buf, size_t len, ts_scenario **out,
                            ts_diag *diag);
void ts_scenario_free(ts_scenario *s);

/* "file:line:col: message" (or "file: message" without a position). Returns what
 * snprintf returns. */
int ts_diag_format(const ts_diag *d, char *buf, size_t n);

/* Writes the scenario as canonical schema-v1 YAML with every value explicit.
 * Loading the output gives an equal scenario. Returns 0 or TS_EIO. */
int ts_scenario_write(const ts_scenario *s, FILE *f);

/* Lookups by name; TS_SCENARIO_NONE when absent. Linear: for tools, not hot paths. */
size_t ts_scenario_find_node(const ts_scenario *s, const char *name);
size_t ts_scenario_find_link(const ts_scenario *s, const char *name);
size_t ts_scenario_find_app(const ts_scenario *s, const char *name);

/* Names as written in files ("ping", "link-down"); NULL when out of range. */
const char *ts_scenario_app_type_name(int type);
const char *ts_scenario_action_name(int action);

/* Parses a duration such as "250us", "1.5s" or "2m" (units ns, us, ms, s, m, h) exactly
 * to nanoseconds: for command-line options that take durations. Returns 0,
 * TS_EPARSE (not a duration; bare numbers have no unit and are refused) or TS_ERANGE
 * (does not fit, or finer than 1ns). */
int ts_parse_duration(const char *text, ts_time *out);
/* Shortest exact form: 1500000000 -> "1500ms", 0 -> "0s". Returns snprintf's result. */
int ts_format_duration(ts_time t, char *buf, size_t n);

#endif
