"""The audit, breach by breach: each invariant fed the smallest records that break it, and the near-misses.

Each breach test asserts that its count is 1, every other invariant 0, the audit fails and its
example names the request (scenario, customer, key, attempt, request id). The near-misses are
what a healthy run under faults looks like, and must not count.
"""

from __future__ import annotations

import itertools
import json
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path
from typing import Any

import boto3
import pytest
from boto3.dynamodb.types import TypeSerializer
from moto import mock_aws

from loadtests.audit.cli import main as audit_main
from loadtests.audit.evidence import read_messages
from loadtests.audit.folder import audit_stage
from loadtests.audit.judge import NOT_CHECKED_WITHOUT_QUEUE, audit, derived_order_id, orders_of_run
from loadtests.audit.report import INVARIANTS, AuditReport, Breach
from loadtests.ledger import STOPPED, Attempt, Ledger

CUSTOMER = "cust-001"
SENT = 1_795_946_400.0  # 2026-11-29T10:00:00Z, when the orders below were created
_request_ids = itertools.count(1)


def _attempt(
    status: int = 201,
    *,
    op: str = "create",
    key: str | None = "key-1",
    customer: str = CUSTOMER,
    total: str | None = "10.00",
    attempt: int = 1,
    final: bool = True,
    expected: list[int] | None = None,
    latency_ms: float = 20.0,
    order_id: str | None = "",
) -> dict[str, Any]:
    """One ledger line as the locustfile writes it; a 201/409 carries the order the key derives."""
    if order_id == "":
        order_id = derived_order_id(customer, key) if key and status in (201, 409) else None
    return {
        "op": op,
        "name": {"create": "valid order", "bad": "quantity 0", "intrude": "no token"}.get(op, op),
        "customer_id": customer,
        "key": key,
        "attempt": attempt,
        "status": status,
        "expected": expected or [201, 409],
        "latency_ms": latency_ms,
        "order_id": order_id,
        "total": total if status in (201, 409) else None,
        "problem_type": None,
        "error": None,
        "final": final,
        "ts": SENT + attempt,
        "ok": status in (expected or [201, 409]),
        "request_id": f"req-{next(_request_ids)}",
    }


def _order(key: str | None = "key-1", *, customer: str = CUSTOMER, total: str = "10.00", order_id: str = "") -> dict:
    """One orders-table item, deserialised as the scan gives it."""
    item = {
        "id": order_id or derived_order_id(customer, str(key)),
        "customer_id": customer,
        "total": Decimal(total),
        "currency": "USD",
        "status": "pending",
        "created_at": "2026-11-29T10:00:00.000Z",
    }
    if key is not None:
        item["idempotency_key"] = key
    return item


def _message(order_id: str, message_id: str = "m-1") -> dict[str, Any]:
    """One line of the consumer's record."""
    return {"order_id": order_id, "message_id": message_id, "sent_ts": SENT + 0.5}


def _healthy(key: str = "key-1") -> tuple[list[dict], list[dict], list[dict]]:
    """One order placed, stored once and queued once: the records of a request that went well."""
    order = _order(key)
    return [_attempt(key=key)], [order], [_message(order["id"])]


def _only(report: AuditReport, invariant: str) -> Breach:
    """The one breach of ``report``, after checking it is the only count and the audit failed."""
    counts = {name: getattr(report, name) for name in INVARIANTS}
    assert counts == {name: int(name == invariant) for name in INVARIANTS}
    assert report.passed is False
    (breach,) = report.breaches
    assert breach.invariant == invariant
    return breach


def _answered(attempt: dict[str, Any]) -> float:
    return attempt["ts"] + attempt["latency_ms"] / 1000


def _names(breach: Breach, attempt: dict[str, Any]) -> None:
    """The breach is tied to the attempt: its request id, its key, and the moment its answer came."""
    assert breach.request_id == attempt["request_id"]
    assert f"key {attempt['key']}" in breach.request
    assert f"attempt {attempt['attempt']}" in breach.request
    assert breach.ts == _answered(attempt)


