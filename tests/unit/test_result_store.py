"""The results table through PartiQL INSERTs: once per key, answered per statement, in O(1) on moto."""
from __future__ import annotations

from typing import Any

import boto3
import pytest
from moto.dynamodb.models import table as moto_table

from inorder.result_store import ResultRecord, ResultStore, StoreError, from_item


def record(account: str, seq: int, result: str = "handled created") -> ResultRecord:
    return ResultRecord(account_id=account, seq=seq, type="created", received_at=1.5, started_at=2.25,
                        finished_at=3.0, result=result, message_id=f"m-{seq}", receive_count=2)


@pytest.fixture
def store(stack: Any) -> ResultStore:
    return ResultStore(boto3.client("dynamodb"), stack.ref("ResultsTable"), clock=lambda: 4.5)


def test_records_are_stored_whole_and_read_back_in_seq_order(store: ResultStore) -> None:
    assert store.insert([record("a", 2), record("a", 1), record("b", 1)]) == [True, True, True]
    assert [r["seq"] for r in store.results_for("a")] == [1, 2]
    assert store.results_for("b") == [{"account_id": "b", "seq": 1, "type": "created", "received_at": 1.5,
                                       "started_at": 2.25, "finished_at": 3.0, "result": "handled created",
                                       "message_id": "m-1", "receive_count": 2, "stored_at": 4.5}]


def test_a_result_already_stored_is_refused_and_kept(store: ResultStore) -> None:
    store.insert([record("a", 1)])
    assert store.insert([record("a", 2), record("a", 1, result="again")]) == [True, False]
    assert [r["result"] for r in store.results_for("a")] == ["handled created", "handled created"]


def test_a_refused_statement_fails_only_its_record(store: ResultStore, stack: Any) -> None:
    bad = ResultRecord(account_id="", seq=1, type="t", received_at=0, started_at=0, finished_at=0, result="r",
                       message_id="m", receive_count=1)  # an empty key: DynamoDB refuses it
    outcomes = store.insert([record("a", 1), bad])
    assert outcomes[0] is True and isinstance(outcomes[1], StoreError) and "ValidationError" in str(outcomes[1])
    items = boto3.client("dynamodb").scan(TableName=stack.ref("ResultsTable"))["Items"]
    assert [(i["account_id"], i["seq"]) for i in map(from_item, items)] == [("a", 1)]


def test_an_insert_does_not_read_the_whole_table(store: ResultStore, monkeypatch: pytest.MonkeyPatch) -> None:
    """moto's own PartiQL copies every item of every table per statement: O(table) per write."""
    store.insert([record("a", seq) for seq in range(1, 21)])

    def whole_table(*_: Any, **__: Any) -> Any:
        raise AssertionError("the insert read the whole table")

    monkeypatch.setattr(moto_table.Table, "all_items", whole_table)
    assert store.insert([record("b", 1), record("a", 1)]) == [True, False]
