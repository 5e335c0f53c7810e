"""Environments and the rollout: samconfig.toml's values, linted and transformed as `sam deploy` would use them."""

from __future__ import annotations

import json
import re
from typing import Any

import pytest
from cfnlint.api import lint
from cfnlint.config import ManualArgs

from dashboards import definition
from harness.cloudformation import deployed
from harness.template import parameter_problems, resolve
from localstage.samconfig import environments, parameter_overrides, stack_name
from tests.support.template import FUNCTION, TEMPLATE, load_template, resource, transformed

ENVIRONMENTS = environments()
KEY = "CustomerManagedKey"
NAMED = {
    "AWS::Lambda::Function": "FunctionName",
    "AWS::Logs::LogGroup": "LogGroupName",
    "AWS::DynamoDB::Table": "TableName",
    "AWS::SQS::Queue": "QueueName",
    "AWS::Cognito::UserPool": "UserPoolName",
    "AWS::Cognito::UserPoolClient": "ClientName",
    "AWS::ApiGateway::RestApi": "Name",
    "AWS::SNS::Topic": "TopicName",
    "AWS::CloudWatch::Alarm": "AlarmName",
    "AWS::CloudWatch::CompositeAlarm": "AlarmName",
    "AWS::CloudWatch::Dashboard": "DashboardName",
    "AWS::KMS::Alias": "AliasName",
}
"""Resource types with an account-wide name: each must be set, from the environment."""
GENERATED = {
    "AWS::IAM::Role": "RoleName",
    "AWS::S3::Bucket": "BucketName",
    "AWS::CodeDeploy::Application": "ApplicationName",
    "AWS::CodeDeploy::DeploymentGroup": "DeploymentGroupName",
}
"""Named by CloudFormation from the stack (unique per stack): the name property must stay unset."""
SCOPED = {
    "AWS::Cognito::UserPoolGroup",  # a group of one pool
    "AWS::IAM::Policy",  # an inline policy of one role
    "AWS::Lambda::Alias",  # an alias of one function
    "AWS::Lambda::Version",
    "AWS::Lambda::Permission",
    "AWS::ApiGateway::Deployment",
    "AWS::ApiGateway::Stage",  # named by StageName itself
    "AWS::SNS::Subscription",
    "AWS::FIS::ExperimentTemplate",
    "AWS::KMS::Key",  # found by its alias
}
"""No account-wide name to collide."""


def _environment(name: str) -> dict[str, Any]:
    """The template as `sam deploy --config-env NAME` would deploy it: transformed, conditions decided."""
    values = parameter_overrides(name)
    return deployed(transformed(values), values)


def _of_type(template: dict[str, Any], kind: str) -> dict[str, dict[str, Any]]:
    return {k: v for k, v in template["Resources"].items() if v["Type"] == kind}


def _config_name(deployment_group: dict[str, Any]) -> str:
    text, variables = deployment_group["Properties"]["DeploymentConfigName"]["Fn::Sub"]
    return resolve(text, variables)


def test_samconfig_deploys_dev_staging_and_prod_each_to_its_own_stack_and_stage() -> None:
    assert {"dev", "staging", "prod"} <= set(ENVIRONMENTS)
    assert len({stack_name(name) for name in ENVIRONMENTS}) == len(ENVIRONMENTS)
    for name in ENVIRONMENTS:
        assert parameter_overrides(name)["StageName"] == name


@pytest.mark.parametrize("name", ENVIRONMENTS)
def test_each_environments_values_are_ones_the_template_accepts(name: str) -> None:
    assert parameter_problems(load_template(), parameter_overrides(name)) == []


def test_values_the_template_would_refuse_are_each_named() -> None:
    problems = parameter_problems(
        load_template(),
        {
            "DeploymentType": "Sometimes",
            "ReservedConcurrency": "0",
            "ProvisionedConcurrency": "-1",
            "ApiThrottlingRateLimit": "fast",
            "StageName": "Prod!",
            "StageNme": "dev",
        },
    )

    assert [problem.split("=")[0].split(" ")[0] for problem in problems] == [
        "StageNme",
        "StageName",
        "DeploymentType",
        "ProvisionedConcurrency",
        "ReservedConcurrency",
        "ApiThrottlingRateLimit",
    ]


