"""Store the results of one batch's groups together: one call per round, not one per event.

A group must see an event's result stored before it starts its next event: had a later result
been stored and an earlier one refused, the retry would put the account's results out of order.
So a group cannot run ahead of its own writes - but the groups of a batch can share a call.
They run side by side and, with equal work per event, reach their writes at about the same
moment; a write waits until every group still running has its write ready (or ``linger_s`` at
most, for a group still working) and one ``BatchExecuteStatement`` stores them all, as a
database's "group commit" does. A batch of one group never waits.

One ``GroupCommit`` serves one invocation: its groups are the batch's.
"""
from __future__ import annotations

import threading
from dataclasses import dataclass

from inorder.result_store import MAX_STATEMENTS, ResultRecord, ResultStore, StoreError

LINGER_S = 0.01


@dataclass
class _Write:
    record: ResultRecord
    outcome: bool | Exception | None = None

    @property
    def done(self) -> bool:
        return self.outcome is not None


class GroupCommit:
    def __init__(self, store: ResultStore, writers: int, linger_s: float = LINGER_S):
        self._store = store
        self._writers = writers
        self._linger_s = linger_s
        self._pending: list[_Write] = []
        self._flushing = False
        self._changed = threading.Condition()

    def leave(self) -> None:
        """One writer (a group) is done: the others stop waiting for it."""
        with self._changed:
            self._writers -= 1
            self._changed.notify_all()

    def put_once(self, record: ResultRecord) -> bool:
        """Store ``record`` with the others' round; False when its result was already stored."""
        write = _Write(record)
        with self._changed:
            self._pending.append(write)
            self._changed.notify_all()
        while not write.done:
            round_ = self._take_round(write)
            if round_:
                self._store_round(round_)
        if isinstance(write.outcome, Exception):
            raise write.outcome
        return bool(write.outcome)

    def _take_round(self, write: _Write) -> list[_Write]:
        """Wait until ``write`` is done ([]) or it is this caller's turn to store a round."""
        with self._changed:
            self._changed.wait_for(lambda: write.done or not self._flushing)
            if write.done:
                return []
            self._flushing = True
            self._changed.wait_for(lambda: len(self._pending) >= self._writers, timeout=self._linger_s)
            round_, self._pending = self._pending[:MAX_STATEMENTS], self._pending[MAX_STATEMENTS:]
            return round_

    def _store_round(self, round_: list[_Write]) -> None:
        outcomes: list[bool | StoreError] | list[Exception]
        try:
            outcomes = self._store.insert([write.record for write in round_])
            if len(outcomes) != len(round_):
                raise StoreError(f"{len(outcomes)} answers to {len(round_)} statements")
        except Exception as error:  # noqa: BLE001 - the call failed whole: so did every write of the round
            outcomes = [error] * len(round_)
        with self._changed:
            for write, outcome in zip(round_, outcomes):
                write.outcome = outcome
            self._flushing = False
            self._changed.notify_all()
