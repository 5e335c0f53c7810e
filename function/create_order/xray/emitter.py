"""Documents to the X-Ray daemon: one UDP datagram each, sent without blocking and never raising."""

from __future__ import annotations

import contextlib
import json
import socket
from typing import TYPE_CHECKING, Any

from create_order.xray.segments import standalone

if TYPE_CHECKING:
    from collections.abc import Mapping

    from create_order.xray.segments import InvocationTrace

PROTOCOL_HEADER = b'{"format":"json","version":1}\n'
"""The first line of every datagram the daemon accepts."""
MAX_DOCUMENT_BYTES = 63 * 1024
"""The largest document sent in one datagram (UDP carries 64 KiB, the header line included)."""

_encode = json.JSONEncoder(separators=(",", ":"), check_circular=False).encode


class DaemonEmitter:
    """Writes documents to the daemon at ``daemon`` (``None``: nowhere) over one non-blocking UDP socket.

    The socket is opened at the first send; a daemon whose name cannot be resolved then is given up
    for the life of the environment.
    """

    def __init__(self, daemon: tuple[str, int] | None) -> None:
        self.daemon = daemon
        self._socket: socket.socket | None = None
        self._target: Any = None
        self._unreachable = False

    def close(self) -> None:
        """Close the socket, if open (after a SnapStart restore: the snapshot's is not this environment's).

        The next send opens a new one; a daemon given up as unreachable is tried again.
        """
        sock, self._socket, self._unreachable = self._socket, None, False
        if sock is not None:
            sock.close()

    def send_with_calls(self, document: dict[str, Any], invocation: InvocationTrace) -> None:
        """One datagram: the handler's subsegment with its calls' inside, as the X-Ray SDK sends them.

        Past ``MAX_DOCUMENT_BYTES`` (a datagram's limit) each call goes in a datagram of its own.
        """
        if invocation.calls:
            document["subsegments"] = invocation.calls
            encoded = _encode(document).encode()
            if len(encoded) <= MAX_DOCUMENT_BYTES:
                self._send_encoded(encoded)
                return
            del document["subsegments"]
            for call in invocation.calls:
                self.send(standalone(call, invocation))
        self.send(document)

    def send(self, document: Mapping[str, Any]) -> None:
        """Send one document to the daemon as one datagram; a failure is dropped, never raised."""
        with contextlib.suppress(Exception):  # a document that cannot be written loses a trace, not an order
            self._send_encoded(_encode(document).encode())

    def _send_encoded(self, encoded: bytes) -> None:
        try:
            sock = self._socket or self._open()
            if sock is not None:
                sock.sendto(PROTOCOL_HEADER + encoded, self._target)
        except Exception:  # noqa: BLE001, S110 - a full buffer or an absent daemon loses a trace, not an order  # nosec B110
            pass

    def _open(self) -> socket.socket | None:
        if self._unreachable or self.daemon is None:
            return None
        try:
            family, kind, proto, _, target = socket.getaddrinfo(*self.daemon, type=socket.SOCK_DGRAM)[0]
            sock = socket.socket(family, kind, proto)
            sock.setblocking(False)
        except OSError:
            self._unreachable = True  # not retried per invocation: a name lookup could cost a timeout each time
            return None
        self._socket, self._target = sock, target
        return sock
