"""``local.fast_path`` must answer exactly as moto's own app does.

Each scenario runs the same boto3 calls against two backend servers, one with the fast path and
one started with ``--no-fast-path``, and compares what boto3 parsed plus the raw HTTP status and
body, ignoring only what must differ (message ids, receipt handles, timestamps, request ids).
An in-process check confirms which requests the fast path serves and which it hands on.
"""

from __future__ import annotations

import io
import json
from collections.abc import Callable, Iterator
from typing import Any

import boto3
import pytest
from botocore.config import Config
from botocore.exceptions import ClientError

from local.backend import start_backend

VOLATILE = {"MessageId", "ReceiptHandle", "SentTimestamp", "ApproximateFirstReceiveTimestamp",
            "RequestId", "date", "x-amzn-requestid", "content-length", "Date",
            "X-Amzn-Requestid", "Content-Length", "CreatedTimestamp", "LastModifiedTimestamp"}
TABLE, FIFO, STD, SMALL = "results", "events.fifo", "plain", "small.fifo"


def _norm(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: "*" if k in VOLATILE else _norm(v) for k, v in value.items()
                if k != "RetryAttempts"}
    if isinstance(value, list):
        return [_norm(v) for v in value]
    return value


class Side:
    """One server plus clients that record every raw response."""

    def __init__(self, url: str) -> None:
        cfg = Config(retries={"max_attempts": 1})
        session = boto3.Session(region_name="us-east-1", aws_access_key_id="testing",
                                aws_secret_access_key="testing")
        self.sqs = session.client("sqs", endpoint_url=url, config=cfg)
        self.ddb = session.client("dynamodb", endpoint_url=url, config=cfg)
        self.raw: list[Any] = []
        for client in (self.sqs, self.ddb):
            client.meta.events.register("after-call", self._record)
        q = self.sqs.create_queue
        self.fifo = q(QueueName=FIFO, Attributes={"FifoQueue": "true"})["QueueUrl"]
        self.std = q(QueueName=STD)["QueueUrl"]
        self.small = q(QueueName=SMALL, Attributes={"FifoQueue": "true",
                                                    "MaximumMessageSize": "1024"})["QueueUrl"]
        self.ddb.create_table(
            TableName=TABLE, BillingMode="PAY_PER_REQUEST",
            KeySchema=[{"AttributeName": "account_id", "KeyType": "HASH"},
                       {"AttributeName": "seq", "KeyType": "RANGE"}],
            AttributeDefinitions=[{"AttributeName": "account_id", "AttributeType": "S"},
                                  {"AttributeName": "seq", "AttributeType": "N"}])

    def _record(self, http_response: Any, **_: Any) -> None:
        try:
            body = _norm(json.loads(http_response.content or b"null"))
        except ValueError:  # (moto answers a few errors with plain text)
            body = http_response.content
        self.raw.append((http_response.status_code, body,
                         http_response.headers.get("Content-Type"),
                         http_response.headers.get("X-Amzn-ErrorType"),
                         http_response.headers.get("x-amzn-query-error"),
                         http_response.headers.get("x-amz-crc32")))

    def run(self, scenario: Callable[[Side], list[Any]]) -> tuple[list[Any], list[Any]]:
        self.raw = []
        return _norm(scenario(self)), self.raw


def call(fn: Callable[..., Any], **kwargs: Any) -> Any:
    """The parsed response, or the parsed error (code, message, HTTP status)."""
    try:
        return fn(**kwargs)
    except ClientError as error:
        return {"error": error.response["Error"],
                "status": error.response["ResponseMetadata"]["HTTPStatusCode"]}


@pytest.fixture(scope="module")
def sides() -> Iterator[tuple[Side, Side]]:
    with start_backend() as fast, start_backend(extra_args=["--no-fast-path"]) as slow:
        yield Side(fast.endpoint_url), Side(slow.endpoint_url)


