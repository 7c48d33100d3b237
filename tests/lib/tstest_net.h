/* Address literals for tests that build networks: "10.0.0.1", "fd00::1", and
 * prefixes "10.0.0.0/24". A malformed literal gives the zero value (family 0), which
 * the code under test then refuses, so a typo fails the test rather than passing it. */
#ifndef TSTEST_NET_H
#define TSTEST_NET_H

#include "ts_ipsum.h"

ts_ipaddr ts_test_addr(const char *text);
ts_ipprefix ts_test_prefix(const char *text);

#endif
