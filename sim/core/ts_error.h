/* Error codes of the simulator. Functions return 0 on success or a negative TS_E*
 * code; ts_strerror() turns a code into a sentence for users. */
#ifndef TS_ERROR_H
#define TS_ERROR_H

enum ts_error {
  TS_OK = 0,
  TS_ENOMEM = -1,     /* out of memory */
  TS_EINVAL = -2,     /* an argument is out of its domain */
  TS_EPARSE = -3,     /* input is malformed (scenario, profile, corpus file) */
  TS_EIO = -4,        /* reading or writing a file failed */
  TS_ERANGE = -5,     /* a value is outside its allowed range */
  TS_ENOENT = -6,     /* a named thing does not exist */
  TS_EEXIST = -7,     /* a named thing exists already */
  TS_EFULL = -8,      /* a fixed-size table or queue is full */
  TS_ETRUNC = -9,     /* input ended early */
  TS_ENOTSUP = -10,   /* not supported by this backend or build */
  TS_ESTATE = -11,    /* the call is not valid in the object's current state */
  TS_EDETERMINISM = -12, /* two runs of the same input differed */
  TS_EREFUSED = -13,  /* the system refused the request (e.g. a provider launch mid-update) */
};

const char *ts_strerror(int code);

#endif
