"""Move dead-lettered events back to the events queue once their cause is fixed.

What it means for order: by the time an event is in the DLQ, SQS has moved on to its account's
later events. A redriven event joins the back of its account's group and is processed after
them - out of order, which the verifier reports. Redrive is for events whose order no longer
matters, or after the account's later events were themselves parked.

Messages go back one by one with their group id, so an account's dead-lettered events keep
their relative order; each gets a fresh deduplication id (the original one may still be inside
SQS's 5-minute window and the event would be silently dropped). A message leaves the DLQ only
after the events queue took it.
"""
from __future__ import annotations

import hashlib
from typing import Any


def redrive(sqs: Any, dlq_url: str, queue_url: str) -> int:
    """Move every message from ``dlq_url`` to ``queue_url``; return how many moved."""
    moved = 0
    while messages := sqs.receive_message(
            QueueUrl=dlq_url, MaxNumberOfMessages=10, VisibilityTimeout=60,
            MessageSystemAttributeNames=["MessageGroupId", "MessageDeduplicationId"]).get("Messages", []):
        for message in messages:
            attributes = message["Attributes"]
            sqs.send_message(QueueUrl=queue_url, MessageBody=message["Body"],
                             MessageGroupId=attributes["MessageGroupId"],
                             MessageDeduplicationId=_fresh_dedup_id(message["MessageId"]))
            sqs.delete_message(QueueUrl=dlq_url, ReceiptHandle=message["ReceiptHandle"])
            moved += 1
    return moved


def _fresh_dedup_id(message_id: str) -> str:
    return hashlib.sha256(f"redrive:{message_id}".encode()).hexdigest()
