#include "scenario_values.h"

#include "ts_ipsum.h"

#include <arpa/inet.h>
#include <math.h>
#include <stdio.h>
#include <string.h>

/* A unit multiplies by coeff * 10^exp10. Every unit we have has this shape, which
 * lets fractions like 1.5s be resolved exactly with 64-bit integers. */
typedef struct unit {
  const char *suffix;
  uint64_t coeff;
  int exp10;
} unit;

static const unit duration_units[] = {
    {"ns", 1, 0}, {"us", 1, 3}, {"ms", 1, 6}, {"s", 1, 9}, {"m", 6, 10}, {"h", 36, 11}, {NULL, 0, 0},
};
static const unit rate_units[] = {
    {"bps", 1, 0}, {"kbps", 1, 3}, {"Mbps", 1, 6}, {"Gbps", 1, 9}, {NULL, 0, 0},
};

/* Enough decimals for 1ns in hours (12) with room to spare; beyond this a value is
 * either inexact or written by a machine that should write smaller units. */
#define MAX_FRACTION_DIGITS 15

static const uint64_t pow10_table[] = {
    1ull, 10ull, 100ull, 1000ull, 10000ull, 100000ull, 1000000ull, 10000000ull,
    100000000ull, 1000000000ull, 10000000000ull, 100000000000ull, 1000000000000ull,
    10000000000000ull, 100000000000000ull, 1000000000000000ull, 10000000000000000ull,
    100000000000000000ull, 1000000000000000000ull, 10000000000000000000ull,
};

static bool is_digit(char c) { return c >= '0' && c <= '9'; }

static bool mul_overflows(uint64_t a, uint64_t b, uint64_t *out) {
  if (a != 0 && b > UINT64_MAX / a) return true;
  *out = a * b;
  return false;
}

static bool add_overflows(uint64_t a, uint64_t b, uint64_t *out) {
  if (b > UINT64_MAX - a) return true;
  *out = a + b;
  return false;
}

/* Reads [0-9]+ into *value; *end points after the digits. */
static tsv_status read_digits(const char *s, const char **end, uint64_t *value) {
  uint64_t v = 0;
  const char *p = s;
  bool overflow = false;
  for (; is_digit(*p); p++) {
    if (!overflow && (mul_overflows(v, 10, &v) || add_overflows(v, (uint64_t)(*p - '0'), &v)))
      overflow = true;
  }
  *end = p;
  if (p == s) return TSV_SYNTAX;
  *value = v;
  return overflow ? TSV_OVERFLOW : TSV_OK;
}

/* A decimal number split into integer part and an exact fraction frac/10^digits
 * with trailing zeros removed. */
typedef struct decimal {
  uint64_t integer;
  uint64_t frac;
  int frac_digits;
} decimal;

static tsv_status read_decimal(const char *s, const char **end, decimal *d) {
  memset(d, 0, sizeof *d);
  if (*s == '-') return TSV_NEGATIVE;
  /* An integer part too big to hold is reported only after the whole number is
   * read, so the unit that follows is still recognised. */
  tsv_status integer_status = read_digits(s, end, &d->integer);
  if (integer_status == TSV_SYNTAX) return TSV_SYNTAX;
  if (**end != '.') return integer_status;
  const char *frac = *end + 1, *frac_end = frac;
  while (is_digit(*frac_end)) frac_end++;
  *end = frac_end;
  if (frac_end == frac) return TSV_SYNTAX;
  while (frac_end > frac && frac_end[-1] == '0') frac_end--;
  if (frac_end - frac > MAX_FRACTION_DIGITS) return TSV_INEXACT;
  for (const char *p = frac; p < frac_end; p++) d->frac = d->frac * 10 + (uint64_t)(*p - '0');
  d->frac_digits = (int)(frac_end - frac);
  return integer_status;
}