@pytest.mark.parametrize("key", ["true", "false"])
@pytest.mark.parametrize("name", ENVIRONMENTS)
def test_cfn_lint_finds_nothing_with_each_environments_values_and_the_key_on_or_off(name: str, key: str) -> None:
    values = parameter_overrides(name) | {KEY: key}
    matches = lint(TEMPLATE.read_text(), config=ManualArgs(parameters=[values]))

    assert [str(match) for match in matches] == []


@pytest.mark.parametrize("name", ENVIRONMENTS)
def test_each_environment_gets_a_codedeploy_group_rolled_back_by_the_endpoints_alarms(name: str) -> None:
    template = _environment(name)
    [(app_id, app)] = _of_type(template, "AWS::CodeDeploy::Application").items()
    [group] = _of_type(template, "AWS::CodeDeploy::DeploymentGroup").values()
    props = group["Properties"]

    assert app["Properties"]["ComputePlatform"] == "Lambda"
    assert props["ApplicationName"] == {"Ref": app_id}
    assert props["AlarmConfiguration"] == {
        "Enabled": True,
        "Alarms": [{"Name": {"Ref": alarm}} for alarm in definition.ROLLBACK_ALARMS],
    }
    assert props["AutoRollbackConfiguration"]["Enabled"] is True
    assert {"DEPLOYMENT_FAILURE", "DEPLOYMENT_STOP_ON_ALARM"} <= set(props["AutoRollbackConfiguration"]["Events"])
    assert props["DeploymentStyle"] == {"DeploymentType": "BLUE_GREEN", "DeploymentOption": "WITH_TRAFFIC_CONTROL"}
    # the alarms exist in every environment (a group naming a missing alarm stops every deploy)
    assert set(definition.ROLLBACK_ALARMS) <= set(template["Resources"])


def test_prod_rolls_out_as_a_canary_staging_rehearses_it_and_dev_deploys_at_once() -> None:
    config = {name: _config_name(*_of_type(_environment(name), "AWS::CodeDeploy::DeploymentGroup").values())
              for name in ("dev", "staging", "prod")}  # fmt: skip

    assert re.fullmatch(r"CodeDeployDefault\.LambdaCanary10Percent\d+Minutes", config["prod"])
    assert config["staging"] == config["prod"]
    assert config["dev"] == "CodeDeployDefault.LambdaAllAtOnce"


@pytest.mark.parametrize("name", ENVIRONMENTS)
def test_api_gateway_invokes_the_alias_that_codedeploy_shifts(name: str) -> None:
    template = _environment(name)
    [(alias_id, alias)] = _of_type(template, "AWS::Lambda::Alias").items()
    [(group_id, _)] = _of_type(template, "AWS::CodeDeploy::DeploymentGroup").items()
    [(app_id, _)] = _of_type(template, "AWS::CodeDeploy::Application").items()
    [rest_api] = _of_type(template, "AWS::ApiGateway::RestApi").values()
    [permission] = _of_type(template, "AWS::Lambda::Permission").values()
    integration = rest_api["Properties"]["Body"]["paths"]["/orders"]["post"]["x-amazon-apigateway-integration"]

    assert alias["Properties"]["Name"] == definition.ALIAS
    assert alias["UpdatePolicy"]["CodeDeployLambdaAliasUpdate"] == {
        "ApplicationName": {"Ref": app_id},
        "DeploymentGroupName": {"Ref": group_id},
        # CodeDeploy runs the pre-traffic hook before it moves any traffic to the new version
        "BeforeAllowTrafficHook": {"Ref": "PreTrafficHookFunction"},
    }
    assert f"/functions/${{{alias_id}}}/invocations" in integration["uri"]["Fn::Sub"]
    assert permission["Properties"]["FunctionName"] == {"Ref": alias_id}


