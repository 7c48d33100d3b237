/* Every file in tests/scenario_bad/ is a scenario with one mistake. Its sibling
 * .expect file holds the exact first line of the message the loader must give,
 * with the file name as passed (relative to that folder). The test runs from the
 * repository root. */
#include <dirent.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "scenario.h"
#include "tstest.h"

#define BAD_DIR "tests/scenario_bad"
#define MAX_FILES 256

static void read_whole(const char *path, char **data, size_t *len) {
  FILE *f = fopen(path, "rb");
  *data = NULL;
  *len = 0;
  if (!f) return;
  size_t cap = 1 << 16;
  *data = malloc(cap);
  *len = *data ? fread(*data, 1, cap, f) : 0;
  fclose(f);
}

/* Loads one bad file from inside BAD_DIR, by path and from memory, and compares
 * the message with the expectation. Returns true when it matches. */
static bool check_one(const char *yaml) {
  char expect_path[512], expected[1024], got[1024];
  snprintf(expect_path, sizeof expect_path, "%.*s.expect", (int)(strlen(yaml) - 5), yaml);
  if (!ts_test_first_line(expect_path, expected, sizeof expected)) {
    ts_test_fail(__FILE__, __LINE__, "%s: no readable %s", yaml, expect_path);
    return false;
  }
  ts_scenario *s = (ts_scenario *)1;
  ts_diag diag;
  int rc = ts_scenario_load_file(yaml, &s, &diag);
  ts_diag_format(&diag, got, sizeof got);
  if (rc != TS_EPARSE || s != NULL) {
    ts_test_fail(__FILE__, __LINE__, "%s: rc %d (expected TS_EPARSE), out %p", yaml, rc, (void *)s);
    ts_scenario_free(s == (ts_scenario *)1 ? NULL : s);
    return false;
  }
  if (strcmp(got, expected) != 0) {
    ts_test_fail(__FILE__, __LINE__, "%s:\n  got      %s\n  expected %s", yaml, got, expected);
    return false;
  }
  /* The same bytes from memory give the same message. */
  char *data;
  size_t len;
  read_whole(yaml, &data, &len);
  rc = ts_scenario_load_buffer(yaml, data ? data : "", len, &s, &diag);
  free(data);
  ts_diag_format(&diag, got, sizeof got);
  if (rc != TS_EPARSE || s != NULL || strcmp(got, expected) != 0) {
    ts_test_fail(__FILE__, __LINE__, "%s from memory: rc %d, got %s", yaml, rc, got);
    return false;
  }
  return true;
}

TS_TEST(every_bad_file_gives_its_expected_message) {
  char *yamls[MAX_FILES];
  size_t count = ts_test_list_files(BAD_DIR, ".yaml", yamls, MAX_FILES);
  TS_CHECK_INT(count, >=, 20);
  TS_CHECK(chdir(BAD_DIR) == 0);
  size_t passed = 0;
  for (size_t i = 0; i < count; i++) passed += check_one(yamls[i]);
  TS_CHECK(chdir("../..") == 0);
  ts_test_free_names(yamls, count);
  TS_CHECK_INT(passed, ==, count);
}

/* An .expect without its .yaml is a test that silently does nothing. */
TS_TEST(every_expect_file_has_its_yaml) {
  char *expects[MAX_FILES];
  size_t count = ts_test_list_files(BAD_DIR, ".expect", expects, MAX_FILES);
  size_t orphans = 0;
  for (size_t i = 0; i < count; i++) {
    char path[600];
    snprintf(path, sizeof path, BAD_DIR "/%.*s.yaml", (int)(strlen(expects[i]) - 7), expects[i]);
    if (access(path, R_OK) != 0) {
      ts_test_fail(__FILE__, __LINE__, "%s has no .yaml", expects[i]);
      orphans++;
    }
  }
  ts_test_free_names(expects, count);
  TS_CHECK_INT(orphans, ==, 0);
}

/* The folder must keep the two files the brief asks for. */
TS_TEST(empty_and_binary_files_are_covered) {
  TS_CHECK(access(BAD_DIR "/01-empty.yaml", R_OK) == 0);
  TS_CHECK(access(BAD_DIR "/02-binary.yaml", R_OK) == 0);
  char *data;
  size_t len;
  read_whole(BAD_DIR "/01-empty.yaml", &data, &len);
  free(data);
  TS_CHECK_INT(len, ==, 0);
  read_whole(BAD_DIR "/02-binary.yaml", &data, &len);
  bool has_nul = data && memchr(data, 0, len) != NULL;
  free(data);
  TS_CHECK(has_nul);
}
