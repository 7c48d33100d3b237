#!/usr/bin/env python3
"""Golden verdicts of the lifecycle ground-truth scenarios (shared/design/ios-model.md
section 7: GT-05..GT-09, GT-21..GT-26, GT-30): App Store updates, provider deaths,
watchdogs, reboots and the user's actions, judged by the run's oracles (leaks,
obligations with waits-for explanations, livelocks, lockouts and the recovery branches).

Each scenario runs on every OS profile in models/os/ (tunnelsim run --os ... --json).
The checks name behaviour and mechanisms, never trace hashes; where a profile differs
(the 60 s start watchdog from iOS 16.4, 15 MiB for providers before iOS 15, the iOS 16.0
relaunch quirk), the expectation is read from the profile file itself.
usage: golden_lifecycle.py path/to/tunnelsim
"""
import json
import os
import re
import subprocess
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from goldenlib import GT, PROFILES, S, TS, app, check, finish, quirk  # noqa: E402
from goldenlib import run as run_path  # noqa: E402


def run(scenario, profile, *extra):
    return run_path(GT + scenario, profile, *extra)


def run_variant(scenario, old, new, *args):
    """Runs a copy of the scenario with `old` replaced by `new` (tunnelsim run ARGS --json):
    (whether `old` was there to replace, exit status, JSON or None, stderr). A check on a
    variant must require the first: an edit that misses leaves the original scenario."""
    src = open(GT + scenario).read()
    alt = os.path.join(os.environ.get("TMPDIR", "/tmp"), f"variant-{os.getpid()}-{scenario}")
    with open(alt, "w") as f:
        f.write(src.replace(old, new))
    try:
        p = subprocess.run([TS, "run", alt, "--json", *args], capture_output=True, text=True)
    finally:
        os.remove(alt)
    j = json.loads(p.stdout) if p.stdout.strip() else None
    return old in src, p.returncode, j, p.stderr


def profile_text(profile):
    return open(f"models/os/{profile}.yaml").read()




def has_start_watchdog(profile):
    m = re.search(r"^\s*start-timeout:\s*(\S+)", profile_text(profile), re.M)
    return m is not None and m.group(1) != "none"


def provider_limit_mib(profile):
    return int(re.search(r"^\s*provider-memory:\s*(\d+)MiB", profile_text(profile), re.M).group(1))


def moments(j, text, after=0):
    return [m for m in j["timeline"] if text in m["what"] and m["last_ns"] >= after]


def livelock(j, subject, text):
    return [l for l in j["livelocks"] if l["cycle"].startswith(subject + ":") and text in l["cycle"]]


def obligation(j, what):
    return next(o for o in j["obligations"] if o["what"] == what)




def leak_window(j, after):
    f = [x for x in j["findings"] if x["time_ns"] >= after]
    return (min(x["time_ns"] for x in f), max(x["last_ns"] for x in f)) if f else None


def relaunched_at(j, after):
    c = [m for m in j["timeline"] if "-> connected" in m["what"] and m["last_ns"] > after]
    return max(m["last_ns"] for m in c) if c else None


# --------------------------------------------------------------------------- verdicts

def gt05(j, profile):
    """IAN off: SIGTERM (appUpdate) at the update, apps leak until the new provider
    connects; the download completes. The leak window is the update's duration."""
    w = leak_window(j, 20 * S)
    back = relaunched_at(j, 20 * S)
    if not (w and back and moments(j, "sigterm (appUpdate)") and obligation(j, "download-done")["met"]
            and j["lockout"] is None):
        return False
    if quirk(profile, "update-relaunch-skips-routes"):  # GT-08: it keeps leaking after the relaunch
        return w[1] > back + 5 * S
    # SIGTERM at 20 s, download ~1 s, install 10 s: an 11 s window that ends at the relaunch.
    return w[0] == 20 * S and back - 0.2 * S <= w[1] <= back and 10.5 * S <= back - w[0] <= 12 * S


