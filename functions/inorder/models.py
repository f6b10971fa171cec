"""The event contract (DESIGN.md, Contracts) and whole-request validation.

A request is accepted or refused as a unit: every problem of every event is collected and
returned together, and nothing is enqueued unless there are none. That lets a client fix a
block in one round trip and guarantees that a refused request left no partial trace.
"""
from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field, StringConstraints, ValidationError, field_validator

MAX_EVENTS_PER_REQUEST = 1000
MAX_PAYLOAD_BYTES = 16 * 1024
MAX_PAYLOAD_DEPTH = 16
ACCOUNT_ID_PATTERN = r"^[A-Za-z0-9_.:-]{1,128}$"

AccountId = Annotated[str, StringConstraints(min_length=1, max_length=128, pattern=ACCOUNT_ID_PATTERN)]


class Event(BaseModel):
    """One event as a client sends it; ``seq`` orders an account's events."""

    model_config = ConfigDict(extra="forbid", strict=True, frozen=True)

    account_id: AccountId
    seq: Annotated[int, Field(ge=1, le=2**63 - 1)]
    type: Annotated[str, StringConstraints(min_length=1, max_length=64)]
    payload: dict[str, Any] | None = None

    @field_validator("payload")
    @classmethod
    def _bounded_payload(cls, payload: dict[str, Any] | None) -> dict[str, Any] | None:
        # Bounded so that ten events always fit one SendMessageBatch and a hostile body
        # cannot make the consumer recurse without end.
        if payload is None:
            return None
        if _depth(payload) > MAX_PAYLOAD_DEPTH:
            raise ValueError(f"payload nests deeper than {MAX_PAYLOAD_DEPTH} levels")
        if len(json.dumps(payload, separators=(",", ":"))) > MAX_PAYLOAD_BYTES:
            raise ValueError(f"payload is larger than {MAX_PAYLOAD_BYTES} bytes as JSON")
        return payload


@dataclass(frozen=True)
class Problem:
    """One reason a request was refused; ``index`` is the event's position, None for the request."""

    index: int | None
    field: str
    message: str

    def as_dict(self) -> dict[str, Any]:
        return {"index": self.index, "field": self.field, "message": self.message}


class InvalidRequest(Exception):
    def __init__(self, problems: list[Problem]):
        super().__init__(f"{len(problems)} problem(s) in the request")
        self.problems = problems


def parse_events_request(body: Any) -> list[Event]:
    """Validate a decoded ``{"events": [...]}`` body whole; raise InvalidRequest with every problem."""
    if not isinstance(body, dict):
        raise InvalidRequest([Problem(None, "body", "the body must be a JSON object with an 'events' list")])
    extra = sorted(set(body) - {"events"})
    problems = [Problem(None, name, "unknown field") for name in extra]
    raw = body.get("events")
    if not isinstance(raw, list) or not 1 <= len(raw) <= MAX_EVENTS_PER_REQUEST:
        message = f"'events' must be a list of 1 to {MAX_EVENTS_PER_REQUEST} events"
        if isinstance(raw, list):
            message += f", got {len(raw)}"
        raise InvalidRequest([*problems, Problem(None, "events", message)])
    events: list[Event] = []
    for index, item in enumerate(raw):
        try:
            events.append(Event.model_validate(item))
        except ValidationError as error:
            problems.extend(_problems_of(index, error))
    if not problems:
        problems = _order_problems(events)
    if problems:
        raise InvalidRequest(problems)
    return events


def _problems_of(index: int, error: ValidationError) -> list[Problem]:
    found = []
    for detail in error.errors(include_url=False):
        field = ".".join(str(part) for part in detail["loc"]) or "event"
        found.append(Problem(index, field, detail["msg"]))
    return found


def _order_problems(events: list[Event]) -> list[Problem]:
    """Within one request an account's events must come in increasing ``seq`` order."""
    last_seq: dict[str, int] = {}
    problems = []
    for index, event in enumerate(events):
        previous = last_seq.get(event.account_id)
        if previous is not None and event.seq <= previous:
            problems.append(Problem(index, "seq", f"seq {event.seq} of account {event.account_id!r} "
                                                  f"does not follow seq {previous} sent before it"))
        last_seq[event.account_id] = max(event.seq, previous or 0)
    return problems


def _depth(value: Any, level: int = 1) -> int:
    """Nesting depth, stopping early so a pathological document costs little."""
    if level > MAX_PAYLOAD_DEPTH + 1:
        return level
    if isinstance(value, dict):
        return max((_depth(v, level + 1) for v in value.values()), default=level)
    if isinstance(value, list):
        return max((_depth(v, level + 1) for v in value), default=level)
    return level - 1
