#include "tstest.h"

#include <dirent.h>
#include <stdarg.h>
#include <stdlib.h>

#define TS_TEST_MAX 512

struct ts_test_case {
  const char *name;
  ts_test_fn fn;
};

/* Registration happens from constructors before main; this table belongs to the
 * test binary, never to the simulator. */
static struct ts_test_case cases[TS_TEST_MAX];
static int case_count;
static int current_failed;

void ts_test_register(const char *name, ts_test_fn fn) {
  if (case_count == TS_TEST_MAX) {
    fprintf(stderr, "tstest: more than %d cases\n", TS_TEST_MAX);
    abort();
  }
  cases[case_count].name = name;
  cases[case_count].fn = fn;
  case_count++;
}

void ts_test_fail(const char *file, int line, const char *fmt, ...) {
  va_list ap;
  fprintf(stderr, "%s:%d: ", file, line);
  va_start(ap, fmt);
  vfprintf(stderr, fmt, ap);
  va_end(ap);
  fputc('\n', stderr);
  current_failed = 1;
}

int ts_test_failed_now(void) { return current_failed; }

static int compare_names(const void *a, const void *b) {
  return strcmp(*(char *const *)a, *(char *const *)b);
}

size_t ts_test_list_files(const char *dir, const char *suffix, char **names, size_t max) {
  DIR *d = opendir(dir);
  if (!d) return 0;
  size_t n = 0, sl = strlen(suffix);
  struct dirent *e;
  while ((e = readdir(d)) != NULL && n < max) {
    size_t len = strlen(e->d_name);
    if (len > sl && strcmp(e->d_name + len - sl, suffix) == 0) names[n++] = strdup(e->d_name);
  }
  closedir(d);
  qsort(names, n, sizeof *names, compare_names);
  return n;
}

void ts_test_free_names(char **names, size_t count) {
  for (size_t i = 0; i < count; i++) free(names[i]);
}

int ts_test_first_line(const char *path, char *buf, size_t size) {
  FILE *f = fopen(path, "rb");
  if (!f) return 0;
  int ok = fgets(buf, (int)size, f) != NULL;
  fclose(f);
  if (ok) buf[strcspn(buf, "\r\n")] = '\0';
  return ok;
}

int ts_test_tshark_count(const char *path, const char *filter) {
  return ts_test_tshark_count_with(path, "", filter);
}

int ts_test_tshark_count_with(const char *path, const char *options, const char *filter) {
  char cmd[1024];
  snprintf(cmd, sizeof cmd, "tshark -n %s -r '%s' -Y '%s' 2>/dev/null | wc -l", options, path,
           filter);
  FILE *p = popen(cmd, "r");
  if (!p) return -1;
  int count = -1;
  if (fscanf(p, "%d", &count) != 1) count = -1;
  if (pclose(p) != 0) return -1;
  return count;
}

int ts_test_need_tshark(const char *file, int line) {
  if (system("command -v tshark >/dev/null 2>&1") == 0) return 1;
  ts_test_fail(file, line, "tshark not found: run scripts/deps.sh to install it");
  return 0;
}

int ts_test_main(int argc, char **argv) {
  int passed = 0, failed = 0;
  const char *only = argc > 1 ? argv[1] : NULL;
  for (int i = 0; i < case_count; i++) {
    if (only && strcmp(only, cases[i].name) != 0) continue;
    current_failed = 0;
    cases[i].fn();
    printf("%s %s\n", current_failed ? "FAIL" : "ok  ", cases[i].name);
    if (current_failed) failed++; else passed++;
  }
  printf("%d passed, %d failed\n", passed, failed);
  return failed ? 1 : 0;
}

/* Test binaries have no main of their own unless they define TS_TEST_OWN_MAIN. */
__attribute__((weak)) int main(int argc, char **argv) { return ts_test_main(argc, argv); }
