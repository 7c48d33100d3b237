/* endpoint.c: the engine's address+port value type and its conversions. */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>

#include "wg.h"

wg_endpoint wg_endpoint_ipv4(const uint8_t addr[4], uint16_t port) {
  wg_endpoint ep = {.family = 4, .port = port};
  memcpy(ep.addr, addr, 4);
  return ep;
}

wg_endpoint wg_endpoint_ipv6(const uint8_t addr[16], uint16_t port) {
  wg_endpoint ep = {.family = 6, .port = port};
  memcpy(ep.addr, addr, 16);
  return ep;
}

int wg_endpoint_equal(const wg_endpoint *a, const wg_endpoint *b) {
  if (a->family != b->family || a->port != b->port) return 0;
  size_t n = a->family == 6 ? 16 : a->family == 4 ? 4 : 0;
  return memcmp(a->addr, b->addr, n) == 0;
}

int wg_endpoint_format(const wg_endpoint *ep, char *buf, size_t buflen) {
  char ip[INET6_ADDRSTRLEN];
  int n;
  if (ep->family == 4) {
    inet_ntop(AF_INET, ep->addr, ip, sizeof ip);
    n = snprintf(buf, buflen, "%s:%u", ip, ep->port);
  } else if (ep->family == 6) {
    inet_ntop(AF_INET6, ep->addr, ip, sizeof ip);
    n = snprintf(buf, buflen, "[%s]:%u", ip, ep->port);
  } else {
    return WG_EINVAL;
  }
  return n < 0 || (size_t)n >= buflen ? WG_EINVAL : WG_OK;
}

int wg_endpoint_to_sockaddr(const wg_endpoint *ep, struct sockaddr *sa, size_t *salen) {
  if (ep->family == 4) {
    struct sockaddr_in sin;
    memset(&sin, 0, sizeof sin);
    sin.sin_family = AF_INET;
    sin.sin_port = htons(ep->port);
    memcpy(&sin.sin_addr, ep->addr, 4);
    memcpy(sa, &sin, sizeof sin);
    *salen = sizeof sin;
    return WG_OK;
  }
  if (ep->family == 6) {
    struct sockaddr_in6 sin6;
    memset(&sin6, 0, sizeof sin6);
    sin6.sin6_family = AF_INET6;
    sin6.sin6_port = htons(ep->port);
    memcpy(&sin6.sin6_addr, ep->addr, 16);
    memcpy(sa, &sin6, sizeof sin6);
    *salen = sizeof sin6;
    return WG_OK;
  }
  return WG_EINVAL;
}

int wg_endpoint_from_sockaddr(wg_endpoint *ep, const struct sockaddr *sa) {
  memset(ep, 0, sizeof *ep);
  if (sa->sa_family == AF_INET) {
    struct sockaddr_in sin;
    memcpy(&sin, sa, sizeof sin);
    *ep = wg_endpoint_ipv4((const uint8_t *)&sin.sin_addr, ntohs(sin.sin_port));
    return WG_OK;
  }
  if (sa->sa_family == AF_INET6) {
    struct sockaddr_in6 sin6;
    memcpy(&sin6, sa, sizeof sin6);
    *ep = wg_endpoint_ipv6((const uint8_t *)&sin6.sin6_addr, ntohs(sin6.sin6_port));
    return WG_OK;
  }
  return WG_EINVAL;
}
