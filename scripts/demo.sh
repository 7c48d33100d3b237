#!/usr/bin/env bash
# The main job of `make demo`: run the shipped scenario, summarise, and show where the
# capture went and how to open it.
set -euo pipefail
BUILD="${1:-build}"
SCENARIO=models/scenarios/lossy-link.yaml
mkdir -p results
PCAP=results/demo.pcapng
TRACE=results/demo.jsonl

echo "== tunnelsim demo: $SCENARIO"
"$BUILD/tunnelsim" run "$SCENARIO" --pcap "$PCAP" --trace "$TRACE" --check-determinism
if command -v tshark >/dev/null 2>&1; then
  echo
  echo "== first packets of $PCAP, as tshark reads them (interface, time, summary)"
  tshark -r "$PCAP" -T fields -E separator=' ' -e frame.interface_name -e frame.time_relative \
    -e _ws.col.Info 2>/dev/null | head -8 | sed 's/^/  /'
fi
echo
echo "Next: open $PCAP in Wireshark, read $TRACE, or try 'build/tunnelsim run --help'."
