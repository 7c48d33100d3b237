/* The vocabulary of the iOS VPN model: the sources facts come from, the rules the
 * policy decision applies, the named quirks an OS profile selects, the
 * NEVPNProtocol flags and the traffic classes of sockets. Every rule and quirk
 * names its source key of ../shared/design/ios-model.md §0.1 (plus the few extra
 * keys listed below), so an oracle can explain any verdict and a newcomer finds it
 * in docs/model-reference.md. Tables only: no state, no allocation. */
#ifndef TS_OS_MODEL_H
#define TS_OS_MODEL_H

#include <stdbool.h>
#include <stddef.h>

/* ---------------------------------------------------------------- sources */

typedef enum ts_os_source {
  TS_SRC_NONE = 0,
  /* ios-model.md §0.1 */
  TS_SRC_A_ROUTE, TS_SRC_A_IAN, TS_SRC_A_ELN, TS_SRC_A_APNS, TS_SRC_A_HDR, TS_SRC_A_PTNS,
  TS_SRC_A_OD, TS_SRC_A_STOP, TS_SRC_A_REASSERT, TS_SRC_A_SLEEP, TS_SRC_A_VIF, TS_SRC_A_NWTCP,
  TS_SRC_F_MEM, TS_SRC_F_60S, TS_SRC_F_EXCL,
  TS_SRC_MV_BLOG, TS_SRC_MV_FAA, TS_SRC_MV_TC, TS_SRC_MV_KI, TS_SRC_MV_CL,
  TS_SRC_TC_WEB, TS_SRC_TC_GH, TS_SRC_TC_BH, TS_SRC_TC_PAPER, TS_SRC_TV,
  TS_SRC_PROTON, TS_SRC_HOROWITZ, TS_SRC_MYSK, TS_SRC_DISCONNECT,
  TS_SRC_IVPN_146, TS_SRC_IVPN_283, TS_SRC_IVPN_360, TS_SRC_IVPN_216, TS_SRC_IVPN_230,
  TS_SRC_WG,
  /* extra keys for sources ios-model.md cites inline (not in its §0.1 table) */
  TS_SRC_NB_157,   /* netbird/ios-client#157 (§4) */
  TS_SRC_MV_CODE,  /* mullvad/mullvadvpn-app code cited in §1.4/§2.5 */
  TS_SRC_RFC3442,  /* DHCP classless static routes (option 121), as used by TV */
  /* the open questions of ios-model.md §8, cited by the quirks that make them selectable */
  TS_SRC_GAP_1, TS_SRC_GAP_2, TS_SRC_GAP_3, TS_SRC_GAP_4, TS_SRC_GAP_5, TS_SRC_GAP_6,
  TS_SRC_GAP_7,
  TS_SRC_COUNT
} ts_os_source;

/* How sure a fact is (ios-model.md §0): documented, reported, client code, inferred. */
typedef enum ts_os_tag { TS_TAG_DOC = 0, TS_TAG_REP, TS_TAG_CODE, TS_TAG_INF } ts_os_tag;

const char *ts_os_source_key(ts_os_source s);   /* "A-ROUTE"; NULL when out of range */
const char *ts_os_source_title(ts_os_source s); /* one line: what the source is */
/* The source with this key (exact, case-sensitive), or TS_SRC_NONE. */
ts_os_source ts_os_source_find(const char *key);
const char *ts_os_tag_name(ts_os_tag t);        /* "DOC", "REP", "CODE", "INF" */

/* ------------------------------------------------------------------ flags */

/* NEVPNProtocol routing flags (ios-model.md §1.1). A profile says which exist on
 * its OS and their defaults; a flag that does not exist reads as false. */
typedef enum ts_vpn_flag {
  TS_FLAG_INCLUDE_ALL_NETWORKS = 0,
  TS_FLAG_EXCLUDE_LOCAL_NETWORKS,
  TS_FLAG_EXCLUDE_CELLULAR_SERVICES,
  TS_FLAG_EXCLUDE_APNS,
  TS_FLAG_EXCLUDE_DEVICE_COMMUNICATION,
  TS_FLAG_ENFORCE_ROUTES,
  TS_FLAG_DISCONNECT_ON_SLEEP,
  TS_FLAG_COUNT
} ts_vpn_flag;

