"""The template proven, not just linted: translated offline, deployed to moto's CloudFormation.

``template.yaml`` is translated to plain CloudFormation with aws-sam-translator (what the SAM
transform does on AWS), then created as a stack in a fresh ``mock_aws`` - never on the running
local cloud - and the created resources are read back through the service APIs. The stack's
event source mapping is created but never fed: moto runs it inside ``send_message`` and would
delete messages without running the handler (PLATFORM.md), and nothing here sends one.

moto cannot create everything (PLATFORM.md): it fails on the REST API with an inline OpenAPI
body, ignores ``ManagedPolicyArns`` and drops the table's ``SSESpecification``. Those promises are
asserted on the translated template instead, and each such test says so.
"""
from __future__ import annotations

import ast
import fnmatch
import io
import json
import zipfile
from collections.abc import Iterator
from typing import Any

import boto3
import pytest
from moto import mock_aws

from infra import template
from infra.translate import DEFAULT_CODE_URI, split_code_uri, translate

REGION = "us-east-1"
STACK = "inorder-proof"
# What moto's CloudFormation cannot create: the REST API and everything hanging off it.
API_TYPES = {"AWS::ApiGateway::RestApi", "AWS::ApiGateway::Deployment", "AWS::ApiGateway::Stage",
             "AWS::ApiGateway::UsagePlan", "AWS::ApiGateway::ApiKey", "AWS::ApiGateway::UsagePlanKey"}
LAMBDA_PERMISSION = "AWS::Lambda::Permission"
# AWS-managed policies SAM attaches (moto ignores ManagedPolicyArns: checked on the translation).
BASIC_EXECUTION = "arn:aws:iam::aws:policy/service-role/AWSLambdaBasicExecutionRole"
SQS_EXECUTION = "arn:aws:iam::aws:policy/service-role/AWSLambdaSQSQueueExecutionRole"


@pytest.fixture(scope="module")
def translated() -> dict[str, Any]:
    return translate(region=REGION)


def _api_only(translated: dict[str, Any]) -> set[str]:
    """Logical ids of the API resources, and of the Lambda permissions that name the API."""
    resources = translated["Resources"]
    api = {name for name, res in resources.items() if res["Type"] in API_TYPES}
    return api | {name for name, res in resources.items()
                  if res["Type"] == LAMBDA_PERMISSION and any(a in json.dumps(res) for a in api)}


def _without_api(translated: dict[str, Any]) -> dict[str, Any]:
    body = json.loads(json.dumps(translated))
    dropped = _api_only(translated)
    for name in dropped:
        del body["Resources"][name]
    body["Outputs"] = {k: v for k, v in body.get("Outputs", {}).items()
                       if not any(name in json.dumps(v) for name in dropped)}
    return body


@pytest.fixture(scope="module")
def deployed(translated: dict[str, Any]) -> Iterator[dict[str, Any]]:
    """Create the stack in a fresh mock_aws and read back everything it made (a snapshot)."""
    with pytest.MonkeyPatch.context() as env:
        for name, value in {"AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing",
                            "AWS_SESSION_TOKEN": "testing", "AWS_DEFAULT_REGION": REGION}.items():
            env.setenv(name, value)
        env.delenv("AWS_ENDPOINT_URL", raising=False)
        with mock_aws():
            yield _deploy_and_read(_without_api(translated))


def _deploy_and_read(body: dict[str, Any]) -> dict[str, Any]:
    bucket, key = split_code_uri(DEFAULT_CODE_URI)
    s3 = boto3.client("s3", region_name=REGION)
    s3.create_bucket(Bucket=bucket)
    code = io.BytesIO()
    with zipfile.ZipFile(code, "w") as archive:  # CloudFormation only needs the object to exist
        archive.writestr("placeholder.py", "")
    s3.put_object(Bucket=bucket, Key=key, Body=code.getvalue())

    cfn = boto3.client("cloudformation", region_name=REGION)
    cfn.create_stack(StackName=STACK, TemplateBody=json.dumps(body), Capabilities=["CAPABILITY_IAM"])
    stack = cfn.describe_stacks(StackName=STACK)["Stacks"][0]
    physical = {r["LogicalResourceId"]: r["PhysicalResourceId"]
                for r in cfn.list_stack_resources(StackName=STACK)["StackResourceSummaries"]}

    sqs = boto3.client("sqs", region_name=REGION)
    lam = boto3.client("lambda", region_name=REGION)
    iam = boto3.client("iam", region_name=REGION)
    functions = {name: lam.get_function_configuration(FunctionName=physical[name])
                 for name in template.resources_of_type("AWS::Serverless::Function")}
    roles = {}
    for name, config in functions.items():
        role = config["Role"].rsplit("/", 1)[1]
        roles[name] = {
            "inline": [iam.get_role_policy(RoleName=role, PolicyName=p)["PolicyDocument"]
                       for p in iam.list_role_policies(RoleName=role)["PolicyNames"]],
            "attached": iam.list_attached_role_policies(RoleName=role)["AttachedPolicies"],
        }
    return {
        "stack": stack,
        "physical": physical,
        "queues": {name: sqs.get_queue_attributes(QueueUrl=physical[name], AttributeNames=["All"])["Attributes"]
                   for name in template.resources_of_type("AWS::SQS::Queue")},
        "table": boto3.client("dynamodb", region_name=REGION).describe_table(
            TableName=physical["ResultsTable"])["Table"],
        "functions": functions,
        "mappings": lam.list_event_source_mappings()["EventSourceMappings"],
        "roles": roles,
    }


