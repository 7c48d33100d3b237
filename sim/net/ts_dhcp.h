/* DHCPv4 (RFC 2131, options RFC 2132, classless static routes RFC 3442): a codec of
 * pure functions over bytes, the decoder a client calls on an OFFER or ACK, and the
 * server device of an access point (rogue or honest) running on a ts_host.
 *
 * The codec knows the options the model needs; other options are skipped on decode
 * (bounds still checked) and never written. Decoders never read past the buffer and
 * return a negative TS_E* code for malformed input. */
#ifndef TS_DHCP_H
#define TS_DHCP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "ts_ipsum.h"
#include "ts_net.h"

/* ---- protocol constants (RFC 2131 §2, §3, §4.1; RFC 2132; RFC 3442) */
#define TS_DHCP_SERVER_PORT 67
#define TS_DHCP_CLIENT_PORT 68
#define TS_DHCP_OP_BOOTREQUEST 1
#define TS_DHCP_OP_BOOTREPLY 2
#define TS_DHCP_HTYPE_ETHERNET 1 /* RFC 1700 hardware type */
#define TS_DHCP_HLEN_ETHERNET 6
#define TS_DHCP_CHADDR_LEN 16
#define TS_DHCP_SNAME_LEN 64
#define TS_DHCP_FILE_LEN 128
#define TS_DHCP_FIXED_LEN 236           /* op .. file, RFC 2131 §2 figure 1 */
#define TS_DHCP_MAGIC_COOKIE 0x63825363u /* RFC 2131 §3, RFC 2132 §2 */
#define TS_DHCP_OPTIONS_OFFSET 240      /* fixed fields + magic cookie */
#define TS_DHCP_FLAG_BROADCAST 0x8000u  /* RFC 2131 §2 figure 2 */
/* A client must accept 576-byte messages (RFC 2131 §2); our encoder stays below it
 * unless a caller asks for more than 576 bytes of options. */
#define TS_DHCP_MAX_MESSAGE 576

/* option codes, RFC 2132 (§ numbers there) and RFC 3442 */
#define TS_DHCP_OPT_PAD 0              /* §3.1 */
#define TS_DHCP_OPT_SUBNET_MASK 1      /* §3.3 */
#define TS_DHCP_OPT_ROUTER 3           /* §3.5 */
#define TS_DHCP_OPT_DNS 6              /* §3.8 */
#define TS_DHCP_OPT_DOMAIN_NAME 15     /* §3.17 */
#define TS_DHCP_OPT_REQUESTED_IP 50    /* §9.1 */
#define TS_DHCP_OPT_LEASE_TIME 51      /* §9.2 */
#define TS_DHCP_OPT_OVERLOAD 52        /* §9.3: not honoured, see dhcp_codec.c */
#define TS_DHCP_OPT_MESSAGE_TYPE 53    /* §9.6 */
#define TS_DHCP_OPT_SERVER_ID 54       /* §9.7 */
#define TS_DHCP_OPT_PARAM_REQUEST 55   /* §9.8 */
#define TS_DHCP_OPT_RENEWAL_TIME 58    /* §9.11, T1 */
#define TS_DHCP_OPT_REBINDING_TIME 59  /* §9.12, T2 */
#define TS_DHCP_OPT_CLASSLESS_ROUTES 121 /* RFC 3442 */
#define TS_DHCP_OPT_END 255            /* §3.2 */

/* message types, RFC 2132 §9.6 */
#define TS_DHCP_DISCOVER 1
#define TS_DHCP_OFFER 2
#define TS_DHCP_REQUEST 3
#define TS_DHCP_DECLINE 4
#define TS_DHCP_ACK 5
#define TS_DHCP_NAK 6
#define TS_DHCP_RELEASE 7
#define TS_DHCP_INFORM 8

