/* Bulk sender and verifying sink over ts_netstack (ts_netstack_bulk.h). */
#include <string.h>

#include "ts_netstack_bulk.h"

#define CHUNK 4096

static void finish(ts_netstack_bulk *b) {
  b->finished = true;
  ts_world *w = ts_netstack_world(b->ns);
  b->finished_at = ts_world_now(w);
  if (b->stop_world_when_done) ts_world_stop(w);
}

/* ---- sender ---- */

static void pump(ts_netstack_bulk *b) {
  uint8_t buf[CHUNK];
  while (b->conn && b->sent < b->total) {
    uint64_t left = b->total - b->sent;
    uint32_t n = ts_netstack_tcp_sendable(b->conn);
    if (n > CHUNK) n = CHUNK;
    if (n > left) n = (uint32_t)left;
    if (n == 0) return;
    for (uint32_t i = 0; i < n; i++) buf[i] = ts_netstack_bulk_byte(b->sent + i);
    int rc = ts_netstack_tcp_write(b->conn, buf, n);
    if (rc <= 0) return;
    b->sent += (uint64_t)rc;
  }
  if (b->conn && b->sent == b->total) {
    ts_netstack_tcp_close(b->conn);
    b->conn = NULL;
    finish(b);
  }
}

static void sender_connected(void *ctx, ts_netstack_tcp *c) {
  ts_netstack_bulk *b = ctx;
  b->connected = true;
  b->connected_at = ts_world_now(ts_netstack_world(b->ns));
  pump(b);
}

static void sender_sent(void *ctx, ts_netstack_tcp *c, uint32_t acked) { pump(ctx); }

static void any_closed(void *ctx, ts_netstack_tcp *c, int reason) {
  ts_netstack_bulk *b = ctx;
  b->closed_reason = reason;
  b->conn = NULL;
}

/* The sink's FIN before all was sent: keep sending (a half-close); a sink that is
 * really gone answers with RST, which ends the connection through `closed`. */
static void sender_eof(void *ctx, ts_netstack_tcp *c) {}

static const ts_netstack_tcp_callbacks sender_cb = {
    .connected = sender_connected,
    .eof = sender_eof,
    .sent = sender_sent,
    .closed = any_closed,
};

int ts_netstack_bulk_connect(ts_netstack_bulk *b, ts_netstack *ns, const ts_ipaddr *dst, uint16_t port) {
  b->ns = ns;
  return ts_netstack_tcp_connect(ns, dst, port, &sender_cb, b, &b->conn);
}

/* ---- sink ---- */

static void sink_data(void *ctx, ts_netstack_tcp *c, const uint8_t *data, uint32_t len) {
  ts_netstack_bulk *b = ctx;
  for (uint32_t i = 0; i < len; i++)
    if (data[i] != ts_netstack_bulk_byte(b->received + i)) b->mismatches++;
  b->received += len;
}

static void sink_eof(void *ctx, ts_netstack_tcp *c) {
  ts_netstack_bulk *b = ctx;
  ts_netstack_tcp_close(c);
  b->conn = NULL;
  finish(b);
}

static const ts_netstack_tcp_callbacks sink_cb = {
    .data = sink_data,
    .eof = sink_eof,
    .closed = any_closed,
};

static bool sink_accept(void *ctx, ts_netstack_listener *l, ts_netstack_tcp *c) {
  ts_netstack_bulk *b = ctx;
  if (b->connected) return false;
  b->connected = true;
  b->connected_at = ts_world_now(ts_netstack_world(b->ns));
  b->conn = c;
  ts_netstack_tcp_set_callbacks(c, &sink_cb, b);
  return true;
}

int ts_netstack_bulk_listen(ts_netstack_bulk *b, ts_netstack *ns, uint16_t port) {
  b->ns = ns;
  return ts_netstack_tcp_listen(ns, port, sink_accept, b, &b->listener);
}
