#include "tstest_net.h"

#include <string.h>

ts_ipaddr ts_test_addr(const char *text) {
  ts_ipaddr a;
  if (!ts_ipaddr_parse(text, &a)) memset(&a, 0, sizeof a);
  return a;
}

ts_ipprefix ts_test_prefix(const char *text) {
  ts_ipprefix p;
  if (ts_ipprefix_parse(text, &p) != 0) memset(&p, 0, sizeof p);
  return p;
}