def gt06(j, profile):
    """IAN on: lockout; the chain is a cycle between the download and the tunnel; no leak."""
    lo, rec = j["lockout"], j["recovery"]
    return (lo is not None and lo["deadlock"] and "update deadlock" in lo["headline"]
            and "update-relaunch-refused" in lo["explanation"] and not j["findings"]
            and not obligation(j, "download-done")["met"]
            and livelock(j, "appstore", "failed")
            # what gets the user out (MV-BLOG), and what does not
            and rec["reboot"]["restored"] and rec["reboot"]["relapses"] >= 1
            and not rec["uninstall-app"]["restored"] and not rec["remove-vpn-profile"]["restored"]
            and rec["cancel-and-toggle-twice"]["restored"] and not rec["cancel-and-toggle-twice"]["ends_locked"]
            # the conditions: cancelling alone leaves on-demand suspended, toggling alone is refused
            and not rec["cancel-download"]["restored"] and not rec["toggle-once"]["restored"]
            and not rec["toggle-twice"]["restored"] and not rec["open-app"]["restored"])


def gt07(j, profile):
    """Disconnected in the app first: the update succeeds, traffic unprotected, no reconnect."""
    return (j["lockout"] is None and obligation(j, "download-done")["met"] and not j["findings"]
            and j["egress"]["unprotected"] > 0 and relaunched_at(j, 15 * S) is None)


def gt08(j, profile):
    """iOS 16.0's relaunch looks connected while traffic leaves outside the tunnel."""
    back = relaunched_at(j, 20 * S)
    late = [f for f in j["findings"] if back and f["time_ns"] > back + 2 * S]
    return back is not None and bool(late) == quirk(profile, "update-relaunch-skips-routes")


def gt09(j, profile):
    """The silent utun ping: the monitor never confirms, it loops; other apps get through."""
    o = obligation(j, "monitor-confirmed")
    return (not o["met"] and "silently" in o["explanation"] and livelock(j, "monitor", "timeout")
            and max(l["repeats"] for l in livelock(j, "monitor", "timeout")) >= 3
            and app(j, "other-pinger")["received"] > 0 and not j["findings"])


def gt21(ian):
    def verdict(j, profile):
        """15 MiB (iOS 14): jetsam after every connect, on-demand relaunches: a loop.
        50 MiB: no kill. IAN on: nothing leaks in the gaps; IAN off: the gaps leak."""
        loop = livelock(j, "vpn", "jetsam")
        if provider_limit_mib(profile) < 20:
            return (bool(loop) and loop[0]["repeats"] >= 3 and (not j["findings"]) == ian
                    and (j["lockout"] is not None) == ian)
        return not moments(j, "jetsam") and not loop and j["lockout"] is None and not j["findings"]
    return verdict


def gt22(j, profile):
    """startTunnel never returns: with the 60 s watchdog a restart loop, without it stuck;
    under IAN no connectivity either way, and the explanation says which."""
    o = obligation(j, "tunnel-connected")
    lo = j["lockout"]
    if has_start_watchdog(profile):
        loop = livelock(j, "vpn", "watchdog")
        return (not o["met"] and lo is not None and bool(loop) and loop[0]["repeats"] >= 2
                and "60 s start watchdog" in o["explanation"])
    return (not o["met"] and lo is not None and not moments(j, "watchdog")
            and "no start watchdog" in o["explanation"])


def gt23_blocked(j, profile):
    """Blocked state device-locked until the first unlock, then connected; nothing leaks
    but the one packet at boot before on-demand launched the provider (quirk ian-blocks-at-boot)."""
    boot_leaks = [f for f in j["findings"] if not (f["rule"] == "ian-boot" and f["time_ns"] == 10 * S)]
    # The blocked state completed startTunnel: the session reads connected throughout, and
    # the provider leaves its error state on the first retry after the unlock at 40 s.
    left = moments(j, "provider-error-state-left")
    return (moments(j, "device-locked") and j["lockout"] is None and not boot_leaks
            and left and 40 * S <= left[0]["time_ns"] <= 45 * S)


