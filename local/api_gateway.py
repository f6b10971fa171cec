"""A local API Gateway (REST API) for the template's ``Api`` events.

It answers like the deployed API: ``x-api-key`` checked (403 ``Forbidden``), unknown routes
answered 403 ``Missing Authentication Token``, the usage plan's throttle (429), bodies over
10 MB refused (413), and each request turned into the same proxy event AWS sends the function
(the shape ``sam local start-api`` produces), whose answer is turned back into HTTP.
"""
from __future__ import annotations

import base64
import json
import re
import threading
import time
import uuid
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, unquote, urlsplit

from local.lambda_runtime import InvocationError, LocalFunction

MAX_PAYLOAD_BYTES = 10 * 1024 * 1024
# How often the server loop looks for a stop request: shutdown() waits up to this long.
STOP_POLL_S = 0.05
# Connections waiting to be accepted. socketserver's default of 5 overflows when dozens of clients
# connect at once while the accept loop waits for the interpreter lock, and an overflowed
# handshake can end in a reset; API Gateway never refuses a connection, so neither does this.
ACCEPT_BACKLOG = 1024


@dataclass(frozen=True)
class Route:
    method: str
    resource: str  # the path template, e.g. /accounts/{account_id}/results
    function: LocalFunction

    def match(self, path: str) -> dict[str, str] | None:
        pattern = re.sub(r"\\\{(\w+)\\\}", r"(?P<\1>[^/]+)", re.escape(self.resource))
        found = re.fullmatch(pattern, path)
        return None if found is None else {k: unquote(v) for k, v in found.groupdict().items()}


class TokenBucket:
    """The usage plan's throttle: ``rate`` requests a second, bursts of ``burst``."""

    def __init__(self, rate: float, burst: int):
        self._rate, self._burst = rate, burst
        self._tokens, self._at = float(burst), time.monotonic()
        self._lock = threading.Lock()

    def take(self) -> bool:
        with self._lock:
            now = time.monotonic()
            self._tokens = min(self._burst, self._tokens + (now - self._at) * self._rate)
            self._at = now
            if self._tokens < 1:
                return False
            self._tokens -= 1
            return True


class _Server(ThreadingHTTPServer):
    request_queue_size = ACCEPT_BACKLOG
    daemon_threads = True


