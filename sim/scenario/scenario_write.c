/* Everything that turns a loaded scenario back into text, plus freeing and lookups.
 * The writer emits canonical YAML: fixed key order, every value explicit, strings
 * double-quoted, numbers in their shortest exact form. Loading its output gives an
 * equal scenario, and writing that again gives the same bytes (the tests and the
 * fuzz target check both). */
#include <stdlib.h>
#include <string.h>

#include "scenario.h"
#include "scenario_values.h"

int ts_diag_format(const ts_diag *d, char *buf, size_t n) {
  if (!d) return snprintf(buf, n, "(no diagnostic)");
  if (d->line > 0) return snprintf(buf, n, "%s:%d:%d: %s", d->file, d->line, d->col, d->message);
  return snprintf(buf, n, "%s: %s", d->file, d->message);
}

void ts_scenario_free(ts_scenario *s) {
  if (!s) return;
  for (size_t i = 0; i < s->node_count; i++) {
    ts_scenario_node *node = &s->nodes[i];
    for (size_t j = 0; j < node->interface_count; j++) free(node->interfaces[j].addresses);
    free(node->interfaces);
  }
  free(s->nodes);
  free(s->links);
  free(s->apps);
  free(s->timeline);
  free(s->description);
  free(s);
}

size_t ts_scenario_find_node(const ts_scenario *s, const char *name) {
  for (size_t i = 0; s && name && i < s->node_count; i++) {
    if (strcmp(s->nodes[i].name, name) == 0) return i;
  }
  return TS_SCENARIO_NONE;
}

size_t ts_scenario_find_link(const ts_scenario *s, const char *name) {
  for (size_t i = 0; s && name && i < s->link_count; i++) {
    if (strcmp(s->links[i].name, name) == 0) return i;
  }
  return TS_SCENARIO_NONE;
}

size_t ts_scenario_find_app(const ts_scenario *s, const char *name) {
  for (size_t i = 0; s && name && i < s->app_count; i++) {
    if (strcmp(s->apps[i].name, name) == 0) return i;
  }
  return TS_SCENARIO_NONE;
}

/* A YAML double-quoted string. Control characters, and the Unicode characters
 * that YAML 1.1 readers take as line breaks, are escaped so the value survives. */
static void write_quoted(FILE *f, const char *s) {
  fputc('"', f);
  for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
    if (*p == '"' || *p == '\\') {
      fprintf(f, "\\%c", *p);
    } else if (*p == '\n' || *p == '\t' || *p == '\r') {
      fprintf(f, "\\%c", *p == '\n' ? 'n' : *p == '\t' ? 't' : 'r');
    } else if (*p < 0x20 || *p == 0x7f) {
      fprintf(f, "\\x%02x", *p);
    } else if (p[0] == 0xc2 && p[1] == 0x85) {
      fputs("\\N", f); /* U+0085 next line */
      p++;
    } else if (p[0] == 0xe2 && p[1] == 0x80 && (p[2] == 0xa8 || p[2] == 0xa9)) {
      fputs(p[2] == 0xa8 ? "\\L" : "\\P", f); /* U+2028, U+2029 */
      p += 2;
    } else if (p[0] == 0xef && p[1] == 0xbb && p[2] == 0xbf) {
      fputs("\\uFEFF", f); /* a byte order mark would be dropped by readers */
      p += 2;
    } else {
      fputc(*p, f);
    }
  }
  fputc('"', f);
}

static void write_duration(FILE *f, const char *indent, const char *key, ts_time t) {
  char buf[40];
  ts_format_duration(t, buf, sizeof buf);
  fprintf(f, "%s%s: %s\n", indent, key, buf);
}

static void write_address(FILE *f, const ts_ipprefix *a, bool with_prefix) {
  char buf[64];
  if (ts_ipprefix_format(a, with_prefix, buf, sizeof buf) < 0) buf[0] = '\0';
  fprintf(f, "\"%s\"", buf);
}