/* RFC 2131 §4.4.5: T1 defaults to 0.5 and T2 to 0.875 of the lease. */
#define TS_DHCP_T1_NUM 1
#define TS_DHCP_T1_DEN 2
#define TS_DHCP_T2_NUM 7
#define TS_DHCP_T2_DEN 8
#define TS_DHCP_LEASE_INFINITE 0xffffffffu /* RFC 2132 §9.2 */

/* ---- what the codec stores (model limits, not protocol limits) */
#define TS_DHCP_MAX_ADDRS 4        /* routers and DNS servers kept (the rest are ignored) */
#define TS_DHCP_MAX_ROUTES 16      /* option 121 entries; more is TS_EFULL */
#define TS_DHCP_DOMAIN_MAX 255     /* one option's payload */
#define TS_DHCP_PARAMS_MAX 255

/* One classless static route (RFC 3442 §3). A router of 0.0.0.0 means the
 * destination is on-link. */
typedef struct ts_dhcp_route {
  ts_ipprefix dst;
  ts_ipaddr router;
} ts_dhcp_route;

/* A decoded message. Addresses are family 4; an option that was absent has an
 * address of family 0 or its has_ flag false. */
typedef struct ts_dhcp_message {
  uint8_t op, htype, hlen, hops;
  uint32_t xid;
  uint16_t secs, flags;
  ts_ipaddr ciaddr, yiaddr, siaddr, giaddr;
  uint8_t chaddr[TS_DHCP_CHADDR_LEN];

  uint8_t type; /* option 53; 0 when absent (plain BOOTP) */
  ts_ipaddr server_id, requested_ip, subnet_mask;
  bool has_lease_time, has_renewal_time, has_rebinding_time;
  uint32_t lease_time, renewal_time, rebinding_time; /* seconds */
  ts_ipaddr routers[TS_DHCP_MAX_ADDRS];
  uint8_t router_count;
  ts_ipaddr dns[TS_DHCP_MAX_ADDRS];
  uint8_t dns_count;
  char domain[TS_DHCP_DOMAIN_MAX + 1]; /* "" when absent */
  bool has_classless;
  ts_dhcp_route routes[TS_DHCP_MAX_ROUTES];
  uint8_t route_count;
  uint8_t params[TS_DHCP_PARAMS_MAX]; /* option 55 */
  uint8_t param_count;
} ts_dhcp_message;

/* A message with the fixed fields of `op` filled in (htype Ethernet, all
 * addresses 0.0.0.0 of family 4) and no options. */
void ts_dhcp_message_init(ts_dhcp_message *m, uint8_t op, uint8_t type, uint32_t xid);

/* 0 and *len, TS_EFULL if it does not fit in cap, TS_EINVAL for a field out of its
 * domain (hlen > 16, a route prefix longer than 32, a domain longer than 255). */
int ts_dhcp_encode(const ts_dhcp_message *m, uint8_t *out, size_t cap, size_t *len);
/* 0, TS_ETRUNC (shorter than the fixed part, an option running past the end, no
 * END option), TS_EPARSE (bad cookie, op, hlen, an option of the wrong length or
 * value, a bad option 121 encoding, a duplicated option), TS_EFULL (more option 121
 * routes than TS_DHCP_MAX_ROUTES). */
int ts_dhcp_decode(const uint8_t *p, size_t len, ts_dhcp_message *m);

/* RFC 3442 §3 compact encoding of routes: width, significant octets, router.
 * Returns 0 and *len, TS_EFULL, or TS_EINVAL (prefix length > 32). */
int ts_dhcp_encode_routes(const ts_dhcp_route *routes, size_t n, uint8_t *out, size_t cap,
                          size_t *len);
/* Option 121 payload to routes: 0, TS_EPARSE, or TS_EFULL (more than max). */
int ts_dhcp_decode_routes(const uint8_t *p, size_t len, ts_dhcp_route *routes, size_t max,
                          size_t *n);

