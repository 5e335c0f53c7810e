"""Power tuning against a deployed stack, with moto playing the account (``loadtests.deployed.tuning``).

Moto holds the function (its configuration, versions and aliases), the tables and the queue.
Lambda's Invoke is answered on the real client by a botocore ``before-call`` hook that does
what Lambda does: it resolves the alias to its version, reads that version's memory size, runs
the real handler over moto's tables, and returns the answer with a log tail whose REPORT
carries that memory size — so a row's figures show which version the alias really served.

After every sweep, whole or broken midway, the function is as it was: its memory size, no
tuning alias (or the one it had, pointing back), none of the sweep's versions, ``live``
untouched.
"""

from __future__ import annotations

import base64
import io
import json
import zipfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import boto3
import pytest
from botocore.awsrequest import AWSResponse
from botocore.exceptions import ClientError
from botocore.response import StreamingBody

from harness import platform_log
from harness.lambda_context import FakeLambdaContext
from loadtests import tune
from loadtests.deployed import tuning
from loadtests.deployed.stack import Stack
from tests.unit.conftest import Backend, make_invoke

FUNCTION = "order-processing-create-order-dev"
DURATION_MS = 10.3
"""Every invocation's duration in the played REPORT: billed 11 ms."""
INIT_MS = 200.5
"""A version's first invocation's init: billed with its duration, ceil(210.8) = 211 ms."""


def _zip() -> bytes:
    data = io.BytesIO()
    with zipfile.ZipFile(data, "w") as archive:
        archive.writestr("handler.py", "def handler(event, context):\n    return event\n")
    return data.getvalue()


@pytest.fixture
def account(backend: Backend) -> Iterator[boto3.Session]:
    """The function at 256 MB, version 1 behind ``live``, as a deploy leaves it; a session whose Invoke is played."""
    session = boto3.Session()
    role = session.client("iam").create_role(RoleName="fn", AssumeRolePolicyDocument="{}")["Role"]["Arn"]
    functions = session.client("lambda")
    functions.create_function(FunctionName=FUNCTION, Runtime="python3.12", Role=role, Handler="handler.handler",
                              Code={"ZipFile": _zip()}, MemorySize=256)  # fmt: skip
    functions.publish_version(FunctionName=FUNCTION)
    functions.create_alias(FunctionName=FUNCTION, Name="live", FunctionVersion="1")
    handler = make_invoke(backend)
    cold: set[str] = set()

    def played_invoke(params: dict[str, Any], **_: Any) -> tuple[Any, dict[str, Any]]:
        # A before-call hook sees the request as it goes on the wire: the qualifier in the query, the event as the body
        version = functions.get_alias(FunctionName=FUNCTION, Name=params["query_string"]["Qualifier"])[
            "FunctionVersion"
        ]
        memory = functions.get_function_configuration(FunctionName=FUNCTION, Qualifier=version)["MemorySize"]
        answer = handler(json.loads(params["body"]), FakeLambdaContext())
        init = None if version in cold else INIT_MS
        cold.add(version)
        report = platform_log.Report("r", DURATION_MS, platform_log.billed_ms(DURATION_MS, init), memory, 90, init)
        tail = '{"level":"INFO","message":"order created"}\n' + platform_log.report(platform_log.JSON, report)
        payload = json.dumps({"statusCode": answer.status, "body": answer.raw}).encode()
        answered = {
            "StatusCode": 200,
            "ExecutedVersion": version,
            "LogResult": base64.b64encode(tail.encode()),
            "Payload": StreamingBody(io.BytesIO(payload), len(payload)),
        }
        return AWSResponse(None, 200, {}, None), answered

    session.events.register("before-call.lambda.Invoke", played_invoke)
    return session


def _plan(invocations: int = 4) -> tuning.Sweep:
    return tuning.Sweep(FUNCTION, "orders", "P-100", "run_1", invocations, concurrency=1)


def _state(session: boto3.Session) -> dict[str, Any]:
    functions = session.client("lambda")
    aliases = functions.list_aliases(FunctionName=FUNCTION)["Aliases"]
    return {
        "memory": functions.get_function_configuration(FunctionName=FUNCTION)["MemorySize"],
        "versions": sorted(
            v["Version"] for v in functions.list_versions_by_function(FunctionName=FUNCTION)["Versions"]
        ),
        "aliases": {a["Name"]: a["FunctionVersion"] for a in aliases},
    }


AS_DEPLOYED = {"memory": 256, "versions": ["$LATEST", "1"], "aliases": {"live": "1"}}


def test_each_size_is_served_by_its_own_version_and_the_function_is_restored(
    account: boto3.Session, backend: Backend, tmp_path: Path
) -> None:
    results, problems = tuning.sweep(
        account.client("lambda"), account.client("dynamodb"), _plan(), [128, 1024], tmp_path
    )

    assert problems == []
    assert [r.memory_mb for r in results] == [128, 1024]
    for row in results:
        size = json.loads((Path(row.run_dir) / "size.json").read_text())
        # The REPORTs came from the version the alias served: its memory size is the row's
        assert size["cost"]["memory_mb"] == row.memory_mb
        assert size["cost"]["consumption"]["memory_mb"] == row.memory_mb
        # One cold start (211 ms billed) and three warm (11 ms each): 244 / 4 = 61.0 billed ms an invocation
        assert row.cold_starts == 1
        assert row.billed_ms_per_invocation == 61.0
        assert size["cost"]["consumption"]["gb_seconds"] == pytest.approx(0.244 * row.memory_mb / 1024)
        assert row.slo_passed
        assert row.audit_passed
    # Each size's four orders are stored and queued, by the run's synthetic customer
    assert len(backend.orders()) == 8
    assert {o["customer_id"] for o in backend.orders()} == {"synthetic-run_1-000"}
    assert len(backend.messages()) == 8
    # Lambda's bill grows with memory at the same billed ms: 1024 MB costs more per order than 128 MB
    assert results[1].cost_per_million_orders > results[0].cost_per_million_orders  # type: ignore[operator]
    assert _state(account) == AS_DEPLOYED


