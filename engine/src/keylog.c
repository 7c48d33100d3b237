/* keylog.c: the key-log format Wireshark's WireGuard dissector reads: one
 * "KEY_TYPE = <base64>" per line. A PRESHARED_KEY line attaches to the
 * LOCAL_EPHEMERAL_PRIVATE_KEY before it, so the order matters. */
#include "keylog.h"

#include <sodium.h>
#include <stdio.h>
#include <string.h>

#include "device.h"

static size_t append_line(char *buf, size_t buflen, size_t off, const char *name,
                          const uint8_t key[32]) {
  char b64[WG_BASE64_KEY_LEN];
  if (off == (size_t)-1) return off;
  wg_key_to_base64(b64, key);
  int n = snprintf(buf + off, buflen - off, "%s = %s\n", name, b64);
  sodium_memzero(b64, sizeof b64);
  if (n < 0 || (size_t)n >= buflen - off) return (size_t)-1;
  return off + (size_t)n;
}

size_t wg_keylog_format(char *buf, size_t buflen, const uint8_t local_static_priv[32],
                        const uint8_t remote_static_pub[32], const uint8_t local_eph_priv[32],
                        const uint8_t psk[32]) {
  static const uint8_t zero[32];
  size_t off = 0;
  off = append_line(buf, buflen, off, "LOCAL_STATIC_PRIVATE_KEY", local_static_priv);
  off = append_line(buf, buflen, off, "REMOTE_STATIC_PUBLIC_KEY", remote_static_pub);
  off = append_line(buf, buflen, off, "LOCAL_EPHEMERAL_PRIVATE_KEY", local_eph_priv);
  if (psk && sodium_memcmp(psk, zero, 32) != 0)
    off = append_line(buf, buflen, off, "PRESHARED_KEY", psk);
  return off == (size_t)-1 ? 0 : off;
}

void wg_keylog_emit_handshake(wg_peer *peer, const wg_sink *sink) {
  wg_device *dev = peer->dev;
  if (!dev->keylog || !sink || !sink->fn) return;
  size_t n = wg_keylog_format(dev->keylog_buf, sizeof dev->keylog_buf, dev->static_private,
                              peer->public_key, peer->hs.local_ephemeral_priv, peer->psk);
  if (!n) return;
  wg_action a = {.kind = WG_ACTION_KEYLOG, .peer = peer, .text = dev->keylog_buf, .len = n};
  sink->fn(sink->ctx, &a);
  sodium_memzero(dev->keylog_buf, sizeof dev->keylog_buf);
}