def test_the_rollback_alarms_and_the_functions_row_watch_the_alias() -> None:
    template = load_template()
    function = resource(template, FUNCTION)["Properties"]
    alias_metric = {"FunctionName": definition.FUNCTION, "Resource": f"{definition.FUNCTION}:{definition.ALIAS}"}

    assert function["AutoPublishAlias"] == definition.ALIAS
    assert function["DeploymentPreference"]["Alarms"] == [{"Ref": alarm} for alarm in definition.ROLLBACK_ALARMS]
    assert function["DeploymentPreference"]["Type"] == {"Ref": "DeploymentType"}
    for logical_id in ("FunctionErrorsAlarm", "FunctionThrottlesAlarm", "NoOrdersAlarm"):
        lambda_metrics = [m for m in definition.watched_metrics(template["Resources"][logical_id])
                          if m["Namespace"] == "AWS/Lambda"]  # fmt: skip
        assert lambda_metrics, logical_id
        for metric in lambda_metrics:
            assert {d["Name"]: d["Value"]["Fn::Sub"] for d in metric["Dimensions"]} == alias_metric, logical_id


def _names(template: dict[str, Any], environment: str) -> dict[str, str]:
    """Every account-wide name, resolved for the environment (failing on a name fixed or not from StageName)."""
    names: dict[str, str] = {}
    for logical_id, spec in template["Resources"].items():
        prop = NAMED.get(spec["Type"])
        if prop is None:
            continue
        value = spec["Properties"].get(prop)
        assert value is not None, f"{logical_id} has no {prop}: CloudFormation would name it after the stack"
        assert isinstance(value, dict), f"{logical_id}.{prop} is fixed: {value!r}"
        assert set(value) == {"Fn::Sub"}, f"{logical_id}.{prop} is not an Fn::Sub of the environment"
        names[logical_id] = resolve(value["Fn::Sub"], {"StageName": environment})  # nothing but the environment
        assert environment in names[logical_id], f"{logical_id}.{prop} does not carry the environment"
    return names


@pytest.mark.parametrize("name", ENVIRONMENTS)
def test_every_physical_name_follows_the_environment_and_no_other_is_fixed(name: str) -> None:
    template = _environment(name)
    unknown = {spec["Type"] for spec in template["Resources"].values()} - set(NAMED) - set(GENERATED) - SCOPED

    assert unknown == set(), "decide how these are named: NAMED, GENERATED or SCOPED"
    assert _names(template, name)
    for logical_id, spec in template["Resources"].items():
        if spec["Type"] in GENERATED:
            assert GENERATED[spec["Type"]] not in spec.get("Properties", {}), logical_id
    [stage] = _of_type(template, "AWS::ApiGateway::Stage").values()
    assert stage["Properties"]["StageName"] == {"Ref": "StageName"}


def test_environments_sharing_an_account_share_no_name() -> None:
    seen: dict[str, str] = {}
    for name in ENVIRONMENTS:
        for logical_id, physical in _names(_environment(name), name).items():
            kind = _environment(name)["Resources"][logical_id]["Type"]
            key = f"{kind} {physical}"
            assert key not in seen, f"{name} and {seen[key]} both name a {kind} {physical}"
            seen[key] = name


def _render_access_log_format(text: str) -> dict[str, Any]:
    """One access-log line as API Gateway writes it: every $context variable given a value."""
    line = text.replace("$context.error.messageString", json.dumps('a "quoted" message'))
    line = re.sub(r"\$context\.[A-Za-z.]+", lambda match: f"<{match.group(0)}>", line)
    return json.loads(line)


