"""Delete a finished group's messages from the queue before the invocation ends.

On a FIFO queue an account's next message stays locked while any message of its group is in
flight. Lambda deletes a batch only when the whole invocation returns, so without this an
account would wait for the slowest account of its batch. Deleting is idempotent on SQS (an
already-deleted message deletes again without error), so the event source mapping's own delete
afterwards is harmless.
"""
from __future__ import annotations

from typing import Any


class QueueReleaser:
    def __init__(self, sqs: Any, queue_url: str):
        self._sqs = sqs
        self._queue_url = queue_url

    def __call__(self, records: list[dict[str, Any]]) -> None:
        """Delete ``records`` (at most ten: they come from one batch)."""
        answer = self._sqs.delete_message_batch(
            QueueUrl=self._queue_url,
            Entries=[{"Id": str(i), "ReceiptHandle": r["receiptHandle"]} for i, r in enumerate(records)],
        )
        if answer.get("Failed"):
            raise RuntimeError(f"could not delete {len(answer['Failed'])} message(s): {answer['Failed']}")
