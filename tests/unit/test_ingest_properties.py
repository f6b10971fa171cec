"""Generated garbage against the real ingest handler: never a 5xx, never an enqueue on a 4xx.

Each property calls ``ingest.app.handler`` with the SAM-generated POST /events proxy event and the
template's queue on in-process moto (the ``stack`` fixture). A handler that raises counts as a
5xx: Lambda reports an unhandled error and API Gateway answers 502.

The ``stack`` fixture is function-scoped while Hypothesis runs many examples in one call, so its
health check is suppressed on purpose: no example needs a fresh stack, because every example
measures the queue depth before and after itself, and the 202 accounting knows which events a
previous example already sent (SQS deduplicates ``account_id:seq`` for five minutes, exactly what
makes a client's retry safe, so a repeat is enqueued zero times, not once).
"""
from __future__ import annotations

import base64
import json
import string
import uuid
from typing import Any

import boto3
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from inorder.models import MAX_EVENTS_PER_REQUEST, MAX_PAYLOAD_BYTES, MAX_PAYLOAD_DEPTH
from tests.helpers import lambda_context, post_events_request, queue_depth

FIELDS = ("account_id", "seq", "type", "payload")
ACCOUNT_ALPHABET = string.ascii_letters + string.digits + "_.:-"
MAX_SEQ = 2**63 - 1

PROPERTY = settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture,
                                                                           HealthCheck.too_slow])


class Ingest:
    """The handler plus the bookkeeping every property asserts with."""

    def __init__(self, stack: Any):
        self.sqs = boto3.client("sqs")
        self.queue = stack.ref("EventsQueue")
        self.sent: set[tuple[str, int]] = set()  # (account_id, seq) SQS has already taken

    def post(self, body: Any, headers: dict[str, str] | None = None, *, raw: bytes | None = None) -> tuple[int, Any]:
        """Post and assert the invariants; return (status, decoded answer)."""
        event = post_events_request(body, headers)
        if raw is not None:  # what the local API Gateway sends: text if UTF-8, else base64
            try:
                event["body"], event["isBase64Encoded"] = raw.decode("utf-8"), False
            except UnicodeDecodeError:
                event["body"], event["isBase64Encoded"] = base64.b64encode(raw).decode(), True
        event["requestContext"]["requestId"] = str(uuid.uuid4())
        before = queue_depth(self.sqs, self.queue)
        status, answer = invoke(event)
        enqueued = queue_depth(self.sqs, self.queue) - before
        assert status < 500, (status, answer)
        assert isinstance(answer, dict) and isinstance(answer.get("message", ""), str), answer
        if 400 <= status < 500:
            assert enqueued == 0, f"a {status} left {enqueued} message(s) in the queue"
            assert answer["message"]
        else:
            assert status == 202, (status, answer)
            keys = [(e["account_id"], e["seq"]) for e in json.loads(event["body"])["events"]]
            assert answer["accepted"] == len(keys)
            assert enqueued == len(set(keys) - self.sent), "every accepted event not sent before is in the queue"
            self.sent.update(keys)
        return status, answer


def invoke(event: dict[str, Any]) -> tuple[int, Any]:
    from ingest.app import handler

    try:
        response = handler(event, lambda_context("IngestFunction"))
    except Exception as error:  # noqa: BLE001 - an unhandled error is what API Gateway answers 502 for
        return 502, {"message": f"unhandled {type(error).__name__}: {error}"}
    return response["statusCode"], json.loads(response["body"])


@pytest.fixture
def ingest(stack: Any) -> Ingest:
    return Ingest(stack)


# --- strategies -------------------------------------------------------------------------------

json_scalars = st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False, allow_infinity=False) | st.text(max_size=20)
json_values = st.recursive(json_scalars, lambda inner: st.lists(inner, max_size=4)
                           | st.dictionaries(st.text(max_size=8), inner, max_size=4), max_leaves=20)
account_ids = st.text(ACCOUNT_ALPHABET, min_size=1, max_size=128)
event_types = st.text(min_size=1, max_size=64)
payloads = st.none() | st.dictionaries(st.text(max_size=8), json_values, max_size=4).filter(
    lambda p: depth(p) <= MAX_PAYLOAD_DEPTH)