def gt23_deadlock(j, profile):
    """Before the fix the provider deadlocks in startTunnel: only the watchdog gets it out."""
    if has_start_watchdog(profile):
        return moments(j, "vpn-watchdog") and j["lockout"] is None
    return j["lockout"] is not None and "nothing in the system" in j["lockout"]["headline"]


def gt24(j, profile):
    """The new provider's settings are outdated: blocked until the app is opened. On iOS
    16.0 the relaunch leaves the routes out (IVPN-283), so its blocked state leaks instead."""
    lo, rec = j["lockout"], j["recovery"]
    if quirk(profile, "update-relaunch-skips-routes"):
        return (lo is None and moments(j, "outdated-schema")
                and any(f["time_ns"] > 32 * S for f in j["findings"]))
    return (lo is not None and "outdated" in lo["explanation"] and rec["open-app"]["restored"]
            and not rec["toggle-once"]["restored"] and moments(j, "outdated-schema"))


def gt25a(j, profile):
    """Settings toggle off: on-demand brings the VPN straight back."""
    back = relaunched_at(j, 20 * S)
    return moments(j, "settings-toggle: off") and back is not None and back <= 23 * S


def gt25b(j, profile):
    """The app disables on-demand, then stops: the VPN stays off and traffic flows outside
    it as usual (IVPN-146), counted unprotected, not a leak."""
    return (relaunched_at(j, 20 * S) is None and moments(j, "disabled by the app")
            and j["egress"]["unprotected"] > 0 and not j["findings"])


def gt25c(j, profile):
    """Trusted Wi-Fi: the Disconnect rule for SSID home matches first, nothing starts the
    VPN; the traffic is the user's choice (unprotected), not a leak."""
    return (not moments(j, "-> connecting") and not j["findings"] and j["egress"]["unprotected"] > 0
            and j["egress"]["tunnel"] == 0)


def gt26(j, profile):
    """A reboot without on-demand: the VPN stays down, traffic goes out unprotected."""
    return (moments(j, "reboot") and not moments(j, "disconnected -> connecting", 20 * S + 1)
            and j["egress"]["unprotected"] > 0 and not j["findings"])


def gt30_naive(j, profile):
    o = obligation(j, "tunnel-connected")
    return (not o["met"] and "setTunnelNetworkSettings" in o["explanation"]
            and bool(moments(j, "vpn-watchdog")) == has_start_watchdog(profile))


def gt30_wgkit(j, profile):
    """WireGuardKit proceeds after 5 s: connected without routes, so (IAN off) traffic leaks."""
    o = obligation(j, "tunnel-connected")
    return (o["met"] and 5 * S <= o["met_ns"] <= 7 * S and moments(j, "settings timeout")
            and any(f["kind"] == "no-tunnel-route" for f in j["findings"]))


def gt10(ian):
    def verdict(j, profile):
        """NWTCPConnection to 10.64.0.1:1337: under IAN never viable, the negotiation's
        10/20/30 s cycle, the tunnel never connects, nothing leaks; without IAN it works."""
        o = obligation(j, "tunnel-connected")
        n = obligation(j, "negotiation-done")
        if not ian:
            return o["met"] and n["met"] and not j["findings"] and app(j, "pinger")["received"] > 0
        loop = livelock(j, "negotiation", "timeout")
        return (not o["met"] and o["deadlock"] and not n["met"] and n["deadlock"]
                and n["explanation"].endswith("[cycle] negotiation") and "never becomes viable" in o["explanation"]
                and "ian-provider-silent-fail" in o["explanation"] and bool(loop)
                and loop[0]["repeats"] >= 3 and not j["findings"] and app(j, "pinger")["received"] == 0
                and moments(j, "attempt 2: timeout in connecting after 20000 ms"))
    return verdict


