"""The processing step for one event - the ~1 s of work - and the storing and logging of results.

``process`` does the work and returns the result; ``commit`` stores a group's results of the
batch in one go (``GroupCommit``), then logs them, so the "log of results" never shows an event
whose result is not in the table. A redelivery that finds a result already stored is logged as
such and counts as done.
"""
from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

from aws_lambda_powertools import Logger

from inorder.codec import QueuedEvent
from inorder.group_commit import GroupCommit
from inorder.result_store import ResultRecord


class EventProcessor:
    def __init__(self, store: GroupCommit, processing_seconds: float, logger: Logger, *,
                 sleep: Callable[[float], None] = time.sleep, clock: Callable[[], float] = time.time):
        self._store = store
        self.processing_seconds = processing_seconds
        self._logger = logger
        self._sleep = sleep
        self._clock = clock

    def process(self, event: QueuedEvent) -> ResultRecord:
        started_at = self._clock()
        self._sleep(self.processing_seconds)
        return ResultRecord(
            account_id=event.account_id,
            seq=event.seq,
            type=event.type,
            received_at=event.received_at,
            started_at=started_at,
            finished_at=self._clock(),
            result=f"handled {event.type}",
            message_id=event.message_id,
            receive_count=event.receive_count,
        )

    def commit(self, results: list[ResultRecord]) -> int:
        """Store and log one group's results, in order; how many of them are done (stored or found stored)."""
        for done, (record, outcome) in enumerate(zip(results, self._store.put_run(results))):
            if isinstance(outcome, Exception):
                self._logger.warning("result not stored; the event and the rest of its group will be retried",
                                     extra={**_log_fields(record), "error": str(outcome)})
                return done
            self._logger.info("event processed" if outcome else "event already processed; redelivery ignored",
                              extra=_log_fields(record))
        return len(results)


def _log_fields(record: ResultRecord) -> dict[str, Any]:
    return {"account_id": record.account_id, "seq": record.seq, "event_type": record.type,
            "result": record.result, "started_at": record.started_at, "finished_at": record.finished_at,
            "message_id": record.message_id, "receive_count": record.receive_count}
