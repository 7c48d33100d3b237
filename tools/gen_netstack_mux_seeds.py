#!/usr/bin/env python3
"""Writes the seed corpus of fuzz/fuzz_netstack_mux.c into corpus/fuzz_netstack_mux/.

Each seed is a packet sequence in the harness's step language (see the comment at the
top of fuzz_netstack_mux.c): real exchanges for the connections and pings the harness
opens (SYN-ACK, data, FIN, RST, echo replies, ICMP errors, IPv6 extension headers)
and a little garbage. Sequence numbers are relative to what the netstack last sent,
so the seeds do not depend on its ISN. Run once from the repository root; the output
is committed, this script is kept so the seeds can be regenerated and read."""
import os
import struct

OUT = "corpus/fuzz_netstack_mux"
FIN, SYN, RST, PSH, ACK = 0x01, 0x02, 0x04, 0x08, 0x10
V4, V6 = 0, 1  # connection / ping indices of the harness's setup


def tcp(sel, flags, sd=0, ad=0, win=64240, opts=b"", plen=0, wrap=0, wb=0, bad_sum=False,
        then_ms=None):
    assert len(opts) % 4 == 0 and len(opts) <= 60
    op = (7 if then_ms is not None else 1) | ((1 if bad_sum else 0) << 3)
    b = bytes([op, sel, flags, sd & 0xff, ad & 0xff]) + struct.pack(">H", win)
    b += bytes([len(opts) // 4, plen, wrap]) + struct.pack(">I", wb) + opts
    if then_ms is not None:
        b += bytes([then_ms - 1])
    return b


def echo(sel, seq=1, plen=8, id_=None, other_host=False, request=False, bad=False):
    sub = (1 if id_ is not None else 0) | (2 if other_host else 0) | (4 if request else 0) | (8 if bad else 0)
    b = bytes([2 | sub << 3, sel])
    if id_ is not None:
        b += struct.pack(">H", id_)
    return b + struct.pack(">H", seq) + bytes([plen])


def icmp_error(sel, type_, code, qlen, ping=False, router=False, any_type=False):
    sub = (1 if ping else 0) | (2 if router else 0) | (4 if any_type else 0)
    return bytes([3 | sub << 3, sel, type_, code, qlen])


def wait(b):  # (b + 1)^2 ms
    return bytes([4, b])


def app(what, sel=0, arg=0):  # 0 write, 1 close, 2 abort, 3 connect, 4 ping, 5 ping again
    return bytes([5, what, sel, arg])


def raw(data):
    return bytes([0]) + struct.pack(">H", len(data)) + data


def ip(sel, proto, l4, wb=0, fix_sum=True):
    return bytes([6 | (1 if fix_sum else 0) << 3, sel, proto, len(l4)]) + struct.pack(">I", wb) + l4


MSS = bytes([2, 4, 0x05, 0x00])          # MSS 1280
WS_SACK = bytes([1, 3, 3, 7, 4, 2, 1, 1])  # window scale 7, SACK permitted

seeds = {
    # Handshake, 100 bytes each way, the peer closes, the netstack follows, last ACK.
    "tcp4_handshake_data_fin": tcp(V4, SYN | ACK, opts=MSS, then_ms=1)
    + app(0, V4, 12) + tcp(V4, ACK | PSH, plen=20, then_ms=250)
    + tcp(V4, FIN | ACK, then_ms=10) + tcp(V4, ACK, ad=0, then_ms=10) + wait(40),
    # The netstack closes first: FIN_WAIT, the peer's FIN, TIME_WAIT.
    "tcp4_we_close_first": tcp(V4, SYN | ACK, opts=MSS, then_ms=1) + app(1, V4)
    + tcp(V4, ACK, then_ms=1) + tcp(V4, FIN | ACK, then_ms=1) + wait(200),
    "tcp4_rst_after_handshake": tcp(V4, SYN | ACK, then_ms=1) + tcp(V4, RST) + tcp(V4, ACK, plen=4),
    "tcp4_rst_out_of_window": tcp(V4, SYN | ACK, then_ms=1) + tcp(V4, RST, sd=40, then_ms=1) + tcp(V4, RST),
    "tcp4_refused": tcp(V4, RST | ACK, sd=0) + wait(10),
    "tcp4_bad_checksum_and_retransmits": tcp(V4, SYN | ACK, bad_sum=True) + wait(60) + wait(60)
    + tcp(V4, SYN | ACK, opts=WS_SACK, then_ms=1),
    "tcp4_out_of_order": tcp(V4, SYN | ACK, then_ms=1) + tcp(V4, ACK | PSH, sd=50, plen=10)
    + tcp(V4, ACK | PSH, plen=10, then_ms=1) + tcp(V4, FIN | ACK, sd=100),
    "tcp4_ip_options_and_fragments": tcp(V4, SYN | ACK, wrap=1, wb=0x01010101, then_ms=1)
    + tcp(V4, ACK | PSH, plen=8, wrap=2, wb=0x2000) + tcp(V4, ACK | PSH, plen=8, wrap=2, wb=0x0003),
    "tcp6_handshake_data_rst": tcp(V6, SYN | ACK, opts=MSS, then_ms=1) + tcp(V6, ACK | PSH, plen=30, then_ms=5)
    + app(0, V6, 4) + tcp(V6, RST, then_ms=1),
    "tcp6_extension_headers": tcp(V6, SYN | ACK, wrap=1, wb=0x00, then_ms=1)   # hop-by-hop
    + tcp(V6, ACK | PSH, plen=6, wrap=2, wb=0x0d)                             # dstopts, routing
    + tcp(V6, ACK | PSH, plen=6, wrap=1, wb=0x03)                             # atomic fragment
    + tcp(V6, ACK | PSH, plen=6, wrap=1, wb=0x0103)                           # a real fragment
    + tcp(V6, FIN | ACK, then_ms=20) + wait(20),
    "echo_replies": echo(V4, 1) + echo(V6, 1) + echo(V4, 2, id_=0x9999) + echo(V6, 3, other_host=True)
    + echo(V4, 4, request=True) + echo(V6, 5, bad=True) + app(5, V4, 9) + echo(V4, 9, plen=200),
    "icmp_errors": tcp(V4, SYN | ACK, then_ms=1) + icmp_error(V4, 3, 3, 28) + icmp_error(V4, 11, 0, 60, router=True)
    + icmp_error(V6, 1, 4, 48) + icmp_error(V6, 2, 0, 200) + icmp_error(V4, 0, 0, 28, ping=True)
    + icmp_error(V6, 3, 0, 48, ping=True) + icmp_error(V4, 99, 0, 28, any_type=True),
    "app_new_flows_evict": app(3, 0, 0) + app(3, 0, 1 | 4) + app(4, 0, 8) + wait(30)
    + tcp(2, SYN | ACK, then_ms=1) + tcp(V4, SYN | ACK) + echo(V4) + app(2, 2) + wait(80),
    "ip_framed": ip(0, 0, b"\x05\x39\x9c\x40" + b"\x00" * 16)           # TCP-ish to us, from the peer
    + ip(1 | 8, 0, b"\x05\x39\x9c\x40\x00\x0c\x00\x00abcd")           # UDP over IPv6
    + ip(4, 0, b"\x9c\x40\x05\x39" + b"\x00" * 16)                    # the wrong way round
    + ip(0 | 24, 41, b"\x60" + b"\x00" * 39, fix_sum=False),           # IPv6-in-IPv4
    # lwIP 2.1.3 reads an option's length byte past the options when the last option
    # byte is a kind that needs one (ts_netstack drops such segments: see
    # sim/netstack/netstack_sanitize.c).
    "lwip_optlen_overread": tcp(V4, SYN | ACK, opts=bytes([1, 1, 1, 0xFE]))
    + tcp(V6, SYN | ACK, opts=MSS, then_ms=1) + tcp(V6, ACK, opts=bytes([1, 1, 1, 2])),
    # lwIP 2.1.3 takes an MSS option from any segment: data queued while SYN-SENT and
    # kept unsent by a zero window no longer fits after a SYN-ACK with a small MSS, and
    # the next write trips an assertion (ts_netstack turns an MSS outside SYN into NOPs
    # and defers writes that would trip it: netstack_sanitize.c, netstack_guard.c).
    "lwip_mss_shrink": app(0, V4, 12) + tcp(V4, SYN | ACK, win=0, opts=bytes([2, 4, 0, 100]))
    + app(0, V4, 40) + wait(10),
    # lwIP 2.1.3 sizes a segment queued under a window below 2 by the full MSS; a window
    # opened to 200 then leaves it too big for the next write (an assertion).
    "lwip_small_window": tcp(V4, SYN | ACK, win=0, then_ms=1) + app(0, V4, 100) + tcp(V4, ACK, win=200)
    + app(0, V4, 10) + wait(10),
    # lwIP 2.1.3 leaves its persist timer running when an ACK of data the RTO had moved
    # back to the unsent queue empties it (an assertion in the slow timer).
    "lwip_persist_empty": tcp(V4, SYN | ACK, then_ms=1) + app(0, V4, 13)
    + tcp(V4, ACK | PSH, ad=-104, win=0, plen=1, then_ms=1) + wait(60)
    + tcp(V4, ACK, sd=5, then_ms=1) + wait(40),
    "garbage": raw(b"") + raw(b"\x45") + raw(b"\x60" + b"\x00" * 39) + raw(bytes(range(64)))
    + raw(b"\x45\x00\x00\x14" + b"\x00" * 16) + raw(b"\x4f" + b"\xff" * 59),
}

os.makedirs(OUT, exist_ok=True)
for name, data in sorted(seeds.items()):
    with open(os.path.join(OUT, name), "wb") as f:
        f.write(data)
print(f"{len(seeds)} seeds in {OUT}, {sum(len(d) for d in seeds.values())} bytes")
