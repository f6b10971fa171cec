"""Create the template's queues and table on any endpoint (embedded moto, LocalStack, AWS).

Everything comes from ``template.yaml``: queue attributes, the redrive policy, table keys and
billing. Running it twice reuses what exists, so a restarted local cloud finds its data.
"""
from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

import boto3

from infra import template
from infra.template import Resolver

SQS_QUEUE = "AWS::SQS::Queue"
DYNAMODB_TABLE = "AWS::DynamoDB::Table"


@dataclass(frozen=True)
class Deployment:
    """Physical names of the created resources, and the resolver that maps the template onto them."""

    stack_name: str
    region: str
    resolver: Resolver

    def ref(self, logical_id: str) -> Any:
        return self.resolver.refs[logical_id]

    def arn(self, logical_id: str) -> str:
        return self.resolver.attrs[(logical_id, "Arn")]


def deploy(session: boto3.Session, stack_name: str = "inorder", endpoint_url: str | None = None,
           parameters: dict[str, str] | None = None) -> Deployment:
    sqs = session.client("sqs", endpoint_url=endpoint_url)
    dynamodb = session.client("dynamodb", endpoint_url=endpoint_url)
    account = session.client("sts", endpoint_url=endpoint_url).get_caller_identity()["Account"]
    resolver = Resolver(refs={"AWS::StackName": stack_name, "AWS::Region": session.region_name,
                              "AWS::AccountId": account, **template.parameters(parameters)})
    pending = dict(template.resources_of_type(SQS_QUEUE))
    while pending:  # a queue can name another (its DLQ) only once that one exists
        ready = {n: r for n, r in pending.items() if _resolvable(resolver, r.get("Properties", {}))}
        if not ready:
            raise ValueError(f"cannot order the queues {sorted(pending)}: a reference is missing")
        for name, res in ready.items():
            _create_queue(sqs, resolver, name, resolver(res.get("Properties", {})))
            del pending[name]
    for name, res in template.resources_of_type(DYNAMODB_TABLE).items():
        _create_table(dynamodb, resolver, name, stack_name, resolver(res["Properties"]))
    return Deployment(stack_name, session.region_name, resolver)


def _resolvable(resolver: Resolver, value: Any) -> bool:
    try:
        resolver(value)
    except KeyError:
        return False
    return True


def _create_queue(sqs: Any, resolver: Resolver, logical_id: str, props: dict[str, Any]) -> None:
    attributes = {key: _attribute(value) for key, value in props.items() if key not in ("QueueName", "Tags")}
    url = sqs.create_queue(QueueName=props["QueueName"], Attributes=attributes)["QueueUrl"]
    arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    resolver.refs[logical_id] = url
    resolver.attrs[(logical_id, "Arn")] = arn
    resolver.attrs[(logical_id, "QueueName")] = props["QueueName"]
    resolver.attrs[(logical_id, "QueueUrl")] = url


def _attribute(value: Any) -> str:
    if isinstance(value, bool):
        return str(value).lower()
    if isinstance(value, dict):
        return json.dumps(value)
    return str(value)


def _create_table(dynamodb: Any, resolver: Resolver, logical_id: str, stack_name: str,
                  props: dict[str, Any]) -> None:
    name = props.get("TableName") or f"{stack_name}-{logical_id}"
    try:
        description = dynamodb.describe_table(TableName=name)["Table"]
    except dynamodb.exceptions.ResourceNotFoundException:
        kwargs = {key: props[key] for key in ("AttributeDefinitions", "KeySchema", "BillingMode") if key in props}
        if "SSESpecification" in props:
            kwargs["SSESpecification"] = {"Enabled": bool(props["SSESpecification"].get("SSEEnabled"))}
        description = dynamodb.create_table(TableName=name, **kwargs)["TableDescription"]
        dynamodb.get_waiter("table_exists").wait(TableName=name, WaiterConfig={"Delay": 1, "MaxAttempts": 60})
    resolver.refs[logical_id] = name
    resolver.attrs[(logical_id, "Arn")] = description["TableArn"]
