#!/bin/bash
# Interop: tsengine (tools/wgtool) against wireguard-go, PSK on, in two network
# namespaces joined by a veth (see /work/shared/design/wireguard.md §4).
#   1. engine as initiator: wgtool pings wireguard-go's tunnel address, then
#      answers pings from wireguard-go's namespace;
#   2. engine as responder (wireguard-go's peer is reset so it must initiate):
#      ping from wireguard-go's namespace to wgtool, then wgtool pings back;
#   3. cookie path: a second wgtool (--flood, from 10.77.0.3 in wgtool's namespace,
#      a throwaway identity) resends one mac1-valid initiation in bursts until
#      wireguard-go answers with cookie replies (under load); then the engine
#      initiates: its first initiation must get a cookie reply, its retransmit 5 s
#      later must carry mac2 and complete the handshake, pings both ways. The flood
#      is bounded (rate, burst, 25 s cap) and stopped once the engine is done.
# Namespaces, veths and processes are removed on success and failure (trap).
# usage: interop_wireguard_go.sh PATH/TO/wgtool        exit 77 = skipped
set -uo pipefail
WGTOOL=$(readlink -f "${1:?usage: $0 PATH/TO/wgtool}")
[ -x "$WGTOOL" ] || { echo "FAIL: no wgtool at $1"; exit 1; }
skip() { echo "SKIP: $*"; exit 77; }
[ "$(id -u)" = 0 ] || skip "needs root (network namespaces)"
for c in ip wg wireguard-go; do command -v $c >/dev/null || skip "$c not installed (scripts/deps.sh)"; done
if command -v ping >/dev/null; then PING=(ping); elif command -v busybox >/dev/null && busybox --list | grep -qx ping; then PING=(busybox ping)
else skip "no ping (iputils-ping or busybox)"; fi
ip netns list >/dev/null 2>&1 || skip "ip netns unavailable"
[ -c /dev/net/tun ] || skip "/dev/net/tun missing"