/* value = d * coeff * 10^exp10, exactly, or an error. */
static tsv_status scale_decimal(const decimal *d, const unit *u, uint64_t *out) {
  uint64_t multiplier, whole, part;
  if (mul_overflows(u->coeff, pow10_table[u->exp10], &multiplier)) return TSV_OVERFLOW;
  if (mul_overflows(d->integer, multiplier, &whole)) return TSV_OVERFLOW;
  /* frac < 10^15 and coeff <= 36, so frac * coeff fits; the fractional part of the
   * result is below multiplier, so nothing here overflows. */
  uint64_t scaled_frac = d->frac * u->coeff;
  if (u->exp10 >= d->frac_digits) {
    part = scaled_frac * pow10_table[u->exp10 - d->frac_digits];
  } else {
    uint64_t divisor = pow10_table[d->frac_digits - u->exp10];
    if (scaled_frac % divisor != 0) return TSV_INEXACT;
    part = scaled_frac / divisor;
  }
  if (add_overflows(whole, part, out)) return TSV_OVERFLOW;
  return TSV_OK;
}

static tsv_status parse_with_unit(const char *s, const unit *units, uint64_t *out) {
  decimal d;
  const char *end;
  tsv_status st = read_decimal(s, &end, &d);
  if (st == TSV_SYNTAX || st == TSV_NEGATIVE) return st;
  if (*end == '\0') return st == TSV_OK ? TSV_NO_UNIT : st;
  const unit *u = units;
  while (u->suffix && strcmp(u->suffix, end) != 0) u++;
  if (!u->suffix) return TSV_BAD_UNIT;
  if (st != TSV_OK) return st;
  return scale_decimal(&d, u, out);
}

tsv_status tsv_parse_duration(const char *s, ts_time *out) {
  uint64_t ns;
  tsv_status st = parse_with_unit(s, duration_units, &ns);
  if (st != TSV_OK) return st;
  if (ns > (uint64_t)INT64_MAX) return TSV_OVERFLOW;
  *out = (ts_time)ns;
  return TSV_OK;
}

tsv_status tsv_parse_rate(const char *s, uint64_t *bps) { return parse_with_unit(s, rate_units, bps); }

tsv_status tsv_parse_uint(const char *s, uint64_t *out) {
  if (*s == '-') return TSV_NEGATIVE;
  const char *end;
  uint64_t v;
  tsv_status st = read_digits(s, &end, &v);
  if (st == TSV_SYNTAX || *end != '\0') return TSV_SYNTAX;
  if (st != TSV_OK) return st;
  *out = v;
  return TSV_OK;
}

