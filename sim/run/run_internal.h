/* What one run builds, shared by the files of sim/run; attached to the world so
 * that reset and destroy free it. */
#ifndef TS_RUN_INTERNAL_H
#define TS_RUN_INTERNAL_H

#include "ts_leak.h"
#include "ts_os_profile_load.h"
#include "ts_phone.h"
#include "ts_phone_apps.h"
#include "ts_provider.h"
#include "ts_relay.h"
#include "ts_run.h"
#include "ts_wire.h"

struct run_world {
  ts_world *world;
  const ts_scenario *scenario;
  const ts_run_options *options;
  ts_net *net;
  ts_host **hosts;          /* per scenario node */
  struct ts_tcp_host **tcp_hosts; /* per scenario node, created with its first TCP server */
  ts_link_id *links;        /* per scenario link */
  ts_relay **relays;        /* per scenario relay */
  ts_ipaddr *relay_addrs;   /* the relay's public address, per relay */
  uint8_t (*relay_public)[32]; /* the relay's public key, per relay */
  uint8_t phone_private[32], phone_public[32];
  uint8_t static_static[32];  /* DH(phone, VPN relay): the same on both ends */
  uint8_t (*relay_private)[32]; /* per relay, for the static-static DH */
  size_t relay_slots;
  ts_phone *phone;
  ts_provider *provider;
  ts_phone_app **phone_apps;
  ts_leak_oracle *oracle;
  ts_wire_observer *wire;
  struct ts_appstore *appstore;
  struct run_checks *checks; /* lifecycle.c: the oracles' observations (NULL without checks:) */
  char error[256];          /* why building failed, for the user */
};

int run_build_net(struct run_world *rw);
int run_build_services(struct run_world *rw);
int run_build_phone(struct run_world *rw);
int run_schedule_timeline(struct run_world *rw);
/* lifecycle.c: the App Store and the user's actions on the VPN (timeline actions
 * the phone alone does not serve). */
int run_lifecycle_action(struct run_world *rw, const ts_timeline_event *e);
/* Lifecycle quirks, the App Store, and the lifecycle oracles' observers. */
int run_build_lifecycle(struct run_world *rw);
/* checks.c: the lifecycle oracles (scenarios with checks:). */
int run_build_checks(struct run_world *rw);
void run_collect_checks(const struct run_world *rw, ts_run_result *r);
/* The run cache (run_cache.c): a key pair, or a parsed profile owned by the cache.
 * run_cache_profile returns TS_EFULL when the cache is full: load it yourself then. */
bool run_cache_get_key(ts_run_cache *c, uint64_t seed, const char *stream, uint8_t priv[32],
                       uint8_t pub[32]);
void run_cache_put_key(ts_run_cache *c, uint64_t seed, const char *stream, const uint8_t priv[32],
                       const uint8_t pub[32]);
int run_cache_profile(ts_run_cache *c, const char *path, const ts_os_profile **out, ts_diag *d);

/* Records a message for the user and returns rc. */
int run_fail(struct run_world *rw, int rc, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

#endif
