#include "ts_trace.h"

#include <blake2.h>
#include <stdbool.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ts_error.h"
#include "ts_ipsum.h"
#include "ts_pcapng.h"

#define MAX_INTERFACES 4096
#define NAME_MAX_LEN 64

struct ts_trace {
  blake2b_state hash;
  uint64_t records;
  ts_pcapng *pcap;
  FILE *jsonl;
  int sink_error;
  uint32_t interface_count;
  char (*names)[NAME_MAX_LEN];
  uint32_t names_cap;
  ts_trace_event_fn on_event;
  void *on_event_ctx;
};

enum record_kind { REC_INTERFACE = 1, REC_PACKET, REC_EVENT, REC_KEYLOG, REC_PACKET_AGAIN };

int ts_trace_create(ts_trace **out) {
  ts_trace *t = calloc(1, sizeof *t);
  if (!t) return TS_ENOMEM;
  blake2b_init(&t->hash, TS_TRACE_HASH_LEN);
  *out = t;
  return TS_OK;
}

int ts_trace_close_sinks(ts_trace *t) {
  int rc = t->sink_error;
  if (t->pcap) {
    int prc = ts_pcapng_close(t->pcap);
    if (!rc) rc = prc;
    t->pcap = NULL;
  }
  if (t->jsonl) {
    if (fclose(t->jsonl) != 0 && !rc) rc = TS_EIO;
    t->jsonl = NULL;
  }
  t->sink_error = 0;
  return rc;
}

void ts_trace_destroy(ts_trace *t) {
  if (!t) return;
  ts_trace_close_sinks(t);
  free(t->names);
  free(t);
}

void ts_trace_reset(ts_trace *t) {
  ts_trace_close_sinks(t);
  blake2b_init(&t->hash, TS_TRACE_HASH_LEN);
  t->records = 0;
  t->interface_count = 0;
  t->on_event = NULL;
  t->on_event_ctx = NULL;
}

int ts_trace_open_pcapng(ts_trace *t, const char *path) {
  if (t->pcap || t->interface_count) return TS_ESTATE; /* open before interfaces exist */
  return ts_pcapng_open(&t->pcap, path);
}

int ts_trace_open_jsonl(ts_trace *t, const char *path) {
  if (t->jsonl) return TS_ESTATE;
  t->jsonl = fopen(path, "w");
  return t->jsonl ? TS_OK : TS_EIO;
}

static void hash_u64(ts_trace *t, uint64_t v) { blake2b_update(&t->hash, (const uint8_t *)&v, sizeof v); }

static void hash_str(ts_trace *t, const char *s) {
  size_t n = s ? strlen(s) : 0;
  hash_u64(t, n);
  if (n) blake2b_update(&t->hash, (const uint8_t *)s, n);
}

static void note_sink(ts_trace *t, int rc) {
  if (rc && !t->sink_error) t->sink_error = rc;
}

/* JSON string with the escapes RFC 8259 requires. */
static void json_string(FILE *f, const char *s) {
  fputc('"', f);
  for (const unsigned char *p = (const unsigned char *)s; p && *p; p++) {
    if (*p == '"' || *p == '\\') fprintf(f, "\\%c", *p);
    else if (*p < 0x20) fprintf(f, "\\u%04x", *p);
    else fputc(*p, f);
  }
  fputc('"', f);
}

int ts_trace_add_interface(ts_trace *t, const char *name, uint32_t *id) {
  if (t->interface_count == MAX_INTERFACES) return TS_EFULL;
  if (strlen(name) >= NAME_MAX_LEN) return TS_EINVAL;
  if (t->interface_count == t->names_cap) {
    uint32_t ncap = t->names_cap ? t->names_cap * 2 : 16;
    void *nn = realloc(t->names, (size_t)ncap * NAME_MAX_LEN);
    if (!nn) return TS_ENOMEM;
    t->names = nn;
    t->names_cap = ncap;
  }
  snprintf(t->names[t->interface_count], NAME_MAX_LEN, "%s", name);
  *id = t->interface_count++;
  hash_u64(t, REC_INTERFACE);
  hash_str(t, name);
  if (t->pcap) {
    uint32_t pid;
    note_sink(t, ts_pcapng_add_interface(t->pcap, name, &pid));
  }
  return TS_OK;
}

const char *ts_trace_interface_name(const ts_trace *t, uint32_t id) {
  return id < t->interface_count ? t->names[id] : "?";
}

