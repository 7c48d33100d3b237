/* The instance: claiming an lwIP copy, (re)starting it, its interface, its clock and
 * timer event, and the glue functions every copy calls (lwip_glue.h). */
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lwip_glue.h"
#include "netstack_internal.h"
#include "ts_bytes.h"

#define NETIF_NAME0 't'
#define NETIF_NAME1 's'

/* ---- glue: called by the copy's hooks with its owner ---------------------------- */

u32_t ts_netstack_glue_now(struct ts_netstack *ns) {
  return (u32_t)((ts_world_now(ns->world) - ns->epoch) / TS_MS);
}

/* With our options LWIP_RAND() is called twice per start: tcp_init and udp_init draw
 * the first ephemeral port, 0xc000 + (r & 0x3fff). lwIP 2.1.3's tcp_new_port
 * increments before it wraps, so a first port of 0xffff becomes 0 and the first
 * tcp_connect fails with ERR_BUF (1 seed in 16384; found by the netstack bench). The
 * stream never yields that value. */
#define LWIP_PORT_BITS 0x3fffu

u32_t ts_netstack_glue_rand(struct ts_netstack *ns) {
  u32_t r = (u32_t)(ts_rng_next(&ns->rand_rng) >> 32);
  if ((r & LWIP_PORT_BITS) == LWIP_PORT_BITS) r &= ~(u32_t)1;
  return r;
}

void *ts_netstack_glue_malloc(struct ts_netstack *ns, size_t size) { return ts_nsa_alloc(&ns->heap, size); }

void *ts_netstack_glue_calloc(struct ts_netstack *ns, size_t count, size_t size) {
  if (size && count > SIZE_MAX / size) return NULL;
  return ts_nsa_calloc(&ns->heap, count * size);
}

void ts_netstack_glue_free(struct ts_netstack *ns, void *mem) { ts_nsa_free(&ns->heap, mem); }

static uint64_t mix64(uint64_t x) {
  x ^= x >> 30;
  x *= UINT64_C(0xbf58476d1ce4e5b9);
  x ^= x >> 27;
  x *= UINT64_C(0x94d049bb133111eb);
  x ^= x >> 31;
  return x;
}

static uint64_t mix_addr(uint64_t h, const ip_addr_t *a) {
  ts_ipaddr t;
  ts_netstack_addr_from_lwip(a, &t);
  uint64_t w[2];
  memcpy(w, t.bytes, sizeof w);
  h = mix64(h ^ w[0] ^ t.family);
  return mix64(h ^ w[1]);
}

/* RFC 6528 §3: ISN = M + F(localip, localport, remoteip, remoteport, secretkey), M a
 * 4-microsecond clock (here virtual time since the instance's start), F a keyed hash
 * (a splitmix64 chain keyed by the seed: deterministic, not cryptographic). */
u32_t ts_netstack_glue_isn(struct ts_netstack *ns, const ip_addr_t *local_ip, u16_t local_port,
                           const ip_addr_t *remote_ip, u16_t remote_port) {
  uint64_t h = mix64(ns->isn_key[0]);
  h = mix_addr(h, local_ip);
  h = mix_addr(h, remote_ip);
  h = mix64(h ^ ((uint64_t)local_port << 16 | remote_port) ^ ns->isn_key[1]);
  uint64_t m = (uint64_t)(ts_world_now(ns->world) - ns->epoch) / (4 * TS_US);
  return (u32_t)(h + m);
}

/* lwIP's LWIP_PLATFORM_ASSERT: a bug in lwIP or in its use. Say where, then abort so
 * that a fuzzer or a test sees the crash. */
void ts_lwip_assert(const char *msg, int line, const char *file) {
  fprintf(stderr, "lwIP assertion failed: %s at %s:%d\n", msg, file, line);
  abort();
}

/* ---- addresses and errors ----------------------------------------------------- */

