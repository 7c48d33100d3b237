/* A tiny test harness: every test binary registers cases with TS_TEST and calls
 * ts_test_main(). A failed check reports file:line and the expression, marks the
 * case failed and returns from it. The binary exits non-zero when any case failed. */
#ifndef TSTEST_H
#define TSTEST_H

#include <stdint.h>
#include <stdio.h>
#include <string.h>

typedef void (*ts_test_fn)(void);

void ts_test_register(const char *name, ts_test_fn fn);
void ts_test_fail(const char *file, int line, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
int ts_test_failed_now(void);
int ts_test_main(int argc, char **argv);
/* Names of the files in dir ending in suffix, sorted, at most max (strdup'ed: free
 * them with ts_test_free_names); 0 when the folder cannot be read. */
size_t ts_test_list_files(const char *dir, const char *suffix, char **names, size_t max);
void ts_test_free_names(char **names, size_t count);
/* The first line of a file without its line break; 0 when unreadable or empty. */
int ts_test_first_line(const char *path, char *buf, size_t size);
/* Frames of the capture at `path` that match the display filter, as tshark counts
 * them (-1 if tshark could not run). */
int ts_test_tshark_count(const char *path, const char *filter);
/* The same with extra tshark options, e.g. "-o tcp.check_checksum:TRUE". */
int ts_test_tshark_count_with(const char *path, const char *options, const char *filter);
/* True when tshark is installed; otherwise fails the current case with a message
 * that says how to install it. */
int ts_test_need_tshark(const char *file, int line);

#define TS_TEST(name)                                                       \
  static void name(void);                                                   \
  __attribute__((constructor)) static void name##_register(void) {          \
    ts_test_register(#name, name);                                          \
  }                                                                         \
  static void name(void)

#define TS_CHECK(expr)                                                      \
  do {                                                                      \
    if (!(expr)) {                                                          \
      ts_test_fail(__FILE__, __LINE__, "check failed: %s", #expr);          \
      return;                                                               \
    }                                                                       \
  } while (0)

#define TS_CHECK_INT(a, op, b)                                              \
  do {                                                                      \
    long long ts_a_ = (long long)(a), ts_b_ = (long long)(b);               \
    if (!(ts_a_ op ts_b_)) {                                                \
      ts_test_fail(__FILE__, __LINE__, "%s %s %s: %lld vs %lld", #a, #op,   \
                   #b, ts_a_, ts_b_);                                       \
      return;                                                               \
    }                                                                       \
  } while (0)

#define TS_CHECK_STR(a, b)                                                  \
  do {                                                                      \
    const char *ts_a_ = (a), *ts_b_ = (b);                                  \
    if (!ts_a_ || !ts_b_ || strcmp(ts_a_, ts_b_) != 0) {                    \
      ts_test_fail(__FILE__, __LINE__, "%s == %s: \"%s\" vs \"%s\"", #a, #b, \
                   ts_a_ ? ts_a_ : "(null)", ts_b_ ? ts_b_ : "(null)");     \
      return;                                                               \
    }                                                                       \
  } while (0)

#define TS_CHECK_MEM(a, b, n)                                               \
  do {                                                                      \
    if (memcmp((a), (b), (n)) != 0) {                                       \
      ts_test_fail(__FILE__, __LINE__, "%s == %s (%zu bytes) differ", #a,   \
                   #b, (size_t)(n));                                        \
      return;                                                               \
    }                                                                       \
  } while (0)

#endif
