"""template.yaml: valid, transformable offline, and held to what the code reads and calls."""

from __future__ import annotations

import json

import pytest
from cfnlint.api import lint_file

from create_order import api, names
from create_order.errors import ForbiddenError, UnauthorizedError
from create_order.outcomes import OUTCOMES
from create_order.settings import OPTIONAL_ENV, REQUIRED_ENV
from dashboards import definition
from localstage.gateway_responses import declared_responses
from tests.support.template import (
    FUNCTION,
    ROLE,
    TEMPLATE,
    function_environment,
    iam_actions_by_resource,
    iam_statements,
    load_template,
    resource,
)
from tests.support.template import transformed as sam_transform

FIS_EXTENSION_ENV = ("AWS_FIS_CONFIGURATION_LOCATION", "AWS_LAMBDA_EXEC_WRAPPER")


def test_cfn_lint_finds_nothing() -> None:
    matches = lint_file(TEMPLATE)

    assert [str(match) for match in matches] == []


@pytest.fixture(scope="module")
def transformed() -> dict:
    return sam_transform()


def _of_type(template: dict, kind: str) -> dict[str, dict]:
    return {k: v for k, v in template["Resources"].items() if v["Type"] == kind}


def test_sam_transform_gives_a_cognito_authorised_post_orders(transformed: dict) -> None:
    [rest_api] = _of_type(transformed, "AWS::ApiGateway::RestApi").values()
    body = rest_api["Properties"]["Body"]
    post = body["paths"]["/orders"]["post"]
    assert post["security"] == [{"CognitoAuthorizer": []}]
    scheme = body["securityDefinitions"]["CognitoAuthorizer"]
    assert scheme["x-amazon-apigateway-authtype"] == "cognito_user_pools"
    assert scheme["name"] == "Authorization"
    assert post["x-amazon-apigateway-integration"]["type"] == "aws_proxy"


def test_sam_transform_carries_every_gateway_response_as_a_problem(transformed: dict) -> None:
    [rest_api] = _of_type(transformed, "AWS::ApiGateway::RestApi").values()
    deployed = rest_api["Properties"]["Body"]["x-amazon-apigateway-gateway-responses"]
    problem_headers = api.respond(400, {}, problem=True)["headers"]

    assert set(deployed) == set(declared_responses())
    for response_type, response in deployed.items():
        headers = {
            name.removeprefix("gatewayresponse.header."): value.strip("'")
            for name, value in response["responseParameters"].items()
        }
        assert headers == problem_headers, response_type  # the function's own problem headers, no more
        assert "$context.requestId" in response["responseTemplates"]["application/json"], response_type
        assert int(response["statusCode"]) == declared_responses()[response_type].status


def test_gateway_problem_types_tell_the_refusals_apart_and_from_the_functions() -> None:
    def slug(response_type: str) -> str:
        declared = declared_responses()[response_type]
        return json.loads(declared.render(response_type, "r", "m"))["type"].removeprefix(api.PROBLEM_TYPE_PREFIX)

    refusals = {slug(t) for t in ("UNAUTHORIZED", "ACCESS_DENIED", "MISSING_AUTHENTICATION_TOKEN")}
    assert refusals == {"unauthorized", "access-denied", "route-not-found"}
    assert OUTCOMES[ForbiddenError].slug not in refusals  # the function's "not your customer" is its own type
    assert slug("UNAUTHORIZED") == OUTCOMES[UnauthorizedError].slug  # one meaning, one type, whichever layer refuses


def test_sam_transform_keeps_the_explicit_role(transformed: dict) -> None:
    functions = _of_type(transformed, "AWS::Lambda::Function")

    assert functions["CreateOrderFunction"]["Properties"]["Role"] == {"Fn::GetAtt": ["CreateOrderFunctionRole", "Arn"]}
    assert functions["PreTrafficHookFunction"]["Properties"]["Role"] == {"Fn::GetAtt": ["PreTrafficHookRole", "Arn"]}
    # SAM adds one role of its own, CodeDeploy's for the gradual rollout, with AWS's policy for Lambda deployments
    roles = _of_type(transformed, "AWS::IAM::Role")
    assert sorted(roles) == [
        "CodeDeployServiceRole", "CreateOrderFunctionRole", "FisExperimentRole", "PreTrafficHookRole",
    ]  # fmt: skip
    codedeploy = roles["CodeDeployServiceRole"]["Properties"]
    assert codedeploy["AssumeRolePolicyDocument"]["Statement"][0]["Principal"] == {
        "Service": ["codedeploy.amazonaws.com"]
    }
    assert [arn.rsplit("/", 1)[-1] for arn in codedeploy["ManagedPolicyArns"]] == ["AWSCodeDeployRoleForLambda"]
    assert "Policies" not in codedeploy