ID=$$
NA=tsi-a-$ID; NB=tsi-b-$ID           # namespaces
VA=tsia$ID; VB=tsib$ID; WGIF=tsiwg$ID  # veth ends, wireguard-go interface (unique host-wide)
D=$(mktemp -d /tmp/tsi-interop.XXXXXX)
PIDS=()
cleanup() {
  set +e
  # Only our own background jobs that are still running: a PID we already waited for
  # may belong to an unrelated process by now.
  local live
  live=$(jobs -pr)
  for p in $live; do kill -TERM "$p" 2>/dev/null; done
  for p in $live; do for i in $(seq 20); do kill -0 "$p" 2>/dev/null || break; sleep 0.05; done; kill -KILL "$p" 2>/dev/null; done
  ip netns del $NA 2>/dev/null; ip netns del $NB 2>/dev/null
  rm -f /var/run/wireguard/$WGIF.sock
  if [ "${KEEP:-0}" = 1 ]; then echo "kept $D"; else rm -rf "$D"; fi
}
trap cleanup EXIT
trap 'exit 1' INT TERM
fail() { echo "FAIL: $*"; for f in "$D"/*.log; do echo "---- $f"; tail -n 40 "$f"; done; exit 1; }
cd "$D"; umask 077

ip netns add $NA || skip "cannot create network namespaces"
ip netns add $NB || fail "netns $NB"
ip link add $VA netns $NA type veth peer name $VB netns $NB || fail "veth"
ip -n $NA addr add 10.77.0.1/24 dev $VA; ip -n $NB addr add 10.77.0.2/24 dev $VB
for ns in $NA $NB; do ip -n $ns link set lo up; done
ip -n $NA link set $VA up; ip -n $NB link set $VB up

wg genkey > a.key; wg pubkey < a.key > a.pub
wg genkey > c.key; wg pubkey < c.key > c.pub
wg genpsk > psk.key
LOG_LEVEL=verbose WG_PROCESS_FOREGROUND=1 ip netns exec $NA wireguard-go $WGIF > wggo.log 2>&1 & PIDS+=($!)
for i in $(seq 200); do [ -S /var/run/wireguard/$WGIF.sock ] && break; sleep 0.01; done
[ -S /var/run/wireguard/$WGIF.sock ] || fail "wireguard-go did not start"
add_peer() {
  wg set $WGIF private-key a.key listen-port 51820 peer "$(cat c.pub)" preshared-key psk.key \
    allowed-ips 10.78.0.9/32 endpoint 10.77.0.2:51821
}
add_peer || fail "wg set"
ip -n $NA addr add 10.78.0.1/24 dev $WGIF; ip -n $NA link set $WGIF up

# Capture the veth so tshark can check the engine's key log against real traffic.
CAP=0
if command -v dumpcap >/dev/null && command -v tshark >/dev/null; then
  ip netns exec $NA dumpcap -q -i $VA -f udp -w "$D/veth.pcapng" > dumpcap.log 2>&1 & CPID=$!; PIDS+=($CPID)
  for i in $(seq 100); do [ -s "$D/veth.pcapng" ] && break; sleep 0.05; done
  [ -s "$D/veth.pcapng" ] && CAP=1
fi

COMMON=(--private-key c.key --peer-public-key "$(cat a.pub)" --preshared-key psk.key
        --listen 10.77.0.2:51821 --endpoint 10.77.0.1:51820 --addr 10.78.0.9 --peer-addr 10.78.0.1
        --keylog keylog.txt)

echo "== 1: engine initiates (wgtool pings 10.78.0.1, then answers 3 pings)"
ip netns exec $NB "$WGTOOL" "${COMMON[@]}" --ping 3 --answer 3 --timeout 20 > init.log 2>&1 & T1=$!; PIDS+=($T1)
for i in $(seq 100); do grep -q "echo reply seq=3" init.log 2>/dev/null && break; sleep 0.1; done
grep -q "echo reply seq=3" init.log || fail "engine-initiated pings got no replies"
ip netns exec $NA "${PING[@]}" -c 3 -W 2 10.78.0.9 > ping1.log 2>&1 || fail "ping from wireguard-go side to the engine failed"
wait $T1 || fail "wgtool (initiator run) exited $?"
grep -q "handshake complete as initiator" init.log || fail "engine was not the initiator"
grep -q "Received handshake initiation" wggo.log || fail "wireguard-go saw no initiation"
grep -q "Sending handshake response" wggo.log || fail "wireguard-go sent no response"
HS=$(wg show $WGIF latest-handshakes | awk '{print $2}')
[ "${HS:-0}" != 0 ] || fail "wg show: no handshake"
cat init.log ping1.log | sed 's/^/   /'

echo "== 2: engine responds (wireguard-go peer reset; ping from its namespace first)"
wg set $WGIF peer "$(cat c.pub)" remove; add_peer || fail "wg set (re-add)"
MARK=$(wc -l < wggo.log)
ip netns exec $NB "$WGTOOL" "${COMMON[@]}" --answer 3 --ping 3 --answer-first --timeout 20 > resp.log 2>&1 & T2=$!; PIDS+=($T2)
sleep 0.3
ip netns exec $NA "${PING[@]}" -c 3 -W 2 10.78.0.9 > ping2.log 2>&1 || fail "ping from wireguard-go side (it initiates) failed"
wait $T2 || fail "wgtool (responder run) exited $?"
grep -q "handshake complete as responder" resp.log || fail "engine was not the responder"
tail -n +$((MARK + 1)) wggo.log | grep -q "Sending handshake initiation" || fail "wireguard-go did not initiate"
tail -n +$((MARK + 1)) wggo.log | grep -q "Received handshake response" || fail "wireguard-go got no response"
cat resp.log ping2.log | sed 's/^/   /'
if [ $CAP = 1 ]; then
  sleep 0.3; kill -INT $CPID; wait $CPID 2>/dev/null
  TS=(tshark -n -r veth.pcapng -o wg.keylog_file:keylog.txt)
  ERR=$("${TS[@]}" -Y 'wg.decryption_error || wg.bad_packet_length' 2>/dev/null | wc -l)
  HOK=$("${TS[@]}" -Y 'wg.type == 2 && wg.handshake_ok == 1' 2>/dev/null | wc -l)
  ICMP=$("${TS[@]}" -Y icmp 2>/dev/null | wc -l)
  echo "   tshark on the veth capture with wgtool's key log: $ERR decryption errors, $HOK responses ok, $ICMP inner icmp"
  [ "$ERR" = 0 ] || fail "tshark: decryption errors with the engine's key log"
  [ "$HOK" -ge 2 ] || fail "tshark: handshake responses not authenticated with the engine's key log"
  [ "$ICMP" -ge 24 ] || fail "tshark: expected 24 decrypted ICMP packets, saw $ICMP"
else
  echo "   (no dumpcap/tshark: capture check skipped)"
fi
grep -c LOCAL_EPHEMERAL_PRIVATE_KEY keylog.txt | sed 's/^/   key-log handshakes: /'

echo "== 3: cookie path (flood puts wireguard-go under load; engine must take the cookie reply and succeed with mac2)"
wg set $WGIF peer "$(cat c.pub)" remove; add_peer || fail "wg set (re-add for the cookie phase)"
ip -n $NB addr add 10.77.0.3/24 dev $VB || fail "flood address"
MARK=$(wc -l < wggo.log)
FLOOD=(--flood ${FLOOD_RATE:-2000} --flood-burst ${FLOOD_BURST:-256} --flood-seconds 25
       --peer-public-key "$(cat a.pub)" --listen 10.77.0.3:51900 --endpoint 10.77.0.1:51820)
ip netns exec $NB "$WGTOOL" "${FLOOD[@]}" > flood.log 2>&1 & TF=$!; PIDS+=($TF)
# Under load is verified by the cookie replies themselves, not assumed from the rate.
for i in $(seq 100); do grep -q "first cookie reply" flood.log 2>/dev/null && break; kill -0 $TF 2>/dev/null || break; sleep 0.1; done
grep -q "first cookie reply" flood.log || fail "flood: no cookie reply from wireguard-go within 10 s (not under load)"
COOKIE=(--private-key c.key --peer-public-key "$(cat a.pub)" --preshared-key psk.key
        --listen 10.77.0.2:51821 --endpoint 10.77.0.1:51820 --addr 10.78.0.9 --peer-addr 10.78.0.1)
ip netns exec $NB "$WGTOOL" "${COOKIE[@]}" --ping 3 --answer 3 --expect-cookie --timeout 25 > cookie.log 2>&1 & T3=$!; PIDS+=($T3)
# The handshake needs the engine's retransmit (REKEY_TIMEOUT 5 s + jitter).
for i in $(seq 200); do grep -q "echo reply seq=3" cookie.log 2>/dev/null && break; kill -0 $T3 2>/dev/null || break; sleep 0.1; done
grep -q "echo reply seq=3" cookie.log || fail "cookie phase: engine-initiated pings got no replies"
ip netns exec $NA "${PING[@]}" -c 3 -W 2 10.78.0.9 > ping3.log 2>&1 || fail "cookie phase: ping from wireguard-go side failed"
wait $T3 || fail "wgtool (cookie run) exited $?"
sleep 0.3; kill -TERM $TF; wait $TF || fail "flood got no cookie reply"
WGNEW=$(tail -n +$((MARK + 1)) wggo.log)
# (a) the engine received (and decrypted) a cookie reply
grep -q "^event: cookie reply received" cookie.log || fail "engine received no cookie reply"
# (b) a later initiation carried mac2, and (c) the completed handshake answered it
grep -q "initiation sent: .* mac2=zero" cookie.log || fail "engine's first initiation already had mac2"
grep -q "initiation sent: .* mac2=set" cookie.log || fail "no initiation with mac2"
grep -q "handshake complete as initiator (initiation mac2 set: cookie used)" cookie.log ||
  fail "handshake did not complete with the mac2 initiation"
# (d) wireguard-go sent cookie replies, to the engine's address among them
grep -q "Sending cookie response for denied handshake message for 10.77.0.3:51900" <<<"$WGNEW" ||
  fail "wireguard-go log: no cookie response to the flood"
grep -q "Sending cookie response for denied handshake message for 10.77.0.2:51821" <<<"$WGNEW" ||
  fail "wireguard-go log: no cookie response to the engine"
grep -q "Sending handshake response" <<<"$WGNEW" || fail "wireguard-go log: no handshake response"
NCR=$(grep -c "Sending cookie response" <<<"$WGNEW")
# Was wireguard-go still under load when it accepted the mac2 initiation? Cookie
# replies to the flood after the handshake say so (informational: not under load,
# mac2 is ignored and the handshake is still valid).
HS_NS=$(sed -n 's/^handshake complete as initiator (initiation mac2 set: cookie used) mono_ns=\([0-9]*\)/\1/p' cookie.log | head -1)
read -r F_FIRST F_LAST F_GAP < <(sed -n 's/^flood: cookie replies first_mono_ns=\([0-9]*\) last_mono_ns=\([0-9]*\) max_gap_ms=\([0-9]*\)/\1 \2 \3/p' flood.log)
if [ -n "$HS_NS" ] && [ -n "$F_LAST" ] && [ "$F_FIRST" -lt "$HS_NS" ] && [ "$F_LAST" -gt "$HS_NS" ]; then
  UL="yes (flood got cookie replies before and after it; longest gap ${F_GAP} ms)"
else UL="not shown (flood cookie replies ${F_FIRST:-?}..${F_LAST:-?}, handshake at ${HS_NS:-?})"; fi
cat flood.log cookie.log ping3.log | sed 's/^/   /'
echo "   wireguard-go logged $NCR cookie responses in this phase; under load at the mac2 handshake: $UL"
echo "PASS: interop with wireguard-go (engine initiator and responder, PSK, ping both ways, cookie path under load)"
