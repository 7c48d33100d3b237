/* DNS (RFC 1035) for the simulated network: a codec of pure functions over bytes
 * for queries and responses with A (RFC 1035 §3.4.1), AAAA (RFC 3596) and CNAME
 * records, and an authoritative server device on a ts_host's UDP port 53 whose
 * zone can be overridden by a spoof table (the attacker's knob: answer the relay's
 * name with the attacker's address).
 *
 * Names are dotted text without the trailing dot ("" is the root). Decoders follow
 * compression pointers (RFC 1035 §4.1.4) only backwards, so a loop cannot exist,
 * never read past the buffer, and return a negative TS_E* code on malformed input. */
#ifndef TS_DNS_H
#define TS_DNS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "ts_ipsum.h"
#include "ts_net.h"

/* ---- protocol constants (RFC 1035 §2.3.4, §3.2, §4.1; RFC 3596 §2.1) */
#define TS_DNS_PORT 53
#define TS_DNS_HEADER_LEN 12
#define TS_DNS_UDP_MAX 512       /* §2.3.4: UDP messages without EDNS */
#define TS_DNS_NAME_WIRE_MAX 255 /* §2.3.4: a name's wire form, length octets included */
#define TS_DNS_LABEL_MAX 63
#define TS_DNS_NAME_TEXT_MAX 253 /* the longest dotted text of a 255-octet wire name */
#define TS_DNS_POINTER_MASK 0xc0 /* §4.1.4: top two bits 11 start a pointer */
#define TS_DNS_POINTER_FIRST_QUESTION 0xc00c /* the name at offset 12 */
#define TS_DNS_TYPE_A 1
#define TS_DNS_TYPE_CNAME 5
#define TS_DNS_TYPE_AAAA 28
#define TS_DNS_CLASS_IN 1

/* header flag bits, §4.1.1 */
#define TS_DNS_FLAG_QR 0x8000u
#define TS_DNS_OPCODE_SHIFT 11
#define TS_DNS_OPCODE_MASK 0x7800u
#define TS_DNS_FLAG_AA 0x0400u
#define TS_DNS_FLAG_TC 0x0200u
#define TS_DNS_FLAG_RD 0x0100u
#define TS_DNS_FLAG_RA 0x0080u
#define TS_DNS_RCODE_MASK 0x000fu
#define TS_DNS_RCODE_NOERROR 0
#define TS_DNS_RCODE_FORMERR 1
#define TS_DNS_RCODE_SERVFAIL 2
#define TS_DNS_RCODE_NXDOMAIN 3
#define TS_DNS_RCODE_NOTIMP 4
#define TS_DNS_RCODE_REFUSED 5

/* ---- what the codec stores (model limits) */
#define TS_DNS_MAX_QUESTIONS 4
#define TS_DNS_MAX_ANSWERS 16  /* A, AAAA and CNAME answers kept; others are skipped */

typedef struct ts_dns_question {
  char name[TS_DNS_NAME_TEXT_MAX + 1];
  uint16_t type, klass;
} ts_dns_question;

typedef struct ts_dns_record {
  char name[TS_DNS_NAME_TEXT_MAX + 1];
  uint16_t type, klass;
  uint32_t ttl;
  ts_ipaddr addr;                           /* A (family 4) or AAAA (family 6) */
  char target[TS_DNS_NAME_TEXT_MAX + 1];    /* CNAME */
} ts_dns_record;

typedef struct ts_dns_message {
  uint16_t id;
  uint16_t flags; /* QR, opcode, AA, TC, RD, RA, Z, RCODE as on the wire */
  ts_dns_question questions[TS_DNS_MAX_QUESTIONS];
  uint8_t question_count;
  ts_dns_record answers[TS_DNS_MAX_ANSWERS]; /* answer section only */
  uint8_t answer_count;
} ts_dns_message;

/* A query for one name (RD set, as a stub resolver sends). */
void ts_dns_query_init(ts_dns_message *m, uint16_t id, const char *name, uint16_t type);

/* Writes m; a record whose name equals the first question's is compressed to a
 * pointer to it (RFC 1035 §4.1.4), the rest are written in full. 0 and *len,
 * TS_EFULL if it does not fit, TS_EINVAL for a name that cannot be encoded (an empty
 * label, a label over 63 octets, a name over 255 octets) or a record whose address
 * family does not match its type. */
int ts_dns_encode(const ts_dns_message *m, uint8_t *out, size_t cap, size_t *len);
/* 0, TS_ETRUNC (the message ends inside a header, name or record), TS_EPARSE (a
 * label type other than 00 or 11, a pointer that does not point backwards, a name
 * over 255 octets, a label holding '.' or NUL, an A or AAAA record of the wrong
 * length), TS_EFULL (more questions than TS_DNS_MAX_QUESTIONS). Authority and
 * additional records are checked for bounds and otherwise skipped. */
int ts_dns_decode(const uint8_t *p, size_t len, ts_dns_message *m);

/* Reads the (possibly compressed) name at *at into text; *at moves past it in the
 * message (not past the pointer's target). Errors as ts_dns_decode. */
int ts_dns_read_name(const uint8_t *p, size_t len, size_t *at, char *text, size_t cap);

/* ASCII case-insensitive (RFC 4343), a trailing dot ignored on either side. */
bool ts_dns_name_equal(const char *a, const char *b);

/* ---- the server device */

typedef struct ts_dns_server ts_dns_server;

typedef struct ts_dns_server_stats {
  uint32_t queries, answered, nodata, nxdomain, spoofed, refused, malformed, truncated;
} ts_dns_server_stats;

/* Binds UDP 53 of h and attaches the server to h's world. */
int ts_dns_server_create(ts_host *h, ts_dns_server **out);
/* A zone record: A for an IPv4 address, AAAA for an IPv6 one. A name may have
 * several of each; answers list them in the order added. */
int ts_dns_server_add(ts_dns_server *s, const char *name, const ts_ipaddr *addr, uint32_t ttl);
/* Spoofs a name: from now on its answers come from the spoof table only (the zone's
 * records of that name are hidden, so a client never sees the real address in
 * either family). Several spoof records per name are allowed. */
int ts_dns_server_spoof(ts_dns_server *s, const char *name, const ts_ipaddr *addr, uint32_t ttl);
/* Ends spoofing of a name (its zone records show again). */
void ts_dns_server_unspoof(ts_dns_server *s, const char *name);
void ts_dns_server_stats_get(const ts_dns_server *s, ts_dns_server_stats *out);

#endif