@pytest.mark.parametrize("name", ENVIRONMENTS)
def test_access_logs_are_json_with_the_request_id_in_their_own_log_group(name: str) -> None:
    template = _environment(name)
    [stage] = _of_type(template, "AWS::ApiGateway::Stage").values()
    setting = stage["Properties"]["AccessLogSetting"]
    group = template["Resources"]["ApiAccessLogGroup"]["Properties"]

    assert setting["DestinationArn"] == {"Fn::GetAtt": ["ApiAccessLogGroup", "Arn"]}
    line = _render_access_log_format(setting["Format"])
    assert line["requestId"] == "<$context.requestId>"  # the id the function logs and puts in every problem
    assert line["status"] == "<$context.status>"
    assert line["errorMessage"] == 'a "quoted" message'
    assert group["RetentionInDays"] == {"Ref": "AccessLogRetentionDays"}
    assert "AccessLogRetentionDays" in parameter_overrides(name)


def test_stage_throttling_is_set_by_parameters_with_the_former_limits_as_defaults() -> None:
    template = load_template()
    [settings] = resource(template, "OrdersApi")["Properties"]["MethodSettings"]
    parameters = template["Parameters"]

    assert settings["ThrottlingRateLimit"] == {"Ref": "ApiThrottlingRateLimit"}
    assert settings["ThrottlingBurstLimit"] == {"Ref": "ApiThrottlingBurstLimit"}
    assert (parameters["ApiThrottlingRateLimit"]["Default"], parameters["ApiThrottlingBurstLimit"]["Default"]) == (
        100,
        200,
    )


def test_by_default_no_provisioned_nor_reserved_concurrency_and_nobody_subscribed() -> None:
    template = _environment("dev")
    [alias] = _of_type(template, "AWS::Lambda::Alias").values()
    function = template["Resources"][FUNCTION]["Properties"]

    assert "ProvisionedConcurrencyConfig" not in alias["Properties"]
    assert "ReservedConcurrentExecutions" not in function
    assert _of_type(template, "AWS::SNS::Subscription") == {}


def test_the_concurrency_knobs_and_the_alarm_subscription_when_turned() -> None:
    values = {
        **parameter_overrides("prod"),
        "ProvisionedConcurrency": "5",
        "ReservedConcurrency": "40",
        "AlarmEndpoint": "https://oncall.example.com/hook",
        "AlarmProtocol": "https",
    }
    assert parameter_problems(load_template(), values) == []
    template = deployed(transformed(values), values)
    [alias] = _of_type(template, "AWS::Lambda::Alias").values()
    [subscription] = _of_type(template, "AWS::SNS::Subscription").values()

    # provisioned on the alias (the version a deploy shifts to gets it), reserved on the function
    assert alias["Properties"]["ProvisionedConcurrencyConfig"] == {
        "ProvisionedConcurrentExecutions": {"Ref": "ProvisionedConcurrency"}
    }
    assert template["Resources"][FUNCTION]["Properties"]["ReservedConcurrentExecutions"] == {
        "Ref": "ReservedConcurrency"
    }
    assert subscription["Properties"] == {
        "TopicArn": {"Ref": definition.TOPIC},
        "Protocol": {"Ref": "AlarmProtocol"},
        "Endpoint": {"Ref": "AlarmEndpoint"},
    }
    # the composite alarm, which every other alarm feeds, is what notifies the topic
    composite = template["Resources"][definition.COMPOSITE]["Properties"]
    assert composite["AlarmActions"] == [{"Ref": definition.TOPIC}]


def test_fault_injection_is_deployed_to_staging_and_dev_but_never_to_prod() -> None:
    def experiments(name: str) -> dict[str, Any]:
        return _of_type(_environment(name), "AWS::FIS::ExperimentTemplate")

    assert len(experiments("staging")) == len(experiments("dev")) == 3
    assert experiments("prod") == {}
    assert "FisConfigBucket" not in _environment("prod")["Resources"]


