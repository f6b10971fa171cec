"""Enqueue a validated request: one FIFO message per event, never out of order, never silently lost.

Two rules make partial failure safe:

* A ``SendMessageBatch`` never holds two events of the same account. SQS can refuse single
  entries of a batch (HTTP 200 with ``Failed``); if an account's seq 2 were refused while its
  seq 3 in the same batch went through, order would be broken beyond repair.
* Once an account's event is refused, that account's later events in the request are not sent.

Accounts are split over a few lanes sent in parallel; each account lives in one lane, so its
events still go out one after another.
"""
from __future__ import annotations

import time
import zlib
from collections import OrderedDict, deque
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError

from inorder.codec import deduplication_id, encode_body
from inorder.models import Event

SQS_BATCH_LIMIT = 10
LANES = 4
ATTEMPTS = 3
BLOCKED = "NotSentAfterEarlierFailure"


@dataclass(frozen=True)
class Refused:
    """An event the queue did not take, and why."""

    index: int
    account_id: str
    seq: int
    code: str
    message: str

    def as_dict(self) -> dict[str, Any]:
        return {"index": self.index, "account_id": self.account_id, "seq": self.seq,
                "code": self.code, "message": self.message}


@dataclass
class EnqueueOutcome:
    accepted: int
    refused: list[Refused]


class QueueWriter:
    def __init__(self, sqs: Any, queue_url: str, *, sleep: Callable[[float], None] = time.sleep):
        self._sqs = sqs
        self._queue_url = queue_url
        self._sleep = sleep
        self._pool = ThreadPoolExecutor(max_workers=LANES, thread_name_prefix="ingest-lane")

    def enqueue(self, events: list[Event], received_at: float, request_id: str) -> EnqueueOutcome:
        lanes: list[list[int]] = [[] for _ in range(LANES)]
        for index, event in enumerate(events):
            lanes[zlib.crc32(event.account_id.encode()) % LANES].append(index)
        jobs = [self._pool.submit(self._send_lane, events, lane, received_at, request_id)
                for lane in lanes if lane]
        refused = sorted((r for job in jobs for r in job.result()), key=lambda r: r.index)
        return EnqueueOutcome(accepted=len(events) - len(refused), refused=refused)

    def _send_lane(self, events: list[Event], lane: list[int], received_at: float,
                   request_id: str) -> list[Refused]:
        pending: OrderedDict[str, deque[int]] = OrderedDict()
        for index in lane:
            pending.setdefault(events[index].account_id, deque()).append(index)
        refused: list[Refused] = []
        for batch in _distinct_account_batches(pending):
            entries = {str(i): _entry(i, events[i], received_at, request_id) for i in batch}
            for index, (code, message) in self._send(entries).items():
                account = events[index].account_id
                refused.append(Refused(index, account, events[index].seq, code, message))
                for later in pending.pop(account, ()):
                    refused.append(Refused(later, account, events[later].seq, BLOCKED,
                                           f"not sent: event {index} of the same account was refused"))
        return refused

    def _send(self, entries: dict[str, dict[str, Any]]) -> dict[int, tuple[str, str]]:
        """Send one batch, retrying what failed on the server's side; return what stayed refused."""
        failed: dict[int, tuple[str, str]] = {}
        for attempt in range(ATTEMPTS):
            if attempt:
                self._sleep(0.05 * 2 ** attempt)
            try:
                answer = self._sqs.send_message_batch(QueueUrl=self._queue_url, Entries=list(entries.values()))
            except (ClientError, BotoCoreError) as error:
                failed = {int(i): (_error_code(error), str(error)) for i in entries}
                continue
            failed = {int(f["Id"]): (f.get("Code", "Failed"), f.get("Message", "")) for f in answer.get("Failed", [])}
            retry = {f["Id"] for f in answer.get("Failed", []) if not f.get("SenderFault")}
            entries = {i: entry for i, entry in entries.items() if i in retry}
            if not entries:
                break
        return failed


def _distinct_account_batches(pending: OrderedDict[str, deque[int]]) -> Iterator[list[int]]:
    """Yield batches of at most ten events, one per account, each account's events in order.

    Accounts take turns: one that still has events after a batch goes to the back of the line, so
    a block goes out as every account's first event, then every account's second, and so on. By
    the time an account's next event is sent its previous one has usually been taken by a
    consumer, so a receive finds many accounts ready at once (a batch of many groups, written in
    one round) instead of one account's next event trickling in behind its own lock.

    ``pending`` is read live: an account removed by the caller after a refusal is skipped.
    """
    while pending:
        batch = []
        for account in list(pending)[:SQS_BATCH_LIMIT]:
            queue = pending[account]
            batch.append(queue.popleft())
            if queue:
                pending.move_to_end(account)
            else:
                del pending[account]
        yield batch


def _entry(index: int, event: Event, received_at: float, request_id: str) -> dict[str, Any]:
    return {
        "Id": str(index),
        "MessageBody": encode_body(event, received_at, request_id),
        "MessageGroupId": event.account_id,
        "MessageDeduplicationId": deduplication_id(event.account_id, event.seq),
    }


def _error_code(error: Exception) -> str:
    if isinstance(error, ClientError):
        return error.response.get("Error", {}).get("Code", "ClientError")
    return type(error).__name__
