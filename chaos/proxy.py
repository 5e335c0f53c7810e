"""A TCP fault proxy between the function and a backend on loopback.

Modes, switchable while connections are open:

- ``pass``: bytes flow both ways untouched;
- ``latency``: each chunk from the client waits ``delay_s`` before it is forwarded
  (a congested or distant network);
- ``blackhole``: requests are read and dropped, nothing comes back (a lost route, a
  firewall dropping packets: the client waits for its read timeout);
- ``reset``: connections are closed with a TCP reset as soon as anything arrives
  (a crashed load balancer, an idle-connection reaper).
"""

from __future__ import annotations

import contextlib
import socket
import struct
import threading
import time
from dataclasses import dataclass, field

MODES = ("pass", "latency", "blackhole", "reset")
_CHUNK = 65536


def _reset(sock: socket.socket) -> None:
    # SO_LINGER with a zero timeout makes close() send RST instead of FIN.
    with contextlib.suppress(OSError):
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    with contextlib.suppress(OSError):
        sock.close()


@dataclass
class FaultProxy:
    """Listens on 127.0.0.1 and forwards to ``target``; :meth:`set_mode` changes its behaviour."""

    target_host: str
    target_port: int
    mode: str = "pass"
    delay_s: float = 0.0
    port: int = 0
    connections: int = 0
    _server: socket.socket | None = None
    _stop: threading.Event = field(default_factory=threading.Event)
    _sockets: set[socket.socket] = field(default_factory=set)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    @property
    def url(self) -> str:
        """``http://127.0.0.1:<port>``: where clients should send their requests."""
        return f"http://127.0.0.1:{self.port}"

    def set_mode(self, mode: str, delay_s: float = 0.0) -> None:
        """Switch behaviour for new and open connections alike."""
        if mode not in MODES:
            raise ValueError(f"unknown proxy mode {mode!r}; one of {', '.join(MODES)}")
        self.mode, self.delay_s = mode, delay_s

    def start(self) -> FaultProxy:
        """Listen and serve in background threads until :meth:`stop`."""
        self._server = socket.create_server(("127.0.0.1", self.port))
        self.port = self._server.getsockname()[1]
        threading.Thread(target=self._accept, name=f"proxy-{self.port}", daemon=True).start()
        return self

    def stop(self) -> None:
        """Close the listener and every open connection."""
        self._stop.set()
        if self._server is not None:
            with contextlib.suppress(OSError):
                self._server.close()
        with self._lock:
            sockets = list(self._sockets)
            self._sockets.clear()
        for sock in sockets:
            with contextlib.suppress(OSError):
                sock.close()

    def _accept(self) -> None:
        while not self._stop.is_set() and self._server is not None:
            try:
                client, _ = self._server.accept()
            except OSError:
                return
            self.connections += 1
            threading.Thread(target=self._serve, args=(client,), daemon=True).start()

    def _serve(self, client: socket.socket) -> None:
        try:
            upstream = socket.create_connection((self.target_host, self.target_port), timeout=5)
        except OSError:
            _reset(client)
            return
        upstream.settimeout(None)
        with self._lock:
            self._sockets.update((client, upstream))
        back = threading.Thread(target=self._pump, args=(upstream, client, False), daemon=True)
        back.start()
        self._pump(client, upstream, True)
        back.join()
        with self._lock:
            self._sockets.difference_update((client, upstream))
        for sock in (client, upstream):
            with contextlib.suppress(OSError):
                sock.close()

    def _pump(self, source: socket.socket, sink: socket.socket, from_client: bool) -> None:
        try:
            while not self._stop.is_set():
                data = source.recv(_CHUNK)
                if not data:
                    break
                if from_client:
                    if self.mode == "reset":
                        _reset(source)
                        break
                    if self.mode == "blackhole":
                        continue
                    if self.mode == "latency":
                        time.sleep(self.delay_s)
                sink.sendall(data)
        except OSError:
            pass
        finally:
            for sock in (source, sink):
                with contextlib.suppress(OSError):
                    sock.shutdown(socket.SHUT_RDWR)
