"""How an event travels through SQS FIFO: body, group, deduplication id, and back.

``MessageGroupId = account_id`` is what gives per-account order; ``account_id:seq`` as the
deduplication id is what makes a client's retry of the same request safe within SQS's
5-minute window.
"""
from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from typing import Any

from inorder.models import Event

MAX_DEDUP_ID_LENGTH = 128


def deduplication_id(account_id: str, seq: int) -> str:
    raw = f"{account_id}:{seq}"
    if len(raw) <= MAX_DEDUP_ID_LENGTH:
        return raw
    return hashlib.sha256(raw.encode()).hexdigest()


def encode_body(event: Event, received_at: float, request_id: str) -> str:
    body = event.model_dump(exclude_none=True)
    body.update(received_at=received_at, request_id=request_id)
    return json.dumps(body, separators=(",", ":"))


@dataclass(frozen=True)
class QueuedEvent:
    """An event as the processor sees it: the client's fields plus what SQS and ingest added."""

    account_id: str
    seq: int
    type: str
    payload: dict[str, Any] | None
    received_at: float
    request_id: str
    message_id: str
    receive_count: int


def decode_record(record: dict[str, Any]) -> QueuedEvent:
    """Read one record of a Lambda SQS event (the shape the event source mapping sends)."""
    body = json.loads(record["body"])
    return QueuedEvent(
        account_id=body["account_id"],
        seq=int(body["seq"]),
        type=body["type"],
        payload=body.get("payload"),
        received_at=float(body["received_at"]),
        request_id=str(body.get("request_id", "")),
        message_id=record["messageId"],
        receive_count=int(record.get("attributes", {}).get("ApproximateReceiveCount", "1")),
    )
