/* OS profiles: every shipped profile in models/os/ loads with the values the
 * sources give; every file in tests/os/bad_profiles/ fails with the exact
 * file:line:col message of its .expect file. Runs from the repository root. */
#include <dirent.h>
#include <stdlib.h>
#include <string.h>

#include "ts_os_profile_load.h"
#include "tstest.h"

#define MAX_FILES 128

static ts_os_profile *load(const char *path) {
  ts_os_profile *p = NULL;
  ts_diag d;
  int rc = ts_os_profile_load_file(path, &p, &d);
  if (rc) {
    char msg[1024];
    ts_diag_format(&d, msg, sizeof msg);
    ts_test_fail(__FILE__, __LINE__, "%s: rc %d: %s", path, rc, msg);
  }
  return p;
}

TS_TEST(every_shipped_profile_loads) {
  char *names[MAX_FILES];
  size_t n = ts_test_list_files("models/os", ".yaml", names, MAX_FILES);
  TS_CHECK_INT(n, >=, 7);
  for (size_t i = 0; i < n; i++) {
    char path[512];
    snprintf(path, sizeof path, "models/os/%s", names[i]);
    ts_os_profile *p = load(path);
    ts_os_profile_destroy(p);
    free(names[i]);
    if (!p) return;
  }
}

TS_TEST(shipped_profiles_follow_the_sources) {
  static const char *const required[] = {"ios-14", "ios-15", "ios-16.0", "ios-16.4",
                                         "ios-17", "ios-17.4", "ios-18"};
  ts_os_profile *p[7];
  for (int i = 0; i < 7; i++) {
    char path[128];
    snprintf(path, sizeof path, "models/os/%s.yaml", required[i]);
    p[i] = load(path);
    if (!p[i]) return;
    TS_CHECK_STR(ts_os_profile_name(p[i]), required[i]);
  }
  /* A-HDR: excludeLocalNetworks from 14.2 (default YES on iOS); 16.4 APNs; 17.4 devices. */
  TS_CHECK(ts_os_profile_flag_available(p[0], TS_FLAG_INCLUDE_ALL_NETWORKS));
  TS_CHECK(!ts_os_profile_flag_available(p[0], TS_FLAG_EXCLUDE_LOCAL_NETWORKS));
  TS_CHECK(ts_os_profile_flag_default(p[1], TS_FLAG_EXCLUDE_LOCAL_NETWORKS));
  TS_CHECK(!ts_os_profile_flag_available(p[2], TS_FLAG_EXCLUDE_APNS));
  TS_CHECK(ts_os_profile_flag_default(p[3], TS_FLAG_EXCLUDE_APNS));
  TS_CHECK(!ts_os_profile_flag_available(p[4], TS_FLAG_EXCLUDE_DEVICE_COMMUNICATION));
  TS_CHECK(ts_os_profile_flag_default(p[5], TS_FLAG_EXCLUDE_DEVICE_COMMUNICATION));
  /* F-MEM: 15 MiB to iOS 14, 50 MiB from 15. F-60S: 60 s / 20 s. */
  TS_CHECK_INT(ts_os_profile_limit(p[0], TS_LIMIT_PROVIDER_MEMORY), ==, 15 << 20);
  TS_CHECK_INT(ts_os_profile_limit(p[1], TS_LIMIT_PROVIDER_MEMORY), ==, 50 << 20);
  TS_CHECK_INT(ts_os_profile_limit(p[2], TS_LIMIT_START_TIMEOUT), ==, 0);
  TS_CHECK_INT(ts_os_profile_limit(p[4], TS_LIMIT_START_TIMEOUT), ==, 60 * TS_SEC);
  /* A-VIF / A-NWTCP */
  TS_CHECK_INT(ts_os_profile_api(p[5], TS_API_VIRTUAL_INTERFACE), ==, TS_API_ABSENT);
  TS_CHECK_INT(ts_os_profile_api(p[6], TS_API_VIRTUAL_INTERFACE), ==, TS_API_AVAILABLE);
  TS_CHECK_INT(ts_os_profile_api(p[6], TS_API_NWTCPCONNECTION), ==, TS_API_DEPRECATED);
  /* IVPN-283, IVPN-360: iOS 16.0's quirks. */
  TS_CHECK_INT(ts_os_profile_quirk(p[2], TS_QUIRK_UPDATE_RELAUNCH_SKIPS_ROUTES), ==, 1);
  TS_CHECK_INT(ts_os_profile_quirk_source(p[2], TS_QUIRK_UPDATE_RELAUNCH_SKIPS_ROUTES), ==, TS_SRC_IVPN_283);
  TS_CHECK_INT(ts_os_profile_quirk(p[2], TS_QUIRK_IAN_APPLE_SERVICES_BYPASS), ==, 1);
  TS_CHECK_INT(ts_os_profile_quirk(p[3], TS_QUIRK_IAN_APPLE_SERVICES_BYPASS), ==, 0);
  TS_CHECK_INT(ts_os_profile_version_major(p[5]), ==, 17);
  TS_CHECK_INT(ts_os_profile_version_minor(p[5]), ==, 4);
  for (int i = 0; i < 7; i++) ts_os_profile_destroy(p[i]);
}

TS_TEST(bad_profiles_give_file_line_col) {
  char *names[MAX_FILES];
  size_t n = ts_test_list_files("tests/os/bad_profiles", ".yaml", names, MAX_FILES);
  TS_CHECK_INT(n, >=, 15);
  int failures = 0;
  for (size_t i = 0; i < n; i++) {
    char path[512], expect_path[512], line[1024], expected[1100], got[1024];
    snprintf(path, sizeof path, "tests/os/bad_profiles/%s", names[i]);
    snprintf(expect_path, sizeof expect_path, "tests/os/bad_profiles/%.*s.expect",
             (int)(strlen(names[i]) - 5), names[i]);
    ts_os_profile *p = NULL;
    ts_diag d;
    int rc = ts_os_profile_load_file(path, &p, &d);
    ts_diag_format(&d, got, sizeof got);
    bool have = ts_test_first_line(expect_path, line, sizeof line);
    /* .expect files name the file relative to their folder */
    snprintf(expected, sizeof expected, "tests/os/bad_profiles/%s", line);
    if (!have) {
      ts_test_fail(__FILE__, __LINE__, "%s: no .expect file", path);
      failures++;
    } else if (rc != TS_EPARSE || p || strcmp(got, expected) != 0) {
      ts_test_fail(__FILE__, __LINE__, "%s: rc %d\n  got:      %s\n  expected: %s", path, rc, got,
                   expected);
      failures++;
    }
    ts_os_profile_destroy(p);
    free(names[i]);
  }
  TS_CHECK_INT(failures, ==, 0);
}

int main(int argc, char **argv) { return ts_test_main(argc, argv); }
