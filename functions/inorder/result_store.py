"""The results table: one item per processed event, written at most once.

SQS delivers at least once (a consumer can die after the write and before the delete), so the
write is conditional on the item not existing: a redelivered event finds its result already
stored and is treated as done instead of recorded twice.
"""
from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

from botocore.exceptions import ClientError

_NUMBERS = ("seq", "received_at", "started_at", "finished_at", "receive_count")


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
    def __init__(self, dynamodb: Any, table_name: str):
        self._dynamodb = dynamodb
        self._table = table_name

    def put_once(self, record: ResultRecord) -> bool:
        """Store ``record``; False when a result for (account_id, seq) was already there."""
        try:
            self._dynamodb.put_item(
                TableName=self._table,
                Item=to_item(asdict(record)),
                ConditionExpression="attribute_not_exists(seq)",
            )
        except ClientError as error:
            if error.response.get("Error", {}).get("Code") == "ConditionalCheckFailedException":
                return False
            raise
        return True

    def results_for(self, account_id: str) -> list[dict[str, Any]]:
        """The account's results in ``seq`` order (the table's sort key), all pages."""
        pages = self._dynamodb.get_paginator("query").paginate(
            TableName=self._table,
            KeyConditionExpression="account_id = :a",
            ExpressionAttributeValues={":a": {"S": account_id}},
            ConsistentRead=True,
        )
        return [from_item(item) for page in pages for item in page.get("Items", [])]


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
