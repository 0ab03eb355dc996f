"""The "internet" of the network lab: tiny servers the practice's hosts talk to.

Run inside the lab's ``inet`` namespace as ``python3 -m tests.lab.servers --udp-echo 7 --tcp-echo 7
--sip 5060``. One process, one thread per server, so the lab tracks and kills a single pid.

* UDP echo: sends every datagram back unchanged (the probe's counterpart).
* TCP echo: echoes whatever a connection sends, line by line or not.
* "SIP": answers any datagram that looks like a SIP request with ``SIP/2.0 200 OK`` carrying the
  request's Via/Call-ID/CSeq, which is all the lab needs to show VoIP signalling passes or not.
"""

from __future__ import annotations

import argparse
import contextlib
import socketserver
import sys
import threading


class _UdpEcho(socketserver.BaseRequestHandler):
    def handle(self) -> None:
        data, sock = self.request
        sock.sendto(data, self.client_address)


class _TcpEcho(socketserver.StreamRequestHandler):
    def handle(self) -> None:
        while True:
            chunk = self.connection.recv(65536)
            if not chunk:
                return
            self.connection.sendall(chunk)


def sip_reply(request: bytes) -> bytes | None:
    """Build a minimal ``200 OK`` for a SIP request; ``None`` for anything that is not one."""
    try:
        text = request.decode("utf-8")
    except UnicodeDecodeError:
        return None
    lines = text.split("\r\n")
    if not lines or " sip:" not in lines[0] or not lines[0].rstrip().endswith("SIP/2.0"):
        return None
    keep = [ln for ln in lines[1:] if ln.split(":", 1)[0].strip().lower() in {"via", "call-id", "cseq", "from", "to"}]
    return ("\r\n".join(["SIP/2.0 200 OK", *keep, "Content-Length: 0", "", ""])).encode()


class _Sip(socketserver.BaseRequestHandler):
    def handle(self) -> None:
        data, sock = self.request
        reply = sip_reply(data)
        if reply is not None:
            sock.sendto(reply, self.client_address)


class _ThreadingUdp(socketserver.ThreadingUDPServer):
    allow_reuse_address = True
    daemon_threads = True


class _ThreadingTcp(socketserver.ThreadingTCPServer):
    allow_reuse_address = True
    daemon_threads = True


def serve(bind: str, udp_echo: int | None, tcp_echo: int | None, sip: int | None) -> list[socketserver.BaseServer]:
    """Start the requested servers in daemon threads and return them (for shutdown in library use)."""
    servers: list[socketserver.BaseServer] = []
    if udp_echo:
        servers.append(_ThreadingUdp((bind, udp_echo), _UdpEcho))
    if tcp_echo:
        servers.append(_ThreadingTcp((bind, tcp_echo), _TcpEcho))
    if sip:
        servers.append(_ThreadingUdp((bind, sip), _Sip))
    for srv in servers:
        threading.Thread(target=srv.serve_forever, daemon=True).start()
    return servers


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--bind", default="0.0.0.0")
    ap.add_argument("--udp-echo", type=int, default=None, metavar="PORT")
    ap.add_argument("--tcp-echo", type=int, default=None, metavar="PORT")
    ap.add_argument("--sip", type=int, default=None, metavar="PORT")
    args = ap.parse_args(argv)
    serve(args.bind, args.udp_echo, args.tcp_echo, args.sip)
    # The lab waits for this line before it hands the lab to tests: the sockets are bound now.
    print("ready", flush=True)
    with contextlib.suppress(KeyboardInterrupt):
        threading.Event().wait()
    return 0


if __name__ == "__main__":
    sys.exit(main())
