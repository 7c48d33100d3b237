/* DNS message codec (RFC 1035 §4.1; AAAA per RFC 3596 §2.2). Pure functions over
 * bytes: no world, no allocation. */
#include <string.h>

#include "ts_bytes.h"
#include "ts_dns.h"
#include "ts_error.h"

static char lower(char c) { return c >= 'A' && c <= 'Z' ? (char)(c - 'A' + 'a') : c; }

bool ts_dns_name_equal(const char *a, const char *b) {
  size_t la = strlen(a), lb = strlen(b);
  if (la && a[la - 1] == '.') la--;
  if (lb && b[lb - 1] == '.') lb--;
  if (la != lb) return false;
  for (size_t i = 0; i < la; i++)
    if (lower(a[i]) != lower(b[i])) return false;
  return true;
}

void ts_dns_query_init(ts_dns_message *m, uint16_t id, const char *name, uint16_t type) {
  memset(m, 0, sizeof *m);
  m->id = id;
  m->flags = TS_DNS_FLAG_RD;
  size_t n = strlen(name);
  if (n > TS_DNS_NAME_TEXT_MAX) n = TS_DNS_NAME_TEXT_MAX; /* the encoder rejects it then */
  memcpy(m->questions[0].name, name, n);
  m->questions[0].type = type;
  m->questions[0].klass = TS_DNS_CLASS_IN;
  m->question_count = 1;
}

/* ---- names */

int ts_dns_read_name(const uint8_t *p, size_t len, size_t *at, char *text, size_t cap) {
  size_t pos = *at, out = 0, wire = 0;
  size_t end = 0;       /* where the name ends in the message, set at the first pointer */
  size_t floor = pos;   /* a pointer must point before the label that holds it */
  bool jumped = false;
  for (;;) {
    if (pos >= len) return TS_ETRUNC;
    uint8_t b = p[pos];
    if ((b & TS_DNS_POINTER_MASK) == TS_DNS_POINTER_MASK) {
      if (pos + 1 >= len) return TS_ETRUNC;
      size_t target = (size_t)(ts_rd16(p + pos) & 0x3fff);
      /* Strictly backwards from every label followed: each jump lowers the
       * position, so the walk ends after at most len jumps (RFC 1035 §4.1.4 lets
       * pointers refer to "a prior occurance of the same name"). */
      if (target >= floor) return TS_EPARSE;
      if (!jumped) end = pos + 2;
      jumped = true;
      pos = floor = target;
      continue;
    }
    if (b & TS_DNS_POINTER_MASK) return TS_EPARSE; /* 01 and 10 are reserved (§4.1.4) */
    wire += 1u + b;
    /* a label must leave room for the root label too (RFC 1035 §2.3.4) */
    if (wire + (b ? 1u : 0u) > TS_DNS_NAME_WIRE_MAX) return TS_EPARSE;
    if (b == 0) {
      if (!jumped) end = pos + 1;
      break;
    }
    if (len - pos - 1 < b) return TS_ETRUNC;
    const uint8_t *label = p + pos + 1;
    /* dotted text must decode back to the same labels */
    if (memchr(label, '.', b) || memchr(label, 0, b)) return TS_EPARSE;
    if (out + (out ? 1 : 0) + b + 1 > cap) return TS_EFULL;
    if (out) text[out++] = '.';
    memcpy(text + out, label, b);
    out += b;
    pos += 1u + b;
  }
  if (cap == 0) return TS_EFULL;
  text[out] = 0;
  *at = end;
  return TS_OK;
}

/* Wire form of a dotted name into out; returns its length or a negative code. */
static int name_to_wire(const char *name, uint8_t *out, size_t cap) {
  size_t n = strlen(name), at = 0, start = 0;
  if (n && name[n - 1] == '.') n--;
  if (n) {
    for (size_t i = 0; i <= n; i++) {
      if (i < n && name[i] != '.') continue;
      size_t label = i - start;
      if (label == 0 || label > TS_DNS_LABEL_MAX) return TS_EINVAL;
      if (at + 1 + label > cap) return TS_EFULL;
      out[at++] = (uint8_t)label;
      memcpy(out + at, name + start, label);
      at += label;
      start = i + 1;
    }
  }
  if (at + 1 > TS_DNS_NAME_WIRE_MAX) return TS_EINVAL;
  if (at + 1 > cap) return TS_EFULL;
  out[at++] = 0;
  return (int)at;
}

/* ---- encode */

struct writer {
  uint8_t *p;
  size_t cap, at;
};

static int put_name(struct writer *w, const char *name) {
  int n = name_to_wire(name, w->p + w->at, w->cap - w->at);
  if (n < 0) return n;
  w->at += (size_t)n;
  return TS_OK;
}

static int put_bytes(struct writer *w, const void *b, size_t n) {
  if (w->cap - w->at < n) return TS_EFULL;
  memcpy(w->p + w->at, b, n);
  w->at += n;
  return TS_OK;
}

static int put_record(struct writer *w, const ts_dns_record *r, const char *first_question) {
  int rc;
  if (first_question && !strcmp(r->name, first_question)) {
    uint8_t ptr[2];
    ts_wr16(ptr, TS_DNS_POINTER_FIRST_QUESTION);
    rc = put_bytes(w, ptr, 2);
  } else {
    rc = put_name(w, r->name);
  }
  if (rc) return rc;
  uint8_t fixed[10];
  ts_wr16(fixed, r->type);
  ts_wr16(fixed + 2, r->klass);
  ts_wr32(fixed + 4, r->ttl);
  if (r->type == TS_DNS_TYPE_A || r->type == TS_DNS_TYPE_AAAA) {
    uint8_t family = r->type == TS_DNS_TYPE_A ? 4 : 6;
    uint16_t rdlen = family == 4 ? 4 : 16;
    if (r->addr.family != family) return TS_EINVAL;
    ts_wr16(fixed + 8, rdlen);
    if ((rc = put_bytes(w, fixed, 10))) return rc;
    return put_bytes(w, r->addr.bytes, rdlen);
  }
  if (r->type != TS_DNS_TYPE_CNAME) return TS_EINVAL;
  if ((rc = put_bytes(w, fixed, 10))) return rc;
  size_t rdata = w->at;
  if ((rc = put_name(w, r->target))) return rc;
  ts_wr16(w->p + rdata - 2, (uint16_t)(w->at - rdata));
  return TS_OK;
}

