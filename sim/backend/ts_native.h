/* The native backend: the project's own event queue and link model. */
#ifndef TS_NATIVE_H
#define TS_NATIVE_H

#include "ts_backend.h"

extern const ts_backend_ops ts_native_backend;

#endif
