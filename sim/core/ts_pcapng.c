#include "ts_pcapng.h"

#include <stdlib.h>
#include <string.h>

#include "ts_error.h"

#define BT_SHB 0x0A0D0D0Au
#define BT_IDB 0x00000001u
#define BT_EPB 0x00000006u
#define BT_DSB 0x0000000Au
#define OPT_END 0
#define OPT_IF_NAME 2
#define OPT_IF_TSRESOL 9
#define OPT_SHB_USERAPPL 4
#define OPT_EPB_FLAGS 2

struct ts_pcapng {
  FILE *f;
  int owns_file;
  int error;
  uint32_t interfaces;
};

static uint32_t pad4(uint32_t n) { return (n + 3u) & ~3u; }

static void put(ts_pcapng *w, const void *p, size_t n) {
  if (w->error || n == 0) return;
  if (fwrite(p, 1, n, w->f) != n) w->error = TS_EIO;
}

static void put32(ts_pcapng *w, uint32_t v) { put(w, &v, 4); }
static void put16(ts_pcapng *w, uint16_t v) { put(w, &v, 2); }

static void put_zeros(ts_pcapng *w, uint32_t n) {
  static const uint8_t zeros[4];
  put(w, zeros, n);
}

static uint32_t option_size(uint32_t len) { return 4 + pad4(len); }

static void put_option(ts_pcapng *w, uint16_t code, const void *data, uint16_t len) {
  put16(w, code);
  put16(w, len);
  put(w, data, len);
  put_zeros(w, pad4(len) - len);
}

static void put_end_option(ts_pcapng *w) {
  put16(w, OPT_END);
  put16(w, 0);
}

static void write_section_header(ts_pcapng *w) {
  static const char appl[] = "tunnelsim";
  uint32_t body = 4 + 2 + 2 + 8 + option_size(sizeof appl - 1) + 4;
  uint32_t total = 12 + body;
  put32(w, BT_SHB);
  put32(w, total);
  put32(w, 0x1A2B3C4Du); /* byte-order magic: the file is in host order */
  put16(w, 1);
  put16(w, 0);
  uint64_t section_len = UINT64_MAX; /* unknown */
  put(w, &section_len, 8);
  put_option(w, OPT_SHB_USERAPPL, appl, sizeof appl - 1);
  put_end_option(w);
  put32(w, total);
}

static int open_common(ts_pcapng **out, FILE *f, int owns) {
  ts_pcapng *w = calloc(1, sizeof *w);
  if (!w) return TS_ENOMEM;
  w->f = f;
  w->owns_file = owns;
  write_section_header(w);
  *out = w;
  return w->error;
}

int ts_pcapng_open(ts_pcapng **out, const char *path) {
  FILE *f = fopen(path, "wb");
  if (!f) return TS_EIO;
  int rc = open_common(out, f, 1);
  if (rc == TS_ENOMEM) fclose(f);
  return rc;
}

int ts_pcapng_open_stream(ts_pcapng **out, FILE *f) { return open_common(out, f, 0); }

int ts_pcapng_add_interface(ts_pcapng *w, const char *name, uint32_t *id) {
  size_t name_len = strlen(name);
  if (name_len > 1024) return TS_EINVAL;
  uint8_t tsresol = 9; /* 10^-9: nanoseconds */
  uint32_t total = 12 + 8 + option_size((uint32_t)name_len) + option_size(1) + 4;
  put32(w, BT_IDB);
  put32(w, total);
  put16(w, TS_PCAPNG_LINKTYPE_RAW);
  put16(w, 0);
  put32(w, 0); /* snaplen: no limit */
  put_option(w, OPT_IF_NAME, name, (uint16_t)name_len);
  put_option(w, OPT_IF_TSRESOL, &tsresol, 1);
  put_end_option(w);
  put32(w, total);
  *id = w->interfaces++;
  return w->error;
}

int ts_pcapng_write_packet(ts_pcapng *w, uint32_t iface, int64_t time_ns, enum ts_pcapng_dir dir,
                           const uint8_t *data, uint32_t len) {
  if (iface >= w->interfaces) return TS_EINVAL;
  uint64_t ts = (uint64_t)time_ns;
  uint32_t flags = (uint32_t)dir;
  uint32_t options = dir ? option_size(4) + 4 : 0;
  uint32_t total = 12 + 20 + pad4(len) + options;
  put32(w, BT_EPB);
  put32(w, total);
  put32(w, iface);
  put32(w, (uint32_t)(ts >> 32));
  put32(w, (uint32_t)ts);
  put32(w, len);
  put32(w, len);
  put(w, data, len);
  put_zeros(w, pad4(len) - len);
  if (dir) {
    put_option(w, OPT_EPB_FLAGS, &flags, 4);
    put_end_option(w);
  }
  put32(w, total);
  return w->error;
}

int ts_pcapng_write_secrets(ts_pcapng *w, uint32_t secrets_type, const char *text, uint32_t len) {
  uint32_t total = 12 + 8 + pad4(len);
  put32(w, BT_DSB);
  put32(w, total);
  put32(w, secrets_type);
  put32(w, len);
  put(w, text, len);
  put_zeros(w, pad4(len) - len);
  put32(w, total);
  return w->error;
}

int ts_pcapng_close(ts_pcapng *w) {
  if (!w) return TS_OK;
  int rc = w->error;
  if (fflush(w->f) != 0 && !rc) rc = TS_EIO;
  if (w->owns_file && fclose(w->f) != 0 && !rc) rc = TS_EIO;
  free(w);
  return rc;
}