def test_a_healthy_order_passes_with_every_count_zero() -> None:
    attempts, orders, messages = _healthy()

    report = audit(attempts, orders, messages)

    assert report.passed is True
    assert (report.created, report.orders_in_table, report.messages, report.logical_requests) == (1, 1, 1, 1)
    assert report.breaches == []


# --- one test per invariant -------------------------------------------------------------------------


def test_lost_an_order_answered_201_that_is_not_in_the_table() -> None:
    # Given a 201 whose order was queued but is not in the table
    attempts, _, messages = _healthy()

    report = audit(attempts, [], messages)

    _names(_only(report, "lost"), attempts[0])
    (example,) = report.examples["lost"]
    assert "create 'valid order' by cust-001, key key-1, attempt 1" in example
    assert attempts[0]["request_id"] in example
    assert attempts[0]["order_id"] in example


def test_lost_an_order_answered_409_that_is_not_in_the_table() -> None:
    attempts = [_attempt(409, op="duplicate")]

    report = audit(attempts, [], [_message(attempts[0]["order_id"])])

    _only(report, "lost")
    assert "duplicate" in report.examples["lost"][0]


def test_wrong_total_the_stored_total_is_not_the_one_the_client_was_shown() -> None:
    attempts, _, messages = _healthy()

    report = audit(attempts, [_order(total="12.00")], messages)

    _names(_only(report, "wrong_total"), attempts[0])
    (example,) = report.examples["wrong_total"]
    assert "shown 10.00, stored 12.00" in example
    assert attempts[0]["request_id"] in example


def test_duplicated_two_answers_201_for_one_key() -> None:
    # Given two attempts of one request both answered 201 (one order stored and queued)
    attempts, orders, messages = _healthy()
    attempts.append(_attempt(attempt=2))

    report = audit(attempts, orders, messages)

    _names(_only(report, "duplicated"), attempts[0])
    assert "2 answers 201 for one key" in report.examples["duplicated"][0]
    assert "key key-1" in report.examples["duplicated"][0]


def test_duplicated_two_stored_orders_for_one_customer_and_key() -> None:
    # Given the table holds a second order under the same customer and key (another id)
    attempts, orders, messages = _healthy()
    second = _order(order_id="0f0f0f0f-0000-4000-8000-000000000000")
    accounted = [*attempts, _attempt(key="key-1", order_id=second["id"], attempt=2, status=409)]

    report = audit(accounted, [*orders, second], [*messages, _message(second["id"], "m-2")])

    _only(report, "duplicated")
    assert "2 orders for cust-001 / key-1" in report.examples["duplicated"][0]


def test_orphaned_a_message_names_an_order_that_is_not_in_the_table() -> None:
    attempts, orders, messages = _healthy()
    ghost = "11111111-2222-4333-8444-555555555555"

    report = audit(attempts, orders, [*messages, _message(ghost, "m-ghost")])

    _only(report, "orphaned")
    assert report.examples["orphaned"] == [f"message m-ghost names order {ghost}, which is not in the table"]
    assert report.breaches[0].ts == SENT + 0.5


def test_unqueued_a_201_order_that_is_stored_has_no_message() -> None:
    attempts, orders, _ = _healthy()

    report = audit(attempts, orders, [])

    _names(_only(report, "unqueued"), attempts[0])
    (example,) = report.examples["unqueued"]
    assert example.endswith(f"order {orders[0]['id']} is stored and has no message")


def test_unqueued_a_keyless_201_order_that_is_stored_has_no_message() -> None:
    order = _order(None, order_id="22222222-2222-4222-8222-222222222222")
    attempts = [_attempt(key=None, order_id=order["id"])]

    report = audit(attempts, [order], [])

    breach = _only(report, "unqueued")
    assert (breach.request_id, breach.ts) == (attempts[0]["request_id"], _answered(attempts[0]))
    assert report.examples["unqueued"] == [f"{breach.request}: 201 order {order['id']} has no message"]


