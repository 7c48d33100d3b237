#!/usr/bin/env python3
"""The main job of `make demo`: the App Store update of a VPN app, run with and without
includeAllNetworks, side by side: what happened when, the leak window or the lockout
with its explanation, and what gets the user out of it.

usage: demo_update.py path/to/tunnelsim [--os ios-18]
Everything comes from `tunnelsim run --json`: this script only lays it out.
"""
import json
import os
import re
import shutil
import subprocess
import sys
import textwrap

TS = sys.argv[1] if len(sys.argv) > 1 else "build/tunnelsim"
OS = sys.argv[sys.argv.index("--os") + 1] if "--os" in sys.argv else "ios-18"
OFF = "models/scenarios/gt/gt-05-app-update-ian-off.yaml"
ON = "models/scenarios/gt/gt-06-app-update-ian-on.yaml"
S = 1e9

COLOR = sys.stdout.isatty() and os.environ.get("NO_COLOR") is None
WIDTH = max(100, min(shutil.get_terminal_size((120, 40)).columns, 140))
HALF = (WIDTH - 12) // 2


def paint(code, text):
    return f"\033[{code}m{text}\033[0m" if COLOR else text


def bold(t): return paint("1", t)
def red(t): return paint("1;31", t)
def green(t): return paint("32", t)
def yellow(t): return paint("33", t)
def dim(t): return paint("2", t)


def visible_len(text):
    out, skip = 0, False
    for ch in text:
        if ch == "\033":
            skip = True
        elif skip and ch == "m":
            skip = False
        elif not skip:
            out += 1
    return out


def pad(text, width):
    return text + " " * max(0, width - visible_len(text))


def run(path):
    p = subprocess.run([TS, "run", path, "--os", OS, "--json"], capture_output=True, text=True)
    if not p.stdout.strip():
        sys.exit(f"tunnelsim run {path} failed: {p.stderr.strip()}")
    return json.loads(p.stdout)


def attempt_phrase(what):
    # "App Store: attempt 2 failed (timeout) after 0 of 2000000 bytes; retry in 10000 ms"
    m = re.match(r"App Store: attempt (\d+) failed \((\w+)\) after (\d+) of \d+ bytes; retry in (\d+) ms", what)
    if m:
        n, why, got, retry = m.groups()
        why = "timed out" if why == "timeout" else why
        return f"App Store: download {n} {why} ({got} bytes); retry in {int(retry) // 1000} s"
    m = re.match(r"App Store: attempt (\d+): connecting", what)
    return f"App Store: download attempt {m.group(1)}" if m else what


# What the trace says, in the words a user would use (unknown texts are shown as they are).
def phrase(what):
    table = [
        ("VPN ", lambda w: "VPN " + w.split("-> ")[-1] if "->" in w else w),
        ("provider-killed: sigterm (appUpdate)", lambda w: "provider gets SIGTERM (appUpdate)"),
        ("provider-killed: ", lambda w: "provider killed: " + w.split(": ", 1)[1]),
        ("launch-refused", lambda w: "on-demand relaunch refused: app is updating"),
        ("on-demand: suspended", lambda w: "on-demand suspended (refused launch)"),
        ("on-demand: resumed", lambda w: "on-demand resumed"),
        ("App Store: update begins", lambda w: "App Store: update begins"),
        ("App Store: provider SIGTERMed", lambda w: None),
        ("App Store: attempt", attempt_phrase),
        ("App Store: download complete", lambda w: "App Store: download complete"),
        ("App Store: installing", lambda w: "App Store: installing"),
        ("App Store: relaunch", lambda w: "system relaunches the tunnel"),
        ("app-state", lambda w: None),
        ("provider-start-completed", lambda w: None),
    ]
    for prefix, f in table:
        if what.startswith(prefix):
            return f(what)
    return what


def rows(j):
    out = {}
    for m in j["timeline"]:
        text = phrase(m["what"])
        if not text:
            continue
        if m["repeats"] > 1:
            text += dim(f"  x{m['repeats']} until {m['last_ns'] / S:.0f} s")
        out.setdefault(round(m["time_ns"] / S, 3), []).append(text)
    return out


def cut(text, width):
    if visible_len(text) <= width:
        return text
    plain = text if not COLOR else text.replace("\033[2m", "").replace("\033[0m", "")
    return plain[: width - 1] + "…"