def send_scenario(s: Side) -> list[Any]:
    entry = {"MessageBody": "b", "MessageGroupId": "g1"}
    return [
        call(s.sqs.send_message, QueueUrl=s.fifo, MessageBody="hello", MessageGroupId="g1",
             MessageDeduplicationId="d0"),
        call(s.sqs.send_message, QueueUrl=s.fifo, MessageBody="dup", MessageGroupId="g1",
             MessageDeduplicationId="d0"),
        call(s.sqs.send_message, QueueUrl=s.fifo, MessageBody="no dedup id", MessageGroupId="g"),
        call(s.sqs.send_message, QueueUrl=s.fifo + "-gone", MessageBody="x", MessageGroupId="g"),
        call(s.sqs.send_message, QueueUrl=s.std, MessageBody="std", DelaySeconds=0),
        call(s.sqs.send_message_batch, QueueUrl=s.fifo, Entries=[
            {**entry, "Id": f"e{i}", "MessageGroupId": f"g{i % 3}",
             "MessageDeduplicationId": f"b{i}"} for i in range(10)]),
        call(s.sqs.send_message_batch, QueueUrl=s.fifo, Entries=[
            {**entry, "Id": "same", "MessageDeduplicationId": "x1"},
            {**entry, "Id": "same", "MessageDeduplicationId": "x2"}]),
        call(s.sqs.send_message_batch, QueueUrl=s.small, Entries=[
            {**entry, "Id": "ok", "MessageDeduplicationId": "s1"},
            {**entry, "Id": "long", "MessageBody": "x" * 2000, "MessageDeduplicationId": "s2"}]),
        call(s.sqs.send_message_batch, QueueUrl=s.fifo, Entries=[
            {**entry, "Id": "bad id!", "MessageDeduplicationId": "x3"}]),
        call(s.sqs.send_message_batch, QueueUrl=s.std, Entries=[
            {"Id": "d", "MessageBody": "late", "DelaySeconds": 901},
            {"Id": "n", "MessageBody": "now"}]),
        call(s.sqs.get_queue_attributes, QueueUrl=s.fifo, AttributeNames=["All"]),
        call(s.sqs.get_queue_attributes, QueueUrl=s.fifo,
             AttributeNames=["ApproximateNumberOfMessages", "FifoQueue"]),
        call(s.sqs.get_queue_attributes, QueueUrl=s.fifo + "-gone",
             AttributeNames=["ApproximateNumberOfMessages"]),
        call(s.sqs.get_queue_attributes, QueueUrl=s.fifo, AttributeNames=["Nope"]),
        call(s.sqs.get_queue_attributes, QueueUrl=s.fifo),
        call(s.sqs.purge_queue, QueueUrl=s.std),  # (not fast-pathed: falls through)
    ]


def receive_delete_scenario(s: Side) -> list[Any]:
    out = [call(s.sqs.receive_message, QueueUrl=s.fifo, MaxNumberOfMessages=11),
           call(s.sqs.receive_message, QueueUrl=s.fifo, WaitTimeSeconds=21),
           call(s.sqs.receive_message, QueueUrl=s.fifo + "-gone")]
    first = call(s.sqs.receive_message, QueueUrl=s.fifo, MaxNumberOfMessages=10,
                 MessageSystemAttributeNames=["All"], MessageAttributeNames=["All"])
    second = call(s.sqs.receive_message, QueueUrl=s.fifo, MaxNumberOfMessages=3,
                  AttributeNames=["MessageGroupId", "SequenceNumber"], VisibilityTimeout=0)
    handles = [m["ReceiptHandle"] for m in first["Messages"]]
    out += [
        first, second,
        call(s.sqs.change_message_visibility_batch, QueueUrl=s.fifo, Entries=[
            {"Id": "v0", "ReceiptHandle": handles[0], "VisibilityTimeout": 60},
            {"Id": "bogus", "ReceiptHandle": "nope", "VisibilityTimeout": 60},
            {"Id": "big", "ReceiptHandle": handles[1], "VisibilityTimeout": 50000}]),
        call(s.sqs.delete_message_batch, QueueUrl=s.fifo, Entries=[
            {"Id": "a", "ReceiptHandle": handles[0]}, {"Id": "b", "ReceiptHandle": "nope"}]),
        call(s.sqs.delete_message_batch, QueueUrl=s.fifo, Entries=[
            {"Id": "a", "ReceiptHandle": handles[1]}, {"Id": "b", "ReceiptHandle": handles[1]}]),
        call(s.sqs.delete_message, QueueUrl=s.fifo, ReceiptHandle=handles[1]),
        call(s.sqs.delete_message, QueueUrl=s.fifo, ReceiptHandle="nope"),
        call(s.sqs.delete_message, QueueUrl=s.fifo + "-gone", ReceiptHandle="nope"),
        call(s.sqs.get_queue_attributes, QueueUrl=s.fifo, AttributeNames=["All"]),
    ]
    # message attributes (sent through the slow path) come back identically
    call(s.sqs.send_message, QueueUrl=s.std, MessageBody="attrs", MessageAttributes={
        "s": {"DataType": "String", "StringValue": "v"},
        "n": {"DataType": "Number", "StringValue": "7"},
        "b": {"DataType": "Binary", "BinaryValue": b"\x00\x01bin"}})
    out.append(call(s.sqs.receive_message, QueueUrl=s.std, MaxNumberOfMessages=10,
                    MessageAttributeNames=["All"], MessageSystemAttributeNames=["SenderId"]))
    return out