int ts_dns_encode(const ts_dns_message *m, uint8_t *out, size_t cap, size_t *len) {
  if (m->question_count > TS_DNS_MAX_QUESTIONS || m->answer_count > TS_DNS_MAX_ANSWERS)
    return TS_EINVAL;
  if (cap < TS_DNS_HEADER_LEN) return TS_EFULL;
  ts_wr16(out, m->id);
  ts_wr16(out + 2, m->flags);
  ts_wr16(out + 4, m->question_count);
  ts_wr16(out + 6, m->answer_count);
  ts_wr16(out + 8, 0);
  ts_wr16(out + 10, 0);
  struct writer w = {out, cap, TS_DNS_HEADER_LEN};
  int rc;
  for (uint8_t i = 0; i < m->question_count; i++) {
    const ts_dns_question *q = &m->questions[i];
    if ((rc = put_name(&w, q->name))) return rc;
    uint8_t tail[4];
    ts_wr16(tail, q->type);
    ts_wr16(tail + 2, q->klass);
    if ((rc = put_bytes(&w, tail, 4))) return rc;
  }
  const char *first = m->question_count ? m->questions[0].name : NULL;
  for (uint8_t i = 0; i < m->answer_count; i++)
    if ((rc = put_record(&w, &m->answers[i], first))) return rc;
  *len = w.at;
  return TS_OK;
}

/* ---- decode */

/* One resource record at *at; stored in r when r is not NULL and its type is known.
 * Returns 0, 1 (decoded but of a type not stored), or a negative code. */
static int read_record(const uint8_t *p, size_t len, size_t *at, ts_dns_record *r) {
  ts_dns_record tmp;
  ts_dns_record *rec = r ? r : &tmp;
  memset(rec, 0, sizeof *rec);
  int rc = ts_dns_read_name(p, len, at, rec->name, sizeof rec->name);
  if (rc) return rc;
  if (len - *at < 10) return TS_ETRUNC;
  rec->type = ts_rd16(p + *at);
  rec->klass = ts_rd16(p + *at + 2);
  rec->ttl = ts_rd32(p + *at + 4);
  uint16_t rdlen = ts_rd16(p + *at + 8);
  *at += 10;
  if (len - *at < rdlen) return TS_ETRUNC;
  size_t rdata = *at, rdend = *at + rdlen;
  *at = rdend;
  switch (rec->type) {
  case TS_DNS_TYPE_A:
    if (rdlen != 4) return TS_EPARSE;
    rec->addr.family = 4;
    memcpy(rec->addr.bytes, p + rdata, 4);
    return TS_OK;
  case TS_DNS_TYPE_AAAA:
    if (rdlen != 16) return TS_EPARSE; /* RFC 3596 §2.2: a 128-bit address */
    rec->addr.family = 6;
    memcpy(rec->addr.bytes, p + rdata, 16);
    return TS_OK;
  case TS_DNS_TYPE_CNAME: {
    /* the target may be compressed; it must end exactly where rdata does */
    size_t pos = rdata;
    rc = ts_dns_read_name(p, rdend, &pos, rec->target, sizeof rec->target);
    if (rc == TS_ETRUNC) return TS_EPARSE;
    if (rc) return rc;
    if (pos != rdend) return TS_EPARSE;
    return TS_OK;
  }
  default:
    return 1;
  }
}

int ts_dns_decode(const uint8_t *p, size_t len, ts_dns_message *m) {
  memset(m, 0, sizeof *m);
  if (len < TS_DNS_HEADER_LEN) return TS_ETRUNC;
  m->id = ts_rd16(p);
  m->flags = ts_rd16(p + 2);
  uint16_t qd = ts_rd16(p + 4), an = ts_rd16(p + 6), ns = ts_rd16(p + 8), ar = ts_rd16(p + 10);
  if (qd > TS_DNS_MAX_QUESTIONS) return TS_EFULL;
  size_t at = TS_DNS_HEADER_LEN;
  for (uint16_t i = 0; i < qd; i++) {
    ts_dns_question *q = &m->questions[i];
    int rc = ts_dns_read_name(p, len, &at, q->name, sizeof q->name);
    if (rc) return rc;
    if (len - at < 4) return TS_ETRUNC;
    q->type = ts_rd16(p + at);
    q->klass = ts_rd16(p + at + 2);
    at += 4;
  }
  m->question_count = (uint8_t)qd;
  /* every record is checked; at most TS_DNS_MAX_ANSWERS known answers are kept */
  uint32_t total = (uint32_t)an + ns + ar;
  for (uint32_t i = 0; i < total; i++) {
    bool keep = i < an && m->answer_count < TS_DNS_MAX_ANSWERS;
    int rc = read_record(p, len, &at, keep ? &m->answers[m->answer_count] : NULL);
    if (rc < 0) return rc;
    if (keep && rc == 0)
      m->answer_count++;
    else if (keep)
      memset(&m->answers[m->answer_count], 0, sizeof m->answers[0]);
  }
  return TS_OK;
}
