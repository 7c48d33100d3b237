/* The phone test bed: the world the devices tests share (link delays one way):
 *
 *   phone en0 192.168.1.20 --5 ms-- ap (192.168.1.1, router) --5 ms-- core router
 *        core --10 ms-- relay 203.0.113.10 (ts_relay: wg :51820, gateway 10.64.0.1, NAT,
 *                       optionally the ephemeral-peer negotiation on 10.64.0.1:1337)
 *        core --10 ms-- server 198.51.100.20 (optionally UDP echo :7, TCP GET :80, echo :7)
 *        core --10 ms-- appstore 192.0.2.50 (TS_BED_APPSTORE only: GET <n> on :443)
 *
 * or, with TS_BED_LAN, the access point alone (nothing answers beyond it). The phone
 * runs an OS profile from models/os/, has en0 up with a lease applied (no DHCP
 * exchange), the VPN enabled with the flags and on-demand rule asked for, and (unless
 * no_provider) the packet-tunnel provider made from a template. Keys come from the
 * world's seed (stream "test/keys": the phone's, then the relay's).
 *
 * Objects are made in one fixed order: the net and its servers, the phone, the
 * relay, the provider, the App Store, the app's socket. Where order matters (the
 * links' order fixes the trace's interface list and the link ids) it is the order
 * the tests' worlds always had. The relay and the app's socket had no fixed place
 * (before or after the phone, before or after the provider): making them draws from
 * no shared RNG stream, schedules nothing and adds no trace interface, and every
 * devices test's trace hashes stayed the same when they moved here. */
#ifndef TSTEST_PHONE_H
#define TSTEST_PHONE_H

#include <stdbool.h>
#include <stdint.h>

#include "ts_appstore.h"
#include "ts_phone_apps.h"
#include "ts_phone_leaks.h"
#include "ts_provider.h"
#include "ts_relay.h"
#include "ts_tcp_server.h"

typedef enum ts_bed_layout {
  TS_BED_INTERNET = 0, /* ap, core, relay, server */
  TS_BED_LAN,          /* the access point alone: no core, relay or server */
  /* ap, core, relay, server and appstore, the core's spokes named after their hosts
   * (core/relay, link "relay") where TS_BED_INTERNET says core/eth1, link "core-relay":
   * names reach the trace, and test_appstore's world was made with these. */
  TS_BED_APPSTORE,
} ts_bed_layout;

/* One packet that left a physical interface of the phone, as the egress hook saw it
 * (info zeroed when the packet does not parse). */
typedef struct ts_bed_egress {
  ts_time t;
  ts_ip_info info;
  ts_phone_origin o;
} ts_bed_egress;

#define TS_BED_MAX_QUIRKS 4

typedef struct ts_bed_opts {
  ts_bed_layout layout;
  bool udp_echo;              /* the server's UDP echo on :7 */
  bool tcp_servers;           /* the server's TCP: GET <n> on :80, echo on :7 */
  bool relay_negotiation;     /* the relay serves the ephemeral-peer negotiation */
  const char *profile;        /* models/os/<profile>.yaml; NULL: ios-18 */
  struct {                    /* set on the loaded profile before the phone is made */
    ts_os_quirk quirk;
    int value;
  } quirks[TS_BED_MAX_QUIRKS];
  uint32_t quirk_count;       /* at most TS_BED_MAX_QUIRKS */
  bool ian;                   /* includeAllNetworks */
  bool on_demand;             /* on-demand enabled ... */
  bool connect_rule;          /* ... with Mullvad's one rule: Connect, interfaceTypeMatch any */
  bool no_provider;
  /* The provider's configuration; the bed sets the keys, the relay's address and the
   * default tunnel settings (10.64.0.2), and its own monitor counter when
   * monitor.on_report is NULL. Everything else is as given (zero: the defaults). */
  ts_provider_config provider;
  const ts_appstore_config *appstore; /* when set, the App Store device (after the provider) */
  bool app_socket;            /* "the app": an unconnected BSD UDP socket (ts_bed_app_send) */
  ts_bed_egress *egress_log;  /* when set, each egress is recorded here, up to egress_cap */
  uint32_t egress_cap;
} ts_bed_opts;

typedef struct ts_bed {
  ts_world *w;
  ts_net *net;
  ts_host *ap, *core, *relay_host, *server, *store_host; /* NULL where the layout has none */
  ts_relay *relay;
  ts_phone *ph;
  ts_provider *prov;
  ts_appstore *store;
  ts_tcp_server *web, *tcp_echo;  /* with tcp_servers */
  ts_link_id wifi_link;           /* en0's link: the phone is end 1 */
  ts_link_id relay_link;          /* core-relay */
  ts_ipaddr relay_addr, server_addr, gateway, tunnel_addr;
  uint8_t phone_priv[WG_KEY_LEN], phone_pub[WG_KEY_LEN], relay_pub[WG_KEY_LEN];
  /* The app (app_socket). */
  ts_sock_id app;
  uint32_t app_sent, app_replies; /* datagrams by ts_bed_app_every_second, echoes received */
  ts_time last_reply;
  ts_time app_until;              /* ts_bed_app_every_second sends until then */
  /* The egress hook's counts. */
  uint32_t egress;                /* packets that left a physical interface */
  uint32_t leaks;                 /* ... other than the provider's tunnel UDP to the relay */
  uint32_t app_egress;            /* ... of the app traffic class */
  ts_time first_app_egress, last_app_egress;
  ts_bed_egress *egress_log;
  uint32_t egress_cap, egress_logged;
  ts_leak_oracle *oracle;         /* when set, every egress is reported to it too */
  /* The monitor's reports (with the bed's counter). */
  uint32_t mon_connected, mon_unreachable;
} ts_bed;

/* A native world with this seed, and the bed in it. 0, or the negative code of the
 * first step that failed (the provider's create error as it is: tests expect some);
 * b->w is then NULL or the partial world for the caller to destroy. */
int ts_bed_create(ts_bed *b, uint64_t seed, const ts_bed_opts *o);
/* The same in an existing (new or reset) world: a test that opens trace sinks or
 * listens to the trace from the start does so before. */
int ts_bed_build(ts_bed *b, ts_world *w, const ts_bed_opts *o);

int ts_bed_run_to(ts_bed *b, ts_time t);
ts_vpn_session *ts_bed_session(ts_bed *b);
ts_vpn_status ts_bed_status(ts_bed *b);
ts_provider_stats ts_bed_pstats(const ts_bed *b);
ts_monitor_stats ts_bed_mstats(const ts_bed *b);
ts_relay_stats ts_bed_rstats(const ts_bed *b);

/* The provider's tunnel UDP: to the relay's WireGuard port, exempt as the VPN server. */
bool ts_bed_is_tunnel_udp(const ts_bed *b, const ts_ip_info *info, const ts_phone_origin *o);

/* A ping app (BSD, 32 bytes, one a second from start); NULL if the phone refused it. */
ts_phone_app *ts_bed_add_ping(ts_bed *b, const char *name, const ts_ipaddr *target, ts_time start,
                              uint32_t count);

/* The app sends one datagram with `text` to the server's UDP echo now (a connection
 * attempt for on-demand). A reboot ends the app's process and its socket: the app
 * opens a new one first, as a relaunched app would. */
int ts_bed_app_send(ts_bed *b, const char *text);
/* The app sends "hello" at `from`, then every second up to `until` (TS_TIME_NEVER:
 * for the life of the world). */
int ts_bed_app_every_second(ts_bed *b, ts_time from, ts_time until);

#endif