def test_function_is_configured_as_designed() -> None:
    properties = resource(load_template(), FUNCTION)["Properties"]

    # The contract's name (docs/contract.md §1), suffixed with the environment (issue 17); the dashboard and
    # alarms use the same name
    assert properties["FunctionName"] == {"Fn::Sub": "order-processing-create-order-${StageName}"}
    assert properties["FunctionName"] == {"Fn::Sub": definition.FUNCTION}
    assert properties["Handler"] == "create_order.handler.lambda_handler"
    assert properties["CodeUri"] == "function/"
    assert properties["Runtime"] == "python3.14"
    assert properties["Architectures"] == ["arm64"]
    assert properties["MemorySize"] == 256
    assert properties["Timeout"] == 30
    assert properties["Tracing"] == "Active"


def test_function_logs_to_its_own_group_with_a_retention() -> None:
    template = load_template()
    logging = resource(template, FUNCTION)["Properties"]["LoggingConfig"]
    log_group = resource(template, "CreateOrderLogGroup")["Properties"]

    assert logging["LogGroup"] == {"Ref": "CreateOrderLogGroup"}
    assert log_group["LogGroupName"] == {"Fn::Sub": "/aws/lambda/order-processing-create-order-${StageName}"}
    assert log_group["RetentionInDays"] == {"Ref": "LogRetentionDays"}


def test_environment_is_exactly_what_the_settings_read() -> None:
    env = function_environment(load_template())
    # Powertools' own, and the FIS extension's (non-production stages only), are not ours.
    ours = {name for name in env if not name.startswith("POWERTOOLS_") and name not in FIS_EXTENSION_ENV}

    assert set(REQUIRED_ENV) <= ours
    assert ours <= set(REQUIRED_ENV) | set(OPTIONAL_ENV)
    assert env["ORDERS_TABLE"] == {"Ref": "OrdersTable"}
    assert env["PRODUCTS_TABLE"] == {"Ref": "ProductsTable"}
    assert env["PROCESSING_QUEUE_URL"] == {"Ref": "ProcessingQueue"}


def test_fault_injection_exists_only_outside_production() -> None:
    template = load_template()
    env = function_environment(template)
    fis = {k: v for k, v in template["Resources"].items() if v["Type"] == "AWS::FIS::ExperimentTemplate"}

    assert {action["ActionId"] for spec in fis.values() for action in spec["Properties"]["Actions"].values()} == {
        "aws:lambda:invocation-add-delay",
        "aws:lambda:invocation-error",
        "aws:lambda:invocation-http-integration-response",
    }
    assert all(spec["Condition"] == "FaultInjectionEnabled" for spec in fis.values())
    assert template["Conditions"]["FaultInjectionEnabled"] == {
        "Fn::Not": [{"Fn::Equals": [{"Ref": "StageName"}, "prod"]}]
    }
    for name in FIS_EXTENSION_ENV:
        assert env[name]["Fn::If"][0] == "FaultInjectionEnabled"
    layers = resource(template, FUNCTION)["Properties"]["Layers"]
    assert layers["Fn::If"][0] == "FaultInjectionEnabled"
    for spec in fis.values():
        [stop] = spec["Properties"]["StopConditions"]
        assert stop["Source"] == "aws:cloudwatch:alarm"
    for kind in ("AWS::S3::Bucket", "AWS::IAM::Policy"):
        for spec in template["Resources"].values():
            if spec["Type"] == kind:
                assert spec["Condition"] == "FaultInjectionEnabled"


def test_powertools_names_match_the_code() -> None:
    env = function_environment(load_template())

    assert env["POWERTOOLS_SERVICE_NAME"] == names.SERVICE
    assert env["POWERTOOLS_METRICS_NAMESPACE"] == names.METRICS_NAMESPACE


@pytest.mark.parametrize(("table", "key"), [("OrdersTable", "id"), ("ProductsTable", "product_id")])
def test_tables_are_keyed_protected_and_on_demand(table: str, key: str) -> None:
    properties = resource(load_template(), table)["Properties"]

    assert properties["KeySchema"] == [{"AttributeName": key, "KeyType": "HASH"}]
    assert properties["AttributeDefinitions"] == [{"AttributeName": key, "AttributeType": "S"}]
    assert properties["BillingMode"] == "PAY_PER_REQUEST"
    assert properties["PointInTimeRecoverySpecification"] == {"PointInTimeRecoveryEnabled": True}
    # Encrypted by AWS's aws/dynamodb key; by the stack's own with the key knob on (test_deployment.py)
    assert properties["SSESpecification"]["SSEEnabled"] is True
    assert resource(load_template(), table)["DeletionPolicy"] == "Retain"


