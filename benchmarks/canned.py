"""Canned AWS answers at the SDK edge: a ``before-send`` hook, so only the network is skipped.

Serialisation, signing, the retry machinery, response parsing and every handler botocore runs
still run; the answer to each attempt is a recorded-shape response for the three operations
``POST /orders`` makes. Installed for every client a process creates (botocore's built-in
handler list), so the handler module's own clients, built at import, answer from here too.
"""

from __future__ import annotations

import hashlib
import json
import uuid
from typing import TYPE_CHECKING, Any

from chaos.inject import json_response

if TYPE_CHECKING:
    from botocore.awsrequest import AWSResponse

PRICE = "19.99"


def _answer(operation: str, body: dict[str, Any]) -> dict[str, Any]:
    if operation == "BatchGetItem":
        [(table, request)] = body["RequestItems"].items()
        items = [
            {**key, "price": {"N": PRICE}, "currency": {"S": "USD"}, "active": {"BOOL": True}, "name": {"S": "P"}}
            for key in request["Keys"]
        ]
        return {"Responses": {table: items}, "UnprocessedKeys": {}}
    if operation == "SendMessage":
        digest = hashlib.md5(body["MessageBody"].encode(), usedforsecurity=False).hexdigest()
        return {"MessageId": str(uuid.uuid4()), "MD5OfMessageBody": digest}
    return {}  # PutItem: stored


def canned_send(request: Any, event_name: str = "", **_: Any) -> AWSResponse:
    """The ``before-send`` hook: a 200 answer for BatchGetItem, PutItem or SendMessage."""
    operation = event_name.rsplit(".", 1)[-1]
    return json_response(request, 200, _answer(operation, json.loads(request.body or b"{}")), request_id="canned")


def install_for_new_clients() -> None:
    """Answer every attempt of every client created from now on in this process."""
    from botocore import handlers  # noqa: PLC0415 - the probe installs this before anything imports boto3's clients

    handlers.BUILTIN_HANDLERS.insert(0, ("before-send", canned_send))
