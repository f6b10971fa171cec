"""The local Lambda runtime: the template's handler and timeout, failures reported as Lambda does."""
from __future__ import annotations

import sys
import time
import types

import pytest

from infra.template import FunctionSpec
from local.lambda_runtime import InvocationError, LocalFunction


def function_with(handler: object, timeout_s: int = 1) -> LocalFunction:
    module = types.ModuleType("fake_handler_module")
    module.handler = handler  # type: ignore[attr-defined]
    sys.modules["fake_handler_module"] = module
    return LocalFunction(FunctionSpec("Fake", "fake_handler_module.handler", timeout_s, 128, {}, {}), "us-east-1")


def test_the_context_carries_the_templates_timeout() -> None:
    function = function_with(lambda event, context: context.get_remaining_time_in_millis())
    left = function.invoke({})
    assert 900 <= left <= 1000


def test_an_overrun_fails_the_invocation() -> None:
    function = function_with(lambda event, context: time.sleep(3), timeout_s=1)
    with pytest.raises(InvocationError) as caught:
        function.invoke({})
    assert caught.value.kind == "Sandbox.Timedout"


def test_an_exception_is_an_unhandled_error() -> None:
    def boom(event: dict, context: object) -> None:
        raise ValueError("bad")

    with pytest.raises(InvocationError) as caught:
        function_with(boom).invoke({})
    assert caught.value.kind == "Unhandled" and "bad" in str(caught.value)
