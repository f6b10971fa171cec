"""Read a deployment's outcome - results table, DLQ, queue depth - for the report.

Works against any endpoint (the embedded backend, LocalStack, AWS): one paginated Scan of the
table (never a Query per account), a non-destructive read of the DLQ, and a progress display
while the queue drains.
"""
from __future__ import annotations

import json
import sys
import time
from collections import Counter
from pathlib import Path
from typing import Any, TextIO

from local.report import Key

QUEUE_COUNTS = ("ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible",
                "ApproximateNumberOfMessagesDelayed")


def scan_results(dynamodb: Any, table: str, accounts: set[str]) -> list[dict[str, Any]]:
    from inorder.result_store import from_item  # the functions' own decoding of the table's items

    items = (from_item(item) for page in dynamodb.get_paginator("scan").paginate(TableName=table, ConsistentRead=True)
             for item in page.get("Items", []))
    return [item for item in items if item["account_id"] in accounts]


def peek_dlq(sqs: Any, dlq_url: str) -> list[Key]:
    """Every (account_id, seq) in the DLQ, leaving the messages there and visible again.

    A FIFO receive locks each group it returns from; when a batch fills up part-way through a
    group, that group is handed back once so its head can be read again with room to spare.
    (A group with more than ten messages in the DLQ still shows only its first ten.)
    """
    seen: dict[str, Key] = {}
    held: dict[str, str] = {}  # message id -> receipt handle, released at the end
    retried: set[str] = set()
    while messages := sqs.receive_message(QueueUrl=dlq_url, MaxNumberOfMessages=10, VisibilityTimeout=60,
                                          MessageSystemAttributeNames=["MessageGroupId"]).get("Messages", []):
        for message in messages:
            body = json.loads(message["Body"])
            seen[message["MessageId"]] = (body["account_id"], int(body["seq"]))
            held[message["MessageId"]] = message["ReceiptHandle"]
        cut = messages[-1]["Attributes"]["MessageGroupId"]
        if len(messages) == 10 and cut not in retried:
            retried.add(cut)
            _make_visible(sqs, dlq_url, [held.pop(m["MessageId"]) for m in messages
                                         if m["Attributes"]["MessageGroupId"] == cut])
    _make_visible(sqs, dlq_url, list(held.values()))
    return list(seen.values())


def _make_visible(sqs: Any, queue_url: str, handles: list[str]) -> None:
    for start in range(0, len(handles), 10):
        sqs.change_message_visibility_batch(QueueUrl=queue_url, Entries=[
            {"Id": str(i), "ReceiptHandle": h, "VisibilityTimeout": 0} for i, h in enumerate(handles[start:start + 10])])


def queue_depth(sqs: Any, queue_url: str) -> int:
    attributes = sqs.get_queue_attributes(QueueUrl=queue_url, AttributeNames=list(QUEUE_COUNTS))["Attributes"]
    return sum(int(attributes.get(name, 0)) for name in QUEUE_COUNTS)


def wait_for_drain(sqs: Any, queue_url: str, expected: int, timeout_s: float, since: float,
                   out: TextIO = sys.stderr) -> bool:
    """Wait until the queue holds nothing more, showing progress from ``since``; False on timeout."""
    deadline = time.monotonic() + timeout_s
    shown = 0.0
    while True:
        depth = queue_depth(sqs, queue_url)
        if time.monotonic() - shown >= 2 or depth == 0:
            _progress(out, max(0, expected - depth), expected, depth, time.time() - since)
            shown = time.monotonic()
        if depth == 0:
            return True
        if time.monotonic() > deadline:
            return False
        time.sleep(0.25)


def _progress(out: TextIO, finished: int, expected: int, depth: int, elapsed: float) -> None:
    rate = finished / elapsed if elapsed > 0 else 0.0
    share = 100 * finished / expected if expected else 100.0
    print(f"  done {finished:>7,}/{expected:,} ({share:5.1f}%)  queued or in flight {depth:>7,}  "
          f"{rate:7.1f} ev/s  {elapsed:6.1f} s since the start", file=out, flush=True)


def log_counts(path: Path | None) -> Counter[Key] | None:
    """How often each event's result was stored, from the functions' log (the log of results)."""
    if path is None or not path.exists():
        return None
    counts: Counter[Key] = Counter()
    with open(path, encoding="utf-8") as handle:
        for line in handle:
            if '"event processed"' not in line:
                continue
            record = json.loads(line)
            counts[(record["account_id"], int(record["seq"]))] += 1
    return counts
