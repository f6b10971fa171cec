"""api/openapi.yaml describes the API as implemented: the template's routes, the event contract as
``parse_events_request`` enforces it, every status the README documents, and the bodies sent."""
from __future__ import annotations

import json
import re
from typing import Any

import jsonschema
import pytest
import yaml
from hypothesis import given, settings
from hypothesis import strategies as st
from openapi_spec_validator import validate as validate_openapi

from infra import template
from inorder.ingest import IngestService
from inorder.models import ACCOUNT_ID_PATTERN, MAX_EVENTS_PER_REQUEST, InvalidRequest, parse_events_request
from inorder.queue_writer import QueueWriter
from local import openapi
from local.api_gateway import ApiGateway, Route, TokenBucket
from tests.helpers import sample_event
from tests.unit.test_queue_writer import FakeSqs

README = template.ROOT / "README.md"


def _ecma_pattern(validator: Any, pattern: str, instance: Any, schema: Any) -> Any:
    """``pattern`` as JSON Schema means it (ECMA-262): ``$`` is the end of the string.

    Python's ``re`` also lets ``$`` match before a final newline, so plain ``jsonschema`` would
    accept ``"acct\\n"``, which the API (pydantic's Rust regex, ``re.fullmatch``) refuses.
    """
    if validator.is_type(instance, "string") and not re.search(re.sub(r"\$$", r"\\Z", pattern), instance):
        yield jsonschema.ValidationError(f"{instance!r} does not match {pattern!r}")


# OpenAPI 3.0 schemas are JSON Schema draft 4/5: 1.0 is not an integer there (nor for the API).
Validator = jsonschema.validators.extend(jsonschema.Draft4Validator, {"pattern": _ecma_pattern})


def schema_accepts(body: Any) -> bool:
    return Validator(openapi.request_schema("POST", "/events")).is_valid(body)


def model_problems(body: Any) -> list[tuple[Any, str, str]] | None:
    try:
        parse_events_request(body)
    except InvalidRequest as error:
        return [(p.index, p.field, p.message) for p in error.problems]
    return None


def test_the_document_is_valid_openapi_3() -> None:
    document = yaml.safe_load(openapi.OPENAPI_PATH.read_text())
    validate_openapi(document)
    assert document["openapi"].startswith("3.0")


def test_its_operations_are_exactly_the_templates_api_events() -> None:
    assert openapi.operations() == {(method, path) for method, path, _ in template.api_routes()}


def test_its_server_path_is_the_templates_stage() -> None:
    stage = template.parameters()["StageName"]
    for server in openapi.load()["servers"]:
        assert server["url"].endswith("/{stage}") and server["variables"]["stage"]["default"] == stage


def test_the_api_key_is_required_everywhere_as_in_the_template() -> None:
    api = next(iter(template.resources_of_type("AWS::Serverless::Api").values()))["Properties"]
    assert api["Auth"]["ApiKeyRequired"] is True
    scheme = openapi.load()["components"]["securitySchemes"]["apiKey"]
    assert (scheme["type"], scheme["in"], scheme["name"]) == ("apiKey", "header", "x-api-key")
    assert openapi.load()["security"] == [{"apiKey": []}]
    assert all("security" not in openapi.operation(m, p) for m, p in openapi.operations())


def test_its_limits_are_the_codes() -> None:
    event = openapi.json_schema(openapi.load()["components"]["schemas"]["Event"])
    events = openapi.request_schema("POST", "/events")["properties"]["events"]
    assert event["properties"]["account_id"]["pattern"] == ACCOUNT_ID_PATTERN
    assert events["maxItems"] == MAX_EVENTS_PER_REQUEST and events["minItems"] == 1
    account = openapi.load()["paths"]["/accounts/{account_id}/results"]["get"]["parameters"][0]
    assert openapi.json_schema(account["schema"])["pattern"] == ACCOUNT_ID_PATTERN


def _readme_statuses() -> set[str]:
    section = README.read_text().split("## The HTTP API", 1)[1].split("\n## ", 1)[0]
    return set(re.findall(r"^\| (\d{3}) \|", section, flags=re.MULTILINE))