typedef struct ts_vpn_flag_info {
  const char *name;        /* Apple's property name, as written in profiles */
  const char *since;       /* first iOS version, e.g. "14.2" */
  ts_os_source source;
  const char *summary;
} ts_vpn_flag_info;

const ts_vpn_flag_info *ts_vpn_flag_get(ts_vpn_flag f); /* NULL when out of range */
int ts_vpn_flag_find(const char *name);                 /* a ts_vpn_flag, or -1 */

/* --------------------------------------------------------- traffic classes */

/* Who owns a socket, as far as the VPN layer cares (ios-model.md §1.2, §6). */
typedef enum ts_traffic_class {
  TS_TC_APP = 0,            /* an ordinary app */
  TS_TC_PROVIDER,           /* the packet tunnel provider's own sockets */
  TS_TC_CONTROL_PLANE,      /* DHCP and other local-network control traffic (§1.2.1) */
  TS_TC_CAPTIVE,            /* captive portal negotiation (§1.2.2) */
  TS_TC_CELLULAR_CARRIER,   /* cellular services on the carrier network only, e.g. VoLTE (§1.2.3) */
  TS_TC_COMPANION,          /* a companion device such as Apple Watch (§1.2.4) */
  TS_TC_APNS,               /* Apple Push Notification service (§1.2.5, excludeAPNs) */
  TS_TC_CELLULAR_SERVICES,  /* internet-routable cellular services: Wi-Fi Calling, MMS (excludeCellularServices) */
  TS_TC_DEVICE_COMM,        /* devices on USB or Wi-Fi, e.g. Xcode (excludeDeviceCommunication) */
  TS_TC_APPSTORE,           /* the App Store downloader (appstored) */
  TS_TC_COUNT
} ts_traffic_class;

const char *ts_traffic_class_name(ts_traffic_class c); /* "app", "provider", ... */
int ts_traffic_class_find(const char *name);           /* a ts_traffic_class, or -1 */

/* ------------------------------------------------------------------ quirks */

/* Named, selectable behaviours: what an OS version does where sources disagree,
 * change between versions, or are silent (ios-model.md §8). Values are booleans
 * (0/1) or an index into the quirk's value names. */
typedef enum ts_os_quirk {
  TS_QUIRK_NONE = 0,
  TS_QUIRK_VPN_ROUTE_PRECEDENCE,
  TS_QUIRK_EXCLUDED_ROUTES_IGNORED_WHEN_FORCED,
  TS_QUIRK_PROVIDER_BYPASSES_OWN_TUNNEL,
  TS_QUIRK_IAN_PROVIDER_TUNNEL_SOCKETS_SILENT_FAIL,
  TS_QUIRK_IAN_VIRTUAL_INTERFACE_NO_PATH,
  TS_QUIRK_IAN_CAPTURES_PROVIDER_SOCKETS,
  TS_QUIRK_IAN_APPLE_SERVICES_BYPASS,
  TS_QUIRK_IAN_BLOCKS_AFTER_PROVIDER_DEATH,
  TS_QUIRK_IAN_BLOCKS_AT_BOOT,
  TS_QUIRK_APPSTORE_DOWNLOADER_EXEMPT,
  TS_QUIRK_UPDATE_RELAUNCH_SKIPS_ROUTES,
  TS_QUIRK_REASSERTING_INVALIDATES_SOCKETS,
  TS_QUIRK_LOCAL_NETWORK_INCLUDES_PUBLIC_SUBNETS,
  TS_QUIRK_LOCAL_NETWORK_INCLUDES_DHCP_ROUTES,
  TS_QUIRK_COUNT
} ts_os_quirk;

/* Values of TS_QUIRK_VPN_ROUTE_PRECEDENCE. */
enum {
  TS_ROUTE_PRECEDENCE_SYSTEM_FIRST = 0, /* any non-default system route beats the VPN's routes */
  TS_ROUTE_PRECEDENCE_LONGEST_PREFIX = 1 /* one table: the longest prefix wins */
};

