"""A Cognito pool's signing keys for the gateway's tests: moto's key pair, its JWKS served, tokens signed."""

from __future__ import annotations

import json
import threading
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import TYPE_CHECKING, Any

import jwt
from moto.utilities.utils import load_resource

if TYPE_CHECKING:
    from collections.abc import Iterator

PRIVATE_JWK = load_resource("cognitoidp/resources/jwks-private.json")
PUBLIC_JWKS = load_resource("cognitoidp/resources/jwks-public.json")


class _Jwks(BaseHTTPRequestHandler):
    def do_GET(self) -> None:
        body = json.dumps(PUBLIC_JWKS).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: Any) -> None:
        """Quiet."""


@contextmanager
def served_jwks() -> Iterator[str]:
    """The pool's public keys served on 127.0.0.1 while in the block: their URL; the server stopped after."""
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Jwks)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/.well-known/jwks.json"
    finally:
        server.shutdown()
        server.server_close()


def signed(claims: dict[str, Any]) -> str:
    """``claims`` as an RS256 token signed by the pool's private key, its ``kid`` in the header."""
    return jwt.encode(claims, jwt.PyJWK(PRIVATE_JWK).key, algorithm="RS256", headers={"kid": PRIVATE_JWK["kid"]})