def put_item_scenario(s: Side) -> list[Any]:
    item = {"account_id": {"S": "a1"}, "seq": {"N": "1"}, "type": {"S": "x"},
            "result": {"S": "handled"}, "nested": {"M": {"l": {"L": [{"N": "1.5"}, {"NULL": True}]}}},
            "flag": {"BOOL": False}, "tags": {"SS": ["a", "b"]}}
    put = s.ddb.put_item
    return [
        call(put, TableName=TABLE, Item=item, ConditionExpression="attribute_not_exists(seq)"),
        call(put, TableName=TABLE, Item=item, ConditionExpression="attribute_not_exists(seq)"),
        call(put, TableName=TABLE, Item=item, ConditionExpression="attribute_not_exists(#s)",
             ExpressionAttributeNames={"#s": "seq"}),
        call(put, TableName=TABLE, Item=item, ConditionExpression="attribute_not_exists(seq)",
             ExpressionAttributeNames={"#unused": "seq"}),
        call(put, TableName=TABLE, Item=item, ConditionExpression="attribute_not_exists(("),
        call(put, TableName=TABLE, Item={**item, "seq": {"N": "2"}}),
        call(put, TableName=TABLE, Item={**item, "seq": {"N": "2"}}),
        call(put, TableName=TABLE, Item={**item, "seq": {"N": "3"}}, ReturnValues="ALL_OLD"),
        call(put, TableName=TABLE, Item={**item, "seq": {"N": "3"}}, ReturnValues="ALL_OLD"),
        call(put, TableName=TABLE, Item={**item, "seq": {"N": "4"}},
             ReturnConsumedCapacity="TOTAL"),
        call(put, TableName=TABLE, Item={**item, "seq": {"N": "5"}, "blob": {"B": b"\x00"}}),
        call(put, TableName=TABLE, Item={"account_id": {"S": "a1"}}),
        call(put, TableName=TABLE, Item={"account_id": {"S": ""}, "seq": {"N": "1"}}),
        call(put, TableName=TABLE, Item={"account_id": {"N": "1"}, "seq": {"N": "1"}}),
        call(put, TableName="missing", Item=item),
        call(s.ddb.get_item, TableName=TABLE, Key={"account_id": {"S": "a1"}, "seq": {"N": "1"}}),
        call(s.ddb.query, TableName=TABLE, KeyConditionExpression="account_id = :a",
             ExpressionAttributeValues={":a": {"S": "a1"}}),
    ]


def batch_insert_scenario(s: Side) -> list[Any]:
    insert = f"INSERT INTO \"{TABLE}\" VALUE {{'account_id': ?, 'seq': ?, 'type': ?}}"

    def statement(account: dict[str, str], seq: dict[str, str], kind: str = "x") -> dict[str, Any]:
        return {"Statement": insert, "Parameters": [account, seq, {"S": kind}]}

    run = s.ddb.batch_execute_statement
    return [
        call(run, Statements=[statement({"S": "b1"}, {"N": "1"}), statement({"S": "b2"}, {"N": "1"})]),
        call(run, Statements=[statement({"S": "b1"}, {"N": "1"}, "again"), statement({"S": "b1"}, {"N": "2"})]),
        call(run, Statements=[statement({"S": ""}, {"N": "3"}), statement({"N": "1"}, {"N": "3"}),
                              statement({"S": "b3"}, {"S": "not a number"})]),
        call(run, Statements=[{"Statement": insert.replace(TABLE, "missing"),
                               "Parameters": [{"S": "b1"}, {"N": "9"}, {"S": "x"}]}]),
        call(run, Statements=[{"Statement": f"SELECT * FROM \"{TABLE}\" WHERE account_id = ? AND seq = ?",
                               "Parameters": [{"S": "b1"}, {"N": "1"}]}]),
        call(s.ddb.query, TableName=TABLE, KeyConditionExpression="account_id = :a",
             ExpressionAttributeValues={":a": {"S": "b1"}}),
    ]


@pytest.mark.parametrize("scenario", [send_scenario, receive_delete_scenario, put_item_scenario,
                                      batch_insert_scenario])
def test_fast_path_answers_like_moto(sides: tuple[Side, Side],
                                     scenario: Callable[[Side], list[Any]]) -> None:
    fast, slow = sides
    fast_parsed, fast_raw = fast.run(scenario)
    slow_parsed, slow_raw = slow.run(scenario)
    assert fast_parsed == slow_parsed
    assert fast_raw == slow_raw