def test_a_sweep_that_fails_midway_still_restores_the_function(account: boto3.Session, tmp_path: Path) -> None:
    # Given a sweep whose second size's invocations fail (the Invoke API refuses them)
    functions = account.client("lambda")
    sizes_seen: list[int] = []

    def refuse_at_second(params: dict[str, Any], **_: Any) -> None:
        memory = functions.get_function_configuration(FunctionName=FUNCTION)["MemorySize"]
        if memory not in sizes_seen:
            sizes_seen.append(memory)
        if len(sizes_seen) > 1:
            raise ClientError({"Error": {"Code": "TooManyRequestsException", "Message": "Rate exceeded"}}, "Invoke")

    functions.meta.events.register_first("before-call.lambda.Invoke", refuse_at_second)

    # When it runs, the error reaches the caller
    with pytest.raises(ClientError, match="Rate exceeded"):
        tuning.sweep(functions, account.client("dynamodb"), _plan(), [512, 2048, 3008], tmp_path)

    # Then the first size ran, the third never did, and the function is as deployed
    assert sizes_seen == [512, 2048]
    assert _state(account) == AS_DEPLOYED


def test_a_tuning_alias_that_was_there_is_pointed_back_and_a_failed_restore_step_does_not_stop_the_others(
    account: boto3.Session, tmp_path: Path
) -> None:
    functions = account.client("lambda")
    functions.create_alias(FunctionName=FUNCTION, Name="tuning", FunctionVersion="1")

    tuning.sweep(functions, account.client("dynamodb"), _plan(1), [512], tmp_path)

    assert _state(account) == {**AS_DEPLOYED, "aliases": {"live": "1", "tuning": "1"}}

    # When the alias cannot be put back, the memory and the versions still are, and the failure is named
    def refuse_alias(**_: Any) -> None:
        raise ClientError({"Error": {"Code": "AccessDeniedException", "Message": "not allowed"}}, "UpdateAlias")

    under = tuning.FunctionUnderTuning.read(functions, FUNCTION)
    under.point_at(1024)
    functions.meta.events.register_first("before-call.lambda.UpdateAlias", refuse_alias)
    problems = under.restore()

    assert problems == ["alias tuning: An error occurred (AccessDeniedException) when calling the UpdateAlias "
                        "operation: not allowed"]  # fmt: skip
    state = _state(account)
    assert state["memory"] == 256
    assert state["versions"] == ["$LATEST", "1"]


def _stack(name: str, stage: str) -> None:
    """A stack as ``sam deploy`` leaves one: its outputs, and the stage it was deployed as."""
    outputs = {"FunctionName": FUNCTION, "OrdersTableName": "orders", "ProductsTableName": "products"}
    template = {
        "Parameters": {"StageName": {"Type": "String"}},
        "Resources": {"Placeholder": {"Type": "AWS::SNS::Topic"}},
        "Outputs": {key: {"Value": value} for key, value in outputs.items()},
    }
    stage_name = [{"ParameterKey": "StageName", "ParameterValue": stage}]
    boto3.client("cloudformation").create_stack(
        StackName=name, TemplateBody=json.dumps(template), Parameters=stage_name
    )


def test_a_prod_stack_is_refused_without_force_and_left_untouched(
    account: boto3.Session, capsys: pytest.CaptureFixture[str]
) -> None:
    _stack("create-order-prod", "prod")

    code = tune.main(["--stack", "create-order-prod", "--run-id", "run_1", "--memory", "512"])

    assert code == 2
    assert "stack 'create-order-prod' is the 'prod' stage" in capsys.readouterr().err
    assert _state(account) == AS_DEPLOYED
    assert Stack.describe("create-order-prod").parameters == {"StageName": "prod"}
    with pytest.raises(tuning.TuningError, match="--force to tune it anyway"):
        tuning.refuse_protected(Stack.describe("create-order-prod"), force=False)
    tuning.refuse_protected(Stack.describe("create-order-prod"), force=True)  # forced: allowed


def test_the_sweep_from_the_command_line_prints_its_table_and_restores(
    account: boto3.Session, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    _stack("create-order-dev", "dev")
    # The command's own clients come from the default session: play its Invoke too
    monkeypatch.setattr(boto3, "DEFAULT_SESSION", account)

    code = tune.main(["--stack", "create-order-dev", "--run-id", "run_2", "--memory", "128,512",
                      "--invocations", "2", "--users", "1", "--strategy", "cost"])  # fmt: skip

    out = capsys.readouterr().out
    assert code == 0, out
    assert "| 128 |" in out
    assert "| 512 |" in out
    assert "strategy cost: 128 MB" in out
    assert f"{FUNCTION}: restored (256 MB, alias tuning removed, versions published by the sweep deleted: 2)" in out
    folder = Path(out.strip().splitlines()[-1].removeprefix("sweep folder: "))
    assert json.loads((folder / "tune.json").read_text())["recommended_mb"] == 128
    assert (folder / "tune.png").read_bytes().startswith(b"\x89PNG")
    assert _state(account) == AS_DEPLOYED


def test_an_invocation_s_tail_gives_its_report_and_log_bytes() -> None:
    lines = ['{"level":"INFO","message":"a"}', '{"level":"ERROR","message":"b"}', "START RequestId: r"]
    # 30 + 1, 31 + 1 and 18 + 1 bytes with their newlines; the INFO line is the quiet one
    assert tuning.log_bytes(lines) == (82, 31)
