"""Early release and scheduled retries against the real queue (moto, patched like the backend)."""
from __future__ import annotations

import json
import time
from typing import Any

import boto3

from inorder.queue_feedback import MAX_RETRY_DELAY_S, QueueFeedback
from tests.helpers import queue_depth


def received(sqs: Any, queue: str, accounts: list[str]) -> list[dict[str, Any]]:
    for account in accounts:
        body = json.dumps({"account_id": account, "seq": 1, "type": "t", "received_at": 1.0, "request_id": "r"})
        sqs.send_message(QueueUrl=queue, MessageBody=body, MessageGroupId=account, MessageDeduplicationId=f"{account}:1")
    messages = sqs.receive_message(QueueUrl=queue, MaxNumberOfMessages=10, MessageSystemAttributeNames=["All"])["Messages"]
    return [{"messageId": m["MessageId"], "receiptHandle": m["ReceiptHandle"], "attributes": m["Attributes"]}
            for m in messages]


def visible(sqs: Any, queue: str) -> int:
    return int(sqs.get_queue_attributes(QueueUrl=queue, AttributeNames=["ApproximateNumberOfMessages"])
               ["Attributes"]["ApproximateNumberOfMessages"])


def test_release_deletes_the_records(stack: Any) -> None:
    sqs, queue = boto3.client("sqs"), stack.ref("EventsQueue")
    records = received(sqs, queue, ["a", "b"])
    QueueFeedback(sqs, queue, 1.0).release(records[:1])
    assert queue_depth(sqs, queue) == 1


def test_unstarted_records_come_back_at_once_and_failed_ones_after_a_back_off(stack: Any) -> None:
    sqs, queue = boto3.client("sqs"), stack.ref("EventsQueue")
    unstarted, failed = received(sqs, queue, ["a", "b"])
    feedback = QueueFeedback(sqs, queue, 1.0)
    feedback.retry_later([unstarted], after_failure=False)
    feedback.retry_later([failed], after_failure=True)
    assert visible(sqs, queue) == 1  # the unstarted one
    time.sleep(1.2)
    assert visible(sqs, queue) == 2  # the failed one after 1 s x 2^0


def test_the_back_off_doubles_with_each_receive_and_is_capped() -> None:
    feedback = QueueFeedback(None, "q", 1.0)
    delays = [feedback.retry_delay({"attributes": {"ApproximateReceiveCount": str(n)}}) for n in (1, 2, 3, 5, 30)]
    assert delays == [1, 2, 4, 16, MAX_RETRY_DELAY_S]
