"""What the golden scripts share: running tunnelsim on a profile, counting checks, and
reading the shipped OS profiles (models/os/<profile>.yaml)."""
import glob
import json
import os
import subprocess
import sys

S = 1_000_000_000
GT = "models/scenarios/gt/"
PROFILES = sorted(os.path.basename(p)[:-5] for p in glob.glob("models/os/*.yaml"))
TS = sys.argv[1] if len(sys.argv) > 1 else "build/tunnelsim"


class Tally:
    passed = 0
    failed = 0


def run(path, profile, *extra):
    """tunnelsim run PATH --os PROFILE --json: (exit status, JSON or None, stderr)."""
    p = subprocess.run([TS, "run", path, "--os", profile, "--json", *extra], capture_output=True, text=True)
    out = json.loads(p.stdout) if p.stdout.strip() else None
    return p.returncode, out, p.stderr


def check(name, ok, detail=""):
    if ok:
        Tally.passed += 1
        print(f"ok   {name}")
    else:
        Tally.failed += 1
        print(f"FAIL {name}: {detail}")


def finish():
    print(f"{Tally.passed} passed, {Tally.failed} failed")
    sys.exit(1 if Tally.failed else 0)


def app(j, name):
    return next(a for a in j["phone_apps"] if a["name"] == name)


def quirk(profile, name):
    """The value of a boolean quirk in a shipped profile."""
    lines = open(f"models/os/{profile}.yaml").read().splitlines()
    for i, line in enumerate(lines):
        if line.strip() == f"- name: {name}":
            return lines[i + 1].split(":", 1)[1].strip() == "true"
    raise KeyError(name)
