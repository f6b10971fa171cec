"""Count the API calls the embedded backend serves, by operation, for benchmarks.

Why: the pipeline's throughput on one backend process is bounded by how many calls each event
costs (a send, its share of a receive, a result write, a delete), so the benchmark reports calls
per event next to events per second. ``GET /_inorder/calls`` answers the counts so far as JSON,
``{"DynamoDB_20120810.BatchExecuteStatement": 2075, "AmazonSQS.ReceiveMessage": 1601, ...}``.
"""
from __future__ import annotations

import json
import threading
from collections import Counter
from collections.abc import Callable, Iterable
from typing import Any

PATH = "/_inorder/calls"


class CallCounter:
    """WSGI middleware: counts JSON-protocol calls by ``X-Amz-Target``; serves the counts at ``PATH``."""

    def __init__(self, app: Callable[..., Iterable[bytes]]) -> None:
        self.app = app
        self._counts: Counter[str] = Counter()
        self._lock = threading.Lock()

    def __call__(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        if environ.get("PATH_INFO") == PATH and environ.get("REQUEST_METHOD") == "GET":
            with self._lock:
                body = json.dumps(dict(self._counts)).encode()
            start_response("200 OK", [("Content-Type", "application/json"), ("Content-Length", str(len(body)))])
            return [body]
        target = environ.get("HTTP_X_AMZ_TARGET")
        if target:
            with self._lock:
                self._counts[target] += 1
        return self.app(environ, start_response)


def fetch(endpoint_url: str) -> dict[str, int]:
    """The counts of the backend at ``endpoint_url`` ({} when it does not count: LocalStack, AWS)."""
    from urllib.error import URLError
    from urllib.request import urlopen

    try:
        with urlopen(endpoint_url.rstrip("/") + PATH, timeout=10) as answer:
            return dict(json.load(answer))
    except (URLError, ValueError, OSError):
        return {}


# What the verifier and the benchmark read while they wait: listed, but not the pipeline's cost.
OBSERVER_READS = {"Scan", "Query", "GetQueueAttributes", "DescribeTable"}


def per_event(after: dict[str, int], before: dict[str, int], events: int) -> dict[str, float]:
    """Calls per event by operation (short names) between two fetches; "total" leaves out OBSERVER_READS."""
    out = {name.split(".", 1)[-1]: round((count - before.get(name, 0)) / events, 3)
           for name, count in sorted(after.items()) if count > before.get(name, 0)}
    out["total"] = round(sum(v for k, v in out.items() if k not in OBSERVER_READS), 3)
    return out
