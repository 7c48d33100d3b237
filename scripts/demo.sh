#!/usr/bin/env bash
# The main job of `make demo`: the App Store update of a VPN app with and without
# includeAllNetworks, side by side (the lockout the project exists for); then the
# shipped two-host scenario and two phone scenarios, with captures to open.
set -euo pipefail
BUILD="${1:-build}"

python3 scripts/demo_update.py "$BUILD/tunnelsim"
echo
SCENARIO=models/scenarios/lossy-link.yaml
mkdir -p results
PCAP=results/demo.pcapng
TRACE=results/demo.jsonl

echo "== tunnelsim demo: $SCENARIO"
"$BUILD/tunnelsim" run "$SCENARIO" --pcap "$PCAP" --trace "$TRACE" --check-determinism
if command -v tshark >/dev/null 2>&1; then
  echo
  echo "== first packets of $PCAP as tshark reads them (interface, simulated time in s, summary)"
  # The capture's timestamps are simulated time since the world began.
  tshark -r "$PCAP" -c 8 -T fields -E separator=' ' -e frame.interface_name -e frame.time_epoch \
    -e _ws.col.Info 2>/dev/null | sed 's/^/  /'
fi
for gt in gt-01-preexisting-tcp-ian-off gt-02-preexisting-tcp-ian-on; do
  echo
  echo "== a phone with a VPN: models/scenarios/gt/$gt.yaml"
  # Exit status 1 means findings (leaks): expected in the first of the two.
  "$BUILD/tunnelsim" run "models/scenarios/gt/$gt.yaml" --pcap "results/$gt.pcapng" || [ $? -eq 1 ]
done
echo
echo "Next: open $PCAP or results/gt-01-preexisting-tcp-ian-off.pcapng in Wireshark (the tunnel"
echo "decrypts from the embedded key log), read $TRACE, or try 'build/tunnelsim run --help'."
