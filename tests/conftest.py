"""Shared fixtures: dummy credentials everywhere, and the template's resources on in-process moto.

moto runs with ``local.moto_patch`` applied, the same backend behaviour as the embedded server
(unpatched moto is not safe with the ingest lanes' concurrent sends).
"""
from __future__ import annotations

import io
from collections.abc import Iterator

import boto3
import pytest
from moto import mock_aws

from infra import resources, template
from local import moto_patch

moto_patch.apply()

REGION = "us-east-1"
FUNCTION_MODULES = ("ingest.app", "processor.app")


@pytest.fixture(autouse=True)
def aws_credentials(monkeypatch: pytest.MonkeyPatch) -> None:
    """No test may reach real AWS or an endpoint left in the caller's environment."""
    for name, value in {"AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing",
                        "AWS_SESSION_TOKEN": "testing", "AWS_DEFAULT_REGION": REGION}.items():
        monkeypatch.setenv(name, value)
    monkeypatch.delenv("AWS_ENDPOINT_URL", raising=False)
    monkeypatch.delenv("AWS_PROFILE", raising=False)


@pytest.fixture
def stack(monkeypatch: pytest.MonkeyPatch) -> Iterator[resources.Deployment]:
    """The template's queues and table on in-process moto, and the functions' environment set."""
    with mock_aws():
        deployment = resources.deploy(boto3.Session(region_name=REGION), "test",
                                      parameters={"ProcessingSeconds": "0"})
        for name in template.resources_of_type("AWS::Serverless::Function"):
            for key, value in deployment.resolver(template.function(name).environment).items():
                monkeypatch.setenv(key, str(value))
        _reset_function_caches()
        yield deployment
        _reset_function_caches()


def _reset_function_caches() -> None:
    """Handlers build their clients once per container; each test is a new container."""
    import importlib

    for name in FUNCTION_MODULES:
        module = importlib.import_module(name)
        for attribute in ("_services",):
            cached = getattr(module, attribute, None)
            if cached is not None:
                cached.cache_clear()


@pytest.fixture
def function_logs() -> Iterator[io.StringIO]:
    """The functions' Powertools log lines (the "log of results"), as CloudWatch would get them."""
    from local.lambda_runtime import function_logs_to

    service = template.function("ProcessorFunction").environment["POWERTOOLS_SERVICE_NAME"]
    with function_logs_to(io.StringIO(), service) as stream:
        yield stream