def depth(value: Any) -> int:
    """Levels of nesting as the contract counts them: {"a": 1} is 1, {"a": [1]} is 2."""
    children = list(value.values()) if isinstance(value, dict) else value if isinstance(value, list) else None
    return 0 if children is None else 1 + max(map(depth, children), default=0)


@st.composite
def valid_events(draw: st.DrawFn, max_size: int = 12) -> list[dict[str, Any]]:
    """1..max_size valid events over a few accounts, each account's seq strictly increasing."""
    accounts = draw(st.lists(account_ids, min_size=1, max_size=4, unique=True))
    owners = draw(st.lists(st.sampled_from(accounts), min_size=1, max_size=max_size))
    next_seq = {a: draw(st.integers(1, MAX_SEQ - 100)) for a in accounts}
    events = []
    for account in owners:
        event: dict[str, Any] = {"account_id": account, "seq": next_seq[account], "type": draw(event_types)}
        next_seq[account] += draw(st.integers(1, 3))
        if (payload := draw(payloads)) is not None or draw(st.booleans()):
            event["payload"] = payload
        events.append(event)
    return events


def _deep(depth: int) -> dict[str, Any]:
    value: Any = 1
    for level in range(depth):
        value = {"d": value} if level % 2 else [value]
    return value if isinstance(value, dict) else {"d": value}


@st.composite
def forbidden_account_ids(draw: st.DrawFn) -> str:
    good = draw(st.text(ACCOUNT_ALPHABET, max_size=20))
    bad = draw(st.characters(exclude_characters=ACCOUNT_ALPHABET))
    at = draw(st.integers(0, len(good)))
    return good[:at] + bad + good[at:]


@st.composite
def one_field_broken(draw: st.DrawFn) -> tuple[list[dict[str, Any]], int, str]:
    """A valid request with one event's one thing made invalid; (events, index, field named in the 400)."""
    events = draw(valid_events())
    index = draw(st.integers(0, len(events) - 1))
    event = events[index]
    not_a_string = st.none() | st.booleans() | st.integers() | st.floats() | st.lists(st.integers(), max_size=2) \
        | st.dictionaries(st.text(max_size=3), st.integers(), max_size=2)
    not_an_integer = st.none() | st.booleans() | st.floats() | st.text(max_size=5) | st.lists(st.integers(), max_size=2)
    mutations: dict[str, Any] = {
        "account_id": st.one_of(st.just(""), st.text(ACCOUNT_ALPHABET, min_size=129, max_size=200),
                                forbidden_account_ids(), not_a_string),
        "seq": st.one_of(st.integers(max_value=0), st.integers(min_value=MAX_SEQ + 1), not_an_integer),
        "type": st.one_of(st.just(""), st.text(min_size=65, max_size=80), not_a_string),
        "payload": st.one_of(st.booleans(), st.integers(), st.floats(), st.text(max_size=5),
                             st.lists(st.integers(), max_size=2),
                             st.integers(MAX_PAYLOAD_DEPTH + 1, 40).map(_deep),
                             st.just({"big": "x" * MAX_PAYLOAD_BYTES})),
    }
    kind = draw(st.sampled_from(["missing", "wrong", "unknown", "order"]))
    earlier = [e["seq"] for e in events[:index] if e["account_id"] == event["account_id"]]
    if kind == "order" and earlier:
        event["seq"] = draw(st.integers(1, max(earlier)))
        return events, index, "seq"
    if kind == "missing":
        field = draw(st.sampled_from(["account_id", "seq", "type"]))
        del event[field]
        return events, index, field
    if kind == "unknown" or kind == "order":
        name = draw(st.text(min_size=1, max_size=10).filter(lambda n: n not in FIELDS))
        event[name] = draw(json_values)
        return events, index, name
    field = draw(st.sampled_from(FIELDS))
    event[field] = draw(mutations[field])
    return events, index, field


content_types = st.one_of(
    st.none(),
    st.sampled_from(["application/json", "application/json; charset=utf-8", "APPLICATION/JSON ; q=1",
                     "text/plain", "text/json", "application/jsonx", "application/x-www-form-urlencoded",
                     "multipart/form-data; boundary=x", "", ";application/json"]),
    st.text(max_size=40),
)


# --- properties -------------------------------------------------------------------------------

@PROPERTY
@given(body=json_values | st.fixed_dictionaries({"events": json_values})
       | st.fixed_dictionaries({"events": st.lists(st.dictionaries(st.sampled_from(FIELDS), json_values), max_size=5)}))
