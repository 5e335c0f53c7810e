"""The role in template.yaml allows exactly the AWS calls the code makes, on the resources it makes them."""

from __future__ import annotations

from create_order.settings import PROCESSING_QUEUE_URL_ENV, REQUIRED_ENV
from tests.support.events import api_event
from tests.support.faults import CallRecorder
from tests.support.template import function_environment, iam_actions_by_resource, iam_statements, load_template
from tests.unit.conftest import Backend

DATA_SERVICES = ("dynamodb:", "sqs:")


def _target(params: dict, backend: Backend) -> str:
    """The environment variable naming the resource a call was made on."""
    values = {
        "ORDERS_TABLE": backend.settings.orders_table,
        "PRODUCTS_TABLE": backend.settings.products_table,
        PROCESSING_QUEUE_URL_ENV: backend.settings.queue_url,
    }
    named = params.get("TableName") or params.get("QueueUrl") or next(iter(params.get("RequestItems", {})), None)
    [variable] = [name for name, value in values.items() if value == named]
    assert variable in REQUIRED_ENV
    return variable


def test_every_call_the_code_makes_is_granted_and_nothing_more(backend: Backend, invoke) -> None:
    # Given a recorder on the function's own clients
    recorder = CallRecorder(backend.dynamodb, backend.sqs)

    # When every path that touches AWS runs: read the catalog, create, re-queue a duplicate
    assert invoke(api_event()).status == 201
    assert invoke(api_event()).status == 409

    # Then the actions called are exactly the data actions the role allows...
    template = load_template()
    allowed = iam_actions_by_resource(template)
    granted = {action for actions in allowed.values() for action in actions if action.startswith(DATA_SERVICES)}
    assert recorder.actions == granted
    # ... each on the resource the role scopes it to (env var -> Ref -> IAM resource)
    env = function_environment(template)
    for action, params in zip(recorder.calls, recorder.params, strict=True):
        logical_id = env[_target(params, backend)]["Ref"]
        assert action in allowed[logical_id], (action, logical_id)


KEY_KNOB = {"CustomerManagedKey": "true"}
KMS_FOR_SERVICE = {
    # DynamoDB decrypts the table key for a caller of an encrypted table; an SQS producer
    # generates and decrypts the queue's data keys (AWS: SQS key management, producer permissions).
    "dynamodb": {"kms:Decrypt"},
    "sqs": {"kms:GenerateDataKey", "kms:Decrypt"},
}


def test_with_the_key_on_the_role_may_use_it_exactly_through_the_services_the_code_calls(
    backend: Backend, invoke
) -> None:
    # Given a recorder on the function's own clients, and the template with the customer-managed key turned on
    recorder = CallRecorder(backend.dynamodb, backend.sqs)
    [statement] = [s for s in iam_statements(load_template(), KEY_KNOB) if s["Sid"] == "UseDataKey"]

    # When every path that touches AWS runs
    assert invoke(api_event()).status == 201
    assert invoke(api_event()).status == 409

    # Then the key's actions are what those services need of their caller, on the key, through them only
    services = {action.split(":")[0] for action in recorder.actions}
    assert set(statement["Action"]) == set().union(*(KMS_FOR_SERVICE[service] for service in services))
    assert statement["Resource"] == {"Fn::GetAtt": ["DataKey", "Arn"]}
    via = statement["Condition"]["StringEquals"]["kms:ViaService"]
    assert sorted(item["Fn::Sub"] for item in via) == sorted(
        f"{service}.${{AWS::Region}}.amazonaws.com" for service in services
    )


def test_with_the_key_off_the_role_has_no_key_to_use() -> None:
    assert not [s for s in iam_statements(load_template()) if any(a.startswith("kms:") for a in _actions(s))]


def _actions(statement: dict) -> list[str]:
    return statement["Action"] if isinstance(statement["Action"], list) else [statement["Action"]]
