"""Fuzz the running local API from api/openapi.yaml (schemathesis): both operations, with the key.

Schemathesis generates requests that fit the document (positive) and that break it (negative),
sends them over HTTP to the local API Gateway in front of the real functions, the embedded
backend and an in-process consumer, and checks every answer: never a 5xx, a documented status
with the documented content type and body schema, schema-invalid data refused with a 4xx, and
auth enforced. Two checks are our own: a schema-valid request is either accepted whole or refused
only for the rules the document states in words (seq order within a request, payload depth and
size); a 202 accepts exactly the events sent.

``unsupported_method`` is left out on purpose: it expects 405 for an undocumented method, and
API Gateway (so the local one too) answers 403 ``Missing Authentication Token``, as documented.
"""
from __future__ import annotations

import json
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import schemathesis
from hypothesis import HealthCheck, settings
from schemathesis import GenerationMode
from schemathesis.checks import not_a_server_error
from schemathesis.config._phases import DEFAULT_UNEXPECTED_METHODS
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    ignored_auth,
    negative_data_rejection,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from local import openapi
from local.cloud import CloudOptions, LocalCloud

MAX_EXAMPLES = 60


@pytest.fixture
def local_cloud(tmp_path: Path) -> Iterator[LocalCloud]:
    """Function-scoped on purpose: the autouse ``aws_credentials`` fixture clears AWS_ENDPOINT_URL
    for every test, so a cloud started once per module would leave its functions pointing at AWS."""
    with LocalCloud(CloudOptions(processing_seconds=0, consumer_in_process=True, log_dir=tmp_path / "logs")) as cloud:
        assert cloud.info()["api_url"].startswith("http://127.0.0.1:")
        yield cloud


# Loaded from the file at import (no server needed); the running cloud's URL and key are given per
# call. (``schemathesis.pytest.from_fixture`` would be the natural fit, but schemathesis 4.32.5's
# lazy loader reads ``request.node._nodeid``, which pytest 9.2 no longer has.)
schema = schemathesis.openapi.from_path(openapi.OPENAPI_PATH)
schema.config.generation.update(modes=[GenerationMode.POSITIVE, GenerationMode.NEGATIVE], max_examples=MAX_EXAMPLES)
# Undocumented methods are sent too: API Gateway answers them 403, a documented status.
schema.config.phases.coverage.unexpected_methods = DEFAULT_UNEXPECTED_METHODS


@schemathesis.check
def positive_data_is_accepted_or_refused_only_for_stated_rules(ctx: Any, response: Any, case: Any) -> bool | None:
    if case.meta is None or not case.meta.generation.mode.is_positive or response.status_code in (202, 200, 429):
        return None
    if case.method == "POST" and response.status_code == 400:
        stated = [e for e in response.json()["errors"]
                  if (e["field"] == "seq" and "does not follow" in e["message"]) or e["field"] == "payload"]
        if stated == response.json()["errors"]:
            return None
    raise AssertionError(f"a request that fits the document was refused: {response.status_code} {response.text[:300]}")


@schemathesis.check
def accepted_means_every_event(ctx: Any, response: Any, case: Any) -> bool | None:
    if case.method == "POST" and response.status_code == 202:
        sent = json.loads(response.request.body)["events"]
        assert response.json()["accepted"] == len(sent), response.text
    return None


CHECKS = [not_a_server_error, status_code_conformance, content_type_conformance, response_headers_conformance,
          response_schema_conformance, negative_data_rejection, ignored_auth,
          positive_data_is_accepted_or_refused_only_for_stated_rules, accepted_means_every_event]


@schema.parametrize()
@settings(max_examples=MAX_EXAMPLES, deadline=None, suppress_health_check=list(HealthCheck))
def test_the_local_api_keeps_its_documented_contract(case: Any, local_cloud: LocalCloud) -> None:
    info = local_cloud.info()
    case.call_and_validate(base_url=info["api_url"], headers={"x-api-key": info["api_key"]}, checks=CHECKS)


@pytest.mark.parametrize("method", ["TRACE", "QUERY", "CONNECT"])
def test_methods_the_local_gateway_does_not_route_are_403(local_cloud: LocalCloud, method: str) -> None:
    info = local_cloud.info()
    request = urllib.request.Request(info["api_url"] + "/events", method=method, headers={"x-api-key": info["api_key"]})
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            status, body = response.status, response.read()
    except urllib.error.HTTPError as error:
        status, body = error.code, error.read()
    assert status == 403, (status, body[:80])
    assert json.loads(body) == {"message": "Missing Authentication Token"}


def test_results_of_a_percent_encoded_account_id_are_found(local_cloud: LocalCloud) -> None:
    info = local_cloud.info()
    request = urllib.request.Request(info["api_url"] + "/accounts/a%3A1/results", headers={"x-api-key": info["api_key"]})
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            status, body = response.status, json.loads(response.read())
    except urllib.error.HTTPError as error:
        status, body = error.code, json.loads(error.read())
    assert (status, body) == (200, {"account_id": "a:1", "results": []})