def test_arbitrary_json_is_never_a_5xx_and_a_4xx_enqueues_nothing(ingest: Ingest, body: Any) -> None:
    ingest.post(body)


@PROPERTY
@given(body=st.text(max_size=300))
def test_arbitrary_text_bodies_are_never_a_5xx(ingest: Ingest, body: str) -> None:
    status, answer = ingest.post(body)
    if status == 400:
        assert answer["errors"], "a 400 names its problems"


@PROPERTY
@given(events=valid_events())
def test_valid_requests_are_accepted_whole(ingest: Ingest, events: list[dict[str, Any]]) -> None:
    status, answer = ingest.post({"events": events})
    assert status == 202 and answer["accepted"] == len(events)


@PROPERTY
@given(broken=one_field_broken())
def test_one_broken_field_refuses_the_whole_request_and_names_it(ingest: Ingest,
                                                                  broken: tuple[list[dict[str, Any]], int, str]) -> None:
    events, index, field = broken
    status, answer = ingest.post({"events": events})
    assert status == 400, answer
    assert (index, field) in {(e["index"], e["field"]) for e in answer["errors"]}, answer["errors"]


@PROPERTY
@given(events=valid_events(max_size=3), content_type=content_types,
       header=st.sampled_from(["Content-Type", "content-type", "CONTENT-TYPE"]))
def test_only_application_json_is_taken(ingest: Ingest, events: list[dict[str, Any]], content_type: str | None,
                                        header: str) -> None:
    headers = {"x-api-key": "k"} if content_type is None else {header: content_type, "x-api-key": "k"}
    status, answer = ingest.post({"events": events}, headers)
    is_json = (content_type or "").split(";")[0].strip().lower() == "application/json"
    assert status == (202 if is_json else 415), (content_type, answer)


@pytest.mark.parametrize("count", [0, MAX_EVENTS_PER_REQUEST + 1])
def test_events_outside_1_to_1000_are_400_at_the_handler(ingest: Ingest, count: int) -> None:
    events = [{"account_id": "many", "seq": i + 1, "type": "t"} for i in range(count)]
    status, answer = ingest.post({"events": events})
    assert status == 400 and [(e["index"], e["field"]) for e in answer["errors"]] == [(None, "events")]


def test_exactly_1000_events_are_accepted_and_enqueued(ingest: Ingest) -> None:
    events = [{"account_id": f"edge-{i % 37}", "seq": i + 1, "type": "t"} for i in range(MAX_EVENTS_PER_REQUEST)]
    status, answer = ingest.post({"events": events})  # post() also checks all 1,000 are in the queue
    assert status == 202 and answer["accepted"] == MAX_EVENTS_PER_REQUEST


# --- bodies that once crashed the handler (a 502 instead of a 400) ---------------------------------

@pytest.mark.parametrize("body", [
    "[" * 100_000 + "]" * 100_000,
    '{"events":[{"account_id":"a","seq":1,"type":"t","payload":' + '{"a":' * 5_000 + "1" + "}" * 5_000 + "}]}",
], ids=["deep-body", "deep-payload"])
def test_deeply_nested_json_is_400_not_a_crash(ingest: Ingest, body: str) -> None:
    assert ingest.post(body)[0] == 400


def test_a_huge_integer_is_400_not_a_crash(ingest: Ingest) -> None:
    assert ingest.post('{"events":[{"account_id":"a","seq":' + "1" * 5_000 + ',"type":"t"}]}')[0] == 400


def test_a_body_that_is_not_utf8_is_400_not_a_crash(ingest: Ingest) -> None:
    assert ingest.post(None, raw=b'{"events": "\xff"}')[0] == 400


@pytest.mark.parametrize("constant", ["NaN", "Infinity", "-Infinity"])
def test_nan_and_infinity_are_not_json(ingest: Ingest, constant: str) -> None:
    assert ingest.post('{"events":[{"account_id":"a","seq":1,"type":"t","payload":{"x":' + constant + '}}]}')[0] == 400


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(raw=st.binary(max_size=200))
def test_random_bytes_as_the_gateway_sends_them_are_never_a_5xx(ingest: Ingest, raw: bytes) -> None:
    ingest.post(None, raw=raw)
