"""One moto server's process: the stage's moto app (``localstage.moto_server``) on gevent's WSGI server.

    python -m localstage.moto_process -H 127.0.0.1 -p PORT [--request-log PATH] [--max-concurrent N]

moto's own ``python -m moto.server`` serves on werkzeug's development server, a thread per
connection: with a hundred execution environments keeping their connections open, a hundred
threads took turns on the process's one GIL, each request paying for the handover
(BENCHMARKS.md, T18). Here every connection is a greenlet on one thread (gevent's pywsgi;
gevent comes with Locust, in the same dependency group as moto's server), and what moto does
for a request is unchanged. It is still a real HTTP/1.1 server with keep-alive on its own port.

gevent patches the standard library (threads, locks, sockets, sleeps) before moto is imported,
so that every lock moto makes is one a greenlet waits on: a thread's lock held across a switch
would stop the whole server, and a long-polling ReceiveMessage waits on moto's condition
without holding up the other requests.
"""

from __future__ import annotations

import argparse
import os
import signal

BACKLOG = 512
"""The listen backlog (the stage's hundred environments each open a connection or two at once)."""


def main(argv: list[str] | None = None) -> None:
    """Patch, build the app, serve until SIGTERM or SIGINT, then write out the request log."""
    from gevent import monkey  # noqa: PLC0415 - the patch comes before anything makes a lock

    monkey.patch_all()
    import socket  # noqa: PLC0415 - gevent's, once patched

    import gevent  # noqa: PLC0415
    from gevent.pywsgi import WSGIHandler, WSGIServer  # noqa: PLC0415

    class NoDelayHandler(WSGIHandler):
        """pywsgi's handler with Nagle's algorithm off on its connection.

        pywsgi writes a response's headers and body in two sends; with Nagle on, the body waits
        for the client to acknowledge the headers, which a client delays by its delayed-ACK
        timer: every call to the server took that timer longer (BENCHMARKS.md, T18).
        """

        def handle(self) -> None:
            self.socket.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            super().handle()

    from localstage import moto_lean, moto_server  # noqa: PLC0415 - import moto: after the patch

    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("-H", "--host", default="127.0.0.1")
    parser.add_argument("-p", "--port", type=int, required=True)
    parser.add_argument("--request-log", default=None, help="one JSON line per JSON-protocol request")
    parser.add_argument("--max-concurrent", type=int, default=moto_server.DEFAULT_MAX_CONCURRENT)
    args = parser.parse_args(argv)
    os.environ.setdefault("MOTO_PORT", str(args.port))  # as moto's own server sets it
    moto_server.make_writes_atomic()
    moto_server.make_queues_fast()
    moto_lean.make_lean()
    app = moto_server.StageDispatcher(args.request_log, args.max_concurrent)
    # log=None: no line per request on stderr (BENCHMARKS.md, T11); the request log keeps what is useful.
    server = WSGIServer((args.host, args.port), app, log=None, backlog=BACKLOG, handler_class=NoDelayHandler)
    for signum in (signal.SIGTERM, signal.SIGINT):
        gevent.signal_handler(signum, server.close)  # serve_forever then returns, its requests ended
    try:
        server.serve_forever()
    finally:
        app.flush()


if __name__ == "__main__":
    main()