def _props(logical_id: str) -> dict[str, Any]:
    return template.resource(logical_id)["Properties"]


# --- the stack ----------------------------------------------------------------------------------

def test_only_the_rest_api_is_left_to_the_translated_template(translated: dict[str, Any]) -> None:
    """What moto cannot create is exactly the API (and its invoke permissions); nothing else is skipped."""
    types = {translated["Resources"][name]["Type"] for name in _api_only(translated)}
    assert types == API_TYPES | {LAMBDA_PERMISSION}


def test_the_stack_creates_every_other_resource(translated: dict[str, Any], deployed: dict[str, Any]) -> None:
    assert deployed["stack"]["StackStatus"] == "CREATE_COMPLETE", deployed["stack"].get("StackStatusReason")
    expected = set(translated["Resources"]) - _api_only(translated)
    assert set(deployed["physical"]) == expected
    outputs = {o["OutputKey"]: o["OutputValue"] for o in deployed["stack"]["Outputs"]}
    assert outputs["EventsQueueUrl"] == deployed["physical"]["EventsQueue"]
    assert outputs["DeadLetterQueueUrl"] == deployed["physical"]["EventsDeadLetterQueue"]
    assert outputs["ResultsTableName"] == deployed["physical"]["ResultsTable"]


# --- queues -------------------------------------------------------------------------------------

def test_the_events_queue_is_fifo_in_high_throughput_mode_and_encrypted(deployed: dict[str, Any]) -> None:
    queue = deployed["queues"]["EventsQueue"]
    assert deployed["physical"]["EventsQueue"].endswith(f"/{STACK}-events.fifo")
    assert queue["FifoQueue"] == "true"
    assert queue["ContentBasedDeduplication"] == "false"  # ingest sets account_id:seq as the dedup id
    assert queue["DeduplicationScope"] == "messageGroup"
    assert queue["FifoThroughputLimit"] == "perMessageGroupId"
    assert queue["SqsManagedSseEnabled"] == "true"


def test_failed_messages_go_to_an_encrypted_fifo_dead_letter_queue(deployed: dict[str, Any]) -> None:
    queue, dlq = deployed["queues"]["EventsQueue"], deployed["queues"]["EventsDeadLetterQueue"]
    redrive = json.loads(queue["RedrivePolicy"])
    assert redrive["deadLetterTargetArn"] == dlq["QueueArn"]
    assert int(redrive["maxReceiveCount"]) == int(_props("EventsQueue")["RedrivePolicy"]["maxReceiveCount"])
    assert int(redrive["maxReceiveCount"]) >= 2, "a failed event must be retried at least once"
    assert dlq["FifoQueue"] == "true" and dlq["SqsManagedSseEnabled"] == "true"
    # A FIFO DLQ keeps the original enqueue time: it must keep messages at least as long.
    assert int(dlq["MessageRetentionPeriod"]) >= int(queue["MessageRetentionPeriod"])


def test_visibility_timeout_is_at_least_six_times_the_processor_timeout(deployed: dict[str, Any]) -> None:
    visibility = int(deployed["queues"]["EventsQueue"]["VisibilityTimeout"])
    timeout = deployed["functions"]["ProcessorFunction"]["Timeout"]
    assert visibility >= 6 * timeout, f"visibility {visibility} s < 6 x processor timeout {timeout} s"


# --- event source mapping -----------------------------------------------------------------------

def test_the_processor_is_triggered_by_the_events_queue_as_the_template_says(deployed: dict[str, Any]) -> None:
    (mapping,) = deployed["mappings"]
    assert mapping["EventSourceArn"] == deployed["queues"]["EventsQueue"]["QueueArn"]
    assert mapping["FunctionArn"] == deployed["functions"]["ProcessorFunction"]["FunctionArn"]
    event = _props("ProcessorFunction")["Events"]["Events"]["Properties"]
    assert mapping["BatchSize"] == event["BatchSize"] and 1 <= mapping["BatchSize"] <= 10  # FIFO maximum
    assert mapping["FunctionResponseTypes"] == ["ReportBatchItemFailures"]
    concurrency = mapping["ScalingConfig"]["MaximumConcurrency"]
    assert concurrency == event["ScalingConfig"]["MaximumConcurrency"] and 2 <= concurrency <= 1000
    assert not mapping.get("MaximumBatchingWindowInSeconds"), "FIFO sources take no batching window"