def gt11tcp(ian):
    def verdict(j, profile):
        """NWConnection with requiredInterface = virtualInterface (iOS 18): TCP to the gateway
        works only without IAN (MV-BLOG)."""
        o = obligation(j, "tunnel-connected")
        if not ian:
            return o["met"] and not j["findings"]
        return (not o["met"] and "nwconnection-virtual" in o["explanation"] and not j["findings"]
                and livelock(j, "negotiation", "timeout"))
    return verdict


def gt12(j, profile):
    """The userspace netstack under IAN: the monitor's ping and the negotiation succeed,
    no leak, other apps (one pinging the same gateway through utun) unaffected."""
    return (obligation(j, "tunnel-connected")["met"] and obligation(j, "monitor-confirmed")["met"]
            and obligation(j, "negotiation-done")["met"] and not j["findings"] and moments(j, "handshake with psk done")
            and app(j, "gateway-pinger")["received"] > 0 and app(j, "pinger")["received"] > 0
            and app(j, "browser")["received"] > 0 and not j["livelocks"])


CASES = [
    ("gt-05-app-update-ian-off.yaml", gt05),
    ("gt-06-app-update-ian-on.yaml", gt06),
    ("gt-07-app-update-after-disconnect.yaml", gt07),
    ("gt-08-update-relaunch-looks-connected.yaml", gt08),
    ("gt-09-provider-icmp-livelock.yaml", gt09),
    ("gt-21-jetsam-loop-ian-off.yaml", gt21(False)),
    ("gt-21-jetsam-loop-ian-on.yaml", gt21(True)),
    ("gt-22-start-watchdog-loop.yaml", gt22),
    ("gt-23-boot-before-unlock-blocked-state.yaml", gt23_blocked),
    ("gt-23-boot-before-unlock-deadlock.yaml", gt23_deadlock),
    ("gt-24-update-outdated-schema.yaml", gt24),
    ("gt-25a-settings-toggle-off.yaml", gt25a),
    ("gt-25b-app-disconnect.yaml", gt25b),
    ("gt-25c-on-demand-trusted-wifi.yaml", gt25c),
    ("gt-26-reboot-without-on-demand.yaml", gt26),
    ("gt-30-settings-never-complete-naive.yaml", gt30_naive),
    ("gt-30-settings-never-complete-wireguardkit.yaml", gt30_wgkit),
    ("gt-10-nwtcpconnection-negotiation-ian-on.yaml", gt10(True)),
    ("gt-10-nwtcpconnection-negotiation-ian-off.yaml", gt10(False)),
    ("gt-12-userspace-netstack-ian-on.yaml", gt12),
]

for scenario, verdict in CASES:
    for profile in PROFILES:
        name = f"{scenario[:-5]}_{profile}"
        rc, j, err = run(scenario, profile)
        if j is None:
            check(name, False, f"exit {rc}: {err.strip()}")
            continue
        findings = bool(j["findings"] or j["lockout"] or j["livelocks"]
                        or any(not o["met"] for o in j["obligations"]))
        ok = False
        try:
            ok = rc == (1 if findings else 0) and bool(verdict(j, profile)) and j["wire"]["agrees"]
        except (KeyError, StopIteration, ValueError) as e:
            err = f"{type(e).__name__}: {e}"
        check(name, ok, json.dumps({"exit": rc, "err": err.strip(), "lockout": j["lockout"],
                                    "recovery": j.get("recovery"), "livelocks": j["livelocks"],
                                    "obligations": j["obligations"],
                                    "findings": [(f["kind"], f["time_ns"], f["last_ns"], f["rule"])
                                                 for f in j["findings"]][:6],
                                    "timeline": [m["what"] for m in j["timeline"]]})[:3000])

# GT-11 with TCP: the virtual interface exists from iOS 18 only; elsewhere the run says so.
for tag, ian in (("on", True), ("off", False)):
    for profile in PROFILES:
        name = f"gt-11-tcp-nwconnection-virtual-ian-{tag}_{profile}"
        rc, j, err = run(f"gt-11-tcp-nwconnection-virtual-ian-{tag}.yaml", profile)
        if profile != "ios-18":
            check(name + "_refused_where_the_api_is_missing",
                  rc == 3 and "does not exist on this OS profile" in err, f"exit {rc}: {err.strip()}")
            continue
        ok = j is not None and rc == (1 if ian else 0) and gt11tcp(ian)(j, profile)
        check(name, ok, json.dumps(j and {"obligations": j["obligations"], "livelocks": j["livelocks"]})[:2000])

