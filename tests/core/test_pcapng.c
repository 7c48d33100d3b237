#include <stdlib.h>

#include "ts_pcapng.h"
#include "tstest.h"

static int contains(const uint8_t *hay, size_t n, const char *needle) {
  size_t m = strlen(needle);
  for (size_t i = 0; i + m <= n; i++)
    if (memcmp(hay + i, needle, m) == 0) return 1;
  return 0;
}

static uint32_t rd32(const uint8_t *p) {
  uint32_t v;
  memcpy(&v, p, 4);
  return v;
}

TS_TEST(pcapng_blocks_are_well_formed) {
  char path[] = "/tmp/tstest-pcapng-XXXXXX";
  int fd = mkstemp(path);
  TS_CHECK(fd >= 0);
  FILE *f = fdopen(fd, "w+b");
  ts_pcapng *w;
  TS_CHECK_INT(ts_pcapng_open_stream(&w, f), ==, 0);
  uint32_t a, b;
  TS_CHECK_INT(ts_pcapng_add_interface(w, "hostA/eth0", &a), ==, 0);
  TS_CHECK_INT(ts_pcapng_add_interface(w, "hostB/eth0", &b), ==, 0);
  TS_CHECK_INT(a, ==, 0);
  TS_CHECK_INT(b, ==, 1);
  uint8_t pkt[21] = {0x45};
  TS_CHECK_INT(ts_pcapng_write_packet(w, b, 1500000123LL, TS_PCAPNG_DIR_IN, pkt, sizeof pkt), ==, 0);
  TS_CHECK_INT(ts_pcapng_write_packet(w, 2, 0, TS_PCAPNG_DIR_IN, pkt, 1), !=, 0);
  TS_CHECK_INT(ts_pcapng_write_secrets(w, TS_PCAPNG_SECRETS_WIREGUARD, "K = v\n", 6), ==, 0);
  TS_CHECK_INT(ts_pcapng_close(w), ==, 0);
  long size = ftell(f);
  rewind(f);
  uint8_t *buf = malloc((size_t)size);
  TS_CHECK(fread(buf, 1, (size_t)size, f) == (size_t)size);
  fclose(f);
  remove(path);
  /* Walk the blocks: each total length is a multiple of 4 and repeated at its end. */
  uint32_t types[8];
  int n = 0;
  long off = 0;
  while (off < size && n < 8) {
    uint32_t type = rd32(buf + off), total = rd32(buf + off + 4);
    TS_CHECK(total % 4 == 0 && total >= 12 && off + total <= size);
    TS_CHECK_INT(rd32(buf + off + total - 4), ==, total);
    if (type == 6) {
      TS_CHECK_INT(rd32(buf + off + 8), ==, 1);                 /* interface id */
      uint64_t ts = ((uint64_t)rd32(buf + off + 12) << 32) | rd32(buf + off + 16);
      TS_CHECK_INT(ts, ==, 1500000123LL);
      TS_CHECK_INT(rd32(buf + off + 20), ==, 21);
    }
    if (type == 1) TS_CHECK(contains(buf + off, total, "hostA/eth0") || contains(buf + off, total, "hostB/eth0"));
    types[n++] = type;
    off += total;
  }
  TS_CHECK_INT(off, ==, size);
  TS_CHECK_INT(n, ==, 5);
  TS_CHECK_INT(types[0], ==, 0x0A0D0D0A);
  TS_CHECK_INT(types[1], ==, 1);
  TS_CHECK_INT(types[2], ==, 1);
  TS_CHECK_INT(types[3], ==, 6);
  TS_CHECK_INT(types[4], ==, 0x0A);
  free(buf);
}