static int hex_value(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

tsv_status tsv_parse_seed(const char *s, uint64_t *out) {
  if (!(s[0] == '0' && (s[1] == 'x' || s[1] == 'X'))) return tsv_parse_uint(s, out);
  const char *p = s + 2;
  if (*p == '\0') return TSV_SYNTAX;
  uint64_t v = 0;
  for (; *p; p++) {
    int digit = hex_value(*p);
    if (digit < 0) return TSV_SYNTAX;
    if (v >> 60) return TSV_OVERFLOW;
    v = (v << 4) | (uint64_t)digit;
  }
  *out = v;
  return TSV_OK;
}

tsv_status tsv_parse_probability(const char *s, double *out) {
  decimal d;
  const char *end;
  tsv_status st = read_decimal(s, &end, &d);
  if (st == TSV_SYNTAX || st == TSV_NEGATIVE) return st;
  if (*end != '\0') return TSV_SYNTAX;
  if (st != TSV_OK) return st;
  if (d.integer > 1 || (d.integer == 1 && d.frac != 0)) return TSV_OVERFLOW;
  /* Both operands are exact doubles (< 2^53), so IEEE division rounds the decimal
   * correctly, with no dependence on the C locale (unlike strtod). */
  *out = d.integer == 1 ? 1.0 : (double)d.frac / (double)pow10_table[d.frac_digits];
  return TSV_OK;
}

tsv_status tsv_parse_bool(const char *s, bool *out) {
  static const char *const truths[] = {"true", "True", "TRUE"};
  static const char *const lies[] = {"false", "False", "FALSE"};
  for (size_t i = 0; i < 3; i++) {
    if (strcmp(s, truths[i]) == 0) { *out = true; return TSV_OK; }
    if (strcmp(s, lies[i]) == 0) { *out = false; return TSV_OK; }
  }
  return TSV_SYNTAX;
}

tsv_status tsv_parse_address(const char *s, bool with_prefix, ts_ipprefix *out) {
  char text[INET6_ADDRSTRLEN];
  const char *slash = strchr(s, '/');
  size_t addr_len = slash ? (size_t)(slash - s) : strlen(s);
  if (addr_len == 0 || addr_len >= sizeof text) return TSV_SYNTAX;
  memcpy(text, s, addr_len);
  text[addr_len] = '\0';

  memset(out, 0, sizeof *out);
  if (!ts_ipaddr_parse(text, &out->addr)) return TSV_SYNTAX;
  out->len = out->addr.family == 6 ? 128 : 32;
  if (!slash) return with_prefix ? TSV_NO_PREFIX : TSV_OK;
  if (!with_prefix) return TSV_HAS_PREFIX;
  /* The address is good, so a failure is the prefix's (out keeps the family). */
  return ts_ipprefix_parse(s, out) == 0 ? TSV_OK : TSV_BAD_PREFIX;
}

bool tsv_is_name(const char *s, bool allow_dot) {
  if (!*s) return false;
  for (; *s; s++) {
    char c = *s;
    bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || is_digit(c) || c == '_' ||
              c == '-' || (allow_dot && c == '.');
    if (!ok) return false;
  }
  return true;
}

/* The largest unit that divides value exactly; units are sorted small to large. */
static const unit *largest_exact_unit(uint64_t value, const unit *units) {
  const unit *best = &units[0];
  for (const unit *u = units; u->suffix; u++) {
    uint64_t multiplier = u->coeff * pow10_table[u->exp10];
    if (value % multiplier == 0) best = u;
  }
  return best;
}

static int format_with_unit(uint64_t value, const unit *units, const char *zero, char *buf,
                            size_t n) {
  if (value == 0) return snprintf(buf, n, "%s", zero);
  const unit *u = largest_exact_unit(value, units);
  uint64_t multiplier = u->coeff * pow10_table[u->exp10];
  return snprintf(buf, n, "%llu%s", (unsigned long long)(value / multiplier), u->suffix);
}

int ts_format_duration(ts_time t, char *buf, size_t n) {
  if (t < 0) {
    /* Not a value scenarios hold, but print it faithfully rather than wrap. */
    return snprintf(buf, n, "-%lluns", (unsigned long long)-(uint64_t)t);
  }
  return format_with_unit((uint64_t)t, duration_units, "0s", buf, n);
}

int tsv_format_rate(uint64_t bps, char *buf, size_t n) {
  return format_with_unit(bps, rate_units, "0bps", buf, n);
}

int tsv_format_probability(double p, char *buf, size_t n) {
  if (!(p > 0.0)) return snprintf(buf, n, "0");
  if (p >= 1.0) return snprintf(buf, n, "1");
  /* Find the fewest decimals k with round(p*10^k)/10^k == p; loaded values were
   * made exactly that way, so this terminates by k = 15 for them. */
  for (int k = 1; k <= MAX_FRACTION_DIGITS; k++) {
    double scale = (double)pow10_table[k];
    double digits = nearbyint(p * scale);
    if (digits / scale == p) {
      return snprintf(buf, n, "0.%0*llu", k, (unsigned long long)digits);
    }
  }
  return snprintf(buf, n, "%.17g", p);
}

int ts_parse_duration(const char *text, ts_time *out) {
  if (!text || !out) return TS_EINVAL;
  switch (tsv_parse_duration(text, out)) {
    case TSV_OK: return 0;
    case TSV_OVERFLOW:
    case TSV_INEXACT: return TS_ERANGE;
    default: return TS_EPARSE;
  }
}

