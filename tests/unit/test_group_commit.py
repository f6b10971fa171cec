"""Group commit: each group stores its run in one go, the groups of a batch share calls, and an
account's stored results stay a prefix of its events when a result is refused."""
from __future__ import annotations

import threading
from collections.abc import Sequence
from typing import Any

from inorder.group_commit import GroupCommit
from inorder.result_store import ResultRecord, StoreError

Key = tuple[str, int]


def record(account: str, seq: int = 1) -> ResultRecord:
    return ResultRecord(account_id=account, seq=seq, type="t", received_at=0.0, started_at=0.0, finished_at=0.0,
                        result="r", message_id=f"m-{account}-{seq}", receive_count=1)


def run(account: str, events: int = 1) -> list[ResultRecord]:
    return [record(account, seq) for seq in range(1, events + 1)]


class Store:
    """A table in memory; answers per (account, seq) from ``answers`` (default: stored), or fails whole."""

    def __init__(self, answers: dict[Key, bool | StoreError] | None = None, fail: Exception | None = None,
                 fail_remove: Exception | None = None):
        self.calls: list[list[Key]] = []
        self.table: set[Key] = set()
        self.removed: list[Key] = []
        self._answers = answers or {}
        self._fail, self._fail_remove = fail, fail_remove

    def insert(self, records: Sequence[ResultRecord]) -> list[bool | StoreError]:
        keys = [(r.account_id, r.seq) for r in records]
        self.calls.append(keys)
        if self._fail:
            raise self._fail
        outcomes = [self._answers.get(key, True) for key in keys]
        self.table.update(key for key, outcome in zip(keys, outcomes) if outcome is True)
        return outcomes

    def remove(self, records: Sequence[ResultRecord]) -> None:
        if self._fail_remove:
            raise self._fail_remove
        for r in records:
            self.removed.append((r.account_id, r.seq))
            self.table.discard((r.account_id, r.seq))


def put_side_by_side(commit: GroupCommit, runs: dict[str, list[ResultRecord]]) -> dict[str, list[Any]]:
    """Each account's put_run from its own thread, then leave, as the groups of a batch do; the outcomes."""
    outcomes: dict[str, list[Any]] = {}

    def put(account: str) -> None:
        outcomes[account] = commit.put_run(runs[account])
        commit.leave()

    threads = [threading.Thread(target=put, args=(a,)) for a in runs]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(10)
    return outcomes


def test_a_group_s_run_is_stored_in_one_call() -> None:
    store = Store()
    assert GroupCommit(store, writers=1).put_run(run("a", 5)) == [True] * 5
    assert store.calls == [[("a", seq) for seq in range(1, 6)]]


def test_groups_writing_at_the_same_time_share_one_call() -> None:
    store = Store()
    commit = GroupCommit(store, writers=3, linger_s=10)  # a call waits for all three, however slow
    outcomes = put_side_by_side(commit, {"a": run("a", 2), "b": run("b"), "c": run("c", 3)})
    assert outcomes == {"a": [True] * 2, "b": [True], "c": [True] * 3}
    assert [sorted(call) for call in store.calls] == [sorted([("a", 1), ("a", 2), ("b", 1), ("c", 1), ("c", 2),
                                                              ("c", 3)])]


def test_a_round_holds_at_most_25_statements_and_never_splits_a_run() -> None:
    store = Store()
    commit = GroupCommit(store, writers=3, linger_s=10)
    put_side_by_side(commit, {"a": run("a", 10), "b": run("b", 10), "c": run("c", 10)})
    assert sorted(len(call) for call in store.calls) == [10, 20]
    assert all(len({account for account, _ in call}) * 10 == len(call) for call in store.calls)


def test_a_write_does_not_wait_for_groups_that_are_done() -> None:
    store = Store()
    commit = GroupCommit(store, writers=3, linger_s=10)
    commit.leave()
    commit.leave()
    finished = threading.Event()
    threading.Thread(target=lambda: (commit.put_run(run("a")), finished.set())).start()
    assert finished.wait(5), "a lone writer waited for groups that had left"
    assert store.calls == [[("a", 1)]]


def test_a_write_waits_at_most_the_linger_for_a_group_still_working() -> None:
    store = Store()
    commit = GroupCommit(store, writers=2, linger_s=0.05)  # the other group never writes
    assert commit.put_run(run("a")) == [True]
    assert store.calls == [[("a", 1)]]


def test_each_writer_gets_its_own_outcomes() -> None:
    refused = StoreError("ThrottlingError: slow down")
    commit = GroupCommit(Store({("b", 1): False, ("c", 1): refused}), writers=3, linger_s=10)
    assert put_side_by_side(commit, {"a": run("a"), "b": run("b"), "c": run("c")}) == {
        "a": [True], "b": [False], "c": [refused]}


def test_results_stored_after_a_refused_one_are_taken_out_again() -> None:
    refused = StoreError("ThrottlingError: slow down")
    store = Store({("a", 2): refused, ("a", 4): False})  # seq 4 was stored by an earlier delivery
    outcomes = GroupCommit(store, writers=1).put_run(run("a", 5))
    assert outcomes[:2] == [True, refused]
    assert all(isinstance(o, StoreError) and "taken out again" in str(o) for o in outcomes[2:])
    assert store.removed == [("a", 3), ("a", 5)]  # what this call stored; not what an earlier one did
    assert store.table == {("a", 1)}


def test_a_failed_removal_is_reported_with_each_record_it_concerns() -> None:
    store = Store({("a", 1): StoreError("ThrottlingError")}, fail_remove=ConnectionError("reset"))
    outcomes = GroupCommit(store, writers=1).put_run(run("a", 3))
    assert all("not taken out: reset" in str(o) for o in outcomes[1:])


def test_a_failed_call_fails_every_write_of_its_round() -> None:
    commit = GroupCommit(Store(fail=ConnectionError("reset")), writers=2, linger_s=10)
    outcomes = put_side_by_side(commit, {"a": run("a", 2), "b": run("b")})
    assert isinstance(outcomes["a"][0], ConnectionError) and isinstance(outcomes["b"][0], ConnectionError)
    assert isinstance(outcomes["a"][1], StoreError)  # not stored after a result that was not


def test_rounds_follow_each_other_for_one_writer() -> None:
    store = Store()
    commit = GroupCommit(store, writers=1)
    for seq in (1, 2, 3):
        assert commit.put_run([record("a", seq)]) == [True]
    assert store.calls == [[("a", 1)], [("a", 2)], [("a", 3)]]


def test_an_empty_run_costs_no_call() -> None:
    store = Store()
    assert GroupCommit(store, writers=1).put_run([]) == []
    assert store.calls == []
