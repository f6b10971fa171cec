"""Run one SQS FIFO batch: message groups in parallel, each group strictly in order.

A FIFO batch of ten may hold the next events of several accounts. Running it front to back
(as Powertools' ``SqsFifoPartialProcessor`` does) makes every account in the batch wait for
all the others; running the groups side by side keeps each account's chain as short as its
own events allow. The rules that keep order safe:

* a group stops at its first failure; that record and every later record of the group are
  reported in ``batchItemFailures`` so SQS hands them back in order, while other groups go on;
* a group's results are committed (``commit``) once its run is over, before anything of it is
  released; what commit does not confirm is handed back like a failure;
* a record is only started if it can finish before the function timeout - what is not started
  is reported as failed and comes back, instead of being cut off half-way by Lambda;
* a group whose run is done while other groups of the batch are still working is released
  (``feedback.release``), so SQS can hand out the account's next events without waiting for
  them. Groups that finish within ``release_window_s`` of each other share one release call, and
  when the whole batch finishes inside that window there is none: Lambda deletes the batch right
  after. Without the window, a batch whose groups take milliseconds would cost a delete call per
  group for nothing;
* what a group hands back is scheduled to return (``feedback.retry_later``): after a back-off
  when it failed, at once when it was not started for lack of time.
"""
from __future__ import annotations

import threading
from collections.abc import Callable
from concurrent.futures import Executor, ThreadPoolExecutor
from typing import Any, Protocol

from aws_lambda_powertools import Logger

Record = dict[str, Any]


class GroupFeedback(Protocol):
    """What the runner tells the queue about a group before the invocation ends."""

    def release(self, records: list[Record]) -> None: ...

    def retry_later(self, records: list[Record], after_failure: bool) -> None: ...


# A FIFO batch holds at most ten messages, so at most ten groups.
MAX_GROUPS = 10

# How long a finished group waits for others to finish, so that they share one release call.
RELEASE_WINDOW_S = 0.05


class FifoBatchRunner:
    def __init__(self, handle: Callable[[Record], Any], logger: Logger, *, record_budget_ms: int,
                 commit: Callable[[list[Any]], int] = len, feedback: GroupFeedback | None = None,
                 release_window_s: float = RELEASE_WINDOW_S, on_group_done: Callable[[], None] = lambda: None,
                 pool: Executor | None = None):
        """``handle`` returns a record's result; ``commit`` stores a group's results and says how many,
        in order, are done (the default: all of them)."""
        self._handle = handle
        self._commit = commit
        self._pool = pool or ThreadPoolExecutor(max_workers=MAX_GROUPS, thread_name_prefix="group")
        self._on_group_done = on_group_done
        self._logger = logger
        self._record_budget_ms = record_budget_ms
        self._feedback = feedback
        self._release_window_s = release_window_s

    def run(self, records: list[Record], time_left_ms: Callable[[], int]) -> dict[str, list[dict[str, str]]]:
        groups = message_groups(records)
        releases = _Releases(len(groups), self._release_window_s, lambda done: self._tell("release", done))
        if len(groups) == 1:
            failed = [self._run_group(groups[0], time_left_ms, releases)]
        else:
            failed = list(self._pool.map(lambda group: self._run_group(group, time_left_ms, releases), groups))
        failed_ids = {record["messageId"] for group in failed for record in group}
        return {"batchItemFailures": [{"itemIdentifier": r["messageId"]} for r in records
                                      if r["messageId"] in failed_ids]}

    def _run_group(self, group: list[Record], time_left_ms: Callable[[], int], releases: _Releases) -> list[Record]:
        """Process a group's records in order; return those not done (the first failure onwards)."""
        try:
            results, failed = self._run_records(group, time_left_ms)
            done = self._commit_results(group, results)
            failed = failed or done < len(results)
        finally:
            self._on_group_done()  # e.g. its writes are over: the other groups stop waiting for it
        if done < len(group):
            self._tell("retry_later", group[done:], failed)
        releases.finished(group[:done])  # do not make this account wait for the others
        return group[done:]

    def _run_records(self, group: list[Record], time_left_ms: Callable[[], int]) -> tuple[list[Any], bool]:
        """Handle records in order until one fails or time is short: (the results, whether one failed)."""
        results: list[Any] = []
        for record in group:
            if time_left_ms() < self._record_budget_ms:
                self._logger.warning("not enough time left to start a record; returning it to the queue",
                                     extra={"message_id": record["messageId"], "left_ms": time_left_ms()})
                return results, False
            try:
                results.append(self._handle(record))
            except Exception:
                self._logger.exception("record failed; it and the rest of its group will be retried",
                                       extra={"message_id": record["messageId"],
                                              "group": _group_of(record)})
                return results, True
        return results, False

    def _commit_results(self, group: list[Record], results: list[Any]) -> int:
        """How many of the group's handled records are done for good; none when the commit failed."""
        if not results:
            return 0
        try:
            return self._commit(results)
        except Exception:
            self._logger.exception("results not stored; the group's records will be retried",
                                   extra={"group": _group_of(group[0])})
            return 0

    def _tell(self, what: str, records: list[Record], *args: Any) -> None:
        if self._feedback is None:
            return
        try:
            getattr(self._feedback, what)(records, *args)
        except Exception:
            # Not fatal: the event source mapping deletes what succeeded when the invocation ends,
            # and what did not comes back after the visibility timeout.
            self._logger.warning(f"{what} failed; the queue's own timing applies", exc_info=True)


class _Releases:
    """Releases of one batch's finished groups, gathered while the other groups still run.

    The first group to finish leads: it waits up to ``window_s`` for the others, then releases
    what has finished by then in one call. If every group finishes in that time, nothing is
    released: the event source mapping deletes the batch as soon as the invocation returns.
    """

    def __init__(self, groups: int, window_s: float, release: Callable[[list[Record]], None]):
        self._running = groups
        self._window_s = window_s
        self._release = release
        self._pending: list[Record] = []
        self._leading = False
        self._changed = threading.Condition()

    def finished(self, done: list[Record]) -> None:
        with self._changed:
            self._running -= 1
            self._pending += done
            self._changed.notify_all()
            if self._leading or not self._running or not self._pending:
                return
            self._leading = True
            self._changed.wait_for(lambda: not self._running, timeout=self._window_s)
            self._leading = False
            ready, self._pending = ([] if not self._running else self._pending), []
        if ready:
            self._release(ready)


def _group_of(record: Record) -> str:
    return record.get("attributes", {}).get("MessageGroupId", "")


def message_groups(records: list[Record]) -> list[list[Record]]:
    """The batch's records by message group, each in batch order."""
    groups: dict[str, list[Record]] = {}
    for record in records:
        groups.setdefault(_group_of(record), []).append(record)
    return list(groups.values())
