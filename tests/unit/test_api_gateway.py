"""The local API Gateway answers like the deployed REST API and sends the proxy event AWS sends."""
from __future__ import annotations

import json
import select
import socket
import urllib.request
from typing import Any

import pytest

from local.api_gateway import MAX_PAYLOAD_BYTES, ApiGateway, Route, TokenBucket
from local.lambda_runtime import InvocationError
from tests.helpers import sample_event

KEY = "secret-key"


class Recorder:
    name = "Fake"

    def __init__(self, response: Any = None, error: InvocationError | None = None):
        self.events: list[dict[str, Any]] = []
        self._response = response or {"statusCode": 202, "headers": {"Content-Type": "application/json"},
                                      "body": json.dumps({"ok": True})}
        self._error = error

    def invoke(self, event: dict[str, Any]) -> Any:
        self.events.append(event)
        if self._error:
            raise self._error
        return self._response


def gateway(function: Recorder, rate: float = 1000, burst: int = 1000) -> ApiGateway:
    routes = [Route("POST", "/events", function), Route("GET", "/accounts/{account_id}/results", function)]
    return ApiGateway(routes, KEY, "v1", TokenBucket(rate, burst))


def answer(api: ApiGateway, method: str, path: str, headers: dict[str, str] | None = None, body: bytes = b"") -> tuple[int, Any]:
    status, _, data = api.answer(method, path, {"x-api-key": KEY, **(headers or {})}, body, "127.0.0.1")
    return status, json.loads(data)


@pytest.fixture
def api() -> Any:
    function = Recorder()
    gw = gateway(function)
    yield gw, function
    gw.stop()


def test_the_proxy_event_has_the_shape_aws_sends(api: Any) -> None:
    gw, function = api
    status, _ = answer(gw, "GET", "/v1/accounts/acct%3A1/results?x=1&x=2")
    assert status == 202
    event = function.events[0]
    sample = sample_event("get_results.json")
    assert set(sample) <= set(event), "every top-level key SAM's generated event has"
    assert set(sample["requestContext"]) - {"resourceId", "identity"} <= set(event["requestContext"]) | {"extendedRequestId"}
    assert event["resource"] == "/accounts/{account_id}/results"
    assert event["pathParameters"] == {"account_id": "acct:1"}
    assert event["multiValueQueryStringParameters"] == {"x": ["1", "2"]}
    assert event["queryStringParameters"] == {"x": "2"}
    assert event["requestContext"]["stage"] == "v1" and event["requestContext"]["path"].startswith("/v1/")


def test_the_body_is_passed_as_text(api: Any) -> None:
    gw, function = api
    answer(gw, "POST", "/v1/events", {"Content-Type": "application/json"}, b'{"events": []}')
    assert function.events[0]["body"] == '{"events": []}' and function.events[0]["isBase64Encoded"] is False


@pytest.mark.parametrize("headers", [{}, {"x-api-key": "wrong"}])
def test_a_missing_or_wrong_key_is_403_and_the_function_is_not_called(headers: dict[str, str]) -> None:
    function = Recorder()
    gw = gateway(function)
    status, _, data = gw.answer("POST", "/v1/events", headers, b"{}", "127.0.0.1")
    assert (status, json.loads(data)) == (403, {"message": "Forbidden"}) and function.events == []


@pytest.mark.parametrize("method, path", [("GET", "/v1/nope"), ("DELETE", "/v1/events"), ("POST", "/events"),
                                          ("GET", "/v1/accounts//results")])
def test_unknown_routes_and_methods_are_403_as_on_aws(api: Any, method: str, path: str) -> None:
    gw, function = api
    assert answer(gw, method, path) == (403, {"message": "Missing Authentication Token"})
    assert function.events == []


def test_the_usage_plan_throttle_answers_429() -> None:
    function = Recorder()
    gw = gateway(function, rate=0.001, burst=2)
    statuses = [answer(gw, "POST", "/v1/events")[0] for _ in range(4)]
    assert statuses == [202, 202, 429, 429] and len(function.events) == 2


def test_a_body_over_10_mb_is_413(api: Any) -> None:
    gw, function = api
    assert answer(gw, "POST", "/v1/events", body=b"x" * (MAX_PAYLOAD_BYTES + 1))[0] == 413
    assert function.events == []


@pytest.mark.parametrize("kind, status", [("Unhandled", 502), ("Sandbox.Timedout", 504)])
def test_function_failures_are_502_or_504(kind: str, status: int) -> None:
    gw = gateway(Recorder(error=InvocationError(kind, "x")))
    assert answer(gw, "POST", "/v1/events")[0] == status


def test_a_malformed_proxy_response_is_502() -> None:
    assert answer(gateway(Recorder(response={"body": "no status"})), "POST", "/v1/events")[0] == 502


def test_it_serves_http_on_loopback(api: Any) -> None:
    gw, function = api
    gw.start()
    assert gw.url.startswith("http://127.0.0.1:") and gw.url.endswith("/v1")
    request = urllib.request.Request(gw.url + "/events", data=b'{"events": []}', method="POST",
                                     headers={"x-api-key": KEY, "Content-Type": "application/json"})
    with urllib.request.urlopen(request, timeout=10) as response:
        assert response.status == 202 and json.loads(response.read()) == {"ok": True}


def test_connections_wait_in_the_backlog_while_the_server_is_busy(api: Any) -> None:
    # Not started: nothing accepts, as when the accept loop waits for the interpreter lock. The
    # kernel still completes every handshake the listen backlog has room for; with socketserver's
    # default of 5 the sixth and later ones hang, and under load such a one can end in a reset.
    gw, _ = api
    host, port = gw.url.split("/")[2].split(":")
    sockets = [socket.socket() for _ in range(60)]
    try:
        for s in sockets:
            s.setblocking(False)
            s.connect_ex((host, int(port)))
        _, connecting, _ = select.select([], sockets, [], 2.0)
        assert len(connecting) == len(sockets)
        assert all(s.getsockopt(socket.SOL_SOCKET, socket.SO_ERROR) == 0 for s in sockets)
    finally:
        for s in sockets:
            s.close()
