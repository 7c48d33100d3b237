/* Fuzz target for the scenario loader: any bytes must give either a scenario or a
 * positioned diagnostic, without crashes, leaks or undefined behaviour. Accepted
 * scenarios must also survive a round trip through the canonical writer:
 * write -> load -> write gives the same bytes, so the writer and the loader agree
 * on every value the loader can produce. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "scenario.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static char *write_to_string(const ts_scenario *s, size_t *len) {
  char *text = NULL;
  FILE *f = open_memstream(&text, len);
  if (!f) abort();
  if (ts_scenario_write(s, f) != 0) abort();
  fclose(f);
  return text;
}

static void check_round_trip(const ts_scenario *s) {
  size_t len1 = 0, len2 = 0;
  char *text1 = write_to_string(s, &len1);
  ts_scenario *again = NULL;
  ts_diag diag;
  if (ts_scenario_load_buffer("roundtrip.yaml", text1, len1, &again, &diag) != 0) {
    char msg[1024];
    ts_diag_format(&diag, msg, sizeof msg);
    fprintf(stderr, "canonical output does not load: %s\n%s\n", msg, text1);
    abort();
  }
  char *text2 = write_to_string(again, &len2);
  if (len1 != len2 || memcmp(text1, text2, len1) != 0) {
    fprintf(stderr, "canonical output is not stable:\n%s\n---\n%s\n", text1, text2);
    abort();
  }
  free(text1);
  free(text2);
  ts_scenario_free(again);
}

static void check_diag(int rc, const ts_diag *diag, const ts_scenario *s) {
  if (s != NULL || rc >= 0) abort();
  if (rc == TS_ENOMEM) return;
  if (rc != TS_EPARSE || diag->line < 1 || diag->col < 1 || diag->message[0] == '\0') abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  ts_scenario *s = NULL;
  ts_diag diag;
  int rc = ts_scenario_load_buffer("fuzz.yaml", data, size, &s, &diag);
  if (rc == 0) {
    if (!s) abort();
    check_round_trip(s);
    ts_scenario_free(s);
  } else {
    check_diag(rc, &diag, s);
  }
  return 0;
}