def test_dependency_names_are_the_template_logical_ids() -> None:
    resources = load_template()["Resources"]

    assert set(names.DEPENDENCIES) <= set(resources)


def test_queue_redrives_to_the_dead_letter_queue() -> None:
    queue = resource(load_template(), "ProcessingQueue")["Properties"]

    assert queue["RedrivePolicy"]["deadLetterTargetArn"] == {"Fn::GetAtt": ["ProcessingDLQ", "Arn"]}
    assert queue["RedrivePolicy"]["maxReceiveCount"] >= 1
    # Encryption (SSE-SQS, or the stack's key) is the key knob's: test_deployment.py
    assert resource(load_template(), "ProcessingDLQ")["Properties"]["MessageRetentionPeriod"] == 1209600


def test_cognito_pool_client_and_group_match_the_code() -> None:
    template = load_template()
    pool = resource(template, "UserPool")["Properties"]
    client = resource(template, "UserPoolClient")["Properties"]
    group = resource(template, "AdminsGroup")["Properties"]

    assert ["custom:" + attribute["Name"] for attribute in pool["Schema"]] == [api.CUSTOMER_ID_CLAIM]
    assert set(client["ExplicitAuthFlows"]) == {"ALLOW_USER_PASSWORD_AUTH", "ALLOW_REFRESH_TOKEN_AUTH"}
    assert client["GenerateSecret"] is False
    assert "custom:customer_id" not in client["WriteAttributes"]  # customers cannot pick their id
    assert group["GroupName"] == api.ADMIN_GROUP


def test_api_uses_the_cognito_authorizer_on_post_orders() -> None:
    template = load_template()
    auth = resource(template, "OrdersApi")["Properties"]["Auth"]
    event = resource(template, FUNCTION)["Properties"]["Events"]["CreateOrder"]["Properties"]

    assert auth["DefaultAuthorizer"] == "CognitoAuthorizer"
    assert auth["Authorizers"]["CognitoAuthorizer"]["UserPoolArn"] == {"Fn::GetAtt": ["UserPool", "Arn"]}
    assert (event["Path"], event["Method"]) == ("/orders", "post")


def test_role_grants_no_wildcard_action() -> None:
    for statement in iam_statements(load_template()):
        actions = statement["Action"] if isinstance(statement["Action"], list) else [statement["Action"]]
        assert all("*" not in action for action in actions), statement


def test_role_has_only_its_inline_policy() -> None:
    # Managed policies and other roles' grants would escape iam_actions_by_resource
    role = resource(load_template(), ROLE)["Properties"]

    assert set(role) == {"Description", "AssumeRolePolicyDocument", "Policies"}
    assert role["AssumeRolePolicyDocument"]["Statement"] == [
        {"Effect": "Allow", "Principal": {"Service": "lambda.amazonaws.com"}, "Action": "sts:AssumeRole"}
    ]


def test_role_grants_exactly_the_data_calls_on_their_own_resources() -> None:
    allowed = iam_actions_by_resource(load_template())

    assert allowed["OrdersTable"] == {"dynamodb:PutItem"}
    assert allowed["ProductsTable"] == {"dynamodb:BatchGetItem"}
    assert allowed["ProcessingQueue"] == {"sqs:SendMessage"}
    # logs:CreateLogGroup is not needed: the template creates the group
    assert allowed["CreateOrderLogGroup"] == {"logs:CreateLogStream", "logs:PutLogEvents"}
    assert allowed["*"] == {"xray:PutTraceSegments", "xray:PutTelemetryRecords"}
    assert set(allowed) == {"OrdersTable", "ProductsTable", "ProcessingQueue", "CreateOrderLogGroup", "*"}


def test_outputs_give_what_a_client_and_the_harness_need() -> None:
    outputs = load_template()["Outputs"]

    assert {
        "ApiUrl",
        "UserPoolId",
        "UserPoolClientId",
        "OrdersTableName",
        "ProductsTableName",
        "ProcessingQueueUrl",
        "ProcessingDLQUrl",
        "FunctionName",
        "FunctionLogGroupName",
        "ApiAccessLogGroupName",
    } <= set(outputs)
    # The deployed runner prices a run from the REPORTs in the log group the function writes to
    function = load_template()["Resources"]["CreateOrderFunction"]["Properties"]
    assert outputs["FunctionLogGroupName"]["Value"] == function["LoggingConfig"]["LogGroup"]
