#include "ts_phone_leaks.h"

#include <stdlib.h>
#include <string.h>

/* Whether the user's intent at this instant is that traffic be protected. A user
 * (or app) stop means no (IVPN-146: traffic resumes as usual); a tunnel that is
 * starting, up or recovering, a provider that died, or on-demand armed after boot
 * mean yes (MV-BLOG). Before the first start nothing was asked for. */
/* On-demand wants the VPN on the current network: the first rule that matches it
 * connects (a Disconnect rule for a trusted Wi-Fi means the user chose no VPN here). */
static bool on_demand_armed_here(ts_phone *ph) {
  ts_os_ifaces *ifs = ts_phone_ifaces(ph);
  int primary = ts_os_iface_primary(ifs);
  ts_od_network net = {.primary = primary ? ts_os_iface_type_of(ifs, primary) : TS_IFT_COUNT,
                       .ssid = ts_phone_env(ph)->wifi_ssid};
  return ts_vpn_config_on_demand_armed(ts_phone_vpn_config(ph), &net);
}

static bool protection_wanted(ts_phone *ph, ts_vpn_status status) {
  const ts_vpn_config *cfg = ts_phone_vpn_config(ph);
  const ts_vpn_session *s = ts_phone_session(ph);
  if (!cfg || !s || !ts_vpn_config_enabled(cfg)) return false;
  switch (status) {
  case TS_VPN_CONNECTING:
  case TS_VPN_CONNECTED:
  case TS_VPN_REASSERTING:
    return true;
  case TS_VPN_DISCONNECTING:
  case TS_VPN_DISCONNECTED:
    switch (ts_vpn_session_down_cause(s)) {
    case TS_DOWN_PROVIDER: return true;
    case TS_DOWN_BOOT: return on_demand_armed_here(ph);
    default: return false;
    }
  default:
    return false;
  }
}

static bool settings_route_ipv6(const ts_vpn_settings *s) {
  if (!s) return false;
  for (size_t i = 0; i < s->included_count; i++)
    if (s->included[i].addr.family == 6) return true;
  return false;
}

void ts_phone_egress_origin(ts_phone *ph, const ts_phone_origin *o, ts_egress_origin *out) {
  memset(out, 0, sizeof *out);
  out->cls = o->cls;
  out->verdict = o->verdict;
  out->status = o->session_status;
  out->pre_tunnel = o->pre_tunnel;
  out->protection_wanted = protection_wanted(ph, o->session_status);
  out->vpn_routes_ipv6 = settings_route_ipv6(ts_vpn_session_settings(ts_phone_session(ph)));
}

void ts_phone_report_egress(ts_phone *ph, ts_leak_oracle *oracle, int iface, const ts_packet *pkt,
                            const ts_phone_origin *o) {
  ts_egress_origin eo;
  ts_phone_egress_origin(ph, o, &eo);
  const char *name = ts_os_iface_name(ts_phone_ifaces(ph), iface);
  ts_leak_oracle_observe(oracle, ts_phone_name(ph), name ? name : "?", pkt->data, pkt->len, &eo);
}

struct watch {
  ts_phone *ph;
  ts_leak_oracle *oracle;
};

static void watch_hook(void *ctx, int iface, const ts_packet *pkt, const ts_phone_origin *o) {
  struct watch *wt = ctx;
  ts_phone_report_egress(wt->ph, wt->oracle, iface, pkt, o);
}

int ts_phone_watch_leaks(ts_phone *ph, ts_leak_oracle *oracle) {
  struct watch *wt = malloc(sizeof *wt);
  if (!wt) return TS_ENOMEM;
  *wt = (struct watch){ph, oracle};
  int rc = ts_world_attach(ts_phone_world(ph), wt, free);
  if (rc) {
    free(wt);
    return rc;
  }
  ts_phone_set_egress_hook(ph, watch_hook, wt);
  return TS_OK;
}
