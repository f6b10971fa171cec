"""The event contract: every problem reported at once, with its index and field."""
from __future__ import annotations

from typing import Any

import pytest

from inorder.models import MAX_EVENTS_PER_REQUEST, InvalidRequest, parse_events_request


def event(**overrides: Any) -> dict[str, Any]:
    base: dict[str, Any] = {"account_id": "acct-1", "seq": 1, "type": "created"}
    base.update(overrides)
    return {k: v for k, v in base.items() if v is not ...}


def problems(body: Any) -> list[tuple[Any, str]]:
    with pytest.raises(InvalidRequest) as caught:
        parse_events_request(body)
    return [(p.index, p.field) for p in caught.value.problems]


def test_a_valid_request_parses_in_order() -> None:
    events = parse_events_request({"events": [event(), event(seq=2, payload={"k": [1, 2]}), event(account_id="b")]})
    assert [(e.account_id, e.seq) for e in events] == [("acct-1", 1), ("acct-1", 2), ("b", 1)]
    assert events[1].payload == {"k": [1, 2]}


@pytest.mark.parametrize("body", [[], "events", None, 3])
def test_the_body_must_be_an_object(body: Any) -> None:
    assert problems(body) == [(None, "body")]


@pytest.mark.parametrize("events", [None, [], "x", [event()] * 0, {"a": 1}])
def test_events_must_be_a_non_empty_list(events: Any) -> None:
    assert problems({"events": events}) == [(None, "events")]


def test_more_than_the_limit_is_refused() -> None:
    too_many = [event(seq=i + 1) for i in range(MAX_EVENTS_PER_REQUEST + 1)]
    assert problems({"events": too_many}) == [(None, "events")]


@pytest.mark.parametrize("field", ["account_id", "seq", "type"])
def test_each_required_field(field: str) -> None:
    assert problems({"events": [event(**{field: ...})]}) == [(0, field)]


@pytest.mark.parametrize("overrides, field", [
    ({"account_id": "has space"}, "account_id"),
    ({"account_id": "ü"}, "account_id"),
    ({"account_id": "a" * 129}, "account_id"),
    ({"account_id": ""}, "account_id"),
    ({"account_id": 7}, "account_id"),
    ({"seq": 0}, "seq"),
    ({"seq": -3}, "seq"),
    ({"seq": "1"}, "seq"),
    ({"seq": 1.5}, "seq"),
    ({"seq": True}, "seq"),
    ({"type": ""}, "type"),
    ({"type": "t" * 65}, "type"),
    ({"payload": [1]}, "payload"),
    ({"payload": "text"}, "payload"),
    ({"unknown": 1}, "unknown"),
])
def test_bad_fields_are_named(overrides: dict[str, Any], field: str) -> None:
    assert problems({"events": [event(**overrides)]}) == [(0, field)]


def test_every_problem_is_reported_with_its_index() -> None:
    found = problems({"events": [event(), event(account_id="bad id", seq=0), event(type="")]})
    assert found == [(1, "account_id"), (1, "seq"), (2, "type")]


def test_an_accounts_seq_must_increase_within_a_request() -> None:
    body = {"events": [event(seq=2), event(account_id="other", seq=9), event(seq=2), event(seq=1)]}
    assert problems(body) == [(2, "seq"), (3, "seq")]


def test_deep_or_huge_payloads_are_refused() -> None:
    deep: Any = 1
    for _ in range(40):
        deep = {"d": deep}
    assert problems({"events": [event(payload=deep)]}) == [(0, "payload")]
    assert problems({"events": [event(payload={"big": "x" * 20_000})]}) == [(0, "payload")]


def test_unknown_top_level_fields_are_refused() -> None:
    assert problems({"events": [event()], "extra": 1}) == [(None, "extra")]
