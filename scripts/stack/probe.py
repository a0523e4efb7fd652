#!/usr/bin/env python3
"""Wire-level health probes for the local stack, standard library only.

A TCP connect is not enough: Kafka accepts connections before its broker is registered, and a port
can belong to something else entirely. Each probe sends one real protocol request and exits 0 only
when the answer says the service can serve clients.

usage: probe.py kafka HOST PORT | probe.py mongo HOST PORT   [--timeout SECONDS]
"""

import socket
import struct
import sys


def _recv_exact(sock: socket.socket, size: int) -> bytes:
    chunks = b""
    while len(chunks) < size:
        chunk = sock.recv(size - len(chunks))
        if not chunk:
            raise ConnectionError("connection closed mid-response")
        chunks += chunk
    return chunks


def probe_kafka(host: str, port: int, timeout: float) -> bool:
    # Metadata v0 (api key 3) with an empty topic list; Kafka 3.9 still serves v0 (4.0 drops it).
    # A broker that answers with itself in the broker list is registered and unfenced.
    client_id = b"medstream-stack"
    body = struct.pack(">hhih", 3, 0, 7, len(client_id)) + client_id + struct.pack(">i", 0)
    with socket.create_connection((host, port), timeout=timeout) as sock:
        sock.settimeout(timeout)
        sock.sendall(struct.pack(">i", len(body)) + body)
        (size,) = struct.unpack(">i", _recv_exact(sock, 4))
        payload = _recv_exact(sock, size)
    correlation_id, broker_count = struct.unpack(">ii", payload[:8])
    return correlation_id == 7 and broker_count >= 1


def _bson_hello() -> bytes:
    elements = b"\x10hello\x00" + struct.pack("<i", 1)
    elements += b"\x02$db\x00" + struct.pack("<i", len(b"admin") + 1) + b"admin\x00"
    return struct.pack("<i", 4 + len(elements) + 1) + elements + b"\x00"


def probe_mongo(host: str, port: int, timeout: float) -> bool:
    # OP_MSG (opcode 2013) carrying {hello: 1, $db: "admin"}; healthy when the reply has ok: 1.
    doc = _bson_hello()
    message = struct.pack("<I", 0) + b"\x00" + doc
    header = struct.pack("<iiii", 16 + len(message), 1, 0, 2013)
    with socket.create_connection((host, port), timeout=timeout) as sock:
        sock.settimeout(timeout)
        sock.sendall(header + message)
        (length,) = struct.unpack("<i", _recv_exact(sock, 4))
        reply = _recv_exact(sock, length - 4)
    _request_id, _response_to, opcode = struct.unpack("<iii", reply[:12])
    if opcode != 2013:
        return False
    marker = reply.find(b"\x01ok\x00")
    if marker < 0:
        return False
    (ok,) = struct.unpack("<d", reply[marker + 4 : marker + 12])
    return ok == 1.0


PROBES = {"kafka": probe_kafka, "mongo": probe_mongo}


def main(argv: list[str]) -> int:
    timeout = 2.0
    if "--timeout" in argv:
        at = argv.index("--timeout")
        timeout = float(argv[at + 1])
        del argv[at : at + 2]
    if len(argv) != 4 or argv[1] not in PROBES:
        print(__doc__.strip().splitlines()[-1], file=sys.stderr)
        return 2
    try:
        return 0 if PROBES[argv[1]](argv[2], int(argv[3]), timeout) else 1
    except (OSError, ValueError, struct.error):
        return 1


if __name__ == "__main__":
    sys.exit(main(sys.argv))