void ts_netstack_addr_to_lwip(const ts_ipaddr *in, ip_addr_t *out) {
  memset(out, 0, sizeof *out);
  if (in->family == 4) {
    IP_SET_TYPE_VAL(*out, IPADDR_TYPE_V4);
    memcpy(&ip_2_ip4(out)->addr, in->bytes, 4);
  } else if (in->family == 6) {
    IP_SET_TYPE_VAL(*out, IPADDR_TYPE_V6);
    memcpy(ip_2_ip6(out)->addr, in->bytes, 16);
  }
}

void ts_netstack_addr_from_lwip(const ip_addr_t *in, ts_ipaddr *out) {
  memset(out, 0, sizeof *out);
  if (IP_IS_V6(in)) {
    out->family = 6;
    memcpy(out->bytes, ip_2_ip6(in)->addr, 16);
  } else {
    out->family = 4;
    memcpy(out->bytes, &ip_2_ip4(in)->addr, 4);
  }
}

int ts_netstack_err(err_t err) {
  switch (err) {
  case ERR_OK: return TS_OK;
  case ERR_MEM:
  case ERR_BUF: return TS_ENOMEM;
  case ERR_RTE: return TS_ENOENT;
  case ERR_USE: return TS_EEXIST;
  case ERR_ISCONN:
  case ERR_CONN:
  case ERR_CLSD:
  case ERR_INPROGRESS:
  case ERR_ALREADY: return TS_ESTATE;
  default: return TS_EINVAL;
  }
}

/* ---- timers ---------------------------------------------------------------------- */

static void timer_event(void *obj, uint64_t arg) {
  ts_netstack *ns = obj;
  ns->timer = 0;
  ns->stats.timer_events++;
  ts_netstack_guard_persist(ns); /* before tcp_slowtmr can see it (netstack_guard.c) */
  ns->L->sys_check_timeouts();
  ts_netstack_rearm(ns);
}

void ts_netstack_rearm(ts_netstack *ns) {
  if (!ns->up) return;
  u32_t sleep = ns->L->sys_timeouts_sleeptime();
  if (sleep == SYS_TIMEOUTS_SLEEPTIME_INFINITE) {
    if (ns->timer) ts_world_cancel(ns->world, ns->timer);
    ns->timer = 0;
    return;
  }
  ts_time now = ts_world_now(ns->world);
  /* lwIP's clock is whole milliseconds since the epoch: wake at the millisecond the
   * timeout falls due, which is when sys_now() reaches it. */
  ts_time due = ns->epoch + ((ts_time)ts_netstack_glue_now(ns) + (ts_time)sleep) * TS_MS;
  if (due < now) due = now;
  if (ns->timer && ns->timer_due == due) return;
  if (ns->timer) ts_world_cancel(ns->world, ns->timer);
  ns->timer = 0;
  if (ts_world_schedule(ns->world, due, timer_event, ns, 0, &ns->timer) == 0) ns->timer_due = due;
  else ns->timer = 0;
}

/* ---- the interface ------------------------------------------------------------ */

static err_t netif_send(struct netif *netif, struct pbuf *p) {
  ts_netstack *ns = netif->state;
  ts_packet_pool *pool = ts_world_pool(ns->world);
  ts_packet *pkt = ts_packet_alloc(pool, p->tot_len);
  if (!pkt) {
    ns->stats.output_dropped++;
    return ERR_MEM;
  }
  pkt->len = ns->L->pbuf_copy_partial(p, pkt->data, p->tot_len, 0);
  ns->stats.packets_out++;
  ns->stats.bytes_out += pkt->len;
  ns->cfg.output(ns->cfg.output_ctx, pkt);
  return ERR_OK;
}

static err_t netif_output4(struct netif *netif, struct pbuf *p, const ip4_addr_t *dst) {
  return netif_send(netif, p);
}

static err_t netif_output6(struct netif *netif, struct pbuf *p, const ip6_addr_t *dst) {
  return netif_send(netif, p);
}