def test_only_supported_requests_are_served_in_process() -> None:
    """Recognised shapes never reach moto's app; anything else reaches it with its body intact."""
    from moto.sqs.models import sqs_backends

    from local import moto_patch
    from local.fast_path import FastPath

    moto_patch.apply()
    account = "210987654321"
    sqs_backends[account]["us-east-1"].create_queue("fp.fifo", FifoQueue="true")
    passed: list[bytes] = []

    def app(environ: dict[str, Any], start_response: Callable[..., Any]) -> list[bytes]:
        passed.append(environ["wsgi.input"].read())
        start_response("200 OK", [])
        return [b"{}"]

    def request(target: str, body: dict[str, Any], service: str = "sqs",
                content_type: str = "application/x-amz-json-1.0") -> tuple[str, bytes]:
        data = json.dumps(body).encode()
        environ = {"REQUEST_METHOD": "POST", "HTTP_X_AMZ_TARGET": target,
                   "CONTENT_TYPE": content_type, "CONTENT_LENGTH": str(len(data)),
                   "HTTP_X_MOTO_ACCOUNT_ID": account, "wsgi.input": io.BytesIO(data),
                   "HTTP_AUTHORIZATION": "AWS4-HMAC-SHA256 Credential=testing/20260101/"
                                         f"us-east-1/{service}/aws4_request, Signature=x"}
        status: list[str] = []
        out = b"".join(FastPath(app)(environ, lambda s, h: status.append(s)))
        return status[0], out

    url = "http://127.0.0.1:1/210987654321/fp.fifo"
    status, out = request("AmazonSQS.SendMessage", {"QueueUrl": url, "MessageBody": "m",
                                                    "MessageGroupId": "g",
                                                    "MessageDeduplicationId": "d"})
    assert status == "200 OK" and json.loads(out)["SequenceNumber"] and not passed
    status, out = request("AmazonSQS.GetQueueAttributes",
                          {"QueueUrl": url, "AttributeNames": ["ApproximateNumberOfMessages"]})
    assert json.loads(out) == {"Attributes": {"ApproximateNumberOfMessages": "1"}}
    insert = "INSERT INTO \"fp\" VALUE {'k': ?}"
    status, out = request("DynamoDB_20120810.BatchExecuteStatement",
                          {"Statements": [{"Statement": insert, "Parameters": [{"S": "v"}]}]}, "dynamodb")
    assert json.loads(out) == {"Responses": [{"Error": {"Code": "ResourceNotFound",
                                                        "Message": "Requested resource not found"}}]}
    assert not passed
    handed_on = [
        ("AmazonSQS.ListQueues", {}, "sqs", "application/x-amz-json-1.0"),
        ("AmazonSQS.SendMessage", {"QueueUrl": url, "MessageBody": "m", "MessageAttributes": {
            "a": {"DataType": "String", "StringValue": "v"}}}, "sqs", "application/x-amz-json-1.0"),
        ("AmazonSQS.SendMessage", {"QueueUrl": url}, "sqs", "application/x-www-form-urlencoded"),
        ("AmazonSQS.SendMessage", {"QueueUrl": url}, "dynamodb", "application/x-amz-json-1.0"),
        ("DynamoDB_20120810.GetItem", {"TableName": "t"}, "dynamodb", "application/x-amz-json-1.0"),
        ("DynamoDB_20120810.PutItem", {"TableName": "t", "Item": {}, "ReturnValues": "ALL_OLD"},
         "dynamodb", "application/x-amz-json-1.0"),
        ("DynamoDB_20120810.BatchExecuteStatement", {"Statements": [
            {"Statement": "SELECT * FROM \"fp\" WHERE k = ?", "Parameters": [{"S": "v"}]}]},
         "dynamodb", "application/x-amz-json-1.0"),
        ("DynamoDB_20120810.BatchExecuteStatement", {"Statements": [
            {"Statement": insert, "Parameters": [{"S": "v"}]}], "ReturnConsumedCapacity": "TOTAL"},
         "dynamodb", "application/x-amz-json-1.0"),
        ("DynamoDB_20120810.BatchExecuteStatement", {"Statements": [{"Statement": insert, "Parameters": []}]},
         "dynamodb", "application/x-amz-json-1.0"),
    ]
    for target, body, service, content_type in handed_on:
        request(target, body, service, content_type)
    assert [json.loads(b) for b in passed] == [h[1] for h in handed_on]