STORES = ("AWS::DynamoDB::Table", "AWS::SQS::Queue", "AWS::SNS::Topic", "AWS::Logs::LogGroup")
"""Where the endpoint keeps data at rest: each one under the customer-managed key when it is on."""
KEY_PROPERTY = {
    "AWS::DynamoDB::Table": ("SSESpecification", "KMSMasterKeyId"),
    "AWS::SQS::Queue": ("KmsMasterKeyId",),
    "AWS::SNS::Topic": ("KmsMasterKeyId",),
    "AWS::Logs::LogGroup": ("KmsKeyId",),
}
DATA_KEY = ({"Ref": "DataKey"}, {"Fn::GetAtt": ["DataKey", "Arn"]})


def _key_of(spec: dict[str, Any]) -> Any:
    value: Any = spec.get("Properties", {})
    for part in KEY_PROPERTY[spec["Type"]]:
        value = value.get(part) if isinstance(value, dict) else None
    return value


@pytest.mark.parametrize("key", ["true", "false"])
@pytest.mark.parametrize("name", ENVIRONMENTS)
def test_the_key_knob_puts_every_store_under_the_stacks_key_or_leaves_each_on_aws_keys(name: str, key: str) -> None:
    # Given an environment's values with the key turned on or off, transformed as `sam deploy` would
    values = parameter_overrides(name) | {KEY: key}
    template = deployed(transformed(values), values)
    stores = {logical_id: spec for logical_id, spec in template["Resources"].items() if spec["Type"] in STORES}

    # Then every store names the key exactly when it is on, and the key exists exactly then
    assert stores, "no store found"
    for logical_id, spec in stores.items():
        assert (_key_of(spec) in DATA_KEY) == (key == "true"), logical_id
        assert _key_of(spec) is None or key == "true", logical_id
    assert ("DataKey" in template["Resources"]) == (key == "true")
    for logical_id in ("ProcessingQueue", "ProcessingDLQ"):
        # SSE-SQS when off; a queue takes one kind of server-side encryption or the other
        assert template["Resources"][logical_id]["Properties"].get("SqsManagedSseEnabled") is (
            None if key == "true" else True
        )
    for logical_id in ("OrdersTable", "ProductsTable"):
        sse = template["Resources"][logical_id]["Properties"]["SSESpecification"]
        assert sse["SSEEnabled"] is True
        assert sse.get("SSEType") == ("KMS" if key == "true" else None)


def test_the_keys_policy_gives_the_account_and_the_two_services_that_use_it_on_their_own_behalf() -> None:
    template = deployed(load_template(), {KEY: "true"})
    key = template["Resources"]["DataKey"]["Properties"]
    statements = {statement["Sid"]: statement for statement in key["KeyPolicy"]["Statement"]}
    log_groups = [
        spec["Properties"]["LogGroupName"]["Fn::Sub"] for spec in _of_type(template, "AWS::Logs::LogGroup").values()
    ]

    assert key["EnableKeyRotation"] is True
    assert set(statements) == {
        "AccountAdministersAndDelegatesToIam",
        "LogsEncryptTheEndpointsLogGroups",
        "AlarmsPublishToTheAlarmTopic",
    }
    account = statements["AccountAdministersAndDelegatesToIam"]
    assert account["Principal"] == {"AWS": {"Fn::Sub": "arn:${AWS::Partition}:iam::${AWS::AccountId}:root"}}
    # CloudWatch Logs: only for the endpoint's own log groups, each named by its ARN in the encryption context
    logs = statements["LogsEncryptTheEndpointsLogGroups"]
    arns = logs["Condition"]["ArnEquals"]["kms:EncryptionContext:aws:logs:arn"]
    assert logs["Principal"] == {"Service": {"Fn::Sub": "logs.${AWS::Region}.amazonaws.com"}}
    assert sorted(arn["Fn::Sub"] for arn in arns) == sorted(
        f"arn:${{AWS::Partition}}:logs:${{AWS::Region}}:${{AWS::AccountId}}:log-group:{group}" for group in log_groups
    )
    assert not any("*" in action for action in logs["Action"])
    # CloudWatch alarms publishing to the encrypted topic: what SNS asks of a publisher, from this account
    alarms = statements["AlarmsPublishToTheAlarmTopic"]
    assert alarms["Principal"] == {"Service": "cloudwatch.amazonaws.com"}
    assert set(alarms["Action"]) == {"kms:Decrypt", "kms:GenerateDataKey"}
    assert alarms["Condition"] == {"StringEquals": {"aws:SourceAccount": {"Ref": "AWS::AccountId"}}}


