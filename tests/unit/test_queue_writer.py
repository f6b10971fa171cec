"""Enqueueing: one message per event, per-account order kept even when SQS refuses entries."""
from __future__ import annotations

import json
import threading
from typing import Any

import boto3

from inorder.codec import deduplication_id
from inorder.models import Event
from inorder.queue_writer import BLOCKED, QueueWriter
from tests.helpers import queue_messages


def events(spec: list[tuple[str, int]]) -> list[Event]:
    return [Event(account_id=a, seq=s, type="t") for a, s in spec]


class FakeSqs:
    """Records every batch; refuses the entries ``refuse(entry)`` picks, like SQS does (HTTP 200)."""

    def __init__(self, refuse: Any = lambda entry, attempt: None):
        self.batches: list[list[dict[str, Any]]] = []
        self._refuse = refuse
        self._lock = threading.Lock()
        self._attempts: dict[str, int] = {}

    def send_message_batch(self, QueueUrl: str, Entries: list[dict[str, Any]]) -> dict[str, Any]:  # noqa: N803
        with self._lock:
            self.batches.append(Entries)
            failed = []
            for entry in Entries:
                attempt = self._attempts[entry["Id"]] = self._attempts.get(entry["Id"], 0) + 1
                verdict = self._refuse(entry, attempt)
                if verdict:
                    failed.append({"Id": entry["Id"], "SenderFault": verdict == "sender",
                                   "Code": "InternalError" if verdict == "server" else "InvalidParameterValue",
                                   "Message": "refused"})
            return {"Successful": [], "Failed": failed}


def test_each_event_becomes_one_fifo_message_grouped_by_account(stack: Any) -> None:
    sqs = boto3.client("sqs")
    queue = stack.ref("EventsQueue")
    outcome = QueueWriter(sqs, queue).enqueue(events([("a", 1), ("b", 1), ("a", 2), ("a", 3)]), 100.5, "req-1")
    assert (outcome.accepted, outcome.refused) == (4, [])
    messages = queue_messages(sqs, queue)
    by_group: dict[str, list[int]] = {}
    for message in messages:
        body = json.loads(message["Body"])
        attributes = message["Attributes"]
        assert attributes["MessageGroupId"] == body["account_id"]
        assert attributes["MessageDeduplicationId"] == f"{body['account_id']}:{body['seq']}"
        assert (body["received_at"], body["request_id"]) == (100.5, "req-1")
        by_group.setdefault(body["account_id"], []).append(body["seq"])
    assert by_group == {"a": [1, 2, 3], "b": [1]}


def test_a_batch_never_holds_two_events_of_one_account() -> None:
    fake = FakeSqs()
    spec = [(f"acct-{i % 7}", i // 7 + 1) for i in range(70)]
    QueueWriter(fake, "q").enqueue(events(spec), 0.0, "r")
    assert sum(len(b) for b in fake.batches) == 70
    for batch in fake.batches:
        groups = [e["MessageGroupId"] for e in batch]
        assert len(groups) == len(set(groups)) and len(batch) <= 10


def test_a_refused_event_stops_its_account_but_not_the_others() -> None:
    fake = FakeSqs(refuse=lambda entry, attempt: "sender" if entry["MessageDeduplicationId"] == "a:2" else None)
    spec = [("a", 1), ("b", 1), ("a", 2), ("b", 2), ("a", 3), ("b", 3)]
    outcome = QueueWriter(fake, "q").enqueue(events(spec), 0.0, "r")
    refused = [(r.index, r.account_id, r.seq, r.code) for r in outcome.refused]
    assert refused == [(2, "a", 2, "InvalidParameterValue"), (4, "a", 3, BLOCKED)]
    sent = [e["MessageDeduplicationId"] for batch in fake.batches for e in batch]
    assert "a:3" not in sent
    assert {"b:1", "b:2", "b:3", "a:1"} <= set(sent)
    assert outcome.accepted == 4


def test_server_side_failures_are_retried_and_then_succeed() -> None:
    fake = FakeSqs(refuse=lambda entry, attempt: "server" if attempt == 1 else None)
    writer = QueueWriter(fake, "q", sleep=lambda s: None)
    outcome = writer.enqueue(events([("a", 1), ("a", 2)]), 0.0, "r")
    assert (outcome.accepted, outcome.refused) == (2, [])
    assert len(fake.batches) == 4  # each of a's two events: refused once, then taken


def test_sender_faults_are_not_retried() -> None:
    fake = FakeSqs(refuse=lambda entry, attempt: "sender")
    outcome = QueueWriter(fake, "q", sleep=lambda s: None).enqueue(events([("a", 1)]), 0.0, "r")
    assert len(fake.batches) == 1 and [r.seq for r in outcome.refused] == [1]


def test_long_deduplication_ids_are_hashed_to_fit() -> None:
    long_account = "x" * 128
    dedup = deduplication_id(long_account, 12)
    assert len(dedup) <= 128 and dedup != deduplication_id(long_account, 13)
    assert deduplication_id("a", 1) == "a:1"
