#include "ts_error.h"

const char *ts_strerror(int code) {
  switch (code) {
  case TS_OK: return "success";
  case TS_ENOMEM: return "out of memory";
  case TS_EINVAL: return "invalid argument";
  case TS_EPARSE: return "malformed input";
  case TS_EIO: return "input/output error";
  case TS_ERANGE: return "value out of range";
  case TS_ENOENT: return "no such name";
  case TS_EEXIST: return "name already in use";
  case TS_EFULL: return "table or queue full";
  case TS_ETRUNC: return "input truncated";
  case TS_ENOTSUP: return "not supported";
  case TS_ESTATE: return "not valid in the current state";
  case TS_EDETERMINISM: return "run is not deterministic";
  case TS_EREFUSED: return "refused by the system (retry once the blocking state, e.g. an app update, has ended)";
  default: return "unknown error";
  }
}
