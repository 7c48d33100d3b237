/* An OS profile: what one iOS version offers the VPN layer. Which NEVPNProtocol
 * flags exist and their defaults, the Network Extension APIs present, the limits
 * (provider memory, session watchdogs) and the value of every named quirk. The
 * shipped profiles are data (the files in models/os/, loaded by ts_os_profile_load.h);
 * tests may also build one in code, starting from ts_os_profile_create(). */
#ifndef TS_OS_PROFILE_H
#define TS_OS_PROFILE_H

#include <stdbool.h>
#include <stdint.h>

#include "ts_error.h"
#include "ts_os_model.h"
#include "ts_time.h"

#define TS_OS_PROFILE_NAME_MAX 64

typedef struct ts_os_profile ts_os_profile;

typedef enum ts_os_api_state {
  TS_API_ABSENT = 0,
  TS_API_AVAILABLE,
  TS_API_DEPRECATED, /* still works, marked deprecated (A-NWTCP) */
} ts_os_api_state;

typedef enum ts_os_api {
  TS_API_NWTCPCONNECTION = 0, /* createTCPConnectionThroughTunnel (A-NWTCP) */
  TS_API_VIRTUAL_INTERFACE,   /* NEPacketTunnelProvider.virtualInterface (A-VIF) */
  TS_API_COUNT
} ts_os_api;

typedef enum ts_os_limit {
  TS_LIMIT_PROVIDER_MEMORY = 0, /* bytes (F-MEM) */
  TS_LIMIT_START_TIMEOUT,       /* ns in "starting" before the session gives up; 0 = none (F-60S) */
  TS_LIMIT_STOP_TIMEOUT,        /* ns in "stopping" before the provider is killed; 0 = none (F-60S) */
  TS_LIMIT_COUNT
} ts_os_limit;

/* Names as written in profiles ("NWTCPConnection", "provider-memory"), with source. */
const char *ts_os_api_name(ts_os_api a);
const char *ts_os_api_state_name(ts_os_api_state s);
ts_os_source ts_os_api_source(ts_os_api a);
const char *ts_os_limit_name(ts_os_limit l);
ts_os_source ts_os_limit_source(ts_os_limit l);

/* A profile of the newest modelled iOS: every flag with Apple's iOS default, both
 * APIs (NWTCPConnection deprecated), 50 MiB, 60 s / 20 s, and every quirk at its
 * fallback value (ts_os_quirk_info.fallback). */
int ts_os_profile_create(ts_os_profile **out, const char *name);
void ts_os_profile_destroy(ts_os_profile *p);
int ts_os_profile_copy(ts_os_profile **out, const ts_os_profile *p);

const char *ts_os_profile_name(const ts_os_profile *p);
int ts_os_profile_set_version(ts_os_profile *p, int major, int minor);
int ts_os_profile_version_major(const ts_os_profile *p);
int ts_os_profile_version_minor(const ts_os_profile *p);

/* available=false removes the flag from this OS (the default is then false). */
int ts_os_profile_set_flag(ts_os_profile *p, ts_vpn_flag f, bool available, bool default_value);
bool ts_os_profile_flag_available(const ts_os_profile *p, ts_vpn_flag f);
bool ts_os_profile_flag_default(const ts_os_profile *p, ts_vpn_flag f);

int ts_os_profile_set_api(ts_os_profile *p, ts_os_api a, ts_os_api_state s);
ts_os_api_state ts_os_profile_api(const ts_os_profile *p, ts_os_api a);
bool ts_os_profile_has_api(const ts_os_profile *p, ts_os_api a); /* available or deprecated */

int ts_os_profile_set_limit(ts_os_profile *p, ts_os_limit l, int64_t value);
int64_t ts_os_profile_limit(const ts_os_profile *p, ts_os_limit l);

/* value must be < ts_os_quirk_value_count(q); source must be one the quirk accepts
 * (TS_SRC_NONE keeps the quirk's canonical source). */
int ts_os_profile_set_quirk(ts_os_profile *p, ts_os_quirk q, int value, ts_os_source source);
int ts_os_profile_quirk(const ts_os_profile *p, ts_os_quirk q);
ts_os_source ts_os_profile_quirk_source(const ts_os_profile *p, ts_os_quirk q);

#endif
