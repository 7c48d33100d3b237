#!/usr/bin/env bash
# End-to-end checks of the tunnelsim command: determinism across runs and processes,
# seeds, the pcapng as tshark reads it, exit statuses, --help, and the bad-file suite.
# usage: test_cli.sh path/to/tunnelsim   (run from the repository root)
set -u
TS="$1"
SCN=models/scenarios/lossy-link.yaml
TMP=$(mktemp -d)
trap 'rm -rf "$TMP"' EXIT
passed=0
failed=0

ok() { passed=$((passed + 1)); echo "ok   $1"; }
bad() { failed=$((failed + 1)); echo "FAIL $1: $2"; }
json_field() { sed -n "s/.*\"$1\":\"\{0,1\}\([^,\"}]*\).*/\1/p"; }

# Determinism inside one process.
if "$TS" run "$SCN" --check-determinism >"$TMP/out" 2>&1; then ok check_determinism_passes
else bad check_determinism_passes "$(cat "$TMP/out")"; fi

# Same seed in two processes: same hash. Another seed, with loss on: another hash.
h1=$("$TS" run "$SCN" --seed 5 --json | json_field trace_hash)
h2=$("$TS" run "$SCN" --seed 5 --json | json_field trace_hash)
h3=$("$TS" run "$SCN" --seed 6 --json | json_field trace_hash)
[ -n "$h1" ] && [ "$h1" = "$h2" ] && ok same_seed_same_hash_across_processes || bad same_seed_same_hash_across_processes "$h1 vs $h2"
[ -n "$h3" ] && [ "$h1" != "$h3" ] && ok other_seed_other_hash_with_loss || bad other_seed_other_hash_with_loss "$h1 vs $h3"

# Writing a pcap or a trace must not change the hash (sinks are not part of the run).
h4=$("$TS" run "$SCN" --seed 5 --json --pcap "$TMP/a.pcapng" --trace "$TMP/a.jsonl" | json_field trace_hash)
[ "$h4" = "$h1" ] && ok sinks_do_not_change_the_hash || bad sinks_do_not_change_the_hash "$h4 vs $h1"

# The JSON object carries the promised keys.
"$TS" run "$SCN" --json >"$TMP/j" 2>&1
missing=""
for k in trace_hash seed sim_time_ns events findings; do grep -q "\"$k\":" "$TMP/j" || missing="$missing $k"; done
grep -q '"findings":\[\]' "$TMP/j" || missing="$missing findings-empty-list"
[ -z "$missing" ] && ok json_has_required_keys || bad json_has_required_keys "missing:$missing"
python3 -c 'import json,sys; json.load(open(sys.argv[1]))' "$TMP/j" 2>/dev/null \
  && ok json_parses || bad json_parses "$(cat "$TMP/j")"

# tshark reads the pcapng: interface names and times equal to simulated time.
if command -v tshark >/dev/null 2>&1; then
  tshark -r "$TMP/a.pcapng" -T fields -e frame.interface_name -e frame.time_epoch \
    >"$TMP/fields" 2>"$TMP/tshark.err"
  n=$(wc -l <"$TMP/fields")
  grep -q '^laptop/eth0' "$TMP/fields" && grep -q '^server/eth0' "$TMP/fields" \
    && ok pcapng_interface_names_in_tshark || bad pcapng_interface_names_in_tshark "$(head -3 "$TMP/fields")"
  # The first ping leaves laptop/eth0 at its start time, 100 ms (scenario apps.ping4.start).
  first=$(head -1 "$TMP/fields")
  [ "$first" = "$(printf 'laptop/eth0\t0.100000000')" ] && ok pcapng_first_packet_time_is_simulated_time \
    || bad pcapng_first_packet_time_is_simulated_time "$first"
  # Every tx/rx record of the JSON Lines log is a packet in the capture, in the same order and time.
  python3 - "$TMP/a.jsonl" "$TMP/fields" >"$TMP/cmp" 2>&1 <<'PY' && ok pcapng_matches_event_log || bad pcapng_matches_event_log "$(cat "$TMP/cmp")"
import json, sys
recs = [json.loads(l) for l in open(sys.argv[1])]
pk = [(r["if"], r["t"]) for r in recs if r["ev"] in ("tx", "rx")]
fields = [l.rstrip("\n").split("\t") for l in open(sys.argv[2])]
got = [(f[0], round(float(f[1]) * 1e9)) for f in fields]
if len(pk) != len(got): sys.exit(f"{len(pk)} log packets vs {len(got)} in pcap")
for i, (a, b) in enumerate(zip(pk, got)):
    if a[0] != b[0] or abs(a[1] - b[1]) > 1: sys.exit(f"packet {i}: log {a} vs pcap {b}")
PY
  [ "$n" -gt 100 ] && ok pcapng_has_packets || bad pcapng_has_packets "$n packets"
else
  bad tshark_available "tshark not installed (scripts/deps.sh installs it)"
fi

# Exit statuses and help.
for c in run bench version; do
  if "$TS" $c --help >"$TMP/h" 2>&1 && grep -q usage "$TMP/h"; then ok "help_$c"; else bad "help_$c" "$(cat "$TMP/h")"; fi
done
"$TS" --help >/dev/null 2>&1 && ok help_top || bad help_top "exit $?"
"$TS" run "$SCN" --bogus >/dev/null 2>&1; [ $? -eq 2 ] && ok unknown_option_exits_2 || bad unknown_option_exits_2 "wrong exit"
"$TS" run "$SCN" --seed -1 >/dev/null 2>&1; [ $? -eq 2 ] && ok bad_seed_exits_2 || bad bad_seed_exits_2 "wrong exit"
"$TS" run "$SCN" --until 5 >/dev/null 2>&1; [ $? -eq 2 ] && ok until_without_unit_exits_2 || bad until_without_unit_exits_2 "wrong exit"
"$TS" run "$TMP/none.yaml" >/dev/null 2>&1; [ $? -eq 2 ] && ok missing_file_exits_2 || bad missing_file_exits_2 "wrong exit"
"$TS" frobnicate >/dev/null 2>&1; [ $? -eq 2 ] && ok unknown_command_exits_2 || bad unknown_command_exits_2 "wrong exit"
"$TS" run "$SCN" --pcap "$TMP/no/such/dir/x.pcapng" >/dev/null 2>&1; [ $? -eq 3 ] && ok unwritable_pcap_exits_3 || bad unwritable_pcap_exits_3 "wrong exit"
"$TS" run "$SCN" --until 2s --json | grep -q '"sim_time_ns":2000000000,' && ok until_sets_end_time || bad until_sets_end_time "no"

# The bad-file suite through the command: exit 2 and the expected first line on stderr.
for y in tests/scenario_bad/*.yaml; do
  name=$(basename "$y" .yaml)
  exp="tests/scenario_bad/$name.expect"
  [ -f "$exp" ] || continue
  "$TS" run "$y" >"$TMP/o" 2>"$TMP/e"
  st=$?
  want=$(head -1 "$exp")
  got=$(head -1 "$TMP/e")
  # The expect files name the file relative to tests/scenario_bad/.
  if [ $st -eq 2 ] && [ "$got" = "tests/scenario_bad/$want" ]; then
    ok "bad_file_$name"
  else
    bad "bad_file_$name" "exit $st, got '$got', want '$want'"
  fi
done

echo "$passed passed, $failed failed"
[ $failed -eq 0 ]