def test_every_status_the_readme_documents_is_in_it_and_no_other() -> None:
    documented = _readme_statuses()
    assert documented >= {"202", "400", "403", "413", "415", "429", "503"}
    assert set(openapi.operation("POST", "/events")["responses"]) == documented
    assert {"200", "400", "403", "429"} == set(openapi.operation("GET", "/accounts/{account_id}/results")["responses"])


def ev(**overrides: Any) -> dict[str, Any]:
    base: dict[str, Any] = {"account_id": "acct-1", "seq": 1, "type": "created"}
    base.update(overrides)
    return {k: v for k, v in base.items() if v is not ...}


VALID = [
    {"events": [ev()]},
    {"events": [ev(payload={"k": [1, {"x": None}]}), ev(seq=2, payload=None), ev(account_id="b:2.x_-")]},
    {"events": [ev(account_id="a" * 128, type="t" * 64, seq=2**63 - 1)]},
    {"events": [ev(seq=i + 1) for i in range(MAX_EVENTS_PER_REQUEST)]},
]
INVALID = [
    [], "events", None, 3, {}, {"events": []}, {"events": None}, {"events": {"a": 1}},
    {"events": [ev() for _ in range(MAX_EVENTS_PER_REQUEST + 1)]}, {"events": [ev()], "extra": 1},
    {"events": [ev(account_id=...)]}, {"events": [ev(seq=...)]}, {"events": [ev(type=...)]},
    {"events": [ev(account_id="")]}, {"events": [ev(account_id="a" * 129)]}, {"events": [ev(account_id="has space")]},
    {"events": [ev(account_id="ü")]}, {"events": [ev(account_id="acct\n")]}, {"events": [ev(account_id="a/b")]},
    {"events": [ev(account_id=7)]}, {"events": [ev(seq=0)]}, {"events": [ev(seq=-1)]}, {"events": [ev(seq=2**63)]},
    {"events": [ev(seq="1")]}, {"events": [ev(seq=1.5)]}, {"events": [ev(seq=1.0)]}, {"events": [ev(seq=True)]},
    {"events": [ev(type="")]}, {"events": [ev(type="t" * 65)]}, {"events": [ev(type=1)]},
    {"events": [ev(payload=[1])]}, {"events": [ev(payload="text")]}, {"events": [ev(payload=1)]},
    {"events": [ev(unknown=1)]}, {"events": ["not an object"]}, {"events": [None]},
]


@pytest.mark.parametrize("body", VALID, ids=range(len(VALID)))
def test_bodies_the_api_accepts_the_schema_accepts(body: Any) -> None:
    assert model_problems(body) is None and schema_accepts(body)


@pytest.mark.parametrize("body", INVALID, ids=range(len(INVALID)))
def test_bodies_the_schema_refuses_the_api_refuses(body: Any) -> None:
    assert model_problems(body) is not None and not schema_accepts(body)


def _deep(levels: int) -> dict[str, Any]:
    value: Any = 1
    for _ in range(levels):
        value = {"d": value}
    return value


@pytest.mark.parametrize("body, field", [
    ({"events": [ev(seq=2), ev(seq=1)]}, "seq"),
    ({"events": [ev(seq=2), ev(seq=2)]}, "seq"),
    ({"events": [ev(payload=_deep(17))]}, "payload"),
    ({"events": [ev(payload={"big": "x" * 16 * 1024})]}, "payload"),
], ids=["seq-decreasing", "seq-repeated", "payload-deep", "payload-big"])
def test_the_rules_a_schema_cannot_state_are_the_only_difference(body: Any, field: str) -> None:
    """Described in the document's text; the schema accepts these, the API refuses them."""
    assert schema_accepts(body)
    assert [p[:2] for p in model_problems(body) or []] == [(1 if field == "seq" else 0, field)]


