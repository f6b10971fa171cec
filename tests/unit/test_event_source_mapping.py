"""The event source mapping emulator does what Lambda's does with an SQS FIFO queue."""
from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable, Iterator
from typing import Any

import boto3
import pytest

from infra.template import FunctionSpec
from local.event_source_mapping import EventSourceMapping, _failed_ids
from local.lambda_runtime import LocalFunction
from tests.helpers import queue_depth


class Handler:
    """A stand-in function: records every event, answers what ``answer(records)`` returns."""

    def __init__(self, answer: Callable[[list[dict[str, Any]]], Any]):
        self.events: list[dict[str, Any]] = []
        self._answer = answer
        self._lock = threading.Lock()

    def __call__(self, event: dict[str, Any], context: Any) -> Any:
        with self._lock:
            self.events.append(event)
        return self._answer(event["Records"])


def local_function(handler: Handler, timeout_s: int = 5) -> LocalFunction:
    import sys
    import types

    module = types.ModuleType("esm_test_handler")
    module.handler = handler  # type: ignore[attr-defined]
    sys.modules["esm_test_handler"] = module
    return LocalFunction(FunctionSpec("Fn", "esm_test_handler.handler", timeout_s, 128, {}, {}), "us-east-1")


def send(sqs: Any, queue: str, spec: list[tuple[str, int]]) -> None:
    for account, seq in spec:
        sqs.send_message(QueueUrl=queue, MessageBody=json.dumps({"account_id": account, "seq": seq}),
                         MessageGroupId=account, MessageDeduplicationId=f"{account}:{seq}")


@pytest.fixture
def queue(stack: Any) -> Iterator[tuple[Any, str, str]]:
    sqs = boto3.client("sqs")
    url = stack.ref("EventsQueue")
    sqs.set_queue_attributes(QueueUrl=url, Attributes={"VisibilityTimeout": "2"})  # fast redelivery for tests
    yield sqs, url, stack.arn("EventsQueue")


def run_mapping(sqs: Any, url: str, arn: str, function: LocalFunction,
                until: Callable[[EventSourceMapping], bool], concurrency: int = 5,
                timeout: float = 15, batch_size: int = 10) -> EventSourceMapping:
    mapping = EventSourceMapping(sqs, url, arn, function, batch_size=batch_size, maximum_concurrency=concurrency,
                                 region="us-east-1", pollers=2).start()
    deadline = time.monotonic() + timeout
    try:
        while not until(mapping) and time.monotonic() < deadline:
            time.sleep(0.05)
    finally:
        mapping.stop()
    return mapping


def test_the_event_has_lambdas_sqs_shape_and_successes_are_deleted(queue: tuple[Any, str, str]) -> None:
    sqs, url, arn = queue
    send(sqs, url, [("a", 1), ("a", 2), ("b", 1)])
    handler = Handler(lambda records: {"batchItemFailures": []})
    run_mapping(sqs, url, arn, local_function(handler), until=lambda m: queue_depth(sqs, url) == 0)
    records = [r for e in handler.events for r in e["Records"]]
    assert sorted(json.loads(r["body"])["seq"] for r in records) == [1, 1, 2]
    record = records[0]
    assert set(record) == {"messageId", "receiptHandle", "body", "attributes", "messageAttributes", "md5OfBody",
                           "eventSource", "eventSourceARN", "awsRegion"}
    assert record["eventSource"] == "aws:sqs" and record["eventSourceARN"] == arn
    assert {"ApproximateReceiveCount", "SentTimestamp", "SequenceNumber", "MessageGroupId",
            "MessageDeduplicationId"} <= set(record["attributes"])
    assert queue_depth(sqs, url) == 0


def test_reported_failures_stay_and_come_back_after_the_visibility_timeout(queue: tuple[Any, str, str]) -> None:
    sqs, url, arn = queue
    send(sqs, url, [("a", 1), ("a", 2)])
    attempts: list[int] = []

    def answer(records: list[dict[str, Any]]) -> Any:
        attempts.append(len(records))
        if len(attempts) == 1:  # first delivery: seq 2 fails
            return {"batchItemFailures": [{"itemIdentifier": records[1]["messageId"]}]}
        return {"batchItemFailures": []}

    handler = Handler(answer)
    run_mapping(sqs, url, arn, local_function(handler), until=lambda m: len(attempts) >= 2)
    second = handler.events[1]["Records"]
    assert [json.loads(r["body"])["seq"] for r in second] == [2]
    assert second[0]["attributes"]["ApproximateReceiveCount"] == "2"


@pytest.mark.parametrize("response", [
    {"batchItemFailures": [{"itemIdentifier": "not-in-batch"}]},
    {"batchItemFailures": [{"itemIdentifier": ""}]},
    {"batchItemFailures": "everything"},
    "a string",
])
def test_a_malformed_response_fails_the_whole_batch(response: Any) -> None:
    records = [{"messageId": "m1"}, {"messageId": "m2"}]
    assert _failed_ids(response, records) == {"m1", "m2"}


@pytest.mark.parametrize("response", [None, {}, {"batchItemFailures": []}, {"batchItemFailures": None}])
def test_empty_responses_are_complete_successes(response: Any) -> None:
    assert _failed_ids(response, [{"messageId": "m1"}]) == set()


def test_an_invocation_that_overruns_its_timeout_fails_whole(queue: tuple[Any, str, str]) -> None:
    sqs, url, arn = queue
    send(sqs, url, [("a", 1), ("b", 1)])
    handler = Handler(lambda records: time.sleep(1.5))
    mapping = run_mapping(sqs, url, arn, local_function(handler, timeout_s=1),
                          until=lambda m: m.stats.failed_invocations >= 1, timeout=5)
    assert mapping.stats.failed_invocations >= 1 and mapping.stats.records_succeeded == 0
    assert queue_depth(sqs, url) == 2  # nothing deleted: both come back after the visibility timeout


def test_concurrency_never_exceeds_the_maximum(queue: tuple[Any, str, str]) -> None:
    sqs, url, arn = queue
    send(sqs, url, [(f"acct-{i}", 1) for i in range(12)])
    running, peak, lock = [0], [0], threading.Lock()

    def answer(records: list[dict[str, Any]]) -> Any:
        with lock:
            running[0] += 1
            peak[0] = max(peak[0], running[0])
        time.sleep(0.2)
        with lock:
            running[0] -= 1
        return None

    handler = Handler(answer)
    # Batches of one message: twelve invocations are ready at once, and only the cap holds them back.
    run_mapping(sqs, url, arn, local_function(handler), until=lambda m: queue_depth(sqs, url) == 0,
                concurrency=3, batch_size=1)
    assert peak[0] == 3 and len(handler.events) == 12
