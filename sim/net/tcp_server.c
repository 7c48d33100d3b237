/* ts_tcp_server: request/response and echo servers on ts_tcp_host (ts_tcp_server.h). */
#include "ts_tcp_server.h"

#include <stdlib.h>
#include <string.h>

#define CHUNK 4096 /* content is generated and queued this many bytes at a time */

struct slot {
  bool used;
  ts_tcp *c;
  char line[TS_TCP_SERVER_LINE_MAX];
  uint32_t line_len;
  bool answering;        /* request parsed; response being queued */
  uint64_t offset, size; /* response bytes queued so far, and in all */
};

struct ts_tcp_server {
  ts_tcp_server_config cfg;
  ts_tcp_host *host;
  struct slot *slots;
  ts_tcp_server_stats stats;
  uint8_t chunk[CHUNK];
};

uint8_t ts_tcp_content_byte(uint64_t offset) {
  /* A multiplicative hash of the offset: a shifted, duplicated or missing byte run
   * shows up at once (a short-period pattern would hide shifts by its period). */
  return (uint8_t)((offset * 0x9E3779B97F4A7C15ull) >> 56);
}

void ts_tcp_content_fill(uint8_t *buf, uint64_t offset, size_t n) {
  for (size_t i = 0; i < n; i++) buf[i] = ts_tcp_content_byte(offset + i);
}

/* Queues as much of the response as the send buffer takes; closes after the last. */
static void pump(ts_tcp_server *s, struct slot *sl) {
  while (sl->offset < sl->size) {
    uint32_t room = ts_tcp_send_space(sl->c);
    uint64_t left = sl->size - sl->offset;
    size_t n = (size_t)(left < CHUNK ? left : CHUNK);
    if (room < n) n = room;
    if (n == 0) return; /* on_writable brings us back */
    ts_tcp_content_fill(s->chunk, sl->offset, n);
    int64_t took = ts_tcp_write(sl->c, s->chunk, n);
    if (took <= 0) return;
    sl->offset += (uint64_t)took;
    s->stats.bytes_sent += (uint64_t)took;
  }
  s->stats.responses_done++;
  sl->answering = false;
  ts_tcp_close(sl->c);
}

/* "GET <n>": the response size, or -1 when the line is not a request. */
static int64_t parse_request(const char *line, uint32_t len, uint64_t max) {
  if (len < 5 || memcmp(line, "GET ", 4) != 0) return -1;
  uint64_t n = 0;
  for (uint32_t i = 4; i < len; i++) {
    if (line[i] == '\r' && i == len - 1) break;
    if (line[i] < '0' || line[i] > '9') return -1;
    n = n * 10 + (uint64_t)(line[i] - '0');
    if (n > max) return -1;
  }
  return (int64_t)n;
}

static void request_bytes(ts_tcp_server *s, struct slot *sl, const uint8_t *data, size_t len) {
  if (sl->answering || sl->size) return; /* one request per connection */
  for (size_t i = 0; i < len; i++) {
    if (data[i] != '\n') {
      if (sl->line_len == TS_TCP_SERVER_LINE_MAX) break;
      sl->line[sl->line_len++] = (char)data[i];
      continue;
    }
    int64_t n = parse_request(sl->line, sl->line_len, s->cfg.max_response);
    if (n < 0) break;
    s->stats.requests++;
    sl->answering = true;
    sl->size = (uint64_t)n;
    pump(s, sl);
    return;
  }
  if (sl->line_len == TS_TCP_SERVER_LINE_MAX || memchr(data, '\n', len)) {
    s->stats.bad_requests++;
    ts_tcp_abort(sl->c);
  }
}

static void echo_bytes(ts_tcp_server *s, struct slot *sl, const uint8_t *data, size_t len) {
  int64_t took = ts_tcp_write(sl->c, data, len);
  if (took < 0) took = 0;
  s->stats.bytes_sent += (uint64_t)took;
  s->stats.echo_dropped += len - (uint64_t)took;
}

static void on_data(void *ctx, ts_tcp *c, const uint8_t *data, size_t len) {
  ts_tcp_server *s = ctx;
  struct slot *sl = ts_tcp_user(c);
  if (len == 0) { /* the client finished: finish too, unless a response is still going */
    if (!sl->answering) ts_tcp_close(c);
    return;
  }
  s->stats.bytes_received += len;
  if (s->cfg.mode == TS_TCP_SERVER_ECHO) echo_bytes(s, sl, data, len);
  else request_bytes(s, sl, data, len);
}

static void on_writable(void *ctx, ts_tcp *c) {
  struct slot *sl = ts_tcp_user(c);
  if (sl->answering) pump(ctx, sl);
}

static void on_closed(void *ctx, ts_tcp *c, ts_tcp_reason why) {
  ts_tcp_server *s = ctx;
  struct slot *sl = ts_tcp_user(c);
  s->stats.closed[why]++;
  s->stats.retransmissions += ts_tcp_get_stats(c)->retransmissions;
  memset(sl, 0, sizeof *sl);
}

static bool on_accept(void *ctx, ts_tcp *c) {
  ts_tcp_server *s = ctx;
  for (uint32_t i = 0; i < s->cfg.max_connections; i++) {
    struct slot *sl = &s->slots[i];
    if (sl->used) continue;
    memset(sl, 0, sizeof *sl);
    sl->used = true;
    sl->c = c;
    ts_tcp_set_user(c, sl);
    s->stats.accepted++;
    return true;
  }
  s->stats.refused++;
  return false;
}

static void server_release(void *obj) {
  ts_tcp_server *s = obj;
  free(s->slots);
  free(s);
}

int ts_tcp_server_create(ts_tcp_host *t, const ts_tcp_server_config *cfg, ts_tcp_server **out) {
  if (!t || !cfg || !out || cfg->port == 0) return TS_EINVAL;
  ts_tcp_server *s = calloc(1, sizeof *s);
  if (!s) return TS_ENOMEM;
  s->cfg = *cfg;
  if (!s->cfg.max_connections) s->cfg.max_connections = TS_TCP_SERVER_MAX_CONNECTIONS;
  if (!s->cfg.max_response) s->cfg.max_response = TS_TCP_SERVER_MAX_RESPONSE;
  s->host = t;
  s->slots = calloc(s->cfg.max_connections, sizeof *s->slots);
  ts_world *w = ts_host_world(ts_tcp_host_host(t));
  if (!s->slots || ts_world_attach(w, s, server_release) != TS_OK) {
    free(s->slots);
    free(s);
    return TS_ENOMEM;
  }
  ts_tcp_config k = cfg->tcp;
  k.on_connected = NULL;
  k.on_data = on_data;
  k.on_writable = on_writable;
  k.on_closed = on_closed;
  k.ctx = s;
  int rc = ts_tcp_host_listen(t, cfg->port, &k, on_accept, s);
  if (rc != TS_OK) return rc; /* s stays attached and is released with the world */
  *out = s;
  return TS_OK;
}

void ts_tcp_server_get_stats(const ts_tcp_server *s, ts_tcp_server_stats *out) { *out = s->stats; }
