"""A client that goes away mid-request is routine, not a server error: a real process's log stays clean."""

from __future__ import annotations

import socket
import struct
import urllib.request

from tests.live_server import HOST, serving

# Requests cut off at each stage: a body still owed, headers unfinished, an answer nobody reads.
PARTIAL_REQUESTS = [
    b"POST /api/v1/datafeed/quotes HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
    b'Content-Length: 1000\r\n\r\n{"symbols": [',
    b"GET /api/v1/udf/history?symbol=AAPL&resolution=1D&from=0&to=2000000000 HTTP/1.1\r\nHost: x\r\n",
    b"GET /api/v1/udf/history?symbol=AAPL&resolution=1D&from=0&to=2000000000 HTTP/1.1\r\nHost: x\r\n\r\n",
    b"GET /api/v1/openapi.json HTTP/1.1\r\nHost: x\r\n\r\n",
]


def send_and_vanish(port: int, request: bytes, *, reset: bool) -> None:
    """Send `request` and close at once: with a FIN, or with a RST when `reset` (SO_LINGER 0)."""
    with socket.create_connection((HOST, port), timeout=5) as sock:
        if reset:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        sock.sendall(request)


def test_clients_disconnecting_mid_request_are_not_logged_as_errors() -> None:
    with serving({"BAR_BROADCASTER_ENABLED": "false"}) as server:
        for _ in range(5):
            for request in PARTIAL_REQUESTS:
                send_and_vanish(server.port, request, reset=False)
                send_and_vanish(server.port, request, reset=True)
        # The server handles the vanished clients' events before this later request's.
        with urllib.request.urlopen(server.url("/api/v1/health"), timeout=10) as response:
            assert response.status == 200
    assert "ERROR" not in server.final_log, server.final_log
    assert "Traceback" not in server.final_log, server.final_log
