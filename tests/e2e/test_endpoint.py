"""Against a real endpoint (LocalStack): skipped, saying why, unless INORDER_E2E_ENDPOINT is set.

    make localstack-up                        # Docker
    INORDER_E2E_ENDPOINT=http://localhost:4566 make test
    # and after `make deploy-localstack` (stack inorder-ls), the deployed stack too:
    INORDER_E2E_ENDPOINT=http://localhost:4566 INORDER_E2E_STACK=inorder-ls make test

What runs: the template's queues and table created on the endpoint with every setting it promises;
``python -m local invoke`` on the endpoint's resources; a small ``python -m local demo`` with this
project's event source mapping emulator on the endpoint's SQS and DynamoDB; and, with
INORDER_E2E_STACK, the stack ``make deploy-localstack`` made: its queue, mapping and API key.
"""
from __future__ import annotations

import json
import os
import subprocess
import sys
import urllib.error
import urllib.request
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import boto3
import pytest

from infra import resources, template

ROOT = Path(__file__).resolve().parents[2]
ENDPOINT = os.environ.get("INORDER_E2E_ENDPOINT")
STACK = os.environ.get("INORDER_E2E_STACK")
REGION = os.environ.get("INORDER_E2E_REGION", "us-east-1")

pytestmark = [
    pytest.mark.e2e,
    pytest.mark.skipif(not ENDPOINT, reason="no endpoint: set INORDER_E2E_ENDPOINT (e.g. http://localhost:4566 "
                                            "after 'make localstack-up') to run the e2e tests"),
]


def client(service: str) -> Any:
    return boto3.client(service, endpoint_url=ENDPOINT, region_name=REGION)


def cli(*args: str, cwd: Path, timeout: float = 300) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "AWS_ENDPOINT_URL": str(ENDPOINT), "AWS_DEFAULT_REGION": REGION, "PYTHONPATH": str(ROOT)}
    return subprocess.run([sys.executable, "-m", "local", *args], cwd=cwd, env=env, text=True,
                          capture_output=True, timeout=timeout, stdin=subprocess.DEVNULL)


@pytest.fixture
def stack_name() -> Iterator[str]:
    """A fresh name per test, and its queues and table removed afterwards."""
    name = f"e2e-{uuid.uuid4().hex[:8]}"
    yield name
    sqs, dynamodb = client("sqs"), client("dynamodb")
    for url in sqs.list_queues(QueueNamePrefix=name).get("QueueUrls", []):
        sqs.delete_queue(QueueUrl=url)
    for table in dynamodb.list_tables()["TableNames"]:
        if table.startswith(name):
            dynamodb.delete_table(TableName=table)


def test_the_template_resources_are_created_as_promised(stack_name: str) -> None:
    deployment = resources.deploy(boto3.Session(region_name=REGION), stack_name, ENDPOINT)
    sqs = client("sqs")
    queue = sqs.get_queue_attributes(QueueUrl=deployment.ref("EventsQueue"), AttributeNames=["All"])["Attributes"]
    props = template.resource("EventsQueue")["Properties"]
    assert queue["FifoQueue"] == "true" and queue["ContentBasedDeduplication"] == "false"
    assert queue["DeduplicationScope"] == "messageGroup" and queue["FifoThroughputLimit"] == "perMessageGroupId"
    assert int(queue["VisibilityTimeout"]) == props["VisibilityTimeout"]
    redrive = json.loads(queue["RedrivePolicy"])
    assert redrive["deadLetterTargetArn"] == deployment.arn("EventsDeadLetterQueue")
    assert int(redrive["maxReceiveCount"]) == props["RedrivePolicy"]["maxReceiveCount"]
    table = client("dynamodb").describe_table(TableName=deployment.ref("ResultsTable"))["Table"]
    assert {(k["AttributeName"], k["KeyType"]) for k in table["KeySchema"]} == {("account_id", "HASH"),
                                                                              ("seq", "RANGE")}