# --- table --------------------------------------------------------------------------------------

def test_the_results_table_is_keyed_by_account_and_seq_on_demand(deployed: dict[str, Any]) -> None:
    table = deployed["table"]
    assert {(k["AttributeName"], k["KeyType"]) for k in table["KeySchema"]} == {("account_id", "HASH"),
                                                                              ("seq", "RANGE")}
    types = {a["AttributeName"]: a["AttributeType"] for a in table["AttributeDefinitions"]}
    assert types == {"account_id": "S", "seq": "N"}
    assert table["BillingModeSummary"]["BillingMode"] == "PAY_PER_REQUEST"


def test_the_results_table_is_encrypted_in_the_translated_template(translated: dict[str, Any]) -> None:
    """moto's CloudFormation drops SSESpecification, so this is asserted on the translation."""
    assert translated["Resources"]["ResultsTable"]["Properties"]["SSESpecification"] == {"SSEEnabled": True}


# --- functions ----------------------------------------------------------------------------------

def test_functions_get_the_environment_of_the_template_resolved_to_the_stack(deployed: dict[str, Any]) -> None:
    physical = deployed["physical"]
    for name, config in deployed["functions"].items():
        env = config["Environment"]["Variables"]
        assert env["EVENTS_QUEUE_URL"] == physical["EventsQueue"], name
        assert env["RESULTS_TABLE"] == physical["ResultsTable"], name
        assert env["POWERTOOLS_SERVICE_NAME"] == "inorder"
        assert env["POWERTOOLS_LOG_LEVEL"] == template.parameters()["LogLevel"]
        assert config["Handler"] == _props(name)["Handler"] and config["Runtime"] == "python3.12"
    processor = deployed["functions"]["ProcessorFunction"]["Environment"]["Variables"]
    assert processor["PROCESSING_SECONDS"] == template.parameters()["ProcessingSeconds"]
    assert "PROCESSING_SECONDS" not in deployed["functions"]["IngestFunction"]["Environment"]["Variables"]


def test_the_processor_timeout_fits_a_full_batch_of_one_account(deployed: dict[str, Any]) -> None:
    """One group can fill a batch: its events run one after another within one invocation."""
    config = deployed["functions"]["ProcessorFunction"]
    batch = deployed["mappings"][0]["BatchSize"]
    assert config["Timeout"] >= batch * float(config["Environment"]["Variables"]["PROCESSING_SECONDS"])


# --- IAM: each function may touch only its own resources -----------------------------------------

# The calls each function's code makes (functions/inorder), and, for the processor, what Lambda's
# SQS poller does with the function's role.
NEEDS = {
    "IngestFunction": {"sqs:SendMessageBatch": "EventsQueue", "dynamodb:Query": "ResultsTable"},
    "ProcessorFunction": {"dynamodb:PartiQLInsert": "ResultsTable", "dynamodb:DeleteItem": "ResultsTable",
                          "sqs:DeleteMessageBatch": "EventsQueue",
                          "sqs:ReceiveMessage": "EventsQueue", "sqs:DeleteMessage": "EventsQueue",
                          "sqs:GetQueueAttributes": "EventsQueue", "sqs:ChangeMessageVisibility": "EventsQueue",
                          "sqs:ChangeMessageVisibilityBatch": "EventsQueue"},
}
FORBIDDEN = {
    "IngestFunction": ["dynamodb:PutItem", "dynamodb:DeleteItem", "sqs:ReceiveMessage", "sqs:DeleteMessage"],
    "ProcessorFunction": ["sqs:SendMessage", "dynamodb:PutItem", "dynamodb:UpdateItem", "dynamodb:Scan",
                          "dynamodb:PartiQLUpdate", "dynamodb:PartiQLDelete"],
}


def _document(raw: Any) -> dict[str, Any]:
    """A policy document as IAM returns it; moto's CloudFormation stores a Python repr, hence literal_eval."""
    if isinstance(raw, dict):
        return raw
    try:
        return json.loads(raw)
    except ValueError:
        return ast.literal_eval(raw)


def _statements(documents: list[Any]) -> list[dict[str, Any]]:
    out = []
    for document in map(_document, documents):
        statements = document["Statement"]
        for statement in statements if isinstance(statements, list) else [statements]:
            as_list = lambda v: v if isinstance(v, list) else [v]  # noqa: E731
            out.append({**statement, "Action": as_list(statement["Action"]), "Resource": as_list(statement["Resource"])})
    return out