def test_unqueued_a_request_that_got_500_then_409_left_its_order_without_a_message() -> None:
    # Invariant 4: the first attempt stored the order and failed to queue it; the retry's 409 must re-queue it
    attempts = [_attempt(500, final=False), _attempt(409, attempt=2)]

    report = audit(attempts, [_order()], [])

    _names(_only(report, "unqueued"), attempts[1])


def test_unrequested_an_order_no_request_of_the_ledger_can_have_created() -> None:
    attempts, orders, messages = _healthy()
    stranger = _order("key-nobody-sent", customer="cust-999")

    report = audit(attempts, [*orders, stranger], messages)

    _only(report, "unrequested")
    assert report.examples["unrequested"] == [
        f"order {stranger['id']} (cust-999, key key-nobody-sent) answers no request"
    ]


def test_stored_on_rejection_a_rejected_request_left_an_order() -> None:
    # Given a bad request answered 400 whose key's order is in the table anyway
    attempts = [_attempt(400, op="bad", key="bad-1", expected=[400])]

    report = audit(attempts, [_order("bad-1")], [])

    _names(_only(report, "stored_on_rejection"), attempts[0])
    (example,) = report.examples["stored_on_rejection"]
    assert "bad 'quantity 0' by cust-001, key bad-1" in example
    assert "rejected with 400" in example


def test_late_an_answer_at_api_gateway_s_29_s_limit() -> None:
    attempts, orders, messages = _healthy()
    attempts[0]["latency_ms"] = 29_000.0

    report = audit(attempts, orders, messages)

    _names(_only(report, "late"), attempts[0])
    assert "answered after 29000 ms" in report.examples["late"][0]


def test_late_counts_a_client_timeout_with_no_answer() -> None:
    attempts = [_attempt(0, latency_ms=35_000.0, final=False), _attempt(201, attempt=2)]

    report = audit(attempts, [_order()], [_message(_order()["id"])])

    _only(report, "late")


def test_wrong_status_an_intruder_not_refused_with_its_status() -> None:
    attempts = [_attempt(403, op="intrude", key="intr-1", expected=[401])]

    report = audit(attempts, [], [])

    _names(_only(report, "wrong_status"), attempts[0])
    (example,) = report.examples["wrong_status"]
    assert "intrude 'no token' by cust-001, key intr-1" in example
    assert "expected [401], got 403" in example


def test_wrong_status_bad_input_answered_500_after_its_retries() -> None:
    attempts = [_attempt(500, op="bad", key="bad-2", expected=[400])]

    report = audit(attempts, [], [])

    _only(report, "wrong_status")


def test_wrong_status_a_valid_order_refused_with_a_4xx() -> None:
    attempts = [_attempt(400, key="key-7")]

    report = audit(attempts, [], [])

    _only(report, "wrong_status")


# --- near-misses: what must not count ---------------------------------------------------------------


def test_a_409_duplicate_whose_order_exists_is_fine() -> None:
    attempts, orders, messages = _healthy()
    attempts.append(_attempt(409, op="create", attempt=2))

    report = audit(attempts, orders, [*messages, _message(orders[0]["id"], "m-2")])

    assert report.passed is True
    assert (report.created, report.duplicates) == (1, 1)


def test_a_500_then_a_201_on_retry_is_fine() -> None:
    order = _order()
    attempts = [_attempt(500, final=False), _attempt(201, attempt=2)]

    report = audit(attempts, [order], [_message(order["id"])])

    assert report.passed is True
    assert report.created == 1
    assert report.statuses == {"500": 1, "201": 1}


def test_one_order_delivered_twice_is_at_least_once_delivery_not_a_duplicate() -> None:
    attempts, orders, messages = _healthy()

    report = audit(attempts, orders, [*messages, _message(orders[0]["id"], "m-again")])

    assert report.passed is True
    assert report.messages == 2


