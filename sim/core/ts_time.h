/* Simulated time: signed 64-bit nanoseconds since the start of the world. */
#ifndef TS_TIME_H
#define TS_TIME_H

#include <stdint.h>

typedef int64_t ts_time;

#define TS_NS ((ts_time)1)
#define TS_US ((ts_time)1000)
#define TS_MS ((ts_time)1000000)
#define TS_SEC ((ts_time)1000000000)
#define TS_TIME_NEVER INT64_MAX

#endif
