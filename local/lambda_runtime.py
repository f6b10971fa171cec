"""Run the template's functions in this process the way Lambda runs them.

The code under ``functions/`` is imported as Lambda imports it (``functions/`` on the path, the
``Handler`` string from the template), with the environment the template gives it resolved
against the local resources, a Lambda context carrying the template's timeout, and that timeout
enforced: an invocation that overruns fails whole, as on Lambda.
"""
from __future__ import annotations

import importlib
import logging
import os
import threading
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType
from typing import Any, TextIO

from infra.template import FunctionSpec, Resolver


class InvocationError(RuntimeError):
    """The function raised or timed out; ``kind`` says which (as Lambda's ``FunctionError``)."""

    def __init__(self, kind: str, message: str):
        super().__init__(message)
        self.kind = kind


@dataclass
class LambdaContext:
    function_name: str
    memory_limit_in_mb: int
    invoked_function_arn: str
    aws_request_id: str
    deadline: float
    function_version: str = "$LATEST"
    log_group_name: str = ""
    log_stream_name: str = ""

    def get_remaining_time_in_millis(self) -> int:
        return max(0, int((self.deadline - time.monotonic()) * 1000))


class LocalFunction:
    def __init__(self, spec: FunctionSpec, region: str, account_id: str = "123456789012"):
        self.spec = spec
        self.name = spec.logical_id
        self._arn = f"arn:aws:lambda:{region}:{account_id}:function:{spec.logical_id}"
        module_name, attribute = spec.handler.rsplit(".", 1)
        module = importlib.import_module(module_name)
        _cold_start(module)
        self._handler = getattr(module, attribute)

    def context(self) -> LambdaContext:
        return LambdaContext(self.name, self.spec.memory_mb, self._arn, str(uuid.uuid4()),
                             time.monotonic() + self.spec.timeout_s,
                             log_group_name=f"/aws/lambda/{self.name}", log_stream_name="local")

    def invoke(self, event: dict[str, Any]) -> Any:
        """Invoke synchronously; raise InvocationError if the handler raised or overran its timeout."""
        context = self.context()
        outcome: dict[str, Any] = {}

        def run() -> None:
            try:
                outcome["result"] = self._handler(event, context)
            except BaseException as error:  # noqa: BLE001 - reported to the caller like Lambda does
                outcome["error"] = error

        worker = threading.Thread(target=run, name=f"{self.name}-{context.aws_request_id[:8]}", daemon=True)
        worker.start()
        worker.join(self.spec.timeout_s)
        if worker.is_alive():
            raise InvocationError("Sandbox.Timedout", f"Task timed out after {self.spec.timeout_s:.2f} seconds")
        if "error" in outcome:
            error = outcome["error"]
            raise InvocationError("Unhandled", f"{type(error).__name__}: {error}") from error
        return outcome.get("result")


def _cold_start(module: ModuleType) -> None:
    """A new LocalFunction is a new container: forget what the handler module built for an earlier one.

    Handlers build clients once per container (``functools.cache``); in one local process a
    second cloud - a test's, say - must not inherit clients pointing at the first one's endpoint.
    """
    for value in vars(module).values():
        if callable(getattr(value, "cache_clear", None)):
            value.cache_clear()


def prepare_environment(specs: list[FunctionSpec], resolver: Resolver, endpoint_url: str | None,
                        region: str) -> None:
    """Put the functions' template environment into this process before their modules are imported.

    All functions share one process here, so their variables must agree; a conflict is an error
    rather than one function silently reading another's value.
    """
    merged: dict[str, str] = {}
    for spec in specs:
        for name, value in resolver(spec.environment).items():
            if merged.setdefault(name, str(value)) != str(value):
                raise ValueError(f"{name} differs between functions; they cannot share a local process")
    os.environ.update(merged)
    os.environ.setdefault("AWS_DEFAULT_REGION", region)
    os.environ["AWS_REGION"] = region
    if endpoint_url:
        os.environ["AWS_ENDPOINT_URL"] = endpoint_url


@contextmanager
def function_logs_to(stream: TextIO, service: str | None = None) -> Iterator[TextIO]:
    """Send the functions' Powertools log lines to ``stream`` for the block, then back where they went."""
    name = service or os.environ.get("POWERTOOLS_SERVICE_NAME", "service_undefined")
    handlers = [h for h in logging.getLogger(name).handlers if isinstance(h, logging.StreamHandler)]
    previous = [h.stream for h in handlers]
    for handler in handlers:
        handler.setStream(stream)
    try:
        yield stream
    finally:
        for handler, old in zip(handlers, previous):
            handler.setStream(old)


def open_log(path: Path) -> TextIO:
    path.parent.mkdir(parents=True, exist_ok=True)
    return open(path, "a", encoding="utf-8", buffering=1)