def test_a_request_abandoned_after_its_retries_with_its_order_stored_but_not_queued_is_counted_apart() -> None:
    # Given six 500s (the last final), the first of which stored the order before the queue failed
    order = _order()
    attempts = [_attempt(500, attempt=n, final=n == 6, order_id=order["id"] if n == 1 else None) for n in range(1, 7)]

    report = audit(attempts, [order], [])

    assert report.passed is True
    assert report.abandoned == 1


def test_a_request_abandoned_with_nothing_stored_is_fine() -> None:
    attempts = [_attempt(500, attempt=n, final=n == 6) for n in range(1, 7)]

    report = audit(attempts, [], [])

    assert report.passed is True
    assert report.abandoned == 0


def test_a_rejected_request_that_stored_nothing_is_fine() -> None:
    attempts = [
        _attempt(401, op="intrude", key="k-i", expected=[401]),
        _attempt(400, op="bad", key="k-b", expected=[400]),
    ]

    report = audit(attempts, [], [])

    assert report.passed is True
    assert report.logical_requests == 2


def test_without_a_view_of_the_queue_the_queue_checks_are_named_and_skipped() -> None:
    # Given a deployed stack: no messages to read, one 201 order stored
    attempts, orders, _ = _healthy()

    report = audit(attempts, orders, None)

    assert report.passed is True
    assert report.not_checked == list(NOT_CHECKED_WITHOUT_QUEUE)
    assert "not checked (no view of the queue): unqueued" in report.table()


@pytest.mark.parametrize(
    ("invariant", "records"),
    [
        ("lost", lambda: ([_attempt()], [], None)),
        ("wrong_total", lambda: ([_attempt()], [_order(total="9.99")], None)),
        ("unrequested", lambda: ([_attempt()], [_order(), _order("other")], None)),
        ("stored_on_rejection", lambda: ([_attempt(400, op="bad", expected=[400])], [_order()], None)),
    ],
)
def test_without_a_view_of_the_queue_the_table_checks_still_judge(invariant: str, records: Any) -> None:
    report = audit(*records())

    _only(report, invariant)


# --- the report itself ------------------------------------------------------------------------------


def test_the_table_lists_each_breach_with_its_request_and_says_fail() -> None:
    attempts, _, messages = _healthy()

    text = audit(attempts, [], messages).table()

    assert [line.split() for line in text.splitlines() if line.startswith("lost (must be 0)")] == [
        ["lost", "(must", "be", "0)", "1"]
    ]
    assert f"  - create 'valid order' by cust-001, key key-1, attempt 1, request {attempts[0]['request_id']}" in text
    assert text.endswith("audit: FAIL")


def test_audit_json_keeps_every_count_the_verdict_and_a_few_breaches_of_each_invariant() -> None:
    # Given eight lost orders
    attempts = [_attempt(key=f"key-{n}") for n in range(8)]

    document = audit(attempts, [], []).as_json()

    assert document["lost"] == 8
    assert document["passed"] is False
    assert len(document["breaches"]) == len(document["examples"]["lost"]) == 5
    assert json.loads(json.dumps(document))["breaches"][0]["invariant"] == "lost"


def test_a_shared_table_is_judged_over_the_run_s_customers_since_its_start() -> None:
    # Given a deployed table holding this run's order, an earlier run's and another customer's
    attempts, orders, _ = _healthy()
    earlier = {**_order("key-old"), "created_at": "2026-11-29T09:00:00.000Z"}
    someone_else = _order("key-x", customer="real-customer")
    table = [*orders, earlier, someone_else]

    mine = orders_of_run(table, attempts)
    report = audit(attempts, mine, None)

    # Then only this run's order is judged, and neither of the others counts as unrequested
    assert mine == orders
    assert report.passed is True
    # ... while the whole table, unscoped, would have been
    assert audit(attempts, table, None).unrequested == 2


