/* An lwIP copy's writable state (its lwip_data and lwip_bss sections): the pristine
 * image taken when an instance claims the copy, and the restore a reset does.
 *
 * Under AddressSanitizer the sections also hold the redzones of lwIP's instrumented
 * globals, which memcpy must not touch. The spans between redzones are found once,
 * from ASan's shadow memory, and only they are saved and restored; without ASan each
 * section is one span. */
#include <stdlib.h>
#include <string.h>

#include "netstack_internal.h"

#if defined(__SANITIZE_ADDRESS__)
#define TS_STATE_ASAN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define TS_STATE_ASAN 1
#endif
#endif
#ifdef TS_STATE_ASAN
#include <sanitizer/asan_interface.h>
#endif

struct ts_lwip_span {
  size_t off, len;
};

/* The unpoisoned spans of [base, base+n), into a new array. */
static int find_spans(const unsigned char *base, size_t n, struct ts_lwip_span **out, uint32_t *count) {
  *count = 0;
  *out = malloc(sizeof **out);
  if (!*out) return TS_ENOMEM;
#ifdef TS_STATE_ASAN
  size_t cap = 1, i = 0;
  while (i < n) {
    const unsigned char *bad = __asan_region_is_poisoned((void *)(base + i), n - i);
    size_t end = bad ? (size_t)(bad - base) : n;
    if (end > i) {
      if (*count == cap) {
        struct ts_lwip_span *grown = realloc(*out, 2 * cap * sizeof **out);
        if (!grown) return TS_ENOMEM;
        *out = grown;
        cap *= 2;
      }
      (*out)[(*count)++] = (struct ts_lwip_span){i, end - i};
    }
    i = end;
    while (i < n && __asan_address_is_poisoned(base + i)) i++;
  }
#else
  if (n) (*out)[(*count)++] = (struct ts_lwip_span){0, n};
#endif
  return 0;
}

int ts_lwip_state_save(ts_lwip_state *s, const ts_lwip_api *L) {
  memset(s, 0, sizeof *s);
  size_t data_len = (size_t)(L->data_end - L->data_start);
  int rc = find_spans(L->data_start, data_len, &s->data, &s->n_data);
  if (!rc) rc = find_spans(L->bss_start, (size_t)(L->bss_end - L->bss_start), &s->bss, &s->n_bss);
  if (!rc) {
    s->image = malloc(data_len ? data_len : 1);
    if (!s->image) rc = TS_ENOMEM;
  }
  if (rc) {
    ts_lwip_state_free(s);
    return rc;
  }
  for (uint32_t i = 0; i < s->n_data; i++)
    memcpy(s->image + s->data[i].off, L->data_start + s->data[i].off, s->data[i].len);
  return 0;
}

void ts_lwip_state_restore(const ts_lwip_state *s, const ts_lwip_api *L) {
  if (!s->image) return; /* never saved: lwIP has not run */
  for (uint32_t i = 0; i < s->n_data; i++)
    memcpy(L->data_start + s->data[i].off, s->image + s->data[i].off, s->data[i].len);
  for (uint32_t i = 0; i < s->n_bss; i++) memset(L->bss_start + s->bss[i].off, 0, s->bss[i].len);
}

void ts_lwip_state_free(ts_lwip_state *s) {
  free(s->image);
  free(s->data);
  free(s->bss);
  memset(s, 0, sizeof *s);
}
