/* A pcapng writer: one section, one interface block per simulated interface
 * (LINKTYPE_RAW, nanosecond resolution, the interface's name), enhanced packet
 * blocks with direction flags, and decryption-secrets blocks (the WireGuard key log,
 * so Wireshark decrypts the tunnel with no options). Format: IETF draft
 * draft-ietf-opsawg-pcapng; WireGuard secrets type 0x57474b4c from Wireshark. */
#ifndef TS_PCAPNG_H
#define TS_PCAPNG_H

#include <stdint.h>
#include <stdio.h>

#define TS_PCAPNG_LINKTYPE_RAW 101
#define TS_PCAPNG_SECRETS_WIREGUARD 0x57474b4cu

enum ts_pcapng_dir { TS_PCAPNG_DIR_NONE = 0, TS_PCAPNG_DIR_IN = 1, TS_PCAPNG_DIR_OUT = 2 };

typedef struct ts_pcapng ts_pcapng;

/* Opens `path` for writing and writes the section header. */
int ts_pcapng_open(ts_pcapng **out, const char *path);
/* Writes to an already open stream (not closed by ts_pcapng_close). */
int ts_pcapng_open_stream(ts_pcapng **out, FILE *f);
/* Declares an interface; ids count from 0 in declaration order. */
int ts_pcapng_add_interface(ts_pcapng *w, const char *name, uint32_t *id);
int ts_pcapng_write_packet(ts_pcapng *w, uint32_t iface, int64_t time_ns, enum ts_pcapng_dir dir,
                           const uint8_t *data, uint32_t len);
int ts_pcapng_write_secrets(ts_pcapng *w, uint32_t secrets_type, const char *text, uint32_t len);
/* Flushes, closes and frees; returns the first write error seen, if any. */
int ts_pcapng_close(ts_pcapng *w);

#endif
