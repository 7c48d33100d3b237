/* Loading OS profiles (the files in models/os/, format in docs/model-reference.md) with
 * the scenario room's YAML tree, so messages read like the scenario loader's:
 * "file:line:col: found X, expected Y". Unknown flags, APIs, limits, quirk names and
 * source keys, wrong types, duplicates and missing entries are load errors. Every
 * quirk must be listed with its value and a source key the quirk accepts. Lives in
 * the library tsos_profile (tsos itself does not link libfyaml). */
#ifndef TS_OS_PROFILE_LOAD_H
#define TS_OS_PROFILE_LOAD_H

#include <stddef.h>

#include "scenario.h" /* ts_diag, ts_diag_format */
#include "ts_os_profile.h"

#define TS_OS_PROFILE_SCHEMA 1
#define TS_OS_PROFILE_MAX_BYTES ((size_t)1 << 20)

/* Returns 0, TS_EPARSE (bad content), TS_EIO or TS_ENOMEM; on error *out is NULL
 * and diag (if not NULL) says why. */
int ts_os_profile_load_file(const char *path, ts_os_profile **out, ts_diag *diag);
int ts_os_profile_load_buffer(const char *name, const void *buf, size_t len, ts_os_profile **out,
                              ts_diag *diag);

#endif