def test_local_invoke_uses_the_endpoint(stack_name: str, tmp_path: Path) -> None:
    done = cli("invoke", "IngestFunction", "-e", str(ROOT / "events" / "post_events.json"),
               "--stack-name", stack_name, cwd=tmp_path, timeout=120)
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["statusCode"] == 202
    sqs = client("sqs")
    url = sqs.get_queue_url(QueueName=f"{stack_name}-events.fifo")["QueueUrl"]
    got = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10, MessageSystemAttributeNames=["MessageGroupId"])
    assert {m["Attributes"]["MessageGroupId"] for m in got.get("Messages", [])} >= {"acct-000001"}


def test_the_local_event_source_mapping_runs_on_the_endpoint(tmp_path: Path) -> None:
    """This project's poller and generator on the endpoint's SQS and DynamoDB (not LocalStack's poller)."""
    report = tmp_path / "report.json"
    done = cli("demo", "--accounts", "10", "--events", "60", "--processing-seconds", "0.01", "--seed", "7",
               "--report-json", str(report), cwd=tmp_path)
    assert done.returncode == 0, done.stdout + done.stderr
    result = json.loads(report.read_text())
    assert result["accepted"] == 60 and result["lost"] == 0 and result["order_violations"] == 0


@pytest.mark.skipif(not STACK, reason="no deployed stack: set INORDER_E2E_STACK after 'make deploy-localstack'")
def test_the_deployed_stack_is_what_the_template_promises() -> None:
    cfn = client("cloudformation")
    stack = cfn.describe_stacks(StackName=STACK)["Stacks"][0]
    assert stack["StackStatus"] in ("CREATE_COMPLETE", "UPDATE_COMPLETE")
    outputs = {o["OutputKey"]: o["OutputValue"] for o in stack["Outputs"]}
    queue = client("sqs").get_queue_attributes(QueueUrl=outputs["EventsQueueUrl"],
                                               AttributeNames=["All"])["Attributes"]
    assert queue["FifoQueue"] == "true" and queue["DeduplicationScope"] == "messageGroup"
    processor = cfn.describe_stack_resource(StackName=STACK, LogicalResourceId="ProcessorFunction")
    function = processor["StackResourceDetail"]["PhysicalResourceId"]
    (mapping,) = client("lambda").list_event_source_mappings(FunctionName=function)["EventSourceMappings"]
    assert mapping["EventSourceArn"] == queue["QueueArn"] and mapping["BatchSize"] == 10
    assert mapping["FunctionResponseTypes"] == ["ReportBatchItemFailures"]


@pytest.mark.skipif(not STACK, reason="no deployed stack: set INORDER_E2E_STACK after 'make deploy-localstack'")
def test_the_deployed_api_wants_its_key() -> None:
    from infra.deploy_localstack import localstack_api_url

    cfn = client("cloudformation")
    outputs = {o["OutputKey"]: o["OutputValue"] for o in cfn.describe_stacks(StackName=STACK)["Stacks"][0]["Outputs"]}
    api_id = cfn.describe_stack_resource(StackName=STACK, LogicalResourceId="EventsApi")[
        "StackResourceDetail"]["PhysicalResourceId"]
    key = client("apigateway").get_api_key(apiKey=outputs["ApiKeyId"], includeValue=True)["value"]
    url = localstack_api_url(str(ENDPOINT), api_id, template.parameters()["StageName"]) + "/events"
    body = json.dumps({"events": [{"account_id": f"e2e-{uuid.uuid4().hex[:6]}", "seq": 1, "type": "t"}]}).encode()

    def post(headers: dict[str, str]) -> int:
        request = urllib.request.Request(url, body, {"Content-Type": "application/json", **headers}, method="POST")
        try:
            with urllib.request.urlopen(request, timeout=60) as answer:
                return answer.status
        except urllib.error.HTTPError as error:
            return error.code

    assert post({}) == 403
    assert post({"x-api-key": key}) == 202