def _allowed(statements: list[dict[str, Any]], action: str, arn: str) -> bool:
    return any(s["Effect"] == "Allow" and any(fnmatch.fnmatchcase(action, a) for a in s["Action"])
               and any(fnmatch.fnmatchcase(arn, r) for r in s["Resource"]) for s in statements)


def _arns(deployed: dict[str, Any]) -> dict[str, list[str]]:
    table = deployed["table"]["TableArn"]
    return {"EventsQueue": [deployed["queues"]["EventsQueue"]["QueueArn"]],
            "ResultsTable": [table, f"{table}/index/*"]}


@pytest.mark.parametrize("function", sorted(NEEDS))
def test_each_function_may_do_what_its_code_does(deployed: dict[str, Any], function: str) -> None:
    statements = _statements(deployed["roles"][function]["inline"])
    arns = _arns(deployed)
    for action, resource in NEEDS[function].items():
        assert _allowed(statements, action, arns[resource][0]), f"{function} cannot {action} on {resource}"


@pytest.mark.parametrize("function", sorted(NEEDS))
def test_inline_policies_name_only_the_resources_the_function_uses(deployed: dict[str, Any], function: str) -> None:
    statements = _statements(deployed["roles"][function]["inline"])
    own = {arn for resource in set(NEEDS[function].values()) for arn in _arns(deployed)[resource]}
    for statement in statements:
        assert set(statement["Resource"]) <= own, f"{function} reaches beyond its resources: {statement}"
    every_arn = [arn for arns in _arns(deployed).values() for arn in arns] + [
        deployed["queues"]["EventsDeadLetterQueue"]["QueueArn"]]
    for action in FORBIDDEN[function]:
        assert not any(_allowed(statements, action, arn) for arn in every_arn), f"{function} may {action}"


def test_managed_policies_in_the_translated_template(translated: dict[str, Any]) -> None:
    """moto ignores ManagedPolicyArns, so these are asserted on the translation."""
    resources = translated["Resources"]
    assert resources["IngestFunctionRole"]["Properties"]["ManagedPolicyArns"] == [BASIC_EXECUTION]
    assert [_arn_text(arn) for arn in resources["ProcessorFunctionRole"]["Properties"]["ManagedPolicyArns"]] == [
        BASIC_EXECUTION]


def _arn_text(arn: Any) -> str:
    """The template writes the processor role's ARN with ${AWS::Partition}; the translation keeps the Sub."""
    return arn["Fn::Sub"].replace("${AWS::Partition}", "aws") if isinstance(arn, dict) else arn


def test_the_processor_has_no_account_wide_queue_permissions(translated: dict[str, Any]) -> None:
    # SAM attaches the AWS-managed AWSLambdaSQSQueueExecutionRole (Resource '*') to a role it generates for a
    # function with an SQS event; the template writes the processor's role out to avoid that.
    managed = translated["Resources"]["ProcessorFunctionRole"]["Properties"]["ManagedPolicyArns"]
    assert SQS_EXECUTION not in [_arn_text(arn) for arn in managed]


# --- what moto cannot create: the REST API, on the translated template ---------------------------

def _of_type(translated: dict[str, Any], kind: str) -> dict[str, Any]:
    (found,) = [res["Properties"] for res in translated["Resources"].values() if res["Type"] == kind]
    return found


def test_the_api_requires_a_key_on_every_route_of_the_template(translated: dict[str, Any]) -> None:
    """moto fails on a REST API with an inline OpenAPI body: asserted on the translated template."""
    paths = _of_type(translated, "AWS::ApiGateway::RestApi")["Body"]["paths"]
    routes = {(method.upper(), path) for path, methods in paths.items() for method in methods}
    assert routes == {(method, path) for method, path, _ in template.api_routes()}
    for path, methods in paths.items():
        for method, operation in methods.items():
            assert {"api_key": []} in operation["security"], f"{method} {path} is open"
            assert operation["x-amazon-apigateway-integration"]["type"] == "aws_proxy"


def test_the_api_key_usage_plan_and_stage_throttle(translated: dict[str, Any]) -> None:
    """Asserted on the translated template (moto cannot create the REST API)."""
    api = _props("EventsApi")
    plan = _of_type(translated, "AWS::ApiGateway::UsagePlan")
    assert plan["Throttle"] == api["Auth"]["UsagePlan"]["Throttle"]
    assert _of_type(translated, "AWS::ApiGateway::ApiKey")["Enabled"] is True
    key = _of_type(translated, "AWS::ApiGateway::UsagePlanKey")
    assert key["KeyType"] == "API_KEY"
    stage = _of_type(translated, "AWS::ApiGateway::Stage")
    assert stage["StageName"] == {"Ref": "StageName"}
    assert stage["MethodSettings"] == api["MethodSettings"]