def test_the_audit_derives_the_order_id_the_function_gives_a_key() -> None:
    from create_order.logic import order_id_for

    assert derived_order_id("cust-001", "key-1") == order_id_for("cust-001", "key-1")
    assert derived_order_id("cust-002", "key-1") != derived_order_id("cust-001", "key-1")


def test_the_report_counts_every_attempt_answer_and_request() -> None:
    # Given two orders, each answered 201 and then 409 on a repeat, stored and queued
    attempts = [_attempt(201, key="a"), _attempt(409, key="a", attempt=2), _attempt(201, key="b")]
    attempts.append(_attempt(409, key="b", attempt=2))
    orders = [_order("a"), _order("b")]

    report = audit(attempts, orders, [_message(o["id"], o["id"]) for o in orders])

    assert report.passed is True
    assert (report.attempts, report.created, report.duplicates, report.logical_requests) == (4, 2, 2, 2)
    assert (report.orders_in_table, report.messages) == (2, 2)


def test_a_500_naming_an_order_that_was_never_stored_is_not_a_lost_order() -> None:
    # "stored but not queued", said by a first attempt whose put did not in fact land; then abandoned
    attempts = [_attempt(500, attempt=n, final=n == 6, order_id="33333333-3333-4333-8333-333333333333") for n in (1, 6)]

    report = audit(attempts, [], [])

    assert report.passed is True


def test_a_valid_order_given_up_on_after_no_answer_or_a_throttle_is_not_a_wrong_status() -> None:
    attempts = [_attempt(0, key="k-0", latency_ms=100.0), _attempt(429, key="k-429")]

    report = audit(attempts, [], [])

    assert report.passed is True


def test_a_request_whose_user_was_stopped_in_flight_has_no_status_to_judge_and_accounts_for_its_order() -> None:
    # Given an intruder and a valid order whose users Locust stopped mid-request: the order was stored and queued
    stopped = [_attempt(0, op="intrude", key="intr-9", expected=[403]), _attempt(0, key="key-1")]
    for attempt in stopped:
        attempt["error"] = STOPPED

    report = audit(stopped, [_order()], [_message(_order()["id"])])

    # Then neither is a wrong status, and the order answers a request of the ledger
    assert report.passed is True, report.table()


def test_a_rejected_request_with_no_answer_for_another_reason_is_still_a_wrong_status() -> None:
    attempt = _attempt(0, op="intrude", key="intr-9", expected=[403])
    attempt["error"] = "connection reset"

    _only(audit([attempt], [], []), "wrong_status")


def test_every_logical_request_is_judged_after_one_that_stored_nothing() -> None:
    # Given a rejected request that stored nothing, then one that did
    attempts = [
        _attempt(400, op="bad", key="bad-a", expected=[400]),
        _attempt(400, op="bad", key="bad-b", expected=[400]),
    ]

    report = audit(attempts, [_order("bad-b")], [])

    _names(_only(report, "stored_on_rejection"), attempts[1])


def test_each_request_abandoned_with_its_order_stored_is_counted() -> None:
    orders = [_order("k-1"), _order("k-2")]
    attempts = [_attempt(500, key=key) for key in ("k-1", "k-2")]

    report = audit(attempts, orders, [])

    assert report.passed is True
    assert report.abandoned == 2