class ApiGateway:
    def __init__(self, routes: list[Route], api_key: str, stage: str, throttle: TokenBucket,
                 host: str = "127.0.0.1", port: int = 0, account_id: str = "123456789012"):
        self.routes, self.api_key, self.stage, self.throttle = routes, api_key, stage, throttle
        self.account_id = account_id
        self._server = _Server((host, port), _handler_for(self))
        self._thread = threading.Thread(target=self._serve, name="api-gateway", daemon=True)

    @property
    def url(self) -> str:
        host, port = self._server.server_address[:2]
        return f"http://{host}:{port}/{self.stage}"

    def start(self) -> ApiGateway:
        self._thread.start()
        return self

    def _serve(self) -> None:
        self._server.serve_forever(poll_interval=STOP_POLL_S)

    def stop(self) -> None:
        if self._thread.is_alive():  # shutdown() would wait forever for a loop never started
            self._server.shutdown()
        self._server.server_close()

    def answer(self, method: str, raw_path: str, headers: dict[str, str], body: bytes,
               source_ip: str) -> tuple[int, dict[str, str], bytes]:
        """The whole request → response path, kept free of the HTTP server for tests."""
        split = urlsplit(raw_path)
        prefix = f"/{self.stage}"
        path = split.path[len(prefix):] if split.path.startswith(prefix + "/") else None
        route, params = self._route(method, path)
        if route is None:
            return _json(403, {"message": "Missing Authentication Token"})
        lowered = {k.lower(): v for k, v in headers.items()}
        if lowered.get("x-api-key") != self.api_key:
            return _json(403, {"message": "Forbidden"})
        if not self.throttle.take():
            return _json(429, {"message": "Too Many Requests"})
        if len(body) > MAX_PAYLOAD_BYTES:
            return _json(413, {"message": "Request Too Long"})
        event = self._proxy_event(route, path, params, split.query, headers, body, source_ip)
        try:
            response = route.function.invoke(event)
        except InvocationError as error:
            if error.kind == "Sandbox.Timedout":
                return _json(504, {"message": "Endpoint request timed out"})
            return _json(502, {"message": "Internal server error"})
        return _from_proxy_response(response)

    def _route(self, method: str, path: str | None) -> tuple[Route | None, dict[str, str]]:
        for route in self.routes if path is not None else []:
            params = route.match(path)
            if params is not None and route.method == method:
                return route, params
        return None, {}

    def _proxy_event(self, route: Route, path: str, params: dict[str, str], query: str,
                     headers: dict[str, str], body: bytes, source_ip: str) -> dict[str, Any]:
        multi_query = parse_qs(query, keep_blank_values=True) or None
        now = time.time()
        request_id = str(uuid.uuid4())
        text = body.decode("utf-8", errors="strict") if _is_text(body) else None
        return {
            "resource": route.resource,
            "path": path,
            "httpMethod": route.method,
            "headers": dict(headers) or None,
            "multiValueHeaders": {k: [v] for k, v in headers.items()} or None,
            "queryStringParameters": {k: v[-1] for k, v in multi_query.items()} if multi_query else None,
            "multiValueQueryStringParameters": multi_query,
            "pathParameters": params or None,
            "stageVariables": None,
            "requestContext": {
                "resourceId": "local", "resourcePath": route.resource, "httpMethod": route.method,
                "extendedRequestId": request_id, "requestTime": time.strftime("%d/%b/%Y:%H:%M:%S +0000", time.gmtime(now)),
                "path": f"/{self.stage}{path}", "accountId": self.account_id, "protocol": "HTTP/1.1",
                "stage": self.stage, "domainPrefix": "localhost", "requestTimeEpoch": int(now * 1000),
                "requestId": request_id, "domainName": "localhost", "apiId": "local",
                "identity": {"sourceIp": source_ip, "userAgent": headers.get("User-Agent"),
                             "apiKey": self.api_key, "apiKeyId": "local"},
            },
            "body": (text if text is not None else base64.b64encode(body).decode()) if body else None,
            "isBase64Encoded": bool(body) and text is None,
        }


def _is_text(body: bytes) -> bool:
    try:
        body.decode("utf-8")
    except UnicodeDecodeError:
        return False
    return True


def _json(status: int, payload: dict[str, Any]) -> tuple[int, dict[str, str], bytes]:
    return status, {"Content-Type": "application/json"}, json.dumps(payload).encode()


def _from_proxy_response(response: Any) -> tuple[int, dict[str, str], bytes]:
    if not isinstance(response, dict) or not isinstance(response.get("statusCode"), int):
        return _json(502, {"message": "Internal server error"})
    headers = {k: str(v) for k, v in (response.get("headers") or {}).items()}
    for name, values in (response.get("multiValueHeaders") or {}).items():
        headers[name] = ", ".join(str(v) for v in values)
    body = response.get("body") or ""
    data = base64.b64decode(body) if response.get("isBase64Encoded") else str(body).encode()
    return response["statusCode"], headers, data


def _handler_for(gateway: ApiGateway) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def _serve(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            body = self.rfile.read(length) if length else b""
            status, headers, data = gateway.answer(self.command, self.path, dict(self.headers.items()),
                                                   body, self.client_address[0])
            self.send_response(status)
            for name, value in headers.items():
                if name.lower() not in ("content-length", "connection"):
                    self.send_header(name, value)
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def __getattr__(self, name: str) -> Any:
            # Every method, TRACE and QUERY included, reaches the gateway's routing (403 if unrouted).
            if name.startswith("do_"):
                return self._serve
            raise AttributeError(name)

        def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - base class signature
            """Quiet: the demo's console is for its progress display."""

    return Handler