#define TS_OS_QUIRK_MAX_SOURCES 4
#define TS_OS_QUIRK_MAX_VALUES 4

typedef struct ts_os_quirk_info {
  const char *name;                                 /* kebab-case, as written in profiles */
  ts_os_tag tag;
  ts_os_source sources[TS_OS_QUIRK_MAX_SOURCES];    /* accepted citations, first is canonical */
  const char *values[TS_OS_QUIRK_MAX_VALUES];       /* enum value names; values[0] NULL: boolean */
  int fallback;                                     /* value of a profile built in code */
  const char *question;                             /* "§8.1" when it answers an open question */
  const char *summary;
} ts_os_quirk_info;

const ts_os_quirk_info *ts_os_quirk_get(ts_os_quirk q); /* NULL for NONE or out of range */
ts_os_quirk ts_os_quirk_find(const char *name);         /* TS_QUIRK_NONE when unknown */
bool ts_os_quirk_accepts_source(ts_os_quirk q, ts_os_source s);
/* Number of values: 2 for booleans. */
int ts_os_quirk_value_count(ts_os_quirk q);
/* "true"/"false" for booleans, else the value name; NULL when out of range. */
const char *ts_os_quirk_value_name(ts_os_quirk q, int value);

/* ------------------------------------------------------------------- rules */

/* Every rule the policy decision can apply; a verdict names the one that decided. */
typedef enum ts_os_rule {
  TS_RULE_NONE = 0,
  TS_RULE_LOOPBACK,
  TS_RULE_EXEMPT_CONTROL_PLANE,
  TS_RULE_EXEMPT_VPN_SERVER,
  TS_RULE_EXEMPT_CAPTIVE,
  TS_RULE_EXEMPT_CELLULAR_CARRIER,
  TS_RULE_EXEMPT_COMPANION,
  TS_RULE_PROVIDER_BYPASS,
  TS_RULE_IAN_PROVIDER_SILENT_FAIL,
  TS_RULE_IAN_PROVIDER_CAPTURED,
  TS_RULE_IAN_EXCLUDE_APNS,
  TS_RULE_IAN_EXCLUDE_CELLULAR_SERVICES,
  TS_RULE_IAN_EXCLUDE_DEVICE_COMM,
  TS_RULE_IAN_EXCLUDE_LOCAL_NETWORKS,
  TS_RULE_IAN_APPLE_SERVICES_BYPASS,
  TS_RULE_IAN_APPSTORE_EXEMPT,
  TS_RULE_IAN_EXCLUDED_ROUTE,
  TS_RULE_IAN_PREEXISTING_DROP,
  TS_RULE_IAN_SCOPED_TO_TUNNEL,
  TS_RULE_IAN_NOT_CONNECTED_DROP,
  TS_RULE_IAN_USER_DISCONNECTED,
  TS_RULE_IAN_ON_DEMAND_PENDING,
  TS_RULE_IAN_PROVIDER_DIED,
  TS_RULE_IAN_BOOT,
  TS_RULE_PREEXISTING_KEEPS_PATH,
  TS_RULE_ENFORCE_INCLUDED,
  TS_RULE_ENFORCE_EXCLUDED,
  TS_RULE_ENFORCE_LOCAL_EXEMPT,
  TS_RULE_SCOPED_INTERFACE,
  TS_RULE_SYSTEM_ROUTE_SUPERSEDES,
  TS_RULE_VPN_INCLUDED,
  TS_RULE_VPN_EXCLUDED,
  TS_RULE_SYSTEM_TABLE,
  TS_RULE_NO_ROUTE,
  TS_RULE_SCOPE_UNAVAILABLE,
  TS_RULE_ARRIVAL_MISMATCH,
  TS_RULE_COUNT
} ts_os_rule;

typedef struct ts_os_rule_info {
  const char *name;     /* kebab-case, e.g. "ian-scoped-to-tunnel" */
  ts_os_tag tag;
  ts_os_source source;
  const char *section;  /* where in ios-model.md, e.g. "§1.1" */
  const char *summary;
} ts_os_rule_info;

const ts_os_rule_info *ts_os_rule_get(ts_os_rule r); /* NULL for NONE or out of range */

#endif
