/* lwIP's architecture header for tunnelsim: the host compiler (gcc or clang on a
 * 64-bit Linux), no printing, asserts abort through the instance glue. */
#ifndef TS_LWIP_ARCH_CC_H
#define TS_LWIP_ARCH_CC_H

#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_BIG_ENDIAN__
#define BYTE_ORDER BIG_ENDIAN
#else
#define BYTE_ORDER LITTLE_ENDIAN
#endif

/* The simulator does not print; lwIP's diagnostics are compiled out. */
#define LWIP_PLATFORM_DIAG(x) do { } while (0)
/* A failed assert is a bug in lwIP or in its use: stop with the message. */
void ts_lwip_assert(const char *msg, int line, const char *file);
#define LWIP_PLATFORM_ASSERT(x) ts_lwip_assert((x), __LINE__, __FILE__)

#endif
