"""Tell SQS early what became of a batch's groups, instead of waiting for the invocation to end.

* ``release``: delete a finished group's messages at once. On a FIFO queue an account's next
  message stays locked while any message of its group is in flight, and Lambda deletes a batch
  only when the whole invocation returns; without this an account would wait for the slowest
  account of its batch. Deleting is idempotent on SQS, so the event source mapping's own delete
  afterwards is harmless.
* ``retry_later``: set when a returned group comes back. Left alone, failed messages return only
  after the queue's visibility timeout (minutes); a failure backs off exponentially with the
  receive count instead (so a poison event reaches the DLQ after ``maxReceiveCount`` tries in
  seconds), and records never started for lack of time come back at once.
"""
from __future__ import annotations

from typing import Any

MAX_RETRY_DELAY_S = 300

Record = dict[str, Any]


class QueueFeedback:
    def __init__(self, sqs: Any, queue_url: str, retry_base_seconds: float):
        self._sqs = sqs
        self._queue_url = queue_url
        self._retry_base = retry_base_seconds

    def release(self, records: list[Record]) -> None:
        """Delete ``records`` (at most ten: they come from one batch)."""
        answer = self._sqs.delete_message_batch(
            QueueUrl=self._queue_url,
            Entries=[{"Id": str(i), "ReceiptHandle": r["receiptHandle"]} for i, r in enumerate(records)],
        )
        _raise_on_failed(answer, "delete")

    def retry_later(self, records: list[Record], after_failure: bool) -> None:
        """Make ``records`` (a group's failed or unstarted rest, in order) visible again soon."""
        delay = self.retry_delay(records[0]) if after_failure else 0
        answer = self._sqs.change_message_visibility_batch(
            QueueUrl=self._queue_url,
            Entries=[{"Id": str(i), "ReceiptHandle": r["receiptHandle"], "VisibilityTimeout": delay}
                     for i, r in enumerate(records)],
        )
        _raise_on_failed(answer, "change the visibility of")

    def retry_delay(self, record: Record) -> int:
        attempts = int(record.get("attributes", {}).get("ApproximateReceiveCount", "1"))
        return int(min(self._retry_base * 2 ** (attempts - 1), MAX_RETRY_DELAY_S))


def _raise_on_failed(answer: dict[str, Any], what: str) -> None:
    if answer.get("Failed"):
        raise RuntimeError(f"could not {what} {len(answer['Failed'])} message(s): {answer['Failed']}")
