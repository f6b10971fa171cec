"""The ingest function through its real entry point, with the SAM-generated API Gateway events."""
from __future__ import annotations

import base64
import json
from typing import Any

import boto3
import pytest

from inorder.ingest import MAX_BODY_BYTES, IngestService
from inorder.queue_writer import QueueWriter
from tests.helpers import lambda_context, post_events_request, queue_depth, queue_messages, sample_event
from tests.unit.test_queue_writer import FakeSqs


def invoke(event: dict[str, Any]) -> tuple[int, Any]:
    from ingest.app import handler

    response = handler(event, lambda_context("IngestFunction"))
    return response["statusCode"], json.loads(response["body"])


def test_the_sample_request_is_accepted_and_enqueued(stack: Any) -> None:
    status, body = invoke(sample_event("post_events.json"))
    assert status == 202 and body["accepted"] == 3 and body["request_id"]
    messages = queue_messages(boto3.client("sqs"), stack.ref("EventsQueue"))
    keys = sorted((m["Attributes"]["MessageGroupId"], json.loads(m["Body"])["seq"]) for m in messages)
    assert keys == [("acct-000001", 1), ("acct-000001", 2), ("acct-000002", 1)]
    assert json.loads(messages[0]["Body"])["request_id"] == body["request_id"]


def test_the_invalid_sample_is_refused_with_every_problem(stack: Any) -> None:
    status, body = invoke(sample_event("post_events_invalid.json"))
    assert status == 400
    assert {(e["index"], e["field"]) for e in body["errors"]} == {(0, "account_id"), (0, "seq"), (1, "type")}
    assert queue_depth(boto3.client("sqs"), stack.ref("EventsQueue")) == 0


@pytest.mark.parametrize("raw, field", [("{not json", "body"), ("", "body"), ("[]", "body"), ('{"events": []}', "events")])
def test_malformed_or_empty_bodies_are_400_and_enqueue_nothing(stack: Any, raw: str, field: str) -> None:
    status, body = invoke(post_events_request(raw))
    assert status == 400 and body["errors"][0]["field"] == field
    assert queue_depth(boto3.client("sqs"), stack.ref("EventsQueue")) == 0


def test_a_wrong_content_type_is_415(stack: Any) -> None:
    status, body = invoke(post_events_request({"events": []}, headers={"Content-Type": "text/plain"}))
    assert status == 415 and "application/json" in body["message"]


def test_a_body_over_the_limit_is_413(stack: Any) -> None:
    big = json.dumps({"events": [{"account_id": "a", "seq": 1, "type": "t", "payload": {"x": "y" * MAX_BODY_BYTES}}]})
    status, _ = invoke(post_events_request(big))
    assert status == 413
    assert queue_depth(boto3.client("sqs"), stack.ref("EventsQueue")) == 0


def test_a_base64_body_is_decoded(stack: Any) -> None:
    event = post_events_request(None)
    event["body"] = base64.b64encode(json.dumps({"events": [{"account_id": "a", "seq": 1, "type": "t"}]}).encode()).decode()
    event["isBase64Encoded"] = True
    assert invoke(event)[0] == 202


def test_results_come_back_in_seq_order(stack: Any) -> None:
    from processor.app import handler as processor

    assert processor(sample_event("sqs_fifo_batch.json"), lambda_context()) == {"batchItemFailures": []}
    status, body = invoke(sample_event("get_results.json"))
    assert status == 200 and body["account_id"] == "acct-000001"
    assert [(r["seq"], r["type"]) for r in body["results"]] == [(1, "created"), (2, "paid"), (3, "shipped")]
    assert {"received_at", "started_at", "finished_at", "result"} <= set(body["results"][0])


def test_results_of_a_malformed_account_id_are_400(stack: Any) -> None:
    event = sample_event("get_results.json")
    too_long = "a" * 129
    event["path"] = f"/accounts/{too_long}/results"
    event["pathParameters"] = {"account_id": too_long}
    status, body = invoke(event)
    assert status == 400 and "account_id" in body["message"]


def test_refused_events_are_listed_in_a_503() -> None:
    fake = FakeSqs(refuse=lambda entry, attempt: "sender" if entry["MessageDeduplicationId"] == "b:1" else None)
    service = IngestService(QueueWriter(fake, "q", sleep=lambda s: None), clock=lambda: 1.0)
    body = json.dumps({"events": [{"account_id": "a", "seq": 1, "type": "t"}, {"account_id": "b", "seq": 1, "type": "t"},
                                  {"account_id": "b", "seq": 2, "type": "t"}]})
    status, answer = service.accept(body, "application/json", "req")
    assert status == 503 and answer["accepted"] == 1
    assert [(r["index"], r["account_id"], r["seq"]) for r in answer["not_accepted"]] == [(1, "b", 1), (2, "b", 2)]