def verdict(j):
    lo = j["lockout"]
    if lo:
        return [red(f"LOCKOUT since {lo['began_ns'] / S:.1f} s"), lo["headline"].split(": ", 1)[-1]]
    f = [x for x in j["findings"] if x["time_ns"] >= 19 * S]
    if f:
        first = min(x["time_ns"] for x in f) / S
        last = max(x["last_ns"] for x in f) / S
        pk = sum(x["packets"] for x in f)
        return [yellow(f"LEAK WINDOW {first:.1f} s -> {last:.1f} s ({last - first:.1f} s)"),
                f"{pk} packets left en0 outside the tunnel", "the download completes; the tunnel comes back"]
    return [green("no leak, no lockout")]


def main():
    off, on = run(OFF), run(ON)
    line = "─" * WIDTH
    print(bold(f"tunnelsim demo: an App Store update of the VPN app on {OS}"))
    print(dim("The phone is connected (on-demand Connect, Mullvad's configuration); at 20 s the App Store"))
    print(dim("updates the VPN app. Apps browse and ping all along. Same seed, same network, one flag."))
    print(line)
    left, right = "includeAllNetworks OFF  (GT-05)", "includeAllNetworks ON  (GT-06)"
    print(f"{'time':>9}   {bold(pad(left, HALF))}│ {bold(right)}")
    print(line)
    a, b = rows(off), rows(on)
    for t in sorted(set(a) | set(b)):
        la, lb = a.get(t, []), b.get(t, [])
        for i in range(max(len(la), len(lb))):
            stamp = f"{t:8.1f}s" if i == 0 else " " * 9
            ca = cut(la[i], HALF - 1) if i < len(la) else ""
            cb = cut(lb[i], HALF) if i < len(lb) else ""
            print(f"{stamp}   {pad(ca, HALF)}│ {cb}")
    print(line)
    va = [w for v in verdict(off) for w in textwrap.wrap(v, HALF - 1)]
    vb = [w for v in verdict(on) for w in textwrap.wrap(v, HALF)]
    for i in range(max(len(va), len(vb))):
        ca = va[i] if i < len(va) else ""
        cb = vb[i] if i < len(vb) else ""
        print(f"{'verdict' if i == 0 else '':>9}   {pad(cut(ca, HALF - 1), HALF)}│ {cut(cb, HALF)}")
    print(line)
    lo = on["lockout"]
    if lo:
        print(bold("Why (includeAllNetworks ON): the waits-for chain at the heal deadline"))
        steps = lo["explanation"].split(" ← ")
        for i, step in enumerate(steps):
            lead = "  " + ("" if i == 0 else "← ")
            for k, part in enumerate(textwrap.wrap(step, WIDTH - 8)):
                print((lead if k == 0 else " " * len(lead)) + part)
        print()
        print(bold("What gets the user out: the run replayed to 120 s, then one action"))
        names = {"cancel-download": "cancel the download", "toggle-once": "toggle the VPN in Settings",
                 "toggle-twice": "toggle it twice", "cancel-and-toggle-twice": "cancel, then toggle twice",
                 "reboot": "reboot", "uninstall-app": "uninstall the VPN app",
                 "remove-vpn-profile": "remove the VPN profile", "open-app": "open the VPN app"}
        for key, label in names.items():
            r = on["recovery"].get(key)
            if r is None:
                continue
            if not r["restored"]:
                mark = red("✗") + " still locked out"
            else:
                mark = green("✓") + f" restored in {r['time_to_restore_ns'] / S:.1f} s"
                if r["relapses"]:
                    mark += yellow(f", then the App Store retries the update: locked out again ({r['relapses']}x)")
            print(f"  {label:<28} {mark}")
        print()
        print(dim("Mechanisms (docs/model-reference.md §6): the provider is SIGTERMed when the update begins;"))
        print(dim("its relaunch is refused while the app updates (quirk update-relaunch-refused, GAP-3); a refused"))
        print(dim("launch suspends on-demand until a Settings toggle (refused-launch-suspends-on-demand); a removed"))
        print(dim("configuration's drop policy stays until reboot (config-removal-keeps-policy). Each is selectable."))
    print(line)


if __name__ == "__main__":
    main()