static void write_nodes(FILE *f, const ts_scenario *s) {
  fputs("nodes:\n", f);
  for (size_t i = 0; i < s->node_count; i++) {
    const ts_scenario_node *node = &s->nodes[i];
    fputs("  - name: ", f);
    write_quoted(f, node->name);
    fputs(node->interface_count ? "\n    interfaces:\n" : "\n    interfaces: []\n", f);
    for (size_t j = 0; j < node->interface_count; j++) {
      const ts_scenario_iface *iface = &node->interfaces[j];
      fputs("      - name: ", f);
      write_quoted(f, iface->name);
      fputs("\n        addresses: [", f);
      for (size_t k = 0; k < iface->address_count; k++) {
        if (k) fputs(", ", f);
        write_address(f, &iface->addresses[k], true);
      }
      fputs("]\n", f);
    }
  }
}

static void write_endpoint(FILE *f, const ts_scenario *s, const ts_scenario_endpoint *ep) {
  const ts_scenario_node *node = &s->nodes[ep->node];
  fprintf(f, "\"%s/%s\"", node->name, node->interfaces[ep->iface].name);
}

static void write_links(FILE *f, const ts_scenario *s) {
  fputs(s->link_count ? "links:\n" : "links: []\n", f);
  for (size_t i = 0; i < s->link_count; i++) {
    const ts_scenario_link *link = &s->links[i];
    char buf[64];
    fputs("  - name: ", f);
    write_quoted(f, link->name);
    fputs("\n    endpoints: [", f);
    write_endpoint(f, s, &link->endpoints[0]);
    fputs(", ", f);
    write_endpoint(f, s, &link->endpoints[1]);
    fputs("]\n", f);
    write_duration(f, "    ", "delay", link->delay);
    write_duration(f, "    ", "jitter", link->jitter);
    tsv_format_probability(link->loss, buf, sizeof buf);
    fprintf(f, "    loss: %s\n", buf);
    tsv_format_rate(link->rate_bps, buf, sizeof buf);
    fprintf(f, "    rate: %s\n", buf);
    fprintf(f, "    mtu: %u\n    queue: %u\n    up: %s\n", (unsigned)link->mtu,
            (unsigned)link->queue_packets, link->up ? "true" : "false");
  }
}

static void write_apps(FILE *f, const ts_scenario *s) {
  fputs(s->app_count ? "apps:\n" : "apps: []\n", f);
  for (size_t i = 0; i < s->app_count; i++) {
    const ts_scenario_app *app = &s->apps[i];
    bool sends = app->type != TS_APP_UDP_ECHO_SERVER;
    fputs("  - name: ", f);
    write_quoted(f, app->name);
    const char *type = ts_scenario_app_type_name(app->type);
    fprintf(f, "\n    type: %s\n    node: ", type ? type : "?");
    write_quoted(f, s->nodes[app->node].name);
    fputc('\n', f);
    if (app->has_target) {
      fputs("    target: ", f);
      write_address(f, &app->target, false);
      fputc('\n', f);
    }
    if (app->type != TS_APP_PING) fprintf(f, "    port: %u\n", (unsigned)app->port);
    write_duration(f, "    ", "start", app->start);
    if (sends) {
      write_duration(f, "    ", "interval", app->interval);
      fprintf(f, "    count: %u\n    size: %u\n", (unsigned)app->count, (unsigned)app->size);
    }
  }
}

static void write_timeline(FILE *f, const ts_scenario *s) {
  fputs(s->timeline_count ? "timeline:\n" : "timeline: []\n", f);
  for (size_t i = 0; i < s->timeline_count; i++) {
    const ts_timeline_event *ev = &s->timeline[i];
    write_duration(f, "  - ", "at", ev->at);
    const char *action = ts_scenario_action_name(ev->action);
    fprintf(f, "    action: %s\n", action ? action : "?");
    if (ev->link != TS_SCENARIO_NONE) {
      fputs("    link: ", f);
      write_quoted(f, s->links[ev->link].name);
      fputc('\n', f);
    }
  }
}

int ts_scenario_write(const ts_scenario *s, FILE *f) {
  if (!s || !f) return TS_EINVAL;
  fprintf(f, "version: %d\nname: ", s->version);
  write_quoted(f, s->name);
  fputc('\n', f);
  if (s->description) {
    fputs("description: ", f);
    write_quoted(f, s->description);
    fputc('\n', f);
  }
  if (s->has_seed) fprintf(f, "seed: %llu\n", (unsigned long long)s->seed);
  if (s->has_duration) write_duration(f, "", "duration", s->duration);
  write_nodes(f, s);
  write_links(f, s);
  write_apps(f, s);
  write_timeline(f, s);
  return ferror(f) ? TS_EIO : 0;
}