def test_the_table_a_person_reads() -> None:
    # Given a run of two answers, one of them lost, and a message left in a queue
    attempts = [_attempt(201, key="k-1"), _attempt(201, key="k-2")]
    attempts[0]["request_id"] = "req-a"
    kept = _order("k-2")
    report = audit(attempts, [kept], [_message(kept["id"])])
    report.left_in_queues = 1

    lost = attempts[0]["order_id"]
    assert report.table().splitlines() == [
        "attempts sent                           2",
        "logical requests                        2",
        "201 created                             2",
        "409 duplicate/reuse                     0",
        "orders in table                         1",
        "messages received                       1",
        "abandoned after retries                 0",
        "left in queue or DLQ                    1",
        "lost (must be 0)                        1",
        "wrong_total (must be 0)                 0",
        "duplicated (must be 0)                  0",
        "orphaned (must be 0)                    0",
        "unqueued (must be 0)                    0",
        "unrequested (must be 0)                 0",
        "stored_on_rejection (must be 0)         0",
        "late (must be 0)                        0",
        "wrong_status (must be 0)                0",
        "status mix: 201: 2",
        "lost (first 1 of 1):",
        f"  - create 'valid order' by cust-001, key k-1, attempt 1, request req-a: 201 order {lost} is not in the "
        "table",
        "audit: FAIL",
    ]


def test_the_table_of_a_passing_run_ends_pass_and_lists_the_statuses_and_what_was_not_checked() -> None:
    attempts = [_attempt(201, key="k-1"), _attempt(409, key="k-1", attempt=2)]

    text = audit(attempts, [_order("k-1")], None).table()

    assert "status mix: 201: 1, 409: 1" in text
    assert "not checked (no view of the queue): unqueued (invariants 2 and 4), orphaned (invariant 2)" in text
    assert text.endswith("\naudit: PASS")


# --- the audit's evidence read from a stage (moto in-process) -----------------------------------------


@pytest.fixture
def stage_dir(tmp_path: Path) -> Iterator[Path]:
    """A finished run's folder over a table and two queues: one order answered 201, stored, queued once."""
    with mock_aws():
        dynamodb = boto3.client("dynamodb")
        dynamodb.create_table(
            TableName="orders",
            KeySchema=[{"AttributeName": "id", "KeyType": "HASH"}],
            AttributeDefinitions=[{"AttributeName": "id", "AttributeType": "S"}],
            BillingMode="PAY_PER_REQUEST",
        )
        sqs = boto3.client("sqs")
        queue, dlq = (sqs.create_queue(QueueName=name)["QueueUrl"] for name in ("processing", "processing-dlq"))
        order = _order()
        dynamodb.put_item(TableName="orders", Item=TypeSerializer().serialize(order)["M"])
        ledger = Ledger(tmp_path / "ledger")
        ledger.record(
            Attempt("create", "valid order", CUSTOMER, "key-1", 1, 201, [201, 409], 12.5, order["id"], "10.00")
        )
        ledger.close()
        (tmp_path / "messages.jsonl").write_text(json.dumps(_message(order["id"])) + "\n\n")
        physical = {"OrdersTable": "orders", "ProcessingQueue": queue, "ProcessingDLQ": dlq}
        (tmp_path / "stage.json").write_text(
            json.dumps({"aws_env": {"AWS_DEFAULT_REGION": "us-east-1"}, "physical": physical})
        )
        yield tmp_path


def test_the_stage_s_audit_reads_the_ledger_the_table_the_consumer_s_record_and_both_queues(stage_dir: Path) -> None:
    # Given the order's message redelivered into the dead-letter queue, unconsumed
    physical = json.loads((stage_dir / "stage.json").read_text())["physical"]
    order_id = _order()["id"]
    boto3.client("sqs").send_message(QueueUrl=physical["ProcessingDLQ"], MessageBody=json.dumps({"order_id": order_id}))

    report = audit_stage(stage_dir, physical)

    assert report.passed is True
    assert (report.attempts, report.created, report.orders_in_table) == (1, 1, 1)
    assert (report.messages, report.left_in_queues) == (2, 1)
    text = (stage_dir / "audit.json").read_text()
    written = json.loads(text)
    assert (written["passed"], written["left_in_queues"], written["lost"]) == (True, 1, 0)
    assert text == json.dumps(written, indent=2)  # for a person to read: one field a line


