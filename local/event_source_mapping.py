"""What Lambda's SQS event source mapping does, faithfully, for a local function.

Pollers long-poll the queue for up to ``BatchSize`` messages and hand each batch to one
invocation; at most ``ScalingConfig.MaximumConcurrency`` invocations run at once. The function
gets the exact SQS event shape. After it returns, every message not named in
``batchItemFailures`` is deleted; named ones are left alone and come back after the queue's
visibility timeout (and go to the DLQ after ``maxReceiveCount``, which the queue does itself).
A malformed response, an exception or a timeout fails the whole batch - all as on AWS.

LocalStack's poller runs the groups of a batch one at a time and moto's deletes messages without
running anything (PLATFORM.md); this one is what makes local numbers mean something.
"""
from __future__ import annotations

import base64
import logging
import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any

from local.lambda_runtime import InvocationError, LocalFunction

log = logging.getLogger(__name__)

LAMBDA_SQS_ATTRIBUTES = ("ApproximateReceiveCount", "SentTimestamp", "SequenceNumber", "MessageGroupId",
                         "SenderId", "MessageDeduplicationId", "ApproximateFirstReceiveTimestamp")


@dataclass
class MappingStats:
    """Counters for progress displays and tests; updated under the mapping's lock."""

    invocations: int = 0
    failed_invocations: int = 0
    records_succeeded: int = 0
    records_failed: int = 0
    running: int = 0
    errors: list[str] = field(default_factory=list)


class EventSourceMapping:
    def __init__(self, sqs: Any, queue_url: str, queue_arn: str, function: LocalFunction, *,
                 batch_size: int, maximum_concurrency: int, region: str, pollers: int = 8,
                 wait_seconds: int = 1, on_batch_done: Callable[[list[dict[str, Any]], set[str]], None] | None = None):
        self._sqs = sqs
        self._queue_url = queue_url
        self._queue_arn = queue_arn
        self._function = function
        self._batch_size = batch_size
        self._region = region
        self._wait_seconds = wait_seconds
        self._on_batch_done = on_batch_done
        self._slots = threading.BoundedSemaphore(maximum_concurrency)
        self._pool = ThreadPoolExecutor(max_workers=maximum_concurrency, thread_name_prefix="invocation")
        self._stopping = threading.Event()
        self._lock = threading.Lock()
        self.stats = MappingStats()
        self._pollers = [threading.Thread(target=self._poll, name=f"poller-{i}", daemon=True)
                         for i in range(pollers)]

    def start(self) -> EventSourceMapping:
        for poller in self._pollers:
            poller.start()
        return self

    def stop(self) -> None:
        """Stop polling and wait for running invocations, as disabling a mapping does."""
        self._stopping.set()
        for poller in self._pollers:
            poller.join()
        self._pool.shutdown(wait=True)

    def _poll(self) -> None:
        while not self._stopping.is_set():
            if not self._slots.acquire(timeout=0.2):
                continue
            try:
                messages = self._receive()
            except Exception as error:  # noqa: BLE001 - a poller must survive a bad call
                self._note_error(f"receive failed: {error}")
                self._slots.release()
                self._stopping.wait(1)
                continue
            if not messages:
                self._slots.release()
                continue
            with self._lock:
                self.stats.running += 1
            self._pool.submit(self._invoke, messages)

    def _receive(self) -> list[dict[str, Any]]:
        answer = self._sqs.receive_message(
            QueueUrl=self._queue_url, MaxNumberOfMessages=self._batch_size,
            WaitTimeSeconds=self._wait_seconds, MessageSystemAttributeNames=["All"],
            MessageAttributeNames=["All"])
        return answer.get("Messages", [])

    def _invoke(self, messages: list[dict[str, Any]]) -> None:
        records = [self._record(m) for m in messages]
        try:
            failed = _failed_ids(self._function.invoke({"Records": records}), records)
        except InvocationError as error:
            self._note_error(f"{self._function.name} failed ({error.kind}): {error}")
            failed = {r["messageId"] for r in records}
        try:
            self._delete([r for r in records if r["messageId"] not in failed])
        except Exception as error:  # noqa: BLE001 - not deleted means redelivered, never lost
            self._note_error(f"delete failed; the messages will be redelivered: {error}")
        finally:
            with self._lock:
                self.stats.invocations += 1
                self.stats.failed_invocations += bool(failed)
                self.stats.records_failed += len(failed)
                self.stats.records_succeeded += len(records) - len(failed)
                self.stats.running -= 1
            self._slots.release()
        if self._on_batch_done:
            self._on_batch_done(records, failed)

    def _delete(self, records: list[dict[str, Any]]) -> None:
        if not records:
            return
        entries = [{"Id": str(i), "ReceiptHandle": r["receiptHandle"]} for i, r in enumerate(records)]
        answer = self._sqs.delete_message_batch(QueueUrl=self._queue_url, Entries=entries)
        if answer.get("Failed"):
            raise RuntimeError(f"{len(answer['Failed'])} delete(s) failed: {answer['Failed']}")

    def _record(self, message: dict[str, Any]) -> dict[str, Any]:
        attributes = message.get("Attributes", {})
        return {
            "messageId": message["MessageId"],
            "receiptHandle": message["ReceiptHandle"],
            "body": message["Body"],
            "attributes": {k: attributes[k] for k in LAMBDA_SQS_ATTRIBUTES if k in attributes},
            "messageAttributes": {name: _message_attribute(value)
                                  for name, value in message.get("MessageAttributes", {}).items()},
            "md5OfBody": message["MD5OfBody"],
            "eventSource": "aws:sqs",
            "eventSourceARN": self._queue_arn,
            "awsRegion": self._region,
        }

    def _note_error(self, message: str) -> None:
        log.warning(message)
        with self._lock:
            self.stats.errors.append(message)
            del self.stats.errors[:-100]


def _failed_ids(response: Any, records: list[dict[str, Any]]) -> set[str]:
    """Read a partial batch response as Lambda does: anything malformed fails the whole batch."""
    every = {r["messageId"] for r in records}
    if response is None:
        return set()
    if not isinstance(response, dict):
        return every
    failures = response.get("batchItemFailures")
    if not failures:
        return set()
    if not isinstance(failures, list) or not all(isinstance(f, dict) for f in failures):
        return every
    ids = {f.get("itemIdentifier") for f in failures}
    return ids if ids <= every else every


def _message_attribute(value: dict[str, Any]) -> dict[str, Any]:
    shaped: dict[str, Any] = {"stringListValues": [], "binaryListValues": [], "dataType": value["DataType"]}
    if "StringValue" in value:
        shaped["stringValue"] = value["StringValue"]
    if "BinaryValue" in value:
        shaped["binaryValue"] = base64.b64encode(value["BinaryValue"]).decode()
    return shaped