static const char *dir_name(enum ts_trace_dir d) {
  switch (d) {
  case TS_TRACE_TX: return "tx";
  case TS_TRACE_RX: return "rx";
  default: return "drop";
  }
}

static void record_packet(ts_trace *t, ts_time now, uint32_t iface, enum ts_trace_dir dir,
                          const char *why, const uint8_t *data, uint32_t len, bool hash_bytes) {
  t->records++;
  hash_u64(t, hash_bytes ? REC_PACKET : REC_PACKET_AGAIN);
  hash_u64(t, (uint64_t)now);
  hash_u64(t, iface);
  hash_u64(t, dir);
  hash_str(t, why);
  hash_u64(t, len);
  if (hash_bytes) blake2b_update(&t->hash, data, len);
  if (t->pcap && dir != TS_TRACE_DROP)
    note_sink(t, ts_pcapng_write_packet(t->pcap, iface, now,
                                        dir == TS_TRACE_TX ? TS_PCAPNG_DIR_OUT : TS_PCAPNG_DIR_IN,
                                        data, len));
  if (t->jsonl) {
    char summary[160];
    ts_ipsum_describe(data, len, summary, sizeof summary);
    fprintf(t->jsonl, "{\"t\":%" PRId64 ",\"ev\":\"%s\",\"if\":", now, dir_name(dir));
    json_string(t->jsonl, ts_trace_interface_name(t, iface));
    fprintf(t->jsonl, ",\"len\":%" PRIu32 ",\"pkt\":", len);
    json_string(t->jsonl, summary);
    if (why) {
      fputs(",\"why\":", t->jsonl);
      json_string(t->jsonl, why);
    }
    fputs("}\n", t->jsonl);
  }
}

void ts_trace_packet(ts_trace *t, ts_time now, uint32_t iface, enum ts_trace_dir dir,
                     const char *why, const uint8_t *data, uint32_t len) {
  record_packet(t, now, iface, dir, why, data, len, true);
}

void ts_trace_packet_again(ts_trace *t, ts_time now, uint32_t iface, enum ts_trace_dir dir,
                           const char *why, const uint8_t *data, uint32_t len) {
  record_packet(t, now, iface, dir, why, data, len, false);
}

void ts_trace_event(ts_trace *t, ts_time now, const char *kind, const char *subject,
                    const char *detail) {
  t->records++;
  hash_u64(t, REC_EVENT);
  hash_u64(t, (uint64_t)now);
  hash_str(t, kind);
  hash_str(t, subject);
  hash_str(t, detail);
  if (t->jsonl) {
    fprintf(t->jsonl, "{\"t\":%" PRId64 ",\"ev\":", now);
    json_string(t->jsonl, kind);
    fputs(",\"subject\":", t->jsonl);
    json_string(t->jsonl, subject);
    if (detail) {
      fputs(",\"detail\":", t->jsonl);
      json_string(t->jsonl, detail);
    }
    fputs("}\n", t->jsonl);
  }
  if (t->on_event) t->on_event(t->on_event_ctx, now, kind, subject, detail);
}

void ts_trace_set_event_listener(ts_trace *t, ts_trace_event_fn fn, void *ctx) {
  t->on_event = fn;
  t->on_event_ctx = fn ? ctx : NULL;
}

void ts_trace_keylog(ts_trace *t, ts_time now, const char *text) {
  size_t n = strlen(text);
  t->records++;
  hash_u64(t, REC_KEYLOG);
  hash_u64(t, (uint64_t)now);
  hash_str(t, text);
  if (t->pcap)
    note_sink(t, ts_pcapng_write_secrets(t->pcap, TS_PCAPNG_SECRETS_WIREGUARD, text, (uint32_t)n));
}

uint64_t ts_trace_records(const ts_trace *t) { return t->records; }

void ts_trace_hash(const ts_trace *t, uint8_t out[TS_TRACE_HASH_LEN]) {
  blake2b_state copy = t->hash;
  blake2b_final(&copy, out, TS_TRACE_HASH_LEN);
}

void ts_trace_hash_hex(const ts_trace *t, char out[TS_TRACE_HASH_HEX]) {
  uint8_t h[TS_TRACE_HASH_LEN];
  ts_trace_hash(t, h);
  for (int i = 0; i < TS_TRACE_HASH_LEN; i++) snprintf(out + 2 * i, 3, "%02x", h[i]);
}
