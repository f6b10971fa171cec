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
  once (``on_group_done``), so SQS can hand out the account's next events without waiting for
  them; the last group to finish needs no such call, as Lambda deletes the batch right after.
"""
from __future__ import annotations

import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from aws_lambda_powertools import Logger

Record = dict[str, Any]


class FifoBatchRunner:
    def __init__(self, handle: Callable[[Record], None], logger: Logger, *,
                 record_budget_ms: int, on_group_done: Callable[[list[Record]], None] | None = None):
        self._handle = handle
        self._logger = logger
        self._record_budget_ms = record_budget_ms
        self._on_group_done = on_group_done

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
        done = 0
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
                break
            done += 1
        if running.finish_one():  # others still work: do not make this account wait for them
            self._release(group[:done])
        return group[done:]

    def _release(self, records: list[Record]) -> None:
        if not records or self._on_group_done is None:
            return
        try:
            self._on_group_done(records)
        except Exception:
            # Not fatal: the event source mapping deletes them when the invocation ends.
            self._logger.warning("early release failed; the event source mapping will delete them",
                                 exc_info=True)


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
