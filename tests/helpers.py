"""Small helpers the tests share: reading a queue whole, and building Lambda events from events/."""
from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

EVENTS_DIR = Path(__file__).resolve().parent.parent / "events"


def sample_event(name: str) -> dict[str, Any]:
    return json.loads((EVENTS_DIR / name).read_text())


def post_events_request(body: Any, headers: dict[str, str] | None = None) -> dict[str, Any]:
    """The SAM-generated POST /events proxy event with ``body`` (JSON-encoded unless a str)."""
    event = copy.deepcopy(sample_event("post_events.json"))
    event["body"] = body if isinstance(body, str) or body is None else json.dumps(body)
    event["isBase64Encoded"] = False
    if headers is not None:
        event["headers"] = headers
        event["multiValueHeaders"] = {k: [v] for k, v in headers.items()}
    return event


def queue_messages(sqs: Any, queue_url: str) -> list[dict[str, Any]]:
    """Everything in the queue, received once with all attributes (for assertions)."""
    found: list[dict[str, Any]] = []
    while True:
        got = sqs.receive_message(QueueUrl=queue_url, MaxNumberOfMessages=10, VisibilityTimeout=300,
                                  MessageSystemAttributeNames=["All"]).get("Messages", [])
        if not got:
            return found
        found.extend(got)


def queue_depth(sqs: Any, queue_url: str) -> int:
    attributes = sqs.get_queue_attributes(QueueUrl=queue_url, AttributeNames=["All"])["Attributes"]
    return sum(int(attributes[k]) for k in ("ApproximateNumberOfMessages",
                                             "ApproximateNumberOfMessagesNotVisible"))


def lambda_context(name: str = "TestFunction", timeout_s: float = 30.0) -> Any:
    """A Lambda context as the local runtime makes it, with ``timeout_s`` left."""
    import time
    import uuid

    from local.lambda_runtime import LambdaContext

    return LambdaContext(name, 512, f"arn:aws:lambda:us-east-1:123456789012:function:{name}",
                         str(uuid.uuid4()), time.monotonic() + timeout_s)
