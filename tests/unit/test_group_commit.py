"""Group commit: the groups of a batch share result writes, and each still waits for its own."""
from __future__ import annotations

import threading
from collections.abc import Sequence
from typing import Any

from inorder.group_commit import GroupCommit
from inorder.result_store import ResultRecord, StoreError


def record(account: str, seq: int = 1) -> ResultRecord:
    return ResultRecord(account_id=account, seq=seq, type="t", received_at=0.0, started_at=0.0, finished_at=0.0,
                        result="r", message_id=f"m-{account}-{seq}", receive_count=1)


class Store:
    """Records each call; answers per record from ``answers`` (default: stored)."""

    def __init__(self, answers: dict[str, bool | StoreError] | None = None, fail: Exception | None = None):
        self.calls: list[list[str]] = []
        self._answers = answers or {}
        self._fail = fail

    def insert(self, records: Sequence[ResultRecord]) -> list[bool | StoreError]:
        self.calls.append([r.account_id for r in records])
        if self._fail:
            raise self._fail
        return [self._answers.get(r.account_id, True) for r in records]


def put_side_by_side(commit: GroupCommit, accounts: list[str]) -> dict[str, Any]:
    """Each account's put_once from its own thread, as the groups of a batch do; outcome or error per account."""
    outcomes: dict[str, Any] = {}

    def put(account: str) -> None:
        try:
            outcomes[account] = commit.put_once(record(account))
        except Exception as error:  # noqa: BLE001 - the outcome under test
            outcomes[account] = error

    threads = [threading.Thread(target=put, args=(a,)) for a in accounts]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(10)
    return outcomes


def test_groups_writing_at_the_same_time_share_one_call() -> None:
    store = Store()
    commit = GroupCommit(store, writers=3, linger_s=10)  # a call waits for all three, however slow
    assert put_side_by_side(commit, ["a", "b", "c"]) == {"a": True, "b": True, "c": True}
    assert [sorted(call) for call in store.calls] == [["a", "b", "c"]]


def test_a_write_does_not_wait_for_groups_that_are_done() -> None:
    store = Store()
    commit = GroupCommit(store, writers=3, linger_s=10)
    commit.leave()
    commit.leave()
    finished = threading.Event()
    threading.Thread(target=lambda: (commit.put_once(record("a")), finished.set())).start()
    assert finished.wait(5), "a lone writer waited for groups that had left"
    assert store.calls == [["a"]]


def test_a_write_waits_at_most_the_linger_for_a_group_still_working() -> None:
    store = Store()
    commit = GroupCommit(store, writers=2, linger_s=0.05)  # the other group never writes
    assert commit.put_once(record("a")) is True
    assert store.calls == [["a"]]


def test_each_writer_gets_its_own_outcome() -> None:
    refused = StoreError("ThrottlingError: slow down")
    commit = GroupCommit(Store({"b": False, "c": refused}), writers=3, linger_s=10)
    outcomes = put_side_by_side(commit, ["a", "b", "c"])
    assert outcomes == {"a": True, "b": False, "c": refused}


def test_a_failed_call_fails_every_write_of_its_round() -> None:
    commit = GroupCommit(Store(fail=ConnectionError("reset")), writers=2, linger_s=10)
    outcomes = put_side_by_side(commit, ["a", "b"])
    assert all(isinstance(outcomes[a], ConnectionError) for a in "ab")


def test_rounds_follow_each_other_for_one_writer() -> None:
    store = Store()
    commit = GroupCommit(store, writers=1)
    for seq in (1, 2, 3):
        assert commit.put_once(record("a", seq)) is True
    assert store.calls == [["a"], ["a"], ["a"]]