def test_production_and_its_rehearsal_run_under_the_key_and_dev_does_not() -> None:
    assert {name: parameter_overrides(name).get(KEY, "false") for name in ("dev", "staging", "prod")} == {
        "dev": "false",
        "staging": "true",
        "prod": "true",
    }


@pytest.mark.parametrize("name", ENVIRONMENTS)
def test_snapstart_is_each_environment_s_choice_on_the_versions_the_live_alias_serves(name: str) -> None:
    chosen = parameter_overrides(name)["SnapStart"]
    template = _environment(name)
    function = template["Resources"][FUNCTION]["Properties"]
    [alias] = _of_type(template, "AWS::Lambda::Alias").values()

    assert function["SnapStart"] == {"ApplyOn": {"Ref": "SnapStart"}}
    assert chosen in ("None", "PublishedVersions")
    # SnapStart applies to published versions only: the live alias serves one, never $LATEST
    [version] = _of_type(template, "AWS::Lambda::Version")
    assert alias["Properties"]["Name"] == "live"
    assert alias["Properties"]["FunctionVersion"] == {"Fn::GetAtt": [version, "Version"]}


def test_snapstart_with_provisioned_concurrency_is_refused_by_the_template_naming_both() -> None:
    template = load_template()
    both = {**parameter_overrides("prod"), "SnapStart": "PublishedVersions", "ProvisionedConcurrency": "5"}

    [problem] = parameter_problems(template, both)

    assert problem.startswith("rule SnapStartWithoutProvisionedConcurrency: ")
    assert "SnapStart=PublishedVersions and ProvisionedConcurrency above 0 are mutually exclusive" in problem
    # Either alone is taken
    assert parameter_problems(template, {**both, "ProvisionedConcurrency": "0"}) == []
    assert parameter_problems(template, {**both, "SnapStart": "None"}) == []
    # And the rule is the template's own: a deploy of the pair is refused by CloudFormation, not by a test
    assert template["Rules"]["SnapStartWithoutProvisionedConcurrency"]["RuleCondition"] == {
        "Fn::Equals": [{"Ref": "SnapStart"}, "PublishedVersions"]
    }


@pytest.mark.parametrize("name", ENVIRONMENTS)
def test_the_pre_traffic_hook_invokes_the_version_a_deploy_publishes_and_codedeploy_may_run_it(name: str) -> None:
    template = _environment(name)
    hook = template["Resources"]["PreTrafficHookFunction"]["Properties"]
    [version_id] = _of_type(template, "AWS::Lambda::Version")
    statements = template["Resources"]["PreTrafficHookRole"]["Properties"]["Policies"][0]["PolicyDocument"]["Statement"]
    invoke = next(s for s in statements if s["Sid"] == "InvokeTheNewVersion")

    # Named as AWSCodeDeployRoleForLambda lets CodeDeploy invoke a hook, for the environment
    assert (
        resolve(hook["FunctionName"]["Fn::Sub"], {"StageName": name})
        == f"CodeDeployHook_create-order-{name}-pre-traffic"
    )
    # It invokes the version this deploy publishes, never the alias, and may invoke nothing else
    assert hook["Environment"]["Variables"]["NEW_VERSION"] == {"Ref": version_id}
    assert invoke["Action"] == "lambda:InvokeFunction"
    assert invoke["Resource"] == {"Ref": version_id}
    # Its code is its own package
    assert hook["Handler"] == "pre_traffic.handler"
