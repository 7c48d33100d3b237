/* wgtool: runs one tsengine device with one peer over a real UDP socket. Inside the
 * tunnel the tool itself is the host: it sends ICMP echo requests to the peer's
 * tunnel address and answers echo requests addressed to its own.
 *
 *   wgtool --private-key FILE --peer-public-key B64|FILE --listen IP:PORT
 *          --addr OUR_TUNNEL_IP --peer-addr PEER_TUNNEL_IP
 *          [--endpoint IP:PORT] [--preshared-key FILE] [--keylog FILE]
 *          [--ping N] [--answer K] [--answer-first] [--expect-cookie] [--timeout SECONDS]
 *   wgtool --flood RATE --flood-seconds S [--flood-burst N]
 *          --peer-public-key B64|FILE --listen IP:PORT --endpoint IP:PORT
 *
 * --ping N sends N echo requests (250 ms apart) and waits for every reply;
 * --answer K waits until K echo requests were answered. With both, pings go first
 * unless --answer-first. --expect-cookie adds a goal: a cookie reply was received
 * and the handshake completed as initiator answered an initiation whose mac2 was
 * set (non-zero). Every initiation the engine sends is reported with its sender
 * index and whether mac2 is zero (the tool inspects the outgoing 148 bytes: mac2 is
 * the last 16 and is all zero while no cookie is held).
 *
 * --flood puts the peer under load: a throwaway device with a random private key
 * (unknown to the peer) builds one mac1-valid initiation for --peer-public-key,
 * which is resent from --listen to --endpoint at RATE per second for S seconds, in
 * back-to-back bursts of N (default 256; RATE/N bursts per second). Cookie replies
 * (type 3) coming back are counted; the first one is reported at once ("flood:
 * first cookie reply"), proof that the peer is under load, and the summary gives
 * the CLOCK_MONOTONIC times of the first and last one and the longest gap between
 * two. SIGTERM/SIGINT end the flood early (the summary is still printed). Exit
 * status 0 if any cookie reply arrived, 1 otherwise.
 *
 * Exit status 0 when every goal was met before the timeout (default 10 s), 1
 * otherwise, 2 on bad usage. Progress goes to stdout; "mono_ns" values are
 * CLOCK_MONOTONIC nanoseconds, comparable between processes on one host. */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <sodium.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "ts_ipsum.h"
#include "wg.h"

typedef struct tool {
  wg_device *dev;
  wg_peer *peer;
  int fd;
  FILE *keylog;
  ts_ipaddr addr, peer_addr;
  int handshakes_init, handshakes_resp;
  int replies, answered;
  uint8_t seen_reply[256];
  /* echo requests to answer after the callback (no re-entry into the device) */
  uint8_t pending[16][1500];
  size_t pending_len[16], npending;
  /* cookie path: initiations seen leaving (sender index, mac2 set), ring of 32 */
  uint32_t init_sender[32];
  bool init_mac2[32];
  int initiations, initiations_mac2, cookies, handshakes_mac2;
  int resp_for_mac2; /* -1 unknown, else mac2 flag of the initiation the last response answers */
} tool;

enum { INIT_SIZE = 148, RESP_SIZE = 92, COOKIE_SIZE = 64, MAC_LEN = 16 };