static err_t netif_setup(struct netif *netif) {
  ts_netstack *ns = netif->state;
  netif->name[0] = NETIF_NAME0;
  netif->name[1] = NETIF_NAME1;
  netif->output = netif_output4;
  netif->output_ip6 = netif_output6;
  netif->mtu = ns->cfg.mtu;
#if LWIP_ND6_ALLOW_RA_UPDATES
  netif->mtu6 = ns->cfg.mtu;
#endif
  netif->flags = 0; /* point to point: no ARP, no broadcast */
  return ERR_OK;
}

static void prefix_mask4(uint8_t len, ip4_addr_t *mask) {
  uint32_t m = len == 0 ? 0 : 0xffffffffu << (32 - (len > 32 ? 32 : len));
  uint8_t b[4];
  ts_wr32(b, m);
  memcpy(&mask->addr, b, 4);
}

/* lwIP from scratch: the copy's state is pristine and the heap empty. */
static int boot(ts_netstack *ns) {
  const ts_lwip_api *L = ns->L;
  *L->owner = ns;
  L->lwip_init();
  ip4_addr_t a4, m4, gw4;
  memset(&a4, 0, sizeof a4);
  memset(&m4, 0, sizeof m4);
  memset(&gw4, 0, sizeof gw4);
  if (ns->cfg.addr4.addr.family == 4) {
    memcpy(&a4.addr, ns->cfg.addr4.addr.bytes, 4);
    prefix_mask4(ns->cfg.addr4.len, &m4);
  }
  memset(&ns->netif, 0, sizeof ns->netif);
  if (!L->netif_add(&ns->netif, &a4, &m4, &gw4, ns, netif_setup, L->ip_input)) return TS_ENOMEM;
  if (ns->cfg.addr6.addr.family == 6) {
    ip6_addr_t a6;
    memset(&a6, 0, sizeof a6);
    memcpy(a6.addr, ns->cfg.addr6.addr.bytes, 16);
    L->netif_ip6_addr_set(&ns->netif, 0, &a6);
    L->netif_ip6_addr_set_state(&ns->netif, 0, IP6_ADDR_PREFERRED);
  }
  L->netif_set_default(&ns->netif);
  L->netif_set_link_up(&ns->netif);
  L->netif_set_up(&ns->netif);
  int rc = ts_netstack_echo_start(ns);
  if (rc) return rc;
  ns->up = true;
  ts_netstack_rearm(ns);
  return 0;
}

static void seed_streams(ts_netstack *ns, uint64_t seed) {
  ns->seed = seed;
  ts_rng_init(&ns->rand_rng, seed, "lwip/rand");
  ts_rng isn;
  ts_rng_init(&isn, seed, "lwip/isn");
  ns->isn_key[0] = ts_rng_next(&isn);
  ns->isn_key[1] = ts_rng_next(&isn);
}

/* Everything lwIP and our handles hold goes; the copy's state is pristine again. */
static void wipe(ts_netstack *ns) {
  if (ns->timer) ts_world_cancel(ns->world, ns->timer);
  ns->timer = 0;
  ns->up = false;
  ns->raw4 = ns->raw6 = NULL;
  ts_nsa_reset(&ns->heap);
  ts_lwip_state_restore(&ns->state, ns->L);
}

/* ---- lifecycle -------------------------------------------------------------------- */

static void release(void *obj) {
  ts_netstack *ns = obj;
  wipe(ns);
  atomic_store(ns->L->claim, 0);
  ts_nsa_destroy(&ns->heap);
  ts_lwip_state_free(&ns->state);
  free(ns->scratch);
  free(ns);
}

static bool prefix_ok(const ts_ipprefix *p, uint8_t family) {
  if (p->addr.family == 0) return true;
  return p->addr.family == family && p->len <= (family == 4 ? 32 : 128);
}