/* What a client takes from an OFFER or ACK: the lease and the routes it installs. */
typedef struct ts_dhcp_offer {
  uint8_t type;          /* TS_DHCP_OFFER or TS_DHCP_ACK */
  uint32_t xid;
  ts_ipprefix address;   /* yiaddr with the subnet's prefix length */
  ts_ipaddr server_id;   /* family 0 when absent */
  ts_ipaddr router;      /* option 3 as sent (first router); family 0 when absent */
  /* RFC 3442 §3 (p. 6): a client that receives option 121 ignores the router option.
   * True when a router was sent and option 121 overrides it. */
  bool router_ignored;
  ts_ipaddr dns[TS_DHCP_MAX_ADDRS];
  uint8_t dns_count;
  char domain[TS_DHCP_DOMAIN_MAX + 1];
  uint32_t lease_time, renewal_time, rebinding_time; /* seconds; T1/T2 defaulted, §4.4.5 */
  /* The routes the client installs: option 121's when present (a router of family
   * 0 is on-link), else one default route via the router, else none. */
  bool classless;
  ts_dhcp_route routes[TS_DHCP_MAX_ROUTES];
  uint8_t route_count;
} ts_dhcp_offer;

/* Decodes a BOOTREPLY carrying an OFFER or ACK. TS_ENOENT for another message type
 * (a NAK included), TS_EPARSE for a reply without an address, without a lease time,
 * or with a non-contiguous subnet mask, or any ts_dhcp_decode error. Without a
 * subnet mask the prefix is the classful one (RFC 2131 §2 leaves the default to the
 * client; classful is what BOOTP clients assumed). */
int ts_dhcp_parse_offer(const uint8_t *p, size_t len, ts_dhcp_offer *out);

/* ---- the server device */

typedef struct ts_dhcp_server ts_dhcp_server;

typedef struct ts_dhcp_server_config {
  uint32_t iface;          /* the host's interface that serves the clients */
  ts_ipaddr server_id;     /* family 0: the source address the host uses towards pool_first */
  ts_ipaddr pool_first, pool_last; /* inclusive; any IPv4 range, public ones included */
  uint8_t prefix_len;      /* the subnet's length, sent as the subnet mask (option 1) */
  ts_ipaddr router;        /* option 3; family 0: not sent */
  ts_ipaddr dns[TS_DHCP_MAX_ADDRS];
  uint32_t dns_count;      /* option 6 */
  const char *domain;      /* option 15; NULL: not sent */
  ts_dhcp_route routes[TS_DHCP_MAX_ROUTES];
  uint32_t route_count;    /* option 121 (sent whenever configured, as a rogue server does) */
  uint32_t lease_seconds;  /* option 51; 0 is invalid, TS_DHCP_LEASE_INFINITE allowed */
  uint32_t renewal_seconds, rebinding_seconds; /* 0: RFC 2131 §4.4.5 defaults */
  ts_time offer_hold;      /* how long an offered address stays reserved; 0: 60 s */
} ts_dhcp_server_config;

typedef struct ts_dhcp_server_stats {
  uint32_t discovers, requests, releases, declines, informs, malformed;
  uint32_t offers, acks, naks;
  uint32_t pool_exhausted; /* DISCOVERs left unanswered for want of an address */
} ts_dhcp_server_stats;

/* Binds UDP 67 on h and attaches the server to h's world. So that replies leave by
 * cfg->iface, adds two routes to h: the served subnet and 255.255.255.255/32. */
int ts_dhcp_server_create(ts_host *h, const ts_dhcp_server_config *cfg, ts_dhcp_server **out);
/* Replaces the routes of option 121 for replies from now on (the attacker's knob). */
int ts_dhcp_server_set_routes(ts_dhcp_server *s, const ts_dhcp_route *routes, uint32_t n);
void ts_dhcp_server_stats_get(const ts_dhcp_server *s, ts_dhcp_server_stats *out);
/* The address bound to the client with this hardware address at the world's current
 * time (an offered, expired, or released lease is not bound). */
bool ts_dhcp_server_lookup(const ts_dhcp_server *s, const uint8_t *chaddr, uint8_t hlen,
                           ts_ipaddr *addr, ts_time *expires);

#endif