def test_a_message_left_in_a_queue_for_an_order_not_in_the_table_is_orphaned(stage_dir: Path) -> None:
    physical = json.loads((stage_dir / "stage.json").read_text())["physical"]
    ghost = "44444444-4444-4444-8444-444444444444"
    sent = boto3.client("sqs").send_message(
        QueueUrl=physical["ProcessingQueue"], MessageBody=json.dumps({"order_id": ghost})
    )

    report = audit_stage(stage_dir, physical)

    _only(report, "orphaned")
    assert report.examples["orphaned"] == [
        f"message {sent['MessageId']} names order {ghost}, which is not in the table"
    ]


def test_the_audit_command_passes_a_clean_run_and_fails_a_tampered_one(
    stage_dir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    stage_file = str(stage_dir / "stage.json")
    assert audit_main(["--stage-file", stage_file]) == 0
    assert capsys.readouterr().out.endswith("audit: PASS\n")

    boto3.client("dynamodb").delete_item(TableName="orders", Key={"id": {"S": _order()["id"]}})

    assert audit_main(["--stage-file", stage_file]) == 1
    printed = capsys.readouterr().out
    assert "lost (first 1 of 1):" in printed
    assert printed.endswith("audit: FAIL\n")


def test_the_audit_command_needs_its_stage_file_and_says_what_it_is(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit):
        audit_main([])
    assert "--stage-file" in capsys.readouterr().err
    with pytest.raises(SystemExit):
        audit_main(["--help"])
    shown = capsys.readouterr().out
    assert shown.startswith("usage: python -m loadtests.audit ")
    assert "The post-run audit: the client's ledger against the orders table" in shown


def test_no_record_of_the_consumer_is_no_message(tmp_path: Path) -> None:
    assert read_messages(tmp_path / "messages.jsonl") == []


def test_a_keyless_201_order_with_its_message_is_fine() -> None:
    order = _order(None, order_id="55555555-5555-4555-8555-555555555555")

    report = audit([_attempt(key=None, order_id=order["id"])], [order], [_message(order["id"])])

    assert report.passed is True


def test_one_ghost_order_named_by_two_messages_is_one_orphan() -> None:
    ghost = "66666666-6666-4666-8666-666666666666"

    report = audit([], [], [_message(ghost, "m-1"), _message(ghost, "m-2")])

    _only(report, "orphaned")


def test_a_breach_the_table_shows_is_placed_when_its_order_was_created() -> None:
    # Given an order nobody asked for, and a second order for one key created an hour after the first
    attempts, orders, messages = _healthy()
    stranger = {**_order("key-x", customer="cust-999"), "created_at": "2026-11-29T10:00:05.000Z"}
    twin = {**_order(order_id="77777777-7777-4777-8777-777777777777"), "created_at": "2026-11-29T11:00:00.000Z"}
    attempts.append(_attempt(409, attempt=2, order_id=twin["id"]))

    report = audit(attempts, [twin, *orders, stranger], [*messages, _message(twin["id"], "m-2")])

    assert {b.invariant: b.ts for b in report.breaches} == {"unrequested": SENT + 5, "duplicated": SENT + 3600}


def test_a_run_s_orders_include_one_created_at_the_earliest_moment_the_clock_slack_allows() -> None:
    attempts = [_attempt(key="k-1")]  # sent at SENT + 1
    edge = {**_order("k-0"), "created_at": "2026-11-29T09:59:01.000Z"}  # SENT + 1 - CLOCK_SLACK_S
    before = {**_order("k-00"), "created_at": "2026-11-29T09:59:00.999Z"}

    assert orders_of_run([edge, before], attempts) == [edge]


def test_a_duplicate_in_the_table_with_an_unreadable_creation_time_is_counted_without_a_time() -> None:
    attempts, orders, messages = _healthy()
    twin = {**_order(order_id="88888888-8888-4888-8888-888888888888"), "created_at": "not a time"}
    attempts.append(_attempt(409, attempt=2, order_id=twin["id"]))

    report = audit(attempts, [*orders, twin], [*messages, _message(twin["id"], "m-2")])

    assert _only(report, "duplicated").ts is None
