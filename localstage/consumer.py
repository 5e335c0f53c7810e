"""The downstream service: drains the processing queue and records every message it receives.

moto's SendMessage slows as a queue fills, so an undrained queue would ruin any load figure;
and the audit needs every message that was ever queued. Each received message becomes one
JSON line (order id, message id, receive count, time sent and received) before it is deleted.
A receiver that got less than a full batch waits ``batch_window_s`` before it asks again, as a
Lambda event source mapping's batching window gathers a batch: a receive and a delete per few
messages cost moto and this process more than the orders they carried (BENCHMARKS.md, T16).
With ``depths``, a sampler also records each watched queue's depth once a second, as SQS's
``ApproximateNumberOfMessages*`` metrics would (the local dashboard draws them).
"""

from __future__ import annotations

import contextlib
import json
import threading
import time
from dataclasses import dataclass, field
from decimal import Decimal
from typing import TYPE_CHECKING, Any

import boto3
import botocore
from botocore.config import Config
from botocore.exceptions import BotoCoreError, ClientError

if TYPE_CHECKING:
    from collections.abc import Sequence
    from pathlib import Path

    from mypy_boto3_sqs.type_defs import MessageAttributeValueOutputTypeDef, MessageTypeDef

BATCH = 10
"""SQS's most messages one ReceiveMessage returns."""
_USER_AGENT = f"local-stage-consumer botocore/{botocore.__version__}"
"""Fixed, as the function's clients have it: botocore otherwise rebuilds and sanitises its
many-part User-Agent on every request (BENCHMARKS.md, T7 and T16)."""


def _client_config(attempts: int) -> Config:
    """The consumer's SQS client settings: standard retries, the parameters it builds taken as they are."""
    return Config(
        user_agent=_USER_AGENT,
        parameter_validation=False,
        retries={"mode": "standard", "total_max_attempts": attempts},
    )


@dataclass
class QueueConsumer:
    """Long-polls ``queue_url`` with ``threads`` receivers until :meth:`stop`."""

    queue_url: str
    record: Path
    threads: int = 2
    batch_window_s: float = 0.2
    """How long a receiver waits after a batch of less than ``BATCH`` before it receives again."""
    depths: Path | None = None
    """Where to write the watched queues' depths (JSON lines), sampled every ``sample_s``."""
    watch: list[str] = field(default_factory=list)
    sample_s: float = 1.0
    received: int = 0
    _stop: threading.Event = field(default_factory=threading.Event)
    _threads: list[threading.Thread] = field(default_factory=list)
    _lock: threading.Lock = field(default_factory=threading.Lock)
    _last_message_at: float = field(default_factory=time.monotonic)

    def start(self) -> QueueConsumer:
        """Start the receiver threads."""
        for n in range(self.threads):
            thread = threading.Thread(target=self._run, name=f"consumer-{n}", daemon=True)
            thread.start()
            self._threads.append(thread)
        if self.depths is not None:
            sampler = threading.Thread(target=self._sample, args=(self.depths,), name="queue-depths", daemon=True)
            sampler.start()
            self._threads.append(sampler)
        return self

    def drain(self, quiet_s: float = 3.0, timeout_s: float = 120.0) -> bool:
        """Wait until no message has arrived for ``quiet_s``; False if still busy at ``timeout_s``.

        The quiet counts from this call at the earliest: a message sent just before it may be
        waiting out a receiver's batching window (``batch_window_s``, shorter than any drain's
        ``quiet_s``), and is received and recorded before the drain ends.
        """
        began = time.monotonic()
        deadline = began + timeout_s
        while time.monotonic() < deadline:
            with self._lock:
                idle = time.monotonic() - max(self._last_message_at, began)
            if idle >= quiet_s:
                return True
            time.sleep(0.2)
        return False

    def stop(self) -> None:
        """Stop receiving (after the current long poll)."""
        self._stop.set()
        for thread in self._threads:
            thread.join(timeout=10)

    def _run(self) -> None:
        sqs = boto3.client("sqs", config=_client_config(5))
        with self.record.open("a") as out:
            while not self._stop.is_set():
                try:
                    messages = sqs.receive_message(
                        QueueUrl=self.queue_url,
                        MaxNumberOfMessages=BATCH,
                        WaitTimeSeconds=1,
                        MessageAttributeNames=["All"],
                        AttributeNames=["ApproximateReceiveCount", "SentTimestamp"],
                    ).get("Messages", [])
                except (BotoCoreError, ClientError):
                    time.sleep(0.2)  # the backend may be paused by a chaos run; keep polling
                    continue
                if not messages:
                    continue
                self._write(out, messages)
                # A failed delete means redelivery and a second record: consumers de-duplicate on order_id.
                with contextlib.suppress(BotoCoreError, ClientError):
                    sqs.delete_message_batch(
                        QueueUrl=self.queue_url,
                        Entries=[{"Id": str(i), "ReceiptHandle": m["ReceiptHandle"]} for i, m in enumerate(messages)],
                    )
                if len(messages) < BATCH:
                    self._stop.wait(self.batch_window_s)

    def _write(self, out: Any, messages: Sequence[MessageTypeDef]) -> None:
        now = time.time()
        lines = []
        for message in messages:
            attributes: dict[str, MessageAttributeValueOutputTypeDef] = message.get("MessageAttributes", {})
            event_type = attributes["event_type"].get("StringValue") if "event_type" in attributes else None
            try:
                body = json.loads(message["Body"], parse_float=Decimal)
            except ValueError:
                body = {}
            lines.append(
                json.dumps(
                    {
                        "ts": now,
                        "message_id": message["MessageId"],
                        "order_id": body.get("order_id"),
                        "total": str(body.get("total")),
                        "event_type": event_type,
                        "receive_count": int(message.get("Attributes", {}).get("ApproximateReceiveCount", 1)),
                        "sent_ts": int(message.get("Attributes", {}).get("SentTimestamp", 0)) / 1000,
                    }
                )
            )
        with self._lock:
            out.write("\n".join(lines) + "\n")
            out.flush()
            self.received += len(messages)
            self._last_message_at = time.monotonic()

    def _sample(self, path: Path) -> None:
        sqs = boto3.client("sqs", config=_client_config(2))
        with path.open("a") as out:
            while not self._stop.wait(self.sample_s):
                for url in [self.queue_url, *self.watch]:
                    try:
                        attributes = sqs.get_queue_attributes(
                            QueueUrl=url,
                            AttributeNames=["ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible"],
                        )["Attributes"]
                    except (BotoCoreError, ClientError):
                        continue  # the backend may be paused by a chaos run: a gap, as in CloudWatch
                    sample = {
                        "ts": time.time(),
                        "queue": url.rsplit("/", 1)[-1],
                        "visible": int(attributes.get("ApproximateNumberOfMessages", 0)),
                        "not_visible": int(attributes.get("ApproximateNumberOfMessagesNotVisible", 0)),
                    }
                    out.write(json.dumps(sample) + "\n")
                out.flush()
