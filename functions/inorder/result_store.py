"""The results table: one item per processed event, written at most once.

SQS delivers at least once (a consumer can die after the write and before the delete), so a
result is written with a PartiQL ``INSERT``, which DynamoDB refuses when the key exists: a
redelivered event finds its result already stored and is treated as done instead of recorded
twice. ``BatchExecuteStatement`` takes up to 25 such statements and answers each on its own, so
the results of several accounts go in one call at the price of one write each (a transaction
would cost two).
"""
from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, fields
from typing import Any

_NUMBERS = ("seq", "received_at", "started_at", "finished_at", "receive_count", "stored_at")
MAX_STATEMENTS = 25  # BatchExecuteStatement's limit


class StoreError(RuntimeError):
    """DynamoDB refused one result (throttled, invalid, ...): its event must be retried."""


Outcome = bool | StoreError  # per record: True stored, False already there, or why it was refused


@dataclass(frozen=True)
class ResultRecord:
    account_id: str
    seq: int
    type: str
    received_at: float
    started_at: float
    finished_at: float
    result: str
    message_id: str
    receive_count: int


class ResultStore:
    """Each item also gets ``stored_at``, when it was written: a group's results are written at the
    end of its run, so for all but the last ``finished_at`` is earlier than when the result is there."""

    def __init__(self, dynamodb: Any, table_name: str, clock: Callable[[], float] = time.time):
        self._dynamodb = dynamodb
        self._table = table_name
        self._clock = clock
        names = ", ".join(f"'{name}': ?" for name in [field.name for field in fields(ResultRecord)] + ["stored_at"])
        self._insert = f'INSERT INTO "{table_name}" VALUE {{{names}}}'

    def insert(self, records: Sequence[ResultRecord]) -> list[Outcome]:
        """Store up to 25 records in one call; an outcome per record."""
        now = self._clock()
        answer = self._dynamodb.batch_execute_statement(Statements=[
            {"Statement": self._insert, "Parameters": list(to_item({**asdict(record), "stored_at": now}).values())}
            for record in records])
        return [_outcome(response) for response in answer["Responses"]]

    def remove(self, records: Sequence[ResultRecord]) -> None:
        """Delete stored results again (a group's results stored after one that was refused)."""
        for record in records:
            self._dynamodb.delete_item(TableName=self._table, Key=to_item(
                {"account_id": record.account_id, "seq": record.seq}))

    def results_for(self, account_id: str) -> list[dict[str, Any]]:
        """The account's results in ``seq`` order (the table's sort key), all pages."""
        pages = self._dynamodb.get_paginator("query").paginate(
            TableName=self._table,
            KeyConditionExpression="account_id = :a",
            ExpressionAttributeValues={":a": {"S": account_id}},
            ConsistentRead=True,
        )
        return [from_item(item) for page in pages for item in page.get("Items", [])]


def _outcome(response: dict[str, Any]) -> Outcome:
    error = response.get("Error")
    if not error:
        return True
    if error.get("Code") == "DuplicateItem":
        return False
    return StoreError(f"{error.get('Code')}: {error.get('Message')}")


def to_item(values: dict[str, Any]) -> dict[str, dict[str, str]]:
    return {key: {"N": repr(value)} if key in _NUMBERS else {"S": str(value)} for key, value in values.items()}


def from_item(item: dict[str, dict[str, str]]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key, typed in item.items():
        (kind, value), = typed.items()
        if kind == "N":
            out[key] = int(value) if value.lstrip("-").isdigit() else float(value)
        else:
            out[key] = value
    return out
