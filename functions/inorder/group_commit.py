"""Store the results of one batch's groups together: one call per round, not one per event.

Each group stores its results once, when its run in the batch is over (done, failed or out of
time) and before its messages are released: a result only needs to be durable before the message
that carried it leaves the queue, and one call per run instead of one per event is what keeps
the consumer's CPU for the work (the calls' cost is mostly per call, not per item).

An account's stored results must stay a prefix of its events in order: were a later result kept
and an earlier one refused, the retry would store the earlier one after it. So when a result of
a run is refused, the run's later results are taken out again (``ResultStore.remove``) and retried
with it. A call that fails whole has unknown outcomes and takes nothing out: only a refusal and a
lost answer in the same call could then leave a later result stored ahead of an earlier one
(a transaction per run would close that, at twice the write cost).

The groups of a batch can share a call. With equal work per event they end their runs at about
the same moment; a round waits until every group still running has its run ready (or
``linger_s`` at most, for a group still working) and one ``BatchExecuteStatement`` stores them
all, as a database's "group commit" does. A batch of one group never waits.

One ``GroupCommit`` serves one invocation: its groups are the batch's.
"""
from __future__ import annotations

import threading
from dataclasses import dataclass

from inorder.result_store import MAX_STATEMENTS, Outcome, ResultRecord, ResultStore, StoreError

LINGER_S = 0.01


@dataclass
class _Write:
    records: list[ResultRecord]
    outcomes: list[Outcome | Exception] | None = None


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

    def put_run(self, records: list[ResultRecord]) -> list[Outcome | Exception]:
        """Store one group's results, in order, with the others' round; an outcome per record.

        True: stored; False: already stored (a redelivery); an exception: not stored - and then
        neither is any later record of the run.
        """
        if not records:
            return []
        write = _Write(records)
        with self._changed:
            self._pending.append(write)
            self._changed.notify_all()
        while write.outcomes is None:
            round_ = self._take_round(write)
            if round_:
                self._store_round(round_)
        return write.outcomes

    def _take_round(self, write: _Write) -> list[_Write]:
        """Wait until ``write`` is done ([]) or it is this caller's turn to store a round."""
        with self._changed:
            self._changed.wait_for(lambda: write.outcomes is not None or not self._flushing)
            if write.outcomes is not None:
                return []
            self._flushing = True
            self._changed.wait_for(lambda: len(self._pending) >= self._writers, timeout=self._linger_s)
            size, count = 0, 0
            for pending in self._pending:
                if count and size + len(pending.records) > MAX_STATEMENTS:
                    break
                size, count = size + len(pending.records), count + 1
            round_, self._pending = self._pending[:count], self._pending[count:]
            return round_

    def _store_round(self, round_: list[_Write]) -> None:
        records = [record for write in round_ for record in write.records]
        outcomes: list[Outcome | Exception]
        try:
            outcomes = list(self._store.insert(records))
            if len(outcomes) != len(records):
                raise StoreError(f"{len(outcomes)} answers to {len(records)} statements")
        except Exception as error:  # noqa: BLE001 - the call failed whole: so did every write of the round
            outcomes = [error] * len(records)
        answers = iter(outcomes)
        results = [self._keep_prefix(write.records, [next(answers) for _ in write.records]) for write in round_]
        with self._changed:
            for write, result in zip(round_, results):
                write.outcomes = result
            self._flushing = False
            self._changed.notify_all()

    def _keep_prefix(self, records: list[ResultRecord],
                     outcomes: list[Outcome | Exception]) -> list[Outcome | Exception]:
        """Take out what this call stored after the run's first refused result: it is retried with it."""
        first = next((i for i, outcome in enumerate(outcomes) if isinstance(outcome, Exception)), len(outcomes))
        if first == len(outcomes):
            return outcomes
        later = [record for record, outcome in zip(records[first + 1:], outcomes[first + 1:]) if outcome is True]
        reason: Exception = StoreError("an earlier result of its group was refused")
        if later:
            try:
                self._store.remove(later)
                reason = StoreError("an earlier result of its group was refused; taken out again")
            except Exception as error:  # noqa: BLE001 - reported with each record it concerns
                reason = StoreError(f"stored after a refused result of its group and not taken out: {error}")
        return outcomes[:first + 1] + [reason] * (len(outcomes) - first - 1)
