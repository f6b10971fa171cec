"""Run one SQS FIFO batch: message groups in parallel, each group strictly in order.

A FIFO batch of ten may hold the next events of several accounts. Running it front to back
(as Powertools' ``SqsFifoPartialProcessor`` does) makes every account in the batch wait for
all the others; running the groups side by side keeps each account's chain as short as its
own events allow. The rules that keep order safe:

* a group stops at its first failure; that record and every later record of the group are
  reported in ``batchItemFailures`` so SQS hands them back in order, while other groups go on;
* a record is only started if it can finish before the function timeout - what is not started
  is reported as failed and comes back, instead of being cut off half-way by Lambda;
* a group whose run is done while other groups of the batch are still working is released at
  once (``feedback.release``), so SQS can hand out the account's next events without waiting for
  them; the last group to finish needs no such call, as Lambda deletes the batch right after;
* what a group hands back is scheduled to return (``feedback.retry_later``): after a back-off
  when it failed, at once when it was not started for lack of time.
"""
from __future__ import annotations

import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any, Protocol

from aws_lambda_powertools import Logger

Record = dict[str, Any]


class GroupFeedback(Protocol):
    """What the runner tells the queue about a group before the invocation ends."""

    def release(self, records: list[Record]) -> None: ...

    def retry_later(self, records: list[Record], after_failure: bool) -> None: ...


class FifoBatchRunner:
    def __init__(self, handle: Callable[[Record], None], logger: Logger, *,
                 record_budget_ms: int, feedback: GroupFeedback | None = None):
        self._handle = handle
        self._logger = logger
        self._record_budget_ms = record_budget_ms
        self._feedback = feedback

    def run(self, records: list[Record], time_left_ms: Callable[[], int]) -> dict[str, list[dict[str, str]]]:
        groups = _by_group(records)
        if len(groups) == 1:
            failed = [self._run_group(groups[0], time_left_ms, _Countdown(1))]
        else:
            running = _Countdown(len(groups))
            with ThreadPoolExecutor(max_workers=len(groups), thread_name_prefix="group") as pool:
                failed = list(pool.map(lambda group: self._run_group(group, time_left_ms, running), groups))
        failed_ids = {record["messageId"] for group in failed for record in group}
        return {"batchItemFailures": [{"itemIdentifier": r["messageId"]} for r in records
                                      if r["messageId"] in failed_ids]}

    def _run_group(self, group: list[Record], time_left_ms: Callable[[], int], running: _Countdown) -> list[Record]:
        """Process a group's records in order; return those not done (the first failure onwards)."""
        done, failed = 0, False
        for record in group:
            if time_left_ms() < self._record_budget_ms:
                self._logger.warning("not enough time left to start a record; returning it to the queue",
                                     extra={"message_id": record["messageId"], "left_ms": time_left_ms()})
                break
            try:
                self._handle(record)
            except Exception:
                self._logger.exception("record failed; it and the rest of its group will be retried",
                                       extra={"message_id": record["messageId"],
                                              "group": _group_of(record)})
                failed = True
                break
            done += 1
        others_running = running.finish_one()
        if done and others_running:  # do not make this account wait for the others
            self._tell("release", group[:done])
        if done < len(group):
            self._tell("retry_later", group[done:], failed)
        return group[done:]

    def _tell(self, what: str, records: list[Record], *args: Any) -> None:
        if self._feedback is None:
            return
        try:
            getattr(self._feedback, what)(records, *args)
        except Exception:
            # Not fatal: the event source mapping deletes what succeeded when the invocation ends,
            # and what did not comes back after the visibility timeout.
            self._logger.warning(f"{what} failed; the queue's own timing applies", exc_info=True)


class _Countdown:
    """Groups of a batch still running; tells a finishing group whether it is the last."""

    def __init__(self, count: int):
        self._count = count
        self._lock = threading.Lock()

    def finish_one(self) -> bool:
        """Count one group done; True while others are still running."""
        with self._lock:
            self._count -= 1
            return self._count > 0


def _group_of(record: Record) -> str:
    return record.get("attributes", {}).get("MessageGroupId", "")


def _by_group(records: list[Record]) -> list[list[Record]]:
    groups: dict[str, list[Record]] = {}
    for record in records:
        groups.setdefault(_group_of(record), []).append(record)
    return list(groups.values())