int ts_netstack_create(ts_world *w, const ts_netstack_config *cfg, ts_netstack **out) {
  *out = NULL;
  if (!w || !cfg || !cfg->output || !cfg->name || !cfg->name[0] ||
      strlen(cfg->name) >= TS_NETSTACK_NAME_MAX || !prefix_ok(&cfg->addr4, 4) ||
      !prefix_ok(&cfg->addr6, 6) || (cfg->addr4.addr.family == 0 && cfg->addr6.addr.family == 0) ||
      (cfg->mtu != 0 && cfg->mtu < 576))
    return TS_EINVAL;
  ts_netstack *ns = calloc(1, sizeof *ns);
  if (!ns) return TS_ENOMEM;
  for (unsigned i = 0; i < ts_lwip_copy_count && !ns->L; i++) {
    int expect = 0;
    if (atomic_compare_exchange_strong(ts_lwip_copies[i]->claim, &expect, 1)) ns->L = ts_lwip_copies[i];
  }
  if (!ns->L) {
    free(ns);
    return TS_EFULL;
  }
  const ts_lwip_api *L = ns->L;
  ns->world = w;
  snprintf(ns->name, sizeof ns->name, "%s", cfg->name);
  ns->cfg = *cfg;
  ns->cfg.name = ns->name;
  if (!ns->cfg.mtu) ns->cfg.mtu = TS_NETSTACK_DEFAULT_MTU;
  ts_nsa_init(&ns->heap);
  /* A copy nobody holds is pristine (release puts it back): its data is the image. */
  ns->scratch = malloc(TS_PACKET_MAX);
  int rc = ns->scratch ? ts_lwip_state_save(&ns->state, L) : TS_ENOMEM;
  if (!rc) {
    seed_streams(ns, cfg->seed);
    ns->epoch = ts_world_now(w);
    rc = boot(ns);
  }
  if (!rc) rc = ts_world_attach(w, ns, release);
  if (rc) {
    release(ns);
    return rc;
  }
  *out = ns;
  return 0;
}

int ts_netstack_reset(ts_netstack *ns, uint64_t seed) {
  wipe(ns);
  memset(&ns->stats, 0, sizeof ns->stats);
  seed_streams(ns, seed);
  ns->epoch = ts_world_now(ns->world);
  int rc = boot(ns);
  if (rc) wipe(ns);
  return rc;
}

void ts_netstack_destroy(ts_netstack *ns) {
  if (!ns) return;
  ts_world_detach(ns->world, ns);
  release(ns);
}

int ts_netstack_input(ts_netstack *ns, const uint8_t *pkt, uint32_t len) {
  if (!ns->up) return TS_ESTATE;
  if (len == 0 || len > TS_PACKET_MAX) return TS_EINVAL;
  const ts_lwip_api *L = ns->L;
  struct pbuf *p = L->pbuf_alloc(PBUF_RAW, (u16_t)len, PBUF_RAM);
  if (!p) return TS_ENOMEM;
  L->pbuf_take(p, pkt, (u16_t)len);
  ns->stats.packets_in++;
  ns->stats.bytes_in += len;
  /* A PBUF_RAM pbuf is one contiguous block: checked and rewritten in place. */
  ts_netstack_syn_mss syn_mss;
  if (!ts_netstack_sanitize(p->payload, len, &ns->stats, &syn_mss)) {
    L->pbuf_free(p);
    return 0;
  }
  if (syn_mss.present) ts_netstack_guard_syn_mss(ns, p->payload, &syn_mss);
  if (ns->netif.input(p, &ns->netif) != ERR_OK) L->pbuf_free(p);
  ts_netstack_rearm(ns);
  return 0;
}

const char *ts_netstack_name(const ts_netstack *ns) { return ns->name; }
ts_world *ts_netstack_world(const ts_netstack *ns) { return ns->world; }

void ts_netstack_stats_get(const ts_netstack *ns, ts_netstack_stats *out) {
  *out = ns->stats;
  out->heap_bytes = ns->heap.bytes;
  out->heap_peak = ns->heap.peak;
  out->heap_failures = ns->heap.failures;
}

uint32_t ts_netstack_capacity(void) { return ts_lwip_copy_count; }

uint32_t ts_netstack_available(void) {
  uint32_t n = 0;
  for (unsigned i = 0; i < ts_lwip_copy_count; i++) n += atomic_load(ts_lwip_copies[i]->claim) == 0;
  return n;
}
