"""The processor function through its real entry point: results, logs, failures, redelivery."""
from __future__ import annotations

import json
from typing import Any

import boto3
import pytest

from tests.helpers import lambda_context, queue_depth, sample_event


def invoke(event: dict[str, Any], timeout_s: float = 30.0) -> dict[str, Any]:
    from processor.app import handler

    return handler(event, lambda_context("ProcessorFunction", timeout_s))


def stored(stack: Any) -> dict[tuple[str, int], dict[str, Any]]:
    from inorder.result_store import from_item

    items = boto3.client("dynamodb").scan(TableName=stack.ref("ResultsTable"))["Items"]
    return {(i["account_id"], i["seq"]): i for i in map(from_item, items)}


def result_lines(text: str) -> list[dict[str, Any]]:
    return [line for line in map(json.loads, text.splitlines()) if "seq" in line]


def test_a_batch_is_stored_and_logged_once_per_event(stack: Any, function_logs: Any) -> None:
    event = sample_event("sqs_fifo_batch.json")
    assert invoke(event) == {"batchItemFailures": []}
    results = stored(stack)
    assert sorted(results) == [("acct-000001", 1), ("acct-000001", 2), ("acct-000001", 3),
                               ("acct-000002", 1), ("acct-000002", 2), ("acct-000003", 1)]
    first = results[("acct-000001", 1)]
    assert first["message_id"] == event["Records"][0]["messageId"] and first["receive_count"] == 1
    assert first["received_at"] == 1523231999.5 and first["started_at"] <= first["finished_at"]
    lines = result_lines(function_logs.getvalue())
    assert sorted((line["account_id"], line["seq"]) for line in lines) == sorted(results)
    assert {line["message"] for line in lines} == {"event processed"}


def test_a_failing_record_fails_the_rest_of_its_group_only(stack: Any) -> None:
    event = sample_event("sqs_fifo_batch_failing.json")
    ids = [r["messageId"] for r in event["Records"]]
    assert invoke(event) == {"batchItemFailures": [{"itemIdentifier": ids[1]}, {"itemIdentifier": ids[3]}]}
    assert sorted(stored(stack)) == [("acct-000010", 1), ("acct-000011", 1), ("acct-000011", 2)]


def test_a_redelivered_batch_is_not_recorded_twice(stack: Any, function_logs: Any) -> None:
    event = sample_event("sqs_fifo_batch.json")
    invoke(event)
    before = stored(stack)
    function_logs.truncate(0)
    function_logs.seek(0)
    assert invoke(event) == {"batchItemFailures": []}
    assert stored(stack) == before
    assert {line["message"] for line in result_lines(function_logs.getvalue())} == {
        "event already processed; redelivery ignored"}


def test_a_refused_write_fails_the_record_and_nothing_is_marked_done(stack: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    from processor.app import _services

    client = _services().store._dynamodb  # build the clients, then make the table refuse one account's writes
    original = client.batch_execute_statement

    def throttled(Statements: list[dict[str, Any]]) -> dict[str, Any]:
        answer = original(Statements=[s for s in Statements if s["Parameters"][0] != {"S": "acct-000002"}])
        responses = iter(answer["Responses"])
        refused = {"Error": {"Code": "ThrottlingError", "Message": "slow down"}}
        return {"Responses": [refused if s["Parameters"][0] == {"S": "acct-000002"} else next(responses)
                              for s in Statements]}

    monkeypatch.setattr(client, "batch_execute_statement", throttled)
    event = sample_event("sqs_fifo_batch.json")
    failed = [f["itemIdentifier"] for f in invoke(event)["batchItemFailures"]]
    assert failed == [r["messageId"] for r in event["Records"] if r["attributes"]["MessageGroupId"] == "acct-000002"]
    assert {account for account, _ in stored(stack)} == {"acct-000001", "acct-000003"}


def test_a_result_refused_mid_run_takes_the_run_s_later_results_out_again(stack: Any, function_logs: Any,
                                                                          monkeypatch: pytest.MonkeyPatch) -> None:
    from processor.app import _services

    client = _services().store._dynamodb
    original = client.batch_execute_statement
    second = [{"S": "acct-000001"}, {"N": "2"}]

    def refuse_second(Statements: list[dict[str, Any]]) -> dict[str, Any]:
        answer = original(Statements=[s for s in Statements if s["Parameters"][:2] != second])
        responses = iter(answer["Responses"])
        refused = {"Error": {"Code": "ThrottlingError", "Message": "slow down"}}
        return {"Responses": [refused if s["Parameters"][:2] == second else next(responses) for s in Statements]}

    monkeypatch.setattr(client, "batch_execute_statement", refuse_second)
    event = sample_event("sqs_fifo_batch.json")
    failed = [f["itemIdentifier"] for f in invoke(event)["batchItemFailures"]]
    ids = {(r["attributes"]["MessageGroupId"], json.loads(r["body"])["seq"]): r["messageId"] for r in event["Records"]}
    assert failed == [ids["acct-000001", 2], ids["acct-000001", 3]]
    # seq 3 was stored in the same call as the refused seq 2, and taken out again: the account's
    # stored results stay a prefix, so the retry stores 2 and 3 in order.
    assert sorted(key for key in stored(stack) if key[0] == "acct-000001") == [("acct-000001", 1)]
    logged = {(line["account_id"], line["seq"]) for line in result_lines(function_logs.getvalue())
              if line["message"] == "event processed"}
    assert ("acct-000001", 1) in logged and ("acct-000001", 3) not in logged


def test_records_that_cannot_finish_before_the_timeout_come_back(stack: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    event = sample_event("sqs_fifo_batch.json")
    response = invoke(event, timeout_s=0.5)  # less than the safety margin: nothing may start
    assert len(response["batchItemFailures"]) == len(event["Records"])
    assert stored(stack) == {}


def test_a_group_done_first_is_deleted_from_the_queue_by_the_function(stack: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PROCESSING_SECONDS", "0.1")  # b's three events outlast a's one by far more than the window
    sqs = boto3.client("sqs")
    queue = stack.ref("EventsQueue")
    for account, events in (("a", 1), ("b", 3)):
        for seq in range(1, events + 1):
            body = json.dumps({"account_id": account, "seq": seq, "type": "t", "received_at": 1.0, "request_id": "r"})
            sqs.send_message(QueueUrl=queue, MessageBody=body, MessageGroupId=account,
                             MessageDeduplicationId=f"{account}:{seq}")
    messages = sqs.receive_message(QueueUrl=queue, MaxNumberOfMessages=10,
                                   MessageSystemAttributeNames=["All"])["Messages"]
    records = [{"messageId": m["MessageId"], "receiptHandle": m["ReceiptHandle"], "body": m["Body"],
                "attributes": m["Attributes"], "messageAttributes": {}, "eventSource": "aws:sqs"} for m in messages]
    assert len(records) == 4
    assert invoke({"Records": records}) == {"batchItemFailures": []}
    # The group that finished first was deleted by the function itself; the last one is left
    # for the event source mapping's delete when the invocation returns.
    assert queue_depth(sqs, queue) == 3