FIELD_VALUES = st.one_of(st.none(), st.booleans(), st.integers(-3, 2**64), st.floats(), st.text(max_size=140),
                         st.text("abcXYZ019_.:-", min_size=1, max_size=130),
                         st.dictionaries(st.text(max_size=3), st.integers() | st.text(max_size=3), max_size=2),
                         st.lists(st.integers(), max_size=2))


@settings(max_examples=300, deadline=None)
@given(body=st.fixed_dictionaries({"events": st.lists(
    st.dictionaries(st.sampled_from(["account_id", "seq", "type", "payload", "other"]), FIELD_VALUES),
    min_size=0, max_size=4)}) | st.dictionaries(st.sampled_from(["events", "x"]), FIELD_VALUES))
def test_schema_and_api_agree_on_generated_bodies(body: Any) -> None:
    problems = model_problems(body)
    if not schema_accepts(body):
        assert problems is not None, "the schema refuses what the API accepts"
    elif problems is not None:  # only the rules the document states in words
        assert {(field, "does not follow" in message or "payload" in field) for _, field, message in problems} <= {
            ("seq", True), ("payload", True)}, problems


# --- the answers the code sends fit the documented response schemas ------------------------------

def assert_documented(method: str, path: str, status: int, body: Any) -> None:
    assert str(status) in openapi.operation(method, path)["responses"], status
    Validator(openapi.response_schema(method, path, status)).validate(body)


def test_the_ingest_answers_fit_their_schemas() -> None:
    service = IngestService(QueueWriter(FakeSqs(), "q", sleep=lambda s: None), clock=lambda: 1.0)
    good = json.dumps({"events": [ev(), ev(seq=2)]})
    for status, answer in [service.accept(good, "application/json", "r"),
                           service.accept("{", "application/json", "r"),
                           service.accept("", "application/json", "r"),
                           service.accept(json.dumps({"events": [ev(seq=0), ev(type="")]}), "application/json", "r"),
                           service.accept(good, "text/plain", "r"),
                           service.accept(" " * (6 * 1024 * 1024), "application/json", "r")]:
        assert_documented("POST", "/events", status, answer)
    refusing = FakeSqs(refuse=lambda entry, attempt: "sender")
    status, answer = IngestService(QueueWriter(refusing, "q", sleep=lambda s: None)).accept(good, "application/json", "r")
    assert status == 503
    assert_documented("POST", "/events", status, answer)


class _Fixed:
    name = "Fixed"

    def invoke(self, event: dict[str, Any]) -> Any:
        return {"statusCode": 202, "body": "{}"}


def test_the_gateways_own_answers_fit_their_schemas() -> None:
    routes = [Route(m, p, _Fixed()) for m, p in openapi.operations()]  # type: ignore[arg-type]
    gateway = ApiGateway(routes, "key", "v1", TokenBucket(0.001, 1))
    try:
        for method, path in openapi.operations():
            url = "/v1" + path.replace("{account_id}", "a")
            for headers, status in [({}, 403), ({"x-api-key": "wrong"}, 403), ({"x-api-key": "key"}, None),
                                    ({"x-api-key": "key"}, 429)]:
                got, _, data = gateway.answer(method, url, headers, b"", "127.0.0.1")
                if status:
                    assert got == status
                    assert_documented(method, path, got, json.loads(data))
        got, _, data = gateway.answer("PUT", "/v1/events", {"x-api-key": "key"}, b"", "127.0.0.1")
        assert (got, json.loads(data)) == (403, {"message": "Missing Authentication Token"})
    finally:
        gateway.stop()


def test_the_sample_results_fit_the_results_schema() -> None:
    """events/get_results.json's account, as the handler answers it (shape of from_item)."""
    account = sample_event("get_results.json")["pathParameters"]["account_id"]
    body = {"account_id": account, "results": [
        {"account_id": account, "seq": 1, "type": "created", "received_at": 1700000000.25, "started_at": 1700000001,
         "finished_at": 1700000002.5, "result": "handled created", "message_id": "m-1", "receive_count": 1}]}
    assert_documented("GET", "/accounts/{account_id}/results", 200, body)
