"""The ingest use case: an HTTP request body in, a status and a JSON answer out.

Every check that can refuse the request runs before the first message is sent, so a refused
request never leaves part of itself in the queue.
"""
from __future__ import annotations

import json
import time
from collections.abc import Callable
from typing import Any

from inorder.models import InvalidRequest, Problem, parse_events_request
from inorder.queue_writer import QueueWriter

# Under Lambda's 6 MB synchronous payload limit, with room for the rest of the API Gateway event.
MAX_BODY_BYTES = 5 * 1024 * 1024

Answer = tuple[int, dict[str, Any]]


class IngestService:
    def __init__(self, writer: QueueWriter, clock: Callable[[], float] = time.time):
        self._writer = writer
        self._clock = clock

    def accept(self, body: str | None, content_type: str | None, request_id: str) -> Answer:
        refusal = _refuse_envelope(body, content_type)
        if refusal:
            return refusal
        try:
            events = parse_events_request(json.loads(body or "", parse_constant=_refuse_constant))
        except (ValueError, RecursionError) as error:  # JSONDecodeError, huge integers, absurd nesting
            return _invalid([Problem(None, "body", f"malformed JSON: {str(error)[:200]}")])
        except InvalidRequest as error:
            return _invalid(error.problems)
        outcome = self._writer.enqueue(events, self._clock(), request_id)
        if not outcome.refused:
            return 202, {"accepted": outcome.accepted, "request_id": request_id}
        return 503, {
            "message": "the queue did not take some events; retrying the same request is safe",
            "accepted": outcome.accepted,
            "not_accepted": [r.as_dict() for r in outcome.refused],
            "request_id": request_id,
        }


def _refuse_constant(name: str) -> None:
    """NaN and Infinity are not JSON; Python's parser would let them through to the queue."""
    raise ValueError(f"{name} is not a JSON value")


def _refuse_envelope(body: str | None, content_type: str | None) -> Answer | None:
    media_type = (content_type or "").split(";")[0].strip().lower()
    if media_type != "application/json":
        return 415, {"message": f"Content-Type must be application/json, got {content_type or 'none'}"}
    if not body:
        return _invalid([Problem(None, "body", "the body is empty; send {\"events\": [...]}")])
    if len(body.encode()) > MAX_BODY_BYTES:
        return 413, {"message": f"the body is larger than {MAX_BODY_BYTES} bytes; send fewer events per request"}
    return None


def _invalid(problems: list[Problem]) -> Answer:
    return 400, {"message": "invalid request; nothing was enqueued",
                 "errors": [p.as_dict() for p in problems]}