# GT-10 with give-up: after 2 retries the provider enters its error state (negotiation-failed)
# instead of cycling; with IAN nothing leaks either way.
edited, rc, j, err = run_variant("gt-10-nwtcpconnection-negotiation-ian-on.yaml",
                                 "negotiation: {path: nwtcpconnection}",
                                 "negotiation: {path: nwtcpconnection, max-retries: 2, give-up: true}",
                                 "--os", "ios-15")
check("gt-10_give_up_enters_the_error_state", edited and j is not None
      and moments(j, "negotiation-failed") and not livelock(j, "negotiation", "timeout")
      and not j["findings"], err.strip() or json.dumps(j and j["timeline"])[:1500])

# The provider's netstack has an interface of its own in the capture: Wireshark shows the
# in-tunnel ping and the negotiation in plaintext there (GT-12).
pcap = os.path.join(os.environ.get("TMPDIR", "/tmp"), f"gt12-{os.getpid()}.pcapng")
rc, j, err = run("gt-12-userspace-netstack-ian-on.yaml", "ios-17", "--pcap", pcap)
def tshark_count(flt):
    p = subprocess.run(["tshark", "-n", "-r", pcap, "-Y", flt], capture_output=True, text=True)
    return len(p.stdout.splitlines()) if p.returncode == 0 else -1
neg = tshark_count('frame.interface_name == "phone/netstack" && tcp.port == 1337')
ping = tshark_count('frame.interface_name == "phone/netstack" && icmp && ip.dst == 10.64.0.1')
utun = tshark_count('frame.interface_name == "phone/utun0" && tcp.port == 1337')
check("gt-12_pcapng_shows_the_netstack", rc == 0 and neg >= 5 and ping > 0 and utun == 0,
      f"exit {rc} negotiation {neg} ping {ping} on utun {utun} {err.strip()}")
if os.path.exists(pcap):
    os.remove(pcap)

# The recovery analysis is a replay: the branches' prefix is the lockout run itself, so the
# whole JSON is the same in two processes, and --no-recovery leaves the run's own verdict alone.
rc1, a, _ = run("gt-06-app-update-ian-on.yaml", "ios-18")
rc2, b, _ = run("gt-06-app-update-ian-on.yaml", "ios-18")
rc3, c, _ = run("gt-06-app-update-ian-on.yaml", "ios-18", "--no-recovery", "--check-determinism")
check("gt-06_deterministic_with_recovery", a is not None and a == b, "two processes differ")
check("gt-06_no_recovery_same_run", c is not None and c["trace_hash"] == a["trace_hash"]
      and c["lockout"] == a["lockout"] and c["recovery"] == {}, json.dumps(c and c["recovery"]))

# A quirk chosen in the scenario changes the verdict through the mechanism: with the
# launch not refused during the update, on-demand relaunches the old provider, the
# download goes through the tunnel, and there is no lockout.
edited, rc, j, err = run_variant("gt-06-app-update-ian-on.yaml", "  appstore: {",
                                 "  quirks: {update-relaunch-refused: false}\n  appstore: {")
check("gt-06_without_relaunch_refusal_no_lockout", edited and j is not None and j["lockout"] is None
      and obligation(j, "download-done")["met"] and not j["findings"], err.strip())

# The same rules on another Wi-Fi network: the Connect rule applies and the apps' first
# connection attempt starts the VPN.
edited, rc, j, err = run_variant("gt-25c-on-demand-trusted-wifi.yaml", "ssid: home}", "ssid: cafe}")
check("gt-25c_untrusted_wifi_connects", edited and j is not None
      and moments(j, "disconnected -> connecting") and j["egress"]["tunnel"] > 0, err.strip())

finish()
