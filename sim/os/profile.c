/* OS profiles as values: see ts_os_profile.h. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ts_os_profile.h"

struct ts_os_profile {
  char name[TS_OS_PROFILE_NAME_MAX];
  int major, minor;
  bool flag_available[TS_FLAG_COUNT];
  bool flag_default[TS_FLAG_COUNT];
  ts_os_api_state api[TS_API_COUNT];
  int64_t limit[TS_LIMIT_COUNT];
  int quirk[TS_QUIRK_COUNT];
  ts_os_source quirk_source[TS_QUIRK_COUNT];
};

static const char *const api_names[TS_API_COUNT] = {"NWTCPConnection", "virtualInterface"};
static const ts_os_source api_sources[TS_API_COUNT] = {TS_SRC_A_NWTCP, TS_SRC_A_VIF};
static const char *const api_state_names[] = {"absent", "available", "deprecated"};
static const char *const limit_names[TS_LIMIT_COUNT] = {"provider-memory", "start-timeout",
                                                        "stop-timeout"};
static const ts_os_source limit_sources[TS_LIMIT_COUNT] = {TS_SRC_F_MEM, TS_SRC_F_60S,
                                                           TS_SRC_F_60S};

const char *ts_os_api_name(ts_os_api a) { return (unsigned)a < TS_API_COUNT ? api_names[a] : NULL; }
const char *ts_os_api_state_name(ts_os_api_state s) {
  return (unsigned)s <= TS_API_DEPRECATED ? api_state_names[s] : NULL;
}
ts_os_source ts_os_api_source(ts_os_api a) {
  return (unsigned)a < TS_API_COUNT ? api_sources[a] : TS_SRC_NONE;
}
const char *ts_os_limit_name(ts_os_limit l) {
  return (unsigned)l < TS_LIMIT_COUNT ? limit_names[l] : NULL;
}
ts_os_source ts_os_limit_source(ts_os_limit l) {
  return (unsigned)l < TS_LIMIT_COUNT ? limit_sources[l] : TS_SRC_NONE;
}

int ts_os_profile_create(ts_os_profile **out, const char *name) {
  if (!out) return TS_EINVAL;
  *out = NULL;
  ts_os_profile *p = calloc(1, sizeof *p);
  if (!p) return TS_ENOMEM;
  snprintf(p->name, sizeof p->name, "%s", name ? name : "builtin");
  p->major = 18;
  p->minor = 0;
  for (int f = 0; f < TS_FLAG_COUNT; f++) p->flag_available[f] = true;
  /* Apple's iOS defaults (A-HDR): excludeLocalNetworks YES on iOS; the 16.4 and
   * 17.4 exclusions YES; the rest NO. */
  p->flag_default[TS_FLAG_EXCLUDE_LOCAL_NETWORKS] = true;
  p->flag_default[TS_FLAG_EXCLUDE_CELLULAR_SERVICES] = true;
  p->flag_default[TS_FLAG_EXCLUDE_APNS] = true;
  p->flag_default[TS_FLAG_EXCLUDE_DEVICE_COMMUNICATION] = true;
  p->api[TS_API_NWTCPCONNECTION] = TS_API_DEPRECATED;
  p->api[TS_API_VIRTUAL_INTERFACE] = TS_API_AVAILABLE;
  p->limit[TS_LIMIT_PROVIDER_MEMORY] = (int64_t)50 << 20;
  p->limit[TS_LIMIT_START_TIMEOUT] = 60 * TS_SEC;
  p->limit[TS_LIMIT_STOP_TIMEOUT] = 20 * TS_SEC;
  for (int q = 1; q < TS_QUIRK_COUNT; q++) {
    const ts_os_quirk_info *info = ts_os_quirk_get((ts_os_quirk)q);
    p->quirk[q] = info->fallback;
    p->quirk_source[q] = info->sources[0];
  }
  *out = p;
  return 0;
}

void ts_os_profile_destroy(ts_os_profile *p) { free(p); }

int ts_os_profile_copy(ts_os_profile **out, const ts_os_profile *p) {
  if (!out || !p) return TS_EINVAL;
  *out = malloc(sizeof **out);
  if (!*out) return TS_ENOMEM;
  memcpy(*out, p, sizeof *p);
  return 0;
}

const char *ts_os_profile_name(const ts_os_profile *p) { return p->name; }

int ts_os_profile_set_version(ts_os_profile *p, int major, int minor) {
  if (!p || major < 0 || minor < 0 || major > 999 || minor > 999) return TS_EINVAL;
  p->major = major;
  p->minor = minor;
  return 0;
}
int ts_os_profile_version_major(const ts_os_profile *p) { return p->major; }
int ts_os_profile_version_minor(const ts_os_profile *p) { return p->minor; }

int ts_os_profile_set_flag(ts_os_profile *p, ts_vpn_flag f, bool available, bool default_value) {
  if (!p || (unsigned)f >= TS_FLAG_COUNT) return TS_EINVAL;
  p->flag_available[f] = available;
  p->flag_default[f] = available && default_value;
  return 0;
}
bool ts_os_profile_flag_available(const ts_os_profile *p, ts_vpn_flag f) {
  return (unsigned)f < TS_FLAG_COUNT && p->flag_available[f];
}
bool ts_os_profile_flag_default(const ts_os_profile *p, ts_vpn_flag f) {
  return (unsigned)f < TS_FLAG_COUNT && p->flag_default[f];
}

int ts_os_profile_set_api(ts_os_profile *p, ts_os_api a, ts_os_api_state s) {
  if (!p || (unsigned)a >= TS_API_COUNT || (unsigned)s > TS_API_DEPRECATED) return TS_EINVAL;
  p->api[a] = s;
  return 0;
}
ts_os_api_state ts_os_profile_api(const ts_os_profile *p, ts_os_api a) {
  return (unsigned)a < TS_API_COUNT ? p->api[a] : TS_API_ABSENT;
}
bool ts_os_profile_has_api(const ts_os_profile *p, ts_os_api a) {
  return ts_os_profile_api(p, a) != TS_API_ABSENT;
}

int ts_os_profile_set_limit(ts_os_profile *p, ts_os_limit l, int64_t value) {
  if (!p || (unsigned)l >= TS_LIMIT_COUNT || value < 0) return TS_EINVAL;
  p->limit[l] = value;
  return 0;
}
int64_t ts_os_profile_limit(const ts_os_profile *p, ts_os_limit l) {
  return (unsigned)l < TS_LIMIT_COUNT ? p->limit[l] : 0;
}

int ts_os_profile_set_quirk(ts_os_profile *p, ts_os_quirk q, int value, ts_os_source source) {
  if (!p || !ts_os_quirk_get(q) || value < 0 || value >= ts_os_quirk_value_count(q))
    return TS_EINVAL;
  if (source != TS_SRC_NONE && !ts_os_quirk_accepts_source(q, source)) return TS_EINVAL;
  p->quirk[q] = value;
  if (source != TS_SRC_NONE) p->quirk_source[q] = source;
  return 0;
}
int ts_os_profile_quirk(const ts_os_profile *p, ts_os_quirk q) {
  return q > TS_QUIRK_NONE && q < TS_QUIRK_COUNT ? p->quirk[q] : 0;
}
ts_os_source ts_os_profile_quirk_source(const ts_os_profile *p, ts_os_quirk q) {
  return q > TS_QUIRK_NONE && q < TS_QUIRK_COUNT ? p->quirk_source[q] : TS_SRC_NONE;
}
