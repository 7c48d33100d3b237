/* IPv4/IPv6 helpers over raw bytes: addresses, header parsing, checksums, and
 * building the few packets the native hosts send (ICMP echo, UDP). Parsing never
 * trusts a length field: every offset is checked against the buffer. */
#ifndef TS_IPSUM_H
#define TS_IPSUM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define TS_IPPROTO_ICMP 1
#define TS_IPPROTO_TCP 6
#define TS_IPPROTO_UDP 17
#define TS_IPPROTO_ICMPV6 58
#define TS_IPV4_HEADER 20
#define TS_IPV6_HEADER 40
#define TS_UDP_HEADER 8
#define TS_ICMP_ECHO_HEADER 8

typedef struct ts_ipaddr {
  uint8_t family; /* 4 or 6; 0 = none */
  uint8_t bytes[16];
} ts_ipaddr;

typedef struct ts_ipprefix {
  ts_ipaddr addr;
  uint8_t len;
} ts_ipprefix;

typedef struct ts_ip_info {
  uint8_t family;
  uint8_t proto;  /* IPv6: the first next-header (extension headers are not walked) */
  uint8_t ttl;
  ts_ipaddr src, dst;
  uint32_t l4_offset, l4_len;
  uint16_t sport, dport;   /* UDP/TCP */
  uint8_t icmp_type, icmp_code;
  uint16_t icmp_id, icmp_seq;
} ts_ip_info;

bool ts_ipaddr_equal(const ts_ipaddr *a, const ts_ipaddr *b);
bool ts_ipprefix_contains(const ts_ipprefix *p, const ts_ipaddr *a);
/* "10.0.0.1" or "fd00::1"; returns false if neither. */
bool ts_ipaddr_parse(const char *text, ts_ipaddr *out);
void ts_ipaddr_format(const ts_ipaddr *a, char *buf, size_t n);
/* "10.0.0.0/8", "fd00::/64", or a plain address (a host prefix). 0 or TS_EPARSE. */
int ts_ipprefix_parse(const char *text, ts_ipprefix *out);
/* "10.0.0.1/24" (with_prefix) or "10.0.0.1". Returns snprintf's result, -1 on a bad family. */
int ts_ipprefix_format(const ts_ipprefix *p, bool with_prefix, char *buf, size_t n);

/* 0 on success, a negative TS_E* code if the bytes are not a well-formed IP packet
 * (an IPv4 header checksum that does not verify included). */
int ts_ip_parse(const uint8_t *p, uint32_t len, ts_ip_info *info);
void ts_ipsum_describe(const uint8_t *p, uint32_t len, char *buf, size_t n);

uint16_t ts_checksum_finish(uint32_t sum);
uint32_t ts_checksum_add(uint32_t sum, const uint8_t *p, size_t len);

/* The IPv4 (with its checksum; DF set, TTL 64) or IPv6 header for `l4_len` bytes of
 * `proto` payload; returns the header's size. The families of src and dst match. */
uint32_t ts_ip_write_header(uint8_t *out, const ts_ipaddr *src, const ts_ipaddr *dst, uint8_t proto,
                            uint32_t l4_len);
/* The checksum sum over the pseudo-header of UDP, TCP and ICMPv6 (RFC 768, 9293, 8200). */
uint32_t ts_ip_pseudo_header_sum(const ts_ipaddr *src, const ts_ipaddr *dst, uint8_t proto,
                                 uint32_t l4_len);

/* Builders write a complete packet into `out` (room for `cap` bytes) and return its
 * length, or 0 if it does not fit or the addresses' families differ. */
uint32_t ts_ip_build_udp(uint8_t *out, uint32_t cap, const ts_ipaddr *src, const ts_ipaddr *dst,
                         uint16_t sport, uint16_t dport, const uint8_t *payload, uint32_t len);
uint32_t ts_ip_build_echo(uint8_t *out, uint32_t cap, const ts_ipaddr *src, const ts_ipaddr *dst,
                          bool reply, uint16_t id, uint16_t seq, const uint8_t *payload,
                          uint32_t len);

#endif
