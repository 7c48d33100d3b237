/* Text-to-value parsers for scenario scalars. They know nothing about YAML or
 * messages: each returns a status that the schema layer turns into a sentence, so
 * the same parsers serve the loader and command-line options. Input strings are
 * NUL-terminated; callers reject scalars with embedded NULs before calling. */
#ifndef TS_SCENARIO_VALUES_H
#define TS_SCENARIO_VALUES_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "scenario.h"

typedef enum tsv_status {
  TSV_OK = 0,
  TSV_SYNTAX,        /* not a number / address / boolean at all */
  TSV_NO_UNIT,       /* a bare number where a unit is required */
  TSV_BAD_UNIT,      /* a number followed by an unknown unit */
  TSV_NEGATIVE,      /* a minus sign where only non-negative values exist */
  TSV_OVERFLOW,      /* does not fit the value's type or domain */
  TSV_INEXACT,       /* finer than the smallest step (1ns, 1bps, 1e-15) */
  TSV_NO_PREFIX,     /* address without the /len that is required */
  TSV_HAS_PREFIX,    /* /len on an address that must be plain */
  TSV_BAD_PREFIX,    /* /len out of range for the family */
} tsv_status;

tsv_status tsv_parse_duration(const char *s, ts_time *out);
tsv_status tsv_parse_rate(const char *s, uint64_t *bps);
/* Decimal digits only: no sign, no base prefix. */
tsv_status tsv_parse_uint(const char *s, uint64_t *out);
/* Decimal, or hexadecimal with a 0x prefix. */
tsv_status tsv_parse_seed(const char *s, uint64_t *out);
/* A decimal fraction in [0, 1] with at most 15 decimals, e.g. 0.01 or 1. */
tsv_status tsv_parse_probability(const char *s, double *out);
/* true/True/TRUE/false/False/FALSE (YAML 1.2 core schema). */
tsv_status tsv_parse_bool(const char *s, bool *out);
/* IPv4 or IPv6, with "/len" when with_prefix, without otherwise. */
tsv_status tsv_parse_address(const char *s, bool with_prefix, ts_ipprefix *out);

/* True when s is 1+ characters of [A-Za-z0-9_-], plus '.' when allow_dot. */
bool tsv_is_name(const char *s, bool allow_dot);

/* Shortest exact "10Mbps"-style form. Returns snprintf's result. */
int tsv_format_rate(uint64_t bps, char *buf, size_t n);
/* Shortest decimal that parses back to the same probability, e.g. "0.01". */
int tsv_format_probability(double p, char *buf, size_t n);

#endif
