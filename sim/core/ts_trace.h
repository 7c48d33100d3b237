/* What a run lets the outside see: packets at interfaces, named events, and key-log
 * lines. Every record feeds a BLAKE2b hash (the trace hash that identifies a run);
 * the same records optionally go to a pcapng file and a JSON Lines log. The hash
 * does not depend on which sinks are open. */
#ifndef TS_TRACE_H
#define TS_TRACE_H

#include <stdint.h>

#include "ts_time.h"

#define TS_TRACE_HASH_LEN 32
#define TS_TRACE_HASH_HEX (TS_TRACE_HASH_LEN * 2 + 1)

enum ts_trace_dir {
  TS_TRACE_TX = 1,   /* left the interface */
  TS_TRACE_RX = 2,   /* arrived at the interface */
  TS_TRACE_DROP = 3, /* lost on the way (loss, queue full, link down, MTU) */
};

typedef struct ts_trace ts_trace;

int ts_trace_create(ts_trace **out);
/* Closes sinks that are still open. */
void ts_trace_destroy(ts_trace *t);
/* Back to a fresh state for another run: interfaces forgotten, hash restarted,
 * sinks closed. */
void ts_trace_reset(ts_trace *t);

int ts_trace_open_pcapng(ts_trace *t, const char *path);
int ts_trace_open_jsonl(ts_trace *t, const char *path);
/* Flushes and closes both sinks; returns the first I/O error, if any. */
int ts_trace_close_sinks(ts_trace *t);

int ts_trace_add_interface(ts_trace *t, const char *name, uint32_t *id);
const char *ts_trace_interface_name(const ts_trace *t, uint32_t id);

void ts_trace_packet(ts_trace *t, ts_time now, uint32_t iface, enum ts_trace_dir dir,
                     const char *why, const uint8_t *data, uint32_t len);
/* The same for a packet whose bytes the trace has hashed already, unchanged: the far
 * end of a link receiving or losing what its near end sent. The record is hashed
 * without the bytes (they are written to the sinks as usual), which halves the cost
 * of the trace hash without letting any byte go unhashed. */
void ts_trace_packet_again(ts_trace *t, ts_time now, uint32_t iface, enum ts_trace_dir dir,
                           const char *why, const uint8_t *data, uint32_t len);
/* A named event: kind ("link-down", "app-done", ...), subject (a link, node or app
 * name) and free detail text, which may be NULL. */
void ts_trace_event(ts_trace *t, ts_time now, const char *kind, const char *subject,
                    const char *detail);
void ts_trace_keylog(ts_trace *t, ts_time now, const char *text);

/* An observer of named events (the run's lifecycle oracles read the devices'
 * events this way instead of reaching into them). Called after the event is
 * recorded; must not record events itself. NULL removes it; reset removes it. */
typedef void (*ts_trace_event_fn)(void *ctx, ts_time now, const char *kind, const char *subject,
                                  const char *detail);
void ts_trace_set_event_listener(ts_trace *t, ts_trace_event_fn fn, void *ctx);

uint64_t ts_trace_records(const ts_trace *t);
/* The hash of everything recorded so far (the trace may continue afterwards). */
void ts_trace_hash(const ts_trace *t, uint8_t out[TS_TRACE_HASH_LEN]);
void ts_trace_hash_hex(const ts_trace *t, char out[TS_TRACE_HASH_HEX]);

#endif