static uint32_t le32(const uint8_t *p) {
  return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

static bool mac2_set(const uint8_t *msg, size_t len) {
  uint8_t any = 0;
  for (size_t i = len - MAC_LEN; i < len; i++) any |= msg[i];
  return any != 0;
}

static int64_t mono_ns(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (int64_t)ts.tv_sec * WG_NS_PER_S + ts.tv_nsec;
}

static void rng_fn(void *ctx, uint8_t *buf, size_t n) {
  (void)ctx;
  randombytes_buf(buf, n);
}

static void on_action(void *ctx, const wg_action *a) {
  tool *t = ctx;
  switch (a->kind) {
  case WG_ACTION_SEND_UDP: {
    if (a->len == INIT_SIZE && a->data[0] == 1) {
      bool m2 = mac2_set(a->data, a->len);
      int k = t->initiations++ % 32;
      t->init_sender[k] = le32(a->data + 4);
      t->init_mac2[k] = m2;
      if (m2) t->initiations_mac2++;
      printf("initiation sent: sender=0x%08x mac2=%s\n", t->init_sender[k], m2 ? "set" : "zero");
    }
    struct sockaddr_storage ss;
    size_t sl = sizeof ss;
    if (wg_endpoint_to_sockaddr(a->endpoint, (struct sockaddr *)&ss, &sl) != WG_OK) return;
    if (sendto(t->fd, a->data, a->len, 0, (struct sockaddr *)&ss, (socklen_t)sl) < 0)
      fprintf(stderr, "wgtool: sendto: %s\n", strerror(errno));
    break;
  }
  case WG_ACTION_DELIVER_IP: {
    ts_ip_info info;
    if (ts_ip_parse(a->data, (uint32_t)a->len, &info) != 0 || info.proto != TS_IPPROTO_ICMP) break;
    if (info.icmp_type == 0 && ts_ipaddr_equal(&info.dst, &t->addr)) {
      if (!t->seen_reply[info.icmp_seq & 255]) {
        t->seen_reply[info.icmp_seq & 255] = 1;
        t->replies++;
      }
      printf("echo reply seq=%u from tunnel\n", info.icmp_seq);
    } else if (info.icmp_type == 8 && ts_ipaddr_equal(&info.dst, &t->addr) &&
               t->npending < 16 && a->len <= 1500) {
      memcpy(t->pending[t->npending], a->data, a->len);
      t->pending_len[t->npending++] = a->len;
    }
    break;
  }
  case WG_ACTION_LOG:
    if (a->event == WG_EV_HANDSHAKE_COMPLETE || a->event == WG_EV_RESPONSE_RECEIVED ||
        a->event == WG_EV_INITIATION_RECEIVED || a->event == WG_EV_INITIATION_SENT ||
        a->event == WG_EV_RESPONSE_SENT || a->event == WG_EV_COOKIE_RECEIVED ||
        a->event == WG_EV_INITIATION_RETRY || a->event >= WG_DROP_FIRST)
      printf("event: %s\n", a->text);
    if (a->event == WG_EV_COOKIE_RECEIVED) t->cookies++;
    if (a->event == WG_EV_RESPONSE_RECEIVED) {
      t->handshakes_init++;
      if (t->resp_for_mac2 == 1) t->handshakes_mac2++;
      printf("handshake complete as initiator (initiation mac2 %s) mono_ns=%lld\n",
             t->resp_for_mac2 == 1 ? "set: cookie used" : t->resp_for_mac2 == 0 ? "zero" : "unknown",
             (long long)mono_ns());
    }
    if (a->event == WG_EV_RESPONSE_SENT) t->handshakes_resp++;
    break;
  case WG_ACTION_KEYLOG:
    if (t->keylog) {
      fwrite(a->text, 1, a->len, t->keylog);
      fflush(t->keylog);
    }
    break;
  }
  fflush(stdout);
}

static void answer_pending(tool *t, int64_t now, const wg_sink *sink) {
  for (size_t i = 0; i < t->npending; i++) {
    ts_ip_info info;
    const uint8_t *p = t->pending[i];
    if (ts_ip_parse(p, (uint32_t)t->pending_len[i], &info) != 0) continue;
    uint8_t rep[1500];
    uint32_t len = ts_ip_build_echo(rep, sizeof rep, &info.dst, &info.src, true, info.icmp_id,
                                    info.icmp_seq, p + info.l4_offset + TS_ICMP_ECHO_HEADER,
                                    info.l4_len - TS_ICMP_ECHO_HEADER);
    int r = len ? wg_device_tx_ip(t->dev, now, rep, len, sink) : WG_EINVAL;
    if (r == WG_OK || r == WG_ESTAGED) {
      t->answered++;
      printf("answered echo request seq=%u (%s)\n", info.icmp_seq, wg_strerror(r));
    }
  }
  t->npending = 0;
}

static int read_key_arg(uint8_t key[32], const char *arg) {
  if (wg_key_from_base64(key, arg) == WG_OK) return 0;
  FILE *f = fopen(arg, "r");
  if (!f) return -1;
  char line[128] = {0};
  int ok = fgets(line, sizeof line, f) != NULL;
  fclose(f);
  if (!ok) return -1;
  line[strcspn(line, "\r\n \t")] = 0;
  return wg_key_from_base64(key, line) == WG_OK ? 0 : -1;
}

static int parse_endpoint(wg_endpoint *ep, const char *s) {
  char host[64];
  const char *colon = strrchr(s, ':');
  if (!colon || (size_t)(colon - s) >= sizeof host) return -1;
  memcpy(host, s, (size_t)(colon - s));
  host[colon - s] = 0;
  uint8_t a[4];
  int port = atoi(colon + 1);
  if (inet_pton(AF_INET, host, a) != 1 || port <= 0 || port > 65535) return -1;
  *ep = wg_endpoint_ipv4(a, (uint16_t)port);
  return 0;
}

typedef struct flood_capture {
  uint8_t msg[INIT_SIZE];
  bool have;
} flood_capture;

static void flood_capture_fn(void *ctx, const wg_action *a) {
  flood_capture *c = ctx;
  if (a->kind == WG_ACTION_SEND_UDP && a->len == INIT_SIZE && a->data[0] == 1) {
    memcpy(c->msg, a->data, INIT_SIZE);
    c->have = true;
  }
}

static volatile sig_atomic_t flood_stop;
static void on_stop_signal(int sig) {
  (void)sig;
  flood_stop = 1;
}

/* The --flood mode (see the header comment). */
static int run_flood(const uint8_t peer_pub[32], const wg_endpoint *listen_ep,
                     const wg_endpoint *peer_ep, double rate, double seconds, int burst) {
  /* One initiation from a throwaway identity: mac1 is valid for the peer, the
   * static key is unknown to it, so it never becomes a session. */
  flood_capture cap = {0};
  wg_device *dev = NULL;
  wg_peer *peer = NULL;
  wg_device_config cfg = {.rng = rng_fn};
  randombytes_buf(cfg.private_key, WG_KEY_LEN);
  wg_key_clamp(cfg.private_key);
  wg_peer_config pc = {.endpoint = *peer_ep};
  memcpy(pc.public_key, peer_pub, WG_KEY_LEN);
  wg_sink csink = {flood_capture_fn, &cap};
  if (wg_device_create(&dev, &cfg) != WG_OK || wg_device_add_peer(dev, &pc, &peer) != WG_OK ||
      wg_peer_initiate_handshake(peer, 0, &csink) != WG_OK || !cap.have) {
    fprintf(stderr, "wgtool: could not build the flood initiation\n");
    wg_device_destroy(dev);
    return 1;
  }
  wg_device_destroy(dev);
  sodium_memzero(cfg.private_key, sizeof cfg.private_key);

  int fd = socket(AF_INET, SOCK_DGRAM, 0);
  struct sockaddr_storage ls, ps;
  size_t ll = sizeof ls, pl = sizeof ps;
  wg_endpoint_to_sockaddr(listen_ep, (struct sockaddr *)&ls, &ll);
  wg_endpoint_to_sockaddr(peer_ep, (struct sockaddr *)&ps, &pl);
  if (fd < 0 || bind(fd, (struct sockaddr *)&ls, (socklen_t)ll) != 0) {
    perror("wgtool: bind");
    if (fd >= 0) close(fd);
    return 1;
  }
  struct sigaction sa = {.sa_handler = on_stop_signal}; /* no SA_RESTART: poll returns EINTR */
  sigemptyset(&sa.sa_mask);
  sigaction(SIGTERM, &sa, NULL);
  sigaction(SIGINT, &sa, NULL);
  int64_t period = (int64_t)((double)burst * 1e9 / rate);
  int64_t t0 = mono_ns(), end = t0 + (int64_t)(seconds * 1e9), next = t0;
  int64_t first = 0, last = 0, max_gap = 0;
  long sent = 0, bursts = 0, replies = 0, other = 0;
  printf("flood: %.0f initiations/s in bursts of %d every %lld ms for %.1f s (sender=0x%08x)\n",
         rate, burst, (long long)(period / WG_NS_PER_MS), seconds, le32(cap.msg + 4));
  fflush(stdout);
  for (;;) {
    int64_t now = mono_ns();
    if (now >= end || flood_stop) break;
    if (now >= next) {
      for (int i = 0; i < burst; i++)
        if (sendto(fd, cap.msg, INIT_SIZE, 0, (struct sockaddr *)&ps, (socklen_t)pl) == INIT_SIZE)
          sent++;
      bursts++;
      next += period;
      if (next < now) next = now + period; /* slow machine: do not catch up in a rush */
      continue;
    }
    int64_t wake = next < end ? next : end;
    struct pollfd pfd = {.fd = fd, .events = POLLIN};
    if (poll(&pfd, 1, (int)((wake - now) / WG_NS_PER_MS + 1)) <= 0) continue;
    uint8_t buf[2048];
    ssize_t n;
    while ((n = recv(fd, buf, sizeof buf, MSG_DONTWAIT)) > 0) {
      if (n != COOKIE_SIZE || buf[0] != 3 || memcmp(buf + 4, cap.msg + 4, 4) != 0) {
        other++;
        continue;
      }
      int64_t at = mono_ns();
      if (!replies++) {
        first = at;
        printf("flood: first cookie reply after %lld ms (peer under load)\n",
               (long long)((at - t0) / WG_NS_PER_MS));
        fflush(stdout);
      } else if (at - last > max_gap)
        max_gap = at - last;
      last = at;
    }
  }
  close(fd);
  printf("flood: sent %ld initiations in %ld bursts, %ld cookie replies (+%ld other datagrams)\n",
         sent, bursts, replies, other);
  printf("flood: cookie replies first_mono_ns=%lld last_mono_ns=%lld max_gap_ms=%lld\n",
         (long long)first, (long long)last, (long long)(max_gap / WG_NS_PER_MS));
  return replies > 0 ? 0 : 1;
}

static int usage(void) {
  fprintf(stderr,
          "usage: wgtool --private-key FILE|B64 --peer-public-key FILE|B64 --listen IP:PORT\n"
          "              --addr TUNNEL_IP --peer-addr PEER_TUNNEL_IP [--endpoint IP:PORT]\n"
          "              [--preshared-key FILE|B64] [--keylog FILE] [--ping N] [--answer K]\n"
          "              [--answer-first] [--expect-cookie] [--timeout SECONDS]\n"
          "       wgtool --flood RATE --flood-seconds S [--flood-burst N]\n"
          "              --peer-public-key FILE|B64 --listen IP:PORT --endpoint IP:PORT\n");
  return 2;
}

int main(int argc, char **argv) {
  static tool T;
  tool *t = &T;
  uint8_t priv[32], peer_pub[32], psk[32];
  bool have_priv = false, have_pub = false, have_psk = false, answer_first = false;
  bool expect_cookie = false;
  double flood_rate = 0, flood_seconds = 0;
  int flood_burst = 256;
  wg_endpoint listen_ep = {0}, peer_ep = {0};
  const char *keylog_path = NULL;
  int ping = 0, answer = 0;
  double timeout_s = 10;
  for (int i = 1; i < argc; i++) {
    const char *o = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
    if (!strcmp(o, "--answer-first")) {
      answer_first = true;
      continue;
    }
    if (!strcmp(o, "--expect-cookie")) {
      expect_cookie = true;
      continue;
    }
    if (!v) return usage();
    i++;
    if (!strcmp(o, "--private-key")) have_priv = read_key_arg(priv, v) == 0;
    else if (!strcmp(o, "--peer-public-key")) have_pub = read_key_arg(peer_pub, v) == 0;
    else if (!strcmp(o, "--preshared-key")) {
      if (read_key_arg(psk, v) != 0) return usage();
      have_psk = true;
    } else if (!strcmp(o, "--listen")) {
      if (parse_endpoint(&listen_ep, v)) return usage();
    } else if (!strcmp(o, "--endpoint")) {
      if (parse_endpoint(&peer_ep, v)) return usage();
    } else if (!strcmp(o, "--addr")) {
      if (!ts_ipaddr_parse(v, &t->addr) || t->addr.family != 4) return usage();
    } else if (!strcmp(o, "--peer-addr")) {
      if (!ts_ipaddr_parse(v, &t->peer_addr) || t->peer_addr.family != 4) return usage();
    } else if (!strcmp(o, "--keylog")) keylog_path = v;
    else if (!strcmp(o, "--ping")) ping = atoi(v);
    else if (!strcmp(o, "--answer")) answer = atoi(v);
    else if (!strcmp(o, "--timeout")) timeout_s = atof(v);
    else if (!strcmp(o, "--flood")) flood_rate = atof(v);
    else if (!strcmp(o, "--flood-seconds")) flood_seconds = atof(v);
    else if (!strcmp(o, "--flood-burst")) flood_burst = atoi(v);
    else return usage();
  }
  if (flood_rate != 0 || flood_seconds != 0) {
    if (!(flood_rate >= 1 && flood_rate <= 100000) || !(flood_seconds > 0 && flood_seconds <= 60) ||
        flood_burst < 1 || flood_burst > 4096 || !have_pub || !listen_ep.family || !peer_ep.family)
      return usage();
    if (sodium_init() < 0) return 1;
    return run_flood(peer_pub, &listen_ep, &peer_ep, flood_rate, flood_seconds, flood_burst);
  }
  if (!have_priv || !have_pub || !listen_ep.family || !t->addr.family || !t->peer_addr.family ||
      ping < 0 || ping > 255 || answer < 0)
    return usage();
  if (sodium_init() < 0) return 1;
  t->resp_for_mac2 = -1;
  if (keylog_path && !(t->keylog = fopen(keylog_path, "a"))) {
    perror(keylog_path);
    return 1;
  }

  t->fd = socket(AF_INET, SOCK_DGRAM, 0);
  struct sockaddr_storage ss;
  size_t sl = sizeof ss;
  wg_endpoint_to_sockaddr(&listen_ep, (struct sockaddr *)&ss, &sl);
  if (t->fd < 0 || bind(t->fd, (struct sockaddr *)&ss, (socklen_t)sl) != 0) {
    perror("wgtool: bind");
    return 1;
  }

  struct timespec rt;
  clock_gettime(CLOCK_REALTIME, &rt);
  int64_t t0 = mono_ns();
  wg_device_config cfg = {.rng = rng_fn, .keylog = keylog_path != NULL,
                          .wall_clock_epoch_ns = (int64_t)rt.tv_sec * WG_NS_PER_S + rt.tv_nsec};
  memcpy(cfg.private_key, priv, 32);
  wg_peer_config pc = {.endpoint = peer_ep, .has_preshared_key = have_psk};
  memcpy(pc.public_key, peer_pub, 32);
  if (have_psk) memcpy(pc.preshared_key, psk, 32);
  if (wg_device_create(&t->dev, &cfg) != WG_OK || wg_device_add_peer(t->dev, &pc, &t->peer) != WG_OK ||
      wg_peer_add_allowed_ip(t->peer, 4, t->peer_addr.bytes, 32) != WG_OK) {
    fprintf(stderr, "wgtool: engine setup failed\n");
    return 1;
  }
  sodium_memzero(priv, sizeof priv);
  sodium_memzero(psk, sizeof psk);
  wg_sink sink = {on_action, t};
  printf("wgtool: listening, %d pings, %d answers%s\n", ping, answer,
         answer_first ? " (answers first)" : "");
  fflush(stdout);

  int sent = 0;
  int64_t next_ping = 0, deadline = (int64_t)(timeout_s * 1e9);
  int rc = 1;
  for (;;) {
    int64_t now = mono_ns() - t0;
    answer_pending(t, now, &sink);
    bool pings_allowed = !answer_first || t->answered >= answer;
    if (pings_allowed && sent < ping && now >= next_ping) {
      uint8_t payload[48], pk[128];
      for (size_t i = 0; i < sizeof payload; i++) payload[i] = (uint8_t)i;
      uint32_t len = ts_ip_build_echo(pk, sizeof pk, &t->addr, &t->peer_addr, false,
                                      (uint16_t)getpid(), (uint16_t)(sent + 1), payload,
                                      sizeof payload);
      int r = wg_device_tx_ip(t->dev, now, pk, len, &sink);
      printf("echo request seq=%d: %s\n", sent + 1, wg_strerror(r));
      fflush(stdout);
      sent++;
      next_ping = now + 250 * WG_NS_PER_MS;
    }
    bool pings_done = t->replies >= ping, answers_done = t->answered >= answer;
    bool cookie_done = !expect_cookie || (t->cookies > 0 && t->handshakes_mac2 > 0);
    if (pings_done && answers_done && cookie_done && (answer_first || sent >= ping)) {
      rc = 0;
      break;
    }
    if (now >= deadline) break;
    int64_t wake = wg_device_next_deadline(t->dev);
    if (pings_allowed && sent < ping && next_ping < wake) wake = next_ping;
    if (deadline < wake) wake = deadline;
    int64_t wait_ms = (wake - now) / WG_NS_PER_MS + 1;
    if (wait_ms < 0) wait_ms = 0;
    if (wait_ms > 1000) wait_ms = 1000;
    struct pollfd pfd = {.fd = t->fd, .events = POLLIN};
    int pr = poll(&pfd, 1, (int)wait_ms);
    now = mono_ns() - t0;
    if (pr > 0 && (pfd.revents & POLLIN)) {
      uint8_t buf[WG_MESSAGE_MAX];
      struct sockaddr_storage from;
      socklen_t fl = sizeof from;
      ssize_t n = recvfrom(t->fd, buf, sizeof buf, 0, (struct sockaddr *)&from, &fl);
      wg_endpoint src;
      if (n == RESP_SIZE && buf[0] == 2) { /* which of our initiations does it answer? */
        t->resp_for_mac2 = -1;
        for (int k = 0; k < 32 && k < t->initiations; k++)
          if (t->init_sender[k] == le32(buf + 8)) t->resp_for_mac2 = t->init_mac2[k];
      }
      if (n > 0 && wg_endpoint_from_sockaddr(&src, (struct sockaddr *)&from) == WG_OK)
        wg_device_rx_udp(t->dev, now, &src, buf, (size_t)n, &sink);
    }
    if (wg_device_next_deadline(t->dev) <= now) wg_device_tick(t->dev, now, &sink);
  }
  if (t->handshakes_resp) printf("handshake complete as responder\n");
  printf("wgtool: %s: %d/%d replies, %d/%d answered, handshakes as initiator %d, as responder %d\n",
         rc == 0 ? "success" : "TIMEOUT", t->replies, ping, t->answered, answer,
         t->handshakes_init, t->handshakes_resp);
  printf("wgtool: cookie replies %d, initiations sent %d (%d with mac2), handshakes with mac2 %d%s\n",
         t->cookies, t->initiations, t->initiations_mac2, t->handshakes_mac2,
         expect_cookie ? " (expected)" : "");
  wg_device_destroy(t->dev);
  close(t->fd);
  if (t->keylog) fclose(t->keylog);
  return rc;
}
