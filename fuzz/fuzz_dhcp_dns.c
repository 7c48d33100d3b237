/* Fuzz target: the DHCP and DNS decoders. The first input byte selects the codec
 * (even: DHCP, odd: DNS); the rest is one message. A message that decodes must
 * re-encode, and the re-encoded bytes must decode to the same structure (the codecs
 * are lossless over what they store). DHCP inputs also go through the client-side
 * ts_dhcp_parse_offer and the option 121 decoder on its own. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "ts_dhcp.h"
#include "ts_dns.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void fuzz_dhcp(const uint8_t *p, size_t n) {
  static ts_dhcp_message m, again; /* large: kept off the stack, rewritten each run */
  uint8_t out[2048];
  size_t len;
  ts_dhcp_offer offer;
  (void)ts_dhcp_parse_offer(p, n, &offer);
  ts_dhcp_route routes[TS_DHCP_MAX_ROUTES];
  size_t count;
  (void)ts_dhcp_decode_routes(p, n, routes, TS_DHCP_MAX_ROUTES, &count);
  if (ts_dhcp_decode(p, n, &m) != 0) return;
  if (ts_dhcp_encode(&m, out, sizeof out, &len) != 0) abort();
  if (ts_dhcp_decode(out, len, &again) != 0) abort();
  if (memcmp(&m, &again, sizeof m) != 0) abort();
}

static void fuzz_dns(const uint8_t *p, size_t n) {
  static ts_dns_message m, again;
  uint8_t out[16384];
  size_t len;
  if (ts_dns_decode(p, n, &m) != 0) return;
  /* names are decoded from at most 255 wire octets, so they always re-encode; only
   * an answer of a type the encoder does not write could fail, and none is stored */
  if (ts_dns_encode(&m, out, sizeof out, &len) != 0) abort();
  if (ts_dns_decode(out, len, &again) != 0) abort();
  if (memcmp(&m, &again, sizeof m) != 0) abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  if (size < 1) return 0;
  if (data[0] & 1)
    fuzz_dns(data + 1, size - 1);
  else
    fuzz_dhcp(data + 1, size - 1);
  return 0;
}
