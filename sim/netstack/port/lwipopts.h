/* lwIP's options for tunnelsim's netstack (lwIP 2.1.x, Debian's source package `lwip`).
 *
 * One stack per instance, no operating system (NO_SYS=1): the raw callback API only,
 * driven from the world's event loop; time is the world's virtual time (sys_now in
 * lwip_glue.c), randomness the instance's seeded stream. The interface is a raw IP
 * point-to-point link (a tunnel, or a simulated link without ARP): IPv4 and IPv6,
 * ICMP, TCP, raw pcbs; no Ethernet, ARP, DHCP, AutoIP, IGMP, MLD, DNS, sockets or
 * netconn. Every heap byte goes through the instance's allocator (ts_lwip_malloc),
 * so that a reset frees all of it at once. Names of every option: lwip/opt.h. */
#ifndef TS_LWIPOPTS_H
#define TS_LWIPOPTS_H

#include <stddef.h>
#include <stdint.h>

/* Defined in lwip_glue.c, one copy per instance (see sim/netstack/CMakeLists.txt). */
void *ts_lwip_malloc(size_t size);
void *ts_lwip_calloc(size_t count, size_t size);
void ts_lwip_free(void *mem);
uint32_t ts_lwip_rand(void);

/* ---- system ---------------------------------------------------------------- */
#define NO_SYS 1
#define LWIP_TIMERS 1
#define SYS_LIGHTWEIGHT_PROT 0
#define LWIP_NETCONN 0
#define LWIP_SOCKET 0
#define LWIP_NETIF_API 0
#define LWIP_STATS 0

/* ---- memory: the instance's tracked allocator (lwip_glue.c) --------------------- */
#define MEM_LIBC_MALLOC 1
#define MEMP_MEM_MALLOC 1
#define MEM_ALIGNMENT 8
#define mem_clib_malloc ts_lwip_malloc
#define mem_clib_calloc ts_lwip_calloc
#define mem_clib_free ts_lwip_free

/* ---- randomness and hooks (lwip_glue.c, ts_lwip_hooks.h) ------------------------- */
/* Ephemeral TCP/UDP ports at lwip_init (tcp_init, udp_init): the instance's seed. */
#define LWIP_RAND() ts_lwip_rand()
/* Initial sequence numbers after RFC 6528 (4-tuple hash keyed by the seed + a 4 us
 * clock of virtual time) instead of lwIP's fixed counter. */
#define LWIP_HOOK_FILENAME "ts_lwip_hooks.h"
#define LWIP_HOOK_TCP_ISN(local_ip, local_port, remote_ip, remote_port) \
  ts_lwip_tcp_isn(local_ip, local_port, remote_ip, remote_port)

/* ---- link: raw IP, no link layer ------------------------------------------------ */
#define LWIP_ARP 0
#define LWIP_ETHERNET 0
#define PBUF_LINK_HLEN 0
#define PBUF_LINK_ENCAPSULATION_HLEN 0
#define LWIP_NETIF_LOOPBACK 0
#define LWIP_HAVE_LOOPIF 0
#define LWIP_SINGLE_NETIF 0

/* ---- IPv4 ----------------------------------------------------------------------- */
#define LWIP_IPV4 1
#define IP_FORWARD 0
#define IP_REASSEMBLY 1
#define IP_FRAG 1
#define LWIP_ICMP 1
#define LWIP_RAW 1
#define LWIP_DHCP 0
#define LWIP_AUTOIP 0
#define LWIP_IGMP 0
#define LWIP_DNS 0
#define LWIP_UDP 1

/* ---- IPv6: static addresses, no neighbour discovery traffic ---------------------- */
#define LWIP_IPV6 1
#define LWIP_IPV6_NUM_ADDRESSES 3
#define LWIP_IPV6_FORWARD 0
#define LWIP_IPV6_MLD 0
#define LWIP_IPV6_AUTOCONFIG 0
#define LWIP_IPV6_DHCP6 0
#define LWIP_IPV6_SEND_ROUTER_SOLICIT 0
#define LWIP_IPV6_DUP_DETECT_ATTEMPTS 0
#define LWIP_ND6_QUEUEING 0
#define LWIP_IPV6_REASS 1
#define LWIP_IPV6_FRAG 1
/* Without it, ip6_frag.c asserts on 64-bit hosts (the reassembly helper does not fit
 * in the fragment header). */
#define IPV6_FRAG_COPYHEADER 1

/* ---- TCP: Linux-like sizes, lwIP's own timers ----------------------------------- */
#define LWIP_TCP 1
#define TCP_MSS 1460
#define TCP_WND (44 * TCP_MSS)     /* 64240, no window scaling */
#define TCP_SND_BUF (44 * TCP_MSS)
#define TCP_SND_QUEUELEN ((4 * TCP_SND_BUF + (TCP_MSS - 1)) / TCP_MSS)
#define TCP_QUEUE_OOSEQ 1
#define TCP_LISTEN_BACKLOG 1
#define LWIP_TCP_KEEPALIVE 0
#define LWIP_CALLBACK_API 1

/* ---- checks and diagnostics ------------------------------------------------------ */
/* Asserts stay on (a failed one aborts: lwip_glue.c); argument checks (LWIP_ERROR)
 * return an error instead of asserting, so that bad input is never a crash. */
#define LWIP_NOASSERT_ON_ERROR 1
#define LWIP_DBG_TYPES_ON 0

#endif
